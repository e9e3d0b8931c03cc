/*
 * main.c - the ddwlink driver: command line, then the pipeline stages in
 * order, each timed, then the summary.  Reads as a table of contents; the
 * work is in the stage modules.
 *
 * Error policy: anything wrong with the command line, config or inputs is
 * found before the first stage runs, on every rank (ranks agree on the
 * status), and ends the job with exit code 2 and no output file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ddw.h"
#include "ddw_block.h"
#include "ddw_cluster.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_ingest.h"
#include "ddw_score.h"
#include "ddw_timers.h"
#include "ddw_write.h"

#ifndef DDW_VERSION
#define DDW_VERSION "unknown"
#endif

#define EXIT_USAGE 2

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ddwlink link --config FILE [--set section.key=value]... [--out DIR]\n"
            "       ddwlink link --help-config\n"
            "       ddwlink --help | --version\n\n"
            "Links person-level CSV extracts into persons (Fellegi-Sunter scoring,\n"
            "MPI ranks x OpenMP threads) and writes DIR/link.h5 (default\n"
            "results/<run.name>/).  Run under mpirun/srun for several ranks; threads\n"
            "come from OMP_NUM_THREADS.\n\n"
            "  --config FILE         INI configuration (see --help-config)\n"
            "  --set SECTION.KEY=V   override one key (repeatable)\n"
            "  --out DIR             output directory (created if missing)\n");
}

typedef struct {
    const char *config;
    const char *out;
    int nset;
    char **set;
    char *cmdline;
} link_args;

/* 0: parsed; 1: help printed (exit 0); -1: usage error */
static int parse_link_args(int argc, char **argv, link_args *a, int rank)
{
    memset(a, 0, sizeof *a);
    a->set = ddw_xcalloc((size_t)argc, sizeof *a->set);
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            if (rank == 0)
                usage(stdout);
            return 1;
        } else if (strcmp(s, "--help-config") == 0) {
            if (rank == 0)
                ddw_config_help(stdout);
            return 1;
        } else if ((strcmp(s, "--config") == 0 || strcmp(s, "--set") == 0 ||
                    strcmp(s, "--out") == 0) && i + 1 < argc) {
            if (s[2] == 'c') a->config = argv[++i];
            else if (s[2] == 's') a->set[a->nset++] = argv[++i];
            else a->out = argv[++i];
        } else if (strncmp(s, "--config=", 9) == 0) {
            a->config = s + 9;
        } else if (strncmp(s, "--set=", 6) == 0) {
            a->set[a->nset++] = (char *)s + 6;
        } else if (strncmp(s, "--out=", 6) == 0) {
            a->out = s + 6;
        } else {
            if (rank == 0)
                fprintf(stderr, "ddwlink: unknown or incomplete argument '%s'\n", s);
            return -1;
        }
    }
    if (a->config == NULL) {
        if (rank == 0)
            fprintf(stderr, "ddwlink: link needs --config FILE (see ddwlink --help)\n");
        return -1;
    }
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    a->cmdline = ddw_xcalloc(n, 1);
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(a->cmdline, " ");
        strcat(a->cmdline, argv[i]);
    }
    return 0;
}

static int mkdir_p(const char *path)
{
    char *p = ddw_xstrdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            *s = '/';
        }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static void iso_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *slurm_provenance(void)
{
    const char *id = getenv("SLURM_JOB_ID");
    if (id == NULL)
        return ddw_xstrdup("");
    const char *nodes = getenv("SLURM_JOB_NODELIST");
    const char *name = getenv("SLURM_JOB_NAME");
    char buf[1024];
    snprintf(buf, sizeof buf, "job_id=%s job_name=%s nodelist=%s", id, name ? name : "",
             nodes ? nodes : "");
    return ddw_xstrdup(buf);
}

/* Loads and validates the config on every rank; rank 0 prints problems. */
static ddw_status load_config(const ddw_comm *comm, const link_args *a, ddw_config **cfg)
{
    int me = ddw_comm_rank(comm);
    char *text = NULL;
    int rc = DDW_OK;
    if (me == 0 && ddw_config_read_file(a->config, &text) != DDW_OK) {
        fprintf(stderr, "ddwlink: error: cannot read config file '%s': %s\n", a->config,
                strerror(errno));
        rc = DDW_ECONFIG;
    }
    if ((rc = ddw_comm_agree(comm, rc)) != DDW_OK)
        return (ddw_status)rc;
    ddw_comm_bcast_str(comm, &text, 0);
    rc = ddw_config_parse(a->config, text, a->nset, a->set, me == 0 ? stderr : NULL, cfg);
    free(text);
    return (ddw_status)ddw_comm_agree(comm, rc);
}

