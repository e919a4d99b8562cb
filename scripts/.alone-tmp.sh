#!/usr/bin/env bash
# Times `logwarden indexer` alone on a topic already filled (e.g. by
# `logwarden collector` on a bench corpus), from process start until every
# event is indexed, then until it stopped on SIGTERM (its last commit):
# events/s, CPU seconds, cores busy, its commits by reason and its peak RSS. One lever at
# a time: pass indexer flags after the topic, e.g. `-c lever.toml`.
#
#   scripts/bench-indexer-alone.sh TOPIC EVENTS [indexer flags...]
#
# Needs target/release/logwarden (or LOGWARDEN_BIN) and the broker (LOGWARDEN_KAFKA_BROKERS,
# default 127.0.0.1:9092). Each run uses a new consumer group and data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { sed -n 2,11p "$0" >&2; exit 2; }
topic=$1 events=$2; shift 2
[[ "$events" =~ ^[0-9]+$ ]] || { echo "EVENTS must be a number" >&2; exit 2; }
brokers=${LOGWARDEN_KAFKA_BROKERS:-127.0.0.1:9092}
work=$(mktemp -d "${TMPDIR:-/tmp}/indexer-alone.XXXXXX")
trap 'rm -rf "$work"' EXIT
port=$((19000 + RANDOM % 900))
metrics() { curl -sf "127.0.0.1:$port/metrics" || true; }
started=$(date +%s.%N)
"${LOGWARDEN_BIN:-target/release/logwarden}" indexer --brokers "$brokers" --topic "$topic" --group "indexer-alone-$$" \
  --data-dir "$work/data" --metrics-addr "127.0.0.1:$port" "$@" >"$work/log" 2>&1 &
pid=$!
while :; do
  indexed=$(metrics | awk '/^logwarden_indexer_events_indexed_total/ {s += $2} END {print s + 0}')
  (( indexed >= events )) && break
  kill -0 "$pid" 2>/dev/null || { echo "the indexer stopped:" >&2; tail -n 20 "$work/log" >&2; exit 1; }
  sleep 0.2
done
done_at=$(date +%s.%N)
commits=$(metrics | grep -E '^logwarden_indexer_commits_total' || true)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
peak_rss=$(awk '/^VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status")
for t in /proc/$pid/task/*; do awk -v c="$(cat $t/comm)" '{print c, $14+$15}' $t/stat; done | sed -E "s/[0-9]+ / /" | awk '{a[$1]+=$2} END {for (k in a) printf "  thread %-24s %6.2f s\n", k, a[k]/100}' | sort -k3 -nr
kill -TERM "$pid"; wait "$pid"
stopped=$(date +%s.%N)
python3 - "$events" "$started" "$done_at" "$stopped" "$utime" "$stime" "$(getconf CLK_TCK)" <<'PY'
import sys
events, started, done, stopped, utime, stime, tck = sys.argv[1:]
events = int(events); started, done, stopped = map(float, (started, done, stopped))
cpu = (int(utime) + int(stime)) / int(tck)
print(f"indexed {events} events in {done - started:.1f} s ({events / (done - started):,.0f} events/s), "
      f"stopped at {stopped - started:.1f} s; {cpu:.1f} CPU s ({events / cpu:,.0f} events per CPU s, "
      f"{cpu / (done - started):.2f} cores busy)")
PY
sed 's/^/  /' <<<"$commits"
echo "  peak RSS: $peak_rss"
echo "  index on disk: $(du -sh "$work/data/streams" | cut -f1)"
