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
 * Answers go back to the records' home ranks; with one rank nothing travels.
 * The owner groups records and edges by component with radix sorts on the
 * person ID (no comparison sorts, no binary searches), the directory is a
 * hash map filled and read by all threads, and the components are refined
 * independently, in parallel over OpenMP threads, each thread reusing its
 * scratch arrays from one component to the next.
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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

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
    uint64_t wk;     /* weight_key(w) */
    uint64_t a, b;
    uint32_t ia, ib; /* positions of a and b among the records sorted by key */
} sedge;

/* A key that ascends as the weight descends, NaN last (all NaNs alike, -0
 * like +0): the float order as an integer one, for cheap comparisons. */
static inline uint64_t weight_key(double w)
{
    if (isnan(w))
        return UINT64_MAX;
    if (w == 0)
        w = 0.0;
    uint64_t u;
    memcpy(&u, &w, sizeof u);
    u = u >> 63 ? ~u : u | UINT64_C(1) << 63; /* ascends as w ascends */
    return ~u;
}

/* 1 if p comes strictly before q: weight descending (NaN last), then a, then b. */
static inline int sedge_before(const sedge *p, const sedge *q)
{
    if (p->wk != q->wk)
        return p->wk < q->wk;
    if (p->a != q->a)
        return p->a < q->a;
    return p->b < q->b;
}

/* Sorts e[0..n) by sedge_before: insertion-sorted runs of 16, then bottom-up
 * merges through tmp (n entries). */
static void sort_sedges(sedge *e, size_t n, sedge *tmp)
{
    enum { RUN = 16 };
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            sedge x = e[i];
            size_t j = i;
            for (; j > lo && sedge_before(&x, &e[j - 1]); j--)
                e[j] = e[j - 1];
            e[j] = x;
        }
    }
    sedge *src = e, *dst = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = sedge_before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        sedge *t = src;
        src = dst;
        dst = t;
    }
    if (src != e)
        memcpy(e, src, n * sizeof *e);
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

/* Scratch arrays for refining components one after another (one per thread). */
typedef struct {
    size_t ncap, ecap;
    uint64_t *ki; /* (key, index) pairs */
    uint32_t *par;
    uint8_t *weak;
    summary s;
    sedge *e, *tmp;
} workspace;

static void ws_reserve(workspace *w, size_t nrec, size_t nedge)
{
    if (nrec > w->ncap) {
        size_t c = nrec + nrec / 2 + 16;
        w->ki = ddw_xrealloc(w->ki, c * 2 * sizeof *w->ki);
        w->par = ddw_xrealloc(w->par, c * sizeof *w->par);
        w->weak = ddw_xrealloc(w->weak, c);
        w->s.pnc = ddw_xrealloc(w->s.pnc, c * sizeof *w->s.pnc);
        w->s.dob = ddw_xrealloc(w->s.dob, c * DDW_REFINE_MAX_DOBS * sizeof *w->s.dob);
        w->s.ndob = ddw_xrealloc(w->s.ndob, c);
        w->s.anchored = ddw_xrealloc(w->s.anchored, c);
        w->ncap = c;
    }
    if (nedge > w->ecap) {
        size_t c = nedge + nedge / 2 + 16;
        w->e = ddw_xrealloc(w->e, c * sizeof *w->e);
        w->tmp = ddw_xrealloc(w->tmp, c * sizeof *w->tmp);
        w->ecap = c;
    }
}

static void ws_free(workspace *w)
{
    free(w->ki);
    free(w->par);
    free(w->weak);
    free(w->s.pnc);
    free(w->s.dob);
    free(w->s.ndob);
    free(w->s.anchored);
    free(w->e);
    free(w->tmp);
    memset(w, 0, sizeof *w);
}

