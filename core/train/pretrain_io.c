/* pretrain_io.c — the files a pretraining run leaves and resumes from: a checkpoint, the
 * objective's state and the training state per saved step, tied together by LATEST (see
 * pretrain.h). */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/format/atomic_file.h"
#include "core/format/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/model/train_state.h"
#include "core/train/pretrain_impl.h"

#define MAX_STATE_TENSORS 1024
#define K "ecgfm.pretrain."

int pretrain_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- the config as text ---- */

typedef struct {
    char *p;
    size_t n, len;
    int over;
} sbuf;

static void sput(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sput(sbuf *b, const char *fmt, ...) {
    if (b->over) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->len, b->n - b->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->n - b->len)
        b->over = 1;
    else
        b->len += (size_t)w;
}

ecg_code pretrain_config_text(const pretrain_config *c, char *buf, size_t n, ecg_err *err) {
    sbuf b = {buf, n, 0, 0};
    const ssl_config *s = &c->ssl;
    sput(&b, "objective=%s", ssl_kind_name(s->kind));
    switch (s->kind) {
    case SSL_CPC:
        sput(&b, " cpc_steps_ahead=%d cpc_negatives=%d", s->cpc_steps_ahead, s->cpc_negatives);
        break;
    default:
        sput(&b, " mask_prob=%.9g mask_span=%d ema_momentum=%.9g", s->mask_prob, s->mask_span,
             s->ema_momentum);
        break;
    }
    if (s->kind == SSL_JEPA)
        sput(&b,
             " jepa_target_blocks=%d jepa_block_len=%d jepa_context_min=%.9g "
             "jepa_context_max=%.9g jepa_predictor_state=%d",
             s->jepa_target_blocks, s->jepa_block_len, s->jepa_context_min, s->jepa_context_max,
             s->jepa_predictor_state);
    if (s->kind == SSL_DATA2VEC) sput(&b, " d2v_top_layers=%d", s->d2v_top_layers);
    if (s->kind == SSL_DINOSR)
        sput(&b, " dinosr_codebook=%d dinosr_codebook_ema=%.9g", s->dinosr_codebook,
             s->dinosr_codebook_ema);
    if (s->kind == SSL_HUBERT)
        sput(&b,
             " hubert_k=%d,%d hubert_teacher_temp=%.9g hubert_student_temp=%.9g "
             "hubert_sinkhorn_iters=%d hubert_proto_ema=%.9g hubert_w_masked=%.9g "
             "hubert_w_unmasked=%.9g hubert_entropy=%.9g hubert_warmup_steps=%d",
             s->hubert_k[0], s->hubert_k[1], s->hubert_teacher_temp, s->hubert_student_temp,
             s->hubert_sinkhorn_iters, s->hubert_proto_ema, s->hubert_w_masked,
             s->hubert_w_unmasked, s->hubert_entropy, s->hubert_warmup_steps);
    enc_kv kv[ENC_KV_MAX];
    int nkv = encoder_config_to_kv(&c->enc, kv);
    for (int i = 0; i < nkv; i++)
        sput(&b, " %s=%s", kv[i].key + strlen(ENC_KV_PREFIX), kv[i].value);
    sput(&b, " beta1=%.17g beta2=%.17g eps=%.17g", c->opt.beta1, c->opt.beta2, c->opt.eps);
    sput(&b, " lr_factor=%.9g,%.9g,%.9g weight_decay=%.9g,%.9g,%.9g", c->opt.lr_factor[0],
         c->opt.lr_factor[1], c->opt.lr_factor[2], c->opt.weight_decay[0], c->opt.weight_decay[1],
         c->opt.weight_decay[2]);
    sput(&b, " schedule=%s lr=%.9g min_lr=%.9g warmup_steps=%" PRId64 " total_steps=%" PRId64,
         schedule_kind_name(c->sched.kind), c->sched.lr, c->sched.min_lr, c->sched.warmup_steps,
         c->sched.total_steps);
    sput(&b,
         " batch=%d epochs=%d seed=%" PRIu64 " split_seed=%" PRIu64 " subset=%" PRId64
         " val_records=%" PRId64,
         c->batch, c->epochs, c->seed, c->split_seed, c->subset, c->val_records);
    if (b.over) return err_set(err, ECG_ENOMEM, "pretrain config text longer than %zu bytes", n);
    return ECG_OK;
}

