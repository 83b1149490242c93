/*
 * tests/bench/bench_png_decode.c: PNG decode alone, imgbatch's decoder
 * (transform/png.c: the IDAT run inflated by libdeflate where it can, or
 * libpng alone with IMGBATCH_NO_FASTPNG=1 in the environment) against
 * libspng, run by hand (never by ctest; imgbatch does not depend on
 * libspng). Every file is read into memory
 * first; each round decodes all of them with one library then the other,
 * to 8-bit samples of the file's channels (tRNS to alpha), row by row as
 * png.c does, and prints the CPU seconds of each.
 *
 *   cc -O2 -I. tests/bench/bench_png_decode.c build/transform/libib_transform.a \
 *      $(pkg-config --libs spng libpng libjpeg libdeflate zlib libwebp \
 *      libwebpmux libwebpdemux libavif lcms2) -lm \
 *      -o /tmp/bench_png_decode
 *   /tmp/bench_png_decode ROUNDS FILE.png...
 */
#include "transform/transform.h"
#include "transform/transform_int.h"

#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0) {
        rewind(f);
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* libspng, progressive (row by row) into one image buffer; 0 or -1 */
static int spng_one(const unsigned char *buf, size_t len, unsigned *check)
{
    spng_ctx *ctx = spng_ctx_new(0);
    struct spng_ihdr h;
    struct spng_trns trns;
    struct spng_row_info ri;
    int fmt, ch, rc = -1;
    unsigned char *img = NULL;

    if (!ctx || spng_set_png_buffer(ctx, buf, len) ||
        spng_get_ihdr(ctx, &h))
        goto done;
    int t = h.color_type, has_trns = spng_get_trns(ctx, &trns) == 0;
    if (t == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA ||
        ((t == SPNG_COLOR_TYPE_TRUECOLOR || t == SPNG_COLOR_TYPE_INDEXED) &&
         has_trns)) {
        fmt = SPNG_FMT_RGBA8;
        ch = 4;
    } else if (t == SPNG_COLOR_TYPE_TRUECOLOR ||
               t == SPNG_COLOR_TYPE_INDEXED) {
        fmt = SPNG_FMT_RGB8;
        ch = 3;
    } else if (t == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA || has_trns) {
        fmt = SPNG_FMT_GA8;
        ch = 2;
    } else {
        fmt = SPNG_FMT_G8;
        ch = 1;
    }
    size_t rowb = (size_t)h.width * ch;
    img = malloc(rowb * h.height);
    if (!img || spng_decode_image(ctx, NULL, 0, fmt,
                                  SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE))
        goto done;
    do {
        if (spng_get_row_info(ctx, &ri))
            break;
        rc = spng_decode_row(ctx, img + (size_t)ri.row_num * rowb, rowb);
    } while (rc == 0);
    if (rc != SPNG_EOI)
        goto done;
    *check += img[rowb * h.height / 2];
    rc = 0;
done:
    free(img);
    spng_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ROUNDS FILE.png...\n", argv[0]);
        return 2;
    }
    int rounds = atoi(argv[1]), nf = argc - 2;
    unsigned char **bufs = calloc((size_t)nf, sizeof *bufs);
    size_t *lens = calloc((size_t)nf, sizeof *lens);
    struct ib_decode_opts o;
    unsigned check = 0;
    char msg[256];

    ib_decode_opts_init(&o);
    o.keep_icc = 1;
    for (int i = 0; i < nf; i++)
        if (!(bufs[i] = slurp(argv[i + 2], &lens[i]))) {
            fprintf(stderr, "cannot read '%s'\n", argv[i + 2]);
            return 1;
        }
    for (int r = 0; r < rounds; r++) {
        double t0 = cpu_seconds();
        for (int i = 0; i < nf; i++) {
            struct ib_image *img;
            struct ib_meta m;
            memset(&m, 0, sizeof m);
            if (tf_png_decode(bufs[i], lens[i], &o, &img, &m, msg,
                              sizeof msg)) {
                fprintf(stderr, "imgbatch: '%s': %s\n", argv[i + 2], msg);
                return 1;
            }
            check += img->px[0];
            ib_image_free(img);
            free(m.icc);
        }
        double t1 = cpu_seconds();
        for (int i = 0; i < nf; i++)
            if (spng_one(bufs[i], lens[i], &check)) {
                fprintf(stderr, "libspng: cannot decode '%s'\n", argv[i + 2]);
                return 1;
            }
        double t2 = cpu_seconds();
        printf("round %d: imgbatch %.3f s, libspng %.3f s\n", r + 1, t1 - t0,
               t2 - t1);
    }
    fprintf(stderr, "(check %u)\n", check);
    return 0;
}
