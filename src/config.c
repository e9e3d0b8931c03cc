/*
 * config.c - the configuration: INI text (parsed by inih) plus --set
 * overrides, checked against one table of keys.
 *
 * The INI is first read into a flat list of (section, key, value, where)
 * entries; overrides replace or add entries; only then is the list
 * interpreted and validated.  Trade-off: two passes instead of filling
 * the struct inside inih's callback, so that an override can replace a
 * file value before validation, every error can name the file and line
 * (or the --set argument) it came from, and all errors are reported at
 * once rather than the first one only.
 */
#include "ddw_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "ddw_compare.h"
#include "ddw_norm.h"

static const struct {
    const char *name;
    ddw_field_type type;
} field_table[DDW_NFIELDS] = {
    {"forename", DDW_FT_TEXT},  {"surname", DDW_FT_TEXT},   {"forename_initial", DDW_FT_TEXT},
    {"surname_initial", DDW_FT_TEXT}, {"dob", DDW_FT_DATE}, {"sex", DDW_FT_SEX},
    {"area", DDW_FT_TEXT},      {"postcode", DDW_FT_TEXT},  {"pnc_id", DDW_FT_TEXT},
    {"event_date", DDW_FT_DATE}, {"middle_name", DDW_FT_TEXT}, {"address1", DDW_FT_TEXT},
    {"address2", DDW_FT_TEXT},  {"town", DDW_FT_TEXT},      {"id_number", DDW_FT_TEXT},
    {"extra1", DDW_FT_TEXT},    {"extra2", DDW_FT_TEXT},    {"extra3", DDW_FT_TEXT},
};

const char *ddw_field_name(ddw_field f) { return field_table[f].name; }
ddw_field_type ddw_field_type_of(ddw_field f) { return field_table[f].type; }

int ddw_field_find(const char *name)
{
    for (int f = 0; f < DDW_NFIELDS; f++)
        if (strcmp(field_table[f].name, name) == 0)
            return f;
    return -1;
}

/* ---- the key table ---------------------------------------------------- */

typedef enum { T_STR, T_INT, T_FLOAT, T_PROB, T_LIST, T_COLUMN, T_DATEFMT } key_type;

typedef struct {
    const char *section; /* "run", or "source.*" for a repeatable section */
    const char *key;
    key_type type;
    const char *def;     /* NULL: required; "" : optional, empty */
    double lo, hi;
    const char *help;
} keydef;

static const char *const type_names[] = {"string", "integer", "number", "probability",
                                         "list",   "column",  "date format"};

#define DEFAULT_SEX_CODES "M=M, MALE=M, 1=M, F=F, FEMALE=F, 2=F, U=, UNKNOWN=, X=, 0=, 9="

