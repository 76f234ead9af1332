/*
 * fuzz_conf.c: libFuzzer target for the configuration parser.  Any bytes go
 * through conf_parse with the real key table; a tree that comes back is
 * read through every getter, per listener for wildcard keys, as the
 * daemons would.  The sanitizers catch overflows and leaks; the checks
 * below catch a result that contradicts its errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_FILE	"fuzz.conf"

/* Read key k at path rest below base with the getter for its type. */
static void
read_key(const struct conf_node *base, const struct conf_key *k,
    const char *rest)
{
	const char *s;
	size_t i, n;

	switch (k->type) {
	case CONF_BOOL:
		(void)conf_bool(base, rest);
		break;
	case CONF_INT:
	case CONF_DURATION:
	case CONF_SIZE:
		(void)conf_num(base, rest);
		break;
	case CONF_ENUM:
		(void)conf_num(base, rest);
		/* An enum always has its word, from the file or a default. */
		if (k->def != NULL && conf_str(base, rest) == NULL)
			abort();
		break;
	case CONF_STRING:
		if ((s = conf_str(base, rest)) != NULL)
			(void)strlen(s);
		break;
	case CONF_STRLIST:
	case CONF_STR_OR_LIST:
		n = conf_len(base, rest);
		for (i = 0; i <= n; i++)
			if ((conf_item(base, rest, i) == NULL) != (i == n))
				abort();
		break;
	}
}

static void
read_all(const struct conf *cf)
{
	const struct conf_node *obj;
	const struct conf_key *k;
	const char *star;
	char prefix[256];
	size_t i;

	for (k = cf->keys; k->name != NULL; k++) {
		if ((star = strstr(k->name, ".*.")) == NULL) {
			if (strchr(k->name, '*') == NULL)
				read_key(cf->root, k, k->name);
			continue;
		}
		if (strchr(star + 3, '*') != NULL ||
		    (size_t)(star - k->name) >= sizeof(prefix))
			continue;
		snprintf(prefix, sizeof(prefix), "%.*s",
		    (int)(star - k->name), k->name);
		if ((obj = conf_find(cf->root, prefix)) == NULL)
			continue;
		for (i = 0; i < obj->nkids; i++)
			if (obj->kids[i]->vtype == CONF_V_OBJECT)
				read_key(obj->kids[i], k, star + 3);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *cf;
	size_t i;

	cf = conf_parse(FUZZ_FILE, (const char *)data, size, conf_keys,
	    &errs);
	if ((cf == NULL) != (errs.n > 0))
		abort();
	for (i = 0; i < errs.n; i++)
		if (strncmp(errs.msg[i], FUZZ_FILE ":", 10) != 0)
			abort();
	if (cf != NULL)
		read_all(cf);
	conf_free(cf);
	conf_errors_free(&errs);
	return 0;
}
