/* study.c — runs the scaling study: every pretraining job (resumable), zero-shot transfer of every
 * checkpoint and of the random init, then the table rows, power-law curves and CKA. */
#include "core/study/study.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/rng.h"
#include "core/base/threads.h"
#include "core/data/arff.h"
#include "core/data/sktime_ts.h"
#include "core/data/taskfmt.h"
#include "core/data/ucr.h"
#include "core/format/atomic_file.h"
#include "core/model/checkpoint.h"
#include "core/transfer/classify.h"
#include "core/transfer/transfer.h"

void study_config_default(study_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "study");
    c->epochs = 10;
    c->batch = 32;
    c->threads = 0;
    c->val_records = 0;
    map_opts_default(&c->map);
    c->bootstrap = 1000;
    c->bootstrap_seed = 0;
    c->finetune = 0;
    ft_opts_default(&c->ft);
}

const char *study_classifier_name(int c) {
    return c == 0 ? "logreg" : c == 1 ? "knn_cosine" : "finetune";
}

static int name_ok(const char *s) {
    if (!s[0]) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

ecg_code study_config_validate(const study_config *c, ecg_err *err) {
    if (!c->dataset[0])
        return err_set(err, ECG_EINVAL,
                       "study: no pretraining dataset (\"dataset\" in the "
                       "config, or --dataset)");
    if (c->n_sizes < 1 || c->n_sizes > STUDY_MAX_SIZES)
        return err_set(err, ECG_EINVAL, "study: sizes: 1 to %d needed", STUDY_MAX_SIZES);
    for (int i = 0; i < c->n_sizes; i++) {
        if (c->sizes[i] < 0) return err_set(err, ECG_EINVAL, "study: sizes[%d] is negative", i);
        if (i && c->sizes[i] <= c->sizes[i - 1])
            return err_set(err, ECG_EINVAL, "study: sizes must be strictly increasing");
    }
    if (c->n_objectives < 1 || c->n_objectives > STUDY_MAX_OBJECTIVES)
        return err_set(err, ECG_EINVAL, "study: objectives: 1 to %d needed", STUDY_MAX_OBJECTIVES);
    for (int i = 0; i < c->n_objectives; i++)
        for (int j = 0; j < i; j++)
            if (c->objectives[i].ssl.kind == c->objectives[j].ssl.kind)
                return err_set(err, ECG_EINVAL, "study: objective %s is listed twice",
                               ssl_kind_name(c->objectives[i].ssl.kind));
    if (c->n_seeds < 1 || c->n_seeds > STUDY_MAX_SEEDS)
        return err_set(err, ECG_EINVAL, "study: seeds: 1 to %d needed", STUDY_MAX_SEEDS);
    for (int i = 0; i < c->n_seeds; i++)
        for (int j = 0; j < i; j++)
            if (c->seeds[i] == c->seeds[j])
                return err_set(err, ECG_EINVAL, "study: seed %" PRIu64 " is listed twice",
                               c->seeds[i]);
    if (c->n_tasks < 1 || c->n_tasks > STUDY_MAX_TASKS)
        return err_set(err, ECG_EINVAL, "study: tasks: 1 to %d needed", STUDY_MAX_TASKS);
    for (int i = 0; i < c->n_tasks; i++) {
        if (!name_ok(c->tasks[i].name))
            return err_set(err, ECG_EINVAL, "study: tasks[%d].name must be [A-Za-z0-9_.-]+", i);
        if (!c->tasks[i].train[0] || !c->tasks[i].test[0])
            return err_set(err, ECG_EINVAL, "study: tasks[%d] needs train and test files", i);
    }
    if (c->epochs < 1 || c->batch < 1 || c->threads < 0 || c->val_records < 0)
        return err_set(err, ECG_EINVAL, "study: epochs and batch must be >= 1");
    if (c->bootstrap < 2) return err_set(err, ECG_EINVAL, "study: bootstrap must be >= 2");
    if (c->finetune && (c->ft.epochs < 1 || c->ft.batch < 1 || c->ft.patience < 0 ||
                        !(c->ft.val_fraction > 0 && c->ft.val_fraction < 1)))
        return err_set(err, ECG_EINVAL,
                       "study: finetune needs epochs >= 1, batch >= 1, patience >= 0 and "
                       "0 < val_fraction < 1");
    return ECG_OK;
}

study_run *study_result_run(const study_result *r, int size, int objective, int seed) {
    const study_config *c = r->cfg;
    return &r->runs[((size_t)size * c->n_objectives + objective) * c->n_seeds + seed];
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static ecg_code read_task(const char *path, task_split *t, ecg_err *err) {
    if (ends_with(path, ".ts")) return ts_read_file(t, path, NULL, err);
    if (ends_with(path, ".arff")) return arff_read_file(t, path, NULL, err);
    return ucr_read_file(t, path, NULL, err);
}

static ecg_code make_dir(const char *path, ecg_err *err) {
    if (mkdir(path, 0755) && errno != EEXIST)
        return err_set(err, ECG_EIO, "study: cannot create %s: %s", path, strerror(errno));
    return ECG_OK;
}

/* ---- the per-run record, written when a run finished ---- */

#define STUDY_CONFIG_TEXT 4096

/* The pretraining config of one run: the objective's, with the study's loop knobs. */
static void run_config(const study_config *cfg, int oi, int64_t size, uint64_t seed,
                       pretrain_config *p) {
    *p = cfg->objectives[oi];
    p->seed = seed;
    p->subset = size;
    p->epochs = cfg->epochs;
    p->batch = cfg->batch;
    p->threads = cfg->threads;
    p->split_seed = cfg->split_seed;
    p->val_records = cfg->val_records;
}

static ecg_code run_record_write(const char *path, const study_run *r, const char *ctext,
                                 ecg_err *err) {
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (rc) return rc;
    fprintf(a.fp, "ecgfm-study-run 1\nconfig %s\nn_train %" PRId64 "\nsteps %" PRId64 "\n", ctext,
            r->n_train, r->steps);
    fprintf(a.fp, "first_val_loss %.17g\nval_loss %.17g\n", r->first_val_loss, r->val_loss);
    if (ferror(a.fp)) {
        atomic_abort(&a);
        return err_set(err, ECG_EIO, "study: cannot write %s", path);
    }
    return atomic_commit(&a, err);
}

/* 1 when read, 0 when absent or unreadable (the run is then redone or resumed), -1 when the run
 * was trained with another config than ctext. */
static int run_record_read(const char *path, study_run *r, const char *ctext) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[STUDY_CONFIG_TEXT + 64], key[64], val[64];
    int version = 0, got = 0, same = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "config ", 7)) {
            size_t n = strlen(ctext);
            same = !strncmp(line + 7, ctext, n) && line[7 + n] == '\n';
            continue;
        }
        if (sscanf(line, "%63s %63s", key, val) != 2) continue;
        if (!strcmp(key, "ecgfm-study-run"))
            version = atoi(val);
        else if (!strcmp(key, "n_train"))
            r->n_train = strtoll(val, NULL, 10), got |= 1;
        else if (!strcmp(key, "steps"))
            r->steps = strtoll(val, NULL, 10), got |= 2;
        else if (!strcmp(key, "first_val_loss"))
            r->first_val_loss = strtod(val, NULL), got |= 4;
        else if (!strcmp(key, "val_loss"))
            r->val_loss = strtod(val, NULL), got |= 8;
    }
    fclose(f);
    if (version != 1 || got != 15) return 0;
    return same ? 1 : -1;
}

