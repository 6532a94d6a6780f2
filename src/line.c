/*
 * The judge of a stored line: a single-pass validating scanner for RFC 8259
 * JSON with strict UTF-8, which at the same time picks out the top-level
 * "kind" and "timestamp" members.  It builds no document and allocates
 * nothing, because a mount runs it over every line of the file.  String
 * bodies, where most of a record's bytes are, are skipped 16 or 8 bytes at
 * a time; everything else is a small state machine over a bit stack of
 * open containers.
 *
 * Map: character classes and helpers; strings (fast skip, escapes, UTF-8);
 * numbers; the grammar walk; member facts (kind and timestamp decoding);
 * papyra_line_classify.
 */
#include "config.h"

#include "line.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* --- character classes and helpers ----------------------------------- */

const char *papyra_anomaly_name(enum papyra_anomaly_type type)
{
	switch (type) {
	case PAPYRA_ANOMALY_NONE:           return "NONE";
	case PAPYRA_ANOMALY_TRUNCATED_LINE: return "TRUNCATED_LINE";
	case PAPYRA_ANOMALY_CORRUPTED_LINE: return "CORRUPTED_LINE";
	case PAPYRA_ANOMALY_UNKNOWN_KIND:   return "UNKNOWN_KIND";
	case PAPYRA_ANOMALY_STRUCTURAL:     return "STRUCTURAL";
	}
	return "NONE";
}

/* RFC 8259 insignificant whitespace: space, tab, line feed, return. */
static inline int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* What a member of the top-level object is to us. */
enum member_id { MEMBER_OTHER = 0, MEMBER_KIND, MEMBER_TIMESTAMP };

/* The JSON type of a value, from its first byte (the value is valid). */
static const char *type_name(unsigned char first)
{
	switch (first) {
	case '{': return "an object";
	case '[': return "an array";
	case '"': return "a string";
	case 't':
	case 'f': return "a boolean";
	case 'n': return "null";
	default:  return "a number";
	}
}

/* A scan in progress: the line and where a failure was found. */
struct scanner {
	const unsigned char *start;
	const unsigned char *end;
	struct papyra_line_class *out;
};

