/*
 * write.c - stage 5: assemble the result columns and write one HDF5 file.
 *
 * Ordering is what makes results byte-comparable across rank counts:
 * a rank's accepted rows of one source are a contiguous run of that
 * source's rows, so /records in global key order is just the runs in
 * (source, rank) order.  Person rows live with the record whose key is the
 * person ID (its "leader"), and edges are sent to the home rank of their
 * first record and sorted there, so /persons and /edges follow the same
 * (source, rank) order.  Trade-off: one extra exchange each for persons
 * and edges instead of a general distributed sort, which the key layout
 * makes unnecessary.
 *
 * Writing: a rank's rows of a table are S runs scattered through the
 * file, and HDF5 1.10 maps such a selection onto the chunks row by row
 * (seconds per million rows).  So each column is first exchanged
 * (all-to-all, no rank gathers) into one slab per rank, aligned to the
 * configured chunk rows: every rank then writes one regular hyperslab and
 * compresses only chunks it holds alone.  With one rank the runs already
 * form the whole table and nothing moves.  Trade-off: the bytes of a
 * column cross the network once more, a copy HDF5 would otherwise make
 * itself for every chunk shared between ranks.
 */
#include "ddw_write.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddw_compare.h"
#include "ddw_h5io.h"

/* Where each rank's rows of each source start and end (by CSV line). */
typedef struct {
    int S, P;
    uint64_t *cnt;   /* [r*S+s] accepted rows */
    uint64_t *first; /* [r*S+s] first line (valid when cnt > 0) */
    uint64_t *last;
    int *rk;         /* [s*P+j] j-th rank holding rows of source s, in line order */
    int *nrk;        /* [s] ranks holding rows of source s */
} layout;

static void layout_init(layout *L, const ddw_comm *comm, int S, const ddw_ingest_out *home)
{
    L->S = S;
    L->P = ddw_comm_size(comm);
    uint64_t *mine = ddw_xcalloc((size_t)S * 3, sizeof *mine);
    for (int s = 0; s < S; s++) {
        mine[s] = home->seg_count[s];
        if (home->seg_count[s]) {
            mine[S + s] = (uint64_t)DDW_KEY_ROW(home->recs.key[home->seg_first[s]]);
            mine[2 * S + s] = (uint64_t)DDW_KEY_ROW(
                home->recs.key[home->seg_first[s] + home->seg_count[s] - 1]);
        }
    }
    uint64_t *all = ddw_xmalloc((size_t)L->P * (size_t)S * 3 * sizeof *all);
    ddw_comm_allgather_u64(comm, mine, S * 3, all);
    L->cnt = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(uint64_t));
    L->first = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(uint64_t));
    L->last = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(uint64_t));
    L->rk = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(int));
    L->nrk = ddw_xcalloc((size_t)S, sizeof(int));
    for (int r = 0; r < L->P; r++)
        for (int s = 0; s < S; s++) {
            L->cnt[r * S + s] = all[(size_t)r * 3 * S + s];
            L->first[r * S + s] = all[(size_t)r * 3 * S + S + s];
            L->last[r * S + s] = all[(size_t)r * 3 * S + 2 * S + s];
            if (L->cnt[r * S + s])
                L->rk[(size_t)s * L->P + L->nrk[s]++] = r;
        }
    free(all);
    free(mine);
}

static void layout_free(layout *L)
{
    free(L->cnt);
    free(L->first);
    free(L->last);
    free(L->rk);
    free(L->nrk);
}

/* The rank holding the record with this key: a binary search over the
 * ranks holding its source, whose line runs follow rank order. */
