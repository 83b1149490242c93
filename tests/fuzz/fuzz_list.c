/*
 * tests/fuzz/fuzz_list.c: the URL-list reader (fetch/list.c), then the
 * URL check and run-unique naming of what it returns.
 *
 * Input: the list file's bytes. The reader's output is compared with a
 * second, independent reading here (split on '\n', NUL bytes to 0x01,
 * leading blanks dropped, split at the first TAB into URL and name, each
 * trimmed, blank and '#' lines skipped): same URLs and names, same order.
 * Each URL then gets a run-unique name, checked as in fuzz_name.c; a name
 * the list gave is used if ib_fetch_name_check passes it, and the result
 * then never climbs out of the folder.
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

/* out = data[start..end) trimmed, NUL bytes as 0x01 */
static void copy_trimmed(const uint8_t *data, size_t start, size_t end,
                         char *out)
{
    while (start < end && blank(data[start]))
        start++;
    while (end > start && blank(data[end - 1]))
        end--;
    for (size_t i = start; i < end; i++)
        out[i - start] = data[i] ? (char)data[i] : '\x01';
    out[end - start] = '\0';
}

/*
 * The next expected URL from data[*pos..size) into out, and its name into
 * name (*has_name 0 if the line has no TAB); 0 at the end.
 */
static int expected_next(const uint8_t *data, size_t size, size_t *pos,
                         char *out, char *name, int *has_name)
{
    while (*pos < size) {
        size_t start = *pos, end = start;
        while (end < size && data[end] != '\n')
            end++;
        *pos = end < size ? end + 1 : end;
        while (start < end && blank(data[start]))
            start++;
        size_t tab = start;
        while (tab < end && data[tab] != '\t')
            tab++;
        copy_trimmed(data, start, tab, out);
        if (out[0] == '\0' || out[0] == '#')
            continue;
        *has_name = tab < end;
        copy_trimmed(data, tab < end ? tab + 1 : end, end, name);
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen wants a non-empty writable buffer; "r" leaves it alone */
    char *copy = malloc(size + 1);
    char *want = malloc(size + 1), *want_name = malloc(size + 1);
    if (!copy || !want || !want_name) {
        free(copy);
        free(want);
        free(want_name);
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

    const char *url, *given;
    /* the reader skips a UTF-8 byte-order mark at the very start */
    size_t pos = size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) ? 3 : 0;
    size_t count = 0;
    int r, has_name = 0;
    while ((r = ib_fetch_list_next(l, &url, &given)) == 1) {
        FUZZ_CHECK(expected_next(data, size, &pos, want, want_name,
                                 &has_name));
        FUZZ_CHECK(!strcmp(url, want));
        FUZZ_CHECK(has_name == (given != NULL));
        FUZZ_CHECK(!given || !strcmp(given, want_name));
        FUZZ_CHECK(fetch_url_ok(url) == 0 || fetch_url_ok(url) == 1);
        if (given && ib_fetch_name_check(given, NULL, 0))
            given = NULL;   /* fetch fails such an item before naming */
        if (count < MAX_NAMED) {
            char *name = names[count];
            int dup = fetch_names_assign(nm, url, given, name);
            FUZZ_CHECK(dup == 0 || dup == 1);
            if (!dup && !given) {
                FUZZ_CHECK(fetch_name_safe(name));
                FUZZ_CHECK(name[0] != '.' && !strchr(name, '/'));
            }
            /* whatever the list said: relative, no dot component */
            FUZZ_CHECK(fetch_relname_safe(name));
            FUZZ_CHECK(name[0] != '.' && name[0] != '/' &&
                       !strstr(name, "/.") && !strstr(name, "//"));
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
    FUZZ_CHECK(!expected_next(data, size, &pos, want, want_name, &has_name));
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
    free(want_name);
    return 0;
}
