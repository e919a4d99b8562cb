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
# Secure mode (KAFKA_SECURE=1 or 'start --secure'): a SASL_SSL listener for clients besides
# PLAINTEXT, TLS from a CA made once under tls/, SCRAM-SHA-256/512 and PLAIN for one test user.
case ${KAFKA_SECURE:-0} in
  1|true|yes) SECURE=1 ;;
  0|false|no|"") SECURE= ;;
  *) echo "kafka: KAFKA_SECURE must be 1 or 0" >&2; exit 2 ;;
esac
SPORT=${KAFKA_SECURE_PORT:-$((PORT + 2))}
SBOOTSTRAP="127.0.0.1:$SPORT"
SASL_USER=logwarden
SASL_PASSWORD=${KAFKA_SASL_PASSWORD:-logwarden-secret}
SASL_MECHANISMS=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
TLS="$KHOME/tls"
CA="$TLS/ca.pem"
# SCRAM credentials live in the metadata log; this stamp (user and password hash) says they match.
SCRAM_STAMP="$DATA/.logwarden-scram"

usage() {
  cat <<EOF
usage: $(basename "$0") COMMAND [ARGS]
  start [--secure]   fetch jars if needed, start the broker, wait until it answers;
                     --secure is KAFKA_SECURE=1
  stop [--wipe]      stop the broker (SIGTERM, SIGKILL after 30 s); --wipe also deletes data
  wipe               stop and delete data (topics, offsets)
  status             exit 0 if running, 3 if not
  perf-test ARGS...  org.apache.kafka.tools.ProducerPerformance ARGS
  run CLASS ARGS...  any class on the Kafka classpath, e.g. org.apache.kafka.tools.TopicCommand
env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_HEAP_OPTS (-Xmx1g -Xms512m),
     KAFKA_START_SECONDS (300): how long start waits for the broker to answer,
     LOGWARDEN_KAFKA_HOME (~/.cache/logwarden/kafka-$KAFKA_VERSION: lib/, data/, broker.log),
     LOGWARDEN_KAFKA_INSTANCE=NAME: a private broker in instances/NAME (own data, log, pid; shared lib/);
       give it its own KAFKA_PORT. 'stop --wipe' of an instance also removes its folder.
     KAFKA_SECURE=1: also a SASL_SSL listener on KAFKA_SECURE_PORT (KAFKA_PORT+2) with SASL
       SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN for user '$SASL_USER', password KAFKA_SASL_PASSWORD
       (logwarden-secret; letters, digits and ._~+@%:/- only); PLAINTEXT stays for admin and tests.
       TLS: CA and broker certificate (127.0.0.1, localhost) made once in tls/ of the instance;
       clients trust tls/ca.pem (librdkafka ssl.ca.location). Java client settings per mechanism:
       tls/client-scram-sha-256.properties, tls/client-scram-sha-512.properties, tls/client-plain.properties
       (the tools' --command-config). No authorizer: any authenticated user may do anything.
       librdkafka needs 2.6.1 or later for SCRAM with Kafka 4 (older ones fail as "invalid credentials").
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
  local secure_listener=
  [[ -n "$SECURE" ]] && secure_listener=",SASL_SSL://127.0.0.1:$SPORT"
  (umask 077; : >"$PROPS")  # may hold the test password
  cat >"$PROPS" <<EOF
# Written by scripts/kafka.sh on each start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT$secure_listener
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT$secure_listener
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${secure_listener:+,SASL_SSL:SASL_SSL}
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
  [[ -n "$SECURE" ]] || return 0
  cat >>"$PROPS" <<EOF
# KAFKA_SECURE=1: clients on SASL_SSL. TLS only on the server side (no client certificates);
# SCRAM users are in the metadata log (format --add-scram or ConfigCommand), PLAIN users here.
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS/broker.pem
listener.name.sasl_ssl.sasl.enabled.mechanisms=$SASL_MECHANISMS
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
EOF
}

# Secure mode: a CA and a broker certificate for 127.0.0.1 and localhost in tls/, made once and
# remade only when missing or expiring within a day. broker.pem is Kafka's PEM keystore (key, chain).
make_tls() {
  if [[ -f "$CA" && -f "$TLS/broker.pem" ]] \
      && openssl x509 -checkend 86400 -noout -in "$TLS/broker-cert.pem" >/dev/null 2>&1; then return 0; fi
  command -v openssl >/dev/null || { echo "kafka: openssl not found (apt-get install openssl)" >&2; exit 1; }
  local tmp="$TLS.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  if ! (
    umask 077  # keys private; the certificates are made readable below
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 \
      -subj "/CN=logwarden test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
    && openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/broker.key" -out "$tmp/broker.csr" \
      -subj "/CN=127.0.0.1" \
    && openssl x509 -req -in "$tmp/broker.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 3650 -out "$tmp/broker-cert.pem" -extfile <(printf '%s\n' \
        "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost")
  ) >"$KHOME/tls.log" 2>&1; then
    cat "$KHOME/tls.log" >&2; rm -rf "$tmp"; echo "kafka: making the TLS certificates failed" >&2; exit 1
  fi
  (umask 077; cat "$tmp/broker.key" "$tmp/broker-cert.pem" "$tmp/ca.pem" >"$tmp/broker.pem")
  rm -f "$tmp/broker.csr"; chmod 644 "$tmp/ca.pem" "$tmp/broker-cert.pem"
  rm -rf "$TLS"; mv "$tmp" "$TLS"
}

