/*
 * transform/op_blur.c: --blur SIGMA, a Gaussian blur, and tf_blur, which
 * --sharpen reuses.
 *
 * Separable, in two passes, with colour premultiplied by alpha so that a
 * transparent pixel's colour (often garbage) does not bleed into opaque
 * neighbours. Edges replicate the border pixel, as ImageMagick's default
 * virtual pixels do.
 *
 * Both paths can write over their source (tf_blur_inplace, which the
 * pipeline uses), so a whole-image blur holds the image once plus a few
 * rows or strips, not a second image.
 *
 * Small sigma: an exact sampled kernel of radius ceil(3 sigma). The
 * vertical pass sums a ring of premultiplied float rows, the horizontal
 * pass runs over that one summed row, so nothing of image size is
 * buffered and each row is converted to float once.
 *
 * Large sigma: the kernel would grow with sigma, so a third-order
 * recursive filter (Young and van Vliet, 2002) runs forward and backward
 * instead: a fixed cost per pixel whatever sigma. At the right edge the
 * backward pass starts from the state a replicated border would have led
 * to (Triggs and Sdika, 2006); the 3x3 map from the forward state to that
 * start is found here by running the filter on unit impulses, which is
 * exact and avoids a closed form. Rows go first, then columns in strips
 * (blur_recursive says how the rows are kept between the two).
 */
#include "transform/transform_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Above this sigma the recursive filter is used. At 3 the exact kernel has
 * 19 taps per axis; the recursive filter costs about as much and is within
 * a fraction of a level of the true Gaussian only from sigma ~ 2.5 up. */
#define EXACT_MAX_SIGMA 3.0
#define STRIP 16   /* pixels per column strip */

/*
 * The inner loops get an AVX2+FMA clone beside the baseline one, picked
 * at load time, as the resampler's are (op_resize.c).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(IB_NO_CLONES)
#define BLUR_CLONES __attribute__((target_clones("arch=x86-64-v3", \
                                                 "default")))
#else
#define BLUR_CLONES
#endif

/*
 * Compares rather than fminf/fmaxf, which without -ffinite-math-only are
 * calls into libm (they took a third of the time of a blur). NaN gives 0,
 * as fmaxf would.
 */
static inline float clampf(float v, float hi)
{
    v = v > 0.0f ? v : 0.0f;
    return v < hi ? v : hi;
}

static inline unsigned char to_u8(float v)
{
    return (unsigned char)(clampf(v, 255.0f) + 0.5f);
}

/*
 * The same for a value known to be within a few levels of 0..255 (a
 * weighted mean of samples, with weights that sum to 1): clamped as an
 * int, which gcc vectorises (float -> int32 -> u8), where it leaves the
 * float compares of to_u8 as branches.
 */
static inline unsigned char to_u8_near(float v)
{
    int i = (int)(v + 0.5f);
    return (unsigned char)(i < 0 ? 0 : i > 255 ? 255 : i);
}

/* Row of w pixels to floats, colour premultiplied by alpha/255 if alpha. */
BLUR_CLONES
static void load_row(float *restrict dst, const unsigned char *restrict src,
                     uint32_t w, uint32_t ch, int alpha)
{
    size_t n = (size_t)w * ch;
    if (!alpha) {
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)src[i];
        return;
    }
    for (uint32_t x = 0; x < w; x++, src += ch, dst += ch) {
        float a = (float)src[ch - 1] * (1.0f / 255.0f);
        for (uint32_t c = 0; c + 1 < ch; c++)
            dst[c] = (float)src[c] * a;
        dst[ch - 1] = (float)src[ch - 1];
    }
}

/* The reverse of load_row: unpremultiply and round to 8 bits. */
BLUR_CLONES
static void store_row(unsigned char *restrict dst, const float *restrict src,
                      uint32_t w, uint32_t ch, int alpha)
{
    size_t n = (size_t)w * ch;
    if (!alpha) {
        for (size_t i = 0; i < n; i++)
            dst[i] = to_u8_near(src[i]);
        return;
    }
    for (uint32_t x = 0; x < w; x++, src += ch, dst += ch) {
        float a = src[ch - 1];
        float k = a > 0.0f ? 255.0f / a : 0.0f;
        for (uint32_t c = 0; c + 1 < ch; c++)
            dst[c] = to_u8(src[c] * k);
        dst[ch - 1] = to_u8(a);
    }
}

