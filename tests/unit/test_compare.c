/*
 * test_compare.c - unit tests for the comparison methods (src/compare.c):
 * which level specifications each method accepts (ddw_compare_parse_level)
 * and which level ddw_compare_level returns for hand-built record pairs.
 *
 * Trade-off: comparisons are built directly (levels parsed one by one, no
 * INI text) and records are filled with already-normalised values through
 * the ddw_recs API, so a failure points at compare.c rather than at the
 * config parser or the normaliser.  The string pairs were chosen so that
 * their similarities sit well away from the configured thresholds (values
 * noted beside each case), which keeps the expected level unambiguous.
 * Every case asserts the exact 1-based level (0 = missing) and that the
 * result does not depend on argument order.  The comparison plan (the
 * scoring loop's path: per-unit features, a Jaro bound) is checked against
 * ddw_compare_level on every pair of many units of random records covering
 * every predicate, and with thresholds set exactly on computed values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_compare.h"
#include "ddw_norm.h"
#include "ddw_records.h"
#include "ddw_strsim.h"

#define FIELDS ((1u << DDW_F_FORENAME) | (1u << DDW_F_DOB) | (1u << DDW_F_SEX))

/* Builds comparison cc of field f with the n level specs (all must parse). */
static void make_cc(ddw_compare_cfg *cc, ddw_field f, const char *method,
                    const char *const *levels, int n)
{
    memset(cc, 0, sizeof *cc);
    cc->field = f;
    cc->method = ddw_compare_method_find(method);
    assert_true(cc->method >= 0);
    cc->nlevels = n;
    for (int l = 0; l < n; l++) {
        if (ddw_compare_parse_level(cc->method, levels[l], &cc->levels[l]) != DDW_OK)
            fail_msg("level '%s' rejected for method %s", levels[l], method);
        cc->m[l] = cc->u[l] = 1.0 / n;
    }
}

/* Appends a record whose field f is the text s (NULL = missing). */
static size_t push_text(ddw_recs *r, ddw_field f, const char *s)
{
    size_t i = ddw_recs_push(r, DDW_KEY(0, r->n + 2));
    if (s)
        ddw_recs_set_text(r, i, f, s, strlen(s));
    return i;
}

/* Appends a record whose dob is y-m-d (y == 0: missing). */
static size_t push_dob(ddw_recs *r, int y, int m, int d)
{
    size_t i = ddw_recs_push(r, DDW_KEY(0, r->n + 2));
    ddw_recs_set_date(r, i, DDW_F_DOB,
                      y ? ddw_norm_days_from_civil(y, m, d) : DDW_DATE_MISSING);
    return i;
}

/* Level of the pair (i, j) within one record set; checks symmetry. */
static int level(const ddw_compare_cfg *cc, const ddw_recs *r, size_t i, size_t j)
{
    int a = ddw_compare_level(cc, r, i, r, j);
    int b = ddw_compare_level(cc, r, j, r, i);
    assert_int_equal(a, b);
    return a;
}

/* Level of two text values, each in a record set of its own. */
static int text_level(const ddw_compare_cfg *cc, const char *a, const char *b)
{
    ddw_recs ra, rb;
    ddw_recs_init(&ra, FIELDS);
    ddw_recs_init(&rb, FIELDS);
    /* padding so that the two values sit at different arena offsets */
    push_text(&rb, cc->field, "PADDING");
    size_t i = push_text(&ra, cc->field, a);
    size_t j = push_text(&rb, cc->field, b);
    int l1 = ddw_compare_level(cc, &ra, i, &rb, j);
    int l2 = ddw_compare_level(cc, &rb, j, &ra, i);
    assert_int_equal(l1, l2);
    ddw_recs_free(&ra);
    ddw_recs_free(&rb);
    return l1;
}

/* Level of two dates y-m-d (y == 0: missing). */
static int date_level(const ddw_compare_cfg *cc, int y1, int m1, int d1, int y2, int m2, int d2)
{
    ddw_recs r;
    ddw_recs_init(&r, FIELDS);
    size_t i = push_dob(&r, y1, m1, d1);
    size_t j = push_dob(&r, y2, m2, d2);
    int l = level(cc, &r, i, j);
    ddw_recs_free(&r);
    return l;
}

/* ---- level parsing -------------------------------------------------------- */

static int parses(const char *method, const char *spec)
{
    ddw_level_cfg lv;
    return ddw_compare_parse_level(ddw_compare_method_find(method), spec, &lv) == DDW_OK;
}

static void test_methods_table(void **state)
{
    (void)state;
    assert_int_equal(ddw_compare_nmethods(), 6);
    assert_int_equal(ddw_compare_method_find("pnc"), 3);
    assert_int_equal(ddw_compare_method_find("number"), 4);
    assert_int_equal(ddw_compare_method_find("postcode"), 5);
    assert_int_equal(ddw_compare_method_find("exact"), 0);
    assert_int_equal(ddw_compare_method_find("string"), 1);
    assert_int_equal(ddw_compare_method_find("date"), 2);
    assert_int_equal(ddw_compare_method_find("fuzzy"), -1);
    assert_int_equal(ddw_compare_method_find(""), -1);
    for (int i = 0; i < ddw_compare_nmethods(); i++)
        assert_int_equal(ddw_compare_method_find(ddw_compare_method_at(i)->name), i);
    /* field types each method accepts */
    const ddw_compare_method *ex = ddw_compare_method_at(0);
    const ddw_compare_method *st = ddw_compare_method_at(1);
    const ddw_compare_method *dt = ddw_compare_method_at(2);
    assert_true(ex->field_types & (1u << DDW_FT_SEX));
    assert_true(ex->field_types & (1u << DDW_FT_DATE));
    assert_true(st->field_types & (1u << DDW_FT_TEXT));
    assert_false(st->field_types & (1u << DDW_FT_DATE));
    assert_true(dt->field_types & (1u << DDW_FT_DATE));
    assert_false(dt->field_types & (1u << DDW_FT_TEXT));
}

