/*
 * cmd/run_batch.c: the batch around imgbatch run's per-item steps
 * (cmd/run.c). Reads top-down: the progress line; the fetch loop's
 * hooks (its URL source is the list, in order); the one poll loop; the
 * whole run (OUT locked, the journal opened, the shared slots mapped, the
 * workers forked, the loop, the items a stop left reported, the summary,
 * the exit code); the teardown.
 *
 * Workers are forked before the first file exists, so what a task needs
 * to know about its file travels through a MAP_SHARED table of slots the
 * parent fills before ib_pool_submit (the pipe write orders the two).
 *
 * OUT is locked (cmd/lock.c) before anything in it is swept or written,
 * and outputs are created relative to its fd, never through a symlink.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include "cmd/run_batch.h"
#include "fetch/fetch.h"
#include "pool/pool.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NAME "run"

void run_progress(struct run *r)
{
    batch_progress(&r->b, 0, "%" PRIu64 "/%zu fetched, %" PRIu64
                   " transformed, %" PRIu64 " busy, %" PRIu64 " failed, "
                   "%.1f s", r->fetched, r->list.n, r->transformed,
                   r->submitted - r->finished, r->b.n[RUN_FAILED],
                   (cmd_now_ms() - r->t0) / 1e3);
}

static void on_progress(void *ctx, const struct ib_fetch_progress *pr)
{
    (void)pr;
    run_progress(ctx);
}

/* The fetch loop's URL source: this shard's list, in order. */
static int next_url(void *ctx, const char **url, const char **name)
{
    struct run *r = ctx;
    if (r->next >= r->list.n)
        return 0;
    *name = r->list.names[r->next];
    *url = r->list.urls[r->next++];
    return 1;
}

/*
 * The one event loop (redis aeMain): fetch's sockets and timers and the
 * workers' result pipes in one poll(), each library then stepped in turn;
 * neither drives the other. A file that lands is submitted from on_fetched
 * while downloads go on, and a finished image frees its worker at once.
 * Ends when every URL is fetched and every submitted file has its result.
 * Returns fetch's code (msg says why), *prc the pool's last.
 */
static int run_loop(struct run *r, const struct ib_fetch_opts *fo, int *prc,
                    char *msg, size_t msglen)
{
    struct ib_fetch *f = ib_fetch_new(fo, msg, msglen);
    unsigned cap = 64;
    struct pollfd *fds = malloc(cap * sizeof *fds);
    int frc = f ? 1 : IB_FETCH_EINVAL, left = 0;

    if (!fds)
        abort();
    while (frc > 0 || left > 0) {
        int wait = -1;
        unsigned np = ib_pool_fds(r->pool, fds, cap, &wait), nf = 0;
        if (frc > 0 && np <= cap)
            nf = ib_fetch_fds(f, fds + np, cap - np, &wait);
        if (np + nf > cap) {
            cap = 2 * (np + nf);
            if (!(fds = realloc(fds, cap * sizeof *fds)))
                abort();
            continue;
        }
        /* EINTR is a stop, which both steps see */
        (void)poll(fds, np + nf, wait);
        if (frc > 0) {
            frc = ib_fetch_step(f, fds + np, nf, msg, msglen);
            /* the downloads' renames, once per batch (cmd/fetch.c) */
            if (frc <= 0 && !r->s->o.oo.no_fsync)
                fsync(r->d.dl_fd);
        }
        left = ib_pool_poll(r->pool, 0);
    }
    *prc = left < 0 ? left : 0;
    free(fds);
    ib_fetch_free(f);
    return frc;
}

int run_batch(struct run *r)
{
    struct run_settings *s = r->s;
    char msg[256];
    size_t n = r->list.n ? r->list.n : 1;

    int rc = run_dirs_open(&r->d, s);
    if (rc)
        return rc;
    if (run_journal_open(&r->journal, s->o.out, s->journal, msg,
                         sizeof msg)) {
        fprintf(stderr, "imgbatch run: %s\n", msg);
        return EXIT_FATAL;
    }
    /* shared with the workers, so it must exist before they are forked */
    r->items = mmap(NULL, n * run_item_size(r->per), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    r->pend = calloc(n, sizeof *r->pend);
    r->results = calloc(n, sizeof *r->results);
    if (r->items == MAP_FAILED || !r->pend || !r->results ||
        run_names_init(&r->names, n * r->per)) {
        if (r->items == MAP_FAILED)
            r->items = NULL;
        fprintf(stderr, "imgbatch run: out of memory\n");
        return EXIT_FATAL;
    }

    if (batch_start(&r->b, NAME, &s->o))
        return EXIT_FATAL;
    r->t0 = r->b.t0;
    struct ib_pool_opts po = {
        .backend = IB_POOL_FORK,
        .ntasks = r->list.n,
        .task = run_task,
        .ctx = r,
        .results = r->results,
        .done = run_on_result,
        .done_ctx = r,
        .close_fds = 1,   /* a replacement worker must not hold transfers */
    };
    batch_pool_opts(&po, &s->img, s->workers);
    /* STYLE §2: forked now, before any transfer exists */
    r->pool = ib_pool_new(&po, msg, sizeof msg);
    if (!r->pool) {
        fprintf(stderr, "imgbatch run: cannot start workers: %s\n", msg);
        return EXIT_FATAL;
    }

    struct ib_fetch_opts fo = s->fetch;
    fo.out_dir = s->dl_dir;
    fo.no_fsync = s->o.oo.no_fsync;
    /* shards keep their own default download folder; one the user named
     * may be shared by them */
    fo.shared_dir = s->o.shard.n && !s->dl_below;
    fo.next = next_url;
    fo.next_ctx = r;
    fo.done = run_on_fetched;
    fo.progress = on_progress;
    fo.ctx = r;
    fo.stop = &cmd_stop;
    int prc, frc = run_loop(r, &fo, &prc, msg, sizeof msg);
    ib_pool_free(r->pool);
    r->pool = NULL;
    /* a stop leaves landed files the pool never started: each still gets
     * its report line */
    for (size_t i = 0; i < r->nslots; i++)
        if (!r->pend[i].reported)
            run_report_skipped(r, &r->pend[i]);
    run_summary(r, cmd_stop != 0);

    int fatal = 0;
    if (frc) {
        fprintf(stderr, "imgbatch run: %s\n", msg);
        fatal = 1;
    } else if (prc == IB_POOL_ESYS) {
        fprintf(stderr, "imgbatch run: %s\n", ib_pool_strerror(prc));
        fatal = 1;
    }
    if (run_journal_close(&r->journal, msg, sizeof msg)) {
        fprintf(stderr, "imgbatch run: %s\n", msg);
        fatal = 1;
    }
    return batch_exit(&r->b, fatal, s->fail_pct);
}

void run_init(struct run *r, struct run_settings *s)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->per = render_per(&s->img);
    run_dirs_init(&r->d);
    r->journal.fd = -1;   /* closed, should run_batch stop before opening */
}

void run_release(struct run *r)
{
    batch_exit(&r->b, 1, -1);   /* closes the report, if run_batch did not */
    run_journal_close(&r->journal, NULL, 0);
    run_names_release(&r->names);
    for (size_t i = 0; i < r->nslots; i++) {
        free(r->pend[i].url);
        free(r->pend[i].dl);
        free(r->pend[i].out);
    }
    free(r->pend);
    free(r->results);
    if (r->items)
        munmap(r->items, (r->list.n ? r->list.n : 1) * run_item_size(r->per));
    run_list_release(&r->list);
    run_dirs_release(&r->d);
}
