#!/usr/bin/python3
"""Pairwise precision/recall of a ddwlink result against a truth CSV.

usage: tools/quick_eval.py RESULT.h5 TRUTH.csv
TRUTH.csv columns: source,record_id,person[,...].  A stop-gap until
`ddwlink evaluate` exists; counts pairs through the contingency table of
(found person x true person), never by enumerating pairs.
"""
import collections
import csv
import sys

import h5py


def pairs(n):
    return n * (n - 1) // 2


def main():
    res, truth_path = sys.argv[1], sys.argv[2]
    with h5py.File(res, "r") as f:
        names = [x.decode() for x in f["/sources/name"][:]]
        src = f["/records/source"][:]
        rid = f["/records/record_id"][:]
        pid = f["/records/person_id"][:]
    truth = {}
    with open(truth_path, newline="") as fh:
        for row in csv.DictReader(fh):
            truth[(row["source"], row["record_id"])] = row["person"]
    found = collections.Counter()
    true = collections.Counter()
    both = collections.Counter()
    missing = 0
    for s, r, p in zip(src, rid, pid):
        t = truth.get((names[s], r.decode()))
        if t is None:
            missing += 1
            continue
        found[p] += 1
        true[t] += 1
        both[(p, t)] += 1
    tp = sum(pairs(n) for n in both.values())
    fp = sum(pairs(n) for n in found.values()) - tp
    fn = sum(pairs(n) for n in true.values()) - tp
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    print(f"records {len(pid)} (not in truth: {missing}) persons found {len(found)} true {len(true)}")
    print(f"pairwise precision {prec:.4f} recall {rec:.4f} F1 {f1:.4f} (tp {tp} fp {fp} fn {fn})")


if __name__ == "__main__":
    main()
