/*
 * fetch/rate.c: one bandwidth limit for a whole run (opts->limit_rate).
 *
 * CURLOPT_MAX_RECV_SPEED_LARGE caps each transfer, so 32 transfers would
 * take 32 times the rate; here every transfer draws on one token bucket
 * instead. The bucket is counted in body bytes as write_cb receives them:
 * a paused transfer leaves the rest in the socket, so TCP flow control
 * slows the sender down and the wire follows the rate too.
 */
#include "fetch/fetch_int.h"

void fetch_rate_init(struct fetch_rate *t, uint64_t bytes_per_s, int block,
                  const volatile int *stop)
{
    pthread_mutex_init(&t->lock, NULL);
    t->per_ms = (double)bytes_per_s / 1e3;
    /* a tenth of a second: smooth, yet a chunk (16 kB) fits in most */
    t->burst = (double)bytes_per_s / 10;
    t->tokens = t->burst;
    t->last_ms = fetch_now_ms();
    t->block = block;
    t->stop = stop;
}

void fetch_rate_release(struct fetch_rate *t)
{
    pthread_mutex_destroy(&t->lock);
}

/* Called with t->lock held: tokens flowed in since last time. */
static void refill(struct fetch_rate *t)
{
    double now = fetch_now_ms();
    t->tokens += (now - t->last_ms) * t->per_ms;
    if (t->tokens > t->burst)
        t->tokens = t->burst;
    t->last_ms = now;
}

/* Called with t->lock held: ms until tokens are above zero. */
static double ms_to_go(const struct fetch_rate *t)
{
    return t->tokens > 0 ? 0 : -t->tokens / t->per_ms + 1;
}

int fetch_rate_take(struct fetch_rate *t, struct fetch_xfer *x, size_t n)
{
    pthread_mutex_lock(&t->lock);
    refill(t);
    while (t->block && t->tokens <= 0 && !(t->stop && *t->stop)) {
        /* in short naps, so a stop is seen; the lock is not held meanwhile */
        double d = ms_to_go(t);
        struct timespec ts = {0, (long)((d < 100 ? d : 100) * 1e6)};
        pthread_mutex_unlock(&t->lock);
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&t->lock);
        refill(t);
    }
    int pause = t->tokens <= 0 && !t->block;
    if (pause)
        x->paused = ++t->seq;
    else
        t->tokens -= (double)n;
    pthread_mutex_unlock(&t->lock);
    return pause;
}

/* 1 if there are tokens to go on with; refills first. */
static int has_tokens(struct fetch_rate *t)
{
    pthread_mutex_lock(&t->lock);
    refill(t);
    int go = t->tokens > 0;
    pthread_mutex_unlock(&t->lock);
    return go;
}

void fetch_rate_resume(struct fetch_rate *t, struct fetch_xfer *running)
{
    if (t->per_ms <= 0)
        return;
    /* the one paused longest first, so parallel transfers share the rate
     * instead of the first in the list taking it all */
    while (has_tokens(t)) {
        struct fetch_xfer *first = NULL;
        for (struct fetch_xfer *x = running; x; x = x->next)
            if (x->paused && (!first || x->paused < first->paused))
                first = x;
        if (!first)
            return;
        /* curl hands the held chunk to write_cb from in here, which takes
         * it or pauses the transfer again */
        first->paused = 0;
        curl_easy_pause(first->easy, CURLPAUSE_CONT);
    }
}

int fetch_rate_wait_ms(struct fetch_rate *t, const struct fetch_xfer *running,
                    int wait)
{
    if (t->per_ms <= 0)
        return wait;
    for (const struct fetch_xfer *x = running; x; x = x->next) {
        if (!x->paused)
            continue;
        pthread_mutex_lock(&t->lock);
        refill(t);
        double d = ms_to_go(t);
        pthread_mutex_unlock(&t->lock);
        return d < wait ? (int)d : wait;
    }
    return wait;
}
