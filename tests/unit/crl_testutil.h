/*
 * crl_testutil.h: helpers the tests of CRL tables (t_crl_table,
 * t_crl_lookup) share.  Tables are written into crl_dir; random values
 * come from one reproducible sequence, so that what a test (or
 * "t_crl_table --seeds") writes is the same from run to run.
 */
#ifndef STAPLEMQ_CRL_TESTUTIL_H
#define STAPLEMQ_CRL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "crl_table.h"

/* The header and the i-th entry of a table image. */
#define HDR(b)		((struct crl_table_header *)(void *)(b))
#define ENT(b, i)	((struct crl_entry *)(void *)((b) + \
			    sizeof(struct crl_table_header)) + (i))

/* The temporary directory the tables are written to. */
extern char	 crl_dir[];

/* Make crl_dir, /tmp/name.XXXXXX: 0, or -1. */
int		 crl_dir_make(const char *name);
/* The next number of the sequence (xorshift64*). */
uint64_t	 rng(void);
/* The header every test table has (times around NOW, issuer 0x11..). */
void		 make_tmpl(struct crl_table_header *);
/* e's serial: s[0..len), the rest of the field zero. */
void		 set_serial(struct crl_entry *e, const uint8_t *s, size_t len);
/* A random entry: a serial of 1..20 bytes without a leading zero. */
void		 random_entry(struct crl_entry *);
/* crl_entry_cmp for qsort and bsearch. */
int		 entry_qsort_cmp(const void *, const void *);
void		 shuffle(struct crl_entry *v, size_t n);
/* n distinct random entries in random order, to free. */
struct crl_entry *gen_entries(size_t n);
/* 16-byte serials sharing their first pre bytes, random after those. */
struct crl_entry *gen_prefixed(size_t n, size_t pre);
/* The path of the table id in crl_dir. */
void		 table_path(const uint8_t id[SNAP_ID_LEN], char *path,
		    size_t len);
/* The table id of crl_dir, opened, or the test fails. */
struct crl_table *open_ok(const uint8_t id[SNAP_ID_LEN]);

#endif
