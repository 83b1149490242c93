/*
 * tests/unit/test_cmd.c: the CLI's own parts, linked from ib_cmd: the JSON
 * Lines writer, strict option numbers, --shard parsing and partition, the
 * path checks that run before anything is touched, run's journal and
 * output-name claims, and the output name planning of walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmd/cmd.h"
#include "cmd/run.h"
#include "cmd/shard.h"
#include "cmd/walk.h"

#include <errno.h>
#include <inttypes.h>
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

/* ---- run's journal (cmd/run_item.c) ----------------------------------- */

/* A scratch folder; rm_tree removes it and the files the tests put there. */
static void scratch(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/imgbatch-test-cmd.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The file's text (static buffer: one call at a time). */
static const char *file_text(const char *dir, const char *name)
{
    static char buf[8192];
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* What the journal says of name, in a fresh slot (prev_hash 0: nothing). */
static struct run_slot journal_slot(const struct run_journal *j,
                                    const char *name)
{
    struct run_slot slot;
    memset(&slot, 0, sizeof slot);
    run_journal_get(j, name, &slot);
    return slot;
}

#define JOURNAL ".imgbatch-run.tsv"

/* Opens the journal in a new scratch folder dir that holds text as the
 * journal first (NULL: none yet). */
static void journal_open_with(struct run_journal *j, char *dir, size_t len,
                              const char *text)
{
    char msg[256] = "";
    scratch(dir, len);
    if (text)
        put_file(dir, JOURNAL, text);
    assert_int_equal(run_journal_open(j, dir, JOURNAL, msg, sizeof msg), 0);
}

/* Closes (compacts) the journal: the file's text then. */
static const char *journal_close_text(struct run_journal *j, const char *dir)
{
    char msg[256] = "";
    assert_int_equal(run_journal_close(j, msg, sizeof msg), 0);
    return file_text(dir, JOURNAL);
}

static void test_journal_round_trip(void **state)
{
    (void)state;
    char dir[64], msg[256] = "";
    struct run_journal j;
    journal_open_with(&j, dir, sizeof dir, NULL);
    assert_int_equal(journal_slot(&j, "a.jpg").prev_hash, 0);

    struct run_done a = {.hash = 0xabc, .size = 1234, .sec = 1700000000,
                         .nsec = 5, .recipe = 0x77};
    struct run_done b = {.hash = 0xdef, .size = 99, .sec = 1, .nsec = 2,
                         .recipe = 0x88};
    run_journal_add(&j, "sub/a.jpg", &a);
    /* appended at once, one whole line: a kill now loses nothing */
    assert_string_equal(file_text(dir, JOURNAL),
                        "r1\t0000000000000abc\t1234\t1700000000\t5\t"
                        "0000000000000077\tsub/a.jpg\n");
    run_journal_add(&j, "b.png", &b);
    const char *text = journal_close_text(&j, dir);
    assert_int_equal(run_journal_close(&j, NULL, 0), 0);   /* twice: fine */
    /* compacted: sorted by name */
    assert_string_equal(text,
                        "r1\t0000000000000def\t99\t1\t2\t"
                        "0000000000000088\tb.png\n"
                        "r1\t0000000000000abc\t1234\t1700000000\t5\t"
                        "0000000000000077\tsub/a.jpg\n");

    assert_int_equal(run_journal_open(&j, dir, JOURNAL, msg, sizeof msg), 0);
    struct run_slot s = journal_slot(&j, "sub/a.jpg");
    assert_true(s.prev_hash == 0xabc && s.prev_size == 1234);
    assert_true(s.prev_sec == 1700000000 && s.prev_nsec == 5);
    assert_true(s.prev_recipe == 0x77);
    s = journal_slot(&j, "b.png");
    assert_true(s.prev_hash == 0xdef && s.prev_recipe == 0x88);
    assert_int_equal(journal_slot(&j, "a.jpg").prev_hash, 0);
    journal_close_text(&j, dir);
    rm_tree(dir);
}

/*
 * Of one name's lines the last wins; a line from before recipes were
 * recorded loads with recipe 0; close leaves one line per name, and a
 * name this run redid keeps only this run's line.
 */
static void test_journal_compacts_to_the_newest_line(void **state)
{
    (void)state;
    char dir[64];
    struct run_journal j;
    journal_open_with(&j, dir, sizeof dir,
             "r1\t0000000000000001\t10\t100\t0\t00000000000000aa\tx.jpg\n"
             "0000000000000002\t20\t200\t0\told.jpg\n"
             "r1\t0000000000000003\t30\t300\t0\t00000000000000bb\tx.jpg\n"
             "r1\t0000000000000004\t40\t400\t0\t00000000000000cc\ty.jpg\n"
             "r1\t0000000000000005\t50\t500\t0\t00000000000000dd\ty.jpg\n");
    assert_int_equal(j.nold, 3);
    struct run_slot s = journal_slot(&j, "x.jpg");
    assert_true(s.prev_hash == 3 && s.prev_size == 30 && s.prev_recipe == 0xbb);
    s = journal_slot(&j, "old.jpg");
    assert_true(s.prev_hash == 2 && s.prev_sec == 200 && s.prev_recipe == 0);
    s = journal_slot(&j, "y.jpg");
    assert_true(s.prev_hash == 5 && s.prev_recipe == 0xdd);

    struct run_done redo = {.hash = 6, .size = 60, .sec = 600, .nsec = 0,
                            .recipe = 0xee};
    run_journal_add(&j, "y.jpg", &redo);
    assert_string_equal(journal_close_text(&j, dir),
                        "r1\t0000000000000002\t20\t200\t0\t"
                        "0000000000000000\told.jpg\n"
                        "r1\t0000000000000003\t30\t300\t0\t"
                        "00000000000000bb\tx.jpg\n"
                        "r1\t0000000000000006\t60\t600\t0\t"
                        "00000000000000ee\ty.jpg\n");
    rm_tree(dir);
}

/* A kill mid-append leaves a last line without its end: it is ignored. */
static void test_journal_ignores_a_torn_last_line(void **state)
{
    (void)state;
    char dir[64];
    struct run_journal j;
    journal_open_with(&j, dir, sizeof dir,
             "r1\t0000000000000001\t10\t100\t0\t00000000000000aa\ta.jpg\n"
             "r1\t0000000000000002\t20\t2");
    assert_int_equal(j.nold, 1);
    assert_true(journal_slot(&j, "a.jpg").prev_hash == 1);
    /* compaction drops the torn line for good */
    assert_string_equal(journal_close_text(&j, dir),
                        "r1\t0000000000000001\t10\t100\t0\t"
                        "00000000000000aa\ta.jpg\n");
    rm_tree(dir);
}

/* A line with a field that does not parse is skipped, the others load. */
static void test_journal_skips_a_line_with_a_bad_field(void **state)
{
    (void)state;
    char dir[64];
    struct run_journal j;
    journal_open_with(&j, dir, sizeof dir,
             "r1\tzzzz\t10\t100\t0\t00000000000000aa\tbad-hash.jpg\n"
             "r1\t0000000000000001\tten\t100\t0\t00000000000000aa\t"
             "bad-size.jpg\n"
             "r1\t0000000000000001\t10\t100\t0\tnothex\tbad-recipe.jpg\n"
             "r1\t0000000000000000\t10\t100\t0\t00000000000000aa\tzero.jpg\n"
             "r1\t0000000000000001\t10\t100\t0\t00000000000000aa\t\n"
             "r1\t0000000000000007\t70\t700\t0\t00000000000000aa\tgood.jpg\n");
    assert_int_equal(j.nold, 1);
    assert_true(journal_slot(&j, "good.jpg").prev_hash == 7);
    const char *bad[] = {"bad-hash.jpg", "bad-size.jpg", "bad-recipe.jpg",
                         "zero.jpg", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(journal_slot(&j, bad[i]).prev_hash, 0);
    assert_string_equal(journal_close_text(&j, dir),
                        "r1\t0000000000000007\t70\t700\t0\t"
                        "00000000000000aa\tgood.jpg\n");
    rm_tree(dir);
}

/* A symlink planted where the journal goes does not take the appends. */
static void test_journal_refuses_a_symlink(void **state)
{
    (void)state;
    char dir[64], msg[256] = "", link[128], target[128];
    scratch(dir, sizeof dir);
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    snprintf(link, sizeof link, "%s/" JOURNAL, dir);
    put_file(dir, "elsewhere", "");
    assert_int_equal(symlink(target, link), 0);
    struct run_journal j;
    assert_int_equal(run_journal_open(&j, dir, JOURNAL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "cannot open"));
    assert_int_equal(run_journal_close(&j, NULL, 0), 0);
    assert_string_equal(file_text(dir, "elsewhere"), "");
    rm_tree(dir);
}

/* ---- run's output-name claims ----------------------------------------- */

static void test_names_claim_first_url_keeps_a_name(void **state)
{
    (void)state;
    enum { N = 300 };
    struct run_names names;
    assert_int_equal(run_names_init(&names, N), 0);
    char a[] = "a.jpg", a2[] = "a.jpg", b[] = "b.jpg";
    assert_null(run_names_claim(&names, a, "http://h/1/a.jpg"));
    assert_null(run_names_claim(&names, b, "http://h/b.jpg"));
    /* the same name again, another buffer: the first URL has it */
    assert_string_equal(run_names_claim(&names, a2, "http://h/2/a.jpg"),
                        "http://h/1/a.jpg");
    /* many distinct names: every one free once, then each taken */
    static char many[N][16];
    static char urls[N][32];
    for (int i = 2; i < N; i++) {
        snprintf(many[i], sizeof many[i], "p%d.jpg", i);
        snprintf(urls[i], sizeof urls[i], "http://h/p%d.jpg", i);
        assert_null(run_names_claim(&names, many[i], urls[i]));
    }
    for (int i = 2; i < N; i++) {
        char again[16];
        snprintf(again, sizeof again, "p%d.jpg", i);
        assert_string_equal(run_names_claim(&names, again, "x"), urls[i]);
    }
    run_names_release(&names);
    assert_null(names.name);
}

/* An item's outputs are claimed all or none; the error names the output
 * taken and the URL that has it, its password hidden. */
static void test_names_claim_item_says_who_has_it(void **state)
{
    (void)state;
    struct run_names names;
    struct run_item *a = calloc(1, run_item_size(2));
    struct run_item *b = calloc(1, run_item_size(2));
    char msg[256] = "";
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(run_names_init(&names, 8), 0);
    snprintf(a->out[0].out, RUN_NAMELEN, "a.jpg");
    snprintf(a->out[1].out, RUN_NAMELEN, "a.webp");
    snprintf(b->out[0].out, RUN_NAMELEN, "b.jpg");
    snprintf(b->out[1].out, RUN_NAMELEN, "a.webp");
    assert_int_equal(run_names_claim_item(&names, a, 2, "http://u:pw@h/a",
                                          msg, sizeof msg), 0);
    assert_int_equal(run_names_claim_item(&names, b, 2, "http://h/b", msg,
                                          sizeof msg), -1);
    assert_string_equal(msg, "output 'a.webp' is already that of "
                             "'http://***@h/a'");
    /* b claimed none of its names */
    char b2[] = "b.jpg";
    assert_null(run_names_claim(&names, b2, "http://h/c"));
    run_names_release(&names);
    free(a);
    free(b);
}

/* ---- walk's output name planning (cmd/walk.c) ------------------------- */

#define JPEG_ONLY (1u << IB_FORMAT_JPEG)

/* v[i]'s planned name in format f (static buffer: one call at a time) */
static const char *planned(const struct walk_name *v, int f)
{
    static char buf[256];
    char *name = walk_name_make(v, v->mode, f);
    assert_non_null(name);
    snprintf(buf, sizeof buf, "%s", name);
    free(name);
    return buf;
}

static void test_plan_keeps_distinct_names_plain(void **state)
{
    (void)state;
    struct walk_name v[] = {
        {.name = "x.png", .key = "x.png", .formats = JPEG_ONLY},
        {.name = "sub/x.png", .key = "sub/x.png", .formats = JPEG_ONLY},
        {.name = "y.JPEG", .key = "y.JPEG", .formats = JPEG_ONLY},
    };
    walk_names_plan(v, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(v[i].mode, WALK_NAME_PLAIN);
        assert_int_equal(v[i].clash, 0);
    }
    assert_string_equal(planned(&v[0], IB_FORMAT_JPEG), "x.jpg");
    assert_string_equal(planned(&v[1], IB_FORMAT_JPEG), "sub/x.jpg");
    /* an extension that already says the format is kept */
    assert_string_equal(planned(&v[2], IB_FORMAT_JPEG), "y.JPEG");
}

/* a.png and a.jpg under --format jpeg: both keep their whole name */
static void test_plan_names_sharers_by_their_whole_name(void **state)
{
    (void)state;
    struct walk_name v[] = {
        {.name = "a.png", .key = "a.png", .formats = JPEG_ONLY},
        {.name = "a.jpg", .key = "a.jpg", .formats = JPEG_ONLY},
        {.name = "b.png", .key = "b.png", .formats = JPEG_ONLY},
    };
    walk_names_plan(v, 3);
    assert_int_equal(v[0].mode, WALK_NAME_WHOLE);
    assert_int_equal(v[1].mode, WALK_NAME_WHOLE);
    assert_int_equal(v[2].mode, WALK_NAME_PLAIN);
    assert_string_equal(planned(&v[0], IB_FORMAT_JPEG), "a.png.jpg");
    assert_string_equal(planned(&v[1], IB_FORMAT_JPEG), "a.jpg.jpg");
    assert_string_equal(planned(&v[2], IB_FORMAT_JPEG), "b.jpg");
}

/*
 * Two URLs with one file name share even the whole name: each gets 8 hex
 * of its key; and one key listed twice is one item, no clash.
 */
static void test_plan_hashes_what_still_shares(void **state)
{
    (void)state;
    struct walk_name v[] = {
        {.name = "a.jpg", .key = "http://h/1/a.jpg", .formats = JPEG_ONLY},
        {.name = "a.jpg", .key = "http://h/2/a.jpg", .formats = JPEG_ONLY},
        {.name = "c.jpg", .key = "http://h/c.jpg", .formats = JPEG_ONLY},
        {.name = "c.jpg", .key = "http://h/c.jpg", .formats = JPEG_ONLY},
    };
    walk_names_plan(v, 4);
    assert_int_equal(v[0].mode, WALK_NAME_HASHED);
    assert_int_equal(v[1].mode, WALK_NAME_HASHED);
    assert_int_equal(v[2].mode, WALK_NAME_PLAIN);
    assert_int_equal(v[3].mode, WALK_NAME_PLAIN);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i].clash, 0);
    char n0[256], n1[256];
    snprintf(n0, sizeof n0, "%s", planned(&v[0], IB_FORMAT_JPEG));
    snprintf(n1, sizeof n1, "%s", planned(&v[1], IB_FORMAT_JPEG));
    assert_string_not_equal(n0, n1);
    for (const char *n = n0; n; n = n == n0 ? n1 : NULL) {
        unsigned hex;
        char tail[8];
        assert_int_equal(strlen(n), strlen("a-12345678.jpg"));
        assert_int_equal(sscanf(n, "a-%8x%7s", &hex, tail), 2);
        assert_string_equal(tail, ".jpg");
    }
    assert_string_equal(planned(&v[2], IB_FORMAT_JPEG), "c.jpg");
}

/* The plan depends on the list, not its order. */
static void test_plan_ignores_the_order(void **state)
{
    (void)state;
    const char *names[] = {"a.png", "a.jpg", "q/a.jpg", "q/a.jpg", "z.gif"};
    const char *keys[] = {"k1", "k2", "k3", "k4", "k5"};
    enum { N = 5 };
    struct walk_name fwd[N], rev[N];
    for (int i = 0; i < N; i++) {
        fwd[i] = (struct walk_name){.name = names[i], .key = keys[i],
                                    .formats = JPEG_ONLY |
                                               1u << IB_FORMAT_PNG};
        rev[N - 1 - i] = fwd[i];
    }
    walk_names_plan(fwd, N);
    walk_names_plan(rev, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(fwd[i].mode, rev[N - 1 - i].mode);
        char a[256];
        snprintf(a, sizeof a, "%s", planned(&fwd[i], IB_FORMAT_PNG));
        assert_string_equal(a, planned(&rev[N - 1 - i], IB_FORMAT_PNG));
    }
    /* and no two items end with one name in any format they may take */
    for (int f = IB_FORMAT_JPEG; f <= IB_FORMAT_PNG; f++)
        for (int i = 0; i < N; i++)
            for (int k = i + 1; k < N; k++) {
                char a[256];
                snprintf(a, sizeof a, "%s", planned(&fwd[i], f));
                assert_string_not_equal(a, planned(&fwd[k], f));
            }
}

/* A stem with nothing readable is named after its key. */
static void test_plan_names_an_unreadable_stem(void **state)
{
    (void)state;
    struct walk_name v = {.name = "_-_.png", .key = "http://h/_-_.png",
                          .formats = JPEG_ONLY};
    walk_names_plan(&v, 1);
    assert_int_equal(v.mode, WALK_NAME_PLAIN);
    const char *n = planned(&v, IB_FORMAT_JPEG);
    unsigned hex;
    char tail[8];
    assert_int_equal(strlen(n), strlen("image-12345678.jpg"));
    assert_int_equal(sscanf(n, "image-%8x%7s", &hex, tail), 2);
    assert_string_equal(tail, ".jpg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escapes_and_replaces_bad_utf8),
        cmocka_unit_test(test_numbers_are_plain_decimals),
        cmocka_unit_test(test_shard_values),
        cmocka_unit_test(test_shards_partition_the_keys),
        cmocka_unit_test(test_paths_within),
        cmocka_unit_test(test_journal_round_trip),
        cmocka_unit_test(test_journal_compacts_to_the_newest_line),
        cmocka_unit_test(test_journal_ignores_a_torn_last_line),
        cmocka_unit_test(test_journal_skips_a_line_with_a_bad_field),
        cmocka_unit_test(test_journal_refuses_a_symlink),
        cmocka_unit_test(test_names_claim_first_url_keeps_a_name),
        cmocka_unit_test(test_names_claim_item_says_who_has_it),
        cmocka_unit_test(test_plan_keeps_distinct_names_plain),
        cmocka_unit_test(test_plan_names_sharers_by_their_whole_name),
        cmocka_unit_test(test_plan_hashes_what_still_shares),
        cmocka_unit_test(test_plan_ignores_the_order),
        cmocka_unit_test(test_plan_names_an_unreadable_stem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
