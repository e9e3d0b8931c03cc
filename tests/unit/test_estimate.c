/*
 * test_estimate.c - unit tests for model estimation (src/estimate.c):
 * pattern codes, the pattern histogram, u from random pairs, EM and the
 * combination of per-pass estimates.
 *
 * Trade-off: exact contracts (codes, counts, u, combine) are checked
 * against hand-computed values or a naive reference; EM is checked
 * statistically, by recovering a known five-comparison model from 400k
 * pairs simulated with a fixed-seed splitmix64 (so the test is
 * reproducible, and the tolerances - 0.01 on lambda, 0.02 on m and u - sit
 * well above the sampling error of about 0.003), plus its exact
 * properties: fixed and skipped parameters untouched bit for bit,
 * bit-identical results for any order of the same counts, and a
 * non-decreasing log-likelihood.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_estimate.h"

/* |got - want| <= tol (cmocka 1.1.5 has no double comparison). */
#define assert_near(got, want, tol) assert_true(fabs((double)(got) - (double)(want)) <= (tol))

/* ---- fixed-seed PRNG ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1.0p-53; }

/* ---- pattern codes -------------------------------------------------------------- */

static void test_codes_hand(void **state)
{
    (void)state;
    int nlev[3] = {3, 4, 2};
    uint64_t ncodes = 0;
    assert_int_equal(ddw_est_check_levels(3, nlev, &ncodes), DDW_OK);
    assert_true(ncodes == 24);
    uint8_t lev[3] = {2, 1, 1}, back[3];
    assert_true(ddw_est_encode(3, nlev, lev) == (2 * 4 + 1) * 2 + 1);
    ddw_est_decode(3, nlev, 19, back);
    assert_memory_equal(lev, back, 3);
    uint8_t zero[3] = {0, 0, 0}, top[3] = {2, 3, 1};
    assert_true(ddw_est_encode(3, nlev, zero) == 0);
    assert_true(ddw_est_encode(3, nlev, top) == 23);
}

static void test_codes_limits(void **state)
{
    (void)state;
    int nlev[DDW_MAX_COMPARE + 1];
    uint64_t ncodes = 0;
    for (int c = 0; c <= DDW_MAX_COMPARE; c++)
        nlev[c] = 2;
    assert_int_equal(ddw_est_check_levels(63, nlev, &ncodes), DDW_OK);
    assert_true(ncodes == UINT64_C(1) << 63);
    assert_int_equal(ddw_est_check_levels(64, nlev, &ncodes), DDW_ERANGE); /* 2^64 */
    assert_int_equal(ddw_est_check_levels(65, nlev, NULL), DDW_EINVAL);
    assert_int_equal(ddw_est_check_levels(0, nlev, NULL), DDW_EINVAL);
    assert_int_equal(ddw_est_check_levels(3, NULL, NULL), DDW_EINVAL);

    uint8_t lev[DDW_MAX_COMPARE], back[DDW_MAX_COMPARE];
    memset(lev, 1, sizeof lev);
    assert_true(ddw_est_encode(63, nlev, lev) == (UINT64_C(1) << 63) - 1);
    ddw_est_decode(63, nlev, (UINT64_C(1) << 63) - 1, back);
    assert_memory_equal(lev, back, 63);

    for (int c = 0; c < 16; c++)
        nlev[c] = DDW_MAX_LEVELS + 1; /* 16^15 = 2^60 fits, 16^16 = 2^64 does not */
    assert_int_equal(ddw_est_check_levels(15, nlev, &ncodes), DDW_OK);
    assert_true(ncodes == UINT64_C(1) << 60);
    assert_int_equal(ddw_est_check_levels(16, nlev, NULL), DDW_ERANGE);

    nlev[2] = 1;
    assert_int_equal(ddw_est_check_levels(3, nlev, NULL), DDW_EINVAL);
    nlev[2] = DDW_MAX_LEVELS + 2;
    assert_int_equal(ddw_est_check_levels(3, nlev, NULL), DDW_EINVAL);
}

