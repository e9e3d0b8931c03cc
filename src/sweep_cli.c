/*
 * sweep_cli.c - the `ddwlink sweep` command: reads the scored pairs a link
 * result keeps (/edges, all pairs at or above its edges_kept_above), runs
 * the threshold sweep of src/sweep.c, prints the grid and stores it in the
 * result under /sweep.
 *
 * Trade-off (as in evaluate_cli.c): every rank reads the whole result (and
 * truth) and computes the same grid - the sweep is deterministic, so they
 * agree bit for bit - rank 0 alone prints, and /sweep is written
 * collectively with rank 0 contributing every row.  Under mpirun with
 * several ranks each rank pays the memory of the whole job, but nothing is
 * broadcast and every HDF5 call stays collective, as parallel HDF5 needs.
 * The sweep is one sort of the edges and near-linear merging (millions of
 * records in seconds), so one rank is the normal way to run it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_evaluate.h"
#include "ddw_h5io.h"
#include "ddw_sweep.h"

#define EXIT_INPUT 2
#define EXIT_FAILURE_RUN 1

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ddwlink sweep RESULT.h5 --thresholds LO:HI:STEP [--truth TRUTH.csv] [--json]\n"
            "\n"
            "The persons `ddwlink link` would make at every threshold LO, LO+STEP, ..., HI,\n"
            "from the scored pairs stored in RESULT.h5, without rescoring; stored in\n"
            "RESULT.h5 under /sweep (replacing any earlier sweep).  Link with\n"
            "--keep-edges-above W to keep the pairs down to W; LO must be >= W (or >= the\n"
            "link's threshold when it was not given).  Follows the result's\n"
            "cluster.refine (none or pnc; pnc_dob is not supported).\n"
            "\n"
            "  --thresholds LO:HI:STEP  the grid (STEP > 0, at most %d points)\n"
            "  --truth FILE  also measure every threshold against the ground truth, as\n"
            "                `ddwlink evaluate` does (same CSV format and strict join)\n"
            "  --json        print one JSON object instead of the table\n"
            "  --help        this text\n"
            "\n"
            "Per threshold: persons, edges applied, edges skipped by the pnc rule, largest\n"
            "person; with --truth the overall figures of evaluate, and the threshold with\n"
            "the best pair F1.  Exit code 0 on success, 2 for bad arguments or inputs,\n"
            "1 for other failures.\n",
            DDW_SWEEP_MAX_POINTS);
}

typedef struct {
    const char *result;
    const char *grid;
    const char *truth;
    int json;
} sweep_args;

/* 0: parsed; 1: help printed (exit 0); -1: usage error (reported on rank 0). */
static int parse_args(int argc, char **argv, sweep_args *a, int rank)
{
    memset(a, 0, sizeof *a);
    const char *bad = NULL;
    for (int i = 2; i < argc && bad == NULL; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            if (rank == 0)
                usage(stdout);
            return 1;
        } else if (strcmp(s, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(s, "--truth") == 0 && i + 1 < argc && a->truth == NULL) {
            a->truth = argv[++i];
        } else if (strncmp(s, "--truth=", 8) == 0 && a->truth == NULL) {
            a->truth = s + 8;
        } else if (strcmp(s, "--thresholds") == 0 && i + 1 < argc && a->grid == NULL) {
            a->grid = argv[++i];
        } else if (strncmp(s, "--thresholds=", 13) == 0 && a->grid == NULL) {
            a->grid = s + 13;
        } else if (s[0] != '-' && a->result == NULL) {
            a->result = s;
        } else {
            bad = s;
        }
    }
    const char *msg = bad ? "unknown, repeated or incomplete argument" : NULL;
    if (msg == NULL && a->grid == NULL)
        msg = "sweep needs --thresholds LO:HI:STEP";
    else if (msg == NULL && a->result == NULL)
        msg = "sweep needs the result file (RESULT.h5)";
    if (msg == NULL)
        return 0;
    if (rank == 0) {
        fprintf(stderr, "ddwlink: %s%s%s%s\n", msg, bad ? " '" : "", bad ? bad : "",
                bad ? "'" : "");
        usage(stderr);
    }
    return -1;
}

/* The columns and attributes of the result that the sweep needs. */
typedef struct {
    uint64_t n, ne, nsources;
    uint64_t *key, *pnc_key;
    uint64_t *a, *b;
    double *w;
    uint8_t *attach;   /* per record: its source is attach_once; NULL = no such source */
    char *refine;
    double kept_above, link_threshold;
    /* only with a truth */
    char *name_buf;
    uint64_t name_width;
    const char **names;
    int32_t *source;
    char *record_id;
    uint64_t id_width;
} result_cols;

