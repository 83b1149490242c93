/*
 * cmd/batch.c: the batch layer fetch, transform and run share: the report
 * (one schema, docs/report.md), counts, the progress line, the summary and
 * the exit code.
 */
#include "cmd/batch.h"
#include "pool/pool.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#ifndef IMGBATCH_VERSION
#define IMGBATCH_VERSION "unknown"
#endif

const char *const batch_status_name[BATCH_NSTATUS] = {
    "ok", "unchanged", "failed", "skipped", "interrupted",
};

int batch_start(struct batch *b, const char *cmd,
                const struct batch_opts *o)
{
    memset(b, 0, sizeof *b);
    b->cmd = cmd;
    b->o = o;
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(b->started, sizeof b->started, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (cmd_report_open(&b->report, cmd, o->report) ||
        cmd_log_open(cmd, o->oo.log))
        return -1;
    cmd_catch_signals();
    b->t0 = cmd_now_ms();
    return 0;
}

struct cmd_json *batch_item_begin(struct batch *b)
{
    cmd_json_begin(&b->j);
    return &b->j;
}

void batch_item_fetch(struct cmd_json *j, long http, uint64_t bytes,
                      unsigned attempts, double fetch_ms)
{
    if (http)
        cmd_json_int(j, "http", http);
    else
        cmd_json_null(j, "http");
    cmd_json_int(j, "bytes", (long long)bytes);
    cmd_json_int(j, "attempts", attempts);
    cmd_json_num(j, "fetch_ms", fetch_ms);
}

void batch_item_end(struct batch *b, enum batch_status st)
{
    cmd_json_str(&b->j, "status", batch_status_name[st]);
    cmd_json_end(&b->j);
    cmd_report_write(&b->report, &b->j);
    b->n[st]++;
}

struct cmd_json *batch_summary_begin(struct batch *b, unsigned counts)
{
    struct cmd_json *j = &b->j;
    cmd_json_begin(j);
    cmd_json_bool(j, "summary", 1);
    cmd_json_str(j, "schema", BATCH_SCHEMA);
    cmd_json_str(j, "version", IMGBATCH_VERSION);
    cmd_json_str(j, "command", b->cmd);
    cmd_json_str(j, "started", b->started);
    for (int i = 0; i < BATCH_NSTATUS; i++) {
        if (!(counts & 1u << i))
            continue;
        /* "interrupted" is the run's flag, written by batch_summary_end */
        cmd_json_int(j, i == BATCH_INTERRUPTED ? "interrupted_items"
                                               : batch_status_name[i],
                     (long long)b->n[i]);
    }
    return j;
}

double batch_summary_end(struct batch *b, int interrupted)
{
    double wall_ms = cmd_now_ms() - b->t0;
    cmd_json_num(&b->j, "wall_ms", wall_ms);
    cmd_json_bool(&b->j, "interrupted", interrupted);
    cmd_json_end(&b->j);
    cmd_report_write(&b->report, &b->j);
    batch_clear_progress(b);
    return wall_ms;
}

void batch_progress(struct batch *b, int force, const char *fmt, ...)
{
    double now = cmd_now_ms();
    if (!b->o->progress || (!force && now - b->last_progress < 200))
        return;
    b->last_progress = now;
    va_list ap;
    fprintf(stderr, "\r\033[K%s: ", b->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);   /* a line without its newline */
    b->progress_shown = 1;
}

void batch_clear_progress(struct batch *b)
{
    if (b->progress_shown)
        fputs("\r\033[K", stderr);
    b->progress_shown = 0;
}

void batch_pool_opts(struct ib_pool_opts *po, const struct cmd_image *img,
                     unsigned workers)
{
    po->workers = workers;
    po->timeout_ms = img->job_timeout_s * 1000u;
    po->worker_mem = img->worker_mem;
    po->stop = &cmd_stop;
    /* a stop lets in-flight images finish for this long, then kills */
    po->grace_ms = 5000;
}

int batch_exit(struct batch *b, int fatal, double fail_pct)
{
    if (cmd_report_close(&b->report, b->cmd))
        fatal = 1;
    if (cmd_log_close(b->cmd))
        fatal = 1;
    cmd_json_release(&b->j);
    if (cmd_stop)
        return 128 + cmd_stop;
    if (fatal)
        return EXIT_FATAL;
    uint64_t failed = b->n[BATCH_FAILED];
    uint64_t all = failed + b->n[BATCH_OK] + b->n[BATCH_UNCHANGED];
    if (fail_pct < 0)
        return failed ? EXIT_SOME_FAILED : EXIT_ALL_OK;
    return all && (double)failed * 100.0 > fail_pct * (double)all
               ? EXIT_SOME_FAILED
               : EXIT_ALL_OK;
}
