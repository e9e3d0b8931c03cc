/*
 * refine_mpi.c - MPI test of distributed component refinement
 * (ddw_refine_run in src/refine.c, after ddw_cluster_run) at any number of
 * ranks.
 *
 * For a series of seeds every rank builds the same random linkage graph: up
 * to about 5000 records by default, of true people whose identities (PNC ID with a
 * validity flag, date of birth) mostly agree but carry typos, missing
 * values, swapped or placeholder dates and now and then another person's
 * ID; strong edges within people and weak ones across them, so that
 * chaining builds large components with conflicts; long paths, self-loops,
 * repeated and reversed edges; weights on a coarse grid (ties) or
 * continuous.  Records and edges are then dealt over the ranks in uneven,
 * seed-dependent ways (all on one rank, weighted random with idle ranks,
 * contiguous cuts, every other rank), each record and each edge to exactly
 * one rank, and every rank runs connected components and the refinement on
 * its share.  Each rank checks its records' new person IDs and the global
 * statistics against a serial reference over the whole graph computed
 * locally: its own union-find for connected components, then
 * ddw_refine_component once per component on records sorted by key.
 *
 * Trade-off: like cluster_mpi.c, the reference is computed redundantly on
 * every rank so that checking needs no communication beyond agreeing on the
 * verdict; it reuses ddw_refine_component, so this test pins down the
 * distribution (every component whole on one rank, answers back home, any
 * rank count), while tests/unit/test_refine.c checks the per-component rule
 * against a naive reference.  Not a cmocka test: it must run under mpirun.
 *
 * Output: "refine_mpi: OK <n> graphs" on rank 0 and exit 0, or the first
 * mismatch (from the lowest rank that saw one) and exit 1 on every rank.
 * Usage: mpirun -np N refine_mpi [ngraphs [max_records]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddw.h"
#include "ddw_cluster.h"
#include "ddw_comm.h"
#include "ddw_norm.h"
#include "ddw_refine.h"

/* Most records (vertices) of a graph: the second argument, 5000 by default;
 * large graphs (over 100000) take the stage's multi-threaded paths. */
static size_t max_n = 5000;

/* ---- deterministic random numbers (same stream on every rank) -------------- */

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t rng_below(rng *r, size_t n) { return n ? (size_t)(rng_next(r) % n) : 0; }

static void shuffle(rng *r, uint32_t *v, size_t n)
{
    for (size_t k = n; k > 1; k--) {
        size_t j = rng_below(r, k);
        uint32_t t = v[k - 1];
        v[k - 1] = v[j];
        v[j] = t;
    }
}

/* ---- the graph ------------------------------------------------------------------ */

typedef struct {
    size_t n, m, cap;
    ddw_refine_rec *rec; /* n records, distinct nonzero keys, person unset */
    uint32_t *x, *y;     /* m edges as record indexes */
    double *w;
} graph;

static void add_edge(graph *g, uint32_t x, uint32_t y, double w)
{
    ddw_xgrow((void **)&g->x, &g->cap, g->m + 1, sizeof *g->x);
    g->y = ddw_xrealloc(g->y, g->cap * sizeof *g->y);
    g->w = ddw_xrealloc(g->w, g->cap * sizeof *g->w);
    g->x[g->m] = x;
    g->y[g->m] = y;
    g->w[g->m] = w;
    g->m++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t p = *(const uint64_t *)a, q = *(const uint64_t *)b;
    return p < q ? -1 : p > q;
}

static int cmp_size(const void *a, const void *b)
{
    size_t p = *(const size_t *)a, q = *(const size_t *)b;
    return p < q ? -1 : p > q;
}

/* Orders (u64, u64) pairs by the first, then the second. */
static int cmp_pair(const void *a, const void *b)
{
    const uint64_t *p = a, *q = b;
    if (p[0] != q[0])
        return p[0] < q[0] ? -1 : 1;
    return p[1] < q[1] ? -1 : p[1] > q[1];
}

