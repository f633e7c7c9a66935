/* embed_worker.c — the embedding thread (see embed_worker.h). Windows of queued jobs on the same
 * model are packed into one forward of up to max_batch windows; a batch waits at most max_wait_us
 * for company. Encoders are cached by key (the default's is never evicted); a model not in the
 * cache is loaded on this thread between batches. */
#include "server/embed_worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/threads.h"
#include "core/data/record.h"
#include "core/format/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"
#include "core/ssl/objective.h"
#include "server/metrics.h"

/* Prometheus families (registered once per process, updated from the worker and loop threads). */
static metrics_family *m_batches, *m_windows, *m_multi, *m_batch_hist, *m_batch_max, *m_queue,
    *m_rejected, *m_models, *m_loads;

static void metrics_init(void) {
    static const double buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    m_batches = metrics_register(METRICS_COUNTER, "ecgfm_embed_batches_total",
                                 "encoder forwards run for /v1/embed", NULL, NULL, 0);
    m_windows = metrics_register(METRICS_COUNTER, "ecgfm_embed_windows_total",
                                 "2.5 s windows embedded for /v1/embed", NULL, NULL, 0);
    m_multi =
        metrics_register(METRICS_COUNTER, "ecgfm_embed_multi_request_batches_total",
                         "forwards that held windows of more than one request", NULL, NULL, 0);
    m_batch_hist = metrics_register(METRICS_HISTOGRAM, "ecgfm_embed_batch_windows",
                                    "windows per encoder forward (dynamic batching)", NULL, buckets,
                                    (int)(sizeof buckets / sizeof buckets[0]));
    m_batch_max = metrics_register(METRICS_GAUGE, "ecgfm_embed_batch_windows_max",
                                   "largest forward so far, in windows", NULL, NULL, 0);
    m_queue = metrics_register(METRICS_GAUGE, "ecgfm_embed_queue_depth",
                               "embed requests queued or running", NULL, NULL, 0);
    m_rejected = metrics_register(METRICS_COUNTER, "ecgfm_embed_rejected_total",
                                  "embed requests refused with 429 (queue full)", NULL, NULL, 0);
    m_models = metrics_register(METRICS_GAUGE, "ecgfm_embed_models_loaded",
                                "encoders the embed worker holds (the default and cached others)",
                                NULL, NULL, 0);
    m_loads = metrics_register(
        METRICS_COUNTER, "ecgfm_embed_model_loads_total",
        "checkpoints loaded by the embed worker (start, switches, cache misses)", NULL, NULL, 0);
}

/* Loaded encoders: the default and up to EMBED_CACHE_MAX - 1 others, least recently used evicted.
 */
#define EMBED_CACHE_MAX 4

typedef struct {
    char key[EMBED_KEY_MAX];
    encoder *enc; /* worker thread only */
    int dim, win, zscore;
    uint64_t used; /* batches counter when last used */
} model_slot;

