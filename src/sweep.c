/*
 * sweep.c - the clustering `ddwlink link` would make at every threshold of
 * a grid, and its quality against a ground truth, from one pass over the
 * scored pairs stored in a result.
 *
 * Why one pass is enough.  At threshold t, link takes the edges with
 * weight >= t in one canonical order - weight descending, then a, then b
 * ascending (ddw_refine_component; components are independent, so the
 * global order gives the same sets) - into a union-find, skipping with
 * cluster.refine = pnc an edge that would join two sets holding different
 * non-zero pnc_key values, and (with attach_once sources) an edge touching an
 * attach_once record that would join two sets that both hold other
 * sources' records.  The edges at or above a lower threshold are the
 * same prefix of that order, extended.  So the edges are sorted once (a
 * stable radix sort by (a, b) if needed, then by weight), and walking the
 * grid from its highest threshold down, each edge is applied as its weight
 * comes into range: the state after the prefix of edges >= t is exactly
 * link's clustering at t, skipped edges included.
 *
 * The figures are those of ddw_evaluate_counts (definitions in
 * src/evaluate.c), kept up to date as sets merge.  Per set: its records a,
 * q = sum over its true persons j of n_j^2, and a map true person -> n_j
 * (inline while the set holds one true person, n_j = a; a small
 * open-addressing table once it holds two or more).  Per true person j:
 * b_j, its records; R_j = sum over sets of n_ij^2; c_j, the sets holding
 * it.  Joining sets X and Y, the map with fewer entries is walked and
 * added into the other (cost <= min(a_X, a_Y), O(N log N) over the run);
 * with cross = sum_j nX_j nY_j over the true persons in both:
 *   true_positive_pairs += cross            found_pairs += a_X a_Y
 *   q_new = q_X + q_Y + 2 cross             R_j += 2 nX_j nY_j (j in both)
 *   c_j -= 1 for j in both; true_persons_split -= 1 when c_j reaches 1
 *   found_persons_merged += [entries after > 1] - [X's > 1] - [Y's > 1]
 * true_pairs, persons_true and records never change.
 *
 * Trade-off: the B-cubed figures are sums of fractions.  evaluate.c takes
 * each term q/a as the exact integer floor(q * 2^64 / a) (ddw_eval_term)
 * and adds them in 128 bits, so its sums do not depend on order; each grid
 * point where the clustering changed redoes the two sums the same way
 * from the integer q, a, R_j and b_j: over roots of ddw_eval_term(q, a),
 * and over j of ddw_eval_term(R_j, b_j).  The same integers give the same
 * bits as evaluate, however many ranks it ran on.  That costs O(N + T)
 * sequential work per grid point (a few ms for 400k records; nothing next
 * to the merging for a grid of tens of points, but minutes for 100000
 * points over millions of records).  Since the sums are exact, they could
 * instead be kept up to date as sets merge (subtract the two old terms,
 * add the new one) without drifting; that would touch the merge code.
 */
#include "ddw_sweep.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_cluster.h"

