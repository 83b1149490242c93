/*
 * fetch/fetch.c: ib_fetch_run, and one URL's life whatever the driver:
 * pulled and named (fetch_pull), an attempt set up (fetch_begin), its outcome
 * judged (fetch_end), reported (fetch_finish).
 *
 * A body is written to a mkstemp() name beside its final name, so the
 * rename is atomic and a killed run leaves only dot-files that no URL can
 * be named (names never start with '.').
 */
#include "fetch/fetch_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ib_fetch_strerror(int code)
{
    switch (code) {
    case IB_FETCH_OK:
        return "success";
    case IB_FETCH_EINVAL:
        return "invalid options";
    case IB_FETCH_ENOMEM:
        return "out of memory";
    case IB_FETCH_EIO:
        return "input/output error";
    case IB_FETCH_ECURL:
        return "libcurl error";
    }
    return "unknown error";
}

const char *ib_fetch_status_name(enum ib_fetch_status s)
{
    static const char *names[] = {"ok", "unchanged", "failed", "skipped",
                                  "interrupted"};
    return (unsigned)s < 5 ? names[s] : "unknown";
}

double fetch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int fetch_stopped(const struct ib_fetch *r)
{
    return r->o->stop && *r->o->stop;
}

static char *path_join(const char *dir, const char *pre, const char *name,
                       const char *post)
{
    size_t n = strlen(dir) + strlen(pre) + strlen(name) + strlen(post) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s%s", dir, pre, name, post);
    return p;
}

static void drop_temp(struct fetch_xfer *x)
{
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    if (x->tmp)
        unlink(x->tmp);
    free(x->tmp);
    x->tmp = NULL;
}

void fetch_fail(struct fetch_xfer *x, enum ib_fetch_status st, const char *msg)
{
    drop_temp(x);
    x->item.status = st;
    snprintf(x->item.msg, sizeof x->item.msg, "%s", msg);
}

void fetch_interrupt(struct fetch_xfer *x, int waiting)
{
    static const char pre[] = "interrupted while waiting to retry after: ";
    char last[IB_FETCH_MSGLEN];
    snprintf(last, sizeof last, "%s", x->item.msg);
    fetch_fail(x, IB_FETCH_DONE_INTERRUPTED, "interrupted");
    if (waiting)
        snprintf(x->item.msg, sizeof x->item.msg, "%s%.*s", pre,
                 (int)(sizeof x->item.msg - sizeof pre), last);
}

void fetch_xfer_free(struct fetch_xfer *x)
{
    drop_temp(x);
    curl_slist_free_all(x->hdrs);
    free(x->url);
    free(x->file);
    free(x->path);
    free(x->etag);
    free(x->lastmod);
    free(x);
}

void fetch_progress(struct ib_fetch *r, uint64_t partial, int force)
{
    double now = fetch_now_ms();
    if (!r->o->progress || (!force && now - r->last_progress < 200))
        return;
    r->last_progress = now;
    struct ib_fetch_progress p = {r->ndone, r->in_flight, r->waiting,
                                  r->bytes_done + partial};
    r->o->progress(r->o->ctx, &p);
}

void fetch_finish(struct ib_fetch *r, struct fetch_xfer *x)
{
    pthread_mutex_lock(&r->lock);
    struct ib_fetch_item *it = &x->item;
    if (it->attempts)
        it->ms = fetch_now_ms() - x->t0;
    if (it->status == IB_FETCH_DONE_OK || it->status == IB_FETCH_DONE_UNCHANGED)
        if (fetch_index_put(&r->index, x->url, x->file, x->etag, x->lastmod))
            r->oom = 1;
    r->ndone++;
    r->bytes_done += it->bytes;
    if (r->o->done)
        r->o->done(r->o->ctx, it);
    fetch_progress(r, 0, 0);
    pthread_mutex_unlock(&r->lock);
    fetch_xfer_free(x);
}

