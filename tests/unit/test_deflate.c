/*
 * test_deflate.c - unit tests for src/deflate.c, zlib's compress2() on
 * libdeflate.
 *
 * Trade-off: what matters is that HDF5 readers, which inflate with zlib,
 * read every chunk back, so each case compresses with our compress2() and
 * decompresses with zlib's own inflate (inflateInit/inflate, the calls
 * HDF5's deflate filter makes), on data shaped like the result's columns:
 * zeros, sorted keys, random bytes (stored blocks) and text.  The zlib
 * return codes HDF5 checks (Z_OK, Z_BUF_ERROR, Z_STREAM_ERROR) are tested
 * one by one.  That libhdf5 binds to this compress2() is checked on the
 * built program by tests/run_tests.sh (nm -D) and by ddw_deflate_calls().
 * Chunks compressed ahead are checked the way HDF5 uses them: a reference
 * shuffle written here from HDF5's definition builds each chunk's filter
 * input, compress2 must answer it from the store (the hit counter moves)
 * with a stream that inflates to that input, and inputs that differ by one
 * byte must be compressed afresh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <omp.h>
#include <zlib.h>

#include "ddw.h"

/* zlib's inflate, as HDF5's deflate filter calls it */
static size_t zlib_inflate(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit(&z), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    assert_int_equal(rc, Z_STREAM_END);
    size_t got = z.total_out;
    inflateEnd(&z);
    return got;
}

static void round_trip(const unsigned char *data, size_t n, int level)
{
    uLongf cap = compressBound(n);
    unsigned char *c = malloc(cap), *back = malloc(n + 1);
    uLongf clen = cap;
    unsigned long long before = ddw_deflate_calls();
    assert_int_equal(compress2(c, &clen, data, n, level), Z_OK);
    assert_true(ddw_deflate_calls() == before + 1);
    assert_true(clen > 0 && clen <= cap);
    assert_int_equal(c[0] & 0x0f, 8); /* zlib header: method deflate */
    assert_int_equal(((unsigned)c[0] << 8 | c[1]) % 31, 0);
    assert_int_equal(zlib_inflate(c, clen, back, n + 1), n);
    assert_memory_equal(back, data, n);
    free(c);
    free(back);
}

static void test_round_trip_shapes(void **state)
{
    (void)state;
    enum { N = 1 << 19 };
    unsigned char *buf = malloc(N);
    uint64_t *u64 = (uint64_t *)buf;
    static const int levels[] = {Z_DEFAULT_COMPRESSION, 0, 1, 4, 6, 9};
    for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
        memset(buf, 0, N);
        round_trip(buf, N, levels[l]);
        for (size_t i = 0; i < N / 8; i++) /* sorted record keys */
            u64[i] = ((uint64_t)3 << 40) | (i * 7 + (i % 5));
        round_trip(buf, N, levels[l]);
        uint64_t x = 0x9e3779b97f4a7c15ULL; /* random: stored blocks */
        for (size_t i = 0; i < N / 8; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            u64[i] = x;
        }
        round_trip(buf, N, levels[l]);
        for (size_t i = 0; i < N; i++) /* fixed-width text column */
            buf[i] = (unsigned char)("DIP0001234\0\0\0\0\0\0heroin/crack\0\0\0\0\0\0"[i % 36]);
        round_trip(buf, N, levels[l]);
    }
    round_trip(buf, 1, 1);
    round_trip(buf, 0, 1);
    /* small incompressible chunks (a model table) in exactly compressBound()
     * bytes, less than libdeflate's own bound */
    for (size_t n = 1; n < 600; n += 7)
        round_trip(buf + 1000, n, 1);
    free(buf);
}

/* HDF5 gives compress2 a buffer of compressBound(n) bytes; a smaller one
 * must fail with Z_BUF_ERROR (HDF5 then stores the chunk unfiltered). */
