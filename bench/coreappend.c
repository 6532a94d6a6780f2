/*
 * bench/coreappend: the core's group commit without FUSE.  T threads append
 * one record per papyra_backend_append to one log opened with sync=always,
 * for S seconds, and the program prints "records N seconds S fsyncs F".
 * Set beside the mounted rows it separates what the backend can do with
 * concurrent appenders from what the kernel lets through a FUSE mount,
 * which passes O_APPEND writes to one file to the daemon one at a time.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "records.h"

struct worker {
	struct papyra_backend *b;
	unsigned seed;
	double deadline;
	pthread_barrier_t *start;
	unsigned long done;
	int error;
};

static void *append_loop(void *arg)
{
	struct worker *w = arg;
	struct bench_gen g;
	char line[BENCH_RECORD_MAX];
	struct papyra_error err;

	bench_gen_init(&g, w->seed, 0);
	pthread_barrier_wait(w->start);
	while (bench_now() < w->deadline) {
		size_t len = bench_gen_record(&g, line);
		int rc = papyra_backend_append(w->b, PAPYRA_KIND_ANY, line, len,
					       NULL, &err);

		if (rc < 0) {
			fprintf(stderr, "coreappend: %s\n", err.message);
			w->error = -rc;
			break;
		}
		w->done++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct papyra_options opts;
	struct papyra_error err;
	struct papyra_backend *b;
	pthread_barrier_t start;
	struct worker *w;
	unsigned threads = 1;
	double seconds = 2, t0, t1;
	unsigned long total = 0;
	int opt, failed = 0;

	while ((opt = getopt(argc, argv, "t:d:")) != -1) {
		if (opt == 't')
			threads = (unsigned)atoi(optarg);
		else if (opt == 'd')
			seconds = atof(optarg);
		else
			goto usage;
	}
	if (optind + 1 != argc || threads < 1 || threads > 256 || seconds <= 0)
		goto usage;
	papyra_options_init(&opts);
	opts.create = 1;
	if (papyra_backend_open(&b, argv[optind], &opts, NULL, &err) < 0) {
		fprintf(stderr, "coreappend: %s\n", err.message);
		return 1;
	}
	w = calloc(threads, sizeof(*w));
	pthread_t *tids = calloc(threads, sizeof(*tids));
	if (!w || !tids || pthread_barrier_init(&start, NULL, threads + 1)) {
		fprintf(stderr, "coreappend: out of memory\n");
		return 1;
	}
	t0 = bench_now();
	for (unsigned i = 0; i < threads; i++) {
		w[i] = (struct worker){ b, i + 1, t0 + seconds + 0.01, &start,
					0, 0 };
		if (pthread_create(&tids[i], NULL, append_loop, &w[i])) {
			fprintf(stderr, "coreappend: cannot start a thread\n");
			return 1;
		}
	}
	t0 = bench_now();
	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		total += w[i].done;
		failed |= w[i].error;
	}
	t1 = bench_now();
	printf("records %lu seconds %.6f fsyncs %llu\n", total, t1 - t0,
	       (unsigned long long)papyra_metrics_get(
		       papyra_backend_metrics(b), PAPYRA_METRIC_FSYNCS));
	papyra_backend_free(b);
	free(w);
	free(tids);
	return failed ? 1 : 0;
usage:
	fprintf(stderr, "usage: coreappend [-t THREADS] [-d SECONDS] FILE\n");
	return 64;
}
