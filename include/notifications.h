#ifndef OVERLEG_NOTIFICATIONS_H
#define OVERLEG_NOTIFICATIONS_H
/* A user's notifications (notifications.c). */
#include "req.h"

void notifications_list(struct req *r);
void notifications_read(struct req *r);
#endif
