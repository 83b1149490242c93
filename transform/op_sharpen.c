/*
 * transform/op_sharpen.c: --sharpen SIGMA[,AMOUNT], an unsharp mask:
 * out = in + AMOUNT * (in - blur(in, SIGMA)), as ImageMagick's
 * -unsharp 0xSIGMA+AMOUNT+0. AMOUNT defaults to 1.
 *
 * Colour only: alpha is copied, since a sharpened edge of transparency
 * would grow halos of half-transparent pixels. The blur (tf_blur) is
 * premultiplied, so transparent neighbours do not pull the mask. The
 * mask is applied as the blur emits each row, over the image itself where
 * the pipeline allows (tf_blur_inplace), so sharpening at small sigma holds
 * no second image.
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

void tf_unsharp_row(unsigned char *dst, const unsigned char *src,
                    const unsigned char *blur, uint32_t w, uint32_t ch,
                    float amount)
{
    uint32_t colour = ch == 2 || ch == 4 ? ch - 1 : ch;

    for (uint32_t x = 0; x < w; x++, src += ch, blur += ch, dst += ch) {
        unsigned char a = src[colour < ch ? colour : 0];
        for (uint32_t c = 0; c < colour; c++) {
            float v = (float)src[c] + amount * (float)(src[c] - blur[c]);
            dst[c] = v <= 0.0f ? 0 : v >= 255.0f ? 255
                                                 : (unsigned char)(v + 0.5f);
        }
        if (colour < ch)
            dst[colour] = a;
    }
}

static int sharpen_apply_inplace(const struct tf_op *op, struct ib_image *img,
                                 char *msg, size_t msglen)
{
    float amount = (float)op->sharpen.amount;
    return tf_blur_inplace(img, op->sharpen.sigma, &amount, msg, msglen);
}

const struct tf_op_def tf_op_sharpen = {
    .name = "sharpen",
    .arg = "SIGMA[,AMOUNT]",
    .help = "unsharp mask: in + AMOUNT * (in - blur(SIGMA)), AMOUNT 1 by "
            "default; alpha untouched",
    .parse = sharpen_parse,
    .apply_inplace = sharpen_apply_inplace,
};