static ddw_status prepare_outdir(const ddw_comm *comm, const char *dir)
{
    int rc = DDW_OK;
    if (ddw_comm_rank(comm) == 0 && (mkdir_p(dir) != 0 || access(dir, W_OK) != 0)) {
        fprintf(stderr, "ddwlink: error: output directory '%s' cannot be created or written: %s\n",
                dir, strerror(errno));
        rc = DDW_EIO;
    }
    return (ddw_status)ddw_comm_agree(comm, rc);
}

static void print_summary(const ddw_config *cfg, const ddw_comm *comm, const ddw_timers *t,
                          const ddw_write_stats *ws, const uint64_t *g, int threads,
                          const char *path, const ddw_cluster_stats *cs)
{
    if (ddw_comm_rank(comm) != 0)
        return;
    /* g: rows_read, accepted, rejected, pairs, dup, bytes, pairs_max_rank, units */
    double mean = (double)g[3] / ddw_comm_size(comm);
    fprintf(stderr,
            "ddwlink link: run '%s' on %d rank(s) x %d thread(s)\n"
            "  threshold %.3f (match probability %.6f)\n",
            cfg->run_name, ddw_comm_size(comm), threads, cfg->threshold,
            ddw_score_probability(cfg->threshold));
    fprintf(stderr, "  %-8s %9s  %s\n", "stage", "seconds", "rate");
    fprintf(stderr, "  %-8s %9.3f  %.0f records/s, %.1f MB/s\n", "ingest", t->max[DDW_T_INGEST],
            g[0] / (t->max[DDW_T_INGEST] + 1e-9), g[5] / 1e6 / (t->max[DDW_T_INGEST] + 1e-9));
    fprintf(stderr, "  %-8s %9.3f  %.0f records/s\n", "block", t->max[DDW_T_BLOCK],
            g[1] / (t->max[DDW_T_BLOCK] + 1e-9));
    fprintf(stderr, "  %-8s %9.3f  %.0f pairs/s\n", "score", t->max[DDW_T_SCORE],
            g[3] / (t->max[DDW_T_SCORE] + 1e-9));
    fprintf(stderr, "  %-8s %9.3f  %.0f edges/s (%d rounds, %d jump rounds)\n", "cluster",
            t->max[DDW_T_CLUSTER], ws->edges / (t->max[DDW_T_CLUSTER] + 1e-9), cs->rounds,
            cs->jump_rounds);
    fprintf(stderr, "  %-8s %9.3f  %.0f records/s\n", "write", t->max[DDW_T_WRITE],
            g[1] / (t->max[DDW_T_WRITE] + 1e-9));
    fprintf(stderr, "  %-8s %9.3f\n", "total", t->max[DDW_T_TOTAL]);
    fprintf(stderr,
            "  rows read %llu = accepted %llu + rejected %llu\n"
            "  pairs scored %llu (%llu skipped as seen in an earlier pass); largest rank share "
            "%.2f x mean\n"
            "  edges %llu, persons %llu (largest %llu records)\n"
            "  output %s\n",
            (unsigned long long)g[0], (unsigned long long)g[1], (unsigned long long)g[2],
            (unsigned long long)g[3], (unsigned long long)g[4],
            mean > 0 ? (double)g[6] / mean : 1.0, (unsigned long long)ws->edges,
            (unsigned long long)ws->persons, (unsigned long long)ws->largest_person, path);
}

