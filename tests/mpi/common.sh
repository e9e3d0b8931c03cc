# Shared helpers for the MPI test scripts (sourced).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# under `make check` (AddressSanitizer): Open MPI's own allocations at exit
# are not ours to fix, so leak detection is left to the serial unit tests
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
TMP=${DDW_TEST_TMP:-$(mktemp -d /tmp/ddwtest.XXXXXX)}
mkdir -p "$TMP"
PY=/usr/bin/python3
DDW=${DDW:-bin/ddwlink}

# run_link NP THREADS OUTDIR [ddwlink link args...]
run_link() {
    local np=$1 th=$2 out=$3
    shift 3
    OMP_NUM_THREADS=$th mpirun --bind-to none -x OMP_NUM_THREADS \
        ${DDW_ALLTOALLV_ROUND_BYTES:+-x DDW_ALLTOALLV_ROUND_BYTES} -np "$np" \
        $DDW link "$@" --out "$out"
}

# same_results A.h5 B.h5: every result group identical (provenance attributes
# such as times and rank counts are not compared)
same_results() {
    local g
    for g in /records /persons /edges /rejects /sources /model; do
        h5diff "$1" "$2" "$g" "$g" >/dev/null || { echo "differs in $g: $1 vs $2"; h5diff -r "$1" "$2" "$g" "$g" | head -20; return 1; }
    done
}
