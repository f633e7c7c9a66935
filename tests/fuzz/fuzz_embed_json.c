/* fuzz_embed_json.c — libFuzzer target for the /v1/embed JSON reader: any bytes, no crash, no
 * leak; an accepted body gives a record with a valid rate, leads and samples, a refused one a 4xx.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1); /* exactly size bytes: reads past the end are caught */
    if (!buf) return 0;
    memcpy(buf, data, size);
    embed_request rq;
    memset(&rq, 0, sizeof rq);
    api_response res = {0};
    if (embed_parse_json(buf, size, &rq, &res) == 0) {
        const ecg_record *r = &rq.rec;
        if (r->n_channels < 1 || r->n_samples < 1 || !(r->fs > 0) || !isfinite(r->fs)) abort();
        for (int c = 0; c < r->n_channels; c++)
            if (r->channels[c].lead < 0 || r->channels[c].lead >= ECG_N_LEADS) abort();
        for (size_t k = 0; k < (size_t)r->n_channels * r->n_samples; k++)
            if (fabsf(r->signal[k]) > 1e5f) abort(); /* NaN (null) compares false */
        record_free(&rq.rec);
    } else {
        if (res.status < 400 || res.status >= 600 || !res.body) abort();
        api_response_free(&res);
    }
    free(buf);
    return 0;
}
