/*
 * ddw_records.h - the in-memory record set: struct-of-arrays columns of
 * normalised comparison values, with all strings packed in one arena.
 *
 * Trade-off: each field is one array of small fixed-size values (hash,
 * offset, length, precomputed phonetic code, date as an integer), so the
 * scoring loop compares integers first and touches string bytes only when
 * a similarity is really needed, and a record set costs a handful of
 * allocations however many records it holds.
 */
#ifndef DDW_RECORDS_H
#define DDW_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"
#include "ddw_config.h"

#define DDW_DATE_MISSING INT32_MIN

/* One normalised field value.  h == 0 means missing. */
typedef struct {
    uint64_t h;     /* hash of the normalised value (never 0 when present) */
    uint32_t off;   /* text: offset of the bytes in the record set's arena */
    uint16_t len;   /* text: length in bytes */
    char code[6];   /* text: Soundex code, NUL-terminated ("" if none) */
    int32_t date;   /* date: days since 1970-01-01, DDW_DATE_MISSING if missing */
} ddw_fval;

typedef struct {
    size_t n, cap;
    uint64_t *key;              /* global record key (source, row) */
    ddw_fval *f[DDW_NFIELDS];   /* one column per field; NULL when unused */
    float *tfw[DDW_NFIELDS];    /* term-frequency fields: -log2 of the value's share of all
                                   values of the field (0 when missing); NULL otherwise */
    char *arena;
    size_t alen, acap;
    unsigned nocode;            /* fields whose Soundex code is not computed (code stays "") */
} ddw_recs;

/* Initialises an empty set with columns for the fields whose bit is set in fieldmask. */
void ddw_recs_init(ddw_recs *r, unsigned fieldmask);
/* Adds -log2 frequency columns (tfw) for the fields in tfmask (a subset of the fields). */
void ddw_recs_enable_tf(ddw_recs *r, unsigned tfmask);
void ddw_recs_free(ddw_recs *r);
/* Appends a record with all fields missing; returns its index. */
size_t ddw_recs_push(ddw_recs *r, uint64_t key);
/* Leaves the Soundex code empty for the fields in mask: for fields that no
 * blocking key or comparison reads as Soundex, it saves computing it. */
void ddw_recs_skip_codes(ddw_recs *r, unsigned mask);
/* Empties the set (n = 0, arena emptied), keeping its columns and capacity. */
void ddw_recs_clear(ddw_recs *r);
/* Makes the set hold n records and alen arena bytes (n >= r->n, alen >= r->alen);
 * the added records and bytes are uninitialised until ddw_recs_copy fills them. */
void ddw_recs_resize(ddw_recs *r, size_t n, size_t alen);
/* Copies records [from, from + count) of src (same columns) to records [at, ...) of
 * dst, adding shift to the arena offsets of text values; the caller copies src's
 * arena bytes to dst->arena + shift.  Ranges must not overlap; safe to run on
 * disjoint ranges of dst from several threads. */
void ddw_recs_copy(ddw_recs *dst, size_t at, const ddw_recs *src, size_t from, size_t count,
                   size_t shift);
/* Sets a text field of record i to the (already normalised) value s (len 0 = missing). */
void ddw_recs_set_text(ddw_recs *r, size_t i, ddw_field f, const char *s, size_t len);
/* Sets a date field of record i (DDW_DATE_MISSING = missing). */
void ddw_recs_set_date(ddw_recs *r, size_t i, ddw_field f, int32_t days);
/* Pointer to the bytes of a text value. */
static inline const char *ddw_recs_text(const ddw_recs *r, const ddw_fval *v)
{
    return r->arena + v->off;
}

#endif /* DDW_RECORDS_H */
