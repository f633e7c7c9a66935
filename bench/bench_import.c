/* bench_import.c — dataset store import throughput: a temporary PTB-XL-like tree of ten-second
 * 12-lead 500 Hz WFDB records (copies of LUDB record 1) read, resampled to 240 Hz, quantised,
 * written. */
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench/bench_util.h"
#include "core/data/store.h"
#include "core/data/wfdb.h"

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc(sz > 0 ? (size_t)sz + 1 : 1);
    if (b && fread(b, 1, (size_t)sz, fp) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    if (b) b[sz] = 0;
    *n = (size_t)sz;
    return b;
}

/* The header with the record name and every signal file renamed to `name`. */
static void write_header(FILE *out, const char *hea, const char *name) {
    int line = 0;
    for (const char *p = hea; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) + 1 : strlen(p);
        if (*p == '#' || line > 12) {
            fwrite(p, 1, len, out);
        } else {
            size_t tok = strcspn(p, " \t");
            fprintf(out, line == 0 ? "%s" : "%s.dat", name);
            fwrite(p + tok, 1, len - tok, out);
            line++;
        }
        p += len;
    }
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(void *ctx, size_t done, size_t total, size_t skipped) {
    (void)ctx;
    (void)done;
    (void)total;
    (void)skipped;
}

