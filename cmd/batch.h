/*
 * cmd/batch.h: what fetch, transform and run share as batch jobs.
 *
 *   options   one table of the common options (-o, --report, --force,
 *             --shard, -q, -v, --progress, -h, --wait-lock, --no-fsync)
 *             and one parser, so their help and errors cannot drift
 *   batch     the report (docs/report.md), the counts per status, the
 *             progress line, the summary and the exit code
 *
 * A subcommand reads: parse its options and the common ones, batch_start,
 * one batch_item_begin/_end per item, batch_summary_begin/_end, then
 * batch_exit.
 */
#ifndef IB_CMD_BATCH_H
#define IB_CMD_BATCH_H

#include "cmd/cmd.h"
#include "cmd/shard.h"

#include <stdint.h>

struct ib_pool_opts;

/* The report's schema name; docs/report.schema.json describes it. */
#define BATCH_SCHEMA "imgbatch-report/2"

/* ---- options ---- */

/* Codes of the common options without a short letter. */
#define CMD_COMMON_OPT_FIRST 288

struct batch_opts {
    const char *out;        /* borrowed (argv); NULL: not given */
    const char *report;     /* borrowed (argv); NULL: no report */
    int force, quiet, verbose;
    int progress;           /* -1 auto until batch_opts_check, then 0/1 */
    struct cmd_shard shard;
    struct cmd_out_opts oo; /* --wait-lock, --no-fsync */
};
void batch_opts_init(struct batch_opts *o);

/*
 * The option table of a subcommand: its own rows, then the download rows
 * (fetch_opts.c) if fetch, the image rows and operations (image_opts.c) if
 * image (2: with the renditions' rows), then the common rows, -o's help being out_help. Returns the count;
 * opts[count] ends the table. Help prints each part under its heading.
 */
size_t batch_options(struct cmd_option *opts, size_t max,
                     const struct cmd_option *own, size_t nown,
                     const char *cmd, int fetch, int image,
                     const char *out_help);
/* Option c with value v: 0 taken, EXIT_USAGE (message printed) if its
 * value is bad, -1 if c is not a common option. */
int batch_option(const char *cmd, struct batch_opts *o, int c,
                 const char *v);
/* After parsing: resolves --progress auto (a terminal, and not -q). */
void batch_opts_check(struct batch_opts *o);
/* "usage: ...", about, then the table's parts under their headings. */
void batch_print_help(FILE *f, const char *usage, const char *about,
                      const struct cmd_option *opts);
/*
 * getopt over opts: -h prints the help, the common options go to o, every
 * other one to own (which returns as batch_option does). Returns -1 to go
 * on (argv[optind] is the first operand), or an exit code.
 */
int batch_parse(int argc, char **argv, const struct cmd_option *opts,
                struct batch_opts *o, const char *usage, const char *about,
                int (*own)(void *ctx, int c, const char *v), void *ctx);

/* ---- the batch ---- */

/* An item's end; the order of ib_fetch_status and run_status. */
enum batch_status {
    BATCH_OK, BATCH_UNCHANGED, BATCH_FAILED, BATCH_SKIPPED,
    BATCH_INTERRUPTED, BATCH_NSTATUS
};
extern const char *const batch_status_name[BATCH_NSTATUS];

struct batch {
    const char *cmd;             /* "fetch", "transform" or "run" */
    const struct batch_opts *o;  /* borrowed */
    struct cmd_report report;
    struct cmd_json j;           /* the line being built */
    uint64_t n[BATCH_NSTATUS];   /* items reported, per status */
    double t0, last_progress;    /* cmd_now_ms() */
    int progress_shown;          /* a progress line is on stderr now */
    char started[24];            /* ISO 8601 UTC, 2026-11-26T15:20:01Z */
};

/*
 * Opens the report (o->report), catches the stop signals and starts the
 * clock. 0, or -1 with a message printed (the report cannot be opened).
 */
int batch_start(struct batch *b, const char *cmd,
                const struct batch_opts *o);

/* One item's line: begin gives the JSON object to add fields to; end adds
 * "status", writes the line and counts it. */
struct cmd_json *batch_item_begin(struct batch *b);
void batch_item_end(struct batch *b, enum batch_status st);
/* The download's fields, fetch's and run's alike: "http" (null when no
 * reply came), "bytes", "attempts" and "fetch_ms". */
void batch_item_fetch(struct cmd_json *j, long http, uint64_t bytes,
                      unsigned attempts, double fetch_ms);

/*
 * The summary line: begin adds "summary", "schema", "version", "command",
 * "started" and the counts (the statuses in counts, a bit per status; the
 * interrupted ones as "interrupted_items"); the caller adds its fields;
 * end adds "wall_ms" and "interrupted" and writes it. Returns wall_ms.
 */
struct cmd_json *batch_summary_begin(struct batch *b, unsigned counts);
double batch_summary_end(struct batch *b, int interrupted);

/* The progress line on stderr (--progress), "CMD: " then fmt: redrawn at
 * most 5 times a second unless force; cleared by batch_clear_progress,
 * which every other stderr line of a batch comes after. */
void batch_progress(struct batch *b, int force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void batch_clear_progress(struct batch *b);

/*
 * The pool options every batch uses: limits from img, stop on cmd_stop,
 * and the same grace for a stop's in-flight tasks.
 */
void batch_pool_opts(struct ib_pool_opts *po, const struct cmd_image *img,
                     unsigned workers);

/*
 * Closes the report and picks the exit code, in this order: 128 + signal
 * if stopped; EXIT_FATAL if fatal or the report could not be written;
 * EXIT_SOME_FAILED if failed items pass fail_pct (the percentage of ok,
 * unchanged and failed items that may fail; < 0: none may); else 0.
 */
int batch_exit(struct batch *b, int fatal, double fail_pct);

#endif
