/*
 * rerun.c - `ddwlink rerun RESULT.h5`: repeat a recorded job and compare.
 *
 * Everything a rerun needs is in the result itself: the config text, every
 * effective value (which already includes the original --set overrides),
 * the model (used as given when the original applied a model file; trained
 * again otherwise, so the comparison checks training too), the
 * --keep-edges-above floor, and each input's path and SHA-256.  The rerun
 * goes through the ordinary link driver, with any rank and thread count.
 *
 * Comparison: every dataset of /records, /persons, /edges, /rejects,
 * /sources and /model, element by element in its stored form, plus the
 * model's prior and threshold attributes.  Provenance (times, host and
 * SLURM details, rank and thread counts, stage timings, command line) is
 * not compared: it describes the run, not its result.  Trade-off: a
 * byte-level comparison, so "identical" means bit-identical, not "close".
 */
#include "ddw_rerun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_h5io.h"
#include "ddw_ingest.h"

static char *attr(ddw_h5 *h, const char *obj, const char *name)
{
    char *v = NULL;
    return ddw_h5_read_attr_str(h, obj, name, &v) == DDW_OK ? v : ddw_xstrdup("");
}

static char *join(const char *dir, const char *name)
{
    char *p = ddw_xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int bad = fputs(text, f) < 0;
    return fclose(f) != 0 || bad ? -1 : 0;
}

