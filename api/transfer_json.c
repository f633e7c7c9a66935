/* transfer_json.c — transfer reports as JSON (see transfer_json.h); NaN becomes null because JSON
 * has no NaN. */
#include "api/transfer_json.h"

#include <math.h>

static json_t *num(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

/* Sets key to v (stealing the reference); returns 0 when v is NULL or the set fails. */
static int put(json_t *o, const char *key, json_t *v) {
    return v && json_object_set_new(o, key, v) == 0;
}

json_t *transfer_score_to_json(const transfer_score *s) {
    json_t *o = json_object(), *rec = json_array(), *conf = json_array();
    if (!o || !rec || !conf) goto fail;
    int ok = put(o, "classifier", json_string(s->classifier)) &&
             put(o, "param", json_string(s->param)) && put(o, "accuracy", num(s->accuracy)) &&
             put(o, "balanced_accuracy", num(s->balanced_accuracy)) &&
             put(o, "macro_f1", num(s->macro_f1)) && put(o, "auroc", num(s->auroc));
    for (int c = 0; ok && c < s->n_classes; c++) {
        ok = json_array_append_new(rec, num(s->recall[c])) == 0;
        json_t *row = json_array();
        ok = ok && row && json_array_append_new(conf, row) == 0;
        for (int k = 0; ok && k < s->n_classes; k++)
            ok = json_array_append_new(row, json_integer(s->confusion[c * s->n_classes + k])) == 0;
    }
    if (!ok) goto fail;
    ok = put(o, "recall", rec);
    rec = NULL;
    ok = ok && put(o, "confusion", conf);
    conf = NULL;
    if (!ok) goto fail;
    return o;
fail:
    json_decref(o);
    json_decref(rec);
    json_decref(conf);
    return NULL;
}

static json_t *encoder_result_json(const transfer_encoder_result *e, const transfer_report *r,
                                   int random) {
    json_t *o = json_object(), *a = json_array();
    if (!o || !a) goto fail;
    int ok = put(o, "label", json_string(e->label)) &&
             put(o, "embed_seconds", json_real(e->embed_seconds));
    if (ok && random) ok = put(o, "random_seed", json_integer((json_int_t)r->random_seed));
    for (int c = 0; ok && c < e->n_scores; c++)
        ok = json_array_append_new(a, transfer_score_to_json(&e->score[c])) == 0;
    if (!ok) goto fail;
    ok = put(o, "scores", a);
    a = NULL;
    if (!ok) goto fail;
    return o;
fail:
    json_decref(o);
    json_decref(a);
    return NULL;
}

json_t *transfer_report_to_json(const transfer_report *r) {
    json_t *o = json_object(), *names = json_array(), *map = json_object();
    if (!o || !names || !map) goto fail;
    int ok = put(o, "task", json_string(r->task)) && put(o, "n_train", json_integer(r->n_train)) &&
             put(o, "n_test", json_integer(r->n_test)) &&
             put(o, "n_classes", json_integer(r->n_classes)) &&
             put(o, "n_dims", json_integer(r->n_dims)) &&
             put(o, "min_length", json_integer((json_int_t)r->min_length)) &&
             put(o, "max_length", json_integer((json_int_t)r->max_length));
    for (int c = 0; ok && c < r->n_classes; c++)
        ok = json_array_append_new(names, json_string(r->class_names[c])) == 0;
    ok = ok && put(map, "channels", json_string(map_channels_name(r->map.channels))) &&
         put(map, "length", json_string(map_length_name(r->map.length))) &&
         put(map, "slide_rate", json_real(r->map.slide_rate)) &&
         put(map, "slide_stride", json_integer(r->map.slide_stride)) &&
         put(map, "resize", json_string(r->map.resize == RESAMPLE_LINEAR ? "linear" : "sinc")) &&
         put(map, "amplitude", json_string(map_amplitude_name(r->map.amplitude)));
    if (!ok) goto fail;
    ok = put(o, "class_names", names);
    names = NULL;
    ok = ok && put(o, "mapping", map);
    map = NULL;
    ok = ok && put(o, "channels_dropped", json_integer(r->channels_dropped));
    if (ok && r->has_checkpoint)
        ok = put(o, "checkpoint", encoder_result_json(&r->checkpoint, r, 0));
    ok = ok && put(o, "random_init", encoder_result_json(&r->random_init, r, 1)) &&
         put(o, "raw_1nn", transfer_score_to_json(&r->raw_1nn)) &&
         put(o, "raw_length", json_integer((json_int_t)r->raw_length));
    if (!ok) goto fail;
    return o;
fail:
    json_decref(o);
    json_decref(names);
    json_decref(map);
    return NULL;
}

json_t *transfer_candidate_to_json(const map_opts *m, const double acc[TRANSFER_MAX_CLASSIFIERS],
                                   double mean) {
    static const char *names[TRANSFER_MAX_CLASSIFIERS] = {"nearest_centroid", "knn_cosine",
                                                          "logreg"};
    json_t *o = json_object(), *a = json_object();
    int ok = o && a;
    for (int c = 0; ok && c < TRANSFER_MAX_CLASSIFIERS; c++)
        ok = put(a, names[c], num(acc[c]));
    ok = ok && put(o, "channels", json_string(map_channels_name(m->channels))) &&
         put(o, "length", json_string(map_length_name(m->length))) &&
         put(o, "slide_rate", json_real(m->slide_rate)) &&
         put(o, "slide_stride", json_integer(m->slide_stride));
    if (ok) {
        ok = put(o, "cv_accuracy", a);
        a = NULL;
    }
    ok = ok && put(o, "mean", num(mean));
    if (!ok) {
        json_decref(o);
        json_decref(a);
        return NULL;
    }
    return o;
}
