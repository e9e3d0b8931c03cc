#!/usr/bin/env bash
# Malformed rows: each lands in /rejects with the right line and reason (and
# no identifying value), every other row is linked, rows read = accepted +
# rejected, and all of it is the same at every rank count, including a
# generated file whose quoted multi-line fields straddle rank boundaries.
source "$(dirname "$0")/common.sh"
ref=""
for np in 1 2 3; do
    out=$TMP/bad_$np
    run_link "$np" 1 "$out" --config tests/data/bad/bad.ini 2>"$out.log"
    grep "rows read 11 = accepted 4 + rejected 7" "$out.log"
    # the run names the file and the first rejected line (the rest are in /rejects)
    first=$($PY -c "import h5py,sys; print(int(min(h5py.File(sys.argv[1],'r')['/rejects/line'][:])))" "$out/link.h5")
    grep -q "warning: source people (tests/data/bad/people.csv): 7 of 11 rows rejected, the first at line $first;" "$out.log" ||
        { echo "no warning naming the file and line $first:"; grep warning "$out.log"; exit 1; }
    if [ -z "$ref" ]; then ref=$out/link.h5; else same_results "$ref" "$out/link.h5"; fi
done
$PY - "$ref" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
got = [(int(l), r.decode()) for l, r in zip(f["/rejects/line"][:], f["/rejects/reason"][:])]
want = [(5, "invalid date in column born (field dob)"),
        (6, "unknown sex code in column sex"),
        (7, "wrong number of columns: 5, expected 6"),
        (8, "broken quoting"),
        (9, "invalid UTF-8 in column 2"),
        (10, "empty record ID in column id"),
        (14, "unterminated quoted field at end of file")]
assert got == want, got
ids = [x.decode() for x in f["/records/record_id"][:]]
rows = list(f["/records/row"][:])
assert ids == ["P1", "P2", "P9", "P10"], ids
assert rows == [2, 3, 11, 13], rows
note = [x.decode() for x in f["/records/note"][:]]
assert note[1] == "two\r\nline note", repr(note[1])   # quoted CRLF kept verbatim
for _, reason in got:
    for ident in ["Carl", "Brown", "1980-02-31", "Dora", "Bl\"ack", "Hal", "Kim", "Moss"]:
        assert ident not in reason, (ident, reason)
print("bad input: rejects and records as expected")
PY
# a larger generated file: quoted commas, quotes and CRLF newlines inside
# fields, blank lines and malformed rows, read at 1-5 ranks
$PY - "$TMP/gen.csv" <<'PY'
import random, sys
rnd = random.Random(5)
out = open(sys.argv[1], "w", newline="")
out.write("id,first,last,born,sex,note\r\n")
for i in range(3000):
    note = rnd.choice(['plain', '"a, b"', '"multi\r\nline\r\nnote"', '"say ""hi"""', '',
                       '"x\ny"'])
    row = f"R{i},N{i % 97},S{i % 89},19{50 + i % 40}-0{1 + i % 9}-1{i % 9},{'MF'[i % 2]},{note}"
    if i % 211 == 0:
        row = row.replace(f"S{i % 89}", f"S{i % 89}\"x")      # stray quote: rejected
    if i % 307 == 0:
        row += ",extra"                                       # wrong column count
    if i % 401 == 0:
        out.write("\r\n")                                     # blank line: skipped
    out.write(row + "\r\n")
PY
sed "s|tests/data/bad/people.csv|$TMP/gen.csv|" tests/data/bad/bad.ini >"$TMP/gen.ini"
ref=""
for np in 1 2 3 4 5; do
    out=$TMP/gen_$np
    # a threshold so low that every scored pair is an edge: the one
    # comparison (surname) then fills /edges/levels
    run_link "$np" 1 "$out" --config "$TMP/gen.ini" --set match.threshold=-20 2>"$out.log"
    grep "rows read 3000 = accepted" "$out.log"
    if [ -z "$ref" ]; then ref=$out/link.h5; else same_results "$ref" "$out/link.h5"; fi
done
$PY - "$ref" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
n, r = len(f["/records/key"]), len(f["/rejects/line"])
reasons = set(x.decode() for x in f["/rejects/reason"][:])
assert n + r == 3000, (n, r)
assert reasons == {"broken quoting", "wrong number of columns: 7, expected 6"}, reasons
assert r == len({i for i in range(3000) if i % 211 == 0 or i % 307 == 0}), r
lv = f["/edges/levels"]   # one comparison: still a 2-D [edges, 1] table
assert lv.ndim == 2 and lv.shape == (len(f["/edges/a"]), 1) and lv.shape[0] > 0, lv.shape
print(f"generated file: {n} accepted, {r} rejected, identical at 1-5 ranks")
PY
# edge cases: header only, every row rejected, one record without a final newline
printf 'id,first,last,born,sex,note\n' >"$TMP/hdr.csv"
printf 'id,first,last,born,sex,note\nA1,x,y,1980-13-01,M,z\nA2,x,y,1980-01-01,Q,z' >"$TMP/allrej.csv"
printf 'id,first,last,born,sex,note\nB1,Ann,Lee,1980-01-01,F,n' >"$TMP/one.csv"
for spec in "hdr:0:0:0" "allrej:2:0:2" "one:1:1:0"; do
    IFS=: read -r f r a j <<<"$spec"
    sed "s|tests/data/bad/people.csv|$TMP/$f.csv|" tests/data/bad/bad.ini >"$TMP/$f.ini"
    for np in 1 3; do
        run_link "$np" 1 "$TMP/edge_${f}_$np" --config "$TMP/$f.ini" 2>"$TMP/edge_${f}_$np.log"
        grep "rows read $r = accepted $a + rejected $j" "$TMP/edge_${f}_$np.log"
        $PY -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); assert len(f['/records/key'])==$a and len(f['/rejects/line'])==$j and len(f['/persons/person_id'])==$a" "$TMP/edge_${f}_$np/link.h5"
    done
done
echo "edge cases: empty, all rejected and one-record inputs handled at 1 and 3 ranks"
