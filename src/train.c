/*
 * train.c - estimates u, m and the prior from the data (see ddw_train.h).
 *
 * Every estimate is a function of integer pattern counts that are summed
 * over ranks first (an allgather of each rank's sorted (pattern, count)
 * list, merged in canonical order), so the floating-point work sees the
 * same numbers in the same order on every rank and for any rank count.
 * Trade-off: every rank runs EM redundantly instead of one rank running it
 * and broadcasting; EM over a few thousand distinct patterns costs
 * milliseconds, and it saves a broadcast step that could differ.
 *
 * Blocking bias: pairs of a pass were chosen because they agree on its key
 * fields, so a comparison on such a field (or on a name whose initial is
 * in the key, or a dob whose year is) is left out of that pass's EM; its m
 * comes from the passes that did not block on it (the approach of Splink).
 */
#include "ddw_train.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_estimate.h"
#include "ddw_score.h"

/* 1 if blocking pass p selects its pairs on (something derived from) field f. */
static int pass_uses(const ddw_config *cfg, int p, ddw_field f)
{
    const ddw_pass_cfg *ps = &cfg->passes[p];
    for (int k = 0; k < ps->nparts; k++) {
        const ddw_keypart *kp = &ps->parts[k];
        if (kp->func == DDW_BK_INITIALS) {
            if (f == DDW_F_FORENAME || f == DDW_F_SURNAME || f == DDW_F_FORENAME_INITIAL ||
                f == DDW_F_SURNAME_INITIAL)
                return 1;
            continue;
        }
        ddw_field g = kp->field;
        if (g == f)
            return 1;
        if ((g == DDW_F_FORENAME && f == DDW_F_FORENAME_INITIAL) ||
            (g == DDW_F_FORENAME_INITIAL && f == DDW_F_FORENAME) ||
            (g == DDW_F_SURNAME && f == DDW_F_SURNAME_INITIAL) ||
            (g == DDW_F_SURNAME_INITIAL && f == DDW_F_SURNAME))
            return 1;
    }
    return 0;
}

/* Sums a per-rank histogram over all ranks: sorted, duplicate-free arrays. */
static void reduce_hist(const ddw_comm *comm, const ddw_est_hist *h, uint64_t **codes,
                        uint64_t **counts, size_t *n)
{
    uint64_t *c = NULL, *k = NULL;
    size_t m = 0;
    ddw_est_hist_sorted(h, &c, &k, &m);
    uint64_t *pairs = ddw_xmalloc((m ? m : 1) * 2 * sizeof *pairs);
    for (size_t i = 0; i < m; i++) {
        pairs[2 * i] = c[i];
        pairs[2 * i + 1] = k[i];
    }
    free(c);
    free(k);
    uint64_t total = 0;
    uint64_t *all = ddw_comm_allgatherv(comm, pairs, m * 2 * sizeof *pairs, &total);
    free(pairs);
    size_t na = (size_t)(total / (2 * sizeof *all));
    *codes = ddw_xmalloc((na ? na : 1) * sizeof **codes);
    *counts = ddw_xmalloc((na ? na : 1) * sizeof **counts);
    for (size_t i = 0; i < na; i++) {
        (*codes)[i] = all[2 * i];
        (*counts)[i] = all[2 * i + 1];
    }
    free(all);
    *n = ddw_est_canonical(*codes, *counts, na);
}

