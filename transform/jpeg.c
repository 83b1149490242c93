/*
 * transform/jpeg.c: JPEG through libjpeg-turbo's libjpeg API.
 *
 * libjpeg reports fatal errors through error_exit, which must not return.
 * As in libjpeg-turbo's example.c, ours longjmps back to a setjmp inside
 * the one function that drives each direction (tf_jpeg_decode,
 * tf_jpeg_encode here; jpeg_raw.c's two for planes), so no longjmp ever
 * leaves them; what both files share is declared in jpeg_int.h.
 * Everything those functions must free after a longjmp is reachable from
 * volatile locals or from struct tf_jpeg_ctx, whose address libjpeg
 * holds.
 *
 * libjpeg treats a truncated file or a corrupt entropy-coded segment as a
 * warning and carries on with grey or garbage pixels. For a batch tool a
 * half-decoded image is a wrong output, so those warnings fail the decode.
 */
#include "transform/jpeg_int.h"

#include <stdlib.h>
#include <string.h>

/* after jpeglib.h: jerror.h's message list depends on jconfig.h */
#include <jerror.h>

/* jpeg_write_icc_profile numbers its markers with one byte */
#define ICC_MAX_LEN (255u * 65519u)

/* Formats libjpeg's current message; "code" picks the IB_TRANSFORM_E*. */
static void ctx_fail(j_common_ptr cinfo, int code, const char *what)
{
    struct tf_jpeg_ctx *ctx = (struct tf_jpeg_ctx *)cinfo->err;
    char text[JMSG_LENGTH_MAX];

    cinfo->err->format_message(cinfo, text);
    ctx->code = tf_fail(ctx->msg, ctx->msglen, code, "%s%s", what, text);
    longjmp(ctx->jb, 1);
}

static void on_error_exit(j_common_ptr cinfo)
{
    int code = IB_TRANSFORM_ECORRUPT;

    if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY)
        code = IB_TRANSFORM_ENOMEM;
    ctx_fail(cinfo, code, cinfo->is_decompressor ? "" : "jpeg encoder: ");
}

/* libjpeg's default prints to stderr; a library must not. */
static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

/*
 * level -1 is a warning, >= 0 trace output. Warnings that mean the pixels
 * are wrong end the decode; the rest (unknown JFIF revision, a bad ICC
 * marker, an unknown Adobe transform) are harmless and ignored.
 */
static void on_emit_message(j_common_ptr cinfo, int level)
{
    struct tf_jpeg_ctx *ctx = (struct tf_jpeg_ctx *)cinfo->err;

    if (level >= 0)
        return;
    cinfo->err->num_warnings++;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        ctx->code = tf_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ECORRUPT,
                            "truncated JPEG data");
        longjmp(ctx->jb, 1);
    case JWRN_HIT_MARKER:
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        ctx_fail(cinfo, IB_TRANSFORM_ECORRUPT, "corrupt JPEG: ");
        break;
    default:
        break;
    }
}

/*
 * Called while libjpeg consumes input. A progressive file may have any
 * number of scans and each costs a pass over the whole coefficient buffer,
 * so thousands of tiny scans make a small file very slow to decode.
 */
static void on_progress(j_common_ptr cinfo)
{
    struct tf_jpeg_ctx *ctx = (struct tf_jpeg_ctx *)cinfo->err;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;

    if (d->input_scan_number >= 0 &&
        (unsigned)d->input_scan_number > ctx->max_scans) {
        ctx->code = tf_fail(ctx->msg, ctx->msglen, IB_TRANSFORM_ELIMIT,
                            "progressive JPEG with more than %u scans",
                            ctx->max_scans);
        longjmp(ctx->jb, 1);
    }
}

void tf_jpeg_ctx_init(struct tf_jpeg_ctx *ctx, char *msg, size_t msglen)
{
    memset(ctx, 0, sizeof *ctx);
    jpeg_std_error(&ctx->pub);
    ctx->pub.error_exit = on_error_exit;
    ctx->pub.output_message = on_output_message;
    ctx->pub.emit_message = on_emit_message;
    ctx->msg = msg;
    ctx->msglen = msglen;
    ctx->code = IB_TRANSFORM_ECORRUPT;
}

