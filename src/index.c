/*
 * The record index: where every valid record of a log sits, so that the
 * size and any window of a live view (a kind, or every kind, under a
 * retention policy) come from binary searches instead of a pass over the
 * file.
 *
 * Layout, per record (29 bytes):
 *   ok[i]   8  file offset << 2 | kind
 *   ts[i]   8  timestamp (NAN when absent)
 *   cum[i]  8  bytes of records 0..i-1 (cum has count+1 entries)
 *   kind list entry 4 + 1: the record's position in its kind's list
 *           (uint32) plus one uint64 checkpoint of that list's cumulative
 *           bytes per 8 entries; a cumulative count inside a block is the
 *           checkpoint plus at most 7 lengths read from cum[].
 *
 * Live sets.  Count and bytes constraints keep the newest records, and
 * the age constraint keeps a suffix whenever timestamps never decrease
 * (records without one sort as -infinity: they fail any max_age and can
 * only lead the file), so the live set is normally a suffix [start, n)
 * found by binary search.  When timestamps are out of order and a max_age
 * is in force, the live set is computed by one backward pass and cached,
 * keyed by (policy, record count, now rounded down to the second), as a
 * list for every kind and one per kind (5 bytes per live entry each).
 */
#include "config.h"

#include "index.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CK_SHIFT 3                 /* one checkpoint per 8 list entries */
/* During a load arrays grow by at most this many bytes at a time: the new
   part is faulted in at once, so it should not run far past the need. */
#define LOAD_STEP ((size_t)4 << 20)
#define CK_STEP (1u << CK_SHIFT)

/* An ordered list of record positions with checkpointed byte totals. */
struct seq {
	uint32_t *pos;   /* record positions, increasing */
	uint64_t *ck;    /* ck[b]: bytes of entries before b * CK_STEP */
	size_t n, cap;   /* entries used and allocated in pos */
	size_t ck_cap;   /* entries allocated in ck */
	uint64_t total;  /* bytes of all entries */
};

/* The fallback live set for out-of-order timestamps under max_age. */
struct live_cache {
	int valid;
	struct papyra_retention policy; /* key */
	size_t count;                   /* key: records indexed */
	double second;                  /* key: floor(now) */
	struct seq all;
	struct seq kind[PAPYRA_KIND_COUNT];
};

struct papyra_index {
	uint64_t *ok;   /* offset << 2 | kind */
	double *ts;     /* timestamps */
	uint64_t *cum;  /* cum[i]: bytes before record i; n + 1 entries */
	size_t n, cap;
	int ts_sorted;  /* timestamps non-decreasing, NaN as -infinity */
	int loading;    /* between load_begin and load_end */
	double ts_last; /* last timestamp key added */
	struct seq kind[PAPYRA_KIND_COUNT];
	struct live_cache cache;
};

/* A view: entries [lo, hi) of a seq, or of all records when s is NULL. */
struct view {
	const struct seq *s;
	size_t lo, hi;
};

static double ts_key(double t)
{
	return isnan(t) ? -INFINITY : t;
}

static uint64_t rec_off(const struct papyra_index *ix, size_t i)
{
	return ix->ok[i] >> 2;
}

static int rec_kind(const struct papyra_index *ix, size_t i)
{
	return (int)(ix->ok[i] & 3);
}

static uint64_t rec_len(const struct papyra_index *ix, size_t i)
{
	return ix->cum[i + 1] - ix->cum[i];
}

/* --- seq ---------------------------------------------------------------- */

static void seq_release(struct seq *s)
{
	free(s->pos);
	free(s->ck);
	memset(s, 0, sizeof(*s));
}

/*
 * Fault in the pages of a grown array's new part in one call, during a
 * load.  Touching fresh pages one fault at a time is most of the cost of
 * indexing a large log on virtual machines; asking for them in bulk halves
 * it.  Advice only: an older kernel refuses it and the pages come one by
 * one.  Outside a load an append must not pay for faulting in the next
 * half of a large array, so the pages come as they are used.
 */