ddw_status ddw_rerun_prepare(const ddw_comm *comm, const char *result, const char *dir,
                             FILE *err, int *argc_out, char ***argv_out)
{
    int me = ddw_comm_rank(comm);
    *argc_out = 0;
    *argv_out = NULL;
    ddw_h5 *h = NULL;
    ddw_status rc = ddw_h5_open(comm, result, 0, &h);
    if (rc != DDW_OK) {
        if (err)
            fprintf(err, "ddwlink rerun: error: cannot open '%s' as a ddwlink result\n", result);
        return DDW_ECONFIG;
    }
    char *config = attr(h, "/", "config"), *effective = attr(h, "/", "effective_config");
    char *model_src = attr(h, "/model", "source"), *model = attr(h, "/model", "model_file");
    double kept = 0, threshold = 0;
    int have_kept = ddw_h5_read_attr_f64(h, "/", "edges_kept_above", &kept) == DDW_OK;
    ddw_h5_read_attr_f64(h, "/model", "threshold", &threshold);
    uint64_t ns = 0, w1 = 0, w2 = 0, w3 = 0;
    char *names = NULL, *paths = NULL, *shas = NULL;
    if (ddw_h5_read(h, "/sources/name", DDW_H5_STR, &ns, &w1, (void **)&names) != DDW_OK ||
        ddw_h5_read(h, "/sources/path", DDW_H5_STR, &ns, &w2, (void **)&paths) != DDW_OK ||
        ddw_h5_read(h, "/sources/sha256", DDW_H5_STR, &ns, &w3, (void **)&shas) != DDW_OK ||
        config[0] == '\0') {
        if (err)
            fprintf(err, "ddwlink rerun: error: '%s' does not record its config and inputs\n",
                    result);
        rc = DDW_ECONFIG;
    }
    ddw_h5_close(&h);
    /* every input must be there with its recorded checksum (rank 0 checks) */
    int bad = 0;
    if (rc == DDW_OK && me == 0)
        for (uint64_t s = 0; s < ns; s++) {
            const char *path = paths + s * w2, *want = shas + s * w3;
            char got[65];
            if (ddw_ingest_sha256_file(path, got) != DDW_OK) {
                fprintf(stderr, "ddwlink rerun: error: input of source %s is missing: '%s' (%s)\n",
                        names + s * w1, path, strerror(errno));
                bad++;
            } else if (strcmp(got, want) != 0) {
                fprintf(stderr,
                        "ddwlink rerun: error: input of source %s has changed: '%s' has SHA-256 "
                        "%s, the result recorded %s\n",
                        names + s * w1, path, got, want);
                bad++;
            }
        }
    if (bad)
        rc = DDW_ECONFIG;
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    /* the recorded config and model, written where link can read them */
    char *cfg_path = join(dir, ".rerun-config.ini"), *model_path = join(dir, ".rerun-model.ini");
    int use_model = strncmp(model_src, "model file", 10) == 0 && model[0];
    if (rc == DDW_OK && me == 0 &&
        (write_text(cfg_path, config) != 0 || (use_model && write_text(model_path, model) != 0))) {
        fprintf(stderr, "ddwlink rerun: error: cannot write to '%s': %s\n", dir, strerror(errno));
        rc = DDW_EIO;
    }
    rc = (ddw_status)ddw_comm_agree(comm, rc);
    if (rc == DDW_OK) {
        /* argv: link --config F [--model M] [--keep-edges-above W] --set k=v ... --out DIR */
        size_t cap = 16, n = 0;
        for (const char *p = effective; *p; p++)
            cap += *p == '\n';
        char **argv = ddw_xcalloc(cap * 2 + 8, sizeof *argv);
        argv[n++] = ddw_xstrdup("ddwlink");
        argv[n++] = ddw_xstrdup("link");
        argv[n++] = ddw_xstrdup("--config");
        argv[n++] = ddw_xstrdup(cfg_path);
        if (use_model) {
            argv[n++] = ddw_xstrdup("--model");
            argv[n++] = ddw_xstrdup(model_path);
        }
        if (have_kept && kept < threshold) {
            char b[64];
            snprintf(b, sizeof b, "%.17g", kept);
            argv[n++] = ddw_xstrdup("--keep-edges-above");
            argv[n++] = ddw_xstrdup(b);
        }
        /* "section.key = value" lines become --set section.key=value */
        char *e = ddw_xstrdup(effective), *save = NULL;
        for (char *line = strtok_r(e, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *eq = strstr(line, " = ");
            if (eq == NULL)
                continue;
            *eq = '\0';
            /* a model file's values win over the recorded m/u/prior */
            if (use_model && (strcmp(line, "match.prior") == 0 ||
                              (strncmp(line, "compare.", 8) == 0 &&
                               (strlen(line) > 2 && (strcmp(line + strlen(line) - 2, ".m") == 0 ||
                                                     strcmp(line + strlen(line) - 2, ".u") == 0)))))
                continue;
            if (use_model && strcmp(line, "train.enabled") == 0)
                continue;
            size_t l = strlen(line) + strlen(eq + 3) + 2;
            char *kv = ddw_xmalloc(l);
            snprintf(kv, l, "%s=%s", line, eq + 3);
            argv[n++] = ddw_xstrdup("--set");
            argv[n++] = kv;
        }
        free(e);
        argv[n++] = ddw_xstrdup("--out");
        argv[n++] = ddw_xstrdup(dir);
        *argc_out = (int)n;
        *argv_out = argv;
    }
    free(cfg_path);
    free(model_path);
    free(config);
    free(effective);
    free(model_src);
    free(model);
    free(names);
    free(paths);
    free(shas);
    return rc;
}

/* Elements that differ between two raw datasets (different size: the larger count). */
static uint64_t count_diff(uint64_t na, uint64_t ea, const char *a, uint64_t nb, uint64_t eb,
                           const char *b)
{
    if (ea != eb || na != nb)
        return na > nb ? na : nb;
    uint64_t d = 0;
    for (uint64_t i = 0; i < na; i++)
        d += memcmp(a + i * ea, b + i * eb, (size_t)ea) != 0;
    return d;
}

static int has_name(char **names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

int ddw_rerun_compare(const ddw_comm *comm, const char *old_path, const char *new_path,
                      FILE *out)
{
    ddw_h5 *a = NULL, *b = NULL;
    if (ddw_h5_open(comm, old_path, 0, &a) != DDW_OK ||
        ddw_h5_open(comm, new_path, 0, &b) != DDW_OK) {
        ddw_h5_close(&a);
        ddw_h5_close(&b);
        return -1;
    }
    static const char *const groups[] = {"records", "persons", "edges",
                                         "rejects", "sources", "model"};
    int ndiff = 0;
    uint64_t nsets = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        char grp[32];
        snprintf(grp, sizeof grp, "/%s", groups[g]);
        char **na = NULL, **nb = NULL;
        size_t ca = 0, cb = 0;
        ddw_h5_list(a, grp, &na, &ca);
        ddw_h5_list(b, grp, &nb, &cb);
        for (int side = 0; side < 2; side++) {
            char **x = side ? nb : na, **y = side ? na : nb;
            size_t cx = side ? cb : ca, cy = side ? ca : cb;
            for (size_t i = 0; i < cx; i++) {
                if (has_name(y, cy, x[i]))
                    continue;
                ndiff++;
                if (out)
                    fprintf(out, "  %s/%s: only in the %s result\n", grp, x[i],
                            side ? "new" : "original");
            }
        }
        for (size_t i = 0; i < ca; i++) {
            if (!has_name(nb, cb, na[i]))
                continue;
            char path[300];
            snprintf(path, sizeof path, "%s/%s", grp, na[i]);
            uint64_t n1, e1, n2, e2;
            void *d1 = NULL, *d2 = NULL;
            if (ddw_h5_read_raw(a, path, &n1, &e1, &d1) != DDW_OK ||
                ddw_h5_read_raw(b, path, &n2, &e2, &d2) != DDW_OK) {
                free(d1);
                free(d2);
                continue; /* groups inside groups: none in the layout */
            }
            nsets++;
            uint64_t d = count_diff(n1, e1, d1, n2, e2, d2);
            if (d) {
                ndiff++;
                if (out)
                    fprintf(out, "  %s: %llu of %llu elements differ\n", path,
                            (unsigned long long)d, (unsigned long long)(n1 > n2 ? n1 : n2));
            }
            free(d1);
            free(d2);
        }
        for (size_t i = 0; i < ca; i++)
            free(na[i]);
        for (size_t i = 0; i < cb; i++)
            free(nb[i]);
        free(na);
        free(nb);
    }
    static const char *const mattrs[] = {"prior", "threshold"};
    for (int k = 0; k < 2; k++) {
        double x = 0, y = 0;
        int okx = ddw_h5_read_attr_f64(a, "/model", mattrs[k], &x) == DDW_OK;
        int oky = ddw_h5_read_attr_f64(b, "/model", mattrs[k], &y) == DDW_OK;
        if (okx != oky || memcmp(&x, &y, sizeof x) != 0) {
            ndiff++;
            if (out)
                fprintf(out, "  /model %s: %.17g in the original, %.17g now\n", mattrs[k], x, y);
        }
    }
    ddw_h5_close(&a);
    ddw_h5_close(&b);
    if (out)
        fprintf(out, "rerun: %s (%llu datasets and the model's prior and threshold compared; "
                     "provenance such as times, hosts and rank counts is not compared)\n",
                ndiff ? "DIFFERENT" : "identical", (unsigned long long)nsets);
    return ndiff ? 1 : 0;
}
