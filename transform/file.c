/*
 * transform/file.c: one item, file to file, never leaving a partial file
 * under the final name: the output is written to a temp name in the same
 * folder, fsync'ed, and renamed when complete (git lockfile.h); never
 * outside the caller's output folder.
 */
#define _DEFAULT_SOURCE   /* d_type */
#include "transform/planes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
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
        return tf_fail(msg, msglen, IB_TRANSFORM_EIO, "cannot open: %s",
                       strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return tf_fail(msg, msglen, IB_TRANSFORM_EIO, "not a regular file");
    }
    if (st.st_size > MAX_INPUT_BYTES) {
        close(fd);
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "file of %lld bytes is too large",
                       (long long)st.st_size);
    }
    size_t cap = (size_t)st.st_size, n = 0;
    unsigned char *b = malloc(cap ? cap : 1);
    if (!b) {
        close(fd);
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    }
    while (n < cap) {
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return tf_fail(msg, msglen, IB_TRANSFORM_EIO, "cannot read: %s",
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

/*
 * The output side. Every path is resolved one component at a time from
 * the caller's OUT fd with O_NOFOLLOW, and the temp file is created with
 * O_EXCL | O_NOFOLLOW, so a symlink planted inside OUT (a folder or a
 * file) can never redirect a write outside it; renameat() replaces a
 * symlink at the final name rather than writing through it.
 */

/*
 * A new open file of root, not a dup: a dup would share root's offset,
 * which readdir moves, with every other user of root (and with the
 * workers that inherited it).
 */
static int open_root(const struct ib_out *out)
{
    return openat(out->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* For messages: the first n bytes of name below OUT as the user named it. */
static const char *shown(const struct ib_out *out, const char *name,
                         size_t n, char *buf, size_t len)
{
    const char *o = out->shown ? out->shown : "";
    size_t ol = strlen(o);
    snprintf(buf, len, "%s%s%.*s", o, ol && o[ol - 1] != '/' ? "/" : "",
             (int)n, name);
    return buf;
}

/* "." and ".." and "" are never a component of an output name. */
static int bad_component(const char *c, size_t n)
{
    return n == 0 || (n == 1 && c[0] == '.') ||
           (n == 2 && c[0] == '.' && c[1] == '.');
}

/*
 * Opens the folder that holds name (below root), making the missing ones
 * if create; *base is set to name's last component. Returns an fd the
 * caller closes (root itself, opened anew, for a name without '/'), or a
 * negative code with msg.
 */
static int open_parent(const struct ib_out *out, const char *name,
                       int create, const char **base, char *msg,
                       size_t msglen)
{
    const char *p = name, *slash;
    char b[PATH_MAX];
    int fd = open_root(out);

    if (fd < 0)
        return tf_fail(msg, msglen, IB_TRANSFORM_EIO,
                       "cannot use the output folder: %s", strerror(errno));
    if (*name == '/') {
        close(fd);
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "output name '%s' is not relative", name);
    }
    while ((slash = strchr(p, '/'))) {
        size_t n = (size_t)(slash - p);
        char comp[256];
        if (bad_component(p, n) || n >= sizeof comp) {
            close(fd);
            return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                           "output name '%s' is not below the output "
                           "folder", name);
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (create && mkdirat(fd, comp, 0777)) {
            if (errno != EEXIST) {
                int e = errno;
                close(fd);
                return tf_fail(msg, msglen, IB_TRANSFORM_EIO,
                               "cannot create the output folder '%s': %s",
                               shown(out, name, (size_t)(slash - name), b,
                                     sizeof b), strerror(e));
            }
        } else if (create && !out->no_fsync) {
            fsync(fd);   /* a new folder, with what goes in it, survives */
        }
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                        O_CLOEXEC);
        int e = errno;
        struct stat st;
        if (next < 0 && !fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) &&
            S_ISLNK(st.st_mode)) {
            close(fd);
            return tf_fail(msg, msglen, IB_TRANSFORM_EIO,
                           "output folder '%s' is a symlink, not followed",
                           shown(out, name, (size_t)(slash - name), b,
                                 sizeof b));
        }
        close(fd);
        if (next < 0)
            return tf_fail(msg, msglen, IB_TRANSFORM_EIO,
                           "cannot open the output folder '%s': %s",
                           shown(out, name, (size_t)(slash - name), b,
                                 sizeof b), strerror(e));
        fd = next;
        p = slash + 1;
    }
    if (bad_component(p, strlen(p))) {
        close(fd);
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "output name '%s' is not below the output folder",
                       name);
    }
    *base = p;
    return fd;
}

