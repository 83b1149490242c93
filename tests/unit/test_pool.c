/*
 * tests/unit/test_pool.c: the three pool backends against one task table.
 *
 * Fork tests come first and OpenMP ones last, so that no test forks a
 * worker after OpenMP threads exist in this process (STYLE.md §8); the
 * cross-backend tests run serial, then fork, then OpenMP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pool/pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define IB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IB_ASAN 1
#endif
#endif

/* What a task does; the job picks one for most indices, one for some. */
enum act {
    ACT_OK,        /* nothing, status 0 */
    ACT_DET,       /* a status, message and payload that depend only on
                      the index */
    ACT_PID,       /* status 0, message and payload: the pid that ran it */
    ACT_SLEEP,     /* 2 ms, status 0 */
    ACT_FILE,      /* writes dir/out-<i>.bin (temp + rename) */
    ACT_MARK,      /* creates dir/mark-<i> */
    ACT_WAIT_ALL,  /* waits until every other task's mark exists */
    ACT_SEGV,      /* fills its payload, then dies of SIGSEGV */
    ACT_EXIT7,     /* _exit(7) */
    ACT_HANG,      /* never returns */
    ACT_ALLOC,     /* mallocs 1 GiB; fails if that fails */
    ACT_SIGNALS,   /* raises SIGINT and SIGTERM at itself, then as ACT_PID */
    ACT_REPORT,    /* writes its pid to report_fd, then hangs */
    ACT_FDS,       /* status 0, message: how many descriptors it has open */
};

struct job {
    enum act act;
    enum act special_act;
    size_t special;     /* index doing special_act, or SIZE_MAX */
    size_t every;       /* nonzero: also every index divisible by it */
    size_t ntasks;
    const char *dir;
    int report_fd;        /* ACT_REPORT */
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Bytes of file i: a length and content that depend on i alone. */
static size_t file_bytes(size_t i, unsigned char *buf, size_t cap)
{
    size_t n = 100 + (i * 7919) % 20000;
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    if (n > cap)
        n = cap;
    for (size_t k = 0; k < n; k++) {
        x = x * 1664525u + 1013904223u;
        buf[k] = (unsigned char)(x >> 24);
    }
    return n;
}

static int write_file(const struct job *j, size_t i, char *msg, size_t len)
{
    static _Thread_local unsigned char buf[32768];
    char tmp[1024], path[1024];
    size_t n = file_bytes(i, buf, sizeof buf);
    snprintf(tmp, sizeof tmp, "%s/out-%zu.bin.tmp", j->dir, i);
    snprintf(path, sizeof path, "%s/out-%zu.bin", j->dir, i);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(msg, len, "cannot create '%.200s'", tmp);
        return 1;
    }
    int bad = fwrite(buf, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(msg, len, "cannot write '%.200s'", path);
        return 1;
    }
    return 0;
}

static int wait_all(const struct job *j, size_t self, char *msg, size_t len)
{
    char path[1024];
    for (int tries = 0; tries < 12000; tries++) {  /* a minute, at most */
        size_t missing = 0;
        for (size_t k = 0; k < j->ntasks; k++) {
            snprintf(path, sizeof path, "%s/mark-%zu", j->dir, k);
            missing += k != self && !file_exists(path);
        }
        if (missing == 0)
            return 0;
        sleep_ms(5);
    }
    snprintf(msg, len, "other tasks never ran");
    return 1;
}

static int count_fds(void);

/* ACT_DET's payload: every byte depends on the index. */
static void det_payload(size_t i, unsigned char *data)
{
    for (size_t k = 0; k < IB_POOL_DATALEN; k++)
        data[k] = (unsigned char)(i * 31 + k * 7 + 1);
}

