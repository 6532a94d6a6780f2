/*
 * The backend: one log, on disk ("json", an NDJSON file) or in memory
 * (":memory:"), behind one set of calls.  The daemon maps every node of the
 * tree onto these calls and the CLI uses them for maintenance, so both
 * share one implementation of appends, reads, scan, recovery, compaction,
 * retention and metrics.
 *
 * Calling sequence:
 *   papyra_backend_open()            lock the file, scan it, build the index
 *   papyra_backend_append()/read()   from any number of threads at once
 *   papyra_backend_recover()/compact()  serialized with appends
 *   papyra_backend_free()            release the lock, close
 *
 * All functions are thread-safe.  They return 0 or a negative errno and,
 * given err, fill it with a message for the user.
 */
#ifndef PAPYRA_BACKEND_H
#define PAPYRA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "kind.h"
#include "maintenance.h"
#include "metrics.h"
#include "options.h"
#include "retention.h"
#include "scan.h"

#define PAPYRA_MEMORY_PATH ":memory:"

struct papyra_backend;

/*
 * Open path (or PAPYRA_MEMORY_PATH) with opts (copied).  For a file: create
 * it if opts->create and it is missing (otherwise a missing file is
 * -ENOENT), remove leftover temporary files of earlier rewrites, take the
 * exclusive lock (-EBUSY naming the holder's pid and mountpoint when
 * another process has it), scan it once and build the index.  startup, if
 * not NULL, receives that scan's report (init'ed by the caller); startup
 * modes are the caller's business (see startup.h).
 */
int papyra_backend_open(struct papyra_backend **out, const char *path,
			const struct papyra_options *opts,
			struct papyra_scan_report *startup,
			struct papyra_error *err);
void papyra_backend_free(struct papyra_backend *b); /* NULL allowed */

const char *papyra_backend_name(const struct papyra_backend *b); /* json|memory */
const char *papyra_backend_path(const struct papyra_backend *b); /* NULL: memory */
const struct papyra_options *papyra_backend_options(const struct papyra_backend *b);

/*
 * Append the records in data[0..len): lines separated by '\n', the last one
 * complete even without '\n', blank lines skipped.  forced_kind as in
 * papyra_record_canonicalize.  Every line is validated first; then all are
 * written with one write() or none is.  Returns when the records are as
 * durable as the sync mode promises.  *appended (may be NULL) gets the
 * number of records stored.  Errors: -EINVAL, -EMSGSIZE (nothing stored,
 * err names the line), the write's errno (-ENOSPC, -EIO, -EFBIG: file
 * truncated back), -EIO for a failed fdatasync, -EROFS after one.
 */
int papyra_backend_append(struct papyra_backend *b, int forced_kind,
			  const char *data, size_t len, size_t *appended,
			  struct papyra_error *err);

/* Bytes a read of the live view of kind (or PAPYRA_KIND_ANY) returns now. */
uint64_t papyra_backend_size(struct papyra_backend *b, int kind);

/*
 * Read up to len bytes of the live view of kind at off into dst.  *got
 * gets the count (0 at the end).  Counts in the reads metric.
 */
int papyra_backend_read(struct papyra_backend *b, int kind, uint64_t off,
			char *dst, size_t len, size_t *got,
			struct papyra_error *err);

/* A fresh scan of the whole file (always healthy for memory). */
int papyra_backend_scan(struct papyra_backend *b,
			struct papyra_scan_report *report,
			struct papyra_error *err);

/*
 * Recover: repair, or quarantine into quarantine_dir (-EINVAL without one).
 * A healthy file is left untouched.  -EBUSY if another maintenance action
 * is running.  The report is filled even on failure as far as it got.
 */
int papyra_backend_recover(struct papyra_backend *b,
			   enum papyra_recovery_mode mode,
			   const char *quarantine_dir,
			   struct papyra_recovery_report *report,
			   struct papyra_error *err);

/* Compact: rewrite with only the records inside the retention policy. */
int papyra_backend_compact(struct papyra_backend *b,
			   struct papyra_compaction_report *report,
			   struct papyra_error *err);

/* fdatasync now (no-op for memory). */
int papyra_backend_sync(struct papyra_backend *b, struct papyra_error *err);

/* Append a metric record holding the current counters. */
int papyra_backend_snapshot(struct papyra_backend *b, struct papyra_error *err);

void papyra_backend_get_retention(struct papyra_backend *b,
				  struct papyra_retention *out);
void papyra_backend_set_retention(struct papyra_backend *b,
				  const struct papyra_retention *policy);

struct papyra_metrics *papyra_backend_metrics(struct papyra_backend *b);

/* Live record counts by kind and live bytes under the policy in force. */
void papyra_backend_live_counts(struct papyra_backend *b,
				uint64_t counts[PAPYRA_KIND_COUNT],
				uint64_t *bytes);

/*
 * A number that changes whenever the stored bytes change (append, recover,
 * compact), so callers can cache anything derived from them (a rendered
 * scan report) and know when it is stale.
 */
uint64_t papyra_backend_generation(struct papyra_backend *b);

/*
 * NULL while healthy; after a failed fdatasync, why the log refuses writes
 * (every later write-side call fails with -EROFS until reopened).
 */
const char *papyra_backend_failure(struct papyra_backend *b);

/*
 * The `papyra persistence inspect` report for this backend: backend, file,
 * retention, exact live counts by kind, bytes, health (a fresh scan, not
 * counted in the scans metric), sync mode, failure state, and the metrics
 * when show_metrics.  Appended to out.
 */
int papyra_backend_inspect(struct papyra_backend *b, int show_metrics,
			   struct papyra_buf *out, struct papyra_error *err);

#endif
