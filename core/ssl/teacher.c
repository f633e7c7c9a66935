/* teacher.c — the masked objectives' shared pieces (see teacher.h): EMA teacher, learned mask
 * vector, layer-normed targets, SmoothL1. */
#include "core/ssl/teacher.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ssl_teacher {
    encoder *enc;
    int keep_layers;
};

/* The teacher's views are the student's first views (the student adds heads after its encoder),
 * with the same offsets; check that once so the EMA can run over flat prefixes. */
static int prefix_matches(const param_set *t, const param_set *s) {
    if (s->n_views < t->n_views || s->n_bviews < t->n_bviews) return 0;
    for (int i = 0; i < t->n_views; i++)
        if (strcmp(t->views[i].name, s->views[i].name) || t->views[i].count != s->views[i].count ||
            t->views[i].offset != s->views[i].offset)
            return 0;
    for (int i = 0; i < t->n_bviews; i++)
        if (strcmp(t->bviews[i].name, s->bviews[i].name) ||
            t->bviews[i].count != s->bviews[i].count || t->bviews[i].offset != s->bviews[i].offset)
            return 0;
    return 1;
}

static size_t view_end(const param_view *v, int n) {
    size_t end = 0;
    for (int i = 0; i < n; i++)
        if (v[i].offset + v[i].count > end) end = v[i].offset + v[i].count;
    return end;
}

ecg_code teacher_create(ssl_teacher **out, encoder *student, int keep_layers, ecg_err *err) {
    *out = NULL;
    ssl_teacher *t = calloc(1, sizeof *t);
    if (!t) return err_set(err, ECG_ENOMEM, "out of memory for the EMA teacher");
    t->keep_layers = keep_layers;
    ecg_code rc = encoder_create(&t->enc, encoder_get_config(student), encoder_max_batch(student),
                                 0, keep_layers <= 2 ? ENC_INFERENCE_ONLY : 0, err);
    if (rc != ECG_OK) {
        free(t);
        return rc;
    }
    if (!prefix_matches(encoder_params(t->enc), encoder_params(student))) {
        teacher_free(t);
        return err_set(err, ECG_EINVAL,
                       "EMA teacher: the student's encoder parameters are not laid out as a fresh "
                       "encoder of its config");
    }
    teacher_copy_from(t, student);
    *out = t;
    return ECG_OK;
}

void teacher_free(ssl_teacher *t) {
    if (!t) return;
    encoder_free(t->enc);
    free(t);
}

encoder *teacher_encoder(ssl_teacher *t) {
    return t->enc;
}

void teacher_copy_from(ssl_teacher *t, const encoder *student) {
    param_set *tp = encoder_params(t->enc);
    const param_set *sp = encoder_params((encoder *)student);
    size_t np = view_end(tp->views, tp->n_views), nb = view_end(tp->bviews, tp->n_bviews);
    if (np) memcpy(tp->data, sp->data, np * sizeof *tp->data);
    if (nb) memcpy(tp->buf, sp->buf, nb * sizeof *tp->buf);
    encoder_set_bn_batches(t->enc, encoder_bn_batches(student));
}

static void ema(float *t, const float *s, size_t n, float m) {
    const float r = 1.0f - m;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
        t[i] = m * t[i] + r * s[i];
}

void teacher_update_ema(ssl_teacher *t, const encoder *student, float m) {
    param_set *tp = encoder_params(t->enc);
    const param_set *sp = encoder_params((encoder *)student);
    ema(tp->data, sp->data, view_end(tp->views, tp->n_views), m);
    ema(tp->buf, sp->buf, view_end(tp->bviews, tp->n_bviews), m);
    encoder_set_bn_batches(t->enc, encoder_bn_batches(student));
}

ecg_code teacher_forward(ssl_teacher *t, const float *x, int B, ecg_err *err) {
    return encoder_forward(t->enc, x, B, ENC_EVAL, err);
}

int teacher_state_count(const ssl_teacher *t) {
    const param_set *p = encoder_params(t->enc);
    return p->n_views + p->n_bviews;
}

int teacher_state_tensors(ssl_teacher *t, ssl_state_tensor *out, int max) {
    param_set *p = encoder_params(t->enc);
    int k = 0;
    for (int i = 0; i < p->n_views + p->n_bviews && k < max; i++, k++) {
        const int isbuf = i >= p->n_views;
        const param_view *v = isbuf ? &p->bviews[i - p->n_views] : &p->views[i];
        /* encoder names are far shorter than the 96 - 8 bytes left after the prefix */
        size_t len = strnlen(v->name, sizeof out[k].name - 9);
        memcpy(out[k].name, "teacher.", 8);
        memcpy(out[k].name + 8, v->name, len);
        out[k].name[8 + len] = '\0';
        out[k].data = (isbuf ? p->buf : p->data) + v->offset;
        out[k].count = v->count;
    }
    return k;
}

/* ---- mask vector ---- */

int maskvec_add(encoder *student, const char *name, rng_state *rng, ecg_err *err) {
    const int d = encoder_get_config(student)->d_model;
    int v = encoder_add_head_param(student, name, 1, &d, err);
    if (v < 0) return -1;
    float *p = params_data(encoder_params(student), v);
    for (int i = 0; i < d; i++)
        p[i] = rng_uniform(rng);
    return v;
}

