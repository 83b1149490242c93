/*
 * transform/jpeg_raw.c: JPEG planes in and out without colour conversion
 * (libjpeg's raw_data_out / raw_data_in), for the raw path (planes.h).
 *
 * Errors go as in jpeg.c, through its error manager (jpeg_int.h): a
 * longjmp back to the setjmp in the one function driving each direction;
 * truncated or corrupt data fails the item rather than giving grey
 * pixels, and progressive scans are capped.
 *
 * Raw data comes in whole iMCU rows: per call, component c holds
 * v_samp(c) * DCT_scaled_size(c) rows of width_in_blocks(c) *
 * DCT_scaled_size(c) samples, padding included, so planes are decoded
 * into buffers of whole blocks whose image part is downsampled_width x
 * downsampled_height; written planes are padded on the fly by repeating
 * the last column and row, as libjpeg's own edge expansion does.
 */
#include "transform/jpeg_int.h"
#include "transform/planes.h"

#include <stdlib.h>
#include <string.h>

/* after jpeglib.h: jerror.h's message list depends on jconfig.h */
#include <jerror.h>

void tf_planes_release(struct tf_planes *pl)
{
    for (unsigned i = 0; i < 3; i++) {
        ib_image_free(pl->plane[i]);
        pl->plane[i] = NULL;
    }
    pl->n = 0;
}

/* YCbCr with Y sampled 1 or 2 each way and chroma 1x1, or grey. */
static int sampling_suits(j_decompress_ptr cinfo)
{
    const jpeg_component_info *c = cinfo->comp_info;

    if (cinfo->jpeg_color_space == JCS_GRAYSCALE)
        return cinfo->num_components == 1;
    if (cinfo->jpeg_color_space != JCS_YCbCr || cinfo->num_components != 3)
        return 0;
    if (c[0].h_samp_factor > 2 || c[0].v_samp_factor > 2)
        return 0;
    for (int i = 1; i < 3; i++)
        if (c[i].h_samp_factor != 1 || c[i].v_samp_factor != 1)
            return 0;
    return 1;
}

/* A plane of whole blocks (stride x rows) whose image part is w x h. */
static struct ib_image *plane_new(uint32_t w, uint32_t h, size_t stride,
                                  size_t rows)
{
    struct ib_image *img = malloc(sizeof *img);

    if (!img)
        return NULL;
    img->width = w;
    img->height = h;
    img->channels = 1;
    img->stride = stride;
    img->px = malloc(stride * rows);
    if (!img->px) {
        free(img);
        return NULL;
    }
    return img;
}

/*
 * The ICC profile as ib_image_decode leaves it: dropped when it cannot
 * describe these pixels or when to_srgb (which needs the RGB path unless
 * the profile is sRGB already). 0, or TF_PLANES_UNSUITED.
 */
static int icc_as_decoded(JOCTET **icc, unsigned int len, unsigned channels,
                          int to_srgb)
{
    if (!*icc)
        return 0;
    if (tf_icc_fits(*icc, len, channels) && to_srgb &&
        !tf_icc_is_srgb(*icc, len))
        return TF_PLANES_UNSUITED;
    if (!tf_icc_fits(*icc, len, channels) || to_srgb) {
        free(*icc);
        *icc = NULL;
    }
    return 0;
}