/* A date of birth near base: mostly base itself, sometimes a variant or another date. */
static int32_t dob_variant(rng *r, int32_t base)
{
    int y, m, d;
    ddw_norm_civil_from_days(base, &y, &m, &d);
    switch (rng_below(r, 14)) {
    case 0:
        return DDW_REFINE_DOB_NONE;
    case 1:
        return d <= 12 ? ddw_norm_days_from_civil(y, d, m) : base;
    case 2:
        return ddw_norm_days_from_civil(y, 1, 1);
    case 3:
        return ddw_norm_days_from_civil(y + (rng_below(r, 2) ? 1 : -1), m, d);
    case 4:
        return ddw_norm_days_from_civil(y, m, 1 + (int)rng_below(r, 28));
    case 5:
        return base + (int32_t)rng_below(r, 6000) - 3000;
    default:
        return base;
    }
}

static void make_graph(rng *r, int gi, graph *g)
{
    memset(g, 0, sizeof *g);
    size_t n;
    if (gi == 0)
        n = 1;
    else if (gi == 1)
        n = 3;
    else if (gi % 4 == 0)
        n = max_n / 5 * 4 + rng_below(r, max_n / 5 + 1);
    else
        n = 1 + rng_below(r, max_n);
    g->n = n;
    g->rec = ddw_xmalloc(n * sizeof *g->rec);
    /* distinct nonzero keys */
    uint64_t *ks = ddw_xmalloc(n * sizeof *ks);
    for (int ok = 0; !ok;) {
        for (size_t i = 0; i < n; i++) {
            if (gi % 2) { /* record-key shape: (source, row), rows distinct */
                uint64_t src = rng_below(r, 8);
                ks[i] = DDW_KEY(src, 1 + 4 * i + rng_below(r, 4));
            } else {
                ks[i] = rng_next(r);
            }
        }
        uint64_t *s = ddw_xmalloc(n * sizeof *s);
        memcpy(s, ks, n * sizeof *s);
        qsort(s, n, sizeof *s, cmp_u64);
        ok = s[0] != 0;
        for (size_t i = 1; i < n && ok; i++)
            ok = s[i] != s[i - 1];
        free(s);
    }
    /* people: consecutive runs of 1..6 records of the shuffled order */
    uint32_t *perm = ddw_xmalloc(n * sizeof *perm);
    uint32_t *who = ddw_xmalloc(n * sizeof *who);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    shuffle(r, perm, n);
    uint32_t person = 0;
    for (size_t i = 0; i < n; person++) {
        size_t len = 1 + rng_below(r, 6);
        int by = 1920 + (int)rng_below(r, 90);
        int bm = 1 + (int)rng_below(r, 12);
        int32_t base = ddw_norm_days_from_civil(by, bm, 1 + (int)rng_below(r, 28));
        uint64_t pnc = rng_below(r, 4) ? rng_next(r) | 1 : 0;
        size_t first = i;
        for (; i < n && i < first + len; i++) {
            uint32_t v = perm[i];
            who[v] = person;
            uint64_t p = pnc;
            if (rng_below(r, 6) == 0)
                p = 0;
            else if (rng_below(r, 12) == 0)
                p = rng_next(r) | 1; /* someone else's, or a typo */
            int32_t dob = dob_variant(r, base);
            int32_t valid = rng_below(r, 10) != 0;
            g->rec[v] = (ddw_refine_rec){ks[v], 0, p, dob, (uint16_t)valid, 0};
        }
        /* strong edges within the person: a chain plus extra pairs */
        for (size_t k = first; k + 1 < i; k++)
            add_edge(g, perm[k], perm[k + 1], 2.0 + (double)rng_below(r, 8) / 4.0);
        for (size_t k = 0, extra = rng_below(r, i - first + 1); k < extra; k++) {
            uint32_t x = perm[first + rng_below(r, i - first)];
            uint32_t y = perm[first + rng_below(r, i - first)];
            add_edge(g, x, y, 1.5 + (double)rng_below(r, 8) / 4.0);
        }
    }
    free(ks);
    if (gi == 2) { /* people only */
        free(perm);
        free(who);
        return;
    }
    /* weak chaining edges across people: coarse grid (ties) or continuous */
    size_t mr = rng_below(r, n / 2 + 2);
    for (size_t k = 0; k < mr; k++) {
        uint32_t x = (uint32_t)rng_below(r, n);
        uint32_t y = (uint32_t)rng_below(r, n);
        double w = rng_below(r, 2) ? (double)rng_below(r, 6) / 4.0
                                   : (double)(rng_next(r) >> 11) / 9007199254740992.0 * 2.0;
        add_edge(g, x, y, w);
    }
    /* a long weak path through random records: one giant chained component */
    if (gi % 3 == 1 && n > 1) {
        shuffle(r, perm, n);
        size_t len = n / 4 + rng_below(r, n / 2 + 1);
        for (size_t i = 0; i + 1 < len; i++)
            add_edge(g, perm[i], perm[i + 1], (double)rng_below(r, 4) / 4.0);
    }
    /* self-loops, repeated and reversed edges */
    size_t m0 = g->m, reps = rng_below(r, m0 / 8 + 1);
    for (size_t k = 0; k < reps && m0; k++) {
        size_t e = rng_below(r, m0);
        switch (rng_below(r, 3)) {
        case 0: add_edge(g, g->x[e], g->y[e], g->w[e]); break;
        case 1: add_edge(g, g->y[e], g->x[e], g->w[e]); break;
        default: add_edge(g, g->x[e], g->x[e], 3.0); break;
        }
    }
    /* edges in random order */
    for (size_t k = g->m; k > 1; k--) {
        size_t j = rng_below(r, k);
        uint32_t tx = g->x[k - 1], ty = g->y[k - 1];
        double tw = g->w[k - 1];
        g->x[k - 1] = g->x[j];
        g->y[k - 1] = g->y[j];
        g->w[k - 1] = g->w[j];
        g->x[j] = tx;
        g->y[j] = ty;
        g->w[j] = tw;
    }
    free(perm);
    free(who);
}

