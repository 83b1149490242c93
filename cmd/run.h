/*
 * cmd/run.h: the parts of imgbatch run (cmd/run.c) that are not its flow:
 * options (cmd/run_opts.c); OUT and the download folder (cmd/run_dirs.c);
 * the URL list, the per-item slots the workers read and the task
 * (cmd/run_item.c); the journal and the output-name claims
 * (cmd/run_journal.c).
 */
#ifndef IB_CMD_RUN_H
#define IB_CMD_RUN_H

#include "cmd/batch.h"
#include "cmd/render.h"
#include "cmd/shard.h"
#include "cmd/walk.h"
#include "fetch/fetch.h"
#include "pool/pool.h"
#include "transform/transform.h"

#include <stddef.h>
#include <stdint.h>

enum run_status { RUN_OK, RUN_UNCHANGED, RUN_FAILED, RUN_SKIPPED,
                  RUN_INTERRUPTED, RUN_NSTATUS };

struct run_settings {
    struct batch_opts o;            /* the common ones: -o OUT, --report.. */
    char *dl_dir;                   /* owned */
    int dl_below;                   /* dl_dir is the default, inside OUT */
    char *journal;                  /* owned: the journal's file name */
    struct ib_fetch_opts fetch;     /* only the option fields are set */
    unsigned workers;
    struct cmd_image img;           /* shared with transform */
    double fail_pct;                /* < 0: any failure fails the run */
    int dry_run;                    /* --dry-run: run_dry, not run_all */
};

/*
 * Parses argv (the list is argv[optind] afterwards). Returns -1 to go on,
 * or an exit code (help printed, or a usage error reported).
 */
int run_settings_parse(struct run_settings *s, int argc, char **argv,
                       const char *usage, const char *about);
void run_settings_release(struct run_settings *s);
/* This shard's URLs, in list order (the fetch loop names them in order). */
struct run_list {
    char **urls;                    /* owned, n of them */
    char **names;                   /* owned, n: the list's output names
                                       (URL<TAB>NAME), NULL where none */
    size_t n, cap;
    uint64_t other_shards;
    char **others;                  /* owned: their URLs, until planned */
    char **othernames;              /* owned: and their names */
    size_t nothers, capothers;
    /* output names, decided from the whole list by run_list_plan */
    struct walk_name *plan;         /* owned: n, by list position */
    char **base;                    /* owned: n, the list's name of each
                                       if valid, else ib_fetch_name */
    size_t *slot;                   /* owned: URL hash -> position + 1 */
    size_t nslot;
    unsigned char *rflags;          /* owned with renditions: n, RUN_HASHED
                                       and RUN_CLASH (render_settle) */
    struct render_recipes recipes;  /* the renditions' recipes, cached */
};
enum { RUN_HASHED = 1, RUN_CLASH = 2 };
/* 0, or -1 with a message printed. path "-" is stdin. */
int run_list_read(struct run_list *l, const char *path,
                  const struct cmd_shard *shard);
/*
 * Names every URL's output before any transfer (cmd/walk.h's rule), from
 * the URL alone: the same list gives the same names whatever the order
 * its files land in. With --format same an output may be a JPEG or a PNG,
 * unless the name's extension says which. Other shards' URLs are planned
 * too: shards share OUT, so their names must not clash either.
 */
void run_list_plan(struct run_list *l, const struct run_settings *s);
void run_list_release(struct run_list *l);

/*
 * What a worker needs to know about one landed file, and what it hands
 * back beyond the pool's payload. Items live in memory shared with the
 * workers (forked before any file landed); the parent fills one before
 * submitting its index and reads it again only once the pool delivered
 * that index's result. An item has one slot per output: its one output,
 * or each rendition (cmd/render.h), laid out at a stride (run_item_size):
 * the one-output case stays small.
 */
