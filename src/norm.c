/*
 * norm.c - normalisation of identifying values: UTF-8 validation, folding
 * of names/places/IDs to upper-case ASCII keys, and dates as day numbers.
 *
 * Trade-off: text folding decodes UTF-8 and maps code points through one
 * constant table covering U+00C0..U+017F (plus a few named code points)
 * rather than implementing Unicode normalisation; that keeps it
 * allocation-free, dependency-free and fast on the ASCII-heavy data we see,
 * at the cost of turning letters of other scripts into spaces.  Date parsing
 * is a hand-written matcher for a handful of strptime-like tokens instead of
 * strptime itself, which is locale-dependent, not in C11, and lenient about
 * trailing text.  The calendar arithmetic is Howard Hinnant's
 * days_from_civil / civil_from_days, done in 64-bit to avoid overflow.
 */
#include "ddw_norm.h"

#include <string.h>

/* Folded form of U+00C0..U+017F: upper-case base letter(s), "" = not a
 * letter (becomes a space). */
#define DDW_NORM_LATIN_FIRST 0xC0u
#define DDW_NORM_LATIN_LAST 0x17Fu
static const char latin_fold[DDW_NORM_LATIN_LAST - DDW_NORM_LATIN_FIRST + 1][3] = {
    /* U+00C0 */ "A", "A", "A", "A", "A", "A", "AE", "C",
    /* U+00C8 */ "E", "E", "E", "E", "I", "I", "I", "I",
    /* U+00D0 */ "D", "N", "O", "O", "O", "O", "O", "",
    /* U+00D8 */ "O", "U", "U", "U", "U", "Y", "TH", "SS",
    /* U+00E0 */ "A", "A", "A", "A", "A", "A", "AE", "C",
    /* U+00E8 */ "E", "E", "E", "E", "I", "I", "I", "I",
    /* U+00F0 */ "D", "N", "O", "O", "O", "O", "O", "",
    /* U+00F8 */ "O", "U", "U", "U", "U", "Y", "TH", "Y",
    /* U+0100 */ "A", "A", "A", "A", "A", "A", "C", "C",
    /* U+0108 */ "C", "C", "C", "C", "C", "C", "D", "D",
    /* U+0110 */ "D", "D", "E", "E", "E", "E", "E", "E",
    /* U+0118 */ "E", "E", "E", "E", "G", "G", "G", "G",
    /* U+0120 */ "G", "G", "G", "G", "H", "H", "H", "H",
    /* U+0128 */ "I", "I", "I", "I", "I", "I", "I", "I",
    /* U+0130 */ "I", "I", "IJ", "IJ", "J", "J", "K", "K",
    /* U+0138 */ "K", "L", "L", "L", "L", "L", "L", "L",
    /* U+0140 */ "L", "L", "L", "N", "N", "N", "N", "N",
    /* U+0148 */ "N", "N", "N", "N", "O", "O", "O", "O",
    /* U+0150 */ "O", "O", "OE", "OE", "R", "R", "R", "R",
    /* U+0158 */ "R", "R", "S", "S", "S", "S", "S", "S",
    /* U+0160 */ "S", "S", "T", "T", "T", "T", "T", "T",
    /* U+0168 */ "U", "U", "U", "U", "U", "U", "U", "U",
    /* U+0170 */ "U", "U", "U", "U", "W", "W", "Y", "Y",
    /* U+0178 */ "Y", "Z", "Z", "Z", "Z", "Z", "Z", "S",
};

_Static_assert(sizeof latin_fold / sizeof latin_fold[0] == 192, "latin_fold covers U+00C0..U+017F");

/* What one code point does to the output. */
enum {
    FOLD_SPACE,  /* separator: becomes (at most) one space */
    FOLD_DROP,   /* removed, no gap: apostrophes, combining marks */
    FOLD_LETTERS /* emits 1 or 2 ASCII letters/digits */
};

/*
 * Decodes one UTF-8 sequence at s[0..n), n >= 1.  Returns its length (1..4)
 * and the code point in *cp, or 0 if the sequence is invalid (stray
 * continuation, overlong, surrogate, > U+10FFFF, truncated).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return 0; /* 80..C1 (continuation or overlong lead), F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    v = (v << 6) | (s[1] & 0x3Fu);
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

int ddw_norm_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        /* fast path: eight ASCII bytes at a time */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, u + i, sizeof w);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (u[i] < 0x80) {
            i++;
        } else {
            uint32_t cp;
            size_t len = utf8_decode(u + i, n - i, &cp);
            if (len == 0)
                return 0;
            i += len;
        }
    }
    return 1;
}

/* Classifies code point cp; for FOLD_LETTERS stores its letters (NUL-
 * terminated, 1 or 2 characters) in buf. */
