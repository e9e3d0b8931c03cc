/*
 * strsim.c - string similarity kernels used in the pair-scoring loop
 * (Jaro, Jaro-Winkler, Levenshtein, OSA, true Damerau-Levenshtein, Soundex,
 * NYSIIS).
 *
 * Trade-off: inputs are capped at DDW_STRSIM_MAXLEN (64) bytes.  In exchange
 * every kernel works in fixed stack buffers of a few hundred bytes to 4 KiB
 * (no heap, no shared state, so any number of threads may call at once), and
 * Jaro and Levenshtein become bit-parallel: a string's character positions
 * fit in one uint64_t, so Jaro finds each match with one mask-and-count-
 * trailing-zeros instead of a window scan (the positions of a byte in b come
 * from SSE2 byte compares where available, from a per-call table
 * elsewhere), and Levenshtein runs Myers' / Hyyro's bit-vector algorithm in
 * O(|b|) word operations instead of an O(|a||b|) table.  The edit distances
 * with transpositions keep the plain dynamic programme, which is simpler to
 * check and still small at 64 bytes; the bounded tests "distance <= k" that
 * comparison levels ask answer k <= 1 (by far the common case) in one linear
 * scan and fall back to the programme above that.  Characters are compared
 * as unsigned bytes everywhere, so arbitrary input is safe (no negative
 * table indices).
 */
#include "ddw_strsim.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ddw.h"

/* Truncates a length to the comparison cap. */
static size_t clamp_len(size_t n)
{
    return n > DDW_STRSIM_MAXLEN ? DDW_STRSIM_MAXLEN : n;
}

/* Index of the lowest set bit of x; x must be non-zero. */
static unsigned lowest_bit(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned i = 0;
    while (!(x & 1u)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* Mask with bits [lo, hi) set; 0 <= lo <= hi <= 64. */
static uint64_t bit_range(size_t lo, size_t hi)
{
    uint64_t upto_hi = hi >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << hi) - 1;
    uint64_t below_lo = lo >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << lo) - 1;
    return upto_hi & ~below_lo;
}

/*
 * Jaro's last step, shared by both match finders: walk the two match sets
 * in order, count positions whose bytes differ, and combine.
 */
static double jaro_finish(const unsigned char *a, size_t la, const unsigned char *b, size_t lb,
                          uint64_t matched_a, uint64_t matched_b, unsigned m)
{
    if (m == 0)
        return 0.0;
    unsigned out_of_order = 0;
    uint64_t ra = matched_a, rb = matched_b;
    while (ra) {
        unsigned i = lowest_bit(ra), j = lowest_bit(rb);
        if (a[i] != b[j])
            out_of_order++;
        ra &= ra - 1;
        rb &= rb - 1;
    }
    double dm = (double)m;
    double t = (double)out_of_order / 2.0;
    return (dm / (double)la + dm / (double)lb + (dm - t) / dm) / 3.0;
}

#if defined(__SSE2__)
/*
 * Jaro on already-truncated unsigned inputs (both non-empty).  b is copied
 * into up to four zero-padded 16-byte vectors once; the positions of a[i]
 * in b are then one compare and one movemask per vector, with no per-call
 * table to clear.  Bits at or above lb never enter a candidate mask (the
 * window mask stops at lb), so the padding bytes cannot match.
 */
