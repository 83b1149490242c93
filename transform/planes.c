/*
 * transform/planes.c: the raw path's geometry (see planes.h).
 *
 * The luma goes through the very ops the RGB path runs, so the output has
 * the RGB path's size by construction. The chroma planes do not follow op
 * by op: their resolution differs from the luma's, and a rotated 4:2:2
 * plane would not even be 4:2:2 any more. Instead the ops' geometry is
 * composed into one map from output to decoded coordinates, which every
 * geometry op here is (axis-aligned: a scale, an offset, a mirror, maybe
 * a swap of axes), and each output chroma plane is resampled once,
 * straight from its decoded plane, by the fixed-point resampler under
 * --resize (tf_resample_map).
 *
 * Coordinates are continuous, pixel i spanning [i, i + 1), as the
 * resampler's "pixel centres aligned"; JPEG sites chroma at the centre of
 * the luma pixels it spans (a 4:2:0 sample spans 2x2), so a chroma sample
 * of a plane spanning f luma pixels covers [i f, (i + 1) f).
 */
#include "transform/planes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tf_plane_map_init(struct tf_plane_map *m, uint32_t w, uint32_t h)
{
    memset(m, 0, sizeof *m);
    m->w = w;
    m->h = h;
    m->from[0] = 0;
    m->from[1] = 1;
    m->a[0] = m->a[1] = 1.0;
    m->filter = TF_FILTER_LANCZOS3;
}

/*
 * The next image is nw x nh; its point x' is the current image's
 * x[j] = oa[j] * x'[of[j]] + ob[j] for j = 0 (x), 1 (y).
 */
static void map_then(struct tf_plane_map *m, const int of[2],
                     const double oa[2], const double ob[2], uint32_t nw,
                     uint32_t nh)
{
    for (int s = 0; s < 2; s++) {
        int j = m->from[s];
        m->b[s] += m->a[s] * ob[j];
        m->a[s] *= oa[j];
        m->from[s] = of[j];
    }
    m->w = nw;
    m->h = nh;
}

/*
 * tf_image_geom's remap (orient.c): output (x', y') reads the current
 * image at x = x' or y' (swap), mirrored over its width if mirror_x, and
 * y likewise over its height if mirror_y.
 */
static void map_geom(struct tf_plane_map *m, int swap, int mirror_x,
                     int mirror_y)
{
    int of[2] = {swap, !swap};
    double oa[2] = {mirror_x ? -1 : 1, mirror_y ? -1 : 1};
    double ob[2] = {mirror_x ? m->w : 0, mirror_y ? m->h : 0};

    map_then(m, of, oa, ob, swap ? m->h : m->w, swap ? m->w : m->h);
}

void tf_plane_map_scale(struct tf_plane_map *m, uint32_t w, uint32_t h)
{
    static const int of[2] = {0, 1};
    double oa[2] = {(double)m->w / w, (double)m->h / h};
    static const double ob[2] = {0, 0};

    map_then(m, of, oa, ob, w, h);
}

static void map_crop(struct tf_plane_map *m, uint32_t x, uint32_t y,
                     uint32_t w, uint32_t h)
{
    static const int of[2] = {0, 1};
    static const double oa[2] = {1, 1};
    double ob[2] = {x, y};

    map_then(m, of, oa, ob, w, h);
}

void tf_plane_map_orient(struct tf_plane_map *m, int orientation)
{
    /* swap, mirror_x, mirror_y: ib_image_orient's table */
    static const unsigned char t[9][3] = {
        {0, 0, 0}, {0, 0, 0}, {0, 1, 0}, {0, 1, 1}, {0, 0, 1},
        {1, 0, 0}, {1, 0, 1}, {1, 1, 1}, {1, 1, 0},
    };
    if (orientation >= 2 && orientation <= 8)
        map_geom(m, t[orientation][0], t[orientation][1], t[orientation][2]);
}

/* One op's geometry, as its file defines it; 1 if not geometry or if it
 * would fail. */
