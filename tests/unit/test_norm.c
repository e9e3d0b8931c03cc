/*
 * test_norm.c - unit tests for value normalisation (src/norm.c).
 *
 * Trade-off: expected outputs are written out by hand for named cases
 * (UTF-8 written as \x escapes so the file is plain ASCII), and the calendar
 * functions are additionally checked exhaustively by round trips over a wide
 * day range against a naive day-by-day calendar, which catches off-by-one
 * errors that spot checks miss.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_norm.h"

static int valid(const char *s)
{
    return ddw_norm_utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_int_equal(valid(""), 1);
    assert_int_equal(ddw_norm_utf8_valid(NULL, 0), 1);
    assert_int_equal(valid("plain ASCII text, long enough for the fast path"), 1);
    assert_int_equal(valid("Zo\xC3\xAB"), 1);                 /* U+00EB */
    assert_int_equal(valid("\xE2\x80\x99"), 1);               /* U+2019 */
    assert_int_equal(valid("\xED\x9F\xBF"), 1);               /* U+D7FF */
    assert_int_equal(valid("\xEE\x80\x80"), 1);               /* U+E000 */
    assert_int_equal(valid("\xF0\x9F\x98\x80"), 1);           /* U+1F600 */
    assert_int_equal(valid("\xF4\x8F\xBF\xBF"), 1);           /* U+10FFFF */
    assert_int_equal(ddw_norm_utf8_valid("a\0b", 3), 1);      /* NUL is valid */
    assert_int_equal(valid("\xC0\x80"), 0);                   /* overlong NUL */
    assert_int_equal(valid("\xC1\xBF"), 0);                   /* overlong */
    assert_int_equal(valid("\xE0\x9F\xBF"), 0);               /* overlong 3-byte */
    assert_int_equal(valid("\xF0\x8F\xBF\xBF"), 0);           /* overlong 4-byte */
    assert_int_equal(valid("\xED\xA0\x80"), 0);               /* surrogate U+D800 */
    assert_int_equal(valid("\xED\xBF\xBF"), 0);               /* surrogate U+DFFF */
    assert_int_equal(valid("\xF4\x90\x80\x80"), 0);           /* U+110000 */
    assert_int_equal(valid("\xF5\x80\x80\x80"), 0);
    assert_int_equal(valid("\xFF"), 0);
    assert_int_equal(valid("\x80"), 0);                       /* stray continuation */
    assert_int_equal(valid("abc\xC3"), 0);                    /* truncated at end */
    assert_int_equal(valid("\xE2\x80"), 0);
    assert_int_equal(valid("\xF0\x9F\x98"), 0);
    assert_int_equal(valid("\xC3" "a"), 0);                   /* bad continuation */
    assert_int_equal(valid("\xE2\x80" "abcdefgh"), 0);
    assert_int_equal(valid("0123456789abcdef\xC3\xAB" "0123456789abcdef\xC3"), 0);
}

/* Normalises s and checks the result is want. */
static void check_text(const char *s, const char *want)
{
    char out[128];
    size_t len = 99;
    assert_int_equal(ddw_norm_text(s, strlen(s), out, sizeof out, &len), DDW_OK);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
}

static void test_text_case_and_spaces(void **state)
{
    (void)state;
    check_text("John Smith", "JOHN SMITH");
    check_text("mcDonald", "MCDONALD");
    check_text("  a   b  ", "A B");
    check_text("\ta\r\nb\n", "A B");
    check_text("Smith-Jones", "SMITH JONES");
    check_text("St. Mary's Rd., No.5", "ST MARYS RD NO 5");
    check_text("AB-123/4", "AB 123 4");
    check_text("", "");
    check_text(" - . ", "");
    check_text("a\xC2\xA0" "b", "A B"); /* no-break space */
    check_text("\xE2\x82\xAC" "5", "5"); /* euro sign */
    check_text("Ivan \xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD", "IVAN"); /* Cyrillic -> spaces */
}

