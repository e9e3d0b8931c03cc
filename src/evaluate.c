/*
 * evaluate.c - linkage quality against a ground truth: the truth CSV join
 * and the metrics, by counting over the contingency table of (found person
 * x true person); no pair of records is ever enumerated.
 *
 * Definitions.  N records; record r has a found person F(r), a true person
 * T(r) and a source.  A "cell" (i, j) is the set of records with F = i and
 * T = j, of size n_ij > 0; a_i = records of found person i, b_j = records
 * of true person j; C(k, 2) = k(k-1)/2.
 *   true_positive_pairs TP = sum over cells C(n_ij, 2)
 *   found_pairs            = sum_i C(a_i, 2)     true_pairs = sum_j C(b_j, 2)
 *   pair_precision = TP / found_pairs, or 1 when found_pairs = 0
 *   pair_recall    = TP / true_pairs,  or 1 when true_pairs = 0
 *   bcubed_precision = (1/N) sum over cells n_ij^2 / a_i
 *   bcubed_recall    = (1/N) sum over cells n_ij^2 / b_j  (both 1 when N = 0)
 *   each *_f1 = 2PR / (P + R), or 0 when P + R = 0
 *   persons_found / persons_true = distinct found / true persons
 *   true_persons_split   = true persons whose records lie in > 1 found person
 *   found_persons_merged = found persons holding records of > 1 true person
 * Source pair (s, t), s <= t (every pair is listed, also those with no found
 * and no true pairs; then both pair ratios are 1 by the conventions above):
 *   for s != t the pairwise figures count only pairs of one record of s and
 *   one of t: TP_st = sum over cells n_ij,s n_ij,t, found_st = sum_i a_i,s
 *   a_i,t, true_st = sum_j b_j,s b_j,t; for s = t, pairs within s
 *   (C(n_ij,s, 2) etc.).  All other figures (records, B-cubed, persons,
 *   split, merged) are those of the records of sources s and t alone, with
 *   every person cut down to those records.
 *
 * How.  Found and true IDs are renumbered densely (radix sort), records are
 * radix-sorted by (found, true) and scanned once, a found person at a time,
 * then by (true, found) for the true side.  Per person and source the scan
 * keeps a_s, q_s = sum over its cells n_c,s^2 and m_s = cells holding s,
 * and per source pair x_st = sum n_c,s n_c,t; the person's B-cubed term for
 * pair (s, t) is (q_s + q_t + 2 x_st) / (a_s + a_t).  Trade-off: that term
 * does not depend on t for a person without records of t, so instead of
 * visiting every pair for every person (O(S^2) each), terms q_s / a_s are
 * summed once per source and a pair's sum is corrected by the persons that
 * hold both sources: sum_s + sum_t - (their single-source terms) + (their
 * joint terms).  The same correction gives persons and split/merged counts
 * per pair exactly in integers; the B-cubed sums pay one cancellation
 * (relative error ~1e-16, far below any reported digit).  Every sum runs in
 * the sorted order, so the output is deterministic.
 *
 * The join hashes (source, record_id) to 64 bits on both sides, sorts, and
 * compares the strings within each run of equal hashes, so a collision can
 * never join the wrong records; person strings are interned the same way.
 */
#include "ddw_evaluate.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_csv.h"

#define F_DBL(name) {#name, 0, offsetof(ddw_eval_metrics, name)}
#define F_CNT(name) {#name, 1, offsetof(ddw_eval_metrics, name)}

const ddw_eval_field ddw_eval_fields[] = {
    F_DBL(pair_precision),     F_DBL(pair_recall),         F_DBL(pair_f1),
    F_DBL(bcubed_precision),   F_DBL(bcubed_recall),       F_DBL(bcubed_f1),
    F_CNT(persons_found),      F_CNT(persons_true),        F_CNT(true_persons_split),
    F_CNT(found_persons_merged), F_CNT(records),           F_CNT(true_pairs),
    F_CNT(found_pairs),        F_CNT(true_positive_pairs),
};
const int ddw_eval_nfields = (int)(sizeof ddw_eval_fields / sizeof ddw_eval_fields[0]);

double ddw_eval_field_f64(const ddw_eval_metrics *m, int k)
{
    const char *p = (const char *)m + ddw_eval_fields[k].offset;
    if (ddw_eval_fields[k].is_count) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return (double)v;
    }
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

uint64_t ddw_eval_field_u64(const ddw_eval_metrics *m, int k)
{
    if (!ddw_eval_fields[k].is_count)
        return 0;
    uint64_t v;
    memcpy(&v, (const char *)m + ddw_eval_fields[k].offset, sizeof v);
    return v;
}

int ddw_eval_pair_index(int nsources, int s, int t)
{
    return s * (2 * nsources - s + 1) / 2 + (t - s);
}

/* ---- sorting ------------------------------------------------------------- */

/* dense[i] = rank of ids[i] among the distinct values of ids[0..n);
 * returns the number of distinct values. */
static uint64_t densify(const uint64_t *ids, size_t n, uint32_t *dense)
{
    uint64_t *k = ddw_xmalloc(n * sizeof *k);
    uint32_t *v = ddw_xmalloc(n * sizeof *v);
    memcpy(k, ids, n * sizeof *k);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)i;
    ddw_radix_sort_u64(k, v, n);
    uint64_t d = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && k[i] != k[i - 1])
            d++;
        dense[v[i]] = (uint32_t)d;
    }
    free(k);
    free(v);
    return n ? d + 1 : 0;
}

