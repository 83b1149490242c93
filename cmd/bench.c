/*
 * cmd/bench.c: imgbatch bench [--quick] [--json] [-o DIR]
 *
 * Measures the concurrency models on this machine, with data it makes
 * itself, and prints one table: downloads (serial, threads, multi) from a
 * loopback HTTP server this process runs, and the thumbnail transform
 * (serial, procs N, omp N) on synthetic photographs.
 *
 * The order is fixed by STYLE §8 (never fork once OpenMP threads exist,
 * and no child should inherit live threads or connections):
 *   1. make the images (serial, in this process);
 *   2. transform: serial and procs N, interleaved; only now does it fork;
 *   3. start the server thread; fetch: serial, threads, multi, interleaved;
 *      stop the server and wait for every one of its threads;
 *   4. transform: serial and omp N, interleaved; OpenMP threads exist from
 *      here on, and nothing forks after.
 * Each figure is the median of the runs; every run's outputs are checked
 * byte for byte against the serial reference ("verified").
 */
#include "cmd/bench.h"
#include "cmd/cmd.h"
#include "fetch/fetch.h"
#include "pool/pool.h"
#include "transform/transform.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME "bench"

static const struct cmd_option options[] = {
    {"quick", no_argument, 'Q', NULL, "smaller images and lists (< 60 s)"},
    {"json", no_argument, 'j', NULL, "print one JSON object, not the table"},
    {"out", required_argument, 'o', "DIR",
     "make the scratch folder in DIR (default $TMPDIR or /tmp)"},
    {"help", no_argument, 'h', NULL, "this help"},
    {NULL, 0, 0, NULL, NULL},
};

static const char usage_line[] = "imgbatch bench [--quick] [--json] [-o DIR]";
static const char about[] =
    "Measures, on this machine, downloads from a loopback server that\n"
    "delays each response (fetch --mode serial, threads, multi) and the\n"
    "thumbnail transform, fit 1024x1024 JPEG q85 (--engine serial, procs,\n"
    "omp), on images it generates; prints rates, speedups over serial and\n"
    "the --procs and -c it would use here. Every run's outputs are checked\n"
    "against the serial run's. Scratch files are removed at the end.\n"
    "exit: 0 measured and verified, 1 outputs differed or items failed,\n"
    "3 cannot run.";

/* Sizes of one bench: --quick or the full one. */
struct plan {
    int quick;
    unsigned images, img_w, img_h;   /* transform inputs */
    unsigned runs;                   /* rounds per row; the median is kept */
    unsigned urls, delay_ms;         /* fetch list; server delay per reply */
    unsigned bodies, body_w, body_h; /* distinct images the server sends */
};

static const struct plan quick_plan = {1, 24, 1600, 1200, 3,
                                       120, 20, 8, 480, 360};
static const struct plan full_plan = {0, 24, 4000, 3000, 3,
                                      400, 25, 16, 640, 480};

/* One row of the table. */
struct row {
    const char *work;    /* "download" or "transform" */
    const char *model;   /* "serial", "threads", "multi", "procs", "omp" */
    unsigned workers;    /* threads, processes or transfers in flight */
    double ms[8];        /* per run */
    unsigned nruns;
    double median_ms, rate, speedup;
};

struct bench {
    struct plan plan;
    char *dir;            /* owned: the scratch folder */
    unsigned cpus;
    struct blob *bodies;  /* owned: what the server sends */
    int verified;         /* every run matched the serial reference */
    char why[256];        /* the first mismatch */
    size_t fetch_bytes;   /* bytes of one fetch run */
};

static void set_unverified(struct bench *b, const char *fmt, const char *a)
{
    if (b->verified) {
        b->verified = 0;
        snprintf(b->why, sizeof b->why, fmt, a);
    }
}

/* ---- files ---- */

static int write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(buf, 1, len, f);
    return fclose(f) || n != len ? -1 : 0;
}

/* The whole file in a malloc'd buffer, or NULL. */
static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *b = realloc(buf, cap *= 2);
            if (!b)
                free(buf);
            buf = b;
        }
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* 1 if the file holds exactly buf. */
static int file_equals(const char *path, const unsigned char *buf, size_t len)
{
    size_t n;
    unsigned char *got = read_file(path, &n);
    int same = got && n == len && !memcmp(got, buf, len);
    free(got);
    return same;
}

