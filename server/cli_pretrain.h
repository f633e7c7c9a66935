/* cli_pretrain.h — the `ecgfm pretrain` and `ecgfm synth` commands: a pretraining run from a config
 * file with a progress bar on stderr, and a synthetic ECG dataset written into the store. */
#ifndef ECGFM_SERVER_CLI_PRETRAIN_H
#define ECGFM_SERVER_CLI_PRETRAIN_H

#include <stdio.h>

/* argv[0] is the first option (the command name is not included). Return exit statuses: 0 ok,
 * 1 runtime failure or cancelled, 2 usage or config error. */
int cli_pretrain(int argc, char **argv);
int cli_synth(int argc, char **argv);
void cli_pretrain_usage(FILE *out);

#endif
