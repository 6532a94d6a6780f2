/*
 * Option defaults and the parsers shared by the daemon's mount options, the
 * CLI's flags and ctl/retention.  Parsers are strict: a value is accepted
 * only if all of it was understood, so a typo fails loudly instead of
 * becoming a different number.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void papyra_options_init(struct papyra_options *o)
{
	memset(o, 0, sizeof(*o));
	papyra_retention_init(&o->retention);
	o->sync = PAPYRA_SYNC_ALWAYS;
	o->sync_ms = PAPYRA_DEFAULT_SYNC_MS;
	o->max_record = PAPYRA_DEFAULT_MAX_RECORD;
	o->startup = PAPYRA_STARTUP_SCAN_ONLY;
	o->recovery = PAPYRA_RECOVERY_REPAIR;
	o->quarantine_dir = NULL;
	o->create = 0;
	o->read_only = 0;
}

/* Decimal digits of s into *out; *end gets the first other character. */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

int papyra_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	unsigned shift = 0;

	if (!s || parse_digits(s, &v, &end) < 0)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		end++;
		break;
	case 'm': case 'M':
		shift = 20;
		end++;
		break;
	case 'g': case 'G':
		shift = 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	if (shift && v > UINT64_MAX >> shift)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

int papyra_parse_count(const char *s, int64_t *out)
{
	const char *end;
	uint64_t v;

	if (!s || parse_digits(s, &v, &end) < 0 || *end != '\0' ||
	    v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

int papyra_parse_seconds(const char *s, double *out)
{
	const char *p = s;
	int digits = 0;
	double v;
	char *end;

	/* digits with an optional fraction: no sign, exponent, hex, inf, nan */
	if (!s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (!digits || *p != '\0')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end != '\0' || !isfinite(v) || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *const sync_names[] = { "always", "interval", "none" };
static const char *const startup_names[] = { "ignore", "scan_only", "recover",
					     "fail_on_anomaly" };
static const char *const recovery_names[] = { "repair", "quarantine" };

static int name_lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int papyra_sync_mode_parse(const char *s, enum papyra_sync_mode *out)
{
	int i = name_lookup(s, sync_names, 3);

	if (i < 0)
		return -EINVAL;
	*out = (enum papyra_sync_mode)i;
	return 0;
}

int papyra_startup_mode_parse(const char *s, enum papyra_startup_mode *out)
{
	int i = name_lookup(s, startup_names, 4);

	if (i < 0)
		return -EINVAL;
	*out = (enum papyra_startup_mode)i;
	return 0;
}

int papyra_recovery_mode_parse(const char *s, enum papyra_recovery_mode *out)
{
	int i = name_lookup(s, recovery_names, 2);

	if (i < 0)
		return -EINVAL;
	*out = (enum papyra_recovery_mode)i;
	return 0;
}

const char *papyra_sync_mode_name(enum papyra_sync_mode m)
{
	return (unsigned)m < 3 ? sync_names[m] : "unknown";
}

const char *papyra_startup_mode_name(enum papyra_startup_mode m)
{
	return (unsigned)m < 4 ? startup_names[m] : "unknown";
}

const char *papyra_recovery_mode_name(enum papyra_recovery_mode m)
{
	return (unsigned)m < 2 ? recovery_names[m] : "unknown";
}
