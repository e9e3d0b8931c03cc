/*
 * refine.c - stage 4b: splitting connected components that hold
 * conflicting identities, along their weakest edges.
 *
 * Per component (ddw_refine_component): edges are replayed strongest first
 * into a union-find whose every set remembers its valid PNC ID and its
 * distinct dates of birth; an edge whose merge would put two different PNC
 * IDs or two incompatible dates in one set is skipped.  Because the order is
 * canonical (weight descending, then a, b) and the set summaries are exact,
 * the result depends only on the component's records and edges.
 *
 * Distributed (ddw_refine_run): each component is gathered whole on one
 * owner rank, hash(person) mod P, in three exchanges: records go straight
 * from their home rank to the owner (home knows the person ID); edges first
 * go to a directory rank, hash(key a) mod P, that learns person(a) from the
 * (key, person) pairs the home ranks sent there, and from it to the owner.
 * Answers go back to the records' home ranks.  Components are then refined
 * independently, in parallel over OpenMP threads.
 *
 * Trade-off: gathering components assumes each fits one rank's memory, which
 * holds for person components (tens of records; even a chained giant of a
 * million records is a few hundred MB), and buys exactness and rank-count
 * independence for the price of four all-to-all exchanges, with no rounds.
 * The greedy strongest-first rule is not an optimal cut (that is NP-hard
 * in general) but it is the rule a clerk would apply and it never splits a
 * component that has no conflict.
 */
#include "ddw_refine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_cluster.h"
#include "ddw_norm.h"

/* ---- dates of birth ---------------------------------------------------------- */

/* Number of decimal digits that differ between p and q written with w digits. */
static int digits_differ(int p, int q, int w)
{
    int n = 0;
    for (int i = 0; i < w; i++, p /= 10, q /= 10)
        n += p % 10 != q % 10;
    return n;
}

int ddw_refine_dob_compatible(int32_t a, int32_t b)
{
    if (a == DDW_REFINE_DOB_NONE || b == DDW_REFINE_DOB_NONE || a == b)
        return 1;
    int ya, ma, da, yb, mb, db;
    ddw_norm_civil_from_days(a, &ya, &ma, &da);
    ddw_norm_civil_from_days(b, &yb, &mb, &db);
    if (ya == yb && ma == db && da == mb) /* day and month swapped */
        return 1;
    if (ya == yb && ((ma == 1 && da == 1) || (mb == 1 && db == 1))) /* 1 January placeholder */
        return 1;
    if (ma == mb && da == db && (ya - yb == 1 || yb - ya == 1))
        return 1;
    int ny = ya != yb, nm = ma != mb, nd = da != db;
    if (ny + nm + nd != 1) /* one digit of exactly one field */
        return 0;
    if (nd)
        return digits_differ(da, db, 2) == 1;
    if (nm)
        return digits_differ(ma, mb, 2) == 1;
    return ya >= 0 && ya <= 9999 && yb >= 0 && yb <= 9999 && digits_differ(ya, yb, 4) == 1;
}

static int has_pnc(const ddw_refine_rec *r) { return r->pnc_valid && r->pnc != 0; }

int ddw_refine_conflict(const ddw_refine_opts *o, const ddw_refine_rec *x,
                        const ddw_refine_rec *y)
{
    if (o->use_pnc && has_pnc(x) && has_pnc(y) && x->pnc != y->pnc)
        return 1;
    return o->use_dob && !ddw_refine_dob_compatible(x->dob, y->dob);
}

/* ---- one component ------------------------------------------------------------- */

typedef struct {
    double w;
    uint64_t a, b;
    uint32_t ia, ib; /* positions of a and b among the records sorted by key */
} sedge;