static void test_parse_level_values(void **state)
{
    (void)state;
    ddw_level_cfg lv;
    int str = ddw_compare_method_find("string"), date = ddw_compare_method_find("date");
    assert_int_equal(ddw_compare_parse_level(str, "jw>=0.94", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_JW);
    assert_float_equal(lv.param, 0.94, 1e-12);
    assert_string_equal(lv.label, "jw>=0.94");
    assert_int_equal(ddw_compare_parse_level(str, "jaro>=0.8", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_JARO);
    assert_float_equal(lv.param, 0.8, 1e-12);
    assert_int_equal(ddw_compare_parse_level(str, "dl<=1", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_DL);
    assert_float_equal(lv.param, 1, 0);
    assert_int_equal(ddw_compare_parse_level(str, "lev<=2", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_LEV);
    assert_float_equal(lv.param, 2, 0);
    assert_int_equal(ddw_compare_parse_level(str, "soundex", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_SOUNDEX);
    assert_int_equal(ddw_compare_parse_level(str, "initial", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_INITIAL);
    assert_int_equal(ddw_compare_parse_level(str, "exact", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_EXACT);
    assert_int_equal(ddw_compare_parse_level(str, "else", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_ELSE);
    assert_string_equal(lv.label, "else");
    assert_int_equal(ddw_compare_parse_level(date, "days<=30", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_DAYS);
    assert_float_equal(lv.param, 30, 0);
    assert_string_equal(lv.label, "days<=30");
    assert_int_equal(ddw_compare_parse_level(date, "swap_dm", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_SWAP_DM);
    assert_int_equal(ddw_compare_parse_level(date, "year", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_YEAR);
    assert_int_equal(ddw_compare_parse_level(date, "exact", &lv), DDW_OK);
    assert_int_equal(lv.kind, DDW_LV_EXACT);
}

static void test_parse_level_per_method(void **state)
{
    (void)state;
    /* string */
    assert_true(parses("string", "jw>=0.94"));
    assert_true(parses("string", "jw>=0"));
    assert_true(parses("string", "jw>=1"));
    assert_true(parses("string", "dl<=0"));
    assert_true(parses("string", "lev<=64"));
    assert_false(parses("string", "swap_dm"));
    assert_false(parses("string", "days<=30"));
    assert_false(parses("string", "year"));
    /* date */
    assert_true(parses("date", "days<=30"));
    assert_true(parses("date", "days<=0"));
    assert_false(parses("date", "jw>=0.94"));
    assert_false(parses("date", "jaro>=0.9"));
    assert_false(parses("date", "dl<=1"));
    assert_false(parses("date", "soundex"));
    assert_false(parses("date", "initial"));
    /* exact */
    assert_true(parses("exact", "exact"));
    assert_true(parses("exact", "else"));
    assert_false(parses("exact", "jw>=0.9"));
    assert_false(parses("exact", "soundex"));
    assert_false(parses("exact", "days<=3"));
    assert_false(parses("exact", "swap_dm"));
}

static void test_parse_level_rejects(void **state)
{
    (void)state;
    /* parameters out of range */
    assert_false(parses("string", "jw>=1.5"));
    assert_false(parses("string", "jw>=-0.1"));
    assert_false(parses("string", "jaro>=2"));
    assert_false(parses("string", "dl<=-1"));
    assert_false(parses("string", "dl<=65"));
    assert_false(parses("date", "days<=-1"));
    assert_false(parses("date", "days<=100001"));
    assert_false(parses("date", "days<=inf"));
    /* bad syntax */
    assert_false(parses("string", "garbage"));
    assert_false(parses("string", ""));
    assert_false(parses("string", "jw>="));
    assert_false(parses("string", "jw>=0.9x"));
    assert_false(parses("string", "jw>0.9"));
    assert_false(parses("string", "jw"));
    assert_false(parses("string", "Exact"));
    assert_false(parses("string", "exact "));
    assert_false(parses("string", "elsewhere"));
    assert_false(parses("date", "days<=thirty"));
    /* method out of range */
    ddw_level_cfg lv;
    assert_int_equal(ddw_compare_parse_level(-1, "exact", &lv), DDW_EINVAL);
    assert_int_equal(ddw_compare_parse_level(ddw_compare_nmethods(), "exact", &lv),
                     DDW_EINVAL);
}

/* "nan" is not a number in range: a NaN threshold would never hold (jw)
 * or be converted to an integer with undefined behaviour (days). */
static void test_parse_level_rejects_nan(void **state)
{
    (void)state;
    assert_false(parses("string", "jw>=nan"));
    assert_false(parses("string", "jaro>=NAN"));
    assert_false(parses("string", "dl<=nan"));
    assert_false(parses("date", "days<=nan"));
}

/* ---- string levels ----------------------------------------------------------- */

static void test_string_levels(void **state)
{
    (void)state;
    static const char *const lv[] = {"exact", "jw>=0.94", "jw>=0.80", "soundex", "initial",
                                     "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_FORENAME, "string", lv, 6);
    assert_int_equal(text_level(&cc, "MARTHA", "MARTHA"), 1);
    assert_int_equal(text_level(&cc, "MARTHA", "MARHTA"), 2);   /* jw 0.961 */
    assert_int_equal(text_level(&cc, "DWAYNE", "DUANE"), 3);    /* jw 0.840 */
    assert_int_equal(text_level(&cc, "TYMCZAK", "TEMSIK"), 4);  /* jw 0.679, T522 both */
    assert_int_equal(text_level(&cc, "PFISTER", "PFEIFFER"), 5);/* jw 0.771, P236/P160 */
    assert_int_equal(text_level(&cc, "SMITH", "SANDERS"), 5);   /* jw 0.503, S530/S536 */
    assert_int_equal(text_level(&cc, "SMITH", "JONES"), 6);     /* jw 0, S530/J520 */
    /* exact needs identical bytes, not just a shared prefix */
    assert_int_equal(text_level(&cc, "JOHN", "JOHNS"), 2);      /* jw 0.960 */
    assert_int_equal(text_level(&cc, "JOHN", "JOHNNY"), 3);     /* jw 0.933 */
    /* missing on either side (or both) is level 0, whatever the levels */
    assert_int_equal(text_level(&cc, NULL, "SMITH"), 0);
    assert_int_equal(text_level(&cc, "SMITH", NULL), 0);
    assert_int_equal(text_level(&cc, NULL, NULL), 0);
    /* an empty value is stored as missing */
    assert_int_equal(text_level(&cc, "", "SMITH"), 0);
}

static void test_string_edit_distance(void **state)
{
    (void)state;
    static const char *const lv[] = {"lev<=1", "dl<=1", "jaro>=0.9", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_FORENAME, "string", lv, 4);
    assert_int_equal(text_level(&cc, "SMITH", "SMITH"), 1);   /* lev 0 */
    assert_int_equal(text_level(&cc, "SMITH", "SMYTH"), 1);   /* lev 1 (substitution) */
    assert_int_equal(text_level(&cc, "SMITH", "SMITHE"), 1);  /* lev 1 (insertion) */
    assert_int_equal(text_level(&cc, "SMITH", "SMIHT"), 2);   /* lev 2, dl 1 (transposition) */
    assert_int_equal(text_level(&cc, "ASHCRAFT", "ASHCROFT"), 1);
    assert_int_equal(text_level(&cc, "MARTHA", "MARHTA"), 2); /* lev 2, dl 1 */
    assert_int_equal(text_level(&cc, "SMITH", "SMYTHE"), 4);  /* dl 2, jaro 0.822 */
    assert_int_equal(text_level(&cc, "SMITH", "JONES"), 4);
}

static void test_string_same_set(void **state)
{
    (void)state;
    /* several records in one set: levels are per pair, by index */
    static const char *const lv[] = {"exact", "dl<=1", "initial", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_FORENAME, "string", lv, 4);
    ddw_recs r;
    ddw_recs_init(&r, FIELDS);
    size_t a = push_text(&r, DDW_F_FORENAME, "JOHN");
    size_t b = push_text(&r, DDW_F_FORENAME, "JON");
    size_t c = push_text(&r, DDW_F_FORENAME, "JANE");
    size_t d = push_text(&r, DDW_F_FORENAME, NULL);
    size_t e = push_text(&r, DDW_F_FORENAME, "JOHN");
    size_t f = push_text(&r, DDW_F_FORENAME, "PAUL");
    assert_int_equal(level(&cc, &r, a, a), 1);
    assert_int_equal(level(&cc, &r, a, e), 1);
    assert_int_equal(level(&cc, &r, a, b), 2);
    assert_int_equal(level(&cc, &r, a, c), 3);
    assert_int_equal(level(&cc, &r, b, c), 3);
    assert_int_equal(level(&cc, &r, a, f), 4);
    assert_int_equal(level(&cc, &r, a, d), 0);
    assert_int_equal(level(&cc, &r, d, d), 0);
    ddw_recs_free(&r);
}

/* ---- date levels --------------------------------------------------------------- */

static void test_date_levels(void **state)
{
    (void)state;
    static const char *const lv[] = {"exact", "swap_dm", "days<=30", "year", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_DOB, "date", lv, 5);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 3, 7), 1);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 7, 3), 2);   /* swapped */
    assert_int_equal(date_level(&cc, 1985, 5, 5, 1985, 5, 5), 1);   /* d == m: exact */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 3, 30), 3);  /* 23 days */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 4, 6), 3);   /* 30 days: boundary */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 4, 7), 4);   /* 31 days */
    assert_int_equal(date_level(&cc, 1985, 12, 31, 1986, 1, 1), 3); /* 1 day, across years */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 11, 20), 4); /* same year */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1986, 7, 3), 5);   /* swapped, other year */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1990, 3, 7), 5);
    assert_int_equal(date_level(&cc, 1899, 12, 31, 1900, 2, 28), 5);/* 59 days, other year */
    assert_int_equal(date_level(&cc, 1960, 2, 29, 1960, 3, 1), 3);  /* leap day */
    assert_int_equal(date_level(&cc, 0, 0, 0, 1985, 3, 7), 0);      /* missing */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 0, 0, 0), 0);
    assert_int_equal(date_level(&cc, 0, 0, 0, 0, 0, 0), 0);
}

