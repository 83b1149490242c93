/*
 * fetch/fetch.h: a list of http(s) URLs -> files in one folder.
 *
 * ib_fetch_run pulls URLs one at a time through opts->next (so a 100,000
 * line list is never held whole), gives each a safe unique file name (its
 * own, or the one the list gives it, which may hold folders), and
 * downloads it with at most opts->concurrency transfers in flight. A body
 * goes to "OUT/.<name>.part.XXXXXX" and is renamed to "OUT/<name>" only
 * when complete; on any failure the temp file is removed. As each item ends
 * (ok, unchanged, failed or skipped) opts->done gets it, right after the
 * rename, and the library forgets it: per-item memory stays bounded. What
 * grows with the list is one small record per URL: the names in use, and
 * the validator index OUT/.imgbatch-fetch.tsv (URL, file, ETag,
 * Last-Modified), read at the start and rewritten (temp + rename) at the end.
 * At the start, temp files of either kind left in OUT by a killed run are
 * removed: the caller makes sure no other run writes to OUT meanwhile.
 *
 * Three drivers share the naming, temp-file, retry and index code:
 *   IB_FETCH_MULTI    one thread, a curl multi handle (the default); also
 *                     a source for the caller's own poll loop (below)
 *   IB_FETCH_THREADS  concurrency threads, one blocking easy handle each
 *   IB_FETCH_SERIAL   one blocking transfer at a time, in the caller
 *
 * Retries (connect errors, timeouts, resets, short bodies, HTTP 408/429/5xx)
 * back off exponentially with jitter, honour Retry-After, and in MULTI mode
 * are scheduled by time, never slept. Other 4xx, a body over max_size, a
 * refused protocol or too many redirects fail at once. An attempt that got
 * no valid response over a reused keep-alive connection (one poisoned by an
 * earlier response's lying Content-Length, say) is repeated once, at once,
 * on a fresh connection, whatever the retries. A host that keeps failing
 * to connect is given up on (opts->host_breaker), so a dead host among
 * many URLs costs one retry schedule, not one per URL.
 *
 * The library never prints or exits; it calls curl_global_init never either
 * (the program does, once).
 */
#ifndef IB_FETCH_H
#define IB_FETCH_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

enum {
    IB_FETCH_OK = 0,
    IB_FETCH_EINVAL = -1,   /* bad options */
    IB_FETCH_ENOMEM = -2,
    IB_FETCH_EIO = -3,      /* out_dir unusable, list unreadable */
    IB_FETCH_ECURL = -4,    /* libcurl could not be set up */
};
const char *ib_fetch_strerror(int code);

enum ib_fetch_mode { IB_FETCH_MULTI, IB_FETCH_THREADS, IB_FETCH_SERIAL };

enum ib_fetch_status {
    IB_FETCH_DONE_OK,         /* body stored under file */
    IB_FETCH_DONE_UNCHANGED,  /* 304: the file from an earlier run is kept */
    IB_FETCH_DONE_FAILED,     /* see msg; nothing new under file */
    IB_FETCH_DONE_SKIPPED,    /* never started: stopped first, or duplicate */
    IB_FETCH_DONE_INTERRUPTED,  /* started, then cut short by opts->stop:
                                   not the source's failure; see msg */
};
const char *ib_fetch_status_name(enum ib_fetch_status s);  /* "ok"... */

#define IB_FETCH_MSGLEN 256

/* One URL's outcome; handed to done() and valid only during that call. */
struct ib_fetch_item {
    const char *url;        /* borrowed */
    const char *file;       /* borrowed: name inside out_dir (with
                               folders if the list named it so); NULL if
                               the URL was rejected before naming */
    const char *path;       /* borrowed: out_dir/file, or NULL */
    enum ib_fetch_status status;
    long http;              /* last HTTP status; 0 if none arrived */
    uint64_t bytes;         /* body bytes stored (0 unless ok) */
    double ms;              /* first attempt start to end, waits included */
    unsigned attempts;      /* transfers started; 0 if never started */
    char msg[IB_FETCH_MSGLEN];  /* why it failed or was skipped; "" if ok */
};

/*
 * The URL source: 1 with *url set (borrowed until the next call), 0 at the
 * end, -1 on a read error. *name is the output's name the list gave
 * (borrowed likewise; ib_fetch_name_check's rules, else the item fails),
 * or NULL to derive it from the URL. ib_fetch_list_next over an
 * ib_fetch_list is one.
 */
typedef int ib_fetch_next_fn(void *ctx, const char **url, const char **name);
/* MULTI and SERIAL: the calling thread; THREADS: a worker, under a lock. */
typedef void ib_fetch_done_fn(void *ctx, const struct ib_fetch_item *item);

