/* serve.c — the event loop (see serve.h). libuv owns the loop: a uv_poll on libmicrohttpd's epoll
 * descriptor, a uv_timer for its deadlines (idle timeouts), uv_signals for SIGINT/SIGTERM. One
 * thread runs all of it; training jobs will get their own threads, never this one or libuv's pool.
 */
#include "server/serve.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "server/checkpoints.h"
#include "server/datadir.h"
#include "server/datasets_impl.h"
#include "server/embed_worker.h"
#include "server/db.h"
#include "server/http.h"
#include "server/jobs.h"
#include "server/listen.h"
#include "server/routes.h"
#include "server/routes_checkpoints.h"
#include "server/probes.h"
#include "server/routes_transfer.h"
#include "server/transfer_worker.h"
#include "server/routes_datasets.h"
#include "server/version.h"

typedef struct {
    uv_loop_t loop;
    uv_poll_t poll;
    uv_timer_t timer;
    uv_signal_t sigint, sigterm;
    http_server *http;
    int stopping;
    int closing;            /* handles are closing: MHD is not run any more */
    embed_worker *embed;    /* the default model's inference thread */
    uv_timer_t grace;       /* after the embed drain: let the last answers leave */
    jobs *jobs;             /* the job scheduler (NULL without a database) */
    transfer_worker *transfer; /* POST /v1/transfer and /v1/classify run here */
    int draining;           /* shutdown steps (embed drain, jobs stop) not yet done */
} serve_state;

static void on_timer(uv_timer_t *t);

/* Let MHD do what is pending, then arm the timer for its next deadline. */
static void service_http(serve_state *s) {
    if (s->closing) return;
    long long ms = http_run(s->http);
    if (ms < 0)
        uv_timer_stop(&s->timer);
    else
        uv_timer_start(&s->timer, on_timer, (uint64_t)ms, 0);
}

/* A deferred answer resumed its connection: run MHD from the loop's next iteration (a zero timer,
 * so that MHD is never entered from inside one of its own callbacks). */
static void wake_http(void *ctx) {
    serve_state *s = ctx;
    if (!s->closing) uv_timer_start(&s->timer, on_timer, 0, 0);
}

static void on_poll(uv_poll_t *p, int status, int events) {
    (void)events;
    serve_state *s = p->data;
    if (status < 0) fprintf(stderr, "ecgfm: poll error: %s\n", uv_strerror(status));
    service_http(s);
}

static void on_timer(uv_timer_t *t) {
    service_http(t->data);
}

static void close_all(serve_state *s) {
    if (s->closing) return;
    s->closing = 1;
    /* Closing every handle lets uv_run return; the daemon is stopped after that, once nothing
     * polls its descriptor any more. */
    uv_close((uv_handle_t *)&s->poll, NULL);
    uv_close((uv_handle_t *)&s->timer, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->grace, NULL);
    embed_worker_close(s->embed);
    jobs_close(s->jobs);
    transfer_worker_close(s->transfer);
}

static void on_grace(uv_timer_t *t) {
    close_all(t->data);
}

/* Every queued embedding has been answered (its connection resumed): give MHD a moment to write
 * those answers, then close. */
static void on_embed_drained(void *ctx) {
    serve_state *s = ctx;
    if (--s->draining == 0) uv_timer_start(&s->grace, on_grace, 100, 0);
}

