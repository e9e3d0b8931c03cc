/*
 * timers.c - stage timers (see ddw_timers.h).  Trade-off: coarse stage
 * timing only, so the numbers cost nothing and never perturb kernels.
 */
#include "ddw_timers.h"

const char *const ddw_timer_names[DDW_NTIMERS] = {"ingest", "block", "train", "score",
                                                  "cluster", "write", "total"};

void ddw_timer_start(ddw_timers *t, ddw_timer_id id)
{
    t->start[id] = ddw_comm_wtime();
    t->sent_start[id] = t->comm ? ddw_comm_bytes_sent(t->comm) : 0;
}

void ddw_timer_stop(ddw_timers *t, ddw_timer_id id)
{
    t->elapsed[id] += ddw_comm_wtime() - t->start[id];
    if (t->comm)
        t->sent[id] += ddw_comm_bytes_sent(t->comm) - t->sent_start[id];
}

void ddw_timers_reduce(ddw_timers *t, const ddw_comm *comm)
{
    for (int i = 0; i < DDW_NTIMERS; i++)
        t->min[i] = t->avg[i] = t->max[i] = t->elapsed[i];
    ddw_comm_allreduce_f64(comm, t->min, DDW_NTIMERS, DDW_COMM_MIN);
    ddw_comm_allreduce_f64(comm, t->avg, DDW_NTIMERS, DDW_COMM_SUM);
    ddw_comm_allreduce_f64(comm, t->max, DDW_NTIMERS, DDW_COMM_MAX);
    for (int i = 0; i < DDW_NTIMERS; i++)
        t->avg[i] /= ddw_comm_size(comm);
    for (int i = 0; i < DDW_NTIMERS; i++)
        t->sent_max[i] = t->sent[i];
    ddw_comm_allreduce_u64(comm, t->sent, DDW_NTIMERS, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, t->sent_max, DDW_NTIMERS, DDW_COMM_MAX);
}
