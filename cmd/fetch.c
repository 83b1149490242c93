/*
 * cmd/fetch.c: imgbatch fetch [OPTIONS] URLS.txt|-
 *
 * Reads options, opens the list and the report, runs ib_fetch_run and
 * turns each finished item into a report line (and a stderr line if it
 * failed), then prints the summary. Interrupted runs report URLs never
 * started as "skipped", and transfers cut short as "interrupted": not
 * failures, so they alone never make the exit code say some failed.
 */
#include "cmd/cmd.h"
#include "cmd/shard.h"
#include "fetch/fetch.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {   /* below CMD_FETCH_OPT_FIRST: the download options are shared */
    OPT_MODE = 256,
    OPT_REPORT,
    OPT_FORCE,
    OPT_PROGRESS,
    OPT_SHARD,
};

static const struct cmd_option own_options[] = {
    {"out", required_argument, 'o', "DIR", "download folder (./downloads)"},
    {"mode", required_argument, OPT_MODE, "MODE",
     "multi (event loop), threads or serial"},
    {"report", required_argument, OPT_REPORT, "FILE",
     "JSON Lines: one object per URL + a summary"},
    {"force", no_argument, OPT_FORCE, NULL,
     "fetch even what an earlier run has (no If-None-Match)"},
    {"progress", required_argument, OPT_PROGRESS, "WHEN",
     "auto (stderr is a terminal), always or never"},
    {"shard", required_argument, OPT_SHARD, "K/N", CMD_SHARD_HELP},
    {"quiet", no_argument, 'q', NULL, "print errors only"},
    {"verbose", no_argument, 'v', NULL, "also print each file fetched"},
    {"help", no_argument, 'h', NULL, "show this help"},
};
#define NOWN (sizeof own_options / sizeof own_options[0])
#define MAXOPTS 32

static const char usage_line[] = "imgbatch fetch [OPTIONS] URLS.txt|-";
static const char about[] =
    "Downloads each http(s) URL of the list (one per line; blank lines and\n"
    "# comments skipped) into the download folder, named from the URL path,\n"
    "through temp files renamed when complete. A rerun asks the server\n"
    "whether each file changed (ETag, Last-Modified) and keeps it if not.\n"
    "exit: 0 all ok, 1 some failed, 2 usage error, 3 cannot run, 128 + N\n"
    "stopped by signal N.";

struct state {
    struct cmd_report report;
    struct cmd_json j;
    int quiet, verbose, progress;
    uint64_t total;   /* URLs in the list, for progress; 0 unknown */
    uint64_t n[5];    /* by enum ib_fetch_status */
    uint64_t bytes;
    double t0;
    int progress_shown;
    struct cmd_shard shard;
    struct ib_fetch_list *list;
    uint64_t other_shards;   /* URLs left to the other --shard copies */
};

/* The list's next URL of this shard; the others are only counted. */
static int next_in_shard(void *ctx, const char **url)
{
    struct state *s = ctx;
    int r;
    while ((r = ib_fetch_list_next(s->list, url)) > 0 &&
           !cmd_shard_has(&s->shard, *url))
        s->other_shards++;
    return r;
}

static void clear_progress(struct state *s)
{
    if (s->progress_shown)
        fputs("\r\033[K", stderr);
    s->progress_shown = 0;
}

