/*
 * ingest.c - stage 1: parallel CSV read and normalisation.
 *
 * Record boundaries follow the CSV automaton of csv.c (a newline ends a
 * record unless it is inside a quoted field).  Each rank's byte range is
 * cut again into one part per OpenMP thread.  Every part but the last one
 * of the last rank is first run through the automaton from all four start
 * states while its newlines are counted; composing those maps (within the
 * rank, then across ranks with one allgather) gives every part the
 * automaton state and line number at its start, so segmentation and line
 * numbers are exactly those of a serial read, whatever the rank and thread
 * counts.  Each thread then parses the records that start in its part
 * (reading past its end to finish the last one) into its own output, and
 * the outputs are appended in part order.  Trade-off: one extra pass over
 * all parts but one (at memchr speed, reading the file twice from the page
 * cache) plus copying all threads' rows but the first thread's, for an
 * exact, deterministic split with no thread guessing where records begin.
 *
 * A quoted field that never closes would swallow the rest of its file into
 * one rejected record; instead only the first line of that record is
 * rejected and the read restarts on the next line, as a new region whose
 * boundaries are found the same way (one extra allgather per source tells
 * every rank whether that happened).
 *
 * Parts are read through a 1 MiB sliding window per thread rather than
 * whole, which keeps memory flat and avoids faulting in a buffer as large
 * as the range.  Per row, work follows what the config uses: Soundex codes
 * only for fields a key or comparison reads them from, text of fields
 * nobody reads only checked for length, date formats compiled once.
 */
#include "ddw_ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <omp.h>
#include <openssl/evp.h>

#include "ddw_compare.h"
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

/* One source's mapped columns, worked out once for its row loop. */
typedef struct {
    int s;
    int nmapped;                  /* mapped fields, in field order */
    struct {
        int f, col;
        ddw_field_type type;
        int need;                 /* text: the normalised value is stored or gives an initial */
        int compiled;             /* date: df holds the compiled format */
        ddw_norm_datefmt df;
    } m[DDW_NFIELDS];
    int nstore;                   /* fields with a column in the record set, in field order */
    int store[DDW_NFIELDS];
    ddw_field_type type[DDW_NFIELDS];
    size_t sexlen[DDW_MAX_SEXCODES]; /* strlen of each normalised sex code */
} src_ctx;

static void src_ctx_init(const ddw_config *cfg, const ddw_ingest_plan *plan, int s,
                         const ddw_recs *r, src_ctx *cx)
{
    const ddw_source_cfg *sc = &cfg->sources[s];
    const ddw_source_plan *sp = &plan->src[s];
    memset(cx, 0, sizeof *cx);
    cx->s = s;
    for (int f = 0; f < DDW_NFIELDS; f++) {
        cx->type[f] = ddw_field_type_of((ddw_field)f);
        if (r->f[f])
            cx->store[cx->nstore++] = f;
    }
    for (int k = 0; k < sc->nsex; k++)
        cx->sexlen[k] = strlen(sc->sex_code[k]);
    for (int f = 0; f < DDW_NFIELDS; f++) {
        if (sp->col[f] < 0)
            continue;
        int k = cx->nmapped++;
        cx->m[k].f = f;
        cx->m[k].col = sp->col[f];
        cx->m[k].type = cx->type[f];
        /* a name gives its initial when the source has no initial column */
        int gives = (f == DDW_F_FORENAME && r->f[DDW_F_FORENAME_INITIAL] &&
                     sp->col[DDW_F_FORENAME_INITIAL] < 0) ||
                    (f == DDW_F_SURNAME && r->f[DDW_F_SURNAME_INITIAL] &&
                     sp->col[DDW_F_SURNAME_INITIAL] < 0);
        cx->m[k].need = r->f[f] != NULL || gives;
        if (cx->type[f] == DDW_FT_DATE)
            cx->m[k].compiled =
                ddw_norm_date_compile(sc->date_format[f], &cx->m[k].df) == DDW_OK;
    }
}

static inline const char *trim(const char *p, size_t *len)
{
    while (*len && (*p == ' ' || *p == '\t')) p++, (*len)--;
    while (*len && (p[*len - 1] == ' ' || p[*len - 1] == '\t')) (*len)--;
    return p;
}

