/* pretrain.c — the pretraining loop (see pretrain.h): data order and crops, steps, validation,
 * progress. The files a run leaves (checkpoints, objective state, train state) are in
 * pretrain_io.c.
 */
#include "core/train/pretrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/base/threads.h"
#include "core/data/store.h"
#include "core/train/pretrain_impl.h"

void pretrain_config_default(pretrain_config *c, ssl_kind kind) {
    memset(c, 0, sizeof *c);
    ssl_config_default(&c->ssl, kind);
    encoder_config_default(&c->enc, ENC_BACKBONE_S4);
    c->enc.causal = ssl_encoder_causal(kind);
    adamw_config_default(&c->opt);
    c->sched = (lr_schedule){.kind = SCHED_CONSTANT, .lr = 3e-3f};
    c->batch = 64;
    c->epochs = 10;
    c->seed = 0;
    c->split_seed = 0;
}

ecg_code pretrain_config_validate(const pretrain_config *c, ecg_err *err) {
    ecg_code rc = encoder_config_validate(&c->enc, err);
    if (rc) return rc;
    if ((rc = ssl_config_validate(&c->ssl, &c->enc, err))) return rc;
    if ((rc = schedule_validate(&c->sched, err))) return rc;
    if (!(c->sched.lr > 0 && isfinite(c->sched.lr)))
        return err_set(err, ECG_EINVAL, "lr must be a positive number");
    if (c->enc.in_samples != PRETRAIN_WINDOW || c->enc.in_channels != 12)
        return err_set(err, ECG_EINVAL,
                       "pretraining crops %d samples of 12 leads: the model needs in_samples %d "
                       "and in_channels 12",
                       PRETRAIN_WINDOW, PRETRAIN_WINDOW);
    if (c->batch < 1 || c->batch > 4096)
        return err_set(err, ECG_EINVAL, "batch must be in [1, 4096], not %d", c->batch);
    if (c->epochs < 1 || c->epochs > 100000)
        return err_set(err, ECG_EINVAL, "epochs must be in [1, 100000], not %d", c->epochs);
    if (c->subset < 0) return err_set(err, ECG_EINVAL, "subset must be >= 0 (0: every record)");
    if (c->val_records < 0) return err_set(err, ECG_EINVAL, "val_records must be >= 0 (0: auto)");
    if (c->val_every < 0 || c->checkpoint_every < 0)
        return err_set(err, ECG_EINVAL,
                       "val_every and checkpoint_every must be >= 0 (0: per epoch, at most 1000)");
    if (c->threads < 0) return err_set(err, ECG_EINVAL, "threads must be >= 0 (0: all cores)");
    static const char *const gname[PG_COUNT] = {"stem", "backbone", "head"};
    for (int g = 0; g < PG_COUNT; g++) {
        if (!(c->opt.lr_factor[g] >= 0 && isfinite(c->opt.lr_factor[g])))
            return err_set(err, ECG_EINVAL, "lr_factor.%s must be >= 0", gname[g]);
        if (!(c->opt.weight_decay[g] >= 0 && isfinite(c->opt.weight_decay[g])))
            return err_set(err, ECG_EINVAL, "weight_decay (%s) must be >= 0", gname[g]);
    }
    if (!(c->opt.beta1 >= 0 && c->opt.beta1 < 1 && c->opt.beta2 >= 0 && c->opt.beta2 < 1))
        return err_set(err, ECG_EINVAL, "betas must be in [0, 1)");
    if (!(c->opt.eps > 0)) return err_set(err, ECG_EINVAL, "eps must be > 0");
    return ECG_OK;
}

/* ---- small helpers ---- */

double pretrain_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cancelled(const pretrain_hooks *h) {
    return h && h->cancel && atomic_load_explicit(h->cancel, memory_order_relaxed) != 0;
}

void pretrain_emit(pretrain_ctx *c, pretrain_event ev, const char *ckpt) {
    if (!c->hooks || !c->hooks->progress) return;
    pretrain_progress p = {0};
    p.event = ev;
    p.step = c->step;
    p.total_steps = c->total_steps;
    p.epoch = c->steps_per_epoch ? c->step / c->steps_per_epoch : 0;
    if (p.epoch >= c->cfg.epochs) p.epoch = c->cfg.epochs - 1;
    p.epochs = c->cfg.epochs;
    double now = pretrain_now();
    p.elapsed_s = now - c->t_start;
    p.windows_per_s = c->train_time > 0 ? (double)c->windows_done / c->train_time : 0;
    int64_t done_here = c->step - c->start_step;
    p.eta_s =
        done_here > 0 ? p.elapsed_s / (double)done_here * (double)(c->total_steps - c->step) : NAN;
    p.train_loss = done_here > 0 ? c->last_train.loss : NAN;
    p.train_loss_avg = c->avg_n ? c->avg_sum / (double)c->avg_n : NAN;
    p.train_metrics = c->last_train;
    p.val_loss = c->last_val_loss;
    p.val_metrics = c->last_val;
    p.checkpoint = ckpt;
    c->hooks->progress(c->hooks->progress_ctx, &p);
}

