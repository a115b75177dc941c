"""Quality control: monthly QA samples (reproducible from a seed), their reviews, and the
agencies' contact KPIs.

Who may do what:
- a sample covers one agency's month (a calendar month in the agency's time zone); an agency
  key samples its own work, a creditor key samples the work an agency did on the creditor's
  own cases (and only an agency that holds or has worked them), an admin key samples an
  agency's whole work; auditors read, never write;
- a sample is visible to admins, auditors, its agency, and the creditor it is confined to;
- reviews of a creditor's sample are recorded by that creditor (or an admin), reviews of an
  agency's whole-work sample by the agency (or an admin);
- contact KPIs: an agency key its own agency's; a creditor key over its own cases only;
- collector scores (a month's QA reviews per collector): an agency key its own agency's;
  a creditor key those of the samples confined to its cases, of an agency that holds or has
  worked them; auditors and admins every sample of the agency (`sees_sample`);
- collector KPIs: as the contact KPIs.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from casetrail.clock import Clock
from casetrail.security import Principal, Role
from casetrail.web import EARLIEST_DAY, LATEST_DAY

from contact_service.adapters.agency_settings import AgencySettingsStore
from contact_service.adapters.qa_store import QaStore, load_collector_facts
from contact_service.adapters.queries import ContactQueries
from contact_service.application.access import (
    check_creditor_works_with,
    require_roles,
    sees_sample,
)
from contact_service.application.errors import Forbidden, InvalidMonthQuery, SampleNotFound
from contact_service.application.reports import Rendered, render
from contact_service.domain.collectors import (
    ReviewFact,
    collector_kpis,
    collector_scores,
    scores_csv,
)
from contact_service.domain.kpis import DEFINITIONS, Period, contact_kpis
from contact_service.domain.qa import (
    InvalidMonth,
    SamplingRates,
    Verification,
    check_month_samplable,
    escalate_by,
    month_days,
)


class Quality:
    """QA samples and reviews, and contact KPIs."""

    def __init__(self, qa: QaStore, queries: ContactQueries, agencies: AgencySettingsStore,
                 clock: Clock):
        self.qa, self.queries, self.agencies, self.clock = qa, queries, agencies, clock

    # ------------------------------------------------------------------ samples

    def draw_sample(self, caller: Principal, agency_id: str, month: str, seed: str | None
                    ) -> tuple[dict[str, Any], bool]:
        """Draw the QA sample of an agency's month (YYYY-MM, read in the agency's zone: its
        last setting made before the month ended) from `seed` (default: 32 random hex
        digits, recorded), or return the one drawn before with the same agency, month, seed
        and scope, with its reviews; the flag says whether it was drawn now."""
        require_roles(caller, Role.ADMIN, Role.CREDITOR, Role.AGENCY)
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key samples only its own agency")
        now = self.clock.now()
        seed = seed or secrets.token_hex(16)
        first, _ = month_days(month)
        if not EARLIEST_DAY <= first <= LATEST_DAY:
            raise InvalidMonth(f"{month} is outside {EARLIEST_DAY:%Y-%m} to {LATEST_DAY:%Y-%m}")
        window = check_month_samplable(month, now, self.agencies.history(agency_id))
        creditor_id = None  # an agency's or an admin's sample: the agency's whole work
        if caller.role is Role.CREDITOR:
            check_creditor_works_with(self.queries, caller, agency_id)
            creditor_id = caller.tenant
        sample, created = self.qa.create_sample(
            agency_id=agency_id, month=month, seed=seed, creditor_id=creditor_id,
            rates=SamplingRates(), actor=caller.actor, now=now, timezone=window.timezone)
        reviews = [] if created else self._reviews(sample["sample_id"])
        return {**sample, "reviews": reviews}, created

    def sample(self, caller: Principal, sample_id: str) -> dict[str, Any]:
        """A recorded sample with its reviews, and `verification`: the sample re-derived from
        its seed and rates over the populations as they are now."""
        sample = self.qa.get_sample(sample_id)
        if sample is None or not sees_sample(caller, sample):
            raise SampleNotFound(sample_id)
        check = self.qa.verify(sample_id)
        assert check is not None
        return {**sample, "reviews": self._reviews(sample_id),
                "verification": _verification(check, self.clock.now())}

    def record_review(self, caller: Principal, sample_id: str, *, item_id: str, score: int,
                      findings: str, serious: bool, review_id: str | None
                      ) -> tuple[dict[str, Any], bool]:
        """Record a score (0-100) and findings for an item of the sample; a serious finding
        carries `escalate_by` (24 hours after the review). A retry with the same
        `review_id` returns the review recorded before; the flag says whether it was
        recorded now."""
        require_roles(caller, Role.ADMIN, Role.CREDITOR, Role.AGENCY)
        sample = self.qa.sample_header(sample_id)
        if sample is None or not sees_sample(caller, sample):
            raise SampleNotFound(sample_id)
        if caller.role is Role.AGENCY and sample["creditor_id"] is not None:
            raise Forbidden("a creditor's sample is reviewed by the creditor, not the agency")
        review, created = self.qa.add_review(
            sample_id=sample_id, item_id=item_id, score=score, findings=findings,
            serious=serious, reviewer=caller.actor, now=self.clock.now(), review_id=review_id)
        return _review(review), created

    def _reviews(self, sample_id: str) -> list[dict[str, Any]]:
        return [_review(r) for r in self.qa.reviews(sample_id)]

    # ------------------------------------------------------------------ contact KPIs

    def contact_kpis(self, caller: Principal, agency_id: str, since: datetime, until: datetime
                     ) -> dict[str, Any]:
        """Contact rate, right-party contact rate, promise rate, promise-kept rate,
        violations per 1000 contacts and complaints per 1000 cases of an agency over the
        instants [since, until), each with its numerator, denominator and definition; the
        complaints received, resolved, overdue and upheld; contacts per action code; a
        creditor's over its own cases only."""
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key sees only its own KPIs")
        creditor_id = caller.tenant if caller.role is Role.CREDITOR else None
        period = Period(since.astimezone(UTC), until.astimezone(UTC))
        facts = self.qa.kpi_facts(agency_id, period.start, period.end, creditor_id)
        kpis = contact_kpis(agency_id, period, facts.assignments, facts.contacts,
                            facts.promises, facts.violations, facts.complaints)
        return {"agency_id": agency_id, "creditor_id": creditor_id, "from": period.start,
                "to": period.end, "kpis": {
                    name: {"value": None if r.value is None else str(r.value),
                           "numerator": r.numerator, "denominator": r.denominator,
                           "definition": DEFINITIONS[name]}
                    for name, r in kpis.as_dict().items()},
                "complaints": vars(kpis.complaints),
                "action_codes": [vars(a) for a in kpis.action_codes]}

    # ------------------------------------------------------------------ per collector

    def collector_scores(self, caller: Principal, agency_id: str, month: str
                         ) -> dict[str, Any]:
        """The QA reviews of the agency's samples of a month (YYYY-MM, the month the samples
        were drawn for) the caller may see, per collector (the collector stored with each
        review) and in total: reviews, average score (2 places, half-up), lowest score,
        serious findings and the review ids."""
        require_roles(caller, Role.ADMIN, Role.AUDITOR, Role.CREDITOR, Role.AGENCY)
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key sees only its own agency's scores")
        try:
            month_days(month)
        except InvalidMonth as exc:
            raise InvalidMonthQuery(str(exc)) from None
        if caller.role is Role.CREDITOR:
            check_creditor_works_with(self.queries, caller, agency_id)
        seen = [(sample, reviews) for sample, reviews in self.qa.month_reviews(agency_id, month)
                if sees_sample(caller, sample)]
        every: list[ReviewFact] = [r for _, reviews in seen for r in reviews]
        per, total = collector_scores(every)
        totals = total.as_dict()
        del totals["collector_id"]
        return {"agency_id": agency_id, "month": month,
                "creditor_id": caller.tenant if caller.role is Role.CREDITOR else None,
                "samples": [sample["sample_id"] for sample, _ in seen],
                "collectors": [s.as_dict() for s in per], "total": totals}

    def collector_scores_in(self, caller: Principal, agency_id: str, month: str,
                            fmt: Literal["json", "csv"]) -> Rendered:
        """The collector scores as JSON or CSV (UTF-8 with a BOM), with their SHA-256."""
        answer = self.collector_scores(caller, agency_id, month)
        return render(answer, fmt, f"collector-scores-{agency_id}-{month}",
                      csv_text=scores_csv(answer) if fmt == "csv" else "", pdf=None)

    def collector_kpis(self, caller: Principal, agency_id: str, since: datetime,
                       until: datetime) -> dict[str, Any]:
        """Per collector (agent or visitor; `None` for work naming none) over [since, until):
        contacts, right-party contacts, visits performed, contacts per action code; a
        creditor's over its own cases only."""
        if caller.role is Role.AGENCY and caller.tenant != agency_id:
            raise Forbidden("an agency key sees only its own KPIs")
        creditor_id = caller.tenant if caller.role is Role.CREDITOR else None
        period = Period(since.astimezone(UTC), until.astimezone(UTC))
        found, visited = load_collector_facts(self.qa.engine, agency_id, period.start,
                                              period.end, creditor_id)
        return {"agency_id": agency_id, "creditor_id": creditor_id, "from": period.start,
                "to": period.end, **collector_kpis(found, visited)}


def _review(row: dict[str, Any]) -> dict[str, Any]:
    deadline = escalate_by(datetime.fromisoformat(row["reviewed_at"])) if row["serious"] else None
    return {**row, "escalate_by": deadline.isoformat() if deadline else None}


def _verification(check: Verification, checked_at: datetime) -> dict[str, Any]:
    return {"checked_at": checked_at, "matches": check.matches, "populations": {
        name: {"recorded_size": c.recorded_size, "current_size": c.current_size,
               "recorded_digest": c.recorded_digest, "current_digest": c.current_digest,
               "population_unchanged": c.population_unchanged,
               "selection_matches": c.selection_matches}
        for name, c in check.populations.items()}}
