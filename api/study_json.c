/* study_json.c — JSON -> study_config (objectives as pretraining config files or inline, tasks,
 * sizes, seeds) and study_result -> JSON (the table, and the fits with correlations and CKA). */
#include "api/study_json.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/encoder_config_json.h"
#include "api/pretrain_config_json.h"

static ecg_code get_i64(const json_t *v, const char *key, int64_t lo, int64_t hi, int64_t *out,
                        ecg_err *err) {
    if (!json_is_integer(v)) return err_set(err, ECG_EINVAL, "%s: must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return err_set(err, ECG_EINVAL, "%s: %lld is out of range [%lld, %lld]", key, (long long)i,
                       (long long)lo, (long long)hi);
    *out = (int64_t)i;
    return ECG_OK;
}

static ecg_code get_int(const json_t *v, const char *key, int lo, int *out, ecg_err *err) {
    int64_t i = 0;
    ecg_code rc = get_i64(v, key, lo, INT_MAX, &i, err);
    if (!rc) *out = (int)i;
    return rc;
}

static ecg_code get_u64(const json_t *v, const char *key, uint64_t *out, ecg_err *err) {
    int64_t i = 0;
    ecg_code rc = get_i64(v, key, 0, INT64_MAX, &i, err);
    if (!rc) *out = (uint64_t)i;
    return rc;
}

/* path relative to base (a directory) unless absolute. */
static ecg_code resolve(char *out, size_t n, const char *base, const char *path, const char *key,
                        ecg_err *err) {
    int w = path[0] == '/' || !base[0] ? snprintf(out, n, "%s", path)
                                       : snprintf(out, n, "%s/%s", base, path);
    if (w < 0 || (size_t)w >= n) return err_set(err, ECG_EINVAL, "%s: path too long", key);
    return ECG_OK;
}

static ecg_code get_path(const json_t *v, const char *key, const char *base, char *out, size_t n,
                         ecg_err *err) {
    if (!json_is_string(v) || !json_string_length(v))
        return err_set(err, ECG_EINVAL, "%s: must be a non-empty string", key);
    return resolve(out, n, base, json_string_value(v), key, err);
}

static ecg_code parse_objectives(study_config *c, const json_t *arr, const char *base,
                                 ecg_err *err) {
    if (!json_is_array(arr) || json_array_size(arr) < 1 ||
        json_array_size(arr) > STUDY_MAX_OBJECTIVES)
        return err_set(err, ECG_EINVAL, "objectives: must be an array of 1 to %d configs",
                       STUDY_MAX_OBJECTIVES);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char key[48], path[1024];
        snprintf(key, sizeof key, "objectives[%zu]", i);
        ecg_code rc;
        if (json_is_string(v)) {
            if ((rc = get_path(v, key, base, path, sizeof path, err))) return rc;
            rc = pretrain_config_from_json_file(&c->objectives[i], path, err);
        } else if (json_is_object(v))
            rc = pretrain_config_from_json(&c->objectives[i], v, base, err);
        else
            return err_set(err, ECG_EINVAL, "%s: must be a file name or an object", key);
        if (rc) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return err_set(err, rc, "%s: %s", key, msg);
        }
    }
    c->n_objectives = (int)json_array_size(arr);
    return ECG_OK;
}

static ecg_code parse_tasks(study_config *c, const json_t *arr, const char *base, ecg_err *err) {
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > STUDY_MAX_TASKS)
        return err_set(err, ECG_EINVAL, "tasks: must be an array of 1 to %d tasks",
                       STUDY_MAX_TASKS);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char key[64];
        study_task *t = &c->tasks[i];
        if (!json_is_object(v)) return err_set(err, ECG_EINVAL, "tasks[%zu]: must be an object", i);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            snprintf(key, sizeof key, "tasks[%zu].%.20s", i, k);
            ecg_code rc = ECG_OK;
            if (!strcmp(k, "name")) {
                if (!json_is_string(x) || json_string_length(x) >= sizeof t->name)
                    return err_set(err, ECG_EINVAL, "%s: must be a string under 64 bytes", key);
                snprintf(t->name, sizeof t->name, "%s", json_string_value(x));
            } else if (!strcmp(k, "train"))
                rc = get_path(x, key, base, t->train, sizeof t->train, err);
            else if (!strcmp(k, "test"))
                rc = get_path(x, key, base, t->test, sizeof t->test, err);
            else
                return err_set(err, ECG_EINVAL, "%s: unknown key", key);
            if (rc) return rc;
        }
    }
    c->n_tasks = (int)json_array_size(arr);
    return ECG_OK;
}

