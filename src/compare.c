/*
 * compare.c - comparison methods and their level predicates.
 *
 * A method is a named set of predicates that make sense for its field
 * type: "exact" (any field), "string" (text: exact, Jaro-Winkler, Jaro,
 * Damerau-Levenshtein, Levenshtein, Soundex, initial), "date" (exact,
 * day/month swap, within N days, same year).  A comparison lists levels in
 * order; the first predicate that holds gives the level.  Cheap predicates
 * (hash equality, integer dates) come first in typical configs, so most
 * pairs never touch string bytes.
 *
 * One function (eval_level) holds every predicate, for both entry points:
 * ddw_compare_level, which works from the stored values alone, and the
 * comparison plan of the scoring loop, which adds per-unit record features.
 * The plan's Jaro bound is where most of its time goes: Jaro matches only
 * equal bytes, so per-record byte-class counts bound the matches m, hence
 * Jaro <= (m/la + m/lb + 1)/3 and Jaro-Winkler with it; for the typical
 * pair of unrelated names that bound is far below the lowest jw threshold
 * and the similarity is never computed.  The bound must only ever skip
 * pairs that really fail, so it is applied with a margin (BOUND_MARGIN) far
 * above floating-point rounding, and levels stay exactly ddw_compare_level's.
 */
#include "ddw_compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ddw_norm.h"
#include "ddw_strsim.h"

#define FT(t) (1u << (t))

/* Which predicates each method accepts, indexed like the method table. */
static const unsigned method_kinds[] = {
    /* exact  */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT),
    /* string */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT) | (1u << DDW_LV_JW) |
        (1u << DDW_LV_JARO) | (1u << DDW_LV_DL) | (1u << DDW_LV_LEV) |
        (1u << DDW_LV_SOUNDEX) | (1u << DDW_LV_INITIAL) | (1u << DDW_LV_SWAP),
    /* date   */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT) | (1u << DDW_LV_SWAP_DM) |
        (1u << DDW_LV_DAYS) | (1u << DDW_LV_YEAR) | (1u << DDW_LV_YEAR1) |
        (1u << DDW_LV_DIGIT1) | (1u << DDW_LV_JAN1),
    /* pnc    */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT) | (1u << DDW_LV_DL) |
        (1u << DDW_LV_VALID_DIFF),
    /* number */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT) | (1u << DDW_LV_ABS),
    /* postcode */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT) | (1u << DDW_LV_SECTOR) |
        (1u << DDW_LV_DISTRICT) | (1u << DDW_LV_AREA),
};

static const ddw_compare_method methods[] = {
    {"exact", FT(DDW_FT_TEXT) | FT(DDW_FT_DATE) | FT(DDW_FT_SEX), "exact, else"},
    {"string", FT(DDW_FT_TEXT),
     "exact, jw>=X (Jaro-Winkler), jaro>=X, dl<=N (Damerau-Levenshtein), lev<=N, "
     "soundex, initial (same first letter, e.g. an initial against a full name), swap "
     "(forename/surname only: the two names swapped between the records), else"},
    {"date", FT(DDW_FT_DATE),
     "exact, swap_dm (day and month swapped), days<=N, year (same year), year1 (same day "
     "and month, years one apart), digit1 (YYYYMMDD differ in one digit), jan1 (same year "
     "and either is 1 January: a placeholder), else"},
    {"pnc", FT(DDW_FT_TEXT),
     "exact, dl<=N (a typo), valid_diff (both valid PNC IDs and different: strong evidence "
     "against), else"},
    {"number", FT(DDW_FT_TEXT),
     "exact, abs<=X (integers at most X apart; the leading integer of the value), else"},
    {"postcode", FT(DDW_FT_TEXT),
     "exact, sector (outward code + first inward digit), district (outward code), area "
     "(leading letters), else; spaces ignored, the inward code is the last 3 characters"},
};

int ddw_compare_nmethods(void) { return (int)(sizeof methods / sizeof methods[0]); }
const ddw_compare_method *ddw_compare_method_at(int i) { return &methods[i]; }

int ddw_compare_method_find(const char *name)
{
    for (int i = 0; i < ddw_compare_nmethods(); i++)
        if (strcmp(methods[i].name, name) == 0)
            return i;
    return -1;
}

