/*
 * transform/op_resize.c: --resize and the separable resampler under it.
 *
 * --resize WxH    fit inside WxH, keep the aspect ratio (W or H may be
 *                 omitted: "640", "640x", "x480")
 * --resize WxH!   exactly WxH, enlarging an axis if need be
 * --resize WxH^   cover WxH, keep the aspect, then crop the centre to WxH
 * Apart from WxH!, never upscales unless --upscale.
 *
 * The resampler goes row by row: for each output row, the source rows under
 * the vertical kernel are summed into one float row (premultiplied by
 * alpha when there is alpha), then the horizontal kernel runs over that
 * row. Weights are computed once per axis. Images without alpha (1 or 3
 * channels: every JPEG) take the same steps in 16-bit fixed point with
 * SIMD loops (resample_fx.c), about 3x faster; the float loops here
 * remain for alpha and for weights 16 bits cannot hold.
 *
 * Shrinking an axis by 4x or more first box-averages it by an integer
 * factor k = floor(in / out / 2), as libvips's vips_shrink before
 * vips_reduce, so the filter only ever spans a factor of 2 to 3. The
 * reduced rows are made one at a time, each from its k input rows, into
 * a ring as tall as the vertical kernel. Memory beside the input image is
 * then a few rows of about 3x the output width and weight tables of about
 * 20 taps per output pixel, whatever the input size; without it a
 * 60,000,000x1 image resized to 50 wide needed a 1.4 GB weight table and
 * a 720 MB float row. The price: on smooth images the result is no longer
 * exactly the whole input filtered, but within 40 dB PSNR of it (48 dB or
 * more in the tests); below 4x nothing changes.
 */