static void test_codes_roundtrip(void **state)
{
    (void)state;
    uint64_t s = 1;
    for (int t = 0; t < 2000; t++) {
        int ncomp = 1 + (int)(splitmix64(&s) % 12), nlev[12];
        for (int c = 0; c < ncomp; c++)
            nlev[c] = 2 + (int)(splitmix64(&s) % DDW_MAX_LEVELS);
        uint64_t ncodes;
        assert_int_equal(ddw_est_check_levels(ncomp, nlev, &ncodes), DDW_OK);
        uint8_t a[12], b[12], back[12];
        for (int c = 0; c < ncomp; c++) {
            a[c] = (uint8_t)(splitmix64(&s) % (uint64_t)nlev[c]);
            b[c] = (uint8_t)(splitmix64(&s) % (uint64_t)nlev[c]);
        }
        uint64_t ca = ddw_est_encode(ncomp, nlev, a), cb = ddw_est_encode(ncomp, nlev, b);
        assert_true(ca < ncodes && cb < ncodes);
        ddw_est_decode(ncomp, nlev, ca, back);
        assert_memory_equal(a, back, (size_t)ncomp);
        /* ascending codes = lexicographic order of the patterns */
        int lex = memcmp(a, b, (size_t)ncomp);
        assert_true((lex < 0) == (ca < cb) && (lex == 0) == (ca == cb));
    }
}

/* ---- canonical arrays and histogram ------------------------------------------- */

static void test_canonical(void **state)
{
    (void)state;
    uint64_t codes[7] = {9, 3, 9, 5, 3, 7, 0};
    uint64_t counts[7] = {1, 2, 4, 0, 8, 0, 16};
    size_t n = ddw_est_canonical(codes, counts, 7);
    assert_int_equal(n, 3);
    assert_true(codes[0] == 0 && counts[0] == 16);
    assert_true(codes[1] == 3 && counts[1] == 10);
    assert_true(codes[2] == 9 && counts[2] == 5);
    assert_int_equal(ddw_est_canonical(codes, counts, 0), 0);
}

#define HRANGE 20000
static const uint64_t big_codes[4] = {UINT64_MAX, UINT64_MAX - 1, UINT64_C(1) << 63,
                                      UINT64_C(12345678901234567)};

static void check_hist(const ddw_est_hist *h, const uint64_t *ref, const uint64_t *refbig)
{
    uint64_t *codes, *counts;
    size_t n;
    ddw_est_hist_sorted(h, &codes, &counts, &n);
    assert_int_equal(n, h->n);
    size_t k = 0;
    for (uint64_t c = 0; c < HRANGE; c++)
        if (ref[c]) {
            assert_true(k < n);
            assert_true(codes[k] == c && counts[k] == ref[c]);
            k++;
        }
    /* the big codes in ascending order: 12345678901234567, 2^63, MAX-1, MAX */
    static const int order[4] = {3, 2, 1, 0};
    for (int j = 0; j < 4; j++)
        if (refbig[order[j]]) {
            assert_true(k < n);
            assert_true(codes[k] == big_codes[order[j]] && counts[k] == refbig[order[j]]);
            k++;
        }
    assert_int_equal(k, n);
    free(codes);
    free(counts);
}

