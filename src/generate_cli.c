/*
 * generate_cli.c - `ddwlink generate`: splits persons over ranks (contiguous
 * ranges) and threads (blocks of persons), concatenates the blocks in person
 * order and writes each output file collectively, rank after rank.
 *
 * Trade-off: each rank holds its whole share of the output in memory before
 * writing (about 0.5 KB per person), which keeps the write one collective
 * call per file and the bytes independent of rank and thread counts.  Files
 * are written under temporary names and renamed only when every file is
 * complete, so an interrupted run never leaves a set that looks finished.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ddw_generate.h"

#define EXIT_USAGE 2
#define BLOCK_PERSONS 2048

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ddwlink generate --persons N --seed S --out DIR [--config FILE]\n"
            "                        [--person-table]\n"
            "       ddwlink generate --help-config\n\n"
            "Writes a synthetic Drug Data Warehouse to DIR: one CSV per source (ndtms,\n"
            "dip, drug_tests, oasys, pnc, ppo), truth.csv (source, record_id, person,\n"
            "errors applied), link.ini (a ready `ddwlink link` config for these files)\n"
            "and generate.json (counts, error tallies, headline figures).  The same N\n"
            "and S give byte-identical files at any rank and thread count.\n\n"
            "  --persons N       number of persons (>= 1)\n"
            "  --seed S          random seed (integer >= 0)\n"
            "  --out DIR         output directory (created if missing)\n"
            "  --config FILE     generator parameters (default configs/generate-ddw.ini)\n"
            "  --person-table    also write persons.csv: each person's true attributes\n");
}

typedef struct {
    uint64_t persons, seed;
    const char *out, *config;
    int person_table;
} gen_args;

static int parse_u64(const char *s, uint64_t *v)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*s == '-' || end == s || *end != '\0' || errno)
        return -1;
    *v = x;
    return 0;
}

/* 0: parsed; 1: help printed; -1: usage error */
static int parse_args(int argc, char **argv, gen_args *a, int rank)
{
    memset(a, 0, sizeof *a);
    a->config = "configs/generate-ddw.ini";
    int have_n = 0, have_seed = 0;
    FILE *err = rank == 0 ? stderr : NULL;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            if (rank == 0)
                usage(stdout);
            return 1;
        } else if (strcmp(s, "--help-config") == 0) {
            if (rank == 0)
                ddw_gen_params_help(stdout);
            return 1;
        } else if (strcmp(s, "--person-table") == 0) {
            a->person_table = 1;
        } else if (i + 1 < argc && strcmp(s, "--persons") == 0) {
            if (parse_u64(argv[++i], &a->persons) != 0 || a->persons == 0 ||
                a->persons > (UINT64_C(1) << 40)) {
                if (err)
                    fprintf(err, "ddwlink generate: --persons '%s' is not a count >= 1\n",
                            argv[i]);
                return -1;
            }
            have_n = 1;
        } else if (i + 1 < argc && strcmp(s, "--seed") == 0) {
            if (parse_u64(argv[++i], &a->seed) != 0) {
                if (err)
                    fprintf(err, "ddwlink generate: --seed '%s' is not an integer >= 0\n",
                            argv[i]);
                return -1;
            }
            have_seed = 1;
        } else if (i + 1 < argc && strcmp(s, "--out") == 0) {
            a->out = argv[++i];
        } else if (i + 1 < argc && strcmp(s, "--config") == 0) {
            a->config = argv[++i];
        } else {
            if (err)
                fprintf(err, "ddwlink generate: unknown or incomplete argument '%s'\n", s);
            return -1;
        }
    }
    if (!have_n || !have_seed || a->out == NULL) {
        if (err)
            fprintf(err, "ddwlink generate: needs --persons N, --seed S and --out DIR "
                         "(see ddwlink generate --help)\n");
        return -1;
    }
    return 0;
}


