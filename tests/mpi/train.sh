#!/usr/bin/env bash
# Training: `ddwlink train` writes a model and no result; the model is
# byte-identical at 1, 2 and 3 ranks x 1 and 2 threads; `link --model` with
# it gives the same persons and edges as training inside `link`; the EM
# log is stored in /model; a bad model file is a config error (exit 2).
source "$(dirname "$0")/common.sh"
die() { echo "train.sh: $*" >&2; exit 1; }

train() { # NP THREADS DIR
    OMP_NUM_THREADS=$2 mpirun --bind-to none -x OMP_NUM_THREADS -np "$1" \
        $DDW train --config configs/example.ini --out "$3" 2>"$3.log" || { cat "$3.log"; die "train failed"; }
}
train 1 1 "$TMP/tr11"
[ -f "$TMP/tr11/model.ini" ] || die "no model.ini"
[ ! -e "$TMP/tr11/link.h5" ] || die "train wrote a result"
grep -q "^prior = " "$TMP/tr11/model.ini" || die "model has no prior"
for c in "2 2" "3 1"; do
    set -- $c
    train "$1" "$2" "$TMP/tr$1$2"
    cmp "$TMP/tr11/model.ini" "$TMP/tr$1$2/model.ini" || die "model at np=$1 threads=$2 differs"
    echo "model identical at np=$1 threads=$2"
done

# training inside link = link --model with the trained model
run_link 2 1 "$TMP/trained" --config configs/example.ini 2>"$TMP/trained.log"
cmp "$TMP/tr11/model.ini" "$TMP/trained/model.ini" || die "link trained another model"
run_link 1 2 "$TMP/applied" --config configs/example.ini --model "$TMP/tr11/model.ini" \
    2>"$TMP/applied.log" || { cat "$TMP/applied.log"; die "link --model failed"; }
grep -q "^train: pass" "$TMP/applied.log" && die "link --model trained again"
for g in /records /persons /edges /model/m /model/u; do
    h5diff "$TMP/trained/link.h5" "$TMP/applied/link.h5" "$g" "$g" >/dev/null ||
        die "link --model differs from training inside link in $g"
done
echo "link --model reproduces the trained link"
$PY - "$TMP/trained/link.h5" "$TMP/applied/link.h5" <<'PY'
import sys, h5py
t, a = (h5py.File(p, "r") for p in sys.argv[1:])
src = t["/model"].attrs["source"]
src = src.decode() if isinstance(src, bytes) else src
log = t["/model"].attrs["training_log"]
log = log.decode() if isinstance(log, bytes) else log
assert src == "trained", src
assert "EM iteration 1: log-likelihood" in log, log[:200]
s2 = a["/model"].attrs["source"]
s2 = s2.decode() if isinstance(s2, bytes) else s2
assert s2.startswith("model file "), s2
print("/model records the source and every EM iteration")
PY

# a model file with anything but prior, m and u is rejected
printf '[match]\nprior = 0.001\nthreshold = 2\n' >"$TMP/bad_model.ini"
set +e
$DDW link --config configs/example.ini --model "$TMP/bad_model.ini" --out "$TMP/bad" 2>"$TMP/bad.log"
rc=$?
set -e
[ $rc -eq 2 ] || die "bad model: exit $rc, expected 2"
grep -q "a model file holds only" "$TMP/bad.log" || die "bad model: message"
echo "train: all checks passed"
