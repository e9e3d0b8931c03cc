#!/usr/bin/env bash
# The job scripts in jobs/ submitted to a real (one-node, localhost) SLURM:
#   1. link.sbatch on 2 ranks gives the same /records /persons /edges as a
#      direct mpirun -np 2 run, records the job id and submit time in the
#      result's `slurm` attribute, and passes ddwlink's exit status on (a bad
#      configuration: 2);
#   2. sweep.sbatch over that result writes sweep.json with one grid entry per
#      threshold, with persons and pair_f1 (skipped until `ddwlink sweep` exists);
#   3. rerun.sbatch on 1 rank says the 2-rank result is identical, exit 0;
#   4. a link job cancelled right after it has read its input leaves no
#      link.h5; a link job requeued while it writes leaves only the hidden
#      temporary, and its second attempt cleans that up and completes.
# Starts SLURM with tests/slurm/slurm-local.sh (installing it if needed) and
# stops it at exit, unless it was already running before (then it is left as
# found, and only this test's jobs are cancelled), or DDW_SLURM_KEEP=1.
# Fails, loudly, if SLURM cannot be started.  Must run as root.  Run alone:
#   bash tests/slurm/jobs.sh        (about a minute once the packages are in)
source "$(dirname "$0")/../mpi/common.sh" # cd to the repository root; TMP, DDW, PY
set +e                                    # failures are counted, not fatal

