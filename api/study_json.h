/* study_json.h — scaling-study configs from JSON (files in configs/studies/) and the study's
 * results (table, fits, correlations, CKA) as JSON, at the edge: core/study never sees JSON. */
#ifndef ECGFM_API_STUDY_JSON_H
#define ECGFM_API_STUDY_JSON_H

#include <jansson.h>

#include "core/base/error.h"
#include "core/study/study.h"

/*
 * {
 *   "name": "ci_tiny", "description": "...",
 *   "dataset": "DIR",                 store dataset; relative paths are taken from the directory
 *                                     of the config file (may be left out and given to the CLI)
 *   "sizes": [0, 64, 256],            nested pretraining subset sizes, increasing; 0 = random init
 *   "objectives": ["../pretrain/small_cpc.json", {...}],   pretraining configs (files or inline)
 *   "model": "../models/small.json",  optional: replaces every objective's encoder (causal as the
 *                                     objective needs)
 *   "seeds": [0, 1],
 *   "tasks": [{"name": "ItalyPowerDemand", "train": "FILE", "test": "FILE"}],
 *   "epochs": 10, "batch": 32, "threads": 0, "val_records": 0, "split_seed": 0,
 *   "mapping": {"channels": "all", "length": "resample", "amplitude": "unit"},
 *   "probe_seed": 0, "bootstrap": 1000, "bootstrap_seed": 0,
 *   "finetune": {"mode": "finetune", "epochs": 100, "batch": 16, "lr": 0, "weight_decay": 1e-3,
 *                "patience": 20, "val_fraction": 0.2, "seed": 0}
 *                                     optional: fine-tune every checkpoint (and the random init)
 *                                     on every task; absent: no fine-tuning column
 * }
 * Unknown keys are errors naming the key.
 */
ecg_code study_config_from_json_file(study_config *c, const char *path, ecg_err *err);

/* {"study", "sizes", "objectives", "seeds", "tasks", "classifiers", "interval": "...",
 *  "rows": [{"n", "objective", "task", "seeds", "encoder": "random_init" | "pretrained",
 *            "logreg_acc": {"mean","lo","hi"}, "knn_acc": {...}, "val_loss": {...},
 *            "raw_1nn_acc", "finetune_acc" (with fine-tuning)}],
 *  "runs": [{"n", "objective", "seed", "n_train", "steps", "val_loss", "first_val_loss",
 *            "skipped", "accuracy": {task: {"logreg", "knn_cosine", "finetune"}}}]}
 * NaN is null. New reference or NULL (out of memory). */
json_t *study_table_to_json(const study_result *r);
/* {"model": "error = E + A*N^-alpha", "curves": [{"objective", "task", "classifier", "ok",
 *  "E", "A", "alpha", "alpha_lo", "alpha_hi", "rmse", "flat", "note", "error_n0",
 *  "error_largest", "accuracy_rises", "spearman_n_accuracy", "pearson_val_loss_error",
 *  "spearman_val_loss_error", "bootstrap", "bootstrap_flat"}],
 *  "cka": [{"objective", "task", "sizes", "size_matrix": [[...]], "across_seeds": [...]}]} */
json_t *study_fit_to_json(const study_result *r);

#endif
