/* cmd/walk.c: INPUT arguments -> items with output paths (see walk.h). */
#include "cmd/walk.h"
#include "cmd/cmd.h"
#include "cmd/shard.h"
#include "transform/transform.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int walk_make_dir(const char *path)
{
    char *d = cmd_strdup(path);
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

int walk_open_below(int root, const char *name)
{
    if (mkdirat(root, name, 0777) && errno != EEXIST)
        return -1;
    int fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                    O_CLOEXEC);
    struct stat st;
    if (fd < 0 && !fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) &&
        S_ISLNK(st.st_mode))
        errno = ELOOP;
    return fd;
}

void walk_init(struct walk *w, const char *out_root, int format)
{
    struct stat st;
    memset(w, 0, sizeof *w);
    w->out_root = out_root;
    w->format = format;
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

/* 1 if path's extension names a format transform/ can read. */
static int has_image_ext(const char *path)
{
    return ib_format_can_read(ib_name_format(path));
}

static enum ib_format sniff_file(const char *path)
{
    unsigned char b[IB_FORMAT_SNIFF_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return IB_FORMAT_UNKNOWN;
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    return n > 0 ? ib_format_sniff(b, (size_t)n) : IB_FORMAT_UNKNOWN;
}

/* 1 if s[0..n) has a letter, a digit or a non-ASCII byte. */
static int readable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9'))
            return 1;
    }
    return 0;
}

char *walk_name_make(const struct walk_name *v, int mode, int f)
{
    const char *slash = strrchr(v->name, '/');
    size_t dir = slash ? (size_t)(slash + 1 - v->name) : 0;
    const char *base = v->name + dir;
    size_t e = ib_name_ext(base);
    const char *oext = base + e;
    const char *fext = ib_format_ext((enum ib_format)f);
    uint64_t h64 = cmd_shard_hash(v->key);
    char hex[9], fallback[16];

    snprintf(hex, sizeof hex, "%08" PRIx32, (uint32_t)(h64 ^ h64 >> 32));
    snprintf(fallback, sizeof fallback, "image-%s", hex);
    int ok = readable(base, e);
    const char *stem = ok ? base : fallback;
    size_t slen = ok ? e : strlen(fallback);

    const char *mid = "", *tail;
    if (mode == WALK_NAME_PLAIN) {
        tail = ib_output_ext(base, (enum ib_format)f);
    } else if (mode == WALK_NAME_WHOLE) {
        mid = oext;
        tail = fext;
    } else {
        tail = *fext ? fext : oext;
    }
    size_t n = dir + slen + strlen(mid) + strlen(tail) + 12;
    char *out = malloc(n);
    if (!out)
        return NULL;
    snprintf(out, n, "%.*s%.*s%s%s%s%s", (int)dir, v->name, (int)slen, stem,
             mode == WALK_NAME_HASHED ? "-" : "",
             mode == WALK_NAME_HASHED ? hex : "", mid, tail);
    return out;
}

struct cand {
    char *name;   /* owned */
    const char *key;
    size_t item;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->key, y->key);
}

/*
 * Rounds: every item's name in every format it may take; items that share
 * a name with an item of another key move up a mode (plain, whole,
 * hashed) until no name is shared. Modes only go up, so it ends; it reads
 * the list as a set, so the order of v does not matter.
 */
void walk_names_plan(struct walk_name *v, size_t n)
{
    size_t per = IB_FORMAT_COUNT, max = n * per;
    struct cand *c = malloc((max ? max : 1) * sizeof *c);
    unsigned char *hit = malloc(n ? n : 1);
    if (!c || !hit)
        abort();
    for (size_t i = 0; i < n; i++) {
        v[i].mode = WALK_NAME_PLAIN;
        v[i].clash = 0;
    }
    for (int moved = 1; moved;) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            for (int f = 0; f < (int)per; f++) {
                if (!(v[i].formats & 1u << f))
                    continue;
                c[m].name = walk_name_make(&v[i], v[i].mode, f);
                if (!c[m].name)
                    abort();
                c[m].key = v[i].key;
                c[m++].item = i;
            }
        }
        if (m > 1)
            qsort(c, m, sizeof *c, cand_cmp);
        memset(hit, 0, n);
        for (size_t i = 0, j; i < m; i = j) {
            for (j = i + 1; j < m && !strcmp(c[i].name, c[j].name); j++)
                ;
            /* sorted by key within a name: two keys differ at the ends */
            if (strcmp(c[i].key, c[j - 1].key))
                for (size_t k = i; k < j; k++)
                    hit[c[k].item] = 1;
        }
        moved = 0;
        for (size_t i = 0; i < n; i++) {
            if (!hit[i])
                continue;
            if (v[i].mode < WALK_NAME_HASHED) {
                v[i].mode++;
                moved = 1;
            } else {
                v[i].clash = 1;
            }
        }
        for (size_t i = 0; i < m; i++)
            free(c[i].name);
    }
    free(c);
    free(hit);
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
    it->path = cmd_strdup(path);
    it->rel = cmd_strdup(rel);
    it->out = NULL;   /* named by walk_finish, from the whole list */
    it->out_rel = 0;
    it->out_name = NULL;
    it->error = error ? cmd_strdup(error) : NULL;
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
        if (ib_format_can_read(f) || has_image_ext(path) || top) {
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
        names[n++] = cmd_strdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *p = cmd_path_join(path, names[i]);
        char *r = *rel ? cmd_path_join(rel, names[i]) : cmd_strdup(names[i]);
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
}

void walk_finish(struct walk *w)
{
    struct walk_name *v = calloc(w->n ? w->n : 1, sizeof *v);
    size_t la = strlen(w->out_root);
    enum ib_format *f = calloc(w->n ? w->n : 1, sizeof *f);

    if (!v || !f)
        abort();
    for (size_t i = 0; i < w->n; i++) {
        f[i] = ib_format_output((enum ib_format)w->format,
                                (enum ib_format)w->items[i].format);
        unsigned mask = 1u << f[i];
        for (size_t k = 0; k < w->nformats; k++) {
            enum ib_format g = ib_format_output(
                w->formats[k],
                (enum ib_format)w->items[i].format);
            if (g != IB_FORMAT_UNKNOWN)
                mask |= 1u << g;
        }
        v[i] = (struct walk_name){w->items[i].rel, w->items[i].rel, mask, 0,
                                  0};
    }
    walk_names_plan(v, w->n);
    for (size_t i = 0; i < w->n; i++) {
        struct walk_item *it = &w->items[i];
        char *name = walk_name_make(&v[i], v[i].mode, (int)f[i]);
        if (!name)
            abort();
        free(it->out);
        it->name_mode = v[i].mode;
        it->out = cmd_path_join(w->out_root, name);
        it->out_rel = la + (la && w->out_root[la - 1] != '/');
        it->out_name = it->out + it->out_rel;
        free(name);
        if (v[i].clash && !it->error)
            it->error = cmd_strdup("no free output name");
    }
    free(v);
    free(f);

    if (w->n > 1)
        qsort(w->items, w->n, sizeof *w->items, item_out_cmp);
    for (size_t i = 1; i < w->n; i++) {
        struct walk_item *a = &w->items[i - 1], *b = &w->items[i];
        if (strcmp(a->out, b->out) || b->error)
            continue;
        char err[600];
        snprintf(err, sizeof err, "output '%s' is also made from '%s'",
                 b->out, a->path);
        b->error = cmd_strdup(err);
    }
}
