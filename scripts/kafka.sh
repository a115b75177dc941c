#!/usr/bin/env bash
# The project's own Apache Kafka for tests: one KRaft node (broker+controller), loopback only,
# own data dir. Jars come from Maven Central via mvn (scripts/kafka/pom.xml) into a cache.
#   scripts/kafka.sh fetch|start|stop|status|bootstrap|reset
# Env: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093),
#      KAFKA_DATA_DIR (/tmp/casetrail-kafka-$KAFKA_PORT),
#      KAFKA_CACHE ($HOME/.cache/casetrail/kafka-$KAFKA_VERSION),
#      KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), KAFKA_START_TIMEOUT (90 seconds), JAVA_HOME
set -euo pipefail
KAFKA_VERSION=4.4.0
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_DATA_DIR=${KAFKA_DATA_DIR:-/tmp/casetrail-kafka-$KAFKA_PORT}
KAFKA_CACHE=${KAFKA_CACHE:-$HOME/.cache/casetrail/kafka-$KAFKA_VERSION}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM="$HERE/kafka/pom.xml"
LOG_CONFIG="$HERE/kafka/log4j2.yaml"
LIBS="$KAFKA_CACHE/libs"
FETCHED="$KAFKA_CACHE/.fetched"
PROPS="$KAFKA_DATA_DIR/server.properties"
PIDFILE="$KAFKA_DATA_DIR/kafka.pid"
MARKER="$KAFKA_DATA_DIR/.started-by-casetrail"
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

die() { echo "kafka.sh: $*" >&2; exit 1; }

# What the cached jars were resolved from: the pinned version and the POM's content.
fetch_stamp() { echo "$KAFKA_VERSION $(sha256sum <"$POM" | cut -d' ' -f1)"; }

