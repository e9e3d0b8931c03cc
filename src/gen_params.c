/*
 * gen_params.c - the generator's parameters: one table of keys (section,
 * key, type, bounds, help) read from an INI file by inih.
 *
 * Trade-off: there are no built-in defaults.  Every rate the synthetic
 * population depends on must be written, with its source, in the INI file
 * (configs/generate-ddw.ini), so a reader of the config sees the whole
 * model and the code holds none of it.  A missing key is an error naming
 * it, rather than a silent default.
 */
#include "ddw_generate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "ddw_norm.h"

typedef enum { K_DATE, K_STR, K_PROB, K_POS, K_TABLE, K_TABLE3 } ktype;

typedef struct {
    const char *section; /* "source" means each [source.<name>] */
    const char *key;
    ktype type;
    size_t off;          /* into ddw_gen_params, or into ddw_gen_source_params */
    const char *help;
} gkey;

#define P(f) offsetof(ddw_gen_params, f)
#define S(f) offsetof(ddw_gen_source_params, f)

static const gkey gkeys[] = {
    {"window", "start", K_DATE, P(window_start), "First day of the life histories (YYYY-MM-DD)."},
    {"window", "end", K_DATE, P(window_end), "Last day of the life histories."},
    {"window", "age_reference", K_DATE, P(age_reference), "Date at which age_bands apply."},
    {"names", "forenames_male", K_STR, P(forenames_male), "CSV name,weight,... of male forenames."},
    {"names", "forenames_female", K_STR, P(forenames_female), "The same for female forenames."},
    {"names", "surnames", K_STR, P(surnames), "CSV name,weight of surnames."},
    {"names", "nicknames", K_STR, P(nicknames), "CSV name,short|forms|..."},
    {"population", "male", K_PROB, P(male), "Share of persons who are male."},
    {"population", "age_bands", K_TABLE, P(age_bands), "Age bands LO-HI:weight at age_reference."},
    {"population", "ethnicity", K_TABLE, P(ethnicity), "Ethnic group:weight."},
    {"population", "areas", K_TABLE3, P(areas), "DAT area:weight:police force."},
    {"population", "twin", K_PROB, P(twin), "Per person: twin of the previous person."},
    {"population", "namesake", K_PROB, P(namesake),
     "Per person: same name and dob as an unrelated person."},
    {"contact", "cj_only", K_PROB, P(cj_only), "Persons with justice contact but no treatment."},
    {"contact", "treatment_only", K_PROB, P(treatment_only),
     "Persons in treatment with no justice contact; the rest have both."},
    {"drugs", "groups", K_TABLE3, P(drug_groups), "Main drug:weight:yes|no (heroin/crack)."},
    {"treatment", "episode_days_mean", K_POS, P(episode_days_mean), "Mean episode length."},
    {"treatment", "represent_12m", K_PROB, P(represent_12m),
     "After discharge: a new episode within 12 months."},
    {"treatment", "represent_later", K_PROB, P(represent_later),
     "Otherwise: a new episode 1-3 years later."},
    {"treatment", "discharge_reasons", K_TABLE, P(discharge_reasons), "Reason:weight."},
    {"dip", "rate_hc", K_PROB, P(dip_rate_hc), "DIP contact, heroin/crack users."},
    {"dip", "rate_other", K_PROB, P(dip_rate_other), "DIP contact, other users."},
    {"dip", "extra_contacts_mean", K_POS, P(dip_extra_mean), "Mean further contacts."},
    {"dip", "setting", K_TABLE, P(dip_setting), "Setting:weight."},
    {"drug_tests", "rate_hc", K_PROB, P(test_rate_hc), "Tested on arrest, heroin/crack users."},
    {"drug_tests", "rate_other", K_PROB, P(test_rate_other), "Tested on arrest, other users."},
    {"drug_tests", "negative", K_PROB, P(test_negative), "Share of tests that are negative."},
    {"drug_tests", "retest_positive_12m", K_PROB, P(retest_12m),
     "After a positive test: another test within 12 months."},
    {"drug_tests", "retest_later", K_PROB, P(retest_later), "Otherwise: one 1-3 years later."},
    {"drug_tests", "retest_after_negative", K_PROB, P(retest_after_negative),
     "After a negative test: another within 2 years."},
    {"drug_tests", "result_hc", K_TABLE, P(result_hc), "Positive result:weight, heroin/crack."},
    {"drug_tests", "result_other", K_TABLE, P(result_other), "Positive result:weight, others."},
    {"oasys", "rate_hc", K_PROB, P(oasys_rate_hc), "OASys assessment, heroin/crack users."},
    {"oasys", "rate_other", K_PROB, P(oasys_rate_other), "OASys assessment, other users."},
    {"oasys", "extra_assessments_mean", K_POS, P(oasys_extra_mean), "Mean further assessments."},
    {"oasys", "setting", K_TABLE, P(oasys_setting), "Setting:weight."},
    {"pnc", "known", K_PROB, P(pnc_known), "Justice-involved persons with a PNC record."},
    {"pnc", "offences_extra_mean", K_POS, P(offences_extra_mean), "Mean further offences."},
    {"pnc", "offences", K_TABLE3, P(offences), "Offence:weight:yes|no (trigger offence)."},
    {"pnc", "alias", K_PROB, P(alias), "Offenders with an alias."},
    {"pnc", "alias_dob_share", K_PROB, P(alias_dob_share), "Aliases that change the dob."},
    {"pnc", "alias_use", K_PROB, P(alias_use), "PNC records written under the alias."},
    {"ppo", "rate", K_PROB, P(ppo_rate), "PNC-known persons who are PPOs."},
    {"errors", "typo", K_PROB, P(typo), "Per name field: one typing error."},
    {"errors", "typo_kinds", K_TABLE, P(typo_kinds),
     "insert, delete, substitute, transpose, keyboard : weight."},
    {"errors", "phonetic", K_PROB, P(phonetic), "Phonetic re-spelling of a name."},
    {"errors", "nickname", K_PROB, P(nickname), "Forename as a short form (if it has one)."},
    {"errors", "name_swap", K_PROB, P(name_swap), "Forename and surname swapped."},
    {"errors", "double_barrelled", K_PROB, P(double_barrelled), "Second, hyphenated surname."},
    {"errors", "surname_change_female", K_PROB, P(surname_change_female),
     "Per female person: new surname from a date on."},
    {"errors", "surname_change_male", K_PROB, P(surname_change_male), "Per male person."},
    {"errors", "dob_swap", K_PROB, P(dob_swap), "Day and month swapped (day <= 12)."},
    {"errors", "dob_digit", K_PROB, P(dob_digit), "One digit of the dob wrong."},
    {"errors", "dob_placeholder", K_PROB, P(dob_placeholder), "Dob recorded as 1 January."},
    {"errors", "missing_forename", K_PROB, P(missing_forename), "Forename blank."},
    {"errors", "missing_surname", K_PROB, P(missing_surname), "Surname blank."},
    {"errors", "missing_dob", K_PROB, P(missing_dob), "Dob blank."},
    {"errors", "missing_sex", K_PROB, P(missing_sex), "Sex recorded as missing."},
    {"errors", "missing_area", K_PROB, P(missing_area), "Area blank."},
    {"errors", "sex_miscoded", K_PROB, P(sex_miscoded), "The other sex recorded."},
    {"errors", "pnc_typo", K_PROB, P(pnc_typo), "One character of the PNC ID wrong."},
    {"errors", "area_move", K_PROB, P(area_move), "Per person: moves to another area."},
    {"source", "file", K_STR, S(file), "Output file name in the output directory."},
    {"source", "dob_format", K_STR, S(dob_format), "Date-of-birth format (%d %m %Y %y)."},
    {"source", "date_format", K_STR, S(date_format), "Format of the other dates."},
    {"source", "sex_codes", K_STR, S(sex_code), "Codes for male,female,missing."},
    {"source", "name_case", K_STR, S(name_case), "upper or title."},
    {"source", "pnc_present", K_PROB, S(pnc_present),
     "Share of a PNC-known person's records carrying the PNC ID."},
    {"source", "error_scale", K_POS, S(error_scale), "Multiplies every record-level error rate."},
};
#define NGKEYS (int)(sizeof gkeys / sizeof gkeys[0])