static int parse_param(const char *s, const char *prefix, double lo, double hi, double *out)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0)
        return 0;
    char *end = NULL;
    double v = strtod(s + n, &end);
    if (end == s + n || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 1;
}

ddw_status ddw_compare_parse_level(int method, const char *spec, ddw_level_cfg *out)
{
    static const struct {
        const char *prefix;
        ddw_level_kind kind;
        double lo, hi; /* parameter bounds; lo > hi means no parameter */
    } syn[] = {
        {"else", DDW_LV_ELSE, 1, 0},       {"exact", DDW_LV_EXACT, 1, 0},
        {"soundex", DDW_LV_SOUNDEX, 1, 0}, {"initial", DDW_LV_INITIAL, 1, 0},
        {"swap_dm", DDW_LV_SWAP_DM, 1, 0}, {"year", DDW_LV_YEAR, 1, 0},
        {"swap", DDW_LV_SWAP, 1, 0},       {"year1", DDW_LV_YEAR1, 1, 0},
        {"digit1", DDW_LV_DIGIT1, 1, 0},   {"jan1", DDW_LV_JAN1, 1, 0},
        {"valid_diff", DDW_LV_VALID_DIFF, 1, 0}, {"sector", DDW_LV_SECTOR, 1, 0},
        {"district", DDW_LV_DISTRICT, 1, 0}, {"area", DDW_LV_AREA, 1, 0},
        {"abs<=", DDW_LV_ABS, 0, 1e15},
        {"jw>=", DDW_LV_JW, 0, 1},         {"jaro>=", DDW_LV_JARO, 0, 1},
        {"dl<=", DDW_LV_DL, 0, 64},        {"lev<=", DDW_LV_LEV, 0, 64},
        {"days<=", DDW_LV_DAYS, 0, 100000},
    };
    if (method < 0 || method >= ddw_compare_nmethods())
        return DDW_EINVAL;
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < sizeof syn / sizeof syn[0]; k++) {
        int ok;
        if (syn[k].lo > syn[k].hi)
            ok = strcmp(spec, syn[k].prefix) == 0;
        else
            ok = parse_param(spec, syn[k].prefix, syn[k].lo, syn[k].hi, &out->param);
        if (ok < 0)
            return DDW_EINVAL;
        if (ok == 0)
            continue;
        if (!(method_kinds[method] & (1u << syn[k].kind)))
            return DDW_EINVAL;
        out->kind = syn[k].kind;
        snprintf(out->label, sizeof out->label, "%s", spec);
        return DDW_OK;
    }
    return DDW_EINVAL;
}

/* strcmp(a, b) == 0 for NUL-terminated codes of a ddw_fval (no library call). */
static inline int code_equal(const char *a, const char *b)
{
    for (size_t k = 0; k < sizeof ((ddw_fval *)0)->code; k++) {
        if (a[k] != b[k])
            return 0;
        if (a[k] == '\0')
            return 1;
    }
    return 1;
}

static inline int text_equal(const ddw_recs *ra, const ddw_fval *a, const ddw_recs *rb,
                             const ddw_fval *b)
{
    return a->h == b->h && a->len == b->len &&
           ddw_bytes_equal(ddw_recs_text(ra, a), ddw_recs_text(rb, b), a->len);
}

char ddw_compare_pnc_letter(unsigned yy, unsigned long serial)
{
    static const char letters[] = "ZABCDEFGHJKLMNPQRTUVWXY";
    unsigned long long v = (unsigned long long)(yy % 100) * 10000000ULL + serial % 10000000UL;
    return letters[v % 23];
}

int ddw_compare_pnc_valid(const char *s, size_t n)
{
    static const char letters[] = "ZABCDEFGHJKLMNPQRTUVWXY";
    /* at most 11 digits can be valid (a four-digit year, a 7-digit serial) */
    unsigned char d[11];
    size_t nd = 0, i = 0;
    if (n < 4 || s[n - 1] < 'A' || s[n - 1] > 'Z')
        return 0;
    for (; i + 1 < n; i++) {
        unsigned c = (unsigned char)s[i];
        if (c == ' ')
            continue;
        if (c - '0' > 9 || nd == sizeof d)
            return 0;
        d[nd++] = (unsigned char)(c - '0');
    }
    if (nd < 3)
        return 0;
    size_t ys = nd > 9 ? 2 : 0; /* a four-digit year: its last two digits */
    if (nd - ys - 2 > 7)
        return 0;
    uint32_t serial = 0;
    for (size_t k = ys + 2; k < nd; k++)
        serial = serial * 10 + d[k];
    /* ddw_compare_pnc_letter's value, below 10^9: fits 32 bits */
    uint32_t v = (uint32_t)(d[ys] * 10 + d[ys + 1]) * 10000000u + serial;
    return s[n - 1] == letters[v % 23];
}

