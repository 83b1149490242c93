/*
 * tests/unit/test_fetch.c: the pure parts of fetch/: naming, unique names,
 * the list reader, retry policy and backoff, the index file; and the
 * stepping face driven by a poll() loop here, against loopback sockets
 * this test opens (one that refuses, one that never answers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fetch/fetch_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Every name the namer returns must be one path component, safe to create
 * inside the output folder. */
static void assert_safe(const char *name)
{
    size_t n = strlen(name);
    assert_true(n > 0);
    assert_true(n <= IB_FETCH_NAMEMAX);
    assert_int_not_equal(name[0], '.');
    assert_null(strchr(name, '/'));
    assert_null(strchr(name, '\\'));
    for (size_t i = 0; i < n; i++)
        assert_true((unsigned char)name[i] >= 0x20 && name[i] != 0x7f);
    assert_string_not_equal(name, "..");
    assert_true(fetch_name_safe(name));
}

static void expect_name(const char *url, const char *want)
{
    char got[IB_FETCH_NAMEMAX + 1];
    ib_fetch_name(url, got);
    assert_safe(got);
    assert_string_equal(got, want);
}

static void test_name_plain(void **state)
{
    (void)state;
    expect_name("http://h/a/b/cat.jpg", "cat.jpg");
    expect_name("https://h:8080/x.png?size=10#frag", "x.png");
    expect_name("HTTP://h/img%20one.jpg", "img one.jpg");
    expect_name("http://h/dir/", "index");
    expect_name("http://h", "index");
    expect_name("http://h/?q=/etc/passwd", "index");
}

