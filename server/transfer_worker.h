/* transfer_worker.h — the thread that runs synchronous transfer and classify requests off the loop
 * thread: one at a time, a short bounded queue (429 beyond), answers handed back to the loop. */
#ifndef ECGFM_SERVER_TRANSFER_WORKER_H
#define ECGFM_SERVER_TRANSFER_WORKER_H

#include <stdatomic.h>

#include <uv.h>

#include "api/response.h"
#include "core/base/error.h"

typedef struct transfer_worker transfer_worker;
typedef struct tw_item tw_item;

/* Runs on the worker thread: fill res. cancel is set when the server is stopping. */
typedef void (*tw_run_fn)(tw_item *it, transfer_worker *w, const atomic_int *cancel,
                          api_response *res);

struct tw_item {
    tw_run_fn run;
    void (*free)(tw_item *it); /* loop thread, after the answer went out */
    void *deferred;            /* http_finish_deferred handle */
    api_response res;
    tw_item *next;
};

typedef struct {
    int queue_max; /* requests waiting or running; more are refused (429) */
    int threads;   /* compute threads of the worker, 0 = all cores */
} transfer_worker_opts;

ecg_code transfer_worker_start(transfer_worker **out, uv_loop_t *loop,
                               const transfer_worker_opts *o, ecg_err *err);
/* Loop thread. 0 queued (the answer comes through http_finish_deferred), 429 full, 503 stopping;
 * on a refusal the item is untouched. */
int transfer_worker_submit(transfer_worker *w, tw_item *it);
int transfer_worker_queue_max(const transfer_worker *w);

/* A cache slot owned by the worker thread (e.g. the last encoder classify loaded); free_fn runs on
 * the worker thread when the slot is replaced and when the thread exits. */
void *transfer_worker_cache(transfer_worker *w, const char *key);
void transfer_worker_cache_set(transfer_worker *w, const char *key, void *value,
                               void (*free_fn)(void *));

/* Shutdown, first step, on the loop thread: new submissions get 503, waiting requests are
 * answered 503, the running one is asked to stop (its cancel flag) and answered; on_drained
 * (loop thread) runs once nothing is left in flight. */
void transfer_worker_drain(transfer_worker *w, void (*on_drained)(void *ctx), void *ctx);
/* Shutdown on the loop thread: cancel the running request, answer the waiting ones 503, join the
 * thread, close the handle. transfer_worker_free after uv_run has returned. */
void transfer_worker_close(transfer_worker *w);
void transfer_worker_free(transfer_worker *w);

#endif
