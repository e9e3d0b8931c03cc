/*
 * generate.c - the synthetic Drug Data Warehouse: persons, life histories,
 * the records six extracts hold about them, recording errors and truth.
 *
 * Every random draw for person i comes from generators seeded by
 * (seed, i, stream), never from a shared generator, so a person's rows are
 * the same bytes however persons are split over ranks and threads; the
 * driver only has to concatenate blocks of persons in order.  The cases
 * where one person depends on another (a twin copies the previous person, a
 * namesake copies an earlier one) re-derive the other person's base
 * attributes from its own seed instead of sharing state.  Trade-off: rows
 * are written in person order rather than shuffled, which a linker must not
 * (and ddwlink does not) use; record IDs are a keyed bijection of
 * (person, source, event) so they reveal nothing and never collide.
 */
#include "ddw_generate.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddw_compare.h"
#include "ddw_csv.h"
#include "ddw_norm.h"

const char *const ddw_gen_error_names[DDW_GE_N] = {
    "typo_insert", "typo_delete", "typo_substitute", "typo_transpose", "typo_keyboard",
    "phonetic", "nickname", "name_swap", "double_barrelled", "surname_changed",
    "dob_swap", "dob_digit", "dob_placeholder", "missing_forename", "missing_surname",
    "missing_dob", "missing_sex", "missing_area", "sex_miscoded", "pnc_typo",
    "area_moved", "alias"};

static const char *const headers[DDW_GS_N + 2] = {
    "client_ref,forename_initial,surname_initial,dob,sex,dat,ethnicity,drug_group,"
    "triage_date,discharge_date,discharge_reason\n",
    "form_id,forename,surname,dob,sex,pnc_id,dat,contact_date,setting\n",
    "test_id,forename,surname,dob,sex,pnc_id,force,test_date,result\n",
    "assessment_id,forename,surname,dob,sex,pnc_id,setting,assessment_date\n",
    "record_id,pnc_id,forename,surname,dob,sex,offence_date,offence_code,trigger\n",
    "ppo_id,pnc_id,forename,surname,dob,start_date\n",
    "source,record_id,person,errors\n",
    "person,sex,dob,forename,surname,new_surname,surname_change_date,area,new_area,"
    "move_date,pnc_id,drug_group,twin_of,namesake_of,alias_forename,alias_surname,alias_dob\n"};

const char *ddw_gen_header(int k) { return headers[k]; }

/* ---- random numbers: splitmix64 streams keyed by (seed, person, stream) -- */

typedef struct {
    uint64_t s;
} rng;

enum { ST_BASE = 1, ST_FLAGS, ST_LIFE, ST_RECORD };

static rng rng_for(uint64_t seed, uint64_t person, uint64_t stream)
{
    rng r = {ddw_mix64(ddw_mix64(seed ^ UINT64_C(0x5851f42d4c957f2d)) ^
                       ddw_mix64(person * 8 + stream))};
    return r;
}

static inline uint64_t rnext(rng *r)
{
    r->s += UINT64_C(0x9e3779b97f4a7c15);
    return ddw_mix64(r->s);
}

static inline double runif(rng *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; }

static inline uint32_t rbelow(rng *r, uint32_t n)
{
    return (uint32_t)(((rnext(r) >> 32) * (uint64_t)n) >> 32);
}

static inline int rbern(rng *r, double p) { return runif(r) < p; }

/* 0, 1, 2, ... with mean 'mean' (geometric), capped. */
static int rgeom(rng *r, double mean, int cap)
{
    double q = mean / (1 + mean);
    int k = 0;
    while (k < cap && runif(r) < q)
        k++;
    return k;
}

