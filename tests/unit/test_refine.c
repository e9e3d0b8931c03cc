/*
 * test_refine.c - unit tests for component refinement (src/refine.c): date
 * of birth compatibility, ddw_refine_component on hand-made components, and
 * ddw_refine_run in the serial (one-rank) build.
 *
 * Trade-off: small components whose answer is written out by hand pin down
 * the contract (which edge is skipped, which key names each sub-cluster,
 * how ties fall), and 300 pseudo-random graphs with planted identity
 * conflicts are checked against a deliberately naive reference (labels
 * relabelled edge by edge, every record pair of the two sides checked with
 * ddw_refine_conflict) that shares none of the set summaries under test.
 * Thousands of such graphs side by side check ddw_refine_run on its
 * multi-threaded paths (1 and 4 OpenMP threads).  The multi-rank behaviour
 * is covered by tests/mpi/refine_mpi.c.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ddw_cluster.h"
#include "ddw_comm.h"
#include "ddw_norm.h"
#include "ddw_refine.h"

#define NONE DDW_REFINE_DOB_NONE

static int32_t D(int y, int m, int d) { return ddw_norm_days_from_civil(y, m, d); }

static const ddw_refine_opts BOTH = {1, 1, 0};

/* ---- dates of birth ------------------------------------------------------------- */

static void test_dob_compatible(void **state)
{
    (void)state;
    int32_t x = D(1985, 3, 12);
    /* equal, missing */
    assert_int_equal(ddw_refine_dob_compatible(x, x), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, NONE), 1);
    assert_int_equal(ddw_refine_dob_compatible(NONE, x), 1);
    assert_int_equal(ddw_refine_dob_compatible(NONE, NONE), 1);
    /* day and month swapped */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 12, 3)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(2001, 5, 7), D(2001, 7, 5)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1986, 12, 3)), 0); /* and another year */
    /* one digit of the day */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 3, 17)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 3, 22)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 3, 2)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 2, 8), D(1985, 2, 28)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 3, 21)), 0);  /* two digits */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 3, 13)), 1);  /* off by one */
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 3, 19), D(1985, 3, 20)), 0);
    /* one digit of the month */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 8, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 1, 12), D(1985, 11, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 10, 12)), 0); /* 03 vs 10 */
    /* one digit of the year */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1955, 3, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1984, 3, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(2985, 3, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1958, 3, 12)), 0); /* transposed */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1990, 3, 12)), 0);
    assert_int_equal(ddw_refine_dob_compatible(D(-15, 3, 12), D(-16, 3, 12)), 1); /* +-1 */
    assert_int_equal(ddw_refine_dob_compatible(D(-15, 3, 12), D(-25, 3, 12)), 0); /* no digits */
    /* year +-1, same day and month, across a decade */
    assert_int_equal(ddw_refine_dob_compatible(D(1989, 3, 12), D(1990, 3, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(2000, 3, 12), D(1999, 3, 12)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(1989, 3, 12), D(1991, 3, 12)), 0);
    assert_int_equal(ddw_refine_dob_compatible(D(1989, 3, 12), D(1990, 3, 13)), 0);
    /* 1 January of the same year is a placeholder */
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 1, 1), D(1985, 7, 23)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 7, 23), D(1985, 1, 1)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 1, 1), D(1985, 12, 31)), 1);
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 1, 1), D(1987, 7, 23)), 0);
    assert_int_equal(ddw_refine_dob_compatible(D(1985, 1, 2), D(1985, 7, 23)), 0);
    /* other incompatible pairs: two fields, far apart */
    assert_int_equal(ddw_refine_dob_compatible(x, D(1985, 4, 13)), 0);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1986, 3, 13)), 0);
    assert_int_equal(ddw_refine_dob_compatible(x, D(1970, 1, 1)), 0);
    assert_int_equal(ddw_refine_dob_compatible(x, x + 365), 1); /* 1986-03-12 */
    assert_int_equal(ddw_refine_dob_compatible(x, x + 400), 0);

    /* symmetric over a mixed bag of dates */
    const int32_t bag[] = {x,
                           NONE,
                           D(1985, 12, 3),
                           D(1985, 3, 17),
                           D(1985, 1, 1),
                           D(1986, 1, 1),
                           D(1984, 3, 12),
                           D(1989, 3, 12),
                           D(1990, 3, 12),
                           D(1985, 10, 12),
                           D(1985, 1, 12),
                           D(1985, 11, 12),
                           D(2000, 2, 29),
                           D(2000, 2, 9),
                           D(1969, 12, 31),
                           D(1970, 1, 1),
                           0,
                           -1,
                           INT32_MAX};
    size_t n = sizeof bag / sizeof bag[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            assert_int_equal(ddw_refine_dob_compatible(bag[i], bag[j]),
                             ddw_refine_dob_compatible(bag[j], bag[i]));
}

