"""QA samples and reviews (the service's own records), and the read-model queries behind them.

The tables live in `qa_metadata`, not in the contact-log projection's metadata: samples and
reviews are records people made, not facts rebuilt from case events, so a projection rebuild
(which empties the projection's tables) must keep them. The service's migrations
(`adapters/migrations`) create them.

Populations and KPI facts are read from the contact-log tables for one agency and period,
optionally confined to one creditor's cases. Timestamps there are ISO-8601 UTC strings with a
`+00:00` offset, so period bounds compare as strings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from casetrail.figures import BEFORE_PLACEMENT
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from contact_service.adapters.complaints import complaint_fact
from contact_service.adapters.contact_log import (
    case_assignments,
    complaints,
    contact_cases,
    contacts,
    payments,
    promises,
    violations,
    visits,
)
from contact_service.domain.collectors import CollectorContact, CollectorVisit, ReviewFact
from contact_service.domain.complaints import ComplaintFact
from contact_service.domain.kpis import CaseAssignment, ContactFact, PromiseFact, ViolationFact
from contact_service.domain.qa import (
    POPULATIONS,
    RECORDED_CALLS,
    REPAID_CASES,
    VISIT_RECORDS,
    ItemNotInSample,
    PopulationSample,
    ReviewIdConflict,
    Sample,
    SamplingRates,
    Verification,
    derive_sample,
    month_bounds,
    verify_sample,
)

SAMPLES_BEFORE_ZONES = "UTC"  # the zone of a sample recorded without one

qa_metadata = sa.MetaData()

qa_samples = sa.Table(
    "qa_samples", qa_metadata,
    sa.Column("sample_id", sa.Text, primary_key=True),
    sa.Column("agency_id", sa.Text, nullable=False),
    # None: all the agency's work; a creditor's id: only that creditor's cases.
    sa.Column("creditor_id", sa.Text),
    sa.Column("month", sa.Text, nullable=False),
    sa.Column("seed", sa.Text, nullable=False),
    sa.Column("rates", sa.Text, nullable=False),
    sa.Column("population_digests", sa.Text, nullable=False),
    sa.Column("population_sizes", sa.Text, nullable=False),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    # The zone the month was read in (the agency's, when the month began); NULL: drawn by a
    # release that read every month in UTC, as it is still read for that sample.
    sa.Column("timezone", sa.Text),
    sa.Index("ix_qa_samples_agency_month", "agency_id", "month"),
)

qa_sample_items = sa.Table(
    "qa_sample_items", qa_metadata,
    sa.Column("sample_id", sa.Text, primary_key=True),
    sa.Column("population", sa.Text, primary_key=True),
    sa.Column("item_id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False),
)

qa_reviews = sa.Table(
    "qa_reviews", qa_metadata,
    sa.Column("review_id", sa.Text, primary_key=True),
    sa.Column("sample_id", sa.Text, nullable=False, index=True),
    sa.Column("population", sa.Text, nullable=False),
    sa.Column("item_id", sa.Text, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("findings", sa.Text, nullable=False),
    sa.Column("serious", sa.Boolean, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("reviewed_at", sa.Text, nullable=False),
    # The collector of the reviewed item when the review was recorded: the agent of a sampled
    # call or visit contact (`contacts.agent_id`); NULL for a repaid case or a contact that
    # names no agent. Kept with the review so later changes never move a past score.
    sa.Column("collector_id", sa.Text),
    sa.CheckConstraint("score >= 0 AND score <= 100", name="ck_qa_reviews_score"),
)

QA_NAMESPACE = uuid.UUID("6f1d7c2a-93e4-4b8e-a5d0-2c7b9e41f8a3")


def sample_id_for(agency_id: str, month: str, seed: str, creditor_id: str | None) -> str:
    """The deterministic id of a sample: the same request always names the same sample."""
    return str(uuid.uuid5(QA_NAMESPACE, json.dumps([agency_id, month, seed, creditor_id])))


def _bounds(start: datetime, end: datetime) -> tuple[str, str]:
    return start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat()


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def gather_populations(conn: Connection, agency_id: str, start: datetime, end: datetime,
                       creditor_id: str | None = None) -> dict[str, dict[str, str]]:
    """Each QA population of an agency in [start, end) as item id -> case id.

    - recorded calls: phone contacts (either direction) with a recording reference;
    - visit records: contacts on channel `visit`, whatever their outcome;
    - repaid cases: cases whose payments credited to the agency and received in the period
      (agency-collected or paid to the creditor directly, never before the case was placed)
      sum to more than their reversals.
    """
    since, until = _bounds(start, end)
    where = [contacts.c.agency_id == agency_id, contacts.c.occurred_at >= since,
             contacts.c.occurred_at < until]
    if creditor_id is not None:
        where.append(contacts.c.creditor_id == creditor_id)
    calls = conn.execute(sa.select(contacts.c.event_id, contacts.c.case_id).where(
        *where, contacts.c.channel == "phone", contacts.c.recording_ref.is_not(None),
        contacts.c.recording_ref != "")).all()
    visits = conn.execute(sa.select(contacts.c.event_id, contacts.c.case_id).where(
        *where, contacts.c.channel == "visit")).all()

    paid = sa.select(payments.c.case_id, payments.c.amount, payments.c.reversed).where(
        payments.c.agency_id == agency_id, payments.c.received_at >= since,
        payments.c.received_at < until,
        # money received before the case was placed is nobody's collection (figures.credited)
        sa.func.coalesce(payments.c.flags, "").not_like(f"%{BEFORE_PLACEMENT}%"))
    if creditor_id is not None:
        paid = paid.join_from(payments, contact_cases,
                              contact_cases.c.case_id == payments.c.case_id).where(
            contact_cases.c.creditor_id == creditor_id)
    net: dict[str, Decimal] = {}
    for case_id, amount, reversed_amount in conn.execute(paid):
        net[case_id] = net.get(case_id, Decimal(0)) + Decimal(amount) - Decimal(reversed_amount)

    return {
        RECORDED_CALLS: {str(e): str(c) for e, c in calls},
        VISIT_RECORDS: {str(e): str(c) for e, c in visits},
        REPAID_CASES: {case_id: case_id for case_id, value in net.items() if value > 0},
    }


class QaStore:
    """QA samples and their reviews, drawn from and checked against the contact log."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # ------------------------------------------------------------------ samples

    def create_sample(self, *, agency_id: str, month: str, seed: str, creditor_id: str | None,
                      rates: SamplingRates, actor: str, now: datetime, timezone: str
                      ) -> tuple[dict[str, Any], bool]:
        """Draw and record the sample for (agency, month, seed, scope), or return the one already
        recorded for them; the flag says whether it was created now. The month is read in
        `timezone` (the agency's), recorded with the sample."""
        sample_id = sample_id_for(agency_id, month, seed, creditor_id)
        start, end = month_bounds(month, timezone)
        try:
            with self.engine.begin() as conn:
                if self._sample_row(conn, sample_id) is None:
                    population = gather_populations(conn, agency_id, start, end, creditor_id)
                    drawn = derive_sample(
                        {name: population[name].keys() for name in POPULATIONS}, seed, rates)
                    self._insert(conn, sample_id, agency_id, creditor_id, month, timezone,
                                 drawn, population, actor, now)
                    created = True
                else:
                    created = False
        except IntegrityError:
            created = False  # the same request, committed concurrently: return that one
        sample = self.get_sample(sample_id)
        assert sample is not None
        return sample, created

    def _insert(self, conn: Connection, sample_id: str, agency_id: str,
                creditor_id: str | None, month: str, timezone: str, drawn: Sample,
                population: Mapping[str, Mapping[str, str]], actor: str, now: datetime) -> None:
        conn.execute(qa_samples.insert().values(
            sample_id=sample_id, agency_id=agency_id, creditor_id=creditor_id, month=month,
            timezone=timezone,
            seed=drawn.seed, rates=json.dumps(drawn.rates.to_json()),
            population_digests=json.dumps(
                {n: p.digest for n, p in drawn.populations.items()}),
            population_sizes=json.dumps({n: p.size for n, p in drawn.populations.items()}),
            algorithm=drawn.algorithm, created_at=now.astimezone(UTC).isoformat(), actor=actor))
        items = [{"sample_id": sample_id, "population": name, "item_id": item_id,
                  "case_id": population[name][item_id]}
                 for name, part in drawn.populations.items() for item_id in part.selected]
        if items:
            conn.execute(qa_sample_items.insert(), items)

    @staticmethod
    def _sample_row(conn: Connection, sample_id: str) -> dict[str, Any] | None:
        row = conn.execute(sa.select(qa_samples).where(
            qa_samples.c.sample_id == sample_id)).mappings().first()
        return dict(row) if row else None

    def sample_header(self, sample_id: str) -> dict[str, Any] | None:
        """The sample's own row (agency, scope, month, seed...), without items, or None."""
        with self.engine.connect() as conn:
            return self._sample_row(conn, sample_id)

    def get_sample(self, sample_id: str) -> dict[str, Any] | None:
        """A recorded sample with its items per population (and the contact each names)."""
        with self.engine.connect() as conn:
            row = self._sample_row(conn, sample_id)
            if row is None:
                return None
            items = conn.execute(sa.select(qa_sample_items).where(
                qa_sample_items.c.sample_id == sample_id).order_by(
                qa_sample_items.c.population, qa_sample_items.c.item_id)).mappings().all()
            details = self._contact_details(
                conn, [i["item_id"] for i in items if i["population"] != REPAID_CASES])
        recorded = self._as_sample(row, items)
        zone = row["timezone"] or SAMPLES_BEFORE_ZONES
        starts, ends = month_bounds(row["month"], zone)
        populations = {}
        for name in POPULATIONS:
            part = recorded.populations[name]
            populations[name] = {
                "population_size": part.size, "rate": str(part.rate),
                "required": part.required, "selected": len(part.selected),
                "digest": part.digest,
                "items": [{"item_id": i["item_id"], "case_id": i["case_id"],
                           "contact": details.get(i["item_id"])}
                          for i in items if i["population"] == name]}
        return {"sample_id": row["sample_id"], "agency_id": row["agency_id"],
                "creditor_id": row["creditor_id"], "month": row["month"], "timezone": zone,
                "month_starts_at": starts, "month_ends_at": ends, "seed": row["seed"],
                "rates": recorded.rates.to_json(), "algorithm": row["algorithm"],
                "created_at": row["created_at"], "actor": row["actor"],
                "populations": populations}

    @staticmethod
    def _as_sample(row: Mapping[str, Any], items: Iterable[Mapping[Any, Any]]) -> Sample:
        rates = SamplingRates.from_json(json.loads(row["rates"]))
        digests, sizes = json.loads(row["population_digests"]), json.loads(row["population_sizes"])
        chosen: dict[str, list[str]] = {name: [] for name in POPULATIONS}
        for item in items:
            chosen[item["population"]].append(item["item_id"])
        return Sample(seed=row["seed"], rates=rates, algorithm=row["algorithm"], populations={
            name: PopulationSample(population=name, size=sizes[name], rate=rates.rate(name),
                                   digest=digests[name], selected=tuple(sorted(chosen[name])))
            for name in POPULATIONS})

    @staticmethod
    def _contact_details(conn: Connection, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        columns = (contacts.c.event_id, contacts.c.contact_id, contacts.c.channel,
                   contacts.c.direction, contacts.c.party, contacts.c.outcome,
                   contacts.c.action_code, contacts.c.agent_id, contacts.c.recording_ref,
                   contacts.c.occurred_at)
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start:start + 500]
            for row in conn.execute(sa.select(*columns).where(
                    contacts.c.event_id.in_(chunk))).mappings():
                detail = dict(row)
                found[str(detail.pop("event_id"))] = detail
        return found

    def verify(self, sample_id: str) -> Verification | None:
        """Re-derive a recorded sample from its seed and today's populations, and compare."""
        with self.engine.connect() as conn:
            row = self._sample_row(conn, sample_id)
            if row is None:
                return None
            items = conn.execute(sa.select(qa_sample_items).where(
                qa_sample_items.c.sample_id == sample_id)).mappings().all()
            start, end = month_bounds(row["month"], row["timezone"] or SAMPLES_BEFORE_ZONES)
            current = gather_populations(conn, row["agency_id"], start, end, row["creditor_id"])
        return verify_sample(self._as_sample(row, items),
                             {name: current[name].keys() for name in POPULATIONS})

    # ------------------------------------------------------------------ reviews

    def add_review(self, *, sample_id: str, item_id: str, score: int, findings: str,
                   serious: bool, reviewer: str, now: datetime, review_id: str | None = None
                   ) -> tuple[dict[str, Any], bool]:
        """Record a review of a sampled item; a retry with the same review id returns the
        review already recorded (the flag says whether it was created now)."""
        review_id = review_id or uuid.uuid4().hex
        wanted = {"sample_id": sample_id, "item_id": item_id, "score": score,
                  "findings": findings, "serious": serious}
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(qa_reviews).where(
                qa_reviews.c.review_id == review_id)).mappings().first()
            if existing is not None:
                if any(existing[k] != v for k, v in wanted.items()):
                    raise ReviewIdConflict(f"review {review_id} was recorded with other values")
                return dict(existing), False
            population = conn.execute(sa.select(qa_sample_items.c.population).where(
                qa_sample_items.c.sample_id == sample_id,
                qa_sample_items.c.item_id == item_id)).scalars().first()
            if population is None:
                raise ItemNotInSample(f"item {item_id} is not in sample {sample_id}")
            collector = None if population == REPAID_CASES else conn.execute(
                sa.select(contacts.c.agent_id).where(contacts.c.event_id == item_id)
            ).scalars().first()
            row = {**wanted, "review_id": review_id, "population": population,
                   "reviewer": reviewer, "reviewed_at": now.astimezone(UTC).isoformat(),
                   "collector_id": collector}
            conn.execute(qa_reviews.insert().values(**row))
        return row, True

    def reviews(self, sample_id: str) -> list[dict[str, Any]]:
        """Every review of a sample, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(qa_reviews).where(
                qa_reviews.c.sample_id == sample_id).order_by(
                qa_reviews.c.reviewed_at, qa_reviews.c.review_id)).mappings().all()
        return [dict(r) for r in rows]

    def month_reviews(self, agency_id: str, month: str
                      ) -> list[tuple[dict[str, Any], list[ReviewFact]]]:
        """The agency's samples of a month (by sample id), each with its reviews."""
        with self.engine.connect() as conn:
            samples = conn.execute(sa.select(qa_samples).where(
                qa_samples.c.agency_id == agency_id, qa_samples.c.month == month)
                .order_by(qa_samples.c.sample_id)).mappings().all()
            found: dict[str, list[ReviewFact]] = {s["sample_id"]: [] for s in samples}
            if found:
                for r in conn.execute(sa.select(
                        qa_reviews.c.sample_id, qa_reviews.c.review_id,
                        qa_reviews.c.collector_id, qa_reviews.c.score, qa_reviews.c.serious)
                        .where(qa_reviews.c.sample_id.in_(list(found)))
                        .order_by(qa_reviews.c.review_id)):
                    found[r.sample_id].append(ReviewFact(
                        review_id=r.review_id, collector_id=r.collector_id,
                        score=int(r.score), serious=bool(r.serious)))
        return [(dict(s), found[s["sample_id"]]) for s in samples]

    # ------------------------------------------------------------------ contact KPIs

    def kpi_facts(self, agency_id: str, start: datetime, end: datetime,
                  creditor_id: str | None = None) -> KpiFacts:
        """The agency's assignments, contacts, promises and violations touching [start, end),
        of `creditor_id`'s cases only when given."""
        return load_kpi_facts(self.engine, agency_id, start, end, creditor_id)


