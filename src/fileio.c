/*
 * System call wrappers for the core's file I/O.  Each wrapper retries on
 * EINTR, finishes short reads and writes, and returns 0 (or an fd) or a
 * negative errno.  Before doing its system call each one consults the
 * process-wide fault table, so tests (and a daemon started with
 * PAPYRA_FAULT set) can make the Nth call of an operation fail with a
 * chosen errno without touching the disk.  The table is the only global
 * state of the core; it is a set of atomics so appends from many threads
 * count calls exactly.
 */
#include "config.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * One fault point per operation.  countdown is the number of calls left
 * until the failing one (0: disarmed); the call that takes it from 1 to 0
 * fails with error.  Arming stores error before countdown, and a caller
 * reads error only after winning the decrement, so a fault never fires with
 * a stale errno.
 */
struct fault_point {
	atomic_ulong countdown;
	atomic_int error;
};

static struct fault_point faults[PAPYRA_IO_OP_COUNT];

void papyra_io_fault(enum papyra_io_op op, unsigned long nth, int error)
{
	if ((unsigned)op >= PAPYRA_IO_OP_COUNT)
		return;
	atomic_store(&faults[op].countdown, 0);
	atomic_store(&faults[op].error, error > 0 ? error : EIO);
	atomic_store(&faults[op].countdown, nth);
}

void papyra_io_faults_clear(void)
{
	for (int op = 0; op < PAPYRA_IO_OP_COUNT; op++)
		atomic_store(&faults[op].countdown, 0);
}

/* 0, or the negative errno this call of op must fail with. */
static int fault_hit(enum papyra_io_op op)
{
	struct fault_point *f = &faults[op];
	unsigned long c = atomic_load(&f->countdown);

	while (c != 0) {
		if (atomic_compare_exchange_weak(&f->countdown, &c, c - 1))
			return c == 1 ? -atomic_load(&f->error) : 0;
	}
	return 0;
}

static const char *const op_names[PAPYRA_IO_OP_COUNT] = {
	[PAPYRA_IO_OPEN] = "open",
	[PAPYRA_IO_WRITE] = "write",
	[PAPYRA_IO_READ] = "read",
	[PAPYRA_IO_FDATASYNC] = "fdatasync",
	[PAPYRA_IO_FSYNC] = "fsync",
	[PAPYRA_IO_RENAME] = "rename",
	[PAPYRA_IO_FTRUNCATE] = "ftruncate",
	[PAPYRA_IO_LINK] = "link",
};

static const struct {
	const char *name;
	int error;
} errno_names[] = {
	{ "ENOSPC", ENOSPC }, { "EIO", EIO },	  { "EFBIG", EFBIG },
	{ "EDQUOT", EDQUOT }, { "EROFS", EROFS }, { "EACCES", EACCES },
};

static int parse_op(const char *s, size_t len)
{
	for (int op = 0; op < PAPYRA_IO_OP_COUNT; op++)
		if (strlen(op_names[op]) == len && !memcmp(op_names[op], s, len))
			return op;
	return -1;
}

static int parse_errno_name(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strlen(errno_names[i].name) == len &&
		    !memcmp(errno_names[i].name, s, len))
			return errno_names[i].error;
	return -1;
}

/*
 * One "op:nth:ERRNO" entry of s[0..len).  Digits only for nth, so "-1" or
 * "3x" are refused rather than silently read as something else.
 */
