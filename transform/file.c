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
    int rc;

    memset(&meta, 0, sizeof meta);
    memset(res, 0, sizeof *res);
    rc = read_file(in_path, &in, &inlen, msg, msglen);
    if (rc)
        goto done;
    res->in_format = ib_format_sniff(in, inlen);
    rc = ib_image_decode(in, inlen, dopts, &img, &meta, msg, msglen);
    if (rc)
        goto done;
    res->in_w = img->width;
    res->in_h = img->height;
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
