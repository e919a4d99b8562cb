#!/usr/bin/env python3
"""Appends live log lines (timestamps now) to auth.log, syslog.log,
access.log and app.log in DIR at RATE lines a second for SECONDS, round
robin; prints how many it wrote. For measuring a pipeline that keeps up
(BENCHMARKS.md, "The pipeline at 1,000 lines a second"), e.g. beside
scripts/freshness.py with --corpus 'DIR/*.log':

  scripts/feed-live.py RATE SECONDS DIR
"""
import datetime
import json
import random
import sys
import time

if len(sys.argv) != 4:
    sys.exit(__doc__)
rate, seconds, d = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
files = {k: open(f"{d}/{k}.log", "a", buffering=1) for k in ("auth", "syslog", "access", "app")}
rnd = random.Random(1)
start = time.time(); n = 0
while time.time() - start < seconds:
    now = datetime.datetime.now(datetime.timezone.utc)
    due = int((time.time() - start) * rate)
    while n < due:
        k = ("auth", "syslog", "access", "app")[n % 4]
        ip = f"10.0.{rnd.randrange(255)}.{rnd.randrange(255)}"
        if k == "auth":
            line = f"{now:%b} {now.day:2d} {now:%H:%M:%S} web0{n%5} sshd[{1000+n%300}]: Failed password for invalid user u{n%97} from {ip} port {1024+n%60000} ssh2"
        elif k == "syslog":
            line = f"{now:%b} {now.day:2d} {now:%H:%M:%S} web0{n%5} CRON[{2000+n%300}]: (root) CMD (run-parts /etc/cron.hourly {n})"
        elif k == "access":
            line = f'{ip} - - [{now:%d/%b/%Y:%H:%M:%S} +0000] "GET /api/items/{n} HTTP/1.1" 200 {512+n%4096} "-" "curl/8.5"'
        else:
            line = json.dumps({"@timestamp": now.isoformat().replace("+00:00", "Z"), "log.level": "info", "message": f"order {n} placed", "user.name": f"u{n%97}", "source.ip": ip})
        files[k].write(line + "\n"); n += 1
    time.sleep(0.01)
print(n)
