/*
 * test_write.c - the writer's layout: slab plans and the run-to-slab
 * exchange (simulated over several ranks), the (a, b) edge order, home
 * ranks and local record lookup, and the /edges and /persons tables as
 * written on one rank.
 *
 * write.c is included here because its helpers are static; the HDF5 layer
 * (h5io.c) is replaced by an in-memory fake that assembles every dataset
 * from the segments it is given, so the tests see exactly the rows and
 * storage flags the writer hands to HDF5.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../src/write.c"

/* ---- the fake HDF5 layer -------------------------------------------------- */

#define FAKE_MAX 64
typedef struct {
    char path[128];
    ddw_h5_type type;
    uint64_t width, nglobal, rb;
    unsigned flags;
    int twod, nseg;
    uint64_t seg_off0;
    char *data; /* nglobal rows of rb bytes */
} fake_dset;

struct ddw_h5 {
    int n;
    fake_dset d[FAKE_MAX];
};

static uint64_t fake_esize(ddw_h5_type t)
{
    return t == DDW_H5_STR || t == DDW_H5_U8 ? 1 : t == DDW_H5_I32 ? 4 : 8;
}

static ddw_status fake_write(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t width,
                             int twod, unsigned flags, uint64_t nglobal, int nseg,
                             const uint64_t *seg_off, const uint64_t *seg_n, const void *data)
{
    assert_true(f->n < FAKE_MAX);
    fake_dset *d = &f->d[f->n++];
    snprintf(d->path, sizeof d->path, "%s", path);
    d->type = type;
    d->width = width;
    d->twod = twod;
    d->flags = flags;
    d->nglobal = nglobal;
    d->nseg = nseg;
    d->seg_off0 = nseg > 0 ? seg_off[0] : 0;
    d->rb = width * fake_esize(type);
    d->data = calloc(nglobal ? nglobal : 1, d->rb);
    const char *p = data;
    for (int k = 0; k < nseg; k++) {
        assert_true(seg_off[k] + seg_n[k] <= nglobal);
        memcpy(d->data + seg_off[k] * d->rb, p, seg_n[k] * d->rb);
        p += seg_n[k] * d->rb;
    }
    return DDW_OK;
}

ddw_status ddw_h5_write(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t width,
                        unsigned flags, uint64_t nglobal, int nseg, const uint64_t *seg_off,
                        const uint64_t *seg_n, const void *data)
{
    return fake_write(f, path, type, width, 0, flags, nglobal, nseg, seg_off, seg_n, data);
}

ddw_status ddw_h5_write_matrix(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t ncols,
                               unsigned flags, uint64_t nglobal, int nseg,
                               const uint64_t *seg_off, const uint64_t *seg_n, const void *data)
{
    return fake_write(f, path, type, ncols, 1, flags, nglobal, nseg, seg_off, seg_n, data);
}

ddw_status ddw_h5_write_rank0(ddw_h5 *f, const ddw_comm *comm, const char *path,
                              ddw_h5_type type, uint64_t width, uint64_t n, const void *data)
{
    (void)comm;
    uint64_t zero = 0;
    return fake_write(f, path, type, width, 0, 0, n, 1, &zero, &n, data);
}

ddw_status ddw_h5_create(const ddw_comm *comm, const char *path, int deflate, uint64_t chunk,
                         ddw_h5 **out)
{
    (void)comm, (void)path, (void)deflate, (void)chunk;
    *out = calloc(1, sizeof **out);
    return DDW_OK;
}

ddw_status ddw_h5_close(ddw_h5 **f)
{
    if (f && *f) {
        for (int i = 0; i < (*f)->n; i++)
            free((*f)->d[i].data);
        free(*f);
        *f = NULL;
    }
    return DDW_OK;
}

ddw_status ddw_h5_group(ddw_h5 *f, const char *path)
{
    (void)f, (void)path;
    return DDW_OK;
}

ddw_status ddw_h5_attr_str(ddw_h5 *f, const char *obj, const char *name, const char *value)
{
    (void)f, (void)obj, (void)name, (void)value;
    return DDW_OK;
}

ddw_status ddw_h5_attr_f64(ddw_h5 *f, const char *obj, const char *name, const double *v, int n)
{
    (void)f, (void)obj, (void)name, (void)v, (void)n;
    return DDW_OK;
}