static void test_conflict(void **state)
{
    (void)state;
    ddw_refine_rec p1 = {1, 0, 111, NONE, 1, 0}, p2 = {2, 0, 222, NONE, 1, 0};
    ddw_refine_rec p2bad = {3, 0, 222, NONE, 0, 0}, p0 = {4, 0, 0, NONE, 1, 0};
    assert_int_equal(ddw_refine_conflict(&BOTH, &p1, &p2), 1);
    assert_int_equal(ddw_refine_conflict(&BOTH, &p1, &p1), 0);
    assert_int_equal(ddw_refine_conflict(&BOTH, &p1, &p2bad), 0); /* invalid: no conflict */
    assert_int_equal(ddw_refine_conflict(&BOTH, &p1, &p0), 0);    /* 0 = no ID */
    ddw_refine_opts dob_only = {0, 1, 0}, pnc_only = {1, 0, 0};
    assert_int_equal(ddw_refine_conflict(&dob_only, &p1, &p2), 0);
    ddw_refine_rec d1 = {5, 0, 111, D(1985, 3, 12), 1, 0}, d2 = {6, 0, 111, D(1990, 3, 12), 1, 0};
    assert_int_equal(ddw_refine_conflict(&BOTH, &d1, &d2), 1);
    assert_int_equal(ddw_refine_conflict(&pnc_only, &d1, &d2), 0);
    assert_int_equal(ddw_refine_conflict(&dob_only, &d1, &d2), 1);
}

/* ---- hand-made components -------------------------------------------------------- */

