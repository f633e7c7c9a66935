/* cli_transfer.h — the `ecgfm transfer` command: zero-shot transfer of a checkpoint to a UCR/UEA
 * task (train and test files), with the random-init and raw 1-NN baselines, as text or JSON. */
#ifndef ECGFM_SERVER_CLI_TRANSFER_H
#define ECGFM_SERVER_CLI_TRANSFER_H

#include <stdio.h>

/* argv[0] is the first option. Exit statuses: 0 ok, 1 runtime failure, 2 usage error. */
int cli_transfer(int argc, char **argv);
void cli_transfer_usage(FILE *out);

#endif
