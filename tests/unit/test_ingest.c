/*
 * test_ingest.c - unit tests for the per-row normaliser of stage 1
 * (ddw_ingest_row in src/ingest.c): what an accepted row stores (normalised
 * names, derived initials, dates as day numbers, mapped sex codes, record
 * ID, pass-through values, the record key) and why a row is rejected.
 *
 * Trade-off: the config is parsed from in-memory INI text and the ingest
 * plan (which ddw_ingest_prepare would build from CSV headers) is written
 * by hand, so the tests need no files, no MPI and no header parsing, and
 * each row is one literal string.  The price is that the plan's column
 * numbers must be kept in step with the header comments below by hand.
 * Reject reasons are checked for their text and for NOT containing the
 * offending value, since reasons end up in the output and must never hold
 * identifying data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <omp.h>
#include <unistd.h>

#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_ingest.h"
#include "ddw_norm.h"
#include "ddw_records.h"

/*
 * Source 0 "custody": id,forename,surname,dob,sex,site   (dob as %d/%m/%Y)
 * Source 1 "clinic":  ref,fi,surname,dob,note,site       (dob as %Y-%m-%d,
 *                     forename initial only, default sex codes unused)
 * Pass-through columns (union, in order): site, note.
 */
static const char *const config_ini =
    "[match]\n"
    "threshold = 5\n"
    "[source.custody]\n"
    "path = custody.csv\n"
    "id_column = id\n"
    "forename = forename\n"
    "surname = surname\n"
    "dob = dob\n"
    "dob_format = %d/%m/%Y\n"
    "sex = sex\n"
    "keep = site\n"
    "[source.clinic]\n"
    "path = clinic.csv\n"
    "id_column = ref\n"
    "forename_initial = fi\n"
    "surname = surname\n"
    "dob = dob\n"
    "keep = note, site\n"
    "[blocking.dob]\n"
    "key = exact(dob), initials()\n"
    "[compare.forename]\n"
    "field = forename\n"
    "method = string\n"
    "levels = exact, jw>=0.9, else\n"
    "m = 0.8, 0.1, 0.1\n"
    "u = 0.01, 0.04, 0.95\n"
    "[compare.surname]\n"
    "field = surname\n"
    "method = string\n"
    "levels = exact, else\n"
    "m = 0.9, 0.1\n"
    "u = 0.01, 0.99\n"
    "[compare.sex]\n"
    "field = sex\n"
    "method = exact\n"
    "levels = exact, else\n"
    "m = 0.95, 0.05\n"
    "u = 0.5, 0.5\n";

enum { KEEP_SITE, KEEP_NOTE, NKEEP };

typedef struct {
    ddw_config *cfg;
    ddw_ingest_plan plan;
    ddw_ingest_out out;
    char reason[DDW_REASON_LEN];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    if (ddw_config_parse("ingest.ini", config_ini, 0, NULL, stderr, &fx->cfg) != DDW_OK) {
        free(fx);
        return -1;
    }
    ddw_ingest_plan *plan = &fx->plan;
    plan->nsources = 2;
    plan->src = calloc(2, sizeof *plan->src);
    plan->nkeep = NKEEP;
    plan->keep[KEEP_SITE] = strdup("site");
    plan->keep[KEEP_NOTE] = strdup("note");
    for (int s = 0; s < 2; s++)
        for (int f = 0; f < DDW_NFIELDS; f++)
            plan->src[s].col[f] = -1;
    ddw_source_plan *c = &plan->src[0]; /* id,forename,surname,dob,sex,site */
    c->ncols = 6;
    c->id_col = 0;
    c->col[DDW_F_FORENAME] = 1;
    c->col[DDW_F_SURNAME] = 2;
    c->col[DDW_F_DOB] = 3;
    c->col[DDW_F_SEX] = 4;
    c->keep_col[KEEP_SITE] = 5;
    c->keep_col[KEEP_NOTE] = -1;
    ddw_source_plan *k = &plan->src[1]; /* ref,fi,surname,dob,note,site */
    k->ncols = 6;
    k->id_col = 0;
    k->col[DDW_F_FORENAME_INITIAL] = 1;
    k->col[DDW_F_SURNAME] = 2;
    k->col[DDW_F_DOB] = 3;
    k->keep_col[KEEP_SITE] = 5;
    k->keep_col[KEEP_NOTE] = 4;
    /* as ddw_ingest_run initialises it */
    memset(&fx->out, 0, sizeof fx->out);
    ddw_recs_init(&fx->out.recs, ddw_ingest_fieldmask(fx->cfg));
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ddw_ingest_free(&fx->out);
    ddw_ingest_plan_free(&fx->plan);
    ddw_config_destroy(&fx->cfg);
    free(fx);
    return 0;
}

