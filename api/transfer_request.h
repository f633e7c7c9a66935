/* transfer_request.h — the request bodies of POST /v1/transfer and POST /v1/classify read into
 * core values: the transfer parameters, a "mapping" object as map_opts, classify's series as a
 * split.
 */
#ifndef ECGFM_API_TRANSFER_REQUEST_H
#define ECGFM_API_TRANSFER_REQUEST_H

#include <stddef.h>

#include <jansson.h>

#include "api/response.h"
#include "core/base/error.h"
#include "core/data/task.h"
#include "core/transfer/mapping.h"

#define TRANSFER_REF_MAX 128 /* bytes of a checkpoint or dataset reference */

/* {"checkpoint": "default"|id|name (default "default"), "task": id|name (required), "mapping":
 * {...}, "seed": S (default 0), "save_probe": bool (default false)}; ids may be integers or
 * strings. */
typedef struct {
    char checkpoint[TRANSFER_REF_MAX + 1];
    char task[TRANSFER_REF_MAX + 1];
    json_t *mapping; /* new reference or NULL */
    unsigned long long seed;
    int save_probe;
} transfer_post_request;

/* 0 on success (free with transfer_post_request_free); otherwise res holds the answer (415 not
 * JSON, 400 malformed or a wrong type, 422 unknown field or a bad mapping value) and -1. */
int transfer_parse_post(const char *body, size_t len, const char *content_type,
                        transfer_post_request *req, api_response *res);
void transfer_post_request_free(transfer_post_request *req);

/* The "mapping" object (NULL: defaults) over map_opts_default: keys channels (lead2|all|multi),
 * length (resample|slide), slide_rate (> 0), slide_stride (integer >= 1), resize (linear|sinc),
 * amplitude (unit|mv). A task of n_dims > 1 without "channels" gets multi (as `ecgfm transfer`);
 * n_dims <= 0 skips that and map_opts_check. ECG_EINVAL naming the key. */
ecg_code transfer_mapping_parse(const json_t *mapping, int n_dims, map_opts *out, ecg_err *err);
/* map_opts as the same object (new reference). */
json_t *transfer_mapping_json(const map_opts *m);

/* Limits of one classify request (413 with the limit beyond them). */
typedef struct {
    size_t max_series; /* series per request */
    size_t max_length; /* samples per channel of one series */
} classify_limits;

/* {"probe": id, "series": [[x, ...], ...] (univariate) or [[[x, ...], ...], ...] (n x dims x
 * length)}; x a number or null (missing). Series may differ in length, not in channels. The split
 * is unlabelled (label -1, no classes). 0 on success (task_split_free(out)); otherwise res holds
 * the answer (415, 400 malformed or wrong types, 413 beyond lim, 422 empty or ragged channels or
 * non-finite numbers) and -1. */
int classify_parse_request(const char *body, size_t len, const char *content_type,
                           const classify_limits *lim, long long *probe_id, task_split *out,
                           api_response *res);

#endif
