/* jobs_stream.c — GET /v1/jobs/{id}/events (see jobs.h): a Server-Sent Events stream per request,
 * read from job_events; idle streams are parked (the server suspends them) until the scheduler's
 * async or the heartbeat timer wakes them. Loop thread only. */
#include "server/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/jobs_impl.h"

static const char SQL_STATE[] = "SELECT state FROM jobs WHERE id = ?1";
static const char SQL_EVENTS[] = "SELECT id, type, data FROM job_events WHERE job_id = ?1 AND id > "
                                 "?2 ORDER BY id LIMIT 64";

static void storage_error(api_response *res, const ecg_err *err) {
    api_response_error(res, 500, "storage_error", "%s", err->msg);
}

static void stream_refill(jstream *s) {
    jobs *j = s->j;
    s->off = s->len = 0;
    if (s->ended) return;
    ecg_err err = {0};
    char state[16] = "";
    int n = 0, bad = 0;
    db_conn *c = db_reader_get(j->db);
    /* The state first: a finished job's last event was committed with its state, so once a
     * terminal state is read, every event is already there to be read next. */
    sqlite3_stmt *st = db_stmt(c, SQL_STATE, &err);
    if (st) {
        sqlite3_bind_int64(st, 1, s->job_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(state, sizeof state, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_reset(st);
    }
    st = db_stmt(c, SQL_EVENTS, &err);
    if (st) {
        sqlite3_bind_int64(st, 1, s->job_id);
        sqlite3_bind_int64(st, 2, s->last_id);
        while (!bad && sqlite3_step(st) == SQLITE_ROW) {
            long long id = sqlite3_column_int64(st, 0);
            const char *type = (const char *)sqlite3_column_text(st, 1);
            const char *data = (const char *)sqlite3_column_text(st, 2);
            if (jobs_sse_format(&s->buf, &s->len, &s->cap, id, type ? type : "log",
                                data ? data : "{}"))
                bad = 1;
            s->last_id = id;
            n++;
        }
        sqlite3_reset(st);
    } else {
        bad = 1;
    }
    db_reader_put(j->db, c);
    if (bad || !state[0]) {
        s->ended = 1; /* the job is gone, or the stream cannot go on: end it cleanly */
        return;
    }
    /* At shutdown a running job still writes its last state (queued again, or cancelled): the
     * stream waits for that event, then ends. */
    if (n == 0 && (jobs_state_is_terminal(state) || (j->stopping && strcmp(state, "running")))) {
        s->ended = 1;
        return;
    }
    if (n == 0 && s->heartbeat) {
        s->heartbeat = 0;
        const char *hb = ": heartbeat\n\n";
        if (s->cap < 32) {
            char *m = realloc(s->buf, 32);
            if (!m) {
                s->ended = 1;
                return;
            }
            s->buf = m;
            s->cap = 32;
        }
        memcpy(s->buf, hb, strlen(hb));
        s->len = strlen(hb);
    }
}

static long stream_read(api_stream *base, char *buf, size_t max) {
    jstream *s = (jstream *)base;
    if (s->off == s->len) stream_refill(s);
    if (s->off == s->len) return s->ended ? -1 : 0;
    size_t n = s->len - s->off;
    if (n > max) n = max;
    memcpy(buf, s->buf + s->off, n);
    s->off += n;
    return (long)n;
}

static void stream_free(api_stream *base) {
    jstream *s = (jstream *)base;
    jobs *j = s->j;
    if (s->prev)
        s->prev->next = s->next;
    else
        j->streams = s->next;
    if (s->next) s->next->prev = s->prev;
    j->n_streams--;
    metrics_gauge_set(j->m_streams, NULL, j->n_streams);
    free(s->buf);
    free(s);
}

void jobs_events(jobs *j, long long id, long long after, api_response *res) {
    ecg_err err = {0};
    jobs_row r;
    db_conn *c = db_reader_get(j->db);
    int found = jobs_row_load(c, id, &r, &err);
    db_reader_put(j->db, c);
    if (found < 0) {
        storage_error(res, &err);
        return;
    }
    if (!found) {
        api_response_error(res, 404, "not_found", "no job %lld", id);
        return;
    }
    jobs_row_free(&r);
    if (j->n_streams >= j->o.max_streams) {
        api_response_error(res, 429, "too_many_streams",
                           "%d event streams are open (the limit); retry later", j->n_streams);
        return;
    }
    jstream *s = calloc(1, sizeof *s);
    if (!s) {
        api_response_error(res, 500, "out_of_memory", "out of memory");
        return;
    }
    s->base.read = stream_read;
    s->base.free = stream_free;
    s->j = j;
    s->job_id = id;
    s->last_id = after;
    /* Tell EventSource clients how soon to reconnect (they send Last-Event-ID; ?after= too). */
    s->buf = malloc(128);
    if (s->buf) {
        s->cap = 128;
        s->len = (size_t)snprintf(s->buf, s->cap, "retry: 2000\n: job %lld events\n\n", id);
    }
    s->next = j->streams;
    if (j->streams) j->streams->prev = s;
    j->streams = s;
    j->n_streams++;
    metrics_gauge_set(j->m_streams, NULL, j->n_streams);
    res->status = 200;
    res->stream = &s->base;
    res->content_type = "text/event-stream";
}