void maskvec_apply(float *rows, const uint8_t *mask, const float *vec, int n, int d) {
    for (int i = 0; i < n; i++)
        if (mask[i]) memcpy(rows + (size_t)i * d, vec, (size_t)d * sizeof *vec);
}

void maskvec_backward(float *dvec, float *drows, const uint8_t *mask, int n, int d) {
    for (int i = 0; i < n; i++) {
        if (!mask[i]) continue;
        float *r = drows + (size_t)i * d;
        for (int c = 0; c < d; c++)
            dvec[c] += r[c];
        memset(r, 0, (size_t)d * sizeof *r);
    }
}

void maskvec_apply_stem(encoder *student, int view, const uint8_t *mask) {
    maskvec_apply(encoder_stem_out(student), mask, params_data(encoder_params(student), view),
                  encoder_batch(student) * encoder_tokens(student),
                  encoder_get_config(student)->d_model);
}

ecg_code maskvec_student_forward(encoder *student, int view, const float *x, int B, int train,
                                 const uint8_t *mask, ecg_err *err) {
    ecg_code rc = encoder_forward_stem(student, x, B, train ? ENC_TRAIN : ENC_EVAL, err);
    if (rc) return rc;
    maskvec_apply_stem(student, view, mask);
    return encoder_forward_backbone(student, err);
}

ecg_code maskvec_student_backward(encoder *student, int view, float *dtok, const uint8_t *mask,
                                  int n, ecg_err *err) {
    float *drows = encoder_backward_backbone(student, dtok, NULL, err);
    if (!drows) return err && err->code ? err->code : ECG_EINVAL;
    maskvec_backward(params_grad(encoder_params(student), view), drows, mask, n,
                     encoder_get_config(student)->d_model);
    return encoder_backward_stem(student, NULL, NULL, err);
}

/* ---- targets and regression ---- */

void ssl_layernorm_rows(float *out, const float *in, int n, int d, float eps) {
#pragma omp parallel for schedule(static) if ((long)n * d > 65536)
    for (int i = 0; i < n; i++) {
        const float *x = in + (size_t)i * d;
        float *y = out + (size_t)i * d;
        double s = 0, s2 = 0;
        for (int c = 0; c < d; c++)
            s += x[c];
        const double mu = s / d;
        for (int c = 0; c < d; c++)
            s2 += (x[c] - mu) * (x[c] - mu);
        const float muf = (float)mu, rs = (float)(1.0 / sqrt(s2 / d + eps));
        for (int c = 0; c < d; c++)
            y[c] = (x[c] - muf) * rs;
    }
}

ecg_code teacher_layer_targets(float *out, ssl_teacher *t, int top_layers, ecg_err *err) {
    const encoder *e = t->enc;
    const int L = encoder_get_config(e)->n_layers, d = encoder_get_config(e)->d_model;
    const int n = encoder_batch(e) * encoder_tokens(e);
    const size_t nd = (size_t)n * d;
    if (top_layers < 1 || top_layers > L)
        return err_set(err, ECG_EINVAL, "teacher targets: top_layers %d outside [1, %d]",
                       top_layers, L);
    float *tmp = malloc(nd * sizeof *tmp);
    if (!tmp) return err_set(err, ECG_ENOMEM, "out of memory for teacher targets");
    memset(out, 0, nd * sizeof *out);
    for (int l = L - top_layers; l < L; l++) {
        const float *y = encoder_layer_out(e, l);
        if (!y) {
            free(tmp);
            return err_set(err, ECG_EINVAL, "teacher targets: layer %d output is not kept", l);
        }
        ssl_layernorm_rows(tmp, y, n, d, encoder_get_config(e)->ln_eps);
        for (size_t i = 0; i < nd; i++)
            out[i] += tmp[i];
    }
    const float inv = 1.0f / (float)top_layers;
    for (size_t i = 0; i < nd; i++)
        out[i] *= inv;
    free(tmp);
    return ECG_OK;
}

double ssl_smooth_l1(float *da, const float *a, const float *b, size_t n, float scale) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const float x = a[i] - b[i], ax = fabsf(x);
        s += ax < 1.0f ? 0.5 * (double)x * x : (double)ax - 0.5;
        if (da) da[i] = scale * (x > 1.0f ? 1.0f : x < -1.0f ? -1.0f : x);
    }
    return s;
}

double ssl_rows_std(const float *rows, const uint8_t *mask, int n, int d) {
    int cnt = 0;
    for (int i = 0; i < n; i++)
        cnt += !mask || mask[i];
    if (cnt < 2) return 0.0;
    double acc = 0;
    for (int c = 0; c < d; c++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            if (mask && !mask[i]) continue;
            double v = rows[(size_t)i * d + c];
            s += v;
            s2 += v * v;
        }
        double mu = s / cnt, var = s2 / cnt - mu * mu;
        acc += sqrt(var > 0 ? var : 0);
    }
    return acc / d;
}
