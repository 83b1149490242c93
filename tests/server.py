#!/usr/bin/env python3
"""A fault-injecting HTTP server on 127.0.0.1 for the CLI tests.

    server.py PORTFILE          serve on a free port, written to PORTFILE
    server.py PORTFILE DIR      the same, and /file/ serves DIR's files
    server.py --body NAME SIZE  print the body /ok/NAME?size=SIZE serves

PORTFILE appears, whole, once the server accepts connections (it is
written under another name and renamed): tests/cli/lib.sh's start_server
waits for it.

Paths (query parameters optional):
  /ok/NAME?size=N         200, N deterministic bytes derived from NAME
  /status/CODE            that status, a short body
  /flaky/KEY?fails=N      500 for the first N (1) requests per KEY, then /ok
  /429/KEY?after=S        429 with Retry-After: S (1) once per KEY; a retry
                          that comes sooner gets 400, so early retries fail;
                          &date=1: the header is the HTTP date S s from now
  /reset?after=N          Content-Length N + 1000, N (1000) bytes, then RST
  /stall                  headers, then nothing until the client leaves
  /big?size=N&chunked=1   N bytes without Content-Length (close-delimited,
                          or chunked)
  /short                  Content-Length 1000, 500 bytes, close
  /redirect?to=URL        302 to URL
  /loop                   302 to itself
  /etag/NAME              ETag; 304 when If-None-Match matches
  /lm/NAME                Last-Modified; 304 when If-Modified-Since matches
  /gzip?size=N            Content-Encoding: gzip of N zero bytes
  /delay?ms=N             sleep, then /ok
  /slow/NAME?size=N       /ok bytes, 1 kB every 100 ms
  /any/A/B/NAME           /ok/NAME, whatever A/B (raw, still %-encoded)
  /file/NAME?ms=N         DIR/NAME as read now, after N ms (0); ETag from its
                          bytes; 304 when If-None-Match matches
  /gate/NAME              counted as "gate", then held until DIR/.gate-open
                          exists, then /file/NAME: a download the test
                          releases when it wants
  /stats                  JSON: requests per path (and "flaky:KEY",
                          "304:NAME", "gate"), and "connections" that
                          carried any request but /stats

Hostile responses (tests/cli/hostile_servers.sh, fetch_reuse.sh):
  /drip?n=N&every=S       Content-Length N (100), one byte every S s (2):
                          slowloris, never finishing within a short --timeout
  /endless                200 without Content-Length, zeros until the client
                          leaves (Connection: close)
  /gzipbomb?mb=M          Content-Encoding: gzip of M MiB of zeros (64), with
                          its true (compressed) Content-Length
  /chain/N                302 to /chain/N-1; /chain/0 is a 200 with a body
  /http10                 an HTTP/1.0 response without Content-Length: the
                          body ends when the connection closes
  /bighead?kb=K&lines=L   K KiB of response headers (1024) in L lines (1),
                          then a short body
  /liar?n=N&total=M       Content-Length N (100) and N bytes; then, once the
                          client sends its next request on that connection,
                          the other M - N (834 in all) bytes instead of an
                          answer, and close: a lying length that poisons a
                          kept-alive connection for the next URL
  /body/NAME              the body the routes above end with ("body NAME\\n")

HTTP options (a tiny PNG when the check passes):
  /echo-headers           the request's headers, as the body
  /need-header?name=N&sha=H     403 unless header N arrived, sha256 of
                                its value H (the URL does not show it)
  /need-auth?sha=H              401 unless Basic credentials U:P arrived,
                                sha256 of "U:P" H
  /need-cookie?name=N&sha=H     403 unless cookie N arrived, value's
                                sha256 H
  /zeros?size=N           N zero bytes, fast (rate tests)
  any path as an absolute URI (a proxy's request line): served as that
    path, counted as "proxied" and "proxy-auth:USER:PASS"
"""
import base64
import email.utils
import gzip
import hashlib
import http.cookies
import http.server
import json
import math
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

LOCK = threading.Lock()
FILE_DIR = None
COUNTS = {}
FIRST_429 = {}
GZ_CACHE = {}
GZ_LOCK = threading.Lock()   # not LOCK: a first bomb takes a while to make


def body_for(name, size):
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(f"{name}:{i}".encode()).digest()
        i += 1
    return bytes(out[:size])


