/*
 * transform/avif.c: AVIF decode and encode through libavif.
 *
 * Decode: libavif parses the container first; its own size limits and the
 * image's declared size (checked against --max-pixels) are enforced before
 * any pixel plane is decoded. Pixels are converted to 8-bit RGB(A) straight
 * into the image's rows. ICC, EXIF and XMP come along when asked for.
 * irot/imir (AVIF's orientation boxes) are not applied.
 *
 * Encode: 8-bit 4:2:0, opts->avif_quality 1..100 mapped onto AV1 quantizers as
 * libavif 1.x maps its own quality setting (libavif 0.11 in Debian 12 has
 * only quantizers); the encoder is chosen once below, with its speed.
 */
#include "transform/transform_int.h"

#include <stdlib.h>
#include <string.h>

#include <avif/avif.h>

/*
 * The AV1 encoder and its speed, measured on 1024 px thumbnails (see
 * docs/BENCHMARKS.md, "AVIF encoder"): libaom at speed 9 gave the same
 * PSNR as speed 8, 2-3% larger, in 30-55% less time, and half the time
 * of speed 6 (5% smaller); rav1e was slower for larger files; SVT-AV1 1.4
 * ignores the quantizers libavif 0.11 sets (its files were 3x larger) and
 * prints to stderr, which a library must not do.
 */
#ifndef AVIF_ENCODER   /* tests/bench/bench_avif.sh builds the others */
#define AVIF_ENCODER AVIF_CODEC_CHOICE_AOM
#define AVIF_SPEED 9
#endif

static int avif_fail(char *msg, size_t msglen, avifResult r, const char *what)
{
    int code = r == AVIF_RESULT_OUT_OF_MEMORY ? IB_TRANSFORM_ENOMEM
               : r == AVIF_RESULT_NO_CODEC_AVAILABLE ? IB_TRANSFORM_EFORMAT
                                                     : IB_TRANSFORM_ECORRUPT;
    return tf_fail(msg, msglen, code, "AVIF: %s: %s", what,
                   avifResultToString(r));
}

/* A parsed decoder over buf, the declared size checked; NULL on failure. */
static avifDecoder *open_decoder(const unsigned char *buf, size_t len,
                                 uint64_t max_pixels, int exif, int xmp,
                                 char *msg, size_t msglen, int *rc)
{
    avifDecoder *d = avifDecoderCreate();
    avifResult r;

    if (!d) {
        *rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                      "out of memory for the AVIF decoder");
        return NULL;
    }
    d->maxThreads = 1;   /* one worker per core already */
    d->ignoreExif = exif ? AVIF_FALSE : AVIF_TRUE;
    d->ignoreXMP = xmp ? AVIF_FALSE : AVIF_TRUE;
    if (max_pixels && max_pixels < d->imageSizeLimit)
        d->imageSizeLimit = (uint32_t)max_pixels;
    r = avifDecoderSetIOMemory(d, buf, len);
    if (r == AVIF_RESULT_OK)
        r = avifDecoderParse(d);
    if (r != AVIF_RESULT_OK) {
        *rc = r == AVIF_RESULT_TRUNCATED_DATA
                  ? tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                            "truncated AVIF data")
                  : avif_fail(msg, msglen, r, "cannot parse");
        avifDecoderDestroy(d);
        return NULL;
    }
    if (d->imageCount > 1) {
        *rc = tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT,
                      "animated AVIF is not supported");
        avifDecoderDestroy(d);
        return NULL;
    }
    if (!d->image->width || !d->image->height) {
        *rc = tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                      "AVIF: zero width or height");
        avifDecoderDestroy(d);
        return NULL;
    }
    return d;
}

int tf_avif_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen)
{
    int rc = 0;
    avifDecoder *d = open_decoder(buf, len, 0, 0, 0, msg, msglen, &rc);

    if (!d)
        return rc;
    memset(meta, 0, sizeof *meta);
    meta->format = IB_FORMAT_AVIF;
    meta->width = d->image->width;
    meta->height = d->image->height;
    meta->orientation = 1;
    meta->scale_denom = 1;
    avifDecoderDestroy(d);
    return 0;
}

/* EXIF (from its TIFF header on) and XMP into meta, as opts asks. */
static int copy_exif_xmp(const avifImage *im, const struct ib_decode_opts *o,
                         struct ib_meta *meta)
{
    const uint8_t *e = im->exif.data;
    size_t n = im->exif.size;

    /* skip what precedes the TIFF header ("Exif\0\0", an offset) */
    while (n >= 4 && memcmp(e, "II*", 4) && memcmp(e, "MM\0*", 4)) {
        e++;
        n--;
    }
    if (o->keep_exif && n >= 4) {
        meta->exif = tf_memdup(e, n);
        if (!meta->exif)
            return -1;
        meta->exif_len = n;
    }
    if (o->keep_xmp && im->xmp.size) {
        meta->xmp = tf_memdup(im->xmp.data, im->xmp.size);
        if (!meta->xmp)
            return -1;
        meta->xmp_len = im->xmp.size;
    }
    return 0;
}

