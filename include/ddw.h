/*
 * ddw.h - definitions shared by every ddwlink module: status codes, the
 * global record key, the out-of-memory policy and logging.
 *
 * Trade-off: one small header that everything includes keeps the error and
 * allocation policy in one place; it holds no data structures of any stage,
 * so a change to one stage never rebuilds the world for a type change.
 */
#ifndef DDW_H
#define DDW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Status codes: 0 is success, failures are negative (libuv style). */
typedef enum {
    DDW_OK = 0,
    DDW_ENOMEM = -1,   /* out of memory */
    DDW_EIO = -2,      /* file could not be opened, read or written */
    DDW_ECONFIG = -3,  /* invalid configuration */
    DDW_EINVAL = -4,   /* invalid argument or value */
    DDW_ECSV = -5,     /* malformed CSV record */
    DDW_EUTF8 = -6,    /* invalid UTF-8 */
    DDW_EDATE = -7,    /* unparseable or impossible date */
    DDW_EHDF5 = -8,    /* HDF5 library failure */
    DDW_ECOMM = -9,    /* communication failure */
    DDW_ERANGE = -10,  /* value out of range / too long */
    DDW_EOTHER = -11   /* another rank failed */
} ddw_status;

/* Returns a static, human-readable description of a status code. */
const char *ddw_strerror(int status);

/*
 * Global record key: (source index, CSV line) packed into 64 bits, so a
 * record's key - and therefore every person ID, which is the smallest key
 * in its component - depends only on the inputs, never on rank or thread
 * counts.  Sources are limited to 64 (person source masks are 64-bit) and
 * lines to 2^40.
 */
#define DDW_MAX_SOURCES 64
#define DDW_KEY_ROW_BITS 40
#define DDW_KEY(src, row) (((uint64_t)(src) << DDW_KEY_ROW_BITS) | (uint64_t)(row))
#define DDW_KEY_SOURCE(k) ((int)((k) >> DDW_KEY_ROW_BITS))
#define DDW_KEY_ROW(k) ((int64_t)((k) & ((UINT64_C(1) << DDW_KEY_ROW_BITS) - 1)))

/*
 * Allocation policy (one for the whole program, as in Redis): these never
 * return NULL; on failure they log and abort the whole MPI job.
 */
void *ddw_xmalloc(size_t n);
void *ddw_xcalloc(size_t n, size_t size);
void *ddw_xrealloc(void *p, size_t n);
char *ddw_xstrdup(const char *s);
/* Grow *p (an array of elem-byte items with capacity *cap) to hold need items. */
void ddw_xgrow(void **p, size_t *cap, size_t need, size_t elem);

/* Unrecoverable error: logs "rank:file:line: msg" and aborts all ranks. */
void ddw_die_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define DDW_DIE(...) ddw_die_at(__FILE__, __LINE__, __VA_ARGS__)

/* 64-bit mixing hash of bytes with a seed (deterministic, platform-independent). */
uint64_t ddw_hash64(const void *data, size_t len, uint64_t seed);
/* Final mix of a 64-bit integer (splitmix64 finaliser). */
uint64_t ddw_mix64(uint64_t x);

/*
 * HDF5's deflate filter runs through this program's compress2() (deflate.c).
 * ddw_deflate_ahead compresses, on OpenMP threads, the chunks of a slab of
 * nbytes that a write is about to filter: chunks of chunk_bytes, the last
 * one zero-padded (pass only whole chunks unless the slab ends the dataset),
 * byte-shuffled by elements of esize when shuffled is set; level 1-9.  It
 * does nothing with one thread.  compress2 then hands out a stored stream
 * when its input matches one byte for byte.  ddw_deflate_ahead_done frees
 * them.  The counters: compress2 calls, and calls answered from the store.
 */
void ddw_deflate_ahead(const void *data, size_t nbytes, size_t chunk_bytes, size_t esize,
                       int shuffled, int level);
void ddw_deflate_ahead_done(void);
unsigned long long ddw_deflate_calls(void);
unsigned long long ddw_deflate_hits(void);

