-- Consultations (API.md §8) and notifications (§10).

CREATE TABLE consultations (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status                text NOT NULL CHECK (status IN ('submitted', 'accepted', 'declined',
                              'answered', 'closed', 'withdrawn')),
    subject               text NOT NULL,
    question              text NOT NULL,
    patient_mode          text NOT NULL CHECK (patient_mode IN ('anonymous', 'consented', 'revoked')),
    patient_age           int,
    patient_sex           text,
    -- consented only: {name, birth_date, bsn, consent} sealed with AES-256-GCM under the data key
    patient_identity      text,
    patient_ref           uuid NOT NULL DEFAULT gen_random_uuid(), -- pseudonym for the audit log
    requester_id          uuid NOT NULL REFERENCES users (id),
    organisation_id       uuid NOT NULL REFERENCES organisations (id),
    region                text NOT NULL,
    consultant_id         uuid REFERENCES users (id), -- addressed, or who accepted
    expertise             text,                       -- group questions
    mode                  text NOT NULL,
    urgency               text NOT NULL,
    referral_contemplated boolean NOT NULL,
    proposed_next_step    text,
    submitted_at          timestamptz NOT NULL,
    due_at                timestamptz NOT NULL,
    accepted_at           timestamptz,
    answered_at           timestamptz,
    closed_at             timestamptz,
    answer_advice         text,
    answer_recommendation text,
    answer_minutes        int,
    outcome_referral      text,
    outcome_value         int,
    outcome_note          text,
    decline_reason        text,
    withdraw_reason       text,
    version               bigint NOT NULL DEFAULT 1,
    CHECK ((patient_mode = 'consented') = (patient_identity IS NOT NULL))
);
CREATE INDEX consultations_org ON consultations (organisation_id, submitted_at DESC, id);
CREATE INDEX consultations_consultant ON consultations (consultant_id, submitted_at DESC, id);
CREATE INDEX consultations_region ON consultations (region, submitted_at DESC, id);
CREATE INDEX consultations_open_groups ON consultations (expertise, region)
    WHERE status = 'submitted' AND consultant_id IS NULL;
-- consultant_stats_of() reads its answers from this index alone.
CREATE INDEX consultations_answered ON consultations (consultant_id, answered_at)
    INCLUDE (submitted_at) WHERE answered_at IS NOT NULL;