/* ---- data ---- */

/* The order of the training records in epoch `epoch`, into c->order (positions into c->train). */
static void epoch_order(pretrain_ctx *c, int64_t epoch) {
    rng_state er = rng_fork(&c->rng_data, (uint64_t)epoch);
    for (int64_t i = 0; i < c->n_train; i++)
        c->order[i] = (size_t)i;
    for (int64_t i = c->n_train - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&er, (uint64_t)i + 1);
        size_t t = c->order[i];
        c->order[i] = c->order[j];
        c->order[j] = t;
    }
    c->order_epoch = epoch;
}

/* Batch of crops for positions [pos, pos + B) of epoch `epoch` into c->x. */
static ecg_code load_train_batch(pretrain_ctx *c, int64_t epoch, int64_t pos, ecg_err *err) {
    if (c->order_epoch != epoch) epoch_order(c, epoch);
    const int B = c->cfg.batch;
    rng_state er = rng_fork(&c->rng_data, (uint64_t)epoch);
    ecg_code rc = ECG_OK;
    ecg_err e1 = {0};
#pragma omp parallel for schedule(static) if (B >= 8)
    for (int b = 0; b < B; b++) {
        size_t rec = c->train[c->order[pos + b]];
        /* Each position has its own stream, so crops do not depend on batching or threads. */
        rng_state cr = rng_fork(&er, 0x100000000ULL + (uint64_t)(pos + b));
        store_record_info info;
        ecg_err le = {0};
        ecg_code r = store_info(c->ds, rec, &info, &le);
        size_t start = 0;
        if (!r && info.n_samples >= PRETRAIN_WINDOW)
            start = (size_t)rng_below(&cr, info.n_samples - PRETRAIN_WINDOW + 1);
        if (!r)
            r = store_read_window(c->ds, rec, start, PRETRAIN_WINDOW,
                                  c->x + (size_t)b * 12 * PRETRAIN_WINDOW, &le);
        if (r) {
#pragma omp critical(pretrain_read_err)
            if (!rc) rc = r, e1 = le;
        }
    }
    if (rc) return err_set(err, rc, "reading the dataset: %s", e1.msg);
    return ECG_OK;
}

/* ---- validation ---- */

int pretrain_need_val(const pretrain_ctx *c, int64_t step) {
    return step == 0 || step == c->total_steps || step % c->val_every == 0;
}

static int metric_index(const ssl_metrics *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->m[i].name, name) == 0) return i;
    return -1;
}

/* Loss and metrics on the held-out windows, means over windows. Returns ECG_OK with *stopped set
 * when cancelled midway (nothing recorded then). */
static ecg_code validate(pretrain_ctx *c, int *stopped, ecg_err *err) {
    *stopped = 0;
    rng_state *orng = ssl_rng(c->obj);
    const rng_state keep = *orng;
    *orng = rng_fork(&c->rng_val, 0);
    double loss = 0, msum[SSL_MAX_METRICS] = {0};
    ssl_metrics acc = {0};
    int64_t n = 0;
    ecg_code rc = ECG_OK;
    for (int64_t i = 0; i < c->n_val; i += c->cfg.batch) {
        if (cancelled(c->hooks)) {
            *stopped = 1;
            break;
        }
        int B = (int)(c->n_val - i < c->cfg.batch ? c->n_val - i : c->cfg.batch);
        for (int b = 0; b < B; b++) {
            rc = store_read_window(c->ds, c->val[i + b], 0, PRETRAIN_WINDOW,
                                   c->x + (size_t)b * 12 * PRETRAIN_WINDOW, err);
            if (rc) break;
        }
        if (rc) break;
        ssl_metrics m;
        if ((rc = ssl_step(c->obj, c->x, B, 0, &m, err))) break;
        loss += m.loss * B;
        for (int k = 0; k < m.n; k++) {
            int j = metric_index(&acc, m.m[k].name);
            if (j < 0 && acc.n < SSL_MAX_METRICS) {
                j = acc.n++;
                snprintf(acc.m[j].name, sizeof acc.m[j].name, "%s", m.m[k].name);
            }
            if (j >= 0) msum[j] += m.m[k].value * B;
        }
        n += B;
    }
    *orng = keep;
    if (rc || *stopped) return rc;
    acc.loss = loss / (double)n;
    for (int j = 0; j < acc.n; j++)
        acc.m[j].value = msum[j] / (double)n;
    if (!isfinite(acc.loss))
        return err_set(err, ECG_EINVAL, "validation loss is not finite at step %lld",
                       (long long)c->step);
    c->last_val = acc;
    c->last_val_loss = acc.loss;
    c->last_val_step = c->step;
    if (isnan(c->res->first_val_loss)) c->res->first_val_loss = acc.loss;
    c->res->last_val_loss = acc.loss;
    c->res->last_val_metrics = acc;
    c->avg_sum = 0;
    c->avg_n = 0;
    pretrain_emit(c, PRETRAIN_EV_VAL, NULL);
    return ECG_OK;
}

