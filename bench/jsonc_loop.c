/*
 * bench/jsonc_loop: the floor for a scan built on a DOM parser.  Reads FILE
 * in 4 MiB chunks and parses every line with json-c, one tokener reused
 * and reset per line, the way a straightforward C scanner would.  A line
 * that does not parse completely counts as bad.  Prints "lines N bad B
 * bytes X seconds S".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "records.h"

#define CHUNK (4u << 20)

struct tally {
	unsigned long long lines, bad;
};

static void parse_line(json_tokener *tok, const char *line, size_t len,
		       struct tally *t)
{
	json_object *obj;

	t->lines++;
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, line, (int)len);
	if (!obj || json_tokener_get_parse_end(tok) != len)
		t->bad++;
	json_object_put(obj);
}

int main(int argc, char **argv)
{
	struct tally t = { 0, 0 };
	unsigned long long bytes = 0;
	size_t have = 0;
	json_tokener *tok;
	double t0;
	char *buf;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: jsonc_loop FILE\n");
		return 64;
	}
	buf = malloc(CHUNK);
	tok = json_tokener_new();
	if (!buf || !tok) {
		perror("jsonc_loop: out of memory");
		return 1;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "jsonc_loop: cannot open '%s': %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	t0 = bench_now();
	for (;;) {
		ssize_t n = read(fd, buf + have, CHUNK - have);
		char *p, *nl, *end;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "jsonc_loop: cannot read '%s': %s\n",
				argv[1], strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		bytes += (unsigned long long)n;
		p = buf;
		end = buf + have + n;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			parse_line(tok, p, (size_t)(nl - p), &t);
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (have == CHUNK) {
			/* a line longer than the buffer: count it as bad */
			t.lines++;
			t.bad++;
			have = 0;
		}
		memmove(buf, p, have);
	}
	if (have)
		parse_line(tok, buf, have, &t);
	printf("lines %llu bad %llu bytes %llu seconds %.6f\n", t.lines, t.bad,
	       bytes, bench_now() - t0);
	close(fd);
	json_tokener_free(tok);
	free(buf);
	return 0;
}
