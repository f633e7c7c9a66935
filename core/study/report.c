/* report.c — the study's table as CSV and a Markdown summary (what ran, the table, the fits and
 * the answer per curve, the loss/error correlations, CKA), both written atomically. */
#include "core/study/study.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/format/atomic_file.h"
#include "core/study/plot.h"
#include <stdlib.h>

static void num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.9g", v);
}

ecg_code study_write_csv(const study_result *r, const char *path, ecg_err *err) {
    const study_config *c = r->cfg;
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (rc) return rc;
    FILE *f = a.fp;
    fprintf(f,
            "n,objective,task,seeds,logreg_acc_mean,logreg_acc_lo,logreg_acc_hi,knn_acc_mean,"
            "knn_acc_lo,knn_acc_hi,val_loss_mean,val_loss_lo,val_loss_hi,raw_1nn_acc%s\n",
            r->n_methods > STUDY_FINETUNE ? ",finetune_acc_mean,finetune_acc_lo,finetune_acc_hi"
                                          : "");
    for (int i = 0; i < r->n_rows; i++) {
        const study_row *w = &r->rows[i];
        fprintf(f, "%" PRId64 ",%s,%s,%d", c->sizes[w->size],
                ssl_kind_name(c->objectives[w->objective].ssl.kind), c->tasks[w->task].name,
                w->n_seeds);
        for (int cl = 0; cl < STUDY_N_CLASSIFIERS; cl++) {
            double v[3] = {w->acc_mean[cl], w->acc_lo[cl], w->acc_hi[cl]};
            for (int k = 0; k < 3; k++) {
                fputc(',', f);
                num(f, v[k]);
            }
        }
        double v[7] = {w->val_mean,
                       w->val_lo,
                       w->val_hi,
                       w->raw_1nn,
                       w->acc_mean[STUDY_FINETUNE],
                       w->acc_lo[STUDY_FINETUNE],
                       w->acc_hi[STUDY_FINETUNE]};
        for (int k = 0; k < (r->n_methods > STUDY_FINETUNE ? 7 : 4); k++) {
            fputc(',', f);
            num(f, v[k]);
        }
        fputc('\n', f);
    }
    if (ferror(f)) {
        atomic_abort(&a);
        return err_set(err, ECG_EIO, "study: cannot write %s", path);
    }
    return atomic_commit(&a, err);
}

static void pm(FILE *f, double m, double lo, double hi) {
    if (!isfinite(m))
        fprintf(f, "–");
    else if (isfinite(lo) && isfinite(hi))
        fprintf(f, "%.4f [%.4f, %.4f]", m, lo, hi);
    else
        fprintf(f, "%.4f", m);
}

