/* checkpoints.c — checkpoint files under the data directory and their rows (see checkpoints.h).
 * Files appear by temp file + fsync + rename; a row is written only for a file already in place,
 * and a delete moves the file aside inside the transaction, so row and file go together. */
#include "server/checkpoints.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "api/encoder_config_json.h"
#include "core/format/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/model/encoder.h"

#define CKPT_DIR "checkpoints"

/* ---- statements (db_stmt caches them by address) ---- */

#define INFO_COLS "id, name, path, sha256, size_bytes, coalesce(objective, ''), is_default"
static const char SQL_INFO_DEFAULT[] = "SELECT " INFO_COLS " FROM checkpoints WHERE is_default = 1";
static const char SQL_INFO_ID[] = "SELECT " INFO_COLS " FROM checkpoints WHERE id = ?1";
static const char SQL_INFO_NAME[] = "SELECT " INFO_COLS " FROM checkpoints WHERE name = ?1";

/* A job's checkpoint row does not name its dataset: the job's parameters do (by name). */
#define VIEW_COLS                                                                                  \
    "c.id, c.name, coalesce(c.objective, ''), c.model_config, coalesce(c.dataset_id, jd.id),"      \
    " coalesce(d.name, jd.name, json_extract(j.params, '$.dataset')), c.subset_size, c.step,"      \
    " c.val_loss, c.job_id, c.sha256, c.size_bytes, c.is_default, c.created_at"
#define VIEW_FROM                                                                                  \
    " FROM checkpoints c LEFT JOIN datasets d ON d.id = c.dataset_id"                              \
    " LEFT JOIN jobs j ON j.id = c.job_id"                                                         \
    " LEFT JOIN datasets jd ON c.dataset_id IS NULL AND jd.name = json_extract(j.params, "         \
    "'$.dataset')"
static const char SQL_VIEW_DEFAULT[] = "SELECT " VIEW_COLS VIEW_FROM " WHERE c.is_default = 1";
static const char SQL_VIEW_ID[] = "SELECT " VIEW_COLS VIEW_FROM " WHERE c.id = ?1";
static const char SQL_VIEW_NAME[] = "SELECT " VIEW_COLS VIEW_FROM " WHERE c.name = ?1";
static const char SQL_LIST[] =
    "SELECT " VIEW_COLS VIEW_FROM
    " WHERE (?1 IS NULL OR c.objective = ?1) AND (?2 IS NULL OR c.id < ?2)"
    " ORDER BY c.id DESC LIMIT ?3";

static const char SQL_NAME_TAKEN[] = "SELECT 1 FROM checkpoints WHERE name = ?1";
static const char SQL_INSERT[] =
    "INSERT INTO checkpoints (name, path, sha256, size_bytes, model_config, objective, dataset_id,"
    " subset_size, step, val_loss, job_id, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char SQL_CLEAR_DEFAULT[] =
    "UPDATE checkpoints SET is_default = 0 WHERE is_default = 1 AND id <> ?1";
static const char SQL_SET_DEFAULT[] = "UPDATE checkpoints SET is_default = 1 WHERE id = ?1";
static const char SQL_DEL_GET[] = "SELECT path, is_default FROM checkpoints WHERE id = ?1";
static const char SQL_DELETE[] = "DELETE FROM checkpoints WHERE id = ?1";
static const char SQL_PATH_KNOWN[] = "SELECT 1 FROM checkpoints WHERE path = ?1";

/* "default", a decimal id (1), or a name (2). */
static int ref_kind(const char *ref, long long *id) {
    if (strcmp(ref, "default") == 0) return 0;
    if (!*ref || strlen(ref) > 18) return 2;
    for (const char *p = ref; *p; p++)
        if (!isdigit((unsigned char)*p)) return 2;
    *id = strtoll(ref, NULL, 10);
    return 1;
}

/* Binds ref to the statement that looks it up (one of three per query kind). */
static sqlite3_stmt *ref_stmt(db_conn *c, const char *ref, const char *by_default,
                              const char *by_id, const char *by_name, ecg_err *err) {
    long long id = 0;
    int k = ref_kind(ref, &id);
    sqlite3_stmt *st = db_stmt(c, k == 0 ? by_default : k == 1 ? by_id : by_name, err);
    if (!st) return NULL;
    if (k == 1) sqlite3_bind_int64(st, 1, id);
    if (k == 2) sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
    return st;
}

