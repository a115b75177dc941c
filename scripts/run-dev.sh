#!/usr/bin/env bash
# Starts casetrail on the embedded default (SQLite under var/, development keys under var/dev).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "$HOME/.local/bin/uv")
CASE_PORT=${CASE_PORT:-8000}
HOST=${HOST:-127.0.0.1}

"$UV" run casetrail migrate case >/dev/null
"$UV" run casetrail serve case --host "$HOST" --port "$CASE_PORT" &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fsS "http://$HOST:$CASE_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
admin_key=$("$UV" run python -c 'import json;print(json.load(open("var/dev/dev-keys.json"))["dev-admin"])')
creditor_key=$("$UV" run python -c 'import json;print(json.load(open("var/dev/dev-keys.json"))["dev-creditor"])')
cat <<BANNER

casetrail is running (embedded default: SQLite under var/, no Kafka)
  case service   http://$HOST:$CASE_PORT      API docs: http://$HOST:$CASE_PORT/docs
  admin key      $admin_key
  creditor key   $creditor_key   (creditor BANK-DEMO)
  all dev keys   var/dev/dev-keys.json  (or: uv run casetrail keys dev)

try: curl -H "Authorization: Bearer $creditor_key" http://$HOST:$CASE_PORT/v1/cases
Ctrl-C stops everything.
BANNER
wait