/* Bits needed to hold the values 0 .. count-1. */
static int bits_for(uint64_t count)
{
    int b = 0;
    if (count <= 1)
        return 0;
    while (b < 64 && (count - 1) >> b)
        b++;
    return b;
}

static uint64_t choose2(uint64_t k) { return k * (k - (k > 0)) / 2; }

/* ---- one side of the contingency table ------------------------------------ */

/* Sums over the persons of one side (found or true); [p] is indexed by
 * ddw_eval_pair_index.  For p = (s, s) the sums are over persons holding
 * s; for p = (s, t), s < t, over persons holding both s and t. */
typedef struct {
    uint64_t *pairs;     /* (s,s): sum C(a_s,2)        (s,t): sum a_s a_t */
    uint64_t *tp;        /* the same over cells (identical on both sides) */
    uint64_t *persons;   /* persons holding s / holding both */
    uint64_t *multi;     /* (s,s): [m_s > 1]           (s,t): [cells holding s or t > 1] */
    uint64_t *multi_sub; /* (s,t): [m_s > 1] + [m_t > 1] */
    double *bsum;        /* (s,s): q_s / a_s           (s,t): (q_s+q_t+2x_st) / (a_s+a_t) */
    double *bsub;        /* (s,t): q_s / a_s + q_t / a_t */
    uint64_t *records;   /* [S] records of source s */
    uint64_t all_pairs, all_tp, all_persons, all_multi;
    double all_bsum;     /* sum over persons of (sum over cells n_c^2) / a */
} side_sums;

static void side_init(side_sums *sd, int S)
{
    size_t P = (size_t)S * (size_t)(S + 1) / 2;
    memset(sd, 0, sizeof *sd);
    sd->pairs = ddw_xcalloc(P, sizeof *sd->pairs);
    sd->tp = ddw_xcalloc(P, sizeof *sd->tp);
    sd->persons = ddw_xcalloc(P, sizeof *sd->persons);
    sd->multi = ddw_xcalloc(P, sizeof *sd->multi);
    sd->multi_sub = ddw_xcalloc(P, sizeof *sd->multi_sub);
    sd->bsum = ddw_xcalloc(P, sizeof *sd->bsum);
    sd->bsub = ddw_xcalloc(P, sizeof *sd->bsub);
    sd->records = ddw_xcalloc((size_t)S, sizeof *sd->records);
}

static void side_free(side_sums *sd)
{
    free(sd->pairs);
    free(sd->tp);
    free(sd->persons);
    free(sd->multi);
    free(sd->multi_sub);
    free(sd->bsum);
    free(sd->bsub);
    free(sd->records);
    memset(sd, 0, sizeof *sd);
}

/*
 * Scans records sorted by key = (person << shift) | other-side person, with
 * src[] their sources: a run of equal key is a cell, a run of equal
 * key >> shift a person of this side.
 */
static void side_scan(const uint64_t *key, const uint32_t *src, size_t n, int shift, int S,
                      side_sums *sd)
{
    size_t SS = (size_t)S * (size_t)S;
    uint64_t *cnt = ddw_xcalloc((size_t)S, sizeof *cnt); /* current cell */
    uint64_t *a = ddw_xcalloc((size_t)S, sizeof *a);     /* current person: records */
    uint64_t *q = ddw_xcalloc((size_t)S, sizeof *q);     /* sum of n_c,s^2 */
    uint64_t *m = ddw_xcalloc((size_t)S, sizeof *m);     /* cells holding s */
    uint64_t *x = ddw_xcalloc(SS, sizeof *x);            /* [s*S+t]: sum n_c,s n_c,t */
    uint64_t *mb = ddw_xcalloc(SS, sizeof *mb);          /* [s*S+t]: cells holding both */
    int *cell_src = ddw_xmalloc((size_t)S * sizeof *cell_src);
    int *per_src = ddw_xmalloc((size_t)S * sizeof *per_src);
    for (size_t k = 0; k < n;) {
        uint64_t person = key[k] >> shift;
        uint64_t A = 0, Q = 0, cells = 0;
        int nper = 0;
        while (k < n && key[k] >> shift == person) {
            uint64_t cell = key[k], nc = 0;
            int ncell = 0;
            for (; k < n && key[k] == cell; k++, nc++)
                if (cnt[src[k]]++ == 0)
                    cell_src[ncell++] = (int)src[k];
            A += nc;
            Q += nc * nc;
            cells++;
            sd->all_tp += choose2(nc);
            for (int u = 0; u < ncell; u++) {
                int s = cell_src[u];
                uint64_t c = cnt[s];
                if (a[s] == 0)
                    per_src[nper++] = s;
                a[s] += c;
                q[s] += c * c;
                m[s]++;
                sd->tp[ddw_eval_pair_index(S, s, s)] += choose2(c);
                for (int w = u + 1; w < ncell; w++) {
                    int t = cell_src[w], lo = s < t ? s : t, hi = s < t ? t : s;
                    x[(size_t)lo * S + hi] += c * cnt[t];
                    mb[(size_t)lo * S + hi]++;
                    sd->tp[ddw_eval_pair_index(S, lo, hi)] += c * cnt[t];
                }
            }
            for (int u = 0; u < ncell; u++)
                cnt[cell_src[u]] = 0;
        }
        sd->all_pairs += choose2(A);
        sd->all_persons++;
        sd->all_multi += cells > 1;
        sd->all_bsum += (double)Q / (double)A;
        for (int u = 0; u < nper; u++) {
            int s = per_src[u];
            int p = ddw_eval_pair_index(S, s, s);
            sd->records[s] += a[s];
            sd->pairs[p] += choose2(a[s]);
            sd->persons[p]++;
            sd->multi[p] += m[s] > 1;
            sd->bsum[p] += (double)q[s] / (double)a[s];
            for (int w = u + 1; w < nper; w++) {
                int t = per_src[w], lo = s < t ? s : t, hi = s < t ? t : s;
                size_t st = (size_t)lo * S + hi;
                p = ddw_eval_pair_index(S, lo, hi);
                sd->pairs[p] += a[s] * a[t];
                sd->persons[p]++;
                sd->multi[p] += m[s] + m[t] - mb[st] > 1;
                sd->multi_sub[p] += (uint64_t)(m[lo] > 1) + (uint64_t)(m[hi] > 1);
                sd->bsum[p] += (double)(q[s] + q[t] + 2 * x[st]) / (double)(a[s] + a[t]);
                sd->bsub[p] += (double)q[lo] / (double)a[lo] + (double)q[hi] / (double)a[hi];
                x[st] = 0;
                mb[st] = 0;
            }
        }
        for (int u = 0; u < nper; u++)
            a[per_src[u]] = q[per_src[u]] = m[per_src[u]] = 0;
    }
    free(cnt);
    free(a);
    free(q);
    free(m);
    free(x);
    free(mb);
    free(cell_src);
    free(per_src);
}