static void result_free(result_cols *r)
{
    free(r->key);
    free(r->pnc_key);
    free(r->a);
    free(r->b);
    free(r->w);
    free(r->attach);
    free(r->refine);
    free(r->name_buf);
    free(r->names);
    free(r->source);
    free(r->record_id);
    memset(r, 0, sizeof *r);
}

/* The link's threshold (/model attribute threshold) and the floor of the
 * kept pairs (root attribute edges_kept_above). */
static ddw_status read_floor(ddw_h5 *h, const char *path, FILE *err, result_cols *r)
{
    static const char *const obj[2] = {"/", "/model"};
    static const char *const name[2] = {"edges_kept_above", "threshold"};
    double *v[2] = {&r->kept_above, &r->link_threshold};
    for (int k = 0; k < 2; k++)
        if (ddw_h5_read_attr_f64(h, obj[k], name[k], v[k]) != DDW_OK || !isfinite(*v[k])) {
            if (err)
                fprintf(err, "sweep: error: %s has no %s attribute '%s': it was written by a "
                             "ddwlink link without sweep support; link again\n", path,
                        k ? "/model" : "root", name[k]);
            return DDW_EINVAL;
        }
    return DDW_OK;
}

/* Per record, whether its source (from the key) is attach_once: from
 * /sources/attach_once, which results written before that rule lack (none). */
static ddw_status read_attach(ddw_h5 *h, const char *path, FILE *err, result_cols *r)
{
    int exists = 0;
    if (ddw_h5_exists(h, "/sources/attach_once", &exists) != DDW_OK || !exists)
        return DDW_OK;
    int32_t *flag = NULL;
    uint64_t ns = 0;
    if (ddw_h5_read(h, "/sources/attach_once", DDW_H5_I32, &ns, NULL, (void **)&flag) != DDW_OK) {
        if (err)
            fprintf(err, "sweep: error: %s: cannot read /sources/attach_once\n", path);
        return DDW_EINVAL;
    }
    int any = 0;
    for (uint64_t s = 0; s < ns; s++)
        any |= flag[s] != 0;
    ddw_status rc = DDW_OK;
    if (any) {
        r->attach = ddw_xmalloc(r->n ? r->n : 1);
        for (uint64_t i = 0; i < r->n && rc == DDW_OK; i++) {
            uint64_t s = (uint64_t)DDW_KEY_SOURCE(r->key[i]);
            if (s >= ns) {
                if (err)
                    fprintf(err, "sweep: error: %s: /records/key[%" PRIu64 "] names source %"
                                 PRIu64 ", but /sources/attach_once has %" PRIu64 " rows\n",
                            path, i, s, ns);
                rc = DDW_EINVAL;
            } else {
                r->attach[i] = flag[s] != 0;
            }
        }
    }
    free(flag);
    return rc;
}