/* ---- the grid ------------------------------------------------------------- */

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    if (msg == NULL || msglen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* Largest scaled decimal the grid arithmetic handles (|L|, |H|, S). */
#define DEC_MAX (INT64_C(1) << 60)

/* Parses a plain decimal [+-]digits[.digits][(e|E)[+-]digits] into
 * mant * 10^exp10.  0 if s is not one or has more than 18 significant digits. */
static int parse_decimal(const char *s, int64_t *mant, int *exp10)
{
    const char *p = s;
    int neg = 0, sig = 0, e = 0, any = 0;
    int64_t m = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    for (int frac = 0;; p++) {
        if (*p == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        any = 1;
        e -= frac;
        if (m == 0 && *p == '0')
            continue;
        if (sig++ == 18)
            return 0;
        m = m * 10 + (*p - '0');
    }
    if (!any)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0, ex = 0, edig = 0;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        for (; isdigit((unsigned char)*p); p++, edig++)
            if ((ex = ex * 10 + (*p - '0')) > 1000)
                return 0;
        if (edig == 0)
            return 0;
        e += eneg ? -ex : ex;
    }
    if (*p != '\0')
        return 0;
    *mant = neg ? -m : m;
    *exp10 = e;
    return 1;
}

/* v * 10^k into *out if |result| <= DEC_MAX (k >= 0). */
static int scale_dec(int64_t v, int k, int64_t *out)
{
    for (; k > 0; k--) {
        if (v > DEC_MAX / 10 || v < -DEC_MAX / 10)
            return 0;
        v *= 10;
    }
    if (v > DEC_MAX || v < -DEC_MAX)
        return 0;
    *out = v;
    return 1;
}

/* The grid from the three numbers written as decimals; 0 if they are not
 * all plain decimals of a common scale that fits. */
static int grid_decimal(char *const part[3], ddw_sweep_grid *g, char *msg, size_t msglen,
                        ddw_status *rc)
{
    int64_t mant[3], v[3];
    int ex[3], d = 0;
    for (int k = 0; k < 3; k++) {
        if (!parse_decimal(part[k], &mant[k], &ex[k]))
            return 0;
        if (-ex[k] > d)
            d = -ex[k];
    }
    for (int k = 0; k < 3; k++)
        if (!scale_dec(mant[k], ex[k] + d, &v[k]))
            return 0;
    if (v[2] <= 0 || v[0] > v[1]) /* cannot differ from the double checks, but be safe */
        return 0;
    uint64_t steps = (uint64_t)(v[1] - v[0]) / (uint64_t)v[2];
    if (steps >= DDW_SWEEP_MAX_POINTS) {
        set_msg(msg, msglen, "%s:%s:%s gives %" PRIu64 " thresholds; at most %d", part[0],
                part[1], part[2], steps + 1, DDW_SWEEP_MAX_POINTS);
        *rc = DDW_ERANGE;
        return 1;
    }
    g->n = (size_t)steps + 1;
    g->t = ddw_xmalloc(g->n * sizeof *g->t);
    for (size_t k = 0; k < g->n; k++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%" PRId64 "e%d", v[0] + (int64_t)k * v[2], -d);
        g->t[k] = strtod(buf, NULL);
    }
    *rc = DDW_OK;
    return 1;
}

static char *trim_inplace(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
        s[--l] = '\0';
    return s;
}

ddw_status ddw_sweep_grid_parse(const char *spec, ddw_sweep_grid *g, char *msg, size_t msglen)
{
    memset(g, 0, sizeof *g);
    set_msg(msg, msglen, "%s", "");
    char *copy = ddw_xstrdup(spec ? spec : "");
    char *part[3] = {NULL, NULL, NULL};
    char *p = copy;
    int np = 0;
    for (;;) {
        char *c = strchr(p, ':');
        if (np < 3)
            part[np] = p;
        np++;
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    ddw_status rc = DDW_EINVAL;
    double val[3];
    static const char *const what[3] = {"LO", "HI", "STEP"};
    if (np != 3) {
        set_msg(msg, msglen, "--thresholds '%s' is not LO:HI:STEP (three numbers)",
                spec ? spec : "");
        goto done;
    }
    for (int k = 0; k < 3; k++) {
        part[k] = trim_inplace(part[k]);
        char *end = NULL;
        val[k] = strtod(part[k], &end);
        if (part[k][0] == '\0' || end == part[k] || *end != '\0' || !isfinite(val[k])) {
            set_msg(msg, msglen, "--thresholds '%s': %s '%s' is not a finite number", spec,
                    what[k], part[k]);
            goto done;
        }
    }
    if (!(val[2] > 0)) {
        set_msg(msg, msglen, "--thresholds '%s': STEP must be > 0", spec);
        goto done;
    }
    if (val[0] > val[1]) {
        set_msg(msg, msglen, "--thresholds '%s': LO (%s) is above HI (%s)", spec, part[0],
                part[1]);
        goto done;
    }
    g->lo = val[0];
    g->hi = val[1];
    g->step = val[2];
    if (grid_decimal(part, g, msg, msglen, &rc))
        goto done;
    /* not plain decimals: floating point from the integer index */
    double r = (val[1] - val[0]) / val[2];
    if (!(r < (double)DDW_SWEEP_MAX_POINTS)) {
        set_msg(msg, msglen, "%s:%s:%s gives %.0f thresholds; at most %d", part[0], part[1],
                part[2], floor(r) + 1, DDW_SWEEP_MAX_POINTS);
        rc = DDW_ERANGE;
        goto done;
    }
    g->n = (size_t)floor(r + 1e-9) + 1;
    g->t = ddw_xmalloc(g->n * sizeof *g->t);
    for (size_t k = 0; k < g->n; k++) {
        g->t[k] = val[0] + (double)k * val[2];
        if (g->t[k] > val[1])
            g->t[k] = val[1];
    }
    rc = DDW_OK;
done:
    free(copy);
    if (rc != DDW_OK) {
        free(g->t);
        memset(g, 0, sizeof *g);
    }
    return rc;
}

void ddw_sweep_grid_free(ddw_sweep_grid *g)
{
    if (g == NULL)
        return;
    free(g->t);
    memset(g, 0, sizeof *g);
}

/* ---- sorting the edges ---------------------------------------------------- */

/* A key that sorts ascending as w sorts descending (-0 as +0; no NaN here). */
static uint64_t weight_desc_key(double w)
{
    w += 0.0;
    uint64_t u;
    memcpy(&u, &w, sizeof u);
    u = (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
    return ~u;
}

/*
 * Record key -> index.  Binary search over millions of keys for tens of
 * millions of endpoints dominated the run, so keys are grouped by their
 * bits above DDW_KEY_ROW_BITS (a ddwlink key's source; keys are sorted, so
 * groups are runs) and a group whose rows are dense (CSV lines, with a few
 * gaps for rejected rows) gets a direct table row -> index; other groups
 * fall back to binary search.  Any key layout works; only speed depends on it.
 */
typedef struct {
    uint64_t hi;          /* key >> DDW_KEY_ROW_BITS */
    size_t first, count;  /* its records [first, first + count) */
    uint64_t row0, span;  /* rows row0 .. row0 + span - 1 */
    uint32_t *table;      /* [span] index, or UINT32_MAX for no record; NULL: search */
} key_group;

typedef struct {
    const uint64_t *key;
    size_t n, ng;
    key_group *g;
} key_index;

#define ROW_MASK ((UINT64_C(1) << DDW_KEY_ROW_BITS) - 1)

static void kindex_init(key_index *x, const uint64_t *key, size_t n)
{
    memset(x, 0, sizeof *x);
    x->key = key;
    x->n = n;
    size_t cap = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        uint64_t hi = key[i] >> DDW_KEY_ROW_BITS;
        while (j < n && key[j] >> DDW_KEY_ROW_BITS == hi)
            j++;
        ddw_xgrow((void **)&x->g, &cap, x->ng + 1, sizeof *x->g);
        key_group *g = &x->g[x->ng++];
        g->hi = hi;
        g->first = i;
        g->count = j - i;
        g->row0 = key[i] & ROW_MASK;
        g->span = (key[j - 1] & ROW_MASK) - g->row0 + 1;
        g->table = NULL;
        if (g->span <= 2 * (uint64_t)g->count + 1024) {
            g->table = ddw_xmalloc((size_t)g->span * sizeof *g->table);
            memset(g->table, 0xff, (size_t)g->span * sizeof *g->table);
            for (size_t k = i; k < j; k++)
                g->table[(key[k] & ROW_MASK) - g->row0] = (uint32_t)k;
        }
        i = j;
    }
}

static void kindex_free(key_index *x)
{
    for (size_t k = 0; k < x->ng; k++)
        free(x->g[k].table);
    free(x->g);
    memset(x, 0, sizeof *x);
}

/* Index of key k, or SIZE_MAX if it is not a record.  Thread-safe. */
static size_t kindex_find(const key_index *x, uint64_t k)
{
    uint64_t hi = k >> DDW_KEY_ROW_BITS;
    size_t lo = 0, up = x->ng;
    while (lo < up) {
        size_t mid = lo + (up - lo) / 2;
        if (x->g[mid].hi < hi)
            lo = mid + 1;
        else
            up = mid;
    }
    if (lo == x->ng || x->g[lo].hi != hi)
        return SIZE_MAX;
    const key_group *g = &x->g[lo];
    if (g->table) {
        uint64_t r = (k & ROW_MASK) - g->row0; /* wraps above span when below row0 */
        return r < g->span && g->table[r] != UINT32_MAX ? g->table[r] : SIZE_MAX;
    }
    size_t p = g->first + ddw_lower_bound_u64(x->key + g->first, g->count, k);
    return p < g->first + g->count && x->key[p] == k ? p : SIZE_MAX;
}

/* The edges that can come into range, in link's order. */
typedef struct {
    size_t m;
    uint32_t *ia, *ib; /* endpoints as record indices */
    double *w;
} sorted_edges;

static void sorted_free(sorted_edges *s)
{
    free(s->ia);
    free(s->ib);
    free(s->w);
    memset(s, 0, sizeof *s);
}

static ddw_status sort_edges(const ddw_sweep_input *in, double tmin, sorted_edges *out, FILE *err)
{
    memset(out, 0, sizeof *out);
    size_t n = in->nrecords, m = 0;
    for (size_t k = 0; k < in->nedges; k++)
        m += in->weight[k] >= tmin;
    if ((uint64_t)m >= UINT32_MAX) {
        if (err)
            fprintf(err, "sweep: error: %zu edges at or above %g; at most %u\n", m, tmin,
                    (unsigned)UINT32_MAX - 1);
        return DDW_ERANGE;
    }
    uint32_t *idx = ddw_xmalloc((m ? m : 1) * sizeof *idx);
    uint32_t *ia = ddw_xmalloc((m ? m : 1) * sizeof *ia);
    uint32_t *ib = ddw_xmalloc((m ? m : 1) * sizeof *ib);
    m = 0;
    for (size_t k = 0; k < in->nedges; k++)
        if (in->weight[k] >= tmin)
            idx[m++] = (uint32_t)k;
    size_t bad = SIZE_MAX;
    key_index kx;
    kindex_init(&kx, in->key, n);
#pragma omp parallel for schedule(static) reduction(min : bad)
    for (size_t e = 0; e < m; e++) {
        size_t k = idx[e];
        size_t pa = kindex_find(&kx, in->a[k]), pb = kindex_find(&kx, in->b[k]);
        if (pa == SIZE_MAX || pb == SIZE_MAX) {
            bad = k < bad ? k : bad;
            pa = pb = 0;
        }
        ia[e] = (uint32_t)pa;
        ib[e] = (uint32_t)pb;
    }
    kindex_free(&kx);
    if (bad != SIZE_MAX) {
        if (err)
            fprintf(err, "sweep: error: edge %zu (%" PRIu64 ", %" PRIu64 ") names a key that is "
                         "not a record of the result\n", bad, in->a[bad], in->b[bad]);
        free(idx);
        free(ia);
        free(ib);
        return DDW_EINVAL;
    }
    uint64_t *sk = ddw_xmalloc((m ? m : 1) * sizeof *sk);
    uint32_t *perm = ddw_xmalloc((m ? m : 1) * sizeof *perm);
    int by_ab = 1; /* link writes /edges in (a, b) order; sort only if not */
    for (size_t e = 0; e < m; e++) {
        perm[e] = (uint32_t)e;
        sk[e] = (uint64_t)ia[e] << 32 | ib[e];
        if (e > 0 && sk[e - 1] > sk[e])
            by_ab = 0;
    }
    if (!by_ab)
        ddw_radix_sort_u64(sk, perm, m);
    for (size_t e = 0; e < m; e++)
        sk[e] = weight_desc_key(in->weight[idx[perm[e]]]);
    ddw_radix_sort_u64(sk, perm, m); /* stable: ties keep the (a, b) order */
    free(sk);
    out->m = m;
    out->ia = ddw_xmalloc((m ? m : 1) * sizeof *out->ia);
    out->ib = ddw_xmalloc((m ? m : 1) * sizeof *out->ib);
    out->w = ddw_xmalloc((m ? m : 1) * sizeof *out->w);
    for (size_t e = 0; e < m; e++) {
        uint32_t p = perm[e];
        out->ia[e] = ia[p];
        out->ib[e] = ib[p];
        out->w[e] = in->weight[idx[p]];
    }
    free(perm);
    free(idx);
    free(ia);
    free(ib);
    return DDW_OK;
}

/* ---- per-set maps true person -> records ------------------------------------- */

#define NONE UINT32_MAX

/* Open addressing, linear probing; slot = (j + 1) << 32 | count, 0 = empty. */
typedef struct {
    uint64_t *slot;
    uint32_t cap, n; /* cap a power of two, n <= cap / 2 */
} tmap;

/* Tables are recycled through a free list, so their number stays the number
 * of sets holding two or more true persons at once. */
typedef struct {
    tmap *t;
    size_t n, cap;
    uint32_t *free_idx;
    size_t nfree, free_cap;
} tpool;

static uint32_t tab_new(tpool *p)
{
    uint32_t i;
    if (p->nfree > 0) {
        i = p->free_idx[--p->nfree];
    } else {
        ddw_xgrow((void **)&p->t, &p->cap, p->n + 1, sizeof *p->t);
        i = (uint32_t)p->n++;
    }
    p->t[i].cap = 8;
    p->t[i].n = 0;
    p->t[i].slot = ddw_xcalloc(8, sizeof *p->t[i].slot);
    return i;
}

static void tab_release(tpool *p, uint32_t i)
{
    free(p->t[i].slot);
    p->t[i].slot = NULL;
    ddw_xgrow((void **)&p->free_idx, &p->free_cap, p->nfree + 1, sizeof *p->free_idx);
    p->free_idx[p->nfree++] = i;
}

static void pool_free(tpool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->t[i].slot);
    free(p->t);
    free(p->free_idx);
    memset(p, 0, sizeof *p);
}

static uint64_t *tab_slot(const tmap *m, uint32_t j)
{
    uint64_t tag = (uint64_t)j + 1;
    uint32_t mask = m->cap - 1;
    uint32_t h = (uint32_t)((tag * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & mask;
    while (m->slot[h] != 0 && m->slot[h] >> 32 != tag)
        h = (h + 1) & mask;
    return &m->slot[h];
}

static void tab_grow(tmap *m)
{
    uint64_t *old = m->slot;
    uint32_t oc = m->cap;
    m->cap *= 2;
    m->slot = ddw_xcalloc(m->cap, sizeof *m->slot);
    for (uint32_t i = 0; i < oc; i++)
        if (old[i])
            *tab_slot(m, (uint32_t)((old[i] >> 32) - 1)) = old[i];
    free(old);
}

/* Adds c records of true person j; returns j's count before. */
static uint32_t tab_add(tmap *m, uint32_t j, uint32_t c)
{
    if ((m->n + 1) * 2 > m->cap)
        tab_grow(m);
    uint64_t *s = tab_slot(m, j);
    if (*s == 0) {
        *s = ((uint64_t)j + 1) << 32 | c;
        m->n++;
        return 0;
    }
    uint32_t before = (uint32_t)*s;
    *s += c;
    return before;
}

/* ---- the incremental clustering ---------------------------------------------- */

typedef struct {
    size_t n;
    ddw_uf uf;
    uint32_t *size;    /* per root: records */
    uint64_t *pnc;     /* per root: the set's non-zero pnc_key, or 0 (refine only) */
    int refine;
    const uint8_t *weak; /* per record: attach_once (NULL = none) */
    uint8_t *anchored;   /* per root: the set holds a record that is not attach_once */
    uint64_t persons, largest, applied, skipped;
    /* with truth */
    int truth;
    uint64_t ntrue;
    uint64_t *q;       /* per root: sum over its true persons of n_j^2 */
    uint32_t *tid;     /* per root: its true person while it holds one */
    uint32_t *tab;     /* per root: its table once it holds several, else NONE */
    uint32_t *bcnt;    /* per true person: records (b_j) */
    uint64_t *r2;      /* per true person: sum over sets of n_ij^2 */
    uint32_t *nsets;   /* per true person: sets holding it */
    tpool pool;
    uint64_t tp, found_pairs, true_pairs, persons_true, split, merged;
    int dirty;         /* the sets changed since the B-cubed sums were taken */
    ddw_eval_fix bprec, brec;
} sweep_state;

static void state_free(sweep_state *s)
{
    ddw_uf_free(&s->uf);
    free(s->size);
    free(s->pnc);
    free(s->anchored);
    free(s->q);
    free(s->tid);
    free(s->tab);
    free(s->bcnt);
    free(s->r2);
    free(s->nsets);
    pool_free(&s->pool);
    memset(s, 0, sizeof *s);
}

/* Sets up every record alone (the input was checked by check_input). */
static void state_init(sweep_state *s, const ddw_sweep_input *in)
{
    memset(s, 0, sizeof *s);
    size_t n = in->nrecords;
    s->n = n;
    ddw_uf_init(&s->uf, n);
    s->size = ddw_xmalloc((n ? n : 1) * sizeof *s->size);
    for (size_t i = 0; i < n; i++)
        s->size[i] = 1;
    s->persons = n;
    s->largest = n ? 1 : 0;
    s->refine = in->refine == DDW_SWEEP_REFINE_PNC;
    if (s->refine) {
        s->pnc = ddw_xcalloc(n ? n : 1, sizeof *s->pnc);
        if (in->pnc_key)
            memcpy(s->pnc, in->pnc_key, n * sizeof *s->pnc);
    }
    s->weak = in->attach_once;
    if (s->weak) {
        s->anchored = ddw_xmalloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            s->anchored[i] = !s->weak[i];
    }
    s->truth = in->truth != NULL;
    s->dirty = 1;
    if (!s->truth)
        return;
    uint64_t T = in->ntrue;
    s->ntrue = T;
    s->q = ddw_xmalloc((n ? n : 1) * sizeof *s->q);
    s->tid = ddw_xmalloc((n ? n : 1) * sizeof *s->tid);
    s->tab = ddw_xmalloc((n ? n : 1) * sizeof *s->tab);
    s->bcnt = ddw_xcalloc(T ? T : 1, sizeof *s->bcnt);
    s->r2 = ddw_xmalloc((T ? T : 1) * sizeof *s->r2);
    s->nsets = ddw_xmalloc((T ? T : 1) * sizeof *s->nsets);
    for (size_t i = 0; i < n; i++) {
        s->q[i] = 1;
        s->tid[i] = (uint32_t)in->truth[i];
        s->tab[i] = NONE;
        s->bcnt[in->truth[i]]++;
    }
    for (uint64_t j = 0; j < T; j++) {
        uint64_t b = s->bcnt[j];
        s->r2[j] = b; /* every record alone: b_j sets of one */
        s->nsets[j] = (uint32_t)b;
        s->persons_true += b > 0;
        s->split += b > 1;
        s->true_pairs += b * (b - (b > 0)) / 2;
    }
}

static uint32_t entries(const sweep_state *s, uint32_t r)
{
    return s->tab[r] == NONE ? 1 : s->pool.t[s->tab[r]].n;
}

/* One true person j with c records in the set walked and d (0: none) in the other. */
static void account(sweep_state *s, uint32_t j, uint32_t c, uint32_t d, uint64_t *cross,
                    uint32_t *nent)
{
    if (d == 0) {
        (*nent)++;
        return;
    }
    uint64_t cd = (uint64_t)c * d;
    *cross += cd;
    s->r2[j] += 2 * cd;
    if (--s->nsets[j] == 1)
        s->split--;
}

/* Joins the truth summaries of roots x != y into root min(x, y). */
static void merge_truth(sweep_state *s, uint32_t x, uint32_t y)
{
    uint32_t ex = entries(s, x), ey = entries(s, y);
    uint32_t src = ex <= ey ? x : y, dst = src == x ? y : x;
    uint64_t cross = 0;
    uint32_t nent = entries(s, dst);
    if (s->tab[src] == NONE) {
        uint32_t j = s->tid[src], c = s->size[src], d;
        if (s->tab[dst] != NONE) {
            d = tab_add(&s->pool.t[s->tab[dst]], j, c);
        } else if (s->tid[dst] == j) {
            d = s->size[dst];
        } else {
            uint32_t t = tab_new(&s->pool);
            tab_add(&s->pool.t[t], s->tid[dst], s->size[dst]);
            tab_add(&s->pool.t[t], j, c);
            s->tab[dst] = t;
            d = 0;
        }
        account(s, j, c, d, &cross, &nent);
    } else { /* then dst has a table too: it has at least as many entries */
        tmap *ms = &s->pool.t[s->tab[src]], *md = &s->pool.t[s->tab[dst]];
        for (uint32_t i = 0; i < ms->cap; i++) {
            uint64_t v = ms->slot[i];
            if (v == 0)
                continue;
            uint32_t j = (uint32_t)((v >> 32) - 1), c = (uint32_t)v;
            account(s, j, c, tab_add(md, j, c), &cross, &nent);
        }
        tab_release(&s->pool, s->tab[src]);
    }
    s->merged -= (uint64_t)(ex > 1) + (uint64_t)(ey > 1);
    s->merged += nent > 1;
    s->tp += cross;
    s->found_pairs += (uint64_t)s->size[x] * s->size[y];
    uint64_t qn = s->q[x] + s->q[y] + 2 * cross;
    uint32_t r = x < y ? x : y;
    s->q[r] = qn;
    s->tid[r] = s->tid[dst];
    s->tab[r] = s->tab[dst];
}

/* Takes the edge between records ia and ib, as link does. */
static void apply_edge(sweep_state *s, uint32_t ia, uint32_t ib)
{
    uint32_t x = ddw_uf_find(&s->uf, ia), y = ddw_uf_find(&s->uf, ib);
    if (x == y) {
        s->applied++;
        return;
    }
    if (s->weak && (s->weak[ia] || s->weak[ib]) && s->anchored[x] && s->anchored[y]) {
        s->skipped++;
        return;
    }
    if (s->refine && s->pnc[x] && s->pnc[y] && s->pnc[x] != s->pnc[y]) {
        s->skipped++;
        return;
    }
    s->applied++;
    if (s->truth)
        merge_truth(s, x, y);
    uint32_t r = x < y ? x : y;
    uint64_t sz = (uint64_t)s->size[x] + s->size[y];
    if (s->refine)
        s->pnc[r] = s->pnc[x] ? s->pnc[x] : s->pnc[y];
    if (s->weak)
        s->anchored[r] = s->anchored[x] | s->anchored[y];
    ddw_uf_union(&s->uf, x, y); /* the smaller index, i.e. key, becomes the root */
    s->size[r] = (uint32_t)sz;
    if (sz > s->largest)
        s->largest = sz;
    s->persons--;
    s->dirty = 1;
}

/* The figures now, as ddw_evaluate_counts computes them (the same exact sums). */
static void figures(sweep_state *s, ddw_eval_metrics *m)
{
    if (s->dirty) {
        ddw_eval_fix bp = 0, br = 0;
        const uint32_t *parent = s->uf.parent;
        for (size_t i = 0; i < s->n; i++) /* found persons: the roots */
            if (parent[i] == i)
                bp += ddw_eval_term(s->q[i], s->size[i]);
        for (uint64_t j = 0; j < s->ntrue; j++) /* true persons */
            if (s->bcnt[j])
                br += ddw_eval_term(s->r2[j], s->bcnt[j]);
        s->bprec = bp;
        s->brec = br;
        s->dirty = 0;
    }
    memset(m, 0, sizeof *m);
    m->records = s->n;
    m->persons_found = s->persons;
    m->persons_true = s->persons_true;
    m->true_persons_split = s->split;
    m->found_persons_merged = s->merged;
    m->true_pairs = s->true_pairs;
    m->found_pairs = s->found_pairs;
    m->true_positive_pairs = s->tp;
    ddw_eval_finish(m, s->bprec, s->brec);
}

/* Everything ddw_sweep_run promises to reject, before any work. */
static ddw_status check_input(const ddw_sweep_input *in, size_t npoints, const double *t,
                              const ddw_sweep_point *out, FILE *err)
{
    size_t n = in ? in->nrecords : 0;
    if (in == NULL || (n && in->key == NULL) ||
        (in->nedges && (in->a == NULL || in->b == NULL || in->weight == NULL)) ||
        (npoints && (t == NULL || out == NULL))) {
        if (err)
            fprintf(err, "sweep: error: missing input arrays\n");
        return DDW_EINVAL;
    }
    if ((uint64_t)n >= UINT32_MAX) {
        if (err)
            fprintf(err, "sweep: error: %zu records; at most %u\n", n, (unsigned)UINT32_MAX - 1);
        return DDW_ERANGE;
    }
    for (size_t g = 0; g < npoints; g++)
        if (isnan(t[g]) || (g > 0 && t[g] < t[g - 1])) {
            if (err)
                fprintf(err, "sweep: error: thresholds must be ascending numbers\n");
            return DDW_EINVAL;
        }
    for (size_t i = 1; i < n; i++)
        if (in->key[i] <= in->key[i - 1]) {
            if (err)
                fprintf(err, "sweep: error: record keys are not strictly ascending (row %zu: "
                             "%" PRIu64 " after %" PRIu64 ")\n", i, in->key[i], in->key[i - 1]);
            return DDW_EINVAL;
        }
    if (in->truth == NULL)
        return DDW_OK;
    if (in->ntrue > (uint64_t)n) {
        if (err)
            fprintf(err, "sweep: error: %" PRIu64 " true persons for %zu records\n", in->ntrue,
                    n);
        return DDW_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (in->truth[i] >= in->ntrue) {
            if (err)
                fprintf(err, "sweep: error: record %zu has true person number %" PRIu64
                             ", not below %" PRIu64 "\n", i, in->truth[i], in->ntrue);
            return DDW_EINVAL;
        }
    return DDW_OK;
}

ddw_status ddw_sweep_run(const ddw_sweep_input *in, size_t npoints, const double *t,
                         ddw_sweep_point *out, FILE *err)
{
    ddw_status rc = check_input(in, npoints, t, out, err);
    if (rc != DDW_OK || npoints == 0)
        return rc;
    sorted_edges se;
    rc = sort_edges(in, t[0], &se, err);
    if (rc != DDW_OK)
        return rc;
    sweep_state s;
    state_init(&s, in);
    size_t e = 0;
    for (size_t g = npoints; g-- > 0;) {
        for (; e < se.m && se.w[e] >= t[g]; e++)
            apply_edge(&s, se.ia[e], se.ib[e]);
        ddw_sweep_point *p = &out[g];
        memset(p, 0, sizeof *p);
        p->threshold = t[g];
        p->persons = s.persons;
        p->edges = s.applied;
        p->edges_skipped = s.skipped;
        p->largest_cluster = s.largest;
        if (s.truth)
            figures(&s, &p->eval);
    }
    state_free(&s);
    sorted_free(&se);
    return DDW_OK;
}

size_t ddw_sweep_best(const ddw_sweep_point *p, size_t npoints)
{
    size_t best = 0;
    for (size_t g = 1; g < npoints; g++)
        if (p[g].eval.pair_f1 >= p[best].eval.pair_f1)
            best = g;
    return best;
}

void ddw_sweep_fmt_double(char buf[32], double v)
{
    /* at least as many digits as the integer part has, so that 10 is "10", not "1e+01" */
    int intdig = fabs(v) >= 1 && isfinite(v) ? (int)floor(log10(fabs(v))) + 1 : 1;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec > intdig ? prec : (intdig < 17 ? intdig : 17), v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* ---- output ------------------------------------------------------------------- */

static void sb_point(ddw_text *b, const ddw_sweep_point *p, int with_truth)
{
    char th[32];
    ddw_sweep_fmt_double(th, p->threshold);
    ddw_text_printf(b, "{\"threshold\": %s, \"persons\": %llu, \"edges\": %llu, \"edges_skipped\": %llu, "
                 "\"largest_cluster\": %llu", th, (unsigned long long)p->persons,
              (unsigned long long)p->edges, (unsigned long long)p->edges_skipped,
              (unsigned long long)p->largest_cluster);
    for (int k = 0; with_truth && k < ddw_eval_nfields; k++) {
        ddw_text_printf(b, ", \"%s\": ", ddw_eval_fields[k].name);
        if (ddw_eval_fields[k].is_count)
            ddw_text_printf(b, "%llu", (unsigned long long)ddw_eval_field_u64(&p->eval, k));
        else
            ddw_text_printf(b, "%.17g", ddw_eval_field_f64(&p->eval, k));
    }
    ddw_text_printf(b, "}");
}

char *ddw_sweep_json(const ddw_sweep_info *info, const ddw_sweep_point *p, size_t npoints)
{
    int with_truth = info->truth != NULL;
    ddw_text b = {NULL, 0, 0};
    ddw_text_printf(&b, "{\n  \"result\": ");
    ddw_text_json_str(&b, info->result);
    ddw_text_printf(&b, ",\n  \"refine\": ");
    ddw_text_json_str(&b, info->refine);
    ddw_text_printf(&b, ",\n  \"grid\": [");
    for (size_t g = 0; g < npoints; g++) {
        ddw_text_printf(&b, "%s\n    ", g ? "," : "");
        sb_point(&b, &p[g], with_truth);
    }
    ddw_text_printf(&b, "\n  ]");
    if (with_truth && npoints > 0) {
        ddw_text_printf(&b, ",\n  \"best\": ");
        sb_point(&b, &p[ddw_sweep_best(p, npoints)], 1);
    }
    ddw_text_printf(&b, "\n}");
    return b.p;
}

void ddw_sweep_print_table(FILE *out, const ddw_sweep_info *info, const ddw_sweep_point *p,
                           size_t npoints)
{
    int with_truth = info->truth != NULL;
    char kept[32], link[32];
    ddw_sweep_fmt_double(kept, info->kept_above);
    ddw_sweep_fmt_double(link, info->link_threshold);
    fprintf(out, "sweep of %s (linked at threshold %s): %llu records, %llu scored pairs kept "
                 "(weight >= %s), refine %s", info->result, link,
            (unsigned long long)info->records, (unsigned long long)info->edges, kept,
            info->refine);
    if (with_truth)
        fprintf(out, "; truth %s", info->truth);
    fprintf(out, "\n  %9s %9s %10s %8s %8s", "threshold", "persons", "edges", "skipped",
            "largest");
    if (with_truth)
        fprintf(out, " %8s %8s %8s %8s %8s %8s %8s %8s", "pair P", "pair R", "pair F1", "B3 P",
                "B3 R", "B3 F1", "split", "merged");
    fputc('\n', out);
    for (size_t g = 0; g < npoints; g++) {
        char th[32];
        ddw_sweep_fmt_double(th, p[g].threshold);
        fprintf(out, "  %9s %9llu %10llu %8llu %8llu", th, (unsigned long long)p[g].persons,
                (unsigned long long)p[g].edges, (unsigned long long)p[g].edges_skipped,
                (unsigned long long)p[g].largest_cluster);
        if (with_truth) {
            const ddw_eval_metrics *m = &p[g].eval;
            fprintf(out, " %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8llu %8llu", m->pair_precision,
                    m->pair_recall, m->pair_f1, m->bcubed_precision, m->bcubed_recall,
                    m->bcubed_f1, (unsigned long long)m->true_persons_split,
                    (unsigned long long)m->found_persons_merged);
        }
        fputc('\n', out);
    }
    if (with_truth && npoints > 0) {
        const ddw_sweep_point *b = &p[ddw_sweep_best(p, npoints)];
        char th[32];
        ddw_sweep_fmt_double(th, b->threshold);
        fprintf(out, "best pair F1 %.6f at threshold %s (pair precision %.6f, recall %.6f; "
                     "B-cubed F1 %.6f; %llu persons found, %llu true)\n",
                b->eval.pair_f1, th, b->eval.pair_precision, b->eval.pair_recall,
                b->eval.bcubed_f1, (unsigned long long)b->persons,
                (unsigned long long)b->eval.persons_true);
    }
}
