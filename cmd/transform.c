/*
 * cmd/transform.c: imgbatch transform [OPTIONS] INPUT...
 *
 * Reads top-down: options and the op pipeline are parsed and validated
 * before any file is touched; inputs are walked into a sorted item list;
 * items whose output exists are skipped (unless --force); the rest run on
 * the pool; the parent writes one report line per item as results arrive,
 * then the summary, and picks the exit code.
 */
#include "cmd/batch.h"
#include "cmd/recipe.h"
#include "cmd/render.h"
#include "cmd/walk.h"
#include "pool/pool.h"
#include "transform/transform.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME "transform"

enum {   /* below the common and image options' codes */
    OPT_ENGINE = 256, OPT_PROCS, OPT_THREADS, OPT_DRY_RUN,
};

static const struct cmd_option own_options[] = {
    {"engine", required_argument, OPT_ENGINE, "E",
     "procs (default), omp or serial"},
    {"procs", required_argument, OPT_PROCS, "N",
     "worker processes (default: online CPUs)"},
    {"threads", required_argument, OPT_THREADS, "N",
     "OpenMP threads for --engine omp (default: online CPUs)"},
    {"dry-run", no_argument, OPT_DRY_RUN, NULL,
     "list what would be made and why, what is up to date, what would "
     "fail; touch nothing"},
};
#define NOWN (sizeof own_options / sizeof own_options[0])
#define MAXOPTS 64

static const char usage_line[] = "imgbatch transform [OPTIONS] INPUT...";
static const char about[] =
    "Transforms JPEG, PNG, WebP and AVIF files (format from content, never\n"
    "the name). INPUTs are files or folders (recursed). Each output goes to\n"
    "OUT with the input's path relative to its root, its extension set by\n"
    "--format, or as --name says; --size/--width and a list of --format make\n"
    "several renditions from one decode (at most 16 per input);\n"
    "it is written to a temp name and renamed when complete, and carries\n"
    "its input's mtime and its recipe (the options that shape its bytes):\n"
    "a rerun skips outputs whose input and recipe are unchanged and redoes\n"
    "the rest. Operations run in the order given.";

struct settings {
    struct batch_opts o;      /* shard key: the input's path below its root */
    enum ib_pool_backend backend;
    unsigned workers;
    int procs_set, threads_set;
    int dry_run;
    struct cmd_image img;
};

/* What a task needs; read-only while the pool runs. */
struct ctx {
    const struct settings *s;
    struct ib_out out;        /* OUT's fd, inherited by the workers */
    struct walk_item *items;
    size_t nitems;
    size_t *todo;   /* pool task index -> item index */
    const char *fault;   /* test-only: IMGBATCH_TEST_FAULT */
    struct cmd_stamps *stamps;   /* which recipe made each output */
    struct render_plan rp;       /* each item's renditions */
    struct batch b;
    size_t other_shards;   /* items left to the other --shard copies */
    size_t ntodo;
};

static void show_progress(struct ctx *c)
{
    const uint64_t *n = c->b.n;
    batch_progress(&c->b, 0, "%" PRIu64 "/%zu done, %" PRIu64 " failed, "
                   "%.1f s", n[BATCH_OK] + n[BATCH_FAILED], c->ntodo,
                   n[BATCH_FAILED], (cmd_now_ms() - c->b.t0) / 1e3);
}

/*
 * Test-only fault injection so the crash and timeout handling can be
 * exercised through the CLI: IMGBATCH_TEST_FAULT=crash:SUBSTR or
 * hang:SUBSTR makes the item whose input path contains SUBSTR crash or
 * hang in its worker.
 */
static void inject_fault(const char *fault, const char *path)
{
    if (!fault)
        return;
    const char *colon = strchr(fault, ':');
    if (!colon || !strstr(path, colon + 1))
        return;
    if (!strncmp(fault, "crash:", 6))
        raise(SIGSEGV);
    if (!strncmp(fault, "hang:", 5))
        for (;;)
            pause();
}

/* What a worker hands back: the sizes, and each rendition's outcome. */
struct payload {
    uint32_t in_w, in_h, out_w, out_h;
    struct ib_rendition_result rr[IB_RENDITIONS_MAX];
};
_Static_assert(sizeof(struct payload) <= IB_POOL_DATALEN, "payload size");

/* Runs in a worker: one item, all its renditions from one decode; each
 * one written is stamped, even when a sibling failed. */