/* ---- transfer ---- */

typedef struct {
    task_split train, test;
    map_opts map; /* cfg->map, with channels MULTI for a multichannel task */
} study_task_data;

static double accuracy(const int *pred, const int *truth, int n) {
    int ok = 0, m = 0;
    for (int i = 0; i < n; i++) {
        if (truth[i] < 0) continue;
        m++;
        ok += pred[i] == truth[i];
    }
    return m ? (double)ok / m : NAN;
}

/* Embeds task t with e, scores the probes, keeps the test embeddings in run->emb[t]. */
static ecg_code transfer_one(const study_config *cfg, encoder *e, const study_task_data *td, int t,
                             study_run *run, ecg_err *err) {
    int d = encoder_get_config(e)->d_model, ntr = td->train.n_series, nte = td->test.n_series;
    int K = td->test.n_classes;
    float *xtr = malloc((size_t)ntr * d * sizeof *xtr);
    float *xte = malloc((size_t)nte * d * sizeof *xte);
    int *pred = malloc((size_t)nte * sizeof *pred);
    ecg_code rc = ECG_OK;
    if (!xtr || !xte || !pred) {
        rc = err_set(err, ECG_ENOMEM, "study: out of memory for embeddings");
        goto done;
    }
    if ((rc = transfer_embed_split(e, &td->map, &td->train, xtr, NULL, err)) ||
        (rc = transfer_embed_split(e, &td->map, &td->test, xte, NULL, err)))
        goto done;
    static const probe_kind kinds[STUDY_N_CLASSIFIERS] = {PROBE_LOGREG, PROBE_KNN};
    for (int c = 0; c < STUDY_N_CLASSIFIERS && !rc; c++) {
        probe_options po;
        probe_options_default(&po);
        po.seed = cfg->probe_seed;
        probe_model m;
        memset(&m, 0, sizeof m);
        rc = probe_fit(&m, kinds[c], xtr, td->train.label, ntr, d, K, NULL, &po, err);
        if (!rc) rc = probe_predict(&m, xte, nte, pred, NULL, err);
        probe_free(&m);
        if (!rc) run->acc[t][c] = accuracy(pred, td->test.label, nte);
    }
    if (!rc) {
        free(run->emb[t]);
        run->emb[t] = xte;
        xte = NULL;
    }
done:
    free(xtr);
    free(xte);
    free(pred);
    return rc;
}

