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

static int run_serial(const struct ib_pool_opts *o)
{
    double t0 = pool_now_ms();
    for (size_t i = 0; i < o->ntasks; i++) {
        if (o->stop && *o->stop)
            return IB_POOL_EINTR;
        struct ib_pool_result *r = &o->results[i];
        r->start_ms = pool_now_ms() - t0;
        r->msg[0] = '\0';
        r->status = o->task(o->ctx, i, r->data, r->msg, sizeof r->msg);
        r->end_ms = pool_now_ms() - t0;
        r->state = IB_POOL_DONE;
        r->worker = 0;
        if (o->done)
            o->done(o->done_ctx, i, r);
    }
    return IB_POOL_OK;
}

int ib_pool_run(const struct ib_pool_opts *o)
{
    if (!o || !o->task || (o->ntasks && !o->results))
        return IB_POOL_EINVAL;
    for (size_t i = 0; i < o->ntasks; i++)
        memset(&o->results[i], 0, sizeof o->results[i]);
    switch (o->backend) {
    case IB_POOL_SERIAL: return run_serial(o);
    case IB_POOL_FORK: return pool_run_fork(o);
    case IB_POOL_OPENMP: return pool_run_omp(o);
    }
    return IB_POOL_EINVAL;
}
