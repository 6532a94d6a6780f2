/*
 * The backend: one log behind the calls of backend.h.  It owns what is
 * common to the file and memory stores: validating and canonicalizing
 * appends, the index and retention, group commit, the failed-sync latch,
 * metrics, and recovery and compaction serialized with appends.  The store
 * (store.h) only keeps bytes.
 *
 * Map: the struct and its locking rules; open and free; group commit and
 * the interval thread; append; reads; scan; recovery and compaction; the
 * small accessors.
 */
#include "config.h"

#include "backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend_internal.h"
#include "index.h"
#include "record.h"
#include "store.h"

/* A read gathers the pieces of a window separated by at most this many
 * bytes into one store read. */
#define READ_GAP_MAX ((uint64_t)64 << 10)
/* ... and never reads a span larger than this in one go. */
#define READ_SPAN_MAX ((uint64_t)8 << 20)

/*
 * Locking: `lock` serializes every store call except sync, every index
 * and retention access, and maintenance as a whole.  `sync_lock` guards
 * the group-commit state; it may be taken while holding `lock`, never the
 * other way round.  A store sync runs with neither held.
 */
struct papyra_backend {
	const struct papyra_store_ops *ops;
	void *store;
	struct papyra_options opts;     /* quarantine_dir points at qdir */
	char *qdir;                     /* owned copy */
	struct papyra_metrics metrics;
	_Atomic uint64_t generation;
	atomic_int maintenance;         /* a recover or compact is running */

	pthread_mutex_t lock;
	struct papyra_index *ix;        /* under lock */
	struct papyra_retention retention; /* under lock */
	int torn_tail;                  /* under lock: stored bytes end in a
					   torn line, seal before appending */
	uint64_t anomalous_lines;       /* under lock: non-record lines stored */

	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;       /* sync finished, or a sync slot freed */
	pthread_cond_t tick;            /* wakes the interval thread to stop */
	uint64_t written;               /* under sync_lock: appends written */
	uint64_t synced;                /* under sync_lock: appends durable */
	int syncing;                    /* under sync_lock: a sync (or a
					   rewrite holding syncs off) runs */
	int stopping;                   /* under sync_lock */
	atomic_int failed;              /* a fdatasync failed: refuse writes */
	char failure[512];              /* why; fixed once failed is set */
	pthread_t thread;               /* sync=interval */
	int thread_started;
};

/* --- open and free ------------------------------------------------------ */

static void *interval_main(void *arg);