static int home_rank(const layout *L, uint64_t key)
{
    int s = DDW_KEY_SOURCE(key);
    uint64_t row = (uint64_t)DDW_KEY_ROW(key);
    if (s < 0 || s >= L->S)
        DDW_DIE("record key %llu has no home rank", (unsigned long long)key);
    const int *rk = L->rk + (size_t)s * L->P;
    int lo = 0, hi = L->nrk[s];
    while (lo < hi) { /* the first rank whose last line is >= row */
        int mid = lo + (hi - lo) / 2;
        if (L->last[rk[mid] * L->S + s] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == L->nrk[s] || L->first[rk[lo] * L->S + s] > row)
        DDW_DIE("record key %llu has no home rank", (unsigned long long)key);
    return rk[lo];
}

/* Index of the record with key k among this rank's records, which must
 * hold it: rows with no rejected line before them in their run are found
 * at once, others by binary search. */
static size_t local_index(const ddw_ingest_out *home, uint64_t k)
{
    int s = DDW_KEY_SOURCE(k);
    const uint64_t *key = home->recs.key;
    if (s >= 0 && home->seg_count[s]) {
        size_t first = home->seg_first[s], cnt = home->seg_count[s];
        if (k >= key[first]) {
            uint64_t d = k - key[first];
            if (d < cnt && key[first + d] == k)
                return first + (size_t)d;
        }
        size_t i = first + ddw_lower_bound_u64(key + first, cnt, k);
        if (i < first + cnt && key[i] == k)
            return i;
    }
    DDW_DIE("record key %llu not found on its home rank", (unsigned long long)k);
}

/*
 * A table's rows as the ranks hold them and as they write them: run (s, r)
 * is rank r's rows of source s, at global rows [off, off + cnt) in
 * (source, rank) order; rank t writes the slab [lo[t], lo[t+1]), whole
 * multiples of 'chunk' rows (the table's last chunk may be short).
 */
typedef struct {
    int P, S, me;
    uint64_t *off, *cnt; /* [s*P+r] */
    uint64_t *lo;        /* [P+1] */
    uint64_t total;
} slab;

/* The slab plan from every rank's per-source row counts, all[r*S+s]. */
static void slab_plan(slab *g, int P, int me, int S, const uint64_t *all, uint64_t chunk)
{
    g->P = P;
    g->S = S;
    g->me = me;
    g->off = ddw_xmalloc((size_t)P * (size_t)S * sizeof *g->off);
    g->cnt = ddw_xmalloc((size_t)P * (size_t)S * sizeof *g->cnt);
    g->lo = ddw_xmalloc(((size_t)P + 1) * sizeof *g->lo);
    uint64_t base = 0;
    for (int s = 0; s < S; s++)
        for (int r = 0; r < P; r++) {
            uint64_t c = all[(size_t)r * S + s];
            g->off[(size_t)s * P + r] = base;
            g->cnt[(size_t)s * P + r] = c;
            base += c;
        }
    g->total = base;
    if (chunk == 0)
        chunk = 1;
    uint64_t nchunks = (base + chunk - 1) / chunk;
    for (int t = 0; t <= P; t++) {
        /* whole chunks, split evenly over the ranks */
        uint64_t row = (uint64_t)t * nchunks / (uint64_t)P * chunk;
        g->lo[t] = row < base ? row : base;
    }
}

/* The slab plan for this rank's per-source row counts n[0..S).  Collective. */
static void slab_init(slab *g, const ddw_comm *comm, int S, const uint64_t *n, uint64_t chunk)
{
    int P = ddw_comm_size(comm);
    uint64_t *all = ddw_xmalloc((size_t)P * (size_t)S * sizeof *all);
    ddw_comm_allgather_u64(comm, n, S, all);
    slab_plan(g, P, ddw_comm_rank(comm), S, all, chunk);
    free(all);
}

static void slab_free(slab *g)
{
    free(g->off);
    free(g->cnt);
    free(g->lo);
}

/* Rows of the run [o, o + c) inside [lo, hi); the first one in *at. */
static uint64_t overlap(uint64_t o, uint64_t c, uint64_t lo, uint64_t hi, uint64_t *at)
{
    uint64_t a = o > lo ? o : lo, b = o + c < hi ? o + c : hi;
    *at = a;
    return b > a ? b - a : 0;
}

/* Bytes of this rank's runs (rows of rb bytes) that go to each rank's
 * slab, into scnt[0..P).  Its runs are in global order, so each slab's
 * share is one contiguous piece of its data, in rank order. */
static void slab_send_counts(const slab *g, uint64_t rb, uint64_t *scnt)
{
    int P = g->P, me = g->me;
    uint64_t at;
    for (int t = 0; t < P; t++) {
        scnt[t] = 0;
        for (int s = 0; s < g->S; s++)
            scnt[t] += rb * overlap(g->off[(size_t)s * P + me], g->cnt[(size_t)s * P + me],
                                    g->lo[t], g->lo[t + 1], &at);
    }
}

/*
 * This rank's slab from what it received: rcnt[r] bytes from rank r, in
 * r's run order, rank after rank in rbuf.  Returns rbuf itself when that
 * is already the global order (no lower rank's piece follows a higher
 * one's), else a new buffer, and then frees rbuf.
 */
static void *slab_place(const slab *g, uint64_t rb, void *rbuf, const uint64_t *rcnt)
{
    int P = g->P, S = g->S;
    uint64_t lo = g->lo[g->me], hi = g->lo[g->me + 1], at;
    int inorder = 1, lastr = 0;
    for (int s = 0; s < S && inorder; s++)
        for (int r = 0; r < P; r++)
            if (overlap(g->off[(size_t)s * P + r], g->cnt[(size_t)s * P + r], lo, hi, &at)) {
                if (r < lastr)
                    inorder = 0;
                lastr = r;
            }
    if (inorder)
        return rbuf;
    uint64_t *cur = ddw_xmalloc((size_t)P * sizeof *cur);
    uint64_t pos = 0;
    for (int r = 0; r < P; r++) {
        cur[r] = pos;
        pos += rcnt[r];
    }
    char *out = ddw_xmalloc(pos ? (size_t)pos : 1);
    for (int s = 0; s < S; s++)
        for (int r = 0; r < P; r++) {
            uint64_t k = overlap(g->off[(size_t)s * P + r], g->cnt[(size_t)s * P + r], lo, hi,
                                 &at);
            if (k == 0)
                continue;
            memcpy(out + (at - lo) * rb, (char *)rbuf + cur[r], (size_t)(k * rb));
            cur[r] += k * rb;
        }
    free(cur);
    free(rbuf);
    return out;
}

/*
 * Moves a column of rb-byte rows from runs to slabs: 'data' holds this
 * rank's runs in source order.  Returns this rank's slab (a new buffer the
 * caller frees, or 'data' itself when nothing moves).  Collective.
 */
static void *slab_exchange(const slab *g, const ddw_comm *comm, const void *data, uint64_t rb)
{
    if (g->P == 1)
        return (void *)data;
    uint64_t *scnt = ddw_xmalloc((size_t)g->P * sizeof *scnt);
    uint64_t *rcnt = ddw_xcalloc((size_t)g->P, sizeof *rcnt);
    slab_send_counts(g, rb, scnt);
    void *rbuf;
    uint64_t total;
    ddw_comm_alltoallv(comm, data, scnt, &rbuf, rcnt, &total);
    free(scnt);
    uint64_t want = (g->lo[g->me + 1] - g->lo[g->me]) * rb;
    if (total != want)
        DDW_DIE("slab exchange: %llu bytes received, %llu expected", (unsigned long long)total,
                (unsigned long long)want);
    void *out = slab_place(g, rb, rbuf, rcnt);
    free(rcnt);
    return out;
}

/* Writes one column of the table: 'data' holds this rank's runs in source
 * order, rows of width elements of the type; a matrix when twod.
 * Collective. */
static ddw_status slab_write(ddw_h5 *h, const ddw_comm *comm, const slab *g, const char *path,
                             ddw_h5_type type, uint64_t width, int twod, unsigned flags,
                             const void *data)
{
    uint64_t esize = type == DDW_H5_STR || type == DDW_H5_U8 ? 1 : type == DDW_H5_I32 ? 4 : 8;
    void *buf = slab_exchange(g, comm, data, width * esize);
    uint64_t lo = g->lo[g->me], n = g->lo[g->me + 1] - lo;
    ddw_status rc = twod ? ddw_h5_write_matrix(h, path, type, width, flags, g->total, 1, &lo,
                                               &n, buf)
                         : ddw_h5_write(h, path, type, width, flags, g->total, 1, &lo, &n, buf);
    if (buf != data)
        free(buf);
    return rc;
}

/* Fixed-width string column from (offset, length) pairs into text. */
static char *str_column(const char *text, const uint32_t *off, const uint16_t *len, size_t n,
                        size_t stride, uint64_t width)
{
    char *buf = ddw_xcalloc(n ? n : 1, (size_t)width);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * width, text + off[i * stride], len[i * stride]);
    return buf;
}

