/*
 * ddw_score.h - stage 3: Fellegi-Sunter scoring of candidate pairs.
 */
#ifndef DDW_SCORE_H
#define DDW_SCORE_H

#include <stdint.h>

#include "ddw.h"
#include "ddw_block.h"
#include "ddw_config.h"
#include "ddw_estimate.h"

/* Scored pairs kept as edges: a < b are global record keys. */
typedef struct {
    size_t n, cap;
    int ncompare;
    uint64_t *a, *b;
    double *weight;
    uint32_t *pass;
    uint8_t *levels;   /* n x ncompare comparison levels (0 = missing) */
} ddw_edges;

typedef struct {
    uint64_t pairs_scored;     /* pairs compared */
    uint64_t pairs_duplicate;  /* pairs skipped: already scored in an earlier pass */
    uint64_t *per_thread;      /* candidate pairs each thread examined, scored or
                                  skipped as seen in an earlier pass (nthreads entries) */
    int nthreads;
} ddw_score_stats;

/* Per-level weights log2(m/u) for comparison c; level 0 (missing) is 0. */
void ddw_score_weights(const ddw_config *cfg, double w[][DDW_MAX_LEVELS + 1]);

/*
 * Scores every pair of every unit in blk with OpenMP threads and appends
 * the pairs whose match weight is >= ddw_config_edge_floor(cfg) to *out (initialised
 * here).  A pair that shares a block key in an earlier pass is skipped,
 * so each pair is scored once.  The pair loop allocates nothing.
 */
ddw_status ddw_score_run(const ddw_config *cfg, const ddw_blocks *blk, ddw_edges *out,
                         ddw_score_stats *stats);
/*
 * Counts comparison patterns for training, with the levels of
 * ddw_score_run.  For each configured pass p: every pair of its blocks
 * (npairs[p] of them; nfirst[p] are first seen in p, the pairs scoring
 * counts there), of which those whose key pair hashes (with run.seed)
 * below rate are compared: all into hist[p], the first-seen ones also
 * into first[p].  For the u-sample pass: every pair of its block, into
 * hist (first is the same).  hist and first have blk->npasses entries,
 * initialised here (free each with ddw_est_hist_free).  Counts are
 * integers, so they do not depend on threads.  DDW_ECONFIG if the levels'
 * product overflows a pattern code.
 */
ddw_status ddw_score_patterns(const ddw_config *cfg, const ddw_blocks *blk, double rate,
                              ddw_est_hist *hist, ddw_est_hist *first, uint64_t *npairs,
                              uint64_t *nfirst);
void ddw_edges_free(ddw_edges *e);
void ddw_score_stats_free(ddw_score_stats *s);

/* Converts a match weight to a probability: 2^w / (1 + 2^w). */
double ddw_score_probability(double weight);

#endif /* DDW_SCORE_H */
