/*
 * ddw_rerun.h - reproduce a recorded result and compare the two.
 */
#ifndef DDW_RERUN_H
#define DDW_RERUN_H

#include <stdio.h>

#include "ddw.h"
#include "ddw_comm.h"

/*
 * Reads what RESULT records (config text, effective values, model, kept
 * edge floor, inputs and their SHA-256), checks on rank 0 that every input
 * exists with its recorded checksum (naming the source and file if not),
 * writes the config (and model) into dir, and returns in *argc and *argv the
 * link command line that repeats the job with output in dir
 * (caller frees each string and the array).  DDW_ECONFIG for a missing or
 * changed input or an unreadable result; all ranks return the same.
 * Collective.
 */
ddw_status ddw_rerun_prepare(const ddw_comm *comm, const char *result, const char *dir,
                             FILE *err, int *argc, char ***argv);

/*
 * Compares the results at old_path and new_path dataset by dataset (every
 * dataset of /records, /persons, /edges, /rejects, /sources and /model,
 * bit for bit, and the model's prior and threshold), printing each
 * difference and a verdict line to out (may be NULL).  Returns 0 if
 * identical, 1 if not, -1 if a file cannot be opened.  Collective.
 */
int ddw_rerun_compare(const ddw_comm *comm, const char *old_path, const char *new_path,
                      FILE *out);

#endif /* DDW_RERUN_H */