static void test_name_traversal(void **state)
{
    (void)state;
    expect_name("http://h/../../etc/passwd", "passwd");
    expect_name("http://h/a/..", "index");
    expect_name("http://h/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "_.._etc_passwd");
    expect_name("http://h/%2E%2E", "index");
    expect_name("http://h/..%2f..%2fx", "_.._x");
    expect_name("http://h/a%5c..%5cb", "a_.._b");
    expect_name("http://h/.hidden", "hidden");
    expect_name("http://h/...", "index");
}

static void test_name_control_bytes(void **state)
{
    (void)state;
    expect_name("http://h/a%00b.jpg", "a_b.jpg");
    expect_name("http://h/a%0a%0db%7f.jpg", "a__b_.jpg");
    expect_name("http://h/%00", "_");
    expect_name("http://h/%zz.jpg", "%zz.jpg");   /* not an escape: kept */
    expect_name("http://h/%2", "%2");
}

static void test_name_unicode(void **state)
{
    (void)state;
    expect_name("http://h/caf%C3%A9.jpg", "caf\xc3\xa9.jpg");
    expect_name("http://h/%E2%82%AC", "\xe2\x82\xac");
    /* invalid UTF-8: a lone continuation, an overlong '/', a surrogate */
    expect_name("http://h/a%80b", "a_b");
    expect_name("http://h/%C0%AF", "__");
    expect_name("http://h/%ED%A0%80x", "___x");
}

static void test_name_long(void **state)
{
    (void)state;
    char url[2048] = "http://h/";
    memset(url + 9, 'a', 1000);
    strcpy(url + 1009, ".jpeg");
    char got[IB_FETCH_NAMEMAX + 1];
    ib_fetch_name(url, got);
    assert_safe(got);
    assert_int_equal(strlen(got), IB_FETCH_NAMEMAX);
    assert_string_equal(got + IB_FETCH_NAMEMAX - 5, ".jpeg");

    /* a cut must not split a multi-byte character */
    strcpy(url, "http://h/");
    for (int i = 0; i < 200; i++)
        strcat(url, "%C3%A9");
    ib_fetch_name(url, got);
    assert_safe(got);
    assert_true(strlen(got) <= IB_FETCH_NAMEMAX);
    assert_int_equal(strlen(got) % 2, 0);
}

static void test_name_fuzz_always_safe(void **state)
{
    (void)state;
    /* every byte pattern the namer can meet: it must stay safe */
    const char *parts[] = {"%2e", ".", "/", "%2f", "%00", "%ff", "%c3",
                           "a",   "%",  "%5c", "\\",  " ",  "%20", "?"};
    unsigned seed = 12345;
    for (int t = 0; t < 20000; t++) {
        char url[512] = "http://h/";
        int n = 1 + rand_r(&seed) % 12;
        for (int i = 0; i < n; i++)
            strcat(url, parts[rand_r(&seed) % 14]);
        char got[IB_FETCH_NAMEMAX + 1];
        ib_fetch_name(url, got);
        assert_safe(got);
    }
}

static void test_names_collisions(void **state)
{
    (void)state;
    const char *urls[] = {"http://a/x/cat.jpg", "http://b/y/cat.jpg",
                          "http://c/cat.jpg?v=2", "http://a/dog.png"};
    char first[4][IB_FETCH_NAMEMAX + 12], again[4][IB_FETCH_NAMEMAX + 12];
    struct fetch_names *n = fetch_names_new();
    for (int i = 0; i < 4; i++)
        assert_int_equal(fetch_names_assign(n, urls[i], NULL, first[i]), 0);
    fetch_names_free(n);

    assert_string_equal(first[0], "cat.jpg");
    assert_string_equal(first[3], "dog.png");
    for (int i = 0; i < 4; i++) {
        assert_safe(first[i]);
        for (int k = 0; k < i; k++)
            assert_string_not_equal(first[i], first[k]);
    }
    /* "cat-<8 hex>.jpg" */
    assert_int_equal(strlen(first[1]), strlen("cat-12345678.jpg"));
    assert_memory_equal(first[1], "cat-", 4);

    n = fetch_names_new();
    for (int i = 0; i < 4; i++)
        fetch_names_assign(n, urls[i], NULL, again[i]);
    for (int i = 0; i < 4; i++)
        assert_string_equal(first[i], again[i]);

    /* the same URL twice is a duplicate, with the same name */
    char dup[IB_FETCH_NAMEMAX + 12];
    assert_int_equal(fetch_names_assign(n, urls[1], NULL, dup), 1);
    assert_string_equal(dup, first[1]);
    fetch_names_free(n);
}

static void test_names_index_claims(void **state)
{
    (void)state;
    char got[IB_FETCH_NAMEMAX + 12];
    struct fetch_names *n = fetch_names_new();
    /* cat.jpg on disk came from another URL: a newcomer must not take it */
    fetch_names_claimed(n, "http://old/cat.jpg", "cat.jpg");
    fetch_names_claimed(n, "http://b/keep.jpg", "keep-0badc0de.jpg");
    assert_int_equal(fetch_names_assign(n, "http://new/cat.jpg", NULL, got), 0);
    assert_string_not_equal(got, "cat.jpg");
    assert_memory_equal(got, "cat-", 4);
    /* the owner keeps it */
    assert_int_equal(fetch_names_assign(n, "http://old/cat.jpg", NULL, got), 0);
    assert_string_equal(got, "cat.jpg");
    /* a URL the index knows keeps its recorded name */
    assert_int_equal(fetch_names_assign(n, "http://b/keep.jpg", NULL, got), 0);
    assert_string_equal(got, "keep-0badc0de.jpg");
    fetch_names_free(n);
}

static void test_names_hash_chain(void **state)
{
    (void)state;
    /* a URL whose own name is another's hashed name still gets a free one */
    char a[IB_FETCH_NAMEMAX + 12], b[IB_FETCH_NAMEMAX + 12];
    char c[IB_FETCH_NAMEMAX + 12], url[256];
    struct fetch_names *n = fetch_names_new();
    fetch_names_assign(n, "http://1/p.jpg", NULL, a);
    fetch_names_assign(n, "http://2/p.jpg", NULL, b);
    snprintf(url, sizeof url, "http://3/%s", b);
    fetch_names_assign(n, url, NULL, c);
    fetch_names_free(n);
    assert_string_not_equal(c, a);
    assert_string_not_equal(c, b);
    assert_safe(c);
}

static void test_url_ok(void **state)
{
    (void)state;
    assert_true(fetch_url_ok("http://h/x"));
    assert_true(fetch_url_ok("HTTPS://h"));
    assert_false(fetch_url_ok("ftp://h/x"));
    assert_false(fetch_url_ok("file:///etc/passwd"));
    assert_false(fetch_url_ok("gopher://h/"));
    assert_false(fetch_url_ok("http://"));
    assert_false(fetch_url_ok("http:///x"));
    assert_false(fetch_url_ok("http://h/a b"));
    assert_false(fetch_url_ok("http://h/a\tb"));
    assert_false(fetch_url_ok("not a url"));
    assert_false(fetch_url_ok(""));
    assert_false(fetch_url_ok("http:/h/x"));   /* curl would take h */
    assert_true(fetch_url_ok("http://[::1]:8080/a.jpg"));

    /* why, in words an operator can act on */
    const char *why[][2] = {
        {"http:///x", "no host in the URL"},
        {"http://?q", "no host in the URL"},
        {"https://user:pw@/x", "no host in the URL"},
        {"ftp://h/x", "not an http(s) URL"},
        {"garbage", "not an http(s) URL"},
        {"http://h:99999/", "bad URL: "},
        {"http://[::1/", "bad URL: "},
    };
    char m[IB_FETCH_MSGLEN];
    for (size_t i = 0; i < sizeof why / sizeof *why; i++) {
        assert_int_equal(fetch_url_check(why[i][0], m, sizeof m), -1);
        assert_memory_equal(m, why[i][1], strlen(why[i][1]));
    }
}

static void test_list_parsing(void **state)
{
    (void)state;
    static const char text[] =
        "# a comment\n"
        "\n"
        "http://h/a.jpg\r\n"
        "   \t  \r\n"
        "  http://h/b.jpg  \n"
        "  # indented comment\n"
        "garbage line\n"
        "http://h/c\0d\n"
        "http://h/last.jpg";   /* no final newline */
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
    assert_non_null(f);
    struct ib_fetch_list *l = ib_fetch_list_new(f);
    const char *want[] = {"http://h/a.jpg", "http://h/b.jpg", "garbage line",
                          NULL, "http://h/last.jpg"};
    const char *url;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ib_fetch_list_next(l, &url, NULL), 1);
        if (want[i]) {
            assert_string_equal(url, want[i]);
        } else {
            /* the NUL must not leave "http://h/c" as a valid URL */
            assert_false(fetch_url_ok(url));
            assert_int_equal(strlen(url), strlen("http://h/c?d"));
        }
    }
    assert_int_equal(ib_fetch_list_next(l, &url, NULL), 0);
    assert_int_equal(ib_fetch_list_next(l, &url, NULL), 0);
    ib_fetch_list_free(l);
    fclose(f);
}

