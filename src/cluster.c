/*
 * cluster.c - stage 4: distributed connected components.
 *
 * Each vertex (record key) has an owner rank, hash(key) mod P, which holds
 * its parent pointer; a pointer always goes to a smaller key.  A round:
 *   1. every rank runs a local union-find over the edges it holds and sends
 *      (vertex, local root = smallest key of its local component) to the
 *      vertex's owner;
 *   2. the owner keeps the smallest of the candidates and its current
 *      parent as the new parent, and turns every other candidate into a new
 *      edge (candidate, new parent), which it holds for the next round.
 * The pointers plus the remaining edges always connect exactly what the
 * original edges connect, and every pointer decreases, so when no edge
 * remains the pointers form one tree per component rooted at its smallest
 * key.  Pointer jumping then takes every vertex to its root in O(log depth)
 * rounds, and a last exchange answers each rank's records.  With one rank
 * the first round's local union-find already is the answer, so the records
 * are answered from it directly, without the owner map.
 *
 * Locally nothing is searched per edge: the endpoints are radix-sorted once,
 * carrying their slots, which numbers the vertices in key order; the
 * union-find then runs on OpenMP threads (roots linked by compare-and-swap,
 * always below the smaller index, so the roots do not depend on the
 * threads' timing), and the sorts and the owner map's lookups are parallel
 * loops over chunks that threads take as they come.
 *
 * Trade-off: a component whose edges all sit on one rank is contracted in
 * one round; rounds grow only when a component's edges are spread over
 * ranks, and then about with the logarithm of its path length (a 2M-vertex
 * path dealt round-robin over 4 ranks takes 49 rounds), at the cost of one
 * exchange of (vertex, root) pairs per round; there is no rank-0 gather of
 * the graph.  Person components are small, so 2-4 rounds is typical.
 */
#include "ddw_cluster.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

void ddw_uf_init(ddw_uf *uf, size_t n)
{
    uf->n = n;
    uf->parent = ddw_xmalloc((n ? n : 1) * sizeof *uf->parent);
    for (size_t i = 0; i < n; i++)
        uf->parent[i] = (uint32_t)i;
}

void ddw_uf_free(ddw_uf *uf)
{
    free(uf->parent);
    uf->parent = NULL;
    uf->n = 0;
}

uint32_t ddw_uf_find(ddw_uf *uf, uint32_t x)
{
    while (uf->parent[x] != x) {
        uf->parent[x] = uf->parent[uf->parent[x]];
        x = uf->parent[x];
    }
    return x;
}

void ddw_uf_union(ddw_uf *uf, uint32_t x, uint32_t y)
{
    uint32_t rx = ddw_uf_find(uf, x), ry = ddw_uf_find(uf, y);
    if (rx < ry)
        uf->parent[ry] = rx;
    else if (ry < rx)
        uf->parent[rx] = ry;
}

/* ---- threads ------------------------------------------------------------------ */

/*
 * Loops over large arrays run on OpenMP threads, in chunks (DDW_PAR_CHUNK
 * iterations, or slices of an array) that threads take as they come, so a
 * thread that the machine delays does not hold the others up.
 */


/* ---- open-addressing map key -> parent (key 0 = empty slot) -------------- */

typedef struct {
    uint64_t k, v;
} kv;

typedef struct {
    kv *s;
    size_t cap, n;
} u64map;

/* Smallest power of two >= 2 * n, at least 1024. */
static size_t map_cap_for(size_t n)
{
    size_t cap = 1024;
    while (cap < 2 * n)
        cap *= 2;
    return cap;
}

static void map_init(u64map *m)
{
    m->cap = map_cap_for(0);
    m->n = 0;
    m->s = ddw_xcalloc(m->cap, sizeof *m->s);
}

static void map_free(u64map *m)
{
    free(m->s);
    memset(m, 0, sizeof *m);
}

static kv *probe(kv *s, size_t cap, uint64_t key)
{
    size_t mask = cap - 1, i = (size_t)ddw_mix64(key) & mask;
    while (s[i].k != 0 && s[i].k != key)
        i = (i + 1) & mask;
    return &s[i];
}

/* Makes room for n keys in all without growing. */
static void map_reserve(u64map *m, size_t n)
{
    size_t cap = map_cap_for(n);
    if (cap <= m->cap)
        return;
    kv *s = ddw_xcalloc(cap, sizeof *s);
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].k)
            *probe(s, cap, m->s[i].k) = m->s[i];
    free(m->s);
    m->s = s;
    m->cap = cap;
}