static struct fetch_xfer *xfer_new(const char *url)
{
    struct fetch_xfer *x = calloc(1, sizeof *x);
    if (!x || !(x->url = strdup(url))) {
        free(x);
        return NULL;
    }
    x->fd = -1;
    x->item.url = x->url;
    x->item.status = IB_FETCH_DONE_FAILED;
    return x;
}

/*
 * Called with r->lock held: names x (want: the list's name for it, or
 * NULL) or fails it. 0 ok, 1 reported.
 */
static int name_xfer(struct ib_fetch *r, struct fetch_xfer *x,
                     const char *want)
{
    char name[IB_FETCH_NAMEMAX + 12], m[IB_FETCH_MSGLEN];
    if (fetch_url_check(x->url, m, sizeof m) ||
        (want && ib_fetch_name_check(want, m, sizeof m))) {
        fetch_fail(x, IB_FETCH_DONE_FAILED, m);
        return 1;
    }
    int dup = fetch_names_assign(r->names, x->url, want, name);
    if (dup < 0 || !(x->file = strdup(name)) ||
        !(x->path = path_join(r->o->out_dir, "", name, ""))) {
        r->oom = 1;
        fetch_fail(x, IB_FETCH_DONE_FAILED, "out of memory");
        return 1;
    }
    x->item.file = x->file;
    x->item.path = x->path;
    if (dup) {
        fetch_fail(x, IB_FETCH_DONE_SKIPPED, "duplicate URL");
        return 1;
    }
    char key[320];
    if (!fetch_host_key(x->url, key, sizeof key) &&
        !(x->host = fetch_hosts_get(&r->hosts, key))) {
        r->oom = 1;
        fetch_fail(x, IB_FETCH_DONE_FAILED, "out of memory");
        return 1;
    }
    if (fetch_host_tripped(x))
        return 1;
    if (fetch_stopped(r)) {
        fetch_fail(x, IB_FETCH_DONE_SKIPPED, "interrupted before start");
        return 1;
    }
    return 0;
}

int fetch_host_tripped(struct fetch_xfer *x)
{
    const struct fetch_host *h = x->host;
    if (!h || !h->open)
        return 0;
    char m[IB_FETCH_MSGLEN];
    snprintf(m, sizeof m, "%s: host %s %s %u connections in a row",
             x->item.attempts ? "not retried" : "not tried", h->key,
             h->refused ? "refused" : "failed", h->fails);
    fetch_fail(x, IB_FETCH_DONE_FAILED, m);
    return 1;
}

int fetch_pull(struct ib_fetch *r, struct fetch_xfer **out)
{
    for (;;) {
        pthread_mutex_lock(&r->lock);
        const char *url = NULL, *name = NULL;
        int rc = r->eof ? 0 : r->o->next(r->o->next_ctx, &url, &name);
        struct fetch_xfer *x = rc > 0 ? xfer_new(url) : NULL;
        if (rc > 0 && !x)
            r->oom = 1;
        if (rc < 0)
            r->list_err = 1;
        if (!x || r->oom) {
            r->eof = 1;
            pthread_mutex_unlock(&r->lock);
            if (x)
                fetch_xfer_free(x);
            return 0;
        }
        int reported = name_xfer(r, x, name);
        pthread_mutex_unlock(&r->lock);
        if (!reported) {
            *out = x;
            return 1;
        }
        fetch_finish(r, x);
    }
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *p)
{
    struct fetch_xfer *x = p;
    size_t n = size * nmemb;
    if (x->code == 0)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->code);
    if (x->code < 200 || x->code > 299) {
        /* an error page: read it so the connection stays usable, within
         * reason */
        x->discarded += n;
        return x->discarded > (1u << 20) ? 0 : n;
    }
    if (x->max_size && x->got + n > x->max_size) {
        x->toobig = 1;
        return 0;
    }
    if (x->rate && fetch_rate_take(x->rate, x, n))
        return CURL_WRITEFUNC_PAUSE;   /* curl holds the chunk meanwhile */
    for (size_t off = 0; off < n;) {
        ssize_t w = write(x->fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->werr = w < 0 ? errno : ENOSPC;
            return 0;
        }
        off += (size_t)w;
    }
    x->got += n;
    return n;
}

