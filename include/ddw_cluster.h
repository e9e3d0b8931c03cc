/*
 * ddw_cluster.h - stage 4: distributed connected components over the
 * edges, giving each record a person ID = the smallest global record key
 * in its component.
 */
#ifndef DDW_CLUSTER_H
#define DDW_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"
#include "ddw_comm.h"

/* Serial union-find over n items (exposed for the stage and for tests). */
typedef struct {
    uint32_t *parent;
    size_t n;
} ddw_uf;

void ddw_uf_init(ddw_uf *uf, size_t n);
void ddw_uf_free(ddw_uf *uf);
/* Root of x, with path halving. */
uint32_t ddw_uf_find(ddw_uf *uf, uint32_t x);
/* Joins the sets of x and y; the smaller index becomes the root. */
void ddw_uf_union(ddw_uf *uf, uint32_t x, uint32_t y);


typedef struct {
    int rounds;        /* contraction rounds */
    int jump_rounds;   /* pointer-jumping rounds */
} ddw_cluster_stats;

/*
 * Edges (a[k], b[k]) of this rank (any distribution of edges over ranks);
 * keys[0..nkeys) the records whose person ID this rank wants.  On return
 * person[i] is the smallest key connected to keys[i] (keys[i] itself when
 * it has no edge).  Collective.  The result depends only on the global
 * edge set, never on how it is spread over ranks.
 */
ddw_status ddw_cluster_run(const ddw_comm *comm, const uint64_t *a, const uint64_t *b,
                           size_t nedges, const uint64_t *keys, size_t nkeys, uint64_t *person,
                           ddw_cluster_stats *stats);

#endif /* DDW_CLUSTER_H */
