-- Three costs the directory benchmark's profile showed (docs/benchmarks.md), each removed without
-- changing a reply.

-- 1. A consultant's live stats are written as the text the reply carries. Every item of every
-- page built them as jsonb (jsonb_build_object), only for consultant_item() to print that jsonb
-- again: ~3 µs a row, a tenth of the database's time per page. The text is what jsonb printed:
-- keys in jsonb's order (shorter first), ": " and ", ", numbers as numeric prints them.
-- The names stay, so the statements of servers of the previous release get the same replies.
DROP FUNCTION consultant_stats_of(uuid, timestamptz);
CREATE FUNCTION consultant_stats_of(consultant uuid, at timestamptz) RETURNS TABLE (stats text)
LANGUAGE sql STABLE AS $$
    SELECT '{"answered_90d": ' || count(*) || ', "median_response_hours": '
           || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY
                  extract(epoch FROM c.answered_at - c.submitted_at) / 3600))::numeric, 1)::text,
                  'null')
           || '}'
      FROM consultations c
     WHERE c.consultant_id = consultant AND c.answered_at IS NOT NULL
       AND c.answered_at > at - interval '90 days' AND c.answered_at <= at
$$;
CREATE OR REPLACE FUNCTION consultant_stats(consultant uuid, at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT s.stats::jsonb FROM consultant_stats_of(consultant, at) s
$$;
-- The open card (sql/0008) closed with the stats' text.
CREATE FUNCTION consultant_item(card text, stats text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT card || stats || '}'
$$;

-- 2. The filters' numbers of a search (sql/0010) were an SQL function with a FROM clause, which
-- PostgreSQL cannot inline: its query was parsed and planned on every filtered search (~0.1 ms).
-- PL/pgSQL keeps the plan. Same results: '{}' when no filter is given, NULL when a code given
-- has no number. The kinds' prefixes keep the names distinct, so counting them is enough.
CREATE OR REPLACE FUNCTION directory_filter_keys(
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

-- 3. Typo corrections look for similar directory words (`word % w`, directory_query_corrected).
-- PostgreSQL estimated the GIN trigram index dearer than comparing w with every directory word
-- (its estimate leaves out what a trigram comparison costs): ~0.7 ms for 400 words, growing
-- with the vocabulary. It estimates a GiST trigram index cheaper, and uses it: ~0.1 ms.
DROP INDEX directory_words_trgm;
CREATE INDEX directory_words_trgm ON directory_words USING gist (word gist_trgm_ops);

-- 4. A filter-only page without a region was planned for its values on every request, so that a
-- filter few profiles pass would be found through the array index rather than by walking the
-- whole list. Planning cost ~0.4 ms, more than running the page (~0.3 ms). The page is now read
-- with plans made once per connection: the front of consultant_profiles_browse after the cursor,
-- index-only, its filters tested on the way, for `walk` profiles at most (overleg.directory_walk,
-- as for the search's walk). Only when the page is not full by then is the rest planned for the
-- values, from where the walk stopped. The same pages either way. A missing cursor starts before
-- every row: no name is empty. The region's pages have their own function (sql/0008).
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