static void info_read(sqlite3_stmt *st, const char *data_dir, checkpoint_info *out) {
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(out->path, sizeof out->path, "%s/%s", data_dir,
             (const char *)sqlite3_column_text(st, 2));
    snprintf(out->sha256, sizeof out->sha256, "%s", (const char *)sqlite3_column_text(st, 3));
    out->size_bytes = sqlite3_column_int64(st, 4);
    snprintf(out->objective, sizeof out->objective, "%s", (const char *)sqlite3_column_text(st, 5));
    out->is_default = sqlite3_column_int(st, 6);
}

int checkpoints_lookup(db *d, const char *data_dir, const char *ref, checkpoint_info *out,
                       ecg_err *err) {
    if (!d || !db_is_ready(d)) return err_set(err, ECG_EIO, "the database is not ready"), -1;
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = ref_stmt(c, ref, SQL_INFO_DEFAULT, SQL_INFO_ID, SQL_INFO_NAME, err);
    int found = -1;
    if (st) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            info_read(st, data_dir, out);
            found = 1;
        } else if (rc == SQLITE_DONE) {
            found = 0;
        } else {
            db_fail(c, err, "looking up a checkpoint");
        }
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    return found;
}

/* ---- files ---- */

ecg_code checkpoints_hash_file(const char *path, char hex[65], long long *size, ecg_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, ECG_EIO, "%s: %s", path, strerror(errno));
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    unsigned char buf[1 << 16];
    size_t n;
    *size = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crypto_hash_sha256_update(&s, buf, n);
        *size += (long long)n;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) return err_set(err, ECG_EIO, "%s: read error", path);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&s, h);
    sodium_bin2hex(hex, 65, h, sizeof h);
    return ECG_OK;
}

static ecg_code ensure_dir(const char *data_dir, ecg_err *err) {
    char dir[1300];
    snprintf(dir, sizeof dir, "%s/" CKPT_DIR, data_dir);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return err_set(err, ECG_EIO, "cannot create %s: %s", dir, strerror(errno));
    return ECG_OK;
}

static int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fsync_dir_of(const char *path) {
    char dir[1400];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return;
    *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The contents of src (a file, when src_path is set) or data, to dst atomically. */
static ecg_code write_atomic(const char *dst, const char *src_path, const void *data, size_t len,
                             ecg_err *err) {
    char tmp[1400];
    const char *slash = strrchr(dst, '/');
    int dl = slash ? (int)(slash - dst) : 1;
    snprintf(tmp, sizeof tmp, "%.*s/.tmp-XXXXXX", dl, slash ? dst : ".");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return err_set(err, ECG_EIO, "cannot create a file beside %s: %s", dst, strerror(errno));
    ecg_code rc = ECG_OK;
    if (src_path) {
        int in = open(src_path, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
            rc = err_set(err, ECG_EIO, "%s: %s", src_path, strerror(errno));
        } else {
            char buf[1 << 16];
            for (;;) {
                ssize_t n = read(in, buf, sizeof buf);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    rc = err_set(err, ECG_EIO, "%s: %s", src_path, strerror(errno));
                    break;
                }
                if (n == 0) break;
                if (write_all(fd, buf, (size_t)n)) {
                    rc = err_set(err, ECG_EIO, "writing %s: %s", tmp, strerror(errno));
                    break;
                }
            }
            close(in);
        }
    } else if (write_all(fd, data, len)) {
        rc = err_set(err, ECG_EIO, "writing %s: %s", tmp, strerror(errno));
    }
    if (!rc && fsync(fd) != 0) rc = err_set(err, ECG_EIO, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc) rc = err_set(err, ECG_EIO, "close %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, dst) != 0)
        rc = err_set(err, ECG_EIO, "rename to %s: %s", dst, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    fsync_dir_of(dst);
    return ECG_OK;
}

ecg_code checkpoints_write_file(const char *data_dir, const char *rel, const void *data, size_t len,
                                ecg_err *err) {
    ecg_code rc = ensure_dir(data_dir, err);
    if (rc) return rc;
    char dst[1400];
    snprintf(dst, sizeof dst, "%s/%s", data_dir, rel);
    return write_atomic(dst, NULL, data, len, err);
}

/* ---- register ---- */

static int name_taken(db_conn *c, const char *name, ecg_err *err) {
    sqlite3_stmt *st = db_stmt(c, SQL_NAME_TAKEN, err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    db_fail(c, err, "checking a checkpoint name");
    return -1;
}

ecg_code checkpoints_register(db *d, const char *data_dir, const char *rel, const char *name,
                              const char *objective, long long dataset_id, long long subset,
                              long long step, double val_loss, long long job_id, long long *id,
                              ecg_err *err) {
    *id = 0;
    if (!d || !db_is_ready(d)) return err_set(err, ECG_EIO, "the database is not ready");
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    /* It must load as an encoder, exactly as the embed worker will load it. */
    encoder *e = NULL;
    ecg_code rc = checkpoint_load_encoder(path, 1, ENC_INFERENCE_ONLY, &e, err);
    if (rc) return rc;
    json_t *mj = encoder_config_to_json(encoder_get_config(e));
    encoder_free(e);
    char *model_text = mj ? json_dumps(mj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(mj);
    if (!model_text) return err_set(err, ECG_ENOMEM, "out of memory");
    char hex[65];
    long long size = 0;
    rc = checkpoints_hash_file(path, hex, &size, err);
    if (!rc && size <= 0) rc = err_set(err, ECG_EFORMAT, "%s is empty", rel);
    if (rc) {
        free(model_text);
        return rc;
    }
    db_conn *c = db_writer_lock(d);
    rc = db_begin(c, err);
    if (!rc) {
        int taken = name_taken(c, name, err);
        if (taken < 0)
            rc = err->code;
        else if (taken)
            rc = err_set(err, ECG_EINVAL, "a checkpoint named \"%s\" exists", name);
    }
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_INSERT, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, rel, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, hex, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, size);
        sqlite3_bind_text(st, 5, model_text, -1, SQLITE_TRANSIENT);
        if (objective && *objective) sqlite3_bind_text(st, 6, objective, -1, SQLITE_TRANSIENT);
        if (dataset_id > 0) sqlite3_bind_int64(st, 7, dataset_id);
        if (subset > 0) sqlite3_bind_int64(st, 8, subset);
        if (step > 0) sqlite3_bind_int64(st, 9, step);
        if (isfinite(val_loss)) sqlite3_bind_double(st, 10, val_loss);
        if (job_id > 0) sqlite3_bind_int64(st, 11, job_id);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)time(NULL));
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "recording the checkpoint");
        sqlite3_reset(st);
        if (!rc) *id = sqlite3_last_insert_rowid(db_handle(c));
    }
    if (!rc) rc = db_commit(c, err);
    if (rc) {
        db_rollback(c);
        *id = 0;
    }
    db_writer_unlock(d, c);
    free(model_text);
    return rc;
}

