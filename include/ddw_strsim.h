/*
 * ddw_strsim.h - string similarity kernels for the pair-scoring loop:
 * Jaro, Jaro-Winkler, Levenshtein, optimal string alignment, true
 * (unrestricted) Damerau-Levenshtein, and the Soundex and NYSIIS phonetic
 * codes.
 *
 * Trade-off: every function looks at no more than the first
 * DDW_STRSIM_MAXLEN bytes of each input; longer inputs are silently
 * truncated to that length before comparison or encoding.  The bound keeps
 * all working storage in small fixed stack buffers (no heap, no state, safe
 * to call from any number of threads at once) and lets Jaro and Levenshtein
 * hold a whole string in one 64-bit word (bit-parallel, so cheap enough to
 * run millions of times a second).  The price: two strings that differ only
 * after byte 64 compare as identical.  Normalised name and address fields
 * are far shorter than that.
 *
 * Inputs are byte strings with explicit lengths, not NUL-terminated.  They
 * are expected to be normalised already (upper-case ASCII letters, digits,
 * single spaces), but any byte values are accepted and compared as unsigned
 * bytes.  A pointer may be NULL only when its length is 0.
 */
#ifndef DDW_STRSIM_H
#define DDW_STRSIM_H

#include <stddef.h>

/* Inputs longer than this many bytes are truncated to it (see above). */
#define DDW_STRSIM_MAXLEN 64

/* Length of a Soundex code (letter + 3 digits), without the NUL. */
#define DDW_STRSIM_SOUNDEX_LEN 4

/* Maximum NYSIIS code length (Taft's truncation), without the NUL. */
#define DDW_STRSIM_NYSIIS_LEN 6

/*
 * Jaro similarity of a[0..la) and b[0..lb), in [0, 1].  Two characters
 * match when equal and at most max(la, lb)/2 - 1 positions apart (window
 * floored at 0); each character matches at most once, greedily, scanning a
 * left to right and taking the leftmost free partner in b.  With m matches
 * and t = (number of matched characters out of order) / 2,
 *     jaro = (m/la + m/lb + (m - t)/m) / 3,   and 0 when m = 0.
 * t is the exact half (it may be x.5); Winkler's strcmp95 C code floors it,
 * which differs only when the out-of-order count is odd.
 * Both strings empty gives 1.0; exactly one empty gives 0.0.
 * Pure function; no errors.
 */
double ddw_strsim_jaro(const char *a, size_t la, const char *b, size_t lb);

/*
 * Jaro-Winkler similarity (Winkler 1990), in [0, 1]:
 *     jw = jaro + l * 0.1 * (1 - jaro)
 * where l is the length of the common prefix of a and b, at most 4.  The
 * boost is applied for every Jaro value: there is no "boost threshold"
 * (the 0.7 cut-off of some later implementations is not used).  Same
 * empty-string rules and truncation as ddw_strsim_jaro().  Pure function.
 */
double ddw_strsim_jaro_winkler(const char *a, size_t la, const char *b, size_t lb);

/*
 * Levenshtein distance (unit-cost insertions, deletions, substitutions)
 * between a[0..la) and b[0..lb), each truncated to DDW_STRSIM_MAXLEN.
 * Returns a value in [0, 64].  Pure function; no errors.
 */
int ddw_strsim_levenshtein(const char *a, size_t la, const char *b, size_t lb);

/*
 * True (unrestricted) Damerau-Levenshtein distance (Lowrance & Wagner
 * 1975): unit-cost insertion, deletion, substitution and transposition of
 * two adjacent characters, where a transposed pair may still be edited
 * afterwards.  It is a metric.  Example: ("CA", "ABC") = 2
 * (CA -> AC -> ABC), where optimal string alignment gives 3.
 * Inputs truncated to DDW_STRSIM_MAXLEN; result in [0, 64].  Pure function.
 */
int ddw_strsim_damerau_levenshtein(const char *a, size_t la, const char *b, size_t lb);

/*
 * Bounded forms: 1 if ddw_strsim_damerau_levenshtein(a, la, b, lb) <= k
 * (resp. ddw_strsim_levenshtein), else 0; always the same answer as the
 * full distance, same truncation.  Length gaps above k answer at once;
 * k == 0 is an equality test and k == 1 a single linear scan (one
 * substitution, one adjacent transposition (DL only) or one insertion or
 * deletion at the first difference); larger k fall back to the full
 * distance.  k < 0 gives 0.  Pure functions; no errors.
 */
int ddw_strsim_dl_within(const char *a, size_t la, const char *b, size_t lb, int k);
int ddw_strsim_lev_within(const char *a, size_t la, const char *b, size_t lb, int k);

/*
 * Optimal string alignment distance (restricted edit distance): like
 * Damerau-Levenshtein, but no substring is edited more than once, so a
 * transposed pair cannot be edited further.  ("CA", "ABC") = 3.  Not a
 * metric (the triangle inequality can fail).  Inputs truncated to
 * DDW_STRSIM_MAXLEN; result in [0, 64].  Pure function.
 */
int ddw_strsim_osa(const char *a, size_t la, const char *b, size_t lb);

/*
 * American Soundex as defined by the US National Archives (NARA): the first
 * letter is kept, the following letters are coded
 *     B F P V -> 1; C G J K Q S X Z -> 2; D T -> 3; L -> 4; M N -> 5; R -> 6,
 * adjacent equal codes (including the first letter's own code) are written
 * once, H and W do not separate equal codes, vowels (A E I O U Y) do, and
 * the code is cut or padded with '0' to a letter plus 3 digits.
 * Lower-case ASCII letters count as upper case; every other byte is ignored
 * as if absent.  Only the first DDW_STRSIM_MAXLEN bytes of s are read.
 *
 * Output: out[0..5) receives the NUL-terminated code and 4 is returned; if
 * s has no letters, out receives "" and 0 is returned.  out is owned by the
 * caller.  No errors.
 */
size_t ddw_strsim_soundex(const char *s, size_t len, char out[5]);

/*
 * NYSIIS phonetic code, Taft's original 1970 algorithm as set out in the
 * Wikipedia "New York State Identification and Intelligence System" article:
 * prefix rules (MAC->MCC, KN->NN, K->C, PH/PF->FF, SCH->SSS), suffix rules
 * (EE/IE->Y, DT/RT/RD/NT/ND->D), then a left-to-right scan from the second
 * letter rewriting the name in place (EV->AF, vowels->A, Q->G, Z->S, M->N,
 * KN->N else K->C, SCH->SSS, PH->FF, H and W rules) and appending each
 * rewritten letter unless it equals the last letter of the code, then
 * trailing S removed, trailing AY -> Y, trailing A removed.  The first
 * letter is never removed by those three end rules.  The code is truncated
 * to DDW_STRSIM_NYSIIS_LEN (6) characters, as in Taft's original.
 * Lower-case ASCII letters count as upper case; every other byte (digits,
 * spaces, punctuation) is dropped before encoding, so words are joined.
 * Only the first DDW_STRSIM_MAXLEN bytes of s are read.
 *
 * Output: out[0..cap) receives the NUL-terminated code; returns its length,
 * 0 (and "") if s has no letters.  cap >= 7 is required for a full code; a
 * smaller cap truncates the code to cap - 1 characters, and cap == 0 writes
 * nothing and returns 0.  out is owned by the caller.  No errors.
 */
size_t ddw_strsim_nysiis(const char *s, size_t len, char *out, size_t cap);

#endif /* DDW_STRSIM_H */