/* "a=1 b=2" vs "a=1 b=3" -> "b: 2 (stored) vs 3 (now)". */
static void first_diff(const char *a, const char *b, char *out, size_t n) {
    while (*a || *b) {
        size_t la = strcspn(a, " "), lb = strcspn(b, " ");
        if (la != lb || memcmp(a, b, la) != 0) {
            snprintf(out, n, "%.*s (stored) vs %.*s (now)", (int)la, a, (int)lb, b);
            return;
        }
        a += la + (a[la] == ' ');
        b += lb + (b[lb] == ' ');
    }
    snprintf(out, n, "(none)");
}

/* ---- paths ---- */

static ecg_code path_of(char *out, size_t n, const char *dir, const char *name, int64_t step,
                        const char *ext, ecg_err *err) {
    int w = step >= 0 ? snprintf(out, n, "%s/%s-%08" PRId64 "%s", dir, name, step, ext)
                      : snprintf(out, n, "%s/%s%s", dir, name, ext);
    if (w < 0 || (size_t)w >= n) return err_set(err, ECG_EINVAL, "path under %s too long", dir);
    return ECG_OK;
}

ecg_code pretrain_latest(const char *out_dir, int64_t *step, ecg_err *err) {
    *step = -1;
    char path[4096];
    ecg_code rc = path_of(path, sizeof path, out_dir, "LATEST", -1, "", err);
    if (rc) return rc;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return ECG_OK;
        return err_set(err, ECG_EIO, "cannot read %s", path);
    }
    long long s = -1;
    int ok = fscanf(f, "step %lld", &s) == 1 && s >= 0;
    fclose(f);
    if (!ok) return err_set(err, ECG_EFORMAT, "%s: expected \"step <n>\"", path);
    *step = s;
    return ECG_OK;
}

/* ---- writing ---- */

static void metrics_text(const ssl_metrics *m, char *buf, size_t n) {
    sbuf b = {buf, n, 0, 0};
    buf[0] = 0;
    for (int i = 0; i < m->n; i++)
        sput(&b, "%s%s=%a", i ? "," : "", m->m[i].name, m->m[i].value);
}

static ecg_code write_objective(pretrain_ctx *c, const char *path, ecg_err *err) {
    ssl_state_tensor *t = calloc(MAX_STATE_TENSORS, sizeof *t);
    st_entry *ent = calloc(MAX_STATE_TENSORS, sizeof *ent);
    if (!t || !ent) {
        free(t), free(ent);
        return err_set(err, ECG_ENOMEM, "out of memory writing %s", path);
    }
    int n = ssl_state_tensors(c->obj, t, MAX_STATE_TENSORS);
    ecg_code rc = ECG_OK;
    if (n >= MAX_STATE_TENSORS)
        rc =
            err_set(err, ECG_EINVAL, "objective has more than %d state tensors", MAX_STATE_TENSORS);
    for (int i = 0; i < n && !rc; i++)
        ent[i] = (st_entry){.name = t[i].name,
                            .dtype = ST_F32,
                            .ndim = 1,
                            .shape = {(int64_t)t[i].count},
                            .data = t[i].data};
    const rng_state *r = ssl_rng(c->obj);
    char step[32], rng[80], vstep[32], vloss[64], vmet[1024];
    snprintf(step, sizeof step, "%" PRId64, c->step);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, r->s[0],
             r->s[1], r->s[2], r->s[3]);
    snprintf(vstep, sizeof vstep, "%" PRId64, c->last_val_step);
    snprintf(vloss, sizeof vloss, "%a", c->last_val_loss);
    metrics_text(&c->last_val, vmet, sizeof vmet);
    const char *kv[] = {K "objective",
                        ssl_kind_name(c->cfg.ssl.kind),
                        K "step",
                        step,
                        K "config",
                        c->cfg_text,
                        K "objective_rng",
                        rng,
                        K "last_val_step",
                        vstep,
                        K "last_val_loss",
                        vloss,
                        K "last_val_metrics",
                        vmet};
    if (!rc) rc = st_write_file(path, ent, n, kv, (int)(sizeof kv / sizeof *kv / 2), err);
    free(t);
    free(ent);
    return rc;
}

