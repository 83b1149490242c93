#!/usr/bin/env bash
# Hostile servers against imgbatch fetch, in each --mode: a slow drip
# (slowloris) body, an endless body without Content-Length, a gzip bomb, a
# chain of 1,000 redirects, HTTP/1.0 without a length, 1 MB of response
# headers (one line, and many lines). Each URL gets one report line with a
# clear error or a correct file; the batch finishes, exits 1, leaves no
# temp file and writes nothing outside --out. Last, a tampered download
# index naming files outside the folder. The server is tests/server.py
# (its hostile routes) on 127.0.0.1, started here.
. "$IB_TESTS/cli/lib.sh"

start_server
H=$BASE

drip="$H/drip?n=100&every=2"
endless="$H/endless"
bomb="$H/gzipbomb?mb=64"
# the server compresses the bomb once, on its first request: done here, so
# that on a loaded machine its seconds of work do not eat --timeout 3
python3 -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=300).read()" "$bomb" || fail "the test server's bomb"
chain="$H/chain/1000"
short_chain="$H/chain/3"
http10="$H/http10"
bighead="$H/bighead?kb=1024"
manyhead="$H/bighead?kb=1024&lines=10000"
printf '%s\n' "$drip" "$endless" "$bomb" "$chain" "$short_chain" "$http10" \
    "$bighead" "$manyhead" >"$T/urls.txt"

# the gzip bomb as sent: 64 MiB of zeros, compressed (about 64 kB)
python3 -c 'import gzip, sys; sys.stdout.buffer.write(gzip.compress(b"\0" * (64 << 20), 9, mtime=0))' >"$T/bomb.gz"
bomb_size=$(stat -c %s "$T/bomb.gz")

# error URL: the report's error for URL, which must be a failure
error_of() {
    expect "$1" "$2" status failed
    rget "$1" "$2" error
}

# outside: what is under $T but not an out-*/ folder, a report or stderr
outside() {
    find "$T" \( -path "$T/out-*" -prune \) -o ! -name '*.jsonl' \
        ! -name stderr -print | sort
}

for mode in multi threads serial; do
    out="$T/out-$mode"
    rep="$T/$mode.jsonl"
    before=$(outside)
    run_fetch 1 -o "$out" --report "$rep" --mode "$mode" --retries 0 \
        --timeout 3 --max-size 1000000 -q "$T/urls.txt"
    after=$(outside)
    [ "$(summary "$rep" ok)" = 3 ] || fail "$mode: 3 ok expected"
    [ "$(summary "$rep" failed)" = 5 ] || fail "$mode: 5 failed expected"

    # slowloris: cut by --timeout (3 s), whatever the drip rate
    e=$(error_of "$rep" "$drip")
    case "$e" in
    *"timed out"*) ;;
    *) fail "$mode: drip: '$e'" ;;
    esac
    # no length, no end: cut at --max-size, the temp file removed
    [ "$(error_of "$rep" "$endless")" = \
        "body over the size limit of 1000000 bytes" ] ||
        fail "$mode: endless body not stopped by --max-size"
    # the gzip bomb is stored as sent, never inflated
    expect "$rep" "$bomb" status ok
    expect "$rep" "$bomb" bytes "$bomb_size"
    cmp -s "$(rget "$rep" "$bomb" file)" "$T/bomb.gz" ||
        fail "$mode: the gzip bomb was not stored as the compressed bytes"
    # redirects: a short chain is followed, a long one stops at the cap
    [ "$(error_of "$rep" "$chain")" = "Maximum (5) redirects followed" ] ||
        fail "$mode: 1000 redirects"
    expect "$rep" "$short_chain" status ok
    [ "$(cat "$(rget "$rep" "$short_chain" file)")" = "body chain" ] ||
        fail "$mode: short chain body"
    # HTTP/1.0, body until close: works, whole
    expect "$rep" "$http10" status ok
    python3 -c 'import sys; sys.stdout.buffer.write(b"body http10\n" * 1000)' \
        >"$T/http10.body"
    cmp -s "$(rget "$rep" "$http10" file)" "$T/http10.body" ||
        fail "$mode: HTTP/1.0 body differs"
    # 1 MB of headers: libcurl refuses both shapes; a clear error each
    [ "$(error_of "$rep" "$bighead")" = \
        "out of memory, or a response header too large" ] ||
        fail "$mode: 1 MB header line: '$(rget "$rep" "$bighead" error)'"
    case "$(error_of "$rep" "$manyhead")" in
    "Too large response headers"*) ;;
    *) fail "$mode: 1 MB of header lines" ;;
    esac

    # one line per URL, files only for the ok ones, no temp file left
    [ "$(grep -vc '"summary":true' "$rep")" = 8 ] || fail "$mode: 8 lines"
    [ "$(find "$out" -type f ! -name '.imgbatch-fetch.tsv' \
        ! -name .imgbatch.lock | wc -l)" = 3 ] ||
        fail "$mode: files other than the 3 ok ones in $out"
    no_temps "$out"
    [ "$before" = "$after" ] || fail "$mode: files written outside --out"
    echo "ok - $mode: hostile servers fail cleanly, the rest is stored"
done

# a tampered download index (OUT/.imgbatch-fetch.tsv) names files outside
# the folder: those names are never used, nothing lands outside --out
mkdir -p "$T/out-index/sub"
tsv="$T/out-index/.imgbatch-fetch.tsv"
{
    printf '%s\t%s\t\t\n' "$H/body/a.jpg" "../escaped-a.jpg"
    printf '%s\t%s\t\t\n' "$H/body/b.jpg" "/tmp/escaped-b.jpg"
    printf '%s\t%s\t\t\n' "$H/body/c.jpg" "sub/c.jpg"
    printf '%s\t%s\t\t\n' "$H/body/d.jpg" ".hidden"
    printf '%s\t%s\t"e\x01tag"\t\n' "$H/body/e.jpg" "e.jpg"
    printf '%s\t%s\n' "$H/body/f.jpg" ".."
} >"$tsv"
printf '%s\n' "$H/body/a.jpg" "$H/body/b.jpg" "$H/body/c.jpg" \
    "$H/body/d.jpg" "$H/body/e.jpg" "$H/body/f.jpg" >"$T/index-urls.txt"
before=$(outside)
run_fetch 0 -o "$T/out-index" --report "$T/index.jsonl" -q \
    "$T/index-urls.txt"
[ "$before" = "$(outside)" ] || fail "index: files written outside --out"
[ ! -e /tmp/escaped-b.jpg ] || fail "index: wrote /tmp/escaped-b.jpg"
for x in a b c d e f; do
    [ "$(rget "$T/index.jsonl" "$H/body/$x.jpg" file)" = \
        "$T/out-index/$x.jpg" ] ||
        fail "index: $x.jpg stored as '$(rget "$T/index.jsonl" "$H/body/$x.jpg" file)'"
    [ "$(cat "$T/out-index/$x.jpg")" = "body $x.jpg" ] || fail "index: $x.jpg"
done
[ -z "$(ls -A "$T/out-index/sub")" ] || fail "index: wrote into sub/"
echo "ok - a tampered index cannot move downloads out of --out"
