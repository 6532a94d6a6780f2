/*
 * libFuzzer harness: papyra_record_canonicalize.  The first input byte picks
 * the forced kind (any or one of the four), the rest is the written line.
 * Properties: a line the classifier calls a record is accepted when written
 * to "records" (unless a member name holds \u0000, refused by design); an
 * accepted line yields exactly one stored line, '\n' terminated, starting with {"kind":, that the classifier accepts with the
 * reported kind; canonicalizing a stored line again gives it back
 * unchanged (the stored form is a fixed point); and the direct build gives
 * the same bytes, result and message as the build through json-c.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "line.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORD 4096
#define NOW 1700000000.123456

static void fail(const char *what, const char *in, size_t inlen,
		 const struct papyra_buf *out, const char *detail)
{
	fprintf(stderr, "%s (%s)\ninput: ", what, detail ? detail : "");
	fwrite(in, 1, inlen, stderr);
	fprintf(stderr, "\nstored: ");
	if (out && out->data)
		fwrite(out->data, 1, out->len, stderr);
	fputc('\n', stderr);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct papyra_buf out = PAPYRA_BUF_INIT, again = PAPYRA_BUF_INIT;
	struct papyra_record_info info, info2;
	struct papyra_line_class in, st;
	struct papyra_error err;
	const char *line;
	size_t len;
	int forced, rc;

	if (size < 1)
		return 0;
	forced = (int)(data[0] % 5) - 1; /* -1 is PAPYRA_KIND_ANY */
	line = (const char *)data + 1;
	len = size - 1;

	papyra_line_classify(line, len, &in);
	papyra_error_clear(&err);
	rc = papyra_record_canonicalize(line, len, forced, MAX_RECORD, NOW,
					&out, &info, &err);
	{
		/* The direct build and the json-c build agree byte for byte. */
		struct papyra_buf ref = PAPYRA_BUF_INIT;
		struct papyra_error rerr;
		int rrc;

		papyra_error_clear(&rerr);
		rrc = papyra_record_canonicalize_jsonc(line, len, forced,
						       MAX_RECORD, NOW, &ref,
						       NULL, &rerr);
		if (rrc != rc || ref.len != out.len ||
		    (out.len && memcmp(ref.data, out.data, out.len)) ||
		    strcmp(rerr.message, err.message))
			fail("the direct build differs from json-c's", line,
			     len, &ref, rerr.message);
		papyra_buf_release(&ref);
	}
	if (rc < 0) {
		if (out.len)
			fail("refused but wrote output", line, len, &out, err.message);
		if (rc != -EINVAL && rc != -EMSGSIZE)
			fail("unexpected error code", line, len, NULL, err.message);
		if (rc == -EMSGSIZE && len <= MAX_RECORD)
			fail("EMSGSIZE for a short line", line, len, NULL, err.message);
		/*
		 * A record with a member name holding \u0000 is refused on
		 * purpose: json-c keys are C strings, so the stored form could
		 * not keep the name (record.c says so; the scan still accepts
		 * such a line written by someone else).
		 */
		if (len <= MAX_RECORD && in.type == PAPYRA_ANOMALY_NONE &&
		    (forced == PAPYRA_KIND_ANY || forced == in.kind) &&
		    !strstr(err.message, "\\u0000"))
			fail("a record the classifier accepts was refused", line,
			     len, NULL, err.message);
		if (!err.message[0])
			fail("refused without a message", line, len, NULL, NULL);
		return 0;
	}
	if (len > MAX_RECORD)
		fail("accepted a line over max_record", line, len, &out, NULL);
	if (in.type == PAPYRA_ANOMALY_CORRUPTED_LINE)
		fail("accepted a corrupted line", line, len, &out, in.detail);
	if (in.type == PAPYRA_ANOMALY_UNKNOWN_KIND)
		fail("accepted an unknown kind", line, len, &out, in.detail);
	if (forced != PAPYRA_KIND_ANY && info.kind != forced)
		fail("stored kind is not the forced one", line, len, &out, NULL);
	if (in.type == PAPYRA_ANOMALY_NONE && info.kind != in.kind)
		fail("stored kind differs from the written one", line, len, &out, NULL);
	if (out.len < 2 || out.data[out.len - 1] != '\n' || info.length != out.len)
		fail("stored line not '\\n' terminated or length wrong", line, len,
		     &out, NULL);
	if (memchr(out.data, '\n', out.len - 1))
		fail("stored form holds more than one line", line, len, &out, NULL);
	if (strncmp(out.data, "{\"kind\":", 8) != 0)
		fail("stored line does not start with {\"kind\":", line, len, &out, NULL);
	papyra_line_classify(out.data, out.len - 1, &st);
	if (st.type != PAPYRA_ANOMALY_NONE)
		fail("stored line is not a record", line, len, &out, st.detail);
	if (st.kind != info.kind)
		fail("stored line classifies to another kind", line, len, &out, NULL);
	if (!st.has_timestamp)
		fail("stored line has no numeric timestamp", line, len, &out, NULL);
	if (st.timestamp != info.timestamp &&
	    !(st.timestamp != st.timestamp && info.timestamp != info.timestamp))
		fail("info.timestamp is not the stored one", line, len, &out, NULL);

	/* The stored form is a fixed point (when it still fits). */
	if (out.len - 1 <= MAX_RECORD) {
		rc = papyra_record_canonicalize(out.data, out.len - 1,
						PAPYRA_KIND_ANY, MAX_RECORD,
						NOW + 1, &again, &info2, &err);
		if (rc < 0)
			fail("stored line refused when written again", line, len,
			     &out, err.message);
		if (again.len != out.len || memcmp(again.data, out.data, out.len))
			fail("stored line changes when written again", line, len,
			     &again, NULL);
	}
	papyra_buf_release(&out);
	papyra_buf_release(&again);
	return 0;
}
