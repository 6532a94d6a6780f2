/*
 * The daemon's state, shared by every FUSE callback: the backend it
 * serves, the settings it was mounted with, the reports the ctl files
 * return and the cache that keeps `stat scan/report` from rescanning an
 * unchanged log.  One instance lives for the whole mount and is reached
 * through fuse_get_context()->private_data.
 */
#ifndef PAPYRAFS_H
#define PAPYRAFS_H

#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"
#include "buf.h"
#include "options.h"

/* Renderings of one scan: scan/report, scan/report.json, scan/status. */
enum papyrafs_scan_format {
	PAPYRAFS_SCAN_TEXT = 0,
	PAPYRAFS_SCAN_JSON,
	PAPYRAFS_SCAN_STATUS,
	PAPYRAFS_SCAN_FORMATS
};

struct papyrafs {
	struct papyra_backend *backend;
	struct papyra_options opts;  /* as mounted; opts.quarantine_dir
					points into qdir */
	char *file;                  /* absolute path of FILE, or ":memory:" */
	char *mountpoint;            /* as given on the command line */
	char *qdir;                  /* absolute quarantine_dir or NULL */
	uid_t uid;                   /* owner shown on every node */
	gid_t gid;
	struct timespec mount_time;  /* st_mtime of nodes without a better one */
	int use_syslog;              /* daemonized: log there, not stderr */

	/*
	 * ctl_lock protects the two last-report texts.  The actions
	 * themselves are serialized by the backend, not by this lock.
	 */
	pthread_mutex_t ctl_lock;
	struct papyra_buf last_compact;  /* empty: none since mount */
	struct papyra_buf last_recover;

	/*
	 * scan_lock protects the cached sizes of the scan renderings,
	 * valid while the backend's generation is scan_gen.
	 */
	pthread_mutex_t scan_lock;
	int scan_valid;
	uint64_t scan_gen;
	uint64_t scan_size[PAPYRAFS_SCAN_FORMATS];
};

/* The state of the mount this callback runs for. */
struct papyrafs *papyrafs_get(void);

/* Log a problem: syslog when daemonized, stderr in the foreground. */
void papyrafs_log(struct papyrafs *st, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The fuse_operations of the tree (fs/ops.c). */
extern const struct fuse_operations papyrafs_ops;

#endif
