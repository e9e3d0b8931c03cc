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
 * rounds, and a last exchange answers each rank's records.
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

/* ---- open-addressing map key -> parent (key 0 = empty slot) -------------- */

typedef struct {
    uint64_t *k, *v;
    size_t cap, n;
} u64map;

static void map_init(u64map *m)
{
    m->cap = 1024;
    m->n = 0;
    m->k = ddw_xcalloc(m->cap, sizeof *m->k);
    m->v = ddw_xmalloc(m->cap * sizeof *m->v);
}

static void map_free(u64map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static uint64_t *map_slot(u64map *m, uint64_t key, int insert)
{
    if (insert && 2 * (m->n + 1) > m->cap) {
        u64map g = {ddw_xcalloc(m->cap * 2, sizeof(uint64_t)),
                    ddw_xmalloc(m->cap * 2 * sizeof(uint64_t)), m->cap * 2, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i])
                *map_slot(&g, m->k[i], 1) = m->v[i];
        map_free(m);
        *m = g;
    }
    size_t mask = m->cap - 1, i = (size_t)ddw_mix64(key) & mask;
    while (m->k[i] != 0 && m->k[i] != key)
        i = (i + 1) & mask;
    if (m->k[i] == 0) {
        if (!insert)
            return NULL;
        m->k[i] = key;
        m->v[i] = key;
        m->n++;
    }
    return &m->v[i];
}

/* ---- helpers ---------------------------------------------------------------- */

static int owner(uint64_t key, int P) { return (int)(ddw_mix64(key ^ 0xc1u) % (uint64_t)P); }

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_pair(const void *x, const void *y)
{
    const uint64_t *a = x, *b = y;
    if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}


/*
 * Sends pairs (x, y) to owner(x): pairs is 2*n u64; returns the received
 * pairs (2 * *nrecv u64, caller frees).
 */
static uint64_t *route_pairs(const ddw_comm *comm, const uint64_t *pairs, size_t n,
                             size_t *nrecv)
{
    int P = ddw_comm_size(comm);
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
    for (size_t i = 0; i < n; i++)
        dest[i] = owner(pairs[2 * i], P);
    uint64_t *r = ddw_comm_route(comm, pairs, n, 16, dest, nrecv);
    free(dest);
    return r;
}

/*
 * Answers queries: each rank asks for the parent of keys q[0..n); returns
 * ans[i] = parent(q[i]) (q[i] when unknown).  Collective.
 */
static void lookup(const ddw_comm *comm, u64map *m, const uint64_t *q, size_t n, uint64_t *ans)
{
    int P = ddw_comm_size(comm);
    uint64_t *cnt = ddw_xcalloc((size_t)P, sizeof *cnt);
    uint64_t *rcnt = ddw_xcalloc((size_t)P, sizeof *rcnt);
    size_t *slot = ddw_xmalloc((n ? n : 1) * sizeof *slot);
    uint64_t *off = ddw_xcalloc((size_t)P + 1, sizeof *off);
    for (size_t i = 0; i < n; i++)
        cnt[owner(q[i], P)] += 8;
    for (int r = 0; r < P; r++)
        off[r + 1] = off[r] + cnt[r] / 8;
    uint64_t *sbuf = ddw_xmalloc((n ? n : 1) * 8);
    for (size_t i = 0; i < n; i++) {
        int r = owner(q[i], P);
        slot[i] = off[r];
        sbuf[off[r]++] = q[i];
    }
    void *rbuf;
    uint64_t total;
    ddw_comm_alltoallv(comm, sbuf, cnt, &rbuf, rcnt, &total);
    uint64_t *rq = rbuf;
    for (size_t i = 0; i < total / 8; i++) {
        uint64_t *v = map_slot(m, rq[i], 0);
        rq[i] = v ? *v : rq[i];
    }
    /* answers go back the way the queries came */
    void *back;
    uint64_t btotal;
    ddw_comm_alltoallv(comm, rq, rcnt, &back, cnt, &btotal);
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
    u64map parent;
    map_init(&parent);
    /* current edge list, as pairs */
    size_t ne = nedges;
    uint64_t *e = ddw_xmalloc((ne ? ne : 1) * 16);
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
        uint64_t *v = ddw_xmalloc((ne ? ne : 1) * 16);
        memcpy(v, e, ne * 16);
        qsort(v, 2 * ne, 8, cmp_u64);
        size_t nv = 0;
        for (size_t i = 0; i < 2 * ne; i++)
            if (nv == 0 || v[nv - 1] != v[i])
                v[nv++] = v[i];
        if (nv > UINT32_MAX)
            DDW_DIE("too many vertices on one rank for a 32-bit union-find");
        ddw_uf uf;
        ddw_uf_init(&uf, nv);
        for (size_t i = 0; i < ne; i++)
            ddw_uf_union(&uf, (uint32_t)ddw_lower_bound_u64(v, nv, e[2 * i]),
                         (uint32_t)ddw_lower_bound_u64(v, nv, e[2 * i + 1]));
        size_t ns = 0;
        uint64_t *star = ddw_xmalloc((nv ? nv : 1) * 16);
        for (size_t i = 0; i < nv; i++) {
            uint32_t r = ddw_uf_find(&uf, (uint32_t)i);
            if (r != i) { /* sorted, so the root index is the smallest key */
                star[2 * ns] = v[i];
                star[2 * ns + 1] = v[r];
                ns++;
            }
        }
        ddw_uf_free(&uf);
        free(v);
        free(e);
        /* 2. owners take the smallest candidate; the rest become edges */
        size_t nr;
        uint64_t *cand = route_pairs(comm, star, ns, &nr);
        free(star);
        qsort(cand, nr, 16, cmp_pair);
        ne = 0;
        e = ddw_xmalloc((2 * nr + 1) * 16);
        for (size_t i = 0; i < nr;) {
            uint64_t x = cand[2 * i];
            size_t j = i;
            uint64_t *px = map_slot(&parent, x, 1);
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
            *map_slot(&parent, x, 1) = best;
            i = j;
        }
        free(cand);
    }
    free(e);
    /* 3. pointer jumping until every vertex points at its root */
    for (;;) {
        size_t n = 0;
        uint64_t *q = ddw_xmalloc((parent.n ? parent.n : 1) * sizeof *q);
        size_t *at = ddw_xmalloc((parent.n ? parent.n : 1) * sizeof *at);
        for (size_t i = 0; i < parent.cap; i++)
            if (parent.k[i] && parent.v[i] != parent.k[i]) {
                at[n] = i;
                q[n++] = parent.v[i];
            }
        uint64_t *ans = ddw_xmalloc((n ? n : 1) * sizeof *ans);
        lookup(comm, &parent, q, n, ans);
        uint64_t changed = 0;
        for (size_t i = 0; i < n; i++)
            if (ans[i] != q[i]) {
                parent.v[at[i]] = ans[i];
                changed++;
            }
        free(q);
        free(at);
        free(ans);
        ddw_comm_allreduce_u64(comm, &changed, 1, DDW_COMM_SUM);
        stats->jump_rounds++;
        if (changed == 0)
            break;
    }
    /* 4. each rank's records ask for their root */
    lookup(comm, &parent, keys, nkeys, person);
    map_free(&parent);
    return DDW_OK;
}
