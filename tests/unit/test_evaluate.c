/*
 * test_evaluate.c - unit tests for the evaluation (src/evaluate.c): the
 * metrics on tiny clusterings worked out by hand, the truth CSV join and
 * its error reports, and the JSON form.
 *
 * Trade-off: the hand-worked cases pin the definitions down (each expected
 * value is written as the fraction it is, with the working in a comment),
 * and 300 pseudo-random clusterings are checked against a deliberately
 * naive reference that enumerates every pair of records and every record's
 * cluster, sharing nothing with the counting code under test.  Error
 * reports are captured with open_memstream and matched on their key words.
 * The partitioned counting (ddw_eval_sums) must give the whole's figures
 * in every bit however the records are split by person, and the
 * distributed join at one rank must report exactly what the serial join
 * does (the MPI test tests/mpi/evaluate.sh covers several ranks).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ddw_evaluate.h"

#define NOSRC(n) calloc((n), sizeof(int32_t))

static void assert_frac(double got, double num, double den)
{
    double want = num / den;
    if (fabs(got - want) > 1e-12)
        fail_msg("got %.17g, want %g/%g = %.17g", got, num, den, want);
}

/* Runs ddw_evaluate_counts on one source. */
static ddw_eval_result eval1(size_t n, const uint64_t *found, const uint64_t *truth)
{
    int32_t *src = NOSRC(n ? n : 1);
    ddw_eval_result r;
    assert_int_equal(ddw_evaluate_counts(n, found, truth, src, 1, &r), DDW_OK);
    free(src);
    assert_int_equal(r.npairs, 1);
    return r;
}

static void assert_counts(const ddw_eval_metrics *m, uint64_t records, uint64_t tp,
                          uint64_t found_pairs, uint64_t true_pairs, uint64_t pfound,
                          uint64_t ptrue, uint64_t split, uint64_t merged)
{
    assert_int_equal(m->records, records);
    assert_int_equal(m->true_positive_pairs, tp);
    assert_int_equal(m->found_pairs, found_pairs);
    assert_int_equal(m->true_pairs, true_pairs);
    assert_int_equal(m->persons_found, pfound);
    assert_int_equal(m->persons_true, ptrue);
    assert_int_equal(m->true_persons_split, split);
    assert_int_equal(m->found_persons_merged, merged);
}

/* With one source the single pair (0, 0) must equal the overall figures. */
static void assert_same(const ddw_eval_metrics *a, const ddw_eval_metrics *b)
{
    for (int k = 0; k < ddw_eval_nfields; k++)
        assert_true(fabs(ddw_eval_field_f64(a, k) - ddw_eval_field_f64(b, k)) < 1e-12);
}

/* Truth {0,1,2} {3,4} {5} throughout the single-source cases. */
static const uint64_t TRUTH6[6] = {7, 7, 7, 9, 9, 4};

static void test_perfect(void **state)
{
    (void)state;
    /* found = truth up to labels: 3 + 1 pairs, all right */
    const uint64_t found[6] = {100, 100, 100, 5, 5, 77};
    ddw_eval_result r = eval1(6, found, TRUTH6);
    assert_counts(&r.all, 6, 4, 4, 4, 3, 3, 0, 0);
    assert_frac(r.all.pair_precision, 1, 1);
    assert_frac(r.all.pair_recall, 1, 1);
    assert_frac(r.all.pair_f1, 1, 1);
    assert_frac(r.all.bcubed_precision, 1, 1);
    assert_frac(r.all.bcubed_recall, 1, 1);
    assert_frac(r.all.bcubed_f1, 1, 1);
    assert_same(&r.all, &r.pair[0]);
    ddw_eval_result_free(&r);
    assert_null(r.pair);
}

static void test_all_merged(void **state)
{
    (void)state;
    /* one found person: found pairs C(6,2) = 15, TP = 3 + 1 = 4.
     * P = 4/15, R = 1, F1 = 2(4/15)/(19/15) = 8/19.
     * B3 P = (3*3/6 + 2*2/6 + 1*1/6)/6 = (14/6)/6 = 7/18; B3 R = (9/3 + 4/2 + 1)/6 = 1;
     * B3 F1 = 2(7/18)/(25/18) = 14/25. */
    const uint64_t found[6] = {1, 1, 1, 1, 1, 1};
    ddw_eval_result r = eval1(6, found, TRUTH6);
    assert_counts(&r.all, 6, 4, 15, 4, 1, 3, 0, 1);
    assert_frac(r.all.pair_precision, 4, 15);
    assert_frac(r.all.pair_recall, 1, 1);
    assert_frac(r.all.pair_f1, 8, 19);
    assert_frac(r.all.bcubed_precision, 7, 18);
    assert_frac(r.all.bcubed_recall, 1, 1);
    assert_frac(r.all.bcubed_f1, 14, 25);
    assert_same(&r.all, &r.pair[0]);
    ddw_eval_result_free(&r);
}

static void test_all_split(void **state)
{
    (void)state;
    /* singletons: no found pairs, so P = 1 by convention; R = 0/4; F1 = 0.
     * B3 P = 1; B3 R = (3*(1/3) + 2*(1/2) + 1)/6 = 1/2; B3 F1 = 2(1/2)/(3/2) = 2/3.
     * Persons {0,1,2} and {3,4} are split. */
    const uint64_t found[6] = {10, 11, 12, 13, 14, 15};
    ddw_eval_result r = eval1(6, found, TRUTH6);
    assert_counts(&r.all, 6, 0, 0, 4, 6, 3, 2, 0);
    assert_frac(r.all.pair_precision, 1, 1);
    assert_frac(r.all.pair_recall, 0, 1);
    assert_frac(r.all.pair_f1, 0, 1);
    assert_frac(r.all.bcubed_precision, 1, 1);
    assert_frac(r.all.bcubed_recall, 1, 2);
    assert_frac(r.all.bcubed_f1, 2, 3);
    ddw_eval_result_free(&r);
}

