/*
 * cmd/render.c: the renditions' settings (render_check), their recipes,
 * the plan that names every item's renditions (the names and the clash
 * rule are cmd/render_name.c), the requests to transform/ and the
 * report's "renditions" array. See render.h.
 */
#include "cmd/render.h"
#include "cmd/recipe.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int render_check(const char *cmd, struct cmd_image *img, int hash_ok)
{
    size_t per = nsizes(img) * nformats(img);
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
    int rc = render_check_name(cmd, img, hash_ok);
    if (rc)
        return rc;
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
