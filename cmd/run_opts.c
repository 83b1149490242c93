/*
 * cmd/run_opts.c: the options of imgbatch run. The rows repeat those of
 * imgbatch fetch and imgbatch transform with the same names, defaults and
 * checks; tests/cli/run_help.sh holds all three to the man page.
 */
#include "cmd/cmd.h"
#include "cmd/run.h"
#include "cmd/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME "run"

enum {   /* below CMD_FETCH_OPT_FIRST: the others are shared */
    OPT_DL_DIR = 256, OPT_PROCS, OPT_REPORT, OPT_FORCE, OPT_SHARD,
    OPT_FAIL_ON, OPT_PROGRESS,
};

static const struct cmd_option fixed_options[] = {
    {"out", required_argument, 'o', "DIR", "output folder (required)"},
    {"download-dir", required_argument, OPT_DL_DIR, "DIR",
     "downloads (default OUT/.downloads, OUT/.downloads-K-of-N with --shard)"},
    {"procs", required_argument, OPT_PROCS, "N",
     "worker processes (default: online CPUs)"},
    {"report", required_argument, OPT_REPORT, "FILE",
     "JSON Lines: one object per URL, then a summary"},
    {"force", no_argument, OPT_FORCE, NULL,
     "fetch unconditionally and redo every output"},
    {"shard", required_argument, OPT_SHARD, "K/N", CMD_SHARD_HELP},
    {"fail-on", required_argument, OPT_FAIL_ON, "WHEN",
     "exit 1 on: any failure (default), or more than P% failed"},
    {"quiet", no_argument, 'q', NULL, "errors only"},
    {"verbose", no_argument, 'v', NULL, "a line per item"},
    {"progress", required_argument, OPT_PROGRESS, "WHEN",
     "auto (stderr is a terminal, default), always or never"},
    {"help", no_argument, 'h', NULL, "this help"},
};
#define NFIXED (sizeof fixed_options / sizeof fixed_options[0])
#define MAXOPTS 64

/* run's own options, then those fetch has too, then transform's. */
static void build_options(struct cmd_option *opts)
{
    size_t n = 0;
    for (size_t i = 0; i < NFIXED; i++)
        opts[n++] = fixed_options[i];
    n = cmd_out_options(opts, n, MAXOPTS);
    n = cmd_fetch_options(opts, n, MAXOPTS);
    cmd_image_options(opts, n, MAXOPTS);
}

/* "any" or "P%" with P in 0..100; 0, or -1 if malformed. */
static int parse_fail_on(const char *v, double *pct)
{
    size_t n = strlen(v);
    char num[32];
    if (!strcmp(v, "any")) {
        *pct = -1;
        return 0;
    }
    if (n < 2 || n >= sizeof num || v[n - 1] != '%')
        return -1;
    memcpy(num, v, n - 1);
    num[n - 1] = '\0';
    return cmd_parse_double(num, 0, 100, pct);
}

/* One option that fetch and transform share with run; -1 if not one. */
static int parse_one(struct run_settings *s, int c, const char *v,
                     int *progress)
{
    char msg[256];

    switch (c) {
    case 'o': s->out = v; break;
    case OPT_DL_DIR:
        free(s->dl_dir);
        s->dl_dir = run_strdup(v);
        break;
    case OPT_PROCS:
        if (cmd_parse_uint(v, 1, 1024, &s->workers))
            return cmd_usage_error(NAME, "invalid --procs '%s' (1..1024)", v);
        break;
    case OPT_REPORT: s->report = v; break;
    case OPT_FORCE:
        s->force = 1;
        s->fetch.force = 1;
        break;
    case OPT_SHARD:
        if (cmd_shard_parse(&s->shard, v, msg, sizeof msg))
            return cmd_usage_error(NAME, "%s", msg);
        break;
    case OPT_FAIL_ON:
        if (parse_fail_on(v, &s->fail_pct))
            return cmd_usage_error(NAME, "invalid --fail-on '%s' (any or "
                                   "P%% with P in 0..100)", v);
        break;
    case 'q': s->quiet = 1; break;
    case 'v': s->verbose = 1; break;
    case OPT_PROGRESS:
        if (!strcmp(v, "auto"))
            *progress = -1;
        else if (!strcmp(v, "always"))
            *progress = 1;
        else if (!strcmp(v, "never"))
            *progress = 0;
        else
            return cmd_usage_error(NAME, "invalid --progress '%s' (auto, "
                                   "always or never)", v);
        break;
    default: {
        int rc = cmd_fetch_option(NAME, &s->fetch, c, v);
        if (rc < 0)
            rc = cmd_image_option(NAME, &s->img, c, v);
        if (rc > 0)
            return rc;
        if (rc < 0)
            return cmd_usage_error(NAME, "unhandled option");
        break;
    }
    }
    return -1;
}