static int init_sync(struct papyra_backend *b)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_mutex_init(&b->lock, NULL))
		return -ENOMEM;
	if (pthread_mutex_init(&b->sync_lock, NULL)) {
		pthread_mutex_destroy(&b->lock);
		return -ENOMEM;
	}
	rc = pthread_condattr_init(&attr);
	if (rc == 0) {
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		rc = pthread_cond_init(&b->tick, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (rc == 0 && pthread_cond_init(&b->sync_cond, NULL)) {
		pthread_cond_destroy(&b->tick);
		rc = -1;
	}
	if (rc) {
		pthread_mutex_destroy(&b->sync_lock);
		pthread_mutex_destroy(&b->lock);
		return -ENOMEM;
	}
	return 0;
}

int papyra_backend_open(struct papyra_backend **out, const char *path,
			const struct papyra_options *opts,
			struct papyra_scan_report *startup,
			struct papyra_error *err)
{
	struct papyra_scan_report local, *report = startup ? startup : &local;
	struct papyra_backend *b;
	int rc;

	*out = NULL;
	papyra_scan_report_init(&local);
	b = calloc(1, sizeof(*b));
	if (!b)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	if (opts)
		b->opts = *opts;
	else
		papyra_options_init(&b->opts);
	if (b->opts.quarantine_dir) {
		b->qdir = strdup(b->opts.quarantine_dir);
		if (!b->qdir) {
			free(b);
			return papyra_error_set(err, -ENOMEM, "out of memory");
		}
	}
	b->opts.quarantine_dir = b->qdir;
	b->retention = b->opts.retention;
	papyra_metrics_init(&b->metrics);
	atomic_init(&b->generation, 1);
	atomic_init(&b->maintenance, 0);
	atomic_init(&b->failed, 0);
	if (init_sync(b) < 0) {
		free(b->qdir);
		free(b);
		return papyra_error_set(err, -ENOMEM, "out of memory");
	}
	b->ix = papyra_index_new();
	if (!b->ix) {
		rc = papyra_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}

	if (strcmp(path, PAPYRA_MEMORY_PATH) == 0) {
		b->ops = &papyra_memory_ops;
		rc = papyra_memory_open(&b->store, err);
	} else {
		struct stat st;

		if (!b->opts.create && stat(path, &st) < 0 && errno == ENOENT) {
			rc = papyra_error_set(err, -ENOENT,
					      "'%s' does not exist", path);
			goto fail;
		}
		b->ops = &papyra_log_ops;
		rc = papyra_log_open(&b->store, path, &b->opts, err);
	}
	if (rc < 0)
		goto fail;

	papyra_index_load_begin(b->ix);
	rc = b->ops->scan(b->store, papyra_index_add, b->ix, report, err);
	papyra_index_load_end(b->ix);
	if (rc < 0)
		goto fail;
	b->torn_tail = report->bytes > report->good_end;
	b->anomalous_lines = report->anomaly_count;
	papyra_scan_report_release(&local);

	if (b->opts.sync == PAPYRA_SYNC_INTERVAL && b->ops->sync &&
	    !b->opts.read_only) {
		if (pthread_create(&b->thread, NULL, interval_main, b)) {
			rc = papyra_error_set(err, -EAGAIN,
					      "cannot start the sync thread");
			goto fail;
		}
		b->thread_started = 1;
	}
	*out = b;
	return 0;
fail:
	papyra_scan_report_release(&local);
	papyra_backend_free(b);
	return rc;
}

static int sync_step(struct papyra_backend *b);

void papyra_backend_free(struct papyra_backend *b)
{
	if (!b)
		return;
	if (b->thread_started) {
		pthread_mutex_lock(&b->sync_lock);
		b->stopping = 1;
		pthread_cond_broadcast(&b->tick);
		pthread_mutex_unlock(&b->sync_lock);
		pthread_join(b->thread, NULL);
		/* what the thread had not synced yet */
		pthread_mutex_lock(&b->sync_lock);
		if (b->written > b->synced && !atomic_load(&b->failed))
			sync_step(b);
		pthread_mutex_unlock(&b->sync_lock);
	}
	if (b->store)
		b->ops->close(b->store);
	papyra_index_free(b->ix);
	pthread_cond_destroy(&b->tick);
	pthread_cond_destroy(&b->sync_cond);
	pthread_mutex_destroy(&b->sync_lock);
	pthread_mutex_destroy(&b->lock);
	free(b->qdir);
	free(b);
}

/* --- group commit ------------------------------------------------------- */

/* Latch the failure of a fdatasync: from now on writes are refused. */
static void latch_failure(struct papyra_backend *b, const char *why)
{
	if (atomic_load(&b->failed))
		return;
	snprintf(b->failure, sizeof(b->failure),
		 "%.400s; the log refuses writes until it is reopened (the kernel "
		 "may have dropped unsynced data)", why);
	atomic_store(&b->failed, 1);
}

/*
 * One fdatasync covering every append written so far.  Called with
 * sync_lock held and no sync running; drops sync_lock around the call.
 */
static int sync_step(struct papyra_backend *b)
{
	struct papyra_error e;
	uint64_t target = b->written;
	int rc;

	papyra_error_clear(&e);
	b->syncing = 1;
	pthread_mutex_unlock(&b->sync_lock);
	rc = b->ops->sync(b->store, &e);
	pthread_mutex_lock(&b->sync_lock);
	b->syncing = 0;
	papyra_metrics_add(&b->metrics, PAPYRA_METRIC_FSYNCS, 1);
	if (rc < 0) {
		papyra_metrics_add(&b->metrics, PAPYRA_METRIC_WRITE_ERRORS, 1);
		latch_failure(b, e.message[0] ? e.message : "fdatasync failed");
	} else if (target > b->synced) {
		b->synced = target;
	}
	pthread_cond_broadcast(&b->sync_cond);
	return rc;
}

/*
 * Wait until append number seq is durable.  Whoever finds no sync running
 * runs one for everyone written so far; the others wait for it, so
 * concurrent appenders share one fdatasync.
 */
static int group_commit(struct papyra_backend *b, uint64_t seq,
			struct papyra_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&b->sync_lock);
	for (;;) {
		if (b->synced >= seq)
			break;
		if (atomic_load(&b->failed)) {
			rc = papyra_error_set(err, -EIO, "%s", b->failure);
			break;
		}
		if (!b->syncing)
			sync_step(b);
		else
			pthread_cond_wait(&b->sync_cond, &b->sync_lock);
	}
	pthread_mutex_unlock(&b->sync_lock);
	return rc;
}