struct ib_fetch_progress {
    uint64_t done;          /* items finished, any status */
    unsigned in_flight;     /* transfers running now */
    unsigned waiting;       /* items waiting to retry */
    uint64_t bytes;         /* body bytes received, in-flight ones included */
};
/* Called after each item and every ~200 ms (same thread rules as done). */
typedef void ib_fetch_progress_fn(void *ctx, const struct ib_fetch_progress *);

struct ib_fetch_opts {
    const char *out_dir;        /* borrowed; must exist */
    enum ib_fetch_mode mode;
    unsigned concurrency;       /* transfers in flight; 0: 32. Clamped to
                                   what RLIMIT_NOFILE allows */
    unsigned per_host;          /* connections per host; 0: 8 */
    unsigned retries;           /* extra attempts after the first */
    /*
     * A host whose connections failed this many times in a row (refused,
     * unresolved, connect timeouts; none answered between them) is given
     * up on: its other items fail untried ("not tried: host h:80 refused
     * 10 connections in a row"), those waiting to retry at once (MULTI;
     * the other drivers when their wait ends), and its transfers in
     * flight are not retried. A connection to it that works (one already
     * in flight) reopens it. 0: never.
     */
    unsigned host_breaker;
    double timeout_s;           /* per attempt; 0: none. Also sets connect
                                   timeout and a 1 B/s low-speed limit */
    uint64_t max_size;          /* body bytes; 0: no limit */
    int force;                  /* ignore validators: fetch unconditionally */
    int insecure;               /* do not verify TLS peers */
    int no_fsync;               /* 0: a body is fsync'ed before its rename,
                                   so no final name is ever empty after a
                                   power cut; the caller fsyncs out_dir
                                   once at the end for the renames */
    int shared_dir;             /* other copies (--shard) write out_dir
                                   too: their temp files are live, so the
                                   start-up sweep is skipped */
    unsigned retry_base_ms;     /* first backoff; 0: 500 */
    unsigned retry_max_ms;      /* cap on any wait, Retry-After too; 0: 60 s */
    ib_fetch_next_fn *next;
    void *next_ctx;
    ib_fetch_done_fn *done;     /* optional */
    ib_fetch_progress_fn *progress;  /* optional */
    void *ctx;                  /* for done and progress */
    /*
     * Set asynchronously (a signal handler) to stop: no new transfers,
     * in-flight ones are aborted (their temp files removed) and reported
     * as interrupted, as are items waiting to retry; the rest of the list
     * is still read and each URL reported as skipped. The index is written.
     */
    const volatile int *stop;
    /*
     * HTTP options, as curl's. Header values and credentials are the
     * caller's secrets: the library never puts them in an item's msg.
     */
    const char *const *headers; /* borrowed: nheaders "Name: value" lines */
    size_t nheaders;
    const char *user_agent;     /* NULL: "imgbatch-fetch" */
    int netrc;                  /* credentials from ~/.netrc when it has
                                   the host (CURL_NETRC_OPTIONAL) */
    const char *netrc_file;     /* that file instead of ~/.netrc */
    const char *proxy;          /* NULL: libcurl's http_proxy, https_proxy
                                   and no_proxy variables apply */
    const char *cookie_file;    /* cookies sent; never written back */
    /*
     * Body bytes per second for the whole run, all transfers together
     * (a token bucket, fetch/rate.c); 0: no limit.
     */
    uint64_t limit_rate;
};

/*
 * 0 once every URL has been reported through done (whatever their
 * statuses), or a negative code if the run could not start or the list
 * could not be read (msg says why; items already reported stand). In MULTI
 * mode it is the loop below, over ib_fetch_new, _fds, _step and _free.
 */
int ib_fetch_run(const struct ib_fetch_opts *opts, char *msg, size_t msglen);

/*
 * The MULTI driver as an event source, for a caller that owns the poll
 * loop (imgbatch run waits on fetch's sockets and its workers' pipes in
 * one poll(), as redis aeMain serves all its sources):
 *
 *     struct ib_fetch *f = ib_fetch_new(&opts, msg, sizeof msg);
 *     for (int rc = 1; rc > 0;) {
 *         int wait = -1;
 *         unsigned n = ib_fetch_fds(f, fds, max, &wait);   (n > max: grow)
 *         poll(fds, n, wait);
 *         rc = ib_fetch_step(f, fds, n, msg, sizeof msg);
 *     }
 *     ib_fetch_free(f);
 *
 * opts is copied; what it points to is borrowed until ib_fetch_free. The
 * callbacks (next, done, progress) run inside ib_fetch_step only, in the
 * caller's thread, and may not call ib_fetch_* on f.
 */
