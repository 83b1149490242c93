/*
 * cmd/batch_opts.c: the options fetch, transform and run share, in one
 * table with one parser (git's parse-options sets), and the grouped help
 * they print: the subcommand's own options, then the download options,
 * the image options and operations, then the common ones, under the
 * headings the man page's sections have.
 */
#include "cmd/batch.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_REPORT = CMD_COMMON_OPT_FIRST, OPT_FORCE, OPT_SHARD, OPT_PROGRESS,
};

static const struct cmd_option common_options[] = {
    {"out", required_argument, 'o', "DIR", NULL},   /* help: the caller's */
    {"report", required_argument, OPT_REPORT, "FILE",
     "JSON Lines: a line per item, then a summary"},
    {"force", no_argument, OPT_FORCE, NULL,
     "redo every item, even those an earlier run did"},
    {"shard", required_argument, OPT_SHARD, "K/N", CMD_SHARD_HELP},
    {"quiet", no_argument, 'q', NULL, "errors only"},
    {"verbose", no_argument, 'v', NULL, "a line per item"},
    {"progress", required_argument, OPT_PROGRESS, "WHEN",
     "auto (default: stderr a terminal), always or never"},
    {"help", no_argument, 'h', NULL, "this help"},
};
#define NCOMMON (sizeof common_options / sizeof common_options[0])

void batch_opts_init(struct batch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->progress = -1;
}

size_t batch_options(struct cmd_option *opts, size_t max,
                     const struct cmd_option *own, size_t nown,
                     const char *cmd, int fetch, int image,
                     const char *out_help)
{
    size_t n = 0;
    (void)cmd;
    for (size_t i = 0; i < nown && n + 1 < max; i++)
        opts[n++] = own[i];
    opts[n] = (struct cmd_option){0};
    if (fetch)
        n = cmd_fetch_options(opts, n, max);
    if (image)
        n = cmd_image_options(opts, n, max, image > 1);
    /* the output folder's options (cmd/lock.c) before -h, the last row */
    for (size_t i = 0; i + 1 < NCOMMON && n + 1 < max; i++) {
        opts[n] = common_options[i];
        if (opts[n].val == 'o')
            opts[n].help = out_help;
        n++;
    }
    n = cmd_out_options(opts, n, max);
    if (n + 1 < max)
        opts[n++] = common_options[NCOMMON - 1];
    opts[n] = (struct cmd_option){0};
    return n;
}

int batch_option(const char *cmd, struct batch_opts *o, int c,
                 const char *v)
{
    char msg[256];

    switch (c) {
    case 'o': o->out = v; return 0;
    case OPT_REPORT: o->report = v; return 0;
    case OPT_FORCE: o->force = 1; return 0;
    case OPT_SHARD:
        if (cmd_shard_parse(&o->shard, v, msg, sizeof msg))
            return cmd_usage_error(cmd, "%s", msg);
        return 0;
    case 'q': o->quiet = 1; return 0;
    case 'v': o->verbose = 1; return 0;
    case OPT_PROGRESS:
        if (!strcmp(v, "auto"))
            o->progress = -1;
        else if (!strcmp(v, "always"))
            o->progress = 1;
        else if (!strcmp(v, "never"))
            o->progress = 0;
        else
            return cmd_usage_error(cmd, "invalid --progress '%s' (auto, "
                                   "always or never)", v);
        return 0;
    }
    return cmd_out_option(&o->oo, c, v);
}

void batch_opts_check(struct batch_opts *o)
{
    if (o->progress < 0)
        o->progress = !o->quiet && isatty(2);
}

/* The heading of the part of the table option code c is in. */
static const char *group_of(int c)
{
    if (c == 'o' || c == 'q' || c == 'v' || c == 'h' ||
        (c >= CMD_COMMON_OPT_FIRST && c < CMD_FETCH_OPT_FIRST))
        return "common options";
    if (c == 'c' || (c >= CMD_FETCH_OPT_FIRST && c < CMD_IMAGE_OPT_FIRST))
        return "download options";
    if (c >= CMD_IMAGE_OPT_FIRST && c < CMD_IMAGE_OPT_OP)
        return "image options";
    if (c >= CMD_IMAGE_OPT_OP)
        return "operations, in the order given";
    return "options";
}

void batch_print_help(FILE *f, const char *usage, const char *about,
                      const struct cmd_option *opts)
{
    const char *group = NULL;
    fprintf(f, "usage: %s\n\n%s\n", usage, about);
    for (const struct cmd_option *o = opts; o->name; o++) {
        const char *g = group_of(o->val);
        if (g != group)
            fprintf(f, "\n%s:\n", g);
        group = g;
        cmd_print_option(f, o);
    }
}

int batch_parse(int argc, char **argv, const struct cmd_option *opts,
                struct batch_opts *o, const char *usage, const char *about,
                int (*own)(void *ctx, int c, const char *v), void *ctx)
{
    const char *v;
    int c;

    optind = 1;
    while ((c = cmd_getopt(argc, argv, opts, &v)) != -1) {
        if (c == 'h') {
            batch_print_help(stdout, usage, about, opts);
            return EXIT_ALL_OK;
        }
        if (c == '?')
            return EXIT_USAGE;
        int rc = batch_option(argv[0], o, c, v);
        if (rc < 0)
            rc = own(ctx, c, v);
        if (rc < 0)
            return cmd_usage_error(argv[0], "unhandled option");
        if (rc > 0)
            return rc;
    }
    batch_opts_check(o);
    return -1;
}
