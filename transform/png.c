/*
 * transform/png.c: PNG through libpng's classic API.
 *
 * The classic API rather than png_image because decoding needs
 * png_set_user_limits and a size check between reading IHDR and allocating
 * rows, and both directions need iCCP. libpng reports errors by calling
 * our error function, which records the reason and longjmps to the setjmp
 * in the one function that drives each direction; no longjmp leaves this
 * file. Warnings are dropped: a library must not print.
 */
#include "transform/transform_int.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct png_ctx {
    const unsigned char *in;  /* decode: borrowed input */
    size_t in_len, in_pos;
    unsigned char *out;       /* encode: owned until handed to the caller */
    size_t out_len, out_cap;
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
        ctx->code = ib_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ENOMEM,
                            "out of memory (libpng: %s)", text);
    else if (ctx->code == IB_TRANSFORM_ECORRUPT)
        ib_fail(ctx->msg, ctx->msglen, ctx->code, "PNG: %s", text);
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

    if (n > ctx->in_len - ctx->in_pos) {
        ctx->code = ib_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ECORRUPT,
                            "truncated PNG data");
        png_error(png, "truncated");
    }
    memcpy(data, ctx->in + ctx->in_pos, n);
    ctx->in_pos += n;
}

static void write_fn(png_structp png, png_bytep data, size_t n)
{
    struct png_ctx *ctx = png_get_io_ptr(png);

    if (n > ctx->out_cap - ctx->out_len) {
        size_t cap = ctx->out_cap ? ctx->out_cap : 16384;
        unsigned char *p;

        while (cap - ctx->out_len < n) {
            if (cap > SIZE_MAX / 2)
                break;
            cap *= 2;
        }
        p = cap - ctx->out_len >= n ? realloc(ctx->out, cap) : NULL;
        if (!p) {
            ctx->code = ib_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ENOMEM,
                                "no memory for the PNG output");
            png_error(png, "out of memory");
        }
        ctx->out = p;
        ctx->out_cap = cap;
    }
    memcpy(ctx->out + ctx->out_len, data, n);
    ctx->out_len += n;
}

static void flush_fn(png_structp png)
{
    (void)png;
}

/*
 * Asks libpng for 8-bit samples whatever the file holds: palettes and
 * tRNS become RGB(A) or grey+alpha, 1/2/4-bit grey is scaled to 0..255,
 * 16-bit is rounded (v * 255 / 65535, not truncated as png_set_strip_16
 * would). Interlaced images are deinterlaced by png_read_image.
 */
static void set_transforms(png_structp png, png_infop info)
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
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
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
    return ib_check_dims(w, h, 4, max_pixels, msg, msglen);
}

int ib_png_decode(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *opts, struct ib_image **out,
                  struct ib_meta *meta, char *msg, size_t msglen)
{
    struct png_ctx ctx;
    png_structp png;
    png_infop info;
    struct ib_image *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    unsigned char *volatile icc = NULL;
    png_uint_32 w, h, limit;
    volatile size_t icc_len = 0;
    unsigned channels;
    int rc;

