/*
 * ddw_write.h - stage 5: the linked result as one HDF5 file.
 */
#ifndef DDW_WRITE_H
#define DDW_WRITE_H

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_ingest.h"
#include "ddw_score.h"

/* Provenance and run figures written as attributes of "/". */
typedef struct {
    const char *command_line;
    const char *version;
    const char *start_time;  /* ISO 8601 UTC */
    int ranks, threads;
    int nstages;
    const char *const *stage_names;
    double *stage_seconds;   /* max over ranks; the writer fills in its own entry */
    int write_stage;         /* index of the write stage in stage_seconds */
    const char *slurm;           /* SLURM job id, nodes, submit time; "" outside SLURM */
    const char *model_source;    /* "trained", "model file PATH" or "config" */
    const char *model_log;       /* training log (every EM iteration), "" if not trained */
    const char *model_ini;       /* the model as a model file (link --model), "" if none */
    double edges_kept_above;     /* /edges holds every scored pair at or above this weight */
} ddw_write_meta;

typedef struct {
    uint64_t records;  /* accepted records, all ranks */
    uint64_t persons;
    uint64_t edges;
    uint64_t rejects;
    uint64_t largest_person;
    uint64_t chunks_deflated; /* all ranks */
    uint64_t chunks_ahead;    /* of which compressed ahead on threads (deflate.c) */
} ddw_write_stats;

/*
 * Writes dir/link.h5 (via a temporary name in dir, renamed only once the
 * file is complete and closed).  home/person/pnc_key are this rank's rows,
 * their person IDs and their identity keys (ddw_compare_pnc_keys); edges are this rank's edges in any order (they are
 * re-distributed and sorted by (a, b) here; *edges is consumed).
 * Collective.
 */
ddw_status ddw_write_run(const ddw_config *cfg, const ddw_comm *comm, const ddw_ingest_plan *plan,
                         const ddw_ingest_out *home, const uint64_t *person,
                         const uint64_t *pnc_key, ddw_edges *edges,
                         ddw_write_meta *meta, const char *dir, ddw_write_stats *stats);

#endif /* DDW_WRITE_H */
