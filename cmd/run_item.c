/*
 * cmd/run_item.c: one item of imgbatch run, from its URL to its output:
 * the list, the slot a worker reads, the task, the claims on output
 * names, and the journal that lets a rerun recognise bytes it has already
 * transformed. See cmd/run.h.
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
#include <dirent.h>

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

static int entry_cmp(const void *a, const void *b)
{
    const struct run_entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int entry_cmp_seq(const void *a, const void *b)
{
    const struct run_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * A line is "r1\tHASH\tSIZE\tSEC\tNSEC\tRECIPE\tNAME"; a line without
 * the tag is from before recipes were recorded: its recipe is unknown.
 */
#define JOURNAL_TAG "r1\t"

static int parse_entry(char *line, struct run_entry *e)
{
    long long sec, nsec;
    int used = 0;
    e->recipe = 0;
    if (!strncmp(line, JOURNAL_TAG, 3)) {
        line += 3;
        if (sscanf(line, "%" SCNx64 "\t%" SCNu64 "\t%lld\t%lld\t%" SCNx64
                   "\t%n", &e->hash, &e->size, &sec, &nsec, &e->recipe,
                   &used) != 5)
            return -1;
    } else if (sscanf(line, "%" SCNx64 "\t%" SCNu64 "\t%lld\t%lld\t%n",
                      &e->hash, &e->size, &sec, &nsec, &used) != 4) {
        return -1;
    }
    if (!used || !line[used] || !e->hash)
        return -1;
    line[strcspn(line, "\n")] = '\0';
    e->sec = sec;
    e->nsec = nsec;
    e->name = run_strdup(line + used);
    return 0;
}

void run_journal_read(struct run_journal *j, const char *out,
                      const char *name)
{
    memset(j, 0, sizeof *j);
    j->fd = -1;
    j->path = run_join(out, name);
    FILE *f = fopen(j->path, "r");
    char *line = NULL;
    size_t cap = 0, n = 0, alloc = 0;

    while (f && getline(&line, &cap, f) > 0) {
        struct run_entry e;
        if (parse_entry(line, &e))
            continue;   /* a line cut by a kill: ignored */
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 256;
            j->old = realloc(j->old, alloc * sizeof *j->old);
            if (!j->old)
                abort();
        }
        e.seq = n;
        j->old[n++] = e;
    }
    free(line);
    if (f)
        fclose(f);
    /* by name, then line: of one name's lines the last, newest, wins */
    if (n)
        qsort(j->old, n, sizeof *j->old, entry_cmp_seq);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept && !strcmp(j->old[kept - 1].name, j->old[i].name)) {
            free(j->old[kept - 1].name);
            j->old[kept - 1] = j->old[i];
        } else {
            j->old[kept++] = j->old[i];
        }
    }
    j->nold = kept;
}

