"""Use cases: the case list, a page at a time, each case with its DPD and bucket today; a
creditor's cases in placement order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from case_service.application.allocation import today
from case_service.application.cases import CaseApplication
from case_service.application.errors import InvalidCurrentBucket
from case_service.domain.allocation import AllocationRules
from case_service.domain.values import CURRENT, PAID


def list_cases(app: CaseApplication, *, filters: dict[str, str | None], after: int, limit: int,
               current_bucket: str | None = None
               ) -> tuple[list[dict[str, Any]], int | None, dict[str, Any] | None]:
    """A page of case summaries, each with its DPD and bucket today (its creditor's today
    and bucket scheme), and the cursor of the next page. `current_bucket` (a bucket of
    the creditor's scheme, or `paid`) needs `creditor_id` in `filters`; the third value
    then says which day and zone the bucket was judged on."""
    owing: bool | None = None
    since: tuple[str | None, str | None] = (None, None)
    judged: dict[str, Any] | None = None
    if current_bucket is not None:
        creditor_id = filters.get("creditor_id")
        if creditor_id is None:
            raise InvalidCurrentBucket("current_bucket needs creditor_id: buckets are a "
                                       "creditor's")
        day, zone, rules = today(app, creditor_id)
        judged = {"on": day.isoformat(), "timezone": zone}
        if current_bucket == PAID:
            owing = False
        else:
            scheme = {r.name: r for r in rules.bucket_scheme}
            if current_bucket not in scheme:
                raise InvalidCurrentBucket(f"{current_bucket!r} is not a bucket of "
                                           f"{creditor_id}'s scheme: {[*scheme, PAID]}")
            bucket = scheme[current_bucket]
            owing = True
            since = (None if bucket.max_dpd is None
                     else (day - timedelta(days=bucket.max_dpd)).isoformat(),
                     (day - timedelta(days=bucket.min_dpd)).isoformat())
    rows, next_cursor = app.store.list_summaries(
        filters=filters, after=after, limit=limit, owing=owing, delinquent_since=since)
    schemes: dict[str, tuple[date, AllocationRules]] = {}
    for row in rows:
        creditor = row["creditor_id"]
        if creditor not in schemes:
            creditor_day, _, rules = today(app, creditor)
            schemes[creditor] = (creditor_day, rules)
        creditor_day, rules = schemes[creditor]
        row.update(aging_today(row, creditor_day, rules))
    return rows, next_cursor, judged


def aging_today(row: dict[str, Any], day: date, rules: AllocationRules) -> dict[str, Any]:
    """A case-list row's DPD and bucket today, from what the list holds (the day it became
    delinquent, what is outstanding now)."""
    if row.get("delinquent_since") is None:  # written before aging was recorded
        return {"dpd_today": None, "bucket_today": None}
    if Decimal(row["outstanding"]) <= 0:
        return {"dpd_today": 0, "bucket_today": PAID}
    dpd = max((day - date.fromisoformat(row["delinquent_since"])).days, 0)
    return {"dpd_today": dpd, "bucket_today": rules.bucket(dpd) or CURRENT}


def case_ids_of(app: CaseApplication, creditor_id: str) -> list[str]:
    """Every case of a creditor, in placement order."""
    return [row["case_id"] for row in _creditor_rows(app, creditor_id)]


def case_ids_placed(app: CaseApplication, creditor_id: str, since: str, until: str
                    ) -> list[str]:
    """A creditor's cases placed in [since, until) (ISO dates), in placement order."""
    return [row["case_id"] for row in _creditor_rows(app, creditor_id)
            if since <= row["placed_at"][:10] < until]


def _creditor_rows(app: CaseApplication, creditor_id: str) -> list[dict[str, Any]]:
    found, cursor = [], 0
    while True:
        rows, next_cursor = app.store.list_summaries(
            filters={"creditor_id": creditor_id}, after=cursor, limit=1000)
        found += rows
        if next_cursor is None:
            return found
        cursor = next_cursor
