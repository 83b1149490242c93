/*
 * tests/bench/bench_pool.c: what a pool backend costs per task, measured
 * with empty tasks, so the figure is pure dispatch (fork: a pipe write, a
 * poll wake-up and a record read per task). Not run by ctest.
 *
 *     bench_pool [NTASKS] [REPEATS]     defaults 10000 and 5; best run kept
 */
#include "pool/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int empty_task(void *ctx, size_t index, void *data, char *msg,
                      size_t msglen)
{
    (void)ctx, (void)index, (void)data, (void)msg, (void)msglen;
    return 0;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Best wall time of repeats runs in µs, or a negative pool error. */
static double measure(enum ib_pool_backend backend, unsigned workers,
                      size_t ntasks, int repeats,
                      struct ib_pool_result *results)
{
    struct ib_pool_opts o = {
        .backend = backend, .workers = workers, .ntasks = ntasks,
        .task = empty_task, .results = results,
    };
    double best = -1;
    for (int r = 0; r < repeats; r++) {
        double t = now_us();
        int err = ib_pool_run(&o);
        t = now_us() - t;
        if (err < 0)
            return err;
        for (size_t i = 0; i < ntasks; i++)
            if (results[i].state != IB_POOL_DONE)
                return IB_POOL_ESYS;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t ntasks = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (ntasks == 0 || repeats <= 0) {
        fprintf(stderr, "usage: bench_pool [NTASKS] [REPEATS]\n");
        return 2;
    }
    struct ib_pool_result *results = calloc(ntasks, sizeof *results);
    if (!results)
        return 3;
    /* fork rows first: never fork once OpenMP threads exist */
    static const struct {
        const char *name;
        enum ib_pool_backend backend;
        unsigned workers;
    } rows[] = {
        { "serial", IB_POOL_SERIAL, 1 },
        { "fork", IB_POOL_FORK, 1 },
        { "fork", IB_POOL_FORK, 2 },
        { "openmp", IB_POOL_OPENMP, 1 },
        { "openmp", IB_POOL_OPENMP, 2 },
    };
    printf("%zu empty tasks, best of %d runs, %u online CPUs\n\n", ntasks,
           repeats, ib_pool_cpus());
    printf("%-8s %7s %12s %12s\n", "backend", "workers", "total ms",
           "us per task");
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        double us = measure(rows[k].backend, rows[k].workers, ntasks, repeats,
                            results);
        if (us < 0) {
            printf("%-8s %7u failed: %s\n", rows[k].name, rows[k].workers,
                   ib_pool_strerror((int)us));
            continue;
        }
        printf("%-8s %7u %12.2f %12.3f\n", rows[k].name, rows[k].workers,
               us / 1e3, us / (double)ntasks);
    }
    free(results);
    return fflush(stdout) != 0 || ferror(stdout);
}