static const keydef keys[] = {
    {"run", "name", T_STR, "ddwlink", 0, 0,
     "Run name; output goes to results/<name>/link.h5 unless --out is given."},
    {"run", "seed", T_INT, "1", 0, 1e18,
     "Seed for every random choice (sampling); results depend only on it and the inputs."},
    {"match", "threshold", T_FLOAT, "10", -200, 200,
     "Match weight (log2 Bayes factor, prior included) at or above which a scored pair "
     "becomes an edge. Probability = 2^w / (1 + 2^w)."},
    {"match", "prior", T_PROB, "0.0001", 0, 1,
     "Probability that two records drawn at random belong to the same person (lambda)."},
    {"block", "max_block_size", T_INT, "2000", 2, 1e9,
     "Blocks with more records are cut into tiles of this many records, spread over ranks "
     "and threads; every pair is still scored once."},
    {"output", "deflate", T_INT, "1", 0, 9,
     "HDF5 deflate level (0 = none; 1 is fast and within ~20% of 9 on these tables)."},
    {"output", "chunk", T_INT, "65536", 1024, 1e8, "HDF5 chunk size in elements."},
    {"source.*", "path", T_STR, NULL, 0, 0,
     "CSV file (RFC 4180, UTF-8, header row). Relative paths are relative to the "
     "working directory."},
    {"source.*", "id_column", T_COLUMN, NULL, 0, 0, "Column holding the record's own ID."},
    {"source.*", "forename", T_COLUMN, "", 0, 0, "Column mapped onto field forename."},
    {"source.*", "surname", T_COLUMN, "", 0, 0, "Column mapped onto field surname."},
    {"source.*", "forename_initial", T_COLUMN, "", 0, 0,
     "Column holding the forename initial (derived from forename when that is mapped)."},
    {"source.*", "surname_initial", T_COLUMN, "", 0, 0,
     "Column holding the surname initial (derived from surname when that is mapped)."},
    {"source.*", "dob", T_COLUMN, "", 0, 0, "Column mapped onto field dob (date of birth)."},
    {"source.*", "dob_format", T_DATEFMT, "%Y-%m-%d", 0, 0,
     "Format of the dob column: %Y %y %m %d %b and literal characters, or the "
     "same written as YYYY YY MM DD MON (e.g. DD/MM/YYYY)."},
    {"source.*", "sex", T_COLUMN, "", 0, 0, "Column mapped onto field sex (see sex_codes)."},
    {"source.*", "sex_codes", T_LIST, DEFAULT_SEX_CODES, 0, 0,
     "How sex values map to M, F or missing (CODE= ), compared after normalisation; any "
     "other value rejects the row."},
    {"source.*", "area", T_COLUMN, "", 0, 0,
     "Column mapped onto field area (DAT or postcode district)."},
    {"source.*", "postcode", T_COLUMN, "", 0, 0, "Column mapped onto field postcode."},
    {"source.*", "pnc_id", T_COLUMN, "", 0, 0, "Column mapped onto field pnc_id."},
    {"source.*", "event_date", T_COLUMN, "", 0, 0,
     "Column mapped onto field event_date (episode, test or assessment date)."},
    {"source.*", "event_date_format", T_DATEFMT, "%Y-%m-%d", 0, 0,
     "Format of the event_date column."},
    {"source.*", "middle_name", T_COLUMN, "", 0, 0, "Column mapped onto field middle_name."},
    {"source.*", "address1", T_COLUMN, "", 0, 0, "Column mapped onto field address1."},
    {"source.*", "address2", T_COLUMN, "", 0, 0, "Column mapped onto field address2."},
    {"source.*", "town", T_COLUMN, "", 0, 0, "Column mapped onto field town."},
    {"source.*", "id_number", T_COLUMN, "", 0, 0,
     "Column mapped onto field id_number (NHS number, national insurance number, ...)."},
    {"source.*", "extra1", T_COLUMN, "", 0, 0,
     "Column mapped onto field extra1, a free text field for anything else to compare "
     "(likewise extra2, extra3)."},
    {"source.*", "extra2", T_COLUMN, "", 0, 0, "Column mapped onto field extra2."},
    {"source.*", "extra3", T_COLUMN, "", 0, 0, "Column mapped onto field extra3."},
    {"source.*", "keep", T_LIST, "", 0, 0,
     "Pass-through columns copied as written (surrounding spaces trimmed) to "
     "/records/<column> for analysis."},
    {"source.*", "attach_once", T_STR, "no", 0, 0,
     "yes: this source identifies a person only weakly (e.g. initials, dob and sex only). "
     "Each of its records joins at most one cluster that holds records of other sources, "
     "taking its strongest edge, so it never bridges two people; its records still link "
     "to each other."},
    {"blocking.*", "key", T_LIST, NULL, 0, 0,
     "Blocking key: comma-separated parts FUNC(FIELD), FUNC one of exact, first, soundex, "
     "nysiis, year (dates), initials() (forename+surname initial); a bare FIELD means "
     "exact(FIELD). Records whose parts are all present and equal share a block."},
    {"compare.*", "field", T_STR, NULL, 0, 0, "Field compared."},
    {"compare.*", "method", T_STR, NULL, 0, 0,
     "Comparison method: exact, string, date, pnc, number or postcode (levels below)."},
    {"compare.*", "levels", T_LIST, NULL, 0, 0,
     "Ordered levels, first that holds wins, last must be 'else' (see the method list at "
     "the end). A missing value on either side is the neutral level (weight 0)."},
    {"compare.*", "m", T_LIST, "", 0, 0,
     "P(level | same person), one per level, each in (0,1]. Optional when training: then "
     "the starting value for EM (default: 0.9 for the first level, the rest shared)."},
    {"compare.*", "u", T_LIST, "", 0, 0,
     "P(level | different persons), one per level, each in (0,1]. Optional when training "
     "(estimated from random pairs)."},
    {"compare.*", "tf", T_STR, "no", 0, 0,
     "yes: term-frequency adjustment - agreeing exactly on a value weighs log2(m / f) with "
     "f the value's share of all records' values, so SMITH counts less than a rare name."},
    {"compare.*", "unless", T_STR, "", 0, 0,
     "A field: the comparison counts only for pairs where at least one record lacks it "
     "(e.g. compare forename_initial unless = forename, so initials weigh only when a "
     "full name is not there to compare instead)."},
    {"compare.*", "tf_min", T_FLOAT, "0.0001", 1e-12, 1,
     "Smallest value frequency used by tf (caps the weight of very rare values)."},
    {"train", "enabled", T_STR, "yes", 0, 0,
     "yes: estimate u from random record pairs, then m and the prior by EM on blocked "
     "pairs, before linking (link --model FILE skips this). no: use the config's m, u "
     "and prior."},
    {"train", "pairs", T_INT, "500000", 1000, 1e12,
     "Blocked pairs (about) sampled for EM, chosen by hashing record keys with run.seed."},
    {"train", "u_records", T_INT, "1000", 50, 1e6,
     "Records sampled (by hashing keys with run.seed) for u: all pairs among them."},
    {"train", "max_iter", T_INT, "100", 1, 100000, "EM iteration cap."},
    {"train", "tol", T_FLOAT, "0.00001", 1e-15, 1,
     "EM stops when no parameter moves more than this."},
    {"train", "min_prob", T_FLOAT, "0.000001", 1e-15, 0.01,
     "Floor of every estimated m and u."},
    {"cluster", "refine", T_STR, "pnc", 0, 0,
     "What splits a connected component along its weakest edges: none (plain connected "
     "components), pnc (two different valid PNC IDs) or pnc_dob (also incompatible dates of "
     "birth)."},
};
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))

void ddw_config_help(FILE *out)
{
    fprintf(out, "Configuration keys (INI sections; NAME is yours to choose, any number of\n"
                 "source.NAME, blocking.NAME and compare.NAME sections; order matters).\n"
                 "Override any key with --set section.key=value.\n\n");
    const char *last = "";
    for (int k = 0; k < NKEYS; k++) {
        if (strcmp(last, keys[k].section) != 0) {
            const char *s = keys[k].section;
            size_t n = strlen(s);
            if (n > 2 && strcmp(s + n - 2, ".*") == 0)
                fprintf(out, "[%.*s.NAME]\n", (int)(n - 2), s);
            else
                fprintf(out, "[%s]\n", s);
            last = keys[k].section;
        }
        fprintf(out, "  %-18s %-12s default: %s\n", keys[k].key, type_names[keys[k].type],
                keys[k].def == NULL ? "(required)" : (keys[k].def[0] ? keys[k].def : "(none)"));
        /* wrap help at ~76 columns */
        const char *h = keys[k].help;
        while (*h) {
            size_t n = strlen(h);
            if (n > 70) {
                n = 70;
                while (n > 0 && h[n] != ' ')
                    n--;
                if (n == 0)
                    n = 70;
            }
            fprintf(out, "      %.*s\n", (int)n, h);
            h += n;
            while (*h == ' ')
                h++;
        }
    }
    fprintf(out, "\nComparison methods:\n");
    for (int i = 0; i < ddw_compare_nmethods(); i++)
        fprintf(out, "  %-8s levels: %s\n", ddw_compare_method_at(i)->name,
                ddw_compare_method_at(i)->levels_help);
}

/* ---- entries ------------------------------------------------------------ */

typedef struct {
    char *section, *key, *value, *where;
} entry;

typedef struct {
    entry *e;
    size_t n, cap;
    const char *path;
    const char *text; /* remaining input for the line reader */
    int line;
    int continued;    /* the current line is indented: it continues the previous value */
    long last;        /* index of the entry the previous line set, -1 if none */
    char **sec_name;  /* section headers and their lines, for messages */
    int *sec_line;
    size_t nsec, seccap;
    FILE *err;
    int nerr;
} parser;

