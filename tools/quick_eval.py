#!/usr/bin/python3
"""Pairwise precision/recall of a ddwlink result against a truth CSV.

usage: tools/quick_eval.py RESULT.h5 TRUTH.csv
TRUTH.csv columns: source,record_id,person[,clean].  A stop-gap until
`ddwlink evaluate` exists; counts pairs through the contingency table of
(found person x true person), never by enumerating pairs.
"""
import collections
import csv
import sys

import h5py


def pairs(n):
    return n * (n - 1) // 2


def load(res, truth_path):
    """Returns [(found person, true person, clean)] for every record, and the
    number of records missing from the truth."""
    with h5py.File(res, "r") as f:
        names = [x.decode() for x in f["/sources/name"][:]]
        src = f["/records/source"][:]
        rid = f["/records/record_id"][:]
        pid = f["/records/person_id"][:]
    truth = {}
    with open(truth_path, newline="") as fh:
        for row in csv.DictReader(fh):
            truth[(row["source"], row["record_id"])] = (row["person"], row.get("clean") == "1")
    rows, missing = [], 0
    for s, r, p in zip(src, rid, pid):
        t = truth.get((names[s], r.decode()))
        if t is None:
            missing += 1
        else:
            rows.append((int(p), t[0], t[1]))
    return rows, missing


def pairwise(rows):
    """Pairwise precision, recall, F1 and the persons found / true."""
    found, true, both = collections.Counter(), collections.Counter(), collections.Counter()
    for p, t, _ in rows:
        found[p] += 1
        true[t] += 1
        both[(p, t)] += 1
    tp = sum(pairs(n) for n in both.values())
    fp = sum(pairs(n) for n in found.values()) - tp
    fn = sum(pairs(n) for n in true.values()) - tp
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "tp": tp, "fp": fp, "fn": fn,
            "persons_found": len(found), "persons_true": len(true)}


def main():
    rows, missing = load(sys.argv[1], sys.argv[2])
    q = pairwise(rows)
    print(f"records {len(rows) + missing} (not in truth: {missing}) persons found "
          f"{q['persons_found']} true {q['persons_true']}")
    print(f"pairwise precision {q['precision']:.4f} recall {q['recall']:.4f} F1 {q['f1']:.4f} "
          f"(tp {q['tp']} fp {q['fp']} fn {q['fn']})")


if __name__ == "__main__":
    main()
