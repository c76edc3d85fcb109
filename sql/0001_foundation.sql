-- Foundation: organisations, users, sessions, login rate limit, audit log, idempotency keys.
-- Every timestamp the application decides comes in as a parameter (the clock module), never now().

-- A timestamp as the API writes it (RFC 3339, UTC). STABLE, as to_char() is: PostgreSQL inlines
-- an SQL function only when it is declared no less volatile than its body, and this one is in
-- every JSON reply and in the session check of every request. No index or constraint uses it.
CREATE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- ---------- working days ----------
-- The Dutch working-day calendar that due dates follow (API.md §8: Monday to Friday, no public
-- holiday), for the reports' response times. server/workdays.c computes due dates with the same
-- calendar; tests/api/test_reports.py checks that the two agree on every day of 2000-2100.

-- PL/pgSQL with integer arithmetic: a consultation's working hours are a generated column
-- (consultations.response_hours), computed at every write of an answered consultation, and this
-- is 47 times quicker than the same calendar in SQL functions (to_char, nested sub-selects):
-- 7.6 against 358 µs for an answer after 50 hours.

-- Easter Sunday of year `y` (the anonymous Gregorian computus).
CREATE FUNCTION easter(y int) RETURNS date LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    a int := y % 19;
    b int := y / 100;
    c int := y % 100;
    h int := (19 * a + b - b / 4 - (b - (b + 8) / 25 + 1) / 3 + 15) % 30;
    l int := (32 + 2 * (b % 4) + 2 * (c / 4) - h - c % 4) % 7;
    m int := (a + 11 * h + 22 * l) / 451;
BEGIN
    RETURN make_date(y, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1);
END
$$;

-- Whether day `d` is a working day: Monday to Friday, and not New Year's Day, Easter Monday,
-- King's Day (27 April, the 26th when the 27th is a Sunday), Liberation Day (5 May, in years
-- divisible by 5), Ascension Day, Whit Monday, Christmas Day or Boxing Day.
CREATE FUNCTION is_workday(d date) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    y int := extract(year FROM d);
    md int := extract(month FROM d) * 100 + extract(day FROM d);
BEGIN
    -- King's Day moves to the 26th only when the 27th is a Sunday, and the 26th is then a
    -- Saturday: for working days it is always the 27th.
    IF extract(isodow FROM d) > 5 OR md IN (101, 427, 1225, 1226) OR (md = 505 AND y % 5 = 0) THEN
        RETURN false;
    END IF;
    RETURN d - easter(y) NOT IN (1, 39, 50);
END
$$;

-- The working hours from `a` to `b`: the time between them less what falls on days that are
-- not working days. Days are counted in UTC, as due dates are (workdays_add), so an answer
-- exactly at a due date of N working days has taken 24 × N working hours. NULL when either is.
CREATE FUNCTION working_hours(a timestamptz, b timestamptz) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    secs numeric := extract(epoch FROM b - a);
    d date := (a AT TIME ZONE 'UTC')::date;
BEGIN
    WHILE d <= (b AT TIME ZONE 'UTC')::date LOOP
        IF NOT is_workday(d) THEN
            secs := secs - extract(epoch FROM least(b, (d + 1)::timestamp AT TIME ZONE 'UTC')
                                              - greatest(a, d::timestamp AT TIME ZONE 'UTC'));
        END IF;
        d := d + 1;
    END LOOP;
    RETURN round(secs / 3600, 4);
END
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
-- Admins' user list, in name order (GET /v1/users).
CREATE INDEX users_by_name ON users (name, id);

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

-- Who is asking, as one value: every policy function takes it whole, so no statement passes the
-- parts as loose parameters that could disagree. The server sends it as a row literal.
CREATE TYPE principal AS (id uuid, role text, organisation_id uuid, region text);

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

-- ---------- sealed texts (docs/encryption.md) ----------