static void test_one_wrong_link(void **state)
{
    (void)state;
    /* truth {0,1} {2,3} {4}; found {0,1} {2,3,4}: found pairs 1 + 3 = 4, true 2, TP 2.
     * P = 1/2, R = 1, F1 = 2/3.
     * B3 P = (2*2/2 + 2*2/3 + 1*1/3)/5 = (2 + 5/3)/5 = 11/15; B3 R = (2 + 2 + 1)/5 = 1;
     * B3 F1 = 2(11/15)/(26/15) = 11/13. */
    const uint64_t truth[5] = {1, 1, 2, 2, 3}, found[5] = {8, 8, 9, 9, 9};
    ddw_eval_result r = eval1(5, found, truth);
    assert_counts(&r.all, 5, 2, 4, 2, 2, 3, 0, 1);
    assert_frac(r.all.pair_precision, 1, 2);
    assert_frac(r.all.pair_recall, 1, 1);
    assert_frac(r.all.pair_f1, 2, 3);
    assert_frac(r.all.bcubed_precision, 11, 15);
    assert_frac(r.all.bcubed_recall, 1, 1);
    assert_frac(r.all.bcubed_f1, 11, 13);
    ddw_eval_result_free(&r);
}

static void test_one_missing_link(void **state)
{
    (void)state;
    /* truth {0,1,2} {3}; found {0,1} {2} {3}: found pairs 1, true 3, TP 1.
     * P = 1, R = 1/3, F1 = 2(1/3)/(4/3) = 1/2.
     * B3 P = 1; B3 R = (2*2/3 + 1*1/3 + 1)/4 = (8/3)/4 = 2/3; B3 F1 = 2(2/3)/(5/3) = 4/5. */
    const uint64_t truth[4] = {5, 5, 5, 6}, found[4] = {0, 0, 1, 2};
    ddw_eval_result r = eval1(4, found, truth);
    assert_counts(&r.all, 4, 1, 1, 3, 3, 2, 1, 0);
    assert_frac(r.all.pair_precision, 1, 1);
    assert_frac(r.all.pair_recall, 1, 3);
    assert_frac(r.all.pair_f1, 1, 2);
    assert_frac(r.all.bcubed_precision, 1, 1);
    assert_frac(r.all.bcubed_recall, 2, 3);
    assert_frac(r.all.bcubed_f1, 4, 5);
    ddw_eval_result_free(&r);
}

static void test_empty_and_errors(void **state)
{
    (void)state;
    ddw_eval_result r;
    int32_t src[2] = {0, 2};
    uint64_t id[2] = {1, 2};
    /* no records: nothing to get wrong, every ratio is 1 */
    assert_int_equal(ddw_evaluate_counts(0, id, id, src, 2, &r), DDW_OK);
    assert_int_equal(r.npairs, 3);
    assert_counts(&r.all, 0, 0, 0, 0, 0, 0, 0, 0);
    assert_frac(r.all.pair_f1, 1, 1);
    assert_frac(r.all.bcubed_f1, 1, 1);
    assert_frac(r.pair[1].bcubed_precision, 1, 1);
    ddw_eval_result_free(&r);
    assert_int_equal(ddw_evaluate_counts(2, id, id, src, 2, &r), DDW_EINVAL);
    assert_null(r.pair);
    assert_int_equal(ddw_evaluate_counts(2, id, id, src, 0, &r), DDW_ERANGE);
    assert_int_equal(ddw_evaluate_counts(2, id, id, src, DDW_MAX_SOURCES + 1, &r), DDW_ERANGE);
    ddw_eval_result_free(&r);
    ddw_eval_result_free(NULL);
}