/* A list saved by an editor that writes a UTF-8 byte-order mark: the BOM
 * is not part of the first URL, but a BOM anywhere else is kept. */
static void test_list_bom(void **state)
{
    (void)state;
    static const char text[] = "\xef\xbb\xbfhttp://h/first.jpg\n"
                               "\xef\xbb\xbfhttp://h/second.jpg\n";
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
    assert_non_null(f);
    struct ib_fetch_list *l = ib_fetch_list_new(f);
    const char *url;
    assert_int_equal(ib_fetch_list_next(l, &url, NULL), 1);
    assert_string_equal(url, "http://h/first.jpg");
    assert_true(fetch_url_ok(url));
    assert_int_equal(ib_fetch_list_next(l, &url, NULL), 1);
    assert_string_equal(url, "\xef\xbb\xbfhttp://h/second.jpg");
    assert_int_equal(ib_fetch_list_next(l, &url, NULL), 0);
    ib_fetch_list_free(l);
    fclose(f);

    /* a BOM before a comment or a blank line is skipped as well */
    static const char text2[] = "\xef\xbb\xbf# urls\nhttp://h/a.jpg\n";
    f = fmemopen((void *)text2, sizeof text2 - 1, "r");
    assert_non_null(f);
    l = ib_fetch_list_new(f);
    assert_int_equal(ib_fetch_list_next(l, &url, NULL), 1);
    assert_string_equal(url, "http://h/a.jpg");
    ib_fetch_list_free(l);
    fclose(f);
}

