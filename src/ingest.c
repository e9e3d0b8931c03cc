/*
 * ingest.c - stage 1: parallel CSV read and normalisation.
 *
 * Record boundaries follow the CSV automaton of csv.c (a newline ends a
 * record unless it is inside a quoted field).  Each rank runs the
 * automaton over its byte range from all four possible start states and
 * counts newlines; one allgather of those maps and counts tells every rank
 * the automaton state and line number at its range's start, so
 * segmentation and line numbers are exactly those of a serial read,
 * whatever the rank count.  Trade-off: one extra pass over each range
 * (at table-lookup speed) buys an exact, deterministic split with no
 * rank guessing where records begin.
 */
#include "ddw_ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ddw_csv.h"
#include "ddw_norm.h"
#include "ddw_strsim.h"

#define MAX_COLS 1024
/* longest normalised identifying value; longer ones reject the row */
#define DDW_MAX_VALUE 1023

unsigned ddw_ingest_fieldmask(const ddw_config *cfg)
{
    unsigned m = 0;
    for (int p = 0; p < cfg->npasses; p++)
        for (int k = 0; k < cfg->passes[p].nparts; k++) {
            const ddw_keypart *kp = &cfg->passes[p].parts[k];
            if (kp->func == DDW_BK_INITIALS)
                m |= (1u << DDW_F_FORENAME_INITIAL) | (1u << DDW_F_SURNAME_INITIAL);
            else
                m |= 1u << kp->field;
        }
    for (int c = 0; c < cfg->ncompare; c++) {
        m |= 1u << cfg->compare[c].field;
        if (cfg->compare[c].unless > 0)
            m |= 1u << (cfg->compare[c].unless - 1);
    }
    return m;
}

/* ---- prepare ------------------------------------------------------------ */

/* Finds a header column by name (surrounding spaces ignored); reports a miss. */
static int find_col(const ddw_source_cfg *sc, const ddw_csv_field *fields, int nf, FILE *err,
                    const char *name, const char *where, const char *key, int *dst)
{
    for (int c = 0; c < nf; c++) {
        size_t fl = fields[c].len;
        const char *fp = fields[c].ptr;
        while (fl && *fp == ' ') fp++, fl--;
        while (fl && fp[fl - 1] == ' ') fl--;
        if (fl == strlen(name) && memcmp(fp, name, fl) == 0) {
            *dst = c;
            return 0;
        }
    }
    *dst = -1;
    if (err)
        fprintf(err, "ddwlink: config error: %s: [source.%s] %s: column '%s' is not in the "
                     "header of %s\n", where, sc->name, key, name, sc->path);
    return 1;
}

static ddw_status read_header(const ddw_source_cfg *sc, const ddw_ingest_plan *plan, FILE *err,
                              ddw_source_plan *sp)
{
    int fd = open(sc->path, O_RDONLY);
    if (fd < 0) {
        if (err)
            fprintf(err, "ddwlink: config error: %s: [source.%s] path: cannot open '%s': %s\n",
                    sc->where_path, sc->name, sc->path, strerror(errno));
        return DDW_EIO;
    }
    struct stat st;
    fstat(fd, &st);
    sp->size = (uint64_t)st.st_size;
    size_t cap = 1 << 16, len = 0;
    char *buf = ddw_xmalloc(cap);
    const char *end = NULL;
    int state = DDW_CSV_S_START;
    size_t scanned = 0, bom = 0;
    for (;;) {
        ssize_t got = read(fd, buf + len, cap - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        if (scanned == 0)
            scanned = bom = ddw_csv_skip_bom(buf, len);
        end = ddw_csv_record_end(buf + scanned, buf + len, &state);
        if (end)
            break;
        scanned = len;
        if (len == cap)
            buf = ddw_xrealloc(buf, cap *= 2);
    }
    close(fd);
    size_t hlen = end ? (size_t)(end - buf) : len;
    sp->data_start = end ? hlen + 1 : len;
    uint64_t q = 0, nl = 0;
    ddw_csv_count(buf, sp->data_start, &q, &nl);
    sp->header_lines = nl ? nl : 1;
    ddw_status rc = DDW_OK;
    char *scratch = ddw_xmalloc(hlen + 1);
    ddw_csv_field *fields = ddw_xmalloc(MAX_COLS * sizeof *fields);
    int nf = 0;
    if (hlen - bom == 0 || ddw_csv_split(buf + bom, hlen - bom, scratch, hlen + 1, fields,
                                         MAX_COLS, &nf) != DDW_OK || nf > MAX_COLS) {
        if (err)
            fprintf(err, "ddwlink: error: %s:1: header row is empty, malformed or has more than "
                         "%d columns\n", sc->path, MAX_COLS);
        rc = DDW_EIO;
        goto done;
    }
    sp->ncols = nf;
    int miss = 0;
    miss |= find_col(sc, fields, nf, err, sc->id_column, sc->where_id, "id_column",
                     &sp->id_col);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        sp->col[f] = -1;
        if (sc->column[f])
            miss |= find_col(sc, fields, nf, err, sc->column[f], sc->where[f],
                             ddw_field_name((ddw_field)f), &sp->col[f]);
    }
    for (int j = 0; j < plan->nkeep; j++) {
        sp->keep_col[j] = -1;
        for (int k = 0; k < sc->nkeep; k++)
            if (strcmp(sc->keep[k], plan->keep[j]) == 0)
                miss |= find_col(sc, fields, nf, err, sc->keep[k], sc->where_keep, "keep",
                                 &sp->keep_col[j]);
    }
    if (miss)
        rc = DDW_ECONFIG;
done:
    free(scratch);
    free(fields);
    free(buf);
    return rc;
}