ecg_code study_write_readme(const study_result *r, const char *path, ecg_err *err) {
    const study_config *c = r->cfg;
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (rc) return rc;
    FILE *f = a.fp;
    fprintf(f, "# Scaling study: %s\n\n", c->name);
    fprintf(f, "Pretraining dataset `%s`; sizes", c->dataset);
    for (int s = 0; s < c->n_sizes; s++)
        fprintf(f, " %" PRId64, c->sizes[s]);
    fprintf(f, " (0 = random init: the encoder each seed's runs start from, no pretraining); "
               "objectives");
    for (int o = 0; o < c->n_objectives; o++)
        fprintf(f, " %s (%s d_model %d × %d layers)", ssl_kind_name(c->objectives[o].ssl.kind),
                encoder_backbone_name(c->objectives[o].enc.backbone), c->objectives[o].enc.d_model,
                c->objectives[o].enc.n_layers);
    fprintf(f, "; seeds");
    for (int k = 0; k < c->n_seeds; k++)
        fprintf(f, " %" PRIu64, c->seeds[k]);
    fprintf(f, "; %d epochs, batch %d, split seed %" PRIu64 ".\n\n", c->epochs, c->batch,
            c->split_seed);
    fprintf(f,
            "Pretraining runs: %d trained now, %d found finished and kept; %d (run, task) "
            "evaluations read back from an earlier invocation (%.1f s pretraining, %.1f s "
            "zero-shot transfer, %.1f s fine-tuning in this one).\n\n",
            r->n_pretrained, r->n_skipped, r->n_eval_cached, r->seconds_pretrain,
            r->seconds_transfer, r->seconds_finetune);
    fprintf(f,
            "Zero-shot transfer: frozen encoder, mapping channels %s, length %s; the linear "
            "probe (L2 logistic regression, C by CV on train) and cosine k-NN (k by "
            "leave-one-out on train), test accuracy.\n\n",
            map_channels_name(c->map.channels), map_length_name(c->map.length));
    if (r->n_methods > STUDY_FINETUNE)
        fprintf(f,
                "Fine-tuning (core/transfer/finetune.h): mode %s, at most %d epochs, batch %d, "
                "patience %d, %.0f%% of train held out for early stopping; test accuracy. At "
                "N = 0 the random init is fine-tuned%s.\n\n",
                ft_mode_name(c->ft.mode), c->ft.epochs, c->ft.batch, c->ft.patience,
                100 * c->ft.val_fraction,
                c->ft.mode == FT_FINETUNE ? ": the supervised from-scratch baseline" : "");
    else
        fprintf(f, "Fine-tuning was not run in this study (no \"finetune\" in its config).\n\n");
    fprintf(f, "## Table\n\nMean over seeds with the two-sided 95%% Student-t interval "
               "(mean ± t(0.975, seeds−1)·s/√seeds).\n\n");
    fprintf(f,
            "| N | objective | task | linear probe acc | k-NN acc | val loss | raw 1-NN |%s\n"
            "|---|---|---|---|---|---|---|%s\n",
            r->n_methods > STUDY_FINETUNE ? " fine-tuned acc |" : "",
            r->n_methods > STUDY_FINETUNE ? "---|" : "");
    for (int i = 0; i < r->n_rows; i++) {
        const study_row *w = &r->rows[i];
        fprintf(f, "| %" PRId64 " | %s | %s | ", c->sizes[w->size],
                ssl_kind_name(c->objectives[w->objective].ssl.kind), c->tasks[w->task].name);
        pm(f, w->acc_mean[0], w->acc_lo[0], w->acc_hi[0]);
        fprintf(f, " | ");
        pm(f, w->acc_mean[1], w->acc_lo[1], w->acc_hi[1]);
        fprintf(f, " | ");
        pm(f, w->val_mean, w->val_lo, w->val_hi);
        fprintf(f, " | %.4f |", w->raw_1nn);
        if (r->n_methods > STUDY_FINETUNE) {
            fputc(' ', f);
            pm(f, w->acc_mean[STUDY_FINETUNE], w->acc_lo[STUDY_FINETUNE],
               w->acc_hi[STUDY_FINETUNE]);
            fprintf(f, " |");
        }
        fputc('\n', f);
    }
    if (r->n_methods > STUDY_FINETUNE) {
        fprintf(f, "\n## Zero-shot vs fine-tuning\n\nMean test accuracy of the zero-shot linear "
                   "probe minus that of fine-tuning the same checkpoint (positive: zero-shot "
                   "ahead); the N = 0 fine-tuned column is the from-scratch baseline.\n\n"
                   "| objective | task | N | probe − fine-tuned | fine-tuned from scratch |\n"
                   "|---|---|---|---|---|\n");
        for (int i = 0; i < r->n_rows; i++) {
            const study_row *w = &r->rows[i];
            const study_row *z =
                &r->rows[(size_t)w->objective * c->n_tasks + w->task]; /* size index 0 */
            fprintf(f, "| %s | %s | %" PRId64 " | %+.4f | %.4f |\n",
                    ssl_kind_name(c->objectives[w->objective].ssl.kind), c->tasks[w->task].name,
                    c->sizes[w->size], w->acc_mean[0] - w->acc_mean[STUDY_FINETUNE],
                    c->sizes[0] == 0 ? z->acc_mean[STUDY_FINETUNE] : NAN);
        }
    }
    fprintf(f,
            "\n## Fits: error = E + A·N^(−α) over N > 0\n\nα interval: 2.5–97.5 %% "
            "percentiles of %d bootstrap refits (seeds resampled within each size). "
            "\"Rises\": mean accuracy at the largest N above random init.\n\n",
            c->bootstrap);
    fprintf(f, "| objective | task | classifier | E | A | α [95%%] | rmse | error N=0 → largest "
               "| rises | Spearman(N, acc) | Pearson / Spearman(val loss, error) | note |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < r->n_curves; i++) {
        const study_curve *u = &r->curves[i];
        fprintf(f, "| %s | %s | %s | ", ssl_kind_name(c->objectives[u->objective].ssl.kind),
                c->tasks[u->task].name, study_classifier_name(u->classifier));
        if (u->ok && u->fit.flat) /* A = 0: alpha is not identified */
            fprintf(f, "%.4g | 0 | – | %.4g | ", u->fit.E, u->fit.rmse);
        else if (u->ok)
            fprintf(f, "%.4g | %.4g | %.3g [%.3g, %.3g] | %.4g | ", u->fit.E, u->fit.A,
                    u->fit.alpha, u->alpha_lo, u->alpha_hi, u->fit.rmse);
        else
            fprintf(f, "– | – | – | – | ");
        fprintf(f, "%.4f → %.4f | %s | %.3f | %.3f / %.3f | %s |\n", u->err_n0, u->err_largest,
                u->rises ? "yes" : "no", u->spearman_n_acc, u->pearson_loss_err,
                u->spearman_loss_err, u->note);
    }
    fprintf(f, "\n## Linear CKA of test-split embeddings\n\nRows and columns are sizes (mean "
               "over seeds, same seed on both sides); last column: mean CKA between seeds at "
               "that size.\n");
    for (int i = 0; i < r->n_cka; i++) {
        const study_cka *k = &r->cka[i];
        fprintf(f, "\n%s, %s:\n\n| N |", ssl_kind_name(c->objectives[k->objective].ssl.kind),
                c->tasks[k->task].name);
        for (int s = 0; s < c->n_sizes; s++)
            fprintf(f, " %" PRId64 " |", c->sizes[s]);
        fprintf(f, " across seeds |\n|---|");
        for (int s = 0; s <= c->n_sizes; s++)
            fprintf(f, "---|");
        fputc('\n', f);
        for (int s = 0; s < c->n_sizes; s++) {
            fprintf(f, "| %" PRId64 " |", c->sizes[s]);
            for (int t = 0; t < c->n_sizes; t++)
                fprintf(f, " %.3f |", k->size_matrix[s * c->n_sizes + t]);
            fprintf(f, " %.3f |\n", k->seed_pairs[s]);
        }
    }
    fprintf(f,
            "\nFiles: table.csv and table.json (the table), fit.json (fits, correlations, "
            "CKA), scaling.svg (linear probe error), scaling_knn.svg (k-NN error), loss.svg "
            "(validation loss)%s.\n",
            r->n_methods > STUDY_FINETUNE ? ", scaling_finetune.svg (fine-tuned error)" : "");
    if (ferror(f)) {
        atomic_abort(&a);
        return err_set(err, ECG_EIO, "study: cannot write %s", path);
    }
    return atomic_commit(&a, err);
}

