/*
 * estimate.c - unsupervised estimation of the Fellegi-Sunter model from
 * integer counts of comparison patterns: u from random pairs, EM for
 * lambda and m (optionally u) on blocked pairs, and the combination of
 * per-pass EM results.
 *
 * Trade-off: pairs are reduced to counts of distinct patterns (mixed-radix
 * codes) before any arithmetic.  Counting is integer work that threads and
 * ranks can split and sum in any order; all floating-point work then runs
 * over the canonical (sorted, deduplicated) pattern list, so results are
 * bit-identical for any rank or thread count, and an EM iteration costs
 * O(distinct patterns x comparisons) - a few thousand patterns - however
 * many millions of pairs were counted.  The price is that the number of
 * possible patterns must fit in a 64-bit code and that nothing per pair
 * (e.g. term frequencies) can enter the likelihood.
 *
 * A comparison the blocking rule selected pairs on is skipped by EM rather
 * than held at a fixed m inside the likelihood: every blocked pair agrees
 * (or nearly) on it, so a fixed Bayes factor m/u would multiply every
 * pair's prior odds alike and pull lambda away from the share of matches
 * among the pairs.
 */
#include "ddw_estimate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LAMBDA_MIN 1e-12
#define LAMBDA_MAX (1.0 - 1e-12)

/* ---- pattern codes -------------------------------------------------------- */

static int levels_valid(int ncomp, const int *nlev)
{
    if (ncomp < 1 || ncomp > DDW_MAX_COMPARE || !nlev)
        return 0;
    for (int c = 0; c < ncomp; c++)
        if (nlev[c] < 2 || nlev[c] > DDW_MAX_LEVELS + 1)
            return 0;
    return 1;
}

ddw_status ddw_est_check_levels(int ncomp, const int *nlev, uint64_t *ncodes)
{
    if (!levels_valid(ncomp, nlev))
        return DDW_EINVAL;
    uint64_t prod = 1;
    for (int c = 0; c < ncomp; c++) {
        if (prod > UINT64_MAX / (uint64_t)nlev[c])
            return DDW_ERANGE;
        prod *= (uint64_t)nlev[c];
    }
    if (ncodes)
        *ncodes = prod;
    return DDW_OK;
}

uint64_t ddw_est_encode(int ncomp, const int *nlev, const uint8_t *levels)
{
    uint64_t code = 0;
    for (int c = 0; c < ncomp; c++)
        code = code * (uint64_t)nlev[c] + levels[c];
    return code;
}

void ddw_est_decode(int ncomp, const int *nlev, uint64_t code, uint8_t *levels)
{
    for (int c = ncomp - 1; c >= 0; c--) {
        levels[c] = (uint8_t)(code % (uint64_t)nlev[c]);
        code /= (uint64_t)nlev[c];
    }
}

typedef struct {
    uint64_t code, count;
} pat;

static int cmp_pat(const void *x, const void *y)
{
    uint64_t a = ((const pat *)x)->code, b = ((const pat *)y)->code;
    return a < b ? -1 : a > b;
}

/* Sorts p[0..n) by code, sums equal codes, drops zero counts; returns the new n. */
static size_t canon_pats(pat *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_pat);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i].count == 0)
            continue;
        if (k > 0 && p[k - 1].code == p[i].code)
            p[k - 1].count += p[i].count;
        else
            p[k++] = p[i];
    }
    return k;
}

size_t ddw_est_canonical(uint64_t *codes, uint64_t *counts, size_t n)
{
    if (n == 0)
        return 0;
    pat *p = ddw_xmalloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = (pat){codes[i], counts[i]};
    size_t k = canon_pats(p, n);
    for (size_t i = 0; i < k; i++) {
        codes[i] = p[i].code;
        counts[i] = p[i].count;
    }
    free(p);
    return k;
}

/* ---- pattern histogram ------------------------------------------------------ */

#define HIST_CAP0 256

void ddw_est_hist_init(ddw_est_hist *h)
{
    h->cap = HIST_CAP0;
    h->n = 0;
    h->code = ddw_xmalloc(h->cap * sizeof *h->code);
    h->count = ddw_xcalloc(h->cap, sizeof *h->count);
}

