"""Contact rules: the shipped policy packs, the engine's answers and the pack loader."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from contact_service.domain.policy import (
    SHIPPED_PACKS_DIR,
    CaseContactState,
    Channel,
    ContactRecord,
    ContactRequest,
    Decision,
    Direction,
    Outcome,
    PackNotInForce,
    PackRegistry,
    Party,
    PolicyPack,
    PolicyPackError,
    contact_record,
    evaluate,
    load_packs,
    parse_pack,
    violations,
)
from hypothesis import given, settings
from hypothesis import strategies as st

SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
DASH = "\u2013"
NUMBER_A = "+86 138 0000 0001"
NUMBER_B = "+86 138 0000 0002"

REGISTRY = load_packs(SHIPPED_PACKS_DIR)
SOME_TIME = datetime(2026, 3, 1, tzinfo=UTC)
CN = REGISTRY.in_force("cn-gbt-45251-2025", SOME_TIME)
US = REGISTRY.in_force("us-reg-f", SOME_TIME)
TENDER = REGISTRY.in_force("tender-0800-2100", SOME_TIME)

_ids = itertools.count(1)


def local(
    tz: str, year: int, month: int, day: int, hour: int, minute: int, second: int = 0,
) -> datetime:
    """An aware instant given as the debtor's wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(tz))


def state(tz: str = SHANGHAI, **flags: Any) -> CaseContactState:
    return CaseContactState(case_id="C1", debtor_id="D1", debtor_timezone=tz, **flags)


def contact(
    at: datetime, outcome: Outcome = "conversation", *, channel: Channel = "phone",
    party: Party | None = None, direction: Direction = "outbound", number: str | None = NUMBER_A,
    case_id: str = "C1",
) -> ContactRecord:
    if party is None:
        party = "debtor" if outcome in {"conversation", "refused"} else "none"
    return ContactRecord(
        contact_id=f"K{next(_ids)}", case_id=case_id, debtor_id="D1", channel=channel,
        direction=direction, party=party, outcome=outcome, contact_point=number, occurred_at=at)


def ask(
    pack: PolicyPack, at: datetime, *, history: list[ContactRecord] | None = None,
    channel: Channel = "phone", party: Party = "debtor", number: str | None = NUMBER_A,
    case: CaseContactState | None = None,
) -> Decision:
    request = ContactRequest(channel=channel, party=party, at=at, contact_point=number)
    return evaluate(pack, case or state(), history or [], request)


def reasons(decision: Decision) -> str:
    return " | ".join(d.reason for d in decision.denials)


def pack_json(rules: list[dict[str, Any]], **header: Any) -> str:
    body = {"id": "test-pack", "version": 1, "effective_from": "2026-01-01T00:00:00Z",
            "title": "test", "sources": ["tests"], "rules": rules, **header}
    return json.dumps(body)


# --- contact window ----------------------------------------------------------------------------

def test_a_call_at_22_30_shanghai_time_is_outside_the_chinese_window() -> None:
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 22, 30))
    assert not decision.allowed
    assert [d.kind for d in decision.denials] == ["contact_window"]
    assert f"outside the contact window 08:00{DASH}22:00 Asia/Shanghai (it is 22:30 there)" \
        in reasons(decision)
    assert decision.earliest_allowed_at == local(SHANGHAI, 2026, 3, 3, 8, 0)
    assert decision.earliest_allowed_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert decision.earliest_allowed_at.tzinfo == UTC


def test_a_call_at_21_59_shanghai_time_is_allowed_now() -> None:
    at = local(SHANGHAI, 2026, 3, 2, 21, 59)
    decision = ask(CN, at)
    assert decision.allowed
    assert decision.denials == []
    assert decision.earliest_allowed_at == at


def test_a_call_before_08_00_may_be_made_at_08_00_the_same_morning() -> None:
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 7, 15))
    assert not decision.allowed
    assert "(it is 07:15 there)" in reasons(decision)
    assert decision.earliest_allowed_at == local(SHANGHAI, 2026, 3, 2, 8, 0)


def test_the_window_end_is_exclusive() -> None:
    case = state(NEW_YORK)
    assert ask(US, local(NEW_YORK, 2026, 4, 2, 20, 59, 59), case=case).allowed
    assert not ask(US, local(NEW_YORK, 2026, 4, 2, 21, 0), case=case).allowed
    assert ask(US, local(NEW_YORK, 2026, 4, 2, 8, 0), case=case).allowed