void tf_jpeg_cap_scans(struct tf_jpeg_ctx *ctx, j_decompress_ptr cinfo,
                       unsigned max_scans)
{
    ctx->max_scans = max_scans;
    ctx->progress.progress_monitor = on_progress;
    cinfo->progress = &ctx->progress;
}

int tf_jpeg_read_header(struct tf_jpeg_ctx *ctx, j_decompress_ptr cinfo,
                        const unsigned char *buf, size_t len,
                        const struct ib_decode_opts *opts, char *msg,
                        size_t msglen)
{
    jpeg_create_decompress(cinfo);
    tf_jpeg_cap_scans(ctx, cinfo, opts->max_scans);
    jpeg_mem_src(cinfo, buf, (unsigned long)len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xffff);
    jpeg_read_header(cinfo, TRUE);
    return tf_check_dims(cinfo->image_width, cinfo->image_height, 4,
                         opts->max_pixels, msg, msglen);
}

int tf_jpeg_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return tf_exif_orientation(m->data, m->data_length);
    return 1;
}

/* XMP's APP1 starts with this namespace and its NUL: 29 bytes */
static const char xmp_ns[] = "http://ns.adobe.com/xap/1.0/";

int tf_jpeg_copy_markers(j_decompress_ptr cinfo,
                         const struct ib_decode_opts *opts,
                         struct ib_meta *meta)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1)
            continue;
        if (opts->keep_exif && !meta->exif && m->data_length > 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0) {
            meta->exif_len = m->data_length - 6;
            meta->exif = tf_memdup(m->data + 6, meta->exif_len);
            if (!meta->exif)
                return -1;
        } else if (opts->keep_xmp && !meta->xmp &&
                   m->data_length > sizeof xmp_ns &&
                   memcmp(m->data, xmp_ns, sizeof xmp_ns) == 0) {
            meta->xmp_len = m->data_length - sizeof xmp_ns;
            meta->xmp = tf_memdup(m->data + sizeof xmp_ns, meta->xmp_len);
            if (!meta->xmp)
                return -1;
        }
    }
    return 0;
}

/* One APP1 marker: prefix (plen bytes) then n bytes of d. A block too big
 * for one marker is left out, as libvips does. */
static void write_app1(j_compress_ptr cinfo, const char *prefix, size_t plen,
                       const unsigned char *d, size_t n)
{
    if (!d || !n || n > 65533 - plen)
        return;
    jpeg_write_m_header(cinfo, JPEG_APP0 + 1, (unsigned int)(plen + n));
    for (size_t i = 0; i < plen; i++)
        jpeg_write_m_byte(cinfo, (unsigned char)prefix[i]);
    for (size_t i = 0; i < n; i++)
        jpeg_write_m_byte(cinfo, d[i]);
}

/*
 * Sets cinfo up for the largest DCT downscale (1/8, 1/4, 1/2) whose output
 * is still at least min_w x min_h, or for full size.
 */
void tf_jpeg_pick_scale(j_decompress_ptr cinfo, uint32_t min_w,
                        uint32_t min_h)
{
    static const unsigned denoms[] = {8, 4, 2};

    for (size_t i = 0; i < sizeof denoms / sizeof denoms[0]; i++) {
        cinfo->scale_num = 1;
        cinfo->scale_denom = denoms[i];
        jpeg_calc_output_dimensions(cinfo);
        if (cinfo->output_width >= min_w && cinfo->output_height >= min_h)
            return;
    }
    cinfo->scale_num = 1;
    cinfo->scale_denom = 1;
}

/*
 * Header only: size and EXIF orientation, for choosing a shrink-on-load
 * scale before decoding. Reads the markers up to the first scan, which
 * costs next to nothing beside the decode.
 */
int tf_jpeg_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen)
{
    struct jpeg_decompress_struct cinfo;
    struct tf_jpeg_ctx ctx;
    int rc;

    if ((unsigned long)len != len)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "JPEG data too large");
    tf_jpeg_ctx_init(&ctx, msg, msglen);
    cinfo.err = &ctx.pub;
    if (setjmp(ctx.jb)) {
        rc = ctx.code;
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&cinfo, TRUE);
    meta->format = IB_FORMAT_JPEG;
    meta->width = cinfo.image_width;
    meta->height = cinfo.image_height;
    meta->orientation = tf_jpeg_orientation(&cinfo);
    meta->scale_denom = 1;
    rc = 0;
