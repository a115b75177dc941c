#!/usr/bin/env bash
# Runs a command with the project's Kafka started, and stops it after only if this script
# started it (a broker that was already answering is left running).
set -euo pipefail
cd "$(dirname "$0")/.."
if ./scripts/kafka.sh start | tee /dev/stderr | grep -q "already answers"; then
  :
else
  trap './scripts/kafka.sh stop' EXIT
fi
KAFKA_BOOTSTRAP_SERVERS=$(./scripts/kafka.sh bootstrap)
export KAFKA_BOOTSTRAP_SERVERS
"$@"
