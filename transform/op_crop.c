/*
 * transform/op_crop.c: --crop WxH+X+Y, the region W x H whose top-left
 * corner is (X, Y), clamped to the image as ImageMagick's -crop (+repage)
 * does. A region wholly outside the image is an item error, not an empty
 * image: no format can hold one.
 */
#include "transform/transform_int.h"

#include <string.h>

/* Digits up to the first byte not in "0123456789"; at most 1e9. */
static const char *parse_num(const char *s, int64_t *v)
{
    int64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > 1000000000)
            return NULL;
    }
    if (p == s)
        return NULL;
    *v = n;
    return p;
}

static int crop_parse(const char *arg, struct tf_op *op, char *msg,
                      size_t msglen)
{
    const char *p = parse_num(arg, &op->crop.width);
    if (p && *p == 'x')
        p = parse_num(p + 1, &op->crop.height);
    else
        p = NULL;
    if (p && *p == '+')
        p = parse_num(p + 1, &op->crop.x);
    else
        p = NULL;
    if (p && *p == '+')
        p = parse_num(p + 1, &op->crop.y);
    else
        p = NULL;
    if (!p || *p || op->crop.width == 0 || op->crop.height == 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "invalid --crop '%s' (want WxH+X+Y, W and H at "
                       "least 1)", arg);
    return 0;
}

static int crop_apply(const struct tf_op *op, const struct ib_image *in,
                      struct ib_image **out, char *msg, size_t msglen)
{
    uint64_t x = (uint64_t)op->crop.x, y = (uint64_t)op->crop.y;
    uint64_t w = (uint64_t)op->crop.width, h = (uint64_t)op->crop.height;

    if (x >= in->width || y >= in->height)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "--crop %" PRId64 "x%" PRId64 "+%" PRId64 "+%" PRId64
                       " is outside the %" PRIu32 "x%" PRIu32 " image",
                       op->crop.width, op->crop.height, op->crop.x,
                       op->crop.y, in->width, in->height);
    if (w > in->width - x)
        w = in->width - x;
    if (h > in->height - y)
        h = in->height - y;

    size_t ch = in->channels;
    struct ib_image *o = ib_image_new((uint32_t)w, (uint32_t)h, in->channels);
    if (!o)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    for (uint32_t r = 0; r < o->height; r++)
        memcpy(o->px + r * o->stride,
               in->px + (size_t)(y + r) * in->stride + (size_t)x * ch,
               (size_t)w * ch);
    *out = o;
    return 0;
}

const struct tf_op_def tf_op_crop = {
    .name = "crop",
    .arg = "WxH+X+Y",
    .help = "keep the WxH region at X,Y (clamped to the image)",
    .parse = crop_parse,
    .apply = crop_apply,
};
