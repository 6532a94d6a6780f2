/*
 * libFuzzer harness: papyra_scan_buffer over arbitrary bytes, cut into one
 * to five parts scanned by as many threads (the count follows the size, so
 * every input is tried with some cut), checked
 * against a line-by-line model built here from papyra_line_classify and the
 * TRUNCATED_LINE rule: the same anomalies (type, line, offset, length) in
 * the same order, offsets increasing and at line starts, records plus
 * anomalies equal to lines, good_end just past the last '\n', and every
 * callback range inside the buffer, at a line start, ending in '\n'.
 */
#include "config.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const uint8_t *data;
	size_t size;
	uint64_t next;     /* callback ranges come in order, past this */
	uint64_t records;
};

#define CHECK(cond, ...)                                              \
	do {                                                          \
		if (!(cond)) {                                        \
			fprintf(stderr, "scan invariant: " __VA_ARGS__); \
			fputc('\n', stderr);                          \
			abort();                                      \
		}                                                     \
	} while (0)

static int on_record(void *ctx, uint64_t offset, uint32_t length, int kind,
		     double timestamp)
{
	struct seen *s = ctx;
	struct papyra_line_class c;

	CHECK(offset >= s->next, "record at %llu before the previous end %llu",
	      (unsigned long long)offset, (unsigned long long)s->next);
	CHECK(length >= 1 && offset + length <= s->size,
	      "record [%llu,+%u) outside the buffer of %zu",
	      (unsigned long long)offset, length, s->size);
	CHECK(s->data[offset + length - 1] == '\n',
	      "record at %llu does not end in a newline", (unsigned long long)offset);
	CHECK(offset == 0 || s->data[offset - 1] == '\n',
	      "record at %llu is not at a line start", (unsigned long long)offset);
	CHECK(!memchr(s->data + offset, '\n', length - 1),
	      "record at %llu spans lines", (unsigned long long)offset);
	papyra_line_classify((const char *)s->data + offset, length - 1, &c);
	CHECK(c.type == PAPYRA_ANOMALY_NONE && c.kind == kind,
	      "record at %llu is not one of kind %d", (unsigned long long)offset, kind);
	CHECK(c.has_timestamp ? timestamp == c.timestamp || (isnan(timestamp) && isnan(c.timestamp))
			      : isnan(timestamp),
	      "record at %llu: timestamp %.17g", (unsigned long long)offset, timestamp);
	s->next = offset + length;
	s->records++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct papyra_scan_report r;
	struct papyra_error err;
	struct seen s = { data, size, 0, 0 };
	uint64_t lineno = 0, records = 0, good_end = 0;
	size_t pos = 0, ai = 0;
	int rc;

	papyra_scan_report_init(&r);
	rc = papyra_scan_buffer_parts((const char *)data, size, 1 + size % 5,
				      on_record, &s, &r, &err);
	CHECK(rc == 0, "scan failed: %s", err.message);
	CHECK(r.bytes == size, "bytes %llu, expected %zu", (unsigned long long)r.bytes, size);

	/* The model, line by line. */
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t l = nl ? (size_t)(nl - (data + pos)) : size - pos;
		enum papyra_anomaly_type want;
		struct papyra_line_class c;

		lineno++;
		if (!nl) {
			want = PAPYRA_ANOMALY_TRUNCATED_LINE;
		} else {
			papyra_line_classify((const char *)data + pos, l, &c);
			want = c.type;
		}
		if (want == PAPYRA_ANOMALY_NONE) {
			records++;
		} else {
			const struct papyra_anomaly *a;

			CHECK(ai < r.anomaly_count, "line %llu at %zu: expected a %s, "
			      "the scan has only %zu anomalies", (unsigned long long)lineno,
			      pos, papyra_anomaly_name(want), r.anomaly_count);
			a = &r.anomalies[ai++];
			CHECK(a->type == want && a->line == lineno && a->offset == pos &&
			      a->length == l + (nl ? 1 : 0),
			      "anomaly %zu: expected %s line %llu offset %zu length %zu, got "
			      "%s line %llu offset %llu length %llu", ai - 1,
			      papyra_anomaly_name(want), (unsigned long long)lineno, pos,
			      l + (nl ? 1 : 0), papyra_anomaly_name(a->type),
			      (unsigned long long)a->line, (unsigned long long)a->offset,
			      (unsigned long long)a->length);
			CHECK(a->detail && a->detail[0], "anomaly %zu has no detail", ai - 1);
		}
		pos += l + (nl ? 1 : 0);
		if (nl)
			good_end = pos;
	}
	CHECK(ai == r.anomaly_count, "expected %zu anomalies, got %zu", ai, r.anomaly_count);
	CHECK(r.lines == lineno, "expected %llu lines, got %llu",
	      (unsigned long long)lineno, (unsigned long long)r.lines);
	CHECK(r.total_records == records && s.records == records,
	      "expected %llu records, report %llu, callbacks %llu",
	      (unsigned long long)records, (unsigned long long)r.total_records,
	      (unsigned long long)s.records);
	CHECK(r.total_records + r.anomaly_count == r.lines, "records + anomalies != lines");
	{
		uint64_t sum = 0;

		for (int k = 0; k < PAPYRA_KIND_COUNT; k++)
			sum += r.records[k];
		CHECK(sum == r.total_records, "records by kind do not sum to the total");
	}
	CHECK(r.good_end == good_end, "good_end %llu, expected %llu",
	      (unsigned long long)r.good_end, (unsigned long long)good_end);
	CHECK(papyra_scan_report_healthy(&r) == (r.anomaly_count == 0), "healthy flag");

	/* The renderings must cope with whatever the details hold. */
	{
		struct papyra_buf b = PAPYRA_BUF_INIT;

		CHECK(papyra_scan_report_text(&r, &b) == 0, "text report failed");
		papyra_buf_reset(&b);
		CHECK(papyra_scan_report_json(&r, &b) == 0, "json report failed");
		{
			struct json_object *o = json_tokener_parse(b.data);

			CHECK(o != NULL, "json report does not parse: %s", b.data);
			json_object_put(o);
		}
		papyra_buf_release(&b);
	}
	papyra_scan_report_release(&r);
	return 0;
}