static void test_hist_random(void **state)
{
    (void)state;
    uint64_t *ref = calloc(HRANGE, sizeof *ref), refbig[4] = {0};
    ddw_est_hist part[4], all, fwd, rev;
    for (int j = 0; j < 4; j++)
        ddw_est_hist_init(&part[j]);
    ddw_est_hist_init(&all);
    uint64_t s = 42;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = splitmix64(&s), n = 1 + (r >> 60), code;
        int j = (int)((r >> 20) % 4);
        if (r % 10 == 0) {
            int b = (int)((r >> 8) % 4);
            code = big_codes[b];
            refbig[b] += n;
        } else {
            code = (r >> 32) % HRANGE;
            ref[code] += n;
        }
        ddw_est_hist_add(&part[j], code, n);
        ddw_est_hist_add(&all, code, n);
    }
    size_t before = all.n;
    ddw_est_hist_add(&all, 77777, 0); /* zero count: nothing stored */
    assert_int_equal(all.n, before);
    check_hist(&all, ref, refbig);

    ddw_est_hist_init(&fwd);
    ddw_est_hist_init(&rev);
    for (int j = 0; j < 4; j++) {
        ddw_est_hist_merge(&fwd, &part[j]);
        ddw_est_hist_merge(&rev, &part[3 - j]);
    }
    check_hist(&fwd, ref, refbig);
    check_hist(&rev, ref, refbig);

    ddw_est_hist empty;
    ddw_est_hist_init(&empty);
    uint64_t *codes, *counts;
    size_t n = 99;
    ddw_est_hist_sorted(&empty, &codes, &counts, &n);
    assert_int_equal(n, 0);
    assert_non_null(codes);
    free(codes);
    free(counts);
    ddw_est_hist_free(&empty);
    ddw_est_hist_free(NULL);

    for (int j = 0; j < 4; j++)
        ddw_est_hist_free(&part[j]);
    ddw_est_hist_free(&all);
    ddw_est_hist_free(&fwd);
    ddw_est_hist_free(&rev);
    assert_null(rev.code);
    free(ref);
}

/* ---- u from random pairs -------------------------------------------------------- */

static void test_u_from_counts_hand(void **state)
{
    (void)state;
    int nlev[3] = {3, 4, 3}; /* L = 2, 3, 2; comparison 2 always missing */
    uint8_t pats[7][3] = {{1, 1, 0}, {2, 3, 0}, {0, 2, 0}, {2, 0, 0},
                          {1, 0, 0}, {1, 0, 0}, {0, 0, 0}};
    uint64_t cnt[7] = {10, 5, 7, 3, 2, 2, 100}, codes[7];
    for (int i = 0; i < 7; i++)
        codes[i] = ddw_est_encode(3, nlev, pats[i]);
    double u[3 * DDW_EST_STRIDE];
    unsigned char uni[3] = {9, 9, 9};
    /* comparison 0: level 1 = 14, level 2 = 8 of 22; comparison 1: 10, 7, 5 of 22 */
    assert_int_equal(ddw_est_u_from_counts(3, nlev, 7, codes, cnt, 1.0, u, uni), DDW_OK);
    const double e = 1e-15;
    assert_near(u[1], 15.0 / 24, e);
    assert_near(u[2], 9.0 / 24, e);
    assert_near(u[DDW_EST_STRIDE + 1], 11.0 / 25, e);
    assert_near(u[DDW_EST_STRIDE + 2], 8.0 / 25, e);
    assert_near(u[DDW_EST_STRIDE + 3], 6.0 / 25, e);
    assert_near(u[2 * DDW_EST_STRIDE + 1], 0.5, e);
    assert_near(u[2 * DDW_EST_STRIDE + 2], 0.5, e);
    assert_true(u[0] == 0.0 && u[3] == 0.0 && u[DDW_EST_STRIDE] == 0.0 &&
                u[DDW_EST_STRIDE + 4] == 0.0 && u[2 * DDW_EST_STRIDE + 3] == 0.0);
    assert_true(uni[0] == 0 && uni[1] == 0 && uni[2] == 1);

    assert_int_equal(ddw_est_u_from_counts(3, nlev, 7, codes, cnt, 0.0, u, NULL), DDW_OK);
    assert_near(u[1], 14.0 / 22, e);
    assert_near(u[2], 8.0 / 22, e);
    assert_near(u[DDW_EST_STRIDE + 3], 5.0 / 22, e);
    assert_near(u[2 * DDW_EST_STRIDE + 1], 0.5, e);

    assert_int_equal(ddw_est_u_from_counts(3, nlev, 7, codes, cnt, -1.0, u, NULL), DDW_EINVAL);
    codes[3] = 36; /* prod nlev = 36 */
    assert_int_equal(ddw_est_u_from_counts(3, nlev, 7, codes, cnt, 1.0, u, NULL), DDW_EINVAL);
}

/* ---- simulated data for EM ------------------------------------------------------ */

