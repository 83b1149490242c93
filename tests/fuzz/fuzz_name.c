/*
 * tests/fuzz/fuzz_name.c: the download-name sanitiser (fetch/name.c).
 *
 * Input: any bytes, taken as the URL (up to the first NUL), and again as
 * the path of an http URL. Property, checked here independently of
 * fetch_name_safe: a name never escapes the download folder. It is not
 * empty, has no '/' or '\\', is not "." or ".." and never starts with a
 * dot (or a blank), holds no control byte and only valid UTF-8, and fits
 * the length cap. Names made unique within a run keep all of that, and
 * two different URLs never share one.
 */
#include "tests/fuzz/fuzz.h"
#include "fetch/fetch_int.h"   /* the names API is internal */

#include <string.h>
#include <strings.h>

/* Length of the valid UTF-8 sequence at s, 0 if invalid (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    static const struct { unsigned char lo, hi; size_t len; } first[] = {
        {0x00, 0x7f, 1}, {0xc2, 0xdf, 2}, {0xe0, 0xef, 3}, {0xf0, 0xf4, 4},
    };
    size_t len = 0;
    for (size_t i = 0; i < 4; i++)
        if (s[0] >= first[i].lo && s[0] <= first[i].hi)
            len = first[i].len;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* second-byte ranges that rule out overlongs, surrogates, > U+10FFFF */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

static void check_name(const char *name, size_t cap)
{
    size_t n = strlen(name);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(n <= cap);
    FUZZ_CHECK(name[0] != '.' && name[0] != ' ');
    FUZZ_CHECK(strcmp(name, ".") && strcmp(name, ".."));
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < n;) {
        FUZZ_CHECK(s[i] != '/' && s[i] != '\\');
        FUZZ_CHECK(s[i] >= 0x20 && s[i] != 0x7f);
        size_t len = utf8_seq(s + i, n - i);
        FUZZ_CHECK(len > 0);
        i += len;
    }
    FUZZ_CHECK(fetch_name_safe(name));
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s)
        abort();
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1);
    if (!raw)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';

    char *urls[3] = {raw, concat("http://h/", raw),
                     concat("https://example.com/a/b/", raw)};
    char name[IB_FETCH_NAMEMAX + 1];
    for (size_t i = 0; i < 3; i++) {
        memset(name, 'x', sizeof name);
        ib_fetch_name(urls[i], name);
        check_name(name, IB_FETCH_NAMEMAX);
    }

    /*
     * Unique names: the three URLs, and a URL an earlier run recorded under
     * the name the first would get, force the hashed variants.
     */
    struct fetch_names *nm = fetch_names_new();
    char got[3][IB_FETCH_NAMEMAX + 12];
    if (nm) {
        ib_fetch_name(urls[1], name);
        int ok = fetch_names_claimed(nm, "http://other/x", name) == 0;
        for (size_t i = 0; ok && i < 3; i++) {
            int rc = fetch_names_assign(nm, urls[i], NULL, got[i]);
            FUZZ_CHECK(rc == 0 || rc == 1);
            check_name(got[i], IB_FETCH_NAMEMAX + 11);
            FUZZ_CHECK(strcmp(got[i], name) || i != 1);
            for (size_t k = 0; k < i; k++)
                FUZZ_CHECK(!strcmp(urls[i], urls[k]) ==
                           !strcmp(got[i], got[k]));
        }
        /* the same URL again is a duplicate with the same name */
        char again[IB_FETCH_NAMEMAX + 12];
        if (ok) {
            FUZZ_CHECK(fetch_names_assign(nm, urls[0], NULL, again) == 1);
            FUZZ_CHECK(!strcmp(again, got[0]));
        }
        fetch_names_free(nm);
    }

    if (fetch_url_ok(raw)) {
        FUZZ_CHECK(!strncasecmp(raw, "http://", 7) ||
                   !strncasecmp(raw, "https://", 8));
        for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
            FUZZ_CHECK(*p > 0x20 && *p != 0x7f);
    }
    free(urls[1]);
    free(urls[2]);
    free(raw);
    return 0;
}