#include "transform/transform_int.h"
#include "transform/resample_fx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static double kernel(enum tf_filter f, double x)
{
    x = fabs(x);
    switch (f) {
    case TF_FILTER_LANCZOS3:
        return x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
    case TF_FILTER_MITCHELL: {
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
    case TF_FILTER_BILINEAR:
        return x < 1.0 ? 1.0 - x : 0.0;
    case TF_FILTER_BOX:
        return x <= 0.5 ? 1.0 : 0.0;
    }
    return 0.0;
}

static double support(enum tf_filter f)
{
    switch (f) {
    case TF_FILTER_LANCZOS3: return 3.0;
    case TF_FILTER_MITCHELL: return 2.0;
    case TF_FILTER_BILINEAR: return 1.0;
    case TF_FILTER_BOX: return 0.5;
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
 * The weight of box-reduced sample i, input pixels i * box .. (i + 1) *
 * box - 1 (fewer at the end), for an output centred at input pixel c:
 * the kernel summed over those pixels (at 16 evenly spread points when
 * there are more), as filtering the whole input would give them. Weighing
 * the sample at its middle alone would put a short last block in the wrong
 * place and make a box filter spanning 2 or 3 samples off by half of one.
 */
static double block_weight(enum tf_filter f, uint32_t in, uint32_t box,
                           long i, double c, double scale)
{
    double a = (double)i * box;
    double n = fmin((double)box, in - a);
    int m = n < 16 ? (int)n : 16;
    double k = 0.0;

    for (int s = 0; s < m; s++)
        k += kernel(f, (a + (s + 0.5) * n / m - 0.5 - c) / scale);
    return k * n / m;
}

/*
 * Weights mapping a source of `in` samples, box-reduced by `box` (1: not
 * at all) to ceil(in / box) samples, to `out` samples, output o centred
 * at (o + 0.5) * scale + offset input pixels: pixel centres aligned
 * (scale in / out, offset 0) for a whole-image resize, anything else for
 * the raw path's chroma (tf_resample_map). When shrinking the kernel is
 * stretched by the scale so it low-passes. Taps outside the image are
 * dropped and the rest renormalised, which keeps edges unbiased. On
 * failure the caller still releases a.
 */
static int axis_init(struct axis *a, uint32_t in, uint32_t box, uint32_t out,
                     double scale, double offset, enum tf_filter f)
{
    uint32_t len = in / box + (in % box != 0);
    double stretch = scale > 1.0 ? scale : 1.0;
    double sup = support(f) * stretch;   /* in input pixels */
    /* the samples a kernel of 2 sup input pixels can touch */
    uint32_t maxn = (uint32_t)ceil(2 * sup / box) + 2;
    if (maxn > len)
        maxn = len;

    a->maxn = maxn;
    a->start = malloc(out * sizeof *a->start);
    a->n = malloc(out * sizeof *a->n);
    a->w = calloc((size_t)out * maxn, sizeof *a->w);
    if (!a->start || !a->n || !a->w)
        return -1;
    for (uint32_t o = 0; o < out; o++) {
        double c = (o + 0.5) * scale + offset - 0.5;
        long lo = (long)floor(c - sup + 1e-9);
        long hi = (long)ceil(c + sup - 1e-9);
        if (box > 1) {
            lo = (long)floor((c - sup) / box);
            hi = (long)floor((c + sup) / box);
        }
        if (lo < 0)
            lo = 0;
        if (hi > (long)len - 1)
            hi = (long)len - 1;
        if (lo > hi)        /* a map past an edge: the edge sample */
            lo = hi = c < 0 ? 0 : (long)len - 1;
        if (hi - lo + 1 > (long)maxn)
            hi = lo + maxn - 1;
        float *w = a->w + (size_t)o * maxn;
        double sum = 0.0;
        for (long i = lo; i <= hi; i++) {
            double k = box > 1 ? block_weight(f, in, box, i, c, stretch)
                               : kernel(f, (i - c) / stretch);
            w[i - lo] = (float)k;
            sum += k;
        }
        if (sum == 0.0) {   /* a box narrower than a pixel: nearest */
            long i = lrint(c) / (long)box;
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
        /*
         * Colour sums hold colour * alpha, alpha sums hold alpha. Colour
         * is written to the precision its alpha can show, as libvips does:
         * premultiplied to 8 bits, divided by the 8-bit alpha written.
         * Composited on anything it gives the same pixels, and faint
         * pixels no longer carry colour noise no one sees (a PNG of mostly
         * faint pixels was three times sharp's size).
         */
        unsigned a8 = clamp_u8(sum[ch - 1]);
        for (uint32_t c = 0; c + 1 < ch; c++) {
            unsigned p8 = clamp_u8(sum[c] * (1.0f / 255.0f));
            p8 = p8 < a8 ? p8 : a8;
            d[c] = a8 ? (unsigned char)((p8 * 255u + a8 / 2) / a8) : 0;
        }
        d[ch - 1] = (unsigned char)a8;
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

/* acc[0 .. n) += w * src[0 .. n), from reduced (float) rows */
IB_HOT_CLONES
static void accumulate_f(float *restrict acc, const float *restrict src,
                         size_t n, float w)
{
    for (size_t i = 0; i < n; i++)
        acc[i] += w * src[i];
}

/* The filter over the whole input: rows straight from the image. */
static void resample_full(const struct ib_image *in, const struct axis *ax,
                          const struct axis *ay, float *acc,
                          struct ib_image *o)
{
    uint32_t ch = in->channels;
    int alpha = ch == 2 || ch == 4;
    size_t rowlen = (size_t)in->width * ch;

    for (uint32_t y = 0; y < o->height; y++) {
        const float *wy = ay->w + (size_t)y * ay->maxn;
        memset(acc, 0, rowlen * sizeof *acc);
        for (uint32_t k = 0; k < ay->n[y]; k++) {
            const unsigned char *src =
                in->px + (size_t)(ay->start[y] + k) * in->stride;
            if (alpha)
                accumulate_alpha(acc, src, in->width, ch, wy[k]);
            else
                accumulate(acc, src, rowlen, wy[k]);
        }
        horizontal(ax, acc, o->width, ch, alpha,
                   o->px + (size_t)y * o->stride);
    }
}

/*
 * The input box-reduced by bx x by, made a row at a time: reduced row r
 * averages input rows r * by .. r * by + by - 1 and, along them, blocks of
 * bx pixels; the last row and column average what is left. Values are
 * floats on the scale the filter sums (colour times alpha, and alpha, when
 * there is alpha). Rows are kept in a ring of `slots` rows, enough for the
 * vertical kernel, so each is made once.
 */
struct reduced {
    const struct ib_image *in;
    uint32_t bx, by, width;  /* width: ceil(in->width / bx) */
    size_t rowlen;           /* width * channels */
    uint64_t *sum;           /* owned: rowlen exact sums */
    float *ring;             /* owned: slots rows of rowlen */
    unsigned char *ring8;    /* owned: the same as rounded levels, for
                              * the fixed-point resampler instead */
    int64_t *held;           /* owned: the row in each slot, -1 if none */
    uint32_t slots;
};

/* Sums of bx-pixel blocks of one input row into sum; ch is a constant in
 * each instance, so the per-pixel channel loop unrolls. */
static inline void sum_blocks_ch(uint64_t *restrict sum,
                                 const unsigned char *restrict src,
                                 uint32_t width, uint32_t bx, const uint32_t ch,
                                 int alpha)
{
    for (uint32_t x0 = 0; x0 < width; x0 += bx, sum += ch) {
        uint32_t n = width - x0 < bx ? width - x0 : bx;
        const unsigned char *p = src + (size_t)x0 * ch;
        uint64_t t[4] = {0, 0, 0, 0};
        for (uint32_t i = 0; i < n; i++, p += ch) {
            if (!alpha) {
                for (uint32_t c = 0; c < ch; c++)
                    t[c] += p[c];
                continue;
            }
            for (uint32_t c = 0; c + 1 < ch; c++)
                t[c] += (uint32_t)p[c] * p[ch - 1];
            t[ch - 1] += p[ch - 1];
        }
        for (uint32_t c = 0; c < ch; c++)
            sum[c] += t[c];
    }
}

static void sum_blocks(uint64_t *sum, const unsigned char *src, uint32_t width,
                       uint32_t bx, uint32_t ch)
{
    switch (ch) {
    case 1: sum_blocks_ch(sum, src, width, bx, 1, 0); break;
    case 2: sum_blocks_ch(sum, src, width, bx, 2, 1); break;
    case 3: sum_blocks_ch(sum, src, width, bx, 3, 0); break;
    default: sum_blocks_ch(sum, src, width, bx, 4, 1); break;
    }
}

/*
 * The input rows under reduced row r summed per block into rd->sum; *rows
 * is how many there are (the last block row may be short). Both forms of
 * a reduced row below are made from it.
 */
static void sum_reduced(struct reduced *rd, uint32_t r, uint32_t *rows)
{
    const struct ib_image *in = rd->in;
    uint32_t y0 = r * rd->by;
    uint32_t y1 = in->height - y0 < rd->by ? in->height : y0 + rd->by;

    memset(rd->sum, 0, rd->rowlen * sizeof *rd->sum);
    for (uint32_t y = y0; y < y1; y++)
        sum_blocks(rd->sum, in->px + (size_t)y * in->stride, in->width,
                   rd->bx, in->channels);
    *rows = y1 - y0;
}

/* Input pixels in block column j (the last may be narrow). */
static uint32_t block_cols(const struct reduced *rd, uint32_t j)
{
    uint32_t x0 = j * rd->bx;
    return rd->in->width - x0 < rd->bx ? rd->in->width - x0 : rd->bx;
}

/* Reduced row r, made on first use. */
static const float *reduced_row(struct reduced *rd, uint32_t r)
{
    uint32_t ch = rd->in->channels, slot = r % rd->slots, rows;
    float *dst = rd->ring + (size_t)slot * rd->rowlen;

    if (rd->held[slot] == (int64_t)r)
        return dst;
    sum_reduced(rd, r, &rows);
    for (uint32_t j = 0; j < rd->width; j++) {
        double k = 1.0 / ((double)block_cols(rd, j) * rows);
        for (uint32_t c = 0; c < ch; c++)
            dst[(size_t)j * ch + c] =
                (float)((double)rd->sum[(size_t)j * ch + c] * k);
    }
    rd->held[slot] = r;
    return dst;
}

/* Reduced row r as levels rounded to the nearest, for images without
 * alpha (the fixed-point resampler), made on first use. */
static const unsigned char *reduced_row8(void *ctx, uint32_t r)
{
    struct reduced *rd = ctx;
    uint32_t ch = rd->in->channels, slot = r % rd->slots, rows;
    unsigned char *dst = rd->ring8 + (size_t)slot * rd->rowlen;

    if (rd->held[slot] == (int64_t)r)
        return dst;
    sum_reduced(rd, r, &rows);
    for (uint32_t j = 0; j < rd->width; j++) {
        uint64_t cnt = (uint64_t)block_cols(rd, j) * rows;
        for (uint32_t c = 0; c < ch; c++)
            dst[(size_t)j * ch + c] = (unsigned char)
                ((rd->sum[(size_t)j * ch + c] + cnt / 2) / cnt);
    }
    rd->held[slot] = r;
    return dst;
}

static const unsigned char *image_row(void *ctx, uint32_t r)
{
    const struct reduced *rd = ctx;
    return rd->in->px + (size_t)r * rd->in->stride;
}

static void resample_reduced(struct reduced *rd, const struct axis *ax,
                             const struct axis *ay, float *acc,
                             struct ib_image *o)
{
    uint32_t ch = o->channels;
    int alpha = ch == 2 || ch == 4;

    for (uint32_t y = 0; y < o->height; y++) {
        const float *wy = ay->w + (size_t)y * ay->maxn;
        memset(acc, 0, rd->rowlen * sizeof *acc);
        for (uint32_t k = 0; k < ay->n[y]; k++)
            accumulate_f(acc, reduced_row(rd, ay->start[y] + k), rd->rowlen,
                         wy[k]);
        horizontal(ax, acc, o->width, ch, alpha,
                   o->px + (size_t)y * o->stride);
    }
}

/* The integer box factor for an axis of in -> out samples; see the top. */
static uint32_t box_factor(uint32_t in, uint32_t out, int full)
{
    if (full || (uint64_t)out * 4 > in)
        return 1;
    return (uint32_t)(in / ((uint64_t)out * 2));
}

/*
 * The same for a map's scale, from 8x rather than 4x: the raw path's
 * chroma planes shrink 4x to 8x in the common case (a scaled IDCT gives
 * them the luma's resolution, then 4:2:0 halves it), where the filter
 * alone (26 to 50 taps, exact) costs less than the box's pass over the
 * plane and its weights; past 8x the box leaves the filter 4x to 8x, so
 * its tables stay as small.
 */
static uint32_t box_for_scale(double scale)
{
    return scale >= 8.0 ? (uint32_t)(scale / 4) : 1;
}

/*
 * Images without alpha (1 or 3 channels) go through the fixed-point
 * resampler (resample_fx.c) unless flt; the rest, and weight tables 16
 * bits cannot hold, through the float loops above. m NULL: the whole
 * input to w x h, pixel centres aligned.
 */
static int resample(const struct ib_image *in, uint32_t w, uint32_t h,
                    const struct tf_resample_map *m, enum tf_filter f,
                    int full, int flt, struct ib_image **out, char *msg,
                    size_t msglen)
{
    struct axis ax = {0}, ay = {0};
    struct reduced rd = {0};
    struct ib_image *o = NULL;
    float *acc = NULL;
    uint32_t ch = in->channels, bx, by;
    int rc = IB_TRANSFORM_ENOMEM;

    if (w == 0 || h == 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "cannot resize to an empty image");
    double sx = (double)in->width / w, sy = (double)in->height / h;
    double ox = 0.0, oy = 0.0;
    if (m) {
        sx = m->scale[0];
        sy = m->scale[1];
        ox = m->offset[0];
        oy = m->offset[1];
        bx = box_for_scale(sx);
        by = box_for_scale(sy);
    } else {
        bx = box_factor(in->width, w, full);
        by = box_factor(in->height, h, full);
    }
    rd.in = in;
    rd.bx = bx;
    rd.by = by;
    rd.width = in->width / bx + (in->width % bx != 0);
    rd.rowlen = (size_t)rd.width * ch;
    o = ib_image_new(w, h, ch);
    if (!o || axis_init(&ax, in->width, bx, w, sx, ox, f) ||
        axis_init(&ay, in->height, by, h, sy, oy, f))
        goto done;
    if (bx > 1 || by > 1) {
        rd.slots = ay.maxn;
        rd.sum = malloc(rd.rowlen * sizeof *rd.sum);
        rd.held = malloc(rd.slots * sizeof *rd.held);
        if (!rd.sum || !rd.held)
            goto done;
        for (uint32_t i = 0; i < rd.slots; i++)
            rd.held[i] = -1;
    }

    if (!flt && (ch == 1 || ch == 3)) {
        struct tf_fx_axis fax = {ax.start, ax.n, ax.w, ax.maxn};
        struct tf_fx_axis fay = {ay.start, ay.n, ay.w, ay.maxn};
        uint32_t rh = in->height / by + (in->height % by != 0);
        int fx;
        if (bx == 1 && by == 1) {
            fx = tf_resample_fx(in->width, in->height, ch, image_row, &rd,
                                &fax, &fay, o->px, w, h, o->stride);
        } else {
            rd.ring8 = malloc(rd.slots * rd.rowlen);
            if (!rd.ring8)
                goto done;
            fx = tf_resample_fx(rd.width, rh, ch, reduced_row8, &rd, &fax,
                                &fay, o->px, w, h, o->stride);
        }
        if (fx < 0)
            goto done;
        if (fx == 0)
            goto ok;
    }

    acc = malloc(rd.rowlen * sizeof *acc);
    if (!acc)
        goto done;
    if (bx == 1 && by == 1) {
        resample_full(in, &ax, &ay, acc, o);
    } else {
        rd.ring = malloc(rd.slots * rd.rowlen * sizeof *rd.ring);
        if (!rd.ring)
            goto done;
        resample_reduced(&rd, &ax, &ay, acc, o);
    }
ok:
    *out = o;
    o = NULL;
    rc = 0;
done:
    if (rc)
        tf_fail(msg, msglen, rc, "out of memory resizing to %" PRIu32
                "x%" PRIu32, w, h);
    ib_image_free(o);
    free(acc);
    free(rd.sum);
    free(rd.ring);
    free(rd.ring8);
    free(rd.held);
    axis_release(&ax);
    axis_release(&ay);
    return rc;
}

int tf_resample(const struct ib_image *in, uint32_t w, uint32_t h,
                enum tf_filter f, struct ib_image **out, char *msg,
                size_t msglen)
{
    return resample(in, w, h, NULL, f, 0, 0, out, msg, msglen);
}

int tf_resample_full(const struct ib_image *in, uint32_t w, uint32_t h,
                     enum tf_filter f, struct ib_image **out, char *msg,
                     size_t msglen)
{
    return resample(in, w, h, NULL, f, 1, 0, out, msg, msglen);
}

int tf_resample_float(const struct ib_image *in, uint32_t w, uint32_t h,
                      enum tf_filter f, int full, struct ib_image **out,
                      char *msg, size_t msglen)
{
    return resample(in, w, h, NULL, f, full, 1, out, msg, msglen);
}

int tf_resample_map(const struct ib_image *in, uint32_t w, uint32_t h,
                    const struct tf_resample_map *m, enum tf_filter f,
                    struct ib_image **out, char *msg, size_t msglen)
{
    return resample(in, w, h, m, f, 0, 0, out, msg, msglen);
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

static int resize_parse(const char *arg, struct tf_op *op, char *msg,
                        size_t msglen)
{
    size_t len = arg ? strlen(arg) : 0;
    const char *end = arg + len;
    op->resize.height = 0;
    op->resize.mode = TF_RESIZE_FIT;
    if (len && (end[-1] == '!' || end[-1] == '^')) {
        op->resize.mode =
            end[-1] == '!' ? TF_RESIZE_EXACT : TF_RESIZE_COVER;
        end--;
    }
    const char *x = memchr(arg, 'x', (size_t)(end - arg));
    int bad = len == 0;
    if (!bad && x)
        bad = parse_dim(arg, x, &op->resize.width) ||
              parse_dim(x + 1, end, &op->resize.height);
    else if (!bad)
        bad = parse_dim(arg, end, &op->resize.width);
    if (!bad && op->resize.width == 0 && op->resize.height == 0)
        bad = 1;
    if (!bad && op->resize.mode != TF_RESIZE_FIT &&
        (op->resize.width == 0 || op->resize.height == 0))
        bad = 1;
    if (bad)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "invalid --resize '%s' (want WxH, W, xH, WxH! or "
                       "WxH^, sizes 1..1000000)", arg ? arg : "");
    return 0;
}

static uint32_t scaled(uint32_t v, double s)
{
    double r = floor(v * s + 0.5);
    return r < 1.0 ? 1 : (uint32_t)r;
}

/* The size resize resamples to (before cover's crop). */
static void resize_size(const struct tf_op *op, uint32_t w, uint32_t h,
                        uint32_t *ow, uint32_t *oh)
{
    double sx = op->resize.width ? (double)op->resize.width / w : 0.0;
    double sy = op->resize.height ? (double)op->resize.height / h : 0.0;
    double s;

    /* "!" asks for exactly WxH, as ImageMagick's, whatever --upscale says */
    if (op->resize.mode == TF_RESIZE_EXACT) {
        *ow = (uint32_t)op->resize.width;
        *oh = (uint32_t)op->resize.height;
        return;
    }
    if (op->resize.mode == TF_RESIZE_COVER)
        s = sx > sy ? sx : sy;
    else if (!op->resize.width)
        s = sy;
    else if (!op->resize.height)
        s = sx;
    else
        s = sx < sy ? sx : sy;
    if (!op->upscale && s > 1.0)
        s = 1.0;
    *ow = scaled(w, s);
    *oh = scaled(h, s);
    /* in fit mode rounding must not overshoot the box */
    if (op->resize.mode == TF_RESIZE_FIT) {
        if (op->resize.width && *ow > op->resize.width)
            *ow = (uint32_t)op->resize.width;
        if (op->resize.height && *oh > op->resize.height)
            *oh = (uint32_t)op->resize.height;
    }
    if (op->resize.mode == TF_RESIZE_COVER) {
        /* never below the box on either axis, so the crop is full */
        if (*ow < op->resize.width && (op->upscale || op->resize.width <= w))
            *ow = (uint32_t)op->resize.width;
        if (*oh < op->resize.height && (op->upscale || op->resize.height <= h))
            *oh = (uint32_t)op->resize.height;
    }
}

static int copy_region(const struct ib_image *in, uint32_t x, uint32_t y,
                       uint32_t w, uint32_t h, struct ib_image **out,
                       char *msg, size_t msglen)
{
    struct ib_image *o = ib_image_new(w, h, in->channels);
    if (!o)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    for (uint32_t r = 0; r < h; r++)
        memcpy(o->px + r * o->stride,
               in->px + (size_t)(y + r) * in->stride + (size_t)x * in->channels,
               (size_t)w * in->channels);
    *out = o;
    return 0;
}

static int resize_apply(const struct tf_op *op, const struct ib_image *in,
                        struct ib_image **out, char *msg, size_t msglen)
{
    uint32_t w, h;
    struct ib_image *r = NULL;
    int rc;

    resize_size(op, in->width, in->height, &w, &h);
    if (w == in->width && h == in->height)
        rc = copy_region(in, 0, 0, w, h, &r, msg, msglen);
    else
        rc = tf_resample(in, w, h, op->filter, &r, msg, msglen);
    if (rc || op->resize.mode != TF_RESIZE_COVER)
        goto done;

    uint32_t bw = (uint32_t)op->resize.width, bh = (uint32_t)op->resize.height;
    uint32_t cw = bw < w ? bw : w;
    uint32_t chh = bh < h ? bh : h;
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

const struct tf_op_def tf_op_resize = {
    .name = "resize",
    .arg = "WxH",
    .help = "fit inside WxH keeping aspect (W or H may be omitted); WxH! "
            "exactly WxH; WxH^ cover and crop the centre; apart from WxH!, "
            "never upscales unless --upscale",
    .parse = resize_parse,
    .apply = resize_apply,
    .size = resize_size,
};
