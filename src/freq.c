/*
 * freq.c - term frequencies: how common each value of a field is over all
 * records of all ranks, for comparisons with tf = yes.
 *
 * Each value hash goes to the rank that owns it (hash mod ranks), which
 * counts its occurrences and answers every asker in the order it asked, so
 * the answers need no keys.  Trade-off: two personalised exchanges of 16
 * and 8 bytes per value, instead of a global table on every rank; memory
 * stays proportional to a rank's own records whatever the number of
 * distinct values, and the counts are exact integers, so the frequencies
 * are the same for any rank count.
 */
#include "ddw_freq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t h;
    uint64_t sender;
} ask;

unsigned ddw_freq_fields(const ddw_config *cfg)
{
    unsigned m = 0;
    for (int c = 0; c < cfg->ncompare; c++)
        if (cfg->compare[c].tf)
            m |= 1u << cfg->compare[c].field;
    return m;
}

static void one_field(const ddw_comm *comm, ddw_recs *home, int f)
{
    int P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    size_t n = 0;
    for (size_t i = 0; i < home->n; i++)
        n += home->f[f][i].h != 0;
    ask *q = ddw_xmalloc((n ? n : 1) * sizeof *q);
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
    uint64_t *sent = ddw_xcalloc((size_t)P, sizeof *sent);
    size_t k = 0;
    for (size_t i = 0; i < home->n; i++) {
        uint64_t h = home->f[f][i].h;
        if (h == 0)
            continue;
        q[k].h = h;
        q[k].sender = (uint64_t)me;
        dest[k] = (int)(ddw_mix64(h ^ UINT64_C(0xf4e9)) % (uint64_t)P);
        sent[dest[k]]++;
        k++;
    }
    uint64_t total = n;
    ddw_comm_allreduce_u64(comm, &total, 1, DDW_COMM_SUM);

    /* owner side: count, then answer each ask in arrival order */
    size_t nin = 0;
    ask *in = ddw_comm_route(comm, q, n, sizeof *q, dest, &nin);
    /* sort the hashes carrying their arrival index (radix), then each run of
     * equal hashes answers all its askers at once */
    if (nin >= UINT32_MAX)
        DDW_DIE("more than 2^32 - 1 term-frequency values on one rank; use more ranks");
    uint64_t *sorted = ddw_xmalloc((nin ? nin : 1) * sizeof *sorted);
    uint32_t *pos = ddw_xmalloc((nin ? nin : 1) * sizeof *pos);
    for (size_t j = 0; j < nin; j++) {
        sorted[j] = in[j].h;
        pos[j] = (uint32_t)j;
    }
    ddw_radix_sort_u64(sorted, pos, nin);
    uint64_t *answer = ddw_xmalloc((nin ? nin : 1) * sizeof *answer);
    int *back = ddw_xmalloc((nin ? nin : 1) * sizeof *back);
    for (size_t j0 = 0; j0 < nin;) {
        size_t j1 = j0 + 1;
        while (j1 < nin && sorted[j1] == sorted[j0])
            j1++;
        for (size_t j = j0; j < j1; j++)
            answer[pos[j]] = j1 - j0;
        j0 = j1;
    }
    for (size_t j = 0; j < nin; j++)
        back[j] = (int)in[j].sender;
    free(pos);
    size_t nback = 0;
    uint64_t *got = ddw_comm_route(comm, answer, nin, sizeof *answer, back, &nback);

    /* asker side: answers arrive grouped by owner, each in our asking order */
    uint64_t *start = ddw_xcalloc((size_t)P + 1, sizeof *start);
    for (int r = 0; r < P; r++)
        start[r + 1] = start[r] + sent[r];
    memset(sent, 0, (size_t)P * sizeof *sent);
    k = 0;
    for (size_t i = 0; i < home->n; i++) {
        if (home->f[f][i].h == 0) {
            home->tfw[f][i] = 0.0f;
            continue;
        }
        int d = dest[k++];
        uint64_t c = got[start[d] + sent[d]++];
        home->tfw[f][i] = (float)-log2((double)c / (double)total);
    }
    free(start);
    free(got);
    free(back);
    free(answer);
    free(sorted);
    free(in);
    free(sent);
    free(dest);
    free(q);
}

ddw_status ddw_freq_run(const ddw_config *cfg, const ddw_comm *comm, ddw_recs *home)
{
    unsigned m = ddw_freq_fields(cfg);
    ddw_recs_enable_tf(home, m);
    for (int f = 0; f < DDW_NFIELDS; f++)
        if ((m & (1u << f)) && home->f[f])
            one_field(comm, home, f);
    return DDW_OK;
}
