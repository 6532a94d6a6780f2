/*
 * Unit tests of the store layer: the index against a naive reference
 * implementation of retention (randomized, seeded, every window of small
 * views), retention/option parsers, metrics renderings, the memory and file
 * backends end to end, the appender, and concurrent appends (group commit).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appender.h"
#include "fileio.h"
#include "backend.h"
#include "index.h"
#include "maintenance.h"
#include "metrics.h"
#include "options.h"
#include "retention.h"
#include "startup.h"
#include "testutil.h"

/* A string literal and its length, for calls taking (data, len). */
#define LIT(s) s, sizeof(s) - 1

/*
 * ck_assert_msg for hot loops: Check marks every passing assertion (a
 * write to its pipe), which would dominate the exhaustive window tests.
 */
#define EXPECT(cond, ...)                                                 \
	do {                                                              \
		if (!(cond))                                              \
			ck_abort_msg(__VA_ARGS__);                        \
	} while (0)

/* --- the index against a reference ------------------------------------- */

struct ref_rec {
	uint64_t off;
	uint32_t len;
	int kind;
	double ts;
};

struct ref_log {
	struct ref_rec *recs;
	size_t n;
	char *file;      /* synthetic file: records and junk between them */
	size_t file_len;
};

/* Which records are live: the SPEC's definition, written plainly. */
static void ref_live(const struct ref_log *l, const struct papyra_retention *p,
		     double now, int *live)
{
	int64_t kept = 0;
	uint64_t bytes = 0;
	int stop = 0;

	for (size_t i = 0; i < l->n; i++)
		live[i] = 1;
	if (p->max_age >= 0)
		for (size_t i = 0; i < l->n; i++)
			if (isnan(l->recs[i].ts) || l->recs[i].ts < now - p->max_age)
				live[i] = 0;
	for (size_t i = l->n; i-- > 0;) {
		if (!live[i])
			continue;
		if (stop || (p->max_records >= 0 && kept >= p->max_records))
			stop = 1;
		else
			kept++;
		if (stop)
			live[i] = 0;
	}
	stop = 0;
	for (size_t i = l->n; i-- > 0;) {
		if (!live[i])
			continue;
		if (stop || (p->max_bytes >= 0 &&
			     bytes + l->recs[i].len > (uint64_t)p->max_bytes))
			stop = 1;
		else
			bytes += l->recs[i].len;
		if (stop)
			live[i] = 0;
	}
}

/* The reference view of kind: live records' bytes, concatenated. */
static char *ref_view(const struct ref_log *l, const int *live, int kind,
		      size_t *len)
{
	char *v = malloc(l->file_len + 1);
	size_t n = 0;

	EXPECT(v != NULL, "expected memory");
	for (size_t i = 0; i < l->n; i++) {
		if (!live[i] || (kind >= 0 && l->recs[i].kind != kind))
			continue;
		memcpy(v + n, l->file + l->recs[i].off, l->recs[i].len);
		n += l->recs[i].len;
	}
	*len = n;
	return v;
}

struct map_ctx {
	const struct ref_log *l;
	char *dst;
	size_t expect_win;   /* next window offset expected */
	uint64_t last_end;   /* file end of the previous piece */
	int calls;
};

static int map_copy(void *ctx, uint64_t file_offset, size_t length,
		    size_t window_offset)
{
	struct map_ctx *c = ctx;

	EXPECT(window_offset == c->expect_win,
		      "expected the piece at window offset %zu, got %zu",
		      c->expect_win, window_offset);
	EXPECT(length > 0, "expected no empty piece");
	EXPECT(c->calls == 0 || file_offset != c->last_end,
		      "expected adjacent file ranges merged (piece at %llu)",
		      (unsigned long long)file_offset);
	EXPECT(file_offset + length <= c->l->file_len,
		      "expected a piece inside the file");
	memcpy(c->dst + window_offset, c->l->file + file_offset, length);
	c->expect_win += length;
	c->last_end = file_offset + length;
	c->calls++;
	return 0;
}

static void build_log(struct ref_log *l, struct papyra_index *ix, size_t n,
		      int monotonic)
{
	uint64_t off = 0;
	double t = 1000;

	l->recs = calloc(n ? n : 1, sizeof(*l->recs));
	l->file = malloc(n * 40 + 1);
	l->n = n;
	ck_assert(l->recs && l->file);
	for (size_t i = 0; i < n; i++) {
		struct ref_rec *r = &l->recs[i];

		/* junk (an anomalous line) between some records */
		if (rand() % 4 == 0) {
			size_t j = 1 + (size_t)(rand() % 5);
			memset(l->file + off, '#', j);
			off += j;
		}
		r->off = off;
		r->len = 2 + (uint32_t)(rand() % 30);
		r->kind = rand() % PAPYRA_KIND_COUNT;
		if (monotonic) {
			if (i < 3 && rand() % 2 == 0 && (i == 0 || isnan(l->recs[i - 1].ts)))
				r->ts = NAN; /* timestamp-less records may lead */
			else
				r->ts = (t += rand() % 3);
		} else {
			r->ts = rand() % 7 == 0 ? NAN : 1000 + rand() % 40;
		}
		for (uint32_t k = 0; k < r->len; k++)
			l->file[off + k] = (char)('a' + (i + k) % 26);
		l->file[off + r->len - 1] = '\n';
		off += r->len;
		EXPECT(papyra_index_add(ix, r->off, r->len, r->kind, r->ts) == 0,
		       "expected record %zu indexed", i);
	}
	l->file_len = off;
}

static void free_log(struct ref_log *l)
{
	free(l->recs);
	free(l->file);
}

static int foreach_check(void *ctx, uint64_t offset, uint32_t length,
			 int kind, double ts)
{
	struct ref_log *l = ((void **)ctx)[0];
	int *live = ((void **)ctx)[1];
	size_t *pos = ((void **)ctx)[2];

	(void)ts;
	while (*pos < l->n && !live[*pos])
		(*pos)++;
	EXPECT(*pos < l->n, "expected no more live records");
	EXPECT(l->recs[*pos].off == offset && l->recs[*pos].len == length &&
		      l->recs[*pos].kind == kind,
		      "expected live record %zu at %llu", *pos,
		      (unsigned long long)l->recs[*pos].off);
	(*pos)++;
	return 0;
}

