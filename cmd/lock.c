/*
 * cmd/lock.c: one output folder, one writer.
 *
 * fetch, transform and run lock their output folder before anything in it
 * is swept or written, with flock() on OUT/.imgbatch.lock:
 *
 *   no --shard    that file exclusively: nobody else writes OUT;
 *   --shard K/N   that file shared (other shards may run), and
 *                 OUT/.imgbatch-K-of-N.lock exclusively (the same shard
 *                 twice may not).
 *
 * So an unsharded run excludes every shard and every other run, shards of
 * one job run side by side, and each shard excludes itself. flock locks
 * belong to the open file, so they die with the last process holding it:
 * a run killed with SIGKILL never blocks the next one (its workers, which
 * inherit the fd, die with it: the pool sets PR_SET_PDEATHSIG), and no
 * stale-lock heuristics are needed. The files stay; removing a lock file
 * while someone may be about to lock it would let two runs in.
 *
 * Each holder writes its pid into the file it holds last, so a run turned
 * away can say who holds OUT. Shards overwrite one another's pid in the
 * main file: any of them is a fair answer.
 */
#include "cmd/cmd.h"
#include "cmd/shard.h"
#include "cmd/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME ".imgbatch.lock"

enum { OPT_WAIT_LOCK = CMD_OUT_OPT_FIRST, OPT_NO_FSYNC, OPT_LOG };

static const struct cmd_option out_options[] = {
    {"wait-lock", no_argument, OPT_WAIT_LOCK, NULL,
     "wait while another run writes the folder (default: exit 3)"},
    {"no-fsync", no_argument, OPT_NO_FSYNC, NULL,
     "skip fsync: faster, but a power cut may lose finished files"},
    {"log", required_argument, OPT_LOG, "FILE",
     "append failures and the summary, timestamped (UTC), to FILE"},
};
#define NOUT (sizeof out_options / sizeof out_options[0])

size_t cmd_out_options(struct cmd_option *opts, size_t n, size_t max)
{
    for (size_t i = 0; i < NOUT && n + 1 < max; i++)
        opts[n++] = out_options[i];
    opts[n] = (struct cmd_option){0};
    return n;
}

int cmd_out_option(struct cmd_out_opts *o, int c, const char *v)
{
    switch (c) {
    case OPT_LOG: o->log = v; return 0;
    case OPT_WAIT_LOCK: o->wait_lock = 1; return 0;
    case OPT_NO_FSYNC: o->no_fsync = 1; return 0;
    }
    return -1;
}

int cmd_out_open(const char *cmd, const char *path)
{
    if (walk_make_dir(path)) {
        fprintf(stderr, "imgbatch %s: cannot create '%s': %s\n", cmd, path,
                strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, "imgbatch %s: cannot open '%s': %s\n", cmd, path,
                strerror(errno));
    return fd;
}

/*
 * The pid a holder wrote into fd, or 0 if there is none yet or it has
 * gone (a shard that ended while others still hold the main file).
 */
static long holder(int fd)
{
    char b[32];
    ssize_t n = pread(fd, b, sizeof b - 1, 0);
    if (n <= 0)
        return 0;
    b[n] = '\0';
    long pid = strtol(b, NULL, 10);
    if (pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH))
        return 0;
    return pid;
}

/* Fixed width: concurrent writers of the main file never leave a mix. */
static void write_pid(int fd)
{
    char b[16];
    int n = snprintf(b, sizeof b, "%10ld\n", (long)getpid());
    if (pwrite(fd, b, (size_t)n, 0) != n)
        return;   /* only the message of a run turned away would lack it */
}

/*
 * Opens lock file name in dir and flocks it (op: LOCK_EX or LOCK_SH).
 * Returns the fd, or -1 with the message printed.
 */
static int lock_one(const char *cmd, int dir, const char *shown,
                    const char *name, int op, int wait, int quiet)
{
    int fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                    0666);
    if (fd < 0) {
        if (errno == ELOOP)
            fprintf(stderr, "imgbatch %s: '%s/%s' is a symlink, not "
                    "followed\n", cmd, shown, name);
        else
            fprintf(stderr, "imgbatch %s: cannot open '%s/%s': %s\n", cmd,
                    shown, name, strerror(errno));
        return -1;
    }
    if (!flock(fd, op | LOCK_NB))
        return fd;
    if (errno != EWOULDBLOCK) {
        fprintf(stderr, "imgbatch %s: cannot lock '%s/%s': %s\n", cmd,
                shown, name, strerror(errno));
        close(fd);
        return -1;
    }
    long pid = holder(fd);
    char by[48] = "another run";
    if (pid)
        snprintf(by, sizeof by, "pid %ld", pid);
    if (!wait) {
        fprintf(stderr, "imgbatch %s: '%s' is in use by %s (--wait-lock "
                "waits for it)\n", cmd, shown, by);
        close(fd);
        return -1;
    }
    if (!quiet)
        fprintf(stderr, "imgbatch %s: waiting for '%s', in use by %s\n",
                cmd, shown, by);
    int rc;
    do
        rc = flock(fd, op);
    while (rc && errno == EINTR);
    if (rc) {
        fprintf(stderr, "imgbatch %s: cannot lock '%s/%s': %s\n", cmd,
                shown, name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int cmd_lock_take(struct cmd_lock *l, const char *cmd, int dir,
                  const char *shown, const struct cmd_shard *shard,
                  int wait, int quiet)
{
    l->main_fd = l->shard_fd = -1;
    l->exclusive = !shard || !shard->n;
    l->main_fd = lock_one(cmd, dir, shown, LOCK_NAME,
                          l->exclusive ? LOCK_EX : LOCK_SH, wait, quiet);
    if (l->main_fd < 0)
        return EXIT_FATAL;
    if (l->exclusive) {
        write_pid(l->main_fd);
        return 0;
    }
    char name[96];
    snprintf(name, sizeof name, ".imgbatch-%llu-of-%llu.lock",
             (unsigned long long)shard->k, (unsigned long long)shard->n);
    l->shard_fd = lock_one(cmd, dir, shown, name, LOCK_EX, wait, quiet);
    if (l->shard_fd < 0) {
        cmd_lock_release(l);
        return EXIT_FATAL;
    }
    /* only now: a copy turned away must not leave its pid behind */
    write_pid(l->shard_fd);
    write_pid(l->main_fd);
    return 0;
}

void cmd_lock_release(struct cmd_lock *l)
{
    /* closing drops the lock; the files stay (see the top) */
    if (l->shard_fd >= 0)
        close(l->shard_fd);
    if (l->main_fd >= 0)
        close(l->main_fd);
    l->main_fd = l->shard_fd = -1;
}
