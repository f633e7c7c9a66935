/* attention.h — multi-head self-attention with rotary position embeddings (RoPE), causal or not.
 * Projections are Linear layers outside; this is the part between them, forward and backward. */
#ifndef ECGFM_CORE_ATTENTION_H
#define ECGFM_CORE_ATTENTION_H

#include <stddef.h>

/* qkv is (B, T, 3*D) channels-last with D = nh * hd: q = [0, D), k = [D, 2D), v = [2D, 3D), each
 * split into nh heads of hd contiguous channels. RoPE (rotate-half form as in GPT-NeoX /
 * HF LLaMA: pairs (i, i + hd/2), theta_i = base^(-2i/hd), position t = 0..T-1) is applied to q
 * and k of every head when rope_base > 0. Scores are scaled by 1/sqrt(hd); with causal != 0,
 * position t attends to s <= t only. out is (B, T, D), heads concatenated.
 * cache holds attention_cache_floats() floats written by forward (rotated q, k and the softmax
 * probabilities) and read by backward. dqkv is written (=), gradients w.r.t. the un-rotated qkv. */
size_t attention_cache_floats(int B, int T, int nh, int hd);
void attention_forward(float *out, float *cache, const float *qkv, int B, int T, int nh, int hd,
                       float rope_base, int causal);
void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *cache,
                        int B, int T, int nh, int hd, float rope_base, int causal);

#endif