/* The parent of key, inserting key -> key when absent. */
static uint64_t *map_insert(u64map *m, uint64_t key)
{
    map_reserve(m, m->n + 1);
    kv *e = probe(m->s, m->cap, key);
    if (e->k == 0) {
        e->k = key;
        e->v = key;
        m->n++;
    }
    return &e->v;
}

/* Lookups go in batches whose slots are prefetched first: the map is far
 * larger than the caches and the keys come in random order. */
#define BATCH 16

/* out[i] = the parent of key[i], or key[i] itself when absent (out may be key). */
static void map_get_all(const u64map *m, const uint64_t *key, size_t n, uint64_t *out)
{
    size_t mask = m->cap - 1;
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK / BATCH)
    for (size_t i0 = 0; i0 < n; i0 += BATCH) {
        size_t nb = n - i0 < BATCH ? n - i0 : BATCH, h[BATCH];
        for (size_t j = 0; j < nb; j++) {
            h[j] = (size_t)ddw_mix64(key[i0 + j]) & mask;
            __builtin_prefetch(&m->s[h[j]]);
        }
        for (size_t j = 0; j < nb; j++) {
            uint64_t k = key[i0 + j];
            size_t i = h[j];
            while (m->s[i].k != 0 && m->s[i].k != k)
                i = (i + 1) & mask;
            out[i0 + j] = m->s[i].k ? m->s[i].v : k;
        }
    }
}

/* ---- helpers ---------------------------------------------------------------- */

static int owner(uint64_t key, int P) { return (int)(ddw_mix64(key ^ 0xc1u) % (uint64_t)P); }

/*
 * Sends pairs (x, y) to owner(x).  Takes pairs (2*n u64) and returns the
 * received pairs (2 * *nrecv u64, caller frees), grouped by sender and in
 * each sender's order; with one rank, pairs itself.
 */
static uint64_t *route_pairs(const ddw_comm *comm, uint64_t *pairs, size_t n, size_t *nrecv)
{
    int P = ddw_comm_size(comm);
    if (P == 1) {
        *nrecv = n;
        return pairs;
    }
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < n; i++)
        dest[i] = owner(pairs[2 * i], P);
    uint64_t *got = ddw_comm_route(comm, pairs, n, 16, dest, nrecv);
    free(pairs);
    free(dest);
    return got;
}

/*
 * Sorts pairs c[0..n) (2*n u64) by x, then y.  Each sender's pairs arrive
 * ascending by x with every x at most once, so equal x are few (at most one
 * per rank); returns c or a new sorted array (c is then freed).
 */
static uint64_t *sort_pairs(uint64_t *c, size_t n)
{
    size_t i = 1;
    while (i < n && (c[2 * i - 2] < c[2 * i] ||
                     (c[2 * i - 2] == c[2 * i] && c[2 * i - 1] <= c[2 * i + 1])))
        i++;
    if (i >= n) /* already sorted: one sender */
        return c;
    if (n > UINT32_MAX)
        DDW_DIE("too many candidate pairs on one rank for a 32-bit sort index");
    uint64_t *x = ddw_xmalloc(n * sizeof *x);
    uint32_t *idx = ddw_xmalloc(n * sizeof *idx);
    for (i = 0; i < n; i++) {
        x[i] = c[2 * i];
        idx[i] = (uint32_t)i;
    }
    ddw_radix_sort_u64(x, idx, n);
    uint64_t *s = ddw_xmalloc(n * 16);
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t k = 0; k < n; k++) {
        s[2 * k] = x[k];
        s[2 * k + 1] = c[2 * (size_t)idx[k] + 1];
    }
    free(x);
    free(idx);
    free(c);
    for (i = 1; i < n; i++) { /* insertion sort by y within each x */
        uint64_t y = s[2 * i + 1];
        size_t j = i;
        for (; j > 0 && s[2 * j - 2] == s[2 * i] && s[2 * j - 1] > y; j--)
            s[2 * j + 1] = s[2 * j - 1];
        s[2 * j + 1] = y;
    }
    return s;
}

/*
 * Root of x in a union-find whose every pointer goes to a smaller index,
 * with path halving.  Safe while other threads do the same and link roots
 * (link_roots): pointers are read and written atomically, and a pointer is
 * only ever replaced by one to an ancestor.
 */
