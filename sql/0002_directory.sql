-- Consultant directory (API.md §6–§7): vocabularies, profiles and Dutch free-text search.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Dutch stemming on accent-free words: "cliënten" and "clienten" meet, as do "verslavingen" and
-- "verslaving".
CREATE TEXT SEARCH CONFIGURATION overleg_nl (COPY = pg_catalog.dutch);
ALTER TEXT SEARCH CONFIGURATION overleg_nl
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, dutch_stem;

-- unaccent() is only STABLE (it reads its dictionary); the wrapper lets indexes use it.
CREATE FUNCTION fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
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
CREATE INDEX consultant_profiles_arrays ON consultant_profiles
    USING gin (expertise, target_groups, regions, modes, languages);
-- Filter-only pages walk this index in page order and test the vocabulary filters on its own
-- columns (an index-only scan): no heap fetch for the rows they reject. Those lists are short
-- codes, a few hundred bytes at most; `regions` stays out, since 30 slugs of 64 characters beside
-- a long name would pass btree's limit of 2,704 bytes an entry and make the profile unwritable.
CREATE INDEX consultant_profiles_browse ON consultant_profiles ((NOT accepting), name, user_id)
    INCLUDE (accepting, expertise, target_groups, modes, languages) WHERE active;

-- Every word a search may be corrected towards (names, labels, bios), folded, with a trigram index.
CREATE TABLE directory_words (
    word  text PRIMARY KEY
);
CREATE INDEX directory_words_trgm ON directory_words USING gin (word gin_trgm_ops);

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

INSERT INTO consultant_profiles (user_id, name, active, search_doc, updated_at)
    SELECT id, name, active, ''::tsvector, created_at FROM users WHERE role = 'consultant';

-- The tsquery for a free-text search: every word must match (AND); each word matches its own
-- Dutch stem, or, when that matches no one, the stems of the closest directory words within
-- trigram similarity 0.3 (typos).
CREATE FUNCTION directory_query(q text) RETURNS tsquery LANGUAGE plpgsql STABLE AS $$
DECLARE
    w text;
    similar_words text;
    part tsquery;
    result tsquery;
BEGIN
    FOR w IN SELECT DISTINCT x FROM regexp_split_to_table(fold(q), '[^a-z0-9]+') x
              WHERE length(x) >= 2 LOOP
        part := plainto_tsquery('overleg_nl', w);
        -- Only a word that finds nothing as typed is treated as a typo: correcting words that
        -- do match would drown them in look-alikes ("verslavingen" ~ "verwijzingen").
        IF length(w) >= 4 AND NOT EXISTS (SELECT 1 FROM consultant_profiles p
                                           WHERE p.active AND p.search_doc @@ part) THEN
            SELECT string_agg(d.word, ' | ') INTO similar_words
              FROM (SELECT dw.word FROM directory_words dw WHERE dw.word % w
                     ORDER BY similarity(dw.word, w) DESC, dw.word LIMIT 5) d;
            IF similar_words IS NOT NULL THEN
                part := part || to_tsquery('overleg_nl', similar_words);
            END IF;
        END IF;
        IF numnode(part) = 0 THEN
            CONTINUE; -- a stop word
        END IF;
        result := CASE WHEN result IS NULL THEN part ELSE result && part END;
    END LOOP;
    RETURN result; -- NULL when q holds only stop words: nothing matches
END
$$;

-- Measured from consultations; they arrive with the consultations capability.
CREATE FUNCTION consultant_stats(consultant uuid, at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('answered_90d', 0, 'median_response_hours', NULL)
$$;

-- Consultant JSON (API.md §7). Users without a profile get the defaults.
CREATE FUNCTION consultant_json(p consultant_profiles, at timestamptz)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', p.user_id, 'name', p.name, 'discipline', p.discipline,
        'organisation', (SELECT jsonb_build_object('id', o.id, 'name', o.name)
                           FROM users u JOIN organisations o ON o.id = u.organisation_id
                          WHERE u.id = p.user_id),
        'expertise', to_jsonb(p.expertise), 'target_groups', to_jsonb(p.target_groups),
        'regions', to_jsonb(p.regions), 'modes', to_jsonb(p.modes),
        'languages', to_jsonb(p.languages), 'accepting', p.accepting, 'bio', p.bio,
        'response_days', p.response_days, 'stats', consultant_stats(p.user_id, at))
$$;