static int fold_class(uint32_t cp, char buf[3])
{
    if (cp < 0x80) {
        if (cp >= 'a' && cp <= 'z') {
            buf[0] = (char)(cp - 'a' + 'A');
        } else if ((cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) {
            buf[0] = (char)cp;
        } else if (cp == '\'' || cp == '`') {
            return FOLD_DROP;
        } else {
            return FOLD_SPACE;
        }
        buf[1] = '\0';
        return FOLD_LETTERS;
    }
    if (cp >= DDW_NORM_LATIN_FIRST && cp <= DDW_NORM_LATIN_LAST) {
        const char *f = latin_fold[cp - DDW_NORM_LATIN_FIRST];
        if (f[0] == '\0')
            return FOLD_SPACE;
        memcpy(buf, f, 3);
        return FOLD_LETTERS;
    }
    if (cp >= 0x218 && cp <= 0x21B) { /* Romanian S/T with comma below */
        buf[0] = cp <= 0x219 ? 'S' : 'T';
        buf[1] = '\0';
        return FOLD_LETTERS;
    }
    if ((cp >= 0x300 && cp <= 0x36F) || cp == 0x2019)
        return FOLD_DROP;
    return FOLD_SPACE;
}

/* fold_class of every ASCII code point: the upper-case letter or digit it
 * emits, or one of these two markers. */
#define FOLD_ASCII_SPACE 0
#define FOLD_ASCII_DROP 1
#define FOLD_ASCII_ROW(c)                                                                     \
    ((c) >= 'a' && (c) <= 'z'                                    ? (c) - 'a' + 'A'           \
     : ((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9') ? (c)                       \
     : (c) == '\'' || (c) == '`'                                 ? FOLD_ASCII_DROP           \
                                                                 : FOLD_ASCII_SPACE)
#define FOLD_ASCII_8(c)                                                                       \
    FOLD_ASCII_ROW(c), FOLD_ASCII_ROW((c) + 1), FOLD_ASCII_ROW((c) + 2),                      \
        FOLD_ASCII_ROW((c) + 3), FOLD_ASCII_ROW((c) + 4), FOLD_ASCII_ROW((c) + 5),            \
        FOLD_ASCII_ROW((c) + 6), FOLD_ASCII_ROW((c) + 7)
static const unsigned char ascii_fold[128] = {
    FOLD_ASCII_8(0),  FOLD_ASCII_8(8),  FOLD_ASCII_8(16), FOLD_ASCII_8(24),
    FOLD_ASCII_8(32), FOLD_ASCII_8(40), FOLD_ASCII_8(48), FOLD_ASCII_8(56),
    FOLD_ASCII_8(64), FOLD_ASCII_8(72), FOLD_ASCII_8(80), FOLD_ASCII_8(88),
    FOLD_ASCII_8(96), FOLD_ASCII_8(104), FOLD_ASCII_8(112), FOLD_ASCII_8(120),
};

ddw_status ddw_norm_text(const char *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t i = 0, o = 0;
    int gap = 0; /* a separator was seen since the last letter written */
    ddw_status st = DDW_OK;

    *outlen = 0;
    if (cap == 0)
        return ddw_norm_utf8_valid(in, n) ? DDW_ERANGE : DDW_EUTF8;
    while (i < n) {
        uint32_t cp;
        size_t len;
        char letters[3];
        size_t k;

        if (u[i] < 0x80) {
            /* ASCII: one table lookup instead of fold_class */
            unsigned char a = ascii_fold[u[i]];
            i++;
            if (a == FOLD_ASCII_SPACE) {
                gap = 1;
            } else if (a != FOLD_ASCII_DROP) {
                if ((size_t)(gap && o > 0) + 2 > cap - o) {
                    st = ddw_norm_utf8_valid(in + i, n - i) ? DDW_ERANGE : DDW_EUTF8;
                    goto fail;
                }
                if (gap && o > 0)
                    out[o++] = ' ';
                gap = 0;
                out[o++] = (char)a;
            }
            continue;
        } else {
            len = utf8_decode(u + i, n - i, &cp);
            if (len == 0) {
                st = DDW_EUTF8;
                goto fail;
            }
        }
        i += len;
        switch (fold_class(cp, letters)) {
        case FOLD_SPACE:
            gap = 1;
            break;
        case FOLD_DROP:
            break;
        default:
            k = letters[1] ? 2 : 1;
            /* room for an optional space, the letters and the final NUL */
            if ((size_t)(gap && o > 0) + k + 1 > cap - o) {
                st = ddw_norm_utf8_valid(in + i, n - i) ? DDW_ERANGE : DDW_EUTF8;
                goto fail;
            }
            if (gap && o > 0)
                out[o++] = ' ';
            gap = 0;
            out[o++] = letters[0];
            if (k == 2)
                out[o++] = letters[1];
            break;
        }
    }
    out[o] = '\0';
    *outlen = o;
    return DDW_OK;

fail:
    out[0] = '\0';
    return st;
}

int32_t ddw_norm_days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return (int32_t)(era * 146097 + doe - 719468);
}

void ddw_norm_civil_from_days(int32_t days, int *y, int *m, int *d)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                       /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                     /* [0, 11] */
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = (int)(yoe + era * 400 + (mm <= 2));
}

ddw_status ddw_norm_date_check_format(const char *fmt)
{
    int years = 0, months = 0, ddays = 0;

    if (!fmt)
        return DDW_EINVAL;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%')
            continue;
        f++;
        switch (*f) {
        case 'Y':
        case 'y':
            years++;
            break;
        case 'm':
        case 'b':
            months++;
            break;
        case 'd':
            ddays++;
            break;
        case '%':
            break;
        default: /* unknown token or a lone '%' at the end */
            return DDW_EINVAL;
        }
    }
    return years == 1 && months == 1 && ddays == 1 ? DDW_OK : DDW_EINVAL;
}