# Secure mode: Java client settings for each mechanism, for the CLI tools and the readiness probe.
write_client_props() {
  local mech module
  for mech in ${SASL_MECHANISMS//,/ }; do
    module=org.apache.kafka.common.security.scram.ScramLoginModule
    [[ "$mech" == PLAIN ]] && module=org.apache.kafka.common.security.plain.PlainLoginModule
    (umask 077; cat >"$TLS/client-${mech,,}.properties") <<EOF
# Written by scripts/kafka.sh on each secure start; a client of $SBOOTSTRAP as $SASL_USER.
security.protocol=SASL_SSL
sasl.mechanism=$mech
sasl.jaas.config=$module required username="$SASL_USER" password="$SASL_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$CA
EOF
  done
}

scram_stamp() { printf '%s %s\n' "$SASL_USER" "$(printf '%s' "$SASL_PASSWORD" | sha256sum | cut -d' ' -f1)"; }

# Data formatted without this user or with another password: set the SCRAM credentials over
# PLAINTEXT, one mechanism per call (the broker refuses two changes of one user in a request).
ensure_scram() {
  local m
  [[ -f "$SCRAM_STAMP" && "$(<"$SCRAM_STAMP")" == "$(scram_stamp)" ]] && return 0
  for m in SCRAM-SHA-256 SCRAM-SHA-512; do
    timeout 30 "$JAVA" -Dlog4j2.configurationFile="$KHOME/log4j2-tools.properties" -cp "$LIB/*" \
      kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter --entity-type users \
      --entity-name "$SASL_USER" --add-config "$m=[password=$SASL_PASSWORD]" >"$KHOME/scram.log" 2>&1 || return 1
  done
  scram_stamp >"$SCRAM_STAMP"
}

secure_note() {  # the secure part of the ready line
  [[ -n "$SECURE" ]] && printf '; SASL_SSL on %s (CA %s, user %s, %s)' "$SBOOTSTRAP" "$CA" "$SASL_USER" "$SASL_MECHANISMS"
  return 0
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

# The broker answers: a topic listing over PLAINTEXT; in secure mode instead over SASL_SSL with
# SCRAM-SHA-512 (TLS, SASL and the SCRAM user), once the SCRAM user is current.
ready() {
  port_open "$PORT" || return 1
  if [[ -z "$SECURE" ]]; then
    timeout 30 "$JAVA" -Dlog4j2.configurationFile="$KHOME/log4j2-tools.properties" -cp "$LIB/*" \
      org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1
    return
  fi
  port_open "$SPORT" && ensure_scram || return 1
  timeout 30 "$JAVA" -Dlog4j2.configurationFile="$KHOME/log4j2-tools.properties" -cp "$LIB/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$SBOOTSTRAP" \
    --command-config "$TLS/client-scram-sha-512.properties" --list >"$KHOME/probe.log" 2>&1
}

start() {
  if [[ -n "$SECURE" && ! "$SASL_PASSWORD" =~ ^[A-Za-z0-9._~+@%:/-]+$ ]]; then
    echo "kafka: KAFKA_SASL_PASSWORD must be letters, digits, '.', '_', '~', '+', '@', '%', ':', '/' or '-'" >&2; exit 2
  fi
  if running; then
    if [[ -n "$SECURE" ]] && ! port_open "$SPORT"; then
      echo "kafka: running on $BOOTSTRAP (pid $(pid_alive)) without SASL_SSL on $SBOOTSTRAP; stop it first (kafka.sh stop), then start it with KAFKA_SECURE=1" >&2; exit 1
    fi
    echo "kafka: already running on $BOOTSTRAP (pid $(pid_alive))$(secure_note)"; return 0
  fi
  if pid_alive >/dev/null; then echo "kafka: pid $(pid_alive) is alive but not answering on $BOOTSTRAP; stopping it" >&2; stop; fi
  if port_open "$PORT"; then echo "kafka: port $PORT is taken by another process" >&2; exit 1; fi
  if [[ -n "$SECURE" ]] && port_open "$SPORT"; then echo "kafka: port $SPORT is taken by another process" >&2; exit 1; fi
  fetch
  write_log_configs
  write_props
  [[ -n "$SECURE" ]] && { make_tls; write_client_props; }
  mkdir -p "$DATA"
  if [[ ! -f "$DATA/meta.properties" ]]; then
    local cid scram=(); cid=$(kjava kafka.tools.StorageTool random-uuid)
    [[ -n "$SECURE" ]] && scram=(--add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]"
      --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]")
    kjava kafka.tools.StorageTool format -t "$cid" -c "$PROPS" "${scram[@]}" >"$KHOME/format.log" 2>&1 \
      || { cat "$KHOME/format.log" >&2; echo "kafka: storage format failed" >&2; exit 1; }
    if [[ -n "$SECURE" ]]; then scram_stamp >"$SCRAM_STAMP"; else rm -f "$SCRAM_STAMP"; fi
  fi
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"  # keep the previous run's log
  rm -f "$KHOME/scram.log" "$KHOME/probe.log"
  local t0=$SECONDS
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of flags
  nohup setsid "$JAVA" ${KAFKA_HEAP_OPTS:--Xmx1g -Xms512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KHOME/log4j2-broker.properties" -cp "$LIB/*" \
    kafka.Kafka "$PROPS" >"$LOG" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  local limit=${KAFKA_START_SECONDS:-300} said=$SECONDS
  [[ "$limit" =~ ^[0-9]+$ ]] || { echo "kafka: KAFKA_START_SECONDS must be a number of seconds" >&2; exit 2; }
  while (( SECONDS - t0 < limit )); do
    # Our child, so it lingers as a zombie if it dies; not pid_alive: java may not have exec'd yet.
    local state=Z; read -r _ _ state _ 2>/dev/null <"/proc/$pid/stat" || true
    [[ "$state" == Z ]] && break
    if ready; then
      echo "kafka: running on $BOOTSTRAP (pid $pid, ready in $((SECONDS - t0)) s, log $LOG)$(secure_note)"
      return 0
    fi
    if (( SECONDS - said >= 15 )); then  # a broker with many partitions loads them first: say how far
      said=$SECONDS
      echo "kafka: starting ($((SECONDS - t0)) s; partitions loaded: $(grep -o '[0-9]*/[0-9]* completed in' "$LOG" | tail -n 1 | cut -d' ' -f1 || true))" >&2
    fi
    sleep 1
  done
  echo "kafka: failed to start on $BOOTSTRAP within $limit s (KAFKA_START_SECONDS); last 40 lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2 || true
  echo "kafka: errors in $LOG:" >&2
  grep -E '^\[[^]]*\] (ERROR|FATAL)|^Caused by' "$LOG" | tail -n 8 >&2 || true
  if [[ -n "$SECURE" ]]; then
    echo "kafka: last SCRAM setup and SASL_SSL probe ($KHOME/scram.log, probe.log):" >&2
    tail -n 5 "$KHOME/scram.log" "$KHOME/probe.log" >&2 2>/dev/null || true
  fi
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
  if running; then
    [[ -n "$SECURE" ]] && ! port_open "$SPORT" && SECURE=  # started without the secure listener
    echo "kafka: running on $BOOTSTRAP (pid $(pid_alive))$(secure_note)"; return 0
  fi
  if pid_alive >/dev/null; then echo "kafka: pid $(pid_alive) alive but not answering on $BOOTSTRAP"; else echo "kafka: not running"; fi
  exit 3
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
  start) [[ "${1:-}" == --secure ]] && SECURE=1; lock; start ;;
  stop) lock; if [[ "${1:-}" == --wipe ]]; then wipe; else stop; fi ;;
  wipe) lock; wipe ;;
  status) status ;;
  perf-test) fetch; write_log_configs; kjava org.apache.kafka.tools.ProducerPerformance "$@" ;;
  run) fetch; write_log_configs; kjava "$@" ;;
  -h|--help|help|"") usage ;;
  *) usage >&2; exit 2 ;;
esac
