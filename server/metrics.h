/* metrics.h — process-wide Prometheus metrics: counters, gauges and histograms with fixed label
 * names, updated from any thread, rendered as the text exposition format for GET /metrics. */
#ifndef ECGFM_SERVER_METRICS_H
#define ECGFM_SERVER_METRICS_H

#include <stddef.h>

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MAX_LABELS 4
/* Distinct label-value combinations kept per family; later ones are dropped (and counted in
 * ecgfm_metrics_series_dropped_total), so a bug cannot grow memory without bound. */
#define METRICS_MAX_SERIES 512

typedef enum { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM } metrics_kind;
typedef struct metrics_family metrics_family;

/* Register a family, or find it again by name (same kind and labels required). labels: label
 * names, NULL-terminated, at most METRICS_MAX_LABELS (NULL for none). Histograms take ascending
 * bucket upper bounds (+Inf is implied); NULL buckets mean the default latency buckets (1 ms to
 * 10 s). name, help and labels must be string literals or otherwise outlive the process. NULL on
 * bad arguments or when out of memory; every update below accepts NULL and then does nothing. */
metrics_family *metrics_register(metrics_kind kind, const char *name, const char *help,
                                 const char *const *labels, const double *buckets, int n_buckets);
/* values: one per label name, in order (NULL when the family has no labels). */
void metrics_counter_add(metrics_family *f, const char *const *values, double v);
void metrics_gauge_set(metrics_family *f, const char *const *values, double v);
void metrics_histogram_observe(metrics_family *f, const char *const *values, double v);

/* One HTTP request, as the server records it: by route pattern, method and status. */
void metrics_observe_request(const char *route, const char *method, int status, double seconds);

/* Every family in the text exposition format (version 0.0.4), malloc'd; *len its length. NULL when
 * out of memory. */
char *metrics_render(size_t *len);

#endif
