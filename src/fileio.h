/*
 * System call wrappers for every byte the core writes or reads: they retry
 * on EINTR, finish short reads and writes, and return 0 (or a count) or a
 * negative errno.  Every call goes through one table of fault points so
 * that tests can make the Nth write, fdatasync, fsync, rename, open, ...
 * fail with a chosen errno, the way SQLite's I/O error tests do.
 */
#ifndef PAPYRA_FILEIO_H
#define PAPYRA_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum papyra_io_op {
	PAPYRA_IO_OPEN = 0,
	PAPYRA_IO_WRITE,     /* write and pwrite */
	PAPYRA_IO_READ,      /* read and pread */
	PAPYRA_IO_FDATASYNC,
	PAPYRA_IO_FSYNC,     /* files and directories */
	PAPYRA_IO_RENAME,
	PAPYRA_IO_FTRUNCATE,
	PAPYRA_IO_LINK,
	PAPYRA_IO_OP_COUNT
};

/*
 * Make the nth (1-based, counted from this call) operation of kind op fail
 * with errno error; nth 0 disarms.  Process-wide, for tests only.  The
 * PAPYRA_FAULT environment variable ("write:3:ENOSPC,fdatasync:1:EIO") arms
 * the same points in a daemon when papyra_io_faults_from_env() is called.
 */
void papyra_io_fault(enum papyra_io_op op, unsigned long nth, int error);
void papyra_io_faults_clear(void);
int papyra_io_faults_from_env(void);

int papyra_io_open(const char *path, int flags, mode_t mode); /* fd or -errno */
int papyra_io_close(int fd);
int papyra_io_write_all(int fd, const void *buf, size_t len);
int papyra_io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int papyra_io_pread_all(int fd, void *buf, size_t len, uint64_t off);
int papyra_io_fdatasync(int fd);
int papyra_io_fsync(int fd);
int papyra_io_fsync_dir(const char *path_in_dir); /* fsync the parent dir */
int papyra_io_rename(const char *from, const char *to);
int papyra_io_ftruncate(int fd, uint64_t len);
int papyra_io_link(const char *from, const char *to);

#endif
