/*
 * ipc_req_client.c: a broker's side of the request socket, for the
 * integration tests: send IPC_REQ_CRL or IPC_REQ_OCSP for a certificate
 * chain and print fetcherd's answer, one line per request:
 *
 *     ipc_req_client RUNTIME_DIR crl|ocsp CHAIN.pem [URL] [COUNT]
 *
 * CHAIN.pem holds the client certificate first, then its CAs.  COUNT
 * (1) sends the same request that many times, one after the other, as
 * fast as the answers come.  Prints ACCEPTED, REFUSED, RATE_LIMITED,
 * MALFORMED, or TIMEOUT (no answer within CLIENT_TIMEOUT_MS; fetcherd
 * answers malformed requests with silence); exit 0 unless the request
 * could not be made.  Built by tests/integration/test_crl_fetcherd.py with
 * ipc/notify.c, common/log.c and common/xmalloc.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ipc_proto.h"
#include "log.h"
#include "notify.h"

#define CLIENT_TIMEOUT_MS	10000
#define CLIENT_BUF		(IPC_MAX_MSG)

static const char *
status_name(uint32_t st)
{
	switch (st) {
	case IPC_ST_ACCEPTED:
		return "ACCEPTED";
	case IPC_ST_REFUSED:
		return "REFUSED";
	case IPC_ST_RATE_LIMITED:
		return "RATE_LIMITED";
	case IPC_ST_MALFORMED:
		return "MALFORMED";
	default:
		return "UNKNOWN";
	}
}

static int
load_chain(const char *path, X509 **leaf, STACK_OF(X509) **rest)
{
	FILE *fp;
	X509 *x;

	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	*leaf = PEM_read_X509(fp, NULL, NULL, NULL);
	*rest = sk_X509_new_null();
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(*rest, x);
	fclose(fp);
	return *leaf != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	nng_socket sock;
	X509 *leaf = NULL;
	STACK_OF(X509) *rest = NULL;
	uint8_t *buf;
	const char *url, *why;
	char addr[4096];
	size_t n, len;
	void *msg;
	uint32_t status;
	int count, i, rv, type;

	if (argc < 4) {
		fprintf(stderr, "usage: ipc_req_client RUNTIME_DIR crl|ocsp "
		    "CHAIN.pem [URL] [COUNT]\n");
		return 2;
	}
	log_init("ipc_req_client", LOG_LVL_WARNING, false);
	type = strcmp(argv[2], "crl") == 0 ? IPC_REQ_CRL : IPC_REQ_OCSP;
	url = argc > 4 && argv[4][0] != '\0' ? argv[4] : NULL;
	count = argc > 5 ? atoi(argv[5]) : 1;
	if (load_chain(argv[3], &leaf, &rest) == -1)
		return 2;
	if ((buf = malloc(CLIENT_BUF)) == NULL ||
	    (n = ipc_req_fetch_encode(buf, CLIENT_BUF, type, url, leaf,
	    rest)) == 0) {
		fprintf(stderr, "cannot encode the request\n");
		return 2;
	}
	snprintf(addr, sizeof(addr), "ipc://%s/%s", argv[1], IPC_REQUEST_SOCK);
	/* Resent like the broker's, should a reply get lost. */
	if ((rv = nng_req0_open(&sock)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO,
	    CLIENT_TIMEOUT_MS)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME,
	    NOTIFY_REQ_RESEND_MS)) != 0 ||
	    (rv = nng_dial(sock, addr, NULL, 0)) != 0) {
		fprintf(stderr, "%s: %s\n", addr, nng_strerror(rv));
		return 2;
	}
	for (i = 0; i < count; i++) {
		if ((rv = nng_send(sock, buf, n, 0)) != 0) {
			fprintf(stderr, "send: %s\n", nng_strerror(rv));
			return 2;
		}
		if ((rv = nng_recv(sock, &msg, &len, NNG_FLAG_ALLOC)) != 0) {
			printf("%s\n", rv == NNG_ETIMEDOUT ? "TIMEOUT" :
			    nng_strerror(rv));
			continue;
		}
		if (ipc_msg_check(msg, len, &why) != IPC_REP_STATUS) {
			printf("BAD REPLY (%s)\n", why ? why : "not a status");
			nng_free(msg, len);
			continue;
		}
		status = ipc_msg_status(msg);
		nng_free(msg, len);
		printf("%s\n", status_name(status));
		fflush(stdout);
	}
	nng_close(sock);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	free(buf);
	return 0;
}