/* Weight descending (NaN last), then a, then b. */
static int cmp_sedge(const void *x, const void *y)
{
    const sedge *p = x, *q = y;
    int np = isnan(p->w) != 0, nq = isnan(q->w) != 0;
    if (np != nq)
        return np - nq;
    if (!np && p->w != q->w)
        return p->w > q->w ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

/* (key, index) pairs by key. */
static int cmp_key_idx(const void *x, const void *y)
{
    const uint64_t *p = x, *q = y;
    return p[0] < q[0] ? -1 : p[0] > q[0];
}

static int64_t find_key(const uint64_t *ki, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ki[2 * mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ki[2 * lo] == key ? (int64_t)lo : -1;
}

/*
 * Set summaries, kept at each union-find root: the set's valid PNC ID (0 =
 * none; a set never holds two, as they would conflict) and its distinct
 * dates of birth, dob[r * DDW_REFINE_MAX_DOBS ..] (only with use_dob).
 */
typedef struct {
    uint64_t *pnc;
    int32_t *dob;
    uint8_t *ndob;
    uint8_t *anchored; /* the set holds a record that is not attach_once (use_attach) */
} summary;

static int dob_in(const int32_t *v, int n, int32_t d)
{
    for (int i = 0; i < n; i++)
        if (v[i] == d)
            return 1;
    return 0;
}

/* 1 if the sets rooted at x and y may be merged. */
static int may_merge(const ddw_refine_opts *o, const summary *s, uint32_t x, uint32_t y)
{
    if (o->use_pnc && s->pnc[x] && s->pnc[y] && s->pnc[x] != s->pnc[y])
        return 0;
    if (!o->use_dob)
        return 1;
    const int32_t *dx = s->dob + (size_t)x * DDW_REFINE_MAX_DOBS;
    const int32_t *dy = s->dob + (size_t)y * DDW_REFINE_MAX_DOBS;
    int n = s->ndob[x];
    for (int j = 0; j < s->ndob[y]; j++) {
        if (dob_in(dx, s->ndob[x], dy[j]))
            continue;
        if (++n > DDW_REFINE_MAX_DOBS)
            return 0;
        for (int i = 0; i < s->ndob[x]; i++)
            if (!ddw_refine_dob_compatible(dx[i], dy[j]))
                return 0;
    }
    return 1;
}

/* Moves the summary of root from into root to (after may_merge said yes). */
static void merge_into(summary *s, uint32_t to, uint32_t from, int use_dob)
{
    s->anchored[to] |= s->anchored[from];
    if (!s->pnc[to])
        s->pnc[to] = s->pnc[from];
    if (!use_dob)
        return;
    int32_t *dt = s->dob + (size_t)to * DDW_REFINE_MAX_DOBS;
    const int32_t *df = s->dob + (size_t)from * DDW_REFINE_MAX_DOBS;
    for (int j = 0; j < s->ndob[from]; j++)
        if (!dob_in(dt, s->ndob[to], df[j]))
            dt[s->ndob[to]++] = df[j];
}

ddw_status ddw_refine_component(const ddw_refine_opts *o, size_t nrec, const ddw_refine_rec *recs,
                                size_t nedge, const ddw_refine_edge *edges, uint64_t *person_out,
                                size_t *skipped)
{
    if (skipped)
        *skipped = 0;
    if (nrec >= UINT32_MAX)
        return DDW_ERANGE;
    if (nrec == 0)
        return nedge ? DDW_EINVAL : DDW_OK;
    ddw_status st = DDW_OK;
    /* records by key: position = union-find index, so the root is the smallest key */
    uint64_t *ki = ddw_xmalloc(nrec * 2 * sizeof *ki);
    for (size_t i = 0; i < nrec; i++) {
        ki[2 * i] = recs[i].key;
        ki[2 * i + 1] = i;
    }
    qsort(ki, nrec, 2 * sizeof *ki, cmp_key_idx);
    for (size_t i = 1; i < nrec; i++)
        if (ki[2 * i] == ki[2 * i - 2])
            st = DDW_EINVAL;
    sedge *e = ddw_xmalloc((nedge ? nedge : 1) * sizeof *e);
    for (size_t k = 0; k < nedge && st == DDW_OK; k++) {
        int64_t ia = find_key(ki, nrec, edges[k].a), ib = find_key(ki, nrec, edges[k].b);
        if (ia < 0 || ib < 0) {
            st = DDW_EINVAL;
            break;
        }
        e[k] = (sedge){edges[k].w, edges[k].a, edges[k].b, (uint32_t)ia, (uint32_t)ib};
    }
    if (st != DDW_OK)
        goto done_edges;
    qsort(e, nedge, sizeof *e, cmp_sedge);

    summary s = {ddw_xcalloc(nrec, sizeof *s.pnc),
                 ddw_xmalloc((o->use_dob ? nrec : 1) * DDW_REFINE_MAX_DOBS * sizeof *s.dob),
                 ddw_xcalloc(nrec, sizeof *s.ndob), ddw_xcalloc(nrec, 1)};
    uint8_t *weak = ddw_xcalloc(nrec, 1); /* by union-find index: attach_once and use_attach */
    for (size_t i = 0; i < nrec; i++) {
        const ddw_refine_rec *r = &recs[ki[2 * i + 1]];
        weak[i] = o->use_attach && r->attach_once;
        s.anchored[i] = !r->attach_once;
        if (o->use_pnc && has_pnc(r))
            s.pnc[i] = r->pnc;
        if (o->use_dob && r->dob != DDW_REFINE_DOB_NONE) {
            s.dob[i * DDW_REFINE_MAX_DOBS] = r->dob;
            s.ndob[i] = 1;
        }
    }
    ddw_uf uf;
    ddw_uf_init(&uf, nrec);
    size_t nskip = 0;
    for (size_t k = 0; k < nedge; k++) {
        uint32_t x = ddw_uf_find(&uf, e[k].ia), y = ddw_uf_find(&uf, e[k].ib);
        if (x == y)
            continue;
        if ((weak[e[k].ia] || weak[e[k].ib]) && s.anchored[x] && s.anchored[y]) {
            nskip++;
            continue;
        }
        if (!may_merge(o, &s, x, y)) {
            nskip++;
            continue;
        }
        ddw_uf_union(&uf, x, y); /* the smaller index, i.e. key, becomes the root */
        if (x < y)
            merge_into(&s, x, y, o->use_dob);
        else
            merge_into(&s, y, x, o->use_dob);
    }
    for (size_t i = 0; i < nrec; i++)
        person_out[ki[2 * i + 1]] = ki[2 * ddw_uf_find(&uf, (uint32_t)i)];
    if (skipped)
        *skipped = nskip;
    ddw_uf_free(&uf);
    free(s.pnc);
    free(s.dob);
    free(s.ndob);
    free(s.anchored);
    free(weak);
done_edges:
    free(e);
    free(ki);
    return st;
}

/* ---- distributed driver ----------------------------------------------------------- */

/* Directory entry at hash(key): a home record's person ID. */
typedef struct {
    uint64_t key, person;
} dir_msg;

/* An edge on its way; person is person(a) once the directory has answered. */
typedef struct {
    uint64_t a, b, person;
    double w;
} edge_msg;

/* A record on its way to its component's owner, with where it came from. */
typedef struct {
    ddw_refine_rec r;
    uint64_t idx;
    int32_t rank, pad;
} rec_msg;

/* The answer for home record idx. */
typedef struct {
    uint64_t idx, person;
} ans_msg;

static int dir_rank(uint64_t key, int P) { return (int)(ddw_mix64(key ^ 0xd1u) % (uint64_t)P); }
static int comp_rank(uint64_t person, int P)
{
    return (int)(ddw_mix64(person ^ 0xc0u) % (uint64_t)P);
}

static int cmp_dir(const void *x, const void *y)
{
    const dir_msg *p = x, *q = y;
    return p->key < q->key ? -1 : p->key > q->key;
}

static int cmp_rec_msg(const void *x, const void *y)
{
    const rec_msg *p = x, *q = y;
    if (p->r.person != q->r.person)
        return p->r.person < q->r.person ? -1 : 1;
    return p->r.key < q->r.key ? -1 : p->r.key > q->r.key;
}

/* Groups edges by component only: ddw_refine_component orders them itself. */
static int cmp_edge_msg(const void *x, const void *y)
{
    const edge_msg *p = x, *q = y;
    return p->person < q->person ? -1 : p->person > q->person;
}

typedef struct {
    size_t r0, r1, e0, e1; /* records [r0, r1) and edges [e0, e1) of one component */
} comp_range;

ddw_status ddw_refine_run(const ddw_comm *comm, const ddw_refine_opts *o, size_t nhome,
                          const ddw_refine_rec *home, size_t nedge, const uint64_t *a,
                          const uint64_t *b, const double *w, uint64_t *person_out,
                          ddw_refine_stats *st)
{
    int P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    int status = DDW_OK;
    if (st)
        memset(st, 0, sizeof *st);
    if (o == NULL || st == NULL || (nhome && (home == NULL || person_out == NULL)) ||
        (nedge && (a == NULL || b == NULL || w == NULL)))
        status = DDW_EINVAL;
    status = ddw_comm_agree(comm, status);
    if (status != DDW_OK)
        return (ddw_status)status;
    size_t nmax = nhome > nedge ? nhome : nedge;
    int *dest = ddw_xmalloc((nmax ? nmax : 1) * sizeof *dest);

    /* 1. directory: (key, person) to hash(key) */
    dir_msg *dm = ddw_xmalloc((nhome ? nhome : 1) * sizeof *dm);
    for (size_t i = 0; i < nhome; i++) {
        dm[i] = (dir_msg){home[i].key, home[i].person};
        dest[i] = dir_rank(home[i].key, P);
    }
    size_t ndir;
    dir_msg *dir = ddw_comm_route(comm, dm, nhome, sizeof *dm, dest, &ndir);
    free(dm);
    qsort(dir, ndir, sizeof *dir, cmp_dir);
    for (size_t i = 1; i < ndir; i++)
        if (dir[i].key == dir[i - 1].key)
            status = DDW_EINVAL;

    /* 2. edges to the directory of a, which adds person(a) */
    edge_msg *em = ddw_xmalloc((nedge ? nedge : 1) * sizeof *em);
    for (size_t k = 0; k < nedge; k++) {
        em[k] = (edge_msg){a[k], b[k], 0, w[k]};
        dest[k] = dir_rank(a[k], P);
    }
    size_t ne;
    edge_msg *ed = ddw_comm_route(comm, em, nedge, sizeof *em, dest, &ne);
    free(em);
    free(dest);
    nmax = ne > nhome ? ne : nhome;
    dest = ddw_xmalloc((nmax ? nmax : 1) * sizeof *dest);
    size_t nkeep = 0;
    for (size_t k = 0; k < ne; k++) {
        dir_msg probe = {ed[k].a, 0};
        const dir_msg *d = bsearch(&probe, dir, ndir, sizeof *dir, cmp_dir);
        if (d == NULL) { /* unknown key: dropped, reported below */
            status = DDW_EINVAL;
            continue;
        }
        ed[nkeep] = ed[k];
        ed[nkeep].person = d->person;
        dest[nkeep++] = comp_rank(d->person, P);
    }
    free(dir);

    /* 3. edges and records to their component's owner */
    edge_msg *ce = ddw_comm_route(comm, ed, nkeep, sizeof *ed, dest, &ne);
    free(ed);
    rec_msg *rm = ddw_xmalloc((nhome ? nhome : 1) * sizeof *rm);
    for (size_t i = 0; i < nhome; i++) {
        memset(&rm[i], 0, sizeof rm[i]);
        rm[i].r = home[i];
        rm[i].idx = i;
        rm[i].rank = me;
        dest[i] = comp_rank(home[i].person, P);
    }
    size_t nr;
    rec_msg *cr = ddw_comm_route(comm, rm, nhome, sizeof *rm, dest, &nr);
    free(rm);
    free(dest);

    /* 4. refine every component this rank owns */
    qsort(cr, nr, sizeof *cr, cmp_rec_msg);
    qsort(ce, ne, sizeof *ce, cmp_edge_msg);
    ddw_refine_rec *R = ddw_xmalloc((nr ? nr : 1) * sizeof *R);
    ddw_refine_edge *E = ddw_xmalloc((ne ? ne : 1) * sizeof *E);
    uint64_t *newp = ddw_xmalloc((nr ? nr : 1) * sizeof *newp);
    comp_range *cg = ddw_xmalloc((nr ? nr : 1) * sizeof *cg);
    for (size_t i = 0; i < nr; i++)
        R[i] = cr[i].r;
    for (size_t k = 0; k < ne; k++)
        E[k] = (ddw_refine_edge){ce[k].a, ce[k].b, ce[k].w};
    size_t ncomp = 0, k = 0;
    for (size_t i = 0; i < nr;) {
        size_t j = i;
        while (j < nr && R[j].person == R[i].person)
            j++;
        for (; k < ne && ce[k].person < R[i].person; k++) /* a component without records */
            status = DDW_EINVAL;
        size_t k0 = k;
        while (k < ne && ce[k].person == R[i].person)
            k++;
        cg[ncomp++] = (comp_range){i, j, k0, k};
        i = j;
    }
    if (k < ne)
        status = DDW_EINVAL;
    free(ce);
    uint64_t checked = 0, split = 0, skipped = 0, created = 0;
    int cstatus = DDW_OK;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : checked, split, skipped, created) \
    reduction(min : cstatus)
    for (size_t c = 0; c < ncomp; c++) {
        size_t r0 = cg[c].r0, n = cg[c].r1 - r0, nsk = 0;
        int rc = ddw_refine_component(o, n, R + r0, cg[c].e1 - cg[c].e0, E + cg[c].e0,
                                      newp + r0, &nsk);
        if (rc != DDW_OK) {
            cstatus = rc < cstatus ? rc : cstatus;
            for (size_t i = r0; i < r0 + n; i++)
                newp[i] = R[i].person;
            continue;
        }
        uint64_t nsub = 0; /* one record per sub-cluster is its smallest key */
        for (size_t i = r0; i < r0 + n; i++)
            nsub += newp[i] == R[i].key;
        if (n >= 2)
            checked++;
        if (nsub >= 2)
            split++;
        created += nsub - 1;
        skipped += nsk;
    }
    if (cstatus < status)
        status = cstatus;
    free(R);
    free(E);
    free(cg);

    /* 5. answers back to the records' home ranks */
    ans_msg *am = ddw_xmalloc((nr ? nr : 1) * sizeof *am);
    dest = ddw_xmalloc((nr ? nr : 1) * sizeof *dest);
    for (size_t i = 0; i < nr; i++) {
        am[i] = (ans_msg){cr[i].idx, newp[i]};
        dest[i] = cr[i].rank;
    }
    free(cr);
    free(newp);
    size_t na;
    ans_msg *ans = ddw_comm_route(comm, am, nr, sizeof *am, dest, &na);
    free(am);
    free(dest);
    if (na != nhome)
        status = DDW_EINVAL;
    for (size_t i = 0; i < na; i++)
        if (ans[i].idx < nhome)
            person_out[ans[i].idx] = ans[i].person;
    free(ans);

    uint64_t sums[4] = {checked, split, skipped, created};
    ddw_comm_allreduce_u64(comm, sums, 4, DDW_COMM_SUM);
    *st = (ddw_refine_stats){sums[0], sums[1], sums[2], sums[3]};
    return (ddw_status)ddw_comm_agree(comm, status);
}
