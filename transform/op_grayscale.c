/*
 * transform/op_grayscale.c: --grayscale, Rec. 601 luma
 * Y' = 0.299 R' + 0.587 G' + 0.114 B' on the gamma-encoded values, as JPEG
 * (JFIF) and ImageMagick's Rec601Luma define it. RGB becomes 1 channel,
 * RGBA 2 (alpha kept as it is); grey images are copied. No parameters.
 */
#include "transform/transform_int.h"

#include <string.h>

/* 0.299, 0.587, 0.114 in 16-bit fixed point; they sum to 65536 so white
 * stays 255 */
enum { WR = 19595, WG = 38470, WB = 7471 };

static int grayscale_apply(const struct tf_op *op, const struct ib_image *in,
                           struct ib_image **out, char *msg, size_t msglen)
{
    uint32_t ch = in->channels;
    uint32_t och = ch >= 3 ? ch - 2 : ch;
    struct ib_image *o = ib_image_new(in->width, in->height, och);

    (void)op;
    if (!o)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    for (uint32_t y = 0; y < in->height; y++) {
        const unsigned char *s = in->px + (size_t)y * in->stride;
        unsigned char *d = o->px + (size_t)y * o->stride;
        if (ch < 3) {
            memcpy(d, s, (size_t)in->width * ch);
            continue;
        }
        for (uint32_t x = 0; x < in->width; x++, s += ch, d += och) {
            d[0] = (unsigned char)((WR * s[0] + WG * s[1] + WB * s[2] +
                                    32768u) >> 16);
            if (ch == 4)
                d[1] = s[3];
        }
    }
    *out = o;
    return 0;
}

const struct tf_op_def tf_op_grayscale = {
    .name = "grayscale",
    .arg = NULL,
    .help = "to grey by Rec. 601 luma (0.299 R + 0.587 G + 0.114 B); "
            "alpha is kept",
    .apply = grayscale_apply,
};