#define NC 5
static const int sim_nlev[NC] = {3, 4, 5, 6, 3};
/* level L_c = exact agreement, level 1 = disagreement */
static const double sim_m[NC][6] = {{0, 0.05, 0.95},
                                    {0, 0.05, 0.15, 0.80},
                                    {0, 0.02, 0.05, 0.13, 0.80},
                                    {0, 0.03, 0.03, 0.04, 0.10, 0.80},
                                    {0, 0.10, 0.90}};
static const double sim_u[NC][6] = {{0, 0.97, 0.03},
                                    {0, 0.85, 0.10, 0.05},
                                    {0, 0.70, 0.15, 0.10, 0.05},
                                    {0, 0.50, 0.20, 0.15, 0.10, 0.05},
                                    {0, 0.50, 0.50}};
static const double sim_miss[NC] = {0.0, 0.10, 0.05, 0.20, 0.02};
#define NSIM 400000

static int draw(uint64_t *s, const double *p, int L)
{
    double r = unif(s), acc = 0.0;
    for (int l = 1; l < L; l++) {
        acc += p[l];
        if (r < acc)
            return l;
    }
    return L;
}

/*
 * Simulates npairs pairs from the true model and counts their patterns in
 * sorted arrays.  With block_c0 only pairs at the top level of comparison 0
 * are kept (a blocking pass on that field).  Returns the number of true
 * matches among the kept pairs (*nkept of them).
 */
static uint64_t simulate(double lambda, uint64_t seed, int npairs, int block_c0,
                         uint64_t **codes, uint64_t **counts, size_t *n, uint64_t *nkept)
{
    ddw_est_hist h;
    ddw_est_hist_init(&h);
    uint64_t s = seed, matches = 0, kept = 0;
    for (int i = 0; i < npairs; i++) {
        int match = unif(&s) < lambda;
        uint8_t lev[NC];
        for (int c = 0; c < NC; c++) {
            int L = sim_nlev[c] - 1;
            lev[c] = unif(&s) < sim_miss[c] ? 0
                                            : (uint8_t)draw(&s, match ? sim_m[c] : sim_u[c], L);
        }
        if (block_c0 && lev[0] != sim_nlev[0] - 1)
            continue;
        kept++;
        matches += (uint64_t)match;
        ddw_est_hist_add(&h, ddw_est_encode(NC, sim_nlev, lev), 1);
    }
    ddw_est_hist_sorted(&h, codes, counts, n);
    ddw_est_hist_free(&h);
    if (nkept)
        *nkept = kept;
    return matches;
}

/* A start model that knows nothing of the truth: m rises, u falls with the level. */
static void generic_start(ddw_est_model *md, double lambda, int true_u)
{
    memset(md, 0, sizeof *md);
    md->lambda = lambda;
    for (int c = 0; c < NC; c++) {
        int L = sim_nlev[c] - 1;
        double sm = 0, su = 0;
        for (int l = 1; l <= L; l++) {
            sm += md->m[c][l] = ldexp(1.0, l);
            su += md->u[c][l] = ldexp(1.0, L - l);
        }
        for (int l = 1; l <= L; l++) {
            md->m[c][l] /= sm;
            md->u[c][l] = true_u ? sim_u[c][l] : md->u[c][l] / su;
        }
    }
}

static ddw_est_opts test_opts(void)
{
    ddw_est_opts o;
    ddw_est_opts_default(&o);
    o.max_iter = 2000;
    o.tol = 1e-8;
    return o;
}

static void check_close(const double *got, const double *want, int L, double tol)
{
    for (int l = 1; l <= L; l++)
        assert_near(got[l], want[l], tol);
}

static void run_recover(double lambda, uint64_t seed, int estimate_u)
{
    uint64_t *codes, *counts;
    size_t n;
    simulate(lambda, seed, NSIM, 0, &codes, &counts, &n, NULL);
    unsigned char fix_u[NC] = {0};
    ddw_est_problem pb = {NC, sim_nlev, n, codes, counts, NULL, estimate_u ? fix_u : NULL, NULL};
    ddw_est_model md, start;
    generic_start(&md, lambda < 0.1 ? 0.2 : 0.1, !estimate_u);
    start = md;
    ddw_est_opts o = test_opts();
    double ll[2000];
    ddw_est_trace tr = {ll, NULL, 0, 0, 0};
    assert_int_equal(ddw_est_em(&pb, &md, &o, &tr), DDW_OK);
    assert_true(tr.converged);
    assert_true(tr.niter >= 2 && tr.niter < o.max_iter);
    assert_near(md.lambda, lambda, 0.01);
    for (int c = 0; c < NC; c++) {
        check_close(md.m[c], sim_m[c], sim_nlev[c] - 1, 0.02);
        if (estimate_u)
            check_close(md.u[c], sim_u[c], sim_nlev[c] - 1, 0.02);
        else
            assert_memory_equal(md.u[c], start.u[c], sizeof md.u[c]);
    }
    free(codes);
    free(counts);
}