static void on_signal(uv_signal_t *sig, int signum) {
    serve_state *s = sig->data;
    if (s->stopping) return;
    s->stopping = 1;
    fprintf(stderr, "ecgfm: %s received, shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    /* Queued embeddings are finished and answered first; new ones get 503 meanwhile. Running jobs
     * save their training state and stop (they resume at the next start). */
    s->draining = 1 + (s->embed != NULL) + (s->jobs != NULL) + (s->transfer != NULL);
    if (s->jobs) jobs_shutdown(s->jobs, on_embed_drained, s);
    if (s->embed) embed_worker_drain(s->embed, on_embed_drained, s);
    /* A running synchronous transfer or classify is asked to stop and answered; waiting ones 503. */
    if (s->transfer) transfer_worker_drain(s->transfer, on_embed_drained, s);
    on_embed_drained(s);
}

static void print_banner(const server_config *cfg, const listen_socket *ls, int data_ok,
                         const char *data_why, const db *d, int applied, const char *model) {
    printf("ecgfm %s listening on %s\n", ECGFM_VERSION, ls->url);
    printf("  data directory: %s (%s)\n", cfg->data_dir, data_ok ? "ready" : data_why);
    if (d)
        printf("  database: %s/%s (schema %d, %d migration%s applied now)\n", cfg->data_dir,
               DB_FILE_NAME, db_schema_version(d), applied, applied == 1 ? "" : "s");
    else
        printf("  database: not open (the data directory is not usable)\n");
    if (cfg->config_path[0]) printf("  config: %s\n", cfg->config_path);
    printf("  model: %s (loading; /readyz is 503 until it is in), embed batches of up to %lld "
           "windows, %lld us wait, queue %lld\n",
           model, cfg->embed_max_batch, cfg->embed_max_wait_us, cfg->embed_queue_max);
    printf("  jobs: %lld at once, %lld compute thread%s each; datasets in %s/datasets/\n",
           cfg->jobs_max_running, cfg->jobs_threads, cfg->jobs_threads == 1 ? "" : "s",
           cfg->data_dir);
    printf("  limits: %lld connections, %lld s idle timeout, %lld-byte bodies, "
           "%lld-byte connection buffer\n",
           cfg->max_connections, cfg->connection_timeout_s, cfg->max_body_bytes,
           cfg->connection_memory_bytes);
    printf("  authentication: /v1 needs Authorization: Bearer <key> (`ecgfm keys create`); "
           "/healthz, /readyz%s are open\n",
           cfg->metrics_require_key ? "" : " and /metrics");
    if (!ls->loopback)
        printf("  note: %s is not a loopback address: /healthz, /readyz%s answer anyone who can "
               "reach this port, and keys travel in clear without TLS in front\n",
               cfg->host, cfg->metrics_require_key ? "" : ", /metrics");
    printf("  try: curl %s/healthz\n", ls->local_url);
    fflush(stdout);
}

ecg_code serve_run(const server_config *cfg, ecg_err *err) {
    /* A missing data directory is not fatal: /readyz answers 503 and says why until it is fixed. */
    ecg_err derr = {0};
    int data_ok = datadir_prepare(cfg->data_dir, &derr) == ECG_OK;
    /* The schema must be current before anything is served; a database this binary must not
     * touch (newer schema, edited migration, damaged file) stops the start with the reason. */
    db *d = NULL;
    int applied = 0;
    if (data_ok) {
        ecg_code drc = db_open_dir(&d, cfg->data_dir, 4, &applied, err);
        if (drc) return drc;
        /* Datasets: finish interrupted deletes, adopt directories that have no row yet. */
        drc = datasets_startup(d, cfg->data_dir, NULL, err);
        if (drc) {
            db_close(d);
            return drc;
        }
    }

    listen_socket ls;
    ecg_code rc = listen_open(&ls, cfg->host, (int)cfg->port, (int)cfg->listen_backlog, err);
    if (rc) {
        db_close(d);
        return rc;
    }

    routes_ctx routes = {ECGFM_VERSION, cfg->data_dir, routes_now_s(), d,
                         "the data directory is not usable", (int)cfg->metrics_require_key, NULL,
                         NULL, NULL};
    serve_state s;
    memset(&s, 0, sizeof s);
    rc = http_start(&s.http, cfg, ls.fd, &routes, err);
    if (rc) {
        db_close(d);
        return rc;
    }

    int uerr = uv_loop_init(&s.loop);
    if (uerr) {
        http_stop(s.http);
        return err_set(err, ECG_EIO, "uv_loop_init: %s", uv_strerror(uerr));
    }
    s.poll.data = s.timer.data = s.sigint.data = s.sigterm.data = &s;
    routes_datasets_configure(&s.loop); /* uploads and deletes do file work on its pool */
    routes_checkpoints_configure(&s.loop); /* checkpoint uploads too */
    /* Init cannot fail for timers and signals on Linux beyond what uv_loop_init already checked;
     * uv_poll_init can (a bad descriptor), so it is checked and the loop unwound on failure. */
    uv_timer_init(&s.loop, &s.timer);
    uv_timer_init(&s.loop, &s.grace);
    s.grace.data = &s;
    uv_signal_init(&s.loop, &s.sigint);
    uv_signal_init(&s.loop, &s.sigterm);
    int poll_ok = 0;
    uerr = uv_poll_init(&s.loop, &s.poll, http_poll_fd(s.http));
    if (!uerr) {
        poll_ok = 1;
        uerr = uv_poll_start(&s.poll, UV_READABLE, on_poll);
    }
    if (!uerr) uerr = uv_signal_start(&s.sigint, on_signal, SIGINT);
    if (!uerr) uerr = uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    if (uerr) {
        err_set(err, ECG_EIO, "event loop setup: %s", uv_strerror(uerr));
        s.stopping = 1;
        if (poll_ok) uv_close((uv_handle_t *)&s.poll, NULL);
        uv_close((uv_handle_t *)&s.timer, NULL);
        uv_close((uv_handle_t *)&s.sigint, NULL);
        uv_close((uv_handle_t *)&s.sigterm, NULL);
        uv_close((uv_handle_t *)&s.grace, NULL);
        uv_run(&s.loop, UV_RUN_DEFAULT);
        uv_loop_close(&s.loop);
        http_stop(s.http);
        db_close(d);
        return ECG_EIO;
    }

    /* The default embedding checkpoint is the database's; a database without one gets the
     * configured model, copied under the data directory and registered as the default. */
    const char *model_path = cfg->model;
    checkpoint_info def_ckpt;
    memset(&def_ckpt, 0, sizeof def_ckpt);
    if (d) {
        ecg_err cerr = {0};
        checkpoints_sweep(d, cfg->data_dir);
        probes_sweep(d, cfg->data_dir); /* probe files without a row (crash, cascade) */
        if (checkpoints_ensure_default(d, cfg->data_dir, cfg->model, &def_ckpt, &cerr) == ECG_OK)
            model_path = def_ckpt.path;
        else
            fprintf(stderr, "ecgfm: checkpoints: no default checkpoint (%s); serving %s\n",
                    cerr.msg, cfg->model);
    }

    /* The model loads on the worker thread; /readyz says 503 until it is in. */
    embed_worker_opts eo = {model_path,
                            (int)cfg->embed_max_batch,
                            (int)cfg->embed_max_wait_us,
                            (int)cfg->embed_queue_max,
                            (int)cfg->embed_threads,
                            (size_t)cfg->embed_max_windows,
                            def_ckpt.id ? def_ckpt.sha256 : NULL,
                            def_ckpt.id ? def_ckpt.name : NULL};
    if (embed_worker_start(&s.embed, &s.loop, &eo, err)) {
        fprintf(stderr, "ecgfm: %s\n", err->msg);
        s.stopping = 1;
        close_all(&s);
        uv_run(&s.loop, UV_RUN_DEFAULT);
        uv_loop_close(&s.loop);
        embed_worker_free(s.embed);
        http_stop(s.http);
        db_close(d);
        return ECG_EIO;
    }
    routes.embed = s.embed;
    if (d) {
        jobs_opts jo = {cfg->data_dir,
                        (int)cfg->jobs_max_running,
                        (int)cfg->jobs_threads,
                        (int)cfg->jobs_max_streams,
                        (int)cfg->jobs_heartbeat_s,
                        2.0};
        if (jobs_start(&s.jobs, &s.loop, d, &jo, err)) {
            fprintf(stderr, "ecgfm: %s\n", err->msg);
            s.stopping = 1;
            close_all(&s);
            uv_run(&s.loop, UV_RUN_DEFAULT);
            uv_loop_close(&s.loop);
            embed_worker_free(s.embed);
            http_stop(s.http);
            db_close(d);
            return ECG_EIO;
        }
        /* Import jobs read only under these (none: server-side import is refused with 403). */
        if (jobs_set_import_roots(s.jobs, cfg->import_roots, err))
            fprintf(stderr, "ecgfm: import roots not set: %s\n", err->msg);
    }
    routes.jobs = s.jobs;
    routes.configs_dir = cfg->configs_dir;
    /* Synchronous transfer and classify: their own thread, one request at a time. */
    routes_transfer_cfg tcfg = {NULL,
                                cfg->transfer_max_series,
                                cfg->classify_max_series,
                                cfg->classify_max_length,
                                cfg->embed_batch_max_records,
                                (int)cfg->transfer_threads};
    transfer_worker_opts two = {(int)cfg->transfer_queue_max, (int)cfg->transfer_threads};
    ecg_err terr = {0};
    if (transfer_worker_start(&s.transfer, &s.loop, &two, &terr))
        fprintf(stderr, "ecgfm: %s (transfer and classify answer 503)\n", terr.msg);
    else
        tcfg.worker = s.transfer;
    routes_transfer_configure(&tcfg);
    http_set_wake(s.http, wake_http, &s);

    /* the default checkpoint's file: the configured model only without a database */
    print_banner(cfg, &ls, data_ok, derr.msg, d, applied, model_path);
    service_http(&s); /* MHD may already have a deadline */
    uv_run(&s.loop, UV_RUN_DEFAULT);

    uerr = uv_loop_close(&s.loop);
    embed_worker_free(s.embed); /* joined in close_all */
    http_stop(s.http);
    jobs_free(s.jobs); /* after HTTP: its event streams point into the scheduler */
    transfer_worker_free(s.transfer);
    db_close(d); /* after HTTP: no handler can be using it any more */
    if (uerr) return err_set(err, ECG_EIO, "event loop did not close: %s", uv_strerror(uerr));
    fprintf(stderr, "ecgfm: stopped\n");
    return ECG_OK;
}
