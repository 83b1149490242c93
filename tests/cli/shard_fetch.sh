# --shard on fetch (and run): 5 copies cover a 1,000-URL list exactly
# once; growing the list by 10% moves no URL; the k8s and slurm forms.
. "$IB_TESTS/cli/lib.sh"
start_server

for i in $(seq 0 999); do echo "$BASE/ok/u$i?size=8"; done >"$T/urls"
# 10% more, some in the middle and some at the end
{ head -500 "$T/urls"; for i in $(seq 1000 1049); do echo "$BASE/ok/u$i?size=8"; done
  tail -500 "$T/urls"; for i in $(seq 1050 1099); do echo "$BASE/ok/u$i?size=8"; done; } \
    >"$T/urls-grown"

shard_run() {   # LIST K N TAG
    "$IMGBATCH" fetch "$1" -o "$T/d-$4-$2" -c 16 --shard "$2/$3" \
        --report "$T/s-$4-$2" -q 2>"$T/stderr" || { cat "$T/stderr" >&2;
        fail "fetch --shard $2/$3 failed"; }
}
for k in 0 1 2 3 4; do
    shard_run "$T/urls" $k 5 a
    shard_run "$T/urls-grown" $k 5 b
done
python3 - "$T" <<'PY' || fail "shards do not partition the list"
import json, sys
t = sys.argv[1]
def shard_sets(tag, total):
    sets = []
    for k in range(5):
        lines = [json.loads(l) for l in open(f"{t}/s-{tag}-{k}")]
        s = lines[-1]
        items = lines[:-1]
        assert s["summary"] and all(i["status"] == "ok" for i in items)
        urls = {i["url"] for i in items}
        assert len(urls) == len(items)
        assert s["other_shards"] == total - len(items), s
        sets.append(urls)
    return sets
a = shard_sets("a", 1000)
b = shard_sets("b", 1100)
everything = [l.strip() for l in open(f"{t}/urls")]
assert sum(len(s) for s in a) == 1000 and set().union(*a) == set(everything)
for i in range(5):
    for j in range(i + 1, 5):
        assert not a[i] & a[j]
# every shard gets a fair share (binomial: 200 +- 4.5 sigma)
assert all(140 < len(s) < 260 for s in a), [len(s) for s in a]
grown = [l.strip() for l in open(f"{t}/urls-grown")]
assert sum(len(s) for s in b) == 1100 and set().union(*b) == set(grown)
for k in range(5):
    assert a[k] <= b[k], "an existing URL moved to another shard"
PY
ok "5 shards cover 1,000 URLs once each; 10% more moves none"

small="$T/small"
head -40 "$T/urls" >"$small"
urls_of() { python3 -c 'import json,sys
print("\n".join(sorted(json.loads(l)["url"] for l in open(sys.argv[1])
      if not json.loads(l).get("summary"))))' "$1"; }
"$IMGBATCH" fetch "$small" -o "$T/e" --shard 0/1 --report "$T/all" -q
[ "$(urls_of "$T/all" | wc -l)" = 40 ] || fail "--shard 0/1 is not everything"
"$IMGBATCH" fetch "$small" -o "$T/e" --shard 2/5 --report "$T/ref" -q
urls_of "$T/ref" >"$T/ref.urls"
[ -s "$T/ref.urls" ] || fail "shard 2/5 of 40 URLs is empty"
JOB_COMPLETION_INDEX=2 "$IMGBATCH" fetch "$small" -o "$T/e" --shard k8s/5 \
    --report "$T/k1" -q
JOB_COMPLETION_INDEX=2 IMGBATCH_SHARD_COUNT=5 "$IMGBATCH" fetch "$small" \
    -o "$T/e" --shard k8s --report "$T/k2" -q
SLURM_ARRAY_TASK_ID=12 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_MAX=14 \
    "$IMGBATCH" fetch "$small" -o "$T/e" --shard slurm/5 --report "$T/k3" -q
SLURM_ARRAY_TASK_ID=2 IMGBATCH_SHARD_COUNT=5 "$IMGBATCH" fetch "$small" \
    -o "$T/e" --shard slurm --report "$T/k4" -q
# index 2 resubmitted alone (sbatch --array=2): a one-task array
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=2 SLURM_ARRAY_TASK_MAX=2 \
    SLURM_ARRAY_TASK_COUNT=1 "$IMGBATCH" fetch "$small" -o "$T/e" \
    --shard slurm/5 --report "$T/k5" -q
for f in k1 k2 k3 k4 k5; do
    urls_of "$T/$f" | cmp -s - "$T/ref.urls" || fail "$f is not shard 2/5"
done
# run takes the same --shard: its items are the same URLs
"$IMGBATCH" run "$small" -o "$T/runout" --shard 2/5 --report "$T/k6" -q \
    2>/dev/null || true
urls_of "$T/k6" | cmp -s - "$T/ref.urls" || fail "run --shard 2/5 differs"
ok "k8s/N, k8s + IMGBATCH_SHARD_COUNT and slurm name the same shard as K/N"

bad() {   # ENV... -- ARGS: must be a usage error naming --shard
    local rc=0
    env "$@" >/dev/null 2>"$T/err" || rc=$?
    [ "$rc" = 2 ] || fail "exit $rc, expected 2: $*"
    grep -q -- "--shard" "$T/err" || fail "no --shard message: $*"
}
for v in 5/5 -1/5 1/0 a/5 1/ /5 1/5/2 x k8s/0 k8s/x slurm/0 slurm/x; do
    bad "$IMGBATCH" fetch "$small" -o "$T/e" --shard "$v"
    bad "$IMGBATCH" transform "$T" -o "$T/e" --shard "$v"
    bad "$IMGBATCH" run "$small" -o "$T/e" --shard "$v"
done
bad -u JOB_COMPLETION_INDEX "$IMGBATCH" fetch "$small" -o "$T/e" --shard k8s/5
bad JOB_COMPLETION_INDEX=5 "$IMGBATCH" fetch "$small" -o "$T/e" --shard k8s/5
bad -u IMGBATCH_SHARD_COUNT JOB_COMPLETION_INDEX=1 "$IMGBATCH" fetch "$small" \
    -o "$T/e" --shard k8s
bad -u SLURM_ARRAY_TASK_ID "$IMGBATCH" fetch "$small" -o "$T/e" \
    --shard slurm/5
bad -u IMGBATCH_SHARD_COUNT SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=5 \
    "$IMGBATCH" fetch "$small" -o "$T/e" --shard slurm
bad SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=5 \
    "$IMGBATCH" fetch "$small" -o "$T/e" --shard slurm/5
ok "malformed values and missing variables are usage errors"
