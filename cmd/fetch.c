/*
 * cmd/fetch.c: imgbatch fetch [OPTIONS] URLS.txt|-
 *
 * Reads options, opens the list and the report, runs ib_fetch_run and
 * turns each finished item into a report line (and a stderr line if it
 * failed), then prints the summary. Interrupted runs report URLs never
 * started as "skipped", and transfers cut short as "interrupted": not
 * failures, so they alone never make the exit code say some failed.
 */
#include "cmd/batch.h"
#include "fetch/fetch.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_MODE = 256 };   /* below the common and download options' */

static const struct cmd_option own_options[] = {
    {"mode", required_argument, OPT_MODE, "MODE",
     "multi (event loop), threads or serial"},
};
#define MAXOPTS 32

static const char usage_line[] = "imgbatch fetch [OPTIONS] URLS.txt|-";
static const char about[] =
    "Downloads each http(s) URL of the list (one per line; blank lines and\n"
    "# comments skipped) into the download folder, named from the URL path,\n"
    "or as the line says: URL<TAB>NAME, NAME a relative path (folders are\n"
    "made; no '..', no leading '/' or '.'), through temp files renamed when\n"
    "complete. A rerun asks the server whether each file changed (ETag,\n"
    "Last-Modified) and keeps it if not.\n"
    "exit: 0 all ok, 1 some failed, 2 usage error, 3 cannot run, 128 + N\n"
    "stopped by signal N.";

struct state {
    struct batch_opts o;
    struct ib_fetch_opts fo;
    struct batch b;
    uint64_t total;   /* URLs in the list, for progress; 0 unknown */
    uint64_t bytes;
    struct ib_fetch_list *list;
    uint64_t other_shards;   /* URLs left to the other --shard copies */
};

/* The list's next URL of this shard; the others are only counted. */
static int next_in_shard(void *ctx, const char **url, const char **name)
{
    struct state *s = ctx;
    int r;
    while ((r = ib_fetch_list_next(s->list, url, name)) > 0 &&
           !cmd_shard_has(&s->o.shard, *url))
        s->other_shards++;
    return r;
}

static void on_done(void *ctx, const struct ib_fetch_item *it)
{
    struct state *s = ctx;
    s->bytes += it->bytes;

    char *hidden;
    const char *url = cmd_url_shown(it->url, &hidden);   /* no password */
    struct cmd_json *j = batch_item_begin(&s->b);
    cmd_json_str(j, "url", url);
    /* a file only where one is on disk for this URL */
    cmd_json_str(j, "file", it->status == IB_FETCH_DONE_OK ||
                                    it->status == IB_FETCH_DONE_UNCHANGED
                                ? it->path
                                : NULL);
    batch_item_fetch(j, it->http, it->bytes, it->attempts, it->ms);
    cmd_json_str(j, "error", it->msg[0] ? it->msg : NULL);
    batch_item_end(&s->b, (enum batch_status)it->status);

    if (it->status == IB_FETCH_DONE_FAILED) {
        batch_clear_progress(&s->b);
        cmd_item_error("fetch", "fetch", url, it->msg);
    } else if (s->o.verbose && it->status != IB_FETCH_DONE_SKIPPED &&
               it->status != IB_FETCH_DONE_INTERRUPTED) {
        batch_clear_progress(&s->b);
        fprintf(stderr, "imgbatch fetch: %s '%s' -> '%s'\n",
                ib_fetch_status_name(it->status), url, it->path);
    }
    free(hidden);
}

