/* job_import.c — the import job kind: a WFDB tree, EDF tree or CODE-15% HDF5 file under one of the
 * server's import roots appended to an ECG dataset (datasets_import), with done/total progress. */
#include "server/job_kind.h"

#include <stdio.h>
#include <string.h>

#include "server/datasets.h"
#include "server/jobs_impl.h"

/* The path resolved inside the roots: 0, or the status it deserves with why. */
static int resolve(const char *const *roots, int n, const char *path, char *out, size_t cap,
                   char *why, size_t why_cap, const char **code) {
    if (n <= 0) {
        *code = "import_disabled";
        snprintf(why, why_cap,
                 "server-side import is disabled: the server has no import_roots configured");
        return 403;
    }
    ecg_err err = {0};
    ecg_code rc = datasets_resolve_import_path(roots, n, path, out, cap, &err);
    if (!rc) return 0;
    snprintf(why, why_cap, "params.path: %s", err.msg);
    if (rc == ECG_ENOTFOUND) {
        *code = "invalid_path";
        return 422;
    }
    *code = "path_not_allowed";
    return 403;
}

static int import_check(jobs *j, json_t *params, api_response *res) {
    dataset_info di;
    if (job_ref_check(j, params, "dataset", JOB_REF_ECG, &di, res)) return -1;
    int n = 0;
    const char *const *roots = jobs_import_roots(j, &n);
    char abs[4096], why[600];
    const char *code = "";
    int status = resolve(roots, n, json_string_value(json_object_get(params, "path")), abs,
                         sizeof abs, why, sizeof why, &code);
    if (status) {
        api_response_error(res, status, code, "%s", why);
        return -1;
    }
    return 0;
}

static void on_progress(void *ctx, size_t done, size_t total, size_t skipped) {
    job_ctx *x = ctx;
    job_progress(x,
                 json_pack("{s:s, s:I, s:I, s:I}", "event", "import", "done", (json_int_t)done,
                           "total", (json_int_t)total, "skipped", (json_int_t)skipped),
                 done >= total);
}

static ecg_code import_job(job_ctx *x, job_outcome *out, ecg_err *err) {
    dataset_info di;
    ecg_code rc = job_ref_get(x, "dataset", JOB_REF_ECG, &di, err);
    if (rc) return rc;
    /* The roots as they are now: a root removed from the config since submit no longer serves. */
    int n = 0;
    const char *const *roots = jobs_import_roots(x->run->owner, &n);
    char abs[4096], why[600];
    const char *code = "";
    if (resolve(roots, n, json_string_value(json_object_get(x->params, "path")), abs, sizeof abs,
                why, sizeof why, &code))
        return err_set(err, ECG_EINVAL, "%s", why);
    const char *format = json_string_value(json_object_get(x->params, "format"));
    job_log(x, "importing %s (%s) into dataset %s", abs, format, di.name);
    json_t *summary = NULL;
    rc = datasets_import(x->db, x->data_dir, di.id, format, abs, on_progress, x, x->cancel,
                         &summary, err);
    if (rc) {
        json_decref(summary);
        return job_stopped_or(x, out, rc);
    }
    /* Stopped between records (what was appended stays, indexed; a rerun appends the rest
     * again from the start). A cancel after the last record changes nothing. */
    json_int_t found = json_integer_value(json_object_get(summary, "found"));
    json_int_t imported = json_integer_value(json_object_get(summary, "imported"));
    json_int_t skipped = json_integer_value(json_object_get(summary, "skipped"));
    if (json_is_true(json_object_get(summary, "cancelled")) ||
        (atomic_load(x->cancel) && imported + skipped < found)) {
        json_decref(summary);
        out->stopped = 1;
        out->event = json_pack("{s:I, s:I}", "imported", imported, "found", found);
        return ECG_OK;
    }
    if (!summary) return err_set(err, ECG_ENOMEM, "out of memory");
    json_object_set_new(summary, "dataset",
                        json_pack("{s:I, s:s}", "id", (json_int_t)di.id, "name", di.name));
    json_object_set_new(summary, "path", json_string(abs));
    json_object_set_new(summary, "format", json_string(format));
    out->result = summary;
    out->event = json_pack("{s:I, s:I}", "imported", imported, "skipped", skipped);
    return ECG_OK;
}

const job_kind JOB_KIND_IMPORT = {"import", import_check, NULL, import_job, NULL};
