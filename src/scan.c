/*
 * The scan: split a log into lines, ask papyra_line_classify about each
 * one, and collect anomalies and counts in one pass, on several threads
 * when the log is large.  Only the last line's place in the file is
 * decided here: a final line without '\n' is TRUNCATED_LINE whatever it
 * holds.
 */
#include "config.h"

#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

void papyra_scan_report_init(struct papyra_scan_report *r)
{
	memset(r, 0, sizeof(*r));
}

void papyra_scan_report_release(struct papyra_scan_report *r)
{
	for (size_t i = 0; i < r->anomaly_count; i++)
		free(r->anomalies[i].detail);
	free(r->anomalies);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

int papyra_scan_report_healthy(const struct papyra_scan_report *r)
{
	return r->anomaly_count == 0;
}

/* Room for one more anomaly in r. */
static int reserve_anomaly(struct papyra_scan_report *r)
{
	struct papyra_anomaly *a;
	size_t cap;

	if (r->anomaly_count < r->anomaly_cap)
		return 0;
	cap = r->anomaly_cap ? r->anomaly_cap * 2 : 8;
	a = realloc(r->anomalies, cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	r->anomalies = a;
	r->anomaly_cap = cap;
	return 0;
}

static int add_anomaly(struct papyra_scan_report *r,
		       enum papyra_anomaly_type type, uint64_t line,
		       uint64_t offset, uint64_t length, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int add_anomaly(struct papyra_scan_report *r,
		       enum papyra_anomaly_type type, uint64_t line,
		       uint64_t offset, uint64_t length, const char *fmt, ...)
{
	struct papyra_anomaly *a;
	va_list ap;
	char *detail;
	int n;

	if (reserve_anomaly(r) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	n = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	a = &r->anomalies[r->anomaly_count++];
	a->type = type;
	a->line = line;
	a->offset = offset;
	a->length = length;
	a->detail = detail;
	return 0;
}

/* The last line has no '\n': say what it looks like. */
static int add_truncated(struct papyra_scan_report *r, const char *line,
			 size_t len, uint64_t lineno, uint64_t offset)
{
	size_t nuls = 0;

	while (nuls < len && line[len - 1 - nuls] == '\0')
		nuls++;
	if (nuls == len)
		return add_anomaly(r, PAPYRA_ANOMALY_TRUNCATED_LINE, lineno,
				   offset, len,
				   "the file ends in %zu NUL byte%s (data lost "
				   "in a crash)", len, len == 1 ? "" : "s");
	if (nuls)
		return add_anomaly(r, PAPYRA_ANOMALY_TRUNCATED_LINE, lineno,
				   offset, len,
				   "no newline at the end of the file (%zu bytes, "
				   "the last %zu of them NUL)", len, nuls);
	return add_anomaly(r, PAPYRA_ANOMALY_TRUNCATED_LINE, lineno, offset,
			   len, "no newline at the end of the file (%zu "
			   "byte%s, a write cut short)", len,
			   len == 1 ? "" : "s");
}

/* Where a part's scan stands: the next line's offset and number. */
struct cursor {
	uint64_t pos;
	uint64_t lineno;
};

/*
 * Scan the lines that start in [cur->pos, end) and are whole in the window
 * win, which holds the bytes of the log from offset base, adding to report.
 * A line whose '\n' lies past the window is left for the next window,
 * unless the window reaches the end of the log (at_eof): then it is the
 * unterminated last line.
 */
static int scan_window(const char *win, uint64_t base, size_t len, int at_eof,
		       uint64_t end, struct cursor *cur,
		       papyra_scan_record_fn fn, void *ctx,
		       struct papyra_scan_report *report,
		       struct papyra_error *err)
{
	int rc;

	while (cur->pos < end && cur->pos < base + len) {
		size_t at = (size_t)(cur->pos - base);
		const char *line = win + at;
		const char *nl = memchr(line, '\n', len - at);
		struct papyra_line_class c;
		uint64_t lineno = cur->lineno + 1;
		size_t l;

		if (!nl) {
			if (!at_eof)
				break;
			cur->lineno = lineno;
			rc = add_truncated(report, line, len - at, lineno,
					   cur->pos);
			cur->pos = base + len;
			if (rc < 0)
				goto nomem;
			break;
		}
		cur->lineno = lineno;
		l = (size_t)(nl - line);
		if (l >= UINT32_MAX) {
			/* The index keeps lengths in 32 bits; no record is
			   anywhere near this. */
			rc = add_anomaly(report, PAPYRA_ANOMALY_CORRUPTED_LINE,
					 lineno, cur->pos, l + 1,
					 "line of %zu bytes is too long to be a record",
					 l);
			if (rc < 0)
				goto nomem;
		} else {
			papyra_line_classify(line, l, &c);
			if (c.type == PAPYRA_ANOMALY_NONE) {
				report->records[c.kind]++;
				report->total_records++;
				if (fn) {
					rc = fn(ctx, cur->pos, (uint32_t)(l + 1),
						c.kind,
						c.has_timestamp ? c.timestamp : NAN);
					if (rc < 0)
						return papyra_error_set(err, rc,
							"scan stopped at line %llu: %s",
							(unsigned long long)lineno,
							strerror(-rc));
				}
			} else {
				rc = add_anomaly(report, c.type, lineno, cur->pos,
						 l + 1, "%s", c.detail);
				if (rc < 0)
					goto nomem;
			}
		}
		cur->pos += l + 1;
		report->good_end = cur->pos;
	}
	return 0;
nomem:
	return papyra_error_set(err, -ENOMEM, "out of memory during the scan");
}

/*
 * What a scan reads: bytes in memory, or an open file read in windows.
 * A file is read with pread into a small buffer rather than mapped: the
 * page faults of touching a mapping cost more than the copy (three times
 * more on the virtual machines this was measured on), and a file cut
 * short under the scan gives EIO instead of SIGBUS.
 */
struct source {
	const char *data; /* the whole log, or NULL to read fd */
	int fd;
	uint64_t size;
	size_t window;    /* bytes per read (a longer line is read whole) */
	const char *name; /* for messages: "'PATH'" or "the log" */
};

#define WINDOW ((size_t)1 << 20)

/* Scan [start, end) of a file: read it a window at a time. */
static int scan_file_range(const struct source *src, uint64_t start,
			   uint64_t end, struct cursor *cur,
			   papyra_scan_record_fn fn, void *ctx,
			   struct papyra_scan_report *report,
			   struct papyra_error *err)
{
	size_t cap = src->window, len = 0;
	uint64_t base = start;
	char *buf = malloc(cap);
	int rc = 0;

	if (!buf)
		return papyra_error_set(err, -ENOMEM,
					"out of memory during the scan");
	while (cur->pos < end) {
		size_t keep = (size_t)(base + len - cur->pos), want;

		/* Keep the unfinished line; grow when it fills the window. */
		memmove(buf, buf + (cur->pos - base), keep);
		base = cur->pos;
		len = keep;
		if (len == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				rc = papyra_error_set(err, -ENOMEM,
					"out of memory for a line of over %zu bytes",
					cap);
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		want = cap - len;
		if (want > end - (base + len))
			want = (size_t)(end - (base + len));
		rc = papyra_io_pread_all(src->fd, buf + len, want, base + len);
		if (rc < 0) {
			papyra_error_set(err, rc, "cannot read %s: %s", src->name,
					 strerror(-rc));
			break;
		}
		len += want;
		rc = scan_window(buf, base, len, base + len == end, end, cur,
				 fn, ctx, report, err);
		if (rc < 0)
			break;
	}
	free(buf);
	return rc;
}

static int scan_source_range(const struct source *src, uint64_t start,
			     uint64_t end, struct cursor *cur,
			     papyra_scan_record_fn fn, void *ctx,
			     struct papyra_scan_report *report,
			     struct papyra_error *err)
{
	if (src->data)
		return scan_window(src->data, 0, (size_t)src->size, 1, end,
				   cur, fn, ctx, report, err);
	return scan_file_range(src, start, end, cur, fn, ctx, report, err);
}

/*
 * A large log is cut at line boundaries into parts that threads scan at
 * once: classifying is pure CPU work, so a scan (and so the mount of a big
 * log) goes as many times faster as there are cores.  The caller's
 * callback still sees every record in file order, on the calling thread:
 * the first part is scanned there directly, and the other threads keep
 * what they found for it to replay after them.
 */
#define PART_MIN ((uint64_t)4 << 20) /* smaller parts do not pay a thread */
#define PARTS_MAX 8

/* Entries added at a time once large: about 4 MiB, whole pages. */
#define FOUND_STEP ((size_t)172032)

struct found {                   /* a record a helper thread saw */
	uint64_t offset;
	double timestamp;
	uint32_t length;
	int kind;
};

struct part {
	const struct source *src;
	uint64_t start, end;
	int keep;                    /* keep records for a replay */
	struct found *found;         /* mmap'ed, so freeing returns it */
	size_t found_count, found_cap;
	struct papyra_scan_report report;
	struct papyra_error err;
	int rc;
	pthread_t thread;
	int started;
};

static int keep_found(void *ctx, uint64_t offset, uint32_t length, int kind,
		      double timestamp)
{
	struct part *p = ctx;

	if (p->found_count == p->found_cap) {
		/* Double up to FOUND_STEP, then grow by it: the new pages are
		   faulted in at once, so a step must not be much more than
		   what will be used. */
		size_t step = p->found_cap < FOUND_STEP ? p->found_cap : FOUND_STEP;
		size_t cap = p->found_cap ? p->found_cap + step : 65536;
		void *m = p->found ?
			mremap(p->found, p->found_cap * sizeof(*p->found),
			       cap * sizeof(*p->found), MREMAP_MAYMOVE) :
			mmap(NULL, cap * sizeof(*p->found),
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return -ENOMEM;
#ifdef MADV_POPULATE_WRITE
		/* Faulting the pages in bulk costs half of one by one. */
		(void)madvise((char *)m + p->found_cap * sizeof(*p->found),
			      (cap - p->found_cap) * sizeof(*p->found),
			      MADV_POPULATE_WRITE);
#endif
		p->found = m;
		p->found_cap = cap;
	}
	p->found[p->found_count++] = (struct found){ offset, timestamp, length,
						     kind };
	return 0;
}

static void *scan_part(void *arg)
{
	struct part *p = arg;
	struct cursor cur = { p->start, 0 };

	p->rc = scan_source_range(p->src, p->start, p->end, &cur,
				  p->keep ? keep_found : NULL, p, &p->report,
				  &p->err);
	p->report.lines = cur.lineno;
	return NULL;
}

/* The CPUs this process may run on (taskset, cpusets), not all online. */
static long usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static size_t part_count(uint64_t len)
{
	long cpus = usable_cpus();
	uint64_t n = len / PART_MIN;

	if (cpus < 1)
		cpus = 1;
	if (n > (uint64_t)cpus)
		n = (uint64_t)cpus;
	if (n > PARTS_MAX)
		n = PARTS_MAX;
	return n ? (size_t)n : 1;
}

/* Offset just past the first '\n' at or after from (size if none). */
static int cut_after(const struct source *src, uint64_t from, uint64_t *cut,
		     struct papyra_error *err)
{
	char block[4096];

	if (src->data) {
		const char *nl = memchr(src->data + from, '\n',
					(size_t)(src->size - from));

		*cut = nl ? (uint64_t)(nl - src->data) + 1 : src->size;
		return 0;
	}
	while (from < src->size) {
		size_t want = sizeof(block);
		const char *nl;
		int rc;

		if (want > src->size - from)
			want = (size_t)(src->size - from);
		rc = papyra_io_pread_all(src->fd, block, want, from);
		if (rc < 0)
			return papyra_error_set(err, rc, "cannot read %s: %s",
						src->name, strerror(-rc));
		nl = memchr(block, '\n', want);
		if (nl) {
			*cut = from + (uint64_t)(nl - block) + 1;
			return 0;
		}
		from += want;
	}
	*cut = src->size;
	return 0;
}

/* Add part p's findings (lines numbered from 1) to report, in order. */
static int merge_part(struct papyra_scan_report *report, struct part *p,
		      papyra_scan_record_fn fn, void *ctx,
		      struct papyra_error *err)
{
	uint64_t base = report->lines;
	int rc;

	/* Move the part's anomalies over, renumbered; the detail goes too. */
	for (size_t i = 0; i < p->report.anomaly_count; i++) {
		struct papyra_anomaly *a = &p->report.anomalies[i];

		if (reserve_anomaly(report) < 0)
			return papyra_error_set(err, -ENOMEM,
						"out of memory during the scan");
		report->anomalies[report->anomaly_count] = *a;
		report->anomalies[report->anomaly_count++].line += base;
		a->detail = NULL;
	}
	for (size_t i = 0; fn && i < p->found_count; i++) {
		const struct found *f = &p->found[i];

		rc = fn(ctx, f->offset, f->length, f->kind, f->timestamp);
		if (rc < 0)
			return papyra_error_set(err, rc,
						"scan stopped at offset %llu: %s",
						(unsigned long long)f->offset,
						strerror(-rc));
	}
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		report->records[k] += p->report.records[k];
	report->total_records += p->report.total_records;
	report->lines = base + p->report.lines;
	report->good_end = p->report.good_end;
	return 0;
}

static int scan_source(const struct source *src, size_t n,
		       papyra_scan_record_fn fn, void *ctx,
		       struct papyra_scan_report *report,
		       struct papyra_error *err)
{
	struct part parts[PARTS_MAX];
	struct cursor cur = { 0, 0 };
	uint64_t cut = 0;
	int rc = 0;

	if (!report->backend)
		report->backend = "json";
	report->exists = 1;
	report->bytes = src->size;
	report->lines = 0;
	report->total_records = 0;
	report->good_end = 0;
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		report->records[k] = 0;
	if (n < 1)
		n = 1;
	if (n > PARTS_MAX)
		n = PARTS_MAX;

	/* Cut just after the first '\n' at or past each even share. */
	for (size_t i = 0; i < n; i++) {
		struct part *p = &parts[i];
		uint64_t end = src->size, from = src->size / n * (i + 1);

		if (rc == 0 && i + 1 < n && cut < src->size)
			rc = cut_after(src, from < cut ? cut : from, &end, err);
		memset(p, 0, sizeof(*p));
		p->src = src;
		p->start = cut;
		p->end = end;
		p->keep = fn != NULL;
		p->report.good_end = cut;
		cut = end;
	}
	if (rc < 0)
		return rc;
	for (size_t i = 1; i < n; i++)
		if (parts[i].start < parts[i].end)
			parts[i].started = pthread_create(&parts[i].thread, NULL,
							  scan_part,
							  &parts[i]) == 0;

	cur.pos = parts[0].start;
	rc = scan_source_range(src, parts[0].start, parts[0].end, &cur, fn,
			       ctx, report, err);
	report->lines = cur.lineno;
	for (size_t i = 1; i < n; i++) {
		struct part *p = &parts[i];

		if (p->started)
			pthread_join(p->thread, NULL);
		else if (rc == 0)
			scan_part(p); /* no thread to be had: scan it here */
		if (rc == 0 && p->rc < 0) {
			*err = p->err;
			rc = p->rc;
		}
		if (rc == 0 && p->start < p->end)
			rc = merge_part(report, p, fn, ctx, err);
		papyra_scan_report_release(&p->report);
		if (p->found)
			munmap(p->found, p->found_cap * sizeof(*p->found));
	}
	return rc;
}

int papyra_scan_buffer(const char *data, size_t len, papyra_scan_record_fn fn,
		       void *ctx, struct papyra_scan_report *report,
		       struct papyra_error *err)
{
	return papyra_scan_buffer_parts(data, len, part_count(len), fn, ctx,
					report, err);
}

int papyra_scan_buffer_parts(const char *data, size_t len, size_t parts,
			     papyra_scan_record_fn fn, void *ctx,
			     struct papyra_scan_report *report,
			     struct papyra_error *err)
{
	struct source src = { data, -1, len, 0, "the buffer" };

	return scan_source(&src, parts, fn, ctx, report, err);
}

/* papyra_scan_fd_parts, with name ("'PATH'" or "the log") for messages. */
static int scan_fd_named(int fd, const char *name, size_t parts,
			 size_t window, papyra_scan_record_fn fn, void *ctx,
			 struct papyra_scan_report *report,
			 struct papyra_error *err)
{
	struct source src = { NULL, fd, 0, window ? window : WINDOW, name };
	struct stat st;

	if (fstat(fd, &st) < 0)
		return papyra_error_set(err, -errno, "cannot stat %s: %s", name,
					strerror(errno));
	if (S_ISDIR(st.st_mode))
		return papyra_error_set(err, -EISDIR, "cannot read %s: %s", name,
					strerror(EISDIR));
	src.size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return scan_source(&src, parts ? parts : part_count(src.size), fn, ctx,
			   report, err);
}

int papyra_scan_fd_parts(int fd, size_t parts, size_t window,
			 papyra_scan_record_fn fn, void *ctx,
			 struct papyra_scan_report *report,
			 struct papyra_error *err)
{
	return scan_fd_named(fd, "the log", parts, window, fn, ctx, report,
			     err);
}

int papyra_scan_fd(int fd, papyra_scan_record_fn fn, void *ctx,
		   struct papyra_scan_report *report, struct papyra_error *err)
{
	return scan_fd_named(fd, "the log", 0, 0, fn, ctx, report, err);
}

int papyra_scan_path(const char *path, papyra_scan_record_fn fn, void *ctx,
		     struct papyra_scan_report *report,
		     struct papyra_error *err)
{
	char *name;
	int fd, rc, crc;

	free(report->path);
	report->path = strdup(path);
	if (!report->path || asprintf(&name, "'%s'", path) < 0)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	report->backend = "json";
	fd = papyra_io_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd == -ENOENT) {
		/* A log that was never written is an empty one. */
		free(name);
		report->exists = 0;
		report->bytes = 0;
		return 0;
	}
	if (fd < 0) {
		free(name);
		return papyra_error_set(err, fd, "cannot open '%s': %s", path,
					strerror(-fd));
	}
	rc = scan_fd_named(fd, name, 0, 0, fn, ctx, report, err);
	crc = papyra_io_close(fd);
	if (rc == 0 && crc < 0)
		rc = papyra_error_set(err, crc, "cannot close %s: %s", name,
				      strerror(-crc));
	free(name);
	return rc;
}
