/*
 * The table of the tree (SPEC §3).  The tree never changes shape while
 * mounted, which is why the kernel may cache lookups for long and why a
 * linear search over a dozen rows is all the lookup there is.
 */
#include "config.h"

#include "tree.h"

#include <errno.h>
#include <string.h>

#include "kind.h"

#define DIR_MODE (S_IFDIR | 0755)
#define LOG_MODE (S_IFREG | 0644)
#define REPORT_MODE (S_IFREG | 0444)
#define CTL_W_MODE (S_IFREG | 0200)
#define CTL_RW_MODE (S_IFREG | 0600)

static const struct node nodes[] = {
	{ "/", DIR_MODE, 0, NULL, NULL },
	{ "/README", REPORT_MODE, INFO_README, &node_info_ops,
	  "what this tree is and how to use it (this file)" },
	{ "/records", LOG_MODE, PAPYRA_KIND_ANY, &node_log_ops,
	  "all live records of any kind; append: each line must carry a valid \"kind\"" },
	{ "/events", DIR_MODE, 0, NULL, NULL },
	{ "/events/log", LOG_MODE, PAPYRA_KIND_EVENT, &node_log_ops,
	  "live records of kind event; append: each line becomes an event" },
	{ "/audits", DIR_MODE, 0, NULL, NULL },
	{ "/audits/log", LOG_MODE, PAPYRA_KIND_AUDIT, &node_log_ops,
	  "likewise for audit" },
	{ "/dead_letters", DIR_MODE, 0, NULL, NULL },
	{ "/dead_letters/log", LOG_MODE, PAPYRA_KIND_DEAD_LETTER, &node_log_ops,
	  "likewise for dead_letter" },
	{ "/metrics", DIR_MODE, 0, NULL, NULL },
	{ "/metrics/log", LOG_MODE, PAPYRA_KIND_METRIC, &node_log_ops,
	  "likewise for metric (metric snapshots)" },
	{ "/inspect", REPORT_MODE, INFO_INSPECT, &node_info_ops,
	  "the `papyra persistence inspect` report of this mount" },
	{ "/metrics.txt", REPORT_MODE, INFO_METRICS_TXT, &node_info_ops,
	  "the backend's counters, `name value` per line" },
	{ "/metrics.prom", REPORT_MODE, INFO_METRICS_PROM, &node_info_ops,
	  "the same counters in Prometheus text format" },
	{ "/scan", DIR_MODE, 0, NULL, NULL },
	{ "/scan/report", REPORT_MODE, PAPYRAFS_SCAN_TEXT, &node_scan_ops,
	  "opening runs a fresh scan; human-readable report" },
	{ "/scan/report.json", REPORT_MODE, PAPYRAFS_SCAN_JSON, &node_scan_ops,
	  "the same scan as one JSON document" },
	{ "/scan/status", REPORT_MODE, PAPYRAFS_SCAN_STATUS, &node_scan_ops,
	  "`healthy` or `anomalies N`" },
	{ "/ctl", DIR_MODE, 0, NULL, NULL },
	{ "/ctl/compact", CTL_RW_MODE, CTL_COMPACT, &node_ctl_ops,
	  "write anything: compact now; read: the last compaction report" },
	{ "/ctl/recover", CTL_RW_MODE, CTL_RECOVER, &node_ctl_ops,
	  "write `repair` or `quarantine`: recover now; read: the last recovery report" },
	{ "/ctl/retention", CTL_RW_MODE, CTL_RETENTION, &node_ctl_ops,
	  "read: the policy in force; write `max_records=N max_age=S max_bytes=B`" },
	{ "/ctl/sync", CTL_W_MODE, CTL_SYNC, &node_ctl_ops,
	  "write anything: fdatasync now" },
	{ "/ctl/snapshot", CTL_W_MODE, CTL_SNAPSHOT, &node_ctl_ops,
	  "write anything: append a metric record holding the counters" },
	{ "/ctl/reset_metrics", CTL_W_MODE, CTL_RESET_METRICS, &node_ctl_ops,
	  "write anything: zero the counters" },
};

#define NODE_COUNT (sizeof(nodes) / sizeof(nodes[0]))

const struct node *tree_lookup(const char *path)
{
	size_t i;

	for (i = 0; i < NODE_COUNT; i++)
		if (strcmp(nodes[i].path, path) == 0)
			return &nodes[i];
	return NULL;
}

const struct node *tree_node(size_t i)
{
	return i < NODE_COUNT ? &nodes[i] : NULL;
}

/*
 * child is a direct child of dir when it starts with dir's path plus '/'
 * (the root's path already ends in one) and has no further '/'.
 */
static const char *child_name(const struct node *dir, const struct node *n)
{
	size_t dlen = strlen(dir->path);
	const char *rest;

	if (n == dir || strncmp(n->path, dir->path, dlen) != 0)
		return NULL;
	rest = n->path + dlen;
	if (dlen > 1) {
		if (*rest != '/')
			return NULL;
		rest++;
	}
	if (*rest == '\0' || strchr(rest, '/'))
		return NULL;
	return rest;
}

int tree_children(const struct node *dir,
		  int (*fn)(void *ctx, const char *name, const struct node *n),
		  void *ctx)
{
	const char *name;
	int count = 0;
	size_t i;

	for (i = 0; i < NODE_COUNT; i++) {
		name = child_name(dir, &nodes[i]);
		if (!name)
			continue;
		count++;
		if (fn && fn(ctx, name, &nodes[i]))
			break;
	}
	return count;
}

int tree_read_buffer(const struct papyra_buf *b, char *dst, size_t size,
		     off_t off)
{
	size_t n;

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= b->len)
		return 0;
	n = b->len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(dst, b->data + off, n);
	return (int)n;
}
