/*
 * cmd/run_item.c: one item of imgbatch run, from its URL to its output:
 * the list, the slot a worker reads and the task. The journal and the
 * claims on output names are in cmd/run_journal.c. See cmd/run.h and
 * cmd/run_int.h.
 */
#include "cmd/cmd.h"
#include "cmd/recipe.h"
#include "cmd/run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends url and its list name (NULL: none) to the arrays v and nv. */
static void push_url(char ***v, char ***nv, size_t *n, size_t *cap,
                     const char *url, const char *name)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        char **u = realloc(*v, c * sizeof *u);
        if (u)
            *v = u;
        char **m = realloc(*nv, c * sizeof *m);
        if (!u || !m)
            abort();
        *nv = m;
        *cap = c;
    }
    (*nv)[*n] = name ? cmd_strdup(name) : NULL;
    (*v)[(*n)++] = cmd_strdup(url);
}

static void free_others(struct run_list *l)
{
    for (size_t i = 0; i < l->nothers; i++) {
        free(l->others[i]);
        free(l->othernames[i]);
    }
    free(l->others);
    free(l->othernames);
    l->others = l->othernames = NULL;
    l->nothers = l->capothers = 0;
}

int run_list_read(struct run_list *l, const char *path,
                  const struct cmd_shard *shard)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    const char *url, *name;
    int r;

    memset(l, 0, sizeof *l);
    if (!f) {
        fprintf(stderr, "imgbatch run: cannot read '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    struct ib_fetch_list *fl = ib_fetch_list_new(f);
    while (fl && (r = ib_fetch_list_next(fl, &url, &name)) > 0) {
        if (!cmd_shard_has(shard, url)) {
            l->other_shards++;
            push_url(&l->others, &l->othernames, &l->nothers, &l->capothers,
                     url, name);
            continue;
        }
        push_url(&l->urls, &l->names, &l->n, &l->cap, url, name);
    }
    int bad = !fl || ferror(f);
    ib_fetch_list_free(fl);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "imgbatch run: cannot read '%s'\n", path);
        run_list_release(l);
        return -1;
    }
    return 0;
}

void run_list_release(struct run_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->urls[i]);
        free(l->names[i]);
        if (l->base)
            free(l->base[i]);
    }
    free(l->urls);
    free(l->names);
    free_others(l);
    free(l->plan);
    free(l->base);
    free(l->slot);
    free(l->rflags);
    memset(l, 0, sizeof *l);
}

/*
 * transform's clash rule over the renditions' names (render_settle), for
 * every URL of every shard (they share OUT); this shard's get rflags.
 */
static void plan_renditions(struct run_list *l, const struct cmd_image *img,
                            size_t all)
{
    struct render_key *keys = calloc(all ? all : 1, sizeof *keys);
    l->rflags = calloc(l->n ? l->n : 1, 1);
    if (!keys || !l->rflags)
        abort();
    for (size_t i = 0; i < all; i++)
        keys[i] = (struct render_key){.v = l->plan[i],
                                      .same = l->plan[i].formats,
                                      .skip = l->plan[i].clash};
    if (render_settle(img, keys, all))
        abort();
    for (size_t i = 0; i < l->n; i++)
        l->rflags[i] = (unsigned char)((keys[i].hashed ? RUN_HASHED : 0) |
                                       (keys[i].clash ? RUN_CLASH : 0));
    free(keys);
}

