/*
 * bench/gen: write a log of synthetic Papyra records (see records.h) of a
 * given size or record count, in 1 MiB writes, and print what it wrote as
 * "records N bytes B" so the benchmark knows the counts without a scan.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

#define CHUNK (1u << 20)

static void usage(void)
{
	fprintf(stderr, "usage: gen [-s SEED] [-e] (-b BYTES | -n RECORDS) FILE\n");
	exit(64);
}

int main(int argc, char **argv)
{
	unsigned long long bytes = 0, records = 0, seed = 1, n = 0, size = 0;
	int events_only = 0, opt, fd;
	struct bench_gen g;
	char *buf;
	size_t used = 0;

	while ((opt = getopt(argc, argv, "s:eb:n:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'e': events_only = 1; break;
		case 'b': bytes = strtoull(optarg, NULL, 10); break;
		case 'n': records = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || (!bytes && !records))
		usage();
	buf = malloc(CHUNK + BENCH_RECORD_MAX);
	if (!buf) {
		perror("gen: malloc");
		return 1;
	}
	fd = open(argv[optind], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "gen: cannot create '%s': %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	bench_gen_init(&g, seed, events_only);
	while (bytes ? size < bytes : n < records) {
		size_t len = bench_gen_record(&g, buf + used);

		used += len;
		size += len;
		n++;
		if (used >= CHUNK) {
			if (bench_write_all(fd, buf, used) < 0)
				goto werr;
			used = 0;
		}
	}
	if (bench_write_all(fd, buf, used) < 0)
		goto werr;
	if (close(fd) < 0) {
		fd = -1;
		goto werr;
	}
	free(buf);
	printf("records %llu bytes %llu\n", n, size);
	return 0;
werr:
	fprintf(stderr, "gen: cannot write '%s': %s\n", argv[optind],
		strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return 1;
}
