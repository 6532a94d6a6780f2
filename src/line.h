/*
 * Classification of one stored line: is it a record, and if not, which
 * anomaly of the scan contract is it?  This is the single judge of what a
 * valid record is: scan, recovery, compaction and append validation all ask
 * it, so a line accepted on append always scans clean and a line the scan
 * keeps is always one append would accept.  It must be fast (a mount scans
 * the whole file), so it validates without building a document.
 */
#ifndef PAPYRA_LINE_H
#define PAPYRA_LINE_H

#include <stddef.h>

/*
 * Deepest nesting of arrays and objects a record may have (RFC 8259 §9 lets
 * a parser set this limit).  Deeper lines are CORRUPTED_LINE: Papyra's
 * Python reader gives up near 1000 levels, so nothing much deeper may be
 * stored.
 */
#define PAPYRA_LINE_MAX_DEPTH 512

enum papyra_anomaly_type {
	PAPYRA_ANOMALY_NONE = 0,
	PAPYRA_ANOMALY_TRUNCATED_LINE,
	PAPYRA_ANOMALY_CORRUPTED_LINE,
	PAPYRA_ANOMALY_UNKNOWN_KIND,
	PAPYRA_ANOMALY_STRUCTURAL,
};

/* "TRUNCATED_LINE", ...; "NONE" for PAPYRA_ANOMALY_NONE. */
const char *papyra_anomaly_name(enum papyra_anomaly_type type);

struct papyra_line_class {
	enum papyra_anomaly_type type; /* NONE when the line is a record */
	int kind;                      /* enum papyra_kind when type is NONE */
	int has_timestamp;             /* "timestamp" present and a number */
	double timestamp;              /* its value when has_timestamp */
	char detail[160];              /* why, when type is not NONE */
};

/*
 * Classify line[0..len), which excludes the terminating '\n'.  Never fails:
 * anything that is not a record gets the first applicable anomaly type of
 * SPEC §5 (CORRUPTED_LINE before UNKNOWN_KIND before STRUCTURAL).  The caller
 * decides TRUNCATED_LINE, which depends on the line's place in the file.
 * line need not be NUL-terminated.
 */
void papyra_line_classify(const char *line, size_t len,
			  struct papyra_line_class *out);

#endif
