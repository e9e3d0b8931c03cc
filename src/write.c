/*
 * write.c - stage 5: assemble the result columns and write one HDF5 file.
 *
 * Ordering is what makes results byte-comparable across rank counts:
 * a rank's accepted rows of one source are a contiguous run of that
 * source's rows, so /records in global key order is just the runs in
 * (source, rank) order, and each rank writes its runs in place.  Person
 * rows live with the record whose key is the person ID (its "leader"),
 * and edges are sent to the home rank of their first record and sorted
 * there, so /persons and /edges follow the same (source, rank) order.
 * Trade-off: one extra exchange each for persons and edges instead of a
 * general distributed sort, which the key layout makes unnecessary.
 */
#include "ddw_write.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddw_compare.h"
#include "ddw_h5io.h"

/* Where each rank's rows of each source start and end (by CSV line). */
typedef struct {
    int S, P;
    uint64_t *cnt;   /* [r*S+s] accepted rows */
    uint64_t *first; /* [r*S+s] first line (valid when cnt > 0) */
    uint64_t *last;
} layout;

static void layout_init(layout *L, const ddw_comm *comm, int S, const ddw_ingest_out *home)
{
    L->S = S;
    L->P = ddw_comm_size(comm);
    uint64_t *mine = ddw_xcalloc((size_t)S * 3, sizeof *mine);
    for (int s = 0; s < S; s++) {
        mine[s] = home->seg_count[s];
        if (home->seg_count[s]) {
            mine[S + s] = (uint64_t)DDW_KEY_ROW(home->recs.key[home->seg_first[s]]);
            mine[2 * S + s] = (uint64_t)DDW_KEY_ROW(
                home->recs.key[home->seg_first[s] + home->seg_count[s] - 1]);
        }
    }
    uint64_t *all = ddw_xmalloc((size_t)L->P * (size_t)S * 3 * sizeof *all);
    ddw_comm_allgather_u64(comm, mine, S * 3, all);
    L->cnt = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(uint64_t));
    L->first = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(uint64_t));
    L->last = ddw_xmalloc((size_t)L->P * (size_t)S * sizeof(uint64_t));
    for (int r = 0; r < L->P; r++)
        for (int s = 0; s < S; s++) {
            L->cnt[r * S + s] = all[(size_t)r * 3 * S + s];
            L->first[r * S + s] = all[(size_t)r * 3 * S + S + s];
            L->last[r * S + s] = all[(size_t)r * 3 * S + 2 * S + s];
        }
    free(all);
    free(mine);
}

static void layout_free(layout *L)
{
    free(L->cnt);
    free(L->first);
    free(L->last);
}

/* The rank holding the record with this key. */
static int home_rank(const layout *L, uint64_t key)
{
    int s = DDW_KEY_SOURCE(key);
    uint64_t row = (uint64_t)DDW_KEY_ROW(key);
    for (int r = 0; r < L->P; r++)
        if (L->cnt[r * L->S + s] && L->first[r * L->S + s] <= row && row <= L->last[r * L->S + s])
            return r;
    DDW_DIE("record key %llu has no home rank", (unsigned long long)key);
}

/*
 * Global segment offsets for per-(source, rank) counts given by this rank's
 * local per-source counts n[s]: off[s] = rows before (s, me).  Returns the
 * global total.
 */
static uint64_t seg_offsets(const ddw_comm *comm, int S, const uint64_t *n, uint64_t *off)
{
    int P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    uint64_t *all = ddw_xmalloc((size_t)P * (size_t)S * sizeof *all);
    ddw_comm_allgather_u64(comm, n, S, all);
    uint64_t base = 0;
    for (int s = 0; s < S; s++) {
        for (int r = 0; r < P; r++) {
            if (r == me)
                off[s] = base;
            base += all[(size_t)r * S + s];
        }
    }
    free(all);
    return base;
}

