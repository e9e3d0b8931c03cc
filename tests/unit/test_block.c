/*
 * test_block.c - unit tests for blocking (src/block.c): block keys,
 * ddw_block_nchunks, and the tiling of large blocks by ddw_block_run in the
 * serial (one-rank) build, including the hand-over to the score stage when
 * two passes overlap.
 *
 * Trade-off: key tests compare keys of hand-built records with each other
 * (equal when every key part agrees, different otherwise, 0 when a part is
 * missing) rather than against hash values written out, so they survive a
 * change of hash function but not a change of meaning.  Tiling tests do not
 * trust ddw_block_key for their expectation: every record carries a group
 * label set by construction, the expected pairs are all pairs of equal
 * labels, and the pairs enumerated from the returned units must equal that
 * set exactly, each pair once, for several tile sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ddw_block.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_norm.h"
#include "ddw_records.h"
#include "ddw_score.h"

#define ALL_FIELDS ((1u << DDW_NFIELDS) - 1)

/* ---- helpers -------------------------------------------------------------- */

static const char *const cfg_head =
    "[run]\nname = t\nseed = 1\n"
    "[match]\nthreshold = -200\nprior = 0.01\n"
    "[block]\nmax_block_size = 1000\n[train]\nenabled = no\n"
    "[source.a]\npath = a.csv\nid_column = id\nforename = fn\nsurname = sn\n"
    "forename_initial = fi\nsurname_initial = si\ndob = dob\n";

static const char *const cfg_compare =
    "[compare.surname]\nfield = surname\nmethod = exact\nlevels = exact, else\n"
    "m = 0.9, 0.1\nu = 0.1, 0.9\n";

/* Parses cfg_head + blocking + cfg_compare; fails the test on error. */
static ddw_config *make_cfg(const char *blocking)
{
    size_t n = strlen(cfg_head) + strlen(blocking) + strlen(cfg_compare) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%s%s%s", cfg_head, blocking, cfg_compare);
    ddw_config *cfg = NULL;
    assert_int_equal(ddw_config_parse("test_block.ini", text, 0, NULL, stderr, &cfg), DDW_OK);
    free(text);
    assert_non_null(cfg);
    return cfg;
}

static void set_str(ddw_recs *r, size_t i, ddw_field f, const char *s)
{
    if (s)
        ddw_recs_set_text(r, i, f, s, strlen(s));
}

/* Appends a record; NULL strings and DDW_DATE_MISSING leave fields missing. */
static size_t add(ddw_recs *r, uint64_t key, const char *fn, const char *sn, const char *fi,
                  const char *si, int32_t dob)
{
    size_t i = ddw_recs_push(r, key);
    set_str(r, i, DDW_F_FORENAME, fn);
    set_str(r, i, DDW_F_SURNAME, sn);
    set_str(r, i, DDW_F_FORENAME_INITIAL, fi);
    set_str(r, i, DDW_F_SURNAME_INITIAL, si);
    ddw_recs_set_date(r, i, DDW_F_DOB, dob);
    return i;
}

static int32_t day(int y, int m, int d) { return ddw_norm_days_from_civil(y, m, d); }

/* ---- block keys ------------------------------------------------------------ */

