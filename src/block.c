/*
 * block.c - stage 2: blocking keys, partitioning and tiling.
 *
 * Every home record emits one 64-bit key per blocking pass; the record is
 * sent to the rank that owns hash(key) (one MPI_Alltoallv).  The owner
 * sorts what it receives by (pass, key, record key), so a block is a run of
 * equal keys, in an order independent of rank count.  A block of more than
 * max_block records is cut into chunks; each pair of chunks (a tile) goes
 * to a rank chosen by hashing the tile (a second exchange, in which a
 * chunk travels once to each rank that has tiles needing it), so no rank
 * is stuck with a giant block and each pair within the block is still in
 * exactly one tile.
 *
 * A record travels once to each rank that owns one or more of its blocks,
 * with the list of its (pass, block key) entries, and is stored there once:
 * blocks are runs of "slots" (record indexes) sorted by (pass, block key,
 * record key).  Tiles bring a record to a rank at most once more.
 *
 * Trade-off: the record itself travels, rather than only keys with records
 * fetched later; that keeps the exchange to one round and the scoring stage
 * to local memory, at the price of up to min(passes, ranks) copies of each
 * record (one on a single rank).
 */
#include "ddw_block.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_compare.h"
#include "ddw_ingest.h"
#include "ddw_norm.h"
#include "ddw_strsim.h"

uint64_t ddw_block_nchunks(uint64_t n, uint64_t t) { return n / t + (n % t != 0); }

uint64_t ddw_block_key(const ddw_config *cfg, int p, const ddw_recs *r, size_t i)
{
    const ddw_pass_cfg *ps = &cfg->passes[p];
    char buf[512];
    size_t len = 0;
    for (int k = 0; k < ps->nparts; k++) {
        const ddw_keypart *kp = &ps->parts[k];
        char part[80];
        size_t pl = 0;
        if (kp->func == DDW_BK_INITIALS) {
            const ddw_fval *a = &r->f[DDW_F_FORENAME_INITIAL][i];
            const ddw_fval *b = &r->f[DDW_F_SURNAME_INITIAL][i];
            if (a->h == 0 || b->h == 0)
                return 0;
            part[0] = ddw_recs_text(r, a)[0];
            part[1] = ddw_recs_text(r, b)[0];
            pl = 2;
        } else {
            const ddw_fval *v = &r->f[kp->field][i];
            if (v->h == 0)
                return 0;
            switch (kp->func) {
            case DDW_BK_EXACT:
                /* the value's hash stands in for its bytes (dates hash the day) */
                memcpy(part, &v->h, sizeof v->h);
                pl = sizeof v->h;
                break;
            case DDW_BK_FIRST:
                part[0] = ddw_recs_text(r, v)[0];
                pl = 1;
                break;
            case DDW_BK_SOUNDEX:
                if (v->code[0] == '\0')
                    return 0;
                pl = strlen(v->code);
                memcpy(part, v->code, pl);
                break;
            case DDW_BK_NYSIIS:
                pl = ddw_strsim_nysiis(ddw_recs_text(r, v), v->len, part, sizeof part);
                if (pl == 0)
                    return 0;
                break;
            case DDW_BK_YEAR: {
                int y, m, d;
                ddw_norm_civil_from_days(v->date, &y, &m, &d);
                pl = (size_t)snprintf(part, sizeof part, "%d", y);
                break;
            }
            default:
                return 0;
            }
        }
        memcpy(buf + len, part, pl);
        len += pl;
        buf[len++] = '\x1f';
    }
    return ddw_hash64(buf, len, UINT64_C(0xb10c) + (uint64_t)p) | 1;
}

/* ---- serialisation ------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *v, size_t n)
{
    ddw_xgrow((void **)&b->p, &b->cap, b->len + n, 1);
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

static unsigned compare_mask(const ddw_config *cfg)
{
    unsigned m = 0;
    for (int c = 0; c < cfg->ncompare; c++) {
        m |= 1u << cfg->compare[c].field;
        if (cfg->compare[c].unless > 0)
            m |= 1u << (cfg->compare[c].unless - 1);
    }
    return m;
}

static unsigned tf_mask(const ddw_config *cfg)
{
    unsigned m = 0;
    for (int c = 0; c < cfg->ncompare; c++)
        if (cfg->compare[c].tf)
            m |= 1u << cfg->compare[c].field;
    return m;
}

/* key, pass keys, then each compared field (text: u16 length + bytes; date:
 * i32), each followed by its f32 -log2 frequency when it is a tf field. */