static ecg_code parse_mapping(study_config *c, const json_t *obj, ecg_err *err) {
    if (!json_is_object(obj)) return err_set(err, ECG_EINVAL, "mapping: must be an object");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)obj, k, x) {
        if (!json_is_string(x))
            return err_set(err, ECG_EINVAL, "mapping.%.32s: must be a string", k);
        const char *s = json_string_value(x);
        ecg_code rc;
        if (!strcmp(k, "channels"))
            rc = map_channels_parse(s, &c->map.channels, err);
        else if (!strcmp(k, "length"))
            rc = map_length_parse(s, &c->map.length, err);
        else if (!strcmp(k, "amplitude"))
            rc = map_amplitude_parse(s, &c->map.amplitude, err);
        else
            return err_set(err, ECG_EINVAL, "mapping.%.32s: unknown key", k);
        if (rc) return rc;
    }
    return ECG_OK;
}

static ecg_code parse_finetune(study_config *c, const json_t *obj, ecg_err *err) {
    if (!json_is_object(obj)) return err_set(err, ECG_EINVAL, "finetune: must be an object");
    c->finetune = 1;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)obj, k, x) {
        char key[64];
        snprintf(key, sizeof key, "finetune.%.32s", k);
        ecg_code rc = ECG_OK;
        if (!strcmp(k, "mode")) {
            if (!json_is_string(x)) return err_set(err, ECG_EINVAL, "%s: must be a string", key);
            rc = ft_mode_parse(json_string_value(x), &c->ft.mode, err);
        } else if (!strcmp(k, "epochs"))
            rc = get_int(x, key, 1, &c->ft.epochs, err);
        else if (!strcmp(k, "batch"))
            rc = get_int(x, key, 1, &c->ft.batch, err);
        else if (!strcmp(k, "patience"))
            rc = get_int(x, key, 0, &c->ft.patience, err);
        else if (!strcmp(k, "seed"))
            rc = get_u64(x, key, &c->ft.seed, err);
        else if (!strcmp(k, "lr") || !strcmp(k, "weight_decay") || !strcmp(k, "val_fraction")) {
            if (!json_is_number(x)) return err_set(err, ECG_EINVAL, "%s: must be a number", key);
            double d = json_number_value(x);
            if (k[0] == 'l')
                c->ft.lr = (float)d;
            else if (k[0] == 'w')
                c->ft.weight_decay = (float)d;
            else
                c->ft.val_fraction = d;
        } else
            return err_set(err, ECG_EINVAL, "%s: unknown key", key);
        if (rc) return rc;
    }
    return ECG_OK;
}

ecg_code study_config_from_json_file(study_config *c, const char *path, ecg_err *err) {
    study_config_default(c);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return err_set(err, ECG_EINVAL, "%s: line %d: %s", path, je.line, je.text);
    char base[512];
    snprintf(base, sizeof base, "%s", path);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(base, sizeof base, ".");
    ecg_code rc = ECG_OK;
    const char *k;
    json_t *v, *model = NULL;
    if (!json_is_object(root)) {
        rc = err_set(err, ECG_EINVAL, "%s: must hold a JSON object", path);
        goto out;
    }
    json_object_foreach(root, k, v) {
        if (!strcmp(k, "name")) {
            if (!json_is_string(v))
                rc = err_set(err, ECG_EINVAL, "name: must be a string");
            else
                snprintf(c->name, sizeof c->name, "%s", json_string_value(v));
        } else if (!strcmp(k, "description")) {
            if (!json_is_string(v)) rc = err_set(err, ECG_EINVAL, "description: must be a string");
        } else if (!strcmp(k, "dataset"))
            rc = get_path(v, "dataset", base, c->dataset, sizeof c->dataset, err);
        else if (!strcmp(k, "sizes") || !strcmp(k, "seeds")) {
            int is_sizes = k[1] == 'i', max = is_sizes ? STUDY_MAX_SIZES : STUDY_MAX_SEEDS;
            if (!json_is_array(v) || json_array_size(v) < 1 || (int)json_array_size(v) > max) {
                rc = err_set(err, ECG_EINVAL, "%s: must be an array of 1 to %d integers", k, max);
                break;
            }
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                char key[48];
                snprintf(key, sizeof key, "%s[%zu]", k, i);
                if (is_sizes)
                    rc = get_i64(x, key, 0, INT64_MAX, &c->sizes[i], err);
                else
                    rc = get_u64(x, key, &c->seeds[i], err);
                if (rc) break;
            }
            if (is_sizes)
                c->n_sizes = (int)json_array_size(v);
            else
                c->n_seeds = (int)json_array_size(v);
        } else if (!strcmp(k, "objectives"))
            rc = parse_objectives(c, v, base, err);
        else if (!strcmp(k, "model"))
            model = v;
        else if (!strcmp(k, "tasks"))
            rc = parse_tasks(c, v, base, err);
        else if (!strcmp(k, "epochs"))
            rc = get_int(v, k, 1, &c->epochs, err);
        else if (!strcmp(k, "batch"))
            rc = get_int(v, k, 1, &c->batch, err);
        else if (!strcmp(k, "threads"))
            rc = get_int(v, k, 0, &c->threads, err);
        else if (!strcmp(k, "bootstrap"))
            rc = get_int(v, k, 2, &c->bootstrap, err);
        else if (!strcmp(k, "val_records"))
            rc = get_i64(v, k, 0, INT64_MAX, &c->val_records, err);
        else if (!strcmp(k, "split_seed"))
            rc = get_u64(v, k, &c->split_seed, err);
        else if (!strcmp(k, "probe_seed"))
            rc = get_u64(v, k, &c->probe_seed, err);
        else if (!strcmp(k, "bootstrap_seed"))
            rc = get_u64(v, k, &c->bootstrap_seed, err);
        else if (!strcmp(k, "mapping"))
            rc = parse_mapping(c, v, err);
        else if (!strcmp(k, "finetune"))
            rc = parse_finetune(c, v, err);
        else
            rc = err_set(err, ECG_EINVAL, "%.64s: unknown key", k);
        if (rc) break;
    }
    if (!rc && model) { /* after the objectives, whatever the key order */
        struct encoder_config enc;
        char mp[1024];
        if (json_is_string(model)) {
            rc = get_path(model, "model", base, mp, sizeof mp, err);
            if (!rc) rc = encoder_config_from_json_file(&enc, mp, err);
        } else if (json_is_object(model))
            rc = encoder_config_from_json(&enc, model, err);
        else
            rc = err_set(err, ECG_EINVAL, "model: must be a file name or an object");
        for (int o = 0; o < c->n_objectives && !rc; o++) {
            c->objectives[o].enc = enc;
            c->objectives[o].enc.causal = ssl_encoder_causal(c->objectives[o].ssl.kind);
        }
    }
