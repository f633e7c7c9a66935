/* job_pretrain.c — the pretrain job kind: pretrain_run on a dataset under data_dir/datasets/ with
 * the job's state in data_dir/jobs/<id>/ (always resumed), its final checkpoint recorded as a row.
 */
#include "server/job_kind.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/encoder_config_json.h"
#include "api/jobs.h"
#include "core/data/store.h"
#include "core/train/pretrain.h"
#include "server/checkpoints.h"
#include "server/jobs_impl.h"

static const char SQL_CHECKPOINT[] =
    "INSERT INTO checkpoints (name, path, sha256, size_bytes, model_config, objective, subset_size,"
    " step, val_loss, job_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/* The dataset must be a readable store: 404 when absent, 422 when it cannot be read. */
static int pretrain_check(jobs *j, json_t *params, api_response *res) {
    const char *name = json_string_value(json_object_get(params, "dataset"));
    char dir[1400];
    snprintf(dir, sizeof dir, "%s/datasets/%s", j->data_dir, name ? name : "");
    store_dataset *ds = NULL;
    ecg_err err = {0};
    ecg_code rc = store_open(&ds, dir, 0, &err);
    if (rc) {
        if (rc == ECG_ENOTFOUND)
            api_response_error(res, 404, "dataset_not_found", "no dataset \"%s\" (datasets/%s)",
                               name, name);
        else
            api_response_error(res, 422, "invalid_dataset", "dataset \"%s\" cannot be read: %s",
                               name, err.msg);
        return -1;
    }
    store_close(ds);
    return 0;
}

static json_t *metrics_obj(const ssl_metrics *m) {
    json_t *o = json_object();
    for (int i = 0; o && i < m->n; i++)
        json_object_set_new(o, m->m[i].name, job_num(m->m[i].value));
    return o;
}

static const char *event_name(pretrain_event e) {
    switch (e) {
    case PRETRAIN_EV_STEP: return "step";
    case PRETRAIN_EV_VAL: return "validation";
    case PRETRAIN_EV_CHECKPOINT: return "checkpoint";
    default: return "done";
    }
}

static void on_progress(void *ctx, const pretrain_progress *p) {
    job_ctx *x = ctx;
    if (p->event == PRETRAIN_EV_DONE) return; /* the final row is written by the scheduler */
    job_set_throughput(x, p->windows_per_s);
    if (p->event == PRETRAIN_EV_STEP) job_count_step(x);
    json_t *pj = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "event",
        event_name(p->event), "step", (json_int_t)p->step, "total_steps",
        (json_int_t)p->total_steps, "epoch", (json_int_t)p->epoch, "epochs", (json_int_t)p->epochs,
        "loss", job_num(p->train_loss), "loss_avg", job_num(p->train_loss_avg), "val_loss",
        job_num(p->val_loss), "windows_per_s", job_num(p->windows_per_s), "eta_s",
        job_num(p->eta_s), "elapsed_s", job_num(p->elapsed_s), "metrics",
        metrics_obj(&p->train_metrics), "val_metrics", metrics_obj(&p->val_metrics));
    job_progress(x, pj, p->event != PRETRAIN_EV_STEP || p->step >= p->total_steps);
}

