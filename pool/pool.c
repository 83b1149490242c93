/* pool/pool.c: option checks, the serial backend, dispatch to the others. */
#include "pool/pool.h"
#include "pool/pool_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *ib_pool_strerror(int code)
{
    switch (code) {
    case IB_POOL_OK: return "ok";
    case IB_POOL_EINVAL: return "invalid pool options";
    case IB_POOL_ESYS: return "cannot start workers";
    case IB_POOL_EINTR: return "interrupted";
    }
    return "unknown pool error";
}

unsigned ib_pool_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

double pool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void pool_results_init(struct ib_pool_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].msg = r[i].kept_msg;
    }
}

void pool_deliver(const struct ib_pool_opts *o, size_t index,
                  struct ib_pool_result *r, const char *whole)
{
    if (whole != r->kept_msg)
        snprintf(r->kept_msg, sizeof r->kept_msg, "%s", whole);
    if (o->done) {
        r->msg = whole;
        o->done(o->done_ctx, index, r);
    }
    r->msg = r->kept_msg;
}

static int run_serial(const struct ib_pool_opts *o)
{
    double t0 = pool_now_ms();
    for (size_t i = 0; i < o->ntasks; i++) {
        if (o->stop && *o->stop)
            return IB_POOL_EINTR;
        struct ib_pool_result *r = &o->results[i];
        r->start_ms = pool_now_ms() - t0;
        char msg[IB_POOL_MSGMAX] = "";
        r->status = o->task(o->ctx, i, r->data, msg, sizeof msg);
        msg[sizeof msg - 1] = '\0';
        r->end_ms = pool_now_ms() - t0;
        r->state = IB_POOL_DONE;
        r->worker = 0;
        pool_deliver(o, i, r, msg);
    }
    return IB_POOL_OK;
}

int ib_pool_run(const struct ib_pool_opts *o)
{
    if (!o || !o->task || (o->ntasks && !o->results))
        return IB_POOL_EINVAL;
    pool_results_init(o->results, o->ntasks);
    switch (o->backend) {
    case IB_POOL_SERIAL: return run_serial(o);
    case IB_POOL_FORK: return pool_run_fork(o);
    case IB_POOL_OPENMP: return pool_run_omp(o);
    }
    return IB_POOL_EINVAL;
}
