#!/usr/bin/env bash
# Runs a command with the project's PostgreSQL started (and stopped after, if we started it).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/pg.sh start
trap './scripts/pg.sh stop' EXIT
DATABASE_URL=$(./scripts/pg.sh url)
export DATABASE_URL
"$@"
