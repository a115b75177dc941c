"""QA sampling: rates, reproducibility from a seed, digests, verification, months."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from contact_service.domain.local_time import ZoneHistory
from contact_service.domain.qa import (
    POPULATIONS,
    RECORDED_CALLS,
    REPAID_CASES,
    VISIT_RECORDS,
    InvalidMonth,
    InvalidRates,
    QaError,
    Sample,
    SamplingRates,
    UnknownPopulations,
    check_month_samplable,
    derive_sample,
    escalate_by,
    month_bounds,
    month_days,
    population_digest,
    sample_size,
    verify_sample,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(count)]


def populations(calls: Iterable[str] = (), visits: Iterable[str] = (),
                repaid: Iterable[str] = ()) -> dict[str, list[str]]:
    return {RECORDED_CALLS: list(calls), VISIT_RECORDS: list(visits), REPAID_CASES: list(repaid)}


# ---------------------------------------------------------------------- how many

def test_a_fifteen_percent_sample_of_seven_calls_has_two() -> None:
    sample = derive_sample(populations(calls=ids("call", 7)), "seed")
    assert len(sample.populations[RECORDED_CALLS].selected) == 2


def test_thirty_percent_of_ten_visit_records_is_exactly_three_not_four() -> None:
    # 0.3 * 10 in binary floating point is 3.0000000000000004, which ceil would make 4.
    sample = derive_sample(populations(visits=ids("visit", 10)), "seed")
    assert len(sample.populations[VISIT_RECORDS].selected) == 3


def test_ten_percent_of_a_hundred_and_one_repaid_cases_rounds_up_to_eleven() -> None:
    assert sample_size(101, Decimal("0.10")) == 11


def test_a_single_repaid_case_is_always_called_back() -> None:
    sample = derive_sample(populations(repaid=["case-1"]), "seed")
    assert sample.populations[REPAID_CASES].selected == ("case-1",)


def test_an_empty_population_gives_no_items() -> None:
    sample = derive_sample(populations(), "seed")
    assert all(p.selected == () and p.size == 0 for p in sample.populations.values())


def test_a_full_rate_selects_the_whole_population() -> None:
    rates = SamplingRates(recorded_calls=Decimal(1))
    sample = derive_sample(populations(calls=ids("call", 5)), "seed", rates)
    assert sample.populations[RECORDED_CALLS].selected == tuple(ids("call", 5))


def test_the_default_rates_are_the_tenders_minimums() -> None:
    assert SamplingRates().to_json() == {
        RECORDED_CALLS: "0.15", VISIT_RECORDS: "0.30", REPAID_CASES: "0.10"}


# ---------------------------------------------------------------------- reproducibility

def test_the_same_seed_and_population_give_the_same_sample() -> None:
    given_populations = populations(ids("call", 50), ids("visit", 20), ids("case", 30))
    assert derive_sample(given_populations, "2026-10") == derive_sample(given_populations,
                                                                        "2026-10")


def test_the_order_and_duplicates_of_a_population_do_not_change_the_sample() -> None:
    calls = ids("call", 40)
    shuffled = list(reversed(calls)) + calls[:5]
    first = derive_sample(populations(calls=calls), "seed")
    again = derive_sample(populations(calls=shuffled), "seed")
    assert first.populations[RECORDED_CALLS] == again.populations[RECORDED_CALLS]
    assert again.populations[RECORDED_CALLS].size == 40


def test_another_seed_gives_another_sample() -> None:
    calls = ids("call", 100)
    one = derive_sample(populations(calls=calls), "seed-one").populations[RECORDED_CALLS]
    two = derive_sample(populations(calls=calls), "seed-two").populations[RECORDED_CALLS]
    assert one.selected != two.selected


def test_the_selection_is_random_sample_over_the_sorted_ids_seeded_with_seed_and_population(
) -> None:
    # What an auditor runs to re-derive a sample without this code.
    calls = ids("call", 60)
    sample = derive_sample(populations(calls=calls), "abc123")
    expected = sorted(random.Random("abc123:recorded_calls").sample(sorted(calls), 9))
    assert sample.populations[RECORDED_CALLS].selected == tuple(expected)


def test_each_population_is_drawn_independently_of_the_others() -> None:
    calls = ids("call", 40)
    alone = derive_sample(populations(calls=calls), "seed")
    with_more = derive_sample(populations(calls=calls, visits=ids("visit", 9),
                                          repaid=ids("case", 3)), "seed")
    assert alone.populations[RECORDED_CALLS] == with_more.populations[RECORDED_CALLS]


def test_the_selection_is_returned_sorted() -> None:
    selected = derive_sample(populations(calls=ids("call", 200)), "s").populations[
        RECORDED_CALLS].selected
    assert list(selected) == sorted(selected)


# ---------------------------------------------------------------------- digests, verification

def test_the_digest_is_sha256_of_the_sorted_ids_one_per_line() -> None:
    expected = hashlib.sha256(b"a\nb\nc\n").hexdigest()
    assert population_digest(["c", "a", "b", "a"]) == expected


def test_an_empty_population_has_the_digest_of_nothing() -> None:
    assert population_digest([]) == hashlib.sha256(b"").hexdigest()


def test_the_sample_records_each_populations_digest_and_size() -> None:
    sample = derive_sample(populations(calls=["x", "y"]), "s")
    part = sample.populations[RECORDED_CALLS]
    assert (part.size, part.digest) == (2, population_digest(["x", "y"]))


def test_an_untouched_sample_verifies() -> None:
    given_populations = populations(ids("call", 30), ids("visit", 7), ids("case", 4))
    sample = derive_sample(given_populations, "seed")
    check = verify_sample(sample, given_populations)
    assert check.matches
    assert all(c.population_unchanged and c.selection_matches
               for c in check.populations.values())


def test_a_late_reported_call_shows_as_a_changed_population() -> None:
    calls = ids("call", 30)
    sample = derive_sample(populations(calls=calls), "seed")
    check = verify_sample(sample, populations(calls=[*calls, "call-late"]))
    assert not check.matches
    changed = check.populations[RECORDED_CALLS]
    assert not changed.population_unchanged
    assert (changed.recorded_size, changed.current_size) == (30, 31)
    assert check.populations[VISIT_RECORDS].population_unchanged


def test_a_tampered_selection_fails_verification_over_an_unchanged_population() -> None:
    calls = ids("call", 30)
    sample = derive_sample(populations(calls=calls), "seed")
    part = sample.populations[RECORDED_CALLS]
    swapped = next(c for c in calls if c not in part.selected)
    forged = Sample(seed=sample.seed, rates=sample.rates, populations={
        **sample.populations,
        RECORDED_CALLS: type(part)(population=part.population, size=part.size, rate=part.rate,
                                   digest=part.digest,
                                   selected=(*part.selected[1:], swapped))})
    check = verify_sample(forged, populations(calls=calls))
    assert not check.matches
    assert check.populations[RECORDED_CALLS].population_unchanged
    assert not check.populations[RECORDED_CALLS].selection_matches


def test_verification_uses_the_recorded_rates() -> None:
    rates = SamplingRates(recorded_calls=Decimal("0.5"))
    given_populations = populations(calls=ids("call", 10))
    sample = derive_sample(given_populations, "seed", rates)
    assert len(sample.populations[RECORDED_CALLS].selected) == 5
    assert verify_sample(sample, given_populations).matches


# ---------------------------------------------------------------------- refusals

@pytest.mark.parametrize("rate", [Decimal(0), Decimal("-0.1"), Decimal("1.01"), Decimal("NaN")])
def test_rates_must_lie_above_zero_and_at_most_one(rate: Decimal) -> None:
    with pytest.raises(InvalidRates):
        SamplingRates(visit_records=rate)


def test_rates_round_trip_through_their_stored_form() -> None:
    rates = SamplingRates(recorded_calls=Decimal("0.2"))
    assert SamplingRates.from_json(rates.to_json()) == rates


def test_stored_rates_for_an_unknown_population_are_refused() -> None:
    with pytest.raises(InvalidRates):
        SamplingRates.from_json({"emails": "0.5"})


def test_populations_must_be_exactly_the_known_ones() -> None:
    with pytest.raises(UnknownPopulations):
        derive_sample({RECORDED_CALLS: ["a"]}, "seed")
    with pytest.raises(UnknownPopulations):
        derive_sample({**populations(), "emails": ["a"]}, "seed")


def test_a_sample_needs_a_seed() -> None:
    with pytest.raises(QaError):
        derive_sample(populations(), "")


# ---------------------------------------------------------------------- months, escalation

def test_a_month_runs_from_its_first_midnight_to_the_next_months_in_the_zone_given() -> None:
    assert month_bounds("2026-10", "UTC") == (datetime(2026, 10, 1, tzinfo=UTC),
                                              datetime(2026, 11, 1, tzinfo=UTC))
    assert month_bounds("2026-12", "UTC") == (datetime(2026, 12, 1, tzinfo=UTC),
                                              datetime(2027, 1, 1, tzinfo=UTC))
    # Shanghai's October begins at 16:00 UTC on 30 September.
    assert month_bounds("2026-10", "Asia/Shanghai") == (
        datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC))
    # New York's November begins in daylight time (UTC-4) and ends in standard time (UTC-5).
    assert month_bounds("2026-11", "America/New_York") == (
        datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC))


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-01", "", "2026-10-01",
                                   "0000-01"])
def test_a_malformed_month_is_refused(month: str) -> None:
    with pytest.raises(InvalidMonth):
        month_days(month)


def test_the_current_and_past_months_may_be_sampled_but_not_a_later_one() -> None:
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    utc = ZoneHistory.constant("UTC")
    assert check_month_samplable("2026-11", now, utc).timezone == "UTC"
    check_month_samplable("2025-01", now, utc)
    with pytest.raises(InvalidMonth):
        check_month_samplable("2026-12", now, utc)


def test_the_current_month_is_the_agency_s_month() -> None:
    # 17:00 UTC on 30 November is 01:00 on 1 December in Shanghai, noon on 30 November in
    # New York: December has begun for one agency and not for the other.
    now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    december = check_month_samplable("2026-12", now, ZoneHistory.constant("Asia/Shanghai"))
    assert (december.timezone, december.start) == ("Asia/Shanghai",
                                                    datetime(2026, 11, 30, 16, tzinfo=UTC))
    with pytest.raises(InvalidMonth, match="has not begun yet in America/New_York"):
        check_month_samplable("2026-12", now, ZoneHistory.constant("America/New_York"))


def test_a_serious_finding_must_be_escalated_within_24_hours() -> None:
    reviewed = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert escalate_by(reviewed) == reviewed + timedelta(hours=24)


# ---------------------------------------------------------------------- property

rates_strategy = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1), places=4)


@settings(max_examples=200, deadline=None)
@given(sizes=st.tuples(*(st.integers(0, 400) for _ in POPULATIONS)),
       seed=st.text(min_size=1, max_size=40),
       rates=st.tuples(rates_strategy, rates_strategy, rates_strategy))
def test_any_sample_meets_each_minimum_rate_and_is_a_subset_of_its_population(
        sizes: tuple[int, int, int], seed: str, rates: tuple[Decimal, Decimal, Decimal]) -> None:
    chosen_rates = SamplingRates(*rates)
    given_populations = {name: ids(name, size) for name, size in zip(POPULATIONS, sizes,
                                                                     strict=True)}
    sample = derive_sample(given_populations, seed, chosen_rates)
    for name, size in zip(POPULATIONS, sizes, strict=True):
        selected = sample.populations[name].selected
        assert set(selected) <= set(given_populations[name])
        assert len(set(selected)) == len(selected)
        assert len(selected) >= size * chosen_rates.rate(name)
        assert (len(selected) >= 1) == (size > 0)
        assert len(selected) == sample_size(size, chosen_rates.rate(name))
