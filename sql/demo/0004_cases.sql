-- Demo escalation cases (Zorgconsul) in the demo region, so a coordinator signing in finds work:
-- cases at every level (0-4) and in every status, some of them stalled (intake overdue, action
-- overdue, no progress, Treeknorm exceeded), with parties, actions, case conferences, a regie
-- holder where one is needed, and a timeline that tells how each case got where it is.
--
-- All patients anonymous (a consented identity must be sealed with the installation's data key,
-- which SQL does not have); every text invented and free of identifiers, and written in clear
-- here: scripts/run.sh runs `overlegd rekey` after loading, which seals it. Times are relative to
-- now(). The case rows are derived from their timelines (status, level, dates, version), so the
-- two cannot disagree. signal_check_at is now(): the first scheduler pass raises the signals.
-- Idempotent: fixed ids derived from the case number; a second load changes nothing.

BEGIN;

-- Who acts, by their demo ids (sql/demo/0001_organisations_users.sql).
CREATE TEMP TABLE demo_who (k text PRIMARY KEY, id uuid NOT NULL) ON COMMIT DROP;
INSERT INTO demo_who VALUES
 ('huisarts',    '00000000-0000-4000-b000-000000000001'),   -- Huisartsenpraktijk De Linde
 ('poh',         '00000000-0000-4000-b000-000000000002'),   -- Huisartsenpraktijk De Linde
 ('huisarts2',   '00000000-0000-4000-b000-000000000003'),   -- Huisartsenpraktijk Maasoever
 ('psychiater',  '00000000-0000-4000-b000-000000000004'),   -- GGZ Maasland
 ('psycholoog',  '00000000-0000-4000-b000-000000000005'),   -- GGZ Maasland
 ('coordinator', '00000000-0000-4000-b000-000000000006'),   -- Zorgconsul Noord-Limburg
 ('gz',          '00000000-0000-4000-b000-000000000013'),   -- Psychologenpraktijk De Peel
 ('verslaving',  '00000000-0000-4000-b000-000000000015'),   -- Verslavingszorg Maas en Peel
 ('spv',         '00000000-0000-4000-b000-000000000016'),   -- GGZ Maasland
 ('ouderen',     '00000000-0000-4000-b000-000000000012');   -- GGZ Maasland
CREATE TEMP TABLE demo_org (k text PRIMARY KEY, id uuid NOT NULL) ON COMMIT DROP;
INSERT INTO demo_org VALUES
 ('linde',     '00000000-0000-4000-a000-000000000001'),
 ('maasoever', '00000000-0000-4000-a000-000000000002'),
 ('ggz',       '00000000-0000-4000-a000-000000000003'),
 ('zorgconsul','00000000-0000-4000-a000-000000000004'),
 ('gemeente',  '00000000-0000-4000-a000-000000000005'),
 ('verzekeraar','00000000-0000-4000-a000-000000000006'),
 ('wijkteam',  '00000000-0000-4000-a000-000000000007'),
 ('peel',      '00000000-0000-4000-a000-000000000009'),
 ('vz',        '00000000-0000-4000-a000-000000000010');