done:
    jpeg_destroy_decompress(&cinfo);
    return rc;
}

/*
 * CMYK row to RGB. Photoshop writes CMYK and YCCK JPEGs inverted
 * (0 = full ink) and marks them with an Adobe APP14 segment; libjpeg passes
 * the stored values through, so the inversion is undone here. This is the
 * naive conversion for a file without a usable CMYK profile, as most
 * decoders do; with one, lcms2 converts (tf_cmyk_*), since ink does not
 * mix like light: the formula's blues and greens are far off and its
 * shadows too dark.
 */
static void cmyk_to_rgb(const unsigned char *in, unsigned char *out,
                        uint32_t w, int inverted)
{
    for (uint32_t x = 0; x < w; x++, in += 4, out += 3) {
        unsigned k = inverted ? in[3] : 255u - in[3];
        for (int c = 0; c < 3; c++) {
            unsigned v = inverted ? in[c] : 255u - in[c];
            out[c] = (unsigned char)((v * k + 127) / 255);
        }
    }
}

int tf_jpeg_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen)
{
    struct jpeg_decompress_struct cinfo;
    struct tf_jpeg_ctx ctx;
    struct ib_image *volatile img = NULL;
    unsigned char *volatile cmyk_row = NULL;
    struct tf_cmyk *volatile cmyk_icc = NULL;
    JOCTET *volatile icc = NULL;
    unsigned int icc_len = 0;
    unsigned channels;
    int rc, orientation;

    if ((unsigned long)len != len)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "JPEG data too large");
    tf_jpeg_ctx_init(&ctx, msg, msglen);
    cinfo.err = &ctx.pub;
    if (setjmp(ctx.jb)) {
        rc = ctx.code;
        goto done;
    }
    rc = tf_jpeg_read_header(&ctx, &cinfo, buf, len, opts, msg, msglen);
    if (rc)
        goto done;

    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        /* libjpeg converts YCCK to CMYK, not to RGB; we do the rest */
        cinfo.out_color_space = JCS_CMYK;
        channels = 3;
        break;
    default:
        cinfo.out_color_space = JCS_RGB;
        channels = 3;
        break;
    }
    if (opts->min_width || opts->min_height)
        tf_jpeg_pick_scale(&cinfo, opts->min_width, opts->min_height);

    orientation = tf_jpeg_orientation(&cinfo);
    /* now: the markers live in libjpeg's image pool, gone after finish;
     * on a later failure the caller releases meta */
    if (meta && tf_jpeg_copy_markers(&cinfo, opts, meta)) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for the EXIF or XMP block");
        goto done;
    }
    if (opts->keep_icc || cinfo.out_color_space == JCS_CMYK) {
        JOCTET *p = NULL;
        if (jpeg_read_icc_profile(&cinfo, &p, &icc_len))
            icc = p;
    }
    if (cinfo.out_color_space == JCS_CMYK) {
        /*
         * The pixels become sRGB here, through the profile if it is a CMYK
         * one lcms2 can use. Either way the profile stays behind: it
         * describes CMYK, never the RGB image an output gets. A broken or
         * non-CMYK profile falls back to the formula, as one lcms2 cannot
         * read does on the RGB path and as browsers show such a file: the
         * image is still worth having, and it is what imgbatch gave before.
         */
        cmyk_icc = tf_cmyk_new(icc, icc ? icc_len : 0,
                               cinfo.saw_Adobe_marker);
        free(icc);
        icc = NULL;
    }

    jpeg_start_decompress(&cinfo);
    img = ib_image_new(cinfo.output_width, cinfo.output_height, channels);
    if (!img) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for a %ux%u image", cinfo.output_width,
                     cinfo.output_height);
        goto done;
    }
    if (cinfo.out_color_space == JCS_CMYK) {
        cmyk_row = malloc((size_t)cinfo.output_width * 4);
        if (!cmyk_row) {
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "no memory for a CMYK row");
            goto done;
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *dst = img->px + cinfo.output_scanline * img->stride;
        JSAMPROW row = cmyk_row ? cmyk_row : dst;

        jpeg_read_scanlines(&cinfo, &row, 1);
        if (cmyk_icc)
            tf_cmyk_to_rgb(cmyk_icc, cmyk_row, dst, img->width);
        else if (cmyk_row)
            cmyk_to_rgb(cmyk_row, dst, img->width, cinfo.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&cinfo);

    if (meta) {
        meta->format = IB_FORMAT_JPEG;
        meta->width = cinfo.image_width;
        meta->height = cinfo.image_height;
        meta->orientation = orientation;
        meta->scale_denom = cinfo.scale_denom;
        meta->icc = icc;
        meta->icc_len = icc ? icc_len : 0;
        icc = NULL;
    }
    *out = img;
    img = NULL;
    rc = 0;
done:
    jpeg_destroy_decompress(&cinfo);
    ib_image_free(img);
    free(cmyk_row);
    tf_cmyk_free(cmyk_icc);
    free(icc);
    return rc;
}

