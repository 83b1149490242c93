#!/usr/bin/env python3
"""Hostile HTTP responses on 127.0.0.1, for tests/cli/hostile_servers.sh.

    hostile_server.py PORTFILE    serve on a free port, written to PORTFILE

Paths (query parameters optional):
  /drip?n=N&every=S     Content-Length N (100), one byte every S s (2):
                        slowloris, never finishing within a short --timeout
  /endless              200 without Content-Length, zeros until the client
                        leaves (Connection: close)
  /gzipbomb?mb=M        Content-Encoding: gzip of M MiB of zeros (64), with
                        its true (compressed) Content-Length
  /chain/N              302 to /chain/N-1; /chain/0 is a 200 with a body
  /http10               an HTTP/1.0 response without Content-Length: the
                        body ends when the connection closes
  /bighead?kb=K&lines=L K KiB of response headers (1024) in L lines (1),
                        then a short body
  /liar?n=N&total=M     Content-Length N (100) and N bytes; then, once the
                        client sends its next request on that connection,
                        the other M - N (834 in all) bytes instead of an
                        answer, and close: a lying length that poisons a
                        kept-alive connection for the next URL
  /body/NAME            the body the other routes end with ("body NAME\\n")
  /stats                JSON: requests per path, and "connections" that
                        carried any (/stats aside)

The shared tests/server.py keeps the ordinary faults; this one holds the
attacks, so neither grows past what its tests need.
"""
import gzip
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

GZ_CACHE = {}
GZ_LOCK = threading.Lock()
COUNTS = {}


def bump(key):
    with GZ_LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1


def gzip_zeros(mib):
    with GZ_LOCK:
        if mib not in GZ_CACHE:
            GZ_CACHE[mib] = gzip.compress(b"\0" * (mib << 20), 9, mtime=0)
        return GZ_CACHE[mib]


def body(name):
    return b"body %s\n" % name.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.counted = False

    def log_message(self, fmt, *args):
        pass

    def send(self, code, data=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path != "/stats":
            bump(u.path)
            if not self.counted:
                bump("connections")
                self.counted = True
        parts = u.path.split("/")
        handler = getattr(self, "h_" + (parts[1] if len(parts) > 1 else ""),
                          None)
        if handler is None:
            self.send(404, b"not found\n")
            return
        try:
            handler("/".join(parts[2:]), q)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def h_body(self, rest, q):
        self.send(200, body(rest))

    def h_stats(self, rest, q):
        with GZ_LOCK:
            data = json.dumps(COUNTS, sort_keys=True).encode()
        self.send(200, data, [("Content-Type", "application/json")])

    def h_liar(self, rest, q):
        n = int(q.get("n", ["100"])[0])
        data = body("liar") * 200
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
            self.send(200, body("chain"))
        else:
            self.send(302, b"", [("Location", "/chain/%d" % (n - 1))])

    def h_http10(self, rest, q):
        self.close_connection = True
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n"
                         b"\r\n" + body("http10") * 1000)
        self.wfile.flush()

    def h_bighead(self, rest, q):
        kb = int(q.get("kb", ["1024"])[0])
        lines = int(q.get("lines", ["1"])[0])
        per = max(1, (kb << 10) // lines)
        data = body("bighead")
        self.send_response(200)
        for i in range(lines):
            self.send_header("X-Junk-%d" % i, "a" * per)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hostile_server.py PORTFILE")
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[1])
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