static void set_detail(struct papyra_line_class *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_detail(struct papyra_line_class *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
}

/*
 * Record why the line is not JSON, p pointing at the offending byte (or at
 * the end).  Columns are 1-based bytes, as an editor shows them.
 */
static void fail_at(struct scanner *s, const unsigned char *p, const char *what)
{
	unsigned long col = (unsigned long)(p - s->start) + 1;

	s->out->type = PAPYRA_ANOMALY_CORRUPTED_LINE;
	if (p >= s->end)
		set_detail(s->out, "not valid JSON (%s: the line ends at column %lu)",
			   what, col);
	else if (*p == 0)
		set_detail(s->out, "contains a NUL byte at column %lu", col);
	else if (*p < 0x20 || *p >= 0x7f)
		set_detail(s->out, "not valid JSON (%s: byte 0x%02x at column %lu)",
			   what, *p, col);
	else
		set_detail(s->out, "not valid JSON (%s: '%c' at column %lu)",
			   what, *p, col);
}

/* --- strings ----------------------------------------------------------- */

/*
 * Length of the valid UTF-8 sequence at p (p < end, *p >= 0x80), or 0.
 * RFC 3629: no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF.
 */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t avail = (size_t)(end - p);
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf) {
		if (avail < 2 || (p[1] & 0xc0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			lo = 0xa0;        /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f;        /* U+D800..U+DFFF */
		if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			lo = 0x90;        /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f;        /* past U+10FFFF */
		if (avail < 4 || p[1] < lo || p[1] > hi ||
		    (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0; /* continuation byte, C0, C1, F5..FF */
}

/*
 * Skip the run of bytes that need no attention inside a string: anything
 * but '"', '\\', a control character or a non-ASCII byte.  Returns the
 * first byte that needs a look (or end).
 */
static inline const unsigned char *skip_plain(const unsigned char *p,
					      const unsigned char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/*
		 * A signed compare with 0x20 catches control characters and,
		 * as negative numbers, every byte >= 0x80 in one go.
		 */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
						      _mm_cmpeq_epi8(v, bslash)),
					 _mm_cmplt_epi8(v, space));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);

		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#else
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;

	while (end - p >= 8) {
		uint64_t v, q, b;

		memcpy(&v, p, 8);
		q = v ^ (ones * '"');
		b = v ^ (ones * '\\');
		/* Exact "any byte is zero / below 0x20 / high" tests. */
		if (((q - ones) & ~q & highs) || ((b - ones) & ~b & highs) ||
		    ((v - ones * 0x20) & ~v & highs) || (v & highs))
			break;
		p += 8;
	}
#endif
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}

/*
 * Validate the string whose opening quote is at p.  Returns the byte after
 * the closing quote, or NULL after fail_at().  *escaped tells whether the
 * body holds any escape (so its raw bytes are not its value).
 */
static const unsigned char *scan_string(struct scanner *s,
					const unsigned char *p, int *escaped)
{
	const unsigned char *end = s->end;

	p++;
	for (;;) {
		unsigned char c;

		p = skip_plain(p, end);
		if (p >= end) {
			fail_at(s, p, "unterminated string");
			return NULL;
		}
		c = *p;
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			*escaped = 1;
			if (end - p < 2) {
				fail_at(s, end, "unterminated string");
				return NULL;
			}
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				for (int i = 2; i < 6; i++) {
					if (p + i >= end || hex_value(p[i]) < 0) {
						fail_at(s, p + i, "bad \\u escape");
						return NULL;
					}
				}
				p += 6;
				continue;
			default:
				fail_at(s, p + 1, "bad escape");
				return NULL;
			}
		}
		if (c < 0x20) {
			fail_at(s, p, "control character in a string");
			return NULL;
		}
		/* c >= 0x80 */
		size_t n = utf8_sequence(p, end);

		if (!n) {
			s->out->type = PAPYRA_ANOMALY_CORRUPTED_LINE;
			set_detail(s->out, "not valid UTF-8 (byte 0x%02x at column %lu)",
				   c, (unsigned long)(p - s->start) + 1);
			return NULL;
		}
		p += n;
	}
}

/*
 * Decode the escapes of a valid string body raw[0..len) into dst (cap
 * bytes).  Returns the decoded length, or cap + 1 when it does not fit
 * (which is all a caller comparing with short names needs to know).
 */