static void perr(parser *p, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr(parser *p, const char *where, const char *fmt, ...)
{
    p->nerr++;
    if (p->err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(p->err, "ddwlink: config error: %s: ", where);
    vfprintf(p->err, fmt, ap);
    fputc('\n', p->err);
    va_end(ap);
}

static char *fmt_where(const char *path, int line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s:%d", path, line);
    return ddw_xstrdup(buf);
}

static entry *find_entry(parser *p, const char *section, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].section, section) == 0 && strcmp(p->e[i].key, key) == 0)
            return &p->e[i];
    return NULL;
}

static void add_entry(parser *p, const char *section, const char *key, const char *value,
                      char *where)
{
    ddw_xgrow((void **)&p->e, &p->cap, p->n + 1, sizeof *p->e);
    entry *e = &p->e[p->n++];
    e->section = ddw_xstrdup(section);
    e->key = ddw_xstrdup(key);
    e->value = ddw_xstrdup(value);
    e->where = where;
}

/*
 * inih reader: hands out one line at a time, counts lines, notes section
 * headers and indented (continuation) lines.  inih's line buffer is fixed
 * at build time (200 bytes in Debian's build); a longer line is reported
 * here, at its real line number, and handed to inih as an empty line.
 */
static char *line_reader(char *str, int num, void *stream)
{
    parser *p = stream;
    if (*p->text == '\0')
        return NULL;
    const char *nl = strchr(p->text, '\n');
    size_t len = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
    p->line++;
    p->continued = p->text[0] == ' ' || p->text[0] == '\t';
    if (len > (size_t)num - 1) {
        char *w = fmt_where(p->path, p->line);
        perr(p, w, "line longer than %d characters; continue a long list on indented lines",
             num - 2);
        free(w);
        p->text += len;
        p->continued = 0;
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    memcpy(str, p->text, len);
    str[len] = '\0';
    p->text += len;
    const char *t = str;
    while (*t == ' ' || *t == '\t') t++;
    if (*t == '[') {
        const char *close = strchr(t, ']');
        if (close) {
            ddw_xgrow((void **)&p->sec_name, &p->seccap, p->nsec + 1, sizeof *p->sec_name);
            p->sec_line = ddw_xrealloc(p->sec_line, p->seccap * sizeof *p->sec_line);
            char *name = ddw_xmalloc((size_t)(close - t));
            memcpy(name, t + 1, (size_t)(close - t - 1));
            name[close - t - 1] = '\0';
            p->sec_name[p->nsec] = name;
            p->sec_line[p->nsec++] = p->line;
        }
    }
    return str;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    parser *p = user;
    char *where = fmt_where(p->path, p->line);
    if (name == NULL) { /* a section header: nothing to record */
        free(where);
        return 1;
    }
    entry *prev = p->last >= 0 ? &p->e[p->last] : NULL;
    if (p->continued && prev && strcmp(prev->section, section) == 0 &&
        strcmp(prev->key, name) == 0) {
        /* an indented line continues the previous key's list */
        if (value && strchr(value, '=') != NULL)
            perr(p, where, "[%s] indented line looks like a key; start keys at column 1",
                 section);
        size_t n = strlen(prev->value) + strlen(value ? value : "") + 3;
        char *joined = ddw_xmalloc(n);
        snprintf(joined, n, "%s, %s", prev->value, value ? value : "");
        free(prev->value);
        prev->value = joined;
        free(where);
        return 1;
    }
    if (find_entry(p, section, name) != NULL) {
        perr(p, where, "[%s] %s: key given twice", section, name);
        free(where);
        return 1;
    }
    add_entry(p, section, name, value ? value : "", where);
    p->last = (long)p->n - 1;
    return 1;
}

/* Matches "source.X" against "source.*"; fixed sections match exactly. */
static int section_matches(const char *pattern, const char *section)
{
    size_t n = strlen(pattern);
    if (n > 2 && strcmp(pattern + n - 2, ".*") == 0)
        return strncmp(pattern, section, n - 1) == 0 && section[n - 1] != '\0';
    return strcmp(pattern, section) == 0;
}

static const keydef *find_keydef(const char *section, const char *key, int *section_known)
{
    *section_known = 0;
    for (int k = 0; k < NKEYS; k++) {
        if (!section_matches(keys[k].section, section))
            continue;
        *section_known = 1;
        if (strcmp(keys[k].key, key) == 0)
            return &keys[k];
    }
    return NULL;
}

/* Splits a comma-separated list in place; trims items. Returns count. */
static int split_list(char *s, char **items, int max)
{
    int n = 0;
    char *p = s;
    while (*p) {
        char *c = p;
        int depth = 0;
        while (*c && !(*c == ',' && depth == 0)) {
            if (*c == '(') depth++;
            if (*c == ')') depth--;
            c++;
        }
        char *end = c;
        while (*p == ' ' || *p == '\t') p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        int last = *c == '\0';
        *end = '\0';
        if (n < max)
            items[n] = p;
        n++;
        if (last)
            break;
        p = c + 1;
    }
    if (n == 1 && items[0][0] == '\0')
        return 0;
    return n;
}

static const char *value_of(parser *p, const char *section, const char *key,
                            const char **where)
{
    entry *e = find_entry(p, section, key);
    if (e) {
        *where = e->where;
        return e->value;
    }
    int known;
    const keydef *kd = NULL;
    for (int k = 0; k < NKEYS; k++)
        if (section_matches(keys[k].section, section) && strcmp(keys[k].key, key) == 0)
            kd = &keys[k];
    (void)known;
    *where = p->path;
    return kd ? kd->def : NULL;
}

static int parse_number(parser *p, const char *where, const char *section, const keydef *kd,
                        const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno != 0 || !isfinite(d)) {
        perr(p, where, "[%s] %s: '%s' is not a number", section, kd->key, v);
        return 0;
    }
    if (kd->type == T_INT && d != floor(d)) {
        perr(p, where, "[%s] %s: '%s' is not an integer", section, kd->key, v);
        return 0;
    }
    if (kd->type == T_PROB ? !(d > 0 && d < 1) : (d < kd->lo || d > kd->hi)) {
        if (kd->type == T_PROB)
            perr(p, where, "[%s] %s: %s must be strictly between 0 and 1", section, kd->key, v);
        else
            perr(p, where, "[%s] %s: %s is outside [%g, %g]", section, kd->key, v, kd->lo,
                 kd->hi);
        return 0;
    }
    *out = d;
    return 1;
}

