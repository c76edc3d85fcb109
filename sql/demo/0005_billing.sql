-- Demo billing: the providers' hourly tariffs (one of them changed this year), the practices'
-- POH-GGZ consultation budgets of this year and last, and De Linde's exports of the months two to
-- four months back, so the demo billing user (administratie@demo.overleg.nl) signing in sees a
-- budget in use, past exports, and recent answers still to export.
--
-- Amounts invented. Idempotent: tariffs and budgets are upserted; an export of a month already
-- exported finds nothing left and writes nothing.

BEGIN;

INSERT INTO tariffs (provider_id, valid_from, hourly_cents, set_at, set_by) VALUES
 ('00000000-0000-4000-a000-000000000003', '2024-01-01', 14800, now(), '00000000-0000-4000-b000-000000000008'),
 ('00000000-0000-4000-a000-000000000003', make_date(extract(year FROM now())::int, 7, 1), 15200, now(),
  '00000000-0000-4000-b000-000000000008'),
 ('00000000-0000-4000-a000-000000000009', '2024-01-01', 12500, now(), '00000000-0000-4000-b000-000000000008'),
 ('00000000-0000-4000-a000-000000000010', '2025-01-01', 13950, now(), '00000000-0000-4000-b000-000000000008')
ON CONFLICT (provider_id, valid_from) DO UPDATE SET hourly_cents = EXCLUDED.hourly_cents;

INSERT INTO budgets (organisation_id, year, amount_cents, set_at, set_by)
SELECT o, y, amount, now(), '00000000-0000-4000-b000-000000000008'
  FROM (VALUES ('00000000-0000-4000-a000-000000000001'::uuid, 0, 2800000),
               ('00000000-0000-4000-a000-000000000001'::uuid, -1, 850000),
               ('00000000-0000-4000-a000-000000000002'::uuid, 0, 600000)) v(o, back, amount),
       LATERAL (SELECT extract(year FROM now())::int + back AS y) x
ON CONFLICT (organisation_id, year) DO UPDATE SET amount_cents = EXCLUDED.amount_cents;

-- De Linde's administration exported each month a few days after it ended.
DO $$
DECLARE
    who principal := (SELECT ROW(u.id, u.role, u.organisation_id, o.region)::principal
                        FROM users u JOIN organisations o ON o.id = u.organisation_id
                       WHERE u.email = 'administratie@demo.overleg.nl');
    m date;
BEGIN
    FOR back IN REVERSE 4..2 LOOP
        m := (date_trunc('month', now() AT TIME ZONE 'Europe/Amsterdam') - make_interval(months => back))::date;
        PERFORM billing_export(who, who.organisation_id, m, (m + interval '1 month - 1 day')::date,
                               (m + interval '1 month 3 days 10 hours')::timestamptz,
                               '127.0.0.1', 'demo-billing-' || m);
    END LOOP;
END
$$;

COMMIT;