/* rm -r of a folder this command made: no symlinks are followed. */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = cmd_path_join(path, e->d_name);
        struct stat st;
        if (p && !lstat(p, &st) && S_ISDIR(st.st_mode))
            remove_tree(p);
        else if (p)
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

/* ---- synthetic photographs ---- */

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    return x ^ (x >> 16);
}

/*
 * A procedural picture with what makes photographs cost what they cost to
 * code: smooth gradients (sky), rings of varying frequency (texture, edges)
 * and a little grain, so JPEG sizes and decode times are photo-like.
 */
static struct ib_image *make_picture(unsigned w, unsigned h, unsigned seed)
{
    struct ib_image *img = ib_image_new(w, h, 3);
    if (!img)
        return NULL;
    double cx = w * (0.3 + 0.4 * (hash32(seed) % 100) / 100.0);
    double cy = h * (0.3 + 0.4 * (hash32(seed + 7) % 100) / 100.0);
    double f = 0.0008 + 0.0004 * (seed % 5);
    for (unsigned y = 0; y < h; y++) {
        unsigned char *p = img->px + (size_t)y * img->stride;
        for (unsigned x = 0; x < w; x++) {
            double dx = x - cx, dy = y - cy;
            double r2 = (dx * dx + dy * dy) * f / (1 + w / 2000.0);
            unsigned g = hash32(seed * 0x9e3779b9U + y * 65537U + x) & 15;
            /* ring value via a cheap triangle wave of r2 */
            double t = r2 - (double)(long)r2;
            double ring = t < 0.5 ? t * 2 : 2 - t * 2;
            p[3 * x] = (unsigned char)(40 + 150.0 * y / h + 50 * ring + g);
            p[3 * x + 1] = (unsigned char)(60 + 100.0 * x / w + 70 * ring);
            p[3 * x + 2] = (unsigned char)(200 - 120.0 * y / h + g * 2);
        }
    }
    return img;
}

static int encode_picture(unsigned w, unsigned h, unsigned seed, int quality,
                          struct blob *out)
{
    struct ib_image *img = make_picture(w, h, seed);
    struct ib_encode_opts eo;
    char msg[128];
    if (!img)
        return -1;
    ib_encode_opts_init(&eo);
    eo.format = IB_FORMAT_JPEG;
    eo.quality = quality;
    int rc = ib_image_encode(img, &eo, &out->buf, &out->len, msg, sizeof msg);
    ib_image_free(img);
    return rc ? -1 : 0;
}

/* ---- transform ---- */

struct xf_ctx {
    const char *in_dir;             /* borrowed */
    struct ib_out out;              /* written as transform writes */
    const struct ib_decode_opts *dopts;
    const struct ib_pipeline *pipeline;
    const struct ib_encode_opts *eopts;
};

static int xf_task(void *vctx, size_t index, void *data, char *msg,
                   size_t msglen)
{
    const struct xf_ctx *c = vctx;
    (void)data;
    char in[4096], out[64];
    struct ib_transform_result r;
    snprintf(in, sizeof in, "%s/img%03zu.jpg", c->in_dir, index);
    snprintf(out, sizeof out, "img%03zu.jpg", index);
    return ib_transform_file(in, &c->out, out, c->dopts, c->pipeline,
                             c->eopts, &r, msg, msglen) ? 1 : 0;
}

/*
 * One transform run of all images into OUT-<tag>: its wall time in ms, or
 * -1 (a task failed: message printed) or -2 (the pool could not run).
 * The outputs are compared with the serial reference run "ref" and removed.
 */
static double transform_once(struct bench *b, struct row *r, unsigned run,
                             enum ib_pool_backend backend)
{
    struct ib_decode_opts dopts;
    struct ib_encode_opts eopts;
    struct ib_pipeline *p = ib_pipeline_new();
    struct ib_pool_result *res = calloc(b->plan.images, sizeof *res);
    char msg[256], tag[64], *in = cmd_path_join(b->dir, "in"), *out;
    double ms = -2;
    int out_fd = -1;

