-- Escalation-case benchmark data (tests/bench/cases.sh): 200,000 cases and 1,000,000
-- consultations over 30 regions, three years of work in a steady state: the scheduler has kept
-- up, so every subject's signals are raised and its signal_check_at is its next mark (mostly
-- ahead, or NULL), and only a few subjects, those users changed since the last pass, are due now.
--
--   psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 [-v cases=200000]
--        [-v consultations=1000000] [-v due_cases=200] [-v due_consultations=200]
--        -f tests/bench/cases_seed.sql
--
-- Per region: 10 general practices (a gp each), 3 mental-health providers (2 consultants each),
-- 2 municipalities, a social team and the region's Zorgconsul (a coordinator who cannot sign in:
-- cases.sh makes the one that signs in, through the API); 4 insurers for the whole country.
-- Regions differ in size (weights 0.6 to 1.4; the benchmark region is one of the largest). Deterministic: every choice is a hash of the row
-- number, so every run measures the same data (times are relative to now()).
--
-- Cases: registered over three years; the status follows the age (new ones wait for intake, most
-- from the last half year are in progress, older ones resolved or closed); levels 1-4 at 55, 30,
-- 11 and 4 %; 2-5 parties; Treeknorm dates for 70 %; an open action for 40 % of those in
-- progress; a timeline of events that agrees with the row. Consultations: submitted over three
-- years, three days to answer, 1 % left open past their due date.
--
-- Speed: the organisations and users go through their triggers (a few hundred rows); the bulk
-- is loaded with triggers and foreign-key checks off (session_replication_role = replica), and
-- checked at the end. The signals and the next marks are computed with the schema's own
-- functions (case_stalled, case_next_mark). Runs on a migrated database, as a superuser; other
-- benchmarks' data may be there (their regions and organisations are apart).
-- Prints one line: the benchmark region, its Zorgconsul organisation's id.

\if :{?cases}
\else
\set cases 200000
\endif
\if :{?consultations}
\else
\set consultations 1000000
\endif
\if :{?due_cases}
\else
\set due_cases 200
\endif
\if :{?due_consultations}
\else
\set due_consultations 200
\endif

BEGIN;
SELECT set_config('bench.now', now()::text, true) \g /dev/null