void ddw_compare_pnc_keys(const ddw_recs *r, uint64_t *key)
{
    const ddw_fval *v = r->f[DDW_F_PNC_ID];
    for (size_t i = 0; i < r->n; i++)
        key[i] = v && v[i].h && ddw_compare_pnc_valid(ddw_recs_text(r, &v[i]), v[i].len)
                     ? v[i].h
                     : 0;
}

/* Postcode parts of normalised text (spaces dropped): outward code length,
 * and the length of its leading letters.  0 when too short to split. */
static size_t pc_compact(const char *t, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        if (t[i] != ' ')
            out[k++] = t[i];
    out[k] = '\0';
    return k;
}

static int pc_part(const char *t, size_t n, int kind, char *out, size_t cap)
{
    char c[32];
    size_t k = pc_compact(t, n, c, sizeof c);
    if (k < 5)
        return 0;
    size_t outward = k - 3, len;
    if (kind == DDW_LV_SECTOR)
        len = outward + 1;
    else if (kind == DDW_LV_DISTRICT)
        len = outward;
    else
        for (len = 0; len < outward && c[len] >= 'A' && c[len] <= 'Z'; len++)
            ;
    if (len == 0 || len >= cap)
        return 0;
    memcpy(out, c, len);
    out[len] = '\0';
    return 1;
}

static long long leading_int(const char *t, size_t n, int *ok)
{
    long long v = 0;
    size_t i = 0;
    while (i < n && t[i] == ' ')
        i++;
    *ok = i < n && t[i] >= '0' && t[i] <= '9';
    while (i < n && t[i] >= '0' && t[i] <= '9' && v < 1000000000000000LL)
        v = v * 10 + (t[i++] - '0');
    return v;
}

static int one_digit_apart(int ya, int ma, int da, int yb, int mb, int db)
{
    int va[8] = {ya / 1000 % 10, ya / 100 % 10, ya / 10 % 10, ya % 10,
                 ma / 10,        ma % 10,       da / 10,      da % 10};
    int vb[8] = {yb / 1000 % 10, yb / 100 % 10, yb / 10 % 10, yb % 10,
                 mb / 10,        mb % 10,       db / 10,      db % 10};
    int diff = 0;
    for (int k = 0; k < 8; k++)
        diff += va[k] != vb[k];
    return diff == 1;
}

/* ---- features for the plan ------------------------------------------------
 *
 * Class counts: a value's bytes (its first DDW_STRSIM_MAXLEN, as the
 * similarity kernels see them) counted in 32 classes, 'A'..'Z' one each and
 * every other byte in class 26.  Jaro only matches equal bytes, which share
 * a class, so its number of matches m is at most the sum over classes of
 * the smaller count; with m bounded, so are Jaro and Jaro-Winkler.
 */
#define NCLASS 32

static const unsigned char byte_class[256] = {
#define O26 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26
    O26, O26, O26, O26, /* 0x00-0x3f */
    26, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40-0x4f */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 26, 26, 26, 26, /* 0x50-0x5f */
    O26, O26, O26, O26, O26, O26, O26, O26, O26, O26, /* 0x60-0xff */
#undef O26
};

static void class_counts(const char *s, size_t n, unsigned char cnt[NCLASS])
{
    const unsigned char *u = (const unsigned char *)s;
    if (n > DDW_STRSIM_MAXLEN)
        n = DDW_STRSIM_MAXLEN;
    memset(cnt, 0, NCLASS);
    for (size_t k = 0; k < n; k++)
        cnt[byte_class[u[k]]]++;
}

