/*
 * tests/fuzz/fuzz_decode.c: hostile image bytes through the whole item
 * path of the transform library: probe, decode (4 MP limit), a short op
 * pipeline, encode, and decode of what was encoded.
 *
 * Input: a JPEG, PNG, WebP or AVIF file. Which pipeline, output format and decode
 * options run is picked from the input's length, so the fuzzer reaches
 * all of them by growing or shrinking an input, and the image's own bytes
 * stay as they are. Properties: a decode that succeeds returns an image
 * within the pixel limit and of the size its header declares (scaled and
 * oriented as the meta says); the pipeline and encoder succeed on any
 * decoded image; the encoded bytes decode to the same size. A PNG decodes
 * to the same result (code, message or pixels) with the fast IDAT path
 * (transform/png_idat.c) as with libpng alone.
 */
#include "tests/fuzz/fuzz.h"
#include "transform/transform.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PIXELS (4u << 20)

/* "name=arg" or "name" (a flag op), separated by blanks */
static const char *const pipelines[] = {
    "resize=64x64 rotate=90",
    "resize=48x blur=1.5",
    "resize=40x40^ sharpen=1,2 grayscale",
    "resize=30x20! crop=20x10+0+0 flop",
    "crop=64x64+0+0 flip resize=17x",
    "resize=80x80 rotate=270 blur=0.6",
    "grayscale resize=24x24^",
    "resize=33x",
};
#define NPIPES (sizeof pipelines / sizeof pipelines[0])

static struct ib_pipeline *make_pipeline(size_t k)
{
    struct ib_pipeline *p = ib_pipeline_new();
    char spec[128], msg[256], *save = NULL;
    FUZZ_CHECK(p);
    snprintf(spec, sizeof spec, "%s", pipelines[k]);
    for (char *t = strtok_r(spec, " ", &save); t;
         t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        if (eq)
            *eq = '\0';
        if (ib_pipeline_add(p, t, eq ? eq + 1 : NULL, msg, sizeof msg)) {
            fprintf(stderr, "%s\n", msg);
            abort();
        }
    }
    return p;
}

static uint32_t scaled(uint32_t v, unsigned denom)
{
    return (uint32_t)(((uint64_t)v + denom - 1) / denom);
}

