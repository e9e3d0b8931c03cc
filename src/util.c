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

#include <stdlib.h>
#include <string.h>
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
