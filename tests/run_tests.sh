#!/usr/bin/env bash
# Runs every ddwlink test: cmocka unit tests, the MPI runs (rank x thread
# matrix, distributed connected components, bad input, config errors) and
# the HDF5 read-back.  Prints one line per test and closes with
# "N passed, N failed"; exits non-zero if any failed.
set -u
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export DDW_TEST_TMP=${DDW_TEST_TMP:-$(mktemp -d /tmp/ddwtest.XXXXXX)}
log=$DDW_TEST_TMP/logs
mkdir -p "$log"
pass=0
fail=0
failed=()

run() {
    local name=$1
    shift
    local f="$log/$(echo "$name" | tr ' /' '__').log"
    local t0=$SECONDS
    if timeout 600 "$@" >"$f" 2>&1; then
        pass=$((pass + 1))
        printf 'PASS  %-40s %3ss\n' "$name" $((SECONDS - t0))
    else
        fail=$((fail + 1))
        failed+=("$name")
        printf 'FAIL  %-40s %3ss  (log: %s)\n' "$name" $((SECONDS - t0)) "$f"
        tail -n 25 "$f" | sed 's/^/      | /'
    fi
}

for t in build/tests/test_*; do
    case $t in *.d) continue ;; esac
    run "unit $(basename "$t")" "$t"
done
run "mpi connected components np1-4" bash tests/mpi/cluster.sh
run "mpi cluster refinement np1-4" bash tests/mpi/refine.sh
run "mpi rank x thread matrix" bash tests/mpi/matrix.sh
run "hdf5 read-back (h5dump, h5py)" bash tests/mpi/readback.sh
run "train: model identical at any np, link --model" bash tests/mpi/train.sh
run "bad input rows" bash tests/mpi/bad_input.sh
run "config and input errors" bash tests/mpi/config_errors.sh
run "rerun: identical at other np, differences named" bash tests/mpi/rerun.sh
run "sweep vs separate links, errors" bash tests/mpi/sweep.sh
run "generic two-file link and dedup configs" bash tests/mpi/generic.sh
run "generate: determinism, error rates" bash tests/mpi/generate.sh
run "evaluate vs brute force, errors" bash tests/mpi/evaluate.sh
run "slurm: jobs/*.sbatch under a local SLURM" bash tests/slurm/jobs.sh

echo
for n in "${failed[@]}"; do echo "failed: $n"; done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
