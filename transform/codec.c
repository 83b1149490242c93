/*
 * transform/codec.c: the codec table, and everything that asks it: format
 * sniffing, format and output names, probe/decode/encode dispatch.
 *
 * One row per format, as libvips keeps one class per format. A row with
 * only a sniff is a format we recognise but cannot read: its inputs fail
 * as "GIF is not supported", not as an unknown file. Adding a format:
 * an IB_FORMAT_* in transform.h (the sniffed ones exist already), a
 * <format>.c with tf_<format>_probe/_decode/_encode declared in
 * transform_int.h, and those three in its row here. Nothing else in
 * imgbatch names a format, an extension or a magic number.
 */
#include "transform/transform_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <avif/avif.h>
#include <jpeglib.h>
#include <lcms2.h>
#include <libdeflate.h>
#include <png.h>
#include <webp/decode.h>
#include <zlib.h>

const char *ib_transform_versions(void)
{
    static char buf[256];
    int v = LIBJPEG_TURBO_VERSION_NUMBER;   /* MMMmmmppp */
    int w = WebPGetDecoderVersion();        /* 0xMMmmpp */
    int l = cmsGetEncodedCMMversion();      /* 2140 for 2.14 */
    snprintf(buf, sizeof buf,
             "libjpeg-turbo %d.%d.%d, libpng %s, libdeflate %s, zlib %s, "
             "libwebp %d.%d.%d, libavif %s, lcms2 %d.%d",
             v / 1000000, v / 1000 % 1000, v % 1000, png_get_libpng_ver(NULL),
             LIBDEFLATE_VERSION_STRING, zlibVersion(), w >> 16,
             w >> 8 & 0xff, w & 0xff, avifVersion(), l / 1000,
             l % 1000 / 10);
    return buf;
}

/* Sniffs: 1 if buf (len bytes, len <= IB_FORMAT_SNIFF_LEN) starts so. */

static int sniff_jpeg(const unsigned char *b, size_t n)
{
    return n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff;
}

static int sniff_png(const unsigned char *b, size_t n)
{
    return n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
}

static int sniff_gif(const unsigned char *b, size_t n)
{
    return n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6));
}

static int sniff_tiff(const unsigned char *b, size_t n)
{
    /* classic (42) and BigTIFF (43), little- and big-endian */
    return n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4) ||
                      !memcmp(b, "II+\0", 4) || !memcmp(b, "MM\0+", 4));
}

static int sniff_webp(const unsigned char *b, size_t n)
{
    return n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4);
}

/*
 * 1 if b starts with an ISO BMFF "ftyp" box whose major brand, or a
 * compatible brand within the bytes we have, is one of brands (4 bytes
 * each). AVIF and HEIC are both HEIF files told apart by brand.
 */
static int ftyp_has(const unsigned char *b, size_t n, const char *brands)
{
    if (n < 12 || memcmp(b + 4, "ftyp", 4))
        return 0;
    size_t box = (size_t)b[0] << 24 | (size_t)b[1] << 16 |
                 (size_t)b[2] << 8 | b[3];
    if (box < 16)
        box = 12;   /* no minor version: only the major brand is sure */
    for (size_t at = 8; at + 4 <= n && at + 4 <= box; at += 4) {
        if (at == 12)
            continue;   /* the minor version, not a brand */
        for (const char *p = brands; *p; p += 4)
            if (!memcmp(b + at, p, 4))
                return 1;
    }
    return 0;
}

static int sniff_avif(const unsigned char *b, size_t n)
{
    return ftyp_has(b, n, "avifavis");
}

static int sniff_heic(const unsigned char *b, size_t n)
{
    return !sniff_avif(b, n) &&
           ftyp_has(b, n, "heicheixheimheishevchevxhevmhevsmif1msf1");
}

static int sniff_bmp(const unsigned char *b, size_t n)
{
    /* "BM" alone starts too many text files: the DIB header's size too */
    if (n < 18 || b[0] != 'B' || b[1] != 'M')
        return 0;
    uint32_t dib = (uint32_t)b[14] | (uint32_t)b[15] << 8 |
                   (uint32_t)b[16] << 16 | (uint32_t)b[17] << 24;
    return dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 ||
           dib == 108 || dib == 124;
}

struct codec {
    const char *name;         /* "jpeg": --format, reports, recipes */
    const char *label;        /* "JPEG": in messages */
    const char *aliases[3];   /* more --format names, NULL-terminated */
    const char *exts[3];      /* exts[0] is what outputs get; lower case */
    int (*sniff)(const unsigned char *buf, size_t len);
    /* NULL when this build cannot read (probe, decode) or write it */
    int (*probe)(const unsigned char *buf, size_t len, struct ib_meta *meta,
                 char *msg, size_t msglen);
    int (*decode)(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *opts, struct ib_image **out,
                  struct ib_meta *meta, char *msg, size_t msglen);
    int (*encode)(const struct ib_image *img,
                  const struct ib_encode_opts *opts, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen);
};