/* Keep syncs off while a rewrite swaps the store (lock held). */
static void hold_syncs(struct papyra_backend *b)
{
	pthread_mutex_lock(&b->sync_lock);
	while (b->syncing)
		pthread_cond_wait(&b->sync_cond, &b->sync_lock);
	b->syncing = 1;
	pthread_mutex_unlock(&b->sync_lock);
}

/* durable: the rewrite fsynced everything written so far. */
static void release_syncs(struct papyra_backend *b, int durable)
{
	pthread_mutex_lock(&b->sync_lock);
	b->syncing = 0;
	if (durable)
		b->synced = b->written;
	pthread_cond_broadcast(&b->sync_cond);
	pthread_mutex_unlock(&b->sync_lock);
}

static void *interval_main(void *arg)
{
	struct papyra_backend *b = arg;
	struct timespec at;

	pthread_mutex_lock(&b->sync_lock);
	while (!b->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += b->opts.sync_ms / 1000;
		at.tv_nsec += (long)(b->opts.sync_ms % 1000) * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		while (!b->stopping &&
		       pthread_cond_timedwait(&b->tick, &b->sync_lock, &at) == 0)
			;
		if (b->stopping)
			break;
		if (b->written > b->synced && !b->syncing &&
		    !atomic_load(&b->failed))
			sync_step(b);
	}
	pthread_mutex_unlock(&b->sync_lock);
	return NULL;
}

/* --- append ------------------------------------------------------------- */

static int refuse_writes(struct papyra_backend *b, struct papyra_error *err)
{
	if (b->opts.read_only)
		return papyra_error_set(err, -EROFS,
			"the log is open read-only; nothing can be written");
	if (atomic_load(&b->failed))
		return papyra_error_set(err, -EROFS, "%s", b->failure);
	return 0;
}

struct pending_rec {
	uint32_t length;
	int kind;
	double timestamp;
};

static int is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/*
 * Validate every line of data into out (after its one leading byte) and
 * recs.  On a bad line nothing is kept and err names the line.
 */
static int prepare(struct papyra_backend *b, int forced_kind,
		   const char *data, size_t len, struct papyra_buf *out,
		   struct pending_rec **recs, size_t *nrecs,
		   struct papyra_error *err)
{
	double now = papyra_now();
	size_t cap = 0, n = 0, pos = 0;
	uint64_t lineno = 0;
	struct pending_rec *r = NULL;

	while (pos < len) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - line) : len - pos;
		size_t at = pos;

		pos += l + (nl ? 1 : 0);
		lineno++;
		if (is_blank(line, l))
			continue;

		struct papyra_record_info info;
		struct papyra_error e;
		int rc;

		papyra_error_clear(&e);
		rc = papyra_record_canonicalize(line, l, forced_kind,
						b->opts.max_record, now, out,
						&info, &e);
		if (rc == 0 && info.length > UINT32_MAX)
			rc = papyra_error_set(&e, -EMSGSIZE, "record too long");
		if (rc == 0 && n == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct pending_rec *q = realloc(r, c * sizeof(*r));
			if (!q)
				rc = papyra_error_set(&e, -ENOMEM, "out of memory");
			r = q ? q : r;
			cap = q ? c : cap;
		}
		if (rc < 0) {
			free(r);
			if (rc != -ENOMEM)
				papyra_metrics_add(&b->metrics,
						   PAPYRA_METRIC_RECORDS_REJECTED, 1);
			return papyra_error_set_at(err, rc, lineno, at,
						   "line %llu: %s",
						   (unsigned long long)lineno,
						   e.message);
		}
		r[n].length = (uint32_t)info.length;
		r[n].kind = info.kind;
		r[n].timestamp = info.timestamp;
		n++;
	}
	*recs = r;
	*nrecs = n;
	return 0;
}

