/*
 * test_score.c - unit tests for Fellegi-Sunter scoring (src/score.c):
 * level weights, weight-to-probability, and ddw_score_run on blocks made by
 * ddw_block_run (serial, one-rank build) for a hand-made record set with
 * two overlapping blocking passes, plus a larger pseudo-random set checked
 * against a brute-force pair loop at several OpenMP thread counts.
 *
 * Trade-off: for the hand-made set every pair's levels and weight are
 * worked out in this file from the m/u probabilities and prior written in
 * the config text (weight = log2(prior/(1-prior)) + sum of log2(m/u), the
 * missing level adding 0), summed in comparison order as score.h promises,
 * so weights are compared bit for bit and the threshold can be set exactly
 * on a pair's weight to test ">=".  The random set relies on
 * ddw_block_key and ddw_compare_level (tested elsewhere) for its reference
 * and checks instead that tiling, de-duplication and threads neither lose,
 * repeat nor change any edge; a second random set does the same with the
 * eight comparisons of the generated model, and checks training's pattern
 * counts (ddw_score_patterns) against a brute-force count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>
#include <omp.h>

#include "ddw_block.h"
#include "ddw_comm.h"
#include "ddw_compare.h"
#include "ddw_config.h"
#include "ddw_estimate.h"
#include "ddw_norm.h"
#include "ddw_records.h"
#include "ddw_score.h"

#define ALL_FIELDS ((1u << DDW_NFIELDS) - 1)

/* |a - b| <= eps, printing both values on failure (this cmocka has no
 * assert_double_equal). */
#define assert_near(a, b, eps)                                                       \
    do {                                                                             \
        double a_ = (a), b_ = (b);                                                   \
        if (!(fabs(a_ - b_) <= (eps))) {                                             \
            print_error("%.17g != %.17g (eps %g)\n", a_, b_, (double)(eps));          \
            fail();                                                                  \
        }                                                                            \
    } while (0)

/* Comparisons in order: forename (string), surname (exact), dob (date). */
static const char *const cfg_text =
    "[run]\nname = t\nseed = 1\n"
    "[match]\nthreshold = 6\nprior = 0.01\n"
    "[block]\nmax_block_size = 1000\n[train]\nenabled = no\n"
    "[source.a]\npath = a.csv\nid_column = id\nforename = fn\nsurname = sn\ndob = dob\n"
    "[blocking.dob]\nkey = exact(dob)\n"
    "[blocking.sx]\nkey = soundex(surname)\n"
    "[compare.forename]\nfield = forename\nmethod = string\nlevels = exact, jw>=0.9, else\n"
    "m = 0.9, 0.05, 0.05\nu = 0.01, 0.04, 0.95\n"
    "[compare.surname]\nfield = surname\nmethod = exact\nlevels = exact, else\n"
    "m = 0.9, 0.1\nu = 0.05, 0.95\n"
    "[compare.dob]\nfield = dob\nmethod = date\nlevels = exact, year, else\n"
    "m = 0.9, 0.05, 0.05\nu = 0.001, 0.049, 0.95\n";

/* The same numbers, by hand: W_x[level], level 0 = missing. */
#define PRIOR 0.01
static double wf(int l)
{
    const double v[] = {0.0, log2(0.9 / 0.01), log2(0.05 / 0.04), log2(0.05 / 0.95)};
    return v[l];
}
static double ws(int l)
{
    const double v[] = {0.0, log2(0.9 / 0.05), log2(0.1 / 0.95)};
    return v[l];
}
static double wd(int l)
{
    const double v[] = {0.0, log2(0.9 / 0.001), log2(0.05 / 0.049), log2(0.05 / 0.95)};
    return v[l];
}
/* Expected weight of a pair with levels f, s, d: prior first, then in comparison order. */
static double expect_weight(int f, int s, int d)
{
    double w = log2(PRIOR / (1.0 - PRIOR));
    w += wf(f);
    w += ws(s);
    w += wd(d);
    return w;
}

static ddw_config *parse_cfg(void)
{
    ddw_config *cfg = NULL;
    assert_int_equal(ddw_config_parse("test_score.ini", cfg_text, 0, NULL, stderr, &cfg),
                     DDW_OK);
    assert_non_null(cfg);
    assert_int_equal(cfg->npasses, 2);
    assert_int_equal(cfg->ncompare, 3);
    return cfg;
}

/* ---- weights and probability ------------------------------------------------ */

