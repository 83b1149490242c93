/*
 * tests/unit/test_transform.c: the codecs against ib-gen's images.
 *
 * The group setup runs ib-gen (path in $IB_GEN) into a fresh temporary
 * directory; every expected pixel comes from testdata/pattern.h, never
 * from a stored file, so a wrong decoder cannot agree with itself.
 *
 * JPEG tolerances: the generator and the round trips use quality 92.
 * libjpeg-turbo 2.1 decodes these 37x23 pictures with a mean absolute
 * error of about 1 level and at most 8 (4:2:0: chroma is halved and the
 * darker marker block's soft edge rings a little); 4:4:4, grey and CMYK
 * stay within 6. The bounds below are twice that, so an encoder or
 * decoder change does not break them, yet a mirrored, rotated, channel-
 * swapped or uninverted-CMYK decode misses them by far: its mean error
 * is tens of levels (test_jpeg_exif_orientation checks that it does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testdata/pattern.h"
#include "transform/transform.h"
#include "transform/transform_int.h"
#include "transform/resample_fx.h"

#define JPEG_MEAN_TOL 2.0
#define JPEG_MAX_TOL 16

extern char **environ;

static char gen_dir[] = "/tmp/ib-test-transform-XXXXXX";

/* ---- fixtures ----------------------------------------------------- */

static int group_setup(void **state)
{
    const char *gen = getenv("IB_GEN");
    char *argv[3];
    pid_t pid;
    int status;

    (void)state;
    if (!gen || !*gen) {
        fprintf(stderr, "IB_GEN is not set: run under ctest\n");
        return -1;
    }
    if (!mkdtemp(gen_dir)) {
        perror("mkdtemp");
        return -1;
    }
    argv[0] = (char *)gen;
    argv[1] = gen_dir;
    argv[2] = NULL;
    if (posix_spawn(&pid, gen, NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "'%s %s' failed\n", gen, gen_dir);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    DIR *d = opendir(gen_dir);
    struct dirent *e;
    char path[512];

    (void)state;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", gen_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(gen_dir);
}

static unsigned char *load(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    long n;
    unsigned char *p;

    snprintf(path, sizeof path, "%s/%s", gen_dir, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open '%s'", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    p = malloc(n ? (size_t)n : 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void assert_one_line(const char *msg)
{
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
}

/* Decodes a generated file; asserts success and returns the image. */
static struct ib_image *decode_ok(const char *name,
                                  const struct ib_decode_opts *opts,
                                  struct ib_meta *meta)
{
    struct ib_image *img = NULL;
    char msg[256] = "";
    size_t len;
    unsigned char *buf = load(name, &len);
    int rc = ib_image_decode(buf, len, opts, &img, meta, msg, sizeof msg);

    free(buf);
    if (rc != 0)
        fail_msg("%s: %s (%d)", name, msg, rc);
    assert_non_null(img);
    return img;
}

static struct ib_decode_opts opts_default(void)
{
    struct ib_decode_opts o;
    ib_decode_opts_init(&o);
    return o;
}

static unsigned px(const struct ib_image *img, uint32_t x, uint32_t y,
                   unsigned c)
{
    return img->px[(size_t)y * img->stride + (size_t)x * img->channels + c];
}

/* Expected RGB (or grey) of the upright pattern at (x, y). */
typedef unsigned expect_fn(uint32_t w, uint32_t h, uint32_t x, uint32_t y,
                           unsigned c);

static unsigned expect_rgb(uint32_t w, uint32_t h, uint32_t x, uint32_t y,
                           unsigned c)
{
    return pat_rgba(w, h, x, y, c);
}

static unsigned expect_grey(uint32_t w, uint32_t h, uint32_t x, uint32_t y,
                            unsigned c)
{
    (void)c;
    return pat_grey(w, h, x, y);
}

/* Mean and maximum absolute difference of img from expect. */
static double mean_error(const struct ib_image *img, expect_fn *expect,
                         int *max)
{
    uint64_t sum = 0;
    int worst = 0;
    size_t n = 0;

    for (uint32_t y = 0; y < img->height; y++) {
        for (uint32_t x = 0; x < img->width; x++) {
            for (unsigned c = 0; c < img->channels; c++, n++) {
                int d = (int)px(img, x, y, c) -
                        (int)expect(img->width, img->height, x, y, c);
                d = d < 0 ? -d : d;
                sum += (uint64_t)d;
                worst = d > worst ? d : worst;
            }
        }
    }
    *max = worst;
    return (double)sum / (double)n;
}

/* Asserts img is within the JPEG tolerance of the pattern. */
static void assert_near(const char *what, const struct ib_image *img,
                        expect_fn *expect, double mean_tol, int max_tol)
{
    int worst;
    double mean = mean_error(img, expect, &worst);

    if (mean > mean_tol || worst > max_tol)
        fail_msg("%s: mean error %.2f (limit %.1f), max %d (limit %d)", what,
                 mean, mean_tol, worst, max_tol);
}

/* ---- PNG decode: every colour type and depth ---------------------- */

/* What libpng documents for widening to 8 bits: bit replication for
 * 1/2/4-bit grey, rounding (not truncation) from 16. */
static unsigned widen(unsigned s, unsigned depth)
{
    if (depth == 16)
        return (s * 255u + 32767u) / 65535u;
    if (depth < 8)
        return s * 255u / ((1u << depth) - 1u);
    return s;
}

static unsigned file_channels(int type)
{
    return type == PAT_RGB ? 3 : type == PAT_RGBA ? 4
           : type == PAT_GREY_ALPHA ? 2 : 1;
}

/* The decoded value of channel c at (x, y) of png-<type><depth>[-trns]. */
static unsigned png_expect(int type, unsigned depth, int trns, uint32_t x,
                           uint32_t y, unsigned c)
{
    uint32_t w = PAT_W, h = PAT_H;

    if (type == PAT_PALETTE) {
        unsigned i = pat_index(x, y, depth);
        if (c < 3)
            return pat_palette(i, c);
        return i < pat_ntrans(depth) ? pat_palette_alpha(i) : 255;
    }
    unsigned colour = type == PAT_GREY || type == PAT_GREY_ALPHA ? 1 : 3;
    if (trns && c == colour) {
        for (unsigned k = 0; k < colour; k++)
            if (pat_sample(type, depth, w, h, x, y, k) !=
                pat_trns(type, depth, w, h, k))
                return 255;
        return 0;
    }
    return widen(pat_sample(type, depth, w, h, x, y, c), depth);
}

static void check_png(int type, const char *tag, unsigned depth, int trns,
                      int il)
{
    struct ib_decode_opts o = opts_default();
    struct ib_meta meta;
    struct ib_image *img;
    char name[64];
    unsigned want_ch = type == PAT_PALETTE ? 3 : file_channels(type);

    if (trns)
        want_ch++;
    snprintf(name, sizeof name, "png-%s%u%s%s.png", tag, depth,
             trns ? "-trns" : "", il ? "-i" : "");
    img = decode_ok(name, &o, &meta);
    assert_int_equal(meta.format, IB_FORMAT_PNG);
    assert_int_equal(meta.width, PAT_W);
    assert_int_equal(meta.height, PAT_H);
    assert_int_equal(meta.orientation, 1);
    assert_int_equal(img->width, PAT_W);
    assert_int_equal(img->height, PAT_H);
    if (img->channels != want_ch)
        fail_msg("%s: %u channels, want %u", name, img->channels, want_ch);
    for (uint32_t y = 0; y < PAT_H; y++)
        for (uint32_t x = 0; x < PAT_W; x++)
            for (unsigned c = 0; c < want_ch; c++) {
                unsigned want = png_expect(type, depth, trns, x, y, c);
                if (px(img, x, y, c) != want)
                    fail_msg("%s: (%u,%u) channel %u is %u, want %u", name,
                             x, y, c, px(img, x, y, c), want);
            }
    ib_image_free(img);
    ib_meta_release(&meta);
}

static void test_png_every_type_and_depth(void **state)
{
    static const struct {
        const char *tag;
        int type;
        unsigned depths[5];
        int trns;
    } kinds[] = {
        {"g", PAT_GREY, {1, 2, 4, 8, 16}, 1},
        {"rgb", PAT_RGB, {8, 16}, 1},
        {"p", PAT_PALETTE, {1, 2, 4, 8}, 1},
        {"ga", PAT_GREY_ALPHA, {8, 16}, 0},
        {"rgba", PAT_RGBA, {8, 16}, 0},
    };
    int files = 0;

    (void)state;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t d = 0; d < 5 && kinds[k].depths[d]; d++)
            for (int trns = 0; trns <= kinds[k].trns; trns++)
                for (int il = 0; il <= 1; il++, files++)
                    check_png(kinds[k].type, kinds[k].tag,
                              kinds[k].depths[d], trns, il);
    assert_int_equal(files, 52);
}

/* A palette image with tRNS must have both transparent and opaque pixels,
 * else the tRNS test above proves little. */
static void test_png_trns_is_exercised(void **state)
{
    struct ib_decode_opts o = opts_default();
    const char *names[] = {"png-p2-trns.png", "png-g8-trns.png",
                           "png-rgb16-trns.png"};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct ib_image *img = decode_ok(names[i], &o, NULL);
        unsigned a = img->channels - 1, zero = 0, full = 0;
        for (uint32_t y = 0; y < img->height; y++)
            for (uint32_t x = 0; x < img->width; x++) {
                zero += px(img, x, y, a) == 0;
                full += px(img, x, y, a) == 255;
            }
        if (!zero || !full)
            fail_msg("%s: %u transparent, %u opaque", names[i], zero, full);
        ib_image_free(img);
    }
}

/* ---- JPEG decode -------------------------------------------------- */

static void test_jpeg_variants(void **state)
{
    static const struct {
        const char *name;
        unsigned channels;
        int max_tol;
    } cases[] = {
        {"jpeg-420.jpg", 3, JPEG_MAX_TOL},
        {"jpeg-444.jpg", 3, JPEG_MAX_TOL / 2},
        {"jpeg-prog.jpg", 3, JPEG_MAX_TOL},
        {"jpeg-arith.jpg", 3, JPEG_MAX_TOL},
        {"jpeg-icc.jpg", 3, JPEG_MAX_TOL},
        {"jpeg-grey.jpg", 1, JPEG_MAX_TOL / 2},
        {"jpeg-cmyk.jpg", 3, JPEG_MAX_TOL / 2},
        {"jpeg-ycck.jpg", 3, JPEG_MAX_TOL},
    };
    struct ib_decode_opts o = opts_default();

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ib_meta meta;
        struct ib_image *img = decode_ok(cases[i].name, &o, &meta);

        assert_int_equal(meta.format, IB_FORMAT_JPEG);
        assert_int_equal(meta.width, PAT_W);
        assert_int_equal(meta.height, PAT_H);
        assert_int_equal(meta.scale_denom, 1);
        assert_int_equal(meta.orientation, 1);
        assert_int_equal(img->width, PAT_W);
        assert_int_equal(img->height, PAT_H);
        assert_int_equal(img->channels, cases[i].channels);
        assert_near(cases[i].name, img,
                    cases[i].channels == 1 ? expect_grey : expect_rgb,
                    JPEG_MEAN_TOL, cases[i].max_tol);
        ib_image_free(img);
        ib_meta_release(&meta);
    }
}

