-- Escalation cases (API.md §9, docs/cases.md), declared as an aggregate like consultations: the
-- state in `cases` (with its parties, actions and conferences), what happened in the append-only
-- `case_events` (the timeline, and the hook that notifies), who may do what in `transitions` rows
-- applied by case_step under a row lock. The stalled reasons and the Treeknorm are computed from
-- the case row alone (case_marks), so a list filters on them inside its index scan.

-- ---------- the marks of stalled and Treeknorm (before the table: its generated column) ----------

-- "Today" for the clock's `now`: the date in the Netherlands.
CREATE FUNCTION nl_date(now timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT (now AT TIME ZONE 'Europe/Amsterdam')::date
$$;

-- The moment `d` begins in the Netherlands.
CREATE FUNCTION nl_midnight(d date) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT d::timestamp AT TIME ZONE 'Europe/Amsterdam'
$$;

-- `t` plus `i` counted in UTC: "7 days" is 168 hours whatever the session's time zone, and the
-- sum is immutable (timestamptz + interval is not), so a generated column may use it.
CREATE FUNCTION utc_add(t timestamptz, i interval) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT ((t AT TIME ZONE 'UTC') + i) AT TIME ZONE 'UTC'
$$;

-- The one definition of the stalled reasons (API.md §9): for each, the first moment it holds,
-- in the order of case_reason_names(); NULL when it cannot hold by time alone, '-infinity' when
-- it holds whatever the time (Treeknorm dates already too far apart). Only open cases stall.
--   intake_overdue       registered more than 7 days ago (from the last registration)
--   action_overdue       an open action's due_on is before today (Netherlands)
--   no_progress          in progress with no event for more than 14 days
--   treeknorm_intake     more than 28 days from registered_on to intake_on (or today)
--   treeknorm_treatment  more than 70 days from intake_on to treatment_on (or today)
CREATE FUNCTION case_marks(status text, registered_at timestamptz, last_event_at timestamptz,
                           next_action_due date, registered_on date, intake_on date,
                           treatment_on date) RETURNS timestamptz[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status IN ('registered', 'returned', 'in_progress') THEN ARRAY[
        CASE WHEN status = 'registered'
             THEN utc_add(registered_at, interval '7 days 1 microsecond') END,
        nl_midnight(next_action_due + 1),
        CASE WHEN status = 'in_progress'
             THEN utc_add(last_event_at, interval '14 days 1 microsecond') END,
        CASE WHEN intake_on IS NULL THEN nl_midnight(registered_on + 29)
             WHEN intake_on - registered_on > 28 THEN '-infinity' END,
        CASE WHEN treatment_on IS NULL THEN nl_midnight(intake_on + 71)
             WHEN treatment_on - intake_on > 70 THEN '-infinity' END
    ] ELSE '{NULL,NULL,NULL,NULL,NULL}'::timestamptz[] END
$$;

CREATE FUNCTION case_reason_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT '{intake_overdue,action_overdue,no_progress,treeknorm_intake,treeknorm_treatment}'::text[]
$$;

-- The first moment a case is stalled: the earliest of its marks (the generated column
-- cases.stalled_from, which lists filter on).
CREATE FUNCTION case_first_mark(marks timestamptz[]) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT least(marks[1], marks[2], marks[3], marks[4], marks[5])
$$;

-- ---------- the aggregate ----------

CREATE TABLE cases (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status                text NOT NULL CHECK (status IN ('registered', 'returned',
                              'in_progress', 'resolved', 'closed')),
    level                 int NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 4),
    max_level             int NOT NULL DEFAULT 0, -- the highest level reached (reports)
    region                text NOT NULL,
    title                 text NOT NULL,
    summary               text NOT NULL,
    stagnation            text NOT NULL,
    attempts              text NOT NULL,
    proposed_solution     text NOT NULL,
    patient_mode          text NOT NULL CHECK (patient_mode IN ('anonymous', 'consented', 'revoked')),
    patient_age           int,
    patient_sex           text,
    -- Every free text and the identity are sealed to the case (docs/encryption.md): title,
    -- summary, stagnation, attempts, proposed_solution, solution, patient_identity, and the texts
    -- of its actions (description, result), conferences (agenda) and events (detail).
    patient_identity      text, -- consented only
    patient_ref           uuid NOT NULL DEFAULT gen_random_uuid(), -- pseudonym for the audit log
    reported_by           text NOT NULL CHECK (reported_by IN ('professional', 'patient',
                              'relative')),
    consultation_id       uuid REFERENCES consultations (id),
    submitted_by          uuid NOT NULL REFERENCES users (id),
    organisation_id       uuid NOT NULL REFERENCES organisations (id), -- the submitter's
    regie_organisation_id uuid REFERENCES organisations (id),
    -- Treeknorm: the waiting dates the submitter gives (all NULL: none given)
    registered_on         date,
    intake_on             date,
    treatment_on          date,
    solution              text,
    follow_up_on          date,
    created_at            timestamptz NOT NULL,
    registered_at         timestamptz NOT NULL, -- the last (re)registration: intake_overdue
    intake_at             timestamptz,
    resolved_at           timestamptz,
    closed_at             timestamptz,
    last_event_at         timestamptz NOT NULL, -- no_progress
    next_action_due       date,                 -- the earliest due_on of an open action
    -- The first moment the case is stalled (case_marks): `stalled_from <= now` is "stalled", a
    -- column lists filter on inside their index scan.
    stalled_from          timestamptz GENERATED ALWAYS AS (case_first_mark(case_marks(status,
                              registered_at, last_event_at, next_action_due, registered_on,
                              intake_on, treatment_on))) STORED,
    -- When the scheduler looks at its signals next: the next mark a stalled reason can pass by
    -- time alone, "now" after a change, NULL when no mark is ahead (scheduler_case_signals).
    signal_check_at       timestamptz,
    version               bigint NOT NULL DEFAULT 1,
    CHECK ((patient_mode = 'consented') = (patient_identity IS NOT NULL)),
    CHECK (intake_on IS NULL OR registered_on IS NOT NULL),
    CHECK (treatment_on IS NULL OR intake_on IS NOT NULL)
);
-- Lists are newest first (case_page): each index gives a part of a page in that order.
CREATE INDEX cases_region ON cases (region, created_at DESC, id DESC);
CREATE INDEX cases_org ON cases (organisation_id, created_at DESC, id DESC);
-- The stalled lists: only the cases that can be stalled at all (open, with a mark), so the scan
-- of a region (a coordinator's daily list) or of an organisation stops after a page.
CREATE INDEX cases_stalled ON cases (region, created_at DESC, id DESC)
    WHERE stalled_from IS NOT NULL;
CREATE INDEX cases_stalled_org ON cases (organisation_id, created_at DESC, id DESC)
    WHERE stalled_from IS NOT NULL;
CREATE INDEX cases_signal_check ON cases (signal_check_at) WHERE signal_check_at IS NOT NULL;

CREATE TABLE case_parties (
    case_id         uuid NOT NULL REFERENCES cases (id),
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    role            text NOT NULL,
    position        int NOT NULL, -- the order the submitter gave
    PRIMARY KEY (case_id, organisation_id)
);
CREATE INDEX case_parties_org ON case_parties (organisation_id, case_id);

CREATE TABLE case_actions (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id               uuid NOT NULL REFERENCES cases (id),
    description           text NOT NULL,
    owner_organisation_id uuid NOT NULL REFERENCES organisations (id),
    due_on                date NOT NULL,
    status                text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    result                text,
    created_by            uuid NOT NULL REFERENCES users (id),
    created_at            timestamptz NOT NULL,
    closed_by             uuid REFERENCES users (id),
    closed_at             timestamptz
);
CREATE INDEX case_actions_case ON case_actions (case_id, created_at, id);

CREATE TABLE case_conferences (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id      uuid NOT NULL REFERENCES cases (id),
    starts_at    timestamptz NOT NULL,
    participants uuid[] NOT NULL,
    agenda       text NOT NULL,
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL
);
CREATE INDEX case_conferences_case ON case_conferences (case_id, starts_at, id);

-- What happened to a case, in order: the timeline (API.md §9), and the hook for notifications.
-- Append-only like the audit log. `level` is the case's level after the event; `detail` the
-- reason, note or text the actor gave (sealed); `subject` the action or conference the event is
-- about, or the organisation that took regie.
CREATE TABLE case_events (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id  uuid NOT NULL REFERENCES cases (id),
    at       timestamptz NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('registered', 'intake', 'returned', 'edited',
                 'resubmitted', 'escalated', 'deescalated', 'regie_set', 'action_created',
                 'action_done', 'conference_planned', 'note', 'resolved', 'closed')),
    actor_id uuid REFERENCES users (id),
    level    int NOT NULL,
    detail   text,
    subject  uuid
);
CREATE INDEX case_events_case ON case_events (case_id, seq);

CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION events_reseal_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
ALTER TABLE case_events ENABLE ALWAYS TRIGGER case_events_no_change;
ALTER TABLE case_events ENABLE ALWAYS TRIGGER case_events_no_truncate;

-- ---------- policy: who may see and do what ----------

-- How `who` stands to `c`, the words the transition table's `who` column uses:
--   coordinator a coordinator of the case's region
--   submitter   a member of the organisation that registered the case
--   party       a member of one of its party organisations
-- billing and admin users have no relation to any case (the route table refuses them first).
CREATE FUNCTION case_relations(c cases, who principal) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF who.role NOT IN ('gp', 'poh', 'consultant', 'coordinator') THEN
        RETURN '{}';
    END IF;
    RETURN array_remove(ARRAY[
        CASE WHEN who.role = 'coordinator' AND c.region = who.region THEN 'coordinator' END,
        CASE WHEN c.organisation_id = who.organisation_id THEN 'submitter' END,
        CASE WHEN EXISTS (SELECT 1 FROM case_parties cp WHERE cp.case_id = c.id
                           AND cp.organisation_id = who.organisation_id) THEN 'party' END
    ], NULL);
END
$$;

-- What `relations` may see of a case: 'identity' (everything, the patient's identity included:
-- the submitting organisation and the region's coordinators), 'full' (the parties: the patient
-- hidden), NULL (nothing: 404).
CREATE FUNCTION case_access_of(relations text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN relations && '{coordinator,submitter}' THEN 'identity'
        WHEN relations && '{party}' THEN 'full'
    END
$$;

-- The cases `who` may see, for lists: one branch per relation, each on its own index (see
-- consultation_visible), and disjoint, so a case seen through two relations appears once. In
-- two parts, so that a list can order and limit each on its own index (case_page): a
-- coordinator's own region, and the cases of the caller's organisation and those it is a party
-- to (outside that region for a coordinator).
CREATE FUNCTION case_visible_in_region(who principal) RETURNS SETOF cases
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM cases c WHERE who.role = 'coordinator' AND c.region = who.region
$$;

CREATE FUNCTION case_visible_to_members(who principal) RETURNS SETOF cases
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM cases c
     WHERE who.role IN ('gp', 'poh', 'consultant', 'coordinator')
       AND c.organisation_id = who.organisation_id
       AND (who.role <> 'coordinator' OR c.region <> who.region)
    UNION ALL
    SELECT c.* FROM cases c
     WHERE who.role IN ('gp', 'poh', 'consultant', 'coordinator')
       AND c.organisation_id <> who.organisation_id
       AND (who.role <> 'coordinator' OR c.region <> who.region)
       AND c.id IN (SELECT cp.case_id FROM case_parties cp
                     WHERE cp.organisation_id = who.organisation_id)
$$;

CREATE FUNCTION case_visible(who principal) RETURNS SETOF cases
LANGUAGE sql STABLE AS $$
    SELECT * FROM case_visible_in_region(who)
    UNION ALL
    SELECT * FROM case_visible_to_members(who)
$$;

INSERT INTO transitions (aggregate, action, from_states, to_state, who) VALUES
 ('case', 'intake', '{registered}', 'in_progress', '{coordinator}'), -- or 'returned'
 ('case', 'update', '{returned}', NULL, '{submitter}'),
 ('case', 'resubmit', '{returned}', 'registered', '{submitter}'),
 ('case', 'escalate', '{in_progress}', NULL, '{coordinator}'),
 ('case', 'deescalate', '{in_progress}', NULL, '{coordinator}'),
 ('case', 'regie_set', '{registered,in_progress}', NULL, '{coordinator}'),
 ('case', 'action_create', '{in_progress}', NULL, '{coordinator}'),
 ('case', 'action_update', '{in_progress,resolved}', NULL, '{coordinator,party}'),
 ('case', 'conference_create', '{in_progress}', NULL, '{coordinator}'),
 ('case', 'note_create', '{registered,returned,in_progress,resolved}', NULL,
  '{coordinator,submitter,party}'),
 ('case', 'resolve', '{in_progress}', 'resolved', '{coordinator}'),
 ('case', 'close', '{resolved}', 'closed', '{coordinator}');

-- ---------- stalled and Treeknorm ----------

CREATE FUNCTION case_marks_of(c cases) RETURNS timestamptz[] LANGUAGE sql IMMUTABLE AS $$
    SELECT case_marks(c.status, c.registered_at, c.last_event_at, c.next_action_due,
                      c.registered_on, c.intake_on, c.treatment_on)
$$;

-- Why `c` is stalled at `now`: the reasons whose mark has come, in their order.
-- One expression, so it is inlined where it is called (no executor per call, as a FROM
-- would need).
CREATE FUNCTION case_stalled(c cases, now timestamptz) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_remove(ARRAY[
        CASE WHEN (case_marks_of(c))[1] <= now THEN (case_reason_names())[1] END,
        CASE WHEN (case_marks_of(c))[2] <= now THEN (case_reason_names())[2] END,
        CASE WHEN (case_marks_of(c))[3] <= now THEN (case_reason_names())[3] END,
        CASE WHEN (case_marks_of(c))[4] <= now THEN (case_reason_names())[4] END,
        CASE WHEN (case_marks_of(c))[5] <= now THEN (case_reason_names())[5] END
    ], NULL)
$$;

-- The next moment after `now` at which a stalled reason of `c` begins (NULL: none is ahead).
-- The scheduler's pass looks at the case again then.
CREATE FUNCTION case_next_mark(c cases, now timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT min(m) FROM unnest(case_marks_of(c)) m WHERE m > now
$$;

CREATE FUNCTION case_treeknorm(c cases, now timestamptz) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'intake_weeks', (coalesce(c.intake_on, nl_date(now)) - c.registered_on) / 7,
        'intake_exceeded', coalesce(c.intake_on, nl_date(now)) - c.registered_on > 28,
        'treatment_weeks', (coalesce(c.treatment_on, nl_date(now)) - c.intake_on) / 7,
        'treatment_exceeded', coalesce(c.treatment_on, nl_date(now)) - c.intake_on > 70)
$$;

-- ---------- JSON ----------

CREATE FUNCTION case_org_json(id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'name', o.name) FROM organisations o
     WHERE o.id = case_org_json.id
$$;

CREATE FUNCTION case_action_json(a case_actions) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('id', a.id, 'description', sealed(a.description, 'case:' || a.case_id),
        'owner_organisation', case_org_json(a.owner_organisation_id), 'due_on', a.due_on,
        'status', a.status, 'result', sealed(a.result, 'case:' || a.case_id),
        'created_at', ts(a.created_at),
        'closed_at', ts(a.closed_at));
END
$$;

CREATE FUNCTION case_conference_json(f case_conferences) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('id', f.id, 'starts_at', ts(f.starts_at),
        'participants', (SELECT coalesce(jsonb_agg(case_org_json(p) ORDER BY n), '[]')
                           FROM unnest(f.participants) WITH ORDINALITY x(p, n)),
        'agenda', sealed(f.agenda, 'case:' || f.case_id), 'created_at', ts(f.created_at));
END
$$;

CREATE FUNCTION case_event_json(e case_events) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('at', ts(e.at), 'kind', e.kind,
        'actor', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role)
                    FROM users u WHERE u.id = e.actor_id),
        'level', e.level,
        -- regie: the organisation's name, as it is now; every other detail is a sealed text
        'detail', CASE WHEN e.kind = 'regie_set'
                       THEN (SELECT to_jsonb(o.name) FROM organisations o WHERE o.id = e.subject)
                       ELSE sealed(e.detail, 'case:' || e.case_id) END);
