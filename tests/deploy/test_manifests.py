"""The Kubernetes manifests (deploy/k8s) render and validate offline, and the validator catches
broken ones: a wrong type, an unknown field, a missing required field, a committed Secret, a
relay that could run twice, more consumers than partitions.

Needs PyYAML, jsonschema and kubernetes-validate in the test environment, and for the tests that
render, kustomize (scripts/validate-k8s.sh installs it under ~/.cache/casetrail). Without them
these tests skip, unless CASETRAIL_REQUIRE_DEPLOY=1 says they must run.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
REQUIRED = bool(os.environ.get("CASETRAIL_REQUIRE_DEPLOY"))


def _unavailable(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"CASETRAIL_REQUIRE_DEPLOY is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def validator() -> ModuleType:
    """deploy/k8s/validate.py, loaded from its path (it is a script, not a package)."""
    for name in ("yaml", "jsonschema", "kubernetes_validate"):
        if importlib.util.find_spec(name) is None:
            _unavailable(f"{name} is not installed (dev dependency; "
                         "scripts/validate-k8s.sh runs without it)")
    spec = importlib.util.spec_from_file_location("casetrail_k8s_validate", K8S / "validate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kustomize(validator: ModuleType) -> list[str]:
    """The kustomize command (scripts/validate-k8s.sh installs a pinned one)."""
    command: list[str] | None = validator.find_kustomize()
    if command is None:
        _unavailable("no kustomize: run scripts/validate-k8s.sh once")
    return command


@pytest.fixture(scope="module")
def prod(validator: ModuleType, kustomize: list[str]) -> list[dict[str, Any]]:
    """The rendered production overlay."""
    objects: list[dict[str, Any]] = validator.load_target(str(K8S / "overlays" / "prod"),
                                                          kustomize)
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """One object by kind and name."""
    return next(o for o in objects
                if o["kind"] == kind and o["metadata"]["name"] == name)


def messages(problems: list[Any]) -> str:
    """All findings as one text, for assertions."""
    return "\n".join(str(p) for p in problems)


def check(validator: ModuleType, objects: list[dict[str, Any]]) -> list[Any]:
    """Schema and policy findings for objects meant for the casetrail namespace."""
    return list(validator.check_objects("test", objects, "casetrail"))


# --- the committed manifests are valid ------------------------------------------------------


@pytest.mark.parametrize("target", ["overlays/dev", "overlays/dev/migrations", "overlays/prod",
                                    "overlays/prod/data", "overlays/prod/migrations"])
def test_overlay_renders_and_validates(validator: ModuleType, kustomize: list[str],
                                       target: str) -> None:
    namespace = validator.TARGETS[target]
    objects, problems = validator.check_target(str(K8S / target), kustomize, namespace)
    assert objects
    assert problems == [], messages(problems)


def test_migrations_render_the_same_config_as_the_workloads(
        validator: ModuleType, kustomize: list[str]) -> None:
    """The Jobs run first, alone: they must create the very ConfigMaps the Deployments use."""
    for env in ("dev", "prod"):
        app = validator.load_target(str(K8S / "overlays" / env), kustomize)
        jobs = validator.load_target(str(K8S / "overlays" / env / "migrations"), kustomize)
        app_maps = {o["metadata"]["name"]: o["data"] for o in app if o["kind"] == "ConfigMap"}
        job_maps = {o["metadata"]["name"]: o["data"] for o in jobs if o["kind"] == "ConfigMap"}
        assert app_maps == job_maps
        images = {c["image"] for o in app + jobs if o["kind"] in ("Deployment", "Job")
                  for c in o["spec"]["template"]["spec"]["containers"]}
        assert len(images) == 1, images


def test_production_settings(validator: ModuleType, prod: list[dict[str, Any]]) -> None:
    config = validator._config_values(prod)
    assert config["CASETRAIL_ENV"] == "production"
    assert config["KAFKA_REPLICATION_FACTOR"] == "3"
    assert config["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    topic = find(prod, "KafkaTopic", "case-events")["spec"]
    assert (topic["topicName"], topic["partitions"], topic["replicas"]) == \
        ("casetrail.case-events", 12, 3)
    assert topic["config"]["retention.ms"] == -1
    assert find(prod, "KafkaTopic", "case-events-dlq")["spec"]["topicName"] == \
        "casetrail.case-events.dlq"
    assert find(prod, "Cluster", "casetrail-pg")["spec"]["instances"] == 3
    relay = find(prod, "Deployment", "case-relay")["spec"]
    assert (relay["replicas"], relay["strategy"]["type"]) == (1, "Recreate")
    # The deadlines worker: its own command, two replicas (safe: a fact is recorded once),
    # health and metrics on the ops port like every worker.
    deadlines = find(prod, "Deployment", "case-deadlines")["spec"]
    [worker] = deadlines["template"]["spec"]["containers"]
    assert (deadlines["replicas"], worker["args"]) == (2, ["deadlines"])
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"name": "CASETRAIL_METRICS_PORT", "value": "9100"} in worker["env"]
    assert not [o for o in prod if o["kind"] == "Secret"]


# --- broken manifests fail -------------------------------------------------------------------


def test_replicas_as_a_word_fails(validator: ModuleType, prod: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(prod)
    find(broken, "Deployment", "contact-log-consumer")["spec"]["replicas"] = "three"
    found = messages(check(validator, broken))
    assert "spec.replicas: 'three' is not of type 'integer'" in found


def test_unknown_field_fails(validator: ModuleType, prod: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(prod)
    find(broken, "Deployment", "case-api")["spec"]["template"]["spec"]["containers"][0][
        "livenesProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}}
    assert "'livenesProbe' was unexpected" in messages(check(validator, broken))


def test_kafka_topic_partitions_as_string_fails(validator: ModuleType) -> None:
    """Custom resources are checked against the vendored CRD schema (no kustomize needed)."""
    topics = validator.load_target(str(K8S / "overlays" / "prod" / "data" / "kafka-topics.yaml"),
                                   None)
    broken = copy.deepcopy(topics)
    broken[0]["spec"]["partitions"] = "12"
    found = messages(validator.schema_problems("test", broken))
    assert "spec.partitions: '12' is not of type 'integer'" in found
    assert validator.schema_problems("test", topics) == []


@pytest.mark.parametrize(("kind", "name", "mutate", "expected"), [
    ("KafkaTopic", "case-events", lambda s: s["spec"].update(replicas=0),
     "spec.replicas: 0 is less than the minimum of 1"),
    ("KafkaTopic", "case-events", lambda s: s["spec"].update(partitionz=12),
     "'partitionz' was unexpected"),
    ("Kafka", "casetrail", lambda s: s["spec"]["kafka"].pop("listeners"),
     "'listeners' is a required property"),
    ("KafkaNodePool", "broker", lambda s: s["spec"].update(roles=["brokers"]),
     "'brokers' is not one of ['controller', 'broker']"),
    ("Cluster", "casetrail-pg", lambda s: s["spec"].update(instances="3"),
     "spec.instances: '3' is not of type 'integer'"),
    ("ScheduledBackup", "casetrail-pg-nightly", lambda s: s["spec"].pop("schedule"),
     "'schedule' is a required property"),
    ("ObjectStore", "casetrail-pg-backups", lambda s: s["spec"]["configuration"].pop(
        "destinationPath"), "'destinationPath' is a required property"),
    ("KafkaTopic", "case-events", lambda s: s["metadata"].update(name="Case_Events"),
     "metadata.name: 'Case_Events' does not match"),
])
def test_broken_custom_resources_fail(validator: ModuleType, prod: list[dict[str, Any]],
                                      kind: str, name: str, mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(prod)
    mutate(find(broken, kind, name))
    assert expected in messages(validator.schema_problems("test", broken))


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda o: o.append({"apiVersion": "v1", "kind": "Secret",
                         "metadata": {"name": "casetrail-keys", "namespace": "casetrail"},
                         "stringData": {"master-key": "x"}}),
     "Secrets are never committed"),
    (lambda o: find(o, "Deployment", "case-relay")["spec"].update(replicas=2),
     "the relay runs exactly 1 replica"),
    (lambda o: find(o, "Deployment", "case-relay")["spec"].update(
        strategy={"type": "RollingUpdate"}), "strategy must be Recreate"),
    (lambda o: find(o, "Deployment", "billing-ledger-consumer")["spec"].update(replicas=13),
     "13 consumer replicas but 12 partitions"),
    (lambda o: find(o, "Deployment", "case-api")["spec"]["template"]["spec"]["containers"][0][
        "env"].append({"name": "CASE_DATABASE_URL", "value": "postgresql://u:pw@db/case"}),
     "CASE_DATABASE_URL must come from a Secret"),
    (lambda o: next(c for c in o if c["kind"] == "ConfigMap" and c["metadata"]["name"]
                    .startswith("casetrail-common"))["data"].update(CASETRAIL_MASTER_KEY="x"),
     "CASETRAIL_MASTER_KEY looks like a secret"),
    (lambda o: find(o, "Deployment", "contact-api")["spec"]["template"]["spec"]["containers"][0]
     .pop("readinessProbe"), "readinessProbe must be an httpGet of /readyz"),
    (lambda o: find(o, "Deployment", "contact-log-consumer")["spec"]["template"]["spec"][
        "containers"][0].pop("livenessProbe"), "livenessProbe must check the ops port 9100"),
    (lambda o: find(o, "Deployment", "billing-api")["spec"]["template"]["spec"]["containers"][0][
        "securityContext"].update(readOnlyRootFilesystem=False),
     "readOnlyRootFilesystem must be true"),
    (lambda o: find(o, "Deployment", "case-api")["spec"]["template"]["spec"]["containers"][0][
        "resources"].pop("limits"), "resources.limits.memory is missing"),
    (lambda o: find(o, "Deployment", "case-api")["spec"]["template"]["spec"]["containers"][0]
     .update(image="registry.example.com/casetrail/casetrail:latest"), "pinned tag or digest"),
    (lambda o: find(o, "KafkaTopic", "case-events")["spec"].update(partitions=6),
     "6 disagrees with KAFKA_PARTITIONS=12"),
    (lambda o: o.remove(find(o, "NetworkPolicy", "default-deny-all")),
     "no default deny-all"),
    (lambda o: o.remove(find(o, "HorizontalPodAutoscaler", "contact-api")),
     "an API needs a HorizontalPodAutoscaler"),
    (lambda o: find(o, "Service", "case-api")["metadata"].update(namespace="default"),
     "namespace is 'default', expected 'casetrail'"),
])
def test_policy_violations_fail(validator: ModuleType, prod: list[dict[str, Any]],
                                mutate: Any, expected: str) -> None:
    broken = copy.deepcopy(prod)
    mutate(broken)
    assert expected in messages(check(validator, broken))


def test_broken_overlay_fails_end_to_end(validator: ModuleType, kustomize: list[str],
                                         tmp_path: Path) -> None:
    """A kustomization patching the prod overlay with wrong types fails the command line."""
    overlay = tmp_path / "broken"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {os.path.relpath(K8S / 'overlays' / 'prod', overlay)}
patches:
  - target: {{kind: Deployment, name: case-relay}}
    patch: |-
      - {{op: replace, path: /spec/replicas, value: three}}
  - target: {{kind: KafkaTopic, name: case-events}}
    patch: |-
      - {{op: replace, path: /spec/partitions, value: twelve}}
""")
    env = {**os.environ, "CASETRAIL_KUSTOMIZE": " ".join(kustomize)}
    result = subprocess.run(
        [sys.executable, str(K8S / "validate.py"), "--namespace", "casetrail", str(overlay)],
        capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Deployment/case-relay: spec.replicas: 'three' is not of type 'integer'" in result.stdout
    assert "KafkaTopic/case-events: spec.partitions: 'twelve' is not of type 'integer'" \
        in result.stdout

    ok = subprocess.run(
        [sys.executable, str(K8S / "validate.py"), str(K8S / "overlays" / "prod")],
        capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