/* ---- default ---- */

ecg_code checkpoints_set_default(db *d, long long id, ecg_err *err) {
    if (!d || !db_is_ready(d)) return err_set(err, ECG_EIO, "the database is not ready");
    db_conn *c = db_writer_lock(d);
    ecg_code rc = db_begin(c, err);
    /* The old default first: the unique index allows one is_default = 1 at any moment. */
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_CLEAR_DEFAULT, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "clearing the default");
        sqlite3_reset(st);
    }
    st = rc ? NULL : db_stmt(c, SQL_SET_DEFAULT, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(c, err, "setting the default");
        else if (sqlite3_changes(db_handle(c)) != 1)
            rc = err_set(err, ECG_ENOTFOUND, "no checkpoint %lld", id);
        sqlite3_reset(st);
    }
    if (!rc) rc = db_commit(c, err);
    if (rc) db_rollback(c);
    db_writer_unlock(d, c);
    return rc;
}

/* "bundled-" and the model's directory name for .../NAME/checkpoint.safetensors, else its file
 * name without the extension; characters outside [A-Za-z0-9._-] become '-'. */
static void bundled_name(const char *model_path, char *out, size_t cap) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", model_path);
    char *base = strrchr(buf, '/');
    char *stem = base ? base + 1 : buf;
    if (strcmp(stem, "checkpoint.safetensors") == 0 && base) {
        *base = '\0';
        char *up = strrchr(buf, '/');
        stem = up ? up + 1 : buf;
    } else {
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem) *dot = '\0';
    }
    if (!*stem || strcmp(stem, ".") == 0 || strcmp(stem, "..") == 0) stem = "model";
    snprintf(out, cap, "bundled-%.40s", stem);
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') *p = '-';
}

