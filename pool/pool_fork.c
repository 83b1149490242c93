/*
 * pool/pool_fork.c: the FORK backend. Workers are forked once and reused
 * (redis src/childinfo.c for the pipes, git run-command.c for the loop).
 *
 * Per worker two pipes: task indices go down (uint64_t), fixed-size result
 * records come back (struct rec). Both are written whole in one write() of
 * at most PIPE_BUF bytes, which POSIX makes atomic, so a reader never sees
 * half a record. A worker holds at most one task, so neither pipe ever
 * fills. The parent poll()s the result pipes: a record means the worker is
 * free again; end-of-file means it died, and its task (if any) fails with
 * the wait status. Timeouts and stop are enforced after every poll().
 */
#include "pool/pool.h"
#include "pool/pool_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define NO_TASK SIZE_MAX
/* with *stop set, poll() wakes this often even if no signal interrupts it */
#define STOP_POLL_MS 100

struct rec {
    uint64_t index;
    int32_t status;
    char msg[IB_POOL_MSGMAX];
    unsigned char data[IB_POOL_DATALEN];
};
_Static_assert(sizeof(struct rec) <= PIPE_BUF, "result record not atomic");

struct worker {
    pid_t pid;         /* 0: no process in this slot */
    int to_fd;         /* write end of the task pipe, -1 if none */
    int from_fd;       /* read end of the result pipe, -1 if none */
    size_t task;       /* index it runs, or NO_TASK when idle */
    double start_ms;   /* when task was handed out, since t0 */
};

/* Why a worker is retired; picks the state and message of its task. */
enum retire_why { WHY_DIED, WHY_TIMEOUT, WHY_STOP, WHY_IDLE };

struct ib_pool {
    struct ib_pool_opts o;     /* copy; its pointers are borrowed */
    struct worker *w;          /* owned: nworkers slots */
    unsigned nworkers;
    struct pollfd *pfd;        /* owned: nworkers slots, for step() */
    unsigned *who;             /* owned: which worker each pfd is */
    size_t *queue;             /* owned: ring of ntasks submitted indices */
    size_t qhead, qlen;        /* not yet handed out */
    unsigned char *submitted;  /* owned: ntasks flags */
    size_t unfinished;         /* submitted, no result yet */
    double t0;
    pid_t self;
    sigset_t caller_mask;      /* restored in workers */
    int in_step;               /* inside step(): submit only queues */
    int stopping;
    double stop_at;            /* end of the grace period, since t0 */
    int lost;                  /* stop cost some task its result */
    int broken;                /* work left and no worker can be forked */
};

static const struct { int sig; const char *name; } signames[] = {
    { SIGSEGV, "SIGSEGV" }, { SIGBUS, "SIGBUS" }, { SIGABRT, "SIGABRT" },
    { SIGFPE, "SIGFPE" }, { SIGILL, "SIGILL" }, { SIGKILL, "SIGKILL" },
    { SIGTERM, "SIGTERM" }, { SIGINT, "SIGINT" }, { SIGPIPE, "SIGPIPE" },
    { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" }, { SIGSYS, "SIGSYS" },
    { SIGTRAP, "SIGTRAP" }, { SIGHUP, "SIGHUP" }, { SIGQUIT, "SIGQUIT" },
    { SIGALRM, "SIGALRM" }, { SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" },
};

static void describe_death(int status, char *msg, size_t msglen)
{
    if (WIFEXITED(status)) {
        snprintf(msg, msglen, "worker exited with status %d",
                 WEXITSTATUS(status));
        return;
    }
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++) {
        if (signames[i].sig == sig) {
            snprintf(msg, msglen, "worker crashed: %s", signames[i].name);
            return;
        }
    }
    snprintf(msg, msglen, "worker crashed: signal %d", sig);
}

/* Whole-buffer read/write, retrying EINTR; read returns bytes got (0: EOF). */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static int write_full(int fd, const void *buf, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        buf = (const char *)buf + k;
        n -= (size_t)k;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);  /* not retried on EINTR: Linux frees the fd anyway */
    *fd = -1;
}

