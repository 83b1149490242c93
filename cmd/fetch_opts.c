/*
 * cmd/fetch_opts.c: the download options fetch and run share: one table of
 * rows (so help, parsing and the man page agree) and one parser.
 */
#include "cmd/cmd.h"

#include <getopt.h>
#include <string.h>

enum {
    OPT_CONCURRENCY = CMD_FETCH_OPT_FIRST, OPT_PER_HOST, OPT_RETRIES,
    OPT_TIMEOUT, OPT_MAX_SIZE, OPT_INSECURE, OPT_HOST_BREAKER,
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
};
#define NFETCH (sizeof fetch_options / sizeof fetch_options[0])

void cmd_fetch_opts_init(struct ib_fetch_opts *o)
{
    memset(o, 0, sizeof *o);
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
    }
    return -1;
}