ecg_code study_write_scaling_svg(const study_result *r, int classifier, const char *path,
                                 ecg_err *err) {
    const study_config *c = r->cfg;
    int S = c->n_sizes, ns = c->n_objectives * c->n_tasks;
    plot_series *ser = calloc((size_t)ns, sizeof *ser);
    double *buf = malloc((size_t)ns * S * 4 * sizeof *buf);
    if (!ser || !buf) {
        free(ser);
        free(buf);
        return err_set(err, ECG_ENOMEM, "study: out of memory");
    }
    for (int o = 0; o < c->n_objectives; o++)
        for (int t = 0; t < c->n_tasks; t++) {
            int i = o * c->n_tasks + t;
            double *x = buf + (size_t)i * S * 4, *y = x + S, *lo = y + S, *hi = lo + S;
            for (int s = 0; s < S; s++) {
                const study_row *w = &r->rows[((size_t)s * c->n_objectives + o) * c->n_tasks + t];
                x[s] = (double)c->sizes[s];
                y[s] = 1 - w->acc_mean[classifier];
                lo[s] = 1 - w->acc_hi[classifier];
                hi[s] = 1 - w->acc_lo[classifier];
            }
            const study_curve *u =
                &r->curves[((size_t)o * c->n_tasks + t) * r->n_methods + classifier];
            plot_series *p = &ser[i];
            p->n = S;
            p->x = x;
            p->y = y;
            p->lo = lo;
            p->hi = hi;
            p->has_fit = u->ok && !u->fit.flat;
            p->E = u->fit.E;
            p->A = u->fit.A;
            p->alpha = u->fit.alpha;
            if (u->ok)
                snprintf(p->label, sizeof p->label, "%s %s (alpha %.2g)",
                         ssl_kind_name(c->objectives[o].ssl.kind), c->tasks[t].name, u->fit.alpha);
            else
                snprintf(p->label, sizeof p->label, "%s %s",
                         ssl_kind_name(c->objectives[o].ssl.kind), c->tasks[t].name);
        }
    char title[160];
    snprintf(title, sizeof title, "%s: %s test error vs pretraining records", c->name,
             classifier == 0   ? "zero-shot linear probe"
             : classifier == 1 ? "zero-shot k-NN"
                               : "fine-tuned");
    plot_opts po = {.title = title,
                    .x_label = "pretraining records N (log scale; 0 = random init)",
                    .y_label = "test error (1 - accuracy)"};
    ecg_code rc = plot_svg_save(path, &po, ser, ns, err);
    free(ser);
    free(buf);
    return rc;
}