#define RUN_NAMELEN 320   /* a 255-byte file name below a folder or two */
/* An output's journal line: the input that made it, the output then. */
struct run_done {
    uint64_t hash, size;      /* the input's hash, the output's size */
    int64_t sec, nsec;        /* the output's mtime */
    uint64_t recipe;          /* the recipe that made it */
};
struct run_slot {
    char out[RUN_NAMELEN];    /* the output's file name in OUT */
    uint64_t recipe;          /* this run's recipe for this output */
    /* journal: the input that made the output there now; hash 0: none */
    uint64_t prev_hash, prev_size;
    int64_t prev_sec, prev_nsec;
    uint64_t prev_recipe;     /* and its recipe; 0: unknown */
    /* the worker's: rr.status 0 made, 1 up to date (restamped), else not
     * made; done is its journal line when 0 or 1 */
    struct ib_rendition_result rr;
    struct run_done done;
};
struct run_item {
    char in[RUN_NAMELEN];     /* download's file name in the download dir */
    struct run_slot out[];    /* render_per(img) of them */
};
static inline size_t run_item_size(size_t per)
{
    return sizeof(struct run_item) + per * sizeof(struct run_slot);
}
static inline struct run_item *run_item_at(void *items, size_t per, size_t i)
{
    return (struct run_item *)((char *)items + i * run_item_size(per));
}
/* Names the outputs of url's download at path (file inside the download
 * dir) as l's plan says; 0, or -1 with msg. */
int run_item_fill(const struct run_settings *s, struct run_list *l,
                  struct run_item *item, const char *url, const char *file,
                  const char *path, char *msg, size_t msglen);
/* What a worker hands back for a done item (the pool's result payload). */
struct run_result {
    int decoded;              /* 0: every output up to date, restamped */
    uint32_t dims[4];         /* in w, h, out w, h when decoded */
};
/* The pool task: 0 with *res and the slots' results set, or 1 with a
 * reason in msg (the slots' results still say which outputs were made). */
int run_item_task(const struct run_settings *s, struct run_item *item,
                  struct run_result *res, char *msg, size_t msglen);
/* After a 304: 1 if every output of item was made by this recipe and
 * carries the download dl's mtime (no worker needed). */
int run_item_unchanged(const struct run_settings *s,
                       const struct run_item *item, const char *dl);
/* -v's end of a URL's line when a worker made its renditions: each
 * output made with its size, and how many were up to date. */
void run_item_say(const struct run_settings *s, const struct run_item *item);
/* The report line's "renditions" array (none without item): each
 * output's outcome from the worker if results, else status none. */
void run_item_report(struct cmd_json *j, const struct run_settings *s,
                     const struct run_item *item, int results,
                     const char *none);

/*
 * The journal OUT/.imgbatch-run[-K-of-N].tsv: per output name, the hash of
 * the input and of the recipe (cmd/recipe.h) that made it and the output's
 * size and mtime then. Lines from before recipes were recorded load with
 * recipe 0, unknown: their outputs are redone once. Appended
 * one line per finished item (so a kill loses nothing written), compacted
 * (temp + rename) by close.
 */
struct run_entry {
    char *name;               /* owned */
    uint64_t hash, size;
    int64_t sec, nsec;
    uint64_t recipe;          /* 0: unknown */
    size_t seq;               /* line number, while loading */
};
struct run_journal {
    char *path;               /* owned */
    int fd;                   /* append; -1 when closed */
    struct run_entry *old;    /* owned: sorted by name, one per name */
    size_t nold;
    struct run_entry *added;  /* owned: this run's, in order */
    size_t nadded, capadded;
};
int run_journal_open(struct run_journal *j, const char *out,
                     const char *name, char *msg, size_t msglen);
/* Reads it only (a dry run): never fails, a missing journal is empty. */
void run_journal_read(struct run_journal *j, const char *out,
                      const char *name);
void run_journal_get(const struct run_journal *j, const char *name,
                     struct run_slot *slot);
