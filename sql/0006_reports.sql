-- Reports (API.md §12): whether consultation works in a region, over a period. Figures are
-- counted from the consultations and cases themselves, each on an index that holds what the
-- figure needs (index-only scans over the region's rows of the period), so nothing has to be
-- kept in step with the workflow. docs/reports.md gives each figure's definition.

CREATE INDEX consultations_report_submitted ON consultations (region, submitted_at)
    INCLUDE (referral_contemplated);
CREATE INDEX consultations_report_answered ON consultations (region, answered_at)
    INCLUDE (due_at, response_hours) WHERE answered_at IS NOT NULL;
CREATE INDEX consultations_report_closed ON consultations (region, closed_at)
    INCLUDE (outcome_referral) WHERE closed_at IS NOT NULL;
CREATE INDEX cases_report_created ON cases (region, created_at) INCLUDE (max_level);
CREATE INDEX cases_report_resolved ON cases (region, resolved_at) INCLUDE (created_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX cases_report_closed ON cases (region, closed_at) WHERE closed_at IS NOT NULL;

-- GET /v1/reports/summary: the figures of `p_region` (NULL: every region) for the days
-- [p_from, p_to] in the Netherlands. Each event counts in the period it happened in: a
-- consultation submitted in it, answered in it, closed in it; a case registered (first) in it,
-- resolved in it, closed in it. Custom plans (force_custom_plan): with the region a constant, each
-- query is an index range scan; a generic plan could not use the index for "NULL: every region".
CREATE FUNCTION report_summary(p_region text, p_from date, p_to date) RETURNS jsonb
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    lo timestamptz := nl_midnight(p_from);
    hi timestamptz := nl_midnight(p_to + 1);
    submitted jsonb;
    answered jsonb;
    closed jsonb;
    registered jsonb;
    resolved jsonb;
    cases_closed bigint;
BEGIN
    SELECT jsonb_build_object('submitted', count(*),
               'referral_contemplated', count(*) FILTER (WHERE c.referral_contemplated))
      INTO submitted FROM consultations c
     WHERE (p_region IS NULL OR c.region = p_region)
       AND c.submitted_at >= lo AND c.submitted_at < hi;
    SELECT jsonb_build_object('answered', count(*),
               'answered_within_target', count(*) FILTER (WHERE c.answered_at <= c.due_at),
               'answered_within_target_pct', round(100.0 * count(*) FILTER (
                   WHERE c.answered_at <= c.due_at) / nullif(count(*), 0), 1),
               'median_response_hours', round((percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY c.response_hours))::numeric, 1))
      INTO answered FROM consultations c
     WHERE (p_region IS NULL OR c.region = p_region)
       AND c.answered_at >= lo AND c.answered_at < hi;
    SELECT jsonb_build_object('closed', count(*), 'outcomes', jsonb_build_object(
               'avoided', count(*) FILTER (WHERE c.outcome_referral = 'avoided'),
               'still_needed', count(*) FILTER (WHERE c.outcome_referral = 'still_needed'),
               'not_needed', count(*) FILTER (WHERE c.outcome_referral = 'not_needed'),
               'initiated', count(*) FILTER (WHERE c.outcome_referral = 'initiated')))
      INTO closed FROM consultations c
     WHERE (p_region IS NULL OR c.region = p_region)
       AND c.closed_at >= lo AND c.closed_at < hi;
    SELECT jsonb_build_object('registered', count(*), 'by_level', jsonb_build_object(
               '1', count(*) FILTER (WHERE k.max_level = 1),
               '2', count(*) FILTER (WHERE k.max_level = 2),
               '3', count(*) FILTER (WHERE k.max_level = 3),
               '4', count(*) FILTER (WHERE k.max_level = 4)))
      INTO registered FROM cases k
     WHERE (p_region IS NULL OR k.region = p_region)
       AND k.created_at >= lo AND k.created_at < hi;
    SELECT jsonb_build_object('resolved', count(*),
               'median_days_to_resolution', round((percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM k.resolved_at - k.created_at) / 86400))::numeric, 1))
      INTO resolved FROM cases k
     WHERE (p_region IS NULL OR k.region = p_region)
       AND k.resolved_at >= lo AND k.resolved_at < hi;
    SELECT count(*) INTO cases_closed FROM cases k
     WHERE (p_region IS NULL OR k.region = p_region)
       AND k.closed_at >= lo AND k.closed_at < hi;
    RETURN jsonb_build_object(
        'region', p_region, 'from', p_from, 'to', p_to,
        'consultations', submitted || answered || closed,
        'cases', registered || resolved || jsonb_build_object('closed', cases_closed));
END
$$;