END
$$;

-- The fields a case shows in lists and in full alike.
CREATE FUNCTION case_summary_json(c cases, now timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', c.id, 'status', c.status, 'level', c.level,
        'region', c.region, 'title', sealed(c.title, 'case:' || c.id),
        'reported_by', c.reported_by,
        'organisation', case_org_json(c.organisation_id),
        'regie_organisation', case_org_json(c.regie_organisation_id),
        'waiting', CASE WHEN c.registered_on IS NOT NULL THEN jsonb_build_object(
            'registered_on', c.registered_on, 'intake_on', c.intake_on,
            'treatment_on', c.treatment_on) END,
        'stalled', jsonb_build_object('is_stalled', coalesce(c.stalled_from <= now, false),
                                      'reasons', to_jsonb(case_stalled(c, now))),
        'treeknorm', CASE WHEN c.registered_on IS NOT NULL THEN case_treeknorm(c, now) END,
        'registered_at', ts(c.registered_at), 'intake_at', ts(c.intake_at),
        'resolved_at', ts(c.resolved_at), 'closed_at', ts(c.closed_at), 'version', c.version)
$$;

-- A page of the cases `who` sees (GET /v1/cases), newest first, after the cursor
-- (after_at, after_id), filtered by status, level and stalled (NULL: any), as summaries.
-- With stalled = true (a coordinator's "what is stuck") each part of what `who` sees (the
-- region; their organisation's and its parties' cases) is ordered and limited on its own, so
-- the region's part reads the newest of its cases that can be stalled (index cases_stalled)
-- and stops after a page.
-- PL/pgSQL with a generic plan, kept per connection: a custom plan of these statements costs
-- more to make (1.3 ms: the inlined marks and visibility) than to run (0.9 ms), yet the
-- planner, whose estimate for the party part is far too high, keeps choosing custom plans.
CREATE FUNCTION case_page(who principal, now timestamptz, p_status text, p_level int,
                          stalled boolean, after_at timestamptz, after_id uuid, lim int)