const char *const ddw_gen_source_names[DDW_GS_N] = {"ndtms", "dip", "drug_tests",
                                                     "oasys", "pnc", "ppo"};

typedef struct {
    char *section, *key, *value;
    int line;
} gentry;

typedef struct {
    const char *path, *text;
    int line, errors, continued;
    FILE *err;
    gentry *e;
    size_t n, cap;
} gparser;

static void gerr(gparser *g, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void gerr(gparser *g, int line, const char *fmt, ...)
{
    g->errors++;
    if (g->err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (line > 0)
        fprintf(g->err, "ddwlink generate: error: %s:%d: ", g->path, line);
    else
        fprintf(g->err, "ddwlink generate: error: %s: ", g->path);
    vfprintf(g->err, fmt, ap);
    fputc('\n', g->err);
    va_end(ap);
}

static char *reader(char *str, int num, void *stream)
{
    gparser *g = stream;
    if (*g->text == '\0')
        return NULL;
    const char *nl = strchr(g->text, '\n');
    size_t len = nl ? (size_t)(nl - g->text) + 1 : strlen(g->text);
    g->line++;
    g->continued = g->text[0] == ' ' || g->text[0] == '\t';
    if (len > (size_t)num - 1) {
        gerr(g, g->line, "line longer than %d characters; continue on indented lines", num - 2);
        g->text += len;
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    memcpy(str, g->text, len);
    str[len] = '\0';
    g->text += len;
    return str;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    gparser *g = user;
    /* a continuation line repeats the previous key: append to it */
    if (g->n && strcmp(g->e[g->n - 1].section, section) == 0 &&
        strcmp(g->e[g->n - 1].key, name) == 0 && g->continued) {
        gentry *e = &g->e[g->n - 1];
        size_t l = strlen(e->value);
        e->value = ddw_xrealloc(e->value, l + strlen(value) + 3);
        sprintf(e->value + l, ", %s", value);
        return 1;
    }
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->e[i].section, section) == 0 && strcmp(g->e[i].key, name) == 0) {
            gerr(g, g->line, "[%s] %s given twice (first on line %d)", section, name,
                 g->e[i].line);
            return 1;
        }
    ddw_xgrow((void **)&g->e, &g->cap, g->n + 1, sizeof *g->e);
    g->e[g->n].section = ddw_xstrdup(section);
    g->e[g->n].key = ddw_xstrdup(name);
    g->e[g->n].value = ddw_xstrdup(value);
    g->e[g->n].line = g->line;
    g->n++;
    return 1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1]))
        s[--l] = '\0';
    return s;
}

