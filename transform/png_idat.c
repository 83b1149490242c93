/*
 * transform/png_idat.c: the pixels of a common PNG (8-bit grey, grey+alpha,
 * RGB or RGBA, not interlaced, no tRNS) without libpng's row loop: the IDAT
 * stream inflated at once by libdeflate, which takes about a third of
 * zlib's time, then unfiltered here. png.c still reads every other chunk
 * through libpng, and decodes with libpng alone whatever this file turns
 * down.
 *
 * Memory: libdeflate needs the whole stream and the whole output in one
 * piece each. The output is the image's own buffer, allocated as
 * height * (rowbytes + 1) bytes: the filter bytes are dropped as the rows
 * are unfiltered and moved down to rowbytes apart, and the buffer shrunk.
 * A stream in one IDAT chunk is inflated straight from the file's bytes;
 * one cut into many chunks (8 KiB each, as libpng writes) is joined at the
 * tail of the same buffer, plus a margin, and inflated from there into its
 * head: the output overtakes the input it has read, never the input still
 * to be read, as long as no tail of the stream is larger than the pixels
 * it gives by more than the margin, which no compressor's output is. A
 * stream that breaks that (hand-made to) damages its own input, which
 * libdeflate then reports as bad data or a wrong Adler-32: whatever fails
 * here goes to libpng, which reads the file afresh. So a file decodes here
 * only to the pixels libpng gives it, and peaks at the pixels plus the
 * margin, where libpng held the pixels and two rows.
 */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>

/*
 * More than a tail of the stream exceeds its pixels by in what zlib
 * writes (a block holds at most 16K symbols: 14 KiB at most over its
 * bytes, literals at 15 bits). A stream that needs more slows down, it
 * does not change: its input damaged, it fails its checks and goes to
 * libpng. 64 KiB: the peak RSS of the largest corpus files stays that of
 * libpng's decode, within 0.2%.
 */
#define IDAT_MARGIN ((size_t)64 << 10)

/* libdeflate writes up to this far past its output position (a match
 * copied in words); kept clear of the unread input as well */
#define INFLATE_SLACK 320

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/*
 * Finds the run of IDAT chunks of buf and checks that the file is one
 * this path decodes exactly as libpng: IHDR says 8 bits, colour type 0,
 * 2, 4 or 6, no interlace; no tRNS before the first IDAT (it would add
 * alpha); every IDAT's CRC right; no IDAT after the run; IEND reached
 * without truncation; a zlib header whose window holds the whole image
 * (zlib checks distances against a smaller declared window, libdeflate
 * does not; libpng's own writer declares windows that small only for
 * images smaller still). Anything else, -1: libpng decides, as it always
 * did.
 */
int tf_png_idat_find(const unsigned char *buf, size_t len,
                     struct tf_png_idat *idat)
{
    size_t p = 8, first = 0, end = 0, total = 0;
    unsigned n = 0;
    int in_run = 0, seen_end = 0;
    static const unsigned channels[7] = { 1, 0, 3, 0, 2, 0, 4 };

    if (len < 8 + 25 || memcmp(buf + 12, "IHDR", 4) || be32(buf + 8) != 13)
        return -1;
    /* depth, colour type, compression, filter, interlace */
    if (buf[24] != 8 || (buf[25] != 0 && buf[25] != 2 && buf[25] != 4 &&
                         buf[25] != 6) ||
        buf[26] || buf[27] || buf[28])
        return -1;
    while (!seen_end) {
        if (len - p < 12)
            return -1;
        uint32_t n_data = be32(buf + p);
        const unsigned char *type = buf + p + 4;

        if (n_data > 0x7fffffffu || len - p - 12 < n_data)
            return -1;
        int is_idat = !memcmp(type, "IDAT", 4);
        if (is_idat) {
            if (end)
                return -1;        /* an IDAT after the run */
            uint32_t crc = libdeflate_crc32(0, type, 4 + (size_t)n_data);
            if (crc != be32(buf + p + 8 + n_data))
                return -1;
            if (!in_run)
                first = p;
            in_run = 1;
            n++;
            total += n_data;
        } else {
            if (in_run)
                end = p;
            in_run = 0;
            if (!first && !memcmp(type, "tRNS", 4))
                return -1;
            seen_end = !memcmp(type, "IEND", 4);
        }
        p += 12 + (size_t)n_data;
    }
    if (!first || total < 2)
        return -1;
    idat->first = first;
    idat->end = end;
    idat->nchunks = n;
    idat->total = total;
    /* the first data byte: the stream's CMF, deflate and its window */
    size_t q = first;
    while (be32(buf + q) == 0)
        q += 12;
    unsigned cmf = buf[q + 8];
    uint64_t bytes = (uint64_t)be32(buf + 20) *
                     ((uint64_t)be32(buf + 16) * channels[buf[25]] + 1);
    /* a filter byte a row: at most 1/64 more than the pixels, or 64 KiB
     * (a very tall, narrow image stays on libpng, which holds two rows) */
    if (be32(buf + 20) > 65536 &&
        (uint64_t)be32(buf + 16) * channels[buf[25]] < 64)
        return -1;
    if ((cmf & 15) != 8 || cmf >> 4 > 7 ||
        (cmf >> 4 < 7 && bytes > (uint64_t)1 << ((cmf >> 4) + 8)))
        return -1;
    return 0;
}

