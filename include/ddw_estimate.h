/*
 * ddw_estimate.h - unsupervised estimation of the Fellegi-Sunter model
 * (lambda, m, u) from integer counts of comparison patterns: pattern codes,
 * a pattern histogram, u from a random sample of pairs, EM on blocked
 * pairs, and the combination of per-pass EM results.
 *
 * No MPI, no I/O, no globals.  Everything computed from the same multiset
 * of (pattern, count) is bit-identical whatever order the patterns come in
 * (and however counts of one pattern are split), so callers may reduce
 * counts across ranks and threads in any order.
 */
#ifndef DDW_ESTIMATE_H
#define DDW_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"
#include "ddw_config.h"

/* Row stride of every [comparison][level] array here: levels 0..DDW_MAX_LEVELS. */
#define DDW_EST_STRIDE (DDW_MAX_LEVELS + 1)

/* ---- pattern codes ------------------------------------------------------ */

/*
 * Comparison c has nlev[c] = L_c + 1 levels 0..L_c (0 = missing).  A
 * pattern (one level per comparison) is coded in mixed radix with
 * comparison 0 most significant:
 *   code = (((levels[0]) * nlev[1] + levels[1]) * nlev[2] + ...) + levels[ncomp-1]
 * so ascending codes are patterns in lexicographic order.  Codes lie in
 * [0, prod nlev), which must fit in 64 bits.
 *
 * Checks 1 <= ncomp <= DDW_MAX_COMPARE and 2 <= nlev[c] <= DDW_MAX_LEVELS + 1
 * (DDW_EINVAL otherwise) and that the product of nlev is at most
 * UINT64_MAX (DDW_ERANGE otherwise; e.g. 16 comparisons of 15 levels do
 * not fit).  On success *ncodes (may be NULL) is that product.  Call once
 * before using encode/decode, which do not check.
 */
ddw_status ddw_est_check_levels(int ncomp, const int *nlev, uint64_t *ncodes);

/* Code of the pattern levels[0..ncomp) (each levels[c] < nlev[c]). */
uint64_t ddw_est_encode(int ncomp, const int *nlev, const uint8_t *levels);

/* Inverse of ddw_est_encode: writes levels[0..ncomp) of code (< prod nlev). */
void ddw_est_decode(int ncomp, const int *nlev, uint64_t code, uint8_t *levels);

/*
 * Canonical form of (code, count) arrays: sorts by code, sums the counts
 * of equal codes and drops zero counts, in place.  Returns the new length.
 * Use it after gathering arrays from several ranks.
 */
size_t ddw_est_canonical(uint64_t *codes, uint64_t *counts, size_t n);

/* ---- pattern histogram -------------------------------------------------- */

/*
 * A set of (code, count) in an open-addressing hash table (linear probing,
 * load <= 1/2; a slot is empty when its count is 0, so every code,
 * including 0 and UINT64_MAX, is a valid key).  Not thread-safe: use one
 * per thread and merge them.  Counts add as uint64 and must not overflow.
 */
typedef struct {
    uint64_t *code;  /* [cap] */
    uint64_t *count; /* [cap], 0 = empty slot */
    size_t cap;      /* power of two */
    size_t n;        /* distinct codes held */
} ddw_est_hist;

/* Initialises an empty histogram (never fails: ddw_xmalloc policy). */
void ddw_est_hist_init(ddw_est_hist *h);
/* Frees h's arrays and leaves it empty (unusable until init); NULL-safe. */
void ddw_est_hist_free(ddw_est_hist *h);
/* Adds n to the count of code (n == 0 does nothing). */
void ddw_est_hist_add(ddw_est_hist *h, uint64_t code, uint64_t n);
/* Adds every (code, count) of src into dst (dst != src); src is unchanged. */
void ddw_est_hist_merge(ddw_est_hist *dst, const ddw_est_hist *src);
/*
 * Exports h as two new arrays sorted by ascending code (*n entries, all
 * counts > 0).  The caller frees *codes and *counts (never NULL, even when
 * *n == 0).  The result depends only on the multiset added, not on the
 * order of adds and merges.
 */
