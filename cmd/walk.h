/*
 * cmd/walk.h: turns transform's INPUT arguments into a sorted list of items,
 * each with its output path.
 *
 * A file is an item when its content starts like a format transform/ can
 * read or its name has the extension of one (so a broken "photo.jpg" is
 * reported, not silently dropped); any other file inside a folder (a GIF
 * too) is counted in not_images and skipped, while a file named on the
 * command line is always an item ("GIF is not supported"). Folders are
 * recursed in name order; dot-files, symlinked folders (no loops) and the
 * output folder itself are not entered. A path given on the command line
 * that cannot be read becomes a failed item.
 */
#ifndef IB_CMD_WALK_H
#define IB_CMD_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "transform/transform.h"

struct walk_item {
    char *path;    /* owned: as given or found */
    char *rel;     /* owned: relative to its root, the key for --shard */
    char *out;     /* owned: OUT/rel with the extension set */
    size_t out_rel;   /* out + out_rel: the output's path below OUT */
    const char *out_name;   /* borrowed: out + out_rel */
    char *error;   /* owned: why it fails before decoding, or NULL */
    int format;    /* enum ib_format of the input, from its content */
    uint64_t recipe;  /* the caller's: the recipe its output is made by */
    int name_mode;    /* enum walk_name_mode its name was planned in */
};

struct walk {
    const char *out_root;   /* borrowed */
    int format;             /* enum ib_format of every output; UNKNOWN:
                               each its input's (ib_format_output) */
    const enum ib_format *formats;   /* borrowed, may be NULL: every format outputs
                               take (renditions), names planned for all */
    size_t nformats;
    struct walk_item *items;   /* owned, n of them */
    size_t n, cap;
    size_t not_images;
    dev_t out_dev;
    ino_t out_ino;
};

void walk_init(struct walk *w, const char *out_root, int format);
/* Adds what arg names; problems become failed items. */
void walk_add(struct walk *w, const char *arg);
/* After the last walk_add: names every output from the whole list (see
 * walk_names_plan) and sorts the items by output; an input named twice
 * (one rel from two roots) fails the second time. */
void walk_finish(struct walk *w);
void walk_release(struct walk *w);

/*
 * Output names, one rule for transform and run. An output is named after
 * its input (its path below its root, or its download's name) by
 * transform/'s rule (ib_output_ext: the extension replaced by the output
 * format's, or kept when it already says that format, .jpeg, .JPG).
 * Names are decided from the whole list before any item is made, so they
 * never depend on which item comes first:
 *   - items that would share a name (a.png and a.jpg under --format jpeg)
 *     all keep their whole name and add the format's: a.png.jpg, a.jpg.jpg;
 *   - items that still share one get "-<8 hex of their key>" before the
 *     extension: a-1f3e9c0b.jpg;
 *   - a stem with no letter, digit or non-ASCII character (after making
 *     safe, e.g. "_-_") becomes "image-<8 hex of the key>".
 */
enum walk_name_mode { WALK_NAME_PLAIN, WALK_NAME_WHOLE, WALK_NAME_HASHED };
struct walk_name {
    const char *name;   /* borrowed: "dir/file" below the root, or a file */
    const char *key;    /* borrowed: URL or rel; equal keys: one item */
    unsigned formats;   /* 1 << enum ib_format: each format it may take */
    int mode;           /* set by walk_names_plan */
    int clash;          /* set if no name is free (keys hash alike) */
};
void walk_names_plan(struct walk_name *v, size_t n);
/* v's output name (malloc'd; NULL out of memory) in format f (an enum
 * ib_format; UNKNOWN keeps the extension) under mode. */
char *walk_name_make(const struct walk_name *v, int mode, int f);

/* mkdir -p, following symlinks (for folders the user named); 0 or -1
 * with errno. */
int walk_make_dir(const char *path);
/*
 * Makes (if missing) and opens the folder name, one component, in root
 * without following a symlink: an fd, or -1 with errno (ELOOP: name is a
 * symlink).
 */
int walk_open_below(int root, const char *name);

#endif
