-- Foundation: organisations, users, sessions, login rate limit, audit log, idempotency keys.
-- Every timestamp the application decides comes in as a parameter (the clock module), never now().

CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
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

-- Bearer tokens: only the SHA-256 of the token is kept.
CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Failed logins per e-mail, in the database so several server processes share the limit.
CREATE TABLE login_failures (
    email   text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);

-- Idempotency-Key store (API.md §2). The stored response body is encrypted with the data key.
CREATE TABLE idempotency_keys (
    user_id       uuid NOT NULL,
    key           text NOT NULL,
    route         text NOT NULL,
    request_hash  text NOT NULL,
    created_at    timestamptz NOT NULL,
    status        int,
    body_enc      text,
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

-- The hash covers the previous entry's hash and every field, in a canonical JSON text.
CREATE FUNCTION audit_hash(e audit_log) RETURNS text LANGUAGE sql IMMUTABLE AS $$
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

-- ---------- the scheduler ----------

-- The scheduler's passes, a row each: `function(now timestamptz)` returns one row of
-- (signals_raised, signals_resolved, notifications_created). Every server process runs them all
-- every OVERLEG_JOBS_INTERVAL seconds, so a pass must be safe when another process runs it at
-- the same moment: unique constraints with ON CONFLICT, FOR UPDATE SKIP LOCKED, idempotent
-- deletes. A capability adds its pass with one INSERT in its migration.
CREATE TABLE scheduler_passes (
    name     text PRIMARY KEY,
    function regproc NOT NULL
);

-- Runs every pass in name order and adds up their counts. Each pass in a subtransaction of its
-- own: one that fails is logged (a warning) and leaves the others' work standing.
CREATE FUNCTION scheduler_run(p_now timestamptz, OUT signals_raised bigint,
    OUT signals_resolved bigint, OUT notifications_created bigint)
LANGUAGE plpgsql AS $$
DECLARE
    pass scheduler_passes;
    r record;
BEGIN
    signals_raised := 0;
    signals_resolved := 0;
    notifications_created := 0;
    FOR pass IN SELECT * FROM scheduler_passes ORDER BY name LOOP
        BEGIN
            EXECUTE format('SELECT * FROM %s($1)', pass.function) INTO r USING p_now;
            signals_raised := signals_raised + r.signals_raised;
            signals_resolved := signals_resolved + r.signals_resolved;
            notifications_created := notifications_created + r.notifications_created;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'scheduler pass % failed: %', pass.name, SQLSTATE;
        END;
    END LOOP;
END
$$;

-- Housekeeping: sessions a day past expiry, sign-in failures older than the limit's window,
-- idempotency keys past their 24 hours.
CREATE FUNCTION scheduler_housekeeping(p_now timestamptz, OUT signals_raised bigint,
    OUT signals_resolved bigint, OUT notifications_created bigint)
LANGUAGE sql VOLATILE AS $$
    WITH s AS (DELETE FROM sessions WHERE expires_at < p_now - interval '1 day'),
         f AS (DELETE FROM login_failures WHERE at < p_now - interval '1 day'),
         k AS (DELETE FROM idempotency_keys WHERE created_at < p_now - interval '24 hours')
    SELECT 0::bigint, 0::bigint, 0::bigint
$$;
INSERT INTO scheduler_passes (name, function) VALUES ('housekeeping', 'scheduler_housekeeping');
