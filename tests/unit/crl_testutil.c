/*
 * crl_testutil.c: what the tests of CRL tables (t_crl_table, t_crl_lookup)
 * share: entries and tables to write, where they are written, and how
 * they are opened (see crl_testutil.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_table.h"
#include "crl_testutil.h"
#include "ipc_testutil.h"

char		 crl_dir[PATH_MAX];

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

int
crl_dir_make(const char *name)
{
	snprintf(crl_dir, sizeof(crl_dir), "/tmp/%s.XXXXXX", name);
	return mkdtemp(crl_dir) == NULL ? -1 : 0;
}

uint64_t
rng(void)
{
	/* xorshift64*: reproducible from run to run. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

void
make_tmpl(struct crl_table_header *h)
{
	memset(h, 0, sizeof(*h));
	h->this_update = NOW;
	h->next_update = NOW + 86400;
	memset(h->issuer_id, 0x11, SNAP_ID_LEN);
	h->crl_number[0] = 0x01;
	h->crl_number[1] = 0x02;
	h->crl_number_len = 2;
}

void
set_serial(struct crl_entry *e, const uint8_t *s, size_t len)
{
	memset(e->serial, 0, sizeof(e->serial));
	memcpy(e->serial, s, len);
	e->serial_len = (uint8_t)len;
}

/* A random entry: a serial of 1..20 bytes without a leading zero. */
void
random_entry(struct crl_entry *e)
{
	uint8_t	 s[CRL_SERIAL_MAX];
	size_t	 len, i;

	memset(e, 0, sizeof(*e));
	len = 1 + rng() % CRL_SERIAL_MAX;
	for (i = 0; i < len; i++)
		s[i] = (uint8_t)rng();
	if (s[0] == 0)
		s[0] = 1;
	set_serial(e, s, len);
	e->reason = (uint8_t)(rng() % 12);
	if (e->reason > CRL_TABLE_REASON_MAX)
		e->reason = CRL_TABLE_REASON_NONE;
	e->revoked_at = NOW - (int64_t)(rng() % 100000000);
}

int
entry_qsort_cmp(const void *a, const void *b)
{
	return crl_entry_cmp(a, b);
}

void
shuffle(struct crl_entry *v, size_t n)
{
	struct crl_entry	 t;
	size_t			 i, j;

	for (i = n - 1; i > 0 && n > 1; i--) {
		j = rng() % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/*
 * n distinct random entries in random order: a few more are drawn, the
 * duplicates (frequent among 1- and 2-byte serials) dropped, n kept.
 */
struct crl_entry *
gen_entries(size_t n)
{
	struct crl_entry	*v;
	size_t			 m = n + n / 8 + 16, i, u;

	assert_non_null(v = calloc(m, sizeof(*v)));
	for (;;) {
		for (i = 0; i < m; i++)
			random_entry(&v[i]);
		qsort(v, m, sizeof(*v), entry_qsort_cmp);
		for (i = 1, u = 1; i < m; i++)
			if (crl_entry_cmp(&v[u - 1], &v[i]) != 0)
				v[u++] = v[i];
		if (u >= n)
			break;
	}
	shuffle(v, u);
	return v;
}

void
table_path(const uint8_t id[SNAP_ID_LEN], char *path, size_t len)
{
	char	 name[CRL_TABLE_NAME_LEN + 1];

	crl_table_name(id, name, sizeof(name));
	snprintf(path, len, "%s/%s", crl_dir, name);
}

struct crl_table *
open_ok(const uint8_t id[SNAP_ID_LEN])
{
	struct crl_table	*t;
	char			 err[512];

	if ((t = crl_table_open(crl_dir, id, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return t;
}

/* 16-byte serials sharing their first pre bytes, random after those. */
struct crl_entry *
gen_prefixed(size_t n, size_t pre)
{
	struct crl_entry	*v;
	uint8_t			 s[16];
	size_t			 i, j;

	assert_non_null(v = calloc(n, sizeof(*v)));
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(s); j++)
			s[j] = j < pre ? (uint8_t)(0x5a + j) : (uint8_t)rng();
		if (s[0] == 0)
			s[0] = 1;
		/* Unique: the last 3 bytes count up. */
		s[13] = (uint8_t)(i >> 16);
		s[14] = (uint8_t)(i >> 8);
		s[15] = (uint8_t)i;
		set_serial(&v[i], s, sizeof(s));
	}
	shuffle(v, n);
	return v;
}

