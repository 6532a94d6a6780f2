/*
 * From a line a user wrote to the stored record.  papyra_line_classify
 * decides whether the line is JSON at all; this file applies the rules of
 * the log it was written to (a kind's log sets the kind and refuses any
 * other; "records" needs a known one) and builds the stored form with
 * json-c: "kind" first, an added "timestamp" right after it, then the other
 * members in their original order, duplicates collapsed to the last value
 * as a JSON reader would.  Member values are copied as written, only with
 * whitespace removed, so numbers keep their text (json-c would clamp big
 * integers and turn -0 into 0) and strings keep their escapes.  The stored
 * line is classified again before it is handed out, so an append can never
 * store what a scan would call an anomaly.
 */
#include "config.h"

#include "record.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kind.h"
#include "line.h"

#define STORE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

double papyra_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return (double)time(NULL);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- walking a line already known to be valid JSON --------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at the opening quote of a valid string: the byte after the closing one. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return end;
}

/* p at a valid value: the byte after it. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		char c = *p;

		if (c == '"') {
			p = skip_string(p, end);
			if (depth == 0)
				return p;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return p; /* the enclosing object's end */
			if (--depth == 0)
				return p + 1;
		} else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' ||
					  c == '\n' || c == '\r')) {
			return p; /* end of a number or literal */
		}
		p++;
	}
	return p;
}

/*
 * Copy raw[0..len) to dst without whitespace outside strings; returns the
 * bytes written (at most len).  No terminating NUL.
 */
static size_t compact_into(char *dst, const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;
	char *q = dst;

	while (p < end) {
		if (*p == '"') {
			const char *s = skip_string(p, end);

			memcpy(q, p, (size_t)(s - p));
			q += s - p;
			p = s;
		} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			p++;
		} else {
			*q++ = *p++;
		}
	}
	return (size_t)(q - dst);
}

/* The value text raw[0..len) compacted, malloc'd and NUL-terminated. */
static char *compact(const char *raw, size_t len)
{
	char *dst = malloc(len + 1);

	if (dst)
		dst[compact_into(dst, raw, len)] = '\0';
	return dst;
}

struct member {
	const char *name;  /* the raw string, quotes included */
	size_t name_len;
	const char *value; /* the raw value */
	size_t value_len;
};

/*
 * The members of the valid object text line[0..len) in order.  *members is
 * malloc'd (NULL when there are none); returns the count or -ENOMEM.
 */
static long split_members(const char *line, size_t len, struct member **members)
{
	const char *p = line, *end = line + len;
	struct member *m = NULL;
	size_t n = 0, cap = 0;

	*members = NULL;
	p = skip_ws(p, end) + 1; /* '{' */
	for (;;) {
		p = skip_ws(p, end);
		if (p >= end || *p == '}')
			break;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 8;
			struct member *q = realloc(m, c * sizeof(*m));

			if (!q) {
				free(m);
				return -ENOMEM;
			}
			m = q;
			cap = c;
		}
		m[n].name = p;
		p = skip_string(p, end);
		m[n].name_len = (size_t)(p - m[n].name);
		p = skip_ws(p, end) + 1; /* ':' */
		p = skip_ws(p, end);
		m[n].value = p;
		p = skip_value(p, end);
		m[n].value_len = (size_t)(p - m[n].value);
		n++;
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
	*members = m;
	return (long)n;
}

/*
 * Decode the JSON string text raw[0..len) (quotes included) with json-c.
 * Returns a malloc'd NUL-terminated copy and its length in *out_len, or
 * NULL on ENOMEM.
 */
static char *decode(const char *raw, size_t len, size_t *out_len)
{
	struct json_tokener *tok;
	struct json_object *o;
	char *s = NULL;

	if (!memchr(raw, '\\', len)) {
		s = malloc(len - 1);
		if (s) {
			memcpy(s, raw + 1, len - 2);
			s[len - 2] = '\0';
			*out_len = len - 2;
		}
		return s;
	}
	/*
	 * A fresh tokener each time: json_tokener_reset() in json-c 0.16
	 * keeps a pending "\ud800" of the last input, which would corrupt
	 * the next \u escape.
	 */
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, raw, (int)len);
	json_tokener_free(tok);
	if (o && json_object_is_type(o, json_type_string)) {
		size_t n = (size_t)json_object_get_string_len(o);

		s = malloc(n + 1);
		if (s) {
			memcpy(s, json_object_get_string(o), n);
			s[n] = '\0';
			*out_len = n;
		}
	}
	json_object_put(o);
	return s;
}

