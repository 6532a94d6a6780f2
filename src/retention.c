/*
 * Parsing and formatting of retention policies, as written to ctl/retention
 * and shown by inspect.  The policy's meaning (which records are live) is
 * computed by the index.
 */
#include "retention.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

void papyra_retention_init(struct papyra_retention *r)
{
	r->max_records = -1;
	r->max_age = -1;
	r->max_bytes = -1;
}

int papyra_retention_is_none(const struct papyra_retention *r)
{
	return r->max_records < 0 && r->max_age < 0 && r->max_bytes < 0;
}

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r';
}

/* Apply one "name=value" token to *r. */
static int apply_token(const char *tok, struct papyra_retention *r,
		       struct papyra_error *err)
{
	const char *eq = strchr(tok, '=');
	const char *val;
	size_t nlen;

	if (!eq)
		return papyra_error_set(err, -EINVAL,
			"bad retention setting '%s': expected name=value "
			"(max_records, max_age or max_bytes) or 'none'", tok);
	nlen = (size_t)(eq - tok);
	val = eq + 1;
	int none = strcmp(val, "none") == 0;

	if (nlen == 11 && memcmp(tok, "max_records", 11) == 0) {
		int64_t n;
		if (none)
			n = -1;
		else if (papyra_parse_count(val, &n) < 0)
			goto bad;
		r->max_records = n;
	} else if (nlen == 7 && memcmp(tok, "max_age", 7) == 0) {
		double s;
		if (none)
			s = -1;
		else if (papyra_parse_seconds(val, &s) < 0)
			goto bad;
		r->max_age = s;
	} else if (nlen == 9 && memcmp(tok, "max_bytes", 9) == 0) {
		uint64_t b;
		if (none) {
			r->max_bytes = -1;
		} else {
			if (papyra_parse_size(val, &b) < 0 || b > (uint64_t)INT64_MAX)
				goto bad;
			r->max_bytes = (int64_t)b;
		}
	} else {
		return papyra_error_set(err, -EINVAL,
			"unknown retention setting '%.*s': use max_records, "
			"max_age or max_bytes", (int)nlen, tok);
	}
	return 0;
bad:
	return papyra_error_set(err, -EINVAL,
		"bad value in '%s': expected a non-negative number or 'none'", tok);
}

int papyra_retention_parse(const char *text, struct papyra_retention *r,
			   struct papyra_error *err)
{
	struct papyra_retention next = *r;
	char tok[256];
	const char *p = text;
	size_t ntok = 0;
	int clear_all = 0;

	while (*p) {
		while (*p && is_sep(*p))
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && !is_sep(*p))
			p++;
		size_t len = (size_t)(p - start);
		if (len >= sizeof(tok))
			return papyra_error_set(err, -EINVAL,
				"bad retention setting '%.40s...': too long", start);
		memcpy(tok, start, len);
		tok[len] = '\0';
		ntok++;
		if (strcmp(tok, "none") == 0) {
			clear_all = 1;
			continue;
		}
		int rc = apply_token(tok, &next, err);
		if (rc < 0)
			return rc;
	}
	if (clear_all) {
		if (ntok != 1)
			return papyra_error_set(err, -EINVAL,
				"bad retention policy: 'none' clears every "
				"setting and must stand alone");
		papyra_retention_init(&next);
	}
	*r = next;
	return 0;
}

/*
 * Seconds without trailing zeros: "86400", "1.5".  The parser takes no
 * exponent, so a huge value is written out in full: room for every digit
 * of DBL_MAX plus the fraction.
 */
static int format_seconds(double s, struct papyra_buf *out)
{
	char tmp[DBL_MAX_10_EXP + 16];
	size_t n;

	if (s == floor(s) && s < 1e15)
		return papyra_buf_printf(out, "%.0f", s);
	snprintf(tmp, sizeof(tmp), "%.6f", s);
	n = strlen(tmp);
	while (n > 0 && tmp[n - 1] == '0')
		tmp[--n] = '\0';
	if (n > 0 && tmp[n - 1] == '.')
		tmp[--n] = '\0';
	return papyra_buf_puts(out, tmp);
}

int papyra_retention_format(const struct papyra_retention *r,
			    struct papyra_buf *out)
{
	int rc;

	if (r->max_records >= 0)
		rc = papyra_buf_printf(out, "max_records=%lld",
				       (long long)r->max_records);
	else
		rc = papyra_buf_puts(out, "max_records=none");
	if (rc == 0)
		rc = papyra_buf_puts(out, " max_age=");
	if (rc == 0)
		rc = r->max_age >= 0 ? format_seconds(r->max_age, out)
				     : papyra_buf_puts(out, "none");
	if (rc == 0) {
		if (r->max_bytes >= 0)
			rc = papyra_buf_printf(out, " max_bytes=%lld\n",
					       (long long)r->max_bytes);
		else
			rc = papyra_buf_puts(out, " max_bytes=none\n");
	}
	return rc;
}
