/*
 * cmd/fetch_opts.c: the download options fetch and run share: one table of
 * rows (so help, parsing and the man page agree) and one parser.
 */
#include "cmd/cmd.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_CONCURRENCY = CMD_FETCH_OPT_FIRST, OPT_PER_HOST, OPT_RETRIES,
    OPT_TIMEOUT, OPT_MAX_SIZE, OPT_INSECURE, OPT_HOST_BREAKER,
    OPT_USER_AGENT, OPT_NETRC, OPT_NETRC_FILE, OPT_PROXY, OPT_LIMIT_RATE,
    OPT_COOKIE_FILE,
};

static const struct cmd_option fetch_options[] = {
    {"concurrency", required_argument, 'c', "N", "transfers in flight (32)"},
    {"per-host", required_argument, OPT_PER_HOST, "N",
     "connections per host (8)"},
    {"retries", required_argument, OPT_RETRIES, "N",
     "retry connect errors, timeouts, 408/429/5xx (3)"},
    {"host-breaker", required_argument, OPT_HOST_BREAKER, "N",
     "give up a host after N failed connects (10; 0 off)"},
    {"timeout", required_argument, OPT_TIMEOUT, "SECONDS",
     "per transfer, also a stall limit (300; 0 none)"},
    {"max-size", required_argument, OPT_MAX_SIZE, "BYTES",
     "refuse and remove larger bodies"},
    {"insecure", no_argument, OPT_INSECURE, NULL,
     "do not verify TLS certificates"},
    {"header", required_argument, 'H', "HEADER",
     "'Name: value' to send (repeatable; never printed)"},
    {"user-agent", required_argument, OPT_USER_AGENT, "STRING",
     "User-Agent header (imgbatch-fetch)"},
    {"netrc", no_argument, OPT_NETRC, NULL,
     "credentials from ~/.netrc for hosts it names"},
    {"netrc-file", required_argument, OPT_NETRC_FILE, "FILE",
     "credentials from FILE instead of ~/.netrc"},
    {"proxy", required_argument, OPT_PROXY, "URL",
     "through this proxy (else $http_proxy, $https_proxy apply)"},
    {"limit-rate", required_argument, OPT_LIMIT_RATE, "RATE",
     "bytes/s for all transfers together: 200K, 1.5M, 1G"},
    {"cookie-file", required_argument, OPT_COOKIE_FILE, "FILE",
     "send cookies from FILE (Netscape format; never written)"},
};
#define NFETCH (sizeof fetch_options / sizeof fetch_options[0])

/* -H values, borrowed from argv; one command line per process */
#define MAX_HEADERS 64
static const char *headers[MAX_HEADERS];

void cmd_fetch_opts_init(struct ib_fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->headers = headers;
    o->concurrency = 32;
    o->per_host = 8;
    o->retries = 3;
    /*
     * More than per_host connections failing at once, and more than one
     * URL's 4 attempts; few enough that a dead host among good ones costs
     * them nothing and 50,000 URLs to it fail in a second.
     */
    o->host_breaker = 10;
    o->timeout_s = 300;
}

size_t cmd_fetch_options(struct cmd_option *opts, size_t n, size_t max)
{
    for (size_t i = 0; i < NFETCH && n < max - 1; i++)
        opts[n++] = fetch_options[i];
    opts[n] = (struct cmd_option){0};
    return n;
}

/*
 * "Name: value" (or curl's "Name:", which removes a header curl would
 * send). The value is a secret as far as messages go: never echoed.
 */
static int add_header(const char *cmd, struct ib_fetch_opts *o, const char *v)
{
    size_t name = strcspn(v, ":");
    if (!v[name] || !name || strcspn(v, " \t") < name)
        return cmd_usage_error(cmd, "invalid --header: 'NAME: VALUE' "
                               "expected");
    if (strpbrk(v, "\r\n"))
        return cmd_usage_error(cmd, "invalid --header '%.*s': it holds a "
                               "line break", (int)name, v);
    if (o->nheaders == MAX_HEADERS)
        return cmd_usage_error(cmd, "more than %d --header options",
                               MAX_HEADERS);
    headers[o->nheaders++] = v;
    return 0;
}

/* curl's RATE: bytes per second, a decimal with K, M or G (1024-based) */
static int parse_rate(const char *v, uint64_t *out)
{
    char num[32];
    size_t n = strlen(v);
    double mult = 1, d;
    const char *units = "kKmMgG", *u = n ? strchr(units, v[n - 1]) : NULL;
    if (u) {
        static const double m[] = {1 << 10, 1 << 20, 1 << 30};
        mult = m[(u - units) / 2];
        n--;
    }
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, v, n);
    num[n] = '\0';
    if (cmd_parse_double(num, 0, 1e15, &d) || d * mult < 1)
        return -1;
    *out = (uint64_t)(d * mult);
    return 0;
}

int cmd_fetch_option(const char *cmd, struct ib_fetch_opts *o, int c,
                     const char *v)
{
    switch (c) {
    case 'c':
        if (cmd_parse_uint(v, 1, 100000, &o->concurrency))
            return cmd_usage_error(cmd, "invalid --concurrency '%s' "
                                   "(1..100000)", v);
        return 0;
    case OPT_PER_HOST:
        if (cmd_parse_uint(v, 1, 10000, &o->per_host))
            return cmd_usage_error(cmd, "invalid --per-host '%s' (1..10000)",
                                   v);
        return 0;
    case OPT_RETRIES:
        if (cmd_parse_uint(v, 0, 100, &o->retries))
            return cmd_usage_error(cmd, "invalid --retries '%s' (0..100)", v);
        return 0;
    case OPT_TIMEOUT:
        if (cmd_parse_double(v, 0, 86400 * 7, &o->timeout_s))
            return cmd_usage_error(cmd, "invalid --timeout '%s' (seconds, "
                                   "0 for none)", v);
        return 0;
    case OPT_MAX_SIZE:
        if (cmd_parse_u64(v, 1, UINT64_MAX, &o->max_size))
            return cmd_usage_error(cmd, "invalid --max-size '%s' (bytes)", v);
        return 0;
    case OPT_HOST_BREAKER:
        if (cmd_parse_uint(v, 0, 1000000, &o->host_breaker))
            return cmd_usage_error(cmd, "invalid --host-breaker '%s' "
                                   "(0..1000000)", v);
        return 0;
    case OPT_INSECURE:
        o->insecure = 1;
        return 0;
    case 'H':
        return add_header(cmd, o, v);
    case OPT_USER_AGENT:
        if (strpbrk(v, "\r\n"))
            return cmd_usage_error(cmd, "invalid --user-agent: it holds a "
                                   "line break");
        o->user_agent = v;
        return 0;
    case OPT_NETRC:
        o->netrc = 1;
        return 0;
    case OPT_NETRC_FILE:
        if (access(v, R_OK))
            return cmd_usage_error(cmd, "cannot read --netrc-file '%s'", v);
        o->netrc_file = v;
        return 0;
    case OPT_COOKIE_FILE:
        /* curl ignores a missing cookie file; a typo here would silently
         * send no cookies all night */
        if (access(v, R_OK))
            return cmd_usage_error(cmd, "cannot read --cookie-file '%s'", v);
        o->cookie_file = v;
        return 0;
    case OPT_PROXY:
        o->proxy = v;
        return 0;
    case OPT_LIMIT_RATE:
        if (parse_rate(v, &o->limit_rate))
            return cmd_usage_error(cmd, "invalid --limit-rate '%s' (bytes "
                                   "per second: 200K, 1.5M, 1G)", v);
        return 0;
    }
    return -1;
}
