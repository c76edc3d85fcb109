-- Consultations (API.md §8), declared as an aggregate: the state in `consultations`, what
-- happened in the append-only `consultation_events` (the timeline, and the hook that notifies),
-- who may do what in `transitions` rows applied by consultation_step under a row lock.

CREATE TABLE consultations (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status                text NOT NULL CHECK (status IN ('submitted', 'accepted', 'declined',
                              'answered', 'closed', 'withdrawn')),
    subject               text NOT NULL,
    question              text NOT NULL,
    patient_mode          text NOT NULL CHECK (patient_mode IN ('anonymous', 'consented', 'revoked')),
    patient_age           int,
    patient_sex           text,
    -- Every free text and the identity are sealed to the consultation (docs/encryption.md):
    -- subject, question, proposed_next_step, answer_advice, outcome_note, patient_identity, and
    -- the texts of its messages, appointments (location) and events (detail).
    -- consented only: {name, birth_date, bsn, consent}
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
    version               bigint NOT NULL DEFAULT 1,
    -- When the scheduler looks at its signal next: its due date while open, "now" after a change
    -- (scheduler_consultation_signals), NULL when nothing can change by time alone.
    signal_check_at       timestamptz,
    -- Working hours from submission to answer, as due dates count them (working_hours): the
    -- reports' median response time reads it from an index rather than computing it per row.
    response_hours        numeric GENERATED ALWAYS AS (working_hours(submitted_at, answered_at))
                              STORED,
    CHECK ((patient_mode = 'consented') = (patient_identity IS NOT NULL))
);
CREATE INDEX consultations_org ON consultations (organisation_id, submitted_at DESC, id);
CREATE INDEX consultations_consultant ON consultations (consultant_id, submitted_at DESC, id);
CREATE INDEX consultations_region ON consultations (region, submitted_at DESC, id);
CREATE INDEX consultations_open_groups ON consultations (expertise, region)
    WHERE status = 'submitted' AND consultant_id IS NULL;
-- consultant_stats_of() reads its answers from this index alone.
CREATE INDEX consultations_signal_check ON consultations (signal_check_at)
    WHERE signal_check_at IS NOT NULL;
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

-- ---------- policy: who may see and do what ----------