ecg_code study_write_loss_svg(const study_result *r, const char *path, ecg_err *err) {
    const study_config *c = r->cfg;
    int S = c->n_sizes, ns = c->n_objectives;
    plot_series *ser = calloc((size_t)ns, sizeof *ser);
    double *buf = malloc((size_t)ns * S * 4 * sizeof *buf);
    if (!ser || !buf) {
        free(ser);
        free(buf);
        return err_set(err, ECG_ENOMEM, "study: out of memory");
    }
    for (int o = 0; o < ns; o++) {
        double *x = buf + (size_t)o * S * 4, *y = x + S, *lo = y + S, *hi = lo + S;
        for (int s = 0; s < S; s++) {
            const study_row *w = &r->rows[((size_t)s * c->n_objectives + o) * c->n_tasks];
            x[s] = (double)c->sizes[s];
            y[s] = w->val_mean;
            lo[s] = w->val_lo;
            hi[s] = w->val_hi;
        }
        plot_series *p = &ser[o];
        p->n = S;
        p->x = x;
        p->y = y;
        p->lo = lo;
        p->hi = hi;
        snprintf(p->label, sizeof p->label, "%s validation loss",
                 ssl_kind_name(c->objectives[o].ssl.kind));
    }
    char title[160];
    snprintf(title, sizeof title, "%s: final validation loss vs pretraining records", c->name);
    plot_opts po = {.title = title,
                    .x_label = "pretraining records N (log scale; 0 = before training)",
                    .y_label = "validation loss"};
    ecg_code rc = plot_svg_save(path, &po, ser, ns, err);
    free(ser);
    free(buf);
    return rc;
}
