"""The creditor's portfolio as charts and tables, from billing's performance reports (one
agency's `GET /v1/agencies/{id}/performance`, the creditor's
`GET /v1/creditors/{id}/agency-comparison`). Figures are taken as the services state them
(decimal strings, defined once in casetrail.figures); nothing is recomputed here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any


def number(value: Any) -> float | None:
    """A decimal string (or number) as a float for a chart; None when absent."""
    if value is None or value == "":
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def percent(value: Any) -> float | None:
    """A ratio (0.1234) as a percentage for a chart (12.34)."""
    ratio = number(value)
    return None if ratio is None else round(ratio * 100, 2)


def by_bucket(agencies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Placed and collected per bucket, summed over the agencies (the comparison gives each
    agency's by_bucket), with the recovery rate of the sums."""
    placed: dict[str, Decimal] = {}
    recovered: dict[str, Decimal] = {}
    for agency in agencies:
        for row in agency.get("by_bucket") or []:
            bucket = str(row.get("bucket"))
            placed[bucket] = placed.get(bucket, Decimal(0)) + Decimal(
                str(row.get("placed_amount") or 0))
            recovered[bucket] = recovered.get(bucket, Decimal(0)) + Decimal(
                str(row.get("recovered_amount") or 0))
    buckets = sorted(placed, key=bucket_order)
    return {
        "buckets": buckets,
        "placed": [float(placed[b]) for b in buckets],
        "collected": [float(recovered[b]) for b in buckets],
        "recovery_rate": [round(float(recovered[b] / placed[b]) * 100, 2) if placed[b] else None
                          for b in buckets],
    }


def by_agency(agencies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Placed, collected and recovery rate per agency."""
    names = [str(a.get("agency_id")) for a in agencies]
    return {
        "agencies": names,
        "placed": [number(a.get("placed_amount")) for a in agencies],
        "collected": [number(a.get("recovered_amount")) for a in agencies],
        "recovery_rate": [percent(a.get("recovery_rate")) for a in agencies],
    }


def liquidation_curves(reports: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One line per agency and vintage: cumulative liquidation rate (%) by months since
    placement, from each agency report's by_vintage[].liquidation_curve."""
    series = []
    longest = 0
    for report in reports:
        for vintage in report.get("by_vintage") or []:
            curve = vintage.get("liquidation_curve") or []
            longest = max(longest, len(curve))
            series.append({
                "name": f"{report.get('agency_id')} {vintage.get('vintage')}",
                "data": [percent(point.get("liquidation_rate")) for point in curve],
            })
    return {"months": list(range(longest)), "series": series}


def roll_rates(report: dict[str, Any]) -> dict[str, Any]:
    """The case service's roll-rate report (`GET /v1/creditors/{id}/roll-rates`) as a chart:
    per starting bucket (in the report's order, best to worst), one bar per agency for the
    share of its cases that rolled forward to a worse bucket and one for the share cured
    (paid or current), in %; plus the report's rows for the table beside it."""
    order = [str(b) for b in report.get("bucket_order") or []]
    agencies = report.get("agencies") or []
    present = {str(row.get("bucket")) for a in agencies for row in a.get("buckets") or []}
    buckets = [b for b in order if b in present] + sorted(present - set(order),
                                                          key=bucket_order)
    series = []
    rows = []
    for agency in agencies:
        name = str(agency.get("agency_id"))
        by_bucket = {str(row.get("bucket")): row for row in agency.get("buckets") or []}
        series.append({
            "name": name,
            "roll_forward": [percent(by_bucket[b].get("roll_forward_rate"))
                             if b in by_bucket else None for b in buckets],
            "cure": [percent(by_bucket[b].get("cure_rate")) if b in by_bucket else None
                     for b in buckets]})
        for b in buckets:
            if b in by_bucket:
                row = by_bucket[b]
                rows.append({"agency_id": name, "bucket": b, "cases": row.get("cases"),
                             "balance": row.get("balance"), "to": row.get("to") or {},
                             "roll_forward_rate": percent(row.get("roll_forward_rate")),
                             "cure_rate": percent(row.get("cure_rate"))})
    return {"buckets": buckets, "series": series, "rows": rows,
            "timezone": report.get("timezone")}


def totals(agencies: Sequence[dict[str, Any]]) -> dict[str, Decimal | None]:
    """Placed, collected and the recovery rate over every agency."""
    placed = sum((Decimal(str(a.get("placed_amount") or 0)) for a in agencies), Decimal(0))
    collected = sum((Decimal(str(a.get("recovered_amount") or 0)) for a in agencies),
                    Decimal(0))
    return {"placed": placed, "collected": collected,
            "recovery_rate": (collected / placed).quantize(Decimal("0.0001")) if placed
            else None}


def bucket_order(bucket: str) -> tuple[int, str]:
    """M1, M2, ... M4+ in their natural order; other names after, alphabetically."""
    digits = "".join(c for c in bucket if c.isdigit())
    if bucket.upper().startswith("M") and digits:
        return int(digits), bucket
    return 10_000, bucket