-- The cases. Waiting dates in days before today (NULL: not given); regie by organisation key.
CREATE TEMP TABLE demo_case (
    n int PRIMARY KEY, title text, summary text, stagnation text, attempts text,
    proposed_solution text, age int, sex text, reported_by text, submitter text, org text,
    regie text, registered_on int, intake_on int, treatment_on int, solution text,
    follow_up_in int, consultation int
) ON COMMIT DROP;
INSERT INTO demo_case VALUES
 (1, 'Jonge moeder met angst en somberheid, geen passend aanbod',
  'Vrouw van in de dertig, twee jonge kinderen, sinds de geboorte van het jongste kind toenemend angstig en somber. Slaapt slecht, durft niet alleen met de kinderen naar buiten. POH-GGZ heeft zes gesprekken gevoerd; de klachten nemen toe.',
  'De basis-ggz vindt de problematiek te zwaar, de specialistische ggz vindt haar niet complex genoeg. Het wijkteam kan opvoedondersteuning bieden maar geen behandeling.',
  'Zes gesprekken POH-GGZ, consultatie psychiater over medicatie, aanmelding bij de basis-ggz (afgewezen), aanmelding bij de specialistische ggz (wachtlijst zonder intakedatum).',
  'Een intake bij de basis-ggz met consultatie door de specialistische ggz op de achtergrond, en opvoedondersteuning door het wijkteam in de tussentijd.',
  34, 'f', 'professional', 'huisarts', 'linde', NULL, 12, NULL, NULL, NULL, NULL, NULL),
 (2, 'Alcohol en depressie: verslavingszorg en ggz wijzen naar elkaar',
  'Man van middelbare leeftijd, na verlies van werk somber, drinkt dagelijks fors. Eerdere detox geslaagd, daarna snel terugval. Huisarts maakt zich zorgen over de veiligheid thuis.',
  'De ggz wil pas behandelen als hij minder drinkt; de verslavingszorg wil pas starten als de depressie behandeld is. Intussen gebeurt er niets.',
  'Verwijzing naar beide aanbieders, telefonisch overleg tussen huisarts en beide intakers, medicatie gestart door de huisarts.',
  'Een gezamenlijke intake van ggz en verslavingszorg en één behandelplan voor beide problemen, met één regiehouder.',
  47, 'm', 'professional', 'huisarts2', 'maasoever', NULL, 40, NULL, NULL, NULL, NULL, NULL),
 (3, 'Jongvolwassene na jeugd-ggz zonder vervolgbehandeling',
  'Jonge vrouw, net achttien geworden, tot voor kort in behandeling bij de jeugd-ggz wegens angst en zelfbeschadiging. De jeugdhulp is gestopt; een vervolg in de volwassenen-ggz is niet geregeld.',
  'De jeugd-ggz heeft het dossier afgesloten, de volwassenen-ggz heeft een nieuwe verwijzing nodig en plaatst haar achteraan op de wachtlijst. Er is geen overdracht geweest.',
  'Consultatie over de overbrugging, wekelijks contact met de POH-GGZ, crisisplan met de huisarts, verwijzing naar de volwassenen-ggz.',
  'Warme overdracht van jeugd-ggz naar volwassenen-ggz met voorrang op de wachtlijst, en het wijkteam als vast aanspreekpunt tot de behandeling loopt.',
  18, 'f', 'professional', 'poh', 'linde', NULL, 20, NULL, NULL, NULL, NULL, 14),
 (4, 'Oudere man met geheugenklachten en achterdocht, thuis niet meer veilig',
  'Man van in de zeventig, alleenstaand, toenemend achterdochtig en vergeetachtig. Laat thuiszorg niet meer binnen. Buren melden dat hij ''s nachts op straat loopt.',
  'Onduidelijk of dit een psychose, een delier of dementie is. De ggz wil eerst somatisch onderzoek, de huisarts krijgt hem niet naar de praktijk, de gemeente wacht op een diagnose voor een indicatie.',
  'Huisbezoek door de huisarts, consult ouderenpsychiater aangevraagd.',
  'Een gezamenlijk huisbezoek van huisarts en ouderenpsychiater en een snelle beslissing over de woonsituatie.',
  74, 'm', 'professional', 'psychiater', 'ggz', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 'Moeder met traumaklachten: aanmelding loopt vast op wachtlijst en schulden',
  'Vrouw van rond de veertig, alleenstaande moeder van drie kinderen, herbelevingen en nachtmerries na huiselijk geweld. Een zus meldde zich bij de Zorgconsul omdat niemand de draad oppakt.',
  'Behandeling voor trauma heeft lange wachttijden; de schulden en de woonsituatie maken behandeling nu moeilijk, en het wijkteam wacht op de ggz.',
  'Aanmelding bij de basis-ggz, gesprekken met het wijkteam, aanmelding bij schuldhulpverlening.',
  'Stabilisatie door het wijkteam en schuldhulp, en een traumabehandeling met een vaste startdatum.',
  41, 'f', 'relative', 'coordinator', 'zorgconsul', 'wijkteam', 21, NULL, NULL, NULL, NULL, NULL),
 (6, 'Vermoeden van autisme en dreigende huisuitzetting',
  'Man van eind twintig, woont zelfstandig, raakt overzicht kwijt over post en geld, huurachterstand. Sterke behoefte aan vaste structuur; paniek bij veranderingen.',
  'Diagnostiek bij de ggz duurt maanden, de woningcorporatie wil niet wachten en het wijkteam kan zonder diagnose geen begeleiding indiceren.',
  'Gesprekken bij de POH-GGZ, aanmelding voor diagnostiek, contact met het wijkteam over budgetbeheer.',
  'Begeleiding door het wijkteam op basis van de hulpvraag, zonder te wachten op de diagnose, en voorrang bij diagnostiek.',
  29, 'm', 'professional', 'huisarts', 'linde', NULL, 64, NULL, NULL, NULL, NULL, NULL),
 (7, 'Meisje met eetstoornis: beschikking jeugdhulp blijft uit',
  'Meisje van middelbare schoolleeftijd, in korte tijd veel afgevallen. Kinderarts en jeugd-ggz zijn betrokken; specialistische eetstoornisbehandeling is nodig.',
  'De specialistische behandeling vraagt een beschikking van de gemeente; de gemeente vraagt eerst een uitgebreider onderzoek door de jeugd-ggz. Ouders staan machteloos.',
  'Verwijzing door de huisarts, intake bij de jeugd-ggz, medische controles bij de kinderarts.',
  'Een beschikking voor de specialistische behandeling op korte termijn, met afspraken over medische controles in de tussentijd.',
  15, 'f', 'professional', 'huisarts2', 'maasoever', 'ggz', 25, 10, NULL, NULL, NULL, NULL),
 (8, 'Dubbele diagnose: beschermd wonen vraagt behandeling, behandeling vraagt een woonplek',
  'Man van midden dertig met een psychotische stoornis en middelengebruik, dakloos sinds een half jaar, slaapt afwisselend bij kennissen en in de nachtopvang.',
  'Beschermd wonen neemt hem pas op als hij in behandeling is; de behandelaar kan niet behandelen zonder vaste woonplek. Zorgverzekeraar en gemeente hebben geen afspraak over de combinatie.',
  'Intake bij ggz en verslavingszorg, aanmelding beschermd wonen, casusoverleg met alle partijen, tijdelijke opvang.',
  'Een plek in beschermd wonen met behandeling op locatie, gefinancierd uit een combinatie van Wmo en Zvw, met de ggz als regiehouder.',
  36, 'm', 'professional', 'psycholoog', 'ggz', 'ggz', 130, 95, NULL, NULL, NULL, NULL),
 (9, 'Zorgmijding en overlast bij ernstige psychiatrische aandoening: niemand neemt regie',
  'Man van begin vijftig met een langdurige psychiatrische aandoening, zorgmijdend, vervuilde woning, meerdere meldingen van overlast bij gemeente en politie.',
  'Elke organisatie heeft een deel van het beeld; niemand voelt zich eindverantwoordelijk. Het FACT-team heeft geen contact en sluit af na drie keer niet thuis.',
  'Meldingen bij het meldpunt zorg en overlast, huisbezoeken wijkteam, twee casusoverleggen zonder sluitende afspraken.',
  'Bestuurlijke afspraak dat de gemeente de procesregie voert en de ggz de behandelregie, met een outreachend team dat niet afsluit bij zorgmijding.',
  52, 'm', 'professional', 'huisarts', 'linde', 'gemeente', NULL, NULL, NULL, NULL, NULL, NULL),
 (10, 'Angst bij licht verstandelijke beperking: behandeling sluit niet aan',
  'Vrouw van begin zestig met een licht verstandelijke beperking en een angststoornis, woont met ambulante begeleiding. Reguliere behandeling werkte niet door de tempo en de taal.',
  'De basis-ggz heeft geen aangepast aanbod; gespecialiseerde zorg voor LVB valt buiten het contract van de zorgverzekeraar in deze regio.',
  'Twee behandeltrajecten in de basis-ggz afgebroken, overleg met de begeleider, consultatie gedragsdeskundige.',
  'Een aangepaste behandeling bij de psychologenpraktijk met vergoeding via een maatwerkafspraak met de zorgverzekeraar.',
  61, 'f', 'professional', 'huisarts2', 'maasoever', 'peel', 80, 58, 15, NULL, NULL, NULL),
 (11, 'Psychose na cannabisgebruik: FACT-team en verslavingszorg verwijzen naar elkaar',
  'Jongeman, achterdochtig en teruggetrokken sinds hij dagelijks blowt, gestopt met zijn opleiding. Ouders ongerust; geen acuut gevaar volgens de crisisdienst.',
  'Het FACT-team ziet vooral een verslavingsprobleem, de verslavingszorg vooral een psychose. Hij valt tussen beide in.',
  'Beoordeling door de crisisdienst, verwijzing naar beide aanbieders, gesprekken met de POH-GGZ.',
  'Behandeling door het FACT-team met de verslavingsarts als medebehandelaar.',
  24, 'm', 'professional', 'poh', 'linde', 'ggz', 70, 50, 25,
  'Het FACT-team van GGZ Maasland behandelt en houdt de regie; de verslavingsarts is medebehandelaar en sluit aan bij elk behandelplanoverleg.',
  56, NULL),
 (12, 'Depressie en beginnende cognitieve achteruitgang bij oudere vrouw',
  'Vrouw van begin zeventig, weduwe, somber en teruggetrokken, vergeet afspraken. Kinderen wonen ver weg.',
  'De ggz verwijst naar de geheugenpoli, de geheugenpoli vindt eerst behandeling van de depressie nodig.',
  'Gesprekken bij de POH-GGZ, antidepressivum gestart door de huisarts, aanmelding bij de ggz.',
  'Consult van de ouderenpsychiater aan huis en behandeling vanuit de huisartsenpraktijk met consultatie.',
  72, 'f', 'professional', 'huisarts', 'linde', 'linde', NULL, NULL, NULL,
  'De huisartsenpraktijk behandelt met maandelijkse consultatie van de ouderenpsychiater; het wijkteam bezoekt haar wekelijks.',
  21, NULL),
 (13, 'Paniekstoornis: verwijzing naar de basis-ggz twee keer afgewezen',
  'Man van begin dertig met paniekaanvallen, kan niet meer reizen voor zijn werk, dreigt zijn baan te verliezen.',
  'De basis-ggz wees de verwijzing twee keer af omdat eerst de POH-GGZ zou moeten behandelen; die behandeling is al afgerond zonder effect.',
  'Acht gesprekken bij de POH-GGZ met exposure, e-health module, medicatie.',
  'Een intake bij de basis-ggz op basis van de bestaande verwijzing.',
  33, 'm', 'professional', 'huisarts2', 'maasoever', 'peel', 100, 80, 62,
  'De psychologenpraktijk heeft de verwijzing alsnog geaccepteerd; de behandeling is gestart.', NULL, NULL),
 (14, 'Complex trauma met suïcidaliteit: geen klinische plek in de regio',
  'Vrouw van midden veertig met complexe traumaklachten en terugkerende suïcidale crises, meerdere korte opnames zonder vervolg.',
  'Klinische traumabehandeling is alleen buiten de regio beschikbaar; de zorgverzekeraar heeft daar geen contract en de gemeente wil de begeleiding thuis niet uitbreiden.',
  'Ambulante behandeling, crisisopnames, aanmelding bij drie klinieken, twee casusoverleggen.',
  'Bovenregionale plaatsing in een gespecialiseerde kliniek met vergoeding via een individuele afspraak, en begeleiding thuis tot de opname.',
  45, 'f', 'professional', 'psychiater', 'ggz', 'ggz', NULL, NULL, NULL,
  'Plaatsing in een gespecialiseerde kliniek buiten de regio met een individuele vergoedingsafspraak; GGZ Maasland houdt de regie en neemt de nazorg over.',
  NULL, NULL),
 (15, 'Eetstoornis na verhuizing: behandeling niet overgedragen',
  'Jongvolwassene met een eetstoornis, verhuisd naar de regio voor studie. De behandeling in de vorige woonplaats is gestopt zonder overdracht.',
  'De nieuwe aanbieder wil het dossier van de vorige behandelaar, die het alleen met toestemming wil sturen; de patiënt heeft toestemming gegeven maar er gebeurt niets.',
  'Herhaalde verzoeken om het dossier, medische controles bij de huisarts.',
  'Een rechtstreekse overdracht tussen beide behandelaars en een intake binnen twee weken.',
  21, 'x', 'professional', 'poh', 'linde', 'ggz', NULL, NULL, NULL,
  'Het dossier is overgedragen en de behandeling bij GGZ Maasland is gestart.', NULL, NULL);