static void test_key_initials(void **state)
{
    (void)state;
    ddw_config *cfg = make_cfg("[blocking.p]\nkey = exact(dob), initials()\n");
    ddw_recs r;
    ddw_recs_init(&r, ALL_FIELDS);
    int32_t d0 = day(1980, 1, 1);
    size_t a = add(&r, 1, "JOHN", "SMITH", "J", "S", d0);
    size_t b = add(&r, 2, "JAMES", "SAUNDERS", "J", "S", d0);  /* same initials and dob */
    size_t c = add(&r, 3, "JOHN", "SMITH", "J", "T", d0);      /* surname initial differs */
    size_t d = add(&r, 4, "JOHN", "SMITH", "K", "S", d0);      /* forename initial differs */
    size_t e = add(&r, 5, "JOHN", "SMITH", "J", "S", d0 + 1);  /* dob differs */
    size_t f = add(&r, 6, "JOHN", "SMITH", NULL, "S", d0);     /* forename initial missing */
    size_t g = add(&r, 7, "JOHN", "SMITH", "J", NULL, d0);     /* surname initial missing */
    size_t h = add(&r, 8, "JOHN", "SMITH", "J", "S", DDW_DATE_MISSING);
    /* initials() reads the initial fields, never the full names */
    size_t k = add(&r, 9, "JOHN", "SMITH", NULL, NULL, d0);
    size_t l = add(&r, 10, NULL, NULL, "J", "S", d0);

    uint64_t ka = ddw_block_key(cfg, 0, &r, a);
    assert_true(ka != 0);
    assert_true(ka == ddw_block_key(cfg, 0, &r, b));
    assert_true(ka == ddw_block_key(cfg, 0, &r, l));
    assert_true(ka != ddw_block_key(cfg, 0, &r, c));
    assert_true(ka != ddw_block_key(cfg, 0, &r, d));
    assert_true(ka != ddw_block_key(cfg, 0, &r, e));
    assert_true(ddw_block_key(cfg, 0, &r, c) != ddw_block_key(cfg, 0, &r, d));
    assert_true(ddw_block_key(cfg, 0, &r, c) != 0);
    assert_true(ddw_block_key(cfg, 0, &r, e) != 0);
    assert_true(ddw_block_key(cfg, 0, &r, f) == 0);
    assert_true(ddw_block_key(cfg, 0, &r, g) == 0);
    assert_true(ddw_block_key(cfg, 0, &r, h) == 0);
    assert_true(ddw_block_key(cfg, 0, &r, k) == 0);
    /* pure: same answer twice */
    assert_true(ka == ddw_block_key(cfg, 0, &r, a));
    ddw_recs_free(&r);
    ddw_config_destroy(&cfg);
    assert_null(cfg);
}

static void test_key_soundex_first_year(void **state)
{
    (void)state;
    ddw_config *cfg =
        make_cfg("[blocking.p]\nkey = soundex(surname), first(forename), year(dob)\n");
    ddw_recs r;
    ddw_recs_init(&r, ALL_FIELDS);
    size_t a = add(&r, 1, "JOHN", "SMITH", NULL, NULL, day(1980, 1, 1));
    size_t b = add(&r, 2, "JANE", "SMYTH", NULL, NULL, day(1980, 12, 31)); /* S530 J 1980 */
    size_t c = add(&r, 3, "JOHN", "SMITH", NULL, NULL, day(1981, 1, 1));   /* year */
    size_t d = add(&r, 4, "PETER", "SMITH", NULL, NULL, day(1980, 6, 1));  /* first */
    size_t e = add(&r, 5, "JOHN", "JONES", NULL, NULL, day(1980, 6, 1));   /* soundex */
    size_t f = add(&r, 6, "JOHN", "123", NULL, NULL, day(1980, 6, 1));     /* no Soundex code */
    size_t g = add(&r, 7, NULL, "SMITH", NULL, NULL, day(1980, 6, 1));     /* forename missing */
    size_t h = add(&r, 8, "JOHN", "SMITH", NULL, NULL, DDW_DATE_MISSING);  /* dob missing */
    size_t k = add(&r, 9, "J", "SCHMIDT", NULL, NULL, day(1980, 3, 3));    /* S530 J 1980 */
    size_t l = add(&r, 10, "JOHN", "SMITH", NULL, NULL, day(1979, 12, 31)); /* day before */

    uint64_t ka = ddw_block_key(cfg, 0, &r, a);
    assert_true(ka != 0);
    assert_true(ka == ddw_block_key(cfg, 0, &r, b));
    assert_true(ka == ddw_block_key(cfg, 0, &r, k));
    assert_true(ka != ddw_block_key(cfg, 0, &r, c));
    assert_true(ka != ddw_block_key(cfg, 0, &r, d));
    assert_true(ka != ddw_block_key(cfg, 0, &r, e));
    assert_true(ka != ddw_block_key(cfg, 0, &r, l));
    assert_true(ddw_block_key(cfg, 0, &r, c) != 0);
    assert_true(ddw_block_key(cfg, 0, &r, d) != 0);
    assert_true(ddw_block_key(cfg, 0, &r, e) != 0);
    assert_true(ddw_block_key(cfg, 0, &r, f) == 0);
    assert_true(ddw_block_key(cfg, 0, &r, g) == 0);
    assert_true(ddw_block_key(cfg, 0, &r, h) == 0);
    ddw_recs_free(&r);
    ddw_config_destroy(&cfg);
}

