/*
 * h5io.c - the only file that calls HDF5.
 *
 * Every dataset is one column, written once, collectively: parallel HDF5
 * can only apply the deflate filter in collective mode.  Each rank selects
 * its segments as hyperslabs.  One contiguous slab per rank is the fast
 * case: HDF5 1.10 maps a selection that is not a single regular hyperslab
 * onto the chunks one element at a time (seconds for a few million rows),
 * so the writer (write.c) hands over one chunk-aligned slab per rank.
 * Chunk rows are the configured count or, when a row is wide, the largest
 * divisor of it that keeps a chunk within 4 MiB, so that slabs aligned to
 * the configured count are aligned for every column and no chunk is shared
 * between ranks.  Trade-off: strings are fixed-width (the longest value
 * sets the width), because parallel HDF5 cannot write variable-length
 * data; compression recovers most of the padding.  HDF5's own error
 * printing is switched off and failures come back as DDW_EHDF5.
 *
 * Reading an existing file (ddw_h5_open) is the simple symmetric case:
 * every rank reads whole datasets, which suits the small tables and
 * single-pass tools (evaluate) that read results; a stage that needs its
 * share of a large column would add a hyperslab read.
 */
#include "ddw_h5io.h"

#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

struct ddw_h5 {
    hid_t file;
    hid_t dxpl;
    int deflate;
    uint64_t chunk;
};

ddw_status ddw_h5_create(const ddw_comm *comm, const char *path, int deflate, uint64_t chunk,
                         ddw_h5 **out)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, *(MPI_Comm *)ddw_comm_native(comm), MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (file < 0)
        return DDW_EHDF5;
    ddw_h5 *f = ddw_xcalloc(1, sizeof *f);
    f->file = file;
    f->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(f->dxpl, H5FD_MPIO_COLLECTIVE);
    f->deflate = deflate;
    f->chunk = chunk;
    *out = f;
    return DDW_OK;
}

ddw_status ddw_h5_close(ddw_h5 **pf)
{
    if (pf == NULL || *pf == NULL)
        return DDW_OK;
    ddw_h5 *f = *pf;
    H5Pclose(f->dxpl);
    herr_t rc = H5Fclose(f->file);
    free(f);
    *pf = NULL;
    return rc < 0 ? DDW_EHDF5 : DDW_OK;
}

