/*
 * papyra: maintenance of a Papyra persistence log from the shell (SPEC §10),
 * with Papyra's commands and exit codes.  Commands are thin: parse the
 * options with getopt_long, call the library, print its report on stdout
 * and map the result to an exit code.  Usage errors exit 64 with one
 * message line and a pointer to --help on stderr; a file that cannot be
 * read, or that a running papyrafs holds, exits 1 with the library's
 * message.
 *
 * Map of this file:
 *   messages and exit codes     usage_error(), lib_error(), write_out()
 *   options                     the option table, parse_args()
 *   opening a log               open_log()
 *   commands                    cmd_scan() ... cmd_doctor_run()
 *   help texts, command table   commands[], group and top-level help
 *   dispatch                    main()
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fileio.h"
#include "maintenance.h"
#include "options.h"
#include "scan.h"
#include "startup.h"

#define EXIT_USAGE 64 /* EX_USAGE of sysexits.h, as Papyra's CLI uses */

struct cli_args;

/*
 * One subcommand.  accepts is a mask of the options below that it takes;
 * every other option is unknown to it, so getopt_long never expands an
 * abbreviation into an option the command does not have.
 */
struct command {
	const char *group;    /* "persistence" or "doctor" */
	const char *name;     /* "scan", ..., "run" */
	const char *synopsis; /* the options, after "papyra GROUP NAME" */
	const char *summary;  /* one line for the group's help */
	const char *help;     /* the options' descriptions */
	unsigned accepts;
	int (*run)(struct cli_args *a);
};

/* ---------------------------------------------------------------------- */
/* Messages and exit codes                                                */
/* ---------------------------------------------------------------------- */

/*
 * A usage error: one line naming the problem, one line pointing to the
 * help of where it happened (what, e.g. "persistence scan", or "" for the
 * top level).  Returns EXIT_USAGE.
 */
static int usage_error(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	fputs("papyra: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'papyra%s%s --help'\n", *what ? " " : "", what);
	return EXIT_USAGE;
}

/* A failure the library reported: its message, or errno text about path. */
static int lib_error(int rc, const struct papyra_error *err, const char *path)
{
	if (err->message[0])
		fprintf(stderr, "papyra: %s\n", err->message);
	else
		fprintf(stderr, "papyra: '%s': %s\n", path, strerror(-rc));
	return 1;
}

/* Print a rendered report on stdout. */
static void write_out(const struct papyra_buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, stdout);
}

/* ---------------------------------------------------------------------- */
/* Options                                                                */
/* ---------------------------------------------------------------------- */

enum opt_id {
	OPT_HELP = 0,
	OPT_PATH,
	OPT_JSON,
	OPT_MODE,
	OPT_RECOVERY_MODE,
	OPT_QUARANTINE_DIR,
	OPT_MAX_RECORDS,
	OPT_MAX_AGE,
	OPT_MAX_BYTES,
	OPT_LIMIT,
	OPT_SHOW_METRICS,
	OPT_COUNT
};

#define ACCEPT(id) (1u << (id))
/* getopt_long values of the long-only options: past every char */
#define OPT_VAL(id) (256 + (id))

static const struct option all_options[OPT_COUNT] = {
	[OPT_HELP] = { "help", no_argument, NULL, 'h' },
	[OPT_PATH] = { "path", required_argument, NULL, 'p' },
	[OPT_JSON] = { "json", no_argument, NULL, OPT_VAL(OPT_JSON) },
	[OPT_MODE] = { "mode", required_argument, NULL, OPT_VAL(OPT_MODE) },
	[OPT_RECOVERY_MODE] = { "recovery-mode", required_argument, NULL,
				OPT_VAL(OPT_RECOVERY_MODE) },
	[OPT_QUARANTINE_DIR] = { "quarantine-dir", required_argument, NULL,
				 OPT_VAL(OPT_QUARANTINE_DIR) },
	[OPT_MAX_RECORDS] = { "max-records", required_argument, NULL,
			      OPT_VAL(OPT_MAX_RECORDS) },
	[OPT_MAX_AGE] = { "max-age", required_argument, NULL,
			  OPT_VAL(OPT_MAX_AGE) },
	[OPT_MAX_BYTES] = { "max-bytes", required_argument, NULL,
			    OPT_VAL(OPT_MAX_BYTES) },
	[OPT_LIMIT] = { "limit", required_argument, NULL, OPT_VAL(OPT_LIMIT) },
	[OPT_SHOW_METRICS] = { "show-metrics", no_argument, NULL,
			       OPT_VAL(OPT_SHOW_METRICS) },
};

