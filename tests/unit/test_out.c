/*
 * tests/unit/test_out.c: where ib_transform_file writes (struct ib_out),
 * for the cases the CLI cannot produce: names with "..", absolute or
 * empty components, which the CLI never builds, and the exact temp-file
 * rule of the sweeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transform/transform.h"

struct fx {
    char dir[64];      /* the scratch folder: in.png, out/, outside/ */
    char in[96];
    int root;          /* out/ */
    struct ib_decode_opts d;
    struct ib_encode_opts e;
    struct ib_pipeline *p;
};

static char *path(const struct fx *f, const char *rel)
{
    static char b[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(b[i], sizeof b[i], "%s/%s", f->dir, rel);
    return b[i];
}

static void put(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct ib_image *img = ib_image_new(8, 6, 3);
    unsigned char *buf;
    size_t len;

    if (!f || !img)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/ib-test-out.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->in, sizeof f->in, "%s/in.png", f->dir);
    ib_encode_opts_init(&f->e);
    f->e.format = IB_FORMAT_PNG;
    if (ib_image_encode(img, &f->e, &buf, &len, NULL, 0))
        return -1;
    FILE *o = fopen(f->in, "wb");
    if (!o || fwrite(buf, 1, len, o) != len || fclose(o))
        return -1;
    free(buf);
    ib_image_free(img);
    if (mkdir(path(f, "out"), 0777) || mkdir(path(f, "outside"), 0777))
        return -1;
    f->root = open(path(f, "out"), O_RDONLY | O_DIRECTORY);
    ib_decode_opts_init(&f->d);
    f->p = ib_pipeline_new();
    *state = f;
    return f->root < 0 || !f->p ? -1 : 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    close(f->root);
    ib_pipeline_free(f->p);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int write_as(struct fx *f, const char *name, char *msg, size_t len)
{
    struct ib_out out = {.root = f->root, .shown = "OUT"};
    struct ib_transform_result r;
    return ib_transform_file(f->in, &out, name, &f->d, f->p, &f->e, &r, msg,
                             len);
}

static void test_writes_below_root(void **state)
{
    struct fx *f = *state;
    char msg[256];
    struct stat st;

    assert_int_equal(write_as(f, "a/b/c.png", msg, sizeof msg), 0);
    assert_int_equal(stat(path(f, "out/a/b/c.png"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(entries(path(f, "out/a/b")), 1);   /* no temp left */
}

static void test_refuses_names_not_below_root(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {"../outside/x.png", "a/../../outside/x.png",
                         "/tmp/x.png", "a//x.png", "./x.png", "a/..", "",
                         "a/"};
    char msg[256];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        assert_int_equal(write_as(f, bad[i], msg, sizeof msg),
                         IB_TRANSFORM_EINVAL);
        assert_non_null(strstr(msg, "output name"));
    }
    assert_int_equal(entries(path(f, "outside")), 0);
}

static void test_symlinked_folder_not_followed(void **state)
{
    struct fx *f = *state;
    char msg[256];

    assert_int_equal(mkdir(path(f, "out/real"), 0777), 0);
    assert_int_equal(symlink("../outside", path(f, "out/link")), 0);
    assert_int_equal(symlink("../../outside", path(f, "out/real/link")), 0);
    assert_int_equal(write_as(f, "link/x.png", msg, sizeof msg),
                     IB_TRANSFORM_EIO);
    assert_string_equal(msg, "output folder 'OUT/link' is a symlink, not "
                             "followed");
    assert_int_equal(write_as(f, "real/link/deeper/x.png", msg, sizeof msg),
                     IB_TRANSFORM_EIO);
    assert_string_equal(msg, "output folder 'OUT/real/link' is a symlink, "
                             "not followed");
    assert_int_equal(entries(path(f, "outside")), 0);
}

static void test_symlink_at_the_name_is_replaced(void **state)
{
    struct fx *f = *state;
    char msg[256];
    struct stat st;

    put(path(f, "outside/victim.png"), "keep");
    assert_int_equal(symlink("../outside/victim.png",
                             path(f, "out/x.png")), 0);
    assert_int_equal(write_as(f, "x.png", msg, sizeof msg), 0);
    assert_int_equal(lstat(path(f, "out/x.png"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(path(f, "outside/victim.png"), &st), 0);
    assert_int_equal(st.st_size, 4);
}

/* mine() for the sweep: only "sub/b.png" */
static int only_b(void *ctx, const char *name)
{
    (*(int *)ctx)++;
    return !strcmp(name, "sub/b.png");
}

static void test_sweep_takes_only_its_temp_names(void **state)
{
    struct fx *f = *state;
    struct ib_out out = {.root = f->root};
    const char *ours[] = {"out/.a.png.tmp-ABCDEF", "out/sub/.b.png.tmp-a1B2c3",
                          "out/sub/.c.jpg.tmp-000000"};
    const char *theirs[] = {"out/.a.png.tmp-ABCDE", "out/.a.png.tmp-ABCDEFG",
                            "out/.a.png.tmp-ABC_EF", "out/a.png.tmp-ABCDEF",
                            "out/..tmp-ABCDEF", "out/.a.png.part.ABCDEF"};
    struct stat st;
    int asked = 0;

    assert_int_equal(mkdir(path(f, "out/sub"), 0777), 0);
    for (size_t i = 0; i < 3; i++)
        put(path(f, ours[i]), "x");
    for (size_t i = 0; i < 6; i++)
        put(path(f, theirs[i]), "x");
    /* a shard's sweep: asked about each of ours, removes only b */
    assert_int_equal(ib_transform_sweep_temps(&out, only_b, &asked), 1);
    assert_int_equal(asked, 3);
    assert_int_not_equal(stat(path(f, ours[1]), &st), 0);
    assert_int_equal(stat(path(f, ours[0]), &st), 0);
    /* the whole folder's: the rest of ours, none of theirs */
    assert_int_equal(ib_transform_sweep_temps(&out, NULL, NULL), 2);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(stat(path(f, theirs[i]), &st), 0);
    /* one output's temp files, in its folder */
    put(path(f, ours[2]), "x");
    put(path(f, "out/sub/.d.jpg.tmp-ZZZZZZ"), "x");
    assert_int_equal(ib_transform_remove_temps(&out, "sub/c.jpg"), 1);
    assert_int_equal(stat(path(f, "out/sub/.d.jpg.tmp-ZZZZZZ"), &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_below_root, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refuses_names_not_below_root,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_folder_not_followed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_at_the_name_is_replaced,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_takes_only_its_temp_names,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