static void test_two_sources(void **state)
{
    (void)state;
    /*
     * Sources A = 0, B = 1.  record: source, true person, found person
     *   r0 A p X   r1 B p X   r2 B p Y   r3 A q Y   r4 B q Y   r5 A r Z
     * cells [A count, B count]: (X,p) [1,1]; (Y,p) [0,1]; (Y,q) [1,1]; (Z,r) [1,0]
     * overall: found pairs C(2,2) + C(3,2) = 4; true pairs C(3,2) + C(2,2) = 4;
     *   TP = 1 + 0 + 1 + 0 = 2: P = R = F1 = 1/2.
     *   B3 P = (4/2 + 1/3 + 4/3 + 1/1)/6 = (14/3)/6 = 7/9;
     *   B3 R = (4/3 + 1/3 + 4/2 + 1/1)/6 = 7/9.  p split (X, Y), Y merges p and q.
     * A|A (r0, r3, r5): one A record per found and per true person: no pairs
     *   (P = R = F1 = 1 by convention), B3 1, persons 3 and 3.
     * B|B (r1, r2, r4): found pairs within B: Y has 2 -> 1; true: p has 2 -> 1; TP: no
     *   cell has 2 B records -> 0: P = R = F1 = 0.  Restricted: X' = {r1}, Y' = {r2, r4},
     *   p' = {r1, r2}, q' = {r4}; cells (X,p) 1, (Y,p) 1, (Y,q) 1:
     *   B3 P = (1/1 + 1/2 + 1/2)/3 = 2/3, B3 R = (1/2 + 1/2 + 1/1)/3 = 2/3.
     *   persons 2 and 2, p' split, Y' merged.
     * A|B: cross pairs found = X 1*1 + Y 1*2 + Z 1*0 = 3; true = p 1*2 + q 1*1 = 3;
     *   TP = (X,p) 1*1 + (Y,q) 1*1 = 2: P = R = F1 = 2/3.  All records: B3 as overall.
     */
    const int32_t src[6] = {0, 1, 1, 0, 1, 0};
    const uint64_t truth[6] = {'p', 'p', 'p', 'q', 'q', 'r'};
    const uint64_t found[6] = {'X', 'X', 'Y', 'Y', 'Y', 'Z'};
    ddw_eval_result r;
    assert_int_equal(ddw_evaluate_counts(6, found, truth, src, 2, &r), DDW_OK);
    assert_int_equal(r.npairs, 3);
    assert_int_equal(ddw_eval_pair_index(2, 0, 0), 0);
    assert_int_equal(ddw_eval_pair_index(2, 0, 1), 1);
    assert_int_equal(ddw_eval_pair_index(2, 1, 1), 2);
    assert_counts(&r.all, 6, 2, 4, 4, 3, 3, 1, 1);
    assert_frac(r.all.pair_precision, 1, 2);
    assert_frac(r.all.pair_recall, 1, 2);
    assert_frac(r.all.pair_f1, 1, 2);
    assert_frac(r.all.bcubed_precision, 7, 9);
    assert_frac(r.all.bcubed_recall, 7, 9);
    assert_frac(r.all.bcubed_f1, 7, 9);

    const ddw_eval_metrics *aa = &r.pair[0], *ab = &r.pair[1], *bb = &r.pair[2];
    assert_counts(aa, 3, 0, 0, 0, 3, 3, 0, 0);
    assert_frac(aa->pair_precision, 1, 1);
    assert_frac(aa->pair_recall, 1, 1);
    assert_frac(aa->pair_f1, 1, 1);
    assert_frac(aa->bcubed_precision, 1, 1);
    assert_frac(aa->bcubed_recall, 1, 1);

    assert_counts(bb, 3, 0, 1, 1, 2, 2, 1, 1);
    assert_frac(bb->pair_precision, 0, 1);
    assert_frac(bb->pair_recall, 0, 1);
    assert_frac(bb->pair_f1, 0, 1);
    assert_frac(bb->bcubed_precision, 2, 3);
    assert_frac(bb->bcubed_recall, 2, 3);
    assert_frac(bb->bcubed_f1, 2, 3);

    assert_counts(ab, 6, 2, 3, 3, 3, 3, 1, 1);
    assert_frac(ab->pair_precision, 2, 3);
    assert_frac(ab->pair_recall, 2, 3);
    assert_frac(ab->pair_f1, 2, 3);
    assert_frac(ab->bcubed_precision, 7, 9);
    assert_frac(ab->bcubed_recall, 7, 9);
    assert_frac(ab->bcubed_f1, 7, 9);
    ddw_eval_result_free(&r);
}

/* ---- naive reference -------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int in_set(int32_t src, int s, int t) { return src == s || src == t; }

/* Distinct values of id[] over records in the set; and how many of those
 * values' records (in the set) carry more than one value of other[]. */
static void naive_persons(size_t n, const uint64_t *id, const uint64_t *other, const int32_t *src,
                          int s, int t, uint64_t *distinct, uint64_t *multi)
{
    *distinct = *multi = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_set(src[i], s, t))
            continue;
        int first = 1, many = 0;
        for (size_t j = 0; j < i && first; j++)
            if (in_set(src[j], s, t) && id[j] == id[i])
                first = 0;
        if (!first)
            continue;
        for (size_t j = 0; j < n; j++)
            if (in_set(src[j], s, t) && id[j] == id[i] && other[j] != other[i])
                many = 1;
        (*distinct)++;
        *multi += (uint64_t)many;
    }
}

/* Figures for the records of sources s and t (s = t = -1: all) by brute force. */
static void naive(size_t n, const uint64_t *found, const uint64_t *truth, const int32_t *src,
                  int s, int t, ddw_eval_metrics *m)
{
    memset(m, 0, sizeof *m);
    int all = s < 0;
    const int32_t *S = src;
    int32_t *any = NULL;
    if (all) { /* every record counts as source 0 */
        any = calloc(n ? n : 1, sizeof *any);
        S = any;
        s = t = 0;
    }
    double bp = 0, br = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_set(S[i], s, t))
            continue;
        m->records++;
        double a = 0, b = 0, c = 0;
        for (size_t j = 0; j < n; j++) {
            if (!in_set(S[j], s, t))
                continue;
            a += found[j] == found[i];
            b += truth[j] == truth[i];
            c += found[j] == found[i] && truth[j] == truth[i];
            /* pairs: for s != t one record of each source, counted once */
            int pair = j > i && (all || s == t || S[i] != S[j]);
            if (!pair)
                continue;
            m->found_pairs += found[i] == found[j];
            m->true_pairs += truth[i] == truth[j];
            m->true_positive_pairs += found[i] == found[j] && truth[i] == truth[j];
        }
        bp += c / a;
        br += c / b;
    }
    naive_persons(n, found, truth, S, s, t, &m->persons_found, &m->found_persons_merged);
    naive_persons(n, truth, found, S, s, t, &m->persons_true, &m->true_persons_split);
    m->pair_precision = m->found_pairs ? (double)m->true_positive_pairs / m->found_pairs : 1;
    m->pair_recall = m->true_pairs ? (double)m->true_positive_pairs / m->true_pairs : 1;
    m->bcubed_precision = m->records ? bp / m->records : 1;
    m->bcubed_recall = m->records ? br / m->records : 1;
    free(any);
}