/* Runs ddw_ingest_row on the NUL-terminated record rec of source s. */
static int row(fixture *fx, int s, uint64_t line, const char *rec)
{
    size_t len = strlen(rec);
    char *scratch = malloc(len + 1);
    assert_non_null(scratch);
    memset(fx->reason, 0, sizeof fx->reason);
    int ok = ddw_ingest_row(fx->cfg, &fx->plan, s, line, rec, len, scratch, len + 1, &fx->out,
                            fx->reason);
    free(scratch);
    return ok;
}

/* Asserts that text field f of accepted row i is want (NULL = missing). */
static void assert_text(const fixture *fx, size_t i, ddw_field f, const char *want)
{
    const ddw_recs *r = &fx->out.recs;
    assert_non_null(r->f[f]);
    const ddw_fval *v = &r->f[f][i];
    if (want == NULL) {
        assert_true(v->h == 0);
        return;
    }
    assert_true(v->h != 0);
    assert_int_equal(v->len, strlen(want));
    assert_memory_equal(ddw_recs_text(r, v), want, v->len);
}

/* Asserts that the record ID of accepted row i is want. */
static void assert_id(const fixture *fx, size_t i, const char *want)
{
    assert_int_equal(fx->out.id_len[i], strlen(want));
    assert_memory_equal(fx->out.text + fx->out.id_off[i], want, strlen(want));
}

/* Asserts that pass-through column j of accepted row i is want ("" = absent). */
static void assert_keep(const fixture *fx, size_t i, int j, const char *want)
{
    size_t at = i * (size_t)fx->plan.nkeep + (size_t)j;
    assert_int_equal(fx->out.keep_len[at], strlen(want));
    if (want[0])
        assert_memory_equal(fx->out.text + fx->out.keep_off[at], want, strlen(want));
}

/* Asserts a rejection with reason want that does not mention secret. */
static void assert_reject(fixture *fx, int s, const char *rec, const char *want,
                          const char *secret)
{
    size_t n = fx->out.recs.n, tlen = fx->out.tlen;
    assert_int_equal(row(fx, s, 9, rec), 0);
    assert_string_equal(fx->reason, want);
    if (secret && strstr(fx->reason, secret) != NULL)
        fail_msg("reason '%s' leaks the value '%s'", fx->reason, secret);
    /* nothing is stored for a rejected row */
    assert_int_equal(fx->out.recs.n, n);
    assert_int_equal(fx->out.tlen, tlen);
}

/* ---- accepted rows ------------------------------------------------------------ */

static void test_fieldmask(void **state)
{
    fixture *fx = *state;
    unsigned want = (1u << DDW_F_DOB) | (1u << DDW_F_FORENAME_INITIAL) |
                    (1u << DDW_F_SURNAME_INITIAL) | (1u << DDW_F_FORENAME) |
                    (1u << DDW_F_SURNAME) | (1u << DDW_F_SEX);
    assert_int_equal(ddw_ingest_fieldmask(fx->cfg), want);
    assert_null(fx->out.recs.f[DDW_F_AREA]);
    assert_null(fx->out.recs.f[DDW_F_PNC_ID]);
}

static void test_accept_normalised(void **state)
{
    fixture *fx = *state;
    assert_int_equal(row(fx, 0, 2, "A17,  zo\xC3\xAB ,O'Brien-Smith,07/03/1985,f,Leeds"), 1);
    assert_int_equal(fx->out.recs.n, 1);
    assert_true(fx->out.recs.key[0] == DDW_KEY(0, 2));
    assert_text(fx, 0, DDW_F_FORENAME, "ZOE");
    assert_text(fx, 0, DDW_F_SURNAME, "OBRIEN SMITH");
    assert_text(fx, 0, DDW_F_FORENAME_INITIAL, "Z");
    assert_text(fx, 0, DDW_F_SURNAME_INITIAL, "O");
    assert_text(fx, 0, DDW_F_SEX, "F");
    assert_int_equal(fx->out.recs.f[DDW_F_DOB][0].date, ddw_norm_days_from_civil(1985, 3, 7));
    assert_true(fx->out.recs.f[DDW_F_DOB][0].h != 0);
    /* Soundex code of the normalised surname is precomputed */
    assert_string_equal(fx->out.recs.f[DDW_F_SURNAME][0].code, "O165");
    assert_id(fx, 0, "A17");
    assert_keep(fx, 0, KEEP_SITE, "Leeds");
    assert_keep(fx, 0, KEEP_NOTE, ""); /* custody has no note column */

    /* more folding: case, accents, punctuation, spaces */
    assert_int_equal(row(fx, 0, 3, "A18,JOS\xC3\x89 LU\xC3\x8DS,  mc.DONALD ,1/1/1950,M,"), 1);
    assert_int_equal(fx->out.recs.n, 2);
    assert_true(fx->out.recs.key[1] == DDW_KEY(0, 3));
    assert_text(fx, 1, DDW_F_FORENAME, "JOSE LUIS");
    assert_text(fx, 1, DDW_F_SURNAME, "MC DONALD");
    assert_text(fx, 1, DDW_F_FORENAME_INITIAL, "J");
    assert_text(fx, 1, DDW_F_SURNAME_INITIAL, "M");
    assert_text(fx, 1, DDW_F_SEX, "M");
    assert_int_equal(fx->out.recs.f[DDW_F_DOB][1].date, ddw_norm_days_from_civil(1950, 1, 1));
    assert_id(fx, 1, "A18");
    assert_keep(fx, 1, KEEP_SITE, "");
    /* the first row is untouched by the second */
    assert_text(fx, 0, DDW_F_FORENAME, "ZOE");
    assert_id(fx, 0, "A17");
}

