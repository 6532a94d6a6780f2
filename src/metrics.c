/*
 * The backend's counters and their three renderings (metrics.txt,
 * metrics.prom, the payload of a metric snapshot).  Relaxed atomics are
 * enough: each counter is independent and readers only need a recent value.
 */
#include "metrics.h"

static const struct {
	const char *name;
	const char *help;
} metric_info[PAPYRA_METRIC_COUNT] = {
	[PAPYRA_METRIC_RECORDS_WRITTEN] = { "records_written", "Records appended to the log." },
	[PAPYRA_METRIC_BYTES_WRITTEN] = { "bytes_written", "Bytes of records appended to the log." },
	[PAPYRA_METRIC_SCANS] = { "scans", "Scans of the log run on request." },
	[PAPYRA_METRIC_ANOMALIES_DETECTED] = { "anomalies_detected", "Anomalies found by scans." },
	[PAPYRA_METRIC_RECOVERIES] = { "recoveries", "Recoveries run." },
	[PAPYRA_METRIC_COMPACTIONS] = { "compactions", "Compactions run." },
	[PAPYRA_METRIC_WRITE_ERRORS] = { "write_errors", "Appends that failed to write or sync." },
	[PAPYRA_METRIC_SCAN_ERRORS] = { "scan_errors", "Scans that failed." },
	[PAPYRA_METRIC_RECOVERY_ERRORS] = { "recovery_errors", "Recoveries that failed." },
	[PAPYRA_METRIC_COMPACTION_ERRORS] = { "compaction_errors", "Compactions that failed." },
	[PAPYRA_METRIC_READS] = { "reads", "Reads of record views." },
	[PAPYRA_METRIC_RECORDS_REJECTED] = { "records_rejected", "Written lines refused as invalid or too long." },
	[PAPYRA_METRIC_FSYNCS] = { "fsyncs", "fdatasync calls made for appends." },
};

void papyra_metrics_init(struct papyra_metrics *m)
{
	for (int i = 0; i < PAPYRA_METRIC_COUNT; i++)
		atomic_init(&m->value[i], 0);
}

void papyra_metrics_add(struct papyra_metrics *m, enum papyra_metric which,
			uint64_t n)
{
	if ((unsigned)which < PAPYRA_METRIC_COUNT)
		atomic_fetch_add_explicit(&m->value[which], n,
					  memory_order_relaxed);
}

uint64_t papyra_metrics_get(const struct papyra_metrics *m,
			    enum papyra_metric which)
{
	if ((unsigned)which >= PAPYRA_METRIC_COUNT)
		return 0;
	return atomic_load_explicit(&((struct papyra_metrics *)m)->value[which],
				    memory_order_relaxed);
}

void papyra_metrics_reset(struct papyra_metrics *m)
{
	for (int i = 0; i < PAPYRA_METRIC_COUNT; i++)
		atomic_store_explicit(&m->value[i], 0, memory_order_relaxed);
}

const char *papyra_metric_name(enum papyra_metric which)
{
	return (unsigned)which < PAPYRA_METRIC_COUNT ? metric_info[which].name
						      : NULL;
}

int papyra_metrics_text(const struct papyra_metrics *m, struct papyra_buf *out)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < PAPYRA_METRIC_COUNT; i++)
		rc = papyra_buf_printf(out, "%s %llu\n", metric_info[i].name,
				       (unsigned long long)papyra_metrics_get(m, i));
	return rc;
}

int papyra_metrics_prom(const struct papyra_metrics *m, struct papyra_buf *out)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < PAPYRA_METRIC_COUNT; i++) {
		const char *n = metric_info[i].name;
		rc = papyra_buf_printf(out,
			"# HELP papyra_%s_total %s\n"
			"# TYPE papyra_%s_total counter\n"
			"papyra_%s_total %llu\n",
			n, metric_info[i].help, n, n,
			(unsigned long long)papyra_metrics_get(m, i));
	}
	return rc;
}

int papyra_metrics_json(const struct papyra_metrics *m, struct papyra_buf *out)
{
	int rc = papyra_buf_puts(out, "{");

	for (int i = 0; rc == 0 && i < PAPYRA_METRIC_COUNT; i++)
		rc = papyra_buf_printf(out, "%s\"%s\":%llu", i ? "," : "",
				       metric_info[i].name,
				       (unsigned long long)papyra_metrics_get(m, i));
	return rc ? rc : papyra_buf_puts(out, "}");
}
