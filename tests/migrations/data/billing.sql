BEGIN TRANSACTION;
CREATE TABLE billing_cases (
	case_id TEXT NOT NULL, 
	creditor_id TEXT NOT NULL, 
	account_ref TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	bucket TEXT NOT NULL, 
	dpd INTEGER NOT NULL, 
	currency TEXT NOT NULL, 
	placed_amount TEXT NOT NULL, 
	placed_at TEXT NOT NULL, 
	term_end TEXT NOT NULL, 
	recalled_at TEXT, 
	closed_at TEXT, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (case_id)
);
INSERT INTO "billing_cases" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506','BANK','OLD-0','AG-A','M2',45,'CNY','1000.00','2026-10-05T02:00:00+00:00','2027-06-30',NULL,NULL,8);
INSERT INTO "billing_cases" VALUES('69c7402d-d57b-5ae4-b81d-16e107977d32','BANK','OLD-1','AG-B','M2',45,'CNY','1000.00','2026-10-05T02:00:00+00:00','2027-06-30',NULL,NULL,9);
INSERT INTO "billing_cases" VALUES('eb1bc20c-bf81-5443-a8cd-81f74262de3b','BANK','OLD-2','AG-A','M2',45,'CNY','1000.00','2026-10-05T02:00:00+00:00','2027-06-30','2026-10-09T02:00:00+00:00',NULL,10);
CREATE TABLE case_assignments (
	case_id TEXT NOT NULL, 
	seq INTEGER NOT NULL, 
	agency_id TEXT NOT NULL, 
	assigned_at TEXT NOT NULL, 
	term_end TEXT NOT NULL, 
	ended_at TEXT, 
	end_reason TEXT, 
	position BIGINT NOT NULL, 
	ended_position BIGINT, 
	PRIMARY KEY (case_id, seq)
);
INSERT INTO "case_assignments" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506',1,'AG-A','2026-10-05T02:00:00+00:00','2027-06-30',NULL,NULL,1,NULL);
INSERT INTO "case_assignments" VALUES('69c7402d-d57b-5ae4-b81d-16e107977d32',1,'AG-A','2026-10-05T02:00:00+00:00','2027-06-30','2026-10-08T02:00:00+00:00','reassigned',2,9);
INSERT INTO "case_assignments" VALUES('eb1bc20c-bf81-5443-a8cd-81f74262de3b',1,'AG-A','2026-10-05T02:00:00+00:00','2027-06-30','2026-10-09T02:00:00+00:00','recalled',3,10);
INSERT INTO "case_assignments" VALUES('69c7402d-d57b-5ae4-b81d-16e107977d32',2,'AG-B','2026-10-08T02:00:00+00:00','2027-06-30',NULL,NULL,9,NULL);
CREATE TABLE contracts (
	creditor_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	version INTEGER NOT NULL, 
	effective_from TEXT NOT NULL, 
	currency TEXT NOT NULL, 
	terms TEXT NOT NULL, 
	recorded_at TEXT NOT NULL, 
	actor TEXT NOT NULL, 
	PRIMARY KEY (creditor_id, agency_id, version)
);
INSERT INTO "contracts" VALUES('BANK','AG-A',1,'2026-01-01','CNY','{"creditor_direct_commissionable": true, "currency": "CNY", "effective_from": "2026-01-01", "minimum_fee": "0", "rates": {"M2": "0.18"}, "tail_days": 10, "tax_rate": "0.06", "tiers": {}}','2026-12-07T03:01:07.977523+00:00','creditor:BANK:bank');
INSERT INTO "contracts" VALUES('BANK','AG-B',1,'2026-01-01','CNY','{"creditor_direct_commissionable": true, "currency": "CNY", "effective_from": "2026-01-01", "minimum_fee": "0", "rates": {"M2": "0.18"}, "tail_days": 10, "tax_rate": "0.06", "tiers": {}}','2026-12-07T03:01:07.987926+00:00','creditor:BANK:bank');
CREATE TABLE invoice_lines (
	invoice_id TEXT NOT NULL, 
	line_no INTEGER NOT NULL, 
	creditor_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	seq INTEGER NOT NULL, 
	entry TEXT NOT NULL, 
	kind TEXT NOT NULL, 
	case_id TEXT, 
	reference TEXT, 
	position BIGINT, 
	commission TEXT NOT NULL, 
	line TEXT NOT NULL, 
	PRIMARY KEY (invoice_id, line_no), 
	CONSTRAINT uq_invoice_line_entry UNIQUE (creditor_id, agency_id, entry), 
	FOREIGN KEY(invoice_id) REFERENCES invoices (invoice_id)
);
INSERT INTO "invoice_lines" VALUES('INV-BANK-AG-A-00001',1,'BANK','AG-A',1,'payment:184613c5-4c3a-57e4-b7ef-4dff22b6b506:PAY-1','payment','184613c5-4c3a-57e4-b7ef-4dff22b6b506','PAY-1',6,'54.00','{"account_ref": "OLD-0", "amount": "300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "54.00", "commission_unrounded": "54", "commissionable": true, "contract_version": 1, "entry": "payment:184613c5-4c3a-57e4-b7ef-4dff22b6b506:PAY-1", "explanation": "within the placement term (ends 2027-06-30)", "kind": "payment", "line_no": 1, "occurred_at": "2026-10-06T02:00:00+00:00", "occurred_on": "2026-10-06", "portions": [{"amount": "300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 6, "rate": "0.18", "reference": "PAY-1", "rule": "bucket M2 rate 18%", "source": "agency"}');
INSERT INTO "invoice_lines" VALUES('INV-BANK-AG-A-00001',2,'BANK','AG-A',1,'reversal:a6514452-92f5-5af9-878f-2c872bfc8663','reversal','184613c5-4c3a-57e4-b7ef-4dff22b6b506','PAY-1',8,'-54.00','{"account_ref": "OLD-0", "amount": "-300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "-54.00", "commission_unrounded": "-54", "commissionable": true, "contract_version": 1, "entry": "reversal:a6514452-92f5-5af9-878f-2c872bfc8663", "explanation": "reverses payment PAY-1 received 2026-10-06 (bounced)", "kind": "reversal", "line_no": 2, "occurred_at": "2026-10-07T02:00:00+00:00", "occurred_on": "2026-10-07", "portions": [{"amount": "-300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 8, "rate": "0.18", "reference": "PAY-1", "rule": "clawback at bucket M2 rate 18%", "source": "agency"}');
CREATE TABLE invoices (
	invoice_id TEXT NOT NULL, 
	creditor_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	seq INTEGER NOT NULL, 
	period_start TEXT NOT NULL, 
	period_end TEXT NOT NULL, 
	currency TEXT NOT NULL, 
	subtotal TEXT NOT NULL, 
	tax TEXT NOT NULL, 
	total TEXT NOT NULL, 
	content TEXT NOT NULL, 
	content_hash TEXT NOT NULL, 
	as_of_position BIGINT NOT NULL, 
	as_of_contract_version INTEGER NOT NULL, 
	issued_at TEXT NOT NULL, 
	issued_by TEXT NOT NULL, 
	PRIMARY KEY (invoice_id), 
	CONSTRAINT uq_invoice_seq UNIQUE (creditor_id, agency_id, seq), 
	CONSTRAINT uq_invoice_period UNIQUE (creditor_id, agency_id, period_start, period_end)
);
INSERT INTO "invoices" VALUES('INV-BANK-AG-A-00001','BANK','AG-A',1,'2026-10-01','2026-10-31','CNY','0.00','0.00','0.00','{"agency_id": "AG-A", "creditor_id": "BANK", "currency": "CNY", "invoice_number": "INV-BANK-AG-A-00001", "lines": [{"account_ref": "OLD-0", "amount": "300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "54.00", "commission_unrounded": "54", "commissionable": true, "contract_version": 1, "entry": "payment:184613c5-4c3a-57e4-b7ef-4dff22b6b506:PAY-1", "explanation": "within the placement term (ends 2027-06-30)", "kind": "payment", "line_no": 1, "occurred_at": "2026-10-06T02:00:00+00:00", "occurred_on": "2026-10-06", "portions": [{"amount": "300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 6, "rate": "0.18", "reference": "PAY-1", "rule": "bucket M2 rate 18%", "source": "agency"}, {"account_ref": "OLD-0", "amount": "-300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "-54.00", "commission_unrounded": "-54", "commissionable": true, "contract_version": 1, "entry": "reversal:a6514452-92f5-5af9-878f-2c872bfc8663", "explanation": "reverses payment PAY-1 received 2026-10-06 (bounced)", "kind": "reversal", "line_no": 2, "occurred_at": "2026-10-07T02:00:00+00:00", "occurred_on": "2026-10-07", "portions": [{"amount": "-300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 8, "rate": "0.18", "reference": "PAY-1", "rule": "clawback at bucket M2 rate 18%", "source": "agency"}], "period_end": "2026-10-31", "period_end_inclusive": true, "period_start": "2026-10-01", "terms": {"contract_version": 1, "minimum_fee": "0.00", "tax_label": "tax 6%", "tax_rate": "0.06"}, "totals": {"commissionable_amount": "0.00", "earlier_invoice_credits": "0.00", "earned_commission": "0.00", "minimum_fee_top_up": "0.00", "payments": 1, "reversals": 1, "subtotal": "0.00", "tax": "0.00", "tax_rate": "0.06", "total": "0.00"}}','b3a177e57417ea6f5a11ad1b6322dce1f11053f98cc942585cc912372d60a39b',10,1,'2026-12-07T03:01:08.031024+00:00','creditor:BANK:bank');
CREATE TABLE payments (
	case_id TEXT NOT NULL, 
	reference TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	currency TEXT NOT NULL, 
	source TEXT NOT NULL, 
	received_at TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (case_id, reference)
);
INSERT INTO "payments" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506','PAY-1','300.00','CNY','agency','2026-10-06T02:00:00+00:00','AG-A',6);
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
INSERT INTO "projection_positions" VALUES('billing-ledger','feed',0,10,10,'2026-12-07T03:01:08.003902+00:00');
CREATE TABLE promises (
	case_id TEXT NOT NULL, 
	promise_id TEXT NOT NULL, 
	agency_id TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	due_date TEXT NOT NULL, 
	promised_at TEXT NOT NULL, 
	state TEXT NOT NULL, 
	settled_at TEXT, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (case_id, promise_id)
);
INSERT INTO "promises" VALUES('184613c5-4c3a-57e4-b7ef-4dff22b6b506','P1','AG-A','300.00','2026-10-09','2026-10-05T04:00:00+00:00','kept','2026-10-06T02:00:00+00:00',7);
CREATE TABLE reversals (
	event_id TEXT NOT NULL, 
	case_id TEXT NOT NULL, 
	reference TEXT NOT NULL, 
	amount TEXT NOT NULL, 
	reason TEXT NOT NULL, 
	reversed_at TEXT NOT NULL, 
	agency_id TEXT, 
	source TEXT NOT NULL, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (event_id)
);
INSERT INTO "reversals" VALUES('a6514452-92f5-5af9-878f-2c872bfc8663','184613c5-4c3a-57e4-b7ef-4dff22b6b506','PAY-1','300.00','bounced','2026-10-07T02:00:00+00:00','AG-A','agency',8);
CREATE INDEX ix_billing_cases_agency_id ON billing_cases (agency_id);
CREATE INDEX ix_billing_cases_creditor_id ON billing_cases (creditor_id);
CREATE INDEX ix_case_assignments_agency_id ON case_assignments (agency_id);
CREATE INDEX ix_payments_position ON payments (position);
CREATE INDEX ix_payments_agency_id ON payments (agency_id);
CREATE INDEX ix_reversals_position ON reversals (position);
CREATE INDEX ix_reversals_case_id ON reversals (case_id);
CREATE INDEX ix_promises_agency_id ON promises (agency_id);
CREATE INDEX ix_invoices_creditor_id ON invoices (creditor_id);
CREATE INDEX ix_invoices_agency_id ON invoices (agency_id);
COMMIT;