static int xferinfo_cb(void *p, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return fetch_stopped(p);
}

CURL *fetch_easy_new(void)
{
    return curl_easy_init();
}

/* Validators for x from the index, if the file they describe still exists.
 * Called with r->lock held. */
static int conditional_headers(struct ib_fetch *r, struct fetch_xfer *x)
{
    struct fetch_entry e;
    struct stat st;
    int rc = fetch_index_get(&r->index, x->url, &e);
    if (rc <= 0)
        return rc;
    if (!strcmp(e.file, x->file) && (e.etag || e.lastmod) &&
        !stat(x->path, &st) && S_ISREG(st.st_mode)) {
        char h[IB_FETCH_MSGLEN * 2];
        struct curl_slist *l = NULL, *t;
        if (e.etag) {
            snprintf(h, sizeof h, "If-None-Match: %s", e.etag);
            l = curl_slist_append(l, h);
        }
        if (e.lastmod && (l || !e.etag)) {
            snprintf(h, sizeof h, "If-Modified-Since: %s", e.lastmod);
            if ((t = curl_slist_append(l, h)))
                l = t;
        }
        x->hdrs = l;
        x->conditional = l != NULL;
        x->etag = e.etag;
        x->lastmod = e.lastmod;
        e.etag = e.lastmod = NULL;
    }
    fetch_entry_release(&e);
    return 0;
}

/* The caller's headers after the validators, on x's first attempt. */
static int user_headers(const struct ib_fetch_opts *o, struct fetch_xfer *x)
{
    for (size_t i = 0; i < o->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(x->hdrs, o->headers[i]);
        if (!l)
            return -1;
        x->hdrs = l;
    }
    return 0;
}

static void setup_easy(struct ib_fetch *r, struct fetch_xfer *x, CURL *h)
{
    const struct ib_fetch_opts *o = r->o;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     o->user_agent ? o->user_agent : "imgbatch-fetch");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* no CURLOPT_ACCEPT_ENCODING: bodies are stored as sent, never
     * inflated, so a compression bomb stays the size it was on the wire */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->timeout_s > 0) {
        long ms = (long)(o->timeout_s * 1000.0);
        long stall = ms / 1000 < 30 ? ms / 1000 : 30;
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms < 30000 ? ms : 30000);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L);
    }
    if (o->max_size)
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)o->max_size);
    if (x->hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
    if (o->netrc || o->netrc_file)
        curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
    if (o->netrc_file)
        curl_easy_setopt(h, CURLOPT_NETRC_FILE, o->netrc_file);
    if (o->proxy)
        curl_easy_setopt(h, CURLOPT_PROXY, o->proxy);
    if (o->cookie_file)
        curl_easy_setopt(h, CURLOPT_COOKIEFILE, o->cookie_file);
    if (x->fresh)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
}

