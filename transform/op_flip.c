/*
 * transform/op_flip.c: --flip (top <-> bottom) and --flop (left <-> right),
 * as ImageMagick's -flip and -flop. Both are lossless remaps through
 * tf_image_geom. No parameters.
 */
#include "transform/transform_int.h"

static int flip_apply(const struct tf_op *op, const struct ib_image *in,
                      struct ib_image **out, char *msg, size_t msglen)
{
    (void)op;
    return tf_image_geom(in, 0, 0, 1, out, msg, msglen);
}

static int flop_apply(const struct tf_op *op, const struct ib_image *in,
                      struct ib_image **out, char *msg, size_t msglen)
{
    (void)op;
    return tf_image_geom(in, 0, 1, 0, out, msg, msglen);
}

const struct tf_op_def tf_op_flip = {
    .name = "flip",
    .arg = NULL,
    .help = "mirror top to bottom (vertical flip)",
    .apply = flip_apply,
};

const struct tf_op_def tf_op_flop = {
    .name = "flop",
    .arg = NULL,
    .help = "mirror left to right (horizontal flip)",
    .apply = flop_apply,
};
