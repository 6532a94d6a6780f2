/*
 * Throughput of papyra_line_classify over typical records (about 150-200
 * bytes each, shaped like the actor framework's events), against json-c's
 * strict parser on the same lines for scale.  Not part of the test suite:
 * timing belongs here, not in tests.
 *
 *   cc -O2 -IBUILD -Isrc bench/classify_speed.c src/line.c src/kind.c \
 *      $(pkg-config --cflags --libs json-c) -lm -o classify_speed
 *   ./classify_speed [MB]
 *
 * (BUILD: a configured build directory, for config.h.)
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "line.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = { "event", "event", "event", "audit",
					     "dead_letter", "metric" };
	static const char *const types[] = { "UserCreated", "OrderPlaced",
					     "PaymentCaptured", "SessionClosed" };
	size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 256;
	size_t cap = mb << 20, len = 0, lines = 0;
	char *buf = malloc(cap + 512);
	unsigned long long rng = 88172645463325252ULL;
	double t0, t1, best = 1e9;
	size_t bad = 0;

	if (!buf)
		return 1;
	while (len < cap) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		len += (size_t)sprintf(buf + len,
			"{\"kind\":\"%s\",\"system_id\":\"local\",\"actor_address\":\"user/%llu\","
			"\"event_type\":\"%s\",\"payload\":{\"a\":%llu,\"b\":[1,2,3],\"s\":\"text %llx\"},"
			"\"timestamp\":%llu.%03llu}\n",
			kinds[rng % 6], rng % 100000, types[(rng >> 8) % 4],
			(rng >> 12) % 1000, rng >> 40,
			1710000000ULL + lines, (rng >> 20) % 1000);
		lines++;
	}

	for (int round = 0; round < 5; round++) {
		t0 = now();
		for (size_t off = 0; off < len;) {
			const char *nl = memchr(buf + off, '\n', len - off);
			struct papyra_line_class c;

			papyra_line_classify(buf + off, (size_t)(nl - (buf + off)), &c);
			bad += c.type != PAPYRA_ANOMALY_NONE;
			off = (size_t)(nl - buf) + 1;
		}
		t1 = now();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	printf("classify: %zu lines, %.1f MB, avg %.0f bytes/line: %.0f MB/s (best of 5)%s\n",
	       lines, (double)len / 1e6, (double)len / (double)lines,
	       (double)len / 1e6 / best, bad ? "  ** some lines rejected **" : "");

	/* json-c strict on a slice, for scale. */
	size_t slice = len < (32u << 20) ? len : (32u << 20);
	struct json_tokener *tok = json_tokener_new();

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	t0 = now();
	for (size_t off = 0; off < slice;) {
		const char *nl = memchr(buf + off, '\n', len - off);
		struct json_object *o;

		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, buf + off, (int)(nl - (buf + off)));
		json_object_put(o);
		off = (size_t)(nl - buf) + 1;
	}
	t1 = now();
	printf("json-c strict: %.0f MB/s\n", (double)slice / 1e6 / (t1 - t0));
	json_tokener_free(tok);
	free(buf);
	return 0;
}
