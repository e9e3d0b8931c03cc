#!/usr/bin/python3
"""Checks a ddwlink result against the example's truth.

Easy cases: records that carry no injected error ("clean") of the same true
person have identical identifying fields, so every such pair must share a
person ID.  Overall pairwise precision and recall must not collapse either
(they are reported, and checked against generous floors).

usage: check_truth.py RESULT.h5 TRUTH.csv
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
        rid = [x.decode() for x in f["/records/record_id"][:]]
        pid = f["/records/person_id"][:]
    truth = {}
    with open(truth_path, newline="") as fh:
        for row in csv.DictReader(fh):
            truth[(row["source"], row["record_id"])] = (row["person"], row["clean"] == "1")
    if len(truth) != len(pid):
        sys.exit(f"record count {len(pid)} != truth rows {len(truth)}")
    clean_by_person = collections.defaultdict(set)
    found, true, both = collections.Counter(), collections.Counter(), collections.Counter()
    for s, r, p in zip(src, rid, pid):
        person, clean = truth[(names[s], r)]
        if clean:
            clean_by_person[person].add(int(p))
        found[p] += 1
        true[person] += 1
        both[(p, person)] += 1
    split = [t for t, ids in clean_by_person.items() if len(ids) > 1]
    tp = sum(pairs(n) for n in both.values())
    fp = sum(pairs(n) for n in found.values()) - tp
    fn = sum(pairs(n) for n in true.values()) - tp
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"easy cases: {len(clean_by_person)} persons with clean records, "
          f"{len(split)} split")
    print(f"pairwise precision {precision:.4f} recall {recall:.4f}; "
          f"persons found {len(found)}, true {len(true)}")
    ok = True
    if split:
        print("clean records of one person split over person IDs:", split[:10])
        ok = False
    if precision < 0.95 or recall < 0.85:
        print("pairwise quality below the floors (precision 0.95, recall 0.85)")
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