void ddw_est_hist_free(ddw_est_hist *h)
{
    if (!h)
        return;
    free(h->code);
    free(h->count);
    memset(h, 0, sizeof *h);
}

/* Adds n (> 0) at code, assuming room for one more entry. */
static void hist_put(ddw_est_hist *h, uint64_t code, uint64_t n)
{
    size_t mask = h->cap - 1, i = (size_t)ddw_mix64(code) & mask;
    while (h->count[i] != 0) {
        if (h->code[i] == code) {
            h->count[i] += n;
            return;
        }
        i = (i + 1) & mask;
    }
    h->code[i] = code;
    h->count[i] = n;
    h->n++;
}

static void hist_grow(ddw_est_hist *h)
{
    ddw_est_hist g = {ddw_xmalloc(2 * h->cap * sizeof(uint64_t)),
                      ddw_xcalloc(2 * h->cap, sizeof(uint64_t)), 2 * h->cap, 0};
    for (size_t i = 0; i < h->cap; i++)
        if (h->count[i])
            hist_put(&g, h->code[i], h->count[i]);
    ddw_est_hist_free(h);
    *h = g;
}

void ddw_est_hist_add(ddw_est_hist *h, uint64_t code, uint64_t n)
{
    if (n == 0)
        return;
    if (2 * (h->n + 1) > h->cap)
        hist_grow(h);
    hist_put(h, code, n);
}

void ddw_est_hist_merge(ddw_est_hist *dst, const ddw_est_hist *src)
{
    for (size_t i = 0; i < src->cap; i++)
        if (src->count[i])
            ddw_est_hist_add(dst, src->code[i], src->count[i]);
}

void ddw_est_hist_sorted(const ddw_est_hist *h, uint64_t **codes, uint64_t **counts,
                         size_t *n)
{
    size_t k = 0, m = h->n ? h->n : 1;
    pat *p = ddw_xmalloc(m * sizeof *p);
    for (size_t i = 0; i < h->cap; i++)
        if (h->count[i])
            p[k++] = (pat){h->code[i], h->count[i]};
    qsort(p, k, sizeof *p, cmp_pat);
    *codes = ddw_xmalloc(m * sizeof **codes);
    *counts = ddw_xmalloc(m * sizeof **counts);
    for (size_t i = 0; i < k; i++) {
        (*codes)[i] = p[i].code;
        (*counts)[i] = p[i].count;
    }
    *n = k;
    free(p);
}

/* ---- u from random pairs ----------------------------------------------------- */

ddw_status ddw_est_u_from_counts(int ncomp, const int *nlev, size_t n, const uint64_t *codes,
                                 const uint64_t *counts, double smoothing, double *u,
                                 unsigned char *uniform)
{
    uint64_t ncodes;
    ddw_status st = ddw_est_check_levels(ncomp, nlev, &ncodes);
    if (st != DDW_OK)
        return st;
    if (!u || (n > 0 && (!codes || !counts)) || !isfinite(smoothing) || smoothing < 0)
        return DDW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (codes[i] >= ncodes)
            return DDW_EINVAL;

    uint64_t *tally = ddw_xcalloc((size_t)ncomp * DDW_EST_STRIDE, sizeof *tally);
    uint8_t lev[DDW_MAX_COMPARE];
    for (size_t i = 0; i < n; i++) {
        ddw_est_decode(ncomp, nlev, codes[i], lev);
        for (int c = 0; c < ncomp; c++)
            tally[c * DDW_EST_STRIDE + lev[c]] += counts[i];
    }
    for (int c = 0; c < ncomp; c++) {
        const uint64_t *t = tally + c * DDW_EST_STRIDE;
        double *row = u + c * DDW_EST_STRIDE;
        int L = nlev[c] - 1;
        uint64_t present = 0;
        for (int l = 1; l <= L; l++)
            present += t[l];
        for (int l = 0; l < DDW_EST_STRIDE; l++)
            row[l] = 0.0;
        for (int l = 1; l <= L; l++)
            row[l] = present ? ((double)t[l] + smoothing) / ((double)present + smoothing * L)
                             : 1.0 / L;
        if (uniform)
            uniform[c] = present == 0;
    }
    free(tally);
    return DDW_OK;
}

