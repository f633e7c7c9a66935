/* cli_finetune.h — the `ecgfm finetune` command: fine-tune a checkpoint (or a random-init encoder,
 * the from-scratch baseline) on a UCR/UEA task's train split and score it on the test split. */
#ifndef ECGFM_SERVER_CLI_FINETUNE_H
#define ECGFM_SERVER_CLI_FINETUNE_H

#include <stdio.h>

/* argv[0] is the first option. Exit statuses: 0 ok, 1 runtime failure, 2 usage error. */
int cli_finetune(int argc, char **argv);
void cli_finetune_usage(FILE *out);

#endif
