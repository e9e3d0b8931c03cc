/*
 * ddw_compare.h - pluggable comparison methods.  A method turns two values
 * of one field into a comparison level: the index of the first of its
 * configured levels whose predicate holds (1..nlevels), or 0 when either
 * value is missing (the neutral level, weight 0).
 *
 * Trade-off: a method is a row in a table (name, accepted field types,
 * level parser, comparator), so adding one (Dice on Bloom-filter bit
 * vectors, numeric distance, ...) touches only compare.c; the price is a
 * dispatch per level per pair.  The scoring loop goes through a comparison
 * plan (below) that precomputes what it can per record and skips
 * similarities a cheap bound rules out, with the same levels.
 */
#ifndef DDW_COMPARE_H
#define DDW_COMPARE_H

#include "ddw.h"
#include "ddw_config.h"
#include "ddw_records.h"

/* Level predicates (ddw_level_cfg.kind). */
typedef enum {
    DDW_LV_ELSE,      /* always true: the last level */
    DDW_LV_EXACT,     /* identical normalised values */
    DDW_LV_JW,        /* Jaro-Winkler similarity >= param */
    DDW_LV_JARO,      /* Jaro similarity >= param */
    DDW_LV_DL,        /* Damerau-Levenshtein distance <= param */
    DDW_LV_LEV,       /* Levenshtein distance <= param */
    DDW_LV_SOUNDEX,   /* same Soundex code */
    DDW_LV_INITIAL,   /* same first character */
    DDW_LV_SWAP_DM,   /* dates: day and month swapped */
    DDW_LV_DAYS,      /* dates: at most param days apart */
    DDW_LV_YEAR,      /* dates: same year */
    DDW_LV_SWAP,      /* names: forename and surname swapped between the records */
    DDW_LV_YEAR1,     /* dates: same day and month, years one apart */
    DDW_LV_DIGIT1,    /* dates: YYYYMMDD forms differ in exactly one digit */
    DDW_LV_JAN1,      /* dates: same year and either is 1 January (a placeholder) */
    DDW_LV_VALID_DIFF,/* PNC IDs: both have a valid check letter (and are not equal) */
    DDW_LV_ABS,       /* numbers: |a - b| <= param */
    DDW_LV_SECTOR,    /* postcodes: same sector (outward code + first inward digit) */
    DDW_LV_DISTRICT,  /* postcodes: same outward code */
    DDW_LV_AREA,      /* postcodes: same leading letters */
    DDW_LV_NKINDS
} ddw_level_kind;

typedef struct {
    const char *name;
    unsigned field_types;  /* bit mask of ddw_field_type accepted */
    const char *levels_help;
} ddw_compare_method;

/* Number of methods and their descriptions (name, field types, level syntax). */
int ddw_compare_nmethods(void);
const ddw_compare_method *ddw_compare_method_at(int i);
/* Index of the method with this name, or -1. */
int ddw_compare_method_find(const char *name);
/*
 * Parses one level specification (e.g. "exact", "jw>=0.94", "dl<=1",
 * "swap_dm", "else") for the given method into *out.  Returns DDW_EINVAL if
 * the syntax is wrong or the predicate does not belong to the method.
 */
ddw_status ddw_compare_parse_level(int method, const char *spec, ddw_level_cfg *out);

/*
 * Compares record i of set ra with record j of set rb on comparison cc and
 * returns the level (0 = missing).  Allocates nothing; thread-safe.
 */
int ddw_compare_level(const ddw_compare_cfg *cc, const ddw_recs *ra, size_t i,
                      const ddw_recs *rb, size_t j);

/*
 * A comparison plan: every configured comparison bound to one record set,
 * for the pair-scoring loop, which works one unit (one or two ranges of
 * records) at a time.  When a unit starts, ddw_compare_plan_unit computes
 * a few per-record features of its records into the plan's scratch (a
 * byte-class count and the first bytes of names for Jaro(-Winkler)
 * and initial levels, PNC check-letter validity), so the pairs of the unit
 * do less work each and skip Jaro-Winkler and Jaro whenever the count
 * bound shows that no such level can hold.  Levels are always exactly those
 * of ddw_compare_level.
 *
 * Trade-off: features are recomputed for every unit a record is in (once
 * for most records; a tiled block's records once per tile), instead of
 * being stored for the whole record set: no per-record memory, and the
 * unit's records are already in cache when the features are computed.
 *
 * Units, pairs and prefetch hints name positions: position k is record
 * rec_of[k] of r (ddw_blocks' slots), or record k itself when rec_of is
 * NULL.  A plan is used by one thread at a time (give each thread its own).
 * ddw_compare_plan_init reads cfg->compare, r and rec_of (all must outlive the
 * plan and stay unchanged) and allocates scratch for units of up to
 * maxrecs records (a larger unit grows it: size it so that none does).
 * Returns DDW_ECONFIG for more than DDW_MAX_COMPARE comparisons and
 * DDW_EINVAL when r lacks a compared field's column.  Free with
 * ddw_compare_plan_free (accepts NULL, NULLs the pointer).
 */
typedef struct ddw_compare_plan ddw_compare_plan;
ddw_status ddw_compare_plan_init(const ddw_config *cfg, const ddw_recs *r,
                                 const uint32_t *rec_of, size_t maxrecs, ddw_compare_plan **out);
void ddw_compare_plan_free(ddw_compare_plan **p);
/*
 * Starts a unit: the pairs that follow have both positions in [a0, a1) (a
 * diagonal unit: pass b0 >= b1) or one in [a0, a1) and one in [b0, b1)
 * (ranges that overlap or touch are merged into one).
 */
void ddw_compare_plan_unit(ddw_compare_plan *p, size_t a0, size_t a1, size_t b0, size_t b1);
/*
 * Writes the level of every comparison c for the records at positions i
 * and j of the current unit to lv[c] (cfg->ncompare bytes): lv[c] equals
 * ddw_compare_level(&cfg->compare[c], r, rec(i), r, rec(j)).  Allocates nothing.
 */
void ddw_compare_plan_levels(const ddw_compare_plan *p, size_t i, size_t j, uint8_t *lv);
/*
 * A hint, no effect on results: prefetches the compared fields' values of
 * records [k0, k1) (text == 0) or their text bytes (text != 0; their values
 * should already be in cache, e.g. prefetched one unit earlier).
 */
void ddw_compare_plan_prefetch(const ddw_compare_plan *p, size_t k0, size_t k1, int text);

/* PNC check letter of a two-digit year and a serial (< 10,000,000):
 * (ZABCDEFGHJKLMNPQRTUVWXY)[(YY * 10^7 + serial) mod 23]. */
char ddw_compare_pnc_letter(unsigned yy, unsigned long serial);

/*
 * 1 if the normalised text s[0..n) is a PNC ID with a correct check letter:
 * digits YY (or YYYY) then a serial of 1-7 digits then the letter
 * (ZABCDEFGHJKLMNPQRTUVWXY)[(YY * 10^7 + serial) mod 23]; spaces ignored.
 */
int ddw_compare_pnc_valid(const char *s, size_t n);

/*
 * The identity cluster.refine and the sweep use: key[i] = the hash of record
 * i's PNC ID when it has a valid check letter, else 0 (key has r->n entries).
 */
void ddw_compare_pnc_keys(const ddw_recs *r, uint64_t *key);

#endif /* DDW_COMPARE_H */
