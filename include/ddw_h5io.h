/*
 * ddw_h5io.h - the only interface to HDF5: collective, compressed,
 * columnar writes of data that ranks hold in segments.
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

/*
 * Writes dataset 'path' of nglobal rows, chunked and deflate-compressed,
 * collectively.  This rank contributes nseg segments: segment k is
 * seg_n[k] rows starting at global row seg_off[k]; 'data' holds the rows
 * of all segments back to back.  For DDW_H5_STR each row is a fixed
 * 'width'-byte NUL-padded string (width must be the same on all ranks); for
 * numeric types width must be 1.  Every rank makes the collective calls
 * even if its own part fails, and then returns the failure: callers agree
 * on the status before the next collective step.
 */
ddw_status ddw_h5_write(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t width,
                        uint64_t nglobal, int nseg, const uint64_t *seg_off,
                        const uint64_t *seg_n, const void *data);

/* The same for a 2-D numeric dataset of nglobal rows x ncols columns (ncols >= 1). */
ddw_status ddw_h5_write_matrix(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t ncols,
                               uint64_t nglobal, int nseg, const uint64_t *seg_off,
                               const uint64_t *seg_n, const void *data);

/* Attributes on object 'obj' ("/" for the file); values must be identical on all ranks. */
ddw_status ddw_h5_attr_str(ddw_h5 *f, const char *obj, const char *name, const char *value);
ddw_status ddw_h5_attr_f64(ddw_h5 *f, const char *obj, const char *name, const double *v, int n);
ddw_status ddw_h5_attr_i64(ddw_h5 *f, const char *obj, const char *name, const int64_t *v, int n);

#endif /* DDW_H5IO_H */
