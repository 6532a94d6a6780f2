/*
 * The scan nodes: report, report.json and status.  Opening one runs a
 * fresh scan and renders it into the handle, so one `cat` sees one
 * consistent scan however many reads it takes.  stat must report the size
 * of what an open would return; the sizes of all three renderings are
 * cached under the backend's generation, so `ls -l scan/` on an unchanged
 * log does not rescan it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "scan.h"
#include "tree.h"

static int render(const struct papyra_scan_report *r, int format,
		  struct papyra_buf *out)
{
	switch (format) {
	case PAPYRAFS_SCAN_TEXT:
		return papyra_scan_report_text(r, out);
	case PAPYRAFS_SCAN_JSON:
		return papyra_scan_report_json(r, out);
	default:
		return papyra_scan_report_status(r, out);
	}
}

/*
 * Scan once, render format into out (may be NULL), and refresh the size
 * cache with all three renderings.  The generation is read before the
 * scan: if an append lands meanwhile, the cache is stale by at most that
 * append and the next stat sees a newer generation and rescans.
 */
static int scan_render(struct papyrafs *st, int format, struct papyra_buf *out)
{
	struct papyra_scan_report r;
	struct papyra_error err;
	struct papyra_buf tmp = PAPYRA_BUF_INIT;
	uint64_t sizes[PAPYRAFS_SCAN_FORMATS];
	uint64_t gen = papyra_backend_generation(st->backend);
	int f, rc;

	papyra_scan_report_init(&r);
	papyra_error_clear(&err);
	rc = papyra_backend_scan(st->backend, &r, &err);
	if (rc < 0) {
		papyrafs_log(st, LOG_ERR, "scan failed: %s", err.message);
		goto out;
	}
	for (f = 0; f < PAPYRAFS_SCAN_FORMATS; f++) {
		papyra_buf_reset(&tmp);
		rc = render(&r, f, &tmp);
		if (rc < 0)
			goto out;
		sizes[f] = tmp.len;
		if (out && f == format) {
			rc = papyra_buf_append(out, tmp.data ? tmp.data : "",
					       tmp.len);
			if (rc < 0)
				goto out;
		}
	}
	pthread_mutex_lock(&st->scan_lock);
	memcpy(st->scan_size, sizes, sizeof(sizes));
	st->scan_gen = gen;
	st->scan_valid = 1;
	pthread_mutex_unlock(&st->scan_lock);
out:
	papyra_buf_release(&tmp);
	papyra_scan_report_release(&r);
	return rc;
}

static int scan_open(struct papyrafs *st, struct handle *h, int flags)
{
	(void)flags;
	h->has_content = 1;
	return scan_render(st, h->node->arg, &h->content);
}

static uint64_t scan_size(struct papyrafs *st, const struct node *n)
{
	uint64_t gen = papyra_backend_generation(st->backend);
	uint64_t size = 0;
	int hit;

	pthread_mutex_lock(&st->scan_lock);
	hit = st->scan_valid && st->scan_gen == gen;
	if (hit)
		size = st->scan_size[n->arg];
	pthread_mutex_unlock(&st->scan_lock);
	if (hit || scan_render(st, n->arg, NULL) < 0)
		return size;
	pthread_mutex_lock(&st->scan_lock);
	size = st->scan_size[n->arg];
	pthread_mutex_unlock(&st->scan_lock);
	return size;
}

const struct node_ops node_scan_ops = {
	.open = scan_open,
	.size = scan_size,
};
