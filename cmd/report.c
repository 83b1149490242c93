/*
 * cmd/report.c: imgbatch report [--json] [--top N] REPORT...
 *
 * Merges the JSON Lines reports of several shards (or nights) of fetch,
 * transform or run into one answer: items per status, failures grouped by
 * their error, the slowest items. An item is a line without "summary";
 * its key is "url" (fetch, run) or "input" (transform). Lines that do not
 * parse (a report cut by a kill) are counted, not fatal.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define NAME "report"

enum { OPT_JSON = 256, OPT_TOP };

static const struct cmd_option options[] = {
    {"json", no_argument, OPT_JSON, NULL, "one JSON object on stdout"},
    {"top", required_argument, OPT_TOP, "N", "slowest items listed (10)"},
    {"help", no_argument, 'h', NULL, "this help"},
    {0, 0, 0, 0, 0},
};

static const char usage_line[] = "imgbatch report [--json] REPORT...";
static const char about[] =
    "Merges --report files of fetch, transform or run (the shards of one\n"
    "job, or several nights) into one summary: items per status, failures\n"
    "grouped by error, the slowest items. exit: 0 no item failed, 1 some\n"
    "failed, 2 usage error, 3 a report cannot be read.";

/* One line's fields that the summary needs; strings owned. */
struct line {
    int summary;
    char *key, *status, *error, *stage;
    double ms;   /* ms, or fetch_ms + transform_ms; -1 when absent */
};

static void line_release(struct line *l)
{
    free(l->key);
    free(l->status);
    free(l->error);
    free(l->stage);
    memset(l, 0, sizeof *l);
}

/* ---- a small reader for the flat JSON objects imgbatch writes ---- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static void put_utf8(char **o, unsigned long c)
{
    unsigned char *u = (unsigned char *)*o;
    if (c < 0x80) {
        *u++ = (unsigned char)c;
    } else if (c < 0x800) {
        *u++ = (unsigned char)(0xc0 | c >> 6);
        *u++ = (unsigned char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        *u++ = (unsigned char)(0xe0 | c >> 12);
        *u++ = (unsigned char)(0x80 | (c >> 6 & 0x3f));
        *u++ = (unsigned char)(0x80 | (c & 0x3f));
    } else {
        *u++ = (unsigned char)(0xf0 | c >> 18);
        *u++ = (unsigned char)(0x80 | (c >> 12 & 0x3f));
        *u++ = (unsigned char)(0x80 | (c >> 6 & 0x3f));
        *u++ = (unsigned char)(0x80 | (c & 0x3f));
    }
    *o = (char *)u;
}

static int hex4(const char *p, unsigned long *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (unsigned long)d;
    }
    return 0;
}

/* A JSON string at p (at its '"'): *out owned (may be NULL to skip);
 * returns the byte after it, or NULL if malformed. */