static void put_record(bytes *b, const ddw_recs *r, size_t i, const uint64_t *pk, int npasses,
                       unsigned mask, unsigned tfm)
{
    put(b, &r->key[i], 8);
    put(b, pk, (size_t)npasses * 8);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (!(mask & (1u << f)))
            continue;
        const ddw_fval *v = &r->f[f][i];
        if (ddw_field_type_of((ddw_field)f) == DDW_FT_DATE) {
            put(b, &v->date, 4);
        } else {
            uint16_t len = v->h ? v->len : 0;
            put(b, &len, 2);
            put(b, ddw_recs_text(r, v), len);
        }
        if (tfm & (1u << f)) {
            float t = r->tfw[f] ? r->tfw[f][i] : 0.0f;
            put(b, &t, 4);
        }
    }
}

/* Appends the record serialised at p to r, its pass keys to pk[0..npasses);
 * returns the end of the record. */
static const char *get_record(const char *p, ddw_recs *r, uint64_t *pk, int npasses,
                              unsigned mask, unsigned tfm)
{
    uint64_t key;
    memcpy(&key, p, 8);
    p += 8;
    size_t i = ddw_recs_push(r, key);
    memcpy(pk, p, (size_t)npasses * 8);
    p += (size_t)npasses * 8;
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (!(mask & (1u << f)))
            continue;
        if (ddw_field_type_of((ddw_field)f) == DDW_FT_DATE) {
            int32_t d;
            memcpy(&d, p, 4);
            p += 4;
            ddw_recs_set_date(r, i, (ddw_field)f, d);
        } else {
            uint16_t len;
            memcpy(&len, p, 2);
            p += 2;
            ddw_recs_set_text(r, i, (ddw_field)f, p, len);
            p += len;
        }
        if (tfm & (1u << f)) {
            memcpy(&r->tfw[f][i], p, 4);
            p += 4;
        }
    }
    return p;
}

/* Byte length of a serialised record starting at p. */
static size_t record_size(const char *p, int npasses, unsigned mask, unsigned tfm)
{
    const char *q = p + 8 + (size_t)npasses * 8;
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (!(mask & (1u << f)))
            continue;
        if (ddw_field_type_of((ddw_field)f) == DDW_FT_DATE) {
            q += 4;
        } else {
            uint16_t len;
            memcpy(&len, q, 2);
            q += 2 + len;
        }
        if (tfm & (1u << f))
            q += 4;
    }
    return (size_t)(q - p);
}

/* Concatenates per-rank buffers into one send buffer with counts. */
static char *pack(bytes *per, int P, uint64_t *counts)
{
    size_t total = 0;
    for (int r = 0; r < P; r++)
        total += per[r].len;
    char *buf = ddw_xmalloc(total ? total : 1);
    size_t at = 0;
    for (int r = 0; r < P; r++) {
        counts[r] = per[r].len;
        if (per[r].len)
            memcpy(buf + at, per[r].p, per[r].len);
        at += per[r].len;
        free(per[r].p);
        per[r].p = NULL;
        per[r].len = per[r].cap = 0;
    }
    return buf;
}

/* Serialised size of home record i (the layout of put_record). */
static size_t home_record_size(const ddw_recs *r, size_t i, int npasses, unsigned mask,
                               unsigned tfm)
{
    size_t n = 8 + (size_t)npasses * 8;
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (!(mask & (1u << f)))
            continue;
        if (ddw_field_type_of((ddw_field)f) == DDW_FT_DATE)
            n += 4;
        else
            n += 2 + (r->f[f][i].h ? r->f[f][i].len : 0);
        if (tfm & (1u << f))
            n += 4;
    }
    return n;
}

/* ---- record key -> local record index (records that arrive twice) ------- */

typedef struct {
    uint64_t *key;
    uint32_t *idx; /* UINT32_MAX = empty slot */
    size_t cap, n;
} keymap;

static void keymap_put(keymap *m, uint64_t key, uint32_t idx);

static void keymap_grow(keymap *m)
{
    keymap old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->key = ddw_xmalloc(m->cap * sizeof *m->key);
    m->idx = ddw_xmalloc(m->cap * sizeof *m->idx);
    memset(m->idx, 0xff, m->cap * sizeof *m->idx);
    m->n = 0;
    for (size_t k = 0; k < old.cap; k++)
        if (old.idx[k] != UINT32_MAX)
            keymap_put(m, old.key[k], old.idx[k]);
    free(old.key);
    free(old.idx);
}

