/*
 * fuzz_proxy_proto.c: libFuzzer target for broker/proxy_proto.c.
 *
 * The input is what a peer sends first on a proxy_protocol listener.
 * Beyond not reading out of bounds, the result must be coherent with its
 * status, and with the status of shorter inputs: the decoder is called
 * again on growing buffers, so a prefix must never be refused when the
 * whole is not, and a header must never be accepted at a different length
 * depending on what follows it.  Prefixes are copied into buffers of their
 * own size, so ASan sees a read past the length given.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/proxy_proto.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)
#define ALL_PREFIXES	256	/* up to this size, try every prefix */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static enum proxy_status parse_copy(const uint8_t *, size_t,
		    struct proxy_result *);
static void	 check_result(enum proxy_status, size_t,
		    const struct proxy_result *);
static void	 check_prefix(const uint8_t *, size_t, size_t,
		    enum proxy_status, const struct proxy_result *);

static enum proxy_status
parse_copy(const uint8_t *data, size_t n, struct proxy_result *r)
{
	enum proxy_status	 st;
	uint8_t			*b;

	CHECK((b = malloc(n == 0 ? 1 : n)) != NULL);
	if (n > 0)
		memcpy(b, data, n);
	st = proxy_parse(b, n, r);
	free(b);
	check_result(st, n, r);
	return st;
}

static void
check_result(enum proxy_status st, size_t n, const struct proxy_result *r)
{
	int	 f = r->src.ss_family;

	switch (st) {
	case PROXY_OK:
		CHECK(r->reason == NULL);
		CHECK(r->len > 0 && r->len <= n && r->len <= PROXY_MAX);
		CHECK(r->version == 1 || r->version == 2);
		if (r->version == 1)
			CHECK(r->len <= PROXY_V1_MAX);
		else
			CHECK(r->len >= PROXY_V2_HDR);
		if (r->local)
			CHECK(f == AF_UNSPEC && r->dst.ss_family == AF_UNSPEC);
		else
			CHECK((f == AF_INET || f == AF_INET6) &&
			    r->dst.ss_family == f);
		break;
	case PROXY_NEED_MORE:
		CHECK(r->reason == NULL && !r->local);
		CHECK(r->len == 0 || (r->len > n && r->version == 2));
		CHECK(n == 0 ? r->version == 0 :
		    r->version == 1 || r->version == 2);
		CHECK(f == AF_UNSPEC && r->dst.ss_family == AF_UNSPEC);
		break;
	case PROXY_MALFORMED:
		CHECK(r->reason != NULL && r->reason[0] != '\0');
		CHECK(r->len == 0 && !r->local);
		CHECK(f == AF_UNSPEC && r->dst.ss_family == AF_UNSPEC);
		break;
	default:
		CHECK(0);
	}
}

/* What k bytes of data give, given what all n of them gave. */
static void
check_prefix(const uint8_t *data, size_t n, size_t k, enum proxy_status st,
    const struct proxy_result *r)
{
	struct proxy_result	 p;
	enum proxy_status	 pst;

	pst = parse_copy(data, k, &p);
	switch (st) {
	case PROXY_OK:
		if (k < r->len)
			CHECK(pst == PROXY_NEED_MORE);
		else
			CHECK(pst == PROXY_OK &&
			    memcmp(&p, r, sizeof(p)) == 0);
		break;
	case PROXY_NEED_MORE:
		CHECK(pst == PROXY_NEED_MORE);
		break;
	default:
		/* Refused at some length, and from then on. */
		if (pst == PROXY_MALFORMED && k < n)
			CHECK(parse_copy(data, k + 1, &p) == PROXY_MALFORMED);
		CHECK(pst != PROXY_OK);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_result	 r;
	enum proxy_status	 st;
	size_t			 k;

	st = proxy_parse(data, size, &r);
	check_result(st, size, &r);

	if (size <= ALL_PREFIXES) {
		for (k = 0; k < size; k++)
			check_prefix(data, size, k, st, &r);
	} else {
		check_prefix(data, size, size - 1, st, &r);
		check_prefix(data, size, size / 2, st, &r);
		check_prefix(data, size, PROXY_V2_HDR, st, &r);
		check_prefix(data, size, PROXY_V1_MAX, st, &r);
		if (st == PROXY_OK) {
			check_prefix(data, size, r.len, st, &r);
			check_prefix(data, size, r.len - 1, st, &r);
		}
	}
	return 0;
}