/* Reads between min and max decimal digits at *p (< end) greedily into *v;
 * returns 0 if fewer than min digits are there. */
static inline int read_digits(const char **p, const char *end, int min, int max, int *v)
{
    const char *s = *p;
    int k = 0, x = 0;

    while (k < max && s + k < end && s[k] >= '0' && s[k] <= '9') {
        x = x * 10 + (s[k] - '0');
        k++;
    }
    if (k < min)
        return 0;
    *p = s + k;
    *v = x;
    return 1;
}

/* Matches a 3-letter English month abbreviation at *p, any case. */
static int read_month_name(const char **p, const char *end, int *m)
{
    static const char names[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
    char up[3];

    if (end - *p < 3)
        return 0;
    for (int i = 0; i < 3; i++) {
        char c = (*p)[i];
        up[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    for (int k = 0; k < 12; k++) {
        if (memcmp(up, names + 3 * k, 3) == 0) {
            *m = k + 1;
            *p += 3;
            return 1;
        }
    }
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Matches one format token at *p: kind 'Y', 'y', 'm', 'b' or 'd' reads that
 * part of the date; kind 0 matches the literal byte lit. */
static inline int match_token(char kind, char lit, const char **p, const char *end, int *y, int *m,
                       int *d)
{
    int ok;
    switch (kind) {
    case 'Y':
        return read_digits(p, end, 4, 4, y);
    case 'y':
        ok = read_digits(p, end, 2, 2, y);
        *y += *y < 30 ? 2000 : 1900;
        return ok;
    case 'm':
        return read_digits(p, end, 1, 2, m);
    case 'b':
        return read_month_name(p, end, m);
    case 'd':
        return read_digits(p, end, 1, 2, d);
    default:
        ok = *p < end && **p == lit;
        *p += ok;
        return ok;
    }
}

/* Strips leading and trailing blanks of s[0..n); 0 if nothing is left. */
static int date_span(const char *s, size_t n, const char **p, const char **end)
{
    *p = s;
    *end = s + n;
    while (*p < *end && (**p == ' ' || **p == '\t'))
        (*p)++;
    while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
    return *p < *end;
}

/* The day number of y-m-d if the whole value was consumed and the date is possible. */
static ddw_status date_finish(const char *p, const char *end, int y, int m, int d, int32_t *days)
{
    if (p != end)
        return DDW_EDATE; /* trailing text, e.g. a time of day */
    if (y < DDW_NORM_YEAR_MIN || y > DDW_NORM_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m))
        return DDW_EDATE;
    *days = ddw_norm_days_from_civil(y, m, d);
    return DDW_OK;
}

ddw_status ddw_norm_date_parse(const char *s, size_t n, const char *fmt, int32_t *days)
{
    const char *p, *end;
    int y = 0, m = 0, d = 0;

    if (ddw_norm_date_check_format(fmt) != DDW_OK)
        return DDW_EINVAL;
    if (n == 0 || !date_span(s, n, &p, &end))
        return DDW_EDATE;
    for (const char *f = fmt; *f; f++) {
        char kind = 0, lit = *f;
        if (*f == '%') {
            f++;
            kind = *f == '%' ? 0 : *f;
            lit = '%';
        }
        if (!match_token(kind, lit, &p, end, &y, &m, &d))
            return DDW_EDATE;
    }
    return date_finish(p, end, y, m, d, days);
}

ddw_status ddw_norm_date_compile(const char *fmt, ddw_norm_datefmt *out)
{
    if (ddw_norm_date_check_format(fmt) != DDW_OK)
        return DDW_EINVAL;
    int k = 0;
    for (const char *f = fmt; *f; f++, k++) {
        if (k == DDW_NORM_DATEFMT_MAX)
            return DDW_ERANGE;
        out->kind[k] = 0;
        out->lit[k] = *f;
        if (*f == '%') {
            f++;
            out->kind[k] = *f == '%' ? 0 : *f;
            out->lit[k] = '%';
        }
    }
    out->n = k;
    return DDW_OK;
}

ddw_status ddw_norm_date_parse_compiled(const char *s, size_t n, const ddw_norm_datefmt *fmt,
                                        int32_t *days)
{
    const char *p, *end;
    int y = 0, m = 0, d = 0;

    if (n == 0 || !date_span(s, n, &p, &end))
        return DDW_EDATE;
    for (int k = 0; k < fmt->n; k++)
        if (!match_token(fmt->kind[k], fmt->lit[k], &p, end, &y, &m, &d))
            return DDW_EDATE;
    return date_finish(p, end, y, m, d, days);
}

size_t ddw_norm_date_format_iso(int32_t days, char out[11])
{
    int y, m, d;

    ddw_norm_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        out[0] = '\0';
        return 0;
    }
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
    return 10;
}