/* Compare every query of ix with the reference under policy p. */
static void compare_views(struct papyra_index *ix, struct ref_log *l,
			  const struct papyra_retention *p, double now,
			  int every_window)
{
	int *live = calloc(l->n ? l->n : 1, sizeof(int));
	uint64_t counts[PAPYRA_KIND_COUNT], bytes;
	uint64_t want_counts[PAPYRA_KIND_COUNT] = { 0 }, want_bytes = 0;

	EXPECT(live != NULL, "expected memory");
	ref_live(l, p, now, live);
	for (size_t i = 0; i < l->n; i++)
		if (live[i]) {
			want_counts[l->recs[i].kind]++;
			want_bytes += l->recs[i].len;
		}
	papyra_index_live_counts(ix, p, now, counts, &bytes);
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		EXPECT(counts[k] == want_counts[k],
			      "expected %llu live records of kind %d, got %llu "
			      "(policy %lld/%g/%lld)",
			      (unsigned long long)want_counts[k], k,
			      (unsigned long long)counts[k],
			      (long long)p->max_records, p->max_age,
			      (long long)p->max_bytes);
	EXPECT(bytes == want_bytes, "expected %llu live bytes, got %llu",
		      (unsigned long long)want_bytes, (unsigned long long)bytes);

	for (int kind = -1; kind < PAPYRA_KIND_COUNT; kind++) {
		size_t vlen;
		char *view = ref_view(l, live, kind, &vlen);
		char *dst = malloc(vlen + 64);
		uint64_t size = papyra_index_live_size(ix, p, now, kind);

		EXPECT(dst != NULL, "expected memory");
		EXPECT(size == vlen,
			      "expected a view of kind %d of %zu bytes, got %llu",
			      kind, vlen, (unsigned long long)size);
		for (size_t off = 0; off <= vlen + 1; off++) {
			size_t lens[] = { 1, 2, 7, 33, vlen + 10 };
			for (size_t li = 0; li < 5; li++) {
				struct map_ctx c = { l, dst, 0, 0, 0 };
				size_t want = off >= vlen ? 0
					: (lens[li] < vlen - off ? lens[li] : vlen - off);
				int64_t got;

				got = papyra_index_map(ix, p, now, kind, off,
						       lens[li], map_copy, &c);
				EXPECT(got == (int64_t)want,
					      "expected %zu bytes mapped at %zu "
					      "(kind %d, len %zu), got %lld",
					      want, off, kind, lens[li],
					      (long long)got);
				EXPECT(memcmp(dst, view + off, want) == 0,
					      "expected the window at %zu (kind %d, "
					      "len %zu) to match the reference",
					      off, kind, lens[li]);
			}
			if (!every_window && off > 3)
				off += vlen / 5;
		}
		free(dst);
		free(view);
	}

	size_t pos = 0;
	void *ctx[3] = { l, live, &pos };
	EXPECT(papyra_index_live_foreach(ix, p, now, foreach_check, ctx) == 0,
	       "expected live_foreach to succeed");
	while (pos < l->n && !live[pos])
		pos++;
	EXPECT(pos == l->n, "expected live_foreach to visit every live record");
	free(live);
}

static void random_policy(struct papyra_retention *p, size_t n)
{
	papyra_retention_init(p);
	if (rand() % 2)
		p->max_records = rand() % (int)(n + 3);
	if (rand() % 2)
		p->max_age = rand() % 45;
	if (rand() % 2)
		p->max_bytes = rand() % (int)(n * 20 + 10);
}

static void randomized(int monotonic, unsigned seed, int trials)
{
	srand(seed);
	for (int t = 0; t < trials; t++) {
		struct papyra_index *ix = papyra_index_new();
		struct ref_log l;
		size_t n = (size_t)(rand() % 40);

		ck_assert(ix != NULL);
		/* Every other index is built as a load, as a mount does. */
		if (t % 2)
			papyra_index_load_begin(ix);
		build_log(&l, ix, n, monotonic);
		if (t % 2)
			papyra_index_load_end(ix);
		ck_assert_uint_eq(papyra_index_count(ix), n);
		for (int q = 0; q < 6; q++) {
			struct papyra_retention p;
			double now = 1000 + rand() % 60;

			random_policy(&p, n);
			compare_views(ix, &l, &p, now, 1);
		}
		papyra_index_free(ix);
		free_log(&l);
	}
}

START_TEST(test_index_random_monotonic)
{
	randomized(1, 12345, 200);
}
END_TEST

START_TEST(test_index_random_unordered)
{
	randomized(0, 777, 200);
}
END_TEST

/*
 * A load large enough for the arrays to be faulted in bulk, trimmed at its
 * end, then appends after it: the same sizes and windows as an index built
 * one record at a time.
 */
START_TEST(test_index_load_then_append)
{
	struct papyra_index *a = papyra_index_new(), *b = papyra_index_new();
	struct papyra_retention p;
	const size_t loaded = 300000, more = 5000;
	uint64_t off = 0;

	ck_assert(a && b);
	papyra_retention_init(&p);
	p.max_records = 100000;
	papyra_index_load_begin(a);
	for (size_t i = 0; i < loaded + more; i++) {
		uint32_t len = 50 + (uint32_t)(i % 97);
		int kind = (int)(i * 7 % PAPYRA_KIND_COUNT);

		if (i == loaded)
			papyra_index_load_end(a);
		if (papyra_index_add(a, off, len, kind, 1000.0 + (double)i) ||
		    papyra_index_add(b, off, len, kind, 1000.0 + (double)i))
			ck_abort_msg("expected record %zu indexed", i);
		off += len;
	}
	ck_assert_uint_eq(papyra_index_count(a), loaded + more);
	ck_assert_uint_eq(papyra_index_bytes(a), off);
	for (int kind = -1; kind < PAPYRA_KIND_COUNT; kind++) {
		uint64_t sa = papyra_index_live_size(a, &p, 0, kind);
		uint64_t sb = papyra_index_live_size(b, &p, 0, kind);

		ck_assert_msg(sa == sb, "expected a view of kind %d of %llu bytes "
			      "after a load, as without, got %llu", kind,
			      (unsigned long long)sb, (unsigned long long)sa);
	}
	papyra_index_free(a);
	papyra_index_free(b);
}
END_TEST

/* Every single constraint and every combination, on one fixed log. */
START_TEST(test_index_every_combination)
{
	for (int monotonic = 0; monotonic < 2; monotonic++) {
		struct papyra_index *ix = papyra_index_new();
		struct ref_log l;

		srand(99 + (unsigned)monotonic);
		build_log(&l, ix, 30, monotonic);
		for (int mask = 0; mask < 8; mask++) {
			int64_t recs[] = { 0, 1, 5, 29, 30, 100 };
			double ages[] = { 0, 3, 10, 1e9 };
			int64_t bytes[] = { 0, 1, 40, 200, 100000 };
			/* only the constraints in mask vary */
			for (int a = 0; a < ((mask & 1) ? 6 : 1); a++)
				for (int b = 0; b < ((mask & 2) ? 4 : 1); b++)
					for (int c = 0; c < ((mask & 4) ? 5 : 1); c++) {
						struct papyra_retention p;
						papyra_retention_init(&p);
						if (mask & 1)
							p.max_records = recs[a];
						if (mask & 2)
							p.max_age = ages[b];
						if (mask & 4)
							p.max_bytes = bytes[c];
						compare_views(ix, &l, &p, 1030, 0);
					}
		}
		papyra_index_free(ix);
		free_log(&l);
	}
}
END_TEST

