/*
 * Internal: the storage under a backend.  backend.c owns everything common
 * (validation, the index, retention, metrics, group commit, serialization of
 * maintenance with appends) and asks a store only to keep bytes: the JSON
 * file store (log.c) or the memory store (memory.c).  Stores are called
 * with the backend's lock held, except sync, which group commit calls
 * without it.
 */
#ifndef PAPYRA_STORE_H
#define PAPYRA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "options.h"
#include "scan.h"

/* A byte range of the store to keep in a rewrite. */
struct papyra_range {
	uint64_t offset;
	uint64_t length;
};

struct papyra_store_ops {
	const char *name; /* "json" or "memory" */

	/*
	 * Append data[0..len) at the end as one unit: on failure the store is
	 * exactly as before (a file is truncated back).  *offset gets where it
	 * landed.
	 */
	int (*append)(void *store, const char *data, size_t len,
		      uint64_t *offset, struct papyra_error *err);

	/* Make every appended byte durable; NULL when there is nothing to do. */
	int (*sync)(void *store, struct papyra_error *err);

	/* Read exactly len bytes at off. */
	int (*read)(void *store, uint64_t off, char *dst, size_t len,
		    struct papyra_error *err);

	/* Scan the stored bytes as the file format (see scan.h). */
	int (*scan)(void *store, papyra_scan_record_fn fn, void *ctx,
		    struct papyra_scan_report *report,
		    struct papyra_error *err);

	/*
	 * Atomically replace the contents with the given ranges, in order,
	 * concatenated.  tag names the temporary file ("compact", "recover").
	 * When quarantine_dir is set, the old file is preserved there first as
	 * NAME.quarantine.<unix-ms> (*quarantine_path gets that path, owned).
	 * NULL for a store with nothing to rewrite (memory).
	 *
	 * *replaced is set once the new contents have taken the old ones'
	 * place: an error after that point (the directory fsync) leaves the
	 * store holding the new contents, not yet known to be durable.
	 */
	int (*rewrite)(void *store, const char *tag,
		       const struct papyra_range *keep, size_t n,
		       const char *quarantine_dir, char **quarantine_path,
		       int *replaced, struct papyra_error *err);

	uint64_t (*size)(void *store);  /* bytes stored */
	const char *(*path)(void *store); /* NULL for memory */
	void (*close)(void *store);
};

/*
 * Open the file store at path: create if asked, clean leftover temporary
 * files, take the lock, seal nothing yet.  *store gets the handle.
 */
int papyra_log_open(void **store, const char *path,
		    const struct papyra_options *opts, struct papyra_error *err);
extern const struct papyra_store_ops papyra_log_ops;

int papyra_memory_open(void **store, struct papyra_error *err);
extern const struct papyra_store_ops papyra_memory_ops;

#endif
