/* embed.h — POST /v1/embed and `ecgfm embed` on the api side: a request body (JSON signal or an
 * uploaded file) becomes an ecg_record, a record becomes encoder windows, embeddings become JSON.
 */
#ifndef ECGFM_API_EMBED_H
#define ECGFM_API_EMBED_H

#include <stddef.h>

#include "api/response.h"
#include "core/data/record.h"

typedef enum { EMBED_POOL_MEAN = 0, EMBED_POOL_WINDOWS = 1 } embed_pooling;
typedef enum { EMBED_ENC_FLOAT = 0, EMBED_ENC_BASE64 = 1 } embed_encoding;

/* How the embedding is answered: pooled over the record or one vector per 2.5 s window, each
 * vector scaled to unit L2 norm or not, as a list of numbers or as base64 of little-endian
 * float32 (row-major [windows][dim] for pooling "windows"). */
typedef struct {
    embed_pooling pooling;   /* "mean" (default) or "windows" */
    int normalize;           /* "normalize": true */
    embed_encoding encoding; /* "float" (default) or "base64" */
} embed_output;

/* Limits the request is checked against (413 with the limit beyond them). */
typedef struct {
    size_t max_windows; /* 2.5 s windows of one record after resampling to 240 Hz */
} embed_limits;

typedef struct {
    ecg_record rec; /* physical units (mV), owned */
    embed_output out;
    char checkpoint[64]; /* "default", an id or a name (resolved by the server) */
    char source[16];     /* "json", "wfdb", "csv", "npy", "edf": how the signal arrived */
} embed_request;

/* What an HTTP request looks like to the parser: the body, Content-Type and query parameters. */
typedef struct {
    const char *body;
    size_t body_len;
    const char *content_type; /* NULL when absent */
    const char *q_format;     /* ?format=wfdb|csv|npy|edf|json, NULL when absent */
    const char *q_pooling;    /* ?pooling=, NULL when absent (a JSON body may also say) */
    const char *q_checkpoint; /* ?checkpoint=, NULL when absent */
    const char *q_fs;         /* ?fs= for formats that do not carry a rate (npy, CSV w/o time) */
    const char *q_normalize;  /* ?normalize=true|false, NULL when absent */
    const char *q_encoding;   /* ?encoding=float|base64, NULL when absent */
} embed_http_input;

/* Parse a request into req. Returns 0 on success; otherwise fills res with the 4xx answer (400
 * malformed, 415 unsupported format, 422 invalid values) and returns -1 with req empty. */
int embed_parse_request(const embed_http_input *in, embed_request *req, api_response *res);
void embed_request_free(embed_request *req);
/* req->checkpoint = ref when ref can name a checkpoint ("default", an id, a name: up to 63 of
 * [A-Za-z0-9._-]); -1 when it cannot (the caller answers 404 checkpoint_not_found). */
int embed_set_checkpoint(embed_request *req, const char *ref);
/* "float" or "base64" into *out; otherwise res holds the 422 and -1. */
int embed_parse_encoding(const char *s, embed_encoding *out, api_response *res);
/* The JSON form alone (api/embed_json.c), into a req already holding the query's defaults. */
int embed_parse_json(const char *body, size_t len, embed_request *req, api_response *res);

/* Read one file by its name's extension (.hea with its .dat beside it, .csv, .npy, .edf) or an
 * explicit format; used by `ecgfm embed`. fs is needed for .npy (0 otherwise). */
ecg_code embed_read_file(ecg_record *r, const char *path, double fs, ecg_err *err);

/* The encoder input of a record, the same for the service and the CLI: the 12 standard leads
 * (absent ones zero), non-finite samples zero, resampled to 240 Hz exactly as the dataset store
 * does (store_prepare), cut into non-overlapping 2.5 s windows (the tail dropped unless the record
 * is shorter than one window, then zero-padded), z-scored with the PTB-XL statistics when the
 * checkpoint's objective was trained that way. */
typedef struct {
    float *x; /* [n_windows][12][win], malloc'd */
    size_t n_windows;
    int win; /* samples per window (600) */
    int mask[ECG_N_LEADS];
    int n_leads; /* leads present */
    double fs_in;
} embed_windows;

/* ECG_EINVAL (the message is for the client: no standard lead, too long, ...), ECG_ENOMEM. */
ecg_code embed_windows_make(embed_windows *w, const ecg_record *r, int win, int zscore,
                            const embed_limits *lim, ecg_err *err);
void embed_windows_free(embed_windows *w);

/* The answer: {"embedding": [...] (dim values, or n_windows arrays of dim for pooling "windows";
 * a base64 string with encoding "base64"), "dim", "windows", "pooling", "normalized", "encoding",
 * "checkpoint", "fs_in", "leads_present"} (+ "shape" [rows, dim] with base64). emb is
 * [n_windows][dim]; the mean is taken in double in window order, so it does not depend on how
 * windows were batched; normalisation divides each answered vector by its L2 norm (a zero vector
 * stays zero). */
json_t *embed_result_json(const float *emb, size_t n_windows, int dim, const embed_output *o,
                          const char *checkpoint, const embed_windows *w);

#endif