/* Indexed by enum ib_format; sniffed in this order. */
static const struct codec codecs[IB_FORMAT_COUNT] = {
    [IB_FORMAT_JPEG] = {.name = "jpeg", .label = "JPEG", .aliases = {"jpg"},
                        .exts = {".jpg", ".jpeg"}, .sniff = sniff_jpeg,
                        .probe = tf_jpeg_probe, .decode = tf_jpeg_decode,
                        .encode = tf_jpeg_encode},
    [IB_FORMAT_PNG] = {.name = "png", .label = "PNG", .exts = {".png"},
                       .sniff = sniff_png, .probe = tf_png_probe,
                       .decode = tf_png_decode, .encode = tf_png_encode},
    [IB_FORMAT_GIF] = {.name = "gif", .label = "GIF", .exts = {".gif"},
                       .sniff = sniff_gif},
    [IB_FORMAT_TIFF] = {.name = "tiff", .label = "TIFF", .aliases = {"tif"},
                        .exts = {".tif", ".tiff"}, .sniff = sniff_tiff},
    [IB_FORMAT_WEBP] = {.name = "webp", .label = "WebP", .exts = {".webp"},
                        .sniff = sniff_webp, .probe = tf_webp_probe,
                        .decode = tf_webp_decode, .encode = tf_webp_encode},
    [IB_FORMAT_AVIF] = {.name = "avif", .label = "AVIF", .exts = {".avif"},
                        .sniff = sniff_avif, .probe = tf_avif_probe,
                        .decode = tf_avif_decode, .encode = tf_avif_encode},
    [IB_FORMAT_HEIC] = {.name = "heic", .label = "HEIC", .aliases = {"heif"},
                        .exts = {".heic", ".heif"}, .sniff = sniff_heic},
    [IB_FORMAT_BMP] = {.name = "bmp", .label = "BMP", .exts = {".bmp"},
                       .sniff = sniff_bmp},
};

/* f's row, or NULL for UNKNOWN and anything out of range. */
static const struct codec *row(enum ib_format f)
{
    return f > IB_FORMAT_UNKNOWN && f < IB_FORMAT_COUNT ? &codecs[f] : NULL;
}

enum ib_format ib_format_sniff(const unsigned char *buf, size_t len)
{
    /* the same answer from a file's first bytes as from all of it */
    if (len > IB_FORMAT_SNIFF_LEN)
        len = IB_FORMAT_SNIFF_LEN;
    for (int f = 1; f < IB_FORMAT_COUNT; f++)
        if (codecs[f].sniff(buf, len))
            return (enum ib_format)f;
    return IB_FORMAT_UNKNOWN;
}

const char *ib_format_name(enum ib_format f)
{
    return row(f) ? row(f)->name : "unknown";
}

const char *ib_format_ext(enum ib_format f)
{
    return row(f) ? row(f)->exts[0] : "";
}

int ib_format_can_read(enum ib_format f)
{
    return row(f) && row(f)->decode;
}

int ib_format_can_write(enum ib_format f)
{
    return row(f) && row(f)->encode;
}

enum ib_format ib_format_lookup(const char *name)
{
    for (int f = 1; f < IB_FORMAT_COUNT; f++) {
        const struct codec *c = &codecs[f];
        if (!c->encode)
            continue;
        if (!strcmp(name, c->name))
            return (enum ib_format)f;
        for (size_t i = 0; i < 3 && c->aliases[i]; i++)
            if (!strcmp(name, c->aliases[i]))
                return (enum ib_format)f;
    }
    return IB_FORMAT_UNKNOWN;
}

/*
 * Writes the names (or labels) of the formats that can be read (or
 * written) to buf: "JPEG or PNG", "jpeg, png" with last ", ".
 */
static void list(char *buf, size_t len, int writable, int labels,
                 const char *last)
{
    size_t at = 0, k = 0, n = 0;
    for (int f = 1; f < IB_FORMAT_COUNT; f++)
        n += writable ? !!codecs[f].encode : !!codecs[f].decode;
    buf[0] = '\0';
    for (int f = 1; f < IB_FORMAT_COUNT && at < len; f++) {
        if (!(writable ? codecs[f].encode != NULL : codecs[f].decode != NULL))
            continue;
        const char *sep = k == 0 ? "" : k + 1 == n ? last : ", ";
        int w = snprintf(buf + at, len - at, "%s%s", sep,
                         labels ? codecs[f].label : codecs[f].name);
        if (w < 0)
            break;
        at += (size_t)w;
        k++;
    }
}

void ib_format_list_writable(char *buf, size_t len)
{
    list(buf, len, 1, 0, ", ");
}

enum ib_format ib_format_output(enum ib_format requested, enum ib_format in)
{
    if (requested != IB_FORMAT_UNKNOWN)
        return requested;
    return ib_format_can_write(in) ? in : IB_FORMAT_UNKNOWN;
}

