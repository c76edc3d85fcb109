-- Consultant directory (API.md §6–§7): vocabularies, profiles, their prepared JSON ("cards"), and
-- the list: filter-only pages and Dutch free-text search. docs/conventions.md describes the list's
-- paths; docs/benchmarks.md what each costs and why it is built this way.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Dutch stemming on accent-free words: "cliënten" and "clienten" meet, as do "verslavingen" and
-- "verslaving".
CREATE TEXT SEARCH CONFIGURATION overleg_nl (COPY = pg_catalog.dutch);
ALTER TEXT SEARCH CONFIGURATION overleg_nl
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, dutch_stem;

-- Lower case without accents, as the search compares words. STABLE, as unaccent() is (it reads
-- its dictionary), so that PostgreSQL inlines it; no index uses it.
CREATE FUNCTION fold(t text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT lower(public.unaccent('public.unaccent'::regdictionary, t))
$$;

CREATE TABLE vocabulary (
    kind      text NOT NULL CHECK (kind IN ('discipline', 'expertise', 'target_group', 'mode')),
    code      text NOT NULL,
    label     text NOT NULL,
    position  int NOT NULL,
    PRIMARY KEY (kind, code)
);

INSERT INTO vocabulary (kind, code, label, position) VALUES
 ('discipline', 'psychiater', 'Psychiater', 1),
 ('discipline', 'gz_psycholoog', 'GZ-psycholoog', 2),
 ('discipline', 'klinisch_psycholoog', 'Klinisch psycholoog', 3),
 ('discipline', 'psychotherapeut', 'Psychotherapeut', 4),
 ('discipline', 'verslavingsarts', 'Verslavingsarts', 5),
 ('discipline', 'spv', 'Sociaal-psychiatrisch verpleegkundige', 6),
 ('discipline', 'kinder_jeugdpsychiater', 'Kinder- en jeugdpsychiater', 7),
 ('discipline', 'ouderenpsychiater', 'Ouderenpsychiater', 8),
 ('expertise', 'angst', 'Angststoornissen', 1),
 ('expertise', 'depressie', 'Depressie', 2),
 ('expertise', 'psychose', 'Psychose', 3),
 ('expertise', 'bipolair', 'Bipolaire stoornis', 4),
 ('expertise', 'persoonlijkheid', 'Persoonlijkheidsproblematiek', 5),
 ('expertise', 'autisme', 'Autisme', 6),
 ('expertise', 'adhd', 'ADHD', 7),
 ('expertise', 'trauma', 'Trauma en PTSS', 8),
 ('expertise', 'verslaving', 'Verslaving', 9),
 ('expertise', 'eetstoornis', 'Eetstoornissen', 10),
 ('expertise', 'medicatie', 'Medicatie en farmacotherapie', 11),
 ('expertise', 'suicidaliteit', 'Suïcidaliteit', 12),
 ('expertise', 'slaap', 'Slaapproblemen', 13),
 ('expertise', 'rouw', 'Rouw en verlies', 14),
 ('expertise', 'somatisch', 'Somatisch onvoldoende verklaarde klachten', 15),
 ('target_group', 'jeugd', 'Jeugd', 1),
 ('target_group', 'volwassenen', 'Volwassenen', 2),
 ('target_group', 'ouderen', 'Ouderen', 3),
 ('target_group', 'epa', 'Ernstige psychische aandoeningen (EPA)', 4),
 ('target_group', 'lvb', 'Licht verstandelijke beperking (LVB)', 5),
 ('target_group', 'perinataal', 'Zwangerschap en kraamtijd', 6),
 ('mode', 'digital', 'Digitaal (schriftelijk)', 1),
 ('mode', 'phone', 'Telefonisch', 2),
 ('mode', 'video', 'Beeldbellen', 3),
 ('mode', 'on_location', 'Op locatie', 4);

-- ---------- the search lexicon (docs/search.md) ----------
-- The words GPs and POH-GGZ type for each discipline, expertise and target group: the label's own
-- words, abbreviations, synonyms, lay terms and the compounds that name it. A clinician reviews
-- this list; each term names one code (a word that fits several, such as "psycholoog", is left
-- out and is searched as a plain word). Plurals and inflections need no row: a term is matched by
-- the Dutch stems of its words, so "angststoornissen" meets "angststoornis" and "angst stoornis"
-- meets both. `part`: the term also counts inside a longer word, at its start ('begin':
-- "angstklachten", "ouderenzorg") or at either end ('any': also "faalangst", "gokverslaving"); a
-- generic head such as "stoornis" is never a part, so "stoornis" does not match every compound
-- that ends in it.
CREATE TABLE search_terms (
    term  text PRIMARY KEY CHECK (term = lower(term)),
    kind  text NOT NULL,
    code  text NOT NULL,
    part  text CHECK (part IS NULL OR (part IN ('begin', 'any') AND term ~ '^[a-z0-9]+$')),
    -- The Dutch stems of the term's words, joined: what a run of words is matched by (set by
    -- search_terms_key below; two terms with one key would be ambiguous, so it is unique).
    key   text NOT NULL UNIQUE,
    FOREIGN KEY (kind, code) REFERENCES vocabulary (kind, code)
);