/* json-c serializer for a member value: the compacted text as written. */
static int write_raw(struct json_object *jso, struct printbuf *pb, int level,
		     int flags)
{
	const char *text = json_object_get_userdata(jso);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, text, (int)strlen(text));
}

/* A json-c value that serializes as text (owned by it from now on). */
static struct json_object *raw_value(char *text)
{
	struct json_object *o = json_object_new_string("");

	if (!o) {
		free(text);
		return NULL;
	}
	json_object_set_serializer(o, write_raw, text, json_object_free_userdata);
	return o;
}

/* --- the direct build --------------------------------------------------- */

/*
 * Most records name their members without escapes.  Then a name as
 * written is the name itself, and so is the text json-c would write for it
 * (it escapes only '"', '\\' and control characters, none of which can
 * appear raw in a valid name), so the stored form can be put together
 * from the line's own bytes: no decoding, no json-c objects, no
 * allocation.  Lines with an escaped name, or more members than a
 * quadratic search for duplicates should take, go through json-c.
 */
#define DIRECT_MAX_MEMBERS 64

static int plain_name(const struct member *m)
{
	return !memchr(m->name, '\\', m->name_len);
}

static int same_name(const struct member *a, const struct member *b)
{
	return a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0;
}

static int name_is(const struct member *m, const char *lit, size_t n)
{
	return m->name_len == n + 2 && memcmp(m->name + 1, lit, n) == 0;
}

/* Append raw[0..len) compacted to out, which has room reserved for it. */
static void put_compact(struct papyra_buf *out, const char *raw, size_t len)
{
	out->len += compact_into(out->data + out->len, raw, len);
	out->data[out->len] = '\0';
}

/*
 * The stored form, json-c's layout exactly: "kind", the added timestamp,
 * then every other name at its first place with its last value.  Appends
 * to out; -ENOMEM leaves out as it was.
 */
static int build_direct(size_t len, const struct member *m, long n, int kind,
			const struct member *ts_m, double now,
			struct papyra_buf *out)
{
	const char *name = papyra_kind_name(kind);
	char stamp[64];
	int stamp_len = 0;

	if (!ts_m)
		stamp_len = snprintf(stamp, sizeof(stamp), "%.6f", now);
	/* The members take no more than they did in the line (len); the
	   rest is the kind, the stamp and their punctuation. */
	if (papyra_buf_reserve(out, len + strlen(name) + (size_t)stamp_len +
				    sizeof("{\"kind\":\"\",\"timestamp\":}")) < 0)
		return -ENOMEM;
	papyra_buf_append(out, "{\"kind\":\"", 9);
	papyra_buf_append(out, name, strlen(name));
	papyra_buf_append(out, "\"", 1);
	if (!ts_m) {
		papyra_buf_append(out, ",\"timestamp\":", 13);
		papyra_buf_append(out, stamp, (size_t)stamp_len);
	}
	for (long i = 0; i < n; i++) {
		const struct member *last = &m[i];
		int first = 1;

		if (name_is(&m[i], "kind", 4))
			continue;
		for (long j = 0; j < i && first; j++)
			first = !same_name(&m[j], &m[i]);
		if (!first)
			continue;
		for (long j = i + 1; j < n; j++)
			if (same_name(&m[j], &m[i]))
				last = &m[j];
		papyra_buf_append(out, ",", 1);
		papyra_buf_append(out, m[i].name, m[i].name_len);
		papyra_buf_append(out, ":", 1);
		put_compact(out, last->value, last->value_len);
	}
	papyra_buf_append(out, "}", 1);
	return 0;
}

/* --- the rules --------------------------------------------------------- */

/* "line is not valid JSON (...)" and friends from a CORRUPTED_LINE detail. */
static int corrupted(const struct papyra_line_class *c, struct papyra_error *err)
{
	if (strcmp(c->detail, "empty line") == 0)
		return papyra_error_set(err, -EINVAL, "line is empty");
	if (strncmp(c->detail, "blank line", 10) == 0)
		return papyra_error_set(err, -EINVAL, "line is blank");
	if (strncmp(c->detail, "not valid JSON", 14) == 0 ||
	    strncmp(c->detail, "not valid UTF-8", 15) == 0)
		return papyra_error_set(err, -EINVAL, "line is %s", c->detail);
	return papyra_error_set(err, -EINVAL, "line %s", c->detail);
}

