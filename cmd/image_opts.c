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
    OPT_JOB_TIMEOUT, OPT_WORKER_MEM, OPT_LOSSLESS, OPT_KEEP, OPT_SIZE,
    OPT_WIDTH, OPT_NAME, OPT_JPEG_SUBSAMPLE, OPT_JPEG_OPTIMIZE,
    OPT_NO_JPEG_OPTIMIZE,
};

static const struct cmd_option image_options[] = {
    {"format", required_argument, OPT_FORMAT, "F",
     NULL},   /* help from transform/'s codec table: format_help() */
    {"size", required_argument, OPT_SIZE, "LIST",
     "renditions: fit boxes WxH, W or xH, comma-separated (480,960x960); "
     "each size in each --format, from one decode"},
    {"width", required_argument, OPT_WIDTH, "LIST",
     "renditions of these widths: --width 480,960 is --size 480,960 "
     "(both add to one list)"},
    {"name", required_argument, OPT_NAME, "TEMPLATE",
     "output names from {dir} {stem} {ext} {format} {w} {h} {size} "
     "{hash} (default {dir}/{stem}.{ext}, or {dir}/{stem}-{size}.{ext} "
     "with several sizes)"},
    {"quality", required_argument, OPT_QUALITY, "Q",
     "1..100 for every lossy format, or per format as in "
     "jpeg=85,webp=80,avif=50 (the defaults)"},
    {"lossless", no_argument, OPT_LOSSLESS, NULL,
     "WebP: lossless instead of --quality"},
    {"png-level", required_argument, OPT_PNG_LEVEL, "N",
     "PNG zlib level 0..9 (default 6)"},
    {"progressive", no_argument, OPT_PROGRESSIVE, NULL,
     "write progressive JPEGs"},
    {"jpeg-subsample", required_argument, OPT_JPEG_SUBSAMPLE, "MODE",
     "chroma subsampling: 420 (default), 422 or 444"},
    {"jpeg-optimize", no_argument, OPT_JPEG_OPTIMIZE, NULL,
     "JPEG Huffman tables fitted to every image, ~3% smaller, same pixels "
     "(default: to those up to 8 MP, sparing big ones the memory)"},
    {"no-jpeg-optimize", no_argument, OPT_NO_JPEG_OPTIMIZE, NULL,
     "JPEG standard Huffman tables at every size: faster, bigger"},
    {"filter", required_argument, OPT_FILTER, "F",
     "lanczos3 (default), mitchell, bilinear, box"},
    {"upscale", no_argument, OPT_UPSCALE, NULL,
     "let --resize and --size enlarge"},
    {"auto-orient", no_argument, OPT_AUTO_ORIENT, NULL,
     "apply EXIF orientation (the default)"},
    {"no-auto-orient", no_argument, OPT_NO_AUTO_ORIENT, NULL,
     "keep pixels as stored"},
    {"no-shrink-on-load", no_argument, OPT_NO_SHRINK, NULL,
     "decode JPEGs at full size even when the first op shrinks them"},
    {"keep", required_argument, OPT_KEEP, "LIST",
     "metadata copied to outputs: icc, exif, xmp, all or none, comma-"
     "separated (default icc); without icc, pixels are converted to sRGB"},
    {"strip", no_argument, OPT_STRIP, NULL, "the same as --keep none"},
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
    static char help[200];
    char names[64];
    ib_format_list_writable(names, sizeof names);
    snprintf(help, sizeof help, "%s or same (default: same as the "
             "input); a comma list makes a rendition of each",
             names);
    return help;
}

