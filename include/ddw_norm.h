/*
 * ddw_norm.h - normalisation of identifying values: UTF-8 validation, text
 * folding for names, places and IDs, and calendar dates as day numbers.
 *
 * Trade-off: text is folded with a small fixed table (ASCII plus the Latin-1
 * Supplement and Latin Extended-A letters) instead of full Unicode
 * normalisation and case folding (ICU), so the module has no dependencies,
 * never allocates and is fast; letters of other scripts become spaces, which
 * is acceptable for the Latin-script registers we link but not in general.
 * Dates are strict (exact format, plausible years) because a wrong date that
 * parses is worse for linkage than a missing one.
 *
 * No function allocates or keeps state; all are safe to call from many
 * threads at once.
 */
#ifndef DDW_NORM_H
#define DDW_NORM_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"

/* Earliest and latest year that ddw_norm_date_parse accepts. */
#define DDW_NORM_YEAR_MIN 1850
#define DDW_NORM_YEAR_MAX 2100

/*
 * Returns 1 if s[0..n) is valid UTF-8, else 0.  Rejects stray continuation
 * bytes, overlong encodings, UTF-16 surrogates (U+D800..U+DFFF), code points
 * above U+10FFFF and sequences truncated by the end of the buffer.  NUL
 * bytes (U+0000) are valid.  s may be NULL when n is 0.
 */
int ddw_norm_utf8_valid(const char *s, size_t n);

/*
 * Folds the UTF-8 text in[0..n) into a comparison key written to out
 * (NUL-terminated, length in *outlen):
 *   - ASCII letters are upper-cased, digits kept;
 *   - Latin letters with diacritics in U+00C0..U+017F (and Romanian
 *     S/T with comma below, U+0218..U+021B) become their upper-case base
 *     letter(s): E for E-acute, N for n-tilde, L for L-stroke, SS for sharp s,
 *     AE, OE, O for O-stroke, TH for thorn, D for eth and D-stroke, IJ, ...;
 *   - apostrophes (' U+0027, ` U+0060, U+2019) and combining diacritical
 *     marks (U+0300..U+036F, so decomposed input folds like precomposed) are
 *     removed without leaving a gap: O'Brien -> OBRIEN;
 *   - every other character (punctuation, hyphen, whitespace, controls,
 *     symbols, other non-ASCII code points) becomes a space;
 *   - runs of spaces collapse to one; leading and trailing spaces go.
 * The result may be empty (the caller treats that as missing).  The output
 * is never longer than the input, so cap >= n + 1 always suffices.
 * Errors: DDW_EUTF8 if in is not valid UTF-8 (checked over the whole input,
 * so it takes precedence over DDW_ERANGE); DDW_ERANGE if out is too small.
 * On error *outlen is 0 and out holds "" if cap > 0.
 */
ddw_status ddw_norm_text(const char *in, size_t n, char *out, size_t cap, size_t *outlen);

/*
 * Day number of the proleptic Gregorian date y-m-d: days since 1970-01-01
 * (negative before).  m is 1..12, d is 1..31; the date is not validated
 * (an out-of-range day just counts on: 1970-01-32 gives 31).  Valid for
 * years whose day number fits in int32_t (about +-5.8 million).
 */
int32_t ddw_norm_days_from_civil(int y, int m, int d);

/* Inverse of ddw_norm_days_from_civil: writes the date of day number days
 * to *y, *m (1..12) and *d (1..31).  Valid for every int32_t. */
void ddw_norm_civil_from_days(int32_t days, int *y, int *m, int *d);

/*
 * Checks a date format.  fmt is literal bytes (matched exactly) and tokens:
 *   %Y  year, exactly 4 digits;
 *   %y  year, exactly 2 digits, pivot 00..29 -> 2000..2029, 30..99 ->
 *       1930..1999;
 *   %m  month, 1 or 2 digits;
 *   %d  day, 1 or 2 digits;
 *   %b  English month abbreviation JAN..DEC, 3 letters, any case;
 *   %%  a literal '%'.
 * %m and %d take two digits when two are there, so a format with fused
 * numeric fields such as %Y%m%d needs zero-padded input.
 * Returns DDW_OK if fmt is non-NULL, has no other % sequence and holds
 * exactly one year token (%Y or %y), one month token (%m or %b) and one %d;
 * else DDW_EINVAL.
 */
ddw_status ddw_norm_date_check_format(const char *fmt);

/*
 * Parses the date s[0..n) in format fmt (see ddw_norm_date_check_format)
 * into *days (ddw_norm_days_from_civil).  Leading and trailing spaces and
 * tabs of s are ignored; everything else must match fmt exactly, so a time
 * suffix (" 00:00", "T00:00:00") is rejected.
 * Errors: DDW_EINVAL if fmt is invalid; DDW_EDATE if s is empty, does not
 * match fmt, or is an impossible date (month 0 or 13, day 0, 31 April,
 * 29 February of a non-leap year) or a year outside
 * DDW_NORM_YEAR_MIN..DDW_NORM_YEAR_MAX.  *days is written only on success.
 */
ddw_status ddw_norm_date_parse(const char *s, size_t n, const char *fmt, int32_t *days);

/* A date format compiled once for parsing many values (see
 * ddw_norm_date_compile); kind[k] is 'Y', 'y', 'm', 'b' or 'd' for a token,
 * 0 for the literal byte lit[k]. */
#define DDW_NORM_DATEFMT_MAX 32
typedef struct {
    int n;
    char kind[DDW_NORM_DATEFMT_MAX];
    char lit[DDW_NORM_DATEFMT_MAX];
} ddw_norm_datefmt;

/*
 * Compiles fmt (see ddw_norm_date_check_format) into *out.  Errors:
 * DDW_EINVAL if fmt is invalid, DDW_ERANGE if it has more than
 * DDW_NORM_DATEFMT_MAX tokens and literal bytes (then use
 * ddw_norm_date_parse, which takes any length).
 */
ddw_status ddw_norm_date_compile(const char *fmt, ddw_norm_datefmt *out);

/* ddw_norm_date_parse with a compiled format: same result and errors
 * (except DDW_EINVAL, which ddw_norm_date_compile has already reported). */
ddw_status ddw_norm_date_parse_compiled(const char *s, size_t n, const ddw_norm_datefmt *fmt,
                                        int32_t *days);

/*
 * Writes day number days as "YYYY-MM-DD" plus a NUL to out and returns 10.
 * Years outside 0..9999 cannot be written in that form: out is then "" and
 * the return value 0.
 */
size_t ddw_norm_date_format_iso(int32_t days, char out[11]);

#endif /* DDW_NORM_H */