/* What the command line said; the command interprets mode strings. */
struct cli_args {
	char what[64];                 /* "persistence scan", for messages */
	const char *path;
	int json;
	int show_metrics;
	const char *mode;              /* NULL: the command's default */
	const char *recovery_mode;     /* NULL: repair */
	const char *quarantine_dir;
	struct papyra_retention retention;
	int64_t limit;                 /* < 0: no record listing */
};

/* The option as the user spelled it, without any "=value". */
static int opt_spelling(const char *arg)
{
	return (int)strcspn(arg, "=");
}

/* How many of longopts the long option spelled arg[0..n) abbreviates. */
static int prefix_matches(const struct option *longopts, const char *arg,
			  int n)
{
	int count = 0;

	for (; longopts->name; longopts++)
		if (strncmp(longopts->name, arg, (size_t)n) == 0)
			count++;
	return count;
}

/* Report what getopt_long refused ('?' or ':'), as a usage error. */
static int option_error(const struct cli_args *a, int c, char **argv,
			const struct option *longopts)
{
	const char *arg = argv[optind - 1];
	int is_long = strncmp(arg, "--", 2) == 0;

	if (c == ':') {
		if (is_long)
			return usage_error(a->what,
					   "option '%.*s' needs a value for '%s'",
					   opt_spelling(arg), arg, a->what);
		return usage_error(a->what, "option '-%c' needs a value for '%s'",
				   optopt, a->what);
	}
	/*
	 * glibc leaves optopt 0 for an unknown long option, and sets it to
	 * the option's value for a known one given "=value" it cannot take.
	 */
	if (optopt == 0 || !is_long) {
		if (optopt == 0 && is_long &&
		    prefix_matches(longopts, arg + 2, opt_spelling(arg) - 2) > 1)
			return usage_error(a->what,
					   "ambiguous option '%.*s' for '%s'",
					   opt_spelling(arg), arg, a->what);
		if (optopt == 0)
			return usage_error(a->what,
					   "unknown option '%.*s' for '%s'",
					   opt_spelling(arg), arg, a->what);
		return usage_error(a->what, "unknown option '-%c' for '%s'",
				   optopt, a->what);
	}
	return usage_error(a->what, "option '%.*s' takes no value for '%s'",
			   opt_spelling(arg), arg, a->what);
}

static int bad_value(const struct cli_args *a, const char *opt,
		     const char *value, const char *expected)
{
	return usage_error(a->what, "invalid %s '%s' for '%s': expected %s", opt,
			   value, a->what, expected);
}

static void print_command_help(const struct command *cmd);

/*
 * Parse argv (argv[0] is the command's name) into *a.  Returns 0 to run
 * the command, -1 when --help was printed (exit 0), or EXIT_USAGE.
 */
static int parse_args(const struct command *cmd, int argc, char **argv,
		      struct cli_args *a)
{
	struct option longopts[OPT_COUNT + 1];
	const char *shortopts = ":hp:"; /* ':': we report errors ourselves */
	size_t n = 0;
	uint64_t size;
	double secs;
	int c;

	memset(a, 0, sizeof(*a));
	snprintf(a->what, sizeof(a->what), "%s %s", cmd->group, cmd->name);
	papyra_retention_init(&a->retention);
	a->limit = -1;

	for (int i = 0; i < OPT_COUNT; i++)
		if (cmd->accepts & ACCEPT(i))
			longopts[n++] = all_options[i];
	memset(&longopts[n], 0, sizeof(longopts[n]));

