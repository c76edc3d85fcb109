-- Free-text search for one word without ranking every match. A broad word ("angst") matches a
-- third of a national directory; ranking all of them with ts_rank() read every matching row (the
-- benchmark: ~30 ms for 17,000 of 50,000 profiles). directory_terms holds, per word of a profile's
-- search_doc, the rank that ts_rank() gives a query of that word alone, indexed in rank order: a
-- one-word search reads its page from the front of the index. Queries of several words, or a
-- word with typo alternatives, still rank with ts_rank() (server/directory.c picks).

CREATE TABLE directory_terms (
    lexeme   text NOT NULL,
    user_id  uuid NOT NULL REFERENCES consultant_profiles (user_id) ON DELETE CASCADE,
    rank     real NOT NULL
);
CREATE INDEX directory_terms_rank ON directory_terms (lexeme, rank DESC, user_id);
CREATE INDEX directory_terms_user ON directory_terms (user_id);

-- A search word is split on anything but a-z and 0-9 (directory_query), so only such lexemes can
-- ever be looked up; hyphenated compounds and the like stay out.
CREATE FUNCTION directory_terms_of(doc tsvector) RETURNS TABLE (lexeme text, rank real)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT u.lexeme, ts_rank(doc, ('''' || u.lexeme || '''')::tsquery)
      FROM unnest(doc) u
     WHERE u.lexeme ~ '^[a-z0-9]+$'
$$;

CREATE FUNCTION directory_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.search_doc = NEW.search_doc THEN
        RETURN NULL;
    END IF;
    DELETE FROM directory_terms WHERE user_id = NEW.user_id;
    INSERT INTO directory_terms (lexeme, user_id, rank)
        SELECT t.lexeme, NEW.user_id, t.rank FROM directory_terms_of(NEW.search_doc) t;
    RETURN NULL;
END
$$;
CREATE TRIGGER directory_terms_sync AFTER INSERT OR UPDATE ON consultant_profiles
    FOR EACH ROW EXECUTE FUNCTION directory_terms_sync();

INSERT INTO directory_terms (lexeme, user_id, rank)
    SELECT t.lexeme, p.user_id, t.rank
      FROM consultant_profiles p, directory_terms_of(p.search_doc) t;

-- The search's first step: the tsquery of q, and its lexeme when it is a single one that
-- directory_terms can answer. NULL tsquery: q holds only stop words, nothing matches.
CREATE FUNCTION directory_plan(q text, OUT tsq text, OUT lexeme text)
LANGUAGE sql STABLE AS $$
    -- In FROM, so that directory_query() runs once, not once per use of its result.
    SELECT x.tq::text,
           CASE WHEN numnode(x.tq) = 1 AND x.tq::text ~ '^''[a-z0-9]+''$'
                THEN btrim(x.tq::text, '''') END
      FROM directory_query(q) AS x(tq)
$$;

-- The typo check of each word reads directory_terms too (a bitmap scan of the text index built
-- every match of a broad word first, ~0.8 ms). A word that finds no one as typed is replaced by
-- its corrections rather than kept beside them: it matched nothing, so the results are the same,
-- and a word with one correction stays a single lexeme that directory_terms answers.
CREATE OR REPLACE FUNCTION directory_query(q text) RETURNS tsquery LANGUAGE plpgsql STABLE AS $$
DECLARE
    w text;
    similar_words text;
    part tsquery;
    corrected tsquery;
    result tsquery;
BEGIN
    FOR w IN SELECT DISTINCT x FROM regexp_split_to_table(fold(q), '[^a-z0-9]+') x
              WHERE length(x) >= 2 LOOP
        part := plainto_tsquery('overleg_nl', w);
        IF numnode(part) = 0 THEN
            CONTINUE; -- a stop word
        END IF;
        -- Only a word that finds nothing as typed is treated as a typo: correcting words that
        -- do match would drown them in look-alikes ("verslavingen" ~ "verwijzingen").
        IF length(w) >= 4 AND NOT (CASE WHEN part::text ~ '^''[a-z0-9]+''$' THEN
                EXISTS (SELECT 1 FROM directory_terms t
                          JOIN consultant_profiles p ON p.user_id = t.user_id
                         WHERE t.lexeme = btrim(part::text, '''') AND p.active)
            ELSE EXISTS (SELECT 1 FROM consultant_profiles p
                          WHERE p.active AND p.search_doc @@ part) END) THEN
            SELECT string_agg(d.word, ' | ') INTO similar_words
              FROM (SELECT dw.word FROM directory_words dw WHERE dw.word % w
                     ORDER BY similarity(dw.word, w) DESC, dw.word LIMIT 5) d;
            IF similar_words IS NOT NULL THEN
                corrected := to_tsquery('overleg_nl', similar_words);
                IF numnode(corrected) > 0 THEN
                    part := corrected;
                END IF;
            END IF;
        END IF;
        result := CASE WHEN result IS NULL THEN part ELSE result && part END;
    END LOOP;
    RETURN result; -- NULL when q holds only stop words: nothing matches
END
$$;
