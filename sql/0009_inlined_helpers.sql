-- ts() and audit_hash() were declared IMMUTABLE over built-ins that are only STABLE (to_char,
-- convert_to). PostgreSQL does not inline a function whose body is more volatile than declared,
-- so every statement that formats a timestamp (the session lookup of every request, every JSON
-- reply) and every audit entry parsed and planned the function's SQL again. STABLE is what they
-- are; no index or constraint uses either. The same was found for fold() (sql/0007).
ALTER FUNCTION ts(timestamptz) STABLE;
ALTER FUNCTION audit_hash(audit_log) STABLE;
