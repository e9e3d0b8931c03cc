#!/usr/bin/env bash
# make bench: generates (once, cached under results/bench/) a synthetic Drug
# Data Warehouse of 1M persons with `ddwlink generate`, links it with the
# generated link.ini (training included) at 1 rank x 1 thread, 2 ranks x 1
# thread and 1 rank x 2 threads, measures the scored-pair balance on 4 ranks,
# scores the 2-rank result with `ddwlink evaluate`, links 100k and 3M persons
# at 2 ranks for the growth with size, and prints one
# "bench.<name>: <value> <unit>" line per figure plus each run's stage table.
# Each link runs twice and the faster run counts (RUNS=1 for one).
# The figures also go to results/bench/bench.json.
#   tests/bench/bench.sh [quick]     quick: 100k persons (growth: 30k, 300k)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
mode=${1:-full}
persons=1000000 small=100000 large=3000000
[ "$mode" = quick ] && persons=100000 small=30000 large=300000
out=results/bench
data=$out/gen_$persons
mkdir -p "$out"

# fresh_gen PERSONS DIR: generates into a scratch directory; when DIR already
# holds the same data (same truth.csv) its CSVs are kept but this build's
# configs are taken, else the scratch becomes DIR
fresh_gen() {
    local n=$1 d=$2 tmp=$out/gen_tmp
    rm -rf "$tmp"
    OMP_NUM_THREADS=1 mpirun --bind-to none -x OMP_NUM_THREADS -np 2 bin/ddwlink generate \
        --persons "$n" --seed 99 --out "$tmp" 2>"$out/generate_$n.log"
    if [ -f "$d/truth.csv" ] && cmp -s "$d/truth.csv" "$tmp/truth.csv"; then
        cp "$tmp/link.ini" "$tmp/attributor.ini" "$d/"
        rm -rf "$tmp"
    else
        rm -rf "$d"
        mv "$tmp" "$d"
    fi
    # link.ini names its own directory
    sed -i "s#$tmp#$d#g; s#$(realpath "$out")/gen_tmp#$(realpath "$d")#g" \
        "$d/link.ini" "$d/attributor.ini"
}
# the main input, its generator timed every time
fresh_gen $persons "$data"
cp "$out/generate_$persons.log" "$out/generate.log"
echo "== generate $persons persons: 2 ranks x 1 thread" >&2
cat "$out/generate.log" >&2
records=$(($(cat "$data"/ndtms.csv "$data"/dip.csv "$data"/drug_tests.csv "$data"/oasys.csv \
    "$data"/pnc.csv "$data"/ppo.csv | wc -l) - 6))

# RUNS (default 2): each link is run that many times and the run with the
# shortest total is kept, so that a machine shared with other tenants
# disturbs the figures less (every run gives the same result)
runs=${RUNS:-2}
run() { # NAME NP THREADS [DATA]
    local name=$1 np=$2 th=$3 d=${4:-$data} k best=""
    for ((k = 0; k < runs; k++)); do
        OMP_NUM_THREADS=$th mpirun --bind-to none -x OMP_NUM_THREADS -np "$np" bin/ddwlink link \
            --config "$d/link.ini" --out "$out/run_$name.try" 2>"$out/run_$name.try.log"
        local t=$(awk '$1 == "total" {print $2}' "$out/run_$name.try.log")
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then
            best=$t
            rm -rf "$out/run_$name"
            mv "$out/run_$name.try" "$out/run_$name"
            mv "$out/run_$name.try.log" "$out/run_$name.log"
        fi
    done
    rm -rf "$out/run_$name.try" "$out/run_$name.try.log"
    echo "== $name: $np rank(s) x $th thread(s), $(basename "$d"), fastest of $runs" >&2
    grep -E '^  (stage|ingest|block|train|score|cluster|write|total|bytes|pairs|peak)|^train: pass|refine:' \
        "$out/run_$name.log" >&2
}
# growth inputs: generated once, cached like the main one
gen_cached() { # PERSONS -> directory
    local n=$1 d=$out/gen_$1
    fresh_gen "$n" "$d" >&2
    echo "$d"
}
field() { # LOG STAGE -> seconds
    awk -v s="$2" '$1 == s {print $2}' "$1"
}
run r1t1 1 1
run r2t1 2 1
run r1t2 1 2
# balance at 4 ranks (oversubscribed: it counts work, not seconds)
run r4t1 4 1
# growth with size at 2 ranks x 1 thread
run small 2 1 "$(gen_cached $small)"
run large 2 1 "$(gen_cached $large)"

