"""Service levels an agency owes on each case (the tender's timeliness rules), as of an instant.

The numbers are data (`ServiceLevelTerms`, defaults from the bank tender in DOMAIN.md), so a
contract can change them. Each service level is `met` (done by its due time), `breached` (not
done by then; `completed_at` says if it was done late), `pending` (not done, due later), or
`not_applicable` (nothing triggered it, or a hold took it away).

Readings of the tender (documented so an auditor can check them):

- Only facts from the case's current assignment count: contacts, escalations and visits before
  `assigned_at` (a previous agency's work) are ignored, and so is anything after `as_of`.
- An *attempt* is an outbound contact, whatever its outcome. The debtor is *reached* by a phone
  contact in either direction with party `debtor` and an outcome in `reached_outcomes` (default
  `conversation` only, as the brief says; a contract may add `refused`).
- first_action: the first outbound contact on any channel, within 2 hours of assignment.
- initial_calls: 3 outbound phone attempts within 7 days of assignment. It is counted literally
  (reaching the debtor on the first call does not waive the other two) unless the contract sets
  `reach_satisfies_initial_calls` (e.g. under Regulation F, which forbids calls for 7 days after
  a conversation).
- follow_up_calls: 2 more outbound phone attempts in the 15 days after the initial window, i.e.
  in (assigned + 7 d, assigned + 22 d]. It applies only if the first 3 attempts failed to reach
  the debtor: it is not applicable when the debtor was reached by phone at or before the 3rd
  attempt (or before the window opens, if fewer than 3 attempts were made by then). A late 3rd
  attempt made inside the follow-up window counts towards the follow-up calls too: they are the
  calls made in that window.
- field_visit_request: the debtor becomes *unreachable* at the outbound phone attempt after which
  either every number tried has its latest attempt ending `invalid_number`/`wrong_number`, or
  3 attempts in a row (since assignment or since the debtor was last reached) failed to reach
  the debtor (the "3 consecutive failed attempts" of the third-party rules). A `field_visit`
  escalation must be raised within 1 day of that attempt; one raised earlier in the assignment
  also satisfies it. If the debtor is reached again before the request was due and none was
  raised, that episode is moot and the next one (if any) is judged instead.
- field_visit: every `field_visit` escalation needs an outbound `visit` contact within 7 days
  after it (one service level per request).
- revisit: every outbound visit with outcome `debtor_not_found` needs another outbound visit
  within 7 days after it; a visit that met the debtor needs none, which ends the chain (there is
  no "declared untraceable" event yet: a recall or closure ends it).
- Holds (cease contact, dispute, recall, closure) make a service level that was not met
  `not_applicable` only if the hold began at or before its due time; a breach that happened
  before the hold stays a breach, and a met one stays met. Holds that began after `as_of` are
  ignored. A hold whose start is unknown (`since=None`: the read model keeps only a flag for
  disputes, recalls and closures) counts as having begun before every due time: a late
  accusation the data cannot support is worse than a missing one; the explanation says so.
- progress_entry ("progress is entered the same working day"): every contact of the assignment
  must reach the contact log (its event's `recorded_at`) before the end of the agency's
  calendar day on which it happened. Weekends and public holidays are not modelled: the
  working day is the calendar day. One status per case: breached if any contact was entered
  late (or, as of `as_of`, not yet entered after its day ended), pending if one is not yet
  entered and its day has not ended, met otherwise; not applicable without contacts.
  Contacts whose entry time the read model does not know (rows from before it kept it) are
  left out. Holds do not waive it: a contact made must be entered.
- Field visits as the case records them (VisitRequested ... VisitReported, issue 21), one
  status per requested visit of the assignment, each breach with a reason code:
  - visit_performed ("the visit happens within 1 week"): performed by `visit_by` (the
    request + 7 days, as the case set it); a performed visit is judged by the case's own
    `late` flag. Reason `visit_late`. A rejected visit owes nothing.
  - visit_approval: a non-urgent visit is approved before it is performed; an urgent one
    may be approved after the fact (not applicable). Pending until performed or approved;
    breached (`visit_not_approved`) when performed without an approval before it.
  - visit_report: the report of a performed visit is entered (`reported_at`) the same
    calendar day of the agency as the visit (its zone in force at `performed_at`). Reason
    `report_late`. Holds do not waive it: a visit made must be reported.
- event_report ("major events are reported within 30 minutes"): every major event of the
  assignment (a complaint received, a visit performed: domain/timeliness.py) reaches the log
  (its `recorded_at`) within 30 minutes of happening. One status per case: breached
  (`late_report`) if any came later, met otherwise; not applicable without major events.
  An event not yet in the log is not known here, so it is never pending. Holds do not
  waive it. A progress_entry breach carries the code `late_entry`.

Days and zones: each case is judged with its agency's `ZoneHistory` (domain/local_time.py).
A span of whole days (7 days, 1 day) is counted on the local wall clock of the zone in force
when the clock started; hours are elapsed time. "The same day" is the agency's calendar day
in the zone in force when the contact happened. Explanations show instants on the wall clock
of the zone in force at `as_of`, naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from contact_service.domain.local_time import (
    ONE_DAY,
    ZoneHistory,
    after,
    local_day,
    midnight,
    stamp,
)
from contact_service.domain.policy import (
    NUMBER_INVALID_OUTCOMES,
    Channel,
    Direction,
    Outcome,
    Party,
)
from contact_service.domain.timeliness import REPORT_WITHIN

ServiceLevel = Literal[
    "first_action", "initial_calls", "follow_up_calls", "field_visit_request", "field_visit",
    "revisit", "progress_entry", "visit_performed", "visit_approval", "visit_report",
    "event_report",
]
SERVICE_LEVELS: tuple[ServiceLevel, ...] = (
    "first_action", "initial_calls", "follow_up_calls", "field_visit_request", "field_visit",
    "revisit", "progress_entry", "visit_performed", "visit_approval", "visit_report",
    "event_report",
)
# The code a breach of each visit service level is reported with (others: the level's name).
BREACH_REASONS: dict[ServiceLevel, str] = {
    "visit_performed": "visit_late", "visit_approval": "visit_not_approved",
    "visit_report": "report_late", "progress_entry": "late_entry",
    "event_report": "late_report",
}
Status = Literal["met", "breached", "pending", "not_applicable"]
STATUSES: tuple[Status, ...] = ("met", "breached", "pending", "not_applicable")
EscalationKind = Literal["field_visit", "legal", "supervisor"]
HoldKind = Literal["cease_contact", "dispute", "recalled", "closed"]


@dataclass(frozen=True)
class ServiceLevelTerms:
    """A contract's service-level numbers; the defaults are the bank tender's."""

    first_action_within: timedelta = timedelta(hours=2)
    initial_calls: int = 3
    initial_calls_within: timedelta = timedelta(days=7)
    follow_up_calls: int = 2
    follow_up_calls_within: timedelta = timedelta(days=15)
    unreachable_after_failed_calls: int = 3
    field_visit_request_within: timedelta = timedelta(days=1)
    field_visit_within: timedelta = timedelta(days=7)
    revisit_within: timedelta = timedelta(days=7)
    reached_outcomes: frozenset[str] = frozenset({"conversation"})
    reach_satisfies_initial_calls: bool = False

    def __post_init__(self) -> None:
        counts = (self.initial_calls, self.follow_up_calls, self.unreachable_after_failed_calls)
        if min(counts) < 1:
            raise ValueError("call counts in service-level terms must be at least 1")
        spans = (self.first_action_within, self.initial_calls_within,
                 self.follow_up_calls_within, self.field_visit_request_within,
                 self.field_visit_within, self.revisit_within)
        if min(spans) <= timedelta(0):
            raise ValueError("service-level time limits must be positive")


DEFAULT_TERMS = ServiceLevelTerms()


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class ContactFact:
    """One recorded contact, as much of it as service levels need."""

    occurred_at: datetime
    channel: Channel
    direction: Direction
    party: Party
    outcome: Outcome
    contact_point: str | None = None
    recorded_at: datetime | None = None  # when it reached the log; None: not known

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", _aware(self.occurred_at, "occurred_at"))
        if self.recorded_at is not None:
            object.__setattr__(self, "recorded_at", _aware(self.recorded_at, "recorded_at"))

    @property
    def is_attempt(self) -> bool:
        """Outbound, whatever the outcome."""
        return self.direction == "outbound"


@dataclass(frozen=True)
class EscalationFact:
    """One escalation of the case."""

    kind: EscalationKind
    escalated_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "escalated_at", _aware(self.escalated_at, "escalated_at"))


@dataclass(frozen=True)
class VisitFact:
    """One field visit of the case as the case recorded it (VisitRequested ... Reported)."""

    visit_id: str
    urgent: bool
    requested_at: datetime
    visit_by: datetime
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    performed_at: datetime | None = None
    late: bool | None = None  # VisitPerformed.late: performed after visit_by
    reported_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("requested_at", "visit_by", "approved_at", "rejected_at", "performed_at",
                     "reported_at"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _aware(value, name))


@dataclass(frozen=True)
class ReportedEvent:
    """A major event of the case (a complaint received, a visit performed) and when it
    reached the log."""

    kind: str  # complaint_received | visit_performed
    ref: str  # the complaint or visit id
    occurred_at: datetime
    recorded_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", _aware(self.occurred_at, "occurred_at"))
        object.__setattr__(self, "recorded_at", _aware(self.recorded_at, "recorded_at"))


@dataclass(frozen=True)
class Hold:
    """Something that stops collection work; `since` None means in force, start unknown."""

    kind: HoldKind
    since: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None:
            object.__setattr__(self, "since", _aware(self.since, "since"))

    def describe(self, zone: str = "UTC") -> str:
        """The hold as a phrase, e.g. 'the case was closed (when is not recorded)'."""
        what = {"cease_contact": "the debtor asked to cease contact",
                "dispute": "the debt is under dispute",
                "recalled": "the creditor recalled the case",
                "closed": "the case was closed"}[self.kind]
        if self.since is None:
            return f"{what} (when is not recorded)"
        return f"{what} at {stamp(self.since, zone)}"


@dataclass(frozen=True)
class CaseFacts:
    """What a case's service levels are computed from."""

    case_id: str
    assigned_at: datetime
    contacts: Sequence[ContactFact] = ()
    escalations: Sequence[EscalationFact] = ()
    holds: Sequence[Hold] = ()
    visits: Sequence[VisitFact] = ()
    major_events: Sequence[ReportedEvent] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "assigned_at", _aware(self.assigned_at, "assigned_at"))


