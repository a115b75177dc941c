#!/usr/bin/env bash
# Runs lint and every test tier against a real PostgreSQL and a real Kafka broker, each started
# by the project's own scripts (or reused if one already answers); stops only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

echo "== lint"
"$UV" run ruff check .
"$UV" run mypy
"$UV" run lint-imports

echo "== Kubernetes manifests (kustomize build + offline schema validation)"
./scripts/validate-k8s.sh
export CASETRAIL_REQUIRE_DEPLOY=1

echo "== headless Chromium for the console's browser tests (tests/browser)"
./scripts/chromium.sh
export CASETRAIL_REQUIRE_BROWSER=1

# Existing servers win: TEST_DATABASE_URL / TEST_KAFKA_BOOTSTRAP point at them and nothing is
# started for them. Otherwise the project's own scripts start (or reuse) loopback servers.
started=()
cleanup() { for s in "${started[@]}"; do "./scripts/$s.sh" stop || true; done; }
trap cleanup EXIT
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  started+=(pg); ./scripts/pg.sh start
  TEST_DATABASE_URL=$(./scripts/pg.sh url)
fi
if [ -z "${TEST_KAFKA_BOOTSTRAP:-}" ]; then
  started+=(kafka); ./scripts/kafka.sh start
  TEST_KAFKA_BOOTSTRAP=$(./scripts/kafka.sh bootstrap)
fi
export TEST_DATABASE_URL TEST_KAFKA_BOOTSTRAP
export CASETRAIL_REQUIRE_POSTGRES=1 CASETRAIL_REQUIRE_KAFKA=1
export CASETRAIL_REQUIRE_GO=1  # the independent verifier of checkpoints (tests/interop)

echo "== tests (unit, integration on SQLite/PostgreSQL and feed/Kafka, end-to-end, browser)"
"$UV" run pytest -q -p no:cacheprovider --durations=30 "$@"
