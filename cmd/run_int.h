/*
 * cmd/run_int.h: shared between imgbatch run's own files only:
 *
 *   cmd/run_opts.c     options
 *   cmd/run_item.c     the URL list and its plan, the task a worker runs
 *   cmd/run_dirs.c     OUT and the download folder
 *   cmd/run_dry.c      --dry-run
 *
 * The outputs' slots, the journal and the name claims are cmd/run.h; the
 * run in progress, shared by cmd/run.c and cmd/run_batch.c, is
 * cmd/run_batch.h.
 */
#ifndef IB_CMD_RUN_INT_H
#define IB_CMD_RUN_INT_H

#include "cmd/batch.h"
#include "cmd/render.h"
#include "cmd/run.h"
#include "cmd/shard.h"
#include "cmd/walk.h"
#include "fetch/fetch.h"

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
    int dry_run;                    /* --dry-run: run_dry, not run_batch */
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


#endif
