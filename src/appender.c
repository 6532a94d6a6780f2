/*
 * Appenders: a write stream cut into records.  Complete lines are passed
 * to the backend as soon as their '\n' arrives, all the lines finished by
 * one write request in one append, so a request is stored whole or not at
 * all; the unterminated tail waits for the next request or for the end.
 */
#include "config.h"

#include "appender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct papyra_appender {
	struct papyra_backend *b;
	int forced_kind;
	struct papyra_buf pending; /* the unterminated tail of the stream */
};

struct papyra_appender *papyra_appender_new(struct papyra_backend *b,
					    int forced_kind)
{
	struct papyra_appender *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->b = b;
	a->forced_kind = forced_kind;
	return a;
}

void papyra_appender_free(struct papyra_appender *a)
{
	if (!a)
		return;
	papyra_buf_release(&a->pending);
	free(a);
}

static int too_long(struct papyra_appender *a, size_t len,
		    struct papyra_error *err)
{
	size_t max = papyra_backend_options(a->b)->max_record;

	papyra_buf_reset(&a->pending);
	papyra_metrics_add(papyra_backend_metrics(a->b),
			   PAPYRA_METRIC_RECORDS_REJECTED, 1);
	return papyra_error_set(err, -EMSGSIZE,
		"record too long: more than %zu bytes (%zu so far) without a "
		"newline; the limit is the max_record option", max, len);
}

int papyra_appender_write(struct papyra_appender *a, const char *data,
			  size_t len, struct papyra_error *err)
{
	size_t max = papyra_backend_options(a->b)->max_record;
	const char *last = len ? memrchr(data, '\n', len) : NULL;
	size_t done = last ? (size_t)(last - data) + 1 : 0;
	size_t rest = len - done;
	int rc = 0;

	if (!last) {
		if (a->pending.len + len > max)
			return too_long(a, a->pending.len + len, err);
		if (papyra_buf_append(&a->pending, data, len) < 0)
			return papyra_error_set(err, -ENOMEM, "out of memory");
		return 0;
	}
	if (rest > max)
		return too_long(a, rest, err);
	if (a->pending.len) {
		/* the tail so far, then this request's complete lines */
		if (papyra_buf_append(&a->pending, data, done) < 0) {
			papyra_buf_reset(&a->pending);
			return papyra_error_set(err, -ENOMEM, "out of memory");
		}
		rc = papyra_backend_append(a->b, a->forced_kind, a->pending.data,
					   a->pending.len, NULL, err);
	} else {
		rc = papyra_backend_append(a->b, a->forced_kind, data, done,
					   NULL, err);
	}
	papyra_buf_reset(&a->pending);
	if (rc < 0)
		return rc;
	if (rest && papyra_buf_append(&a->pending, data + done, rest) < 0)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	return 0;
}

int papyra_appender_finish(struct papyra_appender *a, struct papyra_error *err)
{
	int rc = 0;

	if (a->pending.len)
		rc = papyra_backend_append(a->b, a->forced_kind, a->pending.data,
					   a->pending.len, NULL, err);
	papyra_buf_reset(&a->pending);
	return rc;
}
