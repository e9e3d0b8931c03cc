/*
 * ddw_generate.h - the synthetic Drug Data Warehouse: a population of
 * drug-misusing persons, their life histories 2005-2009, and the records six
 * extracts hold about them, with configured recording errors and the ground
 * truth.  Parameters come from an INI file (configs/generate-ddw.ini); none
 * are built in.
 */
#ifndef DDW_GENERATE_H
#define DDW_GENERATE_H

#include <stdint.h>
#include <stdio.h>

#include "ddw.h"
#include "ddw_comm.h"

/* The six extracts, in output order. */
typedef enum {
    DDW_GS_NDTMS,
    DDW_GS_DIP,
    DDW_GS_TESTS,
    DDW_GS_OASYS,
    DDW_GS_PNC,
    DDW_GS_PPO,
    DDW_GS_N
} ddw_gen_source;

/* Recording errors, tallied per source as eligible / applied. */
typedef enum {
    DDW_GE_TYPO_INSERT,
    DDW_GE_TYPO_DELETE,
    DDW_GE_TYPO_SUBSTITUTE,
    DDW_GE_TYPO_TRANSPOSE,
    DDW_GE_TYPO_KEYBOARD,
    DDW_GE_PHONETIC,
    DDW_GE_NICKNAME,
    DDW_GE_NAME_SWAP,
    DDW_GE_DOUBLE_BARRELLED,
    DDW_GE_SURNAME_CHANGED,
    DDW_GE_DOB_SWAP,
    DDW_GE_DOB_DIGIT,
    DDW_GE_DOB_PLACEHOLDER,
    DDW_GE_MISSING_FORENAME,
    DDW_GE_MISSING_SURNAME,
    DDW_GE_MISSING_DOB,
    DDW_GE_MISSING_SEX,
    DDW_GE_MISSING_AREA,
    DDW_GE_SEX_MISCODED,
    DDW_GE_PNC_TYPO,
    DDW_GE_AREA_MOVED,
    DDW_GE_ALIAS,
    DDW_GE_N
} ddw_gen_error;

/* Changes drawn once per person: twin, namesake, surname change (female,
 * male), area move, PNC alias. */
#define DDW_GP_N 6
extern const char *const ddw_gen_person_change_names[DDW_GP_N];

extern const char *const ddw_gen_source_names[DDW_GS_N];
extern const char *const ddw_gen_error_names[DDW_GE_N];

/* A weighted table: label, weight, optional extra column, cumulative weights. */
typedef struct {
    int n;
    char **label;
    char **extra; /* NULL entries when the column is absent */
    double *weight;
    double *cum;  /* cum[i] = weight[0] + ... + weight[i] */
} ddw_gen_table;

typedef struct {
    char *file, *dob_format, *date_format, *name_case;
    char *sex_code[3]; /* male, female, missing */
    double pnc_present, error_scale;
} ddw_gen_source_params;

/* Every generator parameter; filled by ddw_gen_params_parse. */
typedef struct {
    int32_t window_start, window_end, age_reference; /* days since 1970-01-01 */
    char *forenames_male, *forenames_female, *surnames, *nicknames;
    double male, twin, namesake;
    ddw_gen_table age_bands, ethnicity, areas;
    double cj_only, treatment_only;
    ddw_gen_table drug_groups;
    double episode_days_mean, represent_12m, represent_later;
    ddw_gen_table discharge_reasons;
    double dip_rate_hc, dip_rate_other, dip_extra_mean;
    ddw_gen_table dip_setting;
    double test_rate_hc, test_rate_other, test_negative, retest_12m, retest_later,
        retest_after_negative;
    ddw_gen_table result_hc, result_other;
    double oasys_rate_hc, oasys_rate_other, oasys_extra_mean;
    ddw_gen_table oasys_setting;
    double pnc_known, offences_extra_mean, alias, alias_dob_share, alias_use;
    ddw_gen_table offences;
    double ppo_rate;
    double typo, phonetic, nickname, name_swap, double_barrelled, surname_change_female,
        surname_change_male, dob_swap, dob_digit, dob_placeholder, missing_forename,
        missing_surname, missing_dob, missing_sex, missing_area, sex_miscoded, pnc_typo,
        area_move;
    ddw_gen_table typo_kinds;
    ddw_gen_source_params src[DDW_GS_N];
    char *text; /* the INI text, verbatim */
} ddw_gen_params;

