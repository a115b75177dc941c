"""Each service's OpenAPI document tells the truth an integrator builds on: how to
authenticate, every status each operation answers with the error envelope's schema, a typed
schema for every success; /docs and /redoc work offline; and a client generated from the
document authenticates and makes a call."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hostile.world import World, serve

SERVICES = ["case", "contact", "billing"]
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("openapi"))
    w.seed()
    yield w
    w.close()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_declares_bearer_and_api_key_authentication(world: World,
                                                                 service: str) -> None:
    document = world.apps[service].openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-API-Key"}
    for name, operation in operations(document):
        assert operation["security"] == [{"bearer": []}, {"apiKey": []}], name


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_its_errors_in_the_envelope(world: World,
                                                              service: str) -> None:
    document = world.apps[service].openapi()
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's shape is never sent
    for name, operation in operations(document):
        responses = operation["responses"]
        expected = {"401", "503"}
        if "requestBody" in operation:
            expected |= {"413", "415", "422"}
        if operation.get("parameters"):
            expected.add("422")
        assert expected <= set(responses), (name, sorted(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (name, status)


# Every JSON success names a model (nothing is exempt).
UNTYPED = re.compile(r"^$")


@pytest.mark.parametrize("service", SERVICES)
def test_every_success_has_a_typed_schema(world: World, service: str) -> None:
    document = world.apps[service].openapi()
    for name, operation in operations(document):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, name
        for status, response in successes.items():
            for media_type, content in response["content"].items():
                schema = content["schema"]
                if media_type == "application/json" and not UNTYPED.match(name):
                    assert schema.get("$ref", "").startswith("#/components/schemas/"), (
                        name, status, schema)
                else:
                    assert schema.get("$ref") or schema.get("type"), (name, status, schema)


def test_commands_document_the_replay_and_placements_their_rows(world: World) -> None:
    document = world.apps["case"].openapi()
    for name, operation in operations(document):
        if name.startswith("POST /v1/cases/"):
            assert {"200", "201", "403", "404", "409"} <= set(operation["responses"]), name
    placement = document["components"]["schemas"]["PlacementIn"]
    row = placement["properties"]["accounts"]["items"]
    assert row["title"] == "AccountIn"
    assert {"account_ref", "balances", "dpd", "debtor"} <= set(row["required"])
    post = document["paths"]["/v1/placements"]["post"]["responses"]
    assert post["200"]["headers"]["Idempotent-Replay"]
    assert post["201"]["links"]["GetCase"]["parameters"] == {
        "case_id": "$response.body#/accepted/0/case_id"}


@pytest.mark.parametrize("service", SERVICES)
def test_docs_and_redoc_load_nothing_from_the_internet(world: World, service: str) -> None:
    client = world.clients[service]
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", html.text)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), (page, url)  # served by the service itself
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.content, url
        assert "fonts.googleapis" not in html.text
    swagger = client.get("/docs").text
    assert '"persistAuthorization": true' in swagger  # Authorize survives a reload
    assert '"validatorUrl": null' in swagger  # no call to the online validator


@pytest.mark.parametrize("service", SERVICES)
def test_try_it_out_after_authorize_sends_what_the_scheme_says(world: World,
                                                               service: str) -> None:
    """Swagger UI's Authorize with the `bearer` scheme sends `Authorization: Bearer <key>`,
    with the `apiKey` scheme `X-API-Key: <key>`; both are accepted, nothing else is."""
    path = {"case": "/v1/cases", "contact": "/v1/policy-packs", "billing": "/v1/invoices"}
    key = world.keys["auditor"]
    client = world.clients[service]
    assert client.get(path[service], headers={"Authorization": f"Bearer {key}"}
                      ).status_code == 200
    assert client.get(path[service], headers={"X-API-Key": key}).status_code == 200
    denied = client.get(path[service], headers={"Authorization": f"Basic {key}"})
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "unauthenticated"
    assert denied.headers["WWW-Authenticate"] == "Bearer"


CALLS = {  # a generated module, its function, keyword arguments, and what the answer holds
    "case": ("api.cases.list_cases_v1_cases_get", {"limit": 5}, "items"),
    "contact": ("api.compliance.policy_packs_v1_policy_packs_get", {}, "packs"),
    "billing": ("api.invoices.list_invoices_v1_invoices_get", {}, "invoices"),
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_generated_client_authenticates_and_calls(world: World, service: str,
                                                    tmp_path: Path) -> None:
    spec = tmp_path / f"{service}.json"
    spec.write_text(json.dumps(world.apps[service].openapi()))
    (tmp_path / "config.json").write_text(json.dumps({
        "project_name_override": f"{service}_client", "package_name_override": f"{service}_client",
        "post_hooks": []}))
    generated = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
         "--output-path", str(tmp_path / "out"), "--meta", "none", "--config",
         str(tmp_path / "config.json")], capture_output=True, text=True, timeout=120)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Unable to parse" not in generated.stdout, generated.stdout
    assert "Cannot parse response" not in generated.stdout, generated.stdout
    sys.path.insert(0, str(tmp_path))
    (tmp_path / f"{service}_client").symlink_to(tmp_path / "out")
    try:
        package = importlib.import_module(f"{service}_client")
        module_name, kwargs, field = CALLS[service]
        call = importlib.import_module(f"{service}_client.{module_name}")
        with serve(world.apps[service]) as url:
            client = package.AuthenticatedClient(base_url=url, token=world.keys["auditor"])
            response = call.sync_detailed(client=client, **kwargs)
            assert response.status_code == 200, response.content
            assert field in response.parsed.to_dict()
            anonymous = package.Client(base_url=url)
            refused = call.sync_detailed(client=anonymous, **kwargs)
            assert refused.status_code == 401
            assert refused.parsed.error.code == "unauthenticated"
            keyed = package.AuthenticatedClient(base_url=url, token=world.keys["auditor"],
                                                prefix="", auth_header_name="X-API-Key")
            assert call.sync_detailed(client=keyed, **kwargs).status_code == 200
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == f"{service}_client"]:
            del sys.modules[name]


def test_a_live_server_serves_the_docs_and_their_assets(world: World) -> None:
    with serve(world.apps["billing"]) as url:
        page = httpx.get(f"{url}/docs", timeout=10)
        assert page.status_code == 200
        for asset in re.findall(r"""['"](/docs/assets/[^'"]+)['"]""", page.text):
            assert httpx.get(f"{url}{asset}", timeout=10).status_code == 200
