/*
 * http.c: HTTP(S) requests on the fetcher's event loop.  libcurl's multi
 * interface tells us which sockets to watch and when to time out; libevent
 * watches them and hands activity back (curl's hiperfifo.c pattern).
 *
 * A request is a struct http_fetch, its one context: created by
 * http_request(), released only by fetch_done() once its callback has
 * returned.  Bodies are capped while they arrive; only http and https are
 * spoken, including after a redirect.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"
#include "log.h"

#define HTTP_PROTOCOLS		"http,https"
#define HTTP_USER_AGENT		"staplemq-fetcherd/" STAPLEMQ_VERSION
#define HTTP_HEADER_MAX		1024	/* longer header lines are skipped */
#define HTTP_BODY_FIRST		4096	/* first body allocation */
#define HTTP_DELTA_MAX		INT64_C(2147483648) /* RFC 9111 1.2.2 */

/* A socket curl asked us to watch; curl_multi_assign()ed to its fd. */
struct http_sock {
	TAILQ_ENTRY(http_sock)	 entry;
	struct http		*http;
	struct event		*ev;
	curl_socket_t		 fd;
};

/* One request, owned by http from http_request() to fetch_done(). */
struct http_fetch {
	TAILQ_ENTRY(http_fetch)	 entry;
	struct http		*http;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*url;
	uint8_t			*body;
	size_t			 len, cap, max;
	int			 added;		/* to the multi handle */
	int			 too_large, no_memory;
	int64_t			 max_age, age;
	char			*etag, *last_modified;
	void			(*done)(void *, const struct http_result *);
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 why[CURL_ERROR_SIZE + 64];
};

struct http {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	TAILQ_HEAD(, http_fetch) fetches;
	TAILQ_HEAD(, http_sock)	 socks;
	size_t			 nfetches;
	int			 running;	/* curl's count */
	int			 closing;
};

static unsigned http_users;	/* struct https alive: curl_global_* */

static void	 http_sock_free(struct http *, struct http_sock *);
static int	 http_sock_cb(CURL *, curl_socket_t, int, void *, void *);
static void	 http_sock_event_cb(evutil_socket_t, short, void *);
static int	 http_timer_cb(CURLM *, long, void *);
static void	 http_timeout_cb(evutil_socket_t, short, void *);
static void	 http_check_done(struct http *);
static size_t	 http_write_cb(char *, size_t, size_t, void *);
static size_t	 http_header_cb(char *, size_t, size_t, void *);
static void	 http_header_line(struct http_fetch *, char *);
static int64_t	 http_delta_seconds(const char *);
static void	 http_cache_control(struct http_fetch *, char *);
static char	*http_trim(char *);
static int	 http_header_ok(const char *);
static int	 http_add_header(struct http_fetch *, const char *,
		    const char *);
static int	 fetch_setup(struct http_fetch *, const struct http_request *);
static void	 fetch_finish(struct http_fetch *, CURLcode);
static void	 fetch_done(struct http_fetch *);

/* --- sockets and timer (libevent <-> curl) -------------------------------- */

static void
http_sock_free(struct http *h, struct http_sock *s)
{
	if (s == NULL)
		return;
	if (s->ev != NULL)
		event_free(s->ev);
	TAILQ_REMOVE(&h->socks, s, entry);
	free(s);
}

/* curl: watch fd for what (or stop); s is what we assigned to it. */
static int
http_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *sockp)
{
	struct http *h = userp;
	struct http_sock *s = sockp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		http_sock_free(h, s);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			log_warn("socket %d", (int)fd);
			return -1;
		}
		s->http = h;
		s->fd = fd;
		TAILQ_INSERT_TAIL(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	}
	if (s->ev != NULL)
		event_free(s->ev);
	if ((s->ev = event_new(h->base, fd, kind, http_sock_event_cb,
	    h)) == NULL || event_add(s->ev, NULL) == -1) {
		log_warnx("cannot watch socket %d", (int)fd);
		return -1;
	}
	return 0;
}