struct embed_worker {
    embed_worker_opts o;
    char model_path[1024];
    embed_model def;  /* loop thread (written by the worker before ready) */
    uv_async_t async; /* wakes the loop thread: jobs done, drained */
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    embed_job *q_head, *q_tail; /* jobs with windows not yet in a batch */
    size_t q_windows;           /* windows waiting */
    int in_flight;              /* jobs submitted, not yet delivered */
    embed_job *d_head, *d_tail; /* done, to deliver on the loop thread */
    int stopping;
    int exited;
    embed_worker_stats st;
    /* loop thread only */
    void (*on_drained)(void *);
    void *drained_ctx;
    int drained_called;
    int closing;
    /* model, written by the worker before ready is set */
    _Atomic int ready; /* 0 loading, 1 ready, -1 failed */
    char load_error[1600];
    /* slots: entries change under mu (the loop thread reads keys and sizes); encoders are used by
     * the worker thread only */
    model_slot cache[EMBED_CACHE_MAX];
    int n_cache;
    char pinned[EMBED_KEY_MAX]; /* the default's key, never evicted; under mu */
    uint64_t tick;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ecg_code embed_model_load(const char *path, int max_batch, encoder **out, int *zscore,
                          ecg_err *err) {
    *out = NULL;
    *zscore = 0;
    encoder *e = NULL;
    ecg_code rc = checkpoint_load_encoder(path, max_batch, ENC_INFERENCE_ONLY, &e, err);
    if (rc) return rc;
    const struct encoder_config *c = encoder_get_config(e);
    if (c->in_channels != ECG_N_LEADS) {
        int channels = c->in_channels; /* c is e's: read it before e goes */
        encoder_free(e);
        return err_set(err, ECG_EINVAL, "%s: the encoder takes %d channels, not the 12 leads", path,
                       channels);
    }
    /* The objective decides the input scaling (SPEC §1): CPC raw millivolts, others z-scored. */
    st_file f;
    if ((rc = st_read_file(&f, path, err))) {
        encoder_free(e);
        return rc;
    }
    const char *obj = st_meta_get(&f, "ecgfm.pretrain.objective");
    ssl_kind k;
    *zscore = obj && ssl_kind_parse(obj, &k, NULL) == ECG_OK && ssl_uses_zscore(k);
    st_free(&f);
    encoder_set_frozen(e, 1); /* S4 kernels computed once, at the first forward */
    *out = e;
    return ECG_OK;
}

/* Under mu. */
static model_slot *cache_find(embed_worker *w, const char *key) {
    for (int i = 0; i < w->n_cache; i++)
        if (strcmp(w->cache[i].key, key) == 0) return &w->cache[i];
    return NULL;
}

/* Worker thread, called without mu: loads path and caches it under key (evicting the least
 * recently used slot that is not the default's when the cache is full). NULL with err set. */
static model_slot *cache_load(embed_worker *w, const char *key, const char *path, ecg_err *err) {
    encoder *e = NULL;
    int zscore = 0;
    if (!path || !*path) {
        err_set(err, ECG_EINVAL, "no file for model %.16s", key);
        return NULL;
    }
    if (embed_model_load(path, w->o.max_batch, &e, &zscore, err)) return NULL;
    const struct encoder_config *c = encoder_get_config(e);
    encoder *old = NULL;
    pthread_mutex_lock(&w->mu);
    model_slot *s = NULL;
    if (w->n_cache < EMBED_CACHE_MAX) {
        s = &w->cache[w->n_cache++];
    } else {
        for (int i = 0; i < w->n_cache; i++)
            if (strcmp(w->cache[i].key, w->pinned) != 0 && (!s || w->cache[i].used < s->used))
                s = &w->cache[i];
        old = s->enc;
    }
    snprintf(s->key, sizeof s->key, "%s", key);
    s->enc = e;
    s->dim = c->d_model;
    s->win = c->in_samples;
    s->zscore = zscore;
    s->used = w->tick;
    int n_cache = w->n_cache;
    pthread_mutex_unlock(&w->mu);
    encoder_free(old);
    metrics_gauge_set(m_models, NULL, n_cache);
    metrics_counter_add(m_loads, NULL, 1);
    return s;
}

/* Takes up to max_batch windows of the jobs on model key, oldest first, into segs (probes as
 * segments of no windows); jobs whose windows are all taken leave the queue. Under mu. */
typedef struct {
    embed_job *job;
    size_t start, count;
} segment;

static int take_batch(embed_worker *w, const char *key, segment *segs, int *n_segs) {
    int B = 0, ns = 0;
    embed_job *prev = NULL, *j = w->q_head;
    while (j && B < w->o.max_batch && ns < w->o.max_batch) {
        embed_job *next = j->qnext;
        if (strcmp(j->model_key, key) != 0) {
            prev = j;
            j = next;
            continue;
        }
        size_t take = j->n_windows - j->next;
        if (take > (size_t)(w->o.max_batch - B)) take = (size_t)(w->o.max_batch - B);
        segs[ns++] = (segment){j, j->next, take};
        j->next += take;
        B += (int)take;
        w->q_windows -= take;
        if (j->next == j->n_windows) {
            if (prev)
                prev->qnext = next;
            else
                w->q_head = next;
            if (w->q_tail == j) w->q_tail = prev;
            j->qnext = NULL;
        } else {
            prev = j;
        }
        j = next;
    }
    *n_segs = ns;
    return B;
}

static void *worker_main(void *arg) {
    embed_worker *w = arg;
    threads_set(w->o.threads); /* this thread's OpenMP and OpenBLAS threads */
    ecg_err err = {0};
    float *xb = NULL;
    size_t xb_per = 0; /* floats per window xb holds */
    segment *segs = malloc((size_t)w->o.max_batch * sizeof *segs);
    model_slot *m0 = segs ? cache_load(w, w->def.key, w->model_path, &err) : NULL;
    if (!segs) err_set(&err, ECG_ENOMEM, "no memory for the batch buffers");
    /* Nothing is submitted before ready is 1, so the loop below only ever sees buffers. */
    if (!m0) {
        snprintf(w->load_error, sizeof w->load_error, "model %s: %s", w->model_path, err.msg);
        fprintf(stderr, "ecgfm: embed: %s\n", w->load_error);
        atomic_store(&w->ready, -1);
    } else {
        w->def.dim = m0->dim;
        w->def.win = m0->win;
        w->def.zscore = m0->zscore;
        fprintf(stderr, "ecgfm: embed: model %s loaded (dim %d, batch up to %d, wait %d us)\n",
                w->model_path, m0->dim, w->o.max_batch, w->o.max_wait_us);
        atomic_store(&w->ready, 1);
    }
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->q_head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->q_head) break; /* stopping and nothing left */
        /* Wait for company: until a full batch is queued or the head job has waited long enough
         * (a probe only loads a model: it does not wait). */
        double deadline = w->q_head->t_submit + 1e-6 * w->o.max_wait_us;
        while (!w->q_head->probe && w->q_windows < (size_t)w->o.max_batch && !w->stopping) {
            double t = now_s();
            if (t >= deadline) break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double rem = deadline - t;
            ts.tv_sec += (time_t)rem;
            ts.tv_nsec += (long)((rem - (double)(time_t)rem) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        /* The batch runs the head job's model; the queue only grows at its tail meanwhile, so the
         * head stays while the model loads. */
        char key[EMBED_KEY_MAX];
        snprintf(key, sizeof key, "%s", w->q_head->model_key);
        ecg_code rc = ECG_OK;
        ecg_err ferr = {0};
        model_slot *m = cache_find(w, key);
        if (!m && segs) {
            char path[sizeof w->q_head->model_path];
            snprintf(path, sizeof path, "%s", w->q_head->model_path);
            pthread_mutex_unlock(&w->mu);
            m = cache_load(w, key, path, &ferr);
            pthread_mutex_lock(&w->mu);
            if (!m) rc = ferr.code ? ferr.code : ECG_EIO;
        }
        if (m) m->used = ++w->tick;
        int ns = 0;
        int B = segs ? take_batch(w, key, segs, &ns) : 0;
        pthread_mutex_unlock(&w->mu);

        if (!segs || (B > 0 && atomic_load(&w->ready) != 1))
            rc = err_set(&ferr, ECG_EINVAL, "the model is not loaded: %s", w->load_error);
        size_t per = m ? (size_t)ECG_N_LEADS * (size_t)m->win : 0;
        if (!rc && B > 0 && per > xb_per) {
            float *nb = realloc(xb, (size_t)w->o.max_batch * per * sizeof *xb);
            if (!nb)
                rc = err_set(&ferr, ECG_ENOMEM, "no memory for the batch buffer");
            else
                xb = nb, xb_per = per;
        }
        if (!rc && B > 0) {
            size_t off = 0;
            for (int i = 0; i < ns; i++) {
                if (!segs[i].count) continue; /* a probe: no windows (and no x) */
                memcpy(xb + off * per, segs[i].job->x + segs[i].start * per,
                       segs[i].count * per * sizeof *xb);
                off += segs[i].count;
            }
            rc = encoder_forward(m->enc, xb, B, ENC_EVAL, &ferr);
        }
        if (!rc && B > 0) {
            const float *e = encoder_embedding(m->enc);
            size_t off = 0;
            for (int i = 0; i < ns; i++) {
                if (!segs[i].count) continue;
                memcpy(segs[i].job->emb + segs[i].start * (size_t)m->dim, e + off * (size_t)m->dim,
                       segs[i].count * (size_t)m->dim * sizeof *e);
                off += segs[i].count;
            }
        }

        pthread_mutex_lock(&w->mu);
        int delivered = 0;
        for (int i = 0; i < ns; i++) {
            embed_job *j = segs[i].job;
            if (rc && !j->code) {
                j->code = rc;
                snprintf(j->msg, sizeof j->msg, "%.200s", ferr.msg);
            }
            if (m) {
                j->dim = m->dim;
                j->win = m->win;
                j->zscore = m->zscore;
            }
            j->finished += segs[i].count;
            if (j->finished == j->n_windows) {
                if (w->d_tail)
                    w->d_tail->qnext = j;
                else
                    w->d_head = j;
                w->d_tail = j;
                delivered = 1;
            }
        }
        if (!rc && B > 0) {
            w->st.batches++;
            w->st.windows += (uint64_t)B;
            if (ns > 1) w->st.multi_job_batches++;
            if (B > w->st.max_batch_seen) w->st.max_batch_seen = B;
            metrics_counter_add(m_batches, NULL, 1);
            metrics_counter_add(m_windows, NULL, B);
            if (ns > 1) metrics_counter_add(m_multi, NULL, 1);
            metrics_histogram_observe(m_batch_hist, NULL, B);
            metrics_gauge_set(m_batch_max, NULL, w->st.max_batch_seen);
        }
        if (delivered) uv_async_send(&w->async);
    }
    w->exited = 1;
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->async); /* the loop thread sees the exit (drain complete) */
    free(xb);
    free(segs);
    return NULL;
}