CREATE TABLE consultation_messages (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    consultation_id  uuid NOT NULL REFERENCES consultations (id),
    author_id        uuid NOT NULL REFERENCES users (id),
    body             text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX consultation_messages_c ON consultation_messages (consultation_id, created_at, id);

CREATE TABLE consultation_appointments (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    consultation_id   uuid NOT NULL REFERENCES consultations (id),
    kind              text NOT NULL CHECK (kind IN ('phone', 'video', 'on_location')),
    starts_at         timestamptz NOT NULL,
    duration_minutes  int NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    location          text,
    created_by        uuid NOT NULL REFERENCES users (id),
    created_at        timestamptz NOT NULL
);
CREATE INDEX consultation_appointments_c ON consultation_appointments (consultation_id, starts_at, id);

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

-- What `viewer` may see of `c`: 'identity' (everything, patient included), 'full' (everything
-- but the patient's identity), 'meta' (coordinators: pace and progress only), or NULL.
CREATE FUNCTION consultation_access(c consultations, viewer uuid, viewer_role text,
                                    viewer_org uuid, viewer_region text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN viewer_role IN ('gp', 'poh') AND c.organisation_id = viewer_org THEN 'identity'
        WHEN viewer_role = 'consultant' AND c.consultant_id = viewer THEN
            CASE WHEN c.accepted_at IS NOT NULL THEN 'identity' ELSE 'full' END
        WHEN viewer_role = 'consultant' AND c.status = 'submitted' AND c.consultant_id IS NULL
             AND EXISTS (SELECT 1 FROM consultant_profiles p WHERE p.user_id = viewer
                          AND p.active AND p.accepting AND c.expertise = ANY (p.expertise)
                          AND c.region = ANY (p.regions)) THEN 'full'
        WHEN viewer_role = 'coordinator' AND c.region = viewer_region THEN 'meta'
    END
$$;

-- The consultation as `access` may see it. The identity itself is decrypted by the server; this
-- puts a placeholder patient for 'identity'.
CREATE FUNCTION consultation_json(c consultations, access text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN access = 'meta' THEN
        jsonb_build_object('id', c.id, 'status', c.status, 'submitted_at', ts(c.submitted_at),
            'due_at', ts(c.due_at), 'accepted_at', ts(c.accepted_at),
            'answered_at', ts(c.answered_at), 'closed_at', ts(c.closed_at),
            'organisation', (SELECT jsonb_build_object('id', o.id, 'name', o.name)
                               FROM organisations o WHERE o.id = c.organisation_id),
            'consultant', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                             FROM users u WHERE u.id = c.consultant_id),
            'expertise', c.expertise, 'mode', c.mode, 'urgency', c.urgency)
    ELSE
        jsonb_build_object('id', c.id, 'status', c.status, 'subject', c.subject,
            'question', c.question,
            'patient', CASE c.patient_mode
                WHEN 'anonymous' THEN jsonb_build_object('mode', 'anonymous',
                    'age', c.patient_age, 'sex', c.patient_sex)
                WHEN 'revoked' THEN jsonb_build_object('mode', 'revoked')
                ELSE jsonb_build_object('mode', 'consented', 'identity_hidden', true) END,
            'requester', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role)
                            FROM users u WHERE u.id = c.requester_id),
            'organisation', (SELECT jsonb_build_object('id', o.id, 'name', o.name)
                               FROM organisations o WHERE o.id = c.organisation_id),
            'consultant', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                             FROM users u WHERE u.id = c.consultant_id),
            'expertise', c.expertise, 'mode', c.mode, 'urgency', c.urgency,
            'referral_contemplated', c.referral_contemplated,
            'proposed_next_step', c.proposed_next_step,
            'submitted_at', ts(c.submitted_at), 'due_at', ts(c.due_at),
            'accepted_at', ts(c.accepted_at), 'answered_at', ts(c.answered_at),
            'closed_at', ts(c.closed_at),
            'answer', CASE WHEN c.answered_at IS NULL THEN NULL ELSE jsonb_build_object(
                'advice', c.answer_advice, 'recommendation', c.answer_recommendation,
                'minutes_spent', c.answer_minutes) END,
            'outcome', CASE WHEN c.outcome_referral IS NULL THEN NULL ELSE jsonb_build_object(
                'referral_outcome', c.outcome_referral, 'value', c.outcome_value,
                'note', c.outcome_note) END,
            'version', c.version)
    END
$$;

-- A consultant's directory stats (API.md §7): answered in the 90 days before `at`, median hours
-- to answer. They read consultations, so they are made here rather than with the directory
-- (sql/0002_directory.sql): the body of an SQL function is checked against the tables when it is
-- created. As a table function: a SQL function of one SELECT in FROM is inlined into the calling
-- query (the directory lists), where a scalar call runs as a function of its own on every row.
-- Written as the text the reply carries, appended to the card (consultant_item): what jsonb
-- prints, keys in jsonb's order (shorter first), ": " and ", ", numbers as numeric prints them.
CREATE FUNCTION consultant_stats_of(consultant uuid, at timestamptz) RETURNS TABLE (stats text)
LANGUAGE sql STABLE AS $$
    SELECT '{"answered_90d": ' || count(*) || ', "median_response_hours": '
           || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY
                  extract(epoch FROM c.answered_at - c.submitted_at) / 3600))::numeric, 1)::text,
                  'null')
           || '}'
      FROM consultations c
     WHERE c.consultant_id = consultant AND c.answered_at IS NOT NULL
       AND c.answered_at > at - interval '90 days' AND c.answered_at <= at