def default_size(name):
    return 100 + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % 4000


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def bump(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


def gzip_zeros(mib):
    with GZ_LOCK:
        if mib not in GZ_CACHE:
            GZ_CACHE[mib] = gzip.compress(b"\0" * (mib << 20), 9, mtime=0)
        return GZ_CACHE[mib]


def text_body(name):
    return b"body %s\n" % name.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle
        # plus the client's delayed ACK adds 40 ms to every response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.counted = False

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if code != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code != 304 and self.command != "HEAD":
            self.wfile.write(body)

    def ok(self, name, q):
        size = int(q.get("size", [default_size(name)])[0])
        self.send(200, body_for(name, size),
                  [("Content-Type", "application/octet-stream")])

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        path = u.path
        bump(path)
        if path != "/stats" and not self.counted:
            bump("connections")
            self.counted = True
        if u.scheme:
            self.note_proxied()
        parts = path.split("/")
        head = parts[1] if len(parts) > 1 else ""
        rest = "/".join(parts[2:])
        handler = getattr(self, "h_" + head.replace("-", "_"), None)
        if handler is None:
            self.send(404, b"not found\n")
            return
        try:
            handler(rest, q)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def h_ok(self, rest, q):
        self.ok(rest, q)

    def h_any(self, rest, q):
        self.ok(rest.split("/")[-1] or "index", q)

    def h_status(self, rest, q):
        self.send(int(rest), b"status %s\n" % rest.encode())

    def h_flaky(self, rest, q):
        fails = int(q.get("fails", ["1"])[0])
        if bump("flaky:" + rest) <= fails:
            self.send(500, b"try again\n")
        else:
            self.ok(rest, q)

    def h_429(self, rest, q):
        after = int(q.get("after", ["1"])[0])
        now = time.monotonic()
        with LOCK:
            first = FIRST_429.get(rest)
            if first is None:
                FIRST_429[rest] = now
        if first is None:
            value = str(after)
            if q.get("date", ["0"])[0] == "1":
                # whole seconds: rounded up, so the date is never early
                value = email.utils.formatdate(math.ceil(time.time()) + after,
                                               usegmt=True)
            self.send(429, b"slow down\n", [("Retry-After", value)])
        elif now - first < after:
            self.send(400, b"retried before Retry-After\n")
        else:
            self.ok(rest, q)

    def h_reset(self, rest, q):
        after = int(q.get("after", ["1000"])[0])
        self.send_response(200)
        self.send_header("Content-Length", str(after + 1000))
        self.end_headers()
        self.wfile.write(body_for("reset", after))
        self.wfile.flush()
        # SO_LINGER 0: close() sends RST instead of FIN
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def h_stall(self, rest, q):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.flush()
        self.connection.settimeout(1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if not self.connection.recv(1):
                    break   # client gone
            except socket.timeout:
                continue
            except OSError:
                break
        self.close_connection = True

    def h_big(self, rest, q):
        size = int(q.get("size", ["100000"])[0])
        body = body_for("big", size)
        self.send_response(200)
        if q.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, size, 8192):
                c = body[i:i + 8192]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

    def h_short(self, rest, q):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(body_for("short", 500))
        self.close_connection = True

    def h_redirect(self, rest, q):
        self.send(302, b"", [("Location", q["to"][0])])

    def h_loop(self, rest, q):
        self.send(302, b"", [("Location", "/loop")])

    def h_etag(self, rest, q):
        tag = '"%s"' % hashlib.sha256(rest.encode()).hexdigest()[:16]
        if self.headers.get("If-None-Match") == tag:
            bump("304:" + rest)
            self.send(304, headers=[("ETag", tag)])
        else:
            self.send(200, body_for(rest, default_size(rest)),
                      [("ETag", tag)])

    def h_lm(self, rest, q):
        lm = "Wed, 21 Oct 2015 07:28:00 GMT"
        if self.headers.get("If-Modified-Since") == lm:
            bump("304:" + rest)
            self.send(304)
        else:
            self.send(200, body_for(rest, default_size(rest)),
                      [("Last-Modified", lm)])

    def h_gzip(self, rest, q):
        size = int(q.get("size", ["10000000"])[0])
        self.send(200, gzip.compress(b"\0" * size),
                  [("Content-Encoding", "gzip")])

    def h_delay(self, rest, q):
        time.sleep(int(q.get("ms", ["100"])[0]) / 1000)
        self.ok(rest or "delay", q)

    def h_slow(self, rest, q):
        size = int(q.get("size", ["100000"])[0])
        body = body_for(rest, size)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for i in range(0, size, 1000):
            self.wfile.write(body[i:i + 1000])
            self.wfile.flush()
            time.sleep(0.1)

    def h_file(self, rest, q):
        time.sleep(int(q.get("ms", ["0"])[0]) / 1000)
        self.file(rest)

    def h_gate(self, rest, q):
        bump("gate")
        gate = os.path.join(FILE_DIR or "/nonexistent", ".gate-open")
        while not os.path.exists(gate):
            time.sleep(0.02)
        self.file(rest)

    def file(self, rest):
        name = os.path.basename(urllib.parse.unquote(rest))
        try:
            with open(os.path.join(FILE_DIR or "/nonexistent", name), "rb") as f:
                body = f.read()
        except OSError:
            self.send(404, b"no such file\n")
            return
        tag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        if self.headers.get("If-None-Match") == tag:
            bump("304:file/" + name)
            self.send(304, headers=[("ETag", tag)])
        else:
            self.send(200, body, [("ETag", tag)])

    def h_stats(self, rest, q):
        with LOCK:
            data = json.dumps(COUNTS, sort_keys=True).encode()
        self.send(200, data, [("Content-Type", "application/json")])

    def h_body(self, rest, q):
        self.send(200, text_body(rest))

    def h_liar(self, rest, q):
        n = int(q.get("n", ["100"])[0])
        data = text_body("liar") * 200
        data = data[:int(q.get("total", ["834"])[0])]
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.write(data[:n])
        self.wfile.flush()
        # the rest only once the client has reused the connection, so it
        # cannot have seen the excess before sending its next request
        self.close_connection = True
        self.connection.settimeout(10)
        try:
            if not self.connection.recv(65536):
                return
        except (socket.timeout, OSError):
            return
        self.wfile.write(data[n:])
        self.wfile.flush()

    def h_drip(self, rest, q):
        n = int(q.get("n", ["100"])[0])
        every = float(q.get("every", ["2"])[0])
        self.send_response(200)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.flush()
        for _ in range(n):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(every)

    def h_endless(self, rest, q):
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"\0" * 65536
        self.close_connection = True
        # bounded by a generous cap, so a broken client cannot pin the
        # server forever: 4 GiB
        for _ in range(65536):
            self.wfile.write(chunk)

    def h_gzipbomb(self, rest, q):
        data = gzip_zeros(int(q.get("mb", ["64"])[0]))
        self.send(200, data, [("Content-Encoding", "gzip"),
                              ("Content-Type", "image/png")])

    def h_chain(self, rest, q):
        n = int(rest or "0")
        if n <= 0:
            self.send(200, text_body("chain"))
        else:
            self.send(302, b"", [("Location", "/chain/%d" % (n - 1))])

    def h_http10(self, rest, q):
        self.close_connection = True
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n"
                         b"\r\n" + text_body("http10") * 1000)
        self.wfile.flush()

    def h_bighead(self, rest, q):
        kb = int(q.get("kb", ["1024"])[0])
        lines = int(q.get("lines", ["1"])[0])
        per = max(1, (kb << 10) // lines)
        data = text_body("bighead")
        self.send_response(200)
        for i in range(lines):
            self.send_header("X-Junk-%d" % i, "a" * per)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    # HTTP options: headers, credentials, cookies, proxy, rate
    def tiny_png(self):
        def chunk(kind, data):
            c = kind + data
            return (struct.pack(">I", len(data)) + c +
                    struct.pack(">I", zlib.crc32(c)))
        png = (b"\x89PNG\r\n\x1a\n" +
               chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)) +
               chunk(b"IDAT", zlib.compress(b"\0\x10\x20\0\x30\x40")) +
               chunk(b"IEND", b""))
        self.send(200, png, [("Content-Type", "image/png")])

    def h_echo_headers(self, rest, q):
        self.send(200, str(self.headers).encode())

    def h_need_header(self, rest, q):
        if sha(self.headers.get(q["name"][0])) == q["sha"][0]:
            self.tiny_png()
        else:
            self.send(403, b"header missing\n")

    def h_need_auth(self, rest, q):
        got = self.headers.get("Authorization", "")
        if (got.startswith("Basic ") and
                sha(base64.b64decode(got[6:]).decode()) == q["sha"][0]):
            self.tiny_png()
        else:
            self.send(401, b"credentials missing\n",
                      [("WWW-Authenticate", 'Basic realm="t"')])

    def h_need_cookie(self, rest, q):
        jar = http.cookies.SimpleCookie(self.headers.get("Cookie", ""))
        c = jar.get(q["name"][0])
        if c is not None and sha(c.value) == q["sha"][0]:
            self.tiny_png()
        else:
            self.send(403, b"cookie missing\n")

    def h_zeros(self, rest, q):
        size = int(q.get("size", ["1000000"])[0])
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b"\0" * 65536
        for i in range(0, size, len(block)):
            self.wfile.write(block[:min(len(block), size - i)])

    def note_proxied(self):
        bump("proxied")
        auth = self.headers.get("Proxy-Authorization", "")
        if auth.startswith("Basic "):
            bump("proxy-auth:" + base64.b64decode(auth[6:]).decode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # clients that hang up (max-size, timeouts, interrupts) are routine
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--body":
        sys.stdout.buffer.write(body_for(sys.argv[2], int(sys.argv[3])))
        return
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: server.py PORTFILE [DIR] | --body NAME SIZE")
    if len(sys.argv) == 3:
        global FILE_DIR
        FILE_DIR = sys.argv[2]
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[1])   # readers never see a partial port
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
