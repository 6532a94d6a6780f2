/*
 * libFuzzer harness: the whole file path of a damaged log.  The input is
 * written as a log file (on tmpfs when there is one), opened with
 * papyra_backend_open, repaired with papyra_backend_recover and appended
 * to.  Properties: the repaired file holds exactly the '\n'-terminated
 * lines papyra_line_classify accepts, byte for byte and in order; it scans
 * clean; live reads return those bytes; and one append lands after them
 * and reads back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "line.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond, ...)                                                \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "recover property: " __VA_ARGS__); \
			fputc('\n', stderr);                            \
			abort();                                        \
		}                                                       \
	} while (0)

static const char NEW_IN[] = "{\"kind\":\"event\",\"timestamp\":7,\"n\":1}";
static const char NEW_OUT[] = "{\"kind\":\"event\",\"timestamp\":7,\"n\":1}\n";

static char path[256];

static void put_file(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0, "cannot create %s", path);
	CHECK(size == 0 || write(fd, data, size) == (ssize_t)size, "short write");
	close(fd);
}

static char *get_file(size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	char *buf;

	CHECK(fd >= 0 && fstat(fd, &st) == 0, "cannot open %s", path);
	buf = malloc((size_t)st.st_size + 1);
	CHECK(buf, "out of memory");
	CHECK(read(fd, buf, (size_t)st.st_size) == st.st_size, "short read");
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct papyra_backend *b = NULL;
	struct papyra_recovery_report rr;
	struct papyra_scan_report r;
	struct papyra_options o;
	struct papyra_error err;
	char *want, *got, *live;
	size_t want_len = 0, got_len, pos = 0, n = 0, live_len = 0;
	uint64_t size_live;
	int rc;

	if (!path[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

		snprintf(path, sizeof(path), "%s/papyra-fuzz-recover.%ld.ndjson",
			 base, (long)getpid());
	}
	put_file(data, size);

	/* The model: the terminated lines the classifier accepts. */
	want = malloc(size + sizeof(NEW_OUT));
	CHECK(want, "out of memory");
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		struct papyra_line_class c;
		size_t l;

		if (!nl)
			break;
		l = (size_t)(nl - (data + pos));
		papyra_line_classify((const char *)data + pos, l, &c);
		if (c.type == PAPYRA_ANOMALY_NONE) {
			memcpy(want + want_len, data + pos, l + 1);
			want_len += l + 1;
		}
		pos += l + 1;
	}

	papyra_options_init(&o);
	o.sync = PAPYRA_SYNC_NONE;
	papyra_error_clear(&err);
	rc = papyra_backend_open(&b, path, &o, NULL, &err);
	CHECK(rc == 0, "open failed: %d %s", rc, err.message);
	memset(&rr, 0, sizeof(rr));
	rc = papyra_backend_recover(b, PAPYRA_RECOVERY_REPAIR, NULL, &rr, &err);
	CHECK(rc == 0, "repair failed: %d %s", rc, err.message);
	papyra_recovery_report_release(&rr);

	got = get_file(&got_len);
	CHECK(got_len == want_len && memcmp(got, want, want_len) == 0,
	      "repaired file holds %zu bytes, expected the %zu bytes of the "
	      "accepted lines", got_len, want_len);
	free(got);

	papyra_scan_report_init(&r);
	CHECK(papyra_backend_scan(b, &r, &err) == 0 && papyra_scan_report_healthy(&r),
	      "repaired file does not scan clean");
	papyra_scan_report_release(&r);

	rc = papyra_backend_append(b, PAPYRA_KIND_ANY, NEW_IN, strlen(NEW_IN), &n, &err);
	CHECK(rc == 0 && n == 1, "append after repair failed: %d %s", rc, err.message);
	memcpy(want + want_len, NEW_OUT, strlen(NEW_OUT));
	want_len += strlen(NEW_OUT);
	size_live = papyra_backend_size(b, PAPYRA_KIND_ANY);
	CHECK(size_live == want_len, "live size %llu, expected %zu",
	      (unsigned long long)size_live, want_len);
	live = malloc(want_len + 1);
	CHECK(live, "out of memory");
	for (;;) {
		size_t g = 0;

		CHECK(papyra_backend_read(b, PAPYRA_KIND_ANY, live_len, live + live_len,
					  want_len + 1 - live_len, &g, &err) == 0,
		      "read failed: %s", err.message);
		if (!g)
			break;
		live_len += g;
		CHECK(live_len <= want_len, "reads went past the live size");
	}
	CHECK(live_len == want_len && memcmp(live, want, want_len) == 0,
	      "live reads differ from the repaired file plus the append");
	free(live);
	papyra_backend_free(b);
	free(want);
	unlink(path);
	return 0;
}
