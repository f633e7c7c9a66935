/* version.h — the one place the ecgfm version string lives; printed by `ecgfm version`, served by
 * /healthz, and bumped by hand on release. */
#ifndef ECGFM_SERVER_VERSION_H
#define ECGFM_SERVER_VERSION_H

#define ECGFM_VERSION "0.1.0-dev"

#endif
