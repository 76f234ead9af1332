/*
 * msg.c: published messages, reference counted so that one copy serves
 * every subscriber queue, in-flight window and the retained store.
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* One allocation: struct, topic with its NUL, payload.  NULL on ENOMEM. */
struct msg *
msg_new(const char *topic, size_t tlen, const void *payload, size_t plen,
    uint8_t qos, bool retain)
{
	struct msg *m;

	if (tlen > UINT16_MAX ||
	    (m = malloc(sizeof(*m) + tlen + 1 + plen)) == NULL)
		return NULL;
	m->refs = 1;
	m->qos = qos;
	m->retain = retain;
	m->topic_len = tlen;
	m->payload_len = plen;
	m->topic = (char *)(m + 1);
	memcpy(m->topic, topic, tlen);
	m->topic[tlen] = '\0';
	m->payload = (uint8_t *)m->topic + tlen + 1;
	if (plen > 0)
		memcpy(m->payload, payload, plen);
	return m;
}

struct msg *
msg_ref(struct msg *m)
{
	m->refs++;
	return m;
}

void
msg_unref(struct msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}


/* For stores that hold messages as void pointers. */
void
msg_unref_void(void *arg)
{
	msg_unref(arg);
}