static void assert_like(const ddw_eval_metrics *got, const ddw_eval_metrics *want)
{
    assert_counts(got, want->records, want->true_positive_pairs, want->found_pairs,
                  want->true_pairs, want->persons_found, want->persons_true,
                  want->true_persons_split, want->found_persons_merged);
    assert_true(fabs(got->pair_precision - want->pair_precision) < 1e-12);
    assert_true(fabs(got->pair_recall - want->pair_recall) < 1e-12);
    assert_true(fabs(got->bcubed_precision - want->bcubed_precision) < 1e-12);
    assert_true(fabs(got->bcubed_recall - want->bcubed_recall) < 1e-12);
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    uint64_t seed = 2024;
    for (int round = 0; round < 300; round++) {
        int S = 1 + (int)(rng_next(&seed) % 5);
        size_t n = rng_next(&seed) % 70;
        uint64_t persons = 1 + rng_next(&seed) % 25;
        uint64_t *found = malloc((n ? n : 1) * sizeof *found);
        uint64_t *truth = malloc((n ? n : 1) * sizeof *truth);
        int32_t *src = malloc((n ? n : 1) * sizeof *src);
        for (size_t i = 0; i < n; i++) {
            truth[i] = rng_next(&seed) % persons;
            src[i] = (int32_t)(rng_next(&seed) % (uint64_t)S);
            uint64_t roll = rng_next(&seed) % 10;
            /* mostly right, some split off, some merged into a neighbour */
            found[i] = roll < 6 ? truth[i] * 1000 : roll < 8 ? 5000000 + i
                                                             : (truth[i] + 1) % persons * 1000;
            if (round % 7 == 0) /* IDs anywhere in 64 bits */
                found[i] = ~found[i] * UINT64_C(0x9e3779b97f4a7c15);
        }
        ddw_eval_result r;
        assert_int_equal(ddw_evaluate_counts(n, found, truth, src, S, &r), DDW_OK);
        ddw_eval_metrics want;
        naive(n, found, truth, src, -1, -1, &want);
        assert_like(&r.all, &want);
        for (int s = 0; s < S; s++)
            for (int t = s; t < S; t++) {
                naive(n, found, truth, src, s, t, &want);
                assert_like(&r.pair[ddw_eval_pair_index(S, s, t)], &want);
            }
        ddw_eval_result_free(&r);
        free(found);
        free(truth);
        free(src);
    }
}

/* ---- partitioned counting ------------------------------------------------------ */

static uint64_t mix(uint64_t x) { return rng_next(&x); }

/* Every figure of a and b, compared bit for bit. */
static void assert_bits(const ddw_eval_metrics *a, const ddw_eval_metrics *b, const char *where)
{
    for (int k = 0; k < ddw_eval_nfields; k++) {
        double x = ddw_eval_field_f64(a, k), y = ddw_eval_field_f64(b, k);
        if (memcmp(&x, &y, sizeof x) != 0 || ddw_eval_field_u64(a, k) != ddw_eval_field_u64(b, k))
            fail_msg("%s: %s %.17g vs %.17g", where, ddw_eval_fields[k].name, x, y);
    }
}

static void assert_result_bits(const ddw_eval_result *a, const ddw_eval_result *b)
{
    assert_int_equal(a->nsources, b->nsources);
    assert_int_equal(a->npairs, b->npairs);
    assert_bits(&a->all, &b->all, "overall");
    for (int p = 0; p < a->npairs; p++)
        assert_bits(&a->pair[p], &b->pair[p], "source pair");
}

static void test_term_exact(void **state)
{
    (void)state;
    ddw_eval_fix one = (ddw_eval_fix)1 << 64;
    assert_true(ddw_eval_term(1, 3) == UINT64_C(0x5555555555555555));
    assert_true(ddw_eval_term(2, 3) == UINT64_C(0xaaaaaaaaaaaaaaaa));
    assert_true(ddw_eval_term(7, 7) == one);
    assert_true(ddw_eval_term(9, 2) == 4 * one + (one >> 1));
    assert_true(ddw_eval_term(0, 5) == 0);
    assert_true(ddw_eval_fix_f64(one) == 1.0);
    assert_true(ddw_eval_fix_f64(ddw_eval_term(1, 3)) == 1.0 / 3);
    assert_true(ddw_eval_fix_f64(ddw_eval_term(5, 8)) == 0.625);
    /* the two-division path and the 128-bit one agree with plain 128-bit division */
    uint64_t seed = 77;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = rng_next(&seed);
        uint64_t den = i % 3 == 0 ? 1 + (r >> (r % 64)) : 1 + (r >> 32) % (i % 3 == 1 ? 1000 : UINT32_MAX);
        uint64_t num = rng_next(&seed) % (den < UINT32_MAX ? den * den + 1 : UINT64_MAX);
        ddw_eval_fix want = ((ddw_eval_fix)num << 64) / den;
        if (ddw_eval_term(num, den) != want)
            fail_msg("term(%llu, %llu) wrong", (unsigned long long)num, (unsigned long long)den);
    }
}

