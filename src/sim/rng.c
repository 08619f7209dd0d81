/* Random numbers for the simulator: xoshiro256** (Blackman & Vigna, 2018) seeded through
 * splitmix64. We carry our own generator instead of rand() so that a seed gives the same
 * world on every libc and no other code in the process can disturb the sequence. */
#include <math.h>

#include "sim_internal.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(struct sim_rng *rng, uint64_t seed, uint64_t stream)
{
    /* Mixing the stream number through splitmix64 first keeps streams of neighbouring seeds
     * apart; splitmix64 never yields an all-zero xoshiro state for four draws in a row. */
    uint64_t state = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&state);
}

uint64_t sim_rng_next(struct sim_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_rng_uniform(struct sim_rng *rng)
{
    /* 53 random bits, shifted by half a unit so neither 0 nor 1 comes out: log() and
     * divisions by the result stay finite. */
    return ((double)(sim_rng_next(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double sim_rng_range(struct sim_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_uniform(rng);
}

double sim_rng_normal(struct sim_rng *rng)
{
    /* Box-Muller; we throw the second value away to keep the generator stateless beyond s[]. */
    double u1 = sim_rng_uniform(rng);
    double u2 = sim_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * SIM_PI * u2);
}

double sim_rng_exponential(struct sim_rng *rng)
{
    return -log(sim_rng_uniform(rng));
}
