/*
 * ddw_h5io.h - the only interface to HDF5: collective, compressed,
 * columnar writes of data that ranks hold in segments, and whole-dataset
 * reads of an existing file (every rank reads the same data).
 */
#ifndef DDW_H5IO_H
#define DDW_H5IO_H

#include <stdint.h>

#include "ddw.h"
#include "ddw_comm.h"

typedef struct ddw_h5 ddw_h5;

typedef enum { DDW_H5_U8, DDW_H5_I32, DDW_H5_I64, DDW_H5_U64, DDW_H5_F64, DDW_H5_STR } ddw_h5_type;

/* Creates (truncates) path for parallel writing by all ranks.  Collective. */
ddw_status ddw_h5_create(const ddw_comm *comm, const char *path, int deflate, uint64_t chunk,
                         ddw_h5 **out);
/* Closes the file; accepts NULL and NULLs the caller's pointer.  Collective. */
ddw_status ddw_h5_close(ddw_h5 **f);
/* Creates a group.  Collective. */
ddw_status ddw_h5_group(ddw_h5 *f, const char *path);

/* Storage flags for ddw_h5_write (the stored values and types do not depend
 * on them).  DDW_H5_NOSHUFFLE: deflate the bytes as they are, without the
 * byte shuffle that otherwise precedes it; better for columns whose whole
 * values repeat (weights from a small set of patterns, categories). */
#define DDW_H5_NOSHUFFLE 1u

/*
 * Writes dataset 'path' of nglobal rows, chunked and deflate-compressed,
 * collectively.  This rank contributes nseg segments: segment k is
 * seg_n[k] rows starting at global row seg_off[k]; 'data' holds the rows
 * of all segments back to back.  For DDW_H5_STR each row is a fixed
 * 'width'-byte NUL-padded string (width must be the same on all ranks); for
 * numeric types width must be 1.  flags (DDW_H5_NOSHUFFLE or 0) must be
 * the same on all ranks.  Chunks hold the configured chunk rows or, for
 * rows so wide that a chunk would pass 4 MiB, a divisor of that count (a
 * table with fewer rows is one chunk).  Fast path: one segment per rank,
 * starting at a multiple of the configured chunk rows; several segments
 * per rank are correct but HDF5 maps them onto chunks row by row.
 * Every rank makes the collective calls even if its own part fails, and
 * then returns the failure: callers agree on the status before the next
 * collective step.
 */
ddw_status ddw_h5_write(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t width,
                        unsigned flags, uint64_t nglobal, int nseg, const uint64_t *seg_off,
                        const uint64_t *seg_n, const void *data);

/* Writes a dataset that rank 0 holds in full: n rows (other ranks' data is
 * ignored and may be NULL).  Collective, as ddw_h5_write. */
ddw_status ddw_h5_write_rank0(ddw_h5 *f, const ddw_comm *comm, const char *path,
                              ddw_h5_type type, uint64_t width, uint64_t n, const void *data);

/* The same for a 2-D numeric dataset of nglobal rows x ncols columns (ncols >= 1). */
ddw_status ddw_h5_write_matrix(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t ncols,
                               unsigned flags, uint64_t nglobal, int nseg,
                               const uint64_t *seg_off, const uint64_t *seg_n, const void *data);

/* Attributes on object 'obj' ("/" for the file); values must be identical on all ranks. */
ddw_status ddw_h5_attr_str(ddw_h5 *f, const char *obj, const char *name, const char *value);
ddw_status ddw_h5_attr_f64(ddw_h5 *f, const char *obj, const char *name, const double *v, int n);
ddw_status ddw_h5_attr_i64(ddw_h5 *f, const char *obj, const char *name, const int64_t *v, int n);

/* ---- existing files ------------------------------------------------------ */