static void keymap_put(keymap *m, uint64_t key, uint32_t idx)
{
    if (2 * (m->n + 1) > m->cap)
        keymap_grow(m);
    size_t k = (size_t)(ddw_mix64(key) & (m->cap - 1));
    while (m->idx[k] != UINT32_MAX && m->key[k] != key)
        k = (k + 1) & (m->cap - 1);
    if (m->idx[k] == UINT32_MAX)
        m->n++;
    m->key[k] = key;
    m->idx[k] = idx;
}

/* The index stored for key, or UINT32_MAX. */
static uint32_t keymap_get(const keymap *m, uint64_t key)
{
    if (!m->cap)
        return UINT32_MAX;
    size_t k = (size_t)(ddw_mix64(key) & (m->cap - 1));
    while (m->idx[k] != UINT32_MAX) {
        if (m->key[k] == key)
            return m->idx[k];
        k = (k + 1) & (m->cap - 1);
    }
    return UINT32_MAX;
}

/* Moves the records into the order of their first slot, so that the blocks
 * of the first pass (and each record's first block) read memory in order. */
static void order_by_first_slot(ddw_blocks *out)
{
    size_t n = out->recs.n;
    if (n < 2)
        return;
    uint32_t *newidx = ddw_xmalloc(n * sizeof *newidx), *old = ddw_xmalloc(n * sizeof *old);
    memset(newidx, 0xff, n * sizeof *newidx);
    uint32_t next = 0;
    for (size_t e = 0; e < out->nslots; e++) {
        uint32_t r = out->slot[e];
        if (newidx[r] == UINT32_MAX) {
            newidx[r] = next;
            old[next++] = r;
        }
        out->slot[e] = newidx[r];
    }
    /* every record arrived with at least one (pass, key) entry: next == n */
    int np = out->npasses;
    ddw_recs *R = &out->recs;
    uint64_t *key = ddw_xmalloc(n * sizeof *key);
    uint64_t *pk = ddw_xmalloc(n * (size_t)np * sizeof *pk);
    long nl = (long)n;
    int nt = ddw_par_threads(n); /* the gathers, on threads */
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long i = 0; i < nl; i++) {
        key[i] = R->key[old[i]];
        memcpy(pk + (size_t)i * (size_t)np, out->passkey + (size_t)old[i] * np,
               (size_t)np * sizeof *pk);
    }
    memcpy(R->key, key, n * sizeof *key);
    free(key);
    memcpy(out->passkey, pk, n * (size_t)np * sizeof *pk); /* in place: its capacity stays */
    free(pk);
    ddw_fval *fv = ddw_xmalloc(n * sizeof *fv);
    float *tf = ddw_xmalloc(n * sizeof *tf);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (R->f[f]) {
            const ddw_fval *src = R->f[f];
#pragma omp parallel for schedule(static) num_threads(nt)
            for (long i = 0; i < nl; i++)
                fv[i] = src[old[i]];
            memcpy(R->f[f], fv, n * sizeof *fv);
        }
        if (R->tfw[f]) {
            const float *src = R->tfw[f];
#pragma omp parallel for schedule(static) num_threads(nt)
            for (long i = 0; i < nl; i++)
                tf[i] = src[old[i]];
            memcpy(R->tfw[f], tf, n * sizeof *tf);
        }
    }
    free(fv);
    free(tf);
    free(newidx);
    free(old);
}

/* Appends slot entry -> record idx. */
static void push_slot(ddw_blocks *out, size_t *cap, uint32_t idx)
{
    ddw_xgrow((void **)&out->slot, cap, out->nslots + 1, sizeof *out->slot);
    out->slot[out->nslots++] = idx;
}

/* The rank that owns the block whose (non-zero) key is bkey. */
static int block_rank(uint64_t bkey, int P) { return (int)(ddw_mix64(bkey) % (uint64_t)P); }

static uint64_t unit_cost(const ddw_unit *u)
{
    uint64_t n = u->a1 - u->a0;
    return u->diag ? n * (n - 1) / 2 : n * (u->b1 - u->b0);
}

/* Units largest first (pairs), ties by (pass, a0, b0): three stable radix
 * passes from the last key to the first, so the order is deterministic. */
static void sort_units(ddw_blocks *out)
{
    size_t n = out->nunits;
    if (n < 2)
        return;
    if (n >= UINT32_MAX || out->nslots >= UINT32_MAX)
        DDW_DIE("more than 2^32 - 1 scoring units or slots on one rank; use more ranks");
    uint32_t *perm = ddw_xmalloc(n * sizeof *perm);
    uint64_t *key = ddw_xmalloc(n * sizeof *key);
    for (size_t u = 0; u < n; u++)
        perm[u] = (uint32_t)u;
    for (int k = 0; k < 3; k++) {
        for (size_t u = 0; u < n; u++) {
            const ddw_unit *x = &out->units[perm[u]];
            key[u] = k == 0   ? x->b0
                     : k == 1 ? (uint64_t)x->pass << 32 | x->a0
                              : UINT64_MAX - unit_cost(x);
        }
        ddw_radix_sort_u64(key, perm, n);
    }
    free(key);
    ddw_unit *sorted = ddw_xmalloc(n * sizeof *sorted);
    for (size_t u = 0; u < n; u++)
        sorted[u] = out->units[perm[u]];
    free(perm);
    free(out->units);
    out->units = sorted;
}