static void test_record_key(void **state)
{
    fixture *fx = *state;
    assert_int_equal(row(fx, 1, 17, "C1,j,Smith,1990-12-25,,"), 1);
    assert_int_equal(row(fx, 0, (UINT64_C(1) << 40) - 1, "X,Ann,Lee,,,"), 1);
    assert_true(fx->out.recs.key[0] == DDW_KEY(1, 17));
    assert_int_equal(DDW_KEY_SOURCE(fx->out.recs.key[0]), 1);
    assert_int_equal(DDW_KEY_ROW(fx->out.recs.key[0]), 17);
    assert_int_equal(DDW_KEY_SOURCE(fx->out.recs.key[1]), 0);
    assert_true(DDW_KEY_ROW(fx->out.recs.key[1]) == (INT64_C(1) << 40) - 1);
}

static void test_initials(void **state)
{
    fixture *fx = *state;
    /* clinic maps the forename initial column and no forename: the initial is
     * kept (first letter only), the forename stays missing; the surname
     * initial is derived from the surname */
    assert_int_equal(row(fx, 1, 2, "C1,j,smith,1990-12-25,n1,s1"), 1);
    assert_text(fx, 0, DDW_F_FORENAME, NULL);
    assert_text(fx, 0, DDW_F_FORENAME_INITIAL, "J");
    assert_text(fx, 0, DDW_F_SURNAME_INITIAL, "S");
    assert_int_equal(row(fx, 1, 3, "C2,Jo.,\xC3\x89vans,1990-12-25,,"), 1);
    assert_text(fx, 1, DDW_F_FORENAME_INITIAL, "J"); /* "JO" cut to one letter */
    assert_text(fx, 1, DDW_F_SURNAME_INITIAL, "E");  /* from "EVANS" */
    assert_text(fx, 1, DDW_F_SURNAME, "EVANS");
    /* custody has no initial columns: both derived from the names */
    assert_int_equal(row(fx, 0, 2, "A1,\xC3\x89lodie,d'Arcy,,,"), 1);
    assert_text(fx, 2, DDW_F_FORENAME_INITIAL, "E");
    assert_text(fx, 2, DDW_F_SURNAME_INITIAL, "D");
    /* no name, no initial */
    assert_int_equal(row(fx, 0, 3, "A2,,  ,,,"), 1);
    assert_text(fx, 3, DDW_F_FORENAME, NULL);
    assert_text(fx, 3, DDW_F_SURNAME, NULL);
    assert_text(fx, 3, DDW_F_FORENAME_INITIAL, NULL);
    assert_text(fx, 3, DDW_F_SURNAME_INITIAL, NULL);
    /* a name of punctuation only normalises to nothing: missing, no initial */
    assert_int_equal(row(fx, 0, 4, "A3,-,'',,,"), 1);
    assert_text(fx, 4, DDW_F_FORENAME, NULL);
    assert_text(fx, 4, DDW_F_FORENAME_INITIAL, NULL);
}

static void test_dates(void **state)
{
    fixture *fx = *state;
    const ddw_fval *d;
    assert_int_equal(row(fx, 0, 2, "A1,Ann,Lee, 29/02/1980 ,,"), 1); /* leap day, padded */
    assert_int_equal(row(fx, 1, 2, "C1,A,Lee,1980-02-29,,"), 1);     /* ISO default format */
    assert_int_equal(row(fx, 0, 3, "A2,Ann,Lee,,,"), 1);             /* empty: missing */
    assert_int_equal(row(fx, 0, 4, "A3,Ann,Lee,1/12/1899,,"), 1);
    d = fx->out.recs.f[DDW_F_DOB];
    assert_int_equal(d[0].date, ddw_norm_days_from_civil(1980, 2, 29));
    assert_int_equal(d[1].date, d[0].date);
    assert_true(d[0].h == d[1].h); /* equal dates hash equal across sources */
    assert_int_equal(d[2].date, DDW_DATE_MISSING);
    assert_true(d[2].h == 0);
    assert_int_equal(d[3].date, ddw_norm_days_from_civil(1899, 12, 1));
    assert_true(d[3].date < 0);
}