RETURNS TABLE (summary text, created_at text, id uuid)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF stalled THEN
        RETURN QUERY
        SELECT case_summary_json(c, now)::text, c.created_at::text, c.id
          FROM ((SELECT r.* FROM case_visible_in_region(who) r
                  WHERE r.stalled_from <= now
                    AND (p_status IS NULL OR r.status = p_status)
                    AND (p_level IS NULL OR r.level = p_level)
                    AND (after_at IS NULL OR (r.created_at, r.id) < (after_at, after_id))
                  ORDER BY r.created_at DESC, r.id DESC LIMIT lim)
                UNION ALL
                (SELECT m.* FROM case_visible_to_members(who) m
                  WHERE m.stalled_from <= now
                    AND (p_status IS NULL OR m.status = p_status)
                    AND (p_level IS NULL OR m.level = p_level)
                    AND (after_at IS NULL OR (m.created_at, m.id) < (after_at, after_id))
                  ORDER BY m.created_at DESC, m.id DESC LIMIT lim)) c
         ORDER BY c.created_at DESC, c.id DESC LIMIT lim;
    ELSE
        RETURN QUERY
        SELECT case_summary_json(c, now)::text, c.created_at::text, c.id
          FROM case_visible(who) c
         WHERE (p_status IS NULL OR c.status = p_status)
           AND (p_level IS NULL OR c.level = p_level)
           AND (after_at IS NULL OR (c.created_at, c.id) < (after_at, after_id))
           AND (stalled IS NULL OR NOT coalesce(c.stalled_from <= now, false))
         ORDER BY c.created_at DESC, c.id DESC LIMIT lim;
    END IF;