static uint64_t global_max(const ddw_comm *comm, uint64_t v)
{
    ddw_comm_allreduce_u64(comm, &v, 1, DDW_COMM_MAX);
    return v;
}

/* Every step is collective: ranks agree on its status so that all of them
 * leave together when any one fails (a disk full on one rank, say). */
#define CHECK(call)                                                                             \
    do {                                                                                        \
        if ((rc = (ddw_status)ddw_comm_agree(comm, (call))) != DDW_OK)                          \
            goto fail;                                                                          \
    } while (0)

/* Compression (storage only, the values are the same): byte shuffling
 * before deflate suits keys, counts and masks, whose high bytes change
 * slowly; it hurts where whole values repeat, so weights (sums over a few
 * level patterns), identity hashes, pass-through categories and reasons
 * are deflated as they are (measured on generated data: 40% smaller and
 * twice as fast to compress for /edges/weight). */

static ddw_status write_records(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const ddw_ingest_plan *plan, const ddw_ingest_out *home,
                                const uint64_t *person, const uint64_t *pnc_key)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    size_t n = home->recs.n;
    slab g;
    slab_init(&g, comm, S, home->seg_count, (uint64_t)cfg->chunk);
    int32_t *src = ddw_xmalloc((n ? n : 1) * sizeof *src);
    int64_t *row = ddw_xmalloc((n ? n : 1) * sizeof *row);
    char *col = NULL;
    for (size_t i = 0; i < n; i++) {
        src[i] = DDW_KEY_SOURCE(home->recs.key[i]);
        row[i] = DDW_KEY_ROW(home->recs.key[i]);
    }
    CHECK(ddw_h5_group(h, "/records"));
    CHECK(slab_write(h, comm, &g, "/records/key", DDW_H5_U64, 1, 0, 0, home->recs.key));
    CHECK(slab_write(h, comm, &g, "/records/source", DDW_H5_I32, 1, 0, 0, src));
    CHECK(slab_write(h, comm, &g, "/records/row", DDW_H5_I64, 1, 0, 0, row));
    CHECK(slab_write(h, comm, &g, "/records/person_id", DDW_H5_U64, 1, 0, 0, person));
    CHECK(slab_write(h, comm, &g, "/records/pnc_key", DDW_H5_U64, 1, 0, DDW_H5_NOSHUFFLE,
                     pnc_key));
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (home->id_len[i] > w)
            w = home->id_len[i];
    w = global_max(comm, w) + 1;
    col = str_column(home->text, home->id_off, home->id_len, n, 1, w);
    CHECK(slab_write(h, comm, &g, "/records/record_id", DDW_H5_STR, w, 0, 0, col));
    for (int j = 0; j < plan->nkeep; j++) {
        free(col);
        col = NULL;
        size_t nk = (size_t)plan->nkeep;
        w = 0;
        for (size_t i = 0; i < n; i++)
            if (home->keep_len[i * nk + (size_t)j] > w)
                w = home->keep_len[i * nk + (size_t)j];
        w = global_max(comm, w) + 1;
        col = str_column(home->text, home->keep_off + j, home->keep_len + j, n, nk, w);
        char path[300];
        snprintf(path, sizeof path, "/records/%s", plan->keep[j]);
        CHECK(slab_write(h, comm, &g, path, DDW_H5_STR, w, 0, DDW_H5_NOSHUFFLE, col));
    }
