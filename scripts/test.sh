#!/usr/bin/env bash
# Runs lint and every test tier against real PostgreSQL; stops whatever it started.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

echo "== lint"
"$UV" run ruff check .
"$UV" run mypy
"$UV" run lint-imports

./scripts/pg.sh start
trap './scripts/pg.sh stop' EXIT
TEST_DATABASE_URL=$(./scripts/pg.sh url)
export TEST_DATABASE_URL
export CASETRAIL_REQUIRE_POSTGRES=1

echo "== tests (unit, integration on SQLite and PostgreSQL, end-to-end)"
"$UV" run pytest -q -p no:cacheprovider "$@"
