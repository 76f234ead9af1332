/*
 * fuzz_snapshot.c: libFuzzer target for the snapshot reader
 * (ipc/snapshot.c), which the broker runs on files fetcherd wrote.
 *
 * The fuzz build defines FUZZING, which makes the reader skip the
 * checksum comparison (see snap_validate), so that mutated inputs reach
 * the structure checks.  A snapshot the reader accepts must then be safe
 * to use: every record is found again by its id, in strictly increasing
 * order, and every DER is read in full, all from a buffer of exactly the
 * input's size so that ASan sees any read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check_records(const struct snapshot *);
static void	 check_lookup(const struct snapshot *, const uint8_t *);

static void
check_records(const struct snapshot *s)
{
	const struct snap_staple	*r, *prev = NULL;
	const uint8_t			*der;
	volatile uint8_t		 sink = 0;
	size_t				 n, i, k, len;

	n = snapshot_nstaples(s);
	CHECK(snapshot_staple_at(s, n) == NULL);
	for (i = 0; i < n; i++) {
		CHECK((r = snapshot_staple_at(s, i)) != NULL);
		CHECK(snapshot_staple(s, r->cert_id) == r);
		if (prev != NULL)
			CHECK(memcmp(prev->cert_id, r->cert_id,
			    SNAP_ID_LEN) < 0);
		CHECK(r->reserved == 0);
		der = snapshot_staple_der(s, r, &len);
		if (r->state == SNAP_STAPLE_GOOD) {
			CHECK(der != NULL && len == r->der_len);
			CHECK(len > 0 && len <= SNAP_MAX_DER);
			for (k = 0; k < len; k++)
				sink ^= der[k];
		} else {
			CHECK(r->state == SNAP_STAPLE_REVOKED ||
			    r->state == SNAP_STAPLE_FAILED);
			CHECK(der == NULL && len == 0 && r->der_len == 0);
		}
		prev = r;
	}
	(void)sink;
}

/* An id taken from the input: found only if some record has it. */
static void
check_lookup(const struct snapshot *s, const uint8_t *id)
{
	const struct snap_staple	*r;
	size_t				 i, n;
	int				 present = 0;

	n = snapshot_nstaples(s);
	for (i = 0; i < n; i++)
		if (memcmp(snapshot_staple_at(s, i)->cert_id, id,
		    SNAP_ID_LEN) == 0)
			present = 1;
	r = snapshot_staple(s, id);
	CHECK((r != NULL) == present);
	if (r != NULL)
		CHECK(memcmp(r->cert_id, id, SNAP_ID_LEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot	*s;
	uint8_t		*b, id[SNAP_ID_LEN];
	char		 err[256];

	/* malloc: exact size for ASan, and aligned as the reader needs. */
	if ((b = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(b, data, size);
	err[0] = '\0';
	s = snapshot_from_buffer(b, size, err, sizeof(err));
	if (s == NULL) {
		CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	} else {
		check_records(s);
		/* The last 32 bytes: often a record's id, often not. */
		memcpy(id, data + size - SNAP_ID_LEN, SNAP_ID_LEN);
		check_lookup(s, id);
		memset(id, 0, sizeof(id));
		check_lookup(s, id);
		memset(id, 0xff, sizeof(id));
		check_lookup(s, id);
		snapshot_close(s);
	}
	free(b);
	return 0;
}
