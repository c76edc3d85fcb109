-- Every authenticated request checks its session, and the directory's reads do it inside their
-- own statement (server/http.c, with_session). Joining users and organisations for the principal
-- cost each request about 40-80 µs of database CPU at the benchmark's concurrency, a fifth of a
-- directory page (docs/benchmarks.md). A session now carries its user's principal, so that the
-- check in front of those statements reads the sessions row alone.
--
-- What makes that right: a session that is not revoked always belongs to an active user and
-- carries that user's current organisation, role and region.
-- - A session is inserted with the principal copied from its user (trigger below), under a share
--   lock on the user's and its organisation's rows: a deactivation or change that commits first is
--   seen (no session for an inactive user, or one moved meanwhile: the insert does nothing), one
--   that comes after waits for the insert.
-- - Deactivating a user, or changing its role or organisation, revokes its open sessions, as does
--   changing an organisation's region for the sessions of its users. The API changes none of these
--   except `active` (PATCH /v1/users/{id}, which revokes in its own statement too); the triggers
--   hold the rule for any change. Each statement of a trigger function sees the sessions
--   committed before it, the one of a sign-in that waited for it included; that holds in READ
--   COMMITTED only, so the triggers refuse such a change at a stricter isolation level (its
--   snapshot could miss a session). They fire with session_replication_role = replica too, like
--   the audit log's.
-- A revocation made here has no request and so no application clock: these use the database's.
--
-- The tables in the order the user update of the previous release locks them (users, then
-- sessions), so that this cannot deadlock with it, and no change slips in between the copy below
-- and the triggers.
LOCK TABLE users, organisations IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE sessions ADD COLUMN organisation_id uuid, ADD COLUMN role text, ADD COLUMN region text;
UPDATE sessions s SET organisation_id = u.organisation_id, role = u.role, region = o.region
  FROM users u JOIN organisations o ON o.id = u.organisation_id
 WHERE u.id = s.user_id;
UPDATE sessions s SET revoked_at = now()
  FROM users u
 WHERE u.id = s.user_id AND NOT u.active AND s.revoked_at IS NULL;
ALTER TABLE sessions ALTER COLUMN organisation_id SET NOT NULL, ALTER COLUMN role SET NOT NULL,
  ALTER COLUMN region SET NOT NULL;

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
ALTER TABLE sessions ENABLE ALWAYS TRIGGER sessions_principal;
ALTER TABLE users ENABLE ALWAYS TRIGGER users_revoke_sessions;
ALTER TABLE organisations ENABLE ALWAYS TRIGGER organisations_revoke_sessions;