/* Fixed-width string column from (offset, length) pairs into text. */
static char *str_column(const char *text, const uint32_t *off, const uint16_t *len, size_t n,
                        size_t stride, uint64_t width)
{
    char *buf = ddw_xcalloc(n ? n : 1, (size_t)width);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * width, text + off[i * stride], len[i * stride]);
    return buf;
}

static uint64_t global_max(const ddw_comm *comm, uint64_t v)
{
    ddw_comm_allreduce_u64(comm, &v, 1, DDW_COMM_MAX);
    return v;
}

/* Every step is collective: ranks agree on its status so that all of them
 * leave together when any one fails (a disk full on one rank, say). */
#define CHECK(call)                                                                             \
    do {                                                                                        \
        if ((rc = (ddw_status)ddw_comm_agree(comm, (call))) != DDW_OK)                          \
            goto fail;                                                                          \
    } while (0)

static ddw_status write_records(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const ddw_ingest_plan *plan, const ddw_ingest_out *home,
                                const uint64_t *person, const uint64_t *pnc_key)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    size_t n = home->recs.n;
    uint64_t *off = ddw_xmalloc((size_t)S * sizeof *off);
    uint64_t total = seg_offsets(comm, S, home->seg_count, off);
    int32_t *src = ddw_xmalloc((n ? n : 1) * sizeof *src);
    int64_t *row = ddw_xmalloc((n ? n : 1) * sizeof *row);
    char *col = NULL;
    for (size_t i = 0; i < n; i++) {
        src[i] = DDW_KEY_SOURCE(home->recs.key[i]);
        row[i] = DDW_KEY_ROW(home->recs.key[i]);
    }
    const uint64_t *cnt = home->seg_count;
    CHECK(ddw_h5_group(h, "/records"));
    CHECK(ddw_h5_write(h, "/records/key", DDW_H5_U64, 1, total, S, off, cnt, home->recs.key));
    CHECK(ddw_h5_write(h, "/records/source", DDW_H5_I32, 1, total, S, off, cnt, src));
    CHECK(ddw_h5_write(h, "/records/row", DDW_H5_I64, 1, total, S, off, cnt, row));
    CHECK(ddw_h5_write(h, "/records/person_id", DDW_H5_U64, 1, total, S, off, cnt, person));
    CHECK(ddw_h5_write(h, "/records/pnc_key", DDW_H5_U64, 1, total, S, off, cnt, pnc_key));
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (home->id_len[i] > w)
            w = home->id_len[i];
    w = global_max(comm, w) + 1;
    col = str_column(home->text, home->id_off, home->id_len, n, 1, w);
    CHECK(ddw_h5_write(h, "/records/record_id", DDW_H5_STR, w, total, S, off, cnt, col));
    for (int j = 0; j < plan->nkeep; j++) {
        free(col);
        col = NULL;
        size_t nk = (size_t)plan->nkeep;
        w = 0;
        for (size_t i = 0; i < n; i++)
            if (home->keep_len[i * nk + (size_t)j] > w)
                w = home->keep_len[i * nk + (size_t)j];
        w = global_max(comm, w) + 1;
        col = str_column(home->text, home->keep_off + j, home->keep_len + j, n, nk, w);
        char path[300];
        snprintf(path, sizeof path, "/records/%s", plan->keep[j]);
        CHECK(ddw_h5_write(h, path, DDW_H5_STR, w, total, S, off, cnt, col));
    }
fail:
    free(col);
    free(src);
    free(row);
    free(off);
    return rc;
}

static size_t find_key(const uint64_t *keys, size_t n, uint64_t k)
{
    size_t i = ddw_lower_bound_u64(keys, n, k);
    if (i == n || keys[i] != k)
        DDW_DIE("record key %llu not found on its home rank", (unsigned long long)k);
    return i;
}

