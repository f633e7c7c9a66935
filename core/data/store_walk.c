/* store_walk.c — the sorted record-file walk and the per-record summary bookkeeping that the WFDB,
 * EDF and HDF5 importers share, so they walk, append and report skips the same way. */
#include "core/data/store_walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int store_paths_push(store_paths *s, const char *x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        char **p = realloc(s->v, cap * sizeof *p);
        if (!p) return -1;
        s->v = p;
        s->cap = cap;
    }
    char *d = strdup(x);
    if (!d) return -1;
    s->v[s->n++] = d;
    return 0;
}

void store_paths_free(store_paths *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define WALK_MAX_DEPTH 64

static ecg_code walk(const char *root, const char *rel, int depth, store_walk_keep_fn keep,
                     store_paths *out, ecg_err *err) {
    char dir[4096];
    int k = snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    if (k < 0 || (size_t)k >= sizeof dir) return err_set(err, ECG_EINVAL, "%s: path too long", rel);
    if (depth > WALK_MAX_DEPTH)
        return err_set(err, ECG_EINVAL, "%s: deeper than %d directories", dir, WALK_MAX_DEPTH);
    DIR *d = opendir(dir);
    if (!d)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: cannot list: %s", dir,
                       strerror(errno));
    ecg_code rc = ECG_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        const char *name = e->d_name;
        if (name[0] == '.') continue; /* ., .., hidden files */
        char sub[4096], full[4096];
        k = snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", name);
        if (k < 0 || (size_t)k >= sizeof sub ||
            (size_t)snprintf(full, sizeof full, "%s/%s", root, sub) >= sizeof full) {
            rc = err_set(err, ECG_EINVAL, "%s/%s: path too long", dir, name);
            break;
        }
        struct stat st;
        int is_dir = e->d_type == DT_DIR, is_reg = e->d_type == DT_REG;
        if ((e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) && stat(full, &st) == 0) {
            is_reg = S_ISREG(st.st_mode);
            /* Symbolic links to files are followed; to directories they are not (no loops). */
            is_dir = S_ISDIR(st.st_mode) && lstat(full, &st) == 0 && !S_ISLNK(st.st_mode);
        }
        if (is_dir)
            rc = walk(root, sub, depth + 1, keep, out, err);
        else if (is_reg && keep(sub, strlen(sub)) && store_paths_push(out, sub))
            rc = err_set(err, ECG_ENOMEM, "walk: no memory");
    }
    closedir(d);
    return rc;
}

ecg_code store_walk_tree(const char *root, store_walk_keep_fn keep, store_paths *out,
                         ecg_err *err) {
    ecg_code rc = walk(root, "", 0, keep, out, err);
    if (rc) {
        store_paths_free(out);
        return rc;
    }
    if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return ECG_OK;
}

store_import_opts store_import_start(const store_import_opts *opt, store_import_summary *sum) {
    memset(sum, 0, sizeof *sum);
    store_import_opts o = {0};
    if (opt) o = *opt;
    if (o.batch <= 0) o.batch = 64;
    return o;
}

void store_summary_skip(store_import_summary *sum, const char *what, ecg_code code,
                        const char *msg) {
    sum->skipped++;
    sum->by_code[(unsigned)code < 8 ? code : 0]++;
    if (sum->n_skips < STORE_MAX_SKIPS && sum->skips) {
        store_skip *s = &sum->skips[sum->n_skips++];
        snprintf(s->path, sizeof s->path, "%s", what);
        s->code = code;
        snprintf(s->reason, sizeof s->reason, "%s", msg);
    }
}

ecg_code store_summary_add(store_writer *w, const store_labels *labels, store_import_summary *sum,
                           const char *name, const store_prepared *p, ecg_err *err) {
    int32_t lab[STORE_N_LABELS];
    for (int k = 0; k < STORE_N_LABELS; k++)
        lab[k] = STORE_LABEL_MISSING;
    if (labels && !store_labels_lookup(labels, name, lab)) sum->unlabelled++;
    ecg_code rc = store_writer_add(w, p->x, p->n, p->lead_mask, lab, p->orig_fs, name, err);
    if (!rc) {
        sum->imported++;
        if (p->nan_filled) sum->nan_records++;
    }
    return rc;
}