-- The one rule for "this consultant may take a group question on `expertise` in `region`".
-- Containment (@>) so the GIN index on the profile arrays serves a search for eligible profiles.
CREATE FUNCTION consultant_eligible(p consultant_profiles, for_expertise text, in_region text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p.active AND p.accepting AND p.expertise @> ARRAY[for_expertise]
       AND p.regions @> ARRAY[in_region]
$$;

-- Every consultant who may take a group question, for the fan-out and for the creation check.
CREATE FUNCTION consultants_eligible(for_expertise text, in_region text) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT p.user_id FROM consultant_profiles p
     WHERE consultant_eligible(p, for_expertise, in_region)
$$;

-- How `who` stands to `c`, the words the transition table's `who` column uses:
--   practice    gp or poh of the requesting practice
--   addressed   the consultant a direct question names, before accepting it
--   accepting   the consultant who accepted it
--   eligible    a consultant who may take this open group question
--   coordinator a coordinator of the practice's region (pace and progress only)
CREATE FUNCTION consultation_relations(c consultations, who principal) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    RETURN (SELECT array_remove(ARRAY[
            CASE WHEN who.role IN ('gp', 'poh') AND c.organisation_id = who.organisation_id
                 THEN 'practice' END,
            CASE WHEN who.role = 'consultant' AND c.consultant_id = who.id
                 THEN CASE WHEN c.accepted_at IS NULL THEN 'addressed' ELSE 'accepting' END END,
            CASE WHEN who.role = 'consultant' AND c.status = 'submitted' AND c.consultant_id IS NULL
                  AND EXISTS (SELECT 1 FROM consultant_profiles p WHERE p.user_id = who.id
                               AND consultant_eligible(p, c.expertise, c.region))
                 THEN 'eligible' END,
            CASE WHEN who.role = 'coordinator' AND c.region = who.region THEN 'coordinator' END
        ], NULL));
END
$$;

-- What `who` may see of `c`: 'identity' (everything, patient included), 'full' (everything but
-- the patient's identity), 'meta' (pace and progress only), or NULL (nothing: 404). The step,
-- which knows the relations already, asks consultation_access_of.
CREATE FUNCTION consultation_access_of(relations text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN relations && '{practice,accepting}' THEN 'identity'
        WHEN relations && '{addressed,eligible}' THEN 'full'
        WHEN relations && '{coordinator}' THEN 'meta'
    END
$$;

CREATE FUNCTION consultation_access(c consultations, who principal) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT consultation_access_of(consultation_relations(c, who))
$$;

-- The consultations `who` may see, for lists: the same rule as consultation_access, written as
-- one branch per relation so that each branch is planned on its own index (a function call in a
-- WHERE would hide the rule from the planner). Inlined into the calling query; the branches that
-- do not apply to the caller's role are skipped by their one-time filter.
CREATE FUNCTION consultation_visible(who principal) RETURNS SETOF consultations
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM consultations c
     WHERE who.role IN ('gp', 'poh') AND c.organisation_id = who.organisation_id
    UNION ALL
    SELECT c.* FROM consultations c
     WHERE who.role = 'consultant' AND c.consultant_id = who.id
    UNION ALL
    SELECT c.* FROM consultations c
     WHERE who.role = 'consultant' AND c.status = 'submitted' AND c.consultant_id IS NULL
       AND EXISTS (SELECT 1 FROM consultant_profiles p WHERE p.user_id = who.id
                    AND consultant_eligible(p, c.expertise, c.region))
    UNION ALL
    SELECT c.* FROM consultations c
     WHERE who.role = 'coordinator' AND c.region = who.region
$$;

-- What happened to a consultation, in order: the timeline, and the hook for notifications.
-- Append-only like the audit log. `detail` holds the reason an actor gave (decline, withdraw).
CREATE TABLE consultation_events (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultation_id uuid NOT NULL REFERENCES consultations (id),
    at              timestamptz NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('submitted', 'accepted', 'declined',
                        'redirected', 'withdrawn', 'answered', 'message', 'appointment',
                        'closed', 'consent_revoked')),
    actor_id        uuid REFERENCES users (id),
    detail          text
);
CREATE INDEX consultation_events_c ON consultation_events (consultation_id, seq);

CREATE TRIGGER consultation_events_no_change BEFORE UPDATE OR DELETE ON consultation_events
    FOR EACH ROW EXECUTE FUNCTION events_reseal_only();
CREATE TRIGGER consultation_events_no_truncate BEFORE TRUNCATE ON consultation_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
ALTER TABLE consultation_events ENABLE ALWAYS TRIGGER consultation_events_no_change;
ALTER TABLE consultation_events ENABLE ALWAYS TRIGGER consultation_events_no_truncate;

-- Who hears of an event, and as what: the one place the consultation's notifications are
-- decided. It runs after the event's statement, so it sees the consultation as the event left
-- it (a declined group question is back with the group; a redirect has its new target).
CREATE FUNCTION consultation_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c consultations;
    group_members uuid[];
BEGIN
    SELECT * INTO c FROM consultations WHERE id = NEW.consultation_id;
    -- The group hears of a question that is (back) with it: submitted, redirected or declined.
    IF NEW.kind IN ('submitted', 'redirected', 'declined') AND c.consultant_id IS NULL
       AND c.status = 'submitted' THEN
        SELECT array_agg(u) INTO group_members FROM consultants_eligible(c.expertise, c.region) u
         WHERE u IS DISTINCT FROM NEW.actor_id;
    END IF;
    CASE NEW.kind
    WHEN 'submitted', 'redirected' THEN
        IF c.consultant_id IS NOT NULL THEN
            PERFORM notify(ARRAY[c.consultant_id], 'consultation_addressed', 'consultation',
                           c.id, NEW.at);
        ELSE
            PERFORM notify(group_members, 'group_question', 'consultation', c.id, NEW.at);
        END IF;
    WHEN 'accepted' THEN
        PERFORM notify(ARRAY[c.requester_id], 'consultation_accepted', 'consultation', c.id,
                       NEW.at);
    WHEN 'declined' THEN
        PERFORM notify(ARRAY[c.requester_id], 'consultation_declined', 'consultation', c.id,
                       NEW.at);
        PERFORM notify(group_members, 'group_question', 'consultation', c.id, NEW.at);
    WHEN 'answered' THEN
        PERFORM notify(ARRAY[c.requester_id], 'consultation_answered', 'consultation', c.id,
                       NEW.at);
    WHEN 'message' THEN -- the consultant hears of it only once they accepted
        PERFORM notify(array_remove(ARRAY[c.requester_id,
                           CASE WHEN c.accepted_at IS NOT NULL THEN c.consultant_id END],
                           NEW.actor_id),
                       'consultation_message', 'consultation', c.id, NEW.at);
    ELSE
        NULL;
    END CASE;
    RETURN NULL;
END
$$;
CREATE TRIGGER consultation_events_notify AFTER INSERT ON consultation_events
    FOR EACH ROW EXECUTE FUNCTION consultation_events_notify();

-- One timeline entry as API.md §8 shows it, and the timeline: every event in order.
CREATE FUNCTION consultation_event_json(e consultation_events) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    RETURN (SELECT jsonb_build_object('at', ts(e.at), 'kind', e.kind,
            'actor', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role)
                        FROM users u WHERE u.id = e.actor_id),
            'detail', sealed(e.detail, 'consultation:' || e.consultation_id)));