/* Sum over classes of the smaller count: a bound on Jaro's matches. */
static inline unsigned common_count(const unsigned char *x, const unsigned char *y)
{
#if defined(__SSE2__)
    __m128i lo = _mm_min_epu8(_mm_loadu_si128((const __m128i *)x),
                              _mm_loadu_si128((const __m128i *)y));
    __m128i hi = _mm_min_epu8(_mm_loadu_si128((const __m128i *)(x + 16)),
                              _mm_loadu_si128((const __m128i *)(y + 16)));
    __m128i z = _mm_setzero_si128();
    __m128i sum = _mm_add_epi64(_mm_sad_epu8(lo, z), _mm_sad_epu8(hi, z));
    return (unsigned)(_mm_cvtsi128_si32(sum) + _mm_cvtsi128_si32(_mm_unpackhi_epi64(sum, sum)));
#else
    unsigned m = 0;
    for (int k = 0; k < NCLASS; k++)
        m += x[k] < y[k] ? x[k] : y[k];
    return m;
#endif
}

/* The first min(8, n) bytes of s, little-endian, zero-filled; readable = bytes
 * of s that may be read (>= n). */
static inline uint64_t head8(const char *s, size_t n, size_t readable)
{
    const unsigned char *u = (const unsigned char *)s;
    uint64_t h = 0;
    if (readable >= 8) {
        memcpy(&h, u, 8); /* one load */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        h = __builtin_bswap64(h);
#endif
        return n >= 8 ? h : h & ((UINT64_C(1) << (8 * n)) - 1);
    }
    for (size_t k = 0; k < n && k < 8; k++)
        h |= (uint64_t)u[k] << (8 * k);
    return h;
}

/* Length of the common prefix, at most 4, of two values from their heads. */
static inline size_t head_prefix(uint64_t ha, size_t la, uint64_t hb, size_t lb)
{
    uint64_t x = ha ^ hb;
    size_t l = 0;
    while (l < 4 && !(x & 0xffu)) {
        x >>= 8;
        l++;
    }
    if (l > la)
        l = la;
    return l > lb ? lb : l;
}

/* Features of one record's value of one comparison (unused parts are 0). */
typedef struct {
    uint64_t head; /* first 8 bytes of a text value, zero-filled */
    uint32_t pnc;  /* 1 if a PNC ID with a valid check letter (valid_diff levels) */
    uint32_t cnt;  /* offset of its class counts in the plan's count scratch */
} rec_feat;

/* Margin below a threshold that a bound must clear: far above the rounding
 * error of the similarity (a few ulp of 1), far below any threshold step
 * that matters. */
#define BOUND_MARGIN 1e-9

/* What eval_level does for a comparison: all levels in turn, or a shortcut. */
enum { RUN_LEVELS, RUN_EXACT_TEXT, RUN_EXACT_DATE };

/* One comparison bound to the plan's record set. */
typedef struct {
    const ddw_compare_cfg *cc;
    int is_date;
    int run;            /* RUN_*: "exact, else" on its own needs no level loop */
    int need_head;      /* first bytes (Jaro-Winkler, Jaro, initial levels) */
    int need_cnt;       /* class counts (Jaro-Winkler or Jaro levels) */
    int need_pnc;       /* PNC validity (valid_diff levels) */
    int need_feat;      /* any of the three */
    const ddw_fval *v;  /* the field's column */
    const ddw_fval *uo; /* the 'unless' field's column, NULL = never skipped */
    const ddw_fval *so; /* swap: the other name's column, NULL = never a swap */
    /* Jaro-Winkler with common prefix p is below every jw threshold when
     * Jaro < jw_g[p]; jw_c[p] = 3 jw_g[p] - 1.  Likewise jaro_g, jaro_c. */
    double jw_g[5], jw_c[5], jaro_g, jaro_c;
} plan_comp;

struct ddw_compare_plan {
    const ddw_recs *r;
    const uint32_t *rec_of; /* record at each position (NULL: the position itself) */
    int ncompare;
    int ncnt; /* comparisons with class counts */
    plan_comp comp[DDW_MAX_COMPARE];
    /* the current unit: records [a0,a1) at slots 0.., then [b0,b1) */
    size_t a0, a1, b0, b1;
    size_t cap;            /* slots the scratch holds */
    rec_feat *feat;        /* cap x ncompare, slot-major */
    unsigned char *counts; /* cap x ncnt x NCLASS class counts */
};