def test_the_window_is_judged_on_the_debtors_clock_not_the_agencys() -> None:
    at = datetime(2026, 4, 2, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai, 09:00 in New York
    assert ask(TENDER, at, case=state(NEW_YORK)).allowed
    decision = ask(TENDER, at, case=state(SHANGHAI))
    assert not decision.allowed
    assert f"08:00{DASH}21:00 Asia/Shanghai (it is 21:00 there)" in reasons(decision)


def test_letters_are_not_timed_by_the_contact_window() -> None:
    assert ask(CN, local(SHANGHAI, 2026, 3, 2, 23, 30), channel="letter").allowed


def test_after_spring_forward_the_window_opens_at_08_00_daylight_time() -> None:
    # 2026-03-08: New York moves from EST (UTC-5) to EDT (UTC-4) at 02:00.
    decision = ask(US, local(NEW_YORK, 2026, 3, 7, 22, 0), case=state(NEW_YORK))
    assert decision.earliest_allowed_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert ask(US, datetime(2026, 3, 8, 12, 30, tzinfo=UTC), case=state(NEW_YORK)).allowed
    # The same UTC instant a day earlier was 07:30 EST: too early.
    early = ask(US, datetime(2026, 3, 7, 12, 30, tzinfo=UTC), case=state(NEW_YORK))
    assert "(it is 07:30 there)" in reasons(early)


def test_after_fall_back_the_window_opens_at_08_00_standard_time() -> None:
    # 2026-11-01: New York moves from EDT (UTC-4) back to EST (UTC-5) at 02:00.
    decision = ask(US, local(NEW_YORK, 2026, 10, 31, 22, 0), case=state(NEW_YORK))
    assert decision.earliest_allowed_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    decision = ask(US, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), case=state(NEW_YORK))
    assert "(it is 01:30 there)" in reasons(decision)  # the second 01:30 of the night
    assert decision.earliest_allowed_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


# --- daily caps (China) ------------------------------------------------------------------------

def test_a_fourth_effective_call_in_a_shanghai_day_waits_for_the_next_mornings_window() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, h, 0)) for h in (9, 10, 11)]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history)
    assert not decision.allowed
    assert [d.rule_id for d in decision.denials] == ["effective-calls-per-debtor-per-day"]
    assert "3 effective voice calls for this debtor already on 2026-03-02 Asia/Shanghai" \
        in reasons(decision)
    assert "(at most 3 a day)" in reasons(decision)
    assert decision.earliest_allowed_at == local(SHANGHAI, 2026, 3, 3, 8, 0)


def test_two_effective_calls_leave_room_for_a_third() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, h, 0)) for h in (9, 10)]
    assert ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history).allowed


def test_the_daily_cap_counts_the_debtors_local_day_not_the_utc_day() -> None:
    # 07:00-07:20 in Shanghai on 2 March is still 1 March in UTC.
    history = [contact(local(SHANGHAI, 2026, 3, 2, 7, m)) for m in (0, 10, 20)]
    assert not ask(CN, local(SHANGHAI, 2026, 3, 2, 9, 0), history=history).allowed
    assert ask(CN, local(SHANGHAI, 2026, 3, 3, 9, 0), history=history).allowed


def test_calls_the_debtor_made_and_unanswered_calls_are_not_effective_calls() -> None:
    day = (2026, 3, 2)
    history = [contact(local(SHANGHAI, *day, 9, m), direction="inbound") for m in (0, 10, 20)]
    history += [contact(local(SHANGHAI, *day, 10, m), "no_answer") for m in (0, 10, 20)]
    assert ask(CN, local(SHANGHAI, *day, 12, 0), history=history).allowed


def test_a_seventh_unanswered_attempt_on_the_same_number_is_denied_but_another_number_is_free(
) -> None:
    unanswered: list[Outcome] = ["no_answer", "busy", "voicemail"] * 2
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, 10 * i), outcome)
               for i, outcome in enumerate(unanswered)]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 15, 0), history=history, number=NUMBER_A)
    assert not decision.allowed
    assert "6 unanswered calls on this number already on 2026-03-02" in reasons(decision)
    assert "(at most 6 a day)" in reasons(decision)
    assert decision.earliest_allowed_at == local(SHANGHAI, 2026, 3, 3, 8, 0)
    assert ask(CN, local(SHANGHAI, 2026, 3, 2, 15, 0), history=history, number=NUMBER_B).allowed