/* A kind's log as the tree names it: events/log, dead_letters/log... */
static const char *log_name(int kind)
{
	static const char *const names[PAPYRA_KIND_COUNT] = {
		"events/log", "audits/log", "dead_letters/log", "metrics/log",
	};

	return kind >= 0 && kind < PAPYRA_KIND_COUNT ? names[kind] : "records";
}

/*
 * The stored form through json-c, for lines with escaped member names:
 * names are decoded (json-c writes them back with its own escaping) and
 * duplicates collapse in a json-c object.  Appends to out; returns 0,
 * -ENOMEM, or -EINVAL with err set.
 */
static int build_jsonc(const struct member *m, long n,
		       const struct member *kind_m, const struct member *ts_m,
		       int kind, double now, struct papyra_buf *out,
		       struct papyra_error *err)
{
	struct json_object *obj = json_object_new_object();
	const char *text;
	size_t text_len;
	int rc;

	/* Build: kind, the added timestamp, then the rest in order. */
	rc = obj ? json_object_object_add(obj, "kind",
					  json_object_new_string(papyra_kind_name(kind)))
		 : -1;
	if (rc == 0 && !ts_m) {
		char stamp[64];

		snprintf(stamp, sizeof(stamp), "%.6f", now);
		rc = json_object_object_add(obj, "timestamp",
					    json_object_new_double_s(now, stamp));
	}
	for (long i = 0; rc == 0 && i < n; i++) {
		size_t l;
		char *name, *value;

		if (&m[i] == kind_m)
			continue;
		name = decode(m[i].name, m[i].name_len, &l);
		if (!name) {
			rc = -1;
			break;
		}
		if (strlen(name) != l || (l == 4 && memcmp(name, "kind", 4) == 0)) {
			/*
			 * json-c keys are C strings: a name holding U+0000
			 * cannot be stored without changing it.  (Earlier
			 * duplicates of "kind" are dropped; the last one is
			 * the kind already written.)
			 */
			int nul = strlen(name) != l;

			free(name);
			if (!nul)
				continue;
			json_object_put(obj);
			return papyra_error_set(err, -EINVAL,
						"member name with \\u0000 cannot be stored");
		}
		value = compact(m[i].value, m[i].value_len);
		rc = value ? json_object_object_add(obj, name, raw_value(value)) : -1;
		free(name);
	}
	text = rc == 0 ? json_object_to_json_string_length(obj, STORE_FLAGS,
							   &text_len)
		       : NULL;
	rc = text ? papyra_buf_append(out, text, text_len) : -ENOMEM;
	json_object_put(obj);
	return rc;
}

static int canonicalize(const char *line, size_t len, int forced_kind,
			size_t max_record, double now, int allow_direct,
			struct papyra_buf *out, struct papyra_record_info *info,
			struct papyra_error *err)
{
	struct papyra_line_class cls;
	struct member *m = NULL;
	const struct member *kind_m = NULL, *ts_m = NULL;
	char *kind_value = NULL;
	const char *text;
	size_t text_len, kind_len = 0, start = out->len;
	long n;
	int kind, rc, direct;

	if (len > max_record)
		return papyra_error_set(err, -EMSGSIZE,
					"record is %zu bytes, longer than max_record (%zu)",
					len, max_record);
	papyra_line_classify(line, len, &cls);
	if (cls.type == PAPYRA_ANOMALY_CORRUPTED_LINE)
		return corrupted(&cls, err);
	if (*skip_ws(line, line + len) != '{')
		return papyra_error_set(err, -EINVAL, "line is %s", cls.detail);

	n = split_members(line, len, &m);
	if (n < 0) {
		rc = papyra_error_set(err, -ENOMEM, "out of memory");
		goto done;
	}

	direct = allow_direct && n <= DIRECT_MAX_MEMBERS;
	for (long i = 0; direct && i < n; i++)
		direct = plain_name(&m[i]);

