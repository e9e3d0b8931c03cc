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
 */
#include "ddw_compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int text_equal(const ddw_recs *ra, const ddw_fval *a, const ddw_recs *rb,
                      const ddw_fval *b)
{
    return a->h == b->h && a->len == b->len &&
           memcmp(ddw_recs_text(ra, a), ddw_recs_text(rb, b), a->len) == 0;
}

char ddw_compare_pnc_letter(unsigned yy, unsigned long serial)
{
    static const char letters[] = "ZABCDEFGHJKLMNPQRTUVWXY";
    unsigned long long v = (unsigned long long)(yy % 100) * 10000000ULL + serial % 10000000UL;
    return letters[v % 23];
}

int ddw_compare_pnc_valid(const char *s, size_t n)
{
    char d[24];
    size_t nd = 0, i = 0;
    while (i < n && (s[i] == ' ' || (s[i] >= '0' && s[i] <= '9'))) {
        if (s[i] != ' ') {
            if (nd == sizeof d)
                return 0;
            d[nd++] = s[i];
        }
        i++;
    }
    if (i + 1 != n || s[i] < 'A' || s[i] > 'Z' || nd < 3)
        return 0;
    size_t ys = nd > 9 ? 2 : 0; /* a four-digit year: its last two digits */
    if (nd - ys - 2 > 7)
        return 0;
    unsigned long long v = (unsigned long long)(d[ys] - '0') * 10 + (unsigned)(d[ys + 1] - '0');
    unsigned long long serial = 0;
    for (size_t k = ys + 2; k < nd; k++)
        serial = serial * 10 + (unsigned)(d[k] - '0');
    return s[i] == ddw_compare_pnc_letter((unsigned)v, (unsigned long)serial);
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

int ddw_compare_level(const ddw_compare_cfg *cc, const ddw_recs *ra, size_t i,
                      const ddw_recs *rb, size_t j)
{
    const ddw_fval *a = &ra->f[cc->field][i];
    const ddw_fval *b = &rb->f[cc->field][j];
    if (a->h == 0 || b->h == 0)
        return 0;
    if (cc->unless > 0) {
        int o = cc->unless - 1;
        if (ra->f[o] && rb->f[o] && ra->f[o][i].h != 0 && rb->f[o][j].h != 0)
            return 0; /* both have the other field: it is compared instead */
    }
    int is_date = ddw_field_type_of(cc->field) == DDW_FT_DATE;
    const char *ta = is_date ? NULL : ddw_recs_text(ra, a);
    const char *tb = is_date ? NULL : ddw_recs_text(rb, b);
    /* each similarity is computed at most once per pair, however many
     * levels test it (e.g. jw>=0.94 then jw>=0.88) */
    double jw = -1, jaro = -1;
    int dl = -1, lev = -1, ya = 0, ma = 0, da = 0, yb = 0, mb = 0, db = 0, civil = 0;
    for (int l = 0; l < cc->nlevels; l++) {
        const ddw_level_cfg *lv = &cc->levels[l];
        int hit = 0;
        switch ((ddw_level_kind)lv->kind) {
        case DDW_LV_ELSE:
            hit = 1;
            break;
        case DDW_LV_EXACT:
            hit = is_date ? a->date == b->date : text_equal(ra, a, rb, b);
            break;
        case DDW_LV_JW:
            if (jw < 0)
                jw = ddw_strsim_jaro_winkler(ta, a->len, tb, b->len);
            hit = jw >= lv->param;
            break;
        case DDW_LV_JARO:
            if (jaro < 0)
                jaro = ddw_strsim_jaro(ta, a->len, tb, b->len);
            hit = jaro >= lv->param;
            break;
        case DDW_LV_DL:
            if (dl < 0)
                dl = ddw_strsim_damerau_levenshtein(ta, a->len, tb, b->len);
            hit = dl <= lv->param;
            break;
        case DDW_LV_LEV:
            if (lev < 0)
                lev = ddw_strsim_levenshtein(ta, a->len, tb, b->len);
            hit = lev <= lv->param;
            break;
        case DDW_LV_SOUNDEX:
            hit = a->code[0] != '\0' && strcmp(a->code, b->code) == 0;
            break;
        case DDW_LV_INITIAL:
            hit = ta[0] == tb[0];
            break;
        case DDW_LV_SWAP: {
            ddw_field o = cc->field == DDW_F_FORENAME ? DDW_F_SURNAME : DDW_F_FORENAME;
            if ((cc->field != DDW_F_FORENAME && cc->field != DDW_F_SURNAME) || !ra->f[o] ||
                !rb->f[o])
                break;
            const ddw_fval *ao = &ra->f[o][i], *bo = &rb->f[o][j];
            hit = ao->h && bo->h && text_equal(ra, a, rb, bo) && text_equal(ra, ao, rb, b);
            break;
        }
        case DDW_LV_VALID_DIFF:
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
