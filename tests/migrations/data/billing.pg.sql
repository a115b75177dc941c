--
-- PostgreSQL database dump
--

\restrict a0zjABM15d3UEZLEkwIJvIuTk8Xbacr3iVAjdscoJfcJx48enB0pxFTBTJ6aFzo

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: oldmain_billing; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA oldmain_billing;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: billing_cases; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.billing_cases (
    case_id text NOT NULL,
    creditor_id text NOT NULL,
    account_ref text NOT NULL,
    agency_id text NOT NULL,
    bucket text NOT NULL,
    dpd integer NOT NULL,
    currency text NOT NULL,
    placed_amount text NOT NULL,
    placed_at text NOT NULL,
    term_end text NOT NULL,
    recalled_at text,
    closed_at text,
    "position" bigint NOT NULL
);


--
-- Name: case_assignments; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.case_assignments (
    case_id text NOT NULL,
    seq integer NOT NULL,
    agency_id text NOT NULL,
    assigned_at text NOT NULL,
    term_end text NOT NULL,
    ended_at text,
    end_reason text,
    "position" bigint NOT NULL,
    ended_position bigint
);


--
-- Name: contracts; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.contracts (
    creditor_id text NOT NULL,
    agency_id text NOT NULL,
    version integer NOT NULL,
    effective_from text NOT NULL,
    currency text NOT NULL,
    terms text NOT NULL,
    recorded_at text NOT NULL,
    actor text NOT NULL
);


--
-- Name: invoice_lines; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.invoice_lines (
    invoice_id text NOT NULL,
    line_no integer NOT NULL,
    creditor_id text NOT NULL,
    agency_id text NOT NULL,
    seq integer NOT NULL,
    entry text NOT NULL,
    kind text NOT NULL,
    case_id text,
    reference text,
    "position" bigint,
    commission text NOT NULL,
    line text NOT NULL
);


--
-- Name: invoices; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.invoices (
    invoice_id text NOT NULL,
    creditor_id text NOT NULL,
    agency_id text NOT NULL,
    seq integer NOT NULL,
    period_start text NOT NULL,
    period_end text NOT NULL,
    currency text NOT NULL,
    subtotal text NOT NULL,
    tax text NOT NULL,
    total text NOT NULL,
    content text NOT NULL,
    content_hash text NOT NULL,
    as_of_position bigint NOT NULL,
    as_of_contract_version integer NOT NULL,
    issued_at text NOT NULL,
    issued_by text NOT NULL
);


--
-- Name: payments; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.payments (
    case_id text NOT NULL,
    reference text NOT NULL,
    amount text NOT NULL,
    currency text NOT NULL,
    source text NOT NULL,
    received_at text NOT NULL,
    agency_id text NOT NULL,
    "position" bigint NOT NULL
);


--
-- Name: projection_dead_letters; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.projection_dead_letters (
    id integer NOT NULL,
    projection text NOT NULL,
    source text NOT NULL,
    partition integer NOT NULL,
    "position" bigint NOT NULL,
    message bytea NOT NULL,
    error text NOT NULL,
    recorded_at text NOT NULL
);


--
-- Name: projection_dead_letters_id_seq; Type: SEQUENCE; Schema: oldmain_billing; Owner: -
--

CREATE SEQUENCE oldmain_billing.projection_dead_letters_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: projection_dead_letters_id_seq; Type: SEQUENCE OWNED BY; Schema: oldmain_billing; Owner: -
--

ALTER SEQUENCE oldmain_billing.projection_dead_letters_id_seq OWNED BY oldmain_billing.projection_dead_letters.id;


--
-- Name: projection_positions; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.projection_positions (
    projection text NOT NULL,
    source text NOT NULL,
    partition integer NOT NULL,
    "position" bigint NOT NULL,
    log_position bigint DEFAULT '-1'::bigint NOT NULL,
    updated_at text NOT NULL
);


--
-- Name: promises; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.promises (
    case_id text NOT NULL,
    promise_id text NOT NULL,
    agency_id text NOT NULL,
    amount text NOT NULL,
    due_date text NOT NULL,
    promised_at text NOT NULL,
    state text NOT NULL,
    settled_at text,
    "position" bigint NOT NULL
);


--
-- Name: reversals; Type: TABLE; Schema: oldmain_billing; Owner: -
--

