/*
 * transform/png.c: the PNG decoder, through libpng's classic API (the
 * encoder is png_write.c, without libpng).
 *
 * The classic API rather than png_image because decoding needs
 * png_set_user_limits, a size check between reading IHDR and allocating
 * rows, and iCCP. libpng reports errors by calling our error function,
 * which records the reason and longjmps to the setjmp in the decode
 * function; no longjmp leaves this file. Warnings are dropped: a library
 * must not print.
 *
 * The common PNGs (8-bit, not interlaced, no palette or tRNS) take a
 * faster way to their pixels, png_idat.c's: libpng then reads the file
 * with its IDAT chunks replaced by one holding an empty zlib stream, for
 * IHDR, iCCP, eXIf, text, every other chunk's checks and IEND, and
 * png_idat.c inflates the real IDAT data itself. Whatever that way turns
 * down or fails on is decoded by libpng alone, from the start, so that
 * errors and pixels stay libpng's. IMGBATCH_NO_FASTPNG=1 in the
 * environment turns the fast way off, for tests and benchmarks.
 */
#include "transform/transform_int.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* What libpng reads: the file, or the file with its IDAT run replaced. */
struct png_src {
    struct {
        const unsigned char *p;   /* borrowed */
        size_t n;
    } seg[3];
    int nseg;
};

struct png_ctx {
    struct png_src src;       /* decode: borrowed input */
    int seg;                  /* the segment being read, and where in it */
    size_t pos;
    char *msg;                /* borrowed from the caller */
    size_t msglen;
    int code;                 /* set before every longjmp */
    int nomem;                /* an allocation of libpng's has failed */
};

static void on_error(png_structp png, png_const_charp text)
{
    struct png_ctx *ctx = png_get_error_ptr(png);

    /* ctx->code already set (truncation, no memory) keeps its own text */
    if (ctx->code == IB_TRANSFORM_ECORRUPT && ctx->nomem)
        ctx->code = tf_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ENOMEM,
                            "out of memory (libpng: %s)", text);
    else if (ctx->code == IB_TRANSFORM_ECORRUPT)
        tf_fail(ctx->msg, ctx->msglen, ctx->code, "PNG: %s", text);
    png_longjmp(png, 1);
}

/*
 * libpng's own allocations (its structs, row buffers, zlib's state) come
 * here, so that running out of memory inside libpng, which libpng reports
 * with the same png_error as bad data, is an out-of-memory error and not
 * a corrupt file.
 */
static png_voidp on_malloc(png_structp png, png_alloc_size_t n)
{
    struct png_ctx *ctx = png_get_mem_ptr(png);
    void *p = malloc(n);

    if (!p)
        ctx->nomem = 1;
    return p;
}

static void on_free(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

static void on_warning(png_structp png, png_const_charp text)
{
    (void)png;
    (void)text;
}

static void read_fn(png_structp png, png_bytep data, size_t n)
{
    struct png_ctx *ctx = png_get_io_ptr(png);

    while (n) {
        if (ctx->seg == ctx->src.nseg) {
            ctx->code = tf_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ECORRUPT,
                                "truncated PNG data");
            png_error(png, "truncated");
        }
        size_t left = ctx->src.seg[ctx->seg].n - ctx->pos;
        size_t k = n < left ? n : left;

        memcpy(data, ctx->src.seg[ctx->seg].p + ctx->pos, k);
        data += k;
        n -= k;
        ctx->pos += k;
        if (ctx->pos == ctx->src.seg[ctx->seg].n) {
            ctx->seg++;
            ctx->pos = 0;
        }
    }
}

/*
 * Asks libpng for 8-bit samples whatever the file holds: palettes and
 * tRNS become RGB(A) or grey+alpha, 1/2/4-bit grey is scaled to 0..255,
 * 16-bit is rounded (v * 255 / 65535, not truncated as png_set_strip_16
 * would). Interlaced images are deinterlaced by libpng over the passes
 * whose number this returns, each pass a png_read_row for every row.
 */
static int set_transforms(png_structp png, png_infop info)
{
    int type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);

    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_scale_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return passes;
}