static void test_buffer_too_small(void **state)
{
    (void)state;
    enum { N = 4096 };
    unsigned char in[N], out[64];
    uint64_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        in[i] = (unsigned char)(x >> 56);
    }
    uLongf olen = sizeof out;
    assert_int_equal(compress2(out, &olen, in, N, 1), Z_BUF_ERROR);
}

static void test_bad_level(void **state)
{
    (void)state;
    unsigned char in[16] = {0}, out[64];
    uLongf olen = sizeof out;
    assert_int_equal(compress2(out, &olen, in, sizeof in, 10), Z_STREAM_ERROR);
    assert_int_equal(compress2(out, &olen, in, sizeof in, -2), Z_STREAM_ERROR);
    olen = sizeof out;
    assert_int_equal(compress(out, &olen, in, sizeof in), Z_OK);
    unsigned char back[16];
    assert_int_equal(zlib_inflate(out, olen, back, sizeof back), sizeof in);
}

/* HDF5's shuffle, element by element: out[j * ne + i] = in[i * es + j] */
static void ref_shuffle(const unsigned char *in, size_t n, size_t es, unsigned char *out)
{
    size_t ne = n / es;
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < es; j++)
            out[j * ne + i] = in[i * es + j];
    memcpy(out + ne * es, in + ne * es, n - ne * es);
}

/* compress2 on one chunk's filter input; returns 1 if it came from the store */
static int chunk_via_compress2(const unsigned char *in, size_t n, int level)
{
    uLongf cap = compressBound(n);
    unsigned char *c = malloc(cap), *back = malloc(n);
    unsigned long long h = ddw_deflate_hits();
    uLongf clen = cap;
    assert_int_equal(compress2(c, &clen, in, n, level), Z_OK);
    assert_int_equal(zlib_inflate(c, clen, back, n), n);
    assert_memory_equal(back, in, n);
    free(c);
    free(back);
    return ddw_deflate_hits() == h + 1;
}

static void test_ahead(void **state)
{
    (void)state;
    const size_t es = 8, rows = 1000, cb = rows * es, nrows = 3 * rows + 357;
    size_t n = nrows * es;
    unsigned char *slab = malloc(n), *chunk = calloc(cb, 1), *sh = malloc(cb);
    for (size_t i = 0; i < nrows; i++) { /* sorted keys, slowly varying high bytes */
        uint64_t v = ((uint64_t)7 << 44) + i * 13 + (i % 3);
        memcpy(slab + i * es, &v, es);
    }
    omp_set_num_threads(2);
    for (int shuffled = 0; shuffled < 2; shuffled++) {
        ddw_deflate_ahead(slab, n, cb, es, shuffled, 1);
        for (size_t k = 0; k * cb < n; k++) {
            size_t len = n - k * cb < cb ? n - k * cb : cb;
            memset(chunk, 0, cb); /* HDF5 zero-pads the dataset's last chunk */
            memcpy(chunk, slab + k * cb, len);
            const unsigned char *in = chunk;
            if (shuffled) {
                ref_shuffle(chunk, cb, es, sh);
                in = sh;
            }
            assert_true(chunk_via_compress2(in, cb, 1));
        }
        /* the same bytes at another level, or one byte changed: compressed afresh */
        assert_false(chunk_via_compress2(shuffled ? sh : chunk, cb, 2));
        chunk[17] ^= 1;
        if (shuffled)
            ref_shuffle(chunk, cb, es, sh);
        assert_false(chunk_via_compress2(shuffled ? sh : chunk, cb, 1));
        ddw_deflate_ahead_done();
        chunk[17] ^= 1;
        memcpy(chunk, slab, cb);
        assert_false(chunk_via_compress2(chunk, cb, 1)); /* store emptied */
    }
    /* one thread: nothing is compressed ahead */
    omp_set_num_threads(1);
    ddw_deflate_ahead(slab, n, cb, es, 0, 1);
    assert_false(chunk_via_compress2(slab, cb, 1));
    ddw_deflate_ahead_done();
    free(slab);
    free(chunk);
    free(sh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_shapes),
        cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_bad_level),
        cmocka_unit_test(test_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
