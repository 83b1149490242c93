/*
 * transform/webp.c: WebP decode and encode through libwebp.
 *
 * Decode: the header (WebPGetFeatures) is checked against the limits
 * before any pixel buffer exists; pixels are decoded straight into the
 * image's rows. ICC, EXIF and XMP come from their chunks (libwebpdemux).
 * Animated WebP is refused by name. EXIF orientation is not applied:
 * WebP files that carry it are rare and libwebp does not read it.
 *
 * Encode: lossy at opts->webp_quality (method 4, libwebp's default and
 * sharp's), or lossless with opts->lossless; alpha is kept; grey is
 * written as RGB, which WebP stores anyway. ICC, EXIF and XMP go in their
 * chunks through libwebpmux.
 */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

/* One chunk (fourcc) into *out, when the flags say it is there. 0, or -1
 * out of memory. */
static int read_chunk(WebPDemuxer *dmux, const char *fourcc, uint32_t flag,
                      unsigned char **out, size_t *len)
{
    WebPChunkIterator it;
    int rc = 0;

    if (!(WebPDemuxGetI(dmux, WEBP_FF_FORMAT_FLAGS) & flag) ||
        !WebPDemuxGetChunk(dmux, fourcc, 1, &it))
        return 0;
    if (it.chunk.size) {
        *out = tf_memdup(it.chunk.bytes, it.chunk.size);
        if (*out)
            *len = it.chunk.size;
        else
            rc = -1;
    }
    WebPDemuxReleaseChunkIterator(&it);
    return rc;
}

/* The ICC, EXIF and XMP chunks into meta, as opts asks. 0, or -1. */
static int read_chunks(const unsigned char *buf, size_t len,
                       const struct ib_decode_opts *opts, struct ib_meta *meta)
{
    WebPData data = {buf, len};
    WebPDemuxer *dmux = WebPDemux(&data);
    int rc = 0;

    if (!dmux)
        return 0;   /* a bare VP8/VP8L stream: no chunks */
    if (opts->keep_icc)
        rc |= read_chunk(dmux, "ICCP", ICCP_FLAG, &meta->icc, &meta->icc_len);
    if (opts->keep_exif)
        rc |= read_chunk(dmux, "EXIF", EXIF_FLAG, &meta->exif,
                         &meta->exif_len);
    if (opts->keep_xmp)
        rc |= read_chunk(dmux, "XMP ", XMP_FLAG, &meta->xmp, &meta->xmp_len);
    WebPDemuxDelete(dmux);
    return rc;
}

static int features(const unsigned char *buf, size_t len,
                    WebPBitstreamFeatures *f, char *msg, size_t msglen)
{
    VP8StatusCode st = WebPGetFeatures(buf, len, f);

    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                       "truncated WebP header");
    if (st == VP8_STATUS_UNSUPPORTED_FEATURE)
        return tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT,
                       "WebP uses a feature libwebp does not support");
    if (st != VP8_STATUS_OK)
        return tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                       "corrupt WebP header");
    if (f->has_animation)
        return tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT,
                       "animated WebP is not supported");
    if (f->width <= 0 || f->height <= 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                       "WebP: zero width or height");
    return 0;
}

int tf_webp_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen)
{
    WebPBitstreamFeatures f;
    int rc = features(buf, len, &f, msg, msglen);

    if (rc)
        return rc;
    memset(meta, 0, sizeof *meta);
    meta->format = IB_FORMAT_WEBP;
    meta->width = (uint32_t)f.width;
    meta->height = (uint32_t)f.height;
    meta->orientation = 1;
    meta->scale_denom = 1;
    return 0;
}

int tf_webp_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen)
{
    WebPBitstreamFeatures f;
    struct ib_image *img;
    uint8_t *got;
    int rc = features(buf, len, &f, msg, msglen);

    if (rc)
        return rc;
    uint32_t ch = f.has_alpha ? 4 : 3;
    rc = tf_check_dims((uint32_t)f.width, (uint32_t)f.height, ch,
                       opts->max_pixels, msg, msglen);
    if (rc)
        return rc;
    img = ib_image_new((uint32_t)f.width, (uint32_t)f.height, ch);
    if (!img)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for a %dx%d image", f.width,
                       f.height);
    size_t size = img->stride * img->height;
    if (ch == 4)
        got = WebPDecodeRGBAInto(buf, len, img->px, size, (int)img->stride);
    else
        got = WebPDecodeRGBInto(buf, len, img->px, size, (int)img->stride);
    if (!got) {
        ib_image_free(img);
        return tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                       "corrupt or truncated WebP data");
    }
    meta->format = IB_FORMAT_WEBP;
    meta->width = (uint32_t)f.width;
    meta->height = (uint32_t)f.height;
    if (read_chunks(buf, len, opts, meta)) {
        ib_image_free(img);
        ib_meta_release(meta);
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for the ICC, EXIF or XMP block");
    }
    *out = img;
    return 0;
}

