/*
 * Helpers shared by the Check unit tests: a fresh temporary directory per
 * test and one-call file writing/reading, so each test builds the exact
 * bytes it needs and compares exact bytes afterwards.
 */
#ifndef PAPYRA_TESTUTIL_H
#define PAPYRA_TESTUTIL_H

#include <stddef.h>

/* mkdtemp under $TMPDIR (or /tmp); returns a malloc'd path.  Aborts on failure. */
char *tu_tempdir(void);
/* rm -rf of a directory made by tu_tempdir, then free(path). */
void tu_rmtree(char *path);
/* dir + "/" + name, malloc'd. */
char *tu_path(const char *dir, const char *name);
/* Write exactly data[0..len) to path (create/truncate).  Aborts on failure. */
void tu_write_file(const char *path, const void *data, size_t len);
/* Whole file as a malloc'd NUL-terminated buffer; *len gets its size.  NULL if missing. */
char *tu_read_file(const char *path, size_t *len);

#endif
