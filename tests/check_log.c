/*
 * Unit tests of the file layer: the fault-injecting I/O wrappers
 * (fileio.c), the file lock (lock.c) and the JSON file store (log.c),
 * driven directly through papyra_log_ops, plus the backend-level
 * guarantees that rest on them (repair, compaction, a failed fdatasync,
 * group commit).  Every test builds its file byte by byte in a fresh
 * directory and compares exact bytes afterwards.  Checks that need a second
 * process (the lock) or a process-wide limit (RLIMIT_FSIZE) run in a forked
 * child that reports what went wrong through a pipe.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "backend.h"
#include "fileio.h"
#include "lock.h"
#include "record.h"
#include "retention.h"
#include "scan.h"
#include "store.h"
#include "testutil.h"

/* --- helpers -------------------------------------------------------------- */

static char *dir;  /* fresh per test */
static char *file; /* dir/events.ndjson */

static void setup(void)
{
	papyra_io_faults_clear();
	umask(022);
	dir = tu_tempdir();
	file = tu_path(dir, "events.ndjson");
}

static void teardown(void)
{
	papyra_io_faults_clear();
	free(file);
	tu_rmtree(dir);
}

static const char L1[] = "{\"kind\":\"event\",\"timestamp\":1.5,\"n\":1}\n";
static const char L2[] = "{\"kind\":\"audit\",\"timestamp\":2.5,\"n\":2}\n";
static const char L3[] = "{\"kind\":\"metric\",\"timestamp\":3.5,\"n\":3}\n";
static const char SHORT[] = "{\"kind\":\"event\"}\n";

static void *open_store(const char *path, int create, int read_only)
{
	struct papyra_options o;
	struct papyra_error err;
	void *s = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.create = create;
	o.read_only = read_only;
	papyra_error_clear(&err);
	rc = papyra_log_open(&s, path, &o, &err);
	ck_assert_msg(rc == 0, "expected '%s' to open, got %d: %s", path, rc,
		      err.message);
	return s;
}

static int try_open(const char *path, int create, int read_only,
		    struct papyra_error *err)
{
	struct papyra_options o;
	void *s = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.create = create;
	o.read_only = read_only;
	papyra_error_clear(err);
	rc = papyra_log_open(&s, path, &o, err);
	if (rc == 0)
		papyra_log_ops.close(s);
	return rc;
}

static void append_ok(void *s, const char *data)
{
	struct papyra_error err;
	uint64_t off;
	int rc = papyra_log_ops.append(s, data, strlen(data), &off, &err);

	ck_assert_msg(rc == 0, "expected the append to succeed, got %d: %s",
		      rc, err.message);
}

/* Assert that path holds exactly want. */
static void assert_file(const char *path, const char *want, size_t len)
{
	size_t got_len;
	char *got = tu_read_file(path, &got_len);

	ck_assert_msg(got != NULL, "expected '%s' to exist", path);
	ck_assert_msg(got_len == len && memcmp(got, want, len) == 0,
		      "expected '%s' to hold %zu bytes \"%.*s\", it holds %zu: \"%.*s\"",
		      path, len, (int)(len > 300 ? 300 : len), want, got_len,
		      (int)(got_len > 300 ? 300 : got_len), got);
	free(got);
}

static void assert_file_str(const char *path, const char *want)
{
	assert_file(path, want, strlen(want));
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "expected '%s' to exist", path);
	return st.st_ino;
}

static int count_entries(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dh)
		return 0;
	while ((e = readdir(dh)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dh);
	return n;
}

/*
 * Run fn in a forked child.  fn returns 0 or writes why it failed into msg.
 * Returns NULL when the child succeeded, else a malloc'd description.
 */
typedef int (*child_fn)(void *ctx, char *msg, size_t size);

