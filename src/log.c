/*
 * The JSON file store: the bytes of a log kept in one NDJSON file that this
 * process owns through an exclusive flock for as long as the store is open.
 * Appends go at the end the store tracks itself (pwrite, never O_APPEND)
 * and are undone by truncation when a write fails; rewrites build a
 * temporary file next to the log and rename it over the log, carrying the
 * lock along, so the file is at every moment either the old one or the new
 * one.  The backend (backend.c) decides what to write; this file only
 * keeps bytes.
 *
 * A write beyond RLIMIT_FSIZE raises SIGXFSZ, which kills the process by
 * default: the daemon and the CLI ignore that signal so that such an
 * append fails with EFBIG and is truncated back like any other.
 *
 * Map: open and the lock loop; append/sync/read/scan; rewrite (copy,
 * quarantine copy via quarantine.c, rename, fd swap); the ops table.
 */
#include "config.h"

#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "lock.h"
#include "quarantine.h"

#define COPY_CHUNK ((size_t)1 << 20) /* bytes per read/write in a rewrite */
#define LOCK_TRIES 100               /* reopen attempts when FILE moves */

struct log_store {
	char *path;     /* absolute, symlinks resolved: rewrites rename here */
	int fd;         /* O_RDWR (O_RDONLY when read_only); holds the flock.
			   The number never changes: a rewrite dup3()s the new
			   file onto it, so a sync running without the
			   backend's lock never sees a closed or reused fd */
	int read_only;  /* no lock taken; write-side calls fail with -EROFS */
	uint64_t end;   /* bytes stored: where the next append goes */
	int dirty_end;  /* a failed append could not be truncated back: bytes
			   past end may exist and are cut before the next one */
};

static const char *const temp_tags[] = { "compact", "recover" };

static char *temp_path(const char *path, const char *tag)
{
	char *p;

	if (asprintf(&p, "%s.%s.tmp", path, tag) < 0)
		return NULL;
	return p;
}

/*
 * Remove FILE.compact.tmp and FILE.recover.tmp left by a rewrite that
 * crashed.  Only called with the lock held, so a temporary file of a live
 * rewrite (whose owner holds the lock) is never touched.
 */
static int remove_leftovers(const char *path, struct papyra_error *err)
{
	for (size_t i = 0; i < sizeof(temp_tags) / sizeof(temp_tags[0]); i++) {
		char *tmp = temp_path(path, temp_tags[i]);
		struct stat st;

		if (!tmp)
			return papyra_error_set(err, -ENOMEM, "out of memory");
		if (unlink(tmp) < 0 && errno != ENOENT &&
		    lstat(tmp, &st) == 0) {
			int rc = -errno;

			papyra_error_set(err, rc,
					 "cannot remove leftover temporary file '%s': %s",
					 tmp, strerror(errno));
			free(tmp);
			return rc;
		}
		free(tmp);
	}
	return 0;
}

static int open_read_only(struct log_store *s, const char *path,
			  struct papyra_error *err)
{
	int fd = papyra_io_open(path, O_RDONLY, 0);

	if (fd < 0)
		return papyra_error_set(err, fd, "cannot open '%s': %s", path,
					strerror(-fd));
	s->fd = fd;
	return 0;
}

/*
 * Open path and lock it.  The file at path may be replaced between our
 * open() and flock() by the holder's rewrite; then we locked a file that
 * no longer has a name, so after locking we check that path still names
 * our inode and start over when it does not.
 */
static int open_locked(struct log_store *s, const char *path, int create,
		       struct papyra_error *err)
{
	int flags = O_RDWR | (create ? O_CREAT : 0);

	for (int tries = 0; tries < LOCK_TRIES; tries++) {
		struct stat fst, pst;
		int fd, rc;

		fd = papyra_io_open(path, flags, 0644);
		if (fd < 0)
			return papyra_error_set(err, fd, "cannot open '%s': %s",
						path, strerror(-fd));
		rc = papyra_lock_acquire(fd, path, NULL, err);
		if (rc < 0) {
			papyra_io_close(fd);
			return rc;
		}
		if (fstat(fd, &fst) < 0) {
			rc = -errno;
			papyra_io_close(fd);
			return papyra_error_set(err, rc, "cannot stat '%s': %s",
						path, strerror(-rc));
		}
		rc = stat(path, &pst) < 0 ? -errno : 0;
		if (rc == 0 && pst.st_dev == fst.st_dev &&
		    pst.st_ino == fst.st_ino) {
			s->fd = fd;
			return 0;
		}
		/* Replaced by another inode, or removed: start over. */
		papyra_io_close(fd);
		if (rc < 0 && (rc != -ENOENT || !create))
			return papyra_error_set(err, rc, "cannot open '%s': %s",
						path, strerror(-rc));
	}
	return papyra_error_set(err, -EAGAIN,
				"cannot lock '%s': it keeps being replaced; try again",
				path);
}

