"""Use cases: how delinquent cases are on a day (DPD and bucket in the creditor's scheme), and
how a creditor's cases moved between buckets over a period (roll rates)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from casetrail import figures

from case_service.application.allocation import today
from case_service.application.cases import CaseApplication
from case_service.application.listing import case_ids_of
from case_service.domain.case import Case, day_end
from case_service.domain.values import CURRENT, PAID

_ZERO = Decimal(0)


def aging(app: CaseApplication, case: Case, day: date | None = None) -> dict[str, Any]:
    """A case's DPD and bucket at the end of a day of its creditor's calendar (default:
    today), in its creditor's bucket scheme."""
    now, _, rules = today(app, case.creditor_id)
    on = day or now
    return {"on": on.isoformat(), "timezone": case.creditor_timezone,
            "dpd": case.dpd_on(on), "bucket": case.bucket_on(on, rules.bucket_scheme)}


def roll_rates(app: CaseApplication, creditor_id: str, first: date, last: date
               ) -> dict[str, Any]:
    """How a creditor's cases moved between aging buckets from the start of `first` to
    the end of `last` (days of its calendar), by the agency that held each case at the
    start: per agency, cases (and balance) by bucket at the start, and where each
    went. Cases placed after the start or not held by an agency then are left out."""
    _, zone, rules = today(app, creditor_id)
    start = day_end(first - timedelta(days=1), zone)  # the first day's midnight there
    moves: dict[str, dict[str, dict[str, int]]] = {}
    balances: dict[str, dict[str, Decimal]] = {}
    for case_id in case_ids_of(app, creditor_id):
        case = app.get_case(UUID(case_id))
        held = [s for s in case.stints if s.holds(start)]
        if case.placed_at >= start or not held:
            continue
        agency = held[-1].agency_id
        before = case.bucket_on(first - timedelta(days=1), rules.bucket_scheme)
        after = case.bucket_on(last, rules.bucket_scheme)
        row = moves.setdefault(agency, {}).setdefault(before, {})
        row[after] = row.get(after, 0) + 1
        owed = balances.setdefault(agency, {})
        owed[before] = owed.get(before, _ZERO) + case.outstanding_at(start)
    order = [r.name for r in rules.bucket_scheme]
    rank = {name: i for i, name in enumerate([PAID, CURRENT, *order])}
    agencies = []
    for agency, rows in sorted(moves.items()):
        buckets = []
        for before in sorted(rows, key=lambda b: rank.get(b, len(rank))):
            went = rows[before]
            total = sum(went.values())
            worse = sum(n for b, n in went.items() if rank.get(b, 0) > rank.get(before, 0))
            cured = sum(n for b, n in went.items() if b in (PAID, CURRENT))
            buckets.append({
                "bucket": before, "cases": total,
                "balance": str(balances[agency][before]),
                "to": dict(sorted(went.items(), key=lambda kv: rank.get(kv[0], len(rank)))),
                "roll_forward_rate": _ratio(worse, total),
                "cure_rate": _ratio(cured, total)})
        agencies.append({"agency_id": agency, "buckets": buckets})
    return {"creditor_id": creditor_id, "from": first.isoformat(), "to": last.isoformat(),
            "timezone": zone, "bucket_order": [PAID, CURRENT, *order],
            "agencies": agencies}


def _ratio(numerator: int, denominator: int) -> str | None:
    return figures.rate_text(figures.ratio(numerator, denominator).value)