void run_list_plan(struct run_list *l, const struct run_settings *s)
{
    enum ib_format fixed = s->img.eopts.format;
    size_t all = l->n + l->nothers;
    unsigned writable = 0;
    for (int f = 0; f < IB_FORMAT_COUNT; f++)
        if (ib_format_can_write((enum ib_format)f))
            writable |= 1u << f;
    l->nslot = 16;
    while (l->nslot < 2 * l->n)
        l->nslot *= 2;
    /* this shard's URLs first, then the others' */
    l->plan = calloc(all ? all : 1, sizeof *l->plan);
    l->base = calloc(all ? all : 1, sizeof *l->base);
    l->slot = calloc(l->nslot, sizeof *l->slot);
    if (!l->plan || !l->base || !l->slot)
        abort();
    for (size_t i = 0; i < all; i++) {
        const char *url = i < l->n ? l->urls[i] : l->others[i - l->n];
        const char *given = i < l->n ? l->names[i] : l->othernames[i - l->n];
        char name[IB_FETCH_NAMEMAX + 1];
        /* a name the list gives is the download's, and the output's base;
         * a bad one fails its item in fetch, before it needs an output */
        if (given && !ib_fetch_name_check(given, NULL, 0))
            snprintf(name, sizeof name, "%s", given);
        else
            ib_fetch_name(url, name);
        l->base[i] = cmd_strdup(name);
        /* same: the content decides, unless the name already says */
        enum ib_format f = ib_format_output(fixed, ib_name_format(name));
        unsigned formats = f != IB_FORMAT_UNKNOWN ? 1u << f : writable;
        for (size_t k = 1; k < s->img.nformats; k++)
            formats |= 1u << s->img.formats[k];
        l->plan[i] = (struct walk_name){l->base[i], url, formats, 0, 0};
    }
    walk_names_plan(l->plan, all);
    if (render_active(&s->img))
        plan_renditions(l, &s->img, all);
    /* the other shards' URLs were needed for the plan only */
    for (size_t i = l->n; i < all; i++)
        free(l->base[i]);
    free_others(l);
    for (size_t i = 0; i < l->n; i++) {
        size_t k = (size_t)cmd_shard_hash(l->urls[i]) & (l->nslot - 1);
        while (l->slot[k] && strcmp(l->urls[l->slot[k] - 1], l->urls[i]))
            k = (k + 1) & (l->nslot - 1);
        if (!l->slot[k])
            l->slot[k] = i + 1;
    }
}

/* url's plan, or NULL if url is not in the list. */
static const struct walk_name *plan_of(const struct run_list *l,
                                       const char *url)
{
    if (!l->slot)
        return NULL;
    size_t k = (size_t)cmd_shard_hash(url) & (l->nslot - 1);
    while (l->slot[k]) {
        if (!strcmp(l->urls[l->slot[k] - 1], url))
            return &l->plan[l->slot[k] - 1];
        k = (k + 1) & (l->nslot - 1);
    }
    return NULL;
}

/* The input's format by content, when some output's format is "same". */
static enum ib_format in_format(const struct run_settings *s,
                                const char *path)
{
    unsigned char b[IB_FORMAT_SNIFF_LEN];
    if (s->img.eopts.format != IB_FORMAT_UNKNOWN)
        return IB_FORMAT_UNKNOWN;   /* not needed: every one is named */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (fd >= 0)
        close(fd);
    return n > 0 ? ib_format_sniff(b, (size_t)n) : IB_FORMAT_UNKNOWN;
}

