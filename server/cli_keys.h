/* cli_keys.h — `ecgfm keys create|list|revoke|ensure-admin` and `ecgfm migrate`: API keys and the
 * schema managed from the command line, on the same database the service uses. */
#ifndef ECGFM_SERVER_CLI_KEYS_H
#define ECGFM_SERVER_CLI_KEYS_H

#include <stdio.h>

/* argv[0] is the first word after the command. Exit statuses: 0 ok, 1 failure, 2 usage. */
int cli_keys(int argc, char **argv);
int cli_migrate(int argc, char **argv);
void cli_keys_usage(FILE *out);

#endif