static int task(void *vctx, size_t index, void *data, char *msg,
                size_t msglen)
{
    const struct ctx *c = vctx;
    size_t i = c->todo[index];
    const struct walk_item *it = &c->items[i];
    const struct render_out *o = render_outs(&c->rp, i);
    struct ib_rendition r[IB_RENDITIONS_MAX];
    struct ib_transform_result res;
    struct payload pl;

    inject_fault(c->fault, it->path);
    const struct cmd_image *img = &c->s->img;
    memset(&pl, 0, sizeof pl);
    render_requests(&c->rp, i, r);
    int rc = ib_transform_renditions(it->path, &c->out, &img->dopts,
                                     img->pipeline, r, c->rp.per, &res,
                                     pl.rr, msg, msglen);
    for (size_t k = 0; k < c->rp.per; k++)
        if (pl.rr[k].status == 0)
            cmd_stamps_stamp(c->stamps, it->path, o[k].out, o[k].name,
                             o[k].recipe);
    pl.in_w = res.in_w;
    pl.in_h = res.in_h;
    pl.out_w = res.out_w;
    pl.out_h = res.out_h;
    memcpy(data, &pl, sizeof pl);
    return rc ? 1 : 0;
}

/* pl: the worker's payload, NULL when it sent none. */
static void report_item(struct ctx *c, const struct walk_item *it,
                        enum batch_status st, const char *error,
                        const struct payload *pl, double ms)
{
    size_t i = (size_t)(it - c->items);
    struct cmd_json *j = batch_item_begin(&c->b);
    cmd_json_str(j, "input", it->path);
    cmd_json_str(j, "output", render_outs(&c->rp, i)[0].out);
    cmd_json_str(j, "error", error);
    if (pl && st == BATCH_OK) {
        cmd_json_int(j, "width_in", pl->in_w);
        cmd_json_int(j, "height_in", pl->in_h);
        cmd_json_int(j, "width_out", pl->out_w);
        cmd_json_int(j, "height_out", pl->out_h);
    }
    if (ms >= 0)
        cmd_json_num(j, "transform_ms", ms);
    else
        cmd_json_null(j, "transform_ms");
    if (render_active(&c->s->img))
        render_report(&c->rp, i, pl ? pl->rr : NULL,
                      st == BATCH_FAILED && ms >= 0 ? "failed" : "not_run",
                      j);
    batch_item_end(&c->b, st);
    if (st == BATCH_FAILED) {
        batch_clear_progress(&c->b);
        cmd_item_error(NAME, "transform", it->path, error);
    }
}

/* In the parent, as each result arrives. */
static void done(void *vctx, size_t index, const struct ib_pool_result *r)
{
    struct ctx *c = vctx;
    struct walk_item *it = &c->items[c->todo[index]];
    const struct render_out *o = render_outs(&c->rp, c->todo[index]);
    double ms = r->end_ms - r->start_ms;
    struct payload pl;

    batch_clear_progress(&c->b);
    memcpy(&pl, r->data, sizeof pl);
    if (r->state == IB_POOL_DONE && r->status == 0) {
        report_item(c, it, BATCH_OK, NULL, &pl, ms);
        if (c->s->o.verbose)
            fprintf(stderr, "ok '%s' -> '%s' (%" PRIu32 "x%" PRIu32 ")\n",
                    it->path, o[0].out, pl.out_w, pl.out_h);
        show_progress(c);
        return;
    }
    if (r->state == IB_POOL_NOT_RUN)
        return;   /* reported after the run, with the others never started */
    /* its worker died mid-write: nobody else writes these outputs */
    for (size_t k = 0; k < c->rp.per; k++)
        if (r->state == IB_POOL_CRASHED || r->state == IB_POOL_TIMEOUT)
            ib_transform_remove_temps(&c->out, o[k].name);
    if (r->state == IB_POOL_CRASHED && cmd_stop &&
        !strcmp(r->msg, "interrupted")) {
        /* killed at the end of the stop's grace: not the image's fault */
        report_item(c, it, BATCH_INTERRUPTED, r->msg, NULL, ms);
        return;
    }
    report_item(c, it, BATCH_FAILED, r->msg[0] ? r->msg : "failed",
                r->state == IB_POOL_DONE ? &pl : NULL, ms);
    show_progress(c);
}

static int item_name_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct walk_item *)elem)->out_name);
}

/*
 * For a --shard copy's start-up sweep: is output name one of this copy's?
 * Items are sorted by out, so by out_name too (one prefix).
 */
