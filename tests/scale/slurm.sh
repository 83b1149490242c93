#!/usr/bin/env bash
# tests/scale/slurm.sh: examples/slurm-array.sbatch, as shipped, run as a
# 4-task job array on a real one-node Slurm cluster that this test starts.
#
# The cluster: munged, slurmctld and slurmd, as root, from a temporary
# folder with a generated slurm.conf (one node of 2 CPUs, one partition,
# proctrack/linuxproc, task/none: no cgroup plugin, no accounting, no
# systemd), on ports picked free. Only what a user changes is set from
# outside the example: the list, output and reports paths and the shard
# count (IMGBATCH_* in sbatch's environment), and --array, --cpus-per-task,
# --mem and --output on sbatch's command line. imgbatch comes from PATH.
#
#   1. 419 URLs (photos and the generator's good and broken files) served
#      by tests/server.py, each answered after DELAY_MS, so a shard takes
#      a few seconds; an unsharded imgbatch run of them is the reference.
#   2. sbatch --array=0-3; task 2 is cancelled mid-run (scancel: SIGTERM,
#      then SIGKILL after KillWait) and resubmitted alone, --array=2.
#   3. The four reports cover the list once, no URL in two; the shared
#      output folder equals the reference byte for byte, with no temp
#      file; each log shows --procs from SLURM_CPUS_PER_TASK (and task 2,
#      seen running, has that many workers); each task's exit code
#      matches its report.
#   4. Index 2 resubmitted once more after everything finished (the
#      resubmission that used to make one task redo the whole list): it
#      does shard 2 of 4 only, and nothing again.
#   5. The morning summary: tests/scale/summary.py over the four reports,
#      and imgbatch report agreeing with it.
# Daemons, jobs and files go whatever happens (lib.sh's exit trap); the
# wall time is printed at the end.
: "${IB_GEN:?run under ctest}"
. "${IB_TESTS:?run under ctest}/cli/lib.sh"

EXAMPLE=$IB_TESTS/../examples/slurm-array.sbatch
SUMMARY=$IB_TESTS/scale/summary.py
SHARDS=4
PHOTOS=340        # names for 8 photos; plus the generator's 79 files
DELAY_MS=300      # per response: ~105 URLs a shard, 8 at a time
RECIPE="--resize 1024x1024 --quality 85"   # the example's, checked below

START=$SECONDS
ok() { echo "ok - $*  [$((SECONDS - START)) s]"; }

[ "$(id -u)" = 0 ] || fail "run as root: this test's slurmd runs jobs as root"
for tool in munged slurmctld slurmd sbatch squeue scancel scontrol sinfo pgrep \
    convert; do
    command -v "$tool" >/dev/null ||
        fail "$tool not found: run scripts/deps.sh (slurm-wlm, munge, ...)"
done

# A Slurm job running this test (CI on Slurm) must not leak its
# variables into the jobs of our own cluster.
while read -r v; do
    case $v in SLURM_* | SBATCH_* | SQUEUE_* | SINFO_* | SCANCEL_*) unset "$v" ;;
    esac
done < <(compgen -e)

chmod 755 "$T"   # munged wants its socket's folder open to all
export SLURM_CONF=$T/etc/slurm.conf
MUNGED_PID= CTLD_PID= SLURMD_PID=

stop_cluster() {
    local pid p
    trap - INT TERM
    if [ -n "$CTLD_PID" ] && kill -0 "$CTLD_PID" 2>/dev/null; then
        scancel --user=root 2>/dev/null
        for _ in $(seq 1 50); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    for pid in $SLURMD_PID $CTLD_PID $MUNGED_PID; do
        kill "$pid" 2>/dev/null
    done
    for pid in $SLURMD_PID $CTLD_PID $MUNGED_PID; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # slurmd's steps outlive it (slurmstepd daemonises): whatever still
    # runs with our configuration is a job of this test's cluster
    # (read in bash: a fork per process is slow on a busy machine)
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = $$ ] && continue
        while IFS= read -r -d '' e; do
            if [ "$e" = "SLURM_CONF=$SLURM_CONF" ]; then
                kill -KILL "$pid"
                break
            fi
        done 2>/dev/null <"$p/environ"
    done
    echo "wall time: $((SECONDS - START)) s"
}
at_exit stop_cluster
trap 'exit 130' INT
trap 'exit 143' TERM

