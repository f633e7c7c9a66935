/* finetune_json.c — fine-tuning options and result as JSON (see finetune_json.h); the test scores
 * use the transfer report's score form so both read alike. */
#include "api/finetune_json.h"

#include <math.h>

#include "api/transfer_json.h"

static json_t *num(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *series(const double *v, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, num(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *ft_result_to_json(const ft_opts *o, const ft_result *r) {
    json_t *j = json_object();
    if (!j) return NULL;
    int bad = json_object_set_new(j, "mode", json_string(ft_mode_name(r->mode))) ||
              json_object_set_new(j, "epochs", json_integer(o->epochs)) ||
              json_object_set_new(j, "batch", json_integer(o->batch)) ||
              json_object_set_new(j, "lr", num(o->lr > 0 ? o->lr : ft_default_lr(o->mode))) ||
              json_object_set_new(j, "weight_decay", num(o->weight_decay)) ||
              json_object_set_new(j, "patience", json_integer(o->patience)) ||
              json_object_set_new(j, "val_fraction", num(o->val_fraction)) ||
              json_object_set_new(j, "seed", json_integer((json_int_t)o->seed)) ||
              json_object_set_new(j, "n_fit", json_integer(r->n_fit)) ||
              json_object_set_new(j, "n_val", json_integer(r->n_val)) ||
              json_object_set_new(j, "n_fit_windows", json_integer(r->n_fit_windows)) ||
              json_object_set_new(j, "epochs_run", json_integer(r->epochs_run)) ||
              json_object_set_new(j, "best_epoch", json_integer(r->best_epoch)) ||
              json_object_set_new(j, "seconds", num(r->seconds)) ||
              json_object_set_new(j, "train_loss", series(r->train_loss, r->epochs_run)) ||
              json_object_set_new(j, "val_loss", series(r->val_loss, r->epochs_run + 1)) ||
              json_object_set_new(j, "val_accuracy", series(r->val_acc, r->epochs_run + 1)) ||
              json_object_set_new(j, "test", transfer_score_to_json(&r->test));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- ECG dataset fine-tuning (core/transfer/finetune_ecg.h) ---- */

static json_t *fte_scores_json(const fte_scores *s, char *const *names, int K) {
    json_t *j = json_object(), *cls = json_array();
    int bad = !j || !cls;
    for (int c = 0; !bad && c < K; c++) {
        json_t *o = json_object();
        bad =
            !o || json_array_append_new(cls, o) ||
            json_object_set_new(o, "name", json_string(names[c])) ||
            json_object_set_new(o, "auroc", num(s->auroc ? s->auroc[c] : NAN)) ||
            json_object_set_new(o, "positives", json_integer(s->positives ? s->positives[c] : 0)) ||
            json_object_set_new(o, "skipped", json_boolean(!s->auroc || isnan(s->auroc[c])));
    }
    if (bad) {
        json_decref(cls);
        json_decref(j);
        return NULL;
    }
    /* json_object_set_new takes cls even when it fails */
    bad = json_object_set_new(j, "classes", cls) ||
          json_object_set_new(j, "records", json_integer(s->n_records)) ||
          json_object_set_new(j, "windows", json_integer(s->n_windows)) ||
          json_object_set_new(j, "macro_auroc", num(s->macro_auroc)) ||
          json_object_set_new(j, "classes_scored", json_integer(s->n_scored)) ||
          json_object_set_new(j, "accuracy", num(s->accuracy));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *fte_result_to_json(const fte_opts *o, const fte_result *r) {
    json_t *j = json_object();
    if (!j) return NULL;
    int bad =
        json_object_set_new(j, "mode", json_string(ft_mode_name(r->mode))) ||
        json_object_set_new(j, "label_field", json_integer(r->label_field)) ||
        json_object_set_new(j, "multilabel", json_boolean(r->multilabel)) ||
        json_object_set_new(j, "n_classes", json_integer(r->n_classes)) ||
        json_object_set_new(j, "epochs", json_integer(o->epochs)) ||
        json_object_set_new(j, "batch", json_integer(o->batch)) ||
        json_object_set_new(j, "lr", num(o->lr > 0 ? o->lr : ft_default_lr(o->mode))) ||
        json_object_set_new(j, "weight_decay", num(o->weight_decay)) ||
        json_object_set_new(j, "patience", json_integer(o->patience)) ||
        json_object_set_new(j, "val_fraction", num(o->val_fraction)) ||
        json_object_set_new(j, "test_fraction", num(o->test_fraction)) ||
        json_object_set_new(j, "seed", json_integer((json_int_t)o->seed)) ||
        json_object_set_new(j, "records", json_integer((json_int_t)r->n_records)) ||
        json_object_set_new(j, "unlabelled", json_integer(r->n_unlabelled)) ||
        json_object_set_new(j, "n_train", json_integer(r->n_train)) ||
        json_object_set_new(j, "n_val", json_integer(r->n_val)) ||
        json_object_set_new(j, "n_test", json_integer(r->n_test)) ||
        json_object_set_new(j, "epochs_run", json_integer(r->epochs_run)) ||
        json_object_set_new(j, "best_epoch", json_integer(r->best_epoch)) ||
        json_object_set_new(j, "seconds", num(r->seconds)) ||
        json_object_set_new(j, "train_loss", series(r->train_loss, r->epochs_run)) ||
        json_object_set_new(j, "val_macro_auroc", series(r->val_auroc, r->epochs_run + 1)) ||
        json_object_set_new(j, "validation",
                            fte_scores_json(&r->val, r->class_names, r->n_classes)) ||
        json_object_set_new(j, "test", fte_scores_json(&r->test, r->class_names, r->n_classes));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}