/* A trainable copy of the run's encoder: the checkpoint at ckpt, or (ckpt NULL) the random init
 * of objective o from init_seed. */
static ecg_code trainable_encoder(const study_config *cfg, int o, const char *ckpt,
                                  uint64_t init_seed, encoder **e, ecg_err *err) {
    int batch = cfg->ft.batch > TRANSFER_BATCH ? cfg->ft.batch : TRANSFER_BATCH;
    if (ckpt) return checkpoint_load_encoder(ckpt, batch, 0, e, err);
    return encoder_create(e, &cfg->objectives[o].enc, batch, init_seed, 0, err);
}

/* ---- the per-(run, task) evaluation cache: a resumed study does not redo transfer ---- */

/* Everything the cached numbers depend on besides the encoder; a cache with another key is
 * recomputed. */
static void eval_key(const study_config *cfg, const map_opts *m, int t, const char *ctext,
                     char *buf, size_t n) {
    const ft_opts *f = &cfg->ft;
    snprintf(buf, n,
             "map %d %d %.17g %d %d %d probe_seed %" PRIu64 " finetune %d %d %d %d %.9g %.9g %d "
             "%.17g %" PRIu64 " task %s %s encoder %s",
             (int)m->channels, (int)m->length, m->slide_rate, m->slide_stride, (int)m->resize,
             (int)m->amplitude, cfg->probe_seed, cfg->finetune, (int)f->mode, f->epochs, f->batch,
             (double)f->lr, (double)f->weight_decay, f->patience, f->val_fraction, f->seed,
             cfg->tasks[t].train, cfg->tasks[t].test, ctext);
}

/* 1 when dir holds a complete evaluation of task t under the current key (run filled). */
static int eval_cache_read(const study_config *cfg, const map_opts *m, const char *dir, int t,
                           const char *ctext, int n, int d, study_run *run) {
    char path[1200], line[3 * STUDY_CONFIG_TEXT], key[2 * STUDY_CONFIG_TEXT];
    snprintf(path, sizeof path, "%s/eval-%s.txt", dir, cfg->tasks[t].name);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    eval_key(cfg, m, t, ctext, key, sizeof key);
    double acc[STUDY_MAX_METHODS];
    int ok = fgets(line, sizeof line, f) && !strcmp(line, "ecgfm-study-eval 1\n") &&
             fgets(line, sizeof line, f) && !strncmp(line, "key ", 4) &&
             !strncmp(line + 4, key, strlen(key)) && line[4 + strlen(key)] == '\n';
    int fn = 0, fd = 0;
    ok = ok && fscanf(f, "n %d d %d acc %lf %lf %lf", &fn, &fd, &acc[0], &acc[1], &acc[2]) == 5 &&
         fn == n && fd == d;
    fclose(f);
    if (!ok) return 0;
    float *emb = malloc((size_t)n * d * sizeof *emb);
    if (!emb) return 0;
    snprintf(path, sizeof path, "%s/emb-%s.f32", dir, cfg->tasks[t].name);
    f = fopen(path, "rb");
    ok = f && fread(emb, sizeof *emb, (size_t)n * d, f) == (size_t)n * d && fgetc(f) == EOF;
    if (f) fclose(f);
    if (!ok) {
        free(emb);
        return 0;
    }
    for (int c = 0; c < STUDY_MAX_METHODS; c++)
        run->acc[t][c] = acc[c];
    free(run->emb[t]);
    run->emb[t] = emb;
    return 1;
}