static void table_free(ddw_gen_table *t)
{
    for (int i = 0; i < t->n; i++) {
        free(t->label[i]);
        free(t->extra[i]);
    }
    free(t->label);
    free(t->extra);
    free(t->weight);
    free(t->cum);
    memset(t, 0, sizeof *t);
}

/* "label:weight[:extra], ..." -> table; 0 or a message in msg. */
static int table_parse(const char *v, int want_extra, ddw_gen_table *t, char *msg, size_t cap)
{
    memset(t, 0, sizeof *t);
    char *copy = ddw_xstrdup(v), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *it = trim(item);
        if (*it == '\0')
            continue;
        char *c1 = strchr(it, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c1 == NULL || (want_extra && c2 == NULL) || (!want_extra && c2 != NULL)) {
            snprintf(msg, cap, "'%s' is not %s", it,
                     want_extra ? "label:weight:extra" : "label:weight");
            rc = -1;
            break;
        }
        *c1 = '\0';
        if (c2)
            *c2 = '\0';
        char *end = NULL;
        double w = strtod(c1 + 1, &end);
        if (end == c1 + 1 || *trim(end) != '\0' || !(w >= 0) || w > 1e12) {
            snprintf(msg, cap, "weight of '%s' is not a number >= 0", trim(it));
            rc = -1;
            break;
        }
        int k = t->n++;
        t->label = ddw_xrealloc(t->label, (size_t)t->n * sizeof *t->label);
        t->extra = ddw_xrealloc(t->extra, (size_t)t->n * sizeof *t->extra);
        t->weight = ddw_xrealloc(t->weight, (size_t)t->n * sizeof *t->weight);
        t->cum = ddw_xrealloc(t->cum, (size_t)t->n * sizeof *t->cum);
        t->label[k] = ddw_xstrdup(trim(it));
        t->extra[k] = c2 ? ddw_xstrdup(trim(c2 + 1)) : NULL;
        t->weight[k] = w;
        t->cum[k] = (k ? t->cum[k - 1] : 0) + w;
        if (t->label[k][0] == '\0') {
            snprintf(msg, cap, "empty label");
            rc = -1;
            break;
        }
    }
    free(copy);
    if (rc == 0 && (t->n == 0 || t->cum[t->n - 1] <= 0)) {
        snprintf(msg, cap, "needs at least one entry with a positive weight");
        rc = -1;
    }
    if (rc != 0)
        table_free(t);
    return rc;
}

