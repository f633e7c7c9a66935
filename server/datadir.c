/* datadir.c — create and check the data directory (see datadir.h). */
#include "server/datadir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ecg_code datadir_prepare(const char *path, ecg_err *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return err_set(err, ECG_EINVAL, "bad data directory path");
    memcpy(buf, path, n + 1);
    /* Create each prefix in turn; EEXIST is fine, the final check says whether it is usable. */
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char keep = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return err_set(err, ECG_EIO, "cannot create %s: %s", buf, strerror(errno));
        buf[i] = keep;
    }
    char why[256];
    if (!datadir_check(path, why, sizeof why)) return err_set(err, ECG_EIO, "%s: %s", path, why);
    return ECG_OK;
}

int datadir_check(const char *path, char *why, size_t why_size) {
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, why_size, "not a directory");
        return 0;
    }
    if (access(path, W_OK | X_OK) != 0) {
        snprintf(why, why_size, "not writable: %s", strerror(errno));
        return 0;
    }
    return 1;
}