static void
http_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int action;

	action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(h->multi, fd, action, &h->running);
	http_check_done(h);
}

/* curl: call back in timeout_ms (-1: never). */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(h->timer);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	/* Never run curl from inside its own callback: even 0 waits a turn. */
	return evtimer_add(h->timer, &tv);
}

static void
http_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
	    &h->running);
	http_check_done(h);
}

/* Finish every transfer curl says is over. */
static void
http_check_done(struct http *h)
{
	struct http_fetch *f;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		f = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &f);
		if (f == NULL)
			fatalx("transfer without its request");
		fetch_finish(f, m->data.result);
	}
}

/* --- what arrives --------------------------------------------------------- */

/* Body bytes, kept up to f->max; more aborts the transfer. */
static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_fetch *f = arg;
	size_t n = size * nmemb, cap;
	uint8_t *p;

	if (n > f->max - f->len) {
		f->too_large = 1;
		return 0;
	}
	if (f->len + n > f->cap) {
		cap = f->cap == 0 ? HTTP_BODY_FIRST : f->cap * 2;
		if (cap < f->len + n)
			cap = f->len + n;
		if (cap > f->max)
			cap = f->max;
		if ((p = realloc(f->body, cap)) == NULL) {
			f->no_memory = 1;
			return 0;
		}
		f->body = p;
		f->cap = cap;
	}
	memcpy(f->body + f->len, ptr, n);
	f->len += n;
	return n;
}

/* One header line, not NUL-terminated; a status line starts over. */
static size_t
http_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_fetch *f = arg;
	char line[HTTP_HEADER_MAX];
	size_t n = size * nitems;

	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or a 100): forget. */
		f->max_age = f->age = -1;
		free(f->etag);
		free(f->last_modified);
		f->etag = f->last_modified = NULL;
		return n;
	}
	if (n < sizeof(line)) {
		memcpy(line, buf, n);
		line[n] = '\0';
		http_header_line(f, line);
	}
	return n;
}

static char *
http_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void
http_header_line(struct http_fetch *f, char *line)
{
	char *name, *value, **keep = NULL;

	if ((value = strchr(line, ':')) == NULL)
		return;
	*value++ = '\0';
	name = http_trim(line);
	value = http_trim(value);
	if (strcasecmp(name, "Cache-Control") == 0)
		http_cache_control(f, value);
	else if (strcasecmp(name, "Age") == 0)
		f->age = http_delta_seconds(value);
	else if (strcasecmp(name, "ETag") == 0)
		keep = &f->etag;
	else if (strcasecmp(name, "Last-Modified") == 0)
		keep = &f->last_modified;
	if (keep == NULL || *value == '\0' ||
	    strlen(value) > HTTP_MAX_VALIDATOR)
		return;
	free(*keep);
	*keep = strdup(value);	/* NULL is "none": harmless */
}

/* delta-seconds (RFC 9111 1.2.2), saturated at 2^31; -1 if not one. */
static int64_t
http_delta_seconds(const char *s)
{
	int64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++)
		if ((v = v * 10 + (*s - '0')) > HTTP_DELTA_MAX)
			v = HTTP_DELTA_MAX;
	return *s == '\0' ? v : -1;
}

/*
 * max-age, the only directive the schedule uses; no-cache and no-store
 * mean "may ask again at once", as max-age=0 does.
 */
static void
http_cache_control(struct http_fetch *f, char *value)
{
	char *d, *v, *save = NULL;
	size_t n;

	for (d = strtok_r(value, ",", &save); d != NULL;
	    d = strtok_r(NULL, ",", &save)) {
		d = http_trim(d);
		if (strcasecmp(d, "no-cache") == 0 ||
		    strcasecmp(d, "no-store") == 0) {
			f->max_age = 0;
			return;
		}
		if (strncasecmp(d, "max-age", 7) != 0 || f->max_age != -1)
			continue;
		v = http_trim(d + 7);
		if (*v++ != '=')
			continue;
		v = http_trim(v);
		/* A quoted value is tolerated (RFC 9111 5.2). */
		if (*v == '"' && (n = strlen(v)) >= 2 && v[n - 1] == '"') {
			v[n - 1] = '\0';
			v++;
		}
		f->max_age = http_delta_seconds(v);
	}
}