/*
 * Parses the generator INI 'text' (read from 'path', used in messages).
 * Every key of the table must be present and valid; problems are printed to
 * err (if not NULL) as "path:line: message", all of them, and the call
 * returns DDW_ECONFIG.  On success *out is a new parameter set (free with
 * ddw_gen_params_destroy).
 */
ddw_status ddw_gen_params_parse(const char *path, const char *text, FILE *err,
                                ddw_gen_params **out);
/* Frees p; accepts NULL and NULLs the caller's pointer. */
void ddw_gen_params_destroy(ddw_gen_params **p);
/* Prints every generator key with its meaning. */
void ddw_gen_params_help(FILE *out);

/* 1 if s is a PNC ID "YY/NNNNNNNC" (1-7 serial digits) with a correct check letter
 * (ddw_compare_pnc_letter). */
int ddw_gen_pnc_valid(const char *s);

/* The name lists, loaded once and shared read-only by all threads. */
typedef struct ddw_gen_names ddw_gen_names;
ddw_status ddw_gen_names_load(const ddw_gen_params *p, FILE *err, ddw_gen_names **out);
void ddw_gen_names_free(ddw_gen_names **n);

/* Life-history counts behind the DDW headline figures (ddw_gen_out.fig). */
typedef enum {
    DDW_GF_PERSONS,      /* persons generated (all appear in some source) */
    DDW_GF_CJ_NO_TX,     /* with justice contact and no treatment */
    DDW_GF_TX,           /* with treatment */
    DDW_GF_CJ,           /* with justice contact */
    DDW_GF_POS_ELIG,     /* first positive test at least 12 months before the end */
    DDW_GF_POS_AGAIN,    /* ... followed by a positive test within 12 months */
    DDW_GF_DIS_ELIG,     /* first discharge at least 12 months before the end */
    DDW_GF_DIS_REP,      /* ... followed by a new episode within 12 months */
    DDW_GF_OASYS,        /* with an OASys assessment */
    DDW_GF_OASYS_HC,     /* ... who use heroin/crack */
    DDW_GF_DIP,          /* with a DIP contact */
    DDW_GF_DIP_HC,
    DDW_GF_TX_HC,
    DDW_GF_PNC,          /* with PNC records */
    DDW_GF_PPO,          /* PPOs */
    DDW_GF_TRUE_PAIRS,   /* record pairs of the same person */
    DDW_GF_N
} ddw_gen_figure;

/* Output of one block of persons: one CSV body per source plus truth and
 * (optionally) the person table, without headers. */
typedef struct {
    char *buf[DDW_GS_N + 2];
    size_t len[DDW_GS_N + 2], cap[DDW_GS_N + 2];
    uint64_t records[DDW_GS_N];
    uint64_t eligible[DDW_GS_N][DDW_GE_N], applied[DDW_GS_N][DDW_GE_N];
    uint64_t person_eligible[DDW_GP_N], person_applied[DDW_GP_N];
    /* life-history counts behind the DDW figures (see generate.c, FG_*) */
    uint64_t fig[DDW_GF_N];
} ddw_gen_out;

#define DDW_GEN_TRUTH DDW_GS_N
#define DDW_GEN_PERSONS (DDW_GS_N + 1)

/*
 * Generates persons [first, first + n) for the given seed, appending their
 * rows to out (which must be zeroed before first use; free with
 * ddw_gen_out_free).  Every random draw derives from (seed, person number),
 * so the bytes for a person never depend on how persons are split over
 * ranks and threads.  Thread-safe for distinct 'out'.
 */
void ddw_gen_persons(const ddw_gen_params *p, const ddw_gen_names *names, uint64_t seed,
                     uint64_t first, uint64_t n, int with_persons, ddw_gen_out *out);
void ddw_gen_out_free(ddw_gen_out *o);

/* CSV header line (with newline) of output k (a source, truth or persons). */
const char *ddw_gen_header(int k);

/* `ddwlink generate ...`: returns the process exit code (0, 1, or 2 on usage). */
int ddw_generate_cli(const ddw_comm *comm, int argc, char **argv);

#endif /* DDW_GENERATE_H */