-- h(i, salt): a deterministic non-negative pseudo-random integer; u(i, salt) in [0, 1).
CREATE FUNCTION pg_temp.h(i int, salt int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT hashint8(i::bigint * 7919 + salt) & 2147483647
$$;
CREATE FUNCTION pg_temp.u(i int, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT (hashint8(i::bigint * 7919 + salt) & 2147483647)::float8 / 2147483648.0
$$;
CREATE FUNCTION pg_temp.pick(arr text[], i int, salt int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT arr[1 + pg_temp.h(i, salt) % cardinality(arr)]
$$;
-- Ids of the generated organisations and users: derived, so no lookups are needed.
CREATE FUNCTION pg_temp.org(region int, kind text, k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT md5('bench-cases-org-' || region || '-' || kind || '-' || k)::uuid
$$;
CREATE FUNCTION pg_temp.usr(region int, kind text, k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
    SELECT md5('bench-cases-user-' || region || '-' || kind || '-' || k)::uuid
$$;

-- 30 regions (the directory benchmark's), weighted roughly by population; `hi` cuts [0, 1) by
-- weight: a draw u falls in region width_bucket(u, his) + 1.
CREATE TEMP TABLE bench_regions (idx int PRIMARY KEY, slug text NOT NULL, place text NOT NULL,
                                 weight float8 NOT NULL, hi float8);
INSERT INTO bench_regions (idx, slug, place, weight) VALUES
 (1, 'groningen', 'Groningen', 1.0), (2, 'friesland', 'Leeuwarden', 1.0), (3, 'drenthe', 'Assen', 0.8),
 (4, 'zwolle', 'Zwolle', 0.8), (5, 'twente', 'Enschede', 1.0), (6, 'midden-ijssel', 'Deventer', 0.6),
 (7, 'apeldoorn-zutphen', 'Apeldoorn', 0.7), (8, 'arnhem', 'Arnhem', 1.0),
 (9, 'nijmegen', 'Nijmegen', 0.9), (10, 'flevoland', 'Almere', 0.7), (11, 'utrecht', 'Utrecht', 1.4),
 (12, 't-gooi', 'Hilversum', 0.6), (13, 'amsterdam', 'Amsterdam', 1.4),
 (14, 'zaanstreek-waterland', 'Zaandam', 0.6), (15, 'noord-holland-noord', 'Alkmaar', 1.0),
 (16, 'kennemerland', 'Haarlem', 0.9), (17, 'amstelland-meerlanden', 'Hoofddorp', 0.8),
 (18, 'zuid-holland-noord', 'Leiden', 0.9), (19, 'haaglanden', 'Den Haag', 1.3),
 (20, 'delft-westland-oostland', 'Delft', 0.7), (21, 'midden-holland', 'Gouda', 0.6),
 (22, 'rotterdam', 'Rotterdam', 1.4), (23, 'waardenland', 'Dordrecht', 0.7),
 (24, 'zeeland', 'Middelburg', 0.7), (25, 'west-brabant', 'Breda', 1.0),
 (26, 'midden-brabant', 'Tilburg', 0.9), (27, 'noordoost-brabant', 'Den Bosch', 1.0),
 (28, 'zuidoost-brabant', 'Eindhoven', 1.1), (29, 'noord-midden-limburg', 'Venlo', 0.8),
 (30, 'zuid-limburg', 'Maastricht', 1.0);
UPDATE bench_regions r SET hi = c.hi
  FROM (SELECT idx, sum(weight) OVER (ORDER BY idx) / sum(weight) OVER () AS hi FROM bench_regions) c
 WHERE c.idx = r.idx;
UPDATE bench_regions SET hi = 'infinity' WHERE idx = 30;   -- no rounding leaves a draw out
SELECT array_agg(hi ORDER BY idx) AS his FROM bench_regions WHERE idx < 30 \gset
-- The benchmark region: one of the largest (about 5 % of everything).
CREATE TEMP TABLE bench_region AS SELECT 22 AS idx;

-- ---------- organisations and users, through their triggers ----------

INSERT INTO organisations (id, name, kind, region, agb_code, created_at)
SELECT pg_temp.org(r.idx, o.kind, k), o.prefix || ' ' || r.place || ' ' || k, o.kind, r.slug,
       NULL, now() - interval '4 years'
  FROM bench_regions r
 CROSS JOIN (VALUES ('general_practice', 'Huisartsenpraktijk', 10),
                    ('mental_health_provider', 'GGZ', 3),
                    ('municipality', 'Gemeente', 2),
                    ('social_team', 'Wijkteam', 1),
                    ('other', 'Zorgconsul', 1)) o(kind, prefix, n)
 CROSS JOIN LATERAL generate_series(1, o.n) k;
INSERT INTO organisations (id, name, kind, region, created_at)
SELECT pg_temp.org(0, 'insurer', k), 'Zorgverzekeraar ' || (ARRAY['Noord', 'Oost', 'Zuid', 'West'])[k],
       'insurer', 'landelijk', now() - interval '4 years'
  FROM generate_series(1, 4) k;
-- password_hash is not an argon2id hash: these users cannot sign in, and need not.
INSERT INTO users (id, email, name, role, organisation_id, password_hash, created_at)
SELECT pg_temp.usr(r.idx, u.kind, k), format('%s-%s-%s@cases.bench.example', u.kind, r.idx, k),
       format('%s %s %s', u.label, r.place, k), u.role,
       pg_temp.org(r.idx, u.org_kind, CASE u.kind WHEN 'consultant' THEN 1 + (k - 1) / 2 ELSE k END),
       'not-a-hash', now() - interval '4 years'
  FROM bench_regions r
 CROSS JOIN (VALUES ('gp', 'Huisarts', 'gp', 'general_practice', 10),
                    ('consultant', 'Consulent', 'consultant', 'mental_health_provider', 6),
                    ('coordinator', 'Coördinator', 'coordinator', 'other', 1)) u(kind, label, role, org_kind, n)
 CROSS JOIN LATERAL generate_series(1, u.n) k;

-- The ids of each region, for the bulk below (a join and a subscript instead of an md5 a row).
CREATE TEMP TABLE bench_ids AS
SELECT r.idx,
       ARRAY(SELECT pg_temp.org(r.idx, 'general_practice', k) FROM generate_series(1, 10) k) AS practices,
       ARRAY(SELECT pg_temp.usr(r.idx, 'gp', k) FROM generate_series(1, 10) k) AS gps,
       ARRAY(SELECT pg_temp.org(r.idx, 'mental_health_provider', k) FROM generate_series(1, 3) k) AS ggzs,
       ARRAY(SELECT pg_temp.usr(r.idx, 'consultant', k) FROM generate_series(1, 6) k) AS consultants,
       ARRAY(SELECT pg_temp.org(r.idx, 'municipality', k) FROM generate_series(1, 2) k) AS municipalities,
       pg_temp.org(r.idx, 'social_team', 1) AS social_team,
       pg_temp.org(0, 'insurer', 1 + r.idx % 4) AS insurer,
       pg_temp.org(r.idx, 'other', 1) AS zorgconsul,
       pg_temp.usr(r.idx, 'coordinator', 1) AS coordinator
  FROM bench_regions r;

SET LOCAL session_replication_role = replica;   -- no triggers (nor FK checks) while loading

-- ---------- cases ----------

-- Every choice about case n, in one place; the tables are filled from it. Each step is
-- materialized: inlined, the later columns would repeat the earlier ones' expressions.
CREATE TEMP TABLE bc AS
WITH base AS MATERIALIZED (
    SELECT n, r.slug AS region, i.*,
           1095 * pg_temp.u(n, 1) AS age,             -- days since registration
           pg_temp.u(n, 2) AS u_status,
           1 + pg_temp.h(n, 3) % 10 AS practice,      -- the general practice involved
           1 + pg_temp.h(n, 4) % 3 AS ggz,            -- the mental-health provider involved
           pg_temp.u(n, 5) AS u_submitter
      FROM (SELECT n, width_bucket(pg_temp.u(n, 0), :'his'::float8[]) + 1 AS idx
              FROM generate_series(1, :cases) n) g
      JOIN bench_regions r USING (idx) JOIN bench_ids i USING (idx)
), st AS MATERIALIZED (
    SELECT b.*, now() - b.age * interval '1 day' AS created_at,
           CASE WHEN b.age < 7 THEN CASE WHEN u_status < 0.70 THEN 'registered'
                                         WHEN u_status < 0.80 THEN 'returned' ELSE 'in_progress' END
                WHEN b.age < 30 THEN CASE WHEN u_status < 0.08 THEN 'registered'
                                          WHEN u_status < 0.12 THEN 'returned'
                                          WHEN u_status < 0.95 THEN 'in_progress' ELSE 'resolved' END
                WHEN b.age < 180 THEN CASE WHEN u_status < 0.005 THEN 'registered'
                                           WHEN u_status < 0.01 THEN 'returned'
                                           WHEN u_status < 0.45 THEN 'in_progress'
                                           WHEN u_status < 0.70 THEN 'resolved' ELSE 'closed' END
                ELSE CASE WHEN u_status < 0.03 THEN 'in_progress' WHEN u_status < 0.07 THEN 'resolved'
                          ELSE 'closed' END END AS status,
           CASE WHEN u_submitter < 0.75 THEN 'gp' WHEN u_submitter < 0.95 THEN 'consultant'
                ELSE 'coordinator' END AS submitter_kind
      FROM base b
), t1 AS MATERIALIZED (
    SELECT s.*,
           CASE WHEN s.status NOT IN ('registered', 'returned')
                THEN s.created_at + least(s.age * 0.5, 1 + 6 * pg_temp.u(n, 6)) * interval '1 day'
           END AS intake_at
      FROM st s
), t2 AS MATERIALIZED (
    SELECT t.*,
           CASE WHEN t.status IN ('resolved', 'closed')
                THEN t.intake_at + least((now() - t.intake_at) * 0.8,
                                         (10 + 100 * pg_temp.u(n, 7)) * interval '1 day') END AS resolved_at
      FROM t1 t
), t3 AS MATERIALIZED (
    SELECT t.*,
           CASE WHEN t.status = 'closed'
                THEN t.resolved_at + least((now() - t.resolved_at) * 0.9,
                                           (14 + 60 * pg_temp.u(n, 8)) * interval '1 day') END AS closed_at,
           -- levels: 1-4 after intake; now and then one step back down
           CASE WHEN t.status IN ('registered', 'returned') THEN 0
                WHEN pg_temp.u(n, 9) < 0.55 THEN 1 WHEN pg_temp.u(n, 9) < 0.85 THEN 2
                WHEN pg_temp.u(n, 9) < 0.96 THEN 3 ELSE 4 END AS max_level,
           pg_temp.u(n, 10) < 0.08 AS stepped_down
      FROM t2 t
)
SELECT t.n, t.idx AS region_idx, t.region, t.age, t.created_at, t.status, t.submitter_kind,
       t.intake_at, t.resolved_at, t.closed_at, t.max_level, t.coordinator,
       CASE WHEN t.stepped_down AND t.max_level >= 2 THEN t.max_level - 1 ELSE t.max_level END AS level,
       CASE t.status
           WHEN 'registered' THEN t.created_at
           WHEN 'returned' THEN t.created_at + least(t.age * 0.5, 2) * interval '1 day'
           -- active cases mostly had something happen lately: skewed towards now
           WHEN 'in_progress' THEN now() - (now() - t.intake_at) * pg_temp.u(n, 11) ^ 3
           WHEN 'resolved' THEN t.resolved_at
           ELSE t.closed_at END AS last_event_at,
       CASE t.submitter_kind WHEN 'gp' THEN t.practices[t.practice]
            WHEN 'consultant' THEN t.ggzs[t.ggz] ELSE t.zorgconsul END AS org_id,
       CASE t.submitter_kind WHEN 'gp' THEN t.gps[t.practice]
            WHEN 'consultant' THEN t.consultants[2 * t.ggz - pg_temp.h(n, 12) % 2]
            ELSE t.coordinator END AS submitter_id,
       md5('bench-case-' || n)::uuid AS id,
       -- the parties: the practice, the provider, then a municipality, the social team, an insurer
       ARRAY[t.practices[t.practice], t.ggzs[t.ggz]]
       || CASE WHEN pg_temp.u(n, 13) < 0.6 THEN ARRAY[t.municipalities[1 + pg_temp.h(n, 14) % 2]] ELSE '{}' END
       || CASE WHEN pg_temp.u(n, 15) < 0.5 THEN ARRAY[t.social_team] ELSE '{}' END
       || CASE WHEN pg_temp.u(n, 16) < 0.4 THEN ARRAY[t.insurer] ELSE '{}' END AS parties,
       ARRAY['huisarts', 'ggz-aanbieder']
       || CASE WHEN pg_temp.u(n, 13) < 0.6 THEN '{gemeente}'::text[] ELSE '{}' END
       || CASE WHEN pg_temp.u(n, 15) < 0.5 THEN '{wijkteam}'::text[] ELSE '{}' END
       || CASE WHEN pg_temp.u(n, 16) < 0.4 THEN '{zorgverzekeraar}'::text[] ELSE '{}' END AS roles,
       -- Treeknorm: 70 % give the waiting dates
       CASE WHEN pg_temp.u(n, 17) < 0.7
            THEN nl_date(t.created_at - (5 + 40 * pg_temp.u(n, 18)) * interval '1 day') END AS registered_on
  FROM t3 t;
ALTER TABLE bc ADD COLUMN intake_on date, ADD COLUMN treatment_on date, ADD COLUMN regie uuid,
    ADD COLUMN next_action_due date;
UPDATE bc SET intake_on = CASE WHEN registered_on IS NOT NULL AND intake_at IS NOT NULL
                                AND pg_temp.u(n, 19) < 0.8
                                AND registered_on + (7 + 35 * pg_temp.u(n, 20))::int <= nl_date(now())
                               THEN registered_on + (7 + 35 * pg_temp.u(n, 20))::int END,
              regie = CASE WHEN status IN ('resolved', 'closed')
                             OR (status = 'in_progress' AND pg_temp.u(n, 21) < 0.6)
                           THEN parties[2] END,
              next_action_due = CASE WHEN status = 'in_progress' AND pg_temp.u(n, 22) < 0.4
                                     THEN nl_date(last_event_at) + (7 + 21 * pg_temp.u(n, 23))::int END;
UPDATE bc SET treatment_on = CASE WHEN intake_on IS NOT NULL AND pg_temp.u(n, 24) < 0.6
                                   AND intake_on + (14 + 90 * pg_temp.u(n, 25))::int <= nl_date(now())
                                  THEN intake_on + (14 + 90 * pg_temp.u(n, 25))::int END;

-- The timeline: registration, a return, intake, escalations (and the step down) spread between
-- intake and the last event, a note at the last event of a case in progress, resolve, close.
CREATE TEMP TABLE be AS
SELECT b.id AS case_id, e.at, e.kind, e.actor, e.level, e.detail
  FROM bc b
 CROSS JOIN LATERAL (
    SELECT b.created_at AS at, 'registered' AS kind, b.submitter_id AS actor, 0 AS level, NULL::text AS detail
    UNION ALL
    SELECT b.last_event_at, 'returned', b.coordinator, 0, 'Graag aanvullen wat al is geprobeerd.'
     WHERE b.status = 'returned'
    UNION ALL
    SELECT b.intake_at, 'intake', b.coordinator, 1, NULL
     WHERE b.intake_at IS NOT NULL
    UNION ALL
    SELECT b.intake_at + (coalesce(b.resolved_at, b.last_event_at) - b.intake_at) * l / (b.max_level + 1.0),
           'escalated', b.coordinator, l, 'Afspraken niet nagekomen; een niveau hoger.'
      FROM generate_series(2, b.max_level) l
    UNION ALL
    SELECT b.intake_at + (coalesce(b.resolved_at, b.last_event_at) - b.intake_at) * (b.max_level + 0.5) / (b.max_level + 1.0),
           'deescalated', b.coordinator, b.level, 'Afspraak gemaakt; verder op het lagere niveau.'
     WHERE b.level < b.max_level AND b.intake_at IS NOT NULL
    UNION ALL
    SELECT b.last_event_at, 'note', b.coordinator, b.level, 'Stand van zaken besproken met de partijen.'
     WHERE b.status = 'in_progress' AND b.last_event_at > b.intake_at
    UNION ALL
    SELECT b.resolved_at, 'resolved', b.coordinator, b.level, 'Oplossing afgesproken met alle partijen.'
     WHERE b.resolved_at IS NOT NULL
    UNION ALL
    SELECT b.closed_at, 'closed', b.coordinator, b.level, NULL
     WHERE b.closed_at IS NOT NULL
 ) e;

INSERT INTO cases (id, status, level, max_level, region, title, summary, stagnation, attempts,
    proposed_solution, patient_mode, patient_age, patient_sex, reported_by, submitted_by,
    organisation_id, regie_organisation_id, registered_on, intake_on, treatment_on, solution,
    follow_up_on, created_at, registered_at, intake_at, resolved_at, closed_at, last_event_at,
    next_action_due, signal_check_at, version)
SELECT b.id, b.status, b.level, b.max_level, b.region,
       pg_temp.pick(ARRAY['Alcohol en depressie: verslavingszorg en ggz wijzen naar elkaar',
           'Jongvolwassene na jeugd-ggz zonder vervolgbehandeling',
           'Vermoeden van autisme en dreigende huisuitzetting',
           'Dubbele diagnose: beschermd wonen vraagt behandeling',
           'Zorgmijding en overlast: niemand neemt regie',
           'Angst bij licht verstandelijke beperking: behandeling sluit niet aan',
           'Eetstoornis bij jongere: beschikking jeugdhulp blijft uit',
           'Complex trauma: geen klinische plek in de regio',
           'Oudere met depressie en geheugenklachten: wie behandelt?',
           'Psychose na middelengebruik: twee aanbieders, geen behandeling'], b.n, 30),
       pg_temp.pick(ARRAY['Patiënt wacht al maanden; de aanbieders verwijzen naar elkaar en de huisarts kan niet verder.',
           'Behandeling en begeleiding wachten op elkaar. Intussen nemen de klachten toe en dreigt verlies van werk of woning.',
           'De patiënt past niet in het aanbod van één aanbieder; samen is er wel een oplossing, maar niemand neemt het voortouw.'], b.n, 31),
       pg_temp.pick(ARRAY['Geen aanbieder neemt de behandeling op zich.',
           'Financiering van de gecombineerde zorg is niet geregeld tussen gemeente en zorgverzekeraar.',
           'Het dossier wordt niet overgedragen en de wachtlijst begint telkens opnieuw.'], b.n, 32),
       pg_temp.pick(ARRAY['Verwijzingen naar twee aanbieders, consultatie, gesprekken bij de POH-GGZ.',
           'Casusoverleg met de betrokken partijen, aanmelding bij het wijkteam.',
           'Telefonisch overleg met de intakers, crisisplan met de huisarts.'], b.n, 33),
       pg_temp.pick(ARRAY['Eén regiehouder en een gezamenlijk behandelplan.',
           'Een maatwerkafspraak over de financiering en een vaste startdatum.',
           'Een warme overdracht met voorrang op de wachtlijst.'], b.n, 34),
       CASE WHEN pg_temp.u(b.n, 35) < 0.03 THEN 'revoked' ELSE 'anonymous' END,
       CASE WHEN pg_temp.u(b.n, 35) < 0.03 THEN NULL ELSE 16 + pg_temp.h(b.n, 36) % 70 END,
       CASE WHEN pg_temp.u(b.n, 35) < 0.03 THEN NULL ELSE pg_temp.pick('{f,m,f,m,x}', b.n, 37) END,
       CASE WHEN b.submitter_kind = 'coordinator'
            THEN pg_temp.pick('{patient,relative}', b.n, 38) ELSE 'professional' END,
       b.submitter_id, b.org_id, b.regie, b.registered_on, b.intake_on, b.treatment_on,
       CASE WHEN b.resolved_at IS NOT NULL THEN 'Oplossing afgesproken met alle partijen.' END,
       CASE WHEN b.resolved_at IS NOT NULL AND pg_temp.u(b.n, 39) < 0.5
            THEN nl_date(b.resolved_at) + 42 END,
       b.created_at, b.created_at, b.intake_at, b.resolved_at, b.closed_at, b.last_event_at,
       b.next_action_due, NULL, v.events
  FROM bc b JOIN (SELECT case_id, count(*) AS events FROM be GROUP BY case_id) v ON v.case_id = b.id;
INSERT INTO case_events (case_id, at, kind, actor_id, level, detail)
SELECT case_id, at, kind, actor, level, detail FROM be ORDER BY case_id, at;

INSERT INTO case_parties (case_id, organisation_id, role, position)
SELECT b.id, p.org, b.roles[p.i], p.i
  FROM bc b, unnest(b.parties) WITH ORDINALITY p(org, i);

-- Actions: the open one a case in progress may have (its due date on the row), owned by a
-- party; one done action for half of the cases past intake.
INSERT INTO case_actions (case_id, description, owner_organisation_id, due_on, status, result,
                          created_by, created_at, closed_by, closed_at)
SELECT b.id, 'Voorstel uitwerken en terugkoppelen aan de partijen.',
       b.parties[1 + pg_temp.h(b.n, 40) % cardinality(b.parties)], b.next_action_due, 'open', NULL,
       b.coordinator, b.last_event_at, NULL, NULL
  FROM bc b WHERE b.next_action_due IS NOT NULL
UNION ALL
SELECT b.id, 'Informatie verzamelen bij de betrokken aanbieders.',
       b.parties[2], nl_date(b.intake_at) + 14, 'done', 'Informatie compleet.',
       b.coordinator, b.intake_at, b.coordinator, b.intake_at + interval '5 days'
  FROM bc b WHERE b.intake_at IS NOT NULL AND pg_temp.u(b.n, 41) < 0.5
              AND b.intake_at + interval '5 days' < b.last_event_at;

-- ---------- consultations ----------

INSERT INTO consultations (status, subject, question, patient_mode, patient_age, patient_sex,
    requester_id, organisation_id, region, consultant_id, expertise, mode, urgency,
    referral_contemplated, submitted_at, due_at, accepted_at, answered_at, closed_at,
    answer_advice, answer_recommendation, answer_minutes, signal_check_at)
SELECT k.status, pg_temp.pick(ARRAY['Medicatie bij terugkerende depressie',
           'Paniekklachten, verwijzen of zelf behandelen?', 'Vermoeden van autisme bij jongvolwassene',
           'Alcoholgebruik en slaapproblemen', 'Psychotische klachten na cannabisgebruik',
           'Eetproblemen bij adolescent', 'Herbelevingen na ongeval', 'Somberheid bij chronische pijn'], k.n, 50),
       'Graag uw advies over de volgende stap: behandeling in de huisartsenpraktijk met consultatie, of verwijzing naar de basis-ggz of de specialistische ggz?',
       'anonymous', 18 + pg_temp.h(k.n, 51) % 70, pg_temp.pick('{f,m,f,m,x}', k.n, 52),
       k.gps[k.practice], k.practices[k.practice], k.region,
       CASE WHEN k.status = 'submitted' AND pg_temp.u(k.n, 53) < 0.3 THEN NULL
            ELSE k.consultants[1 + pg_temp.h(k.n, 54) % 6] END,
       CASE WHEN k.status = 'submitted' AND pg_temp.u(k.n, 53) < 0.3 THEN 'depressie' END,
       'digital', 'routine', false, k.submitted_at, k.submitted_at + interval '3 days',
       CASE WHEN k.status IN ('accepted', 'answered', 'closed') THEN k.submitted_at + interval '5 hours' END,
       CASE WHEN k.status IN ('answered', 'closed') THEN k.submitted_at + interval '30 hours' END,
       CASE WHEN k.status = 'closed' THEN k.submitted_at + interval '4 days' END,
       CASE WHEN k.status IN ('answered', 'closed') THEN 'Advies besproken; bij onvoldoende effect opnieuw consulteren.' END,
       CASE WHEN k.status IN ('answered', 'closed') THEN 'advice_only' END,
       CASE WHEN k.status IN ('answered', 'closed') THEN 30 END,
       -- the pass's own rule for the next look: the due date while open and ahead
       CASE WHEN k.status IN ('submitted', 'accepted') AND k.submitted_at + interval '3 days' >= now()
            THEN k.submitted_at + interval '3 days' END
  FROM (SELECT g.n, r.slug AS region, i.gps, i.practices, i.consultants,
               1 + pg_temp.h(g.n, 55) % 10 AS practice,
               now() - g.age * interval '1 day' AS submitted_at,
               CASE WHEN g.age < 3
                    THEN CASE WHEN g.us < 0.4 THEN 'submitted' WHEN g.us < 0.7 THEN 'accepted'
                              ELSE 'answered' END
                    ELSE CASE WHEN g.us < 0.005 THEN 'submitted' WHEN g.us < 0.01 THEN 'accepted'
                              WHEN g.us < 0.05 THEN 'declined' WHEN g.us < 0.09 THEN 'withdrawn'
                              WHEN g.us < 0.19 THEN 'answered' ELSE 'closed' END END AS status
          FROM (SELECT n, width_bucket(pg_temp.u(n, 58), :'his'::float8[]) + 1 AS idx,
                       1095 * pg_temp.u(n, 56) AS age, pg_temp.u(n, 57) AS us
                  FROM generate_series(1, :consultations) n OFFSET 0) g
          JOIN bench_regions r USING (idx) JOIN bench_ids i USING (idx)) k;

SET LOCAL session_replication_role = origin;

-- ---------- the steady state of the scheduler ----------

-- What the passes would have raised by now, and when they look next.
INSERT INTO signals (kind, subject_type, subject_id, region, raised_at, detail)
SELECT case_signal_kind(r), 'case', c.id, c.region, now(), 'bench: raised before the run'
  FROM cases c, unnest(case_stalled(c, now())) r
 WHERE c.status IN ('registered', 'returned', 'in_progress');
INSERT INTO signals (kind, subject_type, subject_id, region, raised_at, detail)
SELECT 'consultation_overdue', 'consultation', k.id, k.region, k.due_at, 'due ' || ts(k.due_at)
  FROM consultations k WHERE k.status IN ('submitted', 'accepted') AND k.due_at < now();
UPDATE cases c SET signal_check_at = case_next_mark(c, now())
 WHERE c.status IN ('registered', 'returned', 'in_progress');
-- Users changed a few since the last pass (case_step and consultation_step set "now").
UPDATE cases SET signal_check_at = now() - interval '10 seconds'
 WHERE id IN (SELECT id FROM cases WHERE status IN ('registered', 'returned', 'in_progress')
               ORDER BY id LIMIT :due_cases);
UPDATE consultations SET signal_check_at = now() - interval '10 seconds'
 WHERE id IN (SELECT id FROM consultations TABLESAMPLE SYSTEM (1) REPEATABLE (7)
               ORDER BY id LIMIT :due_consultations);

-- ---------- checks: what the foreign keys and the schema's steps would have kept ----------


CREATE TEMP TABLE bench_bad AS
WITH e AS (SELECT case_id, max(at) AS at, count(*) AS n,
                  (array_agg(level ORDER BY at DESC, seq DESC))[1] AS level
             FROM case_events WHERE case_id IN (SELECT id FROM bc) GROUP BY case_id),
     a AS (SELECT case_id, min(due_on) AS due FROM case_actions WHERE status = 'open'
            GROUP BY case_id),
     r AS (SELECT p.case_id FROM case_parties p JOIN cases c ON c.id = p.case_id
            WHERE p.organisation_id = c.regie_organisation_id)
SELECT 'case ' || c.id AS what FROM cases c
  JOIN bc ON bc.id = c.id
  LEFT JOIN users u ON u.id = c.submitted_by AND u.organisation_id = c.organisation_id
  LEFT JOIN organisations o ON o.id = c.organisation_id AND o.region = c.region
  LEFT JOIN e ON e.case_id = c.id LEFT JOIN a ON a.case_id = c.id LEFT JOIN r ON r.case_id = c.id
 WHERE u.id IS NULL OR o.id IS NULL OR (c.regie_organisation_id IS NOT NULL AND r.case_id IS NULL)
    OR e.at IS DISTINCT FROM c.last_event_at OR e.level IS DISTINCT FROM c.level
    OR e.n IS DISTINCT FROM c.version OR a.due IS DISTINCT FROM c.next_action_due
    OR c.intake_on < c.registered_on OR c.treatment_on < c.intake_on
UNION ALL
SELECT 'party ' || p.case_id FROM case_parties p LEFT JOIN organisations o ON o.id = p.organisation_id
 WHERE o.id IS NULL
UNION ALL
SELECT 'consultation ' || k.id FROM consultations k
  LEFT JOIN users q ON q.id = k.requester_id AND q.organisation_id = k.organisation_id
  LEFT JOIN users s ON s.id = k.consultant_id
 WHERE k.region IN (SELECT slug FROM bench_regions)
   AND (q.id IS NULL OR (k.consultant_id IS NOT NULL AND s.id IS NULL));
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM bench_bad) THEN
        RAISE EXCEPTION 'cases_seed.sql: % rows disagree with their users, organisations, parties, timelines or actions, e.g. %',
            (SELECT count(*) FROM bench_bad), (SELECT what FROM bench_bad LIMIT 1);
    END IF;
END
$$;

SELECT r.slug, pg_temp.org(r.idx, 'other', 1) FROM bench_regions r JOIN bench_region b USING (idx);
COMMIT;

VACUUM ANALYZE organisations, users, cases, case_parties, case_actions, case_events,
    consultations, signals;