static int task(void *ctx, size_t i, void *data, char *msg, size_t len)
{
    const struct job *j = ctx;
    enum act a = j->act;
    if (i == j->special || (j->every && i % j->every == 0))
        a = j->special_act;
    char path[1024];
    void *p;
    FILE *f;

    switch (a) {
    case ACT_OK:
        return 0;
    case ACT_DET:
        det_payload(i, data);
        if (i % 5 != 0)
            return 0;
        snprintf(msg, len, "task %zu failed, reason %zu", i, i % 3);
        return (int)(i % 7) + 1;
    case ACT_SIGNALS:
        raise(SIGINT);
        raise(SIGTERM);
        /* fall through */
    case ACT_PID: {
        long pid = (long)getpid();
        memcpy(data, &pid, sizeof pid);
        snprintf(msg, len, "%ld", pid);
        return 0;
    }
    case ACT_FDS:
        snprintf(msg, len, "%d", count_fds());
        return 0;
    case ACT_SLEEP:
        sleep_ms(2);
        return 0;
    case ACT_FILE:
        return write_file(j, i, msg, len);
    case ACT_MARK:
        snprintf(path, sizeof path, "%s/mark-%zu", j->dir, i);
        f = fopen(path, "w");
        if (!f || fclose(f) != 0) {
            snprintf(msg, len, "cannot create '%.200s'", path);
            return 1;
        }
        return 0;
    case ACT_WAIT_ALL:
        return wait_all(j, i, msg, len);
    case ACT_SEGV:
        memset(data, 0xff, IB_POOL_DATALEN);
        signal(SIGSEGV, SIG_DFL);  /* ASan's handler would exit(1) instead */
        raise(SIGSEGV);
        return 99;
    case ACT_EXIT7:
        _exit(7);
    case ACT_REPORT: {
        pid_t me = getpid();
        if (write(j->report_fd, &me, sizeof me) != sizeof me)
            return 98;
    }
        /* fall through */
    case ACT_HANG:
        for (;;)
            pause();
    case ACT_ALLOC:
        p = malloc((size_t)1 << 30);
        if (!p) {
            snprintf(msg, len, "cannot allocate 1 GiB");
            return 1;
        }
        memset(p, 1, 4096);
        free(p);
        return 0;
    }
    return 97;
}

/* Counts done callbacks per index; optionally sets *stop after some. */
struct tally {
    size_t ntasks;
    size_t calls;
    unsigned char *seen;
    volatile int stop;
    size_t stop_after;   /* 0: never */
};

static void on_done(void *ctx, size_t index, const struct ib_pool_result *r)
{
    struct tally *t = ctx;
    assert_true(index < t->ntasks);
    assert_int_not_equal(r->state, IB_POOL_NOT_RUN);
    t->seen[index]++;
    t->calls++;
    if (t->stop_after && t->calls >= t->stop_after)
        t->stop = 1;
}

struct run {
    struct job job;
    struct tally tally;
    struct ib_pool_result *res;
    struct ib_pool_opts opts;
};

static void run_init(struct run *r, enum ib_pool_backend backend,
                     unsigned workers, size_t ntasks, enum act act)
{
    memset(r, 0, sizeof *r);
    r->job = (struct job){ .act = act, .special = SIZE_MAX, .ntasks = ntasks,
                           .report_fd = -1 };
    r->res = calloc(ntasks ? ntasks : 1, sizeof *r->res);
    r->tally.ntasks = ntasks;
    r->tally.seen = calloc(ntasks ? ntasks : 1, 1);
    assert_non_null(r->res);
    assert_non_null(r->tally.seen);
    r->opts = (struct ib_pool_opts){
        .backend = backend, .workers = workers, .ntasks = ntasks,
        .task = task, .ctx = &r->job, .results = r->res, .done = on_done,
        .done_ctx = &r->tally, .stop = &r->tally.stop, .grace_ms = 10000,
    };
}

static void run_release(struct run *r)
{
    free(r->res);
    free(r->tally.seen);
}