static void test_date_swap_needs_distinct_day_month(void **state)
{
    (void)state;
    /* without an exact level first, a date whose day equals its month must
     * not count as "swapped" with itself */
    static const char *const lv[] = {"swap_dm", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_DOB, "date", lv, 2);
    assert_int_equal(date_level(&cc, 1985, 5, 5, 1985, 5, 5), 2);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 7, 3), 1);
    assert_int_equal(date_level(&cc, 1985, 12, 1, 1985, 1, 12), 1);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 3, 7), 2);  /* identical, d != m */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 7, 4), 2);  /* not a swap */
}

static void test_date_days_zero(void **state)
{
    (void)state;
    static const char *const lv[] = {"days<=0", "days<=365", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_DOB, "date", lv, 3);
    assert_int_equal(date_level(&cc, 2001, 6, 15, 2001, 6, 15), 1);
    assert_int_equal(date_level(&cc, 2001, 6, 15, 2001, 6, 16), 2);
    assert_int_equal(date_level(&cc, 2001, 6, 15, 2002, 6, 15), 2);  /* 365 days */
    assert_int_equal(date_level(&cc, 2003, 6, 15, 2004, 6, 15), 3);  /* 366: 29 Feb 2004 */
    assert_int_equal(date_level(&cc, 1920, 1, 1, 2020, 1, 1), 3);
}

/* ---- exact method ---------------------------------------------------------------- */

