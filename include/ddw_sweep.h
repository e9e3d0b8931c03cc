/*
 * ddw_sweep.h - threshold sweep over the scored pairs of a link result:
 * the clustering `ddwlink link` would produce at every threshold of a grid,
 * and (with a ground truth) the figures `ddwlink evaluate` would give for
 * it, from one pass over the stored edges, without rescoring.
 *
 * The pure part (everything but ddw_sweep_cli) uses neither HDF5 nor MPI,
 * so it is in the serial library and unit-tested there; the command
 * (src/sweep_cli.c) reads the result through h5io and writes the grid back
 * into it under /sweep.  How the sweep works is described in src/sweep.c.
 */
#ifndef DDW_SWEEP_H
#define DDW_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_evaluate.h"

/* Most thresholds one grid may hold. */
#define DDW_SWEEP_MAX_POINTS 100000

/* The threshold grid lo, lo + step, ..., hi (ascending). */
typedef struct {
    double lo, hi, step;
    size_t n;  /* number of thresholds, 1 .. DDW_SWEEP_MAX_POINTS */
    double *t; /* [n] ascending */
} ddw_sweep_grid;

/*
 * Parses "LO:HI:STEP" (three numbers; spaces around them allowed) into *g.
 * Grid point k is LO + k * STEP for k = 0, 1, ... while it does not pass
 * HI, computed from the integer k: when all three are plain decimals
 * (like -6, 0.25, 1e-3) point k is exactly the double a user would get by
 * typing its decimal value (0:1:0.1 gives 0.3, not 0.30000000000000004),
 * so `link --set match.threshold=0.3` reproduces grid point 0.3; other
 * forms (hexadecimal floats, more than 18 significant digits) fall back to
 * LO + k * STEP in floating point, with a 1e-9 step tolerance at HI.
 * On success g->t is newly allocated (free with ddw_sweep_grid_free).
 * Errors, with a one-line explanation in msg[0..msglen) (if msg != NULL):
 *   DDW_EINVAL not three numbers, a number not finite, STEP <= 0, LO > HI;
 *   DDW_ERANGE more than DDW_SWEEP_MAX_POINTS points.
 * *g is then zeroed.
 */
ddw_status ddw_sweep_grid_parse(const char *spec, ddw_sweep_grid *g, char *msg, size_t msglen);

/* Frees g->t; accepts a zeroed or freed grid. */
void ddw_sweep_grid_free(ddw_sweep_grid *g);

/* The clustering rule applied after the edges are taken strongest first. */
typedef enum {
    DDW_SWEEP_REFINE_NONE = 0, /* every edge joins its endpoints' sets */
    DDW_SWEEP_REFINE_PNC = 1   /* an edge that would put two different non-zero
                                * pnc_key values into one set is skipped */
} ddw_sweep_refine;

/* What the sweep reads (all borrowed from the caller). */
typedef struct {
    size_t nrecords;           /* < 2^32 */
    const uint64_t *key;       /* [nrecords] record keys, strictly ascending */
    const uint64_t *pnc_key;   /* [nrecords] identity per record, 0 = none; may be NULL
                                * (all 0); read only with DDW_SWEEP_REFINE_PNC */
    const uint64_t *truth;     /* [nrecords] dense true person numbers < ntrue, or NULL */
    uint64_t ntrue;            /* with truth: true person numbers are < ntrue <= nrecords */
    size_t nedges;
    const uint64_t *a, *b;     /* [nedges] the records' keys of each scored pair */
    const double *weight;      /* [nedges] match weights (NaN: never applied) */
    ddw_sweep_refine refine;
    const uint8_t *attach_once; /* [nrecords] 1 = the record's source is attach_once
                                 * (ddw_refine_component's use_attach rule); NULL = none */
} ddw_sweep_input;

/* The clustering at one threshold. */
typedef struct {
    double threshold;
    uint64_t persons;         /* sets (person IDs) */
    uint64_t edges;           /* edges with weight >= threshold that were applied */
    uint64_t edges_skipped;   /* edges with weight >= threshold refused by the pnc rule */
    uint64_t largest_cluster; /* records of the largest set */
    ddw_eval_metrics eval;    /* with truth: the overall figures of ddw_evaluate_counts for
                               * this clustering, to the last bit; else all zero */
} ddw_sweep_point;

