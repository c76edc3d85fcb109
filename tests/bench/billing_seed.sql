-- Billing benchmark data (tests/bench/billing.sh): general practices that each have
-- :per_practice (5,000) billable consultations answered in one calendar year, :year, among
-- :background (300,000) consultations of other practices, so that an export reads one
-- practice-year out of a table where it is a small part.
--
--   psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -v admin=UUID -v year=YYYY
--        [-v practices=11] [-v per_practice=5000] [-v background=300000]
--        -f tests/bench/billing_seed.sql
--
-- Region bench-billing: 3 mental-health providers with 4 consultants each (AGB codes on both),
-- their hourly tariffs from :year - 1 on, and one change in the middle of :year (provider 1, from
-- 1 July); :practices measured practices (a gp each, a budget for :year) and 60 other practices.
-- Each measured practice also has 30 % as many answers the year before and in the year after (up
-- to now), which an export of :year must leave out, and 5 % declined or withdrawn questions.
-- The other practices' consultations are spread from 1 January of :year - 1 to now. All rows go
-- in in the order they were submitted, so one practice's year lies scattered over the table's
-- pages as it would in production, not in a block of its own. :admin (the bench admin) set the
-- tariffs and budgets.
--
-- Deterministic: every choice is a hash of the row number. Loaded with triggers and foreign-key
-- checks off (consultations have no trigger of their own; the generated response_hours is
-- computed all the same), checked at the end. Other benchmarks' data may be there (their
-- regions and organisations are apart).
-- Prints one line per measured practice: "K|ID|LINES|TOTAL_CENTS", what an export of :year
-- must hold, computed from the tariff schedule below (not with billing_candidates).

\if :{?practices}
\else
\set practices 11
\endif
\if :{?per_practice}
\else
\set per_practice 5000
\endif
\if :{?background}
\else
\set background 300000
\endif

BEGIN;