/* run_journal_get for each of item's per outputs. */
void run_journal_get_item(const struct run_journal *j, struct run_item *item,
                          size_t per);
void run_journal_add(struct run_journal *j, const char *name,
                     const struct run_done *d);
/* run_journal_add for each output of item the worker made or kept. */
void run_journal_add_item(struct run_journal *j, const struct run_item *item,
                          size_t per);
/* Compacts and frees; safe to call twice (msg may then be NULL). */
int run_journal_close(struct run_journal *j, char *msg, size_t msglen);

/* Output names taken in this run: two URLs must not write one file. */
struct run_names {
    char **name;              /* borrowed (the slots') ... */
    const char **url;         /* ... and the pend's: open addressing */
    size_t cap;
};
int run_names_init(struct run_names *n, size_t count);
/* NULL if name is now url's; else the URL that has it already. */
const char *run_names_claim(struct run_names *n, char *name,
                            const char *url);
/* Claims every output name of item for url, or none: 0, or -1 with msg
 * naming the output taken and the URL (password hidden) that has it. */
int run_names_claim_item(struct run_names *n, struct run_item *item,
                         size_t per, const char *url, char *msg,
                         size_t msglen);
void run_names_release(struct run_names *n);

/*
 * --dry-run (cmd/run_dry.c): one line per URL of l on stdout, what a run
 * would download and make and why, from the same plan, fetch index and
 * journal; nothing is fetched, created or written. An exit code.
 */
int run_dry(const struct run_settings *s, const struct run_list *l);

/*
 * OUT and the download folder (cmd/run_dirs.c): opened, made, locked and
 * swept of a killed run's temp files before anything is written there.
 */
struct run_dirs {
    int out_fd, dl_fd;        /* -1 if closed */
    struct cmd_lock lock, dl_lock;
    struct ib_out out;        /* OUT, for writing and sweeping */
    char **stale;             /* owned: a shard's outputs with temp files
                                 left by a killed run, sorted */
    size_t nstale, capstale;
};
void run_dirs_init(struct run_dirs *d);
/* 0, or an exit code with the reason printed. */
int run_dirs_open(struct run_dirs *d, const struct run_settings *s);
/* 1 if a killed copy of this shard left temp files for output name. */
int run_dirs_stale(const struct run_dirs *d, const char *name);
void run_dirs_release(struct run_dirs *d);
/* Removes a killed run's temp files from dir; how many. */
int run_sweep_temps(const char *dir);

char *run_strdup(const char *s);                    /* aborts on ENOMEM */
char *run_join(const char *dir, const char *name);  /* dir/name, ditto */

/*
 * The run itself, shared by cmd/run.c (the per-item steps, the report
 * fields) and cmd/run_batch.c (the batch around them).
 */
/* One URL of this shard, in the parent. */
struct pend {
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
    struct pend *pend;       /* list.n of them, by item */
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
 * The fetch loop's hooks: as each URL ends, a file that landed gets an
 * output name and, unless its output is up to date, goes to the pool.
 */
void run_on_fetched(void *ctx, const struct ib_fetch_item *it);
void run_on_progress(void *ctx, const struct ib_fetch_progress *pr);
/* Runs in a worker: one landed file; its run_result is the payload, the
 * outputs' results are in its item. */
int run_task(void *ctx, size_t index, void *data, char *msg, size_t msglen);
/* In the parent, as each worker's result arrives. */
void run_on_result(void *ctx, size_t index, const struct ib_pool_result *res);
/* p's report line when a stop kept its file from a worker. */
void run_report_skipped(struct run *r, struct pend *p);
void run_summary(struct run *r, int interrupted);

/* ---- cmd/run_batch.c ---- */

void run_init(struct run *r, struct run_settings *s);
/* Sets up, runs both stages, reports; returns the exit code. */
int run_batch(struct run *r);
void run_release(struct run *r);

#endif