/* A random clustering as in test_random_vs_naive (arrays malloc'd). */
static void random_clustering(uint64_t *seed, int round, int *S, size_t *n, uint64_t **found,
                              uint64_t **truth, int32_t **src)
{
    *S = 1 + (int)(rng_next(seed) % 5);
    *n = rng_next(seed) % 400;
    uint64_t persons = 1 + rng_next(seed) % 120;
    *found = malloc((*n ? *n : 1) * sizeof **found);
    *truth = malloc((*n ? *n : 1) * sizeof **truth);
    *src = malloc((*n ? *n : 1) * sizeof **src);
    for (size_t i = 0; i < *n; i++) {
        uint64_t t = rng_next(seed) % persons, roll = rng_next(seed) % 10;
        (*truth)[i] = t;
        (*src)[i] = (int32_t)(rng_next(seed) % (uint64_t)*S);
        (*found)[i] = roll < 6 ? t * 1000 : roll < 8 ? 5000000 + i : (t + 1) % persons * 1000;
        if (round % 5 == 0) /* a few big found persons */
            (*found)[i] = (*found)[i] % 7;
    }
}

/* Adds the records of one side whose person hashes to part of k. */
static void add_part(ddw_eval_sums *s, int side, size_t n, const uint64_t *person,
                     const uint64_t *other, const int32_t *src, uint64_t salt, int part, int k)
{
    uint64_t *p = malloc((n ? n : 1) * sizeof *p), *o = malloc((n ? n : 1) * sizeof *o);
    int32_t *q = malloc((n ? n : 1) * sizeof *q);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (mix(person[i] ^ salt) % (uint64_t)k == (uint64_t)part) {
            p[m] = person[i];
            o[m] = other[i];
            q[m++] = src[i];
        }
    assert_int_equal(ddw_eval_sums_add(s, side, m, p, o, q), DDW_OK);
    free(p);
    free(o);
    free(q);
}

static void test_partitioned_sums(void **state)
{
    (void)state;
    uint64_t seed = 99;
    for (int round = 0; round < 150; round++) {
        int S;
        size_t n;
        uint64_t *found, *truth;
        int32_t *src;
        random_clustering(&seed, round, &S, &n, &found, &truth, &src);
        ddw_eval_result whole;
        assert_int_equal(ddw_evaluate_counts(n, found, truth, src, S, &whole), DDW_OK);
        for (int k = 1; k <= 5; k++) {
            /* k simulated ranks: each sums the found persons and the true persons it
             * owns (two independent hash splits); the parts are merged in rank order */
            ddw_eval_sums total;
            assert_int_equal(ddw_eval_sums_init(&total, S), DDW_OK);
            for (int part = 0; part < k; part++) {
                ddw_eval_sums one;
                assert_int_equal(ddw_eval_sums_init(&one, S), DDW_OK);
                add_part(&one, DDW_EVAL_TRUE, n, truth, found, src, 0x55, part, k);
                add_part(&one, DDW_EVAL_FOUND, n, found, truth, src, 0xaa + (uint64_t)round,
                         part, k);
                ddw_eval_sums_merge(&total, &one);
                ddw_eval_sums_free(&one);
            }
            ddw_eval_result got;
            assert_int_equal(ddw_eval_sums_finish(&total, &got), DDW_OK);
            assert_result_bits(&got, &whole);
            ddw_eval_result_free(&got);
            ddw_eval_sums_free(&total);
        }
        ddw_eval_result_free(&whole);
        free(found);
        free(truth);
        free(src);
    }
}

static void test_sums_errors(void **state)
{
    (void)state;
    ddw_eval_sums s;
    assert_int_equal(ddw_eval_sums_init(&s, 0), DDW_ERANGE);
    assert_null(s.word);
    assert_int_equal(ddw_eval_sums_init(&s, DDW_MAX_SOURCES + 1), DDW_ERANGE);
    ddw_eval_sums_free(&s);
    assert_int_equal(ddw_eval_sums_init(&s, 2), DDW_OK);
    const uint64_t id[3] = {1, 1, 2};
    const int32_t bad[3] = {0, 2, 1}, good[3] = {0, 1, 1};
    assert_int_equal(ddw_eval_sums_add(&s, 2, 3, id, id, good), DDW_ERANGE);
    assert_int_equal(ddw_eval_sums_add(&s, DDW_EVAL_FOUND, 3, id, id, bad), DDW_EINVAL);
    /* only one side added: the sides disagree */
    assert_int_equal(ddw_eval_sums_add(&s, DDW_EVAL_FOUND, 3, id, id, good), DDW_OK);
    ddw_eval_result r;
    assert_int_equal(ddw_eval_sums_finish(&s, &r), DDW_EINVAL);
    assert_null(r.pair);
    assert_int_equal(ddw_eval_sums_add(&s, DDW_EVAL_TRUE, 3, id, id, good), DDW_OK);
    assert_int_equal(ddw_eval_sums_finish(&s, &r), DDW_OK);
    assert_int_equal(r.all.records, 3);
    assert_int_equal(r.all.true_positive_pairs, 1);
    ddw_eval_result_free(&r);
    ddw_eval_sums_free(&s);
    ddw_eval_sums_free(&s);
}

/* ---- the join ---------------------------------------------------------------- */

static const char *const NAMES[2] = {"ndtms", "pnc"};

/* Result records: ndtms T1, T2, T3; pnc P1, P2 (width 4, one ID uses all 4 bytes). */
static const int32_t RSRC[5] = {0, 0, 0, 1, 1};
static const char RIDS[5 * 4] = "T1\0\0T2\0\0T3\0\0P1\0\0PPP2";
static const ddw_eval_records RECS = {2, NAMES, 5, RSRC, RIDS, 4};

/* Joins text; *msg receives everything reported (caller frees). */
static ddw_status join(const char *text, uint64_t *tid, ddw_eval_join_stats *st, char **msg)
{
    size_t len = 0;
    FILE *err = open_memstream(msg, &len);
    ddw_status rc = ddw_eval_join_text("truth.csv", text, strlen(text), &RECS, err, tid, st);
    fclose(err);
    return rc;
}