void ddw_est_hist_sorted(const ddw_est_hist *h, uint64_t **codes, uint64_t **counts,
                         size_t *n);

/* ---- u from a random sample of pairs ------------------------------------ */

/*
 * u from the patterns of random record pairs (codes[0..n), counts[0..n),
 * any order, duplicates allowed).  For comparison c and level l in 1..L_c:
 *   u[c][l] = (pairs at level l + smoothing) / (pairs at a level != 0 + smoothing * L_c)
 * Pairs missing on c (level 0) do not count for c.  Counts are summed as
 * integers, so the result does not depend on the order.  A comparison with
 * no non-missing pair gets the uniform 1 / L_c and uniform[c] = 1 (else 0;
 * uniform may be NULL).  u is [ncomp * DDW_EST_STRIDE], row c at
 * u + c * DDW_EST_STRIDE; entries at level 0 and above L_c are set to 0.
 * Errors: as ddw_est_check_levels; DDW_EINVAL for smoothing < 0 or not
 * finite, a code >= prod nlev, or NULL arrays with n > 0.
 */
ddw_status ddw_est_u_from_counts(int ncomp, const int *nlev, size_t n, const uint64_t *codes,
                                 const uint64_t *counts, double smoothing, double *u,
                                 unsigned char *uniform);

/* ---- EM ------------------------------------------------------------------ */

/*
 * Role of a comparison in EM, per array below (NULL array = all 0):
 *   fix_m[c] = 1: m[c] is held at its start value but still weighs in the
 *                 E step (m known from elsewhere).
 *   fix_u[c] = 1: u[c] likewise (u from random pairs).  NULL means every
 *                 u is fixed - the usual case; pass an array of zeros to
 *                 estimate u too.
 *   skip[c]  = 1: the comparison is left out of the likelihood entirely,
 *                 as if every pair were missing on it; m[c] and u[c] are
 *                 untouched.  Use this for the comparisons of the fields a
 *                 blocking pass selected its pairs on: their levels are
 *                 skewed by the selection, so any fixed m/u would bias the
 *                 posteriors and lambda (Splink does the same).
 */
typedef struct {
    int ncomp;                  /* 1..DDW_MAX_COMPARE */
    const int *nlev;            /* [ncomp], nlev[c] = L_c + 1 */
    size_t n;                   /* patterns */
    const uint64_t *codes;      /* [n], any order, duplicates allowed */
    const uint64_t *counts;     /* [n], pairs per pattern; 0 is ignored */
    const unsigned char *fix_m; /* [ncomp] or NULL (none fixed) */
    const unsigned char *fix_u; /* [ncomp] or NULL (all fixed) */
    const unsigned char *skip;  /* [ncomp] or NULL (none skipped) */
} ddw_est_problem;

/*
 * lambda = share of matches among the pairs; m[c][l] = P(level l | match),
 * u[c][l] = P(level l | non-match) for l = 1..L_c.  Entries at level 0 and
 * above L_c are neither read nor written by EM.
 */
typedef struct {
    double lambda;
    double m[DDW_MAX_COMPARE][DDW_EST_STRIDE];
    double u[DDW_MAX_COMPARE][DDW_EST_STRIDE];
} ddw_est_model;

typedef struct {
    int max_iter;    /* iteration cap, >= 0 */
    double tol;      /* stop when no parameter moves more than this (>= 0) */
    double min_prob; /* floor of every estimated m and u, in (0, 1 / DDW_MAX_LEVELS) */
} ddw_est_opts;

/* max_iter 100, tol 1e-5, min_prob 1e-6 (the config defaults). */
void ddw_est_opts_default(ddw_est_opts *opt);

