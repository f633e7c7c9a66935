/* pretrain_config_json.h — pretraining configs as JSON (files in configs/pretrain/, job bodies)
 * turned into a pretrain_config at the edge. Errors name the offending key, with its path. */
#ifndef ECGFM_API_PRETRAIN_CONFIG_JSON_H
#define ECGFM_API_PRETRAIN_CONFIG_JSON_H

#include <jansson.h>

#include "core/base/error.h"
#include "core/train/pretrain.h"

/*
 * {
 *   "name": "...", "description": "...",          accepted and ignored (strings)
 *   "objective": "cpc",                            required: cpc, jepa, data2vec, dinosr, hubert
 *   "model": "../models/s4_paper.json" | {...},    a model config file (a relative path is taken
 *                                                  from the directory of the file holding this
 *                                                  config; from the working directory for JSON
 *                                                  text) or an inline model config object;
 *                                                  default: the paper-size S4 encoder. The
 *                                                  objective decides "causal" (true for CPC only),
 *                                                  whatever the model file says.
 *   "batch": 64, "epochs": 10, "seed": 0, "split_seed": 0, "subset": 0, "val_records": 0,
 *   "val_every": 0, "checkpoint_every": 0, "threads": 0           (integers; see pretrain.h)
 *   "optimizer": {"lr": 3e-3, "weight_decay": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
 *                 "lr_factor": {"head": 1, "backbone": 0.1, "stem": 0.01}},
 *   "schedule": {"kind": "constant" | "cosine", "warmup_steps": 0, "min_lr": 0,
 *                "total_steps": 0},
 *   "ssl": {"cpc_steps_ahead": 14, "cpc_negatives": 128, "mask_prob": 0.065, ...}
 *                                                  any field of ssl_config by its C name
 *                                                  ("hubert_k": [128, 256])
 * }
 * Missing keys keep pretrain_config_default's values. Unknown keys and wrong JSON types are
 * errors naming the key ("optimizer.lr_factor.head: must be a number"); the result is validated.
 */
ecg_code pretrain_config_from_json(pretrain_config *cfg, const json_t *obj, const char *base_dir,
                                   ecg_err *err);
ecg_code pretrain_config_from_json_text(pretrain_config *cfg, const char *text, size_t len,
                                        ecg_err *err);
ecg_code pretrain_config_from_json_file(pretrain_config *cfg, const char *path, ecg_err *err);

#endif
