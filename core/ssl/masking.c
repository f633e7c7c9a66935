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

int mask_draw_step_spans(uint8_t *mask, int B, int T, float mask_prob, int span, rng_state *rng,
                         int train, uint64_t eval_tag, uint64_t *eval_count) {
    if (train) return mask_draw_spans(mask, B, T, mask_prob, span, rng);
    rng_state r = rng_fork(rng, eval_tag + (*eval_count)++);
    return mask_draw_spans(mask, B, T, mask_prob, span, &r);
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
    int total = 0;
    for (int b = 0; b < B; b++) {
        uint8_t *tg = target + (size_t)b * T, *cx = context + (size_t)b * T;
        memset(tg, 0, (size_t)T);
        memset(cx, 0, (size_t)T);
        for (int i = 0; i < n_blocks; i++) {
            const int s = (int)rng_below(rng, (uint64_t)(T - block_len) + 1);
            memset(tg + s, 1, (size_t)block_len);
        }
        float f = ctx_min + (ctx_max - ctx_min) * rng_uniform(rng);
        int len = (int)lrintf(f * (float)T);
        if (len < 1) len = 1;
        if (len > T) len = T;
        const int start = (int)rng_below(rng, (uint64_t)(T - len) + 1);
        for (int t = start; t < start + len; t++)
            cx[t] = !tg[t];
        for (int t = 0; t < T; t++)
            total += tg[t];
    }
    return total;
}

double mask_jepa_expected_target_frac(int T, int n_blocks, int block_len) {
    const int ns = T - block_len + 1;
    double s = 0;
    for (int t = 0; t < T; t++) {
        int lo = t - block_len + 1 > 0 ? t - block_len + 1 : 0, hi = t < ns - 1 ? t : ns - 1;
        s += 1.0 - pow(1.0 - (double)(hi - lo + 1) / ns, n_blocks);
    }
    return T > 0 ? s / T : 0.0;
}

rng_state mask_batch_stream(const rng_state *base, const float *x, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        h = (h ^ u) * 0x100000001b3ULL;
    }
    return rng_fork(base, h);
}
