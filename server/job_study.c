/* job_study.c — the study job kind: study_run_all into data_dir/studies/<study id>/ with the files
 * `ecgfm study` writes; a studies row is inserted with the job and follows its state
 * (0004_jobs.sql). A study that a crash, shutdown or cancel interrupted resumes: finished runs are
 * kept. */
#include "server/job_kind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/study_json.h"
#include "api/studies_json.h"
#include "core/base/threads.h"
#include "core/study/study.h"
#include "server/datasets.h"
#include "server/jobs_impl.h"

static const char SQL_INSERT[] =
    "INSERT INTO studies (name, spec, state, job_id, created_at) VALUES (?1, ?2, 'queued', ?3, ?4)";
static const char SQL_STUDY_OF_JOB[] = "SELECT id FROM studies WHERE job_id = ?1";

static int study_check(struct jobs *j, json_t *params, api_response *res) {
    dataset_info di;
    if (job_ref_check(j, params, "dataset", JOB_REF_ECG, &di, res)) return -1;
    json_t *tasks = json_object_get(params, "tasks");
    for (size_t i = 0; i < json_array_size(tasks); i++) {
        json_t *one = json_pack("{s:O}", "task", json_array_get(tasks, i));
        if (!one) {
            api_response_error(res, 500, "out_of_memory", "out of memory");
            return -1;
        }
        int bad = job_ref_check(j, one, "task", JOB_REF_TASK, &di, res);
        if (!bad && json_array_set(tasks, i, json_object_get(one, "task"))) {
            api_response_error(res, 500, "out_of_memory", "out of memory");
            bad = 1;
        }
        json_decref(one);
        if (bad) return -1;
    }
    /* Two references to one task (its id and its name) would be two columns of one task. */
    for (size_t i = 0; i < json_array_size(tasks); i++)
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(tasks, i), json_array_get(tasks, k))) {
                api_response_error(res, 422, "invalid_value", "params.tasks names \"%s\" twice",
                                   json_string_value(json_array_get(tasks, i)));
                return -1;
            }
    return 0;
}

static ecg_code study_insert(db_conn *c, long long id, const json_t *params, ecg_err *err) {
    char *spec = json_dumps(params, JSON_COMPACT);
    if (!spec) return err_set(err, ECG_ENOMEM, "out of memory");
    sqlite3_stmt *st = db_stmt(c, SQL_INSERT, err);
    ecg_code rc = st ? ECG_OK : err->code;
    if (st) {
        const char *name = json_string_value(json_object_get(params, "name"));
        sqlite3_bind_text(st, 1, name ? name : "study", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, id);
        sqlite3_bind_int64(st, 4, jobs_now_s());
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "creating the study");
        sqlite3_reset(st);
    }
    free(spec);
    return rc;
}

/* study_run_all's progress lines, turned into progress events as they come. */
typedef struct {
    job_ctx *x;
    char line[512];
    size_t len;
    int runs_total, runs_started;
} study_log;

static void log_line(study_log *l) {
    l->line[l->len] = '\0';
    if (!strncmp(l->line, "pretrain ", 9)) l->runs_started++;
    job_progress(l->x,
                 json_pack("{s:s, s:s, s:i, s:i}", "event", "study", "message", l->line,
                           "pretraining_runs_started", l->runs_started, "pretraining_runs",
                           l->runs_total),
                 1);
    l->len = 0;
}

static ssize_t log_write(void *cookie, const char *buf, size_t size) {
    study_log *l = cookie;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n') {
            log_line(l);
        } else if (l->len + 1 < sizeof l->line) {
            l->line[l->len++] = buf[i];
        }
    }
    return (ssize_t)size;
}

static ecg_code write_json_file(json_t *j, const char *dir, const char *name, ecg_err *err) {
    char path[1600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!j || json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) != 0)
        return err_set(err, ECG_EIO, "cannot write %s", path);
    return ECG_OK;
}

/* The output files `ecgfm study` writes (cli_study.c), and the result: {"study_id", "table",
 * "fit", "files"}. */
static ecg_code write_outputs(const study_result *r, const char *dir, long long sid,
                              json_t **result, ecg_err *err) {
    char path[1600];
    ecg_code rc = ECG_OK;
    json_t *files = json_array();
    static const char *const names[] = {"table.csv", "scaling.svg", "scaling_knn.svg",
                                        "loss.svg",  "README.md",   "scaling_finetune.svg"};
    for (int k = 0; k < 6 && !rc; k++) {
        if (k == 5 && r->n_methods <= STUDY_FINETUNE) continue;
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        switch (k) {
        case 0: rc = study_write_csv(r, path, err); break;
        case 1: rc = study_write_scaling_svg(r, 0, path, err); break;
        case 2: rc = study_write_scaling_svg(r, 1, path, err); break;
        case 3: rc = study_write_loss_svg(r, path, err); break;
        case 4: rc = study_write_readme(r, path, err); break;
        default: rc = study_write_scaling_svg(r, STUDY_FINETUNE, path, err); break;
        }
        json_array_append_new(files, json_string(names[k]));
    }
    json_t *table = rc ? NULL : study_table_to_json(r);
    json_t *fit = rc ? NULL : study_fit_to_json(r);
    if (!rc) rc = write_json_file(table, dir, "table.json", err);
    if (!rc) rc = write_json_file(fit, dir, "fit.json", err);
    json_array_append_new(files, json_string("table.json"));
    json_array_append_new(files, json_string("fit.json"));
    if (!rc) {
        *result = json_pack("{s:I, s:O, s:O, s:O}", "study_id", (json_int_t)sid, "table", table,
                            "fit", fit, "files", files);
        if (!*result) rc = err_set(err, ECG_ENOMEM, "out of memory");
    }
    json_decref(table);
    json_decref(fit);
    json_decref(files);
    return rc;
}