/* Reads and checks what the sweep needs; reports problems on err. */
static ddw_status read_result(ddw_h5 *h, const char *path, int with_truth, FILE *err,
                              result_cols *r)
{
    char *layout = NULL;
    if (ddw_h5_read_attr_str(h, "/", "layout_version", &layout) == DDW_OK &&
        strcmp(layout, "1") != 0) {
        if (err)
            fprintf(err, "sweep: error: %s has result layout_version '%s'; this ddwlink reads "
                         "version 1\n", path, layout);
        free(layout);
        return DDW_EINVAL;
    }
    free(layout);
    if (ddw_h5_read_attr_str(h, "/", "refine", &r->refine) != DDW_OK) {
        if (err)
            fprintf(err, "sweep: error: %s has no root attribute 'refine': it was written by a "
                         "ddwlink link without sweep support; link again\n", path);
        return DDW_EINVAL;
    }
    if (strcmp(r->refine, "pnc_dob") == 0) {
        if (err)
            fprintf(err, "sweep: error: sweep does not support cluster.refine = pnc_dob; relink "
                         "with --set cluster.refine=pnc or none\n");
        return DDW_EINVAL;
    }
    if (strcmp(r->refine, "none") != 0 && strcmp(r->refine, "pnc") != 0) {
        if (err)
            fprintf(err, "sweep: error: %s: unknown cluster.refine '%s' (none or pnc expected)\n",
                    path, r->refine);
        return DDW_EINVAL;
    }
    ddw_status rc = read_floor(h, path, err, r);
    if (rc != DDW_OK)
        return rc;
    enum { C_KEY, C_PNC, C_A, C_B, C_W, C_NAME, C_SRC, C_RID, C_N };
    static const char *const need[C_N] = {"/records/key", "/records/pnc_key", "/edges/a",
                                          "/edges/b", "/edges/weight", "/sources/name",
                                          "/records/source", "/records/record_id"};
    uint64_t n[C_N] = {0};
    ddw_status st[C_N];
    int ncols = with_truth ? C_N : C_NAME;
    st[C_KEY] = ddw_h5_read(h, need[C_KEY], DDW_H5_U64, &n[C_KEY], NULL, (void **)&r->key);
    st[C_PNC] = ddw_h5_read(h, need[C_PNC], DDW_H5_U64, &n[C_PNC], NULL, (void **)&r->pnc_key);
    st[C_A] = ddw_h5_read(h, need[C_A], DDW_H5_U64, &n[C_A], NULL, (void **)&r->a);
    st[C_B] = ddw_h5_read(h, need[C_B], DDW_H5_U64, &n[C_B], NULL, (void **)&r->b);
    st[C_W] = ddw_h5_read(h, need[C_W], DDW_H5_F64, &n[C_W], NULL, (void **)&r->w);
    if (with_truth) {
        st[C_NAME] = ddw_h5_read(h, need[C_NAME], DDW_H5_STR, &n[C_NAME], &r->name_width,
                                 (void **)&r->name_buf);
        st[C_SRC] = ddw_h5_read(h, need[C_SRC], DDW_H5_I32, &n[C_SRC], NULL,
                                (void **)&r->source);
        st[C_RID] = ddw_h5_read(h, need[C_RID], DDW_H5_STR, &n[C_RID], &r->id_width,
                                (void **)&r->record_id);
    }
    for (int k = 0; k < ncols; k++)
        if (st[k] != DDW_OK) {
            if (err)
                fprintf(err, "sweep: error: %s is not a ddwlink link result with sweep support: "
                             "cannot read %s (%s)\n", path, need[k], ddw_strerror(st[k]));
            return DDW_EINVAL;
        }
    r->n = n[C_KEY];
    r->ne = n[C_A];
    r->nsources = n[C_NAME];
    if (n[C_PNC] != r->n || (with_truth && (n[C_SRC] != r->n || n[C_RID] != r->n)) ||
        n[C_B] != r->ne || n[C_W] != r->ne) {
        if (err)
            fprintf(err, "sweep: error: %s: columns differ in length (/records: %" PRIu64
                         " key, %" PRIu64 " pnc_key; /edges: %" PRIu64 " a, %" PRIu64
                         " b, %" PRIu64 " weight)\n", path, r->n, n[C_PNC], r->ne, n[C_B],
                    n[C_W]);
        return DDW_EINVAL;
    }
    rc = read_attach(h, path, err, r);
    if (rc != DDW_OK || !with_truth)
        return rc;
    if (r->nsources < 1 || r->nsources > DDW_MAX_SOURCES) {
        if (err)
            fprintf(err, "sweep: error: %s: /sources/name has %" PRIu64 " rows (1..%d "
                         "expected)\n", path, r->nsources, DDW_MAX_SOURCES);
        return DDW_EINVAL;
    }
    r->names = ddw_xmalloc((size_t)r->nsources * sizeof *r->names);
    for (uint64_t s = 0; s < r->nsources; s++)
        r->names[s] = r->name_buf + s * r->name_width;
    for (uint64_t i = 0; i < r->n; i++)
        if (r->source[i] < 0 || (uint64_t)r->source[i] >= r->nsources) {
            if (err)
                fprintf(err, "sweep: error: %s: /records/source[%" PRIu64 "] = %d is not a "
                             "source number (0..%" PRIu64 ")\n", path, i, (int)r->source[i],
                        r->nsources - 1);
            return DDW_EINVAL;
        }
    return DDW_OK;
}

/* The truth join of evaluate; its messages (prefixed "evaluate: error: ") are
 * collected and passed on to err as the sweep's own. */
