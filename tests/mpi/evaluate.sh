#!/usr/bin/env bash
# `ddwlink evaluate` on the example: the figures agree with an independent
# brute-force computation (tests/py/check_evaluate.py), /evaluation is
# stored (and replaced on a second run) without touching anything else in
# the file, -np 2 prints the same JSON, and bad truth files exit 2 on every
# rank with a message naming the problem.
source "$(dirname "$0")/common.sh"
truth=data/example/truth.csv
out=$TMP/eval
res=$out/link.h5

die() { echo "evaluate.sh: $*" >&2; exit 1; }

run_link 2 1 "$out" --config configs/example.ini 2>"$TMP/eval_link.log" ||
    die "link failed: $(tail -3 "$TMP/eval_link.log")"
cp "$res" "$TMP/eval_orig.h5"

$DDW evaluate --truth "$truth" "$res" --json >"$TMP/eval1.json" 2>"$TMP/eval1.err" ||
    die "evaluate -np 1 failed: $(cat "$TMP/eval1.err")"
$PY tests/py/check_evaluate.py "$res" "$truth" "$TMP/eval1.json" "$TMP/eval_orig.h5"
same_results "$TMP/eval_orig.h5" "$res" || die "evaluate changed a result group"
echo "np=1: JSON agrees with brute force; other groups unchanged"

# a second run, at -np 2, replaces /evaluation and prints the same JSON
mpirun --bind-to none -np 2 $DDW evaluate --truth "$truth" "$res" --json >"$TMP/eval2.json" \
    2>"$TMP/eval2.err" || die "evaluate -np 2 failed: $(cat "$TMP/eval2.err")"
cmp -s "$TMP/eval1.json" "$TMP/eval2.json" || {
    diff "$TMP/eval1.json" "$TMP/eval2.json" | head; die "-np 2 printed other JSON"; }
$PY tests/py/check_evaluate.py "$res" "$truth" "$TMP/eval2.json" "$TMP/eval_orig.h5" >/dev/null
[ "$(h5ls "$res/evaluation" | grep -c '^source_pair ')" = 1 ] || die "/evaluation not replaced"
echo "np=2: same JSON; /evaluation replaced"

# the table: overall figures, then one row per source pair
$DDW evaluate --truth "$truth" "$res" >"$TMP/eval_table.txt" || die "table run failed"
grep -q "^  pairwise " "$TMP/eval_table.txt" || die "no pairwise row in the table"
grep -q "^  B-cubed " "$TMP/eval_table.txt" || die "no B-cubed row in the table"
[ "$(grep -c -E '^  (treatment|drug_tests|probation)\|' "$TMP/eval_table.txt")" = 6 ] ||
    die "table lacks the 6 source pair rows"

# expect_error NAME PATTERN ARGS...: evaluate at -np 2, every rank exits 2,
# stderr matches PATTERN, and the stored evaluation is left as it was
expect_error() {
    local name=$1 pattern=$2
    shift 2
    local log=$TMP/eval_err_$name
    rm -f "$log".rc.* "$log.log"
    mpirun --bind-to none -np 2 sh -c "$DDW evaluate $* >/dev/null 2>>'$log.log'; echo \$? >'$log.rc.'\$OMPI_COMM_WORLD_RANK" ||
        true
    for r in 0 1; do
        [ "$(cat "$log.rc.$r" 2>/dev/null)" = 2 ] || die "$name: rank $r exit $(cat "$log.rc.$r" 2>/dev/null)"
    done
    grep -E -q -e "$pattern" "$log.log" || { cat "$log.log"; die "$name: message does not match '$pattern'"; }
    echo "$name: exit 2: $(head -1 "$log.log")"
}

sed '5d' "$truth" >"$TMP/eval_truth_minus_row.csv" # drops treatment,T000004
expect_error missing_row \
    "evaluate: error: 1 record of source 'treatment' is in the result but not in $TMP/eval_truth_minus_row.csv; first: record_id T000004" \
    --truth "$TMP/eval_truth_minus_row.csv" "$res"
sed '1s/,person,/,persona,/' "$truth" >"$TMP/eval_truth_bad_header.csv"
expect_error bad_header \
    "$TMP/eval_truth_bad_header.csv line 1: the header has no column 'person'" \
    --truth "$TMP/eval_truth_bad_header.csv" "$res"
{ cat "$truth"; echo "probation,X1,1,1"; echo "police,P1,2,1"; } >"$TMP/eval_truth_extra.csv"
expect_error extra_rows \
    "1 record of source 'probation' is in $TMP/eval_truth_extra.csv but not in the result; first: record_id X1" \
    --truth "$TMP/eval_truth_extra.csv" "$res"
grep -q "1 row of .* names source 'police', which is not in the result" "$TMP/eval_err_extra_rows.log" ||
    die "extra_rows: unknown source not reported"
{ cat "$truth"; sed -n '10p' "$truth"; } >"$TMP/eval_truth_dup.csv"
expect_error duplicate_row "1 row of .* for source .treatment. repeats the record_id of an earlier row; first: record_id .* \(line 3777, first on line 10\)" \
    --truth "$TMP/eval_truth_dup.csv" "$res"
sed '3s/,[^,]*$/,1,2/' "$truth" >"$TMP/eval_truth_fields.csv"
expect_error field_count "eval_truth_fields.csv line 3: 5 fields, but the header has 4" \
    --truth "$TMP/eval_truth_fields.csv" "$res"
expect_error no_truth_file "cannot open truth file 'nope.csv'" --truth nope.csv "$res"
expect_error no_result "cannot read result file '$TMP/eval_nope.h5'" --truth "$truth" "$TMP/eval_nope.h5"
expect_error usage "evaluate needs --truth FILE" "$res"
cp "$truth" "$TMP/eval_not_hdf5.h5"
expect_error not_hdf5 "cannot open '$TMP/eval_not_hdf5.h5' as an HDF5 file" --truth "$truth" "$TMP/eval_not_hdf5.h5"

# a truth row for a record that ingest rejected: the error adds a note on /rejects
run_link 1 1 "$TMP/eval_bad" --config tests/data/bad/bad.ini 2>"$TMP/eval_bad.log"
$PY - "$TMP/eval_bad/link.h5" >"$TMP/eval_truth_bad_input.csv" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    print("source,record_id,person")
    for r in f["/records/record_id"][:]:
        print(f"people,{r.decode()},x")
print("people,P3,y")  # 1980-02-31: rejected as an invalid date
PYEOF
expect_error rejected_row "in .* but not in the result; first: record_id P3 \(line [0-9]+\)" \
    --truth "$TMP/eval_truth_bad_input.csv" "$TMP/eval_bad/link.h5"
grep -q "evaluate: note: ddwlink link rejected [0-9]* rows of source 'people' (listed in /rejects)" \
    "$TMP/eval_err_rejected_row.log" || die "rejected_row: no note on /rejects"

# errors wrote nothing: the stored evaluation is still the -np 2 one
$PY tests/py/check_evaluate.py "$res" "$truth" "$TMP/eval2.json" "$TMP/eval_orig.h5" >/dev/null ||
    die "a failed evaluate changed the file"
echo "evaluate: all checks passed"