static void add_unit(ddw_blocks *out, size_t *ucap, uint32_t pass, int diag, uint64_t a0,
                     uint64_t a1, uint64_t b0, uint64_t b1)
{
    ddw_xgrow((void **)&out->units, ucap, out->nunits + 1, sizeof *out->units);
    ddw_unit *u = &out->units[out->nunits++];
    u->pass = pass;
    u->diag = (uint32_t)diag;
    u->a0 = a0;
    u->a1 = a1;
    u->b0 = b0;
    u->b1 = b1;
    uint64_t na = a1 - a0;
    out->candidate_pairs += diag ? na * (na - 1) / 2 : na * (b1 - b0);
}

/*
 * A block of n > T records at slots [b0, b1) of out->slot: cut into chunks of T,
 * every pair of chunks (i <= j) is a tile placed on the rank given by a
 * hash of (block key, i, j).  Tiles placed here become units at once; for
 * each other rank, the chunks its tiles need are sent once, with the list
 * of its tiles, so a chunk travels to at most P - 1 ranks however many
 * tiles use it.
 */
static void ship_tiles(ddw_blocks *out, size_t *ucap, bytes *per, int P, int me, uint32_t pass,
                       uint64_t bkey, uint64_t b0, uint64_t b1, uint64_t T, unsigned mask,
                       unsigned tfm)
{
    int np = out->npasses;
    uint64_t c = ddw_block_nchunks(b1 - b0, T);
    uint64_t ntile = c * (c + 1) / 2;
    int *dest = ddw_xmalloc((size_t)ntile * sizeof *dest);
    uint64_t t = 0;
    for (uint64_t i = 0; i < c; i++)
        for (uint64_t j = i; j < c; j++, t++) {
            dest[t] = (int)(ddw_mix64(bkey ^ ddw_mix64(i * 0x10001 + j + 1)) % (uint64_t)P);
            if (dest[t] == me) {
                uint64_t a0 = b0 + i * T, a1 = a0 + T < b1 ? a0 + T : b1;
                uint64_t c0 = b0 + j * T, c1 = c0 + T < b1 ? c0 + T : b1;
                add_unit(out, ucap, pass, i == j, a0, a1, c0, c1);
                out->ntiles++;
            }
        }
    uint32_t *pos = ddw_xmalloc((size_t)c * sizeof *pos); /* chunk -> position, or UINT32_MAX */
    for (int d = 0; d < P; d++) {
        if (d == me)
            continue;
        for (uint64_t i = 0; i < c; i++)
            pos[i] = UINT32_MAX;
        uint32_t nch = 0, nt = 0;
        t = 0;
        for (uint64_t i = 0; i < c; i++)
            for (uint64_t j = i; j < c; j++, t++)
                if (dest[t] == d) {
                    nt++;
                    if (pos[i] == UINT32_MAX) pos[i] = 0, nch++;
                    if (pos[j] == UINT32_MAX) pos[j] = 0, nch++;
                }
        if (nt == 0)
            continue;
        uint32_t hdr[3] = {pass, nch, nt};
        put(&per[d], hdr, sizeof hdr);
        uint32_t k = 0;
        for (uint64_t i = 0; i < c; i++) {
            if (pos[i] == UINT32_MAX)
                continue;
            pos[i] = k++;
            uint64_t a0 = b0 + i * T, a1 = a0 + T < b1 ? a0 + T : b1;
            uint32_t cn = (uint32_t)(a1 - a0);
            put(&per[d], &cn, 4);
            for (uint64_t e = a0; e < a1; e++) {
                size_t r = out->slot[e];
                put_record(&per[d], &out->recs, r, out->passkey + r * (size_t)np, np, mask, tfm);
            }
        }
        t = 0;
        for (uint64_t i = 0; i < c; i++)
            for (uint64_t j = i; j < c; j++, t++)
                if (dest[t] == d) {
                    uint32_t ij[2] = {pos[i], pos[j]};
                    put(&per[d], ij, sizeof ij);
                }
    }
    free(pos);
    free(dest);
}

