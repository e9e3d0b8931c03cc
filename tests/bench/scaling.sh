#!/usr/bin/env bash
# make bench-scaling: the measurements docs/scaling.md checks its model
# against.  Links one generated input (300k persons by default, cached under
# results/bench/) at 1, 2, 4 and 8 ranks x 1 thread (oversubscribed on a
# small machine: compare work and bytes, not seconds) and prints, per rank
# count, each stage's time (largest rank), bytes sent between ranks per
# accepted record in each stage, the largest rank's bytes, peak memory (sum
# and largest rank), scored pairs (largest rank / mean) and the connected-
# components rounds.  The same figures go to results/bench/scaling.json.
#   tests/bench/scaling.sh [PERSONS] [RANKS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
PY=/usr/bin/python3
persons=${1:-300000}
shift || true
ranks=("$@")
[ ${#ranks[@]} -gt 0 ] || ranks=(1 2 4 8)
out=results/bench
data=$out/gen_$persons
mkdir -p "$out"
if [ ! -f "$data/link.ini" ]; then
    rm -rf "$data"
    mpirun --bind-to none -np 2 bin/ddwlink generate --persons "$persons" --seed 99 \
        --out "$data" >/dev/null 2>&1
fi
logs=()
for np in "${ranks[@]}"; do
    log=$out/scaling_np$np.log
    OMP_NUM_THREADS=1 mpirun --bind-to none -x OMP_NUM_THREADS -np "$np" bin/ddwlink link \
        --config "$data/link.ini" --out "$out/scaling_np$np" 2>"$log"
    logs+=("$log")
done
$PY - "$out/scaling.json" "$persons" "${logs[@]}" <<'PY'
import json, re, sys
out, persons, logs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
stages = ["ingest", "block", "train", "score", "cluster", "write", "total"]
rows = []
for log in logs:
    t = open(log).read()
    r = {"ranks": int(re.search(r"on (\d+) rank", t).group(1))}
    for s in stages:
        r[s + "_s"] = float(re.search(r"^  %s +([0-9.]+)" % s, t, re.M).group(1))
    r["records"] = int(re.search(r"rows read (\d+)", t).group(1))
    m = re.search(r"pairs scored (\d+) .*largest rank share ([0-9.]+)", t)
    r["pairs"], r["pair_share_max"] = int(m.group(1)), float(m.group(2))
    m = re.search(r"peak memory ([0-9.]+) GiB summed over ranks \(largest rank ([0-9.]+) GiB\)", t)
    r["rss_sum_gib"], r["rss_max_gib"] = float(m.group(1)), float(m.group(2))
    r["cc_rounds"] = int(re.search(r"cluster .*\((\d+) rounds", t).group(1))
    for s in stages[:-1]:
        m = re.search(r" %s ([0-9.]+) MB \(([0-9.]+) B/record, largest rank ([0-9.]+) MB\)" % s, t)
        r[s + "_bytes_per_record"] = float(m.group(2)) if m else 0.0
        r[s + "_mb_max_rank"] = float(m.group(3)) if m else 0.0
    rows.append(r)
json.dump({"persons": persons, "runs": rows}, open(out, "w"), indent=1)
print("scaling: %d persons, %d records; time in s (largest rank), bytes sent per record" %
      (persons, rows[0]["records"]))
hdr = "ranks  " + " ".join("%8s" % s for s in stages) + "   B/rec block train cluster write" \
      "   rss sum/max GiB  pairs max/mean  cc rounds"
print(hdr)
for r in rows:
    print("%5d  " % r["ranks"] + " ".join("%8.2f" % r[s + "_s"] for s in stages) +
          "   %5.0f %5.0f %7.0f %5.0f" % tuple(r[s + "_bytes_per_record"]
                                             for s in ("block", "train", "cluster", "write")) +
          "   %6.2f / %5.2f   %5.2f          %d" % (r["rss_sum_gib"], r["rss_max_gib"],
                                                    r["pair_share_max"], r["cc_rounds"]))
PY
