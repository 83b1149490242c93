/*
 * transform/png_write.c: the PNG encoder, without libpng.
 *
 * Profiling the PNG thumbnail benchmark put half the time in libpng's
 * encoder: its per-row filter choice and, mostly, zlib's deflate at level
 * 6. Writing a PNG needs neither: the file is four kinds of chunk (IHDR,
 * iCCP, IDAT, IEND), each a length, a type, data and a CRC. So this file
 * filters the rows itself, choosing per row the filter with the smallest
 * sum of absolute values, as libpng does, and compresses them with
 * libdeflate, which gives zlib's ratio at a third of zlib's time
 * (docs/BENCHMARKS.md, "PNG"). Outputs are plain 8-bit PNGs any decoder
 * reads; only the bytes of the compressed stream differ from libpng's.
 *
 * libdeflate compresses a whole buffer in one call, so the filtered rows
 * (the image's size again) and the worst-case output must be in memory at
 * once. That is nothing for a thumbnail but would more than double the
 * memory of a large image; above ONESHOT_MAX filtered bytes the rows are
 * streamed through zlib instead, one at a time, at the same level with
 * libpng's strategy, so memory stays what it was.
 *
 * --png-level N (0..9): 0 stores (no filter, no compression); 1..9 are
 * libdeflate's levels of the same number, which follow zlib's scale (6,
 * the default, compresses as zlib 6 does). Large images: zlib level N.
 */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

/* filtered bytes above which rows go through zlib, one at a time */
#define ONESHOT_MAX ((size_t)32 << 20)
/* zlib's output is written as IDAT chunks of this size */
#define STREAM_CHUNK ((size_t)256 << 10)
#define PNG_MAX_SIDE 0x7fffffffu

struct out {
    unsigned char *p;   /* owned until handed to the caller */
    size_t len, cap;
};