static char *in_child(child_fn fn, void *ctx)
{
	int p[2], status;
	char msg[1024] = "";
	ssize_t n, used = 0;
	pid_t pid;

	ck_assert(pipe(p) == 0);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork failed");
	if (pid == 0) {
		char out[1024] = "";
		int rc;

		close(p[0]);
		rc = fn(ctx, out, sizeof(out));
		if (rc)
			(void)!write(p[1], out, strlen(out));
		_exit(rc ? 1 : 0);
	}
	close(p[1]);
	while ((n = read(p[0], msg + used, sizeof(msg) - 1 - (size_t)used)) > 0)
		used += n;
	msg[used] = '\0';
	close(p[0]);
	ck_assert(waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (!msg[0])
		snprintf(msg, sizeof(msg), "child ended with status %#x", status);
	return strdup(msg);
}

#define ASSERT_CHILD(fn, ctx)                                              \
	do {                                                               \
		char *why_ = in_child(fn, ctx);                            \
		ck_assert_msg(why_ == NULL, "%s", why_ ? why_ : "");       \
	} while (0)

/* --- fileio: the fault table ---------------------------------------------- */

/* Set by every rewrite: whether the new contents took the old ones' place. */
static int replaced;

START_TEST(fault_fires_on_nth_call_only)
{
	int fd = open(file, O_RDWR | O_CREAT, 0644);
	struct stat st;

	ck_assert(fd >= 0);
	papyra_io_fault(PAPYRA_IO_WRITE, 3, ENOSPC);
	ck_assert_int_eq(papyra_io_write_all(fd, "a", 1), 0);
	ck_assert_int_eq(papyra_io_pwrite_all(fd, "b", 1, 1), 0);
	ck_assert_msg(papyra_io_write_all(fd, "c", 1) == -ENOSPC,
		      "expected the 3rd write to fail with ENOSPC");
	ck_assert(fstat(fd, &st) == 0);
	ck_assert_msg(st.st_size == 2,
		      "expected the failed write not to reach the file (size 2), size %lld",
		      (long long)st.st_size);
	ck_assert_msg(papyra_io_write_all(fd, "d", 1) == 0,
		      "expected the 4th write to succeed: a fault fires once");
	/* Other operations count apart; nth 0 disarms. */
	papyra_io_fault(PAPYRA_IO_FDATASYNC, 1, EIO);
	papyra_io_fault(PAPYRA_IO_WRITE, 1, EIO);
	papyra_io_fault(PAPYRA_IO_WRITE, 0, EIO);
	ck_assert_msg(papyra_io_write_all(fd, "e", 1) == 0,
		      "expected nth 0 to disarm the write fault");
	ck_assert_int_eq(papyra_io_fdatasync(fd), -EIO);
	ck_assert_int_eq(papyra_io_fdatasync(fd), 0);
	papyra_io_fault(PAPYRA_IO_READ, 1, EIO);
	papyra_io_faults_clear();
	{
		char b[2];

		ck_assert_msg(papyra_io_pread_all(fd, b, 2, 0) == 0,
			      "expected clear to disarm every fault");
	}
	close(fd);
}
END_TEST

struct fault_thread_ctx {
	int fd;
	int failures;
};

static void *fault_thread(void *arg)
{
	struct fault_thread_ctx *c = arg;

	for (int i = 0; i < 500; i++)
		if (papyra_io_pwrite_all(c->fd, "x", 1, 0) == -EDQUOT)
			c->failures++;
	return NULL;
}

START_TEST(fault_counts_exactly_across_threads)
{
	struct fault_thread_ctx ctx[8];
	pthread_t t[8];
	int fd = open(file, O_RDWR | O_CREAT, 0644), failures = 0;

	ck_assert(fd >= 0);
	papyra_io_fault(PAPYRA_IO_WRITE, 2345, EDQUOT);
	for (int i = 0; i < 8; i++) {
		ctx[i].fd = fd;
		ctx[i].failures = 0;
		ck_assert(pthread_create(&t[i], NULL, fault_thread, &ctx[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failures += ctx[i].failures;
	}
	ck_assert_msg(failures == 1,
		      "expected exactly one of 4000 concurrent writes to fail, %d did",
		      failures);
	close(fd);
}
END_TEST

START_TEST(fault_env_parsing)
{
	int fd = open(file, O_RDWR | O_CREAT, 0644);
	static const char *const junk[] = {
		"write",	   "write:1",	      "write:1:",
		"write::EIO",	   "write:x:EIO",     "write:-1:EIO",
		"write:1:EFOO",	   "bogus:1:EIO",     "write:1:EIO,",
		",write:1:EIO",	   "write:1:EIO,read", "write:1:eio",
		"write:99999999999999999999999:EIO",
	};

	ck_assert(fd >= 0);
	unsetenv("PAPYRA_FAULT");
	ck_assert_int_eq(papyra_io_faults_from_env(), 0);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		setenv("PAPYRA_FAULT", junk[i], 1);
		ck_assert_msg(papyra_io_faults_from_env() == -EINVAL,
			      "expected PAPYRA_FAULT=\"%s\" to be refused",
			      junk[i]);
		ck_assert_msg(papyra_io_write_all(fd, "a", 1) == 0,
			      "expected refused PAPYRA_FAULT=\"%s\" to arm nothing",
			      junk[i]);
	}
	setenv("PAPYRA_FAULT", "write:2:ENOSPC,fdatasync:1:EIO,rename:1:EROFS", 1);
	ck_assert_int_eq(papyra_io_faults_from_env(), 0);
	ck_assert_int_eq(papyra_io_write_all(fd, "a", 1), 0);
	ck_assert_int_eq(papyra_io_write_all(fd, "a", 1), -ENOSPC);
	ck_assert_int_eq(papyra_io_fdatasync(fd), -EIO);
	ck_assert_int_eq(papyra_io_rename("/nonexistent/a", "/nonexistent/b"),
			 -EROFS);
	setenv("PAPYRA_FAULT",
	       "open:1:EACCES,read:1:EIO,fsync:1:EDQUOT,ftruncate:1:EFBIG,link:1:EIO",
	       1);
	ck_assert_int_eq(papyra_io_faults_from_env(), 0);
	ck_assert_int_eq(papyra_io_open(file, O_RDONLY, 0), -EACCES);
	ck_assert_int_eq(papyra_io_fsync(fd), -EDQUOT);
	ck_assert_int_eq(papyra_io_ftruncate(fd, 0), -EFBIG);
	ck_assert_int_eq(papyra_io_link(file, file), -EIO);
	unsetenv("PAPYRA_FAULT");
	close(fd);
}
END_TEST

/* --- fileio: the wrappers ------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

struct pipe_reader {
	int fd;
	size_t got;
	int corrupt;
};

static void *drain_pipe(void *arg)
{
	struct pipe_reader *r = arg;
	char buf[777];
	ssize_t n;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while ((n = read(r->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (char)((r->got + (size_t)i) % 251))
				r->corrupt = 1;
		r->got += (size_t)n;
	}
	return NULL;
}

/*
 * A blocking write to a slowly drained pipe, hit by a timer signal without
 * SA_RESTART, returns short or fails with EINTR; write_all must still
 * deliver every byte once, in order.
 */
START_TEST(write_all_survives_signals_and_short_writes)
{
	const size_t len = 8u << 20;
	struct sigaction sa = { 0 };
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	struct pipe_reader r = { 0 };
	char *data = malloc(len);
	pthread_t t;
	int p[2], rc;

	ck_assert(data != NULL);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i % 251);
	ck_assert(pipe(p) == 0);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	ck_assert(sigaction(SIGALRM, &sa, NULL) == 0);
	r.fd = p[0];
	ck_assert(pthread_create(&t, NULL, drain_pipe, &r) == 0);
	ck_assert(setitimer(ITIMER_REAL, &it, NULL) == 0);
	rc = papyra_io_write_all(p[1], data, len);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	ck_assert_msg(rc == 0, "expected write_all to finish, got %d", rc);
	ck_assert_msg(r.got == len && !r.corrupt,
		      "expected %zu bytes in order through the pipe, got %zu%s",
		      len, r.got, r.corrupt ? " (corrupted)" : "");
	free(data);
}
END_TEST

START_TEST(pread_all_past_end_is_eio)
{
	int fd;
	char buf[16];

	tu_write_file(file, "0123456789", 10);
	fd = papyra_io_open(file, O_RDONLY, 0);
	ck_assert(fd >= 0);
	ck_assert_int_eq(papyra_io_pread_all(fd, buf, 4, 6), 0);
	ck_assert_msg(memcmp(buf, "6789", 4) == 0, "expected bytes 6..9");
	ck_assert_msg(papyra_io_pread_all(fd, buf, 5, 6) == -EIO,
		      "expected a read past the end of the file to be -EIO");
	ck_assert_int_eq(papyra_io_close(fd), 0);
	ck_assert_int_eq(papyra_io_open("/nonexistent/x", O_RDONLY, 0), -ENOENT);
}
END_TEST

START_TEST(fsync_dir_syncs_the_parent)
{
	char *cwd = getcwd(NULL, 0);

	tu_write_file(file, "", 0);
	ck_assert_int_eq(papyra_io_fsync_dir(file), 0);
	ck_assert_int_eq(papyra_io_fsync_dir("/nonexistent/dir/x"), -ENOENT);
	ck_assert_int_eq(papyra_io_fsync_dir("/x"), 0);
	ck_assert(chdir(dir) == 0);
	ck_assert_int_eq(papyra_io_fsync_dir("events.ndjson"), 0);
	ck_assert(chdir(cwd) == 0);
	free(cwd);
	/* A file is not a directory. */
	{
		char *inside = tu_path(file, "x");

		ck_assert_int_eq(papyra_io_fsync_dir(inside), -ENOTDIR);
		free(inside);
	}
}
END_TEST

/* --- the store: open ------------------------------------------------------ */

START_TEST(open_missing_is_enoent)
{
	struct papyra_error err;

	ck_assert_int_eq(try_open(file, 0, 0, &err), -ENOENT);
	ck_assert_msg(strstr(err.message, file) != NULL,
		      "expected the message to name the file: %s", err.message);
	ck_assert_msg(!exists(file), "expected no file to be created");
	ck_assert_int_eq(try_open(file, 0, 1, &err), -ENOENT);
	ck_assert_msg(!exists(file), "expected no file to be created");
}
END_TEST

START_TEST(open_creates_when_asked)
{
	char *cwd = getcwd(NULL, 0);
	char *real;
	struct stat st;
	void *s;

	ck_assert(chdir(dir) == 0);
	s = open_store("events.ndjson", 1, 0);
	ck_assert(chdir(cwd) == 0);
	ck_assert_msg(stat(file, &st) == 0, "expected the file to be created");
	ck_assert_msg((st.st_mode & 0777) == 0644,
		      "expected mode 0644, got %o", st.st_mode & 0777);
	ck_assert_int_eq(papyra_log_ops.size(s), 0);
	real = realpath(file, NULL);
	ck_assert_msg(strcmp(papyra_log_ops.path(s), real) == 0,
		      "expected the absolute path %s, got %s", real,
		      papyra_log_ops.path(s));
	ck_assert_str_eq(papyra_log_ops.name, "json");
	papyra_log_ops.close(s);
	free(real);
	free(cwd);
}
END_TEST

START_TEST(open_refuses_a_directory)
{
	struct papyra_error err;

	ck_assert_msg(try_open(dir, 0, 0, &err) < 0,
		      "expected a directory to be refused");
	ck_assert_msg(try_open(dir, 0, 1, &err) == -EINVAL,
		      "expected a read-only open of a directory to be -EINVAL");
}
END_TEST

START_TEST(read_only_refuses_writes)
{
	struct papyra_error err;
	struct papyra_range r = { 0, 0 };
	void *holder, *ro;
	char buf[sizeof(L1)];
	char *q = NULL;

	tu_write_file(file, L1, strlen(L1));
	holder = open_store(file, 0, 0);
	ro = open_store(file, 0, 1); /* no lock: works beside the holder */
	ck_assert_int_eq(papyra_log_ops.size(ro), strlen(L1));
	ck_assert_int_eq(papyra_log_ops.read(ro, 0, buf, strlen(L1), &err), 0);
	ck_assert_msg(memcmp(buf, L1, strlen(L1)) == 0, "expected to read L1");
	ck_assert_int_eq(papyra_log_ops.append(ro, L2, strlen(L2), NULL, &err),
			 -EROFS);
	ck_assert_int_eq(papyra_log_ops.sync(ro, &err), -EROFS);
	ck_assert_int_eq(papyra_log_ops.rewrite(ro, "compact", &r, 1, NULL, &q,
						&replaced, &err),
			 -EROFS);
	ck_assert_msg(q == NULL, "expected no quarantine path");
	papyra_log_ops.close(ro);
	papyra_log_ops.close(holder);
	assert_file_str(file, L1);
}
END_TEST

START_TEST(open_removes_only_its_leftovers)
{
	static const char *const gone[] = { "events.ndjson.compact.tmp",
					    "events.ndjson.recover.tmp" };
	static const char *const kept[] = { "events.ndjson.other.tmp",
					    "other.ndjson.compact.tmp",
					    "events.ndjson.compact.tmp.1" };
	void *s;

	tu_write_file(file, L1, strlen(L1));
	for (size_t i = 0; i < 2; i++) {
		char *p = tu_path(dir, gone[i]);

		tu_write_file(p, "junk", 4);
		free(p);
	}
	for (size_t i = 0; i < 3; i++) {
		char *p = tu_path(dir, kept[i]);

		tu_write_file(p, "keep", 4);
		free(p);
	}
	s = open_store(file, 0, 0);
	for (size_t i = 0; i < 2; i++) {
		char *p = tu_path(dir, gone[i]);

		ck_assert_msg(!exists(p), "expected leftover %s to be removed",
			      gone[i]);
		free(p);
	}
	for (size_t i = 0; i < 3; i++) {
		char *p = tu_path(dir, kept[i]);

		ck_assert_msg(exists(p), "expected %s to stay", kept[i]);
		free(p);
	}
	papyra_log_ops.close(s);
	assert_file_str(file, L1);
}
END_TEST

/* --- the lock ------------------------------------------------------------- */

struct lock_ctx {
	const char *path;
	pid_t holder;
};

static int child_open_is_busy(void *arg, char *msg, size_t size)
{
	struct lock_ctx *c = arg;
	struct papyra_lock_holder h;
	struct papyra_error err;
	char want[64];
	int rc = try_open(c->path, 1, 0, &err), fd;

	snprintf(want, sizeof(want), "(pid %ld)", (long)c->holder);
	if (rc != -EBUSY)
		return snprintf(msg, size, "expected -EBUSY, got %d: %s", rc,
				err.message), 1;
	if (!strstr(err.message, want) || !strstr(err.message, "in use by"))
		return snprintf(msg, size, "expected the message to name %s: %s",
				want, err.message), 1;
	if (papyra_lock_probe(c->path, &h) != 1 || h.pid != c->holder)
		return snprintf(msg, size, "expected probe to see pid %ld, got %ld",
				(long)c->holder, (long)h.pid), 1;
	fd = open(c->path, O_RDONLY);
	if (fd < 0)
		return snprintf(msg, size, "cannot open %s", c->path), 1;
	memset(&h, 0, sizeof(h));
	rc = papyra_lock_acquire(fd, c->path, &h, &err);
	close(fd);
	if (rc != -EBUSY || h.pid != c->holder)
		return snprintf(msg, size,
				"expected lock_acquire -EBUSY with pid %ld, got %d pid %ld",
				(long)c->holder, rc, (long)h.pid), 1;
	fd = open(c->path, O_RDONLY);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return snprintf(msg, size,
				"expected a plain flock on the path to be refused"), 1;
	close(fd);
	return 0;
}

START_TEST(second_process_gets_ebusy_with_holder_pid)
{
	struct lock_ctx c = { file, getpid() };
	struct papyra_lock_holder h;
	void *s = open_store(file, 1, 0);

	ASSERT_CHILD(child_open_is_busy, &c);
	papyra_log_ops.close(s);
	ck_assert_msg(papyra_lock_probe(file, &h) == 0,
		      "expected no holder after close, probe saw pid %ld",
		      (long)h.pid);
	s = open_store(file, 0, 0);
	papyra_log_ops.close(s);
}
END_TEST

START_TEST(busy_open_leaves_temp_files_alone)
{
	struct lock_ctx c = { file, getpid() };
	char *tmp = tu_path(dir, "events.ndjson.compact.tmp");
	void *s = open_store(file, 1, 0);

	tu_write_file(tmp, "live", 4);
	ASSERT_CHILD(child_open_is_busy, &c);
	ck_assert_msg(exists(tmp),
		      "expected a refused open not to remove the holder's temp file");
	papyra_log_ops.close(s);
	free(tmp);
}
END_TEST

START_TEST(lock_follows_the_file_through_a_rewrite)
{
	struct lock_ctx c = { file, getpid() };
	struct papyra_range keep = { strlen(L1), strlen(L2) };
	struct papyra_error err;
	ino_t before;
	void *s;

	tu_write_file(file, L1, strlen(L1));
	s = open_store(file, 0, 0);
	append_ok(s, L2);
	before = inode_of(file);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "compact", &keep, 1, NULL,
						NULL, &replaced, &err),
			 0);
	ck_assert_msg(inode_of(file) != before,
		      "expected the rewrite to put a new inode in place");
	ASSERT_CHILD(child_open_is_busy, &c);
	papyra_log_ops.close(s);
	assert_file_str(file, L2);
}
END_TEST