int tf_jpeg_decode_planes(const unsigned char *buf, size_t len,
                          const struct ib_decode_opts *opts,
                          struct tf_planes *pl, struct ib_meta *meta,
                          char *msg, size_t msglen)
{
    struct jpeg_decompress_struct cinfo;
    struct tf_jpeg_ctx ctx;
    struct ib_meta m;
    /* volatile: set after setjmp, freed after a longjmp */
    struct ib_image *volatile planes[3] = {NULL, NULL, NULL};
    JSAMPROW *volatile rows = NULL;
    JOCTET *volatile icc = NULL;
    double fx[3] = {1, 1, 1}, fy[3] = {1, 1, 1};
    unsigned int icc_len = 0;
    unsigned n = 0;
    int rc, orientation;

    if ((unsigned long)len != len)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "JPEG data too large");
    memset(&m, 0, sizeof m);
    tf_jpeg_ctx_init(&ctx, msg, msglen);
    cinfo.err = &ctx.pub;
    if (setjmp(ctx.jb)) {
        rc = ctx.code;
        goto done;
    }
    rc = tf_jpeg_read_header(&ctx, &cinfo, buf, len, opts, msg, msglen);
    if (rc)
        goto done;
    /* Under 16 pixels a side the chroma plane has a few samples, which
     * Lanczos overshoots (21-26 dB from the RGB path at 3x5, where
     * libjpeg's own upsampling does not): such images take the RGB path. */
    if (!sampling_suits(&cinfo) || cinfo.image_width < 16 ||
        cinfo.image_height < 16) {
        rc = TF_PLANES_UNSUITED;
        goto done;
    }
    cinfo.out_color_space = cinfo.jpeg_color_space;
    cinfo.raw_data_out = TRUE;
    if (opts->min_width || opts->min_height)
        tf_jpeg_pick_scale(&cinfo, opts->min_width, opts->min_height);
    orientation = tf_jpeg_orientation(&cinfo);
    if (opts->keep_icc) {
        JOCTET *p = NULL;
        if (!jpeg_read_icc_profile(&cinfo, &p, &icc_len))
            p = NULL;
        rc = icc_as_decoded(&p, icc_len, cinfo.num_components == 1 ? 1 : 3,
                            opts->to_srgb);
        icc = p;
        if (rc)
            goto done;
    }
    /* the markers live in libjpeg's image pool, gone after finish */
    if (tf_jpeg_copy_markers(&cinfo, opts, &m)) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for the EXIF or XMP block");
        goto done;
    }

    jpeg_start_decompress(&cinfo);
    n = (unsigned)cinfo.num_components;
    size_t nrows = 0;
    for (unsigned i = 0; i < n; i++) {
        jpeg_component_info *c = &cinfo.comp_info[i];
        size_t dct = (size_t)c->DCT_scaled_size;
        size_t stride = (size_t)c->width_in_blocks * dct;
        size_t h = (size_t)cinfo.total_iMCU_rows * c->v_samp_factor * dct;

        planes[i] = plane_new(c->downsampled_width, c->downsampled_height,
                              stride, h);
        if (!planes[i]) {
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "no memory for a %ux%u plane",
                         c->downsampled_width, c->downsampled_height);
            goto done;
        }
        /* decoded luma pixels per plane sample: the size ratio, exactly */
        fx[i] = (double)(cinfo.max_h_samp_factor *
                         cinfo.min_DCT_scaled_size) /
                (c->h_samp_factor * c->DCT_scaled_size);
        fy[i] = (double)(cinfo.max_v_samp_factor *
                         cinfo.min_DCT_scaled_size) /
                (c->v_samp_factor * c->DCT_scaled_size);
        nrows += (size_t)c->v_samp_factor * dct;
    }
    rows = malloc(nrows * sizeof *rows);
    if (!rows) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
        goto done;
    }
    for (JDIMENSION imcu = 0; cinfo.output_scanline < cinfo.output_height;
         imcu++) {
        JSAMPARRAY arr[3];
        JSAMPROW *r = rows;
        if (imcu >= cinfo.total_iMCU_rows)
            ERREXIT(&cinfo, JERR_BAD_STATE);  /* cannot happen: rows end */
        for (unsigned i = 0; i < n; i++) {
            jpeg_component_info *c = &cinfo.comp_info[i];
            size_t v = (size_t)c->v_samp_factor * c->DCT_scaled_size;
            struct ib_image *pi = planes[i];
            arr[i] = r;
            for (size_t k = 0; k < v; k++)
                *r++ = pi->px + (imcu * v + k) * pi->stride;
        }
        jpeg_read_raw_data(&cinfo, arr, cinfo.max_v_samp_factor *
                                            cinfo.min_DCT_scaled_size);
    }
    jpeg_finish_decompress(&cinfo);

    m.format = IB_FORMAT_JPEG;
    m.width = cinfo.image_width;
    m.height = cinfo.image_height;
    m.orientation = orientation;
    m.scale_denom = cinfo.scale_denom;
    m.icc = icc;
    m.icc_len = icc ? icc_len : 0;
    icc = NULL;
    *meta = m;
    memset(&m, 0, sizeof m);
    memset(pl, 0, sizeof *pl);
    pl->n = n;
    for (unsigned i = 0; i < n; i++) {
        pl->plane[i] = planes[i];
        pl->fx[i] = fx[i];
        pl->fy[i] = fy[i];
        planes[i] = NULL;
    }
    rc = 0;