static ddw_status join_truth(const char *truth, const result_cols *r, FILE *err,
                             uint64_t *truth_id, uint64_t *ntrue)
{
    ddw_eval_records recs = {(int)r->nsources, r->names, (size_t)r->n, r->source,
                             r->record_id, (size_t)r->id_width};
    ddw_eval_join_stats js;
    memset(&js, 0, sizeof js);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = err ? open_memstream(&buf, &len) : NULL;
    ddw_status rc = ddw_eval_join_file(truth, &recs, mem ? mem : err, truth_id, &js);
    if (mem) {
        fclose(mem);
        static const char from[] = "evaluate: error: ";
        for (char *line = buf; line && *line;) {
            char *nl = strchr(line, '\n');
            size_t l = nl ? (size_t)(nl - line) : strlen(line);
            if (strncmp(line, from, sizeof from - 1) == 0)
                fprintf(err, "sweep: error: %.*s\n", (int)(l - (sizeof from - 1)),
                        line + sizeof from - 1);
            else
                fprintf(err, "%.*s\n", (int)l, line);
            line = nl ? nl + 1 : NULL;
        }
        free(buf);
    }
    *ntrue = js.persons;
    return rc;
}

/* Every step is collective: ranks agree on its status so that all of them
 * leave together when any one fails. */
#define CHECK(call)                                                                             \
    do {                                                                                        \
        if ((rc = (ddw_status)ddw_comm_agree(comm, (call))) != DDW_OK)                          \
            goto fail;                                                                          \
    } while (0)


/*
 * Replaces /sweep: attributes truth_path ("" without a truth), swept_at and
 * json; one dataset per column, one row per threshold: threshold, persons,
 * edges, edges_skipped, largest_cluster and, with a truth, one per figure of
 * ddw_eval_fields[] (counts int64, ratios float64).
 */
static ddw_status write_sweep(ddw_h5 *h, const ddw_comm *comm, const ddw_sweep_point *p,
                              size_t np, const char *truth_path, const char *json)
{
    ddw_status rc = DDW_OK;
    double *col = ddw_xmalloc((np ? np : 1) * sizeof *col);
    int64_t *icol = ddw_xmalloc((np ? np : 1) * sizeof *icol);
    char when[32];
    ddw_utc_now(when);
    ddw_comm_bcast(comm, when, sizeof when, 0);
    CHECK(ddw_h5_delete(h, "/sweep"));
    CHECK(ddw_h5_group(h, "/sweep"));
    CHECK(ddw_h5_attr_str(h, "/sweep", "truth_path", truth_path ? truth_path : ""));
    CHECK(ddw_h5_attr_str(h, "/sweep", "swept_at", when));
    CHECK(ddw_h5_attr_str(h, "/sweep", "json", json));
    for (size_t g = 0; g < np; g++)
        col[g] = p[g].threshold;
    CHECK(ddw_h5_write_rank0(h, comm, "/sweep/threshold", DDW_H5_F64, 1, np, col));
    static const char *const counts[] = {"persons", "edges", "edges_skipped", "largest_cluster"};
    for (int c = 0; c < 4; c++) {
        for (size_t g = 0; g < np; g++) {
            const uint64_t v[4] = {p[g].persons, p[g].edges, p[g].edges_skipped,
                                   p[g].largest_cluster};
            icol[g] = (int64_t)v[c];
        }
        char path[64];
        snprintf(path, sizeof path, "/sweep/%s", counts[c]);
        CHECK(ddw_h5_write_rank0(h, comm, path, DDW_H5_I64, 1, np, icol));
    }
    for (int k = 0; truth_path && k < ddw_eval_nfields; k++) {
        char path[128];
        snprintf(path, sizeof path, "/sweep/%s", ddw_eval_fields[k].name);
        for (size_t g = 0; g < np; g++) {
            icol[g] = (int64_t)ddw_eval_field_u64(&p[g].eval, k);
            col[g] = ddw_eval_field_f64(&p[g].eval, k);
        }
        if (ddw_eval_fields[k].is_count)
            CHECK(ddw_h5_write_rank0(h, comm, path, DDW_H5_I64, 1, np, icol));
        else
            CHECK(ddw_h5_write_rank0(h, comm, path, DDW_H5_F64, 1, np, col));
    }
fail:
    free(col);
    free(icol);
    return rc;
}

