/* transform/ops.c: the op table. One row per op; the op is op_<name>.c. */
#include "transform/transform_int.h"

#include <string.h>

static const struct ib_op_def *const ops[] = {
    &ib_op_resize,
    &ib_op_crop,
    &ib_op_rotate,
    &ib_op_flip,
    &ib_op_flop,
    &ib_op_grayscale,
    &ib_op_blur,
    &ib_op_sharpen,
};
#define NOPS (sizeof ops / sizeof ops[0])

const struct ib_op_def *ib_op_find(const char *name)
{
    for (size_t i = 0; i < NOPS; i++)
        if (!strcmp(ops[i]->name, name))
            return ops[i];
    return NULL;
}

const struct ib_op_def *ib_op_at(size_t i)
{
    return i < NOPS ? ops[i] : NULL;
}
