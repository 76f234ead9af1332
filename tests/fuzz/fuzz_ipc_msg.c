/*
 * fuzz_ipc_msg.c: libFuzzer target for ipc_msg_check and
 * ipc_req_fetch_decode (ipc/notify.c), run by the broker on every note
 * and reply and by fetcherd on every request.
 *
 * The input is checked from a buffer of exactly its size, so that ASan
 * sees any read past the length given.  An accepted message must have the
 * size its type allows, and the checks leave no freedom where there is
 * none to leave: an accepted note or status reply is byte for byte what
 * its encoder makes.  An accepted fetch request that decodes is encoded
 * again from what was decoded, and that must be accepted and decode to
 * the same URL and certificates.  Anything refused is refused by the
 * decoder too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "notify.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check_accepted(const uint8_t *, size_t, int);
static void	 check_fetch(const uint8_t *, size_t, int);
static void	 check_reencoded(int, const char *, size_t, STACK_OF(X509) *);

/* Encode again what was decoded; it must come back the same. */
static void
check_reencoded(int type, const char *url, size_t url_len,
    STACK_OF(X509) *chain)
{
	STACK_OF(X509)	*rest, *again;
	const char	*u2;
	uint8_t		*b;
	char		*u;
	size_t		 len, ulen2;
	int		 i;

	if ((b = malloc(IPC_MAX_MSG)) == NULL ||
	    (u = malloc(url_len + 1)) == NULL ||
	    (rest = sk_X509_new_null()) == NULL)
		abort();
	if (url_len > 0)
		memcpy(u, url, url_len);
	u[url_len] = '\0';
	for (i = 1; i < sk_X509_num(chain); i++)
		if (sk_X509_push(rest, sk_X509_value(chain, i)) == 0)
			abort();
	/* 0 only if OpenSSL cannot encode what it parsed. */
	len = ipc_req_fetch_encode(b, IPC_MAX_MSG, (enum ipc_type)type, u,
	    sk_X509_value(chain, 0), rest);
	if (len > 0) {
		CHECK(ipc_msg_check(b, len, NULL) == type);
		CHECK(ipc_req_fetch_decode(b, len, &u2, &ulen2, &again) == 0);
		CHECK(ulen2 == url_len);
		CHECK(url_len == 0 || memcmp(u2, url, url_len) == 0);
		CHECK(sk_X509_num(again) == sk_X509_num(chain));
		for (i = 0; i < sk_X509_num(chain); i++)
			CHECK(X509_cmp(sk_X509_value(again, i),
			    sk_X509_value(chain, i)) == 0);
		sk_X509_pop_free(again, X509_free);
	}
	sk_X509_free(rest);	/* borrowed from chain */
	free(u);
	free(b);
}

static void
check_fetch(const uint8_t *b, size_t size, int type)
{
	struct ipc_req_fetch	 f;
	STACK_OF(X509)		*chain;
	const char		*url;
	size_t			 ulen, k;

	memcpy(&f, b, sizeof(f));
	CHECK(size == sizeof(f) + (uint64_t)f.url_len + f.chain_len);
	CHECK(f.url_len <= IPC_MAX_URL && f.chain_len > 0);
	CHECK(type == IPC_REQ_OCSP || f.url_len > 0);
	for (k = 0; k < f.url_len; k++)
		CHECK(b[sizeof(f) + k] > 0x20 && b[sizeof(f) + k] < 0x7f);
	if (ipc_req_fetch_decode(b, size, &url, &ulen, &chain) == -1) {
		CHECK(chain == NULL && url == NULL && ulen == 0);
		return;
	}
	CHECK(ulen == f.url_len);
	CHECK((url == NULL) == (ulen == 0));
	CHECK(url == NULL || url == (const char *)b + sizeof(f));
	CHECK(sk_X509_num(chain) >= 1 &&
	    sk_X509_num(chain) <= IPC_MAX_CHAIN_CERTS);
	check_reencoded(type, url, ulen, chain);
	sk_X509_pop_free(chain, X509_free);
}

static void
check_accepted(const uint8_t *b, size_t size, int type)
{
	struct ipc_note_published	 n;
	struct ipc_rep_status		 st;
	uint64_t			 gen;

	switch (type) {
	case IPC_NOTE_PUBLISHED:
		CHECK(size == sizeof(struct ipc_note_published));
		gen = ipc_msg_generation(b);
		CHECK(ipc_note_encode(&n, sizeof(n), gen) == sizeof(n));
		CHECK(memcmp(&n, b, sizeof(n)) == 0);
		break;
	case IPC_REP_PONG:
		CHECK(size == sizeof(struct ipc_rep_pong));
		(void)ipc_msg_generation(b);
		break;
	case IPC_REQ_PING:
		CHECK(size == sizeof(struct ipc_hdr));
		break;
	case IPC_REP_STATUS:
		CHECK(size == sizeof(struct ipc_rep_status));
		CHECK(ipc_rep_status_encode(&st, sizeof(st),
		    ipc_msg_status(b)) == sizeof(st));
		CHECK(memcmp(&st, b, sizeof(st)) == 0);
		break;
	case IPC_REQ_CRL:
	case IPC_REQ_OCSP:
		check_fetch(b, size, type);
		break;
	default:
		CHECK(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509)	*chain = NULL;
	const char	*why = NULL, *url;
	uint8_t		*b;
	size_t		 ulen;
	int		 type;

	if ((b = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(b, data, size);
	type = ipc_msg_check(b, size, &why);
	if (type == -1) {
		CHECK(why != NULL && why[0] != '\0');
		CHECK(ipc_req_fetch_decode(b, size, &url, &ulen, &chain) ==
		    -1 && chain == NULL);
	} else {
		CHECK(why == NULL);
		check_accepted(b, size, type);
	}
	free(b);
	return 0;
}
