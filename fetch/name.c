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

/*
 * url parsed by libcurl as the transfer will see it: 0 with u set, or a
 * CURLUcode. No default scheme: "example.com/a.jpg" is not a URL here.
 */
static CURLUcode parse(CURLU *u, const char *url)
{
    return curl_url_set(u, CURLUPART_URL, url, 0);
}

/* 1 if s starts with p, ignoring the case of ASCII letters in s */
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

int fetch_url_check(const char *url, char *msg, size_t msglen)
{
    /* blanks and control bytes: curl refuses most of them anyway */
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            snprintf(msg, msglen, "not an http(s) URL");
            return -1;
        }
    }
    char *scheme = NULL, *host = NULL;
    const char *why = NULL;
    CURLU *u = curl_url();
    CURLUcode rc = u ? parse(u, url) : CURLUE_OUT_OF_MEMORY;
    int http = has_prefix_ci(url, "http://") || has_prefix_ci(url, "https://");

    if (rc == CURLUE_NO_HOST && http) {
        why = "no host in the URL";
    } else if (rc && http) {
        snprintf(msg, msglen, "bad URL: %s", curl_url_strerror(rc));
    } else if (rc || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
               (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
        why = "not an http(s) URL";
    } else if (!http || strchr("/?#", url[strlen(scheme) + 3]) ||
               curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host) {
        /* curl reads "http:///x" and "http:/x" as host x, as a browser
         * would; a list line like that has lost its host */
        why = "no host in the URL";
    }
    if (why)
        snprintf(msg, msglen, "%s", why);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return why || rc ? -1 : 0;
}

int fetch_url_ok(const char *url)
{
    char msg[IB_FETCH_MSGLEN];
    return fetch_url_check(url, msg, sizeof msg) == 0;
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
    /* the path curl will ask for, dot segments resolved; what curl cannot
     * parse is named from its whole text */
    CURLU *u = curl_url();
    char *path = NULL;
    if (u && !parse(u, url))
        curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_cleanup(u);
    const char *p = path ? path : url;
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
        curl_free(path);
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
    curl_free(path);
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

/*
 * A name the list gave: a relative path of folders and a file, each
 * component something ib_fetch_name could have made (no leading dot, so
 * no "." or "..", nor fetch's own dot-files), '/' between them and
 * nowhere else. 0, or -1 with why in msg (may be NULL).
 */
static int check_relname(const char *name, size_t max, char *msg,
                         size_t msglen)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name);
    const char *why = NULL;

    if (n == 0)
        why = "empty";
    else if (name[0] == '/')
        why = "absolute: it must be relative to the output folder";
    else if (n > max)
        why = "too long";
    for (size_t i = 0, cl; !why && i < n; i += cl) {
        cl = utf8_len(s + i, n - i);
        int start = i == 0 || s[i - 1] == '/';
        if (!cl)
            why = "not valid UTF-8";
        else if (s[i] < 0x20 || s[i] == 0x7f)
            why = "a control character in it";
        else if (s[i] == '\\')
            why = "a '\\' in it: folders are separated by '/'";
        else if (start && s[i] == '.' &&
                 (s[i + 1] == '/' || !s[i + 1] ||
                  (s[i + 1] == '.' && (s[i + 2] == '/' || !s[i + 2]))))
            why = "a '.' or '..' component: it would leave the output folder";
        else if (start && (s[i] == '.' || s[i] == '/'))
            why = s[i] == '.' ? "a component starts with '.'"
                              : "an empty component";
    }
    if (!why && name[n - 1] == '/')
        why = "ends with '/': not a file";
    if (why && msg) {
        /* the message is one line of valid text, whatever the name holds */
        char shown[65];
        size_t k = 0;
        for (; k < n && k < sizeof shown - 1; k++)
            shown[k] = s[k] < 0x20 || s[k] == 0x7f || s[k] >= 0x80
                           ? '?' : (char)s[k];
        shown[k] = '\0';
        snprintf(msg, msglen, "bad name '%s%s': %s", shown,
                 k < n ? "..." : "", why);
    }
    return why ? -1 : 0;
}

int ib_fetch_name_check(const char *name, char *msg, size_t msglen)
{
    return check_relname(name, IB_FETCH_NAMEMAX, msg, msglen);
}

int fetch_relname_safe(const char *name)
{
    return check_relname(name, IB_FETCH_NAMEMAX + 11, NULL, 0) == 0;
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
    /* the extension of the file, not of a folder a listed name has */
    const char *slash = strrchr(base, '/');
    size_t dir = slash ? (size_t)(slash + 1 - base) : 0;
    size_t n = strlen(base), e = dir + ext_start(base + dir, n - dir);
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
                       const char *want, char out[IB_FETCH_NAMEMAX + 12])
{
    int found;
    const char *had = fetch_map_get(&n->byurl, url, &found);
    if (found) {
        snprintf(out, IB_FETCH_NAMEMAX + 12, "%s", had);
        return 1;
    }
    const char *old = fetch_map_get(&n->oldname, url, &found);
    if (!want && found && old && fetch_name_safe(old) &&
        free_for(n, old, url)) {
        snprintf(out, IB_FETCH_NAMEMAX + 12, "%s", old);
    } else {
        /* a listed name meets taken names as a derived one does */
        char base[IB_FETCH_NAMEMAX + 1];
        if (want)
            snprintf(base, sizeof base, "%s", want);
        else
            ib_fetch_name(url, base);
        snprintf(out, IB_FETCH_NAMEMAX + 12, "%s", base);
        for (unsigned k = 1; !free_for(n, out, url); k++)
            hashed(base, url, k, out);
    }
    if (fetch_map_put(&n->used, out, url) || fetch_map_put(&n->byurl, url, out))
        return IB_FETCH_ENOMEM;
    return 0;
}
