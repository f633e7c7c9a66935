/* masking.h — which tokens the masked objectives hide (SPEC §2): span masks (data2vec, DinoSR,
 * HuBERT++) and JEPA's multi-block target/context masks, drawn from an rng_state, deterministic. */
#ifndef ECGFM_CORE_MASKING_H
#define ECGFM_CORE_MASKING_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/rng.h"

/* Span masking, as SPEC §2 words it: "each token starts a span with probability 0.065/10, span 10
 * tokens". So every token t of every sequence independently starts a span with probability
 * p = mask_prob / span (0.0065 with the defaults), and a span covers tokens t .. t+span-1, cut at
 * the end of the sequence; overlapping spans merge. A token is masked when any of the (up to) span
 * tokens at or before it started a span, so the expected masked fraction is
 * (1/T) sum_t 1 - (1 - p)^min(t + 1, span): about 6.2% for T = 300 (mask_span_expected_frac), and
 * a sequence has no masked token at all with probability (1 - p)^T (14% for T = 300). This is not
 * fairseq's compute_mask_indices (which draws a fixed count of mask_prob * T / span spans); it is
 * the SPEC's sentence taken literally.
 * mask is (B, T) bytes, 1 = masked. Exactly B * T draws (rng_uniform, row-major) whatever the
 * outcome, so the stream position never depends on the data. Returns the number of masked tokens.
 */
int mask_draw_spans(uint8_t *mask, int B, int T, float mask_prob, int span, rng_state *rng);
double mask_span_expected_frac(int T, float mask_prob, int span);

/* A step's span masks for the objectives that mask spans (DinoSR, HuBERT++): a training step draws
 * from rng itself; a validation step from rng_fork(rng, eval_tag + (*eval_count)++), so
 * validation never moves the training stream. Returns mask_draw_spans's count. */
int mask_draw_step_spans(uint8_t *mask, int B, int T, float mask_prob, int span, rng_state *rng,
                         int train, uint64_t eval_tag, uint64_t *eval_count);

/* JEPA multi-block masking, per sequence, as the study's code release does it (I-JEPA's
 * multi-block collator in 1-D: clinical_ts/mask/jepa_multiblock_mask.py, allow_overlap = False):
 *  - n_blocks target blocks of block_len contiguous tokens, each at a start drawn uniformly in
 *    [0, T - block_len] independently of the others, so target blocks may overlap each other (the
 *    union is what is predicted); every block lies inside the sequence;
 *  - one context block of round(f * T) contiguous tokens, f uniform in [ctx_min, ctx_max], at a
 *    uniform start; the context is that block minus every target token (context and targets are
 *    disjoint).
 * With the study's 4 x 64 of 300 tokens the targets cover 58.9% of a sequence on average
 * (mask_jepa_expected_target_frac) and the context about 34%. Two departures from the release:
 * block starts include T - block_len (its randint excludes it), and there is no min_keep fallback
 * (the release replaces a context of fewer than 64 tokens by 64 random tokens, targets included); a
 * context may be small or even empty. target and context are (B, T) bytes (1 = in it). Requires 1
 * <= block_len <= T. Draws per sequence: n_blocks starts (rng_below), then f (rng_uniform), then
 * the context start. Returns the total number of target tokens. */
int mask_draw_jepa(uint8_t *target, uint8_t *context, int B, int T, int n_blocks, int block_len,
                   float ctx_min, float ctx_max, rng_state *rng);
/* Expected fraction of target tokens for mask_draw_jepa:
 * (1/T) sum_t 1 - (1 - c_t / (T - block_len + 1))^n_blocks, c_t = number of starts covering t. */
double mask_jepa_expected_target_frac(int T, int n_blocks, int block_len);

/* A stream that depends only on base and the batch's bits (FNV-1a over x): validation masks drawn
 * from it are the same for every checkpoint, and drawing them never moves the training stream. */
rng_state mask_batch_stream(const rng_state *base, const float *x, size_t n);

#endif