static const char *str(const char *p, char **out)
{
    char *buf = malloc(strlen(p) + 1), *o = buf;
    if (!buf || *p++ != '"') {
        free(buf);
        return NULL;
    }
    while (*p && *p != '"') {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        unsigned long c, lo;
        switch (*p) {
        case '"': case '\\': case '/': *o++ = *p; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if (hex4(p + 1, &c))
                goto bad;
            p += 4;
            if (c >= 0xd800 && c < 0xdc00 && p[1] == '\\' && p[2] == 'u' &&
                !hex4(p + 3, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            put_utf8(&o, c);
            break;
        default:
            goto bad;
        }
        p++;
    }
    if (*p != '"')
        goto bad;
    *o = '\0';
    if (out)
        *out = buf;
    else
        free(buf);
    return p + 1;
bad:
    free(buf);
    return NULL;
}

/* Skips any JSON value (nesting bounded); NULL if malformed. */
static const char *skip(const char *p, int depth)
{
    p = ws(p);
    if (*p == '"')
        return str(p, NULL);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        if (depth > 16)
            return NULL;
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = str(ws(p), NULL);
                if (!p || *(p = ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = skip(p, depth + 1);
            if (!p)
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    size_t n = strspn(p, "0123456789+-.eEtruefalsn");
    return n ? p + n : NULL;
}

/* Parses one report line into *l; 0, or -1 if it is not a JSON object. */
static int parse_line(const char *p, struct line *l)
{
    double fetch_ms = -1, transform_ms = -1;
    memset(l, 0, sizeof *l);
    l->ms = -1;
    p = ws(p);
    if (*p++ != '{')
        return -1;
    p = ws(p);
    while (*p != '}') {
        char *key = NULL, **dst = NULL;
        p = str(p, &key);
        if (!p || *(p = ws(p)) != ':') {
            free(key);
            goto bad;
        }
        p = ws(p + 1);
        if (!strcmp(key, "url") || !strcmp(key, "input"))
            dst = &l->key;
        else if (!strcmp(key, "status"))
            dst = &l->status;
        else if (!strcmp(key, "error"))
            dst = &l->error;
        else if (!strcmp(key, "stage"))
            dst = &l->stage;
        if (dst && *p == '"') {
            free(*dst);
            p = str(p, dst);
        } else if (!strcmp(key, "summary")) {
            l->summary = !strncmp(p, "true", 4);
            p = skip(p, 0);
        } else if (!strcmp(key, "ms") || !strcmp(key, "fetch_ms") ||
                   !strcmp(key, "transform_ms")) {
            /* "ms": the item time of fetch and transform reports before
             * schema imgbatch-report/2 (docs/report.md) */
            char *end;
            double v = strtod(p, &end);
            if (end == p) {
                p = skip(p, 0);   /* null */
            } else {
                p = end;
                if (key[0] == 'm')
                    l->ms = v;
                else if (key[0] == 'f')
                    fetch_ms = v;
                else
                    transform_ms = v;
            }
        } else {
            p = skip(p, 0);
        }
        free(key);
        if (!p)
            goto bad;
        p = ws(p);
        if (*p == ',')
            p = ws(p + 1);
        else if (*p != '}')
            goto bad;
    }
    if (l->ms < 0 && (fetch_ms >= 0 || transform_ms >= 0))
        l->ms = (fetch_ms > 0 ? fetch_ms : 0) +
                (transform_ms > 0 ? transform_ms : 0);
    return 0;
bad:
    line_release(l);
    return -1;
}

/* ---- merging ---- */

struct tally {
    char *name;   /* owned */
    size_t n;
};

struct failure {
    char *error;   /* owned: "stage: error" */
    const char *key;   /* borrowed from keys[] */
};

struct timed {
    const char *key;   /* borrowed */
    double ms;
};

struct merged {
    size_t files, lines, items, unreadable, summaries;
    struct tally *status;   /* owned, nstatus of them, in order seen */
    size_t nstatus;
    char **keys;            /* owned, one per item (NULL if it had none) */
    struct failure *fail;   /* owned */
    size_t nfail;
    struct timed *timed;    /* owned */
    size_t ntimed;
};

static _Noreturn void oom(void)
{
    fprintf(stderr, "imgbatch report: out of memory\n");
    exit(EXIT_FATAL);
}

/* Room for element n of an array of n: capacity doubles each time n
 * reaches a power of two, so the capacity need not be stored. */
static void *grow(void *p, size_t n, size_t size)
{
    if (n != 0 && (n & (n - 1)) != 0)
        return p;
    void *q = realloc(p, (n ? 2 * n : 1) * size);
    if (!q)
        oom();
    return q;
}

static void add_status(struct merged *m, const char *s)
{
    for (size_t i = 0; i < m->nstatus; i++)
        if (!strcmp(m->status[i].name, s)) {
            m->status[i].n++;
            return;
        }
    m->status = grow(m->status, m->nstatus, sizeof *m->status);
    m->status[m->nstatus].name = strdup(s);
    if (!m->status[m->nstatus].name)
        oom();
    m->status[m->nstatus++].n = 1;
}

static void add_line(struct merged *m, struct line *l)
{
    if (l->summary) {
        m->summaries++;
        return;
    }
    m->items++;
    add_status(m, l->status ? l->status : "(none)");
    m->keys = grow(m->keys, m->items - 1, sizeof *m->keys);
    m->keys[m->items - 1] = l->key;
    const char *key = l->key ? l->key : "(no key)";
    l->key = NULL;   /* handed to keys[] */
    if (l->status && !strcmp(l->status, "failed")) {
        m->fail = grow(m->fail, m->nfail, sizeof *m->fail);
        const char *e = l->error ? l->error : "(no error given)";
        size_t n = strlen(e) + (l->stage ? strlen(l->stage) : 0) + 3;
        char *text = malloc(n);
        if (!text)
            oom();
        snprintf(text, n, "%s%s%s", l->stage ? l->stage : "",
                 l->stage ? ": " : "", e);
        m->fail[m->nfail].error = text;
        m->fail[m->nfail++].key = key;
    }
    if (l->ms >= 0) {
        m->timed = grow(m->timed, m->ntimed, sizeof *m->timed);
        m->timed[m->ntimed].key = key;
        m->timed[m->ntimed++].ms = l->ms;
    }
}

static int read_report(struct merged *m, const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "imgbatch report: cannot read '%s': %s\n", path,
                strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) > 0) {
        struct line l;
        m->lines++;
        if (parse_line(buf, &l)) {
            m->unreadable++;
            continue;
        }
        add_line(m, &l);
        line_release(&l);
    }
    free(buf);
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err) {
        fprintf(stderr, "imgbatch report: cannot read '%s'\n", path);
        return -1;
    }
    m->files++;
    return 0;
}

/* Statuses in the order an operator reads them; unknown ones after. */
static int status_rank(const char *s)
{
    static const char *const order[] = {"ok", "unchanged", "skipped",
                                        "interrupted", "failed"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, order[i]))
            return i;
    return 5;
}

