"""Days in the agency's zone and one clock, over HTTP, on SQLite and PostgreSQL.

The contact service is built with a `ManualClock` (every "now" it reads) and the service's
default zone left at its default, Asia/Shanghai. Case events are hand-built envelopes applied
to the contact-log projection as a consumer would (so each instant, and when each contact was
entered in the log, is chosen here), except for the rebuild, which replays a real case log.

- the reported defect: at 07:12 in Beijing the default worklist was empty (its "today" was the
  UTC date, still the day before) while 70 first contacts fell due within two hours;
- an agency in America/New_York sees its own today, and its whole service-level days follow
  New York's wall clock across the change to daylight time;
- "the same day" of a contact's entry ends at the agency's midnight;
- the zone is a setting with versions: a verdict as of an instant uses the zone in force then;
- a QA month is the agency's month;
- the settings API answers 4xx to bad input, never 500;
- settings survive `casetrail projections rebuild contact-log --swap`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from case_service.application import AccountInput, DebtorInput, PlacementBatch, placement
from case_service.bootstrap import build_application
from case_service.config import CaseSettings
from casetrail.clock import ManualClock
from casetrail.crypto import MasterKey
from casetrail.envelope import EventEnvelope, event_id_for
from casetrail.projections.store import Delivery
from casetrail.security import KeyEntry, Role, generate_key, hash_key
from casetrail.settings import CommonSettings
from casetrail.testing import BACKENDS, fresh_database
from contact_service.bootstrap import ContactService, build
from contact_service.config import ContactSettings
from contact_service.entrypoints.app import create_app
from fastapi.testclient import TestClient

KEYS = {"bj": (Role.AGENCY, "AG-BJ"), "ny": (Role.AGENCY, "AG-NY"),
        "utc": (Role.AGENCY, "AG-UTC"), "bank": (Role.CREDITOR, "BANK"),
        "bank2": (Role.CREDITOR, "BANK2"), "auditor": (Role.AUDITOR, None),
        "admin": (Role.ADMIN, None)}
NAMESPACE = uuid.UUID("5d1c6a0e-0f7b-4f7e-9d3e-2b8c4a6f1e90")
# 07:12 on Tuesday 8 December 2026 in Beijing, still 7 December in UTC.
BEIJING_0712 = datetime(2026, 12, 7, 23, 12, tzinfo=UTC)


def iso(instant: datetime) -> str:
    return instant.isoformat()


class Log:
    """Case events as envelopes (docs/events.md), applied to the contact-log projection."""

    def __init__(self, service: ContactService):
        self.service = service
        self.position = 0
        self.versions: dict[uuid.UUID, int] = {}
        self.cases: dict[str, uuid.UUID] = {}
        self.n = 0

    def emit(self, name: str, type_: str, at: datetime, *, recorded: datetime | None = None,
             **payload: Any) -> None:
        case_id = self.cases.setdefault(name, uuid.uuid5(NAMESPACE, name))
        version = self.versions[case_id] = self.versions.get(case_id, 0) + 1
        self.position += 1
        envelope = EventEnvelope(
            event_id=event_id_for(case_id, version), type=type_, schema_version=1,
            case_id=case_id, version=version, position=self.position, occurred_at=at,
            recorded_at=recorded or at, payload={**payload, "actor": "test:*:time"})
        self.service.contact_log.apply("test", 0, [Delivery(self.position, envelope)])

    def place(self, name: str, at: datetime, agency: str, *, creditor: str = "BANK",
              debtor_timezone: str = "Asia/Shanghai") -> None:
        self.emit(name, "Placed", at, creditor_id=creditor, account_ref=name,
                  placement_ref="P-1", agency_id=agency, allocation={"method": "named"},
                  debtor_id=f"d-{uuid.uuid5(NAMESPACE, 'debtor:' + name).hex}",
                  debtor_timezone=debtor_timezone, contact_points=1, currency="CNY",
                  balances={"principal": "1000.00"}, dpd=45, bucket="M2", product=None,
                  placed_at=iso(at), term_end="2027-12-01")

    def contact(self, name: str, at: datetime, agency: str, *, recorded: datetime | None = None,
                outcome: str = "no_answer", channel: str = "phone") -> None:
        self.n += 1
        party = "debtor" if outcome == "conversation" else "none"
        self.emit(name, "Contacted", at, recorded=recorded, contact_id=f"K-{self.n}",
                  channel=channel, direction="outbound", party=party, outcome=outcome,
                  action_code="NOANS", agent_id="agent-1", recording_ref=f"rec/{self.n}.wav",
                  contact_point_ref="phone:1", contact_point_hint=None, occurred_at=iso(at),
                  agency_id=agency, note=None, flags=[])

    def promise(self, name: str, at: datetime, promise_id: str, due: str, agency: str) -> None:
        self.emit(name, "PromisedToPay", at, promise_id=promise_id, amount="100.00",
                  due_date=due, promised_at=iso(at), agency_id=agency)


class World:
    """The contact service on its own clock, with keys and a case log."""

    def __init__(self, tmp_path: Path, url: str, clock: ManualClock):
        self.keys = {name: generate_key(role) for name, (role, _) in KEYS.items()}
        self.common = CommonSettings(
            api_keys=json.dumps([KeyEntry(n, hash_key(self.keys[n]), r, t).to_json()
                                 for n, (r, t) in KEYS.items()]),
            master_key=MasterKey.generate_b64(), var_dir=tmp_path / "var")
        assert self.common.default_timezone == "Asia/Shanghai"  # the shipped default
        self.clock = clock
        self.url = url
        self.service = build(ContactSettings(database_url=url), common=self.common, clock=clock)
        self.client = TestClient(create_app(common=self.common, service=self.service))
        self.log = Log(self.service)

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers={
            "Authorization": f"Bearer {self.keys[who]}"}, **kwargs)

    def get(self, who: str, path: str, **params: Any) -> dict[str, Any]:
        response = self.call(who, "GET", path, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def set_zone(self, who: str, agency: str, zone: str, **extra: Any) -> Any:
        return self.call(who, "PUT", f"/v1/agencies/{agency}/settings",
                         json={"timezone": zone, **extra})

    def set_zone_since(self, when: datetime, agency: str, zone: str) -> None:
        """Set an agency's zone at `when` (a setting takes effect when it is made, never
        earlier), then put the clock back where it was."""
        now = self.clock.now()
        self.clock.set(when)
        response = self.set_zone("admin", agency, zone)
        assert response.status_code == 201, response.text
        self.clock.set(now)

    def name(self, case_id: str) -> str:
        return {str(v): k for k, v in self.log.cases.items()}[case_id]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with fresh_database(request.param, tmp_path, "contact") as url:
        built = World(tmp_path, url, ManualClock(BEIJING_0712))
        try:
            yield built
        finally:
            built.client.close()
            built.service.close()


def levels(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service_level"]: s for s in case["service_levels"]}


# ---------------------------------------------------------------------- the worklist's today

def test_at_0712_in_beijing_the_default_worklist_lists_the_first_contacts_due_today(
        world: World) -> None:
    # 70 cases assigned between 06:00 and 06:59 in Beijing: each first contact falls due
    # between 08:00 and 08:59 there, that is 00:00 to 00:59 UTC on 8 December.
    first = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
    for n in range(70):
        world.log.place(f"new-{n:02d}", first + timedelta(seconds=51 * n), "AG-BJ")
    body = world.get("bj", "/v1/worklist")
    assert (body["date"], body["timezone"]) == ("2026-12-08", "Asia/Shanghai")
    assert (body["day_starts_at"], body["day_ends_at"]) == ("2026-12-07T16:00:00Z",
                                                            "2026-12-08T16:00:00Z")
    assert body["as_of"] == "2026-12-07T23:12:00Z"  # now: the service's clock
    assert body["total"] == 70
    assert {(i["kind"], i["service_level"]) for i in body["items"]} == {
        ("service_level_due", "first_action")}
    assert body["items"][0]["reason"].startswith(
        "Due today, by 2026-12-08 08:00 Asia/Shanghai: make the first contact.")
    # The same day asked for by its date gives the same list.
    assert world.get("bj", "/v1/worklist", date="2026-12-08")["total"] == 70


def test_a_worklist_for_another_date_is_judged_at_the_start_of_that_local_day(
        world: World) -> None:
    world.log.place("new", datetime(2026, 12, 7, 22, 0, tzinfo=UTC), "AG-BJ")
    yesterday = world.get("bj", "/v1/worklist", date="2026-12-07")
    # At 00:00 on 7 December in Beijing the case was not yet assigned: nothing to do.
    assert (yesterday["as_of"], yesterday["timezone"], yesterday["total"]) == (
        "2026-12-06T16:00:00Z", "Asia/Shanghai", 0)
    tomorrow = world.get("bj", "/v1/worklist", date="2026-12-09")
    # At 00:00 on 9 December the first contact (due 08:00 on the 8th) is overdue.
    assert tomorrow["as_of"] == "2026-12-08T16:00:00Z"
    assert [(i["kind"], i["service_level"]) for i in tomorrow["items"]] == [
        ("service_level_overdue", "first_action")]


def test_an_agency_in_new_york_sees_its_own_today(world: World) -> None:
    world.set_zone_since(datetime(2026, 11, 1, tzinfo=UTC), "AG-NY", "America/New_York")
    # 22:00 on 7 December in New York is 03:00 UTC and 11:00 in Beijing on 8 December.
    world.clock.set(datetime(2026, 12, 8, 3, 0, tzinfo=UTC))
    world.log.place("ny-new", datetime(2026, 12, 8, 2, 30, tzinfo=UTC), "AG-NY")  # 21:30 NY
    world.log.place("ny-promise", datetime(2026, 12, 1, 15, 0, tzinfo=UTC), "AG-NY",
                    debtor_timezone="America/New_York")
    world.log.contact("ny-promise", datetime(2026, 12, 1, 15, 30, tzinfo=UTC), "AG-NY",
                      outcome="conversation")
    world.log.promise("ny-promise", datetime(2026, 12, 1, 15, 30, tzinfo=UTC), "P-1",
                      "2026-12-08", "AG-NY")
    world.log.place("bj-new", datetime(2026, 12, 8, 2, 30, tzinfo=UTC), "AG-BJ")

    body = world.get("ny", "/v1/worklist")
    assert (body["date"], body["timezone"], body["as_of"]) == (
        "2026-12-07", "America/New_York", "2026-12-08T03:00:00Z")
    assert (body["day_starts_at"], body["day_ends_at"]) == ("2026-12-07T05:00:00Z",
                                                            "2026-12-08T05:00:00Z")
    items = {(world.name(i["case_id"]), i["kind"]): i for i in body["items"]}
    assert set(items) == {("ny-new", "service_level_due"), ("ny-promise", "promise_due")}
    assert items[("ny-new", "service_level_due")]["reason"].startswith(
        "Due today, by 2026-12-07 23:30 America/New_York: make the first contact.")
    # The debtor lives in New York too: the promise due on 8 December falls due tomorrow.
    assert "falls due tomorrow (2026-12-08)" in items[("ny-promise", "promise_due")]["reason"]
    # Beijing's agency, at the same instant, is on 8 December.
    assert world.get("bj", "/v1/worklist")["date"] == "2026-12-08"
    # A date is New York's day: 5 December runs from 05:00 UTC on the 5th.
    past = world.get("ny", "/v1/worklist", date="2026-12-05")
    assert (past["as_of"], past["day_starts_at"]) == ("2026-12-05T05:00:00Z",
                                                      "2026-12-05T05:00:00Z")


# ---------------------------------------------------------------------- service-level days

def test_a_contact_entered_after_the_agency_s_midnight_missed_its_day(world: World) -> None:
    world.set_zone_since(datetime(2026, 12, 1, tzinfo=UTC), "AG-UTC", "UTC")
    # Called at 23:30 in Beijing (15:30 UTC), entered at 00:10 in Beijing (16:10 UTC): the
    # next day for a Beijing agency, the same UTC day for an agency on UTC days.
    called, entered = (datetime(2026, 12, 3, 15, 30, tzinfo=UTC),
                       datetime(2026, 12, 3, 16, 10, tzinfo=UTC))
    for name, agency in (("bj", "AG-BJ"), ("utc", "AG-UTC")):
        world.log.place(name, called - timedelta(minutes=30), agency)
        world.log.contact(name, called, agency, recorded=entered)
    report = world.get("auditor", "/v1/sla", as_of="2026-12-05T00:00:00Z")
    assert report["timezones"] == {"AG-BJ": "Asia/Shanghai", "AG-UTC": "UTC"}
    by_name = {world.name(c["case_id"]): c for c in report["cases"]}
    bj, utc = by_name["bj"], by_name["utc"]
    assert (bj["timezone"], utc["timezone"]) == ("Asia/Shanghai", "UTC")
    entry = levels(bj)["progress_entry"]
    assert (entry["status"], entry["due_at"]) == ("breached", "2026-12-03T16:00:00Z")
    assert ("the phone contact at 2026-12-03 23:30 Asia/Shanghai entered in the log the same "
            "day it happened (due 2026-12-04 00:00 Asia/Shanghai): breached; its entry came "
            "only at 2026-12-04 00:10 Asia/Shanghai, 10 minutes late") in entry["explanation"]
    assert not entry["outstanding"]
    assert [b["service_level"] for b in report["breaches"]
            if b["case_id"] == bj["case_id"]] == ["progress_entry"]
    entry = levels(utc)["progress_entry"]
    assert (entry["status"], entry["due_at"]) == ("met", "2026-12-04T00:00:00Z")


def test_whole_days_follow_the_agency_s_wall_clock_across_daylight_saving(
        world: World) -> None:
    world.clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    assert world.set_zone("ny", "AG-NY", "America/New_York").status_code == 201
    assert world.set_zone("utc", "AG-UTC", "UTC").status_code == 201
    # Assigned at 10:00 in New York (15:00 UTC) on 5 March; New York moves to daylight time
    # on 8 March, so 7 days later at 10:00 there is 14:00 UTC, 167 hours on.
    assigned = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
    world.log.place("ny", assigned, "AG-NY", debtor_timezone="America/New_York")
    world.log.place("utc", assigned, "AG-UTC", debtor_timezone="America/New_York")
    world.clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    report = world.get("auditor", "/v1/sla")
    assert report["as_of"] == "2026-03-20T00:00:00Z"  # default: now, from the clock
    by_name = {world.name(c["case_id"]): levels(c) for c in report["cases"]}
    assert by_name["ny"]["initial_calls"]["due_at"] == "2026-03-12T14:00:00Z"
    assert "(due 2026-03-12 10:00 America/New_York)" in \
        by_name["ny"]["initial_calls"]["explanation"]
    assert by_name["utc"]["initial_calls"]["due_at"] == "2026-03-12T15:00:00Z"
    # Two hours are two hours anywhere.
    assert by_name["ny"]["first_action"]["due_at"] == "2026-03-05T17:00:00Z"


def test_a_verdict_as_of_an_instant_uses_the_zone_in_force_then(world: World) -> None:
    world.clock.set(datetime(2026, 11, 1, tzinfo=UTC))
    assert world.set_zone("ny", "AG-NY", "America/New_York").status_code == 201
    world.log.place("ny", datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "AG-NY")
    # On 10 November the agency moves to Beijing's zone.
    world.clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    moved = world.set_zone("ny", "AG-NY", "Asia/Shanghai")
    assert moved.status_code == 201, moved.text
    assert [v["timezone"] for v in moved.json()["versions"]] == ["America/New_York",
                                                                 "Asia/Shanghai"]
    before = world.get("auditor", "/v1/sla", as_of="2026-11-05T00:00:00Z")
    after = world.get("auditor", "/v1/sla", as_of="2026-11-20T00:00:00Z")
    assert (before["timezones"], after["timezones"]) == ({"AG-NY": "America/New_York"},
                                                         {"AG-NY": "Asia/Shanghai"})
    # The 7 days that started on 2 November in New York still end there at that time.
    due = {levels(r["cases"][0])["initial_calls"]["due_at"] for r in (before, after)}
    assert due == {"2026-11-09T15:00:00Z"}
    assert "(due 2026-11-09 23:00 Asia/Shanghai)" in \
        levels(after["cases"][0])["initial_calls"]["explanation"]
    # A worklist day is read in the zone of the last setting made before that day ended.
    assert world.get("ny", "/v1/worklist", date="2026-11-05")["timezone"] == "America/New_York"
    assert world.get("ny", "/v1/worklist", date="2026-11-11")["timezone"] == "Asia/Shanghai"


# ---------------------------------------------------------------------- QA months

def test_a_qa_month_is_the_agency_s_month(world: World) -> None:
    world.set_zone_since(datetime(2026, 9, 1, tzinfo=UTC), "AG-NY", "America/New_York")
    # 01:00 on 1 November in Beijing is 17:00 UTC on 31 October: November's for Beijing.
    late_call = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    for name, agency in (("bj", "AG-BJ"), ("ny", "AG-NY")):
        world.log.place(name, datetime(2026, 10, 20, tzinfo=UTC), agency)
        world.log.contact(name, late_call, agency)

    def sample(who: str, agency: str, month: str) -> Any:
        return world.call(who, "POST", "/v1/qa/samples",
                          json={"agency_id": agency, "month": month, "seed": "s"})

    october, november = sample("bj", "AG-BJ", "2026-10"), sample("bj", "AG-BJ", "2026-11")
    assert (october.status_code, november.status_code) == (201, 201), october.text
    assert (november.json()["timezone"], november.json()["month_starts_at"]) == (
        "Asia/Shanghai", "2026-10-31T16:00:00Z")
    sizes = [r.json()["populations"]["recorded_calls"]["population_size"]
             for r in (october, november)]
    assert sizes == [0, 1]
    ny_october = sample("ny", "AG-NY", "2026-10").json()
    assert (ny_october["timezone"], ny_october["month_ends_at"]) == (
        "America/New_York", "2026-11-01T04:00:00Z")
    assert ny_october["populations"]["recorded_calls"]["population_size"] == 1
    # At 17:00 UTC on 30 November, December has begun in Beijing, not in New York.
    world.clock.set(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    assert sample("bj", "AG-BJ", "2026-12").status_code == 201
    refused = sample("ny", "AG-NY", "2026-12")
    assert refused.status_code == 422
    assert [f["path"] for f in refused.json()["error"]["fields"]] == ["body.month"]
    # The recorded zone keeps the sample verifiable whatever the agency's zone becomes.
    world.clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    assert world.set_zone("ny", "AG-NY", "Asia/Shanghai").status_code == 201
    again = world.get("ny", f"/v1/qa/samples/{ny_october['sample_id']}")
    assert again["timezone"] == "America/New_York"
    assert again["verification"]["matches"] is True
    assert again["verification"]["checked_at"] == "2026-12-01T12:00:00Z"


# ---------------------------------------------------------------------- one clock

def test_every_now_of_the_service_is_its_clock(world: World) -> None:
    world.log.place("c", datetime(2026, 12, 7, 22, 0, tzinfo=UTC), "AG-BJ")
    case_id = str(world.log.cases["c"])
    permission = world.get("bj", f"/v1/cases/{case_id}/contact-permission", channel="phone")
    assert permission["at"] == "2026-12-07T23:12:00Z"
    assert world.get("auditor", "/v1/sla")["as_of"] == "2026-12-07T23:12:00Z"
    world.clock.advance(timedelta(hours=1))
    settings = world.get("bj", "/v1/agencies/AG-BJ/settings")
    assert (settings["as_of"], settings["timezone"], settings["source"]) == (
        "2026-12-08T00:12:00Z", "Asia/Shanghai", "default")
    policy = world.call("admin", "POST", "/v1/creditors/BANK/policy",
                        json={"pack_id": "cn-gbt-45251-2025"})
    assert policy.json()["effective_from"] == "2026-12-08T00:12:00+00:00"


# ---------------------------------------------------------------------- the settings API

def test_settings_are_versions_with_who_and_when_and_a_repeat_records_nothing(
        world: World) -> None:
    first = world.set_zone("ny", "AG-NY", "America/New_York")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["timezone"], body["source"], body["effective_from"]) == (
        "America/New_York", "agency", "2026-12-07T23:12:00Z")
    assert body["versions"] == [{"effective_from": "2026-12-07T23:12:00Z",
                                 "timezone": "America/New_York",
                                 "set_at": "2026-12-07T23:12:00Z",
                                 "actor": "agency:AG-NY:ny"}]
    world.clock.advance(timedelta(minutes=5))
    again = world.set_zone("ny", "AG-NY", "America/New_York")
    assert again.status_code == 200
    assert again.json()["versions"] == body["versions"]
    # Scheduled for later: in force only from then.
    later = world.set_zone("admin", "AG-NY", "UTC", effective_from="2027-01-01T05:00:00Z")
    assert later.status_code == 201
    assert later.json()["timezone"] == "America/New_York"
    assert [v["timezone"] for v in later.json()["versions"]] == ["America/New_York", "UTC"]
    clash = world.set_zone("admin", "AG-NY", "Europe/Paris",
                           effective_from="2027-01-01T05:00:00Z")
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "setting_conflict"
    world.clock.set(datetime(2027, 1, 2, tzinfo=UTC))
    assert world.get("auditor", "/v1/agencies/AG-NY/settings")["timezone"] == "UTC"


@pytest.mark.parametrize(("body", "path"), [
    ({"timezone": "Mars/Olympus_Mons"}, "body.timezone"),
    ({"timezone": "asia/shanghai "}, "body.timezone"),
    ({"timezone": ""}, "body.timezone"),
    ({"timezone": "../../etc/passwd"}, "body.timezone"),
    ({"timezone": "A" * 65}, "body.timezone"),
    ({"timezone": 8}, "body.timezone"),
    ({"timezone": None}, "body.timezone"),
    ({}, "body.timezone"),
    ({"timezone": "UTC", "colour": "red"}, "body.colour"),
    ({"timezone": "UTC", "effective_from": "2026-12-08T09:00:00"}, "body.effective_from"),
    ({"timezone": "UTC", "effective_from": "2026-12-01T00:00:00Z"}, "body.effective_from"),
    ({"timezone": "UTC", "effective_from": "9999-01-01T00:00:00Z"}, "body.effective_from"),
])
def test_a_bad_setting_is_refused_with_its_field_path(world: World, body: dict[str, Any],
                                                       path: str) -> None:
    response = world.call("admin", "PUT", "/v1/agencies/AG-BJ/settings", json=body)
    assert response.status_code == 422, response.text
    assert [f["path"] for f in response.json()["error"]["fields"]] == [path]
    assert world.get("admin", "/v1/agencies/AG-BJ/settings")["versions"] == []


def test_who_may_set_and_read_an_agency_s_settings(world: World) -> None:
    world.log.place("c", datetime(2026, 12, 1, tzinfo=UTC), "AG-BJ", creditor="BANK")
    assert world.set_zone("ny", "AG-BJ", "UTC").status_code == 403
    assert world.set_zone("auditor", "AG-BJ", "UTC").status_code == 403
    assert world.set_zone("bank", "AG-BJ", "UTC").status_code == 403
    assert world.set_zone("admin", "AG-BJ", "Asia/Shanghai").status_code == 201
    assert world.set_zone("bj", "AG-BJ", "Asia/Shanghai").status_code == 200
    for who in ("bj", "admin", "auditor", "bank"):
        assert world.get(who, "/v1/agencies/AG-BJ/settings")["timezone"] == "Asia/Shanghai"
    assert world.call("ny", "GET", "/v1/agencies/AG-BJ/settings").status_code == 403
    assert world.call("bank2", "GET", "/v1/agencies/AG-BJ/settings").status_code == 403
    assert world.client.get("/v1/agencies/AG-BJ/settings").status_code == 401
    bad_id = world.call("admin", "PUT", "/v1/agencies/bad id/settings", json={"timezone": "UTC"})
    assert bad_id.status_code == 422


# ---------------------------------------------------------------------- rebuilds

def test_settings_survive_a_contact_log_rebuild_with_swap(world: World, tmp_path: Path) -> None:
    case_url = f"sqlite:///{tmp_path}/case.db"
    cases = build_application(CaseSettings(database_url=case_url), world.common)
    try:
        receipt, _ = placement.place(cases, PlacementBatch(
            creditor_id="BANK", placement_ref="P-R", request_sha256="r",
            received_at=datetime(2026, 12, 3, 1, 0, tzinfo=UTC),
            accounts=[AccountInput(
                index=0, account_ref="R-1", currency="CNY", dpd=40, agency_id="AG-NY",
                balances={"principal": Decimal("500.00")}, term_end=date(2027, 6, 30),
                debtor=DebtorInput(name="n", national_id="R1", phones=("+8613800000000",),
                                   address=None, email=None, timezone="Asia/Shanghai"))]),
            actor="test")
        case_id = uuid.UUID(receipt["accepted"][0]["case_id"])
        cases.execute(case_id, lambda c: c.record_contact(
            contact_id="R-call", channel="phone", direction="outbound", party="none",
            outcome="no_answer", action_code="NOANS", agent_id="agent-1", recording_ref=None,
            contact_point=None, occurred_at=datetime(2026, 12, 3, 2, 0, tzinfo=UTC), note=None,
            actor="test"), expected_version=None, authorize=lambda _: None)
        events = cases.events_after(0, 100)
        world.service.contact_log.apply("feed", 0, [Delivery(e.position, e) for e in events])
    finally:
        cases.close()
    assert world.set_zone("ny", "AG-NY", "America/New_York").status_code == 201
    world.clock.advance(timedelta(days=1))
    assert world.set_zone("admin", "AG-NY", "America/Chicago").status_code == 201
    settings = world.get("auditor", "/v1/agencies/AG-NY/settings")
    report = world.get("auditor", "/v1/sla", agency_id="AG-NY")

    # The command as an operator runs it, in a process of its own (it configures logging
    # for itself, which must not outlive it in this test process).
    assert world.common.master_key is not None
    env = {**os.environ, "CASE_DATABASE_URL": case_url, "CONTACT_DATABASE_URL": world.url,
           "CASETRAIL_VAR_DIR": str(world.common.var_dir),
           "CASETRAIL_MASTER_KEY": world.common.master_key.get_secret_value()}
    swapped = subprocess.run(
        [sys.executable, "-m", "casetrail.cli", "projections", "rebuild", "contact-log",
         "--swap", "--transport", "log"], env=env, capture_output=True, text=True, timeout=300,
        check=False)
    assert swapped.returncode == 0, swapped.stdout + swapped.stderr
    assert "swapped: the live copy now holds the shadow's" in swapped.stdout + swapped.stderr

    assert world.get("auditor", "/v1/agencies/AG-NY/settings") == settings
    rebuilt = world.get("auditor", "/v1/sla", agency_id="AG-NY")
    assert rebuilt == report
    assert rebuilt["timezones"] == {"AG-NY": "America/Chicago"}
    assert [c["case_id"] for c in rebuilt["cases"]] == [str(case_id)]
