/*
 * psk.c: the TLS-PSK identity file and the table handshakes look
 * identities up in.
 *
 * The whole file is read into one buffer (no stdio, whose buffers would be
 * freed with secrets in them), parsed in place and wiped.  Entries sit in
 * one array sized from the line count, so it never moves and leaves no
 * copy behind.  Once every line is in, a power-of-two bucket array of
 * indices chains the entries: a lookup is one SipHash and about one
 * comparison whatever the table's size.  The hash is keyed per table, as
 * identities come from peers and must not be able to pick a bucket.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "secrecy.h"
#include "psk.h"
#include "siphash.h"
#include "xmalloc.h"

struct psk_table {
	struct psk_entry	*ent;	/* owned; secrets wiped on free */
	size_t			 n, cap;
	uint32_t		*bucket; /* index + 1 of a chain; 0: empty */
	size_t			 nbuckets; /* power of two */
	uint64_t		 key[2]; /* SipHash key */
};

/* One file being read. */
struct psk_parse {
	const char		*path;
	const char		*sep;
	size_t			 seplen;
	size_t			 line;
	size_t			 errors;
	struct psk_table	*t;
};

static void	psk_error(struct psk_parse *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	psk_secrecy(const char *, int, size_t *);
static char	*psk_read(const char *, size_t *);
static int	psk_hex(const char *, size_t, uint8_t *);
static const char *psk_identity_check(const char *, size_t);
static void	psk_parse_line(struct psk_parse *, char *, size_t);
static void	psk_index(struct psk_parse *);
static size_t	psk_lines(const char *, size_t);

/*
 * Log "FILE:LINE: message" under psk_load's name (the helper's would tell
 * the reader nothing) and count it.
 */
static void
psk_error(struct psk_parse *p, size_t line, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_ERROR, "psk_load", 0, "%s:%zu: %s", p->path, line,
	    msg);
	p->errors++;
}

/* A private file (secrecy.c) of at most PSK_FILE_MAX bytes. */
static int
psk_secrecy(const char *path, int fd, size_t *size)
{
	struct stat	 st;

	if (file_secrecy(path, fd, &st) == -1)
		return -1;
	if (st.st_size > PSK_FILE_MAX) {
		log_err("%s: larger than %d bytes", path, PSK_FILE_MAX);
		return -1;
	}
	*size = (size_t)st.st_size;
	return 0;
}

/*
 * The whole file, NUL-terminated, in a buffer the caller wipes and frees;
 * *len is its length.  NULL after logging.
 */
