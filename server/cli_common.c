/* cli_common.c — option values, unsigned integers and task reading shared by `ecgfm transfer` and
 * `ecgfm finetune`, so both commands accept and read the same things the same way. */
#include "server/cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/data/arff.h"
#include "core/data/sktime_ts.h"
#include "core/data/ucr.h"

const char *cli_opt_value(int argc, char **argv, int *i, const char *name, int *bad) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != 0) return NULL;
    if (*i + 1 >= argc) {
        *bad = 1;
        return NULL;
    }
    return argv[++*i];
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

ecg_code cli_read_task(const char *path, task_split *t, ecg_err *err) {
    if (ends_with(path, ".ts")) return ts_read_file(t, path, NULL, err);
    if (ends_with(path, ".arff")) return arff_read_file(t, path, NULL, err);
    return ucr_read_file(t, path, NULL, err);
}

ecg_code cli_read_splits(const char *train_path, const char *test_path, task_split *train,
                         task_split *test, ecg_err *err) {
    ecg_code rc = cli_read_task(train_path, train, err);
    if (!rc && test_path) {
        rc = cli_read_task(test_path, test, err);
        if (!rc) rc = task_split_align_classes(test, train, err);
    }
    if (rc) {
        task_split_free(train);
        task_split_free(test);
    }
    return rc;
}

int cli_parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (!s || s[0] == '-') return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return 0;
    *out = v;
    return 1;
}
