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
        (1u << DDW_LV_SOUNDEX) | (1u << DDW_LV_INITIAL),
    /* date   */ (1u << DDW_LV_ELSE) | (1u << DDW_LV_EXACT) | (1u << DDW_LV_SWAP_DM) |
        (1u << DDW_LV_DAYS) | (1u << DDW_LV_YEAR),
};

static const ddw_compare_method methods[] = {
    {"exact", FT(DDW_FT_TEXT) | FT(DDW_FT_DATE) | FT(DDW_FT_SEX), "exact, else"},
    {"string", FT(DDW_FT_TEXT),
     "exact, jw>=X (Jaro-Winkler), jaro>=X, dl<=N (Damerau-Levenshtein), lev<=N, "
     "soundex, initial (same first letter), else"},
    {"date", FT(DDW_FT_DATE),
     "exact, swap_dm (day and month swapped), days<=N, year (same year), else"},
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


int ddw_compare_level(const ddw_compare_cfg *cc, const ddw_recs *ra, size_t i,
                      const ddw_recs *rb, size_t j)
{
    const ddw_fval *a = &ra->f[cc->field][i];
    const ddw_fval *b = &rb->f[cc->field][j];
    if (a->h == 0 || b->h == 0)
        return 0;
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
        case DDW_LV_SWAP_DM:
        case DDW_LV_YEAR:
            if (!civil) {
                ddw_norm_civil_from_days(a->date, &ya, &ma, &da);
                ddw_norm_civil_from_days(b->date, &yb, &mb, &db);
                civil = 1;
            }
            hit = lv->kind == DDW_LV_YEAR ? ya == yb
                                          : ya == yb && ma == db && da == mb && ma != da;
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