/* ---- setup ---- */

static ecg_code setup(pretrain_ctx *c, const char *dataset_dir, ecg_err *err) {
    ecg_code rc = store_open(&c->ds, dataset_dir, STORE_OPEN_NO_RECORD_CRC, err);
    if (rc) return rc;
    const size_t count = store_count(c->ds);
    int64_t n_val = c->cfg.val_records;
    if (n_val == 0) {
        n_val = (int64_t)(count / 10);
        if (n_val > 1000) n_val = 1000;
        if (n_val < 1) n_val = 1;
    }
    if ((size_t)n_val >= count)
        return err_set(err, ECG_EINVAL,
                       "%s holds %zu records: too few for %lld validation records and training",
                       dataset_dir, count, (long long)n_val);
    if ((rc = store_split_init(&c->split, count, (size_t)n_val, c->cfg.split_seed, err))) return rc;
    c->have_split = 1;
    int64_t pool = (int64_t)(count - (size_t)n_val);
    int64_t n_train = c->cfg.subset ? c->cfg.subset : pool;
    if (n_train > pool)
        return err_set(err, ECG_EINVAL,
                       "subset %lld is larger than the %lld records left after %lld for validation",
                       (long long)n_train, (long long)pool, (long long)n_val);
    if (n_train < c->cfg.batch)
        return err_set(err, ECG_EINVAL,
                       "subset of %lld training records is smaller than one batch of %d",
                       (long long)n_train, c->cfg.batch);
    if ((rc = store_split_subset(&c->split, (size_t)n_train, &c->train, err))) return rc;
    c->val = store_split_val(&c->split);
    c->n_train = n_train;
    c->n_val = n_val;
    c->steps_per_epoch = n_train / c->cfg.batch;
    c->total_steps = c->steps_per_epoch * c->cfg.epochs;
    const int64_t every =
        c->steps_per_epoch < PRETRAIN_DEFAULT_EVERY ? c->steps_per_epoch : PRETRAIN_DEFAULT_EVERY;
    c->val_every = c->cfg.val_every ? c->cfg.val_every : every;
    c->ckpt_every = c->cfg.checkpoint_every ? c->cfg.checkpoint_every : every;
    c->order = malloc((size_t)n_train * sizeof *c->order);
    c->x = malloc((size_t)c->cfg.batch * 12 * PRETRAIN_WINDOW * sizeof *c->x);
    if (!c->order || !c->x) return err_set(err, ECG_ENOMEM, "out of memory for the data batches");
    c->order_epoch = -1;

    rng_state base;
    rng_seed(&base, c->cfg.seed);
    rng_state w = rng_fork(&base, 1), o = rng_fork(&base, 2);
    c->rng_data = rng_fork(&base, 3);
    c->rng_val = rng_fork(&base, 4);
    if ((rc = encoder_create(&c->enc, &c->cfg.enc, c->cfg.batch, rng_next_u64(&w), 0, err)))
        return rc;
    if ((rc = ssl_create(&c->obj, &c->cfg.ssl, c->enc, rng_next_u64(&o), err))) return rc;
    if ((rc = adamw_init(&c->opt, &c->cfg.opt, encoder_params(c->enc), err))) return rc;
    c->have_opt = 1;
    return ECG_OK;
}

static void teardown(pretrain_ctx *c) {
    if (c->have_opt) adamw_free(&c->opt);
    ssl_free(c->obj);
    encoder_free(c->enc);
    if (c->have_split) store_split_free(&c->split);
    store_close(c->ds);
    free(c->order);
    free(c->x);
}

/* ---- the loop ---- */