/* --- requests ------------------------------------------------------------- */

/* No CR or LF: a value from a file or a certificate stays one header. */
static int
http_header_ok(const char *v)
{
	return strpbrk(v, "\r\n") == NULL;
}

static int
http_add_header(struct http_fetch *f, const char *name, const char *value)
{
	struct curl_slist *l;
	char buf[HTTP_HEADER_MAX];
	int n;

	if (value == NULL)
		return 0;
	n = snprintf(buf, sizeof(buf), "%s: %s", name, value);
	if (n < 0 || (size_t)n >= sizeof(buf) || !http_header_ok(value)) {
		log_warnx("%s: bad %s header value", f->url, name);
		return -1;
	}
	if ((l = curl_slist_append(f->headers, buf)) == NULL) {
		log_warnx("%s: out of memory", f->url);
		return -1;
	}
	f->headers = l;
	return 0;
}

/*
 * Everything curl must know about f.  The CURLcodes are OR'ed together:
 * any failure leaves rc non-zero (they can only fail on a libcurl built
 * without a feature, or out of memory).
 */
static int
fetch_setup(struct http_fetch *f, const struct http_request *req)
{
	CURL *e = f->easy;
	int rc = 0;

	rc |= curl_easy_setopt(e, CURLOPT_URL, req->url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, HTTP_PROTOCOLS);
	rc |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, HTTP_PROTOCOLS);
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
	    req->max_redirects > 0 ? 1L : 0L);
	rc |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)req->max_redirects);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)req->max_size);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, f);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	/* curl copies the string. */
	if (req->cafile != NULL)
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO, req->cafile);
	if (req->post_body != NULL) {
		/* The size first: COPYPOSTFIELDS copies that many bytes. */
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->post_len);
		rc |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
		    req->post_body);
	}
	if (rc != 0) {
		log_warnx("%s: this libcurl cannot make the request", f->url);
		return -1;
	}
	if (http_add_header(f, "Content-Type", req->post_body != NULL ?
	    req->content_type : NULL) == -1 ||
	    http_add_header(f, "Accept", req->accept) == -1 ||
	    http_add_header(f, "If-None-Match", req->if_none_match) == -1 ||
	    http_add_header(f, "If-Modified-Since",
	    req->if_modified_since) == -1)
		return -1;
	/* No "Expect: 100-continue" round trip for a small POST. */
	if (req->post_body != NULL &&
	    (f->headers = curl_slist_append(f->headers, "Expect:")) == NULL) {
		log_warnx("%s: out of memory", f->url);
		return -1;
	}
	if (f->headers != NULL &&
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers) != CURLE_OK) {
		log_warnx("%s: cannot set the headers", f->url);
		return -1;
	}
	return 0;
}

/* Report what became of f to its owner, then release f. */
static void
fetch_finish(struct http_fetch *f, CURLcode code)
{
	struct http_result r;
	curl_off_t us = 0;

	memset(&r, 0, sizeof(r));
	r.url = f->url;
	r.curl_code = code;
	r.body = f->body != NULL ? f->body : (const uint8_t *)"";
	r.len = f->len;
	r.max_age = f->max_age;
	r.age = f->age;
	r.etag = f->etag;
	r.last_modified = f->last_modified;
	if (f->easy != NULL) {
		curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(f->easy, CURLINFO_TOTAL_TIME_T, &us);
	}
	r.elapsed_ms = us / 1000;
	if (code == CURLE_OK)
		r.error = NULL;
	else if (f->too_large || code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(f->why, sizeof(f->why),
		    "response larger than %zu bytes", f->max);
		r.error = f->why;
	} else if (f->no_memory)
		r.error = "out of memory for the response";
	else if (f->why[0] != '\0')
		r.error = f->why;
	else {
		snprintf(f->why, sizeof(f->why), "%s", f->errbuf[0] != '\0' ?
		    f->errbuf : curl_easy_strerror(code));
		r.error = f->why;
	}
	log_debug("%s: %s, HTTP %ld, %zu bytes, %lld ms", f->url,
	    r.error != NULL ? r.error : "done", r.status, r.len,
	    (long long)r.elapsed_ms);
	f->done(f->arg, &r);
	fetch_done(f);
}