END
$$;

-- The case as `access` may see it ('identity' or 'full'). The identity itself is decrypted by
-- the server; this puts a placeholder patient for 'identity'.
CREATE FUNCTION case_json(c cases, access text, now timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN case_summary_json(c, now) || jsonb_build_object(
        'summary', sealed(c.summary, 'case:' || c.id),
        'stagnation', sealed(c.stagnation, 'case:' || c.id),
        'attempts', sealed(c.attempts, 'case:' || c.id),
        'proposed_solution', sealed(c.proposed_solution, 'case:' || c.id),
        'patient', CASE c.patient_mode
            WHEN 'anonymous' THEN jsonb_build_object('mode', 'anonymous', 'age', c.patient_age,
                                                     'sex', c.patient_sex)
            WHEN 'revoked' THEN jsonb_build_object('mode', 'revoked')
            ELSE jsonb_build_object('mode', 'consented', 'identity_hidden', true) END,
        'submitted_by', (SELECT jsonb_build_object('id', u.id, 'name', u.name, 'role', u.role)
                           FROM users u WHERE u.id = c.submitted_by),
        'parties', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'organisation', case_org_json(p.organisation_id), 'role', p.role)
                        ORDER BY p.position), '[]')
                      FROM case_parties p WHERE p.case_id = c.id),
        -- pace only, never the consultation's content
        'consultation', (SELECT jsonb_build_object('id', k.id, 'status', k.status,
                             'submitted_at', ts(k.submitted_at), 'due_at', ts(k.due_at),
                             'answered_at', ts(k.answered_at))
                           FROM consultations k WHERE k.id = c.consultation_id),
        'actions', (SELECT coalesce(jsonb_agg(case_action_json(a) ORDER BY a.created_at, a.id),
                                    '[]')
                      FROM case_actions a WHERE a.case_id = c.id),
        'conferences', (SELECT coalesce(jsonb_agg(case_conference_json(f)
                                                  ORDER BY f.starts_at, f.id), '[]')
                          FROM case_conferences f WHERE f.case_id = c.id),
        'timeline', (SELECT coalesce(jsonb_agg(case_event_json(e) ORDER BY e.seq), '[]')
                       FROM case_events e WHERE e.case_id = c.id),
        'solution', sealed(c.solution, 'case:' || c.id), 'follow_up_on', c.follow_up_on);
