/* cmd/main.c: the subcommand table and process-wide set-up. */
#include "cmd/cmd.h"

#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>

#ifndef IMGBATCH_VERSION
#define IMGBATCH_VERSION "unknown"
#endif

struct cmd {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
};

static const struct cmd commands[] = {   /* "imgbatch help" prints it */
    {"fetch", cmd_fetch, "download URLs concurrently"},
    {"transform", cmd_transform, "transform images on every core"},
    {"run", cmd_run, "download and transform, overlapped"},
    {"report", cmd_report, "merge --report files into one summary"},
    {"bench", cmd_bench, "measure the concurrency models here"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: imgbatch <command> [options] [args]\n"
               "       imgbatch help <command> | --help | --version\n\n"
               "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nexit: 0 all items ok, 1 some items failed, 2 usage error, "
               "3 cannot run,\n      128 + N stopped by signal N (130 SIGINT, 143 SIGTERM)\n");
}

static const struct cmd *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static int run_builtin(const struct cmd *c, int argc, char **argv)
{
    int rc = c->fn(argc, argv);
    /* a full disk or closed pipe on stdout is an error, not a success */
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "imgbatch %s: cannot write to stdout\n", c->name);
        if (rc == EXIT_ALL_OK)
            rc = EXIT_FATAL;
    }
    return rc;
}

/*
 * A worker decodes image after image of about the same size. glibc serves
 * every block over 32 MiB (a 12 MP decode is 36 MB) with a fresh mmap and
 * unmaps it on free, so each image pays page faults and the kernel's
 * zeroing again: a fifth of the thumbnail workload's CPU time. Keeping
 * freed memory in the heap for the next image costs no extra peak (the
 * largest image still sets it) and saves about 30% CPU on thumbnails
 * (docs/BENCHMARKS.md). Workers inherit it through fork().
 */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

int main(int argc, char **argv)
{
    keep_freed_memory();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *arg = argv[1];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        usage(stdout);
        return EXIT_ALL_OK;
    }
    if (!strcmp(arg, "--version")) {
        /* what this binary runs with, for bug reports and audits */
        printf("imgbatch %s\n%s\n%s\n", IMGBATCH_VERSION,
               ib_transform_versions(), curl_version());
        return EXIT_ALL_OK;
    }
    if (!strcmp(arg, "help")) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_ALL_OK;
        }
        const struct cmd *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "imgbatch: unknown command '%s'\n"
                            "hint: see 'imgbatch --help'\n", argv[2]);
            return EXIT_USAGE;
        }
        char *hargv[] = {(char *)c->name, "--help", NULL};
        return run_builtin(c, 2, hargv);
    }
    const struct cmd *c = find(arg);
    if (!c) {
        fprintf(stderr, "imgbatch: unknown command '%s'\n"
                        "hint: see 'imgbatch --help'\n", arg);
        return EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "imgbatch: cannot initialise libcurl\n");
        return EXIT_FATAL;
    }
    signal(SIGPIPE, SIG_IGN);
    int rc = run_builtin(c, argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}
