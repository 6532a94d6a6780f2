/*
 * The four record kinds of a Papyra log.  Every stored record carries one
 * of them in its "kind" member; the tree has one log file per kind.
 */
#ifndef PAPYRA_KIND_H
#define PAPYRA_KIND_H

#include <stddef.h>

enum papyra_kind {
	PAPYRA_KIND_EVENT = 0,
	PAPYRA_KIND_AUDIT,
	PAPYRA_KIND_DEAD_LETTER,
	PAPYRA_KIND_METRIC,
	PAPYRA_KIND_COUNT,
	PAPYRA_KIND_ANY = -1 /* "records": every kind */
};

/* "event", "audit", "dead_letter", "metric"; NULL for anything else. */
const char *papyra_kind_name(int kind);

/* The kind named by s[0..len), or -1 when it is not one of the four. */
int papyra_kind_parse(const char *s, size_t len);

#endif