static void dest_start(j_compress_ptr cinfo)
{
    struct tf_jpeg_dest *d = (struct tf_jpeg_dest *)cinfo->dest;

    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = d->cap;
}

static boolean dest_grow(j_compress_ptr cinfo)
{
    struct tf_jpeg_dest *d = (struct tf_jpeg_dest *)cinfo->dest;
    size_t used = d->cap;  /* libjpeg calls this only when the buffer is full */
    unsigned char *p;

    if (d->cap > SIZE_MAX / 2)
        ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
    p = realloc(d->buf, d->cap * 2);
    if (!p)
        ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
    d->buf = p;
    d->cap *= 2;
    d->pub.next_output_byte = p + used;
    d->pub.free_in_buffer = d->cap - used;
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo)
{
    (void)cinfo;
}

int tf_jpeg_dest_init(struct tf_jpeg_dest *d, char *msg, size_t msglen)
{
    memset(d, 0, sizeof *d);
    d->cap = 16384;
    d->buf = malloc(d->cap);
    if (!d->buf)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "no memory for the JPEG output");
    d->pub.init_destination = dest_start;
    d->pub.empty_output_buffer = dest_grow;
    d->pub.term_destination = dest_term;
    return 0;
}

int tf_jpeg_check_encode(const struct ib_encode_opts *opts, uint32_t w,
                         uint32_t h, char *msg, size_t msglen)
{
    if (opts->quality < 1 || opts->quality > 100)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "JPEG quality %d is not in 1..100", opts->quality);
    if (opts->subsample != 420 && opts->subsample != 422 &&
        opts->subsample != 444)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "JPEG chroma subsampling %d is not 420, 422 or 444",
                       opts->subsample);
    if (w > JPEG_MAX_DIMENSION || h > JPEG_MAX_DIMENSION)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "%ux%u is over JPEG's limit of %u", w, h,
                       (unsigned)JPEG_MAX_DIMENSION);
    if (opts->icc && opts->icc_len > ICC_MAX_LEN)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "ICC profile of %zu bytes is too large for JPEG",
                       opts->icc_len);
    return 0;
}

void tf_jpeg_start_encoder(j_compress_ptr cinfo, struct tf_jpeg_dest *dest,
                           uint32_t w, uint32_t h, int components,
                           J_COLOR_SPACE space,
                           const struct ib_encode_opts *opts)
{
    jpeg_create_compress(cinfo);
    cinfo->dest = &dest->pub;
    cinfo->image_width = w;
    cinfo->image_height = h;
    cinfo->input_components = components;
    cinfo->in_color_space = space;
    jpeg_set_defaults(cinfo);
    tf_jpeg_set_params(cinfo, opts);
}

