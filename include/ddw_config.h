/*
 * ddw_config.h - the run configuration: one struct filled from an INI file
 * plus --set overrides, validated before any work starts.
 *
 * Trade-off: every key is described by one table (section, key, type,
 * default, help) that both the parser and --help-config read, so the
 * documentation cannot drift from the code.  Sections named
 * "source.NAME", "blocking.NAME" and "compare.NAME" may repeat with
 * different names; their order in the file fixes source indexes, pass
 * numbers and comparison order, which are part of the result.
 */
#ifndef DDW_CONFIG_H
#define DDW_CONFIG_H

#include <stdio.h>

#include "ddw.h"

/* Canonical fields that a source's CSV columns can be mapped onto. */
typedef enum {
    DDW_F_FORENAME,
    DDW_F_SURNAME,
    DDW_F_FORENAME_INITIAL,
    DDW_F_SURNAME_INITIAL,
    DDW_F_DOB,
    DDW_F_SEX,
    DDW_F_AREA,
    DDW_F_POSTCODE,
    DDW_F_PNC_ID,
    DDW_F_EVENT_DATE,
    DDW_F_MIDDLE_NAME,
    DDW_F_ADDRESS1,
    DDW_F_ADDRESS2,
    DDW_F_TOWN,
    DDW_F_ID_NUMBER,
    DDW_F_EXTRA1,
    DDW_F_EXTRA2,
    DDW_F_EXTRA3,
    DDW_NFIELDS
} ddw_field;

typedef enum { DDW_FT_TEXT, DDW_FT_DATE, DDW_FT_SEX } ddw_field_type;

const char *ddw_field_name(ddw_field f);
ddw_field_type ddw_field_type_of(ddw_field f);
/* Returns the field with this canonical name, or -1. */
int ddw_field_find(const char *name);

#define DDW_MAX_KEEP 32
#define DDW_MAX_SEXCODES 32

typedef struct {
    char *name;
    char *path;
    char *id_column;
    char *column[DDW_NFIELDS];      /* CSV column mapped onto each field, NULL if none */
    char *date_format[DDW_NFIELDS]; /* for date fields */
    char *where[DDW_NFIELDS];       /* "file:line" of each mapping, for errors */
    char *where_path, *where_id;
    int nkeep;
    char *keep[DDW_MAX_KEEP];       /* pass-through columns */
    char *where_keep;
    int nsex;
    char *sex_code[DDW_MAX_SEXCODES]; /* normalised code ... */
    char sex_value[DDW_MAX_SEXCODES]; /* ... maps to 'M', 'F' or 0 (missing) */
    int attach_once;                /* records join at most one cluster of other sources'
                                       records, never bridging two (refine.c) */
} ddw_source_cfg;

/* Blocking key functions. */
typedef enum {
    DDW_BK_EXACT,
    DDW_BK_FIRST,
    DDW_BK_SOUNDEX,
    DDW_BK_NYSIIS,
    DDW_BK_YEAR,
    DDW_BK_INITIALS
} ddw_bkfunc;

#define DDW_MAX_KEYPARTS 8
typedef struct {
    ddw_bkfunc func;
    ddw_field field;
} ddw_keypart;

typedef struct {
    char *name;
    int nparts;
    ddw_keypart parts[DDW_MAX_KEYPARTS];
} ddw_pass_cfg;

#define DDW_MAX_LEVELS 15
#define DDW_MAX_COMPARE 64
/* One comparison level: a method-specific predicate and its parameter. */
typedef struct {
    int kind;      /* method-specific predicate code (see compare.c) */
    double param;  /* threshold, distance or day count */
    char label[32];
} ddw_level_cfg;

typedef struct {
    char *name;
    ddw_field field;
    int method;                /* index into the comparison-method table */
    int nlevels;               /* configured levels; level 0 is "missing" */
    ddw_level_cfg levels[DDW_MAX_LEVELS];
    double m[DDW_MAX_LEVELS];
    double u[DDW_MAX_LEVELS];
    int m_given, u_given;      /* m / u written in the config (else estimated) */
    int tf;                    /* term-frequency adjustment of the exact level */
    int unless;                /* 1 + a field: compare only pairs where a record lacks it; 0 = none */
    double tf_min;             /* floor of a value's frequency */
} ddw_compare_cfg;

/* Clustering: what splits a connected component (see refine.c). */
typedef enum { DDW_REFINE_NONE, DDW_REFINE_PNC, DDW_REFINE_PNC_DOB } ddw_refine_mode;

typedef struct ddw_config {
    char *path;        /* config file path */
    char *text;        /* the config file, verbatim */
    char *effective;   /* every key's effective value, one "section.key = value" per line */
    char *run_name;
    unsigned long long seed;
    double threshold;  /* match weight (log2 Bayes factor incl. prior) for an edge */
    double keep_edges_above; /* link --keep-edges-above: scoring also keeps pairs down to this
                                weight (for sweeps); NAN (the default) = threshold */
    double prior;      /* probability that two random records match */
    long long max_block;  /* blocks with more records are cut into tiles */
    int deflate;
    long long chunk;
    int nsources;
    ddw_source_cfg *sources;
    int npasses;
    ddw_pass_cfg *passes;
    int ncompare;
    ddw_compare_cfg *compare;
    /* training (EM); see estimate.c and train.c */
    int train;                 /* estimate m, u and the prior before linking */
    long long train_pairs;     /* blocked pairs sampled for EM */
    long long train_u_records; /* records sampled for u (all pairs among them) */
    long long train_max_iter;
    double train_tol, train_min_prob;
    int refine;                /* ddw_refine_mode */
} ddw_config;

/*
 * Parses the INI text 'text' (read from 'path', used in messages) and
 * applies the overrides ("section.key=value", nset of them).  On success
 * *out is a new config (free with ddw_config_destroy).  On failure returns
 * DDW_ECONFIG and writes one message per problem, each naming file, line
 * and key, to 'err' (may be NULL).
 */
ddw_status ddw_config_parse(const char *path, const char *text, int nset, char **set,
                            FILE *err, ddw_config **out);
void ddw_config_destroy(ddw_config **cfg);
/* Prints every key with its type, default and meaning. */
void ddw_config_help(FILE *out);

/* 1 if source s provides field f (initials count when the name is mapped). */
int ddw_config_source_has(const ddw_source_cfg *s, ddw_field f);
/*
 * Writes a warning to out (may be NULL) for every comparison whose field
 * fewer than two sources provide and every blocking pass a source cannot
 * take part in.  Returns the number of warnings.  Not errors: a source
 * may legitimately lack a field.
 */
int ddw_config_warn(const ddw_config *cfg, FILE *out);

/*
 * Turns a model file (written by `ddwlink train` or `link`: [match] prior
 * and [compare.NAME] m and u, lists continued on indented lines) into
 * override strings "section.key=value" for ddw_config_parse: *n of them in
 * *sets (caller frees each and the array).  Anything else in the file is
 * DDW_ECONFIG with a message naming the file to err (may be NULL).
 */
ddw_status ddw_config_model_sets(const char *path, const char *text, FILE *err, int *n,
                                 char ***sets);

/* The lowest weight a scored pair is kept at: min(threshold, keep_edges_above). */
double ddw_config_edge_floor(const ddw_config *cfg);

/* log2 odds of the prior, the weight every pair starts from. */
double ddw_config_prior_weight(const ddw_config *cfg);

#endif /* DDW_CONFIG_H */
