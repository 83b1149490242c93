/*
 * transform/orient.c: the eight lossless geometric transforms, one remap.
 *
 * Every EXIF orientation, rotate and flip is "maybe transpose, then maybe
 * mirror x, then maybe mirror y" of the source coordinates, so one loop
 * serves them all.
 */
#include "transform/transform_int.h"

#include <string.h>

/* Source pixel for output (ox, oy) of a transposed remap. */
static inline const unsigned char *
transposed_src(const struct ib_image *in, uint32_t ox, uint32_t oy,
               int mirror_x, int mirror_y)
{
    uint32_t sx = mirror_x ? in->width - 1 - oy : oy;
    uint32_t sy = mirror_y ? in->height - 1 - ox : ox;
    return in->px + sy * in->stride + (size_t)sx * in->channels;
}

static inline void transpose_tiles(const struct ib_image *in,
                                   struct ib_image *o, size_t ch,
                                   int mirror_x, int mirror_y)
{
    enum { TILE = 32 };
    for (uint32_t ty = 0; ty < o->height; ty += TILE) {
        uint32_t ey = o->height - ty < TILE ? o->height : ty + TILE;
        for (uint32_t tx = 0; tx < o->width; tx += TILE) {
            uint32_t ex = o->width - tx < TILE ? o->width : tx + TILE;
            for (uint32_t oy = ty; oy < ey; oy++) {
                unsigned char *dst = o->px + oy * o->stride;
                for (uint32_t ox = tx; ox < ex; ox++)
                    memcpy(dst + (size_t)ox * ch,
                           transposed_src(in, ox, oy, mirror_x, mirror_y),
                           ch);
            }
        }
    }
}

int tf_image_geom(const struct ib_image *in, int swap, int mirror_x,
                  int mirror_y, struct ib_image **out, char *msg,
                  size_t msglen)
{
    uint32_t ow = swap ? in->height : in->width;
    uint32_t oh = swap ? in->width : in->height;
    size_t ch = in->channels;
    struct ib_image *o = ib_image_new(ow, oh, in->channels);
    if (!o)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for a %" PRIu32 "x%" PRIu32 " image",
                       ow, oh);
    if (!swap) {
        for (uint32_t oy = 0; oy < oh; oy++) {
            unsigned char *dst = o->px + oy * o->stride;
            uint32_t sy = mirror_y ? in->height - 1 - oy : oy;
            const unsigned char *src = in->px + sy * in->stride;
            if (!mirror_x) {
                memcpy(dst, src, (size_t)ow * ch);
                continue;
            }
            for (uint32_t ox = 0; ox < ow; ox++)
                memcpy(dst + ox * ch, src + (size_t)(ow - 1 - ox) * ch, ch);
        }
        *out = o;
        return 0;
    }
    /*
     * Transposed: output rows walk source columns. In tiles of 32x32 the
     * 32 source rows a tile touches stay in cache, where a plain row loop
     * would take a cache miss per pixel on a large image.
     */
    switch (ch) {   /* a constant size lets memcpy become one move */
    case 1: transpose_tiles(in, o, 1, mirror_x, mirror_y); break;
    case 2: transpose_tiles(in, o, 2, mirror_x, mirror_y); break;
    case 3: transpose_tiles(in, o, 3, mirror_x, mirror_y); break;
    default: transpose_tiles(in, o, 4, mirror_x, mirror_y); break;
    }
    *out = o;
    return 0;
}

int ib_image_orient(const struct ib_image *img, int orientation,
                    struct ib_image **out, char *msg, size_t msglen)
{
    /* swap, mirror_x, mirror_y for EXIF orientation 1..8 */
    static const unsigned char t[9][3] = {
        {0, 0, 0}, {0, 0, 0}, {0, 1, 0}, {0, 1, 1}, {0, 0, 1},
        {1, 0, 0}, {1, 0, 1}, {1, 1, 1}, {1, 1, 0},
    };
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    return tf_image_geom(img, t[orientation][0], t[orientation][1],
                         t[orientation][2], out, msg, msglen);
}
