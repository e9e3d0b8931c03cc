#!/usr/bin/env python3
"""Generate the small synthetic example dataset shipped with ddwlink.

The data mimic England's Drug Data Warehouse (DDW): three extracts of the
same (synthetic) people - drug-treatment episodes, police drug tests on
arrest and probation/prison assessments - with the typing errors, missing
values and format differences a record linker has to cope with.  A truth
file gives the true person behind every record.

Usage:
    /usr/bin/python3 tools/make_example.py --seed 7 --persons 1500 --out data/example

Standard library only.  Output is a pure function of (--seed, --persons and
the name lists in data/names/): all randomness comes from one
random.Random(seed); no global random, no hash(), no set iteration.

Name lists (data/names/, copied from the US Census Bureau's public-domain
name frequency tables): surnames.csv (name,count; top 2000 of 2010 used),
forenames_male.csv and forenames_female.csv (name,freq_percent,...; top 300
of 1990).  Names are sampled in proportion to those frequencies.
"""

import argparse
import csv
import datetime as dt
import os
import sys
import unicodedata

import random

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES_DIR = os.path.join(os.path.dirname(HERE), "data", "names")

WINDOW_START = dt.date(2005, 4, 1)   # event dates (triage, test, assessment)
WINDOW_END = dt.date(2009, 3, 31)
AGE_REF = dt.date(2007, 7, 1)        # persons are aged 18-55 at this date

# ---------------------------------------------------------------------------
# Error rates (per record, each drawn independently)
# ---------------------------------------------------------------------------
P_NAME_TYPO = 0.05      # one-letter substitute/insert/delete/transpose
P_DOB_SWAP = 0.02       # day<->month swapped: overall rate; only possible when
                        # day <= 12 and day != month, so scaled up among those
P_DOB_DIGIT = 0.02      # one digit of DDMMYYYY wrong (still a valid date)
P_DOB_MISSING = 0.01
P_FORENAME_MISSING = 0.01
P_PNC_TYPO = 0.01       # one serial digit substituted or two transposed
P_SURNAME_CHANGE = 0.01 # marriage / alias
P_NICKNAME = 0.02       # overall rate; applied only to forenames in NICKNAMES,
                        # so the rate among those is scaled up to match
P_AREA_MOVED = 0.05
P_SEX_UNKNOWN = 0.01    # treatment only: sex written "U"
P_ACCENT_STRIP = 0.25   # persons with accented names: typed without accents

# ---------------------------------------------------------------------------
# Areas: the 19 South East England Drug (and Alcohol) Action Team areas,
# with rough weights (population, tilted towards the urban treatment hubs).
# ---------------------------------------------------------------------------
DATS = [
    ("Brighton & Hove", 5.0, "Sussex Police", "Sussex Police, Brighton"),
    ("East Sussex", 5.0, "Sussex Police", "Sussex Police, Eastbourne"),
    ("West Sussex", 7.0, "Sussex Police", "Sussex Police, Crawley"),
    ("Kent", 13.0, "Kent Police", "Kent Police, Canterbury"),
    ("Medway", 3.5, "Kent Police", "Kent Police, Medway"),
    ("Surrey", 9.0, "Surrey Police", None),
    ("Hampshire", 10.0, "Hampshire Constabulary", None),
    ("Portsmouth", 4.0, "Hampshire Constabulary", "Hampshire Constabulary, Portsmouth"),
    ("Southampton", 4.5, "Hampshire Constabulary", "Hampshire Constabulary, Southampton"),
    ("Isle of Wight", 1.5, "Hampshire Constabulary", None),
    ("Oxfordshire", 6.0, "Thames Valley Police", "Thames Valley Police, Oxford"),
    ("Buckinghamshire", 4.5, "Thames Valley Police", None),
    ("Milton Keynes", 3.0, "Thames Valley Police", "Thames Valley Police, Milton Keynes"),
    ("Bracknell Forest", 1.0, "Thames Valley Police", None),
    ("Reading", 2.5, "Thames Valley Police", "Thames Valley Police, Reading"),
    ("Slough", 2.0, "Thames Valley Police", "Thames Valley Police, Slough"),
    ("West Berkshire", 1.2, "Thames Valley Police", None),
    ("Windsor & Maidenhead", 1.2, "Thames Valley Police", None),
    ("Wokingham", 1.0, "Thames Valley Police", None),
]
DAT_NAMES = [d[0] for d in DATS]
DAT_WEIGHTS = [d[1] for d in DATS]
FORCE = {d[0]: d[2] for d in DATS}
FORCE_VARIANT = {d[0]: d[3] for d in DATS}  # contains a comma -> quoted in CSV
P_FORCE_VARIANT = 0.10