int run_item_fill(const struct run_settings *s, struct run_list *l,
                  struct run_item *item, const char *url, const char *file,
                  const char *path, char *msg, size_t msglen)
{
    const struct cmd_image *img = &s->img;
    size_t per = render_per(img);
    enum ib_format in = in_format(s, path), f[IB_RENDITIONS_MAX];
    const struct walk_name *v = plan_of(l, url);
    struct walk_name w;
    unsigned flags = 0;

    for (size_t k = 0; k < per; k++)
        f[k] = ib_format_output(render_format_at(img, k), in);
    if (v && l->rflags)
        flags = l->rflags[v - l->plan];
    if (v)
        w = *v;
    else   /* not in the plan: cannot happen */
        w = (struct walk_name){file, url, 1u << f[0], WALK_NAME_PLAIN, 0};
    if (w.clash || flags & RUN_CLASH) {
        snprintf(msg, msglen, "no free output name for '%s'", file);
        return -1;
    }
    /*
     * The plan covered the formats the outputs could take; content that
     * says otherwise (a ".png" holding a JPEG) gets the hashed name, made
     * from this URL alone.
     */
    for (size_t k = 0; k < per; k++)
        if (!(w.formats & 1u << f[k]))
            w.mode = WALK_NAME_HASHED;
    memset(item, 0, run_item_size(per));
    int n1 = snprintf(item->in, sizeof item->in, "%s", file);
    if (n1 < 0 || (size_t)n1 >= sizeof item->in) {
        snprintf(msg, msglen, "name '%s' is too long", file);
        return -1;
    }
    for (size_t k = 0; k < per; k++) {
        struct run_slot *slot = &item->out[k];
        const char *why = NULL;
        char *out = render_name(img, &w, flags & RUN_HASHED, "", k, f[k],
                                &why);
        if (!out)
            abort();
        int n2 = snprintf(slot->out, sizeof slot->out, "%s", out);
        if (n2 < 0 || (size_t)n2 >= sizeof slot->out)
            snprintf(msg, msglen, "output name '%s' is too long (at most "
                     "%zu bytes)", out, sizeof slot->out - 1);
        else if (why && render_active(img))
            snprintf(msg, msglen, "output name '%s' %s", out, why);
        free(out);
        if (n2 < 0 || (size_t)n2 >= sizeof slot->out ||
            (why && render_active(img)))
            return -1;
        slot->recipe = render_recipe(&l->recipes, img, k, f[k]);
    }
    return 0;
}

/*
 * A 64-bit hash of the file's bytes, 8 at a time (a journal key, not a
 * defence: an attacker who controls the bytes controls the output anyway).
 */
static int hash_file(const char *path, uint64_t *out)
{
    unsigned char buf[1 << 16];
    uint64_t h = 0x9e3779b97f4a7c15u, len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        size_t i = 0;
        for (; i + 8 <= (size_t)n; i += 8) {
            uint64_t w;
            memcpy(&w, buf + i, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdu;
            h ^= h >> 32;
        }
        for (; i < (size_t)n; i++)
            h = (h ^ buf[i]) * 0x100000001b3u;
        len += (uint64_t)n;
    }
    close(fd);
    h ^= len;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    *out = h ? h : 1;   /* 0 means "no journal entry" */
    return 0;
}

static void put_done(struct run_done *d, uint64_t hash, uint64_t recipe,
                     const struct stat *st)
{
    *d = (struct run_done){hash, (uint64_t)st->st_size, st->st_mtim.tv_sec,
                           st->st_mtim.tv_nsec, recipe};
}

/* Same bytes and recipe as made slot's output, untouched since: up to
 * date, restamped with in's mtime and recorded. 1 if so. */
static int slot_fresh(const char *in, const char *out, struct run_slot *slot,
                      uint64_t hash)
{
    struct stat st;
    if (slot->prev_hash == hash && slot->prev_recipe == slot->recipe &&
        !stat(out, &st) &&
        (uint64_t)st.st_size == slot->prev_size &&
        st.st_mtim.tv_sec == slot->prev_sec &&
        st.st_mtim.tv_nsec == slot->prev_nsec &&
        !cmd_output_stamp(in, out) && !stat(out, &st)) {
        put_done(&slot->done, hash, slot->recipe, &st);
        slot->rr.status = 1;
        return 1;
    }
    return 0;
}

int run_item_task(const struct run_settings *s, struct run_item *item,
                  struct run_result *res, char *msg, size_t msglen)
{
    const struct cmd_image *img = &s->img;
    size_t per = render_per(img), fresh = 0;
    char *in = cmd_path_join(s->dl_dir, item->in), *out[IB_RENDITIONS_MAX];
    struct ib_rendition r[IB_RENDITIONS_MAX];
    struct ib_rendition_result rr[IB_RENDITIONS_MAX];
    struct ib_transform_result t;
    struct stat st;
    uint64_t hash;
    int rc = 1;
    /* the pool closed what the worker inherited: OUT is opened again */
    struct ib_out dst = {.root = -1, .shown = s->o.out,
                         .no_fsync = s->o.oo.no_fsync};

