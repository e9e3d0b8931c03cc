#!/usr/bin/env bash
# Linking and deduplicating person-level CSVs of another shape, by configuration
# alone: configs/link-two-files.ini (clinic attendances x a patient register)
# and configs/dedup.ini (a mailing list), both trained by EM on the data.
# Checks that the shipped files in data/people/ are what tools/make_people.py
# writes, that both runs reach MIN_F1 pairwise F1 against the truth files, and
# that the link gives the same result (trained model included) on 1 and 2 ranks.
source "$(dirname "$0")/common.sh"

MIN_F1=0.95 # pairwise F1 each run must reach

die() { echo "generic.sh: $*" >&2; exit 1; }

# the shipped data are the generator's output
$PY tools/make_people.py --seed 3 --out "$TMP/people_gen" >/dev/null || die "make_people.py failed"
for f in clinic registry customers truth_link truth_dedup; do
    cmp -s "data/people/$f.csv" "$TMP/people_gen/$f.csv" ||
        die "data/people/$f.csv differs from: tools/make_people.py --seed 3"
done
echo "data/people/ is the output of tools/make_people.py --seed 3"

run_link 2 1 "$TMP/people_link" --config configs/link-two-files.ini 2>"$TMP/people_link.log" ||
    die "link-two-files.ini failed: $(tail -3 "$TMP/people_link.log")"
run_link 2 1 "$TMP/people_dedup" --config configs/dedup.ini 2>"$TMP/people_dedup.log" ||
    die "dedup.ini failed: $(tail -3 "$TMP/people_dedup.log")"

# same persons, edges and model on one rank
run_link 1 1 "$TMP/people_link_np1" --config configs/link-two-files.ini \
    2>"$TMP/people_link_np1.log" || die "link-two-files.ini at -np 1 failed: $(tail -3 "$TMP/people_link_np1.log")"
same_results "$TMP/people_link/link.h5" "$TMP/people_link_np1/link.h5" ||
    die "link-two-files.ini: -np 1 and -np 2 differ"
echo "link-two-files.ini: -np 1 and -np 2 give identical results"

# check NAME TRUTH RESULT: prints the figures, fails below MIN_F1
check() {
    local name=$1 truth=$2 res=$3 json=$TMP/$1_eval.json
    $DDW evaluate --truth "$truth" "$res" --json >"$json" 2>"$TMP/$1_eval.err" ||
        die "$name: evaluate failed: $(cat "$TMP/$1_eval.err")"
    $PY - "$json" "$name" "$MIN_F1" <<'PYEOF' || die "$name: pairwise F1 below $MIN_F1"
import json, sys
d = json.load(open(sys.argv[1]))
name, min_f1 = sys.argv[2], float(sys.argv[3])
print("%-15s pair_f1 %.4f (precision %.4f, recall %.4f)  bcubed_f1 %.4f  persons %d found, %d true"
      % (name, d["pair_f1"], d["pair_precision"], d["pair_recall"], d["bcubed_f1"],
         d["persons_found"], d["persons_true"]))
sys.exit(0 if d["pair_f1"] >= min_f1 else 1)
PYEOF
}
check link-two-files data/people/truth_link.csv "$TMP/people_link/link.h5"
check dedup data/people/truth_dedup.csv "$TMP/people_dedup/link.h5"
echo "generic: all checks passed"
