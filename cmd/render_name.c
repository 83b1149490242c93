/*
 * cmd/render_name.c: the renditions' names (cmd/render.h): the --name
 * template (its fields, its expansion, its checks), the name of one
 * rendition of one item, and the clash rule, render_settle, that decides
 * from the whole list which items' stems are hashed and which fail.
 */
#include "cmd/render.h"
#include "cmd/shard.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fields[] = {"dir", "stem", "ext", "format", "w",
                                     "h", "size", "hash"};
enum { F_DIR, F_STEM, F_EXT, F_FORMAT, F_W, F_H, F_SIZE, F_HASH, F_COUNT };

/* The field "{name}" at t (just past the '{'): its index and length, or
 * -1 when t does not start a known field. */
static int field_at(const char *t, size_t *len)
{
    for (int f = 0; f < F_COUNT; f++) {
        size_t n = strlen(fields[f]);
        if (!strncmp(t, fields[f], n) && t[n] == '}') {
            *len = n + 1;
            return f;
        }
    }
    return -1;
}

/* Expands t with the values v[F_COUNT]: malloc'd, NULL out of memory.
 * "{dir}/" adds nothing when dir is "". */
static char *expand(const char *t, const char *const v[F_COUNT])
{
    size_t cap = strlen(t) + 1, n = 0;
    for (int f = 0; f < F_COUNT; f++)
        cap += 4 * strlen(v[f]) + 8;   /* each field at most a few times */
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = t; *p;) {
        size_t len;
        int f = *p == '{' ? field_at(p + 1, &len) : -1;
        if (f < 0) {
            if (n + 1 < cap)
                out[n++] = *p;
            p++;
            continue;
        }
        p += 1 + len;
        size_t vl = strlen(v[f]);
        if (n + vl < cap) {
            memcpy(out + n, v[f], vl);
            n += vl;
        }
        if (f == F_DIR && !vl && *p == '/')
            p++;
    }
    out[n] = '\0';
    return out;
}

/*
 * Why an expanded name cannot be an output's, or NULL: it must be a path
 * below OUT with no empty, "." or ".." part, and no part starting with
 * '.', the tool's own (records, the lock, temp files).
 */
static const char *bad_name(const char *n)
{
    if (*n == '/')
        return "starts with '/'";
    for (const char *p = n;;) {
        size_t len = strcspn(p, "/");
        if (len == 0)
            return "has an empty folder name ('//' or a '/' at the end)";
        if (*p == '.')
            return "has a part starting with '.' (kept for imgbatch's own "
                   "files)";
        if (!p[len])
            return NULL;
        p += len + 1;
    }
}

/*
 * Rendition (size si, format f) of the item whose planned name (in f) is
 * planned: by the template, with the stem made unique by key when
 * hashed. malloc'd, NULL out of memory.
 */
static char *name_of(const struct cmd_image *img, const char *planned,
                     const char *key, int hashed, const char *chash,
                     int si, enum ib_format f)
{
    const char *tmpl = img->name_tmpl;
    if (!tmpl && img->nsizes <= 1)
        return strdup(planned);
    if (!tmpl)
        tmpl = "{dir}/{stem}-{size}.{ext}";
    const char *slash = strrchr(planned, '/');
    size_t dl = slash ? (size_t)(slash - planned) : 0;
    const char *base = slash ? slash + 1 : planned;
    size_t e = ib_name_ext(base);
    char *dir = strndup(planned, dl), *stem = NULL;
    char w[16] = "", h[16] = "", khex[9];
    const struct cmd_size *sz = si >= 0 ? &img->sizes[si] : NULL;
    uint64_t kh = cmd_shard_hash(key);

    snprintf(khex, sizeof khex, "%08" PRIx32, (uint32_t)(kh ^ kh >> 32));
    if (dir)
        stem = malloc(e + 10);
    if (!stem) {
        free(dir);
        return NULL;
    }
    snprintf(stem, e + 10, "%.*s%s%s", (int)e, base, hashed ? "-" : "",
             hashed ? khex : "");
    if (sz && sz->w)
        snprintf(w, sizeof w, "%u", sz->w);
    if (sz && sz->h)
        snprintf(h, sizeof h, "%u", sz->h);
    const char *v[F_COUNT] = {dir, stem, base[e] ? base + e + 1 : "",
                              ib_format_name(f), w, h, sz ? sz->text : "",
                              chash};
    char *out = expand(tmpl, v);
    free(dir);
    free(stem);
    return out;
}

/* The names a template gives one made-up input, "d/s.jpg" (dir: top, or
 * in a folder): each must be valid and the renditions' all different. */
static int check_template(const char *cmd, const struct cmd_image *img,
                          int top)
{
    char *names[IB_RENDITIONS_MAX];
    size_t n = 0;
    int rc = 0;

    for (size_t k = 0; k < render_per(img) && !rc; k++) {
        enum ib_format f = render_format_at(img, k);
        char planned[32];
        snprintf(planned, sizeof planned, "%ss.%s", top ? "" : "d/",
                 f == IB_FORMAT_UNKNOWN ? "jpg" : ib_format_ext(f) + 1);
        names[n] = name_of(img, planned, "k", 0, "00000000",
                           render_size_at(img, k), f);
        if (!names[n])
            return cmd_usage_error(cmd, "out of memory");
        const char *why = bad_name(names[n]);
        for (size_t i = 0; !why && i < n; i++)
            if (!strcmp(names[i], names[n]))
                why = "is the same for two renditions of one input (use "
                      "{size}, {w} or {h} for sizes, {ext} or {format} "
                      "for formats)";
        n++;
        if (why)
            rc = cmd_usage_error(cmd, "invalid --name '%s': '%s' %s",
                                 img->name_tmpl, names[n - 1], why);
    }
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    return rc;
}

