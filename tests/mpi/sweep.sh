#!/usr/bin/env bash
# `ddwlink sweep` on generated data: one link keeping the scored pairs down
# to weight -10, swept over -6:12:2 with the truth; at three thresholds a
# separate link with the same model (--model, --set match.threshold=T) and
# `ddwlink evaluate` must give the same persons, edges, skipped edges and
# figures (ratios to 1e-12 relative, counts exactly).  Also: /sweep is
# stored (and replaced) and nothing else in the file changes, -np 2 prints
# the same JSON (the generated link.ini makes ndtms attach_once, so that rule
# is followed too), plain components (refine none, no attach_once) too, and LO below the kept floor,
# cluster.refine = pnc_dob and a bad grid exit 2 without touching the file.
source "$(dirname "$0")/common.sh"

die() { echo "sweep.sh: $*" >&2; exit 1; }

sw=$TMP/sw
res=$sw/res/link.h5
truth=$sw/truth.csv
rm -rf "$sw"
$DDW generate --persons 3000 --seed 5 --out "$sw" >/dev/null 2>"$TMP/sw_gen.log" ||
    die "generate failed: $(tail -3 "$TMP/sw_gen.log")"
run_link 2 1 "$sw/res" --config "$sw/link.ini" --keep-edges-above -10 2>"$TMP/sw_link.log" ||
    die "link failed: $(tail -3 "$TMP/sw_link.log")"
cp "$res" "$TMP/sw_orig.h5"

$DDW sweep "$res" --thresholds -6:12:2 --truth "$truth" --json >"$TMP/sw.json" 2>"$TMP/sw.err" ||
    die "sweep failed: $(cat "$TMP/sw.err")"
same_results "$TMP/sw_orig.h5" "$res" || die "sweep changed a result group"

# /sweep holds the grid and the printed JSON; the root attributes are untouched
$PY - "$res" "$TMP/sw_orig.h5" "$TMP/sw.json" "$truth" <<'EOF' || die "/sweep check failed"
import json, sys, h5py
res, orig, js, truth = sys.argv[1:]
j = json.load(open(js))
with h5py.File(res, "r") as f, h5py.File(orig, "r") as o:
    s = f["/sweep"]
    th = list(s["threshold"][:])
    assert th == [float(t) for t in range(-6, 13, 2)], th
    assert [g["threshold"] for g in j["grid"]] == th
    assert json.loads(s.attrs["json"]) == j, "json attribute differs from stdout"
    assert s.attrs["truth_path"].decode() == truth
    for col in ("persons", "edges", "edges_skipped", "largest_cluster", "pair_f1",
                "bcubed_f1", "true_positive_pairs"):
        assert list(s[col][:]) == [g[col] for g in j["grid"]], col
    assert set(f.keys()) == set(o.keys()) | {"sweep"}, (list(f.keys()), list(o.keys()))
    for k, v in o.attrs.items():
        assert str(f.attrs[k]) == str(v), "root attribute %s changed" % k
    best = max(j["grid"], key=lambda g: (g["pair_f1"], g["threshold"]))
    assert j["best"] == best, "best is not the max pair F1 (ties to the higher threshold)"
    # the link's own threshold (0) is not on this grid; at 0 the sweep gives link's persons
    print("grid of %d points stored; best pair F1 %.6f at %g" % (len(th), best["pair_f1"],
                                                                  best["threshold"]))
EOF

# separate links at three thresholds agree with the grid
for T in -4 2 8; do
    out=$sw/t$T
    run_link 2 1 "$out" --config "$sw/link.ini" --model "$sw/res/model.ini" \
        --set match.threshold=$T 2>"$TMP/sw_link_$T.log" ||
        die "link at $T failed: $(tail -3 "$TMP/sw_link_$T.log")"
    $DDW evaluate --truth "$truth" "$out/link.h5" --json >"$TMP/sw_eval_$T.json" ||
        die "evaluate at $T failed"
    skipped=$(sed -n 's/.*refine: .*(\([0-9]*\) edges not applied.*/\1/p' "$TMP/sw_link_$T.log")
    $PY - "$TMP/sw.json" "$TMP/sw_eval_$T.json" "$out/link.h5" "$T" "${skipped:-0}" <<'EOF' ||
import json, sys, h5py
sweep, ev, h5, T, skipped = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
g = [p for p in json.load(open(sweep))["grid"] if p["threshold"] == T]
assert len(g) == 1, "no grid point %g" % T
g = g[0]
e = json.load(open(ev))
with h5py.File(h5, "r") as f:
    nedges = f["/edges/a"].shape[0]
    npersons = f["/persons/person_id"].shape[0]
bad = []
if g["persons"] != e["persons_found"] or g["persons"] != npersons:
    bad.append("persons %d, link %d, evaluate %d" % (g["persons"], npersons, e["persons_found"]))
if g["edges"] + g["edges_skipped"] != nedges:
    bad.append("edges %d + skipped %d, link kept %d" % (g["edges"], g["edges_skipped"], nedges))
if g["edges_skipped"] != skipped:
    bad.append("skipped %d, link reports %d" % (g["edges_skipped"], skipped))
for k, v in e.items():
    if k == "by_source_pair":
        continue
    if isinstance(v, int):
        if g[k] != v:
            bad.append("%s %d vs %d" % (k, g[k], v))
    elif abs(g[k] - v) > 1e-12 * max(abs(v), 1e-300):
        bad.append("%s %.17g vs %.17g" % (k, g[k], v))
assert not bad, "threshold %g: %s" % (T, "; ".join(bad))
print("threshold %g: persons %d, pair F1 %.12f, B-cubed F1 %.12f, %d skipped: as link + evaluate"
      % (T, g["persons"], g["pair_f1"], g["bcubed_f1"], skipped))