/* Fetches a numeric key (with default), validating type and bounds. */
static double get_num(parser *p, const char *section, const char *key)
{
    const char *where;
    const char *v = value_of(p, section, key, &where);
    const keydef *kd = NULL;
    int known;
    kd = find_keydef(section, key, &known);
    double d = 0;
    if (v && kd)
        parse_number(p, where, section, kd, v, &d);
    return d;
}

/* "file:line" of a section's header, or the file alone if it has none. */
static char *section_where(parser *p, const char *section)
{
    for (size_t i = 0; i < p->nsec; i++)
        if (strcmp(p->sec_name[i], section) == 0)
            return fmt_where(p->path, p->sec_line[i]);
    return ddw_xstrdup(p->path);
}

static char *get_str(parser *p, const char *section, const char *key, const char **where)
{
    const char *w;
    const char *v = value_of(p, section, key, &w);
    if (where)
        *where = w;
    if (v == NULL) {
        char *sw = section_where(p, section);
        perr(p, sw, "[%s] %s: required key missing", section, key);
        free(sw);
        return NULL;
    }
    return ddw_xstrdup(v);
}

/* ---- section interpreters ------------------------------------------------ */

/*
 * A date format in strptime style (%d/%m/%Y) is kept as it is; one written
 * with letters (DD/MM/YYYY, YYYYMMDD, DD-MON-YYYY) is translated to it.
 */
static char *date_format_from(const char *v)
{
    if (strchr(v, '%'))
        return ddw_xstrdup(v);
    static const struct {
        const char *tok, *fmt;
    } map[] = {{"YYYY", "%Y"}, {"MON", "%b"}, {"YY", "%y"}, {"MM", "%m"}, {"DD", "%d"}};
    char *out = ddw_xmalloc(strlen(v) * 2 + 1), *o = out;
    while (*v) {
        size_t k = 0, n = sizeof map / sizeof map[0];
        while (k < n && strncmp(v, map[k].tok, strlen(map[k].tok)) != 0)
            k++;
        if (k < n) {
            memcpy(o, map[k].fmt, 2);
            o += 2;
            v += strlen(map[k].tok);
        } else {
            *o++ = *v++;
        }
    }
    *o = '\0';
    return out;
}

static void parse_source(parser *p, const char *section, ddw_source_cfg *s)
{
    const char *w;
    s->name = ddw_xstrdup(section + strlen("source."));
    s->path = get_str(p, section, "path", &w);
    s->where_path = ddw_xstrdup(w);
    s->id_column = get_str(p, section, "id_column", &w);
    s->where_id = ddw_xstrdup(w);
    if (s->path && s->path[0] == '\0')
        perr(p, s->where_path, "[%s] path: empty", section);
    if (s->id_column && s->id_column[0] == '\0')
        perr(p, s->where_id, "[%s] id_column: empty", section);
    int any = 0;
    for (int f = 0; f < DDW_NFIELDS; f++) {
        const char *v = value_of(p, section, ddw_field_name(f), &w);
        if (v && v[0]) {
            s->column[f] = ddw_xstrdup(v);
            s->where[f] = ddw_xstrdup(w);
            any = 1;
        }
        if (ddw_field_type_of(f) == DDW_FT_DATE) {
            char k[64];
            snprintf(k, sizeof k, "%s_format", ddw_field_name(f));
            v = value_of(p, section, k, &w);
            s->date_format[f] = date_format_from(v ? v : "%Y-%m-%d");
            if (ddw_norm_date_check_format(s->date_format[f]) != DDW_OK)
                perr(p, w, "[%s] %s: '%s' is not a valid date format (use %%Y %%y %%m %%d %%b)",
                     section, k, s->date_format[f]);
        }
    }
    if (!any)
        perr(p, p->path, "[%s]: no column is mapped onto any field", section);
    char *keep = get_str(p, section, "keep", &w);
    s->where_keep = ddw_xstrdup(w);
    if (keep) {
        char *items[DDW_MAX_KEEP + 1];
        int n = split_list(keep, items, DDW_MAX_KEEP + 1);
        if (n > DDW_MAX_KEEP)
            perr(p, w, "[%s] keep: at most %d columns", section, DDW_MAX_KEEP);
        static const char *const reserved[] = {"key",       "source",   "row",
                                               "record_id", "person_id", "pnc_key"};
        for (int i = 0; i < n && i < DDW_MAX_KEEP; i++) {
            if (items[i][0] == '\0' || strchr(items[i], '/') || strcmp(items[i], ".") == 0)
                perr(p, w, "[%s] keep: '%s' cannot name a dataset (empty, '.' or contains '/')",
                     section, items[i]);
            for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
                if (strcmp(items[i], reserved[k]) == 0)
                    perr(p, w, "[%s] keep: '%s' is a reserved /records dataset name", section,
                         items[i]);
            s->keep[s->nkeep++] = ddw_xstrdup(items[i]);
        }
        free(keep);
    }
    char *ao = get_str(p, section, "attach_once", &w);
    if (ao && strcmp(ao, "yes") != 0 && strcmp(ao, "no") != 0)
        perr(p, w, "[%s] attach_once: '%s' is not yes or no", section, ao);
    s->attach_once = ao && strcmp(ao, "yes") == 0;
    free(ao);
    char *codes = get_str(p, section, "sex_codes", &w);
    if (codes) {
        char *items[DDW_MAX_SEXCODES + 1];
        int n = split_list(codes, items, DDW_MAX_SEXCODES + 1);
        if (n > DDW_MAX_SEXCODES)
            perr(p, w, "[%s] sex_codes: at most %d codes", section, DDW_MAX_SEXCODES);
        for (int i = 0; i < n && i < DDW_MAX_SEXCODES; i++) {
            char *eq = strchr(items[i], '=');
            char val = 0;
            if (eq) {
                *eq = '\0';
                const char *r = eq + 1;
                while (*r == ' ') r++;
                if (r[0] == 'M' && r[1] == '\0') val = 'M';
                else if (r[0] == 'F' && r[1] == '\0') val = 'F';
                else if (r[0] != '\0') eq = NULL;
            }
            if (eq == NULL) {
                perr(p, w, "[%s] sex_codes: '%s' is not CODE=M, CODE=F or CODE=", section,
                     items[i]);
                continue;
            }
            char norm[64];
            size_t len = 0;
            if (ddw_norm_text(items[i], strlen(items[i]), norm, sizeof norm, &len) != DDW_OK) {
                perr(p, w, "[%s] sex_codes: code '%s' is invalid", section, items[i]);
                continue;
            }
            s->sex_code[s->nsex] = ddw_xstrdup(norm);
            s->sex_value[s->nsex++] = val;
        }
        free(codes);
    }
}

