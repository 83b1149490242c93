/*
 * cmd/run_journal.c: what imgbatch run knows of the output names in OUT.
 * The journal, across runs: per output, the input and recipe that made
 * it, so that a rerun recognises bytes it has already transformed. The
 * claims, within a run: which URL an output name is taken by, so that two
 * URLs never write one file. See cmd/run.h.
 */
#include "cmd/run_int.h"
#include "cmd/shard.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    e->name = cmd_strdup(line + used);
    return 0;
}

void run_journal_read(struct run_journal *j, const char *out,
                      const char *name)
{
    memset(j, 0, sizeof *j);
    j->fd = -1;
    j->path = cmd_path_join(out, name);
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

void run_journal_get_item(const struct run_journal *j, struct run_item *item,
                          size_t per)
{
    for (size_t k = 0; k < per; k++)
        run_journal_get(j, item->out[k].out, &item->out[k]);
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
    *e = (struct run_entry){cmd_strdup(name), d->hash, d->size, d->sec,
                            d->nsec, d->recipe, 0};
    if (j->fd >= 0)
        write_entry(NULL, j->fd, e);   /* lost: the item is only redone */
}

void run_journal_add_item(struct run_journal *j, const struct run_item *item,
                          size_t per)
{
    for (size_t k = 0; k < per; k++)
        if (item->out[k].rr.status == 0 || item->out[k].rr.status == 1)
            run_journal_add(j, item->out[k].out, &item->out[k].done);
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

/* name's place in n: where it is, or the free one it would take. */
static size_t names_find(const struct run_names *n, const char *name)
{
    size_t i = (size_t)cmd_shard_hash(name) & (n->cap - 1);
    while (n->name[i] && strcmp(n->name[i], name))
        i = (i + 1) & (n->cap - 1);
    return i;
}

const char *run_names_claim(struct run_names *n, char *name,
                            const char *url)
{
    size_t i = names_find(n, name);
    if (n->name[i])
        return n->url[i];
    n->name[i] = name;   /* at most one per output: never full */
    n->url[i] = url;
    return NULL;
}

int run_names_claim_item(struct run_names *n, struct run_item *item,
                         size_t per, const char *url, char *msg,
                         size_t msglen)
{
    for (size_t k = 0; k < per; k++) {
        size_t i = names_find(n, item->out[k].out);
        if (n->name[i]) {
            char *hidden;
            snprintf(msg, msglen, "output '%s' is already that of '%s'",
                     n->name[i], cmd_url_shown(n->url[i], &hidden));
            free(hidden);
            return -1;
        }
    }
    for (size_t k = 0; k < per; k++)
        run_names_claim(n, item->out[k].out, url);
    return 0;
}

void run_names_release(struct run_names *n)
{
    free(n->name);
    free(n->url);
    memset(n, 0, sizeof *n);
}