static void test_text_accents(void **state)
{
    (void)state;
    check_text("Zo\xC3\xAB", "ZOE");
    check_text("Jos\xC3\xA9", "JOSE");
    check_text("\xC5\x81ukasz", "LUKASZ");
    check_text("Stra\xC3\x9F" "e", "STRASSE");
    check_text("\xC3\x98", "O");
    check_text("\xC3\xB8ster", "OSTER");
    check_text("Pe\xC3\xB1" "a", "PENA");
    check_text("\xC3\x89mile", "EMILE");
    check_text("\xC3\x86sir \xC3\xA6", "AESIR AE");
    check_text("\xC5\x92uvre \xC5\x93", "OEUVRE OE");
    check_text("\xC3\x9E\xC3\xB3r", "THOR");
    check_text("\xC4\x90or\xC4\x91" "e", "DORDE");
    check_text("\xC3\x90" "a", "DA");
    check_text("\xC3\x80\xC3\xBF\xC4\x80\xC5\xBE", "AYAZ"); /* table ends */
    check_text("\xC4\xB2sselmeer", "IJSSELMEER");
    check_text("2\xC3\x97" "3", "2 3"); /* multiplication sign is not a letter */
    check_text("\xC8\x98tefan \xC8\x9B", "STEFAN T"); /* Romanian comma below */
    check_text("Jose\xCC\x81 Zoe\xCC\x88", "JOSE ZOE"); /* combining marks dropped */
}

static void test_text_apostrophes(void **state)
{
    (void)state;
    check_text("O'Brien", "OBRIEN");
    check_text("O\xE2\x80\x99" "Brien", "OBRIEN");
    check_text("O`Brien", "OBRIEN");
    check_text("d' Artagnan", "D ARTAGNAN");
    check_text("'quoted'", "QUOTED");
}

static void test_text_errors(void **state)
{
    char out[16];
    size_t len = 99;
    (void)state;
    assert_int_equal(ddw_norm_text("Jos\xC3", 4, out, sizeof out, &len), DDW_EUTF8);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    assert_int_equal(ddw_norm_text("\xED\xA0\x80", 3, out, sizeof out, &len), DDW_EUTF8);
    assert_int_equal(ddw_norm_text("a\xC0\x80", 3, out, sizeof out, &len), DDW_EUTF8);
    /* too small: "ABC" needs 4 bytes */
    assert_int_equal(ddw_norm_text("abc", 3, out, 3, &len), DDW_ERANGE);
    assert_int_equal(len, 0);
    assert_int_equal(ddw_norm_text("abc", 3, out, 4, &len), DDW_OK);
    assert_string_equal(out, "ABC");
    assert_int_equal(ddw_norm_text("abc", 3, out, 0, &len), DDW_ERANGE);
    /* invalid UTF-8 after the overflow point still reports DDW_EUTF8 */
    assert_int_equal(ddw_norm_text("abcdef\xFF", 7, out, 3, &len), DDW_EUTF8);
    /* cap = n + 1 suffices for the widest expansions */
    assert_int_equal(ddw_norm_text("\xC3\x9F\xC3\x9E", 4, out, 5, &len), DDW_OK);
    assert_string_equal(out, "SSTH");
    assert_int_equal(ddw_norm_text("a-b", 3, out, 4, &len), DDW_OK);
    assert_string_equal(out, "A B");
}