static int shard_owns(void *vctx, const char *name)
{
    const struct ctx *c = vctx;
    if (render_active(&c->s->img)) {
        /* names no longer follow the items' order: a scan, for the few
         * temp files a killed run leaves */
        for (size_t k = 0; k < c->nitems * c->rp.per; k++)
            if (!strcmp(c->rp.v[k].name, name))
                return cmd_shard_has(&c->s->o.shard,
                                     c->items[k / c->rp.per].rel);
        return 0;
    }
    const struct walk_item *it = bsearch(name, c->items, c->nitems,
                                         sizeof *c->items, item_name_cmp);
    return it && cmd_shard_has(&c->s->o.shard, it->rel);
}

static int own_option(void *ctx, int c, const char *v)
{
    static const char *const engines[] = {"procs", "omp", "serial"};
    static const enum ib_pool_backend backends[] = {
        IB_POOL_FORK, IB_POOL_OPENMP, IB_POOL_SERIAL};
    struct settings *s = ctx;

    switch (c) {
    case OPT_ENGINE:
        for (int i = 0; i < 3; i++)
            if (!strcmp(v, engines[i])) {
                s->backend = backends[i];
                return 0;
            }
        return cmd_usage_error(NAME, "invalid --engine '%s' (procs, omp or "
                               "serial)", v);
    case OPT_DRY_RUN:
        s->dry_run = 1;
        return 0;
    case OPT_PROCS:
    case OPT_THREADS:
        if (cmd_parse_uint(v, 1, 1024, &s->workers))
            return cmd_usage_error(NAME, "invalid --%s '%s' (1..1024)",
                                   c == OPT_PROCS ? "procs" : "threads", v);
        s->procs_set |= c == OPT_PROCS;
        s->threads_set |= c == OPT_THREADS;
        return 0;
    }
    return cmd_image_option(NAME, &s->img, c, v);
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct settings *s)
{
    struct cmd_option opts[MAXOPTS];
    const struct batch_opts *o = &s->o;

    batch_options(opts, MAXOPTS, own_options, NOWN, NAME, 0, 2,
                  "output folder (required)");
    int rc = batch_parse(argc, argv, opts, &s->o, usage_line, about,
                         own_option, s);
    if (rc >= 0)
        return rc;
    if (!o->out)
        return cmd_usage_error(NAME, "missing -o/--out DIR");
    if (optind >= argc)
        return cmd_usage_error(NAME, "no INPUT given");
    if (s->threads_set && s->backend != IB_POOL_OPENMP)
        return cmd_usage_error(NAME, "--threads needs --engine omp");
    if (s->procs_set && s->backend != IB_POOL_FORK)
        return cmd_usage_error(NAME, "--procs needs --engine procs");
    if (s->backend == IB_POOL_SERIAL)
        s->workers = 1;
    /* checked before anything is touched: outputs must not land among
     * their inputs, nor the report on an input or inside OUT */
    for (int i = optind; i < argc; i++) {
        if (cmd_path_within(argv[i], o->out))
            return cmd_usage_error(NAME, "input '%s' is %s output folder "
                                   "'%s'", argv[i],
                                   cmd_path_within(o->out, argv[i])
                                       ? "the" : "inside the", o->out);
        struct stat st;
        if (o->report && cmd_path_within(o->report, argv[i]))
            return cmd_usage_error(NAME, "--report '%s' %s input '%s'",
                                   o->report,
                                   stat(argv[i], &st) == 0 &&
                                           S_ISDIR(st.st_mode)
                                       ? "is inside"
                                       : "would overwrite",
                                   argv[i]);
    }
    if (o->report && cmd_path_within(o->report, o->out))
        return cmd_usage_error(NAME, "--report '%s' is inside the output "
                               "folder '%s'", o->report, o->out);
    if (cmd_log_check(NAME, o->oo.log, o->report, argv + optind,
                      argc - optind, o->out, NULL))
        return EXIT_USAGE;
    if (render_check(NAME, &s->img, 1))
        return EXIT_USAGE;
    if (s->dry_run && (o->report || o->oo.log))
        return cmd_usage_error(NAME, "--dry-run writes nothing: no %s",
                               o->report ? "--report" : "--log");
    return -1;
}

