/* embed_worker.h — the inference thread that owns the encoders: a bounded queue of embedding jobs,
 * dynamic batching of their windows (one model per forward), results handed to the loop thread. */
#ifndef ECGFM_SERVER_EMBED_WORKER_H
#define ECGFM_SERVER_EMBED_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/base/error.h"

typedef struct embed_worker embed_worker;
struct encoder;

/* The encoder of a checkpoint for inference (ENC_INFERENCE_ONLY, frozen), and whether its
 * objective z-scores the input; shared by the worker and `ecgfm embed`. */
ecg_code embed_model_load(const char *path, int max_batch, struct encoder **out, int *zscore,
                          ecg_err *err);
typedef struct embed_job embed_job;

/* A model the worker can run: a checkpoint file and the key its loaded encoder is cached under
 * (the file's sha256, so two rows naming the same bytes share one encoder). */
#define EMBED_KEY_MAX 72
typedef struct {
    char key[EMBED_KEY_MAX];
    char path[1300];
    char name[128];       /* what answers call it */
    int dim, win, zscore; /* known once loaded */
} embed_model;

/* Called on the loop thread once every window of job is embedded (or failed: job->code). */
typedef void (*embed_done_fn)(embed_job *job);

struct embed_job {
    const float *x; /* [n_windows][12][win], owned by the submitter until done */
    size_t n_windows;
    float *emb; /* [n_windows][dim], owned by the submitter, filled by the worker */
    /* The model: "" runs on the default at submission; else a key and the file to load when no
     * cached encoder has that key. probe: no windows, only load the model (dim, win, zscore). */
    char model_key[EMBED_KEY_MAX];
    char model_path[1300];
    int probe;
    int dim, win, zscore; /* the model's, filled by the worker */
    embed_done_fn done;
    void *user;
    ecg_code code; /* ECG_OK, or why the forward failed */
    char msg[256];
    /* worker's */
    size_t next;     /* first window not yet handed to a batch */
    size_t finished; /* windows embedded */
    double t_submit;
    embed_job *qnext;
};

typedef struct {
    const char *model_path; /* the default's safetensors checkpoint (copied) */
    int max_batch;          /* windows per forward */
    int max_wait_us;        /* how long a batch waits for more windows once it has one */
    int queue_max;          /* jobs waiting or running; more are refused (429) */
    int threads;            /* compute threads of the worker, 0 = all cores */
    size_t max_windows;     /* windows one request may have (413 beyond) */
    const char *model_key;  /* the default's cache key (its sha256); NULL: "config" */
    const char *model_name; /* what answers call the default; NULL: "default" */
} embed_worker_opts;

typedef struct {
    uint64_t batches;           /* forwards run */
    uint64_t windows;           /* windows embedded */
    uint64_t jobs;              /* jobs completed */
    uint64_t rejected;          /* submissions refused because the queue was full */
    uint64_t multi_job_batches; /* forwards that held windows of more than one job */
    int max_batch_seen;
    int queued; /* jobs waiting or running now */
} embed_worker_stats;

/* Starts the worker thread, which loads the model (see embed_worker_ready) and then serves the
 * queue; completions run on loop. */
ecg_code embed_worker_start(embed_worker **out, uv_loop_t *loop, const embed_worker_opts *o,
                            ecg_err *err);
/* 1 once the model is loaded; 0 while loading; -1 when loading failed (why: a message). */
int embed_worker_ready(embed_worker *w, const char **why);
int embed_worker_dim(const embed_worker *w);    /* embedding size (valid once ready) */
int embed_worker_window(const embed_worker *w); /* samples per window (600) */
int embed_worker_zscore(const embed_worker *w); /* the checkpoint's objective z-scores its input */
const char *embed_worker_model_path(const embed_worker *w);
size_t embed_worker_max_windows(const embed_worker *w);
/* Loop thread: the default model (valid once ready). */
const embed_model *embed_worker_default(const embed_worker *w);
/* Loop thread: 1 and *out's dim, win, zscore set when an encoder with out->key is loaded. */
int embed_worker_cached(embed_worker *w, embed_model *out);
/* Loop thread: m (loaded by a probe job, dims known) becomes the default. Jobs already queued keep
 * the model they were submitted with; later default jobs run on m. */
void embed_worker_set_default(embed_worker *w, const embed_model *m);
int embed_worker_queue_max(const embed_worker *w);

/* Loop thread only. Queues job; returns 0, or 429 (queue full) or 503 (not ready, stopping),
 * leaving the job untouched (its done is not called then). Probes are taken also when the
 * default failed to load (embed_worker_set_default with a model they loaded makes it ready). */
int embed_worker_submit(embed_worker *w, embed_job *job);
void embed_worker_get_stats(embed_worker *w, embed_worker_stats *s);

/* Shutdown, in two steps, on the loop thread: stop refusing nothing, finish what is queued, then
 * call on_drained (loop thread) when every queued job has been delivered; new submissions get 503
 * from the call on. */
void embed_worker_drain(embed_worker *w, void (*on_drained)(void *ctx), void *ctx);
/* Joins the thread (draining it first if embed_worker_drain was not called), closes the loop
 * handle; embed_worker_free after uv_run has returned. */
void embed_worker_close(embed_worker *w);
void embed_worker_free(embed_worker *w);

#endif
