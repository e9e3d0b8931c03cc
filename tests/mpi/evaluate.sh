#!/usr/bin/env bash
# `ddwlink evaluate` on the example: the figures agree with an independent
# brute-force computation (tests/py/check_evaluate.py), /evaluation is
# stored (and replaced on a later run) without touching anything else in
# the file, and -np 1, 2 and 3 print byte-identical JSON (each rank reads
# its own slice of the result and byte range of the truth).  The same
# truth rewritten with CRLF line ends, reordered columns and quoted person
# names spanning lines gives the same JSON at every rank count.  Bad truth
# files exit 2 on every rank at -np 1, 2 and 3, with a message naming the
# problem that is the same whatever the rank count.
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

# later runs at -np 1, 2, 3 replace /evaluation and print the same bytes
for np in 1 2 3; do
    mpirun --bind-to none -np $np $DDW evaluate --truth "$truth" "$res" --json \
        >"$TMP/eval_np$np.json" 2>"$TMP/eval_np$np.err" ||
        die "evaluate -np $np failed: $(cat "$TMP/eval_np$np.err")"
    cmp -s "$TMP/eval1.json" "$TMP/eval_np$np.json" || {
        diff "$TMP/eval1.json" "$TMP/eval_np$np.json" | head; die "-np $np printed other JSON"; }
    $PY tests/py/check_evaluate.py "$res" "$truth" "$TMP/eval_np$np.json" "$TMP/eval_orig.h5" \
        >/dev/null || die "-np $np: brute-force check failed"
done
cp "$TMP/eval_np3.json" "$TMP/eval2.json"
[ "$(h5ls "$res/evaluation" | grep -c '^source_pair ')" = 1 ] || die "/evaluation not replaced"
echo "np=1,2,3: byte-identical JSON; /evaluation replaced"

# the same truth in another form: CRLF, columns reordered, person names
# quoted with a comma and a line break inside (one name per person, so the
# figures cannot change), a blank line; ranks' byte ranges now start inside
# quoted fields and CRLF pairs
$PY - "$truth" >"$TMP/eval_truth_quoted.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
out = ['\ufeffperson,clean,record_id,source']
for k, r in enumerate(rows):
    out.append('"P %s,\r\nline ""2"""' % r["person"] + "," + r["clean"] + "," + r["record_id"] +
               "," + r["source"])
    if k == len(rows) // 2:
        out.append("")
sys.stdout.write("\r\n".join(out) + "\r\n")
PYEOF
for np in 1 2 3; do
    mpirun --bind-to none -np $np $DDW evaluate --truth "$TMP/eval_truth_quoted.csv" "$res" --json \
        >"$TMP/eval_q$np.json" 2>"$TMP/eval_q$np.err" ||
        die "quoted truth -np $np failed: $(cat "$TMP/eval_q$np.err")"
    cmp -s "$TMP/eval1.json" "$TMP/eval_q$np.json" || {
        diff "$TMP/eval1.json" "$TMP/eval_q$np.json" | head; die "quoted truth -np $np: other JSON"; }
done
echo "quoted CRLF truth: same JSON at np=1,2,3"

# the table: overall figures, then one row per source pair
$DDW evaluate --truth "$truth" "$res" >"$TMP/eval_table.txt" || die "table run failed"
grep -q "^  pairwise " "$TMP/eval_table.txt" || die "no pairwise row in the table"
grep -q "^  B-cubed " "$TMP/eval_table.txt" || die "no B-cubed row in the table"
[ "$(grep -c -E '^  (treatment|drug_tests|probation)\|' "$TMP/eval_table.txt")" = 6 ] ||
    die "table lacks the 6 source pair rows"
$DDW evaluate --truth "$truth" "$res" --json >"$TMP/eval2.json" || die "json run failed"