/*
 * Opens the existing file at path on all ranks of comm: read-only, or for
 * reading and writing when readwrite is nonzero.  Every call on the handle
 * is then collective (HDF5 metadata operations are), so all ranks make the
 * same calls in the same order.  Datasets written into an opened file are
 * chunked (65536 rows) but not compressed; objects created in it use the
 * HDF5 1.8 object format, so their attributes may exceed 64 KiB.  Close
 * with ddw_h5_close.  Errors: DDW_EHDF5 (missing, unreadable or not HDF5;
 * not writable when readwrite), *out then NULL.
 */
ddw_status ddw_h5_open(const ddw_comm *comm, const char *path, int readwrite, ddw_h5 **out);

/* *exists = 1 if every link along the absolute path (e.g. "/a/b") exists,
 * else 0.  Errors: DDW_EINVAL path not absolute, DDW_EHDF5.  Collective. */
ddw_status ddw_h5_exists(ddw_h5 *f, const char *path, int *exists);

/* Deletes the link path (a group goes with everything in it) if it exists;
 * success when it does not.  The file's space is not reclaimed.
 * Errors: DDW_EINVAL, DDW_EHDF5.  Collective. */
ddw_status ddw_h5_delete(ddw_h5 *f, const char *path);

/*
 * Reads the whole 1-D dataset path into *data (newly allocated, caller
 * frees; never NULL on success) and its row count into *n.  Numeric types
 * are converted by HDF5 to the requested native type (any integer or float
 * dataset; DDW_H5_U8 is uint8_t, ..., DDW_H5_F64 double), and *width, if
 * width is not NULL, is set to 1.  For DDW_H5_STR the dataset must hold
 * fixed-width strings: each row is returned in *width = stored width + 1
 * bytes, NUL-padded, so every row is a NUL-terminated C string.
 * Errors: DDW_EHDF5 (missing dataset, read failure), DDW_EINVAL (not 1-D,
 * or its type cannot be read as the requested one, e.g. variable-length
 * strings); *data is then NULL and *n 0.  Collective.
 */
ddw_status ddw_h5_read(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t *n,
                       uint64_t *width, void **data);

/*
 * Reads only part 'part' of 'nparts' equal parts of the 1-D dataset path:
 * rows [n*part/nparts, n*(part+1)/nparts), as ddw_h5_read does for the whole
 * (same types, widths and errors), with *n the dataset's total rows, *first
 * the first row read and *count the rows in *data.  Collective: every rank
 * calls it (typically part = rank, nparts = ranks), also with no rows.
 * DDW_EINVAL if part >= nparts.
 */
ddw_status ddw_h5_read_part(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t part,
                            uint64_t nparts, uint64_t *n, uint64_t *first, uint64_t *count,
                            uint64_t *width, void **data);

/*
 * Reads string attribute name of object obj ("/" for the file), fixed- or
 * variable-length, into *value (newly allocated NUL-terminated copy,
 * caller frees).  Errors: DDW_EHDF5 (no such object or attribute),
 * DDW_EINVAL (not a scalar string); *value is then NULL.  Collective.
 */
ddw_status ddw_h5_read_attr_str(ddw_h5 *f, const char *obj, const char *name, char **value);

/*
 * Reads a whole dataset of any rank in its stored form: numbers converted
 * to the native type of the same class and size, fixed-width strings as
 * stored.  *nelem elements of *esize bytes each in *data (caller frees).
 * Errors: DDW_EHDF5; DDW_EINVAL for variable-length strings.  Collective.
 */
ddw_status ddw_h5_read_raw(ddw_h5 *f, const char *path, uint64_t *nelem, uint64_t *esize,
                           void **data);

/* Names of the links in a group, in name order (*names and each name newly
 * allocated; caller frees).  Errors: DDW_EHDF5.  Collective. */
ddw_status ddw_h5_list(ddw_h5 *f, const char *group, char ***names, size_t *n);

/* Reads a scalar numeric attribute as a double.  Errors: DDW_EHDF5. */
ddw_status ddw_h5_read_attr_f64(ddw_h5 *f, const char *obj, const char *name, double *v);

#endif /* DDW_H5IO_H */
