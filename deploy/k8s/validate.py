"""Offline validation of casetrail's Kubernetes manifests.

For each target (a kustomization directory, rendered with kustomize, or a YAML file) it checks:

1. core kinds against the Kubernetes OpenAPI schemas shipped by the `kubernetes-validate`
   package (strict: unknown fields are errors), for every Kubernetes version in KUBE_VERSIONS;
2. custom resources (Strimzi, CloudNativePG, Barman Cloud) against their CRDs' openAPIV3Schema,
   vendored under schemas/ (see schemas/README.md), also strict;
3. casetrail's own rules: no Secret objects (only references to them), secrets never as plain
   env values, non-root read-only containers without capabilities, requests and limits, the
   probes of APIs and workers, one relay with the Recreate strategy, consumer replicas within
   the topic's partitions, every API with its Service, HPA and PDB, a default-deny policy, the
   namespace, and Kafka settings that agree with the KafkaTopic.

Nothing here touches the network. Usage (scripts/validate-k8s.sh installs the tools first):

    python deploy/k8s/validate.py                          # every overlay (TARGETS)
    python deploy/k8s/validate.py deploy/k8s/overlays/prod broken.yaml
    python deploy/k8s/validate.py extract-crd --out deploy/k8s/schemas --source TEXT crd.yaml...

Exit status: 0 valid, 1 invalid, 2 a target could not be rendered or read.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"

# The oldest Kubernetes minor supported (preStop `sleep`, autoscaling/v2, policy/v1) and the
# newest that kubernetes-validate knows: a removed or changed API fails one of the two.
KUBE_VERSIONS = ("1.33", "1.37")
KUSTOMIZE_VERSION = "v5.8.2"  # keep in step with scripts/validate-k8s.sh

# target (relative to this directory) -> the namespace every namespaced object must be in
TARGETS: dict[str, str] = {
    "overlays/dev": "casetrail-dev",
    "overlays/dev/migrations": "casetrail-dev",
    "overlays/prod": "casetrail",
    "overlays/prod/data": "casetrail",
    "overlays/prod/migrations": "casetrail",
}

# API groups whose kinds are validated against schemas/ rather than kubernetes-validate
CRD_GROUPS = frozenset({"kafka.strimzi.io", "postgresql.cnpg.io", "barmancloud.cnpg.io"})
CLUSTER_SCOPED = frozenset({"Namespace", "CustomResourceDefinition", "ClusterRole",
                            "ClusterRoleBinding", "PriorityClass", "StorageClass"})
# environment variables that carry a secret: they must come from a Secret, never a literal
SECRET_ENV = re.compile(r"^[A-Z0-9_]*(KEY|KEYS|PASSWORD|SECRET|TOKEN|DATABASE_URL)$")
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
METRICS_PORT = 9100
EVENTS_TOPIC = "casetrail.case-events"

# ObjectMeta as the API server checks it on create (CRD schemas say only `type: object`)
OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63, "pattern": DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "generateName": {"type": "string"},
    },
    "additionalProperties": False,
}


class RenderError(Exception):
    """A target could not be rendered or read."""


@dataclass(frozen=True)
class Problem:
    """One finding: where (target, object) and what."""

    target: str
    obj: str
    message: str

    def __str__(self) -> str:
        return f"{self.target}: {self.obj}: {self.message}"


# ---------------------------------------------------------------------------------------------
# rendering


def find_kustomize() -> list[str] | None:
    """The kustomize command: $CASETRAIL_KUSTOMIZE, the copy scripts/validate-k8s.sh installs,
    `kustomize` on PATH, or `kubectl kustomize`; None when there is none."""
    configured = os.environ.get("CASETRAIL_KUSTOMIZE")
    if configured:
        return shlex.split(configured)
    cache = Path(os.environ.get("CASETRAIL_CACHE", Path.home() / ".cache" / "casetrail"))
    pinned = cache / f"kustomize-{KUSTOMIZE_VERSION}" / "kustomize"
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return [str(pinned)]
    found = shutil.which("kustomize")
    if found:
        return [found]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    return None


def render(directory: Path, kustomize: list[str]) -> str:
    """`kustomize build DIRECTORY` (or `kubectl kustomize DIRECTORY`)."""
    is_kubectl = len(kustomize) > 1 and kustomize[-1] == "kustomize"
    command = [*kustomize, str(directory)] if is_kubectl else [*kustomize, "build", str(directory)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise RenderError(f"cannot run {command[0]}: {exc}") from None
    if result.returncode != 0:
        raise RenderError(f"kustomize failed on {directory}:\n{result.stderr.strip()}")
    return result.stdout


def load_documents(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML stream (empty documents skipped)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise RenderError(f"not valid YAML: {exc}") from None
    for doc in docs:
        if not isinstance(doc, dict):
            raise RenderError(f"a document is not a mapping: {str(doc)[:80]!r}")
    return docs


def load_target(target: str, kustomize: list[str] | None) -> list[dict[str, Any]]:
    """A target's objects: a kustomization directory is rendered, a file is read as is."""
    if target == "-":
        return load_documents(sys.stdin.read())
    path = Path(target)
    if path.is_dir():
        if kustomize is None:
            raise RenderError("no kustomize: run scripts/validate-k8s.sh (it installs one), "
                              "or set CASETRAIL_KUSTOMIZE")
        return load_documents(render(path, kustomize))
    if path.is_file():
        return load_documents(path.read_text())
    raise RenderError(f"no such file or directory: {target}")