/* Queries between adds see every record (no stale cached view). */
START_TEST(test_index_incremental)
{
	struct papyra_index *ix = papyra_index_new();
	struct papyra_retention p;
	double ts[] = { 10, 5, NAN, 20, 20, 3, 30 };
	uint64_t off = 0, counts[PAPYRA_KIND_COUNT];

	papyra_retention_init(&p);
	p.max_age = 15; /* now 30: keeps ts >= 15 */
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		ck_assert_int_eq(papyra_index_add(ix, off, 10, (int)i % 2, ts[i]), 0);
		off += 10;
		papyra_index_live_counts(ix, &p, 30, counts, NULL);
	}
	ck_assert_msg(counts[0] + counts[1] == 3,
		      "expected 3 records at or after 15, got %llu",
		      (unsigned long long)(counts[0] + counts[1]));
	ck_assert_uint_eq(papyra_index_live_size(ix, &p, 30, PAPYRA_KIND_ANY), 30);
	ck_assert_uint_eq(papyra_index_bytes(ix), 70);
	papyra_index_free(ix);
}
END_TEST

/* max_bytes stops at the first record that does not fit. */
START_TEST(test_index_bytes_stop_at_first_misfit)
{
	struct papyra_index *ix = papyra_index_new();
	struct papyra_retention p;

	papyra_index_add(ix, 0, 5, 0, 1);    /* small, would fit */
	papyra_index_add(ix, 5, 50, 0, 2);   /* does not fit */
	papyra_index_add(ix, 55, 10, 0, 3);
	papyra_retention_init(&p);
	p.max_bytes = 20;
	ck_assert_msg(papyra_index_live_size(ix, &p, 10, PAPYRA_KIND_ANY) == 10,
		      "expected only the newest 10-byte record live");
	papyra_index_free(ix);
}
END_TEST

static int merge_count(void *ctx, uint64_t fo, size_t len, size_t wo)
{
	(void)fo;
	(void)len;
	(void)wo;
	(*(int *)ctx)++;
	return 0;
}

static int stop_at_first(void *ctx, uint64_t fo, size_t len, size_t wo)
{
	(void)ctx;
	(void)fo;
	(void)len;
	(void)wo;
	return -EIO;
}

START_TEST(test_index_map_merges_and_stops)
{
	struct papyra_index *ix = papyra_index_new();
	int calls = 0;

	for (int i = 0; i < 1000; i++)
		papyra_index_add(ix, (uint64_t)i * 10, 10, i % 4, i);
	ck_assert_int_eq(papyra_index_map(ix, NULL, 0, PAPYRA_KIND_ANY, 5, 9000,
					  merge_count, &calls), 9000);
	ck_assert_msg(calls == 1, "expected one merged range, got %d", calls);
	calls = 0;
	ck_assert_int_eq(papyra_index_map(ix, NULL, 0, 2, 0, 100000,
					  merge_count, &calls), 2500);
	ck_assert_msg(calls == 250, "expected 250 separate ranges, got %d", calls);
	ck_assert_int_eq(papyra_index_map(ix, NULL, 0, 2, 0, 100, stop_at_first,
					  NULL), -EIO);
	ck_assert_int_eq(papyra_index_map(ix, NULL, 0, 2, 2500, 100, stop_at_first,
					  NULL), 0);
	papyra_index_free(ix);
}
END_TEST

/* --- retention and options ---------------------------------------------- */

static char *format_policy(const struct papyra_retention *r)
{
	struct papyra_buf b = PAPYRA_BUF_INIT;

	ck_assert_int_eq(papyra_retention_format(r, &b), 0);
	return b.data;
}

START_TEST(test_retention_parse_format)
{
	struct papyra_retention r;
	struct papyra_error err;
	char *s;

	papyra_retention_init(&r);
	ck_assert(papyra_retention_is_none(&r));
	s = format_policy(&r);
	ck_assert_str_eq(s, "max_records=none max_age=none max_bytes=none\n");
	free(s);

	ck_assert_int_eq(papyra_retention_parse("max_records=10 max_age=1.5,max_bytes=2k\n",
						&r, &err), 0);
	s = format_policy(&r);
	ck_assert_str_eq(s, "max_records=10 max_age=1.5 max_bytes=2048\n");
	free(s);

	/* only the named constraint changes; "none" clears one */
	ck_assert_int_eq(papyra_retention_parse("max_age=none", &r, &err), 0);
	s = format_policy(&r);
	ck_assert_str_eq(s, "max_records=10 max_age=none max_bytes=2048\n");
	free(s);
	ck_assert_int_eq(papyra_retention_parse("max_bytes=1M", &r, &err), 0);
	ck_assert_int_eq(r.max_bytes, 1 << 20);
	ck_assert_int_eq(r.max_records, 10);

	/* the round trip parses back to the same policy */
	struct papyra_retention back;
	papyra_retention_init(&back);
	s = format_policy(&r);
	ck_assert_int_eq(papyra_retention_parse(s, &back, &err), 0);
	ck_assert(back.max_records == r.max_records && back.max_bytes == r.max_bytes &&
		  back.max_age == r.max_age);
	free(s);

	ck_assert_int_eq(papyra_retention_parse("none\n", &r, &err), 0);
	ck_assert(papyra_retention_is_none(&r));
}
END_TEST

START_TEST(test_retention_bad_input)
{
	const char *bad[] = {
		"max_records=-1", "max_records=abc", "max_age=-3", "max_age=nan",
		"max_age=inf", "max_bytes=5T", "max_bytes=99999999999999999999",
		"max_bytes=9223372036854775808", "max_foo=1", "max_records",
		"max_records=", "none max_age=3", "max_records=1x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct papyra_retention r;
		struct papyra_error err;

		papyra_retention_init(&r);
		r.max_records = 7;
		papyra_error_clear(&err);
		ck_assert_msg(papyra_retention_parse(bad[i], &r, &err) == -EINVAL,
			      "expected '%s' to be rejected", bad[i]);
		ck_assert_msg(r.max_records == 7 && r.max_age < 0 && r.max_bytes < 0,
			      "expected the policy unchanged after '%s'", bad[i]);
		ck_assert_msg(err.message[0] != '\0',
			      "expected a message for '%s'", bad[i]);
	}
	/* the message names the bad token */
	struct papyra_retention r;
	struct papyra_error err;
	papyra_retention_init(&r);
	papyra_retention_parse("max_records=3 max_bites=4", &r, &err);
	ck_assert_msg(strstr(err.message, "max_bites") != NULL,
		      "expected the message to name max_bites: %s", err.message);
}
END_TEST

