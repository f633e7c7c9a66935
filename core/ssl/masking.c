/* masking.c — span masks and JEPA's multi-block masks (see masking.h): plain loops over tokens,
 * with a fixed number of draws per sequence so a run's stream position depends on shapes only. */
#include "core/ssl/masking.h"

#include <math.h>
#include <string.h>

int mask_draw_spans(uint8_t *mask, int B, int T, float mask_prob, int span, rng_state *rng) {
    const float p = mask_prob / (float)span;
    int total = 0;
    for (int b = 0; b < B; b++) {
        uint8_t *m = mask + (size_t)b * T;
        memset(m, 0, (size_t)T);
        int until = 0; /* tokens [t, until) are covered by a span already started */
        for (int t = 0; t < T; t++) {
            if (rng_uniform(rng) < p) until = t + span;
            if (t < until) m[t] = 1;
        }
        for (int t = 0; t < T; t++)
            total += m[t];
    }
    return total;
}

double mask_span_expected_frac(int T, float mask_prob, int span) {
    const double q = 1.0 - (double)(mask_prob / (float)span);
    double s = 0;
    for (int t = 0; t < T; t++)
        s += 1.0 - pow(q, t + 1 < span ? t + 1 : span);
    return T > 0 ? s / T : 0.0;
}

int mask_draw_jepa(uint8_t *target, uint8_t *context, int B, int T, int n_blocks, int block_len,
                   float ctx_min, float ctx_max, rng_state *rng) {
    const int free_len = T - n_blocks * block_len;
    int total = 0;
    int cut[MASK_MAX_BLOCKS];
    for (int b = 0; b < B; b++) {
        uint8_t *tg = target + (size_t)b * T, *cx = context + (size_t)b * T;
        memset(tg, 0, (size_t)T);
        memset(cx, 0, (size_t)T);
        /* sorted cut points c_0 <= ... <= c_{n-1} in [0, free_len]: block i starts at
         * c_i + i * block_len, which keeps blocks disjoint and inside the sequence */
        for (int i = 0; i < n_blocks; i++) {
            int c = free_len >= 0 ? (int)rng_below(rng, (uint64_t)free_len + 1) : 0;
            if (i < MASK_MAX_BLOCKS) {
                int j = i;
                while (j > 0 && cut[j - 1] > c) {
                    cut[j] = cut[j - 1];
                    j--;
                }
                cut[j] = c;
            }
        }
        for (int i = 0; i < n_blocks && i < MASK_MAX_BLOCKS; i++) {
            int s = cut[i] + i * block_len;
            for (int t = s; t < s + block_len && t < T; t++)
                tg[t] = 1;
        }
        float f = ctx_min + (ctx_max - ctx_min) * rng_uniform(rng);
        int len = (int)lrintf(f * (float)T);
        if (len < 1) len = 1;
        if (len > T) len = T;
        int start = (int)rng_below(rng, (uint64_t)(T - len) + 1);
        for (int t = start; t < start + len; t++)
            cx[t] = !tg[t];
        for (int t = 0; t < T; t++)
            total += tg[t];
    }
    return total;
}
