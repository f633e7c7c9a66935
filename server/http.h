/* http.h — libmicrohttpd in "external epoll" mode: MHD parses HTTP and enforces limits, the
 * caller's event loop (libuv, see serve.c) watches one file descriptor and calls http_run when it
 * is ready. */
#ifndef ECGFM_SERVER_HTTP_H
#define ECGFM_SERVER_HTTP_H

#include "core/base/error.h"
#include "server/config.h"
#include "server/routes.h"

typedef struct http_server http_server;

/* Serve on listen_fd (ownership passes to the daemon, also on failure) with the limits in cfg,
 * answering through routes (which must outlive the server). */
ecg_code http_start(http_server **out, const server_config *cfg, int listen_fd,
                    const routes_ctx *routes, ecg_err *err);
/* The descriptor to poll for readability; when it is readable, call http_run. */
int http_poll_fd(const http_server *h);
/* Accept, read, answer and time out whatever is pending. Returns the milliseconds after which
 * http_run must be called again even without activity, or -1 when there is no such deadline. */
long long http_run(http_server *h);
/* Loop thread only: the answer to a request a handler deferred (routes_request.defer_fn); takes
 * res's body and resumes the suspended connection. */
void http_finish_deferred(void *handle, api_response *res);
/* What the loop calls so that MHD runs again soon (after a deferred answer resumed a connection). */
void http_set_wake(http_server *h, void (*wake)(void *ctx), void *ctx);
/* Close every connection and the listening socket; frees h. */
void http_stop(http_server *h);

#endif
