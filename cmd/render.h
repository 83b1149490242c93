/*
 * cmd/render.h: renditions, the outputs one input makes under --size,
 * --width, a list of --format and --name: their names, their recipes and
 * which of them are up to date. transform/ makes them from one decode
 * (ib_transform_renditions); this layer decides what to ask for.
 *
 * A rendition is a size (a fit box, or none: the pipeline's own result)
 * and a format; an input has every size in every format, sizes x formats,
 * at most IB_RENDITIONS_MAX. Without --size, --width, a second format or
 * --name there is one rendition, named and recorded exactly as before
 * renditions existed (no output is redone by the upgrade).
 *
 * Names: --name TEMPLATE is the output's path below OUT, with
 *   {dir}    the input's folder below its root ("" at the top; "{dir}/"
 *            then adds nothing)
 *   {stem}   the input's name without its extension
 *   {ext}    the output format's extension ("jpg", or the input's own
 *            when it already names that format: "JPG", "jpeg")
 *   {format} the output format's name ("jpeg", "webp")
 *   {w} {h}  the size's box as asked (a template using {h} needs every
 *            size to give a height, and {w} a width)
 *   {size}   "480w", "320h" or "480x320"
 *   {hash}   8 hex digits of the input's content (transform only: run
 *            names every output before its download exists)
 * The default is "{dir}/{stem}.{ext}" (today's name) with one size, and
 * "{dir}/{stem}-{size}.{ext}" with several. {dir}, {stem} and {ext} come
 * from the name the walk planned (cmd/walk.h), so its safety and clash
 * rules hold. Names that two inputs would share after expansion get
 * "-<8 hex of the input's key>" after the stem, for all of them; a name
 * still shared fails the later item.
 */
#ifndef IB_CMD_RENDER_H
#define IB_CMD_RENDER_H

#include "cmd/cmd.h"
#include "cmd/walk.h"

#include <stddef.h>
#include <stdint.h>

/* One rendition of one item. */
struct render_out {
    char *out;        /* owned: OUT/name */
    const char *name; /* borrowed: below OUT, a pointer into out */
    uint64_t recipe;  /* its recipe's hash */
    int fresh;        /* up to date: not made this run */
    int size, format; /* index into img's sizes (-1: none) and formats */
};

struct render_plan {
    const struct cmd_image *img;   /* borrowed */
    size_t per;                    /* renditions per item */
    size_t nitems;
    struct render_out *v;          /* owned: nitems * per, item-major */
};

/* 1 if img asks for more than today's one output per input. */
int render_active(const struct cmd_image *img);
/* Renditions per input (1 when not active); rendition k's index into
 * img's sizes (-1: none) and its format as asked (UNKNOWN: the input's). */
size_t render_per(const struct cmd_image *img);
int render_size_at(const struct cmd_image *img, size_t k);
enum ib_format render_format_at(const struct cmd_image *img, size_t k);

/* Rendition k's recipe hash in output format f, computed once per
 * (format, size) into c (zeroed by the caller). */
struct render_recipes {
    uint64_t h[IB_FORMAT_COUNT][IB_RENDITIONS_MAX + 1];
};
uint64_t render_recipe(struct render_recipes *c, const struct cmd_image *img,
                       size_t k, enum ib_format f);

/*
 * Rendition k's name below OUT, in output format f, for the item v plans
 * (name, key, mode), its stem made unique by v's key when hashed; chash:
 * {hash}'s value. malloc'd, NULL out of memory; *why (if why) says why the
 * name cannot be an output's, or NULL.
 */
char *render_name(const struct cmd_image *img, const struct walk_name *v,
                  int hashed, const char *chash, size_t k, enum ib_format f,
                  const char **why);

/*
 * The clash rule, from the whole list before anything is made: items
 * (not skip) whose renditions would share a name are all hashed; items
 * still sharing one get clash, the other's index + 1. A rendition of
 * format "same" may take any format of same. 0, or -1 out of memory.
 */
struct render_key {
    struct walk_name v;      /* its planned name, key and mode */
    unsigned same;           /* 1 << enum ib_format: what "same" may be */
    int skip;                /* failed already: claims no name */
    char chash[9];           /* {hash}'s value, or "" */
    int hashed;              /* set: stems get the key's hex */
    size_t clash;            /* set: 0, or the item it still clashes with
                                + 1 (this one fails) */
};
int render_settle(const struct cmd_image *img, struct render_key *keys,
                  size_t n);

/*
 * Checks img's rendition options once they are all parsed, and makes the
 * size pipelines: 0, or EXIT_USAGE with the message printed (cmd names
 * the subcommand). hash_ok: whether {hash} may be used.
 */
int render_check(const char *cmd, struct cmd_image *img, int hash_ok);
/* render_check's part for --name (cmd/render_name.c). */
int render_check_name(const char *cmd, const struct cmd_image *img,
                      int hash_ok);

/*
 * Names every item's renditions and their recipes (w after walk_finish):
 * items whose names clash get an error. 0, or -1 out of memory.
 */
int render_plan_make(struct render_plan *rp, const struct cmd_image *img,
                     struct walk *w);
void render_plan_release(struct render_plan *rp);

static inline struct render_out *render_outs(const struct render_plan *rp,
                                             size_t item)
{
    return rp->v + item * rp->per;
}

/* Rendition k's request: named name, not made when skip. */
void render_request(const struct cmd_image *img, size_t k, const char *name,
                    int skip, struct ib_rendition *r);
/* The ib_rendition array for item (r has rp->per slots). */
void render_requests(const struct render_plan *rp, size_t item,
                     struct ib_rendition *r);

/* Writes the item's "renditions" array from the worker's results into
 * the report line j; rr NULL: no result, and each rendition not up to
 * date gets status none ("not_run", or "failed" when its worker died and
 * may have written some, unrecorded: they are redone next time). */
void render_report(const struct render_plan *rp, size_t item,
                   const struct ib_rendition_result *rr, const char *none,
                   struct cmd_json *j);

/* One rendition's object in a "renditions" array: path, and rr's outcome
 * when rr says one (skipped, not_run, failed, ok with its size and
 * bytes), else status st. */
void render_report_one(struct cmd_json *j, const struct cmd_image *img,
                       size_t k, const char *path,
                       const struct ib_rendition_result *rr, const char *st);

#endif
