-- A year of demo consultations in the demo region, so lists, directory stats and reports mean
-- something on first start. All anonymous (a consented identity must be sealed with the
-- installation's own data key, which SQL does not have) with invented, identifier-free text,
-- written in clear here: scripts/run.sh runs `overlegd rekey` after loading, which seals it.
-- Idempotent: fixed ids derived from the row number.

WITH subjects(n, subject, question, expertise) AS (VALUES
 (0, 'Medicatie bij terugkerende depressie', 'Vrouw, 52 jaar, derde depressieve episode. Sertraline 100 mg helpt onvoldoende na 8 weken. Ophogen, wisselen of combineren?', 'depressie'),
 (1, 'Paniekklachten, verwijzen of zelf behandelen?', 'Man, 28 jaar, sinds een half jaar paniekaanvallen, vermijdt de trein. POH-GGZ heeft 4 gesprekken gehad. Is basis-ggz nodig of kan de POH doorgaan met exposure?', 'angst'),
 (2, 'Vermoeden van autisme bij jongvolwassene', 'Student, 20 jaar, vastgelopen in studie, weinig sociale contacten, sterke behoefte aan structuur. Zinvol om diagnostiek aan te vragen en waar?', 'autisme'),
 (3, 'Alcoholgebruik en slaapproblemen', 'Man, 61 jaar, drinkt dagelijks 5 tot 6 glazen om te kunnen slapen. Wil minderen. Hoe afbouwen en is begeleiding door de verslavingszorg nodig?', 'verslaving'),
 (4, 'Psychotische klachten na cannabisgebruik', 'Jongeman, 19 jaar, achterdochtig sinds enkele weken, blowt dagelijks. Geen acuut gevaar volgens de crisisdienst. Wat is de juiste route?', 'psychose'),
 (5, 'ADHD-medicatie bij volwassene', 'Vrouw, 35 jaar, diagnose ADHD in de kindertijd, wil opnieuw methylfenidaat. Kan de huisarts dit starten en welke controles zijn nodig?', 'adhd'),
 (6, 'Eetproblemen bij adolescent', 'Meisje, 15 jaar, forse gewichtsafname in drie maanden, ouders ongerust. Welke grenswaarden voor spoedverwijzing?', 'eetstoornis'),
 (7, 'Stemmingswisselingen en impulsiviteit', 'Vrouw, 30 jaar, wisselende stemming, conflicten op werk, eerdere behandeling zonder effect. Denken aan persoonlijkheidsproblematiek of bipolaire stoornis?', 'persoonlijkheid'),
 (8, 'Herbelevingen na ongeval', 'Man, 44 jaar, herbelevingen en schrikreacties sinds een verkeersongeval vorig jaar. Is EMDR in de basis-ggz passend?', 'trauma'),
 (9, 'Doodsgedachten zonder concreet plan', 'Vrouw, 67 jaar, weduwe, passieve doodswens, geen plan. Hoe de suïcidaliteit goed inschatten en wanneer opschalen?', 'suicidaliteit'),
 (10, 'Lithium bij bipolaire stoornis, nierfunctie', 'Man, 58 jaar, jaren stabiel op lithium, eGFR daalt. Hoe verder: afbouwen, andere stemmingsstabilisator?', 'bipolair'),
 (11, 'Somberheid bij chronische pijn', 'Vrouw, 46 jaar, fibromyalgie en toenemende somberheid. Welke behandeling is zinvol naast de fysiotherapie?', 'somatisch')
), series AS (
  SELECT i, (now() - (i * interval '17 hours' + (i % 7) * interval '3 hours')) AS submitted_at,
         CASE WHEN i < 8 THEN 'submitted' WHEN i < 14 THEN 'accepted' WHEN i < 24 THEN 'answered'
              WHEN i % 23 = 0 THEN 'withdrawn' WHEN i % 19 = 0 THEN 'declined' ELSE 'closed' END AS status
    FROM generate_series(0, 499) i
), rows AS (
  SELECT md5('overleg-demo-consultation-' || s.i)::uuid AS id, s.i, s.status, s.submitted_at,
         sub.subject, sub.question, sub.expertise,
         (SELECT p.user_id FROM consultant_profiles p
           WHERE p.active AND sub.expertise = ANY (p.expertise)
             AND 'noord-midden-limburg' = ANY (p.regions)
           ORDER BY p.user_id OFFSET (s.i % greatest(1, (SELECT count(*) FROM consultant_profiles p2
                     WHERE p2.active AND sub.expertise = ANY (p2.expertise))::int)) LIMIT 1) AS consultant_id,
         CASE WHEN s.i % 3 = 0 THEN '00000000-0000-4000-a000-000000000002'::uuid
              ELSE '00000000-0000-4000-a000-000000000001'::uuid END AS organisation_id,
         CASE WHEN s.i % 3 = 0 THEN '00000000-0000-4000-b000-000000000003'::uuid
              WHEN s.i % 2 = 0 THEN '00000000-0000-4000-b000-000000000002'::uuid
              ELSE '00000000-0000-4000-b000-000000000001'::uuid END AS requester_id,
         (s.i % 5 < 3) AS referral_contemplated,
         -- every ninth answer late (the reports' "answered within target" is not 100 %)
         interval '1 hour' * (2 + (s.i * 7) % 70 + CASE WHEN s.i % 9 = 0 THEN 60 ELSE 0 END)
             AS response_time
    FROM series s JOIN subjects sub ON sub.n = s.i % 12
)
INSERT INTO consultations (id, status, subject, question, patient_mode, patient_age, patient_sex,
    requester_id, organisation_id, region, consultant_id, expertise, mode, urgency,
    referral_contemplated, proposed_next_step, submitted_at, due_at, accepted_at, answered_at,
    closed_at, answer_advice, answer_recommendation, answer_minutes, outcome_referral,
    outcome_value, outcome_note, signal_check_at)
SELECT r.id, r.status, r.subject, r.question,
       CASE WHEN r.i % 41 = 0 THEN 'revoked' ELSE 'anonymous' END,
       CASE WHEN r.i % 41 = 0 THEN NULL ELSE 18 + (r.i * 13) % 60 END,
       CASE WHEN r.i % 41 = 0 THEN NULL ELSE (ARRAY['f', 'm', 'f', 'x', 'unknown'])[1 + r.i % 5] END,
       r.requester_id, r.organisation_id, 'noord-midden-limburg',
       CASE WHEN r.status = 'submitted' AND r.i % 2 = 0 THEN NULL ELSE r.consultant_id END,
       CASE WHEN r.i % 2 = 0 THEN r.expertise END,
       (ARRAY['digital', 'phone', 'video', 'digital', 'on_location'])[1 + r.i % 5],
       CASE WHEN r.i % 6 = 0 THEN 'soon' ELSE 'routine' END,
       r.referral_contemplated,
       CASE WHEN r.i % 4 = 0 THEN 'Graag advies of verwijzing nodig is.' END,
       r.submitted_at, r.submitted_at + interval '3 days',
       CASE WHEN r.status IN ('accepted', 'answered', 'closed') THEN r.submitted_at + r.response_time / 3 END,
       CASE WHEN r.status IN ('answered', 'closed') THEN r.submitted_at + r.response_time END,
       CASE WHEN r.status = 'closed' THEN r.submitted_at + r.response_time + interval '2 days' END,
       CASE WHEN r.status IN ('answered', 'closed') THEN 'Advies besproken; zie aanbevelingen. Bij onvoldoende effect na 6 weken opnieuw consulteren.' END,
       CASE WHEN r.status IN ('answered', 'closed') THEN (ARRAY['advice_only', 'advice_only', 'refer', 'co_treatment', 'follow_up_consultation'])[1 + r.i % 5] END,
       CASE WHEN r.status IN ('answered', 'closed') THEN 15 + (r.i * 11) % 46 END,
       CASE WHEN r.status = 'closed' THEN CASE WHEN r.referral_contemplated
            THEN (ARRAY['avoided', 'avoided', 'still_needed'])[1 + r.i % 3]
            ELSE (ARRAY['not_needed', 'not_needed', 'initiated'])[1 + r.i % 3] END END,
       CASE WHEN r.status = 'closed' THEN 3 + r.i % 3 END,
       NULL,
       -- open questions: the scheduler's first pass looks at them (the overdue ones are signalled)
       CASE WHEN r.status IN ('submitted', 'accepted') THEN now() END
  FROM rows r
 WHERE r.consultant_id IS NOT NULL
ON CONFLICT (id) DO NOTHING;

-- Their timelines: what happened, when and by whom, as the transitions would have written it.
-- The events' notification hook fills the demo users' inboxes; all but the last two days' are
-- marked read below, as a practice that keeps up with its inbox would have them.
INSERT INTO consultation_events (consultation_id, at, kind, actor_id, detail)
SELECT c.id, e.at, e.kind, e.actor_id, e.detail
  FROM consultations c
  CROSS JOIN LATERAL (VALUES
      (1, c.submitted_at, 'submitted', c.requester_id, NULL),
      (2, c.accepted_at, 'accepted', c.consultant_id, NULL),
      (3, c.answered_at, 'answered', c.consultant_id, NULL),
      (4, c.closed_at, 'closed', c.requester_id, NULL),
      (5, CASE WHEN c.status = 'declined' THEN c.submitted_at + interval '5 hours' END,
          'declined', c.consultant_id, 'Buiten mijn expertise; graag doorverwijzen.'),
      (6, CASE WHEN c.status = 'withdrawn' THEN c.submitted_at + interval '1 day' END,
          'withdrawn', c.requester_id, 'Patiënt inmiddels elders in behandeling.')
  ) e(n, at, kind, actor_id, detail)
 WHERE c.id = ANY (SELECT md5('overleg-demo-consultation-' || i)::uuid FROM generate_series(0, 499) i)
   AND e.at IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM consultation_events x WHERE x.consultation_id = c.id)
 ORDER BY c.id, e.n;

UPDATE notifications SET read_at = created_at + interval '1 hour'
 WHERE read_at IS NULL AND created_at < now() - interval '2 days'
   AND subject_id = ANY (SELECT md5('overleg-demo-consultation-' || i)::uuid
                           FROM generate_series(0, 499) i);