/* Runs ddw_refine_component and checks person_out against want and the skip count. */
static void check_component(const ddw_refine_opts *o, size_t n, const ddw_refine_rec *r,
                            size_t m, const ddw_refine_edge *e, const uint64_t *want,
                            size_t want_skipped)
{
    uint64_t got[16];
    size_t skipped = 99;
    assert_true(n <= 16);
    assert_int_equal(ddw_refine_component(o, n, r, m, e, got, &skipped), DDW_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
    assert_int_equal(skipped, want_skipped);
}

/* A(10, PNC 111) -0.6- B(20) -0.9- C(30, PNC 222): the weak A-B edge goes. */
static void test_chain_pnc(void **state)
{
    (void)state;
    ddw_refine_rec r[] = {{10, 10, 111, NONE, 1, 0}, {20, 10, 0, NONE, 0, 0}, {30, 10, 222, NONE, 1, 0}};
    ddw_refine_edge e[] = {{10, 20, 0.6}, {20, 30, 0.9}};
    check_component(&BOTH, 3, r, 2, e, (const uint64_t[]){10, 20, 20}, 1);
    /* the stronger edge the other way round: C goes alone */
    ddw_refine_edge e2[] = {{10, 20, 0.9}, {30, 20, 0.6}};
    check_component(&BOTH, 3, r, 2, e2, (const uint64_t[]){10, 10, 30}, 1);
    /* without the PNC check, or with an invalid ID on A: plain components */
    ddw_refine_opts dob_only = {0, 1, 0};
    check_component(&dob_only, 3, r, 2, e, (const uint64_t[]){10, 10, 10}, 0);
    r[0].pnc_valid = 0;
    check_component(&BOTH, 3, r, 2, e, (const uint64_t[]){10, 10, 10}, 0);
    /* the same ID on both ends: no conflict */
    r[0].pnc_valid = 1;
    r[0].pnc = 222;
    check_component(&BOTH, 3, r, 2, e, (const uint64_t[]){10, 10, 10}, 0);
    /* a direct A-C edge stronger than everything: A and C still never meet */
    r[0].pnc = 111;
    ddw_refine_edge e3[] = {{10, 20, 0.6}, {20, 30, 0.9}, {30, 10, 1.0}, {10, 20, 0.6}};
    check_component(&BOTH, 3, r, 4, e3, (const uint64_t[]){10, 20, 20}, 3);
}

/* Dates: compatible pairwise along the chain, not across it. */
static void test_dob_split(void **state)
{
    (void)state;
    ddw_refine_rec r[] = {{7, 0, 0, D(1985, 3, 12), 0, 0},
                          {5, 0, 0, NONE, 0, 0},
                          {9, 0, 0, D(1990, 7, 1), 0, 0}};
    ddw_refine_edge e[] = {{7, 5, 0.9}, {5, 9, 0.5}};
    check_component(&BOTH, 3, r, 2, e, (const uint64_t[]){5, 5, 9}, 1);
    ddw_refine_opts pnc_only = {1, 0, 0};
    check_component(&pnc_only, 3, r, 2, e, (const uint64_t[]){5, 5, 5}, 0);

    /* 12 ~ 13 (one digit), 13 ~ 23 (one digit), but 12 !~ 23 */
    ddw_refine_rec s[] = {{1, 0, 0, D(1985, 3, 12), 0, 0},
                          {2, 0, 0, D(1985, 3, 13), 0, 0},
                          {3, 0, 0, D(1985, 3, 23), 0, 0},
                          {4, 0, 0, D(1985, 1, 1), 0, 0}};
    ddw_refine_edge f[] = {{1, 2, 0.9}, {2, 3, 0.8}, {3, 4, 0.7}};
    check_component(&BOTH, 4, s, 3, f, (const uint64_t[]){1, 1, 3, 3}, 1);
    /* the placeholder joins whichever side it meets first */
    ddw_refine_edge g[] = {{1, 2, 0.9}, {2, 3, 0.8}, {3, 4, 0.7}, {4, 1, 0.95}};
    check_component(&BOTH, 4, s, 4, g, (const uint64_t[]){1, 1, 3, 1}, 2);
}

/*
 * attach_once: named A = {1, 2} and B = {3, 4} (edges 0.95), initials-only
 * n = 5 with edges to A (0.7) and B (0.6), and n' = 6 whose only strong edge
 * goes to B (0.8) while it links to n (0.5).  Plain components make one
 * person; with use_attach n joins A only, n' joins B only, and the n-n'
 * edge is refused because both ends are anchored by then.
 */
static void test_attach_once(void **state)
{
    (void)state;
    ddw_refine_rec r[] = {{1, 0, 0, NONE, 0, 0}, {2, 0, 0, NONE, 0, 0}, {3, 0, 0, NONE, 0, 0},
                          {4, 0, 0, NONE, 0, 0}, {5, 0, 0, NONE, 0, 1}, {6, 0, 0, NONE, 0, 1}};
    ddw_refine_edge e[] = {{1, 2, 0.95}, {3, 4, 0.95}, {5, 1, 0.7},
                           {5, 3, 0.6},  {6, 4, 0.8},  {5, 6, 0.5}};
    ddw_refine_opts off = {1, 0, 0}, on = {1, 0, 1};
    check_component(&off, 6, r, 6, e, (const uint64_t[]){1, 1, 1, 1, 1, 1}, 0);
    check_component(&on, 6, r, 6, e, (const uint64_t[]){1, 1, 3, 3, 1, 3}, 2);
    /* a strong edge between the anchored sets is not restricted */
    ddw_refine_edge f[] = {{1, 2, 0.95}, {3, 4, 0.95}, {5, 1, 0.7}, {5, 3, 0.6}, {2, 4, 0.4}};
    check_component(&on, 5, r, 5, f, (const uint64_t[]){1, 1, 1, 1, 1}, 1);
    /* initials-only records link among themselves, then the group attaches once:
     * 5-6 (0.9) first, then 6-B (0.8), then 5-A (0.7) is refused */
    ddw_refine_edge g[] = {{1, 2, 0.95}, {3, 4, 0.95}, {5, 6, 0.9}, {6, 4, 0.8}, {5, 1, 0.7}};
    check_component(&on, 6, r, 5, g, (const uint64_t[]){1, 1, 3, 3, 3, 3}, 1);
    /* a component of attach_once records only is plain components */
    ddw_refine_rec w[] = {{5, 0, 0, NONE, 0, 1}, {6, 0, 0, NONE, 0, 1}, {7, 0, 0, NONE, 0, 1}};
    ddw_refine_edge h[] = {{5, 6, 0.5}, {6, 7, 0.4}};
    check_component(&on, 3, w, 2, h, (const uint64_t[]){5, 5, 5}, 0);
    /* the PNC rule still applies alongside */
    r[0].pnc = 111, r[0].pnc_valid = 1, r[2].pnc = 222, r[2].pnc_valid = 1;
    check_component(&on, 5, r, 5, f, (const uint64_t[]){1, 1, 3, 3, 1}, 2);
}

/* Equal weights fall by (a, b); input order never matters. */
static void test_ties(void **state)
{
    (void)state;
    ddw_refine_rec r[] = {{10, 0, 1, NONE, 1, 0}, {20, 0, 0, NONE, 0, 0}, {30, 0, 2, NONE, 1, 0}};
    /* (10,20) sorts before (20,30): B joins A */
    ddw_refine_edge e[] = {{20, 30, 0.5}, {10, 20, 0.5}};
    check_component(&BOTH, 3, r, 2, e, (const uint64_t[]){10, 10, 30}, 1);
    /* (20,10) vs (20,30): b decides, B still joins A */
    ddw_refine_edge e2[] = {{20, 30, 0.5}, {20, 10, 0.5}};
    check_component(&BOTH, 3, r, 2, e2, (const uint64_t[]){10, 10, 30}, 1);
    /* (20,10) sorts before (30,20): B joins A */
    ddw_refine_edge e3[] = {{30, 20, 0.5}, {20, 10, 0.5}};
    check_component(&BOTH, 3, r, 2, e3, (const uint64_t[]){10, 10, 30}, 1);
    /* IDs on the other keys: (10,20) first, B joins key 10 and key 30 stays alone */
    ddw_refine_edge e4[] = {{10, 20, 0.5}, {20, 30, 0.5}};
    ddw_refine_rec r4[] = {{30, 0, 1, NONE, 1, 0}, {20, 0, 0, NONE, 0, 0}, {10, 0, 2, NONE, 1, 0}};
    check_component(&BOTH, 3, r4, 2, e4, (const uint64_t[]){30, 10, 10}, 1);
    /* NaN weights come last */
    ddw_refine_edge e5[] = {{10, 20, NAN}, {20, 30, -1.0}};
    check_component(&BOTH, 3, r, 2, e5, (const uint64_t[]){10, 20, 20}, 1);
    ddw_refine_edge e5b[] = {{20, 30, NAN}, {10, 20, -INFINITY}};
    check_component(&BOTH, 3, r, 2, e5b, (const uint64_t[]){10, 10, 30}, 1);
    /* -0 and +0 are equal weights: (10,20) before (20,30) either way */
    ddw_refine_edge e6[] = {{20, 30, 0.0}, {10, 20, -0.0}};
    check_component(&BOTH, 3, r, 2, e6, (const uint64_t[]){10, 10, 30}, 1);
    ddw_refine_edge e7[] = {{20, 30, -0.0}, {10, 20, 0.0}};
    check_component(&BOTH, 3, r, 2, e7, (const uint64_t[]){10, 10, 30}, 1);
    /* tiny differences count: the denormal wins over zero */
    ddw_refine_edge e8[] = {{20, 30, 5e-324}, {10, 20, 0.0}};
    check_component(&BOTH, 3, r, 2, e8, (const uint64_t[]){10, 20, 20}, 1);

    /* every order of records and edges (with a duplicate) gives one answer */
    ddw_refine_rec q[] = {{4, 0, 0, NONE, 0, 0}, {8, 0, 5, NONE, 1, 0}, {6, 0, 6, NONE, 1, 0},
                          {2, 0, 0, NONE, 0, 0}};
    ddw_refine_edge f[] = {{4, 8, 0.5}, {4, 6, 0.5}, {2, 4, 0.5}, {6, 2, 0.5}, {4, 8, 0.5}};
    uint64_t want[4];
    size_t want_sk;
    assert_int_equal(ddw_refine_component(&BOTH, 4, q, 5, f, want, &want_sk), DDW_OK);
    /* (2,4): {2,4}; (4,6): {2,4,6}; (4,8) x2 conflicts; (6,2) same set */
    assert_int_equal(want[0], 2);
    assert_int_equal(want[1], 8);
    assert_int_equal(want[2], 2);
    assert_int_equal(want[3], 2);
    assert_int_equal(want_sk, 2);
    uint64_t s = 77;
    for (int t = 0; t < 50; t++) {
        ddw_refine_rec q2[4];
        ddw_refine_edge f2[5];
        memcpy(q2, q, sizeof q);
        memcpy(f2, f, sizeof f);
        for (int k = 3; k > 0; k--) {
            s = ddw_mix64(s);
            int j = (int)(s % (uint64_t)(k + 1));
            ddw_refine_rec tr = q2[k];
            q2[k] = q2[j];
            q2[j] = tr;
        }
        for (int k = 4; k > 0; k--) {
            s = ddw_mix64(s);
            int j = (int)(s % (uint64_t)(k + 1));
            ddw_refine_edge te = f2[k];
            f2[k] = f2[j];
            f2[j] = te;
        }
        uint64_t got[4];
        size_t sk;
        assert_int_equal(ddw_refine_component(&BOTH, 4, q2, 5, f2, got, &sk), DDW_OK);
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++)
                if (q2[i].key == q[k].key)
                    assert_int_equal(got[i], want[k]);
        assert_int_equal(sk, want_sk);
    }
}