# ---------------------------------------------------------------------- collector KPIs

def load_collector_facts(engine: Engine, agency_id: str, start: datetime, end: datetime,
                         creditor_id: str | None = None
                         ) -> tuple[list[CollectorContact], list[CollectorVisit]]:
    """The agency's contacts that occurred in [start, end) and the field visits it requested
    that were performed in it (of `creditor_id`'s cases only when given)."""
    since, until = _bounds(start, end)
    made = [contacts.c.agency_id == agency_id, contacts.c.occurred_at >= since,
            contacts.c.occurred_at < until]
    performed = [visits.c.agency_id == agency_id, visits.c.performed_at.is_not(None),
                 visits.c.performed_at >= since, visits.c.performed_at < until]
    if creditor_id is not None:
        made.append(contacts.c.creditor_id == creditor_id)
        performed.append(visits.c.creditor_id == creditor_id)
    with engine.connect() as conn:
        found = [CollectorContact(event_id=r.event_id, agent_id=r.agent_id, party=r.party,
                                  action_code=r.action_code)
                 for r in conn.execute(sa.select(contacts.c.event_id, contacts.c.agent_id,
                                                 contacts.c.party, contacts.c.action_code)
                                       .where(*made))]
        done = [CollectorVisit(visit_id=f"{r.case_id}/{r.visit_id}", visitor_id=r.visitor_id)
                for r in conn.execute(sa.select(visits.c.case_id, visits.c.visit_id,
                                                visits.c.visitor_id).where(*performed))]
    return found, done