static void free_graph(graph *g)
{
    free(g->rec);
    free(g->x);
    free(g->y);
    free(g->w);
    memset(g, 0, sizeof *g);
}

/* ---- serial reference ------------------------------------------------------------ */

static uint32_t find(uint32_t *parent, uint32_t v)
{
    while (parent[v] != v) {
        parent[v] = parent[parent[v]];
        v = parent[v];
    }
    return v;
}

/*
 * want[i] = record i's refined person ID, *st the statistics: connected
 * components by union-find, then ddw_refine_component per component.
 */
static void reference(const graph *g, const ddw_refine_opts *o, uint64_t *want,
                      ddw_refine_stats *st)
{
    size_t n = g->n, m = g->m;
    memset(st, 0, sizeof *st);
    uint32_t *parent = ddw_xmalloc(n * sizeof *parent);
    for (size_t i = 0; i < n; i++)
        parent[i] = (uint32_t)i;
    for (size_t k = 0; k < m; k++) {
        uint32_t a = find(parent, g->x[k]), b = find(parent, g->y[k]);
        if (a != b)
            parent[a > b ? a : b] = a > b ? b : a;
    }
    /* records as (root, index) and edges as (root of x, edge) pairs, grouped */
    uint64_t *rv = ddw_xmalloc(n * 2 * sizeof *rv), *ev = ddw_xmalloc((m + 1) * 2 * sizeof *ev);
    for (size_t i = 0; i < n; i++) {
        rv[2 * i] = find(parent, (uint32_t)i);
        rv[2 * i + 1] = i;
    }
    for (size_t k = 0; k < m; k++) {
        ev[2 * k] = find(parent, g->x[k]);
        ev[2 * k + 1] = k;
    }
    qsort(rv, n, 2 * sizeof *rv, cmp_pair);
    qsort(ev, m, 2 * sizeof *ev, cmp_pair);
    ddw_refine_rec *cr = ddw_xmalloc(n * sizeof *cr);
    ddw_refine_edge *ce = ddw_xmalloc((m + 1) * sizeof *ce);
    uint64_t *po = ddw_xmalloc(n * sizeof *po);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, ne = 0;
        for (; j < n && rv[2 * j] == rv[2 * i]; j++)
            cr[j - i] = g->rec[rv[2 * j + 1]];
        for (; k < m && ev[2 * k] == rv[2 * i]; k++) {
            size_t e = ev[2 * k + 1];
            ce[ne++] = (ddw_refine_edge){g->rec[g->x[e]].key, g->rec[g->y[e]].key, g->w[e]};
        }
        size_t nr = j - i, sk = 0, nsub = 0;
        if (ddw_refine_component(o, nr, cr, ne, ce, po, &sk) != DDW_OK)
            DDW_DIE("reference: ddw_refine_component failed");
        for (size_t t = 0; t < nr; t++) {
            want[rv[2 * (i + t) + 1]] = po[t];
            nsub += po[t] == cr[t].key;
        }
        st->components_checked += nr >= 2;
        st->components_split += nsub >= 2;
        st->edges_skipped += sk;
        st->subclusters_created += nsub - 1;
        i = j;
    }
    free(cr);
    free(ce);
    free(po);
    free(rv);
    free(ev);
    free(parent);
}