CREATE TABLE oldmain_billing.reversals (
    event_id text NOT NULL,
    case_id text NOT NULL,
    reference text NOT NULL,
    amount text NOT NULL,
    reason text NOT NULL,
    reversed_at text NOT NULL,
    agency_id text,
    source text NOT NULL,
    "position" bigint NOT NULL
);


--
-- Name: projection_dead_letters id; Type: DEFAULT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.projection_dead_letters ALTER COLUMN id SET DEFAULT nextval('oldmain_billing.projection_dead_letters_id_seq'::regclass);


--
-- Data for Name: billing_cases; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.billing_cases (case_id, creditor_id, account_ref, agency_id, bucket, dpd, currency, placed_amount, placed_at, term_end, recalled_at, closed_at, "position") FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	BANK	OLD-0	AG-A	M2	45	CNY	1000.00	2026-10-05T02:00:00+00:00	2027-06-30	\N	\N	8
69c7402d-d57b-5ae4-b81d-16e107977d32	BANK	OLD-1	AG-B	M2	45	CNY	1000.00	2026-10-05T02:00:00+00:00	2027-06-30	\N	\N	9
eb1bc20c-bf81-5443-a8cd-81f74262de3b	BANK	OLD-2	AG-A	M2	45	CNY	1000.00	2026-10-05T02:00:00+00:00	2027-06-30	2026-10-09T02:00:00+00:00	\N	10
\.


--
-- Data for Name: case_assignments; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.case_assignments (case_id, seq, agency_id, assigned_at, term_end, ended_at, end_reason, "position", ended_position) FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	1	AG-A	2026-10-05T02:00:00+00:00	2027-06-30	\N	\N	1	\N
69c7402d-d57b-5ae4-b81d-16e107977d32	1	AG-A	2026-10-05T02:00:00+00:00	2027-06-30	2026-10-08T02:00:00+00:00	reassigned	2	9
69c7402d-d57b-5ae4-b81d-16e107977d32	2	AG-B	2026-10-08T02:00:00+00:00	2027-06-30	\N	\N	9	\N
eb1bc20c-bf81-5443-a8cd-81f74262de3b	1	AG-A	2026-10-05T02:00:00+00:00	2027-06-30	2026-10-09T02:00:00+00:00	recalled	3	10
\.


--
-- Data for Name: contracts; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.contracts (creditor_id, agency_id, version, effective_from, currency, terms, recorded_at, actor) FROM stdin;
BANK	AG-A	1	2026-01-01	CNY	{"creditor_direct_commissionable": true, "currency": "CNY", "effective_from": "2026-01-01", "minimum_fee": "0", "rates": {"M2": "0.18"}, "tail_days": 10, "tax_rate": "0.06", "tiers": {}}	2026-12-07T03:01:08.754761+00:00	creditor:BANK:bank
BANK	AG-B	1	2026-01-01	CNY	{"creditor_direct_commissionable": true, "currency": "CNY", "effective_from": "2026-01-01", "minimum_fee": "0", "rates": {"M2": "0.18"}, "tail_days": 10, "tax_rate": "0.06", "tiers": {}}	2026-12-07T03:01:08.768554+00:00	creditor:BANK:bank
\.


--
-- Data for Name: invoice_lines; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.invoice_lines (invoice_id, line_no, creditor_id, agency_id, seq, entry, kind, case_id, reference, "position", commission, line) FROM stdin;
INV-BANK-AG-A-00001	1	BANK	AG-A	1	payment:184613c5-4c3a-57e4-b7ef-4dff22b6b506:PAY-1	payment	184613c5-4c3a-57e4-b7ef-4dff22b6b506	PAY-1	6	54.00	{"account_ref": "OLD-0", "amount": "300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "54.00", "commission_unrounded": "54", "commissionable": true, "contract_version": 1, "entry": "payment:184613c5-4c3a-57e4-b7ef-4dff22b6b506:PAY-1", "explanation": "within the placement term (ends 2027-06-30)", "kind": "payment", "line_no": 1, "occurred_at": "2026-10-06T02:00:00+00:00", "occurred_on": "2026-10-06", "portions": [{"amount": "300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 6, "rate": "0.18", "reference": "PAY-1", "rule": "bucket M2 rate 18%", "source": "agency"}
INV-BANK-AG-A-00001	2	BANK	AG-A	1	reversal:a6514452-92f5-5af9-878f-2c872bfc8663	reversal	184613c5-4c3a-57e4-b7ef-4dff22b6b506	PAY-1	8	-54.00	{"account_ref": "OLD-0", "amount": "-300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "-54.00", "commission_unrounded": "-54", "commissionable": true, "contract_version": 1, "entry": "reversal:a6514452-92f5-5af9-878f-2c872bfc8663", "explanation": "reverses payment PAY-1 received 2026-10-06 (bounced)", "kind": "reversal", "line_no": 2, "occurred_at": "2026-10-07T02:00:00+00:00", "occurred_on": "2026-10-07", "portions": [{"amount": "-300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 8, "rate": "0.18", "reference": "PAY-1", "rule": "clawback at bucket M2 rate 18%", "source": "agency"}
\.