END
$$;

-- ---------- notifications ----------

-- The active members of organisations `orgs` who work on cases (not billing, not admins).
CREATE FUNCTION case_members(orgs uuid[]) RETURNS uuid[] LANGUAGE sql STABLE AS $$
    SELECT array_agg(u.id) FROM users u
     WHERE u.organisation_id = ANY (orgs) AND u.active
       AND u.role IN ('gp', 'poh', 'consultant', 'coordinator')
$$;

-- Who hears of a case event: the one place the case's notifications are decided. The region's
-- coordinators of a new case; the parties of a level change; the owning organisation of an
-- action assigned to it. The actor is never told of their own act.
CREATE FUNCTION case_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c cases;
    users uuid[];
    kind text;
BEGIN
    SELECT * INTO c FROM cases WHERE id = NEW.case_id;
    CASE NEW.kind
    WHEN 'registered', 'resubmitted' THEN
        kind := 'case_registered';
        SELECT array_agg(u.id) INTO users FROM users u JOIN organisations o
            ON o.id = u.organisation_id
         WHERE u.role = 'coordinator' AND u.active AND o.region = c.region;
    WHEN 'intake', 'escalated', 'deescalated' THEN
        kind := 'case_level_changed';
        users := case_members(ARRAY(SELECT p.organisation_id FROM case_parties p
                                     WHERE p.case_id = c.id));
    WHEN 'action_created' THEN
        kind := 'case_action_assigned';
        users := case_members(ARRAY(SELECT a.owner_organisation_id FROM case_actions a
                                     WHERE a.id = NEW.subject));
    ELSE
        RETURN NULL;
    END CASE;
    PERFORM notify(array_remove(users, NEW.actor_id), kind, 'case', c.id, NEW.at);
    RETURN NULL;
END
$$;
CREATE TRIGGER case_events_notify AFTER INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_notify();

-- ---------- registration and every action ----------

-- The index (from 0) of the first of `parties` ([{organisation_id, role}]) that names no
-- organisation, or NULL: checked before anything is written.
CREATE FUNCTION case_parties_missing(parties jsonb) RETURNS int LANGUAGE sql STABLE AS $$
    SELECT min(p.n)::int - 1
      FROM jsonb_array_elements(parties) WITH ORDINALITY p(v, n)
     WHERE NOT EXISTS (SELECT 1 FROM organisations o
                        WHERE o.id = (p.v ->> 'organisation_id')::uuid)
$$;

