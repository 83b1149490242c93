/*
 * fetch/index.c: OUT/.imgbatch-fetch.tsv, one line per URL:
 *
 *     url <TAB> file <TAB> etag <TAB> last-modified <LF>
 *
 * etag and last-modified may be empty. A missing or damaged file only
 * costs unconditional requests: lines that do not parse are dropped, and a
 * file name is used only if it is one the namer could have produced, or
 * a name a list may give (with folders).
 */
#include "fetch/fetch_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int field_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int fetch_index_put(struct fetch_index *ix, const char *url, const char *file,
                    const char *etag, const char *lastmod)
{
    etag = etag && field_ok(etag) ? etag : "";
    lastmod = lastmod && field_ok(lastmod) ? lastmod : "";
    size_t n = strlen(file) + strlen(etag) + strlen(lastmod) + 3;
    char *v = malloc(n);
    if (!v)
        return IB_FETCH_ENOMEM;
    snprintf(v, n, "%s\t%s\t%s", file, etag, lastmod);
    int rc = fetch_map_put(&ix->map, url, v);
    free(v);
    return rc;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int fetch_index_get(const struct fetch_index *ix, const char *url,
                    struct fetch_entry *e)
{
    int found;
    const char *v = fetch_map_get(&ix->map, url, &found);
    memset(e, 0, sizeof *e);
    if (!found || !v)
        return 0;
    size_t a = strcspn(v, "\t");
    size_t b = strcspn(v + a + 1, "\t");
    const char *lm = v + a + 1 + b + 1;
    e->file = dup_n(v, a);
    e->etag = b ? dup_n(v + a + 1, b) : NULL;
    e->lastmod = *lm ? strdup(lm) : NULL;
    if (!e->file || (b && !e->etag) || (*lm && !e->lastmod)) {
        fetch_entry_release(e);
        return IB_FETCH_ENOMEM;
    }
    return 1;
}

void fetch_entry_release(struct fetch_entry *e)
{
    free(e->file);
    free(e->etag);
    free(e->lastmod);
    memset(e, 0, sizeof *e);
}

int fetch_index_load(struct fetch_index *ix, const char *dir)
{
    memset(ix, 0, sizeof *ix);
    size_t plen = strlen(dir) + sizeof FETCH_INDEX_NAME + 1;
    char *path = malloc(plen);
    if (!path)
        return IB_FETCH_ENOMEM;
    snprintf(path, plen, "%s/%s", dir, FETCH_INDEX_NAME);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if ((size_t)n != strlen(line))
            continue;   /* a NUL inside: damaged */
        char *fld[4];
        int k = 0;
        char *s = line;
        for (; k < 4; k++) {
            fld[k] = s;
            char *t = strchr(s, '\t');
            if (!t)
                break;
            *t = '\0';
            s = t + 1;
        }
        if (k != 3 || !fetch_url_ok(fld[0]) ||
            !(fetch_name_safe(fld[1]) || fetch_relname_safe(fld[1])))
            continue;
        rc = fetch_index_put(ix, fld[0], fld[1], fld[2], fld[3]);
    }
    free(line);
    fclose(f);
    return rc;
}

int fetch_index_save(const struct fetch_index *ix, const char *dir, char *msg,
                     size_t msglen)
{
    size_t plen = strlen(dir) + sizeof FETCH_INDEX_NAME + 16;
    char *path = malloc(plen), *tmp = malloc(plen);
    int rc = IB_FETCH_EIO, fd = -1;
    FILE *f = NULL;
    if (!path || !tmp) {
        snprintf(msg, msglen, "out of memory");
        rc = IB_FETCH_ENOMEM;
        goto out;
    }
    snprintf(path, plen, "%s/%s", dir, FETCH_INDEX_NAME);
    snprintf(tmp, plen, "%s/%s.XXXXXX", dir, FETCH_INDEX_NAME);
    fd = mkstemp(tmp);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(msg, msglen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    for (size_t i = 0; i < ix->map.cap; i++)
        if (ix->map.keys[i] && ix->map.vals[i])
            fprintf(f, "%s\t%s\n", ix->map.keys[i], ix->map.vals[i]);
    int bad = ferror(f);
    bad |= fclose(f);
    f = NULL;
    if (bad || rename(tmp, path)) {
        snprintf(msg, msglen, "cannot write '%s': %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    free(path);
    free(tmp);
    return rc;
}

void fetch_index_release(struct fetch_index *ix)
{
    fetch_map_release(&ix->map);
}

struct ib_fetch_peek {
    struct fetch_index ix;
};

struct ib_fetch_peek *ib_fetch_peek_open(const char *dir)
{
    struct ib_fetch_peek *p = calloc(1, sizeof *p);
    if (p && fetch_index_load(&p->ix, dir)) {
        fetch_index_release(&p->ix);
        free(p);
        return NULL;
    }
    return p;
}

int ib_fetch_peek_url(const struct ib_fetch_peek *p, const char *url,
                      int *conditional, char *msg, size_t msglen)
{
    struct fetch_entry e;

    *conditional = 0;
    if (fetch_url_check(url, msg, msglen))
        return -1;
    if (fetch_index_get(&p->ix, url, &e) == 1) {
        *conditional = (e.etag && *e.etag) || (e.lastmod && *e.lastmod);
        fetch_entry_release(&e);
    }
    return 0;
}

void ib_fetch_peek_free(struct ib_fetch_peek *p)
{
    if (!p)
        return;
    fetch_index_release(&p->ix);
    free(p);
}
