#!/usr/bin/python3
"""Opens a ddwlink result with h5py and checks the layout documented in the
README: every dataset, its type and length, the orderings, and that the
tables agree with each other.

usage: readback.py RESULT.h5 CONFIG.ini
"""
import collections
import configparser
import hashlib
import sys

import h5py
import numpy as np

ROW_BITS = 40


def fail(msg):
    sys.exit(f"readback: {msg}")


def output_settings(ini):
    """(deflate level, chunk rows) from the config's [output] section, or the defaults."""
    deflate, chunk = 1, 65536
    if ini:
        cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), strict=False,
                                       interpolation=None)
        cp.read(ini)
        if cp.has_section("output"):
            deflate = cp.getint("output", "deflate", fallback=deflate)
            chunk = cp.getint("output", "chunk", fallback=chunk)
    return deflate, chunk


def check_storage(f, ini):
    """Every table column is chunked and deflated at the configured level; a
    chunk holds the configured rows or a divisor of them (wide rows), or the
    whole column when it is shorter, so ranks' slabs never share a chunk."""
    deflate, chunk = output_settings(ini)
    for g in ["/records", "/persons", "/edges", "/rejects"]:
        for name, d in f[g].items():
            if deflate and (d.compression != "gzip" or d.compression_opts != deflate):
                fail(f"{g}/{name}: compression {d.compression} {d.compression_opts}, "
                     f"expected deflate {deflate}")
            rows = d.chunks[0] if d.chunks else 0
            if not rows or (chunk % rows != 0 and rows != max(len(d), 1)):
                fail(f"{g}/{name}: chunk of {rows} rows for output.chunk = {chunk}")
            if d.maxshape[0] is not None:
                fail(f"{g}/{name}: rows not extendable (maxshape {d.maxshape})")


