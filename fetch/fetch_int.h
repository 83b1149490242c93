/*
 * fetch/fetch_int.h: shared by the files of fetch/, not part of the API.
 *
 * Naming: the public API is ib_fetch_* (and IB_FETCH_*) and lives in
 * fetch/fetch.h alone; what one file of fetch/ offers another is fetch_*
 * (FETCH_*) and is declared here; anything used by one file only is
 * static and unprefixed. Unit tests may include this header.
 *
 * fetch.c holds what every driver shares: setting up and ending a run
 * (fetch_new, fetch_close), pulling and naming the next URL (fetch_pull),
 * setting up one attempt on an easy handle (fetch_begin), judging its
 * outcome (fetch_end: rename, or retry later, or fail) and reporting it
 * (fetch_finish). fetch_multi.c and fetch_threads.c only decide when these
 * run.
 */
#ifndef IB_FETCH_INT_H
#define IB_FETCH_INT_H

#include "fetch/fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

/*
 * 0 if libcurl parses url as "http://" or "https://" (any case) + a host,
 * with no blanks or control characters; else -1 with why in msg ("not an
 * http(s) URL", "no host in the URL", "bad URL: <curl's reason>").
 */
int fetch_url_check(const char *url, char *msg, size_t msglen);
int fetch_url_ok(const char *url);   /* 1 if fetch_url_check passes */

/* 1 if name is one ib_fetch_name could return (or its hashed variant). */
int fetch_name_safe(const char *name);
/* 1 if name passes ib_fetch_name_check (or is its hashed variant). */
int fetch_relname_safe(const char *name);

/*
 * Unique names for one run. Each URL gets ib_fetch_name(url) unless that is
 * taken in this run or belongs to another URL in the index; then a hash of
 * the URL goes before the extension ("a.jpg" -> "a-1f3e9c0b.jpg"). A URL
 * the index knows keeps its recorded name. Same inputs in the same order,
 * same names.
 */
struct fetch_names;
struct fetch_names *fetch_names_new(void);
void fetch_names_free(struct fetch_names *n);
/* Records that name belongs to url from an earlier run; 0 or ENOMEM. */
int fetch_names_claimed(struct fetch_names *n, const char *url,
                        const char *name);
/*
 * The name for url in this run: 0 with out set, 1 if url already had a
 * name in this run (a duplicate line; out set to it), or IB_FETCH_ENOMEM.
 * want (NULL: none) is the name the list gave, already checked: it is
 * used instead of ib_fetch_name(url) and of the index's name, and hashed
 * as a derived name is when taken.
 */
int fetch_names_assign(struct fetch_names *n, const char *url,
                       const char *want, char out[IB_FETCH_NAMEMAX + 12]);

/* A string -> string hash map (open addressing); keys and values owned. */
struct fetch_map {
    char **keys;
    char **vals;
    size_t len, cap;
};
void fetch_map_release(struct fetch_map *m);
const char *fetch_map_get(const struct fetch_map *m, const char *key,
                          int *found);
/* 0 or IB_FETCH_ENOMEM; val may be NULL; replaces an existing value */
int fetch_map_put(struct fetch_map *m, const char *key, const char *val);
uint64_t fetch_hash(const char *s, size_t n);   /* FNV-1a 64 */

/* The validator index: URL -> file, ETag, Last-Modified (fetch/index.c). */
struct fetch_entry {
    char *file, *etag, *lastmod;   /* owned; etag/lastmod may be NULL */
};
struct fetch_index {
    struct fetch_map map;   /* url -> packed "file\tetag\tlastmod" */
};
#define FETCH_INDEX_NAME ".imgbatch-fetch.tsv"
/* Missing file: empty index. Bad lines are skipped. ENOMEM only. */
int fetch_index_load(struct fetch_index *ix, const char *dir);
/* 1 with e filled (owned: fetch_entry_release), 0 if absent, or ENOMEM */
int fetch_index_get(const struct fetch_index *ix, const char *url,
                    struct fetch_entry *e);
void fetch_entry_release(struct fetch_entry *e);
int fetch_index_put(struct fetch_index *ix, const char *url, const char *file,
                    const char *etag, const char *lastmod);
/* Temp + rename; 0 or IB_FETCH_EIO with msg. */
int fetch_index_save(const struct fetch_index *ix, const char *dir, char *msg,
                     size_t msglen);
void fetch_index_release(struct fetch_index *ix);