/* ---- EM ----------------------------------------------------------------------- */

void ddw_est_opts_default(ddw_est_opts *opt)
{
    opt->max_iter = 100;
    opt->tol = 1e-5;
    opt->min_prob = 1e-6;
}

static double clamp_lambda(double x)
{
    return x < LAMBDA_MIN ? LAMBDA_MIN : x > LAMBDA_MAX ? LAMBDA_MAX : x;
}

/*
 * Makes p[1..L] a distribution with every value >= fl (needs L * fl < 1):
 * values that would fall below fl after scaling are pinned at fl and the
 * rest rescaled to fill 1 - (pinned) * fl, until no new value is pinned.
 * Each round pins at least one more value or finishes, so at most L rounds.
 */
static void floor_normalise(double *p, int L, double fl)
{
    unsigned char pinned[DDW_EST_STRIDE] = {0};
    for (;;) {
        int k = 0;
        double sum = 0.0;
        for (int l = 1; l <= L; l++) {
            if (pinned[l])
                k++;
            else
                sum += p[l];
        }
        double room = 1.0 - k * fl;
        if (!(sum > 0.0)) { /* nothing left to scale: share the room evenly */
            for (int l = 1; l <= L; l++)
                p[l] = pinned[l] ? fl : room / (L - k);
            return;
        }
        int more = 0;
        for (int l = 1; l <= L; l++)
            if (!pinned[l] && p[l] * room / sum < fl) {
                pinned[l] = 1;
                more = 1;
            }
        if (!more) {
            for (int l = 1; l <= L; l++)
                p[l] = pinned[l] ? fl : p[l] * room / sum;
            return;
        }
    }
}

static int opts_valid(const ddw_est_opts *o)
{
    return o->max_iter >= 0 && isfinite(o->tol) && o->tol >= 0 && isfinite(o->min_prob) &&
           o->min_prob > 0 && o->min_prob * DDW_MAX_LEVELS < 1.0;
}

static int row_valid(const double *row, int L, int fixed)
{
    for (int l = 1; l <= L; l++) {
        double x = row[l];
        if (!isfinite(x) || x < 0 || x > 1 || (fixed && x == 0))
            return 0;
    }
    return 1;
}

/* ln(e^a + e^b) without overflow or underflow. */
static double log_add(double a, double b)
{
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
}

/* Internal EM state: canonical patterns and per-comparison roles. */
typedef struct {
    int ncomp;
    int L[DDW_MAX_COMPARE];
    unsigned char use[DDW_MAX_COMPARE];  /* in the likelihood */
    unsigned char estm[DDW_MAX_COMPARE]; /* m estimated */
    unsigned char estu[DDW_MAX_COMPARE]; /* u estimated */
    size_t n;
    double *count; /* [n] */
    uint8_t *lev;  /* [n * ncomp] */
} em_data;

/*
 * One pass over the patterns with parameters md: returns the
 * log-likelihood and, when sm/su are not NULL, accumulates the expected
 * counts of matches (sm) and non-matches (su) per [c][l] and returns the
 * expected matches in *s1.
 */
static double em_pass(const em_data *d, const ddw_est_model *md, double (*sm)[DDW_EST_STRIDE],
                      double (*su)[DDW_EST_STRIDE], double *s1)
{
    double lm[DDW_MAX_COMPARE][DDW_EST_STRIDE], lu[DDW_MAX_COMPARE][DDW_EST_STRIDE];
    for (int c = 0; c < d->ncomp; c++) {
        lm[c][0] = lu[c][0] = 0.0;
        for (int l = 1; l <= d->L[c]; l++) {
            lm[c][l] = log(md->m[c][l]);
            lu[c][l] = log(md->u[c][l]);
        }
    }
    double la = log(md->lambda), lb = log1p(-md->lambda);
    double ll = 0.0, e1 = 0.0;
    for (size_t i = 0; i < d->n; i++) {
        const uint8_t *lev = d->lev + i * (size_t)d->ncomp;
        double a = la, b = lb;
        for (int c = 0; c < d->ncomp; c++) {
            if (!d->use[c])
                continue;
            a += lm[c][lev[c]];
            b += lu[c][lev[c]];
        }
        double w = d->count[i];
        ll += w * log_add(a, b);
        if (!sm)
            continue;
        double wp = w / (1.0 + exp(b - a)), wq = w / (1.0 + exp(a - b));
        e1 += wp;
        for (int c = 0; c < d->ncomp; c++) {
            if (!d->use[c] || lev[c] == 0)
                continue;
            sm[c][lev[c]] += wp;
            su[c][lev[c]] += wq;
        }
    }
    if (s1)
        *s1 = e1;
    return ll;
}