size_t cmd_image_options(struct cmd_option *opts, size_t n, size_t max,
                         int renditions)
{
    const char *name, *arg, *help;
    for (size_t i = 0; i < NIMAGE && n < max - 1; i++) {
        int v = image_options[i].val;
        if (!renditions && (v == OPT_SIZE || v == OPT_WIDTH || v == OPT_NAME))
            continue;
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
    for (size_t i = 0; i < img->nsizes; i++) {
        ib_pipeline_free(img->size_pl[i]);
        img->size_pl[i] = NULL;
    }
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

/*
 * The comma lists' one splitter, for a loop "while (p) next_part(&p..)":
 * copies the next part of the list at *p to part (cap bytes) and moves *p
 * past it and its comma, to NULL after the last. 0, or -1 when the part
 * is empty (an empty list, ",,", a trailing comma) or too long.
 */
static int next_part(const char **p, char *part, size_t cap)
{
    size_t len = strcspn(*p, ",");
    if (len == 0 || len >= cap)
        return -1;
    memcpy(part, *p, len);
    part[len] = '\0';
    *p = (*p)[len] ? *p + len + 1 : NULL;
    return 0;
}

/*
 * --quality: "Q" sets every lossy format's; "jpeg=Q,webp=Q" the named
 * ones, each once. 0; -1 if a part is bad, -2 if a format comes twice
 * (its name in dup); nothing changed unless 0.
 */
static int parse_quality(const char *v, struct ib_encode_opts *e,
                         char dup[24])
{
    struct ib_encode_opts t = *e;
    unsigned q, seen = 0;

    if (!cmd_parse_uint(v, 1, 100, &q)) {
        e->quality = e->webp_quality = e->avif_quality = (int)q;
        return 0;
    }
    for (const char *p = v; p;) {
        char part[32], *eq;
        enum ib_format f;
        if (next_part(&p, part, sizeof part))
            return -1;
        eq = strchr(part, '=');
        if (!eq || cmd_parse_uint(eq + 1, 1, 100, &q))
            return -1;
        *eq = '\0';
        f = ib_format_lookup(part);
        switch (f) {
        case IB_FORMAT_JPEG: t.quality = (int)q; break;
        case IB_FORMAT_WEBP: t.webp_quality = (int)q; break;
        case IB_FORMAT_AVIF: t.avif_quality = (int)q; break;
        default: return -1;
        }
        if (seen & 1u << f) {
            snprintf(dup, 24, "%s", ib_format_name(f));
            return -2;
        }
        seen |= 1u << f;
    }
    *e = t;
    return 0;
}

/*
 * --keep: which metadata outputs carry. The profile is always read: when
 * it is not kept, the pixels are converted to sRGB instead. 0, or -1
 * (nothing changed).
 */
static int parse_keep(const char *v, struct ib_decode_opts *d)
{
    int icc = 0, exif = 0, xmp = 0;

    for (const char *p = v; p;) {
        char part[8];
        if (next_part(&p, part, sizeof part))
            return -1;
        if (!strcmp(part, "none") && !strcmp(v, "none"))
            ;   /* none, alone */
        else if (!strcmp(part, "icc"))
            icc = 1;
        else if (!strcmp(part, "exif"))
            exif = 1;
        else if (!strcmp(part, "xmp"))
            xmp = 1;
        else if (!strcmp(part, "all"))
            icc = exif = xmp = 1;
        else
            return -1;
    }
    d->keep_icc = 1;
    d->to_srgb = !icc;
    d->keep_exif = exif;
    d->keep_xmp = xmp;
    return 0;
}

/* --jpeg-subsample: 420, 422, 444, or as sharp spells them, 4:2:0 ... */
static int parse_subsample(const char *v, int *mode)
{
    static const char *const names[][2] = {
        {"420", "4:2:0"}, {"422", "4:2:2"}, {"444", "4:4:4"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(v, names[i][0]) || !strcmp(v, names[i][1])) {
            *mode = atoi(names[i][0]);
            return 0;
        }
    return -1;
}

/* --format: formats transform/ can write, or "same" (UNKNOWN), comma-
 * separated, none twice. 0; -1 if a part is bad, -2 if a format comes
 * twice (its name in dup: jpg,jpeg is jpeg twice); nothing changed
 * unless 0. */
static int parse_formats(const char *v, struct cmd_image *img, char dup[24])
{
    enum ib_format f[IB_RENDITIONS_MAX];
    size_t n = 0;

    for (const char *p = v; p;) {
        char part[16];
        if (next_part(&p, part, sizeof part) || n == IB_RENDITIONS_MAX)
            return -1;
        f[n] = ib_format_lookup(part);
        if (f[n] == IB_FORMAT_UNKNOWN && strcmp(part, "same"))
            return -1;
        for (size_t k = 0; k < n; k++)
            if (f[k] == f[n]) {
                snprintf(dup, 24, "%s", f[n] == IB_FORMAT_UNKNOWN
                         ? "same" : ib_format_name(f[n]));
                return -2;
            }
        n++;
    }
    memcpy(img->formats, f, n * sizeof *f);
    img->nformats = n;
    img->eopts.format = f[0];
    return 0;
}

/* --size, --width: fit boxes, comma-separated; widths only for --width.
 * 0; -1 if a part is bad, -2 if a box comes twice, in this option or an
 * earlier --size or --width (the box in dup); nothing changed unless 0. */
static int parse_sizes(const char *v, int widths, struct cmd_image *img,
                       char dup[24])
{
    struct cmd_size sz[IB_RENDITIONS_MAX];
    size_t n = img->nsizes;   /* --size and --width add to one list */

    memcpy(sz, img->sizes, n * sizeof *sz);
    for (const char *p = v; p;) {
        char part[24], *x;
        unsigned w = 0, h = 0;
        if (next_part(&p, part, sizeof part) || n == IB_RENDITIONS_MAX)
            return -1;
        x = strchr(part, 'x');
        if (x)
            *x = '\0';
        if ((*part && cmd_parse_uint(part, 1, 1000000, &w)) ||
            (x && (widths || cmd_parse_uint(x + 1, 1, 1000000, &h))) ||
            (!w && !h))
            return -1;
        sz[n] = (struct cmd_size){w, h, ""};
        if (w && h)
            snprintf(sz[n].text, sizeof sz[n].text, "%ux%u", w, h);
        else
            snprintf(sz[n].text, sizeof sz[n].text, "%u%c", w ? w : h,
                     w ? 'w' : 'h');
        for (size_t k = 0; k < n; k++)
            if (sz[k].w == w && sz[k].h == h) {
                snprintf(dup, 24, "%s", sz[k].text);
                return -2;
            }
        n++;
    }
    memcpy(img->sizes, sz, n * sizeof *sz);
    img->nsizes = n;
    return 0;
}

int cmd_image_option(const char *cmd, struct cmd_image *img, int c,
                     const char *v)
{
    char msg[256], dup[24];
    unsigned u;
    uint64_t u64;
    int rc;

    switch (c) {
    case OPT_FORMAT:
        rc = parse_formats(v, img, dup);
        if (rc == -2)
            return cmd_usage_error(cmd, "invalid --format '%s': %s given "
                                   "twice", v, dup);
        if (rc) {
            char names[96];
            ib_format_list_writable(names, sizeof names);
            if (strchr(v, ','))
                return cmd_usage_error(cmd, "invalid --format '%s' (of %s, "
                                       "comma-separated, each once)", v,
                                       names);
            return cmd_usage_error(cmd, "invalid --format '%s' (%s or same)",
                                   v, names);
        }
        return 0;
    case OPT_SIZE:
    case OPT_WIDTH:
        rc = parse_sizes(v, c == OPT_WIDTH, img, dup);
        if (rc == -2)
            return cmd_usage_error(cmd, "invalid --%s '%s': size %s given "
                                   "twice (--size and --width make one list)",
                                   c == OPT_WIDTH ? "width" : "size", v, dup);
        if (rc)
            return cmd_usage_error(cmd, c == OPT_WIDTH
                                   ? "invalid --width '%s' (widths 1..1000000,"
                                     " comma-separated, each once)"
                                   : "invalid --size '%s' (WxH, W or xH, "
                                     "1..1000000, comma-separated, each once)",
                                   v);
        return 0;
    case OPT_NAME: img->name_tmpl = v; return 0;
    case OPT_QUALITY:
        rc = parse_quality(v, &img->eopts, dup);
        if (rc == -2)
            return cmd_usage_error(cmd, "invalid --quality '%s': %s given "
                                   "twice", v, dup);
        if (rc)
            return cmd_usage_error(cmd, "invalid --quality '%s' (1..100, or "
                                   "FORMAT=1..100,... for jpeg, webp, avif)",
                                   v);
        return 0;
    case OPT_LOSSLESS: img->eopts.lossless = 1; return 0;
    case OPT_PNG_LEVEL:
        if (cmd_parse_uint(v, 0, 9, &u))
            return cmd_usage_error(cmd, "invalid --png-level '%s' (0..9)", v);
        img->eopts.png_level = (int)u;
        return 0;
    case OPT_PROGRESSIVE: img->eopts.progressive = 1; return 0;
    case OPT_JPEG_SUBSAMPLE:
        if (parse_subsample(v, &img->eopts.subsample))
            return cmd_usage_error(cmd, "invalid --jpeg-subsample '%s' (420, "
                                   "422 or 444)", v);
        return 0;
    case OPT_JPEG_OPTIMIZE:
        img->eopts.optimize_coding = IB_JPEG_OPTIMIZE_ON;
        return 0;
    case OPT_NO_JPEG_OPTIMIZE:
        img->eopts.optimize_coding = IB_JPEG_OPTIMIZE_OFF;
        return 0;
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
    case OPT_STRIP: (void)parse_keep("none", &img->dopts); return 0;
    case OPT_KEEP:
        if (parse_keep(v, &img->dopts))
            return cmd_usage_error(cmd, "invalid --keep '%s' (icc, exif, "
                                   "xmp, all or none, comma-separated)", v);
        return 0;
    case OPT_MAX_PIXELS:
        if (cmd_parse_u64(v, 1, UINT64_MAX, &img->dopts.max_pixels))
            return cmd_usage_error(cmd, "invalid --max-pixels '%s' (a "
                                   "number of pixels, at least 1)", v);
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