int fetch_begin(struct ib_fetch *r, struct fetch_xfer *x, CURL *easy)
{
    pthread_mutex_lock(&r->lock);
    int tripped = fetch_host_tripped(x);
    pthread_mutex_unlock(&r->lock);
    if (tripped)
        return -1;
    x->easy = easy;
    if (x->item.attempts++ == 0)
        x->t0 = fetch_now_ms();
    x->got = x->discarded = 0;
    x->code = 0;
    x->toobig = x->werr = 0;
    x->errbuf[0] = '\0';
    x->max_size = r->o->max_size;
    x->rate = r->o->limit_rate ? &r->rate : NULL;
    x->paused = 0;

    /* at the top of out_dir even for a name with folders, where the
     * start-up sweep finds it: "a/b.jpg" -> ".a_b.jpg.part.XXXXXX" */
    x->tmp = path_join(r->o->out_dir, ".", x->file, ".part.XXXXXX");
    for (char *p = x->tmp ? x->tmp + strlen(r->o->out_dir) + 2 : NULL;
         p && *p; p++)
        if (*p == '/')
            *p = '_';
    if (!x->tmp || (x->fd = mkstemp(x->tmp)) < 0) {
        char m[IB_FETCH_MSGLEN];
        snprintf(m, sizeof m, "cannot create a temp file in '%s': %s",
                 r->o->out_dir, x->tmp ? strerror(errno) : "out of memory");
        free(x->tmp);
        x->tmp = NULL;
        fetch_fail(x, IB_FETCH_DONE_FAILED, m);
        return -1;
    }
    fchmod(x->fd, r->file_mode);   /* mkstemp's 0600 is for temp files */

    if (x->item.attempts == 1 && !r->o->force) {
        pthread_mutex_lock(&r->lock);
        int rc = conditional_headers(r, x);
        pthread_mutex_unlock(&r->lock);
        if (rc < 0) {
            fetch_fail(x, IB_FETCH_DONE_FAILED, "out of memory");
            return -1;
        }
    }
    if (x->item.attempts == 1 && user_headers(r->o, x)) {
        fetch_fail(x, IB_FETCH_DONE_FAILED, "out of memory");
        return -1;
    }
    setup_easy(r, x, easy);
    return 0;
}

static void take_header(CURL *h, const char *name, char **dst)
{
    struct curl_header *hd;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return;
    char *v = strdup(hd->value);
    if (v) {
        free(*dst);
        *dst = v;
    }
}

/* The attempt's failure reason, and whether another attempt may help. */
static int judge_failure(struct fetch_xfer *x, CURLcode rc, long code,
                         char *m, size_t mlen)
{
    if (x->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(m, mlen, "body over the size limit of %llu bytes",
                 (unsigned long long)x->max_size);
        return 0;
    }
    if (x->werr) {
        snprintf(m, mlen, "cannot write '%s': %s", x->tmp, strerror(x->werr));
        return 0;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(m, mlen, "interrupted");
        return 0;
    }
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x->discarded)) {
        snprintf(m, mlen, "HTTP %ld", code);
        return fetch_transient(CURLE_OK, code);
    }
    /* libcurl 7.88 reports a response header line over 1 MB as plain
     * "Out of memory": say what it more likely is */
    if (rc == CURLE_OUT_OF_MEMORY && !x->errbuf[0]) {
        snprintf(m, mlen, "out of memory, or a response header too large");
        return 0;
    }
    snprintf(m, mlen, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    size_t n = strlen(m);
    if (n && m[n - 1] == '\n')
        m[n - 1] = '\0';
    return fetch_transient(rc, 0);
}

/*
 * 1 if the attempt got no valid response over a connection taken from the
 * cache. What it read may be the excess of an earlier response whose
 * Content-Length lied ("Received HTTP/0.9"), or the connection died while
 * idle: either way the connection, not this URL, is to blame.
 */
static int reused_and_broken(CURL *h, CURLcode rc, long code)
{
    long conns = 0, redirects = 0;
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:   /* also a redirect to ftp: code 3xx */
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        break;
    default:
        return 0;
    }
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
    /* fewer new connections than requests: one of them reused one */
    return code == 0 && conns <= redirects;
}

/*
 * 1 if the attempt could not connect to its URL's own host (a redirect's
 * target is another host's business): refused or unreachable (*refused
 * says which), unresolved, or timed out before a connection was made.
 */
static int connect_failed(CURL *h, CURLcode rc, int *refused)
{
    long redirects = 0, conns = 0, err = 0;
    curl_off_t connect_us = 0;
    *refused = 0;
    curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
    if (redirects)
        return 0;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return 1;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &err);
        *refused = err == ECONNREFUSED;
        return 1;
    case CURLE_OPERATION_TIMEDOUT:
        /* a new connection that never completed; a reused one has none */
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
        return conns > 0 && connect_us == 0;
    default:
        return 0;
    }
}