static void test_exact_sex(void **state)
{
    (void)state;
    static const char *const lv[] = {"exact", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_SEX, "exact", lv, 2);
    ddw_recs r;
    ddw_recs_init(&r, FIELDS);
    size_t m1 = push_text(&r, DDW_F_SEX, "M");
    size_t f1 = push_text(&r, DDW_F_SEX, "F");
    size_t m2 = push_text(&r, DDW_F_SEX, "M");
    size_t f2 = push_text(&r, DDW_F_SEX, "F");
    size_t u = push_text(&r, DDW_F_SEX, NULL);
    assert_int_equal(level(&cc, &r, m1, m2), 1);
    assert_int_equal(level(&cc, &r, f1, f2), 1);
    assert_int_equal(level(&cc, &r, m1, f1), 2);
    assert_int_equal(level(&cc, &r, m2, f2), 2);
    assert_int_equal(level(&cc, &r, m1, u), 0);
    assert_int_equal(level(&cc, &r, u, f2), 0);
    ddw_recs_free(&r);
}

static void test_exact_date(void **state)
{
    (void)state;
    /* the exact method on a date field compares day numbers */
    static const char *const lv[] = {"exact", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_DOB, "exact", lv, 2);
    assert_int_equal(date_level(&cc, 1970, 1, 1, 1970, 1, 1), 1);
    assert_int_equal(date_level(&cc, 1969, 12, 31, 1969, 12, 31), 1);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 7, 3), 2);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 0, 0, 0), 0);
}

/* ---- levels added for training on DDW-like data -------------------------- */

static void test_date_error_levels(void **state)
{
    (void)state;
    static const char *const lv[] = {"exact", "swap_dm", "digit1", "year1", "jan1", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_DOB, "date", lv, 6);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 3, 7), 1);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 7, 3), 2);
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 3, 8), 3);   /* 19850307 vs ...08 */
    assert_int_equal(date_level(&cc, 1985, 3, 17, 1985, 3, 27), 3); /* tens of the day */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1955, 3, 7), 3);   /* one year digit */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1986, 3, 7), 3);   /* 1985 -> 1986: one digit */
    assert_int_equal(date_level(&cc, 1989, 3, 7, 1990, 3, 7), 4);   /* two digits, year +1 */
    assert_int_equal(date_level(&cc, 1985, 1, 1, 1985, 8, 23), 5);  /* placeholder, same year */
    assert_int_equal(date_level(&cc, 1985, 8, 23, 1985, 1, 1), 5);
    assert_int_equal(date_level(&cc, 1985, 1, 1, 1986, 8, 23), 6);  /* other year */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 1985, 4, 8), 6);   /* two digits differ */
    assert_int_equal(date_level(&cc, 1985, 3, 7, 0, 0, 0), 0);
}

static void test_pnc_levels(void **state)
{
    (void)state;
    /* check letters: (YY * 10^7 + serial) mod 23 -> ZABCDEFGHJKLMNPQRTUVWXY */
    assert_true(ddw_compare_pnc_valid("99 1234567B", 11));
    assert_true(ddw_compare_pnc_valid("991234567B", 10));
    assert_true(ddw_compare_pnc_valid("13 4872T", 8));
    assert_true(ddw_compare_pnc_valid("2013 0004872T", 13)); /* four-digit year */
    assert_false(ddw_compare_pnc_valid("99 1234567C", 11));
    assert_false(ddw_compare_pnc_valid("99 1234567", 10));
    assert_false(ddw_compare_pnc_valid("AB 1234567B", 11));
    static const char *const lv[] = {"exact", "dl<=1", "valid_diff", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_FORENAME, "pnc", lv, 4);
    assert_int_equal(text_level(&cc, "99 1234567B", "99 1234567B"), 1);
    assert_int_equal(text_level(&cc, "99 1234567B", "99 1234568B"), 2); /* a typo */
    assert_int_equal(text_level(&cc, "99 1234567B", "13 4872T"), 3);    /* two valid IDs */
    assert_int_equal(text_level(&cc, "99 1234567B", "13 4872Q"), 4);    /* one invalid */
    assert_int_equal(text_level(&cc, "99 1234567B", NULL), 0);
}

static void test_number_and_postcode_levels(void **state)
{
    (void)state;
    static const char *const nl[] = {"exact", "abs<=2", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_FORENAME, "number", nl, 3);
    assert_int_equal(text_level(&cc, "42", "42"), 1);
    assert_int_equal(text_level(&cc, "42", "44"), 2);
    assert_int_equal(text_level(&cc, "42", "45"), 3);
    assert_int_equal(text_level(&cc, "42", "FLAT"), 3); /* not a number */
    static const char *const pl[] = {"exact", "sector", "district", "area", "else"};
    make_cc(&cc, DDW_F_FORENAME, "postcode", pl, 5);
    assert_int_equal(text_level(&cc, "RG1 4AB", "RG1 4AB"), 1);
    assert_int_equal(text_level(&cc, "RG1 4AB", "RG14XY"), 2);  /* sector RG14, spaces ignored */
    assert_int_equal(text_level(&cc, "RG1 4AB", "RG1 7AB"), 3); /* district RG1 */
    assert_int_equal(text_level(&cc, "RG1 4AB", "RG30 4AB"), 4);/* area RG */
    assert_int_equal(text_level(&cc, "RG1 4AB", "SO17 1BJ"), 5);
    assert_int_equal(text_level(&cc, "RG1", "RG1 4AB"), 5);     /* too short to split */
}