/* The orientation of file orient-<o>.jpg, for assert_near. */
static int cur_orient;

static unsigned expect_stored(uint32_t w, uint32_t h, uint32_t x, uint32_t y,
                              unsigned c)
{
    uint32_t ux, uy;

    (void)w;
    (void)h;
    pat_orient_src(cur_orient, PAT_W, PAT_H, x, y, &ux, &uy);
    return pat_rgba(PAT_W, PAT_H, ux, uy, c);
}

static void test_jpeg_exif_orientation(void **state)
{
    (void)state;
    for (int o = 1; o <= 8; o++) {
        struct ib_decode_opts opts = opts_default();
        struct ib_meta meta;
        struct ib_image *img;
        char name[32];
        uint32_t sw = o >= 5 ? PAT_H : PAT_W, sh = o >= 5 ? PAT_W : PAT_H;

        snprintf(name, sizeof name, "orient-%d.jpg", o);
        cur_orient = o;

        opts.auto_orient = 1;
        img = decode_ok(name, &opts, &meta);
        assert_int_equal(meta.orientation, o);
        assert_int_equal(meta.width, sw);
        assert_int_equal(meta.height, sh);
        assert_int_equal(img->width, PAT_W);
        assert_int_equal(img->height, PAT_H);
        assert_near(name, img, expect_rgb, JPEG_MEAN_TOL, JPEG_MAX_TOL);
        ib_image_free(img);
        ib_meta_release(&meta);

        opts.auto_orient = 0;
        img = decode_ok(name, &opts, &meta);
        assert_int_equal(meta.orientation, o);
        assert_int_equal(img->width, sw);
        assert_int_equal(img->height, sh);
        assert_near(name, img, expect_stored, JPEG_MEAN_TOL, JPEG_MAX_TOL);
        if (o >= 2 && o <= 4) {
            /* the tolerance tells orientations apart */
            int worst;
            double mean = mean_error(img, expect_rgb, &worst);
            if (mean < 10 * JPEG_MEAN_TOL)
                fail_msg("%s unrotated is only %.2f from upright", name,
                         mean);
        }
        ib_image_free(img);
        ib_meta_release(&meta);
    }
}

/* ---- broken files and limits -------------------------------------- */

static void test_broken_files(void **state)
{
    static const struct {
        const char *name;
        int code;
    } cases[] = {
        {"truncated.png", IB_TRANSFORM_ECORRUPT},
        {"truncated.jpg", IB_TRANSFORM_ECORRUPT},
        {"bad-crc.png", IB_TRANSFORM_ECORRUPT},
        {"garbage.jpg", IB_TRANSFORM_ECORRUPT},
        {"wrong-magic.png", IB_TRANSFORM_EFORMAT},
        {"empty.png", IB_TRANSFORM_EFORMAT},
        {"notes.txt", IB_TRANSFORM_EFORMAT},
        {"huge-dims.png", IB_TRANSFORM_ELIMIT},
        {"huge-dims.jpg", IB_TRANSFORM_ELIMIT},
        {"many-scans.jpg", IB_TRANSFORM_ELIMIT},
    };
    struct ib_decode_opts o = opts_default();

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ib_image *img = NULL;
        struct ib_meta meta = {.icc = NULL};
        char msg[256] = "";
        size_t len;
        unsigned char *buf = load(cases[i].name, &len);
        int rc = ib_image_decode(buf, len, &o, &img, &meta, msg, sizeof msg);

        if (rc != cases[i].code)
            fail_msg("%s: got %d (%s), want %d", cases[i].name, rc, msg,
                     cases[i].code);
        assert_null(img);
        assert_null(meta.icc);
        assert_one_line(msg);
        free(buf);
    }
}

static void expect_fail(const char *name, const struct ib_decode_opts *o,
                        int code, const char *needle)
{
    struct ib_image *img = NULL;
    char msg[256] = "";
    size_t len;
    unsigned char *buf = load(name, &len);
    int rc = ib_image_decode(buf, len, o, &img, NULL, msg, sizeof msg);

    free(buf);
    if (rc != code || (needle && !strstr(msg, needle)))
        fail_msg("%s: got %d '%s', want %d '%s'", name, rc, msg, code,
                 needle ? needle : "");
    assert_null(img);
    assert_one_line(msg);
}

static void test_messages_name_the_defect(void **state)
{
    struct ib_decode_opts o = opts_default();

    (void)state;
    expect_fail("truncated.jpg", &o, IB_TRANSFORM_ECORRUPT, "truncated");
    expect_fail("truncated.png", &o, IB_TRANSFORM_ECORRUPT, "truncated");
    expect_fail("bad-crc.png", &o, IB_TRANSFORM_ECORRUPT, "CRC");
    expect_fail("huge-dims.png", &o, IB_TRANSFORM_ELIMIT, "100000x100000");
    expect_fail("huge-dims.jpg", &o, IB_TRANSFORM_ELIMIT, "60000x60000");
}

static void test_max_pixels(void **state)
{
    const char *names[] = {"png-rgb8.png", "jpeg-420.jpg", "png-g1-i.png"};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct ib_decode_opts o = opts_default();
        struct ib_image *img;

        o.max_pixels = 100;
        expect_fail(names[i], &o, IB_TRANSFORM_ELIMIT, "pixel limit");
        o.max_pixels = PAT_W * PAT_H - 1;
        expect_fail(names[i], &o, IB_TRANSFORM_ELIMIT, "pixel limit");
        o.max_pixels = PAT_W * PAT_H;  /* the limit itself is allowed */
        img = decode_ok(names[i], &o, NULL);
        ib_image_free(img);
    }
}

static void test_progressive_scan_cap(void **state)
{
    struct ib_decode_opts o = opts_default();
    struct ib_image *img;

    (void)state;
    expect_fail("many-scans.jpg", &o, IB_TRANSFORM_ELIMIT,
                "progressive JPEG with more than 1000 scans");
    o.max_scans = 5;
    expect_fail("jpeg-prog.jpg", &o, IB_TRANSFORM_ELIMIT, "more than 5 scans");
    /* the file has exactly 1 + 3 * 63 * 7 scans (testdata/gen.c) */
    o.max_scans = 1323;
    expect_fail("many-scans.jpg", &o, IB_TRANSFORM_ELIMIT,
                "more than 1323 scans");
    o.max_scans = 1324;
    img = decode_ok("many-scans.jpg", &o, NULL);
    ib_image_free(img);
    o.max_scans = 100000;
    img = decode_ok("many-scans.jpg", &o, NULL);
    assert_int_equal(img->width, 16);
    assert_int_equal(img->height, 16);
    ib_image_free(img);
    /* an ordinary progressive file is far under the default */
    o.max_scans = IB_DEFAULT_MAX_SCANS;
    img = decode_ok("jpeg-prog.jpg", &o, NULL);
    ib_image_free(img);
}

/* ---- shrink-on-load ----------------------------------------------- */

/* The mean of the RGB pattern over the d x d block at (bx, by). */
static unsigned block_mean(uint32_t bx, uint32_t by, unsigned d, unsigned c)
{
    unsigned sum = 0, n = 0;

    for (uint32_t y = by * d; y < (by + 1) * d && y < PAT_H; y++)
        for (uint32_t x = bx * d; x < (bx + 1) * d && x < PAT_W; x++, n++)
            sum += pat_rgba(PAT_W, PAT_H, x, y, c);
    return (sum + n / 2) / n;
}

static unsigned shrink_denom;

static unsigned expect_shrunk(uint32_t w, uint32_t h, uint32_t x, uint32_t y,
                              unsigned c)
{
    (void)w;
    (void)h;
    return block_mean(x, y, shrink_denom, c);
}

static void test_shrink_on_load(void **state)
{
    static const struct {
        uint32_t min_w, min_h;
        unsigned denom;
        uint32_t w, h;
    } cases[] = {
        {0, 0, 1, 37, 23},    /* off */
        {1, 1, 8, 5, 3},      /* ceil(37/8) x ceil(23/8) */
        {5, 3, 8, 5, 3},      /* exactly the 1/8 size */
        {6, 1, 4, 10, 6},
        {1, 4, 4, 10, 6},
        {10, 6, 4, 10, 6},
        {11, 1, 2, 19, 12},
        {19, 12, 2, 19, 12},
        {20, 1, 1, 37, 23},
        {1, 13, 1, 37, 23},
        {1000, 1000, 1, 37, 23},  /* never upscales */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ib_decode_opts o = opts_default();
        struct ib_meta meta;
        struct ib_image *img;
        char what[64];

        o.min_width = cases[i].min_w;
        o.min_height = cases[i].min_h;
        img = decode_ok("jpeg-444.jpg", &o, &meta);
        snprintf(what, sizeof what, "min %ux%u", cases[i].min_w,
                 cases[i].min_h);
        if (meta.scale_denom != cases[i].denom || img->width != cases[i].w ||
            img->height != cases[i].h)
            fail_msg("%s: 1/%u %ux%u, want 1/%u %ux%u", what,
                     meta.scale_denom, img->width, img->height,
                     cases[i].denom, cases[i].w, cases[i].h);
        assert_int_equal(meta.width, PAT_W);   /* the header's size */
        assert_int_equal(meta.height, PAT_H);
        /* the reduced image is the pattern averaged, not garbage */
        shrink_denom = cases[i].denom;
        assert_near(what, img, expect_shrunk, JPEG_MEAN_TOL, JPEG_MAX_TOL);
        ib_image_free(img);
        ib_meta_release(&meta);
    }
}

/* PNG has no DCT scaling: the request is ignored. */
static void test_shrink_ignored_for_png(void **state)
{
    struct ib_decode_opts o = opts_default();
    struct ib_meta meta;
    struct ib_image *img;

    (void)state;
    o.min_width = o.min_height = 1;
    img = decode_ok("png-rgb8.png", &o, &meta);
    assert_int_equal(meta.scale_denom, 1);
    assert_int_equal(img->width, PAT_W);
    ib_image_free(img);
    ib_meta_release(&meta);
}

