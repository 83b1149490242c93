/*
 * pool/pool.h: runs tasks 0..ntasks-1 through a callback and knows nothing
 * about them (git run-command.h). Three backends behind one call:
 *
 *   IB_POOL_SERIAL  in this process, in index order: the reference output
 *   IB_POOL_FORK    N workers forked once, fed indices over pipes as they
 *                   become free; a worker that dies fails only its task and
 *                   is replaced; a task past the timeout is killed
 *   IB_POOL_OPENMP  an OpenMP parallel for, schedule(dynamic)
 *
 * The task writes its files itself; only a small result record (status,
 * message, a fixed-size payload, timing) comes back to the parent, which
 * fills results[index]. The library never prints or exits.
 */
#ifndef IB_POOL_H
#define IB_POOL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

enum {
    IB_POOL_OK = 0,
    IB_POOL_EINVAL = -1,   /* bad options */
    IB_POOL_ESYS = -2,     /* fork/pipe/poll failed: cannot run at all */
    IB_POOL_EINTR = -3,    /* *opts->stop cost some task its result */
};
const char *ib_pool_strerror(int code);

enum ib_pool_backend { IB_POOL_SERIAL, IB_POOL_FORK, IB_POOL_OPENMP };

/*
 * Result messages, including the NUL: a task may write up to IB_POOL_MSGMAX
 * bytes (a message naming a long path whole; it fits one pipe record), and
 * done sees all of it; a result keeps its first IB_POOL_MSGLEN - 1 bytes
 * after done has run, so a batch of 100,000 tasks does not hold 100,000
 * long buffers.
 */
#define IB_POOL_MSGMAX 3072
#define IB_POOL_MSGLEN 256
/* Payload capacity: what a task hands back beside its status, as bytes. */
#define IB_POOL_DATALEN 320

/*
 * A task returns 0 on success or a task-defined nonzero status, writing a
 * one-line reason to msg on failure. Its typed result goes to data,
 * IB_POOL_DATALEN zeroed bytes: the caller's own struct, memcpy'd in (and
 * out of ib_pool_result.data), never text to print and parse; the pool
 * copies it unread. It runs in a worker (FORK), a thread (OPENMP) or the
 * caller (SERIAL); it must not print and must be reentrant.
 */
typedef int ib_pool_task_fn(void *ctx, size_t index, void *data, char *msg,
                            size_t msglen);

enum ib_pool_state {
    IB_POOL_NOT_RUN = 0,  /* never started (stopped before it) */
    IB_POOL_DONE,         /* the task returned; see status */
    IB_POOL_CRASHED,      /* the worker died: signal or exit, or was
                             killed at the end of a stop ("interrupted") */
    IB_POOL_TIMEOUT,      /* killed after timeout_ms */
};

struct ib_pool_result {
    enum ib_pool_state state;
    int status;                /* the task's return value when DONE */
    /*
     * The task's message, or the pool's ("worker crashed: SIGSEGV"):
     * while done runs, all of it, in the pool's buffer; otherwise its
     * start, in kept_msg, where msg then points. Never NULL once the run
     * has begun. Read it in place: a copy of a result would point at the
     * original's kept_msg.
     */
    const char *msg;
    char kept_msg[IB_POOL_MSGLEN];
    unsigned char data[IB_POOL_DATALEN];  /* the task's payload when DONE
                                             (as it left it); else zeros */
    double start_ms, end_ms;   /* since ib_pool_run began */
    int worker;                /* which worker ran it (0-based) */
};

/*
 * Called as each result arrives; may be NULL. SERIAL and FORK: in the
 * caller's thread. OPENMP: on whichever thread ran the task, but inside an
 * omp critical section, so calls never overlap.
 */
typedef void ib_pool_done_fn(void *ctx, size_t index,
                             const struct ib_pool_result *r);

