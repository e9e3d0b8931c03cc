/*
 * util.c - status strings, the allocation policy and hashing shared by all
 * modules.
 *
 * Trade-off: allocation failure is treated as unrecoverable (log and abort
 * the job, as Redis does) instead of threading ENOMEM through every call;
 * a linkage job that runs out of memory cannot produce a valid result
 * anyway, and the code that remains is much easier to read.
 */
#include "ddw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *ddw_strerror(int status)
{
    switch (status) {
    case DDW_OK: return "success";
    case DDW_ENOMEM: return "out of memory";
    case DDW_EIO: return "input/output error";
    case DDW_ECONFIG: return "invalid configuration";
    case DDW_EINVAL: return "invalid argument";
    case DDW_ECSV: return "malformed CSV record";
    case DDW_EUTF8: return "invalid UTF-8";
    case DDW_EDATE: return "invalid date";
    case DDW_EHDF5: return "HDF5 error";
    case DDW_ECOMM: return "communication error";
    case DDW_ERANGE: return "value out of range";
    case DDW_EOTHER: return "failure on another rank";
    default: return "unknown error";
    }
}

void *ddw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        DDW_DIE("out of memory allocating %zu bytes", n);
    return p;
}

void *ddw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        DDW_DIE("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *ddw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        DDW_DIE("out of memory reallocating %zu bytes", n);
    return q;
}

char *ddw_xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = ddw_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

void ddw_xgrow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c += c / 2 + 16;
    *p = ddw_xrealloc(*p, c * elem);
    *cap = c;
}

uint64_t ddw_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

uint64_t ddw_hash64(const void *data, size_t len, uint64_t seed)
{
    /* Word-at-a-time multiply-mix over little-endian-assembled words, so the
     * value is the same on any platform. */
    const unsigned char *p = data;
    uint64_t h = ddw_mix64(seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (len + 1)));
    while (len >= 8) {
        uint64_t w = 0;
        for (int i = 7; i >= 0; i--)
            w = (w << 8) | p[i];
        h = ddw_mix64(h ^ w) + UINT64_C(0x9e3779b97f4a7c15);
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = len; i > 0; i--)
        w = (w << 8) | p[i - 1];
    return ddw_mix64(h ^ w ^ ((uint64_t)len << 56));
}

size_t ddw_lower_bound_u64(const uint64_t *v, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void ddw_utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Sorts key[0..n) ascending carrying val[] along: stable LSD radix sort on
 * 8-bit digits, skipping digits that are equal in every key. */
void ddw_radix_sort_u64(uint64_t *key, uint32_t *val, size_t n)
{
    if (n < 2)
        return;
    size_t(*hist)[256] = ddw_xcalloc(8, sizeof *hist);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = key[i];
        for (int d = 0; d < 8; d++)
            hist[d][(k >> (8 * d)) & 255]++;
    }
    uint64_t *k2 = ddw_xmalloc(n * sizeof *k2);
    uint32_t *v2 = ddw_xmalloc(n * sizeof *v2);
    uint64_t *ks = key, *kd = k2;
    uint32_t *vs = val, *vd = v2;
    for (int d = 0; d < 8; d++) {
        size_t *h = hist[d];
        int sh = 8 * d;
        if (h[(ks[0] >> sh) & 255] == n)
            continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t pos = h[(ks[i] >> sh) & 255]++;
            kd[pos] = ks[i];
            vd[pos] = vs[i];
        }
        uint64_t *tk = ks;
        ks = kd;
        kd = tk;
        uint32_t *tv = vs;
        vs = vd;
        vd = tv;
    }
    if (ks != key) {
        memcpy(key, ks, n * sizeof *key);
        memcpy(val, vs, n * sizeof *val);
    }
    free(k2);
    free(v2);
    free(hist);
}

void ddw_text_printf(ddw_text *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ddw_xgrow((void **)&b->p, &b->cap, b->len + (size_t)need + 1, 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

void ddw_text_json_str(ddw_text *b, const char *s)
{
    ddw_text_printf(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            ddw_text_printf(b, "\\%c", *c);
        else if (*c < 0x20)
            ddw_text_printf(b, "\\u%04x", *c);
        else
            ddw_text_printf(b, "%c", *c);
    }
    ddw_text_printf(b, "\"");
}

ddw_status ddw_read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return DDW_EIO;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = ddw_xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0)
            buf = ddw_xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        errno = saved;
        return DDW_EIO;
    }
    buf[n] = '\0';
    *text = buf;
    if (len)
        *len = n;
    return DDW_OK;
}

int ddw_mkdir_p(const char *path)
{
    char *p = ddw_xstrdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            *s = '/';
        }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}
