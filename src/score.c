/*
 * score.c - stage 3: Fellegi-Sunter scoring with OpenMP threads.
 *
 * Units (blocks and tiles) are handed to threads largest first with a
 * dynamic schedule, each thread appending edges to its own buffer, merged
 * afterwards.  A pair's weight is the prior's log2 odds plus a table
 * lookup per comparison, summed in comparison order, so it is the same
 * bits on whichever rank or thread scores it.  Trade-off: per-thread edge
 * buffers cost a final copy, but need no locks and no atomics in the loop;
 * the buffer is grown once per row (before the inner loop), never inside it.
 *
 * Levels come from a comparison plan per thread (ddw_compare_plan: per-unit
 * record features, bounds that skip most Jaro-Winkler calls), identical to
 * ddw_compare_level.  Most units are small blocks scattered through
 * memory, so a unit starts with cache misses on every column it reads;
 * consecutive units are therefore grouped into chunks of a few thousand
 * pairs that one thread scores in order, prefetching the values of the
 * unit two ahead and the text bytes of the next one.
 */
#include "ddw_score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ddw_compare.h"
#include "ddw_estimate.h"

double ddw_score_probability(double weight)
{
    return 1.0 / (1.0 + exp2(-weight));
}

void ddw_score_weights(const ddw_config *cfg, double w[][DDW_MAX_LEVELS + 1])
{
    for (int c = 0; c < cfg->ncompare; c++) {
        const ddw_compare_cfg *cc = &cfg->compare[c];
        w[c][0] = 0.0;
        for (int l = 0; l < cc->nlevels; l++)
            w[c][l + 1] = log2(cc->m[l] / cc->u[l]);
    }
}

static void edges_reserve(ddw_edges *e, size_t need)
{
    if (need <= e->cap)
        return;
    size_t cap = e->cap ? e->cap : 1024;
    while (cap < need)
        cap *= 2;
    e->a = ddw_xrealloc(e->a, cap * sizeof *e->a);
    e->b = ddw_xrealloc(e->b, cap * sizeof *e->b);
    e->weight = ddw_xrealloc(e->weight, cap * sizeof *e->weight);
    e->pass = ddw_xrealloc(e->pass, cap * sizeof *e->pass);
    e->levels = ddw_xrealloc(e->levels, cap * (size_t)(e->ncompare ? e->ncompare : 1));
    e->cap = cap;
}

typedef struct {
    const ddw_config *cfg;
    const ddw_blocks *blk;
    double w[DDW_MAX_COMPARE][DDW_MAX_LEVELS + 1];
    double prior;
    double floor; /* pairs at or above this weight are kept as edges */
    /* term frequency: exact agreement weighs lm0 + min(tfw of the value, tfcap) */
    const float *tfw[DDW_MAX_COMPARE];
    double lm0[DDW_MAX_COMPARE], tfcap[DDW_MAX_COMPARE];
} score_ctx;

static void ctx_init(score_ctx *x, const ddw_config *cfg, const ddw_blocks *blk)
{
    x->cfg = cfg;
    x->blk = blk;
    x->prior = ddw_config_prior_weight(cfg);
    x->floor = ddw_config_edge_floor(cfg);
    ddw_score_weights(cfg, x->w);
    for (int c = 0; c < cfg->ncompare; c++) {
        const ddw_compare_cfg *cc = &cfg->compare[c];
        x->tfw[c] = cc->tf ? blk->recs.tfw[cc->field] : NULL;
        x->lm0[c] = log2(cc->m[0]);
        x->tfcap[c] = -log2(cc->tf_min);
    }
}

/* Weight of level l of comparison c for the pair (i, j). */
static inline double level_weight(const score_ctx *x, int c, int l, size_t i)
{
    if (l == 1 && x->tfw[c]) {
        double t = x->tfw[c][i];
        return x->lm0[c] + (t < x->tfcap[c] ? t : x->tfcap[c]);
    }
    return x->w[c][l];
}

/* memcpy(d, s, n) in fixed-size steps, which compile to plain moves. */
static inline void copy_levels(uint8_t *d, const uint8_t *s, size_t n)
{
    for (; n >= 8; n -= 8, d += 8, s += 8)
        memcpy(d, s, 8);
    if (n >= 4) {
        memcpy(d, s, 4);
        d += 4;
        s += 4;
        n -= 4;
    }
    for (; n; n--)
        *d++ = *s++;
}

/* 1 if the records at slots (si, sj) share a key in a pass before p: the pair
 * is scored there, not here. */
static inline int seen_earlier(const ddw_blocks *blk, uint32_t p, size_t si, size_t sj)
{
    const uint64_t *pi = blk->passkey + blk->slot[si] * (size_t)blk->npasses;
    const uint64_t *pj = blk->passkey + blk->slot[sj] * (size_t)blk->npasses;
    for (uint32_t q = 0; q < p; q++)
        if (pi[q] != 0 && pi[q] == pj[q])
            return 1;
    return 0;
}

