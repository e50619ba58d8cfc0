// Address-space layout randomisation: the pseudo-random numbers that place VMARs and mappings
// that were not given a specific address. The generator is pure (host tests seed it); kmain seeds
// the global one once at boot from the TSC, and the command line switch `aslr=0` turns
// randomisation off (placement is then lowest-address first fit).
//
// Not cryptographic: xoshiro256** over a splitmix64-expanded seed.
#ifndef VM_ASLR_H
#define VM_ASLR_H

#include <stdbool.h>
#include <stdint.h>

struct aslr_prng {
    uint64_t s[4];
};

// Seeds `p` from one 64-bit value (any value, 0 included).
void aslr_prng_seed(struct aslr_prng *p, uint64_t seed);
uint64_t aslr_prng_next(struct aslr_prng *p);
// A number in [0, bound) (bound > 0), without modulo bias.
uint64_t aslr_prng_below(struct aslr_prng *p, uint64_t bound);

// The boot-time policy: whether non-specific placement is randomised, and the seed of the
// generator that seeds each new address space's. Set up once, before the first vm_aspace_create,
// by aslr_init (kernel: kmain, from the command line and the TSC; host tests: their environment).
void aslr_init(bool enabled, uint64_t seed);
bool aslr_enabled(void);
// A fresh seed from the global generator (for a new address space).
uint64_t aslr_next_seed(void);

// True once aslr_init has run.
bool aslr_initialized(void);

#endif  // VM_ASLR_H
