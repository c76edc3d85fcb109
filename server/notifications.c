/* A user's notifications (API.md §9): listed newest first, marked read one by one. They are
 * written by the statements that cause them (consultations.c) and by the scheduler (jobs.c). */
#include "notifications.h"

#include <string.h>

DB_STMT(sql_notifications, 5,
        "SELECT notification_json(n)::text, n.created_at::text, n.id FROM notifications n"
        " WHERE n.user_id = $1 AND (NOT $2::boolean OR n.read_at IS NULL)"
        " AND ($3::timestamptz IS NULL OR (n.created_at, n.id) < ($3::timestamptz, $4::uuid))"
        " ORDER BY n.created_at DESC, n.id DESC LIMIT $5");

DB_STMT(sql_notification_read, 3,
        "UPDATE notifications SET read_at = coalesce(read_at, $1)"
        " WHERE id = $2 AND user_id = $3 RETURNING notification_json(notifications)::text");

void notifications_list(struct req *r)
{
    const char *unread = req_query(r, "unread"), *after[2];
    if (unread && strcmp(unread, "true") && strcmp(unread, "false")) {
        req_bad_query(r, "unread", "must be true or false");
        return;
    }
    if (req_time_cursor(r, after) != 0)
        return;
    const char *p[] = {req_user(r)->id, unread && !strcmp(unread, "true") ? "true" : "false",
                       after[0], after[1], req_limit_param(r)};
    req_db(r, &sql_notifications, p, req_reply_time_page);
}

static void notification_read_done(struct req *r, struct db_result *res)
{
    req_reply_row(r, res, 200, "notification");
}

void notifications_read(struct req *r)
{
    const char *p[] = {req_now(r), req_param(r, 0), req_user(r)->id};
    req_db(r, &sql_notification_read, p, notification_read_done);
}
