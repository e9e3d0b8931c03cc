#!/usr/bin/python3
"""Checks a `ddwlink generate --person-table` output directory.

usage: tests/py/check_generate.py DIR

1. Error rates: every record-level error was applied at its configured rate
   (rate x the source's error_scale, per eligible field) within 5 standard
   deviations, summed over sources; every person-level change likewise.
2. Tags: the errors column of truth.csv holds exactly the applied counts.
3. Visible effects: for records of the named sources that carry one tag
   (and no alias), the value differs from the person's true value
   (persons.csv) exactly as the tag says; untagged records equal it.
4. PNC IDs: every ID in persons.csv has a correct check letter (computed
   here independently); IDs in the extracts are valid unless tagged pnc_typo.
5. Headline figures recomputed from truth.csv alone (which sources each
   person appears in) agree with generate.json.
Exits non-zero with a message on the first failure class found.
"""
import collections
import csv
import json
import math
import os
import sys

LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
NAMED = ["dip", "drug_tests", "oasys", "pnc", "ppo"]
fails = []


def fail(msg):
    fails.append(msg)
    print("FAIL:", msg)


def pnc_ok(s):
    if len(s) < 5 or s[2] != "/" or not s[:2].isdigit():
        return False
    serial, letter = s[3:-1], s[-1]
    if not serial.isdigit() or not 1 <= len(serial) <= 7:
        return False
    return LETTERS[(int(s[:2]) * 10**7 + int(serial)) % 23] == letter


