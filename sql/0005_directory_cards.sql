-- Directory pages without per-row JSON work. The benchmark (docs/benchmarks.md) measured
-- consultant_json() at ~0.17 ms a row, most of a filter-only page.

-- A consultant's JSON (API.md §7) apart from the live `stats`: its "card". Kept ready in
-- consultant_cards, a narrow table of its own, so that the search's scans over consultant_profiles
-- do not read it.
CREATE FUNCTION consultant_card(p consultant_profiles) RETURNS text LANGUAGE sql STABLE AS $$
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

-- The card with its stats: plain text joining, as a jsonb step would parse the card again.
CREATE FUNCTION consultant_item(card text, stats jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(card, -1) || ', "stats": ' || stats::text || '}'
$$;

-- One definition of the JSON: the single-consultant replies build it the same way.
CREATE OR REPLACE FUNCTION consultant_json(p consultant_profiles, at timestamptz)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT consultant_item(consultant_card(p), consultant_stats(p.user_id, at))::jsonb
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

INSERT INTO consultant_cards (user_id, card)
    SELECT p.user_id, consultant_card(p) FROM consultant_profiles p;