    rc = check_raw_ihdr(buf, len, opts->max_pixels, msg, msglen);
    if (rc)
        return rc;
    memset(&ctx, 0, sizeof ctx);
    ctx.in = buf;
    ctx.in_len = len;
    ctx.msg = msg;
    ctx.msglen = msglen;
    ctx.code = IB_TRANSFORM_ECORRUPT;
    png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &ctx, on_error,
                                   on_warning, &ctx, on_malloc, on_free);
    if (!png)
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a PNG decoder");
    /* before setjmp: info must not change between setjmp and longjmp */
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a PNG decoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = ctx.code;
        goto done;
    }
    /*
     * Either side alone is at most w*h, so this refuses nothing
     * ib_check_dims would accept, and it stops libpng before it sizes
     * its own row buffers from IHDR.
     */
    limit = opts->max_pixels < PNG_UINT_31_MAX ? (png_uint_32)opts->max_pixels
                                                : PNG_UINT_31_MAX;
    png_set_user_limits(png, limit ? limit : 1, limit ? limit : 1);
    png_set_read_fn(png, &ctx, read_fn);
    png_read_info(png, info);

    w = png_get_image_width(png, info);
    h = png_get_image_height(png, info);
    rc = ib_check_dims(w, h, 4, opts->max_pixels, msg, msglen);
    if (rc)
        goto done;
    set_transforms(png, info);
    channels = png_get_channels(png, info);
    if (channels < 1 || channels > 4 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * channels) {
        rc = ib_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
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
                rc = ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                             "no memory for the ICC profile");
                goto done;
            }
            memcpy(icc, prof, prof_len);
            icc_len = prof_len;
        }
    }

    img = ib_image_new(w, h, channels);
    rows = malloc(sizeof *rows * h);
    if (!img || !rows) {
        rc = ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for a %" PRIu32 "x%" PRIu32 " image", w, h);
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = img->px + y * img->stride;
    png_read_image(png, rows);
    /* reads through IEND, so a file cut after its last IDAT still fails */
    png_read_end(png, NULL);
    /* libpng drops an ancillary chunk (iCCP, text) it has no memory for */
    if (ctx.nomem) {
        rc = ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory reading PNG chunks");
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
    *out = img;
    img = NULL;
    rc = 0;
done:
    png_destroy_read_struct(&png, &info, NULL);
    ib_image_free(img);
    free(rows);
    free(icc);
    return rc;
}

int ib_png_encode(const struct ib_image *img,
                  const struct ib_encode_opts *opts, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen)
{
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    struct png_ctx ctx;
    png_structp png;
    png_infop info;
    png_bytep *rows;
    int rc;

    if (img->channels < 1 || img->channels > 4)
        return ib_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "cannot write %u channels as PNG", img->channels);
    if (opts->png_level < 0 || opts->png_level > 9)
        return ib_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "PNG level %d is not in 0..9", opts->png_level);
    if (opts->icc && opts->icc_len > PNG_UINT_31_MAX)
        return ib_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "ICC profile of %zu bytes is too large for PNG",
                       opts->icc_len);
    if (img->width > PNG_UINT_31_MAX || img->height > PNG_UINT_31_MAX)
        return ib_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "%" PRIu32 "x%" PRIu32 " is over PNG's limit of %lu "
                       "pixels a side", img->width, img->height,
                       (unsigned long)PNG_UINT_31_MAX);

    memset(&ctx, 0, sizeof ctx);
    ctx.msg = msg;
    ctx.msglen = msglen;
    ctx.code = IB_TRANSFORM_ECORRUPT;
    png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &ctx, on_error,
                                    on_warning, &ctx, on_malloc, on_free);
    if (!png)
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a PNG encoder");
    info = png_create_info_struct(png);
    rows = malloc(sizeof *rows * img->height);
    if (!info || !rows) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for a PNG encoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        rc = ctx.code;
        goto done;
    }
    /*
     * A profile libpng finds inconsistent (say an RGB profile on a grey
     * image) is dropped with a warning instead of failing the image: the
     * pixels are still right without it.
     */
    png_set_benign_errors(png, 1);
    /*
     * libpng's default limit of 1,000,000 pixels a side applies to writing
     * too and fails with "Invalid IHDR data". The decoder accepts up to
     * PNG's own limit (under --max-pixels), so the encoder writes whatever
     * the format can hold: the image is already in memory.
     */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_write_fn(png, &ctx, write_fn, flush_fn);
    png_set_compression_level(png, opts->png_level);
    png_set_IHDR(png, info, img->width, img->height, 8,
                 types[img->channels - 1], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (opts->icc && opts->icc_len)
        png_set_iCCP(png, info, "icc", PNG_COMPRESSION_TYPE_BASE, opts->icc,
                     (png_uint_32)opts->icc_len);
    for (uint32_t y = 0; y < img->height; y++)
        rows[y] = img->px + y * img->stride;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    if (ctx.nomem) {
        rc = ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory writing PNG chunks");
        goto done;
    }

    *buf = ctx.out;
    *len = ctx.out_len;
    ctx.out = NULL;
    rc = 0;
done:
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(ctx.out);
    return rc;
}
