/*
 * bench/passthrough: the smallest useful FUSE file system, mirroring one
 * directory through libfuse3's high-level API with one system call per
 * operation.  It is the benchmark's measure of what the FUSE round trip
 * itself costs, so papyrafs can be compared with it rather than only with
 * a plain file.  Usage: passthrough [FUSE options] SOURCE_DIR MOUNTPOINT.
 */
#include "config.h"

#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pt {
	char *root; /* absolute SOURCE_DIR, no trailing '/' */
};

static struct pt *pt_state(void)
{
	return fuse_get_context()->private_data;
}

/* root + path into buf; -ENAMETOOLONG when it does not fit. */
static int real_path(char buf[PATH_MAX], const char *path)
{
	int n = snprintf(buf, PATH_MAX, "%s%s", pt_state()->root, path);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static void *pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->use_ino = 1;
	return pt_state();
}

static int pt_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	int rc;

	if (fi)
		return fstat((int)fi->fh, st) < 0 ? -errno : 0;
	if ((rc = real_path(p, path)) < 0)
		return rc;
	return lstat(p, st) < 0 ? -errno : 0;
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc;

	(void)off;
	(void)fi;
	(void)flags;
	if ((rc = real_path(p, path)) < 0)
		return rc;
	if (!(d = opendir(p)))
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = de->d_ino;
		st.st_mode = (mode_t)de->d_type << 12;
		if (fill(buf, de->d_name, &st, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	int rc, fd;

	if ((rc = real_path(p, path)) < 0)
		return rc;
	if ((fd = open(p, fi->flags)) < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int pt_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	int rc, fd;

	if ((rc = real_path(p, path)) < 0)
		return rc;
	if ((fd = open(p, fi->flags | O_CREAT, mode)) < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

/* An O_APPEND fd makes pwrite append whatever the offset (Linux). */
static int pt_write(const char *path, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

/* close() of a duplicate reports the errors a close of the file would. */
static int pt_flush(const char *path, struct fuse_file_info *fi)
{
	int fd = dup((int)fi->fh);

	(void)path;
	if (fd < 0)
		return -errno;
	return close(fd) < 0 ? -errno : 0;
}

static int pt_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int pt_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	int rc;

	if (fi)
		return ftruncate((int)fi->fh, size) < 0 ? -errno : 0;
	if ((rc = real_path(p, path)) < 0)
		return rc;
	return truncate(p, size) < 0 ? -errno : 0;
}

static int pt_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	int rc = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);

	(void)path;
	return rc < 0 ? -errno : 0;
}

static int pt_unlink(const char *path)
{
	char p[PATH_MAX];
	int rc;

	if ((rc = real_path(p, path)) < 0)
		return rc;
	return unlink(p) < 0 ? -errno : 0;
}

static const struct fuse_operations pt_ops = {
	.init = pt_init,
	.getattr = pt_getattr,
	.readdir = pt_readdir,
	.open = pt_open,
	.create = pt_create,
	.read = pt_read,
	.write = pt_write,
	.flush = pt_flush,
	.release = pt_release,
	.truncate = pt_truncate,
	.fsync = pt_fsync,
	.unlink = pt_unlink,
};

/* The first non-option argument is SOURCE_DIR; the rest go to libfuse. */
static int pt_opt(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct pt *pt = data;

	(void)out;
	if (key == FUSE_OPT_KEY_NONOPT && !pt->root) {
		pt->root = realpath(arg, NULL);
		if (!pt->root) {
			fprintf(stderr, "passthrough: cannot use '%s': %s\n",
				arg, strerror(errno));
			return -1;
		}
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct pt pt = { NULL };
	int rc;

	if (fuse_opt_parse(&args, &pt, NULL, pt_opt) < 0)
		return 1;
	if (!pt.root) {
		fprintf(stderr, "usage: passthrough [FUSE options] SOURCE_DIR "
				"MOUNTPOINT\n");
		fuse_opt_free_args(&args);
		return 64;
	}
	rc = fuse_main(args.argc, args.argv, &pt_ops, &pt);
	fuse_opt_free_args(&args);
	free(pt.root);
	return rc;
}