def test_without_a_number_the_per_number_cap_counts_every_number_of_the_debtor() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, m), "no_answer",
                       number=NUMBER_A if m % 20 else NUMBER_B) for m in range(0, 60, 10)]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 15, 0), history=history, number=None)
    assert not decision.allowed
    assert any("no contact_point given" in note for note in decision.notes)


# --- rolling cap and quiet period (US) ---------------------------------------------------------

def test_an_eighth_call_on_a_debt_within_seven_days_waits_until_the_oldest_leaves_the_window(
) -> None:
    case = state(NEW_YORK)
    history = [contact(local(NEW_YORK, 2026, 4, d, 10, 0), "no_answer") for d in range(1, 8)]
    decision = ask(US, local(NEW_YORK, 2026, 4, 7, 15, 0), history=history, case=case)
    assert not decision.allowed
    assert [d.rule_id for d in decision.denials] == ["seven-calls-in-seven-days"]
    assert "7 phone attempts on this case in the 7 days up to 2026-04-07 15:00" \
        in reasons(decision)
    assert "(at most 7 in 7 days" in reasons(decision)
    assert decision.earliest_allowed_at == local(NEW_YORK, 2026, 4, 8, 10, 0)


def test_calls_about_another_debt_of_the_same_debtor_do_not_count_towards_the_seven() -> None:
    history = [contact(local(NEW_YORK, 2026, 4, d, 10, 0), "no_answer", case_id="C2")
               for d in range(1, 8)]
    assert ask(US, local(NEW_YORK, 2026, 4, 7, 15, 0), history=history,
               case=state(NEW_YORK)).allowed


def test_when_the_rolling_cap_lifts_after_hours_the_call_waits_for_the_next_window() -> None:
    history = [contact(local(NEW_YORK, 2026, 4, 1, 20, 30), "no_answer")]
    history += [contact(local(NEW_YORK, 2026, 4, d, 10, 0), "busy") for d in range(2, 8)]
    decision = ask(US, local(NEW_YORK, 2026, 4, 7, 15, 0), history=history,
                   case=state(NEW_YORK))
    # The cap lifts at 20:30 on 8 April, the window shuts at 21:00: 20:30 itself is fine.
    assert decision.earliest_allowed_at == local(NEW_YORK, 2026, 4, 8, 20, 30)
    history[0] = contact(local(NEW_YORK, 2026, 4, 1, 22, 30), "no_answer")
    decision = ask(US, local(NEW_YORK, 2026, 4, 7, 15, 0), history=history,
                   case=state(NEW_YORK))
    # Now it lifts at 22:30, after hours: the next window start is the answer.
    assert decision.earliest_allowed_at == local(NEW_YORK, 2026, 4, 9, 8, 0)


def test_combined_denials_wait_for_the_last_rule_to_let_go() -> None:
    # 21:30: outside the window (lifts 08:00 tomorrow) and within 7 days of a conversation
    # (lifts 21:00 on 10 April, still outside the window): the answer is 08:00 on 11 April.
    history = [contact(local(NEW_YORK, 2026, 4, 3, 21, 0), direction="inbound")]
    decision = ask(US, local(NEW_YORK, 2026, 4, 6, 21, 30), history=history,
                   case=state(NEW_YORK))
    assert {d.kind for d in decision.denials} == {"contact_window", "quiet_after_conversation"}
    assert decision.earliest_allowed_at == local(NEW_YORK, 2026, 4, 11, 8, 0)


def test_no_call_within_seven_days_after_a_conversation() -> None:
    history = [contact(local(NEW_YORK, 2026, 4, 2, 10, 15))]
    decision = ask(US, local(NEW_YORK, 2026, 4, 5, 11, 0), history=history,
                   case=state(NEW_YORK))
    assert not decision.allowed
    assert [d.rule_id for d in decision.denials] == ["seven-days-after-conversation"]
    text = reasons(decision)
    assert "a phone conversation with the debtor about this debt at 2026-04-02 10:15" in text
    assert "for 7 days after it (until 2026-04-09 10:15 America/New_York)" in text
    assert decision.earliest_allowed_at == local(NEW_YORK, 2026, 4, 9, 10, 15)
    assert ask(US, local(NEW_YORK, 2026, 4, 9, 10, 15), history=history,
               case=state(NEW_YORK)).allowed


