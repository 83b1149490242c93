/*
 * transform/op_rotate.c: --rotate 90|180|270, clockwise, lossless.
 *
 * In tf_image_geom's terms (transpose, then mirror): a quarter turn
 * clockwise puts source row sy at output column H-1-sy, i.e. transpose then
 * mirror the output's columns (mirror_y of the transposed source).
 */
#include "transform/transform_int.h"

#include <string.h>

static int rotate_parse(const char *arg, struct tf_op *op, char *msg,
                        size_t msglen)
{
    if (!strcmp(arg, "90"))
        op->rotate.quarter_turns = 1;
    else if (!strcmp(arg, "180"))
        op->rotate.quarter_turns = 2;
    else if (!strcmp(arg, "270"))
        op->rotate.quarter_turns = 3;
    else
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "invalid --rotate '%s' (want 90, 180 or 270)", arg);
    return 0;
}

static int rotate_apply(const struct tf_op *op, const struct ib_image *in,
                        struct ib_image **out, char *msg, size_t msglen)
{
    switch (op->rotate.quarter_turns) {
    case 1:
        return tf_image_geom(in, 1, 0, 1, out, msg, msglen);
    case 2:
        return tf_image_geom(in, 0, 1, 1, out, msg, msglen);
    default:
        return tf_image_geom(in, 1, 1, 0, out, msg, msglen);
    }
}

const struct tf_op_def tf_op_rotate = {
    .name = "rotate",
    .arg = "DEG",
    .help = "rotate clockwise by 90, 180 or 270 degrees (lossless)",
    .parse = rotate_parse,
    .apply = rotate_apply,
};