static size_t decode_string(const unsigned char *raw, size_t len,
			    unsigned char *dst, size_t cap)
{
	size_t n = 0, i = 0;

	while (i < len) {
		unsigned char tmp[4];
		size_t k = 0;

		if (raw[i] != '\\') {
			tmp[k++] = raw[i++];
		} else {
			unsigned char e = raw[i + 1];
			unsigned long cp;

			i += 2;
			switch (e) {
			case 'b': tmp[k++] = '\b'; break;
			case 'f': tmp[k++] = '\f'; break;
			case 'n': tmp[k++] = '\n'; break;
			case 'r': tmp[k++] = '\r'; break;
			case 't': tmp[k++] = '\t'; break;
			case 'u':
				cp = 0;
				for (int j = 0; j < 4; j++)
					cp = cp * 16 + (unsigned long)hex_value(raw[i + j]);
				i += 4;
				/* A surrogate pair spelled as two escapes. */
				if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len &&
				    raw[i] == '\\' && raw[i + 1] == 'u') {
					unsigned long lo = 0;

					for (int j = 0; j < 4; j++)
						lo = lo * 16 + (unsigned long)hex_value(raw[i + 2 + j]);
					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						i += 6;
					}
				}
				if (cp < 0x80) {
					tmp[k++] = (unsigned char)cp;
				} else if (cp < 0x800) {
					tmp[k++] = (unsigned char)(0xc0 | (cp >> 6));
					tmp[k++] = (unsigned char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					/* A lone surrogate stays a 3-byte form; it can
					   never equal a name we look for. */
					tmp[k++] = (unsigned char)(0xe0 | (cp >> 12));
					tmp[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
					tmp[k++] = (unsigned char)(0x80 | (cp & 0x3f));
				} else {
					tmp[k++] = (unsigned char)(0xf0 | (cp >> 18));
					tmp[k++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
					tmp[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
					tmp[k++] = (unsigned char)(0x80 | (cp & 0x3f));
				}
				break;
			default: /* '"', '\\', '/' */
				tmp[k++] = e;
			}
		}
		if (n + k > cap)
			return cap + 1;
		memcpy(dst + n, tmp, k);
		n += k;
	}
	return n;
}

/* Which member the name raw[0..len) (a string body) is. */
static enum member_id member_of(const unsigned char *raw, size_t len,
				int escaped)
{
	unsigned char name[16];

	if (escaped) {
		len = decode_string(raw, len, name, sizeof(name));
		if (len > sizeof(name))
			return MEMBER_OTHER;
		raw = name;
	}
	if (len == 4 && memcmp(raw, "kind", 4) == 0)
		return MEMBER_KIND;
	if (len == 9 && memcmp(raw, "timestamp", 9) == 0)
		return MEMBER_TIMESTAMP;
	return MEMBER_OTHER;
}

/* --- numbers ----------------------------------------------------------- */

/*
 * Validate the number at p: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * Returns the byte after it or NULL after fail_at().  What follows is the
 * grammar walk's business ("01" fails there, at the '1').
 */
static const unsigned char *scan_number(struct scanner *s,
					const unsigned char *p)
{
	const unsigned char *end = s->end;

	if (*p == '-')
		p++;
	if (p >= end || !is_digit(*p)) {
		fail_at(s, p, "bad number");
		return NULL;
	}
	if (*p++ != '0')
		while (p < end && is_digit(*p))
			p++;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p)) {
			fail_at(s, p, "bad number");
			return NULL;
		}
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p)) {
			fail_at(s, p, "bad number");
			return NULL;
		}
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
}

/*
 * The value of a valid number text p[0..len) that is followed, inside the
 * line, by a byte that cannot continue it.  Exact powers of ten and a
 * mantissa under 2^53 give a correctly rounded result with one IEEE
 * operation (every realistic timestamp takes this path); the rest goes to
 * strtod, which stops at that following byte.  The core never changes the
 * locale, so strtod reads '.' as the decimal point.
 */
static double number_value(const unsigned char *p, size_t len)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	const unsigned char *q = p, *end = p + len;
	uint64_t mant = 0;
	int digits = 0, exp10 = 0, neg = 0;

	if (*q == '-') {
		neg = 1;
		q++;
	}
	for (; q < end && is_digit(*q); q++) {
		if (digits || *q != '0')
			digits++;
		mant = mant * 10 + (uint64_t)(*q - '0');
		if (digits > 19) /* uint64 holds any 19 digits */
			goto slow;
	}
	if (q < end && *q == '.') {
		for (q++; q < end && is_digit(*q); q++) {
			if (digits || *q != '0')
				digits++;
			mant = mant * 10 + (uint64_t)(*q - '0');
			exp10--;
			if (digits > 19) /* uint64 holds any 19 digits */
				goto slow;
		}
	}
	if (q < end) /* an exponent: rare in timestamps */
		goto slow;
	if (mant < ((uint64_t)1 << 53) && exp10 >= -22) {
		double v = (double)mant;

		v = exp10 < 0 ? v / pow10[-exp10] : v;
		return neg ? -v : v;
	}
slow:
	return strtod((const char *)p, NULL);
}

/* --- the grammar walk -------------------------------------------------- */

