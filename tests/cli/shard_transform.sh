# transform --shard over a folder: the copies cover every image once,
# keyed by the path below the root; more images move none.
. "$IB_TESTS/cli/lib.sh"

mkdir -p "$T/in/a" "$T/in/b"
for i in $(seq 1 30); do
    convert -size 16x12 "xc:rgb($((i * 8)),10,20)" "$T/in/$(
        [ $((i % 2)) = 0 ] && echo a || echo b)/i$i.png"
done
shards() {   # TAG: runs 3 shards, the report of each in $T/TAG-K
    for k in 0 1 2; do
        expect_exit 0 "$IMGBATCH" transform "$T/in" -o "$T/out-$1-$k" \
            --shard "$k/3" --procs 1 --report "$T/$1-$k"
    done
}
shards a
for i in $(seq 31 33); do convert -size 16x12 xc:gray "$T/in/a/i$i.png"; done
shards b
python3 - "$T" <<'PY' || fail "transform shards do not partition the folder"
import json, os, sys
t = sys.argv[1]
def sets(tag, total):
    out = []
    for k in range(3):
        lines = [json.loads(l) for l in open(f"{t}/{tag}-{k}")]
        items = lines[:-1]
        assert all(i["status"] == "ok" for i in items)
        assert lines[-1]["other_shards"] == total - len(items)
        rel = {os.path.relpath(i["input"], f"{t}/in") for i in items}
        # each copy wrote exactly its own items
        made = {os.path.relpath(os.path.join(d, f), f"{t}/out-{tag}-{k}")
                for d, _, fs in os.walk(f"{t}/out-{tag}-{k}") for f in fs
                if not f.endswith(".lock")}   # OUT's lock files
        assert made == rel, (made, rel)
        out.append(rel)
    return out
a, b = sets("a", 30), sets("b", 33)
assert sum(map(len, a)) == 30 and len(set().union(*a)) == 30
assert sum(map(len, b)) == 33 and len(set().union(*b)) == 33
assert all(x <= y for x, y in zip(a, b))
PY
ok "transform --shard partitions a folder by relative path, stably"
