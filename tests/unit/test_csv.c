/*
 * test_csv.c - unit tests for the CSV scanner (src/csv.c).
 *
 * Trade-off: the tests use small literal records whose expected fields are
 * written out by hand, plus a brute-force cross-check of the word-at-a-time
 * counters against a plain byte loop over a pseudo-random buffer, rather
 * than fixture files, so each case states its own input and answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_csv.h"

#define MAXF 16

/* Splits a NUL-terminated record with a scratch buffer of len bytes. */
static ddw_status split(const char *rec, char *scratch, ddw_csv_field *f, int max, int *n)
{
    size_t len = strlen(rec);
    return ddw_csv_split(rec, len, scratch, len, f, max, n);
}

static void assert_field(const ddw_csv_field *f, const char *want)
{
    size_t wl = strlen(want);
    assert_int_equal(f->len, wl);
    if (wl > 0)
        assert_memory_equal(f->ptr, want, wl);
}

static void test_simple(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    const char *rec = "abc,12,x y";
    (void)state;
    assert_int_equal(split(rec, scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 3);
    assert_field(&f[0], "abc");
    assert_field(&f[1], "12");
    assert_field(&f[2], "x y");
    assert_ptr_equal(f[0].ptr, rec); /* unquoted fields point into rec */
}

static void test_quoted_comma(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    assert_int_equal(split("1,\"a,b\",2", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 3);
    assert_field(&f[0], "1");
    assert_field(&f[1], "a,b");
    assert_field(&f[2], "2");
    assert_ptr_equal(f[1].ptr, scratch);
}

static void test_escaped_quotes(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    assert_int_equal(split("\"say \"\"hi\"\"\",\"\"\"\",\"\"", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 3);
    assert_field(&f[0], "say \"hi\"");
    assert_field(&f[1], "\"");
    assert_field(&f[2], "");
}

static void test_embedded_newlines(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    assert_int_equal(split("x,\"line1\nline2\",\"a\r\nb\"", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 3);
    assert_field(&f[0], "x");
    assert_field(&f[1], "line1\nline2");
    assert_field(&f[2], "a\r\nb");
}

static void test_crlf_end(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    assert_int_equal(split("a,b\r", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 2);
    assert_field(&f[1], "b");
    assert_int_equal(split("a,\"q\"\r", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 2);
    assert_field(&f[1], "q");
    assert_int_equal(split("a,\r", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 2);
    assert_field(&f[1], "");
}

static void test_empty_fields(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    assert_int_equal(split(",,", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(f[i].len, 0);
    assert_int_equal(split("a,", scratch, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 2);
    assert_field(&f[0], "a");
    assert_field(&f[1], "");
}

static void test_empty_record(void **state)
{
    char scratch[4];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    assert_int_equal(ddw_csv_split("", 0, scratch, 0, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].len, 0);
    assert_int_equal(ddw_csv_split("\r", 1, NULL, 0, f, MAXF, &n), DDW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].len, 0);
}

static void test_more_than_max_fields(void **state)
{
    char scratch[64];
    ddw_csv_field f[3];
    int n = -1;
    (void)state;
    memset(f, 0, sizeof f);
    assert_int_equal(split("a,b,\"c\",\"d,d\",e", scratch, f, 2, &n), DDW_OK);
    assert_int_equal(n, 5);
    assert_field(&f[0], "a");
    assert_field(&f[1], "b");
    assert_null(f[2].ptr); /* untouched */
    assert_int_equal(split("a,b", scratch, NULL, 0, &n), DDW_OK);
    assert_int_equal(n, 2);
    /* broken quoting beyond max_fields is still reported */
    assert_int_equal(split("a,b,x\"y", scratch, f, 1, &n), DDW_ECSV);
}

static void test_broken_quoting(void **state)
{
    char scratch[64];
    ddw_csv_field f[MAXF];
    int n = -1;
    (void)state;
    /* quote inside an unquoted field */
    assert_int_equal(split("ab\"c\",d", scratch, f, MAXF, &n), DDW_ECSV);
    assert_int_equal(n, 0);
    assert_int_equal(split("a, \"b\"", scratch, f, MAXF, &n), DDW_ECSV);
    /* text after the closing quote */
    assert_int_equal(split("\"ab\"c,d", scratch, f, MAXF, &n), DDW_ECSV);
    assert_int_equal(split("x,\"ab\" ", scratch, f, MAXF, &n), DDW_ECSV);
    /* unterminated quoted field */
    assert_int_equal(split("a,\"bc", scratch, f, MAXF, &n), DDW_ECSV);
    assert_int_equal(split("\"", scratch, f, MAXF, &n), DDW_ECSV);
    assert_int_equal(split("\"ab\"\"", scratch, f, MAXF, &n), DDW_ECSV);
}

static void test_scratch_overflow(void **state)
{
    char scratch[8];
    ddw_csv_field f[MAXF];
    int n = -1;
    const char *rec = "\"abcd\",\"efgh\"";
    (void)state;
    assert_int_equal(ddw_csv_split(rec, strlen(rec), scratch, 7, f, MAXF, &n), DDW_ERANGE);
    assert_int_equal(ddw_csv_split(rec, strlen(rec), scratch, 8, f, MAXF, &n), DDW_OK);
    assert_field(&f[0], "abcd");
    assert_field(&f[1], "efgh");
    /* an escaped quote that does not fit */
    rec = "\"ab\"\"\"";
    assert_int_equal(ddw_csv_split(rec, strlen(rec), scratch, 2, f, MAXF, &n), DDW_ERANGE);
    assert_int_equal(ddw_csv_split(rec, strlen(rec), scratch, 3, f, MAXF, &n), DDW_OK);
    assert_field(&f[0], "ab\"");
}

static void test_record_end(void **state)
{
    const char *buf = "a,b\n\"x\ny\",z\nlast";
    const char *end = buf + strlen(buf);
    const char *e;
    int par = 0;
    (void)state;
    e = ddw_csv_record_end(buf, end, &par);
    assert_ptr_equal(e, buf + 3);
    assert_int_equal(par, 0);
    e = ddw_csv_record_end(e + 1, end, &par);
    assert_ptr_equal(e, buf + 11); /* skips the quoted '\n' */
    e = ddw_csv_record_end(e + 1, end, &par);
    assert_null(e);
    assert_int_equal(par, DDW_CSV_S_UNQUOTED); /* inside "last", no final newline */
    /* starting inside a quoted field: the quote at 4 closes it, 'x' is
     * (malformed) unquoted text and the '\n' at 6 ends the record */
    par = DDW_CSV_S_QUOTED;
    e = ddw_csv_record_end(buf, end, &par);
    assert_ptr_equal(e, buf + 6);
    par = DDW_CSV_S_QUOTED;
    e = ddw_csv_record_end(buf + 5, end, &par); /* inside "x<LF>y" */
    assert_ptr_equal(e, buf + 11);
}

static void test_stray_quote(void **state)
{
    /* a quote inside an unquoted field does not open quoting, so the
     * following records are still found (the row itself is rejected by
     * ddw_csv_split) */
    const char *buf = "1,Bl\"ack,x\n2,ok\n";
    const char *end = buf + strlen(buf);
    int st = DDW_CSV_S_START;
    (void)state;
    const char *e = ddw_csv_record_end(buf, end, &st);
    assert_ptr_equal(e, buf + 10);
    e = ddw_csv_record_end(e + 1, end, &st);
    assert_ptr_equal(e, buf + 15);
}

static void test_transitions(void **state)
{
    /* map[s] = end state when starting in s */
    uint8_t m[4];
    (void)state;
    ddw_csv_transitions("ab", 2, m);
    assert_int_equal(m[DDW_CSV_S_START], DDW_CSV_S_UNQUOTED);
    assert_int_equal(m[DDW_CSV_S_QUOTED], DDW_CSV_S_QUOTED);
    ddw_csv_transitions("a\"b,", 4, m);
    assert_int_equal(m[DDW_CSV_S_START], DDW_CSV_S_START);     /* stray quote, then ',' */
    assert_int_equal(m[DDW_CSV_S_QUOTED], DDW_CSV_S_START); /* quote closes, b, then ',' */
    ddw_csv_transitions("\"", 1, m);
    assert_int_equal(m[DDW_CSV_S_START], DDW_CSV_S_QUOTED);
    assert_int_equal(m[DDW_CSV_S_UNQUOTED], DDW_CSV_S_UNQUOTED);
    assert_int_equal(m[DDW_CSV_S_QUOTED], DDW_CSV_S_QQ);
    assert_int_equal(m[DDW_CSV_S_QQ], DDW_CSV_S_QUOTED); /* "" escape */
    /* composing chunk maps equals one run over the whole buffer */
    const char *buf = "id,n\n1,\"a,\nb\"\"c\",x\n2,\"q\"\n3,Bl\"ack\n";
    size_t len = strlen(buf);
    uint8_t whole[4];
    ddw_csv_transitions(buf, len, whole);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t a[4], b[4];
        ddw_csv_transitions(buf, cut, a);
        ddw_csv_transitions(buf + cut, len - cut, b);
        for (int st = 0; st < 4; st++)
            assert_int_equal(b[a[st]], whole[st]);
    }
}

static void test_record_end_split_buffer(void **state)
{
    /* long enough to exercise the 8-byte path on both sides of the cut */
    const char *buf = "id,name\n1,\"a long name with\na newline and \"\"quotes\"\"\",x\n2,b\n";
    size_t len = strlen(buf);
    const char *want1 = strchr(buf, '\n');
    const char *want2 = strstr(buf, ",x\n") + 2;
    (void)state;
    for (size_t cut = want1 - buf + 1; cut <= (size_t)(want2 - buf); cut++) {
        int par = 0;
        const char *e = ddw_csv_record_end(want1 + 1, buf + cut, &par);
        assert_null(e); /* the record's '\n' is at or after the cut */
        e = ddw_csv_record_end(buf + cut, buf + len, &par);
        assert_ptr_equal(e, want2);
        assert_int_equal(par, 0);
    }
    /* the state at a cut inside the quoted field is QUOTED */
    {
        const char *cut = strstr(buf, "with");
        int par = 0;
        assert_null(ddw_csv_record_end(want1 + 1, cut, &par));
        assert_int_equal(par, DDW_CSV_S_QUOTED);
    }
}

/* The automaton one byte at a time, as RFC 4180 segmentation defines it
 * (a quote opens a quoted field only at the start of a field). */
static int ref_step(int st, char c)
{
    int cls = c == '"' ? 1 : c == ',' ? 2 : c == '\n' ? 3 : 0;
    switch (st) {
    case DDW_CSV_S_START:
        return cls == 1 ? DDW_CSV_S_QUOTED : cls == 0 ? DDW_CSV_S_UNQUOTED : DDW_CSV_S_START;
    case DDW_CSV_S_UNQUOTED:
        return cls >= 2 ? DDW_CSV_S_START : DDW_CSV_S_UNQUOTED;
    case DDW_CSV_S_QUOTED:
        return cls == 1 ? DDW_CSV_S_QQ : DDW_CSV_S_QUOTED;
    default:
        return cls == 1 ? DDW_CSV_S_QUOTED : cls == 0 ? DDW_CSV_S_UNQUOTED : DDW_CSV_S_START;
    }
}

static void test_scanners_match_bytewise_automaton(void **state)
{
    /* random buffers rich in quotes, commas and newlines: the quote-skipping
     * transitions and record-end scans agree with the plain byte loop from
     * every start state and every start and end position */
    static const char alphabet[] = "ab\",\n\r\"\",";
    char buf[96];
    uint64_t x = 0x9e3779b97f4a7c15u;
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = (size_t)(iter % 97);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* runs of plain bytes too, so the skipping paths see long spans */
            buf[i] = (x >> 40) % 4 == 0 ? alphabet[(x >> 8) % (sizeof alphabet - 1)] : 'z';
        }
        for (size_t from = 0; from <= len; from += 1 + len / 8) {
            uint8_t m[4];
            ddw_csv_transitions(buf + from, len - from, m);
            for (int s0 = 0; s0 < 4; s0++) {
                int st = s0;
                const char *want_end = NULL;
                for (size_t i = from; i < len; i++) {
                    if (want_end == NULL && buf[i] == '\n' && st != DDW_CSV_S_QUOTED)
                        want_end = buf + i;
                    st = ref_step(st, buf[i]);
                }
                assert_int_equal(m[s0], st);
                int got_st = s0;
                const char *e = ddw_csv_record_end(buf + from, buf + len, &got_st);
                assert_ptr_equal(e, want_end);
                if (e == NULL)
                    assert_int_equal(got_st, st); /* the state at the buffer end */
                else
                    assert_int_equal(got_st, DDW_CSV_S_START);
            }
        }
    }
}

static void test_split_long_fields(void **state)
{
    /* fields of every length 0..23 (the word-at-a-time scan sees commas at
     * every offset of a word), then a stray quote at every offset of a long
     * unquoted field */
    char rec[400], scratch[400];
    ddw_csv_field f[32];
    int n = -1;
    size_t len = 0;
    (void)state;
    for (int k = 0; k < 24; k++) {
        if (k)
            rec[len++] = ',';
        for (int i = 0; i < k; i++)
            rec[len++] = (char)('a' + k);
    }
    assert_int_equal(ddw_csv_split(rec, len, scratch, sizeof scratch, f, 32, &n), DDW_OK);
    assert_int_equal(n, 24);
    for (int k = 0; k < 24; k++) {
        assert_int_equal(f[k].len, (size_t)k);
        for (int i = 0; i < k; i++)
            assert_int_equal(f[k].ptr[i], 'a' + k);
    }
    for (int at = 1; at < 20; at++) {
        memcpy(rec, "x,abcdefghijklmnopqrst,y", 24);
        rec[2 + at] = '"';
        assert_int_equal(ddw_csv_split(rec, 24, scratch, sizeof scratch, f, 32, &n), DDW_ECSV);
        assert_int_equal(n, 0);
    }
}

static void test_count(void **state)
{
    uint64_t q = 0, nl = 0;
    const char *buf = "a,\"b\"\n\"c\"\"d\"\n\n";
    char big[5000];
    uint64_t seed = 12345;
    (void)state;
    ddw_csv_count(buf, strlen(buf), &q, &nl);
    assert_int_equal(q, 6);
    assert_int_equal(nl, 3);
    ddw_csv_count(buf, strlen(buf), &q, &nl); /* accumulates */
    assert_int_equal(q, 12);
    assert_int_equal(nl, 6);
    q = nl = 0;
    ddw_csv_count(NULL, 0, &q, &nl);
    assert_int_equal(q + nl, 0);

    /* cross-check against a byte loop, all lengths and offsets */
    for (size_t i = 0; i < sizeof big; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        unsigned r = (unsigned)(seed >> 59);
        big[i] = r < 6 ? '"' : r < 12 ? '\n' : (char)(seed >> 40);
    }
    memset(big + 1000, '"', 3000); /* saturate the per-lane counters */
    for (size_t off = 0; off < 9; off++) {
        for (size_t len = 0; len + off <= sizeof big; len += len < 64 ? 1 : 997) {
            uint64_t wq = 0, wn = 0;
            q = nl = 0;
            for (size_t i = off; i < off + len; i++) {
                wq += big[i] == '"';
                wn += big[i] == '\n';
            }
            ddw_csv_count(big + off, len, &q, &nl);
            assert_int_equal(q, wq);
            assert_int_equal(nl, wn);
        }
    }
}

static void test_bom(void **state)
{
    (void)state;
    assert_int_equal(ddw_csv_skip_bom("\xEF\xBB\xBF" "a,b", 6), 3);
    assert_int_equal(ddw_csv_skip_bom("\xEF\xBB\xBF", 3), 3);
    assert_int_equal(ddw_csv_skip_bom("\xEF\xBB", 2), 0);
    assert_int_equal(ddw_csv_skip_bom("a,b", 3), 0);
    assert_int_equal(ddw_csv_skip_bom("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_quoted_comma),
        cmocka_unit_test(test_escaped_quotes),
        cmocka_unit_test(test_embedded_newlines),
        cmocka_unit_test(test_crlf_end),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_empty_record),
        cmocka_unit_test(test_more_than_max_fields),
        cmocka_unit_test(test_broken_quoting),
        cmocka_unit_test(test_scratch_overflow),
        cmocka_unit_test(test_record_end),
        cmocka_unit_test(test_record_end_split_buffer),
        cmocka_unit_test(test_stray_quote),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_scanners_match_bytewise_automaton),
        cmocka_unit_test(test_split_long_fields),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_bom),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