END
$$;

CREATE FUNCTION consultation_timeline(consultation uuid) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(consultation_event_json(e) ORDER BY e.seq), '[]')
          FROM consultation_events e WHERE e.consultation_id = consultation);
END
$$;

-- The consultation as `access` may see it. The identity itself is decrypted by the server; this
-- puts a placeholder patient for 'identity'.
CREATE FUNCTION consultation_json(c consultations, access text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    RETURN (SELECT CASE WHEN access = 'meta' THEN
            jsonb_build_object('id', c.id, 'status', c.status, 'submitted_at', ts(c.submitted_at),
                'due_at', ts(c.due_at), 'accepted_at', ts(c.accepted_at),
                'answered_at', ts(c.answered_at), 'closed_at', ts(c.closed_at),
                'organisation', (SELECT jsonb_build_object('id', o.id, 'name', o.name)
                                   FROM organisations o WHERE o.id = c.organisation_id),
                'consultant', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                                 FROM users u WHERE u.id = c.consultant_id),
                'expertise', c.expertise, 'mode', c.mode, 'urgency', c.urgency)
        ELSE
            jsonb_build_object('id', c.id, 'status', c.status,
                'subject', sealed(c.subject, 'consultation:' || c.id),
                'question', sealed(c.question, 'consultation:' || c.id),
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
                'proposed_next_step', sealed(c.proposed_next_step, 'consultation:' || c.id),
                'submitted_at', ts(c.submitted_at), 'due_at', ts(c.due_at),
                'accepted_at', ts(c.accepted_at), 'answered_at', ts(c.answered_at),
                'closed_at', ts(c.closed_at),
                'answer', CASE WHEN c.answered_at IS NULL THEN NULL ELSE jsonb_build_object(
                    'advice', sealed(c.answer_advice, 'consultation:' || c.id),
                    'recommendation', c.answer_recommendation,
                    'minutes_spent', c.answer_minutes) END,
                'outcome', CASE WHEN c.outcome_referral IS NULL THEN NULL ELSE jsonb_build_object(
                    'referral_outcome', c.outcome_referral, 'value', c.outcome_value,
                    'note', sealed(c.outcome_note, 'consultation:' || c.id)) END,
                'timeline', consultation_timeline(c.id),
                'version', c.version)
        END);
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