struct ib_fetch;

/* Checks opts (mode MULTI), sweeps and reads out_dir as ib_fetch_run
 * does; NULL with msg if the fetch cannot start. Nothing is transferred
 * before the first step. */
struct ib_fetch *ib_fetch_new(const struct ib_fetch_opts *opts, char *msg,
                              size_t msglen);

/*
 * What to wait for: writes up to max descriptors with their events and
 * returns how many there are (more than max: call again with room), and
 * lowers *timeout_ms (-1: no limit yet) to when a step is due anyway:
 * libcurl's timers, a retry falling due, and every 200 ms so that a stop
 * is seen and progress drawn. Once the fetch has ended: 0, no limit. The
 * set changes at every step: ask again before each wait.
 */
unsigned ib_fetch_fds(const struct ib_fetch *f, struct pollfd *fds,
                      unsigned max, int *timeout_ms);

/*
 * Does what is ready, never blocking: fds[0..nfds) are the descriptors
 * ib_fetch_fds gave, with revents as poll() set them (NULL, 0: timers
 * only). Starts transfers and due retries, ends and reports what finished,
 * honours a stop. 1 while URLs remain; 0 once every URL has been reported
 * and the index written; or a negative code as ib_fetch_run (msg says
 * why). Once it has returned 0 or a code, it returns that again.
 */
int ib_fetch_step(struct ib_fetch *f, const struct pollfd *fds,
                  unsigned nfds, char *msg, size_t msglen);

/*
 * Frees f. Before ib_fetch_step has returned 0 or a code, the rest is
 * abandoned: transfers are cut off and their temp files removed, nothing
 * more is reported and the index is not written. NULL does nothing.
 */
void ib_fetch_free(struct ib_fetch *f);

/*
 * A URL list over a stream: one URL per line, optionally followed by a
 * TAB and the output's name ("URL<TAB>NAME", as a CMS export writes it);
 * blanks and CR around the URL and around the name stripped; blank lines
 * and lines starting with '#' skipped; a UTF-8 byte-order mark at the
 * start of the stream skipped. Anything else is returned as is (a name
 * that is empty after the TAB as "", one with another TAB in it whole):
 * ib_fetch_run fails lines that are not http(s) URLs or whose name breaks
 * ib_fetch_name_check's rules. name may be NULL when the caller has no use
 * for names.
 */
struct ib_fetch_list;
struct ib_fetch_list *ib_fetch_list_new(void *stream);  /* a FILE *, borrowed */
void ib_fetch_list_free(struct ib_fetch_list *l);
int ib_fetch_list_next(void *list, const char **url,
                       const char **name);              /* ib_fetch_next_fn */

/*
 * The file name for url, made safe: from the last path segment,
 * percent-decoded; '/', '\\', control bytes and invalid UTF-8 become '_';
 * leading dots dropped; capped at IB_FETCH_NAMEMAX bytes (on a character
 * boundary, the extension kept); "index" if nothing is left. Writes at most
 * IB_FETCH_NAMEMAX + 1 bytes to out. Pure.
 */
#define IB_FETCH_NAMEMAX 160
void ib_fetch_name(const char *url, char out[IB_FETCH_NAMEMAX + 1]);

/*
 * 0 if name, given by the list for a URL, may name its output: a relative
 * path of at most IB_FETCH_NAMEMAX bytes of valid UTF-8, components
 * separated by single '/', none empty, none starting with '.' (so no "."
 * or "..", which would leave the folder), no control bytes, no '\'.
 * Folders in it are made below out_dir; a symlink there is never followed.
 * Else -1 with "bad name '...': why" in msg, on one line. Pure.
 */
int ib_fetch_name_check(const char *name, char *msg, size_t msglen);

/*
 * A read-only look at what a run would do, for --dry-run: dir's validator
 * index is loaded (missing: empty) and nothing is written or sent.
 * ib_fetch_peek_url: 0 if url would be fetched, *conditional set to 1
 * when the index holds validators for it (the request asks whether it
 * changed), else -1 with why a run would fail it before any transfer.
 */
struct ib_fetch_peek;
struct ib_fetch_peek *ib_fetch_peek_open(const char *dir);  /* NULL: ENOMEM */
int ib_fetch_peek_url(const struct ib_fetch_peek *p, const char *url,
                      int *conditional, char *msg, size_t msglen);
void ib_fetch_peek_free(struct ib_fetch_peek *p);

#endif
