/*
 * conf_parse.c: the HOCON subset of conf.h, from bytes to a tree of
 * conf_nodes; conf.c checks the tree against the key table.
 *
 * Syntax decisions, following HOCON where EMQX 5 configs need it:
 *  - An unquoted word is a run of bytes above 0x20 other than DEL and
 *    $ " { } [ ] : = , + # ` ^ ? ! @ * & \ (HOCON's forbidden set), and
 *    it stops before "//", which starts a comment.  So verify_peer, 15s,
 *    4KB, tlsv1.3 and /run/x need no quotes, but 0.0.0.0:8883 and URLs do.
 *  - In a key, "." separates path segments.  A quoted segment may not be
 *    empty nor hold "." or control bytes, so that every path prints
 *    cleanly and splits back at its dots.  Keys are followed by "=", ":"
 *    or "{" on the same line.  Members are separated by a comma or
 *    newlines, also after a "}".
 *  - Values are single tokens: HOCON's value concatenation (a = foo bar),
 *    substitutions (${x}), include, += and triple quotes are not supported
 *    and are reported as errors.  Quoted strings end on their line.
 *  - The whole file may be wrapped in braces, as in JSON.
 *  - Nesting depth counts every object and array between the root and a
 *    value, including those that dotted keys create, so recursion here
 *    and over the tree is bounded by CONF_MAX_DEPTH.
 *
 * Parsing stops at the first syntax error: what follows it would only
 * produce noise.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_parse.h"
#include "log.h"
#include "xmalloc.h"

#define CONF_SNIP	40	/* longest value quoted in a message */

/* Bytes that end an unquoted word (HOCON's forbidden characters). */
static const char word_stops[] = "$\"{}[]:=,+#`^?!@*&\\";

/*
 * An index of the members parsed so far, so that finding an earlier
 * definition costs O(1) and a block with n members O(n), not O(n^2).
 * conf.h's nodes have no room for it, so while parsing, an object's num
 * holds a serial (0: no members yet) that identifies it here; serials are
 * never reused, so entries of objects freed by an override stay harmless.
 */
struct member {
	int64_t		 obj;		/* serial; 0 marks a free slot */
	uint64_t	 hash;		/* of serial and name */
	size_t		 idx;		/* in the object's kids */
};

struct parser {
	const char		*buf;
	size_t			 len;
	size_t			 pos;
	int			 line;
	const char		*file;	/* for nodes and messages */
	struct conf_errors	*errs;
	struct member		*map;	/* open addressing, power of 2 */
	size_t			 mapsize;
	size_t			 nmap;
	int64_t			 serial;	/* last one given out */
};

static int	 parse_body(struct parser *, struct conf_node *, const char *,
		    int, int, int);
static int	 parse_value(struct parser *, const char *, int,
		    struct conf_node **);

/* Errors. */

/*
 * Append "file:line: key: message" to errs; line 0 and a NULL or empty key
 * leave out their parts.
 */
void
conf_err(struct conf_errors *errs, const char *file, int line,
    const char *key, const char *fmt, ...)
{
	va_list ap;
	char *msg, *lbuf = NULL;
	int n;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatalx("out of memory formatting a message");
	if (line > 0)
		xasprintf(&lbuf, ":%d", line);
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(char *));
	xasprintf(&errs->msg[errs->n++], "%s%s: %s%s%s", file,
	    lbuf != NULL ? lbuf : "", key != NULL ? key : "",
	    key != NULL && *key != '\0' ? ": " : "", msg);
	free(lbuf);
	free(msg);
}

/*
 * Quote a value for a message: at most CONF_SNIP bytes, unprintable bytes
 * as \xHH, so a hostile file cannot garble the log.  Caller frees.
 */
char *
conf_snip(const char *s)
{
	char *out, *o;
	size_t i;

	o = out = xmalloc(CONF_SNIP * 4 + 6);
	*o++ = '"';
	for (i = 0; s[i] != '\0' && i < CONF_SNIP; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
			o += sprintf(o, "\\x%02x", (unsigned char)s[i]);
		else
			*o++ = s[i];
	}
	*o++ = '"';
	if (s[i] != '\0')
		o += sprintf(o, "...");
	*o = '\0';
	return out;
}

