/* SPDX-License-Identifier: ISC */
/*
 * worker.c - the blocking-work thread pool.
 *
 * DESIGN (after Redis bio.c)
 * One FIFO of jobs guarded by a mutex and a condition variable; N threads
 * take jobs from it. A finished job moves to the completion list and, when
 * that list was empty, the thread writes to an eventfd. The loop reads the
 * eventfd and runs the completions in order on its own thread, so a done
 * callback may touch sessions freely. Threads never call libevent and
 * block every signal, so signals reach the loop's handlers only.
 *
 * `pending` counts jobs from submit until their completion has run; it is
 * only read and written on the loop thread, which is what the drain needs.
 */
#include "lib/lib.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/time.h"
#include "core/worker.h"

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <event2/event.h>

/* Same bound as config's `workers` key. */
#define WORKER_THREADS_MAX 64
#define WORKER_STOP_POLL_MS 10

struct worker_job {
	worker_job_fn *fn;
	worker_done_fn *done;
	uint64_t owner_id;
	void *arg;
	struct worker_job *next;
};

struct worker_queue {
	struct worker_job *head, **tail;
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_queue jobs;  /* waiting for a thread */
	struct worker_queue done;  /* finished, waiting for the loop */
	bool stopping;
	unsigned running;          /* threads that have not exited yet */
	pthread_t threads[WORKER_THREADS_MAX];
	unsigned nthreads;
	int efd;
	struct event *ev;
	unsigned pending;          /* loop thread only */
};

static struct worker_pool pool = { .efd = -1 };

static void queue_init(struct worker_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

static void queue_push(struct worker_queue *q, struct worker_job *job)
{
	job->next = NULL;
	*q->tail = job;
	q->tail = &job->next;
}

static struct worker_job *queue_pop(struct worker_queue *q)
{
	struct worker_job *job = q->head;

	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = &q->head;
	}
	return job;
}

static void *worker_thread(void *ctx)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct worker_job *job;
		while ((job = queue_pop(&pool.jobs)) == NULL && !pool.stopping)
			pthread_cond_wait(&pool.cond, &pool.lock);
		if (job == NULL)
			break;
		pthread_mutex_unlock(&pool.lock);
		job->fn(job->arg);
		pthread_mutex_lock(&pool.lock);
		bool wake = pool.done.head == NULL;
		queue_push(&pool.done, job);
		if (wake) {
			uint64_t one = 1;
			/* the counter only overflows after 2^64-2 unread wakes */
			if (write(pool.efd, &one, sizeof(one)) < 0)
				panic("worker: eventfd write: %s", strerror(errno));
		}
	}
	pool.running--;
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* worker_on_wake - run finished jobs' completions on the loop thread. */
static void worker_on_wake(evutil_socket_t fd, short what, void *ctx)
{
	struct worker_queue done;
	struct worker_job *job;
	uint64_t count;

	if (read(pool.efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		panic("worker: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&pool.lock);
	done = pool.done;
	if (done.head == NULL)
		done.tail = &done.head;
	queue_init(&pool.done);
	pthread_mutex_unlock(&pool.lock);
	while ((job = queue_pop(&done)) != NULL) {
		pool.pending--;
		if (job->done != NULL)
			job->done(job->owner_id, job->arg);
		free(job);
	}
}

int worker_pool_start(struct event_base *base, unsigned threads, char **error_r)
{
	if (threads == 0 || threads > WORKER_THREADS_MAX) {
		*error_r = xasprintf("worker: %u threads is outside 1..%d", threads,
				     WORKER_THREADS_MAX);
		return -1;
	}
	assert(pool.nthreads == 0);
	pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool.efd < 0) {
		*error_r = xasprintf("worker: eventfd: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.cond, NULL);
	queue_init(&pool.jobs);
	queue_init(&pool.done);
	pool.stopping = false;
	pool.pending = 0;
	pool.ev = event_new(base, pool.efd, EV_READ | EV_PERSIST, worker_on_wake, NULL);
	event_add(pool.ev, NULL);
	for (unsigned i = 0; i < threads; i++) {
		int err = pthread_create(&pool.threads[i], NULL, worker_thread, NULL);
		if (err != 0) {
			*error_r = xasprintf("worker: pthread_create: %s", strerror(err));
			worker_pool_stop(0);
			return -1;
		}
		pthread_mutex_lock(&pool.lock);
		pool.nthreads++;
		pool.running++;
		pthread_mutex_unlock(&pool.lock);
	}
	log_debug("worker pool started threads=%u", threads);
	return 0;
}

void worker_submit(worker_job_fn *job, worker_done_fn *done, uint64_t owner_id, void *arg)
{
	struct worker_job *j = xmalloc(sizeof(*j));

	if (pool.nthreads == 0)
		panic("worker_submit before worker_pool_start");
	j->fn = job;
	j->done = done;
	j->owner_id = owner_id;
	j->arg = arg;
	pool.pending++;
	pthread_mutex_lock(&pool.lock);
	queue_push(&pool.jobs, j);
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
}

unsigned worker_pending(void)
{
	return pool.pending;
}

int worker_pool_stop(unsigned timeout_ms)
{
	uint64_t deadline = time_monotonic_ms() + timeout_ms;
	unsigned dropped = 0, stuck;
	struct worker_job *job;
	int ret = 0;

	if (pool.efd < 0)
		return 0;
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	while ((job = queue_pop(&pool.jobs)) != NULL) {
		dropped++;
		free(job);
	}
	pthread_cond_broadcast(&pool.cond);
	/* wait (bounded) for the threads to finish their current job */
	while (pool.running > 0 && time_monotonic_ms() < deadline) {
		pthread_mutex_unlock(&pool.lock);
		usleep(WORKER_STOP_POLL_MS * 1000);
		pthread_mutex_lock(&pool.lock);
	}
	stuck = pool.running;
	pthread_mutex_unlock(&pool.lock);
	if (dropped > 0)
		log_warn("worker: dropped %u queued jobs at stop", dropped);
	if (stuck > 0) {
		/* a job that never returns must not hold the exit hostage */
		log_warn("worker: %u jobs still running after %u ms; abandoning them", stuck,
			 timeout_ms);
		for (unsigned i = 0; i < pool.nthreads; i++)
			pthread_detach(pool.threads[i]);
		ret = -1;
	} else {
		for (unsigned i = 0; i < pool.nthreads; i++)
			pthread_join(pool.threads[i], NULL);
		/* completions nobody will run: the loop is going away */
		while ((job = queue_pop(&pool.done)) != NULL)
			free(job);
		pthread_mutex_destroy(&pool.lock);
		pthread_cond_destroy(&pool.cond);
	}
	if (pool.ev != NULL)
		event_free(pool.ev);
	if (ret == 0)
		close(pool.efd); /* a stuck thread may still write to it */
	memset(pool.threads, 0, sizeof(pool.threads));
	pool.ev = NULL;
	pool.efd = -1;
	pool.nthreads = 0;
	pool.pending = 0;
	return ret;
}
