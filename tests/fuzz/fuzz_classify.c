/*
 * libFuzzer harness: papyra_line_classify against the independent judge of
 * judge.h (json-c strict plus the RFC 8259 tightenings and the kind and
 * timestamp rules).  Any disagreement on the anomaly type, the kind or the
 * timestamp aborts with both verdicts on stderr.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "judge.h"
#include "line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void disagree(const uint8_t *data, size_t size, const char *what,
		     const struct papyra_line_class *c,
		     const struct judgement *j)
{
	fprintf(stderr, "disagreement on %s: classifier %s kind %d ts %d %.17g "
		"(%s); judge %s kind %d ts %d %.17g deviation %d\nline: ",
		what, papyra_anomaly_name(c->type), c->kind, c->has_timestamp,
		c->timestamp, c->detail, papyra_anomaly_name(j->type), j->kind,
		j->has_timestamp, j->timestamp, j->deviation);
	fwrite(data, 1, size, stderr);
	fputc('\n', stderr);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct papyra_line_class c;
	struct judgement j;

	papyra_line_classify((const char *)data, size, &c);
	judge_line((const char *)data, size, &j);
	if (c.type == PAPYRA_ANOMALY_TRUNCATED_LINE)
		disagree(data, size, "type (classifier never truncates)", &c, &j);
	if ((c.type == PAPYRA_ANOMALY_CORRUPTED_LINE) !=
	    (j.type == PAPYRA_ANOMALY_CORRUPTED_LINE))
		disagree(data, size, "validity", &c, &j);
	if (j.key_nul)
		return 0;
	if (c.type != j.type)
		disagree(data, size, "type", &c, &j);
	if (c.type != PAPYRA_ANOMALY_NONE)
		return 0;
	if (c.kind != j.kind)
		disagree(data, size, "kind", &c, &j);
	if (c.has_timestamp != j.has_timestamp)
		disagree(data, size, "has_timestamp", &c, &j);
	if (j.has_timestamp && j.timestamp_exact &&
	    !(c.timestamp == j.timestamp ||
	      (isnan(c.timestamp) && isnan(j.timestamp))))
		disagree(data, size, "timestamp", &c, &j);
	return 0;
}
