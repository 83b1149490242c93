/*
 * transform/op_sharpen.c: --sharpen SIGMA[,AMOUNT], an unsharp mask:
 * out = in + AMOUNT * (in - blur(in, SIGMA)), as ImageMagick's
 * -unsharp 0xSIGMA+AMOUNT+0. AMOUNT defaults to 1.
 *
 * Colour only: alpha is copied, since a sharpened edge of transparency
 * would grow halos of half-transparent pixels. The blur (tf_blur) is
 * premultiplied, so transparent neighbours do not pull the mask.
 */
#include "transform/transform_int.h"

#include <errno.h>
#include <stdlib.h>

static int sharpen_parse(const char *arg, struct tf_op *op, char *msg,
                         size_t msglen)
{
    const char *end;
    int bad = tf_parse_sigma(arg, &end, &op->sharpen.sigma);

    op->sharpen.amount = 1.0;
    if (!bad && *end == ',') {
        bad = tf_parse_decimal(end + 1, &end, &op->sharpen.amount) ||
              op->sharpen.amount > 100.0;
    }
    if (bad || *end)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "invalid --sharpen '%s' (want SIGMA[,AMOUNT], SIGMA "
                       "above 0 and at most 1000, AMOUNT 0..100)", arg);
    return 0;
}

static int sharpen_apply(const struct tf_op *op, const struct ib_image *in,
                         struct ib_image **out, char *msg, size_t msglen)
{
    struct ib_image *b = NULL;
    uint32_t ch = in->channels;
    uint32_t colour = ch == 2 || ch == 4 ? ch - 1 : ch;
    float amount = (float)op->sharpen.amount;
    int rc = tf_blur(in, op->sharpen.sigma, &b, msg, msglen);

    if (rc)
        return rc;
    /* the mask is applied in place over the blurred copy */
    for (uint32_t y = 0; y < in->height; y++) {
        const unsigned char *s = in->px + (size_t)y * in->stride;
        unsigned char *d = b->px + (size_t)y * b->stride;
        for (uint32_t x = 0; x < in->width; x++, s += ch, d += ch) {
            for (uint32_t c = 0; c < colour; c++) {
                float v = (float)s[c] + amount * (float)(s[c] - d[c]);
                d[c] = v <= 0.0f ? 0 : v >= 255.0f ? 255
                                                   : (unsigned char)(v + 0.5f);
            }
            if (colour < ch)
                d[colour] = s[colour];
        }
    }
    *out = b;
    return 0;
}

const struct tf_op_def tf_op_sharpen = {
    .name = "sharpen",
    .arg = "SIGMA[,AMOUNT]",
    .help = "unsharp mask: in + AMOUNT * (in - blur(SIGMA)), AMOUNT 1 by "
            "default; alpha untouched",
    .parse = sharpen_parse,
    .apply = sharpen_apply,
};
