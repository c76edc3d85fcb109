-- Foundation: organisations, users, sessions, login rate limit, audit log, idempotency keys.
-- Every timestamp the application decides comes in as a parameter (the clock module), never now().

-- A timestamp as the API writes it (RFC 3339, UTC). STABLE, as to_char() is: PostgreSQL inlines
-- an SQL function only when it is declared no less volatile than its body, and this one is in
-- every JSON reply and in the session check of every request. No index or constraint uses it.
CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE TABLE organisations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('general_practice', 'mental_health_provider',
                    'municipality', 'insurer', 'social_team', 'other')),
    region      text NOT NULL CHECK (region ~ '^[a-z0-9-]{2,64}$'),
    agb_code    text CHECK (agb_code ~ '^[0-9]{8}$'),
    created_at  timestamptz NOT NULL,
    version     bigint NOT NULL DEFAULT 1
);
CREATE INDEX organisations_name ON organisations (name, id);
CREATE INDEX organisations_region ON organisations (region, kind);

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (email = lower(email)),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text NOT NULL CHECK (role IN ('gp', 'poh', 'consultant', 'coordinator',
                        'billing', 'admin')),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    password_hash   text NOT NULL,
    agb_code        text CHECK (agb_code ~ '^[0-9]{8}$'),
    big_number      text CHECK (big_number ~ '^[0-9]{11}$'),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    version         bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE FUNCTION organisation_json(o organisations) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'name', o.name, 'kind', o.kind, 'region', o.region,
                              'agb_code', o.agb_code, 'created_at', ts(o.created_at))
$$;

CREATE FUNCTION user_json(u users) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'email', u.email, 'name', u.name, 'role', u.role,
                              'organisation_id', u.organisation_id, 'agb_code', u.agb_code,
                              'big_number', u.big_number, 'active', u.active,
                              'created_at', ts(u.created_at))
$$;