ddw_status ddw_h5_group(ddw_h5 *f, const char *path)
{
    hid_t g = H5Gcreate2(f->file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return DDW_EHDF5;
    H5Gclose(g);
    return DDW_OK;
}

static hid_t make_type(ddw_h5_type t, uint64_t width)
{
    switch (t) {
    case DDW_H5_U8: return H5Tcopy(H5T_NATIVE_UINT8);
    case DDW_H5_I32: return H5Tcopy(H5T_NATIVE_INT32);
    case DDW_H5_I64: return H5Tcopy(H5T_NATIVE_INT64);
    case DDW_H5_U64: return H5Tcopy(H5T_NATIVE_UINT64);
    case DDW_H5_F64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case DDW_H5_STR: {
        hid_t s = H5Tcopy(H5T_C_S1);
        H5Tset_size(s, width ? (size_t)width : 1);
        H5Tset_strpad(s, H5T_STR_NULLPAD);
        H5Tset_cset(s, H5T_CSET_UTF8);
        return s;
    }
    }
    return -1;
}

/* Rows per chunk for rows of rowbytes bytes: the configured count, or its
 * largest divisor that keeps a chunk within 4 MiB (HDF5 refuses chunks of
 * 4 GiB), or failing a quick search, 4 MiB of rows. */
static uint64_t chunk_rows(uint64_t chunk, uint64_t rowbytes)
{
    const uint64_t cap = (uint64_t)4 << 20;
    if (chunk == 0)
        chunk = 1;
    if (rowbytes == 0 || chunk * rowbytes <= cap)
        return chunk;
    uint64_t kmin = (chunk * rowbytes + cap - 1) / cap;
    /* the smallest divisor k >= kmin of chunk, searched a bounded distance */
    for (uint64_t k = kmin; k <= chunk && k <= 2 * kmin + 4096; k++)
        if (chunk % k == 0)
            return chunk / k;
    return cap / rowbytes ? cap / rowbytes : 1;
}

static uint64_t type_size(ddw_h5_type t)
{
    switch (t) {
    case DDW_H5_U8: case DDW_H5_STR: return 1;
    case DDW_H5_I32: return 4;
    case DDW_H5_I64: case DDW_H5_U64: case DDW_H5_F64: return 8;
    }
    return 1;
}

/* Shared by the 1-D and 2-D writers; twod makes a [nglobal, width] dataset. */
static ddw_status write_column(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t width,
                               int twod, unsigned flags, uint64_t nglobal, int nseg,
                               const uint64_t *seg_off, const uint64_t *seg_n, const void *data)
{
    int nd = twod ? 2 : 1;
    hsize_t dims[2] = {nglobal, width}, maxd[2] = {H5S_UNLIMITED, width};
    /* no more chunk rows than the dataset has */
    uint64_t rows = chunk_rows(f->chunk, width * type_size(type));
    if (rows > nglobal)
        rows = nglobal;
    if (rows == 0)
        rows = 1;
    hsize_t chunk[2] = {rows, width};
    ddw_status rc = DDW_EHDF5;
    hid_t dtype = make_type(type, width);
    hid_t fspace = H5Screate_simple(nd, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, nd, chunk);
    uint64_t esize = type_size(type) * (type == DDW_H5_STR ? width : 1);
    int shuffled = 0;
    if (f->deflate > 0) {
        /* byte shuffling helps numbers whose high bytes vary slowly and only
         * costs time when elements are single bytes */
        if (!(flags & DDW_H5_NOSHUFFLE) && esize > 1)
            H5Pset_shuffle(dcpl), shuffled = 1;
        H5Pset_deflate(dcpl, (unsigned)f->deflate);
    }
    hid_t dset = H5Dcreate2(f->file, path, dtype, fspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset < 0)
        goto done;
    /* a local selection failure must not skip the collective write: such a
     * rank writes nothing and reports the failure afterwards */
    uint64_t nlocal = 0;
    int local_ok = 1;
    H5Sselect_none(fspace);
    for (int k = 0; k < nseg && local_ok; k++) {
        if (seg_n[k] == 0)
            continue;
        hsize_t start[2] = {seg_off[k], 0}, count[2] = {seg_n[k], width};
        /* the first block replaces the empty selection, so that a single
         * segment stays a regular hyperslab */
        H5S_seloper_t op = nlocal == 0 ? H5S_SELECT_SET : H5S_SELECT_OR;
        if (H5Sselect_hyperslab(fspace, op, start, NULL, count, NULL) < 0)
            local_ok = 0;
        nlocal += seg_n[k];
    }
    if (!local_ok) {
        H5Sselect_none(fspace);
        nlocal = 0;
    }
    hsize_t mdims[2] = {nlocal, width};
    hid_t mspace = H5Screate_simple(nd, mdims, NULL);
    if (nlocal == 0)
        H5Sselect_none(mspace);
    /* one chunk-aligned slab (what write.c hands over): its chunks are
     * compressed ahead on threads, whole chunks only unless it ends the
     * dataset, where HDF5 pads the last chunk with zeros */
    int one = 0, k1 = -1;
    for (int k = 0; k < nseg; k++)
        if (seg_n[k])
            one++, k1 = k;
    if (f->deflate > 0 && nlocal > 0 && one == 1 && seg_off[k1] % rows == 0) {
        uint64_t rowbytes = width * type_size(type), nrows = nlocal;
        if (seg_off[k1] + nlocal < nglobal)
            nrows -= nrows % rows;
        ddw_deflate_ahead(data, (size_t)(nrows * rowbytes), (size_t)(rows * rowbytes),
                          (size_t)esize, shuffled, f->deflate);
    }
    herr_t wrc = 0;
    if (nglobal > 0)
        wrc = H5Dwrite(dset, dtype, mspace, fspace, f->dxpl, nlocal ? data : NULL);
    ddw_deflate_ahead_done();
    rc = local_ok && wrc >= 0 ? DDW_OK : DDW_EHDF5;
    H5Sclose(mspace);
    H5Dclose(dset);
done:
    H5Pclose(dcpl);
    H5Sclose(fspace);
    H5Tclose(dtype);
    return rc;
}

ddw_status ddw_h5_write(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t width,
                        unsigned flags, uint64_t nglobal, int nseg, const uint64_t *seg_off,
                        const uint64_t *seg_n, const void *data)
{
    return write_column(f, path, type, width, 0, flags, nglobal, nseg, seg_off, seg_n, data);
}

ddw_status ddw_h5_write_rank0(ddw_h5 *f, const ddw_comm *comm, const char *path,
                              ddw_h5_type type, uint64_t width, uint64_t n, const void *data)
{
    uint64_t zero = 0, cnt = ddw_comm_rank(comm) == 0 ? n : 0;
    return ddw_h5_write(f, path, type, width, 0, n, 1, &zero, &cnt, data);
}

ddw_status ddw_h5_write_matrix(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t ncols,
                               unsigned flags, uint64_t nglobal, int nseg,
                               const uint64_t *seg_off, const uint64_t *seg_n, const void *data)
{
    return write_column(f, path, type, ncols, 1, flags, nglobal, nseg, seg_off, seg_n, data);
}

static ddw_status write_attr(ddw_h5 *f, const char *obj, const char *name, hid_t type, int n,
                             const void *v)
{
    hid_t o = H5Oopen(f->file, obj, H5P_DEFAULT);
    if (o < 0)
        return DDW_EHDF5;
    hsize_t dims = (hsize_t)n;
    hid_t space = n <= 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, NULL);
    hid_t a = H5Acreate2(o, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(space);
    H5Oclose(o);
    return rc < 0 ? DDW_EHDF5 : DDW_OK;
}

ddw_status ddw_h5_attr_str(ddw_h5 *f, const char *obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    ddw_status rc = write_attr(f, obj, name, t, 0, value);
    H5Tclose(t);
    return rc;
}

ddw_status ddw_h5_attr_f64(ddw_h5 *f, const char *obj, const char *name, const double *v, int n)
{
    return write_attr(f, obj, name, H5T_NATIVE_DOUBLE, n, v);
}

ddw_status ddw_h5_attr_i64(ddw_h5 *f, const char *obj, const char *name, const int64_t *v, int n)
{
    return write_attr(f, obj, name, H5T_NATIVE_INT64, n, v);
}

/* ---- existing files -------------------------------------------------------- */

ddw_status ddw_h5_open(const ddw_comm *comm, const char *path, int readwrite, ddw_h5 **out)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, *(MPI_Comm *)ddw_comm_native(comm), MPI_INFO_NULL);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    /* new objects get version-2 headers, which keep large attributes densely */
    if (readwrite)
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t file = H5Fopen(path, readwrite ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (file < 0)
        return DDW_EHDF5;
    ddw_h5 *f = ddw_xcalloc(1, sizeof *f);
    f->file = file;
    f->dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(f->dxpl, H5FD_MPIO_COLLECTIVE);
    f->deflate = 0;
    f->chunk = 65536;
    *out = f;
    return DDW_OK;
}