static double jaro_core(const unsigned char *a, size_t la, const unsigned char *b, size_t lb)
{
    if (la == 0 && lb == 0)
        return 1.0;
    if (la == 0 || lb == 0)
        return 0.0;
    unsigned char pad[DDW_STRSIM_MAXLEN];
    size_t nv = (lb + 15) / 16;
    memcpy(pad, b, lb);
    memset(pad + lb, 0, nv * 16 - lb);
    __m128i bv0 = _mm_loadu_si128((const __m128i *)pad), bv1 = bv0, bv2 = bv0, bv3 = bv0;
    if (nv > 1)
        bv1 = _mm_loadu_si128((const __m128i *)(pad + 16));
    if (nv > 2)
        bv2 = _mm_loadu_si128((const __m128i *)(pad + 32));
    if (nv > 3)
        bv3 = _mm_loadu_si128((const __m128i *)(pad + 48));

    size_t longest = la > lb ? la : lb;
    size_t window = longest / 2 >= 1 ? longest / 2 - 1 : 0;
    uint64_t matched_a = 0, matched_b = 0;
    unsigned m = 0;
    for (size_t i = 0; i < la; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < lb ? i + window + 1 : lb;
        if (lo >= hi)
            continue;
        __m128i cv = _mm_set1_epi8((char)a[i]);
        uint64_t eq = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bv0, cv));
        if (nv > 1) {
            eq |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bv1, cv)) << 16;
            if (nv > 2) {
                eq |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bv2, cv)) << 32;
                if (nv > 3)
                    eq |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(bv3, cv))
                          << 48;
            }
        }
        uint64_t cand = eq & ~matched_b & bit_range(lo, hi);
        if (cand) {
            matched_b |= cand & (~cand + 1); /* leftmost free partner */
            matched_a |= UINT64_C(1) << i;
            m++;
        }
    }
    return jaro_finish(a, la, b, lb, matched_a, matched_b, m);
}
#else
/*
 * Jaro on already-truncated unsigned inputs (portable form).  pos[c] holds
 * the positions of byte c in b as a bit mask; slot[] maps a byte to its
 * pos[] entry (slot 0 is the empty mask), so only 256 bytes need zeroing
 * per call.
 */
static double jaro_core(const unsigned char *a, size_t la, const unsigned char *b, size_t lb)
{
    if (la == 0 && lb == 0)
        return 1.0;
    if (la == 0 || lb == 0)
        return 0.0;

    unsigned char slot[256];
    uint64_t pos[DDW_STRSIM_MAXLEN + 1];
    unsigned nslot = 0;
    memset(slot, 0, sizeof slot);
    pos[0] = 0;
    for (size_t j = 0; j < lb; j++) {
        unsigned char c = b[j];
        if (!slot[c]) {
            slot[c] = (unsigned char)++nslot;
            pos[nslot] = 0;
        }
        pos[slot[c]] |= UINT64_C(1) << j;
    }

    size_t longest = la > lb ? la : lb;
    size_t window = longest / 2 >= 1 ? longest / 2 - 1 : 0;
    uint64_t matched_a = 0, matched_b = 0;
    unsigned m = 0;
    for (size_t i = 0; i < la; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < lb ? i + window + 1 : lb;
        if (lo >= hi)
            continue;
        uint64_t cand = pos[slot[a[i]]] & ~matched_b & bit_range(lo, hi);
        if (cand) {
            matched_b |= cand & (~cand + 1); /* leftmost free partner */
            matched_a |= UINT64_C(1) << i;
            m++;
        }
    }
    return jaro_finish(a, la, b, lb, matched_a, matched_b, m);
}
#endif

double ddw_strsim_jaro(const char *a, size_t la, const char *b, size_t lb)
{
    return jaro_core((const unsigned char *)a, clamp_len(la), (const unsigned char *)b,
                     clamp_len(lb));
}

double ddw_strsim_jaro_winkler(const char *a, size_t la, const char *b, size_t lb)
{
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    la = clamp_len(la);
    lb = clamp_len(lb);
    double j = jaro_core(ua, la, ub, lb);
    size_t l = 0;
    while (l < 4 && l < la && l < lb && ua[l] == ub[l])
        l++;
    return j + (double)l * 0.1 * (1.0 - j);
}

int ddw_strsim_levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    la = clamp_len(la);
    lb = clamp_len(lb);
    if (la == 0)
        return (int)lb;
    if (lb == 0)
        return (int)la;

    /* Pattern bit masks of a, indexed through slot[] as in jaro_core(). */
    unsigned char slot[256];
    uint64_t peq[DDW_STRSIM_MAXLEN + 1];
    unsigned nslot = 0;
    memset(slot, 0, sizeof slot);
    peq[0] = 0;
    for (size_t i = 0; i < la; i++) {
        unsigned char c = ua[i];
        if (!slot[c]) {
            slot[c] = (unsigned char)++nslot;
            peq[nslot] = 0;
        }
        peq[slot[c]] |= UINT64_C(1) << i;
    }

    /*
     * Hyyro's formulation of Myers' bit-vector algorithm for global edit
     * distance: pv/mv encode the +1/-1 vertical deltas of the current DP
     * column; score tracks the bottom cell D[la][j].  Bits above la-1 carry
     * garbage that never flows downwards (carries only move upwards).
     */
    uint64_t pv = ~UINT64_C(0), mv = 0;
    uint64_t top = UINT64_C(1) << (la - 1);
    int score = (int)la;
    for (size_t j = 0; j < lb; j++) {
        uint64_t eq = peq[slot[ub[j]]];
        uint64_t xv = eq | mv;
        uint64_t xh = (((eq & pv) + pv) ^ pv) | eq;
        uint64_t ph = mv | ~(xh | pv);
        uint64_t mh = pv & xh;
        if (ph & top)
            score++;
        else if (mh & top)
            score--;
        ph = (ph << 1) | 1; /* row 0 is D[0][j] = j: always +1 */
        mh <<= 1;
        pv = mh | ~(xv | ph);
        mv = ph & xv;
    }
    return score;
}