/* Text equality in the plan: short values compare by their heads. */
static inline int plan_text_equal(const ddw_recs *r, const ddw_fval *a, const ddw_fval *b,
                                  const rec_feat *fa, const rec_feat *fb, int need_head)
{
    if (a->h != b->h || a->len != b->len)
        return 0;
    if (a->len <= 8 && need_head)
        return fa->head == fb->head;
    return ddw_bytes_equal(ddw_recs_text(r, a), ddw_recs_text(r, b), a->len);
}

/*
 * The level of pair (i, j) on comparison cc: the one implementation behind
 * ddw_compare_level (pc == NULL: everything from the values) and the plan
 * (pc != NULL, ra == rb == the plan's records, fa / fb the two records'
 * features: Jaro-Winkler / Jaro skipped when the class-count bound shows that
 * every such level must fail, PNC validity precomputed).  Both give the
 * same level.
 */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int eval_level(const ddw_compare_cfg *cc, const ddw_recs *ra, size_t i,
                             const ddw_recs *rb, size_t j, const plan_comp *pc,
                             const rec_feat *fa, const rec_feat *fb, const unsigned char *cnt)
{
    const ddw_fval *a = pc ? &pc->v[i] : &ra->f[cc->field][i];
    const ddw_fval *b = pc ? &pc->v[j] : &rb->f[cc->field][j];
    if (a->h == 0 || b->h == 0)
        return 0;
    if (cc->unless > 0) {
        if (pc) {
            if (pc->uo && pc->uo[i].h != 0 && pc->uo[j].h != 0)
                return 0;
        } else {
            int o = cc->unless - 1;
            if (ra->f[o] && rb->f[o] && ra->f[o][i].h != 0 && rb->f[o][j].h != 0)
                return 0; /* both have the other field: it is compared instead */
        }
    }
    int is_date = pc ? pc->is_date : ddw_field_type_of(cc->field) == DDW_FT_DATE;
    const char *ta = is_date ? NULL : ddw_recs_text(ra, a);
    const char *tb = is_date ? NULL : ddw_recs_text(rb, b);
    /* each similarity is computed at most once per pair, however many
     * levels test it (e.g. jw>=0.94 then jw>=0.88) */
    double jw = -1, jaro = -1;
    int bounded = 0, jw_low = 0, jaro_low = 0; /* jw_low: below every jw threshold */
    int ya = 0, ma = 0, da = 0, yb = 0, mb = 0, db = 0, civil = 0;
    for (int l = 0; l < cc->nlevels; l++) {
        const ddw_level_cfg *lv = &cc->levels[l];
        int hit = 0;
        switch ((ddw_level_kind)lv->kind) {
        case DDW_LV_ELSE:
            hit = 1;
            break;
        case DDW_LV_EXACT:
            if (is_date)
                hit = a->date == b->date;
            else
                hit = pc ? plan_text_equal(ra, a, b, fa, fb, pc->need_head)
                         : text_equal(ra, a, rb, b);
            break;
        case DDW_LV_JW:
        case DDW_LV_JARO:
            if (pc && !bounded) {
                /* jaro <= J = (m/la + m/lb + 1)/3 (0 when m = 0), and
                 * J < G  <=>  m (la + lb) < (3G - 1) la lb  for m > 0 */
                bounded = 1;
                size_t la = a->len > DDW_STRSIM_MAXLEN ? DDW_STRSIM_MAXLEN : a->len;
                size_t lb = b->len > DDW_STRSIM_MAXLEN ? DDW_STRSIM_MAXLEN : b->len;
                unsigned m = common_count(cnt + fa->cnt, cnt + fb->cnt);
                size_t pre = head_prefix(fa->head, la, fb->head, lb);
                double lhs = (double)(m * (la + lb)), ll = (double)(la * lb);
                if (la && lb) { /* (present values are never empty) */
                    jw_low = m ? lhs < pc->jw_c[pre] * ll : pc->jw_g[pre] > 0;
                    jaro_low = m ? lhs < pc->jaro_c * ll : pc->jaro_g > 0;
                }
            }
            if (lv->kind == DDW_LV_JW) {
                if (jw < 0 && !jw_low)
                    jw = ddw_strsim_jaro_winkler(ta, a->len, tb, b->len);
                hit = !jw_low && jw >= lv->param;
            } else {
                if (jaro < 0 && !jaro_low)
                    jaro = ddw_strsim_jaro(ta, a->len, tb, b->len);
                hit = !jaro_low && jaro >= lv->param;
            }
            break;
        case DDW_LV_DL: /* dl <= param, param in [0, 64]: dl <= floor(param) */
            hit = ddw_strsim_dl_within(ta, a->len, tb, b->len, (int)lv->param);
            break;
        case DDW_LV_LEV:
            hit = ddw_strsim_lev_within(ta, a->len, tb, b->len, (int)lv->param);
            break;
        case DDW_LV_SOUNDEX:
            hit = a->code[0] != '\0' && code_equal(a->code, b->code);
            break;
        case DDW_LV_INITIAL:
            hit = pc ? (fa->head & 0xffu) == (fb->head & 0xffu) : ta[0] == tb[0];
            break;
        case DDW_LV_SWAP: {
            const ddw_fval *ao, *bo;
            if (pc) {
                if (!pc->so)
                    break;
                ao = &pc->so[i];
                bo = &pc->so[j];
            } else {
                ddw_field o = cc->field == DDW_F_FORENAME ? DDW_F_SURNAME : DDW_F_FORENAME;
                if ((cc->field != DDW_F_FORENAME && cc->field != DDW_F_SURNAME) ||
                    !ra->f[o] || !rb->f[o])
                    break;
                ao = &ra->f[o][i];
                bo = &rb->f[o][j];
            }
            hit = ao->h && bo->h && text_equal(ra, a, rb, bo) && text_equal(ra, ao, rb, b);
            break;
        }
        case DDW_LV_VALID_DIFF:
            if (pc)
                hit = fa->pnc && fb->pnc && !plan_text_equal(ra, a, b, fa, fb, pc->need_head);
            else
                hit = !text_equal(ra, a, rb, b) && ddw_compare_pnc_valid(ta, a->len) &&
                      ddw_compare_pnc_valid(tb, b->len);
            break;
        case DDW_LV_ABS: {
            int oka, okb;
            long long x = leading_int(ta, a->len, &oka), y = leading_int(tb, b->len, &okb);
            hit = oka && okb && (double)(x > y ? x - y : y - x) <= lv->param;
            break;
        }
        case DDW_LV_SECTOR:
        case DDW_LV_DISTRICT:
        case DDW_LV_AREA: {
            char pa[32], pb[32];
            hit = pc_part(ta, a->len, lv->kind, pa, sizeof pa) &&
                  pc_part(tb, b->len, lv->kind, pb, sizeof pb) && strcmp(pa, pb) == 0;
            break;
        }
        case DDW_LV_SWAP_DM:
        case DDW_LV_YEAR:
        case DDW_LV_YEAR1:
        case DDW_LV_DIGIT1:
        case DDW_LV_JAN1:
            if (!civil) {
                ddw_norm_civil_from_days(a->date, &ya, &ma, &da);
                ddw_norm_civil_from_days(b->date, &yb, &mb, &db);
                civil = 1;
            }
            if (lv->kind == DDW_LV_YEAR)
                hit = ya == yb;
            else if (lv->kind == DDW_LV_SWAP_DM)
                hit = ya == yb && ma == db && da == mb && ma != da;
            else if (lv->kind == DDW_LV_YEAR1)
                hit = ma == mb && da == db && (ya - yb == 1 || yb - ya == 1);
            else if (lv->kind == DDW_LV_DIGIT1)
                hit = one_digit_apart(ya, ma, da, yb, mb, db);
            else
                hit = ya == yb && ((ma == 1 && da == 1) || (mb == 1 && db == 1));
            break;
        case DDW_LV_DAYS: {
            int64_t d = (int64_t)a->date - (int64_t)b->date;
            hit = (d < 0 ? -d : d) <= (int64_t)lv->param;
            break;
        }
        default:
            break;
        }
        if (hit)
            return l + 1;
    }
    return cc->nlevels; /* unreachable when the last level is "else" */
}

