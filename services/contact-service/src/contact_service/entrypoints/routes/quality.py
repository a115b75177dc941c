"""Quality control: monthly QA samples (reproducible from a seed), reviews, and contact KPIs.

Who may do what:
- a sample covers one agency's month (a calendar month in the agency's time zone); an agency
  key samples its own work, a creditor key samples the work an agency did on the creditor's
  own cases (and only an agency that holds or has worked them), an admin key samples an
  agency's whole work; auditors read, never write;
- a sample is visible to admins, auditors, its agency, and the creditor it is confined to;
- reviews of a creditor's sample are recorded by that creditor (or an admin), reviews of an
  agency's whole-work sample by the agency (or an admin).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from casetrail.security import Principal, Role
from casetrail.web import (
    EARLIEST_DAY,
    LATEST_DAY,
    ApiError,
    Identifier,
    IdentifierPath,
    Instant,
    error_responses,
    require_roles,
)
from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StrictBool, StrictInt

from contact_service.adapters.qa_store import (
    QaStore,
    creditor_works_with_agency,
    load_kpi_facts,
)
from contact_service.domain.kpis import DEFINITIONS, InvalidPeriod, Period, contact_kpis
from contact_service.domain.qa import (
    InvalidMonth,
    ItemNotInSample,
    ReviewIdConflict,
    SamplingRates,
    Verification,
    check_month_samplable,
    escalate_by,
    month_days,
)
from contact_service.entrypoints.deps import PrincipalDep, ServiceDep

router = APIRouter(prefix="/v1", tags=["quality"])

# Domain errors -> (status, code, the request field at fault).
ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    InvalidMonth: (422, "invalid_month", "body.month"),
    ItemNotInSample: (422, "item_not_in_sample", "body.item_id"),
    ReviewIdConflict: (409, "review_id_conflict", "body.review_id"),
    InvalidPeriod: (422, "invalid_period", "query.to"),
}


def api_error(exc: Exception) -> ApiError:
    """The API error for a domain error of this module's error map."""
    status, code, path = ERRORS[type(exc)]
    return ApiError(status, code, str(exc), fields=[
        {"path": path, "message": str(exc), "type": "value_error"}])


# ---------------------------------------------------------------------- schemas

class SampleIn(BaseModel):
    """Draw the QA sample of an agency's month."""

    model_config = {"extra": "forbid"}

    agency_id: Identifier
    month: str = Field(description="YYYY-MM, a calendar month in the agency's time zone "
                                   "(its last setting before the month ended): a past month or the "
                                   "current one",
                       examples=["2026-10"], pattern=r"^[0-9]{4}-[0-9]{2}$")
    seed: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="default: 32 random hex digits, recorded; the same agency, month and seed "
                    "always give the same sample")


class SampledContactOut(BaseModel):
    """The contact a call or visit item names (as the contact log has it now)."""

    contact_id: str
    channel: str
    direction: str
    party: str
    outcome: str
    action_code: str
    agent_id: str | None
    recording_ref: str | None
    occurred_at: str


class ItemOut(BaseModel):
    """One sampled item: a contact event id (calls, visits) or a case id (repaid cases)."""

    item_id: str
    case_id: str
    contact: SampledContactOut | None


class PopulationOut(BaseModel):
    """What was drawn from one population."""

    population_size: int
    rate: str
    required: int = Field(description="ceil(population_size x rate), at least 1 if any")
    selected: int
    digest: str = Field(description="sha256 of the population's sorted ids, one per line")
    items: list[ItemOut]


class ReviewIn(BaseModel):
    """A reviewer's verdict on one sampled item."""

    model_config = {"extra": "forbid"}

    item_id: str = Field(min_length=1, max_length=200)
    score: StrictInt = Field(ge=0, le=100)
    findings: str = Field(max_length=20_000)
    serious: StrictBool
    review_id: Identifier | None = Field(
        default=None,
        description="optional retry key: resending the same review returns it with 200")


class ReviewOut(BaseModel):
    """A recorded review; serious findings carry the time they must be escalated by."""

    review_id: str
    sample_id: str
    population: str
    item_id: str
    score: int
    findings: str
    serious: bool
    reviewer: str
    reviewed_at: str
    escalate_by: str | None = Field(description="reviewed_at + 24 h for serious findings")


class SampleOut(BaseModel):
    """A recorded QA sample with its items and reviews."""

    sample_id: str
    agency_id: str
    creditor_id: str | None = Field(description="the creditor whose cases alone were sampled")
    month: str
    timezone: str = Field(description="the zone the month was read in (the agency's, "
                                      "recorded when drawn; UTC for samples drawn before "
                                      "months were local)")
    month_starts_at: datetime = Field(description="the month's first instant in `timezone`")
    month_ends_at: datetime = Field(description="the next month's first instant (excluded)")
    seed: str
    rates: dict[str, str]
    algorithm: str
    created_at: str
    actor: str
    populations: dict[str, PopulationOut]
    reviews: list[ReviewOut]