# ---------------------------------------------------------------------------
# Nicknames / short forms (keys upper case as in the name lists)
# ---------------------------------------------------------------------------
NICKNAMES = {
    "WILLIAM": "Bill", "ROBERT": "Bob", "MICHAEL": "Mick", "JAMES": "Jim",
    "ELIZABETH": "Liz", "MARGARET": "Maggie", "THOMAS": "Tom",
    "CHRISTOPHER": "Chris", "DANIEL": "Dan", "JENNIFER": "Jen",
    "ANTHONY": "Tony", "RICHARD": "Rick",
    # a few more common English short forms
    "DAVID": "Dave", "STEVEN": "Steve", "STEPHEN": "Steve", "JOSEPH": "Joe",
    "ANDREW": "Andy", "MATTHEW": "Matt", "NICHOLAS": "Nick",
    "SAMANTHA": "Sam", "REBECCA": "Becky", "KATHERINE": "Kate",
    "SUSAN": "Sue", "DEBORAH": "Debbie",
}

# Surnames that are written with an apostrophe (the Census lists drop it).
O_APOSTROPHE = [
    "OBRIEN", "OCONNOR", "ONEILL", "ONEIL", "ONEAL", "ODONNELL", "OCONNELL",
    "OHARA", "OROURKE", "OKEEFE", "OSULLIVAN", "OLEARY", "OMALLEY", "OSHEA",
    "OREILLY", "OTOOLE", "OGRADY", "OBRYANT", "ODELL", "OKANE", "OHARE",
]