-- Parties, in the order the submitter gave them.
CREATE TEMP TABLE demo_party (n int, pos int, org text, role text) ON COMMIT DROP;
INSERT INTO demo_party VALUES
 (1, 1, 'linde', 'huisarts'), (1, 2, 'peel', 'basis-ggz'), (1, 3, 'ggz', 'specialistische ggz'),
 (1, 4, 'wijkteam', 'wijkteam'),
 (2, 1, 'maasoever', 'huisarts'), (2, 2, 'ggz', 'specialistische ggz'),
 (2, 3, 'vz', 'verslavingszorg'), (2, 4, 'verzekeraar', 'zorgverzekeraar (Zvw)'),
 (3, 1, 'linde', 'huisarts'), (3, 2, 'ggz', 'volwassenen-ggz'), (3, 3, 'gemeente', 'jeugdhulp'),
 (3, 4, 'wijkteam', 'wijkteam'),
 (4, 1, 'ggz', 'ouderenpsychiatrie'), (4, 2, 'maasoever', 'huisarts'),
 (4, 3, 'gemeente', 'Wmo-loket'), (4, 4, 'wijkteam', 'wijkteam'),
 (5, 1, 'linde', 'huisarts'), (5, 2, 'peel', 'basis-ggz'), (5, 3, 'wijkteam', 'wijkteam'),
 (5, 4, 'gemeente', 'schuldhulpverlening'),
 (6, 1, 'linde', 'huisarts'), (6, 2, 'ggz', 'diagnostiek'), (6, 3, 'wijkteam', 'wijkteam'),
 (6, 4, 'gemeente', 'Wmo-loket'),
 (7, 1, 'maasoever', 'huisarts'), (7, 2, 'ggz', 'jeugd-ggz'), (7, 3, 'gemeente', 'jeugdhulp'),
 (7, 4, 'peel', 'psychologenpraktijk'),
 (8, 1, 'ggz', 'specialistische ggz'), (8, 2, 'vz', 'verslavingszorg'),
 (8, 3, 'gemeente', 'beschermd wonen'), (8, 4, 'verzekeraar', 'zorgverzekeraar (Zvw)'),
 (8, 5, 'maasoever', 'huisarts'),
 (9, 1, 'linde', 'huisarts'), (9, 2, 'ggz', 'FACT-team'), (9, 3, 'gemeente', 'meldpunt zorg en overlast'),
 (9, 4, 'verzekeraar', 'zorgverzekeraar (Zvw)'), (9, 5, 'wijkteam', 'wijkteam'),
 (9, 6, 'vz', 'verslavingszorg'),
 (10, 1, 'maasoever', 'huisarts'), (10, 2, 'peel', 'psychologenpraktijk'),
 (10, 3, 'ggz', 'basis-ggz'), (10, 4, 'gemeente', 'Wmo-begeleiding'),
 (10, 5, 'verzekeraar', 'zorgverzekeraar (Zvw)'),
 (11, 1, 'linde', 'huisarts'), (11, 2, 'ggz', 'FACT-team'), (11, 3, 'vz', 'verslavingszorg'),
 (12, 1, 'linde', 'huisarts'), (12, 2, 'ggz', 'ouderenpsychiatrie'), (12, 3, 'wijkteam', 'wijkteam'),
 (13, 1, 'maasoever', 'huisarts'), (13, 2, 'peel', 'basis-ggz'),
 (13, 3, 'verzekeraar', 'zorgverzekeraar (Zvw)'),
 (14, 1, 'ggz', 'specialistische ggz'), (14, 2, 'linde', 'huisarts'),
 (14, 3, 'gemeente', 'Wmo-begeleiding'), (14, 4, 'verzekeraar', 'zorgverzekeraar (Zvw)'),
 (15, 1, 'linde', 'huisarts'), (15, 2, 'ggz', 'eetstoornissen'), (15, 3, 'peel', 'basis-ggz (overbrugging)');

