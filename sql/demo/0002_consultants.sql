-- Demo directory: GGZ consultants in the demo region covering every expertise code. Fictional
-- people; password overleg-demo-2026. Idempotent.

INSERT INTO organisations (id, name, kind, region, agb_code, created_at) VALUES
 ('00000000-0000-4000-a000-000000000009', 'Psychologenpraktijk De Peel', 'mental_health_provider', 'noord-midden-limburg', '94099009', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000010', 'Verslavingszorg Maas en Peel', 'mental_health_provider', 'noord-midden-limburg', '22099010', '2026-01-05T09:00:00Z')
ON CONFLICT DO NOTHING;

INSERT INTO users (id, email, name, role, organisation_id, password_hash, agb_code, big_number, created_at) VALUES
 ('00000000-0000-4000-b000-000000000011', 'kjp@demo.overleg.nl', 'Femke Janssen', 'consultant', '00000000-0000-4000-a000-000000000003', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '03099111', '39099000111', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000012', 'ouderen@demo.overleg.nl', 'Henk Verhoeven', 'consultant', '00000000-0000-4000-a000-000000000003', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '03099112', '39099000112', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000013', 'gz@demo.overleg.nl', 'Noor El Amrani', 'consultant', '00000000-0000-4000-a000-000000000009', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '94099113', '49099000113', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000014', 'therapeut@demo.overleg.nl', 'Joris Vermeulen', 'consultant', '00000000-0000-4000-a000-000000000009', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '94099114', '49099000114', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000015', 'verslavingsarts@demo.overleg.nl', 'Ingrid Coenen', 'consultant', '00000000-0000-4000-a000-000000000010', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '03099115', '39099000115', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000016', 'spv@demo.overleg.nl', 'Ruud Geurts', 'consultant', '00000000-0000-4000-a000-000000000003', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', NULL, '89099000116', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000017', 'klinisch@demo.overleg.nl', 'Marieke Bouten', 'consultant', '00000000-0000-4000-a000-000000000003', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '94099117', '49099000117', '2026-01-05T09:00:00Z')
ON CONFLICT DO NOTHING;

-- The trigger on users made an empty directory row for each consultant; fill them in.
UPDATE consultant_profiles p SET discipline = v.discipline, expertise = v.expertise,
       target_groups = v.target_groups, regions = v.regions, modes = v.modes,
       languages = v.languages, accepting = v.accepting, bio = v.bio,
       response_days = v.response_days, updated_at = '2026-01-05T09:00:00Z'
FROM (VALUES
 ('00000000-0000-4000-b000-000000000004'::uuid, 'psychiater', '{psychose,bipolair,medicatie,suicidaliteit}'::text[], '{volwassenen,epa}'::text[], '{noord-midden-limburg}'::text[], '{phone,video,on_location}'::text[], '{nl,en,de}'::text[], true,
  'Psychiater bij GGZ Maasland, ruim vijftien jaar ervaring met psychose en bipolaire stoornissen. Denkt graag mee over medicatie, bijwerkingen en afbouwen, en over de vraag of een verwijzing naar de specialistische ggz nodig is.', 2),
 ('00000000-0000-4000-b000-000000000005'::uuid, 'gz_psycholoog', '{angst,depressie,trauma}'::text[], '{volwassenen}'::text[], '{noord-midden-limburg}'::text[], '{digital,video}'::text[], '{nl,en}'::text[], true,
  'GZ-psycholoog. Behandelt angststoornissen, depressieve klachten en traumagerelateerde klachten met CGT en EMDR. Helpt de POH-GGZ bij de keuze tussen basis-ggz en begeleiding in de huisartsenpraktijk.', 3),
 ('00000000-0000-4000-b000-000000000011'::uuid, 'kinder_jeugdpsychiater', '{autisme,adhd,angst}'::text[], '{jeugd}'::text[], '{noord-midden-limburg}'::text[], '{phone,video}'::text[], '{nl}'::text[], true,
  'Kinder- en jeugdpsychiater. Consultatie over kinderen en jongeren met autisme, ADHD en angst, medicatie bij jeugd en de samenwerking met het wijkteam en de jeugdhulp van de gemeente.', 3),
 ('00000000-0000-4000-b000-000000000012'::uuid, 'ouderenpsychiater', '{depressie,medicatie,slaap}'::text[], '{ouderen}'::text[], '{noord-midden-limburg}'::text[], '{phone,on_location}'::text[], '{nl,de}'::text[], false,
  'Ouderenpsychiater. Denkt mee bij depressie op hoge leeftijd, onrust en slaapproblemen bij cliënten met cognitieve achteruitgang, en polyfarmacie. Tot de zomer beperkt beschikbaar.', 5),
 ('00000000-0000-4000-b000-000000000013'::uuid, 'gz_psycholoog', '{eetstoornis,angst,rouw}'::text[], '{jeugd,volwassenen,perinataal}'::text[], '{noord-midden-limburg}'::text[], '{digital,phone,video}'::text[], '{nl,ar,fr}'::text[], true,
  'GZ-psycholoog met aandacht voor eetstoornissen, angst rond zwangerschap en bevalling, en rouw na verlies. Spreekt Nederlands, Arabisch en Frans.', 2),
 ('00000000-0000-4000-b000-000000000014'::uuid, 'psychotherapeut', '{persoonlijkheid,trauma}'::text[], '{volwassenen}'::text[], '{noord-midden-limburg}'::text[], '{video,on_location}'::text[], '{nl}'::text[], true,
  'Psychotherapeut (schematherapie, MBT). Consultatie bij persoonlijkheidsproblematiek, vastgelopen behandelrelaties en complex trauma. Kan meedenken over een passende plek als eerdere verwijzingen niet aansloten.', 4),
 ('00000000-0000-4000-b000-000000000015'::uuid, 'verslavingsarts', '{verslaving,medicatie}'::text[], '{volwassenen,lvb}'::text[], '{noord-midden-limburg}'::text[], '{phone,video}'::text[], '{nl,en}'::text[], true,
  'Verslavingsarts (KNMG). Vragen over alcohol, drugs, gokken en medicatieverslaving, detoxificatie en terugvalpreventie, ook bij cliënten met een licht verstandelijke beperking.', 2),
 ('00000000-0000-4000-b000-000000000016'::uuid, 'spv', '{psychose,suicidaliteit,verslaving}'::text[], '{epa,volwassenen}'::text[], '{noord-midden-limburg}'::text[], '{phone,on_location}'::text[], '{nl}'::text[], true,
  'Sociaal-psychiatrisch verpleegkundige in het FACT-team. Denkt mee over cliënten met ernstige psychische aandoeningen thuis, zorgmijding, suïcidaliteit en dubbele diagnose.', 2),
 ('00000000-0000-4000-b000-000000000017'::uuid, 'klinisch_psycholoog', '{somatisch,angst,depressie}'::text[], '{volwassenen,ouderen}'::text[], '{noord-midden-limburg}'::text[], '{digital,video}'::text[], '{nl,en}'::text[], true,
  'Klinisch psycholoog. Consultatie bij somatisch onvoldoende verklaarde lichamelijke klachten (SOLK), gezondheidsangst en depressie bij chronische ziekte.', 3)
) AS v(user_id, discipline, expertise, target_groups, regions, modes, languages, accepting, bio, response_days)
WHERE p.user_id = v.user_id;