static void test_sex_codes(void **state)
{
    fixture *fx = *state;
    /* custody uses the default codes: M MALE 1 F FEMALE 2 -> M/F; U UNKNOWN X 0 9 -> missing */
    static const struct {
        const char *rec;
        const char *want;
    } cases[] = {
        {"A1,Ann,Lee,,m,", "M"},       {"A2,Ann,Lee,, Male ,", "M"},
        {"A3,Ann,Lee,,1,", "M"},       {"A4,Ann,Lee,,female,", "F"},
        {"A5,Ann,Lee,,2,", "F"},       {"A6,Ann,Lee,,U,", NULL},
        {"A7,Ann,Lee,,Unknown,", NULL}, {"A8,Ann,Lee,,x,", NULL},
        {"A9,Ann,Lee,,9,", NULL},      {"A10,Ann,Lee,,,", NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        if (row(fx, 0, 2 + c, cases[c].rec) != 1)
            fail_msg("row '%s' rejected: %s", cases[c].rec, fx->reason);
        assert_text(fx, c, DDW_F_SEX, cases[c].want);
    }
    assert_int_equal(fx->out.recs.n, sizeof cases / sizeof cases[0]);
    /* the clinic source does not map sex at all */
    assert_int_equal(row(fx, 1, 2, "C1,A,Lee,,,"), 1);
    assert_text(fx, fx->out.recs.n - 1, DDW_F_SEX, NULL);
}

static void test_quoted_fields(void **state)
{
    fixture *fx = *state;
    const char *rec = "\"A 1\",\"Mary, Jane\",\"Smith\nJones\",\"07/03/1985\",\"F\","
                      "\"Leeds, \"\"West\"\"\"";
    assert_int_equal(row(fx, 0, 5, rec), 1);
    assert_text(fx, 0, DDW_F_FORENAME, "MARY JANE");
    assert_text(fx, 0, DDW_F_SURNAME, "SMITH JONES");
    assert_text(fx, 0, DDW_F_SEX, "F");
    assert_int_equal(fx->out.recs.f[DDW_F_DOB][0].date, ddw_norm_days_from_civil(1985, 3, 7));
    assert_id(fx, 0, "A 1");
    assert_keep(fx, 0, KEEP_SITE, "Leeds, \"West\"");
    /* CRLF line ending */
    assert_int_equal(row(fx, 0, 7, "A2,Ann,Lee,,,Hull\r"), 1);
    assert_keep(fx, 1, KEEP_SITE, "Hull");
}

static void test_keep_verbatim(void **state)
{
    fixture *fx = *state;
    /* pass-through values keep case, accents and punctuation */
    assert_int_equal(row(fx, 1, 2, "C1,a,Lee,,\"Zo\xC3\xAB's note; O'Brien, 50%\",Site-7/b"), 1);
    assert_keep(fx, 0, KEEP_NOTE, "Zo\xC3\xAB's note; O'Brien, 50%");
    assert_keep(fx, 0, KEEP_SITE, "Site-7/b");
    assert_int_equal(row(fx, 1, 3, "C2,b,Lee,,,"), 1);
    assert_keep(fx, 1, KEEP_NOTE, "");
    assert_keep(fx, 1, KEEP_SITE, "");
    assert_keep(fx, 0, KEEP_NOTE, "Zo\xC3\xAB's note; O'Brien, 50%");
    assert_id(fx, 0, "C1");
    assert_id(fx, 1, "C2");
}

static void test_many_rows(void **state)
{
    fixture *fx = *state;
    /* enough rows to grow every per-row array past its first allocation */
    char rec[128];
    for (int i = 0; i < 2500; i++) {
        snprintf(rec, sizeof rec, "ID%d,Name%c,Sur,01/01/1980,M,site%d", i, 'a' + i % 26,
                 i % 7);
        assert_int_equal(row(fx, 0, (uint64_t)i + 2, rec), 1);
    }
    assert_int_equal(fx->out.recs.n, 2500);
    for (int i = 0; i < 2500; i += 499) {
        char want[32];
        snprintf(want, sizeof want, "ID%d", i);
        assert_id(fx, (size_t)i, want);
        snprintf(want, sizeof want, "site%d", i % 7);
        assert_keep(fx, (size_t)i, KEEP_SITE, want);
        snprintf(want, sizeof want, "NAME%c", 'A' + i % 26);
        assert_text(fx, (size_t)i, DDW_F_FORENAME, want);
        assert_true(fx->out.recs.key[i] == DDW_KEY(0, i + 2));
    }
}

/* ---- rejected rows ------------------------------------------------------------- */

static void test_reject_column_count(void **state)
{
    fixture *fx = *state;
    assert_reject(fx, 0, "A1,Ann,Lee,07/03/1985,F", "wrong number of columns: 5, expected 6",
                  "Lee");
    assert_reject(fx, 0, "A1,Ann,Lee,07/03/1985,F,Leeds,extra",
                  "wrong number of columns: 7, expected 6", "extra");
    assert_reject(fx, 1, "", "wrong number of columns: 1, expected 6", NULL);
}

static void test_reject_broken_quoting(void **state)
{
    fixture *fx = *state;
    assert_reject(fx, 0, "A1,Jo\"hn,Lee,,,", "broken quoting", "Jo");
    assert_reject(fx, 0, "A1,\"John\"x,Lee,,,", "broken quoting", "John");
    assert_reject(fx, 0, "A1,\"John,Lee,,,", "broken quoting", "John");
}

static void test_reject_utf8(void **state)
{
    fixture *fx = *state;
    assert_reject(fx, 0, "A1,Zo\xEB,Lee,,,", "invalid UTF-8 in column 2", "Zo");
    assert_reject(fx, 1, "C1,A,Lee,,\xC0\x80,", "invalid UTF-8 in column 5", NULL);
    assert_reject(fx, 0, "\xFF" "A1,Ann,Lee,,,", "invalid UTF-8 in column 1", "A1");
}

static void test_reject_date(void **state)
{
    fixture *fx = *state;
    assert_reject(fx, 0, "A1,Ann,Lee,31/02/1980,F,", "invalid date in column dob (field dob)",
                  "1980");
    assert_reject(fx, 0, "A1,Ann,Lee,29/02/1981,F,", "invalid date in column dob (field dob)",
                  "1981");
    assert_reject(fx, 0, "A1,Ann,Lee,1980-02-03,F,", "invalid date in column dob (field dob)",
                  "1980");
    /* the other source's format is its own */
    assert_reject(fx, 1, "C1,A,Lee,03/02/1980,,", "invalid date in column dob (field dob)",
                  "1980");
    assert_int_equal(row(fx, 1, 2, "C1,A,Lee,1980-02-03,,"), 1);
}

static void test_reject_sex(void **state)
{
    fixture *fx = *state;
    assert_reject(fx, 0, "A1,Ann,Lee,,Q,", "unknown sex code in column sex", "Q");
    assert_reject(fx, 0, "A1,Ann,Lee,,Mx,", "unknown sex code in column sex", "Mx");
    assert_reject(fx, 0, "A1,Ann,Lee,,-,", "unknown sex code in column sex", NULL);
}

static void test_reject_empty_id(void **state)
{
    fixture *fx = *state;
    assert_reject(fx, 0, ",Ann,Lee,,F,", "empty record ID in column id", "Ann");
    assert_reject(fx, 0, "  \t ,Ann,Lee,,F,", "empty record ID in column id", NULL);
    assert_reject(fx, 1, "\"\",A,Lee,,,", "empty record ID in column ref", NULL);
}

static void test_reject_then_accept(void **state)
{
    fixture *fx = *state;
    /* a rejected row leaves no trace: the next accepted row is row 0 */
    assert_int_equal(row(fx, 0, 2, "A1,Ann,Lee,31/02/1980,F,s"), 0);
    assert_int_equal(row(fx, 0, 3, "A2,Bob,Ray,01/02/1980,M,t"), 1);
    assert_int_equal(fx->out.recs.n, 1);
    assert_true(fx->out.recs.key[0] == DDW_KEY(0, 3));
    assert_id(fx, 0, "A2");
    assert_keep(fx, 0, KEEP_SITE, "t");
    assert_text(fx, 0, DDW_F_FORENAME, "BOB");
}

/* ---- whole files, read by several threads ---------------------------------- */

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;
static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state >> 33) % n;
}