/* RGB(A) rows for libwebp from a 1- or 2-channel image; NULL: no memory. */
static struct ib_image *to_rgb(const struct ib_image *img)
{
    uint32_t ch = img->channels == 2 ? 4 : 3;
    struct ib_image *c = ib_image_new(img->width, img->height, ch);

    if (!c)
        return NULL;
    for (uint32_t y = 0; y < img->height; y++) {
        const unsigned char *s = img->px + (size_t)y * img->stride;
        unsigned char *d = c->px + (size_t)y * c->stride;
        for (uint32_t x = 0; x < img->width; x++, d += ch) {
            d[0] = d[1] = d[2] = s[x * img->channels];
            if (ch == 4)
                d[3] = s[x * 2 + 1];
        }
    }
    return c;
}

/* 1 if the chunk is absent or was set */
static int set_chunk(WebPMux *mux, const char *fourcc, const unsigned char *d,
                     size_t n)
{
    WebPData data = {d, n};
    return !d || !n || WebPMuxSetChunk(mux, fourcc, &data, 0) == WEBP_MUX_OK;
}

static int add_chunks(const struct ib_encode_opts *opts, WebPMemoryWriter *w,
                      unsigned char **buf, size_t *len, char *msg,
                      size_t msglen)
{
    WebPData image = {w->mem, w->size};
    WebPData assembled = {NULL, 0};
    WebPMux *mux = WebPMuxNew();
    int ok = mux && WebPMuxSetImage(mux, &image, 0) == WEBP_MUX_OK &&
             set_chunk(mux, "ICCP", opts->icc, opts->icc_len) &&
             set_chunk(mux, "EXIF", opts->exif, opts->exif_len) &&
             set_chunk(mux, "XMP ", opts->xmp, opts->xmp_len) &&
             WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK;

    WebPMuxDelete(mux);
    if (!ok) {
        WebPDataClear(&assembled);
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory adding metadata to WebP");
    }
    /* WebPDataClear frees with WebPFree; hand the caller malloc memory */
    *buf = malloc(assembled.size);
    if (!*buf) {
        WebPDataClear(&assembled);
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for the WebP output");
    }
    memcpy(*buf, assembled.bytes, assembled.size);
    *len = assembled.size;
    WebPDataClear(&assembled);
    return 0;
}

int tf_webp_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen)
{
    const struct ib_image *src = img;
    struct ib_image *rgb = NULL;
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter w;
    int rc = 0;

    if (img->width > WEBP_MAX_DIMENSION || img->height > WEBP_MAX_DIMENSION)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "%ux%u is too large for WebP (at most %d a side)",
                       img->width, img->height, WEBP_MAX_DIMENSION);
    if (!WebPConfigInit(&config) || !WebPPictureInit(&pic))
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "libwebp version mismatch");
    config.quality = (float)opts->webp_quality;
    config.lossless = opts->lossless ? 1 : 0;
    config.method = 4;
    if (img->channels < 3) {
        rgb = to_rgb(img);
        if (!rgb)
            return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                           "out of memory converting grey for WebP");
        src = rgb;
    }
    pic.use_argb = config.lossless;
    pic.width = (int)src->width;
    pic.height = (int)src->height;
    WebPMemoryWriterInit(&w);
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &w;
    int imported = src->channels == 4
        ? WebPPictureImportRGBA(&pic, src->px, (int)src->stride)
        : WebPPictureImportRGB(&pic, src->px, (int)src->stride);
    if (!imported) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory importing pixels for WebP");
    } else if (!WebPEncode(&config, &pic)) {
        rc = tf_fail(msg, msglen,
                     pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY
                         ? IB_TRANSFORM_ENOMEM : IB_TRANSFORM_EINVAL,
                     "WebP encoder failed (libwebp error %d)",
                     (int)pic.error_code);
    } else if ((opts->icc && opts->icc_len) || (opts->exif && opts->exif_len)
               || (opts->xmp && opts->xmp_len)) {
        rc = add_chunks(opts, &w, buf, len, msg, msglen);
    } else {
        *buf = malloc(w.size);
        if (!*buf) {
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "out of memory for the WebP output");
        } else {
            memcpy(*buf, w.mem, w.size);
            *len = w.size;
        }
    }
    WebPPictureFree(&pic);
    WebPMemoryWriterClear(&w);
    ib_image_free(rgb);
    return rc;
}