ddw_status ddw_h5_attr_i64(ddw_h5 *f, const char *obj, const char *name, const int64_t *v,
                           int n)
{
    (void)f, (void)obj, (void)name, (void)v, (void)n;
    return DDW_OK;
}

static const fake_dset *fake_find(const ddw_h5 *f, const char *path)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->d[i].path, path) == 0)
            return &f->d[i];
    fail_msg("dataset %s not written", path);
    return NULL;
}

/* deterministic pseudo-random numbers for the tests */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* ---- slab plans ------------------------------------------------------------ */

static void test_slab_plan_offsets_and_bounds(void **state)
{
    (void)state;
    /* 3 ranks x 2 sources: all[r*S+s] */
    const uint64_t all[] = {5, 0, 7, 3, 0, 10};
    slab g;
    slab_plan(&g, 3, 1, 2, all, 4);
    assert_int_equal(g.total, 25);
    /* runs in (source, rank) order */
    const uint64_t off[] = {0, 5, 12, 12, 12, 15};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(g.off[i], off[i]);
    }
    assert_int_equal(g.cnt[1], 7);  /* (source 0, rank 1) */
    assert_int_equal(g.cnt[5], 10); /* (source 1, rank 2) */
    /* 7 chunks of 4 rows over 3 ranks: 2, 2, 3 chunks; the last one short */
    const uint64_t lo[] = {0, 8, 16, 25};
    for (int t = 0; t <= 3; t++)
        assert_int_equal(g.lo[t], lo[t]);
    slab_free(&g);
}

static void test_slab_plan_small_table(void **state)
{
    (void)state;
    /* fewer rows than one chunk: the whole table is the last rank's slab */
    const uint64_t all[] = {2, 1, 0, 3};
    slab g;
    slab_plan(&g, 2, 0, 2, all, 65536);
    assert_int_equal(g.total, 6);
    assert_int_equal(g.lo[0], 0);
    assert_int_equal(g.lo[1], 0);
    assert_int_equal(g.lo[2], 6);
    slab_free(&g);
    /* and an empty table */
    const uint64_t none[] = {0, 0, 0, 0};
    slab_plan(&g, 2, 1, 2, none, 4);
    assert_int_equal(g.total, 0);
    assert_int_equal(g.lo[2], 0);
    slab_free(&g);
}

/* The global row g's bytes, so that any misplaced row shows. */
static void row_bytes(uint64_t g, uint64_t rb, char *out)
{
    for (uint64_t k = 0; k < rb; k++)
        out[k] = (char)((g * 131 + k * 7 + 1) & 0xff);
}

/* Every rank's runs go through slab_send_counts, are delivered as an
 * all-to-all would, and slab_place must rebuild each slab exactly. */