static void test_swap_and_unless(void **state)
{
    (void)state;
    unsigned fm = (1u << DDW_F_FORENAME) | (1u << DDW_F_SURNAME) | (1u << DDW_F_FORENAME_INITIAL);
    ddw_recs r;
    ddw_recs_init(&r, fm);
    size_t a = ddw_recs_push(&r, DDW_KEY(0, 2)), b = ddw_recs_push(&r, DDW_KEY(0, 3));
    size_t c = ddw_recs_push(&r, DDW_KEY(0, 4));
    ddw_recs_set_text(&r, a, DDW_F_FORENAME, "JOHN", 4);
    ddw_recs_set_text(&r, a, DDW_F_SURNAME, "SMITH", 5);
    ddw_recs_set_text(&r, a, DDW_F_FORENAME_INITIAL, "J", 1);
    ddw_recs_set_text(&r, b, DDW_F_FORENAME, "SMITH", 5); /* names swapped */
    ddw_recs_set_text(&r, b, DDW_F_SURNAME, "JOHN", 4);
    ddw_recs_set_text(&r, b, DDW_F_FORENAME_INITIAL, "J", 1);
    ddw_recs_set_text(&r, c, DDW_F_FORENAME_INITIAL, "J", 1); /* initials only */
    static const char *const lv[] = {"exact", "swap", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_FORENAME, "string", lv, 3);
    assert_int_equal(level(&cc, &r, a, b), 2);
    static const char *const il[] = {"exact", "else"};
    make_cc(&cc, DDW_F_FORENAME_INITIAL, "exact", il, 2);
    assert_int_equal(level(&cc, &r, a, b), 1);
    cc.unless = 1 + DDW_F_FORENAME; /* initials only where a forename is missing */
    assert_int_equal(level(&cc, &r, a, b), 0);
    assert_int_equal(level(&cc, &r, a, c), 1);
    ddw_recs_free(&r);
}

/* ---- the comparison plan against ddw_compare_level ------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The check-letter rule as it was first written: the reference for the
 * faster ddw_compare_pnc_valid. */
static int ref_pnc_valid(const char *s, size_t n)
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
    size_t ys = nd > 9 ? 2 : 0;
    if (nd - ys - 2 > 7)
        return 0;
    unsigned long long v = (unsigned long long)(d[ys] - '0') * 10 + (unsigned)(d[ys + 1] - '0');
    unsigned long long serial = 0;
    for (size_t k = ys + 2; k < nd; k++)
        serial = serial * 10 + (unsigned)(d[k] - '0');
    return s[i] == ddw_compare_pnc_letter((unsigned)v, (unsigned long)serial);
}

/* A PNC ID: valid most of the time, in the layouts seen in extracts, else
 * with a slip (a digit changed, dropped or added, another letter). */
static size_t make_pnc(uint64_t *rng, char *out, size_t cap)
{
    static const unsigned long few[] = {1234567, 4872, 76543, 7};
    uint64_t pick = rng_next(rng);
    unsigned yy = (unsigned)(pick % 2 ? 90 + pick % 3 : pick % 100); /* often equal IDs */
    unsigned long serial = (pick >> 8) % 2 ? few[(pick >> 16) % 4]
                                           : (unsigned long)(rng_next(rng) % 10000000);
    char letter = ddw_compare_pnc_letter(yy, serial);
    int len;
    switch (rng_next(rng) % 4) {
    case 0: len = snprintf(out, cap, "%02u %07lu%c", yy, serial, letter); break;
    case 1: len = snprintf(out, cap, "%02u%lu%c", yy, serial, letter); break;
    case 2: len = snprintf(out, cap, "%04u %lu%c", 1900 + yy, serial, letter); break;
    default: len = snprintf(out, cap, "%02u  %lu %c", yy, serial, letter); break;
    }
    size_t n = (size_t)len;
    uint64_t r = rng_next(rng);
    if (r % 3 == 0) { /* a slip */
        size_t p = (size_t)(r >> 8) % n;
        if ((r >> 4) % 4 == 0)
            out[p] = (char)('0' + (r >> 16) % 10);
        else if ((r >> 4) % 4 == 1)
            memmove(out + p, out + p + 1, n-- - p);
        else if ((r >> 4) % 4 == 2)
            out[n - 1] = (char)('A' + (r >> 16) % 26);
        else if (n + 1 < cap) {
            memmove(out + p + 1, out + p, n++ - p);
            out[p] = (char)('0' + (r >> 16) % 10);
        }
    }
    return n;
}

static void test_pnc_valid_matches_reference(void **state)
{
    (void)state;
    uint64_t rng = 99;
    char s[40];
    int valid = 0;
    for (int it = 0; it < 200000; it++) {
        size_t n;
        if (it % 2) {
            n = make_pnc(&rng, s, sizeof s);
        } else { /* anything from digits, spaces, letters, '/', bytes >= 0x80 */
            static const char pool[] = "0123456789  ABZYX/\xC3\xA9";
            n = rng_next(&rng) % 30;
            for (size_t k = 0; k < n; k++)
                s[k] = pool[rng_next(&rng) % (sizeof pool - 1)];
        }
        int want = ref_pnc_valid(s, n);
        valid += want;
        if (ddw_compare_pnc_valid(s, n) != want)
            fail_msg("pnc_valid('%.*s') != %d", (int)n, s, want);
    }
    assert_true(valid > 50000);
}

/* Names that sit near each other and near the thresholds, plus odd bytes. */
static const char *const name_pool[] = {
    "JOHN", "JON", "JOHNNY", "JONATHAN", "JOAN", "MARY", "MARIE", "MARIA", "MARTHA",
    "MARHTA", "SMITH", "SMYTH", "SMYTHE", "SCHMIDT", "JONES", "JOHNSON", "JENSEN",
    "DWAYNE", "DUANE", "DIXON", "DICKSON", "CRATE", "TRACE", "ABROMS", "ABRAMS",
    "O BRIEN", "OBRIEN", "MC DONALD", "MACDONALD", "A", "AB", "BA", "ANNE MARIE",
    "JOS\xC3\xA9", "JOSE", "\xC3\x89LODIE", "ELODIE", "ZO\xC3\xAB", "ZOE", "AAAAAAA",
    "ABABABABABAB", "X", "Q",
    "BARTHOLOMEWBARTHOLOMEWBARTHOLOMEWBARTHOLOMEWBARTHOLOMEWBARTHOLOMEW",
    "BARTHOLOMEWBARTHOLOMEWBARTHOLOMEWBARTHOLOMEWBARTHOLOMEWBARTHOLOMEWX",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOP",
};
#define NAME_POOL (sizeof name_pool / sizeof name_pool[0])

