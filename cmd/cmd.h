/*
 * cmd/cmd.h: the CLI's shared parts.
 *
 * Adding a subcommand:
 *   1. cmd/<name>.c with int cmd_<name>(int argc, char **argv); argv[0] is
 *      the subcommand's name. Read top-down: usage, options, run, report.
 *   2. Its options in a static table of struct cmd_option, so --help and
 *      "imgbatch help <name>" print from the same rows that getopt reads.
 *      A batch (items in, a report out) takes the common options, the
 *      report, progress, summary and exit code from cmd/batch.h.
 *   3. A row in commands[] in cmd/main.c, the file in cmd/CMakeLists.txt.
 *   4. A test in tests/cli/ that runs it through the built binary.
 *
 * Libraries never print or exit; cmd/ does. Per-item results go to the
 * --report file as JSON Lines; progress and the human summary to stderr.
 */
#ifndef IB_CMD_H
#define IB_CMD_H

#include <stdio.h>
#include <stdint.h>

#include "fetch/fetch.h"
#include "transform/transform.h"

enum {
    EXIT_ALL_OK = 0,
    EXIT_SOME_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_FATAL = 3,
    /* a stop by signal exits 128 + its number: SIGINT 130, SIGTERM 143,
     * SIGHUP 129, SIGQUIT 131 */
};

int cmd_fetch(int argc, char **argv);
int cmd_transform(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* One option: its getopt_long row and its help line. */
struct cmd_option {
    const char *name;   /* long name without "--" */
    int has_arg;        /* no_argument / required_argument */
    int val;            /* short letter or a code >= 256 */
    const char *arg;    /* "N", "DIR"...; NULL for flags */
    const char *help;
};

/* Prints "usage: ...", then the option table, to f. */
void cmd_print_help(FILE *f, const char *usage, const char *about,
                    const struct cmd_option *opts);
/* One row of it: "  -x, --name ARG   help", wrapped within 80 columns. */
void cmd_print_option(FILE *f, const struct cmd_option *o);
/*
 * getopt_long over the table. Unknown options and missing values print
 * "imgbatch CMD: <what>" plus a hint to stderr and return '?'.
 */
int cmd_getopt(int argc, char **argv, const struct cmd_option *opts,
               const char **optarg_out);

/*
 * One item's failure on stderr: "imgbatch CMD: cannot VERB 'WHAT': WHY",
 * always one line: control bytes in WHAT and WHY (a file name may hold a
 * newline) are shown as '?'. The report keeps the exact bytes.
 */
void cmd_item_error(const char *cmd, const char *verb, const char *what,
                    const char *why);

/* "imgbatch CMD: <msg>" + hint to stderr; returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Strict number parsing for option values: 0 ok, -1 bad or out of range. */
int cmd_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cmd_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);
int cmd_parse_double(const char *s, double min, double max, double *out);

/*
 * The image options transform and run share (cmd/image_opts.c): encoding,
 * decoding limits, worker limits and the op pipeline, ops in command-line
 * order. Their codes are CMD_IMAGE_OPT_FIRST.. and CMD_IMAGE_OPT_OP + op;
 * a subcommand's own codes stay below CMD_IMAGE_OPT_FIRST.
 */