/*
 * Records how x's attempt went for its host: answered (cfail 0), or one
 * more connect failure in a row, which may trip the host. Returns whether
 * the host is now given up on.
 */
static int note_host(struct ib_fetch *r, struct fetch_xfer *x, int cfail,
                     int refused)
{
    struct fetch_host *h = x->host;
    if (!h)
        return 0;
    pthread_mutex_lock(&r->lock);
    if (!cfail) {
        h->fails = 0;
        h->open = 0;
    } else {
        h->fails++;
        h->refused = refused;
        if (!h->open && r->o->host_breaker &&
            h->fails >= r->o->host_breaker) {
            h->open = 1;
            r->trips++;
        }
    }
    int open = h->open;
    pthread_mutex_unlock(&r->lock);
    return open;
}

/*
 * Opens the folder that will hold file (a name that may have folders) in
 * dir, making the missing ones: never through a symlink, so no name the
 * list gives can lead out of dir. An fd, or -1 with msg; *base is then
 * file's last component.
 */
static int open_parent(const char *dir, const char *file, const char **base,
                       char *msg, size_t msglen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *p = file, *slash;
    char comp[IB_FETCH_NAMEMAX + 12];
    int upto = 0;   /* file[0..upto): the folder being made */

    while (fd >= 0 && (slash = strchr(p, '/'))) {
        upto = (int)(slash - file);
        snprintf(comp, sizeof comp, "%.*s", (int)(slash - p), p);
        if (mkdirat(fd, comp, 0777) && errno != EEXIST)
            break;
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                        O_CLOEXEC);
        int err = errno;
        close(fd);
        errno = err;
        fd = next;
        p = slash + 1;
    }
    if (fd >= 0 && !strchr(p, '/')) {
        *base = p;
        return fd;
    }
    int err = errno;
    if (fd >= 0)
        close(fd);
    snprintf(msg, msglen, "cannot make the folder '%.*s' in '%s': %s",
             upto, file, dir,
             err == ELOOP || err == ENOTDIR ? "a symlink or a file is there"
                                           : strerror(err));
    return -1;
}

/* Renames x's finished temp file to its name; 0, or -1 with msg. */
static int land(const char *dir, struct fetch_xfer *x, char *msg,
                size_t msglen)
{
    const char *base = x->file;
    int pfd = AT_FDCWD, rc;

    if (strchr(x->file, '/') &&
        (pfd = open_parent(dir, x->file, &base, msg, msglen)) < 0)
        return -1;
    rc = pfd == AT_FDCWD ? rename(x->tmp, x->path)
                         : renameat(AT_FDCWD, x->tmp, pfd, base);
    if (rc)
        snprintf(msg, msglen, "cannot rename to '%s': %s", x->path,
                 strerror(errno));
    if (pfd != AT_FDCWD)
        close(pfd);
    return rc ? -1 : 0;
}