--
-- Data for Name: invoices; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.invoices (invoice_id, creditor_id, agency_id, seq, period_start, period_end, currency, subtotal, tax, total, content, content_hash, as_of_position, as_of_contract_version, issued_at, issued_by) FROM stdin;
INV-BANK-AG-A-00001	BANK	AG-A	1	2026-10-01	2026-10-31	CNY	0.00	0.00	0.00	{"agency_id": "AG-A", "creditor_id": "BANK", "currency": "CNY", "invoice_number": "INV-BANK-AG-A-00001", "lines": [{"account_ref": "OLD-0", "amount": "300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "54.00", "commission_unrounded": "54", "commissionable": true, "contract_version": 1, "entry": "payment:184613c5-4c3a-57e4-b7ef-4dff22b6b506:PAY-1", "explanation": "within the placement term (ends 2027-06-30)", "kind": "payment", "line_no": 1, "occurred_at": "2026-10-06T02:00:00+00:00", "occurred_on": "2026-10-06", "portions": [{"amount": "300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 6, "rate": "0.18", "reference": "PAY-1", "rule": "bucket M2 rate 18%", "source": "agency"}, {"account_ref": "OLD-0", "amount": "-300.00", "bucket": "M2", "case_id": "184613c5-4c3a-57e4-b7ef-4dff22b6b506", "commission": "-54.00", "commission_unrounded": "-54", "commissionable": true, "contract_version": 1, "entry": "reversal:a6514452-92f5-5af9-878f-2c872bfc8663", "explanation": "reverses payment PAY-1 received 2026-10-06 (bounced)", "kind": "reversal", "line_no": 2, "occurred_at": "2026-10-07T02:00:00+00:00", "occurred_on": "2026-10-07", "portions": [{"amount": "-300", "rate": "0.18", "rule": "bucket M2 rate 18%"}], "position": 8, "rate": "0.18", "reference": "PAY-1", "rule": "clawback at bucket M2 rate 18%", "source": "agency"}], "period_end": "2026-10-31", "period_end_inclusive": true, "period_start": "2026-10-01", "terms": {"contract_version": 1, "minimum_fee": "0.00", "tax_label": "tax 6%", "tax_rate": "0.06"}, "totals": {"commissionable_amount": "0.00", "earlier_invoice_credits": "0.00", "earned_commission": "0.00", "minimum_fee_top_up": "0.00", "payments": 1, "reversals": 1, "subtotal": "0.00", "tax": "0.00", "tax_rate": "0.06", "total": "0.00"}}	b3a177e57417ea6f5a11ad1b6322dce1f11053f98cc942585cc912372d60a39b	10	1	2026-12-07T03:01:08.824573+00:00	creditor:BANK:bank
\.


--
-- Data for Name: payments; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.payments (case_id, reference, amount, currency, source, received_at, agency_id, "position") FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	PAY-1	300.00	CNY	agency	2026-10-06T02:00:00+00:00	AG-A	6
\.


--
-- Data for Name: projection_dead_letters; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.projection_dead_letters (id, projection, source, partition, "position", message, error, recorded_at) FROM stdin;
\.


--
-- Data for Name: projection_positions; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.projection_positions (projection, source, partition, "position", log_position, updated_at) FROM stdin;
billing-ledger	feed	0	10	10	2026-12-07T03:01:08.795251+00:00
\.


--
-- Data for Name: promises; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.promises (case_id, promise_id, agency_id, amount, due_date, promised_at, state, settled_at, "position") FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	P1	AG-A	300.00	2026-10-09	2026-10-05T04:00:00+00:00	kept	2026-10-06T02:00:00+00:00	7
\.


--
-- Data for Name: reversals; Type: TABLE DATA; Schema: oldmain_billing; Owner: -
--

