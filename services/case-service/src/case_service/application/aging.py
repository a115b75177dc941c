"""Use cases: how delinquent cases are on a day (DPD and bucket in the creditor's scheme),
how a creditor's cases moved between buckets over a period (roll rates), and the bad-debt
provision its book called for on a day (provisioning)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from casetrail import figures, money

from case_service.application.allocation import allocation_rules_at, today
from case_service.application.cases import CaseApplication
from case_service.application.listing import case_ids_of
from case_service.domain.case import Case, day_end
from case_service.domain.values import CURRENT, PAID, CloseReason

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


# ---------------------------------------------------------------------- provisioning

HELD_BY_CREDITOR = "creditor"  # the holder of a case no agency holds (recalled)
# Closures that end the debt: paid in full, settled (the rest waived), written off
# (uncollectible: charged off, so no longer a receivable to provision). A case closed after
# a recall or at its term's end still owes the creditor: it stays in the book.
DEBT_ENDING_CLOSURES = frozenset({CloseReason.PAID_IN_FULL, CloseReason.SETTLED,
                                  CloseReason.UNCOLLECTIBLE})
PROVISIONING_CSV_HEADER = ("creditor_id", "as_of", "timezone", "rules_version", "currency",
                           "agency_id", "bucket", "cases", "outstanding", "rate", "provision")


def provision(outstanding: Decimal, rate: Decimal | None, currency: str) -> Decimal:
    """One bucket line's provision: outstanding x rate, rounded half-up to the currency's
    minor unit (no rate: nothing)."""
    return money.round_minor(outstanding * (rate or _ZERO), currency)


def provisioning(app: CaseApplication, creditor_id: str, as_of: date) -> dict[str, Any]:
    """A creditor's bad-debt provision (计提坏账准备金) at the end of `as_of` (a day of its
    calendar): what its book owed then, by aging bucket, times the provision rate of each
    bucket, per currency, with a breakdown by the agency holding each case then
    (`creditor` once recalled). The book is every case placed by then and not closed by
    then as paid in full, settled or written off (a case closed after a recall or at its
    term's end still owes the creditor). Credit balances count as nothing owed. The rates
    and bucket scheme are those of the rules in force at the end of `as_of`, or now for a
    day not over yet (`rules_version`, `rules_in_force_at`); the day is read in the zone of
    the current rules."""
    now = app.clock.now()
    _, zone, _ = today(app, creditor_id)
    end = day_end(as_of, zone)
    in_force_at = min(end, now)
    # a version stored at the very midnight that ends the day is the next day's
    rules = allocation_rules_at(app, creditor_id, in_force_at if now < end
                                else end - timedelta(microseconds=1))
    order = [PAID, CURRENT, *(r.name for r in rules.bucket_scheme)]
    rates = rules.provision_rates
    # currency -> agency -> bucket -> [cases, outstanding]
    book: dict[str, dict[str, dict[str, list[Any]]]] = {}
    closed: dict[str, int] = {}
    for case_id in case_ids_of(app, creditor_id):
        case = app.get_case(UUID(case_id))
        if case.placed_at >= end:
            continue
        if (case.closed and case.closed_at is not None and case.closed_at < end
                and case.close_reason in DEBT_ENDING_CLOSURES):
            closed[str(case.close_reason)] = closed.get(str(case.close_reason), 0) + 1
            continue
        held = [s for s in case.stints if s.holds(end)]
        agency = held[-1].agency_id if held else HELD_BY_CREDITOR
        bucket = case.bucket_on(as_of, rules.bucket_scheme)
        line = book.setdefault(case.currency, {}).setdefault(agency, {}).setdefault(
            bucket, [0, _ZERO])
        line[0] += 1
        line[1] += max(case.outstanding_at(end), _ZERO)
    currencies = []
    for currency, agencies in sorted(book.items()):
        totals: dict[str, list[Any]] = {b: [0, _ZERO] for b in order}
        by_agency = []
        for agency, buckets in sorted(agencies.items()):
            for bucket, (cases, owed) in buckets.items():  # bucket_on names one of `order`
                totals[bucket][0] += cases
                totals[bucket][1] += owed
            rows = [_provision_row(b, buckets[b], rates.get(b), currency)
                    for b in order if b in buckets]
            by_agency.append({"agency_id": agency, **_provision_totals(rows, currency),
                              "rows": rows})
        rows = [_provision_row(b, totals[b], rates.get(b), currency) for b in order]
        currencies.append({"currency": currency, "rows": rows,
                           "totals": _provision_totals(rows, currency),
                           "by_agency": by_agency})
    return {"creditor_id": creditor_id, "as_of": as_of.isoformat(), "timezone": zone,
            "rules_version": rules.version, "rules_in_force_at": in_force_at.isoformat(),
            "bucket_order": order,
            "unrated_buckets": [b for b in order if b != PAID and b not in rates],
            "rates_without_bucket": sorted(set(rates) - set(order)),
            "closed_left_out": dict(sorted(closed.items())),
            "currencies": currencies}


def provisioning_csv(report: dict[str, Any]) -> str:
    """A provisioning report as CSV: a header row, then per currency its bucket lines
    (agency_id empty) and its total (bucket `total`), then each agency's lines and total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PROVISIONING_CSV_HEADER)
    head = [report["creditor_id"], report["as_of"], report["timezone"],
            report["rules_version"]]
    for block in report["currencies"]:
        sections = [("", block["rows"], block["totals"])]
        sections += [(a["agency_id"], a["rows"], a) for a in block["by_agency"]]
        for agency, rows, totals in sections:
            for row in rows:
                writer.writerow([*head, block["currency"], agency, row["bucket"], row["cases"],
                                 row["outstanding"], row["rate"] or "", row["provision"]])
            writer.writerow([*head, block["currency"], agency, "total", totals["cases"],
                             totals["outstanding"], totals["coverage_ratio"] or "",
                             totals["provision"]])
    return out.getvalue()


def _provision_row(bucket: str, line: list[Any], rate: Decimal | None, currency: str
                   ) -> dict[str, Any]:
    cases, outstanding = line
    return {"bucket": bucket, "cases": cases,
            "outstanding": money.format_amount(outstanding, currency),
            "rate": None if rate is None else str(rate),
            "provision": str(provision(outstanding, rate, currency))}


def _provision_totals(rows: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """The lines' sums (the provision is the sum of the rounded lines, so the table adds up)
    and the coverage ratio, provision / outstanding."""
    owed = sum((Decimal(r["outstanding"]) for r in rows), _ZERO)
    provided = sum((Decimal(r["provision"]) for r in rows), _ZERO)
    return {"cases": sum(r["cases"] for r in rows),
            "outstanding": money.format_amount(owed, currency),
            "provision": money.format_amount(provided, currency),
            "coverage_ratio": figures.rate_text(figures.ratio(provided, owed).value)}
