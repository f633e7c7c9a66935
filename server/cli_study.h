/* cli_study.h — the `ecgfm study` command: run a scaling study from a JSON config into a directory
 * (resumable) and write its table (CSV, JSON), fits (JSON), plots (SVG) and a README summary. */
#ifndef ECGFM_SERVER_CLI_STUDY_H
#define ECGFM_SERVER_CLI_STUDY_H

#include <stdio.h>

/* argv[0] is the first option. Exit statuses: 0 ok, 1 runtime failure, 2 usage error. */
int cli_study(int argc, char **argv);
void cli_study_usage(FILE *out);

#endif
