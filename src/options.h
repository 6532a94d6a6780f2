/*
 * Settings shared by the daemon's mount options and the CLI's flags, with
 * their parsers.  Parsers return 0 or -EINVAL and never print.
 */
#ifndef PAPYRA_OPTIONS_H
#define PAPYRA_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "retention.h"

enum papyra_sync_mode {
	PAPYRA_SYNC_ALWAYS = 0, /* fdatasync before an append returns */
	PAPYRA_SYNC_INTERVAL,   /* fdatasync at most every sync_ms */
	PAPYRA_SYNC_NONE,       /* page cache only */
};

enum papyra_startup_mode {
	PAPYRA_STARTUP_IGNORE = 0,
	PAPYRA_STARTUP_SCAN_ONLY,
	PAPYRA_STARTUP_RECOVER,
	PAPYRA_STARTUP_FAIL_ON_ANOMALY,
};

enum papyra_recovery_mode {
	PAPYRA_RECOVERY_REPAIR = 0,
	PAPYRA_RECOVERY_QUARANTINE,
};

#define PAPYRA_DEFAULT_MAX_RECORD ((size_t)1 << 20)
#define PAPYRA_DEFAULT_SYNC_MS 1000

struct papyra_options {
	struct papyra_retention retention;
	enum papyra_sync_mode sync;
	unsigned sync_ms;
	size_t max_record;             /* longest accepted record line */
	enum papyra_startup_mode startup;
	enum papyra_recovery_mode recovery;
	const char *quarantine_dir;    /* borrowed; NULL when none */
	int create;                    /* create FILE if missing (daemon) */
	int read_only;                 /* no lock, nothing written: to look at
					  a file another process may hold
					  (CLI scan/inspect); write-side
					  calls fail with -EROFS */
};

void papyra_options_init(struct papyra_options *o); /* the SPEC defaults */

/* "123", "4k", "5M", "1G" (powers of 1024); rejects junk and overflow. */
int papyra_parse_size(const char *s, uint64_t *out);
/* A non-negative decimal integer that fits in int64. */
int papyra_parse_count(const char *s, int64_t *out);
/* Non-negative seconds, fractions allowed. */
int papyra_parse_seconds(const char *s, double *out);

int papyra_sync_mode_parse(const char *s, enum papyra_sync_mode *out);
int papyra_startup_mode_parse(const char *s, enum papyra_startup_mode *out);
int papyra_recovery_mode_parse(const char *s, enum papyra_recovery_mode *out);
const char *papyra_sync_mode_name(enum papyra_sync_mode m);
const char *papyra_startup_mode_name(enum papyra_startup_mode m);
const char *papyra_recovery_mode_name(enum papyra_recovery_mode m);

#endif