START_TEST(test_options)
{
	struct papyra_options o;
	uint64_t sz;
	int64_t n;
	double d;

	papyra_options_init(&o);
	ck_assert_int_eq(o.sync, PAPYRA_SYNC_ALWAYS);
	ck_assert_uint_eq(o.sync_ms, 1000);
	ck_assert_uint_eq(o.max_record, 1 << 20);
	ck_assert_int_eq(o.startup, PAPYRA_STARTUP_SCAN_ONLY);
	ck_assert_int_eq(o.recovery, PAPYRA_RECOVERY_REPAIR);
	ck_assert(papyra_retention_is_none(&o.retention));
	ck_assert(o.quarantine_dir == NULL && !o.create && !o.read_only);

	ck_assert_int_eq(papyra_parse_size("123", &sz), 0);
	ck_assert_uint_eq(sz, 123);
	ck_assert_int_eq(papyra_parse_size("4k", &sz), 0);
	ck_assert_uint_eq(sz, 4096);
	ck_assert_int_eq(papyra_parse_size("5M", &sz), 0);
	ck_assert_uint_eq(sz, 5u << 20);
	ck_assert_int_eq(papyra_parse_size("1G", &sz), 0);
	ck_assert_uint_eq(sz, 1u << 30);
	ck_assert_int_eq(papyra_parse_size("18446744073709551615", &sz), 0);
	ck_assert_uint_eq(sz, UINT64_MAX);
	const char *bad_sizes[] = { "", "k", "-1", "1.5k", "12kb", " 1", "1 ",
				    "18446744073709551616", "17179869184G", "0x10" };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		ck_assert_msg(papyra_parse_size(bad_sizes[i], &sz) == -EINVAL,
			      "expected size '%s' rejected", bad_sizes[i]);

	ck_assert_int_eq(papyra_parse_count("9223372036854775807", &n), 0);
	ck_assert_int_eq(n, INT64_MAX);
	ck_assert_int_eq(papyra_parse_count("9223372036854775808", &n), -EINVAL);
	ck_assert_int_eq(papyra_parse_count("+1", &n), -EINVAL);
	ck_assert_int_eq(papyra_parse_count("", &n), -EINVAL);

	ck_assert_int_eq(papyra_parse_seconds("2.5", &d), 0);
	ck_assert(d == 2.5);
	ck_assert_int_eq(papyra_parse_seconds(".5", &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(papyra_parse_seconds("1e3", &d), -EINVAL);
	ck_assert_int_eq(papyra_parse_seconds("-1", &d), -EINVAL);
	ck_assert_int_eq(papyra_parse_seconds(".", &d), -EINVAL);

	enum papyra_sync_mode sm;
	enum papyra_startup_mode st;
	enum papyra_recovery_mode rm;
	ck_assert_int_eq(papyra_sync_mode_parse("interval", &sm), 0);
	ck_assert_int_eq(sm, PAPYRA_SYNC_INTERVAL);
	ck_assert_int_eq(papyra_sync_mode_parse("sometimes", &sm), -EINVAL);
	ck_assert_int_eq(papyra_startup_mode_parse("fail_on_anomaly", &st), 0);
	ck_assert_int_eq(st, PAPYRA_STARTUP_FAIL_ON_ANOMALY);
	ck_assert_int_eq(papyra_startup_mode_parse("Recover", &st), -EINVAL);
	ck_assert_int_eq(papyra_recovery_mode_parse("quarantine", &rm), 0);
	ck_assert_int_eq(rm, PAPYRA_RECOVERY_QUARANTINE);
	ck_assert_int_eq(papyra_recovery_mode_parse("", &rm), -EINVAL);
	ck_assert_str_eq(papyra_sync_mode_name(PAPYRA_SYNC_NONE), "none");
	ck_assert_str_eq(papyra_startup_mode_name(PAPYRA_STARTUP_SCAN_ONLY), "scan_only");
	ck_assert_str_eq(papyra_recovery_mode_name(PAPYRA_RECOVERY_REPAIR), "repair");
}
END_TEST

START_TEST(test_metrics_renderings)
{
	struct papyra_metrics m;
	struct papyra_buf b = PAPYRA_BUF_INIT;

	papyra_metrics_init(&m);
	papyra_metrics_add(&m, PAPYRA_METRIC_RECORDS_WRITTEN, 3);
	papyra_metrics_add(&m, PAPYRA_METRIC_FSYNCS, 2);
	ck_assert_uint_eq(papyra_metrics_get(&m, PAPYRA_METRIC_RECORDS_WRITTEN), 3);

	ck_assert_int_eq(papyra_metrics_text(&m, &b), 0);
	ck_assert_msg(strncmp(b.data, "records_written 3\nbytes_written 0\n", 34) == 0,
		      "expected text to start with records_written 3, got %s", b.data);
	ck_assert_msg(strstr(b.data, "\nfsyncs 2\n") != NULL, "expected fsyncs 2");
	int lines = 0;
	for (char *p = b.data; *p; p++)
		lines += *p == '\n';
	ck_assert_int_eq(lines, PAPYRA_METRIC_COUNT);

	papyra_buf_reset(&b);
	ck_assert_int_eq(papyra_metrics_prom(&m, &b), 0);
	ck_assert_msg(strstr(b.data, "# HELP papyra_records_written_total ") != NULL,
		      "expected a HELP line: %s", b.data);
	ck_assert_msg(strstr(b.data, "# TYPE papyra_records_written_total counter\n"
				     "papyra_records_written_total 3\n") != NULL,
		      "expected TYPE and sample lines");
	ck_assert_msg(strstr(b.data, "papyra_records_rejected_total 0\n") != NULL,
		      "expected records_rejected");

	papyra_buf_reset(&b);
	ck_assert_int_eq(papyra_metrics_json(&m, &b), 0);
	ck_assert_msg(strncmp(b.data, "{\"records_written\":3,\"bytes_written\":0,", 39) == 0,
		      "expected a JSON object, got %s", b.data);
	ck_assert_msg(strstr(b.data, "\"fsyncs\":2}") != NULL && !strchr(b.data, '\n'),
		      "expected fsyncs last and no newline: %s", b.data);

	papyra_metrics_reset(&m);
	ck_assert_uint_eq(papyra_metrics_get(&m, PAPYRA_METRIC_RECORDS_WRITTEN), 0);
	ck_assert_str_eq(papyra_metric_name(PAPYRA_METRIC_ANOMALIES_DETECTED),
			 "anomalies_detected");
	papyra_buf_release(&b);
}
END_TEST

/* --- backends ----------------------------------------------------------- */

static struct papyra_backend *open_memory(void)
{
	struct papyra_backend *b;
	struct papyra_options o;
	struct papyra_error err;

	papyra_options_init(&o);
	ck_assert_msg(papyra_backend_open(&b, PAPYRA_MEMORY_PATH, &o, NULL, &err) == 0,
		      "expected the memory backend to open: %s", err.message);
	return b;
}

/* The whole live view of kind, NUL-terminated. */
static char *read_view(struct papyra_backend *b, int kind)
{
	uint64_t size = papyra_backend_size(b, kind);
	char *buf = malloc(size + 1);
	size_t got, done = 0;
	struct papyra_error err;

	ck_assert(buf != NULL);
	/* in odd-sized chunks so windows cross record boundaries */
	while (done < size) {
		ck_assert_int_eq(papyra_backend_read(b, kind, done, buf + done, 7,
						     &got, &err), 0);
		ck_assert_msg(got > 0, "expected bytes before the end");
		done += got;
	}
	ck_assert_int_eq(papyra_backend_read(b, kind, done, buf, 7, &got, &err), 0);
	ck_assert_msg(got == 0, "expected 0 bytes at the end");
	buf[size] = '\0';
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_memory_append_and_read)
{
	struct papyra_backend *b = open_memory();
	struct papyra_error err;
	size_t appended;
	char *v;

	ck_assert_str_eq(papyra_backend_name(b), "memory");
	ck_assert(papyra_backend_path(b) == NULL);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_ANY,
		LIT("{\"kind\":\"event\",\"timestamp\":1,\"a\":1}\n\n"
		    "{\"kind\":\"audit\",\"timestamp\":2}\n"
		    "{\"timestamp\":3,\"kind\":\"event\"}"), &appended, &err), 0);
	ck_assert_uint_eq(appended, 3);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_METRIC, "{\"m\":1}\n",
					       8, &appended, &err), 0);
	ck_assert_uint_eq(appended, 1);

	v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_str_eq(v, "{\"kind\":\"event\",\"timestamp\":1,\"a\":1}\n"
			    "{\"kind\":\"event\",\"timestamp\":3}\n");
	free(v);
	v = read_view(b, PAPYRA_KIND_AUDIT);
	ck_assert_str_eq(v, "{\"kind\":\"audit\",\"timestamp\":2}\n");
	free(v);
	v = read_view(b, PAPYRA_KIND_METRIC);
	ck_assert_msg(strncmp(v, "{\"kind\":\"metric\",\"timestamp\":", 29) == 0 &&
		      strstr(v, ",\"m\":1}\n"),
		      "expected a timestamped metric record, got %s", v);
	free(v);
	v = read_view(b, PAPYRA_KIND_ANY);
	ck_assert_uint_eq(count_lines(v), 4);
	free(v);

	/* a bad batch stores nothing and names the line */
	uint64_t before = papyra_backend_size(b, PAPYRA_KIND_ANY);
	uint64_t gen = papyra_backend_generation(b);
	papyra_error_clear(&err);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_ANY,
		LIT("{\"kind\":\"event\"}\n{\"kind\":\"nope\"}\n"), &appended, &err),
		-EINVAL);
	ck_assert_uint_eq(appended, 0);
	ck_assert_msg(err.line == 2, "expected the error on line 2, got %llu",
		      (unsigned long long)err.line);
	ck_assert_uint_eq(papyra_backend_size(b, PAPYRA_KIND_ANY), before);
	ck_assert_uint_eq(papyra_backend_generation(b), gen);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_AUDIT,
		LIT("{\"kind\":\"event\"}"), NULL, &err), -EINVAL);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
		LIT("{\"timestamp\":\"x\"}"), NULL, &err), -EINVAL);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT, LIT("[1]"),
					       NULL, &err), -EINVAL);
	const struct papyra_metrics *m = papyra_backend_metrics(b);
	ck_assert_uint_eq(papyra_metrics_get(m, PAPYRA_METRIC_RECORDS_REJECTED), 4);
	ck_assert_uint_eq(papyra_metrics_get(m, PAPYRA_METRIC_RECORDS_WRITTEN), 4);
	ck_assert_uint_eq(papyra_metrics_get(m, PAPYRA_METRIC_BYTES_WRITTEN), before);

	uint64_t counts[PAPYRA_KIND_COUNT], bytes;
	papyra_backend_live_counts(b, counts, &bytes);
	ck_assert(counts[0] == 2 && counts[1] == 1 && counts[2] == 0 && counts[3] == 1);
	ck_assert_uint_eq(bytes, before);
	papyra_backend_free(b);
}
END_TEST