fail:
    free(col);
    free(src);
    free(row);
    slab_free(&g);
    return rc;
}

/* Counts record i (of source src) at its person's leader, local index j. */
static void count_member(int64_t *nrec, uint64_t *mask, size_t j, int src)
{
    nrec[j]++;
    mask[j] |= UINT64_C(1) << src;
}

static ddw_status write_persons(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const layout *L, const ddw_ingest_out *home,
                                const uint64_t *person, ddw_write_stats *st)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources, P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    size_t n = home->recs.n;
    int64_t *nrec = ddw_xcalloc(n ? n : 1, sizeof *nrec);
    uint64_t *mask = ddw_xcalloc(n ? n : 1, sizeof *mask);
    /* (person, source) is counted at the person's leader: here at once, or
     * sent to the leader's home rank */
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
    uint64_t *scnt = ddw_xcalloc((size_t)P, sizeof *scnt);
    uint64_t *rcnt = ddw_xcalloc((size_t)P, sizeof *rcnt);
    uint64_t *pos = ddw_xcalloc((size_t)P + 1, sizeof *pos);
    for (size_t i = 0; i < n; i++) {
        dest[i] = P == 1 ? 0 : home_rank(L, person[i]);
        if (dest[i] == me)
            count_member(nrec, mask, local_index(home, person[i]),
                         DDW_KEY_SOURCE(home->recs.key[i]));
        else
            scnt[dest[i]] += 16;
    }
    for (int r = 0; r < P; r++)
        pos[r + 1] = pos[r] + scnt[r] / 8;
    uint64_t *sbuf = ddw_xmalloc((size_t)pos[P] * 8 + 8);
    for (size_t i = 0; i < n; i++)
        if (dest[i] != me) {
            uint64_t *q = sbuf + pos[dest[i]];
            q[0] = person[i];
            q[1] = (uint64_t)DDW_KEY_SOURCE(home->recs.key[i]);
            pos[dest[i]] += 2;
        }
    free(dest);
    free(pos);
    void *rbuf;
    uint64_t total;
    ddw_comm_alltoallv(comm, sbuf, scnt, &rbuf, rcnt, &total);
    free(sbuf);
    free(scnt);
    free(rcnt);
    const uint64_t *msg = rbuf;
    for (size_t k = 0; k < total / 16; k++)
        count_member(nrec, mask, local_index(home, msg[2 * k]), (int)msg[2 * k + 1]);
    free(rbuf);
    /* leaders, compacted in local order, counted per source run */
    uint64_t *pid = ddw_xmalloc((n ? n : 1) * sizeof *pid);
    uint64_t *segn = ddw_xcalloc((size_t)S, sizeof *segn);
    size_t m = 0;
    uint64_t largest = 0;
    for (size_t i = 0; i < n; i++)
        if (person[i] == home->recs.key[i]) {
            pid[m] = person[i];
            nrec[m] = nrec[i];
            mask[m] = mask[i];
            if ((uint64_t)nrec[m] > largest)
                largest = (uint64_t)nrec[m];
            segn[DDW_KEY_SOURCE(person[i])]++;
            m++;
        }
    slab g;
    slab_init(&g, comm, S, segn, (uint64_t)cfg->chunk);
    st->persons = g.total;
    st->largest_person = global_max(comm, largest);
    CHECK(ddw_h5_group(h, "/persons"));
    CHECK(slab_write(h, comm, &g, "/persons/person_id", DDW_H5_U64, 1, 0, 0, pid));
    CHECK(slab_write(h, comm, &g, "/persons/n_records", DDW_H5_I64, 1, 0, 0, nrec));
    CHECK(slab_write(h, comm, &g, "/persons/sources", DDW_H5_U64, 1, 0, 0, mask));
