/* routes.c — the route table (see routes.h). Handlers here only gather server state (clock, data
 * directory) and call api/ to turn it into JSON; /v1 resources join this table with their issues.
 */
#include "server/routes.h"

#include <string.h>
#include <time.h>

#include "api/health.h"
#include "server/datadir.h"

typedef void (*route_fn)(const routes_ctx *ctx, api_response *res);

typedef struct {
    const char *method; /* GET routes also answer HEAD (MHD sends no body for HEAD) */
    const char *path;
    route_fn fn;
} route;

double routes_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static health_state health_gather(const routes_ctx *ctx, char *why, size_t why_size) {
    health_state s = {0};
    s.version = ctx->version;
    s.uptime_s = routes_now_s() - ctx->started_s;
    s.data_dir = ctx->data_dir;
    s.data_dir_ok = datadir_check(ctx->data_dir, why, why_size);
    s.data_dir_error = s.data_dir_ok ? NULL : why;
    return s;
}

static void route_healthz(const routes_ctx *ctx, api_response *res) {
    health_state s = {0};
    s.version = ctx->version;
    s.uptime_s = routes_now_s() - ctx->started_s;
    health_get_healthz(&s, res);
}

static void route_readyz(const routes_ctx *ctx, api_response *res) {
    char why[256];
    health_state s = health_gather(ctx, why, sizeof why);
    health_get_readyz(&s, res);
}

static const route ROUTES[] = {
    {"GET", "/healthz", route_healthz},
    {"GET", "/readyz", route_readyz},
};
#define N_ROUTES (sizeof ROUTES / sizeof ROUTES[0])

void routes_dispatch(const routes_ctx *ctx, const char *method, const char *path,
                     api_response *res) {
    int path_known = 0;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(ROUTES[i].path, path) != 0) continue;
        path_known = 1;
        int get_like = strcmp(ROUTES[i].method, "GET") == 0 && strcmp(method, "HEAD") == 0;
        if (strcmp(ROUTES[i].method, method) == 0 || get_like) {
            ROUTES[i].fn(ctx, res);
            return;
        }
    }
    if (path_known) {
        /* Every route is GET today; when other methods arrive, build Allow from the table. */
        api_response_error(res, 405, "method_not_allowed", "%s is not allowed on %s (allowed: GET)",
                           method, path);
        if (res->status == 405) res->allow = "GET, HEAD";
        return;
    }
    api_response_error(res, 404, "not_found", "no resource at %s", path);
}