-- The stem of one folded word as a profile's search_doc holds it (overleg_nl), NULL for a stop
-- word.
CREATE FUNCTION directory_stem(w text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (tsvector_to_array(to_tsvector('overleg_nl', w)))[1]
$$;

-- The key of a text: its words folded, stop words left out, Dutch stems joined without spaces.
CREATE FUNCTION search_key(t text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(x.s, '' ORDER BY x.n), '')
      FROM (SELECT directory_stem(r.w) AS s, r.n
              FROM regexp_split_to_table(fold(t), '[^a-z0-9]+') WITH ORDINALITY r(w, n)
             WHERE length(r.w) >= 2) x
$$;

CREATE FUNCTION search_terms_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.key := search_key(NEW.term);
    RETURN NEW;
END
$$;
CREATE TRIGGER search_terms_key BEFORE INSERT OR UPDATE ON search_terms
    FOR EACH ROW EXECUTE FUNCTION search_terms_key();

INSERT INTO search_terms (kind, code, term, part) VALUES
 -- disciplines
 ('discipline', 'psychiater', 'psychiater', NULL),
 ('discipline', 'psychiater', 'psychiatrie', NULL),
 ('discipline', 'gz_psycholoog', 'gz psycholoog', NULL),
 ('discipline', 'gz_psycholoog', 'gezondheidszorgpsycholoog', NULL),
 ('discipline', 'klinisch_psycholoog', 'klinisch psycholoog', NULL),
 ('discipline', 'psychotherapeut', 'psychotherapeut', NULL),
 ('discipline', 'psychotherapeut', 'psychotherapie', NULL),
 ('discipline', 'verslavingsarts', 'verslavingsarts', NULL),
 ('discipline', 'verslavingsarts', 'verslavingsgeneeskunde', NULL),
 ('discipline', 'spv', 'spv', NULL),
 ('discipline', 'spv', 'sociaal psychiatrisch verpleegkundige', NULL),
 ('discipline', 'kinder_jeugdpsychiater', 'kinder en jeugdpsychiater', NULL),
 ('discipline', 'kinder_jeugdpsychiater', 'kinderpsychiater', NULL),
 ('discipline', 'kinder_jeugdpsychiater', 'jeugdpsychiater', NULL),
 ('discipline', 'kinder_jeugdpsychiater', 'kinderpsychiatrie', NULL),
 ('discipline', 'kinder_jeugdpsychiater', 'jeugdpsychiatrie', NULL),
 ('discipline', 'kinder_jeugdpsychiater', 'kjp', NULL),
 ('discipline', 'ouderenpsychiater', 'ouderenpsychiater', NULL),
 ('discipline', 'ouderenpsychiater', 'ouderenpsychiatrie', NULL),
 ('discipline', 'ouderenpsychiater', 'gerontopsychiater', NULL),
 ('discipline', 'ouderenpsychiater', 'gerontopsychiatrie', NULL),
 -- expertise
 ('expertise', 'angst', 'angst', 'any'),
 ('expertise', 'angst', 'angststoornis', NULL),
 ('expertise', 'angst', 'angstig', NULL),
 ('expertise', 'angst', 'paniek', 'begin'),
 ('expertise', 'angst', 'paniekstoornis', NULL),
 ('expertise', 'angst', 'fobie', 'any'),
 ('expertise', 'angst', 'sociale fobie', NULL),
 ('expertise', 'angst', 'hypochondrie', NULL),
 ('expertise', 'angst', 'gegeneraliseerde angststoornis', NULL),
 ('expertise', 'angst', 'ocd', NULL),
 ('expertise', 'angst', 'dwangstoornis', NULL),
 ('expertise', 'angst', 'obsessieve compulsieve stoornis', NULL),
 ('expertise', 'angst', 'dwang', 'begin'),
 ('expertise', 'depressie', 'depressie', 'any'),
 ('expertise', 'depressie', 'depressief', NULL),
 ('expertise', 'depressie', 'depressieve klachten', NULL),
 ('expertise', 'depressie', 'somberheid', NULL),
 ('expertise', 'depressie', 'dysthymie', NULL),
 ('expertise', 'depressie', 'stemmingsstoornis', NULL),
 ('expertise', 'psychose', 'psychose', 'any'),
 ('expertise', 'psychose', 'psychotisch', NULL),
 ('expertise', 'psychose', 'schizofrenie', NULL),
 ('expertise', 'psychose', 'wanen', NULL),
 ('expertise', 'psychose', 'hallucinaties', NULL),
 ('expertise', 'bipolair', 'bipolair', NULL),
 ('expertise', 'bipolair', 'bipolaire stoornis', NULL),
 ('expertise', 'bipolair', 'manisch depressief', NULL),
 ('expertise', 'bipolair', 'manie', NULL),
 ('expertise', 'bipolair', 'manisch', NULL),
 ('expertise', 'persoonlijkheid', 'persoonlijkheid', 'begin'),
 ('expertise', 'persoonlijkheid', 'persoonlijkheidsproblematiek', NULL),
 ('expertise', 'persoonlijkheid', 'persoonlijkheidsstoornis', NULL),
 ('expertise', 'persoonlijkheid', 'borderline', NULL),
 ('expertise', 'autisme', 'autisme', 'begin'),
 ('expertise', 'autisme', 'autistisch', NULL),
 ('expertise', 'autisme', 'ass', NULL),
 ('expertise', 'autisme', 'autismespectrumstoornis', NULL),
 ('expertise', 'autisme', 'asperger', NULL),
 ('expertise', 'adhd', 'adhd', 'begin'),
 ('expertise', 'adhd', 'add', NULL),
 ('expertise', 'adhd', 'aandachtstekortstoornis', NULL),
 ('expertise', 'adhd', 'aandachtstekort', NULL),
 ('expertise', 'adhd', 'aandachtstekortstoornis met hyperactiviteit', NULL),
 ('expertise', 'adhd', 'hyperactiviteit', NULL),
 ('expertise', 'trauma', 'trauma', 'any'),
 ('expertise', 'trauma', 'ptss', NULL),
 ('expertise', 'trauma', 'ptsd', NULL),
 ('expertise', 'trauma', 'posttraumatische stressstoornis', NULL),
 ('expertise', 'trauma', 'traumatisch', NULL),
 ('expertise', 'trauma', 'traumagerelateerd', NULL),
 ('expertise', 'verslaving', 'verslaving', 'any'),
 ('expertise', 'verslaving', 'verslaafd', NULL),
 ('expertise', 'verslaving', 'middelengebruik', NULL),
 ('expertise', 'verslaving', 'middelenmisbruik', NULL),
 ('expertise', 'verslaving', 'alcohol', 'begin'),
 ('expertise', 'verslaving', 'drugs', 'begin'),
 ('expertise', 'verslaving', 'gokken', NULL),
 ('expertise', 'verslaving', 'cannabis', NULL),
 ('expertise', 'verslaving', 'dubbele diagnose', NULL),
 ('expertise', 'eetstoornis', 'eetstoornis', 'any'),
 ('expertise', 'eetstoornis', 'eetprobleem', NULL),
 ('expertise', 'eetstoornis', 'anorexia', NULL),
 ('expertise', 'eetstoornis', 'anorexia nervosa', NULL),
 ('expertise', 'eetstoornis', 'boulimia', NULL),
 ('expertise', 'eetstoornis', 'boulimia nervosa', NULL),
 ('expertise', 'eetstoornis', 'eetbuistoornis', NULL),
 ('expertise', 'eetstoornis', 'eetbui', 'begin'),
 ('expertise', 'medicatie', 'medicatie', 'any'),
 ('expertise', 'medicatie', 'medicijnen', NULL),
 ('expertise', 'medicatie', 'farmacotherapie', NULL),
 ('expertise', 'medicatie', 'psychofarmaca', NULL),
 ('expertise', 'medicatie', 'polyfarmacie', NULL),
 ('expertise', 'medicatie', 'bijwerkingen', NULL),
 ('expertise', 'medicatie', 'antidepressiva', NULL),
 ('expertise', 'medicatie', 'antipsychotica', NULL),
 ('expertise', 'medicatie', 'lithium', NULL),
 ('expertise', 'suicidaliteit', 'suicidaliteit', NULL),
 ('expertise', 'suicidaliteit', 'suicide', 'begin'),
 ('expertise', 'suicidaliteit', 'suicidaal', NULL),
 ('expertise', 'suicidaliteit', 'zelfmoord', 'begin'),
 ('expertise', 'suicidaliteit', 'zelfdoding', NULL),
 ('expertise', 'suicidaliteit', 'doodswens', NULL),
 ('expertise', 'slaap', 'slaap', 'begin'),
 ('expertise', 'slaap', 'slaapproblemen', NULL),
 ('expertise', 'slaap', 'slapeloosheid', NULL),
 ('expertise', 'slaap', 'insomnia', NULL),
 ('expertise', 'slaap', 'insomnie', NULL),
 ('expertise', 'slaap', 'slecht slapen', NULL),
 ('expertise', 'rouw', 'rouw', 'begin'),
 ('expertise', 'rouw', 'rouw en verlies', NULL),
 ('expertise', 'rouw', 'verlies', NULL),
 ('expertise', 'rouw', 'rouwverwerking', NULL),
 ('expertise', 'rouw', 'nabestaanden', NULL),
 ('expertise', 'somatisch', 'solk', NULL),
 ('expertise', 'somatisch', 'somatisch', NULL),
 ('expertise', 'somatisch', 'somatisch onvoldoende verklaarde klachten', NULL),
 ('expertise', 'somatisch', 'somatisch onvoldoende verklaarde lichamelijke klachten', NULL),
 ('expertise', 'somatisch', 'onvoldoende verklaarde klachten', NULL),
 ('expertise', 'somatisch', 'lichamelijke klachten', NULL),
 ('expertise', 'somatisch', 'somatoforme stoornis', NULL),
 ('expertise', 'somatisch', 'somatisch symptoomstoornis', NULL),
 -- target groups
 ('target_group', 'jeugd', 'jeugd', 'begin'),
 ('target_group', 'jeugd', 'jongeren', NULL),
 ('target_group', 'jeugd', 'kinderen', NULL),
 ('target_group', 'jeugd', 'kind', NULL),
 ('target_group', 'jeugd', 'adolescenten', NULL),
 ('target_group', 'jeugd', 'tieners', NULL),
 ('target_group', 'jeugd', 'puber', NULL),
 ('target_group', 'volwassenen', 'volwassenen', NULL),
 ('target_group', 'volwassenen', 'volwassene', NULL),
 ('target_group', 'ouderen', 'ouderen', 'begin'),
 ('target_group', 'ouderen', 'hoge leeftijd', NULL),
 ('target_group', 'ouderen', 'senioren', NULL),
 ('target_group', 'ouderen', 'bejaarden', NULL),
 ('target_group', 'epa', 'epa', NULL),
 ('target_group', 'epa', 'ernstige psychische aandoeningen', NULL),
 ('target_group', 'epa', 'ernstige psychiatrische aandoeningen', NULL),
 ('target_group', 'lvb', 'lvb', NULL),
 ('target_group', 'lvb', 'licht verstandelijke beperking', NULL),
 ('target_group', 'lvb', 'licht verstandelijk beperkt', NULL),
 ('target_group', 'lvb', 'verstandelijke beperking', NULL),
 ('target_group', 'lvb', 'zwakbegaafd', NULL),
 ('target_group', 'perinataal', 'perinataal', NULL),
 ('target_group', 'perinataal', 'zwangerschap', 'begin'),
 ('target_group', 'perinataal', 'zwanger', NULL),
 ('target_group', 'perinataal', 'kraamtijd', NULL),
 ('target_group', 'perinataal', 'kraambed', NULL),
 ('target_group', 'perinataal', 'postpartum', NULL),
 ('target_group', 'perinataal', 'postnatale depressie', NULL),
 ('target_group', 'perinataal', 'bevalling', NULL);

-- The search units of a text, in order: each listed term it names as its concept lexeme
-- (`expertise_angst`, `target_group_jeugd`, `discipline_psychiater`: the underscore keeps them
-- apart from typed words, which are split on it), every other word as its Dutch stem. `concept`
-- tells the two apart; `sources` holds each unit's words as written (folded). Per word, in this
-- order:
--   1. the longest run of up to four words, from this one, whose key is a listed term's
--      ("angst stoornis", "posttraumatische stressstoornis", "ouderenpsychiater");
--   2. a listed part that the word begins with, or (for 'any' parts) whose stem the word's stem
--      ends with ("angstklachten", "gokverslavingen"), the longest part first;
--   3. its own stem.
-- Stop words are left out, as are one-character words. The same function reads a query and a
-- profile's text, so the two always meet.
CREATE FUNCTION directory_units(t text, OUT lexemes text[], OUT concepts boolean[],
                                OUT sources text[])
LANGUAGE plpgsql STABLE
-- Its plans do not depend on the text: made once per connection, not on every call (planning
-- cost more than running). The statements read arrays (estimated at 10 elements), not
-- generate_series() of an unknown count (1,000 rows), which priced a generic plan high enough to
-- be JIT-compiled on every call.
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    words text[];
    stems text[];
    run_len int[]; -- per word: the length of the longest listed run from it (0: none)
    run_lex text[];
    part_lex text[];
    n int;
    i int := 1;
BEGIN
    lexemes := '{}';
    concepts := '{}';
    sources := '{}';
    SELECT coalesce(array_agg(x.w ORDER BY x.n), '{}'), coalesce(array_agg(x.s ORDER BY x.n), '{}')
      INTO words, stems
      FROM (SELECT r.w, r.n, directory_stem(r.w) AS s
              FROM regexp_split_to_table(fold(t), '[^a-z0-9]+') WITH ORDINALITY r(w, n)
             WHERE length(r.w) >= 2) x
     WHERE x.s IS NOT NULL;
    n := cardinality(stems);
    IF n = 0 THEN
        RETURN;
    END IF;
    -- Every word's longest listed run and its longest part, in one statement over all words:
    -- the runs' keys are looked up in search_terms_key_key, the parts (a few dozen) joined.
    SELECT array_agg(coalesce(r.len, 0) ORDER BY g.i), array_agg(r.lex ORDER BY g.i),
           array_agg(p.lex ORDER BY g.i)
      INTO run_len, run_lex, part_lex
      FROM unnest(stems) WITH ORDINALITY g(stem, i)
      LEFT JOIN (SELECT DISTINCT ON (c.i) c.i, c.len, st.kind || '_' || st.code AS lex
                   FROM (SELECT s.i, l.len, array_to_string(stems[s.i : s.i + l.len - 1], '') AS k
                           FROM unnest(stems) WITH ORDINALITY s(stem, i),
                                unnest('{1,2,3,4}'::int[]) l(len)
                          WHERE s.i + l.len - 1 <= n) c
                   JOIN search_terms st ON st.key = c.k
                  ORDER BY c.i, c.len DESC) r ON r.i = g.i
      LEFT JOIN (SELECT DISTINCT ON (w.i) w.i, st.kind || '_' || st.code AS lex
                   FROM unnest(words, stems) WITH ORDINALITY w(word, stem, i)
                   JOIN search_terms st
                     ON st.part IS NOT NULL
                    AND ((length(w.word) > length(st.term) AND starts_with(w.word, st.term))
                         OR (st.part = 'any' AND length(w.stem) > length(st.key)
                             AND right(w.stem, length(st.key)) = st.key))
                  ORDER BY w.i, length(st.term) DESC, st.term) p ON p.i = g.i;
    WHILE i <= n LOOP
        IF run_len[i] > 0 THEN
            lexemes := lexemes || run_lex[i];
            concepts := concepts || true;
            sources := sources || array_to_string(words[i : i + run_len[i] - 1], ' ');
            i := i + run_len[i];
        ELSE
            lexemes := lexemes || coalesce(part_lex[i], stems[i]);
            concepts := concepts || (part_lex[i] IS NOT NULL);
            sources := sources || words[i];
            i := i + 1;
        END IF;
    END LOOP;
END
$$;

-- A text's concepts as a tsvector: each concept lexeme at the positions where the text names it,
-- so that ts_rank() counts a concept named twice as a word written twice.
CREATE FUNCTION directory_mentions(t text) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(format('%L:%s', m.lexeme, m.positions), ' '), '')::tsvector
      FROM (SELECT x.l AS lexeme, string_agg(least(x.n, 16383)::text, ',' ORDER BY x.n) AS positions
              FROM directory_units(t) u, unnest(u.lexemes, u.concepts) WITH ORDINALITY x(l, c, n)
             WHERE x.c
             GROUP BY x.l) m
