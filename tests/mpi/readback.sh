#!/usr/bin/env bash
# Read the result back as an analyst would: h5dump shows the documented
# layout with deflate-compressed chunks, and h5py checks every documented
# dataset, its type, length, order and internal consistency, and the
# storage (chunks and deflate level), also for small chunks over 3 ranks.
source "$(dirname "$0")/common.sh"
# chunks are deflated by src/deflate.c: the program must export compress2 so
# that libhdf5 binds to it (the files are read back with zlib below)
[ "$(nm -D bin/ddwlink | grep -c ' T compress2$')" = 1 ] || { echo "bin/ddwlink does not export compress2"; exit 1; }
out=$TMP/readback
run_link 2 2 "$out" --config configs/example.ini 2>"$out.log"
f=$out/link.h5
[ -f "$f" ] && [ -z "$(ls -A "$out" | grep -v -e '^link.h5$' -e '^model.ini$')" ] # no temporary left behind
[ -f "$out/model.ini" ] # the trained model, for link --model
h5dump -H -p "$f" >"$out.h5dump"
for g in records persons edges rejects sources model; do
    grep -q "GROUP \"$g\"" "$out.h5dump" || { echo "h5dump: group /$g missing"; exit 1; }
done
for obj in /records/person_id /records/record_id /persons/sources /edges/weight /edges/levels \
           /rejects/reason /sources/sha256 /model/m; do
    h5dump -H -d "$obj" "$f" >/dev/null || { echo "h5dump: $obj missing"; exit 1; }
done
grep -q "COMPRESSION DEFLATE" "$out.h5dump"
h5dump -a /config "$f" >"$out.config"
grep -q "source.treatment" "$out.config"
h5dump -d /records/person_id -c 5 "$f" >/dev/null
# h5ls -v shows the compression ratio
h5ls -v "$f/records/person_id" >"$out.h5ls"
grep -i "deflate" "$out.h5ls"
$PY tests/py/readback.py "$f" configs/example.ini
# small chunks at 3 ranks: every table is written as chunk-aligned slabs that
# pass rows between ranks; the values are the same and read back the same
out3=$TMP/readback_np3
run_link 3 1 "$out3" --config configs/example.ini --set output.chunk=1024 2>"$out3.log"
same_results "$f" "$out3/link.h5"
h5dump -p -H -d /edges/levels "$out3/link.h5" | grep -q "CHUNKED ( 1024, "
h5dump -d /records/key -s 1020 -c 8 "$out3/link.h5" >/dev/null
$PY tests/py/readback.py "$out3/link.h5" configs/example.ini
# small chunks at 2 ranks x 2 threads: the chunks of every slab of two or
# more chunks are compressed ahead on threads (src/deflate.c) and HDF5 takes
# them (the small tables, one chunk per rank, are compressed in HDF5's loop);
# same results
out4=$TMP/readback_ahead
run_link 2 2 "$out4" --config configs/example.ini --set output.chunk=1024 2>"$out4.log"
same_results "$f" "$out4/link.h5"
line=$(grep -E "^  write .* chunks deflated" "$out4.log")
all=$(sed -E 's/.* ([0-9]+) chunks deflated.*/\1/' <<<"$line")
ahead=$(sed -E 's/.*\(([0-9]+) on threads ahead\).*/\1/' <<<"$line")
[ "$all" -gt 100 ] && [ $((ahead * 3)) -ge "$all" ] ||
    { echo "too few chunks compressed ahead: $line"; exit 1; }
$PY tests/py/readback.py "$out4/link.h5" configs/example.ini
