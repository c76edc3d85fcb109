-- Directory benchmark data: 50,000 consultants (psql -v n=50000 to change the count) in 200
-- mental-health organisations over 30 regions, with Dutch names, expertise mixes that follow
-- the discipline, and bios built from Dutch sentence fragments. Set-based and deterministic
-- (every choice is a hash of the row number), so every run measures the same data.
--
--   psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 [-v n=50000] -f tests/bench/directory_seed.sql
--
-- Runs on a migrated, otherwise empty database (the bench's throw-away cluster), as a superuser.
-- All names are invented combinations of common Dutch first and last names.
--
-- Speed: through the row triggers (users -> consultant_profiles -> search_doc, directory_words,
-- consultant_cards, directory_terms, directory_regions)
-- 50,000 consultants take about a minute on 2 cores. So the triggers are off while loading
-- (session_replication_role = replica) and the script computes what they would, set-based, with
-- the schema's own functions (directory_search_doc, directory_text, fold, directory_terms_of). At the end it has the real triggers recompute 500 rows and fails if a
-- search_doc, card, directory_terms, directory_regions or directory_words differs.

\if :{?n}
\else
\set n 50000
\endif

BEGIN;
SET LOCAL session_replication_role = replica;   -- no triggers (nor FK checks) while loading

-- h(i, salt): a deterministic non-negative pseudo-random integer.
CREATE FUNCTION pg_temp.h(i int, salt int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT hashint4(i * 7919 + salt) & 2147483647
$$;
-- pick(arr, i, salt): one element of arr.
CREATE FUNCTION pg_temp.pick(arr text[], i int, salt int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT arr[1 + pg_temp.h(i, salt) % cardinality(arr)]
$$;

-- 30 regions in rough geographic order: a region's neighbours are the ones beside it.
CREATE TEMP TABLE bench_regions (idx int PRIMARY KEY, slug text NOT NULL, place text[] NOT NULL);
INSERT INTO bench_regions (idx, slug, place) VALUES
 (1, 'groningen', '{Groningen,Delfzijl,Veendam,Winschoten}'),
 (2, 'friesland', '{Leeuwarden,Sneek,Heerenveen,Drachten}'),
 (3, 'drenthe', '{Assen,Emmen,Meppel,Hoogeveen}'),
 (4, 'zwolle', '{Zwolle,Kampen,Hardenberg}'),
 (5, 'twente', '{Enschede,Hengelo,Almelo,Oldenzaal}'),
 (6, 'midden-ijssel', '{Deventer,Raalte,Rijssen}'),
 (7, 'apeldoorn-zutphen', '{Apeldoorn,Zutphen,Epe}'),
 (8, 'arnhem', '{Arnhem,Ede,Wageningen,Zevenaar}'),
 (9, 'nijmegen', '{Nijmegen,Wijchen,Tiel}'),
 (10, 'flevoland', '{Almere,Lelystad,Dronten,Emmeloord}'),
 (11, 'utrecht', '{Utrecht,Amersfoort,Zeist,Nieuwegein,Veenendaal}'),
 (12, 't-gooi', '{Hilversum,Bussum,Huizen}'),
 (13, 'amsterdam', '{Amsterdam,Diemen,Amstelveen}'),
 (14, 'zaanstreek-waterland', '{Zaandam,Purmerend,Volendam}'),
 (15, 'noord-holland-noord', '{Alkmaar,Hoorn,Den Helder,Heerhugowaard}'),
 (16, 'kennemerland', '{Haarlem,Heemstede,Beverwijk,IJmuiden}'),
 (17, 'amstelland-meerlanden', '{Hoofddorp,Aalsmeer,Uithoorn}'),
 (18, 'zuid-holland-noord', '{Leiden,Katwijk,Alphen aan den Rijn}'),
 (19, 'haaglanden', '{Den Haag,Zoetermeer,Rijswijk,Leidschendam}'),
 (20, 'delft-westland-oostland', '{Delft,Naaldwijk,Pijnacker}'),
 (21, 'midden-holland', '{Gouda,Waddinxveen,Bodegraven}'),
 (22, 'rotterdam', '{Rotterdam,Schiedam,Capelle aan den IJssel,Spijkenisse}'),
 (23, 'waardenland', '{Dordrecht,Gorinchem,Zwijndrecht}'),
 (24, 'zeeland', '{Middelburg,Vlissingen,Goes,Terneuzen}'),
 (25, 'west-brabant', '{Breda,Roosendaal,Bergen op Zoom,Oosterhout}'),
 (26, 'midden-brabant', '{Tilburg,Waalwijk,Dongen}'),
 (27, 'noordoost-brabant', '{''s-Hertogenbosch,Oss,Uden,Veghel}'),
 (28, 'zuidoost-brabant', '{Eindhoven,Helmond,Veldhoven,Geldrop}'),
 (29, 'noord-midden-limburg', '{Venlo,Venray,Roermond,Weert}'),
 (30, 'zuid-limburg', '{Maastricht,Heerlen,Sittard,Kerkrade}');

-- 200 mental-health organisations, spread evenly over the regions.
CREATE TEMP TABLE bench_orgs AS
SELECT o.n, r.idx AS region_idx, r.slug AS region,
       pg_temp.pick(ARRAY['GGZ', 'Psychologenpraktijk', 'Praktijk voor Psychotherapie',
                          'Centrum voor Psychiatrie', 'Verslavingszorg', 'Jeugd-GGZ',
                          'Ouderenpsychiatrie', 'Psychiatrisch Centrum', 'Basis-GGZ',
                          'Traumacentrum'], o.n, 11)
           || ' ' || pg_temp.pick(r.place, o.n, 12) AS name
  FROM generate_series(1, 200) o(n)
  JOIN bench_regions r ON r.idx = 1 + (o.n - 1) % 30;
ALTER TABLE bench_orgs ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();

INSERT INTO organisations (id, name, kind, region, agb_code, created_at)
SELECT id, name, 'mental_health_provider', region, lpad((22000000 + n)::text, 8, '0'),
       '2026-01-05T09:00:00Z'
  FROM bench_orgs;

-- Consultant users (the trigger that would create their directory rows is off).
INSERT INTO users (email, name, role, organisation_id, password_hash, created_at)
SELECT 'consultant' || i || '@bench.example',
       pg_temp.pick(ARRAY['Anna', 'Emma', 'Sophie', 'Julia', 'Lotte', 'Sanne', 'Lisa', 'Eva',
           'Femke', 'Marieke', 'Ingrid', 'Esther', 'Linda', 'Monique', 'Petra', 'Marloes',
           'Annemiek', 'Renske', 'Noor', 'Fenna', 'Iris', 'Maaike', 'Hanneke', 'Judith',
           'Karin', 'Yvonne', 'Saskia', 'Wendy', 'Nadia', 'Fatima', 'Yasmina', 'Elif', 'Merel',
           'Roos', 'Floor', 'Inge', 'Mark', 'Jan', 'Pieter', 'Joris', 'Bram', 'Ruud', 'Henk',
           'Kees', 'Willem', 'Thijs', 'Daan', 'Sander', 'Bas', 'Jeroen', 'Maarten', 'Erik',
           'Frank', 'Gerard', 'Hans', 'Johan', 'Koen', 'Martijn', 'Niels', 'Rob', 'Stefan',
           'Tom', 'Wouter', 'Arjen', 'Bart', 'Dirk', 'Gijs', 'Jasper', 'Lucas', 'Mohamed',
           'Youssef', 'Mehmet', 'Ahmed', 'Hamza'], i, 1)
       || ' ' ||
       pg_temp.pick(ARRAY['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker',
           'Janssen', 'Visser', 'Smit', 'Meijer', 'de Boer', 'Mulder', 'de Groot', 'Bos', 'Vos',
           'Peters', 'Hendriks', 'van Leeuwen', 'Dekker', 'Brouwer', 'de Wit', 'Dijkstra',
           'Smits', 'de Graaf', 'van der Meer', 'van der Linden', 'Kok', 'Jacobs', 'de Haan',
           'Vermeulen', 'van den Heuvel', 'van der Veen', 'van den Broek', 'de Bruijn',
           'de Bruin', 'van der Heijden', 'Schouten', 'van Beek', 'Willems', 'van Vliet',
           'van de Ven', 'Hoekstra', 'Maas', 'Verhoeven', 'Koster', 'van Dam', 'van der Wal',
           'Prins', 'Blom', 'Huisman', 'Peeters', 'Kuipers', 'van Wijk', 'Post', 'Kuiper',
           'Veenstra', 'Kramer', 'van den Brink', 'Scholten', 'van Wijngaarden', 'Martens',
           'Vink', 'Coenen', 'Geurts', 'Bouten', 'Smeets', 'Wouters', 'Claassen', 'Timmermans',
           'Postma', 'Mertens', 'Bosch', 'Hermans', 'Evers', 'El Amrani', 'Bouzid',
           'Yilmaz', 'Kaya', 'Demir', 'Öztürk', 'Ramdin', 'Tjon', 'Nguyen'], i, 2),
       'consultant', o.id,
       '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2gtZGlyZWN0b3J5$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
       '2026-01-05T09:00:00Z'::timestamptz + i * interval '1 minute'
  FROM generate_series(1, :n) i
  JOIN bench_orgs o ON o.n = 1 + pg_temp.h(i, 3) % 200;

-- Which discipline sees which expertise most, and which bio phrase names each code.
CREATE TEMP TABLE bench_disciplines (code text PRIMARY KEY, weight int, core text[], groups text[]);
INSERT INTO bench_disciplines VALUES
 ('gz_psycholoog', 30, '{angst,depressie,trauma,rouw,slaap}', '{volwassenen,jeugd}'),
 ('psychiater', 18, '{psychose,bipolair,medicatie,depressie,suicidaliteit}', '{volwassenen,epa}'),
 ('klinisch_psycholoog', 10, '{persoonlijkheid,trauma,somatisch,angst}', '{volwassenen}'),
 ('psychotherapeut', 14, '{persoonlijkheid,trauma,depressie,angst}', '{volwassenen}'),
 ('verslavingsarts', 6, '{verslaving,medicatie}', '{volwassenen,lvb}'),
 ('spv', 10, '{psychose,suicidaliteit,verslaving}', '{epa,volwassenen}'),
 ('kinder_jeugdpsychiater', 7, '{adhd,autisme,angst,eetstoornis}', '{jeugd}'),
 ('ouderenpsychiater', 5, '{depressie,medicatie,slaap,rouw}', '{ouderen}');
CREATE TEMP TABLE bench_phrases (code text PRIMARY KEY, phrase text);
INSERT INTO bench_phrases VALUES
 ('angst', 'angst- en paniekklachten'), ('depressie', 'depressie'),
 ('psychose', 'psychosen'), ('bipolair', 'bipolaire stoornissen'),
 ('persoonlijkheid', 'persoonlijkheidsproblematiek'), ('autisme', 'autisme'),
 ('adhd', 'ADHD'), ('trauma', 'trauma en PTSS'), ('verslaving', 'verslavingen'),
 ('eetstoornis', 'eetstoornissen'), ('medicatie', 'medicatievragen'),
 ('suicidaliteit', 'suïcidaliteit'), ('slaap', 'slaapproblemen'),
 ('rouw', 'rouw en verlies'), ('somatisch', 'SOLK'),
 ('jeugd', 'jeugdigen en hun ouders'), ('volwassenen', 'volwassenen'),
 ('ouderen', 'ouderen'), ('epa', 'mensen met een ernstige psychische aandoening'),
 ('lvb', 'cliënten met een licht verstandelijke beperking'),
 ('perinataal', 'vrouwen rond zwangerschap en bevalling');

-- Every consultant, numbered, with discipline, home region and the random draws.
CREATE TEMP TABLE bench_people AS
SELECT u.id, u.name, o.name AS org, o.region_idx,
       row_number() OVER (ORDER BY u.email)::int AS i
  FROM users u JOIN bench_orgs o ON o.id = u.organisation_id
 WHERE u.role = 'consultant' AND u.email LIKE '%@bench.example';
ALTER TABLE bench_people ADD COLUMN discipline text;
UPDATE bench_people p SET discipline = (
    SELECT d.code FROM (SELECT code, sum(weight) OVER (ORDER BY code) AS upto,
                               sum(weight) OVER () AS total FROM bench_disciplines) d
     WHERE d.upto > pg_temp.h(p.i, 20) % d.total ORDER BY d.upto LIMIT 1);

CREATE TEMP TABLE bench_draws AS
SELECT p.id, p.i, p.name, p.discipline,
       -- 1-4 codes, mostly from the discipline's core list
       ARRAY(SELECT v.code FROM vocabulary v WHERE v.kind = 'expertise'
              ORDER BY pg_temp.h(p.i, 100 + v.position) % 100
                       + CASE WHEN v.code = ANY (d.core) THEN 0 ELSE 70 END, v.code
              LIMIT 1 + pg_temp.h(p.i, 21) % 4) AS expertise,
       -- 0-2 groups, mostly the discipline's own
       ARRAY(SELECT v.code FROM vocabulary v WHERE v.kind = 'target_group'
              ORDER BY pg_temp.h(p.i, 200 + v.position) % 100
                       + CASE WHEN v.code = ANY (d.groups) THEN 0 ELSE 80 END, v.code
              LIMIT pg_temp.h(p.i, 22) % 3) AS target_groups,
       -- own region, and up to two neighbours
       ARRAY(SELECT r.slug FROM bench_regions r
              WHERE r.idx = p.region_idx
                 OR (r.idx = p.region_idx - 1 AND pg_temp.h(p.i, 23) % 3 > 0)
                 OR (r.idx = p.region_idx + 1 AND pg_temp.h(p.i, 24) % 2 > 0)
              ORDER BY r.idx <> p.region_idx, r.idx) AS regions,
       ARRAY(SELECT v.code FROM vocabulary v WHERE v.kind = 'mode'
              ORDER BY pg_temp.h(p.i, 300 + v.position) % 100
                       + CASE WHEN v.code IN ('phone', 'video') THEN 0 ELSE 40 END, v.code
              LIMIT 1 + pg_temp.h(p.i, 25) % 3) AS modes,
       (ARRAY['{nl}', '{nl}', '{nl}', '{nl}', '{nl}', '{nl}', '{nl}', '{nl}', '{nl}', '{nl}',
              '{nl}', '{nl}', '{nl,en}', '{nl,en}', '{nl,en}', '{nl,de}', '{nl,ar}',
              '{nl,tr}', '{nl,en,fr}', '{nl,en,de}'])[1 + pg_temp.h(p.i, 26) % 20]::text[]
           AS languages,
       pg_temp.h(p.i, 27) % 10 < 8 AS accepting,
       1 + pg_temp.h(p.i, 28) % 5 AS response_days,
       p.org
  FROM bench_people p JOIN bench_disciplines d ON d.code = p.discipline;

-- "Ervaring met X, Y en Z bij volwassenen." plus one to three more fragments.
CREATE FUNCTION pg_temp.and_list(items text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(items) <= 1 THEN coalesce(items[1], '')
                ELSE array_to_string(items[1:cardinality(items) - 1], ', ')
                     || ' en ' || items[cardinality(items)] END
$$;

-- The directory rows as the API would leave them after a profile update.
CREATE TEMP TABLE bench_profiles (LIKE consultant_profiles INCLUDING DEFAULTS);
INSERT INTO bench_profiles (user_id, discipline, expertise, target_groups, regions, modes,
                            languages, accepting, bio, response_days, name, active, search_doc,
                            updated_at)
SELECT b.id, b.discipline, b.expertise, b.target_groups, b.regions, b.modes, b.languages,
       b.accepting,
    concat_ws(' ',
        (SELECT v.label FROM vocabulary v WHERE v.kind = 'discipline' AND v.code = b.discipline)
            || ' bij ' || b.org || '.',
        pg_temp.pick(ARRAY['Ervaring met', 'Ruime ervaring met', 'Gespecialiseerd in',
                           'Behandelt en adviseert bij', 'Denkt mee bij vragen over'], b.i, 40)
            || ' ' || pg_temp.and_list(ARRAY(SELECT ph.phrase FROM unnest(b.expertise)
                                               WITH ORDINALITY e(code, n)
                                               JOIN bench_phrases ph ON ph.code = e.code
                                              ORDER BY e.n))
            || CASE WHEN cardinality(b.target_groups) > 0
                    THEN ' bij ' || pg_temp.and_list(ARRAY(SELECT ph.phrase
                                 FROM unnest(b.target_groups) WITH ORDINALITY t(code, n)
                                 JOIN bench_phrases ph ON ph.code = t.code ORDER BY t.n))
                    ELSE '' END || '.',
        pg_temp.pick(ARRAY[
            'Samenwerking met de huisarts en POH-GGZ staat centraal.',
            'Denkt mee over diagnostiek, behandeladvies en de vraag of verwijzing nodig is.',
            'Helpt bij de keuze tussen begeleiding in de huisartsenpraktijk, basis-ggz en specialistische ggz.',
            'Werkt met cliënten en hun naasten.',
            'Ook vragen over verslavingszorg en dubbele diagnose zijn welkom.',
            'Adviseert over medicatie, bijwerkingen en afbouwen.',
            'Werkt met CGT, EMDR en schematherapie.',
            'Consultatie bij vastgelopen behandelingen en zorgmijding.'], b.i, 41),
        CASE WHEN pg_temp.h(b.i, 42) % 2 = 0 THEN pg_temp.pick(ARRAY[
            'Beschikbaar voor telefonische consultatie en beeldbellen.',
            'Reageert meestal binnen twee werkdagen.',
            'Ook bereikbaar voor collega''s uit het sociaal domein en het wijkteam.',
            'Heeft aandacht voor cultuursensitieve zorg.',
            'Sluit aan bij het regionale netwerk en het FACT-team.',
            'Geeft ook scholing aan POH-GGZ en huisartsen.'], b.i, 43) END),
       b.response_days, b.name, true, ''::tsvector, '2026-02-01T09:00:00Z'
  FROM bench_draws b;

-- What the consultant_profiles_index trigger computes.
UPDATE bench_profiles b SET search_doc = directory_search_doc(ROW(b.*)::consultant_profiles);
INSERT INTO consultant_profiles SELECT * FROM bench_profiles;
INSERT INTO directory_words (word)
SELECT DISTINCT w
  FROM consultant_profiles c,
       regexp_split_to_table(fold(directory_text(c)), '[^a-z0-9]+') w
 WHERE length(w) >= 3
ON CONFLICT DO NOTHING;
-- What the consultant_cards_sync and directory_terms_sync triggers compute (the latter with
-- directory_keys_of).
INSERT INTO consultant_cards (user_id, card)
SELECT c.user_id, consultant_card(c) FROM consultant_profiles c;
INSERT INTO directory_keys (key)
SELECT DISTINCT n
  FROM consultant_profiles c,
       unnest(directory_key_names(c.expertise, c.target_groups, c.regions, c.modes, c.languages,
                                  c.accepting)) n
 WHERE c.active ORDER BY n
ON CONFLICT (key) DO NOTHING;
INSERT INTO directory_terms (lexeme, user_id, rank, keys)
SELECT t.lexeme, c.user_id, t.rank, k.keys
  FROM consultant_profiles c
 CROSS JOIN LATERAL (SELECT ARRAY(SELECT d.id FROM directory_keys d
         WHERE d.key = ANY (directory_key_names(c.expertise, c.target_groups, c.regions, c.modes,
                                                c.languages, c.accepting))
         ORDER BY d.id) AS keys) k,
       directory_terms_of(c.search_doc) t
 WHERE c.active;
-- What the directory_regions_sync trigger computes.
INSERT INTO directory_regions (region, user_id, name, accepting, expertise, target_groups, modes,
                               languages)
SELECT DISTINCT r, c.user_id, c.name, c.accepting, c.expertise, c.target_groups, c.modes,
       c.languages
  FROM consultant_profiles c, unnest(c.regions) r
 WHERE c.active;

-- Check the shortcut: the real triggers, on, recompute 500 rows; nothing may change.
SET LOCAL session_replication_role = origin;
CREATE TEMP TABLE bench_check AS
SELECT p.user_id, p.search_doc, k.card FROM consultant_profiles p JOIN consultant_cards k USING (user_id)
 WHERE user_id IN (SELECT id FROM bench_draws WHERE i % 100 = 7);
CREATE TEMP TABLE bench_check_terms AS
SELECT t.* FROM directory_terms t JOIN bench_check USING (user_id);
CREATE TEMP TABLE bench_check_regions AS
SELECT r.* FROM directory_regions r JOIN bench_check USING (user_id);
DO $$
DECLARE
    words_before bigint := (SELECT count(*) FROM directory_words);
    terms_before bigint := (SELECT count(*) FROM directory_terms);
    changed bigint;
BEGIN
    -- directory_terms_sync only runs when search_doc or a filter column changes: change the bio,
    -- then restore it (a one-letter word, which directory_words leaves out).
    UPDATE consultant_profiles c SET bio = c.bio || ' x' FROM bench_check k WHERE c.user_id = k.user_id;
    UPDATE consultant_profiles c SET bio = left(c.bio, -2) FROM bench_check k WHERE c.user_id = k.user_id;
    -- directory_regions_sync only runs when a column it copies changes: flip `accepting` twice.
    UPDATE consultant_profiles c SET accepting = NOT c.accepting FROM bench_check k WHERE c.user_id = k.user_id;
    UPDATE consultant_profiles c SET accepting = NOT c.accepting FROM bench_check k WHERE c.user_id = k.user_id;
    IF EXISTS (
        (SELECT * FROM bench_check_regions EXCEPT SELECT r.* FROM directory_regions r JOIN bench_check USING (user_id))
        UNION ALL
        (SELECT r.* FROM directory_regions r JOIN bench_check USING (user_id) EXCEPT SELECT * FROM bench_check_regions)) THEN
        RAISE EXCEPTION 'directory_seed.sql fills directory_regions differently from the trigger';
    END IF;
    SELECT count(*) INTO changed FROM consultant_profiles c JOIN bench_check k USING (user_id)
      JOIN consultant_cards d USING (user_id)
     WHERE c.search_doc IS DISTINCT FROM k.search_doc OR d.card IS DISTINCT FROM k.card;
    IF terms_before <> (SELECT count(*) FROM directory_terms) OR EXISTS (
        (SELECT * FROM bench_check_terms EXCEPT SELECT t.* FROM directory_terms t JOIN bench_check USING (user_id))
        UNION ALL
        (SELECT t.* FROM directory_terms t JOIN bench_check USING (user_id) EXCEPT SELECT * FROM bench_check_terms)) THEN
        RAISE EXCEPTION 'directory_seed.sql fills directory_terms differently from the trigger';
    END IF;
    IF changed > 0 OR (SELECT count(*) FROM directory_words) <> words_before THEN
        RAISE EXCEPTION 'directory_seed.sql computes search_doc, consultant_cards or directory_words differently from the trigger (% of % rows differ, % new words): update the seed to follow sql/',
            changed, (SELECT count(*) FROM bench_check),
            (SELECT count(*) FROM directory_words) - words_before;
    END IF;
END
$$;
DO $$
BEGIN
    IF (SELECT count(*) FROM users WHERE role = 'consultant')
       <> (SELECT count(*) FROM consultant_profiles) THEN
        RAISE EXCEPTION 'directory_seed.sql: not every consultant user has a directory row';
    END IF;
END
$$;

COMMIT;

VACUUM ANALYZE organisations, users, consultant_profiles, consultant_cards, directory_terms,
    directory_regions, directory_words, directory_keys;
