-- Directory pages without reading what they do not show (see also sql/0007, the search).

-- Filter-only pages of one region. consultant_profiles_browse cannot hold the regions (30 slugs
-- of 64 characters beside a long name would pass btree's limit of 2,704 bytes an entry), so a
-- page with a region filter fetched every profile it walked past to test it (~1,600 for
-- "target_group=jeugd&region=groningen", ~3 ms). directory_regions has one row per region of
-- each active profile, indexed in page order within the region with the other filters' columns:
-- such a page is the front of the region's range, read index-only.
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

INSERT INTO directory_regions (region, user_id, name, accepting, expertise, target_groups, modes,
                               languages)
    SELECT DISTINCT r, p.user_id, p.name, p.accepting, p.expertise, p.target_groups, p.modes,
           p.languages
      FROM consultant_profiles p, unnest(p.regions) r
     WHERE p.active;

-- A filter-only page of one region (server/directory.c), in the order of every filter-only page:
-- accepting first, then name, then id; after the cursor (not accepting, name, id) when given. Its
-- plan does not depend on the values, so it is made once per connection, like the search's.
-- A missing cursor starts before every row: no name is empty.
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

-- A card is now kept open: the consultant's JSON without its closing brace, up to `"stats": `,
-- so that a reply appends the live stats and the brace without reading the card. Cutting the
-- brace per reply (left(card, -1)) counted the card's characters, ~9 % of the directory
-- benchmark's CPU time. The replies are the same.
-- The JSON is still built by 0005's function, renamed; consultant_card(), which the triggers and
-- consultant_json() call by name, now cuts it open once, when the card is written.
ALTER FUNCTION consultant_card(consultant_profiles) RENAME TO consultant_card_json;
CREATE FUNCTION consultant_card(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT left(consultant_card_json(p), -1) || ', "stats": '
$$;
CREATE OR REPLACE FUNCTION consultant_item(card text, stats jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT card || stats::text || '}'
$$;
UPDATE consultant_cards c SET card = consultant_card(p)
  FROM consultant_profiles p WHERE p.user_id = c.user_id;
