/*
 * ddw_train.h - unsupervised estimation of the model (u, m, prior) from
 * the blocked records, before scoring.
 */
#ifndef DDW_TRAIN_H
#define DDW_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "ddw.h"
#include "ddw_block.h"
#include "ddw_comm.h"
#include "ddw_config.h"

#define DDW_TRAIN_MAX_PASSES 64

typedef struct {
    int npasses;
    uint64_t u_pairs;                         /* random pairs behind u */
    uint64_t pairs[DDW_TRAIN_MAX_PASSES];     /* pairs first seen in each pass */
    uint64_t sampled[DDW_TRAIN_MAX_PASSES];   /* of which compared for EM */
    double lambda[DDW_TRAIN_MAX_PASSES];      /* match share among each pass's pairs */
    int iterations[DDW_TRAIN_MAX_PASSES];
    int converged[DDW_TRAIN_MAX_PASSES];
    double loglik[DDW_TRAIN_MAX_PASSES];      /* final log-likelihood per pass */
    double expected_matches;                  /* sum over passes of pairs x lambda */
    double prior;                             /* expected_matches / all record pairs */
    double rate;                              /* share of blocked pairs compared for EM */
    char *log;                                /* every iteration, one line each (caller frees) */
} ddw_train_info;

/*
 * Estimates the model into cfg (compare[].m and .u, prior) from blk, which
 * must come from ddw_block_run with cfg->train set (it holds the u-sample
 * pass):
 *   u  from all pairs among the hash-sampled records (kept where the config
 *      gives u);
 *   m and lambda by EM over the integer pattern counts of each blocking
 *      pass (pairs sampled by hashing their keys with run.seed), leaving
 *      out of each pass the comparisons of the fields that pass blocks on;
 *      m of a comparison is the average over the passes that estimated it,
 *      weighted by their expected matches;
 *   prior = expected matches / (N (N - 1) / 2), N = records on all ranks.
 * Pattern counts are reduced across ranks before EM, and EM runs the same
 * on every rank, so the model is bit-identical for any rank and thread
 * count.  Each EM iteration is written to log (rank 0 only, may be NULL)
 * and kept in info->log.  Collective.
 */
ddw_status ddw_train_run(ddw_config *cfg, const ddw_comm *comm, const ddw_blocks *blk,
                         uint64_t nrecords, FILE *log, ddw_train_info *info);

/*
 * Writes the model of cfg as an INI fragment: [match] prior and, per
 * comparison, its m and u, which `link --model` applies.
 */
void ddw_train_write_model(const ddw_config *cfg, const ddw_train_info *info, FILE *out);

#endif /* DDW_TRAIN_H */