/* Describe byte c (or -1, the end) for a message; buf has 16 bytes. */
static const char *
char_name(int c, char *buf, size_t len)
{
	if (c == -1)
		snprintf(buf, len, "end of file");
	else if (c == '\n')
		snprintf(buf, len, "newline");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "0x%02x", (unsigned)c);
	return buf;
}

/* Nodes. */

struct conf_node *
conf_node_new(enum conf_vtype vtype, char *name, const char *file, int line)
{
	struct conf_node *n;

	n = xcalloc(1, sizeof(*n));
	n->vtype = vtype;
	n->name = name;
	n->file = file;
	n->line = line;
	return n;
}

void
conf_node_free(struct conf_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		conf_node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->str);
	free(n);
}

void
conf_node_append(struct conf_node *parent, struct conf_node *kid)
{
	parent->kids = xreallocarray(parent->kids, parent->nkids + 1,
	    sizeof(*parent->kids));
	parent->kids[parent->nkids++] = kid;
}

/* Deep copy; the copy has no name. */
struct conf_node *
conf_node_clone(const struct conf_node *n)
{
	struct conf_node *c, *kid;
	size_t i;

	c = conf_node_new(n->vtype, NULL, n->file, n->line);
	c->quoted = n->quoted;
	c->str = n->str != NULL ? xstrdup(n->str) : NULL;
	c->num = n->num;
	c->key = n->key;
	for (i = 0; i < n->nkids; i++) {
		kid = conf_node_clone(n->kids[i]);
		if (n->kids[i]->name != NULL)
			kid->name = xstrdup(n->kids[i]->name);
		conf_node_append(c, kid);
	}
	return c;
}

/* Members of a finished tree, by a linear scan. */
struct conf_node *
conf_node_kid(const struct conf_node *obj, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < obj->nkids; i++)
		if (strlen(obj->kids[i]->name) == len &&
		    memcmp(obj->kids[i]->name, name, len) == 0)
			return obj->kids[i];
	return NULL;
}

/* Members while parsing, through the index (see struct member). */

static uint64_t
member_hash(int64_t serial, const char *name)
{
	uint64_t h = 14695981039346656037ULL ^
	    ((uint64_t)serial * 0x9e3779b97f4a7c15ULL);

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h;
}

/* The index in obj->kids of the member called name, or SIZE_MAX. */
static size_t
member_find(const struct parser *p, const struct conf_node *obj,
    const char *name)
{
	const struct member *m;
	uint64_t h;
	size_t i;

	if (obj->num == 0 || p->map == NULL)
		return SIZE_MAX;
	h = member_hash(obj->num, name);
	for (i = h & (p->mapsize - 1); p->map[i].obj != 0;
	    i = (i + 1) & (p->mapsize - 1)) {
		m = &p->map[i];
		if (m->obj == obj->num && m->hash == h &&
		    strcmp(obj->kids[m->idx]->name, name) == 0)
			return m->idx;
	}
	return SIZE_MAX;
}

static void
member_put(struct member *map, size_t size, const struct member *m)
{
	size_t i = m->hash & (size - 1);

	while (map[i].obj != 0)
		i = (i + 1) & (size - 1);
	map[i] = *m;
}

/* Append n to obj and index it; the map stays at most half full. */
static void
member_add(struct parser *p, struct conf_node *obj, struct conf_node *n)
{
	struct member m, *old = p->map;
	size_t i, oldsize = p->mapsize;

	if (obj->num == 0)
		obj->num = ++p->serial;
	if ((p->nmap + 1) * 2 > p->mapsize) {
		p->mapsize = oldsize == 0 ? 64 : oldsize * 2;
		p->map = xcalloc(p->mapsize, sizeof(*p->map));
		for (i = 0; i < oldsize; i++)
			if (old[i].obj != 0)
				member_put(p->map, p->mapsize, &old[i]);
		free(old);
	}
	m.obj = obj->num;
	m.hash = member_hash(obj->num, n->name);
	m.idx = obj->nkids;
	member_put(p->map, p->mapsize, &m);
	p->nmap++;
	conf_node_append(obj, n);
}

/* Set member n of obj, replacing an earlier one of the same name. */
static void
obj_set(struct parser *p, struct conf_node *obj, struct conf_node *n)
{
	size_t i;

	if ((i = member_find(p, obj, n->name)) == SIZE_MAX) {
		member_add(p, obj, n);
		return;
	}
	conf_node_free(obj->kids[i]);
	obj->kids[i] = n;
}

