/*
 * deflate.c - zlib's compress2() on libdeflate, for HDF5's deflate filter,
 * with chunks compressed ahead on OpenMP threads.
 *
 * HDF5's built-in deflate filter (filter id 1, what h5py calls "gzip")
 * compresses every chunk with a call to zlib's compress2(), one chunk after
 * another on the writing rank: most of the write stage, and serial however
 * many threads the rank has.  HDF5 refuses to let a program replace a
 * predefined filter (H5Zregister fails for ids below 256), and direct chunk
 * writes do not work with the MPI-IO driver of HDF5 1.10, so this file
 * replaces compress2() itself: the executable defines the symbol, and the
 * dynamic linker binds libhdf5's reference to it ahead of libz's.
 *
 * 1. libdeflate writes the same zlib stream (RFC 1950 header, deflate
 *    blocks, Adler-32 trailer) as zlib, so every HDF5 reader, h5py and R
 *    included, reads the files with plain zlib.  Decompression stays with
 *    zlib's inflate().
 * 2. Before a write, the HDF5 layer (h5io.c) hands over the rank's slab with
 *    the chunk geometry.  ddw_deflate_ahead() builds each chunk's filter
 *    input as HDF5 will (byte shuffle, zero padding of the dataset's last
 *    chunk) and compresses the chunks on threads.  compress2() then returns
 *    a stored result when its input is byte for byte the predicted one
 *    (memcmp, never a hash), and compresses itself otherwise, so a wrong
 *    prediction costs time, never data.
 * ddw_deflate_calls() and ddw_deflate_hits() let the tests check that this
 * copy is the one in use and that the predictions hit.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "ddw.h"

/* One compressor per thread and level. */
#define DDW_DEFLATE_LEVELS 13
static _Thread_local struct libdeflate_compressor *tl_comp[DDW_DEFLATE_LEVELS];
static _Thread_local unsigned char *tl_scratch;
static _Thread_local size_t tl_scratch_cap;
static atomic_ullong calls, hits;

/* chunks compressed ahead: predicted filter input and its stream */
typedef struct {
    const unsigned char *in; /* into the caller's slab, or own */
    unsigned char *own;      /* shuffled or padded copy (freed) */
    size_t inlen;
    unsigned char *out; /* NULL: compression failed, let compress2 decide */
    size_t outlen;
    int level;
} ahead_chunk;
static ahead_chunk *ahead;
static size_t nahead, ahead_next;

unsigned long long ddw_deflate_calls(void) { return atomic_load(&calls); }

unsigned long long ddw_deflate_hits(void) { return atomic_load(&hits); }

static struct libdeflate_compressor *compressor(int level)
{
    struct libdeflate_compressor *c = tl_comp[level];
    if (!c) {
        c = libdeflate_alloc_compressor(level);
        tl_comp[level] = c;
    }
    return c;
}

/* Compresses src into out (cap bytes), in this thread's scratch when cap is
 * under libdeflate's bound: libdeflate may give up when the room left is
 * under its own bound even though the stream would fit (it writes whole
 * words), and HDF5 offers only zlib's compressBound().  0 = does not fit. */
static size_t deflate_into(struct libdeflate_compressor *c, const void *src, size_t n,
                           unsigned char *out, size_t cap)
{
    size_t bound = libdeflate_zlib_compress_bound(c, n);
    if (cap >= bound)
        return libdeflate_zlib_compress(c, src, n, out, cap);
    if (tl_scratch_cap < bound) {
        void *p = realloc(tl_scratch, bound);
        if (!p)
            return 0;
        tl_scratch = p;
        tl_scratch_cap = bound;
    }
    size_t got = libdeflate_zlib_compress(c, src, n, tl_scratch, bound);
    if (got == 0 || got > cap)
        return 0;
    memcpy(out, tl_scratch, got);
    return got;
}

static const ahead_chunk *find_ahead(const Bytef *source, uLong len, int level)
{
    for (size_t k = 0; k < nahead; k++) {
        const ahead_chunk *a = &ahead[(ahead_next + k) % nahead];
        if (a->out && a->level == level && a->inlen == len && memcmp(a->in, source, len) == 0) {
            ahead_next = (size_t)(a - ahead) + 1; /* HDF5 goes through chunks in order */
            return a;
        }
    }
    return NULL;
}