/* New row from expected counts e[1..L] (kept when they are all zero), floored; returns max change. */
static double m_step_row(double *row, const double *e, int L, double fl)
{
    double tot = 0.0;
    for (int l = 1; l <= L; l++)
        tot += e[l];
    if (!(tot > 0.0))
        return 0.0;
    double nw[DDW_EST_STRIDE];
    for (int l = 1; l <= L; l++)
        nw[l] = e[l] / tot;
    floor_normalise(nw, L, fl);
    double delta = 0.0;
    for (int l = 1; l <= L; l++) {
        double dd = fabs(nw[l] - row[l]);
        if (dd > delta)
            delta = dd;
        row[l] = nw[l];
    }
    return delta;
}

ddw_status ddw_est_em(const ddw_est_problem *pb, ddw_est_model *model, const ddw_est_opts *opt,
                      ddw_est_trace *trace)
{
    if (!pb || !model)
        return DDW_EINVAL;
    uint64_t ncodes;
    ddw_status st = ddw_est_check_levels(pb->ncomp, pb->nlev, &ncodes);
    if (st != DDW_OK)
        return st;
    ddw_est_opts dflt;
    if (!opt) {
        ddw_est_opts_default(&dflt);
        opt = &dflt;
    }
    if (!opts_valid(opt) || pb->n == 0 || !pb->codes || !pb->counts)
        return DDW_EINVAL;
    if (!isfinite(model->lambda) || model->lambda < 0 || model->lambda > 1)
        return DDW_EINVAL;

    em_data d = {.ncomp = pb->ncomp};
    for (int c = 0; c < d.ncomp; c++) {
        d.L[c] = pb->nlev[c] - 1;
        d.use[c] = !(pb->skip && pb->skip[c]);
        d.estm[c] = d.use[c] && !(pb->fix_m && pb->fix_m[c]);
        d.estu[c] = d.use[c] && pb->fix_u && !pb->fix_u[c];
        if (d.use[c] && (!row_valid(model->m[c], d.L[c], !d.estm[c]) ||
                         !row_valid(model->u[c], d.L[c], !d.estu[c])))
            return DDW_EINVAL;
    }
    for (size_t i = 0; i < pb->n; i++)
        if (pb->codes[i] >= ncodes)
            return DDW_EINVAL;

    /* canonical patterns */
    pat *p = ddw_xmalloc(pb->n * sizeof *p);
    for (size_t i = 0; i < pb->n; i++)
        p[i] = (pat){pb->codes[i], pb->counts[i]};
    d.n = canon_pats(p, pb->n);
    if (d.n == 0) {
        free(p);
        return DDW_EINVAL;
    }
    d.count = ddw_xmalloc(d.n * sizeof *d.count);
    d.lev = ddw_xmalloc(d.n * (size_t)d.ncomp);
    double total = 0.0;
    {
        uint64_t itotal = 0;
        for (size_t i = 0; i < d.n; i++) {
            d.count[i] = (double)p[i].count;
            itotal += p[i].count;
            ddw_est_decode(d.ncomp, pb->nlev, p[i].code, d.lev + i * (size_t)d.ncomp);
        }
        total = (double)itotal;
    }
    free(p);

    /* working copy of the start model */
    ddw_est_model *md = ddw_xmalloc(sizeof *md);
    *md = *model;
    md->lambda = clamp_lambda(md->lambda);
    for (int c = 0; c < d.ncomp; c++) {
        if (d.estm[c])
            floor_normalise(md->m[c], d.L[c], opt->min_prob);
        if (d.estu[c])
            floor_normalise(md->u[c], d.L[c], opt->min_prob);
    }

    double (*sm)[DDW_EST_STRIDE] = ddw_xmalloc(DDW_MAX_COMPARE * sizeof *sm);
    double (*su)[DDW_EST_STRIDE] = ddw_xmalloc(DDW_MAX_COMPARE * sizeof *su);
    int it = 0, converged = 0;
    while (it < opt->max_iter) {
        memset(sm, 0, DDW_MAX_COMPARE * sizeof *sm);
        memset(su, 0, DDW_MAX_COMPARE * sizeof *su);
        double s1;
        double ll = em_pass(&d, md, sm, su, &s1);
        if (trace && trace->loglik)
            trace->loglik[it] = ll;
        if (trace && trace->lambda)
            trace->lambda[it] = md->lambda;
        it++;

        double lam = clamp_lambda(s1 / total);
        double delta = fabs(lam - md->lambda);
        md->lambda = lam;
        for (int c = 0; c < d.ncomp; c++) {
            if (d.estm[c]) {
                double dm = m_step_row(md->m[c], sm[c], d.L[c], opt->min_prob);
                if (dm > delta)
                    delta = dm;
            }
            if (d.estu[c]) {
                double du = m_step_row(md->u[c], su[c], d.L[c], opt->min_prob);
                if (du > delta)
                    delta = du;
            }
        }
        if (delta < opt->tol) {
            converged = 1;
            break;
        }
    }
    if (trace) {
        trace->niter = it;
        trace->converged = converged;
        trace->final_loglik = em_pass(&d, md, NULL, NULL, NULL);
    }

    /* write back only what EM owns: lambda and levels 1..L_c */
    model->lambda = md->lambda;
    for (int c = 0; c < d.ncomp; c++)
        for (int l = 1; l <= d.L[c]; l++) {
            model->m[c][l] = md->m[c][l];
            model->u[c][l] = md->u[c][l];
        }
    free(sm);
    free(su);
    free(md);
    free(d.count);
    free(d.lev);
    return DDW_OK;
}

