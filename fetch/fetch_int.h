/*
 * fetch/fetch_int.h: shared by the files of fetch/, not part of the API.
 *
 * fetch.c holds what every driver shares: pulling and naming the next URL
 * (fx_pull), setting up one attempt on an easy handle (fx_begin), judging
 * its outcome (fx_end: rename, or retry later, or fail) and reporting it
 * (fx_finish). fetch_multi.c and fetch_threads.c only decide when these run.
 */
#ifndef IB_FETCH_INT_H
#define IB_FETCH_INT_H

#include "fetch/fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

/* A string -> string hash map (open addressing); keys and values owned. */
struct strmap {
    char **keys;
    char **vals;
    size_t len, cap;
};
void strmap_release(struct strmap *m);
const char *strmap_get(const struct strmap *m, const char *key, int *found);
/* 0 or IB_FETCH_ENOMEM; val may be NULL; replaces an existing value */
int strmap_put(struct strmap *m, const char *key, const char *val);
uint64_t fx_hash(const char *s, size_t n);   /* FNV-1a 64 */

/* The validator index: URL -> file, ETag, Last-Modified (fetch/index.c). */
struct fx_entry {
    char *file, *etag, *lastmod;   /* owned; etag/lastmod may be NULL */
};
struct fx_index {
    struct strmap map;   /* url -> packed "file\tetag\tlastmod" */
};
#define FX_INDEX_NAME ".imgbatch-fetch.tsv"
/* Missing file: empty index. Bad lines are skipped. ENOMEM only. */
int fx_index_load(struct fx_index *ix, const char *dir);
/* 1 with e filled (owned: fx_entry_release), 0 if absent, or ENOMEM */
int fx_index_get(const struct fx_index *ix, const char *url,
                 struct fx_entry *e);
void fx_entry_release(struct fx_entry *e);
int fx_index_put(struct fx_index *ix, const char *url, const char *file,
                 const char *etag, const char *lastmod);
/* Temp + rename; 0 or IB_FETCH_EIO with msg. */
int fx_index_save(const struct fx_index *ix, const char *dir, char *msg,
                  size_t msglen);
void fx_index_release(struct fx_index *ix);

/*
 * Wait before attempt number attempt + 1 (attempt >= 1 failed): base *
 * 2^(attempt-1), scaled by jitter in [0.5, 1.0], or the Retry-After value
 * when it is later; never above max_ms. retry_after may be NULL, seconds
 * ("120") or an HTTP date; now is the wall clock for the date form.
 */
double fx_backoff_ms(unsigned attempt, const char *retry_after, time_t now,
                     double jitter, unsigned base_ms, unsigned max_ms);
/* Retry-After in ms, or -1 if absent or unparsable; dates in the past: 0 */
double fx_retry_after_ms(const char *value, time_t now);
/* 1 if an attempt that ended so is worth repeating */
int fx_transient(CURLcode rc, long http);

/*
 * The breaker (fetch/host.c, used by fetch.c). Per host ("name:port"): the
 * connections to it that failed in a row (refused, unresolved, timed out
 * while connecting), none answered between them. A host trips ("open")
 * once that count reaches opts->host_breaker: its other items then fail
 * untried, and its items in flight are not retried; a connection to it
 * that works again (one already in flight) closes it.
 */
struct fx_host {
    char *key;          /* owned: "name:port", the name in lower case */
    unsigned fails;     /* connect failures in a row */
    int refused;        /* the last failure was ECONNREFUSED */
    int open;           /* tripped */
};
struct fx_hosts {
    struct fx_host **slot;   /* owned: open addressing, by key */
    size_t len, cap;
};
/* "name:port" of url (default port by scheme) in out; 0, or -1 if none */
int fx_host_key(const char *url, char *out, size_t outlen);
/* The record for key, added if new; NULL when out of memory. */
struct fx_host *fx_hosts_get(struct fx_hosts *t, const char *key);
void fx_hosts_release(struct fx_hosts *t);

/*
 * The --limit-rate bucket (fetch/rate.c), shared by every transfer of a
 * run: tokens (bytes) flow in at rate, up to a burst of 1/10 s. A write
 * takes its whole chunk once any token is left, so the level may dip
 * below zero; the debt is paid before the next write. MULTI: a write
 * finding none pauses its transfer (CURL_WRITEFUNC_PAUSE) and the loop
 * unpauses it once tokens are back (fx_rate_resume, fx_rate_wait_ms).
 * THREADS and SERIAL: the write sleeps until then (block).
 */