static inline uint32_t uf_root(uint32_t *par, uint32_t x)
{
    for (;;) {
        uint32_t p = __atomic_load_n(&par[x], __ATOMIC_RELAXED);
        if (p == x)
            return x;
        uint32_t g = __atomic_load_n(&par[p], __ATOMIC_RELAXED);
        if (g != p)
            __atomic_store_n(&par[x], g, __ATOMIC_RELAXED);
        x = g;
    }
}

/* Joins the sets of x and y: the larger root goes below the smaller one,
 * by compare-and-swap (retried if another thread linked it first). */
static inline void uf_link(uint32_t *par, uint32_t x, uint32_t y)
{
    for (;;) {
        x = uf_root(par, x);
        y = uf_root(par, y);
        if (x == y)
            return;
        if (x < y) {
            uint32_t t = x;
            x = y;
            y = t;
        }
        uint32_t expect = x;
        if (__atomic_compare_exchange_n(&par[x], &expect, y, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return;
    }
}

/*
 * Local union-find over the ne edges (a[k * stride], b[k * stride]).  Sets
 * *v to the distinct endpoint keys ascending (*nv of them, caller frees)
 * and returns root[i] = the index in *v of the smallest key of v[i]'s local
 * component (caller frees).  The endpoints are numbered once by a radix
 * sort that carries each endpoint's slot, so no edge needs a search.
 */
static uint32_t *local_roots(const uint64_t *a, const uint64_t *b, size_t stride, size_t ne,
                             uint64_t **v_out, size_t *nv_out)
{
    size_t n2 = 2 * ne;
    if (n2 > UINT32_MAX)
        DDW_DIE("too many edges on one rank for a 32-bit union-find");
    int nt = ddw_par_threads(n2);
    size_t ns = ddw_par_slices(nt);
    uint64_t *vk = ddw_xmalloc((n2 ? n2 : 1) * sizeof *vk);
    uint32_t *vs = ddw_xmalloc((n2 ? n2 : 1) * sizeof *vs);
#pragma omp parallel for num_threads(nt) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t k = 0; k < ne; k++) {
        vk[2 * k] = a[k * stride];
        vk[2 * k + 1] = b[k * stride];
        vs[2 * k] = (uint32_t)(2 * k);
        vs[2 * k + 1] = (uint32_t)(2 * k + 1);
    }
    /* the sort's scratch arrays then hold the distinct keys, ascending, and
     * each endpoint slot's vertex index: the slices count their first
     * occurrences, then number them */
    uint64_t *v = ddw_xmalloc((n2 ? n2 : 1) * sizeof *v);
    uint32_t *vid = ddw_xmalloc((n2 ? n2 : 1) * sizeof *vid);
    ddw_radix_sort_u64_buf(vk, vs, n2, v, vid);
    size_t *first = ddw_xcalloc(ns + 1, sizeof *first);
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(dynamic, 1)
        for (size_t u = 0; u < ns; u++) {
            size_t c = 0;
            for (size_t i = ddw_par_slice_lo(n2, ns, u), hi = ddw_par_slice_lo(n2, ns, u + 1); i < hi; i++)
                c += i == 0 || vk[i] != vk[i - 1];
            first[u + 1] = c;
        }
#pragma omp single
        for (size_t u = 0; u < ns; u++)
            first[u + 1] += first[u];
#pragma omp for schedule(dynamic, 1)
        for (size_t u = 0; u < ns; u++) {
            size_t c = first[u];
            for (size_t i = ddw_par_slice_lo(n2, ns, u), hi = ddw_par_slice_lo(n2, ns, u + 1); i < hi; i++) {
                if (i == 0 || vk[i] != vk[i - 1])
                    v[c++] = vk[i];
                vid[vs[i]] = (uint32_t)(c - 1);
            }
        }
    }
    size_t nv = first[ns];
    free(first);
    free(vk);
    free(vs);
    /* union-find over the edges in parallel: every pointer goes to a smaller
     * index, so each set's root is its smallest index, i.e. key, whatever
     * the order in which threads link */
    uint32_t *par = ddw_xmalloc((nv ? nv : 1) * sizeof *par);
#pragma omp parallel num_threads(ddw_par_threads(ne))
    {
#pragma omp for schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nv; i++)
            par[i] = (uint32_t)i;
#pragma omp for schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t k = 0; k < ne; k++)
            uf_link(par, vid[2 * k], vid[2 * k + 1]);
#pragma omp for schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < nv; i++)
            __atomic_store_n(&par[i], uf_root(par, (uint32_t)i), __ATOMIC_RELAXED);
    }
    free(vid);
    *v_out = v;
    *nv_out = nv;
    return par;
}

