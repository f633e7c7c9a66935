/* config.c — settings of `ecgfm serve` (see config.h). One table drives the config file keys, the
 * environment variables, the flags and the help text, so the four can never disagree. */
#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef enum { SET_STR, SET_INT } setting_kind;

typedef struct {
    const char *key;  /* config file key */
    const char *env;  /* environment variable */
    const char *flag; /* command-line flag */
    setting_kind kind;
    size_t offset;
    long long min, max; /* SET_INT only */
    const char *help;
} setting;

#define OFF(f) offsetof(server_config, f)

static const setting SETTINGS[] = {
    {"host", "ECGFM_HOST", "--host", SET_STR, OFF(host), 0, 0,
     "address to listen on (loopback by default; /v1 needs API keys, health and metrics do not)"},
    {"port", "ECGFM_PORT", "--port", SET_INT, OFF(port), 0, 65535, "TCP port; 0 picks a free one"},
    {"data_dir", "ECGFM_DATA_DIR", "--data-dir", SET_STR, OFF(data_dir), 0, 0,
     "directory for datasets, checkpoints and state (created if missing)"},
    {"max_connections", "ECGFM_MAX_CONNECTIONS", "--max-connections", SET_INT, OFF(max_connections),
     1, 10000, "concurrent connections before new ones are refused"},
    {"connection_timeout_s", "ECGFM_CONNECTION_TIMEOUT_S", "--connection-timeout-s", SET_INT,
     OFF(connection_timeout_s), 1, 3600, "seconds of inactivity before a connection is closed"},
    {"max_body_bytes", "ECGFM_MAX_BODY_BYTES", "--max-body-bytes", SET_INT, OFF(max_body_bytes), 0,
     (long long)1 << 40, "largest request body accepted (413 beyond)"},
    {"connection_memory_bytes", "ECGFM_CONNECTION_MEMORY_BYTES", "--connection-memory-bytes",
     SET_INT, OFF(connection_memory_bytes), 8192, 16 << 20,
     "per-connection buffer, bounds request line and headers"},
    {"listen_backlog", "ECGFM_LISTEN_BACKLOG", "--listen-backlog", SET_INT, OFF(listen_backlog), 1,
     65535, "pending connections the kernel queues"},
    {"metrics_require_key", "ECGFM_METRICS_REQUIRE_KEY", "--metrics-require-key", SET_INT,
     OFF(metrics_require_key), 0, 1, "1: GET /metrics needs an API key (read scope or higher)"},
    {"model", "ECGFM_MODEL", "--model", SET_STR, OFF(model), 0, 0,
     "default embedding checkpoint, loaded at start-up (/readyz is 503 until it is)"},
    {"embed_max_batch", "ECGFM_EMBED_MAX_BATCH", "--embed-max-batch", SET_INT,
     OFF(embed_max_batch), 1, 1024, "windows per encoder forward in dynamic batching"},
    {"embed_max_wait_us", "ECGFM_EMBED_MAX_WAIT_US", "--embed-max-wait-us", SET_INT,
     OFF(embed_max_wait_us), 0, 10000000, "microseconds a batch waits for more requests"},
    {"embed_queue_max", "ECGFM_EMBED_QUEUE_MAX", "--embed-queue-max", SET_INT,
     OFF(embed_queue_max), 1, 100000, "embed requests queued or running; more get 429"},
    {"embed_threads", "ECGFM_EMBED_THREADS", "--embed-threads", SET_INT, OFF(embed_threads), 0,
     1024, "compute threads of the embedding worker (0 = all cores)"},
    {"embed_max_windows", "ECGFM_EMBED_MAX_WINDOWS", "--embed-max-windows", SET_INT,
     OFF(embed_max_windows), 1, 10000000, "2.5 s windows one record may have (413 beyond)"},
    {"jobs_max_running", "ECGFM_JOBS_MAX_RUNNING", "--jobs-max-running", SET_INT,
     OFF(jobs_max_running), 1, 64, "training jobs running at once; more wait queued"},
    {"jobs_threads", "ECGFM_JOBS_THREADS", "--jobs-threads", SET_INT, OFF(jobs_threads), 1, 1024,
     "compute threads per job (its budget; a job's params.threads may ask for fewer)"},
    {"jobs_max_streams", "ECGFM_JOBS_MAX_STREAMS", "--jobs-max-streams", SET_INT,
     OFF(jobs_max_streams), 1, 10000, "concurrent GET /v1/jobs/{id}/events streams (429 beyond)"},
    {"jobs_heartbeat_s", "ECGFM_JOBS_HEARTBEAT_S", "--jobs-heartbeat-s", SET_INT,
     OFF(jobs_heartbeat_s), 1, 3600, "seconds between heartbeat comments on an idle event stream"},
    {"configs_dir", "ECGFM_CONFIGS_DIR", "--configs-dir", SET_STR, OFF(configs_dir), 0, 0,
     "directory of model configs for jobs (models/NAME.json)"},
    /* datasets */
    {"max_upload_bytes", "ECGFM_MAX_UPLOAD_BYTES", "--max-upload-bytes", SET_INT,
     OFF(max_upload_bytes), 0, (long long)1 << 40,
     "largest body of an upload route (dataset records and splits; 413 beyond)"},
    {"import_roots", "ECGFM_IMPORT_ROOTS", "--import-roots", SET_STR, OFF(import_roots), 0, 0,
     "colon-separated absolute directories server-side import jobs may read (none: disabled)"},
    /* transfer, classify and embed batch */
    {"transfer_max_series", "ECGFM_TRANSFER_MAX_SERIES", "--transfer-max-series", SET_INT,
     OFF(transfer_max_series), 1, 100000000,
     "train + test series POST /v1/transfer runs (413 beyond: use a transfer job)"},
    {"transfer_queue_max", "ECGFM_TRANSFER_QUEUE_MAX", "--transfer-queue-max", SET_INT,
     OFF(transfer_queue_max), 1, 1000,
     "transfer and classify requests queued or running (one runs at a time); more get 429"},
    {"transfer_threads", "ECGFM_TRANSFER_THREADS", "--transfer-threads", SET_INT,
     OFF(transfer_threads), 0, 1024, "compute threads of the transfer/classify worker (0 = all)"},
    {"classify_max_series", "ECGFM_CLASSIFY_MAX_SERIES", "--classify-max-series", SET_INT,
     OFF(classify_max_series), 1, 10000000, "series per POST /v1/classify (413 beyond)"},
    {"classify_max_length", "ECGFM_CLASSIFY_MAX_LENGTH", "--classify-max-length", SET_INT,
     OFF(classify_max_length), 1, 100000000,
     "samples per channel of one POST /v1/classify series (413 beyond)"},
    {"embed_batch_max_records", "ECGFM_EMBED_BATCH_MAX_RECORDS", "--embed-batch-max-records",
     SET_INT, OFF(embed_batch_max_records), 1, 100000,
     "records per POST /v1/embed/batch (413 beyond)"},
};
#define N_SETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

