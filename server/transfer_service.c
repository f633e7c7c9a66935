/* transfer_service.c — transfer_service_run (see transfer_service.h): the stored checkpoint and
 * task dataset through transfer_run as `ecgfm transfer` runs it, and the linear probe kept on
 * request. */
#include "server/transfer_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/transfer_json.h"
#include "api/transfer_request.h"
#include "core/base/threads.h"
#include "core/format/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/transfer/classify.h"
#include "core/transfer/transfer.h"
#include "server/checkpoints.h"
#include "server/cli_common.h"
#include "server/datasets.h"
#include "server/probes.h"

static int cancelled(const atomic_int *cancel) {
    return cancel && atomic_load(cancel);
}

/* The pretraining objective a checkpoint names in its metadata ("" when none). */
static void read_objective(const char *path, char *out, size_t cap) {
    st_file f;
    ecg_err err = {0};
    out[0] = '\0';
    if (st_read_file(&f, path, &err)) return;
    const char *obj = st_meta_get(&f, "ecgfm.pretrain.objective");
    if (obj) snprintf(out, cap, "%s", obj);
    st_free(&f);
}

/* The linear probe as transfer_run fits it for the checkpoint (same embeddings, options and seed),
 * scored on test, stored with what classify needs. */
static ecg_code save_probe(db *d, const char *data_dir, encoder *e, const transfer_opts *o,
                           const task_split *train, const task_split *test,
                           const checkpoint_info *ck, const dataset_info *ds, long long job_id,
                           long long *probe_id, ecg_err *err) {
    int dim = encoder_get_config(e)->d_model, K = test->n_classes;
    float *xtr = malloc((size_t)train->n_series * (size_t)dim * sizeof *xtr);
    float *xte = malloc((size_t)test->n_series * (size_t)dim * sizeof *xte);
    int *pred = malloc((size_t)test->n_series * sizeof *pred);
    float *prob = malloc((size_t)test->n_series * (size_t)K * sizeof *prob);
    probe_model m;
    memset(&m, 0, sizeof m);
    transfer_score sc;
    memset(&sc, 0, sizeof sc);
    json_t *metrics = NULL, *spec = NULL;
    ecg_code rc = ECG_OK;
    if (!xtr || !xte || !pred || !prob) {
        rc = err_set(err, ECG_ENOMEM, "out of memory fitting the probe");
        goto done;
    }
    rc = transfer_embed_split(e, &o->map, train, xtr, NULL, err);
    if (!rc) rc = transfer_embed_split(e, &o->map, test, xte, NULL, err);
    probe_options po;
    probe_options_default(&po);
    po.seed = o->seed;
    if (!rc)
        rc = probe_fit(&m, PROBE_LOGREG, xtr, train->label, train->n_series, dim, K,
                       (const char *const *)test->class_names, &po, err);
    if (!rc) rc = probe_predict(&m, xte, test->n_series, pred, prob, err);
    char param[64];
    snprintf(param, sizeof param, "C=%g", m.C);
    if (!rc)
        rc = transfer_score_compute(&sc, "logreg", param, test->label, pred, prob, test->n_series,
                                    K, err);
    if (rc) goto done;
    metrics = transfer_score_to_json(&sc);
    json_t *names = json_array();
    for (int c = 0; names && c < K; c++)
        json_array_append_new(names, json_string(test->class_names[c]));
    spec = json_pack("{s:o, s:o, s:i, s:i, s:i, s:s, s:s, s:I, s:{s:I, s:s, s:s}, s:{s:I, s:s}}",
                     "mapping", transfer_mapping_json(&o->map), "class_names", names, "n_classes",
                     K, "n_dims", train->n_dims, "dim", dim, "classifier", "logreg", "param", param,
                     "seed", (json_int_t)o->seed, "checkpoint", "id", (json_int_t)ck->id, "name",
                     ck->name, "sha256", ck->sha256, "task", "id", (json_int_t)ds->id, "name",
                     ds->name);
    if (!metrics || !spec) {
        rc = err_set(err, ECG_ENOMEM, "out of memory describing the probe");
        goto done;
    }
    json_object_set_new(metrics, "n_test", json_integer(test->n_series));
    json_object_set_new(metrics, "n_train", json_integer(train->n_series));
    rc = probes_store(d, data_dir, &m, ck->id, ds->id, job_id, metrics, spec, probe_id, err);
done:
    free(xtr);
    free(xte);
    free(pred);
    free(prob);
    probe_free(&m);
    transfer_score_free(&sc);
    json_decref(metrics);
    json_decref(spec);
    return rc;
}

