/*
 * siphash.h: SipHash-1-3, a keyed hash for tables whose keys come from
 * peers (client ids, topic levels), so that no peer can choose keys that
 * all land in one bucket.
 */
#ifndef STAPLEMQ_SIPHASH_H
#define STAPLEMQ_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* siphash.c */
uint64_t	siphash13(const uint64_t key[2], const void *, size_t);
/* Fill a key from getentropy(); falls back to time and addresses. */
void		siphash_key(uint64_t key[2]);

#endif
