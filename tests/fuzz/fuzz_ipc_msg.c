/*
 * fuzz_ipc_msg.c: libFuzzer target for ipc_msg_check (ipc/notify.c), run
 * by the broker on every message that arrives on the notify socket.
 *
 * The input is checked from a buffer of exactly its size, so that ASan
 * sees any read past the length given.  An accepted message must have
 * the exact size of its type, and the checks leave no freedom: an
 * accepted note is byte for byte what ipc_note_encode makes of its
 * generation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

#define CHECK(x)	do { if (!(x)) __builtin_trap(); } while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check_accepted(const uint8_t *, size_t, int);

static void
check_accepted(const uint8_t *b, size_t size, int type)
{
	struct ipc_note_published	 n;
	uint64_t			 gen;

	switch (type) {
	case IPC_NOTE_PUBLISHED:
		CHECK(size == sizeof(struct ipc_note_published));
		gen = ipc_msg_generation(b);
		CHECK(ipc_note_encode(&n, sizeof(n), gen) == sizeof(n));
		CHECK(memcmp(&n, b, sizeof(n)) == 0);
		break;
	case IPC_REP_PONG:
		CHECK(size == sizeof(struct ipc_rep_pong));
		(void)ipc_msg_generation(b);
		break;
	case IPC_REQ_PING:
		CHECK(size == sizeof(struct ipc_hdr));
		break;
	default:
		CHECK(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*why = NULL;
	uint8_t		*b;
	int		 type;

	if ((b = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(b, data, size);
	type = ipc_msg_check(b, size, &why);
	if (type == -1)
		CHECK(why != NULL && why[0] != '\0');
	else {
		CHECK(why == NULL);
		check_accepted(b, size, type);
	}
	free(b);
	return 0;
}