LOCAL=tests/slurm/slurm-local.sh
export DDW_SLURM_DIR=${DDW_SLURM_DIR:-/tmp/ddw-slurm}
export SLURM_CONF=$DDW_SLURM_DIR/slurm.conf
export DDW_RESULTS=$TMP/slurm_results # where the job scripts put results/<name>-<id>/
mkdir -p "$DDW_RESULTS"
LOGS=$DDW_RESULTS # job logs: -o $LOGS/slurm-%x-%j.out
nfail=0
t_start=$SECONDS
pass() { echo "PASS  $*"; }
fail() {
    echo "FAIL  $*"
    nfail=$((nfail + 1))
}
note() { echo "      $*"; }
elapsed() { echo "$((SECONDS - t_start))s"; }
joblog() { echo "$LOGS/slurm-$1-$2.out"; } # NAME ID
show_log() { [ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/      | /'; }

# one run of this test at a time on this machine (one cluster, fixed ports)
exec 9>"$DDW_SLURM_DIR.test.lock"
flock -w 900 9 || {
    echo "FAIL  another tests/slurm/jobs.sh holds $DDW_SLURM_DIR.test.lock"
    exit 1
}

[ "$(id -u)" -eq 0 ] || {
    echo "FAIL  tests/slurm/jobs.sh must run as root (it starts the SLURM daemons)"
    exit 1
}
[ -x "$DDW" ] || {
    echo "FAIL  $DDW not built (run make)"
    exit 1
}

# ---- start SLURM ------------------------------------------------------------
was_up=0
if command -v sinfo >/dev/null && bash $LOCAL status 2>/dev/null | grep -q '^slurmctld .*alive' &&
    bash $LOCAL status 2>/dev/null | grep -q '^slurmd .*alive'; then
    was_up=1
fi
our_jobs=()
cleanup() {
    trap - EXIT INT TERM HUP
    if ((was_up)) || [ "${DDW_SLURM_KEEP:-0}" = 1 ]; then
        ((${#our_jobs[@]})) && scancel "${our_jobs[@]}" 2>/dev/null
        echo "      SLURM left running ($( ((was_up)) && echo "it was up before this test" || echo DDW_SLURM_KEEP=1))"
    else
        bash $LOCAL stop >"$TMP/slurm_stop.log" 2>&1 || {
            echo "FAIL  slurm-local.sh stop"
            show_log "$TMP/slurm_stop.log"
        }
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

t0=$SECONDS
if ! bash $LOCAL start >"$TMP/slurm_start.log" 2>&1; then
    echo "FAIL  local SLURM did not start (tests/slurm/slurm-local.sh start); its output:"
    show_log "$TMP/slurm_start.log" 40
    echo "      daemon logs: $DDW_SLURM_DIR/log/"
    exit 1
fi
pass "local SLURM up in $((SECONDS - t0))s ($(sinfo -h -o '%n %t %c CPUs' | head -1))"

# submit_wait NAME ARGS...: sbatch --wait, sets JID and RC (the job's exit status);
# every test job gets a 5-minute limit, and the wait gives up after 300 s
submit_wait() {
    local name=$1
    shift
    local out
    out=$(timeout 300 sbatch --parsable --wait --time=5 -J "$name" -o "$LOGS/slurm-%x-%j.out" "$@" \
        2>"$TMP/sbatch.err")
    RC=$?
    ((RC == 124)) && note "sbatch --wait gave up after 300 s (job pending or hung?)"
    JID=${out%%;*}
    JID=${JID//[^0-9]/}
    [ -n "$JID" ] && our_jobs+=("$JID")
    [ -n "$JID" ] || {
        note "sbatch printed no job id:"
        show_log "$TMP/sbatch.err"
    }
}
# job_field ID FIELD: one field of `scontrol show job` (kept MinJobAge=300 s)
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

# ---- 1. link.sbatch on 2 ranks vs a direct mpirun ----------------------------
t0=$SECONDS
has_sweep=0
$DDW sweep --help >/dev/null 2>&1 && has_sweep=1
submit_wait ddwtest --ntasks=2 --cpus-per-task=1 jobs/link.sbatch configs/example.ini --keep-edges-above -4
link_id=$JID
res=$DDW_RESULTS/ddwtest-$link_id/link.h5
log=$(joblog ddwtest "$link_id")
if [ "$RC" -eq 0 ] && [ -f "$res" ]; then
    pass "link.sbatch job $link_id exit 0 in $((SECONDS - t0))s: $res"
else
    fail "link.sbatch job ${link_id:-?}: exit $RC, result ${res} $([ -f "$res" ] && echo exists || echo missing)"
    show_log "$log"
fi
if grep -q "on 2 rank(s) x 1 thread(s)" "$log" 2>/dev/null; then
    pass "link.sbatch: one MPI job of 2 ranks x 1 thread (srun --mpi=pmix)"
else
    fail "link.sbatch: log does not say 'on 2 rank(s) x 1 thread(s)'"
    show_log "$log"
fi
run_link 2 1 "$TMP/slurm_direct" --config configs/example.ini --keep-edges-above -4 2>"$TMP/slurm_direct.log"
direct=$TMP/slurm_direct/link.h5
same=1
for g in /records /persons /edges; do
    if ! h5diff "$res" "$direct" "$g" "$g" >"$TMP/h5diff.out" 2>&1; then
        fail "link.sbatch result differs from mpirun -np 2 in $g"
        show_log "$TMP/h5diff.out" 10
        same=0
    fi
done
((same)) && pass "link.sbatch result = mpirun -np 2 result (h5diff /records /persons /edges)"
slurm_attr=$(h5dump -a /slurm "$res" 2>/dev/null | sed -n 's/.*(0): "\(.*\)".*/\1/p')
if [[ $slurm_attr == *"job_id=$link_id "* && $slurm_attr =~ submit_time=[0-9]{4}-[0-9]{2}-[0-9]{2}T ]]; then
    pass "slurm attribute: $slurm_attr"
else
    fail "slurm attribute lacks job_id=$link_id or a submit time: '$slurm_attr'"
fi
# exit status passed on: a configuration error is exit 2 from every rank
submit_wait ddwbad --ntasks=2 jobs/link.sbatch configs/example.ini --set match.no_such_key=1
if [ "$RC" -eq 2 ] && [ ! -e "$DDW_RESULTS/ddwbad-$JID/link.h5" ]; then
    pass "link.sbatch with a bad --set: job exit 2 (ddwlink's), no link.h5"
else
    fail "link.sbatch with a bad --set: exit $RC (expected 2)"
    show_log "$(joblog ddwbad "$JID")"
fi
note "[$(elapsed)]"

# ---- 2. sweep.sbatch ----------------------------------------------------------
if ((has_sweep == 0)); then
    echo "SKIP  sweep.sbatch: this ddwlink has no working 'sweep' command yet"
elif [ -f "$res" ]; then
    t0=$SECONDS
    submit_wait ddwsweep jobs/sweep.sbatch "$res" -4:10:2 data/example/truth.csv
    json=$(dirname "$res")/sweep.json
    if [ "$RC" -eq 0 ] && [ -s "$json" ]; then
        pass "sweep.sbatch job $JID exit 0 in $((SECONDS - t0))s: $json"
        if $PY - "$json" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
g = d["grid"]
assert len(g) == 8, f"{len(g)} grid entries, expected 8"
ts = [e["threshold"] for e in g]
assert [round(t, 9) for t in ts] == [-4, -2, 0, 2, 4, 6, 8, 10], f"thresholds {ts}"
for e in g:
    for k in ("persons", "pair_f1"):
        assert k in e, f"entry {e} lacks {k}"
print("      sweep: " + ", ".join(f"{e['threshold']:g}: {e['persons']} persons F1 {e['pair_f1']:.4f}" for e in g))
PY
            pass "sweep.json: 8 grid entries (-4..10 step 2), each with persons and pair_f1"
        else
            fail "sweep.json content"
        fi
    else
        fail "sweep.sbatch job ${JID:-?}: exit $RC, $json $([ -s "$json" ] && echo exists || echo missing)"
        show_log "$(joblog ddwsweep "$JID")"
    fi
    note "[$(elapsed)]"
fi

# ---- 3. rerun.sbatch ------------------------------------------------------------
if ! $DDW rerun --help >/dev/null 2>&1; then
    echo "SKIP  rerun.sbatch: this ddwlink has no working 'rerun' command yet"
elif [ -f "$res" ]; then
    t0=$SECONDS
    submit_wait ddwrerun --ntasks=1 jobs/rerun.sbatch "$res"
    log=$(joblog ddwrerun "$JID")
    if [ "$RC" -eq 0 ] && grep -q "^rerun: identical" "$log"; then
        pass "rerun.sbatch job $JID on 1 rank: exit 0, 'rerun: identical' in $((SECONDS - t0))s"
    else
        fail "rerun.sbatch job ${JID:-?}: exit $RC, verdict: $(grep -m1 '^rerun:' "$log" 2>/dev/null)"
        show_log "$log"
    fi
    note "[$(elapsed)]"
fi

# ---- 4. killed and requeued link jobs ---------------------------------------------
# wait_state ID STATE SECONDS: poll squeue until the job is in STATE
wait_state() {
    for _ in $(seq $(($3 * 10))); do
        [ "$(squeue -h -j "$1" -o %T 2>/dev/null)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# wait_gone ID SECONDS: poll until the job has left the queue
wait_gone() {
    for _ in $(seq $(($2 * 10))); do
        [ -z "$(squeue -h -j "$1" -o %T 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}
t0=$SECONDS
if ! $DDW generate --persons 200000 --seed 3 --out "$TMP/big" >"$TMP/big.log" 2>&1; then
    fail "ddwlink generate --persons 200000"
    show_log "$TMP/big.log"
else
    # (a) scancel as soon as the job has finished reading its input (its log
    # says "ingest done"), so the cancel lands mid-run however fast the link is
    kid=$(sbatch --parsable --time=5 --ntasks=2 -J ddwkill -o "$LOGS/slurm-%x-%j.out" jobs/link.sbatch "$TMP/big/link.ini")
    kid=${kid%%;*}
    [ -n "$kid" ] && our_jobs+=("$kid")
    kdir=$DDW_RESULTS/ddwkill-$kid
    if [ -z "$kid" ]; then
        fail "kill test: sbatch gave no job id"
    elif ! wait_state "$kid" RUNNING 60; then
        fail "kill test: job $kid never reached RUNNING"
    else
        klog=$LOGS/slurm-ddwkill-$kid.out
        for _ in $(seq 1200); do # up to 60 s
            grep -q "ingest *done" "$klog" 2>/dev/null && break
            [ -z "$(squeue -h -j "$kid" -o %T 2>/dev/null)" ] && break
            sleep 0.05
        done
        scancel "$kid"
        wait_gone "$kid" 60
        state=$(job_field "$kid" JobState)
        left=$(ls -A "$kdir" 2>/dev/null | tr '\n' ' ')
        if [ "$state" != CANCELLED ]; then
            fail "kill test: job $kid ended $state before the cancel (input too small?)"
        elif [ -e "$kdir/link.h5" ]; then
            fail "kill test: cancelled job $kid left $kdir/link.h5"
        else
            pass "scancel after the ingest of a 200000-person link: CANCELLED, no link.h5 (left: ${left:-nothing})"
        fi
    fi
    # (b) requeued while writing: only the hidden temporary is left; the second
    # attempt removes it and completes
    rid=$(sbatch --parsable --time=5 --requeue --ntasks=2 -J ddwrequeue -o "$LOGS/slurm-%x-%j.out" \
        jobs/link.sbatch "$TMP/big/link.ini")
    rid=${rid%%;*}
    [ -n "$rid" ] && our_jobs+=("$rid")
    rdir=$DDW_RESULTS/ddwrequeue-$rid
    seen=0
    [ -n "$rid" ] && for _ in $(seq 1200); do # up to 60 s for the write to start
        compgen -G "$rdir/.link.h5.tmp.*" >/dev/null && {
            seen=1
            break
        }
        [ -z "$(squeue -h -j "$rid" -o %T 2>/dev/null)" ] && break
        sleep 0.05
    done
    if ((seen == 0)); then
        fail "requeue test: job $rid never started writing"
    else
        scontrol requeue "$rid"
        wait_state "$rid" PENDING 30
        left=$(ls -A "$rdir" 2>/dev/null | tr '\n' ' ')
        if [ -e "$rdir/link.h5" ]; then
            note "requeue test: the write finished before the requeue took effect; kill-during-write not exercised"
        elif compgen -G "$rdir/.link.h5.tmp.*" >/dev/null; then
            pass "killed during the write: no link.h5, only the hidden temporary (${left})"
        else
            fail "requeue test: neither link.h5 nor a temporary in $rdir (${left})"
        fi
        # a requeued job waits 2 minutes (BeginTime) unless released now; release
        # it only once the killed attempt is fully gone, or slurmd refuses the
        # restart ("Job credential revoked")
        sleep 5
        scontrol update JobId="$rid" StartTime=now
        wait_gone "$rid" 120
        state=$(job_field "$rid" JobState)
        restarts=$(job_field "$rid" Restarts)
        left=$(ls -A "$rdir" 2>/dev/null | tr '\n' ' ')
        if [ "$state" = COMPLETED ] && [ "$restarts" = 1 ] && [ -f "$rdir/link.h5" ] &&
            ! compgen -G "$rdir/.link.h5.tmp.*" >/dev/null; then
            pass "requeued job completed on restart 1: link.h5, temporary removed (${left})"
        else
            fail "requeued job $rid: state $state, restarts $restarts, files: ${left}"
            show_log "$(joblog ddwrequeue "$rid")"
        fi
    fi
fi
note "[$(elapsed)] kill and requeue tests took $((SECONDS - t0))s"

echo
if ((nfail)); then
    echo "tests/slurm/jobs.sh: $nfail check(s) FAILED (logs: $LOGS, SLURM logs: $DDW_SLURM_DIR/log)"
    exit 1
fi
echo "tests/slurm/jobs.sh: all checks passed in $(elapsed)"