/* ---- distributions ------------------------------------------------------------------ */

static const char *const dist_name[] = {"all-on-rank-0", "all-on-last-rank", "weighted-random",
                                        "contiguous-cuts", "even-ranks-only"};
#define NDIST 5

typedef struct {
    int mode, P;
    uint64_t *w, wsum; /* P weights for weighted-random */
    size_t *cut;       /* P+1 cut points for contiguous-cuts */
} dist;

static void dist_init(dist *d, rng *r, int mode, int P, size_t m)
{
    memset(d, 0, sizeof *d);
    d->mode = mode;
    d->P = P;
    d->w = ddw_xmalloc((size_t)P * sizeof *d->w);
    for (int q = 0; q < P; q++) {
        d->w[q] = rng_below(r, 4); /* 0: this rank gets nothing */
        d->wsum += d->w[q];
    }
    if (d->wsum == 0) {
        d->w[P - 1] = 1;
        d->wsum = 1;
    }
    d->cut = ddw_xmalloc(((size_t)P + 1) * sizeof *d->cut);
    d->cut[0] = 0;
    d->cut[P] = m;
    for (int q = 1; q < P; q++)
        d->cut[q] = rng_below(r, m + 1);
    qsort(d->cut + 1, (size_t)(P > 1 ? P - 1 : 0), sizeof *d->cut, cmp_size);
}

static void dist_free(dist *d)
{
    free(d->w);
    free(d->cut);
    memset(d, 0, sizeof *d);
}

/* The one rank holding item k; consumes the same random numbers on every rank. */
static int holder(const dist *d, rng *r, size_t k)
{
    int P = d->P;
    switch (d->mode) {
    case 0:
        return 0;
    case 1:
        return P - 1;
    case 2: {
        uint64_t t = rng_next(r) % d->wsum;
        for (int q = 0; q < P; q++) {
            if (t < d->w[q])
                return q;
            t -= d->w[q];
        }
        return P - 1;
    }
    case 3: {
        int q = 0;
        while (q < P - 1 && k >= d->cut[q + 1])
            q++;
        return q;
    }
    default:
        return 2 * (int)(k % (size_t)((P + 1) / 2));
    }
}

/* ---- one graph ------------------------------------------------------------------------ */

typedef struct {
    int bad;
    uint64_t key, got, want;
} verdict;

static const ddw_refine_opts opts_by_graph[] = {{1, 1, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 0}};