/* Scores the pair at slots (si, sj) for pass p; appends an edge if it qualifies. */
static inline void score_pair(const score_ctx *x, const ddw_compare_plan *plan, uint32_t p,
                              size_t si, size_t sj, ddw_edges *e)
{
    const ddw_blocks *blk = x->blk;
    size_t i = blk->slot[si], j = blk->slot[sj];
    const ddw_config *cfg = x->cfg;
    uint8_t lv[DDW_MAX_COMPARE];
    ddw_compare_plan_levels(plan, si, sj, lv);
    double w = x->prior;
    for (int c = 0; c < cfg->ncompare; c++)
        w += level_weight(x, c, lv[c], i);
    if (w >= x->floor) {
        size_t k = e->n++;
        uint64_t ka = blk->recs.key[i], kb = blk->recs.key[j];
        e->a[k] = ka < kb ? ka : kb;
        e->b[k] = ka < kb ? kb : ka;
        e->weight[k] = w;
        e->pass[k] = p;
        copy_levels(e->levels + k * (size_t)cfg->ncompare, lv, (size_t)cfg->ncompare);
    }
}

/* Chunks of consecutive units for the thread schedule: at least this many pairs each. */
#define CHUNK_PAIRS 4096
/* Prefetch hints cover at most this many records of each range of a unit. */
#define PREFETCH_RECS 16

static uint64_t unit_pairs(const ddw_unit *un)
{
    uint64_t n = un->a1 - un->a0;
    return un->diag ? n * (n ? n - 1 : 0) / 2 : n * (un->b1 - un->b0);
}


/* Prefetch hints for the records at slots [k0, k1): their values and keys, or
 * (text) their text. */
static void prefetch_range(const score_ctx *x, const ddw_compare_plan *plan, size_t k0,
                           size_t k1, int text)
{
    if (k1 > k0 + PREFETCH_RECS)
        k1 = k0 + PREFETCH_RECS;
    ddw_compare_plan_prefetch(plan, k0, k1, text);
    if (text)
        return;
    const ddw_blocks *blk = x->blk;
    size_t np = (size_t)blk->npasses;
    for (size_t k = k0; k < k1; k++) {
        size_t r = blk->slot[k];
        ddw_prefetch_bytes(blk->passkey + r * np, blk->passkey + (r + 1) * np);
        DDW_PREFETCH(blk->recs.key + r);
        for (int c = 0; c < x->cfg->ncompare; c++)
            if (x->tfw[c])
                DDW_PREFETCH(x->tfw[c] + r);
    }
}

static void prefetch_unit(const score_ctx *x, const ddw_compare_plan *plan, const ddw_unit *un,
                          int text)
{
    prefetch_range(x, plan, un->a0, un->a1, text);
    if (!un->diag)
        prefetch_range(x, plan, un->b0, un->b1, text);
}

static size_t unit_records(const ddw_unit *un)
{
    return (size_t)(un->a1 - un->a0) + (un->diag ? 0 : (size_t)(un->b1 - un->b0));
}

static void free_plans(ddw_compare_plan **plans, int nt)
{
    for (int t = 0; t < nt; t++)
        ddw_compare_plan_free(&plans[t]);
    free(plans);
}

/* One comparison plan per thread, with scratch for the largest unit. */
static ddw_status make_plans(const ddw_config *cfg, const ddw_blocks *blk, int nt,
                             ddw_compare_plan ***out)
{
    size_t maxrecs = 1;
    for (size_t u = 0; u < blk->nunits; u++)
        if (unit_records(&blk->units[u]) > maxrecs)
            maxrecs = unit_records(&blk->units[u]);
    ddw_compare_plan **plans = ddw_xcalloc((size_t)nt, sizeof *plans);
    ddw_status rc = DDW_OK;
    for (int t = 0; t < nt && rc == DDW_OK; t++)
        rc = ddw_compare_plan_init(cfg, &blk->recs, blk->slot, maxrecs, &plans[t]);
    if (rc != DDW_OK) {
        free_plans(plans, nt);
        plans = NULL;
    }
    *out = plans;
    return rc;
}

