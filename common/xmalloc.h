/*
 * xmalloc.h: allocators that abort on exhaustion.  For start-up and
 * configuration paths only; code that handles client or network input
 * uses plain malloc and fails the one request instead.
 */
#ifndef STAPLEMQ_XMALLOC_H
#define STAPLEMQ_XMALLOC_H

#include <stddef.h>

/* Free and null a pointer in one step, so it cannot be used again. */
#define FREE(p)	do { free(p); (p) = NULL; } while (0)

/* xmalloc.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