/* The embeddings first, then the text file that makes the pair valid. */
static ecg_code eval_cache_write(const study_config *cfg, const map_opts *m, const char *dir, int t,
                                 const char *ctext, int n, int d, const study_run *run,
                                 ecg_err *err) {
    char path[1200], key[2 * STUDY_CONFIG_TEXT];
    atomic_file a;
    snprintf(path, sizeof path, "%s/emb-%s.f32", dir, cfg->tasks[t].name);
    ecg_code rc = atomic_open(&a, path, err);
    if (rc) return rc;
    if ((rc = atomic_write(&a, run->emb[t], (size_t)n * d * sizeof(float), err))) {
        atomic_abort(&a);
        return rc;
    }
    if ((rc = atomic_commit(&a, err))) return rc;
    snprintf(path, sizeof path, "%s/eval-%s.txt", dir, cfg->tasks[t].name);
    if ((rc = atomic_open(&a, path, err))) return rc;
    eval_key(cfg, m, t, ctext, key, sizeof key);
    fprintf(a.fp, "ecgfm-study-eval 1\nkey %s\nn %d d %d acc %.17g %.17g %.17g\n", key, n, d,
            run->acc[t][0], run->acc[t][1], run->acc[t][2]);
    if (ferror(a.fp)) {
        atomic_abort(&a);
        return err_set(err, ECG_EIO, "study: cannot write %s", path);
    }
    return atomic_commit(&a, err);
}

/* Per task: the cached evaluation in cache_dir when its key matches, else zero-shot transfer of
 * e and (when asked) fine-tuning of a fresh trainable copy (fine-tuning changes the encoder),
 * then the cache is written. */
static ecg_code transfer_all(const study_config *cfg, encoder *e, int o, const char *ckpt,
                             uint64_t init_seed, const char *cache_dir, const char *ctext,
                             const study_task_data *td, study_run *run, study_result *r,
                             ecg_err *err) {
    ecg_code rc = ECG_OK;
    int d = r->d_model[o];
    ft_opts fo = cfg->ft;
    for (int t = 0; t < cfg->n_tasks && !rc; t++) {
        int n = td[t].test.n_series;
        fo.map = td[t].map;
        if (eval_cache_read(cfg, &td[t].map, cache_dir, t, ctext, n, d, run)) {
            r->n_eval_cached++;
            continue;
        }
        double t0 = now_s();
        rc = transfer_one(cfg, e, td + t, t, run, err);
        r->seconds_transfer += now_s() - t0;
        if (!rc && cfg->finetune) {
            t0 = now_s();
            encoder *fe = NULL;
            ft_result fr;
            memset(&fr, 0, sizeof fr);
            rc = trainable_encoder(cfg, o, ckpt, init_seed, &fe, err);
            if (!rc) rc = finetune_run(fe, &fo, &td[t].train, &td[t].test, &fr, err);
            if (!rc) run->acc[t][STUDY_FINETUNE] = fr.test.accuracy;
            ft_result_free(&fr);
            encoder_free(fe);
            r->seconds_finetune += now_s() - t0;
        }
        if (!rc) rc = eval_cache_write(cfg, &td[t].map, cache_dir, t, ctext, n, d, run, err);
    }
    return rc;
}

/* The initialisation seed pretrain_run gives its encoder for training seed `seed`. */
static uint64_t init_seed_of(uint64_t seed) {
    rng_state base;
    rng_seed(&base, seed);
    rng_state w = rng_fork(&base, 1);
    return rng_next_u64(&w);
}

/* ---- pretraining ---- */

static void run_dir_name(char *buf, size_t n, const char *out, const pretrain_config *p,
                         int64_t size, uint64_t seed) {
    snprintf(buf, n, "%s/runs/%s-n%" PRId64 "-s%" PRIu64, out, ssl_kind_name(p->ssl.kind), size,
             seed);
}