static void on_done(void *ctx, const struct ib_fetch_item *it)
{
    struct state *s = ctx;
    s->n[it->status]++;
    s->bytes += it->bytes;

    struct cmd_json *j = &s->j;
    char *hidden;
    const char *url = cmd_url_shown(it->url, &hidden);   /* no password */
    cmd_json_begin(j);
    cmd_json_str(j, "url", url);
    /* a file only where one is on disk for this URL */
    cmd_json_str(j, "file", it->status == IB_FETCH_DONE_OK ||
                                    it->status == IB_FETCH_DONE_UNCHANGED
                                ? it->file
                                : NULL);
    cmd_json_str(j, "status", ib_fetch_status_name(it->status));
    if (it->http)
        cmd_json_int(j, "http", it->http);
    else
        cmd_json_null(j, "http");
    cmd_json_int(j, "bytes", (long long)it->bytes);
    cmd_json_num(j, "ms", it->ms);
    cmd_json_int(j, "attempts", it->attempts);
    cmd_json_str(j, "error", it->msg[0] ? it->msg : NULL);
    cmd_json_end(j);
    cmd_report_write(&s->report, j);

    if (it->status == IB_FETCH_DONE_FAILED) {
        clear_progress(s);
        cmd_item_error("fetch", "fetch", url, it->msg);
    } else if (s->verbose && it->status != IB_FETCH_DONE_SKIPPED &&
               it->status != IB_FETCH_DONE_INTERRUPTED) {
        clear_progress(s);
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
    if (!s->progress)
        return;
    double secs = (cmd_now_ms() - s->t0) / 1e3;
    char got[32], rate[32], total[32] = "?";
    human_bytes(got, sizeof got, (double)p->bytes);
    human_bytes(rate, sizeof rate, secs > 0 ? p->bytes / secs : 0);
    if (s->total)
        snprintf(total, sizeof total, "%llu", (unsigned long long)s->total);
    fprintf(stderr, "\r\033[Kfetch: %llu/%s done, %s, %s/s, %u in flight",
            (unsigned long long)p->done, total, got, rate, p->in_flight);
    if (p->waiting)
        fprintf(stderr, ", %u waiting to retry", p->waiting);
    fflush(stderr);   /* a line without its newline */
    s->progress_shown = 1;
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
    while (l && ib_fetch_list_next(l, &url) > 0)
        n += (uint64_t)cmd_shard_has(shard, url);
    ib_fetch_list_free(l);
    fclose(f);
    return n;
}

static void summary(struct state *s, const struct ib_fetch_opts *o,
                    double wall_ms, int interrupted)
{
    static const char *modes[] = {"multi", "threads", "serial"};
    struct cmd_json *j = &s->j;
    cmd_json_begin(j);
    cmd_json_bool(j, "summary", 1);
    cmd_json_int(j, "ok", (long long)s->n[IB_FETCH_DONE_OK]);
    cmd_json_int(j, "unchanged", (long long)s->n[IB_FETCH_DONE_UNCHANGED]);
    cmd_json_int(j, "failed", (long long)s->n[IB_FETCH_DONE_FAILED]);
    cmd_json_int(j, "skipped", (long long)s->n[IB_FETCH_DONE_SKIPPED]);
    /* "interrupted" is the run's flag, below */
    cmd_json_int(j, "interrupted_items",
                 (long long)s->n[IB_FETCH_DONE_INTERRUPTED]);
    cmd_json_int(j, "bytes", (long long)s->bytes);
    cmd_json_num(j, "wall_ms", wall_ms);
    cmd_json_str(j, "mode", modes[o->mode]);
    cmd_json_int(j, "concurrency", o->mode == IB_FETCH_SERIAL
                                       ? 1 : (long long)o->concurrency);
    cmd_json_int(j, "interrupted", interrupted);
    if (s->shard.n)
        cmd_json_int(j, "other_shards", (long long)s->other_shards);
    cmd_json_end(j);
    cmd_report_write(&s->report, j);

    clear_progress(s);
    char b[32], cut[40] = "", skip[40] = "";
    human_bytes(b, sizeof b, (double)s->bytes);
    if (s->n[IB_FETCH_DONE_INTERRUPTED])
        snprintf(cut, sizeof cut, ", %llu interrupted",
                 (unsigned long long)s->n[IB_FETCH_DONE_INTERRUPTED]);
    if (s->n[IB_FETCH_DONE_SKIPPED])
        snprintf(skip, sizeof skip, ", %llu skipped",
                 (unsigned long long)s->n[IB_FETCH_DONE_SKIPPED]);
    cmd_human(s->quiet, "fetch: %llu ok, %llu unchanged, %llu failed%s%s, "
              "%s in %.1f s\n", (unsigned long long)s->n[IB_FETCH_DONE_OK],
              (unsigned long long)s->n[IB_FETCH_DONE_UNCHANGED],
              (unsigned long long)s->n[IB_FETCH_DONE_FAILED], cut, skip, b,
              wall_ms / 1e3);
}

static int parse_mode(const char *v, enum ib_fetch_mode *m)
{
    if (!strcmp(v, "multi"))
        *m = IB_FETCH_MULTI;
    else if (!strcmp(v, "threads"))
        *m = IB_FETCH_THREADS;
    else if (!strcmp(v, "serial"))
        *m = IB_FETCH_SERIAL;
    else
        return -1;
    return 0;
}

int cmd_fetch(int argc, char **argv)
{
    struct ib_fetch_opts o;
    struct cmd_option options[MAXOPTS];
    const char *out = "downloads", *report = NULL, *progress = "auto", *v;
    struct state s;
    memset(&s, 0, sizeof s);
    int c;

    cmd_fetch_opts_init(&o);
    struct cmd_out_opts oo = {0};
    struct cmd_lock lock = {-1, -1, 0};
    int out_fd = -1;
    memcpy(options, own_options, sizeof own_options);
    cmd_fetch_options(options, cmd_out_options(options, NOWN, MAXOPTS),
                      MAXOPTS);
    optind = 1;
    while ((c = cmd_getopt(argc, argv, options, &v)) != -1) {
        switch (c) {
        case 'o':
            out = v;
            break;
        case OPT_MODE:
            if (parse_mode(v, &o.mode))
                return cmd_usage_error("fetch", "bad --mode '%s'", v);
            break;
        case OPT_REPORT:
            report = v;
            break;
        case OPT_FORCE:
            o.force = 1;
            break;
        case OPT_PROGRESS:
            if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never"))
                return cmd_usage_error("fetch", "bad --progress '%s'", v);
            progress = v;
            break;
        case OPT_SHARD: {
            char smsg[256];
            if (cmd_shard_parse(&s.shard, v, smsg, sizeof smsg))
                return cmd_usage_error("fetch", "%s", smsg);
            break;
        }
        case 'q':
            s.quiet = 1;
            break;
        case 'v':
            s.verbose = 1;
            break;
        case 'h':
            cmd_print_help(stdout, usage_line, about, options);
            return EXIT_ALL_OK;
        case '?':
            return EXIT_USAGE;
        default: {
            if (!cmd_out_option(&oo, c, v))
                break;
            int rc = cmd_fetch_option("fetch", &o, c, v);
            if (rc)
                return rc < 0 ? EXIT_USAGE : rc;
            break;
        }
        }
    }
    if (optind != argc - 1)
        return cmd_usage_error("fetch", optind >= argc
                                            ? "no URL list given"
                                            : "one URL list only");
    const char *list_path = argv[optind];
    /* checked before anything is touched */
    if (report && strcmp(list_path, "-") &&
        cmd_path_within(report, list_path))
        return cmd_usage_error("fetch", "--report '%s' would overwrite the "
                               "URL list", report);
    if (report && cmd_path_within(report, out))
        return cmd_usage_error("fetch", "--report '%s' is inside the output "
                               "folder '%s'", report, out);
    if (cmd_log_check("fetch", oo.log, report, &argv[optind], 1, out, NULL))
        return EXIT_USAGE;

    s.progress = !strcmp(progress, "always") ||
                 (!strcmp(progress, "auto") && !s.quiet && isatty(2));
    FILE *f = strcmp(list_path, "-") ? fopen(list_path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "imgbatch fetch: cannot read '%s': %s\n", list_path,
                strerror(errno));
        return EXIT_FATAL;
    }
    int rc = EXIT_FATAL;
    struct ib_fetch_list *l = ib_fetch_list_new(f);
    if (!l) {
        fprintf(stderr, "imgbatch fetch: out of memory\n");
        goto out;
    }
    /* locked before anything in it is swept or written */
    out_fd = cmd_out_open("fetch", out);
    if (out_fd < 0 || cmd_lock_take(&lock, "fetch", out_fd, out, &s.shard,
                                    oo.wait_lock, s.quiet))
        goto out;
    if (cmd_report_open(&s.report, "fetch", report) ||
        cmd_log_open("fetch", oo.log))
        goto out;
    if (s.progress)
        s.total = count_urls(list_path, &s.shard);

    o.out_dir = out;
    o.no_fsync = oo.no_fsync;
    o.shared_dir = !lock.exclusive;   /* shards sharing -o: not ours alone */
    s.list = l;
    o.next = next_in_shard;
    o.next_ctx = &s;
    o.done = on_done;
    o.progress = on_progress;
    o.ctx = &s;
    o.stop = &cmd_stop;
    /*
     * One write per stderr line, not one per byte (stderr is unbuffered
     * and cmd_item_error prints byte by byte): 50,000 URLs to a dead host
     * are 50,000 lines.
     */
    setvbuf(stderr, NULL, _IOLBF, BUFSIZ);
    cmd_catch_signals();
    s.t0 = cmd_now_ms();
    char msg[256];
    int frc = ib_fetch_run(&o, msg, sizeof msg);
    /* the renames are durable once the folder is: once per batch, not
     * per file, which cost the event loop a millisecond each */
    if (!oo.no_fsync)
        fsync(out_fd);
    summary(&s, &o, cmd_now_ms() - s.t0, cmd_stop != 0);

    if (cmd_stop)
        rc = 128 + cmd_stop;
    else if (frc) {
        cmd_human(0, "imgbatch fetch: %s\n", msg);
        rc = EXIT_FATAL;
    } else {
        rc = s.n[IB_FETCH_DONE_FAILED] ? EXIT_SOME_FAILED : EXIT_ALL_OK;
    }
    if (cmd_report_close(&s.report, "fetch") && rc == EXIT_ALL_OK)
        rc = EXIT_FATAL;
    if (cmd_log_close("fetch") && rc == EXIT_ALL_OK)
        rc = EXIT_FATAL;
out:
    cmd_log_close("fetch");
    cmd_lock_release(&lock);
    if (out_fd >= 0)
        close(out_fd);
    cmd_json_release(&s.j);
    ib_fetch_list_free(l);
    if (f != stdin)
        fclose(f);
    return rc;
}