ddw_status ddw_ingest_prepare(const ddw_config *cfg, const ddw_comm *comm, FILE *err,
                              ddw_ingest_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->nsources = cfg->nsources;
    plan->src = ddw_xcalloc((size_t)cfg->nsources, sizeof *plan->src);
    /* union of pass-through column names, in order of first appearance */
    for (int s = 0; s < cfg->nsources; s++)
        for (int k = 0; k < cfg->sources[s].nkeep; k++) {
            int found = 0;
            for (int j = 0; j < plan->nkeep; j++)
                found |= strcmp(plan->keep[j], cfg->sources[s].keep[k]) == 0;
            if (!found && plan->nkeep < DDW_MAX_KEEP)
                plan->keep[plan->nkeep++] = ddw_xstrdup(cfg->sources[s].keep[k]);
        }
    int rc = DDW_OK;
    if (ddw_comm_rank(comm) == 0) {
        for (int s = 0; s < cfg->nsources; s++) {
            int r = read_header(&cfg->sources[s], plan, err, &plan->src[s]);
            if (r != DDW_OK)
                rc = DDW_ECONFIG;
        }
    }
    rc = ddw_comm_agree(comm, rc);
    if (rc != DDW_OK)
        return (ddw_status)rc;
    ddw_comm_bcast(comm, plan->src, (size_t)cfg->nsources * sizeof *plan->src, 0);
    return DDW_OK;
}

void ddw_ingest_plan_free(ddw_ingest_plan *plan)
{
    for (int j = 0; j < plan->nkeep; j++)
        free(plan->keep[j]);
    free(plan->src);
    memset(plan, 0, sizeof *plan);
}

/* ---- one row -------------------------------------------------------------- */

static const char *trim(const char *p, size_t *len)
{
    while (*len && (*p == ' ' || *p == '\t')) p++, (*len)--;
    while (*len && (p[*len - 1] == ' ' || p[*len - 1] == '\t')) (*len)--;
    return p;
}

static uint32_t text_push(ddw_ingest_out *out, const char *s, size_t len)
{
    if (out->tlen + len > UINT32_MAX)
        DDW_DIE("pass-through text exceeds 4 GiB on one rank; use more ranks");
    ddw_xgrow((void **)&out->text, &out->tcap, out->tlen + len + 1, 1);
    memcpy(out->text + out->tlen, s, len);
    uint32_t off = (uint32_t)out->tlen;
    out->tlen += len;
    return off;
}

