/*
 * tests/unit/test_planes.c: the raw YCbCr path (transform/planes.c,
 * transform/jpeg_raw.c) against the RGB path and under hostile input:
 * every prefix of a JPEG is a clean error. The CLI test
 * tests/cli/transform_raw.sh covers the ops and samplings end to end;
 * this one covers what a CLI cannot reach.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transform/planes.h"

extern char **environ;

static char gen_dir[] = "/tmp/ib-test-planes-XXXXXX";
static char out_dir[] = "/tmp/ib-test-planes-out-XXXXXX";

static int group_setup(void **state)
{
    const char *gen = getenv("IB_GEN");
    char *argv[] = {(char *)gen, gen_dir, NULL};
    pid_t pid;
    int status;

    (void)state;
    if (!gen || !*gen || !mkdtemp(gen_dir) || !mkdtemp(out_dir))
        return -1;
    if (posix_spawn(&pid, gen, NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}

static int group_teardown(void **state)
{
    (void)state;
    empty_dir(gen_dir);
    empty_dir(out_dir);
    rmdir(out_dir);
    return rmdir(gen_dir);
}

static unsigned char *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    unsigned char *p;

    if (!f)
        fail_msg("cannot open '%s'", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static unsigned char *load_gen(const char *name, size_t *len)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", gen_dir, name);
    return load(path, len);
}

static struct ib_pipeline *pipeline(const char *const *ops)
{
    struct ib_pipeline *p = ib_pipeline_new();
    char msg[128];

    assert_non_null(p);
    for (; *ops; ops += 2)
        assert_int_equal(ib_pipeline_add(p, ops[0], ops[1], msg, sizeof msg),
                         0);
    return p;
}

/*
 * in_path through p by ib_transform_file, into out_dir/name, on the raw
 * path or (IMGBATCH_NO_RAW=1) the RGB one; the output decoded.
 */
static int transform(const char *in_path, const struct ib_pipeline *p,
                     int rgb, const char *name,
                     struct ib_transform_result *res, struct ib_image **img,
                     char *msg, size_t msglen)
{
    struct ib_decode_opts d;
    struct ib_encode_opts e;
    struct ib_out out = {.no_fsync = 1};
    char path[512];
    int rc;

    ib_decode_opts_init(&d);
    ib_encode_opts_init(&e);
    e.format = IB_FORMAT_UNKNOWN;
    out.root = open(out_dir, O_RDONLY | O_DIRECTORY);
    assert_true(out.root >= 0);
    if (rgb)
        setenv("IMGBATCH_NO_RAW", "1", 1);
    rc = ib_transform_file(in_path, &out, name, &d, p, &e, res, msg, msglen);
    unsetenv("IMGBATCH_NO_RAW");
    close(out.root);
    if (rc || !img)
        return rc;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    unsigned char *buf = load(path, &len);
    assert_int_equal(ib_image_decode(buf, len, NULL, img, NULL, msg, msglen),
                     0);
    free(buf);
    return 0;
}

static double psnr(const struct ib_image *a, const struct ib_image *b)
{
    double se = 0;

    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->channels, b->channels);
    for (uint32_t y = 0; y < a->height; y++)
        for (size_t x = 0; x < (size_t)a->width * a->channels; x++) {
            double d = (double)a->px[y * a->stride + x] -
                       b->px[y * b->stride + x];
            se += d * d;
        }
    se /= (double)a->width * a->height * a->channels;
    return se == 0 ? 99.0 : 10 * log10(255.0 * 255.0 / se);
}

/*
 * Through planes, the generated JPEGs come out as the RGB path makes
 * them: same size, pixels within JPEG noise, and not the same bytes
 * (they did take the raw path).
 */
static void test_raw_matches_rgb(void **state)
{
    static const char *const files[] = {"jpeg-420.jpg", "jpeg-444.jpg",
                                        "jpeg-prog.jpg", "jpeg-arith.jpg",
                                        "orient-6.jpg", "orient-3.jpg",
                                        "orient-7.jpg"};
    static const char *const ops[][7] = {
        {"resize", "20x20", NULL},
        {"rotate", "90", "crop", "15x9+3+2", NULL},
        {"flop", NULL, "resize", "51x31!", NULL},
        {"resize", "30x30^", "flip", NULL, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            struct ib_transform_result a, b;
            struct ib_image *raw = NULL, *rgb = NULL;
            char msg[256] = "", path[512];
            struct ib_pipeline *p = pipeline(ops[k]);

            snprintf(path, sizeof path, "%s/%s", gen_dir, files[i]);
            assert_int_equal(transform(path, p, 0, "raw.jpg", &a, &raw, msg,
                                       sizeof msg), 0);
            assert_int_equal(transform(path, p, 1, "rgb.jpg", &b, &rgb, msg,
                                       sizeof msg), 0);
            assert_int_equal(a.out_w, b.out_w);
            assert_int_equal(a.out_h, b.out_h);
            assert_int_equal(a.in_w, b.in_w);
            assert_int_equal(a.in_h, b.in_h);
            double d = psnr(raw, rgb);
            if (d < 40.0)
                fail_msg("%s op %zu: %.2f dB from the RGB path", files[i], k,
                         d);
            ib_image_free(raw);
            ib_image_free(rgb);
            ib_pipeline_free(p);
        }
    }
}

