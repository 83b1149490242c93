/*
 * transform/transform_int.h: shared between the files of transform/ only.
 *
 * Naming in transform/: the public API, ib_* and IB_*, is declared in
 * transform/transform.h and nowhere else; what one file of transform/
 * offers another is tf_* (TF_* for constants) and declared here; what
 * one file uses alone is static and has no prefix.
 */
#ifndef TRANSFORM_INT_H
#define TRANSFORM_INT_H

#include "transform/transform.h"

#include <inttypes.h>
#include <stdarg.h>

/* Writes a formatted reason to msg (if any) and returns code. */
int tf_fail(char *msg, size_t msglen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* w*h against the limit and w*h*channels against SIZE_MAX. */
int tf_check_dims(uint32_t w, uint32_t h, uint32_t channels,
                  uint64_t max_pixels, char *msg, size_t msglen);

/*
 * Codecs, one file each, their functions in a row of codec.c's table
 * (which has sniffed the format first). decode gives the image as stored
 * (no orientation applied); meta gets format, header size, EXIF
 * orientation, DCT scale and (if keep_icc) the ICC profile. Decoders check
 * header dims with tf_check_dims before any pixel buffer exists. probe
 * reads only the header, into a meta the caller zeroed.
 */
int tf_jpeg_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen);
int tf_jpeg_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen);
int tf_jpeg_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen);
int tf_png_decode(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *opts, struct ib_image **out,
                  struct ib_meta *meta, char *msg, size_t msglen);
int tf_png_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                 char *msg, size_t msglen);
int tf_png_encode(const struct ib_image *img,
                  const struct ib_encode_opts *opts, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen);

/*
 * The fast path of the PNG decoder (png_idat.c): the run of IDAT chunks of
 * a file that tf_png_idat_find accepts is inflated at once and unfiltered
 * by tf_png_idat_decode, into an image of w x h x channels (IHDR's, which
 * png.c has checked). Both return -1 for a file libpng must decode,
 * tf_png_idat_decode also IB_TRANSFORM_ENOMEM.
 */
struct tf_png_idat {
    size_t first, end;   /* offsets of the first IDAT and of the chunk after
                            the run */
    size_t total;        /* bytes of IDAT data in all */
    unsigned nchunks;
};
int tf_png_idat_find(const unsigned char *buf, size_t len,
                     struct tf_png_idat *idat);
int tf_png_idat_decode(const unsigned char *buf,
                       const struct tf_png_idat *idat, uint32_t w, uint32_t h,
                       uint32_t channels, struct ib_image **out);

int tf_webp_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen);
int tf_webp_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen);
int tf_webp_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen);
int tf_avif_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen);
int tf_avif_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen);
int tf_avif_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen);

/*
 * img (1..4 channels) converted in place from the colour space its ICC
 * profile describes to sRGB (transform/color.c). Profiles that are sRGB
 * already, unreadable, or of another colour space than the image leave
 * it as it is. 0, or -1 out of memory.
 */
int tf_color_to_srgb(struct ib_image *img, const unsigned char *icc,
                     size_t icc_len, char *msg, size_t msglen);
/* Whether an ICC profile can describe an image of these channels: a grey
 * profile for 1 or 2, an RGB one for 3 or 4 (by its header). */
int tf_icc_fits(const unsigned char *icc, size_t len, uint32_t channels);
/* 1 if lcms2 reads the profile and it is sRGB (by description), which
 * tf_color_to_srgb leaves alone. */
int tf_icc_is_srgb(const unsigned char *icc, size_t len);

/*
 * CMYK rows to sRGB through the file's CMYK profile (color.c), for the
 * JPEG decoder. tf_cmyk_new gives NULL when icc is not a CMYK profile
 * lcms2 can turn into a transform (or memory ran out): the caller then
 * keeps its own formula. inverted: Adobe's samples, 0 = full ink.
 */
struct tf_cmyk;
struct tf_cmyk *tf_cmyk_new(const unsigned char *icc, size_t len,
                            int inverted);
/* w pixels: 4 bytes each in, 3 out (sRGB) */
void tf_cmyk_to_rgb(struct tf_cmyk *c, const unsigned char *cmyk,
                    unsigned char *rgb, uint32_t w);
void tf_cmyk_free(struct tf_cmyk *c);  /* NULL does nothing */

/*
 * Lossless remap: output = source maybe transposed (swap), then mirrored in
 * x and/or y. Serves EXIF orientation, --rotate, --flip and --flop.
 */
int tf_image_geom(const struct ib_image *in, int swap, int mirror_x,
                  int mirror_y, struct ib_image **out, char *msg,
                  size_t msglen);

/* EXIF orientation from an APP1 payload ("Exif\0\0" + TIFF); 1 if none. */
int tf_exif_orientation(const unsigned char *app1, size_t len);
/* Sets the orientation in TIFF bytes (no "Exif\0\0") to v, where it has
 * one; anything else is left as it is. */
void tf_exif_set_orientation(unsigned char *tiff, size_t len, int v);
/* A malloc'd copy of n bytes, or NULL (out of memory, or n == 0). */
unsigned char *tf_memdup(const void *p, size_t n);

/* Resampling filters for --filter; the kernel lives in op_resize.c. */
enum tf_filter { TF_FILTER_LANCZOS3 = 0, TF_FILTER_MITCHELL,
                 TF_FILTER_BILINEAR, TF_FILTER_BOX };

/* --resize WxH (fit), WxH! (exact) and WxH^ (cover, then crop the centre) */
enum { TF_RESIZE_FIT = 0, TF_RESIZE_EXACT, TF_RESIZE_COVER };

