/*
 * siphash.c: SipHash-1-3 (Aumasson and Bernstein), as in Rust's and
 * Python's hash tables: fast for short keys and keyed against flooding.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

uint64_t
siphash13(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v[4], m, b = (uint64_t)len << 56;
	size_t i, left = len & 7;

	v[0] = key[0] ^ 0x736f6d6570736575ULL;
	v[1] = key[1] ^ 0x646f72616e646f6dULL;
	v[2] = key[0] ^ 0x6c7967656e657261ULL;
	v[3] = key[1] ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);	/* little-endian hosts only */
		v[3] ^= m;
		sipround(v);
		v[0] ^= m;
	}
	for (i = 0; i < left; i++)
		b |= (uint64_t)p[len - left + i] << (8 * i);
	v[3] ^= b;
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	sipround(v);
	sipround(v);
	sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void
siphash_key(uint64_t key[2])
{
	struct timespec ts;

	if (getentropy(key, 2 * sizeof(uint64_t)) == 0)
		return;
	/* Weaker, but a table must still work without getrandom(2). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	    (uintptr_t)key;
	key[1] = (uint64_t)ts.tv_sec ^ ((uintptr_t)&ts << 17) ^ getpid();
}