/* URL<TAB>NAME: the name beside its URL; blanks around both dropped, an
 * empty or TAB-holding name returned as is for fetch to judge. */
static void test_list_names(void **state)
{
    (void)state;
    static const char text[] = "http://h/a.jpg\tx/a.jpg\r\n"
                               "  http://h/b.jpg \t  b.jpg  \n"
                               "http://h/c.jpg\t\n"
                               "http://h/d.jpg\tna\tme\n"
                               "http://h/e.jpg\n"
                               "\t# an indented comment\tx\n";
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
    assert_non_null(f);
    struct ib_fetch_list *l = ib_fetch_list_new(f);
    const char *want[][2] = {{"http://h/a.jpg", "x/a.jpg"},
                             {"http://h/b.jpg", "b.jpg"},
                             {"http://h/c.jpg", ""},
                             {"http://h/d.jpg", "na\tme"},
                             {"http://h/e.jpg", NULL}};
    const char *url, *name;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(ib_fetch_list_next(l, &url, &name), 1);
        assert_string_equal(url, want[i][0]);
        if (want[i][1])
            assert_string_equal(name, want[i][1]);
        else
            assert_null(name);
    }
    assert_int_equal(ib_fetch_list_next(l, &url, &name), 0);
    ib_fetch_list_free(l);
    fclose(f);
}

