/*
 * ddw_csv.h - RFC 4180 CSV scanning: byte counting, record segmentation by
 * a quote automaton, and splitting one record into fields.
 *
 * Trade-off: a record ends at a '\n' that is not inside a quoted field, as
 * a four-state automaton decides (a quote opens a quoted field only at the
 * start of a field).  The automaton can be run over any byte range from all
 * four start states at once, so every MPI rank and thread finds the record
 * boundaries of its own range from the maps of the ranges before it, and
 * segmentation does not depend on how the file is split; the price is that
 * a quote that opens a field by mistake mis-segments until the next quote
 * (the split step then reports DDW_ECSV for the affected records), and a
 * quoted field that never closes runs to the end of the file unless the
 * reader restarts after it (ingest.c does, on the next line).
 *
 * Nothing here allocates or keeps state between calls: callers own every
 * buffer, and all functions are safe to call from many threads at once.
 */
#ifndef DDW_CSV_H
#define DDW_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "ddw.h"

/* One field of a split record: ptr[0..len) is the field's value, not
 * NUL-terminated.  ptr points into the record (unquoted fields) or into the
 * caller's scratch buffer (quoted fields, unescaped). */
typedef struct {
    const char *ptr;
    size_t len;
} ddw_csv_field;

/*
 * Counts the '"' and '\n' bytes in buf[0..len) and ADDS them to *quotes and
 * *newlines (so a caller can accumulate over several buffers; zero them
 * first for a single count).  buf may be NULL when len is 0.
 */
void ddw_csv_count(const char *buf, size_t len, uint64_t *quotes, uint64_t *newlines);

/* States of the record-segmentation automaton. */
enum {
    DDW_CSV_S_START = 0,    /* at the start of a field (and of a record) */
    DDW_CSV_S_UNQUOTED = 1, /* inside an unquoted field */
    DDW_CSV_S_QUOTED = 2,   /* inside a quoted field */
    DDW_CSV_S_QQ = 3        /* just after a '"' inside a quoted field */
};

/*
 * Runs the automaton over [buf, buf+len) from each of the four states:
 * map[s] is the state at the end when starting in state s.  Composing the
 * maps of consecutive chunks gives the state at any chunk boundary.
 */
void ddw_csv_transitions(const char *buf, size_t len, uint8_t map[4]);

/*
 * Finds the end of the current record: scans [p, end) from automaton state
 * *state and returns the first '\n' that is not inside a quoted field
 * (*state is then DDW_CSV_S_START), or NULL if there is none before end
 * (*state then holds the state at end, so the scan can resume on the next
 * buffer).  A quote opens a quoted field only at the start of a field.
 */
const char *ddw_csv_record_end(const char *p, const char *end, int *state);

/*
 * Splits one record rec[0..len) (without its terminating '\n') into fields.
 * A single trailing '\r' is stripped first, so CRLF files work.  Fields are
 * separated by ','.  A field that starts with '"' is quoted: it runs to the
 * matching closing '"', "" inside it stands for one '"', and it may contain
 * ',', '\r' and '\n'.
 *
 * Outputs: fields[0..min(*nfields, max_fields)) are filled.  Unquoted fields
 * point into rec; quoted fields are unescaped into scratch[0..scratch_cap),
 * one after another (scratch_cap >= len always suffices; scratch may be NULL
 * only if scratch_cap is 0).  Quoted fields beyond max_fields are validated
 * but not copied.  *nfields is the record's field count, even when it exceeds
 * max_fields.  An empty record gives *nfields = 1 with one empty field.
 * The returned pointers stay valid as long as rec and scratch do.
 *
 * Errors (then *nfields is 0 and fields[] is unspecified):
 *   DDW_ECSV   a '"' inside an unquoted field (including after leading
 *              blanks), anything but ',' or the record end after a closing
 *              quote, or an unterminated quoted field;
 *   DDW_ERANGE scratch too small for the unescaped quoted fields, or more
 *              than INT_MAX fields.
 */
ddw_status ddw_csv_split(const char *rec, size_t len, char *scratch, size_t scratch_cap,
                         ddw_csv_field *fields, int max_fields, int *nfields);

/* Returns 3 if buf[0..len) starts with the UTF-8 byte order mark EF BB BF,
 * else 0 (the number of bytes to skip). */
size_t ddw_csv_skip_bom(const char *buf, size_t len);

#endif /* DDW_CSV_H */