static ddw_status write_persons(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const layout *L, const ddw_ingest_out *home,
                                const uint64_t *person, ddw_write_stats *st)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    size_t n = home->recs.n;
    /* (person, source) to the person's leader's home rank */
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
    uint64_t *sbuf = ddw_xmalloc((n ? n : 1) * 16);
    for (size_t i = 0; i < n; i++) {
        dest[i] = home_rank(L, person[i]);
        sbuf[2 * i] = person[i];
        sbuf[2 * i + 1] = (uint64_t)DDW_KEY_SOURCE(home->recs.key[i]);
    }
    size_t nmsg;
    uint64_t *msg = ddw_comm_route(comm, sbuf, n, 16, dest, &nmsg);
    free(sbuf);
    free(dest);
    int64_t *nrec = ddw_xcalloc(n ? n : 1, sizeof *nrec);
    uint64_t *mask = ddw_xcalloc(n ? n : 1, sizeof *mask);
    for (size_t k = 0; k < nmsg; k++) {
        size_t i = find_key(home->recs.key, n, msg[2 * k]);
        nrec[i]++;
        mask[i] |= UINT64_C(1) << msg[2 * k + 1];
    }
    free(msg);
    /* leaders, compacted in local order, counted per source segment */
    uint64_t *pid = ddw_xmalloc((n ? n : 1) * sizeof *pid);
    uint64_t *segn = ddw_xcalloc((size_t)S, sizeof *segn), *off = ddw_xmalloc((size_t)S * 8);
    size_t m = 0;
    uint64_t largest = 0;
    for (size_t i = 0; i < n; i++)
        if (person[i] == home->recs.key[i]) {
            pid[m] = person[i];
            nrec[m] = nrec[i];
            mask[m] = mask[i];
            if ((uint64_t)nrec[m] > largest)
                largest = (uint64_t)nrec[m];
            segn[DDW_KEY_SOURCE(person[i])]++;
            m++;
        }
    uint64_t np = seg_offsets(comm, S, segn, off);
    st->persons = np;
    st->largest_person = global_max(comm, largest);
    CHECK(ddw_h5_group(h, "/persons"));
    CHECK(ddw_h5_write(h, "/persons/person_id", DDW_H5_U64, 1, np, S, off, segn, pid));
    CHECK(ddw_h5_write(h, "/persons/n_records", DDW_H5_I64, 1, np, S, off, segn, nrec));
    CHECK(ddw_h5_write(h, "/persons/sources", DDW_H5_U64, 1, np, S, off, segn, mask));
fail:
    free(pid);
    free(nrec);
    free(mask);
    free(segn);
    free(off);
    return rc;
}

typedef struct {
    uint64_t a, b;
    double w;
    uint32_t pass;
    size_t idx; /* position in the message buffer, for the levels */
} edge_row;

