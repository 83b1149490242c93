/*
 * cmd/recipe.h: an output is a recipe applied to an input. The recipe is
 * everything besides the input's bytes that decides the output's bytes:
 * the ops with their arguments in order, --filter, --upscale, the output
 * format and that format's encoder options, orientation, --strip and
 * shrink-on-load. Not --procs, --engine, --max-pixels or the limits: they
 * decide whether an output is made, never what it holds.
 *
 * transform and run record the recipe's hash beside each output they make
 * and redo an output whose recorded hash differs from this run's, or that
 * has none (made before recipes were recorded): "recipe unknown".
 */
#ifndef IB_CMD_RECIPE_H
#define IB_CMD_RECIPE_H

#include "cmd/cmd.h"

#include <stdint.h>

/*
 * Bump when the recipe's text changes meaning or shape, or when the same
 * options start making different bytes: every recorded hash then differs,
 * so every output is redone once.
 */
#define CMD_RECIPE_FORMAT 2   /* 2: the fixed-point resampler (outputs
                                 resized without alpha differ by rounding) */

/*
 * The canonical text of img's recipe for an output in format out (an
 * input's format when --format is same), e.g.
 *   "imgbatch-recipe/2 ops=resize=5:10x10;flip; filter=lanczos3 ..."
 * Only the options of format out are in it (--quality is not in a PNG's
 * recipe). Op arguments are kept as typed: "--blur 1" and "--blur 1.0"
 * differ, which costs one redo, never a stale output. Returns a malloc'd
 * string the caller frees, or NULL when memory is short.
 */
char *cmd_recipe_text(const struct cmd_image *img, enum ib_format out,
                      const char *size);

/* The 64-bit hash of that text; never 0 (0 means "recipe unknown").
 * size: a rendition's size and what its bytes depend on besides (" size=
 * 480w from=960w,1920w" ends the text: see render.c), or NULL for none,
 * as every output had before renditions. */
uint64_t cmd_recipe_hash(const struct cmd_image *img, enum ib_format out,
                         const char *size);

/* The format an input of in_format is written in under img. */
enum ib_format cmd_recipe_format(const struct cmd_image *img,
                                 enum ib_format in_format);

/*
 * transform's record of the recipe that made each output (cmd/stamp.c):
 * the hash in the output's extended attribute user.imgbatch.recipe, so
 * OUT holds nothing but outputs. Where a file system keeps no extended
 * attributes, a line "<hash>\t<name>" in OUT/.imgbatch-transform[-K-of-N]
 * .tsv instead (name relative to OUT; of one name's lines the last wins),
 * appended by the workers with one write() per line and compacted by
 * close. An output is fresh when it carries its input's mtime
 * (cmd_output_fresh) and its record names this run's recipe. Outputs
 * from before recipes were recorded have none: recipe unknown, redone once.
 */
struct cmd_stamps;
/* Reads dir/file if it exists; NULL with msg if it cannot be read. */
struct cmd_stamps *cmd_stamps_open(const char *dir, const char *file,
                                   char *msg, size_t msglen);
/* 1 if out is fresh for in (mtime) and was made by recipe, else 0. */
int cmd_stamps_fresh(const struct cmd_stamps *st, const char *in,
                     const char *out, const char *name, uint64_t recipe);
/*
 * After out is renamed into place: records recipe for name, then stamps
 * out with in's mtime (a kill between the two leaves out stale: redone).
 * 0, or -1 with errno.
 */
int cmd_stamps_stamp(struct cmd_stamps *st, const char *in, const char *out,
                     const char *name, uint64_t recipe);
/* Why out must be made, for --dry-run: "not made yet", "its recipe
 * changed", "its recipe is unknown", "its input changed"; NULL: fresh. */
const char *cmd_stamps_why(const struct cmd_stamps *st, const char *in,
                           const char *out, const char *name,
                           uint64_t recipe);
/* Frees without writing anything (a dry run). */
void cmd_stamps_discard(struct cmd_stamps *st);
/* Compacts and frees; st NULL does nothing. 0, or -1 with msg. */
int cmd_stamps_close(struct cmd_stamps *st, char *msg, size_t msglen);

#endif
