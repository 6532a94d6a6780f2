/*
 * libFuzzer harness: the text parsers behind mount options, CLI flags and
 * the ctl files.  The first byte picks the parser, the rest (cut at its
 * first NUL, as a C string arrives) is its input.  The ctl nodes trim blanks
 * and hand the text to papyra_retention_parse or
 * papyra_recovery_mode_parse; fs/node_ctl.c needs FUSE, so its trimming is
 * repeated here in front of the core parsers it calls.  Properties: no
 * crash; a refused retention text leaves the policy unchanged and names the
 * problem; an accepted one formats to a text that parses back to the same
 * policy; accepted numbers are in range and the mode names round-trip.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "retention.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                               \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "parser property: " __VA_ARGS__); \
			fprintf(stderr, "\ninput: [%s]\n", text);      \
			abort();                                       \
		}                                                      \
	} while (0)

static int same_policy(const struct papyra_retention *a,
		       const struct papyra_retention *b)
{
	/* max_age is shown with 6 decimals (microseconds), so it round-trips
	   to within half a microsecond, not exactly */
	return a->max_records == b->max_records && a->max_bytes == b->max_bytes &&
	       (fabs(a->max_age - b->max_age) <= 5e-7 + 1e-15 * fabs(a->max_age) ||
		(a->max_age < 0 && b->max_age < 0));
}

static void check_retention(const char *text)
{
	struct papyra_retention r, before, back;
	struct papyra_buf b = PAPYRA_BUF_INIT;
	struct papyra_error err;
	int rc;

	/* Start from a policy with every constraint set, as a ctl write does. */
	r.max_records = 7;
	r.max_age = 8.5;
	r.max_bytes = 9;
	before = r;
	papyra_error_clear(&err);
	rc = papyra_retention_parse(text, &r, &err);
	if (rc < 0) {
		CHECK(rc == -EINVAL, "retention: error %d", rc);
		CHECK(same_policy(&r, &before), "retention: refused text changed the policy");
		CHECK(err.message[0], "retention: refused without a message");
		return;
	}
	CHECK(r.max_records >= -1 && r.max_bytes >= -1 && !isnan(r.max_age),
	      "retention: accepted out of range values");
	CHECK(papyra_retention_format(&r, &b) == 0, "retention: format failed");
	papyra_retention_init(&back);
	rc = papyra_retention_parse(b.data, &back, &err);
	CHECK(rc == 0, "retention: formatted text [%s] refused: %s", b.data, err.message);
	CHECK(same_policy(&r, &back), "retention: [%s] parses back to another policy", b.data);
	papyra_buf_release(&b);
}

/* fs/node_ctl.c's trimming: surrounding blanks off, NUL refused. */
static void ctl_recover(const char *text)
{
	enum papyra_recovery_mode m;
	char t[4096];
	size_t len = strlen(text);
	const char *p = text;

	while (len && isspace((unsigned char)p[0])) {
		p++;
		len--;
	}
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	if (len >= sizeof(t))
		return;
	memcpy(t, p, len);
	t[len] = '\0';
	if (papyra_recovery_mode_parse(t, &m) == 0)
		CHECK(strcmp(papyra_recovery_mode_name(m), t) == 0,
		      "recovery mode %s accepted as %s", t, papyra_recovery_mode_name(m));
	check_retention(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	uint64_t u;
	int64_t i;
	double d;
	int sel, rc;

	if (size < 1)
		return 0;
	sel = data[0] % 6;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (sel) {
	case 0:
		check_retention(text);
		break;
	case 1:
		ctl_recover(text);
		break;
	case 2:
		rc = papyra_parse_size(text, &u);
		CHECK(rc == 0 || rc == -EINVAL, "size: error %d", rc);
		if (rc == 0)
			CHECK(text[0] >= '0' && text[0] <= '9', "size: accepted a non-digit start");
		break;
	case 3:
		rc = papyra_parse_count(text, &i);
		CHECK(rc == 0 || rc == -EINVAL, "count: error %d", rc);
		if (rc == 0)
			CHECK(i >= 0, "count: accepted a negative count");
		break;
	case 4:
		rc = papyra_parse_seconds(text, &d);
		CHECK(rc == 0 || rc == -EINVAL, "seconds: error %d", rc);
		if (rc == 0)
			CHECK(d >= 0 && isfinite(d), "seconds: accepted %g", d);
		break;
	default: {
		enum papyra_sync_mode s;
		enum papyra_startup_mode st;
		enum papyra_recovery_mode m;

		if (papyra_sync_mode_parse(text, &s) == 0)
			CHECK(!strcmp(papyra_sync_mode_name(s), text), "sync mode");
		if (papyra_startup_mode_parse(text, &st) == 0)
			CHECK(!strcmp(papyra_startup_mode_name(st), text), "startup mode");
		if (papyra_recovery_mode_parse(text, &m) == 0)
			CHECK(!strcmp(papyra_recovery_mode_name(m), text), "recovery mode");
		break;
	}
	}
	free(text);
	return 0;
}