/* Root of x; every pointer goes to a smaller index (path halving). */
static inline uint32_t uf_root(uint32_t *par, uint32_t x)
{
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

/* ddw_refine_component with the scratch arrays of w; *skipped is set. */
static ddw_status refine_one(const ddw_refine_opts *o, size_t nrec, const ddw_refine_rec *recs,
                             size_t nedge, const ddw_refine_edge *edges, uint64_t *person_out,
                             size_t *skipped, workspace *w)
{
    *skipped = 0;
    if (nrec >= UINT32_MAX)
        return DDW_ERANGE;
    if (nrec == 0)
        return nedge ? DDW_EINVAL : DDW_OK;
    if (nrec == 1 && nedge == 0) {
        person_out[0] = recs[0].key;
        return DDW_OK;
    }
    ws_reserve(w, nrec, nedge);
    /* records by key: position = union-find index, so the root is the smallest key */
    uint64_t *ki = w->ki;
    for (size_t i = 0; i < nrec; i++) {
        ki[2 * i] = recs[i].key;
        ki[2 * i + 1] = i;
    }
    if (nrec <= 32) {
        for (size_t i = 1; i < nrec; i++) {
            uint64_t k = ki[2 * i], x = ki[2 * i + 1];
            size_t j = i;
            for (; j > 0 && ki[2 * j - 2] > k; j--) {
                ki[2 * j] = ki[2 * j - 2];
                ki[2 * j + 1] = ki[2 * j - 1];
            }
            ki[2 * j] = k;
            ki[2 * j + 1] = x;
        }
    } else {
        qsort(ki, nrec, 2 * sizeof *ki, cmp_key_idx);
    }
    for (size_t i = 1; i < nrec; i++)
        if (ki[2 * i] == ki[2 * i - 2])
            return DDW_EINVAL;
    sedge *e = w->e;
    for (size_t k = 0; k < nedge; k++) {
        int64_t ia = find_key(ki, nrec, edges[k].a), ib = find_key(ki, nrec, edges[k].b);
        if (ia < 0 || ib < 0)
            return DDW_EINVAL;
        e[k] = (sedge){weight_key(edges[k].w), edges[k].a, edges[k].b, (uint32_t)ia, (uint32_t)ib};
    }
    sort_sedges(e, nedge, w->tmp);

    summary *s = &w->s;
    uint8_t *weak = w->weak; /* by union-find index: attach_once and use_attach */
    uint32_t *par = w->par;
    for (size_t i = 0; i < nrec; i++) {
        const ddw_refine_rec *r = &recs[ki[2 * i + 1]];
        par[i] = (uint32_t)i;
        weak[i] = o->use_attach && r->attach_once;
        s->anchored[i] = !r->attach_once;
        s->pnc[i] = o->use_pnc && has_pnc(r) ? r->pnc : 0;
        s->ndob[i] = 0;
        if (o->use_dob && r->dob != DDW_REFINE_DOB_NONE) {
            s->dob[i * DDW_REFINE_MAX_DOBS] = r->dob;
            s->ndob[i] = 1;
        }
    }
    size_t nskip = 0;
    for (size_t k = 0; k < nedge; k++) {
        uint32_t x = uf_root(par, e[k].ia), y = uf_root(par, e[k].ib);
        if (x == y)
            continue;
        if ((weak[e[k].ia] || weak[e[k].ib]) && s->anchored[x] && s->anchored[y]) {
            nskip++;
            continue;
        }
        if (!may_merge(o, s, x, y)) {
            nskip++;
            continue;
        }
        /* the smaller index, i.e. key, becomes the root */
        if (x < y) {
            par[y] = x;
            merge_into(s, x, y, o->use_dob);
        } else {
            par[x] = y;
            merge_into(s, y, x, o->use_dob);
        }
    }
    for (size_t i = 0; i < nrec; i++)
        person_out[ki[2 * i + 1]] = ki[2 * uf_root(par, (uint32_t)i)];
    *skipped = nskip;
    return DDW_OK;
}

ddw_status ddw_refine_component(const ddw_refine_opts *o, size_t nrec, const ddw_refine_rec *recs,
                                size_t nedge, const ddw_refine_edge *edges, uint64_t *person_out,
                                size_t *skipped)
{
    workspace w;
    memset(&w, 0, sizeof w);
    size_t nsk = 0;
    ddw_status st = refine_one(o, nrec, recs, nedge, edges, person_out, &nsk, &w);
    ws_free(&w);
    if (skipped)
        *skipped = st == DDW_OK ? nsk : 0;
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

_Static_assert(sizeof(uint64_t) == sizeof(double), "edge a, b and w arrays share one stride");

static int dir_rank(uint64_t key, int P) { return (int)(ddw_mix64(key ^ 0xd1u) % (uint64_t)P); }
static int comp_rank(uint64_t person, int P)
{
    return (int)(ddw_mix64(person ^ 0xc0u) % (uint64_t)P);
}

/*
 * Sends n items of size bytes, item i to rank dest[i] (ddw_comm_route).
 * Takes items (freed) and returns the items this rank receives, grouped by
 * sender and in each sender's order, and their count in *nrecv; with one
 * rank, items itself.  Collective.
 */
static void *send_items(const ddw_comm *comm, void *items, size_t n, size_t size, const int *dest,
                        size_t *nrecv)
{
    if (ddw_comm_size(comm) == 1) {
        *nrecv = n;
        return items;
    }
    void *got = ddw_comm_route(comm, items, n, size, dest, nrecv);
    free(items);
    return got;
}

/* Open-addressing map key -> person over the directory entries (key 0 kept aside). */
typedef struct {
    dir_msg *s;
    size_t cap;
    int has0; /* key 0 (the empty-slot mark) is given, with person0 */
    uint64_t person0;
} dir_map;

/* Lookups and inserts go in batches whose slots are prefetched first: the
 * map is far larger than the caches and the keys come in random order. */
#define BATCH 16

static size_t dir_slot(const dir_map *m, uint64_t key)
{
    return (size_t)ddw_mix64(key) & (m->cap - 1);
}

/*
 * Builds the map (load at most 3/4) from d[0..n) in parallel: a thread
 * claims an empty slot by compare-and-swap on its key.  Returns the number
 * of keys given twice (their person is then any of theirs).
 */
static size_t dir_build(dir_map *m, const dir_msg *d, size_t n)
{
    size_t cap = 1024, dup = 0;
    while (cap / 4 * 3 < n)
        cap *= 2;
    m->cap = cap;
    m->s = ddw_xcalloc(cap, sizeof *m->s);
    m->has0 = 0;
    m->person0 = 0;
    dir_msg *s = m->s;
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK / BATCH) \
    reduction(+ : dup)
    for (size_t i0 = 0; i0 < n; i0 += BATCH) {
        size_t nb = n - i0 < BATCH ? n - i0 : BATCH, h[BATCH];
        for (size_t j = 0; j < nb; j++) {
            h[j] = dir_slot(m, d[i0 + j].key);
            __builtin_prefetch(&s[h[j]], 1);
        }
        for (size_t j = 0; j < nb; j++) {
            const dir_msg *x = &d[i0 + j];
            if (x->key == 0) { /* 0 marks empty slots: kept aside */
                if (!__atomic_exchange_n(&m->has0, 1, __ATOMIC_RELAXED))
                    __atomic_store_n(&m->person0, x->person, __ATOMIC_RELAXED);
                else
                    dup++;
                continue;
            }
            for (size_t i = h[j];; i = (i + 1) & (cap - 1)) {
                uint64_t k = 0;
                if (__atomic_compare_exchange_n(&s[i].key, &k, x->key, 0, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED)) {
                    s[i].person = x->person;
                    break;
                }
                if (k == x->key) {
                    dup++;
                    break;
                }
            }
        }
    }
    return dup;
}

/* Looks up key[0..nb), nb <= BATCH: found[j] = 1 and person[j] if key[j] is
 * in the map, else found[j] = 0.  Read-only: thread-safe. */
static void dir_batch(const dir_map *m, const uint64_t *key, size_t nb, uint64_t *person,
                      int *found)
{
    size_t h[BATCH];
    for (size_t j = 0; j < nb; j++) {
        h[j] = dir_slot(m, key[j]);
        __builtin_prefetch(&m->s[h[j]]);
    }
    for (size_t j = 0; j < nb; j++) {
        if (key[j] == 0) {
            person[j] = m->person0;
            found[j] = m->has0;
            continue;
        }
        size_t i = h[j];
        while (m->s[i].key != 0 && m->s[i].key != key[j])
            i = (i + 1) & (m->cap - 1);
        person[j] = m->s[i].person;
        found[j] = m->s[i].key != 0;
    }
}

/* perm[0..n) such that key[perm[i]] ascends (stable); key is sorted in place. */
static uint32_t *sort_perm(uint64_t *key, size_t n)
{
    if (n > UINT32_MAX)
        DDW_DIE("too many records or edges on one rank for a 32-bit sort index");
    uint32_t *perm = ddw_xmalloc((n ? n : 1) * sizeof *perm);
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    ddw_radix_sort_u64(key, perm, n);
    return perm;
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
#pragma omp parallel for num_threads(ddw_par_threads(nhome)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < nhome; i++) {
        dm[i] = (dir_msg){home[i].key, home[i].person};
        dest[i] = dir_rank(home[i].key, P);
    }
    size_t ndir;
    dir_msg *dir = send_items(comm, dm, nhome, sizeof *dm, dest, &ndir);
    dir_map map;
    if (dir_build(&map, dir, ndir))
        status = DDW_EINVAL;
    free(dir);

    /* 2. every edge learns person(a) at the directory of a, and 3. edges and
     * records go to their component's owner; 4. there they are grouped by
     * component (radix sorts by person).  With one rank nothing travels:
     * edges and records are read where they are. */
    size_t nr, ne, unknown = 0;
    uint64_t *rp, *ep;          /* person of each record, of each edge: sorted in 4 */
    uint32_t *rperm, *eperm;    /* the sorted order */
    rec_msg *cr = NULL;         /* records received (not with one rank) */
    edge_msg *ce = NULL;        /* edges received (not with one rank) */
    const char *rsrc, *esrc[3]; /* where records, and edges' a, b, w, are read */
    size_t rstride, estride;
    if (P == 1) {
        nr = nhome;
        ne = nedge;
        ep = ddw_xmalloc((ne ? ne : 1) * sizeof *ep);
#pragma omp parallel for num_threads(ddw_par_threads(ne)) schedule(dynamic, DDW_PAR_CHUNK / BATCH) \
    reduction(+ : unknown)
        for (size_t k0 = 0; k0 < ne; k0 += BATCH) {
            size_t nb = ne - k0 < BATCH ? ne - k0 : BATCH;
            int found[BATCH];
            dir_batch(&map, a + k0, nb, ep + k0, found);
            for (size_t j = 0; j < nb; j++)
                unknown += !found[j]; /* its edge then fails its component */
        }
        free(map.s);
        rp = ddw_xmalloc((nr ? nr : 1) * sizeof *rp);
#pragma omp parallel for num_threads(ddw_par_threads(nr)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nr; i++)
            rp[i] = home[i].person;
        rsrc = (const char *)home;
        rstride = sizeof *home;
        esrc[0] = (const char *)a;
        esrc[1] = (const char *)b;
        esrc[2] = (const char *)w;
        estride = sizeof *a;
    } else {
        edge_msg *em = ddw_xmalloc((nedge ? nedge : 1) * sizeof *em);
#pragma omp parallel for num_threads(ddw_par_threads(nedge)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t k = 0; k < nedge; k++) {
            em[k] = (edge_msg){a[k], b[k], 0, w[k]};
            dest[k] = dir_rank(a[k], P);
        }
        edge_msg *ed = send_items(comm, em, nedge, sizeof *em, dest, &ne);
        free(dest);
        nmax = ne > nhome ? ne : nhome;
        dest = ddw_xmalloc((nmax ? nmax : 1) * sizeof *dest);
#pragma omp parallel for num_threads(ddw_par_threads(ne)) schedule(dynamic, DDW_PAR_CHUNK / BATCH) \
    reduction(+ : unknown)
        for (size_t k0 = 0; k0 < ne; k0 += BATCH) {
            size_t nb = ne - k0 < BATCH ? ne - k0 : BATCH;
            uint64_t key[BATCH], person[BATCH];
            int found[BATCH];
            for (size_t j = 0; j < nb; j++)
                key[j] = ed[k0 + j].a;
            dir_batch(&map, key, nb, person, found);
            for (size_t j = 0; j < nb; j++) {
                ed[k0 + j].person = person[j];
                dest[k0 + j] = found[j] ? comp_rank(person[j], P) : -1;
                unknown += !found[j];
            }
        }
        free(map.s);
        size_t nkeep = ne;
        if (unknown) { /* unknown keys: dropped */
            nkeep = 0;
            for (size_t k = 0; k < ne; k++)
                if (dest[k] >= 0) {
                    ed[nkeep] = ed[k];
                    dest[nkeep++] = dest[k];
                }
        }
        ce = send_items(comm, ed, nkeep, sizeof *ed, dest, &ne);
        rec_msg *rm = ddw_xmalloc((nhome ? nhome : 1) * sizeof *rm);
#pragma omp parallel for num_threads(ddw_par_threads(nhome)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nhome; i++) {
            memset(&rm[i], 0, sizeof rm[i]);
            rm[i].r = home[i];
            rm[i].idx = i;
            rm[i].rank = me;
            dest[i] = comp_rank(home[i].person, P);
        }
        cr = send_items(comm, rm, nhome, sizeof *rm, dest, &nr);
        rp = ddw_xmalloc((nr ? nr : 1) * sizeof *rp);
        ep = ddw_xmalloc((ne ? ne : 1) * sizeof *ep);
