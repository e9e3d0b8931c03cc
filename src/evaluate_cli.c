/*
 * evaluate_cli.c - the `ddwlink evaluate` command: reads a link result and
 * a truth CSV, prints the quality figures (src/evaluate.c) and stores them
 * in the result file under /evaluation.
 *
 * Distributed: each rank takes a 1/P slice of the result's /records
 * columns and a 1/P byte range of the truth; the join and the counting
 * route records between ranks by hash (src/evaluate.c), so each rank's
 * memory is O(N / P) and the figures are the same bits for any rank count.
 * Every rank ends with the same figures; rank 0 alone prints, and
 * /evaluation is written collectively with rank 0 contributing every row
 * (a few rows per source pair).  Each rank reads only its 1/P slice of
 * every /records column (ddw_h5_read_part, a collective hyperslab read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_evaluate.h"
#include "ddw_h5io.h"

#define EXIT_INPUT 2
#define EXIT_FAILURE_RUN 1

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ddwlink evaluate --truth TRUTH.csv RESULT.h5 [--json]\n"
            "\n"
            "Measures a link result against the ground truth and stores the figures in\n"
            "RESULT.h5 under /evaluation (replacing any earlier evaluation).\n"
            "\n"
            "  --truth FILE  CSV with a header naming the columns source, record_id and\n"
            "                person (or person_id); other columns are ignored.  Every\n"
            "                record of the result must have exactly one row, and no more.\n"
            "  --json        print one JSON object instead of the table\n"
            "  --help        this text\n"
            "\n"
            "Figures, overall and per source pair: pairwise precision, recall and F1;\n"
            "B-cubed precision, recall and F1; persons found and true; true persons split\n"
            "over several found persons; found persons merging several true persons.\n"
            "Exit code 0 on success, 2 for bad arguments or inputs (records that do not\n"
            "join the truth), 1 for other failures.\n");
}

typedef struct {
    const char *truth;
    const char *result;
    int json;
} eval_args;

/* 0: parsed; 1: help printed (exit 0); -1: usage error (reported on rank 0). */
static int parse_args(int argc, char **argv, eval_args *a, int rank)
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
        } else if (strcmp(s, "--truth") == 0 && i + 1 < argc) {
            a->truth = argv[++i];
        } else if (strncmp(s, "--truth=", 8) == 0) {
            a->truth = s + 8;
        } else if (s[0] != '-' && a->result == NULL) {
            a->result = s;
        } else {
            bad = s;
        }
    }
    const char *msg = bad ? "unknown, repeated or incomplete argument" : NULL;
    if (msg == NULL && a->truth == NULL)
        msg = "evaluate needs --truth FILE";
    else if (msg == NULL && a->result == NULL)
        msg = "evaluate needs the result file (RESULT.h5)";
    if (msg == NULL)
        return 0;
    if (rank == 0) {
        fprintf(stderr, "ddwlink: %s%s%s%s\n", msg, bad ? " '" : "", bad ? bad : "",
                bad ? "'" : "");
        usage(stderr);
    }
    return -1;
}

/* This rank's slice of the result's columns that the evaluation needs. */
typedef struct {
    uint64_t nsources, n; /* n: records in the whole result */
    uint64_t first, count; /* this rank's slice: records first .. first + count - 1 */
    char *name_buf;      /* nsources rows of name_width bytes */
    uint64_t name_width;
    const char **names;  /* [nsources] into name_buf */
    int32_t *source;
    char *record_id;
    uint64_t id_width;
    uint64_t *person;
} result_cols;

static void result_free(result_cols *r)
{
    free(r->source);
    free(r->record_id);
    free(r->person);
    free(r->name_buf);
    free(r->names);
    memset(r, 0, sizeof *r);
}

/*
 * Reads this rank's slice, rows [n*r/P, n*(r+1)/P), of the 1-D dataset
 * path: *n gets the whole dataset's rows, *width as ddw_h5_read, *data the
 * slice (caller frees); only the slice is read.  Collective.
 */
static ddw_status read_slice(ddw_h5 *h, const ddw_comm *comm, const char *path,
                             ddw_h5_type type, uint64_t *n, uint64_t *width, uint64_t *first,
                             uint64_t *count, void **data)
{
    uint64_t w = 1;
    ddw_status rc = ddw_h5_read_part(h, path, type, (uint64_t)ddw_comm_rank(comm),
                                     (uint64_t)ddw_comm_size(comm), n, first, count, &w, data);
    if (width)
        *width = w;
    return rc;
}