-- Bearer tokens: only the SHA-256 of the token is kept. A session carries its user's principal
-- (organisation, role, region), so that the check in front of every authenticated request, inside
-- the directory's own statements too (server/http.c, with_session), reads this row alone.
CREATE TABLE sessions (
    token_hash       text PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    revoked_at       timestamptz,
    organisation_id  uuid NOT NULL,
    role             text NOT NULL,
    region           text NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- What makes the copied principal right: a session that is not revoked always belongs to an active
-- user and carries that user's current organisation, role and region.
-- - A session is inserted with the principal copied from its user (sessions_principal), under a
--   share lock on the user's and its organisation's rows: a deactivation or change that commits
--   first is seen (no session for an inactive user, or one moved meanwhile: the insert does
--   nothing), one that comes after waits for the insert.
-- - Deactivating a user, or changing its role or organisation, revokes its open sessions, as does
--   changing an organisation's region for the sessions of its users. The API changes none of these
--   except `active` (PATCH /v1/users/{id}, which revokes in its own statement too); the triggers
--   hold the rule for any change. Each statement of a trigger function sees the sessions
--   committed before it, the one of a sign-in that waited for it included; that holds in READ
--   COMMITTED only, so the triggers refuse such a change at a stricter isolation level (its
--   snapshot could miss a session). They fire with session_replication_role = replica too, like
--   the audit log's.
-- A revocation made here has no request and so no application clock: these use the database's.
CREATE FUNCTION sessions_principal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT u.organisation_id, u.role, o.region INTO NEW.organisation_id, NEW.role, NEW.region
      FROM users u JOIN organisations o ON o.id = u.organisation_id
     WHERE u.id = NEW.user_id AND u.active
       FOR SHARE OF u, o;
    IF NOT FOUND THEN
        RETURN NULL; -- the user is not (or no longer) active: no session
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sessions_principal BEFORE INSERT ON sessions
  FOR EACH ROW EXECUTE FUNCTION sessions_principal();

CREATE FUNCTION revoke_needs_read_committed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'a change that ends sessions needs READ COMMITTED (it is %)',
            current_setting('transaction_isolation') USING ERRCODE = '25001';
    END IF;
END
$$;

CREATE FUNCTION users_revoke_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revoke_needs_read_committed();
    UPDATE sessions SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_revoke_sessions AFTER UPDATE OF active, role, organisation_id ON users
  FOR EACH ROW WHEN (NOT new.active OR old.role IS DISTINCT FROM new.role
                     OR old.organisation_id IS DISTINCT FROM new.organisation_id)
  EXECUTE FUNCTION users_revoke_sessions();

CREATE FUNCTION organisations_revoke_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM revoke_needs_read_committed();
    UPDATE sessions s SET revoked_at = now()
      FROM users u
     WHERE u.organisation_id = NEW.id AND s.user_id = u.id AND s.revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisations_revoke_sessions AFTER UPDATE OF region ON organisations
  FOR EACH ROW WHEN (old.region IS DISTINCT FROM new.region)
  EXECUTE FUNCTION organisations_revoke_sessions();
-- ALWAYS: they fire even with session_replication_role = replica.
ALTER TABLE sessions ENABLE ALWAYS TRIGGER sessions_principal;
ALTER TABLE users ENABLE ALWAYS TRIGGER users_revoke_sessions;
ALTER TABLE organisations ENABLE ALWAYS TRIGGER organisations_revoke_sessions;

-- Failed logins per e-mail, in the database so several server processes share the limit.
CREATE TABLE login_failures (
    email   text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);

-- Sign-in attempts are counted before the password is checked, under a per-e-mail lock, so
-- parallel guesses cannot slip past the limit. The lock lasts until 15 minutes after the last
-- failure (docs/conventions.md).
CREATE FUNCTION login_attempt(p_email text, p_now timestamptz,
                              OUT password_hash text, OUT user_id uuid, OUT retry_after int)
LANGUAGE plpgsql AS $$
DECLARE
    recent timestamptz[];
BEGIN
    p_email := lower(p_email); -- lower() knows Unicode case rules; e-mails are stored lower-case
    PERFORM pg_advisory_xact_lock(hashtext('login:' || p_email));
    SELECT array_agg(f.at ORDER BY f.at DESC) INTO recent
      FROM (SELECT at FROM login_failures WHERE email = p_email
             ORDER BY at DESC LIMIT 5) f;
    -- Five failures within 15 minutes, the last less than 15 minutes ago: locked.
    IF array_length(recent, 1) = 5 AND recent[1] - recent[5] <= interval '15 minutes'
       AND recent[1] + interval '15 minutes' > p_now THEN
        retry_after := greatest(1, ceil(extract(epoch FROM
                           recent[1] + interval '15 minutes' - p_now))::int);
    ELSE
        -- Counted as a failure until it succeeds: success deletes the e-mail's failures.
        INSERT INTO login_failures (email, at) VALUES (p_email, p_now);
    END IF;
    SELECT u.id, CASE WHEN u.active THEN u.password_hash END INTO user_id, password_hash
      FROM users u WHERE u.email = p_email;
END
$$;

-- Idempotency-Key store (API.md §2). The stored response body is encrypted with the data key; a
-- replayed reply keeps its ETag.
CREATE TABLE idempotency_keys (
    user_id       uuid NOT NULL,
    key           text NOT NULL,
    route         text NOT NULL,
    request_hash  text NOT NULL,
    created_at    timestamptz NOT NULL,
    status        int,
    body_enc      text,
    etag          text,
    PRIMARY KEY (user_id, key)
);

-- Audit log in the spirit of NEN 7513: append-only and hash-chained.
CREATE TABLE audit_log (
    seq                   bigint NOT NULL UNIQUE,
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    at                    timestamptz NOT NULL,
    actor_id              uuid,
    actor_name            text,
    actor_role            text,
    actor_organisation_id uuid,
    action                text NOT NULL,
    subject_type          text,
    subject_id            uuid,
    patient_ref           text,
    ip                    text,
    request_id            text,
    outcome               text NOT NULL CHECK (outcome IN ('success', 'denied')),
    prev_hash             text NOT NULL,
    hash                  text NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);

-- The hash covers the previous entry's hash and every field, in a canonical JSON text. STABLE, as
-- to_char() and convert_to() are (see ts()).
CREATE FUNCTION audit_hash(e audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(e.prev_hash || jsonb_build_array(
        e.seq, e.id, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        e.actor_id, e.actor_name, e.actor_role, e.actor_organisation_id, e.action,
        e.subject_type, e.subject_id, e.patient_ref, e.ip, e.request_id, e.outcome)::text,
        'UTF8')), 'hex')
$$;

-- Chains each new entry to the last one. The advisory lock serialises writers, so `seq` follows
-- commit order and every writer sees its predecessor.
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last audit_log%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(7513);
    SELECT * INTO last FROM audit_log ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last.seq, 0) + 1;
    NEW.prev_hash := coalesce(last.hash, '');
    IF NEW.actor_id IS NOT NULL THEN
        SELECT u.name, u.role, u.organisation_id
          INTO NEW.actor_name, NEW.actor_role, NEW.actor_organisation_id
          FROM users u WHERE u.id = NEW.actor_id;
    END IF;
    NEW.hash := audit_hash(NEW);
    RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
-- ALWAYS: they fire even with session_replication_role = replica.
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_chain;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_change;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

CREATE FUNCTION audit_json(e audit_log) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', e.id, 'at', ts(e.at),
        'actor', CASE WHEN e.actor_id IS NULL THEN NULL ELSE jsonb_build_object(
            'id', e.actor_id, 'name', e.actor_name, 'role', e.actor_role,
            'organisation_id', e.actor_organisation_id) END,
        'action', e.action, 'subject_type', e.subject_type, 'subject_id', e.subject_id,
        'patient_ref', e.patient_ref, 'ip', e.ip, 'request_id', e.request_id,
        'outcome', e.outcome)
$$;