CREATE FUNCTION message_json(m consultation_messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', m.id,
        'author', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role)
                     FROM users u WHERE u.id = m.author_id),
        'body', sealed(m.body, 'consultation:' || m.consultation_id),
        'created_at', ts(m.created_at))
$$;

CREATE FUNCTION appointment_json(a consultation_appointments) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'starts_at', ts(a.starts_at),
        'duration_minutes', a.duration_minutes,
        'location', sealed(a.location, 'consultation:' || a.consultation_id),
        'created_by', (SELECT jsonb_build_object('id', u.id, 'name', u.name)
                         FROM users u WHERE u.id = a.created_by),
        'created_at', ts(a.created_at))
$$;

-- ---------- the aggregate: its transitions and its step ----------

-- Every action of API.md §8 as a row of `transitions` (sql/0001), `who` in the words of
-- consultation_relations.
INSERT INTO transitions (aggregate, action, from_states, to_state, who) VALUES
 ('consultation', 'accept', '{submitted}', 'accepted', '{addressed,eligible}'),
 ('consultation', 'decline', '{submitted,accepted}', 'declined', '{addressed,accepting}'),
 ('consultation', 'redirect', '{declined}', 'submitted', '{practice}'),
 ('consultation', 'answer', '{accepted}', 'answered', '{accepting}'),
 ('consultation', 'close', '{answered}', 'closed', '{practice}'),
 ('consultation', 'withdraw', '{submitted,accepted}', 'withdrawn', '{practice}'),
 ('consultation', 'consent_revoke',
  '{submitted,accepted,declined,answered,closed,withdrawn}', NULL, '{practice}'),
 -- additions and reads of the conversation: no change of state
 ('consultation', 'message_create', '{submitted,accepted,declined,answered}', NULL,
  '{practice,accepting}'),
 ('consultation', 'messages_read', '{submitted,accepted,declined,answered,closed,withdrawn}',
  NULL, '{practice,accepting}'),
 ('consultation', 'appointment_create', '{accepted,answered}', NULL, '{practice,accepting}'),
 ('consultation', 'appointments_read',
  '{submitted,accepted,declined,answered,closed,withdrawn}', NULL, '{practice,accepting}');

-- May a question go to this target? A direct one (`consultant`) needs an active consultant who
-- accepts consultations, a group one (`expertise`) a known code and at least one consultant who
-- may take it in `region`. `verdict` is 'ok', 'missing', 'not_accepting', 'unknown_code' or
-- 'none'; `response_days` is the addressed consultant's, 3 for a group. For a new question and a
-- redirect alike.
CREATE FUNCTION consultation_target(consultant uuid, expertise text, region text,
                                    OUT verdict text, OUT response_days int)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_variable
BEGIN
    SELECT CASE
        WHEN consultant IS NOT NULL THEN
            coalesce((SELECT CASE WHEN p.accepting THEN 'ok' ELSE 'not_accepting' END
                        FROM consultant_profiles p WHERE p.user_id = consultant AND p.active),
                     'missing')
        WHEN NOT EXISTS (SELECT 1 FROM vocabulary v WHERE v.kind = 'expertise'
                          AND v.code = expertise) THEN 'unknown_code'
        WHEN EXISTS (SELECT 1 FROM consultants_eligible(expertise, region)) THEN 'ok'
        ELSE 'none' END,
        CASE WHEN consultant IS NULL THEN 3
             ELSE (SELECT p.response_days FROM consultant_profiles p
                    WHERE p.user_id = consultant) END
      INTO verdict, response_days;
END
$$;

