#!/usr/bin/env bash
# ddwlink rerun: a result re-run at other rank and thread counts is
# identical (exit 0); a changed result is reported dataset by dataset
# (exit 1); a changed or missing input is refused, naming it (exit 2).
source "$(dirname "$0")/common.sh"
die() { echo "rerun.sh: $*" >&2; exit 1; }
rerun() { # NP THREADS RESULT [args]
    local np=$1 th=$2
    shift 2
    OMP_NUM_THREADS=$th mpirun --bind-to none -x OMP_NUM_THREADS -np "$np" $DDW rerun "$@"
}

# inputs copied, so the test can change them
mkdir -p "$TMP/rr_in"
cp data/example/*.csv "$TMP/rr_in/"
sed "s#data/example/#$TMP/rr_in/#" configs/example.ini >"$TMP/rr.ini"
run_link 2 1 "$TMP/rr" --config "$TMP/rr.ini" --keep-edges-above -4 --set match.threshold=5 \
    2>"$TMP/rr.log" || { cat "$TMP/rr.log"; die "link failed"; }
for c in "1 2" "3 1"; do
    set -- $c
    rerun "$1" "$2" "$TMP/rr/link.h5" --out "$TMP/rr_again_$1" >"$TMP/rr_out" 2>"$TMP/rr_err" ||
        { cat "$TMP/rr_out"; tail "$TMP/rr_err"; die "rerun at np=$1 threads=$2 not identical"; }
    grep -q "^rerun: identical" "$TMP/rr_out" || die "no verdict"
    echo "rerun at np=$1 threads=$2: identical"
done
# the --set override and the kept-edge floor were repeated
$PY - "$TMP/rr_again_1/link.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert abs(f["/model"].attrs["threshold"] - 5) < 1e-12
assert float(f.attrs["edges_kept_above"]) == -4.0
print("override and --keep-edges-above repeated")
PY

# a result that differs from what its inputs give
cp "$TMP/rr/link.h5" "$TMP/rr_changed.h5"
$PY - "$TMP/rr_changed.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    d = f["/records/person_id"]
    v = d[:]
    v[0] = v[0] + 1
    d[...] = v
PY
set +e
rerun 2 1 "$TMP/rr_changed.h5" --out "$TMP/rr_changed_out" >"$TMP/rr_out" 2>"$TMP/rr_err"
rc=$?
set -e
[ $rc -eq 1 ] || die "changed result: exit $rc, expected 1"
grep -q "/records/person_id: 1 of 3775 elements differ" "$TMP/rr_out" || { cat "$TMP/rr_out"; die "difference not named"; }
grep -q "^rerun: DIFFERENT" "$TMP/rr_out" || die "no DIFFERENT verdict"
echo "a changed result: exit 1, /records/person_id named"

# a changed input, then a missing one
printf '\n' >>"$TMP/rr_in/probation.csv"
set +e
rerun 1 1 "$TMP/rr/link.h5" --out "$TMP/rr_x" >"$TMP/rr_out" 2>"$TMP/rr_err"
rc=$?
set -e
[ $rc -eq 2 ] || die "changed input: exit $rc, expected 2"
grep -q "input of source probation has changed: '$TMP/rr_in/probation.csv'" "$TMP/rr_err" || { cat "$TMP/rr_err"; die "changed input not named"; }
rm "$TMP/rr_in/treatment.csv"
set +e
rerun 1 1 "$TMP/rr/link.h5" --out "$TMP/rr_y" >"$TMP/rr_out" 2>"$TMP/rr_err"
rc=$?
set -e
[ $rc -eq 2 ] || die "missing input: exit $rc, expected 2"
grep -q "input of source treatment is missing" "$TMP/rr_err" || { cat "$TMP/rr_err"; die "missing input not named"; }
echo "changed and missing inputs: exit 2, named"
echo "rerun: all checks passed"