ecg_code checkpoints_ensure_default(db *d, const char *data_dir, const char *model_path,
                                    checkpoint_info *out, ecg_err *err) {
    int found = checkpoints_lookup(d, data_dir, "default", out, err);
    if (found < 0) return err->code;
    if (found) return ECG_OK;
    char name[64];
    bundled_name(model_path, name, sizeof name);
    /* A start that registered the copy but stopped before marking it default: finish that. */
    found = checkpoints_lookup(d, data_dir, name, out, err);
    if (found < 0) return err->code;
    if (!found) {
        ecg_code rc = ensure_dir(data_dir, err);
        if (rc) return rc;
        char rel[128], dst[1400];
        snprintf(rel, sizeof rel, CKPT_DIR "/%s.safetensors", name);
        snprintf(dst, sizeof dst, "%s/%s", data_dir, rel);
        if ((rc = write_atomic(dst, model_path, NULL, 0, err))) return rc;
        /* The objective its pretraining used, from its metadata (it decides the input scaling). */
        char objective[16] = "";
        st_file f;
        ecg_err ignore = {0};
        if (st_read_file(&f, dst, &ignore) == ECG_OK) {
            const char *o = st_meta_get(&f, "ecgfm.pretrain.objective");
            if (o) snprintf(objective, sizeof objective, "%s", o);
            st_free(&f);
        }
        long long id = 0;
        rc = checkpoints_register(d, data_dir, rel, name, objective, 0, 0, 0, NAN, 0, &id, err);
        if (rc) {
            unlink(dst);
            return rc;
        }
        if (checkpoints_lookup(d, data_dir, name, out, err) != 1)
            return err->code ? err->code : err_set(err, ECG_EIO, "the bundled checkpoint vanished");
    }
    ecg_code rc = checkpoints_set_default(d, out->id, err);
    if (rc) return rc;
    out->is_default = 1;
    return ECG_OK;
}

/* ---- delete ---- */

ecg_code checkpoints_delete(db *d, const char *data_dir, long long id, ecg_err *err) {
    if (!d || !db_is_ready(d)) return err_set(err, ECG_EIO, "the database is not ready");
    char path[1400] = "", aside[1400] = "";
    int moved = 0;
    ecg_code drc = ensure_dir(data_dir, err); /* where the file is set aside */
    if (drc) return drc;
    db_conn *c = db_writer_lock(d);
    ecg_code rc = db_begin(c, err);
    sqlite3_stmt *st = rc ? NULL : db_stmt(c, SQL_DEL_GET, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            snprintf(path, sizeof path, "%s/%s", data_dir,
                     (const char *)sqlite3_column_text(st, 0));
            if (sqlite3_column_int(st, 1))
                rc = err_set(err, ECG_EINVAL,
                             "checkpoint %lld is the default for embedding; make another one the "
                             "default first",
                             id);
        } else if (s == SQLITE_DONE) {
            rc = err_set(err, ECG_ENOTFOUND, "no checkpoint %lld", id);
        } else {
            rc = db_fail(c, err, "reading the checkpoint");
        }
        sqlite3_reset(st);
    }
    st = rc ? NULL : db_stmt(c, SQL_DELETE, err);
    if (!rc && !st) rc = err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(c, err, "deleting the checkpoint");
        sqlite3_reset(st);
    }
    /* The file moves aside before the commit: if the commit fails it moves back; if the process
     * dies after the commit, the start-up sweep removes the file set aside. */
    if (!rc) {
        snprintf(aside, sizeof aside, "%s/" CKPT_DIR "/.deleting-%lld", data_dir, id);
        if (rename(path, aside) == 0)
            moved = 1;
        else if (errno != ENOENT)
            rc = err_set(err, ECG_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    if (!rc) rc = db_commit(c, err);
    if (rc) {
        db_rollback(c);
        if (moved) rename(aside, path);
        moved = 0;
    }
    db_writer_unlock(d, c);
    if (moved) {
        unlink(aside);
        fsync_dir_of(aside);
        fsync_dir_of(path);
    }
    return rc;
}

/* ---- views ---- */

static int view_read(sqlite3_stmt *st, checkpoint_view *v) {
    memset(v, 0, sizeof *v);
    v->id = sqlite3_column_int64(st, 0);
    snprintf(v->name, sizeof v->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(v->objective, sizeof v->objective, "%s", (const char *)sqlite3_column_text(st, 2));
    const char *mc = (const char *)sqlite3_column_text(st, 3);
    v->model_config = strdup(mc ? mc : "{}");
    v->dataset_id = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 4);
    const char *dn = (const char *)sqlite3_column_text(st, 5);
    snprintf(v->dataset, sizeof v->dataset, "%s", dn ? dn : "");
    v->subset_size = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
    v->step = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 7);
    v->val_loss = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 8);
    v->job_id = sqlite3_column_type(st, 9) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 9);
    snprintf(v->sha256, sizeof v->sha256, "%s", (const char *)sqlite3_column_text(st, 10));
    v->size_bytes = sqlite3_column_int64(st, 11);
    v->is_default = sqlite3_column_int(st, 12);
    v->created_at = sqlite3_column_int64(st, 13);
    return v->model_config ? 0 : -1;
}