static int cmp_tally(const void *a, const void *b)
{
    const struct tally *x = a, *y = b;
    int c = status_rank(x->name) - status_rank(y->name);
    return c ? c : strcmp(x->name, y->name);
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return !x ? (y ? -1 : 0) : !y ? 1 : strcmp(x, y);
}

static int cmp_fail(const void *a, const void *b)
{
    const struct failure *x = a, *y = b;
    int c = strcmp(x->error, y->error);
    return c ? c : strcmp(x->key, y->key);
}

static int cmp_timed(const void *a, const void *b)
{
    const struct timed *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : strcmp(x->key, y->key);
}

/* An error group: count, the text, the first item (by key) as example. */
struct group {
    size_t n;
    const struct failure *first;
};

static int cmp_group(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1
                                         : strcmp(x->first->error,
                                                  y->first->error);
}

static size_t group_failures(const struct merged *m, struct group **out)
{
    struct group *g = NULL;
    size_t ng = 0;
    for (size_t i = 0; i < m->nfail; i++) {
        if (ng && !strcmp(g[ng - 1].first->error, m->fail[i].error)) {
            g[ng - 1].n++;
            continue;
        }
        g = grow(g, ng, sizeof *g);
        g[ng].n = 1;
        g[ng++].first = &m->fail[i];
    }
    if (ng)
        qsort(g, ng, sizeof *g, cmp_group);
    *out = g;
    return ng;
}

static size_t distinct_keys(struct merged *m)
{
    size_t d = 0;
    for (size_t i = 0; i < m->items; i++)
        d += i == 0 || cmp_str(&m->keys[i - 1], &m->keys[i]) != 0;
    return d;
}

static void print_json(const struct merged *m, size_t distinct,
                       const struct group *g, size_t ng, size_t top)
{
    struct cmd_json j = {0};
    /* the writer makes flat objects: the nested parts are spliced, each
     * object without its closing "}\n" or "\n" */
    cmd_json_begin(&j);
    cmd_json_int(&j, "files", (long long)m->files);
    cmd_json_int(&j, "items", (long long)m->items);
    cmd_json_int(&j, "distinct", (long long)distinct);
    cmd_json_int(&j, "unreadable_lines", (long long)m->unreadable);
    cmd_json_end(&j);
    j.buf[j.len - 2] = '\0';
    printf("%s,\"status\":", j.buf);
    cmd_json_begin(&j);
    for (size_t i = 0; i < m->nstatus; i++)
        cmd_json_int(&j, m->status[i].name, (long long)m->status[i].n);
    cmd_json_end(&j);
    j.buf[j.len - 1] = '\0';
    fputs(j.buf, stdout);
    fputs(",\"errors\":[", stdout);
    for (size_t i = 0; i < ng; i++) {
        cmd_json_begin(&j);
        cmd_json_int(&j, "count", (long long)g[i].n);
        cmd_json_str(&j, "error", g[i].first->error);
        cmd_json_str(&j, "example", g[i].first->key);
        cmd_json_end(&j);
        j.buf[j.len - 1] = '\0';   /* no newline inside the object */
        printf("%s%s", i ? "," : "", j.buf);
    }
    fputs("],\"slowest\":[", stdout);
    for (size_t i = 0; i < m->ntimed && i < top; i++) {
        cmd_json_begin(&j);
        cmd_json_str(&j, "item", m->timed[i].key);
        cmd_json_num(&j, "ms", m->timed[i].ms);
        cmd_json_end(&j);
        j.buf[j.len - 1] = '\0';
        printf("%s%s", i ? "," : "", j.buf);
    }
    fputs("]}\n", stdout);
    cmd_json_release(&j);
}

