/*
 * Reports of the two maintenance actions that rewrite a log: recovery
 * (SPEC §6) and compaction (SPEC §7), and their text rendering.  The
 * actions themselves are papyra_backend_recover and papyra_backend_compact.
 */
#ifndef PAPYRA_MAINTENANCE_H
#define PAPYRA_MAINTENANCE_H

#include <stdint.h>

#include "buf.h"
#include "options.h"

struct papyra_recovery_report {
	const char *backend;            /* "json" or "memory" */
	enum papyra_recovery_mode mode;
	int exists;                     /* 0: the file did not exist */
	int rewritten;                  /* 0: healthy (or memory), untouched */
	uint64_t lines_kept;            /* records kept byte for byte */
	uint64_t lines_dropped;         /* anomalous lines dropped */
	uint64_t bytes_before, bytes_after;
	uint64_t anomalies[5];          /* by enum papyra_anomaly_type */
	char *quarantine_path;          /* owned; where the old file went */
};

struct papyra_compaction_report {
	const char *backend;
	int exists;
	int rewritten;                  /* 0 for memory or when nothing changes */
	uint64_t records_before, records_after;
	uint64_t bytes_before, bytes_after;
	uint64_t anomalous_lines_removed;
};

void papyra_recovery_report_release(struct papyra_recovery_report *r);

/* Human-readable, several "key: value" lines; appended to out. */
int papyra_recovery_report_text(const struct papyra_recovery_report *r,
				struct papyra_buf *out);
int papyra_compaction_report_text(const struct papyra_compaction_report *r,
				  struct papyra_buf *out);

#endif
