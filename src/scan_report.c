/*
 * Rendering a scan report: the text of `papyra persistence scan` and
 * scan/report, the JSON of scan/report.json, and the one-line scan/status.
 * The JSON is written directly into a papyra_buf rather than through
 * json-c: a damaged file can have millions of anomalies and this stays one
 * linear pass without a document in memory.
 */
#include "config.h"

#include "scan.h"


/* "healthy", "1 anomaly", "3 anomalies" */
static int put_verdict(const struct papyra_scan_report *r,
		       struct papyra_buf *out)
{
	if (papyra_scan_report_healthy(r))
		return papyra_buf_puts(out, "healthy");
	return papyra_buf_printf(out, "%zu anomal%s", r->anomaly_count,
				 r->anomaly_count == 1 ? "y" : "ies");
}

int papyra_scan_report_text(const struct papyra_scan_report *r,
			    struct papyra_buf *out)
{
	const char *path = r->path ? r->path : "(in memory)";
	int rc;

	if (r->exists)
		rc = papyra_buf_printf(out, "file: %s\n", path);
	else
		rc = papyra_buf_printf(out, "file: %s (does not exist: an empty log)\n",
				       path);
	if (rc == 0)
		rc = papyra_buf_printf(out, "backend: %s\nbytes: %llu\nstatus: ",
				       r->backend ? r->backend : "json",
				       (unsigned long long)r->bytes);
	if (rc == 0)
		rc = put_verdict(r, out);
	if (rc == 0)
		rc = papyra_buf_printf(out,
				       "\nrecords: %llu (event %llu, audit %llu, "
				       "dead_letter %llu, metric %llu)\n",
				       (unsigned long long)r->total_records,
				       (unsigned long long)r->records[PAPYRA_KIND_EVENT],
				       (unsigned long long)r->records[PAPYRA_KIND_AUDIT],
				       (unsigned long long)r->records[PAPYRA_KIND_DEAD_LETTER],
				       (unsigned long long)r->records[PAPYRA_KIND_METRIC]);
	for (size_t i = 0; rc == 0 && i < r->anomaly_count; i++) {
		const struct papyra_anomaly *a = &r->anomalies[i];

		rc = papyra_buf_printf(out, "line %llu offset %llu: %s: %s\n",
				       (unsigned long long)a->line,
				       (unsigned long long)a->offset,
				       papyra_anomaly_name(a->type),
				       a->detail ? a->detail : "");
	}
	if (rc == 0 && !papyra_scan_report_healthy(r))
		rc = papyra_buf_printf(out,
				       "hint: repair with `papyra persistence recover "
				       "--path %s` or `echo repair > ctl/recover` on a "
				       "mount\n", path);
	return rc;
}

int papyra_scan_report_json(const struct papyra_scan_report *r,
			    struct papyra_buf *out)
{
	int rc = papyra_buf_puts(out, "{\"backend\":");

	if (rc == 0)
		rc = papyra_buf_json_string(out, r->backend ? r->backend : "json");
	if (rc == 0)
		rc = papyra_buf_puts(out, ",\"path\":");
	if (rc == 0)
		rc = r->path ? papyra_buf_json_string(out, r->path)
			     : papyra_buf_puts(out, "null");
	if (rc == 0)
		rc = papyra_buf_printf(out, ",\"healthy\":%s,\"records\":{",
				       papyra_scan_report_healthy(r) ? "true" : "false");
	for (int k = 0; rc == 0 && k < PAPYRA_KIND_COUNT; k++)
		rc = papyra_buf_printf(out, "%s\"%s\":%llu", k ? "," : "",
				       papyra_kind_name(k),
				       (unsigned long long)r->records[k]);
	if (rc == 0)
		rc = papyra_buf_printf(out, "},\"bytes\":%llu,\"anomalies\":[",
				       (unsigned long long)r->bytes);
	for (size_t i = 0; rc == 0 && i < r->anomaly_count; i++) {
		const struct papyra_anomaly *a = &r->anomalies[i];

		rc = papyra_buf_printf(out,
				       "%s{\"type\":\"%s\",\"line\":%llu,"
				       "\"offset\":%llu,\"detail\":",
				       i ? "," : "", papyra_anomaly_name(a->type),
				       (unsigned long long)a->line,
				       (unsigned long long)a->offset);
		if (rc == 0)
			rc = papyra_buf_json_string(out, a->detail ? a->detail : "");
		if (rc == 0)
			rc = papyra_buf_puts(out, "}");
	}
	if (rc == 0)
		rc = papyra_buf_puts(out, "]}\n");
	return rc;
}

int papyra_scan_report_status(const struct papyra_scan_report *r,
			      struct papyra_buf *out)
{
	if (papyra_scan_report_healthy(r))
		return papyra_buf_puts(out, "healthy\n");
	return papyra_buf_printf(out, "anomalies %zu\n", r->anomaly_count);
}
