/* fetch/list.c: a URL list read one line at a time from a stream. */
#include "fetch/fetch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ib_fetch_list {
    FILE *f;       /* borrowed */
    char *line;    /* owned: getline's buffer */
    size_t cap;
    int started;   /* the first line has been read */
};

struct ib_fetch_list *ib_fetch_list_new(void *stream)
{
    struct ib_fetch_list *l = calloc(1, sizeof *l);
    if (l)
        l->f = stream;
    return l;
}

void ib_fetch_list_free(struct ib_fetch_list *l)
{
    if (!l)
        return;
    free(l->line);
    free(l);
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

/* s[0..*len) with the blanks at both ends dropped; returns the start */
static char *trim(char *s, size_t *len)
{
    while (*len > 0 && blank(s[*len - 1]))
        (*len)--;
    s[*len] = '\0';
    while (blank(*s)) {
        s++;
        (*len)--;
    }
    return s;
}

int ib_fetch_list_next(void *list, const char **url, const char **name)
{
    struct ib_fetch_list *l = list;
    ssize_t n;
    while ((n = getline(&l->line, &l->cap, l->f)) >= 0) {
        char *s = l->line;
        size_t len = (size_t)n;
        /* editors on some systems start a UTF-8 file with a byte-order
         * mark: it is not part of the first URL */
        if (!l->started && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
            s += 3;
            len -= 3;
        }
        l->started = 1;
        /* a NUL inside a line must not cut it into a plausible URL */
        for (size_t i = 0; i < len; i++)
            if (s[i] == '\0')
                s[i] = '\x01';
        while (len > 0 && blank(*s)) {
            s++;
            len--;
        }
        /*
         * URL<TAB>NAME: the first TAB after the URL ends it; the rest, even
         * with more TABs in it or nothing at all, is the name, for the run
         * to judge
         */
        char *tab = memchr(s, '\t', len), *nm = NULL;
        size_t ulen = tab ? (size_t)(tab - s) : len;
        if (tab) {
            size_t nlen = len - ulen - 1;
            nm = trim(tab + 1, &nlen);
        }
        s = trim(s, &ulen);
        if (*s == '\0' || *s == '#')
            continue;
        *url = s;
        if (name)
            *name = nm;
        return 1;
    }
    return ferror(l->f) ? -1 : 0;
}