static void test_weights(void **state)
{
    (void)state;
    ddw_config *cfg = parse_cfg();
    double w[DDW_MAX_COMPARE][DDW_MAX_LEVELS + 1];
    memset(w, 0x7f, sizeof w); /* garbage: level 0 must be written */
    ddw_score_weights(cfg, w);
    for (int c = 0; c < cfg->ncompare; c++) {
        assert_true(w[c][0] == 0.0);
        for (int l = 0; l < cfg->compare[c].nlevels; l++)
            assert_near(w[c][l + 1], log2(cfg->compare[c].m[l] / cfg->compare[c].u[l]),
                                1e-15);
    }
    for (int l = 0; l <= 3; l++) {
        assert_near(w[0][l], wf(l), 1e-12);
        assert_near(w[2][l], wd(l), 1e-12);
    }
    for (int l = 0; l <= 2; l++)
        assert_near(w[1][l], ws(l), 1e-12);
    /* hand values */
    assert_near(w[0][1], 6.491853096329675, 1e-12);   /* log2 90 */
    assert_near(w[1][2], -3.247927513443585, 1e-12);  /* log2 (0.1/0.95) */
    assert_near(w[2][1], 9.813781191217037, 1e-12);   /* log2 900 */
    assert_near(ddw_config_prior_weight(cfg), log2(0.01 / 0.99), 1e-15);
    assert_near(ddw_config_prior_weight(cfg), -6.629356620079610, 1e-12);
    ddw_config_destroy(&cfg);
}

static void test_probability(void **state)
{
    (void)state;
    assert_true(ddw_score_probability(0.0) == 0.5);
    assert_near(ddw_score_probability(10.0), 1024.0 / 1025.0, 1e-15);
    assert_near(ddw_score_probability(10.0), 0.99902, 1e-5);
    assert_near(ddw_score_probability(-10.0), 1.0 / 1025.0, 1e-15);
    assert_near(ddw_score_probability(1.0), 2.0 / 3.0, 1e-15);
    assert_true(ddw_score_probability(5000.0) == 1.0);
    assert_true(ddw_score_probability(-5000.0) == 0.0);
    /* monotone over realistic weights (beyond about 53 the quotient
     * o / (1 + o) can round 1 ulp below its neighbour) */
    double prev = 0.0;
    for (double w = -50; w <= 50; w += 0.25) {
        double p = ddw_score_probability(w);
        assert_true(p >= prev);
        assert_true(p >= 0.0 && p <= 1.0);
        prev = p;
    }
}

/* ---- the hand-made record set -------------------------------------------------- */

/* Record keys, deliberately not in input order: R2 < R1 as keys. */
#define K1 DDW_KEY(1, 5)
#define K2 DDW_KEY(0, 9)
#define K3 DDW_KEY(2, 1)
#define K4 DDW_KEY(0, 2)
#define K5 DDW_KEY(1, 7)
#define K6 DDW_KEY(2, 3)

static void add(ddw_recs *r, uint64_t key, const char *fn, const char *sn, int32_t dob)
{
    size_t i = ddw_recs_push(r, key);
    if (fn)
        ddw_recs_set_text(r, i, DDW_F_FORENAME, fn, strlen(fn));
    if (sn)
        ddw_recs_set_text(r, i, DDW_F_SURNAME, sn, strlen(sn));
    ddw_recs_set_date(r, i, DDW_F_DOB, dob);
}

/*
 * pass 0, exact(dob) 1980-01-01: {R1, R2, R4};  pass 1, soundex S530:
 * {R1, R2, R3, R5}.  R1-R2 share both keys: scored once (pass 0), one
 * duplicate.  8 pairs scored.
 */
static void make_small(ddw_recs *home)
{
    int32_t d0 = ddw_norm_days_from_civil(1980, 1, 1);
    ddw_recs_init(home, ALL_FIELDS);
    add(home, K1, "JOHN", "SMITH", d0);
    add(home, K2, "JOHN", "SMITH", d0);
    add(home, K3, "JON", "SMYTHE", ddw_norm_days_from_civil(1980, 6, 1));
    add(home, K4, "MARY", "JONES", d0);
    add(home, K5, NULL, "SMITH", DDW_DATE_MISSING);
    add(home, K6, "ANNA", NULL, ddw_norm_days_from_civil(1990, 5, 5));
}

typedef struct {
    uint64_t a, b;
    uint32_t pass;
    int lv[3];
} pair_want;

/* Every candidate pair of the small set: keys (a < b), first shared pass, levels. */
static const pair_want small_pairs[] = {
    {K2, K1, 0, {1, 1, 1}}, /* identical */
    {K4, K1, 0, {3, 2, 1}}, /* JOHN/MARY, SMITH/JONES, same dob */
    {K4, K2, 0, {3, 2, 1}},
    {K1, K3, 1, {2, 2, 2}}, /* JOHN/JON jw 0.933, SMITH/SMYTHE, same year */
    {K2, K3, 1, {2, 2, 2}},
    {K1, K5, 1, {0, 1, 0}}, /* forename and dob missing */
    {K2, K5, 1, {0, 1, 0}},
    {K5, K3, 1, {0, 2, 0}},
};
#define NSMALL (sizeof small_pairs / sizeof small_pairs[0])

static double small_weight(const pair_want *p) { return expect_weight(p->lv[0], p->lv[1], p->lv[2]); }

/* Index of edge (a, b) in e, or -1. */
static long find_edge(const ddw_edges *e, uint64_t a, uint64_t b)
{
    long hit = -1;
    for (size_t k = 0; k < e->n; k++)
        if (e->a[k] == a && e->b[k] == b) {
            assert_true(hit < 0); /* at most once */
            hit = (long)k;
        }
    return hit;
}