static ecg_code pretrain_one(const study_config *cfg, const char *out_dir, int si, int oi, int ki,
                             const study_hooks *hooks, study_run *run, study_result *r,
                             ecg_err *err) {
    char dir[1024], path[1100];
    run_dir_name(dir, sizeof dir, out_dir, &cfg->objectives[oi], cfg->sizes[si], cfg->seeds[ki]);
    snprintf(path, sizeof path, "%s/study_run.txt", dir);
    FILE *log = hooks ? hooks->log : NULL;
    const char *obj = ssl_kind_name(cfg->objectives[oi].ssl.kind);
    pretrain_config p;
    run_config(cfg, oi, cfg->sizes[si], cfg->seeds[ki], &p);
    char ctext[STUDY_CONFIG_TEXT];
    ecg_code rc = pretrain_config_text(&p, ctext, sizeof ctext, err);
    if (rc) return rc;
    int got = run_record_read(path, run, ctext);
    if (got < 0)
        return err_set(err, ECG_EINVAL,
                       "study: %.600s was trained with another config than this study gives it "
                       "(use a new --out, or remove that run)",
                       dir);
    if (got) {
        run->skipped = 1;
        r->n_skipped++;
        if (log)
            fprintf(log, "pretrain %s N=%" PRId64 " seed %" PRIu64 ": finished before, kept\n", obj,
                    cfg->sizes[si], cfg->seeds[ki]);
        return ECG_OK;
    }
    snprintf(path, sizeof path, "%s/LATEST", dir);
    int resume = access(path, F_OK) == 0;
    pretrain_hooks ph = {
        .cancel = hooks ? hooks->cancel : NULL, .resume = resume, .dataset_name = cfg->dataset};
    pretrain_result pr;
    double t0 = now_s();
    if (log)
        fprintf(log, "pretrain %s N=%" PRId64 " seed %" PRIu64 "%s ...\n", obj, cfg->sizes[si],
                cfg->seeds[ki], resume ? " (resuming)" : "");
    rc = pretrain_run(&p, cfg->dataset, dir, &ph, &pr, err);
    r->seconds_pretrain += now_s() - t0;
    if (rc) return rc;
    if (pr.status == PRETRAIN_CANCELLED)
        return err_set(err, ECG_EINVAL, "study: cancelled during %s; run again to resume", dir);
    run->n_train = pr.n_train;
    run->steps = pr.total_steps;
    run->first_val_loss = pr.start_step == 0 ? pr.first_val_loss : NAN;
    run->val_loss = pr.last_val_loss;
    r->n_pretrained++;
    if (log)
        fprintf(log, "  %" PRId64 " steps, val loss %.6g -> %.6g (%.1f s)\n", pr.total_steps,
                pr.first_val_loss, pr.last_val_loss, now_s() - t0);
    snprintf(path, sizeof path, "%s/study_run.txt", dir);
    return run_record_write(path, run, ctext, err);
}

/* ---- aggregation ---- */

static void compute_rows(study_result *r) {
    const study_config *c = r->cfg;
    double acc[STUDY_MAX_SEEDS], val[STUDY_MAX_SEEDS];
    for (int s = 0; s < c->n_sizes; s++)
        for (int o = 0; o < c->n_objectives; o++)
            for (int t = 0; t < c->n_tasks; t++) {
                study_row *w = &r->rows[((size_t)s * c->n_objectives + o) * c->n_tasks + t];
                w->size = s;
                w->objective = o;
                w->task = t;
                w->n_seeds = c->n_seeds;
                w->raw_1nn = r->raw_1nn[t];
                for (int k = 0; k < c->n_seeds; k++)
                    val[k] = study_result_run(r, s, o, k)->val_loss;
                fit_mean_ci95(val, c->n_seeds, &w->val_mean, &w->val_lo, &w->val_hi, NULL);
                for (int cl = 0; cl < r->n_methods; cl++) {
                    for (int k = 0; k < c->n_seeds; k++)
                        acc[k] = study_result_run(r, s, o, k)->acc[t][cl];
                    fit_mean_ci95(acc, c->n_seeds, &w->acc_mean[cl], &w->acc_lo[cl], &w->acc_hi[cl],
                                  NULL);
                }
            }
}