size_t ib_name_ext(const char *name)
{
    size_t len = strlen(name), i = len;
    while (i > 0 && name[i - 1] != '.')
        i--;
    /* i is just past the last dot; a leading dot starts no extension */
    if (i <= 1 || name[i - 2] == '/' || len - i < 1 || len - i > 16)
        return len;
    for (size_t k = i; k < len; k++) {
        char c = name[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return len;
    }
    return i - 1;
}

/* 1 if ext (".JPG", ".jpeg") is one of c's extensions. */
static int says(const struct codec *c, const char *ext)
{
    for (size_t i = 0; i < 3 && c->exts[i]; i++)
        if (!strcasecmp(ext, c->exts[i]))
            return 1;
    return 0;
}

enum ib_format ib_name_format(const char *name)
{
    const char *ext = name + ib_name_ext(name);
    for (int f = 1; f < IB_FORMAT_COUNT; f++)
        if (says(&codecs[f], ext))
            return (enum ib_format)f;
    return IB_FORMAT_UNKNOWN;
}

const char *ib_output_ext(const char *name, enum ib_format f)
{
    const char *ext = name + ib_name_ext(name);
    if (!row(f) || says(row(f), ext))
        return ext;
    return row(f)->exts[0];
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
    o->optimize_coding = IB_JPEG_OPTIMIZE_AUTO;
    o->subsample = 420;
    o->webp_quality = 80;
    o->avif_quality = 50;
    o->png_level = 6;
}

void ib_meta_release(struct ib_meta *m)
{
    if (!m)
        return;
    free(m->icc);
    free(m->exif);
    free(m->xmp);
    m->icc = m->exif = m->xmp = NULL;
    m->icc_len = m->exif_len = m->xmp_len = 0;
}

/*
 * The row that reads buf, or NULL with msg: "GIF is not supported" for a
 * format we know but cannot read, else "not a JPEG or PNG image", with
 * detail (" (unknown signature)") appended.
 */
static const struct codec *reader(const unsigned char *buf, size_t len,
                                  const char *detail, int *rc, char *msg,
                                  size_t msglen)
{
    enum ib_format f = ib_format_sniff(buf, len);
    char names[64];

    if (ib_format_can_read(f))
        return &codecs[f];
    if (row(f)) {
        *rc = tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT, "%s is not supported",
                      row(f)->label);
        return NULL;
    }
    list(names, sizeof names, 0, 1, " or ");
    *rc = tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT, "not a %s image%s",
                  names, detail);
    return NULL;
}

int ib_image_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                   char *msg, size_t msglen)
{
    struct ib_meta m;
    int rc = 0;
    const struct codec *c = reader(buf, len, "", &rc, msg, msglen);

    if (!c)
        return rc;
    memset(&m, 0, sizeof m);
    m.orientation = 1;
    m.scale_denom = 1;
    rc = c->probe(buf, len, &m, msg, msglen);
    if (rc)
        return rc;
    *meta = m;
    return 0;
}

int ib_image_decode(const unsigned char *buf, size_t len,
                    const struct ib_decode_opts *opts, struct ib_image **out,
                    struct ib_meta *meta, char *msg, size_t msglen)
{
    struct ib_decode_opts def;
    struct ib_meta m;
    struct ib_image *img = NULL;
    int rc = 0;

    if (!opts) {
        ib_decode_opts_init(&def);
        opts = &def;
    }
    if (len == 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_EFORMAT, "empty file");
    const struct codec *c = reader(buf, len, " (unknown signature)", &rc,
                                   msg, msglen);
    if (!c)
        return rc;
    memset(&m, 0, sizeof m);
    m.orientation = 1;
    m.scale_denom = 1;
    rc = c->decode(buf, len, opts, &img, &m, msg, msglen);
    if (rc) {
        ib_meta_release(&m);   /* what a decoder kept before failing */
        return rc;
    }
    if (m.icc && !tf_icc_fits(m.icc, m.icc_len, img->channels)) {
        /* a CMYK profile on RGB pixels (an AVIF some tool tagged so), or
         * a grey one on colour: it describes other pixels, so no output
         * may carry it, and there is nothing to convert with */
        free(m.icc);
        m.icc = NULL;
        m.icc_len = 0;
    }
    if (opts->to_srgb && m.icc) {
        rc = tf_color_to_srgb(img, m.icc, m.icc_len, msg, msglen);
        free(m.icc);
        m.icc = NULL;
        m.icc_len = 0;
        if (rc) {
            ib_image_free(img);
            return rc;
        }
    }
    if (opts->auto_orient && m.orientation > 1) {
        struct ib_image *up;
        rc = ib_image_orient(img, m.orientation, &up, msg, msglen);
        ib_image_free(img);
        if (rc) {
            ib_meta_release(&m);
            return rc;
        }
        img = up;
        /* the pixels are upright now: a copied EXIF must not turn them */
        tf_exif_set_orientation(m.exif, m.exif_len, 1);
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
    const struct codec *c = row(opts->format);

    if (!c)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "no output format chosen");
    if (!c->encode)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "writing %s is not supported", c->label);
    return c->encode(img, opts, buf, len, msg, msglen);
}