/* --- the store: append and read ------------------------------------------- */

START_TEST(append_and_read_back)
{
	struct papyra_error err;
	uint64_t off1, off2;
	char buf[256];
	void *s = open_store(file, 1, 0);

	ck_assert_int_eq(papyra_log_ops.append(s, L1, strlen(L1), &off1, &err), 0);
	ck_assert_int_eq(papyra_log_ops.append(s, L2, strlen(L2), &off2, &err), 0);
	ck_assert_msg(off1 == 0 && off2 == strlen(L1),
		      "expected offsets 0 and %zu, got %llu and %llu",
		      strlen(L1), (unsigned long long)off1,
		      (unsigned long long)off2);
	ck_assert_int_eq(papyra_log_ops.size(s), strlen(L1) + strlen(L2));
	ck_assert_int_eq(papyra_log_ops.sync(s, &err), 0);
	ck_assert_int_eq(papyra_log_ops.read(s, off2, buf, strlen(L2), &err), 0);
	ck_assert_msg(memcmp(buf, L2, strlen(L2)) == 0,
		      "expected to read back L2");
	ck_assert_msg(papyra_log_ops.read(s, off2, buf, strlen(L2) + 1, &err) < 0,
		      "expected a read past the end to fail");
	papyra_log_ops.close(s);
	/* Reopened, the store continues at the end of the file. */
	s = open_store(file, 0, 0);
	ck_assert_int_eq(papyra_log_ops.size(s), strlen(L1) + strlen(L2));
	append_ok(s, L3);
	papyra_log_ops.close(s);
	{
		char want[256];

		snprintf(want, sizeof(want), "%s%s%s", L1, L2, L3);
		assert_file_str(file, want);
	}
}
END_TEST

START_TEST(append_enospc_leaves_file_untouched)
{
	struct papyra_error err;
	char want[256];
	void *s;

	tu_write_file(file, L1, strlen(L1));
	s = open_store(file, 0, 0);
	papyra_io_fault(PAPYRA_IO_WRITE, 1, ENOSPC);
	ck_assert_int_eq(papyra_log_ops.append(s, L2, strlen(L2), NULL, &err),
			 -ENOSPC);
	ck_assert_msg(strstr(err.message, "No space") != NULL,
		      "expected the message to say why: %s", err.message);
	assert_file_str(file, L1);
	ck_assert_int_eq(papyra_log_ops.size(s), strlen(L1));
	append_ok(s, L3);
	papyra_log_ops.close(s);
	snprintf(want, sizeof(want), "%s%s", L1, L3);
	assert_file_str(file, want);
}
END_TEST

