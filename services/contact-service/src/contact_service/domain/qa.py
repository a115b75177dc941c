"""Monthly quality-control sampling, reproducible from a seed so auditors can re-derive it.

The tender's quality-control rules, per agency and month: review at least 15 % of call
recordings, check at least 30 % of field-visit records, call back at least 10 % of repaid
debtors. A month is a calendar month in the agency's time zone (`check_month_samplable`,
`month_bounds`), from its first midnight there to the next month's. Each rule samples one
*population* of ids:

- `recorded_calls`: phone contacts with a recording, identified by the contact's event id;
- `visit_records`: field-visit contacts (channel `visit`), identified by the contact's event id;
- `repaid_cases`: cases with money received in the month, net of reversals, identified by case id.

How a sample is drawn (`derive_sample`), so that anyone holding the seed and the population can
draw it again:

1. a population is a *set* of ids: duplicates are dropped, and the ids are sorted by code point;
2. the number drawn is ceil(size x rate), at least 1 when the population is not empty, at most
   the whole population (rates are Decimals, so 30 % of 10 is exactly 3, not 3.0000000000000004
   rounded up to 4);
3. the ids are drawn with `random.Random(f"{seed}:{population}").sample(sorted_ids, k)` and the
   selection is returned sorted;
4. each population's digest is the SHA-256 of its sorted ids, each followed by a newline; it is
   recorded with the sample so a later re-derivation can tell a changed population (a contact
   reported late, a payment reversed) from a tampered or mis-drawn selection.

The ten per cent of field visits a QA officer *accompanies* is an in-person activity decided
before the visit, not a selection from records, so it is not sampled here.

`random` with a string seed hashes the seed with SHA-512 (not the per-process `hash()`), so the
draw is stable across processes; `ALGORITHM` names the procedure and is stored with each sample
in case a future Python changes `Random.sample`.

Pure domain: no I/O.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from contact_service.domain.local_time import LocalWindow, ZoneHistory, midnight

RECORDED_CALLS = "recorded_calls"
VISIT_RECORDS = "visit_records"
REPAID_CASES = "repaid_cases"
POPULATIONS = (RECORDED_CALLS, VISIT_RECORDS, REPAID_CASES)

ALGORITHM = "qa-sample/v1: distinct ids sorted; random.Random('<seed>:<population>').sample"

# DOMAIN.md, quality control: serious findings are escalated within 24 hours.
SERIOUS_FINDING_ESCALATION = timedelta(hours=24)

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class QaError(ValueError):
    """A sampling request the QA rules cannot serve."""


class InvalidMonth(QaError):
    """A month that is not `YYYY-MM`, or that has not begun yet."""


class InvalidRates(QaError):
    """Sampling rates outside (0, 1], or for populations that do not exist."""


class UnknownPopulations(QaError):
    """Populations given for sampling that are not exactly the known ones."""


class ItemNotInSample(QaError):
    """A review of an item the sample did not draw."""


class ReviewIdConflict(QaError):
    """A review id already used for a different review."""


@dataclass(frozen=True)
class SamplingRates:
    """The minimum share of each population drawn for review (the tender's defaults)."""

    recorded_calls: Decimal = Decimal("0.15")
    visit_records: Decimal = Decimal("0.30")
    repaid_cases: Decimal = Decimal("0.10")

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, Decimal) or not value.is_finite() or not 0 < value <= 1:
                raise InvalidRates(f"{field.name} must be a Decimal in (0, 1], not {value!r}")

    def rate(self, population: str) -> Decimal:
        """The rate of one population."""
        if population not in POPULATIONS:
            raise UnknownPopulations(f"no population {population!r}")
        value: Decimal = getattr(self, population)
        return value

    def to_json(self) -> dict[str, str]:
        """Rates as decimal strings, for storage."""
        return {name: str(self.rate(name)) for name in POPULATIONS}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> SamplingRates:
        """Rates read back from `to_json`."""
        unknown = set(data) - set(POPULATIONS)
        if unknown:
            raise InvalidRates(f"rates for unknown populations: {sorted(unknown)}")
        try:
            return cls(**{name: Decimal(str(value)) for name, value in data.items()})
        except InvalidOperation:
            raise InvalidRates(f"rates must be decimal strings: {dict(data)}") from None


def sample_size(population_size: int, rate: Decimal) -> int:
    """How many to draw: ceil(size x rate), at least 1 from a non-empty population, at most all."""
    if population_size < 0:
        raise QaError("a population size cannot be negative")
    if population_size == 0:
        return 0
    wanted = int((Decimal(population_size) * rate).to_integral_value(rounding=ROUND_CEILING))
    return min(population_size, max(1, wanted))


