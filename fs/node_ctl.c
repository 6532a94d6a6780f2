/*
 * The ctl nodes: each write runs one maintenance action and returns only
 * when it is complete (and durable, for the ones that write), so
 * `echo repair > ctl/recover && cat scan/status` sees the result.
 * compact and recover remember their last report for reading; retention
 * reads back the policy in force.  `>` truncates before writing, so
 * truncation to 0 is accepted and does nothing.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <syslog.h>

#include "maintenance.h"
#include "retention.h"
#include "tree.h"

/* Longest text a ctl file accepts; its commands are single words. */
#define CTL_MAX_TEXT 4096

static const char *ctl_name(const struct node *n)
{
	return n->path + 1;
}

/* Copy text[0..len) without surrounding blanks into a C string. */
static int trimmed(const char *text, size_t len, char *out, size_t outsize)
{
	while (len && isspace((unsigned char)text[0])) {
		text++;
		len--;
	}
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len >= outsize)
		return -EINVAL;
	if (memchr(text, '\0', len))
		return -EINVAL;
	memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

/* Replace *last with report, or with "failed: message" when rc < 0. */
static void remember(struct papyrafs *st, struct papyra_buf *last,
		     const struct papyra_buf *report, int rc,
		     const struct papyra_error *err)
{
	pthread_mutex_lock(&st->ctl_lock);
	papyra_buf_reset(last);
	if (report->len)
		papyra_buf_append(last, report->data, report->len);
	if (rc < 0)
		papyra_buf_printf(last, "failed: %s\n",
				  err->message[0] ? err->message
						  : strerror(-rc));
	pthread_mutex_unlock(&st->ctl_lock);
}

static int do_compact(struct papyrafs *st)
{
	struct papyra_compaction_report r;
	struct papyra_buf text = PAPYRA_BUF_INIT;
	struct papyra_error err;
	int rc;

	memset(&r, 0, sizeof(r));
	papyra_error_clear(&err);
	rc = papyra_backend_compact(st->backend, &r, &err);
	/* -EBUSY: someone else's action runs; its report is the one to keep */
	if (rc != -EBUSY) {
		if (rc == 0)
			papyra_compaction_report_text(&r, &text);
		remember(st, &st->last_compact, &text, rc, &err);
	}
	if (rc < 0)
		papyrafs_log(st, LOG_ERR, "compaction failed: %s", err.message);
	papyra_buf_release(&text);
	return rc;
}

static int do_recover(struct papyrafs *st, const char *mode_text)
{
	struct papyra_recovery_report r;
	struct papyra_buf text = PAPYRA_BUF_INIT;
	struct papyra_error err;
	enum papyra_recovery_mode mode;
	int rc;

	if (papyra_recovery_mode_parse(mode_text, &mode) < 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	papyra_error_clear(&err);
	if (mode == PAPYRA_RECOVERY_QUARANTINE && !st->opts.quarantine_dir) {
		/* refused before the backend sees it: same answer for both */
		rc = papyra_error_set(&err, -EINVAL,
				      "quarantine needs a quarantine directory: "
				      "mount with -o quarantine_dir=DIR, or "
				      "write repair");
		remember(st, &st->last_recover, &text, rc, &err);
		return rc;
	}
	rc = papyra_backend_recover(st->backend, mode, st->opts.quarantine_dir,
				    &r, &err);
	if (rc != -EBUSY) {
		if (rc == 0)
			papyra_recovery_report_text(&r, &text);
		remember(st, &st->last_recover, &text, rc, &err);
	}
	if (rc < 0)
		papyrafs_log(st, LOG_ERR, "recovery (%s) failed: %s",
			     mode_text, err.message);
	papyra_recovery_report_release(&r);
	papyra_buf_release(&text);
	return rc;
}

static int do_retention(struct papyrafs *st, const char *text)
{
	struct papyra_retention policy;
	struct papyra_error err;
	int rc;

	papyra_backend_get_retention(st->backend, &policy);
	papyra_error_clear(&err);
	rc = papyra_retention_parse(text, &policy, &err);
	if (rc < 0) {
		papyrafs_log(st, LOG_NOTICE, "ctl/retention: %s", err.message);
		return rc;
	}
	papyra_backend_set_retention(st->backend, &policy);
	return 0;
}

static int ctl_write(struct papyrafs *st, struct handle *h, const char *buf,
		     size_t size)
{
	struct papyra_error err;
	char text[CTL_MAX_TEXT];
	int rc;

	if (trimmed(buf, size, text, sizeof(text)) < 0)
		return -EINVAL;
	papyra_error_clear(&err);
	switch (h->node->arg) {
	case CTL_COMPACT:
		rc = do_compact(st);
		break;
	case CTL_RECOVER:
		rc = do_recover(st, text);
		break;
	case CTL_RETENTION:
		rc = do_retention(st, text);
		break;
	case CTL_SYNC:
		rc = papyra_backend_sync(st->backend, &err);
		break;
	case CTL_SNAPSHOT:
		rc = papyra_backend_snapshot(st->backend, &err);
		break;
	case CTL_RESET_METRICS:
		papyra_metrics_reset(papyra_backend_metrics(st->backend));
		rc = 0;
		break;
	default:
		rc = -EACCES;
	}
	if (rc < 0 && err.message[0])
		papyrafs_log(st, LOG_ERR, "%s: %s", ctl_name(h->node),
			     err.message);
	return rc < 0 ? rc : (int)size;
}

/* What reading the node returns now. */
static int ctl_render(struct papyrafs *st, int action, struct papyra_buf *out)
{
	struct papyra_retention policy;
	struct papyra_buf *last;

	switch (action) {
	case CTL_RETENTION:
		papyra_backend_get_retention(st->backend, &policy);
		return papyra_retention_format(&policy, out);
	case CTL_COMPACT:
	case CTL_RECOVER:
		last = action == CTL_COMPACT ? &st->last_compact
					     : &st->last_recover;
		pthread_mutex_lock(&st->ctl_lock);
		if (last->len)
			papyra_buf_append(out, last->data, last->len);
		else
			papyra_buf_puts(out, action == CTL_COMPACT
					? "no compaction since mount\n"
					: "no recovery since mount\n");
		pthread_mutex_unlock(&st->ctl_lock);
		return 0;
	default:
		return 0;
	}
}

static int ctl_open(struct papyrafs *st, struct handle *h, int flags)
{
	if ((flags & O_ACCMODE) == O_WRONLY)
		return 0;
	h->has_content = 1;
	return ctl_render(st, h->node->arg, &h->content);
}

/* `echo x > ctl/...` truncates first: nothing to truncate, so accept it. */
static int ctl_truncate(struct papyrafs *st, const struct node *n, off_t size)
{
	(void)st;
	(void)n;
	return size == 0 ? 0 : -EINVAL;
}

static uint64_t ctl_size(struct papyrafs *st, const struct node *n)
{
	struct papyra_buf b = PAPYRA_BUF_INIT;
	uint64_t size;

	if (!(n->mode & S_IRUSR))
		return 0;
	ctl_render(st, n->arg, &b);
	size = b.len;
	papyra_buf_release(&b);
	return size;
}

const struct node_ops node_ctl_ops = {
	.open = ctl_open,
	.write = ctl_write,
	.truncate = ctl_truncate,
	.size = ctl_size,
};
