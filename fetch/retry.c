/* fetch/retry.c: which failures are worth another attempt, and when. */
#include "fetch/fetch_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

double fetch_retry_after_ms(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(value, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end)
            return -1;
        if (errno == ERANGE || s > 86400ULL * 365)
            s = 86400ULL * 365;   /* absurd, but a wait: the cap applies */
        return (double)s * 1000.0;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    return t > now ? difftime(t, now) * 1000.0 : 0.0;
}

double fetch_backoff_ms(unsigned attempt, const char *retry_after, time_t now,
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
    double ra = fetch_retry_after_ms(retry_after, now);
    if (ra > d)
        d = ra;
    return d > max_ms ? max_ms : d;
}
