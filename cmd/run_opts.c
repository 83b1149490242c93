/*
 * cmd/run_opts.c: the options of imgbatch run: its own, then the download
 * options fetch has too, the image options transform has too and the
 * common ones (cmd/batch.h), with the same names, defaults and checks;
 * tests/cli/run_help.sh holds all three to the man page.
 */
#include "cmd/cmd.h"
#include "cmd/render.h"
#include "cmd/run_int.h"
#include "cmd/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME "run"

enum {   /* below the common, download and image options' codes */
    OPT_DL_DIR = 256, OPT_PROCS, OPT_FAIL_ON, OPT_DRY_RUN,
};

static const struct cmd_option own_options[] = {
    {"download-dir", required_argument, OPT_DL_DIR, "DIR",
     "default OUT/.downloads[-K-of-N with --shard]"},
    {"procs", required_argument, OPT_PROCS, "N",
     "worker processes (default: online CPUs)"},
    {"fail-on", required_argument, OPT_FAIL_ON, "WHEN",
     "exit 1 on any failure (default) or over P% failed"},
    {"dry-run", no_argument, OPT_DRY_RUN, NULL,
     "list what would be downloaded (anew, or asked if changed) and made "
     "(and why), what would fail; fetch and write nothing"},
};
#define NOWN (sizeof own_options / sizeof own_options[0])
#define MAXOPTS 64

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

/* One of run's own options, or a download or image option. */
static int own_option(void *ctx, int c, const char *v)
{
    struct run_settings *s = ctx;

    switch (c) {
    case OPT_DRY_RUN:
        s->dry_run = 1;
        return 0;
    case OPT_DL_DIR:
        free(s->dl_dir);
        s->dl_dir = cmd_strdup(v);
        return 0;
    case OPT_PROCS:
        if (cmd_parse_uint(v, 1, 1024, &s->workers))
            return cmd_usage_error(NAME, "invalid --procs '%s' (1..1024)", v);
        return 0;
    case OPT_FAIL_ON:
        if (parse_fail_on(v, &s->fail_pct))
            return cmd_usage_error(NAME, "invalid --fail-on '%s' (any or "
                                   "P%% with P in 0..100)", v);
        return 0;
    }
    int rc = cmd_fetch_option(NAME, &s->fetch, c, v);
    return rc < 0 ? cmd_image_option(NAME, &s->img, c, v) : rc;
}

/* The folders and the journal's name, per shard when sharded. */
static void default_names(struct run_settings *s)
{
    char b[96] = "";
    if (s->o.shard.n)
        snprintf(b, sizeof b, "-%llu-of-%llu",
                 (unsigned long long)s->o.shard.k,
                 (unsigned long long)s->o.shard.n);
    char name[128];
    if (!s->dl_dir) {
        snprintf(name, sizeof name, ".downloads%s", b);
        s->dl_dir = cmd_path_join(s->o.out, name);
        s->dl_below = 1;
    }
    snprintf(name, sizeof name, ".imgbatch-run%s.tsv", b);
    s->journal = cmd_strdup(name);
}

int run_settings_parse(struct run_settings *s, int argc, char **argv,
                       const char *usage, const char *about)
{
    struct cmd_option opts[MAXOPTS];

    memset(s, 0, sizeof *s);
    batch_opts_init(&s->o);
    cmd_fetch_opts_init(&s->fetch);
    s->fail_pct = -1;
    if (cmd_image_init(&s->img))
        return EXIT_FATAL;

    batch_options(opts, MAXOPTS, own_options, NOWN, NAME, 1, 2,
                  "output folder (required)");
    int rc = batch_parse(argc, argv, opts, &s->o, usage, about, own_option,
                         s);
    if (rc >= 0)
        return rc;
    s->fetch.force = s->o.force;
    if (!s->o.out)
        return cmd_usage_error(NAME, "missing -o/--out DIR");
    if (optind != argc - 1)
        return cmd_usage_error(NAME, optind >= argc ? "no URL list given"
                                                    : "one URL list only");
    default_names(s);
    /* checked before anything is touched */
    if (!s->dl_below && cmd_path_within(s->o.out, s->dl_dir))
        return cmd_usage_error(NAME, "--download-dir '%s' holds the output "
                               "folder '%s': outputs would replace the "
                               "downloads they are made from", s->dl_dir,
                               s->o.out);
    const char *list = argv[optind];
    if (s->o.report && strcmp(list, "-") &&
        cmd_path_within(s->o.report, list))
        return cmd_usage_error(NAME, "--report '%s' would overwrite the URL "
                               "list", s->o.report);
    if (s->o.report && (cmd_path_within(s->o.report, s->o.out) ||
                        cmd_path_within(s->o.report, s->dl_dir)))
        return cmd_usage_error(NAME, "--report '%s' is inside the output "
                               "folder '%s'", s->o.report,
                               cmd_path_within(s->o.report, s->o.out)
                                   ? s->o.out : s->dl_dir);
    if (cmd_log_check(NAME, s->o.oo.log, s->o.report, argv + optind, 1,
                      s->o.out, s->dl_dir))
        return EXIT_USAGE;
    if (s->dry_run && (s->o.report || s->o.oo.log))
        return cmd_usage_error(NAME, "--dry-run writes nothing: no %s",
                               s->o.report ? "--report" : "--log");
    /* every output is named before its download exists: no {hash} */
    if (render_check(NAME, &s->img, 0))
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
