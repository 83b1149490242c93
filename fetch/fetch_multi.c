/*
 * fetch/fetch_multi.c: the default driver, one thread and a curl multi
 * handle driven through its socket interface (curl docs/examples/
 * hiperfifo.c, 10-at-a-time.c), as an event source with no loop of its
 * own: ib_fetch_fds says what to wait for, the caller waits (in one poll()
 * with its other sources), ib_fetch_step does what is ready.
 *
 * libcurl tells us which sockets it wants watched, and for what
 * (CURLMOPT_SOCKETFUNCTION: the socks table), and when it next needs a
 * call anyway (CURLMOPT_TIMERFUNCTION: timer_due). Each step: start
 * retries that are due and new URLs while fewer than concurrency transfers
 * run, hand curl the sockets that poll() found ready and an expired timer,
 * judge what ended, and refill the freed slots. A retry waits in a queue
 * sorted by due time, holding no socket, file, easy handle or transfer
 * slot: new URLs start meanwhile, so a host that refuses does not slow the
 * others. Pulling stops while concurrency items run or MAX_WAITING wait, so
 * memory stays bounded however long the list is. When the breaker gives up
 * on a host, its waiting items fail at once.
 */
#include "fetch/fetch_int.h"

#include <stdlib.h>

/* items waiting to retry, at most: about 1 kB each */
#define MAX_WAITING(conc) ((conc) * 32 > 4096 ? (conc) * 32 : 4096)
/* a step at least this often: a stop is seen, progress drawn */
#define TICK_MS 200

static CURL *take_easy(struct ib_fetch *f)
{
    return f->nspare ? f->spare[--f->nspare] : fetch_easy_new();
}

static void give_easy(struct ib_fetch *f, CURL *h)
{
    if (f->nspare < f->concurrency)
        f->spare[f->nspare++] = h;
    else
        curl_easy_cleanup(h);
}

static void unlink_running(struct ib_fetch *f, struct fetch_xfer *x)
{
    for (struct fetch_xfer **p = &f->running; *p; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    x->next = NULL;
}

static void start(struct ib_fetch *f, struct fetch_xfer *x)
{
    CURL *h = take_easy(f);
    if (!h) {
        fetch_fail(x, IB_FETCH_DONE_FAILED, "cannot create a curl handle");
        fetch_finish(f, x);
        return;
    }
    if (fetch_begin(f, x, h)) {
        give_easy(f, h);
        fetch_finish(f, x);
        return;
    }
    /* curl sets its timer to 0 here: the next step starts it */
    if (curl_multi_add_handle(f->multi, h) != CURLM_OK) {
        fetch_fail(x, IB_FETCH_DONE_FAILED, "cannot add a curl handle");
        give_easy(f, h);
        fetch_finish(f, x);
        return;
    }
    x->next = f->running;
    f->running = x;
    f->in_flight++;
}

static void enqueue_retry(struct ib_fetch *f, struct fetch_xfer *x)
{
    struct fetch_xfer **p = &f->waitq;
    while (*p && (*p)->due_ms <= x->due_ms)
        p = &(*p)->next;
    x->next = *p;
    *p = x;
    f->waiting++;
}

/* Starts due retries, then new URLs, while there is room. */
static void refill(struct ib_fetch *f)
{
    unsigned cap = f->concurrency;
    double now = fetch_now_ms();
    while (f->waitq && f->waitq->due_ms <= now && f->in_flight < cap) {
        struct fetch_xfer *x = f->waitq;
        f->waitq = x->next;
        f->waiting--;
        start(f, x);
    }
    while (!f->eof && f->in_flight < cap && f->waiting < MAX_WAITING(cap)) {
        struct fetch_xfer *x;
        if (!fetch_pull(f, &x))
            break;
        start(f, x);
    }
}

/* Judges every transfer curl has finished; returns how many ended. */
static unsigned collect(struct ib_fetch *f)
{
    unsigned n = 0;
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *h = m->easy_handle;
        CURLcode rc = m->data.result;   /* m is invalid after remove */
        struct fetch_xfer *x = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(f->multi, h);
        unlink_running(f, x);
        f->in_flight--;
        enum fetch_verdict v = fetch_end(f, x, rc);
        give_easy(f, h);
        if (v == FETCH_RETRY)
            enqueue_retry(f, x);
        else
            fetch_finish(f, x);
        n++;
    }
    return n;
}

/* Fails, at once, the waiting items of hosts the breaker gave up on. */
static void drop_tripped(struct ib_fetch *f)
{
    if (f->trips_seen == f->trips)
        return;
    f->trips_seen = f->trips;
    for (struct fetch_xfer **p = &f->waitq; *p;) {
        struct fetch_xfer *x = *p;
        if (!fetch_host_tripped(x)) {
            p = &x->next;
            continue;
        }
        *p = x->next;
        f->waiting--;
        fetch_finish(f, x);
    }
}

