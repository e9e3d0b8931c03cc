/*
 * comm.c - the only file that calls MPI.
 *
 * Every exchange in ddwlink is one of a handful of collectives on byte or
 * integer buffers, so the whole program's communication is visible here.
 * Trade-off: the personalised exchange always goes through MPI_Alltoallv
 * with counts agreed first (one extra small collective per exchange) rather
 * than point-to-point messages; that costs a round of latency but keeps
 * every exchange deterministic and easy to reason about.  With -DDDW_NO_MPI
 * the same API runs as a single rank, for serial unit tests.
 */
#include "ddw_comm.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef DDW_NO_MPI
#include <mpi.h>
#endif

struct ddw_comm {
#ifndef DDW_NO_MPI
    MPI_Comm comm;
#endif
    int rank;
    int size;
    uint64_t bytes_sent;
};

ddw_status ddw_comm_init(int *argc, char ***argv, ddw_comm **out)
{
    ddw_comm *c = ddw_xcalloc(1, sizeof *c);
#ifndef DDW_NO_MPI
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        free(c);
        return DDW_ECOMM;
    }
    c->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
#else
    (void)argc;
    (void)argv;
    c->rank = 0;
    c->size = 1;
#endif
    *out = c;
    return DDW_OK;
}

void ddw_comm_finalize(ddw_comm **c)
{
    if (c == NULL || *c == NULL)
        return;
#ifndef DDW_NO_MPI
    MPI_Finalize();
#endif
    free(*c);
    *c = NULL;
}

int ddw_comm_rank(const ddw_comm *c) { return c->rank; }
int ddw_comm_size(const ddw_comm *c) { return c->size; }
uint64_t ddw_comm_bytes_sent(const ddw_comm *c) { return c->bytes_sent; }

double ddw_comm_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *ddw_comm_native(const ddw_comm *c)
{
#ifndef DDW_NO_MPI
    return (void *)&c->comm;
#else
    (void)c;
    return NULL;
#endif
}

int ddw_comm_agree(const ddw_comm *c, int status)
{
#ifndef DDW_NO_MPI
    int global = status;
    MPI_Allreduce(&status, &global, 1, MPI_INT, MPI_MIN, c->comm);
    return global;
#else
    (void)c;
    return status;
#endif
}

void ddw_comm_bcast(const ddw_comm *c, void *buf, size_t n, int root)
{
#ifndef DDW_NO_MPI
    char *p = buf;
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        MPI_Bcast(p, chunk, MPI_BYTE, root, c->comm);
        p += chunk;
        n -= (size_t)chunk;
    }
#else
    (void)c;
    (void)buf;
    (void)n;
    (void)root;
#endif
}

void ddw_comm_bcast_str(const ddw_comm *c, char **s, int root)
{
    uint64_t len = 0;
    if (c->rank == root)
        len = (uint64_t)strlen(*s);
    ddw_comm_bcast(c, &len, sizeof len, root);
    if (c->rank != root) {
        free(*s);
        *s = ddw_xmalloc((size_t)len + 1);
        (*s)[len] = '\0';
    }
    ddw_comm_bcast(c, *s, (size_t)len, root);
}

#ifndef DDW_NO_MPI
static MPI_Op to_mpi_op(ddw_comm_op op)
{
    switch (op) {
    case DDW_COMM_MIN: return MPI_MIN;
    case DDW_COMM_MAX: return MPI_MAX;
    default: return MPI_SUM;
    }
}
#endif

void ddw_comm_allreduce_u64(const ddw_comm *c, uint64_t *v, int n, ddw_comm_op op)
{
#ifndef DDW_NO_MPI
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_UINT64_T, to_mpi_op(op), c->comm);
#else
    (void)c; (void)v; (void)n; (void)op;
#endif
}

void ddw_comm_allreduce_i64(const ddw_comm *c, int64_t *v, int n, ddw_comm_op op)
{
#ifndef DDW_NO_MPI
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, to_mpi_op(op), c->comm);
#else
    (void)c; (void)v; (void)n; (void)op;
#endif
}

void ddw_comm_allreduce_f64(const ddw_comm *c, double *v, int n, ddw_comm_op op)
{
#ifndef DDW_NO_MPI
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, to_mpi_op(op), c->comm);
#else
    (void)c; (void)v; (void)n; (void)op;
#endif
}

void ddw_comm_allgather_u64(const ddw_comm *c, const uint64_t *in, int n, uint64_t *out)
{
#ifndef DDW_NO_MPI
    MPI_Allgather(in, n, MPI_UINT64_T, out, n, MPI_UINT64_T, c->comm);
#else
    (void)c;
    memcpy(out, in, (size_t)n * sizeof *in);
#endif
}