START_TEST(test_memory_too_long)
{
	struct papyra_backend *b;
	struct papyra_options o;
	struct papyra_error err;

	papyra_options_init(&o);
	o.max_record = 20;
	ck_assert_int_eq(papyra_backend_open(&b, PAPYRA_MEMORY_PATH, &o, NULL, &err), 0);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
		LIT("{}\n{\"x\":\"aaaaaaaaaaaaaaaaaaaaaaaaa\"}\n"), NULL, &err), -EMSGSIZE);
	ck_assert_uint_eq(papyra_backend_size(b, PAPYRA_KIND_ANY), 0);
	papyra_backend_free(b);
}
END_TEST

START_TEST(test_memory_retention_snapshot_maintenance)
{
	struct papyra_backend *b = open_memory();
	struct papyra_retention r;
	struct papyra_error err;
	char line[64];

	for (int i = 0; i < 10; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"kind\":\"%s\",\"timestamp\":%d}\n",
				 i % 2 ? "audit" : "event", 100 + i);
		ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_ANY, line,
						       (size_t)n, NULL, &err), 0);
	}
	papyra_retention_init(&r);
	r.max_records = 3;
	papyra_backend_set_retention(b, &r);
	char *v = read_view(b, PAPYRA_KIND_ANY);
	ck_assert_str_eq(v, "{\"kind\":\"audit\",\"timestamp\":107}\n"
			    "{\"kind\":\"event\",\"timestamp\":108}\n"
			    "{\"kind\":\"audit\",\"timestamp\":109}\n");
	free(v);
	v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_str_eq(v, "{\"kind\":\"event\",\"timestamp\":108}\n");
	free(v);
	struct papyra_retention got;
	papyra_backend_get_retention(b, &got);
	ck_assert_int_eq(got.max_records, 3);

	/* timestamps of 1970 are older than any max_age */
	r.max_records = -1;
	r.max_age = 3600;
	papyra_backend_set_retention(b, &r);
	ck_assert_uint_eq(papyra_backend_size(b, PAPYRA_KIND_ANY), 0);
	papyra_retention_init(&r);
	papyra_backend_set_retention(b, &r);

	ck_assert_int_eq(papyra_backend_snapshot(b, &err), 0);
	v = read_view(b, PAPYRA_KIND_METRIC);
	ck_assert_msg(strncmp(v, "{\"kind\":\"metric\",\"timestamp\":", 29) == 0 &&
		      strstr(v, "\"metrics\":{\"records_written\":10,") != NULL,
		      "expected a metric snapshot holding the counters, got %s", v);
	free(v);

	struct papyra_scan_report scan;
	papyra_scan_report_init(&scan);
	ck_assert_int_eq(papyra_backend_scan(b, &scan, &err), 0);
	ck_assert(papyra_scan_report_healthy(&scan));
	ck_assert_uint_eq(scan.total_records, 11);
	papyra_scan_report_release(&scan);
	ck_assert_uint_eq(papyra_metrics_get(papyra_backend_metrics(b),
					     PAPYRA_METRIC_SCANS), 1);

	struct papyra_compaction_report cr;
	struct papyra_buf text = PAPYRA_BUF_INIT;
	ck_assert_int_eq(papyra_backend_compact(b, &cr, &err), 0);
	ck_assert(cr.rewritten == 0 && cr.records_after == 11);
	ck_assert_int_eq(papyra_compaction_report_text(&cr, &text), 0);
	ck_assert_msg(strstr(text.data, "memory backend: nothing to compact"),
		      "expected the no-op said, got %s", text.data);
	papyra_buf_reset(&text);

	struct papyra_recovery_report rr;
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
						&rr, &err), 0);
	ck_assert_int_eq(rr.rewritten, 0);
	ck_assert_str_eq(rr.backend, "memory");
	ck_assert_int_eq(papyra_recovery_report_text(&rr, &text), 0);
	ck_assert_msg(strstr(text.data, "memory"), "expected memory named: %s", text.data);
	papyra_recovery_report_release(&rr);
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_QUARANTINE, NULL,
						&rr, &err), -EINVAL);
	ck_assert_int_eq(papyra_backend_sync(b, &err), 0);

	papyra_buf_reset(&text);
	ck_assert_int_eq(papyra_backend_inspect(b, 1, &text, &err), 0);
	ck_assert_msg(strstr(text.data, "backend: memory\n") &&
		      strstr(text.data, "records: 11\n") &&
		      strstr(text.data, "records.metric: 1\n") &&
		      strstr(text.data, "healthy: yes\n") &&
		      strstr(text.data, "retention: max_records=none") &&
		      strstr(text.data, "state: ok\n") &&
		      strstr(text.data, "metrics.scans: 1\n"),
		      "expected a complete inspect report, got %s", text.data);
	papyra_buf_release(&text);
	papyra_backend_free(b);
}
END_TEST