static void assert_has(const char *msg, const char *want)
{
    if (strstr(msg, want) == NULL)
        fail_msg("message lacks '%s':\n%s", want, msg);
}

static void test_join_ok(void **state)
{
    (void)state;
    /* BOM, CRLF, columns in another order, an extra column, person_id as the
     * person column, a quoted person with a comma, padded IDs, a blank line */
    const char *text = "\xEF\xBB\xBF" "errors,person_id, record_id ,source\r\n"
                       "0,\"Smith, J\",T1,ndtms\r\n"
                       "2,b, T2 ,ndtms\r\n"
                       "\r\n"
                       "0,\"Smith, J\",PPP2,pnc\r\n"
                       "1,c,P1, pnc\r\n"
                       "0,b,T3,ndtms";
    uint64_t tid[5];
    ddw_eval_join_stats st;
    char *msg = NULL;
    assert_int_equal(join(text, tid, &st, &msg), DDW_OK);
    assert_string_equal(msg, "");
    free(msg);
    assert_int_equal(st.truth_rows, 5);
    assert_int_equal(st.persons, 3);
    /* T1 and PPP2 are "Smith, J"; T2 and T3 are b; P1 is c */
    assert_true(tid[0] == tid[4]);
    assert_true(tid[1] == tid[2]);
    assert_true(tid[0] != tid[1] && tid[0] != tid[3] && tid[1] != tid[3]);
    for (int i = 0; i < 5; i++)
        assert_true(tid[i] < 3);
    /* 'person' wins over 'person_id' when both exist */
    const char *both = "source,record_id,person_id,person\n"
                       "ndtms,T1,1,x\nndtms,T2,1,y\nndtms,T3,1,x\npnc,P1,1,x\npnc,PPP2,1,x\n";
    assert_int_equal(join(both, tid, &st, &msg), DDW_OK);
    free(msg);
    assert_int_equal(st.persons, 2);
    assert_true(tid[0] == tid[2] && tid[0] != tid[1]);
}

static const char *const HEAD = "source,record_id,person\n";

static char *with_head(const char *rows)
{
    char *s = malloc(strlen(HEAD) + strlen(rows) + 1);
    strcpy(s, HEAD);
    strcat(s, rows);
    return s;
}

static void test_join_missing_and_extra(void **state)
{
    (void)state;
    uint64_t tid[5];
    ddw_eval_join_stats st;
    char *msg = NULL;
    /* T2 and T3 have no truth row; pnc P9 is not in the result */
    char *t = with_head("ndtms,T1,a\npnc,P1,a\npnc,PPP2,b\npnc,P9,c\n");
    assert_int_equal(join(t, tid, &st, &msg), DDW_EINVAL);
    assert_int_equal(st.not_in_truth, 2);
    assert_int_equal(st.not_in_result, 1);
    assert_int_equal(st.dup_truth + st.dup_result + st.unknown_source, 0);
    assert_has(msg, "evaluate: error: 2 records of source 'ndtms' are in the result but not in "
                    "truth.csv; first: record_id T2");
    assert_has(msg, "evaluate: error: 1 record of source 'pnc' is in truth.csv but not in the "
                    "result; first: record_id P9 (line 5)");
    free(msg);
    free(t);
}

static void test_join_duplicates(void **state)
{
    (void)state;
    uint64_t tid[5];
    ddw_eval_join_stats st;
    char *msg = NULL;
    char *t = with_head("ndtms,T1,a\nndtms,T2,a\nndtms,T3,b\npnc,P1,a\npnc,PPP2,b\n"
                        "ndtms,T2,c\nndtms,T2,a\n");
    assert_int_equal(join(t, tid, &st, &msg), DDW_EINVAL);
    assert_int_equal(st.dup_truth, 2);
    assert_int_equal(st.not_in_truth + st.not_in_result + st.dup_result, 0);
    assert_has(msg, "2 rows of truth.csv for source 'ndtms' repeat the record_id of an earlier "
                    "row; first: record_id T2 (line 7, first on line 3)");
    free(msg);
    free(t);

    /* the same key twice in the result */
    static const char rids[5 * 4] = "T1\0\0T2\0\0T1\0\0P1\0\0PPP2";
    ddw_eval_records dup = RECS;
    dup.record_id = rids;
    t = with_head("ndtms,T1,a\npnc,P1,a\npnc,PPP2,b\nndtms,T2,a\n");
    size_t len = 0;
    FILE *err = open_memstream(&msg, &len);
    assert_int_equal(ddw_eval_join_text("truth.csv", t, strlen(t), &dup, err, tid, &st),
                     DDW_EINVAL);
    fclose(err);
    assert_int_equal(st.dup_result, 1);
    assert_int_equal(st.not_in_truth + st.not_in_result + st.dup_truth, 0);
    assert_has(msg, "1 record of source 'ndtms' in the result repeats the record_id of an "
                    "earlier record; first: record_id T1");
    free(msg);
    free(t);
}

static void test_join_unknown_source(void **state)
{
    (void)state;
    uint64_t tid[5];
    ddw_eval_join_stats st;
    char *msg = NULL;
    char *t = with_head("ndtms,T1,a\nndtms,T2,a\nndtms,T3,b\npnc,P1,a\npnc,PPP2,b\n"
                        "oasys,O1,a\nPNC,P1,a\noasys,O2,b\n");
    assert_int_equal(join(t, tid, &st, &msg), DDW_EINVAL);
    assert_int_equal(st.unknown_source, 3);
    assert_int_equal(st.not_in_truth + st.not_in_result + st.dup_truth + st.dup_result, 0);
    assert_has(msg, "2 rows of truth.csv name source 'oasys', which is not in the result (its "
                    "sources: 'ndtms', 'pnc'); first on line 7");
    assert_has(msg, "1 row of truth.csv names source 'PNC'");
    free(msg);
    free(t);
}