fail:
    slab_free(&g);
    free(pid);
    free(nrec);
    free(mask);
    free(segn);
    return rc;
}

/*
 * Orders edges by (a, b): two stable radix sorts of an index (by b, then
 * by a), so no rows are moved while sorting.  Returns perm (n entries,
 * caller frees) with (a, b)[perm[i]] ascending; sorted_a (n entries)
 * receives a in that order.
 */
static uint32_t *edge_order(const uint64_t *a, const uint64_t *b, size_t n, uint64_t *sorted_a)
{
    if (n > UINT32_MAX)
        DDW_DIE("%zu edges on one rank: more than the writer's 32-bit index", n);
    uint32_t *perm = ddw_xmalloc((n ? n : 1) * sizeof *perm);
    for (size_t i = 0; i < n; i++) {
        perm[i] = (uint32_t)i;
        sorted_a[i] = b[i];
    }
    ddw_radix_sort_u64(sorted_a, perm, n);
    for (size_t i = 0; i < n; i++)
        sorted_a[i] = a[perm[i]];
    ddw_radix_sort_u64(sorted_a, perm, n);
    return perm;
}

/* A new buffer with rows dst[i] = src[perm[i]] of rb bytes. */
static void *gather_rows(const void *src, const uint32_t *perm, size_t n, size_t rb)
{
    char *dst = ddw_xmalloc(n * rb + 1);
    const char *s = src;
    if (rb == 8)
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 8, s + (size_t)perm[i] * 8, 8);
    else if (rb == 4)
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 4, s + (size_t)perm[i] * 4, 4);
    else
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * rb, s + (size_t)perm[i] * rb, rb);
    return dst;
}

/* This rank's edges after sending each to the home rank of its a: the
 * columns of *e are consumed into *in. */
static void route_edges(const ddw_comm *comm, const layout *L, ddw_edges *e, ddw_edges *in)
{
    int P = ddw_comm_size(comm), nc = e->ncompare;
    memset(in, 0, sizeof *in);
    in->ncompare = nc;
    if (P == 1) { /* nothing moves */
        *in = *e;
        memset(e, 0, sizeof *e);
        e->ncompare = nc;
        return;
    }
    size_t rec = 8 + 8 + 8 + 4 + (size_t)nc;
    int *dest = ddw_xmalloc((e->n ? e->n : 1) * sizeof *dest);
    uint64_t *scnt = ddw_xcalloc((size_t)P, sizeof *scnt);
    uint64_t *rcnt = ddw_xcalloc((size_t)P, sizeof *rcnt);
    uint64_t *pos = ddw_xcalloc((size_t)P + 1, sizeof *pos);
    for (size_t i = 0; i < e->n; i++) {
        dest[i] = home_rank(L, e->a[i]);
        scnt[dest[i]] += rec;
    }
    for (int r = 0; r < P; r++)
        pos[r + 1] = pos[r] + scnt[r];
    char *sbuf = ddw_xmalloc((size_t)pos[P] + 1);
    for (size_t i = 0; i < e->n; i++) {
        char *p = sbuf + pos[dest[i]];
        pos[dest[i]] += rec;
        memcpy(p, &e->a[i], 8);
        memcpy(p + 8, &e->b[i], 8);
        memcpy(p + 16, &e->weight[i], 8);
        memcpy(p + 24, &e->pass[i], 4);
        memcpy(p + 28, e->levels + i * (size_t)nc, (size_t)nc);
    }
    free(dest);
    free(pos);
    ddw_edges_free(e);
    void *rbuf;
    uint64_t total;
    ddw_comm_alltoallv(comm, sbuf, scnt, &rbuf, rcnt, &total);
    free(sbuf);
    free(scnt);
    free(rcnt);
    size_t n = (size_t)(total / rec);
    in->n = in->cap = n;
    in->a = ddw_xmalloc((n ? n : 1) * 8);
    in->b = ddw_xmalloc((n ? n : 1) * 8);
    in->weight = ddw_xmalloc((n ? n : 1) * 8);
    in->pass = ddw_xmalloc((n ? n : 1) * 4);
    in->levels = ddw_xmalloc((n ? n : 1) * (size_t)(nc ? nc : 1));
    const char *msg = rbuf;
    for (size_t i = 0; i < n; i++, msg += rec) {
        memcpy(&in->a[i], msg, 8);
        memcpy(&in->b[i], msg + 8, 8);
        memcpy(&in->weight[i], msg + 16, 8);
        memcpy(&in->pass[i], msg + 24, 4);
        memcpy(in->levels + i * (size_t)nc, msg + 28, (size_t)nc);
    }
    free(rbuf);
}