int ddw_ingest_row(const ddw_config *cfg, const ddw_ingest_plan *plan, int s, uint64_t line,
                   const char *rec, size_t len, char *scratch, size_t scratch_cap,
                   ddw_ingest_out *out, char reason[DDW_REASON_LEN])
{
    const ddw_source_cfg *sc = &cfg->sources[s];
    const ddw_source_plan *sp = &plan->src[s];
    ddw_csv_field fields[MAX_COLS];
    int nf = 0;
    ddw_status st = ddw_csv_split(rec, len, scratch, scratch_cap, fields, MAX_COLS, &nf);
    if (st != DDW_OK) {
        snprintf(reason, DDW_REASON_LEN, "%s",
                 st == DDW_ECSV ? "broken quoting" : "record too long");
        return 0;
    }
    if (nf != sp->ncols) {
        snprintf(reason, DDW_REASON_LEN, "wrong number of columns: %d, expected %d", nf,
                 sp->ncols);
        return 0;
    }
    for (int c = 0; c < nf; c++)
        if (!ddw_norm_utf8_valid(fields[c].ptr, fields[c].len)) {
            snprintf(reason, DDW_REASON_LEN, "invalid UTF-8 in column %d", c + 1);
            return 0;
        }
    size_t idlen = fields[sp->id_col].len;
    const char *id = trim(fields[sp->id_col].ptr, &idlen);
    if (idlen == 0 || idlen > UINT16_MAX) {
        snprintf(reason, DDW_REASON_LEN, "%s record ID in column %s",
                 idlen ? "over-long" : "empty", sc->id_column);
        return 0;
    }
    /* normalise every mapped field before storing anything */
    char norm[DDW_NFIELDS][DDW_MAX_VALUE + 1];
    size_t nlen[DDW_NFIELDS];
    int32_t date[DDW_NFIELDS];
    for (int f = 0; f < DDW_NFIELDS; f++) {
        nlen[f] = 0;
        date[f] = DDW_DATE_MISSING;
        if (sp->col[f] < 0)
            continue;
        size_t vl = fields[sp->col[f]].len;
        const char *v = trim(fields[sp->col[f]].ptr, &vl);
        if (vl == 0)
            continue;
        switch (ddw_field_type_of((ddw_field)f)) {
        case DDW_FT_DATE:
            if (ddw_norm_date_parse(v, vl, sc->date_format[f], &date[f]) != DDW_OK) {
                snprintf(reason, DDW_REASON_LEN, "invalid date in column %.40s (field %s)",
                         sc->column[f], ddw_field_name((ddw_field)f));
                return 0;
            }
            break;
        case DDW_FT_SEX: {
            char code[DDW_MAX_VALUE + 1];
            size_t cl = 0;
            int found = -1;
            if (ddw_norm_text(v, vl, code, sizeof code, &cl) == DDW_OK)
                for (int k = 0; k < sc->nsex; k++)
                    if (strcmp(sc->sex_code[k], code) == 0)
                        found = k;
            if (found < 0) {
                snprintf(reason, DDW_REASON_LEN, "unknown sex code in column %.40s",
                         sc->column[f]);
                return 0;
            }
            if (sc->sex_value[found]) {
                norm[f][0] = sc->sex_value[found];
                nlen[f] = 1;
            }
            break;
        }
        default:
            if (ddw_norm_text(v, vl, norm[f], sizeof norm[f], &nlen[f]) != DDW_OK) {
                snprintf(reason, DDW_REASON_LEN, "value too long in column %.40s (field %s)",
                         sc->column[f], ddw_field_name((ddw_field)f));
                return 0;
            }
            break;
        }
    }
    /* initials: the first letter of the initial column, else of the name */
    static const int ini[2][2] = {{DDW_F_FORENAME_INITIAL, DDW_F_FORENAME},
                                  {DDW_F_SURNAME_INITIAL, DDW_F_SURNAME}};
    for (int k = 0; k < 2; k++) {
        int fi = ini[k][0], fn = ini[k][1];
        if (nlen[fi] > 1)
            nlen[fi] = 1;
        if (sp->col[fi] < 0 && nlen[fn] > 0) {
            norm[fi][0] = norm[fn][0];
            nlen[fi] = 1;
        }
    }
    /* accept: store the row */
    ddw_recs *r = &out->recs;
    size_t cap_before = r->cap;
    size_t i = ddw_recs_push(r, DDW_KEY(s, line));
    if (r->cap != cap_before) {
        out->id_off = ddw_xrealloc(out->id_off, r->cap * sizeof *out->id_off);
        out->id_len = ddw_xrealloc(out->id_len, r->cap * sizeof *out->id_len);
        size_t nk = plan->nkeep ? (size_t)plan->nkeep : 1;
        out->keep_off = ddw_xrealloc(out->keep_off, r->cap * nk * sizeof *out->keep_off);
        out->keep_len = ddw_xrealloc(out->keep_len, r->cap * nk * sizeof *out->keep_len);
    }
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (r->f[f] == NULL)
            continue;
        if (ddw_field_type_of((ddw_field)f) == DDW_FT_DATE)
            ddw_recs_set_date(r, i, (ddw_field)f, date[f]);
        else
            ddw_recs_set_text(r, i, (ddw_field)f, norm[f], nlen[f]);
    }
    out->id_off[i] = text_push(out, id, idlen);
    out->id_len[i] = (uint16_t)idlen;
    for (int j = 0; j < plan->nkeep; j++) {
        size_t at = i * (size_t)plan->nkeep + (size_t)j;
        int c = sp->keep_col[j];
        size_t kl = c >= 0 ? fields[c].len : 0;
        const char *kv = c >= 0 ? trim(fields[c].ptr, &kl) : "";
        if (kl > UINT16_MAX)
            kl = UINT16_MAX;
        out->keep_off[at] = text_push(out, kv, kl);
        out->keep_len[at] = (uint16_t)kl;
    }
    return 1;
}

