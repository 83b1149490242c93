/*
 * cmd/run.c: imgbatch run [OPTIONS] URLS.txt|- -o OUT
 *
 * Download and transform, overlapped (DESIGN.md, STYLE.md §2). Reads
 * top-down: options and the op pipeline are checked before anything is
 * touched; the list is read and cut to this --shard; the workers are
 * forked; then one poll loop (run_loop) serves fetch's sockets and the
 * workers' result pipes side by side: as each file lands its index goes
 * to a free worker while other downloads go on, and a finished image
 * frees its worker at once. One report line per URL covers both stages;
 * then the summary and the exit code.
 *
 * Workers are forked before the first file exists, so what a task needs
 * to know about its file travels through a MAP_SHARED table of slots the
 * parent fills before ib_pool_submit (the pipe write orders the two).
 *
 * OUT is locked (cmd/lock.c) before anything in it is swept or written,
 * and outputs are created relative to its fd, never through a symlink.
 *
 * Reruns: a 304 whose output carries the download's mtime (cmd/stamp.c)
 * is "unchanged" and costs no worker. The journal OUT/.imgbatch-run.tsv
 * records, per output, a hash of the input that made it and the output's
 * size and mtime: a download that came back whole (200) with the same
 * bytes, as after a kill -9 that cost the fetch index, is recognised by a
 * worker from the hash and restamped without decoding.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include "cmd/cmd.h"
#include "cmd/run.h"
#include "cmd/shard.h"
#include "fetch/fetch.h"
#include "pool/pool.h"
#include "transform/transform.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME "run"

static const char usage_line[] =
    "imgbatch run [OPTIONS] URLS.txt|- -o OUT";
static const char about[] =
    "Downloads each URL of the list (as imgbatch fetch) into the download\n"
    "folder and, as each file lands, transforms it in a free worker (as\n"
    "imgbatch transform) to OUT/<download name, extension set by --format>,\n"
    "or as --name says; --size/--width and a list of --format make several\n"
    "renditions from one decode, named before any download starts.\n"
    "A rerun asks the server whether each file changed; an unchanged file\n"
    "whose output is up to date costs nothing more. Killed at any moment, a\n"
    "rerun finishes the rest. exit: 0 all ok, 1 failures past --fail-on,\n"
    "2 usage error, 3 cannot run, 128 + N stopped by signal N.";

/* One URL of this shard, in the parent. */
struct pend {
    char *url;           /* owned */
    char *dl;            /* owned: download path */
    char *out;           /* owned: output path */
    long http;
    uint64_t bytes;
    unsigned attempts;
    double fetch_ms, landed_ms;
    int reported;        /* its report line is written */
};

struct run {
    struct run_settings *s;
    struct run_dirs d;       /* OUT and the download folder */
    struct run_list list;
    size_t next;             /* list position for the fetch loop */
    void *items;             /* shared with the workers: list.n run_items
                                of per outputs each (run_item_at) */
    size_t per;              /* outputs per item: render_per */
    struct pend *pend;       /* list.n of them, by item */
    size_t nslots;
    struct ib_pool *pool;
    struct ib_pool_result *results;
    struct run_journal journal;
    struct run_names names;
    struct batch b;          /* report, counts by run_status, progress */
    double t0;               /* b.t0: the loop's clock */
    uint64_t downloaded, not_modified, transformed, bytes;
    uint64_t fetched, submitted, finished;
};

_Static_assert((int)RUN_NSTATUS == (int)BATCH_NSTATUS,
               "run_status follows batch_status");

static void show_progress(struct run *r, int force)
{
    batch_progress(&r->b, force, "%" PRIu64 "/%zu fetched, %" PRIu64
                   " transformed, %" PRIu64 " busy, %" PRIu64 " failed, "
                   "%.1f s", r->fetched, r->list.n, r->transformed,
                   r->submitted - r->finished, r->b.n[RUN_FAILED],
                   (cmd_now_ms() - r->t0) / 1e3);
}

/* What a report line says beyond the fetch fields. */
struct outcome {
    enum run_status status;
    const char *stage;   /* "fetch" or "transform" when failed */
    const char *error;
    double transform_ms; /* < 0: no decode happened */
    const uint32_t *dims;
    const struct run_item *item;   /* with renditions: its outputs */
    const char *none;    /* their status when the worker said nothing */
    int results;         /* the worker's results are in item */
};

/*
 * -v: one line per URL, as transform's: with renditions made by a worker,
 * each output made with its size and how many were up to date.
 */
