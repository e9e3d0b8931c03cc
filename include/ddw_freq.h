/*
 * ddw_freq.h - term frequencies of field values over all ranks, for the
 * term-frequency adjustment of exact agreement (compare.NAME.tf = yes).
 */
#ifndef DDW_FREQ_H
#define DDW_FREQ_H

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_records.h"

/* Bit mask of the fields some comparison adjusts by term frequency. */
unsigned ddw_freq_fields(const ddw_config *cfg);

/*
 * For every tf field, sets home->tfw[f][i] = -log2(c / N) where c is the
 * number of records (all ranks) whose value equals record i's and N the
 * number of records with a value in that field; 0 for a missing value.
 * Allocates the tfw columns.  Collective; exact counts, so the result does
 * not depend on the rank count.
 */
ddw_status ddw_freq_run(const ddw_config *cfg, const ddw_comm *comm, ddw_recs *home);

#endif /* DDW_FREQ_H */
