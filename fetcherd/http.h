/*
 * http.h: HTTP(S) fetching for staplemq-fetcherd, libcurl's multi
 * interface driven by the process's libevent loop (curl's hiperfifo.c).
 *
 * Many requests run at once on one struct http.  Only http and https URLs
 * are fetched, redirects only when asked and only to http(s), and a body
 * larger than the request's max_size aborts the transfer.
 *
 * Ownership: http_request() copies everything in the request it needs.
 * Each accepted request owns one context, released in one place after its
 * done callback returns; the callback is called exactly once per accepted
 * request, never from within http_request(), and also (with error
 * "cancelled") for requests still running when http_free() is called.
 * Everything a struct http_result points to belongs to http and lives only
 * until the callback returns: copy what you keep.  The callback may start
 * new requests; it must not call http_free().
 */
#ifndef STAPLEMQ_HTTP_H
#define STAPLEMQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define HTTP_MAX_REDIRECTS	3	/* the most a request may follow */
#define HTTP_MAX_VALIDATOR	256	/* longest ETag/Last-Modified kept */

struct http;

/* One request; the strings are copied, NULL fields are left out. */
struct http_request {
	const char	*url;		/* http:// or https:// */
	const uint8_t	*post_body;	/* NULL: GET */
	size_t		 post_len;
	const char	*content_type;	/* of post_body */
	const char	*accept;	/* Accept header */
	const char	*if_none_match;	/* an ETag from an earlier answer */
	const char	*if_modified_since; /* a Last-Modified from one */
	int64_t		 timeout_ms;	/* whole transfer; > 0 */
	size_t		 max_size;	/* largest body accepted; > 0 */
	int		 max_redirects;	/* 0 .. HTTP_MAX_REDIRECTS */
	const char	*cafile;	/* https: CAs; NULL: the system's */
};

/* What became of a request.  All pointers are owned by http. */
struct http_result {
	const char	*url;		/* as requested */
	int		 curl_code;	/* CURLcode; 0: transfer complete */
	long		 status;	/* HTTP status; 0: no answer */
	const uint8_t	*body;		/* never NULL; len may be 0 */
	size_t		 len;
	const char	*error;		/* NULL iff curl_code is 0 */
	int64_t		 max_age;	/* Cache-Control max-age, s; -1: none */
	int64_t		 age;		/* Age, s; -1: none */
	const char	*etag;		/* NULL: none */
	const char	*last_modified;	/* NULL: none */
	int64_t		 elapsed_ms;
};

/* http.c */
/* NULL on failure (logged).  Initializes libcurl on first use. */
struct http	*http_new(struct event_base *);
/* Cancels what is still running (callbacks see "cancelled"); NULL ok. */
void		 http_free(struct http *);
/* CA certificates for https, PEM; NULL: the system's.  0 or -1. */
/* 0: started, done(arg, result) will follow; -1: refused (logged). */
int		 http_request(struct http *, const struct http_request *,
		    void (*)(void *, const struct http_result *), void *);
/* Requests running now. */
size_t		 http_running(const struct http *);

#endif
