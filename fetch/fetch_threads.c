/*
 * fetch/fetch_threads.c: the comparison drivers. THREADS runs concurrency
 * threads, each with its own easy handle (and so its own connection cache)
 * doing blocking curl_easy_perform, sleeping through its own backoff;
 * per_host is not enforced across threads. SERIAL is one such worker run
 * in the caller. Naming, temp files, retries and reports are fetch.c's.
 */
#include "fetch/fetch_int.h"

#include <stdio.h>
#include <stdlib.h>

/* Sleeps until due_ms in short naps, so a stop request cuts it short. */
static void wait_until(struct ib_fetch *r, double due_ms)
{
    for (;;) {
        double d = due_ms - fetch_now_ms();
        if (d <= 0 || fetch_stopped(r))
            return;
        if (d > 100)
            d = 100;
        struct timespec ts = {0, (long)(d * 1e6)};
        nanosleep(&ts, NULL);
    }
}

static void *worker(void *arg)
{
    struct ib_fetch *r = arg;
    CURL *h = fetch_easy_new();
    struct fetch_xfer *x;
    while (fetch_pull(r, &x)) {
        if (!h) {
            fetch_fail(x, IB_FETCH_DONE_FAILED, "cannot create a curl handle");
            fetch_finish(r, x);
            continue;
        }
        while (!fetch_begin(r, x, h)) {
            pthread_mutex_lock(&r->lock);
            r->in_flight++;
            pthread_mutex_unlock(&r->lock);
            CURLcode rc = curl_easy_perform(h);
            pthread_mutex_lock(&r->lock);
            r->in_flight--;
            pthread_mutex_unlock(&r->lock);
            if (fetch_end(r, x, rc) == FETCH_FINAL)
                break;
            pthread_mutex_lock(&r->lock);
            r->waiting++;
            pthread_mutex_unlock(&r->lock);
            wait_until(r, x->due_ms);
            pthread_mutex_lock(&r->lock);
            r->waiting--;
            pthread_mutex_unlock(&r->lock);
            if (fetch_stopped(r)) {
                fetch_interrupt(x, 1);
                break;
            }
        }
        fetch_finish(r, x);
    }
    curl_easy_cleanup(h);
    return NULL;
}

int fetch_run_threads(struct ib_fetch *r, unsigned nthreads, char *msg,
                      size_t msglen)
{
    if (nthreads <= 1) {
        worker(r);
        return 0;
    }
    pthread_t *t = calloc(nthreads, sizeof *t);
    if (!t) {
        snprintf(msg, msglen, "out of memory");
        return IB_FETCH_ENOMEM;
    }
    unsigned n = 0;
    while (n < nthreads && !pthread_create(&t[n], NULL, worker, r))
        n++;
    if (n == 0)
        worker(r);   /* no thread to be had: still do the work */
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    return 0;
}
