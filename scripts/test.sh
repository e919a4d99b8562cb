#!/usr/bin/env bash
# Runs every test: starts the real Kafka broker if it is not running, then
# cargo test over the whole workspace (unit tests and black-box tests).
set -euo pipefail
cd "$(dirname "$0")/.."
export LOGWARDEN_KAFKA_BROKERS=${LOGWARDEN_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}
scripts/kafka.sh start
cargo test --workspace --all-targets -- --test-threads 2 "$@"
