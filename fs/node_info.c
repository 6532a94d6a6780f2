/*
 * The info nodes: README, inspect, metrics.txt and metrics.prom.  Each is
 * rendered when opened (so one read sees one moment) and rendered afresh
 * for stat, so its size is what a read would return now.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "metrics.h"
#include "tree.h"

static const char readme_head[] =
	"papyrafs: an append-only Papyra persistence log as files\n"
	"\n"
	"This directory is a view of one NDJSON log: one JSON object per line,\n"
	"each with a \"kind\" (event, audit, dead_letter, metric) and a numeric\n"
	"\"timestamp\".  Appending a line to a log file stores a record; nothing\n"
	"stored is ever changed in place.\n"
	"\n";

static const char readme_usage[] =
	"\n"
	"Appending\n"
	"  Every complete line written to a log (or a final line without a\n"
	"  newline, at close) is one record.  In <kind>/log the kind is set for\n"
	"  you; in records each line must name its kind.  A timestamp is added\n"
	"  when missing.  Bad input is refused and nothing of that write is\n"
	"  stored: EINVAL (not a JSON object, wrong or unknown kind, timestamp\n"
	"  not a number) or EMSGSIZE (longer than max_record).  Writes always\n"
	"  append: use >>, since > (truncate) is refused with EPERM.\n"
	"\n"
	"Examples\n"
	"  echo '{\"actor\":\"a1\",\"type\":\"started\"}' >> events/log\n"
	"  echo '{\"kind\":\"audit\",\"who\":\"ops\"}' >> records\n"
	"  tail -f events/log\n"
	"  tail -n 3 records\n"
	"  cat scan/status; cat scan/report; cat scan/report.json\n"
	"  echo repair > ctl/recover; cat ctl/recover\n"
	"  echo 'max_records=1000 max_age=none' > ctl/retention\n"
	"  echo now > ctl/compact; cat ctl/compact\n"
	"  cat metrics.txt; cat inspect\n"
	"\n"
	"Unmount with: fusermount3 -u MOUNTPOINT\n";

/* "/events/log" -> "events/log", padded to the widest path. */
int tree_readme(struct papyrafs *st, struct papyra_buf *out)
{
	const struct node *n;
	size_t i;
	int rc;

	rc = papyra_buf_puts(out, readme_head);
	if (rc == 0)
		rc = papyra_buf_printf(out, "Log: %s (backend %s)\n\nFiles\n",
				       st->file,
				       papyra_backend_name(st->backend));
	for (i = 0; rc == 0 && (n = tree_node(i)); i++) {
		if (!n->help)
			continue;
		rc = papyra_buf_printf(out, "  %-18s %-3s %s\n", n->path + 1,
				       (n->mode & 0600) == 0600 ? "rw"
				       : (n->mode & 0400)       ? "r"
								: "w",
				       n->help);
	}
	if (rc == 0)
		rc = papyra_buf_puts(out, readme_usage);
	return rc;
}

static int info_render(struct papyrafs *st, int page, struct papyra_buf *out)
{
	struct papyra_metrics *m = papyra_backend_metrics(st->backend);
	struct papyra_error err;

	switch (page) {
	case INFO_README:
		return tree_readme(st, out);
	case INFO_INSPECT:
		papyra_error_clear(&err);
		return papyra_backend_inspect(st->backend, 1, out, &err);
	case INFO_METRICS_TXT:
		return papyra_metrics_text(m, out);
	case INFO_METRICS_PROM:
		return papyra_metrics_prom(m, out);
	default:
		return -ENOENT;
	}
}

static int info_open(struct papyrafs *st, struct handle *h, int flags)
{
	(void)flags;
	h->has_content = 1;
	return info_render(st, h->node->arg, &h->content);
}

static uint64_t info_size(struct papyrafs *st, const struct node *n)
{
	struct papyra_buf b = PAPYRA_BUF_INIT;
	uint64_t size;

	info_render(st, n->arg, &b);
	size = b.len;
	papyra_buf_release(&b);
	return size;
}

const struct node_ops node_info_ops = {
	.open = info_open,
	.size = info_size,
};
