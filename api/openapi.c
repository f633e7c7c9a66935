/* openapi.c — the OpenAPI 3.0 document (see openapi.h). Paths and operations come from the route
 * table; the component schemas live here, one JSON literal per name, and a route naming a schema
 * that is missing makes the document fail loudly rather than come out incomplete. */
#include "api/openapi.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *json; /* JSON Schema (OpenAPI 3.0 subset) */
} schema_def;

/* clang-format off */
static const schema_def SCHEMAS[] = {
    {"Error", "{\"type\":\"object\",\"required\":[\"error\"],\"properties\":{\"error\":{"
              "\"type\":\"object\",\"required\":[\"code\",\"message\",\"type\"],\"properties\":{"
              "\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"},"
              "\"type\":{\"type\":\"string\"}}}}}"},
    {"Health", "{\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\"},"
               "\"version\":{\"type\":\"string\"},\"uptime_s\":{\"type\":\"integer\"}}}"},
    {"Ready", "{\"type\":\"object\",\"properties\":{\"ready\":{\"type\":\"boolean\"},"
              "\"version\":{\"type\":\"string\"},\"checks\":{\"type\":\"object\"}}}"},
    {"OpenApiDocument", "{\"type\":\"object\",\"description\":\"this document\"}"},
    {"KeyCreate", "{\"type\":\"object\",\"required\":[\"scope\"],\"additionalProperties\":false,"
                  "\"properties\":{\"scope\":{\"type\":\"string\",\"enum\":[\"read\",\"embed\","
                  "\"train\",\"admin\"]},\"name\":{\"type\":\"string\",\"maxLength\":127}}}"},
    {"Key", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"name\":{\"type\":\"string\"},\"scope\":{\"type\":\"string\"},"
            "\"prefix\":{\"type\":\"string\",\"description\":\"first characters of the key\"},"
            "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},"
            "\"revoked_at\":{\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true}}}"},
    {"KeyCreated", "{\"allOf\":[{\"$ref\":\"#/components/schemas/Key\"},{\"type\":\"object\","
                   "\"required\":[\"key\"],\"properties\":{\"key\":{\"type\":\"string\","
                   "\"description\":\"the API key; shown in this answer only\"}}}]}"},
    {"KeyList", "{\"type\":\"object\",\"properties\":{\"keys\":{\"type\":\"array\",\"items\":"
                "{\"$ref\":\"#/components/schemas/Key\"}}}}"},
    {"EmbedRequest", "{\"type\":\"object\",\"required\":[\"signal\",\"fs\"],"
                     "\"additionalProperties\":false,\"description\":\"or a file: multipart parts "
                     "(.hea + .dat, .csv, .npy, .edf) or a raw text/csv, application/x-npy, "
                     "application/edf body; query: format, pooling, checkpoint, fs, normalize, "
                     "encoding\","
                     "\"properties\":{\"signal\":{\"type\":\"array\",\"items\":{\"type\":"
                     "\"array\",\"items\":{\"type\":\"number\",\"nullable\":true}}},"
                     "\"fs\":{\"type\":\"number\"},\"leads\":{\"type\":\"array\",\"items\":"
                     "{\"type\":\"string\"}},\"units\":{\"type\":\"string\",\"enum\":[\"mV\","
                     "\"uV\"]},\"pooling\":{\"type\":\"string\",\"enum\":[\"mean\",\"windows\"]},"
                     "\"checkpoint\":{\"type\":\"string\"},\"normalize\":{\"type\":"
                     "\"boolean\",\"description\":\"each answered vector scaled to unit L2 "
                     "norm\"},\"encoding\":{\"type\":\"string\",\"enum\":[\"float\","
                     "\"base64\"],\"description\":\"base64: little-endian float32, row-major "
                     "[windows][dim]\"}}}"},
    {"Embedding", "{\"type\":\"object\",\"properties\":{\"embedding\":{\"oneOf\":[{\"type\":"
                  "\"array\"},{\"type\":\"string\"}],"
                  "\"description\":\"dim numbers, or one array of dim per window; a base64 "
                  "string with encoding base64\"},\"shape\":{\"type\":\"array\","
                  "\"items\":{\"type\":\"integer\"}},\"normalized\":{\"type\":\"boolean\"},"
                  "\"encoding\":{\"type\":\"string\"},"
                  "\"dim\":{\"type\":\"integer\"},\"windows\":{\"type\":\"integer\"},"
                  "\"pooling\":{\"type\":\"string\"},\"checkpoint\":{\"type\":\"string\"},"
                  "\"fs_in\":{\"type\":\"number\"},\"leads_present\":{\"type\":\"array\","
                  "\"items\":{\"type\":\"string\"}}}}"},
    /* Datasets (server/routes_datasets.c) */
    {"DatasetCreate", "{\"type\":\"object\",\"required\":[\"name\",\"kind\"],"
                      "\"additionalProperties\":false,\"properties\":{\"name\":{\"type\":"
                      "\"string\",\"pattern\":\"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$\","
                      "\"description\":\"not all digits (those are ids)\"},\"kind\":{\"type\":"
                      "\"string\",\"enum\":[\"ecg\",\"task\"]},\"description\":{\"type\":"
                      "\"string\",\"maxLength\":1024}}}"},
    {"Dataset", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{"
                "\"type\":\"string\"},\"kind\":{\"type\":\"string\",\"enum\":[\"ecg\",\"task\"]},"
                "\"state\":{\"type\":\"string\",\"enum\":[\"importing\",\"ready\",\"deleting\"]},"
                "\"path\":{\"type\":\"string\"},\"description\":{\"type\":\"string\","
                "\"nullable\":true},"
                "\"n_records\":{\"type\":\"integer\"},\"seconds\":{\"type\":\"number\"},"
                "\"hours\":{\"type\":\"number\"},\"created_at\":{\"type\":\"string\","
                "\"format\":\"date-time\"},\"splits\":{\"type\":\"object\",\"description\":"
                "\"task datasets: train and test, each a DatasetSplitStats\"},\"stats\":{"
                "\"type\":\"object\",\"description\":\"ecg: records, total_seconds, "
                "total_hours, min_seconds, max_seconds, sampling_rates {fs: records}, "
                "lead_coverage {lead: records}, formats {format: records}; task: n_train, "
                "n_test, n_classes, class_names, dims, lengths {train, test: {min, max}}\"}}}"},
    {"DatasetList", "{\"type\":\"object\",\"properties\":{\"datasets\":{\"type\":\"array\","
                    "\"items\":{\"$ref\":\"#/components/schemas/Dataset\"}},\"next_cursor\":{"
                    "\"type\":\"integer\",\"nullable\":true,\"description\":\"pass as cursor "
                    "for the next page; null on the last\"}}}"},
    {"DatasetDeleted", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
                       "\"name\":{\"type\":\"string\"},\"deleted\":{\"type\":\"boolean\"}}}"},
    {"DatasetRecord", "{\"oneOf\":[{\"$ref\":\"#/components/schemas/DatasetRecordOne\"},{"
                      "\"$ref\":\"#/components/schemas/DatasetRecordBatch\"}],\"description\":"
                      "\"one record, or the exams of an HDF5 file\"}"},
    {"DatasetRecordBatch", "{\"type\":\"object\",\"properties\":{\"dataset_id\":{\"type\":"
                           "\"integer\"},\"dataset\":{\"type\":\"string\"},\"format\":{"
                           "\"type\":\"string\",\"enum\":[\"hdf5\"]},\"first_index\":{\"type\":"
                           "\"integer\"},\"found\":{\"type\":\"integer\"},\"imported\":{"
                           "\"type\":\"integer\"},\"skipped\":{\"type\":\"integer\"},"
                           "\"first_skip\":{\"type\":\"string\"}}}"},
    {"DatasetRecordOne", "{\"type\":\"object\",\"properties\":{\"dataset_id\":{\"type\":"
                      "\"integer\"},\"dataset\":{\"type\":\"string\"},\"index\":{\"type\":"
                      "\"integer\",\"description\":\"position in the dataset's store\"},"
                      "\"format\":{\"type\":\"string\"},\"source\":{\"type\":\"string\"},\"fs\":{"
                      "\"type\":\"number\"},\"n_samples\":{\"type\":\"integer\"},\"leads\":{"
                      "\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"n_leads\":{\"type\":"
                      "\"integer\"},\"seconds\":{\"type\":\"number\"}}}"},
    {"DatasetSplitStats", "{\"type\":\"object\",\"properties\":{\"file\":{\"type\":\"string\"},"
                          "\"format\":{\"type\":\"string\",\"enum\":[\"ts\",\"arff\",\"ucr\"]},"
                          "\"n_series\":{\"type\":\"integer\"},\"n_classes\":{\"type\":"
                          "\"integer\"},\"class_names\":{\"type\":\"array\",\"items\":{\"type\":"
                          "\"string\"}},\"class_counts\":{\"type\":\"object\"},\"dims\":{\"type\":"
                          "\"integer\"},\"min_length\":{\"type\":\"integer\"},\"max_length\":{"
                          "\"type\":\"integer\"}}}"},
    {"DatasetSplit", "{\"type\":\"object\",\"properties\":{\"dataset_id\":{\"type\":\"integer\"},"
                     "\"dataset\":{\"type\":\"string\"},\"split\":{\"type\":\"string\",\"enum\":["
                     "\"train\",\"test\"]},\"stats\":{\"$ref\":\"#/components/schemas/"
                     "DatasetSplitStats\"}}}"},
    {"JobCreate",
     "{\"type\":\"object\",\"required\":[\"kind\",\"params\"],\"additionalProperties\":false,"
     "\"properties\":{\"kind\":{\"type\":\"string\",\"enum\":[\"pretrain\",\"finetune\",\"tran"
     "sfer\",\"import\",\"study\"]},\"params\":{\"oneOf\":[{\"title\":\"pretrain\",\"type\":\""
     "object\",\"required\":[\"dataset\",\"objective\"],\"additionalProperties\":false,\"prope"
     "rties\":{\"dataset\":{\"type\":\"string\",\"description\":\"a dataset under the data dir"
     "ectory's datasets/\"},\"objective\":{\"type\":\"string\",\"enum\":[\"cpc\",\"jepa\",\"da"
     "ta2vec\",\"dinosr\",\"hubert\"]},\"model\":{\"description\":\"a configs/models name or a"
     "n inline model config\",\"oneOf\":[{\"type\":\"string\"},{\"type\":\"object\"}]},\"subse"
     "t\":{\"type\":\"integer\",\"minimum\":0},\"epochs\":{\"type\":\"integer\",\"minimum\":1}"
     ",\"batch\":{\"type\":\"integer\",\"minimum\":1},\"lr\":{\"type\":\"number\"},\"seed\":{"
     "\"type\":\"integer\",\"minimum\":0},\"threads\":{\"type\":\"integer\",\"minimum\":1},\"c"
     "heckpoint_every\":{\"type\":\"integer\",\"minimum\":0},\"val_every\":{\"type\":\"integer"
     "\",\"minimum\":0}}},{\"title\":\"import\",\"type\":\"object\",\"required\":[\"dataset\","
     "\"format\",\"path\"],\"additionalProperties\":false,\"properties\":{\"dataset\":{\"oneOf"
     "\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"description\":\"ECG dataset id or na"
     "me\"},\"format\":{\"type\":\"string\",\"enum\":[\"wfdb\",\"edf\",\"hdf5\"]},\"path\":{\""
     "type\":\"string\",\"description\":\"absolute path under one of the server's import_roots"
     "\"}}},{\"title\":\"finetune\",\"type\":\"object\",\"required\":[\"task\"],\"additionalPr"
     "operties\":false,\"properties\":{\"checkpoint\":{\"oneOf\":[{\"type\":\"string\"},{\"typ"
     "e\":\"integer\"}],\"description\":\"\\\"default\\\" (the default), a checkpoint id or na"
     "me\"},\"task\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"description\""
     ":\"task dataset id or name\"},\"mode\":{\"type\":\"string\",\"enum\":[\"finetune\",\"fro"
     "zen\",\"linear\"]},\"epochs\":{\"type\":\"integer\",\"minimum\":1},\"patience\":{\"type"
     "\":\"integer\",\"minimum\":0},\"lr\":{\"type\":\"number\",\"description\":\"0: the mode'"
     "s default\"},\"batch\":{\"type\":\"integer\",\"minimum\":1},\"seed\":{\"type\":\"integer"
     "\",\"minimum\":0},\"val_fraction\":{\"type\":\"number\"},\"mapping\":{\"type\":\"object"
     "\",\"description\":\"input mapping: channels (lead2|all|multi), length (resample|slide),"
     " slide_rate, slide_stride, resize (linear|sinc), amplitude (unit|mv)\"},\"random\":{\"ty"
     "pe\":\"boolean\",\"description\":\"a random-init encoder of the checkpoint's config (fro"
     "m-scratch baseline)\"},\"threads\":{\"type\":\"integer\",\"minimum\":1}}},{\"title\":\"t"
     "ransfer\",\"type\":\"object\",\"required\":[\"task\"],\"additionalProperties\":false,\"p"
     "roperties\":{\"checkpoint\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\""
     "description\":\"\\\"default\\\" (the default), a checkpoint id or name\"},\"task\":{\"on"
     "eOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"description\":\"task dataset id o"
     "r name\"},\"mapping\":{\"type\":\"object\",\"description\":\"input mapping: channels (le"
     "ad2|all|multi), length (resample|slide), slide_rate, slide_stride, resize (linear|sinc),"
     " amplitude (unit|mv)\"},\"seed\":{\"type\":\"integer\",\"minimum\":0},\"save_probe\":{\""
     "type\":\"boolean\"}}},{\"type\":\"object\",\"required\":[\"dataset\",\"tasks\",\"spec\"]"
     ",\"additionalProperties\":false,\"properties\":{\"name\":{\"type\":\"string\"},\"dataset"
     "\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"description\":\"ECG datas"
     "et id or name (pretraining data)\"},\"tasks\":{\"type\":\"array\",\"items\":{\"oneOf\":["
     "{\"type\":\"string\"},{\"type\":\"integer\"}]},\"description\":\"task dataset ids or nam"
     "es\"},\"spec\":{\"type\":\"object\",\"required\":[\"sizes\",\"objectives\",\"seeds\"],\""
     "description\":\"the study config as configs/studies/*.json, without name, dataset, tasks"
     " and threads (the service supplies them)\",\"properties\":{\"sizes\":{\"type\":\"array\""
     ",\"items\":{\"type\":\"integer\",\"minimum\":0}},\"objectives\":{\"type\":\"array\",\"it"
     "ems\":{\"oneOf\":[{\"type\":\"string\",\"enum\":[\"cpc\",\"jepa\",\"data2vec\",\"dinosr"
     "\",\"hubert\"]},{\"type\":\"object\"}]}},\"model\":{\"oneOf\":[{\"type\":\"string\"},{\""
     "type\":\"object\"}],\"description\":\"a configs/models name or an inline model config\"}"
     ",\"seeds\":{\"type\":\"array\",\"items\":{\"type\":\"integer\",\"minimum\":0}},\"epochs"
     "\":{\"type\":\"integer\",\"minimum\":1},\"batch\":{\"type\":\"integer\",\"minimum\":1},"
     "\"val_records\":{\"type\":\"integer\",\"minimum\":0},\"split_seed\":{\"type\":\"integer"
     "\"},\"mapping\":{\"type\":\"object\"},\"probe_seed\":{\"type\":\"integer\"},\"bootstrap"
     "\":{\"type\":\"integer\",\"minimum\":2},\"bootstrap_seed\":{\"type\":\"integer\"},\"fine"
     "tune\":{\"type\":\"object\",\"description\":\"mode, epochs, batch, lr, weight_decay, pat"
     "ience, val_fraction, seed\"},\"description\":{\"type\":\"string\"}}}},\"title\":\"study"
     "\"}]}}}"},
    {"Job", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
            "\"kind\":{\"type\":\"string\"},\"state\":{\"type\":\"string\",\"enum\":["
            "\"queued\",\"running\",\"succeeded\",\"failed\",\"cancelled\"]},"
            "\"params\":{\"type\":\"object\"},\"progress\":{\"type\":\"object\","
            "\"description\":\"step, total_steps, epoch, epochs, loss, val_loss, windows_per_s, "
            "eta_s, metrics\"},\"result\":{\"type\":\"object\",\"nullable\":true},"
            "\"error\":{\"type\":\"string\",\"nullable\":true},\"attempt\":{\"type\":"
            "\"integer\"},\"cancel_requested\":{\"type\":\"boolean\"},\"created_at\":{"
            "\"type\":\"string\",\"format\":\"date-time\"},\"started_at\":{\"type\":"
            "\"string\",\"format\":\"date-time\",\"nullable\":true},\"finished_at\":{"
            "\"type\":\"string\",\"format\":\"date-time\",\"nullable\":true},"
            "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}"},
    {"JobList", "{\"type\":\"object\",\"properties\":{\"jobs\":{\"type\":\"array\","
                "\"items\":{\"$ref\":\"#/components/schemas/Job\"}},\"next_cursor\":{"
                "\"type\":\"integer\",\"nullable\":true,\"description\":\"pass as cursor for "
                "the next page; null on the last\"}}}"},
    /* Studies (server/routes_studies.c) */
    /* Checkpoints (server/routes_checkpoints.c, api/checkpoints_json.c) */
    {"Checkpoint", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
                   "\"name\":{\"type\":\"string\"},\"model\":{\"type\":\"object\","
                   "\"description\":\"the encoder configuration\"},\"objective\":{\"type\":"
                   "\"string\",\"nullable\":true},\"dataset\":{\"type\":\"object\","
                   "\"nullable\":true,\"properties\":{\"id\":{\"type\":\"integer\","
                   "\"nullable\":true},\"name\":{\"type\":\"string\",\"nullable\":true}}},\"subset_size\":{"
                   "\"type\":\"integer\",\"nullable\":true},\"step\":{\"type\":\"integer\","
                   "\"nullable\":true},\"val_loss\":{\"type\":\"number\",\"nullable\":true},"
                   "\"job_id\":{\"type\":\"integer\",\"nullable\":true},\"sha256\":{"
                   "\"type\":\"string\",\"description\":\"of the file; also its ETag\"},"
                   "\"size_bytes\":{\"type\":\"integer\"},\"is_default\":{\"type\":"
                   "\"boolean\"},\"created_at\":{\"type\":\"string\",\"format\":"
                   "\"date-time\"}}}"},
    {"CheckpointList", "{\"type\":\"object\",\"properties\":{\"checkpoints\":{\"type\":"
                       "\"array\",\"items\":{\"$ref\":\"#/components/schemas/Checkpoint\"}},"
                       "\"next_cursor\":{\"type\":\"integer\",\"nullable\":true}}}"},
    {"CheckpointDeleted", "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":"
                          "\"integer\"},\"name\":{\"type\":\"string\"},\"deleted\":{"
                          "\"type\":\"boolean\"}}}"},
    {"StudyCreate",
     "{\"type\":\"object\",\"required\":[\"dataset\",\"tasks\",\"spec\"],\"additionalPropertie"
     "s\":false,\"properties\":{\"name\":{\"type\":\"string\"},\"dataset\":{\"oneOf\":[{\"type"
     "\":\"string\"},{\"type\":\"integer\"}],\"description\":\"ECG dataset id or name (pretrai"
     "ning data)\"},\"tasks\":{\"type\":\"array\",\"items\":{\"oneOf\":[{\"type\":\"string\"},"
     "{\"type\":\"integer\"}]},\"description\":\"task dataset ids or names\"},\"spec\":{\"type"
     "\":\"object\",\"required\":[\"sizes\",\"objectives\",\"seeds\"],\"description\":\"the st"
     "udy config as configs/studies/*.json, without name, dataset, tasks and threads (the serv"
     "ice supplies them)\",\"properties\":{\"sizes\":{\"type\":\"array\",\"items\":{\"type\":"
     "\"integer\",\"minimum\":0}},\"objectives\":{\"type\":\"array\",\"items\":{\"oneOf\":[{\""
     "type\":\"string\",\"enum\":[\"cpc\",\"jepa\",\"data2vec\",\"dinosr\",\"hubert\"]},{\"typ"
     "e\":\"object\"}]}},\"model\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"object\"}],\""
     "description\":\"a configs/models name or an inline model config\"},\"seeds\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"integer\",\"minimum\":0}},\"epochs\":{\"type\":\"integer"
     "\",\"minimum\":1},\"batch\":{\"type\":\"integer\",\"minimum\":1},\"val_records\":{\"type"
     "\":\"integer\",\"minimum\":0},\"split_seed\":{\"type\":\"integer\"},\"mapping\":{\"type"
     "\":\"object\"},\"probe_seed\":{\"type\":\"integer\"},\"bootstrap\":{\"type\":\"integer\""
     ",\"minimum\":2},\"bootstrap_seed\":{\"type\":\"integer\"},\"finetune\":{\"type\":\"objec"
     "t\",\"description\":\"mode, epochs, batch, lr, weight_decay, patience, val_fraction, see"
     "d\"},\"description\":{\"type\":\"string\"}}}}}"},
    {"Study",
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\""
     "string\"},\"state\":{\"type\":\"string\",\"enum\":[\"queued\",\"running\",\"succeeded\","
     "\"failed\",\"cancelled\"]},\"job_id\":{\"type\":\"integer\"},\"spec\":{\"type\":\"object"
     "\",\"description\":\"the study job's params\"},\"progress\":{\"type\":\"object\"},\"erro"
     "r\":{\"type\":\"string\",\"nullable\":true},\"files\":{\"type\":\"array\",\"items\":{\"t"
     "ype\":\"string\"},\"description\":\"output files present (GET /v1/studies/{id}/files/{na"
     "me})\"},\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"result\":{\"type"
     "\":\"object\",\"nullable\":true,\"description\":\"study_id, table (table.json), fit (fit"
     ".json), files; GET one only\"}}}"},
    {"StudyList",
     "{\"type\":\"object\",\"properties\":{\"studies\":{\"type\":\"array\",\"items\":{\"$ref\""
     ":\"#/components/schemas/Study\"}},\"next_cursor\":{\"type\":\"integer\",\"nullable\":tru"
     "e,\"description\":\"pass as cursor for the next page; null on the last\"}}}"},
    /* Transfer, probes, classify and embed batch (server/routes_transfer.c, route_embed_batch.c) */
    {"TransferRequest",
     "{\"type\":\"object\",\"required\":[\"task\"],\"additionalProperties\":false,\"properties"
     "\":{\"checkpoint\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"descripti"
     "on\":\"\\\"default\\\" (the default), a checkpoint id or name\"},\"task\":{\"oneOf\":[{"
     "\"type\":\"string\"},{\"type\":\"integer\"}],\"description\":\"a task dataset (id or nam"
     "e) with train and test splits\"},\"mapping\":{\"type\":\"object\",\"additionalProperties"
     "\":false,\"description\":\"input mapping of the series (defaults: channels all, multi fo"
     "r multichannel tasks; length resample)\",\"properties\":{\"channels\":{\"type\":\"string"
     "\",\"enum\":[\"lead2\",\"all\",\"multi\"]},\"length\":{\"type\":\"string\",\"enum\":[\"r"
     "esample\",\"slide\"]},\"slide_rate\":{\"type\":\"number\"},\"slide_stride\":{\"type\":\""
     "integer\",\"minimum\":1},\"resize\":{\"type\":\"string\",\"enum\":[\"linear\",\"sinc\"]}"
     ",\"amplitude\":{\"type\":\"string\",\"enum\":[\"unit\",\"mv\"]}}},\"seed\":{\"type\":\"i"
     "nteger\",\"minimum\":0,\"description\":\"classifier CV folds\"},\"save_probe\":{\"type\""
     ":\"boolean\",\"description\":\"store the fitted linear probe (probe_id in the answer)\"}"
     "}}"},
    {"TransferScore",
     "{\"type\":\"object\",\"properties\":{\"classifier\":{\"type\":\"string\"},\"param\":{\"t"
     "ype\":\"string\"},\"accuracy\":{\"type\":\"number\"},\"balanced_accuracy\":{\"type\":\"n"
     "umber\"},\"macro_f1\":{\"type\":\"number\"},\"auroc\":{\"type\":\"number\",\"nullable\":"
     "true},\"recall\":{\"type\":\"array\",\"items\":{\"type\":\"number\",\"nullable\":true}},"
     "\"confusion\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"in"
     "teger\"}}}}}"},
    {"TransferEncoderResult",
     "{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"},\"random_seed\":{\""
     "type\":\"integer\"},\"embed_seconds\":{\"type\":\"number\"},\"scores\":{\"type\":\"array"
     "\",\"items\":{\"$ref\":\"#/components/schemas/TransferScore\"}}}}"},
    {"TransferReport",
     "{\"type\":\"object\",\"description\":\"the `ecgfm transfer --json` report plus the store"
     "d resources\",\"properties\":{\"task\":{\"type\":\"string\"},\"n_train\":{\"type\":\"int"
     "eger\"},\"n_test\":{\"type\":\"integer\"},\"n_classes\":{\"type\":\"integer\"},\"n_dims"
     "\":{\"type\":\"integer\"},\"min_length\":{\"type\":\"integer\"},\"max_length\":{\"type\""
     ":\"integer\"},\"class_names\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},\"map"
     "ping\":{\"type\":\"object\"},\"channels_dropped\":{\"type\":\"integer\"},\"checkpoint\":"
     "{\"$ref\":\"#/components/schemas/TransferEncoderResult\"},\"checkpoint_id\":{\"type\":\""
     "integer\"},\"objective\":{\"type\":\"string\",\"nullable\":true},\"task_dataset_id\":{\""
     "type\":\"integer\"},\"task_dataset\":{\"type\":\"string\"},\"random_init\":{\"$ref\":\"#"
     "/components/schemas/TransferEncoderResult\"},\"raw_1nn\":{\"$ref\":\"#/components/schema"
     "s/TransferScore\"},\"raw_length\":{\"type\":\"integer\"},\"probe_id\":{\"type\":\"intege"
     "r\",\"description\":\"with save_probe\"},\"checkpoint_name\":{\"type\":\"string\"}}}"},
    {"Probe",
     "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"method\":{\"type\":"
     "\"string\",\"enum\":[\"linear\"]},\"checkpoint_id\":{\"type\":\"integer\"},\"task_datase"
     "t_id\":{\"type\":\"integer\"},\"job_id\":{\"type\":\"integer\",\"nullable\":true},\"crea"
     "ted_at\":{\"type\":\"string\",\"format\":\"date-time\"},\"metrics\":{\"$ref\":\"#/compon"
     "ents/schemas/TransferScore\"},\"mapping\":{\"type\":\"object\"},\"class_names\":{\"type"
     "\":\"array\",\"items\":{\"type\":\"string\"}},\"n_dims\":{\"type\":\"integer\"},\"dim\":"
     "{\"type\":\"integer\"},\"classifier\":{\"type\":\"string\"},\"param\":{\"type\":\"string"
     "\"},\"seed\":{\"type\":\"integer\"},\"checkpoint\":{\"type\":\"object\",\"properties\":{"
     "\"id\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"},\"sha256\":{\"type\":\"stri"
     "ng\"}}},\"task\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},\"na"
     "me\":{\"type\":\"string\"}}}}}"},
    {"ProbeList",
     "{\"type\":\"object\",\"properties\":{\"probes\":{\"type\":\"array\",\"items\":{\"$ref\":"
     "\"#/components/schemas/Probe\"}},\"next_cursor\":{\"type\":\"integer\",\"nullable\":true"
     ",\"description\":\"pass as cursor for the next page; null on the last\"}}}"},
    {"ClassifyRequest",
     "{\"type\":\"object\",\"required\":[\"probe\",\"series\"],\"additionalProperties\":false,"
     "\"properties\":{\"probe\":{\"type\":\"integer\"},\"series\":{\"type\":\"array\",\"descri"
     "ption\":\"univariate series [[x, ...], ...], or n x channels x length [[[x, ...], ...], "
     "...]; null is a missing sample\",\"items\":{\"type\":\"array\",\"items\":{\"oneOf\":[{\""
     "type\":\"number\",\"nullable\":true},{\"type\":\"array\",\"items\":{\"type\":\"number\","
     "\"nullable\":true}}]}}}}}"},
    {"Classification",
     "{\"type\":\"object\",\"properties\":{\"probe\":{\"type\":\"integer\"},\"checkpoint_id\":"
     "{\"type\":\"integer\"},\"checkpoint\":{\"type\":\"string\"},\"class_names\":{\"type\":\""
     "array\",\"items\":{\"type\":\"string\"}},\"predictions\":{\"type\":\"array\",\"items\":{"
     "\"type\":\"object\",\"properties\":{\"class\":{\"type\":\"string\"},\"index\":{\"type\":"
     "\"integer\"},\"probabilities\":{\"type\":\"array\",\"items\":{\"type\":\"number\"}}}}}}}"},
    {"EmbedBatchRequest",
     "{\"type\":\"object\",\"required\":[\"records\"],\"additionalProperties\":false,\"descrip"
     "tion\":\"query: pooling, checkpoint (for every record)\",\"properties\":{\"records\":{\""
     "type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#/components/schemas/EmbedRequest"
     "\"}}}}"},
    {"EmbedBatchResult",
     "{\"type\":\"object\",\"properties\":{\"results\":{\"type\":\"array\",\"items\":{\"oneOf"
     "\":[{\"$ref\":\"#/components/schemas/Embedding\"},{\"$ref\":\"#/components/schemas/Error"
     "\"}]}},\"n_ok\":{\"type\":\"integer\"},\"n_failed\":{\"type\":\"integer\"}}}"},
};
/* clang-format on */
#define N_SCHEMAS (sizeof SCHEMAS / sizeof SCHEMAS[0])

