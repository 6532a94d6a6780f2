/*
 * papyrafs: mount a Papyra persistence log (or ":memory:") as a directory
 * tree.  This file is the command: it parses the mount options, opens the
 * backend and applies the startup mode before anything is served, then
 * mounts and runs the FUSE loop.  Unless -f, it forks first so that the
 * process holding the log's lock is the daemon itself, and the parent
 * waits for the child to report "ok" (mounted) or failure before exiting.
 *
 * Map:
 *   options       the fuse_opt table, fstab noise, --help, --version
 *   settings      turning option strings into struct papyra_options
 *   startup       open, startup mode, fuse_new, fuse_mount
 *   daemon        fork, the pipe to the parent, the loop, the exit
 */
#include "config.h"

#include "papyrafs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "backend.h"
#include "fileio.h"
#include "startup.h"
#include "tree.h"

/* ------------------------------------------------------------ options */

struct cmdline {
	char *max_records;
	char *max_age;
	char *max_bytes;
	char *sync;
	char *sync_ms;
	char *startup;
	char *recovery;
	char *quarantine_dir;
	char *max_record;
	char *file;       /* first positional argument */
	char *mountpoint; /* second */
	int extra_args;   /* positional arguments beyond the two */
	int foreground;
	int singlethread;
	int debug;
	int help;
	int version;
};

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_SINGLE,
	KEY_DEBUG,
	KEY_DISCARD,
};

#define OPTION(t, p) { t, offsetof(struct cmdline, p), 1 }

static const struct fuse_opt option_spec[] = {
	OPTION("max_records=%s", max_records),
	OPTION("max_age=%s", max_age),
	OPTION("max_bytes=%s", max_bytes),
	OPTION("sync=%s", sync),
	OPTION("sync_ms=%s", sync_ms),
	OPTION("startup=%s", startup),
	OPTION("recovery=%s", recovery),
	OPTION("quarantine_dir=%s", quarantine_dir),
	OPTION("max_record=%s", max_record),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	/*
	 * fstab and mount(8) noise: meaningful to mount, not to us.  mount.fuse3
	 * drops most of these itself, but a hand-run command line may carry
	 * them.  rw/ro, nodev, nosuid, noexec go on to the kernel through
	 * libfuse.
	 */
	FUSE_OPT_KEY("auto", KEY_DISCARD),
	FUSE_OPT_KEY("noauto", KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", KEY_DISCARD),
	FUSE_OPT_KEY("nofail", KEY_DISCARD),
	FUSE_OPT_KEY("user", KEY_DISCARD),
	FUSE_OPT_KEY("nouser", KEY_DISCARD),
	FUSE_OPT_KEY("users", KEY_DISCARD),
	FUSE_OPT_KEY("defaults", KEY_DISCARD),
	FUSE_OPT_KEY("dev", KEY_DISCARD),
	FUSE_OPT_KEY("suid", KEY_DISCARD),
	FUSE_OPT_KEY("exec", KEY_DISCARD),
	FUSE_OPT_KEY("x-systemd.", KEY_DISCARD),
	FUSE_OPT_KEY("comment=", KEY_DISCARD),
	FUSE_OPT_END
};

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cmdline *c = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!c->file) {
			c->file = strdup(arg);
			return c->file ? 0 : -1;
		}
		if (!c->mountpoint) {
			c->mountpoint = strdup(arg);
			return c->mountpoint ? 0 : -1;
		}
		c->extra_args++;
		return 0;
	case KEY_HELP:
		c->help = 1;
		return 0;
	case KEY_VERSION:
		c->version = 1;
		return 0;
	case KEY_FOREGROUND:
		c->foreground = 1;
		return 0;
	case KEY_SINGLE:
		c->singlethread = 1;
		return 0;
	case KEY_DEBUG:
		/* libfuse prints the requests too, so it keeps the option */
		c->debug = 1;
		c->foreground = 1;
		return 1;
	case KEY_DISCARD:
		return 0;
	default:
		return 1; /* a libfuse option: fuse_new judges it */
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: papyrafs [options] FILE MOUNTPOINT\n"
		"       papyrafs [options] :memory: MOUNTPOINT\n"
		"\n"
		"Mount the Papyra persistence log FILE (NDJSON, created if missing)\n"
		"as a directory tree; see papyrafs(1) and MOUNTPOINT/README.\n"
		"Unmount with 'fusermount3 -u MOUNTPOINT'.\n"
		"\n"
		"general options:\n"
		"    -h   --help             print this help and exit\n"
		"    -V   --version          print the versions and exit\n"
		"    -f                      stay in the foreground\n"
		"    -d   -o debug           print FUSE requests (implies -f)\n"
		"    -s                      serve one request at a time\n"
		"    -o opt,[opt...]         mount options\n"
		"\n"
		"papyrafs options:\n"
		"    -o max_records=N        retention: keep the newest N records (default none)\n"
		"    -o max_age=SECONDS      retention: hide records older than now-SECONDS (default none)\n"
		"    -o max_bytes=BYTES      retention: keep the newest records within BYTES, k/M/G (default none)\n"
		"    -o sync=MODE            always, interval or none (default always)\n"
		"    -o sync_ms=MS           period of sync=interval (default %u)\n"
		"    -o startup=MODE         ignore, scan_only, recover or fail_on_anomaly (default scan_only)\n"
		"    -o recovery=MODE        repair or quarantine, for startup=recover (default repair)\n"
		"    -o quarantine_dir=DIR   where quarantine recovery keeps damaged files (default none)\n"
		"    -o max_record=BYTES     longest accepted record line, k/M/G (default 1M)\n"
		"\n",
		PAPYRA_DEFAULT_SYNC_MS);
}

