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

CREATE FUNCTION directory_text(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws(' ', p.name,
        (SELECT string_agg(v.label, ' ') FROM vocabulary v
          WHERE (v.kind = 'discipline' AND v.code = p.discipline)
             OR (v.kind = 'expertise' AND v.code = ANY (p.expertise))
             OR (v.kind = 'target_group' AND v.code = ANY (p.target_groups))),
        p.bio)
$$;

CREATE FUNCTION consultant_profiles_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_doc := setweight(to_tsvector('overleg_nl', NEW.name), 'A')
        || to_tsvector('overleg_nl', directory_text(NEW));
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

-- The card names the organisation: a rename reaches its consultants' cards.
CREATE FUNCTION organisations_cards() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE consultant_cards c SET card = consultant_card(p)
      FROM consultant_profiles p JOIN users u ON u.id = p.user_id
     WHERE u.organisation_id = NEW.id AND c.user_id = p.user_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER organisations_cards AFTER UPDATE OF name ON organisations
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION organisations_cards();

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

-- A search word is split on anything but a-z and 0-9 (directory_lexemes), so only such lexemes
-- can ever be looked up; hyphenated compounds and the like stay out.
CREATE FUNCTION directory_terms_of(doc tsvector) RETURNS TABLE (lexeme text, rank real)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u.lexeme, ts_rank(doc, ('''' || u.lexeme || '''')::tsquery)
      FROM unnest(doc) u
     WHERE u.lexeme ~ '^[a-z0-9]+$'
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

-- q as typed: the Dutch stems of its words (folded, split on anything but a-z and 0-9, at
-- least 2 characters), each once. One expression without a subquery, so that PostgreSQL inlines
-- it into the calling statement: an SQL function it cannot inline is planned on every call.
CREATE FUNCTION directory_lexemes(q text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT tsvector_to_array(to_tsvector('overleg_nl',
        regexp_replace(regexp_replace(fold(q), '[^a-z0-9]+', ' ', 'g'),
                       '(^| )[a-z0-9](?= |$)', ' ', 'g')))
$$;

-- Per word of q, its tsquery, where each word of at least 4 characters that matches no active
-- profile is replaced by the stems of the closest directory words (trigram similarity, at most
-- 5, OR-ed); NULL when no word was replaced, i.e. when the search as typed is all there is.
-- A word that matches no one is replaced rather than kept beside its corrections: it matched
-- nothing, so the results are the same, and a word with one correction stays a single lexeme that
-- directory_terms answers.
CREATE FUNCTION directory_query_corrected(q text) RETURNS tsquery[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w text;
    part tsquery;
    corrected tsquery;
    parts tsquery[] := '{}';
    changed boolean := false;
BEGIN
    FOR w IN SELECT DISTINCT x FROM regexp_split_to_table(fold(q), '[^a-z0-9]+') x
              WHERE length(x) >= 2 LOOP
        part := plainto_tsquery('overleg_nl', w);
        IF numnode(part) = 0 THEN
            CONTINUE; -- a stop word
        END IF;
        -- Only a word that finds nothing as typed is a typo: correcting words that do match
        -- would drown them in look-alikes ("verslavingen" ~ "verwijzingen").
        IF length(w) >= 4 AND NOT EXISTS (SELECT 1 FROM directory_terms t
                                           WHERE t.lexeme = btrim(part::text, '''')) THEN
            -- The corrections' distinct stems in a fixed order, so that equal sets compare
            -- equal below ("olifnt" -> olifant, olifanten: one stem).
            SELECT string_agg(DISTINCT quote_literal(l), ' | ' ORDER BY quote_literal(l))::tsquery
              INTO corrected
              FROM (SELECT dw.word FROM directory_words dw WHERE dw.word % w
                     ORDER BY similarity(dw.word, w) DESC, dw.word LIMIT 5) d,
                   unnest(tsvector_to_array(to_tsvector('overleg_nl', d.word))) l;
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
-- of the band's size. Exact below 32. directory_two_words() only needs the sizes to choose which
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

-- A page of a two-word search without reading every posting of both words. The consultants with
-- rank band r1 of w1 and r2 of w2 rank (r1 + r2); going through the band pairs from the best
-- sum down, each pair's consultants come in id order from the smaller band's postings (ordered
-- by id within a band in directory_terms_rank), each looked up in the other word's postings, so
-- a page usually needs a few dozen postings of the best bands. `want`: the filters as
-- directory_filter_keys() numbers them ('{}': none), tested on the postings. Gives up (NULL) when
-- that would not pay: more than 64 band pairs, a pair of two bands of `cap` postings or more, or
-- smaller bands of more than 4 x `cap` postings in all (sizes estimated before reading,
-- directory_band_size); the caller then merges all postings. Same order as that merge: rank (the
-- sum, as a real), then id. `cap` is 1,000 (overleg.directory_band_cap, for tests).
CREATE FUNCTION directory_two_words(
    w1 text, w2 text, want int[], after_rank real, after_id uuid, lim int,
    OUT ids uuid[], OUT ranks real[])
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    cap constant int := coalesce(nullif(current_setting('overleg.directory_band_cap', true),
                                        '')::int, 1000);
    bands1 real[] := directory_bands(w1);
    bands2 real[] := directory_bands(w2);
    size1 int[];
    size2 int[];
    budget int := 4 * cap;
    need int := lim;
    grp record;
    found uuid[];
    i1 int;
    i2 int;
    d_word text;
    d_rank real;
    o_word text;
    o_rank real;
BEGIN
    IF cardinality(bands1) * cardinality(bands2) > 64 THEN
        RETURN;
    END IF;
    size1 := ARRAY(SELECT directory_band_size(w1, b.r) FROM unnest(bands1) b(r));
    size2 := ARRAY(SELECT directory_band_size(w2, b.r) FROM unnest(bands2) b(r));
    ids := '{}';
    ranks := '{}';
    FOR grp IN SELECT (b1.r::float8 + b2.r)::real AS rank, array_agg(b1.i) AS i1s,
                      array_agg(b2.i) AS i2s
                 FROM unnest(bands1) WITH ORDINALITY b1(r, i),
                      unnest(bands2) WITH ORDINALITY b2(r, i)
                GROUP BY 1 ORDER BY 1 DESC LOOP
        CONTINUE WHEN grp.rank > after_rank; -- before the cursor
        found := '{}';
        FOR k IN 1 .. cardinality(grp.i1s) LOOP -- the band pairs of this sum
            i1 := grp.i1s[k];
            i2 := grp.i2s[k];
            budget := budget - least(size1[i1], size2[i2]);
            IF least(size1[i1], size2[i2]) >= cap OR budget < 0 THEN
                ids := NULL;
                ranks := NULL;
                RETURN;
            END IF;
            IF size1[i1] <= size2[i2] THEN
                d_word := w1; d_rank := bands1[i1]; o_word := w2; o_rank := bands2[i2];
            ELSE
                d_word := w2; d_rank := bands2[i2]; o_word := w1; o_rank := bands1[i1];
            END IF;
            found := found || ARRAY(
                SELECT d.user_id FROM directory_terms d
                 CROSS JOIN LATERAL (SELECT FROM directory_terms o
                      WHERE o.lexeme = o_word AND o.user_id = d.user_id AND o.rank = o_rank
                      LIMIT 1) o
                 WHERE d.lexeme = d_word AND d.rank = d_rank AND d.keys @> want
                   AND (after_rank IS NULL OR grp.rank < after_rank OR d.user_id > after_id)
                 ORDER BY d.user_id LIMIT need);
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
-- given. The filters are tested on the postings (one word, two words by bands). A search that
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
    ELSIF cardinality(words) = 2 THEN
        -- Two words: band by band (directory_two_words), NULL when that would not pay.
        SELECT b.ids, b.ranks INTO page_ids, page_ranks
          FROM directory_two_words(words[1], words[2], want, after_rank, after_id, lim) b;
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
        -- typo, searched again with its corrections (NULL: no word is one, the page is empty).
        corrected := directory_query_corrected(q);
        IF corrected IS NOT NULL THEN
            RETURN QUERY SELECT * FROM directory_search(at, q, corrected, f_expertise,
                f_target_group, f_region, f_mode, f_language, f_accepting, after_rank, after_id,
                lim);
        END IF;
    END IF;
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
