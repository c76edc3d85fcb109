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

-- A replayed reply keeps its ETag.
ALTER TABLE idempotency_keys ADD COLUMN etag text;