/* No conflict anywhere: connected components, however the edges look. */
static void test_no_conflict(void **state)
{
    (void)state;
    /* two groups {3,9,12} and {5,40}, a loner 1, self-loop, reversed duplicates */
    ddw_refine_rec r[] = {{9, 0, 77, D(1985, 3, 12), 1, 0},  {40, 0, 0, NONE, 0, 0},
                          {3, 0, 77, D(1985, 12, 3), 1, 0},  {12, 0, 77, D(1985, 1, 1), 0, 0},
                          {5, 0, 99, D(1961, 6, 30), 1, 0},  {1, 0, 0, D(2000, 1, 1), 1, 0}};
    ddw_refine_edge e[] = {{9, 3, 0.1}, {12, 9, -5}, {3, 9, 0.7}, {40, 5, 0.2}, {40, 40, 1}};
    check_component(&BOTH, 6, r, 5, e, (const uint64_t[]){3, 5, 3, 3, 5, 1}, 0);
    /* no edges at all; and nothing at all */
    check_component(&BOTH, 6, r, 0, NULL, (const uint64_t[]){9, 40, 3, 12, 5, 1}, 0);
    size_t sk = 5;
    assert_int_equal(ddw_refine_component(&BOTH, 0, NULL, 0, NULL, NULL, &sk), DDW_OK);
    assert_int_equal(sk, 0);
    /* skipped may be NULL */
    uint64_t got[6];
    assert_int_equal(ddw_refine_component(&BOTH, 6, r, 5, e, got, NULL), DDW_OK);
    assert_int_equal(got[0], 3);
}