#pragma omp parallel for num_threads(ddw_par_threads(nr)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nr; i++)
            rp[i] = cr[i].r.person;
#pragma omp parallel for num_threads(ddw_par_threads(ne)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t k = 0; k < ne; k++)
            ep[k] = ce[k].person;
        rsrc = (const char *)cr + offsetof(rec_msg, r);
        rstride = sizeof *cr;
        esrc[0] = (const char *)ce + offsetof(edge_msg, a);
        esrc[1] = (const char *)ce + offsetof(edge_msg, b);
        esrc[2] = (const char *)ce + offsetof(edge_msg, w);
        estride = sizeof *ce;
    }
    /* 4. grouped by person: records and edges gathered in sorted order, from
     * home and the edge arrays (one rank) or from the messages received */
    rperm = sort_perm(rp, nr);
    eperm = sort_perm(ep, ne);
    ddw_refine_rec *R = ddw_xmalloc((nr ? nr : 1) * sizeof *R);
    ddw_refine_edge *E = ddw_xmalloc((ne ? ne : 1) * sizeof *E);
#pragma omp parallel for num_threads(ddw_par_threads(nr)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < nr; i++)
        memcpy(&R[i], rsrc + (size_t)rperm[i] * rstride, sizeof *R);
#pragma omp parallel for num_threads(ddw_par_threads(ne)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t k = 0; k < ne; k++) {
        size_t at = (size_t)eperm[k] * estride;
        memcpy(&E[k].a, esrc[0] + at, sizeof E[k].a);
        memcpy(&E[k].b, esrc[1] + at, sizeof E[k].b);
        memcpy(&E[k].w, esrc[2] + at, sizeof E[k].w);
    }
    free(ce);
    free(dest);
    free(eperm);
    if (unknown)
        status = DDW_EINVAL;
    uint64_t *newp = ddw_xmalloc((nr ? nr : 1) * sizeof *newp);
    comp_range *cg = ddw_xmalloc((nr ? nr : 1) * sizeof *cg);
    size_t ncomp = 0, k = 0;
    for (size_t i = 0; i < nr;) {
        size_t j = i;
        while (j < nr && rp[j] == rp[i])
            j++;
        for (; k < ne && ep[k] < rp[i]; k++) /* a component without records */
            status = DDW_EINVAL;
        size_t k0 = k;
        while (k < ne && ep[k] == rp[i])
            k++;
        cg[ncomp++] = (comp_range){i, j, k0, k};
        i = j;
    }
    if (k < ne)
        status = DDW_EINVAL;
    free(rp);
    free(ep);
    uint64_t checked = 0, split = 0, skipped = 0, created = 0;
    int cstatus = DDW_OK;
