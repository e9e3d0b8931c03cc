/*
 * csv.c - RFC 4180 CSV scanning: counting newlines, finding record ends
 * with a four-state automaton (field start, unquoted, quoted, quote seen in
 * a quoted field), and splitting a record into fields.
 *
 * A quote opens a quoted field only at the start of a field, so a stray
 * quote inside an unquoted field (Bl"ack) is an ordinary byte for
 * segmentation and only that row is rejected, by the strict splitter.
 * For parallel reads, ddw_csv_transitions runs the automaton from all four
 * start states at once, so a rank can learn its start state from the ranks
 * before it without rescanning.
 *
 * Trade-off: both scanners lean on memchr instead of stepping the automaton
 * byte by byte.  Outside quoted fields only a '"' can change anything that
 * the next separator does not settle, so they jump from quote to quote
 * (transitions) or to the next '\n' after checking there is no '"' before
 * it (record ends), and inside quoted fields to the closing quote.  The
 * count pass and the splitter's search for ',' and '"' test eight bytes at
 * a time with portable SWAR bit tricks on 64-bit words instead of
 * compiler-specific SIMD intrinsics.  Quoted fields are always copied to
 * the caller's scratch buffer, even when they hold no "", which costs a
 * memcpy but gives one simple ownership rule.
 */
#include "ddw_csv.h"

#include <limits.h>
#include <string.h>

#define DDW_CSV_ONES UINT64_C(0x0101010101010101)
#define DDW_CSV_LOW7 UINT64_C(0x7f7f7f7f7f7f7f7f)
#define DDW_CSV_HIGH UINT64_C(0x8080808080808080)
#define DDW_CSV_QUOTES (DDW_CSV_ONES * (uint64_t)'"')
#define DDW_CSV_NEWLINES (DDW_CSV_ONES * (uint64_t)'\n')

/* Loads 8 bytes from any alignment (memcpy compiles to a single load). */
static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* High bit of each byte of the result is set exactly where the byte of w
 * equals the corresponding byte of pat (no false positives, no carries). */
static inline uint64_t eq_bytes(uint64_t w, uint64_t pat)
{
    uint64_t x = w ^ pat;
    uint64_t t = ((x & DDW_CSV_LOW7) + DDW_CSV_LOW7) | x;
    return ~t & DDW_CSV_HIGH;
}

/* Sum of the eight byte lanes of a (each lane <= 255). */
static inline uint64_t sum_bytes(uint64_t a)
{
    const uint64_t m16 = UINT64_C(0x00ff00ff00ff00ff);
    a = (a & m16) + ((a >> 8) & m16);
    return (a * UINT64_C(0x0001000100010001)) >> 48;
}

/* First ',' or '"' in [p, end), or end: eight bytes at a time. */
static inline const char *comma_or_quote(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t w = load64(p);
        uint64_t m = eq_bytes(w, DDW_CSV_ONES * (uint64_t)',') | eq_bytes(w, DDW_CSV_QUOTES);
        if (m)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            return p + __builtin_clzll(m) / 8; /* the first byte is the high lane */
#else
            return p + __builtin_ctzll(m) / 8; /* the first byte is the low lane */
#endif
        p += 8;
    }
    while (p < end && *p != ',' && *p != '"')
        p++;
    return p;
}

void ddw_csv_count(const char *buf, size_t len, uint64_t *quotes, uint64_t *newlines)
{
    uint64_t nq = 0, nn = 0;
    size_t i = 0;

    /* aq/an count hits per byte lane; a 16-byte block adds at most 2 to a
     * lane, so they are summed and reset every 127 blocks (<= 254 each). */
    while (len - i >= 16) {
        uint64_t aq = 0, an = 0;
        size_t blocks = (len - i) / 16;
        if (blocks > 127)
            blocks = 127;
        for (size_t b = 0; b < blocks; b++, i += 16) {
            uint64_t w0 = load64(buf + i), w1 = load64(buf + i + 8);
            aq += (eq_bytes(w0, DDW_CSV_QUOTES) >> 7) + (eq_bytes(w1, DDW_CSV_QUOTES) >> 7);
            an += (eq_bytes(w0, DDW_CSV_NEWLINES) >> 7) + (eq_bytes(w1, DDW_CSV_NEWLINES) >> 7);
        }
        nq += sum_bytes(aq);
        nn += sum_bytes(an);
    }
    for (; i < len; i++) {
        nq += buf[i] == '"';
        nn += buf[i] == '\n';
    }
    *quotes += nq;
    *newlines += nn;
}

/* Automaton step: class 0 other, 1 '"', 2 ',', 3 '\n'. */
static int step(int st, int cls)
{
    switch (st) {
    case DDW_CSV_S_START:
        return cls == 1 ? DDW_CSV_S_QUOTED : (cls == 0 ? DDW_CSV_S_UNQUOTED : DDW_CSV_S_START);
    case DDW_CSV_S_UNQUOTED:
        return cls >= 2 ? DDW_CSV_S_START : DDW_CSV_S_UNQUOTED;
    case DDW_CSV_S_QUOTED:
        return cls == 1 ? DDW_CSV_S_QQ : DDW_CSV_S_QUOTED;
    default: /* DDW_CSV_S_QQ: a quote inside a quoted field */
        return cls == 1 ? DDW_CSV_S_QUOTED : (cls == 0 ? DDW_CSV_S_UNQUOTED : DDW_CSV_S_START);
    }
}