int papyra_backend_append(struct papyra_backend *b, int forced_kind,
			  const char *data, size_t len, size_t *appended,
			  struct papyra_error *err)
{
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct pending_rec *recs = NULL;
	size_t n = 0;
	uint64_t at, seq = 0, bytes = 0;
	int rc, seal;

	if (appended)
		*appended = 0;
	rc = refuse_writes(b, err);
	if (rc < 0)
		return rc;
	/* one leading byte, a '\n' used only to seal a torn tail */
	if (papyra_buf_append(&out, "\n", 1) < 0)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	rc = prepare(b, forced_kind, data, len, &out, &recs, &n, err);
	if (rc < 0 || n == 0)
		goto done;

	pthread_mutex_lock(&b->lock);
	rc = refuse_writes(b, err);
	if (rc < 0) {
		pthread_mutex_unlock(&b->lock);
		goto done;
	}
	seal = b->torn_tail;
	rc = b->ops->append(b->store, out.data + 1 - seal, out.len - 1 + seal,
			    &at, err);
	if (rc < 0) {
		papyra_metrics_add(&b->metrics, PAPYRA_METRIC_WRITE_ERRORS, 1);
		pthread_mutex_unlock(&b->lock);
		goto done;
	}
	b->torn_tail = 0;
	at += (uint64_t)seal;
	for (size_t i = 0; i < n; i++) {
		int arc = papyra_index_add(b->ix, at, recs[i].length,
					   recs[i].kind, recs[i].timestamp);
		if (arc < 0 && rc == 0)
			rc = papyra_error_set(err, arc,
				"out of memory indexing appended records; they "
				"are stored but hidden until the log is reopened");
		at += recs[i].length;
		bytes += recs[i].length;
	}
	atomic_fetch_add(&b->generation, 1);
	papyra_metrics_add(&b->metrics, PAPYRA_METRIC_RECORDS_WRITTEN, n);
	papyra_metrics_add(&b->metrics, PAPYRA_METRIC_BYTES_WRITTEN, bytes);
	pthread_mutex_lock(&b->sync_lock);
	seq = ++b->written;
	pthread_mutex_unlock(&b->sync_lock);
	pthread_mutex_unlock(&b->lock);

	if (b->opts.sync == PAPYRA_SYNC_ALWAYS && b->ops->sync) {
		int src = group_commit(b, seq, err);
		if (src < 0)
			rc = src;
	}
	if (rc == 0 && appended)
		*appended = n;
done:
	free(recs);
	papyra_buf_release(&out);
	return rc;
}

int papyra_backend_snapshot(struct papyra_backend *b, struct papyra_error *err)
{
	struct papyra_buf line = PAPYRA_BUF_INIT;
	int rc;

	rc = refuse_writes(b, err);
	if (rc < 0)
		return rc;
	rc = papyra_buf_printf(&line, "{\"kind\":\"metric\",\"timestamp\":%.6f,"
			       "\"metrics\":", papyra_now());
	if (rc == 0)
		rc = papyra_metrics_json(&b->metrics, &line);
	if (rc == 0)
		rc = papyra_buf_puts(&line, "}");
	if (rc < 0) {
		papyra_buf_release(&line);
		return papyra_error_set(err, rc, "out of memory");
	}
	rc = papyra_backend_append(b, PAPYRA_KIND_METRIC, line.data, line.len,
				   NULL, err);
	papyra_buf_release(&line);
	return rc;
}

/* --- reads -------------------------------------------------------------- */

uint64_t papyra_backend_size(struct papyra_backend *b, int kind)
{
	uint64_t size;

	pthread_mutex_lock(&b->lock);
	size = papyra_index_live_size(b->ix, &b->retention, papyra_now(), kind);
	pthread_mutex_unlock(&b->lock);
	return size;
}

struct piece {
	uint64_t file_offset;
	size_t length;
	size_t window_offset;
};

struct read_ctx {
	struct piece *pieces;
	size_t n, cap;
};

static int collect_piece(void *ctx, uint64_t file_offset, size_t length,
			 size_t window_offset)
{
	struct read_ctx *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct piece *p = realloc(c->pieces, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->pieces = p;
		c->cap = cap;
	}
	c->pieces[c->n].file_offset = file_offset;
	c->pieces[c->n].length = length;
	c->pieces[c->n].window_offset = window_offset;
	c->n++;
	return 0;
}

