/*
 * Names of the record kinds, the only place they are spelled.
 */
#include "kind.h"

#include <string.h>

static const char *const kind_names[PAPYRA_KIND_COUNT] = {
	[PAPYRA_KIND_EVENT] = "event",
	[PAPYRA_KIND_AUDIT] = "audit",
	[PAPYRA_KIND_DEAD_LETTER] = "dead_letter",
	[PAPYRA_KIND_METRIC] = "metric",
};

const char *papyra_kind_name(int kind)
{
	if (kind < 0 || kind >= PAPYRA_KIND_COUNT)
		return NULL;
	return kind_names[kind];
}

int papyra_kind_parse(const char *s, size_t len)
{
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++) {
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], s, len) == 0)
			return k;
	}
	return -1;
}
