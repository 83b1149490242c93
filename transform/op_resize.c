/*
 * transform/op_resize.c: --resize and the separable resampler under it.
 *
 * --resize WxH    fit inside WxH, keep the aspect ratio (W or H may be
 *                 omitted: "640", "640x", "x480")
 * --resize WxH!   exactly WxH, enlarging an axis if need be
 * --resize WxH^   cover WxH, keep the aspect, then crop the centre to WxH
 * Apart from WxH!, never upscales unless --upscale.
 *
 * Parameters: i[0] = W (0: omitted), i[1] = H (0: omitted), i[2] = mode.
 *
 * The resampler goes row by row: for each output row, the input rows under
 * the vertical kernel are summed into one float row (premultiplied by
 * alpha when there is alpha), then the horizontal kernel runs over that
 * row. Weights are computed once per axis. Memory is one float row beside
 * the input and output images; the cost per pixel is the same as
 * horizontal-first but nothing of image size is buffered.
 */
#include "transform/transform_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FIT = 0, EXACT, COVER };

/* One axis: for output o, taps start[o] .. start[o] + n[o] - 1. */
struct axis {
    uint32_t *start, *n;
    float *w;          /* owned: maxn weights per output, zero-padded */
    uint32_t maxn;
};

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x *= 3.14159265358979323846;
    return sin(x) / x;
}

static double kernel(enum ib_filter f, double x)
{
    x = fabs(x);
    switch (f) {
    case IB_FILTER_LANCZOS3:
        return x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
    case IB_FILTER_MITCHELL: {
        /* Mitchell-Netravali, B = C = 1/3 */
        const double B = 1.0 / 3, C = 1.0 / 3;
        if (x < 1.0)
            return ((12 - 9 * B - 6 * C) * x * x * x +
                    (-18 + 12 * B + 6 * C) * x * x + (6 - 2 * B)) / 6;
        if (x < 2.0)
            return ((-B - 6 * C) * x * x * x + (6 * B + 30 * C) * x * x +
                    (-12 * B - 48 * C) * x + (8 * B + 24 * C)) / 6;
        return 0.0;
    }
    case IB_FILTER_BILINEAR:
        return x < 1.0 ? 1.0 - x : 0.0;
    case IB_FILTER_BOX:
        return x <= 0.5 ? 1.0 : 0.0;
    }
    return 0.0;
}

static double support(enum ib_filter f)
{
    switch (f) {
    case IB_FILTER_LANCZOS3: return 3.0;
    case IB_FILTER_MITCHELL: return 2.0;
    case IB_FILTER_BILINEAR: return 1.0;
    case IB_FILTER_BOX: return 0.5;
    }
    return 1.0;
}

/* Frees and clears, so releasing twice (or after a failed init) is safe. */
static void axis_release(struct axis *a)
{
    free(a->start);
    free(a->n);
    free(a->w);
    a->start = a->n = NULL;
    a->w = NULL;
}

/*
 * Weights mapping in -> out samples. Pixel centres are aligned
 * ((o + 0.5) * in / out - 0.5); when shrinking the kernel is stretched by
 * the scale so it low-passes. Taps outside the image are dropped and the
 * rest renormalised, which keeps edges unbiased. On failure the caller
 * still releases a.
 */
static int axis_init(struct axis *a, uint32_t in, uint32_t out,
                     enum ib_filter f)
{
    double scale = (double)in / out;
    double stretch = scale > 1.0 ? scale : 1.0;
    double sup = support(f) * stretch;
    uint32_t maxn = (uint32_t)ceil(2 * sup) + 2;
    if (maxn > in)
        maxn = in;

