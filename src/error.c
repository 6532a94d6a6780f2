/*
 * Filling struct papyra_error.  Kept apart so every module reports the same
 * way and the CLI and daemon have one place to read messages from.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void papyra_error_clear(struct papyra_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->line = 0;
	err->offset = 0;
	err->message[0] = '\0';
}

static void set_message(struct papyra_error *err, const char *fmt, va_list ap)
{
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int papyra_error_set(struct papyra_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->line = 0;
	err->offset = 0;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return code;
}

int papyra_error_set_at(struct papyra_error *err, int code, uint64_t line,
			uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->line = line;
	err->offset = offset;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return code;
}
