/*
 * pool/pool_omp.c: the OpenMP backend, a parallel for over task indices.
 *
 * schedule(dynamic, 1): images differ widely in cost, so a thread takes the
 * next index when it is free rather than a fixed share. Each task writes
 * only results[index]; done runs under a named critical section, on the
 * thread that ran the task, so a caller can write its report line by line
 * as tasks finish without a lock of its own. A stop skips every task not
 * yet started; a running one cannot be cut short in a thread.
 */
#include "pool/pool.h"
#include "pool/pool_int.h"

#include <omp.h>

int pool_run_omp(const struct ib_pool_opts *o)
{
    if (o->ntasks == 0)
        return IB_POOL_OK;
    unsigned workers = o->workers ? o->workers : ib_pool_cpus();
    if (workers > o->ntasks)
        workers = (unsigned)o->ntasks;
    double t0 = pool_now_ms();
    int skipped = 0;

#pragma omp parallel for schedule(dynamic, 1) num_threads(workers)
    for (size_t i = 0; i < o->ntasks; i++) {
        int stop = 0;
        if (o->stop) {  /* set by a signal handler or a done callback */
#pragma omp atomic read
            stop = *o->stop;
        }
        if (stop) {
#pragma omp atomic write
            skipped = 1;
            continue;
        }
        struct ib_pool_result *r = &o->results[i];
        r->start_ms = pool_now_ms() - t0;
        char msg[IB_POOL_MSGMAX] = "";
        r->status = o->task(o->ctx, i, r->data, msg, sizeof msg);
        msg[sizeof msg - 1] = '\0';
        r->end_ms = pool_now_ms() - t0;
        r->state = IB_POOL_DONE;
        r->worker = omp_get_thread_num();
#pragma omp critical(ib_pool_done)
        pool_deliver(o, i, r, msg);
    }
    return skipped ? IB_POOL_EINTR : IB_POOL_OK;
}
