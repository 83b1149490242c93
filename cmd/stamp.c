/*
 * cmd/stamp.c: is an output up to date with its input?
 *
 * An output carries its input's modification time (to the nanosecond) as
 * its own. It is fresh when it exists and the times are equal; a changed
 * input (any write moves its mtime) makes it stale. The stamp is set after
 * the rename, so a kill between the two leaves a stale output: the rerun
 * redoes it, which is the safe direction. No index file to keep in step.
 */
#include "cmd/cmd.h"

#include <fcntl.h>
#include <sys/stat.h>

int cmd_output_fresh(const char *in, const char *out)
{
    struct stat si, so;
    if (stat(in, &si) || stat(out, &so))
        return 0;
    return si.st_mtim.tv_sec == so.st_mtim.tv_sec &&
           si.st_mtim.tv_nsec == so.st_mtim.tv_nsec;
}

int cmd_output_stamp(const char *in, const char *out)
{
    struct stat si;
    if (stat(in, &si))
        return -1;
    struct timespec ts[2] = {si.st_mtim, si.st_mtim};
    return utimensat(AT_FDCWD, out, ts, 0);
}
