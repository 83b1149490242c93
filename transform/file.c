/*
 * transform/file.c: one item, file to file, never leaving a partial file
 * under the final name: the output is written to a temp name in the same
 * folder and renamed when complete (git lockfile.h).
 */
#include "transform/transform_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inputs larger than this are refused before reading: no real JPEG or PNG
 * within the default pixel limit comes near it. */
#define MAX_INPUT_BYTES ((off_t)2 << 30)

static int read_file(const char *path, unsigned char **buf, size_t *len,
                     char *msg, size_t msglen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ib_fail(msg, msglen, IB_TRANSFORM_EIO, "cannot open: %s",
                       strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return ib_fail(msg, msglen, IB_TRANSFORM_EIO, "not a regular file");
    }
    if (st.st_size > MAX_INPUT_BYTES) {
        close(fd);
        return ib_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "file of %lld bytes is too large",
                       (long long)st.st_size);
    }
    size_t cap = (size_t)st.st_size, n = 0;
    unsigned char *b = malloc(cap ? cap : 1);
    if (!b) {
        close(fd);
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    }
    while (n < cap) {
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return ib_fail(msg, msglen, IB_TRANSFORM_EIO, "cannot read: %s",
                           strerror(e));
        }
        if (r == 0)
            break;   /* shrank while reading: decode what is there */
        n += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

/* mkdir -p of path's parent folder. */
static int make_parents(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return -1;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0777) && errno != EEXIST) {
            free(dir);
            return -1;
        }
        *p = '/';
    }
    free(dir);
    return 0;
}

static int write_atomic(const char *out_path, const unsigned char *buf,
                        size_t len, char *msg, size_t msglen)
{
    size_t plen = strlen(out_path);
    char *tmp = malloc(plen + 32);
    if (!tmp)
        return ib_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");

    /* ".name.tmp-XXXXXX" beside the output: same filesystem, so rename is
     * atomic, and a leading dot keeps it out of the way of globbing */
    const char *slash = strrchr(out_path, '/');
    size_t dirlen = slash ? (size_t)(slash - out_path + 1) : 0;
    snprintf(tmp, plen + 32, "%.*s.%s.tmp-XXXXXX", (int)dirlen, out_path,
             out_path + dirlen);

    if (make_parents(out_path)) {
        int e = errno;
        free(tmp);
        return ib_fail(msg, msglen, IB_TRANSFORM_EIO,
                       "cannot create the output folder: %s", strerror(e));
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return ib_fail(msg, msglen, IB_TRANSFORM_EIO,
                       "cannot create a temp file beside '%s': %s", out_path,
                       strerror(e));
    }
    fchmod(fd, 0644);
    size_t n = 0;
    int err = 0;
    while (n < len) {
        ssize_t w = write(fd, buf + n, len - n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            err = errno;
            break;
        }
        n += (size_t)w;
    }
    if (close(fd) && !err)
        err = errno;
    if (!err && rename(tmp, out_path))
        err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        return ib_fail(msg, msglen, IB_TRANSFORM_EIO, "cannot write '%s': %s",
                       out_path, strerror(err));
    }
    free(tmp);
    return 0;
}

int ib_transform_remove_temps(const char *out_path)
{
    const char *slash = strrchr(out_path, '/');
    const char *base = slash ? slash + 1 : out_path;
    char *dir = slash ? strndup(out_path, (size_t)(slash - out_path) + 1)
                      : strdup("./");
    size_t blen = strlen(base);
    int removed = 0;

    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        /* exactly ".<base>.tmp-XXXXXX", the name write_atomic makes */
        const char *n = e->d_name;
        if (n[0] != '.' || strncmp(n + 1, base, blen) ||
            strncmp(n + 1 + blen, ".tmp-", 5) || strlen(n + 6 + blen) != 6)
            continue;
        size_t dl = strlen(dir);
        char *p = malloc(dl + strlen(n) + 1);
        if (!p)
            break;
        memcpy(p, dir, dl);
        strcpy(p + dl, n);
        removed += unlink(p) == 0;
        free(p);
    }
    if (d)
        closedir(d);
    free(dir);
    return removed;
}

int ib_image_probe(const unsigned char *buf, size_t len, struct ib_meta *meta,
                   char *msg, size_t msglen)
{
    struct ib_meta m;

    memset(&m, 0, sizeof m);
    m.orientation = 1;
    m.scale_denom = 1;
    switch (ib_format_sniff(buf, len)) {
    case IB_FORMAT_JPEG: {
        int rc = ib_jpeg_probe(buf, len, &m, msg, msglen);
        if (rc)
            return rc;
        break;
    }
    case IB_FORMAT_PNG:
        /* the signature, then IHDR's length, type, width and height */
        if (len < 24 || memcmp(buf + 12, "IHDR", 4) != 0)
            return ib_fail(msg, msglen, IB_TRANSFORM_ECORRUPT,
                           "PNG without an IHDR chunk");
        m.format = IB_FORMAT_PNG;
        m.width = (uint32_t)buf[16] << 24 | (uint32_t)buf[17] << 16 |
                  (uint32_t)buf[18] << 8 | buf[19];
        m.height = (uint32_t)buf[20] << 24 | (uint32_t)buf[21] << 16 |
                   (uint32_t)buf[22] << 8 | buf[23];
        break;
    default:
        return ib_fail(msg, msglen, IB_TRANSFORM_EFORMAT,
                       "not a JPEG or PNG image");
    }
    *meta = m;
    return 0;
}

