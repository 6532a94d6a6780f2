/*
 * The record generator behind bench/gen and bench/appender: realistic
 * Papyra records written with a small hand-rolled formatter (strings and
 * integers only, so the output is byte-for-byte reproducible from a seed).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "records.h"

static const char *const systems[] = {
	"papyra-node-1", "papyra-node-2", "papyra-node-3", "papyra-edge-7",
};
static const char *const actors[] = {
	"user/orders/worker-", "user/payments/gateway-", "user/inventory/shard-",
	"user/mail/mailer-", "system/sup/child-",
	"user/sessions/session-",
};
static const char *const event_types[] = {
	"ActorStarted", "ActorStopped", "MessageProcessed", "ActorRestarted",
	"OrderCreated", "PaymentCaptured", "StockReserved", "MessageProcessed",
};
static const char *const message_types[] = {
	"PlaceOrder", "CapturePayment", "ReserveStock", "SendEmail", "Ping",
	"Tick",
};
static const char *const actions[] = { "spawn", "stop", "restart", "watch" };
static const char *const reasons[] = {
	"no_handler", "actor_stopped", "mailbox_full", "timeout",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t next(struct bench_gen *g)
{
	uint64_t x = g->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	g->rng = x;
	return x;
}

static char *put(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* v / 10^decimals with exactly that many decimals ("12.345"). */
static char *put_fixed(char *p, uint64_t v, int decimals)
{
	uint64_t div = 1;
	int i;

	for (i = 0; i < decimals; i++)
		div *= 10;
	p = put_u64(p, v / div);
	*p++ = '.';
	v %= div;
	for (i = decimals - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + decimals;
}

/* Zero-padded to width digits. */
static char *put_padded(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

void bench_gen_init(struct bench_gen *g, uint64_t seed, int events_only)
{
	g->rng = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
	if (!g->rng)
		g->rng = 1;
	g->seq = 0;
	g->ts_us = 1710000000ull * 1000000ull;
	g->events_only = events_only;
}

static char *put_address(char *p, const char *system, uint64_t r)
{
	p = put(p, "\"local://");
	p = put(p, system);
	*p++ = '/';
	p = put(p, actors[r % COUNT(actors)]);
	p = put_u64(p, (r >> 8) % 64);
	*p++ = '"';
	return p;
}

size_t bench_gen_record(struct bench_gen *g, char *dst)
{
	uint64_t r = next(g), s = next(g);
	unsigned pick = (unsigned)(r % 100);
	const char *system = systems[(s >> 3) % COUNT(systems)];
	char *p = dst;

	g->seq++;
	g->ts_us += 1 + (r >> 20) % 2000;
	if (g->events_only)
		pick = 0;

	p = put(p, "{\"kind\":\"");
	if (pick < 85)
		p = put(p, "event");
	else if (pick < 92)
		p = put(p, "audit");
	else if (pick < 96)
		p = put(p, "dead_letter");
	else
		p = put(p, "metric");
	p = put(p, "\",\"timestamp\":");
	p = put_fixed(p, g->ts_us, 6);
	p = put(p, ",\"system_id\":\"");
	p = put(p, system);
	*p++ = '"';

	if (pick < 85) {
		p = put(p, ",\"actor_address\":");
		p = put_address(p, system, s >> 11);
		p = put(p, ",\"event_type\":\"");
		p = put(p, event_types[(r >> 40) % COUNT(event_types)]);
		p = put(p, "\",\"payload\":{\"message_id\":\"m-");
		p = put_padded(p, g->seq % 100000000, 8);
		p = put(p, "\",\"duration_ms\":");
		p = put_fixed(p, (s >> 35) % 250000, 3);
		p = put(p, ",\"retries\":");
		p = put_u64(p, (s >> 50) % 4 == 3 ? (s >> 52) % 5 : 0);
		p = put(p, "}");
	} else if (pick < 92) {
		p = put(p, ",\"action\":\"");
		p = put(p, actions[(r >> 40) % COUNT(actions)]);
		p = put(p, "\",\"actor_address\":");
		p = put_address(p, system, s >> 11);
		p = put(p, ",\"total_actors\":");
		p = put_u64(p, 100 + (s >> 30) % 900);
		p = put(p, ",\"alive_actors\":");
		p = put_u64(p, 90 + (s >> 30) % 900 - (s >> 40) % 10);
		p = put(p, ",\"registry_size\":");
		p = put_u64(p, 100 + (s >> 50) % 900);
	} else if (pick < 96) {
		p = put(p, ",\"target\":");
		p = put_address(p, system, s >> 11);
		p = put(p, ",\"message_type\":\"");
		p = put(p, message_types[(s >> 30) % COUNT(message_types)]);
		p = put(p, "\",\"reason\":\"");
		p = put(p, reasons[(r >> 40) % COUNT(reasons)]);
		p = put(p, "\",\"payload\":{\"message_id\":\"m-");
		p = put_padded(p, g->seq % 100000000, 8);
		p = put(p, "\",\"attempt\":");
		p = put_u64(p, 1 + (s >> 50) % 3);
		p = put(p, "}");
	} else {
		p = put(p, ",\"name\":\"persistence\",\"values\":{"
			   "\"records_written\":");
		p = put_u64(p, g->seq);
		p = put(p, ",\"bytes_written\":");
		p = put_u64(p, g->seq * 212 + (s >> 40) % 1000);
		p = put(p, ",\"fsyncs\":");
		p = put_u64(p, g->seq / 16);
		p = put(p, ",\"anomalies_detected\":0}");
	}
	*p++ = '}';
	*p++ = '\n';
	return (size_t)(p - dst);
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bench_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}