fetch() {
  if [ -f "$FETCHED" ] && [ "$(cat "$FETCHED")" = "$(fetch_stamp)" ] &&
     [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch the Kafka jars)"
  echo "kafka.sh: fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  mkdir -p "$KAFKA_CACHE"
  local tmp="$KAFKA_CACHE/libs.tmp.$$"
  rm -rf "$tmp"
  mvn -B -q -Dstyle.color=never -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
    >"$KAFKA_CACHE/fetch.log" 2>&1 ||
    { tail -n 30 "$KAFKA_CACHE/fetch.log" >&2; rm -rf "$tmp"; die "mvn could not fetch Kafka $KAFKA_VERSION"; }
  [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || { rm -rf "$tmp"; die "kafka_2.13 jar missing"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  fetch_stamp >"$FETCHED"
}

# True when a Kafka broker answers an ApiVersions (v0) request on the port: correlation id
# 42 echoed back with error code 0. A bare TCP connect is not enough: the listening socket is
# bound well before the broker processes requests, and the port could be something else.
answering() {
  local resp
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  resp=$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x00\x00\x00\x0e\x00\x12\x00\x00\x00\x00\x00\x2a\x00\x04ping" >&3
    head -c 10 <&3 | od -An -tx1' _ "$KAFKA_PORT" 2>/dev/null | tr -d ' \n') || return 1
  [ "${resp:8:12}" = 0000002a0000 ]
}

# shellcheck disable=SC2016  # $1 is expanded by the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

# The pid in the pid file, if that process is alive and is our broker on this data dir
# (guards against a recycled pid).
our_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

java_opts() {
  local heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  JAVA_OPTS=("${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dkafka.logs.dir=$KAFKA_DATA_DIR" "-Dlog4j2.configurationFile=$LOG_CONFIG"
    -Dlog4j2.shutdownHookEnabled=false
    -cp "$LIBS/*")
}

write_props() {
  cat >"$PROPS" <<EOF
# Written by scripts/kafka.sh (casetrail) on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA_DIR/logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.recovery.threads.per.data.dir=1
EOF
}

start() {
  if answering; then
    echo "kafka.sh: a Kafka broker already answers on $BOOTSTRAP; using it"
    return 0
  fi
  local pid
  if pid=$(our_pid); then
    echo "kafka.sh: Kafka (pid $pid) is still starting; waiting for it"
  else
    port_open "$KAFKA_PORT" && die "127.0.0.1:$KAFKA_PORT is taken by something that is not Kafka"
    port_open "$KAFKA_CONTROLLER_PORT" && die "controller port 127.0.0.1:$KAFKA_CONTROLLER_PORT is taken"
    command -v "$JAVA" >/dev/null || die "java not found (Kafka $KAFKA_VERSION needs Java 17+)"
    fetch
    mkdir -p "$KAFKA_DATA_DIR"
    write_props
    local JAVA_OPTS
    java_opts
    if [ ! -f "$KAFKA_DATA_DIR/logs/meta.properties" ]; then
      local cluster_id
      cluster_id=$("$JAVA" "${JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>&1) ||
        { echo "$cluster_id" >&2; die "kafka.tools.StorageTool random-uuid failed"; }
      "$JAVA" "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
        -c "$PROPS" >>"$KAFKA_DATA_DIR/format.out" 2>&1 ||
        { tail -n 20 "$KAFKA_DATA_DIR/format.out" >&2; die "formatting $KAFKA_DATA_DIR/logs failed"; }
    fi
    # Own session (setsid) so a Ctrl-C in the calling terminal does not take the broker down.
    setsid nohup "$JAVA" "${JAVA_OPTS[@]}" kafka.Kafka "$PROPS" \
      >>"$KAFKA_DATA_DIR/kafka.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PIDFILE"
    touch "$MARKER"
  fi
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  until answering; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$KAFKA_DATA_DIR/kafka.out" "$KAFKA_DATA_DIR/server.log" >&2 2>/dev/null || true
      rm -f "$MARKER" "$PIDFILE"
      die "Kafka exited during start-up (logs in $KAFKA_DATA_DIR)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$KAFKA_DATA_DIR/server.log" >&2 2>/dev/null || true
      stop >/dev/null
      die "Kafka did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s; stopped it"
    fi
    sleep 0.5
  done
  echo "kafka.sh: Kafka $KAFKA_VERSION started on $BOOTSTRAP (data $KAFKA_DATA_DIR)"
}

stop() {
  [ -f "$MARKER" ] || return 0
  local pid
  if pid=$(our_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "kafka.sh: Kafka (pid $pid) ignored TERM for 30s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
  fi
  rm -f "$MARKER" "$PIDFILE"
  echo "kafka.sh: Kafka stopped"
}

reset() {
  stop
  if answering || our_pid >/dev/null; then
    die "a broker this script did not start still runs on $BOOTSTRAP; not deleting $KAFKA_DATA_DIR"
  fi
  if [ -d "$KAFKA_DATA_DIR" ]; then
    # Only delete a directory that is recognisably ours.
    [ ! -f "$PROPS" ] || head -n 1 "$PROPS" | grep -q 'scripts/kafka.sh (casetrail)' ||
      die "$KAFKA_DATA_DIR does not look like a kafka.sh data dir; not deleting it"
    [ -f "$PROPS" ] || [ -z "$(ls -A "$KAFKA_DATA_DIR")" ] ||
      die "$KAFKA_DATA_DIR does not look like a kafka.sh data dir; not deleting it"
    rm -rf "${KAFKA_DATA_DIR:?}"
  fi
  echo "kafka.sh: Kafka data dir $KAFKA_DATA_DIR reset"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) if answering; then echo "up on $BOOTSTRAP"; else echo down; exit 1; fi ;;
  bootstrap) echo "$BOOTSTRAP" ;;
  reset) reset ;;
  *) echo "usage: $0 fetch|start|stop|status|bootstrap|reset" >&2; exit 2 ;;
esac