static ecg_code study_job(job_ctx *x, job_outcome *out, ecg_err *err) {
    long long sid = 0;
    db_conn *c = db_reader_get(x->db);
    sqlite3_stmt *st = db_stmt(c, SQL_STUDY_OF_JOB, err);
    if (st) {
        sqlite3_bind_int64(st, 1, x->id);
        if (sqlite3_step(st) == SQLITE_ROW) sid = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    db_reader_put(x->db, c);
    if (!sid) return err_set(err, ECG_ENOTFOUND, "the job's study row is missing");

    /* The datasets as they are now: their directories and split files. */
    dataset_info ds;
    ecg_code rc = job_ref_get(x, "dataset", JOB_REF_ECG, &ds, err);
    if (rc) return rc;
    json_t *tasks = json_object_get(x->params, "tasks");
    int n = (int)json_array_size(tasks);
    if (n < 1 || n > STUDY_MAX_TASKS) return err_set(err, ECG_EINVAL, "stored tasks are invalid");
    dataset_info *ti = calloc((size_t)n, sizeof *ti);
    studies_task_files tf[STUDY_MAX_TASKS];
    if (!ti) return err_set(err, ECG_ENOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        char why[400];
        const char *ref = json_string_value(json_array_get(tasks, (size_t)i));
        int status = job_ref_lookup(x->db, x->data_dir, JOB_REF_TASK, "tasks", ref ? ref : "",
                                    &ti[i], why, sizeof why);
        if (status) rc = err_set(err, status == 404 ? ECG_ENOTFOUND : ECG_EINVAL, "%s", why);
        tf[i] = (studies_task_files){ti[i].name, ti[i].train, ti[i].test};
    }
    char dir[1400], path[1600];
    snprintf(dir, sizeof dir, "%s/studies", x->data_dir);
    if (!rc && mkdir(dir, 0750) != 0 && errno != EEXIST)
        rc = err_set(err, ECG_EIO, "cannot create %s: %s", dir, strerror(errno));
    snprintf(dir, sizeof dir, "%s/studies/%lld", x->data_dir, sid);
    if (!rc && mkdir(dir, 0750) != 0 && errno != EEXIST)
        rc = err_set(err, ECG_EIO, "cannot create %s: %s", dir, strerror(errno));
    /* study.json: the config as `ecgfm study --config study.json` reads it, so the study can be
     * rerun or resumed by hand too. */
    snprintf(path, sizeof path, "%s/study.json", dir);
    json_t *config = rc ? NULL : studies_config_json(x->params, ds.dir, tf, n);
    if (!rc && !config) rc = err_set(err, ECG_ENOMEM, "out of memory");
    study_config *cfg = rc ? NULL : malloc(sizeof *cfg);
    if (!rc && !cfg) rc = err_set(err, ECG_ENOMEM, "out of memory");
    if (!rc) rc = studies_config_load(config, path, cfg, err);
    json_decref(config);
    free(ti);
    if (rc) {
        free(cfg);
        return rc;
    }
    cfg->threads = x->threads;
    threads_set(cfg->threads);
    /* Pretraining runs: N = 0 is the random init, embedded but not pretrained. */
    int pretrained_sizes = 0;
    for (int i = 0; i < cfg->n_sizes; i++)
        pretrained_sizes += cfg->sizes[i] > 0;
    study_log sl = {.x = x, .runs_total = pretrained_sizes * cfg->n_objectives * cfg->n_seeds};

    cookie_io_functions_t io = {NULL, log_write, NULL, NULL};
    FILE *log = fopencookie(&sl, "w", io);
    if (log) setvbuf(log, NULL, _IOLBF, 0);
    study_hooks hooks = {log, x->cancel};
    study_result r;
    memset(&r, 0, sizeof r);
    job_log(x, "study %lld: %d sizes x %d objectives x %d seeds, %d task%s, in studies/%lld/", sid,
            cfg->n_sizes, cfg->n_objectives, cfg->n_seeds, cfg->n_tasks,
            cfg->n_tasks == 1 ? "" : "s", sid);
    rc = study_run_all(cfg, dir, &hooks, &r, err);
    if (log) fclose(log);
    if (!rc) rc = write_outputs(&r, dir, sid, &out->result, err);
    if (!rc)
        out->event = json_pack("{s:I, s:i, s:i}", "study_id", (json_int_t)sid, "runs_pretrained",
                               r.n_pretrained, "runs_kept", r.n_skipped);
    study_result_free(&r);
    free(cfg);
    return job_stopped_or(x, out, rc);
}

const job_kind JOB_KIND_STUDY = {"study", study_check, study_insert, study_job, NULL};
