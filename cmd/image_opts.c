/*
 * cmd/image_opts.c: the image options transform and run share: one table
 * of rows (so help, parsing and the man page agree) and one parser.
 */
#include "cmd/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_FORMAT = CMD_IMAGE_OPT_FIRST, OPT_QUALITY, OPT_PNG_LEVEL,
    OPT_PROGRESSIVE, OPT_FILTER, OPT_UPSCALE, OPT_AUTO_ORIENT,
    OPT_NO_AUTO_ORIENT, OPT_NO_SHRINK, OPT_STRIP, OPT_MAX_PIXELS,
    OPT_JOB_TIMEOUT, OPT_WORKER_MEM,
};

static const struct cmd_option image_options[] = {
    {"format", required_argument, OPT_FORMAT, "F",
     NULL},   /* help from transform/'s codec table: format_help() */
    {"quality", required_argument, OPT_QUALITY, "Q",
     "JPEG quality 1..100 (default 85)"},
    {"png-level", required_argument, OPT_PNG_LEVEL, "N",
     "PNG zlib level 0..9 (default 6)"},
    {"progressive", no_argument, OPT_PROGRESSIVE, NULL,
     "write progressive JPEGs"},
    {"filter", required_argument, OPT_FILTER, "F",
     "resampling: lanczos3 (default), mitchell, bilinear, box"},
    {"upscale", no_argument, OPT_UPSCALE, NULL, "let --resize enlarge"},
    {"auto-orient", no_argument, OPT_AUTO_ORIENT, NULL,
     "apply EXIF orientation (the default)"},
    {"no-auto-orient", no_argument, OPT_NO_AUTO_ORIENT, NULL,
     "keep pixels as stored"},
    {"no-shrink-on-load", no_argument, OPT_NO_SHRINK, NULL,
     "decode JPEGs at full size even when the first op shrinks them"},
    {"strip", no_argument, OPT_STRIP, NULL,
     "drop the ICC profile (kept by default)"},
    {"max-pixels", required_argument, OPT_MAX_PIXELS, "N",
     "refuse images whose header declares more (default 268402689)"},
    {"job-timeout", required_argument, OPT_JOB_TIMEOUT, "SECONDS",
     "kill and fail an image taking longer (worker processes)"},
    {"worker-mem", required_argument, OPT_WORKER_MEM, "MB",
     "address-space cap per worker process"},
};
#define NIMAGE (sizeof image_options / sizeof image_options[0])

/* "jpeg, png or same (default: same as the input)": the writable formats */
static const char *format_help(void)
{
    static char help[160];
    char names[64];
    ib_format_list_writable(names, sizeof names);
    snprintf(help, sizeof help, "%s or same (default: same as the input)",
             names);
    return help;
}

size_t cmd_image_options(struct cmd_option *opts, size_t n, size_t max)
{
    const char *name, *arg, *help;
    for (size_t i = 0; i < NIMAGE && n < max - 1; i++) {
        opts[n] = image_options[i];
        if (opts[n].val == OPT_FORMAT)
            opts[n].help = format_help();
        n++;
    }
    for (size_t i = 0; n < max - 1 && !ib_op_info(i, &name, &arg, &help);
         i++)
        opts[n++] = (struct cmd_option){name, arg ? required_argument
                                                  : no_argument,
                                        CMD_IMAGE_OPT_OP + (int)i, arg, help};
    opts[n] = (struct cmd_option){0};
    return n;
}

int cmd_image_init(struct cmd_image *img)
{
    memset(img, 0, sizeof *img);
    ib_decode_opts_init(&img->dopts);
    ib_encode_opts_init(&img->eopts);
    img->eopts.format = IB_FORMAT_UNKNOWN;   /* same as the input */
    img->pipeline = ib_pipeline_new();
    return img->pipeline ? 0 : -1;
}

void cmd_image_release(struct cmd_image *img)
{
    ib_pipeline_free(img->pipeline);
    img->pipeline = NULL;
    free(img->ops);
    img->ops = NULL;
}

/*
 * Appends "name=LEN:ARG;" (or "name;" for a flag) to img->ops: the
 * argument as typed, length-prefixed so no argument can mimic a second op.
 */
