/*
 * ddw_comm.h - the communication layer: the only interface through which
 * ddwlink stages talk to other ranks.
 *
 * Trade-off: a deliberately small API (collectives on plain byte and
 * integer buffers) instead of exposing MPI types.  Stages stay testable
 * without MPI (build with -DDDW_NO_MPI for a one-rank fallback) and the
 * whole program's communication pattern can be read in one file.  All calls
 * are collective unless noted and must be made from the main thread,
 * outside OpenMP regions (MPI_THREAD_FUNNELED).
 */
#ifndef DDW_COMM_H
#define DDW_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"

typedef struct ddw_comm ddw_comm;

typedef enum { DDW_COMM_SUM, DDW_COMM_MIN, DDW_COMM_MAX } ddw_comm_op;

/* Initialises MPI (FUNNELED) and returns the world communicator handle in *out. */
ddw_status ddw_comm_init(int *argc, char ***argv, ddw_comm **out);
/* Finalises MPI; accepts NULL and NULLs the caller's pointer. */
void ddw_comm_finalize(ddw_comm **c);

int ddw_comm_rank(const ddw_comm *c);
int ddw_comm_size(const ddw_comm *c);
/* Wall-clock seconds (not collective). */
double ddw_comm_wtime(void);
/* Pointer to the native MPI_Comm, for the HDF5 layer only (not collective). */
void *ddw_comm_native(const ddw_comm *c);
/*
 * Agrees on a status across ranks: returns the most severe (most negative)
 * status of any rank, so every rank takes the same branch after a step that
 * can fail locally.  A rank that succeeded but sees another rank's failure
 * gets that failure's code.
 */
int ddw_comm_agree(const ddw_comm *c, int status);

/* Broadcasts n bytes from root. */
void ddw_comm_bcast(const ddw_comm *c, void *buf, size_t n, int root);
/* Broadcasts a NUL-terminated string from root; non-root ranks receive a
 * newly allocated copy in *s (any previous value is freed). */
void ddw_comm_bcast_str(const ddw_comm *c, char **s, int root);

/* In-place reductions over n values. */
void ddw_comm_allreduce_u64(const ddw_comm *c, uint64_t *v, int n, ddw_comm_op op);
void ddw_comm_allreduce_i64(const ddw_comm *c, int64_t *v, int n, ddw_comm_op op);
void ddw_comm_allreduce_f64(const ddw_comm *c, double *v, int n, ddw_comm_op op);

/* out[r*n + i] = in[i] of rank r; out holds size*n values. */
void ddw_comm_allgather_u64(const ddw_comm *c, const uint64_t *in, int n, uint64_t *out);

/*
 * Personalised all-to-all exchange of bytes.  sendbuf holds the bytes for
 * rank 0, then rank 1, ...; sendcounts[r] bytes for rank r.  On return
 * *recvbuf is a newly allocated buffer (caller frees) holding what each rank
 * sent, in rank order, recvcounts[r] bytes from rank r (recvcounts is
 * caller-provided, size entries), and *recvtotal their sum.  Messages larger
 * than MPI's int counts are sent in rounds.
 */
void ddw_comm_alltoallv(const ddw_comm *c, const void *sendbuf, const uint64_t *sendcounts,
                        void **recvbuf, uint64_t *recvcounts, uint64_t *recvtotal);

/*
 * Routes fixed-size records: buf holds n records of rec bytes, record i is
 * for rank dest[i].  Returns a new buffer (caller frees) with the records
 * this rank receives, grouped by sender rank and in each sender's order,
 * and their count in *nrecv.  Collective.
 */
void *ddw_comm_route(const ddw_comm *c, const void *buf, size_t n, size_t rec, const int *dest,
                     size_t *nrecv);

/*
 * Gathers every rank's n bytes onto every rank: returns a new buffer
 * (caller frees) holding rank 0's bytes, then rank 1's, ..., and their
 * total in *total.  Meant for small data (pattern counts, samples).
 */
void *ddw_comm_allgatherv(const ddw_comm *c, const void *buf, uint64_t n, uint64_t *total);

/*
 * Writes a file holding every rank's n bytes in rank order (rank 0's bytes
 * first), creating or truncating path, with collective MPI-IO writes at
 * offsets from a prefix sum of the ranks' sizes (so any n, including 0 and
 * more than 2 GiB).  All ranks return the same status: DDW_EIO if any rank
 * failed.
 */
ddw_status ddw_comm_write_ordered(const ddw_comm *c, const char *path, const void *buf,
                                  uint64_t n);

/* Total bytes this rank has sent through ddw_comm_alltoallv so far (not collective). */
uint64_t ddw_comm_bytes_sent(const ddw_comm *c);

#endif /* DDW_COMM_H */