/* Loop thread: deliver finished jobs; report the drain once the thread has exited. */
static void on_async(uv_async_t *a) {
    embed_worker *w = a->data;
    pthread_mutex_lock(&w->mu);
    embed_job *j = w->d_head;
    w->d_head = w->d_tail = NULL;
    int exited = w->exited;
    pthread_mutex_unlock(&w->mu);
    while (j) {
        embed_job *next = j->qnext;
        pthread_mutex_lock(&w->mu);
        w->in_flight--;
        w->st.jobs++;
        metrics_gauge_set(m_queue, NULL, w->in_flight);
        pthread_mutex_unlock(&w->mu);
        j->done(j);
        j = next;
    }
    if (exited && w->on_drained && !w->drained_called) {
        w->drained_called = 1;
        w->on_drained(w->drained_ctx);
    }
}

ecg_code embed_worker_start(embed_worker **out, uv_loop_t *loop, const embed_worker_opts *o,
                            ecg_err *err) {
    *out = NULL;
    if (o->max_batch < 1 || o->queue_max < 1 || o->max_wait_us < 0)
        return err_set(err, ECG_EINVAL, "embed worker: bad batch, queue or wait setting");
    embed_worker *w = calloc(1, sizeof *w);
    if (!w) return err_set(err, ECG_ENOMEM, "out of memory starting the embed worker");
    metrics_init();
    w->o = *o;
    snprintf(w->model_path, sizeof w->model_path, "%s", o->model_path);
    w->o.model_path = w->model_path;
    snprintf(w->def.key, sizeof w->def.key, "%s", o->model_key ? o->model_key : "config");
    snprintf(w->def.path, sizeof w->def.path, "%s", o->model_path);
    snprintf(w->def.name, sizeof w->def.name, "%s", o->model_name ? o->model_name : "default");
    snprintf(w->pinned, sizeof w->pinned, "%s", w->def.key);
    w->o.model_key = w->o.model_name = NULL;
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
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        /* The handle is closed by embed_worker_close; the caller runs the loop to finish it. */
        w->exited = 1;
        *out = w;
        return err_set(err, ECG_EIO, "cannot start the embed worker thread");
    }
    w->thread_started = 1;
    *out = w;
    return ECG_OK;
}

