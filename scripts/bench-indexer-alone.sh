#!/usr/bin/env bash
# Times `logwarden indexer` alone on a topic already filled (e.g. by
# `logwarden collector` on a bench corpus), from process start until every
# event is indexed, then until it stopped on SIGTERM (its last commit):
# events/s, CPU seconds, cores busy, CPU per event by thread, its commits
# by reason, its peak RSS, and its CPU once idle again (the merges due by
# then done). One lever at a time: pass indexer flags after the topic,
# e.g. `-c lever.toml`.
#
#   scripts/bench-indexer-alone.sh TOPIC EVENTS [indexer flags...]
#
# Needs target/release/logwarden (or LOGWARDEN_BIN) and the broker (LOGWARDEN_KAFKA_BROKERS,
# default 127.0.0.1:9092). Each run uses a new consumer group and data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { sed -n 2,13p "$0" >&2; exit 2; }
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
# CPU ticks of the living consumer (indexer-N) and librdkafka (rdk:*)
# threads; tantivy's indexing threads end at each commit, so the rest of
# the process's CPU is mostly theirs.
# A thread may end between the listing and the read: it is skipped (its
# CPU stays in the process's total, so in the rest).
read -r consumers librdkafka < <(for task in /proc/"$pid"/task/*; do
  stat=$(cat "$task/stat" 2>/dev/null) || continue
  name=${stat#*\(}; name=${name%\)*}
  fields=(${stat##*\)})
  echo "$name $(( fields[11] + fields[12] ))"
done | awk '/^indexer-/ {c += $2} /^rdk:/ {r += $2} END {print c + 0, r + 0}')
# Merges still due when the last event was indexed run on: wait until the
# process is idle (under 0.05 cores over 2 s, at most 5 minutes) and read
# its CPU again.
ticks_of() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
settled_ticks=$(ticks_of) settle_wait=0 idle=0
while (( settle_wait < 300 )); do
  sleep 2; settle_wait=$((settle_wait + 2))
  now_ticks=$(ticks_of)
  (( (now_ticks - settled_ticks) * 10 < $(getconf CLK_TCK) )) && idle=1
  settled_ticks=$now_ticks
  (( idle )) && break
done
peak_rss=$(awk '/^VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status")
kill -TERM "$pid"; wait "$pid"
stopped=$(date +%s.%N)
python3 - "$events" "$started" "$done_at" "$stopped" "$utime" "$stime" "$(getconf CLK_TCK)" "$consumers" "$librdkafka" "$settled_ticks" "$settle_wait" "$idle" <<'PY'
import sys
events, started, done, stopped, utime, stime, tck, consumers, librdkafka, settled, settle_wait, idle = sys.argv[1:]
events = int(events); started, done, stopped = map(float, (started, done, stopped))
ticks = int(utime) + int(stime)
cpu = ticks / int(tck)
us = lambda t: t / int(tck) * 1e6 / events
print(f"indexed {events} events in {done - started:.1f} s ({events / (done - started):,.0f} events/s), "
      f"stopped at {stopped - started:.1f} s; {cpu:.1f} CPU s ({events / cpu:,.0f} events per CPU s, "
      f"{cpu / (done - started):.2f} cores busy)")
print(f"  CPU per event: {us(ticks):.2f} us; consumer threads {us(int(consumers)):.2f}, librdkafka {us(int(librdkafka)):.2f}, "
      f"the rest (tantivy's threads, ended at each commit, and others) {us(ticks - int(consumers) - int(librdkafka)):.2f}; "
      f"system (kernel) {us(int(stime)):.2f} of the total")
print(f"  {'idle' if idle == '1' else 'still busy'} {settle_wait} s after the last event: "
      f"{us(int(settled)):.2f} us per event in all, the merges due by then included")
PY
sed 's/^/  /' <<<"$commits"
echo "  peak RSS: $peak_rss"
echo "  index on disk: $(du -sh "$work/data/streams" | cut -f1)"
