/* cli_embed.h — `ecgfm embed`: the embedding of ECG files from the command line, with the same
 * preprocessing and JSON as POST /v1/embed. */
#ifndef ECGFM_SERVER_CLI_EMBED_H
#define ECGFM_SERVER_CLI_EMBED_H

#include <stdio.h>

#define CLI_EMBED_DEFAULT_MODEL "models/small/checkpoint.safetensors"

int cli_embed(int argc, char **argv);
void cli_embed_usage(FILE *out);

#endif
