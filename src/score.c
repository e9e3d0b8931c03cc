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

/* Scores pair (i, j) of blk->recs for pass p; appends an edge if it qualifies. */
static inline int score_pair(const score_ctx *x, uint32_t p, size_t i, size_t j, ddw_edges *e)
{
    const ddw_blocks *blk = x->blk;
    const uint64_t *pi = blk->passkey + i * (size_t)blk->npasses;
    const uint64_t *pj = blk->passkey + j * (size_t)blk->npasses;
    for (uint32_t q = 0; q < p; q++)
        if (pi[q] != 0 && pi[q] == pj[q])
            return 0;
    const ddw_config *cfg = x->cfg;
    uint8_t lv[DDW_MAX_COMPARE];
    double w = x->prior;
    for (int c = 0; c < cfg->ncompare; c++) {
        int l = ddw_compare_level(&cfg->compare[c], &blk->recs, i, &blk->recs, j);
        lv[c] = (uint8_t)l;
        w += level_weight(x, c, l, i);
    }
    if (w >= x->floor) {
        size_t k = e->n++;
        uint64_t ka = blk->recs.key[i], kb = blk->recs.key[j];
        e->a[k] = ka < kb ? ka : kb;
        e->b[k] = ka < kb ? kb : ka;
        e->weight[k] = w;
        e->pass[k] = p;
        memcpy(e->levels + k * (size_t)cfg->ncompare, lv, (size_t)cfg->ncompare);
    }
    return 1;
}

ddw_status ddw_score_run(const ddw_config *cfg, const ddw_blocks *blk, ddw_edges *out,
                         ddw_score_stats *stats)
{
    if (cfg->ncompare > DDW_MAX_COMPARE)
        return DDW_ECONFIG;
    score_ctx *x = ddw_xcalloc(1, sizeof *x);
    ctx_init(x, cfg, blk);
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    ddw_edges *te = ddw_xcalloc((size_t)nt, sizeof *te);
    memset(stats, 0, sizeof *stats);
    stats->nthreads = nt;
    stats->per_thread = ddw_xcalloc((size_t)nt, sizeof *stats->per_thread);
    uint64_t *dup = ddw_xcalloc((size_t)nt, sizeof *dup);
    for (int t = 0; t < nt; t++)
        te[t].ncompare = cfg->ncompare;
    long nunits = (long)blk->nunits;
#pragma omp parallel for schedule(dynamic, 1)
    for (long u = 0; u < nunits; u++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        const ddw_unit *un = &blk->units[u];
        if ((int)un->pass + 1 == blk->sample_pass)
            continue; /* the u sample is for training only */
        ddw_edges *e = &te[t];
        uint64_t scored = 0, skipped = 0;
        for (uint64_t i = un->a0; i < un->a1; i++) {
            uint64_t j0 = un->diag ? i + 1 : un->b0, j1 = un->diag ? un->a1 : un->b1;
            edges_reserve(e, e->n + (size_t)(j1 - j0));
            for (uint64_t j = j0; j < j1; j++) {
                if (score_pair(x, un->pass, blk->slot[i], blk->slot[j], e))
                    scored++;
                else
                    skipped++;
            }
        }
        stats->per_thread[t] += scored;
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
        stats->pairs_scored += stats->per_thread[t];
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
    free(x);
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
                for (int c = 0; c < ncomp; c++)
                    lv[c] = (uint8_t)ddw_compare_level(&cfg->compare[c], &blk->recs, i,
                                                       &blk->recs, j);
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
