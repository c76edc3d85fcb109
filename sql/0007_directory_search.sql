-- Free-text search in one statement, mostly planned once per connection. Until now every search
-- first asked directory_plan(q) for its tsquery, typo check included (~0.5 ms and a round trip), then
-- ran a statement planned for that answer (~0.8 ms of planning), and a search of several words
-- ranked every match with ts_rank() over the profiles' heap (~16 ms for two broad words).
--
-- Now directory_search() takes q itself. Its words as typed are found inside the statement; only
-- a search that finds no one asks directory_query_corrected() for typo corrections and runs
-- again with them (server/directory.c). The results are those of before: a word is corrected
-- only when it matches no one, and then the search as typed, every word AND-ed, was empty too.
--
-- Relevance with q is the sum, over its words, of the rank each word alone has in the profile:
-- ts_rank() of that word's tsquery (its stem; for a corrected word, the OR of its corrections).
-- For one word that is the rank used so far; for several it can be read from directory_terms,
-- without the heap: a merge join of the words' postings instead of ts_rank() on every match.

-- fold() was IMMUTABLE so that an index could use it; none does. Over unaccent(), which is only
-- STABLE, that kept PostgreSQL from inlining it: every call parsed and planned its SQL again.
ALTER FUNCTION fold(text) STABLE;

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

-- directory_terms holds active profiles only, so that a search reads no profile row it does not
-- need: a search without filters needs none at all.
CREATE OR REPLACE FUNCTION directory_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.search_doc = NEW.search_doc AND OLD.active = NEW.active THEN
        RETURN NULL;
    END IF;
    DELETE FROM directory_terms WHERE user_id = NEW.user_id;
    IF NEW.active THEN
        INSERT INTO directory_terms (lexeme, user_id, rank)
            SELECT t.lexeme, NEW.user_id, t.rank FROM directory_terms_of(NEW.search_doc) t;
    END IF;
    RETURN NULL;
END
$$;
DELETE FROM directory_terms t USING consultant_profiles p
 WHERE p.user_id = t.user_id AND NOT p.active;

-- The postings of a word in profile order, with their rank: what the merge join reads.
CREATE INDEX directory_terms_postings ON directory_terms (lexeme, user_id) INCLUDE (rank);

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

-- A page of a two-word search without reading every posting of both words. The consultants with
-- rank band r1 of w1 and r2 of w2 rank (r1 + r2); going through the band pairs from the best
-- sum down, each pair's consultants come in id order from the smaller band's postings (ordered
-- by id within a band in directory_terms_rank), each looked up in the other word's postings, so
-- a page usually needs a few dozen postings of the best bands. Gives up (NULL) when that would
-- not pay: more than 64 band pairs, a pair of two bands of `cap` postings or more, or smaller
-- bands of more than 4 x `cap` postings in all (sizes counted before reading); the caller then
-- merges all postings. Same order as that merge: rank (the sum, as a real), then id. `cap` is 1,000 (overleg.directory_band_cap, for tests).
CREATE FUNCTION directory_two_words(
    w1 text, w2 text, f_expertise text, f_target_group text, f_region text, f_mode text,
    f_language text, f_accepting boolean, after_rank real, after_id uuid, lim int,
    OUT ids uuid[], OUT ranks real[])
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    cap constant int := coalesce(nullif(current_setting('overleg.directory_band_cap', true),
                                        '')::int, 1000);
    filtered boolean := num_nonnulls(f_expertise, f_target_group, f_region, f_mode, f_language,
                                     f_accepting) > 0;
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
    -- each band's size, counted up to cap
    size1 := ARRAY(SELECT (SELECT count(*) FROM (SELECT FROM directory_terms t
                    WHERE t.lexeme = w1 AND t.rank = b.r LIMIT cap) x) FROM unnest(bands1) b(r));
    size2 := ARRAY(SELECT (SELECT count(*) FROM (SELECT FROM directory_terms t
                    WHERE t.lexeme = w2 AND t.rank = b.r LIMIT cap) x) FROM unnest(bands2) b(r));
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
                 CROSS JOIN LATERAL (SELECT FROM consultant_profiles p
                      WHERE p.user_id = d.user_id AND (NOT filtered OR directory_filters_pass(
                            p.expertise, p.target_groups, p.regions, p.modes, p.languages,
                            p.accepting, f_expertise, f_target_group, f_region, f_mode,
                            f_language, f_accepting))
                      LIMIT 1) p
                 WHERE d.lexeme = d_word AND d.rank = d_rank
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

-- A search's page, as ranked rows with the reply's JSON. `corrected`: the words' tsqueries to
-- search instead of q as typed (directory_query_corrected). A NULL filter or cursor key is not
-- given. The static queries here are planned once per connection (force_generic_plan), as their
-- plans do not depend on the values: planning them per request cost more than running them. The
-- merge of several words' postings and the text-index matches are planned on each call.
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
BEGIN
    IF corrected IS NULL THEN
        words := directory_lexemes(q);
    ELSIF NOT EXISTS (SELECT FROM unnest(corrected) w WHERE numnode(w) <> 1) THEN
        words := ARRAY(SELECT DISTINCT btrim(w::text, '''') FROM unnest(corrected) w);
    END IF;

    IF cardinality(words) = 0 THEN
        RETURN; -- only stop words: nothing matches
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
        RETURN;
    ELSIF cardinality(words) = 1 THEN
        -- With filters: the postings in rank order, each profile looked up by its key (LATERAL
        -- ... LIMIT 1 keeps that a lookup: as a semi-join, the generic plan would read every
        -- profile to hash the filters' matches), for `walk` postings at most. When the page is
        -- not full by then (a filter few pass), the text index with the filters ranks the rest,
        -- from where the walk stopped: ts_rank() of the word is its postings' rank.
        SELECT coalesce(array_agg(m.user_id ORDER BY m.rank DESC, m.user_id), '{}'),
               coalesce(array_agg(m.rank ORDER BY m.rank DESC, m.user_id), '{}')
          INTO page_ids, page_ranks
          FROM (SELECT t.user_id, t.rank
                  FROM (SELECT t.user_id, t.rank FROM directory_terms t
                         WHERE t.lexeme = words[1]
                           AND (after_rank IS NULL OR t.rank < after_rank
                                OR (t.rank = after_rank AND t.user_id > after_id))
                         ORDER BY t.rank DESC, t.user_id LIMIT walk) t
                 CROSS JOIN LATERAL (SELECT FROM consultant_profiles p
                      WHERE p.user_id = t.user_id
                        AND directory_filters_pass(p.expertise, p.target_groups, p.regions,
                              p.modes, p.languages, p.accepting, f_expertise, f_target_group,
                              f_region, f_mode, f_language, f_accepting)
                      LIMIT 1) p
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
          FROM directory_two_words(words[1], words[2], f_expertise, f_target_group, f_region,
                                   f_mode, f_language, f_accepting, after_rank, after_id, lim) b;
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

    RETURN QUERY
    SELECT consultant_item(c.card, s.stats), x.rank, x.id
      FROM unnest(page_ids, page_ranks) WITH ORDINALITY x(id, rank, n)
      JOIN consultant_cards c ON c.user_id = x.id
     CROSS JOIN LATERAL consultant_stats_of(x.id, at) s
     ORDER BY x.n;
END
$$;

-- directory_plan() and directory_query() are replaced by the functions above. They stay until a
-- later migration, for servers of the previous release that still call them while a rolling
-- upgrade is under way (/readyz counts a newer schema as ready).
