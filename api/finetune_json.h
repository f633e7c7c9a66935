/* finetune_json.h — a fine-tuning result (core/transfer/finetune.h) as JSON, for the CLI's --json
 * output and, later, the service's fine-tuning jobs. */
#ifndef ECGFM_API_FINETUNE_JSON_H
#define ECGFM_API_FINETUNE_JSON_H

#include <jansson.h>

#include "core/transfer/finetune.h"

/* {"mode", "epochs", "batch", "lr", "weight_decay", "patience", "val_fraction", "seed",
 *  "n_fit", "n_val", "n_fit_windows", "epochs_run", "best_epoch", "seconds",
 *  "train_loss": [...], "val_loss": [...], "val_accuracy": [...] (index 0 = before training),
 *  "test": score (api/transfer_json.h)}. New reference; NULL when out of memory. */
json_t *ft_result_to_json(const ft_opts *o, const ft_result *r);

#endif
