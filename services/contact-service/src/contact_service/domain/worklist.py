"""An agent's day: what to do on which case, most urgent first, each with a reason.

Priority (rank 1 first; within a rank, the earliest due first):
1. service levels breached and still outstanding (not done, not moot);
2. service levels pending and due on the day;
3. open promises falling due on the day or the next;
4. promises to follow up: broken ones, and open ones whose due date has passed (not yet marked
   kept or broken), when no contact with the case has happened since;
5. visits due: field visits and revisits pending with a due date after the day (the ones due
   on the day are already in rank 2).

A case under cease-contact, with a dispute open, recalled or closed never appears: the worklist
is a list of contacts to make, and none may be made on such a case.

Days: the worklist's day is a calendar day in the agency's zone (given with it); a service
level is "due on the day" when its due time falls on or before that day on the agency's wall
clock. A promise's due date is a day where the debtor lives (the case service breaks it at
the end of that day there): "today" and "tomorrow" for a promise are the debtor's days at the
instant the worklist is judged, and an unpaid promise is overdue from the end of its due day
in the debtor's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from contact_service.domain.local_time import ONE_DAY, local_day, midnight, stamp
from contact_service.domain.service_levels import ServiceLevel, ServiceLevelStatus

WorkKind = Literal[
    "service_level_overdue", "service_level_due", "promise_due", "promise_follow_up",
    "visit_due",
]
PRIORITY: dict[WorkKind, int] = {
    "service_level_overdue": 1, "service_level_due": 2, "promise_due": 3,
    "promise_follow_up": 4, "visit_due": 5,
}
VISIT_SERVICE_LEVELS: frozenset[ServiceLevel] = frozenset({"field_visit", "revisit",
                                                          "visit_performed"})
ACTION: dict[ServiceLevel, str] = {
    "first_action": "make the first contact",
    "initial_calls": "make the remaining initial calls",
    "follow_up_calls": "make the follow-up calls",
    "field_visit_request": "raise a field-visit request",
    "field_visit": "visit the debtor",
    "revisit": "visit the debtor again",
    "progress_entry": "enter the contact in the log",
    "visit_performed": "perform the requested visit",
    "visit_approval": "have the visit approved before performing it",
    "visit_report": "enter the visit's report",
    "event_report": "report the major event",
}
PromiseState = Literal["open", "kept", "broken"]


@dataclass(frozen=True)
class PromiseFact:
    """A promise to pay as the contact log holds it."""

    promise_id: str
    amount: Decimal
    due_date: date
    state: PromiseState
    settled_at: datetime | None = None  # when it was marked kept or broken


@dataclass(frozen=True)
class CaseWork:
    """One case with what the worklist is built from."""

    case_id: str
    debtor_timezone: str  # promise due dates are the debtor's days
    service_levels: Sequence[ServiceLevelStatus] = ()
    promises: Sequence[PromiseFact] = ()
    last_contact_at: datetime | None = None  # the latest contact of any kind, either direction
    cease_contact: bool = False
    dispute_open: bool = False
    recalled: bool = False
    closed: bool = False

    @property
    def workable(self) -> bool:
        """Whether agents may work the case at all."""
        return not (self.cease_contact or self.dispute_open or self.recalled or self.closed)


@dataclass(frozen=True)
class WorkItem:
    """One thing to do on one case, and why."""

    priority: int
    case_id: str
    kind: WorkKind
    reason: str
    due_at: datetime | None
    service_level: ServiceLevel | None = None
    promise_id: str | None = None


def _item(kind: WorkKind, case_id: str, reason: str, due_at: datetime | None, *,
          service_level: ServiceLevel | None = None, promise_id: str | None = None) -> WorkItem:
    return WorkItem(priority=PRIORITY[kind], case_id=case_id, kind=kind, reason=reason,
                    due_at=due_at, service_level=service_level, promise_id=promise_id)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _service_level_items(case: CaseWork, day: date, zone: str) -> list[WorkItem]:
    items = []
    for sl in case.service_levels:
        if not sl.outstanding or sl.due_at is None:
            continue
        action = ACTION[sl.service_level]
        due = sl.due_at.astimezone(UTC)
        if sl.status == "breached":
            items.append(_item("service_level_overdue", case.case_id, (
                f"Overdue since {stamp(due, zone)}: {action}. {_sentence(sl.explanation)}"), due,
                service_level=sl.service_level))
        elif sl.status == "pending" and local_day(due, zone) <= day:
            items.append(_item("service_level_due", case.case_id, (
                f"Due today, by {stamp(due, zone)}: {action}. {_sentence(sl.explanation)}"),
                due, service_level=sl.service_level))
        elif sl.status == "pending" and sl.service_level in VISIT_SERVICE_LEVELS:
            items.append(_item("visit_due", case.case_id, (
                f"Visit due by {stamp(due, zone)}: {action}. {_sentence(sl.explanation)}"),
                due, service_level=sl.service_level))
    return items


def _promise_items(case: CaseWork, as_of: datetime, zone: str) -> list[WorkItem]:
    items = []
    last = case.last_contact_at
    debtor_zone = case.debtor_timezone
    today = local_day(as_of, debtor_zone)  # the debtor's day when the worklist is judged
    for p in case.promises:
        what = f"Promise {p.promise_id} of {p.amount}"
        ends = midnight(p.due_date + ONE_DAY, debtor_zone)  # when an unpaid one is broken
        if p.state == "open" and today <= p.due_date <= today + ONE_DAY:
            when = "today" if p.due_date == today else "tomorrow"
            items.append(_item("promise_due", case.case_id, (
                f"{what} falls due {when} ({p.due_date.isoformat()}): remind the debtor."),
                ends, promise_id=p.promise_id))
        elif p.state == "open" and p.due_date < today:
            overdue_from = ends
            if last is None or last < overdue_from:
                items.append(_item("promise_follow_up", case.case_id, (
                    f"{what} was due {p.due_date.isoformat()} and is not recorded as kept; "
                    f"no contact since: follow up with the debtor."), overdue_from,
                    promise_id=p.promise_id))
        elif p.state == "broken":
            broken_at = p.settled_at or ends
            if last is None or last < broken_at:
                items.append(_item("promise_follow_up", case.case_id, (
                    f"{what} due {p.due_date.isoformat()} was broken at "
                    f"{stamp(broken_at, zone)}; "
                    f"no contact since: follow up with the debtor."), broken_at,
                    promise_id=p.promise_id))
    return items


_LATEST = datetime.max.replace(tzinfo=UTC)


def in_priority_order(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Items by rank, then earliest due (undated last), then case: a stable, total order."""
    return sorted(items, key=lambda i: (i.priority, i.due_at or _LATEST, i.case_id, i.kind,
                                        i.service_level or "", i.promise_id or ""))


def build_worklist(cases: Iterable[CaseWork], day: date, *, zone: str,
                   as_of: datetime | None = None) -> list[WorkItem]:
    """The work items of `day` (a calendar day in `zone`, the agency's) for these cases, in
    priority order (held cases left out), judged at `as_of` (default: the day's start)."""
    as_of = midnight(day, zone) if as_of is None else as_of.astimezone(UTC)
    items: list[WorkItem] = []
    for case in cases:
        if not case.workable:
            continue
        items += _service_level_items(case, day, zone)
        items += _promise_items(case, as_of, zone)
    return in_priority_order(items)