-- A new consultation (API.md §8 POST), its first event and its audit entry, in one transaction.
-- In this order on purpose: the audit entry comes last, because its trigger takes the audit
-- chain's lock, which is held until commit and serialises every writer; the event's hook (the
-- fan-out to the addressed consultant or the whole group) and the reply's JSON are done before
-- it. The caller checked the body and the target, chose the id and sealed the texts to it.
CREATE FUNCTION consultation_submit(
    p_now timestamptz, p_actor uuid, p_ip text, p_rid text, p_id uuid, p_subject text,
    p_question text,
    p_patient_mode text, p_patient_age int, p_patient_sex text, p_identity text, p_org uuid,
    p_region text, p_consultant uuid, p_expertise text, p_mode text, p_urgency text,
    p_referral_contemplated boolean, p_proposed_next_step text, p_due timestamptz,
    OUT body jsonb, OUT identity text)
LANGUAGE plpgsql AS $$
DECLARE
    c consultations;
BEGIN
    INSERT INTO consultations (id, status, subject, question, patient_mode, patient_age,
        patient_sex, patient_identity, requester_id, organisation_id, region, consultant_id,
        expertise, mode, urgency, referral_contemplated, proposed_next_step, submitted_at,
        due_at, signal_check_at)
    VALUES (p_id, 'submitted', p_subject, p_question, p_patient_mode, p_patient_age, p_patient_sex,
        p_identity, p_actor, p_org, p_region, p_consultant, p_expertise, p_mode, p_urgency,
        p_referral_contemplated, p_proposed_next_step, p_now, p_due, p_due)
    RETURNING * INTO c;
    INSERT INTO consultation_events (consultation_id, at, kind, actor_id)
    VALUES (c.id, p_now, 'submitted', p_actor);
    body := consultation_json(c, 'identity');
    identity := c.patient_identity;
    PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'consultations.create', 'consultation',
                        c.id, 'success',
                        CASE WHEN c.patient_mode = 'consented' THEN c.patient_ref::text END);
END
$$;

-- Every action on a consultation (API.md §8), transitions, additions and reads of the
-- conversation alike, in one place under a row lock: visibility, If-Match, the declared
-- transition, the action's own effect, its event and its audit entry, in one transaction.
-- `result` is 'ok', 'not_found', 'stale' (If-Match), 'conflict' (status; `detail` names it),
-- 'forbidden' or 'invalid' (`detail` is the field, `message` why). `p_versions` holds every
-- version If-Match names (NULL for "*" or no header). `body` is the consultation, or for
-- message_create and appointment_create the new item.
CREATE FUNCTION consultation_step(
    p_now timestamptz, p_actor uuid, p_ip text, p_rid text, p_who principal, p_id uuid,
    p_versions bigint[], p_action text, p_args jsonb,
    OUT result text, OUT detail text, OUT message text, OUT access text, OUT body jsonb,
    OUT identity text)
LANGUAGE plpgsql AS $$
DECLARE
    c consultations;
    relations text[];
    verdict text;
    next_state text;
    event_kind text;
    event_detail text;
    target text;
    days int;
    changes boolean := true;