/* In a new worker: close every descriptor but 0-2 and keep_a, keep_b. */
static void close_inherited(int keep_a, int keep_b)
{
    int fds[256];
    size_t n;
    /* a pass collects, then closes, so readdir never sees its own fd go;
     * more than 256 at once just takes another pass */
    do {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
            return;
        n = 0;
        struct dirent *e;
        while (n < sizeof fds / sizeof fds[0] && (e = readdir(d))) {
            int fd = atoi(e->d_name);
            if (fd > 2 && fd != keep_a && fd != keep_b && fd != dirfd(d))
                fds[n++] = fd;
        }
        closedir(d);
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
    } while (n == sizeof fds / sizeof fds[0]);
}

static pid_t wait_pid(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

/*
 * The worker: never returns, leaves with _exit() (the parent owns the stdio
 * buffers and atexit handlers it inherited). SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT are ignored: a Ctrl-C or a closed terminal reaches the whole
 * process group, and a worker dying with it would lose its image without
 * the grace period the parent grants; the
 * parent decides, and SIGKILLs what is left after grace_ms. The parent's
 * death ends the worker through PR_SET_PDEATHSIG.
 */
static _Noreturn void worker_main(struct ib_pool *p, int task_fd, int res_fd)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    /* the parent may have died before prctl(): then nobody would kill us */
    if (getppid() != p->self)
        _exit(1);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    pthread_sigmask(SIG_SETMASK, &p->caller_mask, NULL);
    if (p->o.worker_mem) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_AS, &rl) == 0) {
            rl.rlim_cur = p->o.worker_mem < rl.rlim_max ? p->o.worker_mem
                                                        : rl.rlim_max;
            setrlimit(RLIMIT_AS, &rl);
        }
    }
    /* other workers' pipes: holding them would hide their end-of-file */
    for (unsigned k = 0; k < p->nworkers; k++) {
        close_fd(&p->w[k].to_fd);
        close_fd(&p->w[k].from_fd);
    }
    if (p->o.close_fds)
        close_inherited(task_fd, res_fd);
    for (;;) {
        uint64_t index;
        if (read_full(task_fd, &index, sizeof index) != sizeof index)
            _exit(0);  /* pipe closed: the pool is done */
        struct rec r;
        memset(&r, 0, sizeof r);
        r.index = index;
        r.status = p->o.task(p->o.ctx, (size_t)index, r.data, r.msg,
                              sizeof r.msg);
        r.msg[sizeof r.msg - 1] = '\0';
        if (write_full(res_fd, &r, sizeof r) < 0)
            _exit(1);
    }
}

