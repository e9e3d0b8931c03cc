/*
 * records.c - the struct-of-arrays record set (see ddw_records.h).
 *
 * Trade-off: the phonetic code and value hash are computed once when a
 * value is stored, not per comparison; that costs 14 bytes per value and
 * saves the scoring loop from recomputing them for every pair.  A set can
 * be told which fields never need the code (ddw_recs_skip_codes), and
 * record sets built in parallel are joined by bulk copies (ddw_recs_resize,
 * ddw_recs_copy) rather than pushing one record at a time.
 */
#include "ddw_records.h"

#include <stdlib.h>
#include <string.h>

#include "ddw_strsim.h"

void ddw_recs_init(ddw_recs *r, unsigned fieldmask)
{
    memset(r, 0, sizeof *r);
    for (int f = 0; f < DDW_NFIELDS; f++)
        if (fieldmask & (1u << f))
            r->f[f] = ddw_xmalloc(sizeof(ddw_fval)); /* grown in push */
    r->acap = 64; /* never NULL, so empty values point at valid memory */
    r->arena = ddw_xmalloc(r->acap);
}

void ddw_recs_enable_tf(ddw_recs *r, unsigned tfmask)
{
    for (int f = 0; f < DDW_NFIELDS; f++)
        if ((tfmask & (1u << f)) && r->f[f] && r->tfw[f] == NULL)
            r->tfw[f] = ddw_xcalloc(r->cap ? r->cap : 1, sizeof(float));
}

void ddw_recs_free(ddw_recs *r)
{
    free(r->key);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        free(r->f[f]);
        free(r->tfw[f]);
    }
    free(r->arena);
    memset(r, 0, sizeof *r);
}

/* Grows every column to hold at least n records. */
static void reserve(ddw_recs *r, size_t n)
{
    if (n <= r->cap)
        return;
    size_t cap = r->cap ? r->cap * 2 : 1024;
    if (cap < n)
        cap = n;
    r->key = ddw_xrealloc(r->key, cap * sizeof *r->key);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (r->f[f])
            r->f[f] = ddw_xrealloc(r->f[f], cap * sizeof(ddw_fval));
        if (r->tfw[f])
            r->tfw[f] = ddw_xrealloc(r->tfw[f], cap * sizeof(float));
    }
    r->cap = cap;
}

size_t ddw_recs_push(ddw_recs *r, uint64_t key)
{
    reserve(r, r->n + 1);
    size_t i = r->n++;
    r->key[i] = key;
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (r->f[f]) {
            memset(&r->f[f][i], 0, sizeof(ddw_fval));
            r->f[f][i].date = DDW_DATE_MISSING;
        }
        if (r->tfw[f])
            r->tfw[f][i] = 0.0f;
    }
    return i;
}

/* Copies len bytes into the arena; returns their offset. */
static uint32_t intern(ddw_recs *r, const char *s, size_t len)
{
    if (r->alen + len > UINT32_MAX)
        DDW_DIE("record arena exceeds 4 GiB on one rank; use more ranks");
    if (r->alen + len + 1 > r->acap)
        ddw_xgrow((void **)&r->arena, &r->acap, r->alen + len + 1, 1);
    uint32_t off = (uint32_t)r->alen;
    memcpy(r->arena + off, s, len);
    r->alen += len;
    return off;
}

void ddw_recs_set_text(ddw_recs *r, size_t i, ddw_field f, const char *s, size_t len)
{
    ddw_fval *v = &r->f[f][i];
    if (len == 0) {
        v->h = 0;
        return;
    }
    if (len > UINT16_MAX)
        len = UINT16_MAX;
    v->off = intern(r, s, len);
    v->len = (uint16_t)len;
    v->h = ddw_hash64(s, len, 0x5eed) | 1;
    if ((r->nocode & (1u << f)) || ddw_strsim_soundex(s, len, v->code) == 0)
        v->code[0] = '\0';
}

void ddw_recs_skip_codes(ddw_recs *r, unsigned mask)
{
    r->nocode = mask;
}

void ddw_recs_clear(ddw_recs *r)
{
    r->n = 0;
    r->alen = 0;
}

void ddw_recs_resize(ddw_recs *r, size_t n, size_t alen)
{
    if (alen > UINT32_MAX)
        DDW_DIE("record arena exceeds 4 GiB on one rank; use more ranks");
    reserve(r, n);
    ddw_xgrow((void **)&r->arena, &r->acap, alen + 1, 1);
    r->n = n;
    r->alen = alen;
}

void ddw_recs_copy(ddw_recs *dst, size_t at, const ddw_recs *src, size_t from, size_t count,
                   size_t shift)
{
    if (count == 0)
        return;
    memcpy(dst->key + at, src->key + from, count * sizeof *dst->key);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (dst->f[f] == NULL)
            continue;
        ddw_fval *d = dst->f[f] + at;
        memcpy(d, src->f[f] + from, count * sizeof *d);
        /* only stored text has an arena offset (missing values and dates keep 0) */
        if (ddw_field_type_of((ddw_field)f) != DDW_FT_DATE && shift)
            for (size_t i = 0; i < count; i++)
                if (d[i].h)
                    d[i].off += (uint32_t)shift;
        if (dst->tfw[f])
            for (size_t i = 0; i < count; i++)
                dst->tfw[f][at + i] = src->tfw[f] ? src->tfw[f][from + i] : 0.0f;
    }
}

void ddw_recs_set_date(ddw_recs *r, size_t i, ddw_field f, int32_t days)
{
    ddw_fval *v = &r->f[f][i];
    v->date = days;
    v->h = days == DDW_DATE_MISSING ? 0 : (ddw_mix64((uint64_t)(int64_t)days + 1) | 1);
}