static void human_bytes(char *b, size_t n, double v)
{
    static const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(b, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void on_progress(void *ctx, const struct ib_fetch_progress *p)
{
    struct state *s = ctx;
    if (!s->o.progress)
        return;
    double secs = (cmd_now_ms() - s->b.t0) / 1e3;
    char got[32], rate[32], total[32] = "?", wait[48] = "";
    human_bytes(got, sizeof got, (double)p->bytes);
    human_bytes(rate, sizeof rate, secs > 0 ? p->bytes / secs : 0);
    if (s->total)
        snprintf(total, sizeof total, "%llu", (unsigned long long)s->total);
    if (p->waiting)
        snprintf(wait, sizeof wait, ", %u waiting to retry", p->waiting);
    /* the fetch loop paces its progress calls itself */
    batch_progress(&s->b, 1, "%llu/%s done, %s, %s/s, %u in flight%s",
                   (unsigned long long)p->done, total, got, rate,
                   p->in_flight, wait);
}

/* Lines a progress display can count on; 0 if the list is not a file. */
static uint64_t count_urls(const char *path, const struct cmd_shard *shard)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    struct ib_fetch_list *l = ib_fetch_list_new(f);
    uint64_t n = 0;
    const char *url;
    while (l && ib_fetch_list_next(l, &url, NULL) > 0)
        n += (uint64_t)cmd_shard_has(shard, url);
    ib_fetch_list_free(l);
    fclose(f);
    return n;
}

static void summary(struct state *s, int interrupted)
{
    static const char *modes[] = {"multi", "threads", "serial"};
    const struct ib_fetch_opts *o = &s->fo;
    const uint64_t *n = s->b.n;
    struct cmd_json *j = batch_summary_begin(&s->b, 0x1f);
    cmd_json_int(j, "bytes", (long long)s->bytes);
    cmd_json_str(j, "mode", modes[o->mode]);
    cmd_json_int(j, "concurrency", o->mode == IB_FETCH_SERIAL
                                       ? 1 : (long long)o->concurrency);
    if (s->o.shard.n)
        cmd_json_int(j, "other_shards", (long long)s->other_shards);
    double wall_ms = batch_summary_end(&s->b, interrupted);

    char b[32], cut[40] = "", skip[40] = "";
    human_bytes(b, sizeof b, (double)s->bytes);
    if (n[BATCH_INTERRUPTED])
        snprintf(cut, sizeof cut, ", %llu interrupted",
                 (unsigned long long)n[BATCH_INTERRUPTED]);
    if (n[BATCH_SKIPPED])
        snprintf(skip, sizeof skip, ", %llu skipped",
                 (unsigned long long)n[BATCH_SKIPPED]);
    /* to --log always; to stderr unless -q */
    cmd_human(s->o.quiet, "fetch: %llu ok, %llu unchanged, %llu failed%s%s, "
              "%s in %.1f s\n", (unsigned long long)n[BATCH_OK],
              (unsigned long long)n[BATCH_UNCHANGED],
              (unsigned long long)n[BATCH_FAILED], cut, skip, b,
              wall_ms / 1e3);
}

static int own_option(void *ctx, int c, const char *v)
{
    struct state *s = ctx;
    static const char *const modes[] = {"multi", "threads", "serial"};
    if (c != OPT_MODE)
        return cmd_fetch_option("fetch", &s->fo, c, v);
    for (int m = 0; m < 3; m++)
        if (!strcmp(v, modes[m])) {
            s->fo.mode = (enum ib_fetch_mode)m;
            return 0;
        }
    return cmd_usage_error("fetch", "invalid --mode '%s' (multi, threads "
                           "or serial)", v);
}

int cmd_fetch(int argc, char **argv)
{
    struct cmd_option options[MAXOPTS];
    struct state s;
    memset(&s, 0, sizeof s);

    batch_opts_init(&s.o);
    cmd_fetch_opts_init(&s.fo);
    struct cmd_lock lock = {-1, -1, 0};
    int out_fd = -1;
    batch_options(options, MAXOPTS, own_options, 1, "fetch", 1, 0,
                  "download folder (./downloads)");
    int rc = batch_parse(argc, argv, options, &s.o, usage_line, about,
                         own_option, &s);
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return cmd_usage_error("fetch", optind >= argc
                                            ? "no URL list given"
                                            : "one URL list only");
    const char *list_path = argv[optind];
    const char *out = s.o.out ? s.o.out : "downloads";
    const char *report = s.o.report;
    /* checked before anything is touched */
    if (report && strcmp(list_path, "-") &&
        cmd_path_within(report, list_path))
        return cmd_usage_error("fetch", "--report '%s' would overwrite the "
                               "URL list", report);
    if (report && cmd_path_within(report, out))
        return cmd_usage_error("fetch", "--report '%s' is inside the output "
                               "folder '%s'", report, out);
    if (cmd_log_check("fetch", s.o.oo.log, report, &argv[optind], 1, out,
                      NULL))
        return EXIT_USAGE;

    FILE *f = strcmp(list_path, "-") ? fopen(list_path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "imgbatch fetch: cannot read '%s': %s\n", list_path,
                strerror(errno));
        return EXIT_FATAL;
    }
    rc = EXIT_FATAL;
    struct ib_fetch_list *l = ib_fetch_list_new(f);
    if (!l) {
        fprintf(stderr, "imgbatch fetch: out of memory\n");
        goto out;
    }
    /* locked before anything in it is swept or written */
    out_fd = cmd_out_open("fetch", out);
    if (out_fd < 0 || cmd_lock_take(&lock, "fetch", out_fd, out, &s.o.shard,
                                    s.o.oo.wait_lock, s.o.quiet))
        goto out;
    if (s.o.progress)
        s.total = count_urls(list_path, &s.o.shard);

    struct ib_fetch_opts *o = &s.fo;
    o->out_dir = out;
    o->no_fsync = s.o.oo.no_fsync;
    o->force = s.o.force;
    o->shared_dir = !lock.exclusive;   /* shards sharing -o: not ours alone */
    s.list = l;
    o->next = next_in_shard;
    o->next_ctx = &s;
    o->done = on_done;
    o->progress = on_progress;
    o->ctx = &s;
    o->stop = &cmd_stop;
    /*
     * One write per stderr line, not one per byte (stderr is unbuffered
     * and cmd_item_error prints byte by byte): 50,000 URLs to a dead host
     * are 50,000 lines.
     */
    setvbuf(stderr, NULL, _IOLBF, BUFSIZ);
    if (batch_start(&s.b, "fetch", &s.o))
        goto out;
    char msg[256];
    int frc = ib_fetch_run(o, msg, sizeof msg);
    /* the renames are durable once the folder is: once per batch, not
     * per file, which cost the event loop a millisecond each */
    if (!s.o.oo.no_fsync)
        fsync(out_fd);
    summary(&s, cmd_stop != 0);
    if (frc && !cmd_stop)
        fprintf(stderr, "imgbatch fetch: %s\n", msg);
    rc = batch_exit(&s.b, frc != 0, -1);
out:
    cmd_lock_release(&lock);
    if (out_fd >= 0)
        close(out_fd);
    ib_fetch_list_free(l);
    if (f != stdin)
        fclose(f);
    return rc;
}
