/*
 * psk.h: the TLS-PSK identity file (psk_authentication.init_file) and the
 * table that TLS handshakes look identities up in.
 *
 * File format, one identity per line, as EMQX's init_file:
 *
 *	IDENTITY<separator>HEX-SECRET
 *
 * The separator is psk_authentication.separator (":" by default, any
 * 1 to PSK_SEPARATOR_MAX bytes); the line is split at its first
 * occurrence.  IDENTITY is 1 to PSK_IDENTITY_MAX bytes without control
 * characters, not starting or ending with a blank.  HEX-SECRET is an even
 * number of hex digits (either case) naming 1 to PSK_SECRET_MAX bytes; the
 * decoded bytes are the pre-shared key, as mosquitto's psk_file and the
 * --psk option of its clients and of openssl s_client have it.  Blank
 * lines and lines whose first non-blank character is "#" are skipped;
 * trailing blanks and CR are ignored.  An identity listed twice is an
 * error, not "last one wins": we cannot tell which key was meant.
 *
 * The file is refused when it is not a regular file or its mode lets the
 * group or others in.  Error messages name the file and line and never
 * quote the line: a mistyped separator would put the secret in the log.
 *
 * Ownership: a struct psk_table owns its entries, identities and secrets
 * and wipes the secrets (explicit_bzero) when freed; so does the loader
 * with every buffer that held the file.  A table is immutable once
 * loaded; a reload builds a new one and swaps.
 */
#ifndef STAPLEMQ_PSK_H
#define STAPLEMQ_PSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 128 bytes is OpenSSL 1.1's PSK_MAX_IDENTITY_LEN, so that every OpenSSL
 * client can present every identity; 64 bytes (512 bits) is twice the
 * strongest PSK cipher's need.
 */
#define PSK_IDENTITY_MAX	128
#define PSK_SECRET_MAX		64
#define PSK_SEPARATOR_MAX	16
#define PSK_FILE_MAX		(256 * 1024 * 1024)	/* bytes */

/* One identity; read-only for users of the table. */
struct psk_entry {
	char		*identity;	/* NUL-terminated, the table's */
	size_t		 identity_len;
	size_t		 secret_len;
	uint8_t		 secret[PSK_SECRET_MAX];
	size_t		 line;		/* in the file, for messages */
	uint32_t	 next;		/* chain: index + 1, 0 ends */
};

struct psk_table;

/* psk.c */
/*
 * Read the file at path, splitting lines at sep.  Returns the table, or
 * NULL after logging every error with log_err() as "FILE:LINE: message".
 * An empty file is valid and lets nobody in.
 */
struct psk_table *psk_load(const char *path, const char *sep);
/* Wipes every secret, then frees; NULL is fine. */
void		 psk_free(struct psk_table *);
size_t		 psk_count(const struct psk_table *);
/* The entry for len bytes of identity, or NULL; t may be NULL. */
const struct psk_entry *psk_find(const struct psk_table *t,
		    const void *identity, size_t len);
/* Same secret?  Constant time in the secret's bytes. */
bool		 psk_same_secret(const struct psk_entry *,
		    const struct psk_entry *);

#endif /* STAPLEMQ_PSK_H */