ddw_status ddw_score_run(const ddw_config *cfg, const ddw_blocks *blk, ddw_edges *out,
                         ddw_score_stats *stats)
{
    if (cfg->ncompare > DDW_MAX_COMPARE)
        return DDW_ECONFIG;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    ddw_compare_plan **plans = NULL;
    ddw_status rc = make_plans(cfg, blk, nt, &plans);
    if (rc != DDW_OK)
        return rc;
    /* chunk boundaries: runs of consecutive units */
    size_t *chunk = ddw_xmalloc((blk->nunits + 1) * sizeof *chunk);
    size_t nchunks = 0;
    uint64_t acc = 0;
    for (size_t u = 0; u < blk->nunits; u++) {
        if (acc == 0)
            chunk[nchunks++] = u;
        acc += unit_pairs(&blk->units[u]) + 1;
        if (acc >= CHUNK_PAIRS)
            acc = 0;
    }
    chunk[nchunks] = blk->nunits;
    score_ctx *x = ddw_xcalloc(1, sizeof *x);
    ctx_init(x, cfg, blk);
    ddw_edges *te = ddw_xcalloc((size_t)nt, sizeof *te);
    memset(stats, 0, sizeof *stats);
    stats->nthreads = nt;
    stats->per_thread = ddw_xcalloc((size_t)nt, sizeof *stats->per_thread);
    uint64_t *dup = ddw_xcalloc((size_t)nt, sizeof *dup);
    uint64_t *scored_t = ddw_xcalloc((size_t)nt, sizeof *scored_t);
    for (int t = 0; t < nt; t++)
        te[t].ncompare = cfg->ncompare;
    long nch = (long)nchunks;
#pragma omp parallel for schedule(dynamic, 1)
    for (long ch = 0; ch < nch; ch++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        ddw_compare_plan *plan = plans[t];
        ddw_edges *e = &te[t];
        uint64_t scored = 0, skipped = 0;
        size_t uend = chunk[ch + 1];
        for (size_t u = chunk[ch]; u < uend; u++) {
            const ddw_unit *un = &blk->units[u];
            if (u + 1 < uend)
                prefetch_unit(x, plan, &blk->units[u + 1], 1);
            if (u + 2 < uend)
                prefetch_unit(x, plan, &blk->units[u + 2], 0);
            if ((int)un->pass + 1 == blk->sample_pass)
                continue; /* the u sample is for training only */
            /* the unit's features are built at its first pair not scored in
             * an earlier pass: most small blocks of later passes have none */
            int built = 0;
            for (uint64_t i = un->a0; i < un->a1; i++) {
                uint64_t j0 = un->diag ? i + 1 : un->b0, j1 = un->diag ? un->a1 : un->b1;
                edges_reserve(e, e->n + (size_t)(j1 - j0));
                for (uint64_t j = j0; j < j1; j++) {
                    if (seen_earlier(blk, un->pass, (size_t)i, (size_t)j)) {
                        skipped++;
                        continue;
                    }
                    if (!built) {
                        ddw_compare_plan_unit(plan, (size_t)un->a0, (size_t)un->a1,
                                              (size_t)(un->diag ? un->a1 : un->b0),
                                              (size_t)(un->diag ? un->a1 : un->b1));
                        built = 1;
                    }
                    score_pair(x, plan, un->pass, (size_t)i, (size_t)j, e);
                    scored++;
                }
            }
        }
        stats->per_thread[t] += scored + skipped;
        scored_t[t] += scored;
        dup[t] += skipped;
    }
    memset(out, 0, sizeof *out);
    out->ncompare = cfg->ncompare;
    size_t total = 0;
    for (int t = 0; t < nt; t++)
        total += te[t].n;
    edges_reserve(out, total);
    for (int t = 0; t < nt; t++) {
        ddw_edges *e = &te[t];
        stats->pairs_scored += scored_t[t];
        stats->pairs_duplicate += dup[t];
        if (e->n == 0) {
            ddw_edges_free(e);
            continue;
        }
        memcpy(out->a + out->n, e->a, e->n * sizeof *e->a);
        memcpy(out->b + out->n, e->b, e->n * sizeof *e->b);
        memcpy(out->weight + out->n, e->weight, e->n * sizeof *e->weight);
        memcpy(out->pass + out->n, e->pass, e->n * sizeof *e->pass);
        memcpy(out->levels + out->n * (size_t)cfg->ncompare, e->levels,
               e->n * (size_t)cfg->ncompare);
        out->n += e->n;
        ddw_edges_free(e);
    }
    free(te);
    free(dup);
    free(scored_t);
    free(x);
    free_plans(plans, nt);
    free(chunk);
    return DDW_OK;
}

