/*
 * testdata/pattern.h: the synthetic picture ib-gen writes and tests expect.
 *
 * Everything here is a pure function of (w, h, x, y, channel), shared by
 * the generator (testdata/gen.c, which writes files with libpng and libjpeg
 * directly) and the tests (which decode them with our codecs), so a test
 * compares against the picture that was meant, not against a file.
 *
 * The picture: smooth gradients, different per channel, so JPEG keeps them
 * within a few levels; and one darker block in the top-left quadrant, so a
 * mirrored or rotated decode is obvious. Values stay in 20..240 so 16-bit
 * dithering and JPEG ringing never clip.
 */
#ifndef IB_PATTERN_H
#define IB_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The size most test images have: odd, so rows have awkward strides. */
#define PAT_W 37
#define PAT_H 23

/*
 * The marker block, about a sixth of each side near the top-left corner,
 * darker than its surroundings by the same amount in R, G and B: a change
 * of luma only, which JPEG keeps at full resolution, where a colour block
 * would be smeared by 4:2:0 chroma. Its weight at (x, y) is in thirds:
 * 3 inside, fading to 0 three pixels out, for the same reason.
 */
static inline unsigned pat_block(uint32_t w, uint32_t h, uint32_t x,
                                 uint32_t y)
{
    int64_t x0 = w / 8, y0 = h / 8;
    int64_t x1 = x0 + (w + 5) / 6 - 1, y1 = y0 + (h + 5) / 6 - 1;
    int64_t dx = x < x0 ? x0 - x : x > x1 ? x - x1 : 0;
    int64_t dy = y < y0 ? y0 - y : y > y1 ? y - y1 : 0;
    int64_t d = dx > dy ? dx : dy;

    return d >= 3 ? 0 : (unsigned)(3 - d);
}

static inline unsigned pat_mix(unsigned base, unsigned block, unsigned wt)
{
    return (base * (3 - wt) + block * wt + 1) / 3;
}

/* RGBA, channel 0..3; alpha is only used by PNGs (exact, no JPEG). */
static inline unsigned pat_rgba(uint32_t w, uint32_t h, uint32_t x,
                                uint32_t y, unsigned c)
{
    uint32_t wd = w > 1 ? w - 1 : 1, hd = h > 1 ? h - 1 : 1;
    unsigned v;

    switch (c) {
    case 0: v = 40 + 180 * x / wd; break;               /* left to right */
    case 1: v = 200 - 150 * y / hd; break;              /* top to bottom */
    case 2: v = 90 + 100 * (x + y) / (wd + hd); break;  /* diagonal */
    default: return 240 - 200 * (x + 2 * y) / (wd + 2 * hd);
    }
    return pat_mix(v, v - 40, pat_block(w, h, x, y));
}

/* The grey picture: a diagonal gradient with the same darker block. */
static inline unsigned pat_grey(uint32_t w, uint32_t h, uint32_t x,
                                uint32_t y)
{
    uint32_t wd = w > 1 ? w - 1 : 1, hd = h > 1 ? h - 1 : 1;

    unsigned v = 70 + 120 * x / wd + 50 * y / hd;

    return pat_mix(v, v - 50, pat_block(w, h, x, y));
}

/*
 * Stored sample at a bit depth below 8: the nearest level. Decoders that
 * widen 1/2/4-bit grey to 8 bits replicate bits, i.e. s * 255 / max.
 */
static inline unsigned pat_to_depth(unsigned v8, unsigned depth)
{
    unsigned max = (1u << depth) - 1;
    return (v8 * max + 127) / 255;
}

static inline unsigned pat_from_depth(unsigned s, unsigned depth)
{
    return s * 255 / ((1u << depth) - 1);
}

/*
 * A 16-bit sample whose correctly rounded 8-bit value is v8 but whose top
 * byte often is not: v8 * 257 plus an offset in -100..100. A decoder that
 * truncates (v >> 8) instead of rounding gets v8 - 1 on the negative ones.
 */
static inline unsigned pat_to_16(unsigned v8, uint32_t x, uint32_t y,
                                 unsigned c)
{
    int off = (int)((x * 7 + y * 13 + c * 5) % 201) - 100;
    int v = (int)v8 * 257 + off;
    return v < 0 ? 0 : v > 65535 ? 65535 : (unsigned)v;
}

/* v * 255 / 65535 rounded to nearest. */
static inline unsigned pat_from_16(unsigned s)
{
    return (s * 255u + 32767u) / 65535u;
}

/* Palette images: index per pixel and a palette of 2^depth colours. */
static inline unsigned pat_index(uint32_t x, uint32_t y, unsigned depth)
{
    return (x / 2 + (y / 3) * 5 + (x * y) % 3) % (1u << depth);
}

static inline unsigned pat_palette(unsigned i, unsigned c)
{
    return (i * (37 + 20 * c) + 11 + 90 * c) % 256;
}

/* tRNS covers the first half of the palette; later entries are opaque. */
static inline unsigned pat_ntrans(unsigned depth)
{
    return depth == 1 ? 1 : (1u << depth) / 2;
}

static inline unsigned pat_palette_alpha(unsigned i)
{
    return i == 0 ? 0 : (i * 97 + 13) % 256;
}

/*
 * EXIF orientation: the upright pixel (ux, uy) that an image stored with
 * orientation o shows at stored position (sx, sy). uw x uh is the upright
 * size; orientations 5..8 store it transposed (uh x uw). Follows the TIFF
 * definition of tag 0x0112, e.g. 6: stored row 0 is the right-hand column.
 */
