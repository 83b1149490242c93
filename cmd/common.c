/* cmd/common.c: option parsing, the JSON Lines report, signals. */
#include "cmd/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile int cmd_stop;

/*
 * Help text wrapped at a word within 80 columns; a continued line never
 * starts with '-', since bash completion reads "--name" at a line's start
 * as an option.
 */
static void print_wrapped(FILE *f, const char *help, int indent)
{
    const int width = 80 - indent;
    for (;;) {
        int n = (int)strlen(help);
        if (n > width) {
            n = width;
            while (n > 0 && (help[n] != ' ' || help[n + 1] == '-'))
                n--;
            if (n == 0)
                n = (int)strlen(help);
        }
        fprintf(f, "%.*s\n", n, help);
        if (!help[n])
            return;
        help += n + 1;
        fprintf(f, "%*s", indent, "");
    }
}

void cmd_print_option(FILE *f, const struct cmd_option *o)
{
    char left[64];
    if (o->val > 0 && o->val < 128)
        snprintf(left, sizeof left, "-%c, --%s%s%s", o->val, o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
    else
        snprintf(left, sizeof left, "    --%s%s%s", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
    int w = fprintf(f, "  %-26s ", left);
    if (w > 50)
        w = fprintf(f, "\n%*s", 29, "") - 1;
    print_wrapped(f, o->help ? o->help : "", w);
}

void cmd_print_help(FILE *f, const char *usage, const char *about,
                    const struct cmd_option *opts)
{
    fprintf(f, "usage: %s\n\n%s\n", usage, about);
    if (opts && opts[0].name)
        fprintf(f, "\noptions:\n");
    for (const struct cmd_option *o = opts; o && o->name; o++)
        cmd_print_option(f, o);
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "imgbatch %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nhint: see 'imgbatch help %s'\n", cmd);
    return EXIT_USAGE;
}

/* Appends s to the line being built, control bytes shown as '?'. */
static void put_printable(char *line, size_t *n, size_t cap, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*n + 1 < cap)
            line[(*n)++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
}

void cmd_item_error(const char *cmd, const char *verb, const char *what,
                    const char *why)
{
    /* built whole and written once: stderr is unbuffered, and a byte per
     * write costs thousands of system calls on a night of failures */
    char line[8192];   /* a path (PATH_MAX) and a message naming another */
    size_t n = (size_t)snprintf(line, sizeof line, "imgbatch %s: cannot %s '",
                                cmd, verb);
    if (n >= sizeof line)
        n = sizeof line - 1;
    put_printable(line, &n, sizeof line, what);
    put_printable(line, &n, sizeof line, "': ");
    put_printable(line, &n, sizeof line, why);
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
    cmd_log_line(line, n);   /* --log */
}

int cmd_getopt(int argc, char **argv, const struct cmd_option *opts,
               const char **optarg_out)
{
    struct option lo[64];
    char so[128];
    size_t n = 0, s = 0;

    so[s++] = ':';   /* report a missing value as ':' */
    for (const struct cmd_option *o = opts; o->name && n < 63; o++, n++) {
        lo[n] = (struct option){o->name, o->has_arg, NULL, o->val};
        if (o->val > 0 && o->val < 128 && s + 3 < sizeof so) {
            so[s++] = (char)o->val;
            if (o->has_arg == required_argument)
                so[s++] = ':';
        }
    }
    lo[n] = (struct option){0, 0, 0, 0};
    so[s] = '\0';

    opterr = 0;
    int c = getopt_long(argc, argv, so, lo, NULL);
    *optarg_out = optarg;
    if (c == '?' || c == ':') {
        /* getopt permutes argv: the culprit is the element just read */
        const char *what = optind > 0 && optind <= argc ? argv[optind - 1]
                                                        : "?";
        if (c == ':')
            cmd_usage_error(argv[0], "option '%s' needs a value", what);
        else if (optopt && optopt < 128 && what[1] != '-')
            cmd_usage_error(argv[0], "unknown option '-%c'", optopt);
        else
            cmd_usage_error(argv[0], "unknown option '%s'", what);
        return '?';
    }
    return c;
}

int cmd_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    /* digits only: strtoull alone skips blanks and takes a sign */
    if (!s || !*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cmd_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    uint64_t v;
    if (cmd_parse_u64(s, min, max, &v))
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cmd_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    /* plain decimals only: strtod alone takes " 50", "0x10", "1e3", "inf" */
    const char *p = s && *s == '-' ? s + 1 : s;
    if (!p || *p < '0' || *p > '9' || strspn(p, "0123456789.") != strlen(p))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

double cmd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void json_grow(struct cmd_json *j, size_t more)
{
    if (j->len + more + 1 <= j->cap)
        return;
    size_t cap = j->cap ? j->cap : 256;
    while (cap < j->len + more + 1)
        cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b)
        abort();   /* a report line is tiny: out of memory here is fatal */
    j->buf = b;
    j->cap = cap;
}

static void json_raw(struct cmd_json *j, const char *s, size_t n)
{
    json_grow(j, n);
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

/*
 * Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are invalid.
 */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    size_t n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    unsigned char lo = 0x80, hi = 0xbf;   /* bounds of the second byte */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A JSON string; bytes that are not UTF-8 (file names can hold any) become
 * U+FFFD, so the report always parses. */
static void json_quoted(struct cmd_json *j, const char *s)
{
    json_raw(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char esc[8];
        size_t n = utf8_len(p);
        if (n == 0) {
            json_raw(j, "\\ufffd", 6);
            p++;
        } else if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            json_raw(j, esc, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            json_raw(j, esc, 6);
            p++;
        } else {
            json_raw(j, (const char *)p, n);
            p += n;
        }
    }
    json_raw(j, "\"", 1);
}

static void json_key(struct cmd_json *j, const char *key)
{
    if (!j->first)
        json_raw(j, ",", 1);
    j->first = 0;
    json_quoted(j, key);
    json_raw(j, ":", 1);
}

void cmd_json_begin(struct cmd_json *j)
{
    j->len = 0;
    j->first = 1;
    json_raw(j, "{", 1);
}

void cmd_json_str(struct cmd_json *j, const char *key, const char *val)
{
    json_key(j, key);
    if (val)
        json_quoted(j, val);
    else
        json_raw(j, "null", 4);
}

void cmd_json_int(struct cmd_json *j, const char *key, long long val)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", val);
    json_key(j, key);
    json_raw(j, b, (size_t)n);
}

void cmd_json_num(struct cmd_json *j, const char *key, double val)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%.3f", isfinite(val) ? val : 0.0);
    json_key(j, key);
    json_raw(j, b, (size_t)n);
}