/* Facts about the top-level value gathered during the walk. */
struct facts {
	unsigned char top;                 /* first byte of the value */
	const unsigned char *kind;         /* last "kind" value, or NULL */
	const unsigned char *kind_end;
	int kind_escaped;
	const unsigned char *ts;           /* last "timestamp" value, or NULL */
	const unsigned char *ts_end;
};

/*
 * Walk the whole line.  Returns 1 when it is one valid JSON value with only
 * whitespace around it, 0 after fail_at().  Containers are tracked in a bit
 * stack (1 = object) so that nesting costs one bit per level.
 */
static int walk(struct scanner *s, struct facts *f)
{
	uint64_t stack[PAPYRA_LINE_MAX_DEPTH / 64];
	const unsigned char *p = s->start, *end = s->end;
	unsigned depth = 0;
	enum member_id pending = MEMBER_OTHER;
	int escaped;

	while (p < end && is_ws(*p))
		p++;
	if (p >= end) {
		s->out->type = PAPYRA_ANOMALY_CORRUPTED_LINE;
		set_detail(s->out, s->end == s->start ? "empty line"
			   : "blank line (only whitespace)");
		return 0;
	}
	f->top = *p;

value:
	while (p < end && is_ws(*p))
		p++;
	if (p >= end) {
		fail_at(s, p, "expected a value");
		return 0;
	}
	{
		const unsigned char *v = p;
		enum member_id which = pending;

		pending = MEMBER_OTHER;
		/* Last one wins, as in Python's json. */
		if (which == MEMBER_KIND)
			f->kind = v;
		else if (which == MEMBER_TIMESTAMP)
			f->ts = v;
		switch (*p) {
		case '{':
		case '[':
			if (depth >= PAPYRA_LINE_MAX_DEPTH) {
				fail_at(s, p, "nested too deep");
				return 0;
			}
			if (*p == '{')
				stack[depth / 64] |= (uint64_t)1 << (depth % 64);
			else
				stack[depth / 64] &= ~((uint64_t)1 << (depth % 64));
			depth++;
			p++;
			while (p < end && is_ws(*p))
				p++;
			if (*v == '{') {
				if (p < end && *p == '}') {
					p++;
					depth--;
					break;
				}
				goto member;
			}
			if (p < end && *p == ']') {
				p++;
				depth--;
				break;
			}
			goto value;
		case '"':
			escaped = 0;
			p = scan_string(s, p, &escaped);
			if (!p)
				return 0;
			if (which == MEMBER_KIND)
				f->kind_escaped = escaped;
			break;
		case 't':
			if (end - p < 4 || memcmp(p, "true", 4) != 0) {
				fail_at(s, p, "unexpected character");
				return 0;
			}
			p += 4;
			break;
		case 'f':
			if (end - p < 5 || memcmp(p, "false", 5) != 0) {
				fail_at(s, p, "unexpected character");
				return 0;
			}
			p += 5;
			break;
		case 'n':
			if (end - p < 4 || memcmp(p, "null", 4) != 0) {
				fail_at(s, p, "unexpected character");
				return 0;
			}
			p += 4;
			break;
		default:
			if (*p != '-' && !is_digit(*p)) {
				fail_at(s, p, "expected a value");
				return 0;
			}
			p = scan_number(s, p);
			if (!p)
				return 0;
		}
		/* A scalar's end (containers need only their first byte). */
		if (which == MEMBER_KIND)
			f->kind_end = p;
		else if (which == MEMBER_TIMESTAMP)
			f->ts_end = p;
	}

after:
	while (p < end && is_ws(*p))
		p++;
	if (depth == 0) {
		if (p < end) {
			fail_at(s, p, "unexpected data after the value");
			return 0;
		}
		return 1;
	}
	if (p >= end) {
		fail_at(s, p, "unclosed object or array");
		return 0;
	}
	if (stack[(depth - 1) / 64] & ((uint64_t)1 << ((depth - 1) % 64))) {
		if (*p == '}') {
			p++;
			depth--;
			goto after;
		}
		if (*p != ',') {
			fail_at(s, p, "expected ',' or '}'");
			return 0;
		}
		p++;
		while (p < end && is_ws(*p))
			p++;
		goto member;
	}
	if (*p == ']') {
		p++;
		depth--;
		goto after;
	}
	if (*p != ',') {
		fail_at(s, p, "expected ',' or ']'");
		return 0;
	}
	p++;
	goto value;

member:
	/* p is at the member name (whitespace skipped) */
	if (p >= end || *p != '"') {
		fail_at(s, p, "expected a member name");
		return 0;
	}
	{
		const unsigned char *name = p;

		escaped = 0;
		p = scan_string(s, p, &escaped);
		if (!p)
			return 0;
		if (depth == 1)
			pending = member_of(name + 1, (size_t)(p - name) - 2,
					    escaped);
	}
	while (p < end && is_ws(*p))
		p++;
	if (p >= end || *p != ':') {
		fail_at(s, p, "expected ':'");
		return 0;
	}
	p++;
	goto value;
}