ddw_status ddw_block_run(const ddw_config *cfg, const ddw_comm *comm, const ddw_recs *home,
                         ddw_blocks *out)
{
    int P = ddw_comm_size(comm), me = ddw_comm_rank(comm);
    /* training adds a pass whose one block is a hash-chosen sample of records */
    int np = cfg->npasses + (cfg->train ? 1 : 0);
    unsigned mask = compare_mask(cfg), tfm = tf_mask(cfg);
    memset(out, 0, sizeof *out);
    out->npasses = np;
    out->sample_pass = cfg->train ? cfg->npasses + 1 : 0;
    ddw_recs_init(&out->recs, mask);
    ddw_recs_enable_tf(&out->recs, tfm);
    unsigned sdx = 0; /* Soundex codes only where a comparison level reads them */
    for (int c = 0; c < cfg->ncompare; c++)
        for (int l = 0; l < cfg->compare[c].nlevels; l++)
            if (cfg->compare[c].levels[l].kind == DDW_LV_SOUNDEX)
                sdx |= 1u << cfg->compare[c].field;
    ddw_recs_skip_codes(&out->recs, ~sdx);
    uint64_t total = home->n, thr = 0;
    ddw_comm_allreduce_u64(comm, &total, 1, DDW_COMM_SUM);
    if (cfg->train) {
        double frac = total ? (double)cfg->train_u_records / (double)total : 1.0;
        thr = frac >= 1.0 ? UINT64_MAX : (uint64_t)(frac * 18446744073709551616.0);
    }
    size_t pkcap = 0, ucap = 0, scap = 0;

    /* 1. every record's keys (threads), then one message per (record, rank that
     * owns one of its blocks): [u32 nkeys][nkeys x (u32 pass, u64 block key)][record].
     * Sizes are counted first, so the records are written once, in place. */
    size_t nh = home->n;
    uint64_t *pk = ddw_xmalloc((nh ? nh : 1) * (size_t)(np ? np : 1) * sizeof *pk);
    long nhl = (long)nh;
#pragma omp parallel for schedule(static)
    for (long il = 0; il < nhl; il++) {
        size_t i = (size_t)il;
        uint64_t *k = pk + i * (size_t)np;
        for (int p = 0; p < cfg->npasses; p++)
            k[p] = ddw_block_key(cfg, p, home, i);
        if (cfg->train)
            k[cfg->npasses] = ddw_mix64(home->key[i] ^ ddw_mix64(cfg->seed + 0x5a3b1e)) < thr
                                  ? UINT64_C(0x5a3b1e) : 0;
    }
    uint64_t *scount = ddw_xcalloc((size_t)P, sizeof *scount);
    uint64_t *rcount = ddw_xmalloc((size_t)P * sizeof *rcount);
    /* Each thread serialises one range of records: round 0 counts its bytes per
     * destination, round 1 writes them at its own offset, after the earlier
     * ranges' bytes for that destination, so the buffer is the same for any
     * thread count. */
    int nt = ddw_par_threads(nh);
    uint64_t *toff = ddw_xcalloc((size_t)nt * (size_t)P, sizeof *toff); /* [thread][dest] */
    /* records with a block here are not serialised: they are copied from home in
     * step 2 (tself: per thread, records, then their first index in selfidx) */
    uint64_t *tself = ddw_xcalloc((size_t)nt, sizeof *tself);
    uint32_t *selfidx = NULL, *selfnk = NULL;
    size_t nself = 0;
    uint64_t emitted = 0;
    char *sbuf = NULL;
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            uint64_t at = 0;
            for (int d = 0; d < P; d++)
                for (int t = 0; t < nt; t++) {
                    uint64_t c = toff[(size_t)t * (size_t)P + (size_t)d];
                    toff[(size_t)t * (size_t)P + (size_t)d] = at;
                    at += c;
                    scount[d] += c;
                }
            sbuf = ddw_xmalloc(at ? at : 1);
            for (int t = 0; t < nt; t++) {
                uint64_t c = tself[t];
                tself[t] = nself;
                nself += c;
            }
            selfidx = ddw_xmalloc((nself ? nself : 1) * sizeof *selfidx);
            selfnk = ddw_xmalloc((nself ? nself : 1) * sizeof *selfnk);
        }
