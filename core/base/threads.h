/* threads.h — one knob for the number of compute threads (OpenBLAS and ecgfm's own OpenMP loops),
 * so the service can keep a core free for embedding requests while training runs. */
#ifndef ECGFM_CORE_THREADS_H
#define ECGFM_CORE_THREADS_H

void threads_set(int n); /* n <= 0 means all cores */
int threads_get(void);

/* The OpenBLAS kernel family this CPU supports ("SkylakeX", "Haswell") when Debian's OpenBLAS
 * 0.3.21 may not recognise it, or NULL to leave OpenBLAS's own detection alone. OpenBLAS reads
 * OPENBLAS_CORETYPE when it is loaded, so main() sets it and re-executes itself (see server/main.c);
 * scripts/blas_coretype.sh is the same rule for make. */
const char *threads_blas_coretype(void);
/* For main() only: when OPENBLAS_CORETYPE is unset and threads_blas_coretype() names a family,
 * set it and re-execute this program with the same argv (once: the variable is then set).
 * Returns only when nothing needed doing or exec failed; a user's own setting always wins. */
void threads_blas_reexec(char **argv);

#endif