/* Reads and checks this rank's slice of the result; reports problems on
 * err.  Collective; returns the same status on every rank. */
static ddw_status read_result(ddw_h5 *h, const ddw_comm *comm, const char *path, FILE *err,
                              result_cols *r)
{
    static const char *const need[] = {"/sources/name", "/records/source",
                                       "/records/record_id", "/records/person_id"};
    uint64_t n[4] = {0, 0, 0, 0}, first[4] = {0, 0, 0, 0}, count[4] = {0, 0, 0, 0};
    ddw_status rc[4];
    void *out[4] = {NULL, NULL, NULL, NULL};
    /* the smaller columns first: the peak is the slices so far plus one whole column */
    rc[0] = ddw_h5_read(h, need[0], DDW_H5_STR, &n[0], &r->name_width, &out[0]);
    rc[1] = read_slice(h, comm, need[1], DDW_H5_I32, &n[1], NULL, &first[1],
                       &count[1], &out[1]);
    rc[3] = read_slice(h, comm, need[3], DDW_H5_U64, &n[3], NULL, &first[3],
                       &count[3], &out[3]);
    rc[2] = read_slice(h, comm, need[2], DDW_H5_STR, &n[2], &r->id_width, &first[2],
                       &count[2], &out[2]);
    r->name_buf = out[0];
    r->source = out[1];
    r->record_id = out[2];
    r->person = out[3];
    r->nsources = n[0];
    r->n = n[1];
    r->first = first[1];
    r->count = count[1];
    for (int k = 0; k < 4; k++)
        if (rc[k] != DDW_OK) {
            if (err)
                fprintf(err, "evaluate: error: %s is not a ddwlink link result: cannot read "
                             "%s (%s)\n", path, need[k], ddw_strerror(rc[k]));
            return DDW_EINVAL;
        }
    char *layout = NULL;
    if (ddw_h5_read_attr_str(h, "/", "layout_version", &layout) == DDW_OK &&
        strcmp(layout, "1") != 0) {
        if (err)
            fprintf(err, "evaluate: error: %s has result layout_version '%s'; this ddwlink "
                         "reads version 1\n", path, layout);
        free(layout);
        return DDW_EINVAL;
    }
    free(layout);
    if (n[2] != n[1] || n[3] != n[1]) {
        if (err)
            fprintf(err, "evaluate: error: %s: /records columns differ in length (%llu source, "
                         "%llu record_id, %llu person_id)\n", path, (unsigned long long)n[1],
                    (unsigned long long)n[2], (unsigned long long)n[3]);
        return DDW_EINVAL;
    }
    if (r->nsources < 1 || r->nsources > DDW_MAX_SOURCES) {
        if (err)
            fprintf(err, "evaluate: error: %s: /sources/name has %llu rows (1..%d expected)\n",
                    path, (unsigned long long)r->nsources, DDW_MAX_SOURCES);
        return DDW_EINVAL;
    }
    r->names = ddw_xmalloc((size_t)r->nsources * sizeof *r->names);
    for (uint64_t s = 0; s < r->nsources; s++)
        r->names[s] = r->name_buf + s * r->name_width;
    /* the first bad source number of the whole result, whichever rank holds it */
    int P = ddw_comm_size(comm);
    uint64_t bad[2] = {UINT64_MAX, 0};
    for (uint64_t i = 0; i < r->count && bad[0] == UINT64_MAX; i++)
        if (r->source[i] < 0 || (uint64_t)r->source[i] >= r->nsources) {
            bad[0] = r->first + i;
            bad[1] = (uint64_t)(uint32_t)r->source[i];
        }
    uint64_t *all = ddw_xmalloc((size_t)P * 2 * sizeof *all);
    ddw_comm_allgather_u64(comm, bad, 2, all);
    int win = -1;
    for (int k = 0; k < P; k++)
        if (all[2 * k] != UINT64_MAX && (win < 0 || all[2 * k] < all[2 * win]))
            win = k;
    if (win >= 0 && err)
        fprintf(err, "evaluate: error: %s: /records/source[%llu] = %d is not a source "
                     "number (0..%llu)\n", path, (unsigned long long)all[2 * win],
                (int)(int32_t)(uint32_t)all[2 * win + 1], (unsigned long long)r->nsources - 1);
    free(all);
    return win >= 0 ? DDW_EINVAL : DDW_OK;
}