/*
 * Writes a CSV of n rows (header first) full of what makes segmentation
 * hard: quoted commas, "" escapes, CRLF and LF inside quoted fields, blank
 * lines, a stray quote, extra columns, bad dates, invalid UTF-8, an
 * over-long value in a field nobody compares, and (if open_end) a quoted
 * field left open at the end of the file.  Returns the line of that last
 * record (0 if !open_end).
 */
static uint64_t write_csv(const char *path, int n, int open_end)
{
    static const char *const first[] = {"Ann", "Bob", "Zo\xC3\xAB", "J\xC3\xA9r\xC3\xB4me",
                                        "Mary-Jane", "O'Neil", "  lee  ", "\"Anne, Marie\""};
    static const char *const last[] = {"Smith", "Jones", "\xC5\x81ukasz", "d'Arcy",
                                       "\"Mc\"\"Kay\"", "Brown", "Ng", ""};
    static const char *const note[] = {"plain", "\"a, b\"", "\"multi\r\nline\r\nnote\"",
                                       "\"say \"\"hi\"\"\"", "", "\"x\ny\"", "\"\"", "z"};
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t line = 1;
    fputs("id,first,last,born,sex,region,note\r\n", f);
    for (int i = 0; i < n; i++) {
        char region[1200];
        snprintf(region, sizeof region, "R%u", rnd(5));
        if (i == 1234) { /* folds to far more than 1023 bytes: rejected */
            for (int k = 0; k < 1100; k++)
                region[k] = k % 2 ? ' ' : 'a';
            region[1100] = 0;
        } else if (i == 1235) { /* long, but folds to "X": accepted */
            memset(region, ' ', 1100);
            strcpy(region + 1100, "x");
        }
        if (i % 401 == 0) {
            fputs("\r\n", f); /* blank line: skipped */
            line++;
        }
        const char *nt = note[rnd(8)];
        fprintf(f, "P%d,%s%s,%s%s,%s,%s,%s,%s%s\r\n", i,
                first[rnd(8)], i % 613 == 0 ? "\xFF" : "",
                last[rnd(8)], i % 211 == 0 ? "\"x" : "",
                i % 500 == 0 ? "1980-02-30" : (const char *[]){"1980-02-29", "1975-12-01",
                                                                "2001-1-9", ""}[rnd(4)],
                (const char *[]){"M", "F", ""}[rnd(3)], region, nt, i % 307 == 0 ? ",x" : "");
        for (const char *c = nt; *c; c++)
            line += *c == '\n';
        line++;
    }
    uint64_t last_line = 0;
    if (open_end) {
        last_line = line + 1;
        fputs("Q1,Ann,Lee,1980-02-29,F,R1,\"never closed,\r\nP99,Bob,Ray,,,,\r\n", f);
    }
    fclose(f);
    return last_line;
}