-- The timeline's own events (those of actions and conferences follow from them below): when
-- (days ago), what, by whom, the level after it, the reason or note. regie_set's subject is the
-- case's regie holder (filled in below).
CREATE TEMP TABLE demo_event (n int, ago numeric, kind text, actor text, level int, detail text)
    ON COMMIT DROP;
INSERT INTO demo_event VALUES
 (1, 1.2, 'registered', 'huisarts', 0, NULL),
 (2, 11.3, 'registered', 'huisarts2', 0, NULL),
 (3, 15.2, 'registered', 'poh', 0, NULL),
 (3, 13.0, 'returned', 'coordinator', 0, 'Graag eerst het verwijsbericht aan de volwassenen-ggz en wat de jeugd-ggz bij het afsluiten heeft geadviseerd; dan kunnen we de juiste partijen aan tafel vragen.'),
 (3, 4.3, 'edited', 'poh', 0, NULL),
 (3, 4.29, 'resubmitted', 'poh', 0, NULL),
 (4, 8.2, 'registered', 'psychiater', 0, NULL),
 (4, 5.1, 'returned', 'coordinator', 0, 'Is het somatisch onderzoek al aangevraagd, en heeft de huisarts de familie gesproken? Vul dat aan, dan nemen we de casus in behandeling.'),
 (5, 6.1, 'registered', 'coordinator', 0, NULL),
 (5, 4.2, 'intake', 'coordinator', 1, 'Informatie compleet; zus blijft contactpersoon. Wijkteam neemt de regie op zich.'),
 (5, 4.15, 'regie_set', 'coordinator', 1, NULL),
 (6, 40.1, 'registered', 'huisarts', 0, NULL),
 (6, 36.2, 'intake', 'coordinator', 1, 'Huisarts heeft diagnostiek aangevraagd en het wijkteam ingelicht. Eerste stap: afspraken over budgetbeheer.'),
 (6, 19.3, 'note', 'huisarts', 1, 'Woningcorporatie heeft een termijn gesteld voor de betalingsregeling; nog geen reactie van het wijkteam.'),
 (7, 24.1, 'registered', 'huisarts2', 0, NULL),
 (7, 21.2, 'intake', 'coordinator', 1, 'Jeugd-ggz houdt de behandelregie; eerst de beschikking regelen.'),
 (7, 21.1, 'regie_set', 'coordinator', 1, NULL),
 (7, 9.2, 'escalated', 'coordinator', 2, 'Beschikking blijft uit: gemeente en jeugd-ggz verschillen van mening over het onderzoek dat nodig is. Casusoverleg met beide partijen.'),
 (8, 100.2, 'registered', 'psycholoog', 0, NULL),
 (8, 97.1, 'intake', 'coordinator', 1, 'Alle partijen bekend; informatie compleet.'),
 (8, 97.0, 'regie_set', 'coordinator', 1, NULL),
 (8, 70.2, 'escalated', 'coordinator', 2, 'Beschermd wonen en behandeling wachten op elkaar; casusoverleg nodig om de volgorde te doorbreken.'),
 (8, 30.1, 'escalated', 'coordinator', 3, 'Het casusoverleg leverde een plan op dat in de contracten niet past: zorgverzekeraar en gemeente gevraagd om een afspraak over gecombineerde financiering.'),
 (8, 6.2, 'note', 'coordinator', 3, 'Zorgverzekeraar en gemeente hebben een eerste gesprek gehad; voorstel volgt.'),
 (9, 120.3, 'registered', 'huisarts', 0, NULL),
 (9, 117.1, 'intake', 'coordinator', 1, 'Meldingen van overlast en zorgmijding gebundeld; alle betrokken partijen uitgenodigd.'),
 (9, 90.2, 'escalated', 'coordinator', 2, 'Afspraken uit de eerste ronde niet nagekomen; casusoverleg met alle partijen.'),
 (9, 60.1, 'escalated', 'coordinator', 3, 'Geen partij wil de regie; gemeente en zorgverzekeraar gevraagd afspraken te maken over outreachende zorg.'),
 (9, 58.0, 'regie_set', 'coordinator', 3, NULL),
 (9, 21.2, 'escalated', 'coordinator', 4, 'Contractafspraken bieden geen oplossing voor de outreachende inzet: bestuurlijk overleg van gemeente, zorgverzekeraar en ggz.'),
 (9, 3.1, 'note', 'coordinator', 4, 'Wethouder en bestuurders van zorgverzekeraar en ggz hebben het overleg bevestigd.'),
 (10, 75.2, 'registered', 'huisarts2', 0, NULL),
 (10, 72.1, 'intake', 'coordinator', 1, 'Begeleider en huisarts zijn het eens over de hulpvraag.'),
 (10, 60.2, 'escalated', 'coordinator', 2, 'Geen aanbieder met aangepast aanbod gevonden; casusoverleg.'),
 (10, 59.1, 'regie_set', 'coordinator', 2, NULL),
 (10, 45.2, 'escalated', 'coordinator', 3, 'Aangepaste behandeling valt buiten het contract: zorgverzekeraar gevraagd om een maatwerkafspraak.'),
 (10, 29.1, 'deescalated', 'coordinator', 2, 'Maatwerkafspraak gemaakt; verdere uitvoering tussen psychologenpraktijk en begeleiding.'),
 (10, 10.2, 'note', 'gz', 2, 'Eerste behandelgesprekken gevoerd samen met de begeleider; gaat goed.'),
 (11, 60.1, 'registered', 'poh', 0, NULL),
 (11, 58.2, 'intake', 'coordinator', 1, 'Crisisdienst ziet geen acuut gevaar; beide aanbieders uitgenodigd.'),
 (11, 45.1, 'escalated', 'coordinator', 2, 'Beide aanbieders blijven naar elkaar verwijzen; casusoverleg om af te spreken wie behandelt.'),
 (11, 39.2, 'regie_set', 'coordinator', 2, NULL),
 (11, 5.1, 'resolved', 'coordinator', 2, NULL),
 (12, 30.2, 'registered', 'huisarts', 0, NULL),
 (12, 28.1, 'intake', 'coordinator', 1, 'Vraag is helder: wie behandelt de depressie.'),
 (12, 28.0, 'regie_set', 'coordinator', 1, NULL),
 (12, 9.1, 'resolved', 'coordinator', 1, NULL),
 (13, 95.2, 'registered', 'huisarts2', 0, NULL),
 (13, 92.1, 'intake', 'coordinator', 1, 'Verwijzing en behandelverslag POH-GGZ aanwezig.'),
 (13, 92.0, 'regie_set', 'coordinator', 1, NULL),
 (13, 80.1, 'resolved', 'coordinator', 1, NULL),
 (13, 50.2, 'closed', 'coordinator', 1, 'Nazorgcontact: behandeling loopt, klachten nemen af.'),
 (14, 200.2, 'registered', 'psychiater', 0, NULL),
 (14, 198.1, 'intake', 'coordinator', 1, 'Aanmeldingen bij klinieken en crisisplan bijgevoegd.'),
 (14, 198.0, 'regie_set', 'coordinator', 1, NULL),
 (14, 185.2, 'escalated', 'coordinator', 2, 'Geen kliniek in de regio; casusoverleg over alternatieven.'),
 (14, 165.1, 'escalated', 'coordinator', 3, 'Plaatsing buiten de regio nodig: zorgverzekeraar gevraagd om vergoeding buiten het contract.'),
 (14, 140.2, 'escalated', 'coordinator', 4, 'Zorgverzekeraar wijst vergoeding af; bestuurlijk overleg over een individuele afspraak.'),
 (14, 110.1, 'resolved', 'coordinator', 4, NULL),
 (14, 60.1, 'closed', 'coordinator', 4, 'Opname afgerond, nazorg bij GGZ Maasland loopt.'),
 (15, 150.1, 'registered', 'poh', 0, NULL),
 (15, 147.2, 'intake', 'coordinator', 1, 'Toestemming van de patiënt voor overdracht aanwezig.'),
 (15, 140.1, 'escalated', 'coordinator', 2, 'Vorige behandelaar reageert niet; overleg met beide behandelaars.'),
 (15, 133.2, 'regie_set', 'coordinator', 2, NULL),
 (15, 120.1, 'resolved', 'coordinator', 2, NULL),
 (15, 90.1, 'closed', 'coordinator', 2, 'Behandeling loopt; geen verdere afspraken nodig.');

