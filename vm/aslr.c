// The ASLR generator and policy. See aslr.h.
#include "vm/aslr.h"

#include "kernel/spinlock.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void aslr_prng_seed(struct aslr_prng *p, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        p->s[i] = splitmix64(&seed);
}

uint64_t aslr_prng_next(struct aslr_prng *p) {
    uint64_t *s = p->s;
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

uint64_t aslr_prng_below(struct aslr_prng *p, uint64_t bound) {
    // Rejects the top partial copy of [0, bound) so every value is equally likely.
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do {
        x = aslr_prng_next(p);
    } while (x >= limit);
    return x % bound;
}

static struct spinlock aslr_lock = SPINLOCK_INIT("aslr");
static struct aslr_prng global_prng;
static bool enabled = true;
static bool initialized;

void aslr_init(bool on, uint64_t seed) {
    irqstate_t s = spin_lock_irqsave(&aslr_lock);
    initialized = true;
    enabled = on;
    aslr_prng_seed(&global_prng, seed);
    spin_unlock_irqrestore(&aslr_lock, s);
}

bool aslr_initialized(void) {
    return initialized;
}

bool aslr_enabled(void) {
    return enabled;
}

uint64_t aslr_next_seed(void) {
    irqstate_t s = spin_lock_irqsave(&aslr_lock);
    uint64_t v = aslr_prng_next(&global_prng);
    spin_unlock_irqrestore(&aslr_lock, s);
    return v;
}
