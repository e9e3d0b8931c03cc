#!/usr/bin/env bash
# ddwlink generate: byte-identical files at 1, 2 and 3 ranks x 1 and 2
# threads; every error type at its configured rate on 100k persons, with
# valid PNC check letters (tests/py/check_generate.py); the generated
# link.ini links the files, and evaluate's figures on them agree with a
# brute-force count; usage errors exit 2 without output.
source "$(dirname "$0")/common.sh"

gen() { # NP THREADS DIR [args...]
    local np=$1 th=$2 dir=$3
    shift 3
    OMP_NUM_THREADS=$th mpirun --bind-to none -x OMP_NUM_THREADS -np "$np" \
        $DDW generate --out "$dir" "$@"
}

# one digest over every output file (link.ini names its own directory)
digest() {
    (cd "$1" && for f in ndtms.csv dip.csv drug_tests.csv oasys.csv pnc.csv ppo.csv \
        truth.csv persons.csv; do sha256sum "$f"; done
     sed "s#$1#DIR#g" link.ini | sha256sum)
}

ref=""
for cfg in "1 1" "2 2" "3 1" "1 2"; do
    set -- $cfg
    d=$TMP/gen_np$1_t$2
    gen "$1" "$2" "$d" --persons 20000 --seed 4242 --person-table 2>"$d.log" || {
        cat "$d.log"; exit 1; }
    dig=$(digest "$d")
    if [ -z "$ref" ]; then
        ref=$dig
        echo "$dig" | head -3
    elif [ "$dig" != "$ref" ]; then
        echo "FAIL: generate at np=$1 threads=$2 differs from np=1 threads=1"
        diff <(echo "$ref") <(echo "$dig")
        exit 1
    fi
    echo "np=$1 threads=$2: identical"
done
# another seed gives other data
gen 1 1 "$TMP/gen_seed2" --persons 20000 --seed 4243 2>/dev/null
cmp -s "$TMP/gen_seed2/pnc.csv" "$TMP/gen_np1_t1/pnc.csv" && {
    echo "FAIL: seeds 4242 and 4243 gave the same pnc.csv"; exit 1; }

# rates, tags, visible effects, PNC check letters, headline figures
gen 2 1 "$TMP/gen100k" --persons 100000 --seed 777 --person-table
$PY tests/py/check_generate.py "$TMP/gen100k"

# the generated config links the generated files; no row is rejected
run_link 2 1 "$TMP/gen_link" --config "$TMP/gen_np1_t1/link.ini" 2>"$TMP/gen_link.log" || {
    cat "$TMP/gen_link.log"; exit 1; }
grep -q "rejected 0$" "$TMP/gen_link.log" || { echo "FAIL: rows rejected"; grep "rows read" "$TMP/gen_link.log"; exit 1; }
n_truth=$(($(wc -l <"$TMP/gen_np1_t1/truth.csv") - 1))
grep -q "rows read $n_truth = accepted $n_truth" "$TMP/gen_link.log" || {
    echo "FAIL: link did not accept all $n_truth generated records"; grep "rows read" "$TMP/gen_link.log"; exit 1; }

# evaluate on generated data agrees with the brute-force computation
$DDW evaluate --truth "$TMP/gen_np1_t1/truth.csv" "$TMP/gen_link/link.h5" --json \
    >"$TMP/gen_eval.json" || { echo "FAIL: evaluate on generated data"; exit 1; }
$PY tests/py/check_evaluate.py "$TMP/gen_link/link.h5" "$TMP/gen_np1_t1/truth.csv" \
    "$TMP/gen_eval.json" | tail -2
$PY -c "import json,sys; d=json.load(open(sys.argv[1])); print('generated 20k: pair F1 %.4f, B-cubed F1 %.4f' % (d['pair_f1'], d['bcubed_f1'])); assert len(d['by_source_pair']) == 21" "$TMP/gen_eval.json"

# usage and config errors: exit 2, nothing written
expect2() {
    local what=$1
    shift
    set +e
    $DDW generate "$@" >"$TMP/gen_err.out" 2>&1
    local rc=$?
    set -e
    [ $rc -eq 2 ] || { echo "FAIL: $what: exit $rc, expected 2"; cat "$TMP/gen_err.out"; exit 1; }
    echo "$what: exit 2: $(head -1 "$TMP/gen_err.out")"
}
expect2 "no --persons" --seed 1 --out "$TMP/gen_bad"
expect2 "zero persons" --persons 0 --seed 1 --out "$TMP/gen_bad"
expect2 "negative seed" --persons 10 --seed -3 --out "$TMP/gen_bad"
expect2 "missing config" --persons 10 --seed 1 --out "$TMP/gen_bad" --config /nonexistent.ini
sed 's/^male = 0.83/male = 1.83/' configs/generate-ddw.ini >"$TMP/bad_gen.ini"
expect2 "bad rate" --persons 10 --seed 1 --out "$TMP/gen_bad" --config "$TMP/bad_gen.ini"
grep -q "bad_gen.ini:[0-9]*: \[population\] male: '1.83' is not a probability" "$TMP/gen_err.out" || {
    echo "FAIL: bad rate message"; cat "$TMP/gen_err.out"; exit 1; }
[ ! -e "$TMP/gen_bad" ] || { echo "FAIL: output written despite errors"; exit 1; }
echo "generate: all checks passed"
