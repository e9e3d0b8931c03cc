/*
 * test_cluster.c - unit tests for connected components (src/cluster.c):
 * the serial union-find (ddw_uf_*) and ddw_cluster_run in the serial
 * (one-rank) build.
 *
 * Trade-off: small graphs whose answer is written out by hand (a scrambled
 * chain, two components, isolated keys) pin down the contract, and 200
 * pseudo-random graphs are checked against a deliberately naive reference
 * (repeated min-label relaxation over the edge list until nothing changes)
 * that shares no code or idea with the union-find under test.  The radix
 * sort and a graph large enough for the multi-threaded paths (sorts,
 * parallel union-find) are checked at 1 and 4 OpenMP threads.  The
 * multi-rank behaviour is covered by tests/mpi/cluster_mpi.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ddw.h"
#include "ddw_cluster.h"
#include "ddw_comm.h"

/* ---- union-find ------------------------------------------------------------ */

static void test_uf_basic(void **state)
{
    (void)state;
    ddw_uf uf;
    ddw_uf_init(&uf, 8);
    assert_int_equal(uf.n, 8);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(ddw_uf_find(&uf, i), i);
    ddw_uf_union(&uf, 6, 3);
    assert_int_equal(ddw_uf_find(&uf, 6), 3);
    assert_int_equal(ddw_uf_find(&uf, 3), 3);
    ddw_uf_union(&uf, 7, 6); /* 7 joins {3, 6}: root stays 3 */
    assert_int_equal(ddw_uf_find(&uf, 7), 3);
    ddw_uf_union(&uf, 3, 1); /* smaller index becomes the root */
    assert_int_equal(ddw_uf_find(&uf, 7), 1);
    assert_int_equal(ddw_uf_find(&uf, 6), 1);
    assert_int_equal(ddw_uf_find(&uf, 3), 1);
    ddw_uf_union(&uf, 6, 7); /* already joined: no change */
    assert_int_equal(ddw_uf_find(&uf, 6), 1);
    ddw_uf_union(&uf, 5, 5); /* self-union: no change */
    assert_int_equal(ddw_uf_find(&uf, 5), 5);
    ddw_uf_union(&uf, 4, 2);
    ddw_uf_union(&uf, 2, 0);
    assert_int_equal(ddw_uf_find(&uf, 4), 0);
    assert_int_equal(ddw_uf_find(&uf, 0), 0);
    assert_int_equal(ddw_uf_find(&uf, 1), 1);
    assert_int_equal(ddw_uf_find(&uf, 5), 5);
    ddw_uf_free(&uf);
    assert_null(uf.parent);
    assert_int_equal(uf.n, 0);

    ddw_uf_init(&uf, 0); /* empty is fine */
    ddw_uf_free(&uf);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n) { return (size_t)(rng_next(s) % n); }

/* Union order does not matter: every item's root is the smallest index of its set. */
static void test_uf_order_independent(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + rng_below(&seed, 200), m = rng_below(&seed, 2 * n);
        uint32_t *x = malloc((m + 1) * sizeof *x), *y = malloc((m + 1) * sizeof *y);
        uint32_t *first = malloc(n * sizeof *first), *minidx = malloc(n * sizeof *minidx);
        size_t *perm = malloc((m + 1) * sizeof *perm);
        assert_non_null(x);
        assert_non_null(y);
        assert_non_null(first);
        assert_non_null(minidx);
        assert_non_null(perm);
        for (size_t k = 0; k < m; k++) {
            x[k] = (uint32_t)rng_below(&seed, n);
            y[k] = (uint32_t)rng_below(&seed, n);
        }
        /* naive labels: smallest index reachable, by relaxation */
        for (size_t i = 0; i < n; i++)
            minidx[i] = (uint32_t)i;
        for (int changed = 1; changed;) {
            changed = 0;
            for (size_t k = 0; k < m; k++) {
                uint32_t lo = minidx[x[k]] < minidx[y[k]] ? minidx[x[k]] : minidx[y[k]];
                if (minidx[x[k]] != lo || minidx[y[k]] != lo) {
                    minidx[x[k]] = minidx[y[k]] = lo;
                    changed = 1;
                }
            }
        }
        for (int order = 0; order < 4; order++) {
            for (size_t k = 0; k < m; k++)
                perm[k] = k;
            if (order == 1) /* reversed */
                for (size_t k = 0; k < m; k++)
                    perm[k] = m - 1 - k;
            if (order >= 2) /* shuffled */
                for (size_t k = m; k > 1; k--) {
                    size_t j = rng_below(&seed, k), t = perm[k - 1];
                    perm[k - 1] = perm[j];
                    perm[j] = t;
                }
            ddw_uf uf;
            ddw_uf_init(&uf, n);
            for (size_t k = 0; k < m; k++) {
                if (order == 3) /* and swapped arguments */
                    ddw_uf_union(&uf, y[perm[k]], x[perm[k]]);
                else
                    ddw_uf_union(&uf, x[perm[k]], y[perm[k]]);
            }
            for (size_t i = 0; i < n; i++) {
                uint32_t r = ddw_uf_find(&uf, (uint32_t)i);
                assert_int_equal(r, minidx[i]);
                if (order == 0)
                    first[i] = r;
                else
                    assert_int_equal(r, first[i]);
                assert_int_equal(uf.parent[r], r);
            }
            ddw_uf_free(&uf);
        }
        free(x);
        free(y);
        free(first);
        free(minidx);
        free(perm);
    }
}