int ddw_compare_level(const ddw_compare_cfg *cc, const ddw_recs *ra, size_t i,
                      const ddw_recs *rb, size_t j)
{
    return eval_level(cc, ra, i, rb, j, NULL, NULL, NULL, NULL);
}

/* ---- the plan ----------------------------------------------------------- */

static int has_kind(const ddw_compare_cfg *cc, unsigned mask)
{
    for (int l = 0; l < cc->nlevels; l++)
        if (mask & (1u << cc->levels[l].kind))
            return 1;
    return 0;
}

static double lowest_param(const ddw_compare_cfg *cc, int kind)
{
    double lo = 2.0; /* above any similarity: "no such level" never bounds */
    for (int l = 0; l < cc->nlevels; l++)
        if (cc->levels[l].kind == kind && cc->levels[l].param < lo)
            lo = cc->levels[l].param;
    return lo;
}

/* (Re)allocates the scratch for cap slots. */
static void plan_scratch(ddw_compare_plan *p, size_t cap)
{
    free(p->feat);
    free(p->counts);
    p->cap = cap;
    p->feat = ddw_xcalloc(cap * (size_t)(p->ncompare ? p->ncompare : 1), sizeof *p->feat);
    p->counts = ddw_xcalloc(cap * (size_t)(p->ncnt ? p->ncnt : 1) * NCLASS, 1);
}