static int cmp_edge(const void *x, const void *y)
{
    const edge_row *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static ddw_status write_edges(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                              const layout *L, ddw_edges *e, ddw_write_stats *st)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources, nc = e->ncompare;
    size_t rec = 8 + 8 + 8 + 4 + (size_t)nc;
    int *dest = ddw_xmalloc((e->n ? e->n : 1) * sizeof *dest);
    char *sbuf = ddw_xmalloc(e->n * rec + 1);
    for (size_t i = 0; i < e->n; i++) {
        char *p = sbuf + i * rec;
        dest[i] = home_rank(L, e->a[i]);
        memcpy(p, &e->a[i], 8);
        memcpy(p + 8, &e->b[i], 8);
        memcpy(p + 16, &e->weight[i], 8);
        memcpy(p + 24, &e->pass[i], 4);
        memcpy(p + 28, e->levels + i * (size_t)nc, (size_t)nc);
    }
    size_t nsent = e->n;
    ddw_edges_free(e);
    size_t n;
    char *rbuf = ddw_comm_route(comm, sbuf, nsent, rec, dest, &n);
    free(sbuf);
    free(dest);
    edge_row *rows = ddw_xmalloc((n ? n : 1) * sizeof *rows);
    const char *msg = rbuf;
    for (size_t i = 0; i < n; i++) {
        memcpy(&rows[i].a, msg + i * rec, 8);
        memcpy(&rows[i].b, msg + i * rec + 8, 8);
        memcpy(&rows[i].w, msg + i * rec + 16, 8);
        memcpy(&rows[i].pass, msg + i * rec + 24, 4);
        rows[i].idx = i;
    }
    qsort(rows, n, sizeof *rows, cmp_edge);
    uint64_t *a = ddw_xmalloc((n ? n : 1) * 8), *b = ddw_xmalloc((n ? n : 1) * 8);
    double *w = ddw_xmalloc((n ? n : 1) * 8);
    int32_t *pass = ddw_xmalloc((n ? n : 1) * 4);
    uint8_t *lv = ddw_xmalloc((n ? n : 1) * (size_t)(nc ? nc : 1));
    uint64_t *segn = ddw_xcalloc((size_t)S, 8), *off = ddw_xmalloc((size_t)S * 8);
    for (size_t i = 0; i < n; i++) {
        a[i] = rows[i].a;
        b[i] = rows[i].b;
        w[i] = rows[i].w;
        pass[i] = (int32_t)rows[i].pass;
        memcpy(lv + i * (size_t)nc, msg + rows[i].idx * rec + 28, (size_t)nc);
        segn[DDW_KEY_SOURCE(a[i])]++;
    }
    free(rows);
    free(rbuf);
    uint64_t ne = seg_offsets(comm, S, segn, off);
    st->edges = ne;
    CHECK(ddw_h5_group(h, "/edges"));
    CHECK(ddw_h5_write(h, "/edges/a", DDW_H5_U64, 1, ne, S, off, segn, a));
    CHECK(ddw_h5_write(h, "/edges/b", DDW_H5_U64, 1, ne, S, off, segn, b));
    CHECK(ddw_h5_write(h, "/edges/weight", DDW_H5_F64, 1, ne, S, off, segn, w));
    CHECK(ddw_h5_write(h, "/edges/pass", DDW_H5_I32, 1, ne, S, off, segn, pass));
    CHECK(ddw_h5_write_matrix(h, "/edges/levels", DDW_H5_U8, (uint64_t)nc, ne, S, off, segn,
                              lv));
fail:
    free(a);
    free(b);
    free(w);
    free(pass);
    free(lv);
    free(segn);
    free(off);
    return rc;
}

static ddw_status write_rejects(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const ddw_ingest_out *home, ddw_write_stats *st)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    size_t n = home->nrejects;
    uint64_t *segn = ddw_xcalloc((size_t)S, 8), *off = ddw_xmalloc((size_t)S * 8);
    int32_t *src = ddw_xmalloc((n ? n : 1) * 4);
    int64_t *line = ddw_xmalloc((n ? n : 1) * 8);
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        src[i] = home->rejects[i].source;
        line[i] = home->rejects[i].line;
        segn[src[i]]++;
        if (strlen(home->rejects[i].reason) > w)
            w = strlen(home->rejects[i].reason);
    }
    w = global_max(comm, w) + 1;
    char *reason = ddw_xcalloc(n ? n : 1, (size_t)w);
    for (size_t i = 0; i < n; i++)
        memcpy(reason + i * w, home->rejects[i].reason, strlen(home->rejects[i].reason));
    uint64_t nr = seg_offsets(comm, S, segn, off);
    st->rejects = nr;
    CHECK(ddw_h5_group(h, "/rejects"));
    CHECK(ddw_h5_write(h, "/rejects/source", DDW_H5_I32, 1, nr, S, off, segn, src));
    CHECK(ddw_h5_write(h, "/rejects/line", DDW_H5_I64, 1, nr, S, off, segn, line));
    CHECK(ddw_h5_write(h, "/rejects/reason", DDW_H5_STR, w, nr, S, off, segn, reason));
