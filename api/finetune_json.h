/* finetune_json.h — a fine-tuning result (core/transfer/finetune.h) as JSON, for the CLI's --json
 * output and, later, the service's fine-tuning jobs. */
#ifndef ECGFM_API_FINETUNE_JSON_H
#define ECGFM_API_FINETUNE_JSON_H

#include <jansson.h>

#include "core/transfer/finetune.h"
#include "core/transfer/finetune_ecg.h"

/* {"mode", "epochs", "batch", "lr", "weight_decay", "patience", "val_fraction", "seed",
 *  "n_fit", "n_val", "n_fit_windows", "epochs_run", "best_epoch", "seconds",
 *  "train_loss": [...], "val_loss": [...], "val_accuracy": [...] (index 0 = before training),
 *  "test": score (api/transfer_json.h)}. New reference; NULL when out of memory. */
json_t *ft_result_to_json(const ft_opts *o, const ft_result *r);

/* ECG dataset fine-tuning (core/transfer/finetune_ecg.h): {"mode", "label_field", "multilabel",
 *  "n_classes", "epochs", "batch", "lr", "weight_decay", "patience", "val_fraction",
 *  "test_fraction", "seed", "records", "unlabelled", "n_train", "n_val", "n_test", "epochs_run",
 *  "best_epoch", "seconds", "train_loss": [...], "val_macro_auroc": [...] (index 0 = before
 *  training), "validation" and "test": {"records", "windows", "macro_auroc", "classes_scored",
 *  "accuracy" (null for multi-label), "classes": [{"name", "auroc" (null when skipped),
 *  "positives", "skipped"}]}}. New reference; NULL when out of memory. */
json_t *fte_result_to_json(const fte_opts *o, const fte_result *r);

#endif
