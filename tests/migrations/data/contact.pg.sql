--
-- PostgreSQL database dump
--

\restrict pdQojS2lRRpxf1acoTTneQUsHu4lLQayxeMdprhmqg523xcWwbrF9xS1BVizDTh

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
-- Name: oldmain_contact; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA oldmain_contact;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: contact_cases; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.contact_cases (
    case_id text NOT NULL,
    creditor_id text NOT NULL,
    agency_id text NOT NULL,
    debtor_id text NOT NULL,
    debtor_timezone text NOT NULL,
    contact_points integer NOT NULL,
    placed_at text NOT NULL,
    assigned_at text NOT NULL,
    cease_contact_at text,
    dispute_open boolean NOT NULL,
    disputed_at text,
    recalled boolean NOT NULL,
    recalled_at text,
    closed boolean NOT NULL,
    closed_at text,
    version integer NOT NULL,
    "position" bigint NOT NULL
);


--
-- Name: contacts; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.contacts (
    event_id text NOT NULL,
    "position" bigint NOT NULL,
    case_id text NOT NULL,
    creditor_id text NOT NULL,
    agency_id text NOT NULL,
    debtor_id text NOT NULL,
    contact_id text NOT NULL,
    channel text NOT NULL,
    direction text NOT NULL,
    party text NOT NULL,
    outcome text NOT NULL,
    action_code text NOT NULL,
    agent_id text,
    recording_ref text,
    contact_point text,
    contact_point_hint text,
    occurred_at text NOT NULL,
    flags text NOT NULL
);


--
-- Name: escalations; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.escalations (
    event_id text NOT NULL,
    case_id text NOT NULL,
    agency_id text NOT NULL,
    kind text NOT NULL,
    reason text NOT NULL,
    escalated_at text NOT NULL
);


--
-- Name: payments; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.payments (
    case_id text NOT NULL,
    reference text NOT NULL,
    agency_id text NOT NULL,
    amount text NOT NULL,
    reversed text NOT NULL,
    source text NOT NULL,
    received_at text NOT NULL
);


--
-- Name: policy_assignments; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.policy_assignments (
    creditor_id text NOT NULL,
    effective_from text NOT NULL,
    pack_id text NOT NULL,
    assigned_at text NOT NULL,
    actor text NOT NULL
);