    snprintf(tag, sizeof tag, "out-%s-%u-%u", r->model, r->workers, run);
    out = cmd_path_join(b->dir, tag);
    if (!p || !res || !in || !out || mkdir(out, 0777) ||
        (out_fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        ib_pipeline_add(p, "resize", "1024x1024", msg, sizeof msg))
        goto done;
    ib_decode_opts_init(&dopts);
    ib_encode_opts_init(&eopts);
    eopts.format = IB_FORMAT_JPEG;
    eopts.quality = 85;
    struct xf_ctx c = {in, {.root = out_fd, .shown = out}, &dopts, p,
                       &eopts};
    struct ib_pool_opts po = {
        .backend = backend, .workers = r->workers, .ntasks = b->plan.images,
        .task = xf_task, .ctx = &c, .results = res, .stop = &cmd_stop,
    };
    double t0 = cmd_now_ms();
    int prc = ib_pool_run(&po);
    ms = cmd_now_ms() - t0;
    if (prc) {
        fprintf(stderr, "imgbatch bench: %s\n", ib_pool_strerror(prc));
        ms = -2;
        goto done;
    }
    for (unsigned i = 0; i < b->plan.images; i++) {
        if (res[i].state != IB_POOL_DONE || res[i].status) {
            fprintf(stderr, "imgbatch bench: cannot transform image %u: %s\n",
                    i, res[i].msg[0] ? res[i].msg : "failed");
            ms = -1;
            goto done;
        }
    }
    /* the first serial run is the reference; the others must equal it */
    char *ref = cmd_path_join(b->dir, "ref");
    if (ref && backend == IB_POOL_SERIAL && access(ref, F_OK)) {
        if (rename(out, ref))
            ms = -2;
    } else if (ref) {
        for (unsigned i = 0; i < b->plan.images; i++) {
            char a[4096], o[4096];
            size_t n;
            snprintf(a, sizeof a, "%s/img%03u.jpg", ref, i);
            snprintf(o, sizeof o, "%s/img%03u.jpg", out, i);
            unsigned char *want = read_file(a, &n);
            if (!want || !file_equals(o, want, n))
                set_unverified(b, "engine %s wrote different outputs than "
                               "serial", r->model);
            free(want);
        }
    }
    free(ref);
done:
    if (out_fd >= 0)
        close(out_fd);
    if (out)
        remove_tree(out);
    free(out);
    free(in);
    free(res);
    ib_pipeline_free(p);
    return ms;
}

/* ---- fetch ---- */

struct url_list {
    unsigned port, i, n;
    char url[128];
    unsigned ok;
};

static int next_url(void *ctx, const char **url, const char **name)
{
    struct url_list *l = ctx;
    if (l->i == l->n)
        return 0;
    snprintf(l->url, sizeof l->url, "http://127.0.0.1:%u/img/%05u.jpg",
             l->port, l->i++);
    *url = l->url;
    *name = NULL;
    return 1;
}

static void fetch_done(void *ctx, const struct ib_fetch_item *it)
{
    struct url_list *l = ctx;
    if (it->status == IB_FETCH_DONE_OK)
        l->ok++;
}

/* One fetch run: wall ms, -1 if items failed, -2 if it could not run. */
static double fetch_once(struct bench *b, const struct server *s,
                         struct row *r, unsigned run)
{
    static const char *names[] = {"multi", "threads", "serial"};
    enum ib_fetch_mode mode = IB_FETCH_MULTI;
    char tag[64], msg[256];
    for (int m = 0; m < 3; m++)
        if (!strcmp(r->model, names[m]))
            mode = (enum ib_fetch_mode)m;
    snprintf(tag, sizeof tag, "dl-%s-%u-%u", r->model, r->workers, run);
    char *out = cmd_path_join(b->dir, tag);
    if (!out || mkdir(out, 0777)) {
        free(out);
        return -2;
    }
    struct url_list l = {.port = s->port, .n = b->plan.urls};
    struct ib_fetch_opts o = {
        .out_dir = out, .mode = mode, .concurrency = r->workers,
        /* one host here: let -c alone set the transfers in flight */
        .per_host = r->workers, .retries = 0, .timeout_s = 60, .force = 1,
        .next = next_url, .next_ctx = &l, .done = fetch_done, .ctx = &l,
        .stop = &cmd_stop,
    };
    double t0 = cmd_now_ms();
    int frc = ib_fetch_run(&o, msg, sizeof msg);
    double ms = cmd_now_ms() - t0;
    if (frc) {
        fprintf(stderr, "imgbatch bench: %s\n", msg);
        ms = -2;
    } else if (l.ok != l.n) {
        fprintf(stderr, "imgbatch bench: fetch %s: %u of %u downloads "
                "failed\n", r->model, l.n - l.ok, l.n);
        ms = -1;
    } else {
        b->fetch_bytes = 0;
        for (unsigned i = 0; i < l.n; i++) {
            char p[4096];
            const struct blob *body = &b->bodies[i % b->plan.bodies];
            snprintf(p, sizeof p, "%s/%05u.jpg", out, i);
            b->fetch_bytes += body->len;
            if (!file_equals(p, body->buf, body->len))
                set_unverified(b, "fetch %s stored bytes the server did not "
                               "send", r->model);
        }
    }
    remove_tree(out);
    free(out);
    return ms;
}

/* ---- the figures ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void finish_row(struct row *r, unsigned items, double serial_ms)
{
    double v[8];
    memcpy(v, r->ms, sizeof v);
    qsort(v, r->nruns, sizeof v[0], cmp_double);
    r->median_ms = r->nruns % 2 ? v[r->nruns / 2]
                                : (v[r->nruns / 2 - 1] + v[r->nruns / 2]) / 2;
    r->rate = items * 1000.0 / r->median_ms;
    r->speedup = serial_ms > 0 ? serial_ms / r->median_ms : 1.0;
}

/*
 * Runs rows[0..n) in rounds, interleaved (A B C A B C ...), each run by
 * fn. Returns 0, or the first negative result.
 */
static int measure(struct bench *b, struct row *rows, size_t n,
                   double (*fn)(struct bench *, struct row *, unsigned,
                                const void *),
                   const void *arg)
{
    for (unsigned run = 0; run < b->plan.runs; run++)
        for (size_t i = 0; i < n; i++) {
            if (cmd_stop)
                return -3;
            double ms = fn(b, &rows[i], run, arg);
            if (ms < 0)
                return (int)ms;
            rows[i].ms[rows[i].nruns++] = ms;
        }
    return 0;
}

static double xf_fn(struct bench *b, struct row *r, unsigned run,
                    const void *arg)
{
    (void)arg;
    enum ib_pool_backend be = !strcmp(r->model, "procs") ? IB_POOL_FORK
                              : !strcmp(r->model, "omp") ? IB_POOL_OPENMP
                                                         : IB_POOL_SERIAL;
    return transform_once(b, r, run, be);
}

static double dl_fn(struct bench *b, struct row *r, unsigned run,
                    const void *arg)
{
    return fetch_once(b, arg, r, run);
}

/* ---- output ---- */

/* The smallest -c whose rate is within 10% of the best multi rate. */
static unsigned pick_concurrency(const struct row *dl, size_t n)
{
    double best = 0;
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(dl[i].model, "multi") && dl[i].rate > best)
            best = dl[i].rate;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(dl[i].model, "multi") && dl[i].rate >= 0.9 * best &&
            (!c || dl[i].workers < c))
            c = dl[i].workers;
    return c;
}