static double ratio(uint64_t num, uint64_t den) { return den ? (double)num / (double)den : 1.0; }

static double f1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

void ddw_eval_finish(ddw_eval_metrics *m, double bprec_sum, double brec_sum)
{
    m->pair_precision = ratio(m->true_positive_pairs, m->found_pairs);
    m->pair_recall = ratio(m->true_positive_pairs, m->true_pairs);
    m->pair_f1 = f1(m->pair_precision, m->pair_recall);
    m->bcubed_precision = m->records ? bprec_sum / (double)m->records : 1.0;
    m->bcubed_recall = m->records ? brec_sum / (double)m->records : 1.0;
    m->bcubed_f1 = f1(m->bcubed_precision, m->bcubed_recall);
}

ddw_status ddw_evaluate_counts(size_t n, const uint64_t *found, const uint64_t *truth,
                               const int32_t *source, int nsources, ddw_eval_result *out)
{
    memset(out, 0, sizeof *out);
    if (nsources < 1 || nsources > DDW_MAX_SOURCES || (uint64_t)n > UINT32_MAX)
        return DDW_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (source[i] < 0 || source[i] >= nsources)
            return DDW_EINVAL;
    int S = nsources;
    uint32_t *fd = ddw_xmalloc(n * sizeof *fd), *td = ddw_xmalloc(n * sizeof *td);
    uint64_t nf = densify(found, n, fd), nt = densify(truth, n, td);
    int bf = bits_for(nf), bt = bits_for(nt);
    uint64_t *key = ddw_xmalloc(n * sizeof *key);
    uint32_t *src = ddw_xmalloc(n * sizeof *src);
    side_sums fs, ts;
    side_init(&fs, S);
    side_init(&ts, S);
    for (size_t i = 0; i < n; i++) {
        key[i] = (uint64_t)fd[i] << bt | td[i];
        src[i] = (uint32_t)source[i];
    }
    ddw_radix_sort_u64(key, src, n);
    side_scan(key, src, n, bt, S, &fs);
    for (size_t i = 0; i < n; i++) {
        key[i] = (uint64_t)td[i] << bf | fd[i];
        src[i] = (uint32_t)source[i];
    }
    ddw_radix_sort_u64(key, src, n);
    side_scan(key, src, n, bf, S, &ts);
    free(fd);
    free(td);
    free(key);
    free(src);

    out->nsources = S;
    out->npairs = S * (S + 1) / 2;
    out->pair = ddw_xcalloc((size_t)out->npairs, sizeof *out->pair);
    ddw_eval_metrics *m = &out->all;
    m->records = n;
    m->found_pairs = fs.all_pairs;
    m->true_pairs = ts.all_pairs;
    m->true_positive_pairs = fs.all_tp;
    m->persons_found = fs.all_persons;
    m->persons_true = ts.all_persons;
    m->found_persons_merged = fs.all_multi;
    m->true_persons_split = ts.all_multi;
    ddw_eval_finish(m, fs.all_bsum, ts.all_bsum);
    for (int s = 0; s < S; s++)
        for (int t = s; t < S; t++) {
            int p = ddw_eval_pair_index(S, s, t);
            m = &out->pair[p];
            m->found_pairs = fs.pairs[p];
            m->true_pairs = ts.pairs[p];
            m->true_positive_pairs = fs.tp[p];
            if (s == t) {
                m->records = fs.records[s];
                m->persons_found = fs.persons[p];
                m->persons_true = ts.persons[p];
                m->found_persons_merged = fs.multi[p];
                m->true_persons_split = ts.multi[p];
                ddw_eval_finish(m, fs.bsum[p], ts.bsum[p]);
                continue;
            }
            /* persons holding only one of s, t count as they do for it alone */
            int ps = ddw_eval_pair_index(S, s, s), pt = ddw_eval_pair_index(S, t, t);
            m->records = fs.records[s] + fs.records[t];
            m->persons_found = fs.persons[ps] + fs.persons[pt] - fs.persons[p];
            m->persons_true = ts.persons[ps] + ts.persons[pt] - ts.persons[p];
            m->found_persons_merged = fs.multi[ps] + fs.multi[pt] - fs.multi_sub[p] + fs.multi[p];
            m->true_persons_split = ts.multi[ps] + ts.multi[pt] - ts.multi_sub[p] + ts.multi[p];
            ddw_eval_finish(m, fs.bsum[ps] + fs.bsum[pt] - fs.bsub[p] + fs.bsum[p],
                   ts.bsum[ps] + ts.bsum[pt] - ts.bsub[p] + ts.bsum[p]);
        }
    side_free(&fs);
    side_free(&ts);
    return DDW_OK;
}

