#!/usr/bin/env python3
"""Upper bound on linking initials-only NDTMS records to the justice sources.

Reads a directory written by `ddwlink generate --person-table` and computes
the best pairwise precision, recall and F1 for each ndtms|<justice source>
pair that ANY linker can reach when it sees only what an NDTMS record holds
(forename and surname initial, date of birth, sex, area).  Records whose
visible fields are identical ("signature") cannot be told apart, so the bound
gives every signature one assignment: one person with justice records, or
none.  An oracle that knows the truth picks, per signature, the assignment
that is right for the most of its records.  The candidate persons are the
persons with justice records whose true initials, dob and sex equal the
signature's up to the errors the linker forgives: the same initials, a sex
that agrees or is missing, and a date of birth that is equal, day/month
swapped, one digit apart, a year apart or a 1 January placeholder of the
same year (the oracle even knows their true clusters).  Only DIP among
the justice sources holds an area, so the candidates split into classes a linker can tell apart: exact or forgiven date of birth, times a
DIP record in the signature's area, DIP records elsewhere only, or no DIP
record.  Within a class the candidates look
the same, so an assignment to a class is right for each of its members with
probability 1 / (class size); the oracle picks, per signature, the class (or
none) with the most expected right records.

  tools/ndtms_bound.py DIR
"""
import collections
import csv
import datetime
import sys

JUSTICE = ("dip", "drug_tests", "oasys", "pnc", "ppo")


def dob_variants(dob):
    """Dates of birth the linker forgives for dob (YYYY-MM-DD), dob excluded."""
    out = set()
    digits = dob.replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        return out
    def add(x):
        try:
            datetime.date(int(x[:4]), int(x[4:6]), int(x[6:]))
        except ValueError:
            return
        out.add("%s-%s-%s" % (x[:4], x[4:6], x[6:]))
    y, m, dd = digits[:4], digits[4:6], digits[6:]
    add(y + dd + m)                                  # day and month swapped
    for yy in (int(y) - 1, int(y) + 1):              # a year apart
        add("%04d%s%s" % (yy, m, dd))
    for part, lo, hi in ((0, 0, 4), (1, 4, 6), (2, 6, 8)):  # one digit of one field
        for i in range(lo, hi):
            for c in "0123456789":
                if c != digits[i]:
                    add(digits[:i] + c + digits[i + 1:])
    add(y + "0101")                                  # a 1 January placeholder
    out.discard(dob)
    return out


def candidates(named, by_year, fi, si, sex, dob):
    """(persons with the exact dob, persons with a forgiven one)."""
    sexes = ("M", "F") if sex not in ("M", "F") else (sex,)
    exact, near = set(), set()
    for sx in sexes:
        exact |= named.get((fi, si, sx, dob), set())
        for v in dob_variants(dob):
            near |= named.get((fi, si, sx, v), set())
        if dob.endswith("-01-01"):                   # the record's dob is the placeholder
            near |= by_year.get((fi, si, sx, dob[:4]), set())
    return exact, near - exact


def main(d):
    truth_person = {}
    per_person = collections.defaultdict(collections.Counter)
    for r in csv.DictReader(open(d + "/truth.csv")):
        truth_person[(r["source"], r["record_id"])] = r["person"]
        per_person[r["person"]][r["source"]] += 1
    key_of = {}
    for r in csv.DictReader(open(d + "/persons.csv")):
        key_of[r["person"]] = (r["forename"][:1], r["surname"][:1], r["dob"], r["sex"])
    named = collections.defaultdict(set)   # (fi, si, sex, dob) -> persons
    by_year = collections.defaultdict(set)  # (fi, si, sex, year) -> persons
    for p, c in per_person.items():
        if any(c[s] for s in JUSTICE):
            k = key_of[p]
            named[(k[0], k[1], k[3], k[2])].add(p)
            by_year[(k[0], k[1], k[3], k[2][:4])].add(p)
    dip_areas = collections.defaultdict(set)
    rd = csv.DictReader(open(d + "/dip.csv"))
    for r in rd:
        dip_areas[truth_person[("dip", r[rd.fieldnames[0]])]].add(r["dat"])
    # visible NDTMS signatures -> the true persons of their records
    groups = collections.defaultdict(list)
    rd = csv.DictReader(open(d + "/ndtms.csv"))
    idc = rd.fieldnames[0]
    for r in rd:
        try:
            dob = datetime.datetime.strptime(r["dob"], "%d/%m/%Y").strftime("%Y-%m-%d")
        except ValueError:
            dob = r["dob"]
        sig = (r["forename_initial"].upper(), r["surname_initial"].upper(), dob,
               r["sex"].upper()[:1], r["dat"])
        groups[sig].append(truth_person[("ndtms", r[idc])])
    tp = collections.Counter()
    found = collections.Counter()
    true = collections.Counter()
    wrong = 0.0
    for sig, persons in groups.items():
        area = sig[4]
        classes = collections.defaultdict(list)
        exact, near = candidates(named, by_year, sig[0], sig[1], sig[3], sig[2])
        for kind, qs in (("exact", exact), ("near", near)):
            for q in qs:
                a = dip_areas.get(q, set())
                where = "same_area" if area and area in a else ("other_area" if a else "no_dip")
                classes[(kind, where)].append(q)
        votes = collections.Counter(persons)
        options = [(sum(1 for p in persons if all(p not in c for c in classes.values())), None)]
        for c in classes.values():
            options.append((sum(votes[q] for q in c) / len(c), c))
        right, best = max(options, key=lambda o: (o[0], o[1] is None))
        wrong += len(persons) - right
        for p in persons:
            for s in JUSTICE:
                true[s] += per_person[p][s]
                if best is not None:
                    found[s] += sum(per_person[q][s] for q in best) / len(best)
                    if p in best:
                        tp[s] += per_person[p][s] / len(best)
    n = sum(len(v) for v in groups.values())
    print("%d NDTMS records, %d signatures; the best assignment per signature still "
          "misplaces %.0f records (%.3f) in expectation" % (n, len(groups), wrong, wrong / n))
    for s in JUSTICE:
        p = tp[s] / found[s] if found[s] else 1.0
        rc = tp[s] / true[s] if true[s] else 1.0
        f = 2 * p * rc / (p + rc) if p + rc else 0.0
        print("bound ndtms|%-10s precision %.4f recall %.4f F1 %.4f" % (s, p, rc, f))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