# ---------------------------------------------------------------------------------------------
# schema validation


def describe(obj: dict[str, Any]) -> str:
    """Kind/name of an object, for messages."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def _json_path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(root)"


def strict_schema(schema: Any) -> Any:
    """A copy where every object schema with `properties` refuses unknown fields, as the API
    server's strict field validation does (`kubectl apply` reports them), except where the CRD
    keeps unknown fields (x-kubernetes-preserve-unknown-fields) or embeds a resource."""
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict_schema(value) if key not in ("properties", "enum", "required")
              else value for key, value in schema.items()}
    if "properties" in schema:
        result["properties"] = {name: strict_schema(sub)
                                for name, sub in schema["properties"].items()}
        if ("additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")
                and not schema.get("x-kubernetes-embedded-resource")):
            result["additionalProperties"] = False
    return result


@functools.cache
def crd_schema(group: str, kind: str, version: str) -> dict[str, Any] | None:
    """The vendored, strict schema of a custom resource, with ObjectMeta checked too."""
    path = SCHEMAS / f"{group}_{kind}_{version}.json"
    if not path.is_file():
        return None
    schema: dict[str, Any] = strict_schema(json.loads(path.read_text()))
    schema.setdefault("properties", {})["metadata"] = OBJECT_META_SCHEMA
    required = set(schema.get("required", []))
    schema["required"] = sorted(required | {"apiVersion", "kind", "metadata"})
    return schema


def validate_custom(obj: dict[str, Any]) -> list[str]:
    """Messages for a custom resource that its vendored CRD schema refuses."""
    import jsonschema

    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    schema = crd_schema(group, str(obj.get("kind")), version)
    if schema is None:
        known = sorted(p.stem for p in SCHEMAS.glob(f"{group}_*.json"))
        return [f"no vendored schema for {obj.get('apiVersion')} {obj.get('kind')} "
                f"(deploy/k8s/schemas has {known}); add it with schemas/refresh.sh"]
    validator = jsonschema.Draft4Validator(schema)
    return [f"{_json_path(error.absolute_path)}: {error.message}"
            for error in sorted(validator.iter_errors(obj),
                                key=lambda e: list(map(str, e.path)))]


@functools.cache
def _core_validator(version: str, api_version: str, kind: str) -> Any:
    """A cached strict validator for a built-in kind, from kubernetes-validate's schemas (the
    lookup of kubernetes_validate.validate, which reloads every file on each call); None when
    that Kubernetes version has no such kind."""
    import jsonschema
    from kubernetes_validate import utils as kv
    from referencing import Registry, Resource

    if kv.major_minor(version) not in {kv.major_minor(v) for v in kv.all_versions()}:
        raise ValueError(f"kubernetes-validate {kv.__version__} has no Kubernetes {version}")
    schema_version = [v for v in kv.all_versions()
                      if kv.Version(kv.major_minor(v)) <= kv.Version(kv.major_minor(version))][-1]
    folder = f"kubernetes-json-schema/v{schema_version}-local-strict"
    # rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kv.schema_contents(f"{folder}/{kind.lower()}-{api}.json", version)
    except FileNotFoundError:
        return None
    definitions = kv.schema_contents(f"{folder}/_definitions.json", version)
    registry: Any = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_core(obj: dict[str, Any], kube_versions: Iterable[str]) -> list[str]:
    """Messages for a built-in kind that a Kubernetes version's strict schema refuses."""
    messages: list[str] = []
    for version in kube_versions:
        validator = _core_validator(version, str(obj.get("apiVersion")), str(obj.get("kind")))
        if validator is None:
            messages.append(f"Kubernetes {version} has no {obj.get('apiVersion')} "
                            f"{obj.get('kind')}")
            continue
        messages.extend(f"{_json_path(error.absolute_path)}: {error.message} "
                        f"(Kubernetes {version} schema)"
                        for error in sorted(validator.iter_errors(obj),
                                            key=lambda e: list(map(str, e.path))))
    return messages