/* zlib semantics: level -1 is zlib's default (6), 0 stores, 1..9 compress;
 * Z_BUF_ERROR when the result does not fit in *destLen bytes. */
int compress2(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen, int level)
{
    if (level == Z_DEFAULT_COMPRESSION)
        level = 6;
    if (level < 0 || level > 9)
        return Z_STREAM_ERROR;
    atomic_fetch_add(&calls, 1);
    const ahead_chunk *a = nahead ? find_ahead(source, sourceLen, level) : NULL;
    if (a) {
        atomic_fetch_add(&hits, 1);
        if (a->outlen > *destLen)
            return Z_BUF_ERROR;
        memcpy(dest, a->out, a->outlen);
        *destLen = (uLongf)a->outlen;
        return Z_OK;
    }
    struct libdeflate_compressor *c = compressor(level);
    if (!c)
        return Z_MEM_ERROR;
    size_t n = deflate_into(c, source, sourceLen, dest, *destLen);
    if (n == 0)
        return Z_BUF_ERROR;
    *destLen = (uLongf)n;
    return Z_OK;
}

/* compress() is zlib's compress2() at the default level; defined here too so
 * the pair cannot resolve to two different libraries. */
int compress(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen)
{
    return compress2(dest, destLen, source, sourceLen, Z_DEFAULT_COMPRESSION);
}

/* HDF5's shuffle filter: byte j of element i goes to j * nelem + i; bytes
 * past the last whole element stay at the end. */
static void shuffle(const unsigned char *src, size_t n, size_t esize, unsigned char *dst)
{
    size_t ne = n / esize;
    for (size_t j = 0; j < esize; j++) {
        unsigned char *d = dst + j * ne;
        const unsigned char *s = src + j;
        for (size_t i = 0; i < ne; i++)
            d[i] = s[i * esize];
    }
    memcpy(dst + ne * esize, src + ne * esize, n - ne * esize);
}

void ddw_deflate_ahead(const void *data, size_t nbytes, size_t chunk_bytes, size_t esize,
                       int shuffled, int level)
{
    ddw_deflate_ahead_done();
    if (level < 1 || level > 9 || chunk_bytes == 0 || nbytes == 0)
        return;
    size_t n = (nbytes + chunk_bytes - 1) / chunk_bytes;
    if (n < 2 || ddw_par_threads(n * 32768) < 2)
        return; /* one thread: compress2 does the same work in HDF5's loop */
    ahead = ddw_xcalloc(n, sizeof *ahead);
    nahead = n;
    ahead_next = 0;
    /* HDF5 shuffles only elements wider than a byte, and only chunks of
     * more than one element */
    int shuf = shuffled && esize > 1 && chunk_bytes / esize > 1;
    long nl = (long)n;
#pragma omp parallel for schedule(dynamic, 1)
    for (long kl = 0; kl < nl; kl++) {
        size_t k = (size_t)kl, lo = k * chunk_bytes;
        size_t len = nbytes - lo < chunk_bytes ? nbytes - lo : chunk_bytes;
        ahead_chunk *a = &ahead[k];
        const unsigned char *src = (const unsigned char *)data + lo;
        a->level = level;
        a->inlen = chunk_bytes;
        if (len < chunk_bytes) { /* the dataset's last chunk, zero-padded */
            unsigned char *pad = ddw_xcalloc(chunk_bytes, 1);
            memcpy(pad, src, len);
            src = a->own = pad;
        }
        if (shuf) {
            unsigned char *s = ddw_xmalloc(chunk_bytes);
            shuffle(src, chunk_bytes, esize, s);
            free(a->own);
            src = a->own = s;
        }
        a->in = src;
        struct libdeflate_compressor *c = compressor(level);
        size_t cap = c ? libdeflate_zlib_compress_bound(c, chunk_bytes) : 0;
        unsigned char *out = c ? malloc(cap) : NULL;
        size_t got = out ? libdeflate_zlib_compress(c, src, chunk_bytes, out, cap) : 0;
        if (got == 0) {
            free(out);
            continue;
        }
        unsigned char *fit = realloc(out, got); /* the bound is about the input's size */
        a->out = fit ? fit : out;
        a->outlen = got;
    }
}

void ddw_deflate_ahead_done(void)
{
    for (size_t k = 0; k < nahead; k++) {
        free(ahead[k].own);
        free(ahead[k].out);
    }
    free(ahead);
    ahead = NULL;
    nahead = ahead_next = 0;
}