static ecg_code write_checkpoint(pretrain_ctx *c, const char *path, ecg_err *err) {
    char step[32], total[32], epoch[32], ntrain[32], nval[32], seed[32], sseed[32], vloss[64],
        mkeys[SSL_MAX_METRICS][64], mvals[SSL_MAX_METRICS][64];
    snprintf(step, sizeof step, "%" PRId64, c->step);
    snprintf(total, sizeof total, "%" PRId64, c->total_steps);
    snprintf(epoch, sizeof epoch, "%" PRId64, c->step / c->steps_per_epoch);
    snprintf(ntrain, sizeof ntrain, "%" PRId64, c->n_train);
    snprintf(nval, sizeof nval, "%" PRId64, c->n_val);
    snprintf(seed, sizeof seed, "%" PRIu64, c->cfg.seed);
    snprintf(sseed, sizeof sseed, "%" PRIu64, c->cfg.split_seed);
    if (isnan(c->last_val_loss))
        snprintf(vloss, sizeof vloss, "none");
    else
        snprintf(vloss, sizeof vloss, "%.9g", c->last_val_loss);
    const char *kv[2 * (11 + SSL_MAX_METRICS)] = {K "objective",   ssl_kind_name(c->cfg.ssl.kind),
                                                  K "dataset",     c->dataset_name,
                                                  K "subset",      ntrain,
                                                  K "val_records", nval,
                                                  K "seed",        seed,
                                                  K "split_seed",  sseed,
                                                  K "step",        step,
                                                  K "total_steps", total,
                                                  K "epoch",       epoch,
                                                  K "val_loss",    vloss,
                                                  K "config",      c->cfg_text};
    int n = 11;
    for (int i = 0; i < c->last_val.n; i++, n++) {
        snprintf(mkeys[i], sizeof mkeys[i], K "val_%s", c->last_val.m[i].name);
        snprintf(mvals[i], sizeof mvals[i], "%.9g", c->last_val.m[i].value);
        kv[2 * n] = mkeys[i];
        kv[2 * n + 1] = mvals[i];
    }
    return checkpoint_save(path, c->enc, kv, n, err);
}

static ecg_code write_latest(const char *out_dir, int64_t step, ecg_err *err) {
    char path[4096], text[64];
    ecg_code rc = path_of(path, sizeof path, out_dir, "LATEST", -1, "", err);
    if (rc) return rc;
    int len = snprintf(text, sizeof text, "step %" PRId64 "\n", step);
    atomic_file a;
    if ((rc = atomic_open(&a, path, err))) return rc;
    if ((rc = atomic_write(&a, text, (size_t)len, err))) {
        atomic_abort(&a);
        return rc;
    }
    return atomic_commit(&a, err);
}

static void remove_set(const char *out_dir, int64_t step) {
    char p[4096];
    ecg_err e;
    if (!path_of(p, sizeof p, out_dir, "checkpoint", step, ".safetensors", &e)) unlink(p);
    if (!path_of(p, sizeof p, out_dir, "objective", step, ".safetensors", &e)) unlink(p);
    if (!path_of(p, sizeof p, out_dir, "train_state", step, ".bin", &e)) unlink(p);
}

ecg_code pretrain_save_state(pretrain_ctx *c, ecg_err *err) {
    char ck[4096], ob[4096], tsp[4096];
    ecg_code rc;
    if ((rc = path_of(ck, sizeof ck, c->out_dir, "checkpoint", c->step, ".safetensors", err)) ||
        (rc = path_of(ob, sizeof ob, c->out_dir, "objective", c->step, ".safetensors", err)) ||
        (rc = path_of(tsp, sizeof tsp, c->out_dir, "train_state", c->step, ".bin", err)))
        return rc;
    train_state ts = {.step = c->step,
                      .epoch = c->step / c->steps_per_epoch,
                      .data_pos = (c->step % c->steps_per_epoch) * c->cfg.batch,
                      .bn_batches = encoder_bn_batches(c->enc),
                      .rng_model = *encoder_rng(c->enc),
                      .rng_data = c->rng_data};
    if ((rc = write_checkpoint(c, ck, err)) || (rc = write_objective(c, ob, err)) ||
        (rc = train_state_save(tsp, &ts, &c->opt, encoder_params(c->enc), err)) ||
        (rc = write_latest(c->out_dir, c->step, err)))
        return rc;
    if (c->saved_step >= 0 && c->saved_step != c->step) remove_set(c->out_dir, c->saved_step);
    c->saved_step = c->step;
    pretrain_emit(c, PRETRAIN_EV_CHECKPOINT, ck);
    return ECG_OK;
}

ecg_code pretrain_save_final(pretrain_ctx *c, ecg_err *err) {
    char ob[4096];
    ecg_code rc;
    if ((rc = path_of(c->final_path, sizeof c->final_path, c->out_dir, "checkpoint", -1,
                      ".safetensors", err)) ||
        (rc = path_of(ob, sizeof ob, c->out_dir, "objective", -1, ".safetensors", err)))
        return rc;
    if ((rc = write_checkpoint(c, c->final_path, err))) return rc;
    return write_objective(c, ob, err);
}

/* ---- resuming ---- */