/* Truth rows missing from the result are often rows that ingest rejected
 * (their record IDs are not stored): says how many each source had. */
static void note_rejects(ddw_h5 *h, const result_cols *r, FILE *err)
{
    uint64_t n = 0;
    int32_t *src = NULL;
    if (ddw_h5_read(h, "/rejects/source", DDW_H5_I32, &n, NULL, (void **)&src) != DDW_OK)
        return;
    uint64_t *cnt = ddw_xcalloc((size_t)r->nsources, sizeof *cnt);
    for (uint64_t i = 0; i < n; i++)
        if (src[i] >= 0 && (uint64_t)src[i] < r->nsources)
            cnt[src[i]]++;
    for (uint64_t s = 0; s < r->nsources && err; s++)
        if (cnt[s])
            fprintf(err, "evaluate: note: ddwlink link rejected %llu row%s of source '%s' "
                         "(listed in /rejects), so %s not in the result\n",
                    (unsigned long long)cnt[s], cnt[s] == 1 ? "" : "s", r->names[s],
                    cnt[s] == 1 ? "it is" : "they are");
    free(cnt);
    free(src);
}

/* Every step is collective: ranks agree on its status so that all of them
 * leave together when any one fails. */
#define CHECK(call)                                                                             \
    do {                                                                                        \
        if ((rc = (ddw_status)ddw_comm_agree(comm, (call))) != DDW_OK)                          \
            goto fail;                                                                          \
    } while (0)


/*
 * Replaces /evaluation: attributes with the overall figures, truth_path,
 * evaluated_at and json; datasets source_pair ("a|b"), source_a,
 * source_b and one per figure, one row per source pair in (s, t) order.
 */
static ddw_status write_evaluation(ddw_h5 *h, const ddw_comm *comm, const ddw_eval_result *r,
                                   const char *const *names, const char *truth_path,
                                   const char *json)
{
    ddw_status rc = DDW_OK;
    size_t np = (size_t)r->npairs, w = 1;
    for (int s = 0; s < r->nsources; s++)
        for (int t = s; t < r->nsources; t++)
            if (strlen(names[s]) + strlen(names[t]) + 2 > w)
                w = strlen(names[s]) + strlen(names[t]) + 2;
    char *pairs = ddw_xcalloc(np, w);
    int32_t *sa = ddw_xmalloc(np * sizeof *sa), *sb = ddw_xmalloc(np * sizeof *sb);
    double *col = ddw_xmalloc(np * sizeof *col);
    int64_t *icol = ddw_xmalloc(np * sizeof *icol);
    for (int s = 0; s < r->nsources; s++)
        for (int t = s; t < r->nsources; t++) {
            int p = ddw_eval_pair_index(r->nsources, s, t);
            snprintf(pairs + (size_t)p * w, w, "%s|%s", names[s], names[t]);
            sa[p] = s;
            sb[p] = t;
        }
    char when[32];
    ddw_utc_now(when);
    ddw_comm_bcast(comm, when, sizeof when, 0);
    CHECK(ddw_h5_delete(h, "/evaluation"));
    CHECK(ddw_h5_group(h, "/evaluation"));
    for (int k = 0; k < ddw_eval_nfields; k++) {
        const char *name = ddw_eval_fields[k].name;
        if (ddw_eval_fields[k].is_count) {
            int64_t v = (int64_t)ddw_eval_field_u64(&r->all, k);
            CHECK(ddw_h5_attr_i64(h, "/evaluation", name, &v, 1));
        } else {
            double v = ddw_eval_field_f64(&r->all, k);
            CHECK(ddw_h5_attr_f64(h, "/evaluation", name, &v, 1));
        }
    }
    CHECK(ddw_h5_attr_str(h, "/evaluation", "truth_path", truth_path));
    CHECK(ddw_h5_attr_str(h, "/evaluation", "evaluated_at", when));
    CHECK(ddw_h5_attr_str(h, "/evaluation", "json", json));
    CHECK(ddw_h5_write_rank0(h, comm, "/evaluation/source_pair", DDW_H5_STR, w, np, pairs));
    CHECK(ddw_h5_write_rank0(h, comm, "/evaluation/source_a", DDW_H5_I32, 1, np, sa));
    CHECK(ddw_h5_write_rank0(h, comm, "/evaluation/source_b", DDW_H5_I32, 1, np, sb));
    for (int k = 0; k < ddw_eval_nfields; k++) {
        char path[128];
        snprintf(path, sizeof path, "/evaluation/%s", ddw_eval_fields[k].name);
        for (size_t p = 0; p < np; p++) {
            icol[p] = (int64_t)ddw_eval_field_u64(&r->pair[p], k);
            col[p] = ddw_eval_field_f64(&r->pair[p], k);
        }
        if (ddw_eval_fields[k].is_count)
            CHECK(ddw_h5_write_rank0(h, comm, path, DDW_H5_I64, 1, np, icol));
        else
            CHECK(ddw_h5_write_rank0(h, comm, path, DDW_H5_F64, 1, np, col));
    }
fail:
    free(pairs);
    free(sa);
    free(sb);
    free(col);
    free(icol);
    return rc;
}