# dump LOG...: the tail of daemon logs, for a failure's context
dump() {
    for f in "$@"; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    return 0
}
daemon_logs() { dump "$T"/log/*; }

# ---- the cluster ------------------------------------------------------
mkdir -p "$T/etc" "$T/munge" "$T/run" "$T/log" "$T/state" "$T/spool" \
    "$T/bin" "$T/srv" "$T/gen" "$T/photos" "$T/reports" "$T/logs"
chmod 700 "$T/munge"
chmod 755 "$T/run"
head -c 1024 /dev/urandom >"$T/munge/munge.key"
chmod 600 "$T/munge/munge.key"
munged -F --key-file="$T/munge/munge.key" --socket="$T/run/munge.sock" \
    --pid-file="$T/run/munged.pid" --log-file="$T/log/munged.log" \
    --seed-file="$T/munge/seed" >>"$T/log/munged.out" 2>&1 &
MUNGED_PID=$!
for _ in $(seq 1 100); do
    [ -S "$T/run/munge.sock" ] && break
    kill -0 "$MUNGED_PID" 2>/dev/null || { daemon_logs; fail "munged exited"; }
    sleep 0.1
done
[ -S "$T/run/munge.sock" ] || { daemon_logs; fail "munged made no socket"; }

read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
NODE=$(hostname -s)   # slurmctld and slurmd find themselves by host name
cat >"$SLURM_CONF" <<EOF
ClusterName=ibtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/run/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
PlugStackConfig=$T/etc/plugstack.conf
MailProg=/bin/true
# no cgroup: processes tracked through /proc, tasks not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# the node is what this file says, whatever the machine has
SlurmdParameters=config_overrides
ReturnToService=2
# scancel: SIGTERM, SIGKILL 5 s later
KillWait=5
# finished jobs stay visible to scontrol for the checks
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=2 RealMemory=1024 State=UNKNOWN
PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
: >"$T/etc/plugstack.conf"
slurmctld -D >>"$T/log/slurmctld.out" 2>&1 &
CTLD_PID=$!
slurmd -D >>"$T/log/slurmd.out" 2>&1 &
SLURMD_PID=$!

# ---- the images, while the daemons start -------------------------------
"$IB_GEN" "$T/gen" >/dev/null
for s in $(seq 1 8); do
    convert -size 640x480 -seed "$s" plasma:fractal -quality 90 \
        "$T/photos/$s.jpg"
done
# PHOTOS names for the 8 photos, and every generated file: one process,
# not a fork per link
python3 - "$T" "$PHOTOS" <<'PY'
import os, sys
t, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.link(f"{t}/photos/{i % 8 + 1}.jpg", f"{t}/srv/p{i:03d}.jpg")
for f in os.listdir(f"{t}/gen"):
    os.link(f"{t}/gen/{f}", f"{t}/srv/g-{f}")
PY
start_server
(cd "$T/srv" && ls) | sed "s|^|$BASE/file/|; s|\$|?ms=$DELAY_MS|" \
    >"$T/urls.txt"
NURLS=$(wc -l <"$T/urls.txt")
[ "$NURLS" -ge 400 ] || fail "only $NURLS URLs"

state=
for _ in $(seq 1 300); do
    state=$(sinfo -h -n "$NODE" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    kill -0 "$CTLD_PID" 2>/dev/null || { daemon_logs; fail "slurmctld exited"; }
    kill -0 "$SLURMD_PID" 2>/dev/null || { daemon_logs; fail "slurmd exited"; }
    sleep 0.1
done
[ "$state" = idle ] || { daemon_logs; fail "node $NODE is '$state', not idle"; }
ok "one-node cluster up: $NODE idle, 2 CPUs ($(slurmctld -V))"

# ---- the reference: one unsharded run ---------------------------------
rc=0
# shellcheck disable=SC2086
"$IMGBATCH" run "$T/urls.txt" -o "$T/ref" $RECIPE -c 64 --per-host 64 \
    --report "$T/ref.jsonl" --progress never -q 2>"$T/ref.err" || rc=$?
[ "$rc" = 1 ] || { cat "$T/ref.err" >&2;
    fail "reference run: exit $rc, expected 1 (broken inputs)"; }
python3 "$SUMMARY" --items "$T/ref.items" "$T/urls.txt" "$T/ref.jsonl" \
    >"$T/ref.summary" || { cat "$T/ref.summary" >&2; fail "reference report"; }
count() { cut -f2 "$T/ref.items" | grep -cx "$1" || true; }
[ "$(count done)" -gt 0 ] && [ "$(count failed)" -gt 0 ] ||
    fail "the reference should have done and failed items"
ok "reference: $NURLS URLs unsharded, $(count done) done, $(count failed) failed"

# ---- the array --------------------------------------------------------
ln -s "$IMGBATCH" "$T/bin/imgbatch"
export PATH="$T/bin:$PATH"
export IMGBATCH_LIST=$T/urls.txt IMGBATCH_OUT=$T/out
export IMGBATCH_REPORTS=$T/reports IMGBATCH_SHARD_COUNT=$SHARDS

# submit ARRAY: the example itself, as a user submits it; prints the job id
submit() {
    local id
    id=$(cd "$T" && sbatch --parsable --array="$1" --cpus-per-task=1 \
        --mem=256M --output="$T/logs/%A_%a.log" "$EXAMPLE") ||
        { daemon_logs; fail "sbatch --array=$1 failed"; }
    echo "${id%%;*}"
}

# wait_gone JOB SECONDS: until no task of JOB is pending or running
wait_gone() {
    local end=$((SECONDS + $2)) left
    while :; do
        left=$(squeue -h -j "$1" -o %i) ||
            { daemon_logs; fail "squeue failed"; }
        [ -z "$left" ] && return 0
        [ "$SECONDS" -lt "$end" ] ||
            { daemon_logs; fail "job $1 still queued after $2 s: $left"; }
        sleep 0.3
    done
}

# task_field JOB_TASK FIELD: JobState, ExitCode, ... of one array task
task_field() {
    scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# lines FILE: lines in FILE, 0 when it does not exist yet
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

JOB=$(submit "0-$((SHARDS - 1))")
# task 2 runs in the second wave: cancel it once it has done some items
for _ in $(seq 1 600); do
    [ "$(lines "$T/reports/2.jsonl")" -ge 10 ] && break
    sleep 0.1
done
[ "$(lines "$T/reports/2.jsonl")" -ge 10 ] ||
    { daemon_logs; dump "$T"/logs/*; fail "task ${JOB}_2 did not start"; }
# its workers, forked before the first download: one per CPU Slurm gave
# the task (--cpus-per-task=1), all with the parent's command line
running=$(pgrep -f -- "--report $T/reports/2.jsonl" | wc -l)
[ "$running" = 2 ] ||
    fail "task ${JOB}_2 runs $((running - 1)) workers, not 1 (--cpus-per-task=1)"
scancel "${JOB}_2"
wait_gone "$JOB" 180
cp "$T/reports/2.jsonl" "$T/cancelled-2.jsonl"
[ "$(task_field "${JOB}_2" JobState)" = CANCELLED ] ||
    fail "task ${JOB}_2 is $(task_field "${JOB}_2" JobState), not CANCELLED"
cancelled=$(python3 - "$T/cancelled-2.jsonl" <<'PY'
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = lines[-1]
# SIGTERM: in-flight items finished or cancelled, the report written
assert s.get("summary") and s["interrupted"], s
n = collections.Counter(i["status"] for i in lines[:-1])
assert n["ok"] and n["skipped"], f"not mid-run: {n}"
print(", ".join(f"{v} {k}" for k, v in sorted(n.items())))
why = collections.Counter(i["error"] for i in lines[:-1]
                          if i["status"] == "failed")
for e, k in why.most_common():
    print(f"    {k} x {e}", file=sys.stderr)
PY
) || fail "task ${JOB}_2 was not cancelled mid-run with its report written"
tmps=$(find "$T/out" \( -name '.*.tmp-*' -o -name '*.part.*' \) | wc -l)
ok "array $JOB: task 2 cancelled mid-run (ExitCode" \
    "$(task_field "${JOB}_2" ExitCode); report: $cancelled; $tmps temp files)"

JOB2=$(submit 2)
wait_gone "$JOB2" 120
ok "index 2 resubmitted alone: job $JOB2"

# ---- checks -----------------------------------------------------------
reports=()
for k in $(seq 0 $((SHARDS - 1))); do reports+=("$T/reports/$k.jsonl"); done
python3 "$SUMMARY" --items "$T/sharded.items" "$T/urls.txt" "${reports[@]}" \
    >"$T/sharded.summary" ||
    { cat "$T/sharded.summary" >&2; fail "the shards do not add up to the list"; }
cmp -s "$T/sharded.items" "$T/ref.items" ||
    { diff "$T/ref.items" "$T/sharded.items" | head >&2;
      fail "sharded statuses differ from the unsharded run"; }
ok "4 reports: every URL once, none in two, same done/failed as unsharded"

# the outputs, leaving out the downloads and journals (dot names)
diff -rq -x '.*' "$T/ref" "$T/out" >"$T/diff" ||
    { head "$T/diff" >&2; fail "the shared OUT differs from the unsharded"; }
left=$(find "$T/out" \( -name '.*.tmp-*' -o -name '*.part.*' \) -print)
[ -z "$left" ] || fail "temp files left: $left"
nout=$(find "$T/ref" -maxdepth 1 -type f ! -name '.*' | wc -l)
ok "$nout outputs in the shared folder equal the unsharded run's byte for" \
    "byte, no temp file"

# each task: the CPUs Slurm gave it as --procs, the example's recipe, and
# an exit code that says what its report says (1: some items failed)
check_task() {   # JOB_TASK REPORT
    local log=$T/logs/${1}.log want
    grep -q -- "--shard slurm/$SHARDS --procs 1 $RECIPE " "$log" ||
        { cat "$log" >&2;
          fail "$1: the log has no --shard slurm/$SHARDS --procs 1 $RECIPE"; }
    grep -q '"status":"failed"' "$2" && want=1:0 || want=0:0
    [ "$(task_field "$1" ExitCode)" = "$want" ] ||
        fail "$1: exit code $(task_field "$1" ExitCode), its report says $want"
}
check_task "${JOB}_0" "$T/reports/0.jsonl"
check_task "${JOB}_1" "$T/reports/1.jsonl"
check_task "${JOB}_3" "$T/reports/3.jsonl"
check_task "${JOB2}_2" "$T/reports/2.jsonl"
# the resubmission finished what the cancelled run had not begun
python3 - "$T/cancelled-2.jsonl" "$T/reports/2.jsonl" <<'PY' ||
import json, sys
def items(p):
    return [json.loads(l) for l in open(p) if '"summary":true' not in l]
before = {i["url"]: i["status"] for i in items(sys.argv[1])}
after = {i["url"]: i["status"] for i in items(sys.argv[2])}
done = [u for u, s in before.items() if s == "ok"]
assert done and all(after[u] in ("unchanged", "failed") for u in done), \
    "an item done before the cancel was done again"
assert set(before) <= set(after)
PY
    fail "the resubmitted task 2 redid items the cancelled one had done"
ok "each task ran --procs SLURM_CPUS_PER_TASK (1; task 2 had 1 worker); exit codes match the reports"

# ---- the defect: a completed index resubmitted ------------------------
cp "$T/reports/2.jsonl" "$T/done-2.jsonl"
JOB3=$(submit 2)
wait_gone "$JOB3" 120
check_task "${JOB3}_2" "$T/reports/2.jsonl"
python3 - "$T/done-2.jsonl" "$T/reports/2.jsonl" "$NURLS" <<'PY' ||
import json, sys
def read(p):
    lines = [json.loads(l) for l in open(p)]
    return {i["url"]: i["status"] for i in lines[:-1]}, lines[-1]
before, _ = read(sys.argv[1])
after, s = read(sys.argv[2])
# shard 2 of 4 again: the same URLs, not the list (N from the array: 1)
assert set(after) == set(before), (len(after), len(before))
assert len(after) + s["other_shards"] == int(sys.argv[3])
assert all(v in ("unchanged", "failed") for v in after.values())
PY
    fail "a resubmitted --array=2 did not do exactly shard 2 of $SHARDS"
ok "a completed index resubmitted alone does shard 2 of $SHARDS again, nothing twice"

# ---- the morning ------------------------------------------------------
python3 "$SUMMARY" "$T/urls.txt" "${reports[@]}" >"$T/morning" ||
    { cat "$T/morning" >&2; fail "morning summary"; }
cat "$T/morning"
ok "morning summary of the 4 reports"

# the operator's own answer: imgbatch report merges the four reports into
# the totals the test's reader found
rc=0
"$IMGBATCH" report --json "${reports[@]}" >"$T/report.json" || rc=$?
[ "$rc" -le 1 ] || fail "imgbatch report: exit $rc"
"$IMGBATCH" report "${reports[@]}" || true
python3 - "$T/report.json" "${reports[@]}" <<'PY' ||
import json, sys
r = json.load(open(sys.argv[1]))
items = {}
for p in sys.argv[2:]:
    for l in open(p):
        o = json.loads(l)
        if not o.get("summary"):
            items.setdefault(o["status"], 0)
            items[o["status"]] += 1
assert r["files"] == 4, r["files"]
assert r["status"] == items, (r["status"], items)
assert r["distinct"] == r["items"], "an item in two shards"
PY
    fail "imgbatch report disagrees with the reports"
ok "imgbatch report merges the 4 reports into the same totals"