/*
 * Return the object member called name, creating it (or replacing a
 * non-object, since the later definition wins) so that blocks merge.
 */
static struct conf_node *
obj_child(struct parser *p, struct conf_node *obj, const char *name,
    int line)
{
	struct conf_node *kid;
	size_t i;

	if ((i = member_find(p, obj, name)) != SIZE_MAX &&
	    obj->kids[i]->vtype == CONF_V_OBJECT)
		return obj->kids[i];
	kid = conf_node_new(CONF_V_OBJECT, xstrdup(name), p->file, line);
	obj_set(p, obj, kid);
	return kid;
}

/* Clear the serials that objects held while parsing. */
static void
clear_serials(struct conf_node *n)
{
	size_t i;

	if (n == NULL || n->vtype == CONF_V_STRING)
		return;
	if (n->vtype == CONF_V_OBJECT)
		n->num = 0;
	for (i = 0; i < n->nkids; i++)
		clear_serials(n->kids[i]);
}

/* Tokenizer. */

static int
peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->buf[p->pos] : -1;
}

static bool
at_comment(const struct parser *p)
{
	return p->pos < p->len && (p->buf[p->pos] == '#' ||
	    (p->buf[p->pos] == '/' && p->pos + 1 < p->len &&
	    p->buf[p->pos + 1] == '/'));
}

static bool
is_word(const struct parser *p, bool key)
{
	int c = peek(p);

	if (c <= 0x20 || c == 0x7f || strchr(word_stops, c) != NULL)
		return false;
	if (key && c == '.')
		return false;
	return !at_comment(p);
}

/* Skip blanks and comments on this line. */
static void
skip_space(struct parser *p)
{
	int c;

	for (;;) {
		c = peek(p);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
		    c == '\v')
			p->pos++;
		else if (at_comment(p)) {
			while (p->pos < p->len && p->buf[p->pos] != '\n')
				p->pos++;
		} else
			return;
	}
}

/* Skip blanks, comments and newlines; return whether a newline was seen. */
static bool
skip_blank(struct parser *p)
{
	bool nl = false;

	for (;;) {
		skip_space(p);
		if (peek(p) != '\n')
			return nl;
		p->pos++;
		p->line++;
		nl = true;
	}
}