static const schema_def *find_schema(const char *name) {
    for (size_t i = 0; name && i < N_SCHEMAS; i++)
        if (strcmp(SCHEMAS[i].name, name) == 0) return &SCHEMAS[i];
    return NULL;
}

int openapi_has_schema(const char *name) {
    return find_schema(name) != NULL;
}

static json_t *ref(const char *name) {
    char buf[160];
    snprintf(buf, sizeof buf, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *json_content(const char *schema) {
    return json_pack("{s:{s:o}}", "application/json", "schema", ref(schema));
}

static json_t *error_response(const char *description) {
    return json_pack("{s:s, s:o}", "description", description, "content", json_content("Error"));
}

/* One operation object for r; NULL when out of memory. */
static json_t *operation(const openapi_route *r) {
    json_t *op = json_object();
    json_t *responses = json_object();
    if (!op || !responses) {
        json_decref(op);
        json_decref(responses);
        return NULL;
    }
    char opid[160], status[8];
    /* operationId: method and path words, e.g. delete_v1_keys_id. */
    size_t k = 0;
    for (const char *p = r->method; *p && k < sizeof opid - 1; p++)
        opid[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    for (const char *p = r->path; *p && k < sizeof opid - 1; p++) {
        char c = *p;
        if (c == '{' || c == '}') continue;
        opid[k++] = (c == '/' || c == '.' || c == '-') ? '_' : c;
    }
    opid[k] = '\0';
    snprintf(status, sizeof status, "%d", r->status);
    json_object_set_new(op, "operationId", json_string(opid));
    json_object_set_new(op, "summary", json_string(r->summary));
    json_t *ok;
    if (r->response_schema)
        ok = json_pack("{s:s, s:o}", "description", r->summary, "content",
                       json_content(r->response_schema));
    else
        ok = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", r->summary, "content", "text/plain",
                       "schema", "type", "string");
    json_object_set_new(responses, status, ok);
    json_object_set_new(responses, "default", error_response("an error, in the common shape"));
    if (r->scope) {
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
        json_object_set_new(op, "x-scope", json_string(r->scope));
        json_object_set_new(responses, "401", error_response("no key, or not a valid one"));
        json_object_set_new(responses, "403", error_response("the key's scope is too low"));
    } else {
        json_object_set_new(op, "security", json_array()); /* explicitly open */
    }
    json_object_set_new(op, "responses", responses);
    if (r->request_schema)
        json_object_set_new(
            op, "requestBody",
            json_pack("{s:b, s:o}", "required", 1, "content", json_content(r->request_schema)));
    /* Path parameters, from the {name} segments. */
    json_t *params = json_array();
    for (const char *p = strchr(r->path, '{'); p && params; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e) break;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(e - p - 1), p + 1);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in",
                                                "path", "required", 1, "schema", "type", "string"));
    }
    if (params && json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    return op;
}

