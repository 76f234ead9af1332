/*
 * crl_ingest.h: turning the bytes of a downloaded or local CRL into the
 * entries of a CRL table (ipc/crl_table.h), after deciding whether it may
 * be trusted at all.  The one place that says so (STYLE.md habit 9).
 *
 * Pure: no I/O, no clock, no logging, no globals; nothing left on
 * OpenSSL's error queue.  The caller passes "now" (seconds since the
 * epoch) and what it knows of the CRL it has, so the same bytes give the
 * same verdict in a test, in the fuzzer and in fetcherd.
 *
 * What crl_ingest() accepts:
 *   - one CRL, DER or PEM ("-----BEGIN X509 CRL-----"), nothing after it
 *     but white space;
 *   - issued by one of cas: the issuer name matches the CA's subject and
 *     the signature verifies with its key (X509_CRL_verify); a CA whose
 *     keyUsage leaves out cRLSign is not a candidate;
 *   - thisUpdate at most CRL_INGEST_SKEW ahead of now; nextUpdate, when
 *     present, after thisUpdate.  A CRL without nextUpdate is accepted
 *     (RFC 5280 requires it, some CAs leave it out): fetcherd refreshes it
 *     every crl_cache.refresh_interval and publishes next_update 0, which
 *     brokers read as "no staleness limit from the CRL itself".  One past
 *     its nextUpdate is accepted too (expired is set): what it lists is
 *     still revoked, and brokers apply crl_cache.stale_grace;
 *   - a full CRL: a deltaCRLIndicator is refused, and so is an indirect
 *     CRL (issuingDistributionPoint with indirectCRL, or an entry with a
 *     certificateIssuer), since its entries may belong to another CA;
 *   - no critical extension other than those understood here (CRL number,
 *     authority key identifier, issuer alternative name, issuing
 *     distribution point; on entries: reason, invalidity date, hold
 *     instruction);
 *   - a CRL number, when present, of 1 to CRL_SERIAL_MAX octets and not
 *     negative; not lower than the previous CRL's.  An equal number is
 *     the same CRL again: unchanged is set and no entries are extracted.
 *     When either CRL has no number, one whose thisUpdate is older than
 *     the previous one's is refused instead;
 *   - at most CRL_TABLE_MAX_ENTRIES entries.
 * Entries are sorted as the table wants them (crl_entry_cmp); a serial
 * listed twice is kept once, with its earliest revocation time.  An
 * entry's reason is its CRLReason, CRL_TABLE_REASON_NONE without one, and
 * unspecified (0) for a value RFC 5280 does not define: the certificate
 * is revoked all the same.  A serial that a table cannot hold (longer
 * than CRL_SERIAL_MAX octets, or negative) is skipped and counted: RFC
 * 5280 4.1.2.2 allows no certificate to carry one, and a broker must
 * refuse a certificate that does, or such an entry would fail open.
 */
#ifndef STAPLEMQ_CRL_INGEST_H
#define STAPLEMQ_CRL_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ipc_proto.h"

#define CRL_INGEST_SKEW		60	/* s a thisUpdate may lead now */
#define CRL_INGEST_REASON_LEN	160	/* bytes of reason */
#define CRL_INGEST_NAME_LEN	256	/* bytes of issuer */

/*
 * What crl_ingest() found.  entries is malloc'ed and belongs to the
 * result (crl_ingest_result_free); the rest is plain data.  On refusal
 * only reason is meaningful.
 */
struct crl_ingest_result {
	uint8_t			 issuer_id[SNAP_ID_LEN]; /* SHA-256 of the
							  * CA's subject DER */
	char			 issuer[CRL_INGEST_NAME_LEN]; /* for logs */
	int64_t			 this_update;	/* unix seconds */
	int64_t			 next_update;	/* 0: none given */
	uint8_t			 number[CRL_SERIAL_MAX]; /* big-endian */
	size_t			 number_len;	/* 0: no CRL number */
	bool			 unchanged;	/* same number as prev */
	bool			 expired;	/* now >= next_update */
	struct crl_entry	*entries;	/* sorted, n of them */
	size_t			 n;
	size_t			 skipped;	/* serials no table holds */
	size_t			 duplicates;	/* serials listed again */
	char			 reason[CRL_INGEST_REASON_LEN]; /* "" if ok */
};

/* crl_ingest.c */
/*
 * Parse and verify len bytes of CRL against cas (not modified, nothing
 * kept).  prev (NULL: none) is the header of the table fetcherd holds for
 * this source: its CRL number and thisUpdate.  Returns 0 with out filled
 * in, or -1 with out->reason saying why (and nothing allocated).
 */
int	crl_ingest(const uint8_t *buf, size_t len, STACK_OF(X509) *cas,
	    int64_t now, const struct crl_table_header *prev,
	    struct crl_ingest_result *out);
/*
 * The entries alone: der is the content of a revokedCertificates
 * SEQUENCE.  Fills out->entries, n, skipped and duplicates of a zeroed
 * out (sorted, duplicates merged), or returns -1 with out->reason.
 * crl_ingest() calls it once the signature is verified; the fuzzer calls
 * it directly, since it cannot sign what it mutates.
 */
int	crl_ingest_entries(const uint8_t *der, size_t len,
	    struct crl_ingest_result *out);
/* The header template crl_table_write() takes for a result. */
void	crl_ingest_header(const struct crl_ingest_result *,
	    struct crl_table_header *);
/* Frees entries; the struct itself is the caller's.  NULL is fine. */
void	crl_ingest_result_free(struct crl_ingest_result *);

#endif