/* The decode again with libpng alone: the same code, message or pixels. */
static void same_as_libpng(const uint8_t *data, size_t size,
                           const struct ib_decode_opts *o, int rc,
                           const struct ib_image *img, const char *msg)
{
    struct ib_image *ref = NULL;
    char m[256] = "";

    setenv("IMGBATCH_NO_FASTPNG", "1", 1);
    int r = ib_image_decode(data, size, o, &ref, NULL, m, sizeof m);
    unsetenv("IMGBATCH_NO_FASTPNG");
    FUZZ_CHECK(r == rc);
    if (rc) {
        FUZZ_CHECK(!strcmp(m, msg));
        return;
    }
    FUZZ_CHECK(ref->width == img->width && ref->height == img->height &&
               ref->channels == img->channels);
    for (uint32_t y = 0; y < img->height; y++)
        FUZZ_CHECK(!memcmp(ref->px + (size_t)y * ref->stride,
                           img->px + (size_t)y * img->stride,
                           (size_t)img->width * img->channels));
    ib_image_free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ib_decode_opts o;
    struct ib_meta probe, meta;
    struct ib_image *img = NULL;
    char msg[256] = "";
    unsigned sel = (unsigned)(size % 64);

    ib_decode_opts_init(&o);
    o.max_pixels = MAX_PIXELS;
    o.max_scans = 100;
    o.auto_orient = !(sel & 1);
    o.keep_icc = !(sel & 2);
    o.to_srgb = (sel & 32) != 0;   /* lcms2 over whatever profile came */
    if (sel & 4)
        o.min_width = o.min_height = 40;   /* shrink-on-load */

    int prc = ib_image_probe(data, size, &probe, msg, sizeof msg);
    if (prc == 0) {
        FUZZ_CHECK(ib_format_can_read(probe.format));
        FUZZ_CHECK(probe.format == ib_format_sniff(data, size));
        ib_meta_release(&probe);
    }
    memset(&meta, 0, sizeof meta);
    msg[0] = '\0';
    int rc = ib_image_decode(data, size, &o, &img, &meta, msg, sizeof msg);
    if (ib_format_sniff(data, size) == IB_FORMAT_PNG)
        same_as_libpng(data, size, &o, rc, img, msg);
    if (rc) {
        FUZZ_CHECK(rc < 0 && img == NULL);
        FUZZ_CHECK(msg[0] != '\0' && memchr(msg, '\0', sizeof msg));
        return 0;
    }
    FUZZ_CHECK(prc == 0);
    FUZZ_CHECK(img->channels >= 1 && img->channels <= 4);
    FUZZ_CHECK(img->stride >= (size_t)img->width * img->channels);
    FUZZ_CHECK((uint64_t)meta.width * meta.height <= MAX_PIXELS);
    FUZZ_CHECK(meta.scale_denom == 1 || meta.scale_denom == 2 ||
               meta.scale_denom == 4 || meta.scale_denom == 8);
    uint32_t w = scaled(meta.width, meta.scale_denom);
    uint32_t h = scaled(meta.height, meta.scale_denom);
    if (o.auto_orient && meta.orientation >= 5) {
        uint32_t t = w;
        w = h;
        h = t;
    }
    FUZZ_CHECK(img->width == w && img->height == h);
    volatile unsigned sum = 0;   /* every pixel byte is readable */
    for (uint32_t y = 0; y < img->height; y++)
        for (size_t x = 0; x < (size_t)img->width * img->channels; x++)
            sum += img->px[(size_t)y * img->stride + x];
    (void)sum;

    /* a hash of the length: independent of the flag bits in sel */
    size_t pipe = (size_t)((size * 2654435761u) >> 8) % NPIPES;
    struct ib_pipeline *p = make_pipeline(pipe);
    /* every op here applies to any image: crops start at 0,0 */
    if (ib_pipeline_apply(p, &img, msg, sizeof msg)) {
        fprintf(stderr, "pipeline %zu: %s\n", pipe, msg);
        abort();
    }
    ib_pipeline_free(p);

    struct ib_encode_opts e;
    ib_encode_opts_init(&e);
    /* WebP costs little; AVIF's encoder too much per exec to fuzz it */
    e.format = (sel & 8) ? IB_FORMAT_PNG
               : (sel & 32) ? IB_FORMAT_WEBP : IB_FORMAT_JPEG;
    e.png_level = 1;
    e.quality = 70;
    e.progressive = (sel & 16) != 0;
    /* sel's bits are all taken: JPEG's other settings from another hash */
    unsigned jsel = (unsigned)(((size * 40503u) >> 4) % 6);
    e.subsample = jsel % 3 == 0 ? 420 : jsel % 3 == 1 ? 422 : 444;
    e.optimize_coding = jsel < 3;
    e.icc = meta.icc;
    e.icc_len = meta.icc_len;
    unsigned char *out = NULL;
    size_t outlen = 0;
    if (ib_image_encode(img, &e, &out, &outlen, msg, sizeof msg)) {
        fprintf(stderr, "encode: %s\n", msg);
        abort();
    }

    struct ib_image *back = NULL;
    struct ib_decode_opts plain;
    ib_decode_opts_init(&plain);
    FUZZ_CHECK(ib_image_decode(out, outlen, &plain, &back, NULL, msg,
                               sizeof msg) == 0);
    FUZZ_CHECK(back->width == img->width && back->height == img->height);

    ib_image_free(back);
    free(out);
    ib_image_free(img);
    ib_meta_release(&meta);
    return 0;
}