static void test_component_errors(void **state)
{
    (void)state;
    ddw_refine_rec r[] = {{1, 0, 0, NONE, 0, 0}, {2, 0, 0, NONE, 0, 0}, {1, 0, 0, NONE, 0, 0}};
    ddw_refine_edge e[] = {{1, 3, 0.5}};
    uint64_t got[3];
    size_t sk;
    assert_int_equal(ddw_refine_component(&BOTH, 2, r, 1, e, got, &sk), DDW_EINVAL);
    assert_int_equal(ddw_refine_component(&BOTH, 3, r, 0, NULL, got, &sk), DDW_EINVAL);
    assert_int_equal(ddw_refine_component(&BOTH, 0, NULL, 1, e, got, &sk), DDW_EINVAL);
}

/* ---- random graphs: naive reference, and ddw_refine_run on one rank ----------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n) { return n ? (size_t)(rng_next(s) % n) : 0; }

/* A date of birth near base: mostly base itself, sometimes a typing variant. */
static int32_t dob_variant(uint64_t *s, int32_t base)
{
    int y, m, d;
    ddw_norm_civil_from_days(base, &y, &m, &d);
    switch (rng_below(s, 12)) {
    case 0: return NONE;
    case 1: return d <= 12 ? D(y, d, m) : base;      /* swapped */
    case 2: return D(y, 1, 1);                        /* placeholder */
    case 3: return D(y + (rng_below(s, 2) ? 1 : -1), m, d);
    case 4: return D(y, m, 1 + (int)rng_below(s, 28)); /* maybe compatible */
    case 5: return base + (int32_t)rng_below(s, 4000) - 2000; /* anything */
    default: return base;
    }
}

typedef struct {
    size_t n, m;
    ddw_refine_rec *r;
    ddw_refine_edge *e;
} rgraph;

/*
 * Records of a few true people (mostly agreeing identities, some typos and
 * missing values), strong edges within people, weak chaining edges across,
 * weights on a coarse grid so ties are common.
 */
static void make_rgraph(uint64_t *s, rgraph *g)
{
    size_t n = 1 + rng_below(s, 120), npeople = 1 + rng_below(s, n);
    size_t m = rng_below(s, 3 * n);
    g->n = n;
    g->m = m;
    g->r = malloc(n * sizeof *g->r);
    g->e = malloc((m + 1) * sizeof *g->e);
    assert_non_null(g->r);
    assert_non_null(g->e);
    size_t *who = malloc(n * sizeof *who);
    assert_non_null(who);
    for (size_t i = 0; i < n; i++) {
        size_t p = rng_below(s, npeople);
        who[i] = p;
        uint64_t key = 0;
        for (int dup = 1; dup;) {
            key = rng_below(s, 3) ? 1 + rng_below(s, 8 * n) : rng_next(s);
            dup = 0;
            for (size_t j = 0; j < i; j++)
                dup |= g->r[j].key == key;
        }
        int32_t base = D(1930 + (int)(p * 7 % 80), 1 + (int)(p % 12), 1 + (int)(p * 5 % 28));
        uint64_t pnc = rng_below(s, 3) == 0 ? 0 : 1000 + p;
        if (rng_below(s, 15) == 0)
            pnc = 5000 + rng_below(s, 100); /* a typo */
        int32_t dob = dob_variant(s, base);
        int32_t valid = rng_below(s, 8) != 0;
        g->r[i] = (ddw_refine_rec){key, 0, pnc, dob, valid, 0};
    }
    for (size_t k = 0; k < m; k++) {
        size_t x = rng_below(s, n), y = rng_below(s, n);
        int strong = who[x] == who[y];
        if (!strong && rng_below(s, 2)) { /* retry once for an edge within a person */
            y = rng_below(s, n);
            strong = who[x] == who[y];
        }
        double w = (double)rng_below(s, 8) / 8.0 + (strong ? 1.0 : 0.0);
        if (rng_below(s, 5) == 0)
            w = (double)(rng_next(s) >> 11) / 9007199254740992.0 * 3.0 - 1.0;
        g->e[k] = (ddw_refine_edge){g->r[x].key, g->r[y].key, w};
    }
    free(who);
}

static size_t index_of(const rgraph *g, uint64_t key)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->r[i].key == key)
            return i;
    fail_msg("unknown key");
    return 0;
}

