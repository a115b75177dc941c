"""Contact rules as data: versioned policy packs and the engine that judges contacts against them.

A policy pack (China GB/T 45251-2025, US Regulation F, a bank's tender, ...) is a list of rules
loaded from JSON. The engine answers two questions with the same logic:

- `evaluate`: may the agency make this outbound contact now, and if not, when at the earliest?
- `violations`: which rules did a contact that already happened break? (It is recorded anyway and
  flagged; inbound contacts never break a rule.)

Definitions the rules share (judgments documented here so auditors can check them):

- an *attempt* is an outbound contact on one of the rule's channels, whatever its outcome;
- an *effective voice call* is an outbound phone call with outcome `conversation` and party
  `debtor` (a right-party conversation);
- an *unanswered call* is an outbound phone call with outcome `no_answer`, `busy` or `voicemail`;
- a *conversation* (quiet periods) is a phone contact with outcome `conversation` and party `debtor`
  in either direction: a call the debtor made still counts (CFPB Reg F FAQ on call frequency);
- a *failed attempt to reach the debtor* is an outbound phone call with party `none` or an outcome
  among `no_answer`, `busy`, `voicemail`, `wrong_number`, `invalid_number`; an attempt that reached
  the debtor (party `debtor`, e.g. `conversation` or `refused`) ends a run of failures, and calls
  that reached a third party are neither (they are what the rule permits) unless their outcome
  says the number was wrong;
- a number is *invalid* when its latest attempt had outcome `invalid_number` or `wrong_number`; the
  debtor is unreachable by number when every number tried has turned out invalid;
- a *day* in a daily cap is a calendar day in the debtor's time zone; rolling windows and quiet
  periods of D days are D x 24 hours; contact windows are half-open: 08:00-21:00 allows 08:00:00
  up to, not including, 21:00:00.

Pure domain: no I/O except `load_packs`, which reads a directory of JSON files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

Channel = Literal["phone", "sms", "email", "letter", "visit"]
Direction = Literal["outbound", "inbound"]
Party = Literal["debtor", "third_party", "none"]
Outcome = Literal[
    "conversation", "no_answer", "busy", "voicemail", "wrong_number", "invalid_number", "refused",
    "delivered", "undeliverable", "debtor_not_found", "debtor_met",
]
Scope = Literal["debtor", "debt", "number"]
Counts = Literal["attempts", "effective_voice", "unanswered"]

ALL_CHANNELS: tuple[Channel, ...] = ("phone", "sms", "email", "letter", "visit")
UNANSWERED_OUTCOMES = frozenset({"no_answer", "busy", "voicemail"})
NUMBER_INVALID_OUTCOMES = frozenset({"invalid_number", "wrong_number"})
FAILED_OUTCOMES = UNANSWERED_OUTCOMES | NUMBER_INVALID_OUTCOMES
MAX_SEARCH_STEPS = 20
SHIPPED_PACKS_DIR = Path(__file__).parent.parent / "policy_packs"


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class PolicyPackError(ValueError):
    """A policy pack file that cannot be used: the message names the file and the rule."""


class PackNotInForce(LookupError):
    """No version of the requested policy pack is in force at the given instant."""


class UnknownPolicyPack(LookupError):
    """A policy pack this service does not have."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- what the engine judges --------------------------------------------------------------------