void ddw_comm_alltoallv(const ddw_comm *c, const void *sendbuf, const uint64_t *sendcounts,
                        void **recvbuf, uint64_t *recvcounts, uint64_t *recvtotal)
{
    int p = c->size;
    uint64_t total = 0;
#ifndef DDW_NO_MPI
    MPI_Alltoall(sendcounts, 1, MPI_UINT64_T, recvcounts, 1, MPI_UINT64_T, c->comm);
#else
    recvcounts[0] = sendcounts[0];
#endif
    for (int r = 0; r < p; r++)
        total += recvcounts[r];
    char *rbuf = ddw_xmalloc(total ? (size_t)total : 1);
#ifndef DDW_NO_MPI
    uint64_t *sdispl = ddw_xmalloc((size_t)p * sizeof *sdispl);
    uint64_t *rdispl = ddw_xmalloc((size_t)p * sizeof *rdispl);
    uint64_t sd = 0, rd = 0, maxc = 0;
    for (int r = 0; r < p; r++) {
        sdispl[r] = sd;
        rdispl[r] = rd;
        sd += sendcounts[r];
        rd += recvcounts[r];
        if (sendcounts[r] > maxc) maxc = sendcounts[r];
        if (recvcounts[r] > maxc) maxc = recvcounts[r];
        if (r != c->rank)
            ((ddw_comm *)c)->bytes_sent += sendcounts[r];
    }
    uint64_t big[2] = {sd > rd ? sd : rd, maxc};
    ddw_comm_allreduce_u64(c, big, 2, DDW_COMM_MAX);
    int *sc = ddw_xmalloc((size_t)p * sizeof *sc), *rc = ddw_xmalloc((size_t)p * sizeof *rc);
    int *sdi = ddw_xmalloc((size_t)p * sizeof *sdi), *rdi = ddw_xmalloc((size_t)p * sizeof *rdi);
    /* DDW_ALLTOALLV_ROUND_BYTES forces the multi-round path with that many
     * bytes per peer per round (for tests; must be set on all ranks) */
    const char *force = getenv("DDW_ALLTOALLV_ROUND_BYTES");
    uint64_t cap = force ? strtoull(force, NULL, 10) : 0;
    if (cap == 0 && big[0] <= (uint64_t)INT_MAX) {
        /* every count and displacement fits MPI's int: one call */
        for (int r = 0; r < p; r++) {
            sc[r] = (int)sendcounts[r];
            rc[r] = (int)recvcounts[r];
            sdi[r] = (int)sdispl[r];
            rdi[r] = (int)rdispl[r];
        }
        MPI_Alltoallv(sendbuf, sc, sdi, MPI_BYTE, rbuf, rc, rdi, MPI_BYTE, c->comm);
    } else {
        /* rounds of at most 'cap' bytes per peer, staged through buffers of
         * at most cap * p <= 512 MiB, so sums of counts stay inside int */
        if (cap == 0)
            cap = ((uint64_t)1 << 29) / (uint64_t)p;
        if (cap == 0)
            cap = 1;
        int rounds = (int)((big[1] + cap - 1) / cap);
        char *stmp = ddw_xmalloc((size_t)(sd < cap * (uint64_t)p ? sd : cap * (uint64_t)p) + 1);
        char *rtmp = ddw_xmalloc((size_t)(rd < cap * (uint64_t)p ? rd : cap * (uint64_t)p) + 1);
        for (int k = 0; k < rounds; k++) {
            uint64_t off = (uint64_t)k * cap;
            int so = 0, ro = 0;
            for (int r = 0; r < p; r++) {
                uint64_t sl = sendcounts[r] > off ? sendcounts[r] - off : 0;
                uint64_t rl = recvcounts[r] > off ? recvcounts[r] - off : 0;
                sc[r] = (int)(sl < cap ? sl : cap);
                rc[r] = (int)(rl < cap ? rl : cap);
                sdi[r] = so;
                rdi[r] = ro;
                if (sc[r])
                    memcpy(stmp + so, (const char *)sendbuf + sdispl[r] + off, (size_t)sc[r]);
                so += sc[r];
                ro += rc[r];
            }
            MPI_Alltoallv(stmp, sc, sdi, MPI_BYTE, rtmp, rc, rdi, MPI_BYTE, c->comm);
            for (int r = 0; r < p; r++)
                if (rc[r])
                    memcpy(rbuf + rdispl[r] + off, rtmp + rdi[r], (size_t)rc[r]);
        }
        free(stmp);
        free(rtmp);
    }
    free(sc);
    free(rc);
    free(sdi);
    free(rdi);
    free(sdispl);
    free(rdispl);
#else
    if (total)
        memcpy(rbuf, sendbuf, (size_t)total);
#endif
    *recvbuf = rbuf;
    *recvtotal = total;
}