struct fsize_ctx {
	const char *path;
	int fail_truncate; /* also make the truncate-back fail */
};

/*
 * In a child (the limit is process-wide): a 30-byte headroom under
 * RLIMIT_FSIZE makes the kernel take part of the 40-byte record and then
 * refuse the rest with EFBIG.  The next append is shorter than what the
 * kernel took, so bytes left behind would show.
 */
static int child_efbig(void *arg, char *msg, size_t size)
{
	struct fsize_ctx *c = arg;
	struct papyra_error err;
	struct rlimit old, lim;
	struct stat st;
	char want[256];
	void *s;
	int rc;

	signal(SIGXFSZ, SIG_IGN);
	tu_write_file(c->path, L1, strlen(L1));
	s = open_store(c->path, 0, 0);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = strlen(L1) + 30;
	if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
		return snprintf(msg, size, "setrlimit: %s", strerror(errno)), 1;
	if (c->fail_truncate)
		papyra_io_fault(PAPYRA_IO_FTRUNCATE, 1, EIO);
	rc = papyra_log_ops.append(s, L2, strlen(L2), NULL, &err);
	if (rc != -EFBIG)
		return snprintf(msg, size, "expected -EFBIG, got %d: %s", rc,
				err.message), 1;
	stat(c->path, &st);
	if (!c->fail_truncate && (size_t)st.st_size != strlen(L1))
		return snprintf(msg, size,
				"expected the file truncated back to %zu bytes, it has %lld",
				strlen(L1), (long long)st.st_size), 1;
	if (c->fail_truncate && (size_t)st.st_size != strlen(L1) + 30)
		return snprintf(msg, size,
				"expected the 30 bytes the kernel took to stay when truncation fails, size %lld",
				(long long)st.st_size), 1;
	if (setrlimit(RLIMIT_FSIZE, &old) < 0)
		return snprintf(msg, size, "setrlimit: %s", strerror(errno)), 1;
	rc = papyra_log_ops.append(s, SHORT, strlen(SHORT), NULL, &err);
	if (rc != 0)
		return snprintf(msg, size, "expected the next append to work, got %d: %s",
				rc, err.message), 1;
	papyra_log_ops.close(s);
	snprintf(want, sizeof(want), "%s%s", L1, SHORT);
	{
		size_t len;
		char *got = tu_read_file(c->path, &len);

		if (len != strlen(want) || memcmp(got, want, len))
			return snprintf(msg, size, "expected \"%s\", got \"%.*s\"",
					want, (int)len, got), 1;
		free(got);
	}
	return 0;
}

START_TEST(append_efbig_is_truncated_back)
{
	struct fsize_ctx c = { file, 0 };

	ASSERT_CHILD(child_efbig, &c);
}
END_TEST

START_TEST(append_after_failed_truncate_cuts_first)
{
	struct fsize_ctx c = { file, 1 };

	ASSERT_CHILD(child_efbig, &c);
}
END_TEST

/* --- the store: rewrite --------------------------------------------------- */

/* L1 L2 L3 L1 L2 at known offsets. */
static void *five_lines(size_t off[5], size_t len[5])
{
	const char *lines[5] = { L1, L2, L3, L1, L2 };
	char all[512] = "";
	size_t at = 0;

	for (int i = 0; i < 5; i++) {
		off[i] = at;
		len[i] = strlen(lines[i]);
		at += len[i];
		strcat(all, lines[i]);
	}
	tu_write_file(file, all, at);
	return open_store(file, 0, 0);
}

START_TEST(rewrite_keeps_exactly_the_ranges)
{
	struct papyra_error err;
	size_t off[5], len[5];
	void *s = five_lines(off, len);
	/* Lines 2, 4, 5: the last two adjacent. */
	struct papyra_range keep[3] = { { off[1], len[1] },
					{ off[3], len[3] },
					{ off[4], len[4] } };
	char want[512], buf[512];
	char *tmp = tu_path(dir, "events.ndjson.recover.tmp");
	uint64_t at;

	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", keep, 3, NULL,
						NULL, &replaced, &err),
			 0);
	snprintf(want, sizeof(want), "%s%s%s", L2, L1, L2);
	assert_file_str(file, want);
	ck_assert_int_eq(papyra_log_ops.size(s), strlen(want));
	ck_assert_msg(!exists(tmp), "expected no temporary file after a rewrite");
	ck_assert_int_eq(papyra_log_ops.read(s, 0, buf, strlen(want), &err), 0);
	ck_assert_msg(memcmp(buf, want, strlen(want)) == 0,
		      "expected reads to see the new file");
	ck_assert_int_eq(papyra_log_ops.append(s, L3, strlen(L3), &at, &err), 0);
	ck_assert_int_eq(at, strlen(want));
	strcat(want, L3);
	assert_file_str(file, want);
	/* Nothing kept at all: an empty file. */
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "compact", NULL, 0, NULL,
						NULL, &replaced, &err),
			 0);
	assert_file_str(file, "");
	ck_assert_int_eq(papyra_log_ops.size(s), 0);
	papyra_log_ops.close(s);
	free(tmp);
}
END_TEST

START_TEST(rewrite_keeps_mode)
{
	struct papyra_error err;
	struct stat st;
	void *s;

	tu_write_file(file, L1, strlen(L1));
	ck_assert(chmod(file, 0600) == 0);
	s = open_store(file, 0, 0);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "compact", NULL, 0, NULL,
						NULL, &replaced, &err),
			 0);
	ck_assert(stat(file, &st) == 0);
	ck_assert_msg((st.st_mode & 0777) == 0600,
		      "expected the rewritten file to keep mode 0600, got %o",
		      st.st_mode & 0777);
	papyra_log_ops.close(s);
}
END_TEST

/* Many small ranges and ranges larger than the copy buffer. */
START_TEST(rewrite_large_file)
{
	const size_t lines = 60000;
	size_t line_len = 64, total = lines * line_len, want_len = 0;
	char *data = malloc(total), *want = malloc(total);
	struct papyra_range *keep = calloc(lines, sizeof(*keep));
	struct papyra_error err;
	size_t n = 0;
	void *s;

	ck_assert(data && want && keep);
	for (size_t i = 0; i < lines; i++) {
		char *l = data + i * line_len;

		memset(l, 'a' + (int)(i % 26), line_len);
		snprintf(l, line_len, "{\"kind\":\"event\",\"i\":%zu,\"pad\":\"", i);
		l[strlen(l)] = 'x';
		l[line_len - 3] = '"';
		l[line_len - 2] = '}';
		l[line_len - 1] = '\n';
	}
	tu_write_file(file, data, total);
	s = open_store(file, 0, 0);
	/* Every third line, then one big range over the last 40%. */
	for (size_t i = 0; i < lines * 6 / 10; i += 3) {
		keep[n].offset = i * line_len;
		keep[n].length = line_len;
		memcpy(want + want_len, data + i * line_len, line_len);
		want_len += line_len;
		n++;
	}
	keep[n].offset = lines * 6 / 10 * line_len;
	keep[n].length = total - keep[n].offset;
	memcpy(want + want_len, data + keep[n].offset, keep[n].length);
	want_len += keep[n].length;
	n++;
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "compact", keep, n, NULL,
						NULL, &replaced, &err),
			 0);
	ck_assert_int_eq(papyra_log_ops.size(s), want_len);
	assert_file(file, want, want_len);
	papyra_log_ops.close(s);
	free(data);
	free(want);
	free(keep);
}
END_TEST