int render_check_name(const char *cmd, const struct cmd_image *img,
                      int hash_ok)
{
    const char *t = img->name_tmpl;

    if (t) {
        int used[F_COUNT] = {0};
        if (!*t || *t == '/')
            return cmd_usage_error(cmd, "invalid --name '%s' (a path below "
                                   "the output folder)", t);
        for (const char *p = t; *p; p++) {
            size_t len;
            int f;
            if (*p != '{')
                continue;
            f = field_at(p + 1, &len);
            if (f < 0)
                return cmd_usage_error(cmd, "invalid --name '%s': unknown "
                                       "field at '%.12s' ({dir} {stem} {ext}"
                                       " {format} {w} {h} {size} {hash})",
                                       t, p);
            used[f] = 1;
        }
        for (size_t k = 0; k < img->nsizes; k++)
            if ((used[F_W] && !img->sizes[k].w) ||
                (used[F_H] && !img->sizes[k].h))
                return cmd_usage_error(cmd, "--name '%s' uses {%s} but size "
                                       "'%s' gives none", t,
                                       used[F_W] && !img->sizes[k].w
                                           ? "w" : "h",
                                       img->sizes[k].text);
        if ((used[F_W] || used[F_H] || used[F_SIZE]) && !img->nsizes)
            return cmd_usage_error(cmd, "--name '%s' uses a size field but "
                                   "no --size or --width is given", t);
        if (used[F_HASH] && !hash_ok)
            return cmd_usage_error(cmd, "invalid --name '%s': {hash} is not "
                                   "supported by %s (outputs are named "
                                   "before their input is downloaded)", t,
                                   cmd);
    }
    if (render_active(img) &&
        (check_template(cmd, img, 0) || check_template(cmd, img, 1)))
        return EXIT_USAGE;
    return 0;
}

char *render_name(const struct cmd_image *img, const struct walk_name *v,
                  int hashed, const char *chash, size_t k, enum ib_format f,
                  const char **why)
{
    char *planned = walk_name_make(v, v->mode, (int)f);
    char *name = planned ? name_of(img, planned, v->key, hashed, chash,
                                   render_size_at(img, k), f) : NULL;
    free(planned);
    if (name && why)
        *why = bad_name(name);
    return name;
}

struct ref {
    char *name;       /* owned */
    size_t item;
};

static int ref_cmp(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->item > y->item) - (x->item < y->item);
}

/* Every name item i's renditions may take, appended to *r (of *m, room
 * for *cap). 0, or -1 out of memory. */
static int item_refs(const struct cmd_image *img, const struct render_key *key,
                     size_t i, struct ref **r, size_t *m, size_t *cap)
{
    for (size_t k = 0; k < render_per(img); k++) {
        enum ib_format g = render_format_at(img, k);
        unsigned fs = g != IB_FORMAT_UNKNOWN ? 1u << g : key->same;
        for (int f = 0; f < IB_FORMAT_COUNT; f++) {
            if (!(fs & 1u << f))
                continue;
            if (*m == *cap) {
                size_t c = *cap ? 2 * *cap : 256;
                struct ref *p = realloc(*r, c * sizeof *p);
                if (!p)
                    return -1;
                *r = p;
                *cap = c;
            }
            char *name = render_name(img, &key->v, key->hashed, key->chash,
                                     k, (enum ib_format)f, NULL);
            if (!name)
                return -1;
            (*r)[(*m)++] = (struct ref){name, i};
        }
    }
    return 0;
}

#define RENDER_SETTLE_ROUNDS 8

int render_settle(const struct cmd_image *img, struct render_key *keys,
                  size_t n)
{
    struct ref *r = NULL;
    size_t m = 0, cap = 0;
    int rc = 0;

    /*
     * Each round hashes the items of a clash not hashed yet, and names
     * again: a hashed name may meet another item's plain one (a file
     * named x-1a2b3c4d.jpg beside x.jpg), which is then hashed too. Every
     * round but the last hashes one item more, so this ends; a clash of
     * two hashed names, or one left at the cap (a list made to chain
     * them), fails the later item.
     */
    for (int round = 0; round < RENDER_SETTLE_ROUNDS && !rc; round++) {
        int again = 0, last = round == RENDER_SETTLE_ROUNDS - 1;
        m = 0;
        for (size_t i = 0; i < n && !rc; i++) {  /* a failed item claims none */
            keys[i].clash = 0;
            if (!keys[i].skip)
                rc = item_refs(img, &keys[i], i, &r, &m, &cap);
        }
        if (!rc && m > 1)
            qsort(r, m, sizeof *r, ref_cmp);
        for (size_t k = 1; !rc && k < m; k++) {
            size_t a = r[k - 1].item, b = r[k].item;
            if (a == b || strcmp(r[k - 1].name, r[k].name))
                continue;   /* one item's own formats may share a name */
            if (!last && (!keys[a].hashed || !keys[b].hashed)) {
                keys[a].hashed = keys[b].hashed = 1;
                again = 1;
            } else if (!keys[b].clash) {
                keys[b].clash = a + 1;
            }
        }
        for (size_t k = 0; k < m; k++)
            free(r[k].name);
        if (!again)
            break;
    }
    free(r);
    return rc;
}
