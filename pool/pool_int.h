/*
 * pool/pool_int.h: shared between the files of pool/ only.
 *
 * Naming, as in fetch/: the public API is ib_pool_* and lives in
 * pool/pool.h alone; what one file of pool/ offers another is pool_*
 * and is declared here; anything used by one file only is static and
 * unprefixed.
 */
#ifndef IB_POOL_INT_H
#define IB_POOL_INT_H

#include "pool/pool.h"

double pool_now_ms(void);
/* Zeroes n results, msg pointing at their kept_msg. */
void pool_results_init(struct ib_pool_result *r, size_t n);
/* Keeps the start of whole (the message, as long as IB_POOL_MSGMAX) in
 * r->kept_msg; then, if o->done, calls it with r->msg pointing at whole. */
void pool_deliver(const struct ib_pool_opts *o, size_t index,
                  struct ib_pool_result *r, const char *whole);
int pool_run_fork(const struct ib_pool_opts *o);
int pool_run_omp(const struct ib_pool_opts *o);

#endif
