/* metrics.c — the metrics registry (see metrics.h). One mutex guards everything: updates are a
 * lookup among a family's few series and an add, far cheaper than the work they measure. */
#include "server/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 64
#define MAX_BUCKETS 24
#define LABEL_MAX 96

typedef struct {
    char values[METRICS_MAX_LABELS][LABEL_MAX];
    double value;             /* counter, gauge; histogram sum */
    unsigned long long count; /* histogram */
    unsigned long long buckets[MAX_BUCKETS];
} series;

struct metrics_family {
    metrics_kind kind;
    const char *name, *help;
    const char *labels[METRICS_MAX_LABELS];
    int n_labels;
    double bounds[MAX_BUCKETS];
    int n_bounds;
    series *series;
    int n_series, cap_series;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static metrics_family families[MAX_FAMILIES];
static int n_families;
static unsigned long long dropped;

static const double DEFAULT_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10};

metrics_family *metrics_register(metrics_kind kind, const char *name, const char *help,
                                 const char *const *labels, const double *buckets, int n_buckets) {
    if (!name || !help) return NULL;
    int n_labels = 0;
    while (labels && labels[n_labels])
        n_labels++;
    if (n_labels > METRICS_MAX_LABELS) return NULL;
    if (kind == METRICS_HISTOGRAM && !buckets) {
        buckets = DEFAULT_BUCKETS;
        n_buckets = (int)(sizeof DEFAULT_BUCKETS / sizeof DEFAULT_BUCKETS[0]);
    }
    if (kind != METRICS_HISTOGRAM) n_buckets = 0;
    if (n_buckets < 0 || n_buckets > MAX_BUCKETS) return NULL;
    for (int i = 1; i < n_buckets; i++)
        if (!(buckets[i] > buckets[i - 1])) return NULL;
    metrics_family *f = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_families; i++) {
        if (strcmp(families[i].name, name) == 0) {
            f = &families[i];
            int same = f->kind == kind && f->n_labels == n_labels;
            for (int j = 0; same && j < n_labels; j++)
                same = strcmp(f->labels[j], labels[j]) == 0;
            if (!same) f = NULL;
            pthread_mutex_unlock(&mu);
            return f;
        }
    }
    if (n_families < MAX_FAMILIES) {
        f = &families[n_families++];
        memset(f, 0, sizeof *f);
        f->kind = kind;
        f->name = name;
        f->help = help;
        f->n_labels = n_labels;
        for (int j = 0; j < n_labels; j++)
            f->labels[j] = labels[j];
        f->n_bounds = n_buckets;
        for (int j = 0; j < n_buckets; j++)
            f->bounds[j] = buckets[j];
    }
    pthread_mutex_unlock(&mu);
    return f;
}

/* The series for values, created if new; NULL when the family is full or memory is out. Called
 * with mu held. */
static series *find_series(metrics_family *f, const char *const *values) {
    for (int i = 0; i < f->n_series; i++) {
        int same = 1;
        for (int j = 0; same && j < f->n_labels; j++)
            same = strncmp(f->series[i].values[j], values[j] ? values[j] : "", LABEL_MAX - 1) == 0;
        if (same) return &f->series[i];
    }
    if (f->n_series == METRICS_MAX_SERIES) {
        dropped++;
        return NULL;
    }
    if (f->n_series == f->cap_series) {
        int cap = f->cap_series ? 2 * f->cap_series : 8;
        series *m = realloc(f->series, (size_t)cap * sizeof *m);
        if (!m) return NULL;
        f->series = m;
        f->cap_series = cap;
    }
    series *s = &f->series[f->n_series++];
    memset(s, 0, sizeof *s);
    for (int j = 0; j < f->n_labels; j++)
        snprintf(s->values[j], LABEL_MAX, "%s", values[j] ? values[j] : "");
    return s;
}

static void update(metrics_family *f, metrics_kind kind, const char *const *values, double v) {
    if (!f || f->kind != kind || (f->n_labels && !values)) return;
    if (kind == METRICS_COUNTER && !(v >= 0)) return; /* counters only go up */
    pthread_mutex_lock(&mu);
    series *s = find_series(f, values);
    if (s) {
        if (kind == METRICS_COUNTER)
            s->value += v;
        else if (kind == METRICS_GAUGE)
            s->value = v;
        else {
            s->value += v;
            s->count++;
            for (int b = 0; b < f->n_bounds; b++)
                if (v <= f->bounds[b]) s->buckets[b]++;
        }
    }
    pthread_mutex_unlock(&mu);
}