/* ---- encode ------------------------------------------------------- */

/* A PAT_W x PAT_H image of the pattern with 1..4 channels. */
static struct ib_image *pattern_image(unsigned channels)
{
    struct ib_image *img = ib_image_new(PAT_W, PAT_H, channels);

    assert_non_null(img);
    for (uint32_t y = 0; y < PAT_H; y++)
        for (uint32_t x = 0; x < PAT_W; x++)
            for (unsigned c = 0; c < channels; c++) {
                unsigned v;
                if (channels <= 2)
                    v = c == 0 ? pat_grey(PAT_W, PAT_H, x, y)
                               : pat_rgba(PAT_W, PAT_H, x, y, 3);
                else
                    v = pat_rgba(PAT_W, PAT_H, x, y, c);
                img->px[y * img->stride + x * channels + c] =
                    (unsigned char)v;
            }
    return img;
}

static void encode_ok(const struct ib_image *img,
                      const struct ib_encode_opts *eo, unsigned char **buf,
                      size_t *len)
{
    char msg[256] = "";
    int rc = ib_image_encode(img, eo, buf, len, msg, sizeof msg);

    if (rc != 0)
        fail_msg("encode failed: %s (%d)", msg, rc);
    assert_non_null(*buf);
    assert_true(*len > 0);
}

static struct ib_image *decode_mem(const unsigned char *buf, size_t len,
                                   struct ib_meta *meta)
{
    struct ib_decode_opts o = opts_default();
    struct ib_image *img = NULL;
    char msg[256] = "";
    int rc = ib_image_decode(buf, len, &o, &img, meta, msg, sizeof msg);

    if (rc != 0)
        fail_msg("decode of encoded data failed: %s (%d)", msg, rc);
    return img;
}

static void test_png_roundtrip_exact(void **state)
{
    (void)state;
    for (unsigned ch = 1; ch <= 4; ch++) {
        for (int level = 0; level <= 9; level += 9) {
            struct ib_encode_opts eo;
            struct ib_image *img = pattern_image(ch), *back;
            unsigned char *buf = NULL;
            size_t len = 0;

            ib_encode_opts_init(&eo);
            eo.format = IB_FORMAT_PNG;
            eo.png_level = level;
            encode_ok(img, &eo, &buf, &len);
            assert_int_equal(ib_format_sniff(buf, len), IB_FORMAT_PNG);
            back = decode_mem(buf, len, NULL);
            assert_int_equal(back->width, PAT_W);
            assert_int_equal(back->height, PAT_H);
            assert_int_equal(back->channels, ch);
            for (uint32_t y = 0; y < PAT_H; y++)
                assert_memory_equal(back->px + y * back->stride,
                                    img->px + y * img->stride,
                                    (size_t)PAT_W * ch);
            ib_image_free(back);
            ib_image_free(img);
            free(buf);
        }
    }
}

/* JPEG has no alpha: grey+alpha and RGBA come back composited on white. */
static unsigned over_white(unsigned v, unsigned a)
{
    return (v * a + 255 * (255 - a) + 127) / 255;
}

static unsigned expect_flat_grey(uint32_t w, uint32_t h, uint32_t x,
                                 uint32_t y, unsigned c)
{
    (void)c;
    return over_white(pat_grey(w, h, x, y), pat_rgba(w, h, x, y, 3));
}

static unsigned expect_flat_rgb(uint32_t w, uint32_t h, uint32_t x,
                                uint32_t y, unsigned c)
{
    return over_white(pat_rgba(w, h, x, y, c), pat_rgba(w, h, x, y, 3));
}

static void test_jpeg_roundtrip(void **state)
{
    static expect_fn *const expect[5] = {NULL, expect_grey, expect_flat_grey,
                                         expect_rgb, expect_flat_rgb};

    (void)state;
    for (unsigned ch = 1; ch <= 4; ch++) {
        for (int prog = 0; prog <= 1; prog++) {
            struct ib_encode_opts eo;
            struct ib_image *img = pattern_image(ch), *back;
            struct ib_meta meta;
            unsigned char *buf = NULL;
            size_t len = 0;
            char what[32];

            ib_encode_opts_init(&eo);
            eo.quality = 92;
            eo.progressive = prog;
            encode_ok(img, &eo, &buf, &len);
            assert_int_equal(ib_format_sniff(buf, len), IB_FORMAT_JPEG);
            back = decode_mem(buf, len, &meta);
            assert_int_equal(back->width, PAT_W);
            assert_int_equal(back->height, PAT_H);
            assert_int_equal(back->channels, ch <= 2 ? 1 : 3);
            assert_null(meta.icc);
            snprintf(what, sizeof what, "%u channels%s", ch,
                     prog ? " progressive" : "");
            assert_near(what, back, expect[ch], JPEG_MEAN_TOL, JPEG_MAX_TOL);
            ib_image_free(back);
            ib_image_free(img);
            free(buf);
        }
    }
}

/* The SOFn marker of a JPEG: 0xc0 baseline, 0xc2 progressive; 0 if none. */
static int jpeg_sof(const unsigned char *p, size_t len)
{
    size_t i = 2;

    while (i + 4 <= len && p[i] == 0xff) {
        int m = p[i + 1];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc)
            return m;
        i += 2 + ((size_t)p[i + 2] << 8 | p[i + 3]);
    }
    return 0;
}

static void test_jpeg_progressive_and_quality(void **state)
{
    struct ib_image *img = pattern_image(3), *back;
    struct ib_encode_opts eo;
    unsigned char *base = NULL, *prog = NULL, *q30 = NULL, *q95 = NULL;
    size_t base_len, prog_len, q30_len, q95_len;

    (void)state;
    ib_encode_opts_init(&eo);
    encode_ok(img, &eo, &base, &base_len);
    assert_int_equal(jpeg_sof(base, base_len), 0xc0);
    eo.progressive = 1;
    encode_ok(img, &eo, &prog, &prog_len);
    assert_int_equal(jpeg_sof(prog, prog_len), 0xc2);
    back = decode_mem(prog, prog_len, NULL);
    assert_near("progressive", back, expect_rgb, JPEG_MEAN_TOL, JPEG_MAX_TOL);
    ib_image_free(back);

    eo.progressive = 0;
    eo.quality = 30;
    encode_ok(img, &eo, &q30, &q30_len);
    eo.quality = 95;
    encode_ok(img, &eo, &q95, &q95_len);
    if (q95_len <= q30_len)
        fail_msg("q95 is %zu bytes, q30 %zu", q95_len, q30_len);
    free(base);
    free(prog);
    free(q30);
    free(q95);
    ib_image_free(img);
}

static void test_encode_rejects_bad_options(void **state)
{
    struct ib_image *img = pattern_image(3);
    struct ib_encode_opts eo;
    unsigned char *buf = NULL;
    size_t len = 0;
    char msg[128] = "";

    (void)state;
    ib_encode_opts_init(&eo);
    eo.quality = 0;
    assert_int_equal(ib_image_encode(img, &eo, &buf, &len, msg, sizeof msg),
                     IB_TRANSFORM_EINVAL);
    assert_one_line(msg);
    eo.quality = 101;
    assert_int_equal(ib_image_encode(img, &eo, &buf, &len, msg, sizeof msg),
                     IB_TRANSFORM_EINVAL);
    eo.format = IB_FORMAT_PNG;
    eo.png_level = 10;
    msg[0] = '\0';
    assert_int_equal(ib_image_encode(img, &eo, &buf, &len, msg, sizeof msg),
                     IB_TRANSFORM_EINVAL);
    assert_one_line(msg);
    assert_null(buf);
    ib_image_free(img);
}

/* ---- ICC profiles ------------------------------------------------- */

static unsigned char *make_icc(uint32_t ncurve, size_t *len)
{
    unsigned char *p;

    *len = pat_icc(NULL, 0, ncurve);
    p = malloc(*len);
    assert_non_null(p);
    assert_int_equal(pat_icc(p, *len, ncurve), *len);
    return p;
}

/* Encodes img with icc in format f, decodes, and compares the profile. */
static void check_icc_roundtrip(enum ib_format f, const unsigned char *icc,
                                size_t icc_len)
{
    struct ib_image *img = pattern_image(3), *back;
    struct ib_encode_opts eo;
    struct ib_meta meta;
    unsigned char *buf = NULL;
    size_t len = 0;

    ib_encode_opts_init(&eo);
    eo.format = f;
    eo.icc = icc;
    eo.icc_len = icc_len;
    encode_ok(img, &eo, &buf, &len);
    back = decode_mem(buf, len, &meta);
    if (meta.icc_len != icc_len)
        fail_msg("%s: ICC of %zu bytes came back as %zu", ib_format_name(f),
                 icc_len, meta.icc_len);
    assert_memory_equal(meta.icc, icc, icc_len);
    ib_meta_release(&meta);
    ib_image_free(back);
    ib_image_free(img);
    free(buf);
}

static void test_icc_carried(void **state)
{
    const char *files[] = {"jpeg-icc.jpg", "png-icc.png"};
    size_t want_len, big_len;
    unsigned char *want = make_icc(1, &want_len);
    unsigned char *big = make_icc(40000, &big_len);

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct ib_decode_opts o = opts_default();
        struct ib_meta meta;
        struct ib_image *img;
        unsigned char *icc;
        size_t icc_len;

        img = decode_ok(files[i], &o, &meta);
        if (meta.icc_len != want_len)
            fail_msg("%s: ICC of %zu bytes, want %zu", files[i],
                     meta.icc_len, want_len);
        assert_memory_equal(meta.icc, want, want_len);
        icc = meta.icc;
        icc_len = meta.icc_len;
        /* re-encode with the decoded profile, in both formats */
        check_icc_roundtrip(IB_FORMAT_JPEG, icc, icc_len);
        check_icc_roundtrip(IB_FORMAT_PNG, icc, icc_len);
        ib_meta_release(&meta);
        ib_image_free(img);

        o.keep_icc = 0;
        img = decode_ok(files[i], &o, &meta);
        assert_null(meta.icc);
        assert_int_equal(meta.icc_len, 0);
        ib_image_free(img);
    }
    /* more than one 64 KB APP2 marker in JPEG */
    assert_true(big_len > 65535);
    check_icc_roundtrip(IB_FORMAT_JPEG, big, big_len);
    check_icc_roundtrip(IB_FORMAT_PNG, big, big_len);
    free(want);
    free(big);
}

/* ---- hostile input ------------------------------------------------ */

/*
 * Every prefix of a valid file: never a crash (ASan watches), never a
 * success, always a one-line reason. A prefix lacks at least the end
 * marker, and both decoders read to it.
 */
