#!/usr/bin/env python3
"""Generate the synthetic `data/people/` files: two sources to link and one to deduplicate.

The files show that ddwlink links any person-level CSV. They are not about drug
treatment or justice:

  clinic.csv      hospital outpatient clinic attendances (one row per visit,
                  so a patient can appear many times)
  registry.csv    a GP-style patient register (at most one row per person)
  customers.csv   a mailing list in which some people signed up more than once
  truth_link.csv  the true person behind every clinic and registry row
  truth_dedup.csv the true person behind every customers row

Usage:
    python3 tools/make_people.py --seed 3 --out data/people

Uses the Python standard library only. The output depends only on --seed,
--registry, --customers and the name lists in data/names/. All randomness
comes from one random.Random(seed): no global random, no hash(), and no
iteration over sets. Running it twice gives byte-identical files.

Name lists (data/names/): forenames_male.csv and forenames_female.csv
(name,freq_percent,...), surnames.csv (name,count) and nicknames.csv
(name,short_forms). Names are drawn in proportion to their frequency.
"""

import argparse
import bisect
import csv
import datetime as dt
import itertools
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES_DIR = os.path.join(os.path.dirname(HERE), "data", "names")

# ---------------------------------------------------------------------------
# Time windows
# ---------------------------------------------------------------------------
LINK_START = dt.date(2019, 1, 1)       # clinic attendances, moves, name changes
LINK_END = dt.date(2023, 12, 31)
REGISTRY_EXTRACT = dt.date(2024, 3, 31)
CUST_START = dt.date(2012, 1, 1)       # mailing-list sign-ups
CUST_END = dt.date(2023, 12, 31)
CHILD_DOB_MAX = dt.date(2018, 12, 31)

# ---------------------------------------------------------------------------
# Person-level events (each person at most once)
# ---------------------------------------------------------------------------
P_MOVED = 0.10            # moves to a new address (new address1, town, postcode) in the window
P_MOVE_SAME_TOWN = 0.5    # ... within the same town
P_REGISTRY_STALE = 0.15   # registry still holds a mover's old address
P_NAME_CHANGE = 0.08      # women aged 20-50: surname changes on marriage in the window
P_DOUBLE_BARREL = 0.2     # ... to "Old-New"
P_NAME_CHANGE_MOVES = 0.5 # ... and moves on the same date
P_REGISTRY_OLD_NAME = 0.1 # registry still holds the old surname
P_TWIN = 0.006            # a person gets a twin: same surname, dob, address; own forename
P_MIDDLE = 0.45           # has a middle name
P_TWO_MIDDLE = 0.08       # ... has two
P_FLAT = 0.05             # household lives in a flat ("Flat 3, 12 Mill Road")

# ---------------------------------------------------------------------------
# Record-level error rates, per source. Each is drawn independently for each
# row. `nickname` and `dob_swap` are overall rates: they can only happen to
# forenames with a short form and dates with day <= 12 != month, so the rate
# among those is scaled up to match.
# ---------------------------------------------------------------------------
RATES = {
    # the register is maintained: few errors, missing NHS numbers are rare
    "registry": dict(
        forename_typo=0.01, surname_typo=0.01, nickname=0.005, name_swap=0.003,
        forename_missing=0.0, middle_written=0.95,
        dob_swap=0.005, dob_digit=0.005, dob_jan1=0.0, dob_missing=0.002,
        sex_missing=0.005, sex_wrong=0.002,
        addr_abbrev=0.0, addr_typo=0.005, addr_missing=0.005, flat_dropped=0.0,
        town_missing=0.01, town_typo=0.005, postcode_typo=0.005, postcode_missing=0.005,
        id_missing=0.02, id_typo=0.003),
    # typed at the clinic reception desk, often from what the patient says
    "clinic": dict(
        forename_typo=0.03, surname_typo=0.03, nickname=0.04, name_swap=0.015,
        forename_missing=0.005, middle_written=0.5,
        dob_swap=0.015, dob_digit=0.015, dob_jan1=0.005, dob_missing=0.02,
        sex_missing=0.01, sex_wrong=0.005,
        addr_abbrev=0.15, addr_typo=0.02, addr_missing=0.02, flat_dropped=0.3,
        town_missing=0.05, town_typo=0.01, postcode_typo=0.03, postcode_missing=0.03,
        id_missing=0.25, id_typo=0.01),
    # typed by the customers themselves on a web form
    "customers": dict(
        forename_typo=0.02, surname_typo=0.02, nickname=0.08, name_swap=0.01,
        forename_missing=0.0, middle_written=0.0,
        dob_swap=0.01, dob_digit=0.01, dob_jan1=0.01, dob_missing=0.20,
        sex_missing=0.0, sex_wrong=0.005,
        addr_abbrev=0.20, addr_typo=0.02, addr_missing=0.01, flat_dropped=0.2,
        town_missing=0.03, town_typo=0.015, postcode_typo=0.02, postcode_missing=0.02,
        email_missing=0.10, email_typo=0.01, email_new=0.4,
        lower_case=0.10, upper_case=0.03),
}

