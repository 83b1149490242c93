/*
 * transform/orient.c: the eight lossless geometric transforms, one remap.
 *
 * Every EXIF orientation, rotate and flip is "maybe transpose, then maybe
 * mirror x, then maybe mirror y" of the source coordinates, so one loop
 * serves them all.
 */
#include "transform/transform_int.h"

#include <string.h>

int ib_image_geom(const struct ib_image *in, int swap, int mirror_x,
                  int mirror_y, struct ib_image **out, char *msg,
                  size_t msglen)
{
    uint32_t ow = swap ? in->height : in->width;
    uint32_t oh = swap ? in->width : in->height;
    size_t ch = in->channels;
    struct ib_image *o = ib_image_new(ow, oh, in->channels);
    if (!o)
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for a %" PRIu32 "x%" PRIu32 " image",
                       ow, oh);
    for (uint32_t oy = 0; oy < oh; oy++) {
        unsigned char *dst = o->px + oy * o->stride;
        if (!swap) {
            uint32_t sy = mirror_y ? in->height - 1 - oy : oy;
            const unsigned char *src = in->px + sy * in->stride;
            if (!mirror_x) {
                memcpy(dst, src, (size_t)ow * ch);
                continue;
            }
            for (uint32_t ox = 0; ox < ow; ox++)
                memcpy(dst + ox * ch, src + (size_t)(ow - 1 - ox) * ch, ch);
            continue;
        }
        /* transposed: output row oy is source column sx */
        uint32_t sx = mirror_x ? in->width - 1 - oy : oy;
        for (uint32_t ox = 0; ox < ow; ox++) {
            uint32_t sy = mirror_y ? in->height - 1 - ox : ox;
            memcpy(dst + (size_t)ox * ch,
                   in->px + sy * in->stride + (size_t)sx * ch, ch);
        }
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
    return ib_image_geom(img, t[orientation][0], t[orientation][1],
                         t[orientation][2], out, msg, msglen);
}