/* A name the list gives stays inside the folder, or is refused. */
static void test_name_check(void **state)
{
    (void)state;
    char m[IB_FETCH_MSGLEN], big[IB_FETCH_NAMEMAX + 2];
    const char *good[] = {"a.jpg", "shop/2024/a.jpg", "caf\xc3\xa9.png",
                          "a..b.jpg", "x/y.z/w"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_int_equal(ib_fetch_name_check(good[i], m, sizeof m), 0);
    const char *bad[][2] = {
        {"", "empty"}, {"/etc/x", "absolute"}, {"../x", "'..'"},
        {"a/../../x", "'..'"}, {"..", "'..'"}, {"a/./b", "'.'"},
        {".hidden", "starts with '.'"}, {"a/.b", "starts with '.'"},
        {"a//b", "empty component"}, {"a/", "ends with '/'"},
        {"na\tme", "control"}, {"a\nb", "control"}, {"a\x7f", "control"},
        {"a\\b", "'\\'"}, {"\xff.jpg", "UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m[0] = '\0';
        assert_int_equal(ib_fetch_name_check(bad[i][0], m, sizeof m), -1);
        assert_non_null(strstr(m, bad[i][1]));
        assert_memory_equal(m, "bad name '", 10);
        for (const char *p = m; *p; p++)   /* one line, printable */
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(ib_fetch_name_check(big, m, sizeof m), -1);
    big[sizeof big - 2] = '\0';
    assert_int_equal(ib_fetch_name_check(big, m, sizeof m), 0);
}

/* A listed name wins over the URL's and the index's, and when taken is
 * hashed before the extension of its file, as a derived name is. */
static void test_names_listed(void **state)
{
    (void)state;
    char a[IB_FETCH_NAMEMAX + 12], b[IB_FETCH_NAMEMAX + 12];
    char c[IB_FETCH_NAMEMAX + 12];
    struct fetch_names *n = fetch_names_new();
    fetch_names_claimed(n, "http://h/1.jpg", "old.jpg");
    assert_int_equal(fetch_names_assign(n, "http://h/1.jpg", "v.2/x.jpg", a),
                     0);
    assert_string_equal(a, "v.2/x.jpg");
    assert_int_equal(fetch_names_assign(n, "http://h/2.jpg", "v.2/x.jpg", b),
                     0);
    assert_int_equal(strlen(b), strlen("v.2/x-12345678.jpg"));
    assert_memory_equal(b, "v.2/x-", 6);
    assert_true(fetch_relname_safe(b));
    /* a derived name meets a listed one as it would another derived */
    assert_int_equal(fetch_names_assign(n, "http://h/v.2/x.jpg?q", NULL, c),
                     0);
    assert_string_equal(c, "x.jpg");
    fetch_names_free(n);
}

/* The breaker's key: one per host and port, whatever the URL's spelling. */
static void test_host_key(void **state)
{
    (void)state;
    char k[320];
    assert_int_equal(fetch_host_key("http://Example.COM/a.jpg", k, sizeof k),
                     0);
    assert_string_equal(k, "example.com:80");
    assert_int_equal(fetch_host_key("https://h/x?y", k, sizeof k), 0);
    assert_string_equal(k, "h:443");
    assert_int_equal(fetch_host_key("HTTP://u:pw@h:8080/", k, sizeof k), 0);
    assert_string_equal(k, "h:8080");
    assert_int_equal(fetch_host_key("http://[::1]:9/x", k, sizeof k), 0);
    assert_string_equal(k, "[::1]:9");
    assert_int_equal(fetch_host_key("not a url", k, sizeof k), -1);
    assert_int_equal(fetch_host_key("http://h/", k, 4), -1);   /* too long */

    struct fetch_hosts t = {0};
    struct fetch_host *a = fetch_hosts_get(&t, "a:80");
    assert_non_null(a);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "h%d:80", i);
        assert_non_null(fetch_hosts_get(&t, key));
    }
    assert_ptr_equal(fetch_hosts_get(&t, "a:80"), a);   /* stable records */
    assert_int_equal(t.len, 101);
    fetch_hosts_release(&t);
}

static void test_transient(void **state)
{
    (void)state;
    assert_true(fetch_transient(CURLE_OK, 500));
    assert_true(fetch_transient(CURLE_OK, 503));
    assert_true(fetch_transient(CURLE_OK, 408));
    assert_true(fetch_transient(CURLE_OK, 429));
    assert_false(fetch_transient(CURLE_OK, 404));
    assert_false(fetch_transient(CURLE_OK, 403));
    assert_false(fetch_transient(CURLE_OK, 400));
    assert_true(fetch_transient(CURLE_COULDNT_CONNECT, 0));
    assert_true(fetch_transient(CURLE_OPERATION_TIMEDOUT, 0));
    assert_true(fetch_transient(CURLE_PARTIAL_FILE, 0));
    assert_false(fetch_transient(CURLE_TOO_MANY_REDIRECTS, 0));
    assert_false(fetch_transient(CURLE_UNSUPPORTED_PROTOCOL, 0));
    assert_false(fetch_transient(CURLE_FILESIZE_EXCEEDED, 0));
    assert_false(fetch_transient(CURLE_PEER_FAILED_VERIFICATION, 0));
}

/*
 * What fetch_retry_after_ms makes of a real 429 whose Retry-After is v
 * (NULL: none): a child answers one request on a loopback socket, and
 * libcurl reads the response as a transfer would.
 */
static double retry_after_of(const char *v)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 1), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[4096];
        int c = accept(ls, NULL, NULL);
        if (c < 0 || read(c, buf, sizeof buf) <= 0)
            _exit(1);
        dprintf(c, "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n"
                   "Connection: close\r\n%s%s%s\r\n",
                v ? "Retry-After: " : "", v ? v : "", v ? "\r\n" : "");
        close(c);
        _exit(0);
    }
    close(ls);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/r",
             (unsigned)ntohs(a.sin_port));
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    double ms = fetch_retry_after_ms(h);
    curl_easy_cleanup(h);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return ms;
}

