/*
 * The memory store behind ":memory:": the log's bytes in one growable
 * buffer, in exactly the file format, so scans and reads work the same way
 * as for a file.  Nothing is written to disk and there is nothing to sync
 * or rewrite.  Called under the backend's lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store.h"

struct memory_store {
	struct papyra_buf bytes;
};

int papyra_memory_open(void **store, struct papyra_error *err)
{
	struct memory_store *m = calloc(1, sizeof(*m));

	if (!m)
		return papyra_error_set(err, -ENOMEM, "out of memory");
	*store = m;
	return 0;
}

static int memory_append(void *store, const char *data, size_t len,
			 uint64_t *offset, struct papyra_error *err)
{
	struct memory_store *m = store;
	size_t at = m->bytes.len;

	if (papyra_buf_append(&m->bytes, data, len) < 0)
		return papyra_error_set(err, -ENOMEM,
			"out of memory: the memory log holds %zu bytes", at);
	if (offset)
		*offset = at;
	return 0;
}

static int memory_read(void *store, uint64_t off, char *dst, size_t len,
		       struct papyra_error *err)
{
	struct memory_store *m = store;

	if (off > m->bytes.len || len > m->bytes.len - off)
		return papyra_error_set(err, -EIO,
			"read past the end of the memory log");
	if (len)
		memcpy(dst, m->bytes.data + off, len);
	return 0;
}

static int memory_scan(void *store, papyra_scan_record_fn fn, void *ctx,
		       struct papyra_scan_report *report,
		       struct papyra_error *err)
{
	struct memory_store *m = store;
	int rc = papyra_scan_buffer(m->bytes.data ? m->bytes.data : "",
				    m->bytes.len, fn, ctx, report, err);

	report->backend = "memory";
	report->exists = 1;
	return rc;
}

static uint64_t memory_size(void *store)
{
	return ((struct memory_store *)store)->bytes.len;
}

static const char *memory_path(void *store)
{
	(void)store;
	return NULL;
}

static void memory_close(void *store)
{
	struct memory_store *m = store;

	if (!m)
		return;
	papyra_buf_release(&m->bytes);
	free(m);
}

const struct papyra_store_ops papyra_memory_ops = {
	.name = "memory",
	.append = memory_append,
	.sync = NULL,
	.read = memory_read,
	.scan = memory_scan,
	.rewrite = NULL,
	.size = memory_size,
	.path = memory_path,
	.close = memory_close,
};