def test_a_quiet_period_does_not_stop_a_letter_or_an_sms() -> None:
    history = [contact(local(NEW_YORK, 2026, 4, 2, 10, 15))]
    for channel in ("letter", "sms"):
        assert ask(US, local(NEW_YORK, 2026, 4, 5, 11, 0), history=history, channel=channel,
                   case=state(NEW_YORK)).allowed


def test_unanswered_calls_do_not_start_a_quiet_period() -> None:
    history = [contact(local(NEW_YORK, 2026, 4, 2, 10, 15), "voicemail")]
    assert ask(US, local(NEW_YORK, 2026, 4, 5, 11, 0), history=history,
               case=state(NEW_YORK)).allowed


# --- third parties -----------------------------------------------------------------------------

def test_chinese_third_party_contact_is_denied_while_the_debtor_is_reachable() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, m), "no_answer") for m in (0, 10)]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history, party="third_party",
                   number=NUMBER_B)
    assert not decision.allowed
    assert [d.kind for d in decision.denials] == ["third_party"]
    assert "2 failed attempts in a row to reach the debtor by phone (needs 3)" in reasons(decision)
    assert decision.earliest_allowed_at is None


def test_chinese_third_party_contact_is_allowed_after_three_failed_attempts_in_a_row() -> None:
    failed: list[Outcome] = ["no_answer", "busy", "voicemail"]
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, 10 * i), o) for i, o in enumerate(failed)]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history, party="third_party",
                   number=NUMBER_B)
    assert decision.allowed
    assert any("disclose nothing" in note for note in decision.notes)


def test_reaching_the_debtor_breaks_a_run_of_failed_attempts() -> None:
    outcomes: list[Outcome] = ["no_answer", "no_answer", "refused", "busy", "no_answer"]
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, 10 * i), o) for i, o in enumerate(outcomes)]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history, party="third_party")
    assert not decision.allowed
    assert "2 failed attempts in a row" in reasons(decision)


def test_calls_to_third_parties_do_not_break_the_run_that_allowed_them() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, m), "no_answer") for m in (0, 10, 20)]
    history.append(contact(local(SHANGHAI, 2026, 3, 2, 10, 0), party="third_party",
                           number=NUMBER_B))
    assert ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history,
               party="third_party").allowed


def test_chinese_third_party_contact_is_allowed_once_the_debtors_number_is_invalid() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, 0), "invalid_number")]
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history, party="third_party")
    assert decision.allowed
    # One invalid number is not enough while another number of the debtor still works.
    history.append(contact(local(SHANGHAI, 2026, 3, 2, 9, 5), number=NUMBER_B))
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 12, 0), history=history, party="third_party")
    assert not decision.allowed
    assert "not every number of the debtor has turned out invalid" in reasons(decision)


def test_us_third_party_contact_is_allowed_for_location_information_only() -> None:
    decision = ask(US, local(NEW_YORK, 2026, 4, 2, 10, 0), party="third_party",
                   case=state(NEW_YORK))
    assert decision.allowed
    assert any("location information" in note for note in decision.notes)


def test_a_debtor_contact_gets_no_third_party_advisory() -> None:
    assert ask(US, local(NEW_YORK, 2026, 4, 2, 10, 0), case=state(NEW_YORK)).notes == []


# --- cease contact and case holds --------------------------------------------------------------

def test_after_a_cease_contact_request_only_letters_are_allowed_and_calls_never_again() -> None:
    case = state(NEW_YORK, cease_contact=True,
                 cease_contact_at=local(NEW_YORK, 2026, 4, 1, 16, 0))
    decision = ask(US, local(NEW_YORK, 2026, 4, 2, 10, 0), case=case)
    assert not decision.allowed
    assert [d.kind for d in decision.denials] == ["cease_contact"]
    assert "asked to cease contact on 2026-04-01 16:00 America/New_York" in reasons(decision)
    assert "only letter is allowed" in reasons(decision)
    assert decision.earliest_allowed_at is None
    letter = ask(US, local(NEW_YORK, 2026, 4, 2, 10, 0), case=case, channel="letter")
    assert letter.allowed
    assert any("cease communication in force" in note for note in letter.notes)