static int map_op(struct tf_plane_map *m, const struct tf_op *op)
{
    const struct tf_op_def *d = op->def;

    if (d == &tf_op_resize) {
        uint32_t w, h;
        d->size(op, m->w, m->h, &w, &h);
        if (!m->resized) {
            m->resized = 1;
            m->filter = op->filter;
        }
        tf_plane_map_scale(m, w, h);
        if (op->resize.mode == TF_RESIZE_COVER) {
            /* as resize_apply: the centre of the box */
            uint32_t bw = (uint32_t)op->resize.width;
            uint32_t bh = (uint32_t)op->resize.height;
            uint32_t cw = bw < w ? bw : w, ch = bh < h ? bh : h;
            map_crop(m, (w - cw) / 2, (h - ch) / 2, cw, ch);
        }
    } else if (d == &tf_op_crop) {
        uint64_t x = (uint64_t)op->crop.x, y = (uint64_t)op->crop.y;
        uint64_t w = (uint64_t)op->crop.width, h = (uint64_t)op->crop.height;
        if (x >= m->w || y >= m->h)
            return 1;
        if (w > m->w - x)
            w = m->w - x;
        if (h > m->h - y)
            h = m->h - y;
        map_crop(m, (uint32_t)x, (uint32_t)y, (uint32_t)w, (uint32_t)h);
    } else if (d == &tf_op_rotate) {
        /* as op_rotate.c */
        if (op->rotate.quarter_turns == 1)
            map_geom(m, 1, 0, 1);
        else if (op->rotate.quarter_turns == 2)
            map_geom(m, 0, 1, 1);
        else
            map_geom(m, 1, 1, 0);
    } else if (d == &tf_op_flip) {
        map_geom(m, 0, 0, 1);
    } else if (d == &tf_op_flop) {
        map_geom(m, 0, 1, 0);
    } else if (d == &tf_op_grayscale) {
        m->grey = 1;
    } else {
        return 1;
    }
    return 0;
}

int tf_plane_map_ops(struct tf_plane_map *m, const struct ib_pipeline *p)
{
    const struct tf_op *op;

    for (size_t k = 0; p && (op = tf_pipeline_op(p, k)); k++)
        if (map_op(m, op))
            return 1;
    return 0;
}

static int geometry_only(const struct ib_pipeline *p)
{
    const struct tf_op *op;

    for (size_t k = 0; p && (op = tf_pipeline_op(p, k)); k++) {
        const struct tf_op_def *d = op->def;
        if (d != &tf_op_resize && d != &tf_op_crop && d != &tf_op_rotate &&
            d != &tf_op_flip && d != &tf_op_flop && d != &tf_op_grayscale)
            return 0;
    }
    return 1;
}

int tf_planes_suit(const unsigned char *buf, size_t len,
                   const struct ib_pipeline *p, const struct ib_rendition *r,
                   size_t n)
{
    const char *no = getenv("IMGBATCH_NO_RAW");

    if (no && *no && strcmp(no, "0"))
        return 0;
    if (ib_format_sniff(buf, len) != IB_FORMAT_JPEG || !geometry_only(p))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!geometry_only(r[i].size))
            return 0;
        if (!r[i].skip &&
            ib_format_output(r[i].eopts.format, IB_FORMAT_JPEG) !=
                IB_FORMAT_JPEG)
            return 0;
    }
    return 1;
}

/*
 * Output chroma plane ow x oh, each sample spanning g[0] x g[1] output
 * luma pixels, from decoded plane src (each sample spanning f[0] x f[1]
 * decoded luma pixels) through m. Mirrors and a swap of axes are done on
 * the source plane first (tf_image_geom, whose mirrors are of the source
 * axes), a lossless copy of a small plane, so that the resampler sees a
 * plain scale and offset per axis.
 */
static int chroma_plane(const struct ib_image *src, const double f[2],
                        const struct tf_plane_map *m, uint32_t ow,
                        uint32_t oh, const double g[2],
                        struct ib_image **out, char *msg, size_t msglen)
{
    struct ib_image *t = NULL;
    const struct ib_image *s = src;
    struct tf_resample_map rm;
    double dim[2] = {src->width, src->height};
    int swap = m->from[0] == 1, mirror[2] = {0, 0}, rc;