void tf_jpeg_set_params(j_compress_ptr cinfo,
                        const struct ib_encode_opts *opts)
{
    jpeg_set_quality(cinfo, opts->quality, TRUE);
    if (cinfo->num_components == 3) {
        /* chroma at full resolution, or halved across (4:2:2) or both
         * ways (4:2:0): what the luma factor says relative to chroma's 1 */
        cinfo->comp_info[0].h_samp_factor = opts->subsample == 444 ? 1 : 2;
        cinfo->comp_info[0].v_samp_factor = opts->subsample == 420 ? 2 : 1;
        for (int c = 1; c < 3; c++) {
            cinfo->comp_info[c].h_samp_factor = 1;
            cinfo->comp_info[c].v_samp_factor = 1;
        }
    }
    /* a second pass over the coefficients, all held, for Huffman tables
     * fitted to this image (transform.h); progressive mode always does it */
    if (opts->optimize_coding == IB_JPEG_OPTIMIZE_ON ||
        (opts->optimize_coding == IB_JPEG_OPTIMIZE_AUTO &&
         (uint64_t)cinfo->image_width * cinfo->image_height <=
             IB_JPEG_OPTIMIZE_MAX_PIXELS))
        cinfo->optimize_coding = TRUE;
    else
        cinfo->optimize_coding = FALSE;
    if (opts->progressive)
        jpeg_simple_progression(cinfo);
}

void tf_jpeg_write_meta(j_compress_ptr cinfo,
                        const struct ib_encode_opts *opts)
{
    write_app1(cinfo, "Exif\0\0", 6, opts->exif, opts->exif_len);
    write_app1(cinfo, xmp_ns, sizeof xmp_ns, opts->xmp, opts->xmp_len);
    if (opts->icc && opts->icc_len)
        jpeg_write_icc_profile(cinfo, opts->icc, (unsigned int)opts->icc_len);
}

/*
 * Grey+alpha and RGBA become grey and RGB composited over white: JPEG has
 * no alpha, and white is what a viewer shows behind a transparent image
 * on a page far more often than black, which dropping alpha would give.
 */
static void flatten_row(const unsigned char *in, unsigned char *out,
                        uint32_t w, unsigned channels)
{
    unsigned colour = channels - 1;

    for (uint32_t x = 0; x < w; x++, in += channels, out += colour) {
        unsigned a = in[colour];
        for (unsigned c = 0; c < colour; c++)
            out[c] = (unsigned char)((in[c] * a + 255u * (255u - a) + 127) /
                                     255);
    }
}

int tf_jpeg_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen)
{
    struct jpeg_compress_struct cinfo;
    struct tf_jpeg_ctx ctx;
    struct tf_jpeg_dest dest;
    unsigned char *volatile flat = NULL;
    int rc;

    if (img->channels < 1 || img->channels > 4)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "cannot write %u channels as JPEG", img->channels);
    rc = tf_jpeg_check_encode(opts, img->width, img->height, msg, msglen);
    if (!rc)
        rc = tf_jpeg_dest_init(&dest, msg, msglen);
    if (rc)
        return rc;

    tf_jpeg_ctx_init(&ctx, msg, msglen);
    cinfo.err = &ctx.pub;
    if (setjmp(ctx.jb)) {
        rc = ctx.code;
        goto done;
    }
    if (img->channels <= 2)
        tf_jpeg_start_encoder(&cinfo, &dest, img->width, img->height, 1,
                              JCS_GRAYSCALE, opts);
    else
        tf_jpeg_start_encoder(&cinfo, &dest, img->width, img->height, 3,
                              JCS_RGB, opts);

    if (img->channels == 2 || img->channels == 4) {
        flat = malloc((size_t)img->width * (img->channels - 1));
        if (!flat) {
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "no memory for a JPEG row");
            goto done;
        }
    }
    jpeg_start_compress(&cinfo, TRUE);
    tf_jpeg_write_meta(&cinfo, opts);
    while (cinfo.next_scanline < cinfo.image_height) {
        unsigned char *src = img->px + cinfo.next_scanline * img->stride;
        JSAMPROW row = src;

        if (flat) {
            flatten_row(src, flat, img->width, img->channels);
            row = flat;
        }
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);

    *len = dest.cap - dest.pub.free_in_buffer;
    *buf = dest.buf;
    dest.buf = NULL;
    rc = 0;
done:
    jpeg_destroy_compress(&cinfo);
    free(flat);
    free(dest.buf);
    return rc;
}
