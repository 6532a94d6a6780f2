/*
 * The exclusive lock that makes one process the owner of a log file for
 * its lifetime.  It is an flock() on the file; a rewrite locks the new
 * inode before renaming it into place, so the lock follows the file.  The
 * holder's pid is read from /proc/locks and its mountpoint from
 * /proc/mounts (the daemon mounts with fsname = the file's absolute path).
 */
#ifndef PAPYRA_LOCK_H
#define PAPYRA_LOCK_H

#include <sys/types.h>

#include "error.h"

struct papyra_lock_holder {
	pid_t pid;             /* 0 when unknown */
	char mountpoint[4096]; /* "" when unknown */
};

/*
 * Lock fd (opened on path) exclusively without waiting.  -EBUSY when
 * another process holds it, with err naming the holder; then *holder (may
 * be NULL) is filled too.
 */
int papyra_lock_acquire(int fd, const char *path,
			struct papyra_lock_holder *holder,
			struct papyra_error *err);

/* 1 if some process holds the lock on path (filling *holder), 0 if not. */
int papyra_lock_probe(const char *path, struct papyra_lock_holder *holder);

#endif
