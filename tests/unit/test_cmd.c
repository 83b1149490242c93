/*
 * tests/unit/test_cmd.c: the CLI's own parts, linked from ib_cmd: the JSON
 * Lines writer, strict option numbers, --shard parsing and partition, and
 * the path checks that run before anything is touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "cmd/shard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_json_escapes_and_replaces_bad_utf8(void **state)
{
    (void)state;
    struct cmd_json j = {0};
    cmd_json_begin(&j);
    cmd_json_str(&j, "a", "q\"b\\n\nt\x01");
    cmd_json_str(&j, "bad", "x\xff\xc0\xafy");       /* not UTF-8 */
    cmd_json_str(&j, "ok", "\xc3\xa9\xe2\x82\xac");  /* e-acute, euro */
    cmd_json_str(&j, "none", NULL);
    cmd_json_int(&j, "i", -42);
    cmd_json_num(&j, "n", 1.5);
    cmd_json_num(&j, "inf", INFINITY);
    cmd_json_bool(&j, "t", 1);
    cmd_json_null(&j, "z");
    cmd_json_end(&j);
    assert_string_equal(j.buf,
                        "{\"a\":\"q\\\"b\\\\n\\u000at\\u0001\","
                        "\"bad\":\"x\\ufffd\\ufffd\\ufffdy\","
                        "\"ok\":\"\xc3\xa9\xe2\x82\xac\",\"none\":null,"
                        "\"i\":-42,\"n\":1.500,\"inf\":0.000,\"t\":true,"
                        "\"z\":null}\n");
    /* a second object reuses the buffer */
    cmd_json_begin(&j);
    cmd_json_end(&j);
    assert_string_equal(j.buf, "{}\n");
    cmd_json_release(&j);
}