ddw_status ddw_compare_plan_init(const ddw_config *cfg, const ddw_recs *r,
                                 const uint32_t *rec_of, size_t maxrecs, ddw_compare_plan **out)
{
    *out = NULL;
    if (cfg->ncompare > DDW_MAX_COMPARE)
        return DDW_ECONFIG;
    for (int c = 0; c < cfg->ncompare; c++)
        if (!r->f[cfg->compare[c].field])
            return DDW_EINVAL;
    ddw_compare_plan *p = ddw_xcalloc(1, sizeof *p);
    p->r = r;
    p->rec_of = rec_of;
    p->ncompare = cfg->ncompare;
    for (int c = 0; c < cfg->ncompare; c++) {
        const ddw_compare_cfg *cc = &cfg->compare[c];
        plan_comp *pc = &p->comp[c];
        pc->cc = cc;
        pc->is_date = ddw_field_type_of(cc->field) == DDW_FT_DATE;
        pc->v = r->f[cc->field];
        if (cc->unless > 0)
            pc->uo = r->f[cc->unless - 1];
        if (cc->field == DDW_F_FORENAME || cc->field == DDW_F_SURNAME)
            pc->so = r->f[cc->field == DDW_F_FORENAME ? DDW_F_SURNAME : DDW_F_FORENAME];
        if (cc->nlevels == 2 && cc->levels[0].kind == DDW_LV_EXACT &&
            cc->levels[1].kind == DDW_LV_ELSE)
            pc->run = pc->is_date ? RUN_EXACT_DATE : RUN_EXACT_TEXT;
        if (!pc->is_date) {
            unsigned sim = (1u << DDW_LV_JW) | (1u << DDW_LV_JARO);
            pc->need_head = has_kind(cc, sim | (1u << DDW_LV_INITIAL));
            pc->need_cnt = has_kind(cc, sim);
            pc->need_pnc = has_kind(cc, 1u << DDW_LV_VALID_DIFF);
        }
        pc->need_feat = pc->need_head || pc->need_cnt || pc->need_pnc;
        p->ncnt += pc->need_cnt;
        /* jw = jaro + p 0.1 (1 - jaro) < F  <=>  jaro < (F - 0.1 p) / (1 - 0.1 p) */
        double fjw = lowest_param(cc, DDW_LV_JW) - BOUND_MARGIN;
        for (int q = 0; q <= 4; q++) {
            pc->jw_g[q] = (fjw - 0.1 * q) / (1.0 - 0.1 * q);
            pc->jw_c[q] = 3.0 * pc->jw_g[q] - 1.0;
        }
        pc->jaro_g = lowest_param(cc, DDW_LV_JARO) - BOUND_MARGIN;
        pc->jaro_c = 3.0 * pc->jaro_g - 1.0;
    }
    plan_scratch(p, maxrecs ? maxrecs : 1);
    *out = p;
    return DDW_OK;
}

/* The record at position k. */
static inline size_t rec_at(const ddw_compare_plan *p, size_t k)
{
    return p->rec_of ? p->rec_of[k] : k;
}