int run_journal_open(struct run_journal *j, const char *out,
                     const char *name, char *msg, size_t msglen)
{
    run_journal_read(j, out, name);
    /* O_NOFOLLOW: a symlink planted in OUT must not take the appends */
    j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                              O_NOFOLLOW, 0666);
    if (j->fd < 0) {
        snprintf(msg, msglen, "cannot open '%s': %s", j->path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

void run_journal_get(const struct run_journal *j, const char *name,
                     struct run_slot *slot)
{
    struct run_entry key = {.name = (char *)name};
    const struct run_entry *e =
        j->nold ? bsearch(&key, j->old, j->nold, sizeof *j->old, entry_cmp)
                : NULL;
    if (!e)
        return;
    slot->prev_hash = e->hash;
    slot->prev_size = e->size;
    slot->prev_sec = e->sec;
    slot->prev_nsec = e->nsec;
    slot->prev_recipe = e->recipe;
}

static int write_entry(FILE *f, int fd, const struct run_entry *e)
{
    char line[RUN_NAMELEN + 128];
    int n = snprintf(line, sizeof line, JOURNAL_TAG "%016" PRIx64 "\t%"
                     PRIu64 "\t%lld\t%lld\t%016" PRIx64 "\t%s\n",
                     e->hash, e->size, (long long)e->sec, (long long)e->nsec,
                     e->recipe, e->name);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    if (f)
        return fputs(line, f) < 0 ? -1 : 0;
    /* one write(): O_APPEND keeps a line whole */
    return write(fd, line, (size_t)n) == n ? 0 : -1;
}

void run_journal_add(struct run_journal *j, const char *name,
                     const struct run_done *d)
{
    if (j->nadded == j->capadded) {
        j->capadded = j->capadded ? 2 * j->capadded : 256;
        j->added = realloc(j->added, j->capadded * sizeof *j->added);
        if (!j->added)
            abort();
    }
    struct run_entry *e = &j->added[j->nadded++];
    *e = (struct run_entry){run_strdup(name), d->hash, d->size, d->sec,
                            d->nsec, d->recipe, 0};
    if (j->fd >= 0)
        write_entry(NULL, j->fd, e);   /* lost: the item is only redone */
}

/* Rewrites the journal with one line per name: old ones not redone. */
static int compact(struct run_journal *j)
{
    size_t n = strlen(j->path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.XXXXXX", j->path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int bad = !f;
    if (!f && fd >= 0)
        close(fd);
    if (j->nadded)
        qsort(j->added, j->nadded, sizeof *j->added, entry_cmp);
    for (size_t i = 0; f && i < j->nold; i++) {
        struct run_entry *e = &j->old[i];
        if (!(j->nadded && bsearch(e, j->added, j->nadded, sizeof *e,
                                   entry_cmp)))
            bad |= write_entry(f, -1, e);
    }
    for (size_t i = 0; f && i < j->nadded; i++)
        bad |= write_entry(f, -1, &j->added[i]);
    if (f)
        bad |= fclose(f) != 0;
    if (bad || rename(tmp, j->path)) {
        if (fd >= 0)
            unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int run_journal_close(struct run_journal *j, char *msg, size_t msglen)
{
    int rc = 0;
    if (j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
        if (compact(j)) {
            if (msg)
                snprintf(msg, msglen, "cannot rewrite '%s': %s", j->path,
                         strerror(errno));
            rc = -1;
        }
    }
    for (size_t i = 0; i < j->nold; i++)
        free(j->old[i].name);
    for (size_t i = 0; i < j->nadded; i++)
        free(j->added[i].name);
    free(j->old);
    free(j->added);
    free(j->path);
    memset(j, 0, sizeof *j);
    j->fd = -1;
    return rc;
}

int run_names_init(struct run_names *n, size_t count)
{
    n->cap = 16;
    while (n->cap < 2 * count)
        n->cap *= 2;
    n->name = calloc(n->cap, sizeof *n->name);
    n->url = calloc(n->cap, sizeof *n->url);
    return n->name && n->url ? 0 : -1;
}

const char *run_names_claim(struct run_names *n, char *name,
                            const char *url)
{
    size_t i = (size_t)cmd_shard_hash(name) & (n->cap - 1);
    while (n->name[i]) {
        if (!strcmp(n->name[i], name))
            return n->url[i];
        i = (i + 1) & (n->cap - 1);
    }
    n->name[i] = name;   /* at most one per URL: never full */
    n->url[i] = url;
    return NULL;
}

void run_names_release(struct run_names *n)
{
    free(n->name);
    free(n->url);
    memset(n, 0, sizeof *n);
}

/*
 * Removes what a killed run left in dir: dot-files named like the temp
 * files of an output (".NAME.tmp-XXXXXX") or a download
 * (".NAME.part.XXXXXX"). Only when no other process writes there.
 */
int run_sweep_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (name[0] != '.' || len < 14)
            continue;
        const char *tail = name + len - 12;   /* ".tmp-XXXXXX" + 1 */
        if (strncmp(tail + 1, ".tmp-", 5) && strncmp(tail, ".part.", 6))
            continue;
        char *p = run_join(dir, name);
        n += unlink(p) == 0;
        free(p);
    }
    if (d)
        closedir(d);
    return n;
}