/* The temp name's 6 characters, as mkstemp's: letters and digits. */
static const char temp_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static int is_temp_char(char c)
{
    return c && strchr(temp_chars, c) != NULL;
}

/*
 * Temp names: ".<stem>.tmp-" + 6 letters or digits, beside the output,
 * where the stem is the output's name, or, when that would make the temp
 * name longer than NAME_MAX (a name of over NAME_MAX - 12 bytes), its
 * first bytes (cut at a UTF-8 character), '~' and 16 hex digits of a hash
 * of the whole name: still the shape the sweeps know, still one stem per
 * name. The stem is written to stem (NAME_MAX + 1 bytes).
 */
#define TEMP_SUFFIX_LEN 11   /* ".tmp-XXXXXX" */
static void temp_stem(const char *base, char *stem)
{
    size_t len = strlen(base);
    size_t room = NAME_MAX - 1 - TEMP_SUFFIX_LEN;   /* the dot before */
    if (len <= room) {
        memcpy(stem, base, len + 1);
        return;
    }
    uint64_t h = 0xcbf29ce484222325u;   /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)base[i]) * 0x100000001b3u;
    size_t keep = room - 1 - 16;
    while (keep > 0 && ((unsigned char)base[keep] & 0xc0) == 0x80)
        keep--;   /* base[keep] would start the cut: not mid-character */
    snprintf(stem, NAME_MAX + 1, "%.*s~%016" PRIx64, (int)keep, base, h);
}

/* 1 if n is ".<stem>.tmp-XXXXXX" for base's stem (base NULL: any
 * non-empty stem), the name make_temp gives. */
static int is_temp_of(const char *n, const char *base)
{
    size_t len = strlen(n);
    if (len < 1 + 1 + TEMP_SUFFIX_LEN || n[0] != '.' ||
        memcmp(n + len - TEMP_SUFFIX_LEN, ".tmp-", 5))
        return 0;
    for (size_t i = len - 6; i < len; i++)
        if (!is_temp_char(n[i]))
            return 0;
    if (!base)
        return 1;
    char stem[NAME_MAX + 1];
    temp_stem(base, stem);
    size_t slen = strlen(stem);
    return len == 1 + slen + TEMP_SUFFIX_LEN && !memcmp(n + 1, stem, slen);
}