static void test_em_recover_u_fixed(void **state)
{
    (void)state;
    run_recover(0.05, 7, 0);
    run_recover(0.30, 8, 0);
}

static void test_em_recover_u_estimated(void **state)
{
    (void)state;
    run_recover(0.05, 9, 1);
    run_recover(0.30, 10, 1);
}

static void test_em_fix_m(void **state)
{
    (void)state;
    uint64_t *codes, *counts;
    size_t n;
    simulate(0.05, 11, NSIM, 0, &codes, &counts, &n, NULL);
    unsigned char fix_m[NC] = {0, 0, 1, 0, 0};
    ddw_est_problem pb = {NC, sim_nlev, n, codes, counts, fix_m, NULL, NULL};
    ddw_est_model md, start;
    generic_start(&md, 0.2, 1);
    /* comparison 2 held near, not at, the truth: 0.04 0.06 0.15 0.75 */
    md.m[2][1] = 0.04;
    md.m[2][2] = 0.06;
    md.m[2][3] = 0.15;
    md.m[2][4] = 0.75;
    start = md;
    ddw_est_opts o = test_opts();
    ddw_est_trace tr = {NULL, NULL, 0, 0, 0};
    assert_int_equal(ddw_est_em(&pb, &md, &o, &tr), DDW_OK);
    assert_true(tr.converged);
    assert_memory_equal(md.m[2], start.m[2], sizeof md.m[2]);
    assert_near(md.lambda, 0.05, 0.01);
    for (int c = 0; c < NC; c++)
        if (c != 2)
            check_close(md.m[c], sim_m[c], sim_nlev[c] - 1, 0.02);
    free(codes);
    free(counts);
}

/*
 * A blocking pass on comparison 0: only pairs agreeing on it.  Skipped, it
 * keeps m and u bit for bit, lambda estimates the share of matches among
 * the kept pairs, and the other m are recovered.
 */
static void test_em_skip_blocked(void **state)
{
    (void)state;
    uint64_t *codes, *counts, kept;
    size_t n;
    uint64_t matches = simulate(0.02, 12, 2 * NSIM, 1, &codes, &counts, &n, &kept);
    double share = (double)matches / (double)kept;
    unsigned char skip[NC] = {1, 0, 0, 0, 0};
    ddw_est_problem pb = {NC, sim_nlev, n, codes, counts, NULL, NULL, skip};
    ddw_est_model md, start;
    generic_start(&md, 0.5, 1);
    md.m[0][1] = 0.25; /* skipped values are never read: even invalid ones */
    md.m[0][2] = 7.0;
    start = md;
    ddw_est_opts o = test_opts();
    ddw_est_trace tr = {NULL, NULL, 0, 0, 0};
    assert_int_equal(ddw_est_em(&pb, &md, &o, &tr), DDW_OK);
    assert_true(tr.converged);
    assert_memory_equal(md.m[0], start.m[0], sizeof md.m[0]);
    assert_memory_equal(md.u[0], start.u[0], sizeof md.u[0]);
    assert_near(md.lambda, share, 0.01);
    for (int c = 1; c < NC; c++)
        check_close(md.m[c], sim_m[c], sim_nlev[c] - 1, 0.02);
    free(codes);
    free(counts);
}

