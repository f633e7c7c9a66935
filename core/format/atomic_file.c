/* atomic_file.c — temp file, fsync, rename, fsync of the directory (see atomic_file.h). */
#include "core/format/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ecg_code atomic_open(atomic_file *a, const char *path, ecg_err *err) {
    memset(a, 0, sizeof *a);
    if (strlen(path) + 16 >= sizeof a->path)
        return err_set(err, ECG_EINVAL, "%s: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) return err_set(err, ECG_EIO, "%s: cannot create temp file: %s", path, strerror(errno));
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        return err_set(err, ECG_EIO, "%s: fdopen: %s", path, strerror(e));
    }
    return ECG_OK;
}

ecg_code atomic_write(atomic_file *a, const void *data, size_t n, ecg_err *err) {
    if (n && fwrite(data, 1, n, a->fp) != n)
        return err_set(err, ECG_EIO, "%s: write failed: %s", a->path, strerror(errno));
    return ECG_OK;
}

static void fsync_dir(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

ecg_code atomic_commit(atomic_file *a, ecg_err *err) {
    int fd = fileno(a->fp);
    if (fflush(a->fp) != 0 || fsync(fd) != 0) {
        int e = errno;
        atomic_abort(a);
        return err_set(err, ECG_EIO, "%s: flush/fsync failed: %s", a->path, strerror(e));
    }
    if (fclose(a->fp) != 0) {
        int e = errno;
        a->fp = NULL;
        unlink(a->tmp);
        return err_set(err, ECG_EIO, "%s: close failed: %s", a->path, strerror(e));
    }
    a->fp = NULL;
    if (rename(a->tmp, a->path) != 0) {
        int e = errno;
        unlink(a->tmp);
        return err_set(err, ECG_EIO, "%s: rename failed: %s", a->path, strerror(e));
    }
    fsync_dir(a->path);
    return ECG_OK;
}

void atomic_abort(atomic_file *a) {
    if (a->fp) fclose(a->fp);
    a->fp = NULL;
    if (a->tmp[0]) unlink(a->tmp);
}
