/*
 * test_config.c - unit tests for the configuration parser (src/config.c):
 * ddw_config_parse on in-memory INI text, --set overrides, the error
 * messages (file, line and key) for each kind of invalid input, and
 * ddw_config_help.
 *
 * Trade-off: every case is derived from one valid base config held as an
 * array of lines; an error case replaces exactly one line (found by its
 * content, so its line number is computed, never hard-coded) or appends a
 * section.  Each test therefore changes one thing, the expected
 * "file:LINE" follows from the base text, and no fixture files are needed.
 * Messages are captured with open_memstream and checked by substring, not
 * compared whole, so rewording the explanatory tail of a message does not
 * break the tests while the file, line, section and key still must appear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_compare.h"
#include "ddw_config.h"

#define PATH "unit.ini"

static const char *const base[] = {
    "; unit-test configuration",
    "[run]",
    "name = unit",
    "seed = 7",
    "",
    "[match]",
    "threshold = 8.5",
    "prior = 0.001",
    "",
    "[block]",
    "max_block_size = 300",
    "",
    "[source.a]",
    "path = a.csv",
    "id_column = id",
    "forename = first",
    "surname = last",
    "dob = birth",
    "dob_format = %d/%m/%Y",
    "sex = gender",
    "sex_codes = M=M, F=F, u=, female = F",
    "keep = site, note",
    "",
    "[source.b]",
    "path = b.csv",
    "id_column = ref",
    "forename_initial = fi",
    "surname = surname",
    "dob = dob",
    "",
    "[blocking.dob]",
    "key = exact(dob), initials()",
    "",
    "[blocking.name]",
    "key = soundex(surname), first(forename), year(dob)",
    "",
    "[compare.dob]",
    "field = dob",
    "method = date",
    "levels = exact, swap_dm, days<=31, else",
    "m = 0.9, 0.04, 0.04, 0.02",
    "u = 0.001, 0.001, 0.01, 0.988",
    "",
    "[compare.forename]",
    "field = forename",
    "method = string",
    "levels = exact, jw>=0.92, else",
    "m = 0.85, 0.1, 0.05",
    "u = 0.01, 0.02, 0.97",
};
#define NBASE ((int)(sizeof base / sizeof base[0]))

/* 1-based line number of the base line that reads exactly s. */
static int line_of(const char *s)
{
    for (int i = 0; i < NBASE; i++)
        if (strcmp(base[i], s) == 0)
            return i + 1;
    fail_msg("line '%s' is not in the base config", s);
    return 0;
}

/*
 * The base config with line 'line' (1-based; 0 = none) replaced by repl
 * and 'extra' (may be NULL) appended after the last line.  Caller frees.
 */
static char *config_text(int line, const char *repl, const char *extra)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    for (int i = 0; i < NBASE; i++)
        fprintf(f, "%s\n", i + 1 == line ? repl : base[i]);
    if (extra)
        fputs(extra, f);
    fclose(f);
    return buf;
}

/* Parses text; the messages written to err are returned in *msg (caller frees). */
static ddw_status parse(const char *text, int nset, char **set, ddw_config **cfg, char **msg)
{
    size_t len = 0;
    FILE *err = open_memstream(msg, &len);
    assert_non_null(err);
    ddw_status rc = ddw_config_parse(PATH, text, nset, set, err, cfg);
    fclose(err);
    return rc;
}

/* The first of the NULL-terminated strings in ap that msg lacks, or NULL. */
static const char *first_missing(const char *msg, va_list ap)
{
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (strstr(msg, s) == NULL)
            return s;
    return NULL;
}

/* Asserts that msg contains every one of the NULL-terminated strings. */
static void assert_has(const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    const char *miss = first_missing(msg, ap);
    va_end(ap);
    if (miss)
        fail_msg("expected \"%s\" in message:\n%s", miss, msg);
}

/* "unit.ini:LINE: " for a line of the base config. */
static const char *where(int line)
{
    static char buf[64];
    snprintf(buf, sizeof buf, PATH ":%d: ", line);
    return buf;
}

/*
 * Parses the base config with one line replaced (and extra appended),
 * expects DDW_ECONFIG, no config, and a message holding every string of
 * the NULL-terminated list.
 */
