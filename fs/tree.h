/*
 * The tree of SPEC §3 as a table: one row per node with its path, mode and
 * handlers, so adding a node is adding a row.  Each family of nodes (logs,
 * scan reports, ctl files, info files) provides one set of handlers in its
 * own file; fs/ops.c turns FUSE callbacks into calls on the row a path
 * names.
 */
#ifndef PAPYRAFS_TREE_H
#define PAPYRAFS_TREE_H

#include "papyrafs.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "appender.h"
#include "buf.h"

struct node;

/*
 * One open file.  content holds what a rendered node serves for the whole
 * open (fixed when opened); app turns a log's writes into records.  lock
 * serializes requests on the handle, since processes sharing one open file
 * description may write through it at the same time.
 */
struct handle {
	const struct node *node;
	pthread_mutex_t lock;
	struct papyra_appender *app; /* logs opened for writing */
	struct papyra_buf content;   /* rendered nodes */
	int has_content;             /* content was rendered at open */
};

/*
 * Handlers of a family.  All return 0 (or a byte count) or a negative
 * errno.  A NULL handler means the operation is refused: open for
 * writing/reading by the mode check, write with -EACCES.
 */
struct node_ops {
	/* Prepare h for the access in flags (already checked against mode). */
	int (*open)(struct papyrafs *st, struct handle *h, int flags);
	/* Read; NULL: serve h->content. */
	int (*read)(struct papyrafs *st, struct handle *h, char *buf,
		    size_t size, off_t off);
	int (*write)(struct papyrafs *st, struct handle *h, const char *buf,
		     size_t size);
	/* close(): errors here reach the writer. */
	int (*flush)(struct papyrafs *st, struct handle *h);
	void (*release)(struct papyrafs *st, struct handle *h);
	/* truncate() or O_TRUNC to size; NULL: -EACCES. */
	int (*truncate)(struct papyrafs *st, const struct node *n, off_t size);
	/* What a read from 0 would return now, for stat. */
	uint64_t (*size)(struct papyrafs *st, const struct node *n);
};

struct node {
	const char *path;          /* "/events/log"; "/" is the root */
	mode_t mode;               /* S_IFDIR|0755, S_IFREG|0644, ... */
	int arg;                   /* family's parameter: kind, format, ... */
	const struct node_ops *ops; /* NULL for directories */
	const char *help;          /* one line for README */
};

/* The node at path, or NULL. */
const struct node *tree_lookup(const char *path);

/*
 * Call fn for each direct child of the directory dir (its name only).
 * Returns the number of children.
 */
int tree_children(const struct node *dir,
		  int (*fn)(void *ctx, const char *name, const struct node *n),
		  void *ctx);

/* Every node in table order, for README; NULL-terminated. */
const struct node *tree_node(size_t i);

/* Serve a rendered buffer to a read at off. */
int tree_read_buffer(const struct papyra_buf *b, char *dst, size_t size,
		     off_t off);

/* The families (fs/node_*.c).  arg is documented with each. */
extern const struct node_ops node_log_ops;    /* arg: kind or KIND_ANY */
extern const struct node_ops node_scan_ops;   /* arg: papyrafs_scan_format */
extern const struct node_ops node_ctl_ops;    /* arg: enum ctl_action */
extern const struct node_ops node_info_ops;   /* arg: enum info_page */

enum ctl_action {
	CTL_COMPACT = 0,
	CTL_RECOVER,
	CTL_RETENTION,
	CTL_SYNC,
	CTL_SNAPSHOT,
	CTL_RESET_METRICS,
};

enum info_page {
	INFO_README = 0,
	INFO_INSPECT,
	INFO_METRICS_TXT,
	INFO_METRICS_PROM,
};

/* README's text (fs/node_info.c), built from the table. */
int tree_readme(struct papyrafs *st, struct papyra_buf *out);

#endif