START_TEST(test_appender)
{
	struct papyra_backend *b;
	struct papyra_options o;
	struct papyra_error err;
	struct papyra_appender *a;
	const char *stream = "{\"n\":1}\n{\"n\":2}\n{\"n\":3}";
	char *v;

	papyra_options_init(&o);
	o.max_record = 64;
	ck_assert_int_eq(papyra_backend_open(&b, PAPYRA_MEMORY_PATH, &o, NULL, &err), 0);

	/* byte by byte: a record only when its newline arrives */
	a = papyra_appender_new(b, PAPYRA_KIND_EVENT);
	for (size_t i = 0; stream[i]; i++) {
		ck_assert_int_eq(papyra_appender_write(a, stream + i, 1, &err), 0);
		if (stream[i] == '\n') {
			v = read_view(b, PAPYRA_KIND_EVENT);
			ck_assert_uint_eq(count_lines(v), i / 8 + 1);
			free(v);
		}
	}
	v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_uint_eq(count_lines(v), 2);
	free(v);
	ck_assert_int_eq(papyra_appender_finish(a, &err), 0);
	v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_uint_eq(count_lines(v), 3);
	ck_assert_msg(strstr(v, ",\"n\":3}\n") != NULL, "expected the final line: %s", v);
	free(v);
	papyra_appender_free(a);

	/* many records in one write, tail kept for the next */
	a = papyra_appender_new(b, PAPYRA_KIND_AUDIT);
	ck_assert_int_eq(papyra_appender_write(a, LIT("{}\n{}\n{}\n{\"x\""), &err), 0);
	ck_assert_uint_eq(papyra_backend_size(b, PAPYRA_KIND_AUDIT) > 0, 1);
	ck_assert_int_eq(papyra_appender_write(a, LIT(":1}\n"), &err), 0);
	v = read_view(b, PAPYRA_KIND_AUDIT);
	ck_assert_uint_eq(count_lines(v), 4);
	free(v);

	/* a bad line drops the whole request and the pending tail */
	ck_assert_int_eq(papyra_appender_write(a, LIT("{\"ok\":1}\n{bad}\n{\"y\":"), &err),
			 -EINVAL);
	v = read_view(b, PAPYRA_KIND_AUDIT);
	ck_assert_uint_eq(count_lines(v), 4);
	free(v);
	ck_assert_int_eq(papyra_appender_finish(a, &err), 0);
	v = read_view(b, PAPYRA_KIND_AUDIT);
	ck_assert_msg(count_lines(v) == 4, "expected the dropped tail not appended");
	free(v);

	/* an over-long pending tail fails at once */
	char big[100];
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(papyra_appender_write(a, LIT("{\"a\":\""), &err), 0);
	ck_assert_int_eq(papyra_appender_write(a, big, sizeof(big), &err), -EMSGSIZE);
	ck_assert_int_eq(papyra_appender_write(a, LIT("{}\n"), &err), 0);
	v = read_view(b, PAPYRA_KIND_AUDIT);
	ck_assert_uint_eq(count_lines(v), 5);
	free(v);
	ck_assert_int_eq(papyra_appender_finish(a, &err), 0);
	papyra_appender_free(a);
	papyra_backend_free(b);
}
END_TEST

/* --- concurrency -------------------------------------------------------- */

struct writer {
	struct papyra_backend *b;
	int id;
	int failures;
};

#define WRITERS 8
#define PER_WRITER 500

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct papyra_error err;
	char line[128];

	for (int i = 0; i < PER_WRITER; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"kind\":\"event\",\"w\":%d,\"i\":%d,\"pad\":\"%*s\"}\n",
				 w->id, i, i % 17, "");
		if (papyra_backend_append(w->b, PAPYRA_KIND_ANY, line, (size_t)n,
					  NULL, &err) < 0)
			w->failures++;
	}
	return NULL;
}

/* Every writer's records present once, intact, each writer's in order. */
static void check_concurrent(struct papyra_backend *b)
{
	pthread_t t[WRITERS];
	struct writer w[WRITERS];
	int next[WRITERS] = { 0 };

	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ b, i, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].failures == 0, "expected writer %d to succeed", i);
	}
	char *v = read_view(b, PAPYRA_KIND_ANY);
	ck_assert_uint_eq(count_lines(v), WRITERS * PER_WRITER);
	for (char *p = v; *p;) {
		char *nl = strchr(p, '\n');
		int wid, i;
		ck_assert_msg(sscanf(p, "{\"kind\":\"event\",\"timestamp\":%*f,\"w\":%d,\"i\":%d",
				     &wid, &i) == 2,
			      "expected an intact record, got %.*s", (int)(nl - p), p);
		ck_assert_msg(wid >= 0 && wid < WRITERS && next[wid] == i,
			      "expected record %d of writer %d next", next[wid], wid);
		next[wid]++;
		p = nl + 1;
	}
	free(v);
	ck_assert_uint_eq(papyra_metrics_get(papyra_backend_metrics(b),
					     PAPYRA_METRIC_RECORDS_WRITTEN),
			  WRITERS * PER_WRITER);
}

START_TEST(test_concurrent_memory)
{
	struct papyra_backend *b = open_memory();

	check_concurrent(b);
	papyra_backend_free(b);
}
END_TEST

/* --- the file backend --------------------------------------------------- */

static struct papyra_backend *open_file(const char *path, int create,
					struct papyra_scan_report *startup)
{
	struct papyra_backend *b;
	struct papyra_options o;
	struct papyra_error err;

	papyra_options_init(&o);
	o.create = create;
	ck_assert_msg(papyra_backend_open(&b, path, &o, startup, &err) == 0,
		      "expected '%s' to open: %s", path, err.message);
	return b;
}

