#!/usr/bin/env bash
# Distributed connected components against a serial reference on random
# graphs, edges spread unevenly over 1-4 ranks.
source "$(dirname "$0")/common.sh"
for np in 1 2 3 4; do
    mpirun -np "$np" build/cluster_mpi
done
