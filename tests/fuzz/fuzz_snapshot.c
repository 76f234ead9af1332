/*
 * fuzz_snapshot.c: libFuzzer target for the snapshot reader
 * (ipc/snapshot.c), which the broker runs on files fetcherd wrote.
 *
 * The fuzz build defines FUZZING, which makes the reader skip the
 * checksum comparison (see snap_validate), so that mutated inputs reach
 * the structure checks.  A snapshot the reader accepts must then be safe
 * to use: every record of the three kinds is found again by its key, in
 * strictly increasing order, the records of an issuer are exactly the run
 * snapshot_crls_of() reports, and every DER is read in full, all from a
 * buffer of exactly the input's size so that ASan sees any read past its
 * end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check_staples(const struct snapshot *);
static void	 check_crls(const struct snapshot *);
static void	 check_ocsps(const struct snapshot *);
static void	 check_lookup(const struct snapshot *, const uint8_t *);

static void
check_staples(const struct snapshot *s)
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

/*
 * Every CRL record: found by its key, sorted, valid, and inside the run
 * of its issuer, which holds that issuer's records and no other.
 */
static void
check_crls(const struct snapshot *s)
{
	const struct snap_crl	*r, *prev = NULL;
	char			 why[128];
	size_t			 n, i, k, first, cnt;

	n = snapshot_ncrls(s);
	CHECK(snapshot_crl_at(s, n) == NULL);
	for (i = 0; i < n; i++) {
		CHECK((r = snapshot_crl_at(s, i)) != NULL);
		CHECK(snapshot_crl(s, r->issuer_id, r->dp_id) == r);
		CHECK(snap_crl_check(r, why, sizeof(why)) == 0);
		if (prev != NULL)
			CHECK(memcmp(prev, r, 2 * SNAP_ID_LEN) < 0);
		if (r->state == SNAP_CRL_FAILED)
			CHECK(r->count == 0);
		else
			CHECK(r->state == SNAP_CRL_OK &&
			    r->count <= CRL_TABLE_MAX_ENTRIES);
		cnt = snapshot_crls_of(s, r->issuer_id, &first);
		CHECK(cnt > 0 && first <= i && i < first + cnt &&
		    first + cnt <= n);
		for (k = first; k < first + cnt; k++)
			CHECK(memcmp(snapshot_crl_at(s, k)->issuer_id,
			    r->issuer_id, SNAP_ID_LEN) == 0);
		if (first > 0)
			CHECK(memcmp(snapshot_crl_at(s, first - 1)->issuer_id,
			    r->issuer_id, SNAP_ID_LEN) < 0);
		if (first + cnt < n)
			CHECK(memcmp(snapshot_crl_at(s, first + cnt)->issuer_id,
			    r->issuer_id, SNAP_ID_LEN) > 0);
		prev = r;
	}
}

static void
check_ocsps(const struct snapshot *s)
{
	const struct snap_ocsp	*r, *prev = NULL;
	char			 why[128];
	size_t			 n, i;

	n = snapshot_nocsp(s);
	CHECK(snapshot_ocsp_at(s, n) == NULL);
	for (i = 0; i < n; i++) {
		CHECK((r = snapshot_ocsp_at(s, i)) != NULL);
		CHECK(snapshot_ocsp(s, r->cert_id) == r);
		CHECK(snap_ocsp_check(r, why, sizeof(why)) == 0);
		if (prev != NULL)
			CHECK(memcmp(prev->cert_id, r->cert_id,
			    SNAP_ID_LEN) < 0);
		if (r->status != SNAP_OCSP_REVOKED)
			CHECK(r->revoked_at == 0 && r->reason == -1);
		prev = r;
	}
}

/*
 * An id taken from the input, looked up as each kind of key: found only
 * if some record has it, the same answer a linear scan gives.
 */
static void
check_lookup(const struct snapshot *s, const uint8_t *id)
{
	const struct snap_staple	*r;
	const struct snap_crl		*c;
	const struct snap_ocsp		*o;
	size_t				 i, n, first, cnt, by_issuer = 0;
	int				 present = 0, crl_present = 0;
	int				 ocsp_present = 0;

	n = snapshot_nstaples(s);
	for (i = 0; i < n; i++)
		if (memcmp(snapshot_staple_at(s, i)->cert_id, id,
		    SNAP_ID_LEN) == 0)
			present = 1;
	r = snapshot_staple(s, id);
	CHECK((r != NULL) == present);
	if (r != NULL)
		CHECK(memcmp(r->cert_id, id, SNAP_ID_LEN) == 0);

	/* As an issuer, and as (issuer, dp) with the id twice. */
	n = snapshot_ncrls(s);
	for (i = 0; i < n; i++) {
		c = snapshot_crl_at(s, i);
		if (memcmp(c->issuer_id, id, SNAP_ID_LEN) != 0)
			continue;
		by_issuer++;
		if (memcmp(c->dp_id, id, SNAP_ID_LEN) == 0)
			crl_present = 1;
	}
	cnt = snapshot_crls_of(s, id, &first);
	CHECK(cnt == by_issuer && first <= n);
	c = snapshot_crl(s, id, id);
	CHECK((c != NULL) == crl_present);

	n = snapshot_nocsp(s);
	for (i = 0; i < n; i++)
		if (memcmp(snapshot_ocsp_at(s, i)->cert_id, id,
		    SNAP_ID_LEN) == 0)
			ocsp_present = 1;
	o = snapshot_ocsp(s, id);
	CHECK((o != NULL) == ocsp_present);
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
		check_staples(s);
		check_crls(s);
		check_ocsps(s);
		/* The last 32 bytes: often a record's id, often not. */
		memcpy(id, data + size - SNAP_ID_LEN, SNAP_ID_LEN);
		check_lookup(s, id);
		/* The first record's keys, when there is one. */
		if (snapshot_ncrls(s) > 0)
			check_lookup(s, snapshot_crl_at(s, 0)->issuer_id);
		if (snapshot_nocsp(s) > 0)
			check_lookup(s, snapshot_ocsp_at(s, 0)->cert_id);
		memset(id, 0, sizeof(id));
		check_lookup(s, id);
		memset(id, 0xff, sizeof(id));
		check_lookup(s, id);
		snapshot_close(s);
	}
	free(b);
	return 0;
}
