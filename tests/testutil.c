/*
 * Implementation of the unit-test helpers: temporary directories and whole
 * file I/O.  Failures abort, since a test that cannot set up its fixture
 * must not pass.
 */
#include "config.h"

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "testutil: %s '%s': %s\n", what, path, strerror(errno));
	abort();
}

char *tu_tempdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/papyra-test.XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(path))
		die("mkdtemp", path);
	return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tu_rmtree(char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

char *tu_path(const char *dir, const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	return path;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const char *p = data;

	if (fd < 0)
		die("open", path);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write", path);
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0)
		die("close", path);
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0, used = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (used + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		size_t n = fread(data + used, 1, cap - used - 1, f);
		used += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		die("read", path);
	fclose(f);
	if (!data)
		data = malloc(1);
	data[used] = '\0';
	if (len)
		*len = used;
	return data;
}