static ddw_status write_edges(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                              const layout *L, ddw_edges *e, ddw_write_stats *st)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources, nc = e->ncompare;
    ddw_edges in;
    route_edges(comm, L, e, &in);
    size_t n = in.n;
    uint64_t *a = ddw_xmalloc((n ? n : 1) * 8);
    uint32_t *perm = edge_order(in.a, in.b, n, a);
    free(in.a);
    in.a = NULL;
    uint64_t *segn = ddw_xcalloc((size_t)S, 8);
    for (size_t i = 0; i < n; i++)
        segn[DDW_KEY_SOURCE(a[i])]++;
    slab g;
    slab_init(&g, comm, S, segn, (uint64_t)cfg->chunk);
    st->edges = g.total;
    /* one sorted column at a time */
    void *col = NULL;
    CHECK(ddw_h5_group(h, "/edges"));
    CHECK(slab_write(h, comm, &g, "/edges/a", DDW_H5_U64, 1, 0, 0, a));
    col = gather_rows(in.b, perm, n, 8);
    CHECK(slab_write(h, comm, &g, "/edges/b", DDW_H5_U64, 1, 0, 0, col));
    free(col);
    col = gather_rows(in.weight, perm, n, 8);
    CHECK(slab_write(h, comm, &g, "/edges/weight", DDW_H5_F64, 1, 0, DDW_H5_NOSHUFFLE, col));
    free(col);
    col = gather_rows(in.pass, perm, n, 4); /* the uint32 pass stored as int32 */
    CHECK(slab_write(h, comm, &g, "/edges/pass", DDW_H5_I32, 1, 0, 0, col));
    free(col);
    col = gather_rows(in.levels, perm, n, (size_t)nc);
    CHECK(slab_write(h, comm, &g, "/edges/levels", DDW_H5_U8, (uint64_t)nc, 1, 0, col));
fail:
    free(col);
    free(a);
    free(perm);
    free(segn);
    slab_free(&g);
    ddw_edges_free(&in);
    return rc;
}

static ddw_status write_rejects(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const ddw_ingest_out *home, ddw_write_stats *st)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    size_t n = home->nrejects;
    uint64_t *segn = ddw_xcalloc((size_t)S, 8);
    int32_t *src = ddw_xmalloc((n ? n : 1) * 4);
    int64_t *line = ddw_xmalloc((n ? n : 1) * 8);
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        src[i] = home->rejects[i].source;
        line[i] = home->rejects[i].line;
        segn[src[i]]++;
        if (strlen(home->rejects[i].reason) > w)
            w = strlen(home->rejects[i].reason);
    }
    w = global_max(comm, w) + 1;
    char *reason = ddw_xcalloc(n ? n : 1, (size_t)w);
    for (size_t i = 0; i < n; i++)
        memcpy(reason + i * w, home->rejects[i].reason, strlen(home->rejects[i].reason));
    slab g;
    slab_init(&g, comm, S, segn, (uint64_t)cfg->chunk);
    st->rejects = g.total;
    CHECK(ddw_h5_group(h, "/rejects"));
    CHECK(slab_write(h, comm, &g, "/rejects/source", DDW_H5_I32, 1, 0, 0, src));
    CHECK(slab_write(h, comm, &g, "/rejects/line", DDW_H5_I64, 1, 0, 0, line));
    CHECK(slab_write(h, comm, &g, "/rejects/reason", DDW_H5_STR, w, 0, DDW_H5_NOSHUFFLE,
                     reason));
fail:
    slab_free(&g);
    free(reason);
    free(src);
    free(line);
    free(segn);
    return rc;
}

/* Writes a small string table that rank 0 holds in full (fixed width = longest + 1). */
static ddw_status write_strings(ddw_h5 *h, const ddw_comm *comm, const char *path,
                                const char *const *v, size_t n)
{
    size_t w = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]) + 1 > w)
            w = strlen(v[i]) + 1;
    char *buf = ddw_xcalloc(n ? n : 1, w);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * w, v[i], strlen(v[i]));
    ddw_status rc = ddw_h5_write_rank0(h, comm, path, DDW_H5_STR, w, n, buf);
    free(buf);
    return rc;
}

static ddw_status write_sources(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const ddw_ingest_plan *plan, const ddw_ingest_out *home)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    const char **name = ddw_xmalloc((size_t)S * sizeof *name);
    const char **path = ddw_xmalloc((size_t)S * sizeof *path);
    const char **sha = ddw_xmalloc((size_t)S * sizeof *sha);
    int64_t *counts = ddw_xmalloc((size_t)S * 3 * sizeof *counts);
    for (int s = 0; s < S; s++) {
        name[s] = cfg->sources[s].name;
        path[s] = cfg->sources[s].path;
        sha[s] = plan->src[s].sha256;
        counts[s] = (int64_t)home->rows_read[s];
        counts[S + s] = (int64_t)home->seg_count[s];
        counts[2 * S + s] = (int64_t)home->rows_rejected[s];
    }
    ddw_comm_allreduce_i64(comm, counts, 3 * S, DDW_COMM_SUM);
    CHECK(ddw_h5_group(h, "/sources"));
    CHECK(write_strings(h, comm, "/sources/name", name, (size_t)S));
    CHECK(write_strings(h, comm, "/sources/path", path, (size_t)S));
    CHECK(write_strings(h, comm, "/sources/sha256", sha, (size_t)S));
    CHECK(ddw_h5_write_rank0(h, comm, "/sources/rows_read", DDW_H5_I64, 1, (uint64_t)S, counts));
    CHECK(ddw_h5_write_rank0(h, comm, "/sources/rows_accepted", DDW_H5_I64, 1, (uint64_t)S,
                      counts + S));
    CHECK(ddw_h5_write_rank0(h, comm, "/sources/rows_rejected", DDW_H5_I64, 1, (uint64_t)S,
                      counts + 2 * S));
    int32_t *attach = ddw_xmalloc((size_t)S * sizeof *attach);
    for (int s = 0; s < S; s++)
        attach[s] = cfg->sources[s].attach_once;
    rc = ddw_h5_write_rank0(h, comm, "/sources/attach_once", DDW_H5_I32, 1, (uint64_t)S, attach);
    free(attach);
