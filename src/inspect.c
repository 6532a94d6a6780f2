/*
 * The inspect report (`papyra persistence inspect`, the tree's `inspect`
 * file): what the backend is, what it holds under the policy in force, and
 * whether it is healthy, as "key: value" lines.  Health comes from a fresh
 * scan that is not counted as a scan request.
 */
#include "config.h"

#include "backend.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "backend_internal.h"

int papyra_backend_inspect(struct papyra_backend *b, int show_metrics,
			   struct papyra_buf *out, struct papyra_error *err)
{
	const struct papyra_options *o = papyra_backend_options(b);
	const char *path = papyra_backend_path(b);
	const char *failure = papyra_backend_failure(b);
	struct papyra_scan_report scan;
	struct papyra_retention policy;
	uint64_t counts[PAPYRA_KIND_COUNT], live_bytes, total = 0;
	struct stat st;
	int rc;

	papyra_scan_report_init(&scan);
	rc = papyra_backend_scan_quiet(b, &scan, err);
	if (rc < 0) {
		/* a failed scan may have filled part of the report */
		papyra_scan_report_release(&scan);
		return rc;
	}
	papyra_backend_get_retention(b, &policy);
	papyra_backend_live_counts(b, counts, &live_bytes);

	rc = papyra_buf_printf(out, "backend: %s\nfile: %s\n",
			       papyra_backend_name(b), path ? path : "(memory)");
	if (rc == 0)
		rc = papyra_buf_printf(out, "exists: %s\nbytes: %llu\nretention: ",
				       !path || stat(path, &st) == 0 ? "yes" : "no",
				       (unsigned long long)papyra_backend_stored_bytes(b));
	if (rc == 0)
		rc = papyra_retention_format(&policy, out);
	for (int k = 0; rc == 0 && k < PAPYRA_KIND_COUNT; k++) {
		total += counts[k];
		rc = papyra_buf_printf(out, "records.%s: %llu\n",
				       papyra_kind_name(k),
				       (unsigned long long)counts[k]);
	}
	if (rc == 0)
		rc = papyra_buf_printf(out, "records: %llu\nlive bytes: %llu\n",
				       (unsigned long long)total,
				       (unsigned long long)live_bytes);
	if (rc == 0)
		rc = papyra_buf_printf(out, "healthy: %s\nanomalies: %zu\n",
				       papyra_scan_report_healthy(&scan) ? "yes" : "no",
				       scan.anomaly_count);
	if (rc == 0)
		rc = papyra_buf_printf(out, "sync: %s", papyra_sync_mode_name(o->sync));
	if (rc == 0 && o->sync == PAPYRA_SYNC_INTERVAL)
		rc = papyra_buf_printf(out, " (every %u ms)", o->sync_ms);
	if (rc == 0)
		rc = papyra_buf_puts(out, "\n");
	if (rc == 0) {
		if (failure)
			rc = papyra_buf_printf(out, "state: read-only after failed fdatasync: %s\n",
					       failure);
		else if (o->read_only)
			rc = papyra_buf_puts(out, "state: ok (opened read-only)\n");
		else
			rc = papyra_buf_puts(out, "state: ok\n");
	}
	if (rc == 0 && show_metrics) {
		const struct papyra_metrics *m = papyra_backend_metrics(b);
		for (int i = 0; rc == 0 && i < PAPYRA_METRIC_COUNT; i++)
			rc = papyra_buf_printf(out, "metrics.%s: %llu\n",
					       papyra_metric_name(i),
					       (unsigned long long)papyra_metrics_get(m, i));
	}
	papyra_scan_report_release(&scan);
	if (rc < 0)
		return papyra_error_set(err, rc, "out of memory");
	return 0;
}