#pragma omp parallel for schedule(static, 1) num_threads(nt) reduction(+ : emitted)
        for (int t = 0; t < nt; t++) {
            uint64_t *off = toff + (size_t)t * (size_t)P, *sf = &tself[t];
            int dest[64], *dp = np <= 64 ? dest : ddw_xmalloc((size_t)np * sizeof *dp);
            size_t lo = ddw_par_slice_lo(nh, (size_t)nt, (size_t)t);
            size_t hi = ddw_par_slice_lo(nh, (size_t)nt, (size_t)t + 1);
            for (size_t i = lo; i < hi; i++) {
                const uint64_t *k = pk + i * (size_t)np;
                for (int p = 0; p < np; p++)
                    dp[p] = k[p] ? block_rank(k[p], P) : -1;
                size_t rsize = 0;
                for (int p = 0; p < np; p++) {
                    int d = dp[p];
                    if (d < 0)
                        continue;
                    int first = 1;
                    for (int q = 0; q < p; q++)
                        first &= dp[q] != d;
                    if (!first)
                        continue;
                    uint32_t nk = 0;
                    for (int q = p; q < np; q++)
                        nk += dp[q] == d;
                    if (d == me) {
                        if (round == 0) {
                            (*sf)++;
                            emitted += nk;
                        } else {
                            selfidx[*sf] = (uint32_t)i;
                            selfnk[(*sf)++] = nk;
                        }
                        continue;
                    }
                    if (round == 0) {
                        if (!rsize)
                            rsize = home_record_size(home, i, np, mask, tfm);
                        off[d] += 4 + (uint64_t)nk * 12 + rsize;
                        emitted += nk;
                        continue;
                    }
                    bytes b = {sbuf + off[d], 0, SIZE_MAX}; /* a window: put never grows it */
                    put(&b, &nk, 4);
                    for (int q = p; q < np; q++)
                        if (dp[q] == d) {
                            uint32_t pass = (uint32_t)q;
                            put(&b, &pass, 4);
                            put(&b, &k[q], 8);
                        }
                    put_record(&b, home, i, k, np, mask, tfm);
                    off[d] += b.len;
                }
            }
            if (dp != dest)
                free(dp);
        }
    }
    out->keys_emitted += emitted;
    free(toff);
    free(tself);
    if (nh >= UINT32_MAX)
        DDW_DIE("more than 2^32 - 1 records on one rank; use more ranks");
    void *rbuf;
    uint64_t rtotal;
    ddw_comm_alltoallv(comm, sbuf, scount, &rbuf, rcount, &rtotal);
    free(sbuf);

    /* 2. records arrive once per rank; their (pass, block key) entries are sorted by
     * (pass, block key, record key) with three stable radix passes, so a block is a run
     * of slots, in an order independent of the rank count.  This rank's own records
     * come first, copied from home (rows [0, nself), home's arena first in the
     * arena).  One walk finds where each received record starts; threads then unpack
     * contiguous ranges of them into sets of their own, joined in arrival order. */
    uint64_t *selfe = ddw_xmalloc((nself + 1) * sizeof *selfe); /* entries of own row s */
    selfe[0] = 0;
    for (size_t r = 0; r < nself; r++)
        selfe[r + 1] = selfe[r] + selfnk[r];
    free(selfnk);
    size_t nrec = 0, rcap = 0, nin = selfe[nself];
    uint64_t *roff = NULL, *eoff = NULL; /* record r: bytes at roff[r], entries from eoff[r] */
    for (const char *p = rbuf, *end = (const char *)rbuf + rtotal; p < end;) {
        ddw_xgrow((void **)&roff, &rcap, nrec + 2, sizeof *roff);
        uint32_t nk;
        memcpy(&nk, p, 4);
        roff[nrec++] = (uint64_t)(p - (const char *)rbuf);
        nin += nk;
        const char *rec = p + 4 + (size_t)nk * 12;
        p = rec + record_size(rec, np, mask, tfm);
    }
    if (nin >= UINT32_MAX || nself + nrec >= UINT32_MAX)
        DDW_DIE("more than 2^32 - 1 blocked records on one rank; use more ranks");
    eoff = ddw_xmalloc((nrec + 1) * sizeof *eoff);
    eoff[0] = selfe[nself];
    for (size_t r = 0; r < nrec; r++) {
        uint32_t nk;
        memcpy(&nk, (const char *)rbuf + roff[r], 4);
        eoff[r + 1] = eoff[r] + nk;
    }
    uint64_t *e_pass = ddw_xmalloc((nin ? nin : 1) * sizeof *e_pass);
    uint64_t *e_bkey = ddw_xmalloc((nin ? nin : 1) * sizeof *e_bkey);
    uint64_t *e_rkey = ddw_xmalloc((nin ? nin : 1) * sizeof *e_rkey);
    uint32_t *e_idx = ddw_xmalloc((nin ? nin : 1) * sizeof *e_idx);
    pkcap = (nself + nrec ? nself + nrec : 1) * (size_t)(np ? np : 1);
    out->passkey = ddw_xmalloc(pkcap * sizeof *out->passkey);
    int nt2 = ddw_par_threads(nrec);
    ddw_recs *part = ddw_xcalloc((size_t)nt2, sizeof *part);
