#ifndef OVERLEG_IDEMPOTENCY_H
#define OVERLEG_IDEMPOTENCY_H
/* Idempotency-Key (idempotency.c) for routes marked ROUTE_IDEM. */
#include "req_private.h"

/* REQ_IDEMPOTENCY: without a key, `next` at once. With one: reserves it (a commit of its own),
 * then `next` with every later statement of the request in one transaction (r->txn) and the
 * reply filter that stores the reply (encrypted) for replays in that transaction and commits it
 * before the reply is sent; or answers with the stored reply, or 409 while the first request
 * runs or when the key was used for another request. */
void idem_begin(struct req *r, void (*next)(struct req *r));
#endif