static void check_prefixes(const char *name)
{
    struct ib_decode_opts o = opts_default();
    size_t len;
    unsigned char *buf = load(name, &len);

    for (size_t n = 0; n < len; n++) {
        /* a copy of exactly n bytes, so ASan sees any over-read */
        unsigned char *cut = malloc(n ? n : 1);
        struct ib_image *img = NULL;
        char msg[256] = "";
        int rc;

        assert_non_null(cut);
        memcpy(cut, buf, n);
        rc = ib_image_decode(cut, n, &o, &img, NULL, msg, sizeof msg);
        if (rc == 0)
            fail_msg("%s cut to %zu of %zu bytes decoded", name, n, len);
        if (rc != IB_TRANSFORM_ECORRUPT && rc != IB_TRANSFORM_EFORMAT)
            fail_msg("%s cut to %zu bytes: code %d (%s)", name, n, rc, msg);
        assert_null(img);
        assert_one_line(msg);
        free(cut);
    }
    free(buf);
}

static void test_truncated_at_every_offset(void **state)
{
    (void)state;
    check_prefixes("png-rgb8.png");
    check_prefixes("png-p4-trns-i.png");
    check_prefixes("png-g16-i.png");
    check_prefixes("png-icc.png");
    check_prefixes("jpeg-420.jpg");
    check_prefixes("jpeg-prog.jpg");
    check_prefixes("jpeg-arith.jpg");
    check_prefixes("jpeg-ycck.jpg");
    check_prefixes("jpeg-icc.jpg");
}

/*
 * One corrupt byte anywhere (three different corruptions per offset):
 * a clean failure or a decode, never a crash or a leak (ASan).
 */
static void test_corrupt_bytes(void **state)
{
    static const unsigned char flips[] = {0xa5, 0x01, 0xff};
    const char *names[] = {"png-rgba8.png", "png-p2-trns-i.png",
                           "jpeg-420.jpg", "jpeg-prog.jpg", "jpeg-arith.jpg",
                           "jpeg-cmyk.jpg", "orient-6.jpg"};
    int failed = 0;

    (void)state;
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        struct ib_decode_opts o = opts_default();
        size_t len;
        unsigned char *buf = load(names[f], &len);

        for (size_t i = 0; i < len * 3; i++) {
            unsigned char saved = buf[i / 3];
            struct ib_image *img = NULL;
            struct ib_meta meta;
            char msg[256] = "";
            int rc;

            buf[i / 3] ^= flips[i % 3];
            rc = ib_image_decode(buf, len, &o, &img, &meta, msg, sizeof msg);
            if (rc == 0) {
                assert_non_null(img);
                ib_image_free(img);
                ib_meta_release(&meta);
            } else {
                assert_true(rc < 0);
                assert_null(img);
                assert_one_line(msg);
                failed++;
            }
            buf[i / 3] = saved;
        }
        free(buf);
    }
    /* most corruptions are caught (CRCs, Huffman codes, markers) */
    assert_true(failed > 1000);
}

/* An APP1 payload with IFD0 = entries; big-endian when be. */
static size_t exif(unsigned char *p, int be, unsigned tag, unsigned type,
                   uint32_t count, unsigned value)
{
    memcpy(p, "Exif\0\0", 6);
    unsigned char *t = p + 6;
    if (be) {
        memcpy(t, "MM\0\x2a\0\0\0\x08\0\x01", 10);
        t[10] = (unsigned char)(tag >> 8);
        t[11] = (unsigned char)tag;
        t[12] = 0;
        t[13] = (unsigned char)type;
        pat_put32(t + 14, count);
        t[18] = (unsigned char)(value >> 8);
        t[19] = (unsigned char)value;
        t[20] = t[21] = 0;
    } else {
        memcpy(t, "II\x2a\0\x08\0\0\0\x01\0", 10);
        t[10] = (unsigned char)tag;
        t[11] = (unsigned char)(tag >> 8);
        t[12] = (unsigned char)type;
        t[13] = 0;
        for (int k = 0; k < 4; k++)
            t[14 + k] = (unsigned char)(count >> (8 * k));
        t[18] = (unsigned char)value;
        t[19] = (unsigned char)(value >> 8);
        t[20] = t[21] = 0;
    }
    memset(t + 22, 0, 4);  /* next IFD */
    return 6 + 26;
}

/*
 * The codec table: every row's magic bytes sniff as its format, the
 * known-but-unreadable ones fail by name, and the naming rule keeps an
 * extension that already says the format.
 */
static void test_codec_table(void **state)
{
    static const struct {
        const char *bytes;
        size_t len, need;   /* need: the bytes that make it this format */
        enum ib_format f;
    } magic[] = {
        {"\xff\xd8\xff\xe0", 4, 3, IB_FORMAT_JPEG},
        {"\x89PNG\r\n\x1a\n", 8, 8, IB_FORMAT_PNG},
        {"GIF87a", 6, 6, IB_FORMAT_GIF},
        {"GIF89a", 6, 6, IB_FORMAT_GIF},
        {"MM\0*\0\0\0\10", 8, 4, IB_FORMAT_TIFF},
        {"RIFF\0\0\0\0WEBPVP8 ", 16, 12, IB_FORMAT_WEBP},
        {"\0\0\0\30ftypavif\0\0\0\0mif1miaf", 24, 12, IB_FORMAT_AVIF},
        {"\0\0\0\30ftypheic\0\0\0\0mif1heic", 24, 12, IB_FORMAT_HEIC},
        {"BM\0\0\0\0\0\0\0\0\0\0\0\0\50\0\0\0", 18, 18,
         IB_FORMAT_BMP},
        {"BMW", 3, 0, IB_FORMAT_UNKNOWN},
        {"RIFF\0\0\0\0WAVE", 12, 0, IB_FORMAT_UNKNOWN},
        /* the minor version is not a brand */
        {"\0\0\0\20ftypisomavif", 16, 0, IB_FORMAT_UNKNOWN},
    };
    char msg[128];
    struct ib_image *img = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof magic / sizeof magic[0]; i++) {
        const unsigned char *b = (const unsigned char *)magic[i].bytes;
        enum ib_format f = magic[i].f;
        assert_int_equal(ib_format_sniff(b, magic[i].len), f);
        if (f == IB_FORMAT_UNKNOWN)
            continue;
        /* one byte short of the magic is not the format */
        assert_int_not_equal(ib_format_sniff(b, magic[i].need - 1), f);
        if (ib_format_can_read(f))
            continue;
        assert_int_equal(ib_image_decode(b, magic[i].len, NULL, &img, NULL,
                                         msg, sizeof msg),
                         IB_TRANSFORM_EFORMAT);
        assert_non_null(strstr(msg, " is not supported"));
        assert_null(img);
    }

    assert_int_equal(ib_format_lookup("jpg"), IB_FORMAT_JPEG);
    assert_int_equal(ib_format_lookup("png"), IB_FORMAT_PNG);
    assert_int_equal(ib_format_lookup("gif"), IB_FORMAT_UNKNOWN);
    assert_int_equal(ib_format_lookup("same"), IB_FORMAT_UNKNOWN);
    assert_int_equal(ib_format_output(IB_FORMAT_UNKNOWN, IB_FORMAT_PNG),
                     IB_FORMAT_PNG);
    assert_int_equal(ib_format_output(IB_FORMAT_UNKNOWN, IB_FORMAT_GIF),
                     IB_FORMAT_UNKNOWN);
    assert_int_equal(ib_format_output(IB_FORMAT_JPEG, IB_FORMAT_GIF),
                     IB_FORMAT_JPEG);

    assert_int_equal(ib_name_format("a/Photo.JPEG"), IB_FORMAT_JPEG);
    assert_int_equal(ib_name_format("anim.gif"), IB_FORMAT_GIF);
    assert_int_equal(ib_name_format(".png"), IB_FORMAT_UNKNOWN);
    assert_int_equal(ib_name_format("d/.png"), IB_FORMAT_UNKNOWN);
    assert_int_equal(ib_name_ext("photo.v1"), 5);
    assert_int_equal(ib_name_ext("a.b-c"), 5);       /* '-': no extension */
    assert_int_equal(ib_name_ext("x.abcdefghijklmnopq"), 19);  /* 17 */
    assert_string_equal(ib_output_ext("a/b.JPG", IB_FORMAT_JPEG), ".JPG");
    assert_string_equal(ib_output_ext("b.jpeg", IB_FORMAT_PNG), ".png");
    assert_string_equal(ib_output_ext("b.png", IB_FORMAT_JPEG), ".jpg");
    assert_string_equal(ib_output_ext("b", IB_FORMAT_JPEG), ".jpg");
    assert_string_equal(ib_output_ext("b.tiff", IB_FORMAT_UNKNOWN), ".tiff");
}

static void test_exif_parser(void **state)
{
    unsigned char b[64];
    size_t n;

    (void)state;
    for (int be = 0; be <= 1; be++) {
        for (unsigned v = 1; v <= 8; v++) {
            n = exif(b, be, 0x0112, 3, 1, v);
            assert_int_equal(tf_exif_orientation(b, n), (int)v);
            /*
             * cut short anywhere: never a read past k (ASan); 1 until
             * the whole entry is there (the next-IFD link is not needed)
             */
            for (size_t k = 0; k < n; k++) {
                unsigned char *cut = malloc(k ? k : 1);
                assert_non_null(cut);
                memcpy(cut, b, k);
                assert_int_equal(tf_exif_orientation(cut, k),
                                 k >= 6 + 10 + 12 ? (int)v : 1);
                free(cut);
            }
        }
        n = exif(b, be, 0x0112, 3, 1, 0);
        assert_int_equal(tf_exif_orientation(b, n), 1);
        n = exif(b, be, 0x0112, 3, 1, 9);
        assert_int_equal(tf_exif_orientation(b, n), 1);
        n = exif(b, be, 0x0112, 4, 1, 6);   /* LONG, not SHORT */
        assert_int_equal(tf_exif_orientation(b, n), 1);
        n = exif(b, be, 0x0110, 3, 1, 6);   /* another tag */
        assert_int_equal(tf_exif_orientation(b, n), 1);
    }
    /* IFD offset past the end, and an entry count past the end */
    n = exif(b, 1, 0x0112, 3, 1, 6);
    b[6 + 4] = 0x7f;
    assert_int_equal(tf_exif_orientation(b, n), 1);
    n = exif(b, 1, 0x0112, 3, 1, 6);
    b[6 + 8] = 0xff;
    b[6 + 9] = 0xff;
    b[6 + 11] = 0x00;  /* the first entry is not 0x0112 any more */
    assert_int_equal(tf_exif_orientation(b, n), 1);
    /* not EXIF at all */
    assert_int_equal(tf_exif_orientation((const unsigned char *)"Exif", 4), 1);
    assert_int_equal(tf_exif_orientation(NULL, 0), 1);

    /* random bytes behind a valid header: any answer in 1..8, no crash */
    uint32_t s = 7;
    for (int round = 0; round < 20000; round++) {
        size_t len = 6 + 8 + (size_t)round % 50;
        unsigned char *r = malloc(len);
        assert_non_null(r);
        memcpy(r, "Exif\0\0", 6);
        for (size_t k = 6; k < len; k++) {
            s = s * 1103515245u + 12345u;
            r[k] = (unsigned char)(s >> 16);
        }
        memcpy(r + 6, round % 2 ? "MM\0\x2a" : "II\x2a\0", 4);
        if (round % 3 == 0)  /* IFD0 right after the header */
            memcpy(r + 10, round % 2 ? "\0\0\0\x08" : "\x08\0\0\0", 4);
        int o = tf_exif_orientation(r, len);
        assert_true(o >= 1 && o <= 8);
        free(r);
    }
}