static void test_key_year_and_exact(void **state)
{
    (void)state;
    ddw_config *cfg = make_cfg("[blocking.y]\nkey = year(dob)\n"
                               "[blocking.x]\nkey = exact(surname)\n"
                               "[blocking.s]\nkey = soundex(surname)\n");
    assert_int_equal(cfg->npasses, 3);
    ddw_recs r;
    ddw_recs_init(&r, ALL_FIELDS);
    /* year() across the whole year, and before 1970 (negative day numbers) */
    size_t y0 = add(&r, 1, NULL, "SMITH", NULL, NULL, day(1969, 1, 1));
    size_t y1 = add(&r, 2, NULL, "SMITH", NULL, NULL, day(1969, 12, 31));
    size_t y2 = add(&r, 3, NULL, "SMITHS", NULL, NULL, day(1970, 1, 1));
    size_t y3 = add(&r, 4, NULL, "SMYTH", NULL, NULL, day(1970, 12, 31));
    size_t y4 = add(&r, 5, NULL, "ROBERT", NULL, NULL, day(1900, 2, 28));
    size_t y5 = add(&r, 6, NULL, "RUPERT", NULL, NULL, day(1900, 3, 1));
    size_t y6 = add(&r, 7, NULL, "RUBIN", NULL, NULL, day(1901, 1, 1));
    size_t y7 = add(&r, 8, NULL, NULL, NULL, NULL, DDW_DATE_MISSING);

    assert_true(ddw_block_key(cfg, 0, &r, y0) != 0);
    assert_true(ddw_block_key(cfg, 0, &r, y0) == ddw_block_key(cfg, 0, &r, y1));
    assert_true(ddw_block_key(cfg, 0, &r, y1) != ddw_block_key(cfg, 0, &r, y2));
    assert_true(ddw_block_key(cfg, 0, &r, y2) == ddw_block_key(cfg, 0, &r, y3));
    assert_true(ddw_block_key(cfg, 0, &r, y4) == ddw_block_key(cfg, 0, &r, y5));
    assert_true(ddw_block_key(cfg, 0, &r, y5) != ddw_block_key(cfg, 0, &r, y6));
    assert_true(ddw_block_key(cfg, 0, &r, y7) == 0);

    /* exact(surname): whole value */
    assert_true(ddw_block_key(cfg, 1, &r, y0) != 0);
    assert_true(ddw_block_key(cfg, 1, &r, y0) == ddw_block_key(cfg, 1, &r, y1));
    assert_true(ddw_block_key(cfg, 1, &r, y0) != ddw_block_key(cfg, 1, &r, y2));
    assert_true(ddw_block_key(cfg, 1, &r, y0) != ddw_block_key(cfg, 1, &r, y3));
    assert_true(ddw_block_key(cfg, 1, &r, y4) != ddw_block_key(cfg, 1, &r, y5));
    assert_true(ddw_block_key(cfg, 1, &r, y7) == 0);

    /* soundex(surname): SMITH = SMITHS? no (S530 vs S532); SMITH = SMYTH (S530);
     * ROBERT = RUPERT (R163); RUBIN is R150 */
    assert_true(ddw_block_key(cfg, 2, &r, y0) == ddw_block_key(cfg, 2, &r, y3));
    assert_true(ddw_block_key(cfg, 2, &r, y0) != ddw_block_key(cfg, 2, &r, y2));
    assert_true(ddw_block_key(cfg, 2, &r, y4) == ddw_block_key(cfg, 2, &r, y5));
    assert_true(ddw_block_key(cfg, 2, &r, y4) != ddw_block_key(cfg, 2, &r, y6));
    assert_true(ddw_block_key(cfg, 2, &r, y4) != 0);
    assert_true(ddw_block_key(cfg, 2, &r, y7) == 0);

    /* a key depends on the values only, not on the record's index or set */
    ddw_recs r2;
    ddw_recs_init(&r2, ALL_FIELDS);
    add(&r2, 99, "X", "Y", "X", "Y", day(2000, 1, 1));
    size_t z = add(&r2, 100, NULL, "SMYTH", NULL, NULL, day(1970, 6, 6));
    for (int p = 0; p < 3; p++)
        assert_true(ddw_block_key(cfg, p, &r2, z) == ddw_block_key(cfg, p, &r, y3));
    ddw_recs_free(&r2);
    ddw_recs_free(&r);
    ddw_config_destroy(&cfg);
}

