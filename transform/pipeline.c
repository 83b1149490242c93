/* transform/pipeline.c: ops parsed up front, applied in order. */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

struct ib_pipeline {
    struct tf_op *ops;   /* owned, n of them */
    size_t n, cap;
    enum tf_filter filter;
    int upscale;
};

struct ib_pipeline *ib_pipeline_new(void)
{
    return calloc(1, sizeof(struct ib_pipeline));
}

void ib_pipeline_free(struct ib_pipeline *p)
{
    if (!p)
        return;
    free(p->ops);
    free(p);
}

size_t ib_pipeline_len(const struct ib_pipeline *p)
{
    return p->n;
}

const struct tf_op *tf_pipeline_op(const struct ib_pipeline *p, size_t k)
{
    return k < p->n ? &p->ops[k] : NULL;
}

int ib_op_info(size_t i, const char **name, const char **arg,
               const char **help)
{
    const struct tf_op_def *d = tf_op_at(i);
    if (!d)
        return -1;
    *name = d->name;
    *arg = d->arg;
    *help = d->help;
    return 0;
}

int ib_pipeline_add(struct ib_pipeline *p, const char *name, const char *arg,
                    char *msg, size_t msglen)
{
    const struct tf_op_def *d = tf_op_find(name);
    struct tf_op op;

    if (!d)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "unknown operation '%s'", name);
    if (d->arg && !arg)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "--%s needs a value (%s)", name, d->arg);
    memset(&op, 0, sizeof op);
    op.def = d;
    op.filter = p->filter;
    op.upscale = p->upscale;
    if (d->parse) {
        int rc = d->parse(arg, &op, msg, msglen);
        if (rc)
            return rc;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct tf_op *ops = realloc(p->ops, cap * sizeof *ops);
        if (!ops)
            return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
        p->ops = ops;
        p->cap = cap;
    }
    p->ops[p->n++] = op;
    return 0;
}

int ib_pipeline_set_filter(struct ib_pipeline *p, const char *filter,
                           char *msg, size_t msglen)
{
    static const char *const names[] = {"lanczos3", "mitchell", "bilinear",
                                        "box"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(filter, names[i]))
            continue;
        /* --filter applies to every resize, wherever it stands */
        p->filter = (enum tf_filter)i;
        for (size_t k = 0; k < p->n; k++)
            p->ops[k].filter = p->filter;
        return 0;
    }
    return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                   "invalid --filter '%s' (lanczos3, mitchell, bilinear or "
                   "box)", filter);
}

void ib_pipeline_set_upscale(struct ib_pipeline *p, int upscale)
{
    p->upscale = upscale;
    for (size_t k = 0; k < p->n; k++)
        p->ops[k].upscale = upscale;
}

int ib_pipeline_apply(const struct ib_pipeline *p, struct ib_image **img,
                      char *msg, size_t msglen)
{
    struct ib_image *cur = *img;
    for (size_t k = 0; k < p->n; k++) {
        const struct tf_op_def *def = p->ops[k].def;
        struct ib_image *next = NULL;
        int rc;

        /* in place: no second image of this size at once */
        if (def->apply_inplace) {
            rc = def->apply_inplace(&p->ops[k], cur, msg, msglen);
            next = cur;
        } else {
            rc = def->apply(&p->ops[k], cur, &next, msg, msglen);
        }
        if (cur != *img && (rc || next != cur))
            ib_image_free(cur);
        if (rc)
            return rc;
        cur = next;
    }
    if (cur != *img) {
        ib_image_free(*img);
        *img = cur;
    }
    return 0;
}

void ib_pipeline_min_input(const struct ib_pipeline *p, uint32_t w,
                           uint32_t h, uint32_t *min_w, uint32_t *min_h)
{
    *min_w = w;
    *min_h = h;
    if (p->n == 0 || !p->ops[0].def->size)
        return;
    uint32_t tw, th;
    p->ops[0].def->size(&p->ops[0], w, h, &tw, &th);
    /* leave the resampler at least 2x, as libvips does */
    if ((uint64_t)tw * 2 < w)
        *min_w = tw * 2;
    if ((uint64_t)th * 2 < h)
        *min_h = th * 2;
}

int ib_pipeline_out_size(const struct ib_pipeline *p, uint32_t w, uint32_t h,
                         uint32_t *ow, uint32_t *oh)
{
    for (size_t k = 0; k < p->n; k++) {
        if (!p->ops[k].def->size)
            return -1;
        p->ops[k].def->size(&p->ops[k], w, h, &w, &h);
    }
    *ow = w;
    *oh = h;
    return 0;
}

int ib_pipeline_derive(const struct ib_pipeline *p, const struct ib_image *in,
                       struct ib_image **out, char *msg, size_t msglen)
{
    struct ib_image *cur;
    size_t k = 0;
    int rc;

    if (p->n && !p->ops[0].def->apply_inplace) {
        /* the first op makes a new image: in is only read */
        rc = p->ops[0].def->apply(&p->ops[0], in, &cur, msg, msglen);
        if (rc)
            return rc;
        k = 1;
    } else {
        cur = ib_image_new(in->width, in->height, in->channels);
        if (!cur)
            return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
        for (uint32_t y = 0; y < in->height; y++)
            memcpy(cur->px + y * cur->stride, in->px + y * in->stride,
                   (size_t)in->width * in->channels);
    }
    struct ib_pipeline rest = *p;
    rest.ops += k;
    rest.n -= k;
    rc = ib_pipeline_apply(&rest, &cur, msg, msglen);
    if (rc) {
        ib_image_free(cur);
        return rc;
    }
    *out = cur;
    return 0;
}
