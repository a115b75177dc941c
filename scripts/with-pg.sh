#!/usr/bin/env bash
# Runs a command with the project's PostgreSQL started, and stops it after only if this script
# started it (a server that was already answering is left running).
set -euo pipefail
cd "$(dirname "$0")/.."
if ./scripts/pg.sh start | tee /dev/stderr | grep -q "already answers"; then
  :
else
  trap './scripts/pg.sh stop' EXIT
fi
DATABASE_URL=$(./scripts/pg.sh url)
export DATABASE_URL
"$@"