# A few persons have accented names (UTF-8).
ACCENT_FORENAMES_M = ["José", "Łukasz", "François", "Björn", "Søren", "Jérôme", "Raphaël"]
ACCENT_FORENAMES_F = ["Zoë", "Chloé", "Renée", "Małgorzata", "Zsófia", "Noémie", "Agnès"]
ACCENT_SURNAMES = ["Wiśniewski", "Kowalczyk", "Núñez", "Peña", "Müller", "Gonçalves", "Dvořák"]
P_ACCENTED_PERSON = 0.01
ASCII_FOLD = {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o"}

DRUG_GROUPS = ["opiates", "crack", "opiates and crack", "cannabis", "alcohol"]
DRUG_GROUP_WEIGHTS = [34, 10, 30, 12, 14]
TEST_RESULTS = ["opiates", "cocaine", "both", "negative"]
TEST_RESULT_WEIGHTS = {
    "opiates": [45, 5, 20, 30],
    "crack": [5, 55, 10, 30],
    "opiates and crack": [20, 15, 45, 20],
    "cannabis": [5, 15, 5, 75],
    "alcohol": [5, 10, 5, 80],
}

# Which sources a person appears in (T=treatment, D=drug_tests, P=probation).
# About 40% of persons are in more than one source.
SOURCE_SETS = [("T",), ("D",), ("P",), ("T", "D"), ("T", "P"), ("D", "P"), ("T", "D", "P")]
SOURCE_SET_WEIGHTS = [30, 18, 12, 14, 10, 7, 9]
# Records per person within one source (>1 = within-source duplicates).
MULTIPLICITY = [1, 2, 3, 4]
MULTIPLICITY_WEIGHTS = [55, 28, 12, 5]

# QWERTY neighbours for realistic substitutions.
KEYBOARD = [
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
]


def keyboard_neighbours():
    pos = {}
    for r, row in enumerate(KEYBOARD):
        for c, ch in enumerate(row):
            pos[ch] = (r, c)
    nb = {}
    for ch, (r, c) in pos.items():
        lst = []
        for ch2, (r2, c2) in pos.items():
            if ch2 != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1:
                lst.append(ch2)
        nb[ch] = sorted(lst)
    return nb


NEIGHBOURS = keyboard_neighbours()
LETTERS = "abcdefghijklmnopqrstuvwxyz"


# ---------------------------------------------------------------------------
# PNC ID
# ---------------------------------------------------------------------------
PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def pnc_check_letter(yy, serial):
    """PNC ID check letter.

    Rule: concatenate the 2-digit year and the 7-digit serial and read them
    as one integer YYNNNNNNN (e.g. "04" + "1234567" -> 41234567); take that
    number mod 23 and use the remainder (0..22) as an index into
    "ZABCDEFGHJKLMNPQRTUVWXY" (I, O and S are not used).  So
    04/1234567 -> 41234567 mod 23 = 6 -> "F" -> "04/1234567F".
    """
    return PNC_LETTERS[int("%02d%07d" % (yy, serial)) % 23]


def format_pnc(yy, serial):
    return "%02d/%07d%s" % (yy, serial, pnc_check_letter(yy, serial))


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def read_names(path, weight_col, limit):
    """The first `limit` rows (the lists are in descending frequency)."""
    names, weights = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if len(names) == limit:
                break
            names.append(row["name"])
            weights.append(float(row[weight_col]))
    return names, weights


def mixed_case(name):
    """Census upper case -> as a person would type it."""
    if name in O_APOSTROPHE_SET:
        return "O'" + name[1:].capitalize()
    if name.startswith("MC") and len(name) > 3:
        return "Mc" + name[2:].capitalize()
    return name.title()


O_APOSTROPHE_SET = frozenset(O_APOSTROPHE)  # membership test only


def strip_accents(s):
    s = "".join(ASCII_FOLD.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def add_years(d, years):
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def rand_date(rng, lo, hi):
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def name_typo(rng, name):
    """One substitute/insert/delete/transpose; keeps the case pattern."""
    letters_at = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(letters_at) < 2:
        return name
    op = rng.choice(["sub", "sub", "ins", "del", "trans"])
    s = list(name)
    if op == "sub":
        i = rng.choice(letters_at)
        low = s[i].lower()
        if low in NEIGHBOURS and rng.random() < 0.7:
            new = rng.choice(NEIGHBOURS[low])
        else:
            new = rng.choice([c for c in LETTERS if c != low])
        s[i] = new.upper() if s[i].isupper() else new
    elif op == "ins":
        i = rng.randint(1, len(s))  # never before the first letter
        prev = s[i - 1].lower()
        new = prev if rng.random() < 0.4 and prev.isalpha() else rng.choice(LETTERS)
        s.insert(i, new)
    elif op == "del":
        i = rng.choice(letters_at[1:])  # keep the initial letter
        del s[i]
    else:
        pairs = [i for i in range(1, len(s) - 1)
                 if s[i].isalpha() and s[i + 1].isalpha() and s[i] != s[i + 1]]
        if not pairs:
            return name
        i = rng.choice(pairs)
        s[i], s[i + 1] = s[i + 1], s[i]
    return "".join(s)


def swappable(d):
    return d.day <= 12 and d.day != d.month


def dob_digit_error(rng, d):
    digits = list(d.strftime("%d%m%Y"))
    for _ in range(50):
        i = rng.randrange(8)
        new = rng.choice([c for c in "0123456789" if c != digits[i]])
        cand = digits[:]
        cand[i] = new
        s = "".join(cand)
        try:
            nd = dt.date(int(s[4:8]), int(s[2:4]), int(s[0:2]))
        except ValueError:
            continue
        if 1900 <= nd.year <= 2005:
            return nd
    return d


def pnc_typo(rng, pnc):
    # "YY/NNNNNNNX": alter the serial, keep the (now wrong) check letter.
    s = list(pnc)
    serial_pos = list(range(3, 10))
    if rng.random() < 0.7:
        i = rng.choice(serial_pos)
        s[i] = rng.choice([c for c in "0123456789" if c != s[i]])
    else:
        pairs = [i for i in serial_pos[:-1] if s[i] != s[i + 1]]
        if not pairs:
            return pnc
        i = rng.choice(pairs)
        s[i], s[i + 1] = s[i + 1], s[i]
    return "".join(s)


# ---------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------
class Person:
    __slots__ = ("pid", "sex", "forename", "fn_key", "surname", "dob", "area",
                 "pnc", "sources", "drug_group", "accented", "twin_of")


def make_population(rng, n, names):
    sur, sur_w, male, male_w, fem, fem_w = names
    persons = []
    used_pnc = {}
    for pid in range(1, n + 1):
        p = Person()
        p.pid = pid
        p.twin_of = None
        p.sex = "M" if rng.random() < 0.83 else "F"
        if p.sex == "M":
            key = rng.choices(male, male_w)[0]
        else:
            key = rng.choices(fem, fem_w)[0]
        p.fn_key = key
        p.forename = mixed_case(key)
        p.surname = mixed_case(rng.choices(sur, sur_w)[0])
        p.accented = False
        if rng.random() < P_ACCENTED_PERSON:
            p.accented = True
            p.fn_key = None
            p.forename = rng.choice(ACCENT_FORENAMES_M if p.sex == "M" else ACCENT_FORENAMES_F)
            if rng.random() < 0.4:
                p.surname = rng.choice(ACCENT_SURNAMES)
        # Age at AGE_REF: 70% in 20-39, 30% anywhere in 18-55.
        if rng.random() < 0.7:
            age_days = rng.randint(20 * 365 + 5, 40 * 365 + 9)
        else:
            age_days = rng.randint(18 * 365 + 5, 56 * 365 + 13)
        p.dob = AGE_REF - dt.timedelta(days=age_days)
        p.area = rng.choices(DAT_NAMES, DAT_WEIGHTS)[0]
        p.sources = rng.choices(SOURCE_SETS, SOURCE_SET_WEIGHTS)[0]
        # PNC ID: ~70% overall; criminal-justice persons much more likely.
        in_cj = ("D" in p.sources) or ("P" in p.sources)
        p.pnc = None
        if rng.random() < (0.90 if in_cj else 0.28):
            lo = max(p.dob.year + 14, 1975)
            while True:
                year = rng.randint(lo, 2008)
                serial = rng.randint(1, 1499999)
                pnc = format_pnc(year % 100, serial)
                if pnc not in used_pnc:
                    used_pnc[pnc] = True
                    break
            p.pnc = pnc
        p.drug_group = rng.choices(DRUG_GROUPS, DRUG_GROUP_WEIGHTS)[0]
        persons.append(p)

    # Twin-like pairs: distinct persons with the same forename, surname, dob
    # and sex (own PNC, own records) - exact matching would merge them.
    n_pairs = max(1, round(n * 0.005))
    idx = rng.sample(range(n), 2 * n_pairs)
    for k in range(n_pairs):
        a, b = persons[idx[2 * k]], persons[idx[2 * k + 1]]
        b.sex, b.forename, b.fn_key = a.sex, a.forename, a.fn_key
        b.surname, b.dob, b.accented = a.surname, a.dob, a.accented
        if rng.random() < 0.5:
            b.area = a.area
        b.twin_of = a.pid
    return persons, n_pairs


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------
def recorded_attrs(rng, p, persons_sur, nick_p, swap_p, tags):
    """The person's identifying attributes as typed into one record."""
    a = {"forename": p.forename, "surname": p.surname, "dob": p.dob,
         "sex": p.sex, "pnc": p.pnc, "area": p.area}
    if p.accented and rng.random() < P_ACCENT_STRIP:
        a["forename"] = strip_accents(a["forename"])
        a["surname"] = strip_accents(a["surname"])
        tags.append("accent_stripped")
    if p.fn_key in NICKNAMES and rng.random() < nick_p:
        a["forename"] = NICKNAMES[p.fn_key]
        tags.append("nickname")
    if rng.random() < P_SURNAME_CHANGE:
        sur, sur_w = persons_sur
        while True:
            new = mixed_case(rng.choices(sur, sur_w)[0])
            if new != p.surname:
                break
        if p.sex == "F" and rng.random() < 0.3:
            new = a["surname"] + "-" + new  # double-barrelled after marriage
        a["surname"] = new
        tags.append("surname_changed")
    if rng.random() < P_NAME_TYPO:
        field = "forename" if rng.random() < 0.5 else "surname"
        a[field] = name_typo(rng, a[field])
        tags.append(field[:2] + "_typo")
    if swappable(p.dob) and rng.random() < swap_p:
        a["dob"] = a["dob"].replace(day=a["dob"].month, month=a["dob"].day)
        tags.append("dob_swap")
    if rng.random() < P_DOB_DIGIT:
        a["dob"] = dob_digit_error(rng, a["dob"])
        tags.append("dob_digit")
    if rng.random() < P_DOB_MISSING:
        a["dob"] = None
        tags.append("dob_missing")
    if rng.random() < P_FORENAME_MISSING:
        a["forename"] = ""
        tags.append("forename_missing")
    if a["pnc"] and rng.random() < P_PNC_TYPO:
        a["pnc"] = pnc_typo(rng, a["pnc"])
        tags.append("pnc_typo")
    if rng.random() < P_AREA_MOVED:
        if rng.random() < 0.6:  # usually a neighbouring area (same force)
            cands = [d for d in DAT_NAMES if FORCE[d] == FORCE[p.area] and d != p.area]
        else:
            cands = []
        if not cands:
            cands = [d for d in DAT_NAMES if d != p.area]
        a["area"] = rng.choice(cands)
        tags.append("area_moved")
    return a


def fmt_date(d, pattern):
    return d.strftime(pattern) if d is not None else ""


def render_treatment(a, f):
    sex = a["sex"] if not f["sex_unknown"] else "U"
    return [a["forename"][:1].upper(), a["surname"][:1].upper(),
            fmt_date(a["dob"], "%d/%m/%Y"), sex, a["area"],
            f["drug_group"], f["date"].isoformat()]


def render_tests(a, f):
    if f["numeric_gender"]:
        gender = "1" if a["sex"] == "M" else "2"
    else:
        gender = "MALE" if a["sex"] == "M" else "FEMALE"
    force = FORCE[a["area"]]
    if f["force_variant"] and FORCE_VARIANT[a["area"]]:
        force = FORCE_VARIANT[a["area"]]
    pnc = a["pnc"] if (a["pnc"] and f["pnc_written"]) else ""
    return [a["forename"], a["surname"], fmt_date(a["dob"], "%Y-%m-%d"), gender,
            pnc, force, f["date"].isoformat(), f["result"]]


def render_probation(a, f):
    pnc = a["pnc"] if (a["pnc"] and f["pnc_written"]) else ""
    return [a["forename"], a["surname"], fmt_date(a["dob"], "%Y%m%d"), a["sex"],
            pnc, f["setting"], f["date"].strftime("%Y%m%d")]


SOURCES = [
    # key, file, id column prefix, header (after the id), renderer
    ("T", "treatment", "T", "client_ref",
     ["forename_initial", "surname_initial", "date_of_birth", "sex", "dat",
      "drug_group", "triage_date"], render_treatment),
    ("D", "drug_tests", "DT", "test_id",
     ["forename", "surname", "dob", "gender", "pnc_id", "force", "test_date",
      "result"], render_tests),
    ("P", "probation", "OA", "oasys_ref",
     ["first_name", "last_name", "birth_date", "sex", "pnc", "setting",
      "assessment_date"], render_probation),
]


def make_records(rng, persons, names):
    sur, sur_w = names[0], names[1]
    eligible = sum(1 for p in persons if p.fn_key in NICKNAMES)
    nick_p = min(0.5, P_NICKNAME * len(persons) / max(1, eligible))
    # Likewise the day/month swap is only possible for ~36% of dates.
    swappable_n = sum(1 for p in persons if swappable(p.dob))
    swap_p = min(0.5, P_DOB_SWAP * len(persons) / max(1, swappable_n))
    out = {s[0]: [] for s in SOURCES}
    tag_counts = {}
    for p in persons:
        lo = max(WINDOW_START, add_years(p.dob, 18))
        for src in p.sources:
            k = rng.choices(MULTIPLICITY, MULTIPLICITY_WEIGHTS)[0]
            for _ in range(k):
                f = {"date": rand_date(rng, lo, WINDOW_END)}
                if src == "T":
                    f["drug_group"] = (p.drug_group if rng.random() < 0.85
                                       else rng.choices(DRUG_GROUPS, DRUG_GROUP_WEIGHTS)[0])
                    f["sex_unknown"] = rng.random() < P_SEX_UNKNOWN
                elif src == "D":
                    f["numeric_gender"] = rng.random() < 0.10
                    f["force_variant"] = rng.random() < P_FORCE_VARIANT
                    f["pnc_written"] = rng.random() < 0.95
                    f["result"] = rng.choices(TEST_RESULTS, TEST_RESULT_WEIGHTS[p.drug_group])[0]
                else:
                    f["pnc_written"] = rng.random() < 0.68
                    f["setting"] = "prison" if rng.random() < 0.35 else "probation"
                tags = []
                a = recorded_attrs(rng, p, (sur, sur_w), nick_p, swap_p, tags)
                if src == "T" and f["sex_unknown"]:
                    tags.append("sex_unknown")
                true_a = {"forename": p.forename, "surname": p.surname, "dob": p.dob,
                          "sex": p.sex, "pnc": p.pnc, "area": p.area}
                render = {s[0]: s[5] for s in SOURCES}[src]
                row = render(a, f)
                f_clean = dict(f)
                if src == "T":
                    f_clean["sex_unknown"] = False
                clean = row == render(true_a, f_clean)
                for t in tags:
                    tag_counts[t] = tag_counts.get(t, 0) + 1
                out[src].append((f["date"], rng.random(), p.pid, row, clean))
    return out, tag_counts, nick_p


def write_csv(path, header, rows, crlf=False, bom=False):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if bom:
            fh.write("\ufeff")
        w = csv.writer(fh, lineterminator="\r\n" if crlf else "\n",
                       quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--persons", type=int, default=1500)
    ap.add_argument("--out", default="data/example")
    ap.add_argument("--names", default=NAMES_DIR, help="directory with the name lists")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    sur, sur_w = read_names(os.path.join(args.names, "surnames.csv"), "count", 2000)
    male, male_w = read_names(os.path.join(args.names, "forenames_male.csv"), "freq_percent", 300)
    fem, fem_w = read_names(os.path.join(args.names, "forenames_female.csv"), "freq_percent", 300)
    names = (sur, sur_w, male, male_w, fem, fem_w)

    persons, n_pairs = make_population(rng, args.persons, names)
    recs, tag_counts, nick_p = make_records(rng, persons, names)

    os.makedirs(args.out, exist_ok=True)
    truth = []
    seen = {}
    for key, fname, prefix, idcol, header, _ in SOURCES:
        rows = []
        # Extract order: by event date (random tie-break), ids in that order.
        for i, (_, _, pid, row, clean) in enumerate(sorted(recs[key], key=lambda r: (r[0], r[1])), 1):
            rid = "%s%06d" % (prefix, i)
            rows.append([rid] + row)
            truth.append([fname, rid, pid, 1 if clean else 0])
            srcs = seen.setdefault(pid, [])
            if key not in srcs:
                srcs.append(key)
        write_csv(os.path.join(args.out, fname + ".csv"), [idcol] + header, rows,
                  crlf=(key == "P"), bom=(key == "P"))
    write_csv(os.path.join(args.out, "truth.csv"), ["source", "record_id", "person", "clean"], truth)

    # Summary
    total = len(truth)
    multi = sum(1 for v in seen.values() if len(v) > 1)
    print("seed %d, %d persons generated -> %s" % (args.seed, args.persons, args.out))
    for key, fname, *_ in SOURCES:
        n = len(recs[key])
        per = _count(r[2] for r in recs[key])
        np_ = len(per)
        dup = sum(1 for c in per.values() if c > 1)
        print("  %-11s %5d records, %5d persons, %4d persons with >1 record" % (fname, n, np_, dup))
    print("  total       %5d records" % total)
    print("persons with records: %d; in >1 source: %d (%.1f%%); twin-like pairs: %d"
          % (len(seen), multi, 100.0 * multi / max(1, len(seen)), n_pairs))
    print("persons with a PNC ID: %d (%.1f%%)" % (
        sum(1 for p in persons if p.pnc), 100.0 * sum(1 for p in persons if p.pnc) / len(persons)))
    nclean = sum(t[3] for t in truth)
    print("clean records: %d (%.1f%%)" % (nclean, 100.0 * nclean / total))
    print("injected attribute changes (before rendering; initials-only treatment hides many):")
    for t in sorted(tag_counts):
        print("  %-17s %4d (%.1f%%)" % (t, tag_counts[t], 100.0 * tag_counts[t] / total))
    return 0


def _count(it):
    c = {}
    for x in it:
        c[x] = c.get(x, 0) + 1
    return c


if __name__ == "__main__":
    sys.exit(main())