/* Scores the small set at the given threshold and checks edges and stats. */
static void run_small(ddw_config *cfg, double threshold, long long max_block)
{
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_recs home;
    make_small(&home);
    cfg->threshold = threshold;
    cfg->max_block = max_block;
    ddw_blocks blk;
    assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
    assert_int_equal(blk.candidate_pairs, 3 + 6);
    ddw_edges e;
    ddw_score_stats st;
    assert_int_equal(ddw_score_run(cfg, &blk, &e, &st), DDW_OK);
    assert_int_equal(st.pairs_scored, 8);
    assert_int_equal(st.pairs_duplicate, 1);
    assert_int_equal(e.ncompare, 3);
    uint64_t sum = 0;
    for (int t = 0; t < st.nthreads; t++)
        sum += st.per_thread[t];
    assert_int_equal(sum, st.pairs_scored + st.pairs_duplicate); /* candidates examined */
    size_t nwant = 0;
    for (size_t p = 0; p < NSMALL; p++) {
        const pair_want *w = &small_pairs[p];
        double wt = small_weight(w);
        long k = find_edge(&e, w->a, w->b);
        assert_int_equal(find_edge(&e, w->b, w->a), -1); /* never b > a */
        if (wt >= threshold) {
            nwant++;
            assert_true(k >= 0);
            assert_true(e.weight[k] == wt);
            assert_int_equal(e.pass[k], w->pass);
            for (int c = 0; c < 3; c++)
                assert_int_equal(e.levels[(size_t)k * 3 + (size_t)c], w->lv[c]);
        } else {
            assert_int_equal(k, -1);
        }
    }
    assert_int_equal(e.n, nwant);
    for (size_t k = 0; k < e.n; k++)
        assert_true(e.a[k] < e.b[k]);
    ddw_edges_free(&e);
    ddw_score_stats_free(&st);
    assert_null(st.per_thread);
    ddw_block_free(&blk);
    ddw_recs_free(&home);
    ddw_comm_finalize(&comm);
}

static void test_small_threshold(void **state)
{
    (void)state;
    ddw_config *cfg = parse_cfg();
    assert_true(cfg->threshold == 6.0);
    /* hand check of the arithmetic: only R1-R2 clears 6 */
    assert_near(small_weight(&small_pairs[0]), 13.846203, 1e-6);
    assert_near(small_weight(&small_pairs[5]), -2.459432, 1e-6);
    assert_near(small_weight(&small_pairs[1]), -4.311430, 1e-6);
    run_small(cfg, 6.0, 1000);
    /* threshold exactly on R1-R5's weight: R1-R2, R1-R5, R2-R5 */
    double w15 = small_weight(&small_pairs[5]);
    run_small(cfg, w15, 1000);
    run_small(cfg, nextafter(w15, INFINITY), 1000);
    /* everything */
    run_small(cfg, -200, 1000);
    /* tiled blocks (max_block 2 cuts both blocks) give the same answers */
    run_small(cfg, -200, 2);
    run_small(cfg, w15, 3);
    ddw_config_destroy(&cfg);
}

static void test_small_edges_exact(void **state)
{
    (void)state;
    ddw_config *cfg = parse_cfg();
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_recs home;
    make_small(&home);
    double w15 = small_weight(&small_pairs[5]);
    cfg->threshold = w15;
    ddw_blocks blk;
    assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
    ddw_edges e;
    ddw_score_stats st;
    assert_int_equal(ddw_score_run(cfg, &blk, &e, &st), DDW_OK);
    assert_int_equal(e.n, 3);
    long k12 = find_edge(&e, K2, K1), k15 = find_edge(&e, K1, K5), k25 = find_edge(&e, K2, K5);
    assert_true(k12 >= 0 && k15 >= 0 && k25 >= 0);
    assert_true(e.weight[k12] ==
                log2(0.01 / 0.99) + log2(0.9 / 0.01) + log2(0.9 / 0.05) + log2(0.9 / 0.001));
    assert_true(e.weight[k15] == log2(0.01 / 0.99) + log2(0.9 / 0.05));
    assert_true(e.weight[k25] == e.weight[k15]);
    assert_int_equal(e.pass[k12], 0);
    assert_int_equal(e.pass[k15], 1);
    assert_int_equal(e.pass[k25], 1);
    const uint8_t l12[3] = {1, 1, 1}, l15[3] = {0, 1, 0};
    assert_memory_equal(e.levels + (size_t)k12 * 3, l12, 3);
    assert_memory_equal(e.levels + (size_t)k15 * 3, l15, 3);
    assert_memory_equal(e.levels + (size_t)k25 * 3, l15, 3);
    ddw_edges_free(&e);
    ddw_score_stats_free(&st);
    ddw_block_free(&blk);
    ddw_recs_free(&home);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
}

/*
 * ddw_score_run takes any ddw_blocks: hand-built units over records in
 * descending key order still give edges with a < b, and a pair that shares
 * the pass-0 key is skipped in pass 1 even when pass 1 lists it first.
 */
