/*
 * cmd/run_item.c: one item of imgbatch run, from its URL to its output:
 * the list, the slot a worker reads and the task. The journal and the
 * claims on output names are in cmd/run_journal.c. See cmd/run.h.
 */
#include "cmd/cmd.h"
#include "cmd/recipe.h"
#include "cmd/run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *run_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();   /* a name or a URL: out of memory here is fatal */
    return d;
}

char *run_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

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
    (*nv)[*n] = name ? run_strdup(name) : NULL;
    (*v)[(*n)++] = run_strdup(url);
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
    memset(l, 0, sizeof *l);
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
        l->base[i] = run_strdup(name);
        /* same: the content decides, unless the name already says */
        enum ib_format f = ib_format_output(fixed, ib_name_format(name));
        unsigned formats = f != IB_FORMAT_UNKNOWN ? 1u << f : writable;
        l->plan[i] = (struct walk_name){l->base[i], url, formats, 0, 0};
    }
    walk_names_plan(l->plan, all);
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

/* The format the output gets; UNKNOWN keeps the name. */
static enum ib_format out_format(const struct run_settings *s,
                                 const char *path)
{
    enum ib_format f = s->img.eopts.format;
    if (f == IB_FORMAT_UNKNOWN) {
        unsigned char b[IB_FORMAT_SNIFF_LEN];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
        if (fd >= 0)
            close(fd);
        f = ib_format_output(f, n > 0 ? ib_format_sniff(b, (size_t)n)
                                      : IB_FORMAT_UNKNOWN);
    }
    return f;
}

int run_slot_fill(const struct run_settings *s, const struct run_list *l,
                  struct run_slot *slot, const char *url, const char *file,
                  const char *path, char *msg, size_t msglen)
{
    enum ib_format fmt = out_format(s, path);
    const struct walk_name *v = plan_of(l, url);
    struct walk_name alone = {file, url, 1u << fmt, WALK_NAME_PLAIN, 0};

    if (!v)
        v = &alone;   /* not in the plan: cannot happen */
    if (v->clash) {
        snprintf(msg, msglen, "no free output name for '%s'", file);
        return -1;
    }
    /*
     * The plan covered the formats the output could take; content that
     * says otherwise (a ".png" holding a JPEG) gets the hashed name, made
     * from this URL alone.
     */
    int mode = v->formats & 1u << fmt ? v->mode : WALK_NAME_HASHED;
    char *out = walk_name_make(v, mode, fmt);
    if (!out)
        abort();
    memset(slot, 0, sizeof *slot);
    int n1 = snprintf(slot->in, sizeof slot->in, "%s", file);
    int n2 = snprintf(slot->out, sizeof slot->out, "%s", out);
    free(out);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof slot->in ||
        (size_t)n2 >= sizeof slot->out) {
        snprintf(msg, msglen, "name '%s' is too long", file);
        return -1;
    }
    slot->recipe = cmd_recipe_hash(&s->img, fmt, NULL);
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

static void put_done(struct run_done *d, int decoded, uint64_t hash,
                     uint64_t recipe, const struct stat *st,
                     const struct ib_transform_result *t)
{
    memset(d, 0, sizeof *d);   /* padding too: it crosses a pipe */
    d->decoded = decoded;
    d->hash = hash;
    d->size = (uint64_t)st->st_size;
    d->sec = st->st_mtim.tv_sec;
    d->nsec = st->st_mtim.tv_nsec;
    d->recipe = recipe;
    if (t) {
        d->dims[0] = t->in_w;
        d->dims[1] = t->in_h;
        d->dims[2] = t->out_w;
        d->dims[3] = t->out_h;
    }
}

int run_slot_task(const struct run_settings *s, const struct run_slot *slot,
                  struct run_done *done, char *msg, size_t msglen)
{
    char *in = run_join(s->dl_dir, slot->in);
    char *out = run_join(s->o.out, slot->out);
    struct ib_transform_result t;
    struct stat st;
    uint64_t hash;
    int rc = 1;
    /* the pool closed what the worker inherited: OUT is opened again */
    struct ib_out dst = {.root = -1, .shown = s->o.out,
                         .no_fsync = s->o.oo.no_fsync};

    if (hash_file(in, &hash)) {
        snprintf(msg, msglen, "cannot read '%s': %s", in, strerror(errno));
        goto out;
    }
    /* same bytes and recipe as made the output, untouched since: done */
    if (slot->prev_hash == hash && slot->prev_recipe == slot->recipe &&
        !stat(out, &st) &&
        (uint64_t)st.st_size == slot->prev_size &&
        st.st_mtim.tv_sec == slot->prev_sec &&
        st.st_mtim.tv_nsec == slot->prev_nsec &&
        !cmd_output_stamp(in, out) && !stat(out, &st)) {
        put_done(done, 0, hash, slot->recipe, &st, NULL);
        rc = 0;
        goto out;
    }
    const struct cmd_image *img = &s->img;
    dst.root = open(s->o.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst.root < 0) {
        snprintf(msg, msglen, "cannot open '%s': %s", s->o.out,
                 strerror(errno));
        goto out;
    }
    if (ib_transform_file(in, &dst, slot->out, &img->dopts, img->pipeline,
                          &img->eopts, &t, msg, msglen))
        goto out;
    if (cmd_output_stamp(in, out) || stat(out, &st)) {
        snprintf(msg, msglen, "cannot stamp '%s': %s", out, strerror(errno));
        goto out;
    }
    put_done(done, 1, hash, slot->recipe, &st, &t);
    rc = 0;
out:
    if (dst.root >= 0)
        close(dst.root);
    free(in);
    free(out);
    return rc;
}
