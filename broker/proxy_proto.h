/*
 * proxy_proto.h: HAProxy PROXY protocol header decoding, versions 1 (text)
 * and 2 (binary), for listeners with proxy_protocol enabled.
 *
 * A pure decoder: no I/O, no globals, no logging, no allocation.  It
 * depends on libc alone so that the unit test and the fuzz target link it
 * by itself.  The caller logs out->reason, naming the peer.
 *
 * Use: append received bytes to a buffer and call proxy_parse() on all of
 * it until it stops answering PROXY_NEED_MORE.  On PROXY_OK, consume
 * out->len bytes; whatever follows is the client's first MQTT (or TLS)
 * bytes and must be kept.  The decoder never reads past len, nor past the
 * header it reports, so the caller may read greedily.
 *
 * Refusing early: PROXY_NEED_MORE is answered only while the bytes seen so
 * far can still begin a valid header.  A client that speaks MQTT or TLS to
 * a proxy_protocol listener (first byte 0x10 or 0x16) is refused on its
 * first byte, not after a timeout.  Inside a v1 address the check is by
 * character class and length; the address itself is checked with
 * inet_pton() once its terminating space arrives.
 *
 * What counts as local (out->local, keep the socket's own peer address):
 * v1 "UNKNOWN"; v2 LOCAL (health checks from the proxy itself); v2 PROXY
 * with family AF_UNSPEC or AF_UNIX, or with a transport other than STREAM,
 * as HAProxy does ("unsupported protocol, keep local connection address").
 *
 * Strictness, v1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP
 * dport CRLF, or "PROXY UNKNOWN" followed by anything up to CRLF; single
 * spaces; addresses of the named family as inet_pton() reads them (which
 * refuses IPv4 octets with leading zeros); ports 0..65535 in decimal with
 * no sign and no leading zero; at most 107 bytes in all (the spec's limit).
 *
 * Strictness, v2: the 12-byte signature; version 2; command LOCAL or
 * PROXY; for PROXY, a family of 0..3 and a transport of 0..2 (the spec
 * says receivers must reject others) and a length that holds the address
 * block of its family.  The 16-bit length bounds everything: a v2 header is
 * never longer than PROXY_V2_MAX.  TLVs after the address block are walked
 * to check that each one fits, then skipped; their contents (ALPN,
 * authority, SSL, CRC32C) are not used.  LOCAL and local PROXY headers are
 * skipped whole, unread, as the spec says to discard them.
 */
#ifndef STAPLEMQ_PROXY_PROTO_H
#define STAPLEMQ_PROXY_PROTO_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX		107		/* bytes, including CRLF */
#define PROXY_V2_HDR		16		/* signature .. length field */
#define PROXY_V2_MAX		(PROXY_V2_HDR + 65535)
#define PROXY_MAX		PROXY_V2_MAX	/* the most to buffer */

enum proxy_status {
	PROXY_OK,
	PROXY_NEED_MORE,		/* a valid prefix; read more */
	PROXY_MALFORMED			/* close the connection */
};

/*
 * What proxy_parse() found.  Fields not listed for a status are zero, and
 * src and dst then have family AF_UNSPEC.
 *
 * PROXY_OK: len, version and local; src and dst hold the client's and the
 * proxy's addresses (AF_INET or AF_INET6, ports filled in) unless local.
 * PROXY_NEED_MORE: version (the first byte tells); len is the whole
 * header's length once it is known (v2, from 16 bytes on), else 0.
 * PROXY_MALFORMED: reason, a static string for the log; version if the
 * first byte matched a signature, else 0.
 */
struct proxy_result {
	size_t			 len;		/* header bytes to consume */
	int			 version;	/* 1 or 2 */
	bool			 local;		/* use the socket's addresses */
	struct sockaddr_storage	 src;		/* the real client */
	struct sockaddr_storage	 dst;		/* where it connected to */
	const char		*reason;	/* static; MALFORMED only */
};

/* proxy_proto.c */
enum proxy_status proxy_parse(const uint8_t *, size_t, struct proxy_result *);

#endif
