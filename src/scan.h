/*
 * Scan: read a whole log, change nothing, and report every anomaly with its
 * line, offset, type and detail, plus record counts by kind.  The same pass
 * can feed every valid record to a callback, which is how a mount builds its
 * index and how recovery and compaction learn which lines to keep.
 */
#ifndef PAPYRA_SCAN_H
#define PAPYRA_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "kind.h"
#include "line.h"

struct papyra_anomaly {
	enum papyra_anomaly_type type;
	uint64_t line;   /* 1-based */
	uint64_t offset; /* 0-based byte offset of the line's start */
	uint64_t length; /* bytes of the line including its '\n' if any */
	char *detail;    /* owned */
};

struct papyra_scan_report {
	char *path;          /* owned; NULL for the memory backend */
	const char *backend; /* "json" or "memory" (static) */
	int exists;          /* 0 when the file does not exist */
	uint64_t bytes;      /* size of the scanned file */
	uint64_t lines;      /* lines seen, a final unterminated one included */
	uint64_t records[PAPYRA_KIND_COUNT];
	uint64_t total_records;
	uint64_t good_end;   /* offset just past the last '\n' (0 if none) */
	struct papyra_anomaly *anomalies; /* owned, in file order */
	size_t anomaly_count;
	size_t anomaly_cap;
};

/*
 * Called for every valid record in file order.  length includes the '\n'.
 * timestamp is NAN when the record has none.  A negative return aborts the
 * scan with that code.
 */
typedef int (*papyra_scan_record_fn)(void *ctx, uint64_t offset,
				     uint32_t length, int kind,
				     double timestamp);

/* Zero a report before use; release frees what it owns and zeroes it. */
void papyra_scan_report_init(struct papyra_scan_report *r);
void papyra_scan_report_release(struct papyra_scan_report *r);
int papyra_scan_report_healthy(const struct papyra_scan_report *r);

/* Scan data[0..len).  fn may be NULL.  Fills report (init'ed by caller). */
int papyra_scan_buffer(const char *data, size_t len, papyra_scan_record_fn fn,
		       void *ctx, struct papyra_scan_report *report,
		       struct papyra_error *err);

/*
 * The same, cut into parts (at most 8) scanned by as many threads; fn still
 * runs on the calling thread, in file order.  papyra_scan_buffer picks the
 * number from the size and the CPUs online; tests pick it themselves.
 */
int papyra_scan_buffer_parts(const char *data, size_t len, size_t parts,
			     papyra_scan_record_fn fn, void *ctx,
			     struct papyra_scan_report *report,
			     struct papyra_error *err);

/* Scan the open file fd (from offset 0 to its current size). */
int papyra_scan_fd(int fd, papyra_scan_record_fn fn, void *ctx,
		   struct papyra_scan_report *report, struct papyra_error *err);

/*
 * The same with the number of parts and the bytes read at a time chosen
 * (0: as papyra_scan_fd would); a line longer than window is still read
 * whole.  For tests.
 */
int papyra_scan_fd_parts(int fd, size_t parts, size_t window,
			 papyra_scan_record_fn fn, void *ctx,
			 struct papyra_scan_report *report,
			 struct papyra_error *err);

/*
 * Scan the file at path.  A missing file is an empty, healthy log
 * (report->exists = 0, returns 0); an unreadable one returns the negative
 * errno with the path and strerror in err.
 */
int papyra_scan_path(const char *path, papyra_scan_record_fn fn, void *ctx,
		     struct papyra_scan_report *report,
		     struct papyra_error *err);

/*
 * Human-readable report: the file, the verdict, counts by kind, and one line
 * per anomaly (line, offset, type, detail).  Appends to out.
 */
int papyra_scan_report_text(const struct papyra_scan_report *r,
			    struct papyra_buf *out);

/*
 * One JSON document plus '\n':
 * {"backend","path","healthy","records":{kind:count},"bytes",
 *  "anomalies":[{"type","line","offset","detail"}]}
 */
int papyra_scan_report_json(const struct papyra_scan_report *r,
			    struct papyra_buf *out);

/* "healthy\n" or "anomalies N\n". */
int papyra_scan_report_status(const struct papyra_scan_report *r,
			      struct papyra_buf *out);

#endif