static void parse_pass(parser *p, const char *section, ddw_pass_cfg *ps)
{
    const char *w;
    ps->name = ddw_xstrdup(section + strlen("blocking."));
    char *key = get_str(p, section, "key", &w);
    if (key == NULL)
        return;
    char *items[DDW_MAX_KEYPARTS + 1];
    int n = split_list(key, items, DDW_MAX_KEYPARTS + 1);
    if (n == 0 || n > DDW_MAX_KEYPARTS)
        perr(p, w, "[%s] key: give 1 to %d parts", section, DDW_MAX_KEYPARTS);
    static const char *const fnames[] = {"exact", "first", "soundex", "nysiis", "year",
                                         "initials"};
    for (int i = 0; i < n && i < DDW_MAX_KEYPARTS; i++) {
        char *open = strchr(items[i], '(');
        char *close = open ? strchr(open, ')') : NULL;
        char *fn, *arg;
        if (open == NULL && ddw_field_find(items[i]) >= 0) {
            fn = "exact"; /* a bare field name means exact(field) */
            arg = items[i];
        } else if (!open || !close || close[1] != '\0') {
            perr(p, w, "[%s] key: '%s' is not FUNC(FIELD) or a field name", section, items[i]);
            continue;
        } else {
            *open = '\0';
            *close = '\0';
            fn = items[i];
            arg = open + 1;
        }
        for (char *e = fn + strlen(fn); e > fn && e[-1] == ' ';)
            *--e = '\0';
        while (*arg == ' ') arg++;
        for (char *e = arg + strlen(arg); e > arg && e[-1] == ' ';) *--e = '\0';
        int func = -1;
        for (int k = 0; k < (int)(sizeof fnames / sizeof fnames[0]); k++)
            if (strcmp(fn, fnames[k]) == 0)
                func = k;
        if (func < 0) {
            perr(p, w, "[%s] key: unknown function '%s'", section, fn);
            continue;
        }
        ddw_keypart *kp = &ps->parts[ps->nparts++];
        kp->func = (ddw_bkfunc)func;
        kp->field = DDW_F_FORENAME_INITIAL;
        if (func == DDW_BK_INITIALS) {
            if (arg[0] != '\0')
                perr(p, w, "[%s] key: initials() takes no field", section);
            continue;
        }
        int f = ddw_field_find(arg);
        if (f < 0) {
            perr(p, w, "[%s] key: unknown field '%s'", section, arg);
            continue;
        }
        kp->field = (ddw_field)f;
        if (func == DDW_BK_YEAR && ddw_field_type_of(f) != DDW_FT_DATE)
            perr(p, w, "[%s] key: year() needs a date field", section);
        if ((func == DDW_BK_FIRST || func == DDW_BK_SOUNDEX || func == DDW_BK_NYSIIS) &&
            ddw_field_type_of(f) == DDW_FT_DATE)
            perr(p, w, "[%s] key: %s() needs a text field", section, fn);
    }
    free(key);
}

static int parse_probs(parser *p, const char *section, const char *key, double *out, int want)
{
    const char *w;
    char *v = get_str(p, section, key, &w);
    if (v == NULL)
        return 0;
    char *items[DDW_MAX_LEVELS + 1];
    int n = split_list(v, items, DDW_MAX_LEVELS + 1);
    int ok = 1;
    if (n != want) {
        perr(p, w, "[%s] %s: %d values for %d levels", section, key, n, want);
        ok = 0;
    }
    double sum = 0;
    for (int i = 0; i < n && i < want; i++) {
        char *end = NULL;
        double d = strtod(items[i], &end);
        if (end == items[i] || *end != '\0' || !(d > 0 && d <= 1)) {
            perr(p, w, "[%s] %s: '%s' is not a probability in (0, 1]", section, key, items[i]);
            ok = 0;
        }
        out[i] = d;
        sum += d;
    }
    if (ok && fabs(sum - 1.0) > 0.01) {
        perr(p, w, "[%s] %s: values sum to %.4f, not 1", section, key, sum);
        ok = 0;
    }
    free(v);
    return ok;
}