static ecg_code compute_curves(study_result *r, ecg_err *err) {
    const study_config *c = r->cfg;
    int nr = c->n_sizes * c->n_seeds;
    double *N = malloc((size_t)nr * sizeof *N), *y = malloc((size_t)nr * sizeof *y);
    double *v = malloc((size_t)nr * sizeof *v), *gN = malloc((size_t)c->n_sizes * sizeof *gN);
    int *cnt = malloc((size_t)c->n_sizes * sizeof *cnt);
    if (!N || !y || !v || !gN || !cnt) {
        free(N);
        free(y);
        free(v);
        free(gN);
        free(cnt);
        return err_set(err, ECG_ENOMEM, "study: out of memory");
    }
    for (int o = 0; o < c->n_objectives; o++)
        for (int t = 0; t < c->n_tasks; t++)
            for (int cl = 0; cl < r->n_methods; cl++) {
                study_curve *u = &r->curves[((size_t)o * c->n_tasks + t) * r->n_methods + cl];
                memset(u, 0, sizeof *u);
                u->objective = o;
                u->task = t;
                u->classifier = cl;
                u->alpha_lo = u->alpha_hi = u->err_n0 = NAN;
                int m = 0;
                for (int s = 0; s < c->n_sizes; s++) {
                    gN[s] = (double)c->sizes[s];
                    cnt[s] = c->n_seeds;
                    for (int k = 0; k < c->n_seeds; k++) {
                        const study_run *run = study_result_run(r, s, o, k);
                        N[m] = gN[s];
                        y[m] = 1 - run->acc[t][cl];
                        v[m++] = run->val_loss;
                    }
                }
                const study_row *first =
                    &r->rows[((size_t)0 * c->n_objectives + o) * c->n_tasks + t];
                const study_row *last =
                    &r->rows[((size_t)(c->n_sizes - 1) * c->n_objectives + o) * c->n_tasks + t];
                if (c->sizes[0] == 0) u->err_n0 = 1 - first->acc_mean[cl];
                u->err_largest = 1 - last->acc_mean[cl];
                u->rises = c->sizes[0] == 0 && last->acc_mean[cl] > first->acc_mean[cl];
                /* error falls as N rises <=> accuracy rises: Spearman of N with accuracy */
                double *acc = malloc((size_t)nr * sizeof *acc);
                if (!acc) {
                    free(N);
                    free(y);
                    free(v);
                    free(gN);
                    free(cnt);
                    return err_set(err, ECG_ENOMEM, "study: out of memory");
                }
                for (int i = 0; i < nr; i++)
                    acc[i] = 1 - y[i];
                u->spearman_n_acc = fit_spearman(N, acc, nr);
                free(acc);
                /* loss vs error over the runs whose loss is known */
                int q = 0;
                double *lv = malloc((size_t)nr * 2 * sizeof *lv);
                if (lv) {
                    for (int i = 0; i < nr; i++)
                        if (isfinite(v[i])) {
                            lv[q] = v[i];
                            lv[nr + q++] = y[i];
                        }
                    u->pearson_loss_err = fit_pearson(lv, lv + nr, q);
                    u->spearman_loss_err = fit_spearman(lv, lv + nr, q);
                    free(lv);
                }
                ecg_err fe = {0};
                if (fit_power_law(N, y, nr, &u->fit, &fe)) {
                    snprintf(u->note, sizeof u->note, "%.120s", fe.msg);
                    continue;
                }
                u->ok = 1;
                if (u->fit.flat) snprintf(u->note, sizeof u->note, "flat: A = 0 (no decrease)");
                if (fit_bootstrap_alpha(gN, cnt, y, c->n_sizes, c->bootstrap,
                                        c->bootstrap_seed + (uint64_t)(o * 1000 + t * 10 + cl),
                                        &u->alpha_lo, &u->alpha_hi, &u->boot_flat, &fe))
                    snprintf(u->note, sizeof u->note, "bootstrap: %.100s", fe.msg);
            }
    free(N);
    free(y);
    free(v);
    free(gN);
    free(cnt);
    return ECG_OK;
}