static unsigned char paeth(unsigned char a, unsigned char b, unsigned char c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

/*
 * One row: dst from the filtered bytes at src and the row above, prev (the
 * unfiltered row, or NULL for the first). dst may lie before src in the
 * same buffer (the row moving down); every src byte is read before the
 * byte it lands on is written.
 */
static void unfilter_row(unsigned char *dst, const unsigned char *src,
                         const unsigned char *prev, size_t n, unsigned bpp,
                         int filter)
{
    size_t i = 0;

    if (!prev && filter == 2)
        filter = 0;                 /* Up from nothing: a copy */
    switch (filter) {
    case 0:
        memmove(dst, src, n);
        break;
    case 1:
        for (; i < bpp; i++)
            dst[i] = src[i];
        for (; i < n; i++)
            dst[i] = (unsigned char)(src[i] + dst[i - bpp]);
        break;
    case 2:
        /* 16 at a time, loaded before stored: dst may overlap src */
        for (; i + 16 <= n; i += 16) {
            unsigned char t[16];
            memcpy(t, src + i, 16);
            for (int k = 0; k < 16; k++)
                t[k] = (unsigned char)(t[k] + prev[i + k]);
            memcpy(dst + i, t, 16);
        }
        for (; i < n; i++)
            dst[i] = (unsigned char)(src[i] + prev[i]);
        break;
    case 3:
        for (; i < bpp; i++)
            dst[i] = (unsigned char)(src[i] + (prev ? prev[i] >> 1 : 0));
        for (; i < n; i++)
            dst[i] = (unsigned char)(src[i] +
                                     ((dst[i - bpp] + (prev ? prev[i] : 0)) >>
                                      1));
        break;
    default:  /* 4, Paeth; with no row above it is Sub */
        if (!prev) {
            unfilter_row(dst, src, NULL, n, bpp, 1);
            break;
        }
        for (; i < bpp; i++)
            dst[i] = (unsigned char)(src[i] + prev[i]);
        for (; i < n; i++)
            dst[i] = (unsigned char)(src[i] + paeth(dst[i - bpp], prev[i],
                                                    prev[i - bpp]));
        break;
    }
}

/* The stream at in, inflated into px (n bytes exactly), rows unfiltered
 * and moved down. 0, or -1 if libpng should decide. */
static int inflate_rows(const unsigned char *in, size_t in_len,
                        unsigned char *px, size_t n, uint32_t h, size_t rb,
                        unsigned bpp)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t got = 0;

    if (!d)
        return IB_TRANSFORM_ENOMEM;
    enum libdeflate_result r =
        libdeflate_zlib_decompress(d, in, in_len, px, n, &got);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS || got != n)
        return -1;
    for (uint32_t y = 0; y < h; y++) {
        const unsigned char *src = px + (size_t)y * (rb + 1);
        unsigned char *dst = px + (size_t)y * rb;

        if (src[0] > 4)
            return -1;
        unfilter_row(dst, src + 1, y ? dst - rb : NULL, rb, bpp, src[0]);
    }
    return 0;
}

int tf_png_idat_decode(const unsigned char *buf,
                       const struct tf_png_idat *idat, uint32_t w, uint32_t h,
                       uint32_t channels, struct ib_image **out)
{
    size_t rb = (size_t)w * channels, n, cap;
    const unsigned char *in;
    unsigned char *px;

    /* tf_check_dims has bounded w * h * 4 by SIZE_MAX */
    if (rb + 1 > SIZE_MAX / h)
        return -1;
    n = (rb + 1) * h;
    /*
     * deflate cannot expand more than 1032 times (258 bytes from a 2-bit
     * code, at best): a run too short for its pixels is cut, and fails.
     * Let libpng find so without a buffer the size of the declared image,
     * which a few kilobytes could otherwise make a worker fill (the retry's
     * calloc then zeroes heap memory this buffer dirtied).
     */
    if (idat->total < n / 1032)
        return -1;
    cap = n;
    if (idat->nchunks > 1) {
        if (idat->total > n || n > SIZE_MAX - IDAT_MARGIN - INFLATE_SLACK)
            return -1;   /* a stream larger than its pixels: libpng */
        cap = n + IDAT_MARGIN + INFLATE_SLACK;
    }
    struct ib_image *img = malloc(sizeof *img);
    px = malloc(cap);
    if (!img || !px) {
        free(img);
        free(px);
        return IB_TRANSFORM_ENOMEM;
    }
    if (idat->nchunks == 1) {
        in = buf + idat->first + 8;
    } else {
        /* the chunks' data joined at the end of px */
        unsigned char *q = px + cap - idat->total;
        size_t p = idat->first;

        in = q;
        while (p < idat->end) {
            size_t k = be32(buf + p);
            memcpy(q, buf + p + 8, k);
            q += k;
            p += 12 + k;
        }
    }
    int rc = inflate_rows(in, idat->total, px, n, h, rb, channels);
    /* the filter bytes and the margin given back (this fails only under a
     * failing allocator, which then gets its out-of-memory error) */
    unsigned char *shrunk = rc ? NULL : realloc(px, rb * h);
    if (!shrunk) {
        free(img);
        free(px);
        return rc ? rc : IB_TRANSFORM_ENOMEM;
    }
    img->width = w;
    img->height = h;
    img->channels = channels;
    img->stride = rb;
    img->px = shrunk;
    *out = img;
    return 0;
}