/* Asserts that two ingest outputs are identical, byte for byte. */
static void assert_same_out(const ddw_ingest_out *a, const ddw_ingest_out *b, int S, int nkeep)
{
    assert_int_equal(a->recs.n, b->recs.n);
    size_t n = a->recs.n;
    assert_memory_equal(a->recs.key, b->recs.key, n * sizeof *a->recs.key);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        assert_true((a->recs.f[f] == NULL) == (b->recs.f[f] == NULL));
        if (a->recs.f[f] && n)
            assert_memory_equal(a->recs.f[f], b->recs.f[f], n * sizeof(ddw_fval));
    }
    assert_int_equal(a->recs.alen, b->recs.alen);
    assert_memory_equal(a->recs.arena, b->recs.arena, a->recs.alen);
    assert_int_equal(a->tlen, b->tlen);
    assert_memory_equal(a->text, b->text, a->tlen);
    if (n) {
        assert_memory_equal(a->id_off, b->id_off, n * sizeof *a->id_off);
        assert_memory_equal(a->id_len, b->id_len, n * sizeof *a->id_len);
        assert_memory_equal(a->keep_off, b->keep_off, n * (size_t)nkeep * sizeof *a->keep_off);
        assert_memory_equal(a->keep_len, b->keep_len, n * (size_t)nkeep * sizeof *a->keep_len);
    }
    assert_memory_equal(a->seg_first, b->seg_first, (size_t)S * sizeof(uint64_t));
    assert_memory_equal(a->seg_count, b->seg_count, (size_t)S * sizeof(uint64_t));
    assert_memory_equal(a->rows_read, b->rows_read, (size_t)S * sizeof(uint64_t));
    assert_memory_equal(a->rows_rejected, b->rows_rejected, (size_t)S * sizeof(uint64_t));
    assert_true(a->bytes_read == b->bytes_read);
    assert_int_equal(a->nrejects, b->nrejects);
    for (size_t k = 0; k < a->nrejects; k++) {
        assert_int_equal(a->rejects[k].source, b->rejects[k].source);
        assert_int_equal(a->rejects[k].line, b->rejects[k].line);
        assert_string_equal(a->rejects[k].reason, b->rejects[k].reason);
    }
}