#pragma omp parallel for schedule(static, 1) num_threads(nt2)
    for (int t = 0; t < nt2; t++) {
        ddw_recs *R = &part[t];
        ddw_recs_init(R, mask);
        ddw_recs_enable_tf(R, tfm);
        ddw_recs_skip_codes(R, ~sdx);
        size_t lo = ddw_par_slice_lo(nrec, (size_t)nt2, (size_t)t);
        size_t hi = ddw_par_slice_lo(nrec, (size_t)nt2, (size_t)t + 1);
        for (size_t r = lo; r < hi; r++) {
            const char *p = (const char *)rbuf + roff[r];
            uint32_t nk;
            memcpy(&nk, p, 4);
            const char *keys = p + 4, *rec = keys + (size_t)nk * 12;
            uint64_t rkey;
            memcpy(&rkey, rec, 8);
            get_record(rec, R, out->passkey + (nself + r) * (size_t)np, np, mask, tfm);
            for (uint32_t k = 0; k < nk; k++) {
                size_t e = eoff[r] + k;
                uint32_t pass;
                memcpy(&pass, keys + (size_t)k * 12, 4);
                memcpy(&e_bkey[e], keys + (size_t)k * 12 + 4, 8);
                e_pass[e] = pass;
                e_rkey[e] = rkey;
                e_idx[e] = (uint32_t)(nself + r);
            }
        }
    }
    /* join: own rows [0, nself), then the threads' sets in order, arenas shifted */
    uint64_t *at = ddw_xmalloc(((size_t)nt2 + 1) * 2 * sizeof *at);
    at[0] = nself;
    at[1] = home->alen;
    for (int t = 0; t < nt2; t++) {
        at[2 * t + 2] = at[2 * t] + part[t].n;
        at[2 * t + 3] = at[2 * t + 1] + part[t].alen;
    }
    ddw_recs_resize(&out->recs, nself + nrec, at[2 * nt2 + 1]);
    if (home->alen)
        memcpy(out->recs.arena, home->arena, home->alen);
    long nsl = (long)nself;
#pragma omp parallel for schedule(static) num_threads(ddw_par_threads(nself))
    for (long sl = 0; sl < nsl; sl++) {
        size_t r = (size_t)sl, i = selfidx[r];
        ddw_recs *R = &out->recs;
        R->key[r] = home->key[i];
        for (int f = 0; f < DDW_NFIELDS; f++) {
            if (R->f[f])
                R->f[f][r] = home->f[f][i]; /* home has every compared field */
            if (R->tfw[f])
                R->tfw[f][r] = home->tfw[f] ? home->tfw[f][i] : 0.0f;
        }
        const uint64_t *k = pk + i * (size_t)np;
        memcpy(out->passkey + r * (size_t)np, k, (size_t)np * sizeof *k);
        size_t e = selfe[r];
        for (int q = 0; q < np; q++)
            if (k[q] && block_rank(k[q], P) == me) {
                e_pass[e] = (uint64_t)q;
                e_bkey[e] = k[q];
                e_rkey[e] = home->key[i];
                e_idx[e++] = (uint32_t)r;
            }
    }
#pragma omp parallel for schedule(static, 1) num_threads(nt2)
    for (int t = 0; t < nt2; t++) {
        ddw_recs_copy(&out->recs, at[2 * t], &part[t], 0, part[t].n, at[2 * t + 1]);
        if (part[t].alen)
            memcpy(out->recs.arena + at[2 * t + 1], part[t].arena, part[t].alen);
        ddw_recs_free(&part[t]);
    }
    free(at);
    free(part);
    free(selfidx);
    free(selfe);
    free(pk);
    free(roff);
    free(eoff);
    free(rbuf);
    uint32_t *perm = ddw_xmalloc((nin ? nin : 1) * sizeof *perm);
    uint64_t *tmp = ddw_xmalloc((nin ? nin : 1) * sizeof *tmp);
    long ninl = (long)nin;
    int ntg = ddw_par_threads(nin); /* the gathers below, on threads */
