/*
 * Papyra's startup modes applied to an open backend: the daemon runs this
 * before serving a mount, the CLI for startup-check and doctor run.
 */
#include "startup.h"

#include <string.h>

int papyra_startup_apply(struct papyra_backend *b,
			 enum papyra_startup_mode mode,
			 enum papyra_recovery_mode recovery,
			 const char *quarantine_dir,
			 const struct papyra_scan_report *scan,
			 struct papyra_startup_result *result,
			 struct papyra_error *err)
{
	int found = scan ? (int)scan->anomaly_count : 0;
	struct papyra_scan_report after;
	int rc;

	memset(result, 0, sizeof(*result));
	result->anomalies_found = found;
	result->anomalies_remaining = found;
	switch (mode) {
	case PAPYRA_STARTUP_IGNORE:
	case PAPYRA_STARTUP_SCAN_ONLY:
		result->passed = 1;
		return 0;
	case PAPYRA_STARTUP_FAIL_ON_ANOMALY:
		result->passed = found == 0;
		return 0;
	case PAPYRA_STARTUP_RECOVER:
		break;
	}
	if (found == 0) {
		result->passed = 1;
		return 0;
	}
	rc = papyra_backend_recover(b, recovery, quarantine_dir,
				    &result->recovery, err);
	if (rc < 0)
		return rc;
	result->recovered = 1;
	papyra_scan_report_init(&after);
	rc = papyra_backend_scan(b, &after, err);
	if (rc == 0) {
		result->anomalies_remaining = (int)after.anomaly_count;
		result->passed = after.anomaly_count == 0;
	}
	papyra_scan_report_release(&after);
	return rc;
}

void papyra_startup_result_release(struct papyra_startup_result *r)
{
	if (r)
		papyra_recovery_report_release(&r->recovery);
}