static void test_days_known(void **state)
{
    int y, m, d;
    (void)state;
    assert_int_equal(ddw_norm_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(ddw_norm_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(ddw_norm_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(ddw_norm_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(ddw_norm_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(ddw_norm_days_from_civil(1900, 2, 28), -25509);
    assert_int_equal(ddw_norm_days_from_civil(1900, 3, 1), -25508); /* 1900 not leap */
    assert_int_equal(ddw_norm_days_from_civil(1850, 1, 1), -43829);
    assert_int_equal(ddw_norm_days_from_civil(2024, 3, 1) - ddw_norm_days_from_civil(2024, 2, 28), 2);
    assert_int_equal(ddw_norm_days_from_civil(2023, 3, 1) - ddw_norm_days_from_civil(2023, 2, 28), 1);
    ddw_norm_civil_from_days(-25509, &y, &m, &d);
    assert_int_equal(y, 1900);
    assert_int_equal(m, 2);
    assert_int_equal(d, 28);
    ddw_norm_civil_from_days(-1, &y, &m, &d);
    assert_int_equal(y, 1969);
    assert_int_equal(m, 12);
    assert_int_equal(d, 31);
    ddw_norm_civil_from_days(INT32_MIN, &y, &m, &d); /* no overflow at the extremes */
    assert_int_equal(ddw_norm_days_from_civil(y, m, d), INT32_MIN);
    ddw_norm_civil_from_days(INT32_MAX, &y, &m, &d);
    assert_int_equal(ddw_norm_days_from_civil(y, m, d), INT32_MAX);
}

static void test_days_round_trip(void **state)
{
    /* walk a naive calendar from 1600-01-01 to 2400-12-31 */
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t z = ddw_norm_days_from_civil(1600, 1, 1);
    (void)state;
    for (int y = 1600; y <= 2400; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int m = 1; m <= 12; m++) {
            int nd = dim[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= nd; d++, z++) {
                int yy, mm, dd;
                assert_int_equal(ddw_norm_days_from_civil(y, m, d), z);
                ddw_norm_civil_from_days(z, &yy, &mm, &dd);
                assert_int_equal(yy, y);
                assert_int_equal(mm, m);
                assert_int_equal(dd, d);
            }
        }
    }
}

static void test_leap_years(void **state)
{
    int32_t days;
    (void)state;
    assert_int_equal(ddw_norm_date_parse("2000-02-29", 10, "%Y-%m-%d", &days), DDW_OK);
    assert_int_equal(days, 11016);
    assert_int_equal(ddw_norm_date_parse("2024-02-29", 10, "%Y-%m-%d", &days), DDW_OK);
    assert_int_equal(ddw_norm_date_parse("1900-02-29", 10, "%Y-%m-%d", &days), DDW_EDATE);
    assert_int_equal(ddw_norm_date_parse("2023-02-29", 10, "%Y-%m-%d", &days), DDW_EDATE);
}

static void test_check_format(void **state)
{
    (void)state;
    assert_int_equal(ddw_norm_date_check_format("%Y-%m-%d"), DDW_OK);
    assert_int_equal(ddw_norm_date_check_format("%d/%m/%y"), DDW_OK);
    assert_int_equal(ddw_norm_date_check_format("%d-%b-%Y"), DDW_OK);
    assert_int_equal(ddw_norm_date_check_format("%Y%m%d"), DDW_OK);
    assert_int_equal(ddw_norm_date_check_format("%%%Y %m %d%%"), DDW_OK);
    assert_int_equal(ddw_norm_date_check_format(NULL), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format(""), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%m"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%m-%d"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%d"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%y-%m-%d"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%m-%b-%d"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%m-%d-%d"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%m-%d %H"), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_check_format("%Y-%m-%d%"), DDW_EINVAL);
}

/* Parses s with fmt; checks it succeeds with date y-m-d. */
static void check_date(const char *s, const char *fmt, int y, int m, int d)
{
    int32_t days = 12345678;
    char iso[11];
    assert_int_equal(ddw_norm_date_parse(s, strlen(s), fmt, &days), DDW_OK);
    assert_int_equal(days, ddw_norm_days_from_civil(y, m, d));
    char want[16];
    snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
    assert_int_equal(ddw_norm_date_format_iso(days, iso), 10);
    assert_string_equal(iso, want);
}

static ddw_status parse(const char *s, const char *fmt)
{
    int32_t days = 0;
    return ddw_norm_date_parse(s, strlen(s), fmt, &days);
}

static void test_date_parse(void **state)
{
    (void)state;
    check_date("1985-01-03", "%Y-%m-%d", 1985, 1, 3);
    check_date("1985-1-3", "%Y-%m-%d", 1985, 1, 3);
    check_date("  1985-01-03 ", "%Y-%m-%d", 1985, 1, 3);
    check_date("03/01/1985", "%d/%m/%Y", 1985, 1, 3);
    check_date("3/1/1985", "%d/%m/%Y", 1985, 1, 3);
    check_date("19850103", "%Y%m%d", 1985, 1, 3);
    check_date("03-Jan-1985", "%d-%b-%Y", 1985, 1, 3);
    check_date("3-jan-1985", "%d-%b-%Y", 1985, 1, 3);
    check_date("31-DEC-2100", "%d-%b-%Y", 2100, 12, 31);
    check_date("01-Jan-1850", "%d-%b-%Y", 1850, 1, 1);
    check_date("03/01/85", "%d/%m/%y", 1985, 1, 3);
    check_date("03/01/29", "%d/%m/%y", 2029, 1, 3);
    check_date("03/01/30", "%d/%m/%y", 1930, 1, 3);
    check_date("03/01/00", "%d/%m/%y", 2000, 1, 3);
    check_date("100%1985-01-03", "100%%%Y-%m-%d", 1985, 1, 3);
}

static void test_date_reject(void **state)
{
    int32_t days = 42;
    (void)state;
    /* impossible dates */
    assert_int_equal(parse("1985-13-01", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-00-01", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-04-31", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01-00", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01-32", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1849-12-31", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("2101-01-01", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("32-Jan-1985", "%d-%b-%Y"), DDW_EDATE);
    /* wrong separators or shapes */
    assert_int_equal(parse("1985/01/03", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("03-01-1985", "%d/%m/%Y"), DDW_EDATE);
    assert_int_equal(parse("85-01-03", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("01985-01-03", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-001-03", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01-3x", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-+1-03", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("03/01/1985", "%d/%m/%y"), DDW_EDATE);
    assert_int_equal(parse("03-January-1985", "%d-%b-%Y"), DDW_EDATE);
    assert_int_equal(parse("03-Jnu-1985", "%d-%b-%Y"), DDW_EDATE);
    assert_int_equal(parse("03-01-1985", "%d-%b-%Y"), DDW_EDATE);
    assert_int_equal(parse("1985013", "%Y%m%d"), DDW_OK); /* greedy: 1985-01-3 */
    assert_int_equal(parse("198513", "%Y%m%d"), DDW_EDATE);
    /* trailing garbage, time suffixes */
    assert_int_equal(parse("1985-01-03 00:00", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01-03T00:00:00", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01-03x", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01-031", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("x1985-01-03", "%Y-%m-%d"), DDW_EDATE);
    /* empty and blank input */
    assert_int_equal(ddw_norm_date_parse(NULL, 0, "%Y-%m-%d", &days), DDW_EDATE);
    assert_int_equal(parse("", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("   ", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(parse("1985-01", "%Y-%m-%d"), DDW_EDATE);
    assert_int_equal(days, 42); /* untouched on failure */
    /* invalid format */
    assert_int_equal(parse("1985-01-03", "%Y-%m"), DDW_EINVAL);
    assert_int_equal(parse("1985-01-03", "%Y-%m-%q"), DDW_EINVAL);
}

static void test_text_every_ascii_byte(void **state)
{
    /* each ASCII byte between two letters: letters and digits are kept
     * (lower case raised), ' and ` vanish, everything else separates */
    (void)state;
    for (int c = 0; c < 128; c++) {
        char in[4] = {'x', (char)c, 'y', 0}, out[8], want[8];
        size_t ol = 99;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            snprintf(want, sizeof want, "X%cY", c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        else if (c == '\'' || c == '`')
            snprintf(want, sizeof want, "XY");
        else
            snprintf(want, sizeof want, "X Y");
        assert_int_equal(ddw_norm_text(in, 3, out, sizeof out, &ol), DDW_OK);
        assert_string_equal(out, want);
        assert_int_equal(ol, strlen(want));
    }
    /* the room check on the ASCII path: "AB" needs 3 bytes, " B" a gap */
    char out[3];
    size_t ol = 9;
    assert_int_equal(ddw_norm_text("ab", 2, out, 3, &ol), DDW_OK);
    assert_string_equal(out, "AB");
    assert_int_equal(ddw_norm_text("a b", 3, out, 3, &ol), DDW_ERANGE);
    assert_int_equal(ol, 0);
    assert_string_equal(out, "");
    assert_int_equal(ddw_norm_text("a b\xFF", 4, out, 3, &ol), DDW_EUTF8);
}

static void test_date_compiled_matches_parse(void **state)
{
    /* every format and value below gives the same status and day number
     * through ddw_norm_date_parse and the compiled form */
    static const char *const fmts[] = {"%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d %b %y",
                                       "%m/%d/%y", "%%%d.%m.%Y%%", "%b-%d-%Y"};
    static const char *const vals[] = {
        "1980-03-05", "1980-3-5", "05/03/1980", "5/3/1980", "19800305", "198035",
        "05 MAR 80",  "5 mar 29", "%05.03.1980%", "MAR-05-1980", " 1980-03-05\t",
        "1980-02-29", "1981-02-29", "1980-13-01", "1849-12-31", "2100-12-31",
        "2101-01-01", "1980-03-05 00:00", "", "  ", "1980/03/05", "03/05/80", "31/04/1999",
        "x", "1980-03-0", "%5.3.1980%"};
    (void)state;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        ddw_norm_datefmt cf;
        assert_int_equal(ddw_norm_date_compile(fmts[i], &cf), DDW_OK);
        for (size_t j = 0; j < sizeof vals / sizeof vals[0]; j++) {
            int32_t a = 12345, b = 12345;
            ddw_status sa = ddw_norm_date_parse(vals[j], strlen(vals[j]), fmts[i], &a);
            ddw_status sb = ddw_norm_date_parse_compiled(vals[j], strlen(vals[j]), &cf, &b);
            assert_int_equal(sa, sb);
            assert_int_equal(a, b);
        }
    }
    int32_t d = 0;
    ddw_norm_datefmt cf;
    assert_int_equal(ddw_norm_date_compile("%d/%m/%Y", &cf), DDW_OK);
    assert_int_equal(ddw_norm_date_parse_compiled("02/01/1970", 10, &cf, &d), DDW_OK);
    assert_int_equal(d, 1);
    assert_int_equal(ddw_norm_date_compile("%Y-%m", &cf), DDW_EINVAL);
    assert_int_equal(ddw_norm_date_compile(NULL, &cf), DDW_EINVAL);
    char longfmt[64] = "%Y-%m-%d";
    memset(longfmt + 8, '-', 40);
    longfmt[48] = 0;
    assert_int_equal(ddw_norm_date_compile(longfmt, &cf), DDW_ERANGE);
}

static void test_format_iso(void **state)
{
    char out[11];
    (void)state;
    assert_int_equal(ddw_norm_date_format_iso(0, out), 10);
    assert_string_equal(out, "1970-01-01");
    assert_int_equal(ddw_norm_date_format_iso(11017, out), 10);
    assert_string_equal(out, "2000-03-01");
    assert_int_equal(ddw_norm_date_format_iso(-25509, out), 10);
    assert_string_equal(out, "1900-02-28");
    assert_int_equal(ddw_norm_date_format_iso(ddw_norm_days_from_civil(9999, 12, 31), out), 10);
    assert_string_equal(out, "9999-12-31");
    assert_int_equal(ddw_norm_date_format_iso(ddw_norm_days_from_civil(0, 1, 1), out), 10);
    assert_string_equal(out, "0000-01-01");
    assert_int_equal(ddw_norm_date_format_iso(ddw_norm_days_from_civil(10000, 1, 1), out), 0);
    assert_string_equal(out, "");
    assert_int_equal(ddw_norm_date_format_iso(ddw_norm_days_from_civil(-1, 12, 31), out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_text_case_and_spaces),
        cmocka_unit_test(test_text_accents),
        cmocka_unit_test(test_text_apostrophes),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_days_known),
        cmocka_unit_test(test_days_round_trip),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_check_format),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_date_reject),
        cmocka_unit_test(test_text_every_ascii_byte),
        cmocka_unit_test(test_date_compiled_matches_parse),
        cmocka_unit_test(test_format_iso),
    };
    return cmocka_run_group_tests_name("norm", tests, NULL, NULL);
}