static ecg_code compute_cka(study_result *r, ecg_err *err) {
    const study_config *c = r->cfg;
    int S = c->n_sizes, K = c->n_seeds;
    for (int o = 0; o < c->n_objectives; o++)
        for (int t = 0; t < c->n_tasks; t++) {
            study_cka *k = &r->cka[(size_t)o * c->n_tasks + t];
            k->objective = o;
            k->task = t;
            k->size_matrix = malloc((size_t)S * S * sizeof *k->size_matrix);
            k->seed_pairs = malloc((size_t)S * sizeof *k->seed_pairs);
            if (!k->size_matrix || !k->seed_pairs)
                return err_set(err, ECG_ENOMEM, "study: out of memory");
            int d = r->d_model[o], n = r->n_test[t];
            for (int a = 0; a < S; a++)
                for (int b = a; b < S; b++) {
                    double s = 0;
                    int m = 0;
                    for (int q = 0; q < K; q++) {
                        double v;
                        ecg_code rc =
                            fit_linear_cka(study_result_run(r, a, o, q)->emb[t], d,
                                           study_result_run(r, b, o, q)->emb[t], d, n, &v, err);
                        if (rc) return rc;
                        if (!isnan(v)) s += v, m++;
                    }
                    k->size_matrix[a * S + b] = k->size_matrix[b * S + a] = m ? s / m : NAN;
                }
            for (int a = 0; a < S; a++) {
                double s = 0;
                int m = 0;
                for (int p = 0; p < K; p++)
                    for (int q = p + 1; q < K; q++) {
                        double v;
                        ecg_code rc =
                            fit_linear_cka(study_result_run(r, a, o, p)->emb[t], d,
                                           study_result_run(r, a, o, q)->emb[t], d, n, &v, err);
                        if (rc) return rc;
                        if (!isnan(v)) s += v, m++;
                    }
                k->seed_pairs[a] = m ? s / m : NAN;
            }
        }
    return ECG_OK;
}

/* ---- the whole study ---- */