static void test_em_deterministic(void **state)
{
    (void)state;
    uint64_t *codes, *counts;
    size_t n;
    simulate(0.1, 13, NSIM / 4, 0, &codes, &counts, &n, NULL);
    /* same multiset: reversed, every third count split in two, zero counts added */
    size_t n2 = 0, cap = 2 * n + 8;
    uint64_t *c2 = malloc(cap * sizeof *c2), *k2 = malloc(cap * sizeof *k2);
    for (size_t i = n; i-- > 0;) {
        if (i % 3 == 0 && counts[i] > 1) {
            c2[n2] = codes[i];
            k2[n2++] = counts[i] / 2;
            c2[n2] = codes[i];
            k2[n2++] = counts[i] - counts[i] / 2;
        } else {
            c2[n2] = codes[i];
            k2[n2++] = counts[i];
        }
        if (i % 97 == 0) {
            c2[n2] = codes[i] ^ 1;
            k2[n2++] = 0;
        }
    }
    /* a few swaps so the order is not just reversed */
    uint64_t s = 5;
    for (size_t i = 0; i < n2; i++) {
        size_t j = (size_t)(splitmix64(&s) % n2);
        uint64_t t = c2[i];
        c2[i] = c2[j];
        c2[j] = t;
        t = k2[i];
        k2[i] = k2[j];
        k2[j] = t;
    }
    unsigned char fix_u[NC] = {0};
    ddw_est_problem pa = {NC, sim_nlev, n, codes, counts, NULL, fix_u, NULL};
    ddw_est_problem pb = {NC, sim_nlev, n2, c2, k2, NULL, fix_u, NULL};
    ddw_est_model ma, mb;
    generic_start(&ma, 0.3, 0);
    mb = ma;
    ddw_est_opts o = test_opts();
    double lla[2000], llb[2000], lama[2000], lamb[2000];
    ddw_est_trace ta = {lla, lama, 0, 0, 0}, tb = {llb, lamb, 0, 0, 0};
    assert_int_equal(ddw_est_em(&pa, &ma, &o, &ta), DDW_OK);
    assert_int_equal(ddw_est_em(&pb, &mb, &o, &tb), DDW_OK);
    assert_memory_equal(&ma, &mb, sizeof ma);
    assert_int_equal(ta.niter, tb.niter);
    assert_memory_equal(lla, llb, (size_t)ta.niter * sizeof *lla);
    assert_memory_equal(lama, lamb, (size_t)ta.niter * sizeof *lama);
    assert_memory_equal(&ta.final_loglik, &tb.final_loglik, sizeof ta.final_loglik);
    free(c2);
    free(k2);
    free(codes);
    free(counts);
}

static void check_monotone(const ddw_est_trace *tr)
{
    for (int i = 1; i < tr->niter; i++)
        assert_true(tr->loglik[i] >= tr->loglik[i - 1] - 1e-9 * fabs(tr->loglik[i - 1]));
    assert_true(tr->final_loglik >= tr->loglik[tr->niter - 1] -
                                        1e-9 * fabs(tr->loglik[tr->niter - 1]));
}

static void test_em_loglik_monotone(void **state)
{
    (void)state;
    uint64_t *codes, *counts;
    size_t n;
    simulate(0.05, 14, NSIM / 2, 0, &codes, &counts, &n, NULL);
    unsigned char fix_u[NC] = {0};
    ddw_est_opts o = test_opts();
    double ll[2000], lam[2000];
    for (int est_u = 0; est_u < 2; est_u++) {
        ddw_est_problem pb = {NC, sim_nlev, n, codes, counts, NULL, est_u ? fix_u : NULL, NULL};
        ddw_est_model md;
        generic_start(&md, 0.5, !est_u);
        ddw_est_trace tr = {ll, lam, 0, 0, 0};
        assert_int_equal(ddw_est_em(&pb, &md, &o, &tr), DDW_OK);
        assert_true(tr.niter > 5);
        assert_true(tr.loglik[tr.niter - 1] > tr.loglik[0]);
        assert_true(tr.lambda[0] == 0.5);
        check_monotone(&tr);
    }
    free(codes);
    free(counts);
}