static int set_value(const gkey *k, char *base, const char *v, char *msg, size_t cap)
{
    char *end = NULL;
    switch (k->type) {
    case K_DATE: {
        int32_t d;
        if (ddw_norm_date_parse(v, strlen(v), "%Y-%m-%d", &d) != DDW_OK) {
            snprintf(msg, cap, "'%s' is not a date YYYY-MM-DD", v);
            return -1;
        }
        *(int32_t *)(base + k->off) = d;
        return 0;
    }
    case K_STR:
        if (*v == '\0' && strcmp(k->key, "sex_codes") != 0) {
            snprintf(msg, cap, "is empty");
            return -1;
        }
        if (strcmp(k->key, "sex_codes") == 0) {
            char **codes = (char **)(base + k->off);
            const char *p = v;
            for (int i = 0; i < 3; i++) {
                const char *c = strchr(p, ',');
                size_t l = c ? (size_t)(c - p) : strlen(p);
                if ((i < 2 && c == NULL) || (i == 2 && c != NULL)) {
                    snprintf(msg, cap, "'%s' is not male,female,missing", v);
                    return -1;
                }
                codes[i] = ddw_xmalloc(l + 1);
                memcpy(codes[i], p, l);
                codes[i][l] = '\0';
                char *t = trim(codes[i]);
                memmove(codes[i], t, strlen(t) + 1);
                p = c ? c + 1 : p + l;
            }
            return 0;
        }
        if (strcmp(k->key, "name_case") == 0 && strcmp(v, "upper") && strcmp(v, "title")) {
            snprintf(msg, cap, "'%s' is not upper or title", v);
            return -1;
        }
        if (strstr(k->key, "format")) {
            if (ddw_norm_date_check_format(v) != DDW_OK) {
                snprintf(msg, cap, "'%s' is not a date format", v);
                return -1;
            }
        }
        *(char **)(base + k->off) = ddw_xstrdup(v);
        return 0;
    case K_PROB:
    case K_POS: {
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || !(d >= 0) || (k->type == K_PROB && d > 1) || d > 1e9) {
            snprintf(msg, cap, "'%s' is not %s", v,
                     k->type == K_PROB ? "a probability in [0, 1]" : "a number >= 0");
            return -1;
        }
        *(double *)(base + k->off) = d;
        return 0;
    }
    case K_TABLE:
    case K_TABLE3:
        return table_parse(v, k->type == K_TABLE3, (ddw_gen_table *)(base + k->off), msg, cap);
    }
    return -1;
}

static int source_index(const char *section)
{
    if (strncmp(section, "source.", 7) != 0)
        return -2;
    for (int s = 0; s < DDW_GS_N; s++)
        if (strcmp(section + 7, ddw_gen_source_names[s]) == 0)
            return s;
    return -1;
}

/* Checks the tables whose labels mean something to the generator. */
static void check_semantics(gparser *g, ddw_gen_params *p)
{
    for (int i = 0; i < p->age_bands.n; i++) {
        int lo, hi, used = 0;
        if (sscanf(p->age_bands.label[i], "%d-%d%n", &lo, &hi, &used) != 2 ||
            p->age_bands.label[i][used] != '\0' || lo < 0 || hi < lo || hi > 120)
            gerr(g, 0, "[population] age_bands: '%s' is not an age range LO-HI",
                 p->age_bands.label[i]);
    }
    const ddw_gen_table *yn[] = {&p->drug_groups, &p->offences};
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < yn[t]->n; i++)
            if (strcmp(yn[t]->extra[i], "yes") && strcmp(yn[t]->extra[i], "no"))
                gerr(g, 0, "%s: '%s' must be followed by :yes or :no",
                     t ? "[pnc] offences" : "[drugs] groups", yn[t]->label[i]);
    static const char *const kinds[] = {"insert", "delete", "substitute", "transpose",
                                        "keyboard"};
    if (p->typo_kinds.n != 5)
        gerr(g, 0, "[errors] typo_kinds must list insert, delete, substitute, transpose, "
                   "keyboard in that order");
    else
        for (int i = 0; i < 5; i++)
            if (strcmp(p->typo_kinds.label[i], kinds[i]) != 0)
                gerr(g, 0, "[errors] typo_kinds: entry %d must be '%s'", i + 1, kinds[i]);
    if (p->cj_only + p->treatment_only > 1)
        gerr(g, 0, "[contact] cj_only + treatment_only must be at most 1");
    if (p->window_end <= p->window_start)
        gerr(g, 0, "[window] end must be after start");
    if (p->areas.n < 2)
        gerr(g, 0, "[population] areas needs at least two areas (people move between them)");
}

