-- Billing (API.md §11): the GGZ provider invoices the general practice for its consultants'
-- time, at the provider's hourly tariff; the practice pays from the consultation budget of its
-- POH-GGZ module. An export is a financial record: append-only, each consultation in at most
-- one export, ever, its lines a copy of what was billed (names, AGB codes, tariff) so that a
-- later rename or tariff change does not rewrite an invoice already sent.

-- A provider's hourly tariff from `valid_from` on; the one with the latest valid_from on or before
-- the day a consultation was answered prices it. Setting a date again replaces that tariff.
CREATE TABLE tariffs (
    provider_id   uuid NOT NULL REFERENCES organisations (id),
    valid_from    date NOT NULL,
    hourly_cents  int NOT NULL CHECK (hourly_cents BETWEEN 1 AND 1000000),
    set_at        timestamptz NOT NULL,
    set_by        uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (provider_id, valid_from)
);

CREATE TABLE budgets (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    year            int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    amount_cents    bigint NOT NULL CHECK (amount_cents BETWEEN 0 AND 100000000000),
    set_at          timestamptz NOT NULL,
    set_by          uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (organisation_id, year)
);

CREATE TABLE billing_exports (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    period_from     date NOT NULL,
    period_to       date NOT NULL,
    created_at      timestamptz NOT NULL,
    created_by      uuid NOT NULL REFERENCES users (id),
    line_count      int NOT NULL CHECK (line_count > 0),
    total_cents     bigint NOT NULL,
    CHECK (period_from <= period_to)
);
CREATE INDEX billing_exports_org ON billing_exports (organisation_id, created_at DESC, id DESC);
CREATE INDEX billing_exports_all ON billing_exports (created_at DESC, id DESC);

-- UNIQUE (consultation_id) is what makes "at most once, ever" hold, whatever runs at the same
-- time; billing_export also serialises one practice's exports so the loser finds nothing left
-- rather than an error. The export row is written after its lines (the deferred reference), so
-- that an export holds its totals from the start and is never updated.
CREATE TABLE billing_lines (
    export_id        uuid NOT NULL REFERENCES billing_exports (id) DEFERRABLE INITIALLY DEFERRED,
    consultation_id  uuid NOT NULL UNIQUE REFERENCES consultations (id),
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    answered_on      date NOT NULL,
    provider_id      uuid NOT NULL REFERENCES organisations (id),
    provider_name    text NOT NULL,
    provider_agb     text,
    consultant_id    uuid NOT NULL REFERENCES users (id),
    consultant_name  text NOT NULL,
    consultant_agb   text,
    mode             text NOT NULL,
    minutes          int NOT NULL,
    hourly_cents     int NOT NULL,
    amount_cents     bigint NOT NULL
);
CREATE INDEX billing_lines_export ON billing_lines (export_id, answered_on, consultation_id);
-- A budget's use: the practice's exported amounts by the day answered.
CREATE INDEX billing_lines_budget ON billing_lines (organisation_id, answered_on)
    INCLUDE (amount_cents);

CREATE TRIGGER billing_exports_append_only BEFORE UPDATE OR DELETE ON billing_exports
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER billing_exports_no_truncate BEFORE TRUNCATE ON billing_exports
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER billing_lines_append_only BEFORE UPDATE OR DELETE ON billing_lines
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER billing_lines_no_truncate BEFORE TRUNCATE ON billing_lines
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- The practice's answered consultations by the moment answered: what a period can bill.
CREATE INDEX consultations_billable ON consultations (organisation_id, answered_at)
    WHERE answered_at IS NOT NULL;