static void test_slab_exchange_simulated(void **state)
{
    (void)state;
    for (int trial = 0; trial < 300; trial++) {
        int P = 1 + (int)(rnd() % 5), S = 1 + (int)(rnd() % 4);
        uint64_t chunk = 1 + rnd() % 7, rb = 1 + rnd() % 5;
        uint64_t *all = calloc((size_t)P * S, sizeof *all);
        for (int i = 0; i < P * S; i++)
            all[i] = rnd() % 3 == 0 ? 0 : rnd() % 12;
        slab *g = calloc((size_t)P, sizeof *g);
        for (int r = 0; r < P; r++)
            slab_plan(&g[r], P, r, S, all, chunk);
        uint64_t N = g[0].total;
        /* each rank's data: its runs in source order */
        char **data = calloc((size_t)P, sizeof *data);
        uint64_t **scnt = calloc((size_t)P, sizeof *scnt);
        for (int r = 0; r < P; r++) {
            uint64_t n = 0;
            for (int s = 0; s < S; s++)
                n += all[(size_t)r * S + s];
            data[r] = malloc(n * rb + 1);
            char *p = data[r];
            for (int s = 0; s < S; s++)
                for (uint64_t i = 0; i < g[r].cnt[(size_t)s * P + r]; i++, p += rb)
                    row_bytes(g[r].off[(size_t)s * P + r] + i, rb, p);
            scnt[r] = malloc((size_t)P * sizeof **scnt);
            slab_send_counts(&g[r], rb, scnt[r]);
            uint64_t sum = 0;
            for (int t = 0; t < P; t++)
                sum += scnt[r][t];
            assert_int_equal(sum, n * rb);
        }
        /* slab bounds: chunk multiples, covering [0, N) */
        assert_int_equal(g[0].lo[0], 0);
        assert_int_equal(g[0].lo[P], N);
        for (int t = 0; t < P; t++) {
            assert_true(g[0].lo[t] <= g[0].lo[t + 1]);
            assert_true(g[0].lo[t] % chunk == 0);
        }
        char *want = malloc(rb + 1);
        for (int t = 0; t < P; t++) {
            /* what rank t receives: rank r's piece for t follows its pieces for 0..t-1 */
            uint64_t *rcnt = calloc((size_t)P, sizeof *rcnt), total = 0;
            for (int r = 0; r < P; r++) {
                rcnt[r] = scnt[r][t];
                total += rcnt[r];
            }
            char *rbuf = malloc(total + 1), *q = rbuf;
            for (int r = 0; r < P; r++) {
                uint64_t before = 0;
                for (int u = 0; u < t; u++)
                    before += scnt[r][u];
                memcpy(q, data[r] + before, rcnt[r]);
                q += rcnt[r];
            }
            uint64_t lo = g[t].lo[t], hi = g[t].lo[t + 1];
            assert_int_equal(total, (hi - lo) * rb);
            char *slabbuf = slab_place(&g[t], rb, rbuf, rcnt);
            for (uint64_t i = lo; i < hi; i++) {
                row_bytes(i, rb, want);
                assert_memory_equal(slabbuf + (i - lo) * rb, want, rb);
            }
            free(slabbuf);
            free(rcnt);
        }
        free(want);
        for (int r = 0; r < P; r++) {
            free(data[r]);
            free(scnt[r]);
            slab_free(&g[r]);
        }
        free(data);
        free(scnt);
        free(g);
        free(all);
    }
}

/* ---- edges ------------------------------------------------------------------- */

typedef struct {
    uint64_t a, b;
} ab_pair;

static int cmp_ab(const void *x, const void *y)
{
    const ab_pair *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static void test_edge_order_matches_sort(void **state)
{
    (void)state;
    size_t n = 5000;
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *sa = malloc(n * 8);
    ab_pair *ref = malloc(n * sizeof *ref);
    for (size_t i = 0; i < n; i++) {
        /* few distinct a (many ties), keys from several sources */
        a[i] = DDW_KEY(rnd() % 3, 2 + rnd() % 200);
        b[i] = DDW_KEY(rnd() % 6, 2 + rnd() % 100000);
        ref[i].a = a[i];
        ref[i].b = b[i];
    }
    qsort(ref, n, sizeof *ref, cmp_ab);
    uint32_t *perm = edge_order(a, b, n, sa);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a[perm[i]], ref[i].a);
        assert_int_equal(b[perm[i]], ref[i].b);
        assert_int_equal(sa[i], ref[i].a);
    }
    /* perm is a permutation */
    char *seen = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        assert_false(seen[perm[i]]);
        seen[perm[i]] = 1;
    }
    free(seen);
    free(perm);
    free(a);
    free(b);
    free(sa);
    free(ref);
}

