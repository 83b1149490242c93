/*
 * fetch/name.c: URL -> safe file name, and unique names for one run.
 *
 * Everything a URL says ends up as one path component: separators are
 * replaced after decoding (so "%2f" cannot split it), dots cannot lead (so
 * neither "..", "." nor a hidden file), and nothing is empty.
 */
#include "fetch/fetch_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int has_prefix_ci(const char *s, const char *p)
{
    for (; *p; s++, p++) {
        int c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != *p)
            return 0;
    }
    return 1;
}

/* Where the host starts, or NULL if url is not http(s). */
static const char *after_scheme(const char *url)
{
    if (has_prefix_ci(url, "http://"))
        return url + 7;
    if (has_prefix_ci(url, "https://"))
        return url + 8;
    return NULL;
}

int fetch_url_ok(const char *url)
{
    const char *h = after_scheme(url);
    if (!h || !*h || *h == '/' || *h == '?' || *h == '#')
        return 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

/* Start of the extension (its '.'), or len if none worth keeping. */
static size_t ext_start(const char *s, size_t len)
{
    const char *dot = NULL;
    for (size_t i = 1; i < len; i++)
        if (s[i] == '.')
            dot = s + i;
    if (!dot || len - (size_t)(dot - s) > 16)
        return len;
    return (size_t)(dot - s);
}

void ib_fetch_name(const char *url, char out[IB_FETCH_NAMEMAX + 1])
{
    const char *p = after_scheme(url);
    p = p ? p + strcspn(p, "/?#") : url;
    size_t plen = strcspn(p, "?#");
    const char *seg = p;
    for (size_t i = 0; i < plen; i++)
        if (p[i] == '/')
            seg = p + i + 1;
    size_t slen = plen - (size_t)(seg - p);

    /* decode into a buffer as long as the segment (decoding only shrinks) */
    unsigned char *d = malloc(slen + 1);
    size_t dlen = 0;
    if (d) {
        for (size_t i = 0; i < slen; i++) {
            int hi, lo;
            if (seg[i] == '%' && i + 2 < slen &&
                (hi = hexval(seg[i + 1])) >= 0 &&
                (lo = hexval(seg[i + 2])) >= 0) {
                d[dlen++] = (unsigned char)(hi << 4 | lo);
                i += 2;
            } else {
                d[dlen++] = (unsigned char)seg[i];
            }
        }
    }

    /* sanitise in place: each byte becomes at most one byte */
    char *name = (char *)d;
    size_t n = 0, i = 0;
    while (i < dlen && (d[i] == '.' || d[i] == ' '))
        i++;   /* no hidden files, no "." or ".." */
    while (i < dlen) {
        size_t cl = utf8_len(d + i, dlen - i);
        if (cl == 0 || d[i] < 0x20 || d[i] == 0x7f || d[i] == '/' ||
            d[i] == '\\') {
            name[n++] = '_';
            i++;
        } else {
            memmove(name + n, d + i, cl);
            n += cl;
            i += cl;
        }
    }
    if (n == 0) {
        free(d);
        strcpy(out, "index");
        return;
    }

    if (n > IB_FETCH_NAMEMAX) {
        size_t e = ext_start(name, n);
        size_t elen = n - e;
        size_t keep = IB_FETCH_NAMEMAX - elen;
        while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
            keep--;   /* cut on a character boundary */
        memmove(name + keep, name + e, elen);
        n = keep + elen;
    }
    memcpy(out, name, n);
    out[n] = '\0';
    free(d);
}

int fetch_name_safe(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > IB_FETCH_NAMEMAX + 11 || name[0] == '.' ||
        name[0] == ' ')
        return 0;
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < n;) {
        size_t cl = utf8_len(s + i, n - i);
        if (!cl || s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' ||
            s[i] == '\\')
            return 0;
        i += cl;
    }
    return 1;
}

struct fetch_names {
    struct fetch_map used;      /* name -> url, this run */
    struct fetch_map byurl;     /* url -> name, this run */
    struct fetch_map claimed;   /* name -> url, earlier runs (the index) */
    struct fetch_map oldname;   /* url -> name, earlier runs */
};

struct fetch_names *fetch_names_new(void)
{
    return calloc(1, sizeof(struct fetch_names));
}

void fetch_names_free(struct fetch_names *n)
{
    if (!n)
        return;
    fetch_map_release(&n->used);
    fetch_map_release(&n->byurl);
    fetch_map_release(&n->claimed);
    fetch_map_release(&n->oldname);
    free(n);
}

int fetch_names_claimed(struct fetch_names *n, const char *url,
                        const char *name)
{
    if (fetch_map_put(&n->claimed, name, url) ||
        fetch_map_put(&n->oldname, url, name))
        return IB_FETCH_ENOMEM;
    return 0;
}

/* "a.jpg" -> "a-<8 hex>.jpg", the hash from url and round k >= 1. */
static void hashed(const char *base, const char *url, unsigned k,
                   char out[IB_FETCH_NAMEMAX + 12])
{
    uint64_t h = fetch_hash(url, strlen(url));
    for (unsigned i = 1; i < k; i++)
        h = fetch_hash((const char *)&h, sizeof h) ^ i;
    size_t n = strlen(base), e = ext_start(base, n);
    snprintf(out, IB_FETCH_NAMEMAX + 12, "%.*s-%08" PRIx32 "%s", (int)e, base,
             (uint32_t)(h ^ h >> 32), base + e);
}

static int free_for(const struct fetch_names *n, const char *name,
                    const char *url)
{
    int found;
    fetch_map_get(&n->used, name, &found);
    if (found)
        return 0;
    const char *owner = fetch_map_get(&n->claimed, name, &found);
    return !found || (owner && !strcmp(owner, url));
}

int fetch_names_assign(struct fetch_names *n, const char *url,
                       char out[IB_FETCH_NAMEMAX + 12])
{
    int found;
    const char *had = fetch_map_get(&n->byurl, url, &found);
    if (found) {
        snprintf(out, IB_FETCH_NAMEMAX + 12, "%s", had);
        return 1;
    }
    const char *old = fetch_map_get(&n->oldname, url, &found);
    if (found && old && fetch_name_safe(old) && free_for(n, old, url)) {
        snprintf(out, IB_FETCH_NAMEMAX + 12, "%s", old);
    } else {
        char base[IB_FETCH_NAMEMAX + 1];
        ib_fetch_name(url, base);
        snprintf(out, IB_FETCH_NAMEMAX + 12, "%s", base);
        for (unsigned k = 1; !free_for(n, out, url); k++)
            hashed(base, url, k, out);
    }
    if (fetch_map_put(&n->used, out, url) || fetch_map_put(&n->byurl, url, out))
        return IB_FETCH_ENOMEM;
    return 0;
}