static int byte_class(unsigned char c)
{
    return c == '"' ? 1 : c == ',' ? 2 : c == '\n' ? 3 : 0;
}

/* State of the START / UNQUOTED / QQ runs after a non-empty span without
 * '"' whose last byte is last: START after a separator, else UNQUOTED. */
static int settle(unsigned char last)
{
    return last == ',' || last == '\n' ? DDW_CSV_S_START : DDW_CSV_S_UNQUOTED;
}

void ddw_csv_transitions(const char *buf, size_t len, uint8_t map[4])
{
    /* Four runs at once: state vector packed 2 bits per start state.  A
     * span without '"' leaves QUOTED runs alone and puts every other run in
     * START or UNQUOTED according to the span's last byte alone, so the
     * scan jumps from quote to quote with memchr and steps byte by byte
     * only at quotes and right after them (while some run is in QQ). */
    uint8_t table[256][4];
    uint8_t calm[256][2]; /* [v][last byte is a separator]: v after such a span */
    for (int v = 0; v < 256; v++) {
        for (int c = 0; c < 4; c++) {
            int out = 0;
            for (int k = 0; k < 4; k++)
                out |= step((v >> (2 * k)) & 3, c) << (2 * k);
            table[v][c] = (uint8_t)out;
        }
        for (int sep = 0; sep < 2; sep++) {
            int out = 0;
            for (int k = 0; k < 4; k++) {
                int st = (v >> (2 * k)) & 3;
                if (st != DDW_CSV_S_QUOTED)
                    st = settle(sep ? ',' : 'x');
                out |= st << (2 * k);
            }
            calm[v][sep] = (uint8_t)out;
        }
    }
    uint8_t v = 0 | (1 << 2) | (2 << 4) | (3 << 6);
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    while (p < end) {
        /* no run in QQ: jump to the next quote */
        if (((v & 0x55) & (v >> 1)) == 0) {
            const unsigned char *q = memchr(p, '"', (size_t)(end - p));
            const unsigned char *lim = q ? q : end;
            if (lim > p)
                v = calm[v][settle(lim[-1]) == DDW_CSV_S_START];
            if (q == NULL)
                break;
            p = q;
        }
        v = table[v][byte_class(*p)];
        p++;
    }
    for (int k = 0; k < 4; k++)
        map[k] = (uint8_t)((v >> (2 * k)) & 3);
}

const char *ddw_csv_record_end(const char *p, const char *end, int *state)
{
    int st = *state;
    while (p < end) {
        if (st == DDW_CSV_S_QUOTED) {
            const char *q = memchr(p, '"', (size_t)(end - p));
            if (q == NULL) {
                p = end;
                break;
            }
            st = DDW_CSV_S_QQ;
            p = q + 1;
            continue;
        }
        if (st == DDW_CSV_S_QQ) {
            int cls = byte_class((unsigned char)*p);
            if (cls == 3) {
                *state = DDW_CSV_S_START;
                return p;
            }
            st = step(st, cls);
            p++;
            continue;
        }
        /* START or UNQUOTED: the next '\n' ends the record unless a '"'
         * before it opens a quoted field */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *lim = nl ? nl : end;
        const char *q = memchr(p, '"', (size_t)(lim - p));
        if (q == NULL) {
            if (nl) {
                *state = DDW_CSV_S_START;
                return nl;
            }
            if (lim > p)
                st = settle((unsigned char)lim[-1]);
            p = end;
            break;
        }
        if (q > p)
            st = settle((unsigned char)q[-1]);
        st = step(st, 1);
        p = q + 1;
    }
    *state = st;
    return NULL;
}

ddw_status ddw_csv_split(const char *rec, size_t len, char *scratch, size_t scratch_cap,
                         ddw_csv_field *fields, int max_fields, int *nfields)
{
    const char *p = rec;
    const char *end;
    size_t used = 0;
    int n = 0;

    *nfields = 0;
    if (len > 0 && rec[len - 1] == '\r')
        len--;
    end = rec + len;

    for (;;) {
        const char *fptr;
        size_t flen;
        int keep = n < max_fields;

        if (n == INT_MAX)
            return DDW_ERANGE;
        if (p < end && *p == '"') {
            size_t start = used;
            p++;
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                size_t chunk;
                if (!q)
                    return DDW_ECSV; /* unterminated quoted field */
                chunk = (size_t)(q - p);
                if (keep && chunk > 0) {
                    if (chunk > scratch_cap - used)
                        return DDW_ERANGE;
                    memcpy(scratch + used, p, chunk);
                    used += chunk;
                }
                p = q + 1;
                if (p < end && *p == '"') { /* "" -> " */
                    if (keep) {
                        if (used == scratch_cap)
                            return DDW_ERANGE;
                        scratch[used++] = '"';
                    }
                    p++;
                    continue;
                }
                break;
            }
            if (p < end && *p != ',')
                return DDW_ECSV; /* text after the closing quote */
            fptr = scratch ? scratch + start : rec;
            flen = used - start;
        } else {
            const char *s = p;
            p = comma_or_quote(p, end);
            if (p < end && *p == '"')
                return DDW_ECSV; /* quote inside an unquoted field */
            fptr = s;
            flen = (size_t)(p - s);
        }
        if (keep) {
            fields[n].ptr = fptr;
            fields[n].len = flen;
        }
        n++;
        if (p >= end)
            break;
        p++; /* the ',' */
    }
    *nfields = n;
    return DDW_OK;
}

size_t ddw_csv_skip_bom(const char *buf, size_t len)
{
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        return 3;
    return 0;
}