/* ---- the parallel read -------------------------------------------------- */

static void add_reject(ddw_ingest_out *out, int s, uint64_t line, const char *reason)
{
    ddw_xgrow((void **)&out->rejects, &out->rcap, out->nrejects + 1, sizeof *out->rejects);
    ddw_reject *rj = &out->rejects[out->nrejects++];
    rj->source = s;
    rj->line = (int64_t)line;
    snprintf(rj->reason, sizeof rj->reason, "%s", reason);
}

ddw_status ddw_ingest_sha256_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return DDW_EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    size_t cap = 1 << 20;
    char *buf = ddw_xmalloc(cap);
    ssize_t got;
    while ((got = read(fd, buf, cap)) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)got);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    if (got < 0)
        return DDW_EIO;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return DDW_OK;
}

/* A byte window of one file that can be extended forwards. */
typedef struct {
    int fd;
    uint64_t base; /* file offset of buf[0] */
    char *buf;
    size_t len, cap;
    uint64_t fsize;
} window;

/* Reads up to 'more' further bytes into the window; returns bytes added. */
static size_t window_extend(window *w, size_t more)
{
    uint64_t at = w->base + w->len;
    if (at >= w->fsize)
        return 0;
    if (more > w->fsize - at)
        more = (size_t)(w->fsize - at);
    ddw_xgrow((void **)&w->buf, &w->cap, w->len + more, 1);
    size_t done = 0;
    while (done < more) {
        ssize_t got = pread(w->fd, w->buf + w->len + done, more - done, (off_t)(at + done));
        if (got <= 0)
            DDW_DIE("read error at offset %llu: %s", (unsigned long long)(at + done),
                    got < 0 ? strerror(errno) : "file shrank while reading");
        done += (size_t)got;
    }
    w->len += done;
    return done;
}