#define CMD_IMAGE_OPT_FIRST 384
#define CMD_IMAGE_OPT_OP 512
struct cmd_image {
    struct ib_decode_opts dopts;
    struct ib_encode_opts eopts;    /* format UNKNOWN: same as the input */
    struct ib_pipeline *pipeline;   /* owned */
    unsigned job_timeout_s;         /* 0: none */
    uint64_t worker_mem;            /* bytes; 0: no cap */
    /* for the recipe (cmd/recipe.h): what the pipeline does not tell */
    char *ops;                      /* owned: the ops in order, as given */
    const char *filter;             /* borrowed (argv); NULL: lanczos3 */
    int upscale;
    /* renditions (cmd/render.h): sizes x formats per input */
    struct cmd_size {
        uint32_t w, h;            /* fit box; 0: that side free */
        char text[24];            /* "480w", "320h", "480x320" */
    } sizes[IB_RENDITIONS_MAX];
    size_t nsizes;                /* 0: no size of its own */
    enum ib_format formats[IB_RENDITIONS_MAX];  /* as listed by --format;
                                     UNKNOWN: same as the input */
    size_t nformats;              /* 0 or 1: eopts.format alone */
    const char *name_tmpl;        /* borrowed (argv): --name, or NULL */
    struct ib_pipeline *size_pl[IB_RENDITIONS_MAX];  /* owned: one resize
                                     per size, made by render_check */
};
int cmd_image_init(struct cmd_image *img);   /* 0, or -1 out of memory */
void cmd_image_release(struct cmd_image *img);
/* Appends the image rows (the renditions' --size, --width, --name only
 * if renditions) and one per op to opts[n..], NUL-terminated within max;
 * returns the new count. */
size_t cmd_image_options(struct cmd_option *opts, size_t n, size_t max,
                         int renditions);
/* Option c with value v: 0 taken, EXIT_USAGE (message printed) if its
 * value is bad, -1 if c is not an image option. */
int cmd_image_option(const char *cmd, struct cmd_image *img, int c,
                     const char *v);

/*
 * The download options fetch and run share (cmd/fetch_opts.c): -c,
 * --per-host, --retries, --timeout, --max-size, --insecure, and the HTTP
 * ones: -H, --user-agent, --netrc, --netrc-file, --proxy, --limit-rate,
 * --cookie-file (-H values point into argv). Codes from
 * CMD_FETCH_OPT_FIRST (and 'c'), between a subcommand's own and the image
 * options'.
 */
#define CMD_FETCH_OPT_FIRST 320
void cmd_fetch_opts_init(struct ib_fetch_opts *o);   /* the defaults */
size_t cmd_fetch_options(struct cmd_option *opts, size_t n, size_t max);
/* As cmd_image_option: 0 taken, EXIT_USAGE if bad, -1 not one of them. */
int cmd_fetch_option(const char *cmd, struct ib_fetch_opts *o, int c,
                     const char *v);

/*
 * Paths (cmd/paths.c). resolve: absolute, "." and ".." folded, symlinks
 * resolved as far as the path exists; owned by the caller, NULL if out of
 * memory. within: 1 if path is dir (by name or, existing, by inode: a hard
 * link) or lies inside it, else 0. join: dir/name with one '/' between;
 * cmd_strdup: strdup. Both owned by the caller and abort() when out of
 * memory: a name or a path too big to copy cannot be reported.
 */
char *cmd_path_resolve(const char *path);
int cmd_path_within(const char *path, const char *dir);
char *cmd_path_join(const char *dir, const char *name);
char *cmd_strdup(const char *s);

/*
 * The output folder (cmd/lock.c), the same for fetch, transform and run:
 * made and opened once, then locked before anything in it is swept or
 * written; outputs are then created relative to that fd. Option codes
 * from CMD_OUT_OPT_FIRST: --wait-lock, --no-fsync.
 */
#define CMD_OUT_OPT_FIRST 300
struct cmd_out_opts {
    int wait_lock;   /* wait for the lock instead of exiting 3 */
    int no_fsync;    /* outputs not fsync'ed before their rename */
    const char *log; /* --log FILE (cmd/log.c); borrowed, NULL: none */
};
size_t cmd_out_options(struct cmd_option *opts, size_t n, size_t max);
/* 0, or -1 not one */
int cmd_out_option(struct cmd_out_opts *o, int c, const char *v);
/* mkdir -p path (symlinks the user named are followed), then open it
 * O_DIRECTORY: the fd, or -1 with a message printed. */
int cmd_out_open(const char *cmd, const char *path);