class PopulationCheckOut(BaseModel):
    """One population, as recorded and as it is now."""

    recorded_size: int
    current_size: int
    recorded_digest: str
    current_digest: str
    population_unchanged: bool
    selection_matches: bool


class VerificationOut(BaseModel):
    """The sample re-derived from its seed and the current populations."""

    checked_at: datetime
    matches: bool = Field(description="every population unchanged and every selection equal")
    populations: dict[str, PopulationCheckOut]


class VerifiedSampleOut(SampleOut):
    """A recorded sample and whether its seed still draws it."""

    verification: VerificationOut


class RatioOut(BaseModel):
    """A KPI with the counts behind it."""

    value: str | None = Field(description="decimal, 4 places, half-up; null over 0")
    numerator: int
    denominator: int
    definition: str


class KpisOut(BaseModel):
    """An agency's contact KPIs for [from, to)."""

    agency_id: str
    creditor_id: str | None = Field(description="set when only this creditor's cases count")
    period_from: datetime = Field(alias="from")
    period_to: datetime = Field(alias="to")
    kpis: dict[str, RatioOut]


# ---------------------------------------------------------------------- helpers

def visible(caller: Principal, sample: dict[str, Any] | None) -> bool:
    """Whether the caller may read a sample: admins, auditors, its agency, its creditor."""
    if sample is None:
        return False
    if caller.role in (Role.ADMIN, Role.AUDITOR):
        return True
    if caller.role is Role.AGENCY:
        return bool(sample["agency_id"] == caller.tenant)
    return caller.role is Role.CREDITOR and sample["creditor_id"] == caller.tenant


def _review_out(row: dict[str, Any]) -> dict[str, Any]:
    deadline = escalate_by(datetime.fromisoformat(row["reviewed_at"])) if row["serious"] else None
    return {**row, "escalate_by": deadline.isoformat() if deadline else None}


def _verification_out(check: Verification, checked_at: datetime) -> dict[str, Any]:
    return {"checked_at": checked_at, "matches": check.matches, "populations": {
        name: {"recorded_size": c.recorded_size, "current_size": c.current_size,
               "recorded_digest": c.recorded_digest, "current_digest": c.current_digest,
               "population_unchanged": c.population_unchanged,
               "selection_matches": c.selection_matches}
        for name, c in check.populations.items()}}


def _check_may_sample(caller: Principal, agency_id: str) -> None:
    """Refuse auditors, and agency keys sampling another agency."""
    require_roles(caller, Role.ADMIN, Role.CREDITOR, Role.AGENCY)
    if caller.role is Role.AGENCY and caller.tenant != agency_id:
        raise ApiError(403, "forbidden", "an agency key samples only its own agency")


def _scope_for_new_sample(store: QaStore, caller: Principal, agency_id: str) -> str | None:
    """The creditor a new sample is confined to (None: the agency's whole work)."""
    if caller.role is Role.CREDITOR:
        assert caller.tenant is not None
        with store.engine.connect() as conn:
            if not creditor_works_with_agency(conn, caller.tenant, agency_id):
                raise ApiError(403, "forbidden",
                               f"agency {agency_id} holds or has worked none of your cases")
        return caller.tenant
    return None


# ---------------------------------------------------------------------- routes

@router.post("/qa/samples", status_code=201, response_model=SampleOut,
             summary="Draw an agency's monthly QA sample", responses={
                 201: {"description": "drawn now", "links": {
                     "GetSample": {"operationRef": "#/paths/~1v1~1qa~1samples~1{sample_id}/get",
                                   "parameters": {"sample_id": "$response.body#/sample_id"}},
                     "ReviewItem": {
                         "operationRef": "#/paths/~1v1~1qa~1samples~1{sample_id}~1reviews/post",
                         "parameters": {"sample_id": "$response.body#/sample_id"}}}},
                 200: {"model": SampleOut, "description": "the sample drawn before with the "
                       "same agency, month and seed"}, **error_responses(403)})
async def create_sample(body: SampleIn, response: Response, service: ServiceDep,
                        caller: PrincipalDep) -> dict[str, Any]:
    """At least 15 % of recorded calls, 30 % of field-visit records and 10 % of repaid cases of
    the month (rounded up, at least one of each non-empty population), drawn reproducibly from
    the seed. The month is a calendar month in the agency's time zone (its last setting made
    before the month ended), recorded with the sample and stated in the answer. 201 when
    drawn now; 200 with the recorded sample when the same agency, month and seed were sampled
    before (by the same scope)."""
    _check_may_sample(caller, body.agency_id)
    now = service.now()
    seed = body.seed or secrets.token_hex(16)
    store = QaStore(service.engine)

    def create() -> tuple[dict[str, Any], bool]:
        try:
            first, _ = month_days(body.month)
            if not EARLIEST_DAY <= first <= LATEST_DAY:
                raise InvalidMonth(f"{body.month} is outside {EARLIEST_DAY:%Y-%m} to "
                                   f"{LATEST_DAY:%Y-%m}")
            window = check_month_samplable(body.month, now,
                                           service.agencies.history(body.agency_id))
        except InvalidMonth as exc:
            raise api_error(exc) from None
        creditor_id = _scope_for_new_sample(store, caller, body.agency_id)
        sample, created = store.create_sample(
            agency_id=body.agency_id, month=body.month, seed=seed, creditor_id=creditor_id,
            rates=SamplingRates(), actor=caller.actor, now=now, timezone=window.timezone)
        reviews = [] if created else [_review_out(r) for r in store.reviews(sample["sample_id"])]
        return {**sample, "reviews": reviews}, created

    sample, created = await run_in_threadpool(create)
    if not created:
        response.status_code = 200
    return sample