static void prefault(void *p, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + from + page - 1) & ~(page - 1);
	uintptr_t b = ((uintptr_t)p + to) & ~(page - 1);

	if (b > a && b - a >= ((size_t)1 << 20))
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)from;
	(void)to;
#endif
}

/* The capacity after cap: half again, by at most LOAD_STEP in a load. */
static size_t next_cap(size_t cap, size_t elem, int bulk)
{
	size_t step = cap / 2 + 16;

	if (bulk && step > LOAD_STEP / elem)
		step = LOAD_STEP / elem;
	return cap + step;
}

/* realloc *p from old to new bytes; in a load, fault in the new part. */
static int resize(void **p, size_t old, size_t new, int bulk)
{
	void *q = realloc(*p, new);

	if (!q)
		return -ENOMEM;
	if (bulk)
		prefault(q, old, new);
	*p = q;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, int bulk)
{
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (c < need) {
		if (c > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		c = next_cap(c, elem, bulk);
	}
	if (resize(p, *cap * elem, c * elem, bulk) < 0)
		return -ENOMEM;
	*cap = c;
	return 0;
}

/* Reserve room for one more entry, so that seq_push cannot fail. */
static int seq_reserve(struct seq *s, int bulk)
{
	int rc = grow((void **)&s->pos, &s->cap, s->n + 1, sizeof(*s->pos),
		      bulk);

	if (rc == 0)
		rc = grow((void **)&s->ck, &s->ck_cap,
			  (s->n >> CK_SHIFT) + 1, sizeof(*s->ck), bulk);
	return rc;
}

static void seq_push(const struct papyra_index *ix, struct seq *s, size_t i)
{
	if ((s->n & (CK_STEP - 1)) == 0)
		s->ck[s->n >> CK_SHIFT] = s->total;
	s->pos[s->n++] = (uint32_t)i;
	s->total += rec_len(ix, i);
}

static size_t view_at(const struct view *v, size_t p)
{
	return v->s ? v->s->pos[p] : p;
}

/* Bytes of the entries of v's list before entry p (p <= list length). */
static uint64_t view_cum(const struct papyra_index *ix, const struct view *v,
			 size_t p)
{
	const struct seq *s = v->s;
	uint64_t sum;

	if (!s)
		return ix->cum[p];
	if (p == s->n)
		return s->total;
	sum = s->ck[p >> CK_SHIFT];
	for (size_t q = p & ~(size_t)(CK_STEP - 1); q < p; q++)
		sum += rec_len(ix, s->pos[q]);
	return sum;
}

/*
 * The entry of v holding byte target (absolute in v's list): the largest
 * p in [lo, hi) with view_cum(p) <= target.  Requires view_cum(lo) <=
 * target < view_cum(hi).
 */
static size_t view_find(const struct papyra_index *ix, const struct view *v,
			uint64_t target)
{
	size_t lo = v->lo, hi = v->hi, p;

	if (!v->s) {
		/* largest p in [lo, hi) with cum[p] <= target */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (ix->cum[mid] <= target)
				lo = mid;
			else
				hi = mid;
		}
		return lo;
	}
	/* checkpoint blocks first, then at most CK_STEP - 1 steps */
	size_t blo = lo >> CK_SHIFT, bhi = ((hi - 1) >> CK_SHIFT) + 1;
	while (bhi - blo > 1) {
		size_t mid = blo + (bhi - blo) / 2;
		if (v->s->ck[mid] <= target)
			blo = mid;
		else
			bhi = mid;
	}
	p = blo << CK_SHIFT;
	if (p < lo)
		p = lo;
	uint64_t c = view_cum(ix, v, p);
	while (p + 1 < hi) {
		uint64_t next = c + rec_len(ix, v->s->pos[p]);
		if (next > target)
			break;
		c = next;
		p++;
	}
	return p;
}