/* ---- exact kernel ---- */

/*
 * The vertical and horizontal passes work on blocks of BLOCK floats, so
 * the block of sums stays in L1 while every tap streams over it once; the
 * loops in a block are plain and the compiler vectorises them.
 */
#define BLOCK 512

/* acc[0 .. m) += k (a[] + b[]); restrict, so gcc vectorises without
 * checking for overlap (it would not trust restrict on locals) */
static inline void tap(float *restrict acc, const float *restrict a,
                       const float *restrict b, float k, size_t m)
{
    for (size_t i = 0; i < m; i++)
        acc[i] += k * (a[i] + b[i]);
}

/*
 * acc[0 .. m) = k[0] mid[] + sum over t of k[t] (lo[t][] + hi[t][]),
 * where lo[t] and hi[t] are the rows t above and below (lo[0] the middle
 * one), each read from offset off.
 */
BLUR_CLONES
static void vsum(float *restrict acc, const float *const *lo,
                 const float *const *hi, const float *restrict k, long r,
                 size_t off, size_t m)
{
    const float *restrict mid = lo[0] + off;
    for (size_t i = 0; i < m; i++)
        acc[i] = k[0] * mid[i];
    for (long t = 1; t <= r; t++)
        tap(acc, lo[t] + off, hi[t] + off, k[t], m);
}

/* The same along a row: body[-r*ch ..) padded, taps ch floats apart. */
BLUR_CLONES
static void hsum(float *restrict acc, const float *restrict body,
                 const float *restrict k, long r, size_t ch, size_t m)
{
    for (size_t i = 0; i < m; i++)
        acc[i] = k[0] * body[i];
    for (long t = 1; t <= r; t++)
        tap(acc, body - (size_t)t * ch, body + (size_t)t * ch, k[t], m);
}

/*
 * Writes output row y from acc (premultiplied floats): dst may be the
 * source row itself (in place), which is read first. With a mask, the
 * unsharp mask of op_sharpen.c: colour = src + amount * (src - blur),
 * alpha copied; tmp is a row of scratch bytes.
 */
static void emit_row(unsigned char *dst, const unsigned char *src,
                     const float *acc, unsigned char *tmp, uint32_t w,
                     uint32_t ch, int alpha, const float *amount)
{
    if (!amount) {
        store_row(dst, acc, w, ch, alpha);
        return;
    }
    store_row(tmp, acc, w, ch, alpha);
    tf_unsharp_row(dst, src, tmp, w, ch, *amount);
}

/*
 * Row y of the output needs source rows y-r .. y+r, clamped, held as
 * premultiplied floats in a ring of 2r+1 rows. Source row y+r is loaded
 * before output row y is written, and no later output needs a source row
 * above y+r+1, so o may be in: the blur then needs only the ring.
 */
static int blur_exact(const struct ib_image *in, double sigma,
                      struct ib_image *o, const float *amount)
{
    uint32_t w = in->width, h = in->height, ch = in->channels;
    int alpha = ch == 2 || ch == 4;
    size_t n = (size_t)w * ch;
    long r = (long)ceil(3.0 * sigma);
    if (r < 1)
        r = 1;
    /* past the image the taps read the border: r is at most 9 here, so
     * the ring and the padding stay small whatever the image */
    size_t nring = (size_t)(2 * r + 1);
    float *k = malloc((size_t)(r + 1) * sizeof *k);
    float *ring = malloc(nring * n * sizeof *ring);
    float *acc = malloc(n * sizeof *acc);
    float *pad = malloc(((size_t)w + 2 * (size_t)r) * ch * sizeof *pad);
    const float **lo = malloc((size_t)(r + 1) * sizeof *lo);
    const float **hi = malloc((size_t)(r + 1) * sizeof *hi);
    unsigned char *tmp = amount ? malloc(n) : NULL;
    int rc = -1;

