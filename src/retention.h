/*
 * Retention policy (SPEC §7).  Retention is logical: reads, counts and
 * inspect skip records outside the policy; only compaction removes them.
 * Constraints apply over the whole file in order: age first (a record
 * without a numeric timestamp fails any max_age), then count (newest kept),
 * then bytes (newest kept while their stored lines, '\n' included, total at
 * most max_bytes).  The computation itself lives with the index.
 */
#ifndef PAPYRA_RETENTION_H
#define PAPYRA_RETENTION_H

#include <stdint.h>

#include "buf.h"
#include "error.h"

struct papyra_retention {
	int64_t max_records; /* < 0: no limit */
	double max_age;      /* seconds; < 0: no limit */
	int64_t max_bytes;   /* < 0: no limit */
};

/* No constraint at all. */
void papyra_retention_init(struct papyra_retention *r);
int papyra_retention_is_none(const struct papyra_retention *r);

/*
 * Parse "max_records=N max_age=S max_bytes=B" (any subset, any order,
 * separated by blanks or commas, trailing newline allowed) into *r,
 * changing only the constraints named; the value "none" clears one, and the
 * whole text "none" clears all.  max_bytes takes k, M, G suffixes (powers of
 * 1024).  On error *r is unchanged: -EINVAL with err naming the bad token.
 */
int papyra_retention_parse(const char *text, struct papyra_retention *r,
			   struct papyra_error *err);

/* "max_records=N max_age=S max_bytes=B\n" with "none" for absent ones. */
int papyra_retention_format(const struct papyra_retention *r,
			    struct papyra_buf *out);

#endif
