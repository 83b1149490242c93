/*
 * cmd/render.c: names, recipes and requests of renditions. See render.h.
 */
#include "cmd/render.h"
#include "cmd/recipe.h"
#include "cmd/shard.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const fields[] = {"dir", "stem", "ext", "format", "w",
                                     "h", "size", "hash"};
enum { F_DIR, F_STEM, F_EXT, F_FORMAT, F_W, F_H, F_SIZE, F_HASH, F_COUNT };

int render_active(const struct cmd_image *img)
{
    return img->nsizes > 0 || img->nformats > 1 || img->name_tmpl;
}

size_t render_per(const struct cmd_image *img)
{
    return (img->nsizes ? img->nsizes : 1) *
           (img->nformats ? img->nformats : 1);
}

static size_t nsizes(const struct cmd_image *img)
{
    return img->nsizes ? img->nsizes : 1;
}

static size_t nformats(const struct cmd_image *img)
{
    return img->nformats ? img->nformats : 1;
}

static enum ib_format format_at(const struct cmd_image *img, size_t k)
{
    return img->nformats ? img->formats[k] : img->eopts.format;
}

int render_size_at(const struct cmd_image *img, size_t k)
{
    return img->nsizes ? (int)(k / nformats(img)) : -1;
}

enum ib_format render_format_at(const struct cmd_image *img, size_t k)
{
    return format_at(img, k % nformats(img));
}

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

static char *name_of(const struct cmd_image *img, const char *planned,
                     const char *key, int hashed, const char *chash,
                     int si, enum ib_format f);

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

/* The names a template gives one made-up input, "d/s.jpg" (dir: top, or
 * in a folder): each must be valid and the renditions' all different. */