    if (!k || !ring || !acc || !pad || !lo || !hi || (amount && !tmp))
        goto done;
    double sum = 0.0;
    for (long i = 0; i <= r; i++) {
        double v = exp(-(double)(i * i) / (2.0 * sigma * sigma));
        k[i] = (float)v;
        sum += i ? 2.0 * v : v;
    }
    for (long i = 0; i <= r; i++)
        k[i] = (float)(k[i] / sum);

    /* ring slot of source row y is (y + r) mod nring */
    for (long y = -r; y < (long)h; y++) {
        long next = y + r;   /* the row entering the window */
        if (next < (long)h) {
            long src = next < 0 ? 0 : next;
            load_row(ring + (size_t)((next + r) % (long)nring) * n,
                     in->px + (size_t)src * in->stride, w, ch, alpha);
        }
        if (y < 0)
            continue;
        /* rows past the bottom are the last row, already in the ring */
        for (long t = 0; t <= r; t++) {
            long ya = y - t < 0 ? 0 : y - t;
            long yb = y + t >= (long)h ? (long)h - 1 : y + t;
            lo[t] = ring + (size_t)((ya + r) % (long)nring) * n;
            hi[t] = ring + (size_t)((yb + r) % (long)nring) * n;
        }
        float *body = pad + (size_t)r * ch;
        for (size_t i = 0; i < n; i += BLOCK)
            vsum(body + i, lo, hi, k, r, i, n - i < BLOCK ? n - i : BLOCK);
        /* horizontal: the border pixels replicated into the padding */
        for (long t = 1; t <= r; t++)
            for (uint32_t c = 0; c < ch; c++) {
                body[-t * (long)ch + c] = body[c];
                body[n + (size_t)(t - 1) * ch + c] = body[n - ch + c];
            }
        for (size_t i = 0; i < n; i += BLOCK)
            hsum(acc + i, body + i, k, r, ch, n - i < BLOCK ? n - i : BLOCK);
        emit_row(o->px + (size_t)y * o->stride,
                 in->px + (size_t)y * in->stride, acc, tmp, w, ch, alpha,
                 amount);
    }
    rc = 0;
done:
    free(k);
    free(ring);
    free(acc);
    free(pad);
    free(lo);
    free(hi);
    free(tmp);
    return rc;
}

/* ---- recursive filter ---- */

struct iir {
    float b, a1, a2, a3;   /* y[n] = b x[n] + a1 y[n-1] + a2 y[n-2] + ... */
    float m[3][3];         /* forward end state -> backward start state */
};

/* -1 if out of memory: the end-state map needs a scratch line. */
static int iir_init(struct iir *f, double sigma)
{
    double q = 0.98711 * sigma - 0.96330;
    double b0 = 1.57825 + q * (2.44413 + q * (1.4281 + q * 0.422205));
    double a1 = q * (2.44413 + q * (2.85619 + q * 1.26661)) / b0;
    double a2 = -q * q * (1.4281 + q * 1.26661) / b0;
    double a3 = q * q * q * 0.422205 / b0;
    double b = 1.0 - (a1 + a2 + a3);

    f->b = (float)b;
    f->a1 = (float)a1;
    f->a2 = (float)a2;
    f->a3 = (float)a3;
    /*
     * Past the last sample x[N-1] the input repeats it; both passes have a
     * DC gain of 1, so what matters is the forward pass's deviation from
     * x[N-1] at its end. Column j of m is the backward pass's state at N
     * for a unit deviation in w[N-1-j]; it decays over a few sigma.
     */
    size_t len = (size_t)(20.0 * sigma) + 64;
    double *t = malloc(len * sizeof *t);
    if (!t)
        return -1;
    for (int j = 0; j < 3; j++) {
        double p[3] = {0, 0, 0}, s1 = 0, s2 = 0, s3 = 0;
        p[j] = 1.0;
        for (size_t i = 0; i < len; i++) {
            double v = a1 * p[0] + a2 * p[1] + a3 * p[2];
            t[i] = v;
            p[2] = p[1];
            p[1] = p[0];
            p[0] = v;
        }
        for (size_t i = len; i-- > 0;) {
            double v = b * t[i] + a1 * s1 + a2 * s2 + a3 * s3;
            s3 = s2;
            s2 = s1;
            s1 = v;
            if (i < 3)
                f->m[i][j] = (float)v;
        }
    }
    free(t);
    return 0;
}

