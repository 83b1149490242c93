#!/usr/bin/env bash
# HTTPS against a real server (nginx on 127.0.0.1 with a certificate from a
# CA made here): TLS is verified by default, so the unknown CA fails the
# item; --insecure accepts it; the transfers negotiate HTTP/2.
. "$(dirname "$0")/lib.sh"

# a CA, and a server certificate for IP 127.0.0.1 that it signs
cd "$T"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=imgbatch test CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days 2 -extfile ext.cnf -out srv.crt 2>/dev/null

mkdir -p www logs
for i in 1 2 3 4 5 6; do head -c $((i * 7919)) /dev/urandom >"www/f$i.bin"; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >nginx.conf <<CONF
daemon off;
master_process off;
pid $T/nginx.pid;
error_log $T/logs/error.log;
events { worker_connections 64; }
http {
    access_log $T/logs/access.log;
    client_body_temp_path $T/logs;
    proxy_temp_path $T/logs;
    fastcgi_temp_path $T/logs;
    uwsgi_temp_path $T/logs;
    scgi_temp_path $T/logs;
    server {
        listen 127.0.0.1:$port ssl http2;
        ssl_certificate $T/srv.crt;
        ssl_certificate_key $T/srv.key;
        root $T/www;
    }
}
CONF
nginx -c "$T/nginx.conf" -e "$T/logs/error.log" &
nginx_pid=$!
at_exit 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null'
wait_for port_open "$port"
for i in 1 2 3 4 5 6; do echo "https://127.0.0.1:$port/f$i.bin"; done >list

# verified by default: an unknown CA fails every item, nothing is written
expect_exit 1 "$IMGBATCH" fetch -q -o "$T/v" --report "$T/v.jsonl" list
assert_grep "cannot fetch 'https://127.0.0.1:$port/f1.bin'" "$T/stderr"
grep -qiE "certificate|SSL" "$T/stderr" || { cat "$T/stderr"; fail "no TLS reason"; }
json_check "$T/v.jsonl" "summary['failed'] == 6 and summary['ok'] == 0"
[ -z "$(ls -A "$T/v" | grep -v '^\.imgbatch')" ] || fail "files written"
ok "TLS is verified by default"

# --insecure: every file, byte for byte, over HTTP/2
for mode in multi threads serial; do
    expect_exit 0 "$IMGBATCH" fetch -q --insecure --mode "$mode" \
        -o "$T/i-$mode" list
    for i in 1 2 3 4 5 6; do
        cmp -s "www/f$i.bin" "$T/i-$mode/f$i.bin" || fail "$mode f$i.bin"
    done
done
grep -q '"GET /f1.bin HTTP/2.0" 200' logs/access.log ||
    { cat logs/access.log; fail "no HTTP/2 transfer"; }
ok "--insecure fetches every file, over HTTP/2, in each mode"
