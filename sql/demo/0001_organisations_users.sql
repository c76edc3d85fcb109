-- Demo data for `make run`: a fictional region with every kind of organisation and one user per
-- role. All names are invented. Every demo user signs in with the password overleg-demo-2026.
-- Idempotent: loading it twice changes nothing.

INSERT INTO organisations (id, name, kind, region, agb_code, created_at) VALUES
 ('00000000-0000-4000-a000-000000000001', 'Huisartsenpraktijk De Linde', 'general_practice', 'noord-midden-limburg', '01099001', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000002', 'Huisartsenpraktijk Maasoever', 'general_practice', 'noord-midden-limburg', '01099002', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000003', 'GGZ Maasland', 'mental_health_provider', 'noord-midden-limburg', '22099003', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000004', 'Zorgconsul Noord-Limburg', 'other', 'noord-midden-limburg', NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000005', 'Gemeente Peelland', 'municipality', 'noord-midden-limburg', NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000006', 'Zorgverzekeraar Zuid', 'insurer', 'noord-midden-limburg', NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000007', 'Wijkteam Venlo-Oost', 'social_team', 'noord-midden-limburg', NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-a000-000000000008', 'Overleg beheer', 'other', 'landelijk', NULL, '2026-01-05T09:00:00Z')
ON CONFLICT DO NOTHING;

INSERT INTO users (id, email, name, role, organisation_id, password_hash, agb_code, big_number, created_at) VALUES
 ('00000000-0000-4000-b000-000000000001', 'huisarts@demo.overleg.nl', 'Anna de Vries', 'gp', '00000000-0000-4000-a000-000000000001', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '01099101', '19099000101', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000002', 'poh@demo.overleg.nl', 'Sanne Jacobs', 'poh', '00000000-0000-4000-a000-000000000001', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', NULL, NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000003', 'huisarts2@demo.overleg.nl', 'Pieter Hendriks', 'gp', '00000000-0000-4000-a000-000000000002', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '01099102', '19099000102', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000004', 'psychiater@demo.overleg.nl', 'Mark Willems', 'consultant', '00000000-0000-4000-a000-000000000003', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '03099103', '39099000103', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000005', 'psycholoog@demo.overleg.nl', 'Lotte Peeters', 'consultant', '00000000-0000-4000-a000-000000000003', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', '94099104', '49099000104', '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000006', 'coordinator@demo.overleg.nl', 'Esther van Dijk', 'coordinator', '00000000-0000-4000-a000-000000000004', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', NULL, NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000007', 'administratie@demo.overleg.nl', 'Bram Smeets', 'billing', '00000000-0000-4000-a000-000000000001', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', NULL, NULL, '2026-01-05T09:00:00Z'),
 ('00000000-0000-4000-b000-000000000008', 'beheer@demo.overleg.nl', 'Platform Beheer', 'admin', '00000000-0000-4000-a000-000000000008', '$argon2id$v=19$m=19456,t=2,p=1$b3ZlcmxlZy1kZW1vLXNsdA$nxDTgxHDO3V8jCeb/ICTrp1lQf9T+daaidyB1Mu8ZBs', NULL, NULL, '2026-01-05T09:00:00Z')
ON CONFLICT DO NOTHING;
