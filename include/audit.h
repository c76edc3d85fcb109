#ifndef OVERLEG_AUDIT_H
#define OVERLEG_AUDIT_H
/* Reading and verifying the audit log (audit.c). */
#include "req.h"

/* The chain and the checkpoints verified ($5, $6: checkpoint.h's array literals), with the
 * audit entry of the verification ($1-$4 as REQ_AUDIT_PARAMS). One text for the endpoint and
 * `overlegd audit-verify`. */
#define AUDIT_VERIFY_SQL                                                                           \
    "WITH a AS (INSERT INTO audit_log SELECT * FROM audit_entry($1, $2, $3, $4, 'audit.verify',"   \
    "  NULL, NULL, 'success'))"                                                                    \
    " SELECT entries, first_bad_id, head_seq, head_hash, issued_seq, tail_ok, checkpoint,"         \
    "  checkpoint_problem FROM audit_verify($5::bigint[], $6::text[])"

void audit_list(struct req *r);
void audit_verify(struct req *r);
#endif