static void say_done(const struct run *r, const struct outcome *o,
                     const char *url, const char *out)
{
    fprintf(stderr, "imgbatch run: %s '%s'", batch_status_name[o->status],
            url);
    if (!render_active(&r->s->img) || !o->item || !o->results) {
        fprintf(stderr, " -> '%s'\n", out);
        return;
    }
    const char *sep = " -> ";
    size_t fresh = 0;
    for (size_t k = 0; k < r->per; k++) {
        const struct ib_rendition_result *rr = &o->item->out[k].rr;
        if (rr->status != 0) {
            fresh++;
            continue;
        }
        fprintf(stderr, "%s'%s/%s' (%" PRIu32 "x%" PRIu32 ")", sep,
                r->s->o.out, o->item->out[k].out, rr->width, rr->height);
        sep = ", ";
    }
    if (fresh)
        fprintf(stderr, "; %zu up to date", fresh);
    fputc('\n', stderr);
}

/* p's dl and out may be NULL; landed_ms < 0: no file landed. */
static void report(struct run *r, struct pend *p, const char *url,
                   const struct outcome *o)
{
    double now = cmd_now_ms() - r->t0;
    char *hidden;

    url = cmd_url_shown(url, &hidden);   /* no password */
    p->reported = 1;
    struct cmd_json *j = batch_item_begin(&r->b);
    cmd_json_str(j, "url", url);
    cmd_json_str(j, "file", p->dl);
    cmd_json_str(j, "output", o->status <= RUN_UNCHANGED ? p->out : NULL);
    cmd_json_str(j, "stage", o->stage);
    batch_item_fetch(j, p->http, p->bytes, p->attempts, p->fetch_ms);
    if (o->transform_ms >= 0)
        cmd_json_num(j, "transform_ms", o->transform_ms);
    else
        cmd_json_null(j, "transform_ms");
    if (o->dims) {
        cmd_json_int(j, "width_in", o->dims[0]);
        cmd_json_int(j, "height_in", o->dims[1]);
        cmd_json_int(j, "width_out", o->dims[2]);
        cmd_json_int(j, "height_out", o->dims[3]);
    }
    cmd_json_str(j, "error", o->error);
    if (p->landed_ms >= 0)
        cmd_json_num(j, "landed_ms", p->landed_ms);
    else
        cmd_json_null(j, "landed_ms");
    cmd_json_num(j, "done_ms", now);
    if (render_active(&r->s->img))
        run_item_report(j, r->s, o->item, o->results, o->none);
    batch_item_end(&r->b, (enum batch_status)o->status);

    if (o->status == RUN_FAILED) {
        batch_clear_progress(&r->b);
        cmd_item_error("run", !strcmp(o->stage, "fetch") ? "fetch"
                                                          : "transform",
                       url, o->error);
    } else if (r->s->o.verbose && o->status < RUN_SKIPPED) {
        batch_clear_progress(&r->b);
        say_done(r, o, url, p->out);
    }
    free(hidden);
    show_progress(r, 0);
}

static void remove_temps(struct run *r, const struct run_item *item)
{
    for (size_t k = 0; k < r->per; k++)
        ib_transform_remove_temps(&r->d.out, item->out[k].out);
}