static int
hex4(const char *s)
{
	int i, v = 0, c;

	for (i = 0; i < 4; i++) {
		c = (unsigned char)s[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + c - '0';
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static char *
put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80)
		*o++ = cp;
	else if (cp < 0x800) {
		*o++ = 0xc0 | (cp >> 6);
		*o++ = 0x80 | (cp & 0x3f);
	} else if (cp < 0x10000) {
		*o++ = 0xe0 | (cp >> 12);
		*o++ = 0x80 | ((cp >> 6) & 0x3f);
		*o++ = 0x80 | (cp & 0x3f);
	} else {
		*o++ = 0xf0 | (cp >> 18);
		*o++ = 0x80 | ((cp >> 12) & 0x3f);
		*o++ = 0x80 | ((cp >> 6) & 0x3f);
		*o++ = 0x80 | (cp & 0x3f);
	}
	return o;
}

/*
 * Decode the \u escape at s (which has n bytes left, s[0] == 'u') into o.
 * Return the bytes consumed after the backslash, or -1.  A surrogate pair
 * becomes one code point; a lone surrogate and U+0000 are refused.
 */
static int
unicode_escape(const char *s, size_t n, char **o)
{
	int hi, lo;

	if (n < 5 || (hi = hex4(s + 1)) <= 0 || (hi >= 0xdc00 &&
	    hi <= 0xdfff))
		return -1;
	if (hi < 0xd800 || hi > 0xdbff) {
		*o = put_utf8(*o, hi);
		return 5;
	}
	if (n < 11 || s[5] != '\\' || s[6] != 'u' ||
	    (lo = hex4(s + 7)) < 0xdc00 || lo > 0xdfff)
		return -1;
	*o = put_utf8(*o, 0x10000 + (((unsigned long)hi - 0xd800) << 10) +
	    (lo - 0xdc00));
	return 11;
}

/* One escape after a backslash at s[-1]; see unicode_escape. */
static int
escape(const char *s, size_t n, char **o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;

	if (n > 0 && s[0] == 'u')
		return unicode_escape(s, n, o);
	if (n == 0 || s[0] == '\0' || (e = strchr(from, s[0])) == NULL)
		return -1;
	*(*o)++ = to[e - from];
	return 1;
}

static void
bad_escape(struct parser *p, const char *key, const char *s)
{
	char cb[16];

	if (*s == 'u')
		conf_err(p->errs, p->file, p->line, key, "invalid \\u escape "
		    "(needs 4 hex digits, not U+0000 nor a lone surrogate)");
	else if (*s > 0x20 && *s < 0x7f)
		conf_err(p->errs, p->file, p->line, key,
		    "invalid escape \\%c in a string", *s);
	else
		conf_err(p->errs, p->file, p->line, key,
		    "invalid escape: \\ followed by %s in a string",
		    char_name((unsigned char)*s, cb, sizeof(cb)));
}

/*
 * A quoted string at p->pos; *out is the decoded text.  Strings end on
 * their line, as in JSON.
 */
static int
parse_string(struct parser *p, const char *key, char **out)
{
	char cb[16];
	char *o;
	size_t i, end;
	int n;

	*out = NULL;
	for (end = p->pos + 1; end < p->len && p->buf[end] != '"' &&
	    p->buf[end] != '\n'; end++)
		if (p->buf[end] == '\\' && end + 1 < p->len &&
		    p->buf[end + 1] != '\n')
			end++;
	if (end >= p->len || p->buf[end] != '"') {
		conf_err(p->errs, p->file, p->line, key,
		    "unterminated string");
		return -1;
	}
	o = *out = xmalloc(end - p->pos);
	for (i = p->pos + 1; i < end; i++) {
		if (p->buf[i] == '\\') {
			n = escape(p->buf + i + 1, end - i - 1, &o);
			if (n == -1) {
				bad_escape(p, key, p->buf + i + 1);
				goto fail;
			}
			i += n;
		} else if ((unsigned char)p->buf[i] < 0x20 &&
		    p->buf[i] != '\t') {
			conf_err(p->errs, p->file, p->line, key,
			    "control character %s in a string", char_name(
			    (unsigned char)p->buf[i], cb, sizeof(cb)));
			goto fail;
		} else
			*o++ = p->buf[i];
	}
	*o = '\0';
	p->pos = end + 1;
	return 0;
fail:
	FREE(*out);
	return -1;
}

/* An unquoted word; the caller has checked that one starts here. */
static char *
parse_word(struct parser *p, bool key)
{
	size_t start = p->pos;

	while (is_word(p, key))
		p->pos++;
	return xstrndup(p->buf + start, p->pos - start);
}

/* Parser. */

/* What may follow a value: a separator, a closer or the end. */
static int
after_value(struct parser *p, const char *key)
{
	char cb[16];
	int c;

	skip_space(p);
	c = peek(p);
	if (c == -1 || c == '\n' || c == ',' || c == '}' || c == ']')
		return 0;
	if (c == '"' || is_word(p, false))
		conf_err(p->errs, p->file, p->line, key, "unexpected text "
		    "after the value (quote values that contain spaces)");
	else
		conf_err(p->errs, p->file, p->line, key, "unexpected %s "
		    "after the value (quote values that contain it)",
		    char_name(c, cb, sizeof(cb)));
	return -1;
}

static int
parse_array(struct parser *p, const char *key, int depth,
    struct conf_node **out)
{
	struct conf_node *arr, *item;
	int open = p->line;

	arr = *out = conf_node_new(CONF_V_ARRAY, NULL, p->file, p->line);
	p->pos++;
	for (;;) {
		skip_blank(p);
		if (peek(p) == -1) {
			conf_err(p->errs, p->file, open, key,
			    "unterminated array (no closing ']')");
			return -1;
		}
		if (peek(p) == ']') {
			p->pos++;
			return 0;
		}
		if (peek(p) == '}') {
			conf_err(p->errs, p->file, p->line, key,
			    "unexpected '}' in a list");
			return -1;
		}
		if (parse_value(p, key, depth + 1, &item) == -1) {
			conf_node_free(item);
			return -1;
		}
		conf_node_append(arr, item);
		if (after_value(p, key) == -1)
			return -1;
		skip_blank(p);
		if (peek(p) == ',')
			p->pos++;
	}
}

/*
 * A value at p->pos.  depth is the nesting an object or array here would
 * have.  *out is set even on failure, for the caller to free.
 */
static int
parse_value(struct parser *p, const char *key, int depth,
    struct conf_node **out)
{
	struct conf_node *n;
	char cb[16];
	int c = peek(p);

	*out = NULL;
	if ((c == '{' || c == '[') && depth > CONF_MAX_DEPTH) {
		conf_err(p->errs, p->file, p->line, key,
		    "nesting deeper than %d levels", CONF_MAX_DEPTH);
		return -1;
	}
	if (c == '[')
		return parse_array(p, key, depth, out);
	if (c == '{') {
		*out = conf_node_new(CONF_V_OBJECT, NULL, p->file, p->line);
		p->pos++;
		return parse_body(p, *out, key, depth, p->line, '}');
	}
	if (c == '"' || is_word(p, false)) {
		n = *out = conf_node_new(CONF_V_STRING, NULL, p->file, p->line);
		if (c != '"') {
			n->str = parse_word(p, false);
			return 0;
		}
		n->quoted = true;
		return parse_string(p, key, &n->str);
	}
	if (c == -1 || c == '\n' || c == ',' || c == '}' || c == ']' ||
	    at_comment(p))
		conf_err(p->errs, p->file, p->line, key, "missing value");
	else if (c == '$')
		conf_err(p->errs, p->file, p->line, key,
		    "substitutions (${...}) are not supported");
	else
		conf_err(p->errs, p->file, p->line, key, "unexpected %s",
		    char_name(c, cb, sizeof(cb)));
	return -1;
}

/*
 * Quoted key segments may not be empty nor hold "." or control bytes, so
 * that every path can be printed and split again at its dots.
 */
static int
bad_key(struct parser *p, const char *path, const char *s)
{
	const char *c;

	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '.')
			break;
	if (*s != '\0' && *c == '\0')
		return 0;
	conf_err(p->errs, p->file, p->line, path, "a quoted key may not be "
	    "empty nor contain '.' or control characters");
	return -1;
}