/*
 * libpng folds every IHDR problem, a user limit included, into "Invalid
 * IHDR data". Reading the declared size first keeps an over-limit image
 * an IB_TRANSFORM_ELIMIT with a message that says so.
 */
static int check_raw_ihdr(const unsigned char *buf, size_t len,
                          uint64_t max_pixels, char *msg, size_t msglen)
{
    uint32_t w, h;

    if (len < 24 || memcmp(buf + 12, "IHDR", 4) != 0)
        return 0;  /* libpng will say what is wrong */
    w = png_get_uint_32(buf + 16);
    h = png_get_uint_32(buf + 20);
    if (w == 0 || h == 0)
        return 0;
    return tf_check_dims(w, h, 4, max_pixels, msg, msglen);
}

/* eXIf and the XMP iTXt chunk into meta, as opts asks. 0, or -1 (no
 * memory; meta's own blocks released). */
static int copy_chunks(png_structp png, png_infop info,
                       const struct ib_decode_opts *opts, struct ib_meta *meta)
{
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
    png_textp text = NULL;
    int ntext = 0;

    if (opts->keep_exif && png_get_eXIf_1(png, info, &exif_len, &exif) &&
        exif_len) {
        meta->exif = tf_memdup(exif, exif_len);
        if (!meta->exif)
            return -1;
        meta->exif_len = exif_len;
    }
    if (opts->keep_xmp)
        png_get_text(png, info, &text, &ntext);
    for (int i = 0; i < ntext; i++) {
        size_t n = text[i].compression >= PNG_ITXT_COMPRESSION_NONE
                       ? text[i].itxt_length : text[i].text_length;
        if (strcmp(text[i].key, "XML:com.adobe.xmp") || !n)
            continue;
        meta->xmp = tf_memdup(text[i].text, n);
        if (!meta->xmp) {
            free(meta->exif);
            meta->exif = NULL;
            return -1;
        }
        meta->xmp_len = n;
        break;
    }
    return 0;
}

/*
 * Decodes src with libpng. With idat (the fast way: src is the file with
 * an empty IDAT), libpng reads no pixels and png_idat.c makes them from
 * buf's IDAT run once every chunk has been read; a refusal of its is -1.
 */
static int decode(const struct png_src *src, const unsigned char *buf,
                  const struct tf_png_idat *idat,
                  const struct ib_decode_opts *opts, struct ib_image **out,
                  struct ib_meta *meta, char *msg, size_t msglen)
{
    struct png_ctx ctx;
    png_structp png;
    png_infop info;
    struct ib_image *volatile img = NULL;
    unsigned char *volatile icc = NULL;
    png_uint_32 w, h, limit;
    volatile size_t icc_len = 0;
    unsigned channels;
    int rc, passes;

