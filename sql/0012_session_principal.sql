-- Every authenticated request checks its session, and the directory's reads do it inside their
-- own statement (server/http.c, with_session). Joining users and organisations for the principal
-- cost each request about 40-80 µs of database CPU at the benchmark's concurrency, a fifth of a
-- directory page (docs/benchmarks.md). A session now carries its user's principal, so that the
-- check reads the sessions row alone.
--
-- What makes that right: a session that is not revoked always belongs to an active user and
-- carries that user's current organisation, role and region.
-- - A session is inserted with the principal copied from its user (trigger below), under a share
--   lock on the user's row: a deactivation or change that commits first is seen (no session for
--   an inactive user: the insert does nothing), one that comes after waits for the insert.
-- - Deactivating a user, or changing its role or organisation, revokes its open sessions, as does
--   changing an organisation's region for the sessions of its users. The API changes none of these
--   except `active` (PATCH /v1/users/{id}, which revokes in its own statement too); the triggers
--   hold the rule for any change. Each statement of a trigger function sees the sessions
--   committed before it (READ COMMITTED), the one of a sign-in that waited for it included.
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

CREATE FUNCTION users_revoke_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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
    UPDATE sessions s SET revoked_at = now()
      FROM users u
     WHERE u.organisation_id = NEW.id AND s.user_id = u.id AND s.revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisations_revoke_sessions AFTER UPDATE OF region ON organisations
  FOR EACH ROW WHEN (old.region IS DISTINCT FROM new.region)
  EXECUTE FUNCTION organisations_revoke_sessions();