	/* Which members are "kind" and "timestamp" (the last of each wins). */
	for (long i = 0; direct && i < n; i++) {
		if (name_is(&m[i], "kind", 4))
			kind_m = &m[i];
		else if (name_is(&m[i], "timestamp", 9))
			ts_m = &m[i];
	}
	for (long i = 0; !direct && i < n; i++) {
		size_t l;
		char *name = decode(m[i].name, m[i].name_len, &l);

		if (!name) {
			rc = papyra_error_set(err, -ENOMEM, "out of memory");
			goto done;
		}
		if (l == 4 && memcmp(name, "kind", 4) == 0)
			kind_m = &m[i];
		else if (l == 9 && memcmp(name, "timestamp", 9) == 0)
			ts_m = &m[i];
		free(name);
	}

	kind = forced_kind;
	if (kind_m && *kind_m->value != '"') {
		rc = papyra_error_set(err, -EINVAL, "\"kind\" is not a string");
		goto done;
	}
	if (kind_m) {
		kind_value = decode(kind_m->value, kind_m->value_len, &kind_len);
		if (!kind_value) {
			rc = papyra_error_set(err, -ENOMEM, "out of memory");
			goto done;
		}
		kind = papyra_kind_parse(kind_value, kind_len);
		if (forced_kind != PAPYRA_KIND_ANY && kind != forced_kind) {
			rc = papyra_error_set(err, -EINVAL,
					      "kind '%.64s' does not belong in %s "
					      "(it takes kind '%s')",
					      kind_value, log_name(forced_kind),
					      papyra_kind_name(forced_kind));
			goto done;
		}
		if (kind < 0) {
			rc = papyra_error_set(err, -EINVAL,
					      "unknown kind '%.64s' (kinds: event, "
					      "audit, dead_letter, metric)",
					      kind_value);
			goto done;
		}
	} else if (forced_kind == PAPYRA_KIND_ANY) {
		rc = papyra_error_set(err, -EINVAL,
				      "line has no \"kind\" (records needs one of "
				      "event, audit, dead_letter, metric)");
		goto done;
	}
	if (ts_m && *ts_m->value != '-' &&
	    !(*ts_m->value >= '0' && *ts_m->value <= '9')) {
		rc = papyra_error_set(err, -EINVAL, "\"timestamp\" is not a number");
		goto done;
	}

	rc = direct ? build_direct(len, m, n, kind, ts_m, now, out)
		    : build_jsonc(m, n, kind_m, ts_m, kind, now, out, err);
	if (rc < 0) {
		if (rc == -ENOMEM)
			papyra_error_set(err, rc, "out of memory");
		goto done;
	}
	text = out->data + start;
	text_len = out->len - start;
	if (text_len > max_record) {
		rc = papyra_error_set(err, -EMSGSIZE,
				      "record is %zu bytes as stored, longer than "
				      "max_record (%zu)", text_len, max_record);
		goto done;
	}
	/* The stored line must be a record by the scan's own judgement. */
	papyra_line_classify(text, text_len, &cls);
	if (cls.type != PAPYRA_ANOMALY_NONE) {
		rc = papyra_error_set(err, -EINVAL, "record cannot be stored: %s",
				      cls.detail);
		goto done;
	}
	rc = papyra_buf_append(out, "\n", 1);
	if (rc < 0) {
		rc = papyra_error_set(err, -ENOMEM, "out of memory");
		goto done;
	}
	if (info) {
		info->kind = cls.kind;
		info->timestamp = cls.timestamp;
		info->length = text_len + 1;
	}
	rc = 0;
done:
	if (rc < 0 && out->len > start) {
		/* the stored form was built in place: take it back */
		out->len = start;
		out->data[start] = '\0';
	}
	free(kind_value);
	free(m);
	return rc;
}

int papyra_record_canonicalize(const char *line, size_t len, int forced_kind,
			       size_t max_record, double now,
			       struct papyra_buf *out,
			       struct papyra_record_info *info,
			       struct papyra_error *err)
{
	return canonicalize(line, len, forced_kind, max_record, now, 1, out,
			    info, err);
}

int papyra_record_canonicalize_jsonc(const char *line, size_t len,
				     int forced_kind, size_t max_record,
				     double now, struct papyra_buf *out,
				     struct papyra_record_info *info,
				     struct papyra_error *err)
{
	return canonicalize(line, len, forced_kind, max_record, now, 0, out,
			    info, err);
}
