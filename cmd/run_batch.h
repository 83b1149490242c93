/*
 * cmd/run_batch.h: the run in progress, shared by cmd/run.c (the
 * per-item steps, the report fields) and cmd/run_batch.c (the batch
 * around them) only.
 */
#ifndef IB_CMD_RUN_BATCH_H
#define IB_CMD_RUN_BATCH_H

#include "cmd/run_int.h"
#include "pool/pool.h"

/* One URL of this shard, in the parent. */
struct run_pend {
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
    struct run_pend *pend;   /* list.n of them, by item */
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

/* ---- cmd/run.c ---- */

/*
 * The fetch loop's hook: as each URL ends, a file that landed gets an
 * output name and, unless its output is up to date, goes to the pool.
 */
void run_on_fetched(void *ctx, const struct ib_fetch_item *it);
/* Runs in a worker: one landed file; its run_result is the payload, the
 * outputs' results are in its item. */
int run_task(void *ctx, size_t index, void *data, char *msg, size_t msglen);
/* In the parent, as each worker's result arrives. */
void run_on_result(void *ctx, size_t index, const struct ib_pool_result *res);
/* p's report line when a stop kept its file from a worker. */
void run_report_skipped(struct run *r, struct run_pend *p);
void run_summary(struct run *r, int interrupted);

/* ---- cmd/run_batch.c ---- */

/* The progress line on stderr (batch_progress), after each report line
 * and as downloads go on. */
void run_progress(struct run *r);
void run_init(struct run *r, struct run_settings *s);
/* Sets up, runs both stages, reports; returns the exit code. */
int run_batch(struct run *r);
void run_release(struct run *r);

#endif
