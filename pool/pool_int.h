/* pool/pool_int.h: shared between the files of pool/ only. */
#ifndef IB_POOL_INT_H
#define IB_POOL_INT_H

#include "pool/pool.h"

double ib_pool_now_ms(void);
int ib_pool_run_fork(const struct ib_pool_opts *o);
int ib_pool_run_omp(const struct ib_pool_opts *o);

#endif