static void expect_error(int line, const char *repl, const char *extra, ...)
{
    char *text = config_text(line, repl, extra);
    static ddw_config sentinel;
    ddw_config *cfg = &sentinel; /* must be overwritten with NULL */
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_ECONFIG);
    assert_null(cfg);
    va_list ap;
    va_start(ap, extra);
    const char *miss = first_missing(msg, ap);
    va_end(ap);
    if (miss)
        print_error("expected \"%s\" in message:\n%s", miss, msg);
    free(msg);
    free(text);
    if (miss)
        fail();
}

/* Same for a --set list applied to the unchanged base config. */
static void expect_set_error(int nset, char **set, ...)
{
    char *text = config_text(0, NULL, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, nset, set, &cfg, &msg), DDW_ECONFIG);
    assert_null(cfg);
    va_list ap;
    va_start(ap, set);
    const char *miss = first_missing(msg, ap);
    va_end(ap);
    if (miss)
        print_error("expected \"%s\" in message:\n%s", miss, msg);
    free(msg);
    free(text);
    if (miss)
        fail();
}

/* ---- valid configs --------------------------------------------------------- */

static void test_valid_scalars(void **state)
{
    (void)state;
    char *text = config_text(0, NULL, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    assert_non_null(cfg);
    assert_string_equal(msg, ""); /* a valid config writes nothing */
    assert_string_equal(cfg->path, PATH);
    assert_string_equal(cfg->text, text);
    assert_string_equal(cfg->run_name, "unit");
    assert_true(cfg->seed == 7);
    assert_float_equal(cfg->threshold, 8.5, 1e-12);
    assert_float_equal(cfg->prior, 0.001, 1e-15);
    assert_float_equal(ddw_config_prior_weight(cfg), -9.9643, 1e-4); /* log2(0.001/0.999) */
    assert_int_equal(cfg->max_block, 300);
    assert_int_equal(cfg->deflate, 1);    /* default */
    assert_int_equal(cfg->chunk, 65536);  /* default */
    ddw_config_destroy(&cfg);
    assert_null(cfg);
    ddw_config_destroy(&cfg); /* NULL is accepted */
    ddw_config_destroy(NULL);
    free(msg);
    free(text);
}

static void test_valid_sources(void **state)
{
    (void)state;
    char *text = config_text(0, NULL, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    assert_int_equal(cfg->nsources, 2);

    const ddw_source_cfg *a = &cfg->sources[0];
    assert_string_equal(a->name, "a");
    assert_string_equal(a->path, "a.csv");
    assert_string_equal(a->id_column, "id");
    assert_string_equal(a->column[DDW_F_FORENAME], "first");
    assert_string_equal(a->column[DDW_F_SURNAME], "last");
    assert_string_equal(a->column[DDW_F_DOB], "birth");
    assert_string_equal(a->column[DDW_F_SEX], "gender");
    assert_null(a->column[DDW_F_FORENAME_INITIAL]);
    assert_null(a->column[DDW_F_PNC_ID]);
    assert_string_equal(a->date_format[DDW_F_DOB], "%d/%m/%Y");
    assert_string_equal(a->date_format[DDW_F_EVENT_DATE], "%Y-%m-%d"); /* default */
    /* where each mapping came from, for later messages */
    char w[64];
    snprintf(w, sizeof w, PATH ":%d", line_of("forename = first"));
    assert_string_equal(a->where[DDW_F_FORENAME], w);
    snprintf(w, sizeof w, PATH ":%d", line_of("path = a.csv"));
    assert_string_equal(a->where_path, w);
    snprintf(w, sizeof w, PATH ":%d", line_of("id_column = id"));
    assert_string_equal(a->where_id, w);
    assert_int_equal(a->nkeep, 2);
    assert_string_equal(a->keep[0], "site");
    assert_string_equal(a->keep[1], "note");
    /* sex codes are normalised ("u" -> "U", "female " -> "FEMALE") */
    assert_int_equal(a->nsex, 4);
    assert_string_equal(a->sex_code[0], "M");
    assert_int_equal(a->sex_value[0], 'M');
    assert_string_equal(a->sex_code[1], "F");
    assert_int_equal(a->sex_value[1], 'F');
    assert_string_equal(a->sex_code[2], "U");
    assert_int_equal(a->sex_value[2], 0);
    assert_string_equal(a->sex_code[3], "FEMALE");
    assert_int_equal(a->sex_value[3], 'F');

    const ddw_source_cfg *b = &cfg->sources[1];
    assert_string_equal(b->name, "b");
    assert_string_equal(b->path, "b.csv");
    assert_string_equal(b->id_column, "ref");
    assert_string_equal(b->column[DDW_F_FORENAME_INITIAL], "fi");
    assert_null(b->column[DDW_F_FORENAME]);
    assert_string_equal(b->date_format[DDW_F_DOB], "%Y-%m-%d"); /* default */
    assert_int_equal(b->nkeep, 0);
    assert_int_equal(a->attach_once, 0); /* default no */
    assert_int_equal(b->attach_once, 0);
    /* default sex codes: M, MALE, 1, F, FEMALE, 2, U, UNKNOWN, X, 0, 9 */
    assert_int_equal(b->nsex, 11);
    assert_string_equal(b->sex_code[1], "MALE");
    assert_int_equal(b->sex_value[1], 'M');
    assert_string_equal(b->sex_code[5], "2");
    assert_int_equal(b->sex_value[5], 'F');
    assert_string_equal(b->sex_code[10], "9");
    assert_int_equal(b->sex_value[10], 0);
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_valid_passes_and_comparisons(void **state)
{
    (void)state;
    char *text = config_text(0, NULL, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);

    assert_int_equal(cfg->npasses, 2);
    assert_string_equal(cfg->passes[0].name, "dob");
    assert_int_equal(cfg->passes[0].nparts, 2);
    assert_int_equal(cfg->passes[0].parts[0].func, DDW_BK_EXACT);
    assert_int_equal(cfg->passes[0].parts[0].field, DDW_F_DOB);
    assert_int_equal(cfg->passes[0].parts[1].func, DDW_BK_INITIALS);
    assert_string_equal(cfg->passes[1].name, "name");
    assert_int_equal(cfg->passes[1].nparts, 3);
    assert_int_equal(cfg->passes[1].parts[0].func, DDW_BK_SOUNDEX);
    assert_int_equal(cfg->passes[1].parts[0].field, DDW_F_SURNAME);
    assert_int_equal(cfg->passes[1].parts[1].func, DDW_BK_FIRST);
    assert_int_equal(cfg->passes[1].parts[1].field, DDW_F_FORENAME);
    assert_int_equal(cfg->passes[1].parts[2].func, DDW_BK_YEAR);
    assert_int_equal(cfg->passes[1].parts[2].field, DDW_F_DOB);

    assert_int_equal(cfg->ncompare, 2);
    const ddw_compare_cfg *d = &cfg->compare[0];
    assert_string_equal(d->name, "dob");
    assert_int_equal(d->field, DDW_F_DOB);
    assert_int_equal(d->method, ddw_compare_method_find("date"));
    assert_int_equal(d->nlevels, 4);
    assert_int_equal(d->levels[0].kind, DDW_LV_EXACT);
    assert_int_equal(d->levels[1].kind, DDW_LV_SWAP_DM);
    assert_int_equal(d->levels[2].kind, DDW_LV_DAYS);
    assert_float_equal(d->levels[2].param, 31, 0);
    assert_string_equal(d->levels[2].label, "days<=31");
    assert_int_equal(d->levels[3].kind, DDW_LV_ELSE);
    const double dm[] = {0.9, 0.04, 0.04, 0.02}, du[] = {0.001, 0.001, 0.01, 0.988};
    for (int l = 0; l < 4; l++) {
        assert_float_equal(d->m[l], dm[l], 1e-12);
        assert_float_equal(d->u[l], du[l], 1e-12);
    }
    const ddw_compare_cfg *f = &cfg->compare[1];
    assert_string_equal(f->name, "forename");
    assert_int_equal(f->field, DDW_F_FORENAME);
    assert_int_equal(f->method, ddw_compare_method_find("string"));
    assert_int_equal(f->nlevels, 3);
    assert_int_equal(f->levels[1].kind, DDW_LV_JW);
    assert_float_equal(f->levels[1].param, 0.92, 1e-12);
    assert_float_equal(f->m[0], 0.85, 1e-12);
    assert_float_equal(f->u[2], 0.97, 1e-12);
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_effective(void **state)
{
    (void)state;
    char *text = config_text(0, NULL, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    /* file values and defaults, one "section.key = value" line each */
    assert_has(cfg->effective, "run.name = unit\n", "match.threshold = 8.5\n",
               "match.prior = 0.001\n", "block.max_block_size = 300\n",
               "output.deflate = 1\n", "output.chunk = 65536\n", "source.a.path = a.csv\n",
               "source.a.dob_format = %d/%m/%Y\n", "source.b.dob_format = %Y-%m-%d\n",
               "blocking.dob.key = exact(dob), initials()\n",
               "compare.forename.levels = exact, jw>=0.92, else\n", NULL);
    /* sections in file order */
    assert_true(strstr(cfg->effective, "source.a.path") < strstr(cfg->effective, "source.b.path"));
    assert_true(strstr(cfg->effective, "compare.dob.field") <
                strstr(cfg->effective, "compare.forename.field"));
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_set_overrides(void **state)
{
    (void)state;
    char *text = config_text(0, NULL, NULL);
    char *set[] = {"match.threshold=3.5", "source.a.path=x.csv",
                   "compare.dob.m=0.7, 0.1, 0.1, 0.1", "output.deflate=0",
                   "source.b.keep=ward"};
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 5, set, &cfg, &msg), DDW_OK);
    assert_string_equal(msg, "");
    assert_float_equal(cfg->threshold, 3.5, 1e-12);
    assert_string_equal(cfg->sources[0].path, "x.csv");
    assert_string_equal(cfg->sources[0].where_path, "--set #2");
    assert_float_equal(cfg->compare[0].m[0], 0.7, 1e-12);
    assert_float_equal(cfg->compare[0].m[3], 0.1, 1e-12);
    assert_int_equal(cfg->deflate, 0);     /* a key absent from the file */
    assert_int_equal(cfg->sources[1].nkeep, 1);
    assert_string_equal(cfg->sources[1].keep[0], "ward");
    assert_float_equal(cfg->prior, 0.001, 1e-15); /* untouched */
    assert_has(cfg->effective, "match.threshold = 3.5\n", "source.a.path = x.csv\n",
               "compare.dob.m = 0.7, 0.1, 0.1, 0.1\n", "output.deflate = 0\n",
               "source.b.keep = ward\n", NULL);
    assert_null(strstr(cfg->effective, "match.threshold = 8.5"));
    assert_null(strstr(cfg->effective, "source.a.path = a.csv"));
    assert_null(strstr(cfg->effective, "compare.dob.m = 0.9"));
    /* the file text itself is kept verbatim */
    assert_string_equal(cfg->text, text);
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

/* ---- errors ---------------------------------------------------------------------- */

static void test_err_unknown_key(void **state)
{
    (void)state;
    int l = line_of("threshold = 8.5");
    expect_error(l, "threshhold = 8.5", NULL, where(l), "[match] threshhold", "unknown key",
                 NULL);
    l = line_of("dob = dob");
    expect_error(l, "date_of_birth = dob", NULL, where(l), "[source.b] date_of_birth",
                 "unknown key", NULL);
}

static void test_attach_once(void **state)
{
    (void)state;
    int l = line_of("dob = dob");
    expect_error(l, "attach_once = maybe", NULL, where(l), "[source.b] attach_once",
                 "'maybe' is not yes or no", NULL);
    char *text = config_text(l, "dob = dob\nattach_once = yes", NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    assert_int_equal(cfg->sources[0].attach_once, 0);
    assert_int_equal(cfg->sources[1].attach_once, 1);
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_err_unknown_section(void **state)
{
    (void)state;
    char w[64];
    snprintf(w, sizeof w, PATH ":%d: ", NBASE + 2);
    expect_error(0, NULL, "[sorce.c]\npath = c.csv\n", w, "[sorce.c]", "unknown section",
                 NULL);
    snprintf(w, sizeof w, PATH ":%d: ", NBASE + 2);
    expect_error(0, NULL, "[source.]\npath = c.csv\n", w, "[source.]", "unknown section",
                 NULL);
}

static void test_err_threshold_not_number(void **state)
{
    (void)state;
    int l = line_of("threshold = 8.5");
    expect_error(l, "threshold = high", NULL, where(l), "[match] threshold", "'high'",
                 "not a number", NULL);
    expect_error(l, "threshold = 8.5x", NULL, where(l), "[match] threshold", NULL);
    expect_error(l, "threshold =", NULL, where(l), "[match] threshold", NULL);
    expect_error(l, "threshold = 500", NULL, where(l), "[match] threshold", "outside", NULL);
    l = line_of("max_block_size = 300");
    expect_error(l, "max_block_size = 2.5", NULL, where(l), "[block] max_block_size",
                 "not an integer", NULL);
}

static void test_err_prior_range(void **state)
{
    (void)state;
    int l = line_of("prior = 0.001");
    expect_error(l, "prior = 1.5", NULL, where(l), "[match] prior", "between 0 and 1", NULL);
    expect_error(l, "prior = 0", NULL, where(l), "[match] prior", "between 0 and 1", NULL);
    expect_error(l, "prior = 1", NULL, where(l), "[match] prior", "between 0 and 1", NULL);
    expect_error(l, "prior = -0.2", NULL, where(l), "[match] prior", NULL);
}

static void test_err_mu_count(void **state)
{
    (void)state;
    int l = line_of("m = 0.9, 0.04, 0.04, 0.02");
    expect_error(l, "m = 0.9, 0.1", NULL, where(l), "[compare.dob] m", "2 values for 4 levels",
                 NULL);
    l = line_of("u = 0.01, 0.02, 0.97");
    expect_error(l, "u = 0.01, 0.02, 0.07, 0.9", NULL, where(l), "[compare.forename] u",
                 "4 values for 3 levels", NULL);
}

static void test_err_m_sum(void **state)
{
    (void)state;
    int l = line_of("m = 0.9, 0.04, 0.04, 0.02");
    expect_error(l, "m = 0.5, 0.1, 0.1, 0.1", NULL, where(l), "[compare.dob] m", "sum",
                 "0.8000", NULL);
    expect_error(l, "m = 0.9, 0.04, 0.04, 0", NULL, where(l), "[compare.dob] m", "'0'",
                 NULL);
    expect_error(l, "m = 0.9, 0.04, 0.04, abc", NULL, where(l), "[compare.dob] m", "'abc'",
                 NULL);
}

static void test_err_level_not_for_method(void **state)
{
    (void)state;
    int l = line_of("levels = exact, jw>=0.92, else");
    expect_error(l, "levels = exact, swap_dm, else", NULL, where(l),
                 "[compare.forename] levels", "'swap_dm'", "method string", NULL);
    l = line_of("levels = exact, swap_dm, days<=31, else");
    expect_error(l, "levels = exact, jw>=0.9, days<=31, else", NULL, where(l),
                 "[compare.dob] levels", "'jw>=0.9'", "method date", NULL);
    l = line_of("levels = exact, jw>=0.92, else");
    expect_error(l, "levels = exact, jw>=1.5, else", NULL, where(l),
                 "[compare.forename] levels", "'jw>=1.5'", NULL);
}

static void test_err_else_not_last(void **state)
{
    (void)state;
    int l = line_of("levels = exact, jw>=0.92, else");
    expect_error(l, "levels = else, exact, jw>=0.92", NULL, where(l),
                 "[compare.forename] levels", "'else' must be the last", NULL);
    expect_error(l, "levels = exact, jw>=0.92, soundex", NULL, where(l),
                 "[compare.forename] levels", "'else' must be the last", NULL);
}

static void test_err_unknown_field(void **state)
{
    (void)state;
    int l = line_of("field = forename");
    expect_error(l, "field = nickname", NULL, where(l), "[compare.forename] field",
                 "'nickname'", NULL);
    l = line_of("key = soundex(surname), first(forename), year(dob)");
    expect_error(l, "key = soundex(lastname)", NULL, where(l), "[blocking.name] key",
                 "unknown field 'lastname'", NULL);
    /* a field of the wrong type for the method */
    l = line_of("field = dob");
    expect_error(l, "field = surname", NULL, "[compare.dob] method", "'date'", "surname",
                 NULL);
}

static void test_err_unknown_blocking_function(void **state)
{
    (void)state;
    int l = line_of("key = soundex(surname), first(forename), year(dob)");
    expect_error(l, "key = metaphone(surname), year(dob)", NULL, where(l),
                 "[blocking.name] key", "unknown function 'metaphone'", NULL);
    expect_error(l, "key = soundex(surname), year(forename)", NULL, where(l),
                 "[blocking.name] key", "year() needs a date field", NULL);
    expect_error(l, "key = soundex surname", NULL, where(l), "[blocking.name] key",
                 "FUNC(FIELD)", NULL);
}

static void test_err_bad_date_format(void **state)
{
    (void)state;
    int l = line_of("dob_format = %d/%m/%Y");
    expect_error(l, "dob_format = %d/%m", NULL, where(l), "[source.a] dob_format",
                 "'%d/%m'", "not a valid date format", NULL);
    expect_error(l, "dob_format = %d/%q/%Y", NULL, where(l), "[source.a] dob_format", NULL);
}

static void test_err_duplicate_key(void **state)
{
    (void)state;
    char w[64];
    snprintf(w, sizeof w, PATH ":%d: ", NBASE + 2);
    expect_error(0, NULL, "[match]\nthreshold = 2\n", w, "[match] threshold",
                 "given twice", NULL);
    snprintf(w, sizeof w, PATH ":%d: ", NBASE + 2);
    expect_error(0, NULL, "[source.a]\nid_column = other\n", w, "[source.a] id_column",
                 "given twice", NULL);
}

static void test_err_set_malformed(void **state)
{
    (void)state;
    char *s1[] = {"match.threshold"};
    expect_set_error(1, s1, "--set #1", "'match.threshold'", "section.key=value", NULL);
    char *s2[] = {"match.threshold=3", "threshold=3"}; /* no section */
    expect_set_error(2, s2, "--set #2", "'threshold=3'", NULL);
    char *s3[] = {"match.=3"};
    expect_set_error(1, s3, "--set #1", NULL);
}

static void test_err_set_unknown_key(void **state)
{
    (void)state;
    char *s1[] = {"match.thresold=3.5"};
    expect_set_error(1, s1, "--set #1: ", "[match] thresold", "unknown key", NULL);
    char *s2[] = {"matching.threshold=3.5"};
    expect_set_error(1, s2, "--set #1: ", "[matching]", "unknown section", NULL);
    /* a bad value given by --set is blamed on the --set, not the file */
    char *s3[] = {"run.seed=8", "match.threshold=abc"};
    expect_set_error(2, s3, "--set #2: ", "[match] threshold", "'abc'", NULL);
}

static void test_err_missing_required(void **state)
{
    (void)state;
    int l = line_of("path = a.csv");
    expect_error(l, "; no path", NULL, PATH, "[source.a] path", "required", NULL);
    l = line_of("id_column = ref");
    expect_error(l, "", NULL, PATH, "[source.b] id_column", "required", NULL);
    l = line_of("levels = exact, jw>=0.92, else");
    expect_error(l, "", NULL, PATH, "[compare.forename] levels", "required", NULL);
}

/* An empty path is blamed on the line of the path key. */
static void test_err_empty_path_line(void **state)
{
    (void)state;
    int l = line_of("path = a.csv");
    expect_error(l, "path =", NULL, where(l), "[source.a] path", "empty", NULL);
}

/*
 * A line longer than inih's line buffer (200 bytes) is one line: a keep
 * list of 20 columns (up to DDW_MAX_KEEP = 32 are allowed) parses, and a
 * later error is still reported at its own line.
 */
static void test_long_line(void **state)
{
    /* inih (Debian's build) reads at most 199 characters per line: a longer
     * line is an error at its own line number, and the same list written
     * on indented continuation lines parses */
    (void)state;
    char keep[512] = "keep = ";
    for (int i = 0; i < 20; i++)
        snprintf(keep + strlen(keep), sizeof keep - strlen(keep), "%spass_through_%02d",
                 i ? ", " : "", i);
    assert_true(strlen(keep) > 300);
    char extra[600];
    snprintf(extra, sizeof extra, "[source.c]\npath = c.csv\n%s\nid_column = id\nsurnam = x\n",
             keep);
    char w[64];
    snprintf(w, sizeof w, PATH ":%d: ", NBASE + 3);
    expect_error(0, NULL, extra, w, "longer than", "indented lines", NULL);
    /* the line after a long line keeps its number */
    snprintf(w, sizeof w, PATH ":%d: ", NBASE + 5);
    expect_error(0, NULL, extra, w, "[source.c] surnam", "unknown key", NULL);
    /* continuation lines */
    char cont[600] = "keep = ";
    for (int i = 0; i < 20; i++)
        snprintf(cont + strlen(cont), sizeof cont - strlen(cont), "%spass_through_%02d",
                 i == 0 ? "" : (i % 5 == 0 ? "\n    " : ", "), i);
    char *text = config_text(line_of("keep = site, note"), cont, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    ddw_status rc = parse(text, 0, NULL, &cfg, &msg);
    if (rc != DDW_OK) {
        print_error("continuation lines rejected:\n%s", msg);
        free(msg);
        free(text);
        fail();
    }
    assert_int_equal(cfg->sources[0].nkeep, 20);
    assert_string_equal(cfg->sources[0].keep[0], "pass_through_00");
    assert_string_equal(cfg->sources[0].keep[5], "pass_through_05");
    assert_string_equal(cfg->sources[0].keep[19], "pass_through_19");
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_err_no_source(void **state)
{
    (void)state;
    const char *text = "[match]\nthreshold = 5\n\n"
                       "[blocking.b]\nkey = exact(dob)\n\n"
                       "[compare.dob]\nfield = dob\nmethod = date\nlevels = exact, else\n"
                       "m = 0.9, 0.1\nu = 0.01, 0.99\n";
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_ECONFIG);
    assert_null(cfg);
    assert_has(msg, PATH, "no [source.NAME] section", NULL);
    assert_null(strstr(msg, "no [blocking.NAME]"));
    assert_null(strstr(msg, "no [compare.NAME]"));
    free(msg);
    /* an empty config lacks all three */
    assert_int_equal(parse("", 0, NULL, &cfg, &msg), DDW_ECONFIG);
    assert_has(msg, "no [source.NAME]", "no [blocking.NAME]", "no [compare.NAME]", NULL);
    free(msg);
}

static void test_err_all_reported(void **state)
{
    (void)state;
    /* two independent problems: both are reported, each once, at its own line */
    char *set[] = {"match.prior=2"};
    int l = line_of("threshold = 8.5");
    char *text = config_text(l, "threshold = x", NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 1, set, &cfg, &msg), DDW_ECONFIG);
    assert_has(msg, where(l), "[match] threshold", "--set #1: [match] prior", NULL);
    int lines = 0;
    for (const char *p = msg; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    free(msg);
    free(text);
    /* with err == NULL the status is still returned */
    text = config_text(l, "threshold = x", NULL);
    assert_int_equal(ddw_config_parse(PATH, text, 0, NULL, NULL, &cfg), DDW_ECONFIG);
    assert_null(cfg);
    free(text);
}

static void test_syntax_error(void **state)
{
    (void)state;
    int l = line_of("seed = 7");
    expect_error(l, "seed 7", NULL, where(l), "syntax error", NULL);
}

/* ---- help ----------------------------------------------------------------------- */

static void test_help(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    ddw_config_help(f);
    fclose(f);
    static const char *const names[] = {
        "name", "seed", "threshold", "prior", "max_block_size", "deflate", "chunk", "path",
        "id_column", "forename", "surname", "forename_initial", "surname_initial", "dob",
        "dob_format", "sex", "sex_codes", "area", "postcode", "pnc_id", "event_date",
        "event_date_format", "keep", "key", "field", "method", "levels", "m", "u"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "\n  %s ", names[i]); /* a key line starts "  key " */
        if (strstr(buf, want) == NULL)
            fail_msg("key %s missing from help:\n%s", names[i], buf);
    }
    assert_has(buf, "[run]", "[match]", "[block]", "[output]", "[source.NAME]",
               "[blocking.NAME]", "[compare.NAME]", "(required)", "--set", NULL);
    for (int i = 0; i < ddw_compare_nmethods(); i++)
        assert_non_null(strstr(buf, ddw_compare_method_at(i)->name));
    free(buf);
}

static void test_newcomer_forms(void **state)
{
    /* forms a newcomer is likely to write: a bare field as a blocking key
     * part, spaces inside levels, and DD/MM/YYYY-style date formats */
    (void)state;
    char *text = config_text(line_of("key = exact(dob), initials()"), "key = dob, initials()",
                             NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    assert_int_equal(cfg->passes[0].parts[0].func, DDW_BK_EXACT);
    assert_int_equal(cfg->passes[0].parts[0].field, DDW_F_DOB);
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
    text = config_text(line_of("levels = exact, jw>=0.92, else"),
                       "levels = exact, jw >= 0.92, else", NULL);
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    assert_int_equal(cfg->compare[1].levels[1].kind, DDW_LV_JW);
    assert_true(cfg->compare[1].levels[1].param == 0.92);
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
    text = config_text(line_of("dob_format = %d/%m/%Y"), "dob_format = DD-MON-YYYY", NULL);
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    assert_string_equal(cfg->sources[0].date_format[DDW_F_DOB], "%d-%b-%Y");
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_warnings(void **state)
{
    /* source b has no forename column but a forename initial: the forename
     * comparison is mapped in one source only; pass "name" needs forename */
    (void)state;
    char *text = config_text(0, NULL, NULL);
    ddw_config *cfg = NULL;
    char *msg = NULL;
    assert_int_equal(parse(text, 0, NULL, &cfg, &msg), DDW_OK);
    free(msg);
    msg = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&msg, &len);
    int n = ddw_config_warn(cfg, out);
    fclose(out);
    assert_true(n >= 2);
    assert_non_null(strstr(msg, "[compare.forename] field forename is mapped in one source only"));
    assert_non_null(strstr(msg, "[blocking.name] source b lacks field forename"));
    assert_true(ddw_config_source_has(&cfg->sources[1], DDW_F_SURNAME_INITIAL)); /* derived */
    assert_false(ddw_config_source_has(&cfg->sources[1], DDW_F_SEX));
    ddw_config_destroy(&cfg);
    free(msg);
    free(text);
}

static void test_err_keep_union(void **state)
{
    /* 20 + 20 new pass-through columns plus the base config's 2: more than 32 */
    (void)state;
    char a[400] = "keep = ", b[400] = "keep = ";
    for (int i = 0; i < 20; i++) {
        snprintf(a + strlen(a), sizeof a - strlen(a), "%sa%02d", i ? ", " : "", i);
        snprintf(b + strlen(b), sizeof b - strlen(b), "%sb%02d", i ? ", " : "", i);
    }
    char extra[1024];
    snprintf(extra, sizeof extra, "[source.c]\npath = c.csv\nid_column = id\nsurname = s\n%s\n"
                                  "[source.d]\npath = d.csv\nid_column = id\nsurname = s\n%s\n",
             a, b);
    expect_error(0, NULL, extra, PATH ": ", "42 distinct pass-through columns", "at most 32",
                 NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_scalars),
        cmocka_unit_test(test_valid_sources),
        cmocka_unit_test(test_valid_passes_and_comparisons),
        cmocka_unit_test(test_effective),
        cmocka_unit_test(test_set_overrides),
        cmocka_unit_test(test_err_unknown_key), cmocka_unit_test(test_attach_once),
        cmocka_unit_test(test_err_unknown_section),
        cmocka_unit_test(test_err_threshold_not_number),
        cmocka_unit_test(test_err_prior_range),
        cmocka_unit_test(test_err_mu_count),
        cmocka_unit_test(test_err_m_sum),
        cmocka_unit_test(test_err_level_not_for_method),
        cmocka_unit_test(test_err_else_not_last),
        cmocka_unit_test(test_err_unknown_field),
        cmocka_unit_test(test_err_unknown_blocking_function),
        cmocka_unit_test(test_err_bad_date_format),
        cmocka_unit_test(test_err_duplicate_key),
        cmocka_unit_test(test_err_set_malformed),
        cmocka_unit_test(test_err_set_unknown_key),
        cmocka_unit_test(test_err_missing_required),
        cmocka_unit_test(test_err_empty_path_line),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_newcomer_forms),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_err_keep_union),
        cmocka_unit_test(test_err_no_source),
        cmocka_unit_test(test_err_all_reported),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