EOF
        die "threshold $T disagrees with a separate link"
done

# -np 2 prints the same JSON and replaces /sweep
mpirun --bind-to none -np 2 $DDW sweep "$res" --thresholds -6:12:2 --truth "$truth" --json \
    >"$TMP/sw2.json" 2>"$TMP/sw2.err" || die "sweep -np 2 failed: $(cat "$TMP/sw2.err")"
cmp -s "$TMP/sw.json" "$TMP/sw2.json" || { diff "$TMP/sw.json" "$TMP/sw2.json" | head; die "-np 2 printed other JSON"; }
echo "np=2: same JSON"

# without a truth: the table, and /sweep replaced by a grid without figures
$DDW sweep "$res" --thresholds 0:1:0.25 >"$TMP/sw_table.txt" 2>/dev/null || die "table run failed"
[ "$(grep -c -E '^ +(0|0.25|0.5|0.75|1) ' "$TMP/sw_table.txt")" = 5 ] || {
    cat "$TMP/sw_table.txt"; die "table lacks the 5 rows"; }
grep -q "best pair F1" "$TMP/sw_table.txt" && die "best line without a truth"
$PY - "$res" <<'EOF' || die "/sweep not replaced"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    s = f["/sweep"]
    assert list(s["threshold"][:]) == [0, 0.25, 0.5, 0.75, 1], list(s["threshold"][:])
    assert "pair_f1" not in s and s.attrs["truth_path"].decode() == ""
EOF
$DDW sweep "$res" --thresholds -4:4:2 --truth "$truth" >"$TMP/sw_table2.txt" 2>/dev/null ||
    die "table with truth failed"
grep -q "^best pair F1 .* at threshold " "$TMP/sw_table2.txt" || die "no best line"
echo "table and replacement ok"

# refine none is followed too: sweep at 2 = a separate refine-none link at 2
run_link 2 1 "$sw/none" --config "$sw/link.ini" --model "$sw/res/model.ini" \
    --set cluster.refine=none --set source.ndtms.attach_once=no --keep-edges-above -10 \
    2>"$TMP/sw_none.log" || die "refine-none link failed"
run_link 2 1 "$sw/none2" --config "$sw/link.ini" --model "$sw/res/model.ini" \
    --set cluster.refine=none --set source.ndtms.attach_once=no --set match.threshold=2 \
    2>>"$TMP/sw_none.log" || die "refine-none link at 2 failed"
$DDW sweep "$sw/none/link.h5" --thresholds 2:2:1 --truth "$truth" --json >"$TMP/sw_none.json" 2>"$TMP/sw_none.err" ||
    die "refine-none sweep failed"
$DDW evaluate --truth "$truth" "$sw/none2/link.h5" --json >"$TMP/sw_none_eval.json"
$PY - "$TMP/sw_none.json" "$TMP/sw_none_eval.json" <<'EOF' || die "refine none disagrees"
import json, sys
j, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert j["refine"] == "none"
g = j["grid"][0]
assert g["edges_skipped"] == 0 and g["persons"] == e["persons_found"], (g, e["persons_found"])
for k in ("pair_f1", "bcubed_f1", "true_positive_pairs", "found_pairs", "found_persons_merged"):
    assert abs(g[k] - e[k]) <= 1e-12 * abs(e[k]), k
print("refine none at 2: persons %d, pair F1 %.12f as link + evaluate" % (g["persons"], g["pair_f1"]))
EOF

# errors: exit 2 on every rank, a message naming the problem, the file untouched
cp "$res" "$TMP/sw_before_errors.h5"
expect_error() {
    local name=$1 pattern=$2
    shift 2
    local log=$TMP/sw_err_$name
    rm -f "$log".rc.* "$log.log"
    mpirun --bind-to none -np 2 sh -c "$DDW sweep $* >/dev/null 2>>'$log.log'; echo \$? >'$log.rc.'\$OMPI_COMM_WORLD_RANK" ||
        true
    for r in 0 1; do
        [ "$(cat "$log.rc.$r" 2>/dev/null)" = 2 ] || die "$name: rank $r exit $(cat "$log.rc.$r" 2>/dev/null)"
    done
    grep -E -q -e "$pattern" "$log.log" || { cat "$log.log"; die "$name: message does not match '$pattern'"; }
    echo "$name: exit 2: $(head -1 "$log.log")"
}
expect_error below_floor "LO -12 is below -10, the lowest weight .* kept" "$res" --thresholds -12:0:2
expect_error bad_step "STEP must be > 0" "$res" --thresholds 0:4:0
expect_error lo_above_hi "LO \(4\) is above HI \(0\)" "$res" --thresholds 4:0:1
expect_error too_many "at most 100000" "$res" --thresholds 0:10:0.00001
expect_error not_a_number "LO 'x' is not a finite number" "$res" --thresholds x:1:1
expect_error no_grid "sweep needs --thresholds" "$res"
sed '5d' "$truth" >"$TMP/sw_truth_minus_row.csv"
expect_error truth_join "sweep: error: 1 record of source .* is in the result but not in" \
    "$res" --thresholds 0:2:1 --truth "$TMP/sw_truth_minus_row.csv"
run_link 1 1 "$sw/dob" --config "$sw/link.ini" --model "$sw/res/model.ini" \
    --set cluster.refine=pnc_dob 2>"$TMP/sw_dob.log" || die "pnc_dob link failed"
expect_error pnc_dob "sweep does not support cluster.refine = pnc_dob; relink with --set cluster.refine=pnc or none" \
    "$sw/dob/link.h5" --thresholds 0:2:1
h5diff "$TMP/sw_before_errors.h5" "$res" >/dev/null || die "a failed sweep changed the result"
echo "sweep: all checks passed"