static int parse_entry(const char *s, size_t len, int *op, unsigned long *nth,
		       int *error)
{
	const char *c1 = memchr(s, ':', len);
	const char *c2, *end = s + len;
	unsigned long n = 0;

	if (!c1)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2 || c2 == c1 + 1)
		return -EINVAL;
	*op = parse_op(s, (size_t)(c1 - s));
	if (*op < 0)
		return -EINVAL;
	for (const char *p = c1 + 1; p < c2; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (n > (ULONG_MAX - (unsigned long)(*p - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	*nth = n;
	*error = parse_errno_name(c2 + 1, (size_t)(end - c2 - 1));
	return *error < 0 ? -EINVAL : 0;
}

/*
 * Arm the points named in PAPYRA_FAULT.  The whole value is checked before
 * anything is armed, so a typo arms nothing instead of half the list.
 */
int papyra_io_faults_from_env(void)
{
	const char *env = getenv("PAPYRA_FAULT");
	unsigned long nth[PAPYRA_IO_OP_COUNT];
	int error[PAPYRA_IO_OP_COUNT], set[PAPYRA_IO_OP_COUNT] = { 0 };

	if (!env || !*env)
		return 0;
	for (const char *s = env;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		unsigned long n;
		int op, e;

		if (parse_entry(s, len, &op, &n, &e) < 0)
			return -EINVAL;
		nth[op] = n;
		error[op] = e;
		set[op] = 1;
		if (!comma)
			break;
		s = comma + 1;
	}
	for (int op = 0; op < PAPYRA_IO_OP_COUNT; op++)
		if (set[op])
			papyra_io_fault((enum papyra_io_op)op, nth[op], error[op]);
	return 0;
}

/* Every fd the core opens is close-on-exec: a daemon must not leak it. */
int papyra_io_open(const char *path, int flags, mode_t mode)
{
	int fd, rc = fault_hit(PAPYRA_IO_OPEN);

	if (rc < 0)
		return rc;
	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/*
 * close() is not retried on EINTR: Linux has released the descriptor by
 * then and a retry could close one another thread just opened.
 */
int papyra_io_close(int fd)
{
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int papyra_io_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	int rc = fault_hit(PAPYRA_IO_WRITE);

	if (rc < 0)
		return rc;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int papyra_io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	int rc = fault_hit(PAPYRA_IO_WRITE);

	if (rc < 0)
		return rc;
	if (off > (uint64_t)INT64_MAX - len)
		return -EFBIG;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* The file ending before len bytes were read is -EIO: the caller asked
 * for bytes it believed were stored. */
int papyra_io_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	int rc = fault_hit(PAPYRA_IO_READ);

	if (rc < 0)
		return rc;
	if (off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int papyra_io_fdatasync(int fd)
{
	int rc = fault_hit(PAPYRA_IO_FDATASYNC);

	if (rc < 0)
		return rc;
	do
		rc = fdatasync(fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int papyra_io_fsync(int fd)
{
	int rc = fault_hit(PAPYRA_IO_FSYNC);

	if (rc < 0)
		return rc;
	do
		rc = fsync(fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

/*
 * fsync the directory holding path_in_dir, so a rename or link in it is
 * durable.  Counts as one fsync for the fault table; the directory's open
 * is part of that operation, not a fault point of its own.
 */
int papyra_io_fsync_dir(const char *path_in_dir)
{
	const char *slash = strrchr(path_in_dir, '/');
	char *dir;
	int fd, rc = fault_hit(PAPYRA_IO_FSYNC);

	if (rc < 0)
		return rc;
	if (!slash)
		dir = strdup(".");
	else if (slash == path_in_dir)
		dir = strdup("/");
	else
		dir = strndup(path_in_dir, (size_t)(slash - path_in_dir));
	if (!dir)
		return -ENOMEM;
	do
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	rc = fd < 0 ? -errno : 0;
	free(dir);
	if (rc < 0)
		return rc;
	do
		rc = fsync(fd);
	while (rc < 0 && errno == EINTR);
	rc = rc < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int papyra_io_rename(const char *from, const char *to)
{
	int rc = fault_hit(PAPYRA_IO_RENAME);

	if (rc < 0)
		return rc;
	do
		rc = rename(from, to);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int papyra_io_ftruncate(int fd, uint64_t len)
{
	int rc = fault_hit(PAPYRA_IO_FTRUNCATE);

	if (rc < 0)
		return rc;
	if (len > (uint64_t)INT64_MAX)
		return -EFBIG;
	do
		rc = ftruncate(fd, (off_t)len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int papyra_io_link(const char *from, const char *to)
{
	int rc = fault_hit(PAPYRA_IO_LINK);

	if (rc < 0)
		return rc;
	do
		rc = link(from, to);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}