def test_a_call_made_before_the_cease_contact_request_was_not_a_violation() -> None:
    case = state(NEW_YORK, cease_contact=True,
                 cease_contact_at=local(NEW_YORK, 2026, 4, 1, 16, 0))
    before = contact(local(NEW_YORK, 2026, 4, 1, 15, 0), "no_answer")
    after = contact(local(NEW_YORK, 2026, 4, 1, 17, 0), "no_answer")
    assert violations(US, case, [], before) == []
    assert [d.kind for d in violations(US, case, [before], after)] == ["cease_contact"]


@pytest.mark.parametrize(("flag", "words"), [
    ("dispute_open", "disputes this debt"), ("recalled", "recalled this case"),
    ("closed", "this case is closed"),
])
@pytest.mark.parametrize("pack", [CN, US, TENDER], ids=lambda p: p.id)
def test_a_case_on_hold_may_not_be_contacted_at_any_time(
    pack: PolicyPack, flag: str, words: str,
) -> None:
    case = state().model_copy(update={flag: True})
    decision = ask(pack, local(SHANGHAI, 2026, 3, 2, 10, 0), case=case)
    assert not decision.allowed
    assert [d.kind for d in decision.denials] == ["case_hold"]
    assert words in reasons(decision)
    assert decision.earliest_allowed_at is None


def test_each_hold_is_a_separate_reason() -> None:
    case = state(dispute_open=True, recalled=True, closed=True)
    decision = ask(CN, local(SHANGHAI, 2026, 3, 2, 23, 0), case=case)
    assert [d.kind for d in decision.denials] == ["case_hold"] * 3 + ["contact_window"]
    assert decision.earliest_allowed_at is None


def test_the_tender_minimum_of_three_calls_a_week_is_not_a_cap() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, 9, m), "no_answer") for m in range(0, 60, 5)]
    history += [contact(local(SHANGHAI, 2026, 3, 2, 11, m)) for m in range(0, 60, 10)]
    assert ask(TENDER, local(SHANGHAI, 2026, 3, 2, 15, 0), history=history).allowed


# --- recorded contacts -------------------------------------------------------------------------

def test_a_recorded_call_at_22_30_shanghai_time_is_flagged_with_the_window_rule() -> None:
    late = contact(local(SHANGHAI, 2026, 3, 2, 22, 30), "no_answer")
    found = violations(CN, state(), [], late)
    assert [d.rule_id for d in found] == ["contact-window"]
    assert "(it is 22:30 there)" in found[0].reason


def test_inbound_contacts_never_violate_a_rule() -> None:
    late = contact(local(SHANGHAI, 2026, 3, 2, 23, 30), direction="inbound")
    assert violations(CN, state(closed=True), [], late) == []


def test_only_a_fourth_conversation_breaks_the_effective_call_cap() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, h, 0)) for h in (9, 10, 11)]
    unanswered = contact(local(SHANGHAI, 2026, 3, 2, 12, 0), "no_answer")
    talked = contact(local(SHANGHAI, 2026, 3, 2, 12, 5))
    assert violations(CN, state(), history, unanswered) == []
    assert [d.rule_id for d in violations(CN, state(), history, talked)] == [
        "effective-calls-per-debtor-per-day"]


def test_a_recorded_contact_is_not_counted_against_itself() -> None:
    history = [contact(local(SHANGHAI, 2026, 3, 2, h, 0)) for h in (9, 10)]
    third = contact(local(SHANGHAI, 2026, 3, 2, 11, 0))
    assert violations(CN, state(), [*history, third], third) == []


def test_violations_do_not_depend_on_the_order_of_the_history() -> None:
    history = [contact(local(NEW_YORK, 2026, 4, d, 10, 0), "no_answer") for d in range(1, 8)]
    history.append(contact(local(NEW_YORK, 2026, 4, 6, 11, 0)))
    judged = contact(local(NEW_YORK, 2026, 4, 7, 22, 0))
    expected = violations(US, state(NEW_YORK), history, judged)
    assert {d.kind for d in expected} == {"contact_window", "rolling_cap",
                                          "quiet_after_conversation"}
    rng = random.Random(7)
    for _ in range(10):
        shuffled = history[:]
        rng.shuffle(shuffled)
        assert violations(US, state(NEW_YORK), shuffled, judged) == expected


# --- versions and the registry -----------------------------------------------------------------