#pragma omp parallel for schedule(static) num_threads(ntg)
    for (long e = 0; e < ninl; e++)
        perm[e] = (uint32_t)e;
    const uint64_t *sortkey[3] = {e_rkey, e_bkey, e_pass};
    for (int k = 0; k < 3; k++) {
#pragma omp parallel for schedule(static) num_threads(ntg)
        for (long e = 0; e < ninl; e++)
            tmp[e] = sortkey[k][perm[e]];
        ddw_radix_sort_u64(tmp, perm, nin);
    }
    free(e_rkey);
    /* in slot order: the pass is the last sort key (tmp), the block key and record gathered */
    uint64_t *s_pass = tmp, *s_bkey = ddw_xmalloc((nin ? nin : 1) * sizeof *s_bkey);
    out->slot = ddw_xmalloc((nin ? nin : 1) * sizeof *out->slot);
    scap = nin ? nin : 1;
    out->nslots = nin;
#pragma omp parallel for schedule(static) num_threads(ntg)
    for (long e = 0; e < ninl; e++) {
        out->slot[e] = e_idx[perm[e]];
        s_bkey[e] = e_bkey[perm[e]];
    }
    free(perm);
    free(e_idx);
    free(e_pass);
    free(e_bkey);
    order_by_first_slot(out);

    /* 3. blocks: small ones are one unit here, large ones become tiles */
    bytes *per = ddw_xcalloc((size_t)P, sizeof *per);
    uint64_t T = (uint64_t)cfg->max_block;
    for (size_t b0 = 0; b0 < nin;) {
        uint64_t pass = s_pass[b0], bkey = s_bkey[b0];
        size_t b1 = b0 + 1;
        while (b1 < nin && s_pass[b1] == pass && s_bkey[b1] == bkey)
            b1++;
        uint64_t n = b1 - b0;
        out->nblocks++;
        if (n > out->max_block)
            out->max_block = n;
        if (n <= T) {
            if (n > 1)
                add_unit(out, &ucap, (uint32_t)pass, 1, b0, b1, b0, b1);
        } else {
            ship_tiles(out, &ucap, per, P, me, (uint32_t)pass, bkey, b0, b1, T, mask, tfm);
        }
        b0 = b1;
    }
    free(s_pass);
    free(s_bkey);

    /* 4. second exchange: tiles of large blocks; a record already here is not copied again */
    sbuf = pack(per, P, scount);
    ddw_comm_alltoallv(comm, sbuf, scount, &rbuf, rcount, &rtotal);
    free(sbuf);
    keymap have = {0};
    if (rtotal)
        for (size_t r = 0; r < out->recs.n; r++)
            keymap_put(&have, out->recs.key[r], (uint32_t)r);
    for (const char *p = rbuf, *end = (const char *)rbuf + rtotal; p < end;) {
        /* [u32 pass][u32 nchunks][u32 ntiles], chunks as [u32 n][records],
         * tiles as [u32 i][u32 j] (positions of chunks in this message) */
        uint32_t hdr[3];
        memcpy(hdr, p, sizeof hdr);
        p += sizeof hdr;
        uint64_t *base = ddw_xmalloc(((size_t)hdr[1] + 1) * sizeof *base);
        for (uint32_t k = 0; k < hdr[1]; k++) {
            uint32_t cn;
            memcpy(&cn, p, 4);
            p += 4;
            base[k] = out->nslots;
            for (uint32_t r = 0; r < cn; r++) {
                uint64_t rkey;
                memcpy(&rkey, p, 8);
                uint32_t idx = keymap_get(&have, rkey);
                if (idx == UINT32_MAX) {
                    idx = (uint32_t)out->recs.n;
                    ddw_xgrow((void **)&out->passkey, &pkcap, ((size_t)idx + 1) * (size_t)np,
                              sizeof *out->passkey);
                    p = get_record(p, &out->recs, out->passkey + (size_t)idx * (size_t)np, np,
                                   mask, tfm);
                    keymap_put(&have, rkey, idx);
                } else {
                    p += record_size(p, np, mask, tfm);
                }
                push_slot(out, &scap, idx);
            }
        }
        base[hdr[1]] = out->nslots;
        for (uint32_t t = 0; t < hdr[2]; t++) {
            uint32_t ij[2];
            memcpy(ij, p, sizeof ij);
            p += sizeof ij;
            add_unit(out, &ucap, hdr[0], ij[0] == ij[1], base[ij[0]], base[ij[0] + 1],
                     base[ij[1]], base[ij[1] + 1]);
            out->ntiles++;
        }
        free(base);
    }
    free(have.key);
    free(have.idx);
    free(rbuf);
    free(per);
    free(scount);
    free(rcount);
    sort_units(out);
    return DDW_OK;
}

void ddw_block_free(ddw_blocks *b)
{
    ddw_recs_free(&b->recs);
    free(b->slot);
    free(b->passkey);
    free(b->units);
    memset(b, 0, sizeof *b);
}