static void print_json(const struct bench *b, const struct row *rows,
                       size_t n, const char *engine, unsigned conc)
{
    const struct plan *p = &b->plan;
    printf("{\"cpus\":%u,\"quick\":%s,\"runs\":%u,\n", b->cpus,
           p->quick ? "true" : "false", p->runs);
    printf(" \"download\":{\"urls\":%u,\"delay_ms\":%u,\"bytes\":%zu},\n",
           p->urls, p->delay_ms, b->fetch_bytes);
    printf(" \"transform\":{\"images\":%u,\"width\":%u,\"height\":%u,"
           "\"workload\":\"fit 1024x1024, JPEG q85\"},\n", p->images,
           p->img_w, p->img_h);
    printf(" \"rows\":[\n");
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        printf("  {\"work\":\"%s\",\"model\":\"%s\",\"workers\":%u,"
               "\"seconds\":%.4f,\"rate\":%.3f,\"unit\":\"%s\","
               "\"speedup\":%.3f,\"runs_ms\":[", r->work, r->model,
               r->workers, r->median_ms / 1e3, r->rate,
               !strcmp(r->work, "download") ? "files/s" : "images/s",
               r->speedup);
        for (unsigned k = 0; k < r->nruns; k++)
            printf("%s%.2f", k ? "," : "", r->ms[k]);
        printf("]}%s\n", i + 1 < n ? "," : "");
    }
    printf(" ],\n \"recommend\":{\"engine\":\"%s\",\"workers\":%u,"
           "\"concurrency\":%u},\n", engine, b->cpus, conc);
    printf(" \"verified\":%s", b->verified ? "true" : "false");
    if (!b->verified)
        printf(",\"why\":\"%s\"", b->why);
    printf("}\n");
}