void cmd_json_bool(struct cmd_json *j, const char *key, int val)
{
    json_key(j, key);
    json_raw(j, val ? "true" : "false", val ? 4 : 5);
}

void cmd_json_null(struct cmd_json *j, const char *key)
{
    json_key(j, key);
    json_raw(j, "null", 4);
}

/* Nesting: a key (NULL inside an array), then "[" or "{"; the next value
 * is the first inside it. */
static void json_open(struct cmd_json *j, const char *key, const char *c)
{
    if (key)
        json_key(j, key);
    else if (!j->first)
        json_raw(j, ",", 1);
    json_raw(j, c, 1);
    j->first = 1;
}

void cmd_json_array_begin(struct cmd_json *j, const char *key)
{
    json_open(j, key, "[");
}

void cmd_json_object_begin(struct cmd_json *j, const char *key)
{
    json_open(j, key, "{");
}

void cmd_json_array_end(struct cmd_json *j)
{
    json_raw(j, "]", 1);
    j->first = 0;
}

void cmd_json_object_end(struct cmd_json *j)
{
    json_raw(j, "}", 1);
    j->first = 0;
}

void cmd_json_end(struct cmd_json *j)
{
    json_raw(j, "}\n", 2);
}

void cmd_json_release(struct cmd_json *j)
{
    free(j->buf);
    j->buf = NULL;
    j->len = j->cap = 0;
}

int cmd_report_open(struct cmd_report *r, const char *cmd, const char *path)
{
    r->f = NULL;
    r->path = NULL;
    r->err = 0;
    if (!path)
        return 0;
    r->f = fopen(path, "w");
    if (!r->f) {
        fprintf(stderr, "imgbatch %s: cannot open report '%s': %s\n", cmd,
                path, strerror(errno));
        return -1;
    }
    r->path = strdup(path);
    return 0;
}

void cmd_report_write(struct cmd_report *r, const struct cmd_json *j)
{
    if (!r->f)
        return;
    /* flushed: a killed run keeps every line written so far */
    errno = 0;
    if ((fwrite(j->buf, 1, j->len, r->f) != j->len || fflush(r->f)) &&
        !r->err)
        r->err = errno ? errno : EIO;
}

int cmd_report_close(struct cmd_report *r, const char *cmd)
{
    int rc = 0;
    if (r->f) {
        int bad = ferror(r->f);
        if (fclose(r->f) && !r->err)
            r->err = errno ? errno : EIO;
        if (bad || r->err) {
            fprintf(stderr, "imgbatch %s: cannot write report '%s': %s\n",
                    cmd, r->path, strerror(r->err ? r->err : EIO));
            rc = -1;
        }
    }
    free(r->path);
    r->f = NULL;
    r->path = NULL;
    return rc;
}

static void on_signal(int sig)
{
    cmd_stop = sig;
}

void cmd_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* a closed terminal (SIGHUP) or ^\ (SIGQUIT) is a stop like any
     * other: tidy up, write the summary, exit 128 + signal */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
}