void config_set_defaults(server_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 8080;
    strcpy(cfg->data_dir, "./var");
    cfg->max_connections = 64;
    cfg->connection_timeout_s = 30;
    cfg->max_body_bytes = 1 << 20;
    cfg->connection_memory_bytes = 64 << 10;
    cfg->listen_backlog = 128;
    strcpy(cfg->model, "models/small/checkpoint.safetensors");
    cfg->embed_max_batch = 32;
    cfg->embed_max_wait_us = 5000;
    cfg->embed_queue_max = 256;
    cfg->embed_threads = 0;
    cfg->embed_max_windows = 1440; /* one hour */
    cfg->jobs_max_running = 1;
    cfg->jobs_threads = 1;
    cfg->jobs_max_streams = 16;
    cfg->jobs_heartbeat_s = 15;
    strcpy(cfg->configs_dir, "configs");
    cfg->transfer_max_series = 2000;
    cfg->transfer_queue_max = 4;
    cfg->transfer_threads = 1;
    cfg->classify_max_series = 1000;
    cfg->classify_max_length = 100000;
    cfg->embed_batch_max_records = 64;
    cfg->max_upload_bytes = (long long)64 << 20;
}

static const setting *find_by_key(const char *key) {
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(SETTINGS[i].key, key) == 0) return &SETTINGS[i];
    return NULL;
}

static const setting *find_by_flag(const char *flag, size_t len) {
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strlen(SETTINGS[i].flag) == len && strncmp(SETTINGS[i].flag, flag, len) == 0)
            return &SETTINGS[i];
    return NULL;
}

static ecg_code set_str(server_config *cfg, const setting *s, const char *value, const char *src,
                        ecg_err *err) {
    char *dst = (char *)cfg + s->offset;
    size_t n = strlen(value);
    if (n == 0) return err_set(err, ECG_EINVAL, "%s: %s must not be empty", src, s->key);
    if (n >= CONFIG_MAX_STR)
        return err_set(err, ECG_EINVAL, "%s: %s is longer than %d bytes", src, s->key,
                       CONFIG_MAX_STR - 1);
    json_t *probe = json_string(value); /* jansson accepts only valid UTF-8 */
    if (!probe) return err_set(err, ECG_EINVAL, "%s: %s must be valid UTF-8", src, s->key);
    json_decref(probe);
    memcpy(dst, value, n + 1);
    return ECG_OK;
}