/* An HTTP date s seconds from now. */
static const char *http_date(long s, char *buf, size_t len)
{
    time_t t = time(NULL) + s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

static void test_retry_after(void **state)
{
    (void)state;
    char d[64];
    assert_true(retry_after_of(NULL) < 0);
    assert_true(retry_after_of("soon") < 0);
    assert_true(retry_after_of("-5") < 0);
    assert_true(retry_after_of("0") < 0);   /* "now": no later than backoff */
    assert_float_equal(retry_after_of("120"), 120000, 1e-9);
    assert_float_equal(retry_after_of(" 7 "), 7000, 1e-9);
    /* a date: seconds from now, give or take the clock turning over */
    double ms = retry_after_of(http_date(100, d, sizeof d));
    assert_true(ms >= 98000 && ms <= 101000);
    assert_float_equal(retry_after_of(http_date(-100, d, sizeof d)), 0,
                       1e-9);
    /* absurdly large: still a wait, capped to a year for the caller's cap */
    assert_float_equal(retry_after_of("99999999999"), 86400e3 * 365, 1e-9);
}

/* fetch_backoff_ms with the default base and cap */
static double backoff(unsigned attempt, double ra_ms, double jitter)
{
    return fetch_backoff_ms(attempt, ra_ms, jitter, 500, 60000);
}

static void test_backoff(void **state)
{
    (void)state;
    /* doubling, full jitter at 1.0, half at 0.5 */
    assert_float_equal(backoff(1, -1, 1.0), 500, 1e-9);
    assert_float_equal(backoff(2, -1, 1.0), 1000, 1e-9);
    assert_float_equal(backoff(3, -1, 0.5), 1000, 1e-9);
    /* jitter is clamped into [0.5, 1] */
    assert_float_equal(backoff(1, -1, 0.0), 250, 1e-9);
    assert_float_equal(backoff(1, -1, 7.0), 500, 1e-9);
    /* capped, and no overflow for huge attempt counts */
    assert_float_equal(backoff(10, -1, 1.0), 60000, 1e-9);
    assert_float_equal(backoff(4000000000u, -1, 1.0), 60000, 1e-9);
    /* Retry-After wins when later, never beyond the cap */
    assert_float_equal(backoff(1, 3000, 1.0), 3000, 1e-9);
    assert_float_equal(backoff(3, 1000, 1.0), 2000, 1e-9);
    assert_float_equal(backoff(1, 86400e3, 1.0), 60000, 1e-9);
    assert_float_equal(backoff(1, 0, 1.0), 500, 1e-9);
}

static void test_index_roundtrip_and_damage(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_fetch_idx.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct fetch_index ix;
    assert_int_equal(fetch_index_load(&ix, dir), 0);   /* missing: empty */
    assert_int_equal(ix.map.len, 0);
    fetch_index_put(&ix, "http://h/a.jpg", "a.jpg", "\"e1\"", NULL);
    fetch_index_put(&ix, "http://h/b.jpg", "b.jpg", "bad\ttag",
                    "Wed, 21 Oct 2015 07:28:00 GMT");
    char msg[256];
    assert_int_equal(fetch_index_save(&ix, dir, msg, sizeof msg), 0);
    fetch_index_release(&ix);

    /* damage it: append junk lines, an unsafe name, a non-URL */
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, FETCH_INDEX_NAME);
    FILE *f = fopen(path, "a");
    fputs("junk\nhttp://h/c.jpg\t../evil\t\t\nftp://h/d\td\t\t\n"
          "http://h/e.jpg\te.jpg\t\"x\"\n", f);
    fclose(f);

    assert_int_equal(fetch_index_load(&ix, dir), 0);
    assert_int_equal(ix.map.len, 2);
    struct fetch_entry e;
    assert_int_equal(fetch_index_get(&ix, "http://h/a.jpg", &e), 1);
    assert_string_equal(e.file, "a.jpg");
    assert_string_equal(e.etag, "\"e1\"");
    assert_null(e.lastmod);
    fetch_entry_release(&e);
    assert_int_equal(fetch_index_get(&ix, "http://h/b.jpg", &e), 1);
    assert_null(e.etag);   /* a tab in it: not stored */
    assert_string_equal(e.lastmod, "Wed, 21 Oct 2015 07:28:00 GMT");
    fetch_entry_release(&e);
    assert_int_equal(fetch_index_get(&ix, "http://h/c.jpg", &e), 0);
    fetch_index_release(&ix);

    unlink(path);
    assert_int_equal(rmdir(dir), 0);   /* no temp file left behind */
}