int main(void) {
    const char *data = getenv("ECGFM_TEST_DATA");
    const char *tmp = getenv("TMPDIR");
    int n_rec = getenv("ECGFM_BENCH_IMPORT_N") ? atoi(getenv("ECGFM_BENCH_IMPORT_N")) : 1000;
    if (n_rec < 1) n_rec = 1;
    char src[4096], root[4096];
    size_t hea_len, dat_len;
    snprintf(src, sizeof src, "%s/ecg/ludb/1.hea", data ? data : "tests/data");
    char *hea = slurp(src, &hea_len);
    snprintf(src, sizeof src, "%s/ecg/ludb/1.dat", data ? data : "tests/data");
    char *dat = slurp(src, &dat_len);
    if (!hea || !dat) {
        fprintf(stderr, "bench_import: cannot read %s (run from the repository root)\n", src);
        return 1;
    }
    snprintf(root, sizeof root, "%s/ecgfm_bench_import_XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    /* records500/NNNNN/RRRRR_hr as PTB-XL lays its tree out, 100 records per folder. */
    char tree[4200];
    snprintf(tree, sizeof tree, "%s/tree", root);
    mkdir(tree, 0755);
    char rec500[4300];
    snprintf(rec500, sizeof rec500, "%s/records500", tree);
    mkdir(rec500, 0755);
    double t0 = bench_now();
    for (int i = 0; i < n_rec; i++) {
        char dir[4400], name[32], path[4500];
        snprintf(dir, sizeof dir, "%s/records500/%05d", tree, i / 100 * 100);
        if (i % 100 == 0) mkdir(dir, 0755);
        snprintf(name, sizeof name, "%05d_hr", i + 1);
        snprintf(path, sizeof path, "%s/%s.hea", dir, name);
        FILE *h = fopen(path, "wb");
        snprintf(path, sizeof path, "%s/%s.dat", dir, name);
        FILE *d = fopen(path, "wb");
        if (!h || !d) {
            perror(path);
            return 1;
        }
        write_header(h, hea, name);
        fwrite(dat, 1, dat_len, d);
        fclose(h);
        fclose(d);
    }
    double t_gen = bench_now() - t0;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("import: %d records of 12 x 5000 samples at 500 Hz (LUDB 1, format 16, %zu bytes each), "
           "written in %.2f s; %d threads\n",
           n_rec, dat_len, t_gen, threads);

    /* Stage costs on one thread over the first 200 records, for the breakdown. */
    {
        int m = n_rec < 200 ? n_rec : 200;
        double t_read = 0, t_prep = 0;
        for (int i = 0; i < m; i++) {
            char path[4500];
            snprintf(path, sizeof path, "%s/records500/%05d/%05d_hr", tree, i / 100 * 100, i + 1);
            ecg_record r;
            ecg_err err;
            double a = bench_now();
            if (wfdb_read_record(&r, path, NULL, &err)) {
                fprintf(stderr, "bench_import: %s\n", err.msg);
                return 1;
            }
            double b = bench_now();
            store_prepared p;
            if (store_prepare(&p, &r, &err)) {
                fprintf(stderr, "bench_import: %s\n", err.msg);
                return 1;
            }
            t_prep += bench_now() - b;
            t_read += b - a;
            store_prepared_free(&p);
            record_free(&r);
        }
        printf(
            "import: one thread: WFDB read %.0f us/record, 12-lead map + resample %.0f us/record\n",
            t_read / m * 1e6, t_prep / m * 1e6);
    }

    enum { REPS = 3 };
    double rate[REPS], cpu_rate[REPS];
    size_t out_bytes = 0;
    for (int rep = 0; rep < REPS; rep++) {
        char out[4400];
        snprintf(out, sizeof out, "%s/store%d", root, rep);
        ecg_err err;
        store_writer *w;
        store_import_summary sum;
        store_import_opts o = {.progress = progress};
        double a = bench_now(), c = cpu_now();
        if (store_writer_open(&w, out, NULL, &err) ||
            store_import_wfdb_tree(w, tree, &o, &sum, &err) || store_writer_close(w, &err)) {
            fprintf(stderr, "bench_import: %s\n", err.msg);
            return 1;
        }
        double dt = bench_now() - a, cpu = cpu_now() - c;
        rate[rep] = sum.imported / dt;
        cpu_rate[rep] = sum.imported / cpu;
        if (sum.imported != (size_t)n_rec || sum.skipped) {
            fprintf(stderr, "bench_import: imported %zu of %d (%zu skipped)\n", sum.imported, n_rec,
                    sum.skipped);
            return 1;
        }
        store_import_summary_free(&sum);
        store_dataset *ds;
        if (store_open(&ds, out, 0, &err)) {
            fprintf(stderr, "bench_import: %s\n", err.msg);
            return 1;
        }
        out_bytes = 0;
        for (size_t i = 0; i < store_count(ds); i++) {
            store_record_info info;
            store_info(ds, i, &info, NULL);
            out_bytes += 24 * info.n_samples;
        }
        if (rep == REPS - 1) {
            /* Reading back: whole records with their CRC check, and random 2.5 s crops. */
            float *buf = malloc(ECG_N_LEADS * 2400 * sizeof *buf);
            double r0 = bench_now(), rcpu = cpu_now();
            size_t nr = store_count(ds);
            for (size_t i = 0; i < nr; i++)
                if (!buf || store_read(ds, i, buf, 2400, NULL, &err)) {
                    fprintf(stderr, "bench_import: read: %s\n", err.msg);
                    return 1;
                }
            double r1 = bench_now(), rcpu1 = cpu_now();
            size_t crops = 20000;
            for (size_t i = 0; i < crops; i++)
                store_read_window(ds, (i * 7919) % nr, (i * 104729) % 1800, 600, buf, &err);
            double r2 = bench_now();
            printf("import: read back %.0f records/s (12 x 2400, CRC checked; %.0f per CPU second), "
                   "%.0f crops/s (12 x 600)\n",
                   nr / (r1 - r0), nr / (rcpu1 - rcpu), crops / (r2 - r1));
            free(buf);
        }
        store_close(ds);
        printf("import: run %d: %.3f s, %.0f records/s; %.3f CPU s, %.0f records per CPU second\n",
               rep + 1, dt, rate[rep], cpu, cpu_rate[rep]);
        nftw(out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    double med = bench_median(rate, REPS), cpu_med = bench_median(cpu_rate, REPS);
    double load[1] = {0};
    getloadavg(load, 1);
    printf(
        "import: %.0f records per CPU second (x %d threads = %.0f records/s on an idle machine); "
        "load average during the runs %.1f on %ld cores\n",
        cpu_med, threads, cpu_med * threads, load[0], sysconf(_SC_NPROCESSORS_ONLN));
    printf("import: store %.1f KiB/record of samples (int16, 12 x 2400); peak RSS %.0f MiB; files "
           "in the page cache (warm), median of %d runs\n",
           out_bytes / 1024.0 / n_rec, bench_peak_rss_mib(), REPS);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(hea);
    free(dat);
    bench_report("import_wfdb", med, -1, "records/s");
    return 0;
}