static void print_table(const struct merged *m, size_t distinct,
                        const struct group *g, size_t ng, size_t top)
{
    printf("%zu report%s, %zu items (%zu distinct)", m->files,
           m->files == 1 ? "" : "s", m->items, distinct);
    if (m->unreadable)
        printf(", %zu unreadable lines", m->unreadable);
    printf("\n\n");
    for (size_t i = 0; i < m->nstatus; i++)
        printf("  %-12s %8zu\n", m->status[i].name, m->status[i].n);
    if (ng) {
        printf("\nfailures by error:\n");
        for (size_t i = 0; i < ng; i++)
            printf("  %8zu  %s\n            e.g. %s\n", g[i].n,
                   g[i].first->error, g[i].first->key);
    }
    if (m->ntimed && top) {
        printf("\nslowest:\n");
        for (size_t i = 0; i < m->ntimed && i < top; i++)
            printf("  %10.1f ms  %s\n", m->timed[i].ms, m->timed[i].key);
    }
}

int cmd_report(int argc, char **argv)
{
    const char *v;
    int c, json = 0;
    unsigned top = 10;

    optind = 1;
    while ((c = cmd_getopt(argc, argv, options, &v)) != -1) {
        switch (c) {
        case 'h':
            cmd_print_help(stdout, usage_line, about, options);
            return EXIT_ALL_OK;
        case OPT_JSON: json = 1; break;
        case OPT_TOP:
            if (cmd_parse_uint(v, 0, 1000000, &top))
                return cmd_usage_error(NAME, "invalid --top '%s' (0..1000000)",
                                       v);
            break;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return cmd_usage_error(NAME, "no REPORT given");

    struct merged m;
    memset(&m, 0, sizeof m);
    int rc = EXIT_ALL_OK;
    for (int i = optind; i < argc && rc == EXIT_ALL_OK; i++)
        if (read_report(&m, argv[i]))
            rc = EXIT_FATAL;

    struct group *g = NULL;
    size_t ng = 0;
    if (rc == EXIT_ALL_OK) {
        if (m.nstatus)
            qsort(m.status, m.nstatus, sizeof *m.status, cmp_tally);
        if (m.nfail)
            qsort(m.fail, m.nfail, sizeof *m.fail, cmp_fail);
        if (m.ntimed)
            qsort(m.timed, m.ntimed, sizeof *m.timed, cmp_timed);
        ng = group_failures(&m, &g);
        /* after the keys are borrowed: sorting keys[] moves only pointers */
        if (m.items)
            qsort(m.keys, m.items, sizeof *m.keys, cmp_str);
        size_t distinct = distinct_keys(&m);
        if (json)
            print_json(&m, distinct, g, ng, top);
        else
            print_table(&m, distinct, g, ng, top);
        if (m.unreadable)
            fprintf(stderr, "imgbatch report: %zu line%s could not be read "
                    "(a report cut short?)\n", m.unreadable,
                    m.unreadable == 1 ? "" : "s");
        rc = m.nfail ? EXIT_SOME_FAILED : EXIT_ALL_OK;
    }
    free(g);
    for (size_t i = 0; i < m.nstatus; i++)
        free(m.status[i].name);
    for (size_t i = 0; i < m.nfail; i++)
        free(m.fail[i].error);
    for (size_t i = 0; i < m.items; i++)
        free(m.keys[i]);
    free(m.status);
    free(m.fail);
    free(m.keys);
    free(m.timed);
    return rc;
}
