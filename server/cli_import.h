/* cli_import.h — the `ecgfm import` command: WFDB and EDF trees and CODE-15% HDF5 files appended
 * into a store dataset (core/data/store.h), with progress on stderr and a skip summary. */
#ifndef ECGFM_SERVER_CLI_IMPORT_H
#define ECGFM_SERVER_CLI_IMPORT_H

#include <stdio.h>

/* argv[0] is the first option. Exit statuses: 0 ok, 1 runtime failure, 2 usage error. */
int cli_import(int argc, char **argv);
void cli_import_usage(FILE *out);

#endif
