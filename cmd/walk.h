/*
 * cmd/walk.h: turns transform's INPUT arguments into a sorted list of items,
 * each with its output path.
 *
 * A file is an item when its content starts like a JPEG or PNG or its name
 * ends in .jpg/.jpeg/.png (so a broken "photo.jpg" is reported, not
 * silently dropped); any other file inside a folder is counted in
 * not_images and skipped. Folders are recursed in name order; dot-files,
 * symlinked folders (no loops) and the output folder itself are not
 * entered. A path given on the command line that cannot be read becomes a
 * failed item.
 */
#ifndef IB_CMD_WALK_H
#define IB_CMD_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct walk_item {
    char *path;    /* owned: as given or found */
    char *rel;     /* owned: relative to its root, the key for --shard */
    char *out;     /* owned: OUT/rel with the extension set */
    size_t out_rel;   /* out + out_rel: the output's path below OUT */
    char *error;   /* owned: why it fails before decoding, or NULL */
    int format;    /* enum ib_format of the input, from its content */
    uint64_t recipe;  /* the caller's: the recipe its output is made by */
};

struct walk {
    const char *out_root;   /* borrowed */
    const char *ext;        /* borrowed: ".jpg"/".png", NULL keeps format */
    struct walk_item *items;   /* owned, n of them */
    size_t n, cap;
    size_t not_images;
    dev_t out_dev;
    ino_t out_ino;
};

void walk_init(struct walk *w, const char *out_root, const char *ext);
/* Adds what arg names; problems become failed items. Sorted at the end of
 * each call; two items with one output: the later fails. */
void walk_add(struct walk *w, const char *arg);
void walk_release(struct walk *w);

/* mkdir -p; 0 or -1 with errno. */
int walk_make_dir(const char *path);

#endif
