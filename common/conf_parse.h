/*
 * conf_parse.h: what conf.c and conf_parse.c share, private to the two.
 * Nodes and error lists follow conf.h's ownership rules.
 */
#ifndef STAPLEMQ_CONF_PARSE_H
#define STAPLEMQ_CONF_PARSE_H

#include <stddef.h>

#include "conf.h"

#define CONF_DEFAULTS	"<defaults>"	/* the file name of table defaults */

/* conf_parse.c */
/* Append "file:line: key: message"; line 0 and a NULL key are left out. */
void		 conf_err(struct conf_errors *, const char *file, int line,
		    const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
char		*conf_snip(const char *);
char		*conf_join(const char *, const char *const *, size_t);
struct conf_node *conf_node_new(enum conf_vtype, char *, const char *, int);
void		 conf_node_free(struct conf_node *);
void		 conf_node_append(struct conf_node *, struct conf_node *);
struct conf_node *conf_node_clone(const struct conf_node *);
struct conf_node *conf_node_kid(const struct conf_node *, const char *,
		    size_t);
/*
 * Parse a file's bytes into root, or a table default into a new node.
 * On a syntax error, report it in errs and return -1 or NULL.
 */
int		 conf_parse_text(struct conf_node *, const char *,
		    const char *, size_t, struct conf_errors *);
struct conf_node *conf_parse_default(const struct conf_key *,
		    struct conf_errors *);

#endif