/*
 * Caller-owned iteration record.  loglik and lambda are arrays of at least
 * max_iter entries (either may be NULL).  Entry i describes the parameters
 * iteration i started from: loglik[i] is
 *   sum over patterns of count * ln(lambda prod m + (1 - lambda) prod u)
 * (products over non-skipped comparisons not missing in the pattern) and
 * lambda[i] their lambda.  final_loglik is that of the returned model.
 */
typedef struct {
    double *loglik;
    double *lambda;
    int niter;         /* iterations run */
    int converged;     /* 1 if stopped because the largest change was < tol */
    double final_loglik;
} ddw_est_trace;

/*
 * Fits lambda, m and u by EM to the pattern counts of pb, starting from
 * *model and writing the estimate back to *model.
 *
 * E step, per pattern: P(match) = lambda prod m / (lambda prod m +
 * (1 - lambda) prod u) over non-skipped comparisons not missing in the
 * pattern, in log space.  M step: lambda = sum count p / sum count,
 * clamped to [1e-12, 1 - 1e-12]; for each non-fixed m[c]:
 * m[c][l] = sum count p over patterns at level l / sum count p over
 * patterns not missing on c (u likewise with 1 - p), then floored at
 * min_prob and renormalised so that every value is >= min_prob and each
 * row sums to 1 (a row with no weight keeps its values).  Stops when the
 * largest absolute change of lambda and of any estimated m or u is below
 * opt->tol, or after opt->max_iter iterations.
 *
 * Deterministic: the patterns are put in canonical order (a sorted copy,
 * duplicates summed, zero counts dropped) and every sum runs in that
 * order, so equal multisets of counts give bit-identical models and
 * traces.
 *
 * The start model: lambda in [0, 1] (clamped as above); for non-skipped
 * comparisons m and u at levels 1..L_c finite and in [0, 1]; fixed ones
 * also > 0.  Estimated rows are floored and renormalised before the first
 * E step.  opt NULL = defaults; trace may be NULL.
 *
 * Errors (model untouched): as ddw_est_check_levels; DDW_EINVAL for NULL
 * pb/model/arrays, n == 0 or no positive count, a code >= prod nlev, bad
 * opt values or a bad start model.
 */
ddw_status ddw_est_em(const ddw_est_problem *pb, ddw_est_model *model, const ddw_est_opts *opt,
                      ddw_est_trace *trace);

/* ---- combining passes ------------------------------------------------------ */

/*
 * Combines the EM results of npass blocking passes over disjoint sets of
 * pairs.  fixed is [npass * ncomp]: fixed[p * ncomp + c] = 1 when pass p
 * did not estimate m[c] (fixed or skipped there).  weight[p] = pairs in
 * pass p.  For each comparison c:
 *   out->m[c][l] = sum_p w_p m_p[c][l] / sum_p w_p, w_p = weight[p] * lambda_p,
 * over the passes where c was not fixed, i.e. weighted by the expected
 * matches of each pass.  When no such pass has w_p > 0, out->m[c] is
 * per_pass[0].m[c] (the start value) and kept[c] = 1 (else 0; kept may
 * be NULL).  out->u is per_pass[0].u (u is held at the random-sample
 * value in every pass).  *expected_matches = sum_p weight[p] * lambda_p
 * (may be NULL), from which the caller derives the prior over all pairs;
 * out->lambda = that / sum_p weight[p] (0 if no pairs), the match share
 * among all the passes' pairs.  Sums run over p in ascending order.
 * Entries of out at level 0 and above L_c are 0.  out may not alias
 * per_pass.
 * Errors: DDW_EINVAL for npass < 1, NULL arrays, ncomp or nlev out of
 * range, or a lambda outside [0, 1].
 */
ddw_status ddw_est_combine_m(int npass, const ddw_est_model *per_pass,
                             const unsigned char *fixed, const uint64_t *weight, int ncomp,
                             const int *nlev, ddw_est_model *out, unsigned char *kept,
                             double *expected_matches);

#endif /* DDW_ESTIMATE_H */
