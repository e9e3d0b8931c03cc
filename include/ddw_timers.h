/*
 * ddw_timers.h - per-stage wall-clock timers, kept by the driver around
 * stage calls (never inside kernels) and reduced over ranks at the end.
 */
#ifndef DDW_TIMERS_H
#define DDW_TIMERS_H

#include <stdint.h>

#include "ddw_comm.h"

typedef enum {
    DDW_T_INGEST,
    DDW_T_BLOCK,
    DDW_T_TRAIN,
    DDW_T_SCORE,
    DDW_T_CLUSTER,
    DDW_T_WRITE,
    DDW_T_TOTAL,
    DDW_NTIMERS
} ddw_timer_id;

typedef struct {
    const ddw_comm *comm; /* set by the caller: bytes sent are counted per stage */
    double start[DDW_NTIMERS];
    double elapsed[DDW_NTIMERS];
    double min[DDW_NTIMERS], avg[DDW_NTIMERS], max[DDW_NTIMERS]; /* after reduce */
    uint64_t sent_start[DDW_NTIMERS];
    uint64_t sent[DDW_NTIMERS];     /* bytes this rank sent to other ranks (all-to-all
                                       exchanges) during the stage; summed over ranks
                                       by ddw_timers_reduce */
    uint64_t sent_max[DDW_NTIMERS]; /* after reduce: the largest rank's bytes */
} ddw_timers;

extern const char *const ddw_timer_names[DDW_NTIMERS];

void ddw_timer_start(ddw_timers *t, ddw_timer_id id);
void ddw_timer_stop(ddw_timers *t, ddw_timer_id id);
/* Reduces elapsed times to min/avg/max over ranks.  Collective. */
void ddw_timers_reduce(ddw_timers *t, const ddw_comm *comm);

#endif /* DDW_TIMERS_H */
