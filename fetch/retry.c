/* fetch/retry.c: which failures are worth another attempt, and when. */
#include "fetch/fetch_int.h"

#include <math.h>

/*
 * Connect errors, timeouts and a connection lost mid-response (reset, short
 * body, nothing at all) are the network's fault and may pass; so may a
 * server that says so (408, 429, 5xx). Anything else would fail again.
 */
int fetch_transient(CURLcode rc, long http)
{
    switch (rc) {
    case CURLE_OK:
        return http == 408 || http == 429 || (http >= 500 && http <= 599);
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

double fetch_retry_after_ms(CURL *h)
{
    curl_off_t s = 0;
    /* 0 when absent, unreadable or "now": the same wait either way */
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &s) != CURLE_OK || s <= 0)
        return s < 0 ? 0.0 : -1.0;   /* libcurl 7.88: a past date is < 0 */
    if (s > 86400 * 365)
        s = 86400 * 365;   /* absurd, but a wait: the cap applies */
    return (double)s * 1000.0;
}

double fetch_backoff_ms(unsigned attempt, double retry_after_ms,
                        double jitter, unsigned base_ms, unsigned max_ms)
{
    if (attempt < 1)
        attempt = 1;
    if (jitter < 0.5)
        jitter = 0.5;
    if (jitter > 1.0)
        jitter = 1.0;
    /* 2^30 * base is past any cap; stop doubling before it overflows */
    double d = base_ms * ldexp(1.0, attempt - 1 > 30 ? 30 : (int)attempt - 1);
    d *= jitter;
    if (retry_after_ms > d)
        d = retry_after_ms;
    return d > max_ms ? max_ms : d;
}
