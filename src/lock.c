/*
 * The exclusive flock() that makes one process the owner of a log file,
 * and the detective work done when someone else has it: the holder's pid
 * from /proc/locks, its name from /proc/PID/comm and, when it is a
 * papyrafs daemon, its mountpoint from /proc/mounts, so that the refusal
 * tells the user exactly which mount to go through instead.
 */
#include "config.h"

#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FUSE_TYPE "fuse.papyrafs"

/*
 * One line of /proc/locks, e.g.
 *   "3: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
 * Blocked waiters carry "->" after the ordinal and are not holders.  The
 * device is major:minor in hex, the inode in decimal.  Returns 1 and fills
 * the fields for an FLOCK WRITE holder line, 0 otherwise.
 */
static int parse_locks_line(const char *line, pid_t *pid, unsigned *maj,
			    unsigned *min, uint64_t *ino)
{
	char ordinal[32], klass[32], type[32], mode[32];
	long p;
	uintmax_t i;

	if (sscanf(line, "%31s %31s %31s %31s %ld %x:%x:%ju", ordinal, klass,
		   type, mode, &p, maj, min, &i) != 8)
		return 0;
	if (strcmp(klass, "FLOCK") || strcmp(mode, "WRITE"))
		return 0;
	*pid = p > 0 ? (pid_t)p : 0;
	*ino = (uint64_t)i;
	return 1;
}

/*
 * The pid holding an exclusive flock on the file st describes, or 0.  The
 * device must match too, except that some filesystems (btrfs subvolumes,
 * overlayfs) report a different device in stat() than in /proc/locks; a
 * lone entry with our inode number is then taken as ours.  Returns -1 when
 * /proc/locks cannot be read, so callers can tell "no holder" apart.
 */
static pid_t find_flock_holder(const struct stat *st)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	pid_t exact = 0, loose = 0;
	int loose_count = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		uint64_t ino;
		pid_t pid;

		if (!parse_locks_line(line, &pid, &maj, &min, &ino))
			continue;
		if (ino != (uint64_t)st->st_ino)
			continue;
		if (maj == major(st->st_dev) && min == minor(st->st_dev)) {
			exact = pid;
			break;
		}
		loose = pid;
		loose_count++;
	}
	fclose(f);
	if (exact)
		return exact;
	return loose_count == 1 ? loose : 0;
}

/* Undo /proc/mounts octal escapes (\040 space, \011 tab, \012, \134) in place. */
static void unescape_mount_field(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * The mountpoint of a papyrafs whose source is realpath(path), into mp
 * (size 4096).  The last matching entry wins: it is the newest mount.
 */
static void find_mountpoint(const char *path, char *mp, size_t size)
{
	char real[PATH_MAX];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	mp[0] = '\0';
	if (!realpath(path, real))
		return;
	f = fopen("/proc/mounts", "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL;
		char *src = strtok_r(line, " \t\n", &save);
		char *dir = strtok_r(NULL, " \t\n", &save);
		char *type = strtok_r(NULL, " \t\n", &save);

		if (!src || !dir || !type || strcmp(type, FUSE_TYPE))
			continue;
		unescape_mount_field(src);
		if (strcmp(src, real))
			continue;
		unescape_mount_field(dir);
		snprintf(mp, size, "%s", dir);
	}
	free(line);
	fclose(f);
}

/* The process name of pid into name (from /proc/PID/comm), or "". */
static void process_name(pid_t pid, char *name, size_t size)
{
	char proc[64];
	FILE *f;

	name[0] = '\0';
	snprintf(proc, sizeof(proc), "/proc/%ld/comm", (long)pid);
	f = fopen(proc, "re");
	if (!f)
		return;
	if (fgets(name, (int)size, f))
		name[strcspn(name, "\n")] = '\0';
	else
		name[0] = '\0';
	fclose(f);
}

static void fill_holder(const struct stat *st, const char *path,
			struct papyra_lock_holder *h)
{
	pid_t pid = find_flock_holder(st);

	h->pid = pid > 0 ? pid : 0;
	find_mountpoint(path, h->mountpoint, sizeof(h->mountpoint));
}

/*
 * The refusal: who holds the file, and what to do instead.  A papyrafs
 * daemon (known by its mount or its name) is reached through its ctl
 * files; any other holder is a maintenance command that will finish.
 */
static int busy_error(const char *path, const struct papyra_lock_holder *h,
		      struct papyra_error *err)
{
	static const char daemon_hint[] =
		"use its ctl files (ctl/recover, ctl/compact) or unmount it first";
	char name[64] = "";
	const char *who;

	if (h->pid)
		process_name(h->pid, name, sizeof(name));
	who = name[0] ? name : "another process";
	if (h->mountpoint[0] && h->pid)
		return papyra_error_set(err, -EBUSY,
					"'%s' is in use by papyrafs (pid %ld) mounted on %s; %s",
					path, (long)h->pid, h->mountpoint, daemon_hint);
	if (h->mountpoint[0])
		return papyra_error_set(err, -EBUSY,
					"'%s' is in use by papyrafs mounted on %s; %s",
					path, h->mountpoint, daemon_hint);
	if (h->pid && !strcmp(name, "papyrafs"))
		return papyra_error_set(err, -EBUSY,
					"'%s' is in use by papyrafs (pid %ld); %s",
					path, (long)h->pid, daemon_hint);
	if (h->pid)
		return papyra_error_set(err, -EBUSY,
					"'%s' is in use by %s (pid %ld); try again when it has finished",
					path, who, (long)h->pid);
	return papyra_error_set(err, -EBUSY,
				"'%s' is in use by another process; try again when it has finished",
				path);
}

int papyra_lock_acquire(int fd, const char *path,
			struct papyra_lock_holder *holder,
			struct papyra_error *err)
{
	struct papyra_lock_holder h = { 0 };
	struct stat st;
	int rc;

	do
		rc = flock(fd, LOCK_EX | LOCK_NB);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return papyra_error_set(err, -errno, "cannot lock '%s': %s", path,
					strerror(errno));
	if (fstat(fd, &st) == 0)
		fill_holder(&st, path, &h);
	else
		find_mountpoint(path, h.mountpoint, sizeof(h.mountpoint));
	if (holder)
		*holder = h;
	return busy_error(path, &h, err);
}

/*
 * Looks without taking the lock when /proc/locks can tell: a probe must
 * never make a daemon starting at the same moment fail.  Only without
 * /proc/locks does it try a shared flock and drop it at once.  A holder in
 * another pid namespace is hidden from /proc/locks and not seen.
 */
int papyra_lock_probe(const char *path, struct papyra_lock_holder *holder)
{
	struct papyra_lock_holder h = { 0 };
	struct stat st;
	pid_t pid;
	int held = 0;

	if (stat(path, &st) < 0)
		return 0;
	pid = find_flock_holder(&st);
	if (pid > 0) {
		held = 1;
		h.pid = pid;
	} else if (pid < 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return 0;
		if (flock(fd, LOCK_SH | LOCK_NB) < 0)
			held = errno == EWOULDBLOCK;
		close(fd);
	}
	if (held)
		find_mountpoint(path, h.mountpoint, sizeof(h.mountpoint));
	if (holder)
		*holder = h;
	return held;
}
