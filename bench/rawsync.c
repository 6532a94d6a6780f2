/*
 * bench/rawsync: the durable-append references for sync=always, on a plain
 * file.  "per-record": each thread does write() + fdatasync() for every
 * record, the cost of durability with no sharing.  "group": THREADS writers
 * append under one mutex and one of them at a time runs fdatasync for
 * everything written so far while the others wait for the sequence number
 * they need (group commit, at most BATCH records per fdatasync).  A record
 * counts once its fdatasync returned.  Prints "records N seconds S fsyncs F".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

#define POOL 1024

struct shared {
	pthread_mutex_t lock;  /* protects everything below */
	pthread_cond_t cond;   /* synced or syncing changed */
	uint64_t written;      /* records written so far */
	uint64_t synced;       /* records covered by a finished fdatasync */
	int syncing;           /* a thread runs fdatasync now */
	unsigned long fsyncs;
	unsigned batch;        /* most records one fdatasync may cover */
	int group;             /* group commit, else per-record fdatasync */
	double deadline;       /* 0: none */
	pthread_barrier_t start;
};

struct job {
	struct shared *sh;
	int fd;
	char pool[POOL * BENCH_RECORD_MAX];
	size_t offs[POOL + 1];
	unsigned long records, done;
	int error;
	const char *failed_call;
};

/* Make record seq durable through fd, sharing fdatasyncs.  Lock held. */
static int group_wait(struct shared *sh, int fd, uint64_t seq)
{
	while (sh->synced < seq) {
		uint64_t target;
		int rc;

		if (sh->syncing) {
			pthread_cond_wait(&sh->cond, &sh->lock);
			continue;
		}
		sh->syncing = 1;
		target = sh->written;
		pthread_mutex_unlock(&sh->lock);
		rc = fdatasync(fd);
		pthread_mutex_lock(&sh->lock);
		sh->syncing = 0;
		sh->fsyncs++;
		pthread_cond_broadcast(&sh->cond);
		if (rc < 0)
			return -1;
		sh->synced = target;
	}
	return 0;
}

static int append_group(struct job *j, const char *rec, size_t len)
{
	struct shared *sh = j->sh;
	int rc;

	pthread_mutex_lock(&sh->lock);
	/* bound the batch: wait while BATCH records already await a sync */
	while (sh->written - sh->synced >= sh->batch)
		pthread_cond_wait(&sh->cond, &sh->lock);
	if (bench_write_all(j->fd, rec, len) < 0) {
		j->failed_call = "write";
		rc = -1;
	} else {
		rc = group_wait(sh, j->fd, ++sh->written);
		if (rc < 0)
			j->failed_call = "fdatasync";
	}
	pthread_mutex_unlock(&sh->lock);
	return rc;
}

static int append_alone(struct job *j, const char *rec, size_t len)
{
	if (bench_write_all(j->fd, rec, len) < 0) {
		j->failed_call = "write";
		return -1;
	}
	if (fdatasync(j->fd) < 0) {
		j->failed_call = "fdatasync";
		return -1;
	}
	pthread_mutex_lock(&j->sh->lock);
	j->sh->fsyncs++;
	pthread_mutex_unlock(&j->sh->lock);
	return 0;
}

static void *run(void *arg)
{
	struct job *j = arg;
	size_t i = 0;

	pthread_barrier_wait(&j->sh->start);
	while (j->done < j->records) {
		const char *rec = j->pool + j->offs[i];
		size_t len = j->offs[i + 1] - j->offs[i];
		int rc = j->sh->group ? append_group(j, rec, len)
				      : append_alone(j, rec, len);

		if (rc < 0) {
			j->error = errno;
			break;
		}
		i = (i + 1) % POOL;
		j->done++;
		if (j->sh->deadline && bench_now() > j->sh->deadline)
			break;
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: rawsync per-record|group [-t THREADS] [-b BATCH]"
			" [-n RECORDS] [-d SECONDS] FILE\n");
	exit(64);
}

int main(int argc, char **argv)
{
	unsigned long records = 1000, done = 0;
	unsigned threads = 1, t;
	double seconds = 0, t0, t1;
	struct shared sh = { .batch = 64 };
	struct job *jobs;
	pthread_t *tids;
	int opt, status = 0;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "group"))
		sh.group = 1;
	else if (strcmp(argv[1], "per-record"))
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "t:b:n:d:")) != -1) {
		switch (opt) {
		case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': sh.batch = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': records = strtoul(optarg, NULL, 10); break;
		case 'd': seconds = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || !threads || !sh.batch || !records)
		usage();
	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.cond, NULL);
	pthread_barrier_init(&sh.start, NULL, threads + 1);
	jobs = calloc(threads, sizeof(*jobs));
	tids = calloc(threads, sizeof(*tids));
	if (!jobs || !tids) {
		perror("rawsync: calloc");
		return 1;
	}
	for (t = 0; t < threads; t++) {
		struct job *j = &jobs[t];
		struct bench_gen g;
		size_t i;

		j->sh = &sh;
		j->records = records / threads + (t < records % threads);
		bench_gen_init(&g, 2000 + t, 1);
		for (i = 0; i < POOL; i++)
			j->offs[i + 1] = j->offs[i] +
					 bench_gen_record(&g, j->pool + j->offs[i]);
		j->fd = open(argv[optind], O_WRONLY | O_APPEND | O_CREAT, 0644);
		if (j->fd < 0) {
			fprintf(stderr, "rawsync: cannot open '%s': %s\n",
				argv[optind], strerror(errno));
			return 1;
		}
	}
	for (t = 0; t < threads; t++) {
		if (pthread_create(&tids[t], NULL, run, &jobs[t])) {
			fprintf(stderr, "rawsync: cannot start a thread\n");
			return 1;
		}
	}
	sh.deadline = seconds > 0 ? bench_now() + seconds : 0;
	pthread_barrier_wait(&sh.start);
	t0 = bench_now();
	for (t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	t1 = bench_now();
	for (t = 0; t < threads; t++) {
		done += jobs[t].done;
		if (jobs[t].error) {
			fprintf(stderr, "rawsync: %s '%s' (thread %u): %s\n",
				jobs[t].failed_call, argv[optind], t,
				strerror(jobs[t].error));
			status = 1;
		}
		if (close(jobs[t].fd) < 0 && !status) {
			fprintf(stderr, "rawsync: close '%s': %s\n",
				argv[optind], strerror(errno));
			status = 1;
		}
	}
	printf("records %lu seconds %.6f fsyncs %lu\n", done, t1 - t0, sh.fsyncs);
	free(jobs);
	free(tids);
	return status;
}