static char *path_join(const char *dir, const char *name)
{
    char *p = ddw_xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/*
 * The [source.*] sections of a config that reads the generated files: the
 * ID column is the first column of each file's header; full adds the area,
 * PNC ID, event date and pass-through columns (the attributor needs only
 * names, dob and sex).
 */
static void write_sources(FILE *f, const ddw_gen_params *p, const char *absdir, int full)
{
    static const char *const datecol[DDW_GS_N] = {"triage_date", "contact_date", "test_date",
                                                  "assessment_date", "offence_date",
                                                  "start_date"};
    static const char *const keep[DDW_GS_N] = {"drug_group", "setting", "result",
                                               "setting", "trigger", ""};
    for (int s = 0; s < DDW_GS_N; s++) {
        const ddw_gen_source_params *sp = &p->src[s];
        const char *h = ddw_gen_header(s);
        fprintf(f, "[source.%s]\npath = %s/%s\nid_column = %.*s\n", ddw_gen_source_names[s],
                absdir, sp->file, (int)strcspn(h, ","), h);
        if (s == DDW_GS_NDTMS)
            fprintf(f, "forename_initial = forename_initial\nsurname_initial = surname_initial\n");
        else
            fprintf(f, "forename = forename\nsurname = surname\n");
        fprintf(f, "dob = dob\ndob_format = %s\n", sp->dob_format);
        if (s != DDW_GS_PPO) /* the PPO list holds no sex */
            fprintf(f, "sex = sex\nsex_codes = %s=M, %s=F, %s=\n", sp->sex_code[0],
                    sp->sex_code[1], sp->sex_code[2]);
        if (full) {
            if (s == DDW_GS_NDTMS) /* initials only: never a bridge between two people */
                fprintf(f, "attach_once = yes\n");
            if (s == DDW_GS_NDTMS || s == DDW_GS_DIP)
                fprintf(f, "area = dat\n");
            if (s != DDW_GS_NDTMS)
                fprintf(f, "pnc_id = pnc_id\n");
            fprintf(f, "event_date = %s\nevent_date_format = %s\n", datecol[s],
                    sp->date_format);
            if (keep[s][0])
                fprintf(f, "keep = %s\n", keep[s]);
        }
        fprintf(f, "\n");
    }
}

/* link.ini: a config that links the generated files and trains its own model. */
static void write_link_ini(FILE *f, const ddw_gen_params *p, const char *absdir,
                           const uint64_t *records, uint64_t true_pairs, uint64_t persons,
                           uint64_t seed)
{
    uint64_t R = 0;
    for (int s = 0; s < DDW_GS_N; s++)
        R += records[s];
    double all_pairs = (double)R * (double)(R > 0 ? R - 1 : 0) / 2;
    fprintf(f,
            "; link.ini - written by `ddwlink generate --persons %llu --seed %llu`.\n"
            "; Links the generated extracts in this directory:\n"
            ";   mpirun -np 2 bin/ddwlink link --config %s/link.ini --out DIR\n"
            "; m, u and the prior are estimated from the data by training (EM); the true\n"
            "; share of matching pairs would be %llu of %.0f.  Score the result with:\n"
            ";   bin/ddwlink evaluate --truth %s/truth.csv DIR/link.h5\n\n"
            "[run]\nname = generated\nseed = %llu\n\n"
            "[match]\nthreshold = 0\n\n"
            "[block]\nmax_block_size = 1000\n\n"
            "[output]\ndeflate = 1\n\n",
            (unsigned long long)persons, (unsigned long long)seed, absdir,
            (unsigned long long)true_pairs, all_pairs, absdir, (unsigned long long)seed);
    write_sources(f, p, absdir, 1);
    fprintf(f,
            "; ---- blocking: a pair is scored if it shares any pass's key ----\n"
            "; every key but dob_initials holds a name code, so blocks stay small as\n"
            "; the data grows (a key of dob and one initial has a fixed number of values)\n"
            "[blocking.dob_initials]\nkey = exact(dob), initials()\n\n"
            "[blocking.dob_forename]\nkey = exact(dob), soundex(forename)\n\n"
            "[blocking.dob_surname]\nkey = exact(dob), soundex(surname)\n\n"
            "[blocking.name_year]\nkey = soundex(surname), soundex(forename), year(dob)\n\n"
            "[blocking.pnc]\nkey = exact(pnc_id)\n\n"
            "; ---- comparisons: m and u are estimated by training (EM) ----\n"
            "[compare.forename]\nfield = forename\nmethod = string\n"
            "levels = exact, swap, jw>=0.92, jw>=0.80, initial, else\ntf = yes\n\n"
            "[compare.surname]\nfield = surname\nmethod = string\n"
            "levels = exact, jw>=0.92, soundex, jw>=0.80, else\ntf = yes\n\n"
            "; initials weigh only where a full name is missing (NDTMS)\n"
            "[compare.forename_initial]\nfield = forename_initial\nmethod = exact\n"
            "levels = exact, else\ntf = yes\nunless = forename\n\n"
            "[compare.surname_initial]\nfield = surname_initial\nmethod = exact\n"
            "levels = exact, else\ntf = yes\nunless = surname\n\n"
            "[compare.dob]\nfield = dob\nmethod = date\n"
            "levels = exact, swap_dm, digit1, year1, jan1, else\ntf = yes\n\n"
            "[compare.sex]\nfield = sex\nmethod = exact\nlevels = exact, else\n\n"
            "[compare.area]\nfield = area\nmethod = exact\nlevels = exact, else\ntf = yes\n\n"
            "[compare.pnc_id]\nfield = pnc_id\nmethod = pnc\n"
            "levels = exact, dl<=1, valid_diff, else\n");
}

/* The deterministic "attributor" of UK drug databases: records with the same
 * initials, date of birth and sex are one person; nothing else links. */
static void write_attributor_ini(FILE *f, const ddw_gen_params *p, const char *absdir)
{
    fprintf(f,
            "; attributor.ini - the deterministic baseline: same forename initial, surname\n"
            "; initial, date of birth and sex = same person (how UK drug databases matched).\n"
            "; Every pair sharing that key becomes an edge; records lacking any part of it\n"
            "; stay alone.  Compare with link.ini:\n"
            ";   mpirun -np 2 bin/ddwlink link --config %s/attributor.ini --out DIR\n\n"
            "[run]\nname = attributor\n\n[match]\nthreshold = -200\nprior = 0.5\n\n"
            "[train]\nenabled = no\n\n[cluster]\nrefine = none\n\n[block]\nmax_block_size = 1000\n\n",
            absdir);
    write_sources(f, p, absdir, 0);
    fprintf(f, "[blocking.attributor]\nkey = initials(), exact(dob), exact(sex)\n\n"
               "; weight 0: the score is the prior alone, above the threshold for every pair\n"
               "[compare.sex]\nfield = sex\nmethod = exact\nlevels = exact, else\n"
               "m = 0.5, 0.5\nu = 0.5, 0.5\n");
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

static void write_stats_json(FILE *f, const ddw_gen_params *p, const gen_args *a,
                             const ddw_gen_out *t, double seconds, int ranks, int threads)
{
    const uint64_t *g = t->fig;
    fprintf(f, "{\n  \"persons\": %llu,\n  \"seed\": %llu,\n  \"ranks\": %d,\n"
               "  \"threads\": %d,\n  \"seconds\": %.3f,\n  \"records\": {",
            (unsigned long long)a->persons, (unsigned long long)a->seed, ranks, threads, seconds);
    for (int s = 0; s < DDW_GS_N; s++)
        fprintf(f, "%s\"%s\": %llu", s ? ", " : "", ddw_gen_source_names[s],
                (unsigned long long)t->records[s]);
    fprintf(f, "},\n  \"true_pairs\": %llu,\n", (unsigned long long)g[DDW_GF_TRUE_PAIRS]);
    fprintf(f,
            "  \"figures\": {\n"
            "    \"share_cj_without_treatment\": %.6f,\n"
            "    \"positive_again_within_12m\": %.6f,\n"
            "    \"represent_within_12m\": %.6f,\n"
            "    \"heroin_crack_share_treatment\": %.6f,\n"
            "    \"heroin_crack_share_dip\": %.6f,\n"
            "    \"heroin_crack_share_oasys\": %.6f,\n"
            "    \"persons_treatment\": %llu,\n    \"persons_cj\": %llu,\n"
            "    \"persons_pnc\": %llu,\n    \"persons_ppo\": %llu\n  },\n",
            ratio(g[DDW_GF_CJ_NO_TX], g[DDW_GF_PERSONS]),
            ratio(g[DDW_GF_POS_AGAIN], g[DDW_GF_POS_ELIG]),
            ratio(g[DDW_GF_DIS_REP], g[DDW_GF_DIS_ELIG]), ratio(g[DDW_GF_TX_HC], g[DDW_GF_TX]),
            ratio(g[DDW_GF_DIP_HC], g[DDW_GF_DIP]), ratio(g[DDW_GF_OASYS_HC], g[DDW_GF_OASYS]),
            (unsigned long long)g[DDW_GF_TX], (unsigned long long)g[DDW_GF_CJ],
            (unsigned long long)g[DDW_GF_PNC], (unsigned long long)g[DDW_GF_PPO]);
    /* configured base rate of each record-level error, for the tally checks */
    const double base[DDW_GE_N] = {
        [DDW_GE_TYPO_INSERT] = p->typo * p->typo_kinds.weight[0] / p->typo_kinds.cum[4],
        [DDW_GE_TYPO_DELETE] = p->typo * p->typo_kinds.weight[1] / p->typo_kinds.cum[4],
        [DDW_GE_TYPO_SUBSTITUTE] = p->typo * p->typo_kinds.weight[2] / p->typo_kinds.cum[4],
        [DDW_GE_TYPO_TRANSPOSE] = p->typo * p->typo_kinds.weight[3] / p->typo_kinds.cum[4],
        [DDW_GE_TYPO_KEYBOARD] = p->typo * p->typo_kinds.weight[4] / p->typo_kinds.cum[4],
        [DDW_GE_PHONETIC] = p->phonetic, [DDW_GE_NICKNAME] = p->nickname,
        [DDW_GE_NAME_SWAP] = p->name_swap, [DDW_GE_DOUBLE_BARRELLED] = p->double_barrelled,
        [DDW_GE_SURNAME_CHANGED] = -1, [DDW_GE_DOB_SWAP] = p->dob_swap,
        [DDW_GE_DOB_DIGIT] = p->dob_digit, [DDW_GE_DOB_PLACEHOLDER] = p->dob_placeholder,
        [DDW_GE_MISSING_FORENAME] = p->missing_forename,
        [DDW_GE_MISSING_SURNAME] = p->missing_surname, [DDW_GE_MISSING_DOB] = p->missing_dob,
        [DDW_GE_MISSING_SEX] = p->missing_sex, [DDW_GE_MISSING_AREA] = p->missing_area,
        [DDW_GE_SEX_MISCODED] = p->sex_miscoded, [DDW_GE_PNC_TYPO] = p->pnc_typo,
        [DDW_GE_AREA_MOVED] = -1, [DDW_GE_ALIAS] = -1};
    fprintf(f, "  \"record_errors\": {\n");
    int first = 1;
    for (int e = 0; e < DDW_GE_N; e++) {
        if (base[e] < 0)
            continue;
        fprintf(f, "%s    \"%s\": {\"rate\": %.17g, \"by_source\": {", first ? "" : ",\n",
                ddw_gen_error_names[e], base[e]);
        first = 0;
        for (int s = 0; s < DDW_GS_N; s++)
            fprintf(f, "%s\"%s\": {\"scale\": %.17g, \"eligible\": %llu, \"applied\": %llu}",
                    s ? ", " : "", ddw_gen_source_names[s], p->src[s].error_scale,
                    (unsigned long long)t->eligible[s][e], (unsigned long long)t->applied[s][e]);
        fprintf(f, "}}");
    }
    const double prate[DDW_GP_N] = {p->twin, p->namesake, p->surname_change_female,
                                    p->surname_change_male, p->area_move, p->alias};
    fprintf(f, "\n  },\n  \"person_changes\": {\n");
    for (int k = 0; k < DDW_GP_N; k++)
        fprintf(f, "    \"%s\": {\"rate\": %.17g, \"eligible\": %llu, \"applied\": %llu}%s\n",
                ddw_gen_person_change_names[k], prate[k],
                (unsigned long long)t->person_eligible[k], (unsigned long long)t->person_applied[k],
                k + 1 < DDW_GP_N ? "," : "");
    fprintf(f, "  }\n}\n");
}

int ddw_generate_cli(const ddw_comm *comm, int argc, char **argv)
{
    int me = ddw_comm_rank(comm), P = ddw_comm_size(comm), threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    FILE *err = me == 0 ? stderr : NULL;
    gen_args a;
    int pr = parse_args(argc, argv, &a, me);
    if (pr != 0)
        return pr > 0 ? 0 : EXIT_USAGE;
    double t0 = ddw_comm_wtime();

    /* parameters: read on rank 0, parsed everywhere */
    char *text = NULL;
    int rc = DDW_OK;
    if (me == 0 && ddw_read_file(a.config, &text, NULL) != DDW_OK) {
        fprintf(stderr, "ddwlink generate: error: cannot read config '%s': %s\n", a.config,
                strerror(errno));
        rc = DDW_ECONFIG;
    }
    if (ddw_comm_agree(comm, rc) != DDW_OK)
        return EXIT_USAGE;
    ddw_comm_bcast_str(comm, &text, 0);
    ddw_gen_params *p = NULL;
    rc = ddw_gen_params_parse(a.config, text, err, &p);
    free(text);
    if (ddw_comm_agree(comm, rc) != DDW_OK) {
        ddw_gen_params_destroy(&p);
        return EXIT_USAGE;
    }
    ddw_gen_names *names = NULL;
    rc = ddw_gen_names_load(p, err, &names);
    if (rc == DDW_OK && me == 0 && (ddw_mkdir_p(a.out) != 0 || access(a.out, W_OK) != 0)) {
        fprintf(stderr, "ddwlink generate: error: output directory '%s' cannot be created: %s\n",
                a.out, strerror(errno));
        rc = DDW_EIO;
    }
    if (ddw_comm_agree(comm, rc) != DDW_OK) {
        ddw_gen_names_free(&names);
        ddw_gen_params_destroy(&p);
        return EXIT_USAGE;
    }

    /* this rank's persons, in blocks for the threads */
    uint64_t lo = a.persons * (uint64_t)me / (uint64_t)P;
    uint64_t hi = a.persons * (uint64_t)(me + 1) / (uint64_t)P;
    uint64_t nblocks = (hi - lo + BLOCK_PERSONS - 1) / BLOCK_PERSONS;
    ddw_gen_out *blk = ddw_xcalloc(nblocks ? nblocks : 1, sizeof *blk);
#pragma omp parallel for schedule(dynamic, 1)
    for (uint64_t b = 0; b < nblocks; b++) {
        uint64_t first = lo + b * BLOCK_PERSONS;
        uint64_t n = hi - first < BLOCK_PERSONS ? hi - first : BLOCK_PERSONS;
        ddw_gen_persons(p, names, a.seed, first, n, a.person_table, &blk[b]);
    }
    double t_gen = ddw_comm_wtime() - t0;

    /* totals, in block order (integers: order does not matter) */
    ddw_gen_out tot;
    memset(&tot, 0, sizeof tot);
    for (uint64_t b = 0; b < nblocks; b++) {
        for (int s = 0; s < DDW_GS_N; s++) {
            tot.records[s] += blk[b].records[s];
            for (int e = 0; e < DDW_GE_N; e++) {
                tot.eligible[s][e] += blk[b].eligible[s][e];
                tot.applied[s][e] += blk[b].applied[s][e];
            }
        }
        for (int k = 0; k < DDW_GP_N; k++) {
            tot.person_eligible[k] += blk[b].person_eligible[k];
            tot.person_applied[k] += blk[b].person_applied[k];
        }
        for (int k = 0; k < DDW_GF_N; k++)
            tot.fig[k] += blk[b].fig[k];
    }
    ddw_comm_allreduce_u64(comm, tot.records, DDW_GS_N, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, &tot.eligible[0][0], DDW_GS_N * DDW_GE_N, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, &tot.applied[0][0], DDW_GS_N * DDW_GE_N, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, tot.person_eligible, DDW_GP_N, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, tot.person_applied, DDW_GP_N, DDW_COMM_SUM);
    ddw_comm_allreduce_u64(comm, tot.fig, DDW_GF_N, DDW_COMM_SUM);

    /* one file at a time: concatenate this rank's blocks, write collectively */
    uint64_t pid = (uint64_t)getpid();
    ddw_comm_bcast(comm, &pid, sizeof pid, 0);
    const char *fname[DDW_GS_N + 2];
    for (int s = 0; s < DDW_GS_N; s++)
        fname[s] = p->src[s].file;
    fname[DDW_GEN_TRUTH] = "truth.csv";
    fname[DDW_GEN_PERSONS] = "persons.csv";
    int nout = a.person_table ? DDW_GS_N + 2 : DDW_GS_N + 1;
    char **tmp = ddw_xcalloc((size_t)nout, sizeof *tmp);
    uint64_t bytes = 0;
    rc = DDW_OK;
    for (int k = 0; k < nout && rc == DDW_OK; k++) {
        const char *h = ddw_gen_header(k);
        size_t n = me == 0 ? strlen(h) : 0;
        for (uint64_t b = 0; b < nblocks; b++)
            n += blk[b].len[k];
        char *buf = ddw_xmalloc(n ? n : 1);
        size_t at = 0;
        if (me == 0) {
            memcpy(buf, h, strlen(h));
            at = strlen(h);
        }
        for (uint64_t b = 0; b < nblocks; b++) {
            if (blk[b].len[k])
                memcpy(buf + at, blk[b].buf[k], blk[b].len[k]);
            at += blk[b].len[k];
            free(blk[b].buf[k]);
            blk[b].buf[k] = NULL;
        }
        char name[64];
        snprintf(name, sizeof name, ".%s.tmp.%llu", fname[k], (unsigned long long)pid);
        tmp[k] = path_join(a.out, name);
        rc = ddw_comm_write_ordered(comm, tmp[k], buf, n);
        bytes += n;
        free(buf);
    }
    ddw_comm_allreduce_u64(comm, &bytes, 1, DDW_COMM_SUM);
    for (uint64_t b = 0; b < nblocks; b++)
        ddw_gen_out_free(&blk[b]);
    free(blk);

    /* rank 0: link.ini and generate.json, then every file under its name */
    double secs = ddw_comm_wtime() - t0;
    ddw_comm_allreduce_f64(comm, &secs, 1, DDW_COMM_MAX);
    if (me == 0 && rc == DDW_OK) {
        char *absdir = realpath(a.out, NULL);
        char *ini = path_join(a.out, ".link.ini.tmp"), *js = path_join(a.out, ".generate.json.tmp");
        char *ai = path_join(a.out, ".attributor.ini.tmp");
        FILE *f = fopen(ini, "w"), *g = fopen(js, "w"), *h = fopen(ai, "w");
        if (f == NULL || g == NULL || h == NULL || absdir == NULL) {
            rc = DDW_EIO;
        } else {
            write_link_ini(f, p, absdir, tot.records, tot.fig[DDW_GF_TRUE_PAIRS], a.persons,
                           a.seed);
            write_stats_json(g, p, &a, &tot, secs, P, threads);
            write_attributor_ini(h, p, absdir);
        }
        if ((f && fclose(f) != 0) || (g && fclose(g) != 0) || (h && fclose(h) != 0))
            rc = DDW_EIO;
        char *fa = path_join(a.out, "attributor.ini");
        if (rc == DDW_OK && rename(ai, fa) != 0)
            rc = DDW_EIO;
        if (rc != DDW_OK)
            unlink(ai);
        free(fa);
        free(ai);
        for (int k = 0; k < nout && rc == DDW_OK; k++) {
            char *final = path_join(a.out, fname[k]);
            if (rename(tmp[k], final) != 0)
                rc = DDW_EIO;
            free(final);
        }
        char *fi = path_join(a.out, "link.ini"), *fj = path_join(a.out, "generate.json");
        if (rc == DDW_OK && (rename(ini, fi) != 0 || rename(js, fj) != 0))
            rc = DDW_EIO;
        if (rc != DDW_OK) {
            fprintf(stderr, "ddwlink generate: error: writing to '%s' failed: %s\n", a.out,
                    strerror(errno));
            for (int k = 0; k < nout; k++)
                unlink(tmp[k]);
            unlink(ini);
            unlink(js);
        }
        free(fi);
        free(fj);
        free(ini);
        free(js);
        free(absdir);
    } else if (me == 0) {
        fprintf(stderr, "ddwlink generate: error: writing the CSV files to '%s' failed\n", a.out);
        for (int k = 0; k < nout; k++)
            if (tmp[k])
                unlink(tmp[k]);
    }
    rc = ddw_comm_agree(comm, rc);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t rss = (uint64_t)ru.ru_maxrss;
    ddw_comm_allreduce_u64(comm, &rss, 1, DDW_COMM_SUM);
    ddw_comm_allreduce_f64(comm, &t_gen, 1, DDW_COMM_MAX);
    if (me == 0 && rc == DDW_OK) {
        uint64_t R = 0;
        for (int s = 0; s < DDW_GS_N; s++)
            R += tot.records[s];
        fprintf(stderr,
                "ddwlink generate: %llu persons, %llu records (seed %llu) on %d rank(s) x %d "
                "thread(s)\n  ",
                (unsigned long long)a.persons, (unsigned long long)R,
                (unsigned long long)a.seed, P, threads);
        for (int s = 0; s < DDW_GS_N; s++)
            fprintf(stderr, "%s %llu%s", ddw_gen_source_names[s],
                    (unsigned long long)tot.records[s], s + 1 < DDW_GS_N ? ", " : "\n");
        fprintf(stderr,
                "  %.2f s (generate %.2f s), %.1f MB written, %.0f persons/s; peak memory "
                "%.3f GiB summed over ranks\n  output %s/ (link.ini, truth.csv, generate.json)\n",
                secs, t_gen, bytes / 1e6, a.persons / (secs > 0 ? secs : 1e-9),
                rss / 1048576.0, a.out);
    }
    for (int k = 0; k < nout; k++)
        free(tmp[k]);
    free(tmp);
    ddw_gen_names_free(&names);
    ddw_gen_params_destroy(&p);
    return rc == DDW_OK ? 0 : 1;
}