/* ---- allocation failures ------------------------------------------ */

/*
 * This binary is linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc (tests/transform.cmake), so every allocation the library
 * makes comes through here, libpng's included (png.c hands libpng its own
 * malloc). fail_each_alloc makes the 1st, then the 2nd, ... allocation of
 * a call fail until the call gets through without reaching the failing
 * one: each failure must give IB_TRANSFORM_ENOMEM and nothing worse (the
 * sanitizer build catches double frees and leaks on those paths).
 */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long alloc_fail_at = -1;  /* index of the call to fail; -1: none */
static long alloc_count;         /* calls since armed */
static int alloc_paused;
static int alloc_measuring;      /* add every size asked for to alloc_bytes */
static size_t alloc_bytes;

static int alloc_fails(size_t n)
{
    if (alloc_measuring)
        alloc_bytes += n;
    if (alloc_fail_at < 0 || alloc_paused)
        return 0;
    return alloc_count++ == alloc_fail_at;
}

void *__wrap_malloc(size_t n)
{
    return alloc_fails(n) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return alloc_fails(n * size) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return alloc_fails(n) ? NULL : __real_realloc(p, n);
}

/* One call under test: 0, or an error code with msg set; frees its own. */
typedef int alloc_case_fn(const void *arg, char *msg, size_t msglen);

static void fail_each_alloc(const char *what, alloc_case_fn *fn,
                            const void *arg)
{
    for (long n = 0;; n++) {
        char msg[256] = "";
        int rc;

        alloc_count = 0;
        alloc_fail_at = n;
        rc = fn(arg, msg, sizeof msg);
        alloc_fail_at = -1;
        if (alloc_count <= n) {   /* allocation n was never asked for */
            if (rc != 0)
                fail_msg("%s: fails with every allocation granted: %s (%d)",
                         what, msg, rc);
            return;
        }
        if (rc != IB_TRANSFORM_ENOMEM || !strstr(msg, "memory"))
            fail_msg("%s: allocation %ld of %ld failing gave %d '%s', want "
                     "out of memory", what, n + 1, alloc_count, rc, msg);
        assert_one_line(msg);
    }
}

/* A smooth w x h image of 1..4 channels, alpha varying too. */
static struct ib_image *smooth_image(uint32_t w, uint32_t h, unsigned ch)
{
    struct ib_image *img = ib_image_new(w, h, ch);

    assert_non_null(img);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (unsigned c = 0; c < ch; c++)
                img->px[(size_t)y * img->stride + (size_t)x * ch + c] =
                    (unsigned char)((x * (40 + 50 * c) / w +
                                     y * (200 - 60 * c) / h + 7 * c) % 256);
    return img;
}

struct op_case {
    const char *name, *arg;
    enum tf_filter filter;
    int upscale;
    const struct ib_image *in;
};

static int run_op(const void *arg, char *msg, size_t msglen)
{
    const struct op_case *c = arg;
    const struct tf_op_def *d = tf_op_find(c->name);
    struct ib_image *out = NULL;
    struct tf_op op;
    int rc;

    memset(&op, 0, sizeof op);
    op.def = d;
    op.filter = c->filter;
    op.upscale = c->upscale;
    if (d->parse) {
        rc = d->parse(c->arg, &op, msg, msglen);
        if (rc)
            return rc;
    }
    if (!d->apply_inplace) {
        rc = d->apply(&op, c->in, &out, msg, msglen);
        if (!rc)
            ib_image_free(out);
        return rc;
    }
    /* a copy to work on, made with allocations that do not fail */
    alloc_paused = 1;
    out = ib_image_new(c->in->width, c->in->height, c->in->channels);
    assert_non_null(out);
    memcpy(out->px, c->in->px, c->in->height * c->in->stride);
    alloc_paused = 0;
    rc = d->apply_inplace(&op, out, msg, msglen);
    /* an op in place that fails leaves the image as it was */
    if (rc)
        assert_memory_equal(out->px, c->in->px,
                            c->in->height * c->in->stride);
    ib_image_free(out);
    return rc;
}

static void test_alloc_failures_in_ops(void **state)
{
    static const struct {
        const char *name, *arg;
        enum tf_filter filter;
        int upscale;
    } ops[] = {
        {"resize", "20x20", TF_FILTER_LANCZOS3, 0},
        {"resize", "5x3", TF_FILTER_LANCZOS3, 0},
        {"resize", "5x3", TF_FILTER_MITCHELL, 0},
        {"resize", "5x3", TF_FILTER_BILINEAR, 0},
        {"resize", "5x3", TF_FILTER_BOX, 0},
        {"resize", "3", TF_FILTER_LANCZOS3, 0},
        {"resize", "90x90", TF_FILTER_LANCZOS3, 1},
        {"resize", "30x30!", TF_FILTER_LANCZOS3, 0},
        {"resize", "2x40!", TF_FILTER_LANCZOS3, 0},
        {"resize", "16x16^", TF_FILTER_LANCZOS3, 0},
        {"resize", "100x100", TF_FILTER_LANCZOS3, 0},   /* a copy */
        {"crop", "10x10+3+3", 0, 0},
        {"rotate", "90", 0, 0},
        {"rotate", "180", 0, 0},
        {"rotate", "270", 0, 0},
        {"flip", NULL, 0, 0},
        {"flop", NULL, 0, 0},
        {"grayscale", NULL, 0, 0},
        {"blur", "1.5", 0, 0},
        {"blur", "8", 0, 0},
        {"sharpen", "1,0.8", 0, 0},
        {"sharpen", "6", 0, 0},
    };
    static const uint32_t sizes[][2] = {{37, 23}, {300, 7}, {9, 200}};

    (void)state;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (unsigned ch = 1; ch <= 4; ch++) {
            struct ib_image *img = smooth_image(sizes[s][0], sizes[s][1], ch);
            for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
                struct op_case c = {ops[i].name, ops[i].arg, ops[i].filter,
                                    ops[i].upscale, img};
                char what[96];
                snprintf(what, sizeof what, "--%s %s (filter %d) on %ux%ux%u",
                         c.name, c.arg ? c.arg : "", (int)c.filter,
                         img->width, img->height, ch);
                fail_each_alloc(what, run_op, &c);
            }
            ib_image_free(img);
        }
    }
}

struct resample_case {
    const struct ib_image *in;
    uint32_t w, h;
    enum tf_filter filter;
};

static int run_resample(const void *arg, char *msg, size_t msglen)
{
    const struct resample_case *c = arg;
    struct ib_image *out = NULL;
    int rc = tf_resample(c->in, c->w, c->h, c->filter, &out, msg, msglen);

    if (!rc)
        ib_image_free(out);
    return rc;
}

struct orient_case {
    const struct ib_image *in;
    int orientation;
};

static int run_orient(const void *arg, char *msg, size_t msglen)
{
    const struct orient_case *c = arg;
    struct ib_image *out = NULL;
    int rc = ib_image_orient(c->in, c->orientation, &out, msg, msglen);

    if (!rc)
        ib_image_free(out);
    return rc;
}

/* The double free of the resampler's weight tables, and the rest of it. */
static void test_alloc_failures_in_resample(void **state)
{
    static const uint32_t sizes[][2] = {
        {1, 1}, {2, 3}, {7, 5}, {40, 1}, {1, 40}, {61, 200}, {120, 90},
    };
    (void)state;
    for (unsigned ch = 1; ch <= 4; ch++) {
        struct ib_image *img = smooth_image(240, 130, ch);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int f = TF_FILTER_LANCZOS3; f <= TF_FILTER_BOX; f++) {
                struct resample_case c = {img, sizes[s][0], sizes[s][1],
                                          (enum tf_filter)f};
                char what[64];
                snprintf(what, sizeof what, "resample %ux%u to %ux%u", 240,
                         130, c.w, c.h);
                fail_each_alloc(what, run_resample, &c);
            }
        }
        for (int o = 1; o <= 8; o++) {
            struct orient_case c = {img, o};
            fail_each_alloc("orient", run_orient, &c);
        }
        ib_image_free(img);
    }
}

struct pipeline_case {
    const struct ib_image *in;
};

/* A pipeline built, grown past its first capacity, applied and freed. */
static int run_pipeline(const void *arg, char *msg, size_t msglen)
{
    const struct pipeline_case *c = arg;
    static const char *const steps[][2] = {
        {"resize", "30x20"}, {"rotate", "90"}, {"flip", NULL},
        {"flop", NULL}, {"crop", "15x15+1+1"}, {"grayscale", NULL},
        {"blur", "0.8"}, {"sharpen", "1"}, {"resize", "9x9!"},
        {"rotate", "270"},
    };
    struct ib_pipeline *p = ib_pipeline_new();
    struct ib_image *img;
    int rc = 0;

    if (!p)
        return tf_fail(msg, msglen, IB_TRANSFORM_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < sizeof steps / sizeof steps[0]; i++)
        rc = ib_pipeline_add(p, steps[i][0], steps[i][1], msg, msglen);
    if (!rc)
        rc = ib_pipeline_set_filter(p, "mitchell", msg, msglen);
    if (rc) {
        ib_pipeline_free(p);
        return rc;
    }
    /* the caller's image, made with allocations that do not fail */
    alloc_paused = 1;
    img = ib_image_new(c->in->width, c->in->height, c->in->channels);
    assert_non_null(img);
    memcpy(img->px, c->in->px, c->in->height * c->in->stride);
    alloc_paused = 0;
    rc = ib_pipeline_apply(p, &img, msg, msglen);
    if (!rc)
        assert_int_equal(img->width, 9);
    ib_image_free(img);
    ib_pipeline_free(p);
    return rc;
}