/*
 * Read the pieces of a window.  Pieces close together in the file (a
 * kind's records between other kinds' records) are fetched with one store
 * read of their whole span, so a read costs a few store calls, not one per
 * record.  Called with the lock held.
 */
static int read_pieces(struct papyra_backend *b, const struct read_ctx *c,
		       char *dst, struct papyra_error *err)
{
	char *span = NULL;
	size_t span_cap = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < c->n;) {
		const struct piece *first = &c->pieces[i];
		uint64_t start = first->file_offset;
		uint64_t end = start + first->length;
		size_t j = i + 1;

		while (j < c->n && c->pieces[j].file_offset >= end &&
		       c->pieces[j].file_offset - end <= READ_GAP_MAX &&
		       c->pieces[j].file_offset + c->pieces[j].length - start <=
			       READ_SPAN_MAX) {
			end = c->pieces[j].file_offset + c->pieces[j].length;
			j++;
		}
		if (j == i + 1) {
			rc = b->ops->read(b->store, start,
					  dst + first->window_offset,
					  first->length, err);
			i = j;
			continue;
		}
		if (end - start > span_cap) {
			char *s = realloc(span, (size_t)(end - start));
			if (!s) {
				rc = papyra_error_set(err, -ENOMEM, "out of memory");
				break;
			}
			span = s;
			span_cap = (size_t)(end - start);
		}
		rc = b->ops->read(b->store, start, span, (size_t)(end - start), err);
		for (size_t k = i; rc == 0 && k < j; k++)
			memcpy(dst + c->pieces[k].window_offset,
			       span + (c->pieces[k].file_offset - start),
			       c->pieces[k].length);
		i = j;
	}
	free(span);
	return rc;
}

int papyra_backend_read(struct papyra_backend *b, int kind, uint64_t off,
			char *dst, size_t len, size_t *got,
			struct papyra_error *err)
{
	struct read_ctx c = { NULL, 0, 0 };
	int64_t n;
	int rc = 0;

	*got = 0;
	papyra_metrics_add(&b->metrics, PAPYRA_METRIC_READS, 1);
	pthread_mutex_lock(&b->lock);
	n = papyra_index_map(b->ix, &b->retention, papyra_now(), kind, off, len,
			     collect_piece, &c);
	if (n < 0)
		rc = papyra_error_set(err, (int)n, "out of memory");
	else
		rc = read_pieces(b, &c, dst, err);
	pthread_mutex_unlock(&b->lock);
	free(c.pieces);
	if (rc == 0)
		*got = (size_t)n;
	return rc;
}

/* --- scan --------------------------------------------------------------- */

int papyra_backend_scan_quiet(struct papyra_backend *b,
			      struct papyra_scan_report *report,
			      struct papyra_error *err)
{
	int rc;

	pthread_mutex_lock(&b->lock);
	rc = b->ops->scan(b->store, NULL, NULL, report, err);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int papyra_backend_scan(struct papyra_backend *b,
			struct papyra_scan_report *report,
			struct papyra_error *err)
{
	int rc = papyra_backend_scan_quiet(b, report, err);

	if (rc < 0) {
		papyra_metrics_add(&b->metrics, PAPYRA_METRIC_SCAN_ERRORS, 1);
		return rc;
	}
	papyra_metrics_add(&b->metrics, PAPYRA_METRIC_SCANS, 1);
	papyra_metrics_add(&b->metrics, PAPYRA_METRIC_ANOMALIES_DETECTED,
			   report->anomaly_count);
	return 0;
}

/* --- recovery and compaction -------------------------------------------- */

/* What a rewrite keeps, and the index of the rewritten file. */
struct keep {
	struct papyra_range *ranges;
	size_t n, cap;
	uint64_t bytes;           /* kept so far: the next record's offset */
	struct papyra_index *ix;  /* offsets in the rewritten file */
};

static int keep_record(void *ctx, uint64_t offset, uint32_t length, int kind,
		       double timestamp)
{
	struct keep *k = ctx;
	struct papyra_range *last = k->n ? &k->ranges[k->n - 1] : NULL;
	int rc;

	if (last && last->offset + last->length == offset) {
		last->length += length;
	} else {
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 64;
			struct papyra_range *r = realloc(k->ranges, cap * sizeof(*r));
			if (!r)
				return -ENOMEM;
			k->ranges = r;
			k->cap = cap;
		}
		k->ranges[k->n].offset = offset;
		k->ranges[k->n].length = length;
		k->n++;
	}
	rc = papyra_index_add(k->ix, k->bytes, length, kind, timestamp);
	if (rc < 0)
		return rc;
	k->bytes += length;
	return 0;
}

