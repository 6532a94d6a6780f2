/*
 * The growable byte buffer behind every report and rendered file.  Growth
 * doubles so that building a large report stays linear.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int papyra_buf_reserve(struct papyra_buf *b, size_t extra)
{
	size_t need, cap;
	char *data;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int papyra_buf_append(struct papyra_buf *b, const void *data, size_t len)
{
	int rc = papyra_buf_reserve(b, len);

	if (rc < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int papyra_buf_puts(struct papyra_buf *b, const char *s)
{
	return papyra_buf_append(b, s, strlen(s));
}

int papyra_buf_printf(struct papyra_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = papyra_buf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int papyra_buf_json_string(struct papyra_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	int rc = papyra_buf_append(b, "\"", 1);

	for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
		char esc[7];

		switch (*p) {
		case '"':  rc = papyra_buf_append(b, "\\\"", 2); break;
		case '\\': rc = papyra_buf_append(b, "\\\\", 2); break;
		case '\n': rc = papyra_buf_append(b, "\\n", 2); break;
		case '\r': rc = papyra_buf_append(b, "\\r", 2); break;
		case '\t': rc = papyra_buf_append(b, "\\t", 2); break;
		default:
			if (*p < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				rc = papyra_buf_append(b, esc, 6);
			} else {
				rc = papyra_buf_append(b, p, 1);
			}
		}
	}
	return rc ? rc : papyra_buf_append(b, "\"", 1);
}

void papyra_buf_reset(struct papyra_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void papyra_buf_release(struct papyra_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