static ecg_code set_int(server_config *cfg, const setting *s, long long v, const char *src,
                        ecg_err *err) {
    if (v < s->min || v > s->max)
        return err_set(err, ECG_EINVAL, "%s: %s = %lld is outside [%lld, %lld]", src, s->key, v,
                       s->min, s->max);
    *(long long *)((char *)cfg + s->offset) = v;
    return ECG_OK;
}

/* A setting given as text (environment or flag). */
static ecg_code set_text(server_config *cfg, const setting *s, const char *value, const char *src,
                         ecg_err *err) {
    if (s->kind == SET_STR) return set_str(cfg, s, value, src, err);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0')
        return err_set(err, ECG_EINVAL, "%s: %s wants an integer, got \"%s\"", src, s->key, value);
    return set_int(cfg, s, v, src, err);
}

ecg_code config_apply_file(server_config *cfg, const char *path, ecg_err *err) {
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson reports unreadable files and bad JSON the same way; tell them apart by errno-free
         * means: line 0/-1 means nothing was parsed because the file could not be read. */
        if (jerr.line <= 0) return err_set(err, ECG_EIO, "config %s: %s", path, jerr.text);
        return err_set(err, ECG_EFORMAT, "config %s:%d:%d: %s", path, jerr.line, jerr.column,
                       jerr.text);
    }
    ecg_code rc = ECG_OK;
    if (!json_is_object(root)) {
        rc = err_set(err, ECG_EFORMAT, "config %s: the top level must be a JSON object", path);
        goto done;
    }
    const char *key;
    json_t *val;
    char src[CONFIG_MAX_STR + 16];
    snprintf(src, sizeof src, "config %s", path);
    json_object_foreach(root, key, val) {
        const setting *s = find_by_key(key);
        if (!s) {
            rc = err_set(err, ECG_EINVAL, "%s: unknown key \"%s\" (see `ecgfm help`)", src, key);
            goto done;
        }
        if (s->kind == SET_STR) {
            if (!json_is_string(val)) {
                rc = err_set(err, ECG_EINVAL, "%s: %s must be a string", src, key);
                goto done;
            }
            rc = set_str(cfg, s, json_string_value(val), src, err);
        } else {
            if (!json_is_integer(val)) {
                rc = err_set(err, ECG_EINVAL, "%s: %s must be an integer", src, key);
                goto done;
            }
            rc = set_int(cfg, s, json_integer_value(val), src, err);
        }
        if (rc) goto done;
    }
done:
    json_decref(root);
    return rc;
}

ecg_code config_load(server_config *cfg, int argc, char **argv, ecg_err *err) {
    config_set_defaults(cfg);

    /* Pass 1: check every flag and find --config; values are applied last so that they win. */
    const char *config_path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0)
            return err_set(err, ECG_EINVAL, "unexpected argument \"%s\"", arg);
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        int is_config = len == 8 && strncmp(arg, "--config", 8) == 0;
        if (!is_config && !find_by_flag(arg, len))
            return err_set(err, ECG_EINVAL, "unknown option \"%.*s\"", (int)len, arg);
        if (!value) return err_set(err, ECG_EINVAL, "option %.*s needs a value", (int)len, arg);
        if (is_config) config_path = value;
        if (!eq) i++;
    }

    if (!config_path) {
        const char *e = getenv("ECGFM_CONFIG");
        if (e && *e) config_path = e;
    }
    if (config_path) {
        if (strlen(config_path) >= CONFIG_MAX_STR)
            return err_set(err, ECG_EINVAL, "config path is longer than %d bytes",
                           CONFIG_MAX_STR - 1);
        ecg_code rc = config_apply_file(cfg, config_path, err);
        if (rc) return rc;
        strcpy(cfg->config_path, config_path);
    }

    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *v = getenv(SETTINGS[i].env);
        if (!v || !*v) continue; /* an empty variable counts as unset */
        ecg_code rc = set_text(cfg, &SETTINGS[i], v, SETTINGS[i].env, err);
        if (rc) return rc;
    }

    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : argv[i + 1];
        if (!eq) i++;
        const setting *s = find_by_flag(arg, len);
        if (!s) continue; /* --config, handled above */
        ecg_code rc = set_text(cfg, s, value, s->flag, err);
        if (rc) return rc;
    }
    return ECG_OK;
}

void config_print_options(FILE *out) {
    server_config d;
    config_set_defaults(&d);
    fprintf(out,
            "  --config FILE  (ECGFM_CONFIG)\n      JSON object of the settings below, by key\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting *s = &SETTINGS[i];
        char def[CONFIG_MAX_STR + 2];
        if (s->kind == SET_STR)
            snprintf(def, sizeof def, "%s", (const char *)&d + s->offset);
        else
            snprintf(def, sizeof def, "%lld", *(const long long *)((const char *)&d + s->offset));
        fprintf(out, "  %s VALUE  (%s, key \"%s\", default %s)\n      %s\n", s->flag, s->env,
                s->key, def, s->help);
    }
}
