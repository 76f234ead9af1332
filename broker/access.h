/*
 * access.h: per-listener access rules by client address, as EMQX's
 * listeners.<type>.<name>.access_rules (esockd_access underneath).
 *
 * Syntax: each configured string holds one or more items separated by
 * commas; an item is "allow" or "deny", one or more spaces or tabs, and a
 * target: "all", an address ("192.168.1.5", "::1") or a network
 * ("10.0.0.0/8", "2001:db8::/32").  So ["allow 10.0.1.0/24, deny all"] is
 * two rules, as in EMQX.  Beyond EMQX, an item may also omit the verb and
 * take the one before it in the same string: "allow 10.0.0.1, 10.0.0.2" is
 * two allow rules (EMQX refuses that string).  Verbs are lower case, as in
 * EMQX.  A network whose address has host bits set is taken with them
 * cleared, "10.1.2.3/8" as "10.0.0.0/8", as esockd_cidr:parse(S, true)
 * does.
 *
 * Matching: the rules are tried in order and the first that matches
 * decides.  When none matches, the connection is allowed: esockd's
 * allowed/2 answers true for nomatch, and EMQX's default list is
 * ["allow all"].  An empty list therefore allows everyone; to admit only
 * some clients, end the list with "deny all".
 *
 * Families: IPv4 rules match IPv4 clients, and also IPv4-mapped IPv6
 * clients ("::ffff:a.b.c.d", as a dual-stack socket reports IPv4 peers),
 * which are matched as the IPv4 address they carry.  An IPv6 rule inside
 * ::ffff:0:0/96 is likewise an IPv4 rule.  Other IPv6 rules match only
 * real IPv6 clients, even "::/0".  A client of any other family (AF_UNIX)
 * is matched only by "all".
 *
 * Ownership: the rules are a copy; the strings may be freed after
 * access_rules_new().  access_allowed() does not allocate, and a rule set
 * may be shared read-only by any number of threads.
 */
#ifndef STAPLEMQ_ACCESS_H
#define STAPLEMQ_ACCESS_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

struct access_rules;

/* access.c */

/*
 * Compile n rule strings for the listener named in messages.  Returns
 * NULL after logging the listener and the offending rule with log_err().
 */
struct access_rules *access_rules_new(const char *const *, size_t,
	    const char *);
void	 access_rules_free(struct access_rules *);
/* Whether a client at this address may connect; NULL rules allow all. */
bool	 access_allowed(const struct access_rules *, const struct sockaddr *);

#endif