-- May `who` bill for practice `org`: its own billing users, and admins.
CREATE FUNCTION billing_may(who principal, org uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT who.role = 'admin' OR (who.role = 'billing' AND who.organisation_id = org)
$$;

-- Practice `org`'s answered consultations of [p_from, p_to] (days in the Netherlands) that no
-- export holds yet, as the lines an export would hold (export_id NULL), each priced at its
-- provider's tariff of the day it was answered (hourly_cents and amount_cents NULL when the
-- provider had none: reported, never priced at 0). round() of numeric rounds half away from
-- zero: 1.5 cents is 2. Made after billing_lines, whose row type it returns.
CREATE FUNCTION billing_candidates(org uuid, p_from date, p_to date)
RETURNS SETOF billing_lines LANGUAGE sql STABLE AS $$
    SELECT NULL::uuid, c.id, org, nl_date(c.answered_at), p.id, p.name, p.agb_code, u.id, u.name,
           u.agb_code, c.mode, c.answer_minutes, t.hourly_cents,
           round(c.answer_minutes * t.hourly_cents / 60.0)::bigint
      FROM consultations c
      JOIN users u ON u.id = c.consultant_id
      JOIN organisations p ON p.id = u.organisation_id
      LEFT JOIN LATERAL (SELECT t.hourly_cents FROM tariffs t
                          WHERE t.provider_id = p.id AND t.valid_from <= nl_date(c.answered_at)
                          ORDER BY t.valid_from DESC LIMIT 1) t ON true
     WHERE c.organisation_id = org
       AND c.answered_at >= nl_midnight(p_from) AND c.answered_at < nl_midnight(p_to + 1)
       AND NOT EXISTS (SELECT 1 FROM billing_lines l WHERE l.consultation_id = c.id)
$$;

-- The line JSON functions are STABLE, as jsonb_build_object is: a function declared more
-- strictly than its body is not inlined, and an export calls them 15,000 times (690-890 against
-- 520-600 ms for 5,000 lines).
CREATE FUNCTION billing_party_json(id uuid, name text, agb text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', id, 'name', name, 'agb_code', agb)
$$;

CREATE FUNCTION billing_line_json(l billing_lines) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('consultation_id', l.consultation_id, 'answered_on', l.answered_on,
        'provider', billing_party_json(l.provider_id, l.provider_name, l.provider_agb),
        'consultant', billing_party_json(l.consultant_id, l.consultant_name, l.consultant_agb),
        'mode', l.mode, 'minutes', l.minutes, 'hourly_cents', l.hourly_cents,
        'amount_cents', l.amount_cents)
$$;

-- A candidate line without a tariff (API.md: `unpriced`).
CREATE FUNCTION billing_unpriced_json(l billing_lines) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('consultation_id', l.consultation_id, 'answered_on', l.answered_on,
        'provider', billing_party_json(l.provider_id, l.provider_name, l.provider_agb),
        'minutes', l.minutes)
$$;

-- Practice `org`'s budget of `year`: used is what its exports billed for consultations answered
-- that year (amount and remaining NULL when no budget was set).
CREATE FUNCTION billing_budget_json(org uuid, year int) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    amount bigint := (SELECT b.amount_cents FROM budgets b
                       WHERE b.organisation_id = org AND b.year = billing_budget_json.year);
    used bigint := (SELECT coalesce(sum(l.amount_cents), 0) FROM billing_lines l
                     WHERE l.organisation_id = org
                       AND l.answered_on BETWEEN make_date(year, 1, 1) AND make_date(year, 12, 31));
BEGIN
    RETURN jsonb_build_object('year', year, 'amount_cents', amount, 'used_cents', used,
                              'remaining_cents', amount - used);
END
$$;

CREATE FUNCTION billing_export_summary_json(e billing_exports) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', e.id,
        'organisation', (SELECT jsonb_build_object('id', o.id, 'name', o.name)
                           FROM organisations o WHERE o.id = e.organisation_id),
        'from', e.period_from, 'to', e.period_to, 'created_at', ts(e.created_at),
        'line_count', e.line_count, 'total_cents', e.total_cents)
$$;

CREATE FUNCTION billing_export_json(e billing_exports) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN billing_export_summary_json(e) || jsonb_build_object(
        'lines', (SELECT coalesce(jsonb_agg(billing_line_json(l)
                                            ORDER BY l.answered_on, l.consultation_id), '[]')
                    FROM billing_lines l WHERE l.export_id = e.id),
        'budget', billing_budget_json(e.organisation_id, extract(year FROM e.period_from)::int));
END
$$;