ddw_status ddw_h5_exists(ddw_h5 *f, const char *path, int *exists)
{
    *exists = 0;
    if (path[0] != '/')
        return DDW_EINVAL;
    char *p = ddw_xstrdup(path);
    ddw_status rc = DDW_OK;
    /* H5Lexists needs every link before the last to exist: test prefixes */
    for (size_t k = 1;; k++) {
        if (p[k] != '/' && p[k] != '\0')
            continue;
        if (p[k - 1] != '/') {
            char c = p[k];
            p[k] = '\0';
            htri_t e = H5Lexists(f->file, p, H5P_DEFAULT);
            p[k] = c;
            if (e < 0)
                rc = DDW_EHDF5;
            if (e <= 0)
                goto done;
        }
        if (p[k] == '\0')
            break;
    }
    *exists = 1;
done:
    free(p);
    return rc;
}

ddw_status ddw_h5_delete(ddw_h5 *f, const char *path)
{
    int exists;
    ddw_status rc = ddw_h5_exists(f, path, &exists);
    if (rc != DDW_OK || !exists)
        return rc;
    return H5Ldelete(f->file, path, H5P_DEFAULT) < 0 ? DDW_EHDF5 : DDW_OK;
}

/* Rows [n*part/nparts, n*(part+1)/nparts) of a 1-D dataset of n rows (the whole
 * dataset when nparts == 1); see ddw_h5_read and ddw_h5_read_part. */
