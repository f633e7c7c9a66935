/* masking.h — which tokens the masked objectives hide (SPEC §2): span masking for data2vec, DinoSR
 * and HuBERT++, multi-block target/context masks for JEPA. Drawn from an rng_state, deterministic.
 */
#ifndef ECGFM_CORE_MASKING_H
#define ECGFM_CORE_MASKING_H

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

/* JEPA multi-block masking, per sequence:
 *  - n_blocks target blocks of block_len contiguous tokens, pairwise disjoint and inside [0, T):
 *    the n_blocks + 1 gaps between them are a uniform draw among all placements of disjoint
 *    blocks (n_blocks sorted uniform cut points in [0, T - n_blocks * block_len]);
 *  - one context block of round(f * T) contiguous tokens, f uniform in [ctx_min, ctx_max], at a
 *    uniform start; the context is that block minus the target tokens.
 * target and context are (B, T) bytes (1 = in it); they never overlap. Requires
 * 1 <= n_blocks <= MASK_MAX_BLOCKS and n_blocks * block_len <= T (ssl_config_validate asks for <).
 * Draws per sequence: n_blocks cut points, then f, then the context start. Returns the total number
 * of target tokens. */
#define MASK_MAX_BLOCKS 64
int mask_draw_jepa(uint8_t *target, uint8_t *context, int B, int T, int n_blocks, int block_len,
                   float ctx_min, float ctx_max, rng_state *rng);

#endif
