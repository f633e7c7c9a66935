/* threads.h — one knob for the number of compute threads (OpenBLAS and ecgfm's own OpenMP loops),
 * so the service can keep a core free for embedding requests while training runs. */
#ifndef ECGFM_CORE_THREADS_H
#define ECGFM_CORE_THREADS_H

void threads_set(int n); /* n <= 0 means all cores */
int threads_get(void);

#endif