static char *
psk_read(const char *path, size_t *len)
{
	char	*buf = NULL;
	size_t	 size, got = 0;
	ssize_t	 n;
	int	 fd;

	/* O_NONBLOCK: a FIFO must fail the regular-file check, not hang. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		log_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (psk_secrecy(path, fd, &size) == -1)
		goto fail;
	/* One byte more than stat says, to see a file that grew. */
	buf = xmalloc(size + 2);
	while (got < size + 1) {
		if ((n = read(fd, buf + got, size + 1 - got)) == -1) {
			if (errno == EINTR)
				continue;
			log_err("%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > size) {
		log_err("%s: changed while being read; try again", path);
		goto fail;
	}
	buf[got] = '\0';
	*len = got;
	close(fd);
	return buf;
fail:
	if (buf != NULL) {
		explicit_bzero(buf, size + 2);
		free(buf);
	}
	close(fd);
	return NULL;
}

/* Decode len hex digits (even, checked) into out.  0, or -1 if not hex. */
static int
psk_hex(const char *s, size_t len, uint8_t *out)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < len; i += 2) {
		if ((hi = OPENSSL_hexchar2int((unsigned char)s[i])) == -1 ||
		    (lo = OPENSSL_hexchar2int((unsigned char)s[i + 1])) == -1)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* NULL if len bytes at id make an identity, else why not. */
static const char *
psk_identity_check(const char *id, size_t len)
{
	size_t		 i;
	unsigned char	 ch;

	if (len == 0)
		return "empty identity";
	if (len > PSK_IDENTITY_MAX)
		return "identity longer than 128 bytes";
	if (id[0] == ' ' || id[0] == '\t' || id[len - 1] == ' ' ||
	    id[len - 1] == '\t')
		return "identity starts or ends with a blank";
	for (i = 0; i < len; i++) {
		ch = (unsigned char)id[i];
		if (ch < 0x20 || ch == 0x7f)
			return "control character in identity";
	}
	return NULL;
}

/*
 * One line of n bytes, without its newline.  Never quotes the line: with
 * a wrong separator, any part of it may be the secret.
 */
static void
psk_parse_line(struct psk_parse *p, char *line, size_t n)
{
	struct psk_table	*t = p->t;
	struct psk_entry	*e;
	const char		*sep, *hex, *why;
	size_t			 idlen, hexlen, i;

	if (memchr(line, '\0', n) != NULL) {
		psk_error(p, p->line, "NUL byte in line");
		return;
	}
	while (n > 0 && strchr(" \t\r", line[n - 1]) != NULL)
		n--;
	for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == n || line[i] == '#')
		return;
	if ((sep = memmem(line, n, p->sep, p->seplen)) == NULL) {
		psk_error(p, p->line, "no separator \"%s\": want "
		    "IDENTITY%sHEX-SECRET", p->sep, p->sep);
		return;
	}
	idlen = (size_t)(sep - line);
	hex = sep + p->seplen;
	hexlen = n - idlen - p->seplen;
	if ((why = psk_identity_check(line, idlen)) != NULL) {
		psk_error(p, p->line, "%s", why);
		return;
	}
	if (hexlen == 0) {
		psk_error(p, p->line, "empty secret");
		return;
	}
	if (hexlen % 2 != 0) {
		psk_error(p, p->line, "secret has an odd number of hex "
		    "digits");
		return;
	}
	if (hexlen / 2 > PSK_SECRET_MAX) {
		psk_error(p, p->line, "secret longer than %d bytes",
		    PSK_SECRET_MAX);
		return;
	}
	e = &t->ent[t->n];
	if (psk_hex(hex, hexlen, e->secret) == -1) {
		explicit_bzero(e->secret, sizeof(e->secret));
		psk_error(p, p->line, "secret is not hexadecimal");
		return;
	}
	e->secret_len = hexlen / 2;
	e->identity = xstrndup(line, idlen);
	e->identity_len = idlen;
	e->line = p->line;
	t->n++;
}

/* Chain every entry into its bucket; a second identity is an error. */
static void
psk_index(struct psk_parse *p)
{
	struct psk_table	*t = p->t;
	struct psk_entry	*e, *o;
	size_t			 i, b;
	uint32_t		 j;

	t->nbuckets = 16;
	while (t->nbuckets < t->n)
		t->nbuckets *= 2;
	t->bucket = xcalloc(t->nbuckets, sizeof(*t->bucket));
	for (i = 0; i < t->n; i++) {
		e = &t->ent[i];
		b = siphash13(t->key, e->identity, e->identity_len) &
		    (t->nbuckets - 1);
		for (j = t->bucket[b]; j != 0; j = o->next) {
			o = &t->ent[j - 1];
			if (o->identity_len == e->identity_len &&
			    memcmp(o->identity, e->identity,
			    e->identity_len) == 0) {
				psk_error(p, e->line, "duplicate identity "
				    "(first on line %zu)", o->line);
				break;
			}
		}
		e->next = t->bucket[b];
		t->bucket[b] = (uint32_t)(i + 1);
	}
}

/* Lines in len bytes: newlines, plus one for a last line without. */
static size_t
psk_lines(const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len;
	size_t		 n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return len > 0 && buf[len - 1] != '\n' ? n + 1 : n;
}

struct psk_table *
psk_load(const char *path, const char *sep)
{
	struct psk_parse	 p;
	char			*buf, *line, *nl, *end;
	size_t			 len, lines;

	if (sep == NULL || *sep == '\0' || strlen(sep) > PSK_SEPARATOR_MAX ||
	    strpbrk(sep, "\r\n") != NULL) {
		log_err("%s: psk_authentication.separator must be 1 to %d "
		    "bytes on one line", path, PSK_SEPARATOR_MAX);
		return NULL;
	}
	if ((buf = psk_read(path, &len)) == NULL)
		return NULL;
	if ((lines = psk_lines(buf, len)) >= UINT32_MAX) {
		log_err("%s: too many lines", path);
		explicit_bzero(buf, len);
		free(buf);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.sep = sep;
	p.seplen = strlen(sep);
	p.t = xcalloc(1, sizeof(*p.t));
	p.t->cap = lines > 0 ? lines : 1;
	p.t->ent = xcalloc(p.t->cap, sizeof(*p.t->ent));
	siphash_key(p.t->key);
	end = buf + len;
	for (line = buf; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		p.line++;
		psk_parse_line(&p, line, (size_t)(nl - line));
	}
	explicit_bzero(buf, len);
	free(buf);
	psk_index(&p);
	if (p.errors > 0) {
		psk_free(p.t);
		return NULL;
	}
	return p.t;
}

void
psk_free(struct psk_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->ent[i].identity);
	if (t->ent != NULL)
		explicit_bzero(t->ent, t->cap * sizeof(*t->ent));
	free(t->ent);
	free(t->bucket);
	explicit_bzero(t, sizeof(*t));
	free(t);
}

size_t
psk_count(const struct psk_table *t)
{
	return t != NULL ? t->n : 0;
}

const struct psk_entry *
psk_find(const struct psk_table *t, const void *identity, size_t len)
{
	const struct psk_entry	*e;
	uint32_t		 j;

	if (t == NULL || t->n == 0 || len == 0 || len > PSK_IDENTITY_MAX)
		return NULL;
	j = t->bucket[siphash13(t->key, identity, len) & (t->nbuckets - 1)];
	for (; j != 0; j = e->next) {
		e = &t->ent[j - 1];
		if (e->identity_len == len &&
		    memcmp(e->identity, identity, len) == 0)
			return e;
	}
	return NULL;
}

bool
psk_same_secret(const struct psk_entry *a, const struct psk_entry *b)
{
	return a->secret_len == b->secret_len &&
	    CRYPTO_memcmp(a->secret, b->secret, a->secret_len) == 0;
}