static void keep_release(struct keep *k)
{
	free(k->ranges);
	papyra_index_free(k->ix);
	memset(k, 0, sizeof(*k));
}

/*
 * Start a maintenance action: refuse it on a read-only or failed log, or
 * when another one runs.
 */
static int maintenance_begin(struct papyra_backend *b, struct papyra_error *err)
{
	int rc = refuse_writes(b, err);

	if (rc < 0)
		return rc;
	if (atomic_exchange(&b->maintenance, 1))
		return papyra_error_set(err, -EBUSY,
			"another compaction or recovery is running; try again "
			"when it has finished");
	return 0;
}

/* After a successful rewrite: the store holds exactly what k kept. */
static void adopt_rewrite(struct papyra_backend *b, struct keep *k)
{
	papyra_index_free(b->ix);
	b->ix = k->ix;
	k->ix = NULL;
	b->torn_tail = 0;
	b->anomalous_lines = 0;
	atomic_fetch_add(&b->generation, 1);
}

int papyra_backend_recover(struct papyra_backend *b,
			   enum papyra_recovery_mode mode,
			   const char *quarantine_dir,
			   struct papyra_recovery_report *report,
			   struct papyra_error *err)
{
	struct papyra_scan_report scan;
	struct keep k = { 0 };
	int rc, replaced = 0;

	memset(report, 0, sizeof(*report));
	report->backend = b->ops->name;
	report->mode = mode;
	report->exists = 1;
	if (!quarantine_dir)
		quarantine_dir = b->qdir; /* the quarantine_dir option */
	if (quarantine_dir && !*quarantine_dir)
		quarantine_dir = NULL;
	if (mode == PAPYRA_RECOVERY_QUARANTINE && !quarantine_dir)
		return papyra_error_set(err, -EINVAL,
			"quarantine recovery needs a quarantine directory; "
			"set quarantine_dir or recover with repair");
	rc = maintenance_begin(b, err);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&b->lock);
	if (!b->ops->rewrite) {
		/* memory: every stored line is a record, nothing to repair */
		report->lines_kept = papyra_index_count(b->ix);
		report->bytes_before = report->bytes_after = b->ops->size(b->store);
		goto out;
	}
	hold_syncs(b);
	papyra_scan_report_init(&scan);
	k.ix = papyra_index_new();
	rc = k.ix ? b->ops->scan(b->store, keep_record, &k, &scan, err)
		  : papyra_error_set(err, -ENOMEM, "out of memory");
	report->bytes_before = report->bytes_after = scan.bytes;
	report->exists = scan.exists;
	report->lines_kept = scan.total_records;
	report->lines_dropped = scan.anomaly_count;
	for (size_t i = 0; i < scan.anomaly_count; i++)
		if ((unsigned)scan.anomalies[i].type < 5)
			report->anomalies[scan.anomalies[i].type]++;
	if (rc == 0 && !papyra_scan_report_healthy(&scan)) {
		rc = b->ops->rewrite(b->store, "recover", k.ranges, k.n,
				     mode == PAPYRA_RECOVERY_QUARANTINE
					     ? quarantine_dir : NULL,
				     &report->quarantine_path, &replaced, err);
		if (replaced) {
			if (rc < 0)
				latch_failure(b, err ? err->message
						     : "directory sync failed");
			adopt_rewrite(b, &k);
			report->rewritten = 1;
			report->bytes_after = b->ops->size(b->store);
		}
	}
	/* Appends waiting for a sync are durable only if the rename is. */
	release_syncs(b, report->rewritten && rc == 0);
	papyra_scan_report_release(&scan);
	keep_release(&k);
out:
	pthread_mutex_unlock(&b->lock);
	atomic_store(&b->maintenance, 0);
	papyra_metrics_add(&b->metrics, rc < 0 ? PAPYRA_METRIC_RECOVERY_ERRORS
					       : PAPYRA_METRIC_RECOVERIES, 1);
	return rc;
}

int papyra_backend_compact(struct papyra_backend *b,
			   struct papyra_compaction_report *report,
			   struct papyra_error *err)
{
	struct keep k = { 0 };
	int rc, replaced = 0;