static void test_alloc_failures_in_pipeline(void **state)
{
    (void)state;
    for (unsigned ch = 1; ch <= 4; ch++) {
        struct ib_image *img = smooth_image(50, 40, ch);
        struct pipeline_case c = {img};
        fail_each_alloc("pipeline", run_pipeline, &c);
        ib_image_free(img);
    }
}

struct decode_case {
    const unsigned char *buf;
    size_t len;
    uint32_t min_w;
};

static int run_decode(const void *arg, char *msg, size_t msglen)
{
    const struct decode_case *c = arg;
    struct ib_decode_opts o = opts_default();
    struct ib_image *img = NULL;
    struct ib_meta meta;
    int rc;

    o.min_width = o.min_height = c->min_w;
    rc = ib_image_decode(c->buf, c->len, &o, &img, &meta, msg, msglen);
    if (!rc) {
        ib_image_free(img);
        ib_meta_release(&meta);
    }
    return rc;
}

struct encode_case {
    const struct ib_image *img;
    struct ib_encode_opts eo;
};

static int run_encode(const void *arg, char *msg, size_t msglen)
{
    const struct encode_case *c = arg;
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = ib_image_encode(c->img, &c->eo, &buf, &len, msg, msglen);

    if (!rc)
        free(buf);
    return rc;
}

static void test_alloc_failures_in_codecs(void **state)
{
    static const char *const files[] = {
        "png-rgb8.png", "png-rgb16-trns-i.png", "png-p4-trns.png",
        "png-g1.png", "png-ga16-i.png", "png-rgba8.png", "png-icc.png",
        "jpeg-444.jpg", "jpeg-420.jpg", "jpeg-cmyk.jpg", "jpeg-prog.jpg",
        "jpeg-icc.jpg", "orient-6.jpg",
    };
    static const unsigned char icc[300] = {1, 2, 3};

    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct decode_case c;
        unsigned char *buf = load(files[i], &c.len);
        c.buf = buf;
        for (c.min_w = 0; c.min_w <= 5; c.min_w += 5)
            fail_each_alloc(files[i], run_decode, &c);
        free(buf);
    }
    for (unsigned ch = 1; ch <= 4; ch++) {
        struct ib_image *img = smooth_image(300, 40, ch);
        for (int f = 0; f < 4; f++) {
            struct encode_case c;
            ib_encode_opts_init(&c.eo);
            c.img = img;
            c.eo.format = f % 2 ? IB_FORMAT_PNG : IB_FORMAT_JPEG;
            c.eo.progressive = f == 2;
            if (f >= 2) {
                c.eo.icc = icc;
                c.eo.icc_len = sizeof icc;
            }
            fail_each_alloc(f % 2 ? "PNG encode" : "JPEG encode", run_encode,
                            &c);
        }
        ib_image_free(img);
    }
}

/* ---- resampling: box pre-reduce ---------------------------------- */

/* A smooth w x h image: slow waves in colour and alpha (50..250). */
static struct ib_image *wave_image(uint32_t w, uint32_t h, unsigned ch)
{
    struct ib_image *img = ib_image_new(w, h, ch);

    assert_non_null(img);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            double u = 6.2831853 * (x + 0.5) / w, v = 6.2831853 * (y + 0.5) / h;
            unsigned char *p = img->px + (size_t)y * img->stride +
                               (size_t)x * ch;
            for (unsigned c = 0; c < ch; c++) {
                double t = sin(1.5 * u + c) * cos(1.2 * v + 0.5 * c);
                int alpha = (ch == 2 || ch == 4) && c == ch - 1;
                p[c] = (unsigned char)lrint(alpha ? 150 + 100 * t
                                                  : 128 + 90 * t);
            }
        }
    }
    return img;
}

static struct ib_image *resample_ok(const struct ib_image *in, uint32_t w,
                                    uint32_t h, enum tf_filter f, int full)
{
    struct ib_image *out = NULL;
    char msg[256] = "";
    int rc = full ? tf_resample_full(in, w, h, f, &out, msg, sizeof msg)
                  : tf_resample(in, w, h, f, &out, msg, sizeof msg);

    if (rc)
        fail_msg("resample %ux%u to %ux%u: %s (%d)", in->width, in->height,
                 w, h, msg, rc);
    assert_int_equal(out->width, w);
    assert_int_equal(out->height, h);
    assert_int_equal(out->channels, in->channels);
    return out;
}

static double psnr(const struct ib_image *a, const struct ib_image *b)
{
    double se = 0.0;
    size_t n = 0;

    for (uint32_t y = 0; y < a->height; y++)
        for (size_t i = 0; i < (size_t)a->width * a->channels; i++, n++) {
            double d = (double)a->px[y * a->stride + i] -
                       (double)b->px[y * b->stride + i];
            se += d * d;
        }
    return se == 0.0 ? 999.0 : 10.0 * log10(255.0 * 255.0 * n / se);
}

/* Below 4x on both axes there is no box: the output is what it was. */
static void test_resample_below_4x_unchanged(void **state)
{
    static const uint32_t cases[][4] = {
        {400, 300, 101, 76}, {400, 300, 120, 90}, {37, 23, 10, 6},
        {37, 23, 90, 60}, {1000, 1, 251, 1}, {1, 1000, 1, 251},
        {640, 480, 640, 121}, {99, 101, 33, 26},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (unsigned ch = 1; ch <= 4; ch++) {
            struct ib_image *in = wave_image(cases[i][0], cases[i][1], ch);
            for (int f = TF_FILTER_LANCZOS3; f <= TF_FILTER_BOX; f++) {
                struct ib_image *a = resample_ok(in, cases[i][2], cases[i][3],
                                                 (enum tf_filter)f, 0);
                struct ib_image *b = resample_ok(in, cases[i][2], cases[i][3],
                                                 (enum tf_filter)f, 1);
                if (memcmp(a->px, b->px, a->height * a->stride))
                    fail_msg("%ux%ux%u to %ux%u, filter %d: differs from "
                             "the whole-input filter", in->width, in->height,
                             ch, a->width, a->height, f);
                ib_image_free(a);
                ib_image_free(b);
            }
            ib_image_free(in);
        }
    }
}

/* From 4x on, the box pre-reduce stays within 40 dB of filtering the
 * whole input, on every filter and channel count. */
static void test_resample_box_quality(void **state)
{
    static const uint32_t cases[][4] = {
        {2000, 1500, 50, 37}, {1200, 900, 299, 224}, {997, 13, 10, 13},
        {13, 997, 13, 10}, {30000, 1, 50, 1}, {1, 30000, 1, 50},
        {3001, 2999, 31, 29}, {2500, 40, 64, 64}, {4003, 3, 997, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (unsigned ch = 1; ch <= 4; ch++) {
            struct ib_image *in = wave_image(cases[i][0], cases[i][1], ch);
            for (int f = TF_FILTER_LANCZOS3; f <= TF_FILTER_BOX; f++) {
                struct ib_image *a = resample_ok(in, cases[i][2], cases[i][3],
                                                 (enum tf_filter)f, 0);
                struct ib_image *b = resample_ok(in, cases[i][2], cases[i][3],
                                                 (enum tf_filter)f, 1);
                double q = psnr(a, b);
                if (q < 40.0)
                    fail_msg("%ux%ux%u to %ux%u, filter %d: PSNR %.1f dB "
                             "against the whole-input filter", in->width,
                             in->height, ch, a->width, a->height, f, q);
                ib_image_free(a);
                ib_image_free(b);
            }
            ib_image_free(in);
        }
    }
}

/* Images the fixed-point resampler meets: 0 smooth waves, 1 noise, 2
 * hard-edged blocks of 0 and 255 (the kernel's overshoot clamps), 3
 * thin lines on grey, 4 a flat level. */
static struct ib_image *varied_image(int kind, uint32_t w, uint32_t h,
                                     unsigned ch)
{
    struct ib_image *img = kind == 0 ? wave_image(w, h, ch)
                                     : ib_image_new(w, h, ch);
    uint32_t seed = 12345;

    assert_non_null(img);
    for (uint32_t y = 0; y < h && kind; y++)
        for (uint32_t x = 0; x < w; x++)
            for (unsigned c = 0; c < ch; c++) {
                unsigned char *p = img->px + (size_t)y * img->stride +
                                   (size_t)x * ch + c;
                seed = seed * 1103515245u + 12345u;
                switch (kind) {
                case 1: *p = (unsigned char)(seed >> 23); break;
                case 2: *p = ((x / 7 + y / 5 + c) & 1) ? 255 : 0; break;
                case 3: *p = (x % 9 == 0 || y % 11 == c) ? 250 : 100; break;
                default: *p = (unsigned char)(37 + 50 * c); break;
                }
            }
    return img;
}

/*
 * The fixed-point resampler (1 and 3 channels) stays within 45 dB PSNR of
 * the float one on every filter, shrinking and enlarging, with and
 * without the box; a flat level stays exactly that level; the AVX2, SSE2
 * and plain C loops give the same bytes.
 */
static void test_resample_fixed_point_quality(void **state)
{
    static const uint32_t cases[][4] = {
        {600, 400, 410, 273}, {1200, 900, 307, 230}, {640, 480, 101, 77},
        {37, 23, 90, 60}, {1000, 1, 251, 1}, {1, 1000, 1, 251},
        {333, 250, 332, 249}, {64, 48, 320, 240}, {5, 3, 2, 1},
    };
    static const char *const levels[] = {"c", "sse2"};
    char msg[256];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (unsigned ch = 1; ch <= 3; ch += 2) {
            for (int kind = 0; kind <= 4; kind++) {
                struct ib_image *in = varied_image(kind, cases[i][0],
                                                   cases[i][1], ch);
                for (int f = TF_FILTER_LANCZOS3; f <= TF_FILTER_BOX; f++)
                for (int full = 0; full <= 1; full++) {
                    struct ib_image *a = NULL, *b = NULL;
                    uint32_t w = cases[i][2], h = cases[i][3];
                    a = resample_ok(in, w, h, (enum tf_filter)f, full);
                    assert_int_equal(tf_resample_float(in, w, h,
                                                       (enum tf_filter)f, full,
                                                       &b, msg, sizeof msg), 0);
                    double q = psnr(a, b);
                    if (q < 45.0)
                        fail_msg("%ux%ux%u kind %d to %ux%u, filter %d, "
                                 "full %d: PSNR %.1f dB against the float "
                                 "loops", in->width, in->height, ch, kind, w,
                                 h, f, full, q);
                    for (size_t j = 0; kind == 4 && j < a->height * a->stride;
                         j++)
                        if (a->px[j] != 37 + 50 * (j % ch))
                            fail_msg("flat %u-channel level became %u at %zu",
                                     ch, a->px[j], j);
                    for (size_t l = 0; l < 2; l++) {
                        setenv("IMGBATCH_SIMD", levels[l], 1);
                        struct ib_image *c = resample_ok(in, w, h,
                                                         (enum tf_filter)f,
                                                         full);
                        unsetenv("IMGBATCH_SIMD");
                        if (memcmp(a->px, c->px, a->height * a->stride))
                            fail_msg("%ux%ux%u kind %d to %ux%u, filter %d: "
                                     "the %s loops differ", in->width,
                                     in->height, ch, kind, w, h, f,
                                     levels[l]);
                        ib_image_free(c);
                    }
                    ib_image_free(a);
                    ib_image_free(b);
                }
                ib_image_free(in);
            }
        }
    }
}