    memset(&ctx, 0, sizeof ctx);
    ctx.src = *src;
    ctx.msg = msg;
    ctx.msglen = msglen;
    ctx.code = IB_TRANSFORM_ECORRUPT;
    png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &ctx, on_error,
                                   on_warning, &ctx, on_malloc, on_free);
    if (!png)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a PNG decoder");
    /* before setjmp: info must not change between setjmp and longjmp */
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a PNG decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = ctx.code;
        goto done;
    }
    /*
     * Either side alone is at most w*h, so this refuses nothing
     * tf_check_dims would accept, and it stops libpng before it sizes
     * its own row buffers from IHDR.
     */
    limit = opts->max_pixels < PNG_UINT_31_MAX ? (png_uint_32)opts->max_pixels
                                                : PNG_UINT_31_MAX;
    png_set_user_limits(png, limit ? limit : 1, limit ? limit : 1);
    png_set_read_fn(png, &ctx, read_fn);
    png_read_info(png, info);

    w = png_get_image_width(png, info);
    h = png_get_image_height(png, info);
    rc = tf_check_dims(w, h, 4, opts->max_pixels, msg, msglen);
    if (rc)
        goto done;
    passes = set_transforms(png, info);
    channels = png_get_channels(png, info);
    if (channels < 1 || channels > 4 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * channels) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                     "PNG: unexpected layout after conversion");
        goto done;
    }

    if (opts->keep_icc && png_get_valid(png, info, PNG_INFO_iCCP)) {
        png_charp name;
        png_bytep prof;
        png_uint_32 prof_len;
        int comp;

        if (png_get_iCCP(png, info, &name, &comp, &prof, &prof_len) &&
            prof_len) {
            icc = malloc(prof_len);
            if (!icc) {
                rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                             "no memory for the ICC profile");
                goto done;
            }
            memcpy(icc, prof, prof_len);
            icc_len = prof_len;
        }
    }

    img = idat ? NULL : ib_image_new(w, h, channels);
    if (!idat && !img) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for a %" PRIu32 "x%" PRIu32 " image", w, h);
        goto done;
    }
    /*
     * Row by row, as png_read_image does, but with no array of row
     * pointers: for a 1 x 20,000,000 image that array alone was 160 MB,
     * nearly three times the pixels.
     */
    for (int pass = 0; !idat && pass < passes; pass++)
        for (png_uint_32 y = 0; y < h; y++)
            png_read_row(png, img->px + (size_t)y * img->stride, NULL);
    /* reads through IEND, so a file cut after its last IDAT still fails */
    png_read_end(png, info);   /* info: eXIf and text may follow IDAT */
    /* libpng drops an ancillary chunk (iCCP, text) it has no memory for */
    if (ctx.nomem) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory reading PNG chunks");
        goto done;
    }

    if (meta && copy_chunks(png, info, opts, meta)) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for the EXIF or XMP block");
        goto done;
    }
    if (meta) {
        meta->format = IB_FORMAT_PNG;
        meta->width = w;
        meta->height = h;
        meta->orientation = 1;
        meta->scale_denom = 1;
        meta->icc = icc;
        meta->icc_len = icc_len;
        icc = NULL;
    }
    if (idat) {
        struct ib_image *px = NULL;

        rc = tf_png_idat_decode(buf, idat, w, h, channels, &px);
        if (rc == IB_TRANSFORM_ENOMEM)
            rc = tf_fail(msg, msglen, rc, "no memory for a %" PRIu32 "x%"
                         PRIu32 " image", w, h);
        if (rc)
            goto done;
        img = px;
    }
    *out = img;
    img = NULL;
    rc = 0;
done:
    png_destroy_read_struct(&png, &info, NULL);
    ib_image_free(img);
    free(icc);
    return rc;
}

int tf_png_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                 char *msg, size_t msglen)
{
    /* the signature, then IHDR's length, type, width and height */
    if (len < 24 || memcmp(buf + 12, "IHDR", 4) != 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                       "PNG without an IHDR chunk");
    meta->format = IB_FORMAT_PNG;
    meta->width = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 |
                  (uint32_t)buf[18] << 8 | buf[19];
    meta->height = (uint32_t)buf[20] << 24 | (uint32_t)buf[21] << 16 |
                   (uint32_t)buf[22] << 8 | buf[23];
    return 0;
}

int tf_png_decode(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *opts, struct ib_image **out,
                  struct ib_meta *meta, char *msg, size_t msglen)
{
    /* the IDAT run's stand-in: an empty zlib stream, its CRC */
    static const unsigned char empty_idat[20] = {
        0, 0, 0, 8, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x03, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x48, 0x06, 0x89, 0xd2 };
    struct png_src src = { .seg = { { buf, len } }, .nseg = 1 };
    struct tf_png_idat idat;
    const char *off = getenv("IMGBATCH_NO_FASTPNG");
    int rc = check_raw_ihdr(buf, len, opts->max_pixels, msg, msglen);

    if (rc)
        return rc;
    if ((!off || strcmp(off, "1")) && !tf_png_idat_find(buf, len, &idat)) {
        struct png_src view = {
            .seg = { { buf, idat.first }, { empty_idat, sizeof empty_idat },
                     { buf + idat.end, len - idat.end } },
            .nseg = 3 };
        char m[256];

        /* any other failure: libpng alone, whose errors are the ones to
         * report */
        rc = decode(&view, buf, &idat, opts, out, meta, m, sizeof m);
        if (rc == IB_TRANSFORM_ENOMEM)
            return tf_fail(msg, msglen, rc, "%s", m);
        if (!rc)
            return 0;
        ib_meta_release(meta);
    }
    return decode(&src, buf, NULL, opts, out, meta, msg, msglen);
}