L11=$out/run_r1t1.log L21=$out/run_r2t1.log L12=$out/run_r1t2.log L41=$out/run_r4t1.log
pairs=$(awk '/pairs scored/ {print $3}' "$L11")
score11=$(field "$L11" score)
score21=$(field "$L21" score)
score12=$(field "$L12" score)
e2e21=$(field "$L21" total)
e2e11=$(field "$L11" total)
e2e12=$(field "$L12" total)
train21=$(field "$L21" train)
write21=$(field "$L21" write)
mb=$(awk '$1 == "ingest" {print $5}' "$L11")
rss=$(awk '/peak memory/ {print $3}' "$L21")
share() { # LOG rank|thread
    awk -v w="$2" '/largest rank share/ {for (i = 1; i + 2 <= NF; i++) if ($i == w && $(i + 1) == "share") print $(i + 2)}' "$1"
}
balance2=$(share "$L21" rank)
balance4=$(share "$L41" rank)
tbalance=$(share "$L12" thread)
recs_of() { awk '/rows read/ {print $3}' "$1"; }
LS=$out/run_small.log LL=$out/run_large.log
e2eS=$(field "$LS" total) e2eL=$(field "$LL" total)
recS=$(recs_of "$LS") recL=$(recs_of "$LL") rec21=$(recs_of "$L21")
rssL=$(awk '/peak memory/ {print $3}' "$LL")
sent() { # LOG STAGE -> bytes per record
    awk -v s="$2" '/bytes sent between ranks per stage/ {for (i = 1; i <= NF; i++) if ($i == s) {v = $(i + 3); gsub(/[(]/, "", v); print v}}' "$1"
}
gsec=$(awk '/ s \(generate/ {print $1}' "$out/generate.log")
BLK=$(sent "$L21" block) TRN=$(sent "$L21" train) CLU=$(sent "$L21" cluster) WRT=$(sent "$L21" write)
bin/ddwlink evaluate --truth "$data/truth.csv" "$out/run_r2t1/link.h5" --json >"$out/eval.json"
$PY - "$out/bench.json" "$out/eval.json" <<PY
import json, sys
ev = json.load(open(sys.argv[2]))
nd = min(v["pair_f1"] for k, v in ev["by_source_pair"].items()
         if k.startswith("ndtms|") and k != "ndtms|ndtms")
figs = {
    "persons": ($persons, "persons generated"),
    "records": ($records, "records"),
    "score_pairs_per_s_per_core": ($pairs / $score11, "pairs/s (1 rank x 1 thread, full model, tf)"),
    "e2e_seconds_1m": ($e2e21, "s (2 ranks x 1 thread, CSV to HDF5, training included)"),
    "e2e_seconds_1rank_1thread": ($e2e11, "s"),
    "e2e_seconds_1rank_2threads": ($e2e12, "s"),
    "peak_rss_gib_1m": ($rss, "GiB (sum over 2 ranks)"),
    "ingest_mb_per_s": ($mb, "MB/s (1 rank)"),
    "balance_max_over_mean": ($balance4, "(scored pairs, 4 ranks)"),
    "balance_max_over_mean_2ranks": ($balance2, "(scored pairs, 2 ranks)"),
    "balance_threads_max_over_mean": ($tbalance, "(candidate pairs examined, 2 threads of 1 rank)"),
    "e2e_seconds_small": ($e2eS, "s ($small persons, $recS records, 2 ranks x 1 thread)"),
    "e2e_seconds_large": ($e2eL, "s ($large persons, $recL records, 2 ranks x 1 thread)"),
    "growth_time_per_record_small_vs_main": (($e2eS / $recS) / ($e2e21 / $rec21), "x (1 = linear)"),
    "growth_time_per_record_large_vs_main": (($e2eL / $recL) / ($e2e21 / $rec21), "x (1 = linear)"),
    "peak_rss_gib_large": ($rssL, "GiB (sum over 2 ranks, $large persons)"),
    "bytes_per_record_block": (${BLK:-0}, "B sent per record in the blocking exchange (2 ranks)"),
    "bytes_per_record_train": (${TRN:-0}, "B sent per record in training (2 ranks)"),
    "bytes_per_record_cluster": (${CLU:-0}, "B sent per record in clustering (2 ranks)"),
    "bytes_per_record_write": (${WRT:-0}, "B sent per record in the write (2 ranks)"),
    "speedup_2ranks": ($e2e11 / $e2e21, "x end to end"),
    "speedup_2threads": ($e2e11 / $e2e12, "x end to end"),
    "speedup_2ranks_score": ($score11 / $score21, "x scoring stage"),
    "speedup_2threads_score": ($score11 / $score12, "x scoring stage"),
    "train_share": ($train21 / $e2e21, "of end to end (2 ranks)"),
    "write_share": ($write21 / $e2e21, "of end to end (2 ranks)"),
    "f1_1m": (ev["pair_f1"], "pairwise F1 (2 ranks, generated link.ini)"),
    "bcubed_f1_1m": (ev["bcubed_f1"], "B-cubed F1"),
    "f1_ndtms_min": (nd, "lowest ndtms|justice pairwise F1"),
    "generate_seconds": ($gsec, "s to generate the input (2 ranks x 1 thread)"),
}
for k, (v, unit) in figs.items():
    print(f"bench.{k}: {v:.6g} {unit}")
json.dump({k: {"value": v, "unit": u} for k, (v, u) in figs.items()}, open(sys.argv[1], "w"), indent=1)
PY
