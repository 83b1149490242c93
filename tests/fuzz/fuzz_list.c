/*
 * tests/fuzz/fuzz_list.c: the URL-list reader (fetch/list.c), then the
 * URL check and run-unique naming of what it returns.
 *
 * Input: the list file's bytes. The reader's output is compared with a
 * second, independent reading here (split on '\n', NUL bytes to 0x01,
 * blanks trimmed, blank and '#' lines skipped): same URLs, same order.
 * Each URL then gets a run-unique name, checked as in fuzz_name.c.
 */
#include "tests/fuzz/fuzz.h"
#include "fetch/fetch_int.h"   /* the names API is internal */

#include <string.h>

#define MAX_NAMED 64   /* URLs named per input: the check is quadratic */

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

/* The next expected URL from data[*pos..size) into out; 0 at the end. */
static int expected_next(const uint8_t *data, size_t size, size_t *pos,
                         char *out)
{
    while (*pos < size) {
        size_t start = *pos, end = start;
        while (end < size && data[end] != '\n')
            end++;
        *pos = end < size ? end + 1 : end;
        while (start < end && blank(data[start]))
            start++;
        while (end > start && blank(data[end - 1]))
            end--;
        if (start == end || data[start] == '#')
            continue;
        for (size_t i = start; i < end; i++)
            out[i - start] = data[i] ? (char)data[i] : '\x01';
        out[end - start] = '\0';
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen wants a non-empty writable buffer; "r" leaves it alone */
    char *copy = malloc(size + 1);
    char *want = malloc(size + 1);
    if (!copy || !want) {
        free(copy);
        free(want);
        return 0;
    }
    memcpy(copy, data, size);
    FILE *f = size ? fmemopen(copy, size, "r") : fopen("/dev/null", "r");
    struct ib_fetch_list *l = f ? ib_fetch_list_new(f) : NULL;
    struct fetch_names *nm = fetch_names_new();
    char (*names)[IB_FETCH_NAMEMAX + 12] = calloc(MAX_NAMED, sizeof *names);
    char **urls = calloc(MAX_NAMED, sizeof *urls);
    if (!l || !nm || !names || !urls)
        goto out;

    const char *url;
    /* the reader skips a UTF-8 byte-order mark at the very start */
    size_t pos = size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) ? 3 : 0;
    size_t count = 0;
    int r;
    while ((r = ib_fetch_list_next(l, &url)) == 1) {
        FUZZ_CHECK(expected_next(data, size, &pos, want));
        FUZZ_CHECK(!strcmp(url, want));
        FUZZ_CHECK(fetch_url_ok(url) == 0 || fetch_url_ok(url) == 1);
        if (count < MAX_NAMED) {
            char *name = names[count];
            int dup = fetch_names_assign(nm, url, name);
            FUZZ_CHECK(dup == 0 || dup == 1);
            FUZZ_CHECK(fetch_name_safe(name));
            FUZZ_CHECK(name[0] != '.' && !strchr(name, '/'));
            urls[count] = strdup(url);
            FUZZ_CHECK(urls[count]);
            int seen = 0;
            for (size_t k = 0; k < count; k++) {
                int same_url = !strcmp(urls[k], url);
                FUZZ_CHECK(same_url == !strcmp(names[k], name));
                seen |= same_url;
            }
            FUZZ_CHECK(dup == seen);
        }
        count++;
    }
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(!expected_next(data, size, &pos, want));
out:
    for (size_t k = 0; urls && k < MAX_NAMED; k++)
        free(urls[k]);
    free(urls);
    free(names);
    fetch_names_free(nm);
    ib_fetch_list_free(l);
    if (f)
        fclose(f);
    free(copy);
    free(want);
    return 0;
}