static void test_numbers_are_plain_decimals(void **state)
{
    (void)state;
    uint64_t u;
    unsigned v;
    double d;
    assert_int_equal(cmd_parse_u64("42", 0, 100, &u), 0);
    assert_int_equal(u, 42);
    const char *bad_u[] = {"", " 5", "5 ", "+5", "-5", "0x10", "5e1", "1.0",
                           "101", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_u / sizeof *bad_u; i++)
        assert_int_equal(cmd_parse_u64(bad_u[i], 0, 100, &u), -1);
    assert_int_equal(cmd_parse_uint("7", 1, 9, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(cmd_parse_uint("0", 1, 9, &v), -1);

    assert_int_equal(cmd_parse_double("2.5", 0, 10, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(cmd_parse_double("-1", -5, 10, &d), 0);
    assert_true(d == -1.0);
    const char *bad_d[] = {"", " 2", "2 ", "0x10", "1e1", "inf", "nan",
                           ".5", "+1", "1.2.3", "11", "-", "--1"};
    for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++)
        assert_int_equal(cmd_parse_double(bad_d[i], -5, 10, &d), -1);
}

static void test_shard_values(void **state)
{
    (void)state;
    struct cmd_shard s;
    char msg[128];
    assert_int_equal(cmd_shard_parse(&s, "2/5", msg, sizeof msg), 0);
    assert_true(s.k == 2 && s.n == 5);
    const char *bad[] = {"5/5", "1/0", "x/2", "1/", "/2", "1/2/3", "-1/2",
                         " 1/2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        msg[0] = '\0';
        assert_int_equal(cmd_shard_parse(&s, bad[i], msg, sizeof msg), -1);
        assert_true(msg[0] != '\0');
    }
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    assert_int_equal(cmd_shard_parse(&s, "k8s/4", msg, sizeof msg), 0);
    assert_true(s.k == 3 && s.n == 4);
    assert_int_equal(cmd_shard_parse(&s, "k8s/3", msg, sizeof msg), -1);
    /* N is stated, never the array's size: see the resubmission below */
    setenv("SLURM_ARRAY_TASK_ID", "2", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "3", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "1", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    unsetenv("IMGBATCH_SHARD_COUNT");
    assert_int_equal(cmd_shard_parse(&s, "slurm/4", msg, sizeof msg), 0);
    assert_true(s.k == 2 && s.n == 4);
    assert_int_equal(cmd_shard_parse(&s, "slurm", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "IMGBATCH_SHARD_COUNT"));
    setenv("IMGBATCH_SHARD_COUNT", "4", 1);
    assert_int_equal(cmd_shard_parse(&s, "slurm", msg, sizeof msg), 0);
    assert_true(s.k == 2 && s.n == 4);
    /* "sbatch --array=2" again: a one-task array, still shard 2 of 4 */
    setenv("SLURM_ARRAY_TASK_MIN", "2", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "2", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "1", 1);
    assert_int_equal(cmd_shard_parse(&s, "slurm/4", msg, sizeof msg), 0);
    assert_true(s.k == 2 && s.n == 4);
    /* --array=1-4: id 4 is shard 0 */
    setenv("SLURM_ARRAY_TASK_ID", "4", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "4", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    assert_int_equal(cmd_shard_parse(&s, "slurm/4", msg, sizeof msg), 0);
    assert_true(s.k == 0 && s.n == 4);
    /* --array=0-4 with N 4: ids 0 and 4 would share a shard */
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    assert_int_equal(cmd_shard_parse(&s, "slurm/4", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "--array=0-3"));
    const char *bad_n[] = {"slurm/0", "slurm/x", "slurm/", "slurm/4/1",
                           "slurmy"};
    for (size_t i = 0; i < sizeof bad_n / sizeof *bad_n; i++)
        assert_int_equal(cmd_shard_parse(&s, bad_n[i], msg, sizeof msg), -1);
    setenv("IMGBATCH_SHARD_COUNT", "0", 1);
    assert_int_equal(cmd_shard_parse(&s, "slurm", msg, sizeof msg), -1);
    unsetenv("SLURM_ARRAY_TASK_ID");
    assert_int_equal(cmd_shard_parse(&s, "slurm/4", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "SLURM_ARRAY_TASK_ID"));
    unsetenv("IMGBATCH_SHARD_COUNT");
}

/* Every key lands in exactly one of N shards, and they are not lopsided. */
static void test_shards_partition_the_keys(void **state)
{
    (void)state;
    enum { N = 7, KEYS = 7000 };
    size_t count[N] = {0};
    for (unsigned i = 0; i < KEYS; i++) {
        char key[64];
        snprintf(key, sizeof key, "https://h/img/%u.jpg", i);
        int owners = 0;
        for (unsigned k = 0; k < N; k++) {
            struct cmd_shard s = {k, N};
            if (cmd_shard_has(&s, key)) {
                owners++;
                count[k]++;
            }
        }
        assert_int_equal(owners, 1);
    }
    for (unsigned k = 0; k < N; k++)
        assert_true(count[k] > KEYS / N / 2 && count[k] < KEYS / N * 2);
    struct cmd_shard none = {0, 0};
    assert_true(cmd_shard_has(&none, "anything"));
}

static void test_paths_within(void **state)
{
    (void)state;
    char dir[] = "/tmp/imgbatch-test-cmd.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char a[512], b[512], link[512];
    snprintf(a, sizeof a, "%s/out", dir);
    snprintf(b, sizeof b, "%s/other", dir);
    snprintf(link, sizeof link, "%s/alias", dir);
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    assert_int_equal(symlink(a, link), 0);

    char p[600];
    assert_true(cmd_path_within(a, a));
    snprintf(p, sizeof p, "%s/not/yet/r.jsonl", a);
    assert_true(cmd_path_within(p, a));         /* need not exist */
    snprintf(p, sizeof p, "%s/../out/./r", b);
    assert_true(cmd_path_within(p, a));         /* ".." folded */
    snprintf(p, sizeof p, "%s/r", link);
    assert_true(cmd_path_within(p, a));         /* symlink resolved */
    snprintf(p, sizeof p, "%s/r", b);
    assert_false(cmd_path_within(p, a));
    snprintf(p, sizeof p, "%s-2/r", a);         /* a prefix, not a parent */
    assert_false(cmd_path_within(p, a));
    assert_true(cmd_path_within(a, "/"));
    assert_false(cmd_path_within(dir, a));

    char *r = cmd_path_resolve("x/../y");
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(p, sizeof p, "%s/y", strcmp(cwd, "/") ? cwd : "");
    assert_string_equal(r, p);
    free(r);

    unlink(link);
    rmdir(a);
    rmdir(b);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes_and_replaces_bad_utf8),
        cmocka_unit_test(test_numbers_are_plain_decimals),
        cmocka_unit_test(test_shard_values),
        cmocka_unit_test(test_shards_partition_the_keys),
        cmocka_unit_test(test_paths_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