/* First entry of s at or after record position i. */
static size_t seq_lower(const struct seq *s, size_t i)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->pos[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* --- construction ------------------------------------------------------- */

struct papyra_index *papyra_index_new(void)
{
	struct papyra_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	ix->cum = malloc(sizeof(*ix->cum));
	if (!ix->cum) {
		free(ix);
		return NULL;
	}
	ix->cum[0] = 0;
	ix->ts_sorted = 1;
	ix->ts_last = -INFINITY;
	return ix;
}

static void cache_release(struct live_cache *c)
{
	seq_release(&c->all);
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		seq_release(&c->kind[k]);
	c->valid = 0;
}

void papyra_index_free(struct papyra_index *ix)
{
	if (!ix)
		return;
	free(ix->ok);
	free(ix->ts);
	free(ix->cum);
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
		seq_release(&ix->kind[k]);
	cache_release(&ix->cache);
	free(ix);
}

int papyra_index_add(void *ixp, uint64_t offset, uint32_t length, int kind,
		     double timestamp)
{
	struct papyra_index *ix = ixp;
	size_t i = ix->n, cap = ix->cap;
	int rc;

	if (kind < 0 || kind >= PAPYRA_KIND_COUNT)
		return -EINVAL;
	if (offset >> 62 || i >= UINT32_MAX) /* beyond what an entry holds */
		return -ENOMEM;
	/* every allocation first, so that a failure leaves the index as is */
	if (i + 1 > cap) {
		size_t c = cap ? next_cap(cap, sizeof(*ix->ok), ix->loading) : 64;
		int bulk = ix->loading;

		if (c > SIZE_MAX / sizeof(uint64_t) - 1)
			return -ENOMEM;
		/* a grown array is kept even if a later one fails */
		if (resize((void **)&ix->ok, cap * sizeof(*ix->ok),
			   c * sizeof(*ix->ok), bulk) < 0 ||
		    resize((void **)&ix->ts, cap * sizeof(*ix->ts),
			   c * sizeof(*ix->ts), bulk) < 0 ||
		    resize((void **)&ix->cum, (cap + 1) * sizeof(*ix->cum),
			   (c + 1) * sizeof(*ix->cum), bulk) < 0)
			return -ENOMEM;
		ix->cap = c;
	}
	rc = seq_reserve(&ix->kind[kind], ix->loading);
	if (rc < 0)
		return rc;

	ix->ok[i] = offset << 2 | (uint64_t)kind;
	ix->ts[i] = timestamp;
	ix->cum[i + 1] = ix->cum[i] + length;
	ix->n = i + 1;
	seq_push(ix, &ix->kind[kind], i);
	if (ts_key(timestamp) < ix->ts_last)
		ix->ts_sorted = 0;
	else
		ix->ts_last = ts_key(timestamp);
	return 0;
}

/* Shrink an array to n elements (at least one); a failure keeps it. */
static void trim(void **p, size_t *cap, size_t n, size_t elem)
{
	void *q;

	if (n == 0)
		n = 1;
	if (n >= *cap)
		return;
	q = realloc(*p, n * elem);
	if (q) {
		*p = q;
		*cap = n;
	}
}

void papyra_index_load_begin(struct papyra_index *ix)
{
	ix->loading = 1;
}

void papyra_index_load_end(struct papyra_index *ix)
{
	size_t want = ix->n + 1;

	ix->loading = 0;
	if (want < ix->cap) {
		/* A shrink that fails leaves an array larger than want, which
		   is as good: the shared capacity becomes want either way. */
		void *q;

		if ((q = realloc(ix->ok, want * sizeof(*ix->ok))))
			ix->ok = q;
		if ((q = realloc(ix->ts, want * sizeof(*ix->ts))))
			ix->ts = q;
		if ((q = realloc(ix->cum, (want + 1) * sizeof(*ix->cum))))
			ix->cum = q;
		ix->cap = want;
	}
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++) {
		struct seq *s = &ix->kind[k];

		trim((void **)&s->pos, &s->cap, s->n, sizeof(*s->pos));
		trim((void **)&s->ck, &s->ck_cap, (s->n >> CK_SHIFT) + 1,
		     sizeof(*s->ck));
	}
}

size_t papyra_index_count(const struct papyra_index *ix)
{
	return ix->n;
}

uint64_t papyra_index_bytes(const struct papyra_index *ix)
{
	return ix->cum[ix->n];
}

/* --- live sets ---------------------------------------------------------- */