static ddw_status read_rows(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t part,
                            uint64_t nparts, uint64_t *n, uint64_t *first, uint64_t *count,
                            uint64_t *width, void **data)
{
    *n = 0;
    *first = *count = 0;
    *data = NULL;
    if (width)
        *width = 0;
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    if (d < 0)
        return DDW_EHDF5;
    ddw_status rc = DDW_EHDF5;
    hid_t space = H5Dget_space(d), ftype = H5Dget_type(d), mtype = -1;
    void *buf = NULL;
    if (space < 0 || ftype < 0)
        goto done;
    hsize_t dims = 0;
    H5T_class_t cls = H5Tget_class(ftype);
    if (H5Sget_simple_extent_ndims(space) != 1) {
        rc = DDW_EINVAL;
        goto done;
    }
    H5Sget_simple_extent_dims(space, &dims, NULL);
    uint64_t w = 1;
    size_t esize;
    if (type == DDW_H5_STR) {
        if (cls != H5T_STRING || H5Tis_variable_str(ftype) != 0) {
            rc = DDW_EINVAL;
            goto done;
        }
        /* the file's string type (same character set), one byte wider and
         * NUL-padded, so that every row ends in a NUL */
        w = (uint64_t)H5Tget_size(ftype) + 1;
        mtype = H5Tcopy(ftype);
        H5Tset_size(mtype, (size_t)w);
        H5Tset_strpad(mtype, H5T_STR_NULLPAD);
        esize = (size_t)w;
    } else {
        if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
            rc = DDW_EINVAL;
            goto done;
        }
        mtype = make_type(type, 1);
        esize = H5Tget_size(mtype);
    }
    hsize_t lo = (hsize_t)((unsigned __int128)dims * part / nparts);
    hsize_t hi = (hsize_t)((unsigned __int128)dims * (part + 1) / nparts);
    hsize_t cnt = hi - lo;
    buf = ddw_xcalloc(cnt ? (size_t)cnt : 1, esize);
    if (nparts == 1) {
        if (dims > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, f->dxpl, buf) < 0)
            goto done;
    } else {
        /* every rank takes part in a collective read, with or without rows */
        hid_t mspace = H5Screate_simple(1, &cnt, NULL);
        herr_t e = mspace < 0 ? -1 : 0;
        if (e >= 0 && cnt > 0)
            e = H5Sselect_hyperslab(space, H5S_SELECT_SET, &lo, NULL, &cnt, NULL);
        else if (e >= 0)
            e = H5Sselect_none(space), e = e < 0 ? e : H5Sselect_none(mspace);
        if (e >= 0)
            e = H5Dread(d, mtype, mspace, space, f->dxpl, buf);
        if (mspace >= 0)
            H5Sclose(mspace);
        if (e < 0)
            goto done;
    }
    *n = (uint64_t)dims;
    *first = (uint64_t)lo;
    *count = (uint64_t)cnt;
    *data = buf;
    buf = NULL;
    if (width)
        *width = w;
    rc = DDW_OK;
done:
    free(buf);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(d);
    return rc;
}

ddw_status ddw_h5_read(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t *n,
                       uint64_t *width, void **data)
{
    uint64_t first, count;
    return read_rows(f, path, type, 0, 1, n, &first, &count, width, data);
}

ddw_status ddw_h5_read_part(ddw_h5 *f, const char *path, ddw_h5_type type, uint64_t part,
                            uint64_t nparts, uint64_t *n, uint64_t *first, uint64_t *count,
                            uint64_t *width, void **data)
{
    if (nparts == 0 || part >= nparts) {
        *n = *first = *count = 0;
        *data = NULL;
        return DDW_EINVAL;
    }
    return read_rows(f, path, type, part, nparts, n, first, count, width, data);
}