int embed_worker_ready(embed_worker *w, const char **why) {
    int r = atomic_load(&w->ready);
    if (why) *why = r < 0 ? w->load_error : r == 0 ? "the model is still loading" : NULL;
    return r;
}

int embed_worker_dim(const embed_worker *w) {
    return w->def.dim;
}
int embed_worker_window(const embed_worker *w) {
    return w->def.win;
}
int embed_worker_zscore(const embed_worker *w) {
    return w->def.zscore;
}
const char *embed_worker_model_path(const embed_worker *w) {
    return w->def.path;
}
const embed_model *embed_worker_default(const embed_worker *w) {
    return &w->def;
}

int embed_worker_cached(embed_worker *w, embed_model *out) {
    pthread_mutex_lock(&w->mu);
    model_slot *s = cache_find(w, out->key);
    if (s) {
        out->dim = s->dim;
        out->win = s->win;
        out->zscore = s->zscore;
    }
    pthread_mutex_unlock(&w->mu);
    return s != NULL;
}

void embed_worker_set_default(embed_worker *w, const embed_model *m) {
    pthread_mutex_lock(&w->mu);
    w->def = *m;
    snprintf(w->pinned, sizeof w->pinned, "%s", m->key);
    atomic_store(&w->ready, 1); /* also after a default that failed to load: m is loaded */
    pthread_mutex_unlock(&w->mu);
    fprintf(stderr, "ecgfm: embed: the default model is now %s (%s)\n", m->name, m->path);
}
size_t embed_worker_max_windows(const embed_worker *w) {
    return w->o.max_windows;
}
int embed_worker_queue_max(const embed_worker *w) {
    return w->o.queue_max;
}