static int cmp_edge_ref(const void *x, const void *y)
{
    const ddw_refine_edge *p = x, *q = y;
    if (p->w != q->w)
        return p->w > q->w ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

/*
 * Naive reference for a whole graph: labels over record indexes, edges in
 * canonical order, a merge checked over every record pair of the two sides.
 * person[i] = smallest key with i's label; returns the skip count.
 */
static size_t naive(const ddw_refine_opts *o, const rgraph *g, uint64_t *person)
{
    size_t n = g->n, m = g->m, nskip = 0;
    size_t *lab = malloc(n * sizeof *lab);
    ddw_refine_edge *e = malloc((m + 1) * sizeof *e);
    assert_non_null(lab);
    assert_non_null(e);
    memcpy(e, g->e, m * sizeof *e);
    qsort(e, m, sizeof *e, cmp_edge_ref);
    for (size_t i = 0; i < n; i++)
        lab[i] = i;
    for (size_t k = 0; k < m; k++) {
        size_t la = lab[index_of(g, e[k].a)], lb = lab[index_of(g, e[k].b)];
        if (la == lb)
            continue;
        int bad = 0;
        for (size_t i = 0; i < n && !bad; i++)
            for (size_t j = 0; j < n && !bad; j++)
                bad = lab[i] == la && lab[j] == lb && ddw_refine_conflict(o, &g->r[i], &g->r[j]);
        if (bad) {
            nskip++;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if (lab[i] == lb)
                lab[i] = la;
    }
    for (size_t i = 0; i < n; i++) {
        person[i] = UINT64_MAX;
        for (size_t j = 0; j < n; j++)
            if (lab[j] == lab[i] && g->r[j].key < person[i])
                person[i] = g->r[j].key;
    }
    free(lab);
    free(e);
    return nskip;
}

static ddw_comm *open_comm(void)
{
    ddw_comm *c = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &c), DDW_OK);
    assert_int_equal(ddw_comm_size(c), 1);
    return c;
}