static int min3(int x, int y, int z)
{
    int m = x < y ? x : y;
    return m < z ? m : z;
}

int ddw_strsim_osa(const char *a, size_t la, const char *b, size_t lb)
{
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    la = clamp_len(la);
    lb = clamp_len(lb);
    if (la == 0)
        return (int)lb;
    if (lb == 0)
        return (int)la;

    /* Three rolling rows of the (la+1) x (lb+1) table: i-2, i-1, i. */
    int rows[3][DDW_STRSIM_MAXLEN + 1];
    int *r2 = rows[0], *r1 = rows[1], *r0 = rows[2];
    for (size_t j = 0; j <= lb; j++)
        r1[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        r0[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = ua[i - 1] != ub[j - 1];
            int d = min3(r1[j] + 1, r0[j - 1] + 1, r1[j - 1] + cost);
            if (i > 1 && j > 1 && ua[i - 1] == ub[j - 2] && ua[i - 2] == ub[j - 1] &&
                r2[j - 2] + 1 < d)
                d = r2[j - 2] + 1;
            r0[j] = d;
        }
        int *tmp = r2;
        r2 = r1;
        r1 = r0;
        r0 = tmp;
    }
    return r1[lb];
}

int ddw_strsim_damerau_levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    la = clamp_len(la);
    lb = clamp_len(lb);
    if (la == 0)
        return (int)lb;
    if (lb == 0)
        return (int)la;

    /*
     * Lowrance-Wagner: h[i+1][j+1] = distance between the first i bytes of
     * a and the first j of b; row/column 0 hold the sentinel la+lb (<= 128,
     * so every cell fits a byte).  last_row[c] is the last 1-based row of a
     * holding byte c so far (0 = none).
     */
    unsigned char h[DDW_STRSIM_MAXLEN + 2][DDW_STRSIM_MAXLEN + 2];
    unsigned char last_row[256];
    memset(last_row, 0, sizeof last_row);
    const int inf = (int)(la + lb);
    h[0][0] = (unsigned char)inf;
    for (size_t i = 0; i <= la; i++) {
        h[i + 1][0] = (unsigned char)inf;
        h[i + 1][1] = (unsigned char)i;
    }
    for (size_t j = 0; j <= lb; j++) {
        h[0][j + 1] = (unsigned char)inf;
        h[1][j + 1] = (unsigned char)j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t last_col = 0; /* last 1-based column of b equal to a[i-1] */
        for (size_t j = 1; j <= lb; j++) {
            size_t k = last_row[ub[j - 1]];
            size_t l = last_col;
            int cost = 1;
            if (ua[i - 1] == ub[j - 1]) {
                cost = 0;
                last_col = j;
            }
            int d = min3(h[i][j] + cost, h[i + 1][j] + 1, h[i][j + 1] + 1);
            /* transpose a[k-1] .. a[i-1] with b[l-1] .. b[j-1], deleting and
             * inserting whatever lies between */
            int tr = h[k][l] + (int)(i - k - 1) + 1 + (int)(j - l - 1);
            if (tr < d)
                d = tr;
            h[i + 1][j + 1] = (unsigned char)d;
        }
        last_row[ua[i - 1]] = (unsigned char)i;
    }
    return h[la + 1][lb + 1];
}

/*
 * Shared front of the bounded tests: clamps, rejects length gaps above k,
 * strips the common prefix.  Returns 1 or 0 when that decides the answer
 * (equal after the prefix, or k == 0), else -1 with *p = prefix length.
 */