static int parse_hex64(const char *s, uint64_t *v) {
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        int d;
        char ch = s[i];
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else
            return 0;
        x = x << 4 | (uint64_t)d;
    }
    *v = x;
    return 1;
}

static ecg_code load_objective(pretrain_ctx *c, const char *path, int64_t step, ecg_err *err) {
    st_file f;
    ecg_code rc = st_read_file(&f, path, err);
    if (rc) return rc;
    const char *cfg = st_meta_get(&f, K "config"), *sstep = st_meta_get(&f, K "step"),
               *rng = st_meta_get(&f, K "objective_rng"),
               *vstep = st_meta_get(&f, K "last_val_step"),
               *vloss = st_meta_get(&f, K "last_val_loss"),
               *vmet = st_meta_get(&f, K "last_val_metrics");
    ssl_state_tensor *t = NULL;
    if (!cfg || !sstep || !rng || strlen(rng) != 64 || !vstep || !vloss || !vmet) {
        rc = err_set(err, ECG_EFORMAT, "%s: not an ecgfm objective state (metadata missing)", path);
        goto out;
    }
    if (strcmp(cfg, c->cfg_text) != 0) {
        char d[512];
        first_diff(cfg, c->cfg_text, d, sizeof d);
        rc = err_set(err, ECG_EINVAL, "cannot resume: the run was started with another config (%s)",
                     d);
        goto out;
    }
    if (strtoll(sstep, NULL, 10) != step) {
        rc = err_set(err, ECG_EFORMAT, "%s holds step %s, LATEST says %lld", path, sstep,
                     (long long)step);
        goto out;
    }
    t = calloc(MAX_STATE_TENSORS, sizeof *t);
    if (!t) {
        rc = err_set(err, ECG_ENOMEM, "out of memory reading %s", path);
        goto out;
    }
    int n = ssl_state_tensors(c->obj, t, MAX_STATE_TENSORS);
    for (int i = 0; i < n && !rc; i++)
        rc = st_get_f32(&f, t[i].name, t[i].data, t[i].count, err);
    if (rc) goto out;
    if (f.n_tensors != n) {
        rc = err_set(err, ECG_EFORMAT, "%s holds %d state tensors, the objective has %d", path,
                     f.n_tensors, n);
        goto out;
    }
    rng_state *r = ssl_rng(c->obj);
    for (int i = 0; i < 4; i++)
        if (!parse_hex64(rng + 16 * i, &r->s[i])) {
            rc = err_set(err, ECG_EFORMAT, "%s: bad objective_rng", path);
            goto out;
        }
    c->last_val_step = strtoll(vstep, NULL, 10);
    c->last_val_loss = strtod(vloss, NULL);
    memset(&c->last_val, 0, sizeof c->last_val);
    c->last_val.loss = c->last_val_loss;
    for (const char *p = vmet; *p && c->last_val.n < SSL_MAX_METRICS;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end) break;
        int k = c->last_val.n++;
        snprintf(c->last_val.m[k].name, sizeof c->last_val.m[k].name, "%.*s", (int)(eq - p), p);
        c->last_val.m[k].value = strtod(eq + 1, NULL);
        p = *end ? end + 1 : end;
    }
out:
    free(t);
    st_free(&f);
    return rc;
}

ecg_code pretrain_load_state(pretrain_ctx *c, int64_t step, ecg_err *err) {
    char ck[4096], ob[4096], tsp[4096];
    ecg_code rc;
    if ((rc = path_of(ck, sizeof ck, c->out_dir, "checkpoint", step, ".safetensors", err)) ||
        (rc = path_of(ob, sizeof ob, c->out_dir, "objective", step, ".safetensors", err)) ||
        (rc = path_of(tsp, sizeof tsp, c->out_dir, "train_state", step, ".bin", err)))
        return rc;
    if (step > c->total_steps)
        return err_set(err, ECG_EINVAL,
                       "cannot resume: saved step %lld is past the run's %lld steps",
                       (long long)step, (long long)c->total_steps);
    if ((rc = load_objective(c, ob, step, err))) return rc;
    if ((rc = checkpoint_load(ck, c->enc, err))) return rc;
    train_state ts;
    if ((rc = train_state_load(tsp, &ts, &c->opt, encoder_params(c->enc), err))) return rc;
    if (ts.step != step)
        return err_set(err, ECG_EFORMAT, "%s holds step %lld, LATEST says %lld", tsp,
                       (long long)ts.step, (long long)step);
    encoder_set_bn_batches(c->enc, ts.bn_batches);
    *encoder_rng(c->enc) = ts.rng_model;
    c->rng_data = ts.rng_data;
    c->step = step;
    c->saved_step = step;
    return ECG_OK;
}
