/*
 * Quarantine copies.  The copy is written under a temporary name, synced,
 * and only then given its final name, so a quarantine file that exists is
 * always the whole damaged log: a crash in the middle of the copy leaves a
 * hidden temporary file, never a short file that looks like evidence.  It
 * is a copy, not a hard link to the log: after a crash between the
 * quarantine and the rename of the repaired file, a link would be a second
 * name for the live log, and the appends of the next mount would change
 * the evidence.
 *
 * The temporary name carries the pid of its writer
 * (.NAME.quarantine.<pid>.tmp): logs of one name in different directories
 * may share a quarantine directory, so a writer only removes the
 * temporary files whose process is gone.
 */
#include "config.h"

#include "quarantine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

#define COPY_CHUNK ((size_t)1 << 20) /* bytes per read/write of the copy */
#define NAME_TRIES 1000              /* milliseconds tried for a free name */

/* mkdir -p dir (mode 0755 for what it creates); fails if dir is no dir. */
static int make_dirs(const char *dir)
{
	char *p = strdup(dir);
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (char *c = p + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char saved = *c;

		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*c = saved;
		if (!saved)
			break;
	}
	free(p);
	if (rc == 0) {
		struct stat st;

		if (stat(dir, &st) < 0)
			rc = -errno;
		else if (!S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
	}
	return rc;
}

/* Copy the whole of the open file src to a new file at to, and sync it. */
static int copy_file(int src, const char *to)
{
	struct stat st;
	uint64_t size, off = 0;
	char *buf;
	int dst, rc = 0;

	if (fstat(src, &st) < 0)
		return -errno;
	size = (uint64_t)st.st_size;
	dst = papyra_io_open(to, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (dst < 0)
		return dst;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		rc = -ENOMEM;
	while (rc == 0 && off < size) {
		size_t piece = size - off < COPY_CHUNK ? (size_t)(size - off)
						       : COPY_CHUNK;

		rc = papyra_io_pread_all(src, buf, piece, off);
		if (rc == 0)
			rc = papyra_io_pwrite_all(dst, buf, piece, off);
		off += piece;
	}
	free(buf);
	if (rc == 0)
		rc = papyra_io_fsync(dst);
	papyra_io_close(dst);
	if (rc < 0)
		unlink(to);
	return rc;
}

/*
 * Remove .BASE.quarantine.<pid>.tmp files whose writer no longer runs:
 * what a crash in the middle of a copy left.  Best effort: a file that
 * cannot be removed only costs space.
 */
static void remove_dead_temps(const char *dir, const char *base)
{
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *n = e->d_name, *rest;
		char *end;
		long pid;

		if (n[0] != '.' || strncmp(n + 1, base, blen) != 0 ||
		    strncmp(n + 1 + blen, ".quarantine.", 12) != 0)
			continue;
		rest = n + 1 + blen + 12;
		errno = 0;
		pid = strtol(rest, &end, 10);
		if (errno || end == rest || pid <= 0 || strcmp(end, ".tmp") != 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		unlinkat(dirfd(d), n, 0);
	}
	closedir(d);
}

/*
 * Give the synced temporary file its final name without replacing any
 * file: link() fails with EEXIST where rename() would overwrite.  On a
 * filesystem without hard links, rename() into a name seen free.
 */
static int publish(const char *tmp, const char *final)
{
	int rc = papyra_io_link(tmp, final);

	if (rc == 0) {
		unlink(tmp);
		return 0;
	}
	if (rc != -EPERM && rc != -EOPNOTSUPP && rc != -ENOSYS)
		return rc;
	if (access(final, F_OK) == 0)
		return -EEXIST;
	return papyra_io_rename(tmp, final);
}

int papyra_quarantine_copy(int fd, const char *log_path, const char *dir,
			   char **out, struct papyra_error *err)
{
	const char *slash = strrchr(log_path, '/');
	const char *base = slash ? slash + 1 : log_path;
	struct timespec ts;
	long long ms;
	char *tmp = NULL, *q = NULL;
	int rc;

	*out = NULL;
	rc = make_dirs(dir);
	if (rc < 0)
		return papyra_error_set(err, rc,
					"cannot create quarantine directory '%s': %s",
					dir, strerror(-rc));
	remove_dead_temps(dir, base);
	if (asprintf(&tmp, "%s/.%s.quarantine.%ld.tmp", dir, base,
		     (long)getpid()) < 0)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	/* Our own pid's file is from an earlier failed call of ours. */
	unlink(tmp);
	rc = copy_file(fd, tmp);
	if (rc < 0) {
		papyra_error_set(err, rc, "cannot copy '%s' to '%s': %s",
				 log_path, tmp, strerror(-rc));
		free(tmp);
		return rc;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (int tries = 0; tries < NAME_TRIES; tries++, ms++) {
		free(q);
		q = NULL;
		if (asprintf(&q, "%s/%s.quarantine.%lld", dir, base, ms) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = publish(tmp, q);
		if (rc != -EEXIST)
			break;
	}
	if (rc == 0) {
		rc = papyra_io_fsync_dir(q);
		if (rc < 0)
			unlink(q);
	} else {
		unlink(tmp);
	}
	if (rc < 0) {
		papyra_error_set(err, rc, "cannot quarantine '%s' as '%s': %s",
				 log_path, q ? q : dir, strerror(-rc));
		free(tmp);
		free(q);
		return rc;
	}
	free(tmp);
	*out = q;
	return 0;
}
