/*
 * ossl.c: turn OpenSSL's error queue into one log-friendly string, so each
 * failure is logged once with its cause (nginx's ngx_ssl_error habit).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "ossl.h"

const char *
ossl_error(void)
{
	static char buf[1024];
	char one[256];
	unsigned long e;
	size_t len = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		if (len + strlen(one) + 3 < sizeof(buf))
			len += snprintf(buf + len, sizeof(buf) - len, "%s%s",
			    len ? "; " : "", one);
	}
	if (len == 0)
		snprintf(buf, sizeof(buf), "no OpenSSL error");
	return buf;
}