/* A name from the pool, sometimes with one or two slips. */
static size_t make_name(uint64_t *rng, char *out, size_t cap)
{
    const char *src = name_pool[rng_next(rng) % NAME_POOL];
    size_t n = strlen(src);
    memcpy(out, src, n);
    int slips = (int)(rng_next(rng) % 4) - 1;
    for (int e = 0; e < slips && n > 1; e++) {
        uint64_t r = rng_next(rng);
        size_t p = (size_t)(r >> 8) % (n - 1);
        char c = "AEIOUNRSTHY "[(r >> 20) % 12];
        switch (r % 4) {
        case 0: out[p] = c; break;
        case 1: memmove(out + p, out + p + 1, n-- - p - 1); break;
        case 2: if (n + 1 < cap) { memmove(out + p + 1, out + p, n++ - p); out[p] = c; } break;
        default: { char t = out[p]; out[p] = out[p + 1]; out[p + 1] = t; } break;
        }
    }
    return n;
}

static void set_maybe(uint64_t *rng, ddw_recs *r, size_t i, ddw_field f, const char *s, size_t n)
{
    if (rng_next(rng) % 10 != 0) /* a tenth missing */
        ddw_recs_set_text(r, i, f, s, n);
}

/* n random records with every field the plan tests read. */
static void make_records(ddw_recs *r, size_t n, uint64_t seed)
{
    static const char *const areas[] = {"HAMPSHIRE", "KENT", "ESSEX", "DORSET", "SURREY"};
    static const char *const pcs[] = {"RG1 4AB", "RG1 4XY", "RG1 7AB", "RG30 4AB", "SO17 1BJ",
                                      "RG1"};
    static const char *const nums[] = {"12 HIGH STREET", "14 HIGH ST", "13", "FLAT 2", "120"};
    uint64_t rng = seed;
    ddw_recs_init(r, (1u << DDW_NFIELDS) - 1);
    char buf[96];
    for (size_t i = 0; i < n; i++) {
        size_t k = ddw_recs_push(r, DDW_KEY(0, i + 2));
        size_t fl = make_name(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_FORENAME, buf, fl);
        set_maybe(&rng, r, k, DDW_F_FORENAME_INITIAL, buf, 1);
        size_t sl = make_name(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_SURNAME, buf, sl);
        set_maybe(&rng, r, k, DDW_F_SURNAME_INITIAL, buf, 1);
        size_t ml = make_name(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_MIDDLE_NAME, buf, ml);
        ml = make_name(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_TOWN, buf, ml);
        ml = make_name(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_EXTRA1, buf, ml);
        ml = make_name(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_EXTRA2, buf, ml);
        set_maybe(&rng, r, k, DDW_F_SEX, rng_next(&rng) % 2 ? "M" : "F", 1);
        const char *a = areas[rng_next(&rng) % 5];
        set_maybe(&rng, r, k, DDW_F_AREA, a, strlen(a));
        const char *pc = pcs[rng_next(&rng) % 6];
        set_maybe(&rng, r, k, DDW_F_POSTCODE, pc, strlen(pc));
        const char *nm = nums[rng_next(&rng) % 5];
        set_maybe(&rng, r, k, DDW_F_ADDRESS1, nm, strlen(nm));
        size_t pl = make_pnc(&rng, buf, sizeof buf);
        set_maybe(&rng, r, k, DDW_F_PNC_ID, buf, pl);
        /* dates: a few base dates, swapped day/month, a year off, 1 January */
        uint64_t d = rng_next(&rng);
        int y = 1979 + (int)(d % 3), m = 1 + (int)((d >> 8) % 3), dd = 1 + (int)((d >> 16) % 4);
        if ((d >> 24) % 4 == 0) {
            int t = m;
            m = dd;
            dd = t;
        }
        if ((d >> 28) % 9 == 0)
            m = dd = 1;
        if ((d >> 32) % 10 != 0)
            ddw_recs_set_date(r, k, DDW_F_DOB, ddw_norm_days_from_civil(y, m, dd));
        if ((d >> 40) % 10 != 0)
            ddw_recs_set_date(r, k, DDW_F_EVENT_DATE,
                              ddw_norm_days_from_civil(2000 + (int)((d >> 44) % 2),
                                                       1 + (int)((d >> 48) % 12),
                                                       1 + (int)((d >> 52) % 28)));
    }
}

typedef struct {
    ddw_field f;
    const char *method;
    const char *levels[8];
    int unless; /* 1 + field, 0 = none */
} cmp_spec;

/* Every predicate kind, the generated model's comparisons first. */
static const cmp_spec plan_specs[] = {
    {DDW_F_FORENAME, "string", {"exact", "swap", "jw>=0.92", "jw>=0.80", "initial", "else"}, 0},
    {DDW_F_SURNAME, "string", {"exact", "jw>=0.92", "soundex", "jw>=0.80", "else"}, 0},
    {DDW_F_FORENAME_INITIAL, "exact", {"exact", "else"}, 1 + DDW_F_FORENAME},
    {DDW_F_SURNAME_INITIAL, "exact", {"exact", "else"}, 1 + DDW_F_SURNAME},
    {DDW_F_DOB, "date", {"exact", "swap_dm", "digit1", "year1", "jan1", "else"}, 0},
    {DDW_F_SEX, "exact", {"exact", "else"}, 0},
    {DDW_F_AREA, "exact", {"exact", "else"}, 0},
    {DDW_F_PNC_ID, "pnc", {"exact", "dl<=1", "valid_diff", "else"}, 0},
    {DDW_F_MIDDLE_NAME, "string",
     {"jaro>=0.95", "lev<=1", "dl<=2", "jaro>=0.75", "lev<=3", "else"}, 0},
    {DDW_F_EXTRA1, "string", {"jw>=0.999", "jw>=0.5", "jw>=0", "else"}, 0},
    {DDW_F_EXTRA2, "string", {"jw>=1", "jaro>=0.88", "soundex", "else"}, 0},
    {DDW_F_TOWN, "string", {"dl<=0", "initial", "jw>=0.7", "lev<=2", "else"}, 0},
    {DDW_F_EVENT_DATE, "date", {"exact", "days<=30", "year", "else"}, 0},
    {DDW_F_POSTCODE, "postcode", {"exact", "sector", "district", "area", "else"}, 0},
    {DDW_F_ADDRESS1, "number", {"exact", "abs<=2", "else"}, 0},
    {DDW_F_SURNAME, "string", {"swap", "exact", "jaro>=0.6", "else"}, 1 + DDW_F_MIDDLE_NAME},
    {DDW_F_DOB, "exact", {"exact", "else"}, 1 + DDW_F_EVENT_DATE},
};
#define NSPEC (sizeof plan_specs / sizeof plan_specs[0])