-- Actions: created (days ago) by the coordinator, owned by a party, due (days from today,
-- negative: past), done (days ago; NULL: open) by whom, with what result.
CREATE TEMP TABLE demo_action (n int, k int, ago numeric, description text, owner text,
                               due_in int, done_ago numeric, closer text, result text)
    ON COMMIT DROP;
INSERT INTO demo_action VALUES
 (5, 1, 4.1, 'Intakegesprek inplannen en de startdatum van de traumabehandeling doorgeven.', 'peel', 6, NULL, NULL, NULL),
 (5, 2, 4.05, 'Aanmelding bij schuldhulpverlening met voorrang oppakken.', 'gemeente', 10, NULL, NULL, NULL),
 (6, 1, 36.1, 'Budgetbeheer en contact met de woningcorporatie regelen.', 'wijkteam', -22, 30.2, 'coordinator', 'Budgetbeheer gestart; betalingsregeling aangevraagd.'),
 (7, 1, 20.9, 'Beschikking jeugdhulp afgeven voor specialistische eetstoornisbehandeling.', 'gemeente', -5, NULL, NULL, NULL),
 (7, 2, 20.8, 'Medische controles in de tussentijd afspreken met de kinderarts.', 'maasoever', -12, 15.1, 'huisarts2', 'Wekelijkse weging en controle bij de kinderarts afgesproken.'),
 (8, 1, 96.2, 'Verslavingsbehandeling afstemmen met het behandelplan van de ggz.', 'vz', -82, 80.1, 'verslaving', 'Gezamenlijk behandelplan opgesteld.'),
 (8, 2, 29.2, 'Ruimte in het contract zoeken voor behandeling op de woonlocatie.', 'verzekeraar', 10, NULL, NULL, NULL),
 (8, 3, 29.1, 'Plaatsing in beschermd wonen onder voorwaarde van behandeling voorbereiden.', 'gemeente', 12, NULL, NULL, NULL),
 (9, 1, 116.2, 'Gezamenlijk huisbezoek van wijkteam en SPV.', 'wijkteam', -105, 106.1, 'coordinator', 'Huisbezoek afgelegd; patiënt liet het team binnen.'),
 (9, 2, 20.1, 'Bestuurlijk overleg voorbereiden: voorstel voor procesregie en outreachende zorg.', 'gemeente', 8, NULL, NULL, NULL),
 (10, 1, 44.2, 'Maatwerkafspraak voor aangepaste behandeling bij LVB.', 'verzekeraar', -30, 30.1, 'coordinator', 'Vergoeding voor aangepaste behandeling toegezegd.'),
 (10, 2, 28.2, 'Behandeling starten, aangepast aan tempo en taal, met de begeleider erbij.', 'peel', 2, NULL, NULL, NULL),
 (11, 1, 57.2, 'Beoordeling door het FACT-team inplannen.', 'ggz', -50, 51.1, 'spv', 'Beoordeling gedaan; psychotische kwetsbaarheid bevestigd.'),
 (11, 2, 39.1, 'Gedeeld behandelplan voor psychose en middelengebruik opstellen.', 'vz', -25, 26.2, 'verslaving', 'Behandelplan opgesteld met de verslavingsarts als medebehandelaar.'),
 (12, 1, 27.2, 'Consult ouderenpsychiater aan huis.', 'ggz', -14, 14.1, 'ouderen', 'Consult gedaan; advies medicatie en behandeling in de huisartsenpraktijk.'),
 (13, 1, 91.2, 'Verwijzing opnieuw beoordelen met het behandelverslag van de POH-GGZ.', 'peel', -84, 84.1, 'gz', 'Verwijzing geaccepteerd; intake gepland.'),
 (14, 1, 164.2, 'Plaatsing buiten de regio onderzoeken en kosten in kaart brengen.', 'verzekeraar', -150, 151.1, 'coordinator', 'Kliniek gevonden; vergoeding buiten het contract afgewezen.'),
 (14, 2, 139.1, 'Individuele vergoedingsafspraak uitwerken na het bestuurlijk overleg.', 'verzekeraar', -116, 116.2, 'coordinator', 'Individuele afspraak gemaakt; opname gepland.'),
 (15, 1, 133.1, 'Dossier rechtstreeks opvragen bij de vorige behandelaar en de intake plannen.', 'ggz', -125, 126.1, 'psycholoog', 'Dossier ontvangen; intake gedaan en behandeling gestart.');