-- Makes `parties` the parties of case `id`, in the order given.
CREATE FUNCTION case_parties_replace(id uuid, parties jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $$
    DELETE FROM case_parties cp WHERE cp.case_id = case_parties_replace.id;
    INSERT INTO case_parties (case_id, organisation_id, role, position)
    SELECT case_parties_replace.id, (p.v ->> 'organisation_id')::uuid, p.v ->> 'role', p.n
      FROM jsonb_array_elements(parties) WITH ORDINALITY p(v, n);
$$;

-- A new case (API.md §9 POST), its parties, its first event and its audit entry, in one
-- transaction; the audit entry last (its trigger takes the audit chain's lock). The caller
-- checked the body; this checks what only the database knows (the parties and the linked
-- consultation exist and may be named). `result` is 'ok' or 'invalid' (`detail` the field,
-- `message` why).
CREATE FUNCTION case_register(
    p_now timestamptz, p_actor uuid, p_ip text, p_rid text, p_who principal, p_case jsonb,
    p_identity text, OUT result text, OUT detail text, OUT message text, OUT body jsonb,
    OUT identity text)
LANGUAGE plpgsql AS $$
DECLARE
    c cases;
    missing int;
BEGIN
    missing := case_parties_missing(p_case -> 'parties');
    IF missing IS NOT NULL THEN
        result := 'invalid';
        detail := format('parties[%s].organisation_id', missing);
        message := 'no such organisation';
        RETURN;
    END IF;
    IF p_case ? 'consultation_id' AND NOT EXISTS (
        SELECT 1 FROM consultations k WHERE k.id = (p_case ->> 'consultation_id')::uuid
           AND consultation_access(k, p_who) IS NOT NULL) THEN
        result := 'invalid';
        detail := 'consultation_id';
        message := 'no such consultation';
        RETURN;
    END IF;
    INSERT INTO cases (id, status, region, title, summary, stagnation, attempts, proposed_solution,
        patient_mode, patient_age, patient_sex, patient_identity, reported_by, consultation_id,
        submitted_by, organisation_id, registered_on, intake_on, treatment_on, created_at,
        registered_at, last_event_at, signal_check_at)
    VALUES ((p_case ->> 'id')::uuid, 'registered', p_who.region, p_case ->> 'title', p_case ->> 'summary',
        p_case ->> 'stagnation', p_case ->> 'attempts', p_case ->> 'proposed_solution',
        p_case -> 'patient' ->> 'mode', (p_case -> 'patient' ->> 'age')::int,
        p_case -> 'patient' ->> 'sex', p_identity, p_case ->> 'reported_by',
        (p_case ->> 'consultation_id')::uuid, p_actor, p_who.organisation_id,
        (p_case -> 'waiting' ->> 'registered_on')::date,
        (p_case -> 'waiting' ->> 'intake_on')::date,
        (p_case -> 'waiting' ->> 'treatment_on')::date, p_now, p_now, p_now, p_now)
    RETURNING * INTO c;
    PERFORM case_parties_replace(c.id, p_case -> 'parties');
    INSERT INTO case_events (case_id, at, kind, actor_id, level)
    VALUES (c.id, p_now, 'registered', p_actor, 0);
    body := case_json(c, 'identity', p_now);
    identity := c.patient_identity;
    PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'cases.create', 'case', c.id, 'success',
                        CASE WHEN c.patient_mode = 'consented' THEN c.patient_ref::text END);
    result := 'ok';
END
$$;

-- Every action on a case (API.md §9), in one place under the case's row lock: visibility,
-- If-Match, the declared transition, the action's own effect, its event and its audit entry,
-- in one transaction. `result` as consultation_step's: 'ok', 'not_found', 'stale', 'conflict'
-- (`detail` the status; `message` why, when it is not the status), 'forbidden' or 'invalid'
-- (`detail` the field, `message` why). `body` is the case, or for action_create,
-- action_update, conference_create and note_create the new or changed item. 'read' is the
-- audited read of the whole case.
CREATE FUNCTION case_step(
    p_now timestamptz, p_actor uuid, p_ip text, p_rid text, p_who principal, p_id uuid,
    p_versions bigint[], p_action text, p_args jsonb,
    OUT result text, OUT detail text, OUT message text, OUT access text, OUT body jsonb,
    OUT identity text)
LANGUAGE plpgsql AS $$
DECLARE
    c cases;
    a case_actions;
    f case_conferences;
    relations text[];
    verdict text;
    next_state text;
    event_kind text;
    event_detail text;
    event_subject uuid;
    item jsonb;
    bad int;
BEGIN
    -- A read takes no lock: it changes nothing.
    IF p_action = 'read' THEN
        SELECT * INTO c FROM cases WHERE id = p_id;
    ELSE
        SELECT * INTO c FROM cases WHERE id = p_id FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        result := 'not_found';
        RETURN;
    END IF;
    relations := case_relations(c, p_who);
    access := case_access_of(relations);
    IF access IS NULL THEN
        PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'cases.' || p_action, 'case', p_id,
                            'denied');
        result := 'not_found';
        RETURN;
    END IF;
    IF p_action = 'read' THEN
        identity := CASE WHEN access = 'identity' THEN c.patient_identity END;
        body := case_json(c, access, p_now);
        PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'cases.read', 'case', c.id, 'success',
                            CASE WHEN identity IS NOT NULL THEN c.patient_ref::text END);
        result := 'ok';
        RETURN;
    END IF;
    IF p_versions IS NOT NULL AND NOT c.version = ANY (p_versions) THEN
        result := 'stale';
        RETURN;
    END IF;
    SELECT t.verdict, t.to_state INTO verdict, next_state
      FROM transition_check('case', p_action, c.status, relations) t;
    IF verdict = 'conflict' THEN
        result := 'conflict';
        detail := c.status;
        RETURN;
    ELSIF verdict IS DISTINCT FROM 'ok' THEN
        PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'cases.' || p_action, 'case', p_id,
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
    -- Organisations the action names must be parties of the case.
    SELECT min(o.n) INTO bad
      FROM jsonb_array_elements_text(coalesce(p_args -> 'organisations', '[]'))
           WITH ORDINALITY o(id, n)
     WHERE NOT EXISTS (SELECT 1 FROM case_parties cp WHERE cp.case_id = c.id
                        AND cp.organisation_id = o.id::uuid);
    IF bad IS NOT NULL THEN
        result := 'invalid';
        detail := CASE p_action WHEN 'regie_set' THEN 'organisation_id'
                                WHEN 'action_create' THEN 'owner_organisation_id'
                                ELSE format('participants[%s]', bad - 1) END;
        message := 'is not a party of this case';
        RETURN;
    END IF;

    c.status := coalesce(next_state, c.status);
    CASE p_action
    WHEN 'intake' THEN
        IF (p_args ->> 'work_done')::boolean THEN
            c.status := 'in_progress';
            c.level := 1;
            c.max_level := greatest(c.max_level, 1);
            c.intake_at := p_now;
            event_kind := 'intake';
        ELSE
            c.status := 'returned';
            event_kind := 'returned';
        END IF;
        event_detail := p_args ->> 'note';
    WHEN 'update' THEN
        c.title := coalesce(p_args ->> 'title', c.title);
        c.summary := coalesce(p_args ->> 'summary', c.summary);
        c.stagnation := coalesce(p_args ->> 'stagnation', c.stagnation);
        c.attempts := coalesce(p_args ->> 'attempts', c.attempts);
        c.proposed_solution := coalesce(p_args ->> 'proposed_solution', c.proposed_solution);
        IF p_args ? 'waiting' THEN
            c.registered_on := (p_args -> 'waiting' ->> 'registered_on')::date;
            c.intake_on := (p_args -> 'waiting' ->> 'intake_on')::date;
            c.treatment_on := (p_args -> 'waiting' ->> 'treatment_on')::date;
        END IF;
        IF p_args ? 'parties' THEN
            bad := case_parties_missing(p_args -> 'parties');
            IF bad IS NOT NULL THEN
                result := 'invalid';
                detail := format('parties[%s].organisation_id', bad);
                message := 'no such organisation';
                RETURN;
            END IF;
            PERFORM case_parties_replace(c.id, p_args -> 'parties');
            IF c.regie_organisation_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM case_parties cp WHERE cp.case_id = c.id
                   AND cp.organisation_id = c.regie_organisation_id) THEN
                c.regie_organisation_id := NULL; -- regie is held by a party only
            END IF;
        END IF;
        event_kind := 'edited';
    WHEN 'resubmit' THEN
        c.registered_at := p_now;
        event_kind := 'resubmitted';
    WHEN 'escalate' THEN
        IF c.level >= 4 THEN
            result := 'conflict';
            detail := c.status;
            message := 'The case is at level 4, the highest.';
            RETURN;
        END IF;
        c.level := c.level + 1;
        c.max_level := greatest(c.max_level, c.level);
        event_kind := 'escalated';
        event_detail := p_args ->> 'reason';
    WHEN 'deescalate' THEN
        IF c.level <= 1 THEN
            result := 'conflict';
            detail := c.status;
            message := 'The case is at level 1, the lowest.';
            RETURN;
        END IF;
        c.level := c.level - 1;
        event_kind := 'deescalated';
        event_detail := p_args ->> 'reason';
    WHEN 'regie_set' THEN
        c.regie_organisation_id := (p_args ->> 'organisation_id')::uuid;
        event_kind := 'regie_set';
        event_subject := c.regie_organisation_id;
    WHEN 'action_create' THEN
        INSERT INTO case_actions (case_id, description, owner_organisation_id, due_on,
                                  created_by, created_at)
        VALUES (c.id, p_args ->> 'description', (p_args ->> 'owner_organisation_id')::uuid,
                (p_args ->> 'due_on')::date, p_actor, p_now)
        RETURNING * INTO a;
        item := case_action_json(a);
        event_kind := 'action_created';
        event_detail := a.description;
        event_subject := a.id;
    WHEN 'action_update' THEN
        SELECT * INTO a FROM case_actions
         WHERE id = (p_args ->> 'action_id')::uuid AND case_id = c.id;
        IF NOT FOUND THEN
            result := 'not_found';
            message := 'No such action.';
            RETURN;
        END IF;
        IF NOT 'coordinator' = ANY (relations)
           AND a.owner_organisation_id IS DISTINCT FROM p_who.organisation_id THEN
            PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'cases.action_update', 'case',
                                c.id, 'denied');
            result := 'forbidden';
            RETURN;
        END IF;
        IF a.status = 'done' THEN
            result := 'conflict';
            detail := c.status;
            message := 'The action is done already.';
            RETURN;
        END IF;
        UPDATE case_actions SET status = 'done', result = p_args ->> 'result',
               closed_by = p_actor, closed_at = p_now
         WHERE id = a.id
        RETURNING * INTO a;
        item := case_action_json(a);
        event_kind := 'action_done';
        event_detail := a.result;
        event_subject := a.id;
    WHEN 'conference_create' THEN
        INSERT INTO case_conferences (case_id, starts_at, participants, agenda, created_by,
                                      created_at)
        VALUES (c.id, (p_args ->> 'starts_at')::timestamptz,
                ARRAY(SELECT jsonb_array_elements_text(p_args -> 'organisations')::uuid),
                p_args ->> 'agenda', p_actor, p_now)
        RETURNING * INTO f;
        item := case_conference_json(f);
        event_kind := 'conference_planned';
        event_detail := f.agenda;
        event_subject := f.id;
    WHEN 'note_create' THEN
        event_kind := 'note';
        event_detail := p_args ->> 'body';
    WHEN 'resolve' THEN
        IF c.regie_organisation_id IS NULL THEN
            result := 'conflict';
            detail := c.status;
            message := 'The case has no regie holder: set one before resolving.';
            RETURN;
        END IF;
        c.resolved_at := p_now;
        c.solution := p_args ->> 'solution';
        c.follow_up_on := (p_args ->> 'follow_up_on')::date;
        event_kind := 'resolved';
        event_detail := c.solution;
    WHEN 'close' THEN
        c.closed_at := p_now;
        event_kind := 'closed';
        event_detail := p_args ->> 'note';
    END CASE;

    IF p_action IN ('action_create', 'action_update') THEN -- only these change the actions
        c.next_action_due := (SELECT min(x.due_on) FROM case_actions x
                               WHERE x.case_id = c.id AND x.status = 'open');
    END IF;
    c.version := c.version + 1;
    UPDATE cases SET status = c.status, level = c.level, max_level = c.max_level,
        title = c.title, summary = c.summary, stagnation = c.stagnation, attempts = c.attempts,
        proposed_solution = c.proposed_solution, registered_on = c.registered_on,
        intake_on = c.intake_on, treatment_on = c.treatment_on,
        regie_organisation_id = c.regie_organisation_id, solution = c.solution,
        follow_up_on = c.follow_up_on, registered_at = c.registered_at, intake_at = c.intake_at,
        resolved_at = c.resolved_at, closed_at = c.closed_at, last_event_at = p_now,
        next_action_due = c.next_action_due, signal_check_at = p_now, version = c.version
     WHERE id = c.id
    RETURNING * INTO c;
    INSERT INTO case_events (case_id, at, kind, actor_id, level, detail, subject)
    VALUES (c.id, p_now, event_kind, p_actor, c.level, event_detail, event_subject);
    IF item IS NOT NULL THEN
        body := item;
    ELSIF p_action = 'note_create' THEN
        body := (SELECT case_event_json(e) FROM case_events e
                  WHERE e.case_id = c.id ORDER BY e.seq DESC LIMIT 1);
    ELSE
        identity := CASE WHEN access = 'identity' THEN c.patient_identity END;
        body := case_json(c, access, p_now);
    END IF;
    PERFORM audit_write(p_now, p_actor, p_ip, p_rid, 'cases.' || p_action, 'case', c.id,
                        'success',
                        CASE WHEN identity IS NOT NULL THEN c.patient_ref::text END);
    result := 'ok';