/*
 * Wait before attempt number attempt + 1 (attempt >= 1 failed): base *
 * 2^(attempt-1), scaled by jitter in [0.5, 1.0], or retry_after_ms when
 * it is later; never above max_ms. retry_after_ms < 0: none.
 */
double fetch_backoff_ms(unsigned attempt, double retry_after_ms,
                        double jitter, unsigned base_ms, unsigned max_ms);
/*
 * The Retry-After of the last response on h, in ms, as libcurl parsed it
 * (CURLINFO_RETRY_AFTER: seconds, or an HTTP date made seconds from now;
 * a date in the past is 0); -1 if it has none curl could read.
 */
double fetch_retry_after_ms(CURL *h);
/* 1 if an attempt that ended so is worth repeating */
int fetch_transient(CURLcode rc, long http);

/*
 * The breaker (fetch/host.c, used by fetch.c). Per host ("name:port"): the
 * connections to it that failed in a row (refused, unresolved, timed out
 * while connecting), none answered between them. A host trips ("open")
 * once that count reaches opts->host_breaker: its other items then fail
 * untried, and its items in flight are not retried; a connection to it
 * that works again (one already in flight) closes it.
 */
struct fetch_host {
    char *key;          /* owned: "name:port", the name in lower case */
    unsigned fails;     /* connect failures in a row */
    int refused;        /* the last failure was ECONNREFUSED */
    int open;           /* tripped */
};
struct fetch_hosts {
    struct fetch_host **slot;   /* owned: open addressing, by key */
    size_t len, cap;
};
/* "name:port" of url (default port by scheme) in out; 0, or -1 if none */
int fetch_host_key(const char *url, char *out, size_t outlen);
/* The record for key, added if new; NULL when out of memory. */
struct fetch_host *fetch_hosts_get(struct fetch_hosts *t, const char *key);
void fetch_hosts_release(struct fetch_hosts *t);

/*
 * The --limit-rate bucket (fetch/rate.c), shared by every transfer of a
 * run: tokens (bytes) flow in at rate, up to a burst of 1/10 s. A write
 * takes its whole chunk once any token is left, so the level may dip
 * below zero; the debt is paid before the next write. MULTI: a write
 * finding none pauses its transfer (CURL_WRITEFUNC_PAUSE) and the loop
 * unpauses it once tokens are back (fetch_rate_resume, fetch_rate_wait_ms).
 * THREADS and SERIAL: the write sleeps until then (block).
 */
struct fetch_xfer;
struct fetch_rate {
    pthread_mutex_t lock;
    double per_ms;                /* bytes per millisecond; 0: no limit */
    double tokens, burst, last_ms;
    uint64_t seq;                 /* pauses so far: orders the paused */
    int block;
    const volatile int *stop;     /* a sleeping write gives up on a stop */
};
void fetch_rate_init(struct fetch_rate *t, uint64_t bytes_per_s, int block,
                  const volatile int *stop);
void fetch_rate_release(struct fetch_rate *t);
/* Takes n bytes' worth for x: 0, or 1 with x->paused set if x must pause
 * (MULTI). */
int fetch_rate_take(struct fetch_rate *t, struct fetch_xfer *x, size_t n);
/* Unpauses the paused transfers of the running list once tokens are back. */
void fetch_rate_resume(struct fetch_rate *t, struct fetch_xfer *running);
/* wait, or less: the ms until a paused transfer of running may go on. */
int fetch_rate_wait_ms(struct fetch_rate *t, const struct fetch_xfer *running,
                    int wait);

/* One URL being fetched, across its attempts. */
struct fetch_xfer {
    struct ib_fetch_item item;
    char *url, *file, *path;      /* owned; item points at them */
    char *tmp;                    /* owned: temp path while open */
    int fd;                       /* temp file, -1 when closed */
    CURL *easy;                   /* borrowed from the driver */
    struct curl_slist *hdrs;      /* owned: conditional request headers */
    struct fetch_host *host;      /* borrowed from ib_fetch.hosts; NULL if
                                     the URL has no host curl can parse */
    int conditional;              /* validators were sent */
    int fresh;                    /* this attempt and the next: a new
                                     connection, not one from the cache */
    uint64_t got;                 /* body bytes written this attempt */
    uint64_t max_size;            /* opts->max_size, for write_cb */
    long code;                    /* HTTP status seen by write_cb */
    uint64_t discarded;           /* error-page bytes thrown away */
    int toobig, werr;             /* write_cb refused: too big, errno */
    char *etag, *lastmod;         /* owned: validators to record */
    double t0, due_ms;            /* first start; when to retry (MULTI) */
    char errbuf[CURL_ERROR_SIZE];
    struct fetch_rate *rate;         /* borrowed: ib_fetch.rate; NULL: no limit */
    uint64_t paused;              /* paused for the rate: its turn to go
                                     on (fetch_rate.seq then); 0: not */
    struct fetch_xfer *next;      /* driver lists */
};

