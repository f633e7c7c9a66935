/* health.h — the /healthz and /readyz answers: liveness (the process serves HTTP) and readiness
 * (everything it needs to do work is in place), turned from plain state into JSON. */
#ifndef ECGFM_API_HEALTH_H
#define ECGFM_API_HEALTH_H

#include "api/response.h"

typedef struct {
    const char *version;
    double uptime_s;
    const char *data_dir;
    int data_dir_ok;            /* the data directory exists and is writable */
    const char *data_dir_error; /* why not, when !data_dir_ok */
    int db_ready;               /* the database is open and its migrations ran */
    const char *db_error;       /* why not, when !db_ready */
    int schema_version;         /* highest applied migration */
    int model_state;            /* default embedding model: 1 loaded, 0 loading, -1 failed */
    const char *model_path;     /* NULL when there is no embedding worker (no model check) */
    const char *model_error;    /* why not loaded, when model_state != 1 */
} health_state;

/* 200 {"status":"ok","version":...,"uptime_s":N} (whole seconds): answering at all is the liveness
 * signal. */
void health_get_healthz(const health_state *s, api_response *res);
/* 200 {"ready":true,"version":...,"checks":{"data_dir":{...},"database":{...}}} when every check passes, else 503 in
 * the error shape naming the first failing check. */
void health_get_readyz(const health_state *s, api_response *res);

#endif
