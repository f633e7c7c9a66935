/* rng.h — the one random number generator of ecgfm: xoshiro256** seeded by splitmix64.
 * Same seed, same stream, on every machine; the state is 32 bytes and is saved in training state. */
#ifndef ECGFM_CORE_RNG_H
#define ECGFM_CORE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_state;

void rng_seed(rng_state *r, uint64_t seed);
uint64_t rng_next_u64(rng_state *r);
/* Uniform in [0, 1), 24 random bits. */
float rng_uniform(rng_state *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t rng_below(rng_state *r, uint64_t n);
/* Standard normal (Box-Muller in double, one value per call). */
float rng_normal(rng_state *r);
/* An independent stream derived from r and a tag, without advancing r. */
rng_state rng_fork(const rng_state *r, uint64_t tag);

#endif