	opterr = 0;
	optind = 0; /* glibc: start afresh, argv[0] is skipped */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_command_help(cmd);
			return -1;
		case 'p':
			if (!optarg[0])
				return bad_value(a, "--path", optarg,
						 "a file name");
			a->path = optarg;
			break;
		case OPT_VAL(OPT_JSON):
			a->json = 1;
			break;
		case OPT_VAL(OPT_SHOW_METRICS):
			a->show_metrics = 1;
			break;
		case OPT_VAL(OPT_MODE):
			a->mode = optarg;
			break;
		case OPT_VAL(OPT_RECOVERY_MODE):
			a->recovery_mode = optarg;
			break;
		case OPT_VAL(OPT_QUARANTINE_DIR):
			if (!optarg[0])
				return bad_value(a, "--quarantine-dir", optarg,
						 "a directory");
			a->quarantine_dir = optarg;
			break;
		case OPT_VAL(OPT_MAX_RECORDS):
			if (papyra_parse_count(optarg, &a->retention.max_records))
				return bad_value(a, "--max-records", optarg,
						 "a number of records");
			break;
		case OPT_VAL(OPT_MAX_AGE):
			if (papyra_parse_seconds(optarg, &secs))
				return bad_value(a, "--max-age", optarg,
						 "seconds");
			a->retention.max_age = secs;
			break;
		case OPT_VAL(OPT_MAX_BYTES):
			if (papyra_parse_size(optarg, &size) ||
			    size > INT64_MAX)
				return bad_value(a, "--max-bytes", optarg,
						 "bytes, with an optional k, M "
						 "or G suffix");
			a->retention.max_bytes = (int64_t)size;
			break;
		case OPT_VAL(OPT_LIMIT):
			if (papyra_parse_count(optarg, &a->limit))
				return bad_value(a, "--limit", optarg,
						 "a number of records");
			break;
		default: /* '?' or ':' */
			return option_error(a, c, argv, longopts);
		}
	}
	if (optind < argc)
		return usage_error(a->what, "unexpected argument '%s' for '%s'",
				   argv[optind], a->what);
	if (!a->path)
		return usage_error(a->what, "missing --path FILE for '%s'",
				   a->what);
	/* The CLI works on files: ":memory:" is a file of that name here. */
	if (strcmp(a->path, PAPYRA_MEMORY_PATH) == 0)
		a->path = "./" PAPYRA_MEMORY_PATH;
	return 0;
}

