/*
 * passwd.c: the password file: loading with its mode check, PBKDF2
 * hashing and constant-time verification.
 *
 * Entries sit in an array sorted by user name and are found by bsearch.
 * The lookup itself is not constant-time; its few comparisons are lost
 * in the PBKDF2 that every check pays, known user or not.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "secrecy.h"
#include "xmalloc.h"
#include "passwd.h"

#define PASSWD_B64_MAX	(((PASSWD_SALT_MAX + 2) / 3) * 4)
#define PASSWD_ITER_DIGITS 8	/* of PASSWD_ITER_MAX */
#define PASSWD_STR(x)	PASSWD_STR2(x)
#define PASSWD_STR2(x)	#x

struct passwd_entry {
	char		*user;		/* owned */
	size_t		 line;		/* for duplicate errors */
	unsigned	 iter;
	size_t		 saltlen;
	uint8_t		 salt[PASSWD_SALT_MAX];
	uint8_t		 hash[PASSWD_HASH_LEN];
};

struct passwd_db {
	struct passwd_entry	*ent;	/* owned; sorted by user */
	size_t			 n;
	size_t			 cap;	/* while loading */
	unsigned		 dummy_iter;	/* for unknown users */
	uint8_t			 dummy_salt[PASSWD_SALT_LEN];
};

/* One file being read. */
struct passwd_parse {
	const char		*path;
	size_t			 line;
	size_t			 errors;
	struct passwd_db	*db;
};

static void	passwd_error(struct passwd_parse *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	passwd_derive(const uint8_t *, size_t, const uint8_t *,
		    size_t, unsigned, uint8_t *);
static int	passwd_b64_decode(const char *, size_t, uint8_t *, size_t);
static int	passwd_iter_parse(const char *, size_t, unsigned *);
static const char *passwd_parse_hash(const char *, struct passwd_entry *);
static void	passwd_parse_line(struct passwd_parse *, char *, size_t);
static int	passwd_entry_cmp(const void *, const void *);
static int	passwd_key_cmp(const void *, const void *);
static void	passwd_finish(struct passwd_parse *);

/* --- hashing ------------------------------------------------------------- */

/* PBKDF2-HMAC-SHA256 into out[PASSWD_HASH_LEN]; 0 or -1 (not logged). */
static int
passwd_derive(const uint8_t *pw, size_t len, const uint8_t *salt,
    size_t saltlen, unsigned iter, uint8_t *out)
{
	if (len > INT_MAX || saltlen > INT_MAX || iter > INT_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC((const char *)pw, (int)len, salt, (int)saltlen,
	    (int)iter, EVP_sha256(), PASSWD_HASH_LEN, out) != 1)
		return -1;
	return 0;
}

int
passwd_hash(const uint8_t *password, size_t len, unsigned iterations,
    char *out, size_t outlen)
{
	uint8_t		 salt[PASSWD_SALT_LEN], hash[PASSWD_HASH_LEN];
	char		 salt64[PASSWD_B64_MAX + 1], hash64[PASSWD_B64_MAX + 1];
	int		 n, rc = -1;

	if (iterations < PASSWD_ITER_MIN || iterations > PASSWD_ITER_MAX) {
		log_err("iterations %u out of range %u..%u", iterations,
		    PASSWD_ITER_MIN, PASSWD_ITER_MAX);
		return -1;
	}
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		log_err("RAND_bytes failed");
		goto fail;
	}
	if (passwd_derive(password, len, salt, sizeof(salt), iterations,
	    hash) == -1) {
		log_err("PBKDF2 failed");
		goto fail;
	}
	/* EVP_EncodeBlock writes no newlines, unlike the BIO filter. */
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)hash64, hash, sizeof(hash));
	n = snprintf(out, outlen, PASSWD_SCHEME "%u$%s$%s", iterations,
	    salt64, hash64);
	if (n < 0 || (size_t)n >= outlen) {
		log_err("output buffer of %zu bytes too small", outlen);
		if (outlen > 0)
			explicit_bzero(out, outlen);
		goto fail;
	}
	rc = 0;
 fail:
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(hash64, sizeof(hash64));
	return rc;
}