/*
 * Local contraction: the pairs (v, smallest key of v's local component) for
 * every endpoint v of the ne edges e that is not that smallest key,
 * ascending by v, and their count in *ns.
 */
static uint64_t *local_star(const uint64_t *e, size_t ne, size_t *ns)
{
    uint64_t *v;
    size_t nv, n = 0;
    uint32_t *root = local_roots(e, e + 1, 2, ne, &v, &nv);
    for (size_t i = 0; i < nv; i++)
        n += root[i] != i;
    uint64_t *star = ddw_xmalloc((n ? n : 1) * 16);
    n = 0;
    for (size_t i = 0; i < nv; i++)
        if (root[i] != i) {
            star[2 * n] = v[i];
            star[2 * n + 1] = v[root[i]];
            n++;
        }
    free(root);
    free(v);
    *ns = n;
    return star;
}

/*
 * One rank: the local union-find over all edges is the answer.  person[i] =
 * smallest key of keys[i]'s component, found by merging the keys, sorted,
 * with the sorted vertex list.  The stats are those of the general
 * algorithm, which at one rank finishes in one round (no edge remains) and
 * one pointer-jumping round that changes nothing.
 */
static void cluster_one_rank(const uint64_t *a, const uint64_t *b, size_t ne,
                             const uint64_t *keys, size_t nkeys, uint64_t *person,
                             ddw_cluster_stats *stats)
{
    stats->rounds = ne > 0;
    stats->jump_rounds = 1;
    uint64_t *v;
    size_t nv;
    uint32_t *root = local_roots(a, b, 1, ne, &v, &nv);
    if (nkeys > UINT32_MAX)
        DDW_DIE("too many keys on one rank for a 32-bit sort index");
    uint64_t *sk = ddw_xmalloc((nkeys ? nkeys : 1) * sizeof *sk);
    uint32_t *si = ddw_xmalloc((nkeys ? nkeys : 1) * sizeof *si);
    int nt = ddw_par_threads(nkeys);
    size_t ns = ddw_par_slices(nt);
#pragma omp parallel for num_threads(nt) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < nkeys; i++) {
        sk[i] = keys[i];
        si[i] = (uint32_t)i;
    }
    ddw_radix_sort_u64(sk, si, nkeys);
    /* each slice of the sorted keys is merged with v from a search onwards */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t u = 0; u < ns; u++) {
        size_t lo = ddw_par_slice_lo(nkeys, ns, u), hi = ddw_par_slice_lo(nkeys, ns, u + 1);
        size_t j = lo < hi ? ddw_lower_bound_u64(v, nv, sk[lo]) : 0;
        for (size_t i = lo; i < hi; i++) {
            while (j < nv && v[j] < sk[i])
                j++;
            person[si[i]] = j < nv && v[j] == sk[i] ? v[root[j]] : sk[i];
        }
    }
    free(sk);
    free(si);
    free(root);
    free(v);
}

/*
 * Answers queries: each rank asks for the parent of keys q[0..n); returns
 * ans[i] = parent(q[i]) (q[i] when unknown).  Collective.
 */
static void lookup(const ddw_comm *comm, const u64map *m, const uint64_t *q, size_t n,
                   uint64_t *ans)
{
    int P = ddw_comm_size(comm);
    if (P == 1) {
        map_get_all(m, q, n, ans);
        return;
    }
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < n; i++)
        dest[i] = owner(q[i], P);
    uint64_t *cnt = ddw_xcalloc((size_t)P, sizeof *cnt);
    uint64_t *rcnt = ddw_xcalloc((size_t)P, sizeof *rcnt);
    size_t *slot = ddw_xmalloc((n ? n : 1) * sizeof *slot);
    uint64_t *off = ddw_xcalloc((size_t)P + 1, sizeof *off);
    for (size_t i = 0; i < n; i++)
        cnt[dest[i]] += 8;
    for (int r = 0; r < P; r++)
        off[r + 1] = off[r] + cnt[r] / 8;
    uint64_t *sbuf = ddw_xmalloc((n ? n : 1) * 8);
    for (size_t i = 0; i < n; i++) {
        slot[i] = off[dest[i]]++;
        sbuf[slot[i]] = q[i];
    }
    free(dest);
    void *rbuf;
    uint64_t total;
    ddw_comm_alltoallv(comm, sbuf, cnt, &rbuf, rcnt, &total);
    uint64_t *rq = rbuf;
    size_t nq = (size_t)(total / 8);
    map_get_all(m, rq, nq, rq);
    /* answers go back the way the queries came */
    void *back;
    uint64_t btotal;
    ddw_comm_alltoallv(comm, rq, rcnt, &back, cnt, &btotal);
