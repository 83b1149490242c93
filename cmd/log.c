/*
 * cmd/log.c: what an operator reads the morning after. The --log file of
 * fetch, transform and run: the human lines (item failures, the summary),
 * each after an ISO 8601 UTC timestamp, appended whatever -q says; and
 * URLs as shown anywhere (stderr, --log, --report): without the password
 * of "http://user:pass@host/", a secret like a header value.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* one command line per process, as stderr is one */
static int log_fd = -1;

int cmd_log_check(const char *cmd, const char *log, const char *report,
                  char *const *inputs, int ninputs, const char *out,
                  const char *out2)
{
    if (!log)
        return 0;
    if (report && cmd_path_within(log, report))
        return cmd_usage_error(cmd, "--log '%s' is the --report file", log);
    for (int i = 0; i < ninputs; i++)
        if (strcmp(inputs[i], "-") && cmd_path_within(log, inputs[i]))
            return cmd_usage_error(cmd, "--log '%s' would overwrite input "
                                   "'%s'", log, inputs[i]);
    const char *in = cmd_path_within(log, out) ? out
                     : out2 && cmd_path_within(log, out2) ? out2 : NULL;
    if (in)
        return cmd_usage_error(cmd, "--log '%s' is inside the output "
                               "folder '%s'", log, in);
    return 0;
}

int cmd_log_open(const char *cmd, const char *path)
{
    if (!path)
        return 0;
    /* O_APPEND: shards and nights add to one file, a line per write */
    log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (log_fd < 0) {
        fprintf(stderr, "imgbatch %s: cannot open log '%s': %s\n", cmd,
                path, strerror(errno));
        return -1;
    }
    return 0;
}

void cmd_log_line(const char *line, size_t n)
{
    if (log_fd < 0)
        return;
    while (n && line[n - 1] == '\n')
        n--;
    char buf[2200];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    k += (size_t)snprintf(buf + k, sizeof buf - k, ".%03ldZ ",
                          ts.tv_nsec / 1000000);
    if (n > sizeof buf - k - 1)
        n = sizeof buf - k - 1;
    memcpy(buf + k, line, n);
    buf[k + n] = '\n';
    /* one write: lines of concurrent shards never interleave */
    if (write(log_fd, buf, k + n + 1) < 0)
        return;   /* a full disk must not stop the batch */
}

void cmd_human(int quiet, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (!quiet)
        fwrite(line, 1, len, stderr);
    cmd_log_line(line, len);
}

int cmd_log_close(const char *cmd)
{
    int rc = 0;
    if (log_fd >= 0 && close(log_fd)) {
        fprintf(stderr, "imgbatch %s: cannot write log: %s\n", cmd,
                strerror(errno));
        rc = -1;
    }
    log_fd = -1;
    return rc;
}

const char *cmd_url_shown(const char *url, char **owned)
{
    *owned = NULL;
    const char *p = strstr(url, "://");
    if (!p)
        return url;
    const char *host = p + 3;
    size_t auth = strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *q = host; q < host + auth; q++)
        if (*q == '@')
            at = q;   /* the last one: a password may hold '@' */
    if (!at)
        return url;
    size_t pre = (size_t)(host - url), rest = strlen(at);
    char *s = malloc(pre + 3 + rest + 1);
    if (!s)
        return "(a URL with credentials)";
    memcpy(s, url, pre);
    memcpy(s + pre, "***", 3);
    memcpy(s + pre + 3, at, rest + 1);
    *owned = s;
    return s;
}