int ddw_sweep_cli(const ddw_comm *comm, int argc, char **argv)
{
    int me = ddw_comm_rank(comm);
    FILE *err = me == 0 ? stderr : NULL;
    sweep_args a;
    int pr = parse_args(argc, argv, &a, me);
    if (pr != 0)
        return pr > 0 ? 0 : EXIT_INPUT;
    ddw_sweep_grid grid;
    char msg[512];
    if (ddw_sweep_grid_parse(a.grid, &grid, msg, sizeof msg) != DDW_OK) {
        if (err)
            fprintf(err, "sweep: error: %s\n", msg);
        return EXIT_INPUT;
    }
    int exit_code = EXIT_INPUT;
    ddw_h5 *h = NULL;
    result_cols res;
    memset(&res, 0, sizeof res);
    uint64_t *truth_id = NULL, ntrue = 0;
    ddw_sweep_point *pts = NULL;
    char *json = NULL;
    double t0 = ddw_comm_wtime(), t_read = 0, t_sweep = 0;

    int st = DDW_OK;
    if (me == 0 && access(a.result, R_OK) != 0) {
        fprintf(stderr, "sweep: error: cannot read result file '%s': %s\n", a.result,
                strerror(errno));
        st = DDW_EIO;
    } else if (me == 0 && access(a.result, W_OK) != 0) {
        fprintf(stderr, "sweep: error: result file '%s' is not writable (the sweep is stored "
                        "in it): %s\n", a.result, strerror(errno));
        st = DDW_EIO;
    }
    if (ddw_comm_agree(comm, st) != DDW_OK)
        goto fail_open;
    if (ddw_comm_agree(comm, ddw_h5_open(comm, a.result, 1, &h)) != DDW_OK) {
        if (err)
            fprintf(err, "sweep: error: cannot open '%s' as an HDF5 file for reading and "
                         "writing\n", a.result);
        goto fail_open;
    }
    if (ddw_comm_agree(comm, read_result(h, a.result, a.truth != NULL, err, &res)) != DDW_OK)
        goto fail_read;
    if (grid.t[0] < res.kept_above) {
        if (err) {
            char lo[32], kept[32];
            ddw_sweep_fmt_double(lo, grid.t[0]);
            ddw_sweep_fmt_double(kept, res.kept_above);
            fprintf(err, "sweep: error: LO %s is below %s, the lowest weight of the scored pairs "
                         "%s keeps (edges_kept_above); the pairs below it were not kept: sweep "
                         "from %s up, or link again with --keep-edges-above %s\n", lo, kept,
                    a.result, kept, lo);
        }
        goto fail_read;
    }
    if (a.truth) {
        truth_id = ddw_xmalloc((size_t)(res.n ? res.n : 1) * sizeof *truth_id);
        if (ddw_comm_agree(comm, join_truth(a.truth, &res, err, truth_id, &ntrue)) != DDW_OK)
            goto fail_read;
    }
    t_read = ddw_comm_wtime() - t0;

    exit_code = EXIT_FAILURE_RUN;
    ddw_sweep_input in = {(size_t)res.n, res.key, res.pnc_key, truth_id, ntrue, (size_t)res.ne,
                          res.a, res.b, res.w,
                          strcmp(res.refine, "pnc") == 0 ? DDW_SWEEP_REFINE_PNC
                                                         : DDW_SWEEP_REFINE_NONE,
                          res.attach};
    pts = ddw_xmalloc(grid.n * sizeof *pts);
    st = ddw_sweep_run(&in, grid.n, grid.t, pts, err);
    if (ddw_comm_agree(comm, st) != DDW_OK) {
        if (st == DDW_EINVAL || st == DDW_ERANGE) /* the result's own data is inconsistent */
            exit_code = EXIT_INPUT;
        if (err)
            fprintf(err, "sweep: error: the sweep over %s failed: %s\n", a.result,
                    ddw_strerror(st));
        goto fail_read;
    }
    t_sweep = ddw_comm_wtime() - t0 - t_read;
    ddw_sweep_info info = {a.result, res.refine,     a.truth,           res.n,
                           res.ne,   res.kept_above, res.link_threshold};
    json = ddw_sweep_json(&info, pts, grid.n);
    st = write_sweep(h, comm, pts, grid.n, a.truth, json);
    if (st == DDW_OK)
        st = ddw_comm_agree(comm, ddw_h5_close(&h));
    if (st != DDW_OK) {
        if (err)
            fprintf(err, "sweep: error: writing /sweep into %s failed: %s\n", a.result,
                    ddw_strerror(st));
        goto fail_read;
    }
    if (me == 0) {
        if (a.json)
            printf("%s\n", json);
        else
            ddw_sweep_print_table(stdout, &info, pts, grid.n);
        fflush(stdout);
        fprintf(stderr, "sweep: %" PRIu64 " records, %" PRIu64 " scored pairs, %zu thresholds "
                        "(refine %s): read %.2f s, sweep %.2f s, write %.2f s\n", res.n, res.ne,
                grid.n, res.refine, t_read, t_sweep, ddw_comm_wtime() - t0 - t_read - t_sweep);
    }
    exit_code = 0;
fail_read:
    free(json);
    free(pts);
    free(truth_id);
    result_free(&res);
    ddw_h5_close(&h);
fail_open:
    ddw_sweep_grid_free(&grid);
    return exit_code;
}