static void print_table(const struct bench *b, const struct row *rows,
                        size_t n, const char *engine, unsigned conc)
{
    const struct plan *p = &b->plan;
    printf("imgbatch bench%s: %u CPUs online, median of %u interleaved "
           "runs\n", p->quick ? " --quick" : "", b->cpus, p->runs);
    printf("download: %u URLs from 127.0.0.1, the server waits %u ms per "
           "reply\n", p->urls, p->delay_ms);
    printf("transform: %u images of %ux%u, fit 1024x1024, JPEG q85\n\n",
           p->images, p->img_w, p->img_h);
    printf("%-10s %-8s %7s %9s %15s %8s\n", "work", "model", "workers",
           "seconds", "rate", "speedup");
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        char rate[32];
        snprintf(rate, sizeof rate, "%.1f %s", r->rate,
                 !strcmp(r->work, "download") ? "files/s" : "img/s");
        printf("%-10s %-8s %7u %9.3f %15s %7.2fx\n", r->work, r->model,
               r->workers, r->median_ms / 1e3, rate, r->speedup);
    }
    printf("\nhere: imgbatch transform --engine %s --%s %u; "
           "imgbatch fetch -c %u\n", engine,
           strcmp(engine, "omp") ? "procs" : "threads", b->cpus, conc);
    if (b->verified)
        printf("verified: every fetch mode stored the bytes served; every "
               "engine wrote the serial engine's bytes\n");
    else
        printf("NOT verified: %s\n", b->why);
}

/* ---- the command ---- */

/* Makes the inputs: transform images on disk, server bodies in memory. */
static int make_inputs(struct bench *b)
{
    const struct plan *p = &b->plan;
    char *in = cmd_path_join(b->dir, "in");
    int rc = in && !mkdir(in, 0777) ? 0 : -1;
    for (unsigned i = 0; !rc && i < p->images; i++) {
        struct blob j = {0};
        char path[4096];
        snprintf(path, sizeof path, "%s/img%03u.jpg", in, i);
        rc = encode_picture(p->img_w, p->img_h, i + 1, 92, &j) ||
             write_file(path, j.buf, j.len) ? -1 : 0;
        free(j.buf);
    }
    free(in);
    b->bodies = calloc(p->bodies, sizeof *b->bodies);
    if (!b->bodies)
        return -1;
    for (unsigned i = 0; !rc && i < p->bodies; i++)
        rc = encode_picture(p->body_w, p->body_h, 1000 + i, 85,
                            &b->bodies[i]);
    return rc;
}

static int parse_args(int argc, char **argv, struct plan *plan, int *json,
                      const char **parent)
{
    const char *v;
    int c;
    optind = 1;
    while ((c = cmd_getopt(argc, argv, options, &v)) != -1) {
        switch (c) {
        case 'Q': *plan = quick_plan; break;
        case 'j': *json = 1; break;
        case 'o': *parent = v; break;
        case 'h':
            cmd_print_help(stdout, usage_line, about, options);
            return EXIT_ALL_OK;
        default:
            return EXIT_USAGE;
        }
    }
    if (optind != argc)
        return cmd_usage_error(NAME, "unexpected argument '%s'", argv[optind]);
    return -1;
}

