/*
 * ddw_block.h - stage 2: blocking keys, partitioning of blocks over ranks,
 * and tiling of large blocks into units of pair work.
 */
#ifndef DDW_BLOCK_H
#define DDW_BLOCK_H

#include <stdint.h>

#include "ddw.h"
#include "ddw_comm.h"
#include "ddw_config.h"
#include "ddw_records.h"

/*
 * A unit of pair work: all pairs within slots [a0, a1) when diag, else all
 * pairs of [a0, a1) x [b0, b1), scored for blocking pass 'pass'.  Slots
 * index ddw_blocks.slot, which gives the record's index in ddw_blocks.recs
 * (ddw_block_rec).
 */
typedef struct {
    uint32_t pass;
    uint32_t diag;
    uint64_t a0, a1, b0, b1;
} ddw_unit;

typedef struct {
    ddw_recs recs;        /* copies of the records whose blocks or tiles are scored here,
                             each record once however many of its blocks are here */
    uint64_t *passkey;    /* recs.n x npasses block keys (0 = no key in that pass) */
    uint32_t *slot;       /* nslots: the record (index in recs) at each slot; a block is a
                             run of slots sorted by record key */
    size_t nslots;
    int npasses;          /* configured passes, plus the u-sample pass when training */
    int sample_pass;      /* 1 + index of the u-sample pass; 0 = none */
    ddw_unit *units;      /* largest first */
    size_t nunits;
    uint64_t candidate_pairs; /* pairs in this rank's units, before de-duplication */
    uint64_t nblocks;     /* blocks owned here (before tiling) */
    uint64_t max_block;   /* largest block owned here */
    uint64_t ntiles;      /* tiles of large blocks scored here */
    uint64_t keys_emitted;/* (record, pass) keys this rank sent */
} ddw_blocks;

/* The index in b->recs of the record at slot e. */
static inline size_t ddw_block_rec(const ddw_blocks *b, uint64_t e) { return b->slot[e]; }

/*
 * Computes the block key of record i of r for pass p (0 = the record lacks
 * a part of the key).  Pure; exposed for tests.
 */
uint64_t ddw_block_key(const ddw_config *cfg, int p, const ddw_recs *r, size_t i);

/*
 * From this rank's home records: sends every record to the owner of each of
 * its blocks (one per pass), cuts blocks larger than cfg->max_block into
 * tiles spread over ranks, and returns the units this rank scores.
 * Collective.  Free with ddw_block_free.
 */
ddw_status ddw_block_run(const ddw_config *cfg, const ddw_comm *comm, const ddw_recs *home,
                         ddw_blocks *out);
void ddw_block_free(ddw_blocks *b);

/*
 * Tiling of a block of n records into chunks of at most t records: the
 * number of chunks is ceil(n/t) and tiles are the pairs (i <= j) of chunks.
 * Exposed for tests.
 */
uint64_t ddw_block_nchunks(uint64_t n, uint64_t t);

#endif /* DDW_BLOCK_H */