/* Creates ".<stem>.tmp-XXXXXX" in dir, never through a symlink. */
static int make_temp(int dir, const char *base, char *tmp, size_t tmplen)
{
    char stem[NAME_MAX + 1];
    temp_stem(base, stem);
    for (int tries = 0; tries < 100; tries++) {
        unsigned char r[6];
        if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
            /* no entropy yet: O_EXCL still keeps two writers apart */
            unsigned long x = (unsigned long)getpid() * 2654435761u +
                              (unsigned long)tries * 40503u +
                              (unsigned long)time(NULL);
            for (size_t i = 0; i < sizeof r; i++, x >>= 5)
                r[i] = (unsigned char)x;
        }
        char sfx[7];
        for (size_t i = 0; i < 6; i++)
            sfx[i] = temp_chars[r[i] % (sizeof temp_chars - 1)];
        sfx[6] = '\0';
        int n = snprintf(tmp, tmplen, ".%s.tmp-%s", stem, sfx);
        if (n < 0 || (size_t)n >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                      O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
    size_t n = 0;
    while (n < len) {
        ssize_t w = write(fd, buf + n, len - n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        n += (size_t)w;
    }
    return 0;
}

static int write_atomic(const struct ib_out *out, const char *name,
                        const unsigned char *buf, size_t len, char *msg,
                        size_t msglen)
{
    const char *base;
    char tmp[NAME_MAX + 1], b[PATH_MAX];
    int dir = open_parent(out, name, 1, &base, msg, msglen);
    if (dir < 0)
        return dir;

    /* ".name.tmp-XXXXXX" beside the output: same filesystem, so rename is
     * atomic, and a leading dot keeps it out of the way of globbing */
    int fd = make_temp(dir, base, tmp, sizeof tmp);
    if (fd < 0) {
        int e = errno;
        close(dir);
        return tf_fail(msg, msglen, IB_TRANSFORM_EIO,
                       "cannot create a temp file beside '%s': %s",
                       shown(out, name, strlen(name), b, sizeof b),
                       strerror(e));
    }
    fchmod(fd, 0644);   /* the temp file's 0600 is not the output's */
    int err = write_all(fd, buf, len);
    /* durable before it is visible: a power cut after the rename must not
     * leave an empty file under the final name (ext4, xfs delay blocks) */
    if (!err && !out->no_fsync && fsync(fd))
        err = errno;
    if (close(fd) && !err)
        err = errno;
    if (!err && renameat(dir, tmp, dir, base))
        err = errno;
    if (err) {
        unlinkat(dir, tmp, 0);
        close(dir);
        return tf_fail(msg, msglen, IB_TRANSFORM_EIO, "cannot write '%s': %s",
                       shown(out, name, strlen(name), b, sizeof b),
                       strerror(err));
    }
    /* the rename itself is durable once the folder is */
    if (!out->no_fsync && fsync(dir)) {
        int e = errno;
        close(dir);
        return tf_fail(msg, msglen, IB_TRANSFORM_EIO,
                       "cannot sync the folder of '%s': %s",
                       shown(out, name, strlen(name), b, sizeof b),
                       strerror(e));
    }
    close(dir);
    return 0;
}

int ib_transform_remove_temps(const struct ib_out *out, const char *name)
{
    const char *base;
    char ignored[8];
    int dir = open_parent(out, name, 0, &base, ignored, sizeof ignored);
    if (dir < 0)
        return 0;
    int dup_fd = dup(dir);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *e;
    int removed = 0;

    if (!d && dup_fd >= 0)
        close(dup_fd);
    while (d && (e = readdir(d)))
        if (is_temp_of(e->d_name, base))
            removed += unlinkat(dir, e->d_name, 0) == 0;
    if (d)
        closedir(d);
    close(dir);
    return removed;
}

/* Deep enough for any real output tree; deeper folders are not swept. */
#define SWEEP_MAX_DEPTH 64

/* Sweeps folder fd (owned, closed here), whose path below root is rel. */
static int sweep_dir(int fd, const char *rel, int depth,
                     int (*mine)(void *ctx, const char *name), void *ctx)
{
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    struct dirent *e;
    int removed = 0;

    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        close(fd);
        return 0;
    }
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        size_t rl = strlen(rel), nl = strlen(n);
        char *path = malloc(rl + nl + 2);
        if (!path)
            break;
        snprintf(path, rl + nl + 2, "%s%s%s", rel, rl ? "/" : "", n);
        if (is_temp_of(n, NULL)) {
            /* the output's name: path without the dot and the suffix (for
             * a shortened stem, no output's: mine keeps it) */
            char *o = malloc(rl + nl + 2);
            if (o) {
                snprintf(o, rl + nl + 2, "%s%s%.*s", rel, rl ? "/" : "",
                         (int)(nl - 12), n + 1);
                if (!mine || mine(ctx, o))
                    removed += unlinkat(fd, n, 0) == 0;
                free(o);
            }
        } else if (depth < SWEEP_MAX_DEPTH &&
                   (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)) {
            int sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                        O_CLOEXEC);
            if (sub >= 0)
                removed += sweep_dir(sub, path, depth + 1, mine, ctx);
        }
        free(path);
    }
    closedir(d);
    close(fd);
    return removed;
}

int ib_transform_sweep_temps(const struct ib_out *out,
                             int (*mine)(void *ctx, const char *name),
                             void *ctx)
{
    int fd = open_root(out);
    return fd < 0 ? 0 : sweep_dir(fd, "", 0, mine, ctx);
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
    const struct ib_pipeline *by;   /* the pipeline planned for */
    uint32_t min_w, min_h;   /* upright; 0 when not shrinking */
};