static void test_map_many(void **state)
{
    (void)state;
    struct fetch_map m = {0};
    char k[32], v[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        snprintf(v, sizeof v, "val%d", i * 7);
        assert_int_equal(fetch_map_put(&m, k, v), 0);
    }
    fetch_map_put(&m, "key42", "changed");
    assert_int_equal(m.len, 5000);
    for (int i = 0; i < 5000; i++) {
        int found;
        snprintf(k, sizeof k, "key%d", i);
        snprintf(v, sizeof v, "val%d", i * 7);
        const char *got = fetch_map_get(&m, k, &found);
        assert_true(found);
        assert_string_equal(got, i == 42 ? "changed" : v);
    }
    int found;
    fetch_map_get(&m, "nope", &found);
    assert_false(found);
    fetch_map_release(&m);
}

/* A loopback TCP socket bound to a free port: listening (connections
 * complete and then hear nothing), or closed again (connections refused). */
static int loopback(int listening, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    if (listening) {
        assert_int_equal(listen(s, 16), 0);
        return s;
    }
    close(s);
    return -1;
}

/* The URL source and done callback of the stepping tests. */
struct urls {
    char urls[4][128];
    size_t n, next;
    size_t ndone;
    enum ib_fetch_status status[4];
    char msg[4][IB_FETCH_MSGLEN];
    volatile int stop;
};

static int next_url(void *ctx, const char **url, const char **name)
{
    struct urls *u = ctx;
    if (u->next == u->n)
        return 0;
    *name = NULL;
    *url = u->urls[u->next++];
    return 1;
}

static void on_done(void *ctx, const struct ib_fetch_item *it)
{
    struct urls *u = ctx;
    size_t i = 0;
    while (i < u->n && strcmp(u->urls[i], it->url))
        i++;
    assert_true(i < u->n);
    if (u->ndone < 4) {
        u->status[i] = it->status;
        snprintf(u->msg[i], sizeof u->msg[i], "%s", it->msg);
    }
    u->ndone++;
}

static struct ib_fetch_opts step_opts(const char *dir, struct urls *u)
{
    return (struct ib_fetch_opts){
        .out_dir = dir, .mode = IB_FETCH_MULTI, .concurrency = 2,
        .next = next_url, .next_ctx = u, .done = on_done, .ctx = u,
        .stop = &u->stop, .timeout_s = 30,
    };
}

/* The caller's loop: one wait, one step. Returns the step's code. */
static int one_turn(struct ib_fetch *f, struct pollfd *fds, unsigned max)
{
    int wait = -1;
    unsigned n = ib_fetch_fds(f, fds, max, &wait);
    assert_true(n <= max);
    assert_true(wait >= 0 && wait <= 201);   /* never waits forever */
    poll(fds, n, wait);
    char msg[256];
    return ib_fetch_step(f, fds, n, msg, sizeof msg);
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_step_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_fetch_step.XXXXXX", msg[256];
    struct urls u = {.n = 4};
    struct pollfd fds[16];
    int port;
    assert_non_null(mkdtemp(dir));
    loopback(0, &port);
    snprintf(u.urls[0], sizeof u.urls[0], "not a url");
    snprintf(u.urls[1], sizeof u.urls[1], "http://127.0.0.1:%d/a.jpg", port);
    snprintf(u.urls[2], sizeof u.urls[2], "http://127.0.0.1:%d/a.jpg#", port);
    snprintf(u.urls[3], sizeof u.urls[3], "http://127.0.0.1:%d/b.jpg", port);
    struct ib_fetch_opts o = step_opts(dir, &u);

    o.mode = IB_FETCH_THREADS;
    assert_null(ib_fetch_new(&o, msg, sizeof msg));
    o.mode = IB_FETCH_MULTI;
    o.out_dir = "/nonexistent/folder";
    assert_null(ib_fetch_new(&o, msg, sizeof msg));
    assert_non_null(strstr(msg, "cannot write to '/nonexistent/folder'"));
    o.out_dir = dir;

    struct ib_fetch *f = ib_fetch_new(&o, msg, sizeof msg);
    assert_non_null(f);
    assert_int_equal(u.ndone, 0);   /* nothing before the first step */
    int rc, turns = 0;
    while ((rc = one_turn(f, fds, 16)) > 0)
        assert_true(++turns < 10000);
    assert_int_equal(rc, 0);
    assert_int_equal(u.ndone, 4);
    assert_int_equal(u.status[0], IB_FETCH_DONE_FAILED);
    assert_string_equal(u.msg[0], "not an http(s) URL");
    for (int i = 1; i < 4; i++) {
        assert_int_equal(u.status[i], IB_FETCH_DONE_FAILED);
        assert_non_null(strstr(u.msg[i], "onnect"));   /* refused */
    }
    /* ended: nothing to wait for, the same answer again */
    int wait = -1;
    assert_int_equal(ib_fetch_fds(f, fds, 16, &wait), 0);
    assert_int_equal(wait, -1);
    assert_int_equal(ib_fetch_step(f, NULL, 0, msg, sizeof msg), 0);
    assert_int_equal(u.ndone, 4);
    ib_fetch_free(f);
    ib_fetch_free(NULL);

    /* the index was written; no temp file is left */
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, FETCH_INDEX_NAME);
    assert_int_equal(count_entries(dir), access(path, F_OK) == 0);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* Transfers in flight to a peer that never answers: a stop reports them
 * interrupted; freeing before the end drops them, reported or not. */