bool
passwd_check(const struct passwd_db *db, const char *user,
    const uint8_t *password, size_t len)
{
	const struct passwd_entry	*e = NULL;
	uint8_t				 out[PASSWD_HASH_LEN];
	bool				 ok = false;

	if (db == NULL)
		return false;
	if (user != NULL && db->n > 0)
		e = bsearch(user, db->ent, db->n, sizeof(*db->ent),
		    passwd_key_cmp);
	if (e == NULL) {
		/* The work of a real check, so as not to tell who exists. */
		(void)passwd_derive(password, len, db->dummy_salt,
		    sizeof(db->dummy_salt), db->dummy_iter, out);
	} else if (passwd_derive(password, len, e->salt, e->saltlen, e->iter,
	    out) == 0)
		ok = CRYPTO_memcmp(out, e->hash, sizeof(out)) == 0;
	explicit_bzero(out, sizeof(out));
	return ok;
}

/* --- parsing ------------------------------------------------------------- */

bool
passwd_user_valid(const char *user)
{
	size_t		 i, len;
	unsigned char	 ch;

	if (user == NULL || (len = strlen(user)) == 0 ||
	    len > PASSWD_USER_MAX)
		return false;
	if (user[0] == '#' || user[0] == ' ' || user[len - 1] == ' ')
		return false;
	for (i = 0; i < len; i++) {
		ch = (unsigned char)user[i];
		if (ch == ':' || ch < 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

const char *
passwd_line_user(const char *line, size_t *len)
{
	const char	*colon;

	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#' || *line == '\r' || *line == '\n')
		return NULL;
	if ((colon = strchr(line, ':')) == NULL)
		return NULL;
	*len = (size_t)(colon - line);
	return line;
}

/*
 * Log "FILE:LINE: message" under passwd_load's name (the helper's would tell
 * the reader nothing) and count it.
 */
static void
passwd_error(struct passwd_parse *p, size_t line, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_ERROR, "passwd_load", 0, "%s:%zu: %s", p->path, line,
	    msg);
	p->errors++;
}

/*
 * Decode exactly len bytes of padded standard base64 into at most cap
 * bytes of out.  Returns the decoded length or -1.  Checks the alphabet
 * and padding itself: EVP_DecodeBlock skips blanks and counts padding as
 * data.
 */
static int
passwd_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t		 buf[(PASSWD_B64_MAX / 4) * 3];
	size_t		 i, pad = 0;
	int		 n;

	if (len == 0 || len % 4 != 0 || len > PASSWD_B64_MAX)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
			return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3 || (size_t)n - pad > cap)
		return -1;
	n -= (int)pad;
	memcpy(out, buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
	return n;
}

/* Decimal digits only, no sign, no leading zero, within bounds. */
static int
passwd_iter_parse(const char *s, size_t len, unsigned *iter)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > PASSWD_ITER_DIGITS || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < PASSWD_ITER_MIN || v > PASSWD_ITER_MAX)
		return -1;
	*iter = (unsigned)v;
	return 0;
}

/* Fill e from "$pbkdf2-sha256$I$S$H"; NULL, or why it is refused. */
static const char *
passwd_parse_hash(const char *s, struct passwd_entry *e)
{
	const char	*iter, *salt, *hash;
	int		 n;

	if (strncmp(s, PASSWD_SCHEME, strlen(PASSWD_SCHEME)) != 0)
		return "unknown hash scheme (want " PASSWD_SCHEME ")";
	iter = s + strlen(PASSWD_SCHEME);
	if ((salt = strchr(iter, '$')) == NULL ||
	    (hash = strchr(salt + 1, '$')) == NULL)
		return "want " PASSWD_SCHEME "ITERATIONS$SALT$HASH";
	if (passwd_iter_parse(iter, (size_t)(salt - iter), &e->iter) == -1)
		return "iterations not a number in "
		    PASSWD_STR(PASSWD_ITER_MIN) ".."
		    PASSWD_STR(PASSWD_ITER_MAX);
	salt++;
	n = passwd_b64_decode(salt, (size_t)(hash - salt), e->salt,
	    sizeof(e->salt));
	if (n < PASSWD_SALT_MIN)
		return "salt not base64 of " PASSWD_STR(PASSWD_SALT_MIN)
		    " to " PASSWD_STR(PASSWD_SALT_MAX) " bytes";
	e->saltlen = (size_t)n;
	hash++;
	if (passwd_b64_decode(hash, strlen(hash), e->hash,
	    sizeof(e->hash)) != PASSWD_HASH_LEN)
		return "hash not base64 of " PASSWD_STR(PASSWD_HASH_LEN)
		    " bytes";
	return NULL;
}

