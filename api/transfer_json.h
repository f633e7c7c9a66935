/* transfer_json.h — a zero-shot transfer report (core/transfer/transfer.h) as JSON, for the CLI's
 * --json output and the service's transfer resource. */
#ifndef ECGFM_API_TRANSFER_JSON_H
#define ECGFM_API_TRANSFER_JSON_H

#include <jansson.h>

#include "core/transfer/transfer.h"

/* {"task", "n_train", "n_test", "n_classes", "n_dims", "min_length", "max_length",
 *  "class_names": [...],
 *  "mapping": {"channels", "length", "slide_rate", "slide_stride", "resize", "amplitude"},
 *  "channels_dropped",
 *  "checkpoint": {"label", "embed_seconds", "scores": [score...]}   (absent without one)
 *  "random_init": {"label", "random_seed", "embed_seconds", "scores": [score...]},
 *  "raw_1nn": score, "raw_length"}
 * score = {"classifier", "param", "accuracy", "balanced_accuracy", "macro_f1", "auroc",
 *          "recall": [...], "confusion": [[...], ...]} (rows true class, columns predicted);
 * NaN values are null. New reference; NULL when out of memory. */
json_t *transfer_report_to_json(const transfer_report *r);
json_t *transfer_score_to_json(const transfer_score *s);
/* One candidate of train-only mapping selection: {"channels", "length", "slide_rate",
 * "slide_stride", "cv_accuracy": {"nearest_centroid", "knn_cosine", "logreg"}, "mean"}. */
json_t *transfer_candidate_to_json(const map_opts *m, const double acc[TRANSFER_MAX_CLASSIFIERS],
                                   double mean);

#endif
