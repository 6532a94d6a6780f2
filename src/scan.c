/*
 * The scan: split a log into lines, ask papyra_line_classify about each
 * one, and collect anomalies and counts in one pass, on several threads
 * when the log is large.  The file is mapped
 * rather than read, so a scan of a large log costs no copy; where mapping
 * is not possible (some filesystems refuse it) the file is read into
 * memory instead.  Only the last line's place in the file is decided here:
 * a final line without '\n' is TRUNCATED_LINE whatever it holds.
 */
#include "config.h"

#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
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

	if (r->anomaly_count == r->anomaly_cap) {
		size_t cap = r->anomaly_cap ? r->anomaly_cap * 2 : 8;

		a = realloc(r->anomalies, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		r->anomalies = a;
		r->anomaly_cap = cap;
	}
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

/*
 * Scan the lines starting in data[pos..end) of a buffer of total bytes,
 * numbering them from lineno + 1, into report (whose counts it adds to).
 * Only a range that reaches total can end in a line without '\n'.
 */
static int scan_range(const char *data, size_t pos, size_t end, size_t total,
		      uint64_t lineno, papyra_scan_record_fn fn, void *ctx,
		      struct papyra_scan_report *report,
		      struct papyra_error *err)
{
	int rc;

	while (pos < end) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', total - pos);
		struct papyra_line_class c;
		size_t l;

		lineno++;
		if (!nl) {
			rc = add_truncated(report, line, total - pos, lineno, pos);
			if (rc < 0)
				goto nomem;
			break;
		}
		l = (size_t)(nl - line);
		if (l >= UINT32_MAX) {
			/* The index keeps lengths in 32 bits; no record is
			   anywhere near this. */
			rc = add_anomaly(report, PAPYRA_ANOMALY_CORRUPTED_LINE,
					 lineno, pos, l + 1,
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
					rc = fn(ctx, pos, (uint32_t)(l + 1), c.kind,
						c.has_timestamp ? c.timestamp : NAN);
					if (rc < 0) {
						report->lines = lineno;
						return papyra_error_set(err, rc,
							"scan stopped at line %llu: %s",
							(unsigned long long)lineno,
							strerror(-rc));
					}
				}
			} else {
				rc = add_anomaly(report, c.type, lineno, pos, l + 1,
						 "%s", c.detail);
				if (rc < 0)
					goto nomem;
			}
		}
		pos += l + 1;
		report->good_end = pos;
	}
	report->lines = lineno;
	return 0;
nomem:
	report->lines = lineno;
	return papyra_error_set(err, -ENOMEM, "out of memory during the scan");
}

/*
 * A large buffer is cut at line boundaries into parts that threads scan at
 * once: classifying is pure CPU work on bytes already in memory, so a scan
 * (and so the mount of a big log) goes as many times faster as there are
 * cores.  The caller's callback still sees every record in file order, on
 * the calling thread: the first part is scanned there directly, and the
 * other threads keep what they found for it to replay after them.
 */
#define PART_MIN ((size_t)4 << 20) /* smaller parts do not pay a thread */
#define PARTS_MAX 8

struct found {                   /* a record a helper thread saw */
	uint64_t offset;
	double timestamp;
	uint32_t length;
	int kind;
};

struct part {
	const char *data;
	size_t start, end, total;
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
		size_t cap = p->found_cap ? p->found_cap * 2 : 65536;
		void *m = p->found ?
			mremap(p->found, p->found_cap * sizeof(*p->found),
			       cap * sizeof(*p->found), MREMAP_MAYMOVE) :
			mmap(NULL, cap * sizeof(*p->found),
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return -ENOMEM;
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

	p->rc = scan_range(p->data, p->start, p->end, p->total, 0,
			   p->keep ? keep_found : NULL, p, &p->report, &p->err);
	return NULL;
}

static size_t part_count(size_t len)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = len / PART_MIN;

	if (cpus < 1)
		cpus = 1;
	if (n > (size_t)cpus)
		n = (size_t)cpus;
	if (n > PARTS_MAX)
		n = PARTS_MAX;
	return n ? n : 1;
}

/* Add part p's findings (lines numbered from 1) to report, in order. */
static int merge_part(struct papyra_scan_report *report, struct part *p,
		      papyra_scan_record_fn fn, void *ctx,
		      struct papyra_error *err)
{
	uint64_t base = report->lines;
	int rc;