-- A sealed column as a reply shows it: the server opens {"$ad", "$sealed"} as the reply leaves
-- (datakeys_reveal), with `ad`, the object the value belongs to, as GCM's associated data. A value
-- moved to another object's row therefore does not open. NULL stays null.
CREATE FUNCTION sealed(v text, ad text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NOT NULL THEN jsonb_build_object('$ad', ad, '$sealed', v) END
$$;

-- The data keys the database has seen, each with a probe sealed under it: at start-up the server
-- checks that every key it was given opens its probe (a wrong key stops it), and that every key
-- that may still seal a value is given (`retired_at` is set by `overlegd rekey` once no value is
-- sealed under the key any more).
CREATE TABLE data_keys (
    id         text PRIMARY KEY,
    probe      text NOT NULL,
    added_at   timestamptz NOT NULL,
    retired_at timestamptz
);

-- Where `overlegd rekey` is in each table, so a run that stopped resumes there. `key_id` is the
-- key the run seals with: a run for another key starts over.
CREATE TABLE rekey_progress (
    table_name text PRIMARY KEY,
    key_id     text NOT NULL,
    after_key  text NOT NULL,
    rows_done  bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);

-- The append-only event tables (consultation_events, case_events) refuse changes, but for one:
-- `detail` sealed anew (overlegd rekey), every other column as it was.
CREATE FUNCTION events_reseal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.detail LIKE 'ov1:%'
       AND to_jsonb(NEW) - 'detail' = to_jsonb(OLD) - 'detail' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Idempotency-Key store (API.md §2). The stored response body is sealed to its user and key; a
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

-- The last sequence number and hash handed out. It only moves forward, so deleting the newest
-- entries leaves a gap before the next one (its seq and prev_hash point past what is left) instead
-- of letting the chain go on as if nothing happened. The application role cannot write it: only
-- audit_log_chain() does, as its owner.
CREATE TABLE audit_head (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq   bigint NOT NULL,
    hash  text NOT NULL
);
INSERT INTO audit_head VALUES (true, 0, '');

-- Chains each new entry to the last one handed out. Writers take turns on a transaction-level
-- advisory lock first, so `seq` follows commit order and every writer sees its predecessor: the
-- row lock alone serialises them too, but 16 writers queued on one row's lock cost 40 % more at
-- the p99 of a create (docs/benchmarks.md), since each waiter re-reads the row's newest version
-- after its predecessor commits; behind the advisory lock nobody waits on the row. SECURITY DEFINER
-- so that the application role needs no UPDATE on audit_head; search_path fixed (pg_temp last)
-- so no temporary table can stand in for it.
CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last audit_head%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(7513);
    SELECT * INTO last FROM audit_head FOR UPDATE;
    NEW.id := coalesce(NEW.id, gen_random_uuid()); -- audit_entry() leaves it to us
    NEW.seq := last.seq + 1;
    NEW.prev_hash := last.hash;
    IF NEW.actor_id IS NOT NULL THEN
        SELECT u.name, u.role, u.organisation_id
          INTO NEW.actor_name, NEW.actor_role, NEW.actor_organisation_id
          FROM users u WHERE u.id = NEW.actor_id;
    END IF;
    NEW.hash := audit_hash(NEW);
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash;
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

CREATE FUNCTION audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq <> OLD.seq + 1 THEN
        RAISE EXCEPTION 'audit_head only moves forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
ALTER TABLE audit_head ENABLE ALWAYS TRIGGER audit_head_forward;
ALTER TABLE audit_head ENABLE ALWAYS TRIGGER audit_head_no_truncate;

-- The whole chain checked in one pass, and against the checkpoints kept outside the database
-- (server/checkpoint.c: line i of the file is (cp_seq[i], cp_hash[i])). An entry is bad when its
-- hash, its link to its predecessor or its sequence number (a gap) is wrong; the tail is cut
-- when audit_head has handed out more than is left; a checkpoint fails when the chain is
-- shorter than it (`shorter`), lacks its entry (`missing`) or holds another hash there
-- (`diverged`). `checkpoint` is the index of the first failing checkpoint, 1-based.
CREATE FUNCTION audit_verify(cp_seq bigint[], cp_hash text[], OUT entries bigint,
                             OUT first_bad_id uuid, OUT head_seq bigint, OUT head_hash text,
                             OUT issued_seq bigint, OUT tail_ok boolean, OUT checkpoint bigint,
                             OUT checkpoint_problem text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT count(*), (array_agg(c.id ORDER BY c.seq) FILTER (WHERE c.bad))[1]
      INTO entries, first_bad_id
      FROM (SELECT e.id, e.seq, e.hash <> audit_hash(e)
                   OR e.prev_hash <> coalesce(lag(e.hash) OVER w, '')
                   OR e.seq <> coalesce(lag(e.seq) OVER w, 0) + 1 AS bad
              FROM audit_log e WINDOW w AS (ORDER BY e.seq)) c;
    SELECT e.seq, e.hash INTO head_seq, head_hash FROM audit_log e ORDER BY e.seq DESC LIMIT 1;
    SELECT h.seq, h.seq = coalesce(head_seq, 0) AND h.hash = coalesce(head_hash, '')
      INTO issued_seq, tail_ok FROM audit_head h;
    SELECT k.n, CASE WHEN e.seq IS NOT NULL THEN 'diverged'
                     WHEN k.seq > coalesce(head_seq, 0) THEN 'shorter' ELSE 'missing' END
      INTO checkpoint, checkpoint_problem
      FROM unnest(cp_seq, cp_hash) WITH ORDINALITY AS k(seq, hash, n)
      LEFT JOIN audit_log e ON e.seq = k.seq
     WHERE e.hash IS DISTINCT FROM k.hash
     ORDER BY k.n LIMIT 1;
END
$$;

CREATE FUNCTION audit_json(e audit_log) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', e.id, 'at', ts(e.at),
        'actor', CASE WHEN e.actor_id IS NULL THEN NULL ELSE jsonb_build_object(
            'id', e.actor_id, 'name', e.actor_name, 'role', e.actor_role,
            'organisation_id', e.actor_organisation_id) END,
        'action', e.action, 'subject_type', e.subject_type, 'subject_id', e.subject_id,
        'patient_ref', e.patient_ref, 'ip', e.ip, 'request_id', e.request_id,
        'outcome', e.outcome)
$$;

-- ---------- writing the audit log ----------

-- An audit entry's caller-given columns in their table order, so that the column list exists
-- once: `INSERT INTO audit_log SELECT * FROM audit_entry(...)` (a data-modifying CTE always runs,
-- whether or not the statement reads it). The chain trigger fills id, seq, actor and hashes.
-- STABLE (no gen_random_uuid() here) so that it is inlined into the statement that calls it.
CREATE FUNCTION audit_entry(at timestamptz, actor uuid, ip text, request_id text, action text,
                            subject_type text, subject_id uuid, outcome text,
                            patient_ref text DEFAULT NULL)
RETURNS SETOF audit_log LANGUAGE sql STABLE AS $$
    SELECT NULL::bigint, NULL::uuid, at, actor, NULL::text, NULL::text, NULL::uuid,
           action, subject_type, subject_id, patient_ref, ip, request_id, outcome,
           NULL::text, NULL::text
$$;

-- The same, written: for PL/pgSQL, where PERFORM runs it. In PL/pgSQL itself so that its plan
-- is kept per connection (a SQL function's body is planned anew at every call).
CREATE FUNCTION audit_write(at timestamptz, actor uuid, ip text, request_id text, action text,
                            subject_type text, subject_id uuid, outcome text,
                            patient_ref text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO audit_log
    SELECT * FROM audit_entry(at, actor, ip, request_id, action, subject_type, subject_id,
                              outcome, patient_ref);
END
$$;

-- ---------- notifications ----------

-- Each user's inbox: no patient data, no clinical text, only what happened to which object.
CREATE TABLE notifications (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id),
    kind          text NOT NULL,
    subject_type  text NOT NULL,
    subject_id    uuid NOT NULL,
    created_at    timestamptz NOT NULL,
    read_at       timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id);
-- The scheduler's "overdue" notice goes out once per consultation and user.
CREATE UNIQUE INDEX notifications_once ON notifications (user_id, kind, subject_id)
    WHERE kind = 'consultation_overdue';

CREATE FUNCTION notification_json(n notifications) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', n.id, 'kind', n.kind, 'subject_type', n.subject_type,
        'subject_id', n.subject_id, 'created_at', ts(n.created_at), 'read_at', ts(n.read_at))
$$;

-- Writes one notification to each of `users` (NULLs skipped; the caller names each user once)
-- and returns how many: the one fan-out every hook uses. `once`: a kind that goes out at most once
-- per user and subject (it has a unique index, notifications_once), safe when several server
-- processes raise it at the same moment. Only then ON CONFLICT: its speculative insertion costs
-- creation a fifth of its throughput under load (docs/benchmarks.md). PL/pgSQL so that its plans
-- are kept per connection.
CREATE FUNCTION notify(users uuid[], kind text, subject_type text, subject_id uuid,
                       at timestamptz, once boolean DEFAULT false) RETURNS int
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int;
BEGIN
    IF once THEN
        INSERT INTO notifications (user_id, kind, subject_type, subject_id, created_at)
        SELECT u, kind, subject_type, subject_id, at FROM unnest(users) u WHERE u IS NOT NULL
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO notifications (user_id, kind, subject_type, subject_id, created_at)
        SELECT u, kind, subject_type, subject_id, at FROM unnest(users) u WHERE u IS NOT NULL;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- ---------- signals ----------

-- What the scheduler raises for coordinators (API.md §10): a condition that holds for a subject
-- (a consultation past its due date, a stalled case). At most one open signal per kind and
-- subject, in every process at once (signals_open); it is resolved, not deleted, when the
-- condition clears, and a new one is raised if it comes back. `detail` says which mark was
-- passed, never clinical content.
CREATE TABLE signals (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL,
    subject_type text NOT NULL,
    subject_id   uuid NOT NULL,
    region       text NOT NULL,
    raised_at    timestamptz NOT NULL,
    resolved_at  timestamptz,
    detail       text NOT NULL
);
CREATE UNIQUE INDEX signals_open ON signals (subject_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX signals_region ON signals (region, raised_at DESC, id);
CREATE INDEX signals_raised ON signals (raised_at DESC, id);

CREATE FUNCTION signal_json(s signals) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'kind', s.kind, 'subject_type', s.subject_type,
        'subject_id', s.subject_id, 'region', s.region, 'raised_at', ts(s.raised_at),
        'resolved_at', ts(s.resolved_at), 'detail', s.detail)
$$;

-- The signals `who` may list: an admin all, a coordinator their region's (API.md §10). One
-- branch per rule, inlined, so the coordinator's is planned on signals_region.
CREATE FUNCTION signal_visible(who principal) RETURNS SETOF signals LANGUAGE sql STABLE AS $$
    SELECT s.* FROM signals s WHERE who.role = 'admin'
    UNION ALL
    SELECT s.* FROM signals s WHERE who.role = 'coordinator' AND s.region = who.region
$$;

-- Brings the open signals of one subject in line with what holds now: `kinds` (with their
-- `details`, in the same order) among the kinds the caller `governs`. Raises the missing ones,
-- resolves the open ones that no longer hold. The caller holds the subject's row lock (FOR
-- UPDATE SKIP LOCKED), and ON CONFLICT covers a subject raised by a request in between.
CREATE FUNCTION signals_sync(p_type text, p_subject uuid, p_region text, p_governs text[],
                             p_kinds text[], p_details text[], p_now timestamptz,
                             OUT raised int, OUT resolved int)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO signals (kind, subject_type, subject_id, region, raised_at, detail)
    SELECT k.kind, p_type, p_subject, p_region, p_now, k.detail
      FROM unnest(p_kinds, p_details) k(kind, detail)
    ON CONFLICT (subject_id, kind) WHERE resolved_at IS NULL DO NOTHING;
    GET DIAGNOSTICS raised = ROW_COUNT;
    UPDATE signals SET resolved_at = p_now
     WHERE subject_id = p_subject AND resolved_at IS NULL AND kind = ANY (p_governs)
       AND NOT kind = ANY (p_kinds);
    GET DIAGNOSTICS resolved = ROW_COUNT;
