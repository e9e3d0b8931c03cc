#!/usr/bin/env bash
# make bench: generates (once, cached under results/bench/) a synthetic
# Drug Data Warehouse-like input of about 1M records, links it at 1 rank x 1
# thread, 2 ranks x 1 thread and 1 rank x 2 threads, and prints one
# "bench.<name>: <value> <unit>" line per figure plus each run's stage table.
# The figures also go to results/bench/bench.json.
#   tests/bench/bench.sh [quick]     quick: ~100k records
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
mode=${1:-full}
persons=400000
[ "$mode" = quick ] && persons=40000
out=results/bench
data=$out/data_$persons
mkdir -p "$out"
if [ ! -f "$data/truth.csv" ]; then
    echo "generating $persons persons into $data (cached for later runs)" >&2
    $PY tools/make_example.py --seed 11 --persons "$persons" --out "$data" >/dev/null
fi
records=$(($(cat "$data"/treatment.csv "$data"/drug_tests.csv "$data"/probation.csv | wc -l) - 3))
# the example's model; the prior scales with the input: about 1.5 other
# records of the same person per record
prior=$($PY -c "print(1.5 / $records)")
sed "s|data/example/|$data/|" configs/example.ini >"$out/bench.ini"

run() { # NAME NP THREADS
    local name=$1 np=$2 th=$3
    OMP_NUM_THREADS=$th mpirun --bind-to none -x OMP_NUM_THREADS -np "$np" bin/ddwlink link \
        --config "$out/bench.ini" --set match.prior="$prior" --set block.max_block_size=2000 \
        --out "$out/run_$name" 2>"$out/run_$name.log"
    echo "== $name: $np rank(s) x $th thread(s)" >&2
    grep -E '^  (stage|ingest|block|score|cluster|write|total|pairs|peak)' "$out/run_$name.log" >&2
}
field() { # LOG STAGE -> seconds
    awk -v s="$2" '$1 == s {print $2}' "$1"
}
run r1t1 1 1
run r2t1 2 1
run r1t2 1 2

# the generator: 1M persons (quick: 100k) at 2 ranks x 1 thread and 1 x 2
gpersons=1000000
[ "$mode" = quick ] && gpersons=100000
gen() { # NAME NP THREADS
    OMP_NUM_THREADS=$3 mpirun --bind-to none -x OMP_NUM_THREADS -np "$2" bin/ddwlink generate \
        --persons $gpersons --seed 99 --out "$out/gen_$1" 2>"$out/gen_$1.log"
    echo "== generate $gpersons persons: $2 rank(s) x $3 thread(s)" >&2
    cat "$out/gen_$1.log" >&2
}
gen r2t1 2 1
gen r1t2 1 2
gsec=$(awk '/ s \(generate/ {print $1}' "$out/gen_r2t1.log")
gsec12=$(awk '/ s \(generate/ {print $1}' "$out/gen_r1t2.log")
grss=$(awk '/peak memory/ {for (i = 1; i <= NF; i++) if ($i == "memory") print $(i + 1)}' "$out/gen_r2t1.log")
grecords=$(awk '/persons, .* records/ {print $5}' "$out/gen_r2t1.log")
rm -rf "$out/gen_r2t1" "$out/gen_r1t2"   # keep the logs, not 1 GB of CSV

L11=$out/run_r1t1.log L21=$out/run_r2t1.log L12=$out/run_r1t2.log
pairs=$(awk '/pairs scored/ {print $3}' "$L11")
score11=$(field "$L11" score)
e2e21=$(field "$L21" total)
e2e11=$(field "$L11" total)
e2e12=$(field "$L12" total)
mb=$(awk '$1 == "ingest" {print $5}' "$L11")
rss=$(awk '/peak memory/ {print $3}' "$L21")
balance=$(awk '/largest rank share/ {for (i = 1; i <= NF; i++) if ($i == "share") print $(i + 1)}' "$L21")
f1=$($PY tools/quick_eval.py "$out/run_r2t1/link.h5" "$data/truth.csv" | awk '/F1/ {print $7}')
$PY - "$out/bench.json" <<PY
import json, sys
figs = {
    "records": ($records, "records"),
    "score_pairs_per_s_per_core": ($pairs / $score11, "pairs/s"),
    "e2e_seconds_1m": ($e2e21, "s (2 ranks x 1 thread)"),
    "e2e_seconds_1rank_1thread": ($e2e11, "s"),
    "peak_rss_gib_1m": ($rss, "GiB (sum over 2 ranks)"),
    "ingest_mb_per_s": ($mb, "MB/s (1 rank)"),
    "balance_max_over_mean": ($balance, "(scored pairs, 2 ranks)"),
    "speedup_2ranks": ($e2e11 / $e2e21, "x end to end"),
    "speedup_2threads": ($e2e11 / $e2e12, "x end to end"),
    "f1_pairwise": ($f1, "(2 ranks; example model, untrained)"),
    "generate_seconds": ($gsec, "s for $gpersons persons, $grecords records (2 ranks x 1 thread)"),
    "generate_seconds_1rank_2threads": ($gsec12, "s"),
    "generate_peak_rss_gib": ($grss, "GiB (sum over 2 ranks)"),
}
for stage in ["ingest", "block", "score", "cluster", "write"]:
    pass
for k, (v, unit) in figs.items():
    print(f"bench.{k}: {v:.6g} {unit}")
json.dump({k: {"value": v, "unit": u} for k, (v, u) in figs.items()}, open(sys.argv[1], "w"), indent=1)
PY