#pragma omp parallel
    {
        workspace ws;
        memset(&ws, 0, sizeof ws);
#pragma omp for schedule(dynamic, 64) reduction(+ : checked, split, skipped, created) \
    reduction(min : cstatus)
        for (size_t c = 0; c < ncomp; c++) {
            size_t r0 = cg[c].r0, n = cg[c].r1 - r0, nsk = 0;
            int rc = refine_one(o, n, R + r0, cg[c].e1 - cg[c].e0, E + cg[c].e0, newp + r0, &nsk,
                                &ws);
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
        ws_free(&ws);
    }
    if (cstatus < status)
        status = cstatus;
    free(R);
    free(E);
    free(cg);

    /* 5. answers back to the records' home ranks */
    size_t na = nr;
    if (P == 1) {
#pragma omp parallel for num_threads(ddw_par_threads(nr)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nr; i++)
            person_out[rperm[i]] = newp[i];
    } else {
        ans_msg *am = ddw_xmalloc((nr ? nr : 1) * sizeof *am);
        dest = ddw_xmalloc((nr ? nr : 1) * sizeof *dest);
#pragma omp parallel for num_threads(ddw_par_threads(nr)) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nr; i++) {
            const rec_msg *m = &cr[rperm[i]];
            am[i] = (ans_msg){m->idx, newp[i]};
            dest[i] = m->rank;
        }
        ans_msg *ans = send_items(comm, am, nr, sizeof *am, dest, &na);
        free(dest);
        for (size_t i = 0; i < na; i++)
            if (ans[i].idx < nhome)
                person_out[ans[i].idx] = ans[i].person;
        free(ans);
    }
    free(cr);
    free(rperm);
    free(newp);
    if (na != nhome)
        status = DDW_EINVAL;

    uint64_t sums[4] = {checked, split, skipped, created};
    ddw_comm_allreduce_u64(comm, sums, 4, DDW_COMM_SUM);
    *st = (ddw_refine_stats){sums[0], sums[1], sums[2], sums[3]};
    return (ddw_status)ddw_comm_agree(comm, status);
}
