/*
 * test_sweep.c - unit tests for the threshold sweep (src/sweep.c): grid
 * parsing, a five-record graph worked out by hand (refine none and pnc,
 * with a truth), and pseudo-random graphs where every grid point is
 * checked against a from-scratch computation.
 *
 * Trade-off: the hand-worked case pins down the rule (the order of equal
 * weights, skipped edges, edges inside a set) and the figures as fractions;
 * the random cases check the incremental bookkeeping against link's own
 * per-threshold rule (ddw_refine_component, the function `link` runs on
 * each component, here on the whole graph) and evaluate's counting
 * (ddw_evaluate_counts), demanding equality in every bit, plus a plain
 * union-find for refine none.  Sets of many true persons are forced by
 * truths with few persons, so the per-set tables grow and merge.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_cluster.h"
#include "ddw_evaluate.h"
#include "ddw_refine.h"
#include "ddw_sweep.h"

static void assert_frac(double got, double num, double den)
{
    double want = num / den;
    if (fabs(got - want) > 1e-12)
        fail_msg("got %.17g, want %g/%g = %.17g", got, num, den, want);
}

/* ---- grid ------------------------------------------------------------------ */

static ddw_sweep_grid grid_ok(const char *spec, size_t n)
{
    ddw_sweep_grid g;
    char msg[256];
    ddw_status rc = ddw_sweep_grid_parse(spec, &g, msg, sizeof msg);
    if (rc != DDW_OK)
        fail_msg("'%s': %s", spec, msg);
    if (g.n != n)
        fail_msg("'%s': %zu points, want %zu", spec, g.n, n);
    for (size_t k = 1; k < g.n; k++)
        assert_true(g.t[k - 1] < g.t[k]);
    return g;
}