static void parse_compare(parser *p, const char *section, ddw_compare_cfg *c)
{
    const char *w;
    c->name = ddw_xstrdup(section + strlen("compare."));
    char *field = get_str(p, section, "field", &w);
    char *method = get_str(p, section, "method", NULL);
    const char *wm;
    value_of(p, section, "method", &wm);
    if (field) {
        int f = ddw_field_find(field);
        if (f < 0)
            perr(p, w, "[%s] field: unknown field '%s'", section, field);
        c->field = f < 0 ? DDW_F_FORENAME : (ddw_field)f;
    }
    c->method = -1;
    if (method) {
        c->method = ddw_compare_method_find(method);
        if (c->method < 0)
            perr(p, wm, "[%s] method: unknown method '%s'", section, method);
        else if (field && ddw_field_find(field) >= 0 &&
                 !(ddw_compare_method_at(c->method)->field_types &
                   (1u << ddw_field_type_of(c->field))))
            perr(p, wm, "[%s] method: '%s' cannot compare field '%s'", section, method, field);
    }
    free(field);
    free(method);
    char *levels = get_str(p, section, "levels", &w);
    if (levels == NULL || c->method < 0) {
        free(levels);
        return;
    }
    char *items[DDW_MAX_LEVELS + 1];
    int n = split_list(levels, items, DDW_MAX_LEVELS + 1);
    if (n < 2 || n > DDW_MAX_LEVELS)
        perr(p, w, "[%s] levels: give 2 to %d levels", section, DDW_MAX_LEVELS);
    for (int i = 0; i < n && i < DDW_MAX_LEVELS; i++) {
        /* spaces inside a level are insignificant: "jw >= 0.9" is "jw>=0.9" */
        char *d = items[i];
        for (char *q = items[i]; *q; q++)
            if (*q != ' ' && *q != '\t')
                *d++ = *q;
        *d = '\0';
        if (ddw_compare_parse_level(c->method, items[i], &c->levels[i]) != DDW_OK)
            perr(p, w, "[%s] levels: '%s' is not a level of method %s (%s)", section, items[i],
                 ddw_compare_method_at(c->method)->name,
                 ddw_compare_method_at(c->method)->levels_help);
        else if ((c->levels[i].kind == DDW_LV_ELSE) != (i == n - 1))
            perr(p, w, "[%s] levels: 'else' must be the last level, and only the last", section);
    }
    c->nlevels = n > DDW_MAX_LEVELS ? DDW_MAX_LEVELS : n;
    free(levels);
    const char *wv;
    const char *mv = value_of(p, section, "m", &wv);
    const char *uv = value_of(p, section, "u", &wv);
    c->m_given = mv && mv[0] && parse_probs(p, section, "m", c->m, c->nlevels);
    c->u_given = uv && uv[0] && parse_probs(p, section, "u", c->u, c->nlevels);
    if (!c->m_given && c->nlevels > 0) {
        /* EM's starting point: most matches agree at the first level */
        c->m[0] = c->nlevels > 1 ? 0.9 : 1.0;
        for (int l = 1; l < c->nlevels; l++)
            c->m[l] = 0.1 / (c->nlevels - 1);
    }
    if (!c->u_given && c->nlevels > 0) {
        c->u[c->nlevels - 1] = 0.9;
        for (int l = 0; l + 1 < c->nlevels; l++)
            c->u[l] = 0.1 / (c->nlevels > 1 ? c->nlevels - 1 : 1);
        if (c->nlevels == 1)
            c->u[0] = 1.0;
    }
    char *tf = get_str(p, section, "tf", &wv);
    if (tf && strcmp(tf, "yes") != 0 && strcmp(tf, "no") != 0)
        perr(p, wv, "[%s] tf: '%s' is not yes or no", section, tf);
    c->tf = tf && strcmp(tf, "yes") == 0;
    free(tf);
    c->tf_min = get_num(p, section, "tf_min");
    c->unless = 0;
    char *un = get_str(p, section, "unless", &wv);
    if (un && un[0]) {
        int uf = ddw_field_find(un);
        if (uf < 0)
            perr(p, wv, "[%s] unless: unknown field '%s'", section, un);
        c->unless = uf + 1;
    }
    free(un);
    if (c->tf && c->nlevels > 0 && c->levels[0].kind != DDW_LV_EXACT)
        perr(p, wv, "[%s] tf: the first level must be 'exact' for term-frequency adjustment",
             section);
}

/* Builds the "section.key = value" listing of every effective value. */
static char *build_effective(parser *p, char **sections, int nsec)
{
    size_t cap = 4096, len = 0;
    char *out = ddw_xmalloc(cap);
    out[0] = '\0';
    for (int s = 0; s < nsec; s++) {
        for (int k = 0; k < NKEYS; k++) {
            if (!section_matches(keys[k].section, sections[s]))
                continue;
            const char *w;
            const char *v = value_of(p, sections[s], keys[k].key, &w);
            if (v == NULL)
                continue;
            size_t need = strlen(sections[s]) + strlen(keys[k].key) + strlen(v) + 8;
            ddw_xgrow((void **)&out, &cap, len + need + 1, 1);
            len += (size_t)sprintf(out + len, "%s.%s = %s\n", sections[s], keys[k].key, v);
        }
    }
    return out;
}