fail:
    free(reason);
    free(src);
    free(line);
    free(segn);
    free(off);
    return rc;
}


/* Writes a small string table that rank 0 holds in full (fixed width = longest + 1). */
static ddw_status write_strings(ddw_h5 *h, const ddw_comm *comm, const char *path,
                                const char *const *v, size_t n)
{
    size_t w = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]) + 1 > w)
            w = strlen(v[i]) + 1;
    char *buf = ddw_xcalloc(n ? n : 1, w);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * w, v[i], strlen(v[i]));
    ddw_status rc = ddw_h5_write_rank0(h, comm, path, DDW_H5_STR, w, n, buf);
    free(buf);
    return rc;
}

static ddw_status write_sources(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                const ddw_ingest_plan *plan, const ddw_ingest_out *home)
{
    ddw_status rc = DDW_OK;
    int S = cfg->nsources;
    const char **name = ddw_xmalloc((size_t)S * sizeof *name);
    const char **path = ddw_xmalloc((size_t)S * sizeof *path);
    const char **sha = ddw_xmalloc((size_t)S * sizeof *sha);
    int64_t *counts = ddw_xmalloc((size_t)S * 3 * sizeof *counts);
    for (int s = 0; s < S; s++) {
        name[s] = cfg->sources[s].name;
        path[s] = cfg->sources[s].path;
        sha[s] = plan->src[s].sha256;
        counts[s] = (int64_t)home->rows_read[s];
        counts[S + s] = (int64_t)home->seg_count[s];
        counts[2 * S + s] = (int64_t)home->rows_rejected[s];
    }
    ddw_comm_allreduce_i64(comm, counts, 3 * S, DDW_COMM_SUM);
    CHECK(ddw_h5_group(h, "/sources"));
    CHECK(write_strings(h, comm, "/sources/name", name, (size_t)S));
    CHECK(write_strings(h, comm, "/sources/path", path, (size_t)S));
    CHECK(write_strings(h, comm, "/sources/sha256", sha, (size_t)S));
    CHECK(ddw_h5_write_rank0(h, comm, "/sources/rows_read", DDW_H5_I64, 1, (uint64_t)S, counts));
    CHECK(ddw_h5_write_rank0(h, comm, "/sources/rows_accepted", DDW_H5_I64, 1, (uint64_t)S,
                      counts + S));
    CHECK(ddw_h5_write_rank0(h, comm, "/sources/rows_rejected", DDW_H5_I64, 1, (uint64_t)S,
                      counts + 2 * S));
    int32_t *attach = ddw_xmalloc((size_t)S * sizeof *attach);
    for (int s = 0; s < S; s++)
        attach[s] = cfg->sources[s].attach_once;
    rc = ddw_h5_write_rank0(h, comm, "/sources/attach_once", DDW_H5_I32, 1, (uint64_t)S, attach);
    free(attach);
fail:
    free(name);
    free(path);
    free(sha);
    free(counts);
    return rc;
}