/*
 * The pipeline whose first op shrinks an input least, which the decode
 * must serve: p, when it has ops (it runs first for every rendition);
 * else the renditions' sizes, none of them when one has no size.
 */
static void shrink_plan(const unsigned char *buf, size_t len,
                        const struct ib_pipeline *p,
                        const struct ib_rendition *r, size_t n,
                        const struct ib_decode_opts *dopts,
                        struct ib_decode_opts *d, struct shrink *sh)
{
    struct ib_meta m;
    char ignored[8];
    uint32_t uw, uh, mw = 0, mh = 0;

    sh->min_w = sh->min_h = 0;
    sh->by = NULL;
    if (dopts->no_shrink_on_load || dopts->min_width || dopts->min_height ||
        ib_format_sniff(buf, len) != IB_FORMAT_JPEG)
        return;
    /* a bad header fails in the decode, with the decoder's message */
    if (ib_image_probe(buf, len, &m, ignored, sizeof ignored))
        return;
    int swap = dopts->auto_orient && m.orientation >= 5;
    uw = swap ? m.height : m.width;
    uh = swap ? m.width : m.height;
    for (size_t i = 0; i < (ib_pipeline_len(p) ? 1 : n); i++) {
        const struct ib_pipeline *q = ib_pipeline_len(p) ? p : r[i].size;
        uint32_t w, h;
        if (!q || !ib_pipeline_len(q))
            return;
        ib_pipeline_min_input(q, uw, uh, &w, &h);
        if (!sh->by || (uint64_t)w * h > (uint64_t)mw * mh) {
            sh->by = q;
            mw = w;
            mh = h;
        }
    }
    if (!sh->by || (mw >= uw && mh >= uh))
        return;
    sh->min_w = mw;
    sh->min_h = mh;
    d->min_width = swap ? mh : mw;
    d->min_height = swap ? mw : mh;
}

/* After a scaled decode: resample to the plan's minimum if needed; *fixed
 * says whether it was. */
static int shrink_fix(const struct shrink *sh, struct ib_image **img,
                      int *fixed, char *msg, size_t msglen)
{
    struct ib_image *r;
    uint32_t w = (*img)->width, h = (*img)->height, mw, mh;

    *fixed = 0;
    ib_pipeline_min_input(sh->by, w, h, &mw, &mh);
    /* the same minimum, strictly below: the same target */
    if (mw == sh->min_w && mh == sh->min_h && mw < w && mh < h)
        return 0;
    if (w == sh->min_w && h == sh->min_h)
        return 0;
    int rc = tf_resample(*img, sh->min_w, sh->min_h, TF_FILTER_LANCZOS3, &r,
                         msg, msglen);
    if (rc)
        return rc;
    ib_image_free(*img);
    *img = r;
    *fixed = 1;
    return 0;
}

/* Decodes in, freed as soon as it is, then runs p: *img is p's result,
 * the luma alone when raw->on. */
static int load(unsigned char *in, size_t inlen,
                const struct ib_decode_opts *dopts,
                const struct ib_pipeline *p, const struct ib_rendition *r,
                size_t n, struct tf_raw *raw, struct ib_image **img,
                struct ib_meta *meta, struct ib_transform_result *res,
                char *msg, size_t msglen)
{
    struct ib_decode_opts d = *dopts;
    struct shrink sh;
    int rc = TF_PLANES_UNSUITED;

    res->in_format = ib_format_sniff(in, inlen);
    shrink_plan(in, inlen, p, r, n, dopts, &d, &sh);
    if (tf_planes_suit(in, inlen, p, r, n))
        rc = tf_raw_decode(in, inlen, &d, raw, img, meta, msg, msglen);
    if (rc == TF_PLANES_UNSUITED)
        rc = ib_image_decode(in, inlen, &d, img, meta, msg, msglen);
    free(in);
    if (rc)
        return rc;
    res->in_w = (*img)->width;
    res->in_h = (*img)->height;
    if (meta->scale_denom > 1) {
        /* report the size in the file, upright, not the scaled decode */
        int swap = d.auto_orient && meta->orientation >= 5;
        int fixed = 0;
        res->in_w = swap ? meta->height : meta->width;
        res->in_h = swap ? meta->width : meta->height;
        if (sh.min_w)
            rc = shrink_fix(&sh, img, &fixed, msg, msglen);
        if (fixed && raw->on)
            tf_plane_map_scale(&raw->map, sh.min_w, sh.min_h);
    }
    /* an op the map cannot follow fails on the luma, with its reason:
     * tf_planes_suit lets only geometry ops through */
    if (!rc && raw->on)
        (void)tf_plane_map_ops(&raw->map, p);
    if (!rc)
        rc = ib_pipeline_apply(p, img, msg, msglen);
    return rc;
}