@dataclass(frozen=True)
class ServiceLevelStatus:
    """One service level of one case as of an instant, with a sentence saying why.

    `triggered_at` is the fact that started the clock, `completed_at` when the requirement was
    fulfilled (on time or late), `met_at` the same but only when on time, and `outstanding`
    whether the required action is still to be done and still worth doing.
    """

    service_level: ServiceLevel
    status: Status
    due_at: datetime | None
    explanation: str
    triggered_at: datetime | None = None
    met_at: datetime | None = None
    completed_at: datetime | None = None
    outstanding: bool = False
    requirement: str = ""  # what is asked, e.g. "3 outbound phone attempts within 7 days ..."

    @property
    def reason(self) -> str | None:
        """The code of a breach (`visit_late`, ...; else the level's name); None otherwise."""
        if self.status != "breached":
            return None
        return BREACH_REASONS.get(self.service_level, self.service_level)


def duration(span: timedelta) -> str:
    """A span as '2 days 3 hours' or '45 minutes' (rounded down to the minute)."""
    minutes = max(0, int(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [_plural(days, "day"), _plural(hours, "hour"), _plural(minutes, "minute")]
    shown = [p for p, n in zip(parts, (days, hours, minutes), strict=True) if n][:2]
    return " ".join(shown) or "0 minutes"


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


@dataclass(frozen=True)
class _Clock:
    """A requirement with a deadline: what it asks, when it started and when it is due."""

    level: ServiceLevel
    requirement: str  # "3 outbound phone attempts within 7 days of assignment"
    triggered_at: datetime
    due_at: datetime
    as_of: datetime
    done_at: datetime | None  # when it was fulfilled (maybe after due_at), None if not yet
    done_how: str = ""  # "the 3rd attempt"
    progress: str = ""  # "1 of 3 so far"
    zone: str = "UTC"  # the wall clock instants are shown on

    def judge(self) -> ServiceLevelStatus:
        """Met, breached (late or not done) or pending."""
        head = f"{self.requirement} (due {stamp(self.due_at, self.zone)})"
        done, due = self.done_at, self.due_at
        if done is not None and done <= due:
            status: Status = "met"
            text = f"{head}: met by {self.done_how} at {stamp(done, self.zone)}"
        elif done is not None:
            status = "breached"
            text = (f"{head}: breached; {self.done_how} came only at {stamp(done, self.zone)}, "
                    f"{duration(done - due)} late")
        elif self.as_of <= due:
            status = "pending"
            text = f"{head}: pending; {self.progress}, {duration(due - self.as_of)} left"
        else:
            status = "breached"
            text = (f"{head}: breached; {self.progress}, overdue by "
                    f"{duration(self.as_of - due)}")
        return ServiceLevelStatus(
            service_level=self.level, status=status, due_at=due, explanation=text,
            triggered_at=self.triggered_at, met_at=done if status == "met" else None,
            completed_at=done, outstanding=done is None, requirement=self.requirement)


def _not_applicable(level: ServiceLevel, requirement: str, why: str) -> ServiceLevelStatus:
    return ServiceLevelStatus(service_level=level, status="not_applicable", due_at=None,
                              explanation=why, requirement=requirement)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _Case:
    """One case's facts in the current assignment up to `as_of`, sorted, with the judgements."""

    def __init__(self, facts: CaseFacts, as_of: datetime, terms: ServiceLevelTerms,
                 zones: ZoneHistory):
        self.facts, self.as_of, self.terms, self.zones = facts, as_of, terms, zones
        self.zone = zones.at(as_of)  # the wall clock explanations are written on
        self.start = facts.assigned_at
        self.contacts = sorted((c for c in facts.contacts if self.in_scope(c.occurred_at)),
                               key=lambda c: c.occurred_at)
        self.phone = [c for c in self.contacts if c.channel == "phone"]
        self.calls = [c for c in self.phone if c.is_attempt]
        self.visits = [c for c in self.contacts if c.channel == "visit" and c.is_attempt]
        self.requests = sorted(e.escalated_at for e in facts.escalations
                               if e.kind == "field_visit" and self.in_scope(e.escalated_at))
        self.visit_facts = sorted((v for v in facts.visits if self.in_scope(v.requested_at)),
                                  key=lambda v: (v.requested_at, v.visit_id))

    def due(self, start: datetime, span: timedelta) -> datetime:
        """`span` after `start`: whole days on the wall clock of the zone in force at `start`."""
        return after(start, span, self.zones.at(start))

    def stamp(self, instant: datetime) -> str:
        """An instant on the wall clock of the zone in force at `as_of`."""
        return stamp(instant, self.zone)

    def in_scope(self, instant: datetime) -> bool:
        """Within the current assignment and known at `as_of`."""
        return self.start <= instant <= self.as_of

    def reached(self, contact: ContactFact) -> bool:
        """Whether this contact reached the debtor by phone."""
        return (contact.channel == "phone" and contact.party == "debtor"
                and contact.outcome in self.terms.reached_outcomes)

    def first_reach(self, after: datetime | None = None) -> datetime | None:
        """When the debtor was first reached by phone (strictly after `after`, if given)."""
        return next((c.occurred_at for c in self.phone if self.reached(c)
                     and (after is None or c.occurred_at > after)), None)

    # ------------------------------------------------------------------ the service levels

    def first_action(self) -> ServiceLevelStatus:
        t = self.terms
        first = next((c for c in self.contacts if c.is_attempt), None)
        return _Clock(
            "first_action", f"an outbound contact within {duration(t.first_action_within)} of "
            f"assignment at {self.stamp(self.start)}", self.start,
            self.due(self.start, t.first_action_within), self.as_of,
            first.occurred_at if first else None,
            done_how=f"the first outbound contact ({first.channel})" if first else "",
            progress="no outbound contact yet", zone=self.zone).judge()

    def initial_calls(self) -> ServiceLevelStatus:
        t = self.terms
        n = t.initial_calls
        due = self.due(self.start, t.initial_calls_within)
        done = self.calls[n - 1].occurred_at if len(self.calls) >= n else None
        how = f"the {_ordinal(n)} attempt"
        reach = self.first_reach()
        if t.reach_satisfies_initial_calls and reach is not None and (
                done is None or reach < done):
            done, how = reach, "reaching the debtor by phone"
        so_far = sum(1 for c in self.calls if c.occurred_at <= due)
        return _Clock(
            "initial_calls", f"{_plural(n, 'outbound phone attempt')} within "
            f"{duration(t.initial_calls_within)} of assignment at {self.stamp(self.start)}",
            self.start, due, self.as_of, done, done_how=how,
            progress=f"{so_far} of {n} so far", zone=self.zone).judge()

    def follow_up_calls(self) -> ServiceLevelStatus:
        t = self.terms
        opens = self.due(self.start, t.initial_calls_within)
        due = self.due(opens, t.follow_up_calls_within)
        n, first_n = t.follow_up_calls, t.initial_calls
        requirement = (f"{_plural(n, 'more outbound phone attempt')} between "
                       f"{self.stamp(opens)} and {self.stamp(due)}, owed when the first "
                       f"{_plural(first_n, 'attempt')} do not reach the debtor")
        nth = self.calls[first_n - 1].occurred_at if len(self.calls) >= first_n else None
        cutoff = min(nth, opens) if nth is not None else opens
        reach = self.first_reach()
        if reach is not None and reach <= cutoff:
            return _not_applicable("follow_up_calls", requirement, (
                f"the debtor was reached by phone at {self.stamp(reach)}, within the first "
                f"{_plural(first_n, 'attempt')}: no follow-up calls are owed"))
        if self.as_of < cutoff:
            return ServiceLevelStatus(
                service_level="follow_up_calls", status="pending", due_at=due,
                outstanding=True, triggered_at=None, requirement=requirement, explanation=(
                    f"{_plural(n, 'more outbound phone attempt')} between {self.stamp(opens)} and "
                    f"{self.stamp(due)} will be owed if the first {_plural(first_n, 'attempt')} do "
                    f"not reach the debtor ({len(self.calls)} made so far, none reached)"))
        later = [c for c in self.calls if c.occurred_at > opens]
        done = later[n - 1].occurred_at if len(later) >= n else None
        so_far = sum(1 for c in later if c.occurred_at <= due)
        return _Clock("follow_up_calls", requirement, opens, due, self.as_of, done,
                      done_how=f"the {_ordinal(n)} follow-up attempt",
                      progress=f"{so_far} of {n} so far", zone=self.zone).judge()

    def unreachable_since(self, after: datetime | None) -> tuple[datetime, str] | None:
        """The attempt (after `after`) at which the debtor became unreachable, and why."""
        needed = self.terms.unreachable_after_failed_calls
        streak = 0
        latest: dict[str | None, str] = {}
        for contact in self.phone:
            if after is not None and contact.occurred_at <= after:
                continue
            if self.reached(contact):
                streak, latest = 0, {}
                continue
            if not contact.is_attempt:
                continue
            streak += 1
            latest[contact.contact_point] = contact.outcome
            if all(outcome in NUMBER_INVALID_OUTCOMES for outcome in latest.values()):
                tried = _plural(len(latest), "number")
                return contact.occurred_at, f"every number tried ({tried}) is invalid"
            if streak >= needed:
                return contact.occurred_at, (f"{_plural(streak, 'phone attempt')} in a row "
                                             f"failed to reach the debtor")
        return None

    def field_visit_request(self) -> ServiceLevelStatus:
        t = self.terms
        within = duration(t.field_visit_request_within)
        since: datetime | None = None
        while True:
            found = self.unreachable_since(since)
            if found is None:
                why = ("the debtor has not been unreachable by phone" if since is None else
                       f"the debtor was reached again by phone at {self.stamp(since)} and has not "
                       f"been unreachable since")
                return _not_applicable(
                    "field_visit_request",
                    f"a field-visit request within {within} of the debtor becoming unreachable",
                    f"{why} (unreachable: every number tried invalid, or "
                    f"{_plural(t.unreachable_after_failed_calls, 'failed attempt')} in a row)")
            trigger, why = found
            due = self.due(trigger, t.field_visit_request_within)
            request = self.requests[0] if self.requests else None
            if request is None or request > due:
                reach = self.first_reach(after=trigger)
                if reach is not None and reach <= due:
                    since = reach  # moot: the debtor answered before a request was due
                    continue
            how = ("an earlier field-visit request" if request is not None
                   and request < trigger else "the field-visit request")
            status = _Clock(
                "field_visit_request", f"a field-visit request within {within} of the debtor "
                f"becoming unreachable at {self.stamp(trigger)} ({why})", trigger, due,
                self.as_of, request, done_how=how, progress="no field-visit request yet",
                zone=self.zone).judge()
            reach = self.first_reach(after=trigger)
            if status.outstanding and status.status == "breached" and reach is not None:
                # The breach stands, but there is nothing left to do: the debtor answered.
                return replace(status, outstanding=False, explanation=(
                    f"{status.explanation}; moot since the debtor was reached by phone at "
                    f"{self.stamp(reach)}"))
            return status

    def field_visits(self) -> list[ServiceLevelStatus]:
        t = self.terms
        if not self.requests:
            return [_not_applicable(
                "field_visit", f"a field visit within {duration(t.field_visit_within)} of each "
                "field-visit request", "no field visit has been requested")]
        statuses = []
        for requested in self.requests:
            visit = next((v for v in self.visits if v.occurred_at >= requested), None)
            statuses.append(_Clock(
                "field_visit", f"a field visit within {duration(t.field_visit_within)} of the "
                f"request at {self.stamp(requested)}", requested,
                self.due(requested, t.field_visit_within), self.as_of,
                visit.occurred_at if visit else None,
                done_how=f"a visit ({visit.outcome})" if visit else "",
                progress="no visit yet", zone=self.zone).judge())
        return statuses

    def revisits(self) -> list[ServiceLevelStatus]:
        t = self.terms
        not_found = [v for v in self.visits if v.outcome == "debtor_not_found"]
        if not not_found:
            return [_not_applicable(
                "revisit", f"another visit within {duration(t.revisit_within)} of each visit "
                "that did not find the debtor", "no visit has failed to find the debtor")]
        statuses = []
        for failed in not_found:
            again = next((v for v in self.visits if v.occurred_at > failed.occurred_at), None)
            statuses.append(_Clock(
                "revisit", f"another visit within {duration(t.revisit_within)} of the visit at "
                f"{self.stamp(failed.occurred_at)} that did not find the debtor",
                failed.occurred_at, self.due(failed.occurred_at, t.revisit_within), self.as_of,
                again.occurred_at if again else None,
                done_how=f"a new visit ({again.outcome})" if again else "",
                progress="no new visit yet", zone=self.zone).judge())
        return statuses

    def progress_entry(self) -> ServiceLevelStatus:
        """Every contact entered in the log before the end of the agency's day it happened."""
        requirement = ("every contact entered in the log the same day it happened (the "
                       "agency's calendar day)")
        judged = []  # (contact, its day's end, when entered as known at as_of)
        for c in self.contacts:
            if c.recorded_at is None:
                continue
            zone = self.zones.at(c.occurred_at)
            day_end = midnight(local_day(c.occurred_at, zone) + ONE_DAY, zone)
            judged.append((c, day_end, c.recorded_at if c.recorded_at <= self.as_of else None))
        if not judged:
            return _not_applicable("progress_entry", requirement,
                                   "no contact in this assignment yet")
        late = [j for j in judged if (j[2] is not None and j[2] > j[1])
                or (j[2] is None and self.as_of > j[1])]
        waiting = [j for j in judged if j[2] is None and self.as_of <= j[1]]
        contact, day_end, entered = (late or waiting or judged[-1:])[0]
        status = _Clock(
            "progress_entry", f"the {contact.channel} contact at "
            f"{self.stamp(contact.occurred_at)} entered in the log the same day it happened",
            contact.occurred_at, day_end, self.as_of, entered, done_how="its entry",
            progress="not entered yet", zone=self.zone).judge()
        counts = (f"{len(late)} of {_plural(len(judged), 'contact')} of this assignment "
                  f"entered late" if late else
                  f"every contact of this assignment so far ({len(judged)}) entered the same "
                  f"day" + (f", {len(waiting)} still to be entered today" if waiting else ""))
        # Nothing is left to do once the contact is in the log, even late.
        return replace(status, requirement=requirement,
                       explanation=f"{status.explanation} [{counts}]")

    def known(self, instant: datetime | None) -> datetime | None:
        """A visit's instant as known at `as_of` (None: not yet, or never)."""
        return instant if instant is not None and instant <= self.as_of else None

    def visits_performed(self) -> list[ServiceLevelStatus]:
        requirement = "each requested visit performed within 7 days of its request"
        if not self.visit_facts:
            return [_not_applicable("visit_performed", requirement,
                                    "no visit has been requested")]
        statuses = []
        for v in self.visit_facts:
            performed, rejected = self.known(v.performed_at), self.known(v.rejected_at)
            what = (f"visit {v.visit_id} requested at {self.stamp(v.requested_at)} performed "
                    f"by {self.stamp(v.visit_by)}")
            if performed is None and rejected is not None:
                statuses.append(_not_applicable("visit_performed", what, (
                    f"{what}: not owed; the visit was rejected at {self.stamp(rejected)}")))
                continue
            status = _Clock("visit_performed", what, v.requested_at, v.visit_by, self.as_of,
                            performed, done_how="the visit", progress="not performed yet",
                            zone=self.zone).judge()
            if performed is not None and v.late is not None:
                # The case decided whether it was late (VisitPerformed.late): that stands.
                status = replace(status, status="breached" if v.late else "met",
                                 met_at=None if v.late else performed)
            statuses.append(status)
        return statuses

    def visit_approvals(self) -> list[ServiceLevelStatus]:
        requirement = "each non-urgent visit approved before it is performed"
        if not self.visit_facts:
            return [_not_applicable("visit_approval", requirement,
                                    "no visit has been requested")]
        statuses = []
        for v in self.visit_facts:
            what = f"visit {v.visit_id} approved before it is performed"
            performed, approved = self.known(v.performed_at), self.known(v.approved_at)
            rejected = self.known(v.rejected_at)
            if v.urgent:
                statuses.append(_not_applicable("visit_approval", what, (
                    f"{what}: not required; an urgent visit may be approved after the fact")))
            elif approved is not None and (performed is None or approved <= performed):
                statuses.append(ServiceLevelStatus(
                    service_level="visit_approval", status="met", due_at=performed,
                    triggered_at=v.requested_at, met_at=approved, completed_at=approved,
                    requirement=what, explanation=f"{what}: met; approved at "
                    f"{self.stamp(approved)}"))
            elif performed is not None:
                late = (f"; approved only at {self.stamp(approved)}" if approved is not None
                        else "; never approved")
                statuses.append(ServiceLevelStatus(
                    service_level="visit_approval", status="breached", due_at=performed,
                    triggered_at=v.requested_at, completed_at=approved, requirement=what,
                    explanation=f"{what}: breached; performed at {self.stamp(performed)} "
                    f"without an approval before it{late}"))
            elif rejected is not None:
                statuses.append(_not_applicable("visit_approval", what, (
                    f"{what}: not owed; the visit was rejected at {self.stamp(rejected)}")))
            else:
                statuses.append(ServiceLevelStatus(
                    service_level="visit_approval", status="pending", due_at=None,
                    triggered_at=v.requested_at, outstanding=True, requirement=what,
                    explanation=f"{what}: pending; not approved yet, so it may not be "
                    f"performed yet"))
        return statuses

    def visit_reports(self) -> list[ServiceLevelStatus]:
        requirement = "each visit's report entered the same day as the visit (agency's day)"
        performed_visits = [v for v in self.visit_facts if self.known(v.performed_at)]
        if not performed_visits:
            return [_not_applicable("visit_report", requirement,
                                    "no visit has been performed")]
        statuses = []
        for v in performed_visits:
            assert v.performed_at is not None
            zone = self.zones.at(v.performed_at)
            day_end = midnight(local_day(v.performed_at, zone) + ONE_DAY, zone)
            statuses.append(_Clock(
                "visit_report", f"the report of visit {v.visit_id} performed at "
                f"{self.stamp(v.performed_at)} entered the same day", v.performed_at, day_end,
                self.as_of, self.known(v.reported_at), done_how="its report",
                progress="no report yet", zone=self.zone).judge())
        return statuses

    def event_report(self) -> ServiceLevelStatus:
        """Every major event of the assignment reported within 30 minutes."""
        within = duration(REPORT_WITHIN)
        requirement = f"every major event (complaint, visit) entered in the log within {within}"
        known = sorted((e for e in self.facts.major_events
                        if self.in_scope(e.occurred_at) and e.recorded_at <= self.as_of),
                       key=lambda e: (e.occurred_at, e.kind, e.ref))
        if not known:
            return _not_applicable("event_report", requirement,
                                   "no major event in this assignment yet")
        late = [e for e in known if e.recorded_at - e.occurred_at > REPORT_WITHIN]
        event = (late or known[-1:])[0]
        what = event.kind.replace("_", " ")
        status = _Clock(
            "event_report", f"the {what} {event.ref} at {self.stamp(event.occurred_at)} "
            f"entered in the log within {within}", event.occurred_at,
            event.occurred_at + REPORT_WITHIN, self.as_of, event.recorded_at,
            done_how="its entry", zone=self.zone).judge()
        counts = (f"{len(late)} of {_plural(len(known), 'major event')} entered late" if late
                  else f"every major event so far ({len(known)}) entered within {within}")
        return replace(status, requirement=requirement,
                       explanation=f"{status.explanation} [{counts}]")

    def all(self) -> list[ServiceLevelStatus]:
        return [self.first_action(), self.initial_calls(), self.follow_up_calls(),
                self.field_visit_request(), *self.field_visits(), *self.revisits(),
                self.progress_entry(), *self.visits_performed(), *self.visit_approvals(),
                *self.visit_reports(), self.event_report()]


# A hold stops collection work, not the duty to enter the work that was done.
HOLDS_DO_NOT_WAIVE: frozenset[ServiceLevel] = frozenset({"progress_entry", "visit_report",
                                                        "event_report"})


def _under_hold(status: ServiceLevelStatus, holds: Sequence[Hold], zone: str
                ) -> ServiceLevelStatus:
    if (status.status in ("met", "not_applicable") or status.due_at is None
            or status.service_level in HOLDS_DO_NOT_WAIVE):
        return status
    due = status.due_at
    hold = next((h for h in holds if h.since is None or h.since <= due), None)
    if hold is None:
        return status
    return replace(status, status="not_applicable", outstanding=False, explanation=(
        f"{status.requirement} (due {stamp(due, zone)}): no longer applies; "
        f"{hold.describe(zone)}, "
        f"before it fell due"))


def evaluate_service_levels(case: CaseFacts, as_of: datetime,
                            terms: ServiceLevelTerms = DEFAULT_TERMS, *, zones: ZoneHistory
                            ) -> list[ServiceLevelStatus]:
    """Every service level of a case as it stands at `as_of`, in SERVICE_LEVELS order, with
    days in the agency's zones (`zones`)."""
    as_of = _aware(as_of, "as_of")
    judged = _Case(case, as_of, terms, zones)
    statuses = judged.all()
    # Unknown starts first, then the earliest: the hold that explains the most.
    holds = sorted((h for h in case.holds if h.since is None or h.since <= as_of),
                   key=lambda h: (h.since is not None, h.since or as_of))
    return [_under_hold(status, holds, judged.zone) for status in statuses]