BEGIN
    -- FOR UPDATE also for additions: a close or withdraw in progress finishes first.
    SELECT * INTO c FROM consultations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        result := 'not_found';
        RETURN;
    END IF;
    relations := consultation_relations(c, p_who);
    access := consultation_access_of(relations);
    -- A group question someone else took first: those who could have taken it learn that it
    -- is taken (409), not that it vanished.
    IF access IS NULL AND p_action = 'accept' AND c.expertise IS NOT NULL
       AND c.status <> 'submitted'
       AND EXISTS (SELECT 1 FROM consultant_profiles p WHERE p.user_id = p_who.id
                    AND p_who.role = 'consultant' AND consultant_eligible(p, c.expertise, c.region)) THEN
        result := 'conflict';
        detail := c.status;
        RETURN;
    END IF;
    IF access IS NULL OR access = 'meta' THEN
        PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action,
                            'consultation', p_id, 'denied');
        result := CASE WHEN access = 'meta' THEN 'forbidden' ELSE 'not_found' END;
        RETURN;
    END IF;
    IF p_versions IS NOT NULL AND NOT c.version = ANY (p_versions) THEN
        result := 'stale';
        RETURN;
    END IF;
    SELECT t.verdict, t.to_state INTO verdict, next_state
      FROM transition_check('consultation', p_action, c.status, relations) t;
    IF verdict = 'conflict' THEN
        result := 'conflict';
        detail := c.status;
        RETURN;
    ELSIF verdict IS DISTINCT FROM 'ok' THEN
        PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action,
                            'consultation', p_id, 'denied');
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

    c.status := coalesce(next_state, c.status);
    CASE p_action
    WHEN 'accept' THEN
        c.consultant_id := p_who.id;
        c.accepted_at := p_now;
        event_kind := 'accepted';
    WHEN 'decline' THEN
        event_kind := 'declined';
        event_detail := p_args ->> 'reason';
        IF c.expertise IS NOT NULL THEN -- a group question goes back to the group
            c.status := 'submitted';
            c.consultant_id := NULL;
        END IF;
        c.accepted_at := NULL;
    WHEN 'redirect' THEN
        -- The new target, checked as a new question's is, after visibility and status.
        SELECT t.verdict, t.response_days INTO target, days
          FROM consultation_target((p_args ->> 'consultant_id')::uuid, p_args ->> 'expertise',
                                   c.region) t;
        IF (p_args ->> 'consultant_id')::uuid = c.consultant_id OR target <> 'ok' THEN
            result := 'invalid';
            detail := CASE WHEN p_args ? 'consultant_id' THEN 'consultant_id' ELSE 'expertise' END;
            message := CASE
                WHEN (p_args ->> 'consultant_id')::uuid = c.consultant_id
                    THEN 'this consultant declined the consultation'
                WHEN target IN ('missing', 'not_accepting')
                    THEN 'no such consultant accepting consultations'
                WHEN target = 'unknown_code' THEN 'is not a known code'
                ELSE 'no accepting consultant with this expertise in your region' END;
            RETURN;
        END IF;
        c.consultant_id := (p_args ->> 'consultant_id')::uuid;
        c.expertise := p_args ->> 'expertise';
        -- The server sent the due date for every possible number of working days.
        c.due_at := (p_args -> 'due' ->> (days - 1))::timestamptz;
        c.accepted_at := NULL;
        event_kind := 'redirected';
    WHEN 'answer' THEN
        c.answered_at := p_now;
        c.answer_advice := p_args ->> 'advice';
        c.answer_recommendation := p_args ->> 'recommendation';
        c.answer_minutes := (p_args ->> 'minutes_spent')::int;
        event_kind := 'answered';
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
        c.closed_at := p_now;
        c.outcome_referral := p_args ->> 'referral_outcome';
        c.outcome_value := (p_args ->> 'value')::int;
        c.outcome_note := p_args ->> 'note';
        event_kind := 'closed';
    WHEN 'withdraw' THEN
        event_kind := 'withdrawn';
        event_detail := p_args ->> 'reason';
    WHEN 'consent_revoke' THEN
        IF c.patient_mode <> 'consented' THEN
            result := 'conflict';
            detail := c.status;
            message := 'The patient is ' || c.patient_mode || ': there is no consent to revoke.';
            RETURN;
        END IF;
        c.patient_mode := 'revoked';
        c.patient_identity := NULL; -- erased, not hidden
        event_kind := 'consent_revoked';
    WHEN 'message_create' THEN
        INSERT INTO consultation_messages (consultation_id, author_id, body, created_at)
        VALUES (c.id, p_actor, p_args ->> 'body', p_now)
        RETURNING message_json(consultation_messages) INTO body;
        event_kind := 'message';
        changes := false;
    WHEN 'appointment_create' THEN
        INSERT INTO consultation_appointments (consultation_id, kind, starts_at,
            duration_minutes, location, created_by, created_at)
        VALUES (c.id, p_args ->> 'kind', (p_args ->> 'starts_at')::timestamptz,
                (p_args ->> 'duration_minutes')::int, p_args ->> 'location', p_actor, p_now)
        RETURNING appointment_json(consultation_appointments) INTO body;
        event_kind := 'appointment';
        changes := false;
    ELSE -- the reads of the conversation: only their audit entry
        changes := false;
    END CASE;
    IF changes THEN
        c.version := c.version + 1;
        UPDATE consultations SET status = c.status, consultant_id = c.consultant_id,
            expertise = c.expertise, due_at = c.due_at, accepted_at = c.accepted_at,
            answered_at = c.answered_at, closed_at = c.closed_at,
            answer_advice = c.answer_advice, answer_recommendation = c.answer_recommendation,
            answer_minutes = c.answer_minutes, outcome_referral = c.outcome_referral,
            outcome_value = c.outcome_value, outcome_note = c.outcome_note,
            patient_mode = c.patient_mode, patient_identity = c.patient_identity,
            version = c.version, signal_check_at = p_now
         WHERE id = c.id;
    END IF;
    -- After the change: the event's notification hook reads the consultation as it is now.
    IF event_kind IS NOT NULL THEN
        INSERT INTO consultation_events (consultation_id, at, kind, actor_id, detail)
        VALUES (c.id, p_now, event_kind, p_actor, event_detail);
    END IF;
    IF changes THEN
        access := consultation_access(c, p_who);
        identity := CASE WHEN access = 'identity' THEN c.patient_identity END;
        body := consultation_json(c, access);
    END IF;
    PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'consultations.' || p_action,
                        'consultation', c.id, 'success',
                        CASE WHEN identity IS NOT NULL THEN c.patient_ref::text END);
    result := 'ok';
