/*
 * Internal: backend calls shared by the backend's own files (backend.c,
 * inspect.c) and not part of the public API.
 */
#ifndef PAPYRA_BACKEND_INTERNAL_H
#define PAPYRA_BACKEND_INTERNAL_H

#include "backend.h"

/*
 * A fresh scan like papyra_backend_scan, but not counted in the scans and
 * anomalies_detected metrics (inspect looks at health without being a
 * scan request).
 */
int papyra_backend_scan_quiet(struct papyra_backend *b,
			      struct papyra_scan_report *report,
			      struct papyra_error *err);

/* Bytes held by the store (the file's size), whatever the policy. */
uint64_t papyra_backend_stored_bytes(struct papyra_backend *b);

#endif
