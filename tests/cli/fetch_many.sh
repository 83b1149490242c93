# fetch: 1,000 URLs at -c 64, every file compared byte for byte.
. "$IB_TESTS/cli/lib.sh"
start_server
O=$T/out
for i in $(seq 1 1000); do
    echo "$BASE/ok/f$i.bin?size=$(((i * 7919) % 30000 + 1))"
done >"$T/list"
run_fetch 0 -c 64 -o "$O" --report "$T/rep" "$T/list"
[ "$(summary "$T/rep" ok)" = 1000 ] || fail "not 1000 ok"
no_temps "$O"
python3 - "$IB_TESTS/server.py" "$O" "$T/rep" <<'EOF'
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("server", sys.argv[1])
srv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srv)
out, total = sys.argv[2], 0
items = [json.loads(l) for l in open(sys.argv[3])][:-1]
assert len(items) == 1000, len(items)
for i in range(1, 1001):
    size = (i * 7919) % 30000 + 1
    want = srv.body_for("f%d.bin" % i, size)
    with open(os.path.join(out, "f%d.bin" % i), "rb") as f:
        if f.read() != want:
            sys.exit("f%d.bin differs from what the server sent" % i)
    total += size
assert sum(i["bytes"] for i in items) == total
assert sorted(os.listdir(out)) == sorted(
    [".imgbatch-fetch.tsv", ".imgbatch.lock"] + ["f%d.bin" % i for i in range(1, 1001)])
EOF
echo "fetch_many: ok"