/* ----------------------------------------------------------- settings */

static int bad_value(const char *name, const char *value, const char *expected)
{
	fprintf(stderr,
		"papyrafs: bad value for option '%s': '%s' (expected %s)\n",
		name, value, expected);
	return -EINVAL;
}

/* "none" means no limit, as in ctl/retention. */
static int is_none(const char *s)
{
	return strcmp(s, "none") == 0;
}

static int parse_settings(const struct cmdline *c, struct papyra_options *o)
{
	static const char size_words[] =
		"a size in bytes, with an optional k, M or G suffix";
	uint64_t u64;
	int64_t i64;
	double d;

	papyra_options_init(o);
	o->create = 1;
	if (c->max_records) {
		if (is_none(c->max_records))
			o->retention.max_records = -1;
		else if (papyra_parse_count(c->max_records, &i64) < 0)
			return bad_value("max_records", c->max_records,
					 "a non-negative integer or none");
		else
			o->retention.max_records = i64;
	}
	if (c->max_age) {
		if (is_none(c->max_age))
			o->retention.max_age = -1;
		else if (papyra_parse_seconds(c->max_age, &d) < 0)
			return bad_value("max_age", c->max_age,
					 "non-negative seconds or none");
		else
			o->retention.max_age = d;
	}
	if (c->max_bytes) {
		if (is_none(c->max_bytes))
			o->retention.max_bytes = -1;
		else if (papyra_parse_size(c->max_bytes, &u64) < 0 ||
			 u64 > INT64_MAX)
			return bad_value("max_bytes", c->max_bytes,
					 "a size in bytes, with an optional k, "
					 "M or G suffix, or none");
		else
			o->retention.max_bytes = (int64_t)u64;
	}
	if (c->sync && papyra_sync_mode_parse(c->sync, &o->sync) < 0)
		return bad_value("sync", c->sync, "always, interval or none");
	if (c->sync_ms) {
		if (papyra_parse_count(c->sync_ms, &i64) < 0 || i64 < 1 ||
		    i64 > UINT_MAX)
			return bad_value("sync_ms", c->sync_ms,
					 "a positive number of milliseconds");
		o->sync_ms = (unsigned)i64;
	}
	if (c->startup && papyra_startup_mode_parse(c->startup, &o->startup) < 0)
		return bad_value("startup", c->startup,
				 "ignore, scan_only, recover or fail_on_anomaly");
	if (c->recovery &&
	    papyra_recovery_mode_parse(c->recovery, &o->recovery) < 0)
		return bad_value("recovery", c->recovery, "repair or quarantine");
	if (c->quarantine_dir && !c->quarantine_dir[0])
		return bad_value("quarantine_dir", c->quarantine_dir,
				 "a directory");
	if (c->max_record) {
		if (papyra_parse_size(c->max_record, &u64) < 0 || u64 < 1 ||
		    u64 > SIZE_MAX)
			return bad_value("max_record", c->max_record,
					 size_words);
		o->max_record = (size_t)u64;
	}
	if (o->startup == PAPYRA_STARTUP_RECOVER &&
	    o->recovery == PAPYRA_RECOVERY_QUARANTINE && !c->quarantine_dir) {
		fprintf(stderr, "papyrafs: recovery=quarantine needs "
				"-o quarantine_dir=DIR\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * path made absolute without requiring it to exist (FILE is created at
 * mount, the quarantine directory at first use): the daemon chdirs to /,
 * and the lock's holder is found by the absolute path in /proc/mounts.
 * The directory part must exist and is resolved, so the path is canonical.
 */
static char *absolute_path(const char *path)
{
	char *copy, *slash, *dir, *base, *out;
	char resolved[PATH_MAX];
	size_t n;

	if (realpath(path, resolved))
		return strdup(resolved);
	copy = strdup(path);
	if (!copy)
		return NULL;
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	slash = strrchr(copy, '/');
	if (slash) {
		*slash = '\0';
		dir = slash == copy ? "/" : copy;
		base = slash + 1;
	} else {
		dir = ".";
		base = copy;
	}
	if (!realpath(dir, resolved)) {
		free(copy);
		return NULL;
	}
	n = strlen(resolved) + strlen(base) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s%s", resolved,
			 strcmp(resolved, "/") == 0 ? "" : "/", base);
	free(copy);
	return out;
}

/* fuse_opt splits -o at commas; a backslash keeps one in a value. */
static char *opt_escape(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

static int add_mount_options(struct fuse_args *args, const char *fsname)
{
	char *esc = opt_escape(fsname);
	char *opt;
	size_t n;
	int rc;

	if (!esc)
		return -1;
	n = strlen(esc) + 64;
	opt = malloc(n);
	if (!opt) {
		free(esc);
		return -1;
	}
	snprintf(opt, n, "-ofsname=%s,subtype=papyrafs,default_permissions",
		 esc);
	rc = fuse_opt_add_arg(args, opt);
	free(opt);
	free(esc);
	return rc;
}

/* ------------------------------------------------------------ startup */

/*
 * Tell the parent how the start went: "ok", or nothing (it reads EOF and
 * exits 1; the child has already said why on stderr).
 */
static void notify_parent(int fd, int ok)
{
	ssize_t n;

	if (fd < 0)
		return;
	if (ok) {
		do
			n = write(fd, "ok", 2);
		while (n < 0 && errno == EINTR);
	}
	close(fd);
}

static int apply_startup(struct papyrafs *st,
			 const struct papyra_scan_report *scan)
{
	struct papyra_startup_result res;
	struct papyra_buf text = PAPYRA_BUF_INIT;
	struct papyra_error err;
	int rc;

	memset(&res, 0, sizeof(res));
	papyra_error_clear(&err);
	rc = papyra_startup_apply(st->backend, st->opts.startup,
				  st->opts.recovery, st->opts.quarantine_dir,
				  scan, &res, &err);
	if (rc < 0) {
		fprintf(stderr, "papyrafs: startup recovery of '%s' failed: %s\n",
			st->file, err.message);
		goto out;
	}
	if (res.recovered) {
		papyra_recovery_report_text(&res.recovery, &st->last_recover);
		fprintf(stderr, "papyrafs: '%s' had %d anomalies; recovered "
				"at mount (%s), %d remain\n",
			st->file, res.anomalies_found,
			papyra_recovery_mode_name(st->opts.recovery),
			res.anomalies_remaining);
	}
	if (!res.passed) {
		if (st->opts.startup == PAPYRA_STARTUP_FAIL_ON_ANOMALY) {
			papyra_scan_report_text(scan, &text);
			fputs(text.data ? text.data : "", stderr);
			fprintf(stderr,
				"papyrafs: '%s' has %d anomalies and "
				"startup=fail_on_anomaly: not mounted; repair "
				"it with 'papyra persistence recover --path %s' "
				"or mount with -o startup=recover\n",
				st->file, res.anomalies_found, st->file);
		} else {
			fprintf(stderr, "papyrafs: '%s' still has %d anomalies "
					"after recovery: not mounted\n",
				st->file, res.anomalies_remaining);
		}
		rc = -EIO;
		goto out;
	}
	if (!res.recovered && res.anomalies_found &&
	    st->opts.startup == PAPYRA_STARTUP_SCAN_ONLY)
		fprintf(stderr, "papyrafs: warning: '%s' has %d anomalies; "
				"see scan/report, repair with 'echo repair > "
				"ctl/recover'\n",
			st->file, res.anomalies_found);
out:
	papyra_buf_release(&text);
	papyra_startup_result_release(&res);
	return rc;
}

/* Open the log and apply the startup mode; nothing is served yet. */
static int open_log(struct papyrafs *st)
{
	struct papyra_scan_report scan;
	struct papyra_error err;
	int rc;

	papyra_scan_report_init(&scan);
	papyra_error_clear(&err);
	rc = papyra_backend_open(&st->backend, st->file, &st->opts, &scan,
				 &err);
	if (rc < 0) {
		fprintf(stderr, "papyrafs: %s\n",
			err.message[0] ? err.message : strerror(-rc));
		st->backend = NULL;
	} else {
		rc = apply_startup(st, &scan);
	}
	papyra_scan_report_release(&scan);
	return rc;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/*
 * Everything the daemon does, in the daemon process: open, check, mount,
 * report to the parent (notify_fd, -1 in the foreground), serve.
 */
static int serve(struct papyrafs *st, struct fuse_args *args,
		 const struct cmdline *c, int notify_fd)
{
	struct fuse *f;
	int rc;

	if (open_log(st) < 0) {
		notify_parent(notify_fd, 0);
		return 1;
	}
	f = fuse_new(args, &papyrafs_ops, sizeof(papyrafs_ops), st);
	if (!f) {
		notify_parent(notify_fd, 0);
		return 1;
	}
	/*
	 * Handlers first: a SIGTERM that comes as soon as the mount is seen
	 * must end the loop and unmount, not kill the daemon and leave the
	 * mountpoint stale.  A signal before the loop marks the session
	 * exited, and the loop returns at once.
	 */
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		fprintf(stderr, "papyrafs: cannot set signal handlers\n");
		fuse_destroy(f);
		notify_parent(notify_fd, 0);
		return 1;
	}
	if (fuse_mount(f, c->mountpoint) != 0) {
		fuse_remove_signal_handlers(fuse_get_session(f));
		fuse_destroy(f);
		notify_parent(notify_fd, 0);
		return 1;
	}
	if (notify_fd >= 0) {
		openlog("papyrafs", LOG_PID, LOG_DAEMON);
		st->use_syslog = 1;
		notify_parent(notify_fd, 1);
		detach_stdio();
		if (chdir("/") != 0)
			papyrafs_log(st, LOG_WARNING, "chdir /: %s",
				     strerror(errno));
	}
	rc = c->singlethread ? fuse_loop(f) : fuse_loop_mt(f, 0);
	/* > 0: the signal that ended the loop, a clean stop */
	if (rc < 0)
		papyrafs_log(st, LOG_ERR, "fuse loop failed: %s",
			     strerror(-rc));
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	return rc < 0 ? 1 : 0;
}

/* ------------------------------------------------------------- daemon */

static int daemonize_and_serve(struct papyrafs *st, struct fuse_args *args,
			       const struct cmdline *c)
{
	int fds[2], status;
	char buf[8];
	ssize_t n;
	pid_t pid;

	if (pipe(fds) != 0) {
		fprintf(stderr, "papyrafs: pipe: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "papyrafs: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (setsid() < 0)
			fprintf(stderr, "papyrafs: setsid: %s\n",
				strerror(errno));
		return serve(st, args, c, fds[1]);
	}
	close(fds[1]);
	do
		n = read(fds[0], buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == 2 && memcmp(buf, "ok", 2) == 0)
		_exit(0);
	/* The child failed before detaching; collect it. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(1);
}

static void state_release(struct papyrafs *st)
{
	papyra_backend_free(st->backend);
	papyra_buf_release(&st->last_compact);
	papyra_buf_release(&st->last_recover);
	pthread_mutex_destroy(&st->ctl_lock);
	pthread_mutex_destroy(&st->scan_lock);
	free(st->file);
	free(st->qdir);
}

static void cmdline_release(struct cmdline *c)
{
	free(c->max_records);
	free(c->max_age);
	free(c->max_bytes);
	free(c->sync);
	free(c->sync_ms);
	free(c->startup);
	free(c->recovery);
	free(c->quarantine_dir);
	free(c->max_record);
	free(c->file);
	free(c->mountpoint);
}

/* A killed daemon leaves its mountpoint answering ENOTCONN. */
static int check_mountpoint(const char *mnt)
{
	struct stat sb;

	if (stat(mnt, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		fprintf(stderr, "papyrafs: mountpoint '%s' is not a directory\n",
			mnt);
		return -ENOTDIR;
	}
	if (errno == ENOTCONN) {
		fprintf(stderr,
			"papyrafs: '%s' is a stale mount (a killed daemon left "
			"it: %s); clear it with 'fusermount3 -uz %s'\n",
			mnt, strerror(ENOTCONN), mnt);
		return -ENOTCONN;
	}
	fprintf(stderr, "papyrafs: bad mountpoint '%s': %s\n", mnt,
		strerror(errno));
	return -errno;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cmdline c;
	struct papyrafs st;
	int rc = 1;

	signal(SIGXFSZ, SIG_IGN); /* EFBIG from write() instead of death */
	memset(&c, 0, sizeof(c));
	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.ctl_lock, NULL);
	pthread_mutex_init(&st.scan_lock, NULL);

	if (fuse_opt_parse(&args, &c, option_spec, opt_proc) != 0)
		goto out;
	if (c.help) {
		usage(stdout);
		printf("FUSE options:\n");
		fflush(stdout);
		fuse_lib_help(&args);
		rc = 0;
		goto out;
	}
	if (c.version) {
		printf("papyrafs version %s\n", PACKAGE_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fflush(stdout);
		fuse_lowlevel_version();
		rc = 0;
		goto out;
	}
	if (!c.file || !c.mountpoint || c.extra_args) {
		fprintf(stderr, "papyrafs: %s\n",
			!c.file ? "missing FILE"
			: !c.mountpoint ? "missing MOUNTPOINT"
					: "too many arguments");
		fprintf(stderr, "see 'papyrafs --help' for usage\n");
		goto out;
	}
	if (papyra_io_faults_from_env() < 0) {
		fprintf(stderr, "papyrafs: bad PAPYRA_FAULT\n");
		goto out;
	}
	if (parse_settings(&c, &st.opts) < 0)
		goto out;

	if (strcmp(c.file, PAPYRA_MEMORY_PATH) == 0)
		st.file = strdup(PAPYRA_MEMORY_PATH);
	else
		st.file = absolute_path(c.file);
	if (!st.file) {
		fprintf(stderr, "papyrafs: cannot open '%s': %s\n", c.file,
			strerror(errno));
		goto out;
	}
	if (c.quarantine_dir) {
		st.qdir = absolute_path(c.quarantine_dir);
		if (!st.qdir) {
			fprintf(stderr, "papyrafs: bad quarantine_dir '%s': %s\n",
				c.quarantine_dir, strerror(errno));
			goto out;
		}
		st.opts.quarantine_dir = st.qdir;
	}
	st.mountpoint = c.mountpoint;
	st.uid = getuid();
	st.gid = getgid();
	clock_gettime(CLOCK_REALTIME, &st.mount_time);
	if (check_mountpoint(c.mountpoint) < 0)
		goto out;
	if (add_mount_options(&args, st.file) != 0) {
		fprintf(stderr, "papyrafs: out of memory\n");
		goto out;
	}
	if (c.foreground)
		rc = serve(&st, &args, &c, -1);
	else
		rc = daemonize_and_serve(&st, &args, &c);
out:
	state_release(&st);
	cmdline_release(&c);
	fuse_opt_free_args(&args);
	return rc;
}