static void make_plan_cfg(ddw_config *cfg, ddw_compare_cfg *cc)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t c = 0; c < NSPEC; c++) {
        int n = 0;
        while (n < 8 && plan_specs[c].levels[n])
            n++;
        make_cc(&cc[c], plan_specs[c].f, plan_specs[c].method, plan_specs[c].levels, n);
        cc[c].unless = plan_specs[c].unless;
    }
    cfg->ncompare = (int)NSPEC;
    cfg->compare = cc;
}

/* Every pair of one unit: the plan's levels are ddw_compare_level's. */
static void check_unit(const ddw_compare_cfg *cc, const ddw_recs *r, ddw_compare_plan *p,
                       size_t a0, size_t a1, size_t b0, size_t b1, int diag, long *hits)
{
    ddw_compare_plan_unit(p, a0, a1, diag ? a1 : b0, diag ? a1 : b1);
    uint8_t lv[DDW_MAX_COMPARE];
    for (size_t i = a0; i < a1; i++) {
        size_t j0 = diag ? i + 1 : b0, j1 = diag ? a1 : b1;
        for (size_t j = j0; j < j1; j++) {
            ddw_compare_plan_levels(p, i, j, lv);
            for (size_t c = 0; c < NSPEC; c++) {
                int want = ddw_compare_level(&cc[c], r, i, r, j);
                if (lv[c] != want)
                    fail_msg("comparison %zu, records %zu %zu: plan %d, level %d", c, i, j,
                             lv[c], want);
                hits[c * 16 + (size_t)want]++;
            }
        }
    }
}

static void test_plan_matches_level(void **state)
{
    (void)state;
    ddw_recs r;
    make_records(&r, 900, 4711);
    ddw_config cfg;
    ddw_compare_cfg cc[NSPEC];
    make_plan_cfg(&cfg, cc);
    ddw_compare_plan *p = NULL;
    assert_int_equal(ddw_compare_plan_init(&cfg, &r, NULL, 8, &p), DDW_OK); /* grows on demand */
    long hits[NSPEC * 16];
    memset(hits, 0, sizeof hits);
    /* diagonal units of many sizes, and off-diagonal tiles both ways round */
    check_unit(cc, &r, p, 0, 300, 0, 0, 1, hits);
    for (size_t a = 300; a + 40 <= 900; a += 40) {
        check_unit(cc, &r, p, a, a + 1 + a % 37, 0, 0, 1, hits);
        check_unit(cc, &r, p, a, a + 20, a + 20, a + 40, 0, hits);
        check_unit(cc, &r, p, a + 20, a + 40, a - 300, a - 250, 0, hits);
    }
    check_unit(cc, &r, p, 100, 130, 120, 160, 0, hits); /* overlapping ranges */
    check_unit(cc, &r, p, 200, 230, 170, 200, 0, hits); /* touching ranges */
    check_unit(cc, &r, p, 5, 5, 0, 0, 1, hits); /* empty */
    check_unit(cc, &r, p, 7, 8, 0, 0, 1, hits); /* one record */
    /* every level of every comparison is reached (the test is not vacuous),
     * but "else" after "jw>=0" */
    for (size_t c = 0; c < NSPEC; c++) {
        int n = cc[c].nlevels;
        for (int l = 0; l <= n; l++)
            if (hits[c * 16 + (size_t)l] == 0 && !(c == 9 && l == 4))
                fail_msg("comparison %zu never gave level %d", c, l);
    }
    assert_int_equal(hits[9 * 16 + 4], 0);
    ddw_compare_plan_free(&p);
    assert_null(p);
    ddw_compare_plan_free(&p); /* NULL is fine */
    ddw_recs_free(&r);
}

/* Positions mapped onto records (ddw_blocks' slots: scattered, a record at several
 * positions): the plan's levels are ddw_compare_level's of the mapped records. */