ecg_code study_run_all(const study_config *cfg, const char *out_dir, const study_hooks *hooks,
                       study_result *r, ecg_err *err) {
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    ecg_code rc = study_config_validate(cfg, err);
    if (rc) return rc;
    FILE *log = hooks ? hooks->log : NULL;
    int S = cfg->n_sizes, O = cfg->n_objectives, K = cfg->n_seeds, T = cfg->n_tasks;
    r->n_runs = S * O * K;
    r->n_rows = S * O * T;
    r->n_methods = STUDY_N_CLASSIFIERS + (cfg->finetune != 0);
    r->n_curves = O * T * r->n_methods;
    r->n_cka = O * T;
    r->runs = calloc((size_t)r->n_runs, sizeof *r->runs);
    r->rows = calloc((size_t)r->n_rows, sizeof *r->rows);
    r->curves = calloc((size_t)r->n_curves, sizeof *r->curves);
    r->cka = calloc((size_t)r->n_cka, sizeof *r->cka);
    study_task_data *td = calloc((size_t)T, sizeof *td);
    if (!r->runs || !r->rows || !r->curves || !r->cka || !td) {
        free(td);
        return err_set(err, ECG_ENOMEM, "study: out of memory");
    }
    for (int i = 0; i < r->n_runs; i++) {
        r->runs[i].val_loss = r->runs[i].first_val_loss = NAN;
        for (int t = 0; t < STUDY_MAX_TASKS; t++)
            for (int c = 0; c < STUDY_MAX_METHODS; c++)
                r->runs[i].acc[t][c] = NAN;
    }
    for (int o = 0; o < O; o++)
        r->d_model[o] = cfg->objectives[o].enc.d_model;

    /* the tasks first: a bad file should fail before hours of pretraining */
    for (int t = 0; t < T && !rc; t++) {
        const study_task *st = &cfg->tasks[t];
        if ((rc = read_task(st->train, &td[t].train, err)) ||
            (rc = read_task(st->test, &td[t].test, err)) ||
            (rc = task_split_align_classes(&td[t].test, &td[t].train, err)))
            break;
        td[t].map = cfg->map;
        if (td[t].train.n_dims > 1) td[t].map.channels = MAP_CH_MULTI;
        if ((rc = map_opts_check(&td[t].map, td[t].train.n_dims, err))) break;
        r->n_test[t] = td[t].test.n_series;
        int *pred = malloc((size_t)td[t].test.n_series * sizeof *pred);
        if (!pred) {
            rc = err_set(err, ECG_ENOMEM, "study: out of memory");
            break;
        }
        rc = transfer_1nn_euclidean(&td[t].train, &td[t].test, pred, err);
        if (!rc) r->raw_1nn[t] = accuracy(pred, td[t].test.label, td[t].test.n_series);
        free(pred);
    }
    if (!rc) rc = make_dir(out_dir, err);
    char runs_dir[1024];
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", out_dir);
    if (!rc) rc = make_dir(runs_dir, err);
    snprintf(runs_dir, sizeof runs_dir, "%s/init", out_dir);
    if (!rc) rc = make_dir(runs_dir, err);

    /* pretraining + transfer of each checkpoint, smallest sizes first */
    for (int s = 0; s < S && !rc; s++)
        for (int o = 0; o < O && !rc; o++)
            for (int k = 0; k < K && !rc; k++) {
                study_run *run = study_result_run(r, s, o, k);
                if (cfg->sizes[s] == 0) continue;
                if ((rc = pretrain_one(cfg, out_dir, s, o, k, hooks, run, r, err))) break;
                char path[1200];
                run_dir_name(path, sizeof path, out_dir, &cfg->objectives[o], cfg->sizes[s],
                             cfg->seeds[k]);
                strncat(path, "/checkpoint.safetensors", sizeof path - strlen(path) - 1);
                threads_set(cfg->threads);
                encoder *e = NULL;
                rc = checkpoint_load_encoder(path, TRANSFER_BATCH, ENC_INFERENCE_ONLY, &e, err);
                if (!rc) {
                    char dir[1024];
                    run_dir_name(dir, sizeof dir, out_dir, &cfg->objectives[o], cfg->sizes[s],
                                 cfg->seeds[k]);
                    pretrain_config p;
                    char ctext[STUDY_CONFIG_TEXT];
                    run_config(cfg, o, cfg->sizes[s], cfg->seeds[k], &p);
                    rc = pretrain_config_text(&p, ctext, sizeof ctext, err);
                    if (!rc) rc = transfer_all(cfg, e, o, path, 0, dir, ctext, td, run, r, err);
                }
                encoder_free(e);
            }
    /* N = 0: the initial encoder of each seed, with the step-0 validation loss of its runs */
    for (int s = 0; s < S && !rc; s++) {
        if (cfg->sizes[s] != 0) continue;
        for (int o = 0; o < O && !rc; o++)
            for (int k = 0; k < K && !rc; k++) {
                study_run *run = study_result_run(r, s, o, k);
                run->n_train = 0;
                for (int s2 = 0; s2 < S; s2++) {
                    const study_run *o2 = study_result_run(r, s2, o, k);
                    if (cfg->sizes[s2] > 0 && isfinite(o2->first_val_loss)) {
                        run->val_loss = run->first_val_loss = o2->first_val_loss;
                        break;
                    }
                }
                threads_set(cfg->threads);
                encoder *e = NULL;
                rc = encoder_create(&e, &cfg->objectives[o].enc, TRANSFER_BATCH,
                                    init_seed_of(cfg->seeds[k]), ENC_INFERENCE_ONLY, err);
                char dir[1200];
                snprintf(dir, sizeof dir, "%s/init/%s-s%" PRIu64, out_dir,
                         ssl_kind_name(cfg->objectives[o].ssl.kind), cfg->seeds[k]);
                if (!rc) rc = make_dir(dir, err);
                pretrain_config p;
                char ctext[STUDY_CONFIG_TEXT];
                run_config(cfg, o, 0, cfg->seeds[k], &p);
                if (!rc) rc = pretrain_config_text(&p, ctext, sizeof ctext, err);
                if (!rc)
                    rc = transfer_all(cfg, e, o, NULL, init_seed_of(cfg->seeds[k]), dir, ctext, td,
                                      run, r, err);
                encoder_free(e);
                if (log && !rc)
                    fprintf(log, "random init %s seed %" PRIu64 ": transfer done\n",
                            ssl_kind_name(cfg->objectives[o].ssl.kind), cfg->seeds[k]);
            }
    }
    for (int t = 0; t < T; t++) {
        task_split_free(&td[t].train);
        task_split_free(&td[t].test);
    }
    free(td);
    if (rc) return rc;
    compute_rows(r);
    if ((rc = compute_curves(r, err))) return rc;
    return compute_cka(r, err);
}

void study_result_free(study_result *r) {
    if (!r) return;
    for (int i = 0; i < r->n_runs && r->runs; i++)
        for (int t = 0; t < STUDY_MAX_TASKS; t++)
            free(r->runs[i].emb[t]);
    for (int i = 0; i < r->n_cka && r->cka; i++) {
        free(r->cka[i].size_matrix);
        free(r->cka[i].seed_pairs);
    }
    free(r->runs);
    free(r->rows);
    free(r->curves);
    free(r->cka);
    memset(r, 0, sizeof *r);
}
