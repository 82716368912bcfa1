/* Small deterministic PRNG (xoshiro256** seeded by splitmix64). The state is
 * plain data so agents can save it and resume bit-exactly. */
#ifndef BRL_CORE_RNG_H
#define BRL_CORE_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct brl_rng {
  uint64_t s[4];
} brl_rng;

static inline uint64_t brl__splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline void brl_rng_seed(brl_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = brl__splitmix64(&seed);
}

static inline uint64_t brl__rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t brl_rng_u64(brl_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = brl__rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = brl__rotl(s[3], 45);
  return result;
}

/* Uniform double in [0, 1). */
static inline double brl_rng_uniform(brl_rng *r) {
  return (double)(brl_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n). */
static inline uint64_t brl_rng_below(brl_rng *r, uint64_t n) {
  return (uint64_t)(brl_rng_uniform(r) * (double)n);
}

/* Standard normal (Box-Muller, one value per call). */
static inline double brl_rng_normal(brl_rng *r) {
  double u1 = brl_rng_uniform(r), u2 = brl_rng_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
