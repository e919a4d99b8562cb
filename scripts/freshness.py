#!/usr/bin/env python3
"""Freshness of `logwarden run` under load, one run, for A/B comparisons of
settings (BENCHMARKS.md, "Freshness under load").

Starts `logwarden run` on a corpus (e.g. the one `logwarden bench --work-dir
W` generated in W/run-*/corpus) plus a marker file; appends a numbered syslog line
to the marker file every 200 ms while the corpus loads (and until --min-seconds);
searches for the markers every 100 ms. Prints each marker's time from written
to first found (p50/p90/p99/max), the pipeline's rate and CPU seconds, the
indexer's summed partition lag (`logwarden_indexer_partition_lag_events`,
sampled every 100 ms) and the commit counts. The work dir (run.log, data) is
removed at the end unless --keep, and so is the run's topic
(`scripts/kafka.sh run ...TopicCommand --delete`). A config file (--config) is
passed as LOGWARDEN_CONFIG, e.g. `[collector] max_index_backlog = 0` to turn
the file sources' holding back off.

  scripts/freshness.py --corpus 'W/corpus/*' --lines 1201695 [--config C.toml]

Brokers: LOGWARDEN_KAFKA_BROKERS (default 127.0.0.1:9092).
"""
import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

MARKER_EVERY = 0.2
POLL_EVERY = 0.1


