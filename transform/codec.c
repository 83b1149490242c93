/* transform/codec.c: format sniffing, decode/encode dispatch, orientation. */
#include "transform/transform_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <libdeflate.h>
#include <png.h>
#include <zlib.h>

const char *ib_transform_versions(void)
{
    static char buf[128];
    int v = LIBJPEG_TURBO_VERSION_NUMBER;   /* MMMmmmppp */
    snprintf(buf, sizeof buf,
             "libjpeg-turbo %d.%d.%d, libpng %s, libdeflate %s, zlib %s",
             v / 1000000, v / 1000 % 1000, v % 1000, png_get_libpng_ver(NULL),
             LIBDEFLATE_VERSION_STRING, zlibVersion());
    return buf;
}

enum ib_format ib_format_sniff(const unsigned char *buf, size_t len)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G',
                                         '\r', '\n', 0x1a, '\n'};
    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
        return IB_FORMAT_JPEG;
    if (len >= 8 && !memcmp(buf, png, 8))
        return IB_FORMAT_PNG;
    return IB_FORMAT_UNKNOWN;
}

const char *ib_format_name(enum ib_format f)
{
    switch (f) {
    case IB_FORMAT_JPEG: return "jpeg";
    case IB_FORMAT_PNG: return "png";
    default: return "unknown";
    }
}

const char *ib_format_ext(enum ib_format f)
{
    switch (f) {
    case IB_FORMAT_JPEG: return ".jpg";
    case IB_FORMAT_PNG: return ".png";
    default: return "";
    }
}

void ib_decode_opts_init(struct ib_decode_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_pixels = IB_DEFAULT_MAX_PIXELS;
    o->max_scans = IB_DEFAULT_MAX_SCANS;
    o->auto_orient = 1;
    o->keep_icc = 1;
}

void ib_encode_opts_init(struct ib_encode_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = IB_FORMAT_JPEG;
    o->quality = 85;
    o->png_level = 6;
}

void ib_meta_release(struct ib_meta *m)
{
    if (!m)
        return;
    free(m->icc);
    m->icc = NULL;
    m->icc_len = 0;
}

int ib_image_decode(const unsigned char *buf, size_t len,
                    const struct ib_decode_opts *opts, struct ib_image **out,
                    struct ib_meta *meta, char *msg, size_t msglen)
{
    struct ib_decode_opts def;
    struct ib_meta m;
    struct ib_image *img = NULL;
    int rc;

    if (!opts) {
        ib_decode_opts_init(&def);
        opts = &def;
    }
    memset(&m, 0, sizeof m);
    m.orientation = 1;
    m.scale_denom = 1;
    switch (ib_format_sniff(buf, len)) {
    case IB_FORMAT_JPEG:
        rc = tf_jpeg_decode(buf, len, opts, &img, &m, msg, msglen);
        break;
    case IB_FORMAT_PNG:
        rc = tf_png_decode(buf, len, opts, &img, &m, msg, msglen);
        break;
    default:
        return tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT,
                       len ? "not a JPEG or PNG image (unknown signature)"
                           : "empty file");
    }
    if (rc)
        return rc;
    if (opts->auto_orient && m.orientation > 1) {
        struct ib_image *up;
        rc = ib_image_orient(img, m.orientation, &up, msg, msglen);
        ib_image_free(img);
        if (rc) {
            ib_meta_release(&m);
            return rc;
        }
        img = up;
    }
    *out = img;
    if (meta)
        *meta = m;
    else
        ib_meta_release(&m);
    return 0;
}

int ib_image_encode(const struct ib_image *img,
                    const struct ib_encode_opts *opts, unsigned char **buf,
                    size_t *len, char *msg, size_t msglen)
{
    switch (opts->format) {
    case IB_FORMAT_JPEG:
        return tf_jpeg_encode(img, opts, buf, len, msg, msglen);
    case IB_FORMAT_PNG:
        return tf_png_encode(img, opts, buf, len, msg, msglen);
    default:
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "no output format chosen");
    }
}
