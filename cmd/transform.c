/*
 * cmd/transform.c: imgbatch transform [OPTIONS] INPUT...
 *
 * Reads top-down: options and the op pipeline are parsed and validated
 * before any file is touched; inputs are walked into a sorted item list;
 * items whose output exists are skipped (unless --force); the rest run on
 * the pool; the parent writes one report line per item as results arrive,
 * then the summary, and picks the exit code.
 */
#include "cmd/cmd.h"
#include "cmd/recipe.h"
#include "cmd/shard.h"
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

enum {   /* below CMD_IMAGE_OPT_FIRST: the image options are shared */
    OPT_ENGINE = 256, OPT_PROCS, OPT_THREADS, OPT_REPORT, OPT_FORCE,
    OPT_PROGRESS, OPT_SHARD,
};

static const struct cmd_option fixed_options[] = {
    {"out", required_argument, 'o', "DIR", "output folder (required)"},
    {"engine", required_argument, OPT_ENGINE, "E",
     "procs (default), omp or serial"},
    {"procs", required_argument, OPT_PROCS, "N",
     "worker processes (default: online CPUs)"},
    {"threads", required_argument, OPT_THREADS, "N",
     "OpenMP threads for --engine omp (default: online CPUs)"},
    {"report", required_argument, OPT_REPORT, "FILE",
     "JSON Lines: one object per item, then a summary"},
    {"force", no_argument, OPT_FORCE, NULL,
     "redo items whose output is up to date"},
    {"shard", required_argument, OPT_SHARD, "K/N", CMD_SHARD_HELP},
    {"quiet", no_argument, 'q', NULL, "errors only"},
    {"verbose", no_argument, 'v', NULL, "a line per item"},
    {"progress", required_argument, OPT_PROGRESS, "WHEN",
     "auto (default), always or never"},
    {"help", no_argument, 'h', NULL, "this help"},
};
#define NFIXED (sizeof fixed_options / sizeof fixed_options[0])
#define MAXOPTS 64

static const char usage_line[] = "imgbatch transform [OPTIONS] INPUT...";
static const char about[] =
    "Transforms JPEG and PNG files (format from content, never the name).\n"
    "INPUTs are files or folders (recursed). Each output goes to OUT with\n"
    "the input's path relative to its root, its extension set by --format;\n"
    "it is written to a temp name and renamed when complete, and carries\n"
    "its input's mtime and its recipe (the options that shape its bytes):\n"
    "a rerun skips outputs whose input and recipe are unchanged and redoes\n"
    "the rest. Operations run in the order given.";

/* transform's own options, then the shared image options and ops. */
static void build_options(struct cmd_option *opts)
{
    size_t n = 0;
    for (size_t i = 0; i < NFIXED; i++)
        opts[n++] = fixed_options[i];
    n = cmd_out_options(opts, n, MAXOPTS);
    cmd_image_options(opts, n, MAXOPTS);
}

struct settings {
    const char *out;
    enum ib_pool_backend backend;
    unsigned workers;
    struct cmd_image img;
    const char *report;
    int force, quiet, verbose, progress;
    struct cmd_shard shard;   /* key: the input's path below its root */
    struct cmd_out_opts oo;
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
    struct cmd_report *report;
    size_t ok, failed, not_run, interrupted;
    size_t other_shards;   /* items left to the other --shard copies */
    size_t ntodo;
    double t0, last_progress;   /* cmd_now_ms() */
    int progress_shown;         /* a progress line is on stderr now */
};

/* The progress line (--progress): redrawn at most 5 times a second, and
 * cleared before any other stderr line. */
static void clear_progress(struct ctx *c)
{
    if (c->progress_shown)
        fputs("\r\033[K", stderr);
    c->progress_shown = 0;
}