enum fetch_verdict fetch_end(struct ib_fetch *r, struct fetch_xfer *x,
                             CURLcode rc)
{
    long code = 0;
    char m[IB_FETCH_MSGLEN];
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    x->item.http = code;
    int ok = rc == CURLE_OK && !x->werr && code >= 200 && code <= 299;
    /* durable before it is visible: no empty file under the final name
     * after a power cut */
    if (ok && x->fd >= 0 && !r->o->no_fsync && fsync(x->fd))
        x->werr = errno;
    if (x->fd >= 0 && close(x->fd) && rc == CURLE_OK && !x->werr)
        x->werr = errno;
    x->fd = -1;

    if (ok && !x->werr) {
        if (land(r->o->out_dir, x, m, sizeof m)) {
            fetch_fail(x, IB_FETCH_DONE_FAILED, m);
            return FETCH_FINAL;
        }
        free(x->tmp);
        x->tmp = NULL;
        free(x->etag);
        free(x->lastmod);
        x->etag = x->lastmod = NULL;
        take_header(x->easy, "ETag", &x->etag);
        take_header(x->easy, "Last-Modified", &x->lastmod);
        x->item.status = IB_FETCH_DONE_OK;
        x->item.bytes = x->got;
        x->item.msg[0] = '\0';
        note_host(r, x, 0, 0);
        return FETCH_FINAL;
    }
    if (rc == CURLE_OK && code == 304 && x->conditional) {
        drop_temp(x);
        take_header(x->easy, "ETag", &x->etag);
        take_header(x->easy, "Last-Modified", &x->lastmod);
        x->item.status = IB_FETCH_DONE_UNCHANGED;
        x->item.msg[0] = '\0';
        note_host(r, x, 0, 0);
        return FETCH_FINAL;
    }

    int again = judge_failure(x, rc, code, m, sizeof m);
    fetch_fail(x, IB_FETCH_DONE_FAILED, m);
    if (rc == CURLE_ABORTED_BY_CALLBACK && fetch_stopped(r)) {
        fetch_interrupt(x, 0);
        return FETCH_FINAL;
    }
    if (!x->fresh && reused_and_broken(x->easy, rc, code)) {
        /* once, at once, and not counted against --retries */
        x->fresh = 1;
        x->due_ms = fetch_now_ms();
        if (!fetch_stopped(r))
            return FETCH_RETRY;
        fetch_interrupt(x, 1);
        return FETCH_FINAL;
    }
    int last = !again || x->item.attempts - x->fresh > r->o->retries;
    int refused, cfail = connect_failed(x->easy, rc, &refused);
    if (note_host(r, x, cfail, refused) || last)
        return FETCH_FINAL;   /* given up on, or out of attempts */
    if (fetch_stopped(r)) {   /* it would have been retried */
        fetch_interrupt(x, 1);
        return FETCH_FINAL;
    }
    pthread_mutex_lock(&r->lock);
    double jitter = 0.5 + 0.5 * (rand_r(&r->seed) / (double)RAND_MAX);
    pthread_mutex_unlock(&r->lock);
    x->due_ms = fetch_now_ms() +
                fetch_backoff_ms(x->item.attempts,
                                 fetch_retry_after_ms(x->easy), jitter,
                                 r->base_ms, r->max_ms);
    return FETCH_RETRY;
}

/* Leaves room for a socket and a temp file per transfer, plus slack. */
static unsigned clamp_concurrency(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
        return want;
    rlim_t room = rl.rlim_cur > 64 ? (rl.rlim_cur - 64) / 3 : 1;
    return room < want ? (unsigned)(room ? room : 1) : want;
}

static int load_index(struct ib_fetch *r)
{
    if (fetch_index_load(&r->index, r->o->out_dir))
        return IB_FETCH_ENOMEM;
    const struct fetch_map *m = &r->index.map;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i] || !m->vals[i])
            continue;
        char file[IB_FETCH_NAMEMAX + 12];
        snprintf(file, sizeof file, "%.*s", (int)strcspn(m->vals[i], "\t"),
                 m->vals[i]);
        if (fetch_names_claimed(r->names, m->keys[i], file))
            return IB_FETCH_ENOMEM;
    }
    return 0;
}

/* 1 if s is six characters mkstemp could have written */
static int temp_suffix(const char *s)
{
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
           (s[n] >= '0' && s[n] <= '9'))
        n++;
    return n == 6 && s[n] == '\0';
}

/*
 * Removes what a killed run left in dir: the temp files of downloads
 * (".NAME.part.XXXXXX", NAME not empty) and of the index
 * (".imgbatch-fetch.tsv.XXXXXX"). Only fetch makes such names, and one
 * run at a time writes a download folder, so none of them is live.
 */
