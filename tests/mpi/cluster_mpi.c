/*
 * cluster_mpi.c - MPI test of distributed connected components
 * (ddw_cluster_run in src/cluster.c) at any number of ranks.
 *
 * For a series of seeds every rank builds the same random graph (up to
 * about 5000 vertices by default, with distinct nonzero keys; sparse random edges, long
 * paths - one with keys falling along it, the worst case for pointer
 * depth - a star, self-loops, repeated and reversed edges), then keeps only
 * its own slice of the edges and of the keys to ask about.  The slices
 * depend on the seed and are deliberately uneven: all edges on one rank,
 * weighted random shares with some ranks empty, contiguous cuts, every
 * other rank idle, and edges held by two ranks at once.  Each rank checks
 * every answer against a serial union-find over the whole graph computed
 * locally.
 *
 * Trade-off: the reference is computed redundantly on every rank (cheap at
 * these sizes) so that checking needs no communication beyond agreeing on
 * the verdict, and the test talks to other ranks only through ddw_comm_*,
 * like the stages.  Not a cmocka test: it must run under mpirun.
 *
 * Output: "cluster_mpi: OK <n> graphs" on rank 0 and exit 0, or the first
 * mismatch (from the lowest rank that saw one) and exit 1 on every rank.
 * Usage: mpirun -np N cluster_mpi [ngraphs [max_records]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddw.h"
#include "ddw_cluster.h"
#include "ddw_comm.h"

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
    uint64_t *key;   /* n distinct nonzero keys */
    uint32_t *x, *y; /* m edges as vertex indexes */
} graph;

