/*
 * cmd/run_dirs.c: the two folders imgbatch run writes, before anything is
 * written: OUT opened and locked (cmd/lock.c), the download folder made
 * without following a planted symlink and locked too, and both swept of
 * what a killed run left there. See cmd/run_int.h.
 */
#include "cmd/cmd.h"
#include "cmd/run_int.h"
#include "cmd/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME "run"

void run_dirs_init(struct run_dirs *d)
{
    memset(d, 0, sizeof *d);
    d->out_fd = d->dl_fd = -1;
    d->lock.main_fd = d->lock.shard_fd = -1;
    d->dl_lock = d->lock;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The start-up sweep of a --shard copy: which outputs it will own is known
 * only as their files land, so the names with temp files are noted now
 * (none removed: other shards may be writing theirs) and their temp files
 * removed just before this copy writes them (run_dirs_stale).
 */
static int note_stale(void *ctx, const char *name)
{
    struct run_dirs *d = ctx;
    if (d->nstale == d->capstale) {
        size_t cap = d->capstale ? 2 * d->capstale : 16;
        char **p = realloc(d->stale, cap * sizeof *p);
        if (!p)
            return 0;   /* left for an unsharded run to sweep */
        d->stale = p;
        d->capstale = cap;
    }
    d->stale[d->nstale++] = cmd_strdup(name);
    return 0;
}

/* The download folder, OUT being made, open (out_fd) and locked: the
 * default one is made inside OUT without following a symlink. Its fd, or
 * -1 with msg. */
static int make_dl_dir(const struct run_settings *s, int out_fd, char *msg,
                       size_t msglen)
{
    int fd;
    if (s->dl_below) {
        /* a symlink planted there must not send downloads elsewhere */
        fd = walk_open_below(out_fd, s->dl_dir + strlen(s->o.out) + 1);
        if (fd < 0 && errno == ELOOP) {
            snprintf(msg, msglen, "'%s' is a symlink, not followed",
                     s->dl_dir);
            return -1;
        }
    } else {
        fd = walk_make_dir(s->dl_dir) ? -1
             : open(s->dl_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0)
        snprintf(msg, msglen, "cannot create '%s': %s", s->dl_dir,
                 strerror(errno));
    return fd;
}

int run_dirs_open(struct run_dirs *d, const struct run_settings *s)
{
    char msg[256];

    /* OUT is locked before anything in it is swept or written */
    d->out_fd = cmd_out_open(NAME, s->o.out);
    if (d->out_fd < 0 ||
        cmd_lock_take(&d->lock, NAME, d->out_fd, s->o.out, &s->o.shard,
                      s->o.oo.wait_lock, s->o.quiet))
        return EXIT_FATAL;
    d->out = (struct ib_out){.root = d->out_fd, .shown = s->o.out,
                             .no_fsync = s->o.oo.no_fsync};
    d->dl_fd = make_dl_dir(s, d->out_fd, msg, sizeof msg);
    if (d->dl_fd < 0) {
        fprintf(stderr, "imgbatch run: %s\n", msg);
        return EXIT_FATAL;
    }
    /* the download folder is locked as OUT is, so that a fetch (or another
     * run) pointed at it cannot sweep or replace this run's downloads */
    struct stat so, sd;
    if (!fstat(d->out_fd, &so) && !fstat(d->dl_fd, &sd) &&
        (so.st_dev != sd.st_dev || so.st_ino != sd.st_ino) &&
        cmd_lock_take(&d->dl_lock, NAME, d->dl_fd, s->dl_dir, &s->o.shard,
                      s->o.oo.wait_lock, s->o.quiet))
        return EXIT_FATAL;
    /* a shard shares OUT with others that may be writing now */
    if (d->lock.exclusive) {
        ib_transform_sweep_temps(&d->out, NULL, NULL);
        run_sweep_temps(s->dl_dir);
    } else {
        ib_transform_sweep_temps(&d->out, note_stale, d);
        if (d->nstale > 1)
            qsort(d->stale, d->nstale, sizeof *d->stale, name_cmp);
    }
    return 0;
}

int run_dirs_stale(const struct run_dirs *d, const char *name)
{
    return d->nstale && bsearch(&name, d->stale, d->nstale, sizeof *d->stale,
                                name_cmp);
}

void run_dirs_release(struct run_dirs *d)
{
    for (size_t i = 0; i < d->nstale; i++)
        free(d->stale[i]);
    free(d->stale);
    cmd_lock_release(&d->dl_lock);
    cmd_lock_release(&d->lock);
    if (d->dl_fd >= 0)
        close(d->dl_fd);
    if (d->out_fd >= 0)
        close(d->out_fd);
    run_dirs_init(d);
}

/*
 * Removes what a killed run left in dir: dot-files named like the temp
 * files of an output (".NAME.tmp-XXXXXX") or a download
 * (".NAME.part.XXXXXX"). Only when no other process writes there.
 */
int run_sweep_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (name[0] != '.' || len < 14)
            continue;
        const char *tail = name + len - 12;   /* ".tmp-XXXXXX" + 1 */
        if (strncmp(tail + 1, ".tmp-", 5) && strncmp(tail, ".part.", 6))
            continue;
        char *p = cmd_path_join(dir, name);
        n += unlink(p) == 0;
        free(p);
    }
    if (d)
        closedir(d);
    return n;
}
