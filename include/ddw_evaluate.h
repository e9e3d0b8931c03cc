/*
 * ddw_evaluate.h - linkage quality of a result against a ground truth:
 * joining a truth CSV to the result's records, the pairwise and B-cubed
 * figures overall and per source pair, and their JSON and table forms.
 *
 * Everything but ddw_evaluate_cli uses no HDF5 and talks to other ranks
 * only through ddw_comm, so it is in the serial library and unit-tested
 * there (one rank); the command (src/evaluate_cli.c) reads this rank's
 * slice of the result through h5io and writes the figures back into it.
 * The metrics, and how they are split over ranks, are defined in
 * src/evaluate.c.
 */
#ifndef DDW_EVALUATE_H
#define DDW_EVALUATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ddw.h"
#include "ddw_comm.h"

/* One set of figures (overall, or for one source pair).  The member order
 * is the order of ddw_eval_fields[] and of the JSON keys. */
typedef struct {
    double pair_precision, pair_recall, pair_f1;
    double bcubed_precision, bcubed_recall, bcubed_f1;
    uint64_t persons_found;        /* distinct found person IDs */
    uint64_t persons_true;         /* distinct true persons */
    uint64_t true_persons_split;   /* true persons spread over > 1 found person */
    uint64_t found_persons_merged; /* found persons holding > 1 true person */
    uint64_t records;
    uint64_t true_pairs, found_pairs, true_positive_pairs;
} ddw_eval_metrics;

/* The figures of one evaluation.  pair[ddw_eval_pair_index(S, s, t)] holds
 * source pair (s, t), s <= t, for every pair of the S sources, including
 * pairs with no found and no true pairs; they are ordered by (s, t). */
typedef struct {
    int nsources;
    int npairs; /* nsources * (nsources + 1) / 2 */
    ddw_eval_metrics all;
    ddw_eval_metrics *pair;
} ddw_eval_result;

/* The table of figures: JSON key / HDF5 name, and where it sits in
 * ddw_eval_metrics.  is_count: a uint64_t count, else a double. */
typedef struct {
    const char *name;
    int is_count;
    size_t offset;
} ddw_eval_field;

extern const ddw_eval_field ddw_eval_fields[];
extern const int ddw_eval_nfields;

/* Value of field k of m as a double (counts converted). */
double ddw_eval_field_f64(const ddw_eval_metrics *m, int k);
/* Value of count field k of m (0 for a double field). */
uint64_t ddw_eval_field_u64(const ddw_eval_metrics *m, int k);

/* Index of source pair (s, t), 0 <= s <= t < nsources, in ddw_eval_result.pair:
 * pairs are numbered in (s, t) order. */
int ddw_eval_pair_index(int nsources, int s, int t);

/*
 * A B-cubed sum in fixed point: the value times 2^64, in 128 bits.  Sums
 * of these are exact integers, so they do not depend on the order of
 * addition (or on how the terms are split over ranks).
 */
__extension__ typedef unsigned __int128 ddw_eval_fix;

/* floor(num / den * 2^64), exactly; den > 0 and num / den < 2^64. */
ddw_eval_fix ddw_eval_term(uint64_t num, uint64_t den);
/* x / 2^64 as the nearest double. */
double ddw_eval_fix_f64(ddw_eval_fix x);

/*
 * Fills the ratios of m (pairwise and B-cubed precision, recall, F1) from
 * its counts and the two B-cubed sums (over persons: sum of
 * ddw_eval_term(sum over cells n_ij^2, a_i), and likewise with b_j), with
 * the conventions above; each B-cubed ratio is rounded to a double once.
 * Shared with the sweep, so both give the same bits from the same counts.
 */
void ddw_eval_finish(ddw_eval_metrics *m, ddw_eval_fix bprec_sum, ddw_eval_fix brec_sum);

/*
 * Partial sums of the figures, for counting records in parts.  Every
 * figure is a sum over found persons (the found side) and over true
 * persons (the true side) of terms that depend on one person's records
 * only, so the records may be split by person in any way: each part is
 * added on its own, the parts merged by adding the words (elementwise
 * uint64 sums, in any order or as an allreduce), and the result is the
 * same in every bit as ddw_evaluate_counts over all records.
 */
typedef struct {
    int nsources;
    size_t nwords;
    uint64_t *word; /* [nwords]: counts, and 128-bit sums as 32-bit limbs */
} ddw_eval_sums;

enum { DDW_EVAL_FOUND = 0, DDW_EVAL_TRUE = 1 };