# Clinic: visits per attending person; share of people who attend.
VISITS = [1, 2, 3, 4, 5]
VISIT_WEIGHTS = [58, 25, 10, 5, 2]
P_ATTEND = 0.67
P_HOUSEHOLD_REGISTERED = 0.85   # households registered with this register
# Customers: entries per person (2 or 3 = duplicates).
ENTRIES = [1, 2, 3]
ENTRY_WEIGHTS = [80, 16, 4]
P_SHARED_EMAIL = 0.05           # couples who use one email address

CLINICS = ["Cardiology", "Dermatology", "Diabetes", "ENT", "Fracture clinic",
           "Gastroenterology", "Ophthalmology", "Orthopaedics", "Respiratory",
           "Rheumatology", "Urology"]
CLINIC_WEIGHTS = [12, 9, 10, 8, 10, 8, 12, 14, 7, 5, 5]
EMAIL_DOMAINS = ["gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com",
                 "btinternet.com", "icloud.com", "sky.com", "live.co.uk"]
EMAIL_DOMAIN_WEIGHTS = [35, 18, 10, 12, 8, 7, 5, 5]

# ---------------------------------------------------------------------------
# Places: 40 towns in England with rough populations (thousands) and some of
# their postcode districts; streets are invented from STREET_STEMS x TYPES.
# ---------------------------------------------------------------------------
TOWNS = [
    ("Reading", 175, ["RG1", "RG2", "RG4", "RG6", "RG30", "RG31"]),
    ("Southampton", 250, ["SO14", "SO15", "SO16", "SO17", "SO18", "SO19"]),
    ("Brighton", 230, ["BN1", "BN2", "BN3"]),
    ("Oxford", 160, ["OX1", "OX2", "OX3", "OX4"]),
    ("Portsmouth", 210, ["PO1", "PO2", "PO3", "PO4", "PO5", "PO6"]),
    ("Basingstoke", 110, ["RG21", "RG22", "RG24"]),
    ("Guildford", 80, ["GU1", "GU2", "GU4"]),
    ("Winchester", 45, ["SO22", "SO23"]),
    ("Crawley", 115, ["RH10", "RH11"]),
    ("Worthing", 110, ["BN11", "BN12", "BN13", "BN14"]),
    ("Eastbourne", 100, ["BN20", "BN21", "BN22", "BN23"]),
    ("Hastings", 90, ["TN34", "TN35"]),
    ("Maidstone", 115, ["ME14", "ME15", "ME16"]),
    ("Canterbury", 55, ["CT1", "CT2"]),
    ("Slough", 165, ["SL1", "SL2"]),
    ("Milton Keynes", 230, ["MK1", "MK3", "MK6", "MK9"]),
    ("Swindon", 185, ["SN1", "SN2", "SN3", "SN5"]),
    ("Bath", 95, ["BA1", "BA2"]),
    ("Bristol", 470, ["BS3", "BS5", "BS6", "BS7", "BS16"]),
    ("Cheltenham", 115, ["GL50", "GL51", "GL52", "GL53"]),
    ("Gloucester", 130, ["GL1", "GL2", "GL4"]),
    ("Exeter", 130, ["EX1", "EX2", "EX4"]),
    ("Plymouth", 265, ["PL1", "PL2", "PL3", "PL4", "PL5", "PL6"]),
    ("Bournemouth", 190, ["BH1", "BH5", "BH6", "BH8", "BH9"]),
    ("Poole", 150, ["BH12", "BH14", "BH15", "BH17"]),
    ("Salisbury", 40, ["SP1", "SP2"]),
    ("Newbury", 40, ["RG14"]),
    ("Aylesbury", 60, ["HP19", "HP20", "HP21"]),
    ("High Wycombe", 120, ["HP11", "HP12", "HP13"]),
    ("Luton", 225, ["LU1", "LU2", "LU3", "LU4"]),
    ("Bedford", 105, ["MK40", "MK41", "MK42"]),
    ("Cambridge", 145, ["CB1", "CB2", "CB3", "CB4"]),
    ("Norwich", 145, ["NR1", "NR2", "NR3", "NR4", "NR5", "NR6", "NR7"]),
    ("Ipswich", 140, ["IP1", "IP2", "IP3", "IP4"]),
    ("Colchester", 130, ["CO1", "CO2", "CO3", "CO4"]),
    ("Chelmsford", 115, ["CM1", "CM2"]),
    ("Northampton", 230, ["NN1", "NN2", "NN3", "NN4", "NN5"]),
    ("Leicester", 370, ["LE1", "LE2", "LE3", "LE4", "LE5"]),
    ("Nottingham", 330, ["NG1", "NG3", "NG5", "NG7", "NG9"]),
    ("Coventry", 345, ["CV1", "CV2", "CV3", "CV4", "CV5", "CV6"]),
]
STREET_STEMS = [
    "Mill", "Church", "Station", "Victoria", "Park", "High", "Queens", "Kings",
    "Orchard", "Meadow", "Chestnut", "Willow", "Beech", "Oak", "Elm", "Ash",
    "Manor", "Grange", "Windmill", "Brook", "Spring", "Priory", "Abbey", "Castle",
    "Bridge", "York", "Albert", "Alexandra", "Nelson", "Wellington", "Cromwell",
    "Hawthorn", "Holly", "Laurel", "Cedar", "Sycamore", "Rowan", "Heather",
    "Primrose", "Bluebell", "Marlborough", "Salisbury", "Stanley", "Fairfield",
]
STREET_TYPES = ["Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way", "Gardens"]
ABBREV = {"Road": "Rd", "Street": "St", "Lane": "Ln", "Close": "Cl", "Avenue": "Ave",
          "Drive": "Dr", "Gardens": "Gdns"}  # "Way" has none