ddw_status ddw_config_parse(const char *path, const char *text, int nset, char **set,
                            FILE *err, ddw_config **out)
{
    parser p = {0};
    p.last = -1;
    p.path = path;
    p.text = text;
    p.err = err;
    *out = NULL;
    int rc = ini_parse_stream(line_reader, &p, on_ini_entry, &p);
    if (rc != 0) {
        char *w = fmt_where(path, rc > 0 ? rc : 0);
        perr(&p, w, "syntax error (expected [section] or key = value)");
        free(w);
    }
    /* --set overrides */
    for (int i = 0; i < nset; i++) {
        char where[64];
        snprintf(where, sizeof where, "--set #%d", i + 1);
        char *a = ddw_xstrdup(set[i]);
        char *eq = strchr(a, '=');
        char *dot = NULL;
        if (eq) {
            *eq = '\0';
            dot = strrchr(a, '.');
        }
        if (!eq || !dot || dot == a || dot[1] == '\0') {
            perr(&p, where, "'%s' is not section.key=value", set[i]);
            free(a);
            continue;
        }
        *dot = '\0';
        char *val = eq + 1;
        while (*val == ' ') val++;
        entry *e = find_entry(&p, a, dot + 1);
        if (e) {
            free(e->value);
            free(e->where);
            e->value = ddw_xstrdup(val);
            e->where = ddw_xstrdup(where);
        } else {
            add_entry(&p, a, dot + 1, val, ddw_xstrdup(where));
        }
        free(a);
    }
    /* distinct sections in order of first appearance; unknown keys */
    char **sections = ddw_xmalloc((p.n + 6) * sizeof *sections);
    int nsec = 0;
    const char *fixed[] = {"run", "match", "block", "output", "train", "cluster"};
    for (int i = 0; i < 6; i++)
        sections[nsec++] = (char *)fixed[i];
    for (size_t i = 0; i < p.n; i++) {
        int known;
        if (find_keydef(p.e[i].section, p.e[i].key, &known) == NULL) {
            if (known)
                perr(&p, p.e[i].where, "[%s] %s: unknown key", p.e[i].section, p.e[i].key);
            else
                perr(&p, p.e[i].where,
                     "[%s]: unknown section (expected run, match, block, output, train, "
                     "cluster, source.NAME, blocking.NAME or compare.NAME)",
                     p.e[i].section);
            continue;
        }
        int seen = 0;
        for (int s = 0; s < nsec; s++)
            if (strcmp(sections[s], p.e[i].section) == 0)
                seen = 1;
        if (!seen)
            sections[nsec++] = p.e[i].section;
    }
    ddw_config *cfg = ddw_xcalloc(1, sizeof *cfg);
    cfg->path = ddw_xstrdup(path);
    cfg->text = ddw_xstrdup(text);
    cfg->run_name = get_str(&p, "run", "name", NULL);
    cfg->seed = (unsigned long long)get_num(&p, "run", "seed");
    cfg->threshold = get_num(&p, "match", "threshold");
    cfg->keep_edges_above = NAN;
    cfg->prior = get_num(&p, "match", "prior");
    cfg->max_block = (long long)get_num(&p, "block", "max_block_size");
    cfg->deflate = (int)get_num(&p, "output", "deflate");
    cfg->chunk = (long long)get_num(&p, "output", "chunk");
    cfg->sources = ddw_xcalloc((size_t)nsec, sizeof *cfg->sources);
    cfg->passes = ddw_xcalloc((size_t)nsec, sizeof *cfg->passes);
    cfg->compare = ddw_xcalloc((size_t)nsec, sizeof *cfg->compare);
    {
        const char *w;
        char *tr = get_str(&p, "train", "enabled", &w);
        if (tr && strcmp(tr, "yes") != 0 && strcmp(tr, "no") != 0)
            perr(&p, w, "[train] enabled: '%s' is not yes or no", tr);
        cfg->train = tr && strcmp(tr, "yes") == 0;
        free(tr);
        cfg->train_pairs = (long long)get_num(&p, "train", "pairs");
        cfg->train_u_records = (long long)get_num(&p, "train", "u_records");
        cfg->train_max_iter = (long long)get_num(&p, "train", "max_iter");
        cfg->train_tol = get_num(&p, "train", "tol");
        cfg->train_min_prob = get_num(&p, "train", "min_prob");
        char *rf = get_str(&p, "cluster", "refine", &w);
        if (rf && strcmp(rf, "none") == 0)
            cfg->refine = DDW_REFINE_NONE;
        else if (rf && strcmp(rf, "pnc") == 0)
            cfg->refine = DDW_REFINE_PNC;
        else if (rf && strcmp(rf, "pnc_dob") == 0)
            cfg->refine = DDW_REFINE_PNC_DOB;
        else if (rf)
            perr(&p, w, "[cluster] refine: '%s' is not none, pnc or pnc_dob", rf);
        free(rf);
    }
    for (int s = 6; s < nsec; s++) {
        const char *sec = sections[s];
        if (strncmp(sec, "source.", 7) == 0) {
            if (cfg->nsources == DDW_MAX_SOURCES)
                perr(&p, path, "at most %d sources", DDW_MAX_SOURCES);
            else
                parse_source(&p, sec, &cfg->sources[cfg->nsources++]);
        } else if (strncmp(sec, "blocking.", 9) == 0) {
            parse_pass(&p, sec, &cfg->passes[cfg->npasses++]);
        } else if (strncmp(sec, "compare.", 8) == 0) {
            if (cfg->ncompare == DDW_MAX_COMPARE)
                perr(&p, path, "at most %d comparisons", DDW_MAX_COMPARE);
            else
                parse_compare(&p, sec, &cfg->compare[cfg->ncompare++]);
        }
    }
    /* numeric keys of repeatable sections were validated above; now the
     * whole-config checks */
    for (size_t i = 0; i < p.n; i++) {
        int known;
        const keydef *kd = find_keydef(p.e[i].section, p.e[i].key, &known);
        if (kd && (kd->type == T_INT || kd->type == T_FLOAT || kd->type == T_PROB) &&
            strchr(kd->section, '*')) {
            double d;
            parse_number(&p, p.e[i].where, p.e[i].section, kd, p.e[i].value, &d);
        }
    }
    /* pass-through columns: at most DDW_MAX_KEEP distinct names over all sources */
    {
        const char *names[DDW_MAX_KEEP * DDW_MAX_SOURCES];
        int nk = 0;
        for (int i = 0; i < cfg->nsources; i++)
            for (int k = 0; k < cfg->sources[i].nkeep; k++) {
                int seen = 0;
                for (int j = 0; j < nk; j++)
                    seen |= strcmp(names[j], cfg->sources[i].keep[k]) == 0;
                if (!seen)
                    names[nk++] = cfg->sources[i].keep[k];
            }
        if (nk > DDW_MAX_KEEP)
            perr(&p, path, "keep: %d distinct pass-through columns over all sources; at most %d",
                 nk, DDW_MAX_KEEP);
    }
    if (cfg->nsources == 0)
        perr(&p, path, "no [source.NAME] section");
    if (cfg->npasses == 0)
        perr(&p, path, "no [blocking.NAME] section");
    if (cfg->ncompare == 0)
        perr(&p, path, "no [compare.NAME] section");
    if (!cfg->train)
        for (int c = 0; c < cfg->ncompare; c++)
            if (cfg->compare[c].method >= 0 && (!cfg->compare[c].m_given || !cfg->compare[c].u_given))
                perr(&p, path,
                     "[compare.%s]: m and u are required when train.enabled = no (or give "
                     "a trained model with link --model FILE)",
                     cfg->compare[c].name);
    for (int i = 0; i < cfg->nsources; i++)
        for (int j = 0; j < i; j++)
            if (cfg->sources[i].path && cfg->sources[j].path &&
                strcmp(cfg->sources[i].path, cfg->sources[j].path) == 0)
                perr(&p, cfg->sources[i].where_path,
                     "[source.%s] path: same file as source %s", cfg->sources[i].name,
                     cfg->sources[j].name);
    cfg->effective = build_effective(&p, sections, nsec);
    int nerr = p.nerr;
    for (size_t i = 0; i < p.n; i++) {
        free(p.e[i].section);
        free(p.e[i].key);
        free(p.e[i].value);
        free(p.e[i].where);
    }
    free(p.e);
    for (size_t i = 0; i < p.nsec; i++)
        free(p.sec_name[i]);
    free(p.sec_name);
    free(p.sec_line);
    free(sections);
    if (nerr) {
        ddw_config_destroy(&cfg);
        return DDW_ECONFIG;
    }
    *out = cfg;
    return DDW_OK;
}