START_TEST(rewrite_refuses_ranges_outside_the_file)
{
	struct papyra_error err;
	struct papyra_range keep[2] = { { 0, 5 }, { strlen(L1) - 2, 3 } };
	char *tmp = tu_path(dir, "events.ndjson.compact.tmp");
	void *s;

	tu_write_file(file, L1, strlen(L1));
	s = open_store(file, 0, 0);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "compact", keep, 2, NULL,
						NULL, &replaced, &err),
			 -EINVAL);
	assert_file_str(file, L1);
	ck_assert_msg(!exists(tmp), "expected no temporary file left");
	papyra_log_ops.close(s);
	free(tmp);
}
END_TEST

/*
 * Each step of a rewrite made to fail: the file stays byte for byte, same
 * inode, no temporary file, no quarantine copy, and the store still works.
 */
static const struct {
	enum papyra_io_op op;
	unsigned long nth;
	int error;
	int quarantine;
	const char *what;
} rewrite_steps[] = {
	{ PAPYRA_IO_OPEN, 1, EACCES, 0, "temp open" },
	{ PAPYRA_IO_READ, 1, EIO, 0, "read" },
	{ PAPYRA_IO_WRITE, 1, ENOSPC, 0, "write" },
	{ PAPYRA_IO_FSYNC, 1, EIO, 0, "temp fsync" },
	{ PAPYRA_IO_RENAME, 1, EIO, 0, "rename" },
	{ PAPYRA_IO_OPEN, 1, EACCES, 1, "temp open (quarantine)" },
	{ PAPYRA_IO_WRITE, 1, EDQUOT, 1, "write (quarantine)" },
	{ PAPYRA_IO_FSYNC, 1, EIO, 1, "temp fsync (quarantine)" },
	{ PAPYRA_IO_OPEN, 2, EACCES, 1, "quarantine copy open" },
	{ PAPYRA_IO_READ, 2, EIO, 1, "quarantine copy read" },
	{ PAPYRA_IO_WRITE, 2, ENOSPC, 1, "quarantine copy write" },
	{ PAPYRA_IO_FSYNC, 2, EIO, 1, "quarantine copy fsync" },
	{ PAPYRA_IO_LINK, 1, EIO, 1, "quarantine name link" },
	{ PAPYRA_IO_FSYNC, 3, EIO, 1, "quarantine dir fsync" },
	{ PAPYRA_IO_RENAME, 1, EROFS, 1, "rename (quarantine)" },
};

START_TEST(rewrite_failure_leaves_original)
{
	struct papyra_error err;
	size_t off[5], len[5];
	void *s = five_lines(off, len);
	struct papyra_range keep[2] = { { off[0], len[0] }, { off[2], len[2] } };
	char *qdir = tu_path(dir, "quarantine");
	char *tmp = tu_path(dir, "events.ndjson.recover.tmp");
	char *q = NULL, *orig, *want;
	size_t orig_len;
	ino_t ino = inode_of(file);
	int rc;

	orig = tu_read_file(file, &orig_len);
	papyra_io_fault(rewrite_steps[_i].op, rewrite_steps[_i].nth,
			rewrite_steps[_i].error);
	rc = papyra_log_ops.rewrite(s, "recover", keep, 2,
				    rewrite_steps[_i].quarantine ? qdir : NULL,
				    &q, &replaced, &err);
	papyra_io_faults_clear();
	ck_assert_msg(rc == -rewrite_steps[_i].error,
		      "expected a failed %s to fail the rewrite with %d, got %d (%s)",
		      rewrite_steps[_i].what, -rewrite_steps[_i].error, rc,
		      err.message);
	ck_assert_msg(err.message[0] != '\0', "expected a message");
	ck_assert_msg(q == NULL, "expected no quarantine path on failure");
	ck_assert_msg(!replaced, "expected a failed %s to leave the old file "
		      "in place", rewrite_steps[_i].what);
	assert_file(file, orig, orig_len);
	ck_assert_msg(inode_of(file) == ino,
		      "expected the original inode after a failed %s",
		      rewrite_steps[_i].what);
	ck_assert_msg(!exists(tmp), "expected no temporary file after a failed %s",
		      rewrite_steps[_i].what);
	ck_assert_msg(count_entries(qdir) == 0,
		      "expected no quarantine copy after a failed %s",
		      rewrite_steps[_i].what);
	ck_assert_int_eq(papyra_log_ops.size(s), orig_len);
	/* The store still works: append, then a clean rewrite. */
	append_ok(s, L3);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", keep, 2, NULL,
						NULL, &replaced, &err),
			 0);
	want = malloc(len[0] + len[2] + 1);
	memcpy(want, L1, len[0]);
	memcpy(want + len[0], L3, len[2]);
	assert_file(file, want, len[0] + len[2]);
	papyra_log_ops.close(s);
	free(want);
	free(orig);
	free(qdir);
	free(tmp);
}
END_TEST

/*
 * A failure after the rename (the directory fsync) cannot undo the rename:
 * it is reported, and the store follows the new file.
 */
START_TEST(rewrite_dir_fsync_failure_after_rename)
{
	struct papyra_error err;
	size_t off[5], len[5];
	void *s = five_lines(off, len);
	struct papyra_range keep = { off[2], len[2] };
	char *tmp = tu_path(dir, "events.ndjson.compact.tmp");
	char want[256];

	papyra_io_fault(PAPYRA_IO_FSYNC, 2, EIO);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "compact", &keep, 1, NULL,
						NULL, &replaced, &err),
			 -EIO);
	ck_assert_msg(replaced, "expected a failed directory fsync to report "
		      "the new file as already in place");
	ck_assert_msg(strstr(err.message, "rewritten") != NULL,
		      "expected the message to say the rewrite is in place: %s",
		      err.message);
	assert_file_str(file, L3);
	ck_assert_int_eq(papyra_log_ops.size(s), strlen(L3));
	ck_assert_msg(!exists(tmp), "expected no temporary file");
	append_ok(s, L1);
	snprintf(want, sizeof(want), "%s%s", L3, L1);
	assert_file_str(file, want);
	papyra_log_ops.close(s);
	free(tmp);
}
END_TEST

static int is_quarantine_name(const char *path, const char *qdir)
{
	const char *prefix = "events.ndjson.quarantine.";
	size_t dl = strlen(qdir);
	const char *name, *p;

	if (strncmp(path, qdir, dl) || path[dl] != '/')
		return 0;
	name = path + dl + 1;
	if (strncmp(name, prefix, strlen(prefix)))
		return 0;
	p = name + strlen(prefix);
	if (!*p)
		return 0;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

START_TEST(quarantine_preserves_the_original)
{
	struct papyra_error err;
	size_t off[5], len[5];
	void *s = five_lines(off, len);
	struct papyra_range all = { 0, off[4] + len[4] };
	struct papyra_range keep = { off[1], len[1] };
	char *qdir = tu_path(dir, "q/nested");
	char *q1 = NULL, *q2 = NULL, *orig;
	size_t orig_len;
	ino_t ino = inode_of(file);
	struct stat st;

	orig = tu_read_file(file, &orig_len);
	/* The store judges nothing: quarantining a whole file is allowed. */
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", &all, 1, qdir,
						&q1, &replaced, &err),
			 0);
	ck_assert_msg(q1 && is_quarantine_name(q1, qdir),
		      "expected %s/events.ndjson.quarantine.<ms>, got %s", qdir,
		      q1 ? q1 : "(null)");
	assert_file(q1, orig, orig_len);
	ck_assert_msg(stat(q1, &st) == 0 && st.st_ino != ino && st.st_nlink == 1,
		      "expected the quarantine to be a copy of its own, not a "
		      "second name of the log");
	assert_file(file, orig, orig_len);
	/* Right away again: a distinct name, not an overwrite. */
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", &keep, 1, qdir,
						&q2, &replaced, &err),
			 0);
	ck_assert_msg(q2 && strcmp(q1, q2) != 0 && is_quarantine_name(q2, qdir),
		      "expected a second, distinct quarantine file, got %s",
		      q2 ? q2 : "(null)");
	assert_file(q1, orig, orig_len);
	assert_file(q2, orig, orig_len);
	assert_file_str(file, L2);
	ck_assert_int_eq(count_entries(qdir), 2);
	papyra_log_ops.close(s);
	free(q1);
	free(q2);
	free(qdir);
	free(orig);
}
END_TEST