/* Index of the first element of the sorted array v[0..n) that is >= key (n if none). */
size_t ddw_lower_bound_u64(const uint64_t *v, size_t n, uint64_t key);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void ddw_utc_now(char out[32]);

/* A byte window [base, base + len) of an open file, extended forwards by
 * ddw_window_read (used by the CSV readers of ingest and evaluate). */
typedef struct {
    int fd;
    uint64_t base;  /* file offset of buf[0] */
    char *buf;
    size_t len, cap;
    uint64_t fsize; /* the file's size */
    const char *what; /* the file, for the read-error message */
} ddw_window;

/* Appends up to 'more' bytes read at base + len (fewer at end of file);
 * returns the bytes added.  A read error or a file that shrank is fatal
 * (DDW_DIE naming w->what and the offset). */
size_t ddw_window_read(ddw_window *w, size_t more);

/* 1 if a[0..n) equals b[0..n): short runs (names, codes) compared inline,
 * longer ones with memcmp. */
static inline int ddw_bytes_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    if (n > 16)
        return memcmp(x, y, n) == 0;
    for (size_t k = 0; k < n; k++)
        if (x[k] != y[k])
            return 0;
    return 1;
}

/* A hint to fetch the cache line holding addr; no effect on results. */
#if defined(__GNUC__)
#define DDW_PREFETCH(addr) __builtin_prefetch(addr)
#else
#define DDW_PREFETCH(addr) ((void)(addr))
#endif

/* Prefetch hints for the cache lines (64 bytes) holding bytes [s, e). */
static inline void ddw_prefetch_bytes(const void *s, const void *e)
{
    uintptr_t a = (uintptr_t)s & ~(uintptr_t)63, z = (uintptr_t)e;
    for (; a < z; a += 64)
        DDW_PREFETCH((const void *)a);
}

/*
 * OpenMP work sharing for passes over large arrays: threads worth using for
 * n items (1 per 32768 items, at most the OpenMP maximum; 1 inside a
 * parallel region), contiguous slices for nt threads (8 per thread, so a
 * thread the machine delays does not hold the others up), the first item of
 * slice u of ns over n items (ddw_par_slice_lo(n, ns, ns) = n), and the
 * iterations per chunk of a dynamically scheduled loop.
 */
int ddw_par_threads(size_t n);
size_t ddw_par_slices(int nt);
size_t ddw_par_slice_lo(size_t n, size_t ns, size_t u);
#define DDW_PAR_CHUNK 16384

/*
 * Sorts key[0..n) ascending carrying val[] along: a stable LSD radix sort on
 * digits of up to 8 bits that leave out bits equal in every key, with OpenMP
 * threads counting and scattering contiguous slices (the result is the same
 * for any thread count; one thread when called inside a parallel region);
 * returns at once if the keys already ascend.  Allocates n * 12 bytes of
 * scratch; ddw_radix_sort_u64_buf uses the caller's k2[n] and v2[n] instead
 * (NULL: allocated), whose contents are then garbage.
 */
void ddw_radix_sort_u64(uint64_t *key, uint32_t *val, size_t n);
void ddw_radix_sort_u64_buf(uint64_t *key, uint32_t *val, size_t n, uint64_t *k2, uint32_t *v2);

/* A growing NUL-terminated string (zero-initialise; the caller frees p). */
typedef struct {
    char *p;
    size_t len, cap;
} ddw_text;
/* Appends printf-style text. */
void ddw_text_printf(ddw_text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes, backslashes and controls escaped). */
void ddw_text_json_str(ddw_text *b, const char *s);

/* Reads the whole file at path into a new NUL-terminated buffer (*text,
 * caller frees) and its length into *len (may be NULL).  DDW_EIO (errno
 * set) if it cannot be opened or read. */
ddw_status ddw_read_file(const char *path, char **text, size_t *len);

/* mkdir -p: creates path and its missing parents; 0, or -1 with errno set. */
int ddw_mkdir_p(const char *path);

#endif /* DDW_H */