static ddw_status write_model(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                               const ddw_write_meta *meta)
{
    ddw_status rc = DDW_OK;
    int C = cfg->ncompare, NL = 0;
    for (int c = 0; c < C; c++)
        NL += cfg->compare[c].nlevels;
    const char **cname = ddw_xmalloc((size_t)C * sizeof *cname);
    const char **field = ddw_xmalloc((size_t)C * sizeof *field);
    const char **method = ddw_xmalloc((size_t)C * sizeof *method);
    int32_t *nlev = ddw_xmalloc((size_t)C * sizeof *nlev);
    const char **label = ddw_xmalloc((size_t)NL * sizeof *label);
    int32_t *lcomp = ddw_xmalloc((size_t)NL * 4), *lidx = ddw_xmalloc((size_t)NL * 4);
    double *m = ddw_xmalloc((size_t)NL * 8), *u = ddw_xmalloc((size_t)NL * 8);
    double *wt = ddw_xmalloc((size_t)NL * 8);
    int k = 0;
    for (int c = 0; c < C; c++) {
        const ddw_compare_cfg *cc = &cfg->compare[c];
        cname[c] = cc->name;
        field[c] = ddw_field_name(cc->field);
        method[c] = ddw_compare_method_at(cc->method)->name;
        nlev[c] = cc->nlevels;
        for (int l = 0; l < cc->nlevels; l++, k++) {
            label[k] = cc->levels[l].label;
            lcomp[k] = c;
            lidx[k] = l + 1;
            m[k] = cc->m[l];
            u[k] = cc->u[l];
            wt[k] = log2(cc->m[l] / cc->u[l]);
        }
    }
    CHECK(ddw_h5_group(h, "/model"));
    CHECK(write_strings(h, comm, "/model/comparison", cname, (size_t)C));
    CHECK(write_strings(h, comm, "/model/field", field, (size_t)C));
    CHECK(write_strings(h, comm, "/model/method", method, (size_t)C));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/nlevels", DDW_H5_I32, 1, (uint64_t)C, nlev));
    CHECK(write_strings(h, comm, "/model/level_label", label, (size_t)NL));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/level_comparison", DDW_H5_I32, 1, (uint64_t)NL,
                             lcomp));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/level", DDW_H5_I32, 1, (uint64_t)NL, lidx));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/m", DDW_H5_F64, 1, (uint64_t)NL, m));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/u", DDW_H5_F64, 1, (uint64_t)NL, u));
    CHECK(ddw_h5_write_rank0(h, comm, "/model/weight", DDW_H5_F64, 1, (uint64_t)NL, wt));
    CHECK(ddw_h5_attr_str(h, "/model", "source",
                          meta->model_source ? meta->model_source : "config"));
    CHECK(ddw_h5_attr_str(h, "/model", "training_log", meta->model_log ? meta->model_log : ""));
    CHECK(ddw_h5_attr_str(h, "/model", "model_file", meta->model_ini ? meta->model_ini : ""));
    double v = cfg->prior;
    CHECK(ddw_h5_attr_f64(h, "/model", "prior", &v, 1));
    v = ddw_config_prior_weight(cfg);
    CHECK(ddw_h5_attr_f64(h, "/model", "prior_weight", &v, 1));
    v = cfg->threshold;
    CHECK(ddw_h5_attr_f64(h, "/model", "threshold", &v, 1));
    v = ddw_score_probability(cfg->threshold);
    CHECK(ddw_h5_attr_f64(h, "/model", "threshold_probability", &v, 1));
fail:
    free(cname);
    free(field);
    free(method);
    free(nlev);
    free(label);
    free(lcomp);
    free(lidx);
    free(m);
    free(u);
    free(wt);
    return rc;
}


