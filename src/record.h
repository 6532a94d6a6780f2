/*
 * Validation of a record written by a user, and its canonical stored form.
 * A written line becomes a stored line: the object in compact form with
 * "kind" first, then the other members in their original order, and a
 * "timestamp" (right after "kind") when the writer gave none.
 */
#ifndef PAPYRA_RECORD_H
#define PAPYRA_RECORD_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

struct papyra_record_info {
	int kind;         /* enum papyra_kind of the stored record */
	double timestamp; /* its timestamp (given or added) */
	size_t length;    /* bytes of the stored line including '\n' */
};

/*
 * Validate line[0..len) (no '\n'; the caller skips blank lines) and append
 * its stored form plus '\n' to out.  forced_kind is a kind when the line was
 * written to that kind's log (the kind is set, a different one rejected) or
 * PAPYRA_KIND_ANY for "records" (kind must be present and known).  now is
 * the time stamped on records without one.
 *
 * Returns 0, -EINVAL (not JSON, not an object, wrong or unknown kind,
 * non-numeric timestamp), -EMSGSIZE (len > max_record) or -ENOMEM.  On
 * error out is unchanged and err says what was wrong.
 */
int papyra_record_canonicalize(const char *line, size_t len, int forced_kind,
			       size_t max_record, double now,
			       struct papyra_buf *out,
			       struct papyra_record_info *info,
			       struct papyra_error *err);

/*
 * The same, always built with json-c.  papyra_record_canonicalize builds
 * lines whose member names have no escapes directly from their bytes; the
 * tests hold the two to the same output.
 */
int papyra_record_canonicalize_jsonc(const char *line, size_t len,
				     int forced_kind, size_t max_record,
				     double now, struct papyra_buf *out,
				     struct papyra_record_info *info,
				     struct papyra_error *err);

/* Current time as Unix seconds with sub-millisecond precision. */
double papyra_now(void);

#endif
