/* test_api_badinput.c — the bad-input corpus (issue 5, "what it must show" 3) against the real
 * build/ecgfm: every endpoint that takes input gets truncated/corrupt files of each format, wrong
 * JSON types, huge numbers, NaN, missing/unknown fields, wrong content types, oversized bodies,
 * path traversal in names and ids, bad query values; each must be its 4xx with the JSON error
 * shape (a bad record inside POST /v1/embed/batch: a 200 whose entry has that shape). After each
 * group /healthz answers and a good /v1/embed gives the same embedding as before; at the end the
 * datasets the bad uploads aimed at are still empty.
 * Then libmicrohttpd's own protocol errors over raw sockets: the server must stay up. */
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include "tests/api/testserver.h"

#include <hdf5.h>
#include <jansson.h>

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define START_TIMEOUT_MS 20000
#define EXIT_TIMEOUT_MS 15000
#define IO_TIMEOUT_S 10
#define MAX_BODY 1000000   /* --max-body-bytes of the server under test */
#define MAX_UPLOAD 2000000 /* its --max-upload-bytes (dataset record and split uploads) */

static char bin[PATH_MAX], root[PATH_MAX], corpus[PATH_MAX + 32];
static char tmpdir[] = "/tmp/ecgfm-test-badinput-XXXXXX";
static char data[PATH_MAX], server_log[PATH_MAX];
static char roots[PATH_MAX]; /* the server's import root: ok/ inside, out -> /etc */
static pid_t server_pid;
static int port;
static char admin_key[64];
static long long job_id;  /* a cancelled pretrain job ({job} in paths) */
static char ck_name[160]; /* the default checkpoint's name ({ck} in paths) */
static json_t *baseline;  /* the good embedding, before any bad input */
static int status_count[600];
static int n_cases;

/* ---- the table ---- */

/* One bad request: method, path ({job} is replaced by a real job's id), extra header lines, body,
 * and the expected status and error code. body: NULL (none), inline text, "@F" (corpus file F),
 * "@@F" (file F under the repository root), "@tmp/h5/F" (an HDF5 file make_h5_corpus wrote),
 * "mp:F1,F2" (multipart/form-data of those files, each named by its basename; @/@@/@tmp as above,
 * corpus when unprefixed), "gen:NAME" (made in code).
 * Requests carry the admin key unless headers name an Authorization. A header line
 * "Transfer-Encoding: chunked" sends the body chunked. */
typedef struct {
    const char *method, *path, *headers, *body;
    int status;
    const char *code;
} bad_case;

#define GROUP(name)                                                                                \
    { NULL, name, NULL, NULL, 0, NULL }
#define JSON "Content-Type: application/json\r\n"
#define CSV "Content-Type: text/csv\r\n"
#define NPY "Content-Type: application/x-npy\r\n"
#define EDF "Content-Type: application/edf\r\n"
#define OCTET "Content-Type: application/octet-stream\r\n"
#define H5 "Content-Type: application/x-hdf5\r\n"
#define CHUNKED "Transfer-Encoding: chunked\r\n"
#define EMB "/v1/embed"
#define SIG1 "\"signal\": [[0.1, 0.2, 0.3]], \"fs\": 500, \"leads\": [\"II\"]"
#define REC "/v1/datasets/bad_ecg/records"
#define SPLIT "/v1/datasets/bad_task/splits/train"
#define IMP "{\"kind\": \"import\", \"params\": {\"dataset\": \"bad_ecg\", \"format\": \"wfdb\", "
#define CKF "/v1/checkpoints/default/file"
#define PRE "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"tiny\", \"objective\": \"cpc\""