static int spawn(struct ib_pool *p, unsigned k)
{
    int down[2], up[2];
    if (pipe(down) < 0)
        return -1;
    if (pipe(up) < 0) {
        close(down[0]);
        close(down[1]);
        return -1;
    }
    /* close-on-exec so that a task that runs a program does not pass them */
    for (int i = 0; i < 2; i++) {
        fcntl(down[i], F_SETFD, FD_CLOEXEC);
        fcntl(up[i], F_SETFD, FD_CLOEXEC);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        worker_main(p, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    if (pid < 0) {
        close(down[1]);
        close(up[0]);
        return -1;
    }
    p->w[k] = (struct worker){ .pid = pid, .to_fd = down[1],
                               .from_fd = up[0], .task = NO_TASK };
    return 0;
}

/* whole: the task's message as it came, or the result's own kept_msg */
static void finish(struct ib_pool *p, size_t index, const char *whole)
{
    p->unfinished--;
    pool_deliver(&p->o, index, &p->o.results[index], whole);
}

/*
 * Ends worker k (SIGKILL, then waitpid: killing a process that is already
 * exiting does not change its wait status) and fails its task, if any.
 */
static void retire(struct ib_pool *p, unsigned k, enum retire_why why)
{
    struct worker *w = &p->w[k];
    int status = 0;
    close_fd(&w->to_fd);
    close_fd(&w->from_fd);
    kill(w->pid, SIGKILL);
    wait_pid(w->pid, &status);
    w->pid = 0;
    if (w->task == NO_TASK)
        return;
    struct ib_pool_result *r = &p->o.results[w->task];
    r->start_ms = w->start_ms;
    r->end_ms = pool_now_ms() - p->t0;
    r->worker = (int)k;
    r->status = -1;
    if (why == WHY_TIMEOUT) {
        r->state = IB_POOL_TIMEOUT;
        unsigned t = p->o.timeout_ms;
        if (t % 1000 == 0)
            snprintf(r->kept_msg, sizeof r->kept_msg, "timed out after %u s",
                     t / 1000);
        else
            snprintf(r->kept_msg, sizeof r->kept_msg,
                     "timed out after %u ms", t);
    } else if (why == WHY_STOP) {
        r->state = IB_POOL_CRASHED;
        snprintf(r->kept_msg, sizeof r->kept_msg, "interrupted");
        p->lost = 1;
    } else {
        r->state = IB_POOL_CRASHED;
        describe_death(status, r->kept_msg, sizeof r->kept_msg);
    }
    size_t index = w->task;
    w->task = NO_TASK;
    finish(p, index, r->kept_msg);
}

/* A record (or end-of-file) from worker k. */
static void collect(struct ib_pool *p, unsigned k)
{
    struct worker *w = &p->w[k];
    struct rec rec;
    if (read_full(w->from_fd, &rec, sizeof rec) != sizeof rec ||
        rec.index != w->task) {
        retire(p, k, WHY_DIED);
        return;
    }
    struct ib_pool_result *r = &p->o.results[w->task];
    r->state = IB_POOL_DONE;
    r->status = rec.status;
    memcpy(r->data, rec.data, sizeof r->data);
    r->start_ms = w->start_ms;
    r->end_ms = pool_now_ms() - p->t0;
    r->worker = (int)k;
    w->task = NO_TASK;
    rec.msg[sizeof rec.msg - 1] = '\0';
    finish(p, (size_t)rec.index, rec.msg);
}

/*
 * Hands queued indices to idle workers, forking into empty slots as
 * needed. SIGPIPE is blocked around the writes, and one they raise is
 * consumed, so that a worker dying while idle cannot kill the caller
 * whatever its SIGPIPE disposition: the write fails with EPIPE instead,
 * and the index goes to a fresh worker.
 */
static void dispatch(struct ib_pool *p)
{
    sigset_t pipe_set, old, pending;
    unsigned k = 0, deaths = 0;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    int pipe_pending = sigismember(&pending, SIGPIPE);
    while (k < p->nworkers && p->qlen > 0) {
        struct worker *w = &p->w[k];
        if ((w->pid == 0 && spawn(p, k) < 0) || w->task != NO_TASK) {
            k++;
            continue;
        }
        uint64_t index = p->queue[p->qhead];
        if (write_full(w->to_fd, &index, sizeof index) < 0) {
            retire(p, k, WHY_IDLE);  /* died idle: same slot, new fork */
            if (++deaths > p->nworkers)
                k++;
            continue;
        }
        p->qhead = (p->qhead + 1) % p->o.ntasks;
        p->qlen--;
        w->task = (size_t)index;
        w->start_ms = pool_now_ms() - p->t0;
        k++;
    }
    if (deaths > 0 && !pipe_pending) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    unsigned live = 0;
    for (k = 0; k < p->nworkers; k++)
        live += p->w[k].pid != 0;
    if (p->qlen > 0 && live == 0)
        p->broken = 1;
}

static int stop_requested(const struct ib_pool *p)
{
    return p->o.stop && *p->o.stop;
}

static void begin_stop(struct ib_pool *p)
{
    p->stopping = 1;
    p->stop_at = pool_now_ms() - p->t0 + p->o.grace_ms;
    if (p->qlen > 0)
        p->lost = 1;  /* queued tasks stay NOT_RUN */
    p->unfinished -= p->qlen;
    p->qlen = 0;
}

/* Milliseconds until the nearest deadline, capped by limit (-1: none). */
static int next_wait(const struct ib_pool *p, int limit)
{
    double now = pool_now_ms() - p->t0, until = 0;
    int have = 0;
    if (p->stopping) {
        until = p->stop_at - now;
        have = 1;
    }
    for (unsigned k = 0; k < p->nworkers && p->o.timeout_ms; k++) {
        const struct worker *w = &p->w[k];
        if (w->pid == 0 || w->task == NO_TASK)
            continue;
        double left = w->start_ms + p->o.timeout_ms - now;
        if (!have || left < until)
            until = left;
        have = 1;
    }
    if (p->o.stop && (!have || until > STOP_POLL_MS)) {
        until = STOP_POLL_MS;
        have = 1;
    }
    /* rounded up: waking before a deadline would only spin */
    int ms = !have ? -1 : until <= 0 ? 0 : (int)until + 1;
    if (limit >= 0 && (ms < 0 || ms > limit))
        ms = limit;
    return ms;
}

static int busy(const struct ib_pool *p)
{
    for (unsigned k = 0; k < p->nworkers; k++)
        if (p->w[k].pid != 0 && p->w[k].task != NO_TASK)
            return 1;
    return 0;
}

/* Kills workers past their timeout, or past the grace period of a stop. */
static void enforce_deadlines(struct ib_pool *p)
{
    double now = pool_now_ms() - p->t0;
    for (unsigned k = 0; k < p->nworkers; k++) {
        struct worker *w = &p->w[k];
        if (w->pid == 0 || w->task == NO_TASK)
            continue;
        if (p->o.timeout_ms && now >= w->start_ms + p->o.timeout_ms)
            retire(p, k, WHY_TIMEOUT);
        else if (p->stopping && now >= p->stop_at)
            retire(p, k, WHY_STOP);
    }
}

/*
 * One round: hand out work, wait up to timeout_ms for records or deaths,
 * handle them, enforce deadlines. done callbacks run in here; a submit
 * from one only queues (in_step), the next round hands it out.
 */
static int step(struct ib_pool *p, int timeout_ms)
{
    nfds_t n = 0;
    int r = 0;

    p->in_step = 1;
    if (!p->stopping && stop_requested(p))
        begin_stop(p);
    if (!p->stopping)
        dispatch(p);
    for (unsigned k = 0; k < p->nworkers; k++) {
        if (p->w[k].pid == 0)
            continue;
        p->pfd[n] = (struct pollfd){ .fd = p->w[k].from_fd,
                                     .events = POLLIN };
        p->who[n++] = k;
    }
    /* stopped with nothing in flight: nothing left worth waiting for */
    if (p->broken || n == 0 || (p->stopping && !busy(p)))
        goto out;
    r = poll(p->pfd, n, next_wait(p, timeout_ms));
    if (r < 0 && errno != EINTR) {
        r = IB_POOL_ESYS;
        goto out;
    }
    for (nfds_t i = 0; r > 0 && i < n; i++) {
        /* a worker retired earlier in this loop has pid 0 */
        if (p->pfd[i].revents && p->w[p->who[i]].pid != 0)
            collect(p, p->who[i]);
    }
    r = 0;
    enforce_deadlines(p);
    if (!p->stopping && stop_requested(p))
        begin_stop(p);
    if (!p->stopping)
        dispatch(p);
out:
    p->in_step = 0;
    return r;
}

static void set_msg(char *msg, size_t msglen, const char *what)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s", what);
}

struct ib_pool *ib_pool_new(const struct ib_pool_opts *o, char *msg,
                            size_t msglen)
{
    if (!o || !o->task || (o->ntasks && !o->results) ||
        o->backend != IB_POOL_FORK) {
        set_msg(msg, msglen, ib_pool_strerror(IB_POOL_EINVAL));
        return NULL;
    }
    struct ib_pool *p = calloc(1, sizeof *p);
    if (!p) {
        set_msg(msg, msglen, "out of memory");
        return NULL;
    }
    p->o = *o;
    p->nworkers = o->workers ? o->workers : ib_pool_cpus();
    if (p->nworkers > o->ntasks)
        p->nworkers = (unsigned)o->ntasks;
    p->self = getpid();
    p->t0 = pool_now_ms();
    pthread_sigmask(SIG_SETMASK, NULL, &p->caller_mask);
    size_t slots = o->ntasks ? o->ntasks : 1;
    p->w = calloc(p->nworkers ? p->nworkers : 1, sizeof *p->w);
    p->queue = calloc(slots, sizeof *p->queue);
    p->submitted = calloc(slots, 1);
    p->pfd = calloc(p->nworkers ? p->nworkers : 1, sizeof *p->pfd);
    p->who = calloc(p->nworkers ? p->nworkers : 1, sizeof *p->who);
    if (!p->w || !p->queue || !p->submitted || !p->pfd || !p->who) {
        set_msg(msg, msglen, "out of memory");
        goto fail;
    }
    pool_results_init(o->results, o->ntasks);
    for (unsigned k = 0; k < p->nworkers; k++)
        p->w[k] = (struct worker){ .to_fd = -1, .from_fd = -1,
                                   .task = NO_TASK };
    for (unsigned k = 0; k < p->nworkers; k++) {
        if (spawn(p, k) == 0)
            continue;
        if (k == 0) {  /* with some workers the batch can go on */
            if (msg && msglen)
                snprintf(msg, msglen, "cannot fork: %s", strerror(errno));
            goto fail;
        }
    }
    return p;
fail:
    ib_pool_free(p);
    return NULL;
}

int ib_pool_submit(struct ib_pool *p, size_t index)
{
    if (!p || index >= p->o.ntasks || p->submitted[index])
        return IB_POOL_EINVAL;
    if (p->stopping || stop_requested(p)) {
        p->lost = 1;
        return IB_POOL_EINTR;
    }
    p->submitted[index] = 1;
    p->queue[(p->qhead + p->qlen) % p->o.ntasks] = index;
    p->qlen++;
    p->unfinished++;
    if (!p->in_step)
        dispatch(p);
    return p->broken ? IB_POOL_ESYS : IB_POOL_OK;
}

int ib_pool_poll(struct ib_pool *p, int timeout_ms)
{
    int r = step(p, timeout_ms);
    if (r < 0)
        return r;
    if (p->broken)
        return IB_POOL_ESYS;
    if (p->stopping && p->lost && !busy(p))
        return IB_POOL_EINTR;
    return p->unfinished > (size_t)INT_MAX ? INT_MAX : (int)p->unfinished;
}

unsigned ib_pool_fds(const struct ib_pool *p, struct pollfd *fds,
                     unsigned max, int *timeout_ms)
{
    unsigned n = 0;
    for (unsigned k = 0; p && k < p->nworkers; k++) {
        if (p->w[k].pid == 0 || p->w[k].from_fd < 0)
            continue;
        if (n < max)
            fds[n] = (struct pollfd){ .fd = p->w[k].from_fd,
                                      .events = POLLIN };
        n++;
    }
    if (p)
        *timeout_ms = next_wait(p, *timeout_ms);
    return n;
}

int ib_pool_wait(struct ib_pool *p)
{
    while (p->unfinished > 0 && !p->broken) {
        int r = step(p, -1);
        if (r < 0)
            return r;
    }
    if (p->broken)
        return IB_POOL_ESYS;
    return p->lost ? IB_POOL_EINTR : IB_POOL_OK;
}

void ib_pool_free(struct ib_pool *p)
{
    if (!p)
        return;
    p->in_step = 1;   /* a done callback below cannot submit more */
    p->stopping = 1;
    for (unsigned k = 0; p->w && k < p->nworkers; k++) {
        if (p->w[k].pid != 0)
            retire(p, k, p->w[k].task == NO_TASK ? WHY_IDLE : WHY_STOP);
    }
    free(p->w);
    free(p->pfd);
    free(p->who);
    free(p->queue);
    free(p->submitted);
    free(p);
}

int pool_run_fork(const struct ib_pool_opts *o)
{
    if (o->ntasks == 0)
        return IB_POOL_OK;
    if (o->stop && *o->stop)
        return IB_POOL_EINTR;  /* nothing started: fork nothing */
    struct ib_pool *p = ib_pool_new(o, NULL, 0);
    if (!p)
        return IB_POOL_ESYS;
    for (size_t i = 0; i < o->ntasks; i++) {
        /* queue everything first: one dispatch per free worker, not per task */
        p->submitted[i] = 1;
        p->queue[i] = i;
    }
    p->qlen = p->unfinished = o->ntasks;
    int r = ib_pool_wait(p);
    ib_pool_free(p);
    return r;
}