static void test_hand_built_units(void **state)
{
    (void)state;
    ddw_config *cfg = parse_cfg();
    cfg->threshold = -200;
    int32_t d0 = ddw_norm_days_from_civil(1980, 1, 1);
    ddw_blocks blk;
    memset(&blk, 0, sizeof blk);
    blk.npasses = 2;
    ddw_recs_init(&blk.recs, (1u << DDW_F_FORENAME) | (1u << DDW_F_SURNAME) | (1u << DDW_F_DOB));
    add(&blk.recs, K3, "JOHN", "SMITH", d0);  /* larger key first */
    add(&blk.recs, K4, "JOHN", "SMITH", d0);
    add(&blk.recs, K1, "MARY", "SMITH", DDW_DATE_MISSING);
    /* records 0 and 1 share both passes; record 2 only pass 1 */
    const uint64_t pk[6] = {11, 21, 11, 21, 0, 21};
    blk.passkey = malloc(sizeof pk);
    assert_non_null(blk.passkey);
    memcpy(blk.passkey, pk, sizeof pk);
    blk.nunits = 2;
    blk.units = calloc(2, sizeof *blk.units);
    assert_non_null(blk.units);
    /* slots: the pass-1 block is slots 0-2 (records 0, 1, 2); the pass-0 tile is
     * slot 3 (record 1) x slot 4 (record 0) */
    static const uint32_t slots[5] = {0, 1, 2, 1, 0};
    blk.nslots = 5;
    blk.slot = malloc(sizeof slots);
    assert_non_null(blk.slot);
    memcpy(blk.slot, slots, sizeof slots);
    blk.units[0] = (ddw_unit){1, 1, 0, 3, 0, 3}; /* pass 1 block {0, 1, 2} */
    blk.units[1] = (ddw_unit){0, 0, 3, 4, 4, 5}; /* pass 0 tile {1} x {0} */
    ddw_edges e;
    ddw_score_stats st;
    assert_int_equal(ddw_score_run(cfg, &blk, &e, &st), DDW_OK);
    assert_int_equal(st.pairs_scored, 3);
    assert_int_equal(st.pairs_duplicate, 1);
    assert_int_equal(e.n, 3);
    long k34 = find_edge(&e, K4, K3), k13 = find_edge(&e, K1, K3), k14 = find_edge(&e, K4, K1);
    assert_true(k34 >= 0 && k13 >= 0 && k14 >= 0);
    assert_int_equal(e.pass[k34], 0);
    assert_int_equal(e.pass[k13], 1);
    assert_int_equal(e.pass[k14], 1);
    assert_true(e.weight[k34] == expect_weight(1, 1, 1));
    assert_true(e.weight[k13] == expect_weight(3, 1, 0));
    const uint8_t l13[3] = {3, 1, 0};
    assert_memory_equal(e.levels + (size_t)k13 * 3, l13, 3);
    assert_memory_equal(e.levels + (size_t)k14 * 3, l13, 3);
    ddw_edges_free(&e);
    ddw_score_stats_free(&st);
    ddw_block_free(&blk);
    ddw_config_destroy(&cfg);
}

/* ---- threads ------------------------------------------------------------------- */

typedef struct {
    uint64_t a, b;
    double w;
    uint32_t pass;
    uint8_t lv[3];
} edge_row;