/* Zero sums for nsources sources.  DDW_ERANGE nsources outside
 * [1, DDW_MAX_SOURCES] (s is then zeroed). */
ddw_status ddw_eval_sums_init(ddw_eval_sums *s, int nsources);
/* Frees the words; accepts a zeroed or freed s. */
void ddw_eval_sums_free(ddw_eval_sums *s);
/*
 * Adds one side of n records: record i belongs to person[i] of that side
 * (DDW_EVAL_FOUND: found person; DDW_EVAL_TRUE: true person), to other[i]
 * of the other side and to source source[i].  Only equality of IDs
 * matters, but other-side IDs must mean the same person in every part.
 * Every record of each person in person[] must be in this call: a person
 * split over two calls counts as two.  Each record must be added once on
 * each side (in any parts).  Errors: DDW_ERANGE bad side or n >= 2^32;
 * DDW_EINVAL a source number out of range (s unchanged).
 */
ddw_status ddw_eval_sums_add(ddw_eval_sums *s, int side, size_t n, const uint64_t *person,
                             const uint64_t *other, const int32_t *source);
/* into += from (same nsources). */
void ddw_eval_sums_merge(ddw_eval_sums *into, const ddw_eval_sums *from);
/* The figures of the summed records into *out (free with
 * ddw_eval_result_free).  DDW_EINVAL if the two sides hold different
 * records per source (then *out is zeroed). */
ddw_status ddw_eval_sums_finish(const ddw_eval_sums *s, ddw_eval_result *out);

/*
 * Computes every figure from per-record labels: record i has found person
 * found[i], true person truth[i] (any 64-bit values; only equality
 * matters) and source number source[i] in [0, nsources).  n may be 0.
 * On success fills *out (its pair array is allocated here; free it with
 * ddw_eval_result_free).  Runs in O(n) time and memory plus sorting; no
 * pair of records is ever enumerated.  The same as one ddw_eval_sums_add
 * per side and ddw_eval_sums_finish.
 * Errors: DDW_EINVAL a source number out of range; DDW_ERANGE nsources
 * outside [1, DDW_MAX_SOURCES] or n >= 2^32.  *out is then zeroed.
 */
ddw_status ddw_evaluate_counts(size_t n, const uint64_t *found, const uint64_t *truth,
                               const int32_t *source, int nsources, ddw_eval_result *out);

/* Frees what ddw_evaluate_counts allocated; accepts a zeroed or freed result. */
void ddw_eval_result_free(ddw_eval_result *r);

/* The result's records as the join sees them (all borrowed from the caller). */
typedef struct {
    int nsources;
    const char *const *source_name; /* [nsources] */
    size_t n;
    const int32_t *source;          /* [n] source number */
    const char *record_id;          /* [n * id_width]: row i at i * id_width, NUL-padded */
    size_t id_width;                /* a row without a NUL uses all id_width bytes */
} ddw_eval_records;

/* What the join found wrong (all zero on success). */
typedef struct {
    uint64_t truth_rows;     /* data rows read from the truth */
    uint64_t persons;        /* distinct true persons (on success) */
    uint64_t unknown_source; /* truth rows naming a source the result does not have */
    uint64_t dup_truth;      /* truth rows repeating an earlier row's (source, record_id) */
    uint64_t dup_result;     /* result records repeating an earlier record's key */
    uint64_t not_in_result;  /* truth rows whose record is not in the result */
    uint64_t not_in_truth;   /* result records with no truth row */
} ddw_eval_join_stats;

/*
 * Reads a truth CSV held in text[0..len) and joins it to the result's
 * records on (source name, record_id).  label names the truth in messages
 * (its path).  The header row names the columns: 'source', 'record_id' and
 * 'person' (or 'person_id'), in any order, among any others (ignored);
 * header names and the source and record_id values are compared with
 * surrounding spaces and tabs removed (as ddwlink link stores record IDs),
 * person values verbatim.  Blank lines are skipped; a UTF-8 BOM is allowed.
 *
 * On success truth_id[i] (caller-provided, rec->n entries) is the dense
 * number, in [0, st->persons), of the true person of record i.  Every
 * failure is reported on err (if not NULL) as lines starting
 * "evaluate: error: ", and *st (if not NULL) holds the counts.
 * Errors:
 *   DDW_ECSV   no header, a required column missing, a row whose field
 *              count differs from the header's, or a malformed row (the
 *              message names label and the line; the first one stops);
 *   DDW_EINVAL the join failed: a truth row naming an unknown source, a
 *              (source, record_id) repeated in the truth or the result, a
 *              record in only one of them (counts and the first example per
 *              source are reported);
 *   DDW_ERANGE more than 2^32 - 1 rows or records.
 */