static uint32_t text_push(ddw_ingest_out *out, const char *s, size_t len)
{
    if (out->tlen + len > UINT32_MAX)
        DDW_DIE("pass-through text exceeds 4 GiB on one rank; use more ranks");
    if (out->tlen + len + 1 > out->tcap)
        ddw_xgrow((void **)&out->text, &out->tcap, out->tlen + len + 1, 1);
    memcpy(out->text + out->tlen, s, len);
    uint32_t off = (uint32_t)out->tlen;
    out->tlen += len;
    return off;
}

/* Grows the per-row ID and pass-through arrays to the record set's capacity. */
static void grow_row_arrays(ddw_ingest_out *out, const ddw_ingest_plan *plan)
{
    size_t cap = out->recs.cap;
    out->id_off = ddw_xrealloc(out->id_off, cap * sizeof *out->id_off);
    out->id_len = ddw_xrealloc(out->id_len, cap * sizeof *out->id_len);
    size_t nk = plan->nkeep ? (size_t)plan->nkeep : 1;
    out->keep_off = ddw_xrealloc(out->keep_off, cap * nk * sizeof *out->keep_off);
    out->keep_len = ddw_xrealloc(out->keep_len, cap * nk * sizeof *out->keep_len);
}

static int row_parse(const ddw_config *cfg, const ddw_ingest_plan *plan, const src_ctx *cx,
                     uint64_t line, const char *rec, size_t len, char *scratch,
                     size_t scratch_cap, ddw_ingest_out *out, char reason[DDW_REASON_LEN])
{
    int s = cx->s;
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
    /* fields are the record's bytes cut at ASCII delimiters and quotes, so a
     * valid record has valid fields; only a bad one is checked field by field */
    if (!ddw_norm_utf8_valid(rec, len))
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
    uint16_t nlen[DDW_NFIELDS] = {0}; /* <= DDW_MAX_VALUE */
    int32_t date[DDW_NFIELDS];
    for (int k = 0; k < cx->nmapped; k++) {
        int f = cx->m[k].f;
        date[f] = DDW_DATE_MISSING;
        size_t vl = fields[cx->m[k].col].len;
        const char *v = trim(fields[cx->m[k].col].ptr, &vl);
        if (vl == 0)
            continue;
        switch (cx->m[k].type) {
        case DDW_FT_DATE:
            if ((cx->m[k].compiled
                     ? ddw_norm_date_parse_compiled(v, vl, &cx->m[k].df, &date[f])
                     : ddw_norm_date_parse(v, vl, sc->date_format[f], &date[f])) != DDW_OK) {
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
                for (int j = 0; j < sc->nsex; j++) /* the last equal code wins */
                    if (cl == cx->sexlen[j] && ddw_bytes_equal(sc->sex_code[j], code, cl))
                        found = j;
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
            /* a value nobody reads can only fail by being too long, and the
             * folded form is never longer than the input */
            if (!cx->m[k].need && vl <= DDW_MAX_VALUE)
                break;
            size_t nl = 0;
            if (ddw_norm_text(v, vl, norm[f], sizeof norm[f], &nl) != DDW_OK) {
                snprintf(reason, DDW_REASON_LEN, "value too long in column %.40s (field %s)",
                         sc->column[f], ddw_field_name((ddw_field)f));
                return 0;
            }
            nlen[f] = cx->m[k].need ? (uint16_t)nl : 0;
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
    if (r->cap != cap_before)
        grow_row_arrays(out, plan);
    for (int k = 0; k < cx->nstore; k++) {
        int f = cx->store[k];
        if (cx->type[f] == DDW_FT_DATE) {
            if (sp->col[f] >= 0)
                ddw_recs_set_date(r, i, (ddw_field)f, date[f]);
        } else if (nlen[f]) {
            ddw_recs_set_text(r, i, (ddw_field)f, norm[f], nlen[f]);
        }
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

int ddw_ingest_row(const ddw_config *cfg, const ddw_ingest_plan *plan, int s, uint64_t line,
                   const char *rec, size_t len, char *scratch, size_t scratch_cap,
                   ddw_ingest_out *out, char reason[DDW_REASON_LEN])
{
    src_ctx cx;
    src_ctx_init(cfg, plan, s, &out->recs, &cx);
    return row_parse(cfg, plan, &cx, line, rec, len, scratch, scratch_cap, out, reason);
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

/* Bytes read from the file at a time. */
#define CHUNK ((size_t)1 << 20)

/* A byte window [base, base + len) of one file that slides forwards. */
typedef ddw_window window;

/* Empties the window and places it at file offset at. */
static void window_reset(window *w, uint64_t at)
{
    w->base = at;
    w->len = 0;
}

/* Drops the bytes before file offset keep (>= base), then reads up to
 * 'more' further bytes; returns the bytes added (0 at end of file). */
static size_t window_slide(window *w, uint64_t keep, size_t more)
{
    size_t drop = (size_t)(keep - w->base);
    if (drop > 0) {
        memmove(w->buf, w->buf + drop, w->len - drop);
        w->len -= drop;
        w->base = keep;
    }
    return ddw_window_read(w, more);
}

/* Newlines in p[0..n): only quoted fields hold any, so most records need
 * just the memchr. */
static uint64_t newlines(const char *p, size_t n)
{
    uint64_t q = 0, nl = 0;
    if (n && memchr(p, '\n', n))
        ddw_csv_count(p, n, &q, &nl);
    return nl;
}

/* One thread's share [a, b) of a rank's byte range of a source. */
typedef struct {
    uint64_t a, b;
    uint8_t map[4];   /* automaton transitions over [a, b) */
    uint64_t nl;      /* newlines in [a, b) */
    int state;        /* automaton state at a */
    uint64_t line;    /* line number of the first byte at a */
    uint64_t from;    /* start of the region being read: a record starts there */
    uint64_t open_at, open_line; /* a record here whose quoted field runs to the end of
                                    the file: its offset and line (UINT64_MAX: none) */
} part;

/* Transitions and newline count of [pt->a, pt->b), read through w. */
static void scan_part(window *w, part *pt)
{
    for (int k = 0; k < 4; k++)
        pt->map[k] = (uint8_t)k;
    pt->nl = 0;
    window_reset(w, pt->a);
    while (w->base + w->len < pt->b) {
        uint64_t want = pt->b - (w->base + w->len);
        if (window_slide(w, w->base + w->len, want < CHUNK ? (size_t)want : CHUNK) == 0)
            break;
        uint8_t m[4];
        ddw_csv_transitions(w->buf, w->len, m);
        for (int k = 0; k < 4; k++)
            pt->map[k] = m[pt->map[k]];
        uint64_t q = 0;
        ddw_csv_count(w->buf, w->len, &q, &pt->nl);
    }
}

/* Parses the records that start in [pt->a, pt->b) of source cx->s into
 * out, reading through w (past b to finish the last record).  A record
 * whose quoted field is still open at the end of the file is rejected and
 * ends the part (pt->open_at, pt->open_line say where it starts): the
 * caller reads on from the line after its first line. */
static void parse_part(const ddw_config *cfg, const ddw_ingest_plan *plan, const src_ctx *cx,
                       window *w, part *pt, ddw_ingest_out *out)
{
    int s = cx->s;
    uint64_t a = pt->a, b = pt->b, line = pt->line;
    int state = pt->state;
    pt->open_at = pt->open_line = UINT64_MAX;
    if (a >= b)
        return; /* an empty part holds no record start */
    uint64_t pre = a > pt->from ? 1 : 0;
    window_reset(w, a - pre);
    if (pre)
        window_slide(w, w->base, CHUNK);
    /* first record starting in [a, b): a itself if the byte before it
     * ended a record, else just after the next record end */
    uint64_t start = a;
    if (pre && !(w->len > 0 && w->buf[0] == '\n' && state == DDW_CSV_S_START)) {
        uint64_t at = a;
        const char *e = NULL;
        while (at < b) {
            if (at >= w->base + w->len && window_slide(w, w->base, CHUNK) == 0)
                break;
            uint64_t lim = w->base + w->len < b ? w->base + w->len : b;
            e = ddw_csv_record_end(w->buf + (at - w->base), w->buf + (lim - w->base), &state);
            if (e)
                break;
            at = lim;
        }
        start = e ? w->base + (uint64_t)(e - w->buf) + 1 : b;
    }
    if (start > a)
        line += newlines(w->buf + (a - w->base), (size_t)(start - a));
    size_t scap = 4096;
    char *scratch = ddw_xmalloc(scap);
    char reason[DDW_REASON_LEN];
    while (start < b) {
        int st = DDW_CSV_S_START;
        size_t scanned = (size_t)(start - w->base);
        const char *e = ddw_csv_record_end(w->buf + scanned, w->buf + w->len, &st);
        while (e == NULL) {
            scanned = w->len - (size_t)(start - w->base);
            if (window_slide(w, start, CHUNK) == 0)
                break;
            e = ddw_csv_record_end(w->buf + scanned, w->buf + w->len, &st);
        }
        size_t rec_off = (size_t)(start - w->base);
        size_t rec_len = e ? (size_t)(e - (w->buf + rec_off)) : w->len - rec_off;
        const char *rec = w->buf + rec_off;
        size_t blank = rec_len;
        if (blank && rec[blank - 1] == '\r')
            blank--;
        if (blank > 0) {
            out->rows_read[s]++;
            if (e == NULL && st == DDW_CSV_S_QUOTED) {
                add_reject(out, s, line, "unterminated quoted field at end of file");
                out->rows_rejected[s]++;
                pt->open_at = start;
                pt->open_line = line;
                break;
            } else {
                ddw_xgrow((void **)&scratch, &scap, rec_len + 1, 1);
                if (row_parse(cfg, plan, cx, line, rec, rec_len, scratch, scap, out, reason)) {
                    out->seg_count[s]++;
                } else {
                    add_reject(out, s, line, reason);
                    out->rows_rejected[s]++;
                }
            }
        }
        line += newlines(rec, rec_len) + 1;
        start += rec_len + 1;
    }
    free(scratch);
}

/* Thread-local outputs and windows for the parallel read. */
typedef struct {
    int nthreads;
    ddw_ingest_out *local; /* [nthreads]; local[0] is unused (thread 0 fills out itself) */
    window *win;           /* [nthreads] */
    part *parts;           /* [nthreads] */
    part *pieces;          /* [nthreads * nthreads]: the parts cut for the scan */
} readers;

/* Empties the thread-local outputs for the next source. */
static void readers_clear(readers *rd, int S)
{
    for (int t = 1; t < rd->nthreads; t++) {
        ddw_ingest_out *o = &rd->local[t];
        ddw_recs_clear(&o->recs);
        o->tlen = 0;
        o->nrejects = 0;
        memset(o->seg_count, 0, (size_t)S * sizeof *o->seg_count);
        memset(o->rows_read, 0, (size_t)S * sizeof *o->rows_read);
        memset(o->rows_rejected, 0, (size_t)S * sizeof *o->rows_rejected);
    }
}

/* Appends the thread-local outputs of source s to out, in thread order;
 * the copying is shared among the threads. */
static void merge_locals(readers *rd, const ddw_ingest_plan *plan, int s, ddw_ingest_out *out)
{
    int T = rd->nthreads;
    size_t nk = (size_t)plan->nkeep;
    size_t *at = ddw_xmalloc((size_t)T * 3 * sizeof *at);
    size_t n = out->recs.n, alen = out->recs.alen, tlen = out->tlen;
    for (int t = 1; t < T; t++) {
        const ddw_ingest_out *o = &rd->local[t];
        at[3 * t] = n;
        at[3 * t + 1] = alen;
        at[3 * t + 2] = tlen;
        n += o->recs.n;
        alen += o->recs.alen;
        tlen += o->tlen;
        out->seg_count[s] += o->seg_count[s];
        out->rows_read[s] += o->rows_read[s];
        out->rows_rejected[s] += o->rows_rejected[s];
        for (size_t k = 0; k < o->nrejects; k++)
            add_reject(out, (int)o->rejects[k].source, (uint64_t)o->rejects[k].line,
                       o->rejects[k].reason);
    }
    if (n == out->recs.n)
        goto done;
    if (tlen > UINT32_MAX)
        DDW_DIE("pass-through text exceeds 4 GiB on one rank; use more ranks");
    size_t cap_before = out->recs.cap;
    ddw_recs_resize(&out->recs, n, alen);
    if (out->recs.cap != cap_before || out->id_off == NULL)
        grow_row_arrays(out, plan);
    ddw_xgrow((void **)&out->text, &out->tcap, tlen + 1, 1);
    out->tlen = tlen;
    /* every thread copies a slice of every local output */
#pragma omp parallel num_threads(T)
    {
        int me = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int t = 1; t < T; t++) {
            const ddw_ingest_out *o = &rd->local[t];
            if (o->recs.n == 0)
                continue; /* no rows, so no text either */
            size_t m = o->recs.n, lo = m * (size_t)me / (size_t)nt,
                   hi = m * (size_t)(me + 1) / (size_t)nt;
            size_t base = at[3 * t], tb = at[3 * t + 2];
            ddw_recs_copy(&out->recs, base + lo, &o->recs, lo, hi - lo, at[3 * t + 1]);
            for (size_t i = lo; i < hi; i++) {
                out->id_off[base + i] = o->id_off[i] + (uint32_t)tb;
                out->id_len[base + i] = o->id_len[i];
            }
            for (size_t i = lo * nk; i < hi * nk; i++) {
                out->keep_off[base * nk + i] = o->keep_off[i] + (uint32_t)tb;
                out->keep_len[base * nk + i] = o->keep_len[i];
            }
            size_t alo = o->recs.alen * (size_t)me / (size_t)nt,
                   ahi = o->recs.alen * (size_t)(me + 1) / (size_t)nt;
            memcpy(out->recs.arena + at[3 * t + 1] + alo, o->recs.arena + alo, ahi - alo);
            size_t tlo = o->tlen * (size_t)me / (size_t)nt,
                   thi = o->tlen * (size_t)(me + 1) / (size_t)nt;
            memcpy(out->text + tb + tlo, o->text + tlo, thi - tlo);
        }
    }
done:
    free(at);
}

/*
 * Reads the records of source s that start at or after file offset from
 * (a record start, at line number line0) and in this rank's byte range
 * [lo, hi), into out.  Collective.  *open_at and *open_line tell every rank
 * where the record whose quoted field runs to the end of the file starts,
 * if one does (else UINT64_MAX).
 */
static void read_region(const ddw_config *cfg, const ddw_comm *comm, const ddw_ingest_plan *plan,
                        int s, readers *rd, uint64_t lo, uint64_t hi, uint64_t from,
                        uint64_t line0, ddw_ingest_out *out, uint64_t *open_at,
                        uint64_t *open_line)
{
    int P = ddw_comm_size(comm), r = ddw_comm_rank(comm), T = rd->nthreads;
    if (lo < from)
        lo = from;
    if (hi < lo)
        hi = lo;
    part *pt = rd->parts;
    for (int t = 0; t < T; t++) {
        pt[t].a = lo + (uint64_t)((unsigned __int128)(hi - lo) * (unsigned)t / (unsigned)T);
        pt[t].b = lo + (uint64_t)((unsigned __int128)(hi - lo) * (unsigned)(t + 1) / (unsigned)T);
        pt[t].from = from;
    }
    /* transitions and newline counts of the parts: the state and line at
     * each part's start follow from the parts (and ranks) before it, so
     * the last part of the last rank needs none.  Each scanned part is cut
     * into T pieces so that all threads share the scan evenly. */
    int scan_last = r < P - 1, nscan = scan_last ? T : T - 1, K = nscan * T;
    part *pc = rd->pieces;
    for (int j = 0; j < K; j++) {
        const part *whole = &pt[j / T];
        uint64_t len = whole->b - whole->a;
        pc[j].a = whole->a + (uint64_t)((unsigned __int128)len * (unsigned)(j % T) / (unsigned)T);
        pc[j].b =
            whole->a + (uint64_t)((unsigned __int128)len * (unsigned)(j % T + 1) / (unsigned)T);
    }
#pragma omp parallel for num_threads(T) schedule(static)
    for (int j = 0; j < K; j++)
        scan_part(&rd->win[omp_get_thread_num()], &pc[j]);
    for (int t = 0; t < nscan; t++) {
        for (int k = 0; k < 4; k++)
            pt[t].map[k] = (uint8_t)k;
        pt[t].nl = 0;
        for (int j = t * T; j < (t + 1) * T; j++) {
            for (int k = 0; k < 4; k++)
                pt[t].map[k] = pc[j].map[pt[t].map[k]];
            pt[t].nl += pc[j].nl;
        }
    }
    uint64_t cnt[2] = {0, 0};
    if (scan_last) {
        uint8_t map[4] = {0, 1, 2, 3};
        for (int t = 0; t < T; t++) {
            for (int k = 0; k < 4; k++)
                map[k] = pt[t].map[map[k]];
            cnt[1] += pt[t].nl;
        }
        cnt[0] = (uint64_t)map[0] | (uint64_t)map[1] << 8 | (uint64_t)map[2] << 16 |
                 (uint64_t)map[3] << 24;
    }
    uint64_t *all = ddw_xmalloc((size_t)P * 2 * sizeof *all);
    ddw_comm_allgather_u64(comm, cnt, 2, all);
    int state = DDW_CSV_S_START;
    uint64_t line = line0;
    for (int k = 0; k < r; k++) {
        state = (int)((all[2 * k] >> (8 * state)) & 0xff);
        line += all[2 * k + 1];
    }
    for (int t = 0; t < T; t++) {
        pt[t].state = state;
        pt[t].line = line;
        if (t < T - 1) {
            state = pt[t].map[state];
            line += pt[t].nl;
        }
    }
    readers_clear(rd, cfg->nsources);
    src_ctx cx;
    src_ctx_init(cfg, plan, s, &out->recs, &cx);
#pragma omp parallel for num_threads(T) schedule(static, 1)
    for (int t = 0; t < T; t++)
        parse_part(cfg, plan, &cx, &rd->win[t], &pt[t], t == 0 ? out : &rd->local[t]);
    merge_locals(rd, plan, s, out);
    /* at most one record, the file's last, can hold a quoted field that
     * runs to the end of the file */
    uint64_t mine[2] = {UINT64_MAX, UINT64_MAX};
    for (int t = 0; t < T; t++)
        if (pt[t].open_at != UINT64_MAX) {
            mine[0] = pt[t].open_at;
            mine[1] = pt[t].open_line;
        }
    ddw_comm_allgather_u64(comm, mine, 2, all);
    *open_at = *open_line = UINT64_MAX;
    for (int k = 0; k < P; k++)
        if (all[2 * k] != UINT64_MAX) {
            *open_at = all[2 * k];
            *open_line = all[2 * k + 1];
        }
    free(all);
}

/* Offset just past the first '\n' at or after offset at, or 0 if none. */
static uint64_t next_line(window *w, uint64_t at)
{
    window_reset(w, at);
    while (window_slide(w, w->base + w->len, CHUNK) > 0) {
        const char *nl = memchr(w->buf, '\n', w->len);
        if (nl)
            return w->base + (uint64_t)(nl - w->buf) + 1;
        window_reset(w, w->base + w->len);
    }
    return 0;
}

/*
 * Reads this rank's share of source s.  A quoted field that is never
 * closed would make the rest of the file one record: instead that record's
 * first line is rejected and reading starts again, from a record start in
 * the default state, on the next line, exactly as a serial reader would
 * (every rank learns where the open record starts and restarts from there
 * too, so segmentation stays independent of the rank and thread counts).
 */
static ddw_status read_source(const ddw_config *cfg, const ddw_comm *comm, ddw_ingest_plan *plan,
                              int s, readers *rd, ddw_ingest_out *out)
{
    const ddw_source_plan *sp = &plan->src[s];
    int P = ddw_comm_size(comm), r = ddw_comm_rank(comm), T = rd->nthreads;
    uint64_t D = sp->size - sp->data_start;
    uint64_t lo = sp->data_start + (uint64_t)((unsigned __int128)D * (unsigned)r / (unsigned)P);
    uint64_t hi =
        sp->data_start + (uint64_t)((unsigned __int128)D * (unsigned)(r + 1) / (unsigned)P);
    int fd = open(cfg->sources[s].path, O_RDONLY);
    int ok = fd >= 0 ? DDW_OK : DDW_EIO;
    if (ddw_comm_agree(comm, ok) != DDW_OK) {
        if (fd >= 0)
            close(fd);
        return DDW_EIO;
    }
    out->bytes_read += hi - lo;
    for (int t = 0; t < T; t++) {
        rd->win[t].fd = fd;
        rd->win[t].fsize = sp->size;
        rd->win[t].what = cfg->sources[s].path;
    }
    out->seg_first[s] = out->recs.n;
    uint64_t from = sp->data_start, line = sp->header_lines + 1;
    while (from < sp->size) {
        uint64_t open_at, open_line;
        read_region(cfg, comm, plan, s, rd, lo, hi, from, line, out, &open_at, &open_line);
        if (open_at == UINT64_MAX || (from = next_line(&rd->win[0], open_at)) == 0)
            break;
        line = open_line + 1;
    }
    close(fd);
    return DDW_OK;
}

/* Fields whose Soundex code a blocking key or a comparison level reads. */
static unsigned soundex_mask(const ddw_config *cfg)
{
    unsigned m = 0;
    for (int p = 0; p < cfg->npasses; p++)
        for (int k = 0; k < cfg->passes[p].nparts; k++)
            if (cfg->passes[p].parts[k].func == DDW_BK_SOUNDEX)
                m |= 1u << cfg->passes[p].parts[k].field;
    for (int c = 0; c < cfg->ncompare; c++)
        for (int l = 0; l < cfg->compare[c].nlevels; l++)
            if (cfg->compare[c].levels[l].kind == DDW_LV_SOUNDEX)
                m |= 1u << cfg->compare[c].field;
    return m;
}

static void out_init(ddw_ingest_out *out, const ddw_config *cfg)
{
    int S = cfg->nsources;
    memset(out, 0, sizeof *out);
    ddw_recs_init(&out->recs, ddw_ingest_fieldmask(cfg));
    ddw_recs_skip_codes(&out->recs, ~soundex_mask(cfg));
    out->seg_first = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    out->seg_count = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    out->rows_read = ddw_xcalloc((size_t)S, sizeof(uint64_t));
    out->rows_rejected = ddw_xcalloc((size_t)S, sizeof(uint64_t));
}

ddw_status ddw_ingest_run(const ddw_config *cfg, const ddw_comm *comm, ddw_ingest_plan *plan,
                          ddw_ingest_out *out)
{
    int S = cfg->nsources, P = ddw_comm_size(comm), r = ddw_comm_rank(comm);
    out_init(out, cfg);
    /* checksums: source s is hashed by rank s mod P, so ranks share the
     * work, and a rank's threads share its sources */
    int rc = DDW_OK, nmine = 0;
    int *mine = ddw_xmalloc((size_t)S * sizeof *mine);
    for (int s = r; s < S; s += P) { /* largest first, for an even share */
        int k = nmine++;
        for (; k > 0 && plan->src[mine[k - 1]].size < plan->src[s].size; k--)
            mine[k] = mine[k - 1];
        mine[k] = s;
    }
#pragma omp parallel for schedule(dynamic, 1) reduction(| : rc)
    for (int k = 0; k < nmine; k++)
        if (ddw_ingest_sha256_file(cfg->sources[mine[k]].path, plan->src[mine[k]].sha256) !=
            DDW_OK)
            rc |= 1;
    free(mine);
    if ((rc = ddw_comm_agree(comm, rc ? DDW_EIO : DDW_OK)) != DDW_OK)
        return (ddw_status)rc;
    for (int s = 0; s < S; s++)
        ddw_comm_bcast(comm, plan->src[s].sha256, sizeof plan->src[s].sha256, s % P);
    readers rd;
    rd.nthreads = omp_get_max_threads();
    rd.local = ddw_xcalloc((size_t)rd.nthreads, sizeof *rd.local);
    rd.win = ddw_xcalloc((size_t)rd.nthreads, sizeof *rd.win);
    rd.parts = ddw_xcalloc((size_t)rd.nthreads, sizeof *rd.parts);
    rd.pieces = ddw_xcalloc((size_t)rd.nthreads * (size_t)rd.nthreads, sizeof *rd.pieces);
    for (int t = 0; t < rd.nthreads; t++) {
        if (t > 0)
            out_init(&rd.local[t], cfg);
        rd.win[t].cap = CHUNK + 4096;
        rd.win[t].buf = ddw_xmalloc(rd.win[t].cap);
    }
    for (int s = 0; s < S && rc == DDW_OK; s++)
        rc = read_source(cfg, comm, plan, s, &rd, out);
    for (int t = 0; t < rd.nthreads; t++) {
        if (t > 0)
            ddw_ingest_free(&rd.local[t]);
        free(rd.win[t].buf);
    }
    free(rd.local);
    free(rd.win);
    free(rd.parts);
    free(rd.pieces);
    return (ddw_status)rc;
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