static void test_nchunks(void **state)
{
    (void)state;
    assert_int_equal(ddw_block_nchunks(0, 5), 0);
    assert_int_equal(ddw_block_nchunks(1, 5), 1);
    assert_int_equal(ddw_block_nchunks(4, 5), 1);
    assert_int_equal(ddw_block_nchunks(5, 5), 1);
    assert_int_equal(ddw_block_nchunks(6, 5), 2);
    assert_int_equal(ddw_block_nchunks(10, 5), 2);
    assert_int_equal(ddw_block_nchunks(11, 5), 3);
    assert_int_equal(ddw_block_nchunks(57, 5), 12);
    assert_int_equal(ddw_block_nchunks(57, 7), 9);
    assert_int_equal(ddw_block_nchunks(56, 7), 8);
    assert_int_equal(ddw_block_nchunks(57, 57), 1);
    assert_int_equal(ddw_block_nchunks(58, 57), 2);
    assert_int_equal(ddw_block_nchunks(57, 1000), 1);
    assert_int_equal(ddw_block_nchunks(10, 1), 10);
    assert_int_equal(ddw_block_nchunks(UINT64_C(1) << 40, 2000), UINT64_C(549755814));
}

/*
 * The contract is ceil(n/t) for every uint64_t n and t > 0; (n + t - 1) / t
 * wraps when n + t - 1 overflows.  Unreachable with real block sizes.
 */
static void test_nchunks_no_overflow(void **state)
{
    (void)state;
    assert_true(ddw_block_nchunks(UINT64_MAX, 1) == UINT64_MAX);
    assert_true(ddw_block_nchunks(UINT64_MAX, 2) == (UINT64_C(1) << 63));
    assert_true(ddw_block_nchunks(UINT64_MAX, UINT64_MAX) == 1);
}

/* ---- tiling ------------------------------------------------------------------ */

typedef struct {
    uint64_t pass, a, b; /* a < b: record keys */
} triple;

static int cmp_triple(const void *x, const void *y)
{
    const triple *p = x, *q = y;
    if (p->pass != q->pass) return p->pass < q->pass ? -1 : 1;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static void push_triple(triple **v, size_t *n, size_t *cap, uint64_t pass, uint64_t ka,
                        uint64_t kb)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *v = realloc(*v, *cap * sizeof **v);
        assert_non_null(*v);
    }
    triple *t = &(*v)[(*n)++];
    t->pass = pass;
    t->a = ka < kb ? ka : kb;
    t->b = ka < kb ? kb : ka;
}

static uint64_t unit_pairs(const ddw_unit *u)
{
    uint64_t na = u->a1 - u->a0;
    return u->diag ? na * (na - 1) / 2 : na * (u->b1 - u->b0);
}

/*
 * Enumerates the pairs of every unit of blk as (pass, key, key) and checks
 * the unit invariants on the way: ranges inside recs, one block key per
 * unit, largest unit first, candidate_pairs consistent.
 */
static triple *enumerate(const ddw_blocks *blk, size_t *n)
{
    triple *v = NULL;
    size_t cap = 0;
    uint64_t total = 0;
    int np = blk->npasses;
    *n = 0;
    for (size_t k = 0; k < blk->nunits; k++) {
        const ddw_unit *u = &blk->units[k];
        assert_true(u->pass < (uint32_t)np);
        assert_true(u->a0 < u->a1);
        assert_true(u->a1 <= blk->nslots);
        if (u->diag) {
            assert_true(u->b0 == u->a0 && u->b1 == u->a1);
        } else {
            assert_true(u->b0 < u->b1);
            assert_true(u->b1 <= blk->nslots);
            assert_true(u->a1 <= u->b0 || u->b1 <= u->a0); /* disjoint chunks */
        }
        if (k > 0)
            assert_true(unit_pairs(&blk->units[k - 1]) >= unit_pairs(u));
        size_t r0 = ddw_block_rec(blk, u->a0);
        assert_true(r0 < blk->recs.n);
        uint64_t bkey = blk->passkey[r0 * (size_t)np + u->pass];
        assert_true(bkey != 0);
        for (uint64_t si = u->a0; si < u->a1; si++) {
            size_t i = ddw_block_rec(blk, si);
            assert_true(i < blk->recs.n);
            assert_true(blk->passkey[i * (size_t)np + u->pass] == bkey);
            if (u->diag) {
                for (uint64_t sj = si + 1; sj < u->a1; sj++)
                    push_triple(&v, n, &cap, u->pass, blk->recs.key[i],
                                blk->recs.key[ddw_block_rec(blk, sj)]);
            } else {
                for (uint64_t sj = u->b0; sj < u->b1; sj++) {
                    size_t j = ddw_block_rec(blk, sj);
                    assert_true(j < blk->recs.n);
                    assert_true(blk->passkey[j * (size_t)np + u->pass] == bkey);
                    push_triple(&v, n, &cap, u->pass, blk->recs.key[i], blk->recs.key[j]);
                }
            }
        }
        total += unit_pairs(u);
    }
    assert_true(total == *n);
    assert_true(blk->candidate_pairs == total);
    qsort(v, *n, sizeof *v, cmp_triple);
    return v;
}