/* --recovery-mode (or recover's --mode) and its quarantine directory. */
static int parse_recovery(const struct cli_args *a, const char *opt,
			  const char *value, enum papyra_recovery_mode *out)
{
	*out = PAPYRA_RECOVERY_REPAIR;
	if (value && papyra_recovery_mode_parse(value, out))
		return bad_value(a, opt, value, "repair or quarantine");
	if (*out == PAPYRA_RECOVERY_QUARANTINE && !a->quarantine_dir)
		return usage_error(a->what,
				   "%s quarantine needs --quarantine-dir DIR "
				   "for '%s'",
				   opt, a->what);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Opening a log                                                          */
/* ---------------------------------------------------------------------- */

/*
 * Open the log at path.  read_only opens take no lock and work on a file
 * a papyrafs is serving; the others take the lock, so a mounted file is
 * refused with the library's message naming the holder.  Returns 0, 1
 * when the file does not exist (a missing file is an empty log), or -1
 * after printing why it could not be opened.
 */
static int open_log(const char *path, struct papyra_options *opts,
		    struct papyra_backend **b, struct papyra_scan_report *scan)
{
	struct papyra_error err;
	int rc;

	papyra_error_clear(&err);
	opts->create = 0;
	rc = papyra_backend_open(b, path, opts, scan, &err);
	if (rc == -ENOENT)
		return 1;
	if (rc < 0) {
		lib_error(rc, &err, path);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Commands                                                               */
/* ---------------------------------------------------------------------- */

static int cmd_scan(struct cli_args *a)
{
	struct papyra_scan_report r;
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct papyra_error err;
	int rc, status;

	papyra_error_clear(&err);
	papyra_scan_report_init(&r);
	rc = papyra_scan_path(a->path, NULL, NULL, &r, &err);
	if (rc < 0) {
		papyra_scan_report_release(&r);
		return lib_error(rc, &err, a->path);
	}
	if (!r.backend)
		r.backend = "json";
	if (a->json) {
		rc = papyra_scan_report_json(&r, &out);
	} else {
		/* the text says so when the file does not exist */
		rc = papyra_scan_report_text(&r, &out);
	}
	status = papyra_scan_report_healthy(&r) ? 0 : 2;
	papyra_scan_report_release(&r);
	if (rc < 0) {
		papyra_buf_release(&out);
		fprintf(stderr, "papyra: cannot render the report: %s\n",
			strerror(-rc));
		return 1;
	}
	write_out(&out);
	papyra_buf_release(&out);
	return status;
}

static int cmd_recover(struct cli_args *a)
{
	struct papyra_recovery_report rep;
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct papyra_backend *b = NULL;
	struct papyra_options opts;
	struct papyra_error err;
	enum papyra_recovery_mode mode;
	int rc;

	rc = parse_recovery(a, "--mode", a->mode, &mode);
	if (rc)
		return rc;

	papyra_options_init(&opts);
	opts.recovery = mode;
	opts.quarantine_dir = a->quarantine_dir;
	rc = open_log(a->path, &opts, &b, NULL);
	if (rc < 0)
		return 1;
	if (rc == 1) {
		printf("'%s' does not exist: nothing to recover\n", a->path);
		return 0;
	}

	memset(&rep, 0, sizeof(rep));
	papyra_error_clear(&err);
	rc = papyra_backend_recover(b, mode, a->quarantine_dir, &rep, &err);
	if (rc < 0)
		lib_error(rc, &err, a->path);
	else
		rc = papyra_recovery_report_text(&rep, &out);
	papyra_backend_free(b);
	papyra_recovery_report_release(&rep);
	if (rc < 0) {
		papyra_buf_release(&out);
		return 1;
	}
	write_out(&out);
	papyra_buf_release(&out);
	return 0;
}

static int cmd_compact(struct cli_args *a)
{
	struct papyra_compaction_report rep;
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct papyra_backend *b = NULL;
	struct papyra_options opts;
	struct papyra_error err;
	int rc;

	papyra_options_init(&opts);
	opts.retention = a->retention;
	rc = open_log(a->path, &opts, &b, NULL);
	if (rc < 0)
		return 1;
	if (rc == 1) {
		printf("'%s' does not exist: nothing to compact\n", a->path);
		return 0;
	}

	memset(&rep, 0, sizeof(rep));
	papyra_error_clear(&err);
	rc = papyra_backend_compact(b, &rep, &err);
	if (rc < 0)
		lib_error(rc, &err, a->path);
	else
		rc = papyra_compaction_report_text(&rep, &out);
	papyra_backend_free(b);
	if (rc < 0) {
		papyra_buf_release(&out);
		return 1;
	}
	write_out(&out);
	papyra_buf_release(&out);
	return 0;
}

/*
 * inspect --limit N: the newest n live records, as stored, oldest first.
 * The live view is read backwards in chunks only as far as the n-th line
 * from its end, so the cost follows n, not the size of the log.
 */
static int append_newest(struct papyra_backend *b, uint64_t n,
			 struct papyra_buf *out, struct papyra_error *err)
{
	uint64_t counts[PAPYRA_KIND_COUNT], live_bytes, total = 0;
	uint64_t size, pos, start = 0;
	char chunk[65536];
	size_t got;
	int rc;

	papyra_backend_live_counts(b, counts, &live_bytes);
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		total += counts[k];
	rc = papyra_buf_printf(out, "newest records: %" PRIu64 " of %" PRIu64
			       "\n", n < total ? n : total, total);
	if (rc < 0 || n == 0)
		return rc;

	/* Every line of the view ends in '\n': skip the last one. */
	size = papyra_backend_size(b, PAPYRA_KIND_ANY);
	pos = size ? size - 1 : 0;
	while (pos > 0 && start == 0) {
		size_t len = pos > sizeof(chunk) ? sizeof(chunk) : (size_t)pos;
		uint64_t off = pos - len;

		rc = papyra_backend_read(b, PAPYRA_KIND_ANY, off, chunk, len,
					 &got, err);
		if (rc < 0)
			return rc;
		if (got > len)
			got = len;
		for (size_t i = got; i-- > 0;) {
			if (chunk[i] == '\n' && --n == 0) {
				start = off + i + 1;
				break;
			}
		}
		pos = off;
	}

	for (pos = start; pos < size; pos += got) {
		rc = papyra_buf_reserve(out, sizeof(chunk));
		if (rc < 0)
			return rc;
		rc = papyra_backend_read(b, PAPYRA_KIND_ANY, pos,
					 out->data + out->len, sizeof(chunk),
					 &got, err);
		if (rc < 0)
			return rc;
		if (got == 0)
			break;
		out->len += got;
		out->data[out->len] = '\0';
	}
	return 0;
}

static int cmd_inspect(struct cli_args *a)
{
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct papyra_backend *b = NULL;
	struct papyra_options opts;
	struct papyra_error err;
	int rc;

	papyra_options_init(&opts);
	opts.read_only = 1;
	rc = open_log(a->path, &opts, &b, NULL);
	if (rc < 0)
		return 1;
	if (rc == 1) {
		printf("'%s' does not exist: an empty log with no records\n",
		       a->path);
		return 0;
	}

	papyra_error_clear(&err);
	rc = papyra_backend_inspect(b, a->show_metrics, &out, &err);
	if (rc == 0 && a->limit >= 0)
		rc = append_newest(b, (uint64_t)a->limit, &out, &err);
	papyra_backend_free(b);
	if (rc < 0) {
		papyra_buf_release(&out);
		return lib_error(rc, &err, a->path);
	}
	write_out(&out);
	papyra_buf_release(&out);
	return 0;
}

static const char *anomalies(size_t n)
{
	return n == 1 ? "anomaly" : "anomalies";
}

/* What startup-check and doctor run learned. */
struct check {
	int missing;              /* the file does not exist */
	size_t found;             /* anomalies in the first scan */
	struct papyra_startup_result result;
};

/*
 * Open the log (read-only unless mode is recover, which rewrites it),
 * print its scan report unless mode is ignore, and apply mode.  Returns 0
 * or 1 after printing why it failed.
 */
static int run_check(const struct cli_args *a, enum papyra_startup_mode mode,
		     enum papyra_recovery_mode recovery, struct check *chk)
{
	struct papyra_scan_report scan;
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct papyra_backend *b = NULL;
	struct papyra_options opts;
	struct papyra_error err;
	int rc;

	memset(chk, 0, sizeof(*chk));
	papyra_options_init(&opts);
	opts.startup = mode;
	opts.recovery = recovery;
	opts.quarantine_dir = a->quarantine_dir;
	opts.read_only = mode != PAPYRA_STARTUP_RECOVER;
	papyra_scan_report_init(&scan);
	rc = open_log(a->path, &opts, &b, &scan);
	if (rc != 0) {
		papyra_scan_report_release(&scan);
		chk->missing = rc == 1;
		return rc < 0 ? 1 : 0;
	}
	chk->found = scan.anomaly_count;
	if (!scan.backend)
		scan.backend = "json";
	rc = 0;
	if (mode != PAPYRA_STARTUP_IGNORE)
		rc = papyra_scan_report_text(&scan, &out);

	papyra_error_clear(&err);
	if (rc == 0) {
		rc = papyra_startup_apply(b, mode, recovery, a->quarantine_dir,
					  &scan, &chk->result, &err);
		if (rc == 0 && chk->result.recovered)
			rc = papyra_recovery_report_text(&chk->result.recovery,
							 &out);
	}
	write_out(&out);
	papyra_buf_release(&out);
	papyra_scan_report_release(&scan);
	papyra_backend_free(b);
	if (rc < 0) {
		lib_error(rc, &err, a->path);
		return 1;
	}
	return 0;
}

static int cmd_startup_check(struct cli_args *a)
{
	enum papyra_startup_mode mode = PAPYRA_STARTUP_FAIL_ON_ANOMALY;
	enum papyra_recovery_mode recovery;
	const char *name;
	struct check chk;
	int rc;

	if (a->mode && papyra_startup_mode_parse(a->mode, &mode))
		return bad_value(a, "--mode", a->mode,
				 "ignore, scan_only, recover or "
				 "fail_on_anomaly");
	rc = parse_recovery(a, "--recovery-mode", a->recovery_mode, &recovery);
	if (rc)
		return rc;
	if (run_check(a, mode, recovery, &chk))
		return 1;

	name = papyra_startup_mode_name(mode);
	if (chk.missing) {
		printf("startup check: passed (mode %s): '%s' does not exist, "
		       "an empty log\n", name, a->path);
		return 0;
	}
	rc = chk.result.passed ? 0 : 1;
	if (chk.result.passed && chk.found == 0)
		printf("startup check: passed (mode %s)\n", name);
	else if (chk.result.passed && chk.result.recovered)
		printf("startup check: passed (mode %s): %zu %s repaired\n",
		       name, chk.found, anomalies(chk.found));
	else if (chk.result.passed)
		printf("startup check: passed (mode %s): %zu %s left in "
		       "place\n", name, chk.found, anomalies(chk.found));
	else if (chk.result.recovered)
		printf("startup check: failed (mode %s): anomalies remain "
		       "after recovery\n", name);
	else
		printf("startup check: failed (mode %s): %zu %s; repair "
		       "with 'papyra persistence recover --path %s'\n",
		       name, chk.found, anomalies(chk.found), a->path);
	papyra_startup_result_release(&chk.result);
	return rc;
}

static int cmd_doctor_run(struct cli_args *a)
{
	enum papyra_startup_mode mode = PAPYRA_STARTUP_FAIL_ON_ANOMALY;
	enum papyra_recovery_mode recovery;
	struct check chk;
	int rc;

	/* doctor has no scan_only: looking without acting is `scan` */
	if (a->mode && (papyra_startup_mode_parse(a->mode, &mode) ||
			mode == PAPYRA_STARTUP_SCAN_ONLY))
		return bad_value(a, "--mode", a->mode,
				 "ignore, fail_on_anomaly or recover");
	rc = parse_recovery(a, "--recovery-mode", a->recovery_mode, &recovery);
	if (rc)
		return rc;
	if (run_check(a, mode, recovery, &chk))
		return 1;

	if (chk.missing) {
		printf("doctor: healthy: '%s' does not exist, an empty log\n",
		       a->path);
		return 0;
	}
	if (chk.found == 0) {
		printf("doctor: healthy\n");
		rc = 0;
	} else if (mode == PAPYRA_STARTUP_IGNORE) {
		printf("doctor: %zu %s ignored (mode ignore)\n", chk.found,
		       anomalies(chk.found));
		rc = 0;
	} else if (mode == PAPYRA_STARTUP_FAIL_ON_ANOMALY) {
		printf("doctor: %zu %s found; repair with 'papyra doctor run "
		       "--mode recover --path %s'\n",
		       chk.found, anomalies(chk.found), a->path);
		rc = 1;
	} else if (chk.result.passed && !chk.result.anomalies_remaining) {
		printf("doctor: repaired %zu %s\n", chk.found,
		       anomalies(chk.found));
		rc = 0;
	} else {
		printf("doctor: anomalies remain after recovery\n");
		rc = 2;
	}
	papyra_startup_result_release(&chk.result);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Help texts and the command table                                       */
/* ---------------------------------------------------------------------- */

#define HELP_PATH "  -p, --path FILE        the log file (required)\n"
#define HELP_HELP "  -h, --help             show this help and exit\n"
#define HELP_QDIR                                                            \
	"      --quarantine-dir DIR\n"                                          \
	"                         where quarantine keeps the damaged file, as\n" \
	"                         NAME.quarantine.<unix-ms> (created if "       \
	"missing)\n"

static const struct command commands[] = {
	{ "persistence", "scan", "--path FILE [--json]",
	  "report the anomalies of a log; change nothing",
	  HELP_PATH
	  "      --json             print the report as one JSON document\n"
	  HELP_HELP
	  "\nExit status: 0 healthy (a missing FILE is an empty log), "
	  "2 anomalies found,\n1 FILE cannot be read, 64 usage error.\n",
	  ACCEPT(OPT_HELP) | ACCEPT(OPT_PATH) | ACCEPT(OPT_JSON), cmd_scan },
	{ "persistence", "recover",
	  "--path FILE [--mode repair|quarantine] [--quarantine-dir DIR]",
	  "drop the anomalous lines, keeping every record byte for byte",
	  HELP_PATH
	  "      --mode MODE        repair (default): rewrite FILE without "
	  "its\n"
	  "                         anomalous lines; quarantine: keep the "
	  "damaged\n"
	  "                         file in --quarantine-dir first\n"
	  HELP_QDIR HELP_HELP
	  "\nExit status: 0 recovered, healthy or missing; 1 FILE cannot be "
	  "read or\nrewritten, or a papyrafs holds it; 64 usage error.\n",
	  ACCEPT(OPT_HELP) | ACCEPT(OPT_PATH) | ACCEPT(OPT_MODE) |
		  ACCEPT(OPT_QUARANTINE_DIR),
	  cmd_recover },
	{ "persistence", "compact",
	  "--path FILE [--max-records N] [--max-age S] [--max-bytes B]",
	  "rewrite a log with only the records inside a retention policy",
	  HELP_PATH
	  "      --max-records N    keep the newest N records\n"
	  "      --max-age S        drop records older than S seconds (and "
	  "records\n"
	  "                         without a timestamp)\n"
	  "      --max-bytes B      keep the newest records totalling at most "
	  "B bytes\n"
	  "                         (suffixes k, M, G: powers of 1024)\n"
	  HELP_HELP
	  "\nWithout a policy, compaction only removes anomalous lines.\n"
	  "Exit status: 0 compacted or missing; 1 FILE cannot be read or "
	  "rewritten,\nor a papyrafs holds it; 64 usage error.\n",
	  ACCEPT(OPT_HELP) | ACCEPT(OPT_PATH) | ACCEPT(OPT_MAX_RECORDS) |
		  ACCEPT(OPT_MAX_AGE) | ACCEPT(OPT_MAX_BYTES),
	  cmd_compact },
	{ "persistence", "inspect", "--path FILE [--limit N] [--show-metrics]",
	  "show the backend, counts by kind, bytes and health of a log",
	  HELP_PATH
	  "      --limit N          also print the newest N records as stored\n"
	  "      --show-metrics     also print the backend's counters\n"
	  HELP_HELP
	  "\nExit status: 0 inspected or missing; 1 FILE cannot be read; 64 "
	  "usage error.\n",
	  ACCEPT(OPT_HELP) | ACCEPT(OPT_PATH) | ACCEPT(OPT_LIMIT) |
		  ACCEPT(OPT_SHOW_METRICS),
	  cmd_inspect },
	{ "persistence", "startup-check",
	  "--path FILE [--mode ignore|scan_only|recover|fail_on_anomaly]\n"
	  "            [--recovery-mode repair|quarantine] "
	  "[--quarantine-dir DIR]",
	  "apply a startup mode to a log, as a mount would",
	  HELP_PATH
	  "      --mode MODE        ignore: pass without looking; scan_only: "
	  "report\n"
	  "                         and pass; recover: repair anomalies, pass "
	  "when\n"
	  "                         clean; fail_on_anomaly (default): fail on "
	  "any\n"
	  "                         anomaly\n"
	  "      --recovery-mode M  repair (default) or quarantine, for "
	  "--mode recover\n"
	  HELP_QDIR HELP_HELP
	  "\nExit status: 0 passed, 1 failed (anomalies under fail_on_anomaly,"
	  " or left\nafter recovery) or FILE cannot be read, 64 usage error.\n",
	  ACCEPT(OPT_HELP) | ACCEPT(OPT_PATH) | ACCEPT(OPT_MODE) |
		  ACCEPT(OPT_RECOVERY_MODE) | ACCEPT(OPT_QUARANTINE_DIR),
	  cmd_startup_check },
	{ "doctor", "run",
	  "--path FILE [--mode ignore|fail_on_anomaly|recover]\n"
	  "            [--recovery-mode repair|quarantine] "
	  "[--quarantine-dir DIR]",
	  "check a log before a system starts, and repair it if asked",
	  HELP_PATH
	  "      --mode MODE        fail_on_anomaly (default): fail on any "
	  "anomaly;\n"
	  "                         recover: repair them; ignore: report and "
	  "pass\n"
	  "      --recovery-mode M  repair (default) or quarantine, for "
	  "--mode recover\n"
	  HELP_QDIR HELP_HELP
	  "\nExit status: 0 healthy or repaired, 1 anomalies under "
	  "fail_on_anomaly or\nFILE cannot be read, 2 anomalies remain after "
	  "recovery, 64 usage error.\n",
	  ACCEPT(OPT_HELP) | ACCEPT(OPT_PATH) | ACCEPT(OPT_MODE) |
		  ACCEPT(OPT_RECOVERY_MODE) | ACCEPT(OPT_QUARANTINE_DIR),
	  cmd_doctor_run },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *const groups[] = { "persistence", "doctor" };

static void print_command_help(const struct command *cmd)
{
	printf("usage: papyra %s %s %s\n\n%s.\n\n%s", cmd->group, cmd->name,
	       cmd->synopsis, cmd->summary, cmd->help);
}

static void print_group_help(const char *group)
{
	printf("usage: papyra %s COMMAND --path FILE [OPTIONS]\n\n"
	       "commands:\n", group);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			printf("  %-15s%s\n", commands[i].name,
			       commands[i].summary);
	printf("\n'papyra %s COMMAND --help' describes a command.\n", group);
}

static void print_top_help(void)
{
	printf("usage: papyra [--help | --version] GROUP COMMAND --path FILE "
	       "[OPTIONS]\n\n"
	       "Maintain a Papyra persistence log (an NDJSON file) that no "
	       "papyrafs holds.\n\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  papyra %s %s %s\n", commands[i].group,
		       commands[i].name, commands[i].synopsis);
	printf("\noptions:\n"
	       "  -h, --help     show this help and exit\n"
	       "  -V, --version  show the version and exit\n\n"
	       "'papyra GROUP --help' and 'papyra GROUP COMMAND --help' say "
	       "more.\n"
	       "Exit status 64 is a usage error; see papyra(1).\n");
}

/* ---------------------------------------------------------------------- */
/* Dispatch                                                               */
/* ---------------------------------------------------------------------- */

static int is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* argv[0] is the group's name. */
static int run_group(const char *group, int argc, char **argv)
{
	struct cli_args a;
	int rc;

	if (argc < 2)
		return usage_error(group, "missing command for '%s'", group);
	if (is_help(argv[1])) {
		print_group_help(group);
		return 0;
	}
	if (argv[1][0] == '-')
		return usage_error(group, "unknown option '%.*s' for '%s'",
				   opt_spelling(argv[1]), argv[1], group);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(cmd->group, group) || strcmp(cmd->name, argv[1]))
			continue;
		rc = parse_args(cmd, argc - 1, argv + 1, &a);
		if (rc < 0)
			return 0;
		if (rc)
			return rc;
		return cmd->run(&a);
	}
	return usage_error(group, "unknown command '%s' for '%s'", argv[1],
			   group);
}

/* Report a failed write of stdout (a full disk, a closed pipe) as exit 1. */
static int finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "papyra: cannot write the report: %s\n",
			strerror(errno));
		return 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	/* A file size limit must fail a write with EFBIG, not kill us. */
	signal(SIGXFSZ, SIG_IGN);
	/* Tests make chosen I/O calls fail through PAPYRA_FAULT. */
	if (papyra_io_faults_from_env() < 0) {
		fprintf(stderr, "papyra: invalid PAPYRA_FAULT '%s': expected "
			"op:nth:ERRNO[,...]\n", getenv("PAPYRA_FAULT"));
		return EXIT_USAGE;
	}

	if (argc < 2)
		return usage_error("", "missing command");
	if (is_help(argv[1])) {
		print_top_help();
		return finish_stdout(0);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("papyra (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return finish_stdout(0);
	}
	if (argv[1][0] == '-')
		return usage_error("", "unknown option '%.*s'",
				   opt_spelling(argv[1]), argv[1]);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(argv[1], groups[i]) == 0)
			return finish_stdout(run_group(groups[i], argc - 1,
						       argv + 1));
	return usage_error("", "unknown command '%s'", argv[1]);
}