/*
 * A copy cut short by a crash keeps its hidden temporary name; the next
 * quarantine removes it when its writer is gone and leaves the temporary
 * file of a running process alone.
 */
START_TEST(quarantine_removes_dead_temporary_copies)
{
	struct papyra_error err;
	size_t off[5], len[5];
	void *s = five_lines(off, len);
	struct papyra_range keep = { off[0], len[0] };
	char *qdir = tu_path(dir, "q");
	char *dead, *live, *q = NULL;
	pid_t child;
	int status;

	/* A pid that surely runs no process: a child that has been reaped. */
	child = fork();
	ck_assert(child >= 0);
	if (child == 0)
		_exit(0);
	ck_assert(waitpid(child, &status, 0) == child);
	ck_assert(mkdir(qdir, 0755) == 0);
	ck_assert(asprintf(&dead, "%s/.events.ndjson.quarantine.%ld.tmp", qdir,
			   (long)child) > 0);
	ck_assert(asprintf(&live, "%s/.events.ndjson.quarantine.%ld.tmp", qdir,
			   (long)getppid()) > 0);
	tu_write_file(dead, "{\"kind\":\"ev", 10);
	tu_write_file(live, "{\"kind\":\"ev", 10);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", &keep, 1, qdir,
						&q, &replaced, &err),
			 0);
	ck_assert_msg(!exists(dead),
		      "expected the temporary copy of a dead process removed");
	ck_assert_msg(exists(live),
		      "expected the temporary copy of a running process kept");
	ck_assert_msg(q && is_quarantine_name(q, qdir),
		      "expected a quarantine file beside them, got %s",
		      q ? q : "(null)");
	ck_assert_int_eq(count_entries(qdir), 2);
	papyra_log_ops.close(s);
	free(q);
	free(dead);
	free(live);
	free(qdir);
}
END_TEST

/*
 * A filesystem without hard links (link() fails with EPERM): the synced
 * copy is renamed into place instead, whole, with no temporary file left.
 */
START_TEST(quarantine_without_hard_links_renames)
{
	struct papyra_error err;
	size_t off[5], len[5];
	void *s = five_lines(off, len);
	struct papyra_range keep = { off[1], len[1] };
	char *qdir = tu_path(dir, "q");
	char *q = NULL, *orig;
	size_t orig_len;

	orig = tu_read_file(file, &orig_len);
	papyra_io_fault(PAPYRA_IO_LINK, 1, EPERM);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", &keep, 1, qdir,
						&q, &replaced, &err),
			 0);
	papyra_io_faults_clear();
	ck_assert_msg(q && is_quarantine_name(q, qdir),
		      "expected a quarantine file under %s, got %s", qdir,
		      q ? q : "(null)");
	assert_file(q, orig, orig_len);
	ck_assert_msg(count_entries(qdir) == 1,
		      "expected the quarantine file alone, no temporary copy");
	papyra_log_ops.close(s);
	free(q);
	free(qdir);
	free(orig);
}
END_TEST

/* Another filesystem (/dev/shm when it is one): the old file is copied. */
START_TEST(quarantine_across_filesystems_copies)
{
	struct papyra_error err;
	struct stat a, b;
	size_t off[5], len[5];
	void *s;
	struct papyra_range keep;
	char qdir[] = "/dev/shm/papyra-q.XXXXXX";
	char *q = NULL, *orig;
	size_t orig_len;

	if (stat("/dev/shm", &b) < 0 || stat(dir, &a) < 0 || a.st_dev == b.st_dev)
		return; /* no second filesystem to copy across */
	ck_assert(mkdtemp(qdir) != NULL);
	s = five_lines(off, len);
	keep.offset = off[0];
	keep.length = len[0];
	orig = tu_read_file(file, &orig_len);
	ck_assert_int_eq(papyra_log_ops.rewrite(s, "recover", &keep, 1, qdir,
						&q, &replaced, &err),
			 0);
	ck_assert_msg(q && is_quarantine_name(q, qdir),
		      "expected a quarantine file in %s, got %s", qdir,
		      q ? q : "(null)");
	assert_file(q, orig, orig_len);
	assert_file_str(file, L1);
	unlink(q);
	rmdir(qdir);
	papyra_log_ops.close(s);
	free(q);
	free(orig);
}
END_TEST

/* --- the backend over the file store -------------------------------------- */

static struct papyra_backend *open_backend(const char *path,
					   const struct papyra_retention *policy,
					   enum papyra_sync_mode sync)
{
	struct papyra_backend *b = NULL;
	struct papyra_options o;
	struct papyra_error err;
	int rc;

	papyra_options_init(&o);
	o.create = 1;
	o.sync = sync;
	if (policy)
		o.retention = *policy;
	papyra_error_clear(&err);
	rc = papyra_backend_open(&b, path, &o, NULL, &err);
	ck_assert_msg(rc == 0, "expected the backend to open '%s', got %d: %s",
		      path, rc, err.message);
	return b;
}

static void assert_scan_clean(const char *path)
{
	struct papyra_scan_report r;
	struct papyra_error err;

	papyra_scan_report_init(&r);
	ck_assert_int_eq(papyra_scan_path(path, NULL, NULL, &r, &err), 0);
	ck_assert_msg(papyra_scan_report_healthy(&r),
		      "expected a clean scan of '%s', %zu anomalies", path,
		      r.anomaly_count);
	papyra_scan_report_release(&r);
}

/* Good records with anomalies of every type between them. */
static const char DAMAGED[] =
	"{\"kind\":\"event\",\"timestamp\":1.5,\"n\":1}\n"
	"not json at all\n"
	"{\"kind\":\"audit\",\"timestamp\":2.5,\"n\":2}\n"
	"{\"kind\":\"bogus\",\"timestamp\":1}\n"
	"[1,2,3]\n"
	"{\"kind\":\"metric\",\"timestamp\":3.5,\"n\":3}\n"
	"{\"kind\":\"ev";
static const char DAMAGED_GOOD[] =
	"{\"kind\":\"event\",\"timestamp\":1.5,\"n\":1}\n"
	"{\"kind\":\"audit\",\"timestamp\":2.5,\"n\":2}\n"
	"{\"kind\":\"metric\",\"timestamp\":3.5,\"n\":3}\n";

START_TEST(backend_repair_keeps_good_lines_in_order)
{
	struct papyra_recovery_report rep = { 0 };
	struct papyra_error err;
	struct papyra_backend *b;

	tu_write_file(file, DAMAGED, strlen(DAMAGED));
	b = open_backend(file, NULL, PAPYRA_SYNC_ALWAYS);
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
						&rep, &err),
			 0);
	assert_file_str(file, DAMAGED_GOOD);
	ck_assert_msg(rep.rewritten && rep.lines_kept == 3 &&
			      rep.lines_dropped == 4,
		      "expected 3 lines kept and 4 dropped, got %llu and %llu",
		      (unsigned long long)rep.lines_kept,
		      (unsigned long long)rep.lines_dropped);
	assert_scan_clean(file);
	/* The backend goes on at the new end. */
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_ANY, L1,
					       strlen(L1), NULL, &err),
			 0);
	papyra_recovery_report_release(&rep);
	papyra_backend_free(b);
	{
		char want[512];

		snprintf(want, sizeof(want), "%s%s", DAMAGED_GOOD, L1);
		assert_file_str(file, want);
	}
}
END_TEST