/*
 * Everything tf_resample allocates, output included, follows the output:
 * under 64 KiB plus four times the output's bytes, however large the
 * input. Filtering the whole input needed a weight table of the input's
 * width times the taps for each output pixel, and a float input row.
 */
static void test_resample_memory_follows_output(void **state)
{
    static const uint32_t cases[][4] = {
        {200000, 1, 50, 1}, {1, 200000, 1, 50}, {4000, 3000, 40, 30},
        {4000, 3000, 64, 64}, {20000, 3, 50, 50},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (unsigned ch = 3; ch <= 4; ch++) {
            struct ib_image *in = smooth_image(cases[i][0], cases[i][1], ch);
            size_t bound = 65536 + 4 * (size_t)cases[i][2] * cases[i][3] * ch;
            struct ib_image *out;

            alloc_bytes = 0;
            alloc_measuring = 1;
            out = resample_ok(in, cases[i][2], cases[i][3],
                              TF_FILTER_LANCZOS3, 0);
            alloc_measuring = 0;
            if (alloc_bytes > bound)
                fail_msg("%ux%ux%u to %ux%u allocated %zu bytes, over %zu",
                         in->width, in->height, ch, out->width, out->height,
                         alloc_bytes, bound);
            ib_image_free(out);
            ib_image_free(in);
        }
    }
}

/*
 * Reference blur, written for clarity: double precision, whole-image
 * buffers, colour premultiplied by alpha, rows then columns, edges
 * replicated. Up to sigma 3 the exact kernel of radius ceil(3 sigma);
 * above, the Young-van Vliet recursive filter with its edges handled by
 * padding each line with many copies of its end samples (not by the
 * end-state map of op_blur.c).
 */
static void ref_line_exact(double *x, size_t n, double sigma, double *tmp)
{
    long r = (long)ceil(3.0 * sigma), len = (long)n;
    double sum = 0.0;

    for (long t = -r; t <= r; t++)
        sum += exp(-(double)(t * t) / (2.0 * sigma * sigma));
    for (long i = 0; i < len; i++) {
        double v = 0.0;
        for (long t = -r; t <= r; t++) {
            long j = i + t < 0 ? 0 : i + t >= len ? len - 1 : i + t;
            v += exp(-(double)(t * t) / (2.0 * sigma * sigma)) * x[j];
        }
        tmp[i] = v / sum;
    }
    memcpy(x, tmp, n * sizeof *x);
}

static void ref_line_iir(double *x, size_t n, double sigma)
{
    double q = 0.98711 * sigma - 0.96330;
    double b0 = 1.57825 + q * (2.44413 + q * (1.4281 + q * 0.422205));
    double a1 = q * (2.44413 + q * (2.85619 + q * 1.26661)) / b0;
    double a2 = -q * q * (1.4281 + q * 1.26661) / b0;
    double a3 = q * q * q * 0.422205 / b0;
    double b = 1.0 - (a1 + a2 + a3);
    size_t pad = (size_t)(40.0 * sigma) + 64, m = n + 2 * pad;
    double *e = malloc(m * sizeof *e);

    assert_non_null(e);
    for (size_t i = 0; i < m; i++)
        e[i] = x[i < pad ? 0 : i - pad >= n ? n - 1 : i - pad];
    double p1 = e[0], p2 = e[0], p3 = e[0];
    for (size_t i = 0; i < m; i++) {
        double v = b * e[i] + a1 * p1 + a2 * p2 + a3 * p3;
        p3 = p2;
        p2 = p1;
        p1 = e[i] = v;
    }
    p1 = p2 = p3 = e[m - 1];
    for (size_t i = m; i-- > 0;) {
        double v = b * e[i] + a1 * p1 + a2 * p2 + a3 * p3;
        p3 = p2;
        p2 = p1;
        p1 = e[i] = v;
    }
    memcpy(x, e + pad, n * sizeof *x);
    free(e);
}

static struct ib_image *ref_blur(const struct ib_image *in, double sigma)
{
    uint32_t w = in->width, h = in->height, ch = in->channels;
    int alpha = ch == 2 || ch == 4;
    size_t big = w > h ? w : h;
    double *f = malloc((size_t)w * h * ch * sizeof *f);
    double *line = malloc(big * sizeof *line), *tmp = malloc(big * sizeof *tmp);
    struct ib_image *o = ib_image_new(w, h, ch);

    assert_true(f && line && tmp && o);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const unsigned char *s = in->px + (size_t)y * in->stride +
                                     (size_t)x * ch;
            double a = alpha ? s[ch - 1] / 255.0 : 1.0;
            for (uint32_t c = 0; c < ch; c++)
                f[((size_t)y * w + x) * ch + c] =
                    alpha && c + 1 < ch ? s[c] * a : s[c];
        }
    for (int axis = 0; axis < 2; axis++) {
        size_t nl = axis ? w : h, len = axis ? h : w;
        for (size_t l = 0; l < nl; l++)
            for (uint32_t c = 0; c < ch; c++) {
                for (size_t i = 0; i < len; i++)
                    line[i] = f[((axis ? i * w + l : l * w + i)) * ch + c];
                if (sigma <= 3.0)
                    ref_line_exact(line, len, sigma, tmp);
                else
                    ref_line_iir(line, len, sigma);
                for (size_t i = 0; i < len; i++)
                    f[((axis ? i * w + l : l * w + i)) * ch + c] = line[i];
            }
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const double *v = f + ((size_t)y * w + x) * ch;
            unsigned char *d = o->px + (size_t)y * o->stride + (size_t)x * ch;
            double a = v[ch - 1];
            for (uint32_t c = 0; c < ch; c++) {
                double u = v[c];
                if (alpha && c + 1 < ch)
                    u = a > 0.0 ? u * 255.0 / a : 0.0;
                u = u < 0.0 ? 0.0 : u > 255.0 ? 255.0 : u;
                d[c] = (unsigned char)(u + 0.5);
            }
        }
    free(f);
    free(line);
    free(tmp);
    return o;
}

/* Noise over sharp edges, with alpha from 0 through faint to opaque. */
static struct ib_image *noisy_image(uint32_t w, uint32_t h, unsigned ch)
{
    struct ib_image *img = ib_image_new(w, h, ch);
    uint32_t s = 12345 + w * 31 + h * 17 + ch;

    assert_non_null(img);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (unsigned c = 0; c < ch; c++) {
                s = s * 1103515245u + 12345u;
                unsigned v = (s >> 16) & 255;
                if ((x / 5 + y / 3 + c) % 3 == 0)
                    v = (x + y) % 2 ? 255 : 0;
                if ((ch == 2 || ch == 4) && c == ch - 1)
                    v = (x / 4 + y / 4) % 4 == 0 ? 0
                        : (x / 4 + y / 4) % 4 == 1 ? v % 6 : v;
                img->px[(size_t)y * img->stride + (size_t)x * ch + c] =
                    (unsigned char)v;
            }
    return img;
}

/*
 * The largest difference of a sample of a and b. The colour of a pixel
 * whose alpha is 0 in b carries nothing (and at a fraction of a level of
 * alpha, float rounding moves it freely), so only its alpha counts.
 */
static unsigned max_diff(const struct ib_image *a, const struct ib_image *b)
{
    uint32_t ch = a->channels;
    int alpha = ch == 2 || ch == 4;
    unsigned m = 0;

    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->channels, b->channels);
    for (uint32_t y = 0; y < a->height; y++)
        for (size_t i = 0; i < (size_t)a->width * ch; i++) {
            const unsigned char *pa = a->px + (size_t)y * a->stride + i;
            const unsigned char *pb = b->px + (size_t)y * b->stride + i;
            size_t c = i % ch;
            if (alpha && c + 1 < ch && pb[ch - 1 - c] == 0)
                continue;
            unsigned d = (unsigned)abs(*pa - *pb);
            if (d > m)
                m = d;
        }
    return m;
}

/*
 * tf_blur and tf_blur_inplace (rings of rows, strips, 8-bit intermediate
 * rows, vectorised loops) against the reference, within one level, at
 * sizes down to one pixel and below the kernel, for every channel count.
 */
static void test_blur_matches_reference(void **state)
{
    static const uint32_t sizes[][2] = {
        {1, 1}, {1, 40}, {40, 1}, {3, 5}, {7, 2}, {37, 23}, {130, 61},
    };
    /* not much past 20: at sigma 30 over lines of 40 to 130 samples the
     * recursive filter's edge state is off by 2 levels from padding */
    static const double sigmas[] = {0.4, 1.0, 2.0, 3.0, 3.5, 8.0, 20.0};
    char msg[128];

    (void)state;
    for (unsigned ch = 1; ch <= 4; ch++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t k = 0; k < sizeof sigmas / sizeof sigmas[0]; k++) {
                struct ib_image *in = noisy_image(sizes[s][0], sizes[s][1], ch);
                struct ib_image *ref = ref_blur(in, sigmas[k]);
                struct ib_image *out = NULL;

                assert_int_equal(tf_blur(in, sigmas[k], &out, msg,
                                         sizeof msg), 0);
                unsigned d = max_diff(out, ref);
                if (d > 1)
                    fail_msg("%ux%u ch %u sigma %g: off by %u", sizes[s][0],
                             sizes[s][1], ch, sigmas[k], d);
                assert_int_equal(tf_blur_inplace(in, sigmas[k], NULL, msg,
                                                 sizeof msg), 0);
                assert_int_equal(max_diff(in, out), 0);
                ib_image_free(out);
                ib_image_free(ref);
                ib_image_free(in);
            }
}