/* The one place a request's context is released. */
static void
fetch_done(struct http_fetch *f)
{
	struct http *h;

	if (f == NULL)
		return;
	h = f->http;
	if (f->added) {
		curl_multi_remove_handle(h->multi, f->easy);
		TAILQ_REMOVE(&h->fetches, f, entry);
		h->nfetches--;
	}
	if (f->easy != NULL)
		curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->headers);
	free(f->url);
	free(f->body);
	free(f->etag);
	free(f->last_modified);
	free(f);
}

int
http_request(struct http *h, const struct http_request *req,
    void (*done)(void *, const struct http_result *), void *arg)
{
	struct http_fetch *f;
	const char *url = req->url != NULL ? req->url : "(no URL)";

	if (h->closing) {
		log_warnx("%s: shutting down", url);
		return -1;
	}
	if (req->url == NULL || (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)) {
		log_warnx("%s: only http and https URLs are fetched", url);
		return -1;
	}
	if (req->timeout_ms <= 0 || req->timeout_ms > LONG_MAX ||
	    req->max_size == 0 || req->max_redirects < 0 ||
	    req->max_redirects > HTTP_MAX_REDIRECTS || done == NULL) {
		log_warnx("%s: bad request parameters", url);
		return -1;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->url = strdup(url)) == NULL ||
	    (f->easy = curl_easy_init()) == NULL) {
		log_warnx("%s: out of memory", url);
		goto fail;
	}
	f->http = h;
	f->max = req->max_size;
	f->max_age = f->age = -1;
	if (fetch_setup(f, req) == -1)
		goto fail;
	if (curl_multi_add_handle(h->multi, f->easy) != CURLM_OK) {
		log_warnx("%s: cannot start the request", url);
		goto fail;
	}
	f->added = 1;
	f->done = done;
	f->arg = arg;
	TAILQ_INSERT_TAIL(&h->fetches, f, entry);
	h->nfetches++;
	return 0;
fail:
	fetch_done(f);
	return -1;
}

/* --- the whole ------------------------------------------------------------ */

struct http *
http_new(struct event_base *base)
{
	struct http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warn("http");
		return NULL;
	}
	if (http_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("cannot initialize libcurl");
		free(h);
		return NULL;
	}
	http_users++;	/* http_free() gives it back */
	h->base = base;
	TAILQ_INIT(&h->fetches);
	TAILQ_INIT(&h->socks);
	if ((h->multi = curl_multi_init()) == NULL ||
	    (h->timer = evtimer_new(base, http_timeout_cb, h)) == NULL) {
		log_warnx("cannot set up libcurl's multi interface");
		goto fail;
	}
	if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION,
	    http_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
	    http_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
		log_warnx("cannot set up libcurl's multi callbacks");
		goto fail;
	}
	return h;
fail:
	http_free(h);
	return NULL;
}

void
http_free(struct http *h)
{
	struct http_fetch *f;
	struct http_sock *s;

	if (h == NULL)
		return;
	h->closing = 1;
	while ((f = TAILQ_FIRST(&h->fetches)) != NULL) {
		snprintf(f->why, sizeof(f->why), "cancelled");
		fetch_finish(f, CURLE_ABORTED_BY_CALLBACK);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	while ((s = TAILQ_FIRST(&h->socks)) != NULL)
		http_sock_free(h, s);
	if (h->timer != NULL)
		event_free(h->timer);
	free(h);
	if (--http_users == 0)
		curl_global_cleanup();
}

size_t
http_running(const struct http *h)
{
	return h->nfetches;
}