/* Makes room for n more bytes; 0 or IB_TRANSFORM_ENOMEM. */
static int out_reserve(struct out *o, size_t n)
{
    size_t cap = o->cap ? o->cap : 4096;
    unsigned char *p;

    if (n <= o->cap - o->len)
        return 0;
    if (n > SIZE_MAX - o->len)
        return IB_TRANSFORM_ENOMEM;
    while (cap - o->len < n) {
        if (cap > SIZE_MAX / 2) {
            cap = o->len + n;
            break;
        }
        cap *= 2;
    }
    p = realloc(o->p, cap);
    if (!p)
        return IB_TRANSFORM_ENOMEM;
    o->p = p;
    o->cap = cap;
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/*
 * Appends one chunk. The data may already sit in o at o->len + 8 (then
 * data is NULL): the compressors write there directly, saving a copy.
 */
static int out_chunk(struct out *o, const char type[4],
                     const unsigned char *data, size_t n)
{
    unsigned char *c;
    uint32_t crc;

    if (n > PNG_MAX_SIDE || out_reserve(o, 12 + n))
        return IB_TRANSFORM_ENOMEM;
    c = o->p + o->len;
    put32(c, (uint32_t)n);
    memcpy(c + 4, type, 4);
    if (data)
        memcpy(c + 8, data, n);
    crc = libdeflate_crc32(0, c + 4, 4 + n);
    put32(c + 8 + n, crc);
    o->len += 12 + n;
    return 0;
}

/* Sum of |f| with each byte as a signed one (0x80 counts 128). */
static uint64_t sad(const unsigned char *f, size_t n)
{
    uint64_t total = 0;

    while (n) {
        /* a 32-bit sum the compiler vectorises, safe for 2^24 bytes */
        size_t k = n < ((size_t)1 << 24) ? n : (size_t)1 << 24;
        uint32_t s = 0;

        for (size_t i = 0; i < k; i++) {
            unsigned char v = f[i], m = (unsigned char)-v;
            s += v < m ? v : m;
        }
        total += s;
        f += k;
        n -= k;
    }
    return total;
}

/*
 * Writes row filtered with filter type t (1..4) to f (n bytes). prev is
 * the row above, all zeros for the first row; bpp the bytes per pixel.
 */
static void filter(int t, const unsigned char *row, const unsigned char *prev,
                   size_t n, unsigned bpp, unsigned char *f)
{
    size_t x;

    switch (t) {
    case 1:
        memcpy(f, row, bpp);
        for (x = bpp; x < n; x++)
            f[x] = (unsigned char)(row[x] - row[x - bpp]);
        break;
    case 2:
        for (x = 0; x < n; x++)
            f[x] = (unsigned char)(row[x] - prev[x]);
        break;
    case 3:
        for (x = 0; x < bpp; x++)
            f[x] = (unsigned char)(row[x] - (prev[x] >> 1));
        for (x = bpp; x < n; x++)
            f[x] = (unsigned char)(row[x] - ((row[x - bpp] + prev[x]) >> 1));
        break;
    default:
        /* Paeth: left and upper-left are 0 in the first pixel, so up */
        for (x = 0; x < bpp; x++)
            f[x] = (unsigned char)(row[x] - prev[x]);
        for (x = bpp; x < n; x++) {
            int a = row[x - bpp], b = prev[x], c = prev[x - bpp];
            int pa = b - c, pb = a - c, pc = pa + pb, pred;

            pa = pa < 0 ? -pa : pa;
            pb = pb < 0 ? -pb : pb;
            pc = pc < 0 ? -pc : pc;
            pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            f[x] = (unsigned char)(row[x] - pred);
        }
        break;
    }
}

/*
 * One filtered row: out[0] the filter type, out[1..n] the bytes. Tries
 * all five filters and keeps the one whose bytes have the smallest sum
 * of absolute values (libpng's heuristic); level 0 does not filter.
 * tmp holds n bytes.
 */
static void filter_row(const unsigned char *row, const unsigned char *prev,
                       size_t n, unsigned bpp, int level, unsigned char *out,
                       unsigned char *tmp)
{
    uint64_t best, s;

    out[0] = 0;
    memcpy(out + 1, row, n);
    if (level == 0)
        return;
    best = sad(row, n);
    for (int t = 1; t <= 4; t++) {
        filter(t, row, prev, n, bpp, tmp);
        s = sad(tmp, n);
        if (s < best) {
            best = s;
            out[0] = (unsigned char)t;
            memcpy(out + 1, tmp, n);
        }
    }
}

/* The rows, filtered, in one buffer; libdeflate compresses it at once. */
static int idat_oneshot(const struct ib_image *img, int level,
                        struct out *o, size_t rowlen, size_t total)
{
    unsigned bpp = img->channels;
    unsigned char *f = malloc(total), *tmp = malloc(rowlen);
    unsigned char *zero = calloc(rowlen ? rowlen : 1, 1);
    struct libdeflate_compressor *c = NULL;
    size_t bound, n;
    int rc = IB_TRANSFORM_ENOMEM;

    if (!f || !tmp || !zero)
        goto done;
    for (uint32_t y = 0; y < img->height; y++)
        filter_row(img->px + y * img->stride,
                   y ? img->px + (y - 1) * img->stride : zero, rowlen, bpp,
                   level, f + y * (rowlen + 1), tmp);
    c = libdeflate_alloc_compressor(level);
    if (!c)
        goto done;
    bound = libdeflate_zlib_compress_bound(c, total);
    if (bound > PNG_MAX_SIDE || out_reserve(o, 12 + bound))
        goto done;
    n = libdeflate_zlib_compress(c, f, total, o->p + o->len + 8, bound);
    if (n == 0)
        goto done;  /* cannot happen with the bound's room */
    rc = out_chunk(o, "IDAT", NULL, n);
done:
    libdeflate_free_compressor(c);
    free(f);
    free(tmp);
    free(zero);
    return rc;
}

/* zlib's allocations go through malloc, so running out is an ENOMEM */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return size && items > SIZE_MAX / size ? NULL
                                           : malloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/*
 * Feeds n bytes to zlib with flush (Z_FINISH: and ends the stream),
 * writing its output into o as IDAT chunks of STREAM_CHUNK bytes, each
 * compressed straight into its place.
 */
static int z_feed(z_stream *z, const unsigned char *p, size_t n, int flush,
                  struct out *o)
{
    do {
        /* a row of 4 * 2^31 bytes would not fit in uInt */
        size_t take = n < UINT32_MAX ? n : UINT32_MAX;
        int f = take == n ? flush : Z_NO_FLUSH, zrc;

        z->next_in = (unsigned char *)p;
        z->avail_in = (uInt)take;
        p += take;
        n -= take;
        do {
            size_t got;

            if (out_reserve(o, 12 + STREAM_CHUNK))
                return IB_TRANSFORM_ENOMEM;
            z->next_out = o->p + o->len + 8;
            z->avail_out = (uInt)STREAM_CHUNK;
            zrc = deflate(z, f);
            if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
                return IB_TRANSFORM_ENOMEM;
            got = STREAM_CHUNK - z->avail_out;
            if (got && out_chunk(o, "IDAT", NULL, got))
                return IB_TRANSFORM_ENOMEM;
            /* room left over: all input taken, or (Z_FINISH) the end */
        } while (z->avail_out == 0);
    } while (n);
    return 0;
}

/* Large images: rows filtered one at a time into zlib. */
static int idat_stream(const struct ib_image *img, int level, struct out *o,
                       size_t rowlen)
{
    unsigned char *row = malloc(rowlen + 1), *tmp = malloc(rowlen);
    unsigned char *zero = calloc(rowlen, 1);
    z_stream z;
    int rc = IB_TRANSFORM_ENOMEM, inited = 0;

    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    if (!row || !tmp || !zero)
        goto done;
    if (deflateInit2(&z, level, Z_DEFLATED, 15, 8, Z_FILTERED) != Z_OK)
        goto done;
    inited = 1;
    for (uint32_t y = 0; y < img->height; y++) {
        filter_row(img->px + y * img->stride,
                   y ? img->px + (y - 1) * img->stride : zero, rowlen,
                   img->channels, level, row, tmp);
        rc = z_feed(&z, row, rowlen + 1, Z_NO_FLUSH, o);
        if (rc)
            goto done;
    }
    rc = z_feed(&z, NULL, 0, Z_FINISH, o);
done:
    if (inited)
        deflateEnd(&z);
    free(row);
    free(tmp);
    free(zero);
    return rc;
}

/*
 * libpng used to drop, with a warning, a profile whose header contradicts
 * the image (an RGB profile on a grey image, a size that is not its
 * length); decoders may refuse such a chunk, and the pixels are right
 * without it, so this does the same.
 */
static int icc_fits(const unsigned char *icc, size_t len, uint32_t channels)
{
    const char *space = channels < 3 ? "GRAY" : "RGB ";

    return len >= 132 && len <= PNG_MAX_SIDE &&
           ((uint32_t)icc[0] << 24 | (uint32_t)icc[1] << 16 |
            (uint32_t)icc[2] << 8 | icc[3]) == len &&
           memcmp(icc + 16, space, 4) == 0;
}

/* iCCP: name "icc", NUL, method 0, the zlib-compressed profile. */
static int write_iccp(const unsigned char *icc, size_t len, struct out *o)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(9);
    size_t bound, n;
    int rc = IB_TRANSFORM_ENOMEM;

    if (!c)
        return rc;
    bound = libdeflate_zlib_compress_bound(c, len);
    if (bound <= PNG_MAX_SIDE - 5 && !out_reserve(o, 12 + 5 + bound)) {
        unsigned char *d = o->p + o->len + 8;

        memcpy(d, "icc\0\0", 5);
        n = libdeflate_zlib_compress(c, icc, len, d + 5, bound);
        if (n)
            rc = out_chunk(o, "iCCP", NULL, 5 + n);
    }
    libdeflate_free_compressor(c);
    return rc;
}