$$;
CREATE FUNCTION consultant_stats(consultant uuid, at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT s.stats::jsonb FROM consultant_stats_of(consultant, at) s
$$;

-- A consultant's JSON (API.md §7), for a single consultant's reply: the card with its stats, so
-- the JSON is defined once, as in the lists. Here, after consultant_stats(), for the same reason.
CREATE FUNCTION consultant_json(p consultant_profiles, at timestamptz)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT consultant_item(consultant_card(p), consultant_stats(p.user_id, at))::jsonb
$$;

-- Every transition of API.md §8 in one place, under a row lock: who may, from which status, what
-- changes, who is notified, and the audit entry, all in one transaction. `result` is 'ok',
-- 'not_found', 'stale' (If-Match), 'conflict' (status; `detail` names it), 'forbidden' or
-- 'invalid' (`detail` is the field, `message` why). `p_versions` holds every version If-Match
-- names (NULL for "*" or no header); they are checked under the row lock.
CREATE FUNCTION consultation_transition(
    p_now timestamptz, p_actor uuid, p_ip text, p_rid text, p_role text, p_org uuid,
    p_region text, p_id uuid, p_versions bigint[], p_action text, p_args jsonb,
    OUT result text, OUT detail text, OUT message text, OUT access text, OUT body jsonb,
    OUT identity text)
LANGUAGE plpgsql AS $$
DECLARE
    c consultations;
    allowed text[];
    who boolean;
    practice boolean;
    notify uuid[];
    notify_kind text;
    days int;
BEGIN
    SELECT * INTO c FROM consultations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        result := 'not_found';
        RETURN;
    END IF;
    access := consultation_access(c, p_actor, p_role, p_org, p_region);
    -- A group question someone else accepted first: the others who could have taken it learn
    -- that it is taken (409), not that it vanished.
    IF access IS NULL AND p_action = 'accept' AND p_role = 'consultant' AND c.expertise IS NOT NULL
       AND c.status <> 'submitted'
       AND EXISTS (SELECT 1 FROM consultant_profiles p WHERE p.user_id = p_actor AND p.active
                    AND c.expertise = ANY (p.expertise) AND c.region = ANY (p.regions)) THEN
        result := 'conflict';
        detail := c.status;
        RETURN;
    END IF;
    IF access IS NULL OR access = 'meta' THEN
        INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,
                               outcome)
        VALUES (p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action, 'consultation', p_id,
                'denied');
        result := CASE WHEN access = 'meta' THEN 'forbidden' ELSE 'not_found' END;
        RETURN;
    END IF;
    IF p_versions IS NOT NULL AND NOT c.version = ANY (p_versions) THEN
        result := 'stale';
        RETURN;
    END IF;
    practice := p_role IN ('gp', 'poh') AND access = 'identity';
    CASE p_action
    WHEN 'accept' THEN
        allowed := '{submitted}';
        who := p_role = 'consultant' AND (c.consultant_id = p_actor OR c.consultant_id IS NULL);
    WHEN 'decline' THEN
        allowed := '{submitted,accepted}';
        who := p_role = 'consultant' AND c.consultant_id = p_actor
               AND (c.status = 'accepted' OR c.expertise IS NULL);
    WHEN 'redirect' THEN
        allowed := '{declined}';
        who := practice;
    WHEN 'answer' THEN
        allowed := '{accepted}';
        who := p_role = 'consultant' AND c.consultant_id = p_actor;
    WHEN 'close' THEN
        allowed := '{answered}';
        who := practice;
    WHEN 'withdraw' THEN
        allowed := '{submitted,accepted}';
        who := practice;
    WHEN 'consent_revoke' THEN
        allowed := '{submitted,accepted,declined,answered,closed,withdrawn}';
        who := practice;
    END CASE;
    IF NOT c.status = ANY (allowed) THEN
        result := 'conflict';
        detail := c.status;
        RETURN;
    END IF;
    IF NOT who THEN
        INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,
                               outcome)
        VALUES (p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action, 'consultation', p_id,
                'denied');
        result := 'forbidden';
        RETURN;
    END IF;
    -- Anonymous stays anonymous in every text the parties add (the server found the kind).
    IF p_args ? 'pii' AND c.patient_mode <> 'consented' THEN
        result := 'invalid';
        detail := p_args -> 'pii' ->> 'field';
        message := 'contains what looks like a ' || (p_args -> 'pii' ->> 'kind');
        RETURN;
    END IF;

    CASE p_action
    WHEN 'accept' THEN
        c.status := 'accepted';
        c.consultant_id := p_actor;
        c.accepted_at := p_now;
        notify := ARRAY[c.requester_id];
        notify_kind := 'consultation_accepted';
    WHEN 'decline' THEN
        c.decline_reason := p_args ->> 'reason';
        notify := ARRAY[c.requester_id];
        notify_kind := 'consultation_declined';
        IF c.expertise IS NULL THEN
            c.status := 'declined';
        ELSE -- a group question goes back to the group, which hears of it again
            c.status := 'submitted';
            c.consultant_id := NULL;
            INSERT INTO notifications (user_id, kind, subject_type, subject_id, created_at)
            SELECT p.user_id, 'group_question', 'consultation', c.id, p_now
              FROM consultant_profiles p
             WHERE p.active AND p.accepting AND c.expertise = ANY (p.expertise)
               AND c.region = ANY (p.regions) AND p.user_id <> p_actor;
        END IF;
        c.accepted_at := NULL;
    WHEN 'redirect' THEN
        -- The new target, checked like a new question, after visibility and status.
        IF p_args ? 'consultant_id' THEN
            SELECT p.response_days INTO days FROM consultant_profiles p
             WHERE p.user_id = (p_args ->> 'consultant_id')::uuid AND p.active AND p.accepting;
            IF days IS NULL OR (p_args ->> 'consultant_id')::uuid = c.consultant_id THEN
                result := 'invalid';
                detail := 'consultant_id';
                message := CASE WHEN (p_args ->> 'consultant_id')::uuid = c.consultant_id
                    THEN 'this consultant declined the consultation'
                    ELSE 'no such consultant accepting consultations' END;
                RETURN;
            END IF;
        ELSE
            IF NOT EXISTS (SELECT 1 FROM vocabulary WHERE kind = 'expertise'
                            AND code = p_args ->> 'expertise') THEN
                result := 'invalid';
                detail := 'expertise';
                message := 'is not a known code';
                RETURN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM consultant_profiles p WHERE p.active AND p.accepting
                            AND (p_args ->> 'expertise') = ANY (p.expertise)
                            AND c.region = ANY (p.regions)) THEN
                result := 'invalid';
                detail := 'expertise';
                message := 'no accepting consultant with this expertise in your region';
                RETURN;
            END IF;
            days := 3;
        END IF;
        c.status := 'submitted';
        c.consultant_id := (p_args ->> 'consultant_id')::uuid;
        c.expertise := p_args ->> 'expertise';
        -- The server sent the due date for every possible number of working days.
        c.due_at := (p_args -> 'due' ->> (days - 1))::timestamptz;
        c.accepted_at := NULL;
        c.decline_reason := NULL;
        IF c.consultant_id IS NOT NULL THEN
            notify := ARRAY[c.consultant_id];
            notify_kind := 'consultation_addressed';
        ELSE
            SELECT array_agg(p.user_id) INTO notify FROM consultant_profiles p
             WHERE p.active AND p.accepting AND c.expertise = ANY (p.expertise)
               AND c.region = ANY (p.regions);
            notify_kind := 'group_question';
        END IF;
    WHEN 'answer' THEN
        c.status := 'answered';
        c.answered_at := p_now;
        c.answer_advice := p_args ->> 'advice';
        c.answer_recommendation := p_args ->> 'recommendation';
        c.answer_minutes := (p_args ->> 'minutes_spent')::int;
        notify := ARRAY[c.requester_id];
        notify_kind := 'consultation_answered';
    WHEN 'close' THEN
        IF (p_args ->> 'referral_outcome' IN ('avoided', 'still_needed'))
           <> c.referral_contemplated THEN
            result := 'invalid';
            detail := 'referral_outcome';
            message := CASE WHEN c.referral_contemplated
                THEN 'must be avoided or still_needed: a referral was contemplated'
                ELSE 'must be not_needed or initiated: no referral was contemplated' END;
            RETURN;
        END IF;
        c.status := 'closed';
        c.closed_at := p_now;
        c.outcome_referral := p_args ->> 'referral_outcome';
        c.outcome_value := (p_args ->> 'value')::int;
        c.outcome_note := p_args ->> 'note';
    WHEN 'withdraw' THEN
        c.status := 'withdrawn';
        c.withdraw_reason := p_args ->> 'reason';
    WHEN 'consent_revoke' THEN
        IF c.patient_mode <> 'consented' THEN
            result := 'conflict';
            detail := 'patient ' || c.patient_mode;
            RETURN;
        END IF;
        c.patient_mode := 'revoked';
        c.patient_identity := NULL; -- erased, not hidden
    END CASE;
    c.version := c.version + 1;
    UPDATE consultations SET status = c.status, consultant_id = c.consultant_id,
        expertise = c.expertise, due_at = c.due_at, accepted_at = c.accepted_at,
        answered_at = c.answered_at, closed_at = c.closed_at,
        answer_advice = c.answer_advice, answer_recommendation = c.answer_recommendation,
        answer_minutes = c.answer_minutes, outcome_referral = c.outcome_referral,
        outcome_value = c.outcome_value, outcome_note = c.outcome_note,
        decline_reason = c.decline_reason, withdraw_reason = c.withdraw_reason,
        patient_mode = c.patient_mode, patient_identity = c.patient_identity,
        version = c.version
     WHERE id = c.id;
    IF notify_kind IS NOT NULL THEN
        INSERT INTO notifications (user_id, kind, subject_type, subject_id, created_at)
        SELECT u, notify_kind, 'consultation', c.id, p_now FROM unnest(notify) u
         WHERE u IS NOT NULL AND u <> p_actor;
    END IF;
    access := consultation_access(c, p_actor, p_role, p_org, p_region);
    identity := CASE WHEN access = 'identity' THEN c.patient_identity END;
    INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,
                           patient_ref, outcome)
    VALUES (p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action, 'consultation', c.id,
            CASE WHEN identity IS NOT NULL THEN c.patient_ref::text END, 'success');
    body := consultation_json(c, access);
    result := 'ok';
