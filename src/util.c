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
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif
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

/*
 * Large arrays ask for transparent huge pages (where the kernel offers them
 * on request, /sys/kernel/mm/transparent_hugepage/enabled = madvise): one
 * fault maps 2 MiB instead of 4 KiB, and the faults of the first touch of
 * hundreds of MB were a large part of the blocking stage, and did not get
 * faster with threads.  Measured at 1M persons: 12.5 -> 11.0 s at 1 rank,
 * 7.6 -> 6.7 s at 2 ranks.  Freed memory stays in the process (main.c), so
 * the advice holds when the memory is reused.  Only whole huge pages inside
 * the block are advised; a failure is harmless and ignored.
 */
#define HUGE_MIN ((size_t)8 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)
static void *advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (p && n >= HUGE_MIN) {
        uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#else
    (void)n;
#endif
    return p;
}

void *ddw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        DDW_DIE("out of memory allocating %zu bytes", n);
    return advise_huge(p, n);
}

void *ddw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        DDW_DIE("out of memory allocating %zu x %zu bytes", n, size);
    return advise_huge(p, n * size);
}

void *ddw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        DDW_DIE("out of memory reallocating %zu bytes", n);
    return advise_huge(q, n);
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
/* ---- radix sort ------------------------------------------------------------------ */

/* Items per thread below which a pass uses fewer threads; slices per thread. */
#define PAR_MIN 32768
#define PAR_SLICES 8

int ddw_par_threads(size_t n)
{
#ifdef _OPENMP
    size_t t = n / PAR_MIN, max = (size_t)omp_get_max_threads();
    if (omp_in_parallel())
        return 1;
    return t < 1 ? 1 : (int)(t < max ? t : max);
#else
    (void)n;
    return 1;
#endif
}

size_t ddw_par_slices(int nt) { return nt > 1 ? (size_t)nt * PAR_SLICES : 1; }

size_t ddw_par_slice_lo(size_t n, size_t ns, size_t u) { return n / ns * u + (n % ns) * u / ns; }

/* Bits of a radix digit (2^8 counters per slice). */
#define RADIX_BITS 8

/*
 * One stable pass by the digit (key >> sh) & mask (< 2^RADIX_BITS) from
 * (ks, vs) to (kd, vd): every slice of the input is counted, then the
 * slices scatter in order; threads take slices as they come.
 */
static void radix_pass(const uint64_t *ks, const uint32_t *vs, uint64_t *kd, uint32_t *vd,
                       size_t n, int sh, unsigned mask, int nt, size_t ns,
                       size_t (*cnt)[1 << RADIX_BITS])
{
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(dynamic, 1)
        for (size_t u = 0; u < ns; u++) {
            size_t *c = cnt[u];
            memset(c, 0, (mask + 1) * sizeof *c);
            for (size_t i = ddw_par_slice_lo(n, ns, u), hi = ddw_par_slice_lo(n, ns, u + 1); i < hi; i++)
                c[(ks[i] >> sh) & mask]++;
        }
#pragma omp single
        {
            size_t sum = 0;
            for (size_t d = 0; d <= mask; d++)
                for (size_t u = 0; u < ns; u++) {
                    size_t x = cnt[u][d];
                    cnt[u][d] = sum;
                    sum += x;
                }
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t u = 0; u < ns; u++) {
            size_t *c = cnt[u];
            for (size_t i = ddw_par_slice_lo(n, ns, u), hi = ddw_par_slice_lo(n, ns, u + 1); i < hi; i++) {
                size_t p = c[(ks[i] >> sh) & mask]++;
                kd[p] = ks[i];
                vd[p] = vs[i];
            }
        }
    }
}

void ddw_radix_sort_u64_buf(uint64_t *key, uint32_t *val, size_t n, uint64_t *k2, uint32_t *v2)
{
    if (n < 2)
        return;
    int nt = ddw_par_threads(n);
    size_t ns = ddw_par_slices(nt);
    uint64_t k0 = key[0], diff = 0; /* bits that differ between some keys */
    size_t descents = 0;
#pragma omp parallel for num_threads(nt) schedule(dynamic, DDW_PAR_CHUNK) reduction(| : diff) \
    reduction(+ : descents)
    for (size_t i = 0; i < n; i++) {
        diff |= key[i] ^ k0;
        descents += i > 0 && key[i] < key[i - 1];
    }
    if (descents == 0) /* already ascending */
        return;
    size_t(*cnt)[1 << RADIX_BITS] = ddw_xmalloc(ns * sizeof *cnt);
    void *own_k = NULL, *own_v = NULL;
    if (k2 == NULL)
        k2 = own_k = ddw_xmalloc(n * sizeof *k2);
    if (v2 == NULL)
        v2 = own_v = ddw_xmalloc(n * sizeof *v2);
    uint32_t *vs = val, *vd = v2;
    uint64_t *ks = key, *kd = k2;
    /* digits of up to RADIX_BITS bits, each starting at the lowest bit that
     * still varies, so bits equal in every key cost no pass */
    while (diff) {
        int sh = __builtin_ctzll(diff);
        uint64_t vary = (diff >> sh) & ((UINT64_C(1) << RADIX_BITS) - 1);
        /* the digit ends at the highest varying bit of the window; bits
         * above it are the same in every key */
        unsigned mask = (unsigned)((UINT64_C(2) << (63 - __builtin_clzll(vary))) - 1);
        diff &= ~((uint64_t)mask << sh);
        radix_pass(ks, vs, kd, vd, n, sh, mask, nt, ns, cnt);
        uint64_t *tk = ks;
        ks = kd;
        kd = tk;
        uint32_t *tv = vs;
        vs = vd;
        vd = tv;
    }
    if (ks != key) {
#pragma omp parallel for num_threads(nt) schedule(dynamic, DDW_PAR_CHUNK)
        for (size_t i = 0; i < n; i++) {
            key[i] = ks[i];
            val[i] = vs[i];
        }
    }
    free(own_k);
    free(own_v);
    free(cnt);
}

void ddw_radix_sort_u64(uint64_t *key, uint32_t *val, size_t n)
{
    ddw_radix_sort_u64_buf(key, val, n, NULL, NULL);
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

size_t ddw_window_read(ddw_window *w, size_t more)
{
    uint64_t at = w->base + w->len;
    if (at >= w->fsize)
        return 0;
    if (more > w->fsize - at)
        more = (size_t)(w->fsize - at);
    ddw_xgrow((void **)&w->buf, &w->cap, w->len + more, 1);
    size_t done = 0;
    while (done < more) {
        ssize_t got = pread(w->fd, w->buf + w->len + done, more - done, (off_t)(at + done));
        if (got <= 0)
            DDW_DIE("%s: read error at offset %llu: %s", w->what ? w->what : "file",
                    (unsigned long long)(at + done),
                    got < 0 ? strerror(errno) : "file shrank while reading");
        done += (size_t)got;
    }
    w->len += done;
    return done;
}