/*
 * The images of a renditions call: [0] is p's result; the others are
 * the sizes made so far, each with the size pipeline that made it.
 */
struct made {
    struct ib_image *img[IB_RENDITIONS_MAX + 1];   /* owned */
    const struct ib_pipeline *by[IB_RENDITIONS_MAX + 1];
    size_t n;
};

/* The image of size q (NULL: p's result), made if need be. */
static int size_image(struct made *m, const struct ib_pipeline *q,
                      uint64_t max_pixels, struct ib_image **img, char *msg,
                      size_t msglen)
{
    const struct ib_image *base = m->img[0], *from = base;
    uint32_t tw, th;

    if (!q || !ib_pipeline_len(q)) {
        *img = m->img[0];
        return 0;
    }
    for (size_t k = 1; k < m->n; k++)
        if (m->by[k] == q) {
            *img = m->img[k];
            return 0;
        }
    int known = !ib_pipeline_out_size(q, base->width, base->height, &tw,
                                      &th);
    /* --upscale to a huge box: refused as a huge input is */
    if (known && (uint64_t)tw * th > max_pixels)
        return tf_fail(msg, msglen, IB_TRANSFORM_ELIMIT,
                       "%" PRIu32 "x%" PRIu32 " is over the pixel limit (%"
                       PRIu64 ")", tw, th, max_pixels);
    /* the smallest image made that is still at least as large */
    for (size_t k = 1; known && k < m->n; k++) {
        const struct ib_image *c = m->img[k];
        if (c->width >= tw && c->height >= th &&
            (uint64_t)c->width * c->height <
                (uint64_t)from->width * from->height)
            from = c;
    }
    struct ib_image *out;
    int rc = ib_pipeline_derive(q, from, &out, msg, msglen);
    if (!rc && from != base && (out->width != tw || out->height != th)) {
        /* rounding from the smaller image missed by a pixel */
        ib_image_free(out);
        rc = ib_pipeline_derive(q, base, &out, msg, msglen);
    }
    if (rc)
        return rc;
    m->img[m->n] = out;
    m->by[m->n++] = q;
    *img = out;
    return 0;
}

/* The target area of rendition i, for making the largest first. */
static uint64_t area_of(const struct ib_rendition *r,
                        const struct ib_image *base)
{
    uint32_t w = base->width, h = base->height;
    if (r->size)
        (void)ib_pipeline_out_size(r->size, w, h, &w, &h);
    return (uint64_t)w * h;
}

static int encode_write(const struct ib_out *dst, const struct ib_image *img,
                        const struct tf_raw *raw,
                        const struct ib_rendition *r,
                        const struct ib_meta *meta, enum ib_format in_format,
                        struct ib_rendition_result *rr, char *msg,
                        size_t msglen)
{
    struct ib_encode_opts eo = r->eopts;
    unsigned char *out = NULL;
    size_t outlen = 0;

    if (eo.format == IB_FORMAT_UNKNOWN)
        eo.format = in_format;
    if (!eo.icc && meta->icc) {
        eo.icc = meta->icc;
        eo.icc_len = meta->icc_len;
    }
    if (!eo.exif && meta->exif) {
        eo.exif = meta->exif;
        eo.exif_len = meta->exif_len;
    }
    if (!eo.xmp && meta->xmp) {
        eo.xmp = meta->xmp;
        eo.xmp_len = meta->xmp_len;
    }
    int rc = raw->on ? tf_raw_encode(img, raw, r->size, &eo, &out, &outlen,
                                     msg, msglen)
                     : ib_image_encode(img, &eo, &out, &outlen, msg, msglen);
    if (!rc)
        rc = write_atomic(dst, r->name, out, outlen, msg, msglen);
    free(out);
    if (rc)
        return rc;
    rr->width = img->width;
    rr->height = img->height;
    rr->bytes = outlen > UINT32_MAX ? UINT32_MAX : (uint32_t)outlen;
    rr->format = (uint8_t)eo.format;
    return 0;
}