    for (int k = 0; k < 2; k++) {
        int sa = k ^ swap;       /* output axis k reads source axis sa */
        double a = m->a[sa] / f[sa], b = m->b[sa] / f[sa];
        if (a < 0) {
            /* the mirrored plane's coordinate is dim - the plane's */
            mirror[sa] = 1;
            a = -a;
            b = dim[sa] - b;
        }
        /* sample o's centre (o + 0.5) g output luma pixels away */
        rm.scale[k] = a * g[k];
        rm.offset[k] = b;
    }
    if (swap || mirror[0] || mirror[1]) {
        rc = tf_image_geom(src, swap, mirror[0], mirror[1], &t, msg, msglen);
        if (rc)
            return rc;
        s = t;
    }
    rc = tf_resample_map(s, ow, oh, &rm, m->filter, out, msg, msglen);
    ib_image_free(t);
    return rc;
}

/* The output chroma planes of the image m describes (m->w x m->h luma)
 * at subsample (420, 422, 444); set only on success. */
static int chroma(const struct tf_planes *src, const struct tf_plane_map *m,
                  int subsample, struct ib_image **cb, struct ib_image **cr,
                  char *msg, size_t msglen)
{
    /* output luma pixels per chroma sample, as tf_jpeg_set_params sets */
    double g[2] = {subsample == 444 ? 1 : 2, subsample == 420 ? 2 : 1};
    uint32_t gw = (uint32_t)g[0], gh = (uint32_t)g[1];
    uint32_t cw = m->w / gw + (m->w % gw != 0);
    uint32_t ch = m->h / gh + (m->h % gh != 0);
    struct ib_image *o[2] = {NULL, NULL};

    for (unsigned i = 1; i < 3; i++) {
        double f[2] = {src->fx[i], src->fy[i]};
        int rc = chroma_plane(src->plane[i], f, m, cw, ch, g, &o[i - 1], msg,
                              msglen);
        if (rc) {
            ib_image_free(o[0]);
            return rc;
        }
    }
    *cb = o[0];
    *cr = o[1];
    return 0;
}

void tf_raw_release(struct tf_raw *raw)
{
    tf_planes_release(&raw->src);
    raw->on = 0;
}

int tf_raw_decode(const unsigned char *buf, size_t len,
                  const struct ib_decode_opts *d, struct tf_raw *raw,
                  struct ib_image **img, struct ib_meta *meta, char *msg,
                  size_t msglen)
{
    struct ib_image *y;
    int rc = tf_jpeg_decode_planes(buf, len, d, &raw->src, meta, msg,
                                   msglen);
    if (rc)
        return rc;
    y = raw->src.plane[0];
    raw->src.plane[0] = NULL;
    raw->on = 1;
    tf_plane_map_init(&raw->map, y->width, y->height);
    if (d->auto_orient && meta->orientation > 1) {
        struct ib_image *up;
        rc = ib_image_orient(y, meta->orientation, &up, msg, msglen);
        ib_image_free(y);
        if (rc)
            return rc;
        y = up;
        tf_plane_map_orient(&raw->map, meta->orientation);
        /* the pixels are upright now: a copied EXIF must not turn them */
        tf_exif_set_orientation(meta->exif, meta->exif_len, 1);
    }
    *img = y;
    return 0;
}

int tf_raw_encode(const struct ib_image *y, const struct tf_raw *raw,
                  const struct ib_pipeline *size,
                  const struct ib_encode_opts *eo, unsigned char **buf,
                  size_t *len, char *msg, size_t msglen)
{
    struct tf_plane_map m = raw->map;
    struct ib_image *cb = NULL, *cr = NULL;

    (void)tf_plane_map_ops(&m, size);   /* the luma went through them */
    /* grey in, or --grayscale: Y alone is the grey image */
    if (raw->src.n == 1 || m.grey)
        return ib_image_encode(y, eo, buf, len, msg, msglen);
    if (m.w != y->width || m.h != y->height)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "raw path: luma %" PRIu32 "x%" PRIu32 " is not the %"
                       PRIu32 "x%" PRIu32 " planned", y->width, y->height,
                       m.w, m.h);
    int rc = chroma(&raw->src, &m, eo->subsample, &cb, &cr, msg, msglen);
    if (!rc)
        rc = tf_jpeg_encode_planes(y, cb, cr, eo, buf, len, msg, msglen);
    ib_image_free(cb);
    ib_image_free(cr);
    return rc;
}