static int cmd_link(const ddw_comm *comm, int argc, char **argv)
{
    int me = ddw_comm_rank(comm), threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    link_args a;
    int pr = parse_link_args(argc, argv, &a, me);
    if (pr != 0) {
        free(a.set);
        return pr > 0 ? 0 : EXIT_USAGE;
    }
    ddw_timers t = {0};
    ddw_timer_start(&t, DDW_T_TOTAL);
    char start[32];
    iso_now(start);
    ddw_comm_bcast(comm, start, sizeof start, 0);
    ddw_config *cfg = NULL;
    ddw_ingest_plan plan = {0};
    char *dir = NULL;
    int exit_code = EXIT_USAGE;
    if (load_config(comm, &a, &cfg) != DDW_OK)
        goto fail_config;
    if (ddw_ingest_prepare(cfg, comm, me == 0 ? stderr : NULL, &plan) != DDW_OK)
        goto fail_prepare;
    if (a.out) {
        dir = ddw_xstrdup(a.out);
    } else {
        dir = ddw_xmalloc(strlen(cfg->run_name) + 16);
        sprintf(dir, "results/%s", cfg->run_name);
    }
    if (prepare_outdir(comm, dir) != DDW_OK)
        goto fail_prepare;
    exit_code = 1;

    ddw_ingest_out home;
    ddw_timer_start(&t, DDW_T_INGEST);
    ddw_status rc = ddw_ingest_run(cfg, comm, &plan, &home);
    ddw_timer_stop(&t, DDW_T_INGEST);
    if (rc != DDW_OK) {
        if (me == 0)
            fprintf(stderr, "ddwlink: error: ingest failed: %s\n", ddw_strerror(rc));
        goto fail_ingest;
    }

    ddw_blocks blk;
    ddw_timer_start(&t, DDW_T_BLOCK);
    ddw_block_run(cfg, comm, &home.recs, &blk);
    ddw_timer_stop(&t, DDW_T_BLOCK);

    ddw_edges edges;
    ddw_score_stats ss;
    ddw_timer_start(&t, DDW_T_SCORE);
    ddw_score_run(cfg, &blk, &edges, &ss);
    ddw_timer_stop(&t, DDW_T_SCORE);
    ddw_block_free(&blk);

    uint64_t *person = ddw_xmalloc((home.recs.n ? home.recs.n : 1) * sizeof *person);
    ddw_cluster_stats cs;
    ddw_timer_start(&t, DDW_T_CLUSTER);
    ddw_cluster_run(comm, edges.a, edges.b, edges.n, home.recs.key, home.recs.n, person, &cs);
    ddw_timer_stop(&t, DDW_T_CLUSTER);

    /* global counts; every row read must be accepted or rejected */
    uint64_t g[8] = {0};
    for (int s = 0; s < cfg->nsources; s++) {
        g[0] += home.rows_read[s];
        g[1] += home.seg_count[s];
        g[2] += home.rows_rejected[s];
    }
    g[3] = ss.pairs_scored;
    g[4] = ss.pairs_duplicate;
    g[5] = home.bytes_read;
    g[6] = ss.pairs_scored;
    ddw_comm_allreduce_u64(comm, g, 6, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, &g[6], 1, DDW_COMM_MAX);
    if (g[0] != g[1] + g[2])
        DDW_DIE("row accounting broken: read %llu != accepted %llu + rejected %llu",
                (unsigned long long)g[0], (unsigned long long)g[1], (unsigned long long)g[2]);
    ddw_score_stats_free(&ss);

    double secs[DDW_NTIMERS];
    for (int i = 0; i < DDW_NTIMERS; i++)
        secs[i] = t.elapsed[i];
    ddw_comm_allreduce_f64(comm, secs, DDW_NTIMERS, DDW_COMM_MAX);
    char *slurm = slurm_provenance();
    ddw_write_meta meta = {a.cmdline, DDW_VERSION, start, ddw_comm_size(comm), threads,
                           DDW_T_WRITE + 1, ddw_timer_names, secs, DDW_T_WRITE, slurm};
    ddw_write_stats ws;
    ddw_timer_start(&t, DDW_T_WRITE);
    rc = ddw_write_run(cfg, comm, &plan, &home, person, &edges, &meta, dir, &ws);
    ddw_timer_stop(&t, DDW_T_WRITE);
    free(slurm);
    free(person);
    ddw_edges_free(&edges);
    if (rc != DDW_OK) {
        if (me == 0)
            fprintf(stderr, "ddwlink: error: writing %s/link.h5 failed: %s\n", dir,
                    ddw_strerror(rc));
        goto fail_write;
    }
    ddw_timer_stop(&t, DDW_T_TOTAL);
    ddw_timers_reduce(&t, comm);
    char path[4096];
    snprintf(path, sizeof path, "%s/link.h5", dir);
    print_summary(cfg, comm, &t, &ws, g, threads, path, &cs);
    exit_code = 0;
fail_write:
fail_ingest:
    ddw_ingest_free(&home);
fail_prepare:
    ddw_ingest_plan_free(&plan);
    ddw_config_destroy(&cfg);
fail_config:
    free(dir);
    free(a.set);
    free(a.cmdline);
    return exit_code;
}

int main(int argc, char **argv)
{
    ddw_comm *comm = NULL;
    if (ddw_comm_init(&argc, &argv, &comm) != DDW_OK) {
        fprintf(stderr, "ddwlink: cannot initialise MPI\n");
        return 1;
    }
    int rc;
    if (argc >= 2 && strcmp(argv[1], "link") == 0) {
        rc = cmd_link(comm, argc, argv);
    } else if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        if (ddw_comm_rank(comm) == 0)
            usage(stdout);
        rc = 0;
    } else if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        if (ddw_comm_rank(comm) == 0)
            printf("ddwlink %s\n", DDW_VERSION);
        rc = 0;
    } else {
        if (ddw_comm_rank(comm) == 0) {
            if (argc >= 2)
                fprintf(stderr, "ddwlink: unknown command '%s'\n", argv[1]);
            usage(stderr);
        }
        rc = EXIT_USAGE;
    }
    ddw_comm_finalize(&comm);
    return rc;
}