/* Every forked worker has been reaped. */
static void assert_no_children(void)
{
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void make_dir(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "/tmp/test_pool-%ld-%s", (long)getpid(), tag);
    assert_int_equal(mkdir(buf, 0700), 0);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        assert_int_equal(unlink(path), 0);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

static size_t count_state(const struct run *r, enum ib_pool_state s)
{
    size_t n = 0;
    for (size_t i = 0; i < r->opts.ntasks; i++)
        n += r->res[i].state == s;
    return n;
}

/* All DONE with status 0, one done call each, except index skip. */
static void assert_all_ok_but(const struct run *r, size_t skip)
{
    for (size_t i = 0; i < r->opts.ntasks; i++) {
        assert_int_equal(r->tally.seen[i], 1);
        if (i == skip)
            continue;
        assert_int_equal(r->res[i].state, IB_POOL_DONE);
        assert_int_equal(r->res[i].status, 0);
        assert_true(r->res[i].start_ms <= r->res[i].end_ms);
    }
}

static void test_bad_options(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 2, 4, ACT_OK);
    r.opts.task = NULL;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINVAL);
    r.opts.task = task;
    r.opts.results = NULL;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINVAL);
    r.opts.results = r.res;
    r.opts.backend = (enum ib_pool_backend)42;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINVAL);
    r.opts.backend = IB_POOL_SERIAL;
    char msg[128] = "";
    assert_null(ib_pool_new(&r.opts, msg, sizeof msg));
    assert_string_equal(msg, "invalid pool options");
    assert_int_equal(r.tally.calls, 0);
    assert_string_equal(ib_pool_strerror(IB_POOL_EINTR), "interrupted");
    run_release(&r);
}

static void test_zero_tasks(void **state)
{
    (void)state;
    enum ib_pool_backend b[] = { IB_POOL_SERIAL, IB_POOL_FORK };
    for (size_t k = 0; k < 2; k++) {
        struct run r;
        run_init(&r, b[k], 4, 0, ACT_OK);
        r.opts.results = NULL;
        assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
        assert_int_equal(r.tally.calls, 0);
        assert_no_children();
        run_release(&r);
    }
}

/* Workers are forked once and reused: 2 workers, 2 pids for 60 tasks. */
static void test_fork_reuses_workers(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 2, 60, ACT_PID);
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, SIZE_MAX);
    long pids[2] = { 0, 0 };
    for (size_t i = 0; i < 60; i++) {
        long pid = atol(r.res[i].msg);
        assert_true(pid > 0 && pid != (long)getpid());
        assert_true(r.res[i].worker >= 0 && r.res[i].worker < 2);
        if (!pids[r.res[i].worker])
            pids[r.res[i].worker] = pid;
        assert_int_equal(pids[r.res[i].worker], pid);
    }
    assert_no_children();
    run_release(&r);
}

static void test_more_workers_than_tasks(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 16, 3, ACT_PID);
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, SIZE_MAX);
    for (size_t i = 0; i < 3; i++)
        assert_true(r.res[i].worker >= 0 && r.res[i].worker < 3);
    assert_no_children();
    run_release(&r);
}

/*
 * Dynamic scheduling: task 0 finishes only once every other task has run,
 * so a static split between the two workers would never end.
 */
static void test_fork_dynamic_scheduling(void **state)
{
    (void)state;
    char dir[256];
    struct run r;
    make_dir(dir, sizeof dir, "dyn");
    run_init(&r, IB_POOL_FORK, 2, 20, ACT_MARK);
    r.job.dir = dir;
    r.job.special = 0;
    r.job.special_act = ACT_WAIT_ALL;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, SIZE_MAX);
    for (size_t i = 1; i < 20; i++)
        assert_int_not_equal(r.res[i].worker, r.res[0].worker);
    remove_dir(dir);
    assert_no_children();
    run_release(&r);
}

/* Task k dies; it alone fails, a new worker runs the rest. */
static void crash_case(enum act how, const char *want)
{
    struct run r;
    run_init(&r, IB_POOL_FORK, 1, 12, ACT_PID);
    r.job.special = 5;
    r.job.special_act = how;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, 5);
    assert_int_equal(r.res[5].state, IB_POOL_CRASHED);
    assert_string_equal(r.res[5].msg, want);
    long before = atol(r.res[4].msg), after = atol(r.res[6].msg);
    assert_true(before > 0 && after > 0);
    assert_int_not_equal(before, after);  /* replaced by a new fork */
    assert_int_equal(atol(r.res[0].msg), before);
    assert_int_equal(atol(r.res[11].msg), after);
    /* the payload is copied whole, and only from a task that returned */
    long pid;
    memcpy(&pid, r.res[4].data, sizeof pid);
    assert_int_equal(pid, before);
    static const unsigned char zeros[IB_POOL_DATALEN];
    assert_memory_equal(r.res[5].data, zeros, IB_POOL_DATALEN);
    assert_no_children();
    run_release(&r);
}