static int note_op(struct cmd_image *img, const char *op, const char *arg)
{
    size_t had = img->ops ? strlen(img->ops) : 0;
    size_t n = strlen(op) + (arg ? strlen(arg) + 24 : 0) + 2;
    char *p = realloc(img->ops, had + n);
    if (!p)
        return -1;
    img->ops = p;
    if (arg)
        snprintf(p + had, n, "%s=%zu:%s;", op, strlen(arg), arg);
    else
        snprintf(p + had, n, "%s;", op);
    return 0;
}

/* --format: a format transform/ can write, or "same" (UNKNOWN). */
static int parse_format(const char *v, enum ib_format *f)
{
    enum ib_format w = ib_format_lookup(v);
    if (w == IB_FORMAT_UNKNOWN && strcmp(v, "same"))
        return -1;
    *f = w;
    return 0;
}

int cmd_image_option(const char *cmd, struct cmd_image *img, int c,
                     const char *v)
{
    char msg[256];
    unsigned u;
    uint64_t u64;

    switch (c) {
    case OPT_FORMAT:
        if (parse_format(v, &img->eopts.format)) {
            char names[64];
            ib_format_list_writable(names, sizeof names);
            return cmd_usage_error(cmd, "invalid --format '%s' (%s or same)",
                                   v, names);
        }
        return 0;
    case OPT_QUALITY:
        if (cmd_parse_uint(v, 1, 100, &u))
            return cmd_usage_error(cmd, "invalid --quality '%s' (1..100)", v);
        img->eopts.quality = (int)u;
        return 0;
    case OPT_PNG_LEVEL:
        if (cmd_parse_uint(v, 0, 9, &u))
            return cmd_usage_error(cmd, "invalid --png-level '%s' (0..9)", v);
        img->eopts.png_level = (int)u;
        return 0;
    case OPT_PROGRESSIVE: img->eopts.progressive = 1; return 0;
    case OPT_FILTER:
        if (ib_pipeline_set_filter(img->pipeline, v, msg, sizeof msg))
            return cmd_usage_error(cmd, "%s", msg);
        img->filter = v;
        return 0;
    case OPT_UPSCALE:
        ib_pipeline_set_upscale(img->pipeline, 1);
        img->upscale = 1;
        return 0;
    case OPT_AUTO_ORIENT: img->dopts.auto_orient = 1; return 0;
    case OPT_NO_AUTO_ORIENT: img->dopts.auto_orient = 0; return 0;
    case OPT_NO_SHRINK: img->dopts.no_shrink_on_load = 1; return 0;
    case OPT_STRIP: img->dopts.keep_icc = 0; return 0;
    case OPT_MAX_PIXELS:
        if (cmd_parse_u64(v, 1, UINT64_MAX, &img->dopts.max_pixels))
            return cmd_usage_error(cmd, "invalid --max-pixels '%s'", v);
        return 0;
    case OPT_JOB_TIMEOUT:
        if (cmd_parse_uint(v, 1, 86400, &img->job_timeout_s))
            return cmd_usage_error(cmd, "invalid --job-timeout '%s' "
                                   "(1..86400 seconds)", v);
        return 0;
    case OPT_WORKER_MEM:
        if (cmd_parse_u64(v, 16, UINT64_MAX >> 20, &u64))
            return cmd_usage_error(cmd, "invalid --worker-mem '%s' (MB, at "
                                   "least 16)", v);
        img->worker_mem = u64 << 20;
        return 0;
    }
    if (c >= CMD_IMAGE_OPT_OP) {
        const char *op, *oparg, *ophelp;
        if (ib_op_info((size_t)(c - CMD_IMAGE_OPT_OP), &op, &oparg, &ophelp))
            return -1;
        if (ib_pipeline_add(img->pipeline, op, v, msg, sizeof msg))
            return cmd_usage_error(cmd, "%s", msg);
        if (note_op(img, op, oparg ? v : NULL))
            return cmd_usage_error(cmd, "out of memory");
        return 0;
    }
    return -1;
}
