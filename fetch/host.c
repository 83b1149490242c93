/*
 * fetch/host.c: what the breaker knows of each host: how many connections
 * to it failed in a row, and whether it has been given up on.
 */
#include "fetch/fetch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fetch_host_key(const char *url, char *out, size_t outlen)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    int rc = -1;
    if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
        !curl_url_get(u, CURLUPART_HOST, &host, 0) &&
        !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
        int n = snprintf(out, outlen, "%s:%s", host, port);
        rc = n > 0 && (size_t)n < outlen ? 0 : -1;
        /* host names are case-insensitive: one host, one record */
        for (char *p = out; !rc && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static size_t slot_of(const struct fetch_hosts *t, const char *key)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)fetch_hash(key, strlen(key)) & mask;
    while (t->slot[i] && strcmp(t->slot[i]->key, key))
        i = (i + 1) & mask;
    return i;
}

/* Keeps the load under 1/2, as the string map does. */
static int grow(struct fetch_hosts *t)
{
    if (t->cap && (t->len + 1) * 2 <= t->cap)
        return 0;
    struct fetch_hosts n = {NULL, t->len, t->cap ? t->cap * 2 : 16};
    if (!(n.slot = calloc(n.cap, sizeof *n.slot)))
        return IB_FETCH_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i])
            n.slot[slot_of(&n, t->slot[i]->key)] = t->slot[i];
    free(t->slot);
    *t = n;
    return 0;
}

struct fetch_host *fetch_hosts_get(struct fetch_hosts *t, const char *key)
{
    if (grow(t))
        return NULL;
    size_t i = slot_of(t, key);
    if (t->slot[i])
        return t->slot[i];
    struct fetch_host *h = calloc(1, sizeof *h);
    if (!h || !(h->key = strdup(key))) {
        free(h);
        return NULL;
    }
    t->slot[i] = h;
    t->len++;
    return h;
}

void fetch_hosts_release(struct fetch_hosts *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i])
            free(t->slot[i]->key);
        free(t->slot[i]);
    }
    free(t->slot);
    memset(t, 0, sizeof *t);
}