static void test_gather_rows(void **state)
{
    (void)state;
    const uint32_t perm[] = {2, 0, 1};
    const uint8_t lv[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* 3 rows of 3 */
    uint8_t *g = gather_rows(lv, perm, 3, 3);
    const uint8_t want[] = {7, 8, 9, 1, 2, 3, 4, 5, 6};
    assert_memory_equal(g, want, 9);
    free(g);
    const uint64_t v[] = {10, 20, 30};
    uint64_t *g8 = gather_rows(v, perm, 3, 8);
    assert_int_equal(g8[0], 30);
    assert_int_equal(g8[1], 10);
    assert_int_equal(g8[2], 20);
    free(g8);
}

static ddw_config *tiny_config(int nsources, long long chunk)
{
    ddw_config *cfg = calloc(1, sizeof *cfg);
    cfg->nsources = nsources;
    cfg->chunk = chunk;
    cfg->deflate = 1;
    return cfg;
}

/* The home ranks of keys in a hand-made layout, without communication. */
static void test_home_rank(void **state)
{
    (void)state;
    /* 3 ranks, 2 sources: source 0 lines 2-9 on rank 0, 10-30 on rank 2;
     * source 1 lines 2-5 on rank 1 only */
    layout L = {0};
    L.S = 2;
    L.P = 3;
    L.cnt = calloc(6, 8);
    L.first = calloc(6, 8);
    L.last = calloc(6, 8);
    L.rk = calloc(6, sizeof(int));
    L.nrk = calloc(2, sizeof(int));
    L.cnt[0 * 2 + 0] = 8, L.first[0] = 2, L.last[0] = 9;
    L.cnt[2 * 2 + 0] = 21, L.first[4] = 10, L.last[4] = 30;
    L.cnt[1 * 2 + 1] = 4, L.first[3] = 2, L.last[3] = 5;
    L.rk[0 * 3 + 0] = 0, L.rk[0 * 3 + 1] = 2, L.nrk[0] = 2;
    L.rk[1 * 3 + 0] = 1, L.nrk[1] = 1;
    assert_int_equal(home_rank(&L, DDW_KEY(0, 2)), 0);
    assert_int_equal(home_rank(&L, DDW_KEY(0, 9)), 0);
    assert_int_equal(home_rank(&L, DDW_KEY(0, 10)), 2);
    assert_int_equal(home_rank(&L, DDW_KEY(0, 30)), 2);
    assert_int_equal(home_rank(&L, DDW_KEY(1, 4)), 1);
    layout_free(&L);
}

/* Records of two sources with rejected lines in between: 'keys' sorted. */
static void make_home(ddw_ingest_out *home, const uint64_t *keys, size_t n, int S)
{
    memset(home, 0, sizeof *home);
    home->recs.n = n;
    home->recs.key = malloc(n * 8);
    memcpy(home->recs.key, keys, n * 8);
    home->seg_first = calloc((size_t)S, 8);
    home->seg_count = calloc((size_t)S, 8);
    for (size_t i = n; i-- > 0;) {
        int s = DDW_KEY_SOURCE(keys[i]);
        home->seg_first[s] = i;
        home->seg_count[s]++;
    }
}

static void free_home(ddw_ingest_out *home)
{
    free(home->recs.key);
    free(home->seg_first);
    free(home->seg_count);
}

static const uint64_t home_keys[] = {
    DDW_KEY(0, 2), DDW_KEY(0, 3), DDW_KEY(0, 5), DDW_KEY(0, 6), /* line 4 rejected */
    DDW_KEY(1, 2), DDW_KEY(1, 3), DDW_KEY(1, 4), DDW_KEY(1, 9), /* 5-8 rejected */
};

static void test_local_index(void **state)
{
    (void)state;
    ddw_ingest_out home;
    make_home(&home, home_keys, 8, 2);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(local_index(&home, home_keys[i]), i);
    free_home(&home);
}

static void test_write_edges_sorted_columns(void **state)
{
    (void)state;
    ddw_comm *comm;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_config *cfg = tiny_config(2, 4);
    size_t n = 37;
    int nc = 3;
    ddw_edges e = {0};
    e.n = e.cap = n;
    e.ncompare = nc;
    e.a = malloc(n * 8);
    e.b = malloc(n * 8);
    e.weight = malloc(n * 8);
    e.pass = malloc(n * 4);
    e.levels = malloc(n * (size_t)nc);
    for (size_t i = 0; i < n; i++) {
        /* distinct (a, b), in scrambled order; the other columns tag the edge */
        size_t j = (i * 17) % n;
        e.a[i] = DDW_KEY(j % 2, 2 + j / 6);
        e.b[i] = DDW_KEY(1, 100 + j);
        e.weight[i] = (double)j + 0.5;
        e.pass[i] = (uint32_t)(j % 4);
        for (int c = 0; c < nc; c++)
            e.levels[i * (size_t)nc + (size_t)c] = (uint8_t)(j + (size_t)c);
    }
    ab_pair *ref = malloc(n * sizeof *ref);
    for (size_t i = 0; i < n; i++) {
        ref[i].a = e.a[i];
        ref[i].b = e.b[i];
    }
    qsort(ref, n, sizeof *ref, cmp_ab);
    ddw_h5 *h;
    ddw_h5_create(comm, "x", 1, 4, &h);
    layout L = {0};
    ddw_write_stats st = {0};
    assert_int_equal(write_edges(h, cfg, comm, &L, &e, &st), DDW_OK);
    assert_int_equal(e.n, 0); /* consumed */
    assert_null(e.a);
    assert_int_equal(st.edges, n);
    const fake_dset *a = fake_find(h, "/edges/a"), *b = fake_find(h, "/edges/b");
    const fake_dset *w = fake_find(h, "/edges/weight"), *p = fake_find(h, "/edges/pass");
    const fake_dset *lv = fake_find(h, "/edges/levels");
    assert_int_equal(a->nglobal, n);
    assert_int_equal(lv->width, nc);
    assert_true(lv->twod);
    assert_int_equal(p->type, DDW_H5_I32);
    /* one slab, and weights deflated without the byte shuffle */
    assert_int_equal(a->nseg, 1);
    assert_int_equal(w->flags, DDW_H5_NOSHUFFLE);
    assert_int_equal(a->flags, 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t av, bv;
        double wv;
        int32_t pv;
        memcpy(&av, a->data + i * 8, 8);
        memcpy(&bv, b->data + i * 8, 8);
        memcpy(&wv, w->data + i * 8, 8);
        memcpy(&pv, p->data + i * 4, 4);
        assert_int_equal(av, ref[i].a);
        assert_int_equal(bv, ref[i].b);
        size_t j = (size_t)(bv - DDW_KEY(1, 100)); /* the tag of this edge */
        assert_true(wv == (double)j + 0.5);
        assert_int_equal(pv, (int32_t)(j % 4));
        for (int c = 0; c < nc; c++)
            assert_int_equal((uint8_t)lv->data[i * (size_t)nc + (size_t)c], (uint8_t)(j + (size_t)c));
    }
    ddw_h5_close(&h);
    free(ref);
    free(cfg);
    ddw_comm_finalize(&comm);
}

static void test_write_persons_counts(void **state)
{
    (void)state;
    ddw_comm *comm;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_config *cfg = tiny_config(2, 4);
    ddw_ingest_out home;
    make_home(&home, home_keys, 8, 2);
    /* persons: {0:2, 0:5, 1:9}, {0:3, 1:2}, {0:6}; {1:3, 1:4} led by 1:3 */
    const uint64_t person[] = {
        DDW_KEY(0, 2), DDW_KEY(0, 3), DDW_KEY(0, 2), DDW_KEY(0, 6),
        DDW_KEY(0, 3), DDW_KEY(1, 3), DDW_KEY(1, 3), DDW_KEY(0, 2),
    };
    ddw_h5 *h;
    ddw_h5_create(comm, "x", 1, 4, &h);
    layout L = {0};
    ddw_write_stats st = {0};
    assert_int_equal(write_persons(h, cfg, comm, &L, &home, person, &st), DDW_OK);
    assert_int_equal(st.persons, 4);
    assert_int_equal(st.largest_person, 3);
    const fake_dset *id = fake_find(h, "/persons/person_id");
    const fake_dset *nr = fake_find(h, "/persons/n_records");
    const fake_dset *src = fake_find(h, "/persons/sources");
    const uint64_t want_id[] = {DDW_KEY(0, 2), DDW_KEY(0, 3), DDW_KEY(0, 6), DDW_KEY(1, 3)};
    const int64_t want_n[] = {3, 2, 1, 2};
    const uint64_t want_src[] = {3, 3, 1, 2};
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        int64_t k;
        memcpy(&v, id->data + i * 8, 8);
        assert_int_equal(v, want_id[i]);
        memcpy(&k, nr->data + i * 8, 8);
        assert_int_equal(k, want_n[i]);
        memcpy(&v, src->data + i * 8, 8);
        assert_int_equal(v, want_src[i]);
    }
    ddw_h5_close(&h);
    free_home(&home);
    free(cfg);
    ddw_comm_finalize(&comm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slab_plan_offsets_and_bounds),
        cmocka_unit_test(test_slab_plan_small_table),
        cmocka_unit_test(test_slab_exchange_simulated),
        cmocka_unit_test(test_edge_order_matches_sort),
        cmocka_unit_test(test_gather_rows),
        cmocka_unit_test(test_home_rank),
        cmocka_unit_test(test_local_index),
        cmocka_unit_test(test_write_edges_sorted_columns),
        cmocka_unit_test(test_write_persons_counts),
    };
    return cmocka_run_group_tests_name("write", tests, NULL, NULL);
}