void *ddw_comm_route(const ddw_comm *c, const void *buf, size_t n, size_t rec, const int *dest,
                     size_t *nrecv)
{
    int p = c->size;
    uint64_t *cnt = ddw_xcalloc((size_t)p, sizeof *cnt);
    uint64_t *rcnt = ddw_xcalloc((size_t)p, sizeof *rcnt);
    uint64_t *pos = ddw_xcalloc((size_t)p + 1, sizeof *pos);
    size_t *at = ddw_xmalloc((n ? n : 1) * sizeof *at); /* record i's byte offset */
    for (size_t i = 0; i < n; i++)
        cnt[dest[i]] += rec;
    for (int r = 0; r < p; r++)
        pos[r + 1] = pos[r] + cnt[r];
    for (size_t i = 0; i < n; i++) {
        at[i] = (size_t)pos[dest[i]];
        pos[dest[i]] += rec;
    }
    char *sbuf = ddw_xmalloc(n * rec + 1);
    long nl = (long)n; /* the copies, on threads */
#pragma omp parallel for schedule(static) num_threads(ddw_par_threads(n))
    for (long i = 0; i < nl; i++)
        memcpy(sbuf + at[i], (const char *)buf + (size_t)i * rec, rec);
    free(at);
    void *rbuf;
    uint64_t total;
    ddw_comm_alltoallv(c, sbuf, cnt, &rbuf, rcnt, &total);
    free(sbuf);
    free(pos);
    free(cnt);
    free(rcnt);
    *nrecv = (size_t)(total / rec);
    return rbuf;
}

void *ddw_comm_allgatherv(const ddw_comm *c, const void *buf, uint64_t n, uint64_t *total)
{
    uint64_t *cnt = ddw_xmalloc((size_t)c->size * sizeof *cnt);
    ddw_comm_allgather_u64(c, &n, 1, cnt);
    uint64_t sum = 0;
    for (int r = 0; r < c->size; r++)
        sum += cnt[r];
    char *out = ddw_xmalloc(sum ? sum : 1);
#ifndef DDW_NO_MPI
    /* as a personalised exchange: the same bytes to every rank, in rounds if large */
    uint64_t *sc = ddw_xmalloc((size_t)c->size * sizeof *sc);
    uint64_t sbn = n * (uint64_t)c->size;
    char *sb = ddw_xmalloc(sbn ? sbn : 1);
    for (int r = 0; r < c->size; r++) {
        sc[r] = n;
        if (n)
            memcpy(sb + (size_t)r * n, buf, n);
    }
    void *rb = NULL;
    uint64_t rt = 0;
    ddw_comm_alltoallv(c, sb, sc, &rb, cnt, &rt);
    if (rt)
        memcpy(out, rb, rt);
    free(rb);
    free(sb);
    free(sc);
#else
    if (n)
        memcpy(out, buf, n);
#endif
    free(cnt);
    *total = sum;
    return out;
}

ddw_status ddw_comm_write_ordered(const ddw_comm *c, const char *path, const void *buf,
                                  uint64_t n)
{
    /* where this rank's bytes start: the sum over lower ranks */
    uint64_t *all = ddw_xmalloc((size_t)c->size * sizeof *all);
    ddw_comm_allgather_u64(c, &n, 1, all);
    uint64_t off = 0;
    for (int r = 0; r < c->rank; r++)
        off += all[r];
    free(all);
    const uint64_t piece = UINT64_C(1) << 30; /* MPI counts are int */
    uint64_t npieces = (n + piece - 1) / piece;
    ddw_comm_allreduce_u64(c, &npieces, 1, DDW_COMM_MAX);
    int rc = DDW_OK;
#ifndef DDW_NO_MPI
    MPI_File fh;
    if (MPI_File_open(c->comm, path, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh) !=
        MPI_SUCCESS)
        return (ddw_status)ddw_comm_agree(c, DDW_EIO);
    if (MPI_File_set_size(fh, 0) != MPI_SUCCESS)
        rc = DDW_EIO;
    for (uint64_t k = 0; k < npieces; k++) {
        uint64_t lo = k * piece, len = 0;
        if (lo < n)
            len = n - lo < piece ? n - lo : piece;
        MPI_Status st;
        if (MPI_File_write_at_all(fh, (MPI_Offset)(off + lo), (const char *)buf + (len ? lo : 0),
                                  (int)len, MPI_BYTE, &st) != MPI_SUCCESS)
            rc = DDW_EIO;
    }
    if (MPI_File_close(&fh) != MPI_SUCCESS)
        rc = DDW_EIO;
#else
    (void)off;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return DDW_EIO;
    if (n && fwrite(buf, 1, (size_t)n, f) != (size_t)n)
        rc = DDW_EIO;
    if (fclose(f) != 0)
        rc = DDW_EIO;
#endif
    return (ddw_status)ddw_comm_agree(c, rc);
}

void ddw_die_at(const char *file, int line, const char *fmt, ...)
{
    int rank = 0;
#ifndef DDW_NO_MPI
    int init = 0;
    MPI_Initialized(&init);
    if (init)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
#endif
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ddwlink: fatal: %d:%s:%d: ", rank, file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
#ifndef DDW_NO_MPI
    if (init)
        MPI_Abort(MPI_COMM_WORLD, 70);
#endif
    abort();
}