static void test_fork_segv_fails_one_task(void **state)
{
    (void)state;
    crash_case(ACT_SEGV, "worker crashed: SIGSEGV");
}

static void test_fork_exit_fails_one_task(void **state)
{
    (void)state;
    crash_case(ACT_EXIT7, "worker exited with status 7");
}

static void test_fork_many_crashes(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 2, 30, ACT_OK);
    r.job.every = 3;
    r.job.special_act = ACT_SEGV;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    for (size_t i = 0; i < 30; i++) {
        assert_int_equal(r.tally.seen[i], 1);
        assert_int_equal(r.res[i].state,
                         i % 3 == 0 ? IB_POOL_CRASHED : IB_POOL_DONE);
    }
    assert_no_children();
    run_release(&r);
}

/* Workers ignore SIGINT/SIGTERM: the parent decides (see pool_fork.c). */
static void test_fork_workers_ignore_interrupts(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 1, 4, ACT_PID);
    r.job.special = 1;
    r.job.special_act = ACT_SIGNALS;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, SIZE_MAX);
    assert_string_equal(r.res[0].msg, r.res[3].msg);  /* same worker */
    assert_no_children();
    run_release(&r);
}

static void test_fork_timeout(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 2, 10, ACT_OK);
    r.job.special = 3;
    r.job.special_act = ACT_HANG;
    r.opts.timeout_ms = 2000;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, 3);
    assert_int_equal(r.res[3].state, IB_POOL_TIMEOUT);
    assert_string_equal(r.res[3].msg, "timed out after 2 s");
    assert_true(r.res[3].end_ms - r.res[3].start_ms >= 2000);
    assert_no_children();
    run_release(&r);
}

static void test_fork_worker_mem(void **state)
{
    (void)state;
#ifdef IB_ASAN
    printf("skipped: RLIMIT_AS cannot be tested under ASan, which reserves "
           "terabytes of address space\n");
    skip();
#endif
    struct run r;
    /* without the limit the allocation succeeds (overcommit) ... */
    run_init(&r, IB_POOL_FORK, 2, 8, ACT_OK);
    r.job.special = 2;
    r.job.special_act = ACT_ALLOC;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, SIZE_MAX);
    run_release(&r);
    /* ... with it, that task alone fails */
    run_init(&r, IB_POOL_FORK, 2, 8, ACT_OK);
    r.job.special = 2;
    r.job.special_act = ACT_ALLOC;
    r.opts.worker_mem = (uint64_t)256 << 20;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, 2);
    assert_true(r.res[2].state == IB_POOL_CRASHED ||
                (r.res[2].state == IB_POOL_DONE && r.res[2].status != 0));
    if (r.res[2].state == IB_POOL_DONE)
        assert_string_equal(r.res[2].msg, "cannot allocate 1 GiB");
    assert_no_children();
    run_release(&r);
}

/* Stop after 5 results: in-flight tasks finish in the grace period. */
static void test_fork_stop_mid_run(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 2, 40, ACT_SLEEP);
    r.tally.stop_after = 5;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINTR);
    size_t done = count_state(&r, IB_POOL_DONE);
    size_t not_run = count_state(&r, IB_POOL_NOT_RUN);
    assert_true(done >= 5 && done <= 5 + 2);
    assert_int_equal(done + not_run, 40);
    assert_int_equal(r.tally.calls, done);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(r.tally.seen[i], r.res[i].state == IB_POOL_DONE);
    assert_no_children();
    run_release(&r);
}

/* A task still running when the grace period ends is killed. */
static void test_fork_stop_kills_after_grace(void **state)
{
    (void)state;
    struct run r;
    run_init(&r, IB_POOL_FORK, 2, 30, ACT_OK);
    r.job.special = 0;
    r.job.special_act = ACT_HANG;
    r.tally.stop_after = 3;
    r.opts.grace_ms = 200;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINTR);
    assert_int_equal(r.res[0].state, IB_POOL_CRASHED);
    assert_string_equal(r.res[0].msg, "interrupted");
    assert_true(count_state(&r, IB_POOL_DONE) >= 3);
    assert_true(count_state(&r, IB_POOL_NOT_RUN) > 0);
    assert_int_equal(count_state(&r, IB_POOL_DONE) +
                     count_state(&r, IB_POOL_NOT_RUN) + 1, 30);
    assert_no_children();
    run_release(&r);
}