ddw_status ddw_h5_read_attr_str(ddw_h5 *f, const char *obj, const char *name, char **value)
{
    *value = NULL;
    hid_t a = H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return DDW_EHDF5;
    ddw_status rc = DDW_EINVAL;
    hid_t ftype = H5Aget_type(a), space = H5Aget_space(a), mtype = -1;
    if (ftype < 0 || space < 0 || H5Tget_class(ftype) != H5T_STRING ||
        H5Sget_simple_extent_npoints(space) != 1)
        goto done;
    rc = DDW_EHDF5;
    mtype = H5Tcopy(ftype);
    if (H5Tis_variable_str(ftype) > 0) {
        char *s = NULL;
        if (H5Aread(a, mtype, &s) < 0)
            goto done;
        *value = ddw_xstrdup(s ? s : "");
        H5free_memory(s);
    } else {
        size_t size = H5Tget_size(ftype);
        char *s = ddw_xcalloc(size + 1, 1);
        if (H5Aread(a, mtype, s) < 0) {
            free(s);
            goto done;
        }
        *value = s;
    }
    rc = DDW_OK;
done:
    if (mtype >= 0)
        H5Tclose(mtype);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(a);
    return rc;
}

ddw_status ddw_h5_read_raw(ddw_h5 *f, const char *path, uint64_t *nelem, uint64_t *esize,
                           void **data)
{
    *nelem = *esize = 0;
    *data = NULL;
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    if (d < 0)
        return DDW_EHDF5;
    ddw_status rc = DDW_EHDF5;
    hid_t space = H5Dget_space(d), ftype = H5Dget_type(d), mtype = -1;
    void *buf = NULL;
    if (space < 0 || ftype < 0)
        goto done;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0)
        goto done;
    /* fixed-width strings as stored; numbers in their native form */
    mtype = H5Tget_class(ftype) == H5T_STRING ? H5Tcopy(ftype)
                                               : H5Tget_native_type(ftype, H5T_DIR_ASCEND);
    if (mtype < 0 || (H5Tget_class(ftype) == H5T_STRING && H5Tis_variable_str(ftype) != 0)) {
        rc = DDW_EINVAL;
        goto done;
    }
    size_t es = H5Tget_size(mtype);
    buf = ddw_xcalloc(n ? (size_t)n : 1, es);
    if (n > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, f->dxpl, buf) < 0)
        goto done;
    *nelem = (uint64_t)n;
    *esize = es;
    *data = buf;
    buf = NULL;
    rc = DDW_OK;
done:
    free(buf);
    if (mtype >= 0)
        H5Tclose(mtype);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(d);
    return rc;
}

typedef struct {
    char **names;
    size_t n, cap;
} name_list;

static herr_t on_link(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    (void)g;
    (void)info;
    name_list *l = op;
    ddw_xgrow((void **)&l->names, &l->cap, l->n + 1, sizeof *l->names);
    l->names[l->n++] = ddw_xstrdup(name);
    return 0;
}

ddw_status ddw_h5_list(ddw_h5 *f, const char *group, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    hid_t g = H5Gopen2(f->file, group, H5P_DEFAULT);
    if (g < 0)
        return DDW_EHDF5;
    name_list l = {NULL, 0, 0};
    herr_t rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, on_link, &l);
    H5Gclose(g);
    if (rc < 0) {
        for (size_t i = 0; i < l.n; i++)
            free(l.names[i]);
        free(l.names);
        return DDW_EHDF5;
    }
    *names = l.names;
    *n = l.n;
    return DDW_OK;
}

ddw_status ddw_h5_read_attr_f64(ddw_h5 *f, const char *obj, const char *name, double *v)
{
    hid_t a = H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return DDW_EHDF5;
    herr_t rc = H5Aread(a, H5T_NATIVE_DOUBLE, v);
    H5Aclose(a);
    return rc < 0 ? DDW_EHDF5 : DDW_OK;
}