/* ---- threads ---------------------------------------------------------------- */

static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

/* ---- ddw_radix_sort_u64 ------------------------------------------------- */

/* Keys of shape s for i < n. */
static uint64_t sort_key(int s, size_t i, size_t n, uint64_t *seed)
{
    switch (s) {
    case 0: return rng_next(seed);                                             /* anything */
    case 1: return DDW_KEY(rng_below(seed, 6), 2 + rng_below(seed, 600000)); /* record keys */
    case 2: return (rng_next(seed) % 5) * UINT64_C(0x0123456789abc);         /* few values */
    case 3: return UINT64_C(42);                                             /* all equal */
    case 4: return (uint64_t)i * 3;                                          /* ascending */
    case 5: return (uint64_t)(n - i);                                        /* descending */
    default: return UINT64_MAX - rng_below(seed, 1000);                     /* top bits set */
    }
}

static void test_radix_sort(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 2, 3, 1000, 150000};
    uint64_t seed = 0x5027u;
    for (size_t zi = 0; zi < sizeof sizes / sizeof *sizes; zi++) {
        size_t n = sizes[zi];
        uint64_t *orig = malloc((n + 1) * sizeof *orig), *key = malloc((n + 1) * sizeof *key);
        uint32_t *val = malloc((n + 1) * sizeof *val);
        unsigned char *seen = malloc(n + 1);
        assert_non_null(orig);
        assert_non_null(key);
        assert_non_null(val);
        assert_non_null(seen);
        for (int shape = 0; shape < 7; shape++) {
            for (size_t i = 0; i < n; i++)
                orig[i] = sort_key(shape, i, n, &seed);
            for (int threads = 1; threads <= 4; threads += 3) {
                set_threads(threads);
                memcpy(key, orig, n * sizeof *key);
                for (size_t i = 0; i < n; i++)
                    val[i] = (uint32_t)i;
                ddw_radix_sort_u64(key, val, n);
                memset(seen, 0, n + 1);
                for (size_t i = 0; i < n; i++) {
                    assert_true(val[i] < n);
                    assert_false(seen[val[i]]); /* a permutation */
                    seen[val[i]] = 1;
                    assert_true(key[i] == orig[val[i]]); /* values travel with their keys */
                    if (i > 0) {
                        assert_true(key[i - 1] <= key[i]);
                        if (key[i - 1] == key[i]) /* stable */
                            assert_true(val[i - 1] < val[i]);
                    }
                }
            }
        }
        set_threads(1);
        free(orig);
        free(key);
        free(val);
        free(seen);
    }
}

/* ---- ddw_cluster_run ---------------------------------------------------------- */

static ddw_comm *open_comm(void)
{
    ddw_comm *c = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &c), DDW_OK);
    assert_int_equal(ddw_comm_size(c), 1);
    assert_int_equal(ddw_comm_rank(c), 0);
    return c;
}