void checkpoints_views_free(checkpoint_view *vs, size_t n) {
    for (size_t i = 0; vs && i < n; i++) {
        free(vs[i].model_config);
        vs[i].model_config = NULL;
    }
}

int checkpoints_get_view(db *d, const char *ref, checkpoint_view *v, ecg_err *err) {
    memset(v, 0, sizeof *v);
    if (!d || !db_is_ready(d)) return err_set(err, ECG_EIO, "the database is not ready"), -1;
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = ref_stmt(c, ref, SQL_VIEW_DEFAULT, SQL_VIEW_ID, SQL_VIEW_NAME, err);
    int found = -1;
    if (st) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            found = view_read(st, v) ? (err_set(err, ECG_ENOMEM, "out of memory"), -1) : 1;
        else if (rc == SQLITE_DONE)
            found = 0;
        else
            db_fail(c, err, "reading a checkpoint");
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    return found;
}

ecg_code checkpoints_list_views(db *d, const checkpoints_list_query *q, checkpoint_view **out,
                                size_t *n, ecg_err *err) {
    *out = NULL;
    *n = 0;
    if (!d || !db_is_ready(d)) return err_set(err, ECG_EIO, "the database is not ready");
    size_t cap = (size_t)q->limit + 1;
    checkpoint_view *vs = calloc(cap, sizeof *vs);
    if (!vs) return err_set(err, ECG_ENOMEM, "out of memory");
    ecg_code rc = ECG_OK;
    size_t got = 0;
    db_conn *c = db_reader_get(d);
    sqlite3_stmt *st = db_stmt(c, SQL_LIST, err);
    if (!st) rc = err->code;
    if (st) {
        if (q->objective) sqlite3_bind_text(st, 1, q->objective, -1, SQLITE_TRANSIENT);
        if (q->cursor > 0) sqlite3_bind_int64(st, 2, q->cursor);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)cap);
        int s = SQLITE_DONE;
        while (got < cap && (s = sqlite3_step(st)) == SQLITE_ROW) {
            if (view_read(st, &vs[got++])) {
                rc = err_set(err, ECG_ENOMEM, "out of memory");
                break;
            }
        }
        if (!rc && s != SQLITE_ROW && s != SQLITE_DONE) rc = db_fail(c, err, "listing checkpoints");
        sqlite3_reset(st);
    }
    db_reader_put(d, c);
    if (rc) {
        checkpoints_views_free(vs, got);
        free(vs);
        return rc;
    }
    *out = vs;
    *n = got;
    return ECG_OK;
}

/* ---- start-up sweep ---- */

int checkpoints_sweep(db *d, const char *data_dir) {
    if (!d || !db_is_ready(d)) return 0;
    char dir[1300];
    snprintf(dir, sizeof dir, "%s/" CKPT_DIR, data_dir);
    DIR *dh = opendir(dir);
    if (!dh) return 0;
    int removed = 0;
    struct dirent *de;
    db_conn *c = db_reader_get(d);
    ecg_err err = {0};
    sqlite3_stmt *st = db_stmt(c, SQL_PATH_KNOWN, &err);
    while (st && (de = readdir(dh))) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
        int leftover = strncmp(n, ".tmp-", 5) == 0 || strncmp(n, ".deleting-", 10) == 0;
        if (!leftover) {
            size_t len = strlen(n);
            if (len < 12 || strcmp(n + len - 12, ".safetensors") != 0) continue;
            char rel[400];
            snprintf(rel, sizeof rel, CKPT_DIR "/%s", n);
            sqlite3_bind_text(st, 1, rel, -1, SQLITE_TRANSIENT);
            int s = sqlite3_step(st);
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            leftover = s == SQLITE_DONE; /* no row names it (an upload cut short) */
        }
        if (!leftover) continue;
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", dir, n);
        if (unlink(p) == 0) {
            fprintf(stderr, "ecgfm: checkpoints: removed the leftover %s\n", p);
            removed++;
        }
    }
    db_reader_put(d, c);
    closedir(dh);
    return removed;
}