def population_digest(ids: Iterable[str]) -> str:
    """SHA-256 (hex) of the distinct ids sorted by code point, each followed by a newline."""
    digest = hashlib.sha256()
    for item_id in sorted(set(ids)):
        digest.update(item_id.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def select(population: str, ids: Iterable[str], seed: str, rate: Decimal) -> tuple[str, ...]:
    """The ids drawn from one population for a seed, sorted."""
    ordered = sorted(set(ids))
    # Not for security: a seeded, reproducible draw is the point (auditors re-derive it).
    generator = random.Random(f"{seed}:{population}")  # noqa: S311
    return tuple(sorted(generator.sample(ordered, sample_size(len(ordered), rate))))


@dataclass(frozen=True)
class PopulationSample:
    """What was drawn from one population, with what an auditor needs to check the draw."""

    population: str
    size: int
    rate: Decimal
    digest: str
    selected: tuple[str, ...]

    @property
    def required(self) -> int:
        """The minimum the rate asks for from a population of this size."""
        return sample_size(self.size, self.rate)


@dataclass(frozen=True)
class Sample:
    """One QA sample: the seed, the rates, and the draw from each population."""

    seed: str
    rates: SamplingRates
    populations: Mapping[str, PopulationSample]
    algorithm: str = ALGORITHM


def _checked(populations: Mapping[str, Iterable[str]]) -> Mapping[str, Iterable[str]]:
    if set(populations) != set(POPULATIONS):
        raise UnknownPopulations(
            f"populations must be exactly {list(POPULATIONS)}, got {sorted(populations)}")
    return populations


def derive_sample(populations: Mapping[str, Iterable[str]], seed: str,
                  rates: SamplingRates | None = None) -> Sample:
    """Draw the sample for a seed from each population (ids; each population a set)."""
    if not seed:
        raise QaError("a sample needs a non-empty seed")
    rates = rates or SamplingRates()
    drawn: dict[str, PopulationSample] = {}
    for name, ids in _checked(populations).items():
        distinct = set(ids)
        rate = rates.rate(name)
        drawn[name] = PopulationSample(
            population=name, size=len(distinct), rate=rate,
            digest=population_digest(distinct), selected=select(name, distinct, seed, rate))
    return Sample(seed=seed, rates=rates, populations={n: drawn[n] for n in POPULATIONS})


@dataclass(frozen=True)
class PopulationCheck:
    """One population of a recorded sample compared with a re-derivation from today's data."""

    population: str
    recorded_size: int
    current_size: int
    recorded_digest: str
    current_digest: str
    population_unchanged: bool
    selection_matches: bool


@dataclass(frozen=True)
class Verification:
    """Whether a recorded sample is what its seed draws from the current populations."""

    matches: bool
    populations: Mapping[str, PopulationCheck]


def verify_sample(recorded: Sample, current_populations: Mapping[str, Iterable[str]]
                  ) -> Verification:
    """Re-derive a recorded sample from its seed and rates and compare, population by population.

    A changed digest means the population itself changed since the sample was drawn (the
    selection then differs for that reason); an unchanged digest with a different selection
    means the recorded selection is not what the seed draws.
    """
    again = derive_sample(current_populations, recorded.seed, recorded.rates)
    checks: dict[str, PopulationCheck] = {}
    for name in POPULATIONS:
        before, now = recorded.populations[name], again.populations[name]
        checks[name] = PopulationCheck(
            population=name, recorded_size=before.size, current_size=now.size,
            recorded_digest=before.digest, current_digest=now.digest,
            population_unchanged=before.digest == now.digest,
            selection_matches=tuple(sorted(before.selected)) == now.selected)
    matches = all(c.population_unchanged and c.selection_matches for c in checks.values())
    return Verification(matches=matches, populations=checks)


def month_days(month: str) -> tuple[date, date]:
    """The first day of a `YYYY-MM` month and the first day of the next (half-open)."""
    found = _MONTH.match(month)
    if found is None:
        raise InvalidMonth(f"month must be YYYY-MM (01-12), not {month!r}")
    year, number = int(found.group(1)), int(found.group(2))
    if year < 1:
        raise InvalidMonth(f"no year {year}")
    if number == 12:
        if year == 9999:
            raise InvalidMonth("month out of range")
        return date(year, 12, 1), date(year + 1, 1, 1)
    return date(year, number, 1), date(year, number + 1, 1)


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """The instants a `YYYY-MM` month starts and ends in a zone (half-open: the end is
    excluded), in UTC."""
    first, end = month_days(month)
    return midnight(first, zone), midnight(end, zone)


def check_month_samplable(month: str, now: datetime, zones: ZoneHistory) -> LocalWindow:
    """A month that may be sampled (a past month or the current one in the agency's zone),
    as the window of days it covers, read in the zone of the agency's last setting that took
    effect before the month ended."""
    window = zones.window(*month_days(month))
    if window.start > now:
        raise InvalidMonth(f"{month} has not begun yet in {window.timezone}; sample a past or "
                           "the current month")
    return window


def escalate_by(reviewed_at: datetime) -> datetime:
    """The latest time a serious finding reviewed at `reviewed_at` must be escalated."""
    return reviewed_at + SERIOUS_FINDING_ESCALATION