def _window_pack(version: int, effective_from: str, start: str) -> PolicyPack:
    return parse_pack(pack_json(
        [{"id": "window", "kind": "contact_window", "start": start, "end": "21:00"}],
        version=version, effective_from=effective_from), source=f"v{version}.json")


def test_a_new_pack_version_is_not_retroactive() -> None:
    registry = PackRegistry([_window_pack(1, "2026-01-01T00:00:00Z", "08:00"),
                             _window_pack(2, "2026-06-01T00:00:00+08:00", "09:00")])
    before = contact(local(SHANGHAI, 2026, 5, 31, 8, 30))
    after = contact(local(SHANGHAI, 2026, 6, 1, 8, 30))
    old = registry.in_force("test-pack", before.occurred_at)
    new = registry.in_force("test-pack", after.occurred_at)
    assert (old.version, new.version) == (1, 2)
    assert violations(old, state(), [], before) == []
    assert [d.rule_id for d in violations(new, state(), [], after)] == ["window"]
    assert registry.in_force("test-pack", datetime(2026, 5, 31, 16, 0, tzinfo=UTC)).version == 2
    assert registry.in_force("test-pack", datetime(2026, 5, 31, 15, 59, tzinfo=UTC)).version == 1
    assert registry.get("test-pack", 1) == old