STREETS_PER_TOWN = 40
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in the inward code

KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def keyboard_neighbours():
    pos = {ch: (r, c) for r, row in enumerate(KEYBOARD) for c, ch in enumerate(row)}
    nb = {}
    for ch, (r, c) in pos.items():
        nb[ch] = sorted(ch2 for ch2, (r2, c2) in pos.items()
                        if ch2 != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1)
    return nb


NEIGHBOURS = keyboard_neighbours()


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
class Weighted:
    """Draws from a list in proportion to weights (O(log n) per draw)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))

    def draw(self, rng):
        x = rng.random() * self.cum[-1]
        return self.items[min(bisect.bisect_right(self.cum, x), len(self.items) - 1)]


def read_names(path, weight_col):
    names, weights = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names.append(row["name"])
            weights.append(float(row[weight_col]))
    return Weighted(names, weights)


def read_nicknames(path):
    nick = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            nick[row["name"]] = row["short_forms"].split("|")
    return nick


O_NAMES = ("OBRIEN", "OCONNOR", "ONEILL", "ONEIL", "ONEAL", "ODONNELL", "OCONNELL",
           "OHARA", "OROURKE", "OKEEFE", "OSULLIVAN", "OLEARY", "OMALLEY", "OSHEA",
           "OREILLY", "OTOOLE", "OGRADY", "OKANE", "OHARE")


def title_case(name):
    """Census upper case -> as usually written (O'Brien, McDonald, Smith-Jones)."""
    parts = []
    for part in name.split("-"):
        if part in O_NAMES:
            parts.append("O'" + part[1:].capitalize())
        elif part.startswith("MC") and len(part) > 3:
            parts.append("Mc" + part[2:].capitalize())
        else:
            parts.append(part.capitalize())
    return "-".join(parts)


def add_years(d, years):
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def rand_date(rng, lo, hi):
    return lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))


def typo(rng, s):
    """One substitution (mostly a keyboard neighbour), insertion, deletion or
    transposition of letters; never touches the first letter; keeps case."""
    at = [i for i, ch in enumerate(s) if ch.isalpha()]
    if len(at) < 3:
        return s
    op = rng.choice(["sub", "sub", "ins", "del", "trans"])
    t = list(s)
    if op == "sub":
        i = rng.choice(at[1:])
        low = t[i].lower()
        new = rng.choice(NEIGHBOURS[low]) if low in NEIGHBOURS and rng.random() < 0.7 \
            else rng.choice([c for c in LETTERS if c != low])
        t[i] = new.upper() if t[i].isupper() else new
    elif op == "ins":
        i = rng.choice(at[1:]) + rng.randint(0, 1)
        prev = t[i - 1]
        new = prev.lower() if rng.random() < 0.4 and prev.isalpha() else rng.choice(LETTERS)
        t.insert(i, new.upper() if t[i - 1].isupper() else new)
    elif op == "del":
        del t[rng.choice(at[1:])]
    else:
        pairs = [i for i in at[1:] if i + 1 < len(t) and t[i + 1].isalpha()
                 and t[i].lower() != t[i + 1].lower()]
        if not pairs:
            return s
        i = rng.choice(pairs)
        t[i], t[i + 1] = t[i + 1], t[i]
    return "".join(t)


def swappable(d):
    return d.day <= 12 and d.day != d.month


def dob_digit_error(rng, d):
    digits = list(d.strftime("%d%m%Y"))
    for _ in range(100):
        i = rng.randrange(8)
        cand = digits[:]
        cand[i] = rng.choice([c for c in "0123456789" if c != digits[i]])
        s = "".join(cand)
        try:
            nd = dt.date(int(s[4:8]), int(s[2:4]), int(s[0:2]))
        except ValueError:
            continue
        if 1900 <= nd.year and nd <= CHILD_DOB_MAX:  # never born after any event
            return nd
    return d


# NHS-number-like ID: 10 digits, the last a mod-11 check digit over the
# first nine (weights 10..2; 11 -> 0; a remainder giving 10 is never issued).
def nhs_check_digit(nine):
    total = sum(int(c) * (10 - i) for i, c in enumerate(nine))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def new_nhs_number(rng, used):
    while True:
        nine = str(rng.choice("4679")) + "%08d" % rng.randrange(10 ** 8)
        c = nhs_check_digit(nine)
        if c is None:
            continue
        n = nine + str(c)
        if n not in used:
            used[n] = True
            return n


