/* transform/ops.c: the op table. One row per op; the op is op_<name>.c. */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

static const struct tf_op_def *const ops[] = {
    &tf_op_resize,
    &tf_op_crop,
    &tf_op_rotate,
    &tf_op_flip,
    &tf_op_flop,
    &tf_op_grayscale,
    &tf_op_blur,
    &tf_op_sharpen,
};
#define NOPS (sizeof ops / sizeof ops[0])

const struct tf_op_def *tf_op_find(const char *name)
{
    for (size_t i = 0; i < NOPS; i++)
        if (!strcmp(ops[i]->name, name))
            return ops[i];
    return NULL;
}

const struct tf_op_def *tf_op_at(size_t i)
{
    return i < NOPS ? ops[i] : NULL;
}

int tf_parse_decimal(const char *s, const char **end, double *v)
{
    /* digits, then optionally '.' and digits: no sign, blank, exponent,
     * hex or inf, which strtod alone would take */
    const char *p = s;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == s)
        return -1;
    if (*p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return -1;
    }
    char buf[64];
    if ((size_t)(p - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(p - s));
    buf[p - s] = '\0';
    *v = strtod(buf, NULL);
    *end = p;
    return 0;
}