static int within_front(const unsigned char *ua, size_t *la, const unsigned char *ub,
                        size_t *lb, int k, size_t *p)
{
    *la = clamp_len(*la);
    *lb = clamp_len(*lb);
    if (k < 0)
        return 0;
    size_t gap = *la > *lb ? *la - *lb : *lb - *la;
    if (gap > (size_t)k)
        return 0;
    size_t n = *la < *lb ? *la : *lb, q = 0;
    while (q < n && ua[q] == ub[q])
        q++;
    if (q == n)
        return 1; /* one is a prefix of the other: distance = gap <= k */
    if (k == 0)
        return 0;
    *p = q;
    return -1;
}

/*
 * Distance exactly 1 by one insertion or deletion, the strings differing
 * first at p (lengths one apart): the longer one minus its byte p is the
 * shorter one.
 */
static int one_indel(const unsigned char *ua, size_t la, const unsigned char *ub, size_t lb,
                     size_t p)
{
    if (la == lb + 1)
        return ddw_bytes_equal(ua + p + 1, ub + p, lb - p);
    return ddw_bytes_equal(ua + p, ub + p + 1, la - p);
}

/* Distance <= k, where swaps says whether an adjacent transposition counts
 * as one edit (Damerau-Levenshtein) or two (Levenshtein). */
static int edits_within(const char *a, size_t la, const char *b, size_t lb, int k, int swaps)
{
    const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
    size_t p = 0;
    int r = within_front(ua, &la, ub, &lb, k, &p);
    if (r >= 0)
        return r;
    if (k >= 2)
        return (swaps ? ddw_strsim_damerau_levenshtein(a, la, b, lb)
                      : ddw_strsim_levenshtein(a, la, b, lb)) <= k;
    /* k == 1: one edit, and position p is where it happens */
    if (la != lb)
        return one_indel(ua, la, ub, lb, p);
    if (ddw_bytes_equal(ua + p + 1, ub + p + 1, la - p - 1))
        return 1; /* one substitution */
    return swaps && p + 1 < la && ua[p] == ub[p + 1] && ua[p + 1] == ub[p] &&
           ddw_bytes_equal(ua + p + 2, ub + p + 2, la - p - 2); /* one adjacent swap */
}

int ddw_strsim_dl_within(const char *a, size_t la, const char *b, size_t lb, int k)
{
    return edits_within(a, la, b, lb, k, 1);
}

int ddw_strsim_lev_within(const char *a, size_t la, const char *b, size_t lb, int k)
{
    return edits_within(a, la, b, lb, k, 0);
}

/* Upper-case ASCII letter for byte c, or 0 if c is not an ASCII letter. */
static char ascii_letter(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)c;
    if (c >= 'a' && c <= 'z')
        return (char)(c - 'a' + 'A');
    return 0;
}

/*
 * Soundex class of every byte: '1'..'6' a coded letter, '0' a vowel or Y
 * (codes on either side repeat), 0 a byte skipped as if absent (H, W and
 * non-letters).  Lower case as upper case.
 */
#define SX_LETTERS(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, \
                   z)                                                                      \
    a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z
#define SX_AZ                                                                              \
    SX_LETTERS('0', '1', '2', '3', '0', '1', '2', 0, '0', '2', '2', '4', '5', '5', '0', '1', \
               '2', '6', '2', '3', '0', '1', 0, '2', '0', '2')
static const unsigned char soundex_class[256] = {
    ['A'] = SX_AZ,
    ['a'] = SX_AZ,
};

size_t ddw_strsim_soundex(const char *s, size_t len, char out[5])
{
    /* NARA digit for A..Z; '0' = vowel or Y (separates), H/W handled apart */
    static const char digit[27] = "01230120022455012623010202";
    const unsigned char *us = (const unsigned char *)s;
    len = clamp_len(len);

    size_t i = 0;
    char first = 0;
    while (i < len && !(first = ascii_letter(us[i])))
        i++;
    if (!first) {
        out[0] = '\0';
        return 0;
    }
    out[0] = first;
    size_t n = 1;
    unsigned char last = (unsigned char)digit[first - 'A'];
    /* branch-free body: write every class at out[n], keep it only when it
     * is a code other than the last; skipped bytes leave last alone */
    for (i++; i < len && n < DDW_STRSIM_SOUNDEX_LEN; i++) {
        unsigned char d = soundex_class[us[i]];
        out[n] = (char)d;
        n += d > '0' && d != last;
        last = d ? d : last;
    }
    while (n < DDW_STRSIM_SOUNDEX_LEN)
        out[n++] = '0';
    out[n] = '\0';
    return n;
}