void ddw_eval_result_free(ddw_eval_result *r)
{
    if (r == NULL)
        return;
    free(r->pair);
    memset(r, 0, sizeof *r);
}

/* ---- the truth CSV --------------------------------------------------------- */

#define MAX_UNKNOWN 8 /* distinct unknown source names reported one by one */

/* Truth rows of known sources: record_id at arena + off, its person right after. */
typedef struct {
    size_t n, cap;
    int32_t *src;
    uint64_t *off;
    uint32_t *rid_len, *per_len;
    uint64_t *line;
    char *arena;
    size_t alen, acap;
    struct {
        char *name;
        uint64_t count, first_line;
    } unknown[MAX_UNKNOWN];
    int nunknown;
    uint64_t unknown_other, unknown_other_line; /* rows naming further unknown sources */
} truth_rows;

static void truth_free(truth_rows *t)
{
    free(t->src);
    free(t->off);
    free(t->rid_len);
    free(t->per_len);
    free(t->line);
    free(t->arena);
    for (int k = 0; k < t->nunknown; k++)
        free(t->unknown[k].name);
    memset(t, 0, sizeof *t);
}

static void report(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(FILE *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("evaluate: error: ", err);
    vfprintf(err, fmt, ap);
    fputc('\n', err);
    va_end(ap);
}

static const char *trim(const char *p, size_t *len)
{
    while (*len && (*p == ' ' || *p == '\t'))
        p++, (*len)--;
    while (*len && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
        (*len)--;
    return p;
}

static int field_is(const ddw_csv_field *f, const char *name)
{
    size_t len = f->len;
    const char *p = trim(f->ptr, &len);
    return len == strlen(name) && memcmp(p, name, len) == 0;
}

static void add_unknown(truth_rows *t, const char *name, size_t len, uint64_t line)
{
    for (int k = 0; k < t->nunknown; k++)
        if (strlen(t->unknown[k].name) == len && memcmp(t->unknown[k].name, name, len) == 0) {
            t->unknown[k].count++;
            return;
        }
    if (t->nunknown == MAX_UNKNOWN) {
        if (t->unknown_other++ == 0)
            t->unknown_other_line = line;
        return;
    }
    char *s = ddw_xmalloc(len + 1);
    memcpy(s, name, len);
    s[len] = '\0';
    t->unknown[t->nunknown].name = s;
    t->unknown[t->nunknown].count = 1;
    t->unknown[t->nunknown].first_line = line;
    t->nunknown++;
}

static void add_row(truth_rows *t, int32_t s, const char *rid, size_t rlen, const char *per,
                    size_t plen, uint64_t line)
{
    if (t->n == t->cap) {
        size_t c = t->cap;
        ddw_xgrow((void **)&t->src, &c, t->n + 1, sizeof *t->src);
        t->off = ddw_xrealloc(t->off, c * sizeof *t->off);
        t->rid_len = ddw_xrealloc(t->rid_len, c * sizeof *t->rid_len);
        t->per_len = ddw_xrealloc(t->per_len, c * sizeof *t->per_len);
        t->line = ddw_xrealloc(t->line, c * sizeof *t->line);
        t->cap = c;
    }
    ddw_xgrow((void **)&t->arena, &t->acap, t->alen + rlen + plen + 1, 1);
    size_t i = t->n++;
    t->src[i] = s;
    t->off[i] = t->alen;
    t->rid_len[i] = (uint32_t)rlen;
    t->per_len[i] = (uint32_t)plen;
    t->line[i] = line;
    memcpy(t->arena + t->alen, rid, rlen);
    memcpy(t->arena + t->alen + rlen, per, plen);
    t->alen += rlen + plen;
}

/* Splits rec into *fields (grown as needed); returns the status of the split. */
static ddw_status split_record(const char *rec, size_t len, char **scratch, size_t *scap,
                               ddw_csv_field **fields, int *fcap, int *nf)
{
    ddw_xgrow((void **)scratch, scap, len + 1, 1);
    ddw_status rc = ddw_csv_split(rec, len, *scratch, *scap, *fields, *fcap, nf);
    if (rc == DDW_OK && *nf > *fcap) {
        *fcap = *nf;
        *fields = ddw_xrealloc(*fields, (size_t)*fcap * sizeof **fields);
        rc = ddw_csv_split(rec, len, *scratch, *scap, *fields, *fcap, nf);
    }
    return rc;
}

/* Reads the header and every data row of the truth into t. */
static ddw_status parse_truth(const char *label, const char *text, size_t len,
                              const ddw_eval_records *rec, FILE *err, truth_rows *t,
                              ddw_eval_join_stats *st)
{
    const char *p = text + ddw_csv_skip_bom(text, len), *end = text + len;
    char *scratch = NULL;
    size_t scap = 0;
    int fcap = 16, nf = 0;
    ddw_csv_field *fields = ddw_xmalloc((size_t)fcap * sizeof *fields);
    ddw_status rc = DDW_OK;
    int ncols = 0, c_src = -1, c_rid = -1, c_per = -1, c_pid = -1, last = 0;
    uint64_t line = 1;
    for (int header = 1; p < end; header = 0) {
        int state = DDW_CSV_S_START;
        const char *e = ddw_csv_record_end(p, end, &state);
        size_t rlen = e ? (size_t)(e - p) : (size_t)(end - p);
        uint64_t q = 0, nl = 0;
        ddw_csv_count(p, rlen, &q, &nl);
        uint64_t here = line;
        line += nl + 1;
        const char *r = p;
        p = e ? e + 1 : end;
        size_t blank = rlen;
        if (blank && r[blank - 1] == '\r')
            blank--;
        if (blank == 0 && !header)
            continue;
        if (e == NULL && state == DDW_CSV_S_QUOTED) {
            report(err, "%s line %llu: unterminated quoted field at end of file", label,
                   (unsigned long long)here);
            rc = DDW_ECSV;
            goto done;
        }
        rc = split_record(r, rlen, &scratch, &scap, &fields, &fcap, &nf);
        if (rc != DDW_OK) {
            report(err, "%s line %llu: %s", label, (unsigned long long)here, ddw_strerror(rc));
            rc = DDW_ECSV;
            goto done;
        }
        if (header) {
            ncols = nf;
            for (int c = nf - 1; c >= 0; c--) {
                if (field_is(&fields[c], "source")) c_src = c;
                if (field_is(&fields[c], "record_id")) c_rid = c;
                if (field_is(&fields[c], "person")) c_per = c;
                if (field_is(&fields[c], "person_id")) c_pid = c;
            }
            if (c_per < 0)
                c_per = c_pid;
            if (c_src < 0 || c_rid < 0 || c_per < 0) {
                report(err, "%s line 1: the header has no column '%s' (it needs source, "
                            "record_id and person or person_id)", label,
                       c_src < 0 ? "source" : c_rid < 0 ? "record_id" : "person");
                rc = DDW_ECSV;
                goto done;
            }
            continue;
        }
        if (nf != ncols) {
            report(err, "%s line %llu: %d field%s, but the header has %d", label,
                   (unsigned long long)here, nf, nf == 1 ? "" : "s", ncols);
            rc = DDW_ECSV;
            goto done;
        }
        if (++st->truth_rows > UINT32_MAX) {
            report(err, "%s: more than %u rows", label, (unsigned)UINT32_MAX);
            rc = DDW_ERANGE;
            goto done;
        }
        size_t sl = fields[c_src].len, il = fields[c_rid].len;
        const char *sname = trim(fields[c_src].ptr, &sl), *rid = trim(fields[c_rid].ptr, &il);
        int s = -1;
        for (int k = 0; k < rec->nsources && s < 0; k++) {
            int cand = (last + k) % rec->nsources; /* rows of one source usually come together */
            if (strlen(rec->source_name[cand]) == sl &&
                memcmp(rec->source_name[cand], sname, sl) == 0)
                s = cand;
        }
        if (s < 0) {
            st->unknown_source++;
            add_unknown(t, sname, sl, here);
            continue;
        }
        last = s;
        add_row(t, s, rid, il, fields[c_per].ptr, fields[c_per].len, here);
    }
    if (ncols == 0) {
        report(err, "%s line 1: empty file, no header row", label);
        rc = DDW_ECSV;
    }
done:
    free(scratch);
    free(fields);
    return rc;
}

/* ---- the join -------------------------------------------------------------- */

/* Either side's row: the truth row or the result record idx. */
typedef struct {
    uint32_t idx;
    uint32_t side; /* 0 truth, 1 result */
} join_ent;

typedef struct {
    const truth_rows *t;
    const ddw_eval_records *rec;
} join_ctx;

static size_t result_len(const ddw_eval_records *rec, size_t i)
{
    const char *r = rec->record_id + i * rec->id_width;
    const char *z = memchr(r, '\0', rec->id_width);
    return z ? (size_t)(z - r) : rec->id_width;
}

static void ent_key(const join_ctx *c, const join_ent *e, int32_t *s, const char **rid,
                    size_t *len)
{
    if (e->side == 0) {
        *s = c->t->src[e->idx];
        *rid = c->t->arena + c->t->off[e->idx];
        *len = c->t->rid_len[e->idx];
    } else {
        *s = c->rec->source[e->idx];
        *rid = c->rec->record_id + (size_t)e->idx * c->rec->id_width;
        *len = result_len(c->rec, e->idx);
    }
}

/* Orders by (source, record_id) only. */
static int cmp_key(const join_ctx *c, const join_ent *x, const join_ent *y)
{
    int32_t sx, sy;
    const char *rx, *ry;
    size_t lx, ly;
    ent_key(c, x, &sx, &rx, &lx);
    ent_key(c, y, &sy, &ry, &ly);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    int d = memcmp(rx, ry, lx < ly ? lx : ly);
    if (d)
        return d;
    return lx < ly ? -1 : lx > ly;
}

/* Orders by (source, record_id, side, index): truth rows of a key first, each side in order. */
static int cmp_ent(const void *a, const void *b, void *ctx)
{
    const join_ent *x = a, *y = b;
    int d = cmp_key(ctx, x, y);
    if (d)
        return d;
    if (x->side != y->side)
        return x->side < y->side ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint64_t key_hash(int32_t s, const char *rid, size_t len)
{
    return ddw_hash64(rid, len, ddw_mix64((uint64_t)s + 1));
}

enum { K_DUP_TRUTH, K_DUP_RESULT, K_NOT_IN_RESULT, K_NOT_IN_TRUTH, K_N };

/* Per source and kind of failure: how many, and the first example (the
 * smallest truth row or result record index). */
typedef struct {
    uint64_t count;
    uint32_t first, orig; /* orig: for K_DUP_TRUTH, the row first holding the key */
} join_fault;

static void fault(join_fault *f, uint64_t count, uint32_t first, uint32_t orig)
{
    if (f->count == 0 || first < f->first) {
        f->first = first;
        f->orig = orig;
    }
    f->count += count;
}

/* Resolves one run of equal hashes: ent[0..n) sorted with cmp_ent. */
static void join_run(const join_ctx *c, join_ent *ent, size_t n, uint32_t *match,
                     join_fault *faults)
{
    for (size_t g = 0; g < n;) {
        size_t h = g + 1;
        while (h < n && cmp_key(c, &ent[g], &ent[h]) == 0)
            h++;
        size_t kt = 0;
        while (g + kt < h && ent[g + kt].side == 0)
            kt++;
        size_t kr = h - g - kt;
        int32_t s;
        const char *rid;
        size_t len;
        ent_key(c, &ent[g], &s, &rid, &len);
        join_fault *f = faults + (size_t)s * K_N;
        if (kt > 1)
            fault(&f[K_DUP_TRUTH], kt - 1, ent[g + 1].idx, ent[g].idx);
        if (kr > 1)
            fault(&f[K_DUP_RESULT], kr - 1, ent[g + kt + 1].idx, ent[g + kt].idx);
        if (kt == 0)
            fault(&f[K_NOT_IN_TRUTH], kr, ent[g].idx, 0);
        if (kr == 0)
            fault(&f[K_NOT_IN_RESULT], kt, ent[g].idx, 0);
        if (kt > 0)
            for (size_t k = g + kt; k < h; k++)
                match[ent[k].idx] = ent[g].idx;
        g = h;
    }
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Prints every fault; returns nonzero if there was one. */
static int report_faults(const char *label, const truth_rows *t, const ddw_eval_records *rec,
                         const join_fault *faults, FILE *err, ddw_eval_join_stats *st)
{
    int any = 0;
    for (int k = 0; k < t->nunknown; k++) {
        any = 1;
        if (err == NULL)
            continue;
        fprintf(err, "evaluate: error: %llu row%s of %s name%s source '%s', which is not in "
                     "the result (its sources:", (unsigned long long)t->unknown[k].count,
                plural(t->unknown[k].count, "", "s"), label,
                plural(t->unknown[k].count, "s", ""), t->unknown[k].name);
        for (int s = 0; s < rec->nsources; s++)
            fprintf(err, "%s '%s'", s ? "," : "", rec->source_name[s]);
        fprintf(err, "); first on line %llu\n", (unsigned long long)t->unknown[k].first_line);
    }
    if (t->unknown_other) {
        any = 1;
        report(err, "%llu more row%s of %s name%s further unknown sources; first on line %llu",
               (unsigned long long)t->unknown_other, plural(t->unknown_other, "", "s"), label,
               plural(t->unknown_other, "s", ""), (unsigned long long)t->unknown_other_line);
    }
    for (int kind = 0; kind < K_N; kind++)
        for (int s = 0; s < rec->nsources; s++) {
            const join_fault *f = &faults[(size_t)s * K_N + kind];
            if (f->count == 0)
                continue;
            any = 1;
            unsigned long long cnt = (unsigned long long)f->count;
            const char *name = rec->source_name[s];
            if (kind == K_DUP_TRUTH || kind == K_NOT_IN_RESULT) {
                const char *rid = t->arena + t->off[f->first];
                int rl = (int)t->rid_len[f->first];
                unsigned long long ln = (unsigned long long)t->line[f->first];
                if (kind == K_DUP_TRUTH) {
                    st->dup_truth += f->count;
                    report(err, "%llu row%s of %s for source '%s' repeat%s the record_id of an "
                                "earlier row; first: record_id %.*s (line %llu, first on line "
                                "%llu)", cnt, plural(cnt, "", "s"), label, name,
                           plural(cnt, "s", ""), rl, rid, ln,
                           (unsigned long long)t->line[f->orig]);
                } else {
                    st->not_in_result += f->count;
                    report(err, "%llu record%s of source '%s' %s in %s but not in the result; "
                                "first: record_id %.*s (line %llu)", cnt, plural(cnt, "", "s"),
                           name, plural(cnt, "is", "are"), label, rl, rid, ln);
                }
            } else {
                const char *rid = rec->record_id + (size_t)f->first * rec->id_width;
                int rl = (int)result_len(rec, f->first);
                if (kind == K_DUP_RESULT) {
                    st->dup_result += f->count;
                    report(err, "%llu record%s of source '%s' in the result repeat%s the "
                                "record_id of an earlier record; first: record_id %.*s",
                           cnt, plural(cnt, "", "s"), name, plural(cnt, "s", ""), rl, rid);
                } else {
                    st->not_in_truth += f->count;
                    report(err, "%llu record%s of source '%s' %s in the result but not in %s; "
                                "first: record_id %.*s", cnt, plural(cnt, "", "s"), name,
                           plural(cnt, "is", "are"), label, rl, rid);
                }
            }
        }
    return any;
}

/* Matches result records to truth rows: match[i] = the truth row of record i. */
static ddw_status join(const char *label, const truth_rows *t, const ddw_eval_records *rec,
                       FILE *err, uint32_t *match, ddw_eval_join_stats *st)
{
    size_t nt = t->n, nr = rec->n;
    uint64_t *tk = ddw_xmalloc(nt * sizeof *tk), *rk = ddw_xmalloc(nr * sizeof *rk);
    uint32_t *tv = ddw_xmalloc(nt * sizeof *tv), *rv = ddw_xmalloc(nr * sizeof *rv);
    for (size_t i = 0; i < nt; i++) {
        tk[i] = key_hash(t->src[i], t->arena + t->off[i], t->rid_len[i]);
        tv[i] = (uint32_t)i;
    }
    for (size_t i = 0; i < nr; i++) {
        rk[i] = key_hash(rec->source[i], rec->record_id + i * rec->id_width,
                         result_len(rec, i));
        rv[i] = (uint32_t)i;
    }
    ddw_radix_sort_u64(tk, tv, nt);
    ddw_radix_sort_u64(rk, rv, nr);
    join_ctx c = {t, rec};
    join_fault *faults = ddw_xcalloc((size_t)rec->nsources * K_N, sizeof *faults);
    join_ent *ent = NULL;
    size_t ecap = 0;
    for (size_t i = 0, j = 0; i < nt || j < nr;) {
        uint64_t h = j >= nr || (i < nt && tk[i] <= rk[j]) ? tk[i] : rk[j];
        size_t i2 = i, j2 = j;
        while (i2 < nt && tk[i2] == h)
            i2++;
        while (j2 < nr && rk[j2] == h)
            j2++;
        join_ent one[2] = {{i < i2 ? tv[i] : 0, 0}, {j < j2 ? rv[j] : 0, 1}};
        if (i2 - i == 1 && j2 - j == 1 && cmp_key(&c, &one[0], &one[1]) == 0) {
            match[rv[j]] = tv[i]; /* the common case: one row each, same key */
        } else {
            size_t m = 0;
            ddw_xgrow((void **)&ent, &ecap, (i2 - i) + (j2 - j), sizeof *ent);
            for (size_t k = i; k < i2; k++)
                ent[m++] = (join_ent){tv[k], 0};
            for (size_t k = j; k < j2; k++)
                ent[m++] = (join_ent){rv[k], 1};
            qsort_r(ent, m, sizeof *ent, cmp_ent, &c);
            join_run(&c, ent, m, match, faults);
        }
        i = i2;
        j = j2;
    }
    int bad = report_faults(label, t, rec, faults, err, st);
    free(ent);
    free(faults);
    free(tk);
    free(rk);
    free(tv);
    free(rv);
    return bad ? DDW_EINVAL : DDW_OK;
}

static int cmp_person(const void *a, const void *b, void *ctx)
{
    const truth_rows *t = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const char *px = t->arena + t->off[x] + t->rid_len[x];
    const char *py = t->arena + t->off[y] + t->rid_len[y];
    size_t lx = t->per_len[x], ly = t->per_len[y];
    int d = memcmp(px, py, lx < ly ? lx : ly);
    if (d)
        return d;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* pid[i] = dense number of truth row i's person string; returns the count. */
static uint64_t intern_persons(const truth_rows *t, uint32_t *pid)
{
    size_t n = t->n;
    uint64_t *k = ddw_xmalloc(n * sizeof *k);
    uint32_t *v = ddw_xmalloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        k[i] = ddw_hash64(t->arena + t->off[i] + t->rid_len[i], t->per_len[i], 0x7065);
        v[i] = (uint32_t)i;
    }
    ddw_radix_sort_u64(k, v, n);
    uint64_t next = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && k[j] == k[i])
            j++;
        if (j - i > 1)
            qsort_r(v + i, j - i, sizeof *v, cmp_person, (void *)t);
        for (size_t r = i; r < j; r++) {
            if (r > i) {
                uint32_t a = v[r - 1], b = v[r];
                if (t->per_len[a] != t->per_len[b] ||
                    memcmp(t->arena + t->off[a] + t->rid_len[a],
                           t->arena + t->off[b] + t->rid_len[b], t->per_len[a]) != 0)
                    next++;
            }
            pid[v[r]] = (uint32_t)next;
        }
        next++;
        i = j;
    }
    free(k);
    free(v);
    return next;
}

ddw_status ddw_eval_join_text(const char *label, const char *text, size_t len,
                              const ddw_eval_records *rec, FILE *err, uint64_t *truth_id,
                              ddw_eval_join_stats *st)
{
    ddw_eval_join_stats local;
    if (st == NULL)
        st = &local;
    memset(st, 0, sizeof *st);
    if ((uint64_t)rec->n > UINT32_MAX) {
        report(err, "the result has more than %u records", (unsigned)UINT32_MAX);
        return DDW_ERANGE;
    }
    truth_rows t;
    memset(&t, 0, sizeof t);
    uint32_t *match = NULL, *pid = NULL;
    ddw_status rc = parse_truth(label, text, len, rec, err, &t, st);
    if (rc != DDW_OK)
        goto fail_parse;
    match = ddw_xmalloc(rec->n * sizeof *match);
    rc = join(label, &t, rec, err, match, st);
    if (rc != DDW_OK)
        goto fail_join;
    pid = ddw_xmalloc(t.n * sizeof *pid);
    st->persons = intern_persons(&t, pid);
    for (size_t i = 0; i < rec->n; i++)
        truth_id[i] = pid[match[i]];
    free(pid);
fail_join:
    free(match);
fail_parse:
    truth_free(&t);
    return rc;
}

ddw_status ddw_eval_join_file(const char *path, const ddw_eval_records *rec, FILE *err,
                              uint64_t *truth_id, ddw_eval_join_stats *st)
{
    char *buf = NULL;
    size_t len = 0;
    if (ddw_read_file(path, &buf, &len) != DDW_OK) {
        report(err, "cannot open truth file '%s': %s", path, strerror(errno));
        return DDW_EIO;
    }
    ddw_status rc = ddw_eval_join_text(path, buf, len, rec, err, truth_id, st);
    free(buf);
    return rc;
}

/* ---- output -------------------------------------------------------------- */

static void sb_metrics(ddw_text *b, const ddw_eval_metrics *m, const char *sep)
{
    for (int k = 0; k < ddw_eval_nfields; k++) {
        ddw_text_printf(b, "%s\"%s\": ", k ? sep : "", ddw_eval_fields[k].name);
        if (ddw_eval_fields[k].is_count)
            ddw_text_printf(b, "%llu", (unsigned long long)ddw_eval_field_u64(m, k));
        else
            ddw_text_printf(b, "%.17g", ddw_eval_field_f64(m, k));
    }
}

char *ddw_eval_json(const ddw_eval_result *r, const char *const *names)
{
    ddw_text b = {NULL, 0, 0};
    ddw_text_printf(&b, "{\n  ");
    sb_metrics(&b, &r->all, ",\n  ");
    ddw_text_printf(&b, ",\n  \"by_source_pair\": {");
    for (int s = 0; s < r->nsources; s++)
        for (int t = s; t < r->nsources; t++) {
            int p = ddw_eval_pair_index(r->nsources, s, t);
            size_t len = strlen(names[s]) + strlen(names[t]) + 2;
            char *pair = ddw_xmalloc(len);
            snprintf(pair, len, "%s|%s", names[s], names[t]);
            ddw_text_printf(&b, "%s\n    ", p ? "," : "");
            ddw_text_json_str(&b, pair);
            ddw_text_printf(&b, ": {");
            sb_metrics(&b, &r->pair[p], ", ");
            ddw_text_printf(&b, "}");
            free(pair);
        }
    ddw_text_printf(&b, "\n  }\n}");
    return b.p;
}

void ddw_eval_print_table(FILE *out, const ddw_eval_result *r, const char *const *names)
{
    const ddw_eval_metrics *a = &r->all;
    fprintf(out,
            "evaluation of %llu records: %llu persons found, %llu true; %llu true persons split,"
            " %llu found persons merged\n"
            "             precision    recall        F1\n"
            "  pairwise  %9.6f %9.6f %9.6f   (%llu true positive pairs; %llu found, %llu true)\n"
            "  B-cubed   %9.6f %9.6f %9.6f\n",
            (unsigned long long)a->records, (unsigned long long)a->persons_found,
            (unsigned long long)a->persons_true, (unsigned long long)a->true_persons_split,
            (unsigned long long)a->found_persons_merged, a->pair_precision, a->pair_recall,
            a->pair_f1, (unsigned long long)a->true_positive_pairs,
            (unsigned long long)a->found_pairs, (unsigned long long)a->true_pairs,
            a->bcubed_precision, a->bcubed_recall, a->bcubed_f1);
    int w = 11;
    for (int s = 0; s < r->nsources; s++)
        for (int t = s; t < r->nsources; t++) {
            int l = (int)(strlen(names[s]) + strlen(names[t]) + 1);
            if (l > w)
                w = l;
        }
    fprintf(out, "\nby source pair (pairwise counts pairs of one record of each source; the rest "
                 "uses the records of the two sources):\n");
    fprintf(out, "  %-*s %9s %11s %11s %11s %8s %8s %8s %8s %8s %8s %9s %9s %7s %7s\n", w,
            "source pair", "records", "TP pairs", "found pairs", "true pairs", "pair P",
            "pair R", "pair F1", "B3 P", "B3 R", "B3 F1", "p. found", "p. true", "split",
            "merged");
    for (int s = 0; s < r->nsources; s++)
        for (int t = s; t < r->nsources; t++) {
            const ddw_eval_metrics *m = &r->pair[ddw_eval_pair_index(r->nsources, s, t)];
            size_t len = strlen(names[s]) + strlen(names[t]) + 2;
            char *pair = ddw_xmalloc(len);
            snprintf(pair, len, "%s|%s", names[s], names[t]);
            fprintf(out,
                    "  %-*s %9llu %11llu %11llu %11llu %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f "
                    "%9llu %9llu %7llu %7llu\n",
                    w, pair, (unsigned long long)m->records,
                    (unsigned long long)m->true_positive_pairs,
                    (unsigned long long)m->found_pairs, (unsigned long long)m->true_pairs,
                    m->pair_precision, m->pair_recall, m->pair_f1, m->bcubed_precision,
                    m->bcubed_recall, m->bcubed_f1, (unsigned long long)m->persons_found,
                    (unsigned long long)m->persons_true,
                    (unsigned long long)m->true_persons_split,
                    (unsigned long long)m->found_persons_merged);
            free(pair);
        }
}
