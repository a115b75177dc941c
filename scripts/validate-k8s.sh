#!/usr/bin/env bash
# Renders every Kubernetes overlay (deploy/k8s) with kustomize and validates it offline: core
# kinds against the Kubernetes schemas of kubernetes-validate, Strimzi/CloudNativePG resources
# against the CRD schemas vendored in deploy/k8s/schemas, plus casetrail's own rules
# (deploy/k8s/validate.py). Arguments go to validate.py (default: every overlay).
#
# Installs what it needs once, idempotently, then works offline:
#   - kustomize $KUSTOMIZE_VERSION: `go install` into ~/.cache/casetrail/kustomize-<version>/
#     (Go module proxy); `kubectl kustomize` is the fallback when Go is missing;
#   - kubernetes-validate and PyYAML: an isolated uv environment (PyPI, then uv's cache).
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_VERSION=v5.8.2              # keep in step with KUSTOMIZE_VERSION in deploy/k8s/validate.py
PY_REQUIREMENTS=(--with kubernetes-validate==1.37.0 --with jsonschema==4.26.0 --with pyyaml==6.0.3)
CACHE=${CASETRAIL_CACHE:-$HOME/.cache/casetrail}
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

kustomize_bin="$CACHE/kustomize-$KUSTOMIZE_VERSION/kustomize"
if [ -n "${CASETRAIL_KUSTOMIZE:-}" ]; then
  :  # the caller chose one
elif [ -x "$kustomize_bin" ]; then
  export CASETRAIL_KUSTOMIZE="$kustomize_bin"
elif command -v go >/dev/null 2>&1; then
  echo "== installing kustomize $KUSTOMIZE_VERSION into $(dirname "$kustomize_bin") (once)"
  staging=$(mktemp -d)
  GOBIN="$staging" GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mkdir -p "$(dirname "$kustomize_bin")"
  mv "$staging/kustomize" "$kustomize_bin"
  rm -rf "$staging"
  export CASETRAIL_KUSTOMIZE="$kustomize_bin"
elif command -v kubectl >/dev/null 2>&1; then
  echo "== no Go: using kubectl's built-in kustomize ($(kubectl version --client 2>/dev/null | grep -i kustomize || true))"
  export CASETRAIL_KUSTOMIZE="kubectl kustomize"
else
  echo "validate-k8s: needs Go (to install kustomize $KUSTOMIZE_VERSION) or kubectl" >&2
  exit 2
fi

run_py() { "$UV" run --no-project --quiet --python 3.11 "${PY_REQUIREMENTS[@]}" "$@"; }
# offline when uv's cache already has the packages; otherwise fetch them (PyPI) once
if ! UV_OFFLINE=1 run_py python -c "import kubernetes_validate, jsonschema, yaml" 2>/dev/null; then
  echo "== installing kubernetes-validate into uv's cache (once)"
  run_py python -c "import kubernetes_validate, jsonschema, yaml"
fi

echo "== validating Kubernetes manifests ($("${CASETRAIL_KUSTOMIZE%% *}" version 2>/dev/null | head -1 || true))"
UV_OFFLINE=1 run_py python deploy/k8s/validate.py "$@"
