/*
 * Synthetic Papyra records for the benchmarks: lines shaped like what the
 * actor framework's JSON backend writes (kind, timestamp, system_id,
 * actor_address, event_type, a small payload), 150 to 250 bytes, with
 * increasing timestamps.  Formatted by hand rather than with printf so the
 * generator can write a gigabyte in a few seconds.  Also the two helpers
 * every benchmark program needs: a clock and a write that finishes.
 */
#ifndef BENCH_RECORDS_H
#define BENCH_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_RECORD_MAX 512 /* longest line bench_gen_record writes */

struct bench_gen {
	uint64_t rng;     /* xorshift64 state, never 0 */
	uint64_t seq;     /* records generated so far */
	uint64_t ts_us;   /* timestamp of the last record, microseconds */
	int events_only;  /* every record of kind event */
};

/* Start a sequence; the same seed gives the same records. */
void bench_gen_init(struct bench_gen *g, uint64_t seed, int events_only);

/*
 * Write the next record into dst (at least BENCH_RECORD_MAX bytes), '\n'
 * included, and return its length.  Kinds are mostly event, with some
 * audit, dead_letter and metric unless events_only.
 */
size_t bench_gen_record(struct bench_gen *g, char *dst);

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* write() all of buf, retrying short writes and EINTR: 0 or -1 (errno). */
int bench_write_all(int fd, const char *buf, size_t len);

#endif
