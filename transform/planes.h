/*
 * transform/planes.h: the raw YCbCr path, private to transform/.
 *
 * A YCbCr (or grey) JPEG whose outputs are all JPEGs made by geometry ops
 * alone (resize, crop, rotate, flip, flop; --grayscale keeps Y) never
 * needs RGB: its planes are read as libjpeg stores them (DCT-scaled, the
 * chroma at its own resolution), the luma runs through the very ops the
 * RGB path runs, as a 1-channel image, and each output chroma plane is
 * resampled once, straight from its decoded plane, through the ops'
 * geometry composed into one map. The planes are then written raw at
 * the sampling the RGB path's encoder would use. No chroma upsampling, no
 * colour conversion either way, no chroma downsampling.
 *
 * A plane is a 1-channel struct ib_image whose stride may exceed its
 * width (libjpeg's padding to whole blocks stays in the buffer).
 * IMGBATCH_NO_RAW=1 in the environment forces the RGB path: a switch for
 * tests and benchmarks, to compare both paths.
 */
#ifndef TRANSFORM_PLANES_H
#define TRANSFORM_PLANES_H

#include "transform/transform_int.h"

/* Not an error: this item is not for the raw path; take the RGB one. */
#define TF_PLANES_UNSUITED 1

/*
 * Planes as decoded, top row first, in the file's stored orientation.
 * fx[i], fy[i]: how many decoded luma pixels one sample of plane i spans
 * (1 for Y; 2 for 4:2:0 chroma at full scale; 1 when libjpeg's scaled
 * IDCT already brought the chroma to the luma's resolution).
 */
struct tf_planes {
    unsigned n;                  /* 1 grey, 3 YCbCr */
    struct ib_image *plane[3];   /* owned */
    double fx[3], fy[3];
};
void tf_planes_release(struct tf_planes *pl);

/*
 * Whether an item may take the raw path, from its first bytes and its
 * ops and renditions alone: a JPEG, every op of p and of each size a
 * geometry op, every rendition to be written a JPEG, IMGBATCH_NO_RAW
 * unset.
 */
int tf_planes_suit(const unsigned char *buf, size_t len,
                   const struct ib_pipeline *p, const struct ib_rendition *r,
                   size_t n);

/*
 * Decodes a JPEG's planes raw under opts (scale, limits, metadata as
 * tf_jpeg_decode; no orientation applied). TF_PLANES_UNSUITED before any
 * pixel is decoded when the file is not YCbCr with chroma sampled 1x1
 * (or grey), or when opts->to_srgb would convert its colours. *pl and
 * *meta are set only on success (meta's ICC already dropped where
 * ib_image_decode drops it).
 */
int tf_jpeg_decode_planes(const unsigned char *buf, size_t len,
                          const struct ib_decode_opts *opts,
                          struct tf_planes *pl, struct ib_meta *meta,
                          char *msg, size_t msglen);

/*
 * Encodes Y, Cb, Cr as a JPEG: the luma w x h, the chroma at
 * opts->subsample (4:2:0: ceil(w / 2) x ceil(h / 2)), metadata and coding
 * as tf_jpeg_encode.
 */
int tf_jpeg_encode_planes(const struct ib_image *y, const struct ib_image *cb,
                          const struct ib_image *cr,
                          const struct ib_encode_opts *opts,
                          unsigned char **buf, size_t *len, char *msg,
                          size_t msglen);

/*
 * Where the image at hand lies in the decoded luma plane: its point
 * (x0, x1) is, in decoded luma pixels (pixel i spans [i, i + 1)),
 * s[k] = a[k] * x[from[k]] + b[k]. Every geometry op is such a map.
 */
struct tf_plane_map {
    uint32_t w, h;          /* the image at hand */
    int from[2];
    double a[2], b[2];
    int grey;               /* --grayscale seen: Y alone */
    int resized;            /* a resize seen: filter is its filter */
    enum tf_filter filter;
};
void tf_plane_map_init(struct tf_plane_map *m, uint32_t w, uint32_t h);
void tf_plane_map_orient(struct tf_plane_map *m, int orientation);
void tf_plane_map_scale(struct tf_plane_map *m, uint32_t w, uint32_t h);
/* p's ops after m. 0, or 1 when an op is not geometry or would fail
 * (the luma's own ops then say why). */
int tf_plane_map_ops(struct tf_plane_map *m, const struct ib_pipeline *p);

/*
 * The raw path as ib_transform_renditions drives it (file.c): the luma is
 * the image every step works on, as the RGB image is on the RGB path
 * (shrink-on-load's fix, p, each rendition's size), and raw keeps the
 * chroma planes as decoded and where p's result lies in them.
 */
struct tf_raw {
    int on;                      /* set by a tf_raw_decode that worked */
    struct tf_planes src;        /* plane[0] handed over as the luma */
    struct tf_plane_map map;     /* p's result -> decoded luma; file.c
                                    adds shrink-on-load's fix and p */
};
void tf_raw_release(struct tf_raw *raw);
/*
 * buf's planes (tf_jpeg_decode_planes) into raw and *img, the luma,
 * upright when d->auto_orient, with meta's EXIF orientation then reset
 * as ib_image_decode does. TF_PLANES_UNSUITED, with nothing done, when
 * the RGB path must decode it.
 */
int tf_raw_decode(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *d, struct tf_raw *raw,
                  struct ib_image **img, struct ib_meta *meta, char *msg,
                  size_t msglen);
/*
 * Encodes as eo says the image that size (NULL: none) makes of p's
 * result, given y, its luma: the chroma is made here from raw's planes.
 */
int tf_raw_encode(const struct ib_image *y, const struct tf_raw *raw,
                  const struct ib_pipeline *size,
                  const struct ib_encode_opts *eo, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen);

#endif