static int has_age(const struct papyra_retention *p)
{
	return p && p->max_age >= 0;
}

/* Count and bytes constraints applied to a suffix starting at start. */
static size_t suffix_start(const struct papyra_index *ix,
			   const struct papyra_retention *p, size_t start)
{
	size_t n = ix->n;

	if (p && p->max_records >= 0 && (uint64_t)p->max_records < n - start)
		start = n - (size_t)p->max_records;
	if (p && p->max_bytes >= 0) {
		/* smallest s >= start with cum[n] - cum[s] <= max_bytes */
		size_t lo = start, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (ix->cum[n] - ix->cum[mid] <= (uint64_t)p->max_bytes)
				hi = mid;
			else
				lo = mid + 1;
		}
		start = lo;
	}
	return start;
}

/* First record passing the age test, timestamps being in order. */
static size_t age_start(const struct papyra_index *ix, double cutoff)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ts_key(ix->ts[mid]) < cutoff)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int policy_equal(const struct papyra_retention *a,
			const struct papyra_retention *b)
{
	return a->max_records == b->max_records && a->max_age == b->max_age &&
	       a->max_bytes == b->max_bytes;
}

/*
 * Build the cached live set by one backward pass: newest first, a record
 * that fails the age test is skipped, and the pass stops at the first one
 * that passes but exceeds the count or bytes limit.
 */
static int cache_build(struct papyra_index *ix,
		       const struct papyra_retention *p, double second)
{
	struct live_cache *c = &ix->cache;
	double cutoff = second - p->max_age;
	uint64_t kept = 0, bytes = 0;
	size_t first = ix->n, live = 0;
	size_t per_kind[PAPYRA_KIND_COUNT] = { 0 };

	cache_release(c);
	/* pass 1: count, so that every list is allocated once */
	for (size_t i = ix->n; i-- > 0;) {
		if (isnan(ix->ts[i]) || ix->ts[i] < cutoff)
			continue;
		if (p->max_records >= 0 && kept >= (uint64_t)p->max_records)
			break;
		if (p->max_bytes >= 0 &&
		    bytes + rec_len(ix, i) > (uint64_t)p->max_bytes)
			break;
		kept++;
		bytes += rec_len(ix, i);
		first = i;
		per_kind[rec_kind(ix, i)]++;
		live++;
	}
	struct seq *lists[PAPYRA_KIND_COUNT + 1];
	size_t sizes[PAPYRA_KIND_COUNT + 1];
	lists[0] = &c->all;
	sizes[0] = live;
	for (int k = 0; k < PAPYRA_KIND_COUNT; k++) {
		lists[k + 1] = &c->kind[k];
		sizes[k + 1] = per_kind[k];
	}
	for (int l = 0; l <= PAPYRA_KIND_COUNT; l++) {
		struct seq *s = lists[l];
		s->pos = malloc((sizes[l] ? sizes[l] : 1) * sizeof(*s->pos));
		s->ck = malloc(((sizes[l] >> CK_SHIFT) + 1) * sizeof(*s->ck));
		if (!s->pos || !s->ck) {
			cache_release(c);
			return -ENOMEM;
		}
		s->cap = sizes[l] ? sizes[l] : 1;
		s->ck_cap = (sizes[l] >> CK_SHIFT) + 1;
	}
	/* pass 2: fill in file order */
	for (size_t i = first; i < ix->n && c->all.n < live; i++) {
		if (isnan(ix->ts[i]) || ix->ts[i] < cutoff)
			continue;
		seq_push(ix, &c->all, i);
		seq_push(ix, &c->kind[rec_kind(ix, i)], i);
	}
	c->policy = *p;
	c->count = ix->n;
	c->second = second;
	c->valid = 1;
	return 0;
}

/*
 * The live view of kind.  Fails only with -ENOMEM (building the cache);
 * then *v is empty.
 */
static int live_view(struct papyra_index *ix,
		     const struct papyra_retention *p, double now, int kind,
		     struct view *v)
{
	size_t start;