/* Stop: abort what runs, give up what waits; fetch_pull skips the rest. */
static void abort_all(struct ib_fetch *f)
{
    struct fetch_xfer *x;
    while ((x = f->running)) {
        f->running = x->next;
        curl_multi_remove_handle(f->multi, x->easy);
        give_easy(f, x->easy);
        f->in_flight--;
        fetch_interrupt(x, 0);
        fetch_finish(f, x);
    }
    while ((x = f->waitq)) {
        f->waitq = x->next;
        f->waiting--;
        fetch_interrupt(x, 1);
        fetch_finish(f, x);
    }
    while (fetch_pull(f, &x))
        fetch_finish(f, x);   /* not reached: fetch_pull skips once stopped */
}

static uint64_t partial_bytes(const struct ib_fetch *f)
{
    uint64_t b = 0;
    for (const struct fetch_xfer *x = f->running; x; x = x->next)
        b += x->got;
    return b;
}

/* CURLMOPT_SOCKETFUNCTION: what curl wants of socket s, kept in socks. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    struct ib_fetch *f = userp;
    unsigned i = 0;
    (void)easy, (void)socketp;
    while (i < f->nsocks && f->socks[i].fd != s)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < f->nsocks)
            f->socks[i] = f->socks[--f->nsocks];
        return 0;
    }
    if (i == f->nsocks) {
        if (f->nsocks == f->capsocks) {
            unsigned cap = f->capsocks ? 2 * f->capsocks : 16;
            struct pollfd *p = realloc(f->socks, cap * sizeof *p);
            if (!p) {
                f->socks_oom = 1;
                return -1;
            }
            f->socks = p;
            f->capsocks = cap;
        }
        f->socks[f->nsocks++] = (struct pollfd){.fd = s};
    }
    f->socks[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) |
                                 (what & CURL_POLL_OUT ? POLLOUT : 0));
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: when curl next wants a call, whatever happens. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct ib_fetch *f = userp;
    (void)multi;
    f->timer_due = timeout_ms < 0 ? -1 : fetch_now_ms() + timeout_ms;
    return 0;
}

/*
 * poll()'s answer as curl's hints. An error or hang-up gives none: curl
 * then checks the socket itself and says what went wrong, as it does
 * when driven by curl_multi_perform.
 */
static int curl_events(short revents)
{
    if (revents & (POLLERR | POLLHUP | POLLNVAL))
        return 0;
    return (revents & POLLIN ? CURL_CSELECT_IN : 0) |
           (revents & POLLOUT ? CURL_CSELECT_OUT : 0);
}

static int multi_failed(struct ib_fetch *f, CURLMcode mc)
{
    snprintf(f->end_msg, sizeof f->end_msg, "curl: %s",
             curl_multi_strerror(mc));
    abort_all(f);
    return IB_FETCH_ECURL;
}

/* One step; 1 while URLs remain, 0 at the end, or a code (end_msg). */
static int turn(struct ib_fetch *f, const struct pollfd *fds, unsigned nfds)
{
    int still;
    CURLMcode mc;

    if (fetch_stopped(f)) {
        abort_all(f);
        return 0;
    }
    fetch_rate_resume(&f->rate, f->running);   /* --limit-rate */
    if (f->socks_oom) {
        snprintf(f->end_msg, sizeof f->end_msg, "out of memory");
        abort_all(f);
        return IB_FETCH_ENOMEM;
    }
    refill(f);
    for (unsigned i = 0; i < nfds; i++) {
        if (!fds[i].revents)
            continue;
        /* a socket curl closed meanwhile is ignored by curl */
        mc = curl_multi_socket_action(f->multi, fds[i].fd,
                                      curl_events(fds[i].revents), &still);
        if (mc != CURLM_OK)
            return multi_failed(f, mc);
    }
    if (f->timer_due >= 0 && f->timer_due <= fetch_now_ms()) {
        f->timer_due = -1;
        mc = curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0,
                                      &still);
        if (mc != CURLM_OK)
            return multi_failed(f, mc);
    }
    if (collect(f))
        refill(f);   /* the freed slots, before the next wait */
    drop_tripped(f);
    fetch_progress(f, partial_bytes(f), 0);
    return f->in_flight || f->waitq || !f->eof;
}