/* --sharpen in place: the mask over the reference blur, within its gain */
static void test_sharpen_matches_reference(void **state)
{
    static const double sigmas[] = {1.0, 2.5, 6.0};
    char msg[128];

    (void)state;
    for (unsigned ch = 1; ch <= 4; ch++)
        for (size_t k = 0; k < sizeof sigmas / sizeof sigmas[0]; k++) {
            struct ib_image *in = noisy_image(45, 33, ch);
            struct ib_image *ref = ref_blur(in, sigmas[k]);
            struct ib_image *img = ib_image_new(45, 33, ch);
            float amount = 0.5f;

            assert_non_null(img);
            memcpy(img->px, in->px, in->height * in->stride);
            /* the reference mask, with the reference blur */
            tf_unsharp_row(ref->px, in->px, ref->px,
                           in->width * in->height, ch, amount);
            assert_int_equal(tf_blur_inplace(img, sigmas[k], &amount, msg,
                                             sizeof msg), 0);
            /* one level of blur moves the mask by amount, plus rounding */
            assert_true(max_diff(img, ref) <= 1);
            ib_image_free(img);
            ib_image_free(ref);
            ib_image_free(in);
        }
}

/* ---- the fast PNG path (png_idat.c) against libpng ----------------- */

static uint32_t test_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/*
 * png with its IDAT data cut into chunks of at most `piece` bytes, as
 * libpng's writer (8 KiB) and others cut it; the other chunks as they are.
 */
static unsigned char *rechunk(const unsigned char *png, size_t len,
                              size_t piece, size_t *out_len)
{
    unsigned char *out = malloc(len * 2 + 64 + len / piece * 12);
    unsigned char *data = malloc(len);
    size_t p = 8, o = 8, nd = 0;
    int written = 0;

    assert_non_null(out);
    assert_non_null(data);
    memcpy(out, png, 8);
    while (p + 12 <= len) {
        uint32_t n = get_be32(png + p);
        if (n > len - p - 12)
            break;              /* a truncated file ends here */
        if (!memcmp(png + p + 4, "IDAT", 4)) {
            memcpy(data + nd, png + p + 8, n);
            nd += n;
        } else {
            if (nd && !written) {
                for (size_t i = 0; i < nd; i += piece) {
                    size_t k = nd - i < piece ? nd - i : piece;
                    put_be32(out + o, (uint32_t)k);
                    memcpy(out + o + 4, "IDAT", 4);
                    memcpy(out + o + 8, data + i, k);
                    put_be32(out + o + 8 + k, test_crc32(out + o + 4, 4 + k));
                    o += 12 + k;
                }
                written = 1;
            }
            memcpy(out + o, png + p, 12 + (size_t)n);
            o += 12 + n;
        }
        p += 12 + (size_t)n;
    }
    free(data);
    *out_len = o;
    return out;
}

/* Decodes buf with the fast path on (fast) or off: rc, msg, image. */
static int decode_path(const unsigned char *buf, size_t len, int fast,
                       struct ib_image **img, struct ib_meta *meta,
                       char *msg, size_t msglen)
{
    struct ib_decode_opts o;
    int rc;

    ib_decode_opts_init(&o);
    o.keep_exif = o.keep_xmp = 1;
    if (!fast)
        setenv("IMGBATCH_NO_FASTPNG", "1", 1);
    *img = NULL;
    memset(meta, 0, sizeof *meta);
    rc = ib_image_decode(buf, len, &o, img, meta, msg, msglen);
    unsetenv("IMGBATCH_NO_FASTPNG");
    return rc;
}

/*
 * Both paths over buf: the same result code and message, and on success
 * the same size and the same pixels and metadata, byte for byte. Returns
 * whether the fast path took the file.
 */
static int assert_paths_agree(const char *what, const unsigned char *buf,
                              size_t len)
{
    struct ib_image *a, *b;
    struct ib_meta ma, mb;
    char msga[256] = "", msgb[256] = "";
    struct tf_png_idat idat;
    int ra = decode_path(buf, len, 1, &a, &ma, msga, sizeof msga);
    int rb = decode_path(buf, len, 0, &b, &mb, msgb, sizeof msgb);

    if (ra != rb || (ra && strcmp(msga, msgb)))
        fail_msg("%s: fast %d '%s', libpng %d '%s'", what, ra, msga, rb,
                 msgb);
    if (!ra) {
        assert_int_equal(a->width, b->width);
        assert_int_equal(a->height, b->height);
        assert_int_equal(a->channels, b->channels);
        for (uint32_t y = 0; y < a->height; y++)
            if (memcmp(a->px + y * a->stride, b->px + y * b->stride,
                       (size_t)a->width * a->channels))
                fail_msg("%s: row %" PRIu32 " differs", what, y);
        assert_int_equal(ma.icc_len, mb.icc_len);
        assert_int_equal(ma.exif_len, mb.exif_len);
        assert_int_equal(ma.xmp_len, mb.xmp_len);
        assert_true(!ma.icc_len || !memcmp(ma.icc, mb.icc, ma.icc_len));
        assert_true(!ma.exif_len || !memcmp(ma.exif, mb.exif, ma.exif_len));
        assert_true(!ma.xmp_len || !memcmp(ma.xmp, mb.xmp, ma.xmp_len));
    }
    ib_image_free(a);
    ib_image_free(b);
    ib_meta_release(&ma);
    ib_meta_release(&mb);
    return !ra && !tf_png_idat_find(buf, len, &idat);
}

static void test_png_fast_path_matches_libpng(void **state)
{
    DIR *d = opendir(gen_dir);
    struct dirent *e;
    int files = 0, fast = 0;

    (void)state;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), len, clen;
        char what[300];

        if (n < 4 || strcmp(e->d_name + n - 4, ".png"))
            continue;
        unsigned char *buf = load(e->d_name, &len);
        files++;
        fast += assert_paths_agree(e->d_name, buf, len);
        if (len > 8 && !memcmp(buf, "\x89PNG", 4)) {
            /* the same stream in IDATs of 1, 7 and 100 bytes */
            static const size_t pieces[] = { 1, 7, 100 };
            for (size_t i = 0; i < 3; i++) {
                unsigned char *c = rechunk(buf, len, pieces[i], &clen);
                snprintf(what, sizeof what, "%s in %zu-byte IDATs",
                         e->d_name, pieces[i]);
                fast += assert_paths_agree(what, c, clen);
                free(c);
            }
        }
        free(buf);
    }
    closedir(d);
    assert_true(files >= 40);
    /* 8-bit grey, grey+alpha, RGB, RGBA, ICC: each in four cuts */
    assert_true(fast >= 20);
}

/* A larger image of every filter (png_write.c chooses per row), cut into
 * 1000-byte IDATs, then truncated at many lengths and with a bad CRC. */
static void test_png_fast_path_hostile(void **state)
{
    struct ib_encode_opts eo;
    unsigned char *png, *c;
    size_t len, clen;
    char msg[256];
    struct tf_png_idat idat;

    (void)state;
    for (uint32_t ch = 1; ch <= 4; ch++) {
        struct ib_image *img = ib_image_new(301, 97, ch);
        uint32_t s = 12345;

        assert_non_null(img);
        for (uint32_t y = 0; y < img->height; y++)
            for (size_t x = 0; x < (size_t)img->width * ch; x++) {
                s = s * 1103515245u + 12345u;
                /* smooth, noisy and flat bands: every filter wins a row */
                unsigned v = y < 30 ? (unsigned)(x + 2 * y)
                           : y < 60 ? s >> 24 : 77u;
                img->px[y * img->stride + x] = (unsigned char)v;
            }
        ib_encode_opts_init(&eo);
        eo.format = IB_FORMAT_PNG;
        assert_int_equal(ib_image_encode(img, &eo, &png, &len, msg,
                                         sizeof msg), 0);
        c = rechunk(png, len, 1000, &clen);
        assert_int_equal(tf_png_idat_find(c, clen, &idat), 0);
        assert_true(idat.nchunks > 3);
        assert_true(assert_paths_agree("encoded", c, clen));
        /* the fast path gives the encoded pixels themselves */
        struct ib_image *got;
        struct ib_meta m;
        assert_int_equal(decode_path(c, clen, 1, &got, &m, msg, sizeof msg),
                         0);
        for (uint32_t y = 0; y < img->height; y++)
            assert_memory_equal(got->px + y * got->stride,
                                img->px + y * img->stride,
                                (size_t)img->width * ch);
        ib_image_free(got);
        ib_meta_release(&m);
        for (size_t cut = 0; cut < clen; cut += 1 + cut / 16) {
            char what[64];
            snprintf(what, sizeof what, "%" PRIu32 " channels cut at %zu",
                     ch, cut);
            assert_paths_agree(what, c, cut);
        }
        /* one flipped bit in the middle of the IDAT data */
        c[idat.first + (idat.end - idat.first) / 2] ^= 0x10;
        assert_int_equal(tf_png_idat_find(c, clen, &idat), -1);
        assert_paths_agree("bad CRC", c, clen);
        free(c);
        free(png);
        ib_image_free(img);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_every_type_and_depth),
        cmocka_unit_test(test_png_trns_is_exercised),
        cmocka_unit_test(test_jpeg_variants),
        cmocka_unit_test(test_jpeg_exif_orientation),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_messages_name_the_defect),
        cmocka_unit_test(test_max_pixels),
        cmocka_unit_test(test_progressive_scan_cap),
        cmocka_unit_test(test_shrink_on_load),
        cmocka_unit_test(test_shrink_ignored_for_png),
        cmocka_unit_test(test_png_roundtrip_exact),
        cmocka_unit_test(test_jpeg_roundtrip),
        cmocka_unit_test(test_jpeg_progressive_and_quality),
        cmocka_unit_test(test_encode_rejects_bad_options),
        cmocka_unit_test(test_icc_carried),
        cmocka_unit_test(test_truncated_at_every_offset),
        cmocka_unit_test(test_corrupt_bytes),
        cmocka_unit_test(test_exif_parser),
        cmocka_unit_test(test_codec_table),
        cmocka_unit_test(test_alloc_failures_in_ops),
        cmocka_unit_test(test_alloc_failures_in_resample),
        cmocka_unit_test(test_alloc_failures_in_pipeline),
        cmocka_unit_test(test_alloc_failures_in_codecs),
        cmocka_unit_test(test_resample_below_4x_unchanged),
        cmocka_unit_test(test_resample_box_quality),
        cmocka_unit_test(test_resample_fixed_point_quality),
        cmocka_unit_test(test_resample_memory_follows_output),
        cmocka_unit_test(test_blur_matches_reference),
        cmocka_unit_test(test_sharpen_matches_reference),
        cmocka_unit_test(test_png_fast_path_matches_libpng),
        cmocka_unit_test(test_png_fast_path_hostile),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
