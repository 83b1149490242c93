/* transform/ops.c: the op table. One row per op; the op is op_<name>.c. */
#include "transform/transform_int.h"

#include <string.h>

static const struct ib_op_def *const ops[] = {
    &ib_op_resize,
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
