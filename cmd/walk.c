/* cmd/walk.c: INPUT arguments -> items with output paths (see walk.h). */
#include "cmd/walk.h"
#include "transform/transform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();   /* a path: out of memory here cannot be reported */
    return d;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p)
        abort();
    memcpy(p, a, la);
    size_t n = la;
    if (n && p[n - 1] != '/')
        p[n++] = '/';
    memcpy(p + n, b, lb + 1);
    return p;
}

int walk_make_dir(const char *path)
{
    char *d = xstrdup(path);
    size_t len = strlen(d);
    for (size_t i = 1; i <= len; i++) {
        if (d[i] != '/' && d[i] != '\0')
            continue;
        char save = d[i];
        d[i] = '\0';
        if (mkdir(d, 0777) && errno != EEXIST) {
            int e = errno;
            free(d);
            errno = e;
            return -1;
        }
        d[i] = save;
    }
    free(d);
    struct stat st;
    if (stat(path, &st))
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

void walk_init(struct walk *w, const char *out_root, const char *ext)
{
    struct stat st;
    memset(w, 0, sizeof *w);
    w->out_root = out_root;
    w->ext = ext;
    if (!stat(out_root, &st)) {
        w->out_dev = st.st_dev;
        w->out_ino = st.st_ino;
    }
}

void walk_release(struct walk *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].path);
        free(w->items[i].rel);
        free(w->items[i].out);
        free(w->items[i].error);
    }
    free(w->items);
    memset(w, 0, sizeof *w);
}

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".png"));
}

static enum ib_format sniff_file(const char *path)
{
    unsigned char b[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return IB_FORMAT_UNKNOWN;
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    return n > 0 ? ib_format_sniff(b, (size_t)n) : IB_FORMAT_UNKNOWN;
}

/* rel with its extension made to match the output format. */
static char *out_path(const struct walk *w, const char *rel,
                      enum ib_format in_fmt)
{
    const char *ext = w->ext ? w->ext : ib_format_ext(in_fmt);
    const char *slash = strrchr(rel, '/');
    const char *dot = strrchr(slash ? slash + 1 : rel, '.');
    size_t stem = dot && dot != (slash ? slash + 1 : rel)
                      ? (size_t)(dot - rel)
                      : strlen(rel);

    /* keep a name that already says the right format: .jpeg, .JPG */
    int keep = !*ext;
    if (dot && *ext) {
        enum ib_format want = !strcmp(ext, ".png") ? IB_FORMAT_PNG
                                                   : IB_FORMAT_JPEG;
        keep = want == IB_FORMAT_PNG
                   ? !strcasecmp(dot, ".png")
                   : !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg");
    }
    char *r = malloc(stem + strlen(rel) + 8);
    if (!r)
        abort();
    if (keep)
        strcpy(r, rel);
    else
        snprintf(r, stem + strlen(rel) + 8, "%.*s%s", (int)stem, rel, ext);
    char *o = join(w->out_root, r);
    free(r);
    return o;
}

static void push(struct walk *w, const char *path, const char *rel,
                 const char *error, enum ib_format fmt)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct walk_item *it = realloc(w->items, cap * sizeof *it);
        if (!it)
            abort();
        w->items = it;
        w->cap = cap;
    }
    struct walk_item *it = &w->items[w->n++];
    it->path = xstrdup(path);
    it->rel = xstrdup(rel);
    it->out = out_path(w, rel, fmt);
    size_t la = strlen(w->out_root);
    it->out_rel = la + (la && w->out_root[la - 1] != '/');
    it->error = error ? xstrdup(error) : NULL;
    it->format = fmt;
    it->recipe = 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path is a file or folder under a root; rel its path below the root. */
static void visit(struct walk *w, const char *path, const char *rel,
                  int top)
{
    struct stat st;
    char err[300];

    if ((top ? stat(path, &st) : lstat(path, &st))) {
        snprintf(err, sizeof err, "cannot read: %s", strerror(errno));
        push(w, path, rel, err, IB_FORMAT_UNKNOWN);
        return;
    }
    /* inside a folder a symlink to a file is followed, to a folder not */
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &st)) {
            /* dangling or a loop: a failed item if named like an image */
            int e = errno;
            if (has_image_ext(path)) {
                snprintf(err, sizeof err, "cannot read: %s", strerror(e));
                push(w, path, rel, err, IB_FORMAT_UNKNOWN);
            }
            return;
        }
        if (S_ISDIR(st.st_mode))
            return;
    }
    if (S_ISREG(st.st_mode)) {
        enum ib_format f = sniff_file(path);
        if (f != IB_FORMAT_UNKNOWN || has_image_ext(path) || top) {
            push(w, path, rel, access(path, R_OK) ? "cannot read: "
                 "permission denied" : NULL, f);
            return;
        }
        w->not_images++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        /* a FIFO or device is never opened: reading one could block */
        if (top || has_image_ext(path))
            push(w, path, rel, "not a file or folder", IB_FORMAT_UNKNOWN);
        return;
    }
    if (st.st_dev == w->out_dev && st.st_ino == w->out_ino)
        return;   /* never transform our own outputs */

    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, sizeof err, "cannot open folder: %s", strerror(errno));
        push(w, path, rel, err, IB_FORMAT_UNKNOWN);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;   /* ., .., hidden files and our temp files */
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                abort();
            names = nn;
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *p = join(path, names[i]);
        char *r = *rel ? join(rel, names[i]) : xstrdup(names[i]);
        visit(w, p, r, 0);
        free(p);
        free(r);
        free(names[i]);
    }
    free(names);
}

static int item_out_cmp(const void *a, const void *b)
{
    const struct walk_item *x = a, *y = b;
    int c = strcmp(x->out, y->out);
    return c ? c : strcmp(x->path, y->path);
}

void walk_add(struct walk *w, const char *arg)
{
    struct stat st;
    if (!stat(arg, &st) && S_ISDIR(st.st_mode)) {
        visit(w, arg, "", 1);
    } else {
        const char *slash = strrchr(arg, '/');
        visit(w, arg, slash ? slash + 1 : arg, 1);
    }
    if (w->n > 1)
        qsort(w->items, w->n, sizeof *w->items, item_out_cmp);
    for (size_t i = 1; i < w->n; i++) {
        struct walk_item *a = &w->items[i - 1], *b = &w->items[i];
        if (strcmp(a->out, b->out) || b->error)
            continue;
        char err[600];
        snprintf(err, sizeof err, "output '%s' is also made from '%s'",
                 b->out, a->path);
        b->error = xstrdup(err);
    }
}
