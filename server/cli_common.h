/* cli_common.h — pieces the task commands (`ecgfm transfer`, `ecgfm finetune`) share: option
 * values (--name V or --name=V), unsigned integers, and reading task splits by file ending. */
#ifndef ECGFM_SERVER_CLI_COMMON_H
#define ECGFM_SERVER_CLI_COMMON_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/data/taskfmt.h"

/* The value of option `name` at argv[*i] (`name V`, advancing *i, or `name=V`); NULL when argv[*i]
 * is another option. Sets *bad when `name` is the last argument and has no value. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *name, int *bad);

/* Decimal unsigned integer, the whole string; 0 on NULL, a sign, junk or overflow. */
int cli_parse_u64(const char *s, uint64_t *out);

/* A task split from a .ts (sktime), .arff, or else UCR .tsv/.txt file. */
ecg_code cli_read_task(const char *path, task_split *t, ecg_err *err);

/* The train split and, when test_path is not NULL, the test split with its class indices aligned
 * to train's. On failure both splits are freed and err says why. */
ecg_code cli_read_splits(const char *train_path, const char *test_path, task_split *train,
                         task_split *test, ecg_err *err);

#endif
