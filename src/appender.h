/*
 * An appender turns a stream of write requests into records.  A record may
 * arrive in several requests and one request may carry many records, so it
 * keeps the unterminated tail of the stream until its '\n' (or the end of
 * the stream) arrives.  One per open file handle in the daemon.
 */
#ifndef PAPYRA_APPENDER_H
#define PAPYRA_APPENDER_H

#include <stddef.h>

#include "backend.h"

struct papyra_appender;

/* NULL on ENOMEM.  forced_kind: a kind, or PAPYRA_KIND_ANY. */
struct papyra_appender *papyra_appender_new(struct papyra_backend *b,
					    int forced_kind);
void papyra_appender_free(struct papyra_appender *a); /* NULL allowed */

/*
 * Take one write request.  The complete lines it finishes (the pending tail
 * included) are appended together, or none of them is; the rest is kept.
 * On error nothing of this request is stored and the pending tail is
 * dropped (the line it began was refused or could not be written).  A
 * pending tail longer than max_record fails with -EMSGSIZE at once.
 */
int papyra_appender_write(struct papyra_appender *a, const char *data,
			  size_t len, struct papyra_error *err);

/* End of stream: append the pending unterminated line, if any. */
int papyra_appender_finish(struct papyra_appender *a, struct papyra_error *err);

#endif
