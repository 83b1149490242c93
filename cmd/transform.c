/*
 * cmd/transform.c: imgbatch transform [OPTIONS] INPUT...
 *
 * Reads top-down: its own options (the common and image ones come from
 * cmd/batch.h and cmd/image_opts.c), the per-item step (the task a worker
 * runs, the result the parent turns into a report line), its report
 * fields and summary, then the command itself. Options and the op
 * pipeline are checked before any file is touched; the walk, the plan and
 * the pool run are in cmd/transform_batch.c.
 */
#include "cmd/transform.h"
#include "transform/transform.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NAME TRANSFORM_NAME

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

static int own_option(void *ctx, int c, const char *v)
{
    static const char *const engines[] = {"procs", "omp", "serial"};
    static const enum ib_pool_backend backends[] = {
        IB_POOL_FORK, IB_POOL_OPENMP, IB_POOL_SERIAL};
    struct transform_settings *s = ctx;

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
static int parse_args(int argc, char **argv, struct transform_settings *s)
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
    /* checked before anything is touched */
    rc = transform_check_inputs(s, argc, argv, optind);
    if (rc >= 0)
        return rc;
    if (render_check(NAME, &s->img, 1))
        return EXIT_USAGE;
    if (s->dry_run && (o->report || o->oo.log))
        return cmd_usage_error(NAME, "--dry-run writes nothing: no %s",
                               o->report ? "--report" : "--log");
    return -1;
}

/* What a worker hands back: the sizes, and each rendition's outcome. */
struct payload {
    uint32_t in_w, in_h, out_w, out_h;
    struct ib_rendition_result rr[IB_RENDITIONS_MAX];
};
_Static_assert(sizeof(struct payload) <= IB_POOL_DATALEN, "payload size");

/* Runs in a worker: one item, all its renditions from one decode; each
 * one written is stamped, even when a sibling failed. */
int transform_task(void *vctx, size_t index, void *data, char *msg,
                   size_t msglen)
{
    const struct transform_ctx *c = vctx;
    size_t i = c->todo[index];
    const struct walk_item *it = &c->items[i];
    const struct render_out *o = render_outs(&c->rp, i);
    struct ib_rendition r[IB_RENDITIONS_MAX];
    struct ib_transform_result res;
    struct payload pl;

    transform_inject_fault(c->fault, it->path);
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

static void show_progress(struct transform_ctx *c)
{
    const uint64_t *n = c->b.n;
    batch_progress(&c->b, 0, "%" PRIu64 "/%zu done, %" PRIu64 " failed, "
                   "%.1f s", n[BATCH_OK] + n[BATCH_FAILED], c->ntodo,
                   n[BATCH_FAILED], (cmd_now_ms() - c->b.t0) / 1e3);
}

/* pl: the worker's payload, NULL when it sent none. */
static void report_item(struct transform_ctx *c, const struct walk_item *it,
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

void transform_report_item(struct transform_ctx *c,
                           const struct walk_item *it, enum batch_status st,
                           const char *error)
{
    report_item(c, it, st, error, NULL, -1);
}

/*
 * -v: one line per item (the man page's contract), naming every output
 * made with its size, and how many of its renditions were up to date.
 */
static void say_made(const struct transform_ctx *c,
                     const struct walk_item *it, const struct render_out *o,
                     const struct payload *pl)
{
    size_t fresh = 0;
    const char *sep = " -> ";

    fprintf(stderr, "ok '%s'", it->path);
    for (size_t k = 0; k < c->rp.per; k++) {
        if (pl->rr[k].status != 0) {
            fresh++;
            continue;
        }
        fprintf(stderr, "%s'%s' (%" PRIu32 "x%" PRIu32 ")", sep, o[k].out,
                pl->rr[k].width, pl->rr[k].height);
        sep = ", ";
    }
    if (fresh)
        fprintf(stderr, "; %zu up to date", fresh);
    fputc('\n', stderr);
}

/* In the parent, as each result arrives. */
void transform_done(void *vctx, size_t index, const struct ib_pool_result *r)
{
    struct transform_ctx *c = vctx;
    struct walk_item *it = &c->items[c->todo[index]];
    const struct render_out *o = render_outs(&c->rp, c->todo[index]);
    double ms = r->end_ms - r->start_ms;
    struct payload pl;

    batch_clear_progress(&c->b);
    memcpy(&pl, r->data, sizeof pl);
    if (r->state == IB_POOL_DONE && r->status == 0) {
        report_item(c, it, BATCH_OK, NULL, &pl, ms);
        if (c->s->o.verbose)
            say_made(c, it, o, &pl);
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

void transform_summary(struct transform_ctx *c, size_t not_run,
                       size_t not_images, int interrupted)
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

int cmd_transform(int argc, char **argv)
{
    struct transform_settings s;
    struct transform_ctx c;

    memset(&s, 0, sizeof s);
    batch_opts_init(&s.o);
    s.backend = IB_POOL_FORK;
    if (cmd_image_init(&s.img))
        return EXIT_FATAL;
    int rc = parse_args(argc, argv, &s);
    if (rc < 0) {
        memset(&c, 0, sizeof c);
        c.s = &s;
        rc = s.dry_run ? transform_dry_run(&c, argc, argv, optind)
                       : transform_run(&c, argc, argv, optind);
    }
    cmd_image_release(&s.img);
    return rc;
}