def main():
    path = sys.argv[1]
    f = h5py.File(path, "r")
    expect = {
        "/records": ["key", "source", "row", "record_id", "person_id"],
        "/persons": ["person_id", "n_records", "sources"],
        "/edges": ["a", "b", "weight", "levels", "pass"],
        "/model": ["comparison", "field", "method", "nlevels", "level_label",
                   "level_comparison", "level", "m", "u", "weight"],
        "/sources": ["name", "path", "sha256", "rows_read", "rows_accepted", "rows_rejected"],
        "/rejects": ["source", "line", "reason"],
    }
    for g, names in expect.items():
        for n in names:
            if f"{g}/{n}" not in f:
                fail(f"{g}/{n} missing")
    for a in ["config", "effective_config", "command_line", "version", "ranks", "threads",
              "start_time", "end_time", "stage_names", "stage_seconds"]:
        if a not in f.attrs:
            fail(f"attribute /{a} missing")
    if f["/records/person_id"].compression != "gzip":
        fail("/records/person_id is not deflate-compressed")
    check_storage(f, sys.argv[2] if len(sys.argv) > 2 else None)

    r = {k: f["/records"][k][:] for k in f["/records"].keys()}
    n = len(r["key"])
    for k, v in r.items():
        if len(v) != n:
            fail(f"/records/{k} has {len(v)} rows, /records/key {n}")
    key = r["key"].astype(np.uint64)
    if not np.all(key[1:] > key[:-1]):
        fail("/records not strictly ordered by key")
    if not np.array_equal(key, (r["source"].astype(np.uint64) << np.uint64(ROW_BITS))
                          | r["row"].astype(np.uint64)):
        fail("key != (source << 40) | row")
    if r["row"].min() < 2:
        fail("a record row precedes the header line")
    for extra in ["drug_group", "force", "result", "setting"]:
        if extra not in r:
            fail(f"pass-through column /records/{extra} missing")

    # person_id = smallest key in the person; /persons agrees with /records
    pid = r["person_id"].astype(np.uint64)
    groups = collections.defaultdict(list)
    for k, p, s in zip(key, pid, r["source"]):
        groups[int(p)].append((int(k), int(s)))
    for p, members in groups.items():
        if min(k for k, _ in members) != p:
            fail(f"person {p} is not the smallest key of its records")
    P = {k: f["/persons"][k][:] for k in ["person_id", "n_records", "sources"]}
    if not np.all(P["person_id"][1:] > P["person_id"][:-1]):
        fail("/persons not ordered by person_id")
    if len(P["person_id"]) != len(groups):
        fail(f"/persons has {len(P['person_id'])} rows, records name {len(groups)} persons")
    for p, nrec, mask in zip(P["person_id"], P["n_records"], P["sources"]):
        members = groups[int(p)]
        if nrec != len(members):
            fail(f"person {p}: n_records {nrec} != {len(members)}")
        want = 0
        for _, s in members:
            want |= 1 << s
        if int(mask) != want:
            fail(f"person {p}: sources mask {mask} != {want}")

    # edges: ordered by (a, b), a < b, both are records, weight >= threshold,
    # and the endpoints of an edge are in one person
    E = {k: f["/edges"][k][:] for k in ["a", "b", "weight", "levels", "pass"]}
    a, b = E["a"].astype(np.uint64), E["b"].astype(np.uint64)
    if len(a) and not np.all(a < b):
        fail("edge with a >= b")
    order = np.lexsort((b, a))
    if not np.array_equal(order, np.arange(len(a))):
        fail("/edges not ordered by (a, b)")
    if len(a) > 1 and np.any((a[1:] == a[:-1]) & (b[1:] == b[:-1])):
        fail("duplicate edge")
    thr = float(f["/model"].attrs["threshold"])
    if len(a) and E["weight"].min() < thr:
        fail("edge below the threshold")
    ncomp = len(f["/model/comparison"])
    if E["levels"].ndim != 2 or E["levels"].shape[1] != ncomp:
        fail(f"/edges/levels shape {E['levels'].shape}, expected (n, {ncomp})")
    pos = {int(k): i for i, k in enumerate(key)}
    # an edge joins one person, unless cluster.refine split it for holding two
    # different valid PNC IDs (each side then has one: /records/pnc_key)
    refine = f.attrs["refine"]
    refine = refine.decode() if isinstance(refine, bytes) else refine
    pnc = f["/records/pnc_key"][:]
    ids = {}
    for p, k in zip(pid, pnc):
        if k:
            ids.setdefault(int(p), set()).add(int(k))
    # ... or an attach_once source's record is at one end and both persons hold
    # records of other sources (the record joined one of them already)
    attach = f["/sources/attach_once"][:] if "attach_once" in f["/sources"] else []
    weak = lambda k: len(attach) and attach[int(k) >> 40] != 0
    anchored = set()
    for p, k in zip(pid, key):
        if not weak(k):
            anchored.add(int(p))
    split = by_attach = 0
    for x, y in zip(a, b):
        px, py = pid[pos[int(x)]], pid[pos[int(y)]]
        if px == py:
            continue
        split += 1
        if (weak(x) or weak(y)) and int(px) in anchored and int(py) in anchored:
            by_attach += 1
            continue
        ix, iy = ids.get(int(px), set()), ids.get(int(py), set())
        if refine == "none" or not ix or not iy or ix == iy:
            fail(f"edge {x}-{y} joins two persons without a PNC conflict (refine {refine})")
    print(f"readback: {split} edges cut by cluster.refine = {refine}, each between two PNC IDs "
          f"or ({by_attach}) from an attach_once record between two anchored persons")
    # weights are the sum of the model's level weights plus the prior weight
    W = f["/model/weight"][:]
    lc, lv = f["/model/level_comparison"][:], f["/model/level"][:]
    table = {(int(c), int(l)): w for c, l, w in zip(lc, lv, W)}
    prior_w = float(f["/model"].attrs["prior_weight"])
    for i in range(min(len(a), 500)):
        w = prior_w + sum(table.get((c, int(l)), 0.0) for c, l in enumerate(E["levels"][i]))
        if abs(w - E["weight"][i]) > 1e-9:
            fail(f"edge {i}: weight {E['weight'][i]} != sum of level weights {w}")

    # sources: counts add up; checksums are those of the files
    S = {k: f["/sources"][k][:] for k in expect["/sources"]}
    if not np.array_equal(S["rows_read"], S["rows_accepted"] + S["rows_rejected"]):
        fail("rows_read != rows_accepted + rows_rejected")
    for s, acc in enumerate(S["rows_accepted"]):
        if acc != np.sum(r["source"] == s):
            fail(f"source {s}: rows_accepted {acc} != records")
    for p, sha in zip(S["path"], S["sha256"]):
        with open(p.decode(), "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() != sha.decode():
                fail(f"sha256 of {p.decode()} differs")
    rj = f["/rejects/source"][:]
    for s, nrej in enumerate(S["rows_rejected"]):
        if nrej != np.sum(rj == s):
            fail(f"source {s}: rows_rejected {nrej} != /rejects rows")
    print(f"readback: OK ({n} records, {len(P['person_id'])} persons, {len(a)} edges, "
          f"{len(rj)} rejects)")


if __name__ == "__main__":
    main()
