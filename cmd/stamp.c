/*
 * cmd/stamp.c: is an output up to date with its input and its recipe?
 *
 * An output carries its input's modification time (to the nanosecond) as
 * its own: a changed input (any write moves its mtime) makes it stale. The
 * stamp is set after the rename, so a kill between the two leaves a stale
 * output: the rerun redoes it, which is the safe direction.
 *
 * What the mtime cannot say is which options made the output; transform
 * keeps that in the output's extended attributes, or where there are none
 * in a small record beside the outputs (see cmd/recipe.h).
 */
#include "cmd/cmd.h"
#include "cmd/recipe.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR "user.imgbatch.recipe"

int cmd_output_fresh(const char *in, const char *out)
{
    struct stat si, so;
    if (stat(in, &si) || stat(out, &so))
        return 0;
    return si.st_mtim.tv_sec == so.st_mtim.tv_sec &&
           si.st_mtim.tv_nsec == so.st_mtim.tv_nsec;
}

int cmd_output_stamp(const char *in, const char *out)
{
    struct stat si;
    if (stat(in, &si))
        return -1;
    struct timespec ts[2] = {si.st_mtim, si.st_mtim};
    return utimensat(AT_FDCWD, out, ts, 0);
}

struct stamp {
    char *name;       /* owned */
    uint64_t recipe;
    size_t seq;       /* line number: of one name's lines the last wins */
};

struct cmd_stamps {
    char *path;            /* owned: the record, for file systems */
    struct stamp *v;       /* owned: sorted by name, one per name */
    size_t n;              /* without extended attributes */
};

static int stamp_cmp(const void *a, const void *b)
{
    const struct stamp *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int name_cmp(const void *a, const void *b)
{
    const struct stamp *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static void free_stamps(struct stamp *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* A name may hold any byte but NUL: '\\' and '\n' are escaped. */
static char *escape(const char *name)
{
    char *e = malloc(2 * strlen(name) + 1), *p = e;
    if (!e)
        return NULL;
    for (; *name; name++) {
        if (*name == '\\' || *name == '\n')
            *p++ = '\\';
        *p++ = *name == '\n' ? 'n' : *name;
    }
    *p = '\0';
    return e;
}

static void unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s == '\\' && (s[1] == '\\' || s[1] == 'n'))
            *w++ = *++s == 'n' ? '\n' : '\\';
        else
            *w++ = *s;
    }
    *w = '\0';
}

/* All of path's well-formed lines, one per name; *v NULL if none. */
static int load(const char *path, struct stamp **out, size_t *nout)
{
    FILE *f = fopen(path, "r");
    struct stamp *v = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;

    *out = NULL;
    *nout = 0;
    if (!f)
        return errno == ENOENT ? 0 : -1;
    while ((len = getline(&line, &lcap, f)) > 0) {
        uint64_t h;
        int used = 0;
        /* a line cut by a kill has no newline: ignored */
        if (line[len - 1] != '\n' ||
            sscanf(line, "%16" SCNx64 "%n", &h, &used) != 1 || used != 16 ||
            line[16] != '\t' || !h)
            continue;
        line[len - 1] = '\0';
        unescape(line + 17);
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            struct stamp *nv = realloc(v, cap * sizeof *v);
            if (!nv)
                abort();
            v = nv;
        }
        v[n].name = strdup(line + 17);
        if (!v[n].name)
            abort();
        v[n].recipe = h;
        v[n].seq = n;
        n++;
    }
    free(line);
    fclose(f);
    if (n)
        qsort(v, n, sizeof *v, stamp_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && !strcmp(v[kept - 1].name, v[i].name)) {
            free(v[kept - 1].name);
            v[kept - 1] = v[i];
        } else {
            v[kept++] = v[i];
        }
    }
    *out = v;
    *nout = kept;
    return 0;
}