/* ---- combining passes --------------------------------------------------------- */

ddw_status ddw_est_combine_m(int npass, const ddw_est_model *per_pass,
                             const unsigned char *fixed, const uint64_t *weight, int ncomp,
                             const int *nlev, ddw_est_model *out, unsigned char *kept,
                             double *expected_matches)
{
    if (npass < 1 || !per_pass || !fixed || !weight || !out || !levels_valid(ncomp, nlev))
        return DDW_EINVAL;
    for (int p = 0; p < npass; p++) {
        double lam = per_pass[p].lambda;
        if (!isfinite(lam) || lam < 0 || lam > 1)
            return DDW_EINVAL;
    }
    double expected = 0.0, pairs = 0.0;
    for (int p = 0; p < npass; p++) {
        expected += (double)weight[p] * per_pass[p].lambda;
        pairs += (double)weight[p];
    }
    memset(out, 0, sizeof *out);
    out->lambda = pairs > 0 ? expected / pairs : 0.0;
    for (int c = 0; c < ncomp; c++) {
        int L = nlev[c] - 1;
        double wsum = 0.0, acc[DDW_EST_STRIDE] = {0};
        for (int p = 0; p < npass; p++) {
            if (fixed[(size_t)p * ncomp + c])
                continue;
            double w = (double)weight[p] * per_pass[p].lambda;
            if (!(w > 0))
                continue;
            wsum += w;
            for (int l = 1; l <= L; l++)
                acc[l] += w * per_pass[p].m[c][l];
        }
        for (int l = 1; l <= L; l++) {
            out->m[c][l] = wsum > 0 ? acc[l] / wsum : per_pass[0].m[c][l];
            out->u[c][l] = per_pass[0].u[c][l];
        }
        if (kept)
            kept[c] = !(wsum > 0);
    }
    if (expected_matches)
        *expected_matches = expected;
    return DDW_OK;
}