/* clang-format off */
static const bad_case CASES[] = {
    GROUP("embed: JSON syntax, types, numbers"),
    {"POST", EMB, JSON, "{\"signal\": [[1,2,", 400, "invalid_json"},
    {"POST", EMB, JSON, "@json/trunc.json", 400, "invalid_json"},
    {"POST", EMB, JSON, "@json/deep.json", 400, "invalid_json"},
    {"POST", EMB, JSON, "@json/bad_utf8.json", 422, "unknown_lead"},
    {"POST", EMB, JSON, "@json/bom.json", 400, "invalid_json"},
    {"POST", EMB, JSON, "[1, 2]", 400, "invalid_json"},
    {"POST", EMB, JSON, "\"signal\"", 400, "invalid_json"},
    {"POST", EMB, JSON, "null", 400, "invalid_json"},
    {"POST", EMB, JSON, "{}", 400, "missing_field"},
    {"POST", EMB, JSON, "{\"signal\": [[NaN]], \"fs\": 500, \"leads\": [\"II\"]}", 400, "invalid_json"},
    {"POST", EMB, JSON, "{\"signal\": [[Infinity]], \"fs\": 500, \"leads\": [\"II\"]}", 400, "invalid_json"},
    {"POST", EMB, JSON, "{\"signal\": [[-Infinity]], \"fs\": 500, \"leads\": [\"II\"]}", 400, "invalid_json"},
    {"POST", EMB, JSON, "{\"signal\": [[1e400]], \"fs\": 500, \"leads\": [\"II\"]}", 400, "invalid_json"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 1e400, \"leads\": [\"II\"]}", 400, "invalid_json"},
    {"POST", EMB, JSON, "{\"signal\": [[9223372036854775808]], \"fs\": 500, \"leads\": [\"II\"]}", 422, "sample_out_of_range"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 9223372036854775808, \"leads\": [\"II\"]}", 422, "invalid_fs"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 0, \"leads\": [\"II\"]}", 422, "invalid_fs"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": true, \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": null, \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": [500], \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": \"0.1,0.2\", \"fs\": 500, \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [0.1, 0.2], \"fs\": 500, \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": {\"II\": [1]}, \"fs\": 500, \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [[true, false]], \"fs\": 500, \"leads\": [\"II\"]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 500, \"leads\": \"II\"}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 500, \"leads\": [2]}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{" SIG1 ", \"units\": 1}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{" SIG1 ", \"units\": \"V\"}", 422, "invalid_units"},
    {"POST", EMB, JSON, "{" SIG1 ", \"extra\": 1}", 400, "unknown_field"},
    {"POST", EMB, JSON, "{" SIG1 ", \"fs\": 250}", 400, "invalid_json"},
    {"POST", EMB, JSON, "{\"fs\": 500, \"leads\": [\"II\"]}", 400, "missing_field"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"leads\": [\"II\"]}", 400, "missing_field"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 500}", 400, "missing_field"},
    {"POST", EMB, JSON, "{\"signal\": [], \"fs\": 500, \"leads\": []}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{\"signal\": [[]], \"fs\": 500, \"leads\": [\"II\"]}", 422, "empty_signal"},
    {"POST", EMB, JSON, "{\"signal\": [[1]], \"fs\": 500, \"leads\": [\"../../etc/passwd\"]}", 422, "unknown_lead"},
    {"POST", EMB, JSON, "@json/nul_in_string.json", 400, "invalid_json"},
    {"POST", EMB, JSON, "@json/many_leads.json", 422, "too_many_leads"},
    {"POST", EMB, JSON, "{\"signal\": [[1],[2]], \"fs\": 500, \"leads\": [\"V1\",\"V1\"]}", 422, "duplicate_lead"},
    {"POST", EMB, JSON, "{\"signal\": [[1,2],[3]], \"fs\": 500, \"leads\": [\"I\",\"II\"]}", 400, "ragged_signal"},

    GROUP("embed: content types, query values, sizes"),
    {"POST", EMB, NULL, "", 400, "empty_body"},
    {"POST", EMB, "Content-Type: text/plain\r\n", "{" SIG1 "}", 415, "unsupported_media_type"},
    {"POST", EMB, "Content-Type: application/jsonx\r\n", "{" SIG1 "}", 415, "unsupported_media_type"},
    {"POST", EMB, "Content-Type: \r\n", "0.1,0.2", 415, "unsupported_media_type"},
    {"POST", EMB, "Content-Type: image/png\r\n", "\x89PNG\r\n", 415, "unsupported_media_type"},
    {"POST", EMB, "Content-Type: multipart/form-data\r\n", "--x\r\n", 400, "invalid_multipart"},
    {"POST", EMB, "Content-Type: multipart/form-data; boundary=\r\n", "--\r\n", 400, "invalid_multipart"},
    {"POST", EMB, "Content-Type: multipart/form-data; boundary=zz\r\n", "no parts here", 400, "invalid_multipart"},
    {"POST", EMB "?format=xml", JSON, "{" SIG1 "}", 415, "unsupported_format"},
    {"POST", EMB "?format=", JSON, "{" SIG1 "}", 415, "unsupported_format"},
    {"POST", EMB "?format=../../etc/passwd", OCTET, "x", 415, "unsupported_format"},
    {"POST", EMB "?format=wfdb", OCTET, "r 1 100 1000", 415, "unsupported_format"},
    {"POST", EMB "?pooling=max", JSON, "{" SIG1 "}", 422, "invalid_pooling"},
    {"POST", EMB "?normalize=maybe", JSON, "{" SIG1 "}", 422, "invalid_normalize"},
    {"POST", EMB "?normalize=", JSON, "{" SIG1 "}", 422, "invalid_normalize"},
    {"POST", EMB "?encoding=hex", JSON, "{" SIG1 "}", 422, "invalid_encoding"},
    {"POST", EMB "?encoding=base64%00", JSON, "{" SIG1 "}", 422, "invalid_encoding"},
    {"POST", EMB, JSON, "{" SIG1 ", \"normalize\": \"yes\"}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{" SIG1 ", \"normalize\": 1}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{" SIG1 ", \"encoding\": \"hex\"}", 422, "invalid_encoding"},
    {"POST", EMB, JSON, "{" SIG1 ", \"encoding\": 64}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{" SIG1 ", \"pooling\": \"max\"}", 422, "invalid_pooling"},
    {"POST", EMB, JSON, "{" SIG1 ", \"pooling\": null}", 400, "wrong_type"},
    {"POST", EMB, JSON, "{" SIG1 ", \"checkpoint\": \"../../etc/passwd\"}", 404, "checkpoint_not_found"},
    {"POST", EMB, JSON, "{" SIG1 ", \"checkpoint\": 7}", 400, "wrong_type"},
    {"POST", EMB "?pooling=", JSON, "{" SIG1 "}", 422, "invalid_pooling"},
    {"POST", EMB "?checkpoint=../../etc/passwd", JSON, "{" SIG1 "}", 404, "checkpoint_not_found"},
    {"POST", EMB "?checkpoint=%2Fetc%2Fpasswd", JSON, "{" SIG1 "}", 404, "checkpoint_not_found"},
    {"POST", EMB "?checkpoint=a%00b", JSON, "{" SIG1 "}", 404, "checkpoint_not_found"},
    {"POST", EMB "?fs=abc", CSV, "@csv/trunc_row.csv", 422, "invalid_fs"},
    {"POST", EMB "?fs=-1", CSV, "@csv/trunc_row.csv", 422, "invalid_fs"},
    {"POST", EMB "?fs=1e400", CSV, "@csv/trunc_row.csv", 422, "invalid_fs"},
    {"POST", EMB "?fs=nan", CSV, "@csv/trunc_row.csv", 422, "invalid_fs"},
    {"POST", EMB "?fs=9223372036854775808", NPY, "@npy/ok.npy", 422, "invalid_fs"},
    {"POST", EMB, JSON, "gen:over_limit", 413, "payload_too_large"},
    {"POST", EMB, JSON CHUNKED, "gen:over_limit", 413, "payload_too_large"},
    {"POST", EMB, "Content-Length: 99999999999\r\n" JSON, NULL, 413, "payload_too_large"},
    {"GET", EMB, NULL, NULL, 405, "method_not_allowed"},
    {"DELETE", EMB, NULL, NULL, 405, "method_not_allowed"},

    GROUP("embed: WFDB uploads"),
    {"POST", EMB, NULL, "mp:wfdb/trunc_hea/r.hea,wfdb/r.dat", 422, "unusable_record"},
    {"POST", EMB, NULL, "mp:wfdb/fewer_sigs/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/neg_fs/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/huge_fs/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/huge_nsamp/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/huge_nsig/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/bad_fmt/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/traversal/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/abs_path/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/garbage/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/text_nums/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/long_sig/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:@@tests/data/ecg/ptbxl/00001_lr.hea,wfdb/half_dat/00001_lr.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:@@tests/data/ecg/ptbxl/00001_lr.hea,wfdb/odd_dat/00001_lr.dat", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:@@tests/data/ecg/ptbxl/00001_lr.hea", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:wfdb/r.dat", 400, "missing_part"},
    {"POST", EMB, NULL, "mp:wfdb/neg_fs/r.hea,wfdb/fewer_sigs/r.hea", 400, "invalid_multipart"},

    GROUP("embed: EDF, CSV and npy uploads"),
    {"POST", EMB, EDF, "@edf/trunc_header.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/trunc_data.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/ns_negative.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/ns_huge.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/ns_text.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/hdr_bytes_wrong.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/nrec_huge.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/spr_zero.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/spr_huge.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/dig_min_eq_max.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/phys_nan.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/version_bad.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/duration_zero.edf", 422, "invalid_file"},
    {"POST", EMB, EDF, "@edf/real_trunc.edf", 422, "invalid_file"},
    {"POST", EMB, NULL, "mp:edf/trunc_data.edf", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/trunc_row.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/text_cells.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/header_only.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/nan_inf.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/huge.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/binary.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/only_commas.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/utf16.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", CSV, "@csv/wide_row.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NULL, "mp:csv/text_cells.csv", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/bad_magic.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/trunc_header.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/trunc_data.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/hlen_huge.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/complex.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/object.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/shape_neg.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/shape_huge.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/shape_3d.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/header_garbage.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/version9.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/nan.npy", 422, "unusable_record"},
    {"POST", EMB "?fs=500", NPY, "@npy/inf.npy", 422, "invalid_file"},
    {"POST", EMB "?fs=500", NPY, "@npy/ok.npy", 422, "unusable_record"},
    {"POST", EMB, NPY, "@npy/ok.npy", 422, "missing_fs"},
    {"POST", EMB "?fs=500", OCTET, "@safetensors/offsets_oob.safetensors", 415, "unsupported_media_type"},
    {"POST", EMB "?fs=500", NULL, "mp:safetensors/bad_json.safetensors", 415, "unsupported_format"},
    {"POST", EMB "?fs=500", NULL, "mp:ucr/ts_trunc.ts", 415, "unsupported_format"},

    GROUP("jobs: POST /v1/jobs bodies"),
    {"POST", "/v1/jobs", NULL, PRE "}}", 415, "unsupported_media_type"},
    {"POST", "/v1/jobs", "Content-Type: text/plain\r\n", PRE "}}", 415, "unsupported_media_type"},
    {"POST", "/v1/jobs", JSON, "", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, PRE, 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, "[\"pretrain\"]", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"kind\": \"pretrain\", \"params\": {}}", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, PRE ", \"epochs\": NaN}}", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, PRE ", \"lr\": 1e400}}", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, "{\"params\": {}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": 1, \"params\": {}}", 422, "invalid_kind"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": null, \"params\": {}}", 422, "invalid_kind"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"../pretrain\", \"params\": {}}", 422, "invalid_kind"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\"}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": []}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": \"x\"}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {}, \"x\": 1}", 422, "unknown_field"},
    {"POST", "/v1/jobs", JSON, PRE ", \"x\": 1}}", 422, "unknown_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"objective\": \"cpc\"}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"tiny\"}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"../../etc\", \"objective\": \"cpc\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"/etc\", \"objective\": \"cpc\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"..\", \"objective\": \"cpc\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"ti\\u0000ny\", \"objective\": \"cpc\"}}", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": 7, \"objective\": \"cpc\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"nope\", \"objective\": \"cpc\"}}", 404, "dataset_not_found"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"pretrain\", \"params\": {\"dataset\": \"tiny\", \"objective\": 5}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"epochs\": \"2\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"epochs\": 1.5}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"epochs\": 0}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"epochs\": 9223372036854775807}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"epochs\": 9223372036854775808}}", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, PRE ", \"batch\": -1}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"seed\": -1}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"subset\": 1e300}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"threads\": 99}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"lr\": \"0.1\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"lr\": 0}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"lr\": 1e300}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": \"../../etc/passwd\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": \"/etc/passwd\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": \"nope\"}}", 422, "unknown_model"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": 3}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": {\"d_model\": -8}}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": {\"d_model\": 99999999}}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, PRE ", \"model\": {\"bogus\": 1}}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "gen:over_limit", 413, "payload_too_large"},

    GROUP("jobs: ids and queries"),
    {"GET", "/v1/jobs?state=bogus", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?state=", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?state=queued%00", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?kind=../x", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=0", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=201", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=-1", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=abc", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=1e2", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?limit=9223372036854775808", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?cursor=0", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?cursor=-5", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs?cursor=99999999999999999999", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs/abc", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/0", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/-1", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/+1", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/1e3", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/0x10", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/9223372036854775807", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/9223372036854775808", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/..", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/%2e%2e", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/%2e%2e%2f%2e%2e%2fetc", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/{job}%00", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/{job}%2500", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/{job}/", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs//{job}", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/{job}/events?after=-1", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs/{job}/events?after=abc", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs/{job}/events?after=", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs/{job}/events?after=99999999999999999999", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs/{job}/events", "Last-Event-ID: ../1\r\n", NULL, 422, "invalid_value"},
    {"GET", "/v1/jobs/999999/events", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/x/events", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/jobs/{job}/cancel", NULL, NULL, 409, "job_finished"},
    {"POST", "/v1/jobs/abc/cancel", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/jobs/999999/cancel", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/jobs/..%2f1/retry", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/jobs/999999/retry", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/jobs/-3/retry", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs/{job}/cancel", NULL, NULL, 405, "method_not_allowed"},
    {"PUT", "/v1/jobs/{job}", JSON, "{}", 405, "method_not_allowed"},

    GROUP("datasets: create, list, get, delete"),
    {"POST", "/v1/datasets", NULL, "{\"name\": \"x1\", \"kind\": \"ecg\"}", 415, "unsupported_media_type"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\", \"kind\": ", 400, "invalid_json"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\", \"kind\": \"ecg\", \"kind\": \"task\"}", 400, "invalid_json"},
    {"POST", "/v1/datasets", JSON, "{}", 422, "missing_field"},
    {"POST", "/v1/datasets", JSON, "{\"kind\": \"ecg\"}", 422, "missing_field"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\"}", 422, "missing_field"},
    {"POST", "/v1/datasets", JSON, "{\"name\": 5, \"kind\": \"ecg\"}", 422, "wrong_type"},
    {"POST", "/v1/datasets", JSON, "{\"name\": [\"x\"], \"kind\": \"ecg\"}", 422, "wrong_type"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"../../etc\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"/etc/passwd\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"..\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \".hidden\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"a/b\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"a\\\\b\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"%2e%2e\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"12345\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"a b\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"caf\\u00e9\", \"kind\": \"ecg\"}", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"a\\u0000b\", \"kind\": \"ecg\"}", 400, "invalid_json"},
    {"POST", "/v1/datasets", JSON, "gen:long_dataset_name", 422, "invalid_name"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\", \"kind\": \"video\"}", 422, "invalid_kind"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\", \"kind\": 1}", 422, "invalid_kind"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\", \"kind\": \"ecg\", \"description\": 5}", 422, "wrong_type"},
    {"POST", "/v1/datasets", JSON, "gen:long_description", 422, "invalid_value"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"x1\", \"kind\": \"ecg\", \"path\": \"/etc\"}", 422, "unknown_field"},
    {"POST", "/v1/datasets", JSON, "{\"name\": \"bad_ecg\", \"kind\": \"ecg\"}", 409, "name_taken"},
    {"POST", "/v1/datasets", JSON, "gen:over_limit", 413, "payload_too_large"},
    {"GET", "/v1/datasets?kind=video", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/datasets?limit=0", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/datasets?limit=501", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/datasets?limit=x", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/datasets?cursor=-1", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/datasets?cursor=1e9", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/datasets/nope", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/999999", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/99999999999999999999", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/..", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/%2e%2e", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/..%2f..%2fetc", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/bad_ecg%00", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/%2fetc%2fpasswd", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/datasets/.bad_ecg", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/datasets/nope", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/datasets/%2e%2e", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/datasets/..%2fbad_ecg", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/datasets/-1", NULL, NULL, 404, "not_found"},
    {"PATCH", "/v1/datasets/bad_ecg", JSON, "{}", 405, "method_not_allowed"},

    GROUP("datasets: record uploads"),
    {"POST", REC, NULL, "", 400, "empty_body"},
    {"POST", REC, "Content-Type: image/png\r\n", "\x89PNG\r\n", 415, "unsupported_media_type"},
    {"POST", REC "?format=xml", OCTET, "x", 415, "unsupported_format"},
    {"POST", REC "?fs=-1", CSV, "@csv/trunc_row.csv", 422, "invalid_fs"},
    {"POST", REC, JSON, "{\"signal\": [[NaN]], \"fs\": 500, \"leads\": [\"II\"]}", 400, "invalid_json"},
    {"POST", REC, JSON, "{\"signal\": [[1]], \"fs\": 500, \"leads\": [\"II\"], \"x\": 1}", 400, "unknown_field"},
    {"POST", REC, JSON, "{\"signal\": [[1e300]], \"fs\": 500, \"leads\": [\"II\"]}", 422, "sample_out_of_range"},
    {"POST", REC, NULL, "mp:wfdb/traversal/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", REC, NULL, "mp:wfdb/abs_path/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", REC, NULL, "mp:wfdb/huge_nsamp/r.hea,wfdb/r.dat", 422, "invalid_file"},
    {"POST", REC, NULL, "mp:@@tests/data/ecg/ptbxl/00001_lr.hea,wfdb/half_dat/00001_lr.dat", 422, "invalid_file"},
    {"POST", REC, NULL, "mp:wfdb/r.dat", 400, "missing_part"},
    {"POST", REC, EDF, "@edf/trunc_data.edf", 422, "invalid_file"},
    {"POST", REC, EDF, "@edf/ns_huge.edf", 422, "invalid_file"},
    {"POST", REC, EDF, "@edf/nrec_huge.edf", 422, "invalid_file"},
    {"POST", REC "?fs=500", CSV, "@csv/text_cells.csv", 422, "invalid_file"},
    {"POST", REC "?fs=500", CSV, "@csv/binary.csv", 422, "invalid_file"},
    {"POST", REC "?fs=500", NPY, "@npy/trunc_data.npy", 422, "invalid_file"},
    {"POST", REC "?fs=500", NPY, "@npy/shape_huge.npy", 422, "invalid_file"},
    {"POST", REC "?fs=500", NPY, "@npy/hlen_huge.npy", 422, "invalid_file"},
    {"POST", REC, NPY, "@npy/ok12.npy", 422, "missing_fs"},
    {"POST", REC, "Content-Type: multipart/form-data; boundary=zz\r\n", "--zz\r\nbroken", 400, "invalid_multipart"},
    {"POST", REC, H5, "@tmp/h5/trunc.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/garbage.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/rank2.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/leads11.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/strings.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/ids_short.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/no_tracings.h5", 422, "invalid_file"},
    {"POST", REC, H5, "@tmp/h5/long.h5", 422, "invalid_file"},
    {"POST", REC, NULL, "mp:@tmp/h5/trunc.h5", 422, "invalid_file"},
    {"POST", REC "?format=hdf5", OCTET, "@csv/binary.csv", 422, "invalid_file"},
    {"POST", REC "?format=hdf5", OCTET, "@ucr/ts_trunc.ts", 422, "invalid_file"},
    {"POST", REC, JSON, "gen:over_upload", 413, "payload_too_large"},
    {"POST", REC, JSON CHUNKED, "gen:over_upload", 413, "payload_too_large"},
    {"POST", "/v1/datasets/bad_task/records", JSON, "{" SIG1 "}", 409, "wrong_kind"},
    {"POST", "/v1/datasets/nope/records", JSON, "{" SIG1 "}", 404, "not_found"},
    {"POST", "/v1/datasets/..%2fbad_ecg/records", JSON, "{" SIG1 "}", 404, "not_found"},
    {"GET", REC, NULL, NULL, 405, "method_not_allowed"},

    GROUP("datasets: task split uploads"),
    {"PUT", SPLIT, NULL, "", 400, "empty_body"},
    {"PUT", SPLIT, OCTET, "@ucr/ts_no_data.ts", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@ucr/ts_bad_values.ts", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@ucr/ts_bad_label.ts", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@ucr/ts_trunc.ts", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@ucr/arff_trunc.arff", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@ucr/arff_bad_attr.arff", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@ucr/arff_no_data.arff", 422, "invalid_split"},
    {"PUT", SPLIT "?format=ucr", OCTET, "@ucr/tsv_label_only.tsv", 422, "invalid_split"},
    {"PUT", SPLIT "?format=ucr", OCTET, "@ucr/tsv_text.tsv", 422, "invalid_split"},
    {"PUT", SPLIT "?format=ucr", OCTET, "@ucr/tsv_empty_values.tsv", 422, "invalid_split"},
    {"PUT", SPLIT "?format=ts", OCTET, "@ucr/arff_trunc.arff", 422, "invalid_split"},
    {"PUT", SPLIT, OCTET, "@csv/binary.csv", 422, "invalid_split"},
    {"PUT", SPLIT, NULL, "mp:ucr/ts_bad_values.ts", 422, "invalid_split"},
    {"PUT", SPLIT, NULL, "mp:csv/trunc_row.csv", 422, "invalid_split"},
    {"PUT", SPLIT, NULL, "mp:edf/ok.edf", 415, "unsupported_format"},
    {"PUT", SPLIT "?format=csv", OCTET, "@ucr/ts_trunc.ts", 415, "unsupported_format"},
    {"PUT", SPLIT "?format=", OCTET, "@ucr/ts_trunc.ts", 415, "unsupported_format"},
    {"PUT", "/v1/datasets/bad_task/splits/validation", OCTET, "@ucr/ts_trunc.ts", 404, "not_found"},
    {"PUT", "/v1/datasets/bad_task/splits/..", OCTET, "@ucr/ts_trunc.ts", 404, "not_found"},
    {"PUT", "/v1/datasets/bad_task/splits/%2e%2e", OCTET, "@ucr/ts_trunc.ts", 404, "not_found"},
    {"PUT", "/v1/datasets/bad_task/splits/train%00", OCTET, "@ucr/ts_trunc.ts", 404, "not_found"},
    {"PUT", "/v1/datasets/bad_ecg/splits/train", OCTET, "@ucr/ts_trunc.ts", 409, "wrong_kind"},
    {"PUT", "/v1/datasets/nope/splits/train", OCTET, "@ucr/ts_trunc.ts", 404, "not_found"},
    {"PUT", SPLIT, OCTET, "gen:over_upload", 413, "payload_too_large"},
    {"POST", SPLIT, OCTET, "@ucr/ts_trunc.ts", 405, "method_not_allowed"},

    GROUP("transfer, probes, classify"),
    {"POST", "/v1/transfer", NULL, "{\"task\": \"bad_task\"}", 415, "unsupported_media_type"},
    {"POST", "/v1/transfer", JSON, "{\"task\": ", 400, "invalid_json"},
    {"POST", "/v1/transfer", JSON, "{}", 400, "missing_field"},
    {"POST", "/v1/transfer", JSON, "{\"task\": null}", 400, "wrong_type"},
    {"POST", "/v1/transfer", JSON, "{\"task\": [\"bad_task\"]}", 400, "wrong_type"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"\"}", 422, "invalid_value"},
    {"POST", "/v1/transfer", JSON, "{\"task\": -1}", 400, "wrong_type"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"x\": 1}", 422, "unknown_field"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"seed\": -1}", 422, "invalid_value"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"seed\": 1.5}", 400, "invalid_value"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"seed\": 1e400}", 400, "invalid_json"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"seed\": 18446744073709551616}", 400, "invalid_json"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"save_probe\": \"yes\"}", 400, "wrong_type"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"mapping\": []}", 400, "wrong_type"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"mapping\": {\"channels\": 5}}", 422, "invalid_mapping"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"mapping\": {\"channels\": \"../../etc\"}}", 422, "invalid_mapping"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"mapping\": {\"length\": \"NaN\"}}", 422, "invalid_mapping"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"mapping\": {\"bogus\": \"x\"}}", 422, "invalid_mapping"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"../../etc/passwd\"}", 404, "dataset_not_found"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"/etc\"}", 404, "dataset_not_found"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"nope\"}", 404, "dataset_not_found"},
    {"POST", "/v1/transfer", JSON, "{\"task\": 999999}", 404, "dataset_not_found"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\"}", 422, "invalid_transfer"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_ecg\"}", 422, "invalid_transfer"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"checkpoint\": \"../../etc/passwd\"}", 404, "checkpoint_not_found"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"checkpoint\": 999999}", 404, "checkpoint_not_found"},
    {"POST", "/v1/transfer", JSON, "{\"task\": \"bad_task\", \"checkpoint\": true}", 400, "wrong_type"},
    {"POST", "/v1/transfer", JSON, "gen:over_limit", 413, "payload_too_large"},
    {"GET", "/v1/probes?limit=0", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/probes?limit=abc", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/probes?cursor=-1", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/probes/abc", NULL, NULL, 404, "probe_not_found"},
    {"GET", "/v1/probes/0", NULL, NULL, 404, "probe_not_found"},
    {"GET", "/v1/probes/999999", NULL, NULL, 404, "probe_not_found"},
    {"GET", "/v1/probes/%2e%2e", NULL, NULL, 404, "probe_not_found"},
    {"GET", "/v1/probes/1%00", NULL, NULL, 404, "probe_not_found"},
    {"POST", "/v1/classify", NULL, "{\"probe\": 1, \"series\": [[1]]}", 415, "unsupported_media_type"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[1,", 400, "invalid_json"},
    {"POST", "/v1/classify", JSON, "{\"series\": [[1]]}", 400, "missing_field"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1}", 400, "missing_field"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[1]], \"x\": 1}", 422, "unknown_field"},
    {"POST", "/v1/classify", JSON, "{\"probe\": [1], \"series\": [[1]]}", 400, "wrong_type"},
    {"POST", "/v1/classify", JSON, "{\"probe\": \"../1\", \"series\": [[1]]}", 422, "invalid_value"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 0, \"series\": [[1]]}", 422, "invalid_value"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 9223372036854775808, \"series\": [[1]]}", 400, "invalid_json"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": []}", 400, "wrong_type"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": \"1,2\"}", 400, "wrong_type"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[1, \"x\"]]}", 400, "wrong_type"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[1, NaN]]}", 400, "invalid_json"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[1, 1e39]]}", 422, "invalid_value"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[]]}", 422, "empty_series"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[[1, 2], [3]]]}", 422, "ragged_series"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 1, \"series\": [[[1], [2]], [[1]]]}", 422, "ragged_series"},
    {"POST", "/v1/classify", JSON, "{\"probe\": 999999, \"series\": [[1, 2, 3]]}", 404, "probe_not_found"},
    {"POST", "/v1/classify", JSON, "gen:over_limit", 413, "payload_too_large"},

    GROUP("embed batch"),
    {"POST", "/v1/embed/batch", NULL, "{\"records\": [{" SIG1 "}]}", 415, "unsupported_media_type"},
    {"POST", "/v1/embed/batch", JSON, "", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "[{" SIG1 "}]", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{" SIG1 "}", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{" SIG1 "}]} x", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{}", 400, "missing_field"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": []}", 422, "no_records"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": {}}", 400, "wrong_type"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": \"x\"}", 400, "wrong_type"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [], \"records\": []}", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [], \"x\": 1}", 422, "unknown_field"},
    {"POST", "/v1/embed/batch", JSON, "@json/deep_batch.json", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "gen:too_many_records", 413, "too_many_records"},
    {"POST", "/v1/embed/batch", JSON, "gen:over_limit", 413, "payload_too_large"},
    /* A bad record fails alone: 200, its entry in the error shape. */
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{\"signal\": [[NaN]], \"fs\": 500, \"leads\": [\"II\"]}]}", 400, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{\"signal\": [[1]], \"fs\": 1e400, \"leads\": [\"II\"]}]}", 200, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{\"signal\": [[1]], \"fs\": 500}]}", 200, "missing_field"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{" SIG1 ", \"x\": 1}]}", 200, "unknown_field"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{\"signal\": [[1]], \"fs\": -1, \"leads\": [\"II\"]}]}", 200, "invalid_fs"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{\"signal\": [[1]], \"fs\": 500, \"leads\": [\"../x\"]}]}", 200, "unknown_lead"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [1]}", 200, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [null]}", 200, "invalid_json"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [\"x\"]}", 200, "invalid_json"},
    /* A bad query value fails every record alike (200, each entry invalid_pooling). */
    {"POST", "/v1/embed/batch?pooling=max", JSON, "{\"records\": [{" SIG1 "}]}", 200, "invalid_pooling"},
    {"POST", "/v1/embed/batch?encoding=hex", JSON, "{\"records\": [{" SIG1 "}]}", 200, "invalid_encoding"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{" SIG1 ", \"encoding\": \"hex\"}]}", 200, "invalid_encoding"},
    {"POST", "/v1/embed/batch", JSON, "{\"records\": [{" SIG1 ", \"normalize\": \"no\"}]}", 200, "wrong_type"},

    GROUP("jobs: import, transfer, finetune and study kinds"),
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"/etc\"}}", 403, "path_not_allowed"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"{roots}/../../../etc\"}}", 403, "path_not_allowed"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"{roots}/out\"}}", 403, "path_not_allowed"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"{roots}/missing\"}}", 422, "invalid_path"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"{roots}_sibling\"}}", 403, "path_not_allowed"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"relative/dir\"}}", 422, "invalid_path"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"\"}}", 422, "invalid_path"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": 5}}", 422, "invalid_path"},
    {"POST", "/v1/jobs", JSON, IMP "\"path\": \"/etc\\u0000\"}}", 400, "invalid_json"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"import\", \"params\": {\"dataset\": \"bad_ecg\", \"format\": \"wfdb\"}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"import\", \"params\": {\"dataset\": \"bad_ecg\", \"format\": \"zip\", \"path\": \"/x\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"import\", \"params\": {\"dataset\": \"bad_ecg\", \"format\": 1, \"path\": \"/x\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"import\", \"params\": {\"dataset\": \"bad_task\", \"format\": \"wfdb\", \"path\": \"{roots}/ok\"}}", 422, "invalid_dataset"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"import\", \"params\": {\"dataset\": \"../bad_ecg\", \"format\": \"wfdb\", \"path\": \"{roots}/ok\"}}", 404, "dataset_not_found"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"import\", \"params\": {\"dataset\": \"bad_ecg\", \"format\": \"wfdb\", \"path\": \"/x\", \"y\": 1}}", 422, "unknown_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"bad_task\"}}", 422, "invalid_dataset"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"bad_ecg\"}}", 422, "invalid_dataset"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"nope\"}}", 404, "dataset_not_found"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"../../etc\"}}", 404, "dataset_not_found"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"bad_task\", \"checkpoint\": \"../../etc/passwd\"}}", 404, "checkpoint_not_found"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"bad_task\", \"seed\": -1}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"bad_task\", \"mapping\": []}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"transfer\", \"params\": {\"task\": \"bad_task\", \"save_probe\": 1}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"mode\": \"x\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"lr\": 11}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"lr\": \"x\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"val_fraction\": 0.95}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"epochs\": 0}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"threads\": 99}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"random\": \"yes\"}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\", \"x\": 1}}", 422, "unknown_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"finetune\", \"params\": {\"task\": \"bad_task\"}}", 422, "invalid_dataset"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"study\", \"params\": {}}", 422, "missing_field"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"study\", \"params\": {\"dataset\": \"bad_ecg\", \"tasks\": []}}", 422, "invalid_value"},
    {"POST", "/v1/jobs", JSON, "{\"kind\": \"study\", \"params\": {\"dataset\": \"bad_ecg\", \"tasks\": \"bad_task\"}}", 422, "invalid_value"},

    GROUP("studies"),
    {"POST", "/v1/studies", NULL, "{}", 415, "unsupported_media_type"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": ", 400, "invalid_json"},
    {"POST", "/v1/studies", JSON, "{}", 422, "missing_field"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"x\": 1}", 422, "unknown_field"},
    {"POST", "/v1/studies", JSON, "{\"name\": \"../x\", \"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"]}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"name\": 5, \"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"]}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": 0, \"tasks\": [\"bad_task\"]}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\"}", 422, "missing_field"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": []}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\", \"bad_task\"]}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [null]}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"]}", 422, "missing_field"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"], \"spec\": []}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"], \"spec\": {\"x\": 1}}", 422, "unknown_field"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"], \"spec\": {\"objectives\": []}}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "{\"dataset\": \"bad_ecg\", \"tasks\": [\"bad_task\"], \"spec\": {\"objectives\": [\"nope\"]}}", 422, "invalid_value"},
    {"POST", "/v1/studies", JSON, "gen:over_limit", 413, "payload_too_large"},
    {"GET", "/v1/studies?limit=0", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/studies?limit=x", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/studies?cursor=-1", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/studies/abc", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/0", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/999999", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/%2e%2e", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1%00", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1/files/..", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1/files/%2e%2e", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1/files/..%2f..%2fecgfm.sqlite3", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1/files/ecgfm.sqlite3", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1/files/table.csv%00.png", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/1/files/%2fetc%2fpasswd", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/studies/999999/files/table.csv", NULL, NULL, 404, "not_found"},

    GROUP("checkpoints: list, get, download ranges, upload, default, delete"),
    {"GET", "/v1/checkpoints?objective=simclr", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/checkpoints?objective=", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/checkpoints?limit=0", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/checkpoints?limit=+5", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/checkpoints?cursor=-1", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/checkpoints?cursor=99999999999999999999", NULL, NULL, 422, "invalid_value"},
    {"GET", "/v1/checkpoints/nope", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/999999", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/..", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/%2e%2e", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/default%00", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/%2fetc%2fpasswd", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/..%2f..%2fecgfm.sqlite3/file", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/nope/file", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/checkpoints/%2e%2e/file", NULL, NULL, 404, "not_found"},
    {"GET", CKF, "Range: bytes=abc\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=5-1\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=99999999999-\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=99999999999999999999999-\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=0-99999999999999999999999\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=-99999999999999999999999\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=0-1,4-5\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=-0\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=--1\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=-1-2\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: bytes=1.5-2\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: items=0-1\r\n", NULL, 416, "range_not_satisfiable"},
    {"GET", CKF, "Range: 0-1\r\n", NULL, 416, "range_not_satisfiable"},
    {"POST", "/v1/checkpoints", "Content-Type: image/png\r\n", "@safetensors/bad_json.safetensors", 415, "unsupported_media_type"},
    {"POST", "/v1/checkpoints", JSON, "{\"path\": \"/etc/passwd\"}", 415, "unsupported_media_type"},
    {"POST", "/v1/checkpoints", OCTET, "", 400, "empty_body"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/trunc_len.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/hlen_huge.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/hlen_past_end.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/bad_json.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/offsets_oob.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/dtype_bad.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/shape_mismatch.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", OCTET, "@edf/ok.edf", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", NULL, "mp:safetensors/not_a_model.safetensors", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", NULL, "gen:mp_traversal_name", 422, "invalid_checkpoint"},
    {"POST", "/v1/checkpoints", "Content-Type: multipart/form-data; boundary=zz\r\n", "--zz\r\nbroken", 400, "invalid_multipart"},
    {"POST", "/v1/checkpoints?name=../../etc/x", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=%2e%2e", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=%2fetc%2fpasswd", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=a%00b", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=default", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=123", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name=job-1", OCTET, "@safetensors/not_a_model.safetensors", 422, "invalid_name"},
    {"POST", "/v1/checkpoints?name={ck}", OCTET, "@safetensors/not_a_model.safetensors", 409, "name_taken"},
    {"POST", "/v1/checkpoints", OCTET, "gen:over_upload", 413, "payload_too_large"},
    {"POST", "/v1/checkpoints/nope/default", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/checkpoints/%2e%2e/default", NULL, NULL, 404, "not_found"},
    {"POST", "/v1/checkpoints/999999/default", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/checkpoints/{ck}", NULL, NULL, 409, "is_default"},
    {"DELETE", "/v1/checkpoints/default", NULL, NULL, 409, "is_default"},
    {"DELETE", "/v1/checkpoints/nope", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/checkpoints/..%2fdefault", NULL, NULL, 405, "method_not_allowed"},
    {"PUT", "/v1/checkpoints/{ck}", OCTET, "x", 405, "method_not_allowed"},
    {"POST", EMB "?checkpoint=nope", JSON, "{" SIG1 "}", 404, "checkpoint_not_found"},
    {"POST", EMB "?checkpoint=%2e%2e", JSON, "{" SIG1 "}", 404, "checkpoint_not_found"},

    GROUP("keys and auth"),
    {"POST", "/v1/keys", NULL, "{\"scope\": \"read\"}", 415, "unsupported_media_type"},
    {"POST", "/v1/keys", JSON, "{\"scope\": ", 400, "invalid_json"},
    {"POST", "/v1/keys", JSON, "{}", 422, "missing_field"},
    {"POST", "/v1/keys", JSON, "{\"scope\": 1}", 422, "invalid_scope"},
    {"POST", "/v1/keys", JSON, "{\"scope\": [\"read\"]}", 422, "invalid_scope"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"root\"}", 422, "invalid_scope"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"ADMIN\"}", 422, "invalid_scope"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"read\", \"name\": 5}", 422, "invalid_name"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"read\", \"name\": \"a\\nb\"}", 422, "invalid_name"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"read\", \"name\": \"a\\u0000b\"}", 400, "invalid_json"},
    {"POST", "/v1/keys", JSON, "gen:long_key_name", 422, "invalid_name"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"read\", \"id\": 1}", 422, "unknown_field"},
    {"POST", "/v1/keys", JSON, "{\"scope\": \"read\", \"name\": 1e400}", 400, "invalid_json"},
    {"DELETE", "/v1/keys/abc", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/keys/0", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/keys/-1", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/keys/9223372036854775808", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/keys/..%2f1", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/keys/%2e%2e", NULL, NULL, 404, "not_found"},
    {"DELETE", "/v1/keys/999999", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/jobs", "Authorization: Bearer\r\n", NULL, 401, "missing_api_key"},
    {"GET", "/v1/jobs", "Authorization: Basic YTpi\r\n", NULL, 401, "missing_api_key"},
    {"GET", "/v1/jobs", "Authorization: Bearer ../../etc/passwd\r\n", NULL, 401, "invalid_api_key"},
    {"GET", "/v1/jobs", "Authorization: Bearer efm_%00\r\n", NULL, 401, "invalid_api_key"},
    {"GET", "/v1/jobs", "Authorization: \r\n", NULL, 401, "missing_api_key"},
    {"GET", "/v1/nope/../jobs", NULL, NULL, 404, "not_found"},
    {"GET", "/v1/%2e%2e/healthz", NULL, NULL, 404, "not_found"},
    {"GET", "/../../etc/passwd", NULL, NULL, 404, "not_found"},
};
/* clang-format on */
#define N_CASES (sizeof CASES / sizeof CASES[0])

/* ---- requests ---- */

typedef struct {
    int status; /* -1: no status line (connection closed or timed out) */
    char *raw;  /* malloc'd */
    const char *body;
} answer;

static void answer_free(answer *a) {
    free(a->raw);
    memset(a, 0, sizeof *a);
}

static void buf_add(char **b, size_t *len, size_t *cap, const void *p, size_t n) {
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 4096;
        *b = realloc(*b, *cap);
        assert_non_null(*b);
    }
    memcpy(*b + *len, p, n);
    *len += n;
    (*b)[*len] = 0;
}

/* A corpus or repository file (see bad_case.body). */
static char *load_file(const char *spec, size_t *len) {
    char path[PATH_MAX * 2];
    if (strncmp(spec, "@tmp/", 5) == 0)
        snprintf(path, sizeof path, "%s/%s", tmpdir, spec + 5);
    else if (strncmp(spec, "@@", 2) == 0)
        snprintf(path, sizeof path, "%s/%s", root, spec + 2);
    else
        snprintf(path, sizeof path, "%s/%s", corpus, spec[0] == '@' ? spec + 1 : spec);
    char *d = ts_slurp(path, len);
    if (!d) fail_msg("corpus file missing: %s", path);
    return d;
}

#define BOUNDARY "BaDiNpUt7x"

static char *make_body(const char *spec, size_t *len, int *is_multipart) {
    *is_multipart = 0;
    *len = 0;
    if (!spec) return NULL;
    if (spec[0] == '@') return load_file(spec, len);
    char *b = NULL;
    size_t cap = 0;
    if (strncmp(spec, "mp:", 3) == 0) {
        *is_multipart = 1;
        char list[1024];
        snprintf(list, sizeof list, "%s", spec + 3);
        for (char *f = strtok(list, ","); f; f = strtok(NULL, ",")) {
            size_t fl;
            char *d = load_file(f, &fl);
            const char *base = strrchr(f, '/');
            base = base ? base + 1 : f;
            char head[512];
            int n = snprintf(head, sizeof head,
                             "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                             base);
            buf_add(&b, len, &cap, head, (size_t)n);
            buf_add(&b, len, &cap, d, fl);
            buf_add(&b, len, &cap, "\r\n", 2);
            free(d);
        }
        buf_add(&b, len, &cap, "--" BOUNDARY "--\r\n", strlen("--" BOUNDARY "--\r\n"));
        return b;
    }
    if (strcmp(spec, "gen:over_limit") == 0) {
        *len = MAX_BODY + 1;
        b = malloc(*len + 1);
        assert_non_null(b);
        memset(b, ' ', *len);
        b[0] = '{';
        b[*len] = 0;
        return b;
    }
    if (strcmp(spec, "gen:long_key_name") == 0) {
        b = malloc(5000);
        assert_non_null(b);
        int n = sprintf(b, "{\"scope\": \"read\", \"name\": \"");
        memset(b + n, 'k', 4000);
        n += 4000;
        n += sprintf(b + n, "\"}");
        *len = (size_t)n;
        return b;
    }
    if (strcmp(spec, "gen:over_upload") == 0) {
        *len = MAX_UPLOAD + 1;
        b = malloc(*len + 1);
        assert_non_null(b);
        memset(b, ' ', *len);
        b[0] = '{';
        b[*len] = 0;
        return b;
    }
    if (strcmp(spec, "gen:long_dataset_name") == 0 || strcmp(spec, "gen:long_description") == 0) {
        int desc = strstr(spec, "description") != NULL;
        b = malloc(4096);
        assert_non_null(b);
        int n = sprintf(b, desc ? "{\"name\": \"x2\", \"kind\": \"ecg\", \"description\": \""
                                : "{\"kind\": \"ecg\", \"name\": \"");
        memset(b + n, 'd', desc ? 1025 : 65);
        n += desc ? 1025 : 65;
        n += sprintf(b + n, "\"}");
        *len = (size_t)n;
        return b;
    }
    if (strcmp(spec, "gen:too_many_records") == 0) { /* 5000 tiny records */
        buf_add(&b, len, &cap, "{\"records\": [", 13);
        for (int i = 0; i < 5000; i++)
            buf_add(&b, len, &cap, i ? ",{}" : "{}", i ? 3 : 2);
        buf_add(&b, len, &cap, "]}", 2);
        return b;
    }
    if (strcmp(spec, "gen:mp_traversal_name") ==
        0) { /* a part named ../../etc/passwd.safetensors */
        *is_multipart = 1;
        static const char m[] = "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; "
                                "filename=\"../../etc/passwd.safetensors\"\r\n\r\n"
                                "\x10\0\0\0\0\0\0\0{\"a\": 1}      \r\n--" BOUNDARY "--\r\n";
        buf_add(&b, len, &cap, m, sizeof m - 1);
        return b;
    }
    if (strncmp(spec, "gen:", 4) == 0) fail_msg("unknown generated body %s", spec);
    /* inline text; {roots} stands for the server's import root */
    for (const char *p = spec; *p;) {
        const char *r = strstr(p, "{roots}");
        size_t n = r ? (size_t)(r - p) : strlen(p);
        buf_add(&b, len, &cap, p, n);
        if (!r) break;
        buf_add(&b, len, &cap, roots, strlen(roots));
        p = r + 7;
    }
    if (!b) buf_add(&b, len, &cap, "", 0);
    return b;
}

/* path with {job} replaced by job_id, {ck} by the default checkpoint's name. */
static void expand_path(char *out, size_t cap, const char *path) {
    const char *j = strstr(path, "{job}"), *k = strstr(path, "{ck}");
    if (j)
        snprintf(out, cap, "%.*s%lld%s", (int)(j - path), path, job_id, j + 5);
    else if (k)
        snprintf(out, cap, "%.*s%s%s", (int)(k - path), path, ck_name, k + 4);
    else
        snprintf(out, cap, "%s", path);
}

static void send_case(answer *a, const char *method, const char *path, const char *headers,
                      const char *body_spec) {
    size_t blen;
    int mp;
    char *body = make_body(body_spec, &blen, &mp);
    int chunked = headers && strstr(headers, CHUNKED) != NULL;
    int own_cl = headers && strstr(headers, "Content-Length:") != NULL;
    char p[1024], head[4096];
    expand_path(p, sizeof p, path);
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, p);
    if (!headers || !strstr(headers, "Authorization"))
        n += snprintf(head + n, sizeof head - (size_t)n, "Authorization: Bearer %s\r\n", admin_key);
    if (mp)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n");
    if (headers) n += snprintf(head + n, sizeof head - (size_t)n, "%s", headers);
    if (body && !chunked && !own_cl)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", blen);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    assert_true((size_t)n < sizeof head);
    int fd = ts_connect(port, IO_TIMEOUT_S);
    if (fd < 0) fail_msg("%s %s: cannot connect: %s", method, p, strerror(errno));
    ts_send_all(fd, head, (size_t)n);
    if (body && chunked) {
        for (size_t off = 0; off < blen;) {
            size_t k = blen - off < 65536 ? blen - off : 65536;
            char ch[32];
            int cn = snprintf(ch, sizeof ch, "%zx\r\n", k);
            if (ts_send_all(fd, ch, (size_t)cn) != (size_t)cn) break;
            if (ts_send_all(fd, body + off, k) != k) break;
            if (ts_send_all(fd, "\r\n", 2) != 2) break;
            off += k;
        }
        ts_send_all(fd, "0\r\n\r\n", 5);
    } else if (body) {
        ts_send_all(fd, body, blen); /* the server may answer early and close */
    }
    free(body);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
        if (k <= 0) break;
        len += (size_t)k;
    }
    buf[len] = 0;
    close(fd);
    a->raw = buf;
    a->status = ts_parse_answer(buf, &a->body);
}

/* NULL when the body is the JSON error shape with code `code` (any code when NULL); else why not.
 */
static const char *error_shape(const answer *a, const char *code, char *why, size_t cap) {
    json_t *j = json_loads(a->body, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *c = json_string_value(json_object_get(e, "code"));
    const char *m = json_string_value(json_object_get(e, "message"));
    const char *t = json_string_value(json_object_get(e, "type"));
    const char *res = NULL;
    if (!j || !json_is_object(j))
        res = "body is not a JSON object";
    else if (!c || !m || !*m || !t || !*t)
        res = "body lacks error.code, error.message or error.type";
    else if (code && strcmp(c, code) != 0) {
        snprintf(why, cap, "code %s, want %s", c, code);
        res = why;
    }
    json_decref(j);
    return res;
}

/* A batch answer whose first result is the error shape with code `code` (NULL when it is). */
static const char *item_error_shape(const answer *a, const char *code, char *why, size_t cap) {
    json_t *j = json_loads(a->body, 0, NULL);
    json_t *r0 = json_array_get(json_object_get(j, "results"), 0);
    char *item = r0 ? json_dumps(r0, 0) : NULL;
    json_decref(j);
    if (!item) return "no results[0] in the answer";
    answer inner = {200, item, item};
    const char *res = error_shape(&inner, code, why, cap);
    free(item);
    return res == why ? why : res;
}

static int server_alive(void) {
    int st;
    return waitpid(server_pid, &st, WNOHANG) == 0;
}

/* ---- the server ---- */

static pid_t spawn(const char *log, char *const args[]) {
    static const char *const unset[] = {
        "ECGFM_CONFIG",         "ECGFM_HOST",         "ECGFM_PORT",        "ECGFM_DATA_DIR",
        "ECGFM_MAX_BODY_BYTES", "ECGFM_JOBS_THREADS", "ECGFM_CONFIGS_DIR", NULL};
    return ts_spawn(&(ts_spawn_opts){.bin = bin, .log = log, .cwd = root, .unset = unset}, args);
}

static void run_ok(char *const args[]) {
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/cmd.log", tmpdir);
    int st = ts_wait_exit_or_kill(spawn(log, args), EXIT_TIMEOUT_MS);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("ecgfm %s failed:\n%s", args[0], ts_read_text(log));
}

static answer simple(const char *method, const char *path, const char *headers, const char *body) {
    answer a;
    send_case(&a, method, path, headers, body);
    return a;
}

#define GOOD_EMBED                                                                                 \
    "{\"signal\": [[0.1, 0.4, 0.2, -0.1, 0.0, 0.3, 0.1, 0.2]], \"fs\": 240, "                      \
    "\"leads\": [\"II\"]}"

static json_t *good_embedding(void) {
    answer a = simple("POST", EMB, JSON, GOOD_EMBED);
    if (a.status != 200) fail_msg("the good embed failed:\n%.600s", a.raw);
    json_t *j = json_loads(a.body, 0, NULL);
    answer_free(&a);
    assert_true(json_is_array(json_object_get(j, "embedding")));
    return j;
}

/* The server is up, healthy, and embeds as it did before any bad input. */
static void check_still_fine(const char *after) {
    if (!server_alive()) fail_msg("the server died after %s:\n%s", after, ts_read_text(server_log));
    answer a = simple("GET", "/healthz", NULL, NULL);
    if (a.status != 200) fail_msg("/healthz after %s: %.300s", after, a.raw);
    answer_free(&a);
    json_t *now = good_embedding();
    json_t *x = json_object_get(now, "embedding"), *y = json_object_get(baseline, "embedding");
    assert_int_equal(json_array_size(x), json_array_size(y));
    for (size_t i = 0; i < json_array_size(x); i++) {
        double d =
            fabs(json_number_value(json_array_get(x, i)) - json_number_value(json_array_get(y, i)));
        if (d > 1e-6) fail_msg("embedding changed after %s: [%zu] differs by %g", after, i, d);
    }
    json_decref(now);
}

/* ---- HDF5 uploads, written with libhdf5 into the temp directory (@tmp/h5/NAME.h5) ---- */

typedef enum {
    H5_OK,
    H5_RANK2,
    H5_LEADS11,
    H5_STRINGS,
    H5_IDS_SHORT,
    H5_NO_TRACINGS,
    H5_LONG,
    H5_FILL
} h5_kind;

/* A CODE-15%-layout file (tracings exams x samples x 12, exam_id) broken as kind says. H5_LONG
 * and H5_FILL declare chunked data that is never written: the file stays a few KB. */
static void write_h5(const char *name, h5_kind kind, hsize_t exams, hsize_t samples) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/h5/%s.h5", tmpdir, name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    hsize_t dims[3] = {exams, samples, kind == H5_LEADS11 ? 11 : 12};
    int rank = kind == H5_RANK2 ? 2 : 3;
    if (kind == H5_RANK2) dims[1] *= 12;
    hid_t sp = H5Screate_simple(rank, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t type = kind == H5_STRINGS ? H5Tcopy(H5T_C_S1) : H5Tcopy(H5T_NATIVE_FLOAT);
    if (kind == H5_STRINGS) H5Tset_size(type, 4);
    int unwritten = kind == H5_LONG || kind == H5_FILL;
    if (unwritten) {
        hsize_t chunk[3] = {1, samples < 4096 ? samples : 4096, 12};
        float fill = 0.25f;
        H5Pset_chunk(pl, 3, chunk);
        H5Pset_fill_value(pl, H5T_NATIVE_FLOAT, &fill);
    }
    if (kind != H5_NO_TRACINGS) {
        hid_t d = H5Dcreate2(f, "tracings", type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
        assert_true(d >= 0);
        if (!unwritten && kind != H5_STRINGS) {
            size_t n = (size_t)(dims[0] * dims[1] * (rank == 3 ? dims[2] : 1));
            float *x = calloc(n, sizeof *x);
            assert_non_null(x);
            for (size_t i = 0; i < n; i++)
                x[i] = (float)(0.3 * sin(0.05 * (double)i));
            assert_true(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
            free(x);
        }
        H5Dclose(d);
    }
    H5Tclose(type);
    H5Pclose(pl);
    H5Sclose(sp);
    hsize_t ni = kind == H5_IDS_SHORT ? exams - 1 : exams;
    sp = H5Screate_simple(1, &ni, NULL);
    pl = H5Pcreate(H5P_DATASET_CREATE);
    if (unwritten) {
        hsize_t c1 = ni < 1024 ? ni : 1024;
        H5Pset_chunk(pl, 1, &c1);
    }
    hid_t d = H5Dcreate2(f, "exam_id", H5T_NATIVE_INT64, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    assert_true(d >= 0);
    if (!unwritten) {
        int64_t *ids = calloc((size_t)ni, sizeof *ids);
        assert_non_null(ids);
        for (hsize_t i = 0; i < ni; i++)
            ids[i] = (int64_t)i + 1;
        assert_true(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) >= 0);
        free(ids);
    }
    H5Dclose(d);
    H5Pclose(pl);
    H5Sclose(sp);
    H5Fclose(f);
}

static void make_h5_corpus(void) {
    char dir[PATH_MAX + 8], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/h5", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_h5("ok", H5_OK, 2, 64);
    write_h5("rank2", H5_RANK2, 2, 64);
    write_h5("leads11", H5_LEADS11, 2, 64);
    write_h5("strings", H5_STRINGS, 2, 64);
    write_h5("ids_short", H5_IDS_SHORT, 3, 64);
    write_h5("no_tracings", H5_NO_TRACINGS, 2, 64);
    write_h5("long", H5_LONG, 1, (hsize_t)1 << 23);
    write_h5("fill", H5_FILL, 50, 4096);
    /* the valid file cut in half, and its signature followed by garbage */
    size_t len;
    snprintf(path, sizeof path, "%s/ok.h5", dir);
    char *d = ts_slurp(path, &len);
    assert_non_null(d);
    snprintf(path, sizeof path, "%s/trunc.h5", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(d, 1, len / 2, f);
    fclose(f);
    memset(d + 8, 0x5a, len - 8);
    snprintf(path, sizeof path, "%s/garbage.h5", dir);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(d, 1, len, f);
    fclose(f);
    free(d);
}

static void test_start(void **state) {
    (void)state;
    snprintf(data, sizeof data, "%s/var", tmpdir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* libhdf5's own error stack printing */
    make_h5_corpus();
    snprintf(roots, sizeof roots, "%s/roots", tmpdir);
    char sub[PATH_MAX + 16];
    assert_int_equal(mkdir(roots, 0700), 0);
    snprintf(sub, sizeof sub, "%s/ok", roots);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/out", roots);
    assert_int_equal(symlink("/etc", sub), 0);
    snprintf(sub, sizeof sub, "%s_sibling", roots);
    assert_int_equal(mkdir(sub, 0700), 0);
    char ds[PATH_MAX + 32], model[PATH_MAX + 64], configs[PATH_MAX + 16];
    assert_int_equal(mkdir(data, 0700), 0);
    snprintf(ds, sizeof ds, "%s/datasets", data);
    assert_int_equal(mkdir(ds, 0700), 0);
    snprintf(ds, sizeof ds, "%s/datasets/tiny", data);
    run_ok((char *[]){"synth", "--out", ds, "--n", "40", "--seconds", "5", NULL});
    char keylog[PATH_MAX];
    snprintf(keylog, sizeof keylog, "%s/key.log", tmpdir);
    int st = ts_wait_exit_or_kill(
        spawn(keylog, (char *[]){"keys", "create", "--scope", "admin", "--data-dir", data, NULL}),
        EXIT_TIMEOUT_MS);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const char *k = ts_read_text(keylog);
    snprintf(admin_key, sizeof admin_key, "%.*s", (int)strcspn(k, "\n"), k);
    snprintf(model, sizeof model, "%s/models/small/checkpoint.safetensors", root);
    snprintf(configs, sizeof configs, "%s/configs", root);
    snprintf(server_log, sizeof server_log, "%s/server.log", tmpdir);
    char maxb[32];
    snprintf(maxb, sizeof maxb, "%d", MAX_BODY);
    char maxu[32];
    snprintf(maxu, sizeof maxu, "%d", MAX_UPLOAD);
    server_pid = spawn(server_log, (char *[]){"serve", "--port",
                                              "0",     "--data-dir",
                                              data,    "--model",
                                              model,   "--configs-dir",
                                              configs, "--max-body-bytes",
                                              maxb,    "--max-upload-bytes",
                                              maxu,    "--import-roots",
                                              roots,   "--jobs-threads",
                                              "1",     "--jobs-max-running",
                                              "1",     "--embed-threads",
                                              "1",     "--connection-timeout-s",
                                              "3",     NULL});
    port = ts_wait_listening(server_pid, server_log, START_TIMEOUT_MS);
    for (long long end = ts_now_ms() + START_TIMEOUT_MS;; ts_sleep_ms(50)) {
        answer a = simple("GET", "/readyz", NULL, NULL);
        int ok = a.status == 200;
        answer_free(&a);
        if (ok) break;
        if (ts_now_ms() > end) fail_msg("/readyz never 200:\n%s", ts_read_text(server_log));
    }
    baseline = good_embedding();
    /* The default checkpoint's name, for the cases that aim at it. */
    answer ck = simple("GET", "/v1/checkpoints/default", NULL, NULL);
    json_t *cj = json_loads(ck.body, 0, NULL);
    const char *cn = json_string_value(json_object_get(cj, "name"));
    if (ck.status != 200 || !cn) fail_msg("GET /v1/checkpoints/default: %.600s", ck.raw);
    snprintf(ck_name, sizeof ck_name, "%s", cn);
    json_decref(cj);
    answer_free(&ck);
    /* An ECG and a task dataset for the upload cases to aim at (they must stay empty). */
    const char *mk[] = {"{\"name\": \"bad_ecg\", \"kind\": \"ecg\"}",
                        "{\"name\": \"bad_task\", \"kind\": \"task\"}"};
    for (int i = 0; i < 2; i++) {
        answer d = simple("POST", "/v1/datasets", JSON, mk[i]);
        if (d.status != 201) fail_msg("dataset create: %.600s", d.raw);
        answer_free(&d);
    }
    /* A real job to aim {job} at: queued, cancelled at once, waited for until cancelled. */
    answer a = simple("POST", "/v1/jobs", JSON,
                      PRE ", \"batch\": 8, \"epochs\": 1, "
                          "\"model\": \"small\", \"threads\": 1}}");
    if (a.status != 201) fail_msg("job create: %.600s", a.raw);
    json_t *j = json_loads(a.body, 0, NULL);
    job_id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    answer_free(&a);
    assert_true(job_id > 0);
    char p[64];
    snprintf(p, sizeof p, "/v1/jobs/%lld/cancel", job_id);
    a = simple("POST", p, NULL, NULL);
    answer_free(&a);
    snprintf(p, sizeof p, "/v1/jobs/%lld", job_id);
    for (long long end = ts_now_ms() + 30000;; ts_sleep_ms(100)) {
        a = simple("GET", p, NULL, NULL);
        int done =
            strstr(a.body, "\"state\":\"cancelled\"") || strstr(a.body, "\"state\":\"succeeded\"");
        answer_free(&a);
        if (done) break;
        if (ts_now_ms() > end) fail_msg("job %lld never finished", job_id);
    }
}

/* Every case of the table, group by group, with the still-fine check after each group. */
static void test_corpus(void **state) {
    (void)state;
    int bad = 0;
    const char *group = "start";
    for (size_t i = 0; i < N_CASES; i++) {
        const bad_case *c = &CASES[i];
        if (!c->method) {
            if (i) check_still_fine(group);
            group = c->path;
            continue;
        }
        answer a;
        send_case(&a, c->method, c->path, c->headers, c->body);
        n_cases++;
        if (a.status >= 0 && a.status < 600) status_count[a.status]++;
        char why[160];
        const char *err = NULL;
        if (a.status < 0)
            err = "no answer";
        else if (a.status != c->status)
            err = "status";
        else if (a.status == 200)
            err = item_error_shape(&a, c->code, why, sizeof why);
        else
            err = error_shape(&a, c->code, why, sizeof why);
        if (err) {
            bad++;
            print_error("[%s] %s %s (%s): want %d %s: %s\n%.400s\n", group, c->method, c->path,
                        c->body ? (strlen(c->body) > 60 ? "<body>" : c->body) : "-", c->status,
                        c->code ? c->code : "", err, a.raw);
        }
        if (a.status >= 500 || !server_alive())
            fail_msg("[%s] %s %s: %d, server %s:\n%s", group, c->method, c->path, a.status,
                     server_alive() ? "up" : "DEAD", ts_read_text(server_log));
        answer_free(&a);
    }
    check_still_fine(group);
    /* A 2 KB HDF5 file that declares 50 exams of 4096 samples (chunked, never written, a fill
     * value) is refused: stored as records it would amplify a tiny upload without bound. */
    {
        answer d =
            simple("POST", "/v1/datasets", JSON, "{\"name\": \"fill_bomb\", \"kind\": \"ecg\"}");
        answer_free(&d);
        d = simple("POST", "/v1/datasets/fill_bomb/records", H5, "@tmp/h5/fill.h5");
        if (d.status != 422) fail_msg("fill-value HDF5 upload: want 422, got %.600s", d.raw);
        if (strstr(d.raw, ".upload-"))
            fail_msg("an error names the server's temp file: %.600s", d.raw);
        answer_free(&d);
        check_still_fine("the fill-value HDF5 upload");
    }
    /* No bad upload stored anything: both datasets are as created. */
    answer d = simple("GET", "/v1/datasets/bad_ecg", NULL, NULL);
    if (d.status != 200 || !strstr(d.body, "\"n_records\":0,"))
        fail_msg("bad_ecg changed:\n%.600s", d.raw);
    answer_free(&d);
    d = simple("GET", "/v1/datasets/bad_task", NULL, NULL);
    if (d.status != 200 || strstr(d.body, "\"splits\"") || !strstr(d.body, "\"n_records\":0,"))
        fail_msg("bad_task changed:\n%.600s", d.raw);
    answer_free(&d);
    /* ... and no bad upload became a checkpoint: the default is the only one. */
    d = simple("GET", "/v1/checkpoints", NULL, NULL);
    json_t *cl = json_loads(d.body, 0, NULL);
    if (d.status != 200 || json_array_size(json_object_get(cl, "checkpoints")) != 1)
        fail_msg("checkpoints changed:\n%.600s", d.raw);
    json_decref(cl);
    answer_free(&d);
    print_message("%d bad-input cases:", n_cases);
    for (int s = 0; s < 600; s++)
        if (status_count[s]) print_message(" %d x%d", s, status_count[s]);
    print_message("\n");
    if (bad) fail_msg("%d of %d cases not answered as the table says", bad, n_cases);
}

/* ---- protocol errors over raw sockets ---- */

/* What answers a raw request: our JSON error shape, libmicrohttpd's own HTML page (no hook in
 * 0.9.75; README documents each), or a closed connection without any answer. */
typedef enum { ANS_JSON, ANS_MHD_HTML, ANS_CLOSED } answer_kind;

typedef struct {
    const char *what;
    const char *head; /* sent as is; "{big_header}", "{big_uri}" are expanded in code */
    int status;       /* 0: closed without an answer */
    answer_kind kind;
    const char *code; /* error.code of a JSON answer */
} raw_case;

#define HOST "Host: 127.0.0.1\r\nConnection: close\r\n"

/* clang-format off */
static const raw_case RAW[] = {
    {"no spaces in the request line", "GARBAGE\r\n\r\n", 0, ANS_CLOSED, NULL},
    {"request line without a version", "GET /healthz\r\n\r\n", 400, ANS_MHD_HTML, NULL},
    {"version not HTTP", "GET /healthz FOO/1.1\r\n" HOST "\r\n", 400, ANS_MHD_HTML, NULL},
    {"HTTP/2.0 in text", "GET /healthz HTTP/2.0\r\n" HOST "\r\n", 505, ANS_MHD_HTML, NULL},
    {"HTTP/0.9", "GET /healthz HTTP/0.9\r\n" HOST "\r\n", 505, ANS_MHD_HTML, NULL},
    {"space inside the URL (taken as part of the path)", "GET /no such HTTP/1.1\r\n" HOST "\r\n", 404, ANS_JSON, "not_found"},
    {"header line without a colon", "GET /healthz HTTP/1.1\r\n" HOST "Broken\r\n\r\n", 400, ANS_MHD_HTML, NULL},
    {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400, ANS_JSON, "missing_host"},
    {"HTTP/1.0 without Host (allowed)", "GET /nope HTTP/1.0\r\n\r\n", 404, ANS_JSON, "not_found"},
    {"headers past the connection buffer", "{big_header}", 431, ANS_MHD_HTML, NULL},
    {"URI past the connection buffer", "{big_uri}", 414, ANS_MHD_HTML, NULL},
    {"Content-Length not a number", "POST /v1/embed HTTP/1.1\r\n" HOST "Content-Length: abc\r\n\r\n", 400, ANS_MHD_HTML, NULL},
    {"Content-Length negative", "POST /v1/embed HTTP/1.1\r\n" HOST "Content-Length: -5\r\n\r\n", 400, ANS_MHD_HTML, NULL},
    {"Content-Length past 2^64", "POST /v1/embed HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999999\r\n\r\n", 413, ANS_MHD_HTML, NULL},
    {"chunk size not hex", "POST /v1/embed HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n", 400, ANS_MHD_HTML, NULL},
    {"chunk longer than its size", "POST /v1/embed HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n5\r\nabcdefgh\r\n0\r\n\r\n", 400, ANS_MHD_HTML, NULL},
    {"Transfer-Encoding gzip", "POST /v1/embed HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\nabc", 400, ANS_JSON, "unsupported_transfer_encoding"},
    {"Transfer-Encoding gzip, chunked", "POST /v1/embed HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400, ANS_JSON, "unsupported_transfer_encoding"},
    {"NUL byte in the path (cut there by MHD)", "GET /heal\0thz HTTP/1.1\r\n" HOST "\r\n", 404, ANS_JSON, "not_found"},
    {"%00 in the path", "GET /v1/jobs/1%00 HTTP/1.1\r\n" HOST "\r\n", 401, ANS_JSON, "missing_api_key"},
    {"unknown method", "BREW /healthz HTTP/1.1\r\n" HOST "\r\n", 405, ANS_JSON, "method_not_allowed"},
    {"absolute-form URI", "GET http://127.0.0.1/healthz HTTP/1.1\r\n" HOST "\r\n", 404, ANS_JSON, "not_found"},
    {"asterisk-form URI", "OPTIONS * HTTP/1.1\r\n" HOST "\r\n", 404, ANS_JSON, "not_found"},
    {"Expect: 100-continue past the limit", "POST /v1/embed HTTP/1.1\r\n" HOST "Expect: 100-continue\r\nContent-Length: 99999999\r\n\r\n", 413, ANS_JSON, "payload_too_large"},
    {"body shorter than Content-Length (idle timeout)", "POST /v1/embed HTTP/1.1\r\n" HOST "Content-Length: 100\r\n\r\n{\"sig", 0, ANS_CLOSED, NULL},
    {"headers never finished (idle timeout)", "GET /healthz HTTP/1.1\r\nHost: x\r\n", 0, ANS_CLOSED, NULL},
};
/* clang-format on */
#define N_RAW (sizeof RAW / sizeof RAW[0])

static void test_protocol(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < N_RAW; i++) {
        const raw_case *c = &RAW[i];
        char *req;
        size_t len;
        if (strcmp(c->head, "{big_header}") == 0 || strcmp(c->head, "{big_uri}") == 0) {
            int uri = c->head[5] == 'u';
            req = malloc(200000);
            assert_non_null(req);
            len =
                (size_t)sprintf(req, "GET /healthz%s", uri ? "?" : " HTTP/1.1\r\n" HOST "X-Big: ");
            memset(req + len, 'a', 100000);
            len += 100000;
            len += (size_t)sprintf(req + len, "%s", uri ? " HTTP/1.1\r\n" HOST "\r\n" : "\r\n\r\n");
        } else {
            /* the NUL case: its length runs to the end of the literal, past the NUL */
            const char *end = c->head + strlen(c->head);
            if (strstr(c->what, "NUL byte")) end = strstr(end + 1, "\r\n\r\n") + 4;
            len = (size_t)(end - c->head);
            req = malloc(len);
            assert_non_null(req);
            memcpy(req, c->head, len);
        }
        int fd = ts_connect(port, IO_TIMEOUT_S);
        if (fd < 0) fail_msg("%s: cannot connect", c->what);
        ts_send_all(fd, req, len);
        free(req);
        static char raw[1 << 16];
        ts_recv_all(fd, raw, sizeof raw);
        close(fd);
        const char *body;
        int status = ts_parse_answer(raw, &body);
        answer_kind kind = status < 0                            ? ANS_CLOSED
                           : strncmp(body, "{\"error\"", 8) == 0 ? ANS_JSON
                                                                 : ANS_MHD_HTML;
        static const char *const kinds[] = {"our JSON", "MHD's HTML", "closed, no answer"};
        print_message("protocol: %-48s -> %3d %s\n", c->what, status < 0 ? 0 : status, kinds[kind]);
        int ok = (status < 0 ? 0 : status) == c->status && kind == c->kind;
        if (ok && kind == ANS_JSON) {
            answer a = {status, raw, body};
            char why[160];
            if (error_shape(&a, c->code, why, sizeof why)) ok = 0;
        }
        if (!ok) {
            bad++;
            print_error("protocol: %s: want %d (%s), got:\n%.400s\n", c->what, c->status,
                        kinds[c->kind], raw);
        }
        if (!server_alive())
            fail_msg("the server died after: %s\n%s", c->what, ts_read_text(server_log));
    }
    /* A chunked body far past the limit (more than the 1 MiB drain allowance): the connection is
     * closed without an answer, and nothing else happens. */
    {
        int fd = ts_connect(port, IO_TIMEOUT_S);
        assert_true(fd >= 0);
        char head[512];
        int n = snprintf(head, sizeof head,
                         "POST /v1/embed HTTP/1.1\r\n" HOST "Authorization: Bearer %s\r\n" JSON
                         "Transfer-Encoding: chunked\r\n\r\n",
                         admin_key);
        ts_send_all(fd, head, (size_t)n);
        static char chunk[65536 + 16];
        int cn = sprintf(chunk, "10000\r\n");
        memset(chunk + cn, ' ', 65536);
        memcpy(chunk + cn + 65536, "\r\n", 2);
        size_t sent = 0;
        for (int i = 0; i < 64; i++) /* 4 MiB */
            sent += ts_send_all(fd, chunk, (size_t)cn + 65538);
        static char raw[1 << 16];
        ts_recv_all(fd, raw, sizeof raw);
        close(fd);
        print_message("protocol: %-48s -> %s after %zu bytes\n",
                      "chunked body 4 MiB past the limit", raw[0] ? raw : "closed, no answer",
                      sent);
        if (raw[0] && strncmp(raw, "HTTP/1.1 413", 12) != 0)
            fail_msg("chunked body past the limit:\n%s", raw);
        if (!server_alive()) fail_msg("the server died after a huge chunked body");
    }
    check_still_fine("the protocol errors");
    /* Two requests in one write (pipelined, keep-alive): both answered, in order. */
    int fd = ts_connect(port, IO_TIMEOUT_S);
    assert_true(fd >= 0);
    const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ts_send_all(fd, two, strlen(two));
    static char raw[1 << 16];
    ts_recv_all(fd, raw, sizeof raw);
    close(fd);
    const char *second = strstr(raw + 1, "HTTP/1.1 ");
    if (strncmp(raw, "HTTP/1.1 200", 12) != 0 || !second || strncmp(second, "HTTP/1.1 404", 12))
        fail_msg("pipelined requests:\n%s", raw);
    if (bad) fail_msg("%d of %zu protocol cases not answered as the table says", bad, N_RAW);
}

static void test_stop(void **state) {
    (void)state;
    ts_stop(server_pid, SIGTERM, EXIT_TIMEOUT_MS, server_log);
}

static int find_paths(void) {
    if (ts_find_bin(bin, sizeof bin, "test_api_badinput") != 0) return -1;
    char bdir[PATH_MAX];
    if (!realpath(bin, bdir)) return -1;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(bdir, '/');
        if (!slash) return -1;
        *slash = 0;
    }
    snprintf(root, sizeof root, "%s", bdir);
    snprintf(corpus, sizeof corpus, "%s/tests/api/corpus", root);
    return access(corpus, R_OK) == 0 ? 0 : -1;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (find_paths() != 0) {
        fprintf(stderr, "test_api_badinput: needs build/ecgfm and tests/api/corpus\n");
        return 1;
    }
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_protocol),
        cmocka_unit_test_teardown(test_stop, ts_kill_children),
    };
    int failed = cmocka_run_group_tests(tests, NULL, ts_kill_children);
    json_decref(baseline);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return failed;
}
