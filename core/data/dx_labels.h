/* dx_labels.h — multi-label bitmasks for the store's label fields from the SNOMED-CT diagnosis
 * codes in CinC 2020/2021-style WFDB header comments ("# Dx: 164934002,426783006"). */
#ifndef ECGFM_CORE_DATA_DX_LABELS_H
#define ECGFM_CORE_DATA_DX_LABELS_H

#include <stdint.h>

#include "core/base/error.h"

#define DX_LABELS_MAX 31 /* classes a bitmask label field holds (bit 31 is the sign) */

/* *mask = the set of codes[0..n_codes) listed on the record's "Dx:" comment line (comments as
 * ecg_record.comments: '#' lines without the '#', joined by '\n'; leading blanks allowed), bit c
 * for codes[c]; 0 when none of them is listed; -1 (the store's missing label) when there is no
 * Dx line or comments is NULL. Codes are compared as whole comma- or blank-separated tokens.
 * ECG_EINVAL when n_codes is not in 0..31. The class names of such a field are the codes (or
 * their names), written as the value names of 1 << c (core/transfer/finetune_ecg.h). */
ecg_code dx_labels_mask(const char *comments, const char *const *codes, int n_codes, int32_t *mask,
                        ecg_err *err);

#endif