static void summary(struct ctx *c, size_t not_run, size_t not_images,
                    int interrupted)
{
    const uint64_t *n = c->b.n;
    double ms = cmd_now_ms() - c->b.t0;
    double ips = ms > 0 ? (double)n[BATCH_OK] * 1000.0 / ms : 0.0;
    unsigned counts = 1u << BATCH_OK | 1u << BATCH_FAILED |
                      1u << BATCH_SKIPPED | 1u << BATCH_INTERRUPTED;

    struct cmd_json *j = batch_summary_begin(&c->b, counts);
    cmd_json_int(j, "not_images", (long long)not_images);
    cmd_json_int(j, "not_run", (long long)not_run);
    if (c->s->o.shard.n)
        cmd_json_int(j, "other_shards", (long long)c->other_shards);
    cmd_json_num(j, "images_per_s", ips);
    ms = batch_summary_end(&c->b, interrupted);
    cmd_human(c->s->o.quiet && !n[BATCH_FAILED],
              "transform: %" PRIu64 " ok, %" PRIu64 " failed, %" PRIu64
              " skipped, %zu not images, in %.2f s (%.1f images/s)%s\n",
              n[BATCH_OK], n[BATCH_FAILED], n[BATCH_SKIPPED], not_images,
              ms / 1000.0, ips, interrupted ? ", interrupted" : "");
}

/* Walks the inputs: items that failed while walking, or whose output is
 * up to date, are reported now; the rest become pool tasks (c->todo). */
static void plan(struct ctx *c, struct walk *w)
{
    const struct settings *s = c->s;
    for (size_t i = 0; i < w->n; i++) {
        struct walk_item *it = &w->items[i];
        struct render_out *o = render_outs(&c->rp, i);
        size_t fresh = 0;
        if (!cmd_shard_has(&s->o.shard, it->rel)) {
            c->other_shards++;
            continue;
        }
        if (it->error) {
            report_item(c, it, BATCH_FAILED, it->error, NULL, -1);
            continue;
        }
        for (size_t k = 0; k < c->rp.per; k++) {
            o[k].fresh = !s->o.force &&
                         cmd_stamps_fresh(c->stamps, it->path, o[k].out,
                                          o[k].name, o[k].recipe);
            fresh += o[k].fresh != 0;
        }
        if (fresh == c->rp.per) {
            report_item(c, it, BATCH_SKIPPED, NULL, NULL, -1);
            if (s->o.verbose)
                fprintf(stderr, "skipped '%s': '%s' is up to date\n",
                        it->path, o[0].out);
        } else {
            c->todo[c->ntodo++] = i;
        }
    }
}

/* The shared part of a walk: inputs, names, renditions, recipe record. */
static int walk_all(struct ctx *c, struct walk *w, int argc, char **argv,
                    char *msg, size_t msglen)
{
    const struct settings *s = c->s;
    walk_init(w, s->o.out, s->img.eopts.format);
    w->formats = s->img.formats;
    w->nformats = s->img.nformats;
    for (int i = optind; i < argc; i++)
        walk_add(w, argv[i]);
    walk_finish(w);
    c->items = w->items;
    c->nitems = w->n;
    /* the recipe record, for file systems without extended attributes */
    char name[128] = ".imgbatch-transform.tsv";
    if (s->o.shard.n)
        snprintf(name, sizeof name, ".imgbatch-transform-%llu-of-%llu.tsv",
                 (unsigned long long)s->o.shard.k,
                 (unsigned long long)s->o.shard.n);
    c->stamps = cmd_stamps_open(s->o.out, name, msg, msglen);
    if (!c->stamps)
        return -1;
    if (render_plan_make(&c->rp, &s->img, w)) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    return 0;
}

/*
 * --dry-run: what a run would do, one line per rendition on stdout, from
 * the same walk, names and records as a run; nothing is created, locked,
 * swept or written. Exit 1 when some item would fail before decoding.
 */
static int dry_run(struct ctx *c, int argc, char **argv)
{
    const struct settings *s = c->s;
    struct walk w;
    char msg[256];
    size_t make = 0, fresh = 0, failed = 0;

    int rc = EXIT_FATAL;
    if (walk_all(c, &w, argc, argv, msg, sizeof msg)) {
        fprintf(stderr, "imgbatch transform: %s\n", msg);
        goto out;
    }
    for (size_t i = 0; i < w.n; i++) {
        const struct walk_item *it = &w.items[i];
        const struct render_out *o = render_outs(&c->rp, i);
        if (!cmd_shard_has(&s->o.shard, it->rel))
            continue;
        if (it->error) {
            printf("fail  %s: %s\n", it->path, it->error);
            failed++;
            continue;
        }
        for (size_t k = 0; k < c->rp.per; k++) {
            const char *why = s->o.force ? "--force"
                              : cmd_stamps_why(c->stamps, it->path, o[k].out,
                                               o[k].name, o[k].recipe);
            if (why)
                printf("make  %s -> %s (%s)\n", it->path, o[k].out, why);
            else
                printf("keep  %s -> %s (up to date)\n", it->path, o[k].out);
            make += why != NULL;
            fresh += why == NULL;
        }
    }
    printf("dry run: %zu to make, %zu up to date, %zu inputs would fail, "
           "%zu not images%s; nothing written\n", make, fresh, failed,
           w.not_images, s->o.shard.n ? ", the rest for other shards" : "");
    rc = failed ? EXIT_SOME_FAILED : 0;
out:
    cmd_stamps_discard(c->stamps);
    render_plan_release(&c->rp);
    walk_release(&w);
    return rc;
}