def metric_sum(text, name):
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def quantile(values, q):
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default="target/release/logwarden")
    ap.add_argument("--corpus", required=True, help="glob of the corpus files")
    ap.add_argument("--lines", type=int, required=True, help="lines in the corpus")
    ap.add_argument("--config", help="a config file for the run (LOGWARDEN_CONFIG)")
    ap.add_argument("--label", default="run")
    ap.add_argument("--log-level", default="warn", help="the run's log filter, e.g. warn,tantivy=info (in its run.log)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (run.log, data) instead of removing it")
    ap.add_argument("--min-seconds", type=float, default=0, help="write markers at least this long")
    ap.add_argument("--timeline", help="write each marker (seconds in, ms to read by the collector, ms to found) "
                    "and each lag sample to this file as JSON lines, to line up with run.log")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix=f"freshness-{args.label}-")
    markers = os.path.join(work, "markers.log")
    open(markers, "w").close()
    topic = f"freshness-{args.label}-{random.randint(0, 1 << 30):x}"
    env = dict(os.environ)
    if args.config:
        env["LOGWARDEN_CONFIG"] = os.path.abspath(args.config)
    command = [args.binary, "run", "--topic", topic, "--group", f"{topic}-indexer", "--input", args.corpus,
               "--input", markers, "--http-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
               "--data-dir", os.path.join(work, "data"), "--log-level", args.log_level]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "run.log"), "w"),
                           env=env, text=True)
    api = telemetry = None
    while api is None:
        line = run.stdout.readline()
        if not line:
            sys.exit(f"logwarden run exited; see {work}/run.log")
        found = re.search(r"query API listening on (http://\S+)", line)
        api = found.group(1) if found else api
        found = re.search(r"telemetry listening on (http://\S+)", line)
        telemetry = found.group(1) if found else telemetry
    key = open(os.path.join(work, "data", "admin.key")).read().strip()

    def search(q, limit):
        url = f"{api}/api/v1/search?" + urllib.parse.urlencode({"q": q, "limit": limit})
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        return json.load(urllib.request.urlopen(request, timeout=60))

    def metrics():
        return urllib.request.urlopen(telemetry + "/metrics").read().decode()

    tag = f"lwfresh{random.randint(0, 1 << 40):x}"
    written, seen, read_at, lags = [], {}, {}, []
    start, loaded, last_count = time.time(), None, 0.0
    while True:
        now = time.time()
        writing = loaded is None or now - start < args.min_seconds
        if writing and (now - start) / MARKER_EVERY >= len(written):
            with open(markers, "a") as out:
                stamp = time.strftime("%b %e %H:%M:%S", time.gmtime())
                out.write(f"{stamp} benchprobe freshness[1]: freshness probe {tag} {tag}n{len(written)}\n")
            written.append(time.time())
        if len(seen) < len(written):
            hits = search(tag, len(written)).get("hits", [])
            found_at = time.time()
            for hit in hits:
                number = re.search(tag + r"n(\d+)", hit.get("message", ""))
                if number and int(number.group(1)) not in seen:
                    seen[int(number.group(1))] = found_at
                    read_at[int(number.group(1))] = hit.get("event.ingested")
        if loaded is None:
            lags.append((metric_sum(metrics(), "logwarden_indexer_partition_lag_events"), now - start))
            if now - last_count >= 1:
                last_count = now
                if search("*", 1)["total"] >= args.lines + len(seen):
                    loaded = time.time()
        elif now - start >= args.min_seconds and (len(seen) == len(written) or now - loaded > 30):
            break
        time.sleep(POLL_EVERY)

    text = metrics()
    stat = open(f"/proc/{run.pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    run.terminate()
    run.wait()
    def read_ms(n):
        """ms from marker n written to its event.ingested (None if the hit had none)."""
        t = read_at.get(n)
        return (datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() - written[n]) * 1000 if t else None

    latency = sorted((seen[n] - written[n]) * 1000 for n in seen)
    reads = sorted(ms for ms in map(read_ms, read_at) if ms is not None)
    took = loaded - start
    print(f"{args.label}: corpus searchable after {took:.1f} s ({args.lines / took:.0f} events/s, {cpu:.1f} CPU s); "
          f"markers found {len(seen)}/{len(written)}")
    print(f"  freshness p50 {quantile(latency, 0.5):.0f} ms, p90 {quantile(latency, 0.9):.0f}, "
          f"p99 {quantile(latency, 0.99):.0f}, max {latency[-1] if latency else 0:.0f}; "
          f"written to read by the collector p50 {quantile(reads, 0.5):.0f} ms")
    slowest = sorted(((seen[n] - written[n]) * 1000, written[n] - start) for n in seen)[-5:][::-1]
    print("  slowest markers: " + ", ".join(f"{ms:.0f} ms ({at:.1f} s in)" for ms, at in slowest))
    if lags:
        peak, peak_at = max(lags)
        print(f"  indexer lag (sum over partitions) p50 {quantile(sorted(l for l, _ in lags), 0.5):.0f}, "
              f"max {peak:.0f} events ({peak_at:.1f} s in)")
    print(f"  collector transactions {metric_sum(text, 'logwarden_collector_transaction_commit_seconds_count'):.0f}, "
          f"held back {metric_sum(text, 'logwarden_collector_held_back_milliseconds_total') / 1000:.1f} s; "
          f"indexer commits {metric_sum(text, 'logwarden_indexer_commit_seconds_count'):.0f} "
          f"({metric_sum(text, 'logwarden_indexer_commit_seconds_sum'):.1f} s)")
    if args.timeline:
        with open(args.timeline, "w") as out:
            out.write(json.dumps({"started": start}) + "\n")
            for n, at in enumerate(written):
                found_ms = (seen[n] - at) * 1000 if n in seen else None
                out.write(json.dumps({"marker": n, "at": at - start, "read_ms": read_ms(n), "found_ms": found_ms}) + "\n")
            for lag, at in lags:
                out.write(json.dumps({"lag": lag, "at": at}) + "\n")
    if args.keep:
        print(f"  kept {work} and topic {topic}")
    else:
        shutil.rmtree(work, ignore_errors=True)
        delete_topic(topic, env)


def delete_topic(topic, env):
    """Deletes the run's topic from the shared broker, where each run's
    topic (~1.3 GB at 10 M events) would stay otherwise."""
    brokers = env.get("LOGWARDEN_KAFKA_BROKERS", "127.0.0.1:9092").split(",")[0]
    kafka = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka.sh")
    done = subprocess.run([kafka, "run", "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", brokers,
                           "--delete", "--if-exists", "--topic", re.escape(topic)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  topic {topic} not deleted: {done.stderr.strip()[-300:]}", file=sys.stderr)


if __name__ == "__main__":
    main()