START_TEST(backend_recover_leaves_healthy_file_alone)
{
	struct papyra_recovery_report rep = { 0 };
	struct papyra_error err;
	struct papyra_backend *b;
	ino_t ino;

	tu_write_file(file, DAMAGED_GOOD, strlen(DAMAGED_GOOD));
	ino = inode_of(file);
	b = open_backend(file, NULL, PAPYRA_SYNC_ALWAYS);
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
						&rep, &err),
			 0);
	ck_assert_msg(!rep.rewritten, "expected a healthy file not to be rewritten");
	ck_assert_msg(inode_of(file) == ino,
		      "expected a healthy file to keep its inode");
	assert_file_str(file, DAMAGED_GOOD);
	papyra_recovery_report_release(&rep);
	papyra_backend_free(b);
}
END_TEST

START_TEST(backend_quarantine)
{
	struct papyra_recovery_report rep = { 0 };
	struct papyra_error err;
	struct papyra_backend *b;
	char *qdir = tu_path(dir, "quarantine");

	tu_write_file(file, DAMAGED, strlen(DAMAGED));
	b = open_backend(file, NULL, PAPYRA_SYNC_ALWAYS);
	ck_assert_msg(papyra_backend_recover(b, PAPYRA_RECOVERY_QUARANTINE, NULL,
					     &rep, &err) == -EINVAL,
		      "expected quarantine without a directory to be -EINVAL");
	assert_file_str(file, DAMAGED);
	papyra_recovery_report_release(&rep);
	memset(&rep, 0, sizeof(rep));
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_QUARANTINE,
						qdir, &rep, &err),
			 0);
	ck_assert_msg(rep.quarantine_path && is_quarantine_name(rep.quarantine_path, qdir),
		      "expected the report to name the quarantined file, got %s",
		      rep.quarantine_path ? rep.quarantine_path : "(null)");
	assert_file_str(rep.quarantine_path, DAMAGED);
	assert_file_str(file, DAMAGED_GOOD);
	papyra_recovery_report_release(&rep);
	papyra_backend_free(b);
	free(qdir);
}
END_TEST

/*
 * Compaction under each policy.  Records: two old ones (timestamp 1000),
 * one without a timestamp, three recent ones, with anomalous lines between.
 */
static char R_OLD1[128], R_OLD2[128], R_NOTS[] = "{\"kind\":\"audit\",\"x\":0}\n";
static char R_NEW1[128], R_NEW2[128], R_NEW3[128];

static void write_compaction_file(void)
{
	double now = papyra_now();
	char all[2048];

	snprintf(R_OLD1, sizeof(R_OLD1), "{\"kind\":\"event\",\"timestamp\":1000.0,\"i\":1}\n");
	snprintf(R_OLD2, sizeof(R_OLD2), "{\"kind\":\"audit\",\"timestamp\":1000.5,\"i\":2}\n");
	snprintf(R_NEW1, sizeof(R_NEW1), "{\"kind\":\"event\",\"timestamp\":%.3f,\"i\":3}\n", now - 30);
	snprintf(R_NEW2, sizeof(R_NEW2), "{\"kind\":\"metric\",\"timestamp\":%.3f,\"i\":4,\"pad\":\"xxxxxxxxxx\"}\n", now - 20);
	snprintf(R_NEW3, sizeof(R_NEW3), "{\"kind\":\"dead_letter\",\"timestamp\":%.3f,\"i\":5}\n", now - 10);
	snprintf(all, sizeof(all), "%s%s%s%s%s%s%s%s", R_OLD1, "garbage\n", R_OLD2,
		 R_NOTS, R_NEW1, "{\"kind\":\"nope\"}\n", R_NEW2, R_NEW3);
	tu_write_file(file, all, strlen(all));
}

static void compact_with(const char *policy_text, const char *want)
{
	struct papyra_compaction_report rep = { 0 };
	struct papyra_retention policy;
	struct papyra_error err;
	struct papyra_backend *b;

	papyra_retention_init(&policy);
	ck_assert_int_eq(papyra_retention_parse(policy_text, &policy, &err), 0);
	b = open_backend(file, &policy, PAPYRA_SYNC_ALWAYS);
	ck_assert_msg(papyra_backend_compact(b, &rep, &err) == 0,
		      "expected compaction under \"%s\" to succeed: %s",
		      policy_text, err.message);
	ck_assert_msg(rep.records_before == 6 && rep.anomalous_lines_removed == 2,
		      "expected 6 records and 2 anomalous lines before, got %llu and %llu",
		      (unsigned long long)rep.records_before,
		      (unsigned long long)rep.anomalous_lines_removed);
	papyra_backend_free(b);
	assert_file_str(file, want);
	assert_scan_clean(file);
}

START_TEST(backend_compact_max_records)
{
	char want[1024];

	write_compaction_file();
	snprintf(want, sizeof(want), "%s%s", R_NEW2, R_NEW3);
	compact_with("max_records=2", want);
}
END_TEST

START_TEST(backend_compact_max_age)
{
	char want[1024];

	write_compaction_file();
	snprintf(want, sizeof(want), "%s%s%s", R_NEW1, R_NEW2, R_NEW3);
	compact_with("max_age=3600", want);
}
END_TEST

START_TEST(backend_compact_max_bytes)
{
	char want[1024];
	char policy[64];

	write_compaction_file();
	/* Room for the newest two and one byte short of the third. */
	snprintf(policy, sizeof(policy), "max_bytes=%zu",
		 strlen(R_NEW2) + strlen(R_NEW3) + strlen(R_NEW1) - 1);
	snprintf(want, sizeof(want), "%s%s", R_NEW2, R_NEW3);
	compact_with(policy, want);
}
END_TEST

START_TEST(backend_compact_combined)
{
	char want[1024];
	char policy[128];

	write_compaction_file();
	/* Age leaves 3, count leaves 3 of those, bytes the newest 2. */
	snprintf(policy, sizeof(policy), "max_age=3600 max_records=5 max_bytes=%zu",
		 strlen(R_NEW2) + strlen(R_NEW3));
	snprintf(want, sizeof(want), "%s%s", R_NEW2, R_NEW3);
	compact_with(policy, want);
}
END_TEST

START_TEST(backend_compact_no_policy_drops_only_anomalies)
{
	char want[1024];

	write_compaction_file();
	snprintf(want, sizeof(want), "%s%s%s%s%s%s", R_OLD1, R_OLD2, R_NOTS,
		 R_NEW1, R_NEW2, R_NEW3);
	compact_with("none", want);
}
END_TEST

START_TEST(backend_append_enospc_then_recovers)
{
	struct papyra_error err;
	struct papyra_backend *b;
	char want[256];

	tu_write_file(file, L1, strlen(L1));
	b = open_backend(file, NULL, PAPYRA_SYNC_ALWAYS);
	papyra_io_fault(PAPYRA_IO_WRITE, 1, ENOSPC);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_ANY, L2,
					       strlen(L2), NULL, &err),
			 -ENOSPC);
	assert_file_str(file, L1);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_ANY, L3,
					       strlen(L3), NULL, &err),
			 0);
	ck_assert_msg(papyra_metrics_get(papyra_backend_metrics(b),
					 PAPYRA_METRIC_WRITE_ERRORS) == 1,
		      "expected one write error counted");
	papyra_backend_free(b);
	snprintf(want, sizeof(want), "%s%s", L1, L3);
	assert_file_str(file, want);
}
END_TEST