static void sweep_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t ilen = strlen(FETCH_INDEX_NAME);
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int part = n[0] == '.' && len >= 14 &&
                   !strncmp(n + len - 12, ".part.", 6);
        int index = len == ilen + 7 && !strncmp(n, FETCH_INDEX_NAME, ilen) &&
                    n[ilen] == '.';
        if ((part || index) && temp_suffix(n + len - 6)) {
            char *p = path_join(dir, "", n, "");
            if (p)
                unlink(p);
            free(p);
        }
    }
    if (d)
        closedir(d);
}

struct ib_fetch *fetch_new(const struct ib_fetch_opts *o, int *rc,
                           char *msg, size_t msglen)
{
    struct stat st;
    if (!o || !o->out_dir || !o->next) {
        snprintf(msg, msglen, "fetch: no output folder or URL source");
        *rc = IB_FETCH_EINVAL;
        return NULL;
    }
    errno = 0;
    if (stat(o->out_dir, &st) || !S_ISDIR(st.st_mode) ||
        access(o->out_dir, W_OK | X_OK)) {
        snprintf(msg, msglen, "cannot write to '%s': %s", o->out_dir,
                 errno ? strerror(errno) : "not a folder");
        *rc = IB_FETCH_EIO;
        return NULL;
    }
    struct ib_fetch *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(msg, msglen, "out of memory");
        *rc = IB_FETCH_ENOMEM;
        return NULL;
    }
    if (!o->shared_dir)
        sweep_temps(o->out_dir);
    r->opts = *o;
    r->o = &r->opts;
    r->concurrency = clamp_concurrency(o->concurrency ? o->concurrency : 32);
    r->per_host = o->per_host ? o->per_host : 8;
    r->base_ms = o->retry_base_ms ? o->retry_base_ms : 500;
    r->max_ms = o->retry_max_ms ? o->retry_max_ms : 60000;
    r->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    mode_t mask = umask(0);
    umask(mask);
    r->file_mode = 0666 & ~mask;
    r->timer_due = -1;
    pthread_mutex_init(&r->lock, NULL);
    fetch_rate_init(&r->rate, o->limit_rate, o->mode != IB_FETCH_MULTI,
                    o->stop);

    if (!(r->names = fetch_names_new()) || load_index(r)) {
        snprintf(msg, msglen, "out of memory");
        *rc = IB_FETCH_ENOMEM;
        fetch_release(r);
        return NULL;
    }
    return r;
}

int fetch_close(struct ib_fetch *r, int rc, char *msg, size_t msglen)
{
    fetch_progress(r, 0, 1);
    char imsg[IB_FETCH_MSGLEN];
    int irc = fetch_index_save(&r->index, r->o->out_dir, imsg, sizeof imsg);
    if (!rc && r->oom) {
        snprintf(msg, msglen, "out of memory");
        rc = IB_FETCH_ENOMEM;
    } else if (!rc && r->list_err) {
        snprintf(msg, msglen, "cannot read the URL list");
        rc = IB_FETCH_EIO;
    } else if (!rc && irc) {
        snprintf(msg, msglen, "%s", imsg);
        rc = irc;
    }
    return rc;
}

void fetch_release(struct ib_fetch *r)
{
    fetch_hosts_release(&r->hosts);
    fetch_index_release(&r->index);
    fetch_names_free(r->names);
    pthread_mutex_destroy(&r->lock);
    fetch_rate_release(&r->rate);
    free(r);
}

int ib_fetch_run(const struct ib_fetch_opts *o, char *msg, size_t msglen)
{
    int rc;
    if (o && o->mode == IB_FETCH_MULTI)
        return fetch_run_multi(o, msg, msglen);
    struct ib_fetch *r = fetch_new(o, &rc, msg, msglen);
    if (!r)
        return rc;
    rc = fetch_run_threads(r, o->mode == IB_FETCH_SERIAL ? 1 : r->concurrency,
                           msg, msglen);
    rc = fetch_close(r, rc, msg, msglen);
    ib_fetch_free(r);
    return rc;
}