done:
    jpeg_destroy_decompress(&cinfo);
    for (unsigned i = 0; i < 3; i++)
        ib_image_free(planes[i]);
    free(rows);
    free(icc);
    ib_meta_release(&m);
    return rc;
}

/* Row y of plane p padded to pw samples by repeating the edge. */
static void padded_row(const struct ib_image *p, uint32_t y, size_t pw,
                       unsigned char *dst)
{
    const unsigned char *src;

    if (y >= p->height)
        y = p->height - 1;
    src = p->px + (size_t)y * p->stride;
    memcpy(dst, src, p->width);
    memset(dst + p->width, src[p->width - 1], pw - p->width);
}

int tf_jpeg_encode_planes(const struct ib_image *y, const struct ib_image *cb,
                          const struct ib_image *cr,
                          const struct ib_encode_opts *opts,
                          unsigned char **buf, size_t *len, char *msg,
                          size_t msglen)
{
    const struct ib_image *pl[3] = {y, cb, cr};
    struct jpeg_compress_struct cinfo;
    struct tf_jpeg_ctx ctx;
    struct tf_jpeg_dest dest;
    unsigned char *volatile scratch = NULL;
    JSAMPROW *volatile rows = NULL;
    int rc = tf_jpeg_check_encode(opts, y->width, y->height, msg, msglen);

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
    tf_jpeg_start_encoder(&cinfo, &dest, y->width, y->height, 3, JCS_YCbCr,
                          opts);
    cinfo.raw_data_in = TRUE;

    /* whole MCUs across, whole iMCU rows down, for every component */
    int maxh = cinfo.comp_info[0].h_samp_factor;
    int maxv = cinfo.comp_info[0].v_samp_factor;
    size_t mcus = ((size_t)y->width + 8 * maxh - 1) / (8 * maxh);
    size_t pw[3], nrows = 0, total = 0;
    for (unsigned i = 0; i < 3; i++) {
        size_t h = i ? 1 : (size_t)maxh, v = i ? 1 : (size_t)maxv;
        pw[i] = mcus * 8 * h;
        nrows += 8 * v;
        total += pw[i] * 8 * v;
    }
    scratch = malloc(total);
    rows = malloc(nrows * sizeof *rows);
    if (!scratch || !rows) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "no memory for JPEG rows");
        goto done;
    }

    jpeg_start_compress(&cinfo, TRUE);
    tf_jpeg_write_meta(&cinfo, opts);
    for (uint32_t imcu = 0; cinfo.next_scanline < cinfo.image_height;
         imcu++) {
        JSAMPARRAY arr[3];
        JSAMPROW *r = rows;
        unsigned char *s = scratch;
        for (unsigned i = 0; i < 3; i++) {
            uint32_t v = i ? 8 : 8 * (uint32_t)maxv;
            arr[i] = r;
            for (uint32_t k = 0; k < v; k++, s += pw[i]) {
                padded_row(pl[i], imcu * v + k, pw[i], s);
                *r++ = s;
            }
        }
        jpeg_write_raw_data(&cinfo, arr, 8 * (JDIMENSION)maxv);
    }
    jpeg_finish_compress(&cinfo);

    *len = dest.cap - dest.pub.free_in_buffer;
    *buf = dest.buf;
    dest.buf = NULL;
    rc = 0;
done:
    jpeg_destroy_compress(&cinfo);
    free(scratch);
    free(rows);
    free(dest.buf);
    return rc;
}