/* One log line: kept in t, and echoed to logfp when not NULL. */
static void tprintf(ddw_text *t, FILE *logfp, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tprintf(ddw_text *t, FILE *logfp, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    ddw_text_printf(t, "%s", line);
    if (logfp)
        fputs(line, logfp);
}

ddw_status ddw_train_run(ddw_config *cfg, const ddw_comm *comm, const ddw_blocks *blk,
                         uint64_t nrecords, FILE *logfp, ddw_train_info *info)
{
    memset(info, 0, sizeof *info);
    int ncomp = cfg->ncompare, np = cfg->npasses;
    if (blk->sample_pass != np + 1 || np > DDW_TRAIN_MAX_PASSES)
        return DDW_EINVAL;
    info->npasses = np;
    int nlev[DDW_MAX_COMPARE];
    for (int c = 0; c < ncomp; c++)
        nlev[c] = cfg->compare[c].nlevels + 1;
    ddw_text t = {0};

    /* how many blocked pairs there are, to sample about train_pairs of them */
    uint64_t cand = 0;
    for (size_t u = 0; u < blk->nunits; u++) {
        const ddw_unit *un = &blk->units[u];
        if ((int)un->pass + 1 == blk->sample_pass)
            continue;
        uint64_t na = un->a1 - un->a0;
        cand += un->diag ? na * (na - 1) / 2 : na * (un->b1 - un->b0);
    }
    ddw_comm_allreduce_u64(comm, &cand, 1, DDW_COMM_SUM);
    double rate = cand ? (double)cfg->train_pairs / (double)cand : 1.0;
    if (rate > 1.0)
        rate = 1.0;
    info->rate = rate;

    ddw_est_hist *hist = ddw_xcalloc((size_t)np + 1, sizeof *hist);
    ddw_est_hist *first = ddw_xcalloc((size_t)np + 1, sizeof *first);
    uint64_t *npairs = ddw_xcalloc((size_t)np + 1, sizeof *npairs);
    uint64_t *nfirst = ddw_xcalloc((size_t)np + 1, sizeof *nfirst);
    ddw_status rc = ddw_score_patterns(cfg, blk, rate, hist, first, npairs, nfirst);
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    if (rc != DDW_OK) {
        free(hist);
        free(first);
        free(npairs);
        free(nfirst);
        return rc;
    }
    ddw_comm_allreduce_u64(comm, npairs, np + 1, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, nfirst, np + 1, DDW_COMM_SUM);
    double expected = 0; /* matches among the pairs scoring will see */

    /* u from the random sample */
    uint64_t *codes, *counts;
    size_t n;
    reduce_hist(comm, &hist[np], &codes, &counts, &n);
    double u[DDW_MAX_COMPARE * DDW_EST_STRIDE];
    unsigned char uniform[DDW_MAX_COMPARE];
    rc = ddw_est_u_from_counts(ncomp, nlev, n, codes, counts, 1.0, u, uniform);
    for (size_t i = 0; i < n; i++)
        info->u_pairs += counts[i];
    free(codes);
    free(counts);
    tprintf(&t, logfp, "train: u from %llu random pairs of %lld sampled records\n",
            (unsigned long long)info->u_pairs, cfg->train_u_records);

    /* EM per pass */
    ddw_est_model *per = ddw_xcalloc((size_t)np, sizeof *per);
    unsigned char *fixed = ddw_xcalloc((size_t)np * (size_t)ncomp, 1);
    ddw_est_opts opt;
    ddw_est_opts_default(&opt);
    opt.max_iter = (int)cfg->train_max_iter;
    opt.tol = cfg->train_tol;
    opt.min_prob = cfg->train_min_prob;
    double *ll = ddw_xmalloc((size_t)opt.max_iter * sizeof *ll);
    double *lam = ddw_xmalloc((size_t)opt.max_iter * sizeof *lam);
    for (int p = 0; p < np && rc == DDW_OK; p++) {
        ddw_est_model *m = &per[p];
        m->lambda = 0.1;
        unsigned char skip[DDW_MAX_COMPARE];
        for (int c = 0; c < ncomp; c++) {
            const ddw_compare_cfg *cc = &cfg->compare[c];
            for (int l = 1; l <= cc->nlevels; l++) {
                m->m[c][l] = cc->m[l - 1];
                m->u[c][l] = cc->u_given ? cc->u[l - 1] : u[c * DDW_EST_STRIDE + l];
            }
            skip[c] = (unsigned char)pass_uses(cfg, p, cc->field);
            fixed[p * ncomp + c] = skip[c];
        }
        reduce_hist(comm, &hist[p], &codes, &counts, &n);
        info->pairs[p] = npairs[p];
        for (size_t i = 0; i < n; i++)
            info->sampled[p] += counts[i];
        if (info->sampled[p] == 0) {
            m->lambda = 0;
            tprintf(&t, logfp, "train: pass %s: no pairs\n", cfg->passes[p].name);
        } else {
            ddw_est_problem pb = {ncomp, nlev, n, codes, counts, NULL, NULL, skip};
            ddw_est_trace tr = {ll, lam, 0, 0, 0};
            rc = ddw_est_em(&pb, m, &opt, &tr);
            /* every iteration goes to the stored log; stderr gets the summary */
            for (int k = 0; k < tr.niter; k++)
                tprintf(&t, NULL, "train: pass %s: EM iteration %d: log-likelihood %.6f, lambda %.6g\n",
                        cfg->passes[p].name, k + 1, tr.loglik[k], tr.lambda[k]);
            info->iterations[p] = tr.niter;
            info->converged[p] = tr.converged;
            info->loglik[p] = tr.final_loglik;
            /* expected matches among the pairs first seen in this pass: the
             * posterior of each sampled pattern under this pass's model */
            uint64_t *fc, *fk;
            size_t fn;
            reduce_hist(comm, &first[p], &fc, &fk, &fn);
            double e = 0;
            uint64_t fs = 0;
            for (size_t i = 0; i < fn; i++) {
                uint8_t lv[DDW_MAX_COMPARE];
                ddw_est_decode(ncomp, nlev, fc[i], lv);
                double lm = log(m->lambda), lu = log(1 - m->lambda);
                for (int c = 0; c < ncomp; c++)
                    if (!skip[c] && lv[c] > 0) {
                        lm += log(m->m[c][lv[c]]);
                        lu += log(m->u[c][lv[c]]);
                    }
                e += (double)fk[i] / (1 + exp(lu - lm));
                fs += fk[i];
            }
            if (fs > 0)
                expected += e * (double)nfirst[p] / (double)fs;
            free(fc);
            free(fk);
            tprintf(&t, logfp, "train: pass %s: %llu of %llu pairs, lambda %.6g, %s after %d "
                             "iterations\n",
                    cfg->passes[p].name, (unsigned long long)info->sampled[p],
                    (unsigned long long)npairs[p], m->lambda,
                    tr.converged ? "converged" : "stopped at the cap", tr.niter);
        }
        info->lambda[p] = m->lambda;
        free(codes);
        free(counts);
    }
    free(ll);
    free(lam);
    if (rc == DDW_OK) {
        ddw_est_model out;
        unsigned char kept[DDW_MAX_COMPARE];
        double in_blocks = 0; /* over all pairs of every pass: weights m only */
        rc = ddw_est_combine_m(np, per, fixed, npairs, ncomp, nlev, &out, kept, &in_blocks);
        if (rc == DDW_OK) {
            double all = (double)nrecords * (double)(nrecords > 0 ? nrecords - 1 : 0) / 2;
            double prior = all > 0 ? expected / all : 0.5;
            if (!(prior > 1e-15))
                prior = 1e-15;
            if (prior > 0.5)
                prior = 0.5;
            info->expected_matches = expected;
            info->prior = prior;
            cfg->prior = prior;
            for (int c = 0; c < ncomp; c++) {
                ddw_compare_cfg *cc = &cfg->compare[c];
                for (int l = 1; l <= cc->nlevels; l++) {
                    cc->m[l - 1] = out.m[c][l];
                    if (!cc->u_given)
                        cc->u[l - 1] = u[c * DDW_EST_STRIDE + l];
                }
                if (kept[c])
                    tprintf(&t, logfp, "train: compare %s: every pass blocks on its field; m "
                                     "stays at its starting value\n",
                            cc->name);
            }
            tprintf(&t, logfp, "train: expected matches %.1f of %.0f pairs: prior %.6g\n",
                    expected, all, prior);
        }
    }
    for (int p = 0; p <= np; p++) {
        ddw_est_hist_free(&hist[p]);
        ddw_est_hist_free(&first[p]);
    }
    free(hist);
    free(first);
    free(npairs);
    free(nfirst);
    free(per);
    free(fixed);
    info->log = t.p ? t.p : ddw_xstrdup("");
    return (ddw_status)ddw_comm_agree(comm, rc);
}

void ddw_train_write_model(const ddw_config *cfg, const ddw_train_info *info, FILE *out)
{
    fprintf(out, "; ddwlink model: apply with `ddwlink link --config CONFIG --model THIS_FILE`.\n");
    if (info) {
        fprintf(out, "; estimated from %llu random pairs (u) and EM over blocked pairs (m):\n",
                (unsigned long long)info->u_pairs);
        for (int p = 0; p < info->npasses; p++)
            fprintf(out, ";   pass %s: %llu pairs, %llu compared, lambda %.6g, %d iterations%s\n",
                    cfg->passes[p].name, (unsigned long long)info->pairs[p],
                    (unsigned long long)info->sampled[p], info->lambda[p], info->iterations[p],
                    info->converged[p] ? "" : " (cap)");
    }
    fprintf(out, "\n[match]\nprior = %.17g\n", cfg->prior);
    for (int c = 0; c < cfg->ncompare; c++) {
        const ddw_compare_cfg *cc = &cfg->compare[c];
        fprintf(out, "\n[compare.%s]\n; levels = ", cc->name);
        for (int l = 0; l < cc->nlevels; l++)
            fprintf(out, "%s%s", l ? ", " : "", cc->levels[l].label);
        /* four values a line: INI lines stay short; indented lines continue */
        for (int w = 0; w < 2; w++) {
            const double *v = w ? cc->u : cc->m;
            fprintf(out, "\n%s = ", w ? "u" : "m");
            for (int l = 0; l < cc->nlevels; l++)
                fprintf(out, "%s%.17g", l == 0 ? "" : (l % 4 == 0 ? "\n    " : ", "), v[l]);
        }
        fprintf(out, "\n");
    }
}