static int rtable(rng *r, const ddw_gen_table *t)
{
    double x = runif(r) * t->cum[t->n - 1];
    int lo = 0, hi = t->n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (t->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- names -------------------------------------------------------------- */

typedef struct {
    int n;
    char **name;
    double *cum;
} namelist;

struct ddw_gen_names {
    namelist male, female, sur;
    /* nicknames: sorted by name for bsearch */
    int nnick;
    char **nick_name;
    char **nick_forms; /* "A|B|C" */
};

static void namelist_free(namelist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->name[i]);
    free(l->name);
    free(l->cum);
    memset(l, 0, sizeof *l);
}

/* Reads a CSV whose first column is a name and second a weight (or, with
 * weight_col < 0, a text kept in *forms). */
static ddw_status read_list(const char *path, FILE *err, namelist *l, char ***forms)
{
    char *text = NULL;
    if (ddw_read_file(path, &text, NULL) != DDW_OK) {
        if (err)
            fprintf(err, "ddwlink generate: error: cannot open name list '%s'\n", path);
        return DDW_EIO;
    }
    memset(l, 0, sizeof *l);
    size_t lcap = 0;
    int line = 0;
    char *save = NULL;
    for (char *row = strtok_r(text, "\r\n", &save); row; row = strtok_r(NULL, "\r\n", &save)) {
        if (line++ == 0)
            continue; /* header */
        char *c = strchr(row, ',');
        if (c == NULL || c == row) {
            if (err)
                fprintf(err, "ddwlink generate: error: %s:%d: expected name,value\n", path, line);
            free(text);
            namelist_free(l);
            return DDW_ECONFIG;
        }
        *c = '\0';
        char *val = c + 1;
        char *c2 = strchr(val, ',');
        if (c2)
            *c2 = '\0';
        ddw_xgrow((void **)&l->name, &lcap, (size_t)l->n + 1, sizeof *l->name);
        l->cum = ddw_xrealloc(l->cum, lcap * sizeof *l->cum);
        if (forms)
            *forms = ddw_xrealloc(*forms, lcap * sizeof **forms);
        for (char *q = row; *q; q++)
            *q = (char)toupper((unsigned char)*q);
        l->name[l->n] = ddw_xstrdup(row);
        if (forms) {
            for (char *q = val; *q; q++)
                *q = (char)toupper((unsigned char)*q);
            (*forms)[l->n] = ddw_xstrdup(val);
            l->cum[l->n] = l->n;
        } else {
            double w = strtod(val, NULL);
            l->cum[l->n] = (l->n ? l->cum[l->n - 1] : 0) + (w > 0 ? w : 0);
        }
        l->n++;
    }
    free(text);
    if (l->n == 0 || (!forms && l->cum[l->n - 1] <= 0)) {
        if (err)
            fprintf(err, "ddwlink generate: error: %s: no names with positive weights\n", path);
        namelist_free(l);
        return DDW_ECONFIG;
    }
    return DDW_OK;
}

static int cmp_nick(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

ddw_status ddw_gen_names_load(const ddw_gen_params *p, FILE *err, ddw_gen_names **out)
{
    ddw_gen_names *n = ddw_xcalloc(1, sizeof *n);
    ddw_status rc;
    namelist nick = {0};
    char **forms = NULL;
    if ((rc = read_list(p->forenames_male, err, &n->male, NULL)) != DDW_OK ||
        (rc = read_list(p->forenames_female, err, &n->female, NULL)) != DDW_OK ||
        (rc = read_list(p->surnames, err, &n->sur, NULL)) != DDW_OK ||
        (rc = read_list(p->nicknames, err, &nick, &forms)) != DDW_OK) {
        ddw_gen_names_free(&n);
        return rc;
    }
    /* sort (name, forms) pairs by name */
    char **pairs = ddw_xmalloc((size_t)nick.n * 2 * sizeof *pairs);
    for (int i = 0; i < nick.n; i++) {
        pairs[2 * i] = nick.name[i];
        pairs[2 * i + 1] = forms[i];
    }
    qsort(pairs, (size_t)nick.n, 2 * sizeof *pairs, cmp_nick);
    n->nnick = nick.n;
    n->nick_name = ddw_xmalloc((size_t)nick.n * sizeof(char *));
    n->nick_forms = ddw_xmalloc((size_t)nick.n * sizeof(char *));
    for (int i = 0; i < nick.n; i++) {
        n->nick_name[i] = pairs[2 * i];
        n->nick_forms[i] = pairs[2 * i + 1];
    }
    free(pairs);
    free(forms);
    free(nick.name);
    free(nick.cum);
    *out = n;
    return DDW_OK;
}

void ddw_gen_names_free(ddw_gen_names **pn)
{
    if (pn == NULL || *pn == NULL)
        return;
    ddw_gen_names *n = *pn;
    namelist_free(&n->male);
    namelist_free(&n->female);
    namelist_free(&n->sur);
    for (int i = 0; i < n->nnick; i++) {
        free(n->nick_name[i]);
        free(n->nick_forms[i]);
    }
    free(n->nick_name);
    free(n->nick_forms);
    free(n);
    *pn = NULL;
}

static int rname(rng *r, const namelist *l)
{
    double x = runif(r) * l->cum[l->n - 1];
    int lo = 0, hi = l->n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (l->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static const char *nick_forms(const ddw_gen_names *n, const char *name)
{
    int lo = 0, hi = n->nnick - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(n->nick_name[mid], name);
        if (c == 0)
            return n->nick_forms[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* ---- PNC IDs -------------------------------------------------------------- */

int ddw_gen_pnc_valid(const char *s)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != '/')
        return 0;
    unsigned yy = (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
    unsigned long serial = 0;
    int nd = 0;
    const char *q = s + 3;
    while (isdigit((unsigned char)*q) && nd < 8) {
        serial = serial * 10 + (unsigned long)(*q - '0');
        q++;
        nd++;
    }
    if (nd < 1 || nd > 7 || q[0] == '\0' || q[1] != '\0')
        return 0;
    return q[0] == ddw_compare_pnc_letter(yy, serial);
}

/* ---- persons ---------------------------------------------------------- */

typedef struct {
    uint64_t id;
    int female;
    int32_t dob;
    int eth, area, area2;
    int32_t move_day;  /* INT32_MAX: never moves */
    int fn, sn, sn2;
    int32_t change_day; /* INT32_MAX: keeps the surname */
    int drug, hc;
    unsigned pnc_yy;
    unsigned long pnc_serial;
    int has_pnc;
    int alias;          /* 0 none, 1 name, 2 dob */
    int alias_fn, alias_sn;
    int32_t alias_dob;
    int64_t twin_of, namesake_of;
} person;

enum { PT_TWIN, PT_NAMESAKE, PT_SURNAME_F, PT_SURNAME_M, PT_MOVE, PT_ALIAS, PT_N };
const char *const ddw_gen_person_change_names[DDW_GP_N] = {
    "twin", "namesake", "surname_change_female", "surname_change_male", "area_move", "alias"};

/* Base attributes of person i from its own stream only. */
static void person_base(const ddw_gen_params *p, const ddw_gen_names *nm, uint64_t seed,
                        uint64_t i, person *q)
{
    memset(q, 0, sizeof *q);
    rng r = rng_for(seed, i, ST_BASE);
    q->id = i;
    q->female = !rbern(&r, p->male);
    int band = rtable(&r, &p->age_bands);
    int lo = 18, hi = 74;
    sscanf(p->age_bands.label[band], "%d-%d", &lo, &hi);
    int age_days = lo * 365 + (int)rbelow(&r, (uint32_t)((hi - lo + 1) * 365));
    q->dob = p->age_reference - age_days - age_days / 1461; /* leap days, roughly */
    q->eth = rtable(&r, &p->ethnicity);
    q->area = rtable(&r, &p->areas);
    q->fn = rname(&r, q->female ? &nm->female : &nm->male);
    q->sn = rname(&r, &nm->sur);
    q->drug = rtable(&r, &p->drug_groups);
    q->hc = strcmp(p->drug_groups.extra[q->drug], "yes") == 0;
    q->twin_of = q->namesake_of = -1;
}

static void flags_of(const ddw_gen_params *p, uint64_t seed, uint64_t i, int *twin,
                     int *namesake, uint64_t *other)
{
    rng r = rng_for(seed, i, ST_FLAGS);
    *twin = rbern(&r, p->twin);
    *namesake = rbern(&r, p->namesake);
    *other = 1 + rbelow(&r, 5000);
}

/* Person i with its twin / namesake links resolved. */
static void person_make(const ddw_gen_params *p, const ddw_gen_names *nm, uint64_t seed,
                        uint64_t i, person *q, uint64_t *ptally)
{
    person_base(p, nm, seed, i, q);
    int twin, namesake, ptwin = 0, pnames = 0;
    uint64_t other, pother;
    flags_of(p, seed, i, &twin, &namesake, &other);
    if (i > 0)
        flags_of(p, seed, i - 1, &ptwin, &pnames, &pother);
    /* a twin copies an untouched base person; eligibility never depends
     * on this person's own draws, so applied / eligible estimates the rate */
    int twin_ok = i > 0 && !ptwin && !pnames;
    ptally[PT_TWIN * 2] += (uint64_t)twin_ok;
    if (twin_ok && twin) {
        person b;
        person_base(p, nm, seed, i - 1, &b);
        q->sn = b.sn;
        q->dob = b.dob;
        q->area = b.area;
        q->eth = b.eth;
        q->twin_of = (int64_t)(i - 1);
        ptally[PT_TWIN * 2 + 1]++;
    } else if (!(twin_ok && twin) && i >= other) {
        int t2, n2;
        uint64_t o2;
        flags_of(p, seed, i - other, &t2, &n2, &o2);
        person b;
        person_base(p, nm, seed, i - other, &b);
        if (!t2 && !n2 && b.female == q->female) {
            ptally[PT_NAMESAKE * 2]++;
            if (namesake) {
                q->fn = b.fn;
                q->sn = b.sn;
                q->dob = b.dob;
                q->namesake_of = (int64_t)(i - other);
                ptally[PT_NAMESAKE * 2 + 1]++;
            }
        }
    }
    /* person-level changes over time, from the life stream */
    rng r = rng_for(seed, i, ST_FLAGS + 16);
    int32_t span = p->window_end - p->window_start + 1;
    q->change_day = q->move_day = INT32_MAX;
    int pt = q->female ? PT_SURNAME_F : PT_SURNAME_M;
    ptally[pt * 2]++;
    if (rbern(&r, q->female ? p->surname_change_female : p->surname_change_male)) {
        q->sn2 = rname(&r, &nm->sur);
        q->change_day = p->window_start + (int32_t)rbelow(&r, (uint32_t)span);
        ptally[pt * 2 + 1]++;
    }
    ptally[PT_MOVE * 2]++;
    if (rbern(&r, p->area_move)) {
        q->area2 = (q->area + 1 + (int)rbelow(&r, (uint32_t)p->areas.n - 1)) % p->areas.n;
        q->move_day = p->window_start + (int32_t)rbelow(&r, (uint32_t)span);
        ptally[PT_MOVE * 2 + 1]++;
    }
    int by, bm, bd;
    ddw_norm_civil_from_days(q->dob, &by, &bm, &bd);
    int first = by + 14 < 1975 ? 1975 : by + 14;
    if (first > 2008)
        first = 2008;
    q->pnc_yy = (unsigned)(first + (int)rbelow(&r, (uint32_t)(2009 - first))) % 100;
    /* a bijection of the person number onto 1..9,999,999: unique serials */
    q->pnc_serial = (unsigned long)((i * UINT64_C(7654321) + (seed % 9999999)) % 9999999) + 1;
    q->alias_fn = rname(&r, q->female ? &nm->female : &nm->male);
    q->alias_sn = rname(&r, &nm->sur);
    q->alias_dob = q->dob + (rbern(&r, 0.5) ? 1 : -1) * (int32_t)(1 + rbelow(&r, 800));
    q->alias = rbern(&r, p->alias) ? (rbern(&r, p->alias_dob_share) ? 2 : 1) : 0;
}

/* ---- small text helpers ------------------------------------------------- */

typedef struct {
    char *b;
    size_t len, cap;
} sbuf;

static inline void sb_need(sbuf *s, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2 + 4096;
        s->b = ddw_xrealloc(s->b, s->cap);
    }
}

static inline void sb_put(sbuf *s, const char *t, size_t n)
{
    sb_need(s, n);
    memcpy(s->b + s->len, t, n);
    s->len += n;
}

static inline void sb_str(sbuf *s, const char *t) { sb_put(s, t, strlen(t)); }
static inline void sb_ch(sbuf *s, char c) { sb_put(s, &c, 1); }

/* A CSV field, quoted if it holds a comma, quote or line break. */
static void sb_field(sbuf *s, const char *t)
{
    if (strpbrk(t, ",\"\r\n") == NULL) {
        sb_str(s, t);
        return;
    }
    sb_ch(s, '"');
    for (; *t; t++) {
        if (*t == '"')
            sb_ch(s, '"');
        sb_ch(s, *t);
    }
    sb_ch(s, '"');
}

static void sb_u64(sbuf *s, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sb_need(s, (size_t)n);
    while (n)
        s->b[s->len++] = t[--n];
}

static void sb_2(sbuf *s, int v)
{
    char t[2] = {(char)('0' + v / 10 % 10), (char)('0' + v % 10)};
    sb_put(s, t, 2);
}

/* Date in a format of %d %m %Y %y and literal characters. */
static void sb_date(sbuf *s, int32_t day, const char *fmt)
{
    int y, m, d;
    ddw_norm_civil_from_days(day, &y, &m, &d);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%' || f[1] == '\0') {
            sb_ch(s, *f);
            continue;
        }
        f++;
        if (*f == 'd')
            sb_2(s, d);
        else if (*f == 'm')
            sb_2(s, m);
        else if (*f == 'y')
            sb_2(s, y % 100);
        else if (*f == 'Y') {
            sb_2(s, y / 100);
            sb_2(s, y % 100);
        } else
            sb_ch(s, *f);
    }
}

/* Name as the source writes it: upper case, or title case after '-', ' ', '\''. */
static void sb_name(sbuf *s, const char *n, int title)
{
    size_t l = strlen(n);
    sb_need(s, l);
    int start = 1;
    for (size_t i = 0; i < l; i++) {
        char c = n[i];
        if (title && !start && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        start = c == '-' || c == ' ' || c == '\'';
        s->b[s->len++] = c;
    }
}

/* ---- recording errors --------------------------------------------------- */

typedef struct {
    char fn[96], sn[160];
    int32_t dob;
    int dob_missing, sex, area; /* sex 0 M 1 F 2 missing; area -1 missing */
    char pnc[16];
    uint8_t err[DDW_GE_N]; /* times each error was applied */
} grec;

typedef struct {
    const ddw_gen_params *p;
    const ddw_gen_names *nm;
    ddw_gen_out *out;
    int src;
    double scale;
    rng *r;
    grec *rec;
} ectx;

/* One Bernoulli trial for error e on an eligible field: tallied. */
static int trial(ectx *c, int e, double rate)
{
    c->out->eligible[c->src][e]++;
    double pr = rate * c->scale;
    if (runif(c->r) < (pr > 1 ? 1 : pr)) {
        c->out->applied[c->src][e]++;
        c->rec->err[e]++;
        return 1;
    }
    return 0;
}

static const char *const kb_rows[] = {"QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"};

static char kb_neighbour(rng *r, char ch)
{
    for (int row = 0; row < 3; row++) {
        const char *p = strchr(kb_rows[row], ch);
        if (p == NULL)
            continue;
        int col = (int)(p - kb_rows[row]), len = (int)strlen(kb_rows[row]);
        char cand[4];
        int n = 0;
        if (col > 0)
            cand[n++] = kb_rows[row][col - 1];
        if (col + 1 < len)
            cand[n++] = kb_rows[row][col + 1];
        if (row > 0 && col < (int)strlen(kb_rows[row - 1]))
            cand[n++] = kb_rows[row - 1][col];
        if (row < 2 && col < (int)strlen(kb_rows[row + 1]))
            cand[n++] = kb_rows[row + 1][col];
        return cand[rbelow(r, (uint32_t)n)];
    }
    return ch;
}

/* One typing error of the given kind (0..4) in name s (length >= 2). */
static void typo(rng *r, char *s, size_t cap, int kind)
{
    size_t l = strlen(s);
    size_t pos = rbelow(r, (uint32_t)l);
    char letter = (char)('A' + rbelow(r, 26));
    switch (kind) {
    case 0: /* insert */
        if (l + 2 > cap)
            return;
        memmove(s + pos + 1, s + pos, l - pos + 1);
        s[pos] = letter;
        break;
    case 1: /* delete */
        memmove(s + pos, s + pos + 1, l - pos);
        break;
    case 2: /* substitute */
        if (letter == s[pos])
            letter = letter == 'Z' ? 'A' : (char)(letter + 1);
        s[pos] = letter;
        break;
    case 3: /* transpose with the next letter (different letters) */
        if (pos + 1 >= l)
            pos = l - 2;
        {
            char t = s[pos];
            s[pos] = s[pos + 1];
            s[pos + 1] = t;
            if (s[pos] == s[pos + 1] && s[pos] != 'X')
                s[pos] = 'X';
        }
        break;
    default: /* keyboard neighbour */
        s[pos] = kb_neighbour(r, s[pos]);
        break;
    }
}

static const char *const phon[][2] = {
    {"PH", "F"}, {"F", "PH"},  {"CK", "K"},  {"Y", "I"},   {"I", "Y"},   {"EE", "EA"},
    {"EA", "EE"}, {"OU", "OW"}, {"TH", "T"}, {"C", "K"},   {"K", "C"},   {"Z", "S"},
    {"S", "Z"},  {"IE", "Y"},  {"EY", "IE"}, {"MAC", "MC"}, {"MC", "MAC"}, {"LL", "L"},
    {"NN", "N"}, {"TT", "T"},  {"AE", "A"},  {"OO", "U"},  {"EI", "IE"}, {"GH", "G"}};
#define NPHON (int)(sizeof phon / sizeof phon[0])

/* A phonetic re-spelling of s, if one of the rules applies (s[0] kept). */
static int phonetic(rng *r, char *s, size_t cap)
{
    int cand[NPHON];
    const char *where[NPHON];
    int n = 0;
    for (int k = 0; k < NPHON; k++) {
        const char *w = strstr(s + 1, phon[k][0]);
        if (strcmp(phon[k][0], "MAC") == 0 || strcmp(phon[k][0], "MC") == 0)
            w = strncmp(s, phon[k][0], strlen(phon[k][0])) == 0 ? s : NULL;
        if (w) {
            cand[n] = k;
            where[n++] = w;
        }
    }
    if (n == 0)
        return 0;
    int j = (int)rbelow(r, (uint32_t)n);
    const char *from = phon[cand[j]][0], *to = phon[cand[j]][1];
    size_t l = strlen(s), lf = strlen(from), lt = strlen(to);
    if (l - lf + lt + 1 > cap)
        return 0;
    size_t pos = (size_t)(where[j] - s);
    memmove(s + pos + lt, s + pos + lf, l - pos - lf + 1);
    memcpy(s + pos, to, lt);
    return 1;
}

static int32_t dob_digit_error(rng *r, int32_t dob)
{
    int y, m, d;
    ddw_norm_civil_from_days(dob, &y, &m, &d);
    for (int tries = 0; tries < 16; tries++) {
        int ny = y, nm = m, nd = d;
        int which = (int)rbelow(r, 5);
        int nv = (int)rbelow(r, 10);
        if (which == 0)
            nd = (nd / 10) * 10 + nv;
        else if (which == 1)
            nd = nv * 10 + nd % 10;
        else if (which == 2)
            nm = (nm / 10) * 10 + nv;
        else if (which == 3)
            ny = (ny / 10) * 10 + nv;
        else
            ny = (ny / 100) * 100 + nv * 10 + ny % 10;
        if (nd < 1 || nm < 1 || nm > 12 || nd > 31 || (nd == d && nm == m && ny == y))
            continue;
        int32_t t = ddw_norm_days_from_civil(ny, nm, nd);
        int cy, cm, cd;
        ddw_norm_civil_from_days(t, &cy, &cm, &cd);
        if (cy == ny && cm == nm && cd == nd && ny > 1900 && ny < 2009)
            return t;
    }
    return dob + 1; /* extremely rare: a one-day error */
}

/* Builds the record a source holds about person q on day 'day'. */
static void make_record(ectx *c, const person *q, int32_t day, int has_pnc_col, int use_alias)
{
    const ddw_gen_params *p = c->p;
    const ddw_gen_names *nm = c->nm;
    grec *rec = c->rec;
    rng *r = c->r;
    memset(rec, 0, sizeof *rec);
    /* errors only in fields the source holds */
    const int has_sex = c->src != DDW_GS_PPO;
    const int has_area = c->src == DDW_GS_NDTMS || c->src == DDW_GS_DIP;
    const namelist *fl = q->female ? &nm->female : &nm->male;
    int alias_name = use_alias && q->alias == 1, alias_dob = use_alias && q->alias == 2;
    if (use_alias)
        rec->err[DDW_GE_ALIAS]++;
    snprintf(rec->fn, sizeof rec->fn, "%s", fl->name[alias_name ? q->alias_fn : q->fn]);
    int sn = alias_name ? q->alias_sn : q->sn;
    if (!alias_name && day >= q->change_day) {
        sn = q->sn2;
        rec->err[DDW_GE_SURNAME_CHANGED]++;
    }
    snprintf(rec->sn, sizeof rec->sn, "%s", nm->sur.name[sn]);
    rec->dob = alias_dob ? q->alias_dob : q->dob;
    rec->sex = q->female;
    rec->area = q->area;
    if (day >= q->move_day) {
        rec->area = q->area2;
        rec->err[DDW_GE_AREA_MOVED]++;
    }
    if (has_pnc_col && q->has_pnc && rbern(r, p->src[c->src].pnc_present))
        snprintf(rec->pnc, sizeof rec->pnc, "%02u/%lu%c", q->pnc_yy, q->pnc_serial,
                 ddw_compare_pnc_letter(q->pnc_yy, q->pnc_serial));
    /* names */
    const char *forms = nick_forms(nm, rec->fn);
    if (forms && trial(c, DDW_GE_NICKNAME, p->nickname)) {
        int nf = 1;
        for (const char *t = forms; *t; t++)
            nf += *t == '|';
        int k = (int)rbelow(r, (uint32_t)nf);
        const char *t = forms;
        while (k--)
            t = strchr(t, '|') + 1;
        size_t l = strcspn(t, "|");
        snprintf(rec->fn, sizeof rec->fn, "%.*s", (int)l, t);
    }
    if (trial(c, DDW_GE_PHONETIC, p->phonetic)) {
        /* surname or forename, whichever the rule fits; tally stays */
        char *tgt = rbern(r, 0.5) ? rec->sn : rec->fn;
        if (!phonetic(r, tgt, tgt == rec->sn ? sizeof rec->sn : sizeof rec->fn) &&
            !phonetic(r, tgt == rec->sn ? rec->fn : rec->sn,
                      tgt == rec->sn ? sizeof rec->fn : sizeof rec->sn))
            typo(r, rec->sn, sizeof rec->sn, 2); /* no rule fits either name */
    }
    for (int f = 0; f < 2; f++) {
        char *s = f ? rec->sn : rec->fn;
        if (strlen(s) < 2)
            continue;
        /* one trial per field; the kind is drawn after */
        for (int k = 0; k < 5; k++)
            c->out->eligible[c->src][DDW_GE_TYPO_INSERT + k]++;
        double pr = p->typo * c->scale;
        if (runif(r) < (pr > 1 ? 1 : pr)) {
            int kind = rtable(r, &p->typo_kinds);
            typo(r, s, f ? sizeof rec->sn : sizeof rec->fn, kind);
            c->out->applied[c->src][DDW_GE_TYPO_INSERT + kind]++;
            rec->err[DDW_GE_TYPO_INSERT + kind]++;
        }
    }
    if (trial(c, DDW_GE_DOUBLE_BARRELLED, p->double_barrelled)) {
        size_t l = strlen(rec->sn);
        snprintf(rec->sn + l, sizeof rec->sn - l, "-%s", nm->sur.name[rname(r, &nm->sur)]);
    }
    if (trial(c, DDW_GE_NAME_SWAP, p->name_swap)) {
        char t[sizeof rec->sn];
        memcpy(t, rec->sn, sizeof t);
        memcpy(rec->sn, rec->fn, sizeof rec->fn);
        size_t l = strnlen(t, sizeof rec->fn - 1);
        memcpy(rec->fn, t, l);
        rec->fn[l] = '\0';
    }
    /* date of birth: at most one of swap, digit, placeholder */
    int y, m, d;
    ddw_norm_civil_from_days(rec->dob, &y, &m, &d);
    if (d <= 12 && d != m && trial(c, DDW_GE_DOB_SWAP, p->dob_swap))
        rec->dob = ddw_norm_days_from_civil(y, d, m);
    else if (!rec->err[DDW_GE_DOB_SWAP] && trial(c, DDW_GE_DOB_DIGIT, p->dob_digit))
        rec->dob = dob_digit_error(r, rec->dob);
    else if (!rec->err[DDW_GE_DOB_SWAP] && !rec->err[DDW_GE_DOB_DIGIT] && !(d == 1 && m == 1) &&
             trial(c, DDW_GE_DOB_PLACEHOLDER, p->dob_placeholder))
        rec->dob = ddw_norm_days_from_civil(y, 1, 1);
    if (has_sex && trial(c, DDW_GE_SEX_MISCODED, p->sex_miscoded))
        rec->sex = 1 - rec->sex;
    if (rec->pnc[0] && trial(c, DDW_GE_PNC_TYPO, p->pnc_typo)) {
        size_t l = strlen(rec->pnc);
        size_t pos = rbelow(r, (uint32_t)l);
        if (rec->pnc[pos] == '/')
            pos++;
        char ch = rec->pnc[pos];
        if (ch >= '0' && ch <= '9')
            rec->pnc[pos] = (char)('0' + (ch - '0' + 1 + (int)rbelow(r, 9)) % 10);
        else
            rec->pnc[pos] = ch == 'Z' ? 'A' : (char)(ch + 1);
    }
    /* missing values last, so they win */
    if (trial(c, DDW_GE_MISSING_FORENAME, p->missing_forename))
        rec->fn[0] = '\0';
    if (trial(c, DDW_GE_MISSING_SURNAME, p->missing_surname))
        rec->sn[0] = '\0';
    if (trial(c, DDW_GE_MISSING_DOB, p->missing_dob))
        rec->dob_missing = 1;
    if (has_sex && trial(c, DDW_GE_MISSING_SEX, p->missing_sex))
        rec->sex = 2;
    if (has_area && trial(c, DDW_GE_MISSING_AREA, p->missing_area))
        rec->area = -1;
}

/* ---- output rows -------------------------------------------------------- */

static const char src_prefix[DDW_GS_N] = {'N', 'D', 'T', 'O', 'C', 'P'};

/* Record ID: a keyed bijection of (person, source, event number). */
static void record_id(char out[20], uint64_t seed, uint64_t who, int src, int k)
{
    uint64_t key = (who << 16) | ((uint64_t)src << 12) | (uint64_t)(k & 0xfff);
    uint64_t v = ddw_mix64(key ^ ddw_mix64(seed + 0x1234567));
    static const char hex[] = "0123456789ABCDEF";
    out[0] = src_prefix[src];
    for (int i = 0; i < 16; i++)
        out[1 + i] = hex[(v >> (60 - 4 * i)) & 15];
    out[17] = '\0';
}

typedef struct {
    ddw_gen_out *o;
    sbuf sb[DDW_GS_N + 2];
} writer;

static void common_fields(const ddw_gen_params *p, int src, const grec *rec,
                          sbuf *s, int initials)
{
    int title = strcmp(p->src[src].name_case, "title") == 0;
    if (initials) {
        if (rec->fn[0])
            sb_ch(s, rec->fn[0]);
        sb_ch(s, ',');
        if (rec->sn[0])
            sb_ch(s, rec->sn[0]);
    } else {
        sb_name(s, rec->fn, title);
        sb_ch(s, ',');
        sb_name(s, rec->sn, title);
    }
    sb_ch(s, ',');
    if (!rec->dob_missing)
        sb_date(s, rec->dob, p->src[src].dob_format);
    sb_ch(s, ',');
    sb_field(s, p->src[src].sex_code[rec->sex]);
}

static void truth_row(writer *w, int src, const char *id, uint64_t who, const uint8_t *err)
{
    sbuf *t = &w->sb[DDW_GEN_TRUTH];
    sb_str(t, ddw_gen_source_names[src]);
    sb_ch(t, ',');
    sb_str(t, id);
    sb_str(t, ",P");
    sb_u64(t, who);
    sb_ch(t, ',');
    int first = 1;
    for (int e = 0; e < DDW_GE_N; e++)
        for (int k = 0; k < err[e]; k++) {
            if (!first)
                sb_ch(t, '|');
            sb_str(t, ddw_gen_error_names[e]);
            first = 0;
        }
    sb_ch(t, '\n');
}

static void begin_row(writer *w, const ddw_gen_params *p, ectx *c, const person *q, int src,
                      int k, int32_t day, int pnc_col, int use_alias, uint64_t seed, char *id)
{
    c->src = src;
    c->scale = p->src[src].error_scale;
    make_record(c, q, day, pnc_col, use_alias);
    record_id(id, seed, q->id, src, k);
    w->o->records[src]++;
    truth_row(w, src, id, q->id, c->rec->err);
}


static void gen_person(const ddw_gen_params *p, const ddw_gen_names *nm, uint64_t seed,
                       uint64_t i, int with_persons, writer *w, uint64_t *ptally)
{
    person q;
    person_make(p, nm, seed, i, &q, ptally);
    rng life = rng_for(seed, i, ST_LIFE);
    rng recr = rng_for(seed, i, ST_RECORD);
    grec rec;
    ectx c = {p, nm, w->o, 0, 1.0, &recr, &rec};
    const int32_t W0 = p->window_start, W1 = p->window_end;
    const uint32_t span = (uint32_t)(W1 - W0 + 1);
    char id[20];
    uint64_t *fig = w->o->fig;
    fig[DDW_GF_PERSONS]++;
    uint64_t before = 0;
    for (int k = 0; k < DDW_GS_N; k++)
        before += w->o->records[k];

    double u = runif(&life);
    int cj = u >= p->treatment_only;                /* cj_only or both */
    int tx = u < p->treatment_only || u >= p->treatment_only + p->cj_only;
    /* ---- treatment episodes */
    if (tx) {
        fig[DDW_GF_TX]++;
        fig[DDW_GF_TX_HC] += (uint64_t)q.hc;
        int32_t t = W0 + (int32_t)rbelow(&life, span);
        int first_discharge = 1;
        for (int k = 0; k < 40 && t <= W1; k++) {
            int32_t dis = t + 1 + (int32_t)(-log(1 - runif(&life)) * p->episode_days_mean);
            int open = dis > W1;
            int reason = rtable(&life, &p->discharge_reasons);
            int32_t next = INT32_MAX;
            if (!open) {
                if (rbern(&life, p->represent_12m))
                    next = dis + 1 + (int32_t)rbelow(&life, 365);
                else if (rbern(&life, p->represent_later))
                    next = dis + 366 + (int32_t)rbelow(&life, 730);
                if (first_discharge && dis <= W1 - 365) {
                    fig[DDW_GF_DIS_ELIG]++;
                    fig[DDW_GF_DIS_REP] += (uint64_t)(next <= dis + 365);
                }
                first_discharge = 0;
            }
            begin_row(w, p, &c, &q, DDW_GS_NDTMS, k, t, 0, 0, seed, id);
            sbuf *s = &w->sb[DDW_GS_NDTMS];
            sb_str(s, id);
            sb_ch(s, ',');
            common_fields(p, DDW_GS_NDTMS, &rec, s, 1);
            sb_ch(s, ',');
            if (rec.area >= 0)
                sb_field(s, p->areas.label[rec.area]);
            sb_ch(s, ',');
            sb_field(s, p->ethnicity.label[q.eth]);
            sb_ch(s, ',');
            sb_field(s, p->drug_groups.label[q.drug]);
            sb_ch(s, ',');
            sb_date(s, t, p->src[DDW_GS_NDTMS].date_format);
            sb_ch(s, ',');
            if (!open)
                sb_date(s, dis, p->src[DDW_GS_NDTMS].date_format);
            sb_ch(s, ',');
            if (!open)
                sb_field(s, p->discharge_reasons.label[reason]);
            sb_ch(s, '\n');
            t = next;
        }
    }
    /* ---- criminal-justice sources */
    if (cj) {
        q.has_pnc = rbern(&life, p->pnc_known);
        int dip = rbern(&life, q.hc ? p->dip_rate_hc : p->dip_rate_other);
        int test = rbern(&life, q.hc ? p->test_rate_hc : p->test_rate_other);
        int oasys = rbern(&life, q.hc ? p->oasys_rate_hc : p->oasys_rate_other);
        if (!q.has_pnc && !dip && !test && !oasys)
            q.has_pnc = 1; /* justice contact means at least one record */
        int ppo = q.has_pnc && rbern(&life, p->ppo_rate);
        fig[DDW_GF_CJ]++;
        fig[DDW_GF_CJ_NO_TX] += (uint64_t)!tx;
        if (dip) {
            fig[DDW_GF_DIP]++;
            fig[DDW_GF_DIP_HC] += (uint64_t)q.hc;
            int n = 1 + rgeom(&life, p->dip_extra_mean, 30);
            for (int k = 0; k < n; k++) {
                int32_t t = W0 + (int32_t)rbelow(&life, span);
                int setting = rtable(&life, &p->dip_setting);
                begin_row(w, p, &c, &q, DDW_GS_DIP, k, t, 1, 0, seed, id);
                sbuf *s = &w->sb[DDW_GS_DIP];
                sb_str(s, id);
                sb_ch(s, ',');
                common_fields(p, DDW_GS_DIP, &rec, s, 0);
                sb_ch(s, ',');
                sb_str(s, rec.pnc);
                sb_ch(s, ',');
                if (rec.area >= 0)
                    sb_field(s, p->areas.label[rec.area]);
                sb_ch(s, ',');
                sb_date(s, t, p->src[DDW_GS_DIP].date_format);
                sb_ch(s, ',');
                sb_field(s, p->dip_setting.label[setting]);
                sb_ch(s, '\n');
            }
        }
        if (test) {
            /* a positive test is followed, with retest_positive_12m, by
             * another positive within 12 months; otherwise perhaps by a test
             * of any result 1-3 years on.  A negative may be followed by a
             * test within 2 years. */
            int32_t t = W0 + (int32_t)rbelow(&life, span);
            int first_pos = 1, force_pos = 0;
            for (int k = 0; k < 60 && t <= W1; k++) {
                int neg = force_pos ? 0 : rbern(&life, p->test_negative);
                const ddw_gen_table *rt = q.hc ? &p->result_hc : &p->result_other;
                int res = rtable(&life, rt);
                int32_t next = INT32_MAX;
                force_pos = 0;
                if (!neg) {
                    if (rbern(&life, p->retest_12m)) {
                        next = t + 1 + (int32_t)rbelow(&life, 365);
                        force_pos = 1;
                    } else if (rbern(&life, p->retest_later)) {
                        next = t + 366 + (int32_t)rbelow(&life, 730);
                    }
                    if (first_pos && t <= W1 - 365) {
                        fig[DDW_GF_POS_ELIG]++;
                        fig[DDW_GF_POS_AGAIN] += (uint64_t)(next <= t + 365);
                    }
                    first_pos = 0;
                } else if (rbern(&life, p->retest_after_negative)) {
                    next = t + 1 + (int32_t)rbelow(&life, 730);
                }
                int area = t >= q.move_day ? q.area2 : q.area;
                begin_row(w, p, &c, &q, DDW_GS_TESTS, k, t, 1, 0, seed, id);
                sbuf *s = &w->sb[DDW_GS_TESTS];
                sb_str(s, id);
                sb_ch(s, ',');
                common_fields(p, DDW_GS_TESTS, &rec, s, 0);
                sb_ch(s, ',');
                sb_str(s, rec.pnc);
                sb_ch(s, ',');
                sb_field(s, p->areas.extra[area]);
                sb_ch(s, ',');
                sb_date(s, t, p->src[DDW_GS_TESTS].date_format);
                sb_ch(s, ',');
                sb_field(s, neg ? "Negative" : rt->label[res]);
                sb_ch(s, '\n');
                t = next;
            }
        }
        if (oasys) {
            fig[DDW_GF_OASYS]++;
            fig[DDW_GF_OASYS_HC] += (uint64_t)q.hc;
            int n = 1 + rgeom(&life, p->oasys_extra_mean, 20);
            for (int k = 0; k < n; k++) {
                int32_t t = W0 + (int32_t)rbelow(&life, span);
                int setting = rtable(&life, &p->oasys_setting);
                begin_row(w, p, &c, &q, DDW_GS_OASYS, k, t, 1, 0, seed, id);
                sbuf *s = &w->sb[DDW_GS_OASYS];
                sb_str(s, id);
                sb_ch(s, ',');
                common_fields(p, DDW_GS_OASYS, &rec, s, 0);
                sb_ch(s, ',');
                sb_str(s, rec.pnc);
                sb_ch(s, ',');
                sb_field(s, p->oasys_setting.label[setting]);
                sb_ch(s, ',');
                sb_date(s, t, p->src[DDW_GS_OASYS].date_format);
                sb_ch(s, '\n');
            }
        }
        if (q.has_pnc) {
            fig[DDW_GF_PNC]++;
            ptally[PT_ALIAS * 2]++;
            ptally[PT_ALIAS * 2 + 1] += (uint64_t)(q.alias != 0);
            int n = 1 + rgeom(&life, p->offences_extra_mean, 60);
            for (int k = 0; k < n; k++) {
                int32_t t = W0 + (int32_t)rbelow(&life, span);
                int off = rtable(&life, &p->offences);
                int use_alias = q.alias && rbern(&life, p->alias_use);
                begin_row(w, p, &c, &q, DDW_GS_PNC, k, t, 1, use_alias, seed, id);
                sbuf *s = &w->sb[DDW_GS_PNC];
                sb_str(s, id);
                sb_ch(s, ',');
                sb_str(s, rec.pnc);
                sb_ch(s, ',');
                common_fields(p, DDW_GS_PNC, &rec, s, 0);
                sb_ch(s, ',');
                sb_date(s, t, p->src[DDW_GS_PNC].date_format);
                sb_ch(s, ',');
                sb_field(s, p->offences.label[off]);
                sb_ch(s, ',');
                sb_str(s, strcmp(p->offences.extra[off], "yes") == 0 ? "Y" : "N");
                sb_ch(s, '\n');
            }
        }
        if (ppo) {
            fig[DDW_GF_PPO]++;
            int32_t t = W0 + (int32_t)rbelow(&life, span);
            begin_row(w, p, &c, &q, DDW_GS_PPO, 0, t, 1, 0, seed, id);
            sbuf *s = &w->sb[DDW_GS_PPO];
            sb_str(s, id);
            sb_ch(s, ',');
            sb_str(s, rec.pnc);
            sb_ch(s, ',');
            int title = strcmp(p->src[DDW_GS_PPO].name_case, "title") == 0;
            sb_name(s, rec.fn, title);
            sb_ch(s, ',');
            sb_name(s, rec.sn, title);
            sb_ch(s, ',');
            if (!rec.dob_missing)
                sb_date(s, rec.dob, p->src[DDW_GS_PPO].dob_format);
            sb_ch(s, ',');
            sb_date(s, t, p->src[DDW_GS_PPO].date_format);
            sb_ch(s, '\n');
        }
    }
    uint64_t mine = 0;
    for (int k = 0; k < DDW_GS_N; k++)
        mine += w->o->records[k];
    mine -= before;
    fig[DDW_GF_TRUE_PAIRS] += mine * (mine - (mine > 0)) / 2;
    if (with_persons) {
        sbuf *s = &w->sb[DDW_GEN_PERSONS];
        const namelist *fl = q.female ? &nm->female : &nm->male;
        sb_ch(s, 'P');
        sb_u64(s, i);
        sb_str(s, q.female ? ",F," : ",M,");
        sb_date(s, q.dob, "%Y-%m-%d");
        sb_ch(s, ',');
        sb_str(s, fl->name[q.fn]);
        sb_ch(s, ',');
        sb_str(s, nm->sur.name[q.sn]);
        sb_ch(s, ',');
        if (q.change_day != INT32_MAX) {
            sb_str(s, nm->sur.name[q.sn2]);
            sb_ch(s, ',');
            sb_date(s, q.change_day, "%Y-%m-%d");
        } else {
            sb_ch(s, ',');
        }
        sb_ch(s, ',');
        sb_field(s, p->areas.label[q.area]);
        sb_ch(s, ',');
        if (q.move_day != INT32_MAX) {
            sb_field(s, p->areas.label[q.area2]);
            sb_ch(s, ',');
            sb_date(s, q.move_day, "%Y-%m-%d");
        } else {
            sb_ch(s, ',');
        }
        sb_ch(s, ',');
        if (q.has_pnc) {
            char t[16];
            snprintf(t, sizeof t, "%02u/%lu%c", q.pnc_yy, q.pnc_serial,
                     ddw_compare_pnc_letter(q.pnc_yy, q.pnc_serial));
            sb_str(s, t);
        }
        sb_ch(s, ',');
        sb_field(s, p->drug_groups.label[q.drug]);
        sb_ch(s, ',');
        if (q.twin_of >= 0) {
            sb_ch(s, 'P');
            sb_u64(s, (uint64_t)q.twin_of);
        }
        sb_ch(s, ',');
        if (q.namesake_of >= 0) {
            sb_ch(s, 'P');
            sb_u64(s, (uint64_t)q.namesake_of);
        }
        sb_ch(s, ',');
        if (q.has_pnc && q.alias == 1) {
            sb_str(s, fl->name[q.alias_fn]);
            sb_ch(s, ',');
            sb_str(s, nm->sur.name[q.alias_sn]);
        } else {
            sb_ch(s, ',');
        }
        sb_ch(s, ',');
        if (q.has_pnc && q.alias == 2)
            sb_date(s, q.alias_dob, "%Y-%m-%d");
        sb_ch(s, '\n');
    }
}

void ddw_gen_persons(const ddw_gen_params *p, const ddw_gen_names *names, uint64_t seed,
                     uint64_t first, uint64_t n, int with_persons, ddw_gen_out *out)
{
    writer w;
    memset(&w, 0, sizeof w);
    w.o = out;
    for (int k = 0; k < DDW_GS_N + 2; k++) {
        w.sb[k].b = out->buf[k];
        w.sb[k].len = out->len[k];
        w.sb[k].cap = out->cap[k];
    }
    uint64_t ptally[PT_N * 2] = {0};
    for (uint64_t i = first; i < first + n; i++)
        gen_person(p, names, seed, i, with_persons, &w, ptally);
    for (int k = 0; k < DDW_GS_N + 2; k++) {
        out->buf[k] = w.sb[k].b;
        out->len[k] = w.sb[k].len;
        out->cap[k] = w.sb[k].cap;
    }
    for (int k = 0; k < PT_N; k++) {
        out->person_eligible[k] += ptally[2 * k];
        out->person_applied[k] += ptally[2 * k + 1];
    }
}

void ddw_gen_out_free(ddw_gen_out *o)
{
    for (int k = 0; k < DDW_GS_N + 2; k++)
        free(o->buf[k]);
    memset(o, 0, sizeof *o);
}
