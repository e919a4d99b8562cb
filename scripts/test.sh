#!/usr/bin/env bash
# Runs every test: starts the real Kafka broker if it is not running, then
# cargo test over the whole workspace (unit tests and black-box tests),
# then the web UI's browser tests (scripts/ui-test.sh: Playwright and
# Debian's chromium, which must be installed; they fail, never skip, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
export LOGWARDEN_KAFKA_BROKERS=${LOGWARDEN_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}
scripts/kafka.sh start
cargo test --workspace --all-targets -- --test-threads 2 "$@"
scripts/ui-test.sh