static ddw_status read_source(const ddw_config *cfg, const ddw_comm *comm, ddw_ingest_plan *plan,
                              int s, ddw_ingest_out *out)
{
    const ddw_source_plan *sp = &plan->src[s];
    int P = ddw_comm_size(comm), r = ddw_comm_rank(comm);
    uint64_t D = sp->size - sp->data_start;
    uint64_t lo = sp->data_start + (uint64_t)((unsigned __int128)D * (unsigned)r / (unsigned)P);
    uint64_t hi =
        sp->data_start + (uint64_t)((unsigned __int128)D * (unsigned)(r + 1) / (unsigned)P);
    window w = {0};
    w.fd = open(cfg->sources[s].path, O_RDONLY);
    int ok = w.fd >= 0 ? DDW_OK : DDW_EIO;
    if (ddw_comm_agree(comm, ok) != DDW_OK) {
        if (w.fd >= 0)
            close(w.fd);
        return DDW_EIO;
    }
    w.fsize = sp->size;
    w.cap = 1 << 16; /* never NULL, even for an empty range */
    w.buf = ddw_xmalloc(w.cap);
    uint64_t pre = lo > sp->data_start ? 1 : 0;
    w.base = lo - pre;
    window_extend(&w, (size_t)(hi - lo + pre));
    out->bytes_read += hi - lo;
    /* automaton transitions and newline count of this range, shared with
     * all ranks: the state and line number at lo follow from the ranks before */
    uint64_t cnt[2] = {0, 0}, unused = 0;
    uint8_t map[4];
    ddw_csv_transitions(w.buf + pre, (size_t)(hi - lo), map);
    ddw_csv_count(w.buf + pre, (size_t)(hi - lo), &unused, &cnt[1]);
    cnt[0] = (uint64_t)map[0] | (uint64_t)map[1] << 8 | (uint64_t)map[2] << 16 |
             (uint64_t)map[3] << 24;
    uint64_t *all = ddw_xmalloc((size_t)P * 2 * sizeof *all);
    ddw_comm_allgather_u64(comm, cnt, 2, all);
    int state = DDW_CSV_S_START;
    uint64_t nlo = 0;
    for (int k = 0; k < r; k++) {
        state = (int)((all[2 * k] >> (8 * state)) & 0xff);
        nlo += all[2 * k + 1];
    }
    free(all);
    /* first record starting in [lo, hi): lo itself if the byte before it
     * ended a record, else just after the next record end */
    uint64_t start = lo;
    if (pre && !(w.buf[0] == '\n' && state == DDW_CSV_S_START)) {
        const char *e = ddw_csv_record_end(w.buf + pre, w.buf + w.len, &state);
        start = e ? w.base + (uint64_t)(e - w.buf) + 1 : hi;
    }
    uint64_t q0 = 0, line = 0;
    ddw_csv_count(w.buf + pre, (size_t)(start - lo), &q0, &line);
    line += sp->header_lines + 1 + nlo;
    out->seg_first[s] = out->recs.n;
    size_t scap = 4096;
    char *scratch = ddw_xmalloc(scap);
    char reason[DDW_REASON_LEN];
    while (start < hi) {
        int st = DDW_CSV_S_START;
        size_t from = (size_t)(start - w.base);
        const char *e = ddw_csv_record_end(w.buf + from, w.buf + w.len, &st);
        while (e == NULL) {
            size_t old = w.len;
            if (window_extend(&w, 1 << 20) == 0)
                break;
            e = ddw_csv_record_end(w.buf + old, w.buf + w.len, &st);
        }
        size_t rec_off = (size_t)(start - w.base);
        size_t rec_len = e ? (size_t)(e - (w.buf + rec_off)) : w.len - rec_off;
        const char *rec = w.buf + rec_off;
        uint64_t q = 0, nl = 0;
        ddw_csv_count(rec, rec_len, &q, &nl);
        size_t blank = rec_len;
        if (blank && rec[blank - 1] == '\r')
            blank--;
        if (blank > 0) {
            out->rows_read[s]++;
            if (e == NULL && st == DDW_CSV_S_QUOTED) {
                add_reject(out, s, line, "unterminated quoted field at end of file");
                out->rows_rejected[s]++;
            } else {
                ddw_xgrow((void **)&scratch, &scap, rec_len + 1, 1);
                if (ddw_ingest_row(cfg, plan, s, line, rec, rec_len, scratch, scap, out,
                                   reason)) {
                    out->seg_count[s]++;
                } else {
                    add_reject(out, s, line, reason);
                    out->rows_rejected[s]++;
                }
            }
        }
        line += nl + 1;
        start += rec_len + 1;
    }
    free(scratch);
    free(w.buf);
    close(w.fd);
    return DDW_OK;
}

ddw_status ddw_ingest_run(const ddw_config *cfg, const ddw_comm *comm, ddw_ingest_plan *plan,
                          ddw_ingest_out *out)
{
    int S = cfg->nsources, P = ddw_comm_size(comm), r = ddw_comm_rank(comm);
    memset(out, 0, sizeof *out);
    ddw_recs_init(&out->recs, ddw_ingest_fieldmask(cfg));
    out->seg_first = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    out->seg_count = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    out->rows_read = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    out->rows_rejected = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    /* checksums: source s is hashed by rank s mod P, so ranks share the work */
    int rc = DDW_OK;
    for (int s = 0; s < S; s++)
        if (s % P == r && ddw_ingest_sha256_file(cfg->sources[s].path, plan->src[s].sha256) != DDW_OK)
            rc = DDW_EIO;
    if ((rc = ddw_comm_agree(comm, rc)) != DDW_OK)
        return (ddw_status)rc;
    for (int s = 0; s < S; s++)
        ddw_comm_bcast(comm, plan->src[s].sha256, sizeof plan->src[s].sha256, s % P);
    for (int s = 0; s < S; s++)
        if ((rc = read_source(cfg, comm, plan, s, out)) != DDW_OK)
            return (ddw_status)rc;
    return DDW_OK;
}

void ddw_ingest_free(ddw_ingest_out *out)
{
    ddw_recs_free(&out->recs);
    free(out->text);
    free(out->id_off);
    free(out->id_len);
    free(out->keep_off);
    free(out->keep_len);
    free(out->seg_first);
    free(out->seg_count);
    free(out->rows_read);
    free(out->rows_rejected);
    free(out->rejects);
    memset(out, 0, sizeof *out);
}