/* --- member facts ------------------------------------------------------ */

/*
 * Quote a kind value for a message: its raw JSON text without the quotes,
 * cut at a character boundary so the detail stays valid UTF-8.
 */
static void quote_kind(const unsigned char *raw, size_t len, char *dst,
		       size_t cap)
{
	size_t n = len;
	const char *more = "";

	if (n > 48) {
		n = 48;
		while (n > 0 && (raw[n] & 0xc0) == 0x80)
			n--;
		more = "...";
	}
	snprintf(dst, cap, "%.*s%s", (int)n, (const char *)raw, more);
}

void papyra_line_classify(const char *line, size_t len,
			  struct papyra_line_class *out)
{
	struct scanner s = {
		.start = (const unsigned char *)line,
		.end = (const unsigned char *)line + len,
		.out = out,
	};
	struct facts f = { 0 };

	out->type = PAPYRA_ANOMALY_NONE;
	out->kind = -1;
	out->has_timestamp = 0;
	out->timestamp = NAN;
	out->detail[0] = '\0';

	if (!walk(&s, &f))
		return;

	if (f.top != '{') {
		out->type = PAPYRA_ANOMALY_STRUCTURAL;
		set_detail(out, "not a JSON object (%s)", type_name(f.top));
		return;
	}
	if (f.kind && *f.kind == '"') {
		const unsigned char *raw = f.kind + 1;
		size_t rlen = (size_t)(f.kind_end - f.kind) - 2;
		unsigned char name[16];
		size_t n = rlen;

		if (f.kind_escaped) {
			n = decode_string(raw, rlen, name, sizeof(name));
			out->kind = n > sizeof(name) ? -1
				  : papyra_kind_parse((const char *)name, n);
		} else {
			out->kind = papyra_kind_parse((const char *)raw, rlen);
		}
		if (out->kind < 0) {
			char shown[64];

			quote_kind(raw, rlen, shown, sizeof(shown));
			out->type = PAPYRA_ANOMALY_UNKNOWN_KIND;
			set_detail(out, "unknown kind '%s'", shown);
			return;
		}
	}
	if (!f.kind) {
		out->type = PAPYRA_ANOMALY_STRUCTURAL;
		set_detail(out, "no \"kind\" member");
		return;
	}
	if (*f.kind != '"') {
		out->type = PAPYRA_ANOMALY_STRUCTURAL;
		set_detail(out, "\"kind\" is not a string (%s)",
			   type_name(*f.kind));
		return;
	}
	if (f.ts) {
		if (*f.ts != '-' && !is_digit(*f.ts)) {
			out->kind = -1;
			out->type = PAPYRA_ANOMALY_STRUCTURAL;
			set_detail(out, "\"timestamp\" is not a number (%s)",
				   type_name(*f.ts));
			return;
		}
		out->has_timestamp = 1;
		out->timestamp = number_value(f.ts, (size_t)(f.ts_end - f.ts));
	}
}