struct fx_xfer;
struct fx_rate {
    pthread_mutex_t lock;
    double per_ms;                /* bytes per millisecond; 0: no limit */
    double tokens, burst, last_ms;
    uint64_t seq;                 /* pauses so far: orders the paused */
    int block;
    const volatile int *stop;     /* a sleeping write gives up on a stop */
};
void fx_rate_init(struct fx_rate *t, uint64_t bytes_per_s, int block,
                  const volatile int *stop);
void fx_rate_release(struct fx_rate *t);
/* Takes n bytes' worth for x: 0, or 1 with x->paused set if x must pause
 * (MULTI). */
int fx_rate_take(struct fx_rate *t, struct fx_xfer *x, size_t n);
/* Unpauses the paused transfers of the running list once tokens are back. */
void fx_rate_resume(struct fx_rate *t, struct fx_xfer *running);
/* wait, or less: the ms until a paused transfer of running may go on. */
int fx_rate_wait_ms(struct fx_rate *t, const struct fx_xfer *running,
                    int wait);

/* One URL being fetched, across its attempts. */
struct fx_xfer {
    struct ib_fetch_item item;
    char *url, *file, *path;      /* owned; item points at them */
    char *tmp;                    /* owned: temp path while open */
    int fd;                       /* temp file, -1 when closed */
    CURL *easy;                   /* borrowed from the driver */
    struct curl_slist *hdrs;      /* owned: conditional request headers */
    struct fx_host *host;         /* borrowed from fx_run.hosts; NULL if
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
    char retry_after[64];         /* from the failed attempt's response */
    char errbuf[CURL_ERROR_SIZE];
    struct fx_rate *rate;         /* borrowed: fx_run.rate; NULL: no limit */
    uint64_t paused;              /* paused for the rate: its turn to go
                                     on (fx_rate.seq then); 0: not */
    struct fx_xfer *next;         /* driver lists */
};

struct fx_run {
    const struct ib_fetch_opts *o;
    unsigned concurrency, per_host, base_ms, max_ms;
    struct ib_fetch_names *names;
    struct fx_index index;
    struct fx_hosts hosts;
    unsigned trips;               /* hosts tripped so far */
    struct fx_rate rate;          /* --limit-rate, for all transfers */
    /* around the list, names, index, counters and callbacks */
    pthread_mutex_t lock;
    int eof, list_err, oom;
    mode_t file_mode;
    uint64_t ndone, bytes_done;
    unsigned in_flight, waiting;
    double last_progress;
    unsigned seed;
};

double fx_now_ms(void);
int fx_stopped(const struct fx_run *r);

/*
 * Next URL to transfer: 1 with *out set, 0 when the list is done. Rejected
 * lines (not a URL, duplicates) and, once stopped, every remaining line are
 * reported through fx_finish here and never returned.
 */
int fx_pull(struct fx_run *r, struct fx_xfer **out);
/* 1 with x failed untried if its host has tripped; called with r->lock. */
int fx_host_tripped(struct fx_xfer *x);
/* Sets up the next attempt on easy; 0, or -1 with the item failed. */
int fx_begin(struct fx_run *r, struct fx_xfer *x, CURL *easy);
enum fx_verdict { FX_FINAL, FX_RETRY };
/* After a transfer: finalises or schedules a retry (x->due_ms). */
enum fx_verdict fx_end(struct fx_run *r, struct fx_xfer *x, CURLcode rc);
/* Marks x failed (or skipped) with msg, removing any temp file. */
void fx_fail(struct fx_xfer *x, enum ib_fetch_status st, const char *msg);
/* Marks x interrupted by a stop: in flight, or waiting to retry (its msg
 * then says after what). */
void fx_interrupt(struct fx_xfer *x, int waiting);
/* Reports x through done, records it in the index, frees it. */
void fx_finish(struct fx_run *r, struct fx_xfer *x);
void fx_progress(struct fx_run *r, uint64_t partial, int force);
CURL *fx_easy_new(void);

int fx_run_multi(struct fx_run *r, char *msg, size_t msglen);
int fx_run_threads(struct fx_run *r, unsigned nthreads, char *msg,
                   size_t msglen);

#endif