static int is_vowel(char c)
{
    return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

size_t ddw_strsim_nysiis(const char *s, size_t len, char *out, size_t cap)
{
    const unsigned char *us = (const unsigned char *)s;
    if (cap == 0)
        return 0;
    len = clamp_len(len);

    /* The name: letters only, upper case. */
    char nm[DDW_STRSIM_MAXLEN];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = ascii_letter(us[i]);
        if (c)
            nm[n++] = c;
    }
    if (n == 0) {
        out[0] = '\0';
        return 0;
    }

    /* Step 1: prefixes. */
    if (n >= 3 && nm[0] == 'M' && nm[1] == 'A' && nm[2] == 'C') {
        nm[1] = 'C';
    } else if (n >= 2 && nm[0] == 'K' && nm[1] == 'N') {
        nm[0] = 'N';
    } else if (nm[0] == 'K') {
        nm[0] = 'C';
    } else if (n >= 2 && nm[0] == 'P' && (nm[1] == 'H' || nm[1] == 'F')) {
        nm[0] = 'F';
        nm[1] = 'F';
    } else if (n >= 3 && nm[0] == 'S' && nm[1] == 'C' && nm[2] == 'H') {
        nm[1] = 'S';
        nm[2] = 'S';
    }

    /* Step 2: suffixes (the blank Taft leaves is the shortened length). */
    if (n >= 2) {
        char p = nm[n - 2], q = nm[n - 1];
        if ((p == 'E' || p == 'I') && q == 'E') {
            nm[n - 2] = 'Y';
            n--;
        } else if (((p == 'D' || p == 'R' || p == 'N') && q == 'T') ||
                   ((p == 'R' || p == 'N') && q == 'D')) {
            nm[n - 2] = 'D';
            n--;
        }
    }

    /* Steps 3-6: first letter, then rewrite nm in place and append. */
    char key[DDW_STRSIM_MAXLEN];
    size_t k = 0;
    key[k++] = nm[0];
    for (size_t i = 1; i < n; i++) {
        char c = nm[i];
        char next = i + 1 < n ? nm[i + 1] : ' ';
        if (is_vowel(c)) {
            nm[i] = 'A';
            if (c == 'E' && next == 'V')
                nm[i + 1] = 'F';
        } else if (c == 'Q') {
            nm[i] = 'G';
        } else if (c == 'Z') {
            nm[i] = 'S';
        } else if (c == 'M') {
            nm[i] = 'N';
        } else if (c == 'K') {
            nm[i] = next == 'N' ? 'N' : 'C';
        } else if (c == 'S' && next == 'C' && i + 2 < n && nm[i + 2] == 'H') {
            nm[i + 1] = 'S';
            nm[i + 2] = 'S';
        } else if (c == 'P' && next == 'H') {
            nm[i] = 'F';
            nm[i + 1] = 'F';
        } else if (c == 'H') {
            /* end of name counts as a non-vowel (Taft's blank) */
            if (!is_vowel(nm[i - 1]) || !is_vowel(next))
                nm[i] = nm[i - 1];
        } else if (c == 'W') {
            if (is_vowel(nm[i - 1]))
                nm[i] = nm[i - 1];
        }
        if (nm[i] != key[k - 1])
            key[k++] = nm[i];
    }

    /* Steps 7-9: end rules; the first letter always stays. */
    if (k > 1 && key[k - 1] == 'S')
        k--;
    if (k > 2 && key[k - 2] == 'A' && key[k - 1] == 'Y') {
        key[k - 2] = 'Y';
        k--;
    }
    if (k > 1 && key[k - 1] == 'A')
        k--;

    if (k > DDW_STRSIM_NYSIIS_LEN)
        k = DDW_STRSIM_NYSIIS_LEN;
    if (k > cap - 1)
        k = cap - 1;
    memcpy(out, key, k);
    out[k] = '\0';
    return k;
}
