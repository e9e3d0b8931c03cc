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
 * Trade-off: a record is copied once per pass it has a key in, rather than
 * shipping only keys and fetching records later; that doubles or triples
 * the bytes of the first exchange but keeps it to one round, and the
 * scoring stage then reads only local memory.
 */
#include "ddw_block.h"

#include <stdlib.h>
#include <string.h>

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

static const char *get_record(const char *p, ddw_recs *r, uint64_t **pk, size_t *pkcap,
                              int npasses, unsigned mask, unsigned tfm)
{
    uint64_t key;
    memcpy(&key, p, 8);
    p += 8;
    size_t i = ddw_recs_push(r, key);
    ddw_xgrow((void **)pk, pkcap, (i + 1) * (size_t)npasses, 8);
    memcpy(*pk + i * (size_t)npasses, p, (size_t)npasses * 8);
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

typedef struct {
    uint32_t pass;
    uint64_t bkey;
    uint64_t rkey;
    const char *rec;
} incoming;

static int cmp_incoming(const void *x, const void *y)
{
    const incoming *a = x, *b = y;
    if (a->pass != b->pass) return a->pass < b->pass ? -1 : 1;
    if (a->bkey != b->bkey) return a->bkey < b->bkey ? -1 : 1;
    if (a->rkey != b->rkey) return a->rkey < b->rkey ? -1 : 1;
    return 0;
}

static int cmp_unit_cost(const void *x, const void *y)
{
    const ddw_unit *a = x, *b = y;
    uint64_t na = a->a1 - a->a0, nb = b->a1 - b->a0;
    uint64_t ca = a->diag ? na * (na - 1) / 2 : na * (a->b1 - a->b0);
    uint64_t cb = b->diag ? nb * (nb - 1) / 2 : nb * (b->b1 - b->b0);
    if (ca != cb) return ca > cb ? -1 : 1;
    /* deterministic tie-break */
    if (a->pass != b->pass) return a->pass < b->pass ? -1 : 1;
    return a->a0 < b->a0 ? -1 : (a->a0 > b->a0 ? 1 : (a->b0 < b->b0 ? -1 : a->b0 > b->b0));
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
 * A block of n > T records at [b0, b1) of out->recs: cut into chunks of T,
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
            for (uint64_t r = a0; r < a1; r++)
                put_record(&per[d], &out->recs, r, out->passkey + r * (size_t)np, np, mask, tfm);
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
    uint64_t total = home->n, thr = 0;
    ddw_comm_allreduce_u64(comm, &total, 1, DDW_COMM_SUM);
    if (cfg->train) {
        double frac = total ? (double)cfg->train_u_records / (double)total : 1.0;
        thr = frac >= 1.0 ? UINT64_MAX : (uint64_t)(frac * 18446744073709551616.0);
    }
    size_t pkcap = 0, ucap = 0;

    /* 1. keys and the first exchange: [u32 pass][u64 block key][record] */
    bytes *per = ddw_xcalloc((size_t)P, sizeof *per);
    uint64_t *pk = ddw_xmalloc((size_t)(np ? np : 1) * sizeof *pk);
    for (size_t i = 0; i < home->n; i++) {
        for (int p = 0; p < cfg->npasses; p++)
            pk[p] = ddw_block_key(cfg, p, home, i);
        if (cfg->train)
            pk[cfg->npasses] = ddw_mix64(home->key[i] ^ ddw_mix64(cfg->seed + 0x5a3b1e)) < thr
                                   ? UINT64_C(0x5a3b1e) : 0;
        for (int p = 0; p < np; p++) {
            if (pk[p] == 0)
                continue;
            int dest = (int)(ddw_mix64(pk[p]) % (uint64_t)P);
            uint32_t pass = (uint32_t)p;
            put(&per[dest], &pass, 4);
            put(&per[dest], &pk[p], 8);
            put_record(&per[dest], home, i, pk, np, mask, tfm);
            out->keys_emitted++;
        }
    }
    free(pk);
    uint64_t *scount = ddw_xmalloc((size_t)P * sizeof *scount);
    uint64_t *rcount = ddw_xmalloc((size_t)P * sizeof *rcount);
    char *sbuf = pack(per, P, scount);
    void *rbuf;
    uint64_t rtotal;
    ddw_comm_alltoallv(comm, sbuf, scount, &rbuf, rcount, &rtotal);
    free(sbuf);

    /* 2. sort what arrived by (pass, block key, record key) */
    size_t nin = 0, incap = 0;
    incoming *in = NULL;
    for (const char *p = rbuf, *end = (const char *)rbuf + rtotal; p < end;) {
        ddw_xgrow((void **)&in, &incap, nin + 1, sizeof *in);
        incoming *x = &in[nin++];
        memcpy(&x->pass, p, 4);
        memcpy(&x->bkey, p + 4, 8);
        x->rec = p + 12;
        memcpy(&x->rkey, x->rec, 8);
        p = x->rec + record_size(x->rec, np, mask, tfm);
    }
    if (nin > 1)
        qsort(in, nin, sizeof *in, cmp_incoming);
    for (size_t k = 0; k < nin; k++)
        get_record(in[k].rec, &out->recs, &out->passkey, &pkcap, np, mask, tfm);

    /* 3. blocks: small ones are one unit here, large ones become tiles */
    uint64_t T = (uint64_t)cfg->max_block;
    for (size_t b0 = 0; b0 < nin;) {
        size_t b1 = b0 + 1;
        while (b1 < nin && in[b1].pass == in[b0].pass && in[b1].bkey == in[b0].bkey)
            b1++;
        uint64_t n = b1 - b0;
        out->nblocks++;
        if (n > out->max_block)
            out->max_block = n;
        if (n <= T) {
            if (n > 1)
                add_unit(out, &ucap, in[b0].pass, 1, b0, b1, b0, b1);
        } else {
            ship_tiles(out, &ucap, per, P, me, in[b0].pass, in[b0].bkey, b0, b1, T, mask, tfm);
        }
        b0 = b1;
    }
    free(in);
    free(rbuf);

    /* 4. second exchange: tiles of large blocks */
    sbuf = pack(per, P, scount);
    ddw_comm_alltoallv(comm, sbuf, scount, &rbuf, rcount, &rtotal);
    free(sbuf);
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
            base[k] = out->recs.n;
            for (uint32_t r = 0; r < cn; r++)
                p = get_record(p, &out->recs, &out->passkey, &pkcap, np, mask, tfm);
        }
        base[hdr[1]] = out->recs.n;
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
    free(rbuf);
    free(per);
    free(scount);
    free(rcount);
    if (out->nunits > 1)
        qsort(out->units, out->nunits, sizeof *out->units, cmp_unit_cost);
    return DDW_OK;
}

void ddw_block_free(ddw_blocks *b)
{
    ddw_recs_free(&b->recs);
    free(b->passkey);
    free(b->units);
    memset(b, 0, sizeof *b);
}