int embed_worker_submit(embed_worker *w, embed_job *job) {
    /* After the default failed to load, probes still run: a new default is the way out. */
    int ready = atomic_load(&w->ready);
    if (ready == 0 || (ready < 0 && !job->probe)) return 503;
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->exited) {
        pthread_mutex_unlock(&w->mu);
        return 503;
    }
    if (w->in_flight >= w->o.queue_max) {
        w->st.rejected++;
        metrics_counter_add(m_rejected, NULL, 1);
        pthread_mutex_unlock(&w->mu);
        return 429;
    }
    if (job->probe && !job->model_key[0]) {
        pthread_mutex_unlock(&w->mu);
        return 503; /* a probe names its model */
    }
    if (!job->model_key[0]) { /* the default now: its windows were cut for it just before */
        snprintf(job->model_key, sizeof job->model_key, "%s", w->def.key);
        snprintf(job->model_path, sizeof job->model_path, "%s", w->def.path);
    }
    job->next = job->finished = 0;
    job->code = ECG_OK;
    job->msg[0] = 0;
    job->qnext = NULL;
    job->t_submit = now_s();
    if (job->n_windows == 0 && !job->probe) { /* nothing to run: deliver at once */
        if (w->d_tail)
            w->d_tail->qnext = job;
        else
            w->d_head = job;
        w->d_tail = job;
        w->in_flight++;
        pthread_mutex_unlock(&w->mu);
        uv_async_send(&w->async);
        return 0;
    }
    if (w->q_tail)
        w->q_tail->qnext = job;
    else
        w->q_head = job;
    w->q_tail = job;
    w->q_windows += job->n_windows;
    w->in_flight++;
    metrics_gauge_set(m_queue, NULL, w->in_flight);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void embed_worker_get_stats(embed_worker *w, embed_worker_stats *s) {
    pthread_mutex_lock(&w->mu);
    *s = w->st;
    s->queued = w->in_flight;
    pthread_mutex_unlock(&w->mu);
}

void embed_worker_drain(embed_worker *w, void (*on_drained)(void *ctx), void *ctx) {
    w->on_drained = on_drained;
    w->drained_ctx = ctx;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    int exited = w->exited;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (exited) uv_async_send(&w->async);
}

void embed_worker_close(embed_worker *w) {
    if (!w || w->closing) return;
    w->closing = 1;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started) pthread_join(w->thread, NULL);
    w->thread_started = 0;
    w->on_drained = NULL;
    on_async(&w->async); /* deliver what finished last */
    uv_close((uv_handle_t *)&w->async, NULL);
}

void embed_worker_free(embed_worker *w) {
    if (!w) return;
    for (int i = 0; i < w->n_cache; i++)
        encoder_free(w->cache[i].enc);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