-- Case conferences: planned (days ago) for (days from now; negative: past), with which parties.
CREATE TEMP TABLE demo_conf (n int, k int, ago numeric, starts_in numeric, participants text[],
                             agenda text) ON COMMIT DROP;
INSERT INTO demo_conf VALUES
 (7, 1, 8.9, 3.1, '{maasoever,ggz,gemeente,peel}', 'Welk onderzoek is nog nodig voor de beschikking, en wie doet het? Afspraken over de medische controles tot de behandeling start.'),
 (8, 1, 68.1, -60.2, '{ggz,vz,gemeente,maasoever}', 'Volgorde van woonplek en behandeling doorbreken: wat kan tegelijk?'),
 (9, 1, 89.1, -84.1, '{linde,ggz,gemeente,wijkteam,vz}', 'Wie neemt de regie, en hoe blijft het FACT-team in contact bij zorgmijding?'),
 (9, 2, 20.05, 9.1, '{gemeente,verzekeraar,ggz}', 'Bestuurlijk overleg: procesregie bij de gemeente, behandelregie bij de ggz, financiering van outreachende zorg.'),
 (10, 1, 59.2, -52.1, '{maasoever,peel,ggz,gemeente}', 'Welke aanbieder kan een aangepaste behandeling bieden, en wat is daarvoor nodig?'),
 (11, 1, 44.1, -40.2, '{linde,ggz,vz}', 'Wie behandelt wat: afspraken tussen FACT-team en verslavingszorg.'),
 (14, 1, 184.1, -178.1, '{ggz,linde,gemeente,verzekeraar}', 'Alternatieven voor een klinische traumabehandeling en begeleiding thuis tot die tijd.'),
 (14, 2, 139.2, -130.2, '{ggz,gemeente,verzekeraar}', 'Bestuurlijk overleg over een individuele vergoedingsafspraak.'),
 (15, 1, 139.9, -133.3, '{linde,ggz,peel}', 'Overdracht van dossier en behandeling.');

