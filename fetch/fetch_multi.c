/*
 * fetch/fetch_multi.c: the default driver, one thread and a curl multi
 * handle (curl docs/examples/10-at-a-time.c, with curl_multi_poll).
 *
 * Each turn of the loop: start retries that are due and new URLs while
 * fewer than concurrency transfers run, let curl work, judge what ended,
 * then wait in curl_multi_poll for sockets, curl's own timers, the next
 * retry or 200 ms (so a stop request is seen promptly). A retry waits in
 * a queue sorted by due time, holding no socket, file, easy handle or
 * transfer slot: new URLs start meanwhile, so a host that refuses does not
 * slow the others. Pulling stops while concurrency items run or
 * MAX_WAITING wait, so memory stays bounded however long the list is.
 * When the breaker gives up on a host, its waiting items fail at once.
 */
#include "fetch/fetch_int.h"

#include <stdlib.h>

/* descriptors the caller may add to a wait (opts->watch) */
#define MAX_WATCH 256
/* items waiting to retry, at most: about 1 kB each */
#define MAX_WAITING(conc) ((conc) * 32 > 4096 ? (conc) * 32 : 4096)

struct loop {
    struct fx_run *r;
    CURLM *multi;
    CURL **spare;            /* owned: idle easy handles, reused */
    unsigned nspare;
    struct fx_xfer *running; /* in flight, unordered */
    struct fx_xfer *waitq;   /* waiting to retry, by due_ms */
    unsigned trips;          /* r->trips when the waitq was last checked */
};

static CURL *take_easy(struct loop *l)
{
    return l->nspare ? l->spare[--l->nspare] : fx_easy_new();
}

static void give_easy(struct loop *l, CURL *h)
{
    if (l->nspare < l->r->concurrency)
        l->spare[l->nspare++] = h;
    else
        curl_easy_cleanup(h);
}