    a->maxn = maxn;
    a->start = malloc(out * sizeof *a->start);
    a->n = malloc(out * sizeof *a->n);
    a->w = calloc((size_t)out * maxn, sizeof *a->w);
    if (!a->start || !a->n || !a->w)
        return -1;
    for (uint32_t o = 0; o < out; o++) {
        double c = (o + 0.5) * scale - 0.5;
        long lo = (long)floor(c - sup + 1e-9);
        long hi = (long)ceil(c + sup - 1e-9);
        if (lo < 0)
            lo = 0;
        if (hi > (long)in - 1)
            hi = (long)in - 1;
        if (hi - lo + 1 > (long)maxn)
            hi = lo + maxn - 1;
        float *w = a->w + (size_t)o * maxn;
        double sum = 0.0;
        for (long i = lo; i <= hi; i++) {
            double k = kernel(f, (i - c) / stretch);
            w[i - lo] = (float)k;
            sum += k;
        }
        if (sum == 0.0) {   /* a box narrower than a pixel: nearest */
            long i = lrint(c);
            if (i < lo)
                i = lo;
            if (i > hi)
                i = hi;
            memset(w, 0, maxn * sizeof *w);
            w[i - lo] = 1.0f;
            sum = 1.0;
        }
        for (long i = lo; i <= hi; i++)
            w[i - lo] = (float)(w[i - lo] / sum);
        a->start[o] = (uint32_t)lo;
        a->n[o] = (uint32_t)(hi - lo + 1);
    }
    return 0;
}

/*
 * The two inner loops get an AVX2+FMA clone beside the baseline one, picked
 * at load time (ifunc): 4000x3000 -> 1024x768 RGB takes 28.7 ms instead of
 * 37.5 ms here. FMA rounds differently, so outputs may differ by one level
 * between machines with and without AVX2; on one machine they are fixed.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(IB_NO_CLONES)
#define IB_HOT_CLONES __attribute__((target_clones("arch=x86-64-v3", \
                                                   "default")))
#else
#define IB_HOT_CLONES
#endif

static inline unsigned char clamp_u8(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 255.0f)
        return 255;
    return (unsigned char)(v + 0.5f);
}

/* acc[0 .. n) += w * src[0 .. n) as floats; the loop the compiler vectorises */
IB_HOT_CLONES
static void accumulate(float *restrict acc, const unsigned char *restrict src,
                       size_t n, float w)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += w * (float)src[i];
}

/* The same, with colour premultiplied by alpha (the last channel). */
IB_HOT_CLONES
static void accumulate_alpha(float *restrict acc,
                             const unsigned char *restrict src, size_t px,
                             uint32_t ch, float w)
{
    for (size_t x = 0; x < px; x++) {
        const unsigned char *s = src + x * ch;
        float *d = acc + x * ch;
        float a = w * (float)s[ch - 1];
        for (uint32_t c = 0; c + 1 < ch; c++)
            d[c] += a * (float)s[c];
        d[ch - 1] += a;
    }
}

/*
 * One output row from the vertically summed row acc (iw * ch floats). The
 * channel count is a constant in each instance (see horizontal()), so the
 * per-tap channel loop unrolls into straight multiply-adds.
 */
static inline void horizontal_ch(const struct axis *ax, const float *acc,
                                 uint32_t ow, const uint32_t ch, int alpha,
                                 unsigned char *dst)
{
    for (uint32_t x = 0; x < ow; x++) {
        const float *w = ax->w + (size_t)x * ax->maxn;
        const float *s = acc + (size_t)ax->start[x] * ch;
        float sum[4] = {0, 0, 0, 0};
        uint32_t n = ax->n[x];
        for (uint32_t k = 0; k < n; k++)
            for (uint32_t c = 0; c < ch; c++)
                sum[c] += w[k] * s[(size_t)k * ch + c];
        unsigned char *d = dst + (size_t)x * ch;
        if (!alpha) {
            for (uint32_t c = 0; c < ch; c++)
                d[c] = clamp_u8(sum[c]);
            continue;
        }
        /* colour sums hold colour * alpha; alpha sums hold alpha */
        float a = sum[ch - 1];
        for (uint32_t c = 0; c + 1 < ch; c++)
            d[c] = a > 0.0f ? clamp_u8(sum[c] / a) : 0;
        d[ch - 1] = clamp_u8(a);
    }
}