static void test_threads_read_like_one(void **state)
{
    (void)state;
    char big[] = "/tmp/ddw_ingest_bigXXXXXX", tiny[] = "/tmp/ddw_ingest_tinyXXXXXX";
    int fd1 = mkstemp(big), fd2 = mkstemp(tiny);
    assert_true(fd1 >= 0 && fd2 >= 0);
    close(fd1);
    close(fd2);
    uint64_t open_line = write_csv(big, 4000, 1);
    FILE *f = fopen(tiny, "w");
    assert_non_null(f);
    fputs("id,first,last,born,sex,region,note\nT1,a,b,,,,\nT2,c,d,,,,", f); /* no final newline */
    fclose(f);
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[match]\nthreshold = 5\n"
             "[source.big]\npath = %s\nid_column = id\nforename = first\nsurname = last\n"
             "dob = born\nsex = sex\narea = region\nkeep = note\n"
             "[source.tiny]\npath = %s\nid_column = id\nforename = first\nsurname = last\n"
             "dob = born\nsex = sex\narea = region\nkeep = note\n"
             "[blocking.b]\nkey = soundex(surname), year(dob)\n"
             "[compare.forename]\nfield = forename\nmethod = string\n"
             "levels = exact, jw>=0.9, else\nm = 0.8, 0.1, 0.1\nu = 0.01, 0.04, 0.95\n"
             "[compare.sex]\nfield = sex\nmethod = exact\nlevels = exact, else\n"
             "m = 0.95, 0.05\nu = 0.5, 0.5\n",
             big, tiny);
    ddw_config *cfg = NULL;
    assert_int_equal(ddw_config_parse("threads.ini", ini, 0, NULL, stderr, &cfg), DDW_OK);
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_ingest_plan plan;
    assert_int_equal(ddw_ingest_prepare(cfg, comm, stderr, &plan), DDW_OK);
    int saved = omp_get_max_threads();
    ddw_ingest_out ref;
    omp_set_num_threads(1);
    assert_int_equal(ddw_ingest_run(cfg, comm, &plan, &ref), DDW_OK);
    /* what one thread reads */
    /* 4000 rows and the open one, give or take those that a stray quote
     * in a quoted name ("Mc""Kay""x) joins or splits by flipping quoting */
    assert_true(ref.rows_read[0] > 3900 && ref.rows_read[0] < 4100);
    assert_int_equal(ref.rows_read[0], ref.seg_count[0] + ref.rows_rejected[0]);
    assert_int_equal(ref.seg_count[1], 2);
    assert_int_equal(ref.seg_first[1], ref.seg_count[0]);
    int bad_quote = 0, cols = 0, dates = 0, utf8 = 0, long_value = 0;
    for (size_t k = 0; k < ref.nrejects; k++) {
        const char *why = ref.rejects[k].reason;
        bad_quote += strcmp(why, "broken quoting") == 0;
        cols += strncmp(why, "wrong number of columns", 23) == 0;
        dates += strcmp(why, "invalid date in column born (field dob)") == 0;
        utf8 += strcmp(why, "invalid UTF-8 in column 2") == 0;
        long_value += strcmp(why, "value too long in column region (field area)") == 0;
    }
    assert_true(bad_quote > 0 && cols > 0 && dates > 0 && utf8 > 0);
    assert_int_equal(long_value, 1);
    const ddw_reject *lastrj = &ref.rejects[ref.nrejects - 1];
    assert_int_equal(lastrj->source, 0);
    assert_int_equal(lastrj->line, open_line);
    assert_string_equal(lastrj->reason, "unterminated quoted field at end of file");
    /* only that line is lost: the row after it is read */
    assert_true(ref.recs.key[ref.seg_count[0] - 1] == DDW_KEY(0, open_line + 1));
    assert_memory_equal(ref.text + ref.id_off[ref.seg_count[0] - 1], "P99", 3);
    /* Soundex codes only where a key or comparison reads them */
    const ddw_recs *r = &ref.recs;
    int coded = 0;
    for (size_t i = 0; i < r->n; i++) {
        assert_string_equal(r->f[DDW_F_FORENAME][i].code, "");
        coded += r->f[DDW_F_SURNAME][i].code[0] != '\0';
    }
    assert_true(coded > 0);
    /* the area column is read (for rejects) but not stored */
    assert_null(r->f[DDW_F_AREA]);
    /* any number of threads: the same bytes */
    for (int t = 2; t <= 7; t++) {
        ddw_ingest_out got;
        omp_set_num_threads(t);
        assert_int_equal(ddw_ingest_run(cfg, comm, &plan, &got), DDW_OK);
        assert_same_out(&ref, &got, cfg->nsources, plan.nkeep);
        ddw_ingest_free(&got);
    }
    omp_set_num_threads(saved);
    ddw_ingest_free(&ref);
    ddw_ingest_plan_free(&plan);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
    unlink(big);
    unlink(tiny);
}

/* Runs ddw_ingest_run over the given files (one source each) with 1 to 7
 * threads, checks that every thread count gives the same output and
 * leaves the one-thread output in *out. */
