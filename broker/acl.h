/*
 * acl.h: topic authorization from a mosquitto-style acl_file.
 *
 * File format, one directive per line; leading and trailing blanks,
 * blank lines and lines starting with "#" are ignored:
 *
 *	user USERNAME			following topic lines apply to USERNAME
 *	topic [ACCESS] FILTER		a rule for the current user; before any
 *					user line, for every client, anonymous
 *					ones included
 *	pattern [ACCESS] FILTER		a rule for every client, with %u
 *					replaced by the user name and %c by the
 *					client identifier
 *
 * ACCESS is read, write, readwrite (the default) or deny.  When a line has
 * more than one word after the keyword, the first must be an access word:
 * a filter with spaces needs an explicit one ("topic readwrite a b").
 * Several user blocks with the same name add up.
 *
 * Decisions (mosquitto's, with deny made absolute):
 *  - everything not granted is denied;
 *  - a deny rule that matches wins over every grant, whether it comes from
 *    the global rules, the user's rules or a pattern, and in any order;
 *  - filters whose first level is a wildcard never match topics starting
 *    with "$" (MQTT-4.7.2-1);
 *  - a pattern with %u is skipped for anonymous clients;
 *  - a user name or client identifier that is empty, starts with "$" or
 *    contains "+", "#" or "/" is never substituted, as it could reach
 *    other clients' topics: grant patterns that need it are skipped and
 *    deny patterns that need it deny everything (fail closed).
 *
 * Ownership: struct acl owns copies of every string in the file and is
 * immutable after acl_load(), so concurrent acl_check() calls are fine.
 */
#ifndef STAPLEMQ_ACL_H
#define STAPLEMQ_ACL_H

#include <stdbool.h>
#include <stddef.h>

/* Bits: a rule grants any subset, a request asks for exactly one. */
enum acl_access {
	ACL_READ = 0x1,		/* subscribe, and receive each message */
	ACL_WRITE = 0x2,	/* publish */
};

struct acl;

/*
 * Parse the file at path.  Returns the rules, or NULL after logging every
 * error as "FILE:LINE: message" with log_err().
 */
struct acl	*acl_load(const char *path);
void		 acl_free(struct acl *);

/*
 * May this client have this access to topic (topic_len bytes, need not be
 * NUL-terminated)?  username is NULL for anonymous clients; client_id may
 * be NULL only if no pattern uses %c (else %c patterns are treated as
 * unsafe, see above).  A NULL acl denies everything: callers without an
 * acl_file do not call.  Allocates nothing and does not log above debug.
 *
 * For ACL_WRITE, topic is the published topic name.  For ACL_READ it is
 * either the topic name of a message about to be delivered, or the filter
 * of a SUBSCRIBE: a filter is granted if a read rule's filter covers it
 * (acl_filter_covers) and no deny rule covers it.  A subscription that
 * only overlaps a deny rule ("a/+" against "deny a/secret") is granted, so
 * callers must also check ACL_READ on each message they deliver.
 */
bool		 acl_check(const struct acl *, const char *username,
		    const char *client_id, const char *topic, size_t topic_len,
		    enum acl_access access);

/*
 * Does filter `outer' match every topic name that filter `inner' matches?
 * A topic name is a filter without wildcards, so this is also the plain
 * match of a name against a filter.  "a/#" covers "a", "a/+/c" and "a/#";
 * "+/x" covers "+/x" but "a/+" does not cover "a/#".  "$" topics follow
 * MQTT-4.7.2-1: "#" does not cover "$SYS/x".  Both should be valid
 * filters (topic_filter_check()); neither need be NUL-terminated.
 */
bool		 acl_filter_covers(const char *outer, size_t outer_len,
		    const char *inner, size_t inner_len);

#endif /* STAPLEMQ_ACL_H */