@router.get("/qa/samples/{sample_id}", response_model=VerifiedSampleOut,
            summary="A QA sample, its reviews, and whether its seed still draws it",
            responses=error_responses(404))
async def get_sample(sample_id: str, service: ServiceDep, caller: PrincipalDep
                     ) -> dict[str, Any]:
    """The recorded sample with its reviews, and `verification`: the sample re-derived from its
    seed and rates over the populations as they are now, population by population."""
    store = QaStore(service.engine)

    def read() -> dict[str, Any]:
        sample = store.get_sample(sample_id)
        if not visible(caller, sample):
            raise ApiError(404, "sample_not_found", f"no QA sample {sample_id} visible to this key")
        assert sample is not None
        check = store.verify(sample_id)
        assert check is not None
        return {**sample, "reviews": [_review_out(r) for r in store.reviews(sample_id)],
                "verification": _verification_out(check, service.now())}

    return await run_in_threadpool(read)


@router.post("/qa/samples/{sample_id}/reviews", status_code=201, response_model=ReviewOut,
             summary="Record the review of a sampled item", responses={
                 200: {"model": ReviewOut, "description": "the same review (by `review_id`) "
                       "recorded before"},
                 **error_responses(403, 404, 409, _409="`review_id_conflict`: that review_id "
                                   "was used for another review")})
async def record_review(sample_id: str, body: ReviewIn, response: Response,
                        service: ServiceDep, caller: PrincipalDep) -> dict[str, Any]:
    """Record a score (0-100) and findings for an item of the sample. A serious finding comes
    back with `escalate_by`: it must be escalated within 24 hours of the review."""
    require_roles(caller, Role.ADMIN, Role.CREDITOR, Role.AGENCY)
    store = QaStore(service.engine)

    def record() -> tuple[dict[str, Any], bool]:
        sample = store.sample_header(sample_id)
        if not visible(caller, sample):
            raise ApiError(404, "sample_not_found", f"no QA sample {sample_id} visible to this key")
        assert sample is not None
        if caller.role is Role.AGENCY and sample["creditor_id"] is not None:
            raise ApiError(403, "forbidden",
                           "a creditor's sample is reviewed by the creditor, not the agency")
        try:
            return store.add_review(
                sample_id=sample_id, item_id=body.item_id, score=body.score,
                findings=body.findings, serious=body.serious, reviewer=caller.actor,
                now=service.now(), review_id=body.review_id)
        except (ItemNotInSample, ReviewIdConflict) as exc:
            raise api_error(exc) from None

    review, created = await run_in_threadpool(record)
    if not created:
        response.status_code = 200
    return _review_out(review)


@router.get("/agencies/{agency_id}/contact-kpis", response_model=KpisOut,
            response_model_by_alias=True, summary="An agency's contact KPIs",
            responses=error_responses(403))
async def agency_contact_kpis(
    agency_id: IdentifierPath, service: ServiceDep, caller: PrincipalDep,
    since: Annotated[Instant, Query(alias="from", description="start, included")],
    until: Annotated[Instant, Query(alias="to", description="end, excluded")],
) -> dict[str, Any]:
    """Contact rate, right-party contact rate, promise rate, promise-kept rate and violations
    per 1000 contacts, each with its numerator, denominator and definition, over the instants
    [from, to) as given (each with its offset): no day or zone is implied. An agency key sees
    only its own agency; a creditor key gets the KPIs over its own cases only."""
    if caller.role is Role.AGENCY and caller.tenant != agency_id:
        raise ApiError(403, "forbidden", "an agency key sees only its own KPIs")
    creditor_id = caller.tenant if caller.role is Role.CREDITOR else None
    try:
        period = Period(since.astimezone(UTC), until.astimezone(UTC))
    except InvalidPeriod as exc:
        raise api_error(exc) from None
    facts = await run_in_threadpool(load_kpi_facts, service.engine, agency_id, period.start,
                                    period.end, creditor_id)
    kpis = contact_kpis(agency_id, period, facts.assignments, facts.contacts, facts.promises,
                        facts.violations)
    return {"agency_id": agency_id, "creditor_id": creditor_id, "from": period.start,
            "to": period.end, "kpis": {
                name: {"value": None if r.value is None else str(r.value),
                       "numerator": r.numerator, "denominator": r.denominator,
                       "definition": DEFINITIONS[name]}
                for name, r in kpis.as_dict().items()}}
