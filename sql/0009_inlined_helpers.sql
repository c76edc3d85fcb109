-- ts() and audit_hash() were declared IMMUTABLE over built-ins that are only STABLE (to_char,
-- convert_to). PostgreSQL does not inline a function whose body is more volatile than declared,
-- so every statement that formats a timestamp (the session lookup of every request, every JSON
-- reply) and every audit entry parsed and planned the function's SQL again. STABLE is what they
-- are; no index or constraint uses either. The same was found for fold() (sql/0007).
CREATE OR REPLACE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE OR REPLACE FUNCTION audit_hash(e audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(e.prev_hash || jsonb_build_array(
        e.seq, e.id, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        e.actor_id, e.actor_name, e.actor_role, e.actor_organisation_id, e.action,
        e.subject_type, e.subject_id, e.patient_ref, e.ip, e.request_id, e.outcome)::text,
        'UTF8')), 'hex')
$$;