static void test_stop_before_start(void **state)
{
    (void)state;
    enum ib_pool_backend b[] = { IB_POOL_SERIAL, IB_POOL_FORK };
    for (size_t k = 0; k < 2; k++) {
        struct run r;
        run_init(&r, b[k], 2, 10, ACT_OK);
        r.tally.stop = 1;
        assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINTR);
        assert_int_equal(count_state(&r, IB_POOL_NOT_RUN), 10);
        assert_int_equal(r.tally.calls, 0);
        assert_no_children();
        run_release(&r);
    }
}

static void test_fork_no_fd_leak_10000(void **state)
{
    (void)state;
    struct run r;
    int before = count_fds();
    run_init(&r, IB_POOL_FORK, 2, 10000, ACT_OK);
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_int_equal(count_fds(), before);
    assert_int_equal(count_state(&r, IB_POOL_DONE), 10000);
    assert_int_equal(r.tally.calls, 10000);
    assert_all_ok_but(&r, SIZE_MAX);
    assert_no_children();
    run_release(&r);
}

/*
 * A worker holds what the caller had open plus its own two pipe ends, none
 * of another worker's (they would hide that worker's end-of-file); a
 * replacement forked after a crash likewise.
 */
static void test_fork_worker_fds(void **state)
{
    (void)state;
    struct run r;
    int before = count_fds();
    run_init(&r, IB_POOL_FORK, 4, 40, ACT_FDS);
    r.job.special = 20;
    r.job.special_act = ACT_SEGV;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, 20);
    for (size_t i = 0; i < 40; i++)
        if (i != 20)
            assert_int_equal(atoi(r.res[i].msg), before + 2);
    assert_no_children();
    run_release(&r);
}

/*
 * close_fds: a worker keeps only 0-2 and its two pipe ends, not what the
 * caller had open (imgbatch run's live sockets), replacement included.
 */
static void test_fork_close_fds(void **state)
{
    (void)state;
    struct run r;
    int std = 0, extra[3];
    for (int fd = 0; fd < 3; fd++)
        std += fcntl(fd, F_GETFD) != -1;
    for (int i = 0; i < 3; i++)
        assert_true((extra[i] = open("/dev/null", O_RDONLY)) >= 0);
    run_init(&r, IB_POOL_FORK, 2, 40, ACT_FDS);
    r.opts.close_fds = 1;
    r.job.special = 20;
    r.job.special_act = ACT_SEGV;
    assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
    assert_all_ok_but(&r, 20);
    /* count_fds also counts ".", ".." and its own directory descriptor */
    for (size_t i = 0; i < 40; i++)
        if (i != 20)
            assert_int_equal(atoi(r.res[i].msg), std + 2 + 3);
    assert_no_children();
    run_release(&r);
    for (int i = 0; i < 3; i++)
        close(extra[i]);
}

/* Killing the parent kills its workers (PR_SET_PDEATHSIG). */
static void test_fork_workers_die_with_parent(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* orphaned workers are re-parented to us, so we can reap them */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        struct run r;
        close(fds[0]);
        run_init(&r, IB_POOL_FORK, 1, 1, ACT_REPORT);
        r.job.report_fd = fds[1];
        r.opts.done = NULL;
        ib_pool_run(&r.opts);
        _exit(0);
    }
    close(fds[1]);
    pid_t worker = 0;
    assert_int_equal(read(fds[0], &worker, sizeof worker), sizeof worker);
    close(fds[0]);
    assert_int_equal(kill(mid, SIGKILL), 0);
    assert_int_equal(waitpid(mid, NULL, 0), mid);
    int status = 0;
    pid_t got = 0;
    for (int tries = 0; tries < 3000 && got == 0; tries++) {  /* 30 s */
        got = waitpid(worker, &status, WNOHANG);
        if (got == 0)
            sleep_ms(10);
    }
    if (got == 0) {  /* it survived: end it, so later tests see no child */
        kill(worker, SIGKILL);
        waitpid(worker, NULL, 0);
    }
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
    assert_int_equal(got, worker);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_no_children();
}