def id_typo(rng, n):
    """One digit substituted or two adjacent digits transposed: the check
    digit then fails."""
    t = list(n)
    pairs = [i for i in range(9) if t[i] != t[i + 1]]
    if rng.random() < 0.6 or not pairs:
        i = rng.randrange(10)
        t[i] = rng.choice([c for c in "0123456789" if c != t[i]])
    else:
        i = rng.choice(pairs)
        t[i], t[i + 1] = t[i + 1], t[i]
    return "".join(t)


def postcode_typo(rng, pc):
    """In the inward code: a unit letter changed (same sector), the unit
    letters transposed, or the sector digit changed (same district)."""
    out, inw = pc.split(" ")
    u = list(inw)
    r = rng.random()
    if r < 0.5:
        i = rng.choice([1, 2])
        u[i] = rng.choice([c for c in UNIT_LETTERS if c != u[i]])
    elif r < 0.7 and u[1] != u[2]:
        u[1], u[2] = u[2], u[1]
    else:
        u[0] = rng.choice([c for c in "0123456789" if c != u[0]])
    return out + " " + "".join(u)


# ---------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------
class Street:
    __slots__ = ("name", "town", "houses", "units")


def make_geography(rng):
    towns = {}
    used_pc = {}
    for town, _, districts in TOWNS:
        combos = [(s, t) for s in STREET_STEMS for t in STREET_TYPES]
        streets = []
        for stem, typ in rng.sample(combos, STREETS_PER_TOWN):
            st = Street()
            st.name = (stem, typ)
            st.town = town
            st.houses = rng.randint(8, 160)
            district = rng.choice(districts)
            sector = rng.randint(0, 9)
            st.units = []
            for _ in range((st.houses + 11) // 12):  # one unit per 12 house numbers
                while True:
                    pc = "%s %d%s%s" % (district, sector, rng.choice(UNIT_LETTERS),
                                        rng.choice(UNIT_LETTERS))
                    if pc not in used_pc:
                        used_pc[pc] = True
                        break
                st.units.append(pc)
            streets.append(st)
        towns[town] = streets
    return towns, Weighted([t[0] for t in TOWNS], [t[1] for t in TOWNS])


def new_address(rng, geo, town=None, avoid=None):
    towns, town_w = geo
    while True:
        t = town if town is not None else town_w.draw(rng)
        st = rng.choice(towns[t])
        num = rng.randint(1, st.houses)
        flat = rng.randint(1, 24) if rng.random() < P_FLAT else None
        addr = (flat, num, st.name, t, st.units[(num - 1) // 12])
        if addr != avoid:
            return addr


# ---------------------------------------------------------------------------
# Persons
# ---------------------------------------------------------------------------
class Person:
    __slots__ = ("pid", "sex", "forename", "middle", "surname", "old_surname",
                 "name_change", "dob", "nhs", "address", "old_address", "move",
                 "nickname", "email", "email_alt", "title", "twin_of", "group")


class Population:
    def __init__(self, rng, names, nick, geo, prefix, start, end):
        self.rng, self.geo, self.nick = rng, geo, nick
        self.sur, self.male, self.fem = names
        self.prefix, self.start, self.end = prefix, start, end
        self.persons = []
        self.used_nhs = {}

    def forename(self, sex, avoid=()):
        src = self.male if sex == "M" else self.fem
        while True:
            f = src.draw(self.rng)
            if f not in avoid:
                return f

    def person(self, sex, surname, dob, address, group):
        rng = self.rng
        p = Person()
        p.pid = "%s%05d" % (self.prefix, len(self.persons) + 1)
        p.group = group
        p.sex = sex
        p.forename = self.forename(sex)
        p.middle = None
        if rng.random() < P_MIDDLE:
            m = [self.forename(sex, (p.forename,))]
            if rng.random() < P_TWO_MIDDLE:
                m.append(self.forename(sex, (p.forename, m[0])))
            p.middle = m
        p.surname = surname
        p.old_surname = None
        p.name_change = None
        p.dob = dob
        p.nhs = new_nhs_number(rng, self.used_nhs)
        p.address = address
        p.old_address = None
        p.move = None
        forms = self.nick.get(p.forename)
        p.nickname = rng.choice(forms) if forms else None
        p.twin_of = None
        p.email = p.email_alt = None
        p.title = None
        self.persons.append(p)
        return p

    def rename(self, p, avoid):
        """A new forename (and nickname) for p, not one of avoid."""
        while p.forename in avoid:
            p.forename = self.forename(p.sex)
        forms = self.nick.get(p.forename)
        p.nickname = self.rng.choice(forms) if forms else None

    def life_events(self, p):
        """Marriage (surname change) and moves, dated inside the window."""
        rng = self.rng
        age = (self.start.year + self.end.year) / 2 - p.dob.year
        if p.sex == "F" and 20 <= age <= 50 and rng.random() < P_NAME_CHANGE:
            new = title_case(self.sur.draw(rng))
            if rng.random() < P_DOUBLE_BARREL:
                new = p.surname + "-" + new
            p.old_surname, p.surname = p.surname, new
            p.name_change = rand_date(rng, self.start, self.end)
            if rng.random() < P_NAME_CHANGE_MOVES:
                p.move = p.name_change
        elif rng.random() < P_MOVED:
            p.move = rand_date(rng, self.start, self.end)
        if p.move is not None:
            same_town = rng.random() < P_MOVE_SAME_TOWN
            p.old_address = p.address
            p.address = new_address(rng, self.geo, p.address[3] if same_town else None,
                                    avoid=p.address)

    def surname_at(self, p, d):
        return p.old_surname if p.name_change and d < p.name_change else p.surname

    def address_at(self, p, d):
        return p.old_address if p.move and d < p.move else p.address


def make_households(pop, target, dob_lo, dob_hi, children, counts_toward):
    """Households until `counts_toward(households)` reaches target. A
    household shares an address; couples usually and children nearly always
    share the surname."""
    rng = pop.rng
    households = []
    n = 0
    while n < target:
        addr = new_address(rng, pop.geo)
        group = len(households)
        members = []
        sur = title_case(pop.sur.draw(rng))
        hsex = "M" if rng.random() < 0.5 else "F"
        hdob = rand_date(rng, dob_lo, dob_hi)
        members.append(pop.person(hsex, sur, hdob, addr, group))
        size = rng.choices([1, 2, 3, 4, 5], [30, 35, 15, 15, 5])[0] if children \
            else rng.choices([1, 2], [70, 30])[0]
        if size >= 2:
            if rng.random() < 0.85:   # a couple
                psex = ("F" if hsex == "M" else "M") if rng.random() < 0.95 else hsex
                psur = sur if rng.random() < 0.75 else title_case(pop.sur.draw(rng))
            else:                      # two adults sharing a house
                psex = "M" if rng.random() < 0.5 else "F"
                psur = title_case(pop.sur.draw(rng))
            pdob = hdob + dt.timedelta(days=int(rng.gauss(0, 3 * 365)))
            pdob = min(max(pdob, dob_lo), dob_hi)
            members.append(pop.person(psex, psur, pdob, addr, group))
        # children, born when the first adult was 20-40, and by the end of 2018
        if add_years(hdob, 21) > CHILD_DOB_MAX:
            size = min(size, 2)
        for _ in range(size - 2):
            csex = "M" if rng.random() < 0.5 else "F"
            csur = sur if rng.random() < 0.9 else members[-1].surname
            lo = add_years(hdob, 20)
            hi = min(add_years(hdob, 40), CHILD_DOB_MAX)
            c = pop.person(csex, csur, rand_date(rng, lo, hi), addr, group)
            pop.rename(c, [m.forename for m in members])  # no two children called John
            members.append(c)
        # twins: same surname, dob and address; a different forename
        for m in list(members):
            if rng.random() < P_TWIN:
                tsex = "M" if rng.random() < 0.5 else "F"
                t = pop.person(tsex, m.surname, m.dob, addr, group)
                pop.rename(t, [x.forename for x in members])
                t.twin_of = m.pid
                members.append(t)
        for m in members:
            pop.life_events(m)
        # twins who stay together move together
        for m in members:
            if m.twin_of is not None:
                tw = next(x for x in members if x.pid == m.twin_of)
                m.old_address, m.address, m.move = tw.old_address, tw.address, tw.move
        households.append(members)
        n = counts_toward(households)
    return households


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------
class Scaled:
    """Per-record probabilities for errors that only some persons can get."""

    def __init__(self, rates, persons):
        n = max(1, len(persons))
        nick = sum(1 for p in persons if p.nickname) / n
        swap = sum(1 for p in persons if swappable(p.dob)) / n
        self.nickname = min(0.6, rates["nickname"] / max(nick, 1e-9))
        self.dob_swap = min(0.6, rates["dob_swap"] / max(swap, 1e-9))


def recorded(rng, pop, p, d, src, scaled, tags):
    """The person's attributes as written in one row of `src` dated d."""
    r = RATES[src]
    a = {"forename": p.forename, "middle": p.middle, "sex": p.sex, "dob": p.dob,
         "nhs": p.nhs}
    a["surname"] = pop.surname_at(p, d)
    if a["surname"] != p.surname:
        tags.append("old_surname")
    addr = pop.address_at(p, d)
    if p.move and d < p.move:
        tags.append("old_address")
    flat, num, (stem, typ), town, pc = addr
    if p.nickname and rng.random() < scaled.nickname:
        a["forename"] = p.nickname.capitalize()
        tags.append("nickname")
    else:
        a["forename"] = title_case(a["forename"])
    if a["middle"] is not None:
        a["middle"] = " ".join(title_case(m) for m in a["middle"]) \
            if src == "registry" else title_case(a["middle"][0])
        if rng.random() >= r["middle_written"]:
            a["middle"] = None
    if rng.random() < r["forename_typo"]:
        a["forename"] = typo(rng, a["forename"])
        tags.append("forename_typo")
    if rng.random() < r["surname_typo"]:
        a["surname"] = typo(rng, a["surname"])
        tags.append("surname_typo")
    if rng.random() < r["name_swap"]:
        a["forename"], a["surname"] = a["surname"], a["forename"]
        tags.append("name_swap")
    if rng.random() < r["forename_missing"]:
        a["forename"] = None
        tags.append("forename_missing")
    if swappable(p.dob) and rng.random() < scaled.dob_swap:
        a["dob"] = a["dob"].replace(day=a["dob"].month, month=a["dob"].day)
        tags.append("dob_swap")
    if rng.random() < r["dob_digit"]:
        a["dob"] = dob_digit_error(rng, a["dob"])
        tags.append("dob_digit")
    if rng.random() < r["dob_jan1"] and (a["dob"].month, a["dob"].day) != (1, 1):
        a["dob"] = a["dob"].replace(month=1, day=1)
        tags.append("dob_jan1")
    if rng.random() < r["dob_missing"]:
        a["dob"] = None
        tags.append("dob_missing")
    if rng.random() < r["sex_wrong"]:
        a["sex"] = "F" if a["sex"] == "M" else "M"
        tags.append("sex_wrong")
    if rng.random() < r["sex_missing"]:
        a["sex"] = None
        tags.append("sex_missing")
    # address line 1
    typ_w = typ
    if typ in ABBREV and rng.random() < r["addr_abbrev"]:
        typ_w = ABBREV[typ]
        tags.append("addr_abbrev")
    num_w = num
    street = "%s %s" % (stem, typ_w)
    if rng.random() < r["addr_typo"]:
        if rng.random() < 0.5:
            while num_w == num:
                num_w = int("".join(rng.choice("0123456789") if rng.random() < 0.5 else c
                                    for c in str(num))) or 1
        else:
            street = typo(rng, street)
        tags.append("addr_typo")
    a1 = "%d %s" % (num_w, street)
    if flat is not None:
        if rng.random() < r["flat_dropped"]:
            tags.append("flat_dropped")
        else:
            a1 = "Flat %d, %s" % (flat, a1)
    if rng.random() < r["addr_missing"]:
        a1 = None
        tags.append("addr_missing")
    a["address1"] = a1
    if rng.random() < r["town_typo"]:
        town = typo(rng, town)
        tags.append("town_typo")
    if rng.random() < r["town_missing"]:
        town = None
        tags.append("town_missing")
    a["town"] = town
    if rng.random() < r["postcode_typo"]:
        pc = postcode_typo(rng, pc)
        tags.append("postcode_typo")
    if rng.random() < r["postcode_missing"]:
        pc = None
        tags.append("postcode_missing")
    a["postcode"] = pc
    if "id_missing" in r:
        if rng.random() < r["id_typo"]:
            a["nhs"] = id_typo(rng, a["nhs"])
            tags.append("id_typo")
        if rng.random() < r["id_missing"]:
            a["nhs"] = None
            tags.append("id_missing")
    return a


def s(v):
    return "" if v is None else v


def fmt(d, pattern):
    return "" if d is None else d.strftime(pattern)


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def make_link(rng, names, nick, geo, n_registry):
    pop = Population(rng, names, nick, geo, "p", LINK_START, LINK_END)
    reg_households = []

    def registered(hh):
        if len(hh) > len(reg_households):
            reg_households.append(rng.random() < P_HOUSEHOLD_REGISTERED)
        return sum(len(h) for h, r in zip(hh, reg_households) if r)

    hh = make_households(pop, n_registry, dt.date(1935, 1, 1), dt.date(1999, 12, 31),
                         True, registered)
    persons = [p for h in hh for p in h]
    in_registry = {p.pid: r for h, r in zip(hh, reg_households) for p in h}
    scaled = {src: Scaled(RATES[src], persons) for src in ("registry", "clinic")}

    # registry: one row per registered person, as at the extract date
    reg_rows, clinic_rows, truth, tags_all = [], [], [], {}
    used_ids = {}
    practices = {t[0]: "%s%05d" % (rng.choice("ABCDJKLMN"), rng.randrange(100000))
                 for t in TOWNS}
    for p in persons:
        if not in_registry[p.pid]:
            continue
        tags = []
        d = REGISTRY_EXTRACT
        if p.move and rng.random() < P_REGISTRY_STALE:
            d = p.move - dt.timedelta(days=1)      # address never updated
        if p.name_change and rng.random() < P_REGISTRY_OLD_NAME:
            d = p.name_change - dt.timedelta(days=1)
        a = recorded(rng, pop, p, d, "registry", scaled["registry"], tags)
        while True:
            rid = "GP%07d" % rng.randrange(10 ** 7)
            if rid not in used_ids:
                used_ids[rid] = True
                break
        gender = {"M": "1", "F": "2", None: rng.choice(["0", "9"])}[a["sex"]]
        reg_lo = max(p.dob, dt.date(1990, 1, 1))
        reg_on = rand_date(rng, reg_lo, dt.date(2023, 12, 31))
        reg_rows.append([rid, s(a["nhs"]), s(a["surname"]), s(a["forename"]), s(a["middle"]),
                         fmt(a["dob"], "%Y-%m-%d"), gender, s(a["address1"]), s(a["town"]),
                         s(a["postcode"]), practices[p.address[3]], reg_on.isoformat()])
        truth.append(("registry", rid, p.pid, tags))
    reg_rows.sort()
    truth.sort(key=lambda t: t[1])

    # clinic: attending persons, 1-5 visits each
    visits = []
    for p in persons:
        if rng.random() >= P_ATTEND:
            continue
        k = rng.choices(VISITS, VISIT_WEIGHTS)[0]
        lo = max(LINK_START, p.dob)
        first = rand_date(rng, lo, LINK_END)
        clinic = rng.choices(CLINICS, CLINIC_WEIGHTS)[0]
        for j in range(k):
            d = first if j == 0 else rand_date(rng, lo, LINK_END)
            if rng.random() < 0.2:
                clinic = rng.choices(CLINICS, CLINIC_WEIGHTS)[0]
            tags = []
            a = recorded(rng, pop, p, d, "clinic", scaled["clinic"], tags)
            sex = {"M": "M", "F": "F", None: "U"}[a["sex"]]
            row = [d.strftime("%d/%m/%Y"), clinic,
                   s(a["surname"]).upper(), s(a["forename"]), s(a["middle"]),
                   fmt(a["dob"], "%d/%m/%Y"), sex, s(a["address1"]), s(a["town"]),
                   s(a["postcode"]), s(a["nhs"])]
            visits.append((d, rng.random(), p.pid, row, tags))
    visits.sort(key=lambda v: (v[0], v[1]))
    clinic_truth = []
    for i, (_, _, pid, row, tags) in enumerate(visits, 1):
        rid = "ATT%06d" % i
        clinic_rows.append([rid] + row)
        clinic_truth.append(("clinic", rid, pid, tags))

    reg_header = ["patient_id", "nhs_number", "family_name", "given_name",
                  "other_given_names", "date_of_birth", "gender", "address_line_1",
                  "post_town", "postcode", "practice_code", "registered_on"]
    clinic_header = ["attendance_id", "attendance_date", "clinic", "surname", "forename",
                     "middle_name", "dob", "sex", "address1", "town", "postcode", "nhs_no"]
    return pop, persons, in_registry, (clinic_header, clinic_rows, clinic_truth), \
        (reg_header, reg_rows, truth)


def email_for(rng, p, forename):
    f = "".join(c for c in forename.lower() if c.isalpha())
    last = "".join(c for c in p.surname.lower() if c.isalpha())
    yy = "%02d" % (p.dob.year % 100)
    n = "%d" % rng.randint(1, 99)
    pattern = rng.choice([
        f + "." + last, f + last + yy, f[:1] + last, f + "_" + last + n,
        last + f[:1] + yy, f + "." + last + n, f + yy])
    return pattern + "@" + Weighted(EMAIL_DOMAINS, EMAIL_DOMAIN_WEIGHTS).draw(rng)


def make_dedup(rng, names, nick, geo, n_persons):
    pop = Population(rng, names, nick, geo, "c", CUST_START, CUST_END)
    hh = make_households(pop, n_persons, dt.date(1940, 1, 1), dt.date(2003, 12, 31),
                         False, lambda h: sum(len(x) for x in h))
    persons = [p for h in hh for p in h]
    scaled = Scaled(RATES["customers"], persons)
    r = RATES["customers"]
    shared = 0
    for h in hh:
        for p in h:
            if p.sex == "M":
                p.title = rng.choices(["Mr", "Dr", "Mx"], [96, 3, 1])[0]
            else:
                p.title = rng.choices(["Mrs", "Ms", "Miss", "Dr", "Mx"], [45, 27, 24, 3, 1])[0]
            p.email = email_for(rng, p, p.nickname if p.nickname and rng.random() < 0.3
                                else p.forename)
            p.email_alt = email_for(rng, p, p.forename)
        if len(h) == 2 and rng.random() < P_SHARED_EMAIL:
            h[1].email = h[0].email
            shared += 1
    entries = []
    for p in persons:
        k = rng.choices(ENTRIES, ENTRY_WEIGHTS)[0]
        for j in range(k):
            d = rand_date(rng, CUST_START, CUST_END)
            tags = []
            a = recorded(rng, pop, p, d, "customers", scaled, tags)
            title = p.title
            if a["sex"] != p.sex:     # sex_wrong: a title of the other sex
                title = "Mr" if a["sex"] == "M" else "Mrs"
            elif p.sex == "F" and title in ("Mrs", "Ms", "Miss") and rng.random() < 0.15:
                title = rng.choice([t for t in ("Mrs", "Ms", "Miss") if t != title])
            email = p.email
            if j > 0 and rng.random() < r["email_new"]:
                email = p.email_alt if p.email_alt != p.email else email_for(rng, p, p.forename)
                tags.append("email_new")
            if rng.random() < r["email_typo"]:
                user, dom = email.split("@")
                email = typo(rng, user) + "@" + dom
                tags.append("email_typo")
            if rng.random() < r["email_missing"]:
                email = None
                tags.append("email_missing")
            fn, sn = s(a["forename"]), s(a["surname"])
            a1, town = s(a["address1"]), s(a["town"])
            u = rng.random()
            if u < r["lower_case"]:
                fn, sn, a1, town = fn.lower(), sn.lower(), a1.lower(), town.lower()
            elif u < r["lower_case"] + r["upper_case"]:
                fn, sn, a1, town = fn.upper(), sn.upper(), a1.upper(), town.upper()
            pc = s(a["postcode"])
            if rng.random() < 0.1:
                pc = pc.lower()
            row = [title, fn, sn, fmt(a["dob"], "%d-%b-%Y"), a1, town, pc, s(email),
                   d.isoformat()]
            entries.append((d, rng.random(), p.pid, row, tags))
    entries.sort(key=lambda v: (v[0], v[1]))
    rows, truth = [], []
    for i, (_, _, pid, row, tags) in enumerate(entries, 1):
        rid = "C%06d" % (100000 + i)
        rows.append([rid] + row)
        truth.append(("customers", rid, pid, tags))
    header = ["customer_no", "title", "first_name", "last_name", "birth_date", "address_1",
              "town", "postcode", "email", "signup_date"]
    return persons, shared, (header, rows, truth)


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
def tag_table(truth):
    counts = {}
    for t in truth:
        for tag in t[3]:
            counts[tag] = counts.get(tag, 0) + 1
    return counts


def summarise(name, truth):
    n = len(truth)
    per = {}
    for t in truth:
        per[t[2]] = per.get(t[2], 0) + 1
    multi = sum(1 for c in per.values() if c > 1)
    clean = sum(1 for t in truth if not t[3])
    print("  %-10s %5d rows, %5d persons, %4d persons with >1 row, %5.1f%% rows without errors"
          % (name, n, len(per), multi, 100.0 * clean / max(1, n)))
    return per


def true_pairs(truth):
    per = {}
    for t in truth:
        per[t[2]] = per.get(t[2], 0) + 1
    return sum(c * (c - 1) // 2 for c in per.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", default="data/people")
    ap.add_argument("--registry", type=int, default=3000,
                    help="persons in the registry (default 3000; whole households are "
                         "added, so a few more)")
    ap.add_argument("--customers", type=int, default=2420,
                    help="persons on the mailing list (default 2420, or a few more)")
    ap.add_argument("--names", default=NAMES_DIR, help="directory with the name lists")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    names = (read_names(os.path.join(args.names, "surnames.csv"), "count"),
             read_names(os.path.join(args.names, "forenames_male.csv"), "freq_percent"),
             read_names(os.path.join(args.names, "forenames_female.csv"), "freq_percent"))
    nick = read_nicknames(os.path.join(args.names, "nicknames.csv"))
    geo = make_geography(rng)

    pop, persons, in_reg, clinic, registry = make_link(rng, names, nick, geo, args.registry)
    cpersons, shared_emails, customers = make_dedup(rng, names, nick, geo, args.customers)

    os.makedirs(args.out, exist_ok=True)
    for name, (header, rows, _) in (("clinic", clinic), ("registry", registry),
                                   ("customers", customers)):
        write_csv(os.path.join(args.out, name + ".csv"), header, rows)
    link_truth = clinic[2] + registry[2]
    for name, truth in (("truth_link", link_truth), ("truth_dedup", customers[2])):
        write_csv(os.path.join(args.out, name + ".csv"),
                  ["source", "record_id", "person", "errors"],
                  [[t[0], t[1], t[2], "|".join(t[3])] for t in truth])

    print("seed %d -> %s" % (args.seed, args.out))
    cper = summarise("clinic", clinic[2])
    rper = summarise("registry", registry[2])
    both = sum(1 for pid in cper if pid in rper)
    print("  clinic persons also in the registry: %d of %d" % (both, len(cper)))
    print("  link: %d rows, %d true pairs (a prior of about %.2g); dedup: %d rows, %d true pairs"
          % (len(link_truth), true_pairs(link_truth),
             true_pairs(link_truth) / (len(link_truth) * (len(link_truth) - 1) / 2),
             len(customers[2]), true_pairs(customers[2])))
    cuper = summarise("customers", customers[2])
    dups = len(customers[2]) - len(cuper)
    print("  customers: %d duplicate rows (%.1f%% of rows)" % (dups, 100.0 * dups / len(customers[2])))
    for label, ps in (("link", persons), ("customers", cpersons)):
        print("  %s population: %d persons, %d movers, %d surname changes, %d twin pairs"
              % (label, len(ps), sum(1 for p in ps if p.move),
                 sum(1 for p in ps if p.name_change), sum(1 for p in ps if p.twin_of)))
    print("  customers: %d couples share one email address" % shared_emails)
    print("per-row errors (count, share of that file's rows):")
    tables = [(n, tag_table(t), len(t)) for n, t in
              (("clinic", clinic[2]), ("registry", registry[2]), ("customers", customers[2]))]
    tags = sorted({k for _, t, _ in tables for k in t})
    print("  %-17s %15s %15s %15s" % ("", "clinic", "registry", "customers"))
    for k in tags:
        print("  %-17s" % k + "".join(" %7d (%4.1f%%)" % (t.get(k, 0), 100.0 * t.get(k, 0) / n)
                                        for _, t, n in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
