#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1 for
# local tests. Jars come from Maven Central via mvn (scripts/kafka/pom.xml).
set -euo pipefail

KAFKA_VERSION=4.3.1
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM="$SCRIPT_DIR/kafka/pom.xml"
KBASE=${LOGWARDEN_KAFKA_HOME:-$HOME/.cache/logwarden/kafka-$KAFKA_VERSION}
LIB="$KBASE/lib"
# A named private instance (tests that stop Kafka) has its own data, log,
# pid and properties under instances/NAME and shares the fetched jars.
INSTANCE=${LOGWARDEN_KAFKA_INSTANCE:-}
if [[ -n "$INSTANCE" ]]; then
  [[ "$INSTANCE" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "kafka: LOGWARDEN_KAFKA_INSTANCE must be letters, digits, '.', '_' or '-'" >&2; exit 2; }
  KHOME="$KBASE/instances/$INSTANCE"
else
  KHOME="$KBASE"
fi
DATA="$KHOME/data"
LOG="$KHOME/broker.log"
PROPS="$KHOME/server.properties"
PIDFILE="$KHOME/kafka.pid"
PORT=${KAFKA_PORT:-9092}
CPORT=${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
BOOTSTRAP="127.0.0.1:$PORT"
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

usage() {
  cat <<EOF
usage: $(basename "$0") COMMAND [ARGS]
  start              fetch jars if needed, start the broker, wait until it answers
  stop [--wipe]      stop the broker (SIGTERM, SIGKILL after 30 s); --wipe also deletes data
  wipe               stop and delete data (topics, offsets)
  status             exit 0 if running, 3 if not
  perf-test ARGS...  org.apache.kafka.tools.ProducerPerformance ARGS
  run CLASS ARGS...  any class on the Kafka classpath, e.g. org.apache.kafka.tools.TopicCommand
env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_HEAP_OPTS (-Xmx1g -Xms512m),
     LOGWARDEN_KAFKA_HOME (~/.cache/logwarden/kafka-$KAFKA_VERSION: lib/, data/, broker.log),
     LOGWARDEN_KAFKA_INSTANCE=NAME: a private broker in instances/NAME (own data, log, pid; shared lib/);
       give it its own KAFKA_PORT. 'stop --wipe' of an instance also removes its folder.
EOF
}

# Fetch Kafka, kafka-tools and log4j2 into lib/ once; lib/.complete marks a full fetch.
fetch() {
  [[ -f "$LIB/.complete" ]] && return 0
  command -v mvn >/dev/null || { echo "kafka: mvn not found (apt-get install maven)" >&2; exit 1; }
  echo "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIB ..."
  mkdir -p "$KBASE" "$KHOME"; rm -rf "$LIB.tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$LIB.tmp" -DincludeScope=runtime >"$KHOME/fetch.log" 2>&1; then
    tail -n 40 "$KHOME/fetch.log" >&2; echo "kafka: fetch failed" >&2; exit 1
  fi
  rm -rf "$LIB"; mv "$LIB.tmp" "$LIB"; touch "$LIB/.complete"
}

# log4j2 configs: the broker logs to stdout (redirected to broker.log); tools warn on stderr.
write_log_configs() {
  mkdir -p "$KHOME"
  cat >"$KHOME/log4j2-broker.properties" <<'EOF'
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.req.name = kafka.request.logger
logger.req.level = WARN
logger.sc.name = state.change.logger
logger.sc.level = WARN
EOF
  cat >"$KHOME/log4j2-tools.properties" <<'EOF'
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF
}

write_props() {
  cat >"$PROPS" <<EOF
# Written by scripts/kafka.sh on each start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=$(nproc)
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
}

# Run a class on the Kafka classpath with the quiet tools logging.
kjava() { "$JAVA" -Dlog4j2.configurationFile="$KHOME/log4j2-tools.properties" -cp "$LIB/*" "$@"; }

# Serialise start/stop/wipe across concurrent callers (fd 9 is closed for the broker itself).
lock() {
  mkdir -p "$KHOME"; exec 9>"$KHOME/.lock"
  flock -w 300 9 || { echo "kafka: $KHOME/.lock held by another kafka.sh for 300 s" >&2; exit 1; }
}

pid_alive() {  # our broker's pid from the pid file, if that process is alive and is kafka.Kafka
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid=$(<"$PIDFILE")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -qa 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null \
    && echo "$pid"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
running() { pid_alive >/dev/null && port_open "$PORT"; }

start() {
  if running; then echo "kafka: already running on $BOOTSTRAP (pid $(pid_alive))"; return 0; fi
  if pid_alive >/dev/null; then echo "kafka: pid $(pid_alive) is alive but not answering on $BOOTSTRAP; stopping it" >&2; stop; fi
  if port_open "$PORT"; then echo "kafka: port $PORT is taken by another process" >&2; exit 1; fi
  fetch
  write_log_configs
  write_props
  mkdir -p "$DATA"
  if [[ ! -f "$DATA/meta.properties" ]]; then
    local cid; cid=$(kjava kafka.tools.StorageTool random-uuid)
    kjava kafka.tools.StorageTool format -t "$cid" -c "$PROPS" >"$KHOME/format.log" 2>&1 \
      || { cat "$KHOME/format.log" >&2; echo "kafka: storage format failed" >&2; exit 1; }
  fi
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"  # keep the previous run's log
  local t0=$SECONDS
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of flags
  nohup setsid "$JAVA" ${KAFKA_HEAP_OPTS:--Xmx1g -Xms512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KHOME/log4j2-broker.properties" -cp "$LIB/*" \
    kafka.Kafka "$PROPS" >"$LOG" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  while (( SECONDS - t0 < 90 )); do
    # Our child, so it lingers as a zombie if it dies; not pid_alive: java may not have exec'd yet.
    local state=Z; read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || true
    [[ "$state" == Z ]] && break
    if port_open "$PORT" && timeout 30 "$JAVA" -Dlog4j2.configurationFile="$KHOME/log4j2-tools.properties" \
        -cp "$LIB/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; then
      echo "kafka: running on $BOOTSTRAP (pid $pid, ready in $((SECONDS - t0)) s, log $LOG)"
      return 0
    fi
    sleep 1
  done
  echo "kafka: failed to start on $BOOTSTRAP; last 40 lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2 || true
  echo "kafka: errors in $LOG:" >&2
  grep -E '^\[[^]]*\] (ERROR|FATAL)|^Caused by' "$LOG" | tail -n 8 >&2 || true
  stop >/dev/null
  exit 1
}

stop() {
  local pid i
  if ! pid=$(pid_alive); then rm -f "$PIDFILE"; echo "kafka: not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then echo "kafka: pid $pid ignored SIGTERM for 30 s, killing" >&2; kill -KILL "$pid" || true; fi
  rm -f "$PIDFILE"
  echo "kafka: stopped (pid $pid)"
}

wipe() {
  stop; rm -rf "$DATA"; echo "kafka: data removed ($DATA)"
  if [[ -n "$INSTANCE" ]]; then rm -rf "$KHOME"; fi
}

status() {
  if running; then echo "kafka: running on $BOOTSTRAP (pid $(pid_alive))"; return 0; fi
  if pid_alive >/dev/null; then echo "kafka: pid $(pid_alive) alive but not answering on $BOOTSTRAP"; else echo "kafka: not running"; fi
  exit 3
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
  start) lock; start ;;
  stop) lock; if [[ "${1:-}" == --wipe ]]; then wipe; else stop; fi ;;
  wipe) lock; wipe ;;
  status) status ;;
  perf-test) fetch; write_log_configs; kjava org.apache.kafka.tools.ProducerPerformance "$@" ;;
  run) fetch; write_log_configs; kjava "$@" ;;
  -h|--help|help|"") usage ;;
  *) usage >&2; exit 2 ;;
esac
