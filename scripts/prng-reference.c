/* Test vectors for src/core/prng.ts: the reference next() of xoshiro128** (Blackman and Vigna,
   prng.di.unimi.it/xoshiro128starstar.c, public domain) and MurmurHash3's fmix32 (Appleby,
   MurmurHash3.cpp, public domain). Run: gcc -O2 -o /tmp/prng scripts/prng-reference.c && /tmp/prng */
#include <stdint.h>
#include <stdio.h>
static inline uint32_t rotl(const uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static uint32_t s[4];
uint32_t next(void) {
	const uint32_t result = rotl(s[1] * 5, 7) * 9;
	const uint32_t t = s[1] << 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 11);
	return result;
}
static uint32_t fmix32(uint32_t h) { h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16; return h; }
int main(void) {
	s[0] = 1; s[1] = 2; s[2] = 3; s[3] = 4;
	for (int i = 0; i < 8; i++) printf("%u%s", next(), i < 7 ? ", " : "\n");
	/* seed 42: a Weyl sequence x += 0x9e3779b9 through fmix32 gives the state */
	uint32_t x = 42;
	for (int i = 0; i < 4; i++) { x += 0x9e3779b9; s[i] = fmix32(x); }
	for (int i = 0; i < 8; i++) printf("%u%s", next(), i < 7 ? ", " : "\n");
	return 0;
}
