-- Consultation-creation benchmark data (tests/bench/consultations.sh): in region `bench-region`,
-- a general practice (its gp user is made through the API, which hashes a known password), a
-- mental-health provider, 50 consultants who all take group questions on `autisme` there, and
-- one more consultant for direct questions (expertise `depressie`, so not one of the 50).
--
--   psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 [-v n=50] -f tests/bench/consultations_seed.sql
--
-- Through the real triggers (users -> consultant_profiles -> search_doc, directory_words): only
-- 51 rows. Works on a database where the directory benchmark already generated its consultants
-- (no one else is in `bench-region`). Prints: gp organisation id, direct consultant id.

\if :{?n}
\else
\set n 50
\endif

BEGIN;
SELECT set_config('bench.n', :'n', true) \g /dev/null
INSERT INTO organisations (name, kind, region, created_at) VALUES
    ('Huisartsenpraktijk Benchmark', 'general_practice', 'bench-region', now()),
    ('GGZ Benchmark', 'mental_health_provider', 'bench-region', now());

-- password_hash is not an argon2id hash: these consultants cannot sign in, and need not.
INSERT INTO users (email, name, role, organisation_id, password_hash, created_at)
SELECT format('consultant-%s@consultations.bench.example', i),
       format('Consultant %s', i), 'consultant', o.id, 'not-a-hash', now()
  FROM generate_series(1, :n) i,
       (SELECT id FROM organisations WHERE name = 'GGZ Benchmark' AND region = 'bench-region') o;
INSERT INTO users (email, name, role, organisation_id, password_hash, created_at)
SELECT 'direct@consultations.bench.example', 'Consultant Direct', 'consultant', o.id,
       'not-a-hash', now()
  FROM organisations o WHERE o.name = 'GGZ Benchmark' AND o.region = 'bench-region';

UPDATE consultant_profiles p
   SET discipline = 'psychiater', expertise = '{autisme}', regions = '{bench-region}',
       modes = '{digital}', accepting = true, languages = '{nl}', updated_at = now()
  FROM users u
 WHERE u.id = p.user_id AND u.email LIKE 'consultant-%@consultations.bench.example';
UPDATE consultant_profiles p
   SET discipline = 'psychiater', expertise = '{depressie}', regions = '{bench-region}',
       modes = '{digital}', accepting = true, languages = '{nl}', updated_at = now()
  FROM users u
 WHERE u.id = p.user_id AND u.email = 'direct@consultations.bench.example';

-- Exactly n consultants take the group question, and the direct one is not among them.
DO $$
DECLARE
    k int;
BEGIN
    SELECT count(*) INTO k FROM consultant_profiles p
     WHERE p.active AND p.accepting AND 'autisme' = ANY (p.expertise)
       AND 'bench-region' = ANY (p.regions);
    IF k <> current_setting('bench.n')::int THEN
        RAISE EXCEPTION 'consultations_seed: % consultants take autisme in bench-region, expected %',
            k, current_setting('bench.n');
    END IF;
END
$$ LANGUAGE plpgsql;
COMMIT;

SELECT o.id, u.id
  FROM organisations o, users u
 WHERE o.name = 'Huisartsenpraktijk Benchmark' AND o.region = 'bench-region'
   AND u.email = 'direct@consultations.bench.example';
