/* checkpoints_json.c — checkpoint rows as JSON and the list query's checks (see
 * checkpoints_json.h). Unknown values are JSON null, never a made-up number. */
#include "api/checkpoints_json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_common.h"

static json_t *int_or_null(long long v, long long min) {
    return v >= min ? json_integer(v) : json_null();
}

json_t *checkpoints_view_json(const checkpoint_view *v) {
    json_t *model = api_json_stored(v->model_config);
    json_t *dataset = v->dataset_id > 0 || v->dataset[0]
                          ? json_pack("{s:o, s:o}", "id",
                                      v->dataset_id > 0 ? json_integer(v->dataset_id) : json_null(),
                                      "name", v->dataset[0] ? json_string(v->dataset) : json_null())
                          : json_null();
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:I, s:b, s:o}", "id",
                     (json_int_t)v->id, "name", v->name, "model", model, "objective",
                     v->objective[0] ? json_string(v->objective) : json_null(), "dataset", dataset,
                     "subset_size", int_or_null(v->subset_size, 0), "step", int_or_null(v->step, 0),
                     "val_loss", isfinite(v->val_loss) ? json_real(v->val_loss) : json_null(),
                     "job_id", int_or_null(v->job_id, 1), "sha256", v->sha256, "size_bytes",
                     (json_int_t)v->size_bytes, "is_default", v->is_default, "created_at",
                     api_json_timestamp(v->created_at));
}

void checkpoints_answer_one(const checkpoint_view *v, int status, api_response *res) {
    api_response_json(res, status, checkpoints_view_json(v));
}

void checkpoints_answer_list(const checkpoint_view *vs, size_t n, long long next_cursor,
                             api_response *res) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        arr = api_json_append(arr, checkpoints_view_json(&vs[i]));
    api_answer_page(res, "checkpoints", arr, next_cursor);
}

int checkpoints_parse_list(const char *objective, const char *limit, const char *cursor,
                           checkpoints_list_query *q, api_response *res) {
    memset(q, 0, sizeof *q);
    q->limit = 50;
    if (objective) {
        static const char *const OBJ[] = {"cpc", "jepa", "data2vec", "dinosr", "hubert"};
        int ok = 0;
        for (size_t i = 0; i < sizeof OBJ / sizeof OBJ[0]; i++)
            ok |= strcmp(objective, OBJ[i]) == 0;
        if (!ok) {
            api_response_error(res, 422, "invalid_value",
                               "objective must be one of cpc, jepa, data2vec, dinosr, hubert");
            return -1;
        }
        q->objective = objective;
    }
    return api_parse_paging(limit, cursor, 500, 1, 1, &q->limit, &q->cursor, res);
}

int checkpoints_name_ok(const char *name, char *why, size_t why_size) {
    size_t n = strlen(name);
    if (n == 0 || n > CHECKPOINT_NAME_MAX) {
        snprintf(why, why_size, "a checkpoint name has 1 to %d characters", CHECKPOINT_NAME_MAX);
        return 0;
    }
    if (!isalnum((unsigned char)name[0])) {
        snprintf(why, why_size, "a checkpoint name starts with a letter or a digit");
        return 0;
    }
    int digits = 1;
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-') {
            snprintf(why, why_size,
                     "a checkpoint name has only letters, digits, '.', '_' and '-' (got byte "
                     "0x%02x)",
                     ch);
            return 0;
        }
        if (!isdigit(ch)) digits = 0;
    }
    if (digits) {
        snprintf(why, why_size, "a checkpoint name cannot be all digits (ids are)");
        return 0;
    }
    if (strcmp(name, "default") == 0) {
        snprintf(why, why_size, "\"default\" names whichever checkpoint is the default");
        return 0;
    }
    return 1;
}