# ---------------------------------------------------------------------- contact KPIs

@dataclass(frozen=True)
class KpiFacts:
    """What an agency's contact KPIs are computed from, for one period and tenant scope."""

    assignments: list[CaseAssignment]
    contacts: list[ContactFact]
    promises: list[PromiseFact]
    violations: list[ViolationFact]
    complaints: list[ComplaintFact]


def load_kpi_facts(engine: Engine, agency_id: str, start: datetime, end: datetime,
                   creditor_id: str | None = None) -> KpiFacts:
    """The agency's assignments, contacts, promises, violations and complaints touching
    [start, end)."""
    since, until = _bounds(start, end)
    complained = sa.select(complaints).where(
        complaints.c.agency_id == agency_id,
        sa.or_(*(sa.and_(column >= since, column < until) for column in (
            complaints.c.received_at, complaints.c.resolved_at,
            complaints.c.first_missed_at))))
    made = [contacts.c.agency_id == agency_id, contacts.c.occurred_at >= since,
            contacts.c.occurred_at < until]
    broke = [violations.c.agency_id == agency_id, violations.c.occurred_at >= since,
             violations.c.occurred_at < until]
    promised = sa.select(promises).where(
        promises.c.agency_id == agency_id,
        sa.or_(sa.and_(promises.c.promised_at >= since, promises.c.promised_at < until),
               sa.and_(promises.c.settled_at >= since, promises.c.settled_at < until)))
    held = sa.select(case_assignments).where(
        case_assignments.c.agency_id == agency_id, case_assignments.c.assigned_at < until,
        sa.or_(case_assignments.c.ended_at.is_(None), case_assignments.c.ended_at > since))
    if creditor_id is not None:
        held = held.join_from(case_assignments, contact_cases,
                              contact_cases.c.case_id == case_assignments.c.case_id).where(
            contact_cases.c.creditor_id == creditor_id)
        made.append(contacts.c.creditor_id == creditor_id)
        complained = complained.where(complaints.c.creditor_id == creditor_id)
        broke.append(violations.c.creditor_id == creditor_id)
        promised = promised.join_from(promises, contact_cases,
                                      contact_cases.c.case_id == promises.c.case_id).where(
            contact_cases.c.creditor_id == creditor_id)
    with engine.connect() as conn:
        assignments = [CaseAssignment(
            case_id=r.case_id, seq=r.seq, agency_id=r.agency_id,
            assigned_at=_instant(r.assigned_at),
            ended_at=_instant(r.ended_at) if r.ended_at else None)
            for r in conn.execute(held)]
        contact_facts = [
            ContactFact(event_id=r.event_id, case_id=r.case_id, party=r.party,
                        occurred_at=_instant(r.occurred_at), action_code=r.action_code)
            for r in conn.execute(sa.select(contacts.c.event_id, contacts.c.case_id,
                                            contacts.c.party, contacts.c.occurred_at,
                                            contacts.c.action_code)
                                  .where(*made))]
        complaint_facts = [complaint_fact(r) for r in conn.execute(complained).mappings()]
        promise_facts = [
            PromiseFact(case_id=r.case_id, promise_id=r.promise_id, agency_id=r.agency_id,
                        promised_at=_instant(r.promised_at), state=r.state,
                        settled_at=_instant(r.settled_at) if r.settled_at else None)
            for r in conn.execute(promised)]
        violation_facts = [
            ViolationFact(event_id=r.event_id, rule_id=r.rule_id,
                          occurred_at=_instant(r.occurred_at))
            for r in conn.execute(sa.select(violations.c.event_id, violations.c.rule_id,
                                            violations.c.occurred_at).where(*broke))]
    return KpiFacts(assignments=assignments, contacts=contact_facts, promises=promise_facts,
                    violations=violation_facts, complaints=complaint_facts)