-- CSV (API.md §11): `;`-separated, a header row, amounts in euros with a decimal comma. A field
-- with `;`, a quote or a line break is quoted; one that a spreadsheet would run as a formula
-- (starting with = + - @) gets a leading apostrophe.
CREATE FUNCTION csv_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN w ~ '[;"\r\n]' THEN '"' || replace(w, '"', '""') || '"' ELSE w END
      FROM (SELECT CASE WHEN v ~ '^[=+\-@]' THEN '''' || v ELSE coalesce(v, '') END AS w) x
$$;

CREATE FUNCTION csv_euros(cents bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT (cents / 100)::text || ',' || lpad((cents % 100)::text, 2, '0')
$$;

CREATE FUNCTION billing_export_csv(e billing_exports) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT 'consultation_id;answered_on;provider_name;provider_agb_code;consultant_name;'
           'consultant_agb_code;mode;minutes;hourly_eur;amount_eur' || E'\r\n'
           || coalesce(string_agg(concat_ws(';', l.consultation_id, l.answered_on,
                  csv_field(l.provider_name), csv_field(l.provider_agb),
                  csv_field(l.consultant_name), csv_field(l.consultant_agb), l.mode, l.minutes,
                  csv_euros(l.hourly_cents), csv_euros(l.amount_cents)) || E'\r\n',
                  '' ORDER BY l.answered_on, l.consultation_id), '')
      FROM billing_lines l WHERE l.export_id = e.id
$$;

-- The practice `org` as `who` may bill for it: 'ok', 'not_found' (no such practice, or not one
-- `who` may see), 'not_practice' (an admin naming another kind of organisation).
CREATE FUNCTION billing_practice_check(who principal, org uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN o.id IS NULL OR NOT billing_may(who, org) THEN 'not_found'
                WHEN o.kind <> 'general_practice' THEN 'not_practice'
                ELSE 'ok' END
      FROM (SELECT 1) one LEFT JOIN organisations o ON o.id = org
$$;

-- GET /v1/billing/preview: what an export of the period would hold now, and what it could not
-- price. Returns (check, body).
CREATE FUNCTION billing_preview(who principal, org uuid, p_from date, p_to date,
                                OUT outcome text, OUT body jsonb)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    outcome := billing_practice_check(who, org);
    IF outcome <> 'ok' THEN
        RETURN;
    END IF;
    SELECT jsonb_build_object('organisation_id', org, 'from', p_from, 'to', p_to,
               'lines', coalesce(jsonb_agg(billing_line_json(b) ORDER BY b.answered_on,
                   b.consultation_id) FILTER (WHERE b.hourly_cents IS NOT NULL), '[]'),
               'total_cents', coalesce(sum(b.amount_cents), 0),
               'unpriced', coalesce(jsonb_agg(billing_unpriced_json(b) ORDER BY b.answered_on,
                   b.consultation_id) FILTER (WHERE b.hourly_cents IS NULL), '[]'),
               'budget', billing_budget_json(org, extract(year FROM p_from)::int))
      INTO body FROM billing_candidates(org, p_from, p_to) b;
END
$$;

-- POST /v1/billing/exports: exports the period's priced, not yet exported consultations of
-- `org`, and audits it. outcome 'ok' (body the export), 'empty' (nothing left to export; body
-- counts what lacks a tariff), or a billing_practice_check outcome. Exports of one practice
-- take turns (an advisory lock until commit), so a second one at the same moment finds what
-- the first left; UNIQUE (consultation_id) holds even without it.
CREATE FUNCTION billing_export(who principal, org uuid, p_from date, p_to date,
                               at timestamptz, ip text, request_id text,
                               OUT outcome text, OUT body jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    eid uuid := gen_random_uuid();
    n int;
    total bigint;
    unpriced jsonb;
    e billing_exports;
BEGIN
    outcome := billing_practice_check(who, org);
    IF outcome <> 'ok' THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(7515, hashtext(org::text));
    -- One read of the candidates: the priced ones become lines, the others are reported.
    WITH candidates AS MATERIALIZED (SELECT * FROM billing_candidates(org, p_from, p_to)),
    added AS (
        INSERT INTO billing_lines
        SELECT eid, b.consultation_id, b.organisation_id, b.answered_on, b.provider_id,
               b.provider_name, b.provider_agb, b.consultant_id, b.consultant_name,
               b.consultant_agb, b.mode, b.minutes, b.hourly_cents, b.amount_cents
          FROM candidates b
         WHERE b.hourly_cents IS NOT NULL
        ON CONFLICT (consultation_id) DO NOTHING
        RETURNING amount_cents)
    SELECT (SELECT count(*) FROM added), (SELECT sum(amount_cents) FROM added),
           (SELECT coalesce(jsonb_agg(billing_unpriced_json(b) ORDER BY b.answered_on,
                                      b.consultation_id), '[]')
              FROM candidates b WHERE b.hourly_cents IS NULL)
      INTO n, total, unpriced;
    IF n = 0 THEN
        outcome := 'empty';
        body := jsonb_build_object('unpriced', jsonb_array_length(unpriced));
        RETURN;
    END IF;
    INSERT INTO billing_exports (id, organisation_id, period_from, period_to, created_at,
                                 created_by, line_count, total_cents)
    VALUES (eid, org, p_from, p_to, at, who.id, n, total) RETURNING * INTO e;
    PERFORM audit_write(at, who.id, ip, request_id, 'billing.export_create', 'billing_export',
                        eid, 'success');
    body := billing_export_json(e) || jsonb_build_object('unpriced', unpriced);
END
$$;

-- The exports `who` may list and read: an admin all, a billing user their practice's.
CREATE FUNCTION billing_exports_visible(who principal) RETURNS SETOF billing_exports
LANGUAGE sql STABLE AS $$
    SELECT e.* FROM billing_exports e WHERE who.role = 'admin'
    UNION ALL
    SELECT e.* FROM billing_exports e
     WHERE who.role = 'billing' AND e.organisation_id = who.organisation_id
$$;

-- PUT /v1/organisations/{id}/tariff (admin): outcome 'ok', 'not_found', or 'not_provider'.
CREATE FUNCTION tariff_set(who principal, provider uuid, p_hourly int, p_from date,
                           at timestamptz, ip text, request_id text,
                           OUT outcome text, OUT body jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    kind text := (SELECT o.kind FROM organisations o WHERE o.id = provider);
BEGIN
    IF kind IS NULL THEN
        outcome := 'not_found';
        RETURN;
    ELSIF kind <> 'mental_health_provider' THEN
        outcome := 'not_provider';
        RETURN;
    END IF;
    INSERT INTO tariffs (provider_id, valid_from, hourly_cents, set_at, set_by)
    VALUES (provider, p_from, p_hourly, at, who.id)
    ON CONFLICT (provider_id, valid_from)
    DO UPDATE SET hourly_cents = EXCLUDED.hourly_cents, set_at = EXCLUDED.set_at,
                  set_by = EXCLUDED.set_by;
    PERFORM audit_write(at, who.id, ip, request_id, 'billing.tariff_set', 'organisation',
                        provider, 'success');
    outcome := 'ok';
    body := jsonb_build_object('organisation_id', provider, 'hourly_cents', p_hourly,
        'valid_from', p_from,
        'history', (SELECT jsonb_agg(jsonb_build_object('valid_from', t.valid_from,
                                                        'hourly_cents', t.hourly_cents)
                                     ORDER BY t.valid_from DESC)
                      FROM tariffs t WHERE t.provider_id = provider));
END
$$;

-- PUT /v1/organisations/{id}/budgets/{year} (admin, or billing of that practice): outcome as
-- billing_practice_check; body the budget with its use.
CREATE FUNCTION budget_set(who principal, org uuid, p_year int, p_amount bigint,
                           at timestamptz, ip text, request_id text,
                           OUT outcome text, OUT body jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    outcome := billing_practice_check(who, org);
    IF outcome <> 'ok' THEN
        RETURN;
    END IF;
    INSERT INTO budgets (organisation_id, year, amount_cents, set_at, set_by)
    VALUES (org, p_year, p_amount, at, who.id)
    ON CONFLICT (organisation_id, year)
    DO UPDATE SET amount_cents = EXCLUDED.amount_cents, set_at = EXCLUDED.set_at,
                  set_by = EXCLUDED.set_by;
    PERFORM audit_write(at, who.id, ip, request_id, 'billing.budget_set', 'organisation', org,
                        'success');
    body := billing_budget_json(org, p_year);
END
$$;