int cmd_bench(int argc, char **argv)
{
    struct bench b = {.plan = full_plan, .verified = 1};
    const char *parent = getenv("TMPDIR");
    int json = 0, rc, err = 0;
    struct server srv;

    if (!parent || !*parent)
        parent = "/tmp";
    rc = parse_args(argc, argv, &b.plan, &json, &parent);
    if (rc >= 0)
        return rc;
    b.cpus = ib_pool_cpus();
    b.dir = cmd_path_join(parent, "imgbatch-bench.XXXXXX");
    if (!b.dir || !mkdtemp(b.dir)) {
        fprintf(stderr, "imgbatch bench: cannot make a folder in '%s': %s\n",
                parent, strerror(errno));
        free(b.dir);
        return EXIT_FATAL;
    }
    cmd_catch_signals();
#define ROW(w, m, n) {.work = w, .model = m, .workers = n}
    struct row rows[] = {
        ROW("download", "serial", 1),  ROW("download", "threads", 16),
        ROW("download", "multi", 4),   ROW("download", "multi", 16),
        ROW("download", "multi", 64),  ROW("transform", "serial", 1),
        ROW("transform", "procs", b.cpus), ROW("transform", "omp", b.cpus),
    };
#undef ROW
    enum { DL = 0, NDL = 5, XS = 5, XP = 6, XO = 7, NROWS = 8 };
    struct row xs2 = rows[XS];   /* serial runs interleaved with omp */

    if (!json)
        fprintf(stderr, "bench: making %u test images...\n", b.plan.images);
    if (make_inputs(&b)) {
        fprintf(stderr, "imgbatch bench: cannot make the test images in "
                "'%s'\n", b.dir);
        err = -2;
        goto out;
    }
    /* 2. forks happen here, before any other thread exists */
    if (!json)
        fprintf(stderr, "bench: transform, serial and procs %u...\n", b.cpus);
    err = measure(&b, &rows[XS], 2, xf_fn, NULL);
    if (err)
        goto out;
    /* 3. threads from here on: the server's, fetch's */
    if (!json)
        fprintf(stderr, "bench: download, %u URLs per run...\n",
                b.plan.urls);
    if (bench_server_start(&srv, b.bodies, b.plan.bodies, b.plan.delay_ms)) {
        fprintf(stderr, "imgbatch bench: cannot listen on 127.0.0.1: %s\n",
                strerror(errno));
        err = -2;
        goto out;
    }
    err = measure(&b, &rows[DL], NDL, dl_fn, &srv);
    bench_server_stop(&srv);
    if (err)
        goto out;
    /* 4. OpenMP last: nothing forks after this */
    if (!json)
        fprintf(stderr, "bench: transform, serial and omp %u...\n", b.cpus);
    struct row pair[2] = {xs2, rows[XO]};
    err = measure(&b, pair, 2, xf_fn, NULL);
    if (err)
        goto out;
    rows[XO] = pair[1];
    for (unsigned k = 0; k < pair[0].nruns && rows[XS].nruns < 8; k++)
        rows[XS].ms[rows[XS].nruns++] = pair[0].ms[k];

    finish_row(&rows[DL], b.plan.urls, 0);
    for (int i = DL + 1; i < DL + NDL; i++)
        finish_row(&rows[i], b.plan.urls, rows[DL].median_ms);
    finish_row(&rows[XS], b.plan.images, 0);
    finish_row(&rows[XP], b.plan.images, rows[XS].median_ms);
    finish_row(&rows[XO], b.plan.images, rows[XS].median_ms);

    /* procs unless omp is clearly faster: a crash then costs one image */
    const char *engine = rows[XO].rate > 1.05 * rows[XP].rate ? "omp"
                                                                : "procs";
    unsigned conc = pick_concurrency(&rows[DL], NDL);
    if (json)
        print_json(&b, rows, NROWS, engine, conc);
    else
        print_table(&b, rows, NROWS, engine, conc);
out:
    remove_tree(b.dir);
    free(b.dir);
    for (unsigned i = 0; b.bodies && i < b.plan.bodies; i++)
        free(b.bodies[i].buf);
    free(b.bodies);
    if (cmd_stop)
        return 128 + cmd_stop;
    if (err == -2)
        return EXIT_FATAL;
    if (err)
        return EXIT_SOME_FAILED;
    if (!b.verified) {
        fprintf(stderr, "imgbatch bench: %s\n", b.why);
        return EXIT_SOME_FAILED;
    }
    return EXIT_ALL_OK;
}