# expect_error NAME PATTERN ARGS...: evaluate at -np 1, 2 and 3, every rank
# exits 2, stderr matches PATTERN and is the same at every rank count, and
# the stored evaluation is left as it was
expect_error() {
    local name=$1 pattern=$2 np r
    shift 2
    for np in 1 2 3; do
        local log=$TMP/eval_err_${name}_np$np
        rm -f "$log".rc.* "$log.log"
        mpirun --bind-to none -np $np sh -c "$DDW evaluate $* >/dev/null 2>>'$log.log'; echo \$? >'$log.rc.'\$OMPI_COMM_WORLD_RANK" ||
            true
        for r in $(seq 0 $((np - 1))); do
            [ "$(cat "$log.rc.$r" 2>/dev/null)" = 2 ] ||
                die "$name: -np $np rank $r exit $(cat "$log.rc.$r" 2>/dev/null)"
        done
        grep -E -q -e "$pattern" "$log.log" || {
            cat "$log.log"; die "$name: -np $np message does not match '$pattern'"; }
        if [ $np -gt 1 ]; then
            cmp -s "$TMP/eval_err_${name}_np1.log" "$log.log" || {
                diff "$TMP/eval_err_${name}_np1.log" "$log.log"; die "$name: -np $np says otherwise"; }
        fi
    done
    cp "$TMP/eval_err_${name}_np2.log" "$TMP/eval_err_$name.log"
    echo "$name: exit 2 at np=1,2,3: $(head -1 "$TMP/eval_err_$name.log")"
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
# duplicates and missing rows all over the file: counts and the first
# example of each, whichever rank holds them
awk 'NR > 1 && NR % 500 == 0 { print; print; next } NR > 1 && NR % 700 == 3 { next } { print }' \
    "$truth" >"$TMP/eval_truth_scattered.csv" # NR 3 is dropped, so NR 500 is on lines 499, 500
expect_error scattered "rows of .* repeat the record_id of an earlier row; first: record_id .* \(line 500, first on line 499\)" \
    --truth "$TMP/eval_truth_scattered.csv" "$res"
grep -q "records of source '.*' are in the result but not in" "$TMP/eval_err_scattered.log" ||
    die "scattered: missing rows not reported"
# ten unknown sources spread over the file: eight by name, then the rest together
awk 'NR > 1 && NR % 97 == 0 { printf "src%d,Z%d,1,1\n", (NR * 7) % 10, NR } { print }' "$truth" \
    >"$TMP/eval_truth_unknown.csv"
expect_error unknown_sources "more rows of .* name further unknown sources; first on line [0-9]+" \
    --truth "$TMP/eval_truth_unknown.csv" "$res"
[ "$(grep -c "which is not in the result" "$TMP/eval_err_unknown_sources.log")" = 8 ] ||
    die "unknown_sources: not 8 sources named"
sed '3s/,[^,]*$/,1,2/' "$truth" >"$TMP/eval_truth_fields.csv"
expect_error field_count "eval_truth_fields.csv line 3: 5 fields, but the header has 4" \
    --truth "$TMP/eval_truth_fields.csv" "$res"
{ cat "$truth"; printf 'probation,X2,"3\n'; } >"$TMP/eval_truth_open_quote.csv"
expect_error open_quote "eval_truth_open_quote.csv line 3777: unterminated quoted field at end of file" \
    --truth "$TMP/eval_truth_open_quote.csv" "$res"
head -1 "$truth" >"$TMP/eval_truth_header_only.csv"
expect_error header_only "3775 records of source|are in the result but not in" \
    --truth "$TMP/eval_truth_header_only.csv" "$res"
: >"$TMP/eval_truth_empty.csv"
expect_error empty_truth "eval_truth_empty.csv line 1: empty file, no header row" \
    --truth "$TMP/eval_truth_empty.csv" "$res"
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

# errors wrote nothing: the stored evaluation is still the last good one
$PY tests/py/check_evaluate.py "$res" "$truth" "$TMP/eval2.json" "$TMP/eval_orig.h5" >/dev/null ||
    die "a failed evaluate changed the file"
echo "evaluate: all checks passed"