json_t *openapi_document(const openapi_route *routes, size_t n, const char *version, char *why,
                         size_t why_size) {
    for (size_t i = 0; i < n; i++) {
        const char *names[2] = {routes[i].request_schema, routes[i].response_schema};
        for (int j = 0; j < 2; j++) {
            if (names[j] && !find_schema(names[j])) {
                snprintf(why, why_size, "%s %s names schema \"%s\", which is not defined",
                         routes[i].method, routes[i].path, names[j]);
                return NULL;
            }
        }
    }
    json_t *schemas = json_object();
    for (size_t i = 0; schemas && i < N_SCHEMAS; i++) {
        json_error_t e;
        json_t *s = json_loads(SCHEMAS[i].json, 0, &e);
        if (!s) {
            snprintf(why, why_size, "schema %s is not valid JSON: %s", SCHEMAS[i].name, e.text);
            json_decref(schemas);
            return NULL;
        }
        json_object_set_new(schemas, SCHEMAS[i].name, s);
    }
    json_t *paths = json_object();
    for (size_t i = 0; paths && i < n; i++) {
        json_t *item = json_object_get(paths, routes[i].path);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, routes[i].path, item);
        }
        char method[16];
        size_t k = 0;
        for (const char *p = routes[i].method; *p && k < sizeof method - 1; p++)
            method[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        method[k] = '\0';
        json_t *op = operation(&routes[i]);
        if (!item || !op) {
            json_decref(op);
            json_decref(paths);
            paths = NULL;
            break;
        }
        json_object_set_new(item, method, op);
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o, s:{s:{s:s, s:s, s:s}}}}", "openapi", "3.0.3", "info",
        "title", "ecgfm", "version", version, "description",
        "ECG foundation models over HTTP. /v1 routes take Authorization: Bearer <key>; scopes are "
        "ordered read < embed < train < admin, and x-scope names the lowest one an operation "
        "accepts.",
        "paths", paths, "components", "schemas", schemas, "securitySchemes", "bearerAuth", "type",
        "http", "scheme", "bearer", "description", "an ecgfm API key (efm_...)");
    if (!doc) snprintf(why, why_size, "out of memory building the document");
    return doc;
}

void openapi_get_document(const openapi_route *routes, size_t n, const char *version,
                          api_response *res) {
    char why[256] = "";
    json_t *doc = openapi_document(routes, n, version, why, sizeof why);
    if (!doc) {
        api_response_error(res, 500, "openapi_incomplete", "%s", why);
        return;
    }
    api_response_json(res, 200, doc);
}