IB_HOT_CLONES
static void horizontal(const struct axis *ax, const float *acc, uint32_t ow,
                       uint32_t ch, int alpha, unsigned char *dst)
{
    switch (ch) {
    case 1: horizontal_ch(ax, acc, ow, 1, 0, dst); break;
    case 2: horizontal_ch(ax, acc, ow, 2, alpha, dst); break;
    case 3: horizontal_ch(ax, acc, ow, 3, 0, dst); break;
    default: horizontal_ch(ax, acc, ow, 4, alpha, dst); break;
    }
}

int ib_resample(const struct ib_image *in, uint32_t w, uint32_t h,
                enum ib_filter f, struct ib_image **out, char *msg,
                size_t msglen)
{
    struct axis ax = {0}, ay = {0};
    struct ib_image *o = NULL;
    float *acc = NULL;
    uint32_t ch = in->channels;
    int alpha = ch == 2 || ch == 4;
    size_t rowlen = (size_t)in->width * ch;
    int rc = IB_TRANSFORM_ENOMEM;

    if (w == 0 || h == 0)
        return ib_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "cannot resize to an empty image");
    o = ib_image_new(w, h, ch);
    acc = malloc(rowlen * sizeof *acc);
    if (!o || !acc || axis_init(&ax, in->width, w, f) ||
        axis_init(&ay, in->height, h, f))
        goto done;

    for (uint32_t y = 0; y < h; y++) {
        const float *wy = ay.w + (size_t)y * ay.maxn;
        memset(acc, 0, rowlen * sizeof *acc);
        for (uint32_t k = 0; k < ay.n[y]; k++) {
            const unsigned char *src =
                in->px + (size_t)(ay.start[y] + k) * in->stride;
            if (alpha)
                accumulate_alpha(acc, src, in->width, ch, wy[k]);
            else
                accumulate(acc, src, rowlen, wy[k]);
        }
        horizontal(&ax, acc, w, ch, alpha, o->px + (size_t)y * o->stride);
    }
    *out = o;
    o = NULL;
    rc = 0;
done:
    if (rc)
        ib_fail(msg, msglen, rc, "out of memory resizing to %" PRIu32
                "x%" PRIu32, w, h);
    ib_image_free(o);
    free(acc);
    axis_release(&ax);
    axis_release(&ay);
    return rc;
}

static int parse_dim(const char *s, const char *end, int64_t *v)
{
    int64_t n = 0;
    if (s == end) {
        *v = 0;
        return 0;
    }
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
        if (n > 1000000)
            return -1;
    }
    if (n == 0)
        return -1;
    *v = n;
    return 0;
}

static int resize_parse(const char *arg, struct ib_op *op, char *msg,
                        size_t msglen)
{
    size_t len = arg ? strlen(arg) : 0;
    const char *end = arg + len;
    op->i[1] = 0;
    op->i[2] = FIT;
    if (len && (end[-1] == '!' || end[-1] == '^')) {
        op->i[2] = end[-1] == '!' ? EXACT : COVER;
        end--;
    }
    const char *x = memchr(arg, 'x', (size_t)(end - arg));
    int bad = len == 0;
    if (!bad && x)
        bad = parse_dim(arg, x, &op->i[0]) || parse_dim(x + 1, end, &op->i[1]);
    else if (!bad)
        bad = parse_dim(arg, end, &op->i[0]);
    if (!bad && op->i[0] == 0 && op->i[1] == 0)
        bad = 1;
    if (!bad && op->i[2] != FIT && (op->i[0] == 0 || op->i[1] == 0))
        bad = 1;
    if (bad)
        return ib_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "invalid --resize '%s' (want WxH, W, xH, WxH! or "
                       "WxH^, sizes 1..1000000)", arg ? arg : "");
    return 0;
}

