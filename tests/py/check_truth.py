#!/usr/bin/python3
"""Checks a ddwlink result against the example's truth.

Easy cases: records that carry no injected error ("clean") of the same true
person have identical identifying fields, so every such pair must share a
person ID.  Overall pairwise precision and recall must not collapse either
(they are reported, and checked against generous floors).

usage: check_truth.py RESULT.h5 TRUTH.csv
"""
import collections
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from quick_eval import load, pairwise  # noqa: E402


def main():
    rows, missing = load(sys.argv[1], sys.argv[2])
    if missing:
        sys.exit(f"{missing} records are not in the truth")
    clean_ids = collections.defaultdict(set)
    for p, t, clean in rows:
        if clean:
            clean_ids[t].add(p)
    split = [t for t, ids in clean_ids.items() if len(ids) > 1]
    q = pairwise(rows)
    print(f"easy cases: {len(clean_ids)} persons with clean records, {len(split)} split")
    print(f"pairwise precision {q['precision']:.4f} recall {q['recall']:.4f}; "
          f"persons found {q['persons_found']}, true {q['persons_true']}")
    ok = True
    if split:
        print("clean records of one person split over person IDs:", split[:10])
        ok = False
    if q["precision"] < 0.95 or q["recall"] < 0.85:
        print("pairwise quality below the floors (precision 0.95, recall 0.85)")
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
