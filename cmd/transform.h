/*
 * cmd/transform.h: shared between the files of imgbatch transform only.
 *
 *   cmd/transform.c        its options, the per-item step (the task a
 *                          worker runs, the result the parent handles)
 *                          and its report fields
 *   cmd/transform_batch.c  the batch around that step: the inputs'
 *                          checks, the walk, the plan (what is up to
 *                          date), the temp sweep, the pool run, --dry-run
 *
 * Naming, as in pool/ and transform/: cmd_transform alone is public (in
 * cmd/cmd.h); what one of these files offers the other is transform_*
 * and declared here; anything used by one file only is static and
 * unprefixed.
 */
#ifndef IB_CMD_TRANSFORM_H
#define IB_CMD_TRANSFORM_H

#include "cmd/batch.h"
#include "cmd/recipe.h"
#include "cmd/render.h"
#include "cmd/walk.h"
#include "pool/pool.h"

#include <stddef.h>

#define TRANSFORM_NAME "transform"

struct transform_settings {
    struct batch_opts o;      /* shard key: the input's path below its root */
    enum ib_pool_backend backend;
    unsigned workers;
    int procs_set, threads_set;
    int dry_run;
    struct cmd_image img;
};

/* What a task needs; read-only while the pool runs. */
struct transform_ctx {
    const struct transform_settings *s;
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

/* ---- cmd/transform.c ---- */

/* The pool's task and done hook: one item in a worker, its result in the
 * parent (report line, stderr line, progress). */
int transform_task(void *vctx, size_t index, void *data, char *msg,
                   size_t msglen);
void transform_done(void *vctx, size_t index,
                    const struct ib_pool_result *r);
/* An item's report line without a worker's result (failed before it ran,
 * up to date, never started); error may be NULL. */
void transform_report_item(struct transform_ctx *c,
                           const struct walk_item *it, enum batch_status st,
                           const char *error);
void transform_summary(struct transform_ctx *c, size_t not_run,
                       size_t not_images, int interrupted);

/* ---- cmd/transform_batch.c ---- */

/*
 * The usage checks on the operands (argv[first..argc-1]) before anything
 * is touched: outputs must not land among their inputs, nor the report or
 * the --log file on an input or inside OUT. -1 to go on, or EXIT_USAGE
 * printed.
 */
int transform_check_inputs(const struct transform_settings *s, int argc,
                           char **argv, int first);
/*
 * Test-only fault injection, so the crash and timeout handling can be
 * exercised through the CLI: IMGBATCH_TEST_FAULT=crash:SUBSTR or
 * hang:SUBSTR (fault, from the environment) makes the item whose input
 * path contains SUBSTR crash or hang in its worker.
 */
void transform_inject_fault(const char *fault, const char *path);
/* The whole run, OUT locked to report written: the exit code. */
int transform_run(struct transform_ctx *c, int argc, char **argv, int first);
/*
 * --dry-run: what a run would do, one line per rendition on stdout, from
 * the same walk, names and records as a run; nothing is created, locked,
 * swept or written. Exit 1 when some item would fail before decoding.
 */
int transform_dry_run(struct transform_ctx *c, int argc, char **argv,
                      int first);

#endif