void ddw_config_destroy(ddw_config **pcfg)
{
    if (pcfg == NULL || *pcfg == NULL)
        return;
    ddw_config *c = *pcfg;
    for (int i = 0; i < c->nsources; i++) {
        ddw_source_cfg *s = &c->sources[i];
        free(s->name);
        free(s->path);
        free(s->id_column);
        free(s->where_path);
        free(s->where_id);
        free(s->where_keep);
        for (int f = 0; f < DDW_NFIELDS; f++) {
            free(s->column[f]);
            free(s->date_format[f]);
            free(s->where[f]);
        }
        for (int k = 0; k < s->nkeep; k++)
            free(s->keep[k]);
        for (int k = 0; k < s->nsex; k++)
            free(s->sex_code[k]);
    }
    for (int i = 0; i < c->npasses; i++)
        free(c->passes[i].name);
    for (int i = 0; i < c->ncompare; i++)
        free(c->compare[i].name);
    free(c->sources);
    free(c->passes);
    free(c->compare);
    free(c->path);
    free(c->text);
    free(c->effective);
    free(c->run_name);
    free(c);
    *pcfg = NULL;
}

double ddw_config_edge_floor(const ddw_config *cfg)
{
    return !isnan(cfg->keep_edges_above) && cfg->keep_edges_above < cfg->threshold
               ? cfg->keep_edges_above
               : cfg->threshold;
}

double ddw_config_prior_weight(const ddw_config *cfg)
{
    return log2(cfg->prior / (1.0 - cfg->prior));
}

int ddw_config_source_has(const ddw_source_cfg *s, ddw_field f)
{
    if (s->column[f])
        return 1;
    if (f == DDW_F_FORENAME_INITIAL)
        return s->column[DDW_F_FORENAME] != NULL;
    if (f == DDW_F_SURNAME_INITIAL)
        return s->column[DDW_F_SURNAME] != NULL;
    return 0;
}

int ddw_config_warn(const ddw_config *cfg, FILE *out)
{
    int n = 0;
    for (int c = 0; c < cfg->ncompare; c++) {
        int k = 0;
        for (int s = 0; s < cfg->nsources; s++)
            k += ddw_config_source_has(&cfg->sources[s], cfg->compare[c].field);
        if (k == 0 || (k == 1 && cfg->nsources > 1)) {
            n++;
            if (out)
                fprintf(out, "ddwlink: warning: [compare.%s] field %s is mapped in %s; the "
                             "comparison only counts when both records have it\n",
                        cfg->compare[c].name, ddw_field_name(cfg->compare[c].field),
                        k ? "one source only" : "no source");
        }
    }
    for (int p = 0; p < cfg->npasses; p++)
        for (int s = 0; s < cfg->nsources; s++)
            for (int k = 0; k < cfg->passes[p].nparts; k++) {
                const ddw_keypart *kp = &cfg->passes[p].parts[k];
                int ok = kp->func == DDW_BK_INITIALS
                             ? ddw_config_source_has(&cfg->sources[s], DDW_F_FORENAME_INITIAL) &&
                                   ddw_config_source_has(&cfg->sources[s], DDW_F_SURNAME_INITIAL)
                             : ddw_config_source_has(&cfg->sources[s], kp->field);
                if (!ok) {
                    n++;
                    if (out)
                        fprintf(out, "ddwlink: note: [blocking.%s] source %s lacks field %s: "
                                     "its records get no key in this pass\n",
                                cfg->passes[p].name, cfg->sources[s].name,
                                kp->func == DDW_BK_INITIALS ? "initials"
                                                            : ddw_field_name(kp->field));
                    break;
                }
            }
    return n;
}

/* ---- model files ---------------------------------------------------------- */

typedef struct {
    const char *path;
    FILE *err;
    int n, bad;
    char **sets;
    char last_section[128], last_key[64];
} model_reader;

static int on_model_entry(void *user, const char *section, const char *name, const char *value)
{
    model_reader *m = user;
    if (name == NULL)
        return 1;
    int ok = (strcmp(section, "match") == 0 && strcmp(name, "prior") == 0) ||
             (strncmp(section, "compare.", 8) == 0 && section[8] &&
              (strcmp(name, "m") == 0 || strcmp(name, "u") == 0));
    if (!ok) {
        m->bad++;
        if (m->err)
            fprintf(m->err, "ddwlink: model error: %s: [%s] %s: a model file holds only "
                            "[match] prior and [compare.NAME] m and u\n",
                    m->path, section, name);
        return 1;
    }
    if (m->n > 0 && strcmp(m->last_section, section) == 0 && strcmp(m->last_key, name) == 0) {
        /* a continuation line of the same list */
        char *prev = m->sets[m->n - 1];
        size_t l = strlen(prev) + strlen(value) + 3;
        char *joined = ddw_xmalloc(l);
        snprintf(joined, l, "%s, %s", prev, value);
        free(prev);
        m->sets[m->n - 1] = joined;
        return 1;
    }
    m->sets = ddw_xrealloc(m->sets, (size_t)(m->n + 1) * sizeof *m->sets);
    size_t l = strlen(section) + strlen(name) + strlen(value) + 3;
    m->sets[m->n] = ddw_xmalloc(l);
    snprintf(m->sets[m->n], l, "%s.%s=%s", section, name, value);
    m->n++;
    snprintf(m->last_section, sizeof m->last_section, "%s", section);
    snprintf(m->last_key, sizeof m->last_key, "%s", name);
    return 1;
}

ddw_status ddw_config_model_sets(const char *path, const char *text, FILE *err, int *n,
                                 char ***sets)
{
    model_reader m = {path, err, 0, 0, NULL, "", ""};
    int rc = ini_parse_string(text, on_model_entry, &m);
    if (rc != 0) {
        m.bad++;
        if (err)
            fprintf(err, "ddwlink: model error: %s:%d: syntax error\n", path, rc > 0 ? rc : 0);
    }
    if (m.bad) {
        for (int i = 0; i < m.n; i++)
            free(m.sets[i]);
        free(m.sets);
        *n = 0;
        *sets = NULL;
        return DDW_ECONFIG;
    }
    *n = m.n;
    *sets = m.sets;
    return DDW_OK;
}