static int cmp_row(const void *x, const void *y)
{
    const edge_row *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static edge_row *rows_of(const ddw_edges *e)
{
    edge_row *r = calloc(e->n + 1, sizeof *r);
    assert_non_null(r);
    for (size_t k = 0; k < e->n; k++) {
        r[k].a = e->a[k];
        r[k].b = e->b[k];
        r[k].w = e->weight[k];
        r[k].pass = e->pass[k];
        memcpy(r[k].lv, e->levels + k * 3, 3);
    }
    qsort(r, e->n, sizeof *r, cmp_row);
    return r;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* 600 records from small pools of names and dates, so blocks are large and overlap. */
static void make_random(ddw_recs *home)
{
    static const char *const fn[] = {"JOHN", "JON", "JOHNNY", "MARY", "MARIE", "ANNA", "ANN"};
    static const char *const sn[] = {"SMITH", "SMYTH", "SMYTHE", "JONES", "JONAS", "BROWN"};
    uint64_t s = 77;
    ddw_recs_init(home, ALL_FIELDS);
    for (int i = 0; i < 600; i++) {
        uint64_t r = rng_next(&s);
        const char *f = r % 9 == 0 ? NULL : fn[(r >> 8) % 7];
        const char *n = (r >> 16) % 11 == 0 ? NULL : sn[(r >> 24) % 6];
        int32_t dob = (r >> 32) % 13 == 0
                          ? DDW_DATE_MISSING
                          : ddw_norm_days_from_civil(1980 + (int)((r >> 40) % 3),
                                                     1 + (int)((r >> 44) % 2), 1);
        add(home, DDW_KEY((r >> 50) % 3, 100000 - i), f, n, dob);
    }
}

/* Brute force over all home pairs: edges that must come out. */
static edge_row *brute_force(const ddw_config *cfg, const ddw_recs *home, size_t *n,
                             uint64_t *scored, uint64_t *dups)
{
    double w[DDW_MAX_COMPARE][DDW_MAX_LEVELS + 1];
    ddw_score_weights(cfg, w);
    edge_row *r = calloc(home->n * home->n / 2 + 1, sizeof *r);
    assert_non_null(r);
    *n = 0;
    *scored = *dups = 0;
    for (size_t i = 0; i < home->n; i++)
        for (size_t j = i + 1; j < home->n; j++) {
            int first = -1;
            for (int p = 0; p < cfg->npasses; p++) {
                uint64_t ki = ddw_block_key(cfg, p, home, i);
                if (ki != 0 && ki == ddw_block_key(cfg, p, home, j)) {
                    if (first < 0)
                        first = p;
                    else
                        (*dups)++;
                }
            }
            if (first < 0)
                continue;
            (*scored)++;
            double wt = ddw_config_prior_weight(cfg);
            uint8_t lv[3];
            for (int c = 0; c < 3; c++) {
                int l = ddw_compare_level(&cfg->compare[c], home, i, home, j);
                lv[c] = (uint8_t)l;
                wt += w[c][l];
            }
            if (wt < cfg->threshold)
                continue;
            edge_row *e = &r[(*n)++];
            e->a = home->key[i] < home->key[j] ? home->key[i] : home->key[j];
            e->b = home->key[i] < home->key[j] ? home->key[j] : home->key[i];
            e->w = wt;
            e->pass = (uint32_t)first;
            memcpy(e->lv, lv, 3);
        }
    qsort(r, *n, sizeof *r, cmp_row);
    return r;
}

static void check_rows(const edge_row *got, const edge_row *want, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        assert_true(got[k].a == want[k].a);
        assert_true(got[k].b == want[k].b);
        assert_true(got[k].w == want[k].w);
        assert_int_equal(got[k].pass, want[k].pass);
        assert_memory_equal(got[k].lv, want[k].lv, 3);
    }
}

/*
 * Default thread count (OMP_NUM_THREADS as the environment leaves it), then
 * 2, 1 and 3 threads, untiled and tiled: the edge set never changes and
 * equals the brute-force answer.
 */
static void test_threads_same_edges(void **state)
{
    (void)state;
    ddw_config *cfg = parse_cfg();
    cfg->threshold = 0.0;
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_recs home;
    make_random(&home);
    size_t nwant;
    uint64_t scored, dups;
    edge_row *want = brute_force(cfg, &home, &nwant, &scored, &dups);
    assert_true(nwant > 100);        /* the set is not trivial ... */
    assert_true(scored > nwant);     /* ... some pairs fall below the threshold */
    assert_true(dups > 1000);        /* ... and the passes overlap a lot */
    int saved = omp_get_max_threads();
    static const int threads[] = {0, 2, 1, 3};   /* 0: as the environment says */
    static const long long tiles[] = {1000000, 7};
    for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
        cfg->max_block = tiles[ti];
        ddw_blocks blk;
        assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
        if (ti == 1)
            assert_true(blk.ntiles > 0);
        for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
            if (threads[t] > 0)
                omp_set_num_threads(threads[t]);
            ddw_edges e;
            ddw_score_stats st;
            assert_int_equal(ddw_score_run(cfg, &blk, &e, &st), DDW_OK);
            assert_int_equal(st.nthreads, threads[t] > 0 ? threads[t] : saved);
            assert_int_equal(st.pairs_scored, scored);
            assert_int_equal(st.pairs_duplicate, dups);
            uint64_t sum = 0;
            for (int k = 0; k < st.nthreads; k++)
                sum += st.per_thread[k];
            assert_int_equal(sum, scored + dups); /* candidates examined */
            assert_int_equal(e.n, nwant);
            edge_row *got = rows_of(&e);
            check_rows(got, want, nwant);
            free(got);
            ddw_edges_free(&e);
            ddw_score_stats_free(&st);
        }
        omp_set_num_threads(saved);
        ddw_block_free(&blk);
    }
    free(want);
    ddw_recs_free(&home);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
}

/* ---- the generated model's comparisons ----------------------------------------- */

/* The comparisons `ddwlink generate` writes (tf off: weights are table
 * lookups here), three blocking passes. */
