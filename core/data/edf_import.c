/* edf_import.c — a folder of EDF/BDF files into the dataset store (kept apart from edf.c so
 * that the EDF fuzz target links without the store). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/data/edf.h"

/* ---- a folder of EDF files ------------------------------------------------------------------ */

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *s, const char *x) {
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

static void strvec_free(strvec *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define WALK_MAX_DEPTH 64

/* Collect rel paths (with extension) of .edf/.bdf files under root/rel. */
static ecg_code walk(const char *root, const char *rel, int depth, strvec *out, ecg_err *err) {
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
        if (name[0] == '.') continue;
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
            /* links to directories are not followed (no loops) */
            is_dir = S_ISDIR(st.st_mode) && lstat(full, &st) == 0 && !S_ISLNK(st.st_mode);
        }
        size_t len = strlen(sub);
        if (is_dir)
            rc = walk(root, sub, depth + 1, out, err);
        else if (is_reg && len > 4 &&
                 (!strcasecmp(sub + len - 4, ".edf") || !strcasecmp(sub + len - 4, ".bdf")) &&
                 strvec_push(out, sub))
            rc = err_set(err, ECG_ENOMEM, "walk: no memory");
    }
    closedir(d);
    return rc;
}

typedef struct {
    store_prepared p;
    ecg_code code;
    char msg[512];
} import_slot;

static void note_skip(store_import_summary *sum, const char *rel, ecg_code code, const char *msg) {
    sum->skipped++;
    sum->by_code[(unsigned)code < 8 ? code : 0]++;
    if (sum->n_skips < STORE_MAX_SKIPS && sum->skips) {
        store_skip *s = &sum->skips[sum->n_skips++];
        snprintf(s->path, sizeof s->path, "%s", rel);
        s->code = code;
        snprintf(s->reason, sizeof s->reason, "%s", msg);
    }
}

ecg_code store_import_edf_tree(store_writer *w, const char *root, const store_import_opts *opt,
                               store_import_summary *sum, ecg_err *err) {
    memset(sum, 0, sizeof *sum);
    store_import_opts o = {0};
    if (opt) o = *opt;
    if (o.batch <= 0) o.batch = 64;
    strvec all = {0};
    ecg_code rc = walk(root, "", 0, &all, err);
    if (rc) {
        strvec_free(&all);
        return rc;
    }
    if (all.n) qsort(all.v, all.n, sizeof *all.v, cmp_str);
    sum->found = all.n;
    sum->skips = calloc(STORE_MAX_SKIPS, sizeof *sum->skips);
    import_slot *slots = calloc((size_t)o.batch, sizeof *slots);
    if (!sum->skips || !slots) {
        free(slots);
        strvec_free(&all);
        return err_set(err, ECG_ENOMEM, "import: no memory for %d slots", o.batch);
    }
    for (size_t b0 = 0; !rc && b0 < all.n; b0 += (size_t)o.batch) {
        int nb = (int)(all.n - b0 < (size_t)o.batch ? all.n - b0 : (size_t)o.batch);
#pragma omp parallel for schedule(dynamic, 1)
        for (int s = 0; s < nb; s++) {
            import_slot *sl = &slots[s];
            const char *rel = all.v[b0 + (size_t)s];
            char path[8192];
            ecg_err e = {0};
            ecg_record r;
            snprintf(path, sizeof path, "%s/%s", root, rel);
            sl->code = edf_read_record(&r, path, NULL, &e);
            if (!sl->code) {
                snprintf(r.record_name, sizeof r.record_name, "%s", rel);
                sl->code = store_prepare(&sl->p, &r, &e);
                record_free(&r);
            }
            if (sl->code) snprintf(sl->msg, sizeof sl->msg, "%s", e.msg);
        }
        for (int s = 0; s < nb; s++) {
            import_slot *sl = &slots[s];
            char rel[4096];
            snprintf(rel, sizeof rel, "%s", all.v[b0 + (size_t)s]);
            rel[strlen(rel) - 4] = 0; /* the walk kept only names ending in .edf / .bdf */
            if (!rc && !sl->code) {
                int32_t labels[STORE_N_LABELS];
                for (int k = 0; k < STORE_N_LABELS; k++)
                    labels[k] = STORE_LABEL_MISSING;
                if (o.labels && !store_labels_lookup(o.labels, rel, labels)) sum->unlabelled++;
                rc = store_writer_add(w, sl->p.x, sl->p.n, sl->p.lead_mask, labels, sl->p.orig_fs,
                                      rel, err);
                if (!rc) {
                    sum->imported++;
                    if (sl->p.nan_filled) sum->nan_records++;
                }
            } else if (!rc) {
                note_skip(sum, all.v[b0 + (size_t)s], sl->code, sl->msg);
            }
            store_prepared_free(&sl->p);
        }
        if (!rc && o.progress) o.progress(o.progress_ctx, b0 + (size_t)nb, all.n, sum->skipped);
    }
    free(slots);
    strvec_free(&all);
    if (!rc) rc = store_writer_flush(w, err);
    return rc;
}