-- Every event with its time, actor and level: the case's own, then those of its actions and
-- conferences (at the level the case had then). Ids of actions and conferences are fixed.
CREATE TEMP TABLE demo_all (n int, at timestamptz, kind text, actor uuid, level int,
                            detail text, subject uuid) ON COMMIT DROP;
INSERT INTO demo_all
SELECT e.n, now() - e.ago * interval '1 day', e.kind, w.id, e.level,
       CASE WHEN e.kind = 'resolved' THEN (SELECT c.solution FROM demo_case c WHERE c.n = e.n)
            WHEN e.kind <> 'regie_set' THEN e.detail END,
       CASE WHEN e.kind = 'regie_set' THEN (SELECT d.id FROM demo_org d JOIN demo_case c
                                             ON c.regie = d.k WHERE c.n = e.n) END
  FROM demo_event e JOIN demo_who w ON w.k = e.actor;
INSERT INTO demo_all
SELECT a.n, now() - x.ago * interval '1 day', x.kind, w.id,
       (SELECT e.level FROM demo_event e WHERE e.n = a.n AND e.ago > x.ago ORDER BY e.ago LIMIT 1),
       x.detail, md5('overleg-demo-case-action-' || a.n || '-' || a.k)::uuid
  FROM demo_action a
 CROSS JOIN LATERAL (VALUES (a.ago, 'action_created', 'coordinator', a.description),
                            (a.done_ago, 'action_done', a.closer, a.result)) x(ago, kind, who, detail)
  JOIN demo_who w ON w.k = x.who
 WHERE x.ago IS NOT NULL;
INSERT INTO demo_all
SELECT f.n, now() - f.ago * interval '1 day', 'conference_planned',
       (SELECT id FROM demo_who WHERE k = 'coordinator'),
       (SELECT e.level FROM demo_event e WHERE e.n = f.n AND e.ago > f.ago ORDER BY e.ago LIMIT 1),
       f.agenda, md5('overleg-demo-case-conference-' || f.n || '-' || f.k)::uuid
  FROM demo_conf f;

-- ---------- the rows ----------

