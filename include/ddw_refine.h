/*
 * ddw_refine.h - stage 4b: refinement of connected components that resists
 * chaining.  A component whose records hold conflicting identities (two
 * different valid PNC IDs, or incompatible dates of birth) is split along
 * its weakest edges; a component without conflicts keeps its person ID.
 */
#ifndef DDW_REFINE_H
#define DDW_REFINE_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"
#include "ddw_comm.h"

/* Missing date of birth. */
#define DDW_REFINE_DOB_NONE INT32_MIN
/*
 * Most distinct dates of birth one sub-cluster may hold.  Dates in one
 * sub-cluster are pairwise compatible, and no more than 11 dates are
 * (checked exhaustively for the years 1850-2100), so the cap is never
 * reached in practice; a merge that would pass it is refused like a
 * conflict (the edge counts as skipped).
 */
#define DDW_REFINE_MAX_DOBS 16

typedef struct {
    int use_pnc; /* two different valid PNC IDs conflict */
    int use_dob; /* two incompatible dates of birth conflict */
    int use_attach; /* attach_once records never bridge two anchored sets (below) */
} ddw_refine_opts;

/* One record's identity; 32 bytes, no padding. */
typedef struct {
    uint64_t key;      /* global record key (unique) */
    uint64_t person;   /* person ID from connected components (ddw_refine_run only) */
    uint64_t pnc;      /* hash of the police ID, 0 = none */
    int32_t dob;       /* day number (ddw_norm_days_from_civil), DDW_REFINE_DOB_NONE = missing */
    uint16_t pnc_valid;   /* 1 if the police ID has a valid check character */
    uint16_t attach_once; /* 1 if the record's source is attach_once (weakly identified) */
} ddw_refine_rec;

/* One scored pair of record keys. */
typedef struct {
    uint64_t a, b;
    double w;
} ddw_refine_edge;

typedef struct {
    uint64_t components_checked; /* components of two or more records */
    uint64_t components_split;   /* of those, the ones that became two or more sub-clusters */
    uint64_t edges_skipped;      /* edges not applied because the merge would conflict */
    uint64_t subclusters_created; /* person IDs added: sum over components of (sub-clusters - 1) */
} ddw_refine_stats;

/*
 * 1 if the dates of birth a and b (day numbers) may belong to one person,
 * else 0.  Compatible: either is missing (DDW_REFINE_DOB_NONE); equal; day
 * and month swapped; differing in exactly one of day, month and year, by
 * one decimal digit of the YYYYMMDD form (1985-03-12 ~ 1985-03-17,
 * 1985-08-12, 1955-03-12; years outside 0..9999 have no digit rule); year
 * +-1 with the same day and month (1989-03-12 ~ 1990-03-12); either is
 * 1 January of the other's year (a placeholder).  Symmetric, not
 * transitive.  Pure, thread-safe.
 */
int ddw_refine_dob_compatible(int32_t a, int32_t b);

/*
 * 1 if records x and y conflict under o: both have nonzero valid PNC IDs
 * that differ (if o->use_pnc), or both have dates of birth that are not
 * compatible (if o->use_dob).  Pure, thread-safe.
 */
int ddw_refine_conflict(const ddw_refine_opts *o, const ddw_refine_rec *x,
                        const ddw_refine_rec *y);

/*
 * Refines one component: recs[0..nrec) (distinct keys, any order; the
 * person field is ignored) and the edges[0..nedge) between them (any order,
 * duplicates, reversed copies and self-loops allowed).  Edges are taken by
 * weight descending, ties by a then b ascending (NaN weights last); an edge
 * joins its endpoints' sub-clusters unless the joined sub-cluster would
 * hold a conflicting pair of records (see ddw_refine_conflict) or more than
 * DDW_REFINE_MAX_DOBS distinct dates, in which case it is skipped.  With
 * o->use_attach, a sub-cluster is "anchored" once it holds a record whose
 * attach_once is 0, and an edge with an attach_once endpoint is also
 * skipped when it would join two anchored sub-clusters: a weakly identified
 * record joins the anchored sub-cluster of its strongest edge and never
 * bridges two (edges between two anchored records are not restricted).  Writes
 * person_out[i] = smallest key of recs[i]'s sub-cluster, and the number of
 * skipped edges to *skipped (if not NULL).  With no conflicting pair in the
 * component the result is plain connected components.  The result depends
 * only on the sets of records and edges, never on their order.  Allocates
 * only temporaries; thread-safe.
 * Errors: DDW_EINVAL if an edge endpoint is not a key of recs or two recs
 * share a key; DDW_ERANGE if nrec >= 2^32 - 1 (32-bit union-find).
 * person_out is then unspecified.
 */
ddw_status ddw_refine_component(const ddw_refine_opts *o, size_t nrec, const ddw_refine_rec *recs,
                                size_t nedge, const ddw_refine_edge *edges, uint64_t *person_out,
                                size_t *skipped);

/*
 * Distributed refinement.  home[0..nhome) are this rank's records with
 * their person IDs from connected components (ddw_cluster_run over the same
 * edges); keys are unique over all ranks.  (a[k], b[k], w[k]) for k <
 * nedge are this rank's edges: every edge is held by exactly one rank, and
 * a and b are keys of some rank's home records in the same component.
 * Every component is refined by one rank (ddw_refine_component, components
 * in parallel with OpenMP), so on return person_out[i] is home[i]'s new
 * person ID, identical for any number of ranks and any spread of records
 * and edges.  *st gets global sums (the same on every rank).  Collective;
 * the caller keeps ownership of every array.
 * Errors (all ranks return the same status): DDW_EINVAL if o or st is
 * NULL on any rank, a key appears twice, an edge names an unknown key or
 * its endpoints lie in different components; DDW_ERANGE if a component has
 * 2^32 - 1 records or more.  person_out and *st are then unspecified.
 */
ddw_status ddw_refine_run(const ddw_comm *comm, const ddw_refine_opts *o, size_t nhome,
                          const ddw_refine_rec *home, size_t nedge, const uint64_t *a,
                          const uint64_t *b, const double *w, uint64_t *person_out,
                          ddw_refine_stats *st);

#endif /* DDW_REFINE_H */
