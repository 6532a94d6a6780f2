/*
 * bench/appender: append synthetic records to FILE through one fd per
 * thread (opened O_WRONLY|O_APPEND, so the same program drives a papyrafs
 * log, a pass-through mount and a plain file), K records per write().  The
 * records are generated before the clock starts; the time covers the
 * writes and the close() of every fd (where a FUSE flush reports errors).
 * With -w the fds are opened without O_APPEND: the kernel serializes
 * O_APPEND writes to one inode, so this shows what a file system that
 * appends whatever the offset could do with concurrent writers.
 * Prints "records N seconds S writes W".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

#define POOL 4096 /* distinct records per thread, reused in a cycle */

struct job {
	const char *path;
	int fd;
	char *pool;        /* POOL records back to back */
	size_t *offs;      /* POOL + 1 offsets into pool */
	unsigned long records; /* to write */
	unsigned long done;
	unsigned long writes;
	unsigned per_write;
	double deadline;   /* stop when passed; 0: none */
	pthread_barrier_t *start;
	int error;         /* errno of the failure, 0 when none */
	const char *failed_call;
};

static void *run(void *arg)
{
	struct job *j = arg;
	size_t i = 0;

	pthread_barrier_wait(j->start);
	while (j->done < j->records) {
		unsigned k = j->per_write;
		size_t end;

		if (k > j->records - j->done)
			k = (unsigned)(j->records - j->done);
		if (i + k > POOL)
			i = 0;
		end = i + k;
		if (bench_write_all(j->fd, j->pool + j->offs[i],
				    j->offs[end] - j->offs[i]) < 0) {
			j->error = errno;
			j->failed_call = "write";
			break;
		}
		i = end;
		j->done += k;
		j->writes++;
		if (j->deadline && (j->writes & 7) == 0 &&
		    bench_now() > j->deadline)
			break;
	}
	if (close(j->fd) < 0 && !j->error) {
		j->error = errno;
		j->failed_call = "close";
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: appender [-n RECORDS] [-k PER_WRITE] [-t THREADS]"
			" [-d SECONDS] [-m] [-w] FILE\n"
			"  -n  records in all (split among threads), default 10000\n"
			"  -k  records per write(), default 1\n"
			"  -t  writer threads, each with its own fd, default 1\n"
			"  -d  stop after SECONDS even if fewer records were written\n"
			"  -m  mixed kinds (default: kind event only)\n"
			"  -w  open without O_APPEND\n");
	exit(64);
}

int main(int argc, char **argv)
{
	unsigned long records = 10000, done = 0, writes = 0;
	unsigned per_write = 1, threads = 1, t;
	double seconds = 0, t0, t1;
	int events_only = 1, flags = O_WRONLY | O_APPEND, opt, status = 0;
	pthread_barrier_t start;
	struct job *jobs;
	pthread_t *tids;

	while ((opt = getopt(argc, argv, "n:k:t:d:mw")) != -1) {
		switch (opt) {
		case 'n': records = strtoul(optarg, NULL, 10); break;
		case 'k': per_write = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': seconds = strtod(optarg, NULL); break;
		case 'm': events_only = 0; break;
		case 'w': flags = O_WRONLY; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !records || !threads || !per_write ||
	    per_write > POOL)
		usage();
	jobs = calloc(threads, sizeof(*jobs));
	tids = calloc(threads, sizeof(*tids));
	if (!jobs || !tids) {
		perror("appender: calloc");
		return 1;
	}
	pthread_barrier_init(&start, NULL, threads + 1);
	for (t = 0; t < threads; t++) {
		struct job *j = &jobs[t];
		struct bench_gen g;
		size_t i;

		j->path = argv[optind];
		j->records = records / threads + (t < records % threads);
		j->per_write = per_write;
		j->start = &start;
		j->pool = malloc((size_t)POOL * BENCH_RECORD_MAX);
		j->offs = malloc((POOL + 1) * sizeof(*j->offs));
		if (!j->pool || !j->offs) {
			perror("appender: malloc");
			return 1;
		}
		bench_gen_init(&g, 1000 + t, events_only);
		j->offs[0] = 0;
		for (i = 0; i < POOL; i++)
			j->offs[i + 1] = j->offs[i] +
					 bench_gen_record(&g, j->pool + j->offs[i]);
		j->fd = open(j->path, flags);
		if (j->fd < 0) {
			fprintf(stderr, "appender: cannot open '%s': %s\n",
				j->path, strerror(errno));
			return 1;
		}
	}
	for (t = 0; t < threads; t++) {
		if (pthread_create(&tids[t], NULL, run, &jobs[t])) {
			fprintf(stderr, "appender: cannot start a thread\n");
			return 1;
		}
	}
	t0 = bench_now();
	for (t = 0; t < threads; t++)
		jobs[t].deadline = seconds > 0 ? t0 + seconds : 0;
	pthread_barrier_wait(&start);
	t0 = bench_now();
	for (t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	t1 = bench_now();
	for (t = 0; t < threads; t++) {
		done += jobs[t].done;
		writes += jobs[t].writes;
		if (jobs[t].error) {
			fprintf(stderr, "appender: %s '%s' (thread %u, after %lu "
					"records): %s\n",
				jobs[t].failed_call, jobs[t].path, t,
				jobs[t].done, strerror(jobs[t].error));
			status = 1;
		}
		free(jobs[t].pool);
		free(jobs[t].offs);
	}
	printf("records %lu seconds %.6f writes %lu\n", done, t1 - t0, writes);
	pthread_barrier_destroy(&start);
	free(jobs);
	free(tids);
	return status;
}