def test_no_pack_is_in_force_before_its_first_version_or_under_an_unknown_name() -> None:
    with pytest.raises(PackNotInForce, match="first version takes effect at 2026-01-01"):
        REGISTRY.in_force("us-reg-f", datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(PackNotInForce, match="unknown policy pack 'eu-gdpr'"):
        REGISTRY.in_force("eu-gdpr", SOME_TIME)


def test_a_later_version_that_takes_effect_earlier_is_refused() -> None:
    with pytest.raises(PolicyPackError, match="version 2 takes effect at"):
        PackRegistry([_window_pack(1, "2026-06-01T00:00:00Z", "08:00"),
                      _window_pack(2, "2026-01-01T00:00:00Z", "09:00")])


def test_the_same_version_in_two_files_names_both_files(tmp_path: Path) -> None:
    text = pack_json([{"id": "hold", "kind": "case_hold"}])
    (tmp_path / "a.json").write_text(text)
    (tmp_path / "b.json").write_text(text)
    with pytest.raises(PolicyPackError, match=r"b\.json: .* also in a\.json"):
        load_packs(tmp_path)


def test_the_three_shipped_packs_load_with_a_case_hold_each() -> None:
    assert REGISTRY.pack_ids == ("cn-gbt-45251-2025", "tender-0800-2100", "us-reg-f")
    for pack_id in REGISTRY.pack_ids:
        (pack,) = REGISTRY.versions(pack_id)
        assert pack.version == 1
        assert pack.effective_from == datetime(2026, 1, 1, tzinfo=UTC)
        assert pack.sources
        assert "case_hold" in {rule.kind for rule in pack.rules}


# --- loader errors -----------------------------------------------------------------------------

def _load_one(tmp_path: Path, text: str, name: str = "broken.json") -> PackRegistry:
    (tmp_path / name).write_text(text)
    return load_packs(tmp_path)


def test_an_unknown_rule_kind_is_refused_naming_the_file_and_the_rule(tmp_path: Path) -> None:
    text = pack_json([{"id": "hold", "kind": "case_hold"},
                      {"id": "weekly", "kind": "weekly_cap", "max": 3}])
    with pytest.raises(PolicyPackError) as caught:
        _load_one(tmp_path, text, "cn-broken.json")
    message = str(caught.value)
    assert message.startswith("cn-broken.json: ")
    assert "rule 'weekly' (#2): unknown rule kind 'weekly_cap'" in message
    assert "daily_cap" in message


def test_a_rule_missing_a_parameter_is_refused_naming_the_file_and_the_rule(
    tmp_path: Path,
) -> None:
    text = pack_json([{"id": "calls", "kind": "daily_cap", "scope": "debtor",
                       "counts": "attempts"}])
    expected = r"^broken\.json: rule 'calls' \(#1\): missing field 'max'"
    with pytest.raises(PolicyPackError, match=expected):
        _load_one(tmp_path, text)


def test_a_pack_missing_a_header_field_is_refused(tmp_path: Path) -> None:
    body = json.loads(pack_json([{"id": "hold", "kind": "case_hold"}]))
    del body["effective_from"]
    expected = r"^broken\.json: pack: missing field 'effective_from'"
    with pytest.raises(PolicyPackError, match=expected):
        _load_one(tmp_path, json.dumps(body))


@pytest.mark.parametrize(("rule", "words"), [
    ({"id": "w", "kind": "contact_window", "start": "8am", "end": "21:00"}, "rule 'w' (#1): start"),
    ({"id": "w", "kind": "contact_window", "start": "21:00", "end": "08:00"},
     "start 21:00 must be before end 08:00"),
    ({"id": "c", "kind": "daily_cap", "scope": "street", "counts": "attempts", "max": 1},
     "rule 'c' (#1): scope"),
    ({"id": "c", "kind": "rolling_cap", "scope": "debt", "counts": "attempts", "max": "7",
      "window_days": 7}, "rule 'c' (#1): max"),
    ({"id": "c", "kind": "daily_cap", "scope": "debt", "counts": "attempts", "maximum": 7,
      "max": 7}, "unknown field 'maximum'"),
    ({"id": "c", "kind": "daily_cap", "scope": "debt", "counts": "attempts", "max": 0},
     "rule 'c' (#1): max"),
    ({"id": "t", "kind": "third_party", "unreachable_when": {}}, "failed_attempts_in_a_row"),
    ({"id": "x", "kind": "case_hold", "channels": ["fax"]}, "rule 'x' (#1): channels"),
    ({"kind": "case_hold"}, "rule #1: missing field 'id'"),
    ({"id": "k"}, "rule 'k' (#1): missing field 'kind'"),
])
def test_bad_rule_parameters_are_refused_with_the_rule_named(
    rule: dict[str, Any], words: str,
) -> None:
    with pytest.raises(PolicyPackError) as caught:
        parse_pack(pack_json([rule]), source="pack.json")
    assert str(caught.value).startswith("pack.json: ")
    assert words in str(caught.value)


def test_malformed_packs_are_refused() -> None:
    with pytest.raises(PolicyPackError, match=r"p\.json: not valid JSON"):
        parse_pack("{", source="p.json")
    with pytest.raises(PolicyPackError, match="timezone"):
        parse_pack(pack_json([], effective_from="2026-01-01T00:00:00"), source="p.json")
    with pytest.raises(PolicyPackError, match="rule id 'hold' is used more than once"):
        parse_pack(pack_json([{"id": "hold", "kind": "case_hold"}] * 2), source="p.json")


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        state("Mars/Olympus_Mons")


# --- properties --------------------------------------------------------------------------------

ZONES = [SHANGHAI, NEW_YORK, "Europe/London", "Australia/Lord_Howe", "America/Santiago",
         "Asia/Kolkata"]
START = datetime(2026, 1, 1)
END = datetime(2026, 12, 31)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[PolicyPack, CaseContactState, list[ContactRecord],
                                        ContactRequest]:
    pack = draw(st.sampled_from([CN, US, TENDER]))
    at = draw(st.datetimes(min_value=START, max_value=END, timezones=st.just(UTC)))
    case = CaseContactState(
        case_id="C1", debtor_id="D1", debtor_timezone=draw(st.sampled_from(ZONES)),
        cease_contact=draw(st.sampled_from([False] * 9 + [True])),
        cease_contact_at=at - timedelta(days=1),
        dispute_open=draw(st.sampled_from([False] * 9 + [True])))
    # Dense histories reach the caps; sparse ones reach the rolling windows and quiet periods.
    spread_minutes = draw(st.sampled_from([6 * 60, 3 * 24 * 60, 10 * 24 * 60]))
    size = draw(st.integers(0, 40))
    history = draw(st.lists(st.builds(
        ContactRecord,
        contact_id=st.uuids().map(str), case_id=st.sampled_from(["C1", "C2"]),
        debtor_id=st.just("D1"), channel=st.sampled_from(["phone"] * 4 + ["sms", "letter"]),
        direction=st.sampled_from(["outbound"] * 4 + ["inbound"]),
        party=st.sampled_from(["debtor"] * 3 + ["none", "third_party"]),
        outcome=st.sampled_from(["conversation"] * 3 + ["no_answer"] * 3 + [
            "busy", "voicemail", "wrong_number", "invalid_number", "refused", "delivered"]),
        contact_point=st.sampled_from([NUMBER_A, NUMBER_B, None]),
        occurred_at=st.integers(0, spread_minutes).map(lambda m: at - timedelta(minutes=m)),
    ), min_size=size, max_size=size))
    request = ContactRequest(
        channel=draw(st.sampled_from(["phone", "phone", "sms", "letter", "visit"])),
        party=draw(st.sampled_from(["debtor", "debtor", "third_party"])),
        at=at, contact_point=draw(st.sampled_from([NUMBER_A, NUMBER_B, None])))
    return pack, case, history, request


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_the_earliest_allowed_time_is_allowed_and_nothing_before_it_is(
    scenario: tuple[PolicyPack, CaseContactState, list[ContactRecord], ContactRequest],
) -> None:
    pack, case, history, request = scenario
    decision = evaluate(pack, case, history, request)
    earliest = decision.earliest_allowed_at
    if decision.allowed:
        assert earliest == request.at
        return
    never = {"case_hold", "cease_contact", "third_party"}
    if earliest is None:
        assert {d.kind for d in decision.denials} & never
        return
    assert earliest > request.at
    assert earliest.tzinfo == UTC
    assert evaluate(pack, case, history, request.model_copy(update={"at": earliest})).allowed
    for instant in (earliest - timedelta(microseconds=1), request.at + (earliest - request.at) / 2):
        assert not evaluate(pack, case, history,
                            request.model_copy(update={"at": instant})).allowed


# ---------------------------------------------------------------------- contact records

def _validated(row: dict[str, Any]) -> ContactRecord | str:
    try:
        return ContactRecord.model_validate(row)
    except ValueError as exc:  # pydantic's ValidationError
        return type(exc).__name__


_TEXT_OR_ODD = st.one_of(st.text(max_size=5), st.none(), st.integers(), st.just("phone"))


@settings(max_examples=400, deadline=None)
@given(channel=st.one_of(st.sampled_from(["phone", "sms", "fax"]), _TEXT_OR_ODD),
       direction=st.sampled_from(["outbound", "inbound", "sideways"]),
       party=st.sampled_from(["debtor", "third_party", "none", "anyone"]),
       outcome=st.sampled_from(["conversation", "no_answer", "voicemail", "hung_up"]),
       contact_id=_TEXT_OR_ODD, case_id=st.sampled_from(["c1", "c2", 7]),
       point=st.one_of(st.none(), st.sampled_from(["ref-1", ""]), st.integers()),
       with_point=st.booleans(),
       occurred=st.one_of(
           st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo(SHANGHAI),
                                                   ZoneInfo(NEW_YORK)])).map(
               lambda d: d.isoformat()),
           st.datetimes().map(lambda d: d.isoformat()),  # naive: refused
           st.sampled_from(["2026-05-04T10:00:00+08:00", "2026-05-04T02:00:00Z",
                            "2026-05-04 10:00+08:00", "yesterday", "", "2026-05-04T10+08:00",
                            "20260504T100000+0800", "2026-W19-1T10:00+08:00",
                            "2026-05-04T10:00+08", "2026-05-04T24:00:00+00:00",
                            "2026-05-04T10:00:00,5+08:00", "1900-01-01T00:00:00+08:05:43"]),
           st.datetimes(timezones=st.just(UTC))),  # a datetime, not text
       extra=st.booleans())
def test_contact_records_are_the_ones_validation_gives(
        channel: Any, direction: str, party: str, outcome: str, contact_id: Any, case_id: Any,
        point: Any, with_point: bool, occurred: Any, extra: bool) -> None:
    """The judge builds each contact's record from its row without pydantic when the row is
    plainly valid: the record equals (fields, fields set, types) what validation gives, and
    a row validation refuses is refused the same way."""
    row: dict[str, Any] = {"contact_id": contact_id, "case_id": case_id, "debtor_id": "d1",
                           "channel": channel, "direction": direction, "party": party,
                           "outcome": outcome, "occurred_at": occurred}
    if with_point:
        row["contact_point"] = point
    if extra:
        row.update(event_id="e1", position=3, flags="")
    expected = _validated(row)
    try:
        got: ContactRecord | str = contact_record(row)
    except ValueError as exc:
        got = type(exc).__name__
    assert got == expected
    if isinstance(got, ContactRecord) and isinstance(expected, ContactRecord):
        assert got.model_fields_set == expected.model_fields_set
        assert got.occurred_at.tzinfo is UTC
        assert expected.occurred_at.tzinfo is UTC
        assert got.model_dump() == expected.model_dump()