fail:
    free(name);
    free(path);
    free(sha);
    free(counts);
    return rc;
}

static ddw_status write_model(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                               const ddw_write_meta *meta)
{
    ddw_status rc = DDW_OK;
    int C = cfg->ncompare, NL = 0;
    for (int c = 0; c < C; c++)
        NL += cfg->compare[c].nlevels;
    const char **cname = ddw_xmalloc((size_t)C * sizeof *cname);
    const char **field = ddw_xmalloc((size_t)C * sizeof *field);
    const char **method = ddw_xmalloc((size_t)C * sizeof *method);
    int32_t *nlev = ddw_xmalloc((size_t)C * sizeof *nlev);
    const char **label = ddw_xmalloc((size_t)NL * sizeof *label);
    int32_t *lcomp = ddw_xmalloc((size_t)NL * 4), *lidx = ddw_xmalloc((size_t)NL * 4);
    double *m = ddw_xmalloc((size_t)NL * 8), *u = ddw_xmalloc((size_t)NL * 8);
    double *wt = ddw_xmalloc((size_t)NL * 8);
    int k = 0;
    for (int c = 0; c < C; c++) {
        const ddw_compare_cfg *cc = &cfg->compare[c];
        cname[c] = cc->name;
        field[c] = ddw_field_name(cc->field);
        method[c] = ddw_compare_method_at(cc->method)->name;
        nlev[c] = cc->nlevels;
        for (int l = 0; l < cc->nlevels; l++, k++) {
            label[k] = cc->levels[l].label;
            lcomp[k] = c;
            lidx[k] = l + 1;
            m[k] = cc->m[l];
            u[k] = cc->u[l];
            wt[k] = log2(cc->m[l] / cc->u[l]);
        }
    }
    CHECK(ddw_h5_group(h, "/model"));
    CHECK(write_strings(h, comm, "/model/comparison", cname, (size_t)C));
    CHECK(write_strings(h, comm, "/model/field", field, (size_t)C));
    CHECK(write_strings(h, comm, "/model/method", method, (size_t)C));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/nlevels", DDW_H5_I32, 1, (uint64_t)C, nlev));
    CHECK(write_strings(h, comm, "/model/level_label", label, (size_t)NL));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/level_comparison", DDW_H5_I32, 1, (uint64_t)NL,
                             lcomp));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/level", DDW_H5_I32, 1, (uint64_t)NL, lidx));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/m", DDW_H5_F64, 1, (uint64_t)NL, m));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/u", DDW_H5_F64, 1, (uint64_t)NL, u));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/weight", DDW_H5_F64, 1, (uint64_t)NL, wt));
    CHECK(ddw_h5_attr_str(h, "/model", "source",
                          meta->model_source ? meta->model_source : "config"));
    CHECK(ddw_h5_attr_str(h, "/model", "training_log", meta->model_log ? meta->model_log : ""));
    CHECK(ddw_h5_attr_str(h, "/model", "model_file", meta->model_ini ? meta->model_ini : ""));
    double v = cfg->prior;
    CHECK(ddw_h5_attr_f64(h, "/model", "prior", &v, 1));
    v = ddw_config_prior_weight(cfg);
    CHECK(ddw_h5_attr_f64(h, "/model", "prior_weight", &v, 1));
    v = cfg->threshold;
    CHECK(ddw_h5_attr_f64(h, "/model", "threshold", &v, 1));
    v = ddw_score_probability(cfg->threshold);
    CHECK(ddw_h5_attr_f64(h, "/model", "threshold_probability", &v, 1));
fail:
    free(cname);
    free(field);
    free(method);
    free(nlev);
    free(label);
    free(lcomp);
    free(lidx);
    free(m);
    free(u);
    free(wt);
    return rc;
}


