/*
 * conf.h: the configuration file shared by both daemons.
 *
 * The syntax is the HOCON subset EMQX 5 uses (DESIGN.md): nested blocks,
 * dotted keys, "=" or ":" or a bare block, "#" and "//" comments, quoted
 * strings with escapes, unquoted words, arrays; later definitions override
 * earlier ones and blocks with the same path merge.  Values stay text until
 * they are checked against the key table, which gives each key its type,
 * default and bounds.  After a successful load every key with a default is
 * present in the tree (per listener for listener keys), so readers only ask
 * for what they need and never handle "unset".
 */
#ifndef STAPLEMQ_CONF_H
#define STAPLEMQ_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_FILE	(16 * 1024 * 1024)	/* bytes */
#define CONF_MAX_DEPTH	32			/* nested blocks and arrays */

enum conf_type {
	CONF_BOOL,		/* true/false, on/off, yes/no */
	CONF_INT,		/* plain integer */
	CONF_DURATION,		/* 500ms 15s 5m 1h 1d, stored in ms; bare = s */
	CONF_SIZE,		/* 512 4KB 1MB 1GB (1024-based), stored in bytes */
	CONF_STRING,
	CONF_ENUM,		/* one word of conf_key.choices */
	CONF_STRLIST,		/* array of strings */
	CONF_STR_OR_LIST,	/* one string or an array; stored as an array */
};

/* Which daemon reads a key; the file is shared, so both accept all keys. */
#define CONF_BROKER	0x1
#define CONF_FETCHERD	0x2
#define CONF_BOTH	(CONF_BROKER | CONF_FETCHERD)

/* Key flags. */
#define CONF_RELOAD	0x1	/* takes effect on SIGHUP without restart */

/*
 * One entry of a key table.  name is a dotted path in which "*" matches one
 * name that the user chooses (a listener name).  def is written in the
 * file's own syntax ("15s", "[\"tlsv1.3\"]", "\"\"") or NULL when the key
 * has no default.  min/max bound INT, DURATION (ms) and SIZE (bytes) and,
 * for lists, the number of items; both 0 means unbounded.
 */
struct conf_key {
	const char	*name;
	enum conf_type	 type;
	const char	*def;
	int64_t		 min, max;
	const char	*choices;	/* CONF_ENUM: "a|b|c" */
	unsigned	 users;		/* CONF_BROKER | CONF_FETCHERD */
	unsigned	 flags;		/* CONF_RELOAD */
	const char	*doc;		/* one line, for README and --keys */
};

enum conf_vtype {
	CONF_V_OBJECT,
	CONF_V_ARRAY,
	CONF_V_STRING,
};

/*
 * A node of the parsed tree.  Owns name, str and kids.  file points into
 * the owning struct conf.  After validation, num holds the typed value of a
 * scalar key (bool 0/1, integer, ms, bytes) and key its table entry.
 */
struct conf_node {
	char			*name;		/* NULL for array items */
	enum conf_vtype		 vtype;
	bool			 quoted;	/* STRING came in quotes */
	char			*str;		/* STRING: the text */
	int64_t			 num;
	struct conf_node	**kids;		/* OBJECT members, ARRAY items */
	size_t			 nkids;
	const char		*file;
	int			 line;
	const struct conf_key	*key;
};

/* Every error of one load, each "file:line: key: message". */
struct conf_errors {
	char	**msg;
	size_t	  n;
};

struct conf {
	char			*file;
	struct conf_node	*root;
	const struct conf_key	*keys;		/* not owned */
	size_t			 nkeys;
};

/* conf.c */
/*
 * Parse and validate.  Return a new tree, or NULL with every problem in
 * errs (which the caller frees with conf_errors_free).  keys must end with
 * an entry whose name is NULL.
 */
struct conf	*conf_load(const char *path, const struct conf_key *keys,
		    struct conf_errors *errs);
struct conf	*conf_parse(const char *name, const char *buf, size_t len,
		    const struct conf_key *keys, struct conf_errors *errs);
void		 conf_free(struct conf *);
void		 conf_errors_free(struct conf_errors *);

/*
 * Look up a dotted path below base (the root or, say, one listener's
 * block).  The typed getters return the value or its default; asking for a
 * path that is not in the key table is a programming error (fatalx).
 */
const struct conf_node *conf_find(const struct conf_node *base,
		    const char *path);
bool		 conf_bool(const struct conf_node *base, const char *path);
int64_t		 conf_num(const struct conf_node *base, const char *path);
const char	*conf_str(const struct conf_node *base, const char *path);
size_t		 conf_len(const struct conf_node *base, const char *path);
const char	*conf_item(const struct conf_node *base, const char *path,
		    size_t i);

/* Table helpers: lookup by pattern, and "did you mean" for a typo. */
const struct conf_key *conf_key_match(const struct conf_key *keys,
		    const char *path);
const char	*conf_type_name(enum conf_type);

/* conf_keys.c */
extern const struct conf_key conf_keys[];

#endif