/* The folders and the journal's name, per shard when sharded. */
static void default_names(struct run_settings *s)
{
    char b[96] = "";
    if (s->shard.n)
        snprintf(b, sizeof b, "-%llu-of-%llu", (unsigned long long)s->shard.k,
                 (unsigned long long)s->shard.n);
    char name[128];
    if (!s->dl_dir) {
        snprintf(name, sizeof name, ".downloads%s", b);
        s->dl_dir = run_join(s->out, name);
        s->dl_below = 1;
    }
    snprintf(name, sizeof name, ".imgbatch-run%s.tsv", b);
    s->journal = run_strdup(name);
}

int run_settings_parse(struct run_settings *s, int argc, char **argv,
                       const char *usage, const char *about)
{
    struct cmd_option opts[MAXOPTS];
    const char *v;
    int c, progress = -1;

    memset(s, 0, sizeof *s);
    cmd_fetch_opts_init(&s->fetch);
    s->fail_pct = -1;
    if (cmd_image_init(&s->img))
        return EXIT_FATAL;

    build_options(opts);
    optind = 1;
    while ((c = cmd_getopt(argc, argv, opts, &v)) != -1) {
        if (c == 'h') {
            cmd_print_help(stdout, usage, about, opts);
            return EXIT_ALL_OK;
        }
        if (c == '?')
            return EXIT_USAGE;
        if (!cmd_out_option(&s->oo, c, v))
            continue;
        int rc = parse_one(s, c, v, &progress);
        if (rc >= 0)
            return rc;
    }
    if (!s->out)
        return cmd_usage_error(NAME, "missing -o/--out DIR");
    if (optind != argc - 1)
        return cmd_usage_error(NAME, optind >= argc ? "no URL list given"
                                                    : "one URL list only");
    s->progress = progress < 0 ? !s->quiet && isatty(2) : progress;
    default_names(s);
    /* checked before anything is touched */
    if (!s->dl_below && cmd_path_within(s->out, s->dl_dir))
        return cmd_usage_error(NAME, "--download-dir '%s' holds the output "
                               "folder '%s': outputs would replace the "
                               "downloads they are made from", s->dl_dir,
                               s->out);
    const char *list = argv[optind];
    if (s->report && strcmp(list, "-") && cmd_path_within(s->report, list))
        return cmd_usage_error(NAME, "--report '%s' would overwrite the URL "
                               "list", s->report);
    if (s->report && (cmd_path_within(s->report, s->out) ||
                      cmd_path_within(s->report, s->dl_dir)))
        return cmd_usage_error(NAME, "--report '%s' is inside the output "
                               "folder '%s'", s->report,
                               cmd_path_within(s->report, s->out)
                                   ? s->out : s->dl_dir);
    if (cmd_log_check(NAME, s->oo.log, s->report, argv + optind, 1, s->out,
                      s->dl_dir))
        return EXIT_USAGE;
    return -1;
}

void run_settings_release(struct run_settings *s)
{
    cmd_image_release(&s->img);
    free(s->dl_dir);
    free(s->journal);
    s->dl_dir = s->journal = NULL;
}

int run_make_dl_dir(const struct run_settings *s, int out_fd, char *msg,
                    size_t msglen)
{
    int fd;
    if (s->dl_below) {
        /* a symlink planted there must not send downloads elsewhere */
        fd = walk_open_below(out_fd, s->dl_dir + strlen(s->out) + 1);
        if (fd < 0 && errno == ELOOP) {
            snprintf(msg, msglen, "'%s' is a symlink, not followed",
                     s->dl_dir);
            return -1;
        }
    } else {
        fd = walk_make_dir(s->dl_dir) ? -1
             : open(s->dl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0)
        snprintf(msg, msglen, "cannot create '%s': %s", s->dl_dir,
                 strerror(errno));
    return fd;
}