int tf_avif_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen)
{
    int rc = 0;
    avifDecoder *d = open_decoder(buf, len, opts->max_pixels,
                                  opts->keep_exif, opts->keep_xmp, msg,
                                  msglen, &rc);
    struct ib_image *img = NULL;
    avifRGBImage rgb;
    avifResult r;

    if (!d)
        return rc;
    uint32_t w = d->image->width, h = d->image->height;
    uint32_t ch = d->alphaPresent ? 4 : 3;
    rc = tf_check_dims(w, h, ch, opts->max_pixels, msg, msglen);
    if (rc)
        goto done;
    r = avifDecoderNextImage(d);
    if (r != AVIF_RESULT_OK) {
        rc = avif_fail(msg, msglen, r, "cannot decode");
        goto done;
    }
    if (d->image->width != w || d->image->height != h) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                     "AVIF: image size differs from its header");
        goto done;
    }
    img = ib_image_new(w, h, ch);
    if (!img) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory for a %ux%u image", w, h);
        goto done;
    }
    avifRGBImageSetDefaults(&rgb, d->image);
    rgb.format = ch == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    rgb.pixels = img->px;
    rgb.rowBytes = (uint32_t)img->stride;
    r = avifImageYUVToRGB(d->image, &rgb);
    if (r != AVIF_RESULT_OK) {
        rc = avif_fail(msg, msglen, r, "cannot convert to RGB");
        goto done;
    }
    meta->format = IB_FORMAT_AVIF;
    meta->width = w;
    meta->height = h;
    if (opts->keep_icc && d->image->icc.size) {
        meta->icc = malloc(d->image->icc.size);
        if (!meta->icc) {
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "out of memory for the ICC profile");
            goto done;
        }
        memcpy(meta->icc, d->image->icc.data, d->image->icc.size);
        meta->icc_len = d->image->icc.size;
    }
    if (copy_exif_xmp(d->image, opts, meta)) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory for the EXIF or XMP block");
        goto done;
    }
    *out = img;
    img = NULL;
done:
    ib_image_free(img);
    avifDecoderDestroy(d);
    return rc;
}

/* libavif 1.x's quality -> quantizer mapping: 100 lossless-ish, 0 worst. */
static int quantizer(int quality)
{
    if (quality < 0)
        quality = 0;
    if (quality > 100)
        quality = 100;
    return ((100 - quality) * 63 + 50) / 100;
}

int tf_avif_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen)
{
    int alpha = img->channels == 2 || img->channels == 4;
    int grey = img->channels < 3;
    avifImage *im = avifImageCreate(img->width, img->height, 8,
                                    grey ? AVIF_PIXEL_FORMAT_YUV400
                                         : AVIF_PIXEL_FORMAT_YUV420);
    avifEncoder *enc = NULL;
    avifRWData output = AVIF_DATA_EMPTY;
    avifRGBImage rgb;
    struct ib_image *wide = NULL;
    const struct ib_image *src = img;
    avifResult r;
    int rc = 0;

    if (!im)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                       "out of memory for the AVIF image");
    /* sRGB, said outright (CICP 1/13/6, full range) as avifenc does, so
     * that every reader converts back the same way */
    im->colorPrimaries = AVIF_COLOR_PRIMARIES_BT709;
    im->transferCharacteristics = AVIF_TRANSFER_CHARACTERISTICS_SRGB;
    im->matrixCoefficients = AVIF_MATRIX_COEFFICIENTS_BT601;
    im->yuvRange = AVIF_RANGE_FULL;
    if (grey) {
        /* libavif converts from RGB(A) only; grey comes in as equal RGB */
        wide = ib_image_new(img->width, img->height, alpha ? 4 : 3);
        if (!wide) {
            rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                         "out of memory converting grey for AVIF");
            goto done;
        }
        for (uint32_t y = 0; y < img->height; y++) {
            const unsigned char *s = img->px + (size_t)y * img->stride;
            unsigned char *d = wide->px + (size_t)y * wide->stride;
            for (uint32_t x = 0; x < img->width; x++, d += wide->channels) {
                d[0] = d[1] = d[2] = s[x * img->channels];
                if (alpha)
                    d[3] = s[x * 2 + 1];
            }
        }
        src = wide;
    }
    avifRGBImageSetDefaults(&rgb, im);
    rgb.format = alpha ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    rgb.pixels = src->px;
    rgb.rowBytes = (uint32_t)src->stride;
    r = avifImageRGBToYUV(im, &rgb);
    if (r != AVIF_RESULT_OK) {
        rc = avif_fail(msg, msglen, r, "cannot convert to YUV");
        goto done;
    }
    if (opts->icc && opts->icc_len)
        avifImageSetProfileICC(im, opts->icc, opts->icc_len);
    if (opts->exif && opts->exif_len)
        avifImageSetMetadataExif(im, opts->exif, opts->exif_len);
    if (opts->xmp && opts->xmp_len)
        avifImageSetMetadataXMP(im, opts->xmp, opts->xmp_len);
    enc = avifEncoderCreate();
    if (!enc) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory for the AVIF encoder");
        goto done;
    }
    enc->codecChoice = AVIF_ENCODER;
    enc->speed = AVIF_SPEED;
    enc->maxThreads = 1;
    enc->minQuantizer = enc->maxQuantizer = quantizer(opts->avif_quality);
    enc->minQuantizerAlpha = enc->maxQuantizerAlpha = quantizer(opts->avif_quality);
    r = avifEncoderWrite(enc, im, &output);
    if (r != AVIF_RESULT_OK) {
        rc = avif_fail(msg, msglen, r, "cannot encode");
        goto done;
    }
    *buf = malloc(output.size);
    if (!*buf) {
        rc = tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM,
                     "out of memory for the AVIF output");
        goto done;
    }
    memcpy(*buf, output.data, output.size);
    *len = output.size;
done:
    avifRWDataFree(&output);
    if (enc)
        avifEncoderDestroy(enc);
    avifImageDestroy(im);
    ib_image_free(wide);
    return rc;
}