ddw_status ddw_eval_join_text(const char *label, const char *text, size_t len,
                              const ddw_eval_records *rec, FILE *err, uint64_t *truth_id,
                              ddw_eval_join_stats *st);

/* The same for the file at path (read whole into memory); DDW_EIO, with a
 * message, if it cannot be read. */
ddw_status ddw_eval_join_file(const char *path, const ddw_eval_records *rec, FILE *err,
                              uint64_t *truth_id, ddw_eval_join_stats *st);

/* This rank's slice of the result's records: records first .. first + n - 1
 * of the result, in file order.  ddw_eval_join_dist frees the three
 * arrays (malloc'd by the caller) once it has sent them on. */
typedef struct {
    int nsources;
    const char *const *source_name; /* [nsources] */
    uint64_t first;
    size_t n;
    int32_t *source;                /* [n] source number, in [0, nsources) */
    char *record_id;                /* [n * id_width], as in ddw_eval_records */
    size_t id_width;
    uint64_t *found;                /* [n] found person ID */
} ddw_eval_slice;

/* This rank's share of the joined records: every record of each true
 * person it holds.  truth[] IDs are unique per true person across ranks. */
typedef struct {
    size_t n;
    uint64_t *found, *truth;
    int32_t *source;
} ddw_eval_joined;

/* Frees the arrays; accepts a zeroed or freed j. */
void ddw_eval_joined_free(ddw_eval_joined *j);

/*
 * The distributed join: every rank reads a byte range of the truth CSV at
 * path (whole records, segmented and numbered by line exactly as one
 * reader would) and holds a slice of the result (sl); truth rows and
 * records meet on the rank owning hash(source, record_id), and the joined
 * records go on to the rank owning hash(true person).  Same rules,
 * checks and messages as ddw_eval_join_text, with the same counts and
 * first examples whatever the rank count; messages are printed on err
 * (rank 0's stream; NULL on the others).  sl's three arrays are freed
 * (and set to NULL) early on, whatever the outcome, to keep the peak down.
 * On success *out holds this rank's share (free with
 * ddw_eval_joined_free).  *st is the same on every rank.  Collective; every rank returns the same status:
 * DDW_EIO (cannot read the truth), DDW_ECSV, DDW_EINVAL, DDW_ERANGE (as
 * ddw_eval_join_text, the 2^32 limits per rank).
 */
ddw_status ddw_eval_join_dist(const ddw_comm *comm, const char *path, ddw_eval_slice *sl,
                              FILE *err, ddw_eval_joined *out, ddw_eval_join_stats *st);

/*
 * The figures of joined records held as ddw_eval_join_dist leaves them:
 * the true side is summed where the records are, the found side after
 * routing each record to the rank owning hash(found person), and the sums
 * are added over ranks.  *out is the same on every rank, and equal in
 * every bit to ddw_evaluate_counts over all records, whatever the rank
 * count.  Collective; the same status on every rank (that of
 * ddw_eval_sums_add / _finish; *out zeroed on failure).
 */
ddw_status ddw_evaluate_counts_dist(const ddw_comm *comm, int nsources,
                                    const ddw_eval_joined *j, ddw_eval_result *out);

/*
 * The figures as one JSON object (newly allocated NUL-terminated text,
 * caller frees, no trailing newline): the overall figures under the keys of
 * ddw_eval_fields[], then "by_source_pair" mapping "name_s|name_t" to an
 * object with the same keys, in pair order.  names[s] is source s's name.
 * Doubles are printed with %.17g, so they read back exactly.
 */
char *ddw_eval_json(const ddw_eval_result *r, const char *const *names);

/* Writes the figures as a human-readable table to out. */
void ddw_eval_print_table(FILE *out, const ddw_eval_result *r, const char *const *names);

/*
 * The `ddwlink evaluate` command: argv[1] is "evaluate".  Reads RESULT.h5
 * and the truth, prints the figures on rank 0's stdout and writes them
 * into the result under /evaluation.  Collective over comm.  Returns the
 * process exit code: 0 success, 2 usage or input error (bad arguments,
 * unreadable or malformed files, records that do not join), 1 any other
 * failure.
 */
int ddw_evaluate_cli(const ddw_comm *comm, int argc, char **argv);

#endif /* DDW_EVALUATE_H */