INSERT INTO cases (id, status, level, max_level, region, title, summary, stagnation, attempts,
    proposed_solution, patient_mode, patient_age, patient_sex, reported_by, consultation_id,
    submitted_by, organisation_id, regie_organisation_id, registered_on, intake_on,
    treatment_on, solution, follow_up_on, created_at, registered_at, intake_at, resolved_at,
    closed_at, last_event_at, next_action_due, signal_check_at, version)
SELECT md5('overleg-demo-case-' || c.n)::uuid,
       CASE t.last_status WHEN 'registered' THEN 'registered' WHEN 'resubmitted' THEN 'registered'
            WHEN 'returned' THEN 'returned' WHEN 'intake' THEN 'in_progress'
            WHEN 'resolved' THEN 'resolved' ELSE 'closed' END,
       t.level, t.max_level, 'noord-midden-limburg', c.title, c.summary, c.stagnation,
       c.attempts, c.proposed_solution, 'anonymous', c.age, c.sex, c.reported_by,
       (SELECT k.id FROM consultations k
         WHERE k.id = md5('overleg-demo-consultation-' || c.consultation)::uuid),
       s.id, o.id, r.id,
       nl_date(now()) - c.registered_on, nl_date(now()) - c.intake_on,
       nl_date(now()) - c.treatment_on, c.solution, nl_date(now()) + c.follow_up_in,
       t.created_at, t.registered_at, t.intake_at, t.resolved_at, t.closed_at, t.last_event_at,
       (SELECT nl_date(now()) + min(a.due_in) FROM demo_action a
         WHERE a.n = c.n AND a.done_ago IS NULL),
       now(), t.events
  FROM demo_case c
  JOIN demo_who s ON s.k = c.submitter
  JOIN demo_org o ON o.k = c.org
  LEFT JOIN demo_org r ON r.k = c.regie
 CROSS JOIN LATERAL (
    SELECT min(e.at) AS created_at,
           max(e.at) FILTER (WHERE e.kind IN ('registered', 'resubmitted')) AS registered_at,
           max(e.at) FILTER (WHERE e.kind = 'intake') AS intake_at,
           max(e.at) FILTER (WHERE e.kind = 'resolved') AS resolved_at,
           max(e.at) FILTER (WHERE e.kind = 'closed') AS closed_at,
           max(e.at) AS last_event_at,
           (array_agg(e.level ORDER BY e.at DESC))[1] AS level,
           max(e.level) AS max_level,
           (array_agg(e.kind ORDER BY e.at DESC) FILTER (WHERE e.kind IN ('registered',
               'resubmitted', 'returned', 'intake', 'resolved', 'closed')))[1] AS last_status,
           count(*) AS events
      FROM demo_all e WHERE e.n = c.n) t
ON CONFLICT (id) DO NOTHING;

INSERT INTO case_parties (case_id, organisation_id, role, position)
SELECT md5('overleg-demo-case-' || p.n)::uuid, o.id, p.role, p.pos
  FROM demo_party p JOIN demo_org o ON o.k = p.org
ON CONFLICT DO NOTHING;

INSERT INTO case_actions (id, case_id, description, owner_organisation_id, due_on, status,
    result, created_by, created_at, closed_by, closed_at)
SELECT md5('overleg-demo-case-action-' || a.n || '-' || a.k)::uuid,
       md5('overleg-demo-case-' || a.n)::uuid, a.description, o.id, nl_date(now()) + a.due_in,
       CASE WHEN a.done_ago IS NULL THEN 'open' ELSE 'done' END, a.result,
       (SELECT id FROM demo_who WHERE k = 'coordinator'), now() - a.ago * interval '1 day',
       w.id, now() - a.done_ago * interval '1 day'
  FROM demo_action a JOIN demo_org o ON o.k = a.owner LEFT JOIN demo_who w ON w.k = a.closer
ON CONFLICT (id) DO NOTHING;

INSERT INTO case_conferences (id, case_id, starts_at, participants, agenda, created_by,
    created_at)
SELECT md5('overleg-demo-case-conference-' || f.n || '-' || f.k)::uuid,
       md5('overleg-demo-case-' || f.n)::uuid,
       date_trunc('hour', now() + f.starts_in * interval '1 day'),
       ARRAY(SELECT o.id FROM unnest(f.participants) WITH ORDINALITY p(k, i)
               JOIN demo_org o ON o.k = p.k ORDER BY p.i),
       f.agenda, (SELECT id FROM demo_who WHERE k = 'coordinator'),
       now() - f.ago * interval '1 day'
  FROM demo_conf f
ON CONFLICT (id) DO NOTHING;

-- The timelines, in order. Their notification hook fills the inboxes (the region's coordinator
-- of new cases, the parties of level changes, the owners of actions); all but the last two days'
-- are marked read below, as a team that keeps up with its inbox would have them.
INSERT INTO case_events (case_id, at, kind, actor_id, level, detail, subject)
SELECT md5('overleg-demo-case-' || e.n)::uuid, e.at, e.kind, e.actor, e.level, e.detail,
       e.subject
  FROM demo_all e
 WHERE NOT EXISTS (SELECT 1 FROM case_events x
                    WHERE x.case_id = md5('overleg-demo-case-' || e.n)::uuid)
 ORDER BY e.n, e.at;

UPDATE notifications SET read_at = created_at + interval '1 hour'
 WHERE read_at IS NULL AND created_at < now() - interval '2 days'
   AND subject_id = ANY (SELECT md5('overleg-demo-case-' || n)::uuid FROM demo_case);

COMMIT;
