"""Who may do what, bad input answered with 422 and the field at fault (never 500), contract
versions, and the billing plumbing (health, preview of a period not yet billed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import World


def run_body(**overrides: Any) -> dict[str, Any]:
    body = {"creditor_id": "BANK", "agency_id": "AG-A", "period_start": "2026-01-01",
            "period_end": "2026-01-31"}
    body.update(overrides)
    return body


def test_every_endpoint_needs_a_key(world: World) -> None:
    for method, path in [("GET", "/v1/contracts/BANK/AG-A"), ("GET", "/v1/invoices"),
                         ("POST", "/v1/billing-runs"), ("GET", "/v1/invoices/INV-X"),
                         ("GET", "/v1/agencies/AG-A/performance?period=2026-01"),
                         ("GET", "/v1/creditors/BANK/agency-comparison?period=2026-01")]:
        assert world.client.request(method, path).status_code == 401, path
    assert world.client.get("/healthz").json() == {"status": "ok"}
    assert world.client.get("/readyz").status_code == 200


def test_contracts_are_written_by_their_creditor_or_an_admin(world: World) -> None:
    body = world.contract_body()
    assert world.put("bank", "/v1/contracts/BANK/AG-A", body).status_code == 201
    assert world.put("bank2", "/v1/contracts/BANK/AG-A", body).status_code == 403
    assert world.put("agency", "/v1/contracts/BANK/AG-A", body).status_code == 403
    assert world.put("auditor", "/v1/contracts/BANK/AG-A", body).status_code == 403
    assert world.put("admin", "/v1/contracts/BANK/AG-B", body).status_code == 201
    assert world.get("auditor", "/v1/contracts/BANK/AG-A").status_code == 200
    assert world.get("bank2", "/v1/contracts/BANK/AG-A").status_code == 403
    assert world.get("agency", "/v1/contracts/BANK/AG-A").status_code == 403
    version = world.get("bank", "/v1/contracts/BANK/AG-A").json()["versions"][0]
    assert version["actor"] == "creditor:BANK:bank"


def test_the_same_terms_again_are_a_retry_not_a_new_version(world: World) -> None:
    first = world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body())
    again = world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body())
    changed = world.put("bank", "/v1/contracts/BANK/AG-A",
                        world.contract_body(effective_from="2026-03-01", tail_days=30))
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 201)
    assert again.json() == first.json()
    assert [v["version"] for v in world.get(
        "bank", "/v1/contracts/BANK/AG-A").json()["versions"]] == [1, 2]


def test_contract_versions_never_reach_into_invoiced_periods_or_change_currency(
        world: World) -> None:
    world.place()
    world.sync()
    world.contract(world.contract_body())
    world.bill("2026-01-01", "2026-01-31")

    retroactive = world.put("bank", "/v1/contracts/BANK/AG-A",
                            world.contract_body(effective_from="2026-01-31", tail_days=3))
    other_currency = world.put("bank", "/v1/contracts/BANK/AG-A",
                               world.contract_body(effective_from="2026-02-01", currency="USD"))
    assert retroactive.status_code == other_currency.status_code == 409
    assert retroactive.json()["error"]["code"] == "contract_period_invoiced"
    assert retroactive.json()["error"]["fields"][0]["path"] == "body.effective_from"
    assert other_currency.json()["error"]["fields"][0]["path"] == "body.currency"
    assert world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(
        effective_from="2026-02-01", tail_days=3)).status_code == 201


@pytest.mark.parametrize(("change", "path"), [
    ({"rates": {"M1": "-0.10"}}, "body.rates.M1"),
    ({"rates": {"M2": "1.5"}}, "body.rates.M2"),
    ({"rates": {"M2": 0.18}}, "body.rates.M2"),
    ({"rates": {"M2": "eighteen"}}, "body.rates.M2"),
    ({"rates": {"M 2": "0.18"}}, "body.rates.M 2.[key]"),
    ({"rates": {}}, "body.rates"),
    ({"tiers": {"M3": [{"up_to": "500", "rate": "0.2"}, {"up_to": "100", "rate": "0.1"},
                       {"up_to": None, "rate": "0.05"}]}}, "body.tiers.M3"),
    ({"tiers": {"M3": [{"up_to": "500", "rate": "2"}, {"up_to": None, "rate": "0.1"}]}},
     "body.tiers.M3.0.rate"),
    ({"currency": "XYZ"}, "body.currency"),
    ({"minimum_fee": "-5"}, "body.minimum_fee"),
    ({"minimum_fee": "10.001"}, "body.minimum_fee"),
    ({"tax_rate": "1.06"}, "body.tax_rate"),
    ({"tail_days": -1}, "body.tail_days"),
    ({"effective_from": "2026-02-30"}, "body.effective_from"),
    ({"surprise": True}, "body.surprise"),
])
def test_bad_contract_terms_are_422_at_their_field(world: World, change: dict[str, Any],
                                                   path: str) -> None:
    response = world.put("bank", "/v1/contracts/BANK/AG-A", world.contract_body(**change))
    assert response.status_code == 422, response.text
    assert path in [f["path"] for f in response.json()["error"]["fields"]]


@pytest.mark.parametrize(("change", "path"), [
    ({"period_end": "2025-12-31"}, "body.period_end"),
    ({"period_start": "2026-13-01"}, "body.period_start"),
    ({"creditor_id": "BANK/../x"}, "body.creditor_id"),
    ({"agency_id": ""}, "body.agency_id"),
])
def test_bad_billing_runs_are_422_at_their_field(world: World, change: dict[str, Any],
                                                 path: str) -> None:
    response = world.post("admin", "/v1/billing-runs", run_body(**change))
    assert response.status_code == 422, response.text
    assert path in [f["path"] for f in response.json()["error"]["fields"]]


def test_bad_query_periods_are_422_at_their_parameter(world: World) -> None:
    preview = world.get("bank", "/v1/billing-runs/preview", creditor_id="BANK",
                        agency_id="AG-A", period_start="2026-02-01", period_end="2026-01-01")
    month = world.get("agency", "/v1/agencies/AG-A/performance", period="2026-13")
    neither = world.get("bank", "/v1/creditors/BANK/agency-comparison")
    backwards = world.get("bank", "/v1/creditors/BANK/agency-comparison",
                          **{"from": "2026-02-01", "to": "2026-01-01"})
    for response, path in [(preview, "query.period_end"), (month, "query.period"),
                           (neither, "query.period"), (backwards, "query.period_end")]:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["fields"][0]["path"] == path


def test_billing_runs_belong_to_the_pair(world: World) -> None:
    world.place()
    world.sync()
    world.contract(world.contract_body())
    assert world.post("agency_b", "/v1/billing-runs", run_body()).status_code == 403
    assert world.post("bank2", "/v1/billing-runs", run_body()).status_code == 403
    assert world.post("auditor", "/v1/billing-runs", run_body()).status_code == 403
    issued = world.bill("2026-01-01", "2026-01-31", who="agency")
    assert issued["issued_by"] == "agency:AG-A:agency"
    assert world.get("auditor", "/v1/billing-runs/preview", creditor_id="BANK",
                     agency_id="AG-A", period_start="2026-01-01",
                     period_end="2026-01-31").json()["matches"] is True
    assert world.get("agency_b", "/v1/billing-runs/preview", creditor_id="BANK",
                     agency_id="AG-A", period_start="2026-01-01",
                     period_end="2026-01-31").status_code == 403


def test_invoice_lists_are_scoped_to_the_caller(world: World) -> None:
    world.place(agency="AG-A")
    world.place(agency="AG-B")
    world.sync()
    world.contract(world.contract_body(), agency="AG-A")
    world.contract(world.contract_body(), agency="AG-B")
    world.bill("2026-01-01", "2026-01-31", agency="AG-A")
    world.bill("2026-01-01", "2026-01-31", agency="AG-B")

    def ids(who: str, **params: Any) -> list[str]:
        return [i["invoice_id"] for i in world.get(who, "/v1/invoices", **params).json()[
            "invoices"]]

    assert ids("auditor") == ["INV-BANK-AG-A-00001", "INV-BANK-AG-B-00001"]
    assert ids("bank") == ids("admin") == ids("auditor")
    assert ids("agency") == ["INV-BANK-AG-A-00001"]
    assert ids("agency", agency_id="AG-B") == []
    assert ids("bank2") == []
    assert ids("auditor", agency_id="AG-B") == ["INV-BANK-AG-B-00001"]
    page = world.get("auditor", "/v1/invoices", limit=1).json()
    assert page["next_after"] == "INV-BANK-AG-A-00001"


def test_a_pair_without_a_contract_in_force_cannot_be_billed(world: World) -> None:
    world.place()
    world.sync()
    none_at_all = world.post("bank", "/v1/billing-runs", run_body())
    world.contract(world.contract_body(effective_from="2026-02-01"))
    not_yet = world.post("bank", "/v1/billing-runs", run_body())
    assert none_at_all.status_code == not_yet.status_code == 409
    assert not_yet.json()["error"]["code"] == "no_contract"
    assert "in force on 2026-01-31" in not_yet.json()["error"]["message"]


def test_a_preview_of_an_unbilled_period_stores_nothing(world: World) -> None:
    case = world.place()
    world.contract(world.contract_body())
    world.pay(case, "PAY-1", "1000.00", "2026-01-10")
    world.sync()
    preview = world.get("bank", "/v1/billing-runs/preview", creditor_id="BANK",
                        agency_id="AG-A", period_start="2026-01-01",
                        period_end="2026-01-31").json()
    assert preview["stored"] is False
    assert preview["matches"] is None
    assert preview["invoice_id"] == "INV-BANK-AG-A-00001"
    assert world.get("bank", "/v1/invoices").json()["invoices"] == []
    issued = world.bill("2026-01-01", "2026-01-31")
    assert issued["content_hash"] == preview["content_hash"]