out:
    json_decref(root);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        err_set(err, rc, "%.200s: %s", path, msg);
    }
    return rc;
}

/* ---- results ---- */

static json_t *jnum(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *interval(double m, double lo, double hi) {
    return json_pack("{s:o,s:o,s:o}", "mean", jnum(m), "lo", jnum(lo), "hi", jnum(hi));
}

json_t *study_table_to_json(const study_result *r) {
    const study_config *c = r->cfg;
    json_t *j = json_object(), *a;
    if (!j) return NULL;
    int bad = json_object_set_new(j, "study", json_string(c->name));
    bad |= json_object_set_new(
        j, "interval",
        json_string("95% two-sided Student-t over seeds: mean +- t(0.975, seeds-1) * s / "
                    "sqrt(seeds)"));
    bad |= json_object_set_new(j, "sizes", a = json_array());
    for (int s = 0; s < c->n_sizes; s++)
        bad |= json_array_append_new(a, json_integer(c->sizes[s]));
    bad |= json_object_set_new(j, "objectives", a = json_array());
    for (int o = 0; o < c->n_objectives; o++)
        bad |= json_array_append_new(a, json_string(ssl_kind_name(c->objectives[o].ssl.kind)));
    bad |= json_object_set_new(j, "seeds", a = json_array());
    for (int k = 0; k < c->n_seeds; k++)
        bad |= json_array_append_new(a, json_integer((json_int_t)c->seeds[k]));
    bad |= json_object_set_new(j, "tasks", a = json_array());
    for (int t = 0; t < c->n_tasks; t++)
        bad |= json_array_append_new(a, json_string(c->tasks[t].name));
    bad |= json_object_set_new(j, "classifiers", a = json_array());
    for (int cl = 0; cl < r->n_methods; cl++)
        bad |= json_array_append_new(a, json_string(study_classifier_name(cl)));
    bad |= json_object_set_new(j, "rows", a = json_array());
    for (int i = 0; i < r->n_rows; i++) {
        const study_row *w = &r->rows[i];
        int64_t n = c->sizes[w->size];
        json_t *jr = json_pack(
            "{s:I,s:s,s:s,s:i,s:s,s:o,s:o,s:o,s:o}", "n", (json_int_t)n, "objective",
            ssl_kind_name(c->objectives[w->objective].ssl.kind), "task", c->tasks[w->task].name,
            "seeds", w->n_seeds, "encoder", n == 0 ? "random_init" : "pretrained", "logreg_acc",
            interval(w->acc_mean[0], w->acc_lo[0], w->acc_hi[0]), "knn_acc",
            interval(w->acc_mean[1], w->acc_lo[1], w->acc_hi[1]), "val_loss",
            interval(w->val_mean, w->val_lo, w->val_hi), "raw_1nn_acc", jnum(w->raw_1nn));
        if (jr && r->n_methods > STUDY_FINETUNE)
            bad |=
                json_object_set_new(jr, "finetune_acc",
                                    interval(w->acc_mean[STUDY_FINETUNE], w->acc_lo[STUDY_FINETUNE],
                                             w->acc_hi[STUDY_FINETUNE]));
        bad |= json_array_append_new(a, jr);
    }
    bad |= json_object_set_new(j, "runs", a = json_array());
    for (int s = 0; s < c->n_sizes; s++)
        for (int o = 0; o < c->n_objectives; o++)
            for (int k = 0; k < c->n_seeds; k++) {
                const study_run *run = study_result_run(r, s, o, k);
                json_t *acc = json_object();
                for (int t = 0; t < c->n_tasks; t++) {
                    json_t *ta = json_object();
                    for (int cl = 0; cl < r->n_methods; cl++)
                        bad |= json_object_set_new(ta, study_classifier_name(cl),
                                                   jnum(run->acc[t][cl]));
                    bad |= json_object_set_new(acc, c->tasks[t].name, ta);
                }
                bad |= json_array_append_new(
                    a,
                    json_pack("{s:I,s:s,s:I,s:I,s:I,s:o,s:o,s:b,s:o}", "n", (json_int_t)c->sizes[s],
                              "objective", ssl_kind_name(c->objectives[o].ssl.kind), "seed",
                              (json_int_t)c->seeds[k], "n_train", (json_int_t)run->n_train, "steps",
                              (json_int_t)run->steps, "val_loss", jnum(run->val_loss),
                              "first_val_loss", jnum(run->first_val_loss), "skipped", run->skipped,
                              "accuracy", acc));
            }
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *study_fit_to_json(const study_result *r) {
    const study_config *c = r->cfg;
    json_t *j = json_object(), *a;
    if (!j) return NULL;
    int bad = json_object_set_new(j, "model", json_string("error = E + A * N^-alpha, N > 0"));
    bad |= json_object_set_new(j, "alpha_interval",
                               json_string("2.5-97.5% percentiles of bootstrap refits, seeds "
                                           "resampled within each size"));
    bad |= json_object_set_new(j, "curves", a = json_array());
    for (int i = 0; i < r->n_curves; i++) {
        const study_curve *u = &r->curves[i];
        bad |= json_array_append_new(
            a, json_pack(
                   "{s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:s,s:o,s:o,s:b,s:o,s:o,"
                   "s:o,s:i,s:i}",
                   "objective", ssl_kind_name(c->objectives[u->objective].ssl.kind), "task",
                   c->tasks[u->task].name, "classifier", study_classifier_name(u->classifier), "ok",
                   u->ok, "E", jnum(u->ok ? u->fit.E : NAN), "A", jnum(u->ok ? u->fit.A : NAN),
                   "alpha", jnum(u->ok ? u->fit.alpha : NAN), "alpha_lo", jnum(u->alpha_lo),
                   "alpha_hi", jnum(u->alpha_hi), "rmse", jnum(u->ok ? u->fit.rmse : NAN), "flat",
                   u->ok && u->fit.flat, "note", u->note, "error_n0", jnum(u->err_n0),
                   "error_largest", jnum(u->err_largest), "accuracy_rises", u->rises,
                   "spearman_n_accuracy", jnum(u->spearman_n_acc), "pearson_val_loss_error",
                   jnum(u->pearson_loss_err), "spearman_val_loss_error", jnum(u->spearman_loss_err),
                   "bootstrap", c->bootstrap, "bootstrap_flat", u->boot_flat));
    }
    bad |= json_object_set_new(j, "cka", a = json_array());
    for (int i = 0; i < r->n_cka; i++) {
        const study_cka *k = &r->cka[i];
        json_t *m = json_array(), *sz = json_array(), *sp = json_array();
        for (int s = 0; s < c->n_sizes; s++) {
            json_t *row = json_array();
            for (int t = 0; t < c->n_sizes; t++)
                bad |= json_array_append_new(row, jnum(k->size_matrix[s * c->n_sizes + t]));
            bad |= json_array_append_new(m, row);
            bad |= json_array_append_new(sz, json_integer(c->sizes[s]));
            bad |= json_array_append_new(sp, jnum(k->seed_pairs[s]));
        }
        bad |=
            json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:o,s:o}", "objective",
                                               ssl_kind_name(c->objectives[k->objective].ssl.kind),
                                               "task", c->tasks[k->task].name, "sizes", sz,
                                               "size_matrix", m, "across_seeds", sp));
    }
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}