    memset(res, 0, sizeof *res);
    for (size_t k = 0; k < per; k++) {
        out[k] = cmd_path_join(s->o.out, item->out[k].out);
        item->out[k].rr = (struct ib_rendition_result){.status = 2};
    }
    if (hash_file(in, &hash)) {
        snprintf(msg, msglen, "cannot read '%s': %s", in, strerror(errno));
        goto out;
    }
    for (size_t k = 0; k < per; k++) {
        int up = slot_fresh(in, out[k], &item->out[k], hash);
        fresh += up;
        render_request(img, k, item->out[k].out, up, &r[k]);
    }
    rc = 0;
    if (fresh == per)
        goto out;
    rc = 1;
    dst.root = open(s->o.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst.root < 0) {
        snprintf(msg, msglen, "cannot open '%s': %s", s->o.out,
                 strerror(errno));
        goto out;
    }
    rc = ib_transform_renditions(in, &dst, &img->dopts, img->pipeline, r,
                                 per, &t, rr, msg, msglen) != 0;
    for (size_t k = 0; k < per; k++) {
        struct run_slot *slot = &item->out[k];
        slot->rr = rr[k];
        if (rr[k].status != 0)
            continue;
        if (cmd_output_stamp(in, out[k]) || stat(out[k], &st)) {
            if (!rc)
                snprintf(msg, msglen, "cannot stamp '%s': %s", out[k],
                         strerror(errno));
            slot->rr.status = IB_TRANSFORM_EIO;
            rc = 1;
            continue;
        }
        put_done(&slot->done, hash, slot->recipe, &st);
    }
    *res = (struct run_result){1, {t.in_w, t.in_h, t.out_w, t.out_h}};
out:
    if (dst.root >= 0)
        close(dst.root);
    free(in);
    for (size_t k = 0; k < per; k++)
        free(out[k]);
    return rc;
}

int run_item_unchanged(const struct run_settings *s,
                       const struct run_item *item, const char *dl)
{
    for (size_t k = 0; k < render_per(&s->img); k++) {
        const struct run_slot *slot = &item->out[k];
        char *out = cmd_path_join(s->o.out, slot->out);
        int fresh = slot->prev_recipe == slot->recipe &&
                    cmd_output_fresh(dl, out);
        free(out);
        if (!fresh)
            return 0;
    }
    return 1;
}

void run_item_say(const struct run_settings *s, const struct run_item *item)
{
    const char *sep = " -> ";
    size_t fresh = 0;
    for (size_t k = 0; k < render_per(&s->img); k++) {
        const struct ib_rendition_result *rr = &item->out[k].rr;
        if (rr->status != 0) {
            fresh++;
            continue;
        }
        fprintf(stderr, "%s'%s/%s' (%" PRIu32 "x%" PRIu32 ")", sep,
                s->o.out, item->out[k].out, rr->width, rr->height);
        sep = ", ";
    }
    if (fresh)
        fprintf(stderr, "; %zu up to date", fresh);
    fputc('\n', stderr);
}

void run_item_report(struct cmd_json *j, const struct run_settings *s,
                     const struct run_item *item, int results,
                     const char *none)
{
    if (!item)
        return;   /* named no output */
    cmd_json_array_begin(j, "renditions");
    for (size_t k = 0; k < render_per(&s->img); k++) {
        char *out = cmd_path_join(s->o.out, item->out[k].out);
        render_report_one(j, &s->img, k, out,
                          results ? &item->out[k].rr : NULL, none);
        free(out);
    }
    cmd_json_array_end(j);
}
