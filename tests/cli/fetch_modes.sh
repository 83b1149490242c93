# fetch: multi, threads and serial give the same statuses and bytes.
. "$IB_TESTS/cli/lib.sh"
start_server
for mode in multi threads serial; do
    # per-mode keys: the server counts flaky and 429 requests per key
    cat >"$T/list.$mode" <<EOF
$BASE/ok/a.bin?size=3000
$BASE/status/404
$BASE/status/503?m=$mode
$BASE/flaky/$mode.bin?size=1000
$BASE/429/$mode.bin?size=1000
$BASE/redirect?to=$BASE/ok/r.bin
$BASE/redirect?to=file:///etc/hosts
$BASE/big?size=50000
$BASE/short
not a url
$BASE/ok/dup.bin
$BASE/ok/dup.bin
EOF
    seq 1 30 | sed "s|.*|$BASE/delay/d&?ms=20|" >>"$T/list.$mode"
    run_fetch 1 -q --mode $mode -c 8 --retries 1 --max-size 40000 \
        -o "$T/out.$mode" --report "$T/rep.$mode" "$T/list.$mode"
    no_temps "$T/out.$mode"
done
python3 - "$T" <<'EOF'
import json, re, sys
t = sys.argv[1]
def load(mode):
    items = [json.loads(l) for l in open("%s/rep.%s" % (t, mode))]
    assert items[-1].get("summary") is True
    # same URL shape in every list once the mode name is taken out
    out = {}
    for i in items[:-1]:
        key = re.sub(r"multi|threads|serial", "M", i["url"])
        out.setdefault(key, []).append(
            (i["status"], i["bytes"], i["attempts"], i["http"]))
    for v in out.values():
        v.sort(key=str)
    return out, items[-1]
ref, rsum = load("multi")
assert len(ref) == 41, len(ref)
for mode in ("threads", "serial"):
    got, s = load(mode)
    for k in ref:
        if got[k] != ref[k]:
            sys.exit("%s: %s: %s vs multi %s" % (mode, k, got[k], ref[k]))
    for k in ("ok", "failed", "skipped", "unchanged", "bytes"):
        assert s[k] == rsum[k], (mode, k, s[k], rsum[k])
# and the expected statuses themselves
def st(url_part):
    return [x[0] for k, v in ref.items() if k.endswith(url_part) for x in v]
assert st("/status/404") == ["failed"]
assert st("/flaky/M.bin?size=1000") == ["ok"]
assert st("/429/M.bin?size=1000") == ["ok"]
assert st("/big?size=50000") == ["failed"] and st("/short") == ["failed"]
assert st("/ok/dup.bin") == ["ok", "skipped"], st("/ok/dup.bin")
assert rsum["ok"] == 35 and rsum["skipped"] == 1, rsum
EOF
echo "fetch_modes: ok"