/* Not YCbCr, or a colour op: the raw decoder or the plan says no. */
static void test_unsuited_left_alone(void **state)
{
    static const char *const resize[] = {"resize", "10x10", NULL};
    static const char *const blur[] = {"blur", "1", NULL};
    struct ib_decode_opts d;
    struct ib_rendition r = {.name = "x.jpg"};
    struct tf_planes pl = {0};
    struct ib_meta meta;
    char msg[256] = "";
    size_t len;
    unsigned char *buf = load_gen("jpeg-cmyk.jpg", &len);
    struct ib_pipeline *p = pipeline(resize), *q = pipeline(blur);

    (void)state;
    ib_decode_opts_init(&d);
    ib_encode_opts_init(&r.eopts);
    memset(&meta, 0, sizeof meta);
    assert_int_equal(tf_jpeg_decode_planes(buf, len, &d, &pl, &meta, msg,
                                           sizeof msg),
                     TF_PLANES_UNSUITED);
    assert_null(pl.plane[0]);
    free(buf);
    buf = load_gen("jpeg-420.jpg", &len);
    assert_int_equal(tf_planes_suit(buf, len, p, &r, 1), 1);
    assert_int_equal(tf_planes_suit(buf, len, q, &r, 1), 0);
    r.eopts.format = IB_FORMAT_PNG;
    assert_int_equal(tf_planes_suit(buf, len, p, &r, 1), 0);
    r.skip = 1;   /* a PNG not written does not matter */
    assert_int_equal(tf_planes_suit(buf, len, p, &r, 1), 1);
    setenv("IMGBATCH_NO_RAW", "1", 1);
    assert_int_equal(tf_planes_suit(buf, len, p, &r, 1), 0);
    unsetenv("IMGBATCH_NO_RAW");
    free(buf);
    ib_pipeline_free(p);
    ib_pipeline_free(q);
}

/* Every prefix of a JPEG: a clean error from the raw decoder (or, whole,
 * success), and through ib_transform_file a failure with a message. */
static void test_raw_truncated_everywhere(void **state)
{
    static const char *const files[] = {"jpeg-420.jpg", "jpeg-prog.jpg",
                                        "jpeg-grey.jpg", "jpeg-arith.jpg"};
    static const char *const ops[] = {"resize", "9x9", NULL};
    struct ib_pipeline *p = pipeline(ops);
    struct ib_decode_opts d;

    (void)state;
    ib_decode_opts_init(&d);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        unsigned char *whole = load_gen(files[i], &len);
        for (size_t n = 0; n <= len; n++) {
            struct tf_planes pl = {0};
            struct ib_meta meta;
            char msg[256] = "";
            unsigned char *b = malloc(n ? n : 1);
            assert_non_null(b);
            memcpy(b, whole, n);
            memset(&meta, 0, sizeof meta);
            int rc = tf_jpeg_decode_planes(b, n, &d, &pl, &meta, msg,
                                           sizeof msg);
            if (n == len && rc)
                fail_msg("%s whole: %s", files[i], msg);
            if (n < len && rc == 0)
                fail_msg("%s cut at %zu of %zu decoded", files[i], n, len);
            if (rc && rc != TF_PLANES_UNSUITED && !*msg)
                fail_msg("%s cut at %zu: no message", files[i], n);
            tf_planes_release(&pl);
            ib_meta_release(&meta);
            free(b);
        }
        /* and a few cuts through the whole path */
        for (size_t n = len / 4; n < len; n += len / 4) {
            char path[512], msg[256] = "";
            struct ib_transform_result res;
            snprintf(path, sizeof path, "%s/cut.jpg", gen_dir);
            FILE *f = fopen(path, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(whole, 1, n, f), n);
            fclose(f);
            assert_int_not_equal(transform(path, p, 0, "cut.jpg", &res, NULL,
                                           msg, sizeof msg), 0);
            assert_true(*msg != '\0');
        }
        free(whole);
    }
    ib_pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_matches_rgb),
        cmocka_unit_test(test_unsuited_left_alone),
        cmocka_unit_test(test_raw_truncated_everywhere),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
