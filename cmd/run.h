/*
 * cmd/run.h: imgbatch run's records of its outputs, the face of run its
 * unit tests use (tests/unit/test_cmd.c): the slots an item's outputs are
 * named and made in (cmd/run_item.c), the journal that remembers what
 * made each output, and the claims that keep two URLs from writing one
 * file (cmd/run_journal.c). What only run's own files share is
 * cmd/run_int.h.
 *
 * Naming: cmd_run alone is public (cmd/cmd.h); run_* is shared between
 * run's files and declared here or in cmd/run_int.h or cmd/run_batch.h;
 * what one file uses alone is static and unprefixed.
 */
#ifndef IB_CMD_RUN_H
#define IB_CMD_RUN_H

#include "transform/transform.h"

#include <stddef.h>
#include <stdint.h>

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

#endif