struct ib_pool_opts {
    enum ib_pool_backend backend;
    unsigned workers;            /* 0: one per online CPU */
    size_t ntasks;
    ib_pool_task_fn *task;
    void *ctx;                   /* read-only while the pool runs */
    struct ib_pool_result *results; /* ntasks slots, owned by the caller */
    ib_pool_done_fn *done;       /* optional progress/report hook */
    void *done_ctx;
    unsigned timeout_ms;         /* FORK: kill a task past this; 0 = none */
    uint64_t worker_mem;         /* FORK: RLIMIT_AS bytes per worker; 0 none */
    /*
     * Set asynchronously (a signal handler) to stop handing out work:
     * in-flight tasks get grace_ms to finish, then their workers are killed
     * and those tasks fail (CRASHED, "interrupted"); unstarted tasks stay
     * IB_POOL_NOT_RUN. OPENMP cannot kill a thread: it lets running tasks
     * finish. FORK workers ignore SIGINT and SIGTERM, so that a Ctrl-C sent
     * to the process group reaches only the caller, which sets *stop.
     */
    volatile int *stop;
    unsigned grace_ms;
    /*
     * FORK: each worker closes every descriptor but 0, 1, 2 and its own
     * pipes when it starts. For callers that hold sockets while the pool
     * runs (imgbatch run): a worker forked to replace a dead one would
     * otherwise keep live transfers' connections open.
     */
    int close_fds;
};

/*
 * Fails only if it cannot run at all; each task carries its own result.
 * FORK: call it from a thread that outlives the run (workers get SIGKILL
 * when the thread that forked them ends: PR_SET_PDEATHSIG), and do not reap
 * children with waitpid(-1) in a SIGCHLD handler meanwhile.
 */
int ib_pool_run(const struct ib_pool_opts *opts);

/*
 * Streaming form of the FORK backend, for work that becomes known while the
 * pool runs (imgbatch run: a file lands, its index is submitted). Workers
 * are forked by ib_pool_new, before the caller opens any connection, and
 * are reused; only a worker that dies or times out is replaced by a new fork.
 *
 *     struct ib_pool *p = ib_pool_new(&opts, msg, sizeof msg);
 *     ... as each item is ready:  ib_pool_submit(p, index);
 *     ... in the caller's loop:   ib_pool_fds(p, ...); poll(...);
 *                                 ib_pool_poll(p, 0);
 *     ib_pool_wait(p);            every submitted index has its result
 *     ib_pool_free(p);
 *
 * opts.backend must be IB_POOL_FORK; opts.ntasks is the number of indices
 * (results slots), not all of which need be submitted. opts is copied, but
 * ctx, results, done_ctx and *stop are borrowed until ib_pool_free. done runs
 * inside submit/poll/wait/free, in the caller's thread. One pool at a time:
 * a second pool's workers would inherit the first pool's pipes.
 */
struct ib_pool;

/* Forks the workers; NULL on bad options or when none can be forked. */
struct ib_pool *ib_pool_new(const struct ib_pool_opts *opts, char *msg,
                            size_t msglen);

/*
 * Queues index (< ntasks, each at most once) and hands it to a free worker
 * if there is one. IB_POOL_EINTR once stopping: the task stays NOT_RUN.
 */
int ib_pool_submit(struct ib_pool *p, size_t index);

/*
 * Hands out queued work and handles results, deaths, timeouts and stop,
 * waiting up to timeout_ms (-1: until something happens). Returns how many
 * submitted tasks have no result yet, or IB_POOL_ESYS / IB_POOL_EINTR when
 * the pool cannot go on (stopped, in-flight tasks settled).
 */
int ib_pool_poll(struct ib_pool *p, int timeout_ms);

/*
 * For a caller with its own event loop (imgbatch run waits on the pool's
 * pipes and fetch's sockets in one poll()): writes up to max descriptors
 * to wait on (POLLIN: a worker has a result, or died) and returns how many
 * there are (more than max: call again with room); lowers *timeout_ms
 * (-1: no limit yet) to the pool's next deadline (a task's timeout, a
 * stop's grace). After the wait, ib_pool_poll(p, 0) does what is due. The
 * descriptors change as workers are replaced: ask again before each wait.
 */
unsigned ib_pool_fds(const struct ib_pool *p, struct pollfd *fds,
                     unsigned max, int *timeout_ms);

/* Until every submitted task has a result: as ib_pool_run returns. */
int ib_pool_wait(struct ib_pool *p);

/*
 * Ends and reaps every worker; tasks still in flight are killed and fail
 * as "interrupted". ib_pool_free(NULL) does nothing.
 */
void ib_pool_free(struct ib_pool *p);

/* Online CPUs, at least 1. */
unsigned ib_pool_cpus(void);

#endif