static verdict run_graph(const ddw_comm *comm, int gi, uint64_t seed, char *desc, size_t dlen)
{
    int P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    rng r = {seed};
    graph g;
    make_graph(&r, gi, &g);
    const ddw_refine_opts *o = &opts_by_graph[(gi / 2) % 4];
    uint64_t *want = ddw_xmalloc(g.n * sizeof *want);
    ddw_refine_stats ref;
    reference(&g, o, want, &ref);

    /* this rank's records and edges, under independent distributions */
    int rmode = gi % NDIST, emode = (gi + gi / NDIST + 1) % NDIST;
    dist d;
    dist_init(&d, &r, rmode, P, g.n);
    size_t nh = 0;
    uint32_t *hv = ddw_xmalloc(g.n * sizeof *hv);
    for (size_t i = 0; i < g.n; i++)
        if (holder(&d, &r, i) == me)
            hv[nh++] = (uint32_t)i;
    dist_free(&d);
    dist_init(&d, &r, emode, P, g.m);
    size_t ne = 0;
    uint64_t *a = ddw_xmalloc((g.m + 1) * sizeof *a), *b = ddw_xmalloc((g.m + 1) * sizeof *b);
    double *w = ddw_xmalloc((g.m + 1) * sizeof *w);
    for (size_t k = 0; k < g.m; k++)
        if (holder(&d, &r, k) == me) {
            a[ne] = g.rec[g.x[k]].key;
            b[ne] = g.rec[g.y[k]].key;
            w[ne++] = g.w[k];
        }
    dist_free(&d);
    /* home records in a rank-specific order */
    rng lr = {seed ^ (uint64_t)(me + 1) * UINT64_C(0x1000193)};
    shuffle(&lr, hv, nh);

    ddw_refine_rec *home = ddw_xmalloc((nh ? nh : 1) * sizeof *home);
    uint64_t *keys = ddw_xmalloc((nh ? nh : 1) * sizeof *keys);
    uint64_t *cc = ddw_xmalloc((nh ? nh : 1) * sizeof *cc);
    uint64_t *got = ddw_xmalloc((nh ? nh : 1) * sizeof *got);
    for (size_t i = 0; i < nh; i++)
        keys[i] = g.rec[hv[i]].key;
    verdict v = {0, 0, 0, 0};
    ddw_cluster_stats cst = {0, 0};
    ddw_refine_stats st = {0, 0, 0, 0};
    int rc = ddw_cluster_run(comm, a, b, ne, keys, nh, cc, &cst);
    int rc2 = DDW_OK;
    if (rc == DDW_OK) {
        for (size_t i = 0; i < nh; i++) {
            home[i] = g.rec[hv[i]];
            home[i].person = cc[i];
        }
        rc2 = ddw_refine_run(comm, o, nh, home, ne, a, b, w, got, &st);
    }
    if (rc != DDW_OK || rc2 != DDW_OK) {
        v.bad = 1;
    } else {
        for (size_t i = 0; i < nh && !v.bad; i++)
            if (got[i] != want[hv[i]]) {
                v.bad = 1;
                v.key = keys[i];
                v.got = got[i];
                v.want = want[hv[i]];
            }
        if (!v.bad && memcmp(&st, &ref, sizeof st) != 0)
            v.bad = 1;
    }
    snprintf(desc, dlen,
             "graph %d (seed %#" PRIx64 ", %zu records, %zu edges, use_pnc %d, use_dob %d, "
             "records %s, edges %s, rank %d holds %zu records and %zu edges, status %d/%d; "
             "stats got %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 " want %" PRIu64
             "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 ")",
             gi, seed, g.n, g.m, o->use_pnc, o->use_dob, dist_name[rmode], dist_name[emode], me,
             nh, ne, rc, rc2, st.components_checked, st.components_split, st.edges_skipped,
             st.subclusters_created, ref.components_checked, ref.components_split,
             ref.edges_skipped, ref.subclusters_created);
    if (me == 0 && getenv("REFINE_MPI_VERBOSE"))
        fprintf(stderr, "refine_mpi: %s\n", desc);
    free(home);
    free(keys);
    free(cc);
    free(got);
    free(hv);
    free(a);
    free(b);
    free(w);
    free(want);
    free_graph(&g);
    return v;
}

int main(int argc, char **argv)
{
    ddw_comm *comm = NULL;
    if (ddw_comm_init(&argc, &argv, &comm) != DDW_OK) {
        fprintf(stderr, "refine_mpi: cannot initialise MPI\n");
        return 1;
    }
    int me = ddw_comm_rank(comm), P = ddw_comm_size(comm);
    int ngraphs = argc > 1 ? atoi(argv[1]) : 24;
    if (ngraphs < 1)
        ngraphs = 1;
    if (argc > 2 && atol(argv[2]) >= 10)
        max_n = (size_t)atol(argv[2]);
    int failed = 0;
    for (int gi = 0; gi < ngraphs; gi++) {
        uint64_t seed = ddw_mix64(UINT64_C(0x7ef1e) + (uint64_t)gi);
        char desc[768];
        verdict v = run_graph(comm, gi, seed, desc, sizeof desc);
        uint64_t first = v.bad ? (uint64_t)me : (uint64_t)P;
        ddw_comm_allreduce_u64(comm, &first, 1, DDW_COMM_MIN);
        if (first == (uint64_t)P)
            continue;
        if (first == (uint64_t)me)
            fprintf(stderr,
                    "refine_mpi: MISMATCH at %d ranks: %s: key %#" PRIx64 " got %#" PRIx64
                    " want %#" PRIx64 "\n",
                    P, desc, v.key, v.got, v.want);
        failed = 1;
        break;
    }
    if (!failed && me == 0)
        printf("refine_mpi: OK %d graphs\n", ngraphs);
    ddw_comm_finalize(&comm);
    return failed;
}