static void test_plan_positions(void **state)
{
    (void)state;
    ddw_recs r;
    make_records(&r, 900, 99);
    ddw_config cfg;
    ddw_compare_cfg cc[NSPEC];
    make_plan_cfg(&cfg, cc);
    enum { NPOS = 1500 };
    uint32_t *rec_of = malloc(NPOS * sizeof *rec_of);
    assert_non_null(rec_of);
    uint64_t x = 12345;
    for (size_t k = 0; k < NPOS; k++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        rec_of[k] = (uint32_t)((x >> 33) % 900);
    }
    ddw_compare_plan *p = NULL;
    assert_int_equal(ddw_compare_plan_init(&cfg, &r, rec_of, 8, &p), DDW_OK);
    uint8_t lv[DDW_MAX_COMPARE];
    static const size_t units[][5] = {{0, 200, 0, 0, 1},        {200, 260, 700, 790, 0},
                                      {900, 1000, 950, 1100, 0}, {1400, 1500, 0, 0, 1},
                                      {10, 11, 0, 0, 1}};
    long checked = 0;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t a0 = units[u][0], a1 = units[u][1], b0 = units[u][2], b1 = units[u][3];
        int diag = (int)units[u][4];
        ddw_compare_plan_unit(p, a0, a1, diag ? a1 : b0, diag ? a1 : b1);
        ddw_compare_plan_prefetch(p, a0, a1, 0);
        ddw_compare_plan_prefetch(p, a0, a1, 1);
        for (size_t i = a0; i < a1; i++)
            for (size_t j = diag ? i + 1 : b0; j < (diag ? a1 : b1); j++) {
                ddw_compare_plan_levels(p, i, j, lv);
                for (size_t c = 0; c < NSPEC; c++) {
                    int want = ddw_compare_level(&cc[c], &r, rec_of[i], &r, rec_of[j]);
                    if (lv[c] != want)
                        fail_msg("comparison %zu, positions %zu %zu: plan %d, level %d", c, i,
                                 j, lv[c], want);
                    checked++;
                }
            }
    }
    assert_true(checked > 100000);
    ddw_compare_plan_free(&p);
    free(rec_of);
    ddw_recs_free(&r);
}

/*
 * Thresholds set exactly on a pair's computed Jaro-Winkler / Jaro (where
 * the letter-count bound is tight, so the bound sits on the threshold too):
 * the level holds, and one ulp higher it does not, in the plan as in
 * ddw_compare_level.
 */
static void test_plan_threshold_edges(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"JOHN", "JON"}, {"AB", "AC"},       {"MARTHA", "MARHTA"}, {"SMITH", "SMITHE"},
        {"A", "A"},      {"A", "B"},         {"DIXON", "DICKSON"}, {"ABC", "XYZ"},
        {"JOSE", "JOS\xC3\xA9"},             {"ABCD", "ABCE"},
    };
    const size_t np = sizeof pairs / sizeof pairs[0];
    ddw_recs r;
    ddw_recs_init(&r, FIELDS);
    for (size_t k = 0; k < np; k++) {
        push_text(&r, DDW_F_FORENAME, pairs[k][0]);
        push_text(&r, DDW_F_FORENAME, pairs[k][1]);
    }
    for (int kind = 0; kind < 2; kind++) {
        for (size_t k = 0; k < np; k++) {
            const char *x = pairs[k][0], *y = pairs[k][1];
            double v = kind ? ddw_strsim_jaro(x, strlen(x), y, strlen(y))
                            : ddw_strsim_jaro_winkler(x, strlen(x), y, strlen(y));
            for (int up = 0; up < 2; up++) {
                static const char *const jl[] = {"jw>=0.5", "else"};
                static const char *const al[] = {"jaro>=0.5", "else"};
                ddw_compare_cfg c1;
                make_cc(&c1, DDW_F_FORENAME, "string", kind ? al : jl, 2);
                c1.levels[0].param = up ? nextafter(v, 2.0) : v;
                ddw_config cfg;
                memset(&cfg, 0, sizeof cfg);
                cfg.ncompare = 1;
                cfg.compare = &c1;
                ddw_compare_plan *p = NULL;
                assert_int_equal(ddw_compare_plan_init(&cfg, &r, NULL, r.n, &p), DDW_OK);
                ddw_compare_plan_unit(p, 0, r.n, r.n, r.n);
                uint8_t lv[1];
                ddw_compare_plan_levels(p, 2 * k, 2 * k + 1, lv);
                int want = up ? 2 : 1;
                assert_int_equal(ddw_compare_level(&c1, &r, 2 * k, &r, 2 * k + 1), want);
                if (lv[0] != want)
                    fail_msg("%s/%s %s >= %.17g%s: plan %d", x, y, kind ? "jaro" : "jw", v,
                             up ? " + 1 ulp" : "", lv[0]);
                ddw_compare_plan_free(&p);
            }
        }
    }
    ddw_recs_free(&r);
}

static void test_plan_errors(void **state)
{
    (void)state;
    ddw_recs r;
    ddw_recs_init(&r, 1u << DDW_F_FORENAME);
    static const char *const lv[] = {"exact", "else"};
    ddw_compare_cfg cc;
    make_cc(&cc, DDW_F_SURNAME, "exact", lv, 2); /* a field the set lacks */
    ddw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ncompare = 1;
    cfg.compare = &cc;
    ddw_compare_plan *p = (ddw_compare_plan *)&cfg; /* overwritten with NULL */
    assert_int_equal(ddw_compare_plan_init(&cfg, &r, NULL, 4, &p), DDW_EINVAL);
    assert_null(p);
    cfg.ncompare = DDW_MAX_COMPARE + 1;
    assert_int_equal(ddw_compare_plan_init(&cfg, &r, NULL, 4, &p), DDW_ECONFIG);
    ddw_recs_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods_table),
        cmocka_unit_test(test_parse_level_values),
        cmocka_unit_test(test_parse_level_per_method),
        cmocka_unit_test(test_parse_level_rejects),
        cmocka_unit_test(test_parse_level_rejects_nan),
        cmocka_unit_test(test_string_levels),
        cmocka_unit_test(test_string_edit_distance),
        cmocka_unit_test(test_string_same_set),
        cmocka_unit_test(test_date_levels),
        cmocka_unit_test(test_date_swap_needs_distinct_day_month),
        cmocka_unit_test(test_date_days_zero),
        cmocka_unit_test(test_exact_sex),
        cmocka_unit_test(test_exact_date),
        cmocka_unit_test(test_date_error_levels),
        cmocka_unit_test(test_pnc_levels),
        cmocka_unit_test(test_number_and_postcode_levels),
        cmocka_unit_test(test_swap_and_unless),
        cmocka_unit_test(test_pnc_valid_matches_reference),
        cmocka_unit_test(test_plan_matches_level), cmocka_unit_test(test_plan_positions),
        cmocka_unit_test(test_plan_threshold_edges),
        cmocka_unit_test(test_plan_errors),
    };
    return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
