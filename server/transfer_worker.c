/* transfer_worker.c — the transfer/classify thread (see transfer_worker.h): a FIFO under a mutex,
 * one request at a time, finished answers delivered on the loop thread through a uv_async. */
#include "server/transfer_worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/threads.h"
#include "server/http.h"
#include "server/metrics.h"

/* Prometheus families (registered once; updated under the worker's mutex). */
static metrics_family *m_depth, *m_rejected, *m_done;

static void metrics_init(void) {
    m_depth = metrics_register(METRICS_GAUGE, "ecgfm_transfer_queue_depth",
                               "POST /v1/transfer and /v1/classify requests queued or running",
                               NULL, NULL, 0);
    m_rejected = metrics_register(METRICS_COUNTER, "ecgfm_transfer_rejected_total",
                                  "transfer and classify requests refused with 429 (queue full)",
                                  NULL, NULL, 0);
    m_done = metrics_register(METRICS_COUNTER, "ecgfm_transfer_requests_total",
                              "transfer and classify requests run to an answer", NULL, NULL, 0);
}

struct transfer_worker {
    transfer_worker_opts o;
    uv_async_t async;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    tw_item *q_head, *q_tail; /* waiting */
    tw_item *d_head, *d_tail; /* answered, to deliver */
    int in_flight;            /* submitted, not yet delivered */
    int stopping;             /* refuse submissions (drain or close) */
    int exiting;              /* the thread leaves (close) */
    atomic_int cancel;
    /* worker thread only */
    char cache_key[1400];
    void *cache;
    void (*cache_free)(void *);
    /* loop thread */
    int closing;
    void (*on_drained)(void *);
    void *drained_ctx;
};

static void push(tw_item **head, tw_item **tail, tw_item *it) {
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
}

static void *worker_main(void *arg) {
    transfer_worker *w = arg;
    threads_set(w->o.threads);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->q_head && !w->exiting)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->exiting) break;
        tw_item *it = w->q_head;
        w->q_head = it->next;
        if (!w->q_head) w->q_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        memset(&it->res, 0, sizeof it->res);
        it->run(it, w, &w->cancel, &it->res);
        pthread_mutex_lock(&w->mu);
        push(&w->d_head, &w->d_tail, it);
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    if (w->cache && w->cache_free) w->cache_free(w->cache);
    w->cache = NULL;
    return NULL;
}

static void deliver(transfer_worker *w) {
    pthread_mutex_lock(&w->mu);
    tw_item *it = w->d_head;
    w->d_head = w->d_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (it) {
        tw_item *next = it->next;
        pthread_mutex_lock(&w->mu);
        w->in_flight--;
        metrics_gauge_set(m_depth, NULL, w->in_flight);
        metrics_counter_add(m_done, NULL, 1);
        pthread_mutex_unlock(&w->mu);
        http_finish_deferred(it->deferred, &it->res);
        api_response_free(&it->res);
        it->free(it);
        it = next;
    }
}

static void check_drained(transfer_worker *w) {
    if (!w->on_drained) return;
    pthread_mutex_lock(&w->mu);
    int idle = w->in_flight == 0;
    pthread_mutex_unlock(&w->mu);
    if (!idle) return;
    void (*fn)(void *) = w->on_drained;
    w->on_drained = NULL;
    fn(w->drained_ctx);
}

static void on_async(uv_async_t *a) {
    deliver(a->data);
    check_drained(a->data);
}

/* Under mu: the waiting requests, answered 503, moved to the delivery list. */
static void refuse_waiting(transfer_worker *w) {
    tw_item *it = w->q_head;
    w->q_head = w->q_tail = NULL;
    while (it) {
        tw_item *next = it->next;
        api_response_error(&it->res, 503, "shutting_down", "the service is shutting down");
        push(&w->d_head, &w->d_tail, it);
        it = next;
    }
}

void transfer_worker_drain(transfer_worker *w, void (*on_drained)(void *ctx), void *ctx) {
    w->on_drained = on_drained;
    w->drained_ctx = ctx;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1; /* the thread stays until close; submissions get 503 */
    atomic_store(&w->cancel, 1);
    refuse_waiting(w);
    pthread_mutex_unlock(&w->mu);
    deliver(w);
    check_drained(w);
}

ecg_code transfer_worker_start(transfer_worker **out, uv_loop_t *loop,
                               const transfer_worker_opts *o, ecg_err *err) {
    *out = NULL;
    if (o->queue_max < 1) return err_set(err, ECG_EINVAL, "transfer worker: queue must be >= 1");
    transfer_worker *w = calloc(1, sizeof *w);
    if (!w) return err_set(err, ECG_ENOMEM, "out of memory starting the transfer worker");
    metrics_init();
    w->o = *o;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int uerr = uv_async_init(loop, &w->async, on_async);
    if (uerr) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return err_set(err, ECG_EIO, "uv_async_init: %s", uv_strerror(uerr));
    }
    w->async.data = w;
    *out = w;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        w->stopping = 1; /* submissions get 503; the handle is closed by transfer_worker_close */
        return err_set(err, ECG_EIO, "cannot start the transfer worker thread");
    }
    w->thread_started = 1;
    return ECG_OK;
}

int transfer_worker_submit(transfer_worker *w, tw_item *it) {
    pthread_mutex_lock(&w->mu);
    int st = 0;
    if (w->stopping)
        st = 503;
    else if (w->in_flight >= w->o.queue_max) {
        st = 429;
        metrics_counter_add(m_rejected, NULL, 1);
    } else {
        push(&w->q_head, &w->q_tail, it);
        w->in_flight++;
        metrics_gauge_set(m_depth, NULL, w->in_flight);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return st;
}

int transfer_worker_queue_max(const transfer_worker *w) {
    return w->o.queue_max;
}

void *transfer_worker_cache(transfer_worker *w, const char *key) {
    return w->cache && strcmp(w->cache_key, key) == 0 ? w->cache : NULL;
}

void transfer_worker_cache_set(transfer_worker *w, const char *key, void *value,
                               void (*free_fn)(void *)) {
    if (w->cache && w->cache_free) w->cache_free(w->cache);
    snprintf(w->cache_key, sizeof w->cache_key, "%s", key);
    w->cache = value;
    w->cache_free = free_fn;
}

void transfer_worker_close(transfer_worker *w) {
    if (!w || w->closing) return;
    w->closing = 1;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    w->exiting = 1;
    atomic_store(&w->cancel, 1);
    refuse_waiting(w);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->on_drained = NULL;
    if (w->thread_started) pthread_join(w->thread, NULL);
    w->thread_started = 0;
    deliver(w);
    uv_close((uv_handle_t *)&w->async, NULL);
}

void transfer_worker_free(transfer_worker *w) {
    if (!w) return;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