static void test_join_csv_errors(void **state)
{
    (void)state;
    uint64_t tid[5];
    ddw_eval_join_stats st;
    char *msg = NULL;
    assert_int_equal(join("source,record_id,persona\nndtms,T1,a\n", tid, &st, &msg), DDW_ECSV);
    assert_has(msg, "truth.csv line 1: the header has no column 'person'");
    free(msg);
    assert_int_equal(join("record_id,person\nT1,a\n", tid, &st, &msg), DDW_ECSV);
    assert_has(msg, "truth.csv line 1: the header has no column 'source'");
    free(msg);
    assert_int_equal(join("", tid, &st, &msg), DDW_ECSV);
    assert_has(msg, "truth.csv line 1: empty file");
    free(msg);
    /* a quoted field spans lines 2-3, so the short record is on line 4 */
    assert_int_equal(join("source,record_id,person\nndtms,T1,\"a\nb\"\nndtms,T2\n", tid, &st,
                          &msg), DDW_ECSV);
    assert_has(msg, "truth.csv line 4: 2 fields, but the header has 3");
    free(msg);
    assert_int_equal(join("source,record_id,person\nndtms,T1,a,extra\n", tid, &st, &msg),
                     DDW_ECSV);
    assert_has(msg, "truth.csv line 2: 4 fields, but the header has 3");
    free(msg);
    assert_int_equal(join("source,record_id,person\nndtms,T\"1,a\n", tid, &st, &msg), DDW_ECSV);
    assert_has(msg, "truth.csv line 2: malformed CSV record");
    free(msg);
    assert_int_equal(join("source,record_id,person\nndtms,T1,\"a\n", tid, &st, &msg), DDW_ECSV);
    assert_has(msg, "truth.csv line 2: unterminated quoted field");
    free(msg);
    size_t len = 0;
    FILE *err = open_memstream(&msg, &len);
    assert_int_equal(ddw_eval_join_file("/nonexistent/truth.csv", &RECS, err, tid, &st),
                     DDW_EIO);
    fclose(err);
    assert_has(msg, "cannot open truth file '/nonexistent/truth.csv'");
    free(msg);
}

/* ---- the distributed join at one rank ---------------------------------------- */

static const uint64_t RFOUND[5] = {10, 10, 11, 12, 10};

/* Runs the serial and the distributed join (one rank) on text written to a
 * file; both must give the same status, report, counts and figures. */
static ddw_status join_both(const char *text, char **msg_out)
{
    char path[] = "/tmp/test_evaluate_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    char *m1 = NULL, *m2 = NULL;
    size_t l1 = 0, l2 = 0;
    uint64_t tid[5];
    ddw_eval_join_stats s1, s2;
    FILE *e1 = open_memstream(&m1, &l1);
    ddw_status r1 = ddw_eval_join_file(path, &RECS, e1, tid, &s1);
    fclose(e1);

    ddw_comm *c = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &c), DDW_OK);
    ddw_eval_slice sl = {2, NAMES, 0, 5, malloc(sizeof RSRC), malloc(sizeof RIDS), 4,
                         malloc(sizeof RFOUND)};
    memcpy(sl.source, RSRC, sizeof RSRC);
    memcpy(sl.record_id, RIDS, sizeof RIDS);
    memcpy(sl.found, RFOUND, sizeof RFOUND);
    ddw_eval_joined j;
    FILE *e2 = open_memstream(&m2, &l2);
    ddw_status r2 = ddw_eval_join_dist(c, path, &sl, e2, &j, &s2);
    fclose(e2);
    assert_null(sl.source); /* the join took the slice */
    assert_null(sl.record_id);
    assert_null(sl.found);

    assert_int_equal(r2, r1);
    assert_string_equal(m2, m1);
    assert_int_equal(s2.truth_rows, s1.truth_rows);
    assert_int_equal(s2.unknown_source, s1.unknown_source);
    assert_int_equal(s2.dup_truth, s1.dup_truth);
    assert_int_equal(s2.dup_result, s1.dup_result);
    assert_int_equal(s2.not_in_result, s1.not_in_result);
    assert_int_equal(s2.not_in_truth, s1.not_in_truth);
    if (r1 == DDW_OK) {
        assert_int_equal(s2.persons, s1.persons);
        assert_int_equal(j.n, 5);
        ddw_eval_result want, got;
        assert_int_equal(ddw_evaluate_counts(5, RFOUND, tid, RSRC, 2, &want), DDW_OK);
        assert_int_equal(ddw_evaluate_counts_dist(c, 2, &j, &got), DDW_OK);
        assert_result_bits(&got, &want);
        ddw_eval_result_free(&want);
        ddw_eval_result_free(&got);
    } else {
        assert_int_equal(j.n, 0);
    }
    ddw_eval_joined_free(&j);
    ddw_comm_finalize(&c);
    unlink(path);
    free(m2);
    if (msg_out)
        *msg_out = m1;
    else
        free(m1);
    return r1;
}