static void add_edge(graph *g, uint32_t x, uint32_t y)
{
    ddw_xgrow((void **)&g->x, &g->cap, g->m + 1, sizeof *g->x);
    size_t cap = g->cap;
    g->y = ddw_xrealloc(g->y, cap * sizeof *g->y);
    g->x[g->m] = x;
    g->y[g->m] = y;
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

/* Orders (key, index) pairs of u64 by key. */
static int cmp_key_idx(const void *a, const void *b)
{
    const uint64_t *p = a, *q = b;
    return p[0] < q[0] ? -1 : p[0] > q[0];
}

/* 1 if the n keys are distinct and nonzero. */
static int keys_ok(const uint64_t *key, size_t n)
{
    uint64_t *s = ddw_xmalloc((n ? n : 1) * sizeof *s);
    memcpy(s, key, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_u64);
    int ok = n == 0 || s[0] != 0;
    for (size_t i = 1; i < n && ok; i++)
        ok = s[i] != s[i - 1];
    free(s);
    return ok;
}

static void make_graph(rng *r, int gi, graph *g)
{
    memset(g, 0, sizeof *g);
    size_t n;
    if (gi == 0)
        n = 1;
    else if (gi == 1)
        n = 2;
    else if (gi % 4 == 0)
        n = max_n / 5 * 4 + rng_below(r, max_n / 5 + 1);
    else
        n = 1 + rng_below(r, max_n);
    g->n = n;
    g->key = ddw_xmalloc(n * sizeof *g->key);
    uint32_t *perm = ddw_xmalloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    shuffle(r, perm, n);
    do {
        switch (gi % 3) {
        case 0: /* random 64-bit */
            for (size_t i = 0; i < n; i++)
                g->key[i] = rng_next(r);
            break;
        case 1: /* dense 1..n, shuffled */
            for (size_t i = 0; i < n; i++)
                g->key[i] = perm[i] + 1;
            break;
        default: /* record-key shape: (source, row) */
            for (size_t i = 0; i < n; i++)
                g->key[i] = DDW_KEY(rng_below(r, DDW_MAX_SOURCES), 1 + perm[i]);
            break;
        }
    } while (!keys_ok(g->key, n));

    if (gi == 2) { /* no edges at all */
        free(perm);
        return;
    }
    /* sparse random edges, occasionally a self-loop */
    size_t mr = rng_below(r, n + n / 2 + 1);
    for (size_t k = 0; k < mr; k++) {
        uint32_t x = (uint32_t)rng_below(r, n);
        uint32_t y = rng_below(r, 50) == 0 ? x : (uint32_t)rng_below(r, n);
        add_edge(g, x, y);
    }
    /* long paths through random vertices */
    size_t npaths = rng_below(r, 4);
    for (size_t p = 0; p < npaths; p++) {
        shuffle(r, perm, n);
        size_t len = n / 4 + rng_below(r, n - n / 4 + 1);
        for (size_t i = 0; i + 1 < len; i++)
            add_edge(g, perm[i], perm[i + 1]);
    }
    /* a path with keys falling along it: deepest pointer chains */
    if (gi % 2 == 1 && n > 1) {
        size_t len = n / 2 + rng_below(r, n / 2 + 1);
        for (size_t i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        shuffle(r, perm, n);
        uint64_t *ki = ddw_xmalloc(len * 2 * sizeof *ki);
        for (size_t i = 0; i < len; i++) {
            ki[2 * i] = g->key[perm[i]];
            ki[2 * i + 1] = perm[i];
        }
        qsort(ki, len, 2 * sizeof *ki, cmp_key_idx);
        for (size_t i = len - 1; i > 0; i--) /* largest key first */
            add_edge(g, (uint32_t)ki[2 * i + 1], (uint32_t)ki[2 * i - 1]);
        free(ki);
    }
    /* a star */
    if (gi % 5 == 3 && n > 2) {
        uint32_t hub = (uint32_t)rng_below(r, n);
        size_t spokes = rng_below(r, n);
        for (size_t i = 0; i < spokes; i++)
            add_edge(g, hub, (uint32_t)rng_below(r, n));
    }
    /* repeated and reversed edges */
    size_t m0 = g->m, reps = rng_below(r, m0 / 10 + 1);
    for (size_t k = 0; k < reps; k++) {
        size_t e = rng_below(r, m0);
        if (rng_below(r, 2))
            add_edge(g, g->x[e], g->y[e]);
        else
            add_edge(g, g->y[e], g->x[e]);
    }
    /* edges in random order */
    for (size_t k = g->m; k > 1; k--) {
        size_t j = rng_below(r, k);
        uint32_t tx = g->x[k - 1], ty = g->y[k - 1];
        g->x[k - 1] = g->x[j];
        g->y[k - 1] = g->y[j];
        g->x[j] = tx;
        g->y[j] = ty;
    }
    free(perm);
}

static void free_graph(graph *g)
{
    free(g->key);
    free(g->x);
    free(g->y);
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

/* person[i] = smallest key in vertex i's component. */
static void reference(const graph *g, uint64_t *person)
{
    uint32_t *parent = ddw_xmalloc((g->n ? g->n : 1) * sizeof *parent);
    for (size_t i = 0; i < g->n; i++)
        parent[i] = (uint32_t)i;
    for (size_t k = 0; k < g->m; k++) {
        uint32_t a = find(parent, g->x[k]), b = find(parent, g->y[k]);
        if (a != b)
            parent[a > b ? a : b] = a > b ? b : a;
    }
    for (size_t i = 0; i < g->n; i++)
        person[i] = UINT64_MAX;
    for (size_t i = 0; i < g->n; i++) {
        uint32_t root = find(parent, (uint32_t)i);
        if (g->key[i] < person[root])
            person[root] = g->key[i];
    }
    for (size_t i = 0; i < g->n; i++)
        person[i] = person[find(parent, (uint32_t)i)];
    free(parent);
}

/* ---- slices ------------------------------------------------------------------------ */

static const char *const dist_name[] = {"all-on-rank-0", "all-on-last-rank", "weighted-random",
                                        "contiguous-cuts", "even-ranks-only",
                                        "random-with-copies"};
#define NDIST 6

/*
 * Ranks holding edge k under distribution mode d: writes up to 2 ranks to
 * out, returns how many.  Consumes the same random numbers on every rank.
 */
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

static int weighted(const dist *d, rng *r)
{
    uint64_t t = rng_next(r) % d->wsum;
    for (int q = 0; q < d->P; q++) {
        if (t < d->w[q])
            return q;
        t -= d->w[q];
    }
    return d->P - 1;
}

static int holders(const dist *d, rng *r, size_t k, int out[2])
{
    int P = d->P;
    switch (d->mode) {
    case 0:
        out[0] = 0;
        return 1;
    case 1:
        out[0] = P - 1;
        return 1;
    case 2:
        out[0] = weighted(d, r);
        return 1;
    case 3: {
        int q = 0;
        while (q < P - 1 && k >= d->cut[q + 1])
            q++;
        out[0] = q;
        return 1;
    }
    case 4: {
        int even = (P + 1) / 2; /* ranks 0, 2, 4, ... */
        out[0] = 2 * (int)(k % (size_t)even);
        return 1;
    }
    default:
        out[0] = (int)rng_below(r, (size_t)P);
        if (P > 1 && rng_below(r, 10) == 0) {
            out[1] = (out[0] + 1 + (int)rng_below(r, (size_t)P - 1)) % P;
            return 2;
        }
        return 1;
    }
}

/* ---- one graph ------------------------------------------------------------------------ */

typedef struct {
    int bad;
    uint64_t key, got, want;
} verdict;

static verdict run_graph(const ddw_comm *comm, int gi, uint64_t seed, char *desc, size_t dlen)
{
    int P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    rng r = {seed};
    graph g;
    make_graph(&r, gi, &g);
    uint64_t *want = ddw_xmalloc((g.n ? g.n : 1) * sizeof *want);
    reference(&g, want);

    /* this rank's edges */
    int mode = (gi + gi / 3) % NDIST; /* every mode with every key shape */
    dist d;
    dist_init(&d, &r, mode, P, g.m);
    uint64_t *a = ddw_xmalloc((g.m ? g.m : 1) * sizeof *a);
    uint64_t *b = ddw_xmalloc((g.m ? g.m : 1) * sizeof *b);
    size_t ne = 0;
    for (size_t k = 0; k < g.m; k++) {
        int h[2];
        int nh = holders(&d, &r, k, h);
        for (int i = 0; i < nh; i++)
            if (h[i] == me) {
                a[ne] = g.key[g.x[k]];
                b[ne] = g.key[g.y[k]];
                ne++;
            }
    }
    dist_free(&d);

    /* this rank's queries: each vertex asked by one weighted-random rank,
     * some by a second one, plus keys that are not in the graph */
    uint64_t *sorted = ddw_xmalloc((g.n ? g.n : 1) * 2 * sizeof *sorted);
    for (size_t i = 0; i < g.n; i++) {
        sorted[2 * i] = g.key[i];
        sorted[2 * i + 1] = i;
    }
    qsort(sorted, g.n, 2 * sizeof *sorted, cmp_key_idx);
    size_t qcap = g.n + 64, nq = 0;
    uint64_t *q = ddw_xmalloc(qcap * sizeof *q);
    uint64_t *qwant = ddw_xmalloc(qcap * sizeof *qwant);
    dist_init(&d, &r, 2, P, 0);
    for (size_t i = 0; i < g.n; i++) {
        int who = weighted(&d, &r);
        int again = rng_below(&r, 20) == 0 ? (int)rng_below(&r, (size_t)P) : -1;
        if (who == me || again == me) {
            q[nq] = g.key[i];
            qwant[nq++] = want[i];
        }
    }
    dist_free(&d);
    for (int k = 0; k < 16; k++) {
        uint64_t key = rng_next(&r);
        int who = (int)rng_below(&r, (size_t)P);
        uint64_t probe[2] = {key, 0};
        if (key == 0 || bsearch(probe, sorted, g.n, 2 * sizeof *sorted, cmp_key_idx))
            continue;
        if (who == me) {
            q[nq] = key;
            qwant[nq++] = key; /* unknown key: itself */
        }
    }
    /* ask in random (rank-specific) order */
    rng lr = {seed ^ (uint64_t)(me + 1) * UINT64_C(0x1000193)};
    for (size_t k = nq; k > 1; k--) {
        size_t j = rng_below(&lr, k);
        uint64_t t = q[k - 1], tw = qwant[k - 1];
        q[k - 1] = q[j];
        qwant[k - 1] = qwant[j];
        q[j] = t;
        qwant[j] = tw;
    }

    uint64_t *person = ddw_xmalloc((nq ? nq : 1) * sizeof *person);
    ddw_cluster_stats st;
    verdict v = {0, 0, 0, 0};
    int rc = ddw_cluster_run(comm, a, b, ne, q, nq, person, &st);
    if (rc != DDW_OK) {
        v.bad = 1;
    } else {
        for (size_t k = 0; k < nq && !v.bad; k++)
            if (person[k] != qwant[k]) {
                v.bad = 1;
                v.key = q[k];
                v.got = person[k];
                v.want = qwant[k];
            }
    }
    snprintf(desc, dlen,
             "graph %d (seed %#" PRIx64 ", %zu vertices, %zu edges, edges %s, rank %d holds %zu "
             "edges and asks %zu keys, %d rounds, %d jump rounds, status %d)",
             gi, seed, g.n, g.m, dist_name[mode], me, ne, nq, st.rounds, st.jump_rounds, rc);
    free(person);
    free(q);
    free(qwant);
    free(sorted);
    free(a);
    free(b);
    free(want);
    free_graph(&g);
    return v;
}

int main(int argc, char **argv)
{
    ddw_comm *comm = NULL;
    if (ddw_comm_init(&argc, &argv, &comm) != DDW_OK) {
        fprintf(stderr, "cluster_mpi: cannot initialise MPI\n");
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
        uint64_t seed = ddw_mix64(UINT64_C(0xc1a5) + (uint64_t)gi);
        char desc[512];
        verdict v = run_graph(comm, gi, seed, desc, sizeof desc);
        uint64_t first = v.bad ? (uint64_t)me : (uint64_t)P;
        ddw_comm_allreduce_u64(comm, &first, 1, DDW_COMM_MIN);
        if (first == (uint64_t)P)
            continue;
        if (first == (uint64_t)me)
            fprintf(stderr,
                    "cluster_mpi: MISMATCH at %d ranks: %s: key %#" PRIx64 " got %#" PRIx64
                    " want %#" PRIx64 "\n",
                    P, desc, v.key, v.got, v.want);
        failed = 1;
        break;
    }
    if (!failed && me == 0)
        printf("cluster_mpi: OK %d graphs\n", ngraphs);
    ddw_comm_finalize(&comm);
    return failed;
}
