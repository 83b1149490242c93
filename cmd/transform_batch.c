/*
 * cmd/transform_batch.c: the batch around transform's per-item step
 * (cmd/transform.c). Reads top-down: the operands' checks; the walk,
 * which names every rendition and opens the recipe record; the plan,
 * which reports what fails or is up to date and queues the rest; the
 * run (OUT locked, killed runs' temp files swept, the queue on the
 * pool, the items never started reported); --dry-run from the same walk.
 */
#include "cmd/transform.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME TRANSFORM_NAME

int transform_check_inputs(const struct transform_settings *s, int argc,
                           char **argv, int first)
{
    const struct batch_opts *o = &s->o;
    for (int i = first; i < argc; i++) {
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
    if (cmd_log_check(NAME, o->oo.log, o->report, argv + first,
                      argc - first, o->out, NULL))
        return EXIT_USAGE;
    return -1;
}

void transform_inject_fault(const char *fault, const char *path)
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

/* The shared part of a walk: inputs, names, renditions, recipe record. */
static int walk_all(struct transform_ctx *c, struct walk *w, int argc,
                    char **argv, int first, char *msg, size_t msglen)
{
    const struct transform_settings *s = c->s;
    walk_init(w, s->o.out, s->img.eopts.format);
    w->formats = s->img.formats;
    w->nformats = s->img.nformats;
    for (int i = first; i < argc; i++)
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

/* Items that failed while walking, or whose outputs are all up to date,
 * are reported now; the rest become pool tasks (c->todo). */
static void plan(struct transform_ctx *c, struct walk *w)
{
    const struct transform_settings *s = c->s;
    for (size_t i = 0; i < w->n; i++) {
        struct walk_item *it = &w->items[i];
        struct render_out *o = render_outs(&c->rp, i);
        size_t fresh = 0;
        if (!cmd_shard_has(&s->o.shard, it->rel)) {
            c->other_shards++;
            continue;
        }
        if (it->error) {
            transform_report_item(c, it, BATCH_FAILED, it->error);
            continue;
        }
        for (size_t k = 0; k < c->rp.per; k++) {
            o[k].fresh = !s->o.force &&
                         cmd_stamps_fresh(c->stamps, it->path, o[k].out,
                                          o[k].name, o[k].recipe);
            fresh += o[k].fresh != 0;
        }
        if (fresh == c->rp.per) {
            transform_report_item(c, it, BATCH_SKIPPED, NULL);
            if (s->o.verbose && c->rp.per == 1)
                fprintf(stderr, "skipped '%s': '%s' is up to date\n",
                        it->path, o[0].out);
            else if (s->o.verbose)
                fprintf(stderr, "skipped '%s': its %zu renditions are up "
                        "to date\n", it->path, c->rp.per);
        } else {
            c->todo[c->ntodo++] = i;
        }
    }
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
    const struct transform_ctx *c = vctx;
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

/* The queue on the pool; then the tasks a stop left unstarted, each
 * still with its report line. Returns the pool's code. */
static int run_pool(struct transform_ctx *c, struct ib_pool_result *results,
                    size_t *not_run)
{
    struct ib_pool_opts po = {
        .backend = c->s->backend,
        .ntasks = c->ntodo,
        .task = transform_task,
        .ctx = c,
        .results = results,
        .done = transform_done,
        .done_ctx = c,
    };
    batch_pool_opts(&po, &c->s->img, c->s->workers);
    int prc = ib_pool_run(&po);
    batch_clear_progress(&c->b);
    *not_run = 0;
    for (size_t i = 0; i < c->ntodo; i++) {
        if (results[i].state != IB_POOL_NOT_RUN)
            continue;
        ++*not_run;
        transform_report_item(c, &c->items[c->todo[i]], BATCH_SKIPPED,
                              "interrupted");
    }
    if (prc && prc != IB_POOL_EINTR)
        fprintf(stderr, "imgbatch transform: %s\n", ib_pool_strerror(prc));
    return prc;
}

int transform_run(struct transform_ctx *c, int argc, char **argv, int first)
{
    const struct transform_settings *s = c->s;
    struct cmd_lock lock = {-1, -1, 0};
    struct ib_pool_result *results = NULL;
    struct walk w;
    char msg[256];
    int rc = EXIT_FATAL;

    int out_fd = cmd_out_open(NAME, s->o.out);
    if (out_fd < 0 || cmd_lock_take(&lock, NAME, out_fd, s->o.out,
                                    &s->o.shard, s->o.oo.wait_lock,
                                    s->o.quiet))
        goto out;
    if (batch_start(&c->b, NAME, &s->o))
        goto out;
    int walked = walk_all(c, &w, argc, argv, first, msg, sizeof msg);
    c->out = (struct ib_out){.root = out_fd, .shown = s->o.out,
                             .no_fsync = s->o.oo.no_fsync};
    c->fault = getenv("IMGBATCH_TEST_FAULT");
    c->todo = malloc((w.n ? w.n : 1) * sizeof *c->todo);
    results = calloc(w.n ? w.n : 1, sizeof *results);
    if (walked || !c->todo || !results) {
        fprintf(stderr, "imgbatch transform: %s\n",
                walked ? msg : "out of memory");
        cmd_stamps_close(c->stamps, NULL, 0);
        batch_exit(&c->b, 1, -1);
        goto out_walk;
    }
    /* temp files of killed runs: all of them when OUT is ours alone,
     * else only this shard's (other shards may be writing theirs) */
    ib_transform_sweep_temps(&c->out, lock.exclusive ? NULL : shard_owns,
                             c);
    plan(c, &w);

    size_t not_run;
    int prc = run_pool(c, results, &not_run);
    int interrupted = cmd_stop != 0 || prc == IB_POOL_EINTR;
    transform_summary(c, not_run, w.not_images, interrupted);
    int fatal = prc && prc != IB_POOL_EINTR;
    if (cmd_stamps_close(c->stamps, msg, sizeof msg)) {
        fprintf(stderr, "imgbatch transform: %s\n", msg);
        fatal = 1;
    }
    rc = batch_exit(&c->b, fatal, -1);
out_walk:
    render_plan_release(&c->rp);
    free(results);
    free(c->todo);
    walk_release(&w);
out:
    cmd_lock_release(&lock);
    if (out_fd >= 0)
        close(out_fd);
    return rc;
}

int transform_dry_run(struct transform_ctx *c, int argc, char **argv,
                      int first)
{
    const struct transform_settings *s = c->s;
    struct walk w;
    char msg[256];
    size_t make = 0, fresh = 0, failed = 0;

    int rc = EXIT_FATAL;
    if (walk_all(c, &w, argc, argv, first, msg, sizeof msg)) {
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
