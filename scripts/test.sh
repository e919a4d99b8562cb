#!/usr/bin/env bash
# Runs every test: starts the real Kafka broker if it is not running, then
# cargo test over the whole workspace (unit tests and black-box tests),
# then the web UI's browser tests (scripts/ui-test.sh: Playwright and
# Debian's chromium, which must be installed; they fail, never skip, without it).
# The topics the tests create are deleted afterwards, pass or fail, so the
# broker does not grow by hundreds of partitions a run (a broker with
# thousands loads them for minutes at its next start); LOGWARDEN_KEEP_TOPICS=1 keeps them.
set -euo pipefail
cd "$(dirname "$0")/.."
export LOGWARDEN_KAFKA_BROKERS=${LOGWARDEN_KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-9092}}
scripts/kafka.sh start

topics() {
  scripts/kafka.sh run org.apache.kafka.tools.TopicCommand --bootstrap-server "$LOGWARDEN_KAFKA_BROKERS" --list | sort
}
before=$(mktemp)
topics >"$before"
delete_new_topics() {
  local status=$? after new
  if [[ "${LOGWARDEN_KEEP_TOPICS:-0}" != 1 ]] && after=$(topics); then
    new=$(comm -13 "$before" - <<<"$after")
    if [[ -n "$new" ]]; then
      echo "test: deleting the $(wc -l <<<"$new") topics the tests created (LOGWARDEN_KEEP_TOPICS=1 keeps them)"
      # TopicCommand takes a regular expression: dots escaped, 200 names a call.
      sed 's/\./\\./g' <<<"$new" | xargs -d '\n' -n 200 echo | tr ' ' '|' | while read -r pattern; do
        scripts/kafka.sh run org.apache.kafka.tools.TopicCommand --bootstrap-server "$LOGWARDEN_KAFKA_BROKERS" \
          --delete --topic "^($pattern)\$" >/dev/null || echo "test: could not delete some topics" >&2
      done
    fi
  fi
  rm -f "$before"
  exit "$status"
}
trap delete_new_topics EXIT

cargo test --workspace --all-targets -- --test-threads 2 "$@"
scripts/ui-test.sh