	if (!has_age(p) || ix->ts_sorted) {
		start = has_age(p) ? age_start(ix, now - p->max_age) : 0;
		start = suffix_start(ix, p, start);
		if (kind < 0 || kind >= PAPYRA_KIND_COUNT) {
			v->s = NULL;
			v->lo = start;
			v->hi = ix->n;
		} else {
			v->s = &ix->kind[kind];
			v->lo = seq_lower(v->s, start);
			v->hi = v->s->n;
		}
		return 0;
	}

	double second = floor(now);
	struct live_cache *c = &ix->cache;
	if (!c->valid || c->count != ix->n || c->second != second ||
	    !policy_equal(&c->policy, p)) {
		int rc = cache_build(ix, p, second);
		if (rc < 0) {
			v->s = NULL;
			v->lo = v->hi = 0;
			return rc;
		}
	}
	v->s = kind < 0 || kind >= PAPYRA_KIND_COUNT ? &c->all : &c->kind[kind];
	v->lo = 0;
	v->hi = v->s->n;
	return 0;
}

void papyra_index_live_counts(struct papyra_index *ix,
			      const struct papyra_retention *policy, double now,
			      uint64_t counts[PAPYRA_KIND_COUNT],
			      uint64_t *bytes)
{
	struct view v;

	for (int k = 0; counts && k < PAPYRA_KIND_COUNT; k++) {
		live_view(ix, policy, now, k, &v);
		counts[k] = v.hi - v.lo;
	}
	if (bytes) {
		live_view(ix, policy, now, PAPYRA_KIND_ANY, &v);
		*bytes = view_cum(ix, &v, v.hi) - view_cum(ix, &v, v.lo);
	}
}

uint64_t papyra_index_live_size(struct papyra_index *ix,
				const struct papyra_retention *policy,
				double now, int kind)
{
	struct view v;

	live_view(ix, policy, now, kind, &v);
	return view_cum(ix, &v, v.hi) - view_cum(ix, &v, v.lo);
}

int64_t papyra_index_map(struct papyra_index *ix,
			 const struct papyra_retention *policy, double now,
			 int kind, uint64_t off, size_t len,
			 papyra_index_range_fn fn, void *ctx)
{
	struct view v;
	int rc = live_view(ix, policy, now, kind, &v);

	if (rc < 0)
		return rc;
	uint64_t base = view_cum(ix, &v, v.lo);
	uint64_t size = view_cum(ix, &v, v.hi) - base;
	if (off >= size || len == 0)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);

	size_t p = view_find(ix, &v, base + off);
	uint64_t inner = base + off - view_cum(ix, &v, p);
	uint64_t run_file = 0, run_len = 0;
	size_t run_win = 0, done = 0;

	/* pieces in window order; a run grows while they touch in the file */
	while (done < len) {
		size_t i = view_at(&v, p);
		uint64_t piece = rec_len(ix, i) - inner;
		uint64_t at = rec_off(ix, i) + inner;

		if (piece > len - done)
			piece = len - done;
		if (run_len && run_file + run_len == at) {
			run_len += piece;
		} else {
			if (run_len) {
				rc = fn(ctx, run_file, (size_t)run_len, run_win);
				if (rc < 0)
					return rc;
			}
			run_file = at;
			run_len = piece;
			run_win = done;
		}
		done += (size_t)piece;
		inner = 0;
		p++;
	}
	if (run_len) {
		rc = fn(ctx, run_file, (size_t)run_len, run_win);
		if (rc < 0)
			return rc;
	}
	return (int64_t)done;
}

int papyra_index_live_foreach(struct papyra_index *ix,
			      const struct papyra_retention *policy,
			      double now,
			      int (*fn)(void *ctx, uint64_t offset,
					uint32_t length, int kind,
					double timestamp),
			      void *ctx)
{
	struct view v;
	int rc = live_view(ix, policy, now, PAPYRA_KIND_ANY, &v);

	if (rc < 0)
		return rc;
	for (size_t p = v.lo; p < v.hi; p++) {
		size_t i = view_at(&v, p);
		rc = fn(ctx, rec_off(ix, i), (uint32_t)rec_len(ix, i),
			rec_kind(ix, i), ix->ts[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}