int ddw_evaluate_cli(const ddw_comm *comm, int argc, char **argv)
{
    int me = ddw_comm_rank(comm);
    FILE *err = me == 0 ? stderr : NULL;
    eval_args a;
    int pr = parse_args(argc, argv, &a, me);
    if (pr != 0)
        return pr > 0 ? 0 : EXIT_INPUT;
    int exit_code = EXIT_INPUT;
    ddw_h5 *h = NULL;
    result_cols res;
    memset(&res, 0, sizeof res);
    ddw_eval_joined joined;
    memset(&joined, 0, sizeof joined);
    ddw_eval_result ev;
    memset(&ev, 0, sizeof ev);
    ddw_eval_slice slice;
    ddw_eval_join_stats js;
    char *json = NULL;

    int st = DDW_OK;
    if (me == 0 && access(a.result, R_OK) != 0) {
        fprintf(stderr, "evaluate: error: cannot read result file '%s': %s\n", a.result,
                strerror(errno));
        st = DDW_EIO;
    } else if (me == 0 && access(a.result, W_OK) != 0) {
        fprintf(stderr, "evaluate: error: result file '%s' is not writable (the figures are "
                        "stored in it): %s\n", a.result, strerror(errno));
        st = DDW_EIO;
    }
    if (ddw_comm_agree(comm, st) != DDW_OK)
        goto fail_open;
    if (ddw_comm_agree(comm, ddw_h5_open(comm, a.result, 1, &h)) != DDW_OK) {
        if (err)
            fprintf(err, "evaluate: error: cannot open '%s' as an HDF5 file for reading and "
                         "writing\n", a.result);
        goto fail_open;
    }
    if (ddw_comm_agree(comm, read_result(h, comm, a.result, err, &res)) != DDW_OK)
        goto fail_read;

    slice = (ddw_eval_slice){(int)res.nsources, res.names, res.first, (size_t)res.count,
                             res.source, res.record_id, (size_t)res.id_width, res.person};
    res.source = NULL; /* the join frees the slice */
    res.record_id = NULL;
    res.person = NULL;
    st = ddw_eval_join_dist(comm, a.truth, &slice, err, &joined, &js);
    if (st != DDW_OK) { /* js and st are the same on every rank */
        if (js.not_in_result > 0) /* the note reads collectively: all or none */
            note_rejects(h, &res, err);
        goto fail_read;
    }

    exit_code = EXIT_FAILURE_RUN;
    st = ddw_evaluate_counts_dist(comm, (int)res.nsources, &joined, &ev);
    ddw_eval_joined_free(&joined);
    if (st != DDW_OK) {
        if (err)
            fprintf(err, "evaluate: error: computing the figures failed: %s\n",
                    ddw_strerror(st));
        goto fail_read;
    }
    json = ddw_eval_json(&ev, res.names);
    st = write_evaluation(h, comm, &ev, res.names, a.truth, json);
    if (st == DDW_OK)
        st = ddw_comm_agree(comm, ddw_h5_close(&h));
    if (st != DDW_OK) {
        if (err)
            fprintf(err, "evaluate: error: writing /evaluation into %s failed: %s\n", a.result,
                    ddw_strerror(st));
        goto fail_read;
    }
    if (me == 0) {
        if (a.json)
            printf("%s\n", json);
        else
            ddw_eval_print_table(stdout, &ev, res.names);
        fflush(stdout);
    }
    exit_code = 0;
fail_read:
    free(json);
    ddw_eval_result_free(&ev);
    ddw_eval_joined_free(&joined);
    result_free(&res);
    ddw_h5_close(&h);
fail_open:
    return exit_code;
}
