#!/usr/bin/env bash
# Distributed component refinement (connected components, then splits along
# the weakest edges where identities conflict) against a serial reference on
# random linkage graphs, records and edges spread unevenly over 1-4 ranks.
# Prints one PASS/FAIL line per run; exits non-zero if any failed.
source "$(dirname "$0")/common.sh"
set +e
fail=0
check() {
    local name=$1
    shift
    local out
    if out=$("$@" 2>&1); then
        echo "PASS  refine $name"
    else
        echo "FAIL  refine $name"
        echo "$out" | tail -n 20 | sed 's/^/      | /'
        fail=1
    fi
}
for np in 1 2 3 4; do
    check "np$np" mpirun --bind-to none -x OMP_NUM_THREADS=1 -np "$np" build/refine_mpi
done
# components refined by several OpenMP threads per rank
check "np2 3 threads" mpirun --bind-to none -x OMP_NUM_THREADS=3 -np 2 build/refine_mpi
# components large and many enough for the multi-threaded sorts and directory
check "np1 2 threads, large graphs" mpirun --bind-to none -x OMP_NUM_THREADS=2 -np 1 \
    build/refine_mpi 6 150000
check "np2 2 threads, large graphs" mpirun --bind-to none -x OMP_NUM_THREADS=2 -np 2 \
    build/refine_mpi 6 150000
# the same through the multi-round exchange (tiny rounds)
check "np3 tiny alltoallv rounds" mpirun --bind-to none -x OMP_NUM_THREADS=1 \
    -x DDW_ALLTOALLV_ROUND_BYTES=40 -np 3 build/refine_mpi 12
exit $fail