static void test_chain_scrambled(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    /* chain 5-4-3-2-1, edges out of order and in both orientations */
    const uint64_t a[] = {3, 1, 5, 3};
    const uint64_t b[] = {2, 2, 4, 4};
    const uint64_t keys[] = {5, 4, 3, 2, 1, 3};
    uint64_t person[6];
    ddw_cluster_stats st;
    assert_int_equal(ddw_cluster_run(comm, a, b, 4, keys, 6, person, &st), DDW_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(person[i], 1);
    assert_true(st.rounds >= 1);
    assert_true(st.jump_rounds >= 1);
    ddw_comm_finalize(&comm);
}

static void test_two_components(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    const uint64_t big = UINT64_C(0xfffffffffffffff0);
    const uint64_t a[] = {30, 40, 20, big, 7, 20};
    const uint64_t b[] = {20, 7, 10, 40, 40, 30}; /* {10,20,30}, {7,40,big}; one duplicate */
    const uint64_t keys[] = {30, 40, big, 10, 7, 20};
    const uint64_t want[] = {10, 7, 7, 10, 7, 10};
    uint64_t person[6];
    ddw_cluster_stats st;
    assert_int_equal(ddw_cluster_run(comm, a, b, 6, keys, 6, person, &st), DDW_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(person[i], want[i]);
    /* asking for a subset, in another order, gives the same answers */
    const uint64_t keys2[] = {big, 20};
    assert_int_equal(ddw_cluster_run(comm, a, b, 6, keys2, 2, person, &st), DDW_OK);
    assert_int_equal(person[0], 7);
    assert_int_equal(person[1], 10);
    ddw_comm_finalize(&comm);
}

static void test_isolated(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    const uint64_t a[] = {100, 5};
    const uint64_t b[] = {200, 5}; /* a self-loop connects 5 to nothing else */
    const uint64_t keys[] = {99, 200, 1, 5, UINT64_MAX, 300};
    const uint64_t want[] = {99, 100, 1, 5, UINT64_MAX, 300};
    uint64_t person[6];
    ddw_cluster_stats st;
    assert_int_equal(ddw_cluster_run(comm, a, b, 2, keys, 6, person, &st), DDW_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(person[i], want[i]);
    /* no edges at all */
    assert_int_equal(ddw_cluster_run(comm, NULL, NULL, 0, keys, 6, person, &st), DDW_OK);
    for (int i = 0; i < 6; i++)
        assert_int_equal(person[i], keys[i]);
    assert_int_equal(st.rounds, 0);
    /* no keys asked */
    assert_int_equal(ddw_cluster_run(comm, a, b, 2, NULL, 0, person, &st), DDW_OK);
    ddw_comm_finalize(&comm);
}

/* Naive reference: label[v] = min key reachable, by relaxation to a fixed point. */
static void reference(size_t n, const uint64_t *key, size_t m, const uint32_t *x,
                      const uint32_t *y, uint64_t *label)
{
    for (size_t i = 0; i < n; i++)
        label[i] = key[i];
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t k = 0; k < m; k++) {
            uint64_t lo = label[x[k]] < label[y[k]] ? label[x[k]] : label[y[k]];
            if (label[x[k]] != lo || label[y[k]] != lo) {
                label[x[k]] = label[y[k]] = lo;
                changed = 1;
            }
        }
    }
}

static void test_random_graphs(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    uint64_t seed = 0x5eedc1u;
    for (int g = 0; g < 200; g++) {
        size_t n = 1 + rng_below(&seed, 300);
        size_t m = rng_below(&seed, 2 * n + 1);
        uint64_t *key = malloc(n * sizeof *key), *label = malloc(n * sizeof *label);
        uint32_t *x = malloc((m + 1) * sizeof *x), *y = malloc((m + 1) * sizeof *y);
        uint64_t *a = malloc((m + 1) * sizeof *a), *b = malloc((m + 1) * sizeof *b);
        uint64_t *person = malloc(n * sizeof *person);
        assert_non_null(key);
        assert_non_null(label);
        assert_non_null(x);
        assert_non_null(y);
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(person);
        /* distinct nonzero keys: random 64-bit, or small and dense, by graph */
        for (size_t i = 0; i < n; i++) {
            for (;;) {
                uint64_t k = g % 3 == 0 ? 1 + rng_below(&seed, 4 * n) : rng_next(&seed);
                int dup = k == 0;
                for (size_t j = 0; j < i && !dup; j++)
                    dup = key[j] == k;
                if (!dup) {
                    key[i] = k;
                    break;
                }
            }
        }
        /* random edges; every fourth graph also gets a long path */
        size_t k = 0;
        if (g % 4 == 1 && n > 1) {
            size_t len = n / 2 + rng_below(&seed, n / 2 + 1);
            for (size_t i = 0; i + 1 < len && k < m; i++, k++) {
                x[k] = (uint32_t)i;
                y[k] = (uint32_t)(i + 1);
            }
        }
        for (; k < m; k++) {
            x[k] = (uint32_t)rng_below(&seed, n);
            y[k] = (uint32_t)rng_below(&seed, n);
        }
        for (size_t e = 0; e < m; e++) {
            a[e] = key[x[e]];
            b[e] = key[y[e]];
        }
        reference(n, key, m, x, y, label);
        ddw_cluster_stats st;
        assert_int_equal(ddw_cluster_run(comm, a, b, m, key, n, person, &st), DDW_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(person[i] == label[i]);
        free(key);
        free(label);
        free(x);
        free(y);
        free(a);
        free(b);
        free(person);
    }
    ddw_comm_finalize(&comm);
}

/*
 * A graph big enough for the multi-threaded paths (200000 vertices with
 * record-shaped keys, 300000 random edges, a 60000-vertex path with keys
 * falling along it), at 1 and 4 threads, against ddw_uf.
 */
static void test_large_threads(void **state)
{
    (void)state;
    ddw_comm *comm = open_comm();
    const size_t n = 200000, mr = 300000, len = 60000, m = mr + len - 1;
    uint64_t seed = 0xb16u;
    uint64_t *key = malloc(n * sizeof *key), *want = malloc(n * sizeof *want);
    uint64_t *person = malloc(n * sizeof *person);
    uint64_t *a = malloc(m * sizeof *a), *b = malloc(m * sizeof *b);
    uint32_t *x = malloc(m * sizeof *x), *y = malloc(m * sizeof *y);
    assert_non_null(key);
    assert_non_null(want);
    assert_non_null(person);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) /* distinct: the row is unique */
        key[i] = DDW_KEY(rng_below(&seed, 6), 2 + 3 * i + rng_below(&seed, 3));
    for (size_t k = 0; k < mr; k++) {
        x[k] = (uint32_t)rng_below(&seed, n);
        y[k] = (uint32_t)rng_below(&seed, n);
    }
    for (size_t i = 0; i + 1 < len; i++) { /* vertex n-1-i -> n-2-i: keys fall */
        x[mr + i] = (uint32_t)(n - 1 - i);
        y[mr + i] = (uint32_t)(n - 2 - i);
    }
    for (size_t k = 0; k < m; k++) {
        a[k] = key[x[k]];
        b[k] = key[y[k]];
    }
    ddw_uf uf;
    ddw_uf_init(&uf, n);
    for (size_t k = 0; k < m; k++)
        ddw_uf_union(&uf, x[k], y[k]);
    for (size_t i = 0; i < n; i++)
        want[i] = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = ddw_uf_find(&uf, (uint32_t)i);
        if (key[i] < want[r])
            want[r] = key[i];
    }
    for (size_t i = 0; i < n; i++)
        want[i] = want[ddw_uf_find(&uf, (uint32_t)i)];
    ddw_uf_free(&uf);
    for (int threads = 1; threads <= 4; threads += 3) {
        set_threads(threads);
        ddw_cluster_stats st;
        memset(person, 0, n * sizeof *person);
        assert_int_equal(ddw_cluster_run(comm, a, b, m, key, n, person, &st), DDW_OK);
        for (size_t i = 0; i < n; i++)
            assert_true(person[i] == want[i]);
        assert_int_equal(st.rounds, 1);
        assert_int_equal(st.jump_rounds, 1);
    }
    set_threads(1);
    free(key);
    free(want);
    free(person);
    free(a);
    free(b);
    free(x);
    free(y);
    ddw_comm_finalize(&comm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uf_basic),
        cmocka_unit_test(test_uf_order_independent),
        cmocka_unit_test(test_chain_scrambled),
        cmocka_unit_test(test_two_components),
        cmocka_unit_test(test_isolated),
        cmocka_unit_test(test_random_graphs),
        cmocka_unit_test(test_radix_sort),
        cmocka_unit_test(test_large_threads),
    };
    return cmocka_run_group_tests_name("cluster", tests, NULL, NULL);
}
