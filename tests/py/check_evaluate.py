#!/usr/bin/python3
"""Checks `ddwlink evaluate --json` output against a brute-force computation.

usage: check_evaluate.py RESULT.h5 TRUTH.csv OUTPUT.json [ORIGINAL.h5]

Independent of src/evaluate.c: pairs are enumerated one by one (within
found persons and within true persons, as sets of record-index pairs), and
B-cubed is computed record by record from explicit cluster sets.  Also
checks that /evaluation in RESULT.h5 holds the same figures (its json
attribute equal to OUTPUT.json, its attributes and per-pair datasets equal
to the JSON values), and, given ORIGINAL.h5 (a copy taken before
evaluate), that every other object and attribute of the file is unchanged.
"""
import collections
import csv
import itertools
import json
import sys

import h5py
import numpy as np

TOL = 1e-9
KEYS = ["pair_precision", "pair_recall", "pair_f1", "bcubed_precision", "bcubed_recall",
        "bcubed_f1", "persons_found", "persons_true", "true_persons_split",
        "found_persons_merged", "records", "true_pairs", "found_pairs", "true_positive_pairs"]
COUNTS = {"persons_found", "persons_true", "true_persons_split", "found_persons_merged",
          "records", "true_pairs", "found_pairs", "true_positive_pairs"}

errors = []


def fail(msg):
    errors.append(msg)