static inline void pat_orient_src(int o, uint32_t uw, uint32_t uh,
                                  uint32_t sx, uint32_t sy, uint32_t *ux,
                                  uint32_t *uy)
{
    switch (o) {
    case 2: *ux = uw - 1 - sx; *uy = sy; break;
    case 3: *ux = uw - 1 - sx; *uy = uh - 1 - sy; break;
    case 4: *ux = sx; *uy = uh - 1 - sy; break;
    case 5: *ux = sy; *uy = sx; break;
    case 6: *ux = uw - 1 - sy; *uy = sx; break;
    case 7: *ux = uw - 1 - sy; *uy = uh - 1 - sx; break;
    case 8: *ux = sy; *uy = uh - 1 - sx; break;
    default: *ux = sx; *uy = sy; break;
    }
}

/* PNG colour types, as in the PNG specification's IHDR */
enum { PAT_GREY = 0, PAT_RGB = 2, PAT_PALETTE = 3, PAT_GREY_ALPHA = 4,
       PAT_RGBA = 6 };

/*
 * The sample a PNG of colour type `type` and bit depth `depth` stores for
 * channel c at (x, y): the palette index for palette images, else the
 * picture at that depth (grey and grey+alpha use pat_grey and pat_rgba's
 * alpha).
 */
static inline unsigned pat_sample(int type, unsigned depth, uint32_t w,
                                  uint32_t h, uint32_t x, uint32_t y,
                                  unsigned c)
{
    unsigned v;

    if (type == PAT_PALETTE)
        return pat_index(x, y, depth);
    if (type == PAT_GREY || type == PAT_GREY_ALPHA)
        v = c == 0 ? pat_grey(w, h, x, y) : pat_rgba(w, h, x, y, 3);
    else
        v = pat_rgba(w, h, x, y, c);
    if (depth < 8)
        return pat_to_depth(v, depth);
    return depth == 16 ? pat_to_16(v, x, y, c) : v;
}

/* The tRNS colour of grey and RGB images: the stored block corner pixel. */
static inline unsigned pat_trns(int type, unsigned depth, uint32_t w,
                                uint32_t h, unsigned c)
{
    return pat_sample(type, depth, w, h, w / 8, h / 8, c);
}

static inline void pat_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/*
 * A structurally valid ICC v2 RGB display profile (matrix/TRC, D50, as
 * libpng checks it) whose one shared tone curve has ncurve entries, so its
 * size is chosen by the caller: 1 entry gives 320 bytes, ~33000 entries
 * more than one 64 KB JPEG marker. Writes to buf if cap is large enough;
 * returns the length.
 */
static inline size_t pat_icc(unsigned char *buf, size_t cap, uint32_t ncurve)
{
    static const char sigs[7][5] = {"wtpt", "rXYZ", "gXYZ", "bXYZ",
                                    "rTRC", "gTRC", "bTRC"};
    static const uint32_t xyz[4][3] = {{0xF6D6, 0x10000, 0xD32D},
                                       {0x6FA2, 0x38F5, 0x0390},
                                       {0x6299, 0xB785, 0x18DA},
                                       {0x24A0, 0x0F84, 0xB6CF}};
    size_t ntag = 7, curve_off = 128 + 4 + ntag * 12 + 4 * 20;
    size_t curve_len = 12 + 2 * (size_t)ncurve;
    size_t len = curve_off + ((curve_len + 3) & ~(size_t)3);

    if (!buf || cap < len)
        return len;
    memset(buf, 0, len);
    pat_put32(buf, (uint32_t)len);
    memcpy(buf + 4, "ibgn", 4);              /* preferred CMM */
    pat_put32(buf + 8, 0x02100000);          /* version 2.1 */
    memcpy(buf + 12, "mntrRGB XYZ ", 12);    /* class, data, PCS */
    memcpy(buf + 36, "acsp", 4);
    pat_put32(buf + 68, 0xF6D6);             /* D50 illuminant */
    pat_put32(buf + 72, 0x10000);
    pat_put32(buf + 76, 0xD32D);
    pat_put32(buf + 128, (uint32_t)ntag);
    for (size_t i = 0; i < ntag; i++) {
        unsigned char *t = buf + 132 + 12 * i;
        memcpy(t, sigs[i], 4);
        if (i < 4) {
            size_t off = 128 + 4 + ntag * 12 + 20 * i;
            pat_put32(t + 4, (uint32_t)off);
            pat_put32(t + 8, 20);
            memcpy(buf + off, "XYZ ", 4);
            for (int k = 0; k < 3; k++)
                pat_put32(buf + off + 8 + 4 * k, xyz[i][k]);
        } else {
            pat_put32(t + 4, (uint32_t)curve_off);
            pat_put32(t + 8, (uint32_t)curve_len);
        }
    }
    memcpy(buf + curve_off, "curv", 4);
    pat_put32(buf + curve_off + 8, ncurve);
    for (uint32_t i = 0; i < ncurve; i++) {
        /* gamma 2.2 for one entry (u8.8), else a ramp */
        uint32_t v = ncurve == 1 ? 0x0233 : (uint32_t)(65535ull * i /
                                                      (ncurve - 1));
        buf[curve_off + 12 + 2 * i] = (unsigned char)(v >> 8);
        buf[curve_off + 13 + 2 * i] = (unsigned char)v;
    }
    return len;
}

#endif