static void show_progress(struct ctx *c)
{
    double now = cmd_now_ms();
    if (!c->s->progress || now - c->last_progress < 200)
        return;
    c->last_progress = now;
    fprintf(stderr, "\r\033[Ktransform: %zu/%zu done, %zu failed, %.1f s",
            c->ok + c->failed, c->ntodo, c->failed, (now - c->t0) / 1e3);
    c->progress_shown = 1;
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

/* Runs in a worker: one item. On success msg carries the sizes. */
static int task(void *vctx, size_t index, char *msg, size_t msglen)
{
    const struct ctx *c = vctx;
    const struct walk_item *it = &c->items[c->todo[index]];
    struct ib_transform_result r;

    inject_fault(c->fault, it->path);
    const struct cmd_image *img = &c->s->img;
    int rc = ib_transform_file(it->path, &c->out, it->out_name, &img->dopts,
                               img->pipeline, &img->eopts, &r, msg, msglen);
    if (rc)
        return 1;
    cmd_stamps_stamp(c->stamps, it->path, it->out, it->out + it->out_rel,
                     it->recipe);
    snprintf(msg, msglen, "%" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu32,
             r.in_w, r.in_h, r.out_w, r.out_h);
    return 0;
}

static void report_item(struct cmd_report *rep, const struct walk_item *it,
                        const char *status, const char *error,
                        const uint32_t dims[4], double ms)
{
    struct cmd_json j = {0};
    cmd_json_begin(&j);
    cmd_json_str(&j, "input", it->path);
    cmd_json_str(&j, "output", it->out);
    cmd_json_str(&j, "status", status);
    cmd_json_str(&j, "error", error);
    if (dims) {
        cmd_json_int(&j, "width_in", dims[0]);
        cmd_json_int(&j, "height_in", dims[1]);
        cmd_json_int(&j, "width_out", dims[2]);
        cmd_json_int(&j, "height_out", dims[3]);
    }
    cmd_json_num(&j, "ms", ms);
    cmd_json_end(&j);
    cmd_report_write(rep, &j);
    cmd_json_release(&j);
}

/* In the parent, as each result arrives. */
static void done(void *vctx, size_t index, const struct ib_pool_result *r)
{
    struct ctx *c = vctx;
    struct walk_item *it = &c->items[c->todo[index]];
    double ms = r->end_ms - r->start_ms;
    uint32_t d[4];

    clear_progress(c);
    if (r->state == IB_POOL_DONE && r->status == 0 &&
        sscanf(r->msg, "%" SCNu32 " %" SCNu32 " %" SCNu32 " %" SCNu32,
               &d[0], &d[1], &d[2], &d[3]) == 4) {
        c->ok++;
        report_item(c->report, it, "ok", NULL, d, ms);
        if (c->s->verbose)
            fprintf(stderr, "ok '%s' -> '%s' (%" PRIu32 "x%" PRIu32 ")\n",
                    it->path, it->out, d[2], d[3]);
        show_progress(c);
        return;
    }
    if (r->state == IB_POOL_NOT_RUN)
        return;   /* reported after the run, with the others never started */
    /* its worker died mid-write: nobody else writes this output */
    if (r->state == IB_POOL_CRASHED || r->state == IB_POOL_TIMEOUT)
        ib_transform_remove_temps(&c->out, it->out_name);
    if (r->state == IB_POOL_CRASHED && cmd_stop &&
        !strcmp(r->msg, "interrupted")) {
        /* killed at the end of the stop's grace: not the image's fault */
        c->interrupted++;
        report_item(c->report, it, "interrupted", r->msg, NULL, ms);
        return;
    }
    const char *why = r->msg[0] ? r->msg : "failed";
    c->failed++;
    report_item(c->report, it, "failed", why, NULL, ms);
    cmd_item_error(NAME, "transform", it->path, why);
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
    const struct walk_item *it = bsearch(name, c->items, c->nitems,
                                         sizeof *c->items, item_name_cmp);
    return it && cmd_shard_has(&c->s->shard, it->rel);
}

static int parse_engine(const char *v, enum ib_pool_backend *b)
{
    if (!strcmp(v, "procs"))
        *b = IB_POOL_FORK;
    else if (!strcmp(v, "omp"))
        *b = IB_POOL_OPENMP;
    else if (!strcmp(v, "serial"))
        *b = IB_POOL_SERIAL;
    else
        return -1;
    return 0;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct settings *s)
{
    struct cmd_option opts[MAXOPTS];
    const char *v;
    char msg[256];
    int c, threads_set = 0, procs_set = 0;

    build_options(opts);
    while ((c = cmd_getopt(argc, argv, opts, &v)) != -1) {
        switch (c) {
        case 'o': s->out = v; break;
        case 'h':
            cmd_print_help(stdout, usage_line, about, opts);
            return EXIT_ALL_OK;
        case OPT_ENGINE:
            if (parse_engine(v, &s->backend))
                return cmd_usage_error(NAME, "invalid --engine '%s' (procs, "
                                       "omp or serial)", v);
            break;
        case OPT_PROCS:
        case OPT_THREADS:
            if (cmd_parse_uint(v, 1, 1024, &s->workers))
                return cmd_usage_error(NAME, "invalid --%s '%s' (1..1024)",
                                       c == OPT_PROCS ? "procs" : "threads",
                                       v);
            procs_set |= c == OPT_PROCS;
            threads_set |= c == OPT_THREADS;
            break;
        case OPT_REPORT: s->report = v; break;
        case OPT_FORCE: s->force = 1; break;
        case OPT_SHARD:
            if (cmd_shard_parse(&s->shard, v, msg, sizeof msg))
                return cmd_usage_error(NAME, "%s", msg);
            break;
        case 'q': s->quiet = 1; break;
        case 'v': s->verbose = 1; break;
        case OPT_PROGRESS:
            if (!strcmp(v, "auto"))
                s->progress = -1;
            else if (!strcmp(v, "always"))
                s->progress = 1;
            else if (!strcmp(v, "never"))
                s->progress = 0;
            else
                return cmd_usage_error(NAME, "invalid --progress '%s' "
                                       "(auto, always or never)", v);
            break;
        case '?':
            return EXIT_USAGE;
        default: {
            if (!cmd_out_option(&s->oo, c, v))
                break;
            int rc = cmd_image_option(NAME, &s->img, c, v);
            if (rc > 0)
                return rc;
            if (rc < 0)
                return cmd_usage_error(NAME, "unhandled option");
            break;
        }
        }
    }
    if (!s->out)
        return cmd_usage_error(NAME, "missing -o/--out DIR");
    if (optind >= argc)
        return cmd_usage_error(NAME, "no INPUT given");
    if (threads_set && s->backend != IB_POOL_OPENMP)
        return cmd_usage_error(NAME, "--threads needs --engine omp");
    if (procs_set && s->backend != IB_POOL_FORK)
        return cmd_usage_error(NAME, "--procs needs --engine procs");
    if (s->backend == IB_POOL_SERIAL)
        s->workers = 1;
    if (s->progress < 0)
        s->progress = !s->quiet && isatty(2);
    /* checked before anything is touched: outputs must not land among
     * their inputs, nor the report on an input or inside OUT */
    for (int i = optind; i < argc; i++) {
        if (cmd_path_within(argv[i], s->out))
            return cmd_usage_error(NAME, "input '%s' is %s output folder "
                                   "'%s'", argv[i],
                                   cmd_path_within(s->out, argv[i])
                                       ? "the" : "inside the", s->out);
        struct stat st;
        if (s->report && cmd_path_within(s->report, argv[i]))
            return cmd_usage_error(NAME, "--report '%s' %s input '%s'",
                                   s->report,
                                   stat(argv[i], &st) == 0 &&
                                           S_ISDIR(st.st_mode)
                                       ? "is inside"
                                       : "would overwrite",
                                   argv[i]);
    }
    if (s->report && cmd_path_within(s->report, s->out))
        return cmd_usage_error(NAME, "--report '%s' is inside the output "
                               "folder '%s'", s->report, s->out);
    if (cmd_log_check(NAME, s->oo.log, s->report, argv + optind,
                      argc - optind, s->out, NULL))
        return EXIT_USAGE;
    return -1;
}

static void print_summary(const struct settings *s, const struct ctx *c,
                          size_t skipped, size_t not_images, double ms,
                          int interrupted)
{
    double ips = ms > 0 ? (double)c->ok * 1000.0 / ms : 0.0;
    struct cmd_json j = {0};

    cmd_json_begin(&j);
    cmd_json_bool(&j, "summary", 1);
    cmd_json_int(&j, "ok", (long long)c->ok);
    cmd_json_int(&j, "failed", (long long)c->failed);
    cmd_json_int(&j, "skipped", (long long)skipped);
    cmd_json_int(&j, "not_images", (long long)not_images);
    cmd_json_int(&j, "not_run", (long long)c->not_run);
    cmd_json_int(&j, "interrupted_items", (long long)c->interrupted);
    cmd_json_bool(&j, "interrupted", interrupted);
    if (s->shard.n)
        cmd_json_int(&j, "other_shards", (long long)c->other_shards);
    cmd_json_num(&j, "ms", ms);
    cmd_json_num(&j, "images_per_s", ips);
    cmd_json_end(&j);
    cmd_report_write(c->report, &j);
    cmd_json_release(&j);
    cmd_human(s->quiet && !c->failed, "transform: %zu ok, %zu failed, %zu "
              "skipped, %zu not images, in %.2f s (%.1f images/s)%s\n",
              c->ok, c->failed, skipped + c->not_run, not_images,
              ms / 1000.0, ips, interrupted ? ", interrupted" : "");
}

int cmd_transform(int argc, char **argv)
{
    struct settings s;
    struct walk w;
    struct cmd_report report;
    struct ctx c;
    int rc;

    memset(&s, 0, sizeof s);
    s.backend = IB_POOL_FORK;
    s.progress = -1;
    if (cmd_image_init(&s.img))
        return EXIT_FATAL;
    rc = parse_args(argc, argv, &s);
    if (rc >= 0) {
        cmd_image_release(&s.img);
        return rc;
    }

    double t0 = cmd_now_ms();
    struct cmd_lock lock;
    int out_fd = cmd_out_open(NAME, s.out);
    if (out_fd < 0 || cmd_lock_take(&lock, NAME, out_fd, s.out, &s.shard,
                                    s.oo.wait_lock, s.quiet)) {
        if (out_fd >= 0)
            close(out_fd);
        cmd_image_release(&s.img);
        return EXIT_FATAL;
    }
    if (cmd_log_open(NAME, s.oo.log) ||
        cmd_report_open(&report, NAME, s.report)) {
        cmd_lock_release(&lock);
        close(out_fd);
        cmd_image_release(&s.img);
        return EXIT_FATAL;
    }
    walk_init(&w, s.out, s.img.eopts.format == IB_FORMAT_UNKNOWN
                             ? NULL
                             : ib_format_ext(s.img.eopts.format));
    for (int i = optind; i < argc; i++)
        walk_add(&w, argv[i]);
    walk_finish(&w);
    /* the recipe record, for file systems without extended attributes */
    char shard_tag[96] = "";
    if (s.shard.n)
        snprintf(shard_tag, sizeof shard_tag, "-%llu-of-%llu",
                 (unsigned long long)s.shard.k, (unsigned long long)s.shard.n);
    char msg[256], stamps_name[128];
    snprintf(stamps_name, sizeof stamps_name, ".imgbatch-transform%s.tsv",
             shard_tag);

    memset(&c, 0, sizeof c);
    c.s = &s;
    c.out = (struct ib_out){.root = out_fd, .shown = s.out,
                            .no_fsync = s.oo.no_fsync};
    c.items = w.items;
    c.nitems = w.n;
    c.report = &report;
    c.fault = getenv("IMGBATCH_TEST_FAULT");
    c.stamps = cmd_stamps_open(s.out, stamps_name, msg, sizeof msg);
    c.todo = malloc((w.n ? w.n : 1) * sizeof *c.todo);
    if (!c.todo || !c.stamps) {
        fprintf(stderr, "imgbatch transform: %s\n",
                c.stamps ? "out of memory" : msg);
        cmd_stamps_close(c.stamps, NULL, 0);
        free(c.todo);
        walk_release(&w);
        cmd_image_release(&s.img);
        cmd_report_close(&report, NAME);
        cmd_lock_release(&lock);
        close(out_fd);
        return EXIT_FATAL;
    }
    /* temp files of killed runs: all of them when OUT is ours alone,
     * else only this shard's (other shards may be writing theirs) */
    ib_transform_sweep_temps(&c.out, lock.exclusive ? NULL : shard_owns,
                             &c);

    /* Items that failed while walking, or whose output is up to date, are
     * reported now; the rest become pool tasks. */
    size_t ntodo = 0, skipped = 0;
    uint64_t recipe[3];   /* by input format: unknown, JPEG, PNG */
    for (int f = 0; f < 3; f++)
        recipe[f] = cmd_recipe_hash(&s.img,
                                    cmd_recipe_format(&s.img, f));
    for (size_t i = 0; i < w.n; i++) {
        struct walk_item *it = &w.items[i];
        it->recipe = recipe[it->format];
        if (!cmd_shard_has(&s.shard, it->rel)) {
            c.other_shards++;
        } else if (it->error) {
            c.failed++;
            report_item(&report, it, "failed", it->error, NULL, 0.0);
            cmd_item_error(NAME, "transform", it->path, it->error);
        } else if (!s.force &&
                   cmd_stamps_fresh(c.stamps, it->path, it->out,
                                    it->out + it->out_rel, it->recipe)) {
            skipped++;
            report_item(&report, it, "skipped", NULL, NULL, 0.0);
            if (s.verbose)
                fprintf(stderr, "skipped '%s': '%s' is up to date\n",
                        it->path, it->out);
        } else {
            c.todo[ntodo++] = i;
        }
    }

    c.ntodo = ntodo;
    c.t0 = t0;
    struct ib_pool_result *results = calloc(ntodo ? ntodo : 1,
                                            sizeof *results);
    struct ib_pool_opts po = {
        .backend = s.backend,
        .workers = s.workers,
        .ntasks = ntodo,
        .task = task,
        .ctx = &c,
        .results = results,
        .done = done,
        .done_ctx = &c,
        .timeout_ms = s.img.job_timeout_s * 1000u,
        .worker_mem = s.img.worker_mem,
        .stop = &cmd_stop,
        .grace_ms = 5000,
    };
    cmd_catch_signals();
    int prc = results ? ib_pool_run(&po) : IB_POOL_ESYS;
    int interrupted = cmd_stop != 0 || prc == IB_POOL_EINTR;
    clear_progress(&c);
    /* a stop leaves tasks never started: each still gets its report line */
    for (size_t i = 0; results && i < ntodo; i++) {
        if (results[i].state != IB_POOL_NOT_RUN)
            continue;
        c.not_run++;
        report_item(&report, &w.items[c.todo[i]], "skipped", "interrupted",
                    NULL, 0.0);
    }
    if (prc && prc != IB_POOL_EINTR)
        fprintf(stderr, "imgbatch transform: %s\n", ib_pool_strerror(prc));

    print_summary(&s, &c, skipped, w.not_images, cmd_now_ms() - t0,
                  interrupted);
    if (cmd_report_close(&report, NAME) && !prc)
        prc = IB_POOL_ESYS;
    if (cmd_stamps_close(c.stamps, msg, sizeof msg)) {
        fprintf(stderr, "imgbatch transform: %s\n", msg);
        if (!prc)
            prc = IB_POOL_ESYS;
    }

    if (interrupted)
        rc = 128 + cmd_stop;
    else if (prc)
        rc = EXIT_FATAL;
    else
        rc = c.failed ? EXIT_SOME_FAILED : EXIT_ALL_OK;
    if (cmd_log_close(NAME) && rc == EXIT_ALL_OK)
        rc = EXIT_FATAL;
    free(results);
    free(c.todo);
    walk_release(&w);
    cmd_image_release(&s.img);
    cmd_lock_release(&lock);
    close(out_fd);
    return rc;
}
