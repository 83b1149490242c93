/* fetch/map.c: the string map behind the names and the index. */
#include "fetch/fetch_int.h"

#include <stdlib.h>
#include <string.h>

uint64_t fetch_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t slot(const struct fetch_map *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)fetch_hash(key, strlen(key)) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key))
        i = (i + 1) & mask;
    return i;
}

/* Keeps the load under 1/2 so probes stay short and a free slot exists. */
static int grow(struct fetch_map *m)
{
    if (m->cap && (m->len + 1) * 2 <= m->cap)
        return 0;
    struct fetch_map n = {0};
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = calloc(n.cap, sizeof *n.keys);
    n.vals = calloc(n.cap, sizeof *n.vals);
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return IB_FETCH_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
    }
    n.len = m->len;
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

const char *fetch_map_get(const struct fetch_map *m, const char *key,
                          int *found)
{
    *found = 0;
    if (!m->cap)
        return NULL;
    size_t i = slot(m, key);
    if (!m->keys[i])
        return NULL;
    *found = 1;
    return m->vals[i];
}

int fetch_map_put(struct fetch_map *m, const char *key, const char *val)
{
    if (grow(m))
        return IB_FETCH_ENOMEM;
    char *v = NULL;
    if (val && !(v = strdup(val)))
        return IB_FETCH_ENOMEM;
    size_t i = slot(m, key);
    if (m->keys[i]) {
        free(m->vals[i]);
        m->vals[i] = v;
        return 0;
    }
    if (!(m->keys[i] = strdup(key))) {
        free(v);
        return IB_FETCH_ENOMEM;
    }
    m->vals[i] = v;
    m->len++;
    return 0;
}

void fetch_map_release(struct fetch_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
