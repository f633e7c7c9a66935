/* listen.h — open the listening TCP socket ourselves (not through libmicrohttpd) so that bind
 * errors come back with their real reason and port 0 reports the port the kernel chose. */
#ifndef ECGFM_SERVER_LISTEN_H
#define ECGFM_SERVER_LISTEN_H

#include <stddef.h>

#include "core/base/error.h"

typedef struct {
    int fd;              /* non-blocking, close-on-exec, listening */
    int port;            /* the bound port */
    int loopback;        /* bound to 127.0.0.0/8 or ::1 only */
    char url[128];       /* http://ADDR:PORT, IPv6 addresses in brackets */
    char local_url[128]; /* the same with a wildcard address (0.0.0.0, ::) replaced by loopback */
} listen_socket;

/* Resolve host (numeric address or name; the first address that binds wins), bind port, listen. */
ecg_code listen_open(listen_socket *ls, const char *host, int port, int backlog, ecg_err *err);

#endif