/* iTXt with XMP: keyword, NUL, uncompressed (0, 0), no language, no
 * translated keyword, the packet. */
static int write_xmp(const unsigned char *xmp, size_t len, struct out *o)
{
    static const char head[] = "XML:com.adobe.xmp\0\0\0\0";   /* + NUL */
    size_t n = sizeof head + len;

    if (len > PNG_MAX_SIDE - sizeof head || out_reserve(o, 12 + n))
        return IB_TRANSFORM_ENOMEM;
    memcpy(o->p + o->len + 8, head, sizeof head);
    memcpy(o->p + o->len + 8 + sizeof head, xmp, len);
    return out_chunk(o, "iTXt", NULL, n);
}

int tf_png_encode(const struct ib_image *img,
                  const struct ib_encode_opts *opts, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G',
                                         '\r', '\n', 0x1a, '\n'};
    static const unsigned char types[] = {0, 4, 2, 6};  /* G GA RGB RGBA */
    struct out o = {NULL, 0, 0};
    unsigned char ihdr[13];
    size_t rowlen, total;
    int rc;

    if (img->channels < 1 || img->channels > 4)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "cannot write %u channels as PNG", img->channels);
    if (opts->png_level < 0 || opts->png_level > 9)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "PNG level %d is not in 0..9", opts->png_level);
    if (opts->icc && opts->icc_len > PNG_MAX_SIDE)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "ICC profile of %zu bytes is too large for PNG",
                       opts->icc_len);
    if (img->width > PNG_MAX_SIDE || img->height > PNG_MAX_SIDE)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "%" PRIu32 "x%" PRIu32 " is over PNG's limit of %lu "
                       "pixels a side", img->width, img->height,
                       (unsigned long)PNG_MAX_SIDE);
    if (img->width == 0 || img->height == 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "cannot write an empty image as PNG");
    /* the image is in memory, so width * channels * height fits */
    rowlen = (size_t)img->width * img->channels;
    if (img->height > (SIZE_MAX - 1) / (rowlen + 1))
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a %" PRIu32 "x%" PRIu32 " PNG",
                       img->width, img->height);
    total = (rowlen + 1) * img->height;

    put32(ihdr, img->width);
    put32(ihdr + 4, img->height);
    ihdr[8] = 8;                             /* bit depth */
    ihdr[9] = types[img->channels - 1];
    ihdr[10] = ihdr[11] = ihdr[12] = 0;      /* deflate, adaptive, no Adam7 */
    rc = out_reserve(&o, sizeof sig);
    if (rc == 0) {
        memcpy(o.p, sig, sizeof sig);
        o.len = sizeof sig;
        rc = out_chunk(&o, "IHDR", ihdr, sizeof ihdr);
    }
    if (rc == 0 && opts->icc &&
        icc_fits(opts->icc, opts->icc_len, img->channels))
        rc = write_iccp(opts->icc, opts->icc_len, &o);
    if (rc == 0 && opts->exif && opts->exif_len &&
        opts->exif_len <= PNG_MAX_SIDE)
        rc = out_chunk(&o, "eXIf", opts->exif, opts->exif_len);
    if (rc == 0 && opts->xmp && opts->xmp_len)
        rc = write_xmp(opts->xmp, opts->xmp_len, &o);
    if (rc == 0)
        rc = total <= ONESHOT_MAX
                 ? idat_oneshot(img, opts->png_level, &o, rowlen, total)
                 : idat_stream(img, opts->png_level, &o, rowlen);
    if (rc == 0)
        rc = out_chunk(&o, "IEND", NULL, 0);
    if (rc) {
        free(o.p);
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory to write a %" PRIu32 "x%" PRIu32 " PNG",
                       img->width, img->height);
    }
    *buf = o.p;
    *len = o.len;
    return 0;
}
