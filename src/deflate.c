/*
 * deflate.c - zlib's compress2() on libdeflate, for HDF5's deflate filter.
 *
 * HDF5's built-in deflate filter (filter id 1, what h5py calls "gzip")
 * compresses every chunk with a call to zlib's compress2(), one chunk after
 * another on the writing rank.  That was about 75% of the write stage.
 * HDF5 refuses to let a program replace a predefined filter (H5Zregister
 * fails for ids below 256), and direct chunk writes do not work with the
 * MPI-IO driver of HDF5 1.10, so this file replaces compress2() itself:
 * the executable defines the symbol, and the dynamic linker binds
 * libhdf5's reference to it ahead of libz's.
 *
 * libdeflate writes the same zlib stream (RFC 1950 header, deflate blocks,
 * Adler-32 trailer) two to three times faster than zlib at the same level,
 * so every HDF5 reader, h5py and R included, reads the files with plain
 * zlib as before.  Decompression stays with zlib's inflate().
 * ddw_deflate_calls() lets the tests check that this copy is the one in use.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "ddw.h"

/* One compressor per thread and level; HDF5 1.10 calls filters from the
 * thread that called H5Dwrite, but nothing here relies on that. */
#define DDW_DEFLATE_LEVELS 13
static _Thread_local struct libdeflate_compressor *tl_comp[DDW_DEFLATE_LEVELS];
static _Thread_local unsigned char *tl_scratch;
static _Thread_local size_t tl_scratch_cap;
static atomic_ullong calls;

unsigned long long ddw_deflate_calls(void)
{
    return atomic_load(&calls);
}

/* zlib semantics: level -1 is zlib's default (6), 0 stores, 1..9 compress;
 * Z_BUF_ERROR when the result does not fit in *destLen bytes. */
int compress2(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen, int level)
{
    if (level == Z_DEFAULT_COMPRESSION)
        level = 6;
    if (level < 0 || level > 9)
        return Z_STREAM_ERROR;
    struct libdeflate_compressor *c = tl_comp[level];
    if (!c) {
        c = libdeflate_alloc_compressor(level);
        if (!c)
            return Z_MEM_ERROR;
        tl_comp[level] = c;
    }
    atomic_fetch_add(&calls, 1);
    /* libdeflate may give up when the room left is under its own bound even
     * though the stream would fit (it writes whole words), and HDF5 offers
     * only zlib's compressBound(); so compress into scratch of libdeflate's
     * bound and copy out, failing only when zlib would have failed too. */
    size_t bound = libdeflate_zlib_compress_bound(c, sourceLen);
    if (*destLen >= bound) {
        size_t n = libdeflate_zlib_compress(c, source, sourceLen, dest, *destLen);
        if (n == 0)
            return Z_BUF_ERROR;
        *destLen = (uLongf)n;
        return Z_OK;
    }
    if (tl_scratch_cap < bound) {
        void *p = realloc(tl_scratch, bound);
        if (!p)
            return Z_MEM_ERROR;
        tl_scratch = p;
        tl_scratch_cap = bound;
    }
    size_t n = libdeflate_zlib_compress(c, source, sourceLen, tl_scratch, bound);
    if (n == 0 || n > *destLen)
        return Z_BUF_ERROR;
    memcpy(dest, tl_scratch, n);
    *destLen = (uLongf)n;
    return Z_OK;
}

/* compress() is zlib's compress2() at the default level; defined here too so
 * the pair cannot resolve to two different libraries. */
int compress(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen)
{
    return compress2(dest, destLen, source, sourceLen, Z_DEFAULT_COMPRESSION);
}
