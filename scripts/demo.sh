#!/usr/bin/env bash
# Starts the whole pipeline locally on generated sample logs:
# a real Kafka broker (scripts/kafka.sh), then `logwarden run`.
# Ctrl-C stops logwarden (the broker keeps running: scripts/kafka.sh stop).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_DIR=${DEMO_DIR:-$PWD/demo}
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
INGEST_ADDR=${INGEST_ADDR:-127.0.0.1:9200}
export LOGWARDEN_KAFKA_BROKERS=${LOGWARDEN_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}

scripts/kafka.sh start
# LOGWARDEN_BIN: a logwarden binary already built (tests/readme.rs runs this script so).
if [ -n "${LOGWARDEN_BIN:-}" ]; then
  bin=$LOGWARDEN_BIN
else
  cargo build --release --bin logwarden
  bin=${CARGO_TARGET_DIR:-target}/release/logwarden
fi
if [ ! -f "$DEMO_DIR/logs/auth.log" ]; then
  "$bin" generate --out "$DEMO_DIR/logs" --lines 100000 --span 24h
fi
echo
echo "Rules: rules/ (Sigma); set ALERT_WEBHOOK=URL to get Alertmanager-shaped POSTs for alerts"
auth="-H \"Authorization: Bearer \$(cat $DEMO_DIR/data/admin.key)\""
echo "Web UI: http://$HTTP_ADDR/  (log in with the key in $DEMO_DIR/data/admin.key)"
echo "Try:  curl -s $auth 'http://$HTTP_ADDR/api/v1/search?q=sshd+AND+failed&limit=3'"
echo "      curl -s $auth 'http://$HTTP_ADDR/api/v1/alerts?limit=3'"
echo "      echo 'my first line' | curl -s $auth --data-binary @- 'http://$INGEST_ADDR/api/v1/ingest/app'"
echo "      $bin keys create --name shipper --role ingest --data-dir $DEMO_DIR/data   # a key for a log shipper (restart to use it)"
echo
hooks=()
if [ -n "${ALERT_WEBHOOK:-}" ]; then hooks=(--alert-webhook "$ALERT_WEBHOOK"); fi
exec "$bin" run --input "$DEMO_DIR/logs/*" --data-dir "$DEMO_DIR/data" --http-addr "$HTTP_ADDR" --http-ingest "$INGEST_ADDR" --brokers "$LOGWARDEN_KAFKA_BROKERS" --rules rules "${hooks[@]}"
