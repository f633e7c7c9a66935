/* checkpoint.h — save and load an encoder (parameters, BatchNorm statistics, head parameters) as a
 * safetensors file a PyTorch user can load_state_dict, with the encoder config in the metadata. */
#ifndef ECGFM_CORE_CHECKPOINT_H
#define ECGFM_CORE_CHECKPOINT_H

#include "core/base/error.h"
#include "core/format/safetensors.h"
#include "core/model/config.h"
#include "core/model/encoder.h"

/* Metadata key with the checkpoint layout version; a reader refuses versions it does not know. */
#define CKPT_VERSION_KEY "ecgfm.checkpoint_version"
#define CKPT_VERSION 1

/* Writes, in parameter-buffer order, every parameter (F32), every buffer (F32) and for each
 * BatchNorm a num_batches_tracked (I64, shape [], as torch's state_dict holds it), plus the config
 * (ecgfm.encoder.* keys), the version, and extra_kv (n_extra alternating key/value strings, may
 * be NULL). Atomic: the old file or the new, never a mix. Byte-identical for identical state. */
ecg_code checkpoint_save(const char *path, encoder *e, const char *const *extra_kv, int n_extra,
                         ecg_err *err);

/* The config stored in a checkpoint (validated). */
ecg_code checkpoint_read_config(const char *path, struct encoder_config *cfg, ecg_err *err);
ecg_code checkpoint_config_of(const st_file *f, struct encoder_config *cfg, ecg_err *err);

/* Loads into an existing encoder. The stored config must equal e's (the error names the first
 * field that differs); every encoder tensor must be present with its shape and dtype; head
 * parameters e has are loaded when present and must then match; other tensors in the file (a
 * pretraining head e lacks) are ignored, unless they are named stem.* or backbone.*. On error e's
 * values are unspecified (partially loaded). */
ecg_code checkpoint_load(const char *path, encoder *e, ecg_err *err);

/* Creates an encoder from a checkpoint's config and loads it. */
ecg_code checkpoint_load_encoder(const char *path, int max_batch, int flags, encoder **out,
                                 ecg_err *err);

/* The tensor-copy step on an open file: each encoder view `name` is read from prefix + name
 * (prefix "" for checkpoints; the parity fixtures use "p."). require_heads: head parameters must
 * be present too. No config check. */
ecg_code checkpoint_load_tensors(const st_file *f, const char *prefix, encoder *e,
                                 int require_heads, ecg_err *err);

#endif
