/*
 * Error reporting for the core library.  Library functions never print or
 * exit: they return 0 or a negative errno and, when given one, fill a
 * caller-owned struct papyra_error with a one-line message for the user
 * (lowercase, no full stop, the problem first) and, where it applies, the
 * line and byte offset the problem refers to.
 */
#ifndef PAPYRA_ERROR_H
#define PAPYRA_ERROR_H

#include <stdint.h>

struct papyra_error {
	int code;          /* negative errno; 0 when no error was recorded */
	uint64_t line;     /* 1-based line the error refers to, 0 if none */
	uint64_t offset;   /* 0-based byte offset of that line */
	char message[512]; /* NUL-terminated, empty when none */
};

/* Reset to "no error".  err may be NULL. */
void papyra_error_clear(struct papyra_error *err);

/*
 * Record an error and return code (a negative errno) so callers can write
 * `return papyra_error_set(err, -EINVAL, "...")`.  err may be NULL.
 */
int papyra_error_set(struct papyra_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like papyra_error_set, also recording the line and offset. */
int papyra_error_set_at(struct papyra_error *err, int code, uint64_t line,
			uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