static uint32_t scaled(uint32_t v, double s)
{
    double r = floor(v * s + 0.5);
    return r < 1.0 ? 1 : (uint32_t)r;
}

/* The size resize resamples to (before COVER's crop). */
static void resize_size(const struct ib_op *op, uint32_t w, uint32_t h,
                        uint32_t *ow, uint32_t *oh)
{
    double sx = op->i[0] ? (double)op->i[0] / w : 0.0;
    double sy = op->i[1] ? (double)op->i[1] / h : 0.0;
    double s;

    /* "!" asks for exactly WxH, as ImageMagick's, whatever --upscale says */
    if (op->i[2] == EXACT) {
        *ow = (uint32_t)op->i[0];
        *oh = (uint32_t)op->i[1];
        return;
    }
    if (op->i[2] == COVER)
        s = sx > sy ? sx : sy;
    else if (!op->i[0])
        s = sy;
    else if (!op->i[1])
        s = sx;
    else
        s = sx < sy ? sx : sy;
    if (!op->upscale && s > 1.0)
        s = 1.0;
    *ow = scaled(w, s);
    *oh = scaled(h, s);
    /* in fit mode rounding must not overshoot the box */
    if (op->i[2] == FIT) {
        if (op->i[0] && *ow > op->i[0])
            *ow = (uint32_t)op->i[0];
        if (op->i[1] && *oh > op->i[1])
            *oh = (uint32_t)op->i[1];
    }
    if (op->i[2] == COVER) {
        /* never below the box on either axis, so the crop is full */
        if (*ow < op->i[0] && (op->upscale || op->i[0] <= w))
            *ow = (uint32_t)op->i[0];
        if (*oh < op->i[1] && (op->upscale || op->i[1] <= h))
            *oh = (uint32_t)op->i[1];
    }
}

static int copy_region(const struct ib_image *in, uint32_t x, uint32_t y,
                       uint32_t w, uint32_t h, struct ib_image **out,
                       char *msg, size_t msglen)
{
    struct ib_image *o = ib_image_new(w, h, in->channels);
    if (!o)
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    for (uint32_t r = 0; r < h; r++)
        memcpy(o->px + r * o->stride,
               in->px + (size_t)(y + r) * in->stride + (size_t)x * in->channels,
               (size_t)w * in->channels);
    *out = o;
    return 0;
}

static int resize_apply(const struct ib_op *op, const struct ib_image *in,
                        struct ib_image **out, char *msg, size_t msglen)
{
    uint32_t w, h;
    struct ib_image *r = NULL;
    int rc;

    resize_size(op, in->width, in->height, &w, &h);
    if (w == in->width && h == in->height)
        rc = copy_region(in, 0, 0, w, h, &r, msg, msglen);
    else
        rc = ib_resample(in, w, h, op->filter, &r, msg, msglen);
    if (rc || op->i[2] != COVER)
        goto done;

    uint32_t cw = (uint32_t)op->i[0] < w ? (uint32_t)op->i[0] : w;
    uint32_t chh = (uint32_t)op->i[1] < h ? (uint32_t)op->i[1] : h;
    if (cw != w || chh != h) {
        struct ib_image *c = NULL;
        rc = copy_region(r, (w - cw) / 2, (h - chh) / 2, cw, chh, &c, msg,
                         msglen);
        ib_image_free(r);
        r = c;
    }
done:
    if (!rc)
        *out = r;
    return rc;
}

const struct ib_op_def ib_op_resize = {
    .name = "resize",
    .arg = "WxH",
    .help = "fit inside WxH keeping aspect (W or H may be omitted); WxH! "
            "exactly WxH; WxH^ cover and crop the centre; apart from WxH!, "
            "never upscales unless --upscale",
    .parse = resize_parse,
    .apply = resize_apply,
    .size = resize_size,
};
