/*
 * An independent judge of one stored line, for the damage test and the
 * classifier fuzz harness: json-c parses the line in strict mode with UTF-8
 * validation, then a token walk over the accepted text tightens json-c to
 * RFC 8259 where json-c 0.16 is known to be lenient, and the kind and
 * timestamp rules of SPEC §5 are applied to json-c's document.  It shares no
 * code with src/line.c, so agreement between the two means something.
 *
 * The json-c leniencies tightened here (each one a known deviation from
 * RFC 8259, see test_jsonc_differences in check_records.c):
 *   1. numbers: leading zeros ("00", "-01"), a bare fraction point ("1."),
 *      and whatever else strtod takes that the RFC grammar does not;
 *   2. NaN, Infinity, -Infinity;
 *   3. raw control characters (< 0x20) inside strings;
 *   4. UTF-8 that is overlong, encodes a surrogate, or goes past U+10FFFF;
 *   6. single-quoted member names: JSON_TOKENER_STRICT refuses 'x' as a
 *      value but still takes {'x':1} (found by fuzz_classify).
 * Also decided by the project rather than json-c: a NUL byte anywhere is
 * CORRUPTED_LINE (json-c stops reading at one), a blank line is
 * CORRUPTED_LINE, and nesting deeper than PAPYRA_LINE_MAX_DEPTH is
 * CORRUPTED_LINE.
 *
 * The header is included by exactly one file per program (static functions).
 */
#ifndef PAPYRA_TEST_JUDGE_H
#define PAPYRA_TEST_JUDGE_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "line.h"

struct judgement {
	enum papyra_anomaly_type type; /* never TRUNCATED_LINE */
	int kind;                      /* when type is NONE */
	int has_timestamp;
	int timestamp_exact;           /* timestamp below is comparable */
	double timestamp;
	int deviation;                 /* json-c accepted, RFC refused: 1..6 */
	int key_nul;                   /* a member name holds \u0000: json-c
					  cuts names at NUL, kind/timestamp
					  facts are not comparable */
};

static int judge_utf8(const unsigned char *s, size_t len, size_t i)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp;
	size_t n;

	if (s[i] < 0xc0)
		return 0;
	n = s[i] < 0xe0 ? 2 : s[i] < 0xf0 ? 3 : s[i] < 0xf8 ? 4 : 0;
	if (!n)
		return 0;
	cp = s[i] & (0x7f >> n);
	for (size_t k = 1; k < n; k++) {
		if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i + k] & 0x3f);
	}
	if (cp < min[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return (int)n;
}

/* RFC 8259 number grammar over s[0..n). */
static int judge_number_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		return 0;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return 0;
	}
	if (i < n && s[i] == '.') {
		size_t d = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

/*
 * Walk text json-c accepted and return the first RFC rule json-c let
 * through (1..4 and 6 as above, 5 nesting too deep), 0 when none.  Also notes a
 * member name holding \u0000.
 */
static int judge_tighten(const unsigned char *s, size_t len, int *key_nul)
{
	int depth = 0, maxdepth = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];

		if (c == '"') {
			int nul = 0;

			i++;

			while (i < len && s[i] != '"') {
				if (s[i] == '\\') {
					if (i + 5 < len && s[i + 1] == 'u' &&
					    !memcmp(s + i + 2, "0000", 4))
						nul = 1;
					i += s[i + 1] == 'u' ? 6 : 2;
				} else if (s[i] < 0x20) {
					return 3;
				} else if (s[i] >= 0x80) {
					int n = judge_utf8(s, len, i);

					if (!n)
						return 4;
					i += (size_t)n;
				} else {
					i++;
				}
			}
			i++;
			if (nul) {
				/* a member name is followed by ':' */
				size_t j = i;

				while (j < len && strchr(" \t\r\n", s[j]) && s[j])
					j++;
				if (j < len && s[j] == ':')
					*key_nul = 1;
			}
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i;

			while (j < len && s[j] && strchr("0123456789+-.eE", s[j]))
				j++;
			if (!judge_number_ok(s + i, j - i))
				return 1;
			i = j;
		} else if (c == '\'') {
			/* outside a "string": the start of a single-quoted one */
			return 6;
		} else if (c == 'N' || c == 'I' || c == 'i' ||
			   (c == 'n' && i + 1 < len && s[i + 1] == 'a')) {
			return 2;
		} else {
			if (c == '{' || c == '[') {
				if (++depth > maxdepth)
					maxdepth = depth;
			} else if (c == '}' || c == ']') {
				depth--;
			}
			i++;
		}
	}
	return maxdepth > PAPYRA_LINE_MAX_DEPTH ? 5 : 0;
}

/* json-c strict over line[0..len), whole input consumed; NULL when refused. */
static int judge_jsonc(const char *line, size_t len, struct json_object **obj)
{
	struct json_tokener *tok = json_tokener_new_ex(4 * PAPYRA_LINE_MAX_DEPTH);
	char *copy = malloc(len + 1);
	size_t end;
	int ok;

	if (!tok || !copy)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	memcpy(copy, line, len);
	copy[len] = '\0';
	/* The NUL marks the end of input so top-level scalars complete. */
	*obj = json_tokener_parse_ex(tok, copy, (int)len + 1);
	ok = json_tokener_get_error(tok) == json_tokener_success;
	end = json_tokener_get_parse_end(tok);
	for (size_t i = end; ok && i < len; i++)
		if (!strchr(" \t\r\n", copy[i]))
			ok = 0;
	free(copy);
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(*obj);
		*obj = NULL;
	}
	return ok;
}

static void judge_line(const char *line, size_t len, struct judgement *j)
{
	struct json_object *o = NULL, *k, *t;

	memset(j, 0, sizeof(*j));
	j->kind = -1;
	j->type = PAPYRA_ANOMALY_CORRUPTED_LINE;
	if (len > (size_t)INT32_MAX - 1 || memchr(line, '\0', len))
		return;
	if (!judge_jsonc(line, len, &o))
		return;
	j->deviation = judge_tighten((const unsigned char *)line, len, &j->key_nul);
	if (j->deviation)
		goto out;
	if (!o || !json_object_is_type(o, json_type_object)) {
		j->type = PAPYRA_ANOMALY_STRUCTURAL;
		goto out;
	}
	if (!json_object_object_get_ex(o, "kind", &k) ||
	    !json_object_is_type(k, json_type_string)) {
		j->type = PAPYRA_ANOMALY_STRUCTURAL;
		goto out;
	}
	j->kind = papyra_kind_parse(json_object_get_string(k),
				    (size_t)json_object_get_string_len(k));
	if (j->kind < 0) {
		j->type = PAPYRA_ANOMALY_UNKNOWN_KIND;
		goto out;
	}
	if (json_object_object_get_ex(o, "timestamp", &t)) {
		if (json_object_is_type(t, json_type_double)) {
			j->has_timestamp = 1;
			j->timestamp = json_object_get_double(t);
			j->timestamp_exact = 1;
		} else if (json_object_is_type(t, json_type_int)) {
			int64_t v = json_object_get_int64(t);

			j->has_timestamp = 1;
			j->timestamp = (double)v;
			/* json-c saturates big integers at INT64_MIN/MAX */
			j->timestamp_exact = v > -(INT64_C(1) << 53) &&
					     v < (INT64_C(1) << 53);
		} else {
			j->kind = -1;
			j->type = PAPYRA_ANOMALY_STRUCTURAL;
			goto out;
		}
	}
	j->type = PAPYRA_ANOMALY_NONE;
out:
	json_object_put(o);
}

#endif