static void test_em_errors(void **state)
{
    (void)state;
    int nlev[2] = {3, 3};
    uint8_t l11[2] = {1, 1}, l22[2] = {2, 2};
    uint64_t codes[2] = {ddw_est_encode(2, nlev, l11), ddw_est_encode(2, nlev, l22)};
    uint64_t counts[2] = {5, 5}, zeros[2] = {0, 0};
    ddw_est_model md, good;
    memset(&good, 0, sizeof good);
    good.lambda = 0.5;
    for (int c = 0; c < 2; c++) {
        good.m[c][1] = 0.2, good.m[c][2] = 0.8;
        good.u[c][1] = 0.8, good.u[c][2] = 0.2;
    }
    ddw_est_problem pb = {2, nlev, 2, codes, counts, NULL, NULL, NULL};
    ddw_est_opts o;
    ddw_est_opts_default(&o);
    md = good;
    assert_int_equal(ddw_est_em(&pb, &md, NULL, NULL), DDW_OK); /* defaults, no trace */

    md = good;
    ddw_est_problem bad = pb;
    bad.n = 0;
    assert_int_equal(ddw_est_em(&bad, &md, &o, NULL), DDW_EINVAL);
    bad = pb;
    bad.counts = zeros;
    assert_int_equal(ddw_est_em(&bad, &md, &o, NULL), DDW_EINVAL);
    bad = pb;
    bad.ncomp = DDW_MAX_COMPARE + 1;
    assert_int_equal(ddw_est_em(&bad, &md, &o, NULL), DDW_EINVAL);
    int nlev_bad[2] = {3, DDW_MAX_LEVELS + 2};
    bad = pb;
    bad.nlev = nlev_bad;
    assert_int_equal(ddw_est_em(&bad, &md, &o, NULL), DDW_EINVAL);
    uint64_t far[2] = {codes[0], 9};
    bad = pb;
    bad.codes = far;
    assert_int_equal(ddw_est_em(&bad, &md, &o, NULL), DDW_EINVAL);
    assert_int_equal(ddw_est_em(NULL, &md, &o, NULL), DDW_EINVAL);
    assert_int_equal(ddw_est_em(&pb, NULL, &o, NULL), DDW_EINVAL);

    ddw_est_opts ob = o;
    ob.min_prob = 0;
    assert_int_equal(ddw_est_em(&pb, &md, &ob, NULL), DDW_EINVAL);
    ob = o;
    ob.min_prob = 0.1;
    assert_int_equal(ddw_est_em(&pb, &md, &ob, NULL), DDW_EINVAL);
    ob = o;
    ob.max_iter = -1;
    assert_int_equal(ddw_est_em(&pb, &md, &ob, NULL), DDW_EINVAL);

    md = good;
    md.u[1][2] = 0.0; /* fixed u must be > 0 */
    assert_int_equal(ddw_est_em(&pb, &md, &o, NULL), DDW_EINVAL);
    md = good;
    md.lambda = NAN;
    assert_int_equal(ddw_est_em(&pb, &md, &o, NULL), DDW_EINVAL);
    md = good;
    md.m[0][1] = 1.5;
    ddw_est_model before = md;
    assert_int_equal(ddw_est_em(&pb, &md, &o, NULL), DDW_EINVAL);
    assert_memory_equal(&md, &before, sizeof md); /* untouched on error */

    /* an estimated row may start with zeros: floored before the first E step */
    md = good;
    md.m[0][1] = 0.0;
    md.m[0][2] = 1.0;
    ob = o;
    ob.max_iter = 0;
    ddw_est_trace tr = {NULL, NULL, -1, -1, 0};
    assert_int_equal(ddw_est_em(&pb, &md, &ob, &tr), DDW_OK);
    assert_int_equal(tr.niter, 0);
    assert_int_equal(tr.converged, 0);
    assert_true(md.m[0][1] == o.min_prob);
    assert_near(md.m[0][2], 1.0 - o.min_prob, 1e-15);
}

/* ---- combining passes ------------------------------------------------------------ */