ddw_status ddw_gen_params_parse(const char *path, const char *text, FILE *err,
                                ddw_gen_params **out)
{
    gparser g = {.path = path, .text = text, .err = err};
    *out = NULL;
    int rc = ini_parse_stream(reader, &g, on_entry, &g);
    if (rc != 0)
        gerr(&g, rc > 0 ? rc : 0, "syntax error (expected [section] or key = value)");
    ddw_gen_params *p = ddw_xcalloc(1, sizeof *p);
    p->text = ddw_xstrdup(text);
    char *used = ddw_xcalloc(g.n + 1, 1);
    char msg[256];
    for (int k = 0; k < NGKEYS; k++) {
        int per_source = strcmp(gkeys[k].section, "source") == 0;
        for (int s = 0; s < (per_source ? DDW_GS_N : 1); s++) {
            char section[64];
            if (per_source)
                snprintf(section, sizeof section, "source.%s", ddw_gen_source_names[s]);
            else
                snprintf(section, sizeof section, "%s", gkeys[k].section);
            char *base = per_source ? (char *)&p->src[s] : (char *)p;
            size_t i;
            for (i = 0; i < g.n; i++)
                if (strcmp(g.e[i].section, section) == 0 && strcmp(g.e[i].key, gkeys[k].key) == 0)
                    break;
            if (i == g.n) {
                gerr(&g, 0, "[%s] %s is missing (%s)", section, gkeys[k].key, gkeys[k].help);
                continue;
            }
            used[i] = 1;
            if (set_value(&gkeys[k], base, g.e[i].value, msg, sizeof msg) != 0)
                gerr(&g, g.e[i].line, "[%s] %s: %s", section, gkeys[k].key, msg);
        }
    }
    for (size_t i = 0; i < g.n; i++)
        if (!used[i]) {
            int si = source_index(g.e[i].section);
            if (si == -1)
                gerr(&g, g.e[i].line, "[%s]: unknown source (the generator writes ndtms, dip, "
                                      "drug_tests, oasys, pnc, ppo)", g.e[i].section);
            else
                gerr(&g, g.e[i].line, "[%s] %s: unknown key", g.e[i].section, g.e[i].key);
        }
    if (g.errors == 0)
        check_semantics(&g, p);
    free(used);
    for (size_t i = 0; i < g.n; i++) {
        free(g.e[i].section);
        free(g.e[i].key);
        free(g.e[i].value);
    }
    free(g.e);
    if (g.errors) {
        ddw_gen_params_destroy(&p);
        return DDW_ECONFIG;
    }
    *out = p;
    return DDW_OK;
}

void ddw_gen_params_destroy(ddw_gen_params **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    ddw_gen_params *p = *pp;
    for (int k = 0; k < NGKEYS; k++) {
        int per_source = strcmp(gkeys[k].section, "source") == 0;
        for (int s = 0; s < (per_source ? DDW_GS_N : 1); s++) {
            char *base = per_source ? (char *)&p->src[s] : (char *)p;
            if (gkeys[k].type == K_TABLE || gkeys[k].type == K_TABLE3)
                table_free((ddw_gen_table *)(base + gkeys[k].off));
            else if (gkeys[k].type == K_STR && strcmp(gkeys[k].key, "sex_codes") == 0)
                for (int i = 0; i < 3; i++)
                    free(((char **)(base + gkeys[k].off))[i]);
            else if (gkeys[k].type == K_STR)
                free(*(char **)(base + gkeys[k].off));
        }
    }
    free(p->text);
    free(p);
    *pp = NULL;
}

void ddw_gen_params_help(FILE *out)
{
    fprintf(out, "Generator keys (all required; see configs/generate-ddw.ini):\n");
    for (int k = 0; k < NGKEYS; k++)
        fprintf(out, "  [%s%s] %-22s %s\n", gkeys[k].section,
                strcmp(gkeys[k].section, "source") == 0 ? ".<ndtms|dip|drug_tests|oasys|pnc|ppo>"
                                                        : "",
                gkeys[k].key, gkeys[k].help);
}
