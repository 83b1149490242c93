/*
 * tests/bench/bench_avif.c: one AVIF encode of a 1024 px thumbnail of an
 * image, with whatever encoder and speed transform/avif.c was built with
 * (bench_avif.sh builds one binary per choice): prints bytes, encode time
 * and PSNR of the decoded result against the thumbnail.
 */
#include "transform/transform_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_avif IMAGE QUALITY\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        return 1;
    fclose(f);
    char msg[256];
    struct ib_image *img, *t, *back;
    struct ib_meta m = {0}, m2 = {0};
    if (ib_image_decode(b, (size_t)n, NULL, &img, &m, msg, sizeof msg) ||
        tf_resample(img, 1024, img->height * 1024 / img->width,
                    TF_FILTER_LANCZOS3, &t, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    struct ib_encode_opts o;
    ib_encode_opts_init(&o);
    o.avif_quality = atoi(argv[2]);
    unsigned char *out;
    size_t len;
    double t0 = now_ms();
    if (tf_avif_encode(t, &o, &out, &len, msg, sizeof msg))
        return fprintf(stderr, "%s\n", msg), 1;
    double t1 = now_ms();
    struct ib_decode_opts d;
    ib_decode_opts_init(&d);
    if (tf_avif_decode(out, len, &d, &back, &m2, msg, sizeof msg))
        return fprintf(stderr, "%s\n", msg), 1;
    double se = 0;
    for (uint32_t y = 0; y < t->height; y++)
        for (uint32_t x = 0; x < t->width * 3; x++) {
            int a = t->px[y * t->stride + x];
            int c = back->px[y * back->stride + x / 3 * back->channels + x % 3];
            se += (double)(a - c) * (a - c);
        }
    double mse = se / (t->width * 3.0 * t->height);
    printf("%zu %.0f %.2f\n", len, t1 - t0, 10 * log10(255.0 * 255 / mse));
    return 0;
}
