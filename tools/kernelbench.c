/*
 * kernelbench.c - microbenchmark of the pair-scoring kernel (not a test).
 *
 * Loads a link config plus a model file (so no training runs), ingests,
 * blocks and then times ddw_score_run REPS times on one process (serial
 * build, no MPI), printing CPU seconds, scored pairs per second and a
 * checksum over every kept edge (keys, weight bits, level bytes; independent
 * of edge order) so two builds or thread counts can be compared for
 * identical output.  With --patterns it times ddw_score_patterns (the
 * training pass, at training's sampling rate) instead, with a checksum of
 * the pattern counts.
 *
 * Build (after `make unit`, which builds build/libddw_serial.a):
 *   cc -O2 -g -std=c11 -fopenmp -Iinclude -Ibuild -D_GNU_SOURCE -DDDW_NO_MPI \
 *      -o build/kernelbench tools/kernelbench.c build/libddw_serial.a \
 *      $(pkg-config --libs inih libcrypto) -lm
 * Run:
 *   OMP_NUM_THREADS=1 build/kernelbench DIR/link.ini OUT/model.ini [REPS] [--patterns]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddw.h"
#include "ddw_block.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_estimate.h"
#include "ddw_freq.h"
#include "ddw_ingest.h"
#include "ddw_score.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sum of per-edge hashes: independent of edge order (threads). */
static uint64_t edges_checksum(const ddw_edges *e)
{
    uint64_t sum = 0;
    for (size_t k = 0; k < e->n; k++) {
        uint64_t wb, h = 0x1234;
        memcpy(&wb, &e->weight[k], sizeof wb);
        h = ddw_mix64(h ^ e->a[k]);
        h = ddw_mix64(h ^ e->b[k]);
        h = ddw_mix64(h ^ wb);
        h = ddw_mix64(h ^ e->pass[k]);
        h = ddw_mix64(h ^ ddw_hash64(e->levels + k * (size_t)e->ncompare,
                                     (size_t)e->ncompare, 7));
        sum += h;
    }
    return sum;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LINK.INI MODEL.INI [REPS] [--patterns]\n", argv[0]);
        return 2;
    }
    int reps = argc > 3 && argv[3][0] != '-' ? atoi(argv[3]) : 3;
    int patterns = strcmp(argv[argc - 1], "--patterns") == 0;
    ddw_comm *comm = NULL;
    if (ddw_comm_init(&argc, &argv, &comm) != DDW_OK)
        return 1;
    char *text = NULL, *mtext = NULL;
    if (ddw_read_file(argv[1], &text, NULL) != DDW_OK ||
        ddw_read_file(argv[2], &mtext, NULL) != DDW_OK) {
        fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    int nm = 0;
    char **ms = NULL;
    if (ddw_config_model_sets(argv[2], mtext, stderr, &nm, &ms) != DDW_OK)
        return 1;
    char **set = ddw_xmalloc((size_t)(nm + 1) * sizeof *set);
    for (int i = 0; i < nm; i++)
        set[i] = ms[i];
    set[nm] = patterns ? "train.enabled=yes" : "train.enabled=no";
    ddw_config *cfg = NULL;
    if (ddw_config_parse(argv[1], text, nm + 1, set, stderr, &cfg) != DDW_OK)
        return 1;
    ddw_ingest_plan plan;
    memset(&plan, 0, sizeof plan);
    ddw_ingest_out home;
    ddw_blocks blk;
    if (ddw_ingest_prepare(cfg, comm, stderr, &plan) != DDW_OK ||
        ddw_ingest_run(cfg, comm, &plan, &home) != DDW_OK)
        return 1;
    ddw_freq_run(cfg, comm, &home.recs);
    if (ddw_block_run(cfg, comm, &home.recs, &blk) != DDW_OK)
        return 1;
    fprintf(stderr, "records %zu, block copies %zu, units %zu\n", home.recs.n, blk.recs.n,
            blk.nunits);
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_seconds();
        if (patterns) {
            int np = blk.npasses;
            ddw_est_hist *hist = ddw_xcalloc((size_t)np, sizeof *hist);
            ddw_est_hist *first = ddw_xcalloc((size_t)np, sizeof *first);
            uint64_t *npairs = ddw_xcalloc((size_t)np, sizeof *npairs);
            uint64_t *nfirst = ddw_xcalloc((size_t)np, sizeof *nfirst);
            /* the sampling rate training uses (train.c) */
            uint64_t cand = 0;
            for (size_t u = 0; u < blk.nunits; u++) {
                const ddw_unit *un = &blk.units[u];
                uint64_t na = un->a1 - un->a0;
                if ((int)un->pass + 1 != blk.sample_pass)
                    cand += un->diag ? na * (na - 1) / 2 : na * (un->b1 - un->b0);
            }
            double rate = cand ? (double)cfg->train_pairs / (double)cand : 1.0;
            if (ddw_score_patterns(cfg, &blk, rate > 1.0 ? 1.0 : rate, hist, first, npairs,
                                   nfirst) != DDW_OK)
                return 1;
            uint64_t hsum = 0;
            for (int p = 0; p < np; p++)
                for (size_t k = 0; k < hist[p].cap; k++)
                    if (hist[p].count[k])
                        hsum += ddw_mix64(hist[p].code[k] ^
                                          ddw_mix64(hist[p].count[k] + (uint64_t)p));
            double t = cpu_seconds() - t0;
            uint64_t pairs = 0;
            for (int p = 0; p < np; p++) {
                pairs += npairs[p];
                ddw_est_hist_free(&hist[p]);
                ddw_est_hist_free(&first[p]);
            }
            printf("patterns rep %d: %.3f s cpu, %llu blocked pairs, checksum %016llx\n", r, t,
                   (unsigned long long)pairs, (unsigned long long)hsum);
            free(hist);
            free(first);
            free(npairs);
            free(nfirst);
            continue;
        }
        ddw_edges e;
        ddw_score_stats st;
        if (ddw_score_run(cfg, &blk, &e, &st) != DDW_OK)
            return 1;
        double t = cpu_seconds() - t0;
        printf("score rep %d: %.3f s cpu, %llu pairs (%llu skipped), %.0f pairs/s, %zu edges, "
               "checksum %016llx\n",
               r, t, (unsigned long long)st.pairs_scored,
               (unsigned long long)st.pairs_duplicate, (double)st.pairs_scored / t, e.n,
               (unsigned long long)edges_checksum(&e));
        ddw_edges_free(&e);
        ddw_score_stats_free(&st);
    }
    ddw_block_free(&blk);
    ddw_ingest_free(&home);
    ddw_ingest_plan_free(&plan);
    ddw_config_destroy(&cfg);
    for (int i = 0; i < nm; i++)
        free(ms[i]);
    free(ms);
    free(set);
    free(text);
    free(mtext);
    ddw_comm_finalize(&comm);
    return 0;
}