ecg_code transfer_service_run(db *d, const char *data_dir, const transfer_service_request *rq,
                              const atomic_int *cancel, json_t **report, ecg_err *err) {
    *report = NULL;
    if (rq->threads > 0) threads_set(rq->threads);
    checkpoint_info ck;
    dataset_info ds;
    int f = checkpoints_lookup(d, data_dir, rq->checkpoint ? rq->checkpoint : "default", &ck, err);
    if (f < 0) return err->code ? err->code : ECG_EIO;
    if (f == 0)
        return err_set(err, ECG_ENOTFOUND, "checkpoint \"%.100s\" does not exist",
                       rq->checkpoint ? rq->checkpoint : "default");
    f = rq->task ? datasets_lookup(d, data_dir, rq->task, &ds, err) : 0;
    if (f < 0) return err->code ? err->code : ECG_EIO;
    if (f == 0)
        return err_set(err, ECG_ENOTFOUND, "task dataset \"%.100s\" does not exist",
                       rq->task ? rq->task : "");
    if (ds.kind != DATASET_TASK)
        return err_set(err, ECG_EINVAL, "dataset \"%s\" is an ECG dataset, not a task dataset",
                       ds.name);
    if (strcmp(ds.state, "ready") != 0)
        return err_set(err, ECG_EINVAL, "task dataset \"%s\" is %s, not ready", ds.name, ds.state);
    if (!ds.train[0] || !ds.test[0])
        return err_set(err, ECG_EINVAL,
                       "task dataset \"%s\" has no %s split yet (PUT "
                       "/v1/datasets/%lld/splits/%s)",
                       ds.name, ds.train[0] ? "test" : "train", ds.id,
                       ds.train[0] ? "test" : "train");
    transfer_opts o;
    transfer_opts_default(&o);
    o.seed = rq->seed;
    /* The mapping's own checks first (no split read for a bad request). */
    ecg_code rc = transfer_mapping_parse(rq->mapping, 0, &o.map, err);
    if (rc) return rc;

    task_split train = {0}, test = {0};
    encoder *e = NULL;
    transfer_report r;
    memset(&r, 0, sizeof r);
    int have_report = 0;
    rc = cli_read_splits(ds.train, ds.test, &train, &test, err);
    if (rc) {
        /* A split that does not read is the dataset's problem, not the server's. */
        if (rc != ECG_ENOMEM) rc = ECG_EINVAL;
        return rc;
    }
    rc = transfer_mapping_parse(rq->mapping, train.n_dims, &o.map, err);
    if (rc) goto done;
    if (cancelled(cancel)) {
        rc = err_set(err, ECG_EINVAL, "cancelled");
        goto done;
    }
    rc = checkpoint_load_encoder(ck.path, TRANSFER_BATCH, ENC_INFERENCE_ONLY, &e, err);
    if (rc) goto done;
    char objective[64];
    read_objective(ck.path, objective, sizeof objective);
    rc = transfer_run(e, NULL, &o, &train, &test, &r, err);
    if (rc) goto done;
    have_report = 1;
    json_t *j = transfer_report_to_json(&r);
    if (!j || json_object_set_new(j, "checkpoint_id", json_integer(ck.id)) ||
        json_object_set_new(j, "checkpoint_name", json_string(ck.name)) ||
        json_object_set_new(j, "objective", objective[0] ? json_string(objective) : json_null()) ||
        json_object_set_new(j, "task_dataset_id", json_integer(ds.id)) ||
        json_object_set_new(j, "task_dataset", json_string(ds.name))) {
        json_decref(j);
        rc = err_set(err, ECG_ENOMEM, "out of memory writing the report");
        goto done;
    }
    if (rq->save_probe) {
        if (cancelled(cancel)) {
            json_decref(j);
            rc = err_set(err, ECG_EINVAL, "cancelled");
            goto done;
        }
        long long pid = 0;
        rc = save_probe(d, data_dir, e, &o, &train, &test, &ck, &ds, rq->job_id, &pid, err);
        if (rc) {
            json_decref(j);
            goto done;
        }
        json_object_set_new(j, "probe_id", json_integer(pid));
    }
    *report = j;
done:
    if (have_report) transfer_report_free(&r);
    encoder_free(e);
    task_split_free(&train);
    task_split_free(&test);
    return rc;
}