	for (size_t i = 0; i < p->report.anomaly_count; i++) {
		struct papyra_anomaly *a = &p->report.anomalies[i];

		rc = add_anomaly(report, a->type, base + a->line, a->offset,
				 a->length, "%s", a->detail);
		if (rc < 0)
			return papyra_error_set(err, rc,
						"out of memory during the scan");
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

int papyra_scan_buffer(const char *data, size_t len, papyra_scan_record_fn fn,
		       void *ctx, struct papyra_scan_report *report,
		       struct papyra_error *err)
{
	return papyra_scan_buffer_parts(data, len, part_count(len), fn, ctx,
					report, err);
}

int papyra_scan_buffer_parts(const char *data, size_t len, size_t n,
			     papyra_scan_record_fn fn, void *ctx,
			     struct papyra_scan_report *report,
			     struct papyra_error *err)
{
	struct part parts[PARTS_MAX];
	size_t cut = 0;
	int rc;

	if (n < 1)
		n = 1;
	if (n > PARTS_MAX)
		n = PARTS_MAX;

	if (!report->backend)
		report->backend = "json";
	report->exists = 1;
	report->bytes = len;
	report->lines = 0;
	report->total_records = 0;
	report->good_end = 0;
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		report->records[k] = 0;

	/* Cut just after the first '\n' at or past each even share. */
	for (size_t i = 0; i < n; i++) {
		struct part *p = &parts[i];
		size_t end = len;

		if (i + 1 < n && cut < len) {
			size_t from = len / n * (i + 1);
			const char *nl;

			if (from < cut) /* a long line went past this share */
				from = cut;
			nl = memchr(data + from, '\n', len - from);
			if (nl)
				end = (size_t)(nl - data) + 1;
		}
		memset(p, 0, sizeof(*p));
		p->data = data;
		p->start = cut;
		p->end = end;
		p->total = len;
		p->keep = fn != NULL;
		p->report.good_end = cut;
		cut = end;
	}
	for (size_t i = 1; i < n; i++)
		if (parts[i].start < parts[i].end)
			parts[i].started = pthread_create(&parts[i].thread, NULL,
							  scan_part,
							  &parts[i]) == 0;

	rc = scan_range(data, parts[0].start, parts[0].end, len, 0, fn, ctx,
			report, err);
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

/* Read the whole file when it cannot be mapped. */
static int scan_by_reading(int fd, size_t size, const char *name,
			   papyra_scan_record_fn fn, void *ctx,
			   struct papyra_scan_report *report,
			   struct papyra_error *err)
{
	char *data = malloc(size);
	int rc;

	if (!data)
		return papyra_error_set(err, -ENOMEM,
					"out of memory reading %zu bytes of %s",
					size, name);
	rc = papyra_io_pread_all(fd, data, size, 0);
	if (rc < 0) {
		free(data);
		return papyra_error_set(err, rc, "cannot read %s: %s", name,
					strerror(-rc));
	}
	rc = papyra_scan_buffer(data, size, fn, ctx, report, err);
	free(data);
	return rc;
}

/* papyra_scan_fd, with name ("'PATH'" or "the log") for messages. */
static int scan_fd_named(int fd, const char *name, papyra_scan_record_fn fn,
			 void *ctx, struct papyra_scan_report *report,
			 struct papyra_error *err)
{
	struct stat st;
	size_t size;
	void *map;
	int rc;

	if (fstat(fd, &st) < 0)
		return papyra_error_set(err, -errno, "cannot stat %s: %s", name,
					strerror(errno));
	if (S_ISDIR(st.st_mode))
		return papyra_error_set(err, -EISDIR, "cannot read %s: %s", name,
					strerror(EISDIR));
	if (st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX)
		return papyra_error_set(err, -EFBIG, "cannot read %s: %s", name,
					strerror(EFBIG));
	size = (size_t)st.st_size;
	if (size == 0) /* mmap refuses a length of 0 */
		return papyra_scan_buffer("", 0, fn, ctx, report, err);

	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return scan_by_reading(fd, size, name, fn, ctx, report, err);
	/* Advice only: a failure changes nothing but speed. */
	(void)madvise(map, size, MADV_SEQUENTIAL);
	rc = papyra_scan_buffer(map, size, fn, ctx, report, err);
	if (munmap(map, size) < 0 && rc == 0)
		rc = papyra_error_set(err, -errno, "cannot unmap %s: %s", name,
				      strerror(errno));
	return rc;
}

int papyra_scan_fd(int fd, papyra_scan_record_fn fn, void *ctx,
		   struct papyra_scan_report *report, struct papyra_error *err)
{
	return scan_fd_named(fd, "the log", fn, ctx, report, err);
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
	rc = scan_fd_named(fd, name, fn, ctx, report, err);
	crc = papyra_io_close(fd);
	if (rc == 0 && crc < 0)
		rc = papyra_error_set(err, crc, "cannot close %s: %s", name,
				      strerror(-crc));
	free(name);
	return rc;
}