/*
 * One parsed op: its row, its own parameters (the member named after it,
 * set by its parse) and the pipeline's settings, which any op may read.
 */
struct tf_op {
    const struct tf_op_def *def;
    union {
        struct {
            int64_t width, height;  /* 1..1000000; 0: omitted (fit only) */
            int mode;               /* TF_RESIZE_* */
        } resize;
        struct {
            int64_t width, height;  /* 1..1e9, clamped to the image */
            int64_t x, y;           /* top-left corner, 0..1e9 */
        } crop;
        struct {
            int quarter_turns;      /* clockwise: 1, 2 or 3 */
        } rotate;
        struct {
            double sigma;           /* pixels, (0, 1000] */
        } blur;
        struct {
            double sigma;           /* of the blur, (0, 1000] */
            double amount;          /* [0, 100], 1 by default */
        } sharpen;
    };
    enum tf_filter filter;  /* --filter, for ops that resample */
    int upscale;            /* --upscale, for ops that resize */
};

/*
 * Op table row (transform/ops.c); the op itself is transform/op_<name>.c.
 * parse validates everything the op can know before seeing an image.
 * apply makes a new image, never touches in; the pipeline frees it. An op
 * that needs no second image (blur, sharpen) has apply_inplace instead.
 */
struct tf_op_def {
    const char *name;   /* "resize" for --resize 640x480 */
    const char *arg;    /* "WxH" in help; NULL for a flag op */
    const char *help;
    int (*parse)(const char *arg, struct tf_op *op, char *msg, size_t msglen);
    int (*apply)(const struct tf_op *op, const struct ib_image *in,
                 struct ib_image **out, char *msg, size_t msglen);
    /* used instead of apply if set: the op over img itself; on failure
     * img is untouched */
    int (*apply_inplace)(const struct tf_op *op, struct ib_image *img,
                         char *msg, size_t msglen);
    /* optional: the output size for an input of w x h (shrink-on-load) */
    void (*size)(const struct tf_op *op, uint32_t w, uint32_t h,
                 uint32_t *ow, uint32_t *oh);
};

/* Each op file exports its row; ops.c lists them all. */
extern const struct tf_op_def tf_op_resize;
extern const struct tf_op_def tf_op_crop;
extern const struct tf_op_def tf_op_rotate;
extern const struct tf_op_def tf_op_flip;
extern const struct tf_op_def tf_op_flop;
extern const struct tf_op_def tf_op_grayscale;
extern const struct tf_op_def tf_op_blur;
extern const struct tf_op_def tf_op_sharpen;

const struct tf_op_def *tf_op_find(const char *name);  /* NULL if none */
/* Op k of p (pipeline.c), NULL past the end. */
const struct tf_op *tf_pipeline_op(const struct ib_pipeline *p, size_t k);
const struct tf_op_def *tf_op_at(size_t i);            /* NULL past end */

/* Resampling to exactly w x h with a filter (op_resize.c); alpha is
 * premultiplied while resampling. Shared by resize and other ops. An axis
 * shrunk 4x or more is box-reduced by an integer factor first, in memory
 * that follows the output. */
int tf_resample(const struct ib_image *in, uint32_t w, uint32_t h,
                enum tf_filter f, struct ib_image **out, char *msg,
                size_t msglen);
/*
 * The same through a map, for the raw path's chroma planes (planes.c):
 * output sample o of axis k (0: x, 1: y) is centred at (o + 0.5) *
 * scale[k] + offset[k] in input pixels, pixel i spanning [i, i + 1)
 * (tf_resample's map: scale in / out, offset 0); scale > 0. Taps past the
 * input's edges are dropped; a scale of 4 or more is box-reduced first.
 */
struct tf_resample_map {
    double scale[2], offset[2];
};
int tf_resample_map(const struct ib_image *in, uint32_t w, uint32_t h,
                    const struct tf_resample_map *m, enum tf_filter f,
                    struct ib_image **out, char *msg, size_t msglen);
/* The same with the filter over the whole input at any factor: slow and
 * memory-hungry at large factors, the reference the box is tested against. */
int tf_resample_full(const struct ib_image *in, uint32_t w, uint32_t h,
                     enum tf_filter f, struct ib_image **out, char *msg,
                     size_t msglen);

/* Gaussian blur of in by sigma, premultiplied, edges replicated
 * (op_blur.c); --sharpen builds on it. */
int tf_blur(const struct ib_image *in, double sigma, struct ib_image **out,
            char *msg, size_t msglen);
/* The same over img itself, in a few rows or strips of extra memory; with
 * amount, the unsharp mask of --sharpen. On failure img is untouched. */
int tf_blur_inplace(struct ib_image *img, double sigma, const float *amount,
                    char *msg, size_t msglen);
/* One row of the unsharp mask: dst = src + amount * (src - blur) on colour,
 * alpha from src (op_sharpen.c); dst may be src or blur. */
void tf_unsharp_row(unsigned char *dst, const unsigned char *src,
                    const unsigned char *blur, uint32_t w, uint32_t ch,
                    float amount);
/* Parses a sigma in (0, 1000] at the start of s; *end after it. -1 if bad. */
int tf_parse_sigma(const char *s, const char **end, double *sigma);
/* A plain decimal at the start of s ("12", "0.5"; no sign, blank,
 * exponent or hex); *end after it. 0, or -1 if there is none (ops.c). */
int tf_parse_decimal(const char *s, const char **end, double *v);

#endif