/* label[p][i]: group of home record i in pass p (0 = no key). */
typedef struct {
    ddw_recs home;
    int *label[2];
} tiling_input;

/*
 * 57 records in one big block ("BIG") and small blocks of 3, 2 and 1
 * records, plus two records with no surname, interleaved and with keys in
 * no particular order.  Pass 1 (when asked) is year(dob): 40 of the BIG
 * records and the 3 AAA records are born in 1980, the 17 other BIG records
 * in 1981, the rest have no dob.
 */
static void make_tiling_input(tiling_input *t)
{
    static const struct {
        const char *sn;
        int n, label;
    } groups[] = {{"BIG", 57, 1}, {"AAA", 3, 2}, {"BBB", 2, 3}, {"CCC", 1, 4}, {NULL, 2, 0}};
    int total = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        total += groups[g].n;
    ddw_recs_init(&t->home, ALL_FIELDS);
    t->label[0] = calloc((size_t)total, sizeof(int));
    t->label[1] = calloc((size_t)total, sizeof(int));
    assert_non_null(t->label[0]);
    assert_non_null(t->label[1]);
    int used[5] = {0};
    for (int i = 0; i < total; i++) {
        /* round-robin over the groups that still have members: interleaved */
        size_t g = (size_t)i % 5;
        while (used[g] == groups[g].n)
            g = (g + 1) % 5;
        int m = used[g]++;
        /* keys from three sources, rows descending: no relation to input order */
        uint64_t key = DDW_KEY((unsigned)(i % 3), 1000 - i);
        int32_t dob = DDW_DATE_MISSING;
        int yl = 0;
        if (groups[g].label == 1) {
            dob = m < 40 ? day(1980, 1 + m % 12, 1 + m % 28) : day(1981, 1 + m % 12, 1);
            yl = m < 40 ? 1 : 2;
        } else if (groups[g].label == 2) {
            dob = day(1980, 7, 1 + m);
            yl = 1;
        }
        add(&t->home, key, "X", groups[g].sn, NULL, NULL, dob);
        t->label[0][i] = groups[g].label;
        t->label[1][i] = yl;
    }
}

static void free_tiling_input(tiling_input *t)
{
    ddw_recs_free(&t->home);
    free(t->label[0]);
    free(t->label[1]);
}

/* Every pair of home records with equal nonzero labels, per pass. */
static triple *expected_pairs(const tiling_input *t, int npasses, size_t *n)
{
    triple *v = NULL;
    size_t cap = 0;
    *n = 0;
    for (int p = 0; p < npasses; p++)
        for (size_t i = 0; i < t->home.n; i++)
            for (size_t j = i + 1; j < t->home.n; j++)
                if (t->label[p][i] != 0 && t->label[p][i] == t->label[p][j])
                    push_triple(&v, n, &cap, (uint64_t)p, t->home.key[i], t->home.key[j]);
    qsort(v, *n, sizeof *v, cmp_triple);
    return v;
}