static int check_template(const char *cmd, const struct cmd_image *img,
                          int top)
{
    char *names[IB_RENDITIONS_MAX];
    size_t n = 0;
    int rc = 0;

    for (size_t si = 0; si < nsizes(img) && !rc; si++)
        for (size_t fi = 0; fi < nformats(img) && !rc; fi++) {
            enum ib_format f = format_at(img, fi);
            char planned[32];
            snprintf(planned, sizeof planned, "%ss.%s", top ? "" : "d/",
                     f == IB_FORMAT_UNKNOWN ? "jpg" : ib_format_ext(f) + 1);
            names[n] = name_of(img, planned, "k", 0, "00000000",
                               img->nsizes ? (int)si : -1, f);
            if (!names[n])
                return cmd_usage_error(cmd, "out of memory");
            const char *why = bad_name(names[n]);
            for (size_t k = 0; !why && k < n; k++)
                if (!strcmp(names[k], names[n]))
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

int render_check(const char *cmd, struct cmd_image *img, int hash_ok)
{
    size_t per = nsizes(img) * nformats(img);
    const char *t = img->name_tmpl;
    char msg[256];

    if (per > IB_RENDITIONS_MAX)
        return cmd_usage_error(cmd, "%zu sizes x %zu formats is %zu "
                               "renditions per input (at most %d)",
                               nsizes(img), nformats(img), per,
                               IB_RENDITIONS_MAX);
    for (size_t k = 0; img->nformats > 1 && k < img->nformats; k++)
        if (img->formats[k] == IB_FORMAT_UNKNOWN)
            return cmd_usage_error(cmd, "--format same cannot be one of "
                                   "several formats: name each");
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
    for (size_t k = 0; k < img->nsizes; k++) {
        struct ib_pipeline *q = ib_pipeline_new();
        const struct cmd_size *s = &img->sizes[k];
        char box[32];
        if (!q)
            return cmd_usage_error(cmd, "out of memory");
        img->size_pl[k] = q;
        if (img->filter && ib_pipeline_set_filter(q, img->filter, msg,
                                                  sizeof msg))
            return cmd_usage_error(cmd, "%s", msg);
        ib_pipeline_set_upscale(q, img->upscale);
        if (s->w && s->h)
            snprintf(box, sizeof box, "%ux%u", s->w, s->h);
        else if (s->w)
            snprintf(box, sizeof box, "%u", s->w);
        else
            snprintf(box, sizeof box, "x%u", s->h);
        if (ib_pipeline_add(q, "resize", box, msg, sizeof msg))
            return cmd_usage_error(cmd, "%s", msg);
    }
    return 0;
}

/* FNV-1a 64 of a file's bytes, as 8 hex digits; "00000000" unreadable. */
static void content_hash(const char *path, char hex[9])
{
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned char b[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    snprintf(hex, 9, "00000000");
    if (fd < 0)
        return;
    while ((n = read(fd, b, sizeof b)) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ b[i]) * 0x100000001b3ull;
    close(fd);
    snprintf(hex, 9, "%08" PRIx32, (uint32_t)(h ^ h >> 32));
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

/* Names item i's renditions (hashed: stems made unique by key). */
static int name_item(struct render_plan *rp, struct walk *w, size_t i,
                     const struct render_key *key)
{
    const struct cmd_image *img = rp->img;
    struct walk_item *it = &w->items[i];
    struct render_out *o = render_outs(rp, i);
    size_t la = strlen(w->out_root);
    int sep = la && w->out_root[la - 1] != '/';

    for (size_t k = 0; k < rp->per; k++) {
        enum ib_format f = ib_format_output(format_at(img, o[k].format),
                                            (enum ib_format)it->format);
        const char *why = NULL;
        char *name = render_name(img, &key->v, key->hashed, key->chash, k, f,
                                 &why);
        if (!name)
            return -1;
        if (why && !it->error) {
            char err[600];
            snprintf(err, sizeof err, "output name '%s' %s", name, why);
            it->error = strdup(err);
        }
        size_t n = la + sep + strlen(name) + 1;
        free(o[k].out);
        o[k].out = malloc(n);
        if (!o[k].out) {
            free(name);
            return -1;
        }
        snprintf(o[k].out, n, "%s%s%s", w->out_root, sep ? "/" : "", name);
        o[k].name = o[k].out + la + sep;
        free(name);
    }
    return 0;
}

/* Items sharing a name: hashed first, then failed. 0, or -1 no memory. */
static int settle_clashes(struct render_plan *rp, struct walk *w,
                          struct render_key *keys)
{
    for (size_t i = 0; i < w->n; i++)
        keys[i].skip = w->items[i].error != NULL;
    if (render_settle(rp->img, keys, w->n))
        return -1;
    for (size_t i = 0; i < w->n; i++) {
        struct walk_item *b = &w->items[i];
        if (keys[i].hashed && name_item(rp, w, i, &keys[i]))
            return -1;
        if (keys[i].clash && !b->error) {
            char err[600];
            snprintf(err, sizeof err, "output '%s' is also made from '%s'",
                     render_outs(rp, i)[0].out,
                     w->items[keys[i].clash - 1].path);
            b->error = strdup(err);
        }
    }
    return 0;
}

/*
 * What size si's bytes depend on besides its own box: the decode is
 * planned for the largest size and each size is made from a larger one
 * already made (transform/'s ib_transform_renditions), so its recipe
 * names the sizes that may feed it. With widths only (or heights only)
 * those are the larger ones: a new smaller size redoes nothing else, a
 * new largest redoes all. Mixed boxes name the whole list.
 */
static void size_recipe(const struct cmd_image *img, size_t si, char *buf,
                        size_t len)
{
    const struct cmd_size *me = &img->sizes[si];
    int widths = 1, heights = 1;
    size_t n = (size_t)snprintf(buf, len, "%s", me->text);

    for (size_t k = 0; k < img->nsizes; k++) {
        widths &= img->sizes[k].w && !img->sizes[k].h;
        heights &= img->sizes[k].h && !img->sizes[k].w;
    }
    const char *sep = " from=";
    for (size_t k = 0; k < img->nsizes && n < len; k++) {
        const struct cmd_size *o = &img->sizes[k];
        if (k == si || (widths && o->w < me->w) ||
            (heights && o->h < me->h))
            continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, o->text);
        sep = ",";
    }
}

uint64_t render_recipe(struct render_recipes *c, const struct cmd_image *img,
                       size_t k, enum ib_format f)
{
    int si = render_size_at(img, k);
    uint64_t *h = &c->h[f][si + 1];
    char size[IB_RENDITIONS_MAX * 24 + 64];

    if (!*h && si >= 0) {
        size_recipe(img, (size_t)si, size, sizeof size);
        *h = cmd_recipe_hash(img, f, size);
    } else if (!*h) {
        *h = cmd_recipe_hash(img, f, NULL);
    }
    return *h;
}

int render_plan_make(struct render_plan *rp, const struct cmd_image *img,
                     struct walk *w)
{
    struct render_recipes recipes;
    struct render_key *keys;
    int rc = -1;

    memset(rp, 0, sizeof *rp);
    memset(&recipes, 0, sizeof recipes);
    rp->img = img;
    rp->per = render_per(img);
    rp->nitems = w->n;
    rp->v = calloc((w->n ? w->n : 1) * rp->per, sizeof *rp->v);
    keys = calloc(w->n ? w->n : 1, sizeof *keys);
    if (!rp->v || !keys)
        goto out;
    for (size_t i = 0; i < w->n; i++) {
        struct walk_item *it = &w->items[i];
        struct render_out *o = render_outs(rp, i);
        struct render_key *key = &keys[i];
        key->v = (struct walk_name){it->rel, it->rel, 0, it->name_mode, 0};
        key->same = 1u << ib_format_output(IB_FORMAT_UNKNOWN, it->format);
        if (img->name_tmpl && strstr(img->name_tmpl, "{hash}") && !it->error)
            content_hash(it->path, key->chash);
        for (size_t k = 0; k < rp->per; k++) {
            o[k].size = render_size_at(img, k);
            o[k].format = (int)(k % nformats(img));
            enum ib_format f = ib_format_output(format_at(img, o[k].format),
                                                it->format);
            o[k].recipe = render_recipe(&recipes, img, k, f);
        }
        if (name_item(rp, w, i, key))
            goto out;
        /* the walk names a duplicate by its plain name: name a rendition */
        const char *from = it->error ? strstr(it->error, "' is also made "
                                                         "from '") : NULL;
        if (render_active(img) && from && !strncmp(it->error, "output '", 8)) {
            size_t n = strlen(o[0].out) + strlen(from) + 16;
            char *e = malloc(n);
            if (!e)
                goto out;
            snprintf(e, n, "output '%s%s", o[0].out, from);
            free(it->error);
            it->error = e;
        }
    }
    rc = render_active(img) ? settle_clashes(rp, w, keys) : 0;
out:
    free(keys);
    return rc;
}

void render_plan_release(struct render_plan *rp)
{
    for (size_t k = 0; rp->v && k < rp->nitems * rp->per; k++)
        free(rp->v[k].out);
    free(rp->v);
    rp->v = NULL;
}

void render_request(const struct cmd_image *img, size_t k, const char *name,
                    int skip, struct ib_rendition *r)
{
    int si = render_size_at(img, k);
    *r = (struct ib_rendition){
        .size = si >= 0 ? img->size_pl[si] : NULL,
        .name = name,
        .eopts = img->eopts,
        .skip = skip,
    };
    r->eopts.format = render_format_at(img, k);
}

void render_requests(const struct render_plan *rp, size_t item,
                     struct ib_rendition *r)
{
    const struct render_out *o = render_outs(rp, item);
    for (size_t k = 0; k < rp->per; k++)
        render_request(rp->img, k, o[k].name, o[k].fresh, &r[k]);
}

void render_report_one(struct cmd_json *j, const struct cmd_image *img,
                       size_t k, const char *path,
                       const struct ib_rendition_result *rr, const char *st)
{
    int si = render_size_at(img, k);
    cmd_json_object_begin(j, NULL);
    cmd_json_str(j, "output", path);
    if (rr && rr->status == 0) {
        st = "ok";
        cmd_json_str(j, "format", ib_format_name(rr->format));
        cmd_json_int(j, "width", rr->width);
        cmd_json_int(j, "height", rr->height);
        cmd_json_int(j, "bytes", rr->bytes);
    } else if (rr && rr->status < 0) {
        st = "failed";
    } else if (rr && rr->status == 1) {
        st = "skipped";
    } else if (rr && rr->status == 2) {
        st = "not_run";
    }
    if (si >= 0)
        cmd_json_str(j, "size", img->sizes[si].text);
    cmd_json_str(j, "status", st);
    cmd_json_object_end(j);
}

void render_report(const struct render_plan *rp, size_t item,
                   const struct ib_rendition_result *rr, const char *none,
                   struct cmd_json *j)
{
    const struct render_out *o = render_outs(rp, item);
    cmd_json_array_begin(j, "renditions");
    for (size_t k = 0; k < rp->per; k++)
        render_report_one(j, rp->img, k, o[k].out, rr ? &rr[k] : NULL,
                          o[k].fresh ? "skipped" : none);
    cmd_json_array_end(j);
}