ddw_status ddw_score_patterns(const ddw_config *cfg, const ddw_blocks *blk, double rate,
                              ddw_est_hist *hist, ddw_est_hist *first, uint64_t *npairs,
                              uint64_t *nfirst)
{
    if (cfg->ncompare > DDW_MAX_COMPARE)
        return DDW_ECONFIG;
    int ncomp = cfg->ncompare, np = blk->npasses;
    int nlev[DDW_MAX_COMPARE];
    for (int c = 0; c < ncomp; c++)
        nlev[c] = cfg->compare[c].nlevels + 1;
    uint64_t ncodes;
    if (ddw_est_check_levels(ncomp, nlev, &ncodes) != DDW_OK)
        return DDW_ECONFIG;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    ddw_compare_plan **plans = NULL;
    ddw_status rc = make_plans(cfg, blk, nt, &plans);
    if (rc != DDW_OK)
        return rc;
    /* per thread and pass: all pairs, and the pairs first seen in the pass */
    ddw_est_hist *th = ddw_xcalloc((size_t)nt * (size_t)np * 2, sizeof *th);
    uint64_t *tp = ddw_xcalloc((size_t)nt * (size_t)np * 2, sizeof *tp);
    for (int k = 0; k < nt * np * 2; k++)
        ddw_est_hist_init(&th[k]);
    const uint64_t thr = rate >= 1.0 ? UINT64_MAX : (uint64_t)(rate * 18446744073709551616.0);
    const uint64_t salt = ddw_mix64(cfg->seed ^ UINT64_C(0x7a11));
    long nunits = (long)blk->nunits;
#pragma omp parallel for schedule(dynamic, 1)
    for (long u = 0; u < nunits; u++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        const ddw_unit *un = &blk->units[u];
        uint32_t p = un->pass;
        int sample = (int)p + 1 == blk->sample_pass;
        size_t slot = ((size_t)t * (size_t)np + p) * 2;
        ddw_est_hist *h = &th[slot], *hf = &th[slot + 1];
        uint64_t *cnt = &tp[slot], *cntf = &tp[slot + 1];
        /* the plan's per-unit features pay off when about as many pairs as
         * records are compared; either way the levels are the same */
        ddw_compare_plan *plan = NULL;
        if (sample || (double)unit_pairs(un) * rate >= (double)unit_records(un)) {
            plan = plans[t];
            ddw_compare_plan_unit(plan, (size_t)un->a0, (size_t)un->a1,
                                  (size_t)(un->diag ? un->a1 : un->b0),
                                  (size_t)(un->diag ? un->a1 : un->b1));
        }
        for (uint64_t si = un->a0; si < un->a1; si++) {
            uint64_t j0 = un->diag ? si + 1 : un->b0, j1 = un->diag ? un->a1 : un->b1;
            size_t i = blk->slot[si];
            const uint64_t *pi = blk->passkey + i * (size_t)np;
            for (uint64_t sj = j0; sj < j1; sj++) {
                size_t j = blk->slot[sj];
                /* first seen here: the pairs scoring counts in this pass */
                int seen = 0;
                if (!sample) {
                    const uint64_t *pj = blk->passkey + j * (size_t)np;
                    for (uint32_t q = 0; q < p && !seen; q++)
                        seen = pi[q] != 0 && pi[q] == pj[q];
                }
                (*cnt)++;
                *cntf += (uint64_t)!seen;
                uint64_t ka = blk->recs.key[i], kb = blk->recs.key[j];
                uint64_t lo = ka < kb ? ka : kb, hi = ka < kb ? kb : ka;
                if (!sample && ddw_mix64(ddw_mix64(lo ^ salt) ^ hi) >= thr)
                    continue;
                uint8_t lv[DDW_MAX_COMPARE];
                if (plan)
                    ddw_compare_plan_levels(plan, (size_t)si, (size_t)sj, lv);
                else
                    for (int c = 0; c < ncomp; c++)
                        lv[c] = (uint8_t)ddw_compare_level(&cfg->compare[c], &blk->recs,
                                                           (size_t)i, &blk->recs, (size_t)j);
                uint64_t code = ddw_est_encode(ncomp, nlev, lv);
                ddw_est_hist_add(h, code, 1);
                if (!seen)
                    ddw_est_hist_add(hf, code, 1);
            }
        }
    }
    for (int p = 0; p < np; p++) {
        ddw_est_hist_init(&hist[p]);
        ddw_est_hist_init(&first[p]);
        npairs[p] = nfirst[p] = 0;
        for (int t = 0; t < nt; t++) {
            size_t slot = ((size_t)t * (size_t)np + p) * 2;
            ddw_est_hist_merge(&hist[p], &th[slot]);
            ddw_est_hist_merge(&first[p], &th[slot + 1]);
            npairs[p] += tp[slot];
            nfirst[p] += tp[slot + 1];
        }
    }
    for (int k = 0; k < nt * np * 2; k++)
        ddw_est_hist_free(&th[k]);
    free(th);
    free(tp);
    free_plans(plans, nt);
    return DDW_OK;
}

void ddw_edges_free(ddw_edges *e)
{
    free(e->a);
    free(e->b);
    free(e->weight);
    free(e->pass);
    free(e->levels);
    int nc = e->ncompare;
    memset(e, 0, sizeof *e);
    e->ncompare = nc;
}

void ddw_score_stats_free(ddw_score_stats *s)
{
    free(s->per_thread);
    memset(s, 0, sizeof *s);
}