END
$$;

-- For messages and appointments: may the actor take part, and does the status allow it?
-- `need` is 'open' (not closed or withdrawn) or 'active' (accepted or answered). Refusals are
-- audited here. `result` as for consultation_transition.
CREATE FUNCTION consultation_guard(
    p_id uuid, p_actor uuid, p_role text, p_org uuid, p_region text, p_now timestamptz,
    p_ip text, p_rid text, p_action text, p_need text,
    OUT result text, OUT detail text, OUT patient_mode text, OUT requester_id uuid,
    OUT consultant_id uuid, OUT accepted boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c consultations;
    access text;
BEGIN
    -- FOR SHARE: a close or withdraw in progress finishes first, so nothing is added after it.
    SELECT * INTO c FROM consultations WHERE id = p_id FOR SHARE;
    IF NOT FOUND THEN
        result := 'not_found';
        RETURN;
    END IF;
    access := consultation_access(c, p_actor, p_role, p_org, p_region);
    IF access IS NULL OR NOT ((p_role IN ('gp', 'poh') AND access = 'identity')
            OR (p_role = 'consultant' AND c.consultant_id = p_actor AND c.accepted_at IS NOT NULL)) THEN
        INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,
                               outcome)
        VALUES (p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action, 'consultation', p_id,
                'denied');
        result := CASE WHEN access IS NULL THEN 'not_found' ELSE 'forbidden' END;
        RETURN;
    END IF;
    IF (p_need = 'open' AND c.status IN ('closed', 'withdrawn'))
       OR (p_need = 'active' AND c.status NOT IN ('accepted', 'answered')) THEN
        result := 'conflict';
        detail := c.status;
        RETURN;
    END IF;
    IF p_need = 'any' THEN -- a read of the consultation's content
        INSERT INTO audit_log (at, actor_id, ip, request_id, action, subject_type, subject_id,
                               outcome)
        VALUES (p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action, 'consultation', p_id,
                'success');
    END IF;
    result := 'ok';
    accepted := c.accepted_at IS NOT NULL;
    patient_mode := c.patient_mode;
    requester_id := c.requester_id;
    consultant_id := c.consultant_id;
END
$$;

CREATE FUNCTION message_json(m consultation_messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', m.id,
        'author', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role)
                     FROM users u WHERE u.id = m.author_id),
        'body', m.body, 'created_at', ts(m.created_at))
$$;

CREATE FUNCTION appointment_json(a consultation_appointments) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'starts_at', ts(a.starts_at),
        'duration_minutes', a.duration_minutes, 'location', a.location,
        'created_by', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                         FROM users u WHERE u.id = a.created_by),
        'created_at', ts(a.created_at))
$$;