int cmd_transform(int argc, char **argv)
{
    struct settings s;
    struct walk w;
    struct ctx c;
    char msg[256];
    int rc;

    memset(&s, 0, sizeof s);
    batch_opts_init(&s.o);
    s.backend = IB_POOL_FORK;
    if (cmd_image_init(&s.img))
        return EXIT_FATAL;
    rc = parse_args(argc, argv, &s);
    if (rc >= 0) {
        cmd_image_release(&s.img);
        return rc;
    }

    struct cmd_lock lock = {-1, -1, 0};
    memset(&c, 0, sizeof c);
    c.s = &s;
    if (s.dry_run) {
        rc = dry_run(&c, argc, argv);
        cmd_image_release(&s.img);
        return rc;
    }
    int out_fd = cmd_out_open(NAME, s.o.out);
    rc = EXIT_FATAL;
    if (out_fd < 0 || cmd_lock_take(&lock, NAME, out_fd, s.o.out,
                                    &s.o.shard, s.o.oo.wait_lock, s.o.quiet))
        goto out;
    if (batch_start(&c.b, NAME, &s.o))
        goto out;
    int walked = walk_all(&c, &w, argc, argv, msg, sizeof msg);
    c.out = (struct ib_out){.root = out_fd, .shown = s.o.out,
                            .no_fsync = s.o.oo.no_fsync};
    c.fault = getenv("IMGBATCH_TEST_FAULT");
    c.todo = malloc((w.n ? w.n : 1) * sizeof *c.todo);
    struct ib_pool_result *results = calloc(w.n ? w.n : 1,
                                            sizeof *results);
    if (walked || !c.todo || !results) {
        fprintf(stderr, "imgbatch transform: %s\n",
                walked ? msg : "out of memory");
        cmd_stamps_close(c.stamps, NULL, 0);
        batch_exit(&c.b, 1, -1);
        goto out_walk;
    }
    /* temp files of killed runs: all of them when OUT is ours alone,
     * else only this shard's (other shards may be writing theirs) */
    ib_transform_sweep_temps(&c.out, lock.exclusive ? NULL : shard_owns,
                             &c);
    plan(&c, &w);

    struct ib_pool_opts po = {
        .backend = s.backend,
        .ntasks = c.ntodo,
        .task = task,
        .ctx = &c,
        .results = results,
        .done = done,
        .done_ctx = &c,
    };
    batch_pool_opts(&po, &s.img, s.workers);
    int prc = ib_pool_run(&po);
    int interrupted = cmd_stop != 0 || prc == IB_POOL_EINTR;
    batch_clear_progress(&c.b);
    /* a stop leaves tasks never started: each still gets its report line */
    size_t not_run = 0;
    for (size_t i = 0; i < c.ntodo; i++) {
        if (results[i].state != IB_POOL_NOT_RUN)
            continue;
        not_run++;
        report_item(&c, &w.items[c.todo[i]], BATCH_SKIPPED, "interrupted",
                    NULL, -1);
    }
    if (prc && prc != IB_POOL_EINTR)
        fprintf(stderr, "imgbatch transform: %s\n", ib_pool_strerror(prc));

    summary(&c, not_run, w.not_images, interrupted);
    int fatal = prc && prc != IB_POOL_EINTR;
    if (cmd_stamps_close(c.stamps, msg, sizeof msg)) {
        fprintf(stderr, "imgbatch transform: %s\n", msg);
        fatal = 1;
    }
    rc = batch_exit(&c.b, fatal, -1);
out_walk:
    render_plan_release(&c.rp);
    free(results);
    free(c.todo);
    walk_release(&w);
out:
    cmd_image_release(&s.img);
    cmd_lock_release(&lock);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}