static ecg_code train_step(pretrain_ctx *c, ecg_err *err) {
    const int64_t epoch = c->step / c->steps_per_epoch;
    const int64_t pos = (c->step % c->steps_per_epoch) * c->cfg.batch;
    ecg_code rc = load_train_batch(c, epoch, pos, err);
    if (rc) return rc;
    param_set *ps = encoder_params(c->enc);
    params_zero_grad(ps);
    ssl_metrics m;
    if ((rc = ssl_step(c->obj, c->x, c->cfg.batch, 1, &m, err))) return rc;
    if (!isfinite(m.loss))
        return err_set(err, ECG_EINVAL, "training loss is not finite at step %lld (lr too high?)",
                       (long long)c->step);
    if ((rc = adamw_step(&c->opt, ps, schedule_lr(&c->cfg.sched, c->step), err))) return rc;
    c->step++;
    ssl_after_update(c->obj, c->step);
    c->last_train = m;
    c->avg_sum += m.loss;
    c->avg_n++;
    c->windows_done += c->cfg.batch;
    return ECG_OK;
}

ecg_code pretrain_run(const pretrain_config *cfg, const char *dataset_dir, const char *out_dir,
                      const pretrain_hooks *hooks, pretrain_result *res, ecg_err *err) {
    memset(res, 0, sizeof *res);
    res->first_val_loss = res->last_val_loss = NAN;
    ecg_code rc = pretrain_config_validate(cfg, err);
    if (rc) return rc;
    if (mkdir(out_dir, 0777) != 0 && !pretrain_is_dir(out_dir))
        return err_set(err, ECG_EIO, "cannot create the output directory %s", out_dir);
    threads_set(cfg->threads);

    pretrain_ctx *c = calloc(1, sizeof *c);
    if (!c) return err_set(err, ECG_ENOMEM, "out of memory");
    c->cfg = *cfg;
    c->hooks = hooks;
    c->res = res;
    c->out_dir = out_dir;
    c->dataset_name = hooks && hooks->dataset_name ? hooks->dataset_name : dataset_dir;
    c->last_val_loss = NAN;
    c->last_val_step = -1;
    c->saved_step = -1;
    c->t_start = pretrain_now();
    if ((rc = setup(c, dataset_dir, err))) goto done;
    if ((rc = pretrain_config_text(&c->cfg, c->cfg_text, sizeof c->cfg_text, err))) goto done;

    int64_t latest = -1;
    if ((rc = pretrain_latest(out_dir, &latest, err))) goto done;
    if (latest >= 0 && !(hooks && hooks->resume)) {
        rc = err_set(err, ECG_EINVAL,
                     "%s already holds a run (state at step %lld): resume it or choose another "
                     "output directory",
                     out_dir, (long long)latest);
        goto done;
    }
    if (latest >= 0 && (rc = pretrain_load_state(c, latest, err))) goto done;
    c->start_step = c->step;
    res->start_step = c->step;
    res->total_steps = c->total_steps;
    res->n_train = c->n_train;
    res->n_val = c->n_val;

    int stopped = 0;
    /* A validation due at the current step that has not run (fresh start, or cancelled during it).
     */
    if (pretrain_need_val(c, c->step) && c->last_val_step != c->step) {
        if ((rc = validate(c, &stopped, err))) goto done;
    }
    while (!stopped && c->step < c->total_steps) {
        if (cancelled(hooks)) {
            stopped = 1;
            break;
        }
        double t0 = pretrain_now();
        if ((rc = train_step(c, err))) goto done;
        c->train_time += pretrain_now() - t0;
        pretrain_emit(c, PRETRAIN_EV_STEP, NULL);
        if (pretrain_need_val(c, c->step) && (rc = validate(c, &stopped, err))) goto done;
        if (stopped) break;
        if ((c->step % c->ckpt_every == 0 || c->step == c->total_steps) &&
            (rc = pretrain_save_state(c, err)))
            goto done;
    }
    res->step = c->step;
    if (stopped) {
        if (c->saved_step != c->step && (rc = pretrain_save_state(c, err))) goto done;
        res->status = PRETRAIN_CANCELLED;
        pretrain_emit(c, PRETRAIN_EV_DONE, NULL);
        goto done;
    }
    if (c->saved_step != c->step && (rc = pretrain_save_state(c, err))) goto done;
    if ((rc = pretrain_save_final(c, err))) goto done;
    res->status = PRETRAIN_FINISHED;
    pretrain_emit(c, PRETRAIN_EV_DONE, c->final_path);
done:
    teardown(c);
    free(c);
    return rc;
}
