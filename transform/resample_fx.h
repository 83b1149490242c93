/*
 * transform/resample_fx.h: the fixed-point resampler under op_resize.c,
 * shared between transform/ files only (see transform_int.h for naming).
 */
#ifndef TRANSFORM_RESAMPLE_FX_H
#define TRANSFORM_RESAMPLE_FX_H

#include "transform/transform_int.h"

#include <stddef.h>
#include <stdint.h>

/* One axis as op_resize.c builds it: for output o, n[o] float weights
 * w[o * maxn ..] over samples start[o] .. start[o] + n[o] - 1, summing
 * to 1. */
struct tf_fx_axis {
    const uint32_t *start, *n;
    float *w;       /* written over when tf_resample_fx returns 0 or -1 */
    uint32_t maxn;
};

/* Source rows of width * channels bytes, asked for in increasing order
 * of output row; row(ctx, r) stays valid until rows beyond r + the
 * vertical taps are asked for. */
typedef const unsigned char *(*tf_fx_row_fn)(void *ctx, uint32_t r);

/*
 * Resamples width x height samples of channels (1 or 3, no alpha) read
 * through row() into out (ow x oh, ostride bytes a row) with ax and ay
 * in 16-bit fixed point. Returns 0 when done, 1 when it does not apply
 * (other channel counts, a weight table that 16 bits cannot hold: the
 * caller then uses floats), before any row is asked for and with the
 * axes untouched; -1 when memory is short.
 */
int tf_resample_fx(uint32_t width, uint32_t height, uint32_t channels,
                   tf_fx_row_fn row, void *ctx, struct tf_fx_axis *ax,
                   struct tf_fx_axis *ay, unsigned char *out,
                   uint32_t ow, uint32_t oh, size_t ostride);

/* tf_resample (full 0) or tf_resample_full (full 1), transform_int.h,
 * in the float loops alone whatever the channels (op_resize.c): the
 * reference the fixed point is tested against. */
int tf_resample_float(const struct ib_image *in, uint32_t w, uint32_t h,
                      enum tf_filter f, int full, struct ib_image **out,
                      char *msg, size_t msglen);

#endif
