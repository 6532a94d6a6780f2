/*
 * The log nodes: records and <kind>/log.  Reads are served from the
 * backend's live view of the kind; every write appends, whatever its
 * offset, through one appender per open file so that a record may arrive
 * in several write requests.  Errors of a final unterminated line come
 * from flush, which is where close() gets its errno.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <syslog.h>

#include "kind.h"
#include "tree.h"

static const char *log_name(const struct node *n)
{
	return n->path + 1;
}

static int log_open(struct papyrafs *st, struct handle *h, int flags)
{
	if ((flags & O_ACCMODE) == O_RDONLY)
		return 0;
	h->app = papyra_appender_new(st->backend, h->node->arg);
	return h->app ? 0 : -ENOMEM;
}

static int log_read(struct papyrafs *st, struct handle *h, char *buf,
		    size_t size, off_t off)
{
	struct papyra_error err;
	size_t got = 0;
	int rc;

	if (off < 0)
		return -EINVAL;
	papyra_error_clear(&err);
	rc = papyra_backend_read(st->backend, h->node->arg, (uint64_t)off, buf,
				 size, &got, &err);
	if (rc < 0) {
		papyrafs_log(st, LOG_ERR, "%s: read failed: %s",
			     log_name(h->node), err.message);
		return rc;
	}
	return (int)got;
}

/* Refused records are the writer's problem, but SPEC wants them logged. */
static void log_append_error(struct papyrafs *st, const struct node *n,
			     const struct papyra_error *err, int rc)
{
	int prio = (rc == -EINVAL || rc == -EMSGSIZE) ? LOG_NOTICE : LOG_ERR;

	papyrafs_log(st, prio, "%s: append refused: %s", log_name(n),
		     err->message[0] ? err->message : strerror(-rc));
}

static int log_write(struct papyrafs *st, struct handle *h, const char *buf,
		     size_t size)
{
	struct papyra_error err;
	int rc;

	if (!h->app)
		return -EBADF;
	papyra_error_clear(&err);
	rc = papyra_appender_write(h->app, buf, size, &err);
	if (rc < 0) {
		log_append_error(st, h->node, &err, rc);
		return rc;
	}
	return (int)size;
}

static int log_flush(struct papyrafs *st, struct handle *h)
{
	struct papyra_error err;
	int rc;

	if (!h->app)
		return 0;
	papyra_error_clear(&err);
	rc = papyra_appender_finish(h->app, &err);
	if (rc < 0)
		log_append_error(st, h->node, &err, rc);
	return rc;
}

static void log_release(struct papyrafs *st, struct handle *h)
{
	/* flush already finished the stream; this catches a lost flush. */
	log_flush(st, h);
	papyra_appender_free(h->app);
	h->app = NULL;
}

/* A log cannot be overwritten: `>` would lose records, `>>` appends. */
static int log_truncate(struct papyrafs *st, const struct node *n, off_t size)
{
	(void)st;
	(void)n;
	(void)size;
	return -EPERM;
}

static uint64_t log_size(struct papyrafs *st, const struct node *n)
{
	return papyra_backend_size(st->backend, n->arg);
}

const struct node_ops node_log_ops = {
	.open = log_open,
	.read = log_read,
	.write = log_write,
	.flush = log_flush,
	.release = log_release,
	.truncate = log_truncate,
	.size = log_size,
};