static ddw_status write_provenance(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                   const ddw_write_meta *meta)
{
    ddw_status rc = DDW_OK;
    char end[32];
    ddw_utc_now(end);
    size_t cap = 64;
    for (int i = 0; i < meta->nstages; i++)
        cap += strlen(meta->stage_names[i]) + 2;
    char *names = ddw_xmalloc(cap);
    names[0] = '\0';
    for (int i = 0; i < meta->nstages; i++) {
        if (i)
            strcat(names, ",");
        strcat(names, meta->stage_names[i]);
    }
    int64_t ranks = meta->ranks, threads = meta->threads;
    CHECK(ddw_h5_attr_str(h, "/", "config", cfg->text));
    CHECK(ddw_h5_attr_str(h, "/", "config_path", cfg->path));
    CHECK(ddw_h5_attr_str(h, "/", "effective_config", cfg->effective));
    CHECK(ddw_h5_attr_str(h, "/", "command_line", meta->command_line));
    CHECK(ddw_h5_attr_str(h, "/", "version", meta->version));
    CHECK(ddw_h5_attr_i64(h, "/", "ranks", &ranks, 1));
    CHECK(ddw_h5_attr_i64(h, "/", "threads", &threads, 1));
    CHECK(ddw_h5_attr_str(h, "/", "start_time", meta->start_time));
    CHECK(ddw_h5_attr_str(h, "/", "end_time", end));
    CHECK(ddw_h5_attr_str(h, "/", "stage_names", names));
    CHECK(ddw_h5_attr_f64(h, "/", "stage_seconds", meta->stage_seconds, meta->nstages));
    CHECK(ddw_h5_attr_str(h, "/", "slurm", meta->slurm ? meta->slurm : ""));
    CHECK(ddw_h5_attr_str(h, "/", "layout_version", "1"));
    static const char *const refine_names[] = {"none", "pnc", "pnc_dob"};
    CHECK(ddw_h5_attr_str(h, "/", "refine", refine_names[cfg->refine]));
    double kept = meta->edges_kept_above;
    CHECK(ddw_h5_attr_f64(h, "/", "edges_kept_above", &kept, 1));
fail:
    free(names);
    return rc;
}

ddw_status ddw_write_run(const ddw_config *cfg, const ddw_comm *comm, const ddw_ingest_plan *plan,
                         const ddw_ingest_out *home, const uint64_t *person,
                         const uint64_t *pnc_key, ddw_edges *edges,
                         ddw_write_meta *meta, const char *dir, ddw_write_stats *stats)
{
    double t0 = ddw_comm_wtime();
    memset(stats, 0, sizeof *stats);
    int me = ddw_comm_rank(comm);
    /* temporary name chosen by rank 0 */
    char *tmp = ddw_xmalloc(strlen(dir) + 64);
    char *final = ddw_xmalloc(strlen(dir) + 16);
    uint64_t pid = (uint64_t)getpid();
    ddw_comm_bcast(comm, &pid, sizeof pid, 0);
    sprintf(tmp, "%s/.link.h5.tmp.%llu", dir, (unsigned long long)pid);
    sprintf(final, "%s/link.h5", dir);
    layout L;
    layout_init(&L, comm, cfg->nsources, home);
    ddw_h5 *h = NULL;
    uint64_t chunks[2] = {ddw_deflate_calls(), ddw_deflate_hits()};
    ddw_status rc = ddw_h5_create(comm, tmp, cfg->deflate, (uint64_t)cfg->chunk, &h);
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    if (rc != DDW_OK) {
        ddw_h5_close(&h); /* ranks whose create succeeded */
        goto fail_create;
    }
    uint64_t nrec = home->recs.n;
    ddw_comm_allreduce_u64(comm, &nrec, 1, DDW_COMM_SUM);
    stats->records = nrec;
    CHECK(write_records(h, cfg, comm, plan, home, person, pnc_key));
    CHECK(write_persons(h, cfg, comm, &L, home, person, stats));
    CHECK(write_edges(h, cfg, comm, &L, edges, stats));
    CHECK(write_rejects(h, cfg, comm, home, stats));
    CHECK(write_sources(h, cfg, comm, plan, home));
    CHECK(write_model(h, cfg, comm, meta));
    double dt = ddw_comm_wtime() - t0;
    ddw_comm_allreduce_f64(comm, &dt, 1, DDW_COMM_MAX);
    meta->stage_seconds[meta->write_stage] = dt;
    CHECK(write_provenance(h, cfg, comm, meta));
fail:
    if (ddw_h5_close(&h) != DDW_OK && rc == DDW_OK)
        rc = DDW_EHDF5;
    chunks[0] = ddw_deflate_calls() - chunks[0];
    chunks[1] = ddw_deflate_hits() - chunks[1];
    ddw_comm_allreduce_u64(comm, chunks, 2, DDW_COMM_SUM);
    stats->chunks_deflated = chunks[0];
    stats->chunks_ahead = chunks[1];
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    if (me == 0) {
        if (rc == DDW_OK && rename(tmp, final) != 0)
            rc = DDW_EIO;
        if (rc != DDW_OK)
            unlink(tmp);
    }
    rc = (ddw_status)ddw_comm_agree(comm, rc);
fail_create:
    layout_free(&L);
    free(tmp);
    free(final);
    return rc;
}