#pragma omp parallel for num_threads(ddw_par_threads(n)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < n; i++)
        ans[i] = ((uint64_t *)back)[slot[i]];
    free(back);
    free(rbuf);
    free(sbuf);
    free(off);
    free(slot);
    free(cnt);
    free(rcnt);
}

ddw_status ddw_cluster_run(const ddw_comm *comm, const uint64_t *a, const uint64_t *b,
                           size_t nedges, const uint64_t *keys, size_t nkeys, uint64_t *person,
                           ddw_cluster_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (ddw_comm_size(comm) == 1) {
        cluster_one_rank(a, b, nedges, keys, nkeys, person, stats);
        return DDW_OK;
    }
    u64map parent;
    map_init(&parent);
    /* current edge list, as pairs */
    size_t ne = nedges;
    uint64_t *e = ddw_xmalloc((ne ? ne : 1) * 16);
#pragma omp parallel for num_threads(ddw_par_threads(ne)) schedule(dynamic, DDW_PAR_CHUNK)
    for (size_t i = 0; i < ne; i++) {
        e[2 * i] = a[i];
        e[2 * i + 1] = b[i];
    }
    for (;;) {
        uint64_t remaining = ne;
        ddw_comm_allreduce_u64(comm, &remaining, 1, DDW_COMM_SUM);
        if (remaining == 0)
            break;
        if (++stats->rounds > 200)
            DDW_DIE("connected components did not converge in 200 rounds");
        /* 1. local union-find over this rank's edges */
        size_t ns;
        uint64_t *star = local_star(e, ne, &ns);
        free(e);
        /* 2. owners take the smallest candidate; the rest become edges */
        size_t nr;
        uint64_t *cand = route_pairs(comm, star, ns, &nr);
        cand = sort_pairs(cand, nr);
        map_reserve(&parent, parent.n + nr);
        ne = 0;
        e = ddw_xmalloc((2 * nr + 1) * 16);
        for (size_t i = 0; i < nr;) {
            uint64_t x = cand[2 * i];
            size_t j = i;
            uint64_t *px = map_insert(&parent, x);
            uint64_t cur = *px; /* x itself when new */
            uint64_t best = cand[2 * i + 1] < cur ? cand[2 * i + 1] : cur; /* sorted: min first */
            if (cur != x && cur != best) {
                e[2 * ne] = cur;
                e[2 * ne + 1] = best;
                ne++;
            }
            for (; j < nr && cand[2 * j] == x; j++) {
                uint64_t c = cand[2 * j + 1];
                if (c != best && (j == i || c != cand[2 * j - 1])) {
                    e[2 * ne] = c;
                    e[2 * ne + 1] = best;
                    ne++;
                }
            }
            *px = best;
            i = j;
        }
        free(cand);
    }
    free(e);
    /* 3. pointer jumping until every vertex points at its root; a vertex
     * whose parent turns out to be a root is final (roots no longer change),
     * so later rounds ask only for the others */
    size_t n = 0;
    size_t *at = ddw_xmalloc((parent.n ? parent.n : 1) * sizeof *at);
    for (size_t i = 0; i < parent.cap; i++)
        if (parent.s[i].k && parent.s[i].v != parent.s[i].k)
            at[n++] = i;
    uint64_t *q = ddw_xmalloc((n ? n : 1) * sizeof *q);
    uint64_t *ans = ddw_xmalloc((n ? n : 1) * sizeof *ans);
    for (;;) {
        for (size_t i = 0; i < n; i++)
            q[i] = parent.s[at[i]].v;
        lookup(comm, &parent, q, n, ans);
        uint64_t changed = 0;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (ans[i] != q[i]) {
                parent.s[at[i]].v = ans[i];
                at[m++] = at[i];
                changed++;
            }
        n = m;
        ddw_comm_allreduce_u64(comm, &changed, 1, DDW_COMM_SUM);
        stats->jump_rounds++;
        if (changed == 0)
            break;
    }
    free(q);
    free(at);
    free(ans);
    /* 4. each rank's records ask for their root */
    lookup(comm, &parent, keys, nkeys, person);
    map_free(&parent);
    return DDW_OK;
}
