BEGIN TRANSACTION;
CREATE TABLE contact_cases (
	case_id TEXT NOT NULL, 
	creditor_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	debtor_id TEXT NOT NULL, 
	debtor_timezone TEXT NOT NULL, 
	contact_points INTEGER NOT NULL, 
	placed_at TEXT NOT NULL, 
	assigned_at TEXT NOT NULL, 
	cease_contact_at TEXT, 
	dispute_open BOOLEAN NOT NULL, 
	disputed_at TEXT, 
	recalled BOOLEAN NOT NULL, 
	recalled_at TEXT, 
	closed BOOLEAN NOT NULL, 
	closed_at TEXT, 
	version INTEGER NOT NULL, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (case_id)
);
INSERT INTO "contact_cases" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506','BANK','AG-A','d-3165ced24f313d3a6384dc0028c53503','Asia/Shanghai',1,'2026-10-05T02:00:00+00:00','2026-10-05T02:00:00+00:00',NULL,0,NULL,0,NULL,0,NULL,6,8);
INSERT INTO "contact_cases" VALUES('69c7402d-d57b-5ae4-b81d-16e107977d32','BANK','AG-B','d-9c62cc9e2ecdd4676b54e2be1f817ce8','Asia/Shanghai',1,'2026-10-05T02:00:00+00:00','2026-10-08T02:00:00+00:00',NULL,0,NULL,0,NULL,0,NULL,2,9);
INSERT INTO "contact_cases" VALUES('eb1bc20c-bf81-5443-a8cd-81f74262de3b','BANK','AG-A','d-f9dbc6a08fc2176dae369f4d9f710bab','Asia/Shanghai',1,'2026-10-05T02:00:00+00:00','2026-10-05T02:00:00+00:00',NULL,0,NULL,1,'2026-10-09T02:00:00+00:00',0,NULL,2,10);
CREATE TABLE contacts (
	event_id TEXT NOT NULL, 
	position BIGINT NOT NULL, 
	case_id TEXT NOT NULL, 
	creditor_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	debtor_id TEXT NOT NULL, 
	contact_id TEXT NOT NULL, 
	channel TEXT NOT NULL, 
	direction TEXT NOT NULL, 
	party TEXT NOT NULL, 
	outcome TEXT NOT NULL, 
	action_code TEXT NOT NULL, 
	agent_id TEXT, 
	recording_ref TEXT, 
	contact_point TEXT, 
	contact_point_hint TEXT, 
	occurred_at TEXT NOT NULL, 
	flags TEXT NOT NULL, 
	PRIMARY KEY (event_id)
);
INSERT INTO "contacts" VALUES('2fcffd7f-a3c3-51e4-8fce-a0773348257d',4,'184613c5-4c3a-57e4-b7ef-4dff22b6b506','BANK','AG-A','d-3165ced24f313d3a6384dc0028c53503','K1','phone','outbound','debtor','conversation','PTP','agent-1','r1','cp-4c61ed4cd1f447df895f19a0','**********0000','2026-10-05T03:00:00+00:00','');
CREATE TABLE escalations (
	event_id TEXT NOT NULL, 
	case_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	reason TEXT NOT NULL, 
	escalated_at TEXT NOT NULL, 
	PRIMARY KEY (event_id)
);
CREATE TABLE payments (
	case_id TEXT NOT NULL, 
	reference TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	reversed TEXT NOT NULL, 
	source TEXT NOT NULL, 
	received_at TEXT NOT NULL, 
	PRIMARY KEY (case_id, reference)
);
INSERT INTO "payments" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506','PAY-1','AG-A','300.00','300.00','agency','2026-10-06T02:00:00+00:00');
CREATE TABLE policy_assignments (
	creditor_id TEXT NOT NULL, 
	effective_from TEXT NOT NULL, 
	pack_id TEXT NOT NULL, 
	assigned_at TEXT NOT NULL, 
	actor TEXT NOT NULL, 
	PRIMARY KEY (creditor_id, effective_from)
);
INSERT INTO "policy_assignments" VALUES('BANK','2026-12-07T03:01:07.896350+00:00','cn-gbt-45251-2025','2026-12-07T03:01:07.896350+00:00','admin:*:admin');
CREATE TABLE projection_dead_letters (
	id INTEGER NOT NULL, 
	projection TEXT NOT NULL, 
	source TEXT NOT NULL, 
	partition INTEGER NOT NULL, 
	position BIGINT NOT NULL, 
	message BLOB NOT NULL, 
	error TEXT NOT NULL, 
	recorded_at TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE projection_positions (
	projection TEXT NOT NULL, 
	source TEXT NOT NULL, 
	partition INTEGER NOT NULL, 
	position BIGINT NOT NULL, 
	log_position BIGINT DEFAULT '-1' NOT NULL, 
	updated_at TEXT NOT NULL, 
	PRIMARY KEY (projection, source, partition)
);
INSERT INTO "projection_positions" VALUES('contact-log','feed',0,10,10,'2026-12-07T03:01:07.918132+00:00');
CREATE TABLE promises (
	case_id TEXT NOT NULL, 
	promise_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	due_date TEXT NOT NULL, 
	promised_at TEXT NOT NULL, 
	state TEXT NOT NULL, 
	settled_at TEXT, 
	PRIMARY KEY (case_id, promise_id)
);
INSERT INTO "promises" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506','P1','AG-A','300.00','2026-10-09','2026-10-05T04:00:00+00:00','kept','2026-10-06T02:00:00+00:00');
CREATE TABLE qa_reviews (
	review_id TEXT NOT NULL, 
	sample_id TEXT NOT NULL, 
	population TEXT NOT NULL, 
	item_id TEXT NOT NULL, 
	score INTEGER NOT NULL, 
	findings TEXT NOT NULL, 
	serious BOOLEAN NOT NULL, 
	reviewer TEXT NOT NULL, 
	reviewed_at TEXT NOT NULL, 
	PRIMARY KEY (review_id), 
	CONSTRAINT ck_qa_reviews_score CHECK (score >= 0 AND score <= 100)
);
CREATE TABLE qa_sample_items (
	sample_id TEXT NOT NULL, 
	population TEXT NOT NULL, 
	item_id TEXT NOT NULL, 
	case_id TEXT NOT NULL, 
	PRIMARY KEY (sample_id, population, item_id)
);
INSERT INTO "qa_sample_items" VALUES('9e9eff31-b782-5509-8e46-107a426d8f08','recorded_calls','2fcffd7f-a3c3-51e4-8fce-a0773348257d','184613c5-4c3a-57e4-b7ef-4dff22b6b506');
CREATE TABLE qa_samples (
	sample_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	creditor_id TEXT, 
	month TEXT NOT NULL, 
	seed TEXT NOT NULL, 
	rates TEXT NOT NULL, 
	population_digests TEXT NOT NULL, 
	population_sizes TEXT NOT NULL, 
	algorithm TEXT NOT NULL, 
	created_at TEXT NOT NULL, 
	actor TEXT NOT NULL, 
	PRIMARY KEY (sample_id)
);
INSERT INTO "qa_samples" VALUES('9e9eff31-b782-5509-8e46-107a426d8f08','AG-A',NULL,'2026-10','old','{"recorded_calls": "0.15", "visit_records": "0.30", "repaid_cases": "0.10"}','{"recorded_calls": "aeb5fea95e729439c3c440548fe172de2cec9fc8ada8c2bd12c6b3e3ba63dea9", "visit_records": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "repaid_cases": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}','{"recorded_calls": 1, "visit_records": 0, "repaid_cases": 0}','qa-sample/v1: distinct ids sorted; random.Random(''<seed>:<population>'').sample','2026-12-07T03:01:07.931675+00:00','admin:*:admin');
CREATE TABLE violations (
	event_id TEXT NOT NULL, 
	rule_id TEXT NOT NULL, 
	position BIGINT NOT NULL, 
	case_id TEXT NOT NULL, 
	creditor_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	contact_id TEXT NOT NULL, 
	agent_id TEXT, 
	occurred_at TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	pack_id TEXT NOT NULL, 
	pack_version INTEGER NOT NULL, 
	reason TEXT NOT NULL, 
	PRIMARY KEY (event_id, rule_id)
);
CREATE INDEX ix_contact_cases_agency_id ON contact_cases (agency_id);
CREATE INDEX ix_contact_cases_debtor_id ON contact_cases (debtor_id);
CREATE INDEX ix_contact_cases_creditor_id ON contact_cases (creditor_id);
CREATE INDEX ix_contacts_agency_id ON contacts (agency_id);
CREATE INDEX ix_contacts_case_id ON contacts (case_id);
CREATE INDEX ix_contacts_occurred_at ON contacts (occurred_at);
CREATE INDEX ix_contacts_debtor_id ON contacts (debtor_id);
CREATE INDEX ix_contacts_position ON contacts (position);
CREATE INDEX ix_violations_occurred_at ON violations (occurred_at);
CREATE INDEX ix_violations_position ON violations (position);
CREATE INDEX ix_violations_case_id ON violations (case_id);
CREATE INDEX ix_violations_agency_id ON violations (agency_id);
CREATE INDEX ix_escalations_case_id ON escalations (case_id);
CREATE INDEX ix_promises_agency_id ON promises (agency_id);
CREATE INDEX ix_payments_agency_id ON payments (agency_id);
CREATE INDEX ix_payments_received_at ON payments (received_at);
CREATE INDEX ix_qa_samples_agency_month ON qa_samples (agency_id, month);
CREATE INDEX ix_qa_reviews_sample_id ON qa_reviews (sample_id);
COMMIT;
