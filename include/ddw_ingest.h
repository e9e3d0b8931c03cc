/*
 * ddw_ingest.h - stage 1: read every source's CSV in parallel, normalise
 * each row's identifying fields, and reject rows that cannot be used.
 *
 * Each rank reads a contiguous byte range of every file; a record belongs
 * to the rank whose range holds its first byte.  The rows a rank accepts
 * stay on that rank (its "home" rows) until the writer puts them in the
 * output, so no rank ever holds all input.
 */
#ifndef DDW_INGEST_H
#define DDW_INGEST_H

#include <stdint.h>
#include <stdio.h>

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_records.h"

/* Where each source's data lies and which CSV column feeds what. */
typedef struct {
    uint64_t size;        /* file size in bytes */
    uint64_t data_start;  /* first byte after the header record */
    uint64_t header_lines;/* lines taken by the header (usually 1) */
    int ncols;
    int id_col;
    int col[DDW_NFIELDS];     /* -1 when unmapped */
    int keep_col[DDW_MAX_KEEP];/* per output pass-through column; -1 if the source lacks it */
    char sha256[65];
} ddw_source_plan;

typedef struct {
    int nsources;
    ddw_source_plan *src;
    int nkeep;                     /* union of pass-through columns over sources */
    char *keep[DDW_MAX_KEEP];
} ddw_ingest_plan;

#define DDW_REASON_LEN 96
typedef struct {
    int32_t source;
    int64_t line;
    char reason[DDW_REASON_LEN];   /* never holds identifying values */
} ddw_reject;

/* The rows this rank read. */
typedef struct {
    ddw_recs recs;           /* accepted rows in (source, line) order; key = DDW_KEY(source, line) */
    char *text;              /* record IDs and pass-through values */
    size_t tlen, tcap;
    uint32_t *id_off;        /* per accepted row */
    uint16_t *id_len;
    uint32_t *keep_off;      /* per accepted row x plan.nkeep */
    uint16_t *keep_len;
    uint64_t *seg_first;     /* per source: index of its first accepted row here */
    uint64_t *seg_count;     /* per source: accepted rows here */
    uint64_t *rows_read;     /* per source: rows (records) read here */
    uint64_t *rows_rejected; /* per source */
    uint64_t bytes_read;
    ddw_reject *rejects;     /* in (source, line) order */
    size_t nrejects, rcap;
} ddw_ingest_out;

/*
 * Checks every source before work starts: opens the file, reads its header
 * and resolves every mapped column.  Collective; every rank gets the same
 * status and, on success, the same plan.  Messages name the config file,
 * line and key, and go to err on rank 0.
 */
ddw_status ddw_ingest_prepare(const ddw_config *cfg, const ddw_comm *comm, FILE *err,
                              ddw_ingest_plan *plan);
void ddw_ingest_plan_free(ddw_ingest_plan *plan);

/*
 * Reads and normalises this rank's share of every source into *out
 * (caller frees with ddw_ingest_free).  Also computes each file's SHA-256
 * (into plan).  Collective; call it outside any parallel region: it runs
 * omp_get_max_threads() OpenMP threads, and *out is the same, byte for byte,
 * for any thread and rank count.  A record whose quoted field is still open
 * at the end of the file is rejected ("unterminated quoted field at end of
 * file") with its first line only; reading goes on from the next line.
 */
ddw_status ddw_ingest_run(const ddw_config *cfg, const ddw_comm *comm, ddw_ingest_plan *plan,
                          ddw_ingest_out *out);
void ddw_ingest_free(ddw_ingest_out *out);

/*
 * Normalises one parsed CSV record of source s into a new row of out
 * (exposed for unit tests).  Returns 1 if accepted; 0 if rejected, with
 * the reason (naming the column, never its value) in reason.
 */
int ddw_ingest_row(const ddw_config *cfg, const ddw_ingest_plan *plan, int s, uint64_t line,
                   const char *rec, size_t len, char *scratch, size_t scratch_cap,
                   ddw_ingest_out *out, char reason[DDW_REASON_LEN]);

/* Bit mask of the fields any blocking pass or comparison reads. */
unsigned ddw_ingest_fieldmask(const ddw_config *cfg);

/* SHA-256 of a file as 64 lower-case hex digits.  DDW_EIO if unreadable. */
ddw_status ddw_ingest_sha256_file(const char *path, char hex[65]);

#endif /* DDW_INGEST_H */
