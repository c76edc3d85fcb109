-- If-Match may name several ETags: the transition gets every version named (NULL for "*" or no
-- header) and checks them under its row lock. Otherwise as in 0005.
DROP FUNCTION consultation_transition(timestamptz, uuid, text, text, text, uuid, text, uuid,
                                      bigint, text, jsonb);

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

