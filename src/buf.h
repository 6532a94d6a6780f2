/*
 * A growable byte buffer.  Reports, canonical record lines and rendered
 * files are all built into one of these; the data is always NUL-terminated
 * so it can be used as a C string, but len does not count the NUL.
 */
#ifndef PAPYRA_BUF_H
#define PAPYRA_BUF_H

#include <stddef.h>

struct papyra_buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes used, excluding the trailing NUL */
	size_t cap; /* bytes allocated */
};

#define PAPYRA_BUF_INIT { NULL, 0, 0 }

/* All return 0 or -ENOMEM; on -ENOMEM the buffer is unchanged. */
int papyra_buf_reserve(struct papyra_buf *b, size_t extra);
int papyra_buf_append(struct papyra_buf *b, const void *data, size_t len);
int papyra_buf_puts(struct papyra_buf *b, const char *s);
int papyra_buf_printf(struct papyra_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quotes included. */
int papyra_buf_json_string(struct papyra_buf *b, const char *s);
void papyra_buf_reset(struct papyra_buf *b);   /* len = 0, keeps memory */
void papyra_buf_release(struct papyra_buf *b); /* frees, back to INIT */

#endif