/*
 * In place along one line of n samples, each `step` floats apart, for
 * `lanes` interleaved independent signals (channels, or a strip's
 * columns). The per-lane state lives in small arrays so the lane loop is
 * the inner one.
 */
#define MAXLANES (STRIP * 4)
static void iir_line(const struct iir *f, float *x, size_t n, size_t step,
                     size_t lanes)
{
    float p1[MAXLANES], p2[MAXLANES], p3[MAXLANES], last[MAXLANES];
    const float b = f->b, a1 = f->a1, a2 = f->a2, a3 = f->a3;

    for (size_t l = 0; l < lanes; l++) {
        p1[l] = p2[l] = p3[l] = x[l];   /* the left edge repeated */
        last[l] = x[(n - 1) * step + l];
    }
    for (size_t i = 0; i < n; i++) {
        float *v = x + i * step;
        for (size_t l = 0; l < lanes; l++) {
            float y = b * v[l] + a1 * p1[l] + a2 * p2[l] + a3 * p3[l];
            p3[l] = p2[l];
            p2[l] = p1[l];
            p1[l] = y;
            v[l] = y;
        }
    }
    /* p1..p3 now hold w[n-1], w[n-2], w[n-3] (the edge value before 0) */
    for (size_t l = 0; l < lanes; l++) {
        float u = last[l];
        float d0 = p1[l] - u, d1 = p2[l] - u, d2 = p3[l] - u;
        float s0 = f->m[0][0] * d0 + f->m[0][1] * d1 + f->m[0][2] * d2 + u;
        float s1 = f->m[1][0] * d0 + f->m[1][1] * d1 + f->m[1][2] * d2 + u;
        float s2 = f->m[2][0] * d0 + f->m[2][1] * d1 + f->m[2][2] * d2 + u;
        p1[l] = s0;
        p2[l] = s1;
        p3[l] = s2;
    }
    for (size_t i = n; i-- > 0;) {
        float *v = x + i * step;
        for (size_t l = 0; l < lanes; l++) {
            float y = b * v[l] + a1 * p1[l] + a2 * p2[l] + a3 * p3[l];
            p3[l] = p2[l];
            p2[l] = p1[l];
            p1[l] = y;
            v[l] = y;
        }
    }
}

/*
 * Rows first, into an intermediate image: o itself when there is no alpha
 * (a rounding of at most half a level, smoothed by the column pass; o may
 * be in, each row is read before it is written), 16-bit premultiplied
 * values when there is (8 bits would lose the colour of faint pixels).
 * Columns then go in strips a few pixels wide, so the inner loops run
 * across the strip and vectorise.
 */
static int blur_recursive(const struct ib_image *in, double sigma,
                          struct ib_image *o)
{
    uint32_t w = in->width, h = in->height, ch = in->channels;
    int alpha = ch == 2 || ch == 4;
    size_t n = (size_t)w * ch, lanes_max = (size_t)STRIP * ch;
    struct iir f;
    float *row = malloc(n * sizeof *row);
    float *strip = malloc((size_t)h * lanes_max * sizeof *strip);
    uint16_t *mid = alpha ? malloc((size_t)h * n * sizeof *mid) : NULL;
    int rc = -1;

    if (!row || !strip || (alpha && !mid) || iir_init(&f, sigma))
        goto done;

    for (uint32_t y = 0; y < h; y++) {
        load_row(row, in->px + (size_t)y * in->stride, w, ch, alpha);
        iir_line(&f, row, w, ch, ch);
        if (alpha) {
            uint16_t *d = mid + (size_t)y * n;
            for (size_t i = 0; i < n; i++)
                d[i] = (uint16_t)clampf(row[i] * 256.0f + 0.5f, 65535.0f);
        } else {
            unsigned char *d = o->px + (size_t)y * o->stride;
            for (size_t i = 0; i < n; i++)
                d[i] = to_u8_near(row[i]);
        }
    }