$$;

-- One row per consultant user (made by a trigger when the user is created), so the directory is
-- one table with its own indexes; `name` and `active` mirror the user.
CREATE TABLE consultant_profiles (
    user_id        uuid PRIMARY KEY REFERENCES users (id),
    discipline     text,
    expertise      text[] NOT NULL DEFAULT '{}',
    target_groups  text[] NOT NULL DEFAULT '{}',
    regions        text[] NOT NULL DEFAULT '{}',
    modes          text[] NOT NULL DEFAULT '{}',
    languages      text[] NOT NULL DEFAULT '{}',
    accepting      boolean NOT NULL DEFAULT false,
    bio            text NOT NULL DEFAULT '',
    response_days  int NOT NULL DEFAULT 3 CHECK (response_days BETWEEN 1 AND 10),
    name           text NOT NULL,
    active         boolean NOT NULL,
    search_doc     tsvector NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX consultant_profiles_doc ON consultant_profiles USING gin (search_doc);
-- The filters of a page planned for its values (a filter few profiles pass).
CREATE INDEX consultant_profiles_arrays ON consultant_profiles
    USING gin (expertise, target_groups, regions, modes, languages);
-- Filter-only pages walk this index in page order and test the vocabulary filters on its own
-- columns (an index-only scan): no heap fetch for the rows they reject. Those lists are short
-- codes, a few hundred bytes at most; `regions` stays out, since 30 slugs of 64 characters beside
-- a long name would pass btree's limit of 2,704 bytes an entry and make the profile unwritable
-- (directory_regions holds them).
CREATE INDEX consultant_profiles_browse ON consultant_profiles ((NOT accepting), name, user_id)
    INCLUDE (accepting, expertise, target_groups, modes, languages) WHERE active;

-- What `who` may do with a profile: every signed-in user reads the directory ('read'); the
-- consultant it belongs to and admins edit it ('edit').
CREATE FUNCTION consultant_profile_access(p consultant_profiles, who principal) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN who.role = 'admin' OR p.user_id = who.id THEN 'edit' ELSE 'read' END
$$;

-- Every word a search may be corrected towards (names, labels, bios), folded. A typo is looked up
-- with `word % w` (directory_query_corrected) through a GiST trigram index: PostgreSQL estimates a
-- GIN one dearer than comparing w with every word, and so would not use it.
CREATE TABLE directory_words (
    word  text PRIMARY KEY
);
CREATE INDEX directory_words_trgm ON directory_words USING gist (word gist_trgm_ops);
-- The lexicon's words, so that a misspelt synonym is corrected as well.
INSERT INTO directory_words (word)
    SELECT DISTINCT w FROM search_terms, regexp_split_to_table(term, '[^a-z0-9]+') w
     WHERE length(w) >= 3;

-- The labels of a profile's discipline, expertise and target groups.
CREATE FUNCTION directory_labels(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(v.label, ' ' ORDER BY v.kind, v.position) FROM vocabulary v
     WHERE (v.kind = 'discipline' AND v.code = p.discipline)
        OR (v.kind = 'expertise' AND v.code = ANY (p.expertise))
        OR (v.kind = 'target_group' AND v.code = ANY (p.target_groups))
$$;

-- The profile's codes as concept lexemes (directory_units), one position each.
CREATE FUNCTION directory_codes(p consultant_profiles) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(format('%L:1', x.c), ' '), '')::tsvector
      FROM (SELECT 'discipline_' || p.discipline WHERE p.discipline IS NOT NULL
            UNION ALL SELECT 'expertise_' || e FROM unnest(p.expertise) e
            UNION ALL SELECT 'target_group_' || g FROM unnest(p.target_groups) g) x(c)
$$;

-- The name of the profile's organisation ('' for none).
CREATE FUNCTION directory_organisation(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT o.name FROM users u JOIN organisations o ON o.id = u.organisation_id
                      WHERE u.id = p.user_id), '')
$$;

-- What a profile is found by, weighted for ts_rank() (docs/search.md): its codes and its name
-- (A: an expert, or the person asked for), its organisation's name and what that names (B), its
-- labels' words (C), its bio's words and what they name (D). An expert so ranks above anyone whose
-- bio merely mentions the concept, however often.
CREATE FUNCTION directory_search_doc(p consultant_profiles) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('overleg_nl', p.name), 'A')
        || setweight(directory_codes(p), 'A')
        || setweight(to_tsvector('overleg_nl', o.name) || directory_mentions(o.name), 'B')
        || setweight(to_tsvector('overleg_nl', coalesce(directory_labels(p), '')), 'C')
        || to_tsvector('overleg_nl', p.bio) || directory_mentions(p.bio)
      FROM (SELECT directory_organisation(p) AS name) o