COPY oldmain_billing.reversals (event_id, case_id, reference, amount, reason, reversed_at, agency_id, source, "position") FROM stdin;
a6514452-92f5-5af9-878f-2c872bfc8663	184613c5-4c3a-57e4-b7ef-4dff22b6b506	PAY-1	300.00	bounced	2026-10-07T02:00:00+00:00	AG-A	agency	8
\.


--
-- Name: projection_dead_letters_id_seq; Type: SEQUENCE SET; Schema: oldmain_billing; Owner: -
--

SELECT pg_catalog.setval('oldmain_billing.projection_dead_letters_id_seq', 1, false);


--
-- Name: billing_cases billing_cases_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.billing_cases
    ADD CONSTRAINT billing_cases_pkey PRIMARY KEY (case_id);


--
-- Name: case_assignments case_assignments_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.case_assignments
    ADD CONSTRAINT case_assignments_pkey PRIMARY KEY (case_id, seq);


--
-- Name: contracts contracts_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.contracts
    ADD CONSTRAINT contracts_pkey PRIMARY KEY (creditor_id, agency_id, version);


--
-- Name: invoice_lines invoice_lines_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.invoice_lines
    ADD CONSTRAINT invoice_lines_pkey PRIMARY KEY (invoice_id, line_no);


--
-- Name: invoices invoices_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.invoices
    ADD CONSTRAINT invoices_pkey PRIMARY KEY (invoice_id);


--
-- Name: payments payments_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (case_id, reference);


--
-- Name: projection_dead_letters projection_dead_letters_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.projection_dead_letters
    ADD CONSTRAINT projection_dead_letters_pkey PRIMARY KEY (id);


--
-- Name: projection_positions projection_positions_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.projection_positions
    ADD CONSTRAINT projection_positions_pkey PRIMARY KEY (projection, source, partition);


--
-- Name: promises promises_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.promises
    ADD CONSTRAINT promises_pkey PRIMARY KEY (case_id, promise_id);


--
-- Name: reversals reversals_pkey; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.reversals
    ADD CONSTRAINT reversals_pkey PRIMARY KEY (event_id);


--
-- Name: invoice_lines uq_invoice_line_entry; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.invoice_lines
    ADD CONSTRAINT uq_invoice_line_entry UNIQUE (creditor_id, agency_id, entry);


--
-- Name: invoices uq_invoice_period; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.invoices
    ADD CONSTRAINT uq_invoice_period UNIQUE (creditor_id, agency_id, period_start, period_end);


--
-- Name: invoices uq_invoice_seq; Type: CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.invoices
    ADD CONSTRAINT uq_invoice_seq UNIQUE (creditor_id, agency_id, seq);


--
-- Name: ix_billing_cases_agency_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_billing_cases_agency_id ON oldmain_billing.billing_cases USING btree (agency_id);


--
-- Name: ix_billing_cases_creditor_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_billing_cases_creditor_id ON oldmain_billing.billing_cases USING btree (creditor_id);


--
-- Name: ix_case_assignments_agency_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_case_assignments_agency_id ON oldmain_billing.case_assignments USING btree (agency_id);


--
-- Name: ix_invoices_agency_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_invoices_agency_id ON oldmain_billing.invoices USING btree (agency_id);


--
-- Name: ix_invoices_creditor_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_invoices_creditor_id ON oldmain_billing.invoices USING btree (creditor_id);


--
-- Name: ix_payments_agency_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_payments_agency_id ON oldmain_billing.payments USING btree (agency_id);


--
-- Name: ix_payments_position; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_payments_position ON oldmain_billing.payments USING btree ("position");


--
-- Name: ix_promises_agency_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_promises_agency_id ON oldmain_billing.promises USING btree (agency_id);


--
-- Name: ix_reversals_case_id; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_reversals_case_id ON oldmain_billing.reversals USING btree (case_id);


--
-- Name: ix_reversals_position; Type: INDEX; Schema: oldmain_billing; Owner: -
--

CREATE INDEX ix_reversals_position ON oldmain_billing.reversals USING btree ("position");


--
-- Name: invoice_lines invoice_lines_invoice_id_fkey; Type: FK CONSTRAINT; Schema: oldmain_billing; Owner: -
--

ALTER TABLE ONLY oldmain_billing.invoice_lines
    ADD CONSTRAINT invoice_lines_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES oldmain_billing.invoices(invoice_id);


--
-- PostgreSQL database dump complete
--

\unrestrict a0zjABM15d3UEZLEkwIJvIuTk8Xbacr3iVAjdscoJfcJx48enB0pxFTBTJ6aFzo