int ib_fetch_step(struct ib_fetch *f, const struct pollfd *fds,
                  unsigned nfds, char *msg, size_t msglen)
{
    if (!f->ended) {
        int rc = turn(f, fds, nfds);
        if (rc > 0)
            return 1;
        f->end_rc = fetch_close(f, rc, f->end_msg, sizeof f->end_msg);
        f->ended = 1;
    }
    if (f->end_rc)
        snprintf(msg, msglen, "%s", f->end_msg);
    return f->end_rc;
}

unsigned ib_fetch_fds(const struct ib_fetch *f, struct pollfd *fds,
                      unsigned max, int *timeout_ms)
{
    unsigned n = 0;
    if (!f || f->ended)
        return 0;
    for (unsigned i = 0; i < f->nsocks; i++) {
        if (!f->socks[i].events)
            continue;   /* curl wants nothing of it now */
        if (n < max)
            fds[n] = f->socks[i];
        n++;
    }
    double now = fetch_now_ms(), due = now + TICK_MS;
    if (f->timer_due >= 0 && f->timer_due < due)
        due = f->timer_due;
    /* a retry due with every slot taken waits for a transfer to end */
    if (f->waitq && f->waitq->due_ms < due && f->in_flight < f->concurrency)
        due = f->waitq->due_ms;
    if (f->socks_oom)
        due = now;
    /* rounded up: waking before a deadline would only spin */
    int ms = due <= now ? 0 : (int)(due - now) + 1;
    /* a transfer paused for --limit-rate goes on when tokens are back;
     * the bucket refills under its own lock, so const f is kept */
    ms = fetch_rate_wait_ms((struct fetch_rate *)&f->rate, f->running, ms);
    if (*timeout_ms < 0 || ms < *timeout_ms)
        *timeout_ms = ms;
    return n;
}

/* ib_fetch_new's work, with the code it fails with. */
static struct ib_fetch *multi_new(const struct ib_fetch_opts *o, int *rc,
                                  char *msg, size_t msglen)
{
    if (o && o->mode != IB_FETCH_MULTI) {
        snprintf(msg, msglen, "fetch: only the multi driver steps");
        *rc = IB_FETCH_EINVAL;
        return NULL;
    }
    struct ib_fetch *f = fetch_new(o, rc, msg, msglen);
    if (!f)
        return NULL;
    f->multi = curl_multi_init();
    f->spare = calloc(f->concurrency, sizeof *f->spare);
    if (!f->multi || !f->spare) {
        snprintf(msg, msglen, "cannot set up libcurl");
        *rc = IB_FETCH_ECURL;
        ib_fetch_free(f);
        return NULL;
    }
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_PIPELINING,
                      (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)f->per_host);
    /* idle connections kept for reuse: as many as may be busy at once */
    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)f->concurrency);
    return f;
}

struct ib_fetch *ib_fetch_new(const struct ib_fetch_opts *o, char *msg,
                              size_t msglen)
{
    int rc;
    return multi_new(o, &rc, msg, msglen);
}

void ib_fetch_free(struct ib_fetch *f)
{
    struct fetch_xfer *x;
    if (!f)
        return;
    /* abandoned: cut off, temp files removed, nothing reported */
    while ((x = f->running)) {
        f->running = x->next;
        curl_multi_remove_handle(f->multi, x->easy);
        curl_easy_cleanup(x->easy);
        fetch_xfer_free(x);
    }
    while ((x = f->waitq)) {
        f->waitq = x->next;
        fetch_xfer_free(x);
    }
    for (unsigned i = 0; i < f->nspare; i++)
        curl_easy_cleanup(f->spare[i]);
    free(f->spare);
    curl_multi_cleanup(f->multi);
    free(f->socks);
    fetch_release(f);
}

/* ib_fetch_run in MULTI mode: the caller's loop, here. */
int fetch_run_multi(const struct ib_fetch_opts *o, char *msg, size_t msglen)
{
    int rc = 1;
    struct ib_fetch *f = multi_new(o, &rc, msg, msglen);
    struct pollfd *fds = NULL;
    unsigned cap = 0;

    if (!f)
        return rc;
    while (rc > 0) {
        int wait = -1;
        unsigned n = ib_fetch_fds(f, fds, cap, &wait);
        if (n > cap) {
            struct pollfd *p = realloc(fds, 2 * n * sizeof *p);
            if (!p) {
                snprintf(msg, msglen, "out of memory");
                rc = IB_FETCH_ENOMEM;
                break;
            }
            fds = p;
            cap = 2 * n;
            continue;
        }
        /* interrupted (a stop) or failed, the wait was only shorter: a
         * step does what is ready and never blocks */
        (void)poll(fds, n, wait);
        rc = ib_fetch_step(f, fds, n, msg, msglen);
    }
    free(fds);
    ib_fetch_free(f);
    return rc;
}