/* Streaming: indices submitted in pieces, some from the done callback. */
struct feed {
    struct ib_pool *pool;
    size_t calls;
};

static void feed_more(void *ctx, size_t index, const struct ib_pool_result *r)
{
    struct feed *f = ctx;
    assert_int_equal(r->state, IB_POOL_DONE);
    f->calls++;
    if (index < 10)
        assert_int_equal(ib_pool_submit(f->pool, index + 30), IB_POOL_OK);
}

static void test_fork_streaming(void **state)
{
    (void)state;
    struct job job = { .act = ACT_DET, .special = SIZE_MAX, .ntasks = 50 };
    struct ib_pool_result res[50];
    struct feed f = { 0 };
    struct ib_pool_opts o = {
        .backend = IB_POOL_FORK, .workers = 3, .ntasks = 50, .task = task,
        .ctx = &job, .results = res, .done = feed_more, .done_ctx = &f,
    };
    char msg[128];
    f.pool = ib_pool_new(&o, msg, sizeof msg);
    assert_non_null(f.pool);
    assert_int_equal(ib_pool_submit(f.pool, 50), IB_POOL_EINVAL);
    for (size_t i = 0; i < 30; i++) {
        assert_int_equal(ib_pool_submit(f.pool, i), IB_POOL_OK);
        if (i % 7 == 0)
            assert_true(ib_pool_poll(f.pool, 0) >= 0);
    }
    assert_int_equal(ib_pool_submit(f.pool, 3), IB_POOL_EINVAL);
    int left = ib_pool_poll(f.pool, 10);
    while (left > 0)
        left = ib_pool_poll(f.pool, 100);
    assert_int_equal(left, 0);
    assert_int_equal(ib_pool_wait(f.pool), IB_POOL_OK);
    ib_pool_free(f.pool);
    assert_int_equal(f.calls, 40);
    for (size_t i = 0; i < 50; i++) {
        if (i >= 40) {  /* never submitted */
            assert_int_equal(res[i].state, IB_POOL_NOT_RUN);
            continue;
        }
        char want[IB_POOL_MSGLEN] = "";
        unsigned char data[IB_POOL_DATALEN] = {0};
        int st = task(&job, i, data, want, sizeof want);
        assert_int_equal(res[i].state, IB_POOL_DONE);
        assert_int_equal(res[i].status, st);
        assert_string_equal(res[i].msg, want);
        assert_memory_equal(res[i].data, data, IB_POOL_DATALEN);
    }
    assert_no_children();
    ib_pool_free(NULL);
}

/*
 * Same status, message, payload and output files from every backend; the
 * serial one is the reference. Runs serial, fork, then OpenMP.
 */
static void test_backends_agree(void **state)
{
    (void)state;
    enum ib_pool_backend b[] = { IB_POOL_SERIAL, IB_POOL_FORK,
                                 IB_POOL_OPENMP };
    const char *tag[] = { "serial", "fork", "omp" };
    char dir[3][256];
    struct run r[3];
    for (size_t k = 0; k < 3; k++) {
        struct run files;
        run_init(&r[k], b[k], 3, 200, ACT_DET);
        assert_int_equal(ib_pool_run(&r[k].opts), IB_POOL_OK);
        assert_int_equal(r[k].tally.calls, 200);
        make_dir(dir[k], sizeof dir[k], tag[k]);
        run_init(&files, b[k], 2, 40, ACT_FILE);
        files.job.dir = dir[k];
        assert_int_equal(ib_pool_run(&files.opts), IB_POOL_OK);
        assert_all_ok_but(&files, SIZE_MAX);
        run_release(&files);
    }
    size_t failed = 0;
    for (size_t i = 0; i < 200; i++) {
        unsigned char data[IB_POOL_DATALEN];
        det_payload(i, data);
        assert_memory_equal(r[0].res[i].data, data, IB_POOL_DATALEN);
        failed += r[0].res[i].status != 0;
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(r[k].tally.seen[i], 1);
            assert_int_equal(r[k].res[i].state, IB_POOL_DONE);
            assert_int_equal(r[k].res[i].status, r[0].res[i].status);
            assert_string_equal(r[k].res[i].msg, r[0].res[i].msg);
            assert_memory_equal(r[k].res[i].data, r[0].res[i].data,
                                IB_POOL_DATALEN);
        }
    }
    assert_int_equal(failed, 40);
    static unsigned char want[32768], got[32768];
    for (size_t i = 0; i < 40; i++) {
        size_t n = file_bytes(i, want, sizeof want);
        for (size_t k = 0; k < 3; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/out-%zu.bin", dir[k], i);
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            assert_int_equal(fread(got, 1, sizeof got, f), n);
            fclose(f);
            assert_memory_equal(got, want, n);
        }
    }
    for (size_t k = 0; k < 3; k++) {
        remove_dir(dir[k]);
        run_release(&r[k]);
    }
    assert_no_children();
}