static ecg_code pretrain_job(job_ctx *x, job_outcome *out, ecg_err *err) {
    pretrain_config cfg;
    char dataset[JOBS_DATASET_MAX + 1] = "";
    char *params = json_dumps(x->params, JSON_COMPACT);
    if (!params) return err_set(err, ECG_ENOMEM, "out of memory");
    ecg_code rc = jobs_pretrain_config(params, &cfg, dataset, sizeof dataset, err);
    free(params);
    char ddir[1400], odir[1400];
    if (!rc) rc = job_dir(x, odir, sizeof odir, err);
    if (rc) return rc;
    snprintf(ddir, sizeof ddir, "%s/datasets/%s", x->data_dir, dataset);
    /* Always resume: a fresh job has no state and starts afresh; a job that a crash, a shutdown,
     * a cancel or a failure interrupted continues exactly where its state was. */
    pretrain_hooks hooks = {on_progress, x, x->cancel, 1, dataset};
    pretrain_result pr;
    memset(&pr, 0, sizeof pr);
    rc = pretrain_run(&cfg, ddir, odir, &hooks, &pr, err);
    job_set_throughput(x, 0);
    if (rc) return rc;
    if (pr.status == PRETRAIN_CANCELLED) {
        out->stopped = 1;
        out->event = json_pack("{s:I}", "step", (json_int_t)pr.step);
        return ECG_OK;
    }
    char ck_rel[256], path[1400], hex[65];
    long long size = 0;
    snprintf(ck_rel, sizeof ck_rel, "jobs/%lld/checkpoint.safetensors", x->id);
    snprintf(path, sizeof path, "%s/%s", x->data_dir, ck_rel);
    json_t *mj = encoder_config_to_json(&cfg.enc);
    char *model_text = mj ? json_dumps(mj, JSON_COMPACT) : NULL;
    json_decref(mj);
    if (!model_text) return err_set(err, ECG_ENOMEM, "out of memory");
    ecg_err ferr = {0};
    if (checkpoints_hash_file(path, hex, &size, &ferr)) {
        free(model_text);
        return err_set(err, ferr.code, "the final checkpoint cannot be recorded: %s", ferr.msg);
    }
    /* The row's fields ride in the result until record() writes the row. */
    out->result = json_pack(
        "{s:{s:n, s:s, s:s, s:I}, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:I, s:s, "
        "s:{s:s, s:s, s:I, s:o}}",
        "checkpoint", "id", "path", ck_rel, "sha256", hex, "size_bytes", (json_int_t)size, "step",
        (json_int_t)pr.step, "total_steps", (json_int_t)pr.total_steps, "resumed_from_step",
        (json_int_t)pr.start_step, "first_val_loss", job_num(pr.first_val_loss), "last_val_loss",
        job_num(pr.last_val_loss), "val_metrics", metrics_obj(&pr.last_val_metrics), "n_train",
        (json_int_t)pr.n_train, "n_val", (json_int_t)pr.n_val, "dataset", dataset, "_row",
        "model_config", model_text, "objective", ssl_kind_name(cfg.ssl.kind), "n_train",
        (json_int_t)pr.n_train, "val_loss", job_num(pr.last_val_loss));
    free(model_text);
    out->event = json_pack("{s:I}", "step", (json_int_t)pr.step);
    if (!out->result) return err_set(err, ECG_ENOMEM, "out of memory");
    return ECG_OK;
}

/* The checkpoint row, in the transaction that marks the job succeeded. */
static ecg_code pretrain_record(db_conn *c, job_ctx *x, json_t *result, ecg_err *err) {
    json_t *row = json_object_get(result, "_row");
    json_t *ck = json_object_get(result, "checkpoint");
    sqlite3_stmt *st = db_stmt(c, SQL_CHECKPOINT, err);
    if (!st) return err->code;
    char name[64];
    snprintf(name, sizeof name, "job-%lld", x->id);
    json_t *vl = json_object_get(row, "val_loss");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, json_string_value(json_object_get(ck, "path")), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, json_string_value(json_object_get(ck, "sha256")), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(ck, "size_bytes")));
    sqlite3_bind_text(st, 5, json_string_value(json_object_get(row, "model_config")), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 6, json_string_value(json_object_get(row, "objective")), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, json_integer_value(json_object_get(row, "n_train")));
    sqlite3_bind_int64(st, 8, json_integer_value(json_object_get(result, "step")));
    if (json_is_number(vl))
        sqlite3_bind_double(st, 9, json_number_value(vl));
    else
        sqlite3_bind_null(st, 9);
    sqlite3_bind_int64(st, 10, x->id);
    sqlite3_bind_int64(st, 11, jobs_now_s());
    ecg_code rc =
        sqlite3_step(st) == SQLITE_DONE ? ECG_OK : db_fail(c, err, "recording the checkpoint");
    sqlite3_reset(st);
    if (!rc) json_object_set_new(ck, "id", json_integer(sqlite3_last_insert_rowid(db_handle(c))));
    json_object_del(result, "_row");
    return rc;
}

const job_kind JOB_KIND_PRETRAIN = {"pretrain", pretrain_check, NULL, pretrain_job,
                                    pretrain_record};
