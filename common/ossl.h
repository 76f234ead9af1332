/*
 * ossl.h: OpenSSL error reporting shared by both daemons.
 */
#ifndef STAPLEMQ_OSSL_H
#define STAPLEMQ_OSSL_H

/* ossl.c */
/* Drain OpenSSL's error queue into a static string for one log line. */
const char	*ossl_error(void);

#endif