static void
segs_free(char **segs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

/*
 * A key: segments separated by ".", each a word or a quoted string.  path
 * names the enclosing object for messages; depth is its nesting, which
 * limits how many segments the key may add.
 */
static int
parse_key(struct parser *p, const char *path, int depth, char ***segsp,
    size_t *np)
{
	char cb[16];
	char **segs = NULL, *s;
	size_t n = 0;

	for (;;) {
		if (peek(p) == '"') {
			if (parse_string(p, path, &s) == -1)
				goto fail;
			if (bad_key(p, path, s) == -1) {
				free(s);
				goto fail;
			}
		} else if (is_word(p, true))
			s = parse_word(p, true);
		else {
			conf_err(p->errs, p->file, p->line, path,
			    "expected a key%s, got %s", n > 0 ?
			    " after '.'" : "", char_name(peek(p), cb,
			    sizeof(cb)));
			goto fail;
		}
		segs = xreallocarray(segs, n + 1, sizeof(*segs));
		segs[n++] = s;
		if (depth + (int)n - 1 > CONF_MAX_DEPTH) {
			conf_err(p->errs, p->file, p->line, path,
			    "nesting deeper than %d levels", CONF_MAX_DEPTH);
			goto fail;
		}
		if (peek(p) != '.')
			break;
		p->pos++;
	}
	*segsp = segs;
	*np = n;
	return 0;
fail:
	segs_free(segs, n);
	return -1;
}

/* path (or NULL) and segs joined by dots; caller frees. */
char *
conf_join(const char *path, const char *const *segs, size_t n)
{
	char *full, *t;
	size_t i;

	full = xstrdup(path != NULL ? path : "");
	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s%s%s", full, *full != '\0' ? "." : "",
		    segs[i]);
		free(full);
		full = t;
	}
	return full;
}