static void test_combine_hand(void **state)
{
    (void)state;
    int nlev[4] = {3, 3, 3, 3};
    ddw_est_model pp[3];
    memset(pp, 0, sizeof pp);
    const double lam[3] = {0.1, 0.05, 0.4};
    /* m[c][1] per pass (m[c][2] = 1 - it) */
    const double m1[3][4] = {{0.9, 0.3, 0.2, 0.5}, {0.7, 0.8, 0.4, 0.6}, {0.1, 0.6, 0.1, 0.7}};
    for (int p = 0; p < 3; p++) {
        pp[p].lambda = lam[p];
        for (int c = 0; c < 4; c++) {
            pp[p].m[c][1] = m1[p][c];
            pp[p].m[c][2] = 1.0 - m1[p][c];
            pp[p].u[c][1] = 0.9 - 0.1 * c;
            pp[p].u[c][2] = 0.1 + 0.1 * c;
        }
    }
    pp[1].u[0][1] = 0.123; /* out->u comes from pass 0 */
    /* pass 0 blocks on c0, pass 1 on c1, pass 2 on c0; c3 fixed everywhere */
    const unsigned char fixed[3 * 4] = {1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1};
    const uint64_t weight[3] = {1000, 2000, 500}; /* expected matches 100, 100, 200 */
    ddw_est_model out;
    unsigned char kept[4] = {9, 9, 9, 9};
    double em = 0;
    assert_int_equal(ddw_est_combine_m(3, pp, fixed, weight, 4, nlev, &out, kept, &em), DDW_OK);
    const double e = 1e-12;
    assert_near(em, 400.0, e);
    assert_near(out.lambda, 400.0 / 3500.0, e);
    assert_near(out.m[0][1], 0.7, e); /* pass 1 only */
    assert_near(out.m[0][2], 0.3, e);
    assert_near(out.m[1][1], (100 * 0.3 + 200 * 0.6) / 300, e); /* = 0.5 */
    assert_near(out.m[1][2], 0.5, e);
    assert_near(out.m[2][1], (100 * 0.2 + 100 * 0.4 + 200 * 0.1) / 400, e); /* 0.2 */
    assert_near(out.m[2][2], 0.8, e);
    assert_true(out.m[3][1] == 0.5 && out.m[3][2] == 0.5); /* pass 0's value, exactly */
    assert_true(kept[0] == 0 && kept[1] == 0 && kept[2] == 0 && kept[3] == 1);
    for (int c = 0; c < 4; c++) {
        assert_true(out.u[c][1] == pp[0].u[c][1] && out.u[c][2] == pp[0].u[c][2]);
        assert_true(out.m[c][0] == 0.0 && out.u[c][0] == 0.0);
    }

    /* a pass with no expected matches contributes nothing */
    pp[1].lambda = 0.0;
    assert_int_equal(ddw_est_combine_m(3, pp, fixed, weight, 4, nlev, &out, kept, NULL),
                     DDW_OK);
    assert_true(kept[0] == 1 && out.m[0][1] == 0.9);
    assert_near(out.m[2][1], (100 * 0.2 + 200 * 0.1) / 300, e);

    pp[1].lambda = 1.5;
    assert_int_equal(ddw_est_combine_m(3, pp, fixed, weight, 4, nlev, &out, kept, NULL),
                     DDW_EINVAL);
    pp[1].lambda = 0.05;
    assert_int_equal(ddw_est_combine_m(0, pp, fixed, weight, 4, nlev, &out, kept, NULL),
                     DDW_EINVAL);
    assert_int_equal(ddw_est_combine_m(3, pp, fixed, weight, 0, nlev, &out, kept, NULL),
                     DDW_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_hand),
        cmocka_unit_test(test_codes_limits),
        cmocka_unit_test(test_codes_roundtrip),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_hist_random),
        cmocka_unit_test(test_u_from_counts_hand),
        cmocka_unit_test(test_em_recover_u_fixed),
        cmocka_unit_test(test_em_recover_u_estimated),
        cmocka_unit_test(test_em_fix_m),
        cmocka_unit_test(test_em_skip_blocked),
        cmocka_unit_test(test_em_deterministic),
        cmocka_unit_test(test_em_loglik_monotone),
        cmocka_unit_test(test_em_errors),
        cmocka_unit_test(test_combine_hand),
    };
    return cmocka_run_group_tests_name("estimate", tests, NULL, NULL);
}