-- h(i, salt): a deterministic non-negative pseudo-random integer; u(i, salt) in [0, 1).
CREATE FUNCTION pg_temp.h(i bigint, salt int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT hashint8(i * 7919 + salt) & 2147483647
$$;
CREATE FUNCTION pg_temp.u(i bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT (hashint8(i * 7919 + salt) & 2147483647)::float8 / 2147483648.0
$$;
CREATE FUNCTION pg_temp.org(kind text, k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT md5('bench-billing-org-' || kind || '-' || k)::uuid
$$;
CREATE FUNCTION pg_temp.usr(kind text, k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT md5('bench-billing-user-' || kind || '-' || k)::uuid
$$;
-- The tariff schedule, once: hourly cents of provider `p` on day `d` (the rows of `tariffs`
-- below say the same), for the expected totals.
CREATE FUNCTION pg_temp.tariff(p int, d date, y int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 1 THEN CASE WHEN d >= make_date(y, 7, 1) THEN 9600 ELSE 9000 END
                  WHEN 2 THEN 10500 ELSE 8800 END
$$;

-- ---------- organisations, users, tariffs, budgets ----------

INSERT INTO organisations (id, name, kind, region, agb_code, created_at)
SELECT pg_temp.org('provider', k), 'GGZ Facturatie ' || k, 'mental_health_provider',
       'bench-billing', '2290000' || k, now() - interval '4 years'
  FROM generate_series(1, 3) k
UNION ALL
SELECT pg_temp.org('practice', k), 'Huisartsenpraktijk Facturatie ' || k, 'general_practice',
       'bench-billing', lpad((1100000 + k)::text, 8, '0'), now() - interval '4 years'
  FROM generate_series(1, :practices) k
UNION ALL
SELECT pg_temp.org('other', k), 'Huisartsenpraktijk Elders ' || k, 'general_practice',
       'bench-billing', lpad((1200000 + k)::text, 8, '0'), now() - interval '4 years'
  FROM generate_series(1, 60) k;
-- password_hash is not an argon2id hash: these users cannot sign in, and need not.
INSERT INTO users (id, email, name, role, organisation_id, password_hash, agb_code, created_at)
SELECT pg_temp.usr('consultant', k), format('consultant-%s@billing.bench.example', k),
       'Consulent Facturatie ' || k, 'consultant', pg_temp.org('provider', 1 + (k - 1) / 4),
       'not-a-hash', lpad((3300000 + k)::text, 8, '0'), now() - interval '4 years'
  FROM generate_series(1, 12) k
UNION ALL
SELECT pg_temp.usr('gp', k), format('gp-%s@billing.bench.example', k), 'Huisarts Facturatie ' || k,
       'gp', pg_temp.org('practice', k), 'not-a-hash', NULL, now() - interval '4 years'
  FROM generate_series(1, :practices) k
UNION ALL
SELECT pg_temp.usr('gp-other', k), format('gp-other-%s@billing.bench.example', k),
       'Huisarts Elders ' || k, 'gp', pg_temp.org('other', k), 'not-a-hash', NULL,
       now() - interval '4 years'
  FROM generate_series(1, 60) k;
INSERT INTO tariffs (provider_id, valid_from, hourly_cents, set_at, set_by)
SELECT pg_temp.org('provider', p), make_date(:year - 1, 1, 1),
       pg_temp.tariff(p, make_date(:year - 1, 1, 1), :year), now(), :'admin'::uuid
  FROM generate_series(1, 3) p
UNION ALL
SELECT pg_temp.org('provider', 1), make_date(:year, 7, 1),
       pg_temp.tariff(1, make_date(:year, 7, 1), :year), now(), :'admin'::uuid;
INSERT INTO budgets (organisation_id, year, amount_cents, set_at, set_by)
SELECT pg_temp.org('practice', k), :year, 50000000, now(), :'admin'::uuid
  FROM generate_series(1, :practices) k;

SET LOCAL session_replication_role = replica;   -- no foreign-key checks while loading

-- ---------- consultations ----------

-- Every choice about row i, in one place. kind: bill (answered in :year, what an export takes),
-- prev / next (answered the year before / after), open (not answered), other (other practices).
CREATE TEMP TABLE bb AS
WITH yr AS (
    SELECT nl_midnight(make_date(:year - 1, 1, 1)) AS y0, nl_midnight(make_date(:year, 1, 1)) AS y1,
           nl_midnight(make_date(:year + 1, 1, 1)) AS y2, now() - interval '1 day' AS y3
), rows AS (
    -- the measured practices: i = k * 1,000,000 + n
    SELECT k::bigint * 1000000 + n AS i, k AS practice, true AS measured,
           CASE WHEN n <= :per_practice THEN 'bill'
                WHEN n <= :per_practice * 13 / 10 THEN 'prev'
                WHEN n <= :per_practice * 16 / 10 THEN 'next'
                ELSE 'open' END AS kind
      FROM generate_series(1, :practices) k, generate_series(1, :per_practice * 165 / 100) n
    UNION ALL
    SELECT 2000000000 + n, 1 + pg_temp.h(n, 1) % 60, false, 'other'
      FROM generate_series(1, :background) n
), t AS (
    SELECT r.*, pg_temp.u(r.i, 2) AS ut,
           1 + pg_temp.h(r.i, 3) % 12 AS consultant,
           (15 + 5 * (pg_temp.h(r.i, 4) % 16))::int AS minutes,   -- 15 to 90
           -- time from submission to answer: 2 to 120 hours
           (2 + 118 * pg_temp.u(r.i, 5) ^ 2) * interval '1 hour' AS wait,
           pg_temp.u(r.i, 6) AS us
      FROM rows r
), a AS (
    SELECT t.*,
           CASE t.kind WHEN 'bill' THEN y.y1 + t.ut * (y.y2 - y.y1)
                       WHEN 'prev' THEN y.y0 + t.ut * (y.y1 - y.y0)
                       WHEN 'next' THEN y.y2 + t.ut * (y.y3 - y.y2)
                       WHEN 'open' THEN NULL
                       ELSE CASE WHEN t.us < 0.85 THEN y.y0 + t.ut * (y.y3 - y.y0) END END AS answered_at,
           CASE WHEN t.kind = 'open' THEN y.y1 + t.ut * (y.y2 - y.y1)
                WHEN t.kind = 'other' AND t.us >= 0.85 THEN y.y0 + t.ut * (y.y3 - y.y0) END AS unanswered_at
      FROM t, yr y
)
SELECT a.i, a.practice, a.measured, a.kind, a.consultant, a.minutes, a.answered_at,
       coalesce(a.answered_at - a.wait, a.unanswered_at) AS submitted_at,
       CASE WHEN a.answered_at IS NULL THEN CASE WHEN a.us < 0.93 THEN 'declined' ELSE 'withdrawn' END
            WHEN a.answered_at + interval '14 days' < now() AND pg_temp.u(a.i, 7) < 0.7 THEN 'closed'
            ELSE 'answered' END AS status,
       pg_temp.u(a.i, 8) AS um
  FROM a;

INSERT INTO consultations (id, status, subject, question, patient_mode, patient_age, patient_sex,
    requester_id, organisation_id, region, consultant_id, mode, urgency, referral_contemplated,
    submitted_at, due_at, accepted_at, answered_at, closed_at, answer_advice,
    answer_recommendation, answer_minutes)
SELECT md5('bench-billing-consultation-' || b.i)::uuid, b.status,
       (ARRAY['Medicatie bij terugkerende depressie', 'Paniekklachten, verwijzen of zelf behandelen?',
              'Alcoholgebruik en slaapproblemen', 'Somberheid bij chronische pijn'])[1 + pg_temp.h(b.i, 9) % 4],
       'Graag uw advies over de volgende stap: behandeling in de huisartsenpraktijk met consultatie, of verwijzing naar de basis-ggz of de specialistische ggz?',
       'anonymous', 18 + pg_temp.h(b.i, 10) % 70, (ARRAY['f', 'm', 'f', 'm', 'x'])[1 + pg_temp.h(b.i, 11) % 5],
       CASE WHEN b.measured THEN pg_temp.usr('gp', b.practice) ELSE pg_temp.usr('gp-other', b.practice) END,
       CASE WHEN b.measured THEN pg_temp.org('practice', b.practice) ELSE pg_temp.org('other', b.practice) END,
       'bench-billing', pg_temp.usr('consultant', b.consultant),
       CASE WHEN b.um < 0.5 THEN 'digital' WHEN b.um < 0.8 THEN 'phone' ELSE 'video' END,
       'routine', pg_temp.u(b.i, 12) < 0.4, b.submitted_at, b.submitted_at + interval '3 days',
       CASE WHEN b.answered_at IS NOT NULL THEN b.submitted_at + (b.answered_at - b.submitted_at) / 3 END,
       b.answered_at,
       CASE WHEN b.status = 'closed' THEN b.answered_at + interval '14 days' END,
       CASE WHEN b.answered_at IS NOT NULL THEN 'Advies besproken; bij onvoldoende effect opnieuw consulteren.' END,
       CASE WHEN b.answered_at IS NOT NULL THEN 'advice_only' END,
       CASE WHEN b.answered_at IS NOT NULL THEN b.minutes END
  FROM bb b
 ORDER BY b.submitted_at;

SET LOCAL session_replication_role = origin;

-- ---------- checks: what the foreign keys would have kept, and the year's boundaries ----------

CREATE TEMP TABLE bench_bad AS
SELECT 'consultation ' || k.id AS what FROM consultations k
  LEFT JOIN users q ON q.id = k.requester_id AND q.organisation_id = k.organisation_id
  LEFT JOIN users s ON s.id = k.consultant_id
 WHERE k.region = 'bench-billing' AND (q.id IS NULL OR s.id IS NULL)
UNION ALL
SELECT 'row ' || i FROM bb
 WHERE (kind = 'bill') <> (answered_at >= nl_midnight(make_date(:year, 1, 1))
                           AND answered_at < nl_midnight(make_date(:year + 1, 1, 1)))
   AND measured AND answered_at IS NOT NULL;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM bench_bad) THEN
        RAISE EXCEPTION 'billing_seed.sql: % rows disagree with their users or the year, e.g. %',
            (SELECT count(*) FROM bench_bad), (SELECT what FROM bench_bad LIMIT 1);
    END IF;
END
$$;

SELECT b.practice, pg_temp.org('practice', b.practice), count(*),
       sum(round(b.minutes * pg_temp.tariff(1 + (b.consultant - 1) / 4, nl_date(b.answered_at), :year) / 60.0))
  FROM bb b WHERE b.kind = 'bill'
 GROUP BY b.practice ORDER BY b.practice;
COMMIT;

VACUUM ANALYZE organisations, users, tariffs, budgets, consultations;