START_TEST(backend_failed_fdatasync_latches_erofs)
{
	struct papyra_recovery_report rrep = { 0 };
	struct papyra_compaction_report crep = { 0 };
	struct papyra_error err;
	struct papyra_backend *b;
	char buf[256];
	size_t got = 0;

	tu_write_file(file, L1, strlen(L1));
	b = open_backend(file, NULL, PAPYRA_SYNC_ALWAYS);
	ck_assert_msg(papyra_backend_failure(b) == NULL, "expected no failure yet");
	papyra_io_fault(PAPYRA_IO_FDATASYNC, 1, EIO);
	ck_assert_msg(papyra_backend_append(b, PAPYRA_KIND_ANY, L2, strlen(L2),
					    NULL, &err) == -EIO,
		      "expected the append whose fdatasync failed to be -EIO");
	ck_assert_msg(papyra_backend_failure(b) != NULL,
		      "expected the backend to say why it refuses writes");
	ck_assert_msg(papyra_backend_append(b, PAPYRA_KIND_ANY, L3, strlen(L3),
					    NULL, &err) == -EROFS,
		      "expected later appends to be -EROFS");
	ck_assert_msg(papyra_backend_snapshot(b, &err) == -EROFS,
		      "expected snapshot to be -EROFS");
	ck_assert_msg(papyra_backend_compact(b, &crep, &err) == -EROFS,
		      "expected compact to be -EROFS");
	ck_assert_msg(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
					     &rrep, &err) == -EROFS,
		      "expected recover to be -EROFS");
	papyra_recovery_report_release(&rrep);
	ck_assert_int_eq(papyra_backend_read(b, PAPYRA_KIND_ANY, 0, buf,
					     sizeof(buf), &got, &err),
			 0);
	ck_assert_msg(got >= strlen(L1) && memcmp(buf, L1, strlen(L1)) == 0,
		      "expected reads to keep working after the failure");
	papyra_backend_free(b);
	/* The second record was never acknowledged; the third never written. */
	{
		size_t len;
		char *data = tu_read_file(file, &len);

		ck_assert_msg(strstr(data, "\"n\":3") == NULL,
			      "expected nothing written after the failure");
		free(data);
	}
}
END_TEST

#define APPEND_THREADS 8
#define APPENDS_EACH 500

struct appender_ctx {
	struct papyra_backend *b;
	int id;
	int failed;
};

static void *append_thread(void *arg)
{
	struct appender_ctx *c = arg;
	struct papyra_error err;
	char line[128];

	for (int i = 0; i < APPENDS_EACH; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"kind\":\"event\",\"t\":%d,\"i\":%d,\"pad\":\"%0*d\"}\n",
				 c->id, i, 1 + (i % 40), 0);

		if (papyra_backend_append(c->b, PAPYRA_KIND_EVENT, line,
					  (size_t)n, NULL, &err) != 0)
			c->failed++;
	}
	return NULL;
}

START_TEST(backend_group_commit_keeps_records_intact)
{
	struct appender_ctx ctx[APPEND_THREADS];
	pthread_t t[APPEND_THREADS];
	static int seen[APPEND_THREADS][APPENDS_EACH];
	struct papyra_backend *b = open_backend(file, NULL, PAPYRA_SYNC_ALWAYS);
	struct papyra_scan_report r;
	struct papyra_error err;
	uint64_t fsyncs, written;
	size_t len;
	char *data, *line;

	for (int i = 0; i < APPEND_THREADS; i++) {
		ctx[i].b = b;
		ctx[i].id = i;
		ctx[i].failed = 0;
		ck_assert(pthread_create(&t[i], NULL, append_thread, &ctx[i]) == 0);
	}
	for (int i = 0; i < APPEND_THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(ctx[i].failed == 0, "expected no append to fail, thread %d had %d",
			      i, ctx[i].failed);
	}
	written = papyra_metrics_get(papyra_backend_metrics(b),
				     PAPYRA_METRIC_RECORDS_WRITTEN);
	fsyncs = papyra_metrics_get(papyra_backend_metrics(b),
				    PAPYRA_METRIC_FSYNCS);
	papyra_backend_free(b);
	ck_assert_msg(written == APPEND_THREADS * APPENDS_EACH,
		      "expected %d records written, metric says %llu",
		      APPEND_THREADS * APPENDS_EACH, (unsigned long long)written);
	ck_assert_msg(fsyncs > 0 && fsyncs < written,
		      "expected concurrent appends to share fdatasyncs: %llu for %llu records",
		      (unsigned long long)fsyncs, (unsigned long long)written);
	papyra_scan_report_init(&r);
	ck_assert_int_eq(papyra_scan_path(file, NULL, NULL, &r, &err), 0);
	ck_assert_msg(papyra_scan_report_healthy(&r) &&
			      r.total_records == APPEND_THREADS * APPENDS_EACH,
		      "expected %d intact records, scan found %llu and %zu anomalies",
		      APPEND_THREADS * APPENDS_EACH,
		      (unsigned long long)r.total_records, r.anomaly_count);
	papyra_scan_report_release(&r);
	/* Each record exactly once, in each writer's order. */
	data = tu_read_file(file, &len);
	memset(seen, 0, sizeof(seen));
	{
		int last[APPEND_THREADS];

		for (int i = 0; i < APPEND_THREADS; i++)
			last[i] = -1;
		for (line = data; *line; line = strchr(line, '\n') + 1) {
			const char *tp = strstr(line, "\"t\":");
			const char *ip = strstr(line, "\"i\":");
			int ti, ii;

			ck_assert_msg(tp && ip, "expected t and i in every line");
			ti = atoi(tp + 4);
			ii = atoi(ip + 4);
			ck_assert(ti >= 0 && ti < APPEND_THREADS && ii >= 0 &&
				  ii < APPENDS_EACH);
			ck_assert_msg(!seen[ti][ii]++, "expected record %d/%d once", ti, ii);
			ck_assert_msg(ii > last[ti],
				      "expected writer %d's records in order", ti);
			last[ti] = ii;
		}
	}
	free(data);
}
END_TEST

/* --- the suite ------------------------------------------------------------ */

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("fileio");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fault_fires_on_nth_call_only);
	tcase_add_test(tc, fault_counts_exactly_across_threads);
	tcase_add_test(tc, fault_env_parsing);
	tcase_add_test(tc, write_all_survives_signals_and_short_writes);
	tcase_add_test(tc, pread_all_past_end_is_eio);
	tcase_add_test(tc, fsync_dir_syncs_the_parent);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_missing_is_enoent);
	tcase_add_test(tc, open_creates_when_asked);
	tcase_add_test(tc, open_refuses_a_directory);
	tcase_add_test(tc, read_only_refuses_writes);
	tcase_add_test(tc, open_removes_only_its_leftovers);
	tcase_add_test(tc, append_and_read_back);
	tcase_add_test(tc, append_enospc_leaves_file_untouched);
	tcase_add_test(tc, append_efbig_is_truncated_back);
	tcase_add_test(tc, append_after_failed_truncate_cuts_first);
	tcase_add_test(tc, rewrite_keeps_exactly_the_ranges);
	tcase_add_test(tc, rewrite_keeps_mode);
	tcase_add_test(tc, rewrite_large_file);
	tcase_add_test(tc, rewrite_refuses_ranges_outside_the_file);
	tcase_add_loop_test(tc, rewrite_failure_leaves_original, 0,
			    (int)(sizeof(rewrite_steps) / sizeof(rewrite_steps[0])));
	tcase_add_test(tc, rewrite_dir_fsync_failure_after_rename);
	tcase_add_test(tc, quarantine_preserves_the_original);
	tcase_add_test(tc, quarantine_removes_dead_temporary_copies);
	tcase_add_test(tc, quarantine_without_hard_links_renames);
	tcase_add_test(tc, quarantine_across_filesystems_copies);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("lock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, second_process_gets_ebusy_with_holder_pid);
	tcase_add_test(tc, busy_open_leaves_temp_files_alone);
	tcase_add_test(tc, lock_follows_the_file_through_a_rewrite);
	suite_add_tcase(s, tc);

	tc = tcase_create("backend");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, backend_repair_keeps_good_lines_in_order);
	tcase_add_test(tc, backend_recover_leaves_healthy_file_alone);
	tcase_add_test(tc, backend_quarantine);
	tcase_add_test(tc, backend_compact_max_records);
	tcase_add_test(tc, backend_compact_max_age);
	tcase_add_test(tc, backend_compact_max_bytes);
	tcase_add_test(tc, backend_compact_combined);
	tcase_add_test(tc, backend_compact_no_policy_drops_only_anomalies);
	tcase_add_test(tc, backend_append_enospc_then_recovers);
	tcase_add_test(tc, backend_failed_fdatasync_latches_erofs);
	tcase_add_test(tc, backend_group_commit_keeps_records_intact);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