static ddw_status write_provenance(ddw_h5 *h, const ddw_config *cfg, const ddw_comm *comm,
                                   const ddw_write_meta *meta)
{
    ddw_status rc = DDW_OK;
    char end[32];
    ddw_utc_now(end);
    size_t cap = 64;
    for (int i = 0; i < meta->nstages; i++)
        cap += strlen(meta->stage_names[i]) + 2;
    char *names = ddw_xmalloc(cap);
    names[0] = '\0';
    for (int i = 0; i < meta->nstages; i++) {
        if (i)
            strcat(names, ",");
        strcat(names, meta->stage_names[i]);
    }
    int64_t ranks = meta->ranks, threads = meta->threads;
    CHECK(ddw_h5_attr_str(h, "/", "config", cfg->text));
    CHECK(ddw_h5_attr_str(h, "/", "config_path", cfg->path));
    CHECK(ddw_h5_attr_str(h, "/", "effective_config", cfg->effective));
    CHECK(ddw_h5_attr_str(h, "/", "command_line", meta->command_line));
    CHECK(ddw_h5_attr_str(h, "/", "version", meta->version));
    CHECK(ddw_h5_attr_i64(h, "/", "ranks", &ranks, 1));
    CHECK(ddw_h5_attr_i64(h, "/", "threads", &threads, 1));
    CHECK(ddw_h5_attr_str(h, "/", "start_time", meta->start_time));
    CHECK(ddw_h5_attr_str(h, "/", "end_time", end));
    CHECK(ddw_h5_attr_str(h, "/", "stage_names", names));
    CHECK(ddw_h5_attr_f64(h, "/", "stage_seconds", meta->stage_seconds, meta->nstages));
    CHECK(ddw_h5_attr_str(h, "/", "slurm", meta->slurm ? meta->slurm : ""));
    CHECK(ddw_h5_attr_str(h, "/", "layout_version", "1"));
    static const char *const refine_names[] = {"none", "pnc", "pnc_dob"};
    CHECK(ddw_h5_attr_str(h, "/", "refine", refine_names[cfg->refine]));
    double kept = meta->edges_kept_above;
    CHECK(ddw_h5_attr_f64(h, "/", "edges_kept_above", &kept, 1));
fail:
    free(names);
    return rc;
}

ddw_status ddw_write_run(const ddw_config *cfg, const ddw_comm *comm, const ddw_ingest_plan *plan,
                         const ddw_ingest_out *home, const uint64_t *person,
                         const uint64_t *pnc_key, ddw_edges *edges,
                         ddw_write_meta *meta, const char *dir, ddw_write_stats *stats)
{
    double t0 = ddw_comm_wtime();
    memset(stats, 0, sizeof *stats);
    int me = ddw_comm_rank(comm);
    /* temporary name chosen by rank 0 */
    char *tmp = ddw_xmalloc(strlen(dir) + 64);
    char *final = ddw_xmalloc(strlen(dir) + 16);
    uint64_t pid = (uint64_t)getpid();
    ddw_comm_bcast(comm, &pid, sizeof pid, 0);
    sprintf(tmp, "%s/.link.h5.tmp.%llu", dir, (unsigned long long)pid);
    sprintf(final, "%s/link.h5", dir);
    layout L;
    layout_init(&L, comm, cfg->nsources, home);
    ddw_h5 *h = NULL;
    ddw_status rc = ddw_h5_create(comm, tmp, cfg->deflate, (uint64_t)cfg->chunk, &h);
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    if (rc != DDW_OK) {
        ddw_h5_close(&h); /* ranks whose create succeeded */
        goto fail_create;
    }
    uint64_t nrec = home->recs.n;
    ddw_comm_allreduce_u64(comm, &nrec, 1, DDW_COMM_SUM);
    stats->records = nrec;
    CHECK(write_records(h, cfg, comm, plan, home, person, pnc_key));
    CHECK(write_persons(h, cfg, comm, &L, home, person, stats));
    CHECK(write_edges(h, cfg, comm, &L, edges, stats));
    CHECK(write_rejects(h, cfg, comm, home, stats));
    CHECK(write_sources(h, cfg, comm, plan, home));
    CHECK(write_model(h, cfg, comm, meta));
    double dt = ddw_comm_wtime() - t0;
    ddw_comm_allreduce_f64(comm, &dt, 1, DDW_COMM_MAX);
    meta->stage_seconds[meta->write_stage] = dt;
    CHECK(write_provenance(h, cfg, comm, meta));
fail:
    if (ddw_h5_close(&h) != DDW_OK && rc == DDW_OK)
        rc = DDW_EHDF5;
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    if (me == 0) {
        if (rc == DDW_OK && rename(tmp, final) != 0)
            rc = DDW_EIO;
        if (rc != DDW_OK)
            unlink(tmp);
    }
    rc = (ddw_status)ddw_comm_agree(comm, rc);
fail_create:
    layout_free(&L);
    free(tmp);
    free(final);
    return rc;
}