END
$$;

-- ---------- the scheduler's pass ----------

-- The signal kind of each stalled reason (API.md §10).
CREATE FUNCTION case_signal_kind(reason text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN reason LIKE 'treeknorm_%' THEN reason ELSE 'case_' || reason END
$$;

-- Raises and resolves the cases' signals: one kind per stalled reason. Incremental like the
-- consultations' pass: only the cases whose signal_check_at has come, those another process
-- holds skipped.
CREATE FUNCTION scheduler_case_signals(p_now timestamptz,
    OUT signals_raised bigint, OUT signals_resolved bigint, OUT notifications_created bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    c cases;
    reasons text[];
    s record;
BEGIN
    signals_raised := 0;
    signals_resolved := 0;
    notifications_created := 0;
    CASE scheduler_pass_begin('case_signals', p_now)
    WHEN 'busy' THEN
        RETURN;
    WHEN 'recheck' THEN
        UPDATE cases SET signal_check_at = p_now
         WHERE status IN ('registered', 'returned', 'in_progress')
            OR id IN (SELECT subject_id FROM signals
                       WHERE subject_type = 'case' AND resolved_at IS NULL);
    ELSE
        NULL;
    END CASE;
    FOR c IN SELECT * FROM cases WHERE signal_check_at <= p_now FOR UPDATE SKIP LOCKED LOOP
        reasons := case_stalled(c, p_now);
        s := signals_sync('case', c.id, c.region,
                '{case_intake_overdue,case_action_overdue,case_no_progress,treeknorm_intake,treeknorm_treatment}',
                ARRAY(SELECT case_signal_kind(r) FROM unnest(reasons) r),
                ARRAY(SELECT CASE r
                    WHEN 'intake_overdue' THEN 'registered ' || ts(c.registered_at)
                    WHEN 'action_overdue' THEN 'action due ' || c.next_action_due
                    WHEN 'no_progress' THEN 'last event ' || ts(c.last_event_at)
                    WHEN 'treeknorm_intake' THEN 'registered on ' || c.registered_on
                    ELSE 'intake on ' || c.intake_on END
                  FROM unnest(reasons) r),
                p_now);
        signals_raised := signals_raised + s.raised;
        signals_resolved := signals_resolved + s.resolved;
        UPDATE cases SET signal_check_at = case_next_mark(c, p_now) WHERE id = c.id;
    END LOOP;
END
$$;
INSERT INTO scheduler_passes (name, function) VALUES ('case_signals', 'scheduler_case_signals');