/* One run, whatever the driver; the MULTI part is fetch_multi.c's. */
struct ib_fetch {
    struct ib_fetch_opts opts;    /* the caller's, copied */
    const struct ib_fetch_opts *o;  /* &opts */
    unsigned concurrency, per_host, base_ms, max_ms;
    struct fetch_names *names;    /* owned */
    struct fetch_index index;
    struct fetch_hosts hosts;
    unsigned trips;               /* hosts tripped so far */
    struct fetch_rate rate;          /* --limit-rate, for all transfers */
    /* around the list, names, index, counters and callbacks */
    pthread_mutex_t lock;
    int eof, list_err, oom;
    mode_t file_mode;
    uint64_t ndone, bytes_done;
    unsigned in_flight, waiting;
    double last_progress;
    unsigned seed;

    /* MULTI */
    CURLM *multi;                 /* owned */
    CURL **spare;                 /* owned: idle easy handles, reused */
    unsigned nspare;
    struct fetch_xfer *running;   /* in flight, unordered */
    struct fetch_xfer *waitq;     /* waiting to retry, by due_ms */
    unsigned trips_seen;          /* trips when waitq was last checked */
    struct pollfd *socks;         /* owned: curl's sockets, what each
                                     waits for (events 0: nothing now) */
    unsigned nsocks, capsocks;
    int socks_oom;                /* a socket could not be recorded */
    double timer_due;             /* curl's timer (fetch_now_ms); < 0:
                                     none */
    int ended;                    /* step returns end_rc from now on */
    int end_rc;
    char end_msg[IB_FETCH_MSGLEN];
};

/*
 * A run set up as every driver needs it: opts checked, out_dir swept
 * (unless shared_dir) and its index read. NULL with *rc and msg if it
 * cannot start. Released by ib_fetch_free.
 */
struct ib_fetch *fetch_new(const struct ib_fetch_opts *o, int *rc,
                           char *msg, size_t msglen);
/* After the driver's rc: the last progress, the index written; the run's
 * final code, with msg when it is not 0. */
int fetch_close(struct ib_fetch *r, int rc, char *msg, size_t msglen);
/* Frees what fetch_new set up, and r. */
void fetch_release(struct ib_fetch *r);

double fetch_now_ms(void);
int fetch_stopped(const struct ib_fetch *r);

/*
 * Next URL to transfer: 1 with *out set, 0 when the list is done. Rejected
 * lines (not a URL, duplicates) and, once stopped, every remaining line are
 * reported through fetch_finish here and never returned.
 */
int fetch_pull(struct ib_fetch *r, struct fetch_xfer **out);
/* 1 with x failed untried if its host has tripped; called with r->lock. */
int fetch_host_tripped(struct fetch_xfer *x);
/* Sets up the next attempt on easy; 0, or -1 with the item failed. */
int fetch_begin(struct ib_fetch *r, struct fetch_xfer *x, CURL *easy);
enum fetch_verdict { FETCH_FINAL, FETCH_RETRY };
/* After a transfer: finalises or schedules a retry (x->due_ms). */
enum fetch_verdict fetch_end(struct ib_fetch *r, struct fetch_xfer *x,
                             CURLcode rc);
/* Marks x failed (or skipped) with msg, removing any temp file. */
void fetch_fail(struct fetch_xfer *x, enum ib_fetch_status st, const char *msg);
/* Marks x interrupted by a stop: in flight, or waiting to retry (its msg
 * then says after what). */
void fetch_interrupt(struct fetch_xfer *x, int waiting);
/* Reports x through done, records it in the index, frees it. */
void fetch_finish(struct ib_fetch *r, struct fetch_xfer *x);
/* Frees x unreported, removing any temp file. */
void fetch_xfer_free(struct fetch_xfer *x);
void fetch_progress(struct ib_fetch *r, uint64_t partial, int force);
CURL *fetch_easy_new(void);

/* ib_fetch_run's drivers: MULTI over the stepping face, then the others. */
int fetch_run_multi(const struct ib_fetch_opts *o, char *msg, size_t msglen);
int fetch_run_threads(struct ib_fetch *r, unsigned nthreads, char *msg,
                      size_t msglen);

#endif
