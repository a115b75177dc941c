#!/usr/bin/env bash
# Starts casetrail on the embedded default: SQLite under var/, development keys under var/dev,
# and the embedded transport (consumers long-poll the case service's GET /v1/events).
# With KAFKA_BOOTSTRAP_SERVERS set, the relay publishes to Kafka and consumers read from it.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "$HOME/.local/bin/uv")
CASE_PORT=${CASE_PORT:-8000}
CONTACT_PORT=${CONTACT_PORT:-8001}
BILLING_PORT=${BILLING_PORT:-8002}
CONSOLE_PORT=${CONSOLE_PORT:-8003}
HOST=${HOST:-127.0.0.1}
export CASE_EVENTS_URL="http://$HOST:$CASE_PORT"
# settlement certificates print the parties' legal details kept by the billing service
export CASE_BILLING_URL="http://$HOST:$BILLING_PORT"
# the console calls the three services' APIs with each signed-in user's own key
export CONSOLE_CASE_URL="http://$HOST:$CASE_PORT" CONSOLE_CONTACT_URL="http://$HOST:$CONTACT_PORT"
export CONSOLE_BILLING_URL="http://$HOST:$BILLING_PORT"

pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop_all EXIT INT TERM

wait_http() {  # url name
  for _ in $(seq 1 150); do
    curl -fsS "$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "run-dev: $2 did not start; see var/log/$2.log" >&2
  exit 1
}

mkdir -p var/log
"$UV" run casetrail keys dev >/dev/null
"$UV" run casetrail migrate case >/dev/null
"$UV" run casetrail migrate contact >/dev/null
"$UV" run casetrail migrate billing >/dev/null
"$UV" run casetrail migrate console >/dev/null

"$UV" run casetrail serve case --host "$HOST" --port "$CASE_PORT" >var/log/case.log 2>&1 &
pids+=($!)
"$UV" run casetrail serve contact --host "$HOST" --port "$CONTACT_PORT" >var/log/contact.log 2>&1 &
pids+=($!)
"$UV" run casetrail serve billing --host "$HOST" --port "$BILLING_PORT" >var/log/billing.log 2>&1 &
pids+=($!)
"$UV" run casetrail serve console --host "$HOST" --port "$CONSOLE_PORT" >var/log/console.log 2>&1 &
pids+=($!)
wait_http "http://$HOST:$CASE_PORT" case
wait_http "http://$HOST:$CONTACT_PORT" contact
wait_http "http://$HOST:$BILLING_PORT" billing
wait_http "http://$HOST:$CONSOLE_PORT" console

transport="embedded (consumers pull GET /v1/events)"
if [ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  transport="Kafka at $KAFKA_BOOTSTRAP_SERVERS"
  "$UV" run casetrail relay >var/log/relay.log 2>&1 &
  pids+=($!)
fi
"$UV" run casetrail deadlines >var/log/deadlines.log 2>&1 &
pids+=($!)
"$UV" run casetrail consume contact-log >var/log/consume-contact-log.log 2>&1 &
pids+=($!)
"$UV" run casetrail consume billing-ledger >var/log/consume-billing-ledger.log 2>&1 &
pids+=($!)

keys() { "$UV" run python -c "import json,sys;print(json.load(open('var/dev/dev-keys.json'))[sys.argv[1]])" "$1"; }
cat <<BANNER

casetrail is running (SQLite under var/; transport: $transport)
  case service      http://$HOST:$CASE_PORT      API docs: http://$HOST:$CASE_PORT/docs
  contact service   http://$HOST:$CONTACT_PORT      API docs: http://$HOST:$CONTACT_PORT/docs
  billing service   http://$HOST:$BILLING_PORT      API docs: http://$HOST:$BILLING_PORT/docs
  console           http://$HOST:$CONSOLE_PORT      sign in with one of the keys below (docs/console.md)
  deadlines worker  records broken promises and ended terms as they fall due
  logs              var/log/
  admin key         $(keys dev-admin)
  creditor key      $(keys dev-creditor)   (creditor BANK-DEMO)
  agency key        $(keys dev-agency)   (agency AGENCY-A)
  auditor key       $(keys dev-auditor)
  all dev keys      var/dev/dev-keys.json  (or: uv run casetrail keys dev)

try: curl -H "Authorization: Bearer $(keys dev-creditor)" http://$HOST:$CASE_PORT/v1/cases
Ctrl-C stops everything.
BANNER
wait -n "${pids[@]}"
echo "run-dev: a process exited; stopping the rest (see var/log/)" >&2
