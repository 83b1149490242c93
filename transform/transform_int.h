/* transform/transform_int.h: shared between the files of transform/ only. */
#ifndef IB_TRANSFORM_INT_H
#define IB_TRANSFORM_INT_H

#include "transform/transform.h"

#include <inttypes.h>
#include <stdarg.h>

/* Writes a formatted reason to msg (if any) and returns code. */
int ib_fail(char *msg, size_t msglen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* w*h against the limit and w*h*channels against SIZE_MAX. */
int ib_check_dims(uint32_t w, uint32_t h, uint32_t channels,
                  uint64_t max_pixels, char *msg, size_t msglen);

/*
 * Codecs: decode to the image as stored (no orientation applied); meta gets
 * format, header size, EXIF orientation, DCT scale and (if keep_icc) the
 * ICC profile. Decoders check header dims with ib_check_dims before any
 * pixel buffer exists.
 */
int ib_jpeg_decode(const unsigned char *buf, size_t len,
                   const struct ib_decode_opts *opts, struct ib_image **out,
                   struct ib_meta *meta, char *msg, size_t msglen);
int ib_jpeg_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                  char *msg, size_t msglen);
int ib_jpeg_encode(const struct ib_image *img,
                   const struct ib_encode_opts *opts, unsigned char **buf,
                   size_t *len, char *msg, size_t msglen);
int ib_png_decode(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *opts, struct ib_image **out,
                  struct ib_meta *meta, char *msg, size_t msglen);
int ib_png_encode(const struct ib_image *img,
                  const struct ib_encode_opts *opts, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen);

/*
 * Lossless remap: output = source maybe transposed (swap), then mirrored in
 * x and/or y. Serves EXIF orientation, --rotate, --flip and --flop.
 */
int ib_image_geom(const struct ib_image *in, int swap, int mirror_x,
                  int mirror_y, struct ib_image **out, char *msg,
                  size_t msglen);

/* EXIF orientation from an APP1 payload ("Exif\0\0" + TIFF); 1 if none. */
int ib_exif_orientation(const unsigned char *app1, size_t len);

/* Resampling filters for --filter; the kernel lives in op_resize.c. */
enum ib_filter { IB_FILTER_LANCZOS3 = 0, IB_FILTER_MITCHELL,
                 IB_FILTER_BILINEAR, IB_FILTER_BOX };

/* One parsed op. Parameters are op-specific; the op's file documents them. */
struct ib_op {
    const struct ib_op_def *def;
    int64_t i[6];
    double d[2];
    enum ib_filter filter;  /* resize ops: the pipeline's --filter */
    int upscale;            /* resize ops: --upscale */
};

/*
 * Op table row (transform/ops.c); the op itself is transform/op_<name>.c.
 * parse validates everything the op can know before seeing an image.
 * apply makes a new image, never touches in; the pipeline frees it. An op
 * that needs no second image (blur, sharpen) has apply_inplace instead.
 */
struct ib_op_def {
    const char *name;   /* "resize" for --resize 640x480 */
    const char *arg;    /* "WxH" in help; NULL for a flag op */
    const char *help;
    int (*parse)(const char *arg, struct ib_op *op, char *msg, size_t msglen);
    int (*apply)(const struct ib_op *op, const struct ib_image *in,
                 struct ib_image **out, char *msg, size_t msglen);
    /* used instead of apply if set: the op over img itself; on failure
     * img is untouched */
    int (*apply_inplace)(const struct ib_op *op, struct ib_image *img,
                         char *msg, size_t msglen);
    /* optional: the output size for an input of w x h (shrink-on-load) */
    void (*size)(const struct ib_op *op, uint32_t w, uint32_t h,
                 uint32_t *ow, uint32_t *oh);
};

/* Each op file exports its row; ops.c lists them all. */
extern const struct ib_op_def ib_op_resize;
extern const struct ib_op_def ib_op_crop;
extern const struct ib_op_def ib_op_rotate;
extern const struct ib_op_def ib_op_flip;
extern const struct ib_op_def ib_op_flop;
extern const struct ib_op_def ib_op_grayscale;
extern const struct ib_op_def ib_op_blur;
extern const struct ib_op_def ib_op_sharpen;

const struct ib_op_def *ib_op_find(const char *name);  /* NULL if none */
const struct ib_op_def *ib_op_at(size_t i);            /* NULL past end */

/* Resampling to exactly w x h with a filter (op_resize.c); alpha is
 * premultiplied while resampling. Shared by resize and other ops. An axis
 * shrunk 4x or more is box-reduced by an integer factor first, in memory
 * that follows the output. */
int ib_resample(const struct ib_image *in, uint32_t w, uint32_t h,
                enum ib_filter f, struct ib_image **out, char *msg,
                size_t msglen);
/* The same with the filter over the whole input at any factor: slow and
 * memory-hungry at large factors, the reference the box is tested against. */
int ib_resample_full(const struct ib_image *in, uint32_t w, uint32_t h,
                     enum ib_filter f, struct ib_image **out, char *msg,
                     size_t msglen);

/* Gaussian blur of in by sigma, premultiplied, edges replicated
 * (op_blur.c); --sharpen builds on it. */
int ib_blur(const struct ib_image *in, double sigma, struct ib_image **out,
            char *msg, size_t msglen);
/* The same over img itself, in a few rows or strips of extra memory; with
 * amount, the unsharp mask of --sharpen. On failure img is untouched. */
int ib_blur_inplace(struct ib_image *img, double sigma, const float *amount,
                    char *msg, size_t msglen);
/* One row of the unsharp mask: dst = src + amount * (src - blur) on colour,
 * alpha from src (op_sharpen.c); dst may be src or blur. */
void ib_unsharp_row(unsigned char *dst, const unsigned char *src,
                    const unsigned char *blur, uint32_t w, uint32_t ch,
                    float amount);
/* Parses a sigma in (0, 1000] at the start of s; *end after it. -1 if bad. */
int ib_parse_sigma(const char *s, const char **end, double *sigma);
/* A plain decimal at the start of s ("12", "0.5"; no sign, blank,
 * exponent or hex); *end after it. 0, or -1 if there is none (ops.c). */
int ib_parse_decimal(const char *s, const char **end, double *v);

#endif
