/* serve.h — `ecgfm serve`: open the socket, start HTTP, run the libuv loop until SIGINT or SIGTERM,
 * then shut down cleanly. Returns instead of exiting; main turns the result into a status. */
#ifndef ECGFM_SERVER_SERVE_H
#define ECGFM_SERVER_SERVE_H

#include "core/base/error.h"
#include "server/config.h"

/* ECG_OK after a signal-driven clean shutdown; otherwise why the service could not start. */
ecg_code serve_run(const server_config *cfg, ecg_err *err);

#endif