    for (uint32_t x0 = 0; x0 < w; x0 += STRIP) {
        uint32_t sw = w - x0 < STRIP ? w - x0 : STRIP;
        size_t lanes = (size_t)sw * ch, off = (size_t)x0 * ch;
        for (uint32_t y = 0; y < h; y++) {
            float *d = strip + (size_t)y * lanes;
            if (alpha) {
                const uint16_t *s = mid + (size_t)y * n + off;
                for (size_t l = 0; l < lanes; l++)
                    d[l] = (float)s[l] * (1.0f / 256.0f);
            } else {
                const unsigned char *s = o->px + (size_t)y * o->stride + off;
                for (size_t l = 0; l < lanes; l++)
                    d[l] = (float)s[l];
            }
        }
        iir_line(&f, strip, h, lanes, lanes);
        for (uint32_t y = 0; y < h; y++)
            store_row(o->px + (size_t)y * o->stride + off,
                      strip + (size_t)y * lanes, sw, ch, alpha);
    }
    rc = 0;
done:
    free(row);
    free(strip);
    free(mid);
    return rc;
}

/*
 * Blurs in into o, which may be in, or with amount the unsharp mask of
 * op_sharpen.c. -1 if out of memory, before any pixel of o is written.
 * The recursive filter overwrites its source before the mask can use it,
 * so sharpening with it in place keeps a copy of the source.
 */
static int blur_into(const struct ib_image *in, double sigma,
                     struct ib_image *o, const float *amount)
{
    if (sigma <= EXACT_MAX_SIGMA)
        return blur_exact(in, sigma, o, amount);
    if (!amount)
        return blur_recursive(in, sigma, o);

    struct ib_image *src = (struct ib_image *)in;
    if (in == o) {
        src = ib_image_new(in->width, in->height, in->channels);
        if (!src)
            return -1;
        for (uint32_t y = 0; y < in->height; y++)
            memcpy(src->px + (size_t)y * src->stride,
                   in->px + (size_t)y * in->stride,
                   (size_t)in->width * in->channels);
    }
    int rc = blur_recursive(src, sigma, o);
    for (uint32_t y = 0; !rc && y < in->height; y++) {
        unsigned char *d = o->px + (size_t)y * o->stride;
        tf_unsharp_row(d, src->px + (size_t)y * src->stride, d, in->width,
                       in->channels, *amount);
    }
    if (src != in)
        ib_image_free(src);
    return rc;
}

static int nomem(const struct ib_image *img, char *msg, size_t msglen)
{
    return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                   "out of memory blurring a %" PRIu32 "x%" PRIu32 " image",
                   img->width, img->height);
}

int tf_blur(const struct ib_image *in, double sigma, struct ib_image **out,
            char *msg, size_t msglen)
{
    struct ib_image *o = ib_image_new(in->width, in->height, in->channels);

    if (!o || blur_into(in, sigma, o, NULL)) {
        ib_image_free(o);
        return nomem(in, msg, msglen);
    }
    *out = o;
    return 0;
}

int tf_blur_inplace(struct ib_image *img, double sigma, const float *amount,
                    char *msg, size_t msglen)
{
    if (blur_into(img, sigma, img, amount))
        return nomem(img, msg, msglen);
    return 0;
}

int tf_parse_sigma(const char *s, const char **end, double *sigma)
{
    const char *e;
    double v;
    if (tf_parse_decimal(s, &e, &v) || !(v > 0.0) || v > 1000.0)
        return -1;
    *sigma = v;
    *end = e;
    return 0;
}

static int blur_parse(const char *arg, struct tf_op *op, char *msg,
                      size_t msglen)
{
    const char *end;
    if (tf_parse_sigma(arg, &end, &op->blur.sigma) || *end)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "invalid --blur '%s' (want SIGMA, above 0 and at "
                       "most 1000)", arg);
    return 0;
}

static int blur_apply_inplace(const struct tf_op *op, struct ib_image *img,
                              char *msg, size_t msglen)
{
    return tf_blur_inplace(img, op->blur.sigma, NULL, msg, msglen);
}

const struct tf_op_def tf_op_blur = {
    .name = "blur",
    .arg = "SIGMA",
    .help = "Gaussian blur of standard deviation SIGMA pixels",
    .parse = blur_parse,
    .apply_inplace = blur_apply_inplace,
};