END
$$;

-- ---------- aggregates ----------

-- Every action on an aggregate, declared: the states it may start from, the state it leads to
-- (NULL: the state does not change, or the action decides, as a declined group question goes
-- back to the group), and the relations that may take it: the words the aggregate's
-- `<aggregate>_relations(obj, who)` function names (consultations: sql/0003). Each aggregate's
-- migration inserts its rows; docs/architecture.md says how an aggregate is declared.
CREATE TABLE transitions (
    aggregate   text NOT NULL,
    action      text NOT NULL,
    from_states text[] NOT NULL,
    to_state    text,
    who         text[] NOT NULL,
    PRIMARY KEY (aggregate, action)
);

-- The one generic step: may an actor standing in `relations` take `action` from `state`?
-- 'conflict' (the state does not allow it), 'forbidden' (the actor may not), else 'ok' with the
-- declared next state. A transition that moves the state answers a wrong state first: the object
-- moved on, whoever asks. An action that leaves the state as it is (taking part in the
-- conversation) answers who may first. The caller holds the aggregate's row lock.
CREATE FUNCTION transition_check(p_aggregate text, p_action text, p_state text,
                                 p_relations text[], OUT verdict text, OUT to_state text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    SELECT CASE WHEN t.to_state IS NOT NULL AND NOT p_state = ANY (t.from_states) THEN 'conflict'
                WHEN NOT t.who && p_relations THEN 'forbidden'
                WHEN NOT p_state = ANY (t.from_states) THEN 'conflict'
                ELSE 'ok' END,
           t.to_state
      FROM transitions t WHERE t.aggregate = p_aggregate AND t.action = p_action
      INTO verdict, to_state;
END
$$;

-- ---------- the scheduler ----------

-- The scheduler's passes, a row each: `function(now timestamptz)` returns one row of
-- (signals_raised, signals_resolved, notifications_created). Every server process runs them all
-- every OVERLEG_JOBS_INTERVAL seconds, so a pass must be safe when another process runs it at
-- the same moment: unique constraints with ON CONFLICT, FOR UPDATE SKIP LOCKED, idempotent
-- deletes. A capability adds its pass with one INSERT in its migration.
CREATE TABLE scheduler_passes (
    name     text PRIMARY KEY,
    function regproc NOT NULL,
    last_now timestamptz NOT NULL DEFAULT '-infinity' -- see scheduler_pass_begin()
);

-- How pass `name` should run at `p_now`, asked first by an incremental pass (each subject
-- carries the next moment its signals can change by time alone):
--   'busy'    another process runs this pass right now: skip it (it does the work; no waiting)
--   'recheck' the clock went back more than five minutes since the pass last ran (the test
--             clock was reset): recheck every open subject once
--   'run'     take the subjects whose moment has come
-- The pass's row stays locked until the run commits. Smaller steps back (clocks of several
-- processes a little apart) are not a reason to recheck: what was due stays handled.
CREATE FUNCTION scheduler_pass_begin(name text, p_now timestamptz) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last timestamptz;
    back boolean;
BEGIN
    SELECT p.last_now INTO last FROM scheduler_passes p
     WHERE p.name = scheduler_pass_begin.name FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN 'busy';
    END IF;
    back := p_now < last - interval '5 minutes';
    UPDATE scheduler_passes p
       SET last_now = CASE WHEN back THEN p_now ELSE greatest(last, p_now) END
     WHERE p.name = scheduler_pass_begin.name;
    RETURN CASE WHEN back THEN 'recheck' ELSE 'run' END;
END
$$;

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
