/*
 * Text rendering of the recovery and compaction reports (ctl/recover and
 * ctl/compact when read, and the CLI's output): "key: value" lines saying
 * what was kept, dropped, rewritten or left alone.
 */
#include "maintenance.h"

#include <stdlib.h>

#include "line.h"

void papyra_recovery_report_release(struct papyra_recovery_report *r)
{
	if (!r)
		return;
	free(r->quarantine_path);
	r->quarantine_path = NULL;
}

static const char *const anomaly_names[5] = {
	"NONE", "TRUNCATED_LINE", "CORRUPTED_LINE", "UNKNOWN_KIND", "STRUCTURAL",
};

int papyra_recovery_report_text(const struct papyra_recovery_report *r,
				struct papyra_buf *out)
{
	const char *backend = r->backend ? r->backend : "json";
	int memory = r->backend && r->backend[0] == 'm';
	int rc;

	rc = papyra_buf_printf(out, "backend: %s\nmode: %s\n", backend,
			       papyra_recovery_mode_name(r->mode));
	if (rc)
		return rc;
	if (memory)
		return papyra_buf_puts(out,
			"result: memory backend: nothing to recover\n");
	if (!r->exists)
		return papyra_buf_puts(out,
			"result: the file does not exist: nothing to recover\n");
	if (!r->rewritten && r->lines_dropped == 0)
		rc = papyra_buf_puts(out, "result: healthy, left untouched\n");
	else if (!r->rewritten)
		rc = papyra_buf_puts(out, "result: not rewritten\n");
	else
		rc = papyra_buf_puts(out, "result: repaired\n");
	if (rc == 0)
		rc = papyra_buf_printf(out,
			"records kept: %llu\nlines dropped: %llu\n",
			(unsigned long long)r->lines_kept,
			(unsigned long long)r->lines_dropped);
	for (int t = 1; rc == 0 && t < 5; t++)
		if (r->anomalies[t])
			rc = papyra_buf_printf(out, "dropped %s: %llu\n",
					       anomaly_names[t],
					       (unsigned long long)r->anomalies[t]);
	if (rc == 0)
		rc = papyra_buf_printf(out, "bytes before: %llu\nbytes after: %llu\n",
				       (unsigned long long)r->bytes_before,
				       (unsigned long long)r->bytes_after);
	if (rc == 0 && r->quarantine_path)
		rc = papyra_buf_printf(out, "quarantined: %s\n",
				       r->quarantine_path);
	return rc;
}

int papyra_compaction_report_text(const struct papyra_compaction_report *r,
				  struct papyra_buf *out)
{
	const char *backend = r->backend ? r->backend : "json";
	int rc;

	rc = papyra_buf_printf(out, "backend: %s\n", backend);
	if (rc)
		return rc;
	if (r->backend && r->backend[0] == 'm')
		return papyra_buf_puts(out,
			"result: memory backend: nothing to compact\n");
	if (!r->exists)
		return papyra_buf_puts(out,
			"result: the file does not exist: nothing to compact\n");
	rc = papyra_buf_puts(out, r->rewritten
			     ? "result: compacted\n"
			     : "result: nothing to remove, left untouched\n");
	if (rc == 0)
		rc = papyra_buf_printf(out,
			"records before: %llu\nrecords after: %llu\n"
			"bytes before: %llu\nbytes after: %llu\n"
			"anomalous lines removed: %llu\n",
			(unsigned long long)r->records_before,
			(unsigned long long)r->records_after,
			(unsigned long long)r->bytes_before,
			(unsigned long long)r->bytes_after,
			(unsigned long long)r->anomalous_lines_removed);
	return rc;
}
