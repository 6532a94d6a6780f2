/*
 * Startup checks (Papyra's startup modes): what to do with a log's anomalies
 * before it is served.  Used by the daemon at mount and by the CLI's
 * `persistence startup-check` and `doctor run`.
 */
#ifndef PAPYRA_STARTUP_H
#define PAPYRA_STARTUP_H

#include "backend.h"

struct papyra_startup_result {
	int anomalies_found;      /* anomalies in the first scan */
	int recovered;            /* recovery ran */
	int anomalies_remaining;  /* anomalies after recovery */
	int passed;               /* the log may be served */
	struct papyra_recovery_report recovery; /* when recovered */
};

/*
 * Apply mode to b given the scan report taken at open: ignore and scan_only
 * always pass; fail_on_anomaly passes only when healthy; recover runs
 * papyra_backend_recover(recovery, quarantine_dir) when there are anomalies,
 * rescans, and passes when the rescan is healthy.  Returns 0 (check
 * result[passed]) or a negative errno when recovery itself failed.
 */
int papyra_startup_apply(struct papyra_backend *b,
			 enum papyra_startup_mode mode,
			 enum papyra_recovery_mode recovery,
			 const char *quarantine_dir,
			 const struct papyra_scan_report *scan,
			 struct papyra_startup_result *result,
			 struct papyra_error *err);

void papyra_startup_result_release(struct papyra_startup_result *r);

#endif