	memset(report, 0, sizeof(*report));
	report->backend = b->ops->name;
	report->exists = 1;
	rc = maintenance_begin(b, err);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&b->lock);
	report->records_before = report->records_after = papyra_index_count(b->ix);
	report->bytes_before = report->bytes_after = b->ops->size(b->store);
	if (!b->ops->rewrite)
		goto out; /* memory: retention is logical only */
	hold_syncs(b);
	k.ix = papyra_index_new();
	rc = k.ix ? papyra_index_live_foreach(b->ix, &b->retention, papyra_now(),
					      keep_record, &k)
		  : -ENOMEM;
	if (rc < 0)
		rc = papyra_error_set(err, rc, "out of memory");
	if (rc == 0 && (papyra_index_count(k.ix) != report->records_before ||
			b->anomalous_lines || k.bytes != report->bytes_before)) {
		rc = b->ops->rewrite(b->store, "compact", k.ranges, k.n, NULL,
				     NULL, &replaced, err);
		if (replaced) {
			if (rc < 0)
				latch_failure(b, err ? err->message
						     : "directory sync failed");
			report->anomalous_lines_removed = b->anomalous_lines;
			report->records_after = papyra_index_count(k.ix);
			adopt_rewrite(b, &k);
			report->rewritten = 1;
			report->bytes_after = b->ops->size(b->store);
		}
	}
	/* Appends waiting for a sync are durable only if the rename is. */
	release_syncs(b, report->rewritten && rc == 0);
	keep_release(&k);
out:
	pthread_mutex_unlock(&b->lock);
	atomic_store(&b->maintenance, 0);
	papyra_metrics_add(&b->metrics, rc < 0 ? PAPYRA_METRIC_COMPACTION_ERRORS
					       : PAPYRA_METRIC_COMPACTIONS, 1);
	return rc;
}

int papyra_backend_sync(struct papyra_backend *b, struct papyra_error *err)
{
	int rc;

	rc = refuse_writes(b, err);
	if (rc < 0 || !b->ops->sync)
		return rc;
	pthread_mutex_lock(&b->sync_lock);
	while (b->syncing)
		pthread_cond_wait(&b->sync_cond, &b->sync_lock);
	if (atomic_load(&b->failed))
		rc = papyra_error_set(err, -EROFS, "%s", b->failure);
	else if (sync_step(b) < 0)
		rc = papyra_error_set(err, -EIO, "%s", b->failure);
	pthread_mutex_unlock(&b->sync_lock);
	return rc;
}

/* --- accessors ---------------------------------------------------------- */

const char *papyra_backend_name(const struct papyra_backend *b)
{
	return b->ops->name;
}

const char *papyra_backend_path(const struct papyra_backend *b)
{
	return b->ops->path(b->store);
}

const struct papyra_options *papyra_backend_options(const struct papyra_backend *b)
{
	return &b->opts;
}

void papyra_backend_get_retention(struct papyra_backend *b,
				  struct papyra_retention *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->retention;
	pthread_mutex_unlock(&b->lock);
}

void papyra_backend_set_retention(struct papyra_backend *b,
				  const struct papyra_retention *policy)
{
	pthread_mutex_lock(&b->lock);
	b->retention = *policy;
	pthread_mutex_unlock(&b->lock);
}

struct papyra_metrics *papyra_backend_metrics(struct papyra_backend *b)
{
	return &b->metrics;
}

void papyra_backend_live_counts(struct papyra_backend *b,
				uint64_t counts[PAPYRA_KIND_COUNT],
				uint64_t *bytes)
{
	pthread_mutex_lock(&b->lock);
	papyra_index_live_counts(b->ix, &b->retention, papyra_now(), counts,
				 bytes);
	pthread_mutex_unlock(&b->lock);
}

uint64_t papyra_backend_generation(struct papyra_backend *b)
{
	return atomic_load(&b->generation);
}

const char *papyra_backend_failure(struct papyra_backend *b)
{
	return atomic_load(&b->failed) ? b->failure : NULL;
}

uint64_t papyra_backend_stored_bytes(struct papyra_backend *b)
{
	uint64_t n;

	pthread_mutex_lock(&b->lock);
	n = b->ops->size(b->store);
	pthread_mutex_unlock(&b->lock);
	return n;
}