def schema_problems(target: str, objects: list[dict[str, Any]],
                    kube_versions: Iterable[str] = KUBE_VERSIONS) -> list[Problem]:
    """Every object against its schema."""
    problems: list[Problem] = []
    versions = tuple(kube_versions)
    for obj in objects:
        if not obj.get("apiVersion") or not obj.get("kind"):
            problems.append(Problem(target, describe(obj), "no apiVersion or kind"))
            continue
        group = str(obj["apiVersion"]).rpartition("/")[0]
        messages = validate_custom(obj) if group in CRD_GROUPS else validate_core(obj, versions)
        problems.extend(Problem(target, describe(obj), m) for m in messages)
    return problems


# ---------------------------------------------------------------------------------------------
# casetrail's rules


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, dict) else {}


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec")
        return spec if isinstance(spec, dict) else None
    return None


def _pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    labels = (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels/matchExpressions, or a Service's plain map)
    matches the labels; an empty selector matches nothing here (casetrail never uses one)."""
    if not selector:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return all(labels.get(k) == v for k, v in selector.items())
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or \
           (op == "NotIn" and labels.get(key) in values) or \
           (op == "Exists" and key not in labels) or \
           (op == "DoesNotExist" and key in labels):
            return False
    return True


def _probe_path(probe: Any) -> tuple[str | None, Any]:
    if not isinstance(probe, dict):
        return None, None
    http = probe.get("httpGet")
    if isinstance(http, dict):
        return http.get("path"), http.get("port")
    tcp = probe.get("tcpSocket")
    if isinstance(tcp, dict):
        return None, tcp.get("port")
    return None, None


def _config_values(objects: list[dict[str, Any]]) -> dict[str, str]:
    """Variables of the casetrail-common ConfigMap (hash suffix ignored)."""
    for obj in objects:
        name = str((obj.get("metadata") or {}).get("name", ""))
        if obj.get("kind") == "ConfigMap" and re.fullmatch(r"casetrail-common(-[a-z0-9]+)?", name):
            data = obj.get("data") or {}
            return {str(k): str(v) for k, v in data.items()}
    return {}


def _container_problems(pod: dict[str, Any],
                        configmaps: set[str]) -> Iterator[str]:
    pod_sc = pod.get("securityContext") or {}
    if not isinstance(pod_sc, dict):
        pod_sc = {}
    if (pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        yield "pod securityContext.seccompProfile.type must be RuntimeDefault"
    if pod.get("automountServiceAccountToken") is not False:
        yield "automountServiceAccountToken must be false (casetrail never calls the API server)"
    containers = list(pod.get("containers") or []) + list(pod.get("initContainers") or [])
    if not containers:
        yield "no containers"
    for container in containers:
        if not isinstance(container, dict):
            continue
        where = f"container {container.get('name')!r}"
        sc = container.get("securityContext") or {}
        if not isinstance(sc, dict):
            sc = {}
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            yield f"{where}: runAsNonRoot must be true"
        if sc.get("runAsUser", pod_sc.get("runAsUser")) in (0, "0"):
            yield f"{where}: runs as uid 0"
        if sc.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: readOnlyRootFilesystem must be true"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation must be false"
        if sc.get("privileged"):
            yield f"{where}: privileged"
        drop = ((sc.get("capabilities") or {}).get("drop") or [])
        if "ALL" not in drop:
            yield f"{where}: capabilities.drop must contain ALL"
        if (sc.get("capabilities") or {}).get("add"):
            yield f"{where}: adds capabilities"
        resources = container.get("resources") or {}
        for kind_ in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if not ((resources.get(kind_) or {}).get(res)):
                    yield f"{where}: resources.{kind_}.{res} is missing"
        image = str(container.get("image", ""))
        tail = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in tail or tail.endswith(":latest")):
            yield f"{where}: image {image!r} needs a pinned tag or digest (set by the overlay)"
        for env in container.get("env") or []:
            if not isinstance(env, dict):
                continue
            name = str(env.get("name", ""))
            if SECRET_ENV.match(name):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if "value" in env or not ref:
                    yield f"{where}: {name} must come from a Secret (valueFrom.secretKeyRef)"
        for source in container.get("envFrom") or []:
            if not isinstance(source, dict):
                continue
            if "secretRef" in source:
                yield f"{where}: envFrom secretRef: name each secret key explicitly instead"
            ref = (source.get("configMapRef") or {}).get("name")
            if ref and ref not in configmaps:
                yield f"{where}: envFrom ConfigMap {ref!r} is not in this rendering"


def policy_problems(target: str, objects: list[dict[str, Any]],
                    namespace: str | None = None) -> list[Problem]:
    """casetrail's own deployment rules (see the module docstring)."""
    problems: list[Problem] = []

    def report(obj: dict[str, Any] | str, message: str) -> None:
        problems.append(Problem(target, obj if isinstance(obj, str) else describe(obj), message))

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    configmaps = {str((o.get("metadata") or {}).get("name")) for o in by_kind.get("ConfigMap", [])}
    config = _config_values(objects)

    for obj in objects:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        if kind == "Secret":
            report(obj, "Secrets are never committed: reference them by name only "
                        "(docs/operations.md, Secrets)")
        if namespace and kind not in CLUSTER_SCOPED and isinstance(meta, dict) \
                and meta.get("namespace") != namespace:
            report(obj, f"namespace is {meta.get('namespace')!r}, expected {namespace!r}")
        if kind == "Namespace" and namespace and meta.get("name") != namespace:
            report(obj, f"a Namespace other than {namespace!r}")
        if kind == "ConfigMap":
            for key in obj.get("data") or {}:
                if SECRET_ENV.match(str(key)):
                    report(obj, f"{key} looks like a secret: keep it in a Secret, not a ConfigMap")

    # every workload rendered here is casetrail's (the operators create the data tier's pods)
    workloads = by_kind.get("Deployment", []) + by_kind.get("Job", [])
    for obj in workloads:
        for labels, where in ((_labels(obj), "metadata"), (_pod_labels(obj), "pod template")):
            if labels.get("app.kubernetes.io/part-of") != "casetrail":
                report(obj, f"{where} label app.kubernetes.io/part-of must be casetrail "
                            "(docs/operations.md commands and PodMonitors select on it)")
        pod = _pod_spec(obj)
        if pod is None:
            report(obj, "no pod template")
            continue
        for message in _container_problems(pod, configmaps):
            report(obj, message)

    deployments = by_kind.get("Deployment", [])
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    pdbs = by_kind.get("PodDisruptionBudget", [])
    services = by_kind.get("Service", [])
    partitions = _partitions(objects, config)

    for obj in deployments:
        spec = obj.get("spec") or {}
        component = _labels(obj).get("app.kubernetes.io/component")
        pod = _pod_spec(obj) or {}
        app = (pod.get("containers") or [{}])[0]
        if not isinstance(app, dict):
            continue
        name = (obj.get("metadata") or {}).get("name")
        if component == "api":
            _check_api(obj, app, report)
            if not any(((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name
                       for h in hpas):
                report(obj, "an API needs a HorizontalPodAutoscaler")
            elif "replicas" in spec:
                report(obj, "spec.replicas is set but an HPA owns the count: leave it out, or "
                            "every apply resets the HPA's choice")
            if not any(_selects((s.get("spec") or {}).get("selector"), _pod_labels(obj))
                       for s in services):
                report(obj, "no Service selects this API's pods")
        elif component in ("relay", "deadlines", "consumer"):
            _check_worker(obj, app, report)
            if component == "relay":
                if spec.get("replicas") != 1:
                    report(obj, f"the relay runs exactly 1 replica, not {spec.get('replicas')!r}")
                if (spec.get("strategy") or {}).get("type") != "Recreate":
                    report(obj, "the relay's strategy must be Recreate (one active instance)")
            elif isinstance(spec.get("replicas"), int) and spec["replicas"] > partitions:
                report(obj, f"{spec['replicas']} consumer replicas but {partitions} partitions: "
                            "the extra ones would sit idle")
        else:
            report(obj, "label app.kubernetes.io/component must be api, relay, deadlines or "
                        "consumer")
        if component in ("api", "consumer") and not any(
                _selects((p.get("spec") or {}).get("selector"), _pod_labels(obj)) for p in pdbs):
            report(obj, "needs a PodDisruptionBudget")

    for hpa in hpas:
        spec = hpa.get("spec") or {}
        target_name = (spec.get("scaleTargetRef") or {}).get("name")
        if not any((d.get("metadata") or {}).get("name") == target_name for d in deployments):
            report(hpa, f"scales {target_name!r}, which is not in this rendering")
    for svc in services:
        selector = (svc.get("spec") or {}).get("selector")
        if not any(_selects(selector, _pod_labels(d)) for d in deployments):
            report(svc, f"selector {selector} matches no Deployment's pods")

    for job in (o for o in workloads if o.get("kind") == "Job"):
        pod = _pod_spec(job) or {}
        args = ((pod.get("containers") or [{}])[0] or {}).get("args") or []
        if _labels(job).get("app.kubernetes.io/component") != "migration" or \
                list(args)[:1] != ["migrate"]:
            report(job, "casetrail Jobs are migrations: component=migration, args migrate <svc>")

    if workloads and not any(
            (p.get("spec") or {}).get("podSelector") == {}
            and set((p.get("spec") or {}).get("policyTypes") or []) == {"Ingress", "Egress"}
            and not (p.get("spec") or {}).get("ingress") and not (p.get("spec") or {}).get("egress")
            for p in by_kind.get("NetworkPolicy", [])):
        report("NetworkPolicy/*", "no default deny-all (ingress and egress) policy")

    problems.extend(_kafka_problems(target, objects, config))
    return problems


def _check_api(obj: dict[str, Any], app: dict[str, Any], report: Any) -> None:
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz",
                "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        got, _ = _probe_path(app.get(probe))
        if got != path:
            report(obj, f"{probe} must be an httpGet of {path} (found {got!r})")
    if not any(isinstance(p, dict) and p.get("name") == "http" for p in app.get("ports") or []):
        report(obj, "the API container needs a port named http")


def _check_worker(obj: dict[str, Any], app: dict[str, Any], report: Any) -> None:
    ports = {p.get("containerPort"): p.get("name") for p in app.get("ports") or []
             if isinstance(p, dict)}
    if METRICS_PORT not in ports:
        report(obj, f"a worker exposes its ops port {METRICS_PORT} (/healthz /readyz /metrics)")
    env = {e.get("name"): e.get("value") for e in app.get("env") or [] if isinstance(e, dict)}
    if env.get("CASETRAIL_METRICS_PORT") != str(METRICS_PORT):
        report(obj, f"CASETRAIL_METRICS_PORT must be {METRICS_PORT}")
    _, port = _probe_path(app.get("livenessProbe"))
    if port not in (METRICS_PORT, ports.get(METRICS_PORT)) or port is None:
        report(obj, f"livenessProbe must check the ops port {METRICS_PORT}")


def _topic(objects: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for obj in objects:
        if obj.get("kind") == "KafkaTopic":
            spec = obj.get("spec") or {}
            if (spec.get("topicName") or (obj.get("metadata") or {}).get("name")) == name:
                return spec
    return None


def _partitions(objects: list[dict[str, Any]], config: dict[str, str]) -> int:
    topic = _topic(objects, config.get("KAFKA_TOPIC", EVENTS_TOPIC))
    if topic and isinstance(topic.get("partitions"), int):
        return int(topic["partitions"])
    try:
        return int(config.get("KAFKA_PARTITIONS", "12"))
    except ValueError:
        return 12


def _kafka_problems(target: str, objects: list[dict[str, Any]],
                    config: dict[str, str]) -> list[Problem]:
    """The relay's topic settings (ConfigMap) agree with the KafkaTopic that creates it."""
    name = config.get("KAFKA_TOPIC", EVENTS_TOPIC)
    topic = _topic(objects, name)
    if topic is None or not config:
        return []
    problems = []
    where = f"KafkaTopic/{name}"
    checks = [("KAFKA_PARTITIONS", topic.get("partitions")),
              ("KAFKA_REPLICATION_FACTOR", topic.get("replicas")),
              ("KAFKA_MIN_INSYNC_REPLICAS", (topic.get("config") or {}).get("min.insync.replicas"))]
    for variable, value in checks:
        if variable in config and str(value) != config[variable]:
            problems.append(Problem(target, where, f"{value!r} disagrees with {variable}="
                                                   f"{config[variable]} in casetrail-common"))
    if str((topic.get("config") or {}).get("retention.ms")) != "-1":
        problems.append(Problem(target, where, "the case events are kept for ever: "
                                               "retention.ms must be -1"))
    return problems


# ---------------------------------------------------------------------------------------------
# entry points


def check_objects(target: str, objects: list[dict[str, Any]], namespace: str | None = None,
                  kube_versions: Iterable[str] = KUBE_VERSIONS,
                  policy: bool = True) -> list[Problem]:
    """Schema and (unless policy=False) casetrail's rules, for already loaded objects."""
    problems = schema_problems(target, objects, kube_versions)
    if policy:
        problems += policy_problems(target, objects, namespace)
    return problems


def check_target(target: str, kustomize: list[str] | None = None,
                 namespace: str | None = None, kube_versions: Iterable[str] = KUBE_VERSIONS,
                 policy: bool = True) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Render or read a target and check it; raises RenderError if it cannot be loaded."""
    objects = load_target(target, kustomize)
    return objects, check_objects(target, objects, namespace, kube_versions, policy)


def default_targets() -> list[tuple[str, str | None]]:
    """Every overlay, with the namespace its objects must be in."""
    return [(str(HERE / rel), ns) for rel, ns in TARGETS.items()]


def _namespace_for(target: str) -> str | None:
    for rel, ns in TARGETS.items():
        if Path(target).resolve() == (HERE / rel).resolve():
            return ns
    return None


def _relative(target: str) -> str:
    try:
        return str(Path(target).resolve().relative_to(Path.cwd()))
    except ValueError:
        return target


def main_check(args: argparse.Namespace) -> int:
    """Validate the targets; print one line per problem and a summary per target."""
    kustomize = shlex.split(args.kustomize) if args.kustomize else find_kustomize()
    targets = ([(t, args.namespace or _namespace_for(t)) for t in args.targets]
               if args.targets else default_targets())
    status = 0
    for target, namespace in targets:
        label = _relative(target)
        try:
            objects, problems = check_target(target, kustomize, namespace,
                                             args.kube_version or KUBE_VERSIONS,
                                             policy=not args.no_policy)
        except RenderError as exc:
            print(f"ERROR {label}: {exc}")
            status = 2
            continue
        for problem in problems:
            print(f"ERROR {problem}")
        kinds = sorted({str(o.get("kind")) for o in objects})
        verdict = "invalid" if problems else "ok"
        print(f"{verdict:7} {label}: {len(objects)} objects, {len(problems)} problems "
              f"({', '.join(kinds)})")
        if problems and status == 0:
            status = 1
    return status


def _strip_descriptions(schema: Any) -> Any:
    """A schema without its `description` texts (documentation, not validation); a property
    that happens to be named "description" is kept."""
    if isinstance(schema, list):
        return [_strip_descriptions(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip_descriptions(sub) for name, sub in value.items()}
        else:
            out[key] = _strip_descriptions(value)
    return out


def main_extract(args: argparse.Namespace) -> int:
    """Write <group>_<Kind>_<version>.json for every served version of each CRD file."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for file in args.crds:
        for crd in load_documents(Path(file).read_text()):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if not version.get("served", True):
                    continue
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                schema = _strip_descriptions(schema)
                schema["$comment"] = (f"openAPIV3Schema of {spec['names']['kind']} "
                                      f"{spec['group']}/{version['name']} from {args.source} "
                                      "(descriptions removed); regenerate with refresh.sh")
                name = f"{spec['group']}_{spec['names']['kind']}_{version['name']}.json"
                (out / name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(f"wrote {out / name}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line: `[check] [targets...]` or `extract-crd`."""
    if argv[:1] == ["extract-crd"]:
        parser = argparse.ArgumentParser(prog="validate.py extract-crd",
                                         description="vendor CRD schemas as JSON")
        parser.add_argument("--out", default=str(SCHEMAS))
        parser.add_argument("--source", required=True, help="where the CRDs came from")
        parser.add_argument("crds", nargs="+")
        parsed = parser.parse_args(argv[1:])
        parsed.command = "extract-crd"
        return parsed
    if argv[:1] == ["check"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="validate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*",
                        help="kustomization directories or YAML files (default: every overlay)")
    parser.add_argument("--kustomize", help="kustomize command (default: see find_kustomize)")
    parser.add_argument("--kube-version", action="append",
                        help=f"Kubernetes version(s) to validate against (default: "
                             f"{', '.join(KUBE_VERSIONS)})")
    parser.add_argument("--namespace", help="namespace every namespaced object must be in")
    parser.add_argument("--no-policy", action="store_true", help="schemas only")
    parsed = parser.parse_args(argv)
    parsed.command = "check"
    return parsed


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "extract-crd":
        return main_extract(args)
    return main_check(args)


if __name__ == "__main__":
    sys.exit(main())
