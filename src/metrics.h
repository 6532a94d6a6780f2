/*
 * The backend's counters (SPEC §8).  They are backend-local, start at zero
 * when the backend opens, and are updated from many FUSE threads at once,
 * so each is an atomic.
 */
#ifndef PAPYRA_METRICS_H
#define PAPYRA_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"

enum papyra_metric {
	PAPYRA_METRIC_RECORDS_WRITTEN = 0,
	PAPYRA_METRIC_BYTES_WRITTEN,
	PAPYRA_METRIC_SCANS,
	PAPYRA_METRIC_ANOMALIES_DETECTED,
	PAPYRA_METRIC_RECOVERIES,
	PAPYRA_METRIC_COMPACTIONS,
	PAPYRA_METRIC_WRITE_ERRORS,
	PAPYRA_METRIC_SCAN_ERRORS,
	PAPYRA_METRIC_RECOVERY_ERRORS,
	PAPYRA_METRIC_COMPACTION_ERRORS,
	PAPYRA_METRIC_READS,
	PAPYRA_METRIC_RECORDS_REJECTED,
	PAPYRA_METRIC_FSYNCS,
	PAPYRA_METRIC_COUNT
};

struct papyra_metrics {
	_Atomic uint64_t value[PAPYRA_METRIC_COUNT];
};

void papyra_metrics_init(struct papyra_metrics *m); /* all zero */
void papyra_metrics_add(struct papyra_metrics *m, enum papyra_metric which,
			uint64_t n);
uint64_t papyra_metrics_get(const struct papyra_metrics *m,
			    enum papyra_metric which);
void papyra_metrics_reset(struct papyra_metrics *m);
/* "records_written", ... */
const char *papyra_metric_name(enum papyra_metric which);

/* "name value\n" per counter, in enum order. */
int papyra_metrics_text(const struct papyra_metrics *m, struct papyra_buf *out);
/* Prometheus text exposition: papyra_<name>_total counters with HELP/TYPE. */
int papyra_metrics_prom(const struct papyra_metrics *m, struct papyra_buf *out);
/* One JSON object {"records_written":N,...} without a newline. */
int papyra_metrics_json(const struct papyra_metrics *m, struct papyra_buf *out);

#endif