END
$$;

-- The scheduler's pass for consultations (API.md §10): the signal `consultation_overdue` for a
-- question submitted or accepted past its due date, resolved when it is answered, withdrawn,
-- declined or redirected; the consultant hears of it once (notifications_once). Incremental: it
-- takes only the consultations whose signal_check_at has come, and those another process holds
-- are skipped (that process does them).
CREATE FUNCTION scheduler_consultation_signals(p_now timestamptz,
    OUT signals_raised bigint, OUT signals_resolved bigint, OUT notifications_created bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c consultations;
    overdue boolean;
    s record;
BEGIN
    signals_raised := 0;
    signals_resolved := 0;
    notifications_created := 0;
    CASE scheduler_pass_begin('consultation_signals', p_now)
    WHEN 'busy' THEN
        RETURN;
    WHEN 'recheck' THEN
        UPDATE consultations SET signal_check_at = p_now
         WHERE status IN ('submitted', 'accepted')
            OR id IN (SELECT subject_id FROM signals
                       WHERE subject_type = 'consultation' AND resolved_at IS NULL);
    ELSE
        NULL;
    END CASE;
    FOR c IN SELECT * FROM consultations WHERE signal_check_at <= p_now
             FOR UPDATE SKIP LOCKED LOOP
        overdue := c.status IN ('submitted', 'accepted') AND c.due_at < p_now;
        s := signals_sync('consultation', c.id, c.region, '{consultation_overdue}',
                          CASE WHEN overdue THEN '{consultation_overdue}' ELSE '{}' END::text[],
                          CASE WHEN overdue THEN ARRAY['due ' || ts(c.due_at)] ELSE '{}' END,
                          p_now);
        signals_raised := signals_raised + s.raised;
        signals_resolved := signals_resolved + s.resolved;
        IF overdue AND c.consultant_id IS NOT NULL THEN
            notifications_created := notifications_created
                + notify(ARRAY[c.consultant_id], 'consultation_overdue', 'consultation', c.id,
                         p_now, once => true);
        END IF;
        UPDATE consultations
           SET signal_check_at = CASE WHEN c.status IN ('submitted', 'accepted')
                                      AND c.due_at >= p_now THEN c.due_at END
         WHERE id = c.id;
    END LOOP;
END
$$;
INSERT INTO scheduler_passes (name, function) VALUES
 ('consultation_signals', 'scheduler_consultation_signals');