/*
 * Computes out[g] for every threshold t[g] (t ascending, no NaN; npoints
 * may be 0): the persons `ddwlink link` makes from the edges with weight
 * >= t[g], taken by weight descending, then a, then b ascending (the order
 * of ddw_refine_component), into a union-find; with DDW_SWEEP_REFINE_PNC an
 * edge between two sets holding different non-zero pnc_key values is
 * skipped; an edge inside one set is applied (and changes nothing).  A
 * person's ID is its smallest key.  With in->truth the figures are those
 * ddw_evaluate_counts gives for (person ID, truth) over all records,
 * identical in every bit (same sums in the same order).  Runs in
 * O(E log E + (N + E) alpha + merges' small-to-large work, O(N log N)) plus
 * O(N + T) for each grid point where the clustering changed (the B-cubed
 * sums are redone in evaluate's order there); memory O(N + E).  Uses
 * OpenMP threads to look the edges' keys up.  Messages (lines starting
 * "sweep: error: ") go to err if not NULL.
 * Errors: DDW_EINVAL keys not strictly ascending, an edge endpoint that is
 * not a key, a truth number >= ntrue or ntrue > nrecords, thresholds not
 * ascending or NaN, a NULL array that is needed; DDW_ERANGE nrecords or the edges at or above
 * t[0] >= 2^32.  out is then unspecified.
 */
ddw_status ddw_sweep_run(const ddw_sweep_input *in, size_t npoints, const double *t,
                         ddw_sweep_point *out, FILE *err);

/* Index of the point with the highest pair F1, ties to the higher threshold
 * (the later point); 0 when npoints is 0. */
size_t ddw_sweep_best(const ddw_sweep_point *p, size_t npoints);

/* Shortest "%.*g" form of v that reads back as v (at most 17 digits). */
void ddw_sweep_fmt_double(char buf[32], double v);

/* Context for the printed forms (borrowed). */
typedef struct {
    const char *result;   /* result file path */
    const char *refine;   /* "none" or "pnc" */
    const char *truth;    /* truth path, or NULL: no figures */
    uint64_t records;     /* records in the result */
    uint64_t edges;       /* edges stored in the result */
    double kept_above;    /* the result holds every scored pair at or above this weight */
    double link_threshold; /* the link's own match.threshold (table only) */
} ddw_sweep_info;

/*
 * The sweep as one JSON object (newly allocated NUL-terminated text, caller
 * frees, no trailing newline): {"result": ..., "refine": ..., "grid": [one
 * object per point: threshold, persons, edges, edges_skipped,
 * largest_cluster and, with truth, the keys of ddw_eval_fields[]], "best":
 * the grid entry of ddw_sweep_best (only with truth)}.  Figures as in
 * ddw_eval_json (%.17g); thresholds in their shortest exact form.
 */
char *ddw_sweep_json(const ddw_sweep_info *info, const ddw_sweep_point *p, size_t npoints);

/* Writes the sweep as a table, one row per threshold, and with truth a
 * closing line naming the threshold with the best pair F1. */
void ddw_sweep_print_table(FILE *out, const ddw_sweep_info *info, const ddw_sweep_point *p,
                           size_t npoints);

/*
 * The `ddwlink sweep` command: argv[1] is "sweep".  Reads RESULT.h5 (and
 * the truth), prints the grid on rank 0's stdout and stores it in the
 * result under /sweep.  Collective over comm; every rank computes the same
 * (one rank is the normal way to run it).  Returns the process exit code:
 * 0 success, 2 usage or input error (bad arguments or grid, a threshold
 * below the result's kept floor, cluster.refine = pnc_dob, unreadable or
 * malformed files, records that do not join the truth), 1 other failures.
 */
int ddw_sweep_cli(const ddw_comm *comm, int argc, char **argv);

#endif /* DDW_SWEEP_H */
