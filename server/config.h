/* config.h — the settings of `ecgfm serve` and where they come from: built-in defaults, then a JSON
 * config file, then ECGFM_* environment variables, then command-line flags (later wins). */
#ifndef ECGFM_SERVER_CONFIG_H
#define ECGFM_SERVER_CONFIG_H

#include <stdio.h>

#include "core/base/error.h"

#define CONFIG_MAX_STR 1024

typedef struct {
    char host[CONFIG_MAX_STR];         /* address to bind: numeric IPv4/IPv6 or a resolvable name */
    long long port;                    /* 0 asks the kernel for a free port (printed at start) */
    char data_dir[CONFIG_MAX_STR];     /* blobs and, later, the SQLite database live here */
    long long max_connections;         /* concurrent connections; more are refused at accept */
    long long connection_timeout_s;    /* an idle connection is closed after this many seconds */
    long long max_body_bytes;          /* larger request bodies get 413 */
    long long connection_memory_bytes; /* per-connection buffer; bounds request line + headers */
    long long listen_backlog;
    long long metrics_require_key;     /* 1: GET /metrics wants an API key with read scope */
    char model[CONFIG_MAX_STR];        /* default embedding checkpoint, loaded at start-up */
    long long embed_max_batch;         /* windows per encoder forward */
    long long embed_max_wait_us;       /* how long a batch waits for more requests */
    long long embed_queue_max;         /* embed requests queued or running; more get 429 */
    long long embed_threads;           /* compute threads of the embed worker, 0 = all cores */
    long long embed_max_windows;       /* 2.5 s windows per record (413 beyond) */
    long long jobs_max_running;        /* jobs running at once */
    long long jobs_threads;            /* compute threads per job */
    long long jobs_max_streams;        /* concurrent job event (SSE) streams */
    long long jobs_heartbeat_s;        /* SSE heartbeat comment interval */
    char configs_dir[CONFIG_MAX_STR];  /* model configs for jobs (configs_dir/models/NAME.json) */
    char config_path[CONFIG_MAX_STR]; /* the file read, "" when none */
    /* datasets (server/routes_datasets.c, datasets.c) */
    long long max_upload_bytes;        /* bodies of upload routes (413 beyond) */
    char import_roots[CONFIG_MAX_STR]; /* colon-separated absolute dirs import jobs may read */
    /* transfer, classify, embed batch (server/routes_transfer.h) */
    long long transfer_max_series;     /* train + test series of POST /v1/transfer (413 beyond) */
    long long transfer_queue_max;      /* transfer/classify requests queued or running (429) */
    long long transfer_threads;        /* compute threads of the transfer worker, 0 = all cores */
    long long classify_max_series;     /* series per POST /v1/classify (413 beyond) */
    long long classify_max_length;     /* samples per channel of one classify series (413) */
    long long embed_batch_max_records; /* records per POST /v1/embed/batch (413 beyond) */
} server_config;

void config_set_defaults(server_config *cfg);
/* Resolve cfg from defaults, the config file (--config FILE, else $ECGFM_CONFIG, else none), the
 * environment and args (the arguments after `serve`). ECG_EINVAL for a bad flag or value, ECG_EIO
 * or ECG_EFORMAT for an unreadable config file; err says which source and which setting. */
ecg_code config_load(server_config *cfg, int argc, char **argv, ecg_err *err);
/* Apply one JSON config file on top of cfg. */
ecg_code config_apply_file(server_config *cfg, const char *path, ecg_err *err);
/* One line per setting: flag, environment variable, config key, default, meaning. */
void config_print_options(FILE *out);

#endif
