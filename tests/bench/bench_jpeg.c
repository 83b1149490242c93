/*
 * tests/bench/bench_jpeg.c: the JPEG encoder settings on thumbnails, the
 * encoder alone. Each IMAGE is decoded and fitted into 1024x1024 once (as
 * "transform --resize 1024x1024" does); then each setting encodes that
 * thumbnail RUNS times at q85. Prints, per setting, the bytes of all
 * outputs and the sum over images of the median encode time, beside the
 * same for reading, decoding and resizing; checks that
 * optimised Huffman tables decode to the same pixels as standard ones.
 *
 *   bench_jpeg RUNS IMAGE...      (built and run by bench_jpeg.sh)
 */
#include "transform/transform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct setting {
    const char *name;
    int subsample, optimize, progressive;
    double ms;          /* sum of per-image medians */
    unsigned long long bytes;
};

static struct setting settings[] = {
    {"420 standard tables", 420, 0, 0, 0, 0},
    {"420 optimised", 420, 1, 0, 0, 0},
    {"420 progressive", 420, 1, 1, 0, 0},
    {"422 optimised", 422, 1, 0, 0, 0},
    {"444 optimised", 444, 1, 0, 0, 0},
};
#define NSET (sizeof settings / sizeof settings[0])

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0) {
        rewind(f);
        b = malloc((size_t)n);
        if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
            free(b);
            b = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return b;
}

/* Shrink-on-load as transform does it: from the header, at least twice
 * the resize's target. */
static int min_size(const struct ib_pipeline *p, const unsigned char *buf,
                    size_t len, struct ib_decode_opts *d)
{
    struct ib_meta m;
    char msg[256];
    uint32_t w, h;

    if (ib_image_probe(buf, len, &m, msg, sizeof msg))
        return -1;
    if (m.orientation >= 5)
        ib_pipeline_min_input(p, m.height, m.width, &h, &w);
    else
        ib_pipeline_min_input(p, m.width, m.height, &w, &h);
    d->min_width = w;
    d->min_height = h;
    return 0;
}

/* The thumbnail of path: decoded with shrink-on-load, fitted in 1024. */
static struct ib_image *thumbnail(const char *path)
{
    struct ib_decode_opts d;
    struct ib_pipeline *p = ib_pipeline_new();
    struct ib_image *img = NULL;
    char msg[256] = "";
    size_t len = 0;
    unsigned char *buf = slurp(path, &len);

    ib_decode_opts_init(&d);
    if (!buf || !p ||
        ib_pipeline_add(p, "resize", "1024x1024", msg, sizeof msg) ||
        min_size(p, buf, len, &d) ||
        ib_image_decode(buf, len, &d, &img, NULL, msg, sizeof msg) ||
        ib_pipeline_apply(p, &img, msg, sizeof msg)) {
        fprintf(stderr, "bench_jpeg: %s: %s\n", path, msg);
        ib_image_free(img);
        img = NULL;
    }
    ib_pipeline_free(p);
    free(buf);
    return img;
}

int main(int argc, char **argv)
{
    int runs = argc > 2 ? atoi(argv[1]) : 0;
    double *t, thumb_ms = 0;

    if (runs < 1) {
        fprintf(stderr, "usage: bench_jpeg RUNS IMAGE...\n");
        return 2;
    }
    t = malloc(sizeof *t * (size_t)runs);
    if (!t)
        return 1;
    for (int a = 2; a < argc; a++) {
        struct ib_image *img = NULL;
        struct ib_image *px[2] = {NULL, NULL};
        char msg[256];

        for (int r = 0; r < runs; r++) {
            double t0 = now_ms();
            ib_image_free(img);
            img = thumbnail(argv[a]);
            if (!img)
                return 1;
            t[r] = now_ms() - t0;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        thumb_ms += t[runs / 2];
        for (size_t s = 0; s < NSET; s++) {
            struct setting *st = &settings[s];
            struct ib_encode_opts e;
            unsigned char *out = NULL;
            size_t len = 0;

            ib_encode_opts_init(&e);
            e.subsample = st->subsample;
            e.optimize_coding = st->optimize;
            e.progressive = st->progressive;
            for (int r = 0; r < runs; r++) {
                double t0 = now_ms();
                free(out);
                if (ib_image_encode(img, &e, &out, &len, msg, sizeof msg)) {
                    fprintf(stderr, "bench_jpeg: %s\n", msg);
                    return 1;
                }
                t[r] = now_ms() - t0;
            }
            qsort(t, (size_t)runs, sizeof *t, cmp_double);
            st->ms += t[runs / 2];
            st->bytes += len;
            /* the first two differ in their Huffman tables only */
            if (s < 2 && ib_image_decode(out, len, NULL, &px[s], NULL, msg,
                                         sizeof msg)) {
                fprintf(stderr, "bench_jpeg: %s\n", msg);
                return 1;
            }
            free(out);
        }
        if (px[0]->height * px[0]->stride != px[1]->height * px[1]->stride ||
            memcmp(px[0]->px, px[1]->px, px[0]->height * px[0]->stride)) {
            fprintf(stderr, "bench_jpeg: %s: optimised tables changed "
                    "pixels\n", argv[a]);
            return 1;
        }
        ib_image_free(px[0]);
        ib_image_free(px[1]);
        ib_image_free(img);
    }
    printf("| setting | bytes | vs standard | encode ms | vs standard "
           "| read+decode+resize+encode vs standard |\n"
           "|---|---:|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < NSET; s++)
        printf("| %s | %llu | %+.1f%% | %.0f | %+.0f%% | %+.1f%% |\n",
               settings[s].name, settings[s].bytes,
               100.0 * ((double)settings[s].bytes / settings[0].bytes - 1),
               settings[s].ms, 100.0 * (settings[s].ms / settings[0].ms - 1),
               100.0 * ((thumb_ms + settings[s].ms) /
                        (thumb_ms + settings[0].ms) - 1));
    printf("\n%d images; read, decode (shrink-on-load) and resize: %.0f ms; "
           "times are sums of per-image medians. Optimised and standard "
           "tables decode to identical pixels on every image.\n", argc - 2,
           thumb_ms);
    free(t);
    return 0;
}