static void test_step_stop_and_abandon(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_fetch_step.XXXXXX", msg[256];
    struct pollfd fds[16];
    int port, ls = loopback(1, &port);
    assert_non_null(mkdtemp(dir));
    for (int stop = 1; stop >= 0; stop--) {
        struct urls u = {.n = 2};
        for (int i = 0; i < 2; i++)
            snprintf(u.urls[i], sizeof u.urls[i],
                     "http://127.0.0.1:%d/%d.jpg", port, i);
        struct ib_fetch_opts o = step_opts(dir, &u);
        struct ib_fetch *f = ib_fetch_new(&o, msg, sizeof msg);
        assert_non_null(f);
        /* both started: their temp files exist, and they wait for bytes */
        for (int turns = 0; count_entries(dir) < 2; turns++) {
            assert_true(turns < 10000);
            assert_int_equal(one_turn(f, fds, 16), 1);
        }
        assert_int_equal(u.ndone, 0);
        if (stop) {
            u.stop = 1;
            assert_int_equal(one_turn(f, fds, 16), 0);
            assert_int_equal(u.ndone, 2);
            assert_int_equal(u.status[0], IB_FETCH_DONE_INTERRUPTED);
            assert_int_equal(u.status[1], IB_FETCH_DONE_INTERRUPTED);
        }
        ib_fetch_free(f);
        assert_int_equal(u.ndone, stop ? 2 : 0);
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, FETCH_INDEX_NAME);
        unlink(path);   /* written by the stopped run only */
        assert_int_equal(count_entries(dir), 0);   /* temp files gone */
    }
    close(ls);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_plain),
        cmocka_unit_test(test_name_traversal),
        cmocka_unit_test(test_name_control_bytes),
        cmocka_unit_test(test_name_unicode),
        cmocka_unit_test(test_name_long),
        cmocka_unit_test(test_name_fuzz_always_safe),
        cmocka_unit_test(test_names_collisions),
        cmocka_unit_test(test_names_index_claims),
        cmocka_unit_test(test_names_hash_chain),
        cmocka_unit_test(test_url_ok),
        cmocka_unit_test(test_list_parsing),
        cmocka_unit_test(test_list_bom),
        cmocka_unit_test(test_list_names),
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_names_listed),
        cmocka_unit_test(test_host_key),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_index_roundtrip_and_damage),
        cmocka_unit_test(test_map_many),
        cmocka_unit_test(test_step_refused),
        cmocka_unit_test(test_step_stop_and_abandon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