static int cmp_u64_asc(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Number of tiles ddw_block_run must make for a block of n at tile size T. */
static uint64_t tiles_for(uint64_t n, uint64_t T)
{
    if (n <= T)
        return 0;
    uint64_t c = (n + T - 1) / T;
    return c * (c + 1) / 2;
}

static void check_tiling(const char *blocking, int npasses)
{
    static const long long sizes[] = {2, 3, 5, 7, 20, 56, 57, 58, 1000};
    ddw_config *cfg = make_cfg(blocking);
    assert_int_equal(cfg->npasses, npasses);
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    assert_int_equal(ddw_comm_size(comm), 1);
    tiling_input t;
    make_tiling_input(&t);
    size_t nwant;
    triple *want = expected_pairs(&t, npasses, &nwant);
    /* block sizes per pass: {57, 3, 2, 1} and {43, 17} */
    const uint64_t bs[2][4] = {{57, 3, 2, 1}, {43, 17, 0, 0}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        cfg->max_block = sizes[s];
        ddw_blocks blk;
        assert_int_equal(ddw_block_run(cfg, comm, &t.home, &blk), DDW_OK);
        size_t ngot;
        triple *got = enumerate(&blk, &ngot);
        for (size_t k = 1; k < ngot; k++)
            assert_true(cmp_triple(&got[k - 1], &got[k]) != 0); /* each pair once */
        assert_int_equal(ngot, nwant);
        for (size_t k = 0; k < ngot; k++) {
            assert_true(got[k].pass == want[k].pass);
            assert_true(got[k].a == want[k].a);
            assert_true(got[k].b == want[k].b);
        }
        uint64_t ntiles = 0, nblocks = 0, emitted = 0;
        for (int p = 0; p < npasses; p++)
            for (int g = 0; g < 4; g++) {
                ntiles += tiles_for(bs[p][g], (uint64_t)sizes[s]);
                nblocks += bs[p][g] != 0;
                emitted += bs[p][g];
            }
        assert_int_equal(blk.ntiles, ntiles);
        assert_int_equal(blk.nblocks, nblocks);
        assert_int_equal(blk.max_block, 57);
        assert_int_equal(blk.keys_emitted, emitted);
        assert_int_equal(blk.nslots, emitted); /* one slot per (record, pass) */
        /* one rank: each record with a key stored once, and every stored record used */
        size_t keyed = 0;
        for (size_t i = 0; i < t.home.n; i++) {
            int any = 0;
            for (int p = 0; p < npasses; p++)
                any |= t.label[p][i] != 0;
            keyed += (size_t)any;
        }
        assert_int_equal(blk.recs.n, keyed);
        uint64_t *keys = malloc((blk.recs.n ? blk.recs.n : 1) * sizeof *keys);
        memcpy(keys, blk.recs.key, blk.recs.n * sizeof *keys);
        qsort(keys, blk.recs.n, sizeof *keys, cmp_u64_asc);
        for (size_t r = 1; r < blk.recs.n; r++)
            assert_true(keys[r] != keys[r - 1]);
        free(keys);
        uint8_t *used = calloc(blk.recs.n ? blk.recs.n : 1, 1);
        for (size_t e = 0; e < blk.nslots; e++)
            used[ddw_block_rec(&blk, e)] = 1;
        for (size_t r = 0; r < blk.recs.n; r++)
            assert_true(used[r]);
        free(used);
        assert_int_equal(blk.npasses, npasses);
        free(got);
        ddw_block_free(&blk);
        assert_null(blk.units);
    }
    free(want);
    free_tiling_input(&t);
    ddw_comm_finalize(&comm);
    assert_null(comm);
    ddw_config_destroy(&cfg);
}

static void test_tiling_one_pass(void **state)
{
    (void)state;
    check_tiling("[blocking.surname]\nkey = exact(surname)\n", 1);
}

static void test_tiling_two_passes(void **state)
{
    (void)state;
    check_tiling("[blocking.surname]\nkey = exact(surname)\n"
                 "[blocking.year]\nkey = year(dob)\n",
                 2);
}

/*
 * Two overlapping passes, tiled: the score stage must score every pair that
 * shares a key in any pass exactly once (in the first pass they share) and
 * count the later occurrences as duplicates.  The threshold is the lowest
 * allowed, so every scored pair is an edge.
 */
static void test_overlap_scored_once(void **state)
{
    (void)state;
    static const long long sizes[] = {2, 5, 7, 1000};
    ddw_config *cfg = make_cfg("[blocking.surname]\nkey = exact(surname)\n"
                               "[blocking.year]\nkey = year(dob)\n");
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    tiling_input t;
    make_tiling_input(&t);
    size_t nwant;
    triple *want = expected_pairs(&t, 2, &nwant);
    /* union of the passes, each pair with the first pass it appears in */
    triple *uni = malloc(nwant * sizeof *uni);
    assert_non_null(uni);
    size_t nuni = 0, nboth = 0;
    for (size_t k = 0; k < nwant; k++) {
        int dup = 0;
        for (size_t q = 0; q < nuni; q++)
            if (uni[q].a == want[k].a && uni[q].b == want[k].b)
                dup = 1;
        if (dup)
            nboth++;
        else
            uni[nuni++] = want[k];
    }
    /* BIG: C(57,2) + C(3,2) + C(2,2) in pass 0; C(43,2) + C(17,2) in pass 1;
     * the pairs of the 40 BIG-1980 records and of the 17 BIG-1981 records,
     * plus the 3 AAA pairs, are in both */
    assert_int_equal(nwant, 1596 + 3 + 1 + 903 + 136);
    assert_int_equal(nboth, 780 + 136 + 3);
    assert_int_equal(nuni, nwant - nboth);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        cfg->max_block = sizes[s];
        ddw_blocks blk;
        assert_int_equal(ddw_block_run(cfg, comm, &t.home, &blk), DDW_OK);
        ddw_edges e;
        ddw_score_stats st;
        assert_int_equal(ddw_score_run(cfg, &blk, &e, &st), DDW_OK);
        assert_int_equal(st.pairs_scored, nuni);
        assert_int_equal(st.pairs_duplicate, nboth);
        assert_int_equal(e.n, nuni);
        triple *got = malloc(e.n * sizeof *got);
        assert_non_null(got);
        for (size_t k = 0; k < e.n; k++) {
            assert_true(e.a[k] < e.b[k]);
            got[k].pass = 0;
            got[k].a = e.a[k];
            got[k].b = e.b[k];
        }
        qsort(got, e.n, sizeof *got, cmp_triple);
        for (size_t k = 1; k < e.n; k++)
            assert_true(cmp_triple(&got[k - 1], &got[k]) != 0);
        /* every union pair is an edge, scored in its first pass */
        for (size_t q = 0; q < nuni; q++) {
            triple key = {0, uni[q].a, uni[q].b};
            triple *hit = bsearch(&key, got, e.n, sizeof *got, cmp_triple);
            assert_non_null(hit);
            size_t k = 0;
            while (!(e.a[k] == uni[q].a && e.b[k] == uni[q].b))
                k++;
            assert_int_equal(e.pass[k], uni[q].pass);
        }
        free(got);
        ddw_edges_free(&e);
        ddw_score_stats_free(&st);
        ddw_block_free(&blk);
    }
    free(uni);
    free(want);
    free_tiling_input(&t);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
}