static const char *const full_cfg_text =
    "[run]\nname = t\nseed = 1\n"
    "[match]\nthreshold = -5\nprior = 0.001\n"
    "[block]\nmax_block_size = 1000\n[train]\nenabled = no\n"
    "[source.a]\npath = a.csv\nid_column = id\nforename = fn\nsurname = sn\n"
    "forename_initial = fi\nsurname_initial = si\ndob = dob\nsex = sex\narea = area\n"
    "pnc_id = pnc\n"
    "[blocking.dob]\nkey = exact(dob)\n"
    "[blocking.name]\nkey = soundex(surname), first(forename)\n"
    "[blocking.pnc]\nkey = exact(pnc_id)\n"
    "[compare.forename]\nfield = forename\nmethod = string\n"
    "levels = exact, swap, jw>=0.92, jw>=0.80, initial, else\n"
    "m = 0.9, 0.01, 0.03, 0.03, 0.01, 0.02\nu = 0.005, 0.0001, 0.001, 0.006, 0.06, 0.9279\n"
    "[compare.surname]\nfield = surname\nmethod = string\n"
    "levels = exact, jw>=0.92, soundex, jw>=0.80, else\n"
    "m = 0.9, 0.03, 0.02, 0.02, 0.03\nu = 0.001, 0.0004, 0.001, 0.003, 0.9946\n"
    "[compare.forename_initial]\nfield = forename_initial\nmethod = exact\nlevels = exact, else\n"
    "m = 0.8, 0.2\nu = 0.08, 0.92\nunless = forename\n"
    "[compare.surname_initial]\nfield = surname_initial\nmethod = exact\nlevels = exact, else\n"
    "m = 0.75, 0.25\nu = 0.06, 0.94\nunless = surname\n"
    "[compare.dob]\nfield = dob\nmethod = date\n"
    "levels = exact, swap_dm, digit1, year1, jan1, else\n"
    "m = 0.9, 0.01, 0.04, 0.01, 0.01, 0.03\nu = 0.0001, 0.00002, 0.0025, 0.00002, 0.0004, 0.99706\n"
    "[compare.sex]\nfield = sex\nmethod = exact\nlevels = exact, else\n"
    "m = 0.99, 0.01\nu = 0.7, 0.3\n"
    "[compare.area]\nfield = area\nmethod = exact\nlevels = exact, else\n"
    "m = 0.9, 0.1\nu = 0.2, 0.8\n"
    "[compare.pnc_id]\nfield = pnc_id\nmethod = pnc\nlevels = exact, dl<=1, valid_diff, else\n"
    "m = 0.9, 0.05, 0.01, 0.04\nu = 0.0001, 0.0002, 0.9, 0.0997\n";

#define FULL_NC 8

/* A name near others in a small pool, sometimes with a slip. */
static size_t full_name(uint64_t *rng, char *out)
{
    static const char *const pool[] = {"JOHN", "JON", "JOHNNY", "JONATHAN", "MARY", "MARIE",
                                       "MARTHA", "MARHTA", "SMITH", "SMYTH", "SMYTHE", "JONES",
                                       "JOHNSON", "DWAYNE", "DUANE", "DIXON", "DICKSON",
                                       "JOS\xC3\xA9", "JOSE", "O BRIEN", "OBRIEN"};
    const char *src = pool[rng_next(rng) % (sizeof pool / sizeof pool[0])];
    size_t n = strlen(src);
    memcpy(out, src, n);
    uint64_t r = rng_next(rng);
    if (r % 4 == 0 && n > 2) {
        size_t p = (size_t)(r >> 8) % (n - 1);
        char t = out[p];
        out[p] = out[p + 1];
        out[p + 1] = t;
    } else if (r % 4 == 1) {
        out[(r >> 8) % n] = "AEIOUY"[(r >> 16) % 6];
    }
    return n;
}

/* 700 records over few dates, names and PNC IDs: big, overlapping blocks. */
static void make_full(ddw_recs *home)
{
    uint64_t s = 2024;
    ddw_recs_init(home, ALL_FIELDS);
    char buf[64];
    for (int i = 0; i < 700; i++) {
        size_t k = ddw_recs_push(home, DDW_KEY((unsigned)(i % 3), 1000 + i));
        uint64_t r = rng_next(&s);
        int initials_only = r % 7 == 0;
        size_t n = full_name(&s, buf);
        if (!initials_only && (r >> 3) % 10)
            ddw_recs_set_text(home, k, DDW_F_FORENAME, buf, n);
        ddw_recs_set_text(home, k, DDW_F_FORENAME_INITIAL, buf, 1);
        n = full_name(&s, buf);
        if (!initials_only && (r >> 7) % 10)
            ddw_recs_set_text(home, k, DDW_F_SURNAME, buf, n);
        ddw_recs_set_text(home, k, DDW_F_SURNAME_INITIAL, buf, 1);
        int y = 1979 + (int)((r >> 11) % 3), m = 1 + (int)((r >> 13) % 3);
        int d = 1 + (int)((r >> 15) % 3);
        if ((r >> 17) % 5 == 0) {
            int t = m;
            m = d;
            d = t;
        }
        if ((r >> 20) % 11)
            ddw_recs_set_date(home, k, DDW_F_DOB, ddw_norm_days_from_civil(y, m, d));
        if ((r >> 24) % 9)
            ddw_recs_set_text(home, k, DDW_F_SEX, (r >> 28) % 2 ? "M" : "F", 1);
        if ((r >> 29) % 6)
            ddw_recs_set_text(home, k, DDW_F_AREA, (r >> 33) % 2 ? "KENT" : "HAMPSHIRE",
                              (r >> 33) % 2 ? 4 : 9);
        if (!initials_only && (r >> 34) % 3) {
            unsigned yy = 90 + (unsigned)((r >> 36) % 3);
            unsigned long serial = (unsigned long)((r >> 38) % 40);
            char letter = ddw_compare_pnc_letter(yy, serial);
            if ((r >> 46) % 5 == 0)
                letter = letter == 'A' ? 'B' : 'A'; /* invalid check letter */
            int len = snprintf(buf, sizeof buf, "%02u %lu%c", yy, serial, letter);
            if ((r >> 50) % 6 == 0)
                buf[3] = buf[3] == '1' ? '2' : '1'; /* a typo */
            ddw_recs_set_text(home, k, DDW_F_PNC_ID, buf, (size_t)len);
        }
    }
}