--
-- Name: projection_dead_letters; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.projection_dead_letters (
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
-- Name: projection_dead_letters_id_seq; Type: SEQUENCE; Schema: oldmain_contact; Owner: -
--

CREATE SEQUENCE oldmain_contact.projection_dead_letters_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: projection_dead_letters_id_seq; Type: SEQUENCE OWNED BY; Schema: oldmain_contact; Owner: -
--

ALTER SEQUENCE oldmain_contact.projection_dead_letters_id_seq OWNED BY oldmain_contact.projection_dead_letters.id;


--
-- Name: projection_positions; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.projection_positions (
    projection text NOT NULL,
    source text NOT NULL,
    partition integer NOT NULL,
    "position" bigint NOT NULL,
    log_position bigint DEFAULT '-1'::bigint NOT NULL,
    updated_at text NOT NULL
);


--
-- Name: promises; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.promises (
    case_id text NOT NULL,
    promise_id text NOT NULL,
    agency_id text NOT NULL,
    amount text NOT NULL,
    due_date text NOT NULL,
    promised_at text NOT NULL,
    state text NOT NULL,
    settled_at text
);


--
-- Name: qa_reviews; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.qa_reviews (
    review_id text NOT NULL,
    sample_id text NOT NULL,
    population text NOT NULL,
    item_id text NOT NULL,
    score integer NOT NULL,
    findings text NOT NULL,
    serious boolean NOT NULL,
    reviewer text NOT NULL,
    reviewed_at text NOT NULL,
    CONSTRAINT ck_qa_reviews_score CHECK (((score >= 0) AND (score <= 100)))
);


--
-- Name: qa_sample_items; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.qa_sample_items (
    sample_id text NOT NULL,
    population text NOT NULL,
    item_id text NOT NULL,
    case_id text NOT NULL
);


--
-- Name: qa_samples; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.qa_samples (
    sample_id text NOT NULL,
    agency_id text NOT NULL,
    creditor_id text,
    month text NOT NULL,
    seed text NOT NULL,
    rates text NOT NULL,
    population_digests text NOT NULL,
    population_sizes text NOT NULL,
    algorithm text NOT NULL,
    created_at text NOT NULL,
    actor text NOT NULL
);


--
-- Name: violations; Type: TABLE; Schema: oldmain_contact; Owner: -
--

CREATE TABLE oldmain_contact.violations (
    event_id text NOT NULL,
    rule_id text NOT NULL,
    "position" bigint NOT NULL,
    case_id text NOT NULL,
    creditor_id text NOT NULL,
    agency_id text NOT NULL,
    contact_id text NOT NULL,
    agent_id text,
    occurred_at text NOT NULL,
    kind text NOT NULL,
    pack_id text NOT NULL,
    pack_version integer NOT NULL,
    reason text NOT NULL
);


--
-- Name: projection_dead_letters id; Type: DEFAULT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.projection_dead_letters ALTER COLUMN id SET DEFAULT nextval('oldmain_contact.projection_dead_letters_id_seq'::regclass);


--
-- Data for Name: contact_cases; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.contact_cases (case_id, creditor_id, agency_id, debtor_id, debtor_timezone, contact_points, placed_at, assigned_at, cease_contact_at, dispute_open, disputed_at, recalled, recalled_at, closed, closed_at, version, "position") FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	BANK	AG-A	d-3165ced24f313d3a6384dc0028c53503	Asia/Shanghai	1	2026-10-05T02:00:00+00:00	2026-10-05T02:00:00+00:00	\N	f	\N	f	\N	f	\N	6	8
69c7402d-d57b-5ae4-b81d-16e107977d32	BANK	AG-B	d-9c62cc9e2ecdd4676b54e2be1f817ce8	Asia/Shanghai	1	2026-10-05T02:00:00+00:00	2026-10-08T02:00:00+00:00	\N	f	\N	f	\N	f	\N	2	9
eb1bc20c-bf81-5443-a8cd-81f74262de3b	BANK	AG-A	d-f9dbc6a08fc2176dae369f4d9f710bab	Asia/Shanghai	1	2026-10-05T02:00:00+00:00	2026-10-05T02:00:00+00:00	\N	f	\N	t	2026-10-09T02:00:00+00:00	f	\N	2	10
\.


--
-- Data for Name: contacts; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.contacts (event_id, "position", case_id, creditor_id, agency_id, debtor_id, contact_id, channel, direction, party, outcome, action_code, agent_id, recording_ref, contact_point, contact_point_hint, occurred_at, flags) FROM stdin;
2fcffd7f-a3c3-51e4-8fce-a0773348257d	4	184613c5-4c3a-57e4-b7ef-4dff22b6b506	BANK	AG-A	d-3165ced24f313d3a6384dc0028c53503	K1	phone	outbound	debtor	conversation	PTP	agent-1	r1	cp-4c61ed4cd1f447df895f19a0	**********0000	2026-10-05T03:00:00+00:00	
\.


--
-- Data for Name: escalations; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.escalations (event_id, case_id, agency_id, kind, reason, escalated_at) FROM stdin;
\.


--
-- Data for Name: payments; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.payments (case_id, reference, agency_id, amount, reversed, source, received_at) FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	PAY-1	AG-A	300.00	300.00	agency	2026-10-06T02:00:00+00:00
\.


--
-- Data for Name: policy_assignments; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.policy_assignments (creditor_id, effective_from, pack_id, assigned_at, actor) FROM stdin;
BANK	2026-12-07T03:01:08.502087+00:00	cn-gbt-45251-2025	2026-12-07T03:01:08.502087+00:00	admin:*:admin
\.


--
-- Data for Name: projection_dead_letters; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.projection_dead_letters (id, projection, source, partition, "position", message, error, recorded_at) FROM stdin;
\.


--
-- Data for Name: projection_positions; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.projection_positions (projection, source, partition, "position", log_position, updated_at) FROM stdin;
contact-log	feed	0	10	10	2026-12-07T03:01:08.527754+00:00
\.


--
-- Data for Name: promises; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.promises (case_id, promise_id, agency_id, amount, due_date, promised_at, state, settled_at) FROM stdin;
184613c5-4c3a-57e4-b7ef-4dff22b6b506	P1	AG-A	300.00	2026-10-09	2026-10-05T04:00:00+00:00	kept	2026-10-06T02:00:00+00:00
\.


--
-- Data for Name: qa_reviews; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.qa_reviews (review_id, sample_id, population, item_id, score, findings, serious, reviewer, reviewed_at) FROM stdin;
\.


--
-- Data for Name: qa_sample_items; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.qa_sample_items (sample_id, population, item_id, case_id) FROM stdin;
9e9eff31-b782-5509-8e46-107a426d8f08	recorded_calls	2fcffd7f-a3c3-51e4-8fce-a0773348257d	184613c5-4c3a-57e4-b7ef-4dff22b6b506
\.


--
-- Data for Name: qa_samples; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.qa_samples (sample_id, agency_id, creditor_id, month, seed, rates, population_digests, population_sizes, algorithm, created_at, actor) FROM stdin;
9e9eff31-b782-5509-8e46-107a426d8f08	AG-A	\N	2026-10	old	{"recorded_calls": "0.15", "visit_records": "0.30", "repaid_cases": "0.10"}	{"recorded_calls": "aeb5fea95e729439c3c440548fe172de2cec9fc8ada8c2bd12c6b3e3ba63dea9", "visit_records": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "repaid_cases": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}	{"recorded_calls": 1, "visit_records": 0, "repaid_cases": 0}	qa-sample/v1: distinct ids sorted; random.Random('<seed>:<population>').sample	2026-12-07T03:01:08.542911+00:00	admin:*:admin
\.


--
-- Data for Name: violations; Type: TABLE DATA; Schema: oldmain_contact; Owner: -
--

COPY oldmain_contact.violations (event_id, rule_id, "position", case_id, creditor_id, agency_id, contact_id, agent_id, occurred_at, kind, pack_id, pack_version, reason) FROM stdin;
\.


--
-- Name: projection_dead_letters_id_seq; Type: SEQUENCE SET; Schema: oldmain_contact; Owner: -
--

SELECT pg_catalog.setval('oldmain_contact.projection_dead_letters_id_seq', 1, false);


--
-- Name: contact_cases contact_cases_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.contact_cases
    ADD CONSTRAINT contact_cases_pkey PRIMARY KEY (case_id);


--
-- Name: contacts contacts_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (event_id);


--
-- Name: escalations escalations_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.escalations
    ADD CONSTRAINT escalations_pkey PRIMARY KEY (event_id);


--
-- Name: payments payments_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (case_id, reference);


--
-- Name: policy_assignments policy_assignments_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.policy_assignments
    ADD CONSTRAINT policy_assignments_pkey PRIMARY KEY (creditor_id, effective_from);


--
-- Name: projection_dead_letters projection_dead_letters_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.projection_dead_letters
    ADD CONSTRAINT projection_dead_letters_pkey PRIMARY KEY (id);


--
-- Name: projection_positions projection_positions_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.projection_positions
    ADD CONSTRAINT projection_positions_pkey PRIMARY KEY (projection, source, partition);


--
-- Name: promises promises_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.promises
    ADD CONSTRAINT promises_pkey PRIMARY KEY (case_id, promise_id);


--
-- Name: qa_reviews qa_reviews_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.qa_reviews
    ADD CONSTRAINT qa_reviews_pkey PRIMARY KEY (review_id);


--
-- Name: qa_sample_items qa_sample_items_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.qa_sample_items
    ADD CONSTRAINT qa_sample_items_pkey PRIMARY KEY (sample_id, population, item_id);


--
-- Name: qa_samples qa_samples_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.qa_samples
    ADD CONSTRAINT qa_samples_pkey PRIMARY KEY (sample_id);


--
-- Name: violations violations_pkey; Type: CONSTRAINT; Schema: oldmain_contact; Owner: -
--

ALTER TABLE ONLY oldmain_contact.violations
    ADD CONSTRAINT violations_pkey PRIMARY KEY (event_id, rule_id);


--
-- Name: ix_contact_cases_agency_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contact_cases_agency_id ON oldmain_contact.contact_cases USING btree (agency_id);


--
-- Name: ix_contact_cases_creditor_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contact_cases_creditor_id ON oldmain_contact.contact_cases USING btree (creditor_id);


--
-- Name: ix_contact_cases_debtor_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contact_cases_debtor_id ON oldmain_contact.contact_cases USING btree (debtor_id);


--
-- Name: ix_contacts_agency_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contacts_agency_id ON oldmain_contact.contacts USING btree (agency_id);


--
-- Name: ix_contacts_case_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contacts_case_id ON oldmain_contact.contacts USING btree (case_id);


--
-- Name: ix_contacts_debtor_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contacts_debtor_id ON oldmain_contact.contacts USING btree (debtor_id);


--
-- Name: ix_contacts_occurred_at; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contacts_occurred_at ON oldmain_contact.contacts USING btree (occurred_at);


--
-- Name: ix_contacts_position; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_contacts_position ON oldmain_contact.contacts USING btree ("position");


--
-- Name: ix_escalations_case_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_escalations_case_id ON oldmain_contact.escalations USING btree (case_id);


--
-- Name: ix_payments_agency_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_payments_agency_id ON oldmain_contact.payments USING btree (agency_id);


--
-- Name: ix_payments_received_at; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_payments_received_at ON oldmain_contact.payments USING btree (received_at);


--
-- Name: ix_promises_agency_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_promises_agency_id ON oldmain_contact.promises USING btree (agency_id);


--
-- Name: ix_qa_reviews_sample_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_qa_reviews_sample_id ON oldmain_contact.qa_reviews USING btree (sample_id);


--
-- Name: ix_qa_samples_agency_month; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_qa_samples_agency_month ON oldmain_contact.qa_samples USING btree (agency_id, month);


--
-- Name: ix_violations_agency_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_violations_agency_id ON oldmain_contact.violations USING btree (agency_id);


--
-- Name: ix_violations_case_id; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_violations_case_id ON oldmain_contact.violations USING btree (case_id);


--
-- Name: ix_violations_occurred_at; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_violations_occurred_at ON oldmain_contact.violations USING btree (occurred_at);


--
-- Name: ix_violations_position; Type: INDEX; Schema: oldmain_contact; Owner: -
--

CREATE INDEX ix_violations_position ON oldmain_contact.violations USING btree ("position");


--
-- PostgreSQL database dump complete
--

\unrestrict pdQojS2lRRpxf1acoTTneQUsHu4lLQayxeMdprhmqg523xcWwbrF9xS1BVizDTh