static void test_omp_threads(void **state)
{
    (void)state;
    unsigned threads[] = { 1, 2, 4 };
    for (size_t t = 0; t < 3; t++) {
        struct run r;
        run_init(&r, IB_POOL_OPENMP, threads[t], 300, ACT_DET);
        assert_int_equal(ib_pool_run(&r.opts), IB_POOL_OK);
        assert_int_equal(r.tally.calls, 300);
        for (size_t i = 0; i < 300; i++) {
            char want[IB_POOL_MSGLEN] = "";
            unsigned char data[IB_POOL_DATALEN] = {0};
            int st = task(&r.job, i, data, want, sizeof want);
            assert_memory_equal(r.res[i].data, data, IB_POOL_DATALEN);
            assert_int_equal(r.tally.seen[i], 1);
            assert_int_equal(r.res[i].state, IB_POOL_DONE);
            assert_int_equal(r.res[i].status, st);
            assert_string_equal(r.res[i].msg, want);
            assert_true(r.res[i].worker >= 0 &&
                        r.res[i].worker < (int)threads[t]);
        }
        run_release(&r);
    }
}

/* Serial and OpenMP stop: tasks not started once stop is set are skipped. */
static void test_stop_serial_and_omp(void **state)
{
    (void)state;
    enum ib_pool_backend b[] = { IB_POOL_SERIAL, IB_POOL_OPENMP };
    for (size_t k = 0; k < 2; k++) {
        struct run r;
        run_init(&r, b[k], 2, 200, ACT_SLEEP);
        r.tally.stop_after = 5;
        assert_int_equal(ib_pool_run(&r.opts), IB_POOL_EINTR);
        size_t done = count_state(&r, IB_POOL_DONE);
        assert_true(done >= 5 && done <= 5 + 2);
        assert_int_equal(done + count_state(&r, IB_POOL_NOT_RUN), 200);
        assert_int_equal(r.tally.calls, done);
        run_release(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_zero_tasks),
        cmocka_unit_test(test_fork_reuses_workers),
        cmocka_unit_test(test_more_workers_than_tasks),
        cmocka_unit_test(test_fork_dynamic_scheduling),
        cmocka_unit_test(test_fork_segv_fails_one_task),
        cmocka_unit_test(test_fork_exit_fails_one_task),
        cmocka_unit_test(test_fork_many_crashes),
        cmocka_unit_test(test_fork_workers_ignore_interrupts),
        cmocka_unit_test(test_fork_timeout),
        cmocka_unit_test(test_fork_worker_mem),
        cmocka_unit_test(test_fork_stop_mid_run),
        cmocka_unit_test(test_fork_stop_kills_after_grace),
        cmocka_unit_test(test_stop_before_start),
        cmocka_unit_test(test_fork_no_fd_leak_10000),
        cmocka_unit_test(test_fork_worker_fds),
        cmocka_unit_test(test_fork_close_fds),
        cmocka_unit_test(test_fork_workers_die_with_parent),
        cmocka_unit_test(test_fork_streaming),
        /* OpenMP threads exist from here on: no fork-only tests below */
        cmocka_unit_test(test_backends_agree),
        cmocka_unit_test(test_omp_threads),
        cmocka_unit_test(test_stop_serial_and_omp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