static void grid_bad(const char *spec, ddw_status want, const char *word)
{
    ddw_sweep_grid g;
    char msg[256];
    ddw_status rc = ddw_sweep_grid_parse(spec, &g, msg, sizeof msg);
    if (rc != want)
        fail_msg("'%s': status %d, want %d (%s)", spec, rc, want, msg);
    assert_null(g.t);
    assert_int_equal(g.n, 0);
    if (strstr(msg, word) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", spec, msg, word);
}

static void test_grid(void **state)
{
    (void)state;
    ddw_sweep_grid g = grid_ok("-6:12:2", 10);
    for (size_t k = 0; k < g.n; k++)
        assert_true(g.t[k] == -6.0 + 2.0 * (double)k);
    assert_true(g.lo == -6 && g.hi == 12 && g.step == 2);
    ddw_sweep_grid_free(&g);
    assert_null(g.t);
    ddw_sweep_grid_free(&g);

    /* decimal steps land on the doubles a user types: 0.3, not 0.1 * 3 */
    g = grid_ok("0:1:0.1", 11);
    assert_true(g.t[3] == 0.3);
    assert_true(g.t[7] == 0.7);
    assert_true(g.t[10] == 1.0);
    ddw_sweep_grid_free(&g);
    g = grid_ok(" 0.5 : 2 :0.25 ", 7);
    assert_true(g.t[0] == 0.5 && g.t[6] == 2.0);
    ddw_sweep_grid_free(&g);
    g = grid_ok("0:0.95:0.1", 10); /* stops before passing HI */
    assert_true(g.t[9] == 0.9);
    ddw_sweep_grid_free(&g);
    g = grid_ok("1e-3:2e-3:5E-4", 3);
    assert_true(g.t[1] == 0.0015);
    ddw_sweep_grid_free(&g);
    g = grid_ok("-1.5:-1.5:3", 1);
    assert_true(g.t[0] == -1.5);
    ddw_sweep_grid_free(&g);
    g = grid_ok("0:99999:1", DDW_SWEEP_MAX_POINTS);
    ddw_sweep_grid_free(&g);
    /* not plain decimals: floating point from the index */
    g = grid_ok("0x0:0x1p2:1", 5);
    assert_true(g.t[4] == 4.0);
    ddw_sweep_grid_free(&g);
    g = grid_ok("0:1:0.1000000000000000000001", 11); /* 22 digits; in doubles STEP is 0.1 */
    ddw_sweep_grid_free(&g);

    grid_bad("0:1:0", DDW_EINVAL, "STEP must be > 0");
    grid_bad("0:1:-0.5", DDW_EINVAL, "STEP must be > 0");
    grid_bad("2:1:1", DDW_EINVAL, "above HI");
    grid_bad("a:1:1", DDW_EINVAL, "LO 'a' is not a finite number");
    grid_bad("0:1x:1", DDW_EINVAL, "HI '1x'");
    grid_bad("0:inf:1", DDW_EINVAL, "not a finite number");
    grid_bad("0:1:nan", DDW_EINVAL, "STEP 'nan'");
    grid_bad("0::1", DDW_EINVAL, "HI ''");
    grid_bad("0:1", DDW_EINVAL, "LO:HI:STEP");
    grid_bad("0:1:1:1", DDW_EINVAL, "LO:HI:STEP");
    grid_bad("", DDW_EINVAL, "LO:HI:STEP");
    grid_bad("0:100000:1", DDW_ERANGE, "100001 thresholds; at most 100000");
    grid_bad("-1e300:1e300:1e-300", DDW_ERANGE, "at most 100000");
    grid_bad("0:1e6:1e-6", DDW_ERANGE, "at most 100000");
}

static void test_fmt_double(void **state)
{
    (void)state;
    char b[32];
    ddw_sweep_fmt_double(b, 0.3);
    assert_string_equal(b, "0.3");
    ddw_sweep_fmt_double(b, -6);
    assert_string_equal(b, "-6");
    ddw_sweep_fmt_double(b, 0.1 + 0.2);
    assert_string_equal(b, "0.30000000000000004");
    ddw_sweep_fmt_double(b, 1e-300);
    assert_string_equal(b, "1e-300");
    ddw_sweep_fmt_double(b, -10);
    assert_string_equal(b, "-10");
    ddw_sweep_fmt_double(b, 120);
    assert_string_equal(b, "120");
    ddw_sweep_fmt_double(b, 1e20);
    assert_string_equal(b, "1e+20");
    ddw_sweep_fmt_double(b, 12.5);
    assert_string_equal(b, "12.5");
}

/* ---- the hand-worked graph ------------------------------------------------------ */

/*
 * Records keys 10, 20, 30, 40, 50 (indices 0..4); truth A = {10, 20, 30},
 * B = {40, 50}; valid PNC IDs: 10 -> 7, 40 -> 9.  Edges, in link's order:
 *   (10,20) w 5;  (20,30) w 3;  (30,40) w 3 (equal weight: a = 20 comes first);
 *   (40,50) w 1;  (10,50) w -1.
 * Grid -2:6:2.  refine none: t 6 singletons; 4 {10,20}; 2 {10..40}{50};
 * 0 and -2 all five (at -2 the last edge lies inside the set: applied).
 * refine pnc: (30,40) would join PNC 7 and 9, (10,50) too: both skipped.
 */
static const uint64_t K5[5] = {10, 20, 30, 40, 50};
static const uint64_t T5[5] = {0, 0, 0, 1, 1};
static const uint64_t P5[5] = {7, 0, 0, 9, 0};
/* stored as link writes them: by (a, b) */
static const uint64_t EA[5] = {10, 10, 20, 30, 40}, EB[5] = {20, 50, 30, 40, 50};
static const double EW[5] = {5, -1, 3, 3, 1};

static ddw_sweep_input input5(ddw_sweep_refine refine, int truth)
{
    ddw_sweep_input in = {5, K5, P5, truth ? T5 : NULL, truth ? 2 : 0, 5, EA, EB, EW, refine, NULL};
    return in;
}

static void run5(ddw_sweep_refine refine, int truth, ddw_sweep_point *p)
{
    ddw_sweep_grid g;
    assert_int_equal(ddw_sweep_grid_parse("-2:6:2", &g, NULL, 0), DDW_OK);
    assert_int_equal(g.n, 5);
    ddw_sweep_input in = input5(refine, truth);
    assert_int_equal(ddw_sweep_run(&in, g.n, g.t, p, stderr), DDW_OK);
    for (size_t k = 0; k < g.n; k++)
        assert_true(p[k].threshold == g.t[k]);
    ddw_sweep_grid_free(&g);
}

static void assert_point(const ddw_sweep_point *p, uint64_t persons, uint64_t edges,
                         uint64_t skipped, uint64_t largest)
{
    assert_int_equal(p->persons, persons);
    assert_int_equal(p->edges, edges);
    assert_int_equal(p->edges_skipped, skipped);
    assert_int_equal(p->largest_cluster, largest);
}

static void assert_eval(const ddw_eval_metrics *m, uint64_t tp, uint64_t found, uint64_t pfound,
                        uint64_t split, uint64_t merged)
{
    assert_int_equal(m->records, 5);
    assert_int_equal(m->true_pairs, 4); /* C(3,2) + C(2,2) */
    assert_int_equal(m->persons_true, 2);
    assert_int_equal(m->true_positive_pairs, tp);
    assert_int_equal(m->found_pairs, found);
    assert_int_equal(m->persons_found, pfound);
    assert_int_equal(m->true_persons_split, split);
    assert_int_equal(m->found_persons_merged, merged);
}

static void test_hand_none(void **state)
{
    (void)state;
    ddw_sweep_point p[5];
    run5(DDW_SWEEP_REFINE_NONE, 1, p);
    /* t = -2: all one set; the fifth edge joins nothing new but is applied */
    assert_point(&p[0], 1, 5, 0, 5);
    assert_point(&p[1], 1, 4, 0, 5);
    assert_point(&p[2], 2, 3, 0, 4);
    assert_point(&p[3], 4, 1, 0, 2);
    assert_point(&p[4], 5, 0, 0, 1);

    /* t = 6, singletons: TP 0 of 0 found: P = 1, R = 0, F1 = 0.
     * B3 P = 1; B3 R = (3 * 1/3 + 2 * 1/2) / 5 = 2/5; F1 = 2(2/5)/(7/5) = 4/7. */
    const ddw_eval_metrics *m = &p[4].eval;
    assert_eval(m, 0, 0, 5, 2, 0);
    assert_frac(m->pair_precision, 1, 1);
    assert_frac(m->pair_recall, 0, 1);
    assert_frac(m->pair_f1, 0, 1);
    assert_frac(m->bcubed_precision, 1, 1);
    assert_frac(m->bcubed_recall, 2, 5);
    assert_frac(m->bcubed_f1, 4, 7);
    /* t = 4, {10,20}: TP 1 of 1 found, 4 true: P 1, R 1/4, F1 2/5.
     * B3 R = ((2^2 + 1)/3 + (1 + 1)/2) / 5 = 8/15; F1 = 2(8/15)/(23/15) = 16/23. */
    m = &p[3].eval;
    assert_eval(m, 1, 1, 4, 2, 0);
    assert_frac(m->pair_precision, 1, 1);
    assert_frac(m->pair_recall, 1, 4);
    assert_frac(m->pair_f1, 2, 5);
    assert_frac(m->bcubed_precision, 1, 1);
    assert_frac(m->bcubed_recall, 8, 15);
    assert_frac(m->bcubed_f1, 16, 23);
    /* t = 2, {10,20,30,40} {50}: TP 3, found 6: P 1/2, R 3/4, F1 3/5.
     * B3 P = ((9 + 1)/4 + 1) / 5 = 7/10; B3 R = (9/3 + 2/2) / 5 = 4/5;
     * F1 = 2(7/10)(4/5) / (3/2) = 56/75.  B split; the first set merges A and B. */
    m = &p[2].eval;
    assert_eval(m, 3, 6, 2, 1, 1);
    assert_frac(m->pair_precision, 1, 2);
    assert_frac(m->pair_recall, 3, 4);
    assert_frac(m->pair_f1, 3, 5);
    assert_frac(m->bcubed_precision, 7, 10);
    assert_frac(m->bcubed_recall, 4, 5);
    assert_frac(m->bcubed_f1, 56, 75);
    /* t = 0 and -2, one set: TP 4, found 10: P 2/5, R 1, F1 4/7.
     * B3 P = (9 + 4)/5 / 5 = 13/25; R 1; F1 = 2(13/25)/(38/25) = 13/19. */
    for (int k = 0; k < 2; k++) {
        m = &p[k].eval;
        assert_eval(m, 4, 10, 1, 0, 1);
        assert_frac(m->pair_precision, 2, 5);
        assert_frac(m->pair_recall, 1, 1);
        assert_frac(m->pair_f1, 4, 7);
        assert_frac(m->bcubed_precision, 13, 25);
        assert_frac(m->bcubed_recall, 1, 1);
        assert_frac(m->bcubed_f1, 13, 19);
    }
    assert_int_equal(ddw_sweep_best(p, 5), 2); /* F1 3/5 at t = 2 */

    /* without truth: the same clustering, no figures */
    ddw_sweep_point q[5];
    run5(DDW_SWEEP_REFINE_NONE, 0, q);
    for (int k = 0; k < 5; k++) {
        assert_point(&q[k], p[k].persons, p[k].edges, p[k].edges_skipped,
                     p[k].largest_cluster);
        assert_int_equal(q[k].eval.records, 0);
        assert_true(q[k].eval.pair_f1 == 0);
    }
}

static void test_hand_pnc(void **state)
{
    (void)state;
    ddw_sweep_point p[5];
    run5(DDW_SWEEP_REFINE_PNC, 1, p);
    assert_point(&p[0], 2, 3, 2, 3); /* (10,50) skipped as well */
    assert_point(&p[1], 2, 3, 1, 3);
    assert_point(&p[2], 3, 2, 1, 3); /* (30,40) skipped: PNC 7 vs 9 */
    assert_point(&p[3], 4, 1, 0, 2);
    assert_point(&p[4], 5, 0, 0, 1);
    /* t = 2, {10,20,30} {40} {50}: TP 3 of 3 found: P 1, R 3/4, F1 6/7.
     * B3 P 1; B3 R = (9/3 + 2/2) / 5 = 4/5; F1 = 2(4/5)/(9/5) = 8/9. */
    const ddw_eval_metrics *m = &p[2].eval;
    assert_eval(m, 3, 3, 3, 1, 0);
    assert_frac(m->pair_precision, 1, 1);
    assert_frac(m->pair_recall, 3, 4);
    assert_frac(m->pair_f1, 6, 7);
    assert_frac(m->bcubed_precision, 1, 1);
    assert_frac(m->bcubed_recall, 4, 5);
    assert_frac(m->bcubed_f1, 8, 9);
    /* t = 0 and -2: exactly the truth */
    for (int k = 0; k < 2; k++) {
        m = &p[k].eval;
        assert_eval(m, 4, 4, 2, 0, 0);
        assert_frac(m->pair_f1, 1, 1);
        assert_frac(m->bcubed_precision, 1, 1);
        assert_frac(m->bcubed_recall, 1, 1);
        assert_frac(m->bcubed_f1, 1, 1);
    }
    assert_int_equal(ddw_sweep_best(p, 5), 1); /* F1 1 at 0 and -2: the higher wins */

    /* pnc_key NULL: nothing conflicts, so refine pnc is refine none */
    ddw_sweep_input in = input5(DDW_SWEEP_REFINE_PNC, 0);
    in.pnc_key = NULL;
    double t[2] = {-2, 2};
    ddw_sweep_point q[2];
    assert_int_equal(ddw_sweep_run(&in, 2, t, q, NULL), DDW_OK);
    assert_point(&q[0], 1, 5, 0, 5);
    assert_point(&q[1], 2, 3, 0, 4);
}

static void test_errors(void **state)
{
    (void)state;
    double t[3] = {0, 1, 2};
    ddw_sweep_point p[3];
    ddw_sweep_input in = input5(DDW_SWEEP_REFINE_NONE, 1);
    uint64_t keys[5] = {10, 20, 20, 40, 50};
    in.key = keys;
    assert_int_equal(ddw_sweep_run(&in, 3, t, p, NULL), DDW_EINVAL); /* keys repeat */
    in = input5(DDW_SWEEP_REFINE_NONE, 1);
    uint64_t eb[5] = {20, 50, 30, 40, 55};
    in.b = eb;
    assert_int_equal(ddw_sweep_run(&in, 3, t, p, NULL), DDW_EINVAL); /* 55 is no record */
    uint64_t ksp[5] = {10, 20, DDW_KEY(1, 5), DDW_KEY(1, 90000), DDW_KEY(3, 7)};
    uint64_t asp[2] = {10, DDW_KEY(1, 5)}, bsp[2] = {DDW_KEY(3, 7), DDW_KEY(1, 90000)};
    uint64_t bsp_bad[2] = {DDW_KEY(3, 7), DDW_KEY(1, 90001)}, bsp_bad2[2] = {DDW_KEY(2, 7), 20};
    double wsp[2] = {1, 2}, tsp[1] = {0};
    ddw_sweep_input sp = {5, ksp, NULL, NULL, 0, 2, asp, bsp, wsp, DDW_SWEEP_REFINE_NONE, NULL};
    assert_int_equal(ddw_sweep_run(&sp, 1, tsp, p, NULL), DDW_OK);
    assert_point(&p[0], 3, 2, 0, 2);
    sp.b = bsp_bad; /* a row between two sparse rows of source 1 */
    assert_int_equal(ddw_sweep_run(&sp, 1, tsp, p, NULL), DDW_EINVAL);
    sp.b = bsp_bad2; /* a source with no records */
    assert_int_equal(ddw_sweep_run(&sp, 1, tsp, p, NULL), DDW_EINVAL);
    double t2[2] = {2, 6};
    assert_int_equal(ddw_sweep_run(&in, 2, t2, p, NULL), DDW_OK); /* that edge (w 1) not needed */
    in = input5(DDW_SWEEP_REFINE_NONE, 1);
    in.ntrue = 1;
    assert_int_equal(ddw_sweep_run(&in, 3, t, p, NULL), DDW_EINVAL); /* truth 1 >= 1 */
    in.ntrue = 6;
    assert_int_equal(ddw_sweep_run(&in, 3, t, p, NULL), DDW_EINVAL); /* more persons than records */
    in = input5(DDW_SWEEP_REFINE_NONE, 1);
    double down[3] = {2, 1, 0}, withnan[2] = {0, NAN};
    assert_int_equal(ddw_sweep_run(&in, 3, down, p, NULL), DDW_EINVAL);
    assert_int_equal(ddw_sweep_run(&in, 2, withnan, p, NULL), DDW_EINVAL);
    assert_int_equal(ddw_sweep_run(NULL, 3, t, p, NULL), DDW_EINVAL);
    assert_int_equal(ddw_sweep_run(&in, 0, NULL, NULL, NULL), DDW_OK);
    /* no records, no edges */
    ddw_sweep_input none = {0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, DDW_SWEEP_REFINE_NONE, NULL};
    uint64_t dummy = 0;
    none.truth = &dummy;
    assert_int_equal(ddw_sweep_run(&none, 1, t, p, NULL), DDW_OK);
    assert_point(&p[0], 0, 0, 0, 0);
    assert_true(p[0].eval.pair_precision == 1 && p[0].eval.bcubed_recall == 1);
    /* NaN weights never come into range */
    in = input5(DDW_SWEEP_REFINE_NONE, 0);
    double wn[5] = {5, -1, NAN, 3, 1};
    in.weight = wn;
    double tl[1] = {-100};
    assert_int_equal(ddw_sweep_run(&in, 1, tl, p, NULL), DDW_OK);
    assert_point(&p[0], 1, 4, 0, 5);
}

/* ---- random graphs against a from-scratch computation ------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = rng_state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return rnd() % n; }

/* Link's clustering at t, from scratch: ddw_refine_component over the whole
 * graph (what link runs per component), cross-checked for refine none by a
 * plain union-find.  Fills person[] and returns the point without figures. */
static ddw_sweep_point reference(const ddw_sweep_input *in, double t, uint64_t *person)
{
    size_t n = in->nrecords;
    ddw_refine_rec *rec = calloc(n ? n : 1, sizeof *rec);
    ddw_refine_edge *ed = calloc(in->nedges ? in->nedges : 1, sizeof *ed);
    for (size_t i = 0; i < n; i++) {
        rec[i].key = in->key[i];
        rec[i].dob = DDW_REFINE_DOB_NONE;
        rec[i].pnc = in->pnc_key ? in->pnc_key[i] : 0;
        rec[i].pnc_valid = rec[i].pnc != 0;
        rec[i].attach_once = in->attach_once ? in->attach_once[i] : 0;
    }
    size_t ne = 0;
    for (size_t k = 0; k < in->nedges; k++)
        if (in->weight[k] >= t)
            ed[ne++] = (ddw_refine_edge){in->a[k], in->b[k], in->weight[k]};
    ddw_refine_opts o = {in->refine == DDW_SWEEP_REFINE_PNC, 0, in->attach_once != NULL};
    size_t skipped = 0;
    assert_int_equal(ddw_refine_component(&o, n, rec, ne, ed, person, &skipped), DDW_OK);
    if (in->refine == DDW_SWEEP_REFINE_NONE && !in->attach_once) {
        ddw_uf uf;
        ddw_uf_init(&uf, n);
        for (size_t k = 0; k < ne; k++)
            ddw_uf_union(&uf, (uint32_t)ddw_lower_bound_u64(in->key, n, ed[k].a),
                         (uint32_t)ddw_lower_bound_u64(in->key, n, ed[k].b));
        for (size_t i = 0; i < n; i++)
            assert_true(person[i] == in->key[ddw_uf_find(&uf, (uint32_t)i)]);
        ddw_uf_free(&uf);
        assert_int_equal(skipped, 0);
    }
    ddw_sweep_point p;
    memset(&p, 0, sizeof p);
    p.threshold = t;
    p.edges = ne - skipped;
    p.edges_skipped = skipped;
    uint32_t *cnt = calloc(n ? n : 1, sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        size_t r = ddw_lower_bound_u64(in->key, n, person[i]);
        if (cnt[r]++ == 0)
            p.persons++;
        if (cnt[r] > p.largest_cluster)
            p.largest_cluster = cnt[r];
    }
    free(cnt);
    free(rec);
    free(ed);
    return p;
}

static void same_bits(double a, double b, const char *what, size_t g)
{
    if (memcmp(&a, &b, sizeof a) != 0)
        fail_msg("point %zu: %s %.17g, from scratch %.17g", g, what, a, b);
}

/* One random case: n records, ne edges, ntrue persons (0: no truth); sparse:
 * keys of several sources with rows far apart (the key index's fallback). */
static void random_case(size_t n, size_t ne, uint64_t ntrue, int npnc, int wlevels,
                        ddw_sweep_refine refine, int sparse)
{
    uint64_t *key = malloc((n ? n : 1) * sizeof *key);
    uint64_t *pnc = malloc((n ? n : 1) * sizeof *pnc);
    uint64_t *truth = malloc((n ? n : 1) * sizeof *truth);
    uint64_t *ea = malloc((ne ? ne : 1) * sizeof *ea), *eb = malloc((ne ? ne : 1) * sizeof *eb);
    double *w = malloc((ne ? ne : 1) * sizeof *w);
    uint64_t k = 1 + below(5);
    for (size_t i = 0; i < n; i++) {
        key[i] = k;
        k += 1 + below(sparse ? 5000 : 3);
        if (sparse && below(20) == 0) /* on to the next source, dense or not */
            k = DDW_KEY(DDW_KEY_SOURCE(k) + 1 + (int)below(3), below(4));
        pnc[i] = npnc && below(3) == 0 ? 1000 + below((uint64_t)npnc) : 0;
    }
    /* true persons: random labels, then renumbered densely as the join does */
    uint64_t *seen = calloc(ntrue ? ntrue : 1, sizeof *seen);
    uint64_t T = 0;
    for (size_t i = 0; i < n && ntrue; i++) {
        uint64_t lab = below(ntrue);
        if (seen[lab] == 0)
            seen[lab] = ++T;
        truth[i] = seen[lab] - 1;
    }
    free(seen);
    for (size_t e = 0; e < ne && n >= 2; e++) {
        size_t x = (size_t)below(n), y = (size_t)below(n - 1);
        if (y >= x)
            y++;
        ea[e] = key[x < y ? x : y];
        eb[e] = key[x < y ? y : x];
        w[e] = below(40) == 0 ? NAN : ((double)below((uint64_t)wlevels) - wlevels / 2.0) / 2;
        if (below(10) == 0)
            w[e] = -w[e]; /* -0.0 now and then */
    }
    if (n < 2)
        ne = 0;
    double t[9];
    size_t npts = 1 + (size_t)below(8);
    t[0] = -(double)wlevels / 4 - 1 + (double)below(3);
    for (size_t g = 1; g < npts; g++)
        t[g] = t[g - 1] + (double)below(4) / 4; /* repeats allowed */
    /* a third of the cases have attach_once records (about a third of them) */
    uint8_t *attach = NULL;
    if (below(3) == 0) {
        attach = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            attach[i] = below(3) == 0;
    }
    ddw_sweep_input in = {n, key, pnc, ntrue ? truth : NULL, T, ne, ea, eb, w, refine, attach};
    ddw_sweep_point p[9];
    assert_int_equal(ddw_sweep_run(&in, npts, t, p, stderr), DDW_OK);
    uint64_t *person = malloc((n ? n : 1) * sizeof *person);
    int32_t *src = calloc(n ? n : 1, sizeof *src);
    for (size_t g = 0; g < npts; g++) {
        ddw_sweep_point r = reference(&in, t[g], person);
        assert_true(p[g].threshold == t[g]);
        assert_int_equal(p[g].persons, r.persons);
        assert_int_equal(p[g].edges, r.edges);
        assert_int_equal(p[g].edges_skipped, r.edges_skipped);
        assert_int_equal(p[g].largest_cluster, r.largest_cluster);
        if (!ntrue)
            continue;
        ddw_eval_result ev;
        assert_int_equal(ddw_evaluate_counts(n, person, truth, src, 1, &ev), DDW_OK);
        for (int f = 0; f < ddw_eval_nfields; f++) {
            if (ddw_eval_fields[f].is_count)
                assert_int_equal(ddw_eval_field_u64(&p[g].eval, f),
                                 ddw_eval_field_u64(&ev.all, f));
            else
                same_bits(ddw_eval_field_f64(&p[g].eval, f), ddw_eval_field_f64(&ev.all, f),
                          ddw_eval_fields[f].name, g);
        }
        assert_int_equal(p[g].eval.persons_found, p[g].persons);
        ddw_eval_result_free(&ev);
    }
    free(person);
    free(src);
    free(attach);
    free(key);
    free(pnc);
    free(truth);
    free(ea);
    free(eb);
    free(w);
}

static void test_random_small(void **state)
{
    (void)state;
    rng_state = 42;
    for (int trial = 0; trial < 400; trial++) {
        size_t n = (size_t)below(40);
        size_t ne = (size_t)below(3 * n + 1);
        uint64_t ntrue = trial % 5 == 0 ? 0 : 1 + below(n + 1);
        ddw_sweep_refine ref = trial % 2 ? DDW_SWEEP_REFINE_PNC : DDW_SWEEP_REFINE_NONE;
        random_case(n, ne, ntrue, 1 + (int)below(6), 2 + (int)below(20), ref, trial % 3 == 0);
    }
}

static void test_random_large(void **state)
{
    (void)state;
    rng_state = 7;
    /* few true persons: big sets of many true persons, tables grow and merge;
     * many: mostly inline maps */
    static const uint64_t ntrue[] = {3, 40, 700, 3000};
    for (int trial = 0; trial < 8; trial++) {
        ddw_sweep_refine ref = trial % 2 ? DDW_SWEEP_REFINE_PNC : DDW_SWEEP_REFINE_NONE;
        random_case(3000, 4000 + (size_t)below(4000), ntrue[trial / 2], 400, 30, ref, trial % 4 == 3);
    }
}

/* ---- printed forms ---------------------------------------------------------------- */

static void test_output(void **state)
{
    (void)state;
    ddw_sweep_point p[5];
    run5(DDW_SWEEP_REFINE_PNC, 1, p);
    ddw_sweep_info info = {"res/\"x\".h5", "pnc", "truth.csv", 5, 5, -10, 2.5};
    char *j = ddw_sweep_json(&info, p, 5);
    assert_non_null(strstr(j, "\"result\": \"res/\\\"x\\\".h5\""));
    assert_non_null(strstr(j, "\"refine\": \"pnc\""));
    assert_non_null(strstr(j, "\"grid\": [\n    {\"threshold\": -2, \"persons\": 2, \"edges\": 3, "
                              "\"edges_skipped\": 2, \"largest_cluster\": 3, \"pair_precision\": 1,"));
    assert_non_null(strstr(j, "\"best\": {\"threshold\": 0, \"persons\": 2,"));
    assert_non_null(strstr(j, "\"pair_f1\": 0.8571428571428571")); /* 6/7 at t = 2 */
    assert_non_null(strstr(j, "\"true_positive_pairs\": 4}"));
    assert_int_equal(j[strlen(j) - 1], '}');
    free(j);
    info.truth = NULL;
    j = ddw_sweep_json(&info, p, 5);
    assert_null(strstr(j, "best"));
    assert_null(strstr(j, "pair_f1"));
    assert_non_null(strstr(j, "\"largest_cluster\": 1}\n  ]\n}"));
    free(j);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    info.truth = "truth.csv";
    ddw_sweep_print_table(f, &info, p, 5);
    fclose(f);
    assert_non_null(strstr(buf, "weight >= -10"));
    assert_non_null(strstr(buf, "linked at threshold 2.5"));
    assert_non_null(strstr(buf, "pair F1"));
    assert_non_null(strstr(buf, "best pair F1 1.000000 at threshold 0 "));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_fmt_double),
        cmocka_unit_test(test_hand_none),
        cmocka_unit_test(test_hand_pnc),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_random_small),
        cmocka_unit_test(test_random_large),
        cmocka_unit_test(test_output),
    };
    return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}