static void test_random_graphs(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    uint64_t s = 0x4ef1e;
    const ddw_refine_opts optv[] = {{1, 1, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 0}};
    size_t total_skipped = 0, total_split = 0;
    for (int gi = 0; gi < 300; gi++) {
        rgraph g;
        make_rgraph(&s, &g);
        const ddw_refine_opts *o = &optv[gi % 4];
        size_t n = g.n, m = g.m;
        uint64_t *cc = malloc(n * sizeof *cc), *want = malloc(n * sizeof *want);
        uint64_t *got = malloc(n * sizeof *got), *comp = malloc(n * sizeof *comp);
        uint64_t *a = malloc((m + 1) * sizeof *a), *b = malloc((m + 1) * sizeof *b);
        uint64_t *keys = malloc(n * sizeof *keys);
        double *w = malloc((m + 1) * sizeof *w);
        ddw_refine_rec *cr = malloc(n * sizeof *cr);
        ddw_refine_edge *ce = malloc((m + 1) * sizeof *ce);
        size_t *at = malloc(n * sizeof *at);
        assert_true(cc && want && got && comp && a && b && keys && w && cr && ce && at);
        for (size_t k = 0; k < m; k++) {
            a[k] = g.e[k].a;
            b[k] = g.e[k].b;
            w[k] = g.e[k].w;
        }
        for (size_t i = 0; i < n; i++)
            keys[i] = g.r[i].key;
        ddw_cluster_stats cst;
        assert_int_equal(ddw_cluster_run(comm, a, b, m, keys, n, cc, &cst), DDW_OK);
        for (size_t i = 0; i < n; i++)
            g.r[i].person = cc[i];

        /* the whole graph in one call is the naive reference */
        size_t sk_naive = naive(o, &g, want), sk;
        assert_int_equal(ddw_refine_component(o, n, g.r, m, g.e, got, &sk), DDW_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(got[i] == want[i]);
        assert_int_equal(sk, sk_naive);

        /* ddw_refine_component per component, and its statistics */
        ddw_refine_stats ref = {0, 0, 0, 0};
        for (size_t i = 0; i < n; i++)
            comp[i] = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            if (comp[i] != UINT64_MAX)
                continue;
            size_t nr = 0, ne = 0;
            for (size_t j = 0; j < n; j++)
                if (cc[j] == cc[i]) {
                    at[nr] = j;
                    cr[nr++] = g.r[j];
                }
            for (size_t k = 0; k < m; k++)
                if (cc[index_of(&g, g.e[k].a)] == cc[i])
                    ce[ne++] = g.e[k];
            uint64_t *po = malloc(nr * sizeof *po);
            assert_non_null(po);
            assert_int_equal(ddw_refine_component(o, nr, cr, ne, ce, po, &sk), DDW_OK);
            size_t nsub = 0;
            int conflicted = 0;
            for (size_t x = 0; x < nr; x++) {
                comp[at[x]] = po[x];
                nsub += po[x] == cr[x].key;
                for (size_t y = 0; y < nr; y++) {
                    conflicted |= ddw_refine_conflict(o, &cr[x], &cr[y]);
                    if (po[x] == po[y]) /* a sub-cluster never holds a conflict */
                        assert_false(ddw_refine_conflict(o, &cr[x], &cr[y]));
                }
            }
            if (!conflicted) { /* exactly connected components */
                assert_int_equal(nsub, 1);
                assert_int_equal(sk, 0);
            }
            ref.components_checked += nr >= 2;
            ref.components_split += nsub >= 2;
            ref.edges_skipped += sk;
            ref.subclusters_created += nsub - 1;
            free(po);
        }
        for (size_t i = 0; i < n; i++)
            assert_true(comp[i] == want[i]);
        total_skipped += ref.edges_skipped;
        total_split += ref.components_split;

        /* ddw_refine_run on one rank, records in another order */
        memcpy(cr, g.r, n * sizeof *cr);
        for (size_t k = n; k > 1; k--) {
            size_t j = rng_below(&s, k);
            ddw_refine_rec t = cr[k - 1];
            cr[k - 1] = cr[j];
            cr[j] = t;
        }
        ddw_refine_stats st;
        assert_int_equal(ddw_refine_run(comm, o, n, cr, m, a, b, w, got, &st), DDW_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(got[i] == want[index_of(&g, cr[i].key)]);
        assert_true(st.components_checked == ref.components_checked);
        assert_true(st.components_split == ref.components_split);
        assert_true(st.edges_skipped == ref.edges_skipped);
        assert_true(st.subclusters_created == ref.subclusters_created);
        if (!o->use_pnc && !o->use_dob)
            assert_true(st.edges_skipped == 0 && st.components_split == 0);
        free(cc);
        free(want);
        free(got);
        free(comp);
        free(a);
        free(b);
        free(keys);
        free(w);
        free(cr);
        free(ce);
        free(at);
        free(g.r);
        free(g.e);
    }
    /* the generator does plant conflicts */
    assert_true(total_skipped > 100);
    assert_true(total_split > 50);
    ddw_comm_finalize(&comm);
}

static void test_run_hand(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    /* the PNC chain plus a separate pair and a loner, as connected components left them */
    ddw_refine_rec home[] = {{30, 10, 222, NONE, 1, 0}, {50, 50, 0, NONE, 0, 0}, {10, 10, 111, NONE, 1, 0},
                             {60, 50, 0, NONE, 0, 0},   {20, 10, 0, NONE, 0, 0},  {99, 99, 7, NONE, 1, 0}};
    const uint64_t a[] = {20, 10, 60}, b[] = {30, 20, 50};
    const double w[] = {0.9, 0.6, 0.3};
    uint64_t got[6];
    ddw_refine_stats st;
    assert_int_equal(ddw_refine_run(comm, &BOTH, 6, home, 3, a, b, w, got, &st), DDW_OK);
    const uint64_t want[] = {20, 50, 10, 50, 20, 99};
    for (int i = 0; i < 6; i++)
        assert_int_equal(got[i], want[i]);
    assert_int_equal(st.components_checked, 2);
    assert_int_equal(st.components_split, 1);
    assert_int_equal(st.edges_skipped, 1);
    assert_int_equal(st.subclusters_created, 1);
    /* nothing at all */
    assert_int_equal(ddw_refine_run(comm, &BOTH, 0, NULL, 0, NULL, NULL, NULL, NULL, &st), DDW_OK);
    assert_int_equal(st.components_checked, 0);
    /* errors: no options, unknown key, endpoints in different components, duplicate key */
    assert_int_equal(ddw_refine_run(comm, NULL, 6, home, 3, a, b, w, got, &st), DDW_EINVAL);
    const uint64_t bad_a[] = {20, 10, 61};
    assert_int_equal(ddw_refine_run(comm, &BOTH, 6, home, 3, bad_a, b, w, got, &st), DDW_EINVAL);
    const uint64_t bad_b[] = {30, 20, 10};
    assert_int_equal(ddw_refine_run(comm, &BOTH, 6, home, 3, a, bad_b, w, got, &st), DDW_EINVAL);
    home[5].key = 30;
    assert_int_equal(ddw_refine_run(comm, &BOTH, 6, home, 3, a, b, w, got, &st), DDW_EINVAL);
    ddw_comm_finalize(&comm);
}

/*
 * Thousands of random graphs side by side (about 180000 records and 270000
 * edges: the multi-threaded sorts, directory and component loop), records
 * and edges shuffled: ddw_refine_run at 1 and 4 threads gives each graph's
 * ddw_refine_component answer and identical statistics.
 */
static void test_run_threads_large(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    const size_t ngraphs = 3000;
    uint64_t s = 0x1a26e;
    size_t n = 0, m = 0, rcap = 0, ecap = 0;
    ddw_refine_rec *rec = NULL;
    ddw_refine_edge *edge = NULL;
    uint64_t *want = NULL, next_row = 2, want_skipped = 0;
    for (size_t gi = 0; gi < ngraphs; gi++) {
        rgraph g;
        make_rgraph(&s, &g);
        /* fresh keys, distinct over all graphs, in random order */
        uint64_t *nk = malloc(g.n * sizeof *nk);
        assert_non_null(nk);
        for (size_t i = 0; i < g.n; i++)
            nk[i] = DDW_KEY(rng_below(&s, 6), next_row + i);
        for (size_t k = g.n; k > 1; k--) {
            size_t j = rng_below(&s, k);
            uint64_t t = nk[k - 1];
            nk[k - 1] = nk[j];
            nk[j] = t;
        }
        next_row += g.n;
        for (size_t k = 0; k < g.m; k++) {
            g.e[k].a = nk[index_of(&g, g.e[k].a)];
            g.e[k].b = nk[index_of(&g, g.e[k].b)];
        }
        for (size_t i = 0; i < g.n; i++)
            g.r[i].key = nk[i];
        free(nk);
        if (n + g.n > rcap) {
            rcap = 2 * (n + g.n);
            rec = realloc(rec, rcap * sizeof *rec);
            want = realloc(want, rcap * sizeof *want);
            assert_non_null(rec);
            assert_non_null(want);
        }
        if (m + g.m > ecap) {
            ecap = 2 * (m + g.m) + 1;
            edge = realloc(edge, ecap * sizeof *edge);
            assert_non_null(edge);
        }
        size_t sk;
        assert_int_equal(ddw_refine_component(&BOTH, g.n, g.r, g.m, g.e, want + n, &sk), DDW_OK);
        want_skipped += sk;
        memcpy(rec + n, g.r, g.n * sizeof *rec);
        memcpy(edge + m, g.e, g.m * sizeof *edge);
        n += g.n;
        m += g.m;
        free(g.r);
        free(g.e);
    }
    assert_true(n > 100000 && m > 100000);
    /* shuffle records (with their answers) and edges */
    for (size_t k = n; k > 1; k--) {
        size_t j = rng_below(&s, k);
        ddw_refine_rec t = rec[k - 1];
        rec[k - 1] = rec[j];
        rec[j] = t;
        uint64_t tw = want[k - 1];
        want[k - 1] = want[j];
        want[j] = tw;
    }
    for (size_t k = m; k > 1; k--) {
        size_t j = rng_below(&s, k);
        ddw_refine_edge t = edge[k - 1];
        edge[k - 1] = edge[j];
        edge[j] = t;
    }
    uint64_t *a = malloc((m + 1) * sizeof *a), *b = malloc((m + 1) * sizeof *b);
    uint64_t *keys = malloc(n * sizeof *keys), *got = malloc(n * sizeof *got);
    double *w = malloc((m + 1) * sizeof *w);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(keys);
    assert_non_null(got);
    assert_non_null(w);
    for (size_t k = 0; k < m; k++) {
        a[k] = edge[k].a;
        b[k] = edge[k].b;
        w[k] = edge[k].w;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = rec[i].key;
    ddw_cluster_stats cs;
    assert_int_equal(ddw_cluster_run(comm, a, b, m, keys, n, got, &cs), DDW_OK);
    for (size_t i = 0; i < n; i++)
        rec[i].person = got[i];
    ddw_refine_stats first = {0, 0, 0, 0};
    for (int threads = 1; threads <= 4; threads += 3) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        ddw_refine_stats st;
        memset(got, 0, n * sizeof *got);
        assert_int_equal(ddw_refine_run(comm, &BOTH, n, rec, m, a, b, w, got, &st), DDW_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(got[i] == want[i]);
        assert_true(st.edges_skipped == want_skipped);
        if (threads == 1) {
            first = st;
            assert_true(st.components_split > 100);
        } else {
            assert_true(st.components_checked == first.components_checked);
            assert_true(st.components_split == first.components_split);
            assert_true(st.edges_skipped == first.edges_skipped);
            assert_true(st.subclusters_created == first.subclusters_created);
        }
    }
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    free(rec);
    free(edge);
    free(want);
    free(a);
    free(b);
    free(keys);
    free(got);
    free(w);
    ddw_comm_finalize(&comm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dob_compatible), cmocka_unit_test(test_conflict),
        cmocka_unit_test(test_chain_pnc),      cmocka_unit_test(test_dob_split),
        cmocka_unit_test(test_ties),           cmocka_unit_test(test_no_conflict),
        cmocka_unit_test(test_component_errors), cmocka_unit_test(test_random_graphs),
        cmocka_unit_test(test_run_hand),       cmocka_unit_test(test_attach_once),
        cmocka_unit_test(test_run_threads_large),
    };
    return cmocka_run_group_tests_name("refine", tests, NULL, NULL);
}