void metrics_counter_add(metrics_family *f, const char *const *values, double v) {
    update(f, METRICS_COUNTER, values, v);
}
void metrics_gauge_set(metrics_family *f, const char *const *values, double v) {
    update(f, METRICS_GAUGE, values, v);
}
void metrics_histogram_observe(metrics_family *f, const char *const *values, double v) {
    update(f, METRICS_HISTOGRAM, values, v);
}

static const char *method_label(const char *m) {
    static const char *const KNOWN[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (m && strcmp(m, KNOWN[i]) == 0) return KNOWN[i];
    return "other"; /* the method is client input: keep the label set bounded */
}

static metrics_family *http_count, *http_latency;
static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void register_http(void) {
    static const char *const LABELS[] = {"route", "method", "status", NULL};
    http_count = metrics_register(METRICS_COUNTER, "ecgfm_http_requests_total",
                                  "HTTP requests answered, by route pattern, method and status",
                                  LABELS, NULL, 0);
    http_latency = metrics_register(
        METRICS_HISTOGRAM, "ecgfm_http_request_duration_seconds",
        "Time from the request's headers to its answer being queued, by route, method and status",
        LABELS, NULL, 0);
}

void metrics_observe_request(const char *route, const char *method, int status, double seconds) {
    pthread_once(&http_once, register_http);
    metrics_family *count = http_count, *lat = http_latency;
    char st[8];
    snprintf(st, sizeof st, "%d", status);
    const char *values[] = {route ? route : "unmatched", method_label(method), st};
    metrics_counter_add(count, values, 1);
    metrics_histogram_observe(lat, values, seconds);
}

/* A growing text buffer; on allocation failure it stops growing and remembers that. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = 2 * b->cap + (size_t)n + 1;
        char *m = realloc(b->p, cap);
        if (!m) {
            b->oom = 1;
            return;
        }
        b->p = m;
        b->cap = cap;
    }
}

/* Label values escaped as the exposition format asks: backslash, quote and newline. */
static void sb_label_value(sbuf *b, const char *v) {
    for (; *v; v++) {
        if (*v == '\\')
            sb_printf(b, "\\\\");
        else if (*v == '"')
            sb_printf(b, "\\\"");
        else if (*v == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *v);
    }
}

static void sb_labels(sbuf *b, const metrics_family *f, const series *s, const char *le) {
    if (!f->n_labels && !le) return;
    sb_printf(b, "{");
    for (int j = 0; j < f->n_labels; j++) {
        sb_printf(b, "%s%s=\"", j ? "," : "", f->labels[j]);
        sb_label_value(b, s->values[j]);
        sb_printf(b, "\"");
    }
    if (le) sb_printf(b, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    sb_printf(b, "}");
}

static void sb_number(sbuf *b, double v) {
    if (isnan(v))
        sb_printf(b, "NaN");
    else if (isinf(v))
        sb_printf(b, v > 0 ? "+Inf" : "-Inf");
    else
        sb_printf(b, "%.17g", v);
}

char *metrics_render(size_t *len) {
    sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.p) return NULL;
    b.p[0] = '\0';
    static const char *const KIND[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&mu);
    for (int i = 0; i < n_families; i++) {
        const metrics_family *f = &families[i];
        sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, KIND[f->kind]);
        for (int k = 0; k < f->n_series; k++) {
            const series *s = &f->series[k];
            if (f->kind != METRICS_HISTOGRAM) {
                sb_printf(&b, "%s", f->name);
                sb_labels(&b, f, s, NULL);
                sb_printf(&b, " ");
                sb_number(&b, s->value);
                sb_printf(&b, "\n");
                continue;
            }
            for (int q = 0; q <= f->n_bounds; q++) {
                char le[32];
                if (q < f->n_bounds)
                    snprintf(le, sizeof le, "%g", f->bounds[q]);
                else
                    snprintf(le, sizeof le, "+Inf");
                sb_printf(&b, "%s_bucket", f->name);
                sb_labels(&b, f, s, le);
                sb_printf(&b, " %llu\n", q < f->n_bounds ? s->buckets[q] : s->count);
            }
            sb_printf(&b, "%s_sum", f->name);
            sb_labels(&b, f, s, NULL);
            sb_printf(&b, " ");
            sb_number(&b, s->value);
            sb_printf(&b, "\n%s_count", f->name);
            sb_labels(&b, f, s, NULL);
            sb_printf(&b, " %llu\n", s->count);
        }
    }
    sb_printf(&b,
              "# HELP ecgfm_metrics_series_dropped_total Updates dropped because a family already "
              "had %d label combinations\n# TYPE ecgfm_metrics_series_dropped_total counter\n"
              "ecgfm_metrics_series_dropped_total %llu\n",
              METRICS_MAX_SERIES, dropped);
    pthread_mutex_unlock(&mu);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
