/*
 * Damage at every byte offset.  A sample log of varied records (all four
 * kinds, multi-byte UTF-8, escapes, nested payloads, a Python-style line
 * with blanks, a record without timestamp) is cut, zero-filled or has one
 * byte changed at every offset, and each damaged copy goes through the core
 * API: papyra_scan_buffer and papyra_scan_path must report exactly what an
 * independent model expects, and papyra_backend_recover must keep exactly
 * the lines that model accepts, byte for byte, after which appends and
 * reads work.  The model for changed bytes is tests/fuzz/judge.h (json-c
 * strict plus the RFC 8259 tightenings), which shares no code with the
 * classifier.  A last test case replays findings of the fuzz harnesses.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "judge.h"
#include "line.h"
#include "record.h"
#include "retention.h"
#include "scan.h"
#include "testutil.h"

/* --- the sample log and its line table ---------------------------------- */

static const char *const sample_lines[] = {
	"{\"kind\":\"event\",\"timestamp\":1700000000.123456,\"system_id\":\"sys-1\",\"actor_address\":\"papyra://sys-1/user/orders\",\"event_type\":\"OrderPlaced\",\"payload\":{\"order\":17,\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}],\"total\":19.99}}",
	"{\"kind\":\"audit\",\"timestamp\":1700000001.5,\"actor\":\"admin\",\"type\":\"login\",\"ok\":true,\"note\":null}",
	"{\"kind\":\"dead_letter\",\"timestamp\":1700000002,\"reason\":\"mailbox closed\",\"message\":{\"to\":\"papyra://sys-1/user/gone\",\"body\":\"ping\"}}",
	"{\"kind\":\"metric\",\"timestamp\":1700000003.25,\"counters\":{\"records_written\":42,\"bytes_written\":8192,\"scans\":3},\"gauges\":[0.5,-1.25e-3,6.02e23]}",
	"{\"kind\":\"event\",\"timestamp\":1700000004.0,\"actor\":\"caf\xc3\xa9\",\"type\":\"na\xc3\xafve \xe2\x98\x83 snow\",\"payload\":{\"clef\":\"\xf0\x9d\x84\x9e\",\"han\":\"\xe6\xbc\xa2\xe5\xad\x97\"}}",
	"{\"kind\": \"event\", \"timestamp\": 1700000005.75, \"actor\": \"python\", \"type\": \"written by json.dumps\", \"payload\": {\"a\": [1, 2, 3], \"b\": {}}}",
	"{\"kind\":\"audit\",\"timestamp\":1700000006.001,\"escapes\":\"quote \\\" backslash \\\\ slash \\/ tab \\t nl \\n u \\u00e9 pair \\ud834\\udd1e\"}",
	"{\"kind\":\"event\",\"actor\":\"no-clock\",\"type\":\"without timestamp\",\"payload\":[]}",
	"{\"kind\":\"metric\",\"timestamp\":1700000008,\"deep\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":[[[[{\"f\":\"g\"}]]]]}}}}}}",
	"{\"kind\":\"dead_letter\",\"timestamp\":1700000009.5,\"reason\":\"timeout\",\"attempts\":[1,2,4,8,16],\"last_error\":\"deadline exceeded after 30s\"}",
	"{\"kind\":\"event\",\"timestamp\":1700000010.125,\"system_id\":\"sys-2\",\"event_type\":\"Shipped\",\"payload\":{\"carrier\":\"\xd0\x9f\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0\",\"weight_kg\":0.75,\"fragile\":false}}",
	"{\"kind\":\"audit\",\"timestamp\":1700000011.2,\"actor\":\"ops\",\"type\":\"retention\",\"policy\":{\"max_records\":1000,\"max_age\":86400,\"max_bytes\":null}}",
	"{\"kind\":\"event\",\"timestamp\":1700000012.999,\"type\":\"empty\",\"payload\":{}}",
	"{\"kind\":\"metric\",\"timestamp\":1700000013.5,\"name\":\"latency_ms\",\"p50\":1.2,\"p99\":17.5,\"hist\":[0,3,9,27,81,243]}",
	"{\"kind\":\"event\",\"timestamp\":1700000014.25,\"actor\":\"\xce\xb1\xce\xb2\xce\xb3\",\"type\":\"greek\",\"payload\":{\"text\":\"\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1\",\"n\":-0}}",
	"{\"kind\":\"dead_letter\",\"timestamp\":1700000015,\"reason\":\"no route\",\"message\":[\"a\",[\"b\",[\"c\"]]]}",
	"{\"kind\":\"audit\",\"timestamp\":1700000016.75,\"actor\":\"cron\",\"type\":\"compact\",\"before\":{\"records\":120,\"bytes\":40960},\"after\":{\"records\":100,\"bytes\":32768}}",
	"{\"kind\":\"event\",\"timestamp\":1700000017.5,\"system_id\":\"sys-1\",\"event_type\":\"Emoji\",\"payload\":{\"s\":\"\xf0\x9f\x98\x80\xf0\x9f\x8e\x89\",\"list\":[true,false,null,1e2,2E-2]}}",
	"{\"kind\":\"metric\",\"timestamp\":1.7000000185e9,\"snapshot\":{\"records_written\":18,\"fsyncs\":18,\"reads\":0}}",
	"{\"kind\":\"event\",\"timestamp\":1700000019.0625,\"actor\":\"last\",\"type\":\"Closed\",\"payload\":{\"reason\":\"end of sample\",\"code\":0}}",
};
#define NLINES (sizeof(sample_lines) / sizeof(sample_lines[0]))

static char *sample;            /* the whole log */
static size_t sample_len;
static size_t starts[NLINES];   /* offset of each line */
static size_t ends[NLINES];     /* offset just past each line's '\n' */

/* Records appended after a repair, and their stored form. */
static const char NEW_IN[] = "{\"kind\":\"audit\",\"timestamp\":1700000999.25,\"after\":\"repair\"}";
static const char NEW_OUT[] = "{\"kind\":\"audit\",\"timestamp\":1700000999.25,\"after\":\"repair\"}\n";

static char *dir;  /* fresh per test */
static char *file; /* dir/log.ndjson */

static void build_sample(void)
{
	size_t off = 0;

	sample_len = 0;
	for (size_t i = 0; i < NLINES; i++)
		sample_len += strlen(sample_lines[i]) + 1;
	sample = malloc(sample_len + 1);
	ck_assert(sample);
	for (size_t i = 0; i < NLINES; i++) {
		size_t l = strlen(sample_lines[i]);

		starts[i] = off;
		memcpy(sample + off, sample_lines[i], l);
		off += l;
		sample[off++] = '\n';
		ends[i] = off;
	}
	sample[off] = '\0';
}

/*
 * Temporary files live on tmpfs when there is one: the repair of every
 * damaged copy fsyncs, which costs nothing there and much on a disk.
 */
static void setup(void)
{
	char tmpl[] = "/dev/shm/papyra-damage-XXXXXX";

	build_sample();
	if (access("/dev/shm", W_OK) == 0 && mkdtemp(tmpl))
		dir = strdup(tmpl);
	else
		dir = tu_tempdir();
	ck_assert(dir);
	file = tu_path(dir, "log.ndjson");
}

static void teardown(void)
{
	free(file);
	tu_rmtree(dir);
	free(sample);
}

/* --- helpers ------------------------------------------------------------ */

/* The line index holding byte off of the sample. */
static size_t line_of(size_t off)
{
	for (size_t i = 0; i < NLINES; i++)
		if (off < ends[i])
			return i;
	return NLINES;
}

static struct papyra_backend *open_log(void)
{
	struct papyra_backend *b = NULL;
	struct papyra_options o;
	struct papyra_error err;
	int rc;

	papyra_options_init(&o);
	o.sync = PAPYRA_SYNC_NONE;
	papyra_error_clear(&err);
	rc = papyra_backend_open(&b, file, &o, NULL, &err);
	ck_assert_msg(rc == 0, "expected the damaged log to open, got %d: %s", rc,
		      err.message);
	return b;
}

static void recover(struct papyra_backend *b, const char *what)
{
	struct papyra_recovery_report r;
	struct papyra_error err;
	int rc;

	memset(&r, 0, sizeof(r));
	papyra_error_clear(&err);
	rc = papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL, &r, &err);
	ck_assert_msg(rc == 0, "%s: expected repair to succeed, got %d: %s", what,
		      rc, err.message);
	papyra_recovery_report_release(&r);
}

/* The whole live view of the backend, through papyra_backend_read. */
static char *read_all(struct papyra_backend *b, size_t *len)
{
	struct papyra_error err;
	uint64_t size = papyra_backend_size(b, PAPYRA_KIND_ANY);
	char *buf = malloc(size + 1);
	size_t off = 0;

	ck_assert(buf);
	for (;;) {
		size_t got = 0;
		/* odd chunk sizes so reads straddle record boundaries */
		size_t want = size - off < 777 ? size - off + 1 : 777;

		ck_assert_int_eq(papyra_backend_read(b, PAPYRA_KIND_ANY, off,
						     buf + off, want, &got, &err), 0);
		if (!got)
			break;
		off += got;
		ck_assert_msg(off <= size, "expected reads to stop at the size %llu",
			      (unsigned long long)size);
	}
	ck_assert_msg(off == size, "expected %llu bytes from reads, got %zu",
		      (unsigned long long)size, off);
	buf[off] = '\0';
	*len = off;
	return buf;
}

/* Require the file to hold exactly want[0..len). */
static void expect_file(const char *want, size_t len, const char *what)
{
	size_t got_len;
	char *got = tu_read_file(file, &got_len);

	ck_assert_msg(got, "%s: expected the log to exist", what);
	if (got_len != len || memcmp(got, want, len) != 0) {
		size_t i = 0;

		while (i < len && i < got_len && got[i] == want[i])
			i++;
		ck_abort_msg("%s: expected the file to hold %zu bytes, it holds %zu "
			     "(first difference at offset %zu)", what, len, got_len, i);
	}
	free(got);
}

/*
 * After a repair that kept good[0..len): the file scans clean, and one
 * append reads back after those bytes, both through the backend and in the
 * file.
 */
static void expect_appendable(struct papyra_backend *b, const char *good,
			      size_t len, const char *what)
{
	struct papyra_scan_report r;
	struct papyra_error err;
	size_t n = 0, got_len;
	char *want, *got;
	int rc;

	papyra_scan_report_init(&r);
	ck_assert_int_eq(papyra_scan_path(file, NULL, NULL, &r, &err), 0);
	ck_assert_msg(papyra_scan_report_healthy(&r),
		      "%s: expected a clean scan after repair, got %zu anomalies",
		      what, r.anomaly_count);
	papyra_scan_report_release(&r);

	rc = papyra_backend_append(b, PAPYRA_KIND_ANY, NEW_IN, strlen(NEW_IN), &n, &err);
	ck_assert_msg(rc == 0 && n == 1, "%s: expected the append after repair to "
		      "store 1 record, got rc %d n %zu: %s", what, rc, n, err.message);
	want = malloc(len + sizeof(NEW_OUT));
	ck_assert(want);
	memcpy(want, good, len);
	memcpy(want + len, NEW_OUT, sizeof(NEW_OUT));
	got = read_all(b, &got_len);
	ck_assert_msg(got_len == len + strlen(NEW_OUT) &&
		      memcmp(got, want, got_len) == 0,
		      "%s: expected reads to return the %zu kept bytes and the new "
		      "record, got %zu bytes", what, len, got_len);
	expect_file(want, len + strlen(NEW_OUT), what);
	free(got);
	free(want);
}

/* --- (a) truncation at every offset -------------------------------------- */

START_TEST(test_truncate_every_offset)
{
	unsigned long boundary = 0, partial = 0;

	for (size_t t = 0; t <= sample_len; t++) {
		struct papyra_scan_report r, rp;
		struct papyra_error err;
		struct papyra_backend *b;
		size_t k = 0, keep;
		char what[64];

		snprintf(what, sizeof(what), "cut at %zu", t);
		while (k < NLINES && ends[k] <= t)
			k++; /* k complete lines */
		keep = k ? ends[k - 1] : 0;

		papyra_scan_report_init(&r);
		ck_assert_int_eq(papyra_scan_buffer(sample, t, NULL, NULL, &r, &err), 0);
		ck_assert_msg(r.total_records == k, "%s: expected %zu records, got %llu",
			      what, k, (unsigned long long)r.total_records);
		ck_assert_msg(r.good_end == keep, "%s: expected good_end %zu, got %llu",
			      what, keep, (unsigned long long)r.good_end);
		if (t == keep) {
			boundary++;
			ck_assert_msg(papyra_scan_report_healthy(&r),
				      "%s (a line boundary): expected healthy, got %zu "
				      "anomalies", what, r.anomaly_count);
		} else {
			partial++;
			ck_assert_msg(r.anomaly_count == 1 &&
				      r.anomalies[0].type == PAPYRA_ANOMALY_TRUNCATED_LINE &&
				      r.anomalies[0].line == k + 1 &&
				      r.anomalies[0].offset == keep &&
				      r.anomalies[0].length == t - keep,
				      "%s: expected one TRUNCATED_LINE at line %zu offset "
				      "%zu, got %zu anomalies, first %s line %llu offset %llu",
				      what, k + 1, keep, r.anomaly_count,
				      r.anomaly_count ? papyra_anomaly_name(r.anomalies[0].type) : "-",
				      r.anomaly_count ? (unsigned long long)r.anomalies[0].line : 0ULL,
				      r.anomaly_count ? (unsigned long long)r.anomalies[0].offset : 0ULL);
		}

		/* The same through the file, then repair and append. */
		tu_write_file(file, sample, t);
		papyra_scan_report_init(&rp);
		ck_assert_int_eq(papyra_scan_path(file, NULL, NULL, &rp, &err), 0);
		ck_assert_msg(rp.anomaly_count == r.anomaly_count &&
			      rp.total_records == r.total_records && rp.bytes == t,
			      "%s: expected papyra_scan_path to agree with "
			      "papyra_scan_buffer", what);
		papyra_scan_report_release(&rp);
		papyra_scan_report_release(&r);

		b = open_log();
		recover(b, what);
		expect_file(sample, keep, what);
		expect_appendable(b, sample, keep, what);
		papyra_backend_free(b);
	}
	printf("damage: truncated at %zu offsets (%lu line boundaries, %lu partial lines)\n",
	       sample_len + 1, boundary, partial);
}
END_TEST

/* An append to a cut file, before any repair, leaves the torn bytes alone. */
START_TEST(test_truncate_then_append)
{
	for (size_t t = 1; t < sample_len; t++) {
		struct papyra_scan_report r;
		struct papyra_error err;
		struct papyra_backend *b;
		size_t k = 0, keep, n = 0, want_len;
		char what[64], *want;
		int whole;

		snprintf(what, sizeof(what), "append to a log cut at %zu", t);
		while (k < NLINES && ends[k] <= t)
			k++;
		keep = k ? ends[k - 1] : 0;
		tu_write_file(file, sample, t);
		b = open_log();
		ck_assert_msg(papyra_backend_append(b, PAPYRA_KIND_ANY, NEW_IN,
						    strlen(NEW_IN), &n, &err) == 0,
			      "%s: expected the append to succeed: %s", what, err.message);
		/* a '\n' first when the last line was torn */
		want_len = t + (t != keep) + strlen(NEW_OUT);
		want = malloc(want_len + 1);
		ck_assert(want);
		memcpy(want, sample, t);
		if (t != keep)
			want[t] = '\n';
		memcpy(want + want_len - strlen(NEW_OUT), NEW_OUT, strlen(NEW_OUT));
		expect_file(want, want_len, what);
		/*
		 * The torn bytes became a line of their own: corrupted, unless
		 * the cut fell just before a '\n' and the line is whole.
		 */
		whole = k < NLINES && t == ends[k] - 1;
		papyra_scan_report_init(&r);
		ck_assert_int_eq(papyra_backend_scan(b, &r, &err), 0);
		ck_assert_msg(r.total_records == k + 1 + whole &&
			      r.anomaly_count == (t != keep && !whole),
			      "%s: expected %zu records and %d anomalies, got %llu and %zu",
			      what, k + 1 + whole, t != keep && !whole,
			      (unsigned long long)r.total_records, r.anomaly_count);
		papyra_scan_report_release(&r);
		/* repair drops the torn line, keeps the rest byte for byte */
		recover(b, what);
		if (whole)
			keep = ends[k];
		memcpy(want, sample, keep);
		memcpy(want + keep, NEW_OUT, strlen(NEW_OUT));
		expect_file(want, keep + strlen(NEW_OUT), what);
		free(want);
		papyra_backend_free(b);
	}
}
END_TEST

/* --- (b) a zeroed tail from every offset --------------------------------- */

START_TEST(test_zero_tail_every_offset)
{
	char *data = malloc(sample_len);

	ck_assert(data);
	for (size_t t = 0; t < sample_len; t++) {
		struct papyra_scan_report r;
		struct papyra_error err;
		struct papyra_backend *b;
		size_t d = line_of(t), keep = starts[d];
		char what[64];

		snprintf(what, sizeof(what), "zeroed from %zu", t);
		memcpy(data, sample, t);
		memset(data + t, 0, sample_len - t);
		/*
		 * The line holding offset t lost its '\n' and everything after
		 * it is NUL: the file now ends in one unterminated line that
		 * starts where that line started.
		 */
		papyra_scan_report_init(&r);
		ck_assert_int_eq(papyra_scan_buffer(data, sample_len, NULL, NULL, &r, &err), 0);
		ck_assert_msg(r.total_records == d && r.anomaly_count == 1 &&
			      r.anomalies[0].type == PAPYRA_ANOMALY_TRUNCATED_LINE &&
			      r.anomalies[0].line == d + 1 &&
			      r.anomalies[0].offset == keep &&
			      r.anomalies[0].length == sample_len - keep,
			      "%s: expected %zu records and one TRUNCATED_LINE at line "
			      "%zu offset %zu, got %llu records, %zu anomalies, first %s "
			      "line %llu offset %llu", what, d, d + 1, keep,
			      (unsigned long long)r.total_records, r.anomaly_count,
			      r.anomaly_count ? papyra_anomaly_name(r.anomalies[0].type) : "-",
			      r.anomaly_count ? (unsigned long long)r.anomalies[0].line : 0ULL,
			      r.anomaly_count ? (unsigned long long)r.anomalies[0].offset : 0ULL);
		ck_assert_msg(t != keep || strstr(r.anomalies[0].detail, "NUL"),
			      "%s: expected the detail to mention the NUL bytes, got '%s'",
			      what, r.anomalies[0].detail);
		papyra_scan_report_release(&r);

		tu_write_file(file, data, sample_len);
		b = open_log();
		recover(b, what);
		expect_file(sample, keep, what);
		expect_appendable(b, sample, keep, what);
		papyra_backend_free(b);
	}
	printf("damage: zeroed the tail from %zu offsets\n", sample_len);
	free(data);
}
END_TEST

/* --- (c) one byte changed at every offset ---------------------------------- */

struct change {
	const char *name;
	int xor_mask; /* 0: set to value */
	unsigned char value;
};

static const struct change changes[] = {
	{ "xor 0x01", 0x01, 0 }, { "xor 0x20", 0x20, 0 }, { "xor 0x80", 0x80, 0 },
	{ "set '\\n'", 0, '\n' }, { "set '\"'", 0, '"' }, { "set '{'", 0, '{' },
	{ "set NUL", 0, 0 },
};
#define NCHANGES (sizeof(changes) / sizeof(changes[0]))

/*
 * The model's verdict on a whole damaged buffer: the lines it keeps (their
 * concatenation into keep), and the anomalies it expects, compared with
 * the scan report.
 */
static void expect_model(const char *data, size_t len,
			 const struct papyra_scan_report *r, char *keep,
			 size_t *keep_len, const char *what)
{
	uint64_t records[PAPYRA_KIND_COUNT] = { 0 };
	size_t pos = 0, ai = 0, kl = 0, lineno = 0;

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (data + pos)) : len - pos;
		enum papyra_anomaly_type want;
		struct judgement j;

		lineno++;
		if (!nl) {
			want = PAPYRA_ANOMALY_TRUNCATED_LINE;
		} else {
			judge_line(data + pos, l, &j);
			want = j.type;
			if (want == PAPYRA_ANOMALY_NONE)
				records[j.kind]++;
		}
		if (want == PAPYRA_ANOMALY_NONE) {
			memcpy(keep + kl, data + pos, l + 1);
			kl += l + 1;
		} else {
			ck_assert_msg(ai < r->anomaly_count &&
				      r->anomalies[ai].type == want &&
				      r->anomalies[ai].line == lineno &&
				      r->anomalies[ai].offset == pos,
				      "%s: expected %s at line %zu offset %zu, the scan "
				      "says %s", what, papyra_anomaly_name(want), lineno, pos,
				      ai < r->anomaly_count
					      ? papyra_anomaly_name(r->anomalies[ai].type)
					      : "nothing more");
			ai++;
		}
		pos += l + (nl ? 1 : 0);
	}
	ck_assert_msg(ai == r->anomaly_count, "%s: expected %zu anomalies, the scan "
		      "reports %zu (first extra: %s at line %llu)", what, ai,
		      r->anomaly_count,
		      ai < r->anomaly_count ? papyra_anomaly_name(r->anomalies[ai].type) : "-",
		      ai < r->anomaly_count ? (unsigned long long)r->anomalies[ai].line : 0ULL);
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		ck_assert_msg(r->records[k] == records[k],
			      "%s: expected %llu records of kind %s, the scan counts %llu",
			      what, (unsigned long long)records[k], papyra_kind_name(k),
			      (unsigned long long)r->records[k]);
	*keep_len = kl;
}

START_TEST(test_change_every_byte)
{
	char *data = malloc(sample_len + 1), *keep = malloc(sample_len + 1);
	unsigned long cases = 0, healthy = 0, repaired = 0, same = 0;

	ck_assert(data && keep);
	for (size_t i = 0; i < sample_len; i++) {
		size_t d = line_of(i);

		for (size_t c = 0; c < NCHANGES; c++) {
			struct papyra_scan_report r;
			struct papyra_error err;
			struct papyra_backend *b;
			unsigned char was = (unsigned char)sample[i], now;
			size_t keep_len;
			char what[96];

			now = changes[c].xor_mask ? (unsigned char)(was ^ changes[c].xor_mask)
						  : changes[c].value;
			if (now == was) {
				same++;
				continue;
			}
			cases++;
			snprintf(what, sizeof(what), "byte %zu (line %zu) 0x%02x %s",
				 i, d + 1, was, changes[c].name);
			memcpy(data, sample, sample_len);
			data[i] = (char)now;

			papyra_scan_report_init(&r);
			ck_assert_int_eq(papyra_scan_buffer(data, sample_len, NULL, NULL,
							    &r, &err), 0);
			expect_model(data, sample_len, &r, keep, &keep_len, what);
			if (papyra_scan_report_healthy(&r))
				healthy++;

			/* Every line that does not hold byte i survives. */
			{
				size_t kp = 0;

				for (size_t k = 0; k < NLINES; k++) {
					size_t l = ends[k] - starts[k];

					if (k == d || (now != '\n' && was == '\n' && k == d + 1))
						continue;
					while (kp < keep_len && (kp + l > keep_len ||
								 memcmp(keep + kp, sample + starts[k], l)))
						kp = (size_t)((char *)memchr(keep + kp, '\n',
									   keep_len - kp) - keep) + 1;
					ck_assert_msg(kp < keep_len,
						      "%s: expected undamaged line %zu to be kept",
						      what, k + 1);
					kp += l;
				}
			}

			/*
			 * Repair through the backend: every second case, so
			 * every offset and every change is repaired somewhere
			 * while make check stays quick.
			 */
			if ((i + c) % 2 == 0) {
				tu_write_file(file, data, sample_len);
				b = open_log();
				recover(b, what);
				expect_file(keep, keep_len, what);
				papyra_backend_free(b);
				repaired++;
			}
			papyra_scan_report_release(&r);
		}
	}
	printf("damage: changed one byte at %zu offsets, %lu cases (%lu no-ops skipped), "
	       "%lu still healthy, %lu repaired through the backend\n", sample_len,
	       cases, same, healthy, repaired);
	ck_assert_msg(healthy > 0 && healthy < cases / 2,
		      "expected some but not most changes to leave valid records, got %lu of %lu",
		      healthy, cases);
	free(data);
	free(keep);
}
END_TEST

/* --- findings of the fuzz harnesses -------------------------------------- */

/* fuzz_parsers: ctl/retention showed a huge max_age cut at 63 characters. */
START_TEST(test_finding_huge_max_age)
{
	static const char text[] = "max_age=100000033333333333330000000825555555555"
				   "555555555555555555555555555555555555555555555555"
				   "555555555";
	struct papyra_retention r, back;
	struct papyra_buf b = PAPYRA_BUF_INIT;
	struct papyra_error err;

	papyra_retention_init(&r);
	ck_assert_int_eq(papyra_retention_parse(text, &r, &err), 0);
	ck_assert_int_eq(papyra_retention_format(&r, &b), 0);
	papyra_retention_init(&back);
	ck_assert_msg(papyra_retention_parse(b.data, &back, &err) == 0 &&
		      back.max_age == r.max_age,
		      "expected '%s' to parse back to max_age %.17g", b.data, r.max_age);
	papyra_buf_release(&b);
}
END_TEST

/*
 * fuzz_classify: json-c in strict mode still takes a single-quoted member
 * name.  The classifier refuses it (RFC 8259 has only "strings"), and so
 * must the judge the damage tests rely on.
 */
START_TEST(test_finding_single_quoted_name)
{
	static const char *const lines[] = {
		"{'\"\"':true}", "{'kind':\"event\"}", "{\"kind\":\"event\",'a':1}",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct papyra_line_class c;
		struct judgement j;

		papyra_line_classify(lines[i], strlen(lines[i]), &c);
		judge_line(lines[i], strlen(lines[i]), &j);
		ck_assert_msg(c.type == PAPYRA_ANOMALY_CORRUPTED_LINE,
			      "%s: expected CORRUPTED_LINE from the classifier, got %s",
			      lines[i], papyra_anomaly_name(c.type));
		ck_assert_msg(j.type == PAPYRA_ANOMALY_CORRUPTED_LINE,
			      "%s: expected CORRUPTED_LINE from the judge, got %s",
			      lines[i], papyra_anomaly_name(j.type));
	}
}
END_TEST

/*
 * fuzz_canonicalize: a record whose member name holds \u0000 scans as a
 * record but is refused on append, by design (json-c keys are C strings,
 * the stored form could not keep the name).  The refusal must say why.
 */
START_TEST(test_finding_nul_member_name)
{
	static const char line[] = "{\"kind\":\"event\",\"\\u0000timestamp\":\"\"}";
	struct papyra_buf out = PAPYRA_BUF_INIT;
	struct papyra_line_class c;
	struct papyra_error err;
	int rc;

	papyra_line_classify(line, strlen(line), &c);
	ck_assert_msg(c.type == PAPYRA_ANOMALY_NONE, "%s: expected a record, got %s",
		      line, papyra_anomaly_name(c.type));
	papyra_error_clear(&err);
	rc = papyra_record_canonicalize(line, strlen(line), PAPYRA_KIND_ANY, 4096,
					1.0, &out, NULL, &err);
	ck_assert_msg(rc == -EINVAL && strstr(err.message, "\\u0000") && out.len == 0,
		      "%s: expected EINVAL naming \\u0000, got %d '%s'", line, rc,
		      err.message);
	papyra_buf_release(&out);
}
END_TEST

static Suite *damage_suite(void)
{
	Suite *s = suite_create("damage");
	TCase *tc;

	tc = tcase_create("every offset");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_truncate_every_offset);
	tcase_add_test(tc, test_truncate_then_append);
	tcase_add_test(tc, test_zero_tail_every_offset);
	tcase_add_test(tc, test_change_every_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz findings");
	tcase_add_test(tc, test_finding_huge_max_age);
	tcase_add_test(tc, test_finding_single_quoted_name);
	tcase_add_test(tc, test_finding_nul_member_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(damage_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