/* A home set with no records, or none with a key, gives no units. */
static void test_empty(void **state)
{
    (void)state;
    ddw_config *cfg = make_cfg("[blocking.surname]\nkey = exact(surname)\n");
    ddw_comm *comm = NULL;
    assert_int_equal(ddw_comm_init(NULL, NULL, &comm), DDW_OK);
    ddw_recs home;
    ddw_recs_init(&home, ALL_FIELDS);
    ddw_blocks blk;
    assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
    assert_int_equal(blk.nunits, 0);
    assert_int_equal(blk.recs.n, 0);
    assert_int_equal(blk.candidate_pairs, 0);
    ddw_block_free(&blk);
    add(&home, 1, "A", NULL, NULL, NULL, DDW_DATE_MISSING);
    add(&home, 2, "B", NULL, NULL, NULL, DDW_DATE_MISSING);
    add(&home, 3, "C", "SOLO", NULL, NULL, DDW_DATE_MISSING);
    assert_int_equal(ddw_block_run(cfg, comm, &home, &blk), DDW_OK);
    assert_int_equal(blk.nunits, 0);
    assert_int_equal(blk.recs.n, 1);
    assert_int_equal(blk.nblocks, 1);
    assert_int_equal(blk.keys_emitted, 1);
    assert_int_equal(blk.recs.key[0], 3);
    ddw_block_free(&blk);
    ddw_recs_free(&home);
    ddw_comm_finalize(&comm);
    ddw_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_initials),
        cmocka_unit_test(test_key_soundex_first_year),
        cmocka_unit_test(test_key_year_and_exact),
        cmocka_unit_test(test_nchunks),
        cmocka_unit_test(test_nchunks_no_overflow),
        cmocka_unit_test(test_tiling_one_pass),
        cmocka_unit_test(test_tiling_two_passes),
        cmocka_unit_test(test_overlap_scored_once),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