$$;

-- Every word of a profile a typo may be corrected towards, as one text.
CREATE FUNCTION directory_text(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws(' ', p.name, directory_organisation(p), directory_labels(p), p.bio)
$$;

CREATE FUNCTION consultant_profiles_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_doc := directory_search_doc(NEW);
    INSERT INTO directory_words (word)
        SELECT DISTINCT w FROM regexp_split_to_table(fold(directory_text(NEW)), '[^a-z0-9]+') w
         WHERE length(w) >= 3
        ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;
CREATE TRIGGER consultant_profiles_index BEFORE INSERT OR UPDATE ON consultant_profiles
    FOR EACH ROW EXECUTE FUNCTION consultant_profiles_index();

-- Consultant users get their directory row at once; renames and (de)activation follow.
CREATE FUNCTION users_directory() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO consultant_profiles (user_id, name, active, search_doc, updated_at)
        VALUES (NEW.id, NEW.name, NEW.active, ''::tsvector, NEW.created_at);
    ELSE
        UPDATE consultant_profiles SET name = NEW.name, active = NEW.active
         WHERE user_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_directory_insert AFTER INSERT ON users
    FOR EACH ROW WHEN (NEW.role = 'consultant') EXECUTE FUNCTION users_directory();
CREATE TRIGGER users_directory_update AFTER UPDATE OF name, active ON users
    FOR EACH ROW WHEN (NEW.role = 'consultant'
                       AND (OLD.name, OLD.active) IS DISTINCT FROM (NEW.name, NEW.active))
    EXECUTE FUNCTION users_directory();

-- -------------------------------------------------------------------------------------------
-- Cards: a consultant's JSON (API.md §7) apart from the live `stats`, kept ready in
-- consultant_cards, a narrow table of its own, so that a page reads one row per item and the
-- search's scans over consultant_profiles do not read it. A card is kept open: the JSON without
-- its closing brace, up to `"stats": `, so that a reply appends the live stats and the brace
-- without reading the card (consultant_item). The stats are measured from consultations:
-- consultant_stats_of() and consultant_json() are in sql/0003_consultations.sql.
-- -------------------------------------------------------------------------------------------

-- The card's JSON, closed.
CREATE FUNCTION consultant_card_json(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.user_id, 'name', p.name, 'discipline', p.discipline,
        'organisation', (SELECT jsonb_build_object('id', o.id, 'name', o.name)
                           FROM users u JOIN organisations o ON o.id = u.organisation_id
                          WHERE u.id = p.user_id),
        'expertise', to_jsonb(p.expertise), 'target_groups', to_jsonb(p.target_groups),
        'regions', to_jsonb(p.regions), 'modes', to_jsonb(p.modes),
        'languages', to_jsonb(p.languages), 'accepting', p.accepting, 'bio', p.bio,
        'response_days', p.response_days)::text
$$;

-- The card as stored: open, ready for the stats.
CREATE FUNCTION consultant_card(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT left(consultant_card_json(p), -1) || ', "stats": '
$$;

-- A card closed with the stats' text (consultant_stats_of): plain text joining, as a jsonb step
-- would parse the card again.
CREATE FUNCTION consultant_item(card text, stats text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT card || stats || '}'
$$;

-- The same with the stats as jsonb (consultant_stats), for consultant_json().
CREATE FUNCTION consultant_item(card text, stats jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT card || stats::text || '}'
$$;

CREATE TABLE consultant_cards (
    user_id  uuid PRIMARY KEY REFERENCES consultant_profiles (user_id) ON DELETE CASCADE,
    card     text NOT NULL
);

-- A card is built from the profile, the user and the organisation. A concurrent organisation
-- rename must not leave a card built from what either side saw before the other committed: this
-- trigger first share-locks the organisation row, so it waits for a rename in progress, and the
-- card is built by the next statement, which sees the rename (each statement here reads what was
-- committed when it starts); a rename that comes later waits for this transaction, and its
-- trigger then reads this profile.
CREATE FUNCTION consultant_cards_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users u JOIN organisations o ON o.id = u.organisation_id
      WHERE u.id = NEW.user_id FOR SHARE OF o;
    INSERT INTO consultant_cards (user_id, card) VALUES (NEW.user_id, consultant_card(NEW))
    ON CONFLICT (user_id) DO UPDATE SET card = EXCLUDED.card;
    RETURN NULL;
END
$$;
CREATE TRIGGER consultant_cards_sync AFTER INSERT OR UPDATE ON consultant_profiles
    FOR EACH ROW EXECUTE FUNCTION consultant_cards_sync();

-- The card names the organisation, and a search finds its consultants by its name: a rename
-- reaches both by touching its consultants' profiles, whose triggers build the search text, the
-- postings and the card again (each reads the new name: the rename's own transaction).
CREATE FUNCTION organisations_directory() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE consultant_profiles p SET updated_at = p.updated_at
      FROM users u WHERE u.id = p.user_id AND u.organisation_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisations_directory AFTER UPDATE OF name ON organisations
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION organisations_directory();

-- -------------------------------------------------------------------------------------------
-- Postings: what a search reads instead of ranking every match of a broad word.
-- -------------------------------------------------------------------------------------------

-- Every filter code a profile holds, as "kind:code", numbered once, so that a posting carries its
-- profile's filters as small integers. Codes are never removed: a code without a number is one no
-- profile ever held, so no active profile passes its filter.
CREATE TABLE directory_keys (
    id   int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key  text NOT NULL UNIQUE
);

-- Per word of an active profile's search_doc, the rank that ts_rank() gives a query of that word
-- alone, and the profile's filter numbers (directory_keys). A search reads a word's postings in
-- rank order from the front of directory_terms_rank, testing the filters index-only; several
-- words merge their postings in profile order (directory_terms_postings). Relevance of several
-- words is the sum of each word's own rank, so it is read here too, without the profiles' heap.
-- Active profiles only, so that a search without filters reads no profile row at all.
CREATE TABLE directory_terms (
    lexeme   text NOT NULL,
    user_id  uuid NOT NULL REFERENCES consultant_profiles (user_id) ON DELETE CASCADE,
    rank     real NOT NULL,
    keys     int[] NOT NULL DEFAULT '{}'
);
CREATE INDEX directory_terms_rank ON directory_terms (lexeme, rank DESC, user_id) INCLUDE (keys);
CREATE INDEX directory_terms_user ON directory_terms (user_id);
-- The postings of a word in profile order, with their rank: what the merge join reads.
CREATE INDEX directory_terms_postings ON directory_terms (lexeme, user_id) INCLUDE (rank);

-- A search looks up stems of words split on anything but a-z and 0-9, and concept lexemes
-- (directory_units), so only such lexemes can ever be looked up; hyphenated compounds and the
-- like stay out.
CREATE FUNCTION directory_terms_of(doc tsvector) RETURNS TABLE (lexeme text, rank real)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u.lexeme, ts_rank(doc, ('''' || u.lexeme || '''')::tsquery)
      FROM unnest(doc) u
     WHERE u.lexeme ~ '^[a-z0-9_]+$'
$$;

-- The filter codes of a profile's columns (API.md §7), as directory_keys spells them.
CREATE FUNCTION directory_key_names(
    expertise text[], target_groups text[], regions text[], modes text[], languages text[],
    accepting boolean) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(SELECT 'expertise:' || c FROM unnest(expertise) c
                 UNION ALL SELECT 'target_group:' || c FROM unnest(target_groups) c
                 UNION ALL SELECT 'region:' || c FROM unnest(regions) c
                 UNION ALL SELECT 'mode:' || c FROM unnest(modes) c
                 UNION ALL SELECT 'language:' || c FROM unnest(languages) c
                 UNION ALL SELECT 'accepting:' || accepting)
$$;

-- A profile's filter codes as numbers, in order; numbers new codes.
CREATE FUNCTION directory_keys_of(p consultant_profiles) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
    names text[] := directory_key_names(p.expertise, p.target_groups, p.regions, p.modes,
                                        p.languages, p.accepting);
BEGIN
    INSERT INTO directory_keys (key)
        SELECT DISTINCT n FROM unnest(names) n ORDER BY n ON CONFLICT (key) DO NOTHING;
    RETURN ARRAY(SELECT k.id FROM directory_keys k WHERE k.key = ANY (names) ORDER BY k.id);
END
$$;

-- The postings follow the profile's text, its filter columns and whether it is active.
CREATE FUNCTION directory_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys int[];
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.search_doc = NEW.search_doc
       AND (OLD.active, OLD.expertise, OLD.target_groups, OLD.regions, OLD.modes, OLD.languages,
            OLD.accepting)
           IS NOT DISTINCT FROM (NEW.active, NEW.expertise, NEW.target_groups, NEW.regions,
                                 NEW.modes, NEW.languages, NEW.accepting) THEN
        RETURN NULL;
    END IF;
    DELETE FROM directory_terms WHERE user_id = NEW.user_id;
    IF NEW.active THEN
        keys := directory_keys_of(NEW);
        INSERT INTO directory_terms (lexeme, user_id, rank, keys)
            SELECT t.lexeme, NEW.user_id, t.rank, keys FROM directory_terms_of(NEW.search_doc) t;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER directory_terms_sync AFTER INSERT OR UPDATE ON consultant_profiles
    FOR EACH ROW EXECUTE FUNCTION directory_terms_sync();

-- -------------------------------------------------------------------------------------------
-- Free-text search: directory_search() takes q itself and finds its page in one statement.
-- Relevance with q is the sum, over its words, of the rank each word alone has in the profile:
-- ts_rank() of that word's tsquery (its stem; for a corrected word, the OR of its corrections).
-- -------------------------------------------------------------------------------------------

-- q as typed: its search units' lexemes (directory_units), each once. PL/pgSQL, which keeps
-- its plan: an SQL function with a subquery is not inlined and would be planned on every call.
CREATE FUNCTION directory_lexemes(q text) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ARRAY(SELECT DISTINCT l FROM unnest((directory_units(q)).lexemes) l ORDER BY 1);
END
$$;

-- Per unit of q (directory_units), its tsquery, where each plain word of at least 4 characters
-- that matches no active profile is replaced by the lexemes of the closest directory words
-- (trigram similarity, at most 5, OR-ed); NULL when no word was replaced, i.e. when the search as
-- typed is all there is. A listed term is never a typo. A word that matches no one is replaced
-- rather than kept beside its corrections: it matched nothing, so the results are the same, and a
-- word with one correction stays a single lexeme that directory_terms answers.
CREATE FUNCTION directory_query_corrected(q text) RETURNS tsquery[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u record;
    part tsquery;
    corrected tsquery;
    parts tsquery[] := '{}';
    changed boolean := false;
BEGIN
    FOR u IN SELECT x.l, x.c, x.w FROM directory_units(q) d,
                    unnest(d.lexemes, d.concepts, d.sources) WITH ORDINALITY x(l, c, w, n)
              ORDER BY x.n LOOP
        part := quote_literal(u.l)::tsquery;
        -- Only a word that finds nothing as typed is a typo: correcting words that do match
        -- would drown them in look-alikes ("verslavingen" ~ "verwijzingen").
        IF NOT u.c AND length(u.w) >= 4
           AND NOT EXISTS (SELECT 1 FROM directory_terms t WHERE t.lexeme = u.l) THEN
            -- The corrections' distinct lexemes in a fixed order, so that equal sets compare
            -- equal below ("olifnt" -> olifant, olifanten: one stem).
            SELECT string_agg(DISTINCT quote_literal(l), ' | ' ORDER BY quote_literal(l))::tsquery
              INTO corrected
              FROM (SELECT dw.word FROM directory_words dw WHERE dw.word % u.w
                     ORDER BY similarity(dw.word, u.w) DESC, dw.word LIMIT 5) d,
                   unnest(directory_lexemes(d.word)) l;
            IF corrected IS NOT NULL THEN
                part := corrected;
                changed := true;
            END IF;
        END IF;
        IF part = ANY (parts) THEN
            CONTINUE; -- the same stem, or the same corrections, as an earlier word: once
        END IF;
        parts := parts || part;
    END LOOP;
    RETURN CASE WHEN changed THEN parts END;
END
$$;

-- The list filters (API.md §7) on a profile's columns; a NULL filter is not given. Inlined into
-- the queries that use it.
CREATE FUNCTION directory_filters_pass(
    expertise text[], target_groups text[], regions text[], modes text[], languages text[],
    accepting boolean, f_expertise text, f_target_group text, f_region text, f_mode text,
    f_language text, f_accepting boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (f_expertise IS NULL OR expertise @> ARRAY[f_expertise])
       AND (f_target_group IS NULL OR target_groups @> ARRAY[f_target_group])
       AND (f_region IS NULL OR regions @> ARRAY[f_region])
       AND (f_mode IS NULL OR modes @> ARRAY[f_mode])
       AND (f_language IS NULL OR languages @> ARRAY[f_language])
       AND (f_accepting IS NULL OR accepting = f_accepting)
$$;

-- The numbers of the filters given (NULL: not given), as directory_keys numbers them: '{}' when
-- none is given, NULL when a code given has no number (no profile passes). PL/pgSQL, which keeps
-- its plan: an SQL function with a FROM clause is not inlined and would be planned on every call.
-- The kinds' prefixes keep the names distinct, so counting them is enough.
CREATE FUNCTION directory_filter_keys(
    f_expertise text, f_target_group text, f_region text, f_mode text, f_language text,
    f_accepting boolean) RETURNS int[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    names text[] := array_remove(ARRAY['expertise:' || f_expertise,
        'target_group:' || f_target_group, 'region:' || f_region, 'mode:' || f_mode,
        'language:' || f_language, 'accepting:' || f_accepting], NULL);
    ids int[] := ARRAY(SELECT k.id FROM directory_keys k WHERE k.key = ANY (names) ORDER BY k.id);
BEGIN
    RETURN CASE WHEN cardinality(ids) = cardinality(names) THEN ids END;
END
$$;

-- The distinct ranks ("bands") of a word's postings, best first: a loose scan of
-- directory_terms_rank, one index probe per band. Words have few: ts_rank() of one word depends
-- only on how often and where (name or text) it stands.
CREATE FUNCTION directory_bands(word text) RETURNS real[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL keeps the plan; an SQL function's would be made again on every call.
    RETURN (WITH RECURSIVE b(r) AS (
                SELECT max(t.rank) FROM directory_terms t WHERE t.lexeme = word
                UNION ALL
                SELECT (SELECT max(t.rank) FROM directory_terms t
                         WHERE t.lexeme = word AND t.rank < b.r)
                  FROM b WHERE b.r IS NOT NULL)
            SELECT coalesce(array_agg(r ORDER BY r DESC), '{}') FROM b WHERE r IS NOT NULL);
END
$$;

-- A band's size (a word's postings of one rank), estimated from its first 32 postings in id
-- order: ids are random (gen_random_uuid()), so the share of all ids below the 32nd is about 32
-- of the band's size. Exact below 32. directory_few_words() only needs the sizes to choose which
-- band to read and when to give up, so an estimate changes its speed, never its results.
CREATE FUNCTION directory_band_size(word text, band real) RETURNS int
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- PL/pgSQL keeps the plan; an SQL function's would be made again on every call.
    RETURN (SELECT CASE WHEN count(*) < 32 THEN count(*)::int
                        ELSE least(32 / greatest(('x' || left(replace(
                                 (array_agg(x.user_id ORDER BY x.user_id DESC))[1]::text, '-', ''),
                                 12))::bit(48)::bigint / 281474976710656.0, 1e-9), 1e9)::int END
              FROM (SELECT t.user_id FROM directory_terms t WHERE t.lexeme = word AND t.rank = band
                     ORDER BY t.user_id LIMIT 32) x);
END
$$;

-- A page of a search of two or three units without reading every posting of each. The
-- consultants with rank band r1 of the first, r2 of the second (and r3 of the third) rank
-- (r1 + r2 [+ r3]); going through the band tuples from the best sum down, each tuple's consultants
-- come in id order from its smallest band's postings (ordered by id within a band in
-- directory_terms_rank), each looked up in the other units' postings, so a page usually needs a
-- few dozen postings of the best bands. `want`: the filters as directory_filter_keys() numbers
-- them ('{}': none), tested on the postings. Gives up (NULL) when that would not pay: more than 64
-- band tuples, a tuple whose first `cap` postings of the smallest band do not fill the page while
-- it has more, or more than 4 x `cap` postings to read in all (sizes estimated before reading,
-- directory_band_size); the caller then merges all postings. Same order as that merge: rank (the
-- sum in the units' order, as a real), then id. `cap` is 1,000 (overleg.directory_band_cap, for
-- tests). Large bands that share many consultants (a common expertise and target group, "adhd
-- volwassenen", "jongere met eetstoornis en autisme") so fill a page from a few dozen postings
-- instead of merging tens of thousands.
CREATE FUNCTION directory_few_words(
    words text[], want int[], after_rank real, after_id uuid, lim int,
    OUT ids uuid[], OUT ranks real[])
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    cap constant int := coalesce(nullif(current_setting('overleg.directory_band_cap', true),
                                        '')::int, 1000);
    three constant boolean := cardinality(words) = 3;
    bands1 real[] := directory_bands(words[1]);
    bands2 real[] := directory_bands(words[2]);
    -- two units: a third of one band of rank 0 that is never read (its size is the largest)
    bands3 real[] := CASE WHEN three THEN directory_bands(words[3]) ELSE '{0}' END;
    size1 int[];
    size2 int[];
    size3 int[];
    budget int := 4 * cap;
    need int := lim;
    grp record;
    found uuid[];
    pair uuid[];
    d int; -- the unit whose band drives
    tuple_words text[];
    tuple_ranks real[];
    tuple_sizes int[];
    o_words text[];
    o_ranks real[];
BEGIN
    IF cardinality(bands1) * cardinality(bands2) * cardinality(bands3) > 64 THEN
        RETURN;
    END IF;
    size1 := ARRAY(SELECT directory_band_size(words[1], b.r) FROM unnest(bands1) b(r));
    size2 := ARRAY(SELECT directory_band_size(words[2], b.r) FROM unnest(bands2) b(r));
    size3 := CASE WHEN three THEN ARRAY(SELECT directory_band_size(words[3], b.r)
                                          FROM unnest(bands3) b(r))
                  ELSE ARRAY[2147483647] END;
    ids := '{}';
    ranks := '{}';
    FOR grp IN SELECT (b1.r::float8 + b2.r + b3.r)::real AS rank, array_agg(b1.i) AS i1s,
                      array_agg(b2.i) AS i2s, array_agg(b3.i) AS i3s
                 FROM unnest(bands1) WITH ORDINALITY b1(r, i),
                      unnest(bands2) WITH ORDINALITY b2(r, i),
                      unnest(bands3) WITH ORDINALITY b3(r, i)
                GROUP BY 1 ORDER BY 1 DESC LOOP
        CONTINUE WHEN grp.rank > after_rank; -- before the cursor
        found := '{}';
        FOR k IN 1 .. cardinality(grp.i1s) LOOP -- the band tuples of this sum
            tuple_words := words[1:2] || CASE WHEN three THEN words[3] END;
            tuple_ranks := ARRAY[bands1[grp.i1s[k]], bands2[grp.i2s[k]], bands3[grp.i3s[k]]];
            tuple_sizes := ARRAY[size1[grp.i1s[k]], size2[grp.i2s[k]], size3[grp.i3s[k]]];
            -- The smallest band drives, `cap` of its postings at most.
            d := CASE WHEN tuple_sizes[1] <= least(tuple_sizes[2], tuple_sizes[3]) THEN 1
                      WHEN tuple_sizes[2] <= tuple_sizes[3] THEN 2 ELSE 3 END;
            budget := budget - least(tuple_sizes[d], cap);
            IF budget < 0 THEN
                ids := NULL;
                ranks := NULL;
                RETURN;
            END IF;
            o_words := ARRAY(SELECT tuple_words[j] FROM generate_series(1, 3) j
                              WHERE j <> d AND tuple_words[j] IS NOT NULL ORDER BY j);
            o_ranks := ARRAY(SELECT tuple_ranks[j] FROM generate_series(1, 3) j
                              WHERE j <> d AND tuple_words[j] IS NOT NULL ORDER BY j);
            pair := ARRAY(
                SELECT p.user_id
                  FROM (SELECT p.user_id, p.keys FROM directory_terms p
                         WHERE p.lexeme = tuple_words[d] AND p.rank = tuple_ranks[d]
                           AND (after_rank IS NULL OR grp.rank < after_rank OR p.user_id > after_id)
                         ORDER BY p.user_id LIMIT cap) p
                 CROSS JOIN LATERAL (SELECT FROM directory_terms o
                      WHERE o.lexeme = o_words[1] AND o.user_id = p.user_id AND o.rank = o_ranks[1]
                      LIMIT 1) o1
                 WHERE p.keys @> want
                   AND (o_words[2] IS NULL
                        OR EXISTS (SELECT FROM directory_terms o
                                    WHERE o.lexeme = o_words[2] AND o.user_id = p.user_id
                                      AND o.rank = o_ranks[2]))
                 ORDER BY p.user_id LIMIT need);
            -- Short of the page after `cap` postings: the bands share few consultants (or the
            -- filters pass few), and reading on would not pay.
            IF cardinality(pair) < need
               AND (SELECT count(*) FROM (SELECT FROM directory_terms p
                                          WHERE p.lexeme = tuple_words[d] AND p.rank = tuple_ranks[d]
                                            AND (after_rank IS NULL OR grp.rank < after_rank
                                                 OR p.user_id > after_id)
                                          LIMIT cap) x) = cap THEN
                ids := NULL;
                ranks := NULL;
                RETURN;
            END IF;
            found := found || pair;
        END LOOP;
        found := ARRAY(SELECT u FROM unnest(found) u ORDER BY u LIMIT need);
        ids := ids || found;
        ranks := ranks || array_fill(grp.rank, ARRAY[cardinality(found)]);
        need := need - cardinality(found);
        EXIT WHEN need = 0;
    END LOOP;
END
$$;

-- The consultants matching tsquery `tq` and the filters, ranked by the sum of ts_rank() of each
-- of `parts` (tq's words), after the cursor: through the text index, and planned on each call
-- for the values (EXECUTE), so that a selective filter's index is used with it.
CREATE FUNCTION directory_text_matches(
    tq tsquery, parts tsquery[], f_expertise text, f_target_group text, f_region text,
    f_mode text, f_language text, f_accepting boolean, after_rank real, after_id uuid, lim int)
RETURNS TABLE (user_id uuid, rank real)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT r.user_id, r.rank FROM (SELECT p.user_id,'
        || ' (SELECT sum(ts_rank(p.search_doc, w)::float8) FROM unnest($2) w)::real AS rank'
        || ' FROM consultant_profiles p WHERE p.search_doc @@ $1 AND p.active'
        || ' AND directory_filters_pass(p.expertise, p.target_groups, p.regions, p.modes,'
        || ' p.languages, p.accepting, $3, $4, $5, $6, $7, $8)) r'
        || ' WHERE $9::real IS NULL OR r.rank < $9 OR (r.rank = $9 AND r.user_id > $10::uuid)'
        || ' ORDER BY r.rank DESC, r.user_id LIMIT $11'
        USING tq, parts, f_expertise, f_target_group, f_region, f_mode, f_language, f_accepting,
              after_rank, after_id, lim;
END
$$;

-- A search's page, as ranked rows with the reply's JSON. A NULL filter or cursor key is not
-- given. The filters are tested on the postings (one word; two or three by bands). A search that
-- finds no one as typed corrects its typos itself: every word is AND-ed, so a word that matches
-- no one emptied it, and a word is corrected only then (directory_query_corrected); `corrected`
-- given: search with those corrections and no others. The static queries here are planned once
-- per connection (force_generic_plan), as their plans do not depend on the values: planning them
-- per request cost more than running them. The merge of several words' postings and the
-- text-index matches are planned on each call.
CREATE FUNCTION directory_search(
    at timestamptz, q text, corrected tsquery[], f_expertise text, f_target_group text,
    f_region text, f_mode text, f_language text, f_accepting boolean,
    after_rank real, after_id uuid, lim int)
RETURNS TABLE (item text, rank real, user_id uuid)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    -- postings a filtered one-word search looks up at most (overleg.directory_walk, for tests)
    walk constant int := greatest(coalesce(nullif(current_setting('overleg.directory_walk', true),
                                                  '')::int, 2000), 1);
    filtered boolean := num_nonnulls(f_expertise, f_target_group, f_region, f_mode, f_language,
                                     f_accepting) > 0;
    words text[];
    parts tsquery[] := corrected;
    page_ids uuid[];
    page_ranks real[];
    last_rank real;
    last_id uuid;
    tq tsquery;
    sql text;
    want int[] := '{}'; -- the filters' numbers (directory_filter_keys)
BEGIN
    IF filtered THEN
        want := directory_filter_keys(f_expertise, f_target_group, f_region, f_mode, f_language,
                                      f_accepting);
        IF want IS NULL THEN
            RETURN; -- a code no profile ever held: no one passes, corrected or not
        END IF;
    END IF;
    IF corrected IS NULL THEN
        words := directory_lexemes(q);
    ELSIF NOT EXISTS (SELECT FROM unnest(corrected) w WHERE numnode(w) <> 1) THEN
        words := ARRAY(SELECT DISTINCT btrim(w::text, '''') FROM unnest(corrected) w);
    END IF;

    IF cardinality(words) = 0 THEN
        page_ids := '{}'; -- only stop words: no one matches
    ELSIF cardinality(words) = 1 AND NOT filtered THEN
        -- One word: its postings in rank order are the page.
        RETURN QUERY
        SELECT consultant_item(c.card, s.stats), page.rank, page.user_id
          FROM (SELECT t.user_id, t.rank FROM directory_terms t
                 WHERE t.lexeme = words[1]
                   AND (after_rank IS NULL OR t.rank < after_rank
                        OR (t.rank = after_rank AND t.user_id > after_id))
                 ORDER BY t.rank DESC, t.user_id LIMIT lim) page
          JOIN consultant_cards c ON c.user_id = page.user_id
         CROSS JOIN LATERAL consultant_stats_of(page.user_id, at) s
         ORDER BY page.rank DESC, page.user_id;
        IF FOUND THEN
            RETURN;
        END IF;
        page_ids := '{}';
    ELSIF cardinality(words) = 1 THEN
        -- With filters: the postings in rank order, their filter numbers tested index-only,
        -- for `walk` postings at most. When the page is not full by then (a filter few pass),
        -- the text index with the filters ranks the rest, from where the walk stopped:
        -- ts_rank() of the word is its postings' rank.
        SELECT coalesce(array_agg(m.user_id ORDER BY m.rank DESC, m.user_id), '{}'),
               coalesce(array_agg(m.rank ORDER BY m.rank DESC, m.user_id), '{}')
          INTO page_ids, page_ranks
          FROM (SELECT t.user_id, t.rank
                  FROM (SELECT t.user_id, t.rank, t.keys FROM directory_terms t
                         WHERE t.lexeme = words[1]
                           AND (after_rank IS NULL OR t.rank < after_rank
                                OR (t.rank = after_rank AND t.user_id > after_id))
                         ORDER BY t.rank DESC, t.user_id LIMIT walk) t
                 WHERE t.keys @> want
                 ORDER BY t.rank DESC, t.user_id LIMIT lim) m;
        IF cardinality(page_ids) < lim THEN
            SELECT t.rank, t.user_id INTO last_rank, last_id FROM directory_terms t
             WHERE t.lexeme = words[1]
               AND (after_rank IS NULL OR t.rank < after_rank
                    OR (t.rank = after_rank AND t.user_id > after_id))
             ORDER BY t.rank DESC, t.user_id OFFSET walk - 1 LIMIT 1;
            IF FOUND THEN -- the walk stopped before the word's last posting
                tq := quote_literal(words[1])::tsquery;
                SELECT page_ids || coalesce(array_agg(r.user_id ORDER BY r.rank DESC, r.user_id), '{}'),
                       page_ranks || coalesce(array_agg(r.rank ORDER BY r.rank DESC, r.user_id), '{}')
                  INTO page_ids, page_ranks
                  FROM directory_text_matches(tq, ARRAY[tq], f_expertise, f_target_group,
                         f_region, f_mode, f_language, f_accepting, last_rank, last_id,
                         lim - cardinality(page_ids)) r;
            END IF;
        END IF;
    ELSIF cardinality(words) <= 3 THEN
        -- Two or three units: band by band (directory_few_words), NULL when that would not pay.
        SELECT b.ids, b.ranks INTO page_ids, page_ranks
          FROM directory_few_words(words, want, after_rank, after_id, lim) b;
    END IF;

    IF page_ids IS NULL AND cardinality(words) <= 3 THEN
        -- Two or three words: merge the postings (directory_terms_postings), sum the ranks (in
        -- double precision, exact and so independent of the order), rank; with filters, look
        -- up the profiles in rank order until the page is full. Made per number of words:
        --   SELECT t1.user_id, (t1.rank::float8 + t2.rank)::real AS rank
        --     FROM directory_terms t1 JOIN directory_terms t2 ON t2.user_id = t1.user_id
        --      AND t2.lexeme = $1[2] WHERE t1.lexeme = $1[1]
        -- after the cursor, in rank order, then (with filters) each profile looked up.
        sql := 'SELECT t1.user_id, (t1.rank::float8';
        FOR i IN 2 .. cardinality(words) LOOP
            sql := sql || format(' + t%s.rank', i);
        END LOOP;
        sql := sql || ')::real AS rank FROM directory_terms t1';
        FOR i IN 2 .. cardinality(words) LOOP
            sql := sql || format(' JOIN directory_terms t%1$s ON t%1$s.user_id = t1.user_id'
                                 ' AND t%1$s.lexeme = $1[%1$s]', i);
        END LOOP;
        sql := 'SELECT m.user_id, m.rank FROM (SELECT j.* FROM (' || sql
            || ' WHERE t1.lexeme = $1[1]) j WHERE $8::real IS NULL OR j.rank < $8'
            || ' OR (j.rank = $8 AND j.user_id > $9::uuid) ORDER BY j.rank DESC, j.user_id '
            || CASE WHEN filtered
                    THEN 'OFFSET 0) m CROSS JOIN LATERAL (SELECT FROM consultant_profiles p'
                         || ' WHERE p.user_id = m.user_id AND directory_filters_pass(p.expertise,'
                         || ' p.target_groups, p.regions, p.modes, p.languages, p.accepting,'
                         || ' $2, $3, $4, $5, $6, $7) LIMIT 1) p'
                    ELSE 'LIMIT $10) m' END
            || ' ORDER BY m.rank DESC, m.user_id LIMIT $10';
        EXECUTE 'SELECT coalesce(array_agg(x.user_id ORDER BY x.rank DESC, x.user_id), ''{}''),'
                || ' coalesce(array_agg(x.rank ORDER BY x.rank DESC, x.user_id), ''{}'')'
                || ' FROM (' || sql || ') x'
           INTO page_ids, page_ranks
          USING words, f_expertise, f_target_group, f_region, f_mode, f_language, f_accepting,
                after_rank, after_id, lim;
    ELSIF page_ids IS NULL THEN
        -- More than three words, or corrections with alternatives: the text index finds the
        -- profiles matching every word, and ts_rank() ranks each word in each of them.
        IF parts IS NULL THEN
            parts := ARRAY(SELECT quote_literal(w)::tsquery FROM unnest(words) w);
        END IF;
        FOR i IN 1 .. cardinality(parts) LOOP
            tq := CASE WHEN tq IS NULL THEN parts[i] ELSE tq && parts[i] END;
        END LOOP;
        SELECT coalesce(array_agg(r.user_id ORDER BY r.rank DESC, r.user_id), '{}'),
               coalesce(array_agg(r.rank ORDER BY r.rank DESC, r.user_id), '{}')
          INTO page_ids, page_ranks
          FROM directory_text_matches(tq, parts, f_expertise, f_target_group, f_region, f_mode,
                                      f_language, f_accepting, after_rank, after_id, lim) r;
    END IF;

    IF cardinality(page_ids) > 0 THEN
        RETURN QUERY
        SELECT consultant_item(c.card, s.stats), x.rank, x.id
          FROM unnest(page_ids, page_ranks) WITH ORDINALITY x(id, rank, n)
          JOIN consultant_cards c ON c.user_id = x.id
         CROSS JOIN LATERAL consultant_stats_of(x.id, at) s
         ORDER BY x.n;
    ELSIF corrected IS NULL THEN
        -- No one as typed. Every word is AND-ed, so a word that matches no one emptied it: a
        -- typo, searched again with its corrections.
        corrected := directory_query_corrected(q);
        IF corrected IS NOT NULL THEN
            RETURN QUERY SELECT * FROM directory_search(at, q, corrected, f_expertise,
                f_target_group, f_region, f_mode, f_language, f_accepting, after_rank, after_id,
                lim);
            RETURN;
        END IF;
        -- No typo, and no one meets every concept ("jongere met eetstoornis en autisme"): those
        -- who meet any of them, ranked as always, so more concepts met rank higher
        -- (directory_any_concept).
        RETURN QUERY SELECT * FROM directory_any_concept(at, q, f_expertise, f_target_group,
            f_region, f_mode, f_language, f_accepting, after_rank, after_id, lim);
    END IF;
END
$$;

-- The page of a query of two concepts or more that no one meets all of: the consultants who meet
-- its plain words (all of them) and at least one of its concepts, ranked by the sum of each
-- unit's ts_rank() as every search is. Only when the query as typed matches no one at all, with
-- or without a cursor, so that its pages never mix with those of the query itself; empty for a
-- query of fewer than two concepts.
CREATE FUNCTION directory_any_concept(
    at timestamptz, q text, f_expertise text, f_target_group text, f_region text, f_mode text,
    f_language text, f_accepting boolean, after_rank real, after_id uuid, lim int)
RETURNS TABLE (item text, rank real, user_id uuid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    u record;
    plain tsquery;
    any_concept tsquery;
    every_unit tsquery;
    parts tsquery[] := '{}';
    concepts int := 0;
BEGIN
    FOR u IN SELECT DISTINCT x.l, x.c FROM directory_units(q) d,
                    unnest(d.lexemes, d.concepts) x(l, c) ORDER BY x.l LOOP
        parts := parts || quote_literal(u.l)::tsquery;
        every_unit := CASE WHEN every_unit IS NULL THEN parts[cardinality(parts)]
                           ELSE every_unit && parts[cardinality(parts)] END;
        IF u.c THEN
            concepts := concepts + 1;
            any_concept := CASE WHEN any_concept IS NULL THEN parts[cardinality(parts)]
                                ELSE any_concept || parts[cardinality(parts)] END;
        ELSE
            plain := CASE WHEN plain IS NULL THEN parts[cardinality(parts)]
                          ELSE plain && parts[cardinality(parts)] END;
        END IF;
    END LOOP;
    IF concepts < 2 OR EXISTS (SELECT FROM consultant_profiles p
                                WHERE p.search_doc @@ every_unit AND p.active
                                  AND directory_filters_pass(p.expertise, p.target_groups,
                                        p.regions, p.modes, p.languages, p.accepting,
                                        f_expertise, f_target_group, f_region, f_mode,
                                        f_language, f_accepting)) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT consultant_item(c.card, s.stats), r.rank, r.user_id
      FROM directory_text_matches(CASE WHEN plain IS NULL THEN any_concept
                                       ELSE plain && any_concept END,
                                  parts, f_expertise, f_target_group, f_region, f_mode,
                                  f_language, f_accepting, after_rank, after_id, lim) r
      JOIN consultant_cards c ON c.user_id = r.user_id
     CROSS JOIN LATERAL consultant_stats_of(r.user_id, at) s
     ORDER BY r.rank DESC, r.user_id;
END
$$;

-- -------------------------------------------------------------------------------------------
-- Filter-only pages: accepting first, then name, then id, each with a plan made once per
-- connection. A missing cursor starts before every row: no name is empty.
-- -------------------------------------------------------------------------------------------

-- Filter-only pages of one region. consultant_profiles_browse cannot hold the regions (see
-- there), so one row per region of each active profile is kept here, indexed in page order within
-- the region with the other filters' columns: such a page is the front of the region's range,
-- read index-only.
CREATE TABLE directory_regions (
    region         text NOT NULL,
    user_id        uuid NOT NULL REFERENCES consultant_profiles (user_id) ON DELETE CASCADE,
    name           text NOT NULL,
    accepting      boolean NOT NULL,
    expertise      text[] NOT NULL,
    target_groups  text[] NOT NULL,
    modes          text[] NOT NULL,
    languages      text[] NOT NULL
);
CREATE INDEX directory_regions_browse ON directory_regions (region, (NOT accepting), name, user_id)
    INCLUDE (accepting, expertise, target_groups, modes, languages);
CREATE INDEX directory_regions_user ON directory_regions (user_id);

CREATE FUNCTION directory_regions_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (OLD.active, OLD.regions, OLD.name, OLD.accepting, OLD.expertise, OLD.target_groups,
            OLD.modes, OLD.languages)
           IS NOT DISTINCT FROM (NEW.active, NEW.regions, NEW.name, NEW.accepting, NEW.expertise,
                                 NEW.target_groups, NEW.modes, NEW.languages) THEN
        RETURN NULL;
    END IF;
    DELETE FROM directory_regions WHERE user_id = NEW.user_id;
    IF NEW.active THEN
        INSERT INTO directory_regions (region, user_id, name, accepting, expertise, target_groups,
                                       modes, languages)
            SELECT DISTINCT r, NEW.user_id, NEW.name, NEW.accepting, NEW.expertise,
                   NEW.target_groups, NEW.modes, NEW.languages
              FROM unnest(NEW.regions) r;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER directory_regions_sync AFTER INSERT OR UPDATE ON consultant_profiles
    FOR EACH ROW EXECUTE FUNCTION directory_regions_sync();

-- A filter-only page of one region (server/directory.c), after the cursor (not accepting, name,
-- id) when given.
CREATE FUNCTION directory_region_page(
    at timestamptz, f_expertise text, f_target_group text, f_region text, f_mode text,
    f_language text, f_accepting boolean, after_flag boolean, after_name text, after_id uuid,
    lim int)
RETURNS TABLE (item text, flag boolean, name text, user_id uuid)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    SELECT consultant_item(c.card, s.stats), NOT page.accepting, page.name, page.user_id
      FROM (SELECT r.user_id, r.accepting, r.name FROM directory_regions r
             WHERE r.region = f_region
               AND ((NOT r.accepting), r.name, r.user_id)
                   > (coalesce(after_flag, false), coalesce(after_name, ''),
                      coalesce(after_id, '00000000-0000-0000-0000-000000000000'))
               AND directory_filters_pass(r.expertise, r.target_groups, NULL, r.modes,
                     r.languages, r.accepting, f_expertise, f_target_group, NULL, f_mode,
                     f_language, f_accepting)
             ORDER BY (NOT r.accepting), r.name, r.user_id LIMIT lim) page
      JOIN consultant_cards c ON c.user_id = page.user_id
     CROSS JOIN LATERAL consultant_stats_of(page.user_id, at) s
     ORDER BY (NOT page.accepting), page.name, page.user_id;
END
$$;

-- A filter-only page without a region: the front of consultant_profiles_browse after the cursor,
-- index-only, its filters tested on the way, for `walk` profiles at most (overleg.directory_walk,
-- as for the search's walk). Only when the page is not full by then is the rest planned for the
-- values, from where the walk stopped, so that a filter few profiles pass is found through
-- consultant_profiles_arrays rather than by walking the whole list. The same pages either way.
CREATE FUNCTION directory_browse_page(
    at timestamptz, f_expertise text, f_target_group text, f_mode text, f_language text,
    f_accepting boolean, after_flag boolean, after_name text, after_id uuid, lim int)
RETURNS TABLE (item text, flag boolean, name text, user_id uuid)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    walk constant int := greatest(coalesce(nullif(current_setting('overleg.directory_walk', true),
                                                  '')::int, 2000), 1);
    flag0 constant boolean := coalesce(after_flag, false);
    name0 constant text := coalesce(after_name, '');
    id0 constant uuid := coalesce(after_id, '00000000-0000-0000-0000-000000000000');
    found_rows int;
    last_flag boolean;
    last_name text;
    last_id uuid;
BEGIN
    RETURN QUERY
    -- The walk's order is its output (flag, name, user_id), so that PostgreSQL sees the page
    -- comes in it and stops at `lim` rather than sorting the whole walk.
    SELECT consultant_item(c.card, s.stats), page.flag, page.name, page.user_id
      FROM (SELECT w.flag, w.name, w.user_id
              FROM (SELECT NOT p.accepting AS flag, p.name, p.user_id, p.accepting, p.expertise,
                           p.target_groups, p.modes, p.languages
                      FROM consultant_profiles p
                     WHERE p.active AND ((NOT p.accepting), p.name, p.user_id) > (flag0, name0, id0)
                     ORDER BY (NOT p.accepting), p.name, p.user_id LIMIT walk) w
             WHERE directory_filters_pass(w.expertise, w.target_groups, NULL, w.modes, w.languages,
                     w.accepting, f_expertise, f_target_group, NULL, f_mode, f_language,
                     f_accepting)
             ORDER BY w.flag, w.name, w.user_id LIMIT lim) page
      JOIN consultant_cards c ON c.user_id = page.user_id
     CROSS JOIN LATERAL consultant_stats_of(page.user_id, at) s
     ORDER BY page.flag, page.name, page.user_id;
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    IF found_rows = lim THEN
        RETURN;
    END IF;
    SELECT NOT p.accepting, p.name, p.user_id INTO last_flag, last_name, last_id
      FROM consultant_profiles p
     WHERE p.active AND ((NOT p.accepting), p.name, p.user_id) > (flag0, name0, id0)
     ORDER BY (NOT p.accepting), p.name, p.user_id OFFSET walk - 1 LIMIT 1;
    IF NOT FOUND THEN
        RETURN; -- the walk reached the end of the list
    END IF;
    -- Planned for the values (EXECUTE): the filters not given fold away, and a selective one
    -- is found through consultant_profiles_arrays.
    RETURN QUERY EXECUTE
        'SELECT consultant_item(c.card, s.stats), NOT page.accepting, page.name, page.user_id'
        || ' FROM (SELECT p.user_id, p.accepting, p.name FROM consultant_profiles p'
        || '  WHERE p.active AND directory_filters_pass(p.expertise, p.target_groups, p.regions,'
        || '   p.modes, p.languages, p.accepting, $2, $3, NULL, $4, $5, $6)'
        || '  AND ((NOT p.accepting), p.name, p.user_id) > ($7, $8, $9)'
        || '  ORDER BY (NOT p.accepting), p.name, p.user_id LIMIT $10) page'
        || ' JOIN consultant_cards c ON c.user_id = page.user_id'
        || ' CROSS JOIN LATERAL consultant_stats_of(page.user_id, $1) s'
        || ' ORDER BY (NOT page.accepting), page.name, page.user_id'
        USING at, f_expertise, f_target_group, f_mode, f_language, f_accepting, last_flag,
              last_name, last_id, lim - found_rows;
END
$$;
