/*
 * cmd/paths.c: where a path points, for the checks that run before anything
 * is touched (an output folder that is an input, a report that would
 * overwrite an input or land inside OUT).
 */
#define _DEFAULT_SOURCE   /* realpath */
#include "cmd/cmd.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends component c (len n) to the absolute path p, handling "." and
 * "..". p has room for PATH_MAX bytes. */
static void push(char *p, const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.'))
        return;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        char *slash = strrchr(p, '/');
        if (slash)
            *(slash == p ? slash + 1 : slash) = '\0';
        return;
    }
    size_t len = strlen(p);
    if (len + n + 2 > PATH_MAX)
        return;
    if (len && p[len - 1] != '/')
        p[len++] = '/';
    memcpy(p + len, c, n);
    p[len + n] = '\0';
}

char *cmd_path_resolve(const char *path)
{
    char *p = malloc(PATH_MAX);
    if (!p)
        return NULL;
    if (path[0] == '/') {
        strcpy(p, "/");
    } else if (!getcwd(p, PATH_MAX)) {
        free(p);
        return NULL;
    }
    for (const char *s = path; *s;) {
        size_t n = strcspn(s, "/");
        push(p, s, n);
        s += n;
        s += *s == '/';
    }
    /* the longest prefix that exists, with its symlinks resolved; what
     * does not exist yet is appended as written */
    size_t len = strlen(p);
    for (size_t cut = len;;) {
        char save = p[cut];
        p[cut] = '\0';
        char *real = realpath(p, NULL);
        p[cut] = save;
        if (real) {
            char *out = malloc(PATH_MAX);
            if (out) {
                snprintf(out, PATH_MAX, "%s", real);
                for (const char *s = p + cut; *s;) {
                    size_t n = strcspn(s, "/");
                    push(out, s, n);
                    s += n;
                    s += *s == '/';
                }
            }
            free(real);
            free(p);
            return out;
        }
        while (cut > 0 && p[cut - 1] != '/')
            cut--;
        if (cut <= 1)
            break;
        cut--;   /* before that slash */
    }
    return p;
}

int cmd_path_within(const char *path, const char *dir)
{
    /* one file under two names (a hard link) is the same file */
    struct stat sa, sb;
    if (!stat(path, &sa) && !stat(dir, &sb) && sa.st_dev == sb.st_dev &&
        sa.st_ino == sb.st_ino)
        return 1;
    char *a = cmd_path_resolve(path), *b = cmd_path_resolve(dir);
    int in = 0;
    if (a && b) {
        size_t n = strlen(b);
        if (n == 1)   /* "/" holds everything */
            in = 1;
        else
            in = !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
    }
    free(a);
    free(b);
    return in;
}

char *cmd_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

char *cmd_path_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name), n = ld;
    char *p = malloc(ld + ln + 2);

    if (!p)
        abort();
    memcpy(p, dir, ld);
    if (n && p[n - 1] != '/')
        p[n++] = '/';
    memcpy(p + n, name, ln + 1);
    return p;
}