class ContactRecord(_Value):
    """One contact as the contact log recorded it (occurred_at is normalised to UTC)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    contact_id: str
    case_id: str
    debtor_id: str
    channel: Channel
    direction: Direction
    party: Party
    outcome: Outcome
    contact_point: str | None = None
    occurred_at: UtcDatetime


_CHANNELS, _DIRECTIONS = frozenset(get_args(Channel)), frozenset(get_args(Direction))
_PARTIES, _OUTCOMES = frozenset(get_args(Party)), frozenset(get_args(Outcome))
_CONTACT_FIELDS = frozenset(ContactRecord.model_fields)
_CONTACT_FIELDS_BUT_POINT = _CONTACT_FIELDS - {"contact_point"}
_new, _set = object.__new__, object.__setattr__


def contact_record(row: Mapping[str, Any]) -> ContactRecord:
    """`ContactRecord.model_validate(row)` for a row as the contact log keeps it (texts,
    occurred_at as ISO text with an offset), built without pydantic's validation when every
    value is already what validation would accept and give back; anything else is
    validated as usual (judging thousands of contacts a second validates each once)."""
    try:
        values = {"contact_id": row["contact_id"], "case_id": row["case_id"],
                  "debtor_id": row["debtor_id"], "channel": row["channel"],
                  "direction": row["direction"], "party": row["party"],
                  "outcome": row["outcome"], "contact_point": row.get("contact_point"),
                  "occurred_at": row["occurred_at"]}
        occurred, point = values["occurred_at"], values["contact_point"]
        fit = (type(occurred) is str and (point is None or type(point) is str)
               and type(values["contact_id"]) is str and type(values["case_id"]) is str
               and type(values["debtor_id"]) is str
               and values["channel"] in _CHANNELS and values["direction"] in _DIRECTIONS
               and values["party"] in _PARTIES and values["outcome"] in _OUTCOMES)
        at = datetime.fromisoformat(occurred) if fit else None
    except (KeyError, TypeError, ValueError):
        at = None
    # Only the text `isoformat()` gives for an aware instant with a whole-minute offset: ISO
    # forms beyond it (week dates, basic format, hours alone) are refused by validation.
    if at is None or at.utcoffset() is None or len(occurred) not in (25, 32) \
            or at.isoformat() != occurred:
        return ContactRecord.model_validate(row)
    values["occurred_at"] = at.astimezone(UTC)
    record: ContactRecord = _new(ContactRecord)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__",
         _CONTACT_FIELDS if "contact_point" in row else _CONTACT_FIELDS_BUT_POINT)
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


class CaseContactState(_Value):
    """What the rules need to know about a case, as it stands at the instant judged."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    case_id: str
    debtor_id: str
    debtor_timezone: str
    cease_contact: bool = False
    cease_contact_at: UtcDatetime | None = None
    dispute_open: bool = False
    recalled: bool = False
    closed: bool = False

    @field_validator("debtor_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def timezone(self) -> ZoneInfo:
        """The debtor's time zone."""
        return ZoneInfo(self.debtor_timezone)


class ContactRequest(_Value):
    """An outbound contact a dialer or collector wants to make at `at`."""

    channel: Channel
    party: Party = "debtor"
    at: UtcDatetime
    contact_point: str | None = None
    direction: Literal["outbound"] = "outbound"


class Denial(_Value):
    """One rule saying no, with a sentence a collector or auditor can act on."""

    rule_id: str
    kind: str
    reason: str


class Decision(_Value):
    """The answer to a contact request; `earliest_allowed_at` is None when no time would do."""

    pack_id: str
    pack_version: int
    allowed: bool
    denials: list[Denial] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    earliest_allowed_at: UtcDatetime | None


# --- internal judgement plumbing ---------------------------------------------------------------

@dataclass(frozen=True)
class _Finding:
    denial: Denial
    lifted_at: datetime | None  # the earliest instant this rule stops saying no; None: never


@dataclass(frozen=True)
class _Verdict:
    findings: tuple[_Finding, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Probe:
    """One contact (requested or recorded) at one instant, with the history before it."""

    state: CaseContactState
    tz: ZoneInfo
    history: tuple[ContactRecord, ...]
    channel: Channel
    party: Party
    contact_point: str | None
    at: datetime
    fact: ContactRecord | None = None  # set when judging a contact that already happened
    extra_notes: list[str] = field(default_factory=list)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def stamp(self, instant: datetime) -> str:
        return f"{self.local(instant):%Y-%m-%d %H:%M} {self.state.debtor_timezone}"


def _make_probe(
    state: CaseContactState, history: Iterable[ContactRecord], *, channel: Channel, party: Party,
    contact_point: str | None, at: datetime, fact: ContactRecord | None = None,
) -> _Probe:
    skip = fact.contact_id if fact is not None else None
    # Sorted so that the result never depends on the order the caller happened to pass.
    past = sorted((r for r in history if r.occurred_at <= at and r.contact_id != skip),
                  key=lambda r: (r.occurred_at, r.contact_id))
    return _Probe(state=state, tz=state.timezone, history=tuple(past), channel=channel,
                  party=party, contact_point=contact_point, at=at, fact=fact)


@lru_cache(maxsize=256)
def _clock_time(text: str) -> time:
    """A window's "HH:MM" as a time of day (packs have a handful)."""
    return time.fromisoformat(text)


def _plural(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _start_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 maps a wall time inside a DST gap to the instant the gap ends, which is what we want.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _is_conversation(record: ContactRecord) -> bool:
    return (record.channel == "phone" and record.outcome == "conversation"
            and record.party == "debtor")


# --- rules -------------------------------------------------------------------------------------

class _Rule(_Value):
    id: str = Field(min_length=1)
    channels: tuple[Channel, ...] = ALL_CHANNELS
    description: str | None = None
    source: str | None = None  # the clause this rule implements, quoted in every denial

    @field_validator("channels")
    @classmethod
    def _some_channels(cls, value: tuple[Channel, ...]) -> tuple[Channel, ...]:
        if not value:
            raise ValueError("list at least one channel (leave the field out for all channels)")
        if len(set(value)) != len(value):
            raise ValueError("channels are listed more than once")
        return value

    def applies_to(self, channel: Channel) -> bool:
        """Whether contacts on this channel are subject to the rule."""
        return channel in self.channels

    def judge(self, probe: _Probe) -> _Verdict:  # pragma: no cover - every kind overrides it
        """Findings and advisory notes for one probe."""
        raise NotImplementedError

    def _deny(self, reason: str, lifted_at: datetime | None) -> _Finding:
        if self.source:
            reason = f"{reason} [{self.source}]"
        kind = str(getattr(self, "kind", "rule"))
        return _Finding(Denial(rule_id=self.id, kind=kind, reason=reason), lifted_at)


class CaseHoldRule(_Rule):
    """No outbound contact while the debt is disputed, or once the case is recalled or closed."""

    kind: Literal["case_hold"]

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny once per hold that applies; none of them ends by itself."""
        if not self.applies_to(probe.channel):
            return _Verdict()
        state, findings = probe.state, []
        if state.dispute_open:
            findings.append(self._deny(
                "the debtor disputes this debt: collection is on hold until the dispute is "
                "resolved", None))
        if state.recalled:
            findings.append(self._deny(
                "the creditor recalled this case: the agency may no longer work it", None))
        if state.closed:
            findings.append(self._deny("this case is closed", None))
        return _Verdict(tuple(findings))


class ContactWindowRule(_Rule):
    """Contacts only between `start` and `end` on the debtor's local clock."""

    kind: Literal["contact_window"]
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _start_before_end(self) -> ContactWindowRule:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny outside the window; it lifts at the next local window start."""
        if not self.applies_to(probe.channel):
            return _Verdict()
        local = probe.local(probe.at)
        start, end = _clock_time(self.start), _clock_time(self.end)
        if start <= local.time() < end:
            return _Verdict()
        day = local.date() if local.time() < start else local.date() + timedelta(days=1)
        lifted = self._next_start(day, start, probe)
        dash = "\N{EN DASH}"
        reason = (f"outside the contact window {self.start}{dash}{self.end} "
                  f"{probe.state.debtor_timezone} (it is {local:%H:%M} there)")
        return _Verdict((self._deny(reason, lifted),))

    @staticmethod
    def _next_start(day: date, start: time, probe: _Probe) -> datetime:
        # On a fall-back night the same wall time happens twice; take the first one still ahead.
        for candidate_day in (day, day + timedelta(days=1)):
            for fold in (0, 1):
                candidate = datetime.combine(candidate_day, start, tzinfo=probe.tz)
                instant = candidate.replace(fold=fold).astimezone(UTC)
                if instant > probe.at:
                    return instant
        raise AssertionError("unreachable: a window start two days ahead is in the future")


class _CapRule(_Rule):
    scope: Scope
    counts: Counts
    max: StrictInt = Field(ge=1)

    def _counted(self, record: ContactRecord) -> bool:
        if record.direction != "outbound" or record.channel not in self.channels:
            return False
        if self.counts == "attempts":
            return True
        if record.channel != "phone":
            return False
        if self.counts == "effective_voice":
            return record.outcome == "conversation" and record.party == "debtor"
        return record.outcome in UNANSWERED_OUTCOMES

    def _candidates(self, probe: _Probe) -> tuple[list[ContactRecord], Scope] | None:
        """The counted history in scope, or None when the probe is not subject to the cap."""
        if not self.applies_to(probe.channel):
            return None
        # Once the outcome is known, only a contact that itself counts can exceed the cap: an
        # unanswered fourth call does not break "at most 3 effective voice calls a day".
        if probe.fact is not None and not self._counted(probe.fact):
            return None
        scope = self.scope
        if scope == "number" and probe.contact_point is None:
            # Without the number we count all of the debtor's numbers: stricter, never looser.
            scope = "debtor"
            probe.extra_notes.append(
                f"rule {self.id}: no contact_point given, so every number of the debtor counts")
        state = probe.state
        counted = [r for r in probe.history if self._counted(r) and (
            (scope == "debtor" and r.debtor_id == state.debtor_id)
            or (scope == "debt" and r.case_id == state.case_id)
            or (scope == "number" and r.contact_point == probe.contact_point))]
        return counted, scope

    def _noun(self, n: int) -> str:
        if self.counts == "effective_voice":
            return _plural(n, "effective voice call")
        if self.counts == "unanswered":
            return _plural(n, "unanswered call")
        channels = "contact" if set(self.channels) == set(ALL_CHANNELS) else "/".join(self.channels)
        return _plural(n, f"{channels} attempt")

    @staticmethod
    def _scope_phrase(scope: Scope) -> str:
        return {"debtor": "for this debtor", "debt": "on this case",
                "number": "on this number"}[scope]


class DailyCapRule(_CapRule):
    """At most `max` counted contacts per local calendar day within a scope."""

    kind: Literal["daily_cap"]

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny when the day's count has reached `max`; it lifts at the next local midnight."""
        candidates = self._candidates(probe)
        if candidates is None:
            return _Verdict()
        counted, scope = candidates
        today = probe.local(probe.at).date()
        n = sum(1 for r in counted if probe.local(r.occurred_at).date() == today)
        if n < self.max:
            return _Verdict()
        reason = (f"{self._noun(n)} {self._scope_phrase(scope)} already on {today:%Y-%m-%d} "
                  f"{probe.state.debtor_timezone} (at most {self.max} a day)")
        lifted = _start_of_local_day(today + timedelta(days=1), probe.tz)
        return _Verdict((self._deny(reason, lifted),))


class RollingCapRule(_CapRule):
    """At most `max` counted contacts within any `window_days` days (a rolling window)."""

    kind: Literal["rolling_cap"]
    window_days: StrictInt = Field(ge=1)

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny at `max`; it lifts when enough of the oldest counted contacts leave the window."""
        candidates = self._candidates(probe)
        if candidates is None:
            return _Verdict()
        counted, scope = candidates
        window = timedelta(days=self.window_days)
        inside = [r.occurred_at for r in counted if r.occurred_at > probe.at - window]
        n = len(inside)
        if n < self.max:
            return _Verdict()
        lifted = sorted(inside)[n - self.max] + window
        reason = (f"{self._noun(n)} {self._scope_phrase(scope)} in the {self.window_days} days up "
                  f"to {probe.stamp(probe.at)} (at most {self.max} in {self.window_days} days; "
                  f"the next is allowed from {probe.stamp(lifted)})")
        return _Verdict((self._deny(reason, lifted),))


class QuietAfterConversationRule(_Rule):
    """No contact for `days` days after a phone conversation with the debtor."""

    kind: Literal["quiet_after_conversation"]
    days: StrictInt = Field(ge=1)
    scope: Literal["debtor", "debt"] = "debtor"

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny within the quiet period; it lifts `days` days after the latest conversation."""
        if not self.applies_to(probe.channel):
            return _Verdict()
        state, period = probe.state, timedelta(days=self.days)
        talks = [r.occurred_at for r in probe.history if _is_conversation(r)
                 and r.occurred_at > probe.at - period
                 and (r.case_id == state.case_id if self.scope == "debt"
                      else r.debtor_id == state.debtor_id)]
        if not talks:
            return _Verdict()
        latest = max(talks)
        lifted = latest + period
        about = " about this debt" if self.scope == "debt" else ""
        reason = (f"a phone conversation with the debtor{about} at {probe.stamp(latest)}: no "
                  f"{'/'.join(self.channels)} contact for {_plural(self.days, 'day')} after it "
                  f"(until {probe.stamp(lifted)})")
        return _Verdict((self._deny(reason, lifted),))


class Unreachable(_Value):
    """When the debtor counts as unreachable; either condition is enough."""

    failed_attempts_in_a_row: StrictInt | None = Field(default=None, ge=1)
    number_invalid: StrictBool = False

    @model_validator(mode="after")
    def _some_condition(self) -> Unreachable:
        if self.failed_attempts_in_a_row is None and not self.number_invalid:
            raise ValueError("give failed_attempts_in_a_row and/or number_invalid: true")
        return self


LOCATION_ONLY_NOTE = ("third party: ask only for the debtor's location information (address, "
                      "phone number, place of work); do not say that the debtor owes a debt")


class ThirdPartyRule(_Rule):
    """Whether and how third parties may be contacted about the debtor."""

    kind: Literal["third_party"]
    unreachable_when: Unreachable | None = None
    location_only: StrictBool = False
    note: str | None = None

    @model_validator(mode="after")
    def _says_something(self) -> ThirdPartyRule:
        if self.unreachable_when is None and not self.location_only and self.note is None:
            raise ValueError("give unreachable_when, location_only: true, or a note")
        return self

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny third-party contact while the debtor is reachable; otherwise add the advisory."""
        if probe.party != "third_party" or not self.applies_to(probe.channel):
            return _Verdict()
        notes: list[str] = []
        condition = self.unreachable_when
        if condition is not None:
            tries = [r for r in probe.history
                     if r.debtor_id == probe.state.debtor_id and r.direction == "outbound"
                     and r.channel == "phone"
                     and (r.party != "third_party" or r.outcome in NUMBER_INVALID_OUTCOMES)]
            streak = 0
            for record in reversed(tries):
                if record.party != "none" and record.outcome not in FAILED_OUTCOMES:
                    break
                streak += 1
            latest_per_number = {r.contact_point: r.outcome for r in tries}  # history is sorted
            numbers_invalid = bool(latest_per_number) and all(
                outcome in NUMBER_INVALID_OUTCOMES for outcome in latest_per_number.values())
            needed = condition.failed_attempts_in_a_row
            by_streak = needed is not None and streak >= needed
            by_number = condition.number_invalid and numbers_invalid
            if not (by_streak or by_number):
                reasons = []
                if needed is not None:
                    reasons.append(f"{_plural(streak, 'failed attempt')} in a row to reach the "
                                   f"debtor by phone (needs {needed})")
                if condition.number_invalid:
                    reasons.append("no number of the debtor has turned out invalid"
                                   if not any(o in NUMBER_INVALID_OUTCOMES
                                              for o in latest_per_number.values())
                                   else "not every number of the debtor has turned out invalid")
                reason = ("third parties may be contacted only when the debtor is unreachable: "
                          + " and ".join(reasons))
                return _Verdict((self._deny(reason, None),))
            notes.append(f"debtor unreachable ({_plural(streak, 'failed attempt')} in a row"
                         + (", every number invalid" if numbers_invalid else "") + ")")
        if self.location_only:
            notes.append(LOCATION_ONLY_NOTE)
        if self.note:
            notes.append(self.note)
        return _Verdict(notes=tuple(notes))


class CeaseContactRule(_Rule):
    """After the debtor asked to cease contact, only `allowed_channels` (notices) remain."""

    kind: Literal["cease_contact"]
    allowed_channels: tuple[Channel, ...] = ()
    note: str | None = None

    def judge(self, probe: _Probe) -> _Verdict:
        """Deny every other channel from the request on; it never lifts by itself."""
        state = probe.state
        in_force = state.cease_contact and (
            state.cease_contact_at is None or probe.at >= state.cease_contact_at)
        if not in_force or not self.applies_to(probe.channel):
            return _Verdict()
        since = f" on {probe.stamp(state.cease_contact_at)}" if state.cease_contact_at else ""
        if probe.channel in self.allowed_channels:
            note = self.note or (f"the debtor asked to cease contact{since}: send only the "
                                 f"notices the law still allows")
            return _Verdict(notes=(note,))
        allowed = "/".join(self.allowed_channels) or "nothing"
        reason = (f"the debtor asked to cease contact{since}: from then on only {allowed} is "
                  f"allowed, not {probe.channel}")
        return _Verdict((self._deny(reason, None),))


Rule = Annotated[
    CaseHoldRule | ContactWindowRule | DailyCapRule | RollingCapRule | QuietAfterConversationRule
    | ThirdPartyRule | CeaseContactRule,
    Field(discriminator="kind"),
]
RULE_KINDS: tuple[str, ...] = tuple(
    get_args(cls.model_fields["kind"].annotation)[0] for cls in get_args(get_args(Rule)[0]))


class PolicyPack(_Value):
    """One version of a named set of contact rules, in force from `effective_from` on."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: StrictInt = Field(ge=1)
    effective_from: UtcDatetime
    title: str = Field(min_length=1)
    sources: tuple[str, ...]
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> PolicyPack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used more than once")
            seen.add(rule.id)
        return self


# --- the engine --------------------------------------------------------------------------------

def _judge(pack: PolicyPack, probe: _Probe) -> _Verdict:
    findings: list[_Finding] = []
    notes: list[str] = []
    for rule in pack.rules:
        verdict = rule.judge(probe)
        findings.extend(verdict.findings)
        notes.extend(verdict.notes)
    return _Verdict(tuple(findings), tuple([*notes, *probe.extra_notes]))


def evaluate(
    pack: PolicyPack, state: CaseContactState, history: Sequence[ContactRecord],
    request: ContactRequest,
) -> Decision:
    """Whether `request` is allowed under `pack`, why not, and the earliest instant it would be."""
    def probe_at(at: datetime) -> _Probe:
        return _make_probe(state, history, channel=request.channel, party=request.party,
                           contact_point=request.contact_point, at=at)

    verdict = _judge(pack, probe_at(request.at))
    notes = list(dict.fromkeys(verdict.notes))
    denials = [f.denial for f in verdict.findings]
    earliest: datetime | None = request.at
    current = verdict
    for _ in range(MAX_SEARCH_STEPS):
        if not current.findings:
            break
        lifts = [f.lifted_at for f in current.findings]
        if any(lift is None for lift in lifts):
            earliest = None
            break
        assert earliest is not None
        # Waiting for the last rule to let go is the least wait; re-judge there, since another
        # rule (the window, say) may say no at that instant.
        step = max(lift for lift in lifts if lift is not None)
        earliest = step if step > earliest else earliest + timedelta(seconds=1)
        current = _judge(pack, probe_at(earliest))
    else:
        if current.findings:
            earliest = None
            notes.append(f"no allowed time found within {MAX_SEARCH_STEPS} steps")
    return Decision(pack_id=pack.id, pack_version=pack.version, allowed=not denials,
                    denials=denials, notes=notes, earliest_allowed_at=earliest)


def violations(
    pack: PolicyPack, state: CaseContactState, history_before: Sequence[ContactRecord],
    contact: ContactRecord,
) -> list[Denial]:
    """The rules a contact that already happened broke, given the history recorded before it.

    `state` is the case as it stood when the contact happened. Inbound contacts break nothing.
    """
    if contact.direction != "outbound":
        return []
    probe = _make_probe(state, history_before, channel=contact.channel, party=contact.party,
                        contact_point=contact.contact_point, at=contact.occurred_at, fact=contact)
    return [f.denial for f in _judge(pack, probe).findings]


# --- packs: parsing, versions, loading ---------------------------------------------------------

def _describe_error(error: Any, raw: Any) -> str:
    loc = tuple(error["loc"])
    where, rest = "pack", loc
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        rule_raw = raw["rules"][index] if isinstance(raw, dict) else None
        rule_id = rule_raw.get("id") if isinstance(rule_raw, dict) else None
        where = f"rule {rule_id!r} (#{index + 1})" if rule_id else f"rule #{index + 1}"
        rest = loc[2:]
        if rest and isinstance(rule_raw, dict) and rest[0] == rule_raw.get("kind"):
            rest = rest[1:]  # drop the union tag pydantic puts in the location
        if error["type"] == "union_tag_invalid":
            kind = rule_raw.get("kind") if isinstance(rule_raw, dict) else None
            return f"{where}: unknown rule kind {kind!r} (known: {', '.join(RULE_KINDS)})"
        if error["type"] == "union_tag_not_found":
            return f"{where}: missing field 'kind'"
    name = ".".join(str(part) for part in rest)
    if error["type"] == "missing":
        return f"{where}: missing field {name!r}"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field {name!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {name}: {message}" if name else f"{where}: {message}"


def parse_pack(text: str, source: str) -> PolicyPack:
    """Parse one policy pack from JSON text; `source` (a file name) is quoted in every error."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyPackError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyPackError(f"{source}: a policy pack is a JSON object")
    try:
        return PolicyPack.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(_describe_error(e, raw) for e in exc.errors())
        raise PolicyPackError(f"{source}: {details}") from exc


class PackRegistry:
    """Every version of every policy pack; versions are added, never edited."""

    def __init__(self, packs: Iterable[PolicyPack] = ()) -> None:
        by_id: dict[str, list[PolicyPack]] = {}
        for pack in packs:
            by_id.setdefault(pack.id, []).append(pack)
        for pack_id, versions in by_id.items():
            versions.sort(key=lambda p: p.version)
            for older, newer in pairwise(versions):
                if older.version == newer.version:
                    raise PolicyPackError(
                        f"policy pack {pack_id!r} has version {newer.version} twice")
                # A later version that took effect earlier would rewrite history: refuse it.
                if newer.effective_from <= older.effective_from:
                    raise PolicyPackError(
                        f"policy pack {pack_id!r}: version {newer.version} takes effect at "
                        f"{newer.effective_from.isoformat()}, not after version {older.version} "
                        f"({older.effective_from.isoformat()})")
        self._by_id = {pack_id: tuple(v) for pack_id, v in by_id.items()}

    @property
    def pack_ids(self) -> tuple[str, ...]:
        """The ids of all packs held, sorted."""
        return tuple(sorted(self._by_id))

    def versions(self, pack_id: str) -> tuple[PolicyPack, ...]:
        """All versions of one pack, oldest first."""
        if pack_id not in self._by_id:
            raise PackNotInForce(
                f"unknown policy pack {pack_id!r} (known: {', '.join(self.pack_ids) or 'none'})")
        return self._by_id[pack_id]

    def get(self, pack_id: str, version: int) -> PolicyPack:
        """One exact version of a pack (to replay a recorded decision)."""
        for pack in self.versions(pack_id):
            if pack.version == version:
                return pack
        raise PackNotInForce(f"policy pack {pack_id!r} has no version {version}")

    def in_force(self, pack_id: str, at: datetime) -> PolicyPack:
        """The version of `pack_id` in force at `at`: the latest whose effective_from <= at."""
        if at.tzinfo is None:
            raise ValueError("`at` must be timezone-aware")
        versions = self.versions(pack_id)
        current = [p for p in versions if p.effective_from <= at]
        if not current:
            raise PackNotInForce(
                f"policy pack {pack_id!r} is not in force at {at.astimezone(UTC).isoformat()}: "
                f"its first version takes effect at {versions[0].effective_from.isoformat()}")
        return current[-1]


def load_packs(directory: Path) -> PackRegistry:
    """Read every `*.json` policy pack in `directory` into a registry."""
    if not directory.is_dir():
        raise PolicyPackError(f"{directory}: not a directory of policy packs")
    seen: dict[tuple[str, int], str] = {}
    packs = []
    for path in sorted(directory.glob("*.json")):
        pack = parse_pack(path.read_text(encoding="utf-8"), source=path.name)
        key = (pack.id, pack.version)
        if key in seen:
            raise PolicyPackError(
                f"{path.name}: policy pack {pack.id!r} version {pack.version} is also in "
                f"{seen[key]}")
        seen[key] = path.name
        packs.append(pack)
    return PackRegistry(packs)