struct cmd_stamps *cmd_stamps_open(const char *dir, const char *file,
                                   char *msg, size_t msglen)
{
    struct cmd_stamps *st = calloc(1, sizeof *st);
    size_t n = strlen(dir) + strlen(file) + 2;
    char *path = malloc(n);
    if (!st || !path) {
        free(st);
        free(path);
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    snprintf(path, n, "%s/%s", dir, file);
    st->path = path;
    if (load(st->path, &st->v, &st->n)) {
        snprintf(msg, msglen, "cannot read '%s': %s", st->path,
                 strerror(errno));
        free(st->path);
        free(st);
        return NULL;
    }
    return st;
}

/* The recipe in out's attribute, else in the record; 0 if neither. */
static uint64_t recorded(const struct cmd_stamps *st, const char *out,
                         const char *name)
{
    char v[17];
    uint64_t h;
    int used = 0;
    ssize_t n = getxattr(out, XATTR, v, sizeof v - 1);
    if (n == 16) {
        v[16] = '\0';
        if (sscanf(v, "%16" SCNx64 "%n", &h, &used) == 1 && used == 16)
            return h;
    }
    struct stamp key = {.name = (char *)name};
    const struct stamp *e =
        st->n ? bsearch(&key, st->v, st->n, sizeof *st->v, name_cmp) : NULL;
    return e ? e->recipe : 0;
}

int cmd_stamps_fresh(const struct cmd_stamps *st, const char *in,
                     const char *out, const char *name, uint64_t recipe)
{
    return recorded(st, out, name) == recipe && cmd_output_fresh(in, out);
}

const char *cmd_stamps_why(const struct cmd_stamps *st, const char *in,
                           const char *out, const char *name,
                           uint64_t recipe)
{
    struct stat so;
    if (lstat(out, &so))
        return "not made yet";
    uint64_t r = recorded(st, out, name);
    if (r != recipe)
        return r ? "its recipe changed" : "its recipe is unknown";
    return cmd_output_fresh(in, out) ? NULL : "its input changed";
}

void cmd_stamps_discard(struct cmd_stamps *st)
{
    if (!st)
        return;
    free_stamps(st->v, st->n);
    free(st->path);
    free(st);
}

/* Appends "<recipe>\t<name>" to the record: the fallback. 0 or -1. */
static int append(const struct cmd_stamps *st, const char *name,
                  uint64_t recipe)
{
    char *esc = escape(name);
    size_t n = esc ? strlen(esc) + 19 : 0;
    char *line = esc ? malloc(n) : NULL;
    int fd = -1, rc = -1;
    if (!line)
        goto out;
    int len = snprintf(line, n, "%016" PRIx64 "\t%s\n", recipe, esc);
    /* open per line: workers may be threads; O_APPEND + one write() keeps
     * each line whole among them */
    fd = open(st->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd >= 0 && write(fd, line, (size_t)len) == len)
        rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(line);
    free(esc);
    return rc;
}

int cmd_stamps_stamp(struct cmd_stamps *st, const char *in, const char *out,
                     const char *name, uint64_t recipe)
{
    char v[17];
    snprintf(v, sizeof v, "%016" PRIx64, recipe);
    if (setxattr(out, XATTR, v, 16, 0) &&
        (errno != ENOTSUP || append(st, name, recipe)))
        return -1;
    return cmd_output_stamp(in, out);
}

/* Rewrites the record with one line per name, the workers' lines too. */
static int compact(const char *path)
{
    struct stamp *v;
    size_t n;
    if (load(path, &v, &n))
        return -1;
    size_t plen = strlen(path) + 8;
    char *tmp = malloc(plen);
    if (!tmp) {
        free_stamps(v, n);
        return -1;
    }
    snprintf(tmp, plen, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int bad = !f;
    if (!f && fd >= 0)
        close(fd);
    for (size_t i = 0; f && i < n; i++) {
        char *esc = escape(v[i].name);
        bad |= !esc || fprintf(f, "%016" PRIx64 "\t%s\n", v[i].recipe,
                               esc) < 0;
        free(esc);
    }
    if (f)
        bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        int e = errno;
        if (fd >= 0)
            unlink(tmp);
        errno = e;
        bad = 1;
    }
    free(tmp);
    free_stamps(v, n);
    return bad ? -1 : 0;
}

int cmd_stamps_close(struct cmd_stamps *st, char *msg, size_t msglen)
{
    int rc = 0;
    if (!st)
        return 0;
    /* only where the fallback was used, now or before */
    if (!access(st->path, F_OK) && compact(st->path)) {
        if (msg)
            snprintf(msg, msglen, "cannot rewrite '%s': %s", st->path,
                     strerror(errno));
        rc = -1;
    }
    free_stamps(st->v, st->n);
    free(st->path);
    free(st);
    return rc;
}
