/*
 * transform/file.c: one item, file to file, never leaving a partial file
 * under the final name: the output is written to a temp name in the same
 * folder, fsync'ed, and renamed when complete (git lockfile.h); never
 * outside the caller's output folder.
 */
#define _DEFAULT_SOURCE   /* d_type */
#include "transform/transform_int.h"

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

/* 1 if n is ".<base>.tmp-XXXXXX" for some non-empty base (base NULL: any),
 * the name make_temp gives. */
static int is_temp_of(const char *n, const char *base)
{
    size_t len = strlen(n);
    if (len < 1 + 1 + 5 + 6 || n[0] != '.' ||
        memcmp(n + len - 11, ".tmp-", 5))
        return 0;
    for (size_t i = len - 6; i < len; i++)
        if (!is_temp_char(n[i]))
            return 0;
    if (!base)
        return 1;
    size_t blen = strlen(base);
    return len == 1 + blen + 11 && !memcmp(n + 1, base, blen);
}

/* Creates ".<base>.tmp-XXXXXX" in dir, never through a symlink. */
static int make_temp(int dir, const char *base, char *tmp, size_t tmplen)
{
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
        int n = snprintf(tmp, tmplen, ".%s.tmp-%s", base, sfx);
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
            /* the output's name: path without the dot and the suffix */
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
    int rc = tf_resample(*img, sh->min_w, sh->min_h, TF_FILTER_LANCZOS3, &r,
                         msg, msglen);
    if (rc)
        return rc;
    ib_image_free(*img);
    *img = r;
    return 0;
}

int ib_transform_file(const char *in_path, const struct ib_out *dst,
                      const char *name, const struct ib_decode_opts *dopts,
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
    if (!eo.exif && meta.exif) {
        eo.exif = meta.exif;
        eo.exif_len = meta.exif_len;
    }
    if (!eo.xmp && meta.xmp) {
        eo.xmp = meta.xmp;
        eo.xmp_len = meta.xmp_len;
    }
    rc = ib_image_encode(img, &eo, &out, &outlen, msg, msglen);
    if (rc)
        goto done;
    rc = write_atomic(dst, name, out, outlen, msg, msglen);
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