/* Features of the records at positions [k0, k1) into slots from s0. */
static void fill_features(ddw_compare_plan *p, size_t k0, size_t k1, size_t s0)
{
    const ddw_recs *r = p->r;
    for (size_t k = k0; k < k1; k++) {
        size_t slot = s0 + k - k0, rk = rec_at(p, k);
        rec_feat *f = p->feat + slot * (size_t)p->ncompare;
        uint32_t coff = (uint32_t)(slot * (size_t)p->ncnt * NCLASS);
        for (int c = 0; c < p->ncompare; c++) {
            const plan_comp *pc = &p->comp[c];
            const ddw_fval *v = &pc->v[rk];
            if (!pc->need_feat || v->h == 0)
                continue; /* missing: the level is 0 */
            const char *t = ddw_recs_text(r, v);
            if (pc->need_head)
                f[c].head = head8(t, v->len, r->alen - v->off);
            if (pc->need_cnt) {
                f[c].cnt = coff;
                class_counts(t, v->len, p->counts + coff);
                coff += NCLASS;
            }
            if (pc->need_pnc)
                f[c].pnc = (uint32_t)ddw_compare_pnc_valid(t, v->len);
        }
    }
}

void ddw_compare_plan_unit(ddw_compare_plan *p, size_t a0, size_t a1, size_t b0, size_t b1)
{
    if (b1 <= b0) {
        b0 = b1 = a1; /* a diagonal unit: one range */
    } else if (b0 <= a1 && a0 <= b1) { /* overlapping or adjacent: their union */
        a0 = a0 < b0 ? a0 : b0;
        a1 = a1 > b1 ? a1 : b1;
        b0 = b1 = a1;
    }
    size_t na = a1 - a0, n = na + (b1 - b0);
    if (n > p->cap)
        plan_scratch(p, n);
    p->a0 = a0;
    p->a1 = a1;
    p->b0 = b0;
    p->b1 = b1;
    fill_features(p, a0, a1, 0);
    fill_features(p, b0, b1, na);
}

/* Scratch slot of record k of the current unit. */
static inline size_t slot_of(const ddw_compare_plan *p, size_t k)
{
    return k >= p->a0 && k < p->a1 ? k - p->a0 : (p->a1 - p->a0) + (k - p->b0);
}

void ddw_compare_plan_levels(const ddw_compare_plan *p, size_t pi, size_t pj, uint8_t *lv)
{
    const rec_feat *fi = p->feat + slot_of(p, pi) * (size_t)p->ncompare;
    const rec_feat *fj = p->feat + slot_of(p, pj) * (size_t)p->ncompare;
    size_t i = rec_at(p, pi), j = rec_at(p, pj);
    for (int c = 0; c < p->ncompare; c++) {
        const plan_comp *pc = &p->comp[c];
        if (pc->run == RUN_LEVELS) {
            lv[c] = (uint8_t)eval_level(pc->cc, p->r, i, p->r, j, pc, fi + c, fj + c,
                                        p->counts);
            continue;
        }
        /* "exact, else": the level loop without the loop */
        const ddw_fval *a = &pc->v[i], *b = &pc->v[j];
        if (a->h == 0 || b->h == 0 || (pc->uo && pc->uo[i].h != 0 && pc->uo[j].h != 0))
            lv[c] = 0;
        else if (pc->run == RUN_EXACT_DATE)
            lv[c] = a->date == b->date ? 1 : 2;
        else
            lv[c] = plan_text_equal(p->r, a, b, fi + c, fj + c, pc->need_head) ? 1 : 2;
    }
}


void ddw_compare_plan_prefetch(const ddw_compare_plan *p, size_t k0, size_t k1, int text)
{
    if (k1 <= k0)
        return;
    for (int c = 0; c < p->ncompare; c++) {
        const plan_comp *pc = &p->comp[c];
        if (!text && !p->rec_of)
            ddw_prefetch_bytes(pc->v + k0, pc->v + k1);
        else if (!text)
            for (size_t k = k0; k < k1; k++)
                DDW_PREFETCH(pc->v + p->rec_of[k]);
        else if (pc->need_feat) /* the texts features read; a record's texts are adjacent */
            for (size_t k = k0; k < k1; k++)
                DDW_PREFETCH(p->r->arena + pc->v[rec_at(p, k)].off);
    }
}

void ddw_compare_plan_free(ddw_compare_plan **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->feat);
    free((*p)->counts);
    free(*p);
    *p = NULL;
}