def load(res, truth_path):
    with h5py.File(res, "r") as f:
        names = [x.decode() for x in f["/sources/name"][:]]
        src = [int(s) for s in f["/records/source"][:]]
        rid = [x.decode() for x in f["/records/record_id"][:]]
        found = [int(p) for p in f["/records/person_id"][:]]
    truth = {}
    with open(truth_path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            person = row["person"] if "person" in row else row["person_id"]
            truth[(row["source"].strip(), row["record_id"].strip())] = person
    true = [truth[(names[s], r)] for s, r in zip(src, rid)]
    return names, src, found, true


def pair_set(labels):
    """All index pairs (i, j), i < j, with equal labels."""
    groups = collections.defaultdict(list)
    for i, x in enumerate(labels):
        groups[x].append(i)
    return {p for g in groups.values() for p in itertools.combinations(g, 2)}


def f1(p, r):
    return 2 * p * r / (p + r) if p + r else 0.0


def figures(found, true, keep, pair_ok):
    """Brute-force figures over records i with keep[i]; pair_ok(i, j) selects pairs."""
    idx = [i for i in range(len(found)) if keep[i]]
    # records left out get labels of their own, so they pair with nothing
    fp = {p for p in pair_set([found[i] if keep[i] else ("out", i) for i in range(len(found))])
          if pair_ok(*p)}
    tp_ = {p for p in pair_set([true[i] if keep[i] else ("out", i) for i in range(len(true))])
           if pair_ok(*p)}
    tp = fp & tp_
    fclu, tclu = collections.defaultdict(set), collections.defaultdict(set)
    for i in idx:
        fclu[found[i]].add(i)
        tclu[true[i]].add(i)
    bp = sum(len(fclu[found[i]] & tclu[true[i]]) / len(fclu[found[i]]) for i in idx)
    br = sum(len(fclu[found[i]] & tclu[true[i]]) / len(tclu[true[i]]) for i in idx)
    n = len(idx)
    m = {
        "records": n,
        "found_pairs": len(fp),
        "true_pairs": len(tp_),
        "true_positive_pairs": len(tp),
        "pair_precision": len(tp) / len(fp) if fp else 1.0,
        "pair_recall": len(tp) / len(tp_) if tp_ else 1.0,
        "bcubed_precision": bp / n if n else 1.0,
        "bcubed_recall": br / n if n else 1.0,
        "persons_found": len(fclu),
        "persons_true": len(tclu),
        "true_persons_split": sum(1 for c in tclu.values() if len({found[i] for i in c}) > 1),
        "found_persons_merged": sum(1 for c in fclu.values() if len({true[i] for i in c}) > 1),
    }
    m["pair_f1"] = f1(m["pair_precision"], m["pair_recall"])
    m["bcubed_f1"] = f1(m["bcubed_precision"], m["bcubed_recall"])
    return m


def compare(where, got, want):
    for k in KEYS:
        if k not in got:
            fail(f"{where}: key {k} missing")
        elif k in COUNTS:
            if got[k] != want[k] or not isinstance(got[k], int):
                fail(f"{where}: {k} = {got[k]!r}, brute force {want[k]}")
        elif abs(got[k] - want[k]) > TOL:
            fail(f"{where}: {k} = {got[k]!r}, brute force {want[k]!r}")
    extra = set(got) - set(KEYS) - {"by_source_pair"}
    if extra:
        fail(f"{where}: unexpected keys {sorted(extra)}")


def check_figures(res, truth_path, out):
    names, src, found, true = load(res, truth_path)
    compare("overall", out, figures(found, true, [1] * len(src), lambda i, j: True))
    by = out.get("by_source_pair", {})
    want_pairs = [f"{names[s]}|{names[t]}" for s in range(len(names))
                  for t in range(s, len(names))]
    if list(by) != want_pairs:
        fail(f"by_source_pair keys {list(by)}, expected {want_pairs}")
    for s in range(len(names)):
        for t in range(s, len(names)):
            keep = [x in (s, t) for x in src]
            if s == t:
                ok = lambda i, j: True  # noqa: E731
            else:
                ok = lambda i, j, s=s, t=t: {src[i], src[j]} == {s, t}  # noqa: E731
            key = f"{names[s]}|{names[t]}"
            compare(key, by.get(key, {}), figures(found, true, keep, ok))


def check_stored(res, text, out):
    with h5py.File(res, "r") as f:
        if "/evaluation" not in f:
            fail("/evaluation missing from the result")
            return
        g = f["/evaluation"]
        stored = g.attrs["json"]
        stored = stored.decode() if isinstance(stored, bytes) else stored
        if stored != text.rstrip("\n"):
            fail("/evaluation json attribute differs from the printed JSON")
        if json.loads(stored) != out:
            fail("/evaluation json attribute parses to other values")
        for k in KEYS:
            v = g.attrs[k]
            if (int(v) != out[k]) if k in COUNTS else abs(float(v) - out[k]) > 0:
                fail(f"/evaluation attribute {k} = {v}, JSON {out[k]}")
        if "truth_path" not in g.attrs:
            fail("/evaluation has no truth_path attribute")
        pairs = [x.decode() for x in g["source_pair"][:]]
        if pairs != list(out["by_source_pair"]):
            fail(f"/evaluation/source_pair {pairs}")
        for k in KEYS:
            col = g[k][:]
            want = [out["by_source_pair"][p][k] for p in pairs]
            if k in COUNTS:
                ok = col.dtype.kind == "i" and [int(x) for x in col] == want
            else:
                ok = col.dtype.kind == "f" and all(float(a) == b for a, b in zip(col, want))
            if not ok or len(col) != len(pairs):
                fail(f"/evaluation/{k} = {list(col)}, JSON {want}")


def same_object(a, b, path):
    if set(a.attrs) != set(b.attrs):
        fail(f"{path}: attributes {sorted(a.attrs)} vs {sorted(b.attrs)}")
    for k in a.attrs:
        if k in b.attrs and not np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k])):
            fail(f"{path}: attribute {k} changed")
    if isinstance(a, h5py.Dataset):
        if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a[()], b[()]):
            fail(f"{path}: dataset changed")
        return
    names_a = set(a) - ({"evaluation"} if path == "/" else set())
    names_b = set(b) - ({"evaluation"} if path == "/" else set())
    if names_a != names_b:
        fail(f"{path}: members {sorted(names_a)} vs {sorted(names_b)}")
    for k in sorted(names_a & names_b):
        same_object(a[k], b[k], path.rstrip("/") + "/" + k)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    res, truth_path, out_path = sys.argv[1:4]
    with open(out_path) as fh:
        text = fh.read()
    out = json.loads(text)
    check_figures(res, truth_path, out)
    check_stored(res, text, out)
    if len(sys.argv) == 5:
        with h5py.File(sys.argv[4], "r") as a, h5py.File(res, "r") as b:
            same_object(a, b, "/")
    for e in errors[:30]:
        print("check_evaluate:", e)
    if errors:
        sys.exit(f"check_evaluate: {len(errors)} problem(s)")
    print(f"check_evaluate: {out['records']} records, {len(out['by_source_pair'])} source "
          f"pairs agree with brute force (pair F1 {out['pair_f1']:.4f}, "
          f"B-cubed F1 {out['bcubed_f1']:.4f}); /evaluation matches")


if __name__ == "__main__":
    main()