/* In the parent, as each worker's result arrives. */
static void on_result(void *ctx, size_t index, const struct ib_pool_result *res)
{
    struct run *r = ctx;
    struct pend *p = &r->pend[index];
    struct run_item *item = run_item_at(r->items, r->per, index);
    struct run_result d;
    struct outcome o = {.status = RUN_FAILED, .stage = "transform",
                        .transform_ms = res->end_ms - res->start_ms,
                        .item = item, .none = "not_run"};

    r->finished++;
    memcpy(&d, res->data, sizeof d);
    if (res->state == IB_POOL_DONE) {
        /* what it made or kept is recorded, even when a sibling failed */
        run_journal_add_item(&r->journal, item, r->per);
        o.results = 1;
    }
    if (res->state == IB_POOL_DONE && res->status == 0) {
        o.status = d.decoded ? RUN_OK : RUN_UNCHANGED;
        o.stage = NULL;
        o.dims = d.decoded ? d.dims : NULL;
        if (!d.decoded)
            o.transform_ms = -1;
        else
            r->transformed++;
    } else if (res->state == IB_POOL_CRASHED && cmd_stop &&
               !strcmp(res->msg, "interrupted")) {
        /* killed at the end of the stop's grace: not the image's fault */
        remove_temps(r, item);
        o.status = RUN_INTERRUPTED;
        o.error = res->msg;
    } else if (res->state == IB_POOL_NOT_RUN) {
        o.status = RUN_SKIPPED;
        o.stage = NULL;
        o.error = "interrupted";
        o.transform_ms = -1;
    } else {
        /* its worker died mid-write: nobody else writes this output */
        if (res->state == IB_POOL_CRASHED || res->state == IB_POOL_TIMEOUT) {
            remove_temps(r, item);
            o.none = "failed";   /* some may be written, unrecorded */
        }
        o.error = res->msg[0] ? res->msg : "failed";
    }
    report(r, p, p->url, &o);
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
 * In the fetch loop, as each URL ends. A file that landed gets an output
 * name; unless its output is up to date, it goes to the pool.
 */
static void on_fetched(void *ctx, const struct ib_fetch_item *it)
{
    struct run *r = ctx;
    struct outcome o = {.status = RUN_FAILED, .stage = "fetch",
                        .error = it->msg, .transform_ms = -1};
    int landed = it->status == IB_FETCH_DONE_OK ||
                 it->status == IB_FETCH_DONE_UNCHANGED;

    r->fetched++;
    r->bytes += it->bytes;
    if (!landed || r->nslots >= r->list.n) {
        struct pend f = {.http = it->http, .attempts = it->attempts,
                         .fetch_ms = it->ms, .landed_ms = -1};
        if (it->status == IB_FETCH_DONE_SKIPPED)
            o.status = RUN_SKIPPED;
        else if (it->status == IB_FETCH_DONE_INTERRUPTED)
            o.status = RUN_INTERRUPTED;
        if (landed)
            o.error = "more files than URLs";   /* cannot happen */
        report(r, &f, it->url, &o);
        return;
    }
    size_t i = r->nslots++;
    struct pend *p = &r->pend[i];
    struct run_item *item = run_item_at(r->items, r->per, i);
    char msg[IB_POOL_MSGLEN];

    r->downloaded += it->status == IB_FETCH_DONE_OK;
    r->not_modified += it->status == IB_FETCH_DONE_UNCHANGED;
    *p = (struct pend){.http = it->http, .bytes = it->bytes,
                       .attempts = it->attempts, .fetch_ms = it->ms,
                       .landed_ms = cmd_now_ms() - r->t0};
    p->url = run_strdup(it->url);
    p->dl = run_strdup(it->path);
    o.item = item;
    o.none = "not_run";
    o.stage = "transform";
    if (run_item_fill(r->s, &r->list, item, it->url, it->file, it->path,
                      msg, sizeof msg)) {
        o.error = msg;
        o.item = NULL;   /* its names are not known */
        report(r, p, p->url, &o);
        return;
    }
    p->out = run_join(r->s->o.out, item->out[0].out);
    const char *taken, *owner = run_names_claim_item(&r->names, item, r->per,
                                                     p->url, &taken);
    if (owner) {
        char *hidden;
        snprintf(msg, sizeof msg, "output '%s' is already that of '%s'",
                 taken, cmd_url_shown(owner, &hidden));
        free(hidden);
        o.error = msg;
        report(r, p, p->url, &o);
        return;
    }
    if (!r->s->o.force)
        run_journal_get_item(&r->journal, item, r->per);
    /* a 304 keeps the outputs only if this recipe made each */
    if (!r->s->o.force && it->status == IB_FETCH_DONE_UNCHANGED &&
        run_item_unchanged(r->s, item, p->dl)) {
        o = (struct outcome){.status = RUN_UNCHANGED, .transform_ms = -1,
                             .item = item, .none = "skipped"};
        report(r, p, p->url, &o);
        return;
    }
    /* a killed copy of this shard left temp files for these outputs */
    for (size_t k = 0; k < r->per; k++)
        if (run_dirs_stale(&r->d, item->out[k].out))
            ib_transform_remove_temps(&r->d.out, item->out[k].out);
    r->submitted++;
    int prc = ib_pool_submit(r->pool, i);
    if (prc == IB_POOL_EINTR) {
        r->submitted--;
        o = (struct outcome){.status = RUN_SKIPPED, .error = "interrupted",
                             .transform_ms = -1};
        report(r, p, p->url, &o);
    }
    /* IB_POOL_ESYS: no worker can be forked; the wait reports it */
}

static void on_fetch_progress(void *ctx, const struct ib_fetch_progress *pr)
{
    (void)pr;
    show_progress(ctx, 0);
}

/* Runs in a worker: one landed file; its run_result is the payload, the
 * outputs' results are in its item. */
static int task(void *ctx, size_t index, void *data, char *msg,
                size_t msglen)
{
    const struct run *r = ctx;
    struct run_result d;
    _Static_assert(sizeof d <= IB_POOL_DATALEN, "a pool payload");
    int rc = run_item_task(r->s, run_item_at(r->items, r->per, index), &d,
                           msg, msglen);
    memcpy(data, &d, sizeof d);
    return rc;
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

static void summary(struct run *r, int interrupted)
{
    const uint64_t *n = r->b.n;
    uint64_t good = n[RUN_OK] + n[RUN_UNCHANGED];
    double wall_ms = cmd_now_ms() - r->b.t0;
    double ips = wall_ms > 0 ? (double)good * 1000.0 / wall_ms : 0.0;

    struct cmd_json *j = batch_summary_begin(&r->b, 0x1f);
    if (r->s->o.shard.n)
        cmd_json_int(j, "other_shards", (long long)r->list.other_shards);
    cmd_json_int(j, "downloaded", (long long)r->downloaded);
    cmd_json_int(j, "not_modified", (long long)r->not_modified);
    cmd_json_int(j, "transformed", (long long)r->transformed);
    cmd_json_int(j, "bytes", (long long)r->bytes);
    cmd_json_num(j, "images_per_s", ips);
    wall_ms = batch_summary_end(&r->b, interrupted);

    char cut[48] = "";
    if (n[RUN_INTERRUPTED])
        snprintf(cut, sizeof cut, ", %" PRIu64 " interrupted",
                 n[RUN_INTERRUPTED]);
    cmd_human(r->s->o.quiet && !n[RUN_FAILED],
            "run: %" PRIu64 " ok, %" PRIu64 " unchanged, %" PRIu64
            " failed%s, %" PRIu64 " skipped; %" PRIu64 " downloaded, %" PRIu64
            " not modified; in %.2f s (%.1f images/s)%s\n", n[RUN_OK],
            n[RUN_UNCHANGED], n[RUN_FAILED], cut, n[RUN_SKIPPED],
            r->downloaded, r->not_modified, wall_ms / 1e3, ips,
            interrupted ? ", interrupted" : "");
}

/* Sets up, runs both stages, reports; returns the exit code. */
static int run_all(struct run *r)
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
        .task = task,
        .ctx = r,
        .results = r->results,
        .done = on_result,
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
    fo.done = on_fetched;
    fo.progress = on_fetch_progress;
    fo.ctx = r;
    fo.stop = &cmd_stop;
    int prc, frc = run_loop(r, &fo, &prc, msg, sizeof msg);
    ib_pool_free(r->pool);
    r->pool = NULL;
    /* a stop leaves landed files the pool never started: each still gets
     * its report line */
    for (size_t i = 0; i < r->nslots; i++) {
        if (r->pend[i].reported)
            continue;
        struct outcome o = {.status = RUN_SKIPPED, .error = "interrupted",
                            .transform_ms = -1};
        report(r, &r->pend[i], r->pend[i].url, &o);
    }
    summary(r, cmd_stop != 0);

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

int cmd_run(int argc, char **argv)
{
    struct run_settings s;
    struct run r;
    int rc = run_settings_parse(&s, argc, argv, usage_line, about);

    if (rc >= 0) {
        run_settings_release(&s);
        return rc;
    }
    memset(&r, 0, sizeof r);
    r.s = &s;
    r.per = render_per(&s.img);
    run_dirs_init(&r.d);
    r.journal.fd = -1;   /* closed, should run_all stop before opening it */
    if (run_list_read(&r.list, argv[optind], &s.o.shard)) {
        run_settings_release(&s);
        return EXIT_FATAL;
    }
    run_list_plan(&r.list, &s);
    rc = s.dry_run ? run_dry(&s, &r.list) : run_all(&r);

    batch_exit(&r.b, 1, -1);   /* closes the report, if run_all did not */
    run_journal_close(&r.journal, NULL, 0);
    run_names_release(&r.names);
    for (size_t i = 0; i < r.nslots; i++) {
        free(r.pend[i].url);
        free(r.pend[i].dl);
        free(r.pend[i].out);
    }
    free(r.pend);
    free(r.results);
    if (r.items)
        munmap(r.items, (r.list.n ? r.list.n : 1) * run_item_size(r.per));
    run_list_release(&r.list);
    run_dirs_release(&r.d);
    run_settings_release(&s);
    return rc;
}
