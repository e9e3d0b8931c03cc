/* Unit tests for the generator: PNC check letters, the parameter file, and
 * that a person's rows do not depend on how persons are split into blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_compare.h"
#include "ddw_generate.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    assert_int_equal(fread(t, 1, (size_t)n, f), (size_t)n);
    t[n] = '\0';
    fclose(f);
    return t;
}

/* Check letters computed by hand: (YY * 10^7 + serial) mod 23 indexes
 * "ZABCDEFGHJKLMNPQRTUVWXY". 991234567 = 23 * 43097155 + 2 -> 'B'. */
static void test_pnc_check(void **state)
{
    (void)state;
    assert_int_equal(ddw_compare_pnc_letter(99, 1234567), 'B');
    assert_int_equal(ddw_compare_pnc_letter(5, 1), 'B');       /* 50000001 mod 23 = 2 */
    assert_int_equal(ddw_compare_pnc_letter(0, 0), 'Z');       /* 0 */
    assert_int_equal(ddw_compare_pnc_letter(8, 9999999), 'K'); /* 89999999 mod 23 = 10 */
    assert_int_equal(ddw_compare_pnc_letter(13, 4872), 'T');   /* 130004872 mod 23 = 17 */
    assert_true(ddw_gen_pnc_valid("99/1234567B"));
    assert_true(ddw_gen_pnc_valid("13/4872T"));
    assert_true(ddw_gen_pnc_valid("13/0004872T"));
    assert_false(ddw_gen_pnc_valid("99/1234567C"));
    assert_false(ddw_gen_pnc_valid("99/1234567"));
    assert_false(ddw_gen_pnc_valid("9/1234567B"));
    assert_false(ddw_gen_pnc_valid("13/00004872T")); /* eight digits */
    assert_false(ddw_gen_pnc_valid("13/4872TT"));
    assert_false(ddw_gen_pnc_valid(""));
}

static ddw_status parse_text(const char *text, char *msg, size_t cap)
{
    FILE *err = fmemopen(msg, cap, "w");
    ddw_gen_params *p = NULL;
    ddw_status rc = ddw_gen_params_parse("t.ini", text, err, &p);
    fclose(err);
    ddw_gen_params_destroy(&p);
    return rc;
}

/* Replaces the first occurrence of 'from' in the shipped config by 'to'. */
static char *edited(const char *from, const char *to)
{
    char *t = slurp("configs/generate-ddw.ini");
    char *at = strstr(t, from);
    assert_non_null(at);
    char *out = malloc(strlen(t) + strlen(to) + 1);
    size_t pre = (size_t)(at - t);
    memcpy(out, t, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    free(t);
    return out;
}

static void test_params_shipped(void **state)
{
    (void)state;
    char *t = slurp("configs/generate-ddw.ini");
    ddw_gen_params *p = NULL;
    assert_int_equal(ddw_gen_params_parse("configs/generate-ddw.ini", t, stderr, &p), DDW_OK);
    assert_true(p->male > 0.8 && p->male < 0.86);
    assert_int_equal(p->areas.n, 20); /* the 19 South East DATs + outside region */
    assert_string_equal(p->areas.extra[0], "Kent");
    assert_int_equal(p->typo_kinds.n, 5);
    assert_string_equal(p->src[DDW_GS_OASYS].sex_code[1], "2");
    assert_string_equal(p->src[DDW_GS_NDTMS].sex_code[2], "");
    assert_true(p->window_end - p->window_start == 1460);
    ddw_gen_params_destroy(&p);
    assert_null(p);
    free(t);
}

static void test_params_errors(void **state)
{
    (void)state;
    char msg[4096];
    char *t = edited("male = 0.83", "male = 1.5");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "[population] male: '1.5' is not a probability"));
    assert_non_null(strstr(msg, "t.ini:"));
    free(t);
    t = edited("twin = 0.004", "twins = 0.004");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "[population] twins: unknown key"));
    assert_non_null(strstr(msg, "[population] twin is missing"));
    free(t);
    t = edited("Kent:5750:Kent", "Kent:lots:Kent");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "weight of 'Kent' is not a number"));
    free(t);
    t = edited("Theft from shop:30:yes", "Theft from shop:30:maybe");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "'Theft from shop' must be followed by :yes or :no"));
    free(t);
    t = edited("[source.ppo]", "[source.prison]");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "[source.prison]: unknown source"));
    assert_non_null(strstr(msg, "[source.ppo] file is missing"));
    free(t);
    t = edited("dob_format = %Y%m%d", "dob_format = %Y%q");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "is not a date format"));
    free(t);
    t = edited("cj_only = 0.43", "cj_only = 0.9");
    assert_int_equal(parse_text(t, msg, sizeof msg), DDW_ECONFIG);
    assert_non_null(strstr(msg, "cj_only + treatment_only must be at most 1"));
    free(t);
    assert_int_equal(parse_text("[window]\nstart = 2005-04-01\nstart = 2005-04-02\n", msg,
                                sizeof msg),
                     DDW_ECONFIG);
    assert_non_null(strstr(msg, "t.ini:3: [window] start given twice (first on line 2)"));
}