def dl1(a, b):
    """True if a and b are one insert, delete, substitute or adjacent swap apart."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if la > lb:
        a, b = b, a
    for i in range(len(b)):
        if b[:i] + b[i + 1:] == a:
            return True
    return False


def date_key(s, fmt):
    """Formatted date -> YYYYMMDD string, for the formats the config uses."""
    if not s:
        return ""
    if fmt == "%d/%m/%Y":
        return s[6:10] + s[3:5] + s[0:2]
    if fmt == "%Y-%m-%d":
        return s[0:4] + s[5:7] + s[8:10]
    if fmt == "%Y%m%d":
        return s
    raise SystemExit("unsupported date format in test: " + fmt)


def main(d):
    stats = json.load(open(os.path.join(d, "generate.json")))
    n_persons = stats["persons"]
    # 1. rates within 5 sigma
    for name, e in stats["record_errors"].items():
        exp = var = applied = 0.0
        for src, t in e["by_source"].items():
            p = min(1.0, e["rate"] * t["scale"])
            exp += t["eligible"] * p
            var += t["eligible"] * p * (1 - p)
            applied += t["applied"]
        tol = 5 * math.sqrt(var) + 2
        status = "ok" if abs(applied - exp) <= tol else "BAD"
        print(f"  {name:18s} applied {int(applied):7d} expected {exp:9.1f} +- {tol:6.1f} {status}")
        if status == "BAD":
            fail(f"{name}: applied {applied} vs expected {exp:.1f} (tolerance {tol:.1f})")
        if e["rate"] > 0 and applied == 0:
            fail(f"{name}: never applied")
    for name, t in stats["person_changes"].items():
        p = t["rate"]
        exp = t["eligible"] * p
        tol = 5 * math.sqrt(t["eligible"] * p * (1 - p)) + 2
        status = "ok" if abs(t["applied"] - exp) <= tol else "BAD"
        print(f"  {name:22s} applied {t['applied']:7d} expected {exp:9.1f} +- {tol:6.1f} {status}")
        if status == "BAD":
            fail(f"person change {name}: applied {t['applied']} vs expected {exp:.1f}")

    # 2. tags = tallies; load truth
    tag_count = collections.Counter()
    truth = {}
    person_sources = collections.defaultdict(set)
    with open(os.path.join(d, "truth.csv"), newline="") as fh:
        for row in csv.DictReader(fh):
            tag_list = row["errors"].split("|") if row["errors"] else []
            for t in tag_list:
                tag_count[(row["source"], t)] += 1
            tags = collections.Counter(tag_list)
            truth[(row["source"], row["record_id"])] = (row["person"], tags)
            person_sources[row["person"]].add(row["source"])
    for name, e in stats["record_errors"].items():
        for src, t in e["by_source"].items():
            if tag_count[(src, name)] != t["applied"]:
                fail(f"{src} {name}: {tag_count[(src, name)]} tags vs {t['applied']} applied")
    total = sum(stats["records"].values())
    if len(truth) != total:
        fail(f"truth has {len(truth)} rows, generate.json says {total} records")

    # 3. visible effects against the person table
    persons = {}
    with open(os.path.join(d, "persons.csv"), newline="") as fh:
        for row in csv.DictReader(fh):
            persons[row["person"]] = row
            if row["pnc_id"] and not pnc_ok(row["pnc_id"]):
                fail(f"person {row['person']}: PNC ID {row['pnc_id']} has a wrong check letter")
    if len(persons) != n_persons:
        fail(f"persons.csv has {len(persons)} rows, expected {n_persons}")
    cfg = read_source_formats()
    checked = collections.Counter()
    bad = collections.Counter()
    pnc_invalid = pnc_invalid_typo = 0
    nicks = read_nicknames()
    for src in NAMED:
        fmt = cfg[src]
        with open(os.path.join(d, fmt["file"]), newline="") as fh:
            rdr = csv.DictReader(fh)
            idcol = rdr.fieldnames[0]
            for row in rdr:
                pid, tags = truth[(src, row[idcol])]
                per = persons[pid]
                pnc = row.get("pnc_id", "")
                if pnc and not pnc_ok(pnc):
                    pnc_invalid += 1
                    pnc_invalid_typo += "pnc_typo" in tags
                content = +tags
                for t in ("area_moved", "missing_area"):
                    content.pop(t, None)
                if "alias" in content or "surname_changed" in content or sum(content.values()) > 1:
                    continue
                tag = next(iter(content)) if content else "none"
                fn, sn = row["forename"].upper(), row["surname"].upper()
                dob = date_key(row["dob"], fmt["dob_format"])
                tdob = per["dob"].replace("-", "")
                tf, ts = per["forename"], per["surname"]
                sex = row.get("sex")
                codes = fmt["sex_codes"]
                tsex = codes[0] if per["sex"] == "M" else codes[1]
                ok = {
                    "none": fn == tf and sn == ts and dob == tdob and (sex is None or sex == tsex),
                    "missing_forename": fn == "" and sn == ts,
                    "missing_surname": sn == "" and fn == tf,
                    "missing_dob": dob == "" and fn == tf,
                    "missing_sex": sex == codes[2],
                    "sex_miscoded": sex == (codes[1] if per["sex"] == "M" else codes[0]),
                    "dob_swap": dob == tdob[:4] + tdob[6:8] + tdob[4:6] and dob != tdob,
                    "dob_placeholder": dob == tdob[:4] + "0101" and dob != tdob,
                    "dob_digit": len(dob) == 8 and sum(a != b for a, b in zip(dob, tdob)) == 1,
                    "name_swap": fn == ts and sn == tf,
                    "nickname": sn == ts and fn in nicks.get(tf, ()),
                    "double_barrelled": fn == tf and sn.startswith(ts + "-"),
                    "pnc_typo": pnc != "" and pnc != per["pnc_id"] and len(pnc) == len(per["pnc_id"]),
                    "phonetic": (fn == tf) != (sn == ts),
                }.get(tag)
                if tag.startswith("typo_"):
                    ok = (fn == tf and dl1(sn, ts)) or (sn == ts and dl1(fn, tf))
                if ok is None:
                    continue
                checked[tag] += 1
                if not ok:
                    bad[tag] += 1
                    if bad[tag] <= 3:
                        print(f"  {src} {row[idcol]} tag {tag}: {row} vs {per}")
    for tag in sorted(checked):
        print(f"  effect {tag:18s} checked {checked[tag]:7d} wrong {bad[tag]}")
        if bad[tag]:
            fail(f"{bad[tag]} records tagged {tag} do not show that error")
    for tag in ["none", "missing_forename", "dob_swap", "dob_digit", "dob_placeholder",
                "name_swap", "nickname", "typo_insert", "typo_transpose", "typo_keyboard",
                "sex_miscoded", "pnc_typo", "double_barrelled", "phonetic"]:
        if checked[tag] == 0:
            fail(f"no records with only the tag {tag} were found to check")
    if pnc_invalid != pnc_invalid_typo:
        fail(f"{pnc_invalid - pnc_invalid_typo} invalid PNC IDs without a pnc_typo tag")
    print(f"  invalid PNC IDs in extracts: {pnc_invalid} (all tagged pnc_typo)")

    # 5. headline figures from truth alone
    cj = {"dip", "drug_tests", "oasys", "pnc", "ppo"}
    cj_no_tx = sum(1 for s in person_sources.values() if s & cj and "ndtms" not in s)
    share = cj_no_tx / len(person_sources)
    print(f"  persons in any source {len(person_sources)}; justice but no treatment {share:.4f}")
    if len(person_sources) != n_persons:
        fail(f"{n_persons - len(person_sources)} persons have no record")
    if abs(share - stats["figures"]["share_cj_without_treatment"]) > 1e-6:
        fail("share_cj_without_treatment differs between truth.csv and generate.json")
    for key, lo, hi in [("share_cj_without_treatment", 0.40, 0.46),
                        ("positive_again_within_12m", 0.28, 0.38),
                        ("represent_within_12m", 0.28, 0.38),
                        ("heroin_crack_share_oasys", 0.38, 0.50)]:
        v = stats["figures"][key]
        if not lo <= v <= hi:
            fail(f"{key} = {v:.3f}, outside [{lo}, {hi}]")
    if fails:
        print(f"{len(fails)} check(s) failed")
        return 1
    print("all generator checks passed")
    return 0


def read_source_formats():
    """[source.*] file, dob_format and sex_codes from configs/generate-ddw.ini."""
    out, cur = {}, None
    for line in open("configs/generate-ddw.ini"):
        line = line.split(" ;")[0].strip()
        if line.startswith("[source."):
            cur = line[8:-1]
            out[cur] = {}
        elif cur and "=" in line:
            k, v = (x.strip() for x in line.split("=", 1))
            out[cur][k] = v.split(",") if k == "sex_codes" else v
    return out


def read_nicknames():
    out = {}
    with open("data/names/nicknames.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["name"]] = set(row["short_forms"].split("|"))
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