static void ingest_files(const char *const *csv, int n, ddw_ingest_out *out,
                         ddw_ingest_plan *plan, ddw_config **cfg)
{
    char path[8][64], ini[4096];
    size_t at = (size_t)snprintf(ini, sizeof ini, "[match]\nthreshold = 5\n");
    for (int k = 0; k < n; k++) {
        snprintf(path[k], sizeof path[k], "/tmp/ddw_ingest_fileXXXXXX");
        int fd = mkstemp(path[k]);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, csv[k], strlen(csv[k])), (ssize_t)strlen(csv[k]));
        close(fd);
        at += (size_t)snprintf(ini + at, sizeof ini - at,
                               "[source.s%d]\npath = %s\nid_column = id\nforename = first\n"
                               "surname = last\nkeep = note\n",
                               k, path[k]);
    }
    snprintf(ini + at, sizeof ini - at,
             "[blocking.b]\nkey = exact(surname)\n"
             "[compare.forename]\nfield = forename\nmethod = exact\nlevels = exact, else\n"
             "m = 0.9, 0.1\nu = 0.1, 0.9\n");
    assert_int_equal(ddw_config_parse("files.ini", ini, 0, NULL, stderr, cfg), DDW_OK);
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    assert_int_equal(ddw_ingest_prepare(*cfg, comm, stderr, plan), DDW_OK);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(ddw_ingest_run(*cfg, comm, plan, out), DDW_OK);
    for (int t = 2; t <= 7; t++) {
        ddw_ingest_out got;
        omp_set_num_threads(t);
        assert_int_equal(ddw_ingest_run(*cfg, comm, plan, &got), DDW_OK);
        assert_same_out(out, &got, n, plan->nkeep);
        ddw_ingest_free(&got);
    }
    omp_set_num_threads(saved);
    ddw_comm_finalize(&comm);
    for (int k = 0; k < n; k++)
        unlink(path[k]);
}

/* Asserts that the (only) pass-through column of accepted row i is want. */
static void assert_keep_of(const ddw_ingest_out *o, size_t i, const char *want)
{
    assert_int_equal(o->keep_len[i], strlen(want));
    assert_memory_equal(o->text + o->keep_off[i], want, strlen(want));
}

/* Asserts that accepted row i is the record id from line line of source s. */
static void assert_row(const ddw_ingest_out *o, size_t i, int s, int line, const char *id)
{
    assert_true(o->recs.key[i] == DDW_KEY(s, line));
    assert_int_equal(o->id_len[i], strlen(id));
    assert_memory_equal(o->text + o->id_off[i], id, strlen(id));
}

static void test_unterminated_quote_rejects_one_line(void **state)
{
    (void)state;
    static const char *const csv[] = {
        /* an open quote in the middle (later quotes only come in pairs,
         * which keep it open): only its line is lost */
        "id,first,last,note\n"
        "P1,Ann,Lee,ok\n"
        "P2,Bob,\"Ray,oops\n"
        "P3,Cy,Dee,fine\n"
        "P4,Di,Eve,\"\"\"\"",
        /* a record whose first line ends inside a closed multi-line field:
         * the next line, read on its own, opens a quote again, so it is
         * rejected too */
        "id,first,last,note\r\n"
        "P1,\"Ann\r\nMarie\",Lee,\"open\r\n"
        "P2,Bob,Ray,ok\r\n",
        /* the open quote on the last line, no newline after it */
        "id,first,last,note\n"
        "P1,Ann,Lee,ok\n"
        "P2,\"Bob",
        /* the open quote's line is the last one, with its newline */
        "id,first,last,note\n"
        "P1,\"Ann,Lee,ok\n",
    };
    ddw_ingest_out o;
    ddw_ingest_plan plan;
    ddw_config *cfg = NULL;
    ingest_files(csv, 4, &o, &plan, &cfg);
    static const struct {
        int s, line;
    } want_rej[] = {{0, 3}, {1, 2}, {1, 3}, {2, 3}, {3, 2}};
    assert_int_equal(o.nrejects, 5);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(o.rejects[k].source, want_rej[k].s);
        assert_int_equal(o.rejects[k].line, want_rej[k].line);
        assert_string_equal(o.rejects[k].reason, "unterminated quoted field at end of file");
    }
    assert_int_equal(o.recs.n, 5);
    assert_row(&o, 0, 0, 2, "P1");
    assert_row(&o, 1, 0, 4, "P3");
    assert_row(&o, 2, 0, 5, "P4");
    assert_keep_of(&o, 2, "\"");
    assert_row(&o, 3, 1, 4, "P2");
    assert_row(&o, 4, 2, 2, "P1");
    static const uint64_t read[] = {4, 3, 2, 1}, rej[] = {1, 2, 1, 1};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(o.rows_read[k], read[k]);
        assert_int_equal(o.rows_rejected[k], rej[k]);
        assert_int_equal(o.seg_count[k] + o.rows_rejected[k], read[k]);
    }
    ddw_ingest_free(&o);
    ddw_ingest_plan_free(&plan);
    ddw_config_destroy(&cfg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fieldmask),
        T(test_accept_normalised),
        T(test_record_key),
        T(test_initials),
        T(test_dates),
        T(test_sex_codes),
        T(test_quoted_fields),
        T(test_keep_verbatim),
        T(test_many_rows),
        T(test_reject_column_count),
        T(test_reject_broken_quoting),
        T(test_reject_utf8),
        T(test_reject_date),
        T(test_reject_sex),
        T(test_reject_empty_id),
        T(test_reject_then_accept),
        cmocka_unit_test(test_threads_read_like_one),
        cmocka_unit_test(test_unterminated_quote_rejects_one_line),
    };
    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
