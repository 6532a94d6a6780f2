/*
 * The in-memory index of a log: one entry per valid record (offset, length,
 * kind, timestamp), in file order, built by the mount's scan and extended
 * by appends.  It answers the tree's questions without touching the file:
 * the size of a kind's live view under a retention policy, and which byte
 * ranges of the file make up any window of that view, in time proportional
 * to the window (plus a logarithm), not to the file.
 *
 * Memory: at most 32 bytes per record.
 *
 * Not thread-safe: the backend serializes access under its lock.
 */
#ifndef PAPYRA_INDEX_H
#define PAPYRA_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "kind.h"
#include "retention.h"

struct papyra_index;

struct papyra_index *papyra_index_new(void); /* NULL on ENOMEM */
void papyra_index_free(struct papyra_index *ix); /* NULL allowed */

/*
 * Add a record at the end (offsets strictly increasing, length includes
 * '\n', timestamp NAN when absent).  Returns 0 or -ENOMEM (index unchanged).
 * Matches papyra_scan_record_fn so a scan can fill an index directly.
 */
int papyra_index_add(void *ix, uint64_t offset, uint32_t length, int kind,
		     double timestamp);

/*
 * Around a bulk load (the scan of a whole log into the index): arrays grown
 * during it are faulted in in one call each, and trimmed to size at its
 * end, so a loaded log costs its bytes per record and not the growth slack.
 */
void papyra_index_load_begin(struct papyra_index *ix);
void papyra_index_load_end(struct papyra_index *ix);

size_t papyra_index_count(const struct papyra_index *ix);
/* Bytes of all indexed records (whatever the policy). */
uint64_t papyra_index_bytes(const struct papyra_index *ix);

/*
 * Live counts under policy at time now: counts[kind] for each kind and
 * *bytes the total stored bytes of live records.  Either may be NULL.
 */
void papyra_index_live_counts(struct papyra_index *ix,
			      const struct papyra_retention *policy, double now,
			      uint64_t counts[PAPYRA_KIND_COUNT],
			      uint64_t *bytes);

/* Size of the live view of kind (or PAPYRA_KIND_ANY) under policy. */
uint64_t papyra_index_live_size(struct papyra_index *ix,
				const struct papyra_retention *policy,
				double now, int kind);

/*
 * Map the window [off, off+len) of the live view of kind onto the file:
 * fn is called for consecutive pieces (file offset, bytes, offset in the
 * window), adjacent file ranges merged into one call.  The window is
 * clipped at the view's end.  Returns the number of bytes mapped (0 at or
 * past the end) or the first negative value fn returned.
 */
typedef int (*papyra_index_range_fn)(void *ctx, uint64_t file_offset,
				     size_t length, size_t window_offset);
int64_t papyra_index_map(struct papyra_index *ix,
			 const struct papyra_retention *policy, double now,
			 int kind, uint64_t off, size_t len,
			 papyra_index_range_fn fn, void *ctx);

/*
 * Every live record in file order (for compaction).  fn has the scan
 * callback's shape; a negative return stops and is returned.
 */
int papyra_index_live_foreach(struct papyra_index *ix,
			      const struct papyra_retention *policy,
			      double now,
			      int (*fn)(void *ctx, uint64_t offset,
					uint32_t length, int kind,
					double timestamp),
			      void *ctx);

#endif