int ib_transform_renditions(const char *in_path, const struct ib_out *dst,
                            const struct ib_decode_opts *dopts,
                            const struct ib_pipeline *p,
                            const struct ib_rendition *r, size_t n,
                            struct ib_transform_result *res,
                            struct ib_rendition_result *rr, char *msg,
                            size_t msglen)
{
    struct ib_meta meta;
    struct tf_raw raw;
    struct made m;
    unsigned char *in = NULL;
    size_t inlen = 0;
    size_t order[IB_RENDITIONS_MAX];
    uint64_t area[IB_RENDITIONS_MAX];
    int first_rc = 0;

    memset(&meta, 0, sizeof meta);
    memset(&raw, 0, sizeof raw);
    memset(res, 0, sizeof *res);
    memset(rr, 0, n * sizeof *rr);
    if (n == 0 || n > IB_RENDITIONS_MAX)
        return tf_fail(msg, msglen, IB_TRANSFORM_EINVAL,
                       "%zu renditions (1..%d)", n, IB_RENDITIONS_MAX);
    m.n = 1;
    m.img[0] = NULL;
    int rc = read_file(in_path, &in, &inlen, msg, msglen);
    if (!rc)
        rc = load(in, inlen, dopts, p, r, n, &raw, &m.img[0], &meta, res,
                  msg, msglen);
    if (rc) {
        ib_image_free(m.img[0]);
        tf_raw_release(&raw);
        ib_meta_release(&meta);
        for (size_t i = 0; i < n; i++)
            rr[i].status = (int8_t)(r[i].skip ? 1 : 2);
        return rc;
    }
    /* largest first, so that each smaller size has a small source */
    for (size_t i = 0; i < n; i++) {
        area[i] = area_of(&r[i], m.img[0]);
        size_t k = i;
        for (; k > 0 && area[order[k - 1]] < area[i]; k--)
            order[k] = order[k - 1];
        order[k] = i;
    }
    /* a size up to date is still made when a smaller one to be made may
     * come from it: each output is what a fresh run makes */
    size_t last = 0;
    for (size_t j = 0; j < n; j++)
        if (!r[order[j]].skip)
            last = j + 1;
    for (size_t j = 0; j < n; j++) {
        size_t i = order[j];
        struct ib_image *img;
        char why[PATH_MAX + 256];   /* may name the output whole */
        if (r[i].skip) {
            rr[i].status = 1;
            if (j < last)
                (void)size_image(&m, r[i].size, dopts->max_pixels, &img, why,
                                 sizeof why);
            continue;
        }
        rc = size_image(&m, r[i].size, dopts->max_pixels, &img, why,
                        sizeof why);
        if (!rc)
            rc = encode_write(dst, img, &raw, &r[i], &meta, res->in_format,
                              &rr[i], why, sizeof why);
        rr[i].status = (int8_t)rc;
        if (rc && !first_rc) {
            first_rc = rc;
            if (n > 1)
                snprintf(msg, msglen, "%s: %s", r[i].name, why);
            else
                snprintf(msg, msglen, "%s", why);
        }
        if (!rc && !res->out_w) {
            res->out_w = rr[i].width;
            res->out_h = rr[i].height;
            res->out_format = (enum ib_format)rr[i].format;
        }
    }
    for (size_t k = 0; k < m.n; k++)
        ib_image_free(m.img[k]);
    tf_raw_release(&raw);
    ib_meta_release(&meta);
    return first_rc;
}

int ib_transform_file(const char *in_path, const struct ib_out *dst,
                      const char *name, const struct ib_decode_opts *dopts,
                      const struct ib_pipeline *p,
                      const struct ib_encode_opts *eopts,
                      struct ib_transform_result *res, char *msg,
                      size_t msglen)
{
    struct ib_rendition r = {.name = name, .eopts = *eopts};
    struct ib_rendition_result rr;
    return ib_transform_renditions(in_path, dst, dopts, p, &r, 1, res, &rr,
                                   msg, msglen);
}
