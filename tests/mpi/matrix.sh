#!/usr/bin/env bash
# The example at -np 1, 2, 4 x OMP_NUM_THREADS 1, 2 (and with large blocks cut
# into tiles): every result dataset must be identical, and person IDs must
# agree with the example's truth on the easy cases.
source "$(dirname "$0")/common.sh"
ref=""
for np in 1 2 4; do
    for th in 1 2; do
        out=$TMP/matrix_${np}x${th}
        run_link "$np" "$th" "$out" --config configs/example.ini 2>"$out.log"
        grep -q "rows read" "$out.log"
        if [ -z "$ref" ]; then ref=$out/link.h5; else same_results "$ref" "$out/link.h5"; fi
        echo "np=$np threads=$th identical"
    done
done
# tiny tiles: blocks of more than 5 records are cut and spread over ranks
run_link 3 2 "$TMP/matrix_tiles" --config configs/example.ini --set block.max_block_size=5 \
    2>"$TMP/matrix_tiles.log"
same_results "$ref" "$TMP/matrix_tiles/link.h5"
echo "np=3 threads=2 max_block_size=5 identical"
# every exchange split into rounds of 1000 bytes per peer
DDW_ALLTOALLV_ROUND_BYTES=1000 run_link 4 1 "$TMP/matrix_rounds" --config configs/example.ini \
    2>"$TMP/matrix_rounds.log"
same_results "$ref" "$TMP/matrix_rounds/link.h5"
echo "np=4 with every exchange in rounds of 1000 bytes per peer identical"
$PY tests/py/check_truth.py "$ref" data/example/truth.csv