/* The part of a member after its key: "= value", ": value" or "{...}". */
static int
parse_member_value(struct parser *p, struct conf_node *obj, char **segs,
    size_t n, const char *full, int depth)
{
	struct conf_node *cur = obj, *val = NULL;
	char cb[16];
	size_t i;
	int c, line = p->line;

	skip_space(p);
	c = peek(p);
	if (c == '=' || c == ':') {
		p->pos++;
		skip_space(p);
	} else if (c == -1 || c == '\n' || c == '}' || c == ',') {
		conf_err(p->errs, p->file, line, full, "missing value");
		return -1;
	} else if (c != '{') {
		if (n == 1 && strcmp(segs[0], "include") == 0)
			conf_err(p->errs, p->file, line, NULL,
			    "include is not supported");
		else
			conf_err(p->errs, p->file, line, full, "expected '=',"
			    " ':' or '{' after the key, got %s",
			    char_name(c, cb, sizeof(cb)));
		return -1;
	}
	for (i = 0; i + 1 < n; i++)
		cur = obj_child(p, cur, segs[i], line);
	if (peek(p) == '{') {
		if (depth + (int)n > CONF_MAX_DEPTH) {
			conf_err(p->errs, p->file, line, full,
			    "nesting deeper than %d levels", CONF_MAX_DEPTH);
			return -1;
		}
		p->pos++;
		cur = obj_child(p, cur, segs[n - 1], line);
		return parse_body(p, cur, full, depth + (int)n, line, '}');
	}
	if (parse_value(p, full, depth + (int)n, &val) == -1) {
		conf_node_free(val);
		return -1;
	}
	val->name = xstrdup(segs[n - 1]);
	val->line = line;
	obj_set(p, cur, val);
	return 0;
}

static int
parse_member(struct parser *p, struct conf_node *obj, const char *path,
    int depth)
{
	char **segs = NULL, *full = NULL;
	size_t n = 0;
	int rv = -1;

	if (parse_key(p, path, depth, &segs, &n) == -1)
		goto fail;
	full = conf_join(path, (const char *const *)segs, n);
	if (parse_member_value(p, obj, segs, n, full, depth) == -1 ||
	    after_value(p, full) == -1)
		goto fail;
	rv = 0;
fail:
	segs_free(segs, n);
	free(full);
	return rv;
}

/*
 * Members of obj until closer ('}' or -1 for the end of the file).  path
 * is obj's dotted path, depth its nesting, open the line of its '{'.
 */
static int
parse_body(struct parser *p, struct conf_node *obj, const char *path,
    int depth, int open, int closer)
{
	char cb[16];
	int c;

	for (;;) {
		skip_blank(p);
		c = peek(p);
		if (c == closer) {
			if (c != -1)
				p->pos++;
			return 0;
		}
		if (c == -1) {
			conf_err(p->errs, p->file, open, path,
			    "unterminated block (no closing '}')");
			return -1;
		}
		if (c == '}' || c == ']') {
			conf_err(p->errs, p->file, p->line, path,
			    "unexpected %s", char_name(c, cb, sizeof(cb)));
			return -1;
		}
		if (parse_member(p, obj, path, depth) == -1)
			return -1;
		skip_blank(p);
		if (peek(p) == ',')
			p->pos++;
	}
}

/* The whole file, optionally wrapped in braces as JSON would be. */
static int
parse_root(struct parser *p, struct conf_node *root)
{
	if (p->len >= 3 && memcmp(p->buf, "\xef\xbb\xbf", 3) == 0)
		p->pos = 3;
	skip_blank(p);
	if (peek(p) != '{')
		return parse_body(p, root, NULL, 0, p->line, -1);
	p->pos++;
	if (parse_body(p, root, NULL, 0, p->line, '}') == -1)
		return -1;
	skip_blank(p);
	if (peek(p) != -1) {
		conf_err(p->errs, p->file, p->line, NULL,
		    "unexpected text after the closing '}'");
		return -1;
	}
	return 0;
}

/* Entry points. */

int
conf_parse_text(struct conf_node *root, const char *file, const char *buf,
    size_t len, struct conf_errors *errs)
{
	struct parser p;
	int rv;

	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.len = len;
	p.line = 1;
	p.file = file;
	p.errs = errs;
	rv = parse_root(&p, root);
	clear_serials(root);
	free(p.map);
	return rv;
}

struct conf_node *
conf_parse_default(const struct conf_key *k, struct conf_errors *errs)
{
	struct conf_node *n = NULL;
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.buf = k->def;
	p.len = strlen(k->def);
	p.line = 1;
	p.file = CONF_DEFAULTS;
	p.errs = errs;
	skip_blank(&p);
	if (parse_value(&p, k->name, 1, &n) == -1)
		goto fail;
	skip_blank(&p);
	if (peek(&p) != -1) {
		conf_err(errs, p.file, p.line, k->name,
		    "unexpected text after the default");
		goto fail;
	}
	clear_serials(n);
	free(p.map);
	return n;
fail:
	free(p.map);
	conf_node_free(n);
	return NULL;
}