/* One line of n bytes as getline() returned it. */
static void
passwd_parse_line(struct passwd_parse *p, char *line, size_t n)
{
	struct passwd_db	*db = p->db;
	struct passwd_entry	 e;
	const char		*user, *why;
	char			*end;
	size_t			 len;

	if (strlen(line) != n) {
		passwd_error(p, p->line, "NUL byte in line");
		return;
	}
	end = line + n;
	while (end > line && strchr(" \t\r\n", end[-1]) != NULL)
		*--end = '\0';
	if ((user = passwd_line_user(line, &len)) == NULL) {
		line += strspn(line, " \t");
		if (*line != '\0' && *line != '#')
			passwd_error(p, p->line, "want USER:HASH");
		return;
	}
	memset(&e, 0, sizeof(e));
	e.user = xstrndup(user, len);
	e.line = p->line;
	if (!passwd_user_valid(e.user)) {
		passwd_error(p, p->line, "invalid user name \"%.*s\"", 80,
		    e.user);
		free(e.user);
		return;
	}
	if ((why = passwd_parse_hash(user + len + 1, &e)) != NULL) {
		passwd_error(p, p->line, "user \"%.*s\": %s", 80, e.user, why);
		free(e.user);
		explicit_bzero(&e, sizeof(e));
		return;
	}
	if (db->dummy_iter == 0)
		db->dummy_iter = e.iter;
	if (db->n == db->cap) {
		db->cap = db->cap == 0 ? 16 : db->cap * 2;
		db->ent = xreallocarray(db->ent, db->cap, sizeof(*db->ent));
	}
	db->ent[db->n++] = e;
	explicit_bzero(&e, sizeof(e));
}

static int
passwd_entry_cmp(const void *a, const void *b)
{
	const struct passwd_entry	*ea = a, *eb = b;
	int				 c;

	if ((c = strcmp(ea->user, eb->user)) != 0)
		return c;
	return ea->line < eb->line ? -1 : ea->line > eb->line;
}

static int
passwd_key_cmp(const void *key, const void *elem)
{
	const struct passwd_entry	*e = elem;

	return strcmp(key, e->user);
}

/* Sort for bsearch and refuse duplicates; set up the dummy check. */
static void
passwd_finish(struct passwd_parse *p)
{
	struct passwd_db	*db = p->db;
	size_t			 i, first = 0;

	if (db->n > 1)
		qsort(db->ent, db->n, sizeof(*db->ent), passwd_entry_cmp);
	for (i = 1; i < db->n; i++) {
		if (strcmp(db->ent[first].user, db->ent[i].user) != 0) {
			first = i;
			continue;
		}
		passwd_error(p, db->ent[i].line,
		    "duplicate user \"%.*s\" (first on line %zu)", 80,
		    db->ent[i].user, db->ent[first].line);
	}
	if (db->dummy_iter == 0)
		db->dummy_iter = PASSWD_ITER_DEFAULT;
	/* The salt's value does not matter; its length and work do. */
	if (RAND_bytes(db->dummy_salt, sizeof(db->dummy_salt)) != 1)
		memset(db->dummy_salt, 0x5a, sizeof(db->dummy_salt));
}

struct passwd_db *
passwd_load(const char *path)
{
	struct passwd_parse	 p;
	struct stat		 st;
	FILE			*fp;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (file_secrecy(path, fileno(fp), &st) == -1) {
		fclose(fp);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.db = xcalloc(1, sizeof(*p.db));
	while ((n = getline(&line, &cap, fp)) != -1) {
		p.line++;
		passwd_parse_line(&p, line, (size_t)n);
	}
	if (ferror(fp)) {
		log_err("%s: read error: %s", path, strerror(errno));
		p.errors++;
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(fp);
	passwd_finish(&p);
	if (p.errors > 0) {
		passwd_free(p.db);
		return NULL;
	}
	return p.db;
}

void
passwd_free(struct passwd_db *db)
{
	size_t	 i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++)
		free(db->ent[i].user);
	if (db->ent != NULL)
		explicit_bzero(db->ent, db->cap * sizeof(*db->ent));
	free(db->ent);
	explicit_bzero(db, sizeof(*db));
	free(db);
}

size_t
passwd_count(const struct passwd_db *db)
{
	return db != NULL ? db->n : 0;
}