static void test_join_dist_one_rank(void **state)
{
    (void)state;
    char *msg = NULL;
    /* as test_join_ok: BOM, CRLF, quoted fields (one across lines), blank lines */
    assert_int_equal(join_both("\xEF\xBB\xBF" "errors,person_id, record_id ,source\r\n"
                               "0,\"Smith,\r\n J\",T1,ndtms\r\n\r\n"
                               "2,b, T2 ,ndtms\r\n"
                               "0,\"Smith,\r\n J\",PPP2,pnc\r\n"
                               "1,c,P1, pnc\r\n"
                               "0,b,T3,ndtms", &msg), DDW_OK);
    assert_string_equal(msg, "");
    free(msg);
    /* every failure of the join and of the CSV, reported as the serial join does */
    char *t = with_head("ndtms,T1,a\npnc,P1,a\npnc,PPP2,b\npnc,P9,c\n");
    assert_int_equal(join_both(t, NULL), DDW_EINVAL);
    free(t);
    t = with_head("ndtms,T1,a\nndtms,T2,a\nndtms,T3,b\npnc,P1,a\npnc,PPP2,b\n"
                  "ndtms,T2,c\nndtms,T2,a\nndtms,T3,x\n");
    assert_int_equal(join_both(t, NULL), DDW_EINVAL);
    free(t);
    /* ten unknown sources: eight by name, then the rest together */
    ddw_text b = {NULL, 0, 0};
    ddw_text_printf(&b, "%sndtms,T1,a\nndtms,T2,a\nndtms,T3,b\npnc,P1,a\npnc,PPP2,b\n", HEAD);
    for (int k = 0; k < 30; k++)
        ddw_text_printf(&b, "u%d,X%d,a\n", (k * 7) % 10, k);
    assert_int_equal(join_both(b.p, &msg), DDW_EINVAL);
    assert_has(msg, "3 rows of");
    assert_has(msg, "6 more rows of");
    assert_has(msg, "name further unknown sources; first on line");
    free(msg);
    free(b.p);
    assert_int_equal(join_both("source,record_id,persona\nndtms,T1,a\n", NULL), DDW_ECSV);
    assert_int_equal(join_both("", NULL), DDW_ECSV);
    assert_int_equal(join_both("\xEF\xBB\xBF", NULL), DDW_ECSV);
    assert_int_equal(join_both("\n", NULL), DDW_ECSV);
    assert_int_equal(join_both("source,record_id,person", NULL), DDW_EINVAL); /* no rows */
    assert_int_equal(join_both("source,record_id,\"person\n", NULL), DDW_ECSV);
    assert_int_equal(join_both("source,record_id,person\nndtms,T1,\"a\nb\"\nndtms,T2\n", NULL),
                     DDW_ECSV);
    assert_int_equal(join_both("source,record_id,person\nndtms,T\"1,a\nndtms,T2,a,b\n", NULL),
                     DDW_ECSV);
    assert_int_equal(join_both("source,record_id,person\nndtms,T1,\"a\n", NULL), DDW_ECSV);

    /* a truth file that cannot be read */
    ddw_comm *c = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &c), DDW_OK);
    ddw_eval_slice sl = {2, NAMES, 0, 0, malloc(1), malloc(1), 4, malloc(1)};
    ddw_eval_joined j;
    ddw_eval_join_stats st;
    size_t len = 0;
    FILE *err = open_memstream(&msg, &len);
    assert_int_equal(ddw_eval_join_dist(c, "/nonexistent/truth.csv", &sl, err, &j, &st),
                     DDW_EIO);
    fclose(err);
    assert_string_equal(msg, "evaluate: error: cannot open truth file '/nonexistent/truth.csv': "
                             "No such file or directory\n");
    free(msg);
    ddw_comm_finalize(&c);
}

static void test_json(void **state)
{
    (void)state;
    const int32_t src[3] = {0, 1, 1};
    const uint64_t found[3] = {1, 1, 2}, truth[3] = {1, 1, 1};
    ddw_eval_result r;
    assert_int_equal(ddw_evaluate_counts(3, found, truth, src, 2, &r), DDW_OK);
    const char *const names[2] = {"a\"q", "b"};
    char *json = ddw_eval_json(&r, names);
    /* overall: found pairs 1 of 3 true: recall 1/3 */
    assert_has(json, "\"pair_precision\": 1,\n");
    assert_has(json, "\"pair_recall\": 0.33333333333333331,\n");
    assert_has(json, "\"true_positive_pairs\": 1,\n");
    assert_has(json, "\"by_source_pair\": {\n    \"a\\\"q|a\\\"q\": {\"pair_precision\": 1, ");
    assert_has(json, "\"a\\\"q|b\": {");
    assert_has(json, "\"b|b\": {\"pair_precision\": 1, \"pair_recall\": 0, \"pair_f1\": 0, ");
    assert_true(json[strlen(json) - 1] == '}');
    free(json);
    char *table = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&table, &len);
    ddw_eval_print_table(out, &r, names);
    fclose(out);
    assert_has(table, "evaluation of 3 records");
    assert_has(table, "a\"q|b");
    free(table);
    ddw_eval_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perfect),
        cmocka_unit_test(test_all_merged),
        cmocka_unit_test(test_all_split),
        cmocka_unit_test(test_one_wrong_link),
        cmocka_unit_test(test_one_missing_link),
        cmocka_unit_test(test_empty_and_errors),
        cmocka_unit_test(test_two_sources),
        cmocka_unit_test(test_random_vs_naive),
        cmocka_unit_test(test_term_exact),
        cmocka_unit_test(test_partitioned_sums),
        cmocka_unit_test(test_sums_errors),
        cmocka_unit_test(test_join_ok),
        cmocka_unit_test(test_join_missing_and_extra),
        cmocka_unit_test(test_join_duplicates),
        cmocka_unit_test(test_join_unknown_source),
        cmocka_unit_test(test_join_csv_errors),
        cmocka_unit_test(test_join_dist_one_rank),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests_name("evaluate", tests, NULL, NULL);
}