typedef struct {
    ddw_gen_params *p;
    ddw_gen_names *n;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char *t = slurp("configs/generate-ddw.ini");
    if (ddw_gen_params_parse("configs/generate-ddw.ini", t, stderr, &f->p) != DDW_OK ||
        ddw_gen_names_load(f->p, stderr, &f->n) != DDW_OK)
        return -1;
    free(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ddw_gen_names_free(&f->n);
    ddw_gen_params_destroy(&f->p);
    free(f);
    return 0;
}

/* Generating persons [0, 400) at once or as [0, 137) + [137, 400) gives the
 * same bytes and the same tallies. */
static void test_split_invariance(void **state)
{
    fixture *f = *state;
    ddw_gen_out one, a, b;
    memset(&one, 0, sizeof one);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ddw_gen_persons(f->p, f->n, 99, 0, 400, 1, &one);
    ddw_gen_persons(f->p, f->n, 99, 0, 137, 1, &a);
    ddw_gen_persons(f->p, f->n, 99, 137, 263, 1, &b);
    for (int k = 0; k < DDW_GS_N + 2; k++) {
        assert_int_equal(one.len[k], a.len[k] + b.len[k]);
        assert_memory_equal(one.buf[k], a.buf[k], a.len[k]);
        if (b.len[k])
            assert_memory_equal(one.buf[k] + a.len[k], b.buf[k], b.len[k]);
    }
    for (int s = 0; s < DDW_GS_N; s++) {
        assert_int_equal(one.records[s], a.records[s] + b.records[s]);
        for (int e = 0; e < DDW_GE_N; e++)
            assert_int_equal(one.applied[s][e], a.applied[s][e] + b.applied[s][e]);
    }
    for (int k = 0; k < DDW_GF_N; k++)
        assert_int_equal(one.fig[k], a.fig[k] + b.fig[k]);
    /* another seed gives other data */
    ddw_gen_out other;
    memset(&other, 0, sizeof other);
    ddw_gen_persons(f->p, f->n, 100, 0, 400, 0, &other);
    assert_true(other.len[DDW_GEN_TRUTH] != one.len[DDW_GEN_TRUTH] ||
                memcmp(other.buf[DDW_GEN_TRUTH], one.buf[DDW_GEN_TRUTH],
                       one.len[DDW_GEN_TRUTH]) != 0);
    assert_int_equal(other.len[DDW_GEN_PERSONS], 0);
    ddw_gen_out_free(&one);
    ddw_gen_out_free(&a);
    ddw_gen_out_free(&b);
    ddw_gen_out_free(&other);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Truth has one row per record, record IDs are unique, every person appears,
 * and PNC IDs carry correct check letters unless a typo was applied. */
static void test_rows_and_truth(void **state)
{
    fixture *f = *state;
    ddw_gen_out o;
    memset(&o, 0, sizeof o);
    const uint64_t N = 2000;
    ddw_gen_persons(f->p, f->n, 7, 0, N, 1, &o);
    char *truth = malloc(o.len[DDW_GEN_TRUTH] + 1);
    memcpy(truth, o.buf[DDW_GEN_TRUTH], o.len[DDW_GEN_TRUTH]);
    truth[o.len[DDW_GEN_TRUTH]] = '\0';
    uint64_t total = 0;
    for (int s = 0; s < DDW_GS_N; s++)
        total += o.records[s];
    assert_true(total > 3 * N); /* several records per person */
    char **ids = malloc(total * sizeof *ids);
    char *seen = calloc(N, 1);
    uint64_t rows = 0, pnc_typos = 0;
    char *save = NULL;
    for (char *line = strtok_r(truth, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
        assert_non_null(c3);
        *c2 = '\0';
        *c3 = '\0';
        assert_int_equal(c2[1], 'P');
        uint64_t who = strtoull(c2 + 2, NULL, 10);
        assert_true(who < N);
        seen[who] = 1;
        assert_true(rows < total);
        ids[rows++] = c1 + 1;
        pnc_typos += strstr(c3 + 1, "pnc_typo") != NULL;
    }
    assert_int_equal(rows, total);
    for (uint64_t i = 0; i < N; i++)
        assert_true(seen[i]);
    qsort(ids, rows, sizeof *ids, cmp_str);
    for (uint64_t i = 1; i < rows; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    /* PNC IDs in the pnc extract: second column */
    char *pnc = malloc(o.len[DDW_GS_PNC] + 1);
    memcpy(pnc, o.buf[DDW_GS_PNC], o.len[DDW_GS_PNC]);
    pnc[o.len[DDW_GS_PNC]] = '\0';
    uint64_t valid = 0, n = 0;
    for (char *line = strtok_r(pnc, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ','), *c2 = strchr(c1 + 1, ',');
        *c2 = '\0';
        valid += (uint64_t)ddw_gen_pnc_valid(c1 + 1);
        n++;
    }
    assert_int_equal(n, o.records[DDW_GS_PNC]);
    /* every invalid ID is a typo; a typo can occasionally hit a valid ID */
    assert_true(n - valid <= o.applied[DDW_GS_PNC][DDW_GE_PNC_TYPO]);
    assert_true(n - valid + 3 >= o.applied[DDW_GS_PNC][DDW_GE_PNC_TYPO]);
    free(pnc);
    free(ids);
    free(seen);
    free(truth);
    (void)pnc_typos;
    ddw_gen_out_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pnc_check),
        cmocka_unit_test(test_params_shipped),
        cmocka_unit_test(test_params_errors),
        cmocka_unit_test_setup_teardown(test_split_invariance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_and_truth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