int papyra_log_open(void **store, const char *path,
		    const struct papyra_options *opts, struct papyra_error *err)
{
	struct log_store *s = calloc(1, sizeof(*s));
	char real[PATH_MAX];
	struct stat st;
	int rc;

	*store = NULL;
	if (!s)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	s->fd = -1;
	s->read_only = opts && opts->read_only;
	if (s->read_only)
		rc = open_read_only(s, path, err);
	else
		rc = open_locked(s, path, opts && opts->create, err);
	if (rc < 0)
		goto fail;
	if (fstat(s->fd, &st) < 0) {
		rc = papyra_error_set(err, -errno, "cannot stat '%s': %s", path,
				      strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = papyra_error_set(err, -EINVAL,
				      "'%s' is not a regular file; give the path of a log file",
				      path);
		goto fail;
	}
	if (!realpath(path, real)) {
		rc = papyra_error_set(err, -errno, "cannot resolve '%s': %s",
				      path, strerror(errno));
		goto fail;
	}
	s->path = strdup(real);
	if (!s->path) {
		rc = papyra_error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (!s->read_only) {
		rc = remove_leftovers(s->path, err);
		if (rc < 0)
			goto fail;
	}
	s->end = (uint64_t)st.st_size;
	*store = s;
	return 0;
fail:
	if (s->fd >= 0)
		papyra_io_close(s->fd);
	free(s->path);
	free(s);
	return rc;
}

static int refuse_read_only(const struct log_store *s,
			    struct papyra_error *err)
{
	return papyra_error_set(err, -EROFS,
				"'%s' is open read-only; nothing can be written",
				s->path);
}

static int log_append(void *store, const char *data, size_t len,
		      uint64_t *offset, struct papyra_error *err)
{
	struct log_store *s = store;
	int rc;

	if (s->read_only)
		return refuse_read_only(s, err);
	if (s->dirty_end) {
		rc = papyra_io_ftruncate(s->fd, s->end);
		if (rc < 0)
			return papyra_error_set(err, rc,
						"cannot cut the remains of a failed write from '%s': %s",
						s->path, strerror(-rc));
		s->dirty_end = 0;
	}
	if (s->end > UINT64_MAX - len)
		return papyra_error_set(err, -EFBIG, "'%s' is too large",
					s->path);
	rc = papyra_io_pwrite_all(s->fd, data, len, s->end);
	if (rc < 0) {
		/*
		 * Part of the data may have landed: cut it so no partial
		 * record stays.  If even that fails, the next append (or a
		 * rewrite, which copies only up to end) finishes the job.
		 */
		if (papyra_io_ftruncate(s->fd, s->end) < 0)
			s->dirty_end = 1;
		return papyra_error_set(err, rc, "cannot write to '%s': %s",
					s->path, strerror(-rc));
	}
	if (offset)
		*offset = s->end;
	s->end += len;
	return 0;
}

static int log_sync(void *store, struct papyra_error *err)
{
	struct log_store *s = store;
	int rc;

	if (s->read_only)
		return refuse_read_only(s, err);
	rc = papyra_io_fdatasync(s->fd);
	if (rc < 0)
		return papyra_error_set(err, rc, "cannot sync '%s': %s",
					s->path, strerror(-rc));
	return 0;
}

static int log_read(void *store, uint64_t off, char *dst, size_t len,
		    struct papyra_error *err)
{
	struct log_store *s = store;
	int rc = papyra_io_pread_all(s->fd, dst, len, off);

	if (rc < 0)
		return papyra_error_set(err, rc, "cannot read '%s': %s",
					s->path, strerror(-rc));
	return 0;
}

static int log_scan(void *store, papyra_scan_record_fn fn, void *ctx,
		    struct papyra_scan_report *report, struct papyra_error *err)
{
	struct log_store *s = store;
	char *path = strdup(s->path);
	int rc;

	if (!path)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	rc = papyra_scan_fd(s->fd, fn, ctx, report, err);
	free(report->path);
	report->path = path;
	report->backend = "json";
	report->exists = 1;
	return rc;
}

/* --- rewrite ------------------------------------------------------------ */

/*
 * Copy the ranges, in order, from src to the start of dst.  Ranges are
 * gathered into one large buffer so that a rewrite of many small records
 * still reads and writes in big chunks.
 */
static int copy_ranges(struct log_store *s, int dst,
		       const struct papyra_range *keep, size_t n,
		       uint64_t *total, struct papyra_error *err)
{
	char *buf = malloc(COPY_CHUNK);
	size_t used = 0;
	uint64_t out = 0;
	int rc = 0;

	if (!buf)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint64_t off = keep[i].offset, left = keep[i].length;

		if (off > s->end || left > s->end - off) {
			rc = papyra_error_set(err, -EINVAL,
					      "range %llu+%llu is outside '%s' (%llu bytes)",
					      (unsigned long long)off,
					      (unsigned long long)left, s->path,
					      (unsigned long long)s->end);
			goto out;
		}
		while (left > 0) {
			size_t piece = COPY_CHUNK - used;

			if (piece > left)
				piece = (size_t)left;
			rc = papyra_io_pread_all(s->fd, buf + used, piece, off);
			if (rc < 0) {
				papyra_error_set(err, rc, "cannot read '%s': %s",
						 s->path, strerror(-rc));
				goto out;
			}
			used += piece;
			off += piece;
			left -= piece;
			if (used == COPY_CHUNK) {
				rc = papyra_io_pwrite_all(dst, buf, used, out);
				if (rc < 0)
					goto write_failed;
				out += used;
				used = 0;
			}
		}
	}
	if (used > 0) {
		rc = papyra_io_pwrite_all(dst, buf, used, out);
		if (rc < 0)
			goto write_failed;
		out += used;
	}
	*total = out;
	goto out;
write_failed:
	papyra_error_set(err, rc, "cannot write the new '%s': %s", s->path,
			 strerror(-rc));
out:
	free(buf);
	return rc;
}

static int log_rewrite(void *store, const char *tag,
		       const struct papyra_range *keep, size_t n,
		       const char *quarantine_dir, char **quarantine_path,
		       int *replaced, struct papyra_error *err)
{
	struct log_store *s = store;
	char *tmp, *qpath = NULL;
	struct stat st;
	uint64_t total = 0;
	int tfd = -1, rc;

	*replaced = 0;
	if (quarantine_path)
		*quarantine_path = NULL;
	if (s->read_only)
		return refuse_read_only(s, err);
	tmp = temp_path(s->path, tag);
	if (!tmp)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	/*
	 * We hold the lock, so any file by this name is a stale leftover; it
	 * is unlinked rather than truncated in case it is a link to
	 * something that must not be cut.
	 */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		rc = papyra_error_set(err, -errno, "cannot remove '%s': %s",
				      tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	tfd = papyra_io_open(tmp, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (tfd < 0) {
		rc = papyra_error_set(err, tfd, "cannot create '%s': %s", tmp,
				      strerror(-tfd));
		free(tmp);
		return rc;
	}
	/* The new file keeps the old one's permissions. */
	if (fstat(s->fd, &st) == 0 && fchmod(tfd, st.st_mode & 07777) < 0) {
		rc = papyra_error_set(err, -errno, "cannot set the mode of '%s': %s",
				      tmp, strerror(errno));
		goto fail;
	}
	rc = copy_ranges(s, tfd, keep, n, &total, err);
	if (rc < 0)
		goto fail;
	rc = papyra_io_fsync(tfd);
	if (rc < 0) {
		papyra_error_set(err, rc, "cannot sync '%s': %s", tmp,
				 strerror(-rc));
		goto fail;
	}
	/* Lock the new inode before it gets the name, so no opener can
	 * slip in between the rename and our taking it over. */
	rc = papyra_lock_acquire(tfd, tmp, NULL, err);
	if (rc < 0)
		goto fail;
	if (quarantine_dir) {
		rc = papyra_quarantine_copy(s->fd, s->path, quarantine_dir,
					    &qpath, err);
		if (rc < 0)
			goto fail;
	}
	rc = papyra_io_rename(tmp, s->path);
	if (rc < 0) {
		papyra_error_set(err, rc, "cannot rename '%s' to '%s': %s", tmp,
				 s->path, strerror(-rc));
		goto fail;
	}
	/*
	 * From here the new file is in place: the store follows it whatever
	 * happens next.  dup3 puts the new file under the same fd number and
	 * drops the old file (and its lock) in one step.
	 */
	*replaced = 1;
	while (dup3(tfd, s->fd, O_CLOEXEC) < 0) {
		if (errno == EINTR || errno == EBUSY)
			continue;
		/* Cannot happen for two valid fds; keep both usable. */
		rc = -errno;
		break;
	}
	if (rc == 0) {
		papyra_io_close(tfd);
	} else {
		papyra_io_close(s->fd);
		s->fd = tfd;
	}
	tfd = -1;
	s->end = total;
	s->dirty_end = 0;
	free(tmp);
	tmp = NULL;
	rc = papyra_io_fsync_dir(s->path);
	if (quarantine_path)
		*quarantine_path = qpath;
	else
		free(qpath);
	if (rc < 0)
		return papyra_error_set(err, rc,
					"'%s' was rewritten but its directory could not be synced: %s",
					s->path, strerror(-rc));
	return 0;
fail:
	papyra_io_close(tfd);
	unlink(tmp);
	free(tmp);
	if (qpath) {
		unlink(qpath);
		free(qpath);
	}
	return rc;
}

static uint64_t log_size(void *store)
{
	return ((struct log_store *)store)->end;
}

static const char *log_path(void *store)
{
	return ((struct log_store *)store)->path;
}

static void log_close(void *store)
{
	struct log_store *s = store;

	if (!s)
		return;
	if (s->fd >= 0)
		papyra_io_close(s->fd);
	free(s->path);
	free(s);
}

const struct papyra_store_ops papyra_log_ops = {
	.name = "json",
	.append = log_append,
	.sync = log_sync,
	.read = log_read,
	.scan = log_scan,
	.rewrite = log_rewrite,
	.size = log_size,
	.path = log_path,
	.close = log_close,
};
