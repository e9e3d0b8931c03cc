#!/usr/bin/env bash
# Distributed connected components against a serial reference on random
# graphs, edges spread unevenly over 1-4 ranks.
source "$(dirname "$0")/common.sh"
for np in 1 2 3 4; do
    mpirun -np "$np" build/cluster_mpi
done
# the same through the multi-round exchange (tiny rounds)
mpirun -np 3 -x DDW_ALLTOALLV_ROUND_BYTES=40 build/cluster_mpi
# graphs large enough for the multi-threaded sorts and union-find, at one
# rank (its own path) and at two
for np in 1 2; do
    mpirun -np "$np" -x OMP_NUM_THREADS=2 build/cluster_mpi 6 150000
done
