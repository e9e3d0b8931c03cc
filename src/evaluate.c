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
 * How.  Every figure is a sum over found persons (the found side) and over
 * true persons (the true side) of terms that depend on one person's cells
 * only.  So records can be split by person, each part summed alone
 * (ddw_eval_sums_add) and the parts added: that is how ranks share the
 * work.  Within a part, IDs are renumbered densely (radix sort), records
 * are radix-sorted by (person, other side's person) and scanned once, a
 * person at a time.  Per person and source the scan keeps a_s, q_s = sum
 * over its cells n_c,s^2 and m_s = cells holding s, and per source pair
 * x_st = sum n_c,s n_c,t; the person's B-cubed term for pair (s, t) is
 * (q_s + q_t + 2 x_st) / (a_s + a_t).  Trade-off: that term does not
 * depend on t for a person without records of t, so instead of visiting
 * every pair for every person (O(S^2) each), terms q_s / a_s are summed
 * once per source and a pair's sum is corrected by the persons that hold
 * both sources: sum_s + sum_t - (their single-source terms) + (their joint
 * terms).  The same correction gives persons and split/merged counts per
 * pair.
 *
 * Exactness.  Every sum is an integer: the counts, and each B-cubed term
 * num / den taken as floor(num * 2^64 / den) in 128 bits (ddw_eval_term).
 * Integer sums do not depend on the order of addition, so the figures are
 * the same in every bit however the records are split over ranks, the
 * source-pair correction is exact, and sweep.c gets the same bits from
 * the same integers.  Each B-cubed ratio is rounded to a double once, at
 * the end; the truncation costs < 2^-64 per term, far below any digit
 * printed.  Across ranks the 128-bit sums travel as four 32-bit limbs in
 * uint64 words, so a plain uint64 allreduce adds them without overflow.
 *
 * The join hashes (source, record_id) to 64 bits on both sides, sorts, and
 * compares the strings within each run of equal hashes, so a collision can
 * never join the wrong records; person strings are interned the same way.
 *
 * Distributed (ddw_eval_join_dist, ddw_evaluate_counts_dist).  Each rank
 * parses the truth records that start in its 1/P byte range (the CSV
 * automaton's state and the line number at the range start come from one
 * allgather of per-range transition maps and newline counts, as in
 * ingest.c), and holds a 1/P slice of the result's records.  Truth rows
 * and records travel to the rank owning hash(source, record_id), which
 * runs the serial join on what it holds; records arrive in global order
 * there, so each rank's first example of a fault is its smallest, and the
 * examples gathered from all ranks give exactly the serial report.  Joined
 * records then travel to the rank owning hash(person string), which
 * interns the strings (so a hash collision still cannot merge persons),
 * names each true person (rank << 32 | number) and sums the true side;
 * each record goes once more to the rank owning hash(found person) for
 * the found side; one uint64 allreduce adds the sums.  Trade-off: four
 * exchanges of every record (one of them with its strings) instead of one
 * rank holding everything, so memory per rank is O(N / P) plus the
 * biggest person, and the figures never depend on P.
 */
#include "ddw_evaluate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- fixed point ----------------------------------------------------------- */

ddw_eval_fix ddw_eval_term(uint64_t num, uint64_t den)
{
    uint64_t ip = num / den, rem = num % den;
    ddw_eval_fix v = (ddw_eval_fix)ip << 64;
    if (rem == 0)
        return v;
    if (den <= UINT32_MAX) { /* long division in base 2^32: two 64-bit divisions */
        uint64_t x = rem << 32;
        uint64_t hi = x / den;
        x = (x % den) << 32;
        return v | (ddw_eval_fix)(hi << 32 | x / den);
    }
    return v | ((ddw_eval_fix)rem << 64) / den;
}

double ddw_eval_fix_f64(ddw_eval_fix x) { return (double)x * 0x1p-64; }

static uint64_t choose2(uint64_t k) { return k * (k - (k > 0)) / 2; }

/* ---- one side of the contingency table ------------------------------------ */

/* Sums over the persons of one side (found or true); [p] is indexed by
 * ddw_eval_pair_index.  For p = (s, s) the sums are over persons holding
 * s; for p = (s, t), s < t, over persons holding both s and t. */
typedef struct {
    int S;
    size_t np;
    uint64_t *pairs;     /* (s,s): sum C(a_s,2)        (s,t): sum a_s a_t */
    uint64_t *tp;        /* the same over cells (identical on both sides) */
    uint64_t *persons;   /* persons holding s / holding both */
    uint64_t *multi;     /* (s,s): [m_s > 1]           (s,t): [cells holding s or t > 1] */
    uint64_t *multi_sub; /* (s,t): [m_s > 1] + [m_t > 1] */
    uint64_t *records;   /* [S] records of source s */
    uint64_t all_pairs, all_tp, all_persons, all_multi, all_records;
    ddw_eval_fix *bsum;  /* (s,s): q_s / a_s           (s,t): (q_s+q_t+2x_st) / (a_s+a_t) */
    ddw_eval_fix *bsub;  /* (s,t): q_s / a_s + q_t / a_t */
    ddw_eval_fix all_bsum; /* sum over persons of (sum over cells n_c^2) / a */
} side_sums;

static size_t npairs_of(int S) { return (size_t)S * (size_t)(S + 1) / 2; }

static void side_init(side_sums *sd, int S)
{
    size_t P = npairs_of(S);
    memset(sd, 0, sizeof *sd);
    sd->S = S;
    sd->np = P;
    sd->pairs = ddw_xcalloc(P, sizeof *sd->pairs);
    sd->tp = ddw_xcalloc(P, sizeof *sd->tp);
    sd->persons = ddw_xcalloc(P, sizeof *sd->persons);
    sd->multi = ddw_xcalloc(P, sizeof *sd->multi);
    sd->multi_sub = ddw_xcalloc(P, sizeof *sd->multi_sub);
    sd->records = ddw_xcalloc((size_t)S, sizeof *sd->records);
    sd->bsum = ddw_xcalloc(P, sizeof *sd->bsum);
    sd->bsub = ddw_xcalloc(P, sizeof *sd->bsub);
}

static void side_free(side_sums *sd)
{
    free(sd->pairs);
    free(sd->tp);
    free(sd->persons);
    free(sd->multi);
    free(sd->multi_sub);
    free(sd->records);
    free(sd->bsum);
    free(sd->bsub);
    memset(sd, 0, sizeof *sd);
}

/* Words one side takes in ddw_eval_sums: counts, then 128-bit sums as 4 limbs. */
static size_t side_nwords(int S)
{
    size_t np = npairs_of(S);
    return 5 * np + (size_t)S + 5 + 4 * (2 * np + 1);
}

static void io_u64(uint64_t *v, uint64_t *w, int add)
{
    if (add)
        *w += *v;
    else
        *v = *w;
}

/* add: w[0..4) += the 32-bit limbs of *v; else *v = the sum of the limbs
 * (each may exceed 32 bits after additions; the sum is taken mod 2^128). */
static void io_fix(ddw_eval_fix *v, uint64_t *w, int add)
{
    if (add) {
        for (int l = 0; l < 4; l++)
            w[l] += (uint64_t)(*v >> (32 * l)) & UINT32_MAX;
    } else {
        ddw_eval_fix x = 0;
        for (int l = 0; l < 4; l++)
            x += (ddw_eval_fix)w[l] << (32 * l);
        *v = x;
    }
}

/* add: w += sd; else sd = w (sd initialised).  One layout for both. */
static void side_io(side_sums *sd, uint64_t *w, int add)
{
    size_t k = 0, np = sd->np;
    uint64_t *cnt[5] = {sd->pairs, sd->tp, sd->persons, sd->multi, sd->multi_sub};
    for (int f = 0; f < 5; f++)
        for (size_t p = 0; p < np; p++)
            io_u64(&cnt[f][p], &w[k++], add);
    for (int s = 0; s < sd->S; s++)
        io_u64(&sd->records[s], &w[k++], add);
    uint64_t *all[5] = {&sd->all_pairs, &sd->all_tp, &sd->all_persons, &sd->all_multi,
                        &sd->all_records};
    for (int f = 0; f < 5; f++)
        io_u64(all[f], &w[k++], add);
    for (size_t p = 0; p < np; p++, k += 4)
        io_fix(&sd->bsum[p], &w[k], add);
    for (size_t p = 0; p < np; p++, k += 4)
        io_fix(&sd->bsub[p], &w[k], add);
    io_fix(&sd->all_bsum, &w[k], add);
}

/*
 * Scans records sorted by (person, other-side person), with src[] their
 * sources: a run of equal person is a person of this side, and within it a
 * run of equal other a cell.
 */
static void side_scan(const uint64_t *person, const uint64_t *other, const uint32_t *src,
                      size_t n, side_sums *sd)
{
    int S = sd->S;
    size_t SS = (size_t)S * (size_t)S;
    uint64_t *cnt = ddw_xcalloc((size_t)S, sizeof *cnt); /* current cell */
    uint64_t *a = ddw_xcalloc((size_t)S, sizeof *a);     /* current person: records */
    uint64_t *q = ddw_xcalloc((size_t)S, sizeof *q);     /* sum of n_c,s^2 */
    uint64_t *m = ddw_xcalloc((size_t)S, sizeof *m);     /* cells holding s */
    ddw_eval_fix *term = ddw_xcalloc((size_t)S, sizeof *term); /* q_s / a_s */
    uint64_t *x = ddw_xcalloc(SS, sizeof *x);            /* [s*S+t]: sum n_c,s n_c,t */
    uint64_t *mb = ddw_xcalloc(SS, sizeof *mb);          /* [s*S+t]: cells holding both */
    int *cell_src = ddw_xmalloc((size_t)S * sizeof *cell_src);
    int *per_src = ddw_xmalloc((size_t)S * sizeof *per_src);
    for (size_t k = 0; k < n;) {
        uint64_t id = person[k];
        uint64_t A = 0, Q = 0, cells = 0;
        int nper = 0;
        while (k < n && person[k] == id) {
            uint64_t cell = other[k], nc = 0;
            int ncell = 0;
            for (; k < n && person[k] == id && other[k] == cell; k++, nc++)
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
        sd->all_records += A;
        sd->all_bsum += ddw_eval_term(Q, A);
        for (int u = 0; u < nper; u++)
            term[per_src[u]] = ddw_eval_term(q[per_src[u]], a[per_src[u]]);
        for (int u = 0; u < nper; u++) {
            int s = per_src[u];
            int p = ddw_eval_pair_index(S, s, s);
            sd->records[s] += a[s];
            sd->pairs[p] += choose2(a[s]);
            sd->persons[p]++;
            sd->multi[p] += m[s] > 1;
            sd->bsum[p] += term[s];
            for (int w = u + 1; w < nper; w++) {
                int t = per_src[w], lo = s < t ? s : t, hi = s < t ? t : s;
                size_t st = (size_t)lo * S + hi;
                p = ddw_eval_pair_index(S, lo, hi);
                sd->pairs[p] += a[s] * a[t];
                sd->persons[p]++;
                sd->multi[p] += m[s] + m[t] - mb[st] > 1;
                sd->multi_sub[p] += (uint64_t)(m[lo] > 1) + (uint64_t)(m[hi] > 1);
                sd->bsum[p] += ddw_eval_term(q[s] + q[t] + 2 * x[st], a[s] + a[t]);
                sd->bsub[p] += term[s] + term[t];
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
    free(term);
    free(x);
    free(mb);
    free(cell_src);
    free(per_src);
}

static double ratio(uint64_t num, uint64_t den) { return den ? (double)num / (double)den : 1.0; }

static double f1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

void ddw_eval_finish(ddw_eval_metrics *m, ddw_eval_fix bprec_sum, ddw_eval_fix brec_sum)
{
    m->pair_precision = ratio(m->true_positive_pairs, m->found_pairs);
    m->pair_recall = ratio(m->true_positive_pairs, m->true_pairs);
    m->pair_f1 = f1(m->pair_precision, m->pair_recall);
    m->bcubed_precision = m->records ? ddw_eval_fix_f64(bprec_sum / m->records) : 1.0;
    m->bcubed_recall = m->records ? ddw_eval_fix_f64(brec_sum / m->records) : 1.0;
    m->bcubed_f1 = f1(m->bcubed_precision, m->bcubed_recall);
}

/* ---- partial sums ------------------------------------------------------------ */

ddw_status ddw_eval_sums_init(ddw_eval_sums *s, int nsources)
{
    memset(s, 0, sizeof *s);
    if (nsources < 1 || nsources > DDW_MAX_SOURCES)
        return DDW_ERANGE;
    s->nsources = nsources;
    s->nwords = 2 * side_nwords(nsources);
    s->word = ddw_xcalloc(s->nwords, sizeof *s->word);
    return DDW_OK;
}

void ddw_eval_sums_free(ddw_eval_sums *s)
{
    if (s == NULL)
        return;
    free(s->word);
    memset(s, 0, sizeof *s);
}

ddw_status ddw_eval_sums_add(ddw_eval_sums *s, int side, size_t n, const uint64_t *person,
                             const uint64_t *other, const int32_t *source)
{
    int S = s->nsources;
    if ((side != DDW_EVAL_FOUND && side != DDW_EVAL_TRUE) || (uint64_t)n > UINT32_MAX)
        return DDW_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (source[i] < 0 || source[i] >= S)
            return DDW_EINVAL;
    /* by person (radix sort), then each person's records by other-side person */
    uint64_t *pk = ddw_xmalloc((n ? n : 1) * sizeof *pk);
    uint32_t *ix = ddw_xmalloc((n ? n : 1) * sizeof *ix);
    if (n)
        memcpy(pk, person, n * sizeof *pk);
    for (size_t i = 0; i < n; i++)
        ix[i] = (uint32_t)i;
    ddw_radix_sort_u64(pk, ix, n);
    uint64_t *ok = ddw_xmalloc((n ? n : 1) * sizeof *ok);
    uint32_t *src = ix; /* overwritten in place: ix[k] is read before src[k] is written */
    for (size_t k = 0; k < n; k++) {
        uint32_t i = ix[k];
        ok[k] = other[i];
        src[k] = (uint32_t)source[i];
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && pk[j] == pk[i])
            j++;
        if (j - i > 32) {
            ddw_radix_sort_u64(ok + i, src + i, j - i);
        } else {
            for (size_t a = i + 1; a < j; a++) /* insertion sort: persons are small */
                for (size_t b = a; b > i && ok[b - 1] > ok[b]; b--) {
                    uint64_t tk = ok[b];
                    ok[b] = ok[b - 1];
                    ok[b - 1] = tk;
                    uint32_t tv = src[b];
                    src[b] = src[b - 1];
                    src[b - 1] = tv;
                }
        }
        i = j;
    }
    side_sums sd;
    side_init(&sd, S);
    side_scan(pk, ok, src, n, &sd);
    side_io(&sd, s->word + (size_t)side * side_nwords(S), 1);
    side_free(&sd);
    free(pk);
    free(ok);
    free(ix);
    return DDW_OK;
}

void ddw_eval_sums_merge(ddw_eval_sums *into, const ddw_eval_sums *from)
{
    for (size_t k = 0; k < into->nwords && k < from->nwords; k++)
        into->word[k] += from->word[k];
}

ddw_status ddw_eval_sums_finish(const ddw_eval_sums *s, ddw_eval_result *out)
{
    memset(out, 0, sizeof *out);
    int S = s->nsources;
    side_sums fs, ts;
    side_init(&fs, S);
    side_init(&ts, S);
    side_io(&fs, s->word, 0);
    side_io(&ts, s->word + side_nwords(S), 0);
    if (fs.all_records != ts.all_records ||
        memcmp(fs.records, ts.records, (size_t)S * sizeof *fs.records) != 0) {
        side_free(&fs);
        side_free(&ts);
        return DDW_EINVAL;
    }
    out->nsources = S;
    out->npairs = S * (S + 1) / 2;
    out->pair = ddw_xcalloc((size_t)out->npairs, sizeof *out->pair);
    ddw_eval_metrics *m = &out->all;
    m->records = fs.all_records;
    m->found_pairs = fs.all_pairs;
    m->true_pairs = ts.all_pairs;
    m->true_positive_pairs = fs.all_tp;
    m->persons_found = fs.all_persons;
    m->persons_true = ts.all_persons;
    m->found_persons_merged = fs.all_multi;
    m->true_persons_split = ts.all_multi;
    ddw_eval_finish(m, fs.all_bsum, ts.all_bsum);
    for (int s1 = 0; s1 < S; s1++)
        for (int t = s1; t < S; t++) {
            int p = ddw_eval_pair_index(S, s1, t);
            m = &out->pair[p];
            m->found_pairs = fs.pairs[p];
            m->true_pairs = ts.pairs[p];
            m->true_positive_pairs = fs.tp[p];
            if (s1 == t) {
                m->records = fs.records[s1];
                m->persons_found = fs.persons[p];
                m->persons_true = ts.persons[p];
                m->found_persons_merged = fs.multi[p];
                m->true_persons_split = ts.multi[p];
                ddw_eval_finish(m, fs.bsum[p], ts.bsum[p]);
                continue;
            }
            /* persons holding only one of s, t count as they do for it alone */
            int ps = ddw_eval_pair_index(S, s1, s1), pt = ddw_eval_pair_index(S, t, t);
            m->records = fs.records[s1] + fs.records[t];
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

ddw_status ddw_evaluate_counts(size_t n, const uint64_t *found, const uint64_t *truth,
                               const int32_t *source, int nsources, ddw_eval_result *out)
{
    memset(out, 0, sizeof *out);
    if (nsources < 1 || nsources > DDW_MAX_SOURCES || (uint64_t)n > UINT32_MAX)
        return DDW_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (source[i] < 0 || source[i] >= nsources)
            return DDW_EINVAL;
    ddw_eval_sums s;
    ddw_eval_sums_init(&s, nsources);
    ddw_eval_sums_add(&s, DDW_EVAL_FOUND, n, found, truth, source);
    ddw_eval_sums_add(&s, DDW_EVAL_TRUE, n, truth, found, source);
    ddw_status rc = ddw_eval_sums_finish(&s, out);
    ddw_eval_sums_free(&s);
    return rc;
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

/* Distinct source names of truth rows that name no source of the result. */
typedef struct {
    char *name; /* NUL-terminated copy */
    size_t len;
    uint64_t count, first_line;
} unk_ent;

typedef struct {
    unk_ent *e;
    size_t n, cap;
    uint32_t *slot; /* open addressing: entry index + 1, 0 = empty */
    size_t nslot;
    uint64_t rows;  /* rows naming any unknown source */
} unk_table;

static uint64_t unk_hash(const char *name, size_t len) { return ddw_hash64(name, len, 0x756e6b); }

static unk_ent *unk_find(const unk_table *u, const char *name, size_t len)
{
    if (u->nslot == 0)
        return NULL;
    for (size_t h = (size_t)unk_hash(name, len) & (u->nslot - 1);; h = (h + 1) & (u->nslot - 1)) {
        uint32_t k = u->slot[h];
        if (k == 0)
            return NULL;
        unk_ent *e = &u->e[k - 1];
        if (e->len == len && memcmp(e->name, name, len) == 0)
            return e;
    }
}

static void unk_insert_slot(unk_table *u, size_t idx)
{
    const unk_ent *e = &u->e[idx];
    size_t h = (size_t)unk_hash(e->name, e->len) & (u->nslot - 1);
    while (u->slot[h])
        h = (h + 1) & (u->nslot - 1);
    u->slot[h] = (uint32_t)idx + 1;
}

static void unk_add(unk_table *u, const char *name, size_t len, uint64_t line)
{
    u->rows++;
    unk_ent *e = unk_find(u, name, len);
    if (e) {
        e->count++;
        return;
    }
    ddw_xgrow((void **)&u->e, &u->cap, u->n + 1, sizeof *u->e);
    e = &u->e[u->n++];
    e->name = ddw_xmalloc(len + 1);
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->len = len;
    e->count = 1;
    e->first_line = line;
    if (2 * u->n > u->nslot) { /* keep the load at most 1/2 */
        free(u->slot);
        u->nslot = u->nslot ? 2 * u->nslot : 16;
        u->slot = ddw_xcalloc(u->nslot, sizeof *u->slot);
        for (size_t i = 0; i < u->n; i++)
            unk_insert_slot(u, i);
    } else {
        unk_insert_slot(u, u->n - 1);
    }
}

static void unk_free(unk_table *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->e[i].name);
    free(u->e);
    free(u->slot);
    memset(u, 0, sizeof *u);
}

static int cmp_unk_line(const void *a, const void *b)
{
    const unk_ent *x = a, *y = b;
    return x->first_line < y->first_line ? -1 : x->first_line > y->first_line;
}

/* What the report says about unknown sources: the first MAX_UNKNOWN
 * distinct names (by first line) one by one, then the rows of all others. */
typedef struct {
    int n;
    char *name[MAX_UNKNOWN];
    uint64_t count[MAX_UNKNOWN], first_line[MAX_UNKNOWN];
    uint64_t other, other_line; /* rows naming further unknown sources; the first's line */
} unknown_report;

static void unknown_report_free(unknown_report *r)
{
    for (int k = 0; k < r->n; k++)
        free(r->name[k]);
    memset(r, 0, sizeof *r);
}

/* The report of one table holding every unknown row (sorts u's entries by line). */
static void unknown_local(unk_table *u, unknown_report *r)
{
    memset(r, 0, sizeof *r);
    qsort(u->e, u->n, sizeof *u->e, cmp_unk_line); /* the slots are stale from here */
    free(u->slot);
    u->slot = NULL;
    u->nslot = 0;
    for (size_t i = 0; i < u->n; i++) {
        if (i < MAX_UNKNOWN) {
            r->name[r->n] = ddw_xstrdup(u->e[i].name);
            r->count[r->n] = u->e[i].count;
            r->first_line[r->n++] = u->e[i].first_line;
        } else {
            if (r->other == 0)
                r->other_line = u->e[i].first_line;
            r->other += u->e[i].count;
        }
    }
}

/* Truth rows of known sources: record_id at arena + off, its person right after. */
typedef struct {
    size_t n, cap;
    int32_t *src;
    uint64_t *off;
    uint32_t *rid_len, *per_len;
    uint64_t *line;
    char *arena;
    size_t alen, acap;
    uint64_t rows;  /* data rows read, of known and unknown sources */
    unk_table unk;
} truth_rows;

static void truth_free(truth_rows *t)
{
    free(t->src);
    free(t->off);
    free(t->rid_len);
    free(t->per_len);
    free(t->line);
    free(t->arena);
    unk_free(&t->unk);
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

static void truth_reserve(truth_rows *t, size_t need)
{
    if (need <= t->cap)
        return;
    size_t c = t->cap;
    ddw_xgrow((void **)&t->src, &c, need, sizeof *t->src);
    t->off = ddw_xrealloc(t->off, c * sizeof *t->off);
    t->rid_len = ddw_xrealloc(t->rid_len, c * sizeof *t->rid_len);
    t->per_len = ddw_xrealloc(t->per_len, c * sizeof *t->per_len);
    t->line = ddw_xrealloc(t->line, c * sizeof *t->line);
    t->cap = c;
}

static void add_row(truth_rows *t, int32_t s, const char *rid, size_t rlen, const char *per,
                    size_t plen, uint64_t line)
{
    truth_reserve(t, t->n + 1);
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

/* Scratch space for splitting records into fields. */
typedef struct {
    char *scratch;
    size_t scap;
    ddw_csv_field *fields;
    int fcap;
} splitter;

static void splitter_init(splitter *sp)
{
    sp->scratch = NULL;
    sp->scap = 0;
    sp->fcap = 16;
    sp->fields = ddw_xmalloc((size_t)sp->fcap * sizeof *sp->fields);
}

static void splitter_free(splitter *sp)
{
    free(sp->scratch);
    free(sp->fields);
    memset(sp, 0, sizeof *sp);
}

/* Splits rec into sp->fields (grown as needed); returns the status of the split. */
static ddw_status split_record(splitter *sp, const char *rec, size_t len, int *nf)
{
    ddw_xgrow((void **)&sp->scratch, &sp->scap, len + 1, 1);
    ddw_status rc = ddw_csv_split(rec, len, sp->scratch, sp->scap, sp->fields, sp->fcap, nf);
    if (rc == DDW_OK && *nf > sp->fcap) {
        sp->fcap = *nf;
        sp->fields = ddw_xrealloc(sp->fields, (size_t)sp->fcap * sizeof *sp->fields);
        rc = ddw_csv_split(rec, len, sp->scratch, sp->scap, sp->fields, sp->fcap, nf);
    }
    return rc;
}

/* Where the truth's columns are. */
typedef struct {
    int ncols, c_src, c_rid, c_per;
} truth_header;

/* Reads the header record r[0..rlen) (line 1); unterminated: it runs to the
 * end of the file inside a quoted field. */
static ddw_status parse_header(const char *label, const char *r, size_t rlen, int unterminated,
                               splitter *sp, FILE *err, truth_header *h)
{
    if (unterminated) {
        report(err, "%s line 1: unterminated quoted field at end of file", label);
        return DDW_ECSV;
    }
    int nf = 0;
    ddw_status rc = split_record(sp, r, rlen, &nf);
    if (rc != DDW_OK) {
        report(err, "%s line 1: %s", label, ddw_strerror(rc));
        return DDW_ECSV;
    }
    int c_src = -1, c_rid = -1, c_per = -1, c_pid = -1;
    for (int c = nf - 1; c >= 0; c--) {
        if (field_is(&sp->fields[c], "source")) c_src = c;
        if (field_is(&sp->fields[c], "record_id")) c_rid = c;
        if (field_is(&sp->fields[c], "person")) c_per = c;
        if (field_is(&sp->fields[c], "person_id")) c_pid = c;
    }
    if (c_per < 0)
        c_per = c_pid;
    if (c_src < 0 || c_rid < 0 || c_per < 0) {
        report(err, "%s line 1: the header has no column '%s' (it needs source, "
                    "record_id and person or person_id)", label,
               c_src < 0 ? "source" : c_rid < 0 ? "record_id" : "person");
        return DDW_ECSV;
    }
    *h = (truth_header){nf, c_src, c_rid, c_per};
    return DDW_OK;
}

/* Reads one non-blank data record r[0..rlen) that starts on 'line' into t
 * (or counts its unknown source); *last is the source of the previous row. */
static ddw_status parse_row(const char *label, const truth_header *h, const char *const *names,
                            int S, const char *r, size_t rlen, int unterminated, uint64_t line,
                            splitter *sp, int *last, truth_rows *t, FILE *err)
{
    if (unterminated) {
        report(err, "%s line %llu: unterminated quoted field at end of file", label,
               (unsigned long long)line);
        return DDW_ECSV;
    }
    int nf = 0;
    ddw_status rc = split_record(sp, r, rlen, &nf);
    if (rc != DDW_OK) {
        report(err, "%s line %llu: %s", label, (unsigned long long)line, ddw_strerror(rc));
        return DDW_ECSV;
    }
    if (nf != h->ncols) {
        report(err, "%s line %llu: %d field%s, but the header has %d", label,
               (unsigned long long)line, nf, nf == 1 ? "" : "s", h->ncols);
        return DDW_ECSV;
    }
    if (++t->rows > UINT32_MAX) {
        report(err, "%s: more than %u rows", label, (unsigned)UINT32_MAX);
        return DDW_ERANGE;
    }
    const ddw_csv_field *f = sp->fields;
    size_t sl = f[h->c_src].len, il = f[h->c_rid].len;
    const char *sname = trim(f[h->c_src].ptr, &sl), *rid = trim(f[h->c_rid].ptr, &il);
    int s = -1;
    for (int k = 0; k < S && s < 0; k++) {
        int cand = (*last + k) % S; /* rows of one source usually come together */
        if (strlen(names[cand]) == sl && memcmp(names[cand], sname, sl) == 0)
            s = cand;
    }
    if (s < 0) {
        unk_add(&t->unk, sname, sl, line);
        return DDW_OK;
    }
    *last = s;
    add_row(t, s, rid, il, f[h->c_per].ptr, f[h->c_per].len, line);
    return DDW_OK;
}

/* Reads the header and every data row of the truth into t. */
static ddw_status parse_truth(const char *label, const char *text, size_t len,
                              const ddw_eval_records *rec, FILE *err, truth_rows *t)
{
    const char *p = text + ddw_csv_skip_bom(text, len), *end = text + len;
    if (p >= end) {
        report(err, "%s line 1: empty file, no header row", label);
        return DDW_ECSV;
    }
    splitter sp;
    splitter_init(&sp);
    truth_header h;
    int state = DDW_CSV_S_START, last = 0;
    const char *e = ddw_csv_record_end(p, end, &state);
    size_t rlen = e ? (size_t)(e - p) : (size_t)(end - p);
    uint64_t q = 0, nl = 0;
    ddw_csv_count(p, rlen, &q, &nl);
    uint64_t line = 1 + nl + 1;
    ddw_status rc = parse_header(label, p, rlen, e == NULL && state == DDW_CSV_S_QUOTED, &sp,
                                 err, &h);
    p = e ? e + 1 : end;
    while (rc == DDW_OK && p < end) {
        state = DDW_CSV_S_START;
        e = ddw_csv_record_end(p, end, &state);
        rlen = e ? (size_t)(e - p) : (size_t)(end - p);
        nl = 0;
        ddw_csv_count(p, rlen, &q, &nl);
        uint64_t here = line;
        line += nl + 1;
        const char *r = p;
        p = e ? e + 1 : end;
        size_t blank = rlen;
        if (blank && r[blank - 1] == '\r')
            blank--;
        if (blank == 0)
            continue;
        rc = parse_row(label, &h, rec->source_name, rec->nsources, r, rlen,
                       e == NULL && state == DDW_CSV_S_QUOTED, here, &sp, &last, t, err);
    }
    splitter_free(&sp);
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

/* Matches result records to truth rows: match[i] = the truth row of record
 * i.  Returns the faults per source and kind ([S * K_N], caller frees). */
static join_fault *join(const truth_rows *t, const ddw_eval_records *rec, uint32_t *match)
{
    size_t nt = t->n, nr = rec->n;
    uint64_t *tk = ddw_xmalloc((nt ? nt : 1) * sizeof *tk);
    uint64_t *rk = ddw_xmalloc((nr ? nr : 1) * sizeof *rk);
    uint32_t *tv = ddw_xmalloc((nt ? nt : 1) * sizeof *tv);
    uint32_t *rv = ddw_xmalloc((nr ? nr : 1) * sizeof *rv);
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
    free(ent);
    free(tk);
    free(rk);
    free(tv);
    free(rv);
    return faults;
}

/* A fault's count and its first example, independent of where it was found. */
typedef struct {
    uint64_t count;
    uint64_t key;        /* the example's order: truth line, or result record index */
    uint64_t line, orig; /* truth examples: the line, and (K_DUP_TRUTH) the first row's */
    char *rid;           /* the example's record_id (rid_len bytes, owned) */
    uint32_t rid_len;
} fault_ex;

static void fault_ex_free(fault_ex *x, size_t n)
{
    for (size_t k = 0; x && k < n; k++)
        free(x[k].rid);
    free(x);
}

static void set_example(fault_ex *x, uint64_t key, uint64_t line, uint64_t orig,
                        const char *rid, size_t len)
{
    free(x->rid);
    x->key = key;
    x->line = line;
    x->orig = orig;
    x->rid = ddw_xmalloc(len + 1);
    memcpy(x->rid, rid, len);
    x->rid[len] = '\0';
    x->rid_len = (uint32_t)len;
}

/* The faults of one join with their examples ([S * K_N], free with
 * fault_ex_free); gidx[i] is record i's index in the result (NULL: i). */
static fault_ex *fault_examples(const join_fault *f, const truth_rows *t,
                                const ddw_eval_records *rec, const uint64_t *gidx)
{
    size_t nk = (size_t)rec->nsources * K_N;
    fault_ex *x = ddw_xcalloc(nk, sizeof *x);
    for (size_t k = 0; k < nk; k++) {
        if (f[k].count == 0)
            continue;
        int kind = (int)(k % K_N);
        uint32_t i = f[k].first;
        x[k].count = f[k].count;
        if (kind == K_DUP_TRUTH || kind == K_NOT_IN_RESULT)
            set_example(&x[k], t->line[i], t->line[i], kind == K_DUP_TRUTH ? t->line[f[k].orig] : 0,
                        t->arena + t->off[i], t->rid_len[i]);
        else
            set_example(&x[k], gidx ? gidx[i] : i, 0, 0, rec->record_id + (size_t)i * rec->id_width,
                        result_len(rec, i));
    }
    return x;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Prints every fault and adds them to *st; returns nonzero if there was one. */
static int report_faults(const char *label, const char *const *names, int S,
                         const unknown_report *u, const fault_ex *faults, FILE *err,
                         ddw_eval_join_stats *st)
{
    int any = 0;
    for (int k = 0; k < u->n; k++) {
        any = 1;
        if (err == NULL)
            continue;
        fprintf(err, "evaluate: error: %llu row%s of %s name%s source '%s', which is not in "
                     "the result (its sources:", (unsigned long long)u->count[k],
                plural(u->count[k], "", "s"), label, plural(u->count[k], "s", ""), u->name[k]);
        for (int s = 0; s < S; s++)
            fprintf(err, "%s '%s'", s ? "," : "", names[s]);
        fprintf(err, "); first on line %llu\n", (unsigned long long)u->first_line[k]);
    }
    if (u->other) {
        any = 1;
        report(err, "%llu more row%s of %s name%s further unknown sources; first on line %llu",
               (unsigned long long)u->other, plural(u->other, "", "s"), label,
               plural(u->other, "s", ""), (unsigned long long)u->other_line);
    }
    for (int kind = 0; kind < K_N; kind++)
        for (int s = 0; s < S; s++) {
            const fault_ex *f = &faults[(size_t)s * K_N + kind];
            if (f->count == 0)
                continue;
            any = 1;
            unsigned long long cnt = (unsigned long long)f->count;
            const char *name = names[s];
            int rl = (int)f->rid_len;
            if (kind == K_DUP_TRUTH) {
                st->dup_truth += f->count;
                report(err, "%llu row%s of %s for source '%s' repeat%s the record_id of an "
                            "earlier row; first: record_id %.*s (line %llu, first on line "
                            "%llu)", cnt, plural(cnt, "", "s"), label, name,
                       plural(cnt, "s", ""), rl, f->rid, (unsigned long long)f->line,
                       (unsigned long long)f->orig);
            } else if (kind == K_NOT_IN_RESULT) {
                st->not_in_result += f->count;
                report(err, "%llu record%s of source '%s' %s in %s but not in the result; "
                            "first: record_id %.*s (line %llu)", cnt, plural(cnt, "", "s"),
                       name, plural(cnt, "is", "are"), label, rl, f->rid,
                       (unsigned long long)f->line);
            } else if (kind == K_DUP_RESULT) {
                st->dup_result += f->count;
                report(err, "%llu record%s of source '%s' in the result repeat%s the "
                            "record_id of an earlier record; first: record_id %.*s",
                       cnt, plural(cnt, "", "s"), name, plural(cnt, "s", ""), rl, f->rid);
            } else {
                st->not_in_truth += f->count;
                report(err, "%llu record%s of source '%s' %s in the result but not in %s; "
                            "first: record_id %.*s", cnt, plural(cnt, "", "s"), name,
                       plural(cnt, "is", "are"), label, rl, f->rid);
            }
        }
    return any;
}

/* Strings base + off[i] + (skip ? skip[i] : 0), len[i] bytes long. */
typedef struct {
    const char *base;
    const uint64_t *off;
    const uint32_t *skip;
    const uint32_t *len;
} str_view;

static const char *str_at(const str_view *v, uint32_t i, size_t *len)
{
    *len = v->len[i];
    return v->base + v->off[i] + (v->skip ? v->skip[i] : 0);
}

static int cmp_str(const void *a, const void *b, void *ctx)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t lx, ly;
    const char *px = str_at(ctx, x, &lx), *py = str_at(ctx, y, &ly);
    int d = memcmp(px, py, lx < ly ? lx : ly);
    if (d)
        return d;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

static uint64_t person_hash(const char *p, size_t len) { return ddw_hash64(p, len, 0x7065); }

/* id[i] = dense number of string i of v (n strings); returns the count. */
static uint64_t intern(const str_view *v, size_t n, uint32_t *id)
{
    uint64_t *k = ddw_xmalloc((n ? n : 1) * sizeof *k);
    uint32_t *o = ddw_xmalloc((n ? n : 1) * sizeof *o);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = str_at(v, (uint32_t)i, &len);
        k[i] = person_hash(p, len);
        o[i] = (uint32_t)i;
    }
    ddw_radix_sort_u64(k, o, n);
    uint64_t next = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && k[j] == k[i])
            j++;
        int mixed = 0; /* a hash collision: order the run by string */
        for (size_t r = i + 1; r < j && !mixed; r++) {
            size_t la, lb;
            const char *pa = str_at(v, o[i], &la), *pb = str_at(v, o[r], &lb);
            mixed = la != lb || memcmp(pa, pb, la) != 0;
        }
        if (mixed)
            qsort_r(o + i, j - i, sizeof *o, cmp_str, (void *)v);
        for (size_t r = i; r < j; r++) {
            if (r > i) {
                size_t la, lb;
                const char *pa = str_at(v, o[r - 1], &la), *pb = str_at(v, o[r], &lb);
                if (la != lb || memcmp(pa, pb, la) != 0)
                    next++;
            }
            id[o[r]] = (uint32_t)next;
        }
        next++;
        i = j;
    }
    free(k);
    free(o);
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
    ddw_status rc = parse_truth(label, text, len, rec, err, &t);
    st->truth_rows = t.rows;
    st->unknown_source = t.unk.rows;
    if (rc != DDW_OK)
        goto fail_parse;
    uint32_t *match = ddw_xmalloc((rec->n ? rec->n : 1) * sizeof *match);
    join_fault *f = join(&t, rec, match);
    fault_ex *x = fault_examples(f, &t, rec, NULL);
    unknown_report u;
    unknown_local(&t.unk, &u);
    if (report_faults(label, rec->source_name, rec->nsources, &u, x, err, st)) {
        rc = DDW_EINVAL;
    } else {
        uint32_t *pid = ddw_xmalloc((t.n ? t.n : 1) * sizeof *pid);
        str_view v = {t.arena, t.off, t.rid_len, t.per_len};
        st->persons = intern(&v, t.n, pid);
        for (size_t i = 0; i < rec->n; i++)
            truth_id[i] = pid[match[i]];
        free(pid);
    }
    unknown_report_free(&u);
    fault_ex_free(x, (size_t)rec->nsources * K_N);
    free(f);
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

/* ---- distributed ----------------------------------------------------------- */

/* The rank owning 64-bit hash h among P: by its high bits. */
static int owner(uint64_t h, int P) { return (int)(((h >> 32) * (uint64_t)P) >> 32); }

/* Bytes for each rank, written in rank order: count first (outbox_count),
 * then outbox_open, then outbox_put in the same order per rank. */
typedef struct {
    int P;
    uint64_t *count, *pos;
    char *buf;
} outbox;

static void outbox_init(outbox *o, int P)
{
    o->P = P;
    o->count = ddw_xcalloc((size_t)P, sizeof *o->count);
    o->pos = ddw_xcalloc((size_t)P, sizeof *o->pos);
    o->buf = NULL;
}

static void outbox_open(outbox *o)
{
    uint64_t total = 0;
    for (int r = 0; r < o->P; r++) {
        o->pos[r] = total;
        total += o->count[r];
    }
    o->buf = ddw_xmalloc(total ? (size_t)total : 1);
}

static char *outbox_put(outbox *o, int dest, size_t bytes)
{
    char *p = o->buf + o->pos[dest];
    o->pos[dest] += bytes;
    return p;
}

/* Sends everything; returns what this rank receives (caller frees), in rank order. */
static char *outbox_send(outbox *o, const ddw_comm *c, uint64_t *total)
{
    uint64_t *rc = ddw_xmalloc((size_t)o->P * sizeof *rc);
    void *rb = NULL;
    ddw_comm_alltoallv(c, o->buf, o->count, &rb, rc, total);
    free(rc);
    free(o->buf);
    free(o->count);
    free(o->pos);
    memset(o, 0, sizeof *o);
    return rb;
}

/* Packing into and out of exchange buffers (unaligned, native byte order). */
static void put_bytes(char **p, const void *b, size_t n)
{
    if (n)
        memcpy(*p, b, n);
    *p += n;
}

static void put_u32(char **p, uint32_t v) { put_bytes(p, &v, sizeof v); }
static void put_u64(char **p, uint64_t v) { put_bytes(p, &v, sizeof v); }

static uint32_t get_u32(const char **p)
{
    uint32_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}

static uint64_t get_u64(const char **p)
{
    uint64_t v;
    memcpy(&v, *p, sizeof v);
    *p += sizeof v;
    return v;
}

/*
 * Of the messages offered by the ranks (key UINT64_MAX: none), prints the
 * one with the smallest key (then rank) on err and returns its status, the
 * same on every rank; DDW_OK if no rank offered one.  Collective.
 */
static ddw_status relay_first(const ddw_comm *c, FILE *err, uint64_t key, const char *msg,
                              ddw_status rc)
{
    int P = ddw_comm_size(c);
    uint64_t mine[2] = {key, (uint64_t)(int64_t)rc};
    uint64_t *all = ddw_xmalloc((size_t)P * 2 * sizeof *all);
    ddw_comm_allgather_u64(c, mine, 2, all);
    int win = -1;
    for (int r = 0; r < P; r++)
        if (all[2 * r] != UINT64_MAX && (win < 0 || all[2 * r] < all[2 * win]))
            win = r;
    ddw_status out = DDW_OK;
    if (win >= 0) {
        out = (ddw_status)(int64_t)all[2 * win + 1];
        char *s = ddw_comm_rank(c) == win ? ddw_xstrdup(msg ? msg : "") : NULL;
        ddw_comm_bcast_str(c, &s, win);
        if (err)
            fputs(s, err);
        free(s);
    }
    free(all);
    return out;
}

/* A byte window of the truth file that can be extended forwards. */
typedef ddw_window window;

/* Reads up to 'more' further bytes into the window; returns bytes added. */
static size_t window_extend(window *w, size_t more) { return ddw_window_read(w, more); }

/* Extends w until a record that started in state *state at w->buf + from
 * ends; returns its end (NULL: it runs to the end of the file). */
static const char *window_record_end(window *w, size_t from, int *state)
{
    const char *e = ddw_csv_record_end(w->buf + from, w->buf + w->len, state);
    while (e == NULL) {
        size_t old = w->len;
        if (window_extend(w, 1 << 20) == 0)
            break;
        e = ddw_csv_record_end(w->buf + old, w->buf + w->len, state);
    }
    return e;
}

/*
 * Reads the header (every rank) and the truth records starting in this
 * rank's byte range into t.  Every error is reported once, on err: the one
 * on the smallest line wins, as it would for one reader.  Collective.
 */
static ddw_status dist_parse(const ddw_comm *c, const char *label, const char *const *names,
                             int S, FILE *err, truth_rows *t)
{
    int P = ddw_comm_size(c), me = ddw_comm_rank(c);
    window w;
    memset(&w, 0, sizeof w);
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    w.fd = open(label, O_RDONLY);
    w.what = "truth file";
    int e = 0;
    if (w.fd < 0 || fstat(w.fd, &sb) != 0)
        e = errno;
    else if (S_ISDIR(sb.st_mode))
        e = EISDIR;
    char *msg = NULL;
    size_t mlen = 0;
    FILE *mine = open_memstream(&msg, &mlen);
    if (e)
        report(mine, "cannot open truth file '%s': %s", label, strerror(e));
    fflush(mine);
    ddw_status rc = relay_first(c, err, e ? 0 : UINT64_MAX, msg, DDW_EIO);
    if (rc != DDW_OK)
        goto done;
    w.fsize = (uint64_t)sb.st_size;
    window_extend(&w, 1 << 16);
    /* the header: every rank reads it, finds the same and lets rank 0 speak */
    size_t bom = ddw_csv_skip_bom(w.buf, w.len);
    if (bom >= w.len) {
        report(err, "%s line 1: empty file, no header row", label);
        rc = DDW_ECSV;
        goto done;
    }
    int state = DDW_CSV_S_START;
    const char *he = window_record_end(&w, bom, &state);
    size_t hlen = he ? (size_t)(he - (w.buf + bom)) : w.len - bom;
    splitter sp;
    splitter_init(&sp);
    truth_header h;
    rc = parse_header(label, w.buf + bom, hlen, he == NULL && state == DDW_CSV_S_QUOTED, &sp,
                      err, &h);
    uint64_t data_start = he ? (uint64_t)(he - w.buf) + 1 : w.fsize, q = 0, nl0 = 0;
    ddw_csv_count(w.buf, (size_t)data_start, &q, &nl0);
    if (rc != DDW_OK) {
        splitter_free(&sp);
        goto done;
    }
    /* this rank's range, and the automaton state and line number at its start */
    uint64_t D = w.fsize - data_start;
    uint64_t lo = data_start + (uint64_t)((unsigned __int128)D * (unsigned)me / (unsigned)P);
    uint64_t hi = data_start + (uint64_t)((unsigned __int128)D * (unsigned)(me + 1) / (unsigned)P);
    uint64_t pre = lo > data_start ? 1 : 0;
    w.base = lo - pre;
    w.len = 0;
    window_extend(&w, (size_t)(hi - lo + pre));
    uint64_t cnt[2] = {0, 0};
    uint8_t map[4] = {0, 1, 2, 3};
    if (me < P - 1) /* only later ranks need them */
        ddw_csv_transitions(w.buf + pre, (size_t)(hi - lo), map);
    ddw_csv_count(w.buf + pre, (size_t)(hi - lo), &q, &cnt[1]);
    cnt[0] = (uint64_t)map[0] | (uint64_t)map[1] << 8 | (uint64_t)map[2] << 16 |
             (uint64_t)map[3] << 24;
    uint64_t *all = ddw_xmalloc((size_t)P * 2 * sizeof *all);
    ddw_comm_allgather_u64(c, cnt, 2, all);
    state = DDW_CSV_S_START;
    uint64_t nlo = 0;
    for (int k = 0; k < me; k++) {
        state = (int)((all[2 * k] >> (8 * state)) & 0xff);
        nlo += all[2 * k + 1];
    }
    free(all);
    /* the first record starting in [lo, hi): lo if the byte before ended a record */
    uint64_t start = lo;
    if (pre && !(w.buf[0] == '\n' && state == DDW_CSV_S_START)) {
        const char *re = ddw_csv_record_end(w.buf + pre, w.buf + w.len, &state);
        start = re ? w.base + (uint64_t)(re - w.buf) + 1 : hi;
    }
    truth_reserve(t, (size_t)cnt[1] + 1); /* rows <= records starting here <= newlines + 1 */
    ddw_xgrow((void **)&t->arena, &t->acap, (size_t)(hi - lo) + 1, 1);
    uint64_t line = 0;
    ddw_csv_count(w.buf + pre, (size_t)(start - lo), &q, &line);
    line += 1 + nl0 + nlo;
    int last = 0;
    uint64_t bad_line = UINT64_MAX;
    ddw_status bad = DDW_OK;
    while (start < hi) {
        int st = DDW_CSV_S_START;
        size_t from = (size_t)(start - w.base);
        const char *re = window_record_end(&w, from, &st);
        const char *r = w.buf + from;
        size_t rlen = re ? (size_t)(re - r) : w.len - from;
        uint64_t nl = 0;
        ddw_csv_count(r, rlen, &q, &nl);
        size_t blank = rlen;
        if (blank && r[blank - 1] == '\r')
            blank--;
        if (blank > 0) {
            bad = parse_row(label, &h, names, S, r, rlen, re == NULL && st == DDW_CSV_S_QUOTED,
                            line, &sp, &last, t, mine);
            if (bad != DDW_OK) {
                bad_line = line;
                break;
            }
        }
        line += nl + 1;
        start += rlen + 1;
    }
    splitter_free(&sp);
    fflush(mine);
    rc = relay_first(c, err, bad_line, msg, bad);
done:
    fclose(mine);
    free(msg);
    free(w.buf);
    if (w.fd >= 0)
        close(w.fd);
    return rc;
}

/* Sends each truth row of t to the rank owning its key, freeing t's rows
 * before the exchange (its unknown-source table stays); *out gets what
 * arrives (in sender order, so in line order). */
static void route_truth(const ddw_comm *c, truth_rows *t, truth_rows *out)
{
    int P = ddw_comm_size(c);
    int *dest = ddw_xmalloc((t->n ? t->n : 1) * sizeof *dest);
    outbox o;
    outbox_init(&o, P);
    for (size_t i = 0; i < t->n; i++) {
        dest[i] = owner(key_hash(t->src[i], t->arena + t->off[i], t->rid_len[i]), P);
        o.count[dest[i]] += 20 + (uint64_t)t->rid_len[i] + t->per_len[i];
    }
    outbox_open(&o);
    for (size_t i = 0; i < t->n; i++) {
        char *p = outbox_put(&o, dest[i], 20 + (size_t)t->rid_len[i] + t->per_len[i]);
        put_u32(&p, (uint32_t)t->src[i]);
        put_u32(&p, t->rid_len[i]);
        put_u32(&p, t->per_len[i]);
        put_u64(&p, t->line[i]);
        put_bytes(&p, t->arena + t->off[i], (size_t)t->rid_len[i] + t->per_len[i]);
    }
    free(dest);
    unk_table unk = t->unk;
    memset(&t->unk, 0, sizeof t->unk);
    truth_free(t);
    t->unk = unk;
    uint64_t total = 0;
    char *rb = outbox_send(&o, c, &total);
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (const char *p = rb; p < rb + total; n++) {
        p += 4;
        uint32_t rl = get_u32(&p), pl = get_u32(&p);
        p += 8 + (size_t)rl + pl;
    }
    truth_reserve(out, n ? n : 1);
    const char *p = rb;
    for (size_t i = 0; i < n; i++) {
        out->src[i] = (int32_t)get_u32(&p);
        out->rid_len[i] = get_u32(&p);
        out->per_len[i] = get_u32(&p);
        out->line[i] = get_u64(&p);
        out->off[i] = (uint64_t)(p - rb);
        p += (size_t)out->rid_len[i] + out->per_len[i];
    }
    out->n = n;
    out->arena = rb;
    out->alen = out->acap = (size_t)total;
}

/* The records of a slice as they arrive at their join owners. */
typedef struct {
    ddw_eval_records rec;
    int32_t *source;
    char *record_id;
    uint64_t *gidx, *found;
} owned_records;

static void owned_free(owned_records *r)
{
    free(r->source);
    free(r->record_id);
    free(r->gidx);
    free(r->found);
    memset(r, 0, sizeof *r);
}

/* Sends each record of the slice to the rank owning its key, freeing the
 * slice's arrays before the exchange. */
static void route_records(const ddw_comm *c, ddw_eval_slice *sl, owned_records *out)
{
    int P = ddw_comm_size(c);
    size_t W = sl->id_width, R = 24 + W;
    ddw_eval_records view = {sl->nsources, sl->source_name, sl->n, sl->source, sl->record_id, W};
    int *dest = ddw_xmalloc((sl->n ? sl->n : 1) * sizeof *dest);
    outbox o;
    outbox_init(&o, P);
    for (size_t i = 0; i < sl->n; i++) {
        dest[i] = owner(key_hash(sl->source[i], sl->record_id + i * W, result_len(&view, i)), P);
        o.count[dest[i]] += R;
    }
    outbox_open(&o);
    for (size_t i = 0; i < sl->n; i++) {
        char *p = outbox_put(&o, dest[i], R);
        put_u32(&p, (uint32_t)sl->source[i]);
        put_u32(&p, 0);
        put_u64(&p, sl->first + i);
        put_u64(&p, sl->found[i]);
        put_bytes(&p, sl->record_id + i * W, W);
    }
    free(dest);
    free(sl->source);
    free(sl->record_id);
    free(sl->found);
    sl->source = NULL;
    sl->record_id = NULL;
    sl->found = NULL;
    uint64_t total = 0;
    char *rb = outbox_send(&o, c, &total);
    size_t n = (size_t)(total / R);
    memset(out, 0, sizeof *out);
    out->source = ddw_xmalloc((n ? n : 1) * sizeof *out->source);
    out->record_id = ddw_xmalloc((n ? n : 1) * W + 1);
    out->gidx = ddw_xmalloc((n ? n : 1) * sizeof *out->gidx);
    out->found = ddw_xmalloc((n ? n : 1) * sizeof *out->found);
    const char *p = rb;
    for (size_t i = 0; i < n; i++) {
        out->source[i] = (int32_t)get_u32(&p);
        p += 4;
        out->gidx[i] = get_u64(&p);
        out->found[i] = get_u64(&p);
        memcpy(out->record_id + i * W, p, W);
        p += W;
    }
    free(rb);
    out->rec = (ddw_eval_records){sl->nsources, sl->source_name, n, out->source,
                                  out->record_id, W};
}

/* Every rank's fault examples merged into one table ([S * K_N], the same
 * on every rank; free with fault_ex_free): counts added, and per fault the
 * example with the smallest key. */
static fault_ex *gather_faults(const ddw_comm *c, const fault_ex *x, int S)
{
    size_t nk = (size_t)S * K_N, bytes = 0;
    for (size_t k = 0; k < nk; k++)
        if (x[k].count)
            bytes += 40 + (size_t)x[k].rid_len;
    char *buf = ddw_xmalloc(bytes ? bytes : 1), *p = buf;
    for (size_t k = 0; k < nk; k++) {
        if (x[k].count == 0)
            continue;
        put_u32(&p, (uint32_t)k);
        put_u32(&p, x[k].rid_len);
        put_u64(&p, x[k].count);
        put_u64(&p, x[k].key);
        put_u64(&p, x[k].line);
        put_u64(&p, x[k].orig);
        put_bytes(&p, x[k].rid, x[k].rid_len);
    }
    uint64_t total = 0;
    char *all = ddw_comm_allgatherv(c, buf, (uint64_t)bytes, &total);
    free(buf);
    fault_ex *m = ddw_xcalloc(nk, sizeof *m);
    for (const char *q = all; q < all + total;) {
        uint32_t k = get_u32(&q), rl = get_u32(&q);
        uint64_t count = get_u64(&q), key = get_u64(&q), line = get_u64(&q), orig = get_u64(&q);
        if (m[k].count == 0 || key < m[k].key)
            set_example(&m[k], key, line, orig, q, rl);
        m[k].count += count;
        q += rl;
    }
    free(all);
    return m;
}

typedef struct {
    const char *name;
    uint32_t len;
    uint64_t line;
} unk_cand;

static int cmp_cand_name(const void *a, const void *b)
{
    const unk_cand *x = a, *y = b;
    int d = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    if (d)
        return d;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_cand_line(const void *a, const void *b)
{
    const unk_cand *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * The unknown-source report over all ranks' rows.  The first MAX_UNKNOWN + 1
 * distinct names by first line are among the union of each rank's own first
 * MAX_UNKNOWN + 1 (a name's first rank sees fewer earlier names than the
 * whole file does), with their first lines right; their counts are then
 * added over ranks.  Collective.
 */
static void unknown_dist(const ddw_comm *c, unk_table *u, unknown_report *r)
{
    memset(r, 0, sizeof *r);
    if (u->n) { /* by first line; the order changed, so the slots are rebuilt */
        qsort(u->e, u->n, sizeof *u->e, cmp_unk_line);
        memset(u->slot, 0, u->nslot * sizeof *u->slot);
        for (size_t i = 0; i < u->n; i++)
            unk_insert_slot(u, i);
    }
    size_t mine = u->n < MAX_UNKNOWN + 1 ? u->n : MAX_UNKNOWN + 1, bytes = 0;
    for (size_t i = 0; i < mine; i++)
        bytes += 12 + u->e[i].len;
    char *buf = ddw_xmalloc(bytes ? bytes : 1), *p = buf;
    for (size_t i = 0; i < mine; i++) {
        put_u64(&p, u->e[i].first_line);
        put_u32(&p, (uint32_t)u->e[i].len);
        put_bytes(&p, u->e[i].name, u->e[i].len);
    }
    uint64_t total = 0;
    char *all = ddw_comm_allgatherv(c, buf, (uint64_t)bytes, &total);
    free(buf);
    size_t nc = 0, ccap = 0;
    unk_cand *cand = NULL;
    for (const char *q = all; q < all + total; nc++) {
        ddw_xgrow((void **)&cand, &ccap, nc + 1, sizeof *cand);
        cand[nc].line = get_u64(&q);
        cand[nc].len = get_u32(&q);
        cand[nc].name = q;
        q += cand[nc].len;
    }
    /* one entry per name, with its smallest line, then by line */
    if (nc)
        qsort(cand, nc, sizeof *cand, cmp_cand_name);
    size_t nd = 0;
    for (size_t i = 0; i < nc; i++)
        if (nd == 0 || cand[nd - 1].len != cand[i].len ||
            memcmp(cand[nd - 1].name, cand[i].name, cand[i].len) != 0)
            cand[nd++] = cand[i];
    if (nd)
        qsort(cand, nd, sizeof *cand, cmp_cand_line);
    int n = nd < MAX_UNKNOWN ? (int)nd : MAX_UNKNOWN;
    uint64_t cnt[MAX_UNKNOWN + 1];
    for (int k = 0; k < n; k++) {
        const unk_ent *e = unk_find(u, cand[k].name, cand[k].len);
        cnt[k] = e ? e->count : 0;
    }
    cnt[n] = u->rows;
    ddw_comm_allreduce_u64(c, cnt, n + 1, DDW_COMM_SUM);
    uint64_t listed = 0;
    for (int k = 0; k < n; k++) {
        r->name[k] = ddw_xmalloc(cand[k].len + 1);
        memcpy(r->name[k], cand[k].name, cand[k].len);
        r->name[k][cand[k].len] = '\0';
        r->count[k] = cnt[k];
        r->first_line[k] = cand[k].line;
        listed += cnt[k];
    }
    r->n = n;
    r->other = cnt[n] - listed;
    r->other_line = nd > MAX_UNKNOWN ? cand[MAX_UNKNOWN].line : 0;
    free(cand);
    free(all);
}

void ddw_eval_joined_free(ddw_eval_joined *j)
{
    if (j == NULL)
        return;
    free(j->found);
    free(j->truth);
    free(j->source);
    memset(j, 0, sizeof *j);
}

/* Sends each joined record (found person, source, person string) to the
 * rank owning its person string, which numbers the strings into *out.
 * Frees t, r and match before the exchange. */
static uint64_t route_persons(const ddw_comm *c, truth_rows *t, owned_records *r,
                              uint32_t *match, ddw_eval_joined *out)
{
    int P = ddw_comm_size(c), me = ddw_comm_rank(c);
    size_t n = r->rec.n;
    int *dest = ddw_xmalloc((n ? n : 1) * sizeof *dest);
    outbox o;
    outbox_init(&o, P);
    for (size_t i = 0; i < n; i++) {
        uint32_t m = match[i];
        dest[i] = owner(person_hash(t->arena + t->off[m] + t->rid_len[m], t->per_len[m]), P);
        o.count[dest[i]] += 16 + (uint64_t)t->per_len[m];
    }
    outbox_open(&o);
    for (size_t i = 0; i < n; i++) {
        uint32_t m = match[i];
        char *p = outbox_put(&o, dest[i], 16 + (size_t)t->per_len[m]);
        put_u64(&p, r->found[i]);
        put_u32(&p, (uint32_t)r->source[i]);
        put_u32(&p, t->per_len[m]);
        put_bytes(&p, t->arena + t->off[m] + t->rid_len[m], t->per_len[m]);
    }
    free(dest);
    truth_free(t);
    owned_free(r);
    free(match);
    uint64_t total = 0;
    char *rb = outbox_send(&o, c, &total);
    size_t k = 0;
    for (const char *p = rb; p < rb + total; k++) {
        p += 12;
        p += get_u32(&p);
    }
    memset(out, 0, sizeof *out);
    out->n = k;
    out->found = ddw_xmalloc((k ? k : 1) * sizeof *out->found);
    out->truth = ddw_xmalloc((k ? k : 1) * sizeof *out->truth);
    out->source = ddw_xmalloc((k ? k : 1) * sizeof *out->source);
    uint64_t *off = ddw_xmalloc((k ? k : 1) * sizeof *off);
    uint32_t *len = ddw_xmalloc((k ? k : 1) * sizeof *len);
    const char *p = rb;
    for (size_t i = 0; i < k; i++) {
        out->found[i] = get_u64(&p);
        out->source[i] = (int32_t)get_u32(&p);
        len[i] = get_u32(&p);
        off[i] = (uint64_t)(p - rb);
        p += len[i];
    }
    uint32_t *id = ddw_xmalloc((k ? k : 1) * sizeof *id);
    str_view v = {rb, off, NULL, len};
    uint64_t persons = intern(&v, k, id);
    for (size_t i = 0; i < k; i++)
        out->truth[i] = (uint64_t)me << 32 | id[i];
    free(id);
    free(off);
    free(len);
    free(rb);
    return persons;
}

ddw_status ddw_eval_join_dist(const ddw_comm *c, const char *path, ddw_eval_slice *sl,
                              FILE *err, ddw_eval_joined *out, ddw_eval_join_stats *st)
{
    memset(out, 0, sizeof *out);
    memset(st, 0, sizeof *st);
    int S = sl->nsources;
    ddw_status rc = ddw_comm_agree(c, (uint64_t)sl->n > UINT32_MAX ? DDW_ERANGE : DDW_OK);
    if (rc != DDW_OK) {
        report(err, "the result has more than %u records per rank", (unsigned)UINT32_MAX);
        return rc;
    }
    /* records first, so that the slice is gone before the truth is read */
    owned_records jr;
    route_records(c, sl, &jr);
    truth_rows t, jt;
    memset(&t, 0, sizeof t);
    memset(&jt, 0, sizeof jt);
    uint32_t *match = NULL;
    rc = dist_parse(c, path, sl->source_name, S, err, &t);
    uint64_t rows[2] = {t.rows, t.unk.rows};
    ddw_comm_allreduce_u64(c, rows, 2, DDW_COMM_SUM);
    st->truth_rows = rows[0];
    st->unknown_source = rows[1];
    if (rc != DDW_OK)
        goto done;
    /* truth rows meet the records at the owner of their key */
    route_truth(c, &t, &jt);
    rc = ddw_comm_agree(c, jt.n > UINT32_MAX || jr.rec.n > UINT32_MAX ? DDW_ERANGE : DDW_OK);
    if (rc != DDW_OK) {
        report(err, "%s: more than %u rows or records meet on one rank", path,
               (unsigned)UINT32_MAX);
        goto done;
    }
    match = ddw_xmalloc((jr.rec.n ? jr.rec.n : 1) * sizeof *match);
    join_fault *f = join(&jt, &jr.rec, match);
    fault_ex *x = fault_examples(f, &jt, &jr.rec, jr.gidx);
    free(f);
    fault_ex *merged = gather_faults(c, x, S);
    fault_ex_free(x, (size_t)S * K_N);
    unknown_report u;
    unknown_dist(c, &t.unk, &u);
    int bad = report_faults(path, sl->source_name, S, &u, merged, err, st);
    unknown_report_free(&u);
    fault_ex_free(merged, (size_t)S * K_N);
    if (bad) {
        rc = DDW_EINVAL; /* every rank has the same merged report */
    } else {
        uint64_t persons = route_persons(c, &jt, &jr, match, out);
        match = NULL;
        ddw_comm_allreduce_u64(c, &persons, 1, DDW_COMM_SUM);
        st->persons = persons;
    }
done:
    free(match);
    owned_free(&jr);
    truth_free(&jt);
    truth_free(&t);
    return rc;
}

ddw_status ddw_evaluate_counts_dist(const ddw_comm *c, int nsources, const ddw_eval_joined *j,
                                    ddw_eval_result *out)
{
    memset(out, 0, sizeof *out);
    int P = ddw_comm_size(c);
    ddw_eval_sums s;
    ddw_status rc = ddw_comm_agree(c, ddw_eval_sums_init(&s, nsources));
    if (rc != DDW_OK)
        return rc;
    /* the true side where the records are; the found side at its owner */
    rc = ddw_eval_sums_add(&s, DDW_EVAL_TRUE, j->n, j->truth, j->found, j->source);
    outbox o;
    outbox_init(&o, P);
    int *dest = ddw_xmalloc((j->n ? j->n : 1) * sizeof *dest);
    for (size_t i = 0; i < j->n; i++) {
        dest[i] = owner(ddw_mix64(j->found[i]), P);
        o.count[dest[i]] += 20;
    }
    outbox_open(&o);
    for (size_t i = 0; i < j->n; i++) {
        char *p = outbox_put(&o, dest[i], 20);
        put_u64(&p, j->found[i]);
        put_u64(&p, j->truth[i]);
        put_u32(&p, (uint32_t)j->source[i]);
    }
    free(dest);
    uint64_t total = 0;
    char *rb = outbox_send(&o, c, &total);
    size_t n = (size_t)(total / 20);
    uint64_t *found = ddw_xmalloc((n ? n : 1) * sizeof *found);
    uint64_t *truth = ddw_xmalloc((n ? n : 1) * sizeof *truth);
    int32_t *src = ddw_xmalloc((n ? n : 1) * sizeof *src);
    const char *p = rb;
    for (size_t i = 0; i < n; i++) {
        found[i] = get_u64(&p);
        truth[i] = get_u64(&p);
        src[i] = (int32_t)get_u32(&p);
    }
    free(rb);
    if (rc == DDW_OK)
        rc = ddw_eval_sums_add(&s, DDW_EVAL_FOUND, n, found, truth, src);
    free(found);
    free(truth);
    free(src);
    rc = ddw_comm_agree(c, rc);
    if (rc == DDW_OK) {
        if (s.nwords > (size_t)INT32_MAX)
            DDW_DIE("evaluation sums too large");
        ddw_comm_allreduce_u64(c, s.word, (int)s.nwords, DDW_COMM_SUM);
        rc = ddw_eval_sums_finish(&s, out);
    }
    ddw_eval_sums_free(&s);
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
