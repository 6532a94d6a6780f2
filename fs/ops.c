/*
 * The FUSE callbacks.  Each one looks up the node a path names in the tree
 * table and calls that node's handler; nothing here knows about records
 * or the file.  The tree's shape is fixed, so everything that would change
 * it (create, mkdir, unlink, rename, ...) is refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "tree.h"

/* Largest write request asked of the kernel: a 1 MiB write stays one unit. */
#define PAPYRAFS_MAX_WRITE (1u << 20)

struct papyrafs *papyrafs_get(void)
{
	return fuse_get_context()->private_data;
}

void papyrafs_log(struct papyrafs *st, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (st && st->use_syslog) {
		vsyslog(priority, fmt, ap);
	} else {
		fputs("papyrafs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static void *pfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* The tree never changes shape; sizes change all the time. */
	cfg->entry_timeout = 3600;
	cfg->negative_timeout = 3600;
	cfg->attr_timeout = 0;
	cfg->use_ino = 0;
	cfg->kernel_cache = 0;
	cfg->direct_io = 1;
	/* A write-back cache would turn `>>` into writes at stale offsets. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->max_write < PAPYRAFS_MAX_WRITE)
		conn->max_write = PAPYRAFS_MAX_WRITE;
	return papyrafs_get();
}

static int count_subdir(void *ctx, const char *name, const struct node *n)
{
	(void)name;
	if (S_ISDIR(n->mode))
		(*(int *)ctx)++;
	return 0;
}

static int pfs_getattr(const char *path, struct stat *stbuf,
		       struct fuse_file_info *fi)
{
	struct papyrafs *st = papyrafs_get();
	const struct node *n = tree_lookup(path);
	uint64_t size = 0;
	int subdirs = 0;

	(void)fi;
	if (!n)
		return -ENOENT;
	memset(stbuf, 0, sizeof(*stbuf));
	stbuf->st_mode = n->mode;
	stbuf->st_uid = st->uid;
	stbuf->st_gid = st->gid;
	stbuf->st_atim = st->mount_time;
	stbuf->st_mtim = st->mount_time;
	stbuf->st_ctim = st->mount_time;
	stbuf->st_blksize = 4096;
	if (S_ISDIR(n->mode)) {
		tree_children(n, count_subdir, &subdirs);
		stbuf->st_nlink = 2 + subdirs;
		return 0;
	}
	stbuf->st_nlink = 1;
	if (n->ops->size)
		size = n->ops->size(st, n);
	stbuf->st_size = (off_t)size;
	stbuf->st_blocks = (blkcnt_t)((size + 511) / 512);
	return 0;
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fill_one(void *ctx, const char *name, const struct node *n)
{
	struct fill_ctx *f = ctx;
	struct stat s;

	memset(&s, 0, sizeof(s));
	s.st_mode = n->mode;
	return f->filler(f->buf, name, &s, 0, 0);
}

static int pfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		       off_t offset, struct fuse_file_info *fi,
		       enum fuse_readdir_flags flags)
{
	const struct node *n = tree_lookup(path);
	struct fill_ctx ctx = { buf, filler };

	(void)offset;
	(void)fi;
	(void)flags;
	if (!n)
		return -ENOENT;
	if (!S_ISDIR(n->mode))
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	tree_children(n, fill_one, &ctx);
	return 0;
}

static int pfs_open(const char *path, struct fuse_file_info *fi)
{
	struct papyrafs *st = papyrafs_get();
	const struct node *n = tree_lookup(path);
	int acc = fi->flags & O_ACCMODE;
	struct handle *h;
	int rc;

	if (!n)
		return -ENOENT;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	/*
	 * The mode is the contract even for root, whom the kernel's
	 * permission check lets through.
	 */
	if (acc != O_RDONLY && !(n->mode & S_IWUSR))
		return -EACCES;
	if (acc != O_WRONLY && !(n->mode & S_IRUSR))
		return -EACCES;
	if ((fi->flags & O_TRUNC) && acc != O_RDONLY) {
		rc = n->ops->truncate ? n->ops->truncate(st, n, 0) : -EACCES;
		if (rc < 0)
			return rc;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->node = n;
	pthread_mutex_init(&h->lock, NULL);
	rc = n->ops->open ? n->ops->open(st, h, fi->flags) : 0;
	if (rc < 0) {
		papyra_buf_release(&h->content);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return rc;
	}
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

static int pfs_read(const char *path, char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (h->node->ops->read)
		return h->node->ops->read(papyrafs_get(), h, buf, size, off);
	return tree_read_buffer(&h->content, buf, size, off);
}

static int pfs_write(const char *path, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int rc;

	(void)path;
	(void)off; /* every write appends or commands: offsets mean nothing */
	if (!h->node->ops->write)
		return -EACCES;
	pthread_mutex_lock(&h->lock);
	rc = h->node->ops->write(papyrafs_get(), h, buf, size);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static int pfs_flush(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int rc = 0;

	(void)path;
	if (h->node->ops->flush) {
		pthread_mutex_lock(&h->lock);
		rc = h->node->ops->flush(papyrafs_get(), h);
		pthread_mutex_unlock(&h->lock);
	}
	return rc;
}

static int pfs_release(const char *path, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	(void)path;
	if (h->node->ops->release)
		h->node->ops->release(papyrafs_get(), h);
	papyra_buf_release(&h->content);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

/* fsync on any node makes every appended record durable now. */
static int pfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct papyrafs *st = papyrafs_get();
	struct papyra_error err;
	int rc;

	(void)path;
	(void)datasync;
	(void)fi;
	papyra_error_clear(&err);
	rc = papyra_backend_sync(st->backend, &err);
	if (rc < 0)
		papyrafs_log(st, LOG_ERR, "fsync failed: %s", err.message);
	return rc;
}

static int pfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	const struct node *n = tree_lookup(path);

	(void)fi;
	if (!n)
		return -ENOENT;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (!n->ops->truncate)
		return -EACCES;
	return n->ops->truncate(papyrafs_get(), n, size);
}

/* `touch` on a node succeeds and changes nothing: times are synthetic. */
static int pfs_utimens(const char *path, const struct timespec tv[2],
		       struct fuse_file_info *fi)
{
	(void)tv;
	(void)fi;
	return tree_lookup(path) ? 0 : -ENOENT;
}

static int pfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	(void)fi;
	return tree_lookup(path) ? -EPERM : -ENOENT;
}

static int pfs_chown(const char *path, uid_t uid, gid_t gid,
		     struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	(void)fi;
	return tree_lookup(path) ? -EPERM : -ENOENT;
}

/* The tree's shape is fixed. */
static int pfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)path;
	(void)mode;
	(void)fi;
	return -EACCES;
}

static int pfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	(void)path;
	(void)mode;
	(void)rdev;
	return -EACCES;
}

static int pfs_mkdir(const char *path, mode_t mode)
{
	(void)path;
	(void)mode;
	return -EACCES;
}

static int pfs_unlink(const char *path)
{
	return tree_lookup(path) ? -EACCES : -ENOENT;
}

static int pfs_rename(const char *from, const char *to, unsigned int flags)
{
	(void)to;
	(void)flags;
	return tree_lookup(from) ? -EACCES : -ENOENT;
}

static int pfs_link(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EACCES;
}

const struct fuse_operations papyrafs_ops = {
	.init = pfs_init,
	.getattr = pfs_getattr,
	.readdir = pfs_readdir,
	.open = pfs_open,
	.read = pfs_read,
	.write = pfs_write,
	.flush = pfs_flush,
	.release = pfs_release,
	.fsync = pfs_fsync,
	.truncate = pfs_truncate,
	.utimens = pfs_utimens,
	.chmod = pfs_chmod,
	.chown = pfs_chown,
	.create = pfs_create,
	.mknod = pfs_mknod,
	.mkdir = pfs_mkdir,
	.unlink = pfs_unlink,
	.rmdir = pfs_unlink,
	.rename = pfs_rename,
	.link = pfs_link,
	.symlink = pfs_link,
};
