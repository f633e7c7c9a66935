/* encoder_config_json.h — model configs as JSON (the files in configs/models/, request bodies)
 * turned into struct encoder_config at the edge, so core never sees JSON. Errors name the offending
 * key. */
#ifndef ECGFM_API_ENCODER_CONFIG_JSON_H
#define ECGFM_API_ENCODER_CONFIG_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "core/base/error.h"
#include "core/model/config.h"

/* A JSON object with the keys of struct encoder_config (core/model/config.h). Missing keys take
 * the preset's value: "preset" is "paper" (default, encoder_config_default) or "small"
 * (encoder_config_small), for the given "backbone" (default "s4"). "name" and "description"
 * (strings) are accepted and ignored. Unknown keys and wrong JSON types are errors naming the key
 * (integers must be JSON integers, floats may be either, booleans true/false); the result is
 * validated. */
ecg_code encoder_config_from_json(struct encoder_config *cfg, const json_t *obj, ecg_err *err);
ecg_code encoder_config_from_json_text(struct encoder_config *cfg, const char *text, size_t len,
                                       ecg_err *err);
ecg_code encoder_config_from_json_file(struct encoder_config *cfg, const char *path, ecg_err *err);

/* Every field as a JSON object (new reference; NULL when out of memory). */
json_t *encoder_config_to_json(const struct encoder_config *cfg);

#endif
