/* health.c — /healthz and /readyz bodies (see health.h).
 * Readiness checks the data directory and the database (open, migrations applied); loaded models
 * join later. */
#include "api/health.h"

void health_get_healthz(const health_state *s, api_response *res) {
    json_t *json = json_pack("{s:s, s:s, s:I}", "status", "ok", "version", s->version, "uptime_s",
                             (json_int_t)s->uptime_s);
    api_response_json(res, 200, json);
}

void health_get_readyz(const health_state *s, api_response *res) {
    if (!s->data_dir_ok) {
        api_response_error(res, 503, "not_ready", "data directory %s is not usable: %s",
                           s->data_dir, s->data_dir_error ? s->data_dir_error : "unknown reason");
        return;
    }
    if (!s->db_ready) {
        api_response_error(res, 503, "not_ready", "database is not ready: %s",
                           s->db_error ? s->db_error : "unknown reason");
        return;
    }
    if (s->model_path && s->model_state != 1) {
        api_response_error(res, 503, "not_ready", "the default model is not loaded: %s",
                           s->model_error ? s->model_error : "unknown reason");
        return;
    }
    json_t *json = json_pack("{s:b, s:s, s:{s:{s:b, s:s}, s:{s:b, s:i}}}", "ready", 1, "version",
                             s->version, "checks", "data_dir", "ok", 1, "path", s->data_dir,
                             "database", "ok", 1, "schema_version", s->schema_version);
    if (json && s->model_path)
        json_object_set_new(json_object_get(json, "checks"), "model",
                            json_pack("{s:b, s:s}", "ok", 1, "path", s->model_path));
    api_response_json(res, 200, json);
}