struct cmd_shard;
struct cmd_lock {
    int main_fd, shard_fd;   /* -1 when not held */
    int exclusive;           /* the whole folder is ours: sweep it all */
};
/*
 * Locks the folder dir (shown: its name for messages) for this run: the
 * whole folder without --shard, shard K/N's part with one (other shards
 * may run). Taken: 0. In use: "'DIR' is in use by pid N" printed and
 * EXIT_FATAL, unless wait: then it waits (saying so unless quiet).
 */
int cmd_lock_take(struct cmd_lock *l, const char *cmd, int dir,
                  const char *shown, const struct cmd_shard *shard,
                  int wait, int quiet);
void cmd_lock_release(struct cmd_lock *l);

/*
 * The --log file and secrets (cmd/log.c). check: the usage checks --report
 * has (not the report, not an input, not inside out or out2, either may be
 * NULL): 0, or EXIT_USAGE printed. open: 0, or -1 printed. Every
 * cmd_item_error line goes to the log too; cmd_human prints one line to
 * stderr (unless quiet) and to the log. close: 0, or -1 printed.
 */
int cmd_log_check(const char *cmd, const char *log, const char *report,
                  char *const *inputs, int ninputs, const char *out,
                  const char *out2);
int cmd_log_open(const char *cmd, const char *path);
void cmd_log_line(const char *line, size_t n);
void cmd_human(int quiet, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cmd_log_close(const char *cmd);
/*
 * url as it may be shown (stderr, --log, --report): its userinfo, the
 * "user:password" before '@' in the host part, replaced by "***". Returns
 * url itself or a copy in
 * *owned, which the caller frees (NULL when url was returned).
 */
const char *cmd_url_shown(const char *url, char **owned);

/* Milliseconds on a monotonic clock. */
double cmd_now_ms(void);

/*
 * The JSON Lines report. cmd_report_open(NULL) gives a report that
 * discards everything, so callers never test for --report.
 * Objects are built with the json_* helpers on a cmd_json buffer and
 * written whole, one line each, then flushed.
 */
struct cmd_json {
    char *buf;   /* owned */
    size_t len, cap;
    int first;
};
void cmd_json_begin(struct cmd_json *j);
void cmd_json_str(struct cmd_json *j, const char *key, const char *val);
void cmd_json_int(struct cmd_json *j, const char *key, long long val);
void cmd_json_num(struct cmd_json *j, const char *key, double val);
void cmd_json_bool(struct cmd_json *j, const char *key, int val);
void cmd_json_null(struct cmd_json *j, const char *key);
/* Nested arrays and objects: key NULL for an element of an array. */
void cmd_json_array_begin(struct cmd_json *j, const char *key);
void cmd_json_array_end(struct cmd_json *j);
void cmd_json_object_begin(struct cmd_json *j, const char *key);
void cmd_json_object_end(struct cmd_json *j);
void cmd_json_end(struct cmd_json *j);   /* closes the object, adds "\n" */
void cmd_json_release(struct cmd_json *j);

struct cmd_report {
    FILE *f;     /* NULL: no --report */
    char *path;  /* owned */
    int err;     /* errno of the first write that failed, 0 if none */
};
/* 0, or -1 with a message printed when the file cannot be opened. */
int cmd_report_open(struct cmd_report *r, const char *cmd, const char *path);
void cmd_report_write(struct cmd_report *r, const struct cmd_json *j);
/* 0, or -1 (message printed) if writing or closing failed. */
int cmd_report_close(struct cmd_report *r, const char *cmd);

/*
 * Incremental reruns (cmd/stamp.c): an output is stamped with its input's
 * mtime; fresh means it exists with the same mtime. stamp: 0 or -1.
 */
int cmd_output_fresh(const char *in, const char *out);
int cmd_output_stamp(const char *in, const char *out);

/*
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT: the handler stores the signal number
 * in cmd_stop; the running loop checks it, stops handing out work, tidies
 * up and exits 128 + signal.
 */
extern volatile int cmd_stop;
void cmd_catch_signals(void);

#endif