static void unlink_running(struct loop *l, struct fx_xfer *x)
{
    for (struct fx_xfer **p = &l->running; *p; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    x->next = NULL;
}

static void start(struct loop *l, struct fx_xfer *x)
{
    CURL *h = take_easy(l);
    if (!h) {
        fx_fail(x, IB_FETCH_DONE_FAILED, "cannot create a curl handle");
        fx_finish(l->r, x);
        return;
    }
    if (fx_begin(l->r, x, h)) {
        give_easy(l, h);
        fx_finish(l->r, x);
        return;
    }
    if (curl_multi_add_handle(l->multi, h) != CURLM_OK) {
        fx_fail(x, IB_FETCH_DONE_FAILED, "cannot add a curl handle");
        give_easy(l, h);
        fx_finish(l->r, x);
        return;
    }
    x->next = l->running;
    l->running = x;
    l->r->in_flight++;
}

static void enqueue_retry(struct loop *l, struct fx_xfer *x)
{
    struct fx_xfer **p = &l->waitq;
    while (*p && (*p)->due_ms <= x->due_ms)
        p = &(*p)->next;
    x->next = *p;
    *p = x;
    l->r->waiting++;
}

/* Judges every transfer curl has finished; returns how many ended. */
static unsigned collect(struct loop *l)
{
    unsigned n = 0;
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(l->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *h = m->easy_handle;
        CURLcode rc = m->data.result;   /* m is invalid after remove */
        struct fx_xfer *x = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(l->multi, h);
        unlink_running(l, x);
        l->r->in_flight--;
        enum fx_verdict v = fx_end(l->r, x, rc);
        give_easy(l, h);
        if (v == FX_RETRY)
            enqueue_retry(l, x);
        else
            fx_finish(l->r, x);
        n++;
    }
    return n;
}

/* Fails, at once, the waiting items of hosts the breaker gave up on. */
static void drop_tripped(struct loop *l)
{
    if (l->trips == l->r->trips)
        return;
    l->trips = l->r->trips;
    for (struct fx_xfer **p = &l->waitq; *p;) {
        struct fx_xfer *x = *p;
        if (!fx_host_tripped(x)) {
            p = &x->next;
            continue;
        }
        *p = x->next;
        l->r->waiting--;
        fx_finish(l->r, x);
    }
}

/* Stop: abort what runs, give up what waits; fx_pull skips the rest. */
static void abort_all(struct loop *l)
{
    struct fx_xfer *x;
    while ((x = l->running)) {
        l->running = x->next;
        curl_multi_remove_handle(l->multi, x->easy);
        give_easy(l, x->easy);
        l->r->in_flight--;
        fx_interrupt(x, 0);
        fx_finish(l->r, x);
    }
    while ((x = l->waitq)) {
        l->waitq = x->next;
        l->r->waiting--;
        fx_interrupt(x, 1);
        fx_finish(l->r, x);
    }
    while (fx_pull(l->r, &x))
        fx_finish(l->r, x);   /* not reached: fx_pull skips once stopped */
}

static uint64_t partial_bytes(const struct loop *l)
{
    uint64_t b = 0;
    for (const struct fx_xfer *x = l->running; x; x = x->next)
        b += x->got;
    return b;
}

/*
 * Waits in curl_multi_poll for curl's sockets and timers, plus the
 * caller's own descriptors (opts->watch), then lets the caller do its
 * share (opts->wake): the pool of imgbatch run is served here, so a
 * finished image frees its worker at once, not at the next download.
 */
static CURLMcode wait_for_work(struct loop *l, int wait)
{
    const struct ib_fetch_opts *o = l->r->o;
    struct curl_waitfd extra[MAX_WATCH];
    int fds[MAX_WATCH];
    unsigned n = o->watch ? o->watch(o->ctx, fds, MAX_WATCH) : 0;

    if (n > MAX_WATCH)
        n = MAX_WATCH;
    for (unsigned i = 0; i < n; i++)
        extra[i] = (struct curl_waitfd){.fd = fds[i],
                                        .events = CURL_WAIT_POLLIN};
    CURLMcode mc = curl_multi_poll(l->multi, n ? extra : NULL, n, wait, NULL);
    if (o->wake)
        o->wake(o->ctx);
    return mc;
}

static int loop_run(struct loop *l, char *msg, size_t msglen)
{
    struct fx_run *r = l->r;
    unsigned cap = r->concurrency;
    for (;;) {
        if (fx_stopped(r)) {
            abort_all(l);
            return 0;
        }
        double now = fx_now_ms();
        while (l->waitq && l->waitq->due_ms <= now && r->in_flight < cap) {
            struct fx_xfer *x = l->waitq;
            l->waitq = x->next;
            r->waiting--;
            start(l, x);
        }
        while (!r->eof && r->in_flight < cap &&
               r->waiting < MAX_WAITING(cap)) {
            struct fx_xfer *x;
            if (!fx_pull(r, &x))
                break;
            start(l, x);
        }
        if (!r->in_flight && !l->waitq && r->eof)
            return 0;

        fx_rate_resume(&r->rate, l->running);   /* --limit-rate */
        int still;
        CURLMcode mc = curl_multi_perform(l->multi, &still);
        if (mc != CURLM_OK) {
            snprintf(msg, msglen, "curl: %s", curl_multi_strerror(mc));
            abort_all(l);
            return IB_FETCH_ECURL;
        }
        unsigned ended = collect(l);
        drop_tripped(l);
        fx_progress(r, partial_bytes(l), 0);
        if (ended) {
            if (r->o->wake)
                r->o->wake(r->o->ctx);
            continue;   /* refill the freed slots before waiting */
        }

        int wait = 200;
        if (l->waitq) {
            double d = l->waitq->due_ms - fx_now_ms();
            if (d < wait)
                wait = d > 0 ? (int)d + 1 : 0;
        }
        wait = fx_rate_wait_ms(&r->rate, l->running, wait);
        mc = wait_for_work(l, wait);
        if (mc != CURLM_OK) {
            snprintf(msg, msglen, "curl: %s", curl_multi_strerror(mc));
            abort_all(l);
            return IB_FETCH_ECURL;
        }
    }
}

int fx_run_multi(struct fx_run *r, char *msg, size_t msglen)
{
    struct loop l = {r, curl_multi_init(), NULL, 0, NULL, NULL, 0};
    l.spare = calloc(r->concurrency, sizeof *l.spare);
    if (!l.multi || !l.spare) {
        snprintf(msg, msglen, "cannot set up libcurl");
        curl_multi_cleanup(l.multi);
        free(l.spare);
        return IB_FETCH_ECURL;
    }
    curl_multi_setopt(l.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(l.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)r->per_host);
    /* idle connections kept for reuse: as many as may be busy at once */
    curl_multi_setopt(l.multi, CURLMOPT_MAXCONNECTS, (long)r->concurrency);

    int rc = loop_run(&l, msg, msglen);

    for (unsigned i = 0; i < l.nspare; i++)
        curl_easy_cleanup(l.spare[i]);
    free(l.spare);
    curl_multi_cleanup(l.multi);
    return rc;
}