typedef struct {
    uint64_t a, b;
    double w;
    uint32_t pass;
    uint8_t lv[FULL_NC];
} full_row;

static int cmp_full(const void *x, const void *y)
{
    const full_row *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

/*
 * The generated model's eight comparisons (the plan's feature paths: the
 * Jaro-Winkler bound, initials, swap, soundex, PNC validity, 'exact, else'
 * with unless, dates), untiled and tiled into off-diagonal units, at 1, 2
 * and 3 threads: edges, weights (bit for bit) and level bytes equal a
 * brute-force loop over ddw_compare_level.
 */
static void test_full_model_same_edges(void **state)
{
    (void)state;
    ddw_config *cfg = NULL;
    assert_int_equal(ddw_config_parse("full.ini", full_cfg_text, 0, NULL, stderr, &cfg), DDW_OK);
    assert_int_equal(cfg->ncompare, FULL_NC);
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_recs home;
    make_full(&home);
    double w[DDW_MAX_COMPARE][DDW_MAX_LEVELS + 1];
    ddw_score_weights(cfg, w);
    full_row *want = calloc(home.n * home.n / 2 + 1, sizeof *want);
    assert_non_null(want);
    size_t nwant = 0;
    uint64_t scored = 0;
    long level_hits[FULL_NC][DDW_MAX_LEVELS + 1];
    memset(level_hits, 0, sizeof level_hits);
    for (size_t i = 0; i < home.n; i++)
        for (size_t j = i + 1; j < home.n; j++) {
            int first = -1;
            for (int p = 0; p < cfg->npasses && first < 0; p++) {
                uint64_t ki = ddw_block_key(cfg, p, &home, i);
                if (ki != 0 && ki == ddw_block_key(cfg, p, &home, j))
                    first = p;
            }
            if (first < 0)
                continue;
            scored++;
            full_row row;
            memset(&row, 0, sizeof row);
            row.w = ddw_config_prior_weight(cfg);
            for (int c = 0; c < FULL_NC; c++) {
                int l = ddw_compare_level(&cfg->compare[c], &home, i, &home, j);
                row.lv[c] = (uint8_t)l;
                level_hits[c][l]++;
                row.w += w[c][l];
            }
            if (row.w < cfg->threshold)
                continue;
            row.a = home.key[i] < home.key[j] ? home.key[i] : home.key[j];
            row.b = home.key[i] < home.key[j] ? home.key[j] : home.key[i];
            row.pass = (uint32_t)first;
            want[nwant++] = row;
        }
    qsort(want, nwant, sizeof *want, cmp_full);
    assert_true(nwant > 500 && scored > 2 * nwant);
    for (int c = 0; c < FULL_NC; c++) /* every level occurs */
        for (int l = 1; l <= cfg->compare[c].nlevels; l++)
            if (level_hits[c][l] == 0)
                fail_msg("comparison %d never gave level %d", c, l);
    int saved = omp_get_max_threads();
    static const long long tiles[] = {1000000, 9};
    for (size_t ti = 0; ti < 2; ti++) {
        cfg->max_block = tiles[ti];
        ddw_blocks blk;
        assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
        assert_true(ti == 0 || blk.ntiles > 0);
        for (int t = 1; t <= 3; t++) {
            omp_set_num_threads(t);
            ddw_edges e;
            ddw_score_stats st;
            assert_int_equal(ddw_score_run(cfg, &blk, &e, &st), DDW_OK);
            assert_int_equal(st.pairs_scored, scored);
            assert_int_equal(e.n, nwant);
            full_row *got = calloc(e.n + 1, sizeof *got);
            assert_non_null(got);
            for (size_t k = 0; k < e.n; k++) {
                got[k].a = e.a[k];
                got[k].b = e.b[k];
                got[k].w = e.weight[k];
                got[k].pass = e.pass[k];
                memcpy(got[k].lv, e.levels + k * FULL_NC, FULL_NC);
            }
            qsort(got, e.n, sizeof *got, cmp_full);
            for (size_t k = 0; k < nwant; k++) {
                assert_true(got[k].a == want[k].a && got[k].b == want[k].b);
                assert_true(got[k].w == want[k].w);
                assert_int_equal(got[k].pass, want[k].pass);
                assert_memory_equal(got[k].lv, want[k].lv, FULL_NC);
            }
            free(got);
            ddw_edges_free(&e);
            ddw_score_stats_free(&st);
        }
        omp_set_num_threads(saved);
        ddw_block_free(&blk);
    }
    free(want);
    ddw_recs_free(&home);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
}

/* Two histograms hold the same (code, count) multiset. */
static void assert_hist_equal(const ddw_est_hist *a, const ddw_est_hist *b)
{
    uint64_t *ca, *na, *cb, *nb;
    size_t n1, n2;
    ddw_est_hist_sorted(a, &ca, &na, &n1);
    ddw_est_hist_sorted(b, &cb, &nb, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(ca, cb, n1 * sizeof *ca);
    assert_memory_equal(na, nb, n1 * sizeof *na);
    free(ca);
    free(na);
    free(cb);
    free(nb);
}

/*
 * Training's pattern counts (some units through the comparison plan, small
 * sampled ones through ddw_compare_level) equal a brute-force count over
 * all home pairs with the documented sampling rule, at two rates, 1 and 2
 * threads, untiled and tiled.
 */
static void test_patterns_match_brute_force(void **state)
{
    (void)state;
    ddw_config *cfg = NULL;
    assert_int_equal(ddw_config_parse("full.ini", full_cfg_text, 0, NULL, stderr, &cfg), DDW_OK);
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_recs home;
    make_full(&home);
    int np = cfg->npasses, nlev[FULL_NC];
    for (int c = 0; c < FULL_NC; c++)
        nlev[c] = cfg->compare[c].nlevels + 1;
    const uint64_t salt = ddw_mix64(cfg->seed ^ UINT64_C(0x7a11));
    static const double rates[] = {1.0, 0.35};
    int saved = omp_get_max_threads();
    for (size_t ri = 0; ri < 2; ri++) {
        double rate = rates[ri];
        uint64_t thr = rate >= 1.0 ? UINT64_MAX : (uint64_t)(rate * 18446744073709551616.0);
        ddw_est_hist want[3], wantf[3];
        uint64_t wn[3] = {0}, wnf[3] = {0};
        for (int p = 0; p < np; p++) {
            ddw_est_hist_init(&want[p]);
            ddw_est_hist_init(&wantf[p]);
        }
        for (size_t i = 0; i < home.n; i++)
            for (size_t j = i + 1; j < home.n; j++) {
                int earlier = 0;
                for (int p = 0; p < np; p++) {
                    uint64_t ki = ddw_block_key(cfg, p, &home, i);
                    if (ki == 0 || ki != ddw_block_key(cfg, p, &home, j))
                        continue;
                    wn[p]++;
                    wnf[p] += !earlier;
                    uint64_t ka = home.key[i], kb = home.key[j];
                    uint64_t lo = ka < kb ? ka : kb, hi = ka < kb ? kb : ka;
                    if (ddw_mix64(ddw_mix64(lo ^ salt) ^ hi) < thr) {
                        uint8_t lv[FULL_NC];
                        for (int c = 0; c < FULL_NC; c++)
                            lv[c] = (uint8_t)ddw_compare_level(&cfg->compare[c], &home, i,
                                                               &home, j);
                        uint64_t code = ddw_est_encode(FULL_NC, nlev, lv);
                        ddw_est_hist_add(&want[p], code, 1);
                        if (!earlier)
                            ddw_est_hist_add(&wantf[p], code, 1);
                    }
                    earlier = 1;
                }
            }
        for (size_t ti = 0; ti < 2; ti++) {
            cfg->max_block = ti ? 9 : 1000000;
            ddw_blocks blk;
            assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
            assert_int_equal(blk.npasses, np);
            for (int t = 1; t <= 2; t++) {
                omp_set_num_threads(t);
                ddw_est_hist hist[3], first[3];
                uint64_t npairs[3], nfirst[3];
                assert_int_equal(ddw_score_patterns(cfg, &blk, rate, hist, first, npairs, nfirst),
                                 DDW_OK);
                for (int p = 0; p < np; p++) {
                    assert_int_equal(npairs[p], wn[p]);
                    assert_int_equal(nfirst[p], wnf[p]);
                    assert_hist_equal(&hist[p], &want[p]);
                    assert_hist_equal(&first[p], &wantf[p]);
                    assert_true(want[p].n > 3);
                    ddw_est_hist_free(&hist[p]);
                    ddw_est_hist_free(&first[p]);
                }
            }
            omp_set_num_threads(saved);
            ddw_block_free(&blk);
        }
        for (int p = 0; p < np; p++) {
            ddw_est_hist_free(&want[p]);
            ddw_est_hist_free(&wantf[p]);
        }
    }
    ddw_recs_free(&home);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_probability),
        cmocka_unit_test(test_small_threshold),
        cmocka_unit_test(test_small_edges_exact),
        cmocka_unit_test(test_hand_built_units),
        cmocka_unit_test(test_threads_same_edges),
        cmocka_unit_test(test_full_model_same_edges),
        cmocka_unit_test(test_patterns_match_brute_force),
    };
    return cmocka_run_group_tests_name("score", tests, NULL, NULL);
}
