-- A search with filters without reading the profiles it passes over, and a typo corrected in the
-- same statement.
--
-- A one-word search with a filter ("q=psychose&region=amsterdam&accepting=true") walked the
-- word's postings in rank order and looked up each consultant's profile to test the filters:
-- ~400 profile lookups for a page of 20 (~1.4 ms, most of it buffer lookups). Each posting now
-- carries its profile's filter codes as small integers (directory_keys), in the rank index, so
-- the walk tests them index-only. The two-word band walk does the same.
--
-- A search that found no one as typed was answered empty; the server then asked
-- directory_query_corrected() for typo corrections and searched again (three statements, three
-- waits for a connection). directory_search() now does that itself, with the same results.
--
-- Two words counted each of their rank bands up to 1,000 postings to choose which band to read;
-- the sizes are now estimated from the first 32 ids of each band (directory_band_size).

-- Every filter code a profile holds, as "kind:code", numbered once. Codes are never removed: a
-- code without a number is one no profile ever held, so no active profile passes its filter.
CREATE TABLE directory_keys (
    id   int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key  text NOT NULL UNIQUE
);

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

-- The numbers of the filters given (NULL: not given); '{}' when none is given, NULL when a code
-- given has no number (no profile passes).
CREATE FUNCTION directory_filter_keys(
    f_expertise text, f_target_group text, f_region text, f_mode text, f_language text,
    f_accepting boolean) RETURNS int[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(k.id) = count(*) THEN coalesce(array_agg(k.id ORDER BY k.id), '{}') END
      FROM unnest(ARRAY['expertise:' || f_expertise, 'target_group:' || f_target_group,
                        'region:' || f_region, 'mode:' || f_mode, 'language:' || f_language,
                        'accepting:' || f_accepting]) f(key)
      LEFT JOIN directory_keys k ON k.key = f.key
     WHERE f.key IS NOT NULL
$$;

ALTER TABLE directory_terms ADD COLUMN keys int[] NOT NULL DEFAULT '{}';
UPDATE directory_terms t SET keys = p.keys
  FROM (SELECT p.user_id, directory_keys_of(p) AS keys FROM consultant_profiles p
         WHERE p.active ORDER BY p.user_id) p
 WHERE t.user_id = p.user_id;
DROP INDEX directory_terms_rank;
CREATE INDEX directory_terms_rank ON directory_terms (lexeme, rank DESC, user_id) INCLUDE (keys);

-- As in sql/0007, and the postings follow the filter columns too.
CREATE OR REPLACE FUNCTION directory_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- A band's size (a word's postings of one rank), estimated from its first 32 postings in id
-- order: ids are random (gen_random_uuid()), so the share of all ids below the 32nd is about 32
-- of the band's size. Exact below 32. directory_two_words() counted each band up to 1,000
-- postings instead (most of the time of "depressie jeugd"); it only needs the sizes to choose
-- which band to read and when to give up, so an estimate changes its speed, never its results.
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

-- As in sql/0007, with the filters as directory_filter_keys() numbers them ('{}': none), tested
-- on the postings, and the bands' sizes estimated (directory_band_size) rather than counted.
DROP FUNCTION directory_two_words(text, text, text, text, text, text, text, boolean, real, uuid,
                                  int);
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

-- As in sql/0007, but the filters are tested on the postings (one word, two words by bands),
-- and a search that finds no one as typed corrects its typos itself. `corrected` given: search
-- with those corrections and no others (servers of the previous release ask for them).
CREATE OR REPLACE FUNCTION directory_search(
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