START_TEST(test_file_concurrent_group_commit)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "log.ndjson");
	struct papyra_backend *b = open_file(path, 1, NULL);
	const struct papyra_metrics *m = papyra_backend_metrics(b);

	check_concurrent(b);
	uint64_t fsyncs = papyra_metrics_get(m, PAPYRA_METRIC_FSYNCS);
	uint64_t written = papyra_metrics_get(m, PAPYRA_METRIC_RECORDS_WRITTEN);
	ck_assert_msg(fsyncs > 0 && fsyncs < written,
		      "expected concurrent appends to share fdatasyncs: %llu "
		      "fsyncs for %llu records", (unsigned long long)fsyncs,
		      (unsigned long long)written);
	papyra_backend_free(b);

	/* reopened, the file scans clean with every record */
	struct papyra_scan_report scan;
	papyra_scan_report_init(&scan);
	b = open_file(path, 0, &scan);
	ck_assert(papyra_scan_report_healthy(&scan));
	ck_assert_uint_eq(scan.total_records, WRITERS * PER_WRITER);
	papyra_scan_report_release(&scan);
	papyra_backend_free(b);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_file_missing_and_busy)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "none.ndjson");
	struct papyra_backend *b, *b2;
	struct papyra_options o;
	struct papyra_error err;
	char want[600];

	papyra_options_init(&o);
	ck_assert_int_eq(papyra_backend_open(&b, path, &o, NULL, &err), -ENOENT);
	snprintf(want, sizeof(want), "'%s' does not exist", path);
	ck_assert_str_eq(err.message, want);

	b = open_file(path, 1, NULL);
	ck_assert_str_eq(papyra_backend_name(b), "json");
	o.create = 1;
	ck_assert_int_eq(papyra_backend_open(&b2, path, &o, NULL, &err), -EBUSY);

	/* read-only: no lock needed, nothing written */
	o.create = 0;
	o.read_only = 1;
	ck_assert_int_eq(papyra_backend_open(&b2, path, &o, NULL, &err), 0);
	ck_assert_int_eq(papyra_backend_append(b2, PAPYRA_KIND_EVENT, LIT("{}"),
					       NULL, &err), -EROFS);
	ck_assert_int_eq(papyra_backend_snapshot(b2, &err), -EROFS);
	struct papyra_compaction_report cr;
	ck_assert_int_eq(papyra_backend_compact(b2, &cr, &err), -EROFS);
	papyra_backend_free(b2);
	papyra_backend_free(b);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_file_torn_tail_recover_compact)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "log.ndjson");
	const char *content =
		"{\"kind\":\"event\",\"timestamp\":1}\n"
		"garbage\n"
		"{\"kind\":\"audit\",\"timestamp\":2}\n"
		"{\"kind\":\"event\",\"tim";
	struct papyra_scan_report scan;
	struct papyra_error err;
	struct papyra_backend *b;
	char *data;
	size_t len;

	tu_write_file(path, content, strlen(content));
	papyra_scan_report_init(&scan);
	b = open_file(path, 0, &scan);
	ck_assert_uint_eq(scan.anomaly_count, 2);
	papyra_scan_report_release(&scan);

	/* the torn tail is sealed off, nothing stored is changed */
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
		LIT("{\"timestamp\":3}\n"), NULL, &err), 0);
	data = tu_read_file(path, &len);
	ck_assert_msg(len == strlen(content) + 1 + 31 &&
		      memcmp(data, content, strlen(content)) == 0 &&
		      strcmp(data + strlen(content),
			     "\n{\"kind\":\"event\",\"timestamp\":3}\n") == 0,
		      "expected the torn line sealed and the record after it, got %s",
		      data);
	free(data);
	char *v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_str_eq(v, "{\"kind\":\"event\",\"timestamp\":1}\n"
			    "{\"kind\":\"event\",\"timestamp\":3}\n");
	free(v);

	/* recover drops the two anomalous lines, keeps records byte for byte */
	struct papyra_recovery_report rr;
	struct papyra_buf text = PAPYRA_BUF_INIT;
	uint64_t gen = papyra_backend_generation(b);
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
						&rr, &err), 0);
	ck_assert(rr.rewritten == 1 && rr.lines_kept == 3 && rr.lines_dropped == 2);
	ck_assert(papyra_backend_generation(b) != gen);
	ck_assert_int_eq(papyra_recovery_report_text(&rr, &text), 0);
	ck_assert_msg(strstr(text.data, "lines dropped: 2\n"), "got %s", text.data);
	papyra_recovery_report_release(&rr);
	data = tu_read_file(path, &len);
	ck_assert_str_eq(data, "{\"kind\":\"event\",\"timestamp\":1}\n"
			       "{\"kind\":\"audit\",\"timestamp\":2}\n"
			       "{\"kind\":\"event\",\"timestamp\":3}\n");
	free(data);
	v = read_view(b, PAPYRA_KIND_AUDIT);
	ck_assert_str_eq(v, "{\"kind\":\"audit\",\"timestamp\":2}\n");
	free(v);

	/* healthy now: recover leaves it alone */
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
						&rr, &err), 0);
	ck_assert_int_eq(rr.rewritten, 0);
	papyra_recovery_report_release(&rr);

	/* compact under max_records=1 keeps the newest */
	struct papyra_retention r;
	struct papyra_compaction_report cr;
	papyra_retention_init(&r);
	r.max_records = 1;
	papyra_backend_set_retention(b, &r);
	ck_assert_int_eq(papyra_backend_compact(b, &cr, &err), 0);
	ck_assert(cr.rewritten && cr.records_before == 3 && cr.records_after == 1);
	ck_assert_uint_eq(cr.bytes_after, 31);
	papyra_buf_reset(&text);
	ck_assert_int_eq(papyra_compaction_report_text(&cr, &text), 0);
	ck_assert_msg(strstr(text.data, "records after: 1\n"), "got %s", text.data);
	data = tu_read_file(path, &len);
	ck_assert_str_eq(data, "{\"kind\":\"event\",\"timestamp\":3}\n");
	free(data);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_AUDIT, LIT("{}"), NULL,
					       &err), 0);
	ck_assert_uint_eq(papyra_metrics_get(papyra_backend_metrics(b),
					     PAPYRA_METRIC_COMPACTIONS), 1);
	ck_assert_uint_eq(papyra_metrics_get(papyra_backend_metrics(b),
					     PAPYRA_METRIC_RECOVERIES), 2);
	papyra_buf_release(&text);
	papyra_backend_free(b);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_file_quarantine_and_startup)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "log.ndjson");
	char *qdir = tu_path(dir, "q");
	const char *content = "{\"kind\":\"event\",\"timestamp\":1}\n[]\n";
	struct papyra_scan_report scan;
	struct papyra_startup_result res;
	struct papyra_error err;
	struct papyra_backend *b;

	tu_write_file(path, content, strlen(content));
	papyra_scan_report_init(&scan);
	b = open_file(path, 0, &scan);
	ck_assert_int_eq(papyra_startup_apply(b, PAPYRA_STARTUP_FAIL_ON_ANOMALY,
					      PAPYRA_RECOVERY_REPAIR, NULL, &scan,
					      &res, &err), 0);
	ck_assert(res.passed == 0 && res.anomalies_found == 1);
	papyra_startup_result_release(&res);
	ck_assert_int_eq(papyra_startup_apply(b, PAPYRA_STARTUP_RECOVER,
					      PAPYRA_RECOVERY_QUARANTINE, NULL,
					      &scan, &res, &err), -EINVAL);
	papyra_startup_result_release(&res);
	ck_assert_int_eq(papyra_startup_apply(b, PAPYRA_STARTUP_RECOVER,
					      PAPYRA_RECOVERY_QUARANTINE, qdir,
					      &scan, &res, &err), 0);
	ck_assert(res.passed && res.recovered && res.anomalies_remaining == 0);
	ck_assert_msg(res.recovery.quarantine_path != NULL,
		      "expected the quarantine path reported");
	size_t len;
	char *old = tu_read_file(res.recovery.quarantine_path, &len);
	ck_assert_msg(old && strcmp(old, content) == 0,
		      "expected the old file preserved in quarantine");
	free(old);
	papyra_startup_result_release(&res);
	papyra_scan_report_release(&scan);

	struct papyra_buf text = PAPYRA_BUF_INIT;
	ck_assert_int_eq(papyra_backend_inspect(b, 0, &text, &err), 0);
	ck_assert_msg(strstr(text.data, "backend: json\n") &&
		      strstr(text.data, "records.event: 1\n") &&
		      strstr(text.data, "healthy: yes\n") &&
		      strstr(text.data, "sync: always\n") &&
		      !strstr(text.data, "metrics."),
		      "expected an inspect report without metrics, got %s", text.data);
	ck_assert_uint_eq(papyra_metrics_get(papyra_backend_metrics(b),
					     PAPYRA_METRIC_SCANS), 1);
	papyra_buf_release(&text);
	papyra_backend_free(b);
	free(qdir);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_file_write_and_sync_failures)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "log.ndjson");
	struct papyra_backend *b = open_file(path, 1, NULL);
	const struct papyra_metrics *m = papyra_backend_metrics(b);
	struct papyra_error err;
	struct papyra_buf text = PAPYRA_BUF_INIT;
	char *data;
	size_t len;

	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
					       LIT("{\"timestamp\":1}"), NULL, &err), 0);
	/* a failed write leaves nothing behind and later appends work */
	papyra_io_fault(PAPYRA_IO_WRITE, 1, ENOSPC);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
					       LIT("{\"timestamp\":2}"), NULL, &err),
			 -ENOSPC);
	papyra_io_faults_clear();
	data = tu_read_file(path, &len);
	ck_assert_str_eq(data, "{\"kind\":\"event\",\"timestamp\":1}\n");
	free(data);
	ck_assert_uint_eq(papyra_metrics_get(m, PAPYRA_METRIC_WRITE_ERRORS), 1);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
					       LIT("{\"timestamp\":3}"), NULL, &err), 0);

	/* a compaction whose rename fails leaves the file and index alone */
	struct papyra_retention r;
	struct papyra_compaction_report cr;
	papyra_retention_init(&r);
	r.max_records = 1;
	papyra_backend_set_retention(b, &r);
	papyra_io_fault(PAPYRA_IO_RENAME, 1, EIO);
	ck_assert_int_eq(papyra_backend_compact(b, &cr, &err), -EIO);
	papyra_io_faults_clear();
	ck_assert_uint_eq(papyra_metrics_get(m, PAPYRA_METRIC_COMPACTION_ERRORS), 1);
	papyra_retention_init(&r);
	papyra_backend_set_retention(b, &r);
	char *v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_str_eq(v, "{\"kind\":\"event\",\"timestamp\":1}\n"
			    "{\"kind\":\"event\",\"timestamp\":3}\n");
	free(v);

	/* a failed fdatasync: that append gets EIO, every later write EROFS */
	ck_assert(papyra_backend_failure(b) == NULL);
	papyra_io_fault(PAPYRA_IO_FDATASYNC, 1, EIO);
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
					       LIT("{\"timestamp\":4}"), NULL, &err), -EIO);
	papyra_io_faults_clear();
	ck_assert_msg(papyra_backend_failure(b) != NULL, "expected the failure kept");
	ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
					       LIT("{\"timestamp\":5}"), NULL, &err), -EROFS);
	ck_assert_int_eq(papyra_backend_snapshot(b, &err), -EROFS);
	ck_assert_int_eq(papyra_backend_sync(b, &err), -EROFS);
	ck_assert_int_eq(papyra_backend_compact(b, &cr, &err), -EROFS);
	struct papyra_recovery_report rr;
	ck_assert_int_eq(papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL,
						&rr, &err), -EROFS);
	/* reads keep working, inspect says why */
	v = read_view(b, PAPYRA_KIND_EVENT);
	ck_assert_uint_eq(count_lines(v), 3);
	free(v);
	ck_assert_int_eq(papyra_backend_inspect(b, 0, &text, &err), 0);
	ck_assert_msg(strstr(text.data, "state: read-only after failed fdatasync: "),
		      "expected the failed state in inspect, got %s", text.data);
	papyra_buf_release(&text);
	papyra_backend_free(b);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(test_file_sync_modes)
{
	char *dir = tu_tempdir();
	char *path = tu_path(dir, "log.ndjson");
	enum papyra_sync_mode modes[] = { PAPYRA_SYNC_NONE, PAPYRA_SYNC_INTERVAL };

	for (int i = 0; i < 2; i++) {
		struct papyra_backend *b;
		struct papyra_options o;
		struct papyra_error err;

		papyra_options_init(&o);
		o.create = 1;
		o.sync = modes[i];
		o.sync_ms = 3600 * 1000; /* the thread never fires during the test */
		ck_assert_int_eq(papyra_backend_open(&b, path, &o, NULL, &err), 0);
		const struct papyra_metrics *m = papyra_backend_metrics(b);
		ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
						       LIT("{}\n{}\n"), NULL, &err), 0);
		ck_assert_msg(papyra_metrics_get(m, PAPYRA_METRIC_FSYNCS) == 0,
			      "expected no fdatasync on append with sync=%s",
			      papyra_sync_mode_name(modes[i]));
		ck_assert_int_eq(papyra_backend_sync(b, &err), 0);
		ck_assert_uint_eq(papyra_metrics_get(m, PAPYRA_METRIC_FSYNCS), 1);
		ck_assert_int_eq(papyra_backend_append(b, PAPYRA_KIND_EVENT,
						       LIT("{}\n"), NULL, &err), 0);
		papyra_backend_free(b); /* joins the interval thread */
	}
	size_t len;
	char *data = tu_read_file(path, &len);
	ck_assert_uint_eq(count_lines(data), 6);
	free(data);
	free(path);
	tu_rmtree(dir);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("index");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_index_random_monotonic);
	tcase_add_test(tc, test_index_random_unordered);
	tcase_add_test(tc, test_index_load_then_append);
	tcase_add_test(tc, test_index_every_combination);
	tcase_add_test(tc, test_index_incremental);
	tcase_add_test(tc, test_index_bytes_stop_at_first_misfit);
	tcase_add_test(tc, test_index_map_merges_and_stops);
	suite_add_tcase(s, tc);

	tc = tcase_create("parsers");
	tcase_add_test(tc, test_retention_parse_format);
	tcase_add_test(tc, test_retention_bad_input);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_metrics_renderings);
	suite_add_tcase(s, tc);

	tc = tcase_create("backend");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_memory_append_and_read);
	tcase_add_test(tc, test_memory_too_long);
	tcase_add_test(tc, test_memory_retention_snapshot_maintenance);
	tcase_add_test(tc, test_appender);
	tcase_add_test(tc, test_concurrent_memory);
	tcase_add_test(tc, test_file_concurrent_group_commit);
	tcase_add_test(tc, test_file_missing_and_busy);
	tcase_add_test(tc, test_file_torn_tail_recover_compact);
	tcase_add_test(tc, test_file_quarantine_and_startup);
	tcase_add_test(tc, test_file_write_and_sync_failures);
	tcase_add_test(tc, test_file_sync_modes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