/*
 * Shrink-on-load. The pipeline's first op shrinks a W x H (upright) input
 * to some target; ib_pipeline_min_input says how small the decode may be,
 * an integer multiple k of that target (k = 2, as libvips: the resampler
 * still has 2x to work with). The JPEG decoder then picks the largest DCT
 * scale (1/8, 1/4, 1/2) that stays at or above it.
 *
 * A scaled decode is ceil(W / s) x ceil(H / s), whose aspect ratio can
 * differ a little from W x H, so the first op could round its output to a
 * pixel more or less than it would from a full decode. The plan keeps the
 * minimum (k x target): when the decoded size would not lead to that same
 * target, the decode is resampled to exactly k x target first, from which
 * any resize form lands on the target again (its scale is exactly 1/k).
 * Most photographs (W and H multiples of 8) never need that step.
 */
struct shrink {
    uint32_t min_w, min_h;   /* upright; 0 when not shrinking */
};

static void shrink_plan(const unsigned char *buf, size_t len,
                        const struct ib_pipeline *p,
                        const struct ib_decode_opts *dopts,
                        struct ib_decode_opts *d, struct shrink *sh)
{
    struct ib_meta m;
    char ignored[8];
    uint32_t uw, uh, mw, mh;

    sh->min_w = sh->min_h = 0;
    if (dopts->no_shrink_on_load || dopts->min_width || dopts->min_height ||
        ib_pipeline_len(p) == 0 ||
        ib_format_sniff(buf, len) != IB_FORMAT_JPEG)
        return;
    /* a bad header fails in the decode, with the decoder's message */
    if (ib_image_probe(buf, len, &m, ignored, sizeof ignored))
        return;
    int swap = dopts->auto_orient && m.orientation >= 5;
    uw = swap ? m.height : m.width;
    uh = swap ? m.width : m.height;
    ib_pipeline_min_input(p, uw, uh, &mw, &mh);
    if (mw >= uw && mh >= uh)
        return;
    sh->min_w = mw;
    sh->min_h = mh;
    d->min_width = swap ? mh : mw;
    d->min_height = swap ? mw : mh;
}

/* After a scaled decode: resample to the plan's minimum if needed. */
static int shrink_fix(const struct ib_pipeline *p, const struct shrink *sh,
                      struct ib_image **img, char *msg, size_t msglen)
{
    struct ib_image *r;
    uint32_t w = (*img)->width, h = (*img)->height, mw, mh;

    ib_pipeline_min_input(p, w, h, &mw, &mh);
    /* the same minimum, strictly below: the same target */
    if (mw == sh->min_w && mh == sh->min_h && mw < w && mh < h)
        return 0;
    if (w == sh->min_w && h == sh->min_h)
        return 0;
    int rc = ib_resample(*img, sh->min_w, sh->min_h, IB_FILTER_LANCZOS3, &r,
                         msg, msglen);
    if (rc)
        return rc;
    ib_image_free(*img);
    *img = r;
    return 0;
}

int ib_transform_file(const char *in_path, const char *out_path,
                      const struct ib_decode_opts *dopts,
                      const struct ib_pipeline *p,
                      const struct ib_encode_opts *eopts,
                      struct ib_transform_result *res, char *msg,
                      size_t msglen)
{
    unsigned char *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0;
    struct ib_image *img = NULL;
    struct ib_meta meta;
    struct ib_encode_opts eo = *eopts;
    struct ib_decode_opts d = *dopts;
    struct shrink sh;
    int rc;

    memset(&meta, 0, sizeof meta);
    memset(res, 0, sizeof *res);
    rc = read_file(in_path, &in, &inlen, msg, msglen);
    if (rc)
        goto done;
    res->in_format = ib_format_sniff(in, inlen);
    shrink_plan(in, inlen, p, dopts, &d, &sh);
    rc = ib_image_decode(in, inlen, &d, &img, &meta, msg, msglen);
    if (rc)
        goto done;
    res->in_w = img->width;
    res->in_h = img->height;
    if (meta.scale_denom > 1) {
        /* report the size in the file, upright, not the scaled decode */
        int swap = d.auto_orient && meta.orientation >= 5;
        res->in_w = swap ? meta.height : meta.width;
        res->in_h = swap ? meta.width : meta.height;
        if (sh.min_w) {
            rc = shrink_fix(p, &sh, &img, msg, msglen);
            if (rc)
                goto done;
        }
    }
    rc = ib_pipeline_apply(p, &img, msg, msglen);
    if (rc)
        goto done;
    if (eo.format == IB_FORMAT_UNKNOWN)
        eo.format = res->in_format;
    if (!eo.icc && meta.icc) {
        eo.icc = meta.icc;
        eo.icc_len = meta.icc_len;
    }
    rc = ib_image_encode(img, &eo, &out, &outlen, msg, msglen);
    if (rc)
        goto done;
    rc = write_atomic(out_path, out, outlen, msg, msglen);
    if (rc)
        goto done;
    res->out_w = img->width;
    res->out_h = img->height;
    res->out_format = eo.format;
done:
    free(in);
    free(out);
    ib_image_free(img);
    ib_meta_release(&meta);
    return rc;
}
