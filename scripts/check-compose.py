#!/usr/bin/env python3
"""Checks docker-compose.yml without a Docker engine: it parses, every service
builds from the Dockerfile or names an image, depends_on names real services,
and every logwarden command is a real subcommand. Uses `docker compose config`
when a Docker engine answers."""
import shutil
import subprocess
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "docker-compose.yml"
if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
    sys.exit(subprocess.run(["docker", "compose", "-f", path, "config", "-q"]).returncode)
try:
    import yaml
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyyaml"], check=True)
    import yaml

doc = yaml.safe_load(open(path))
services = doc.get("services") or {}
errors = []
if not services:
    errors.append("no services")
def logwarden_subcommands():
    """The variants of `enum Command` in src/cli/mod.rs, as clap names them."""
    import os
    import re
    source = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "cli", "mod.rs")).read()
    body = source.split("pub enum Command {", 1)[1].split("\n}", 1)[0]
    names = re.findall(r"^    ([A-Z][A-Za-z]*)[({,]", body, re.M)
    return {re.sub(r"(?<!^)([A-Z])", r"-\1", n).lower() for n in names}


subcommands = logwarden_subcommands()
assert {"run", "collector", "indexer", "query-api", "detect"} <= subcommands, subcommands
for name, svc in services.items():
    if "build" not in svc and "image" not in svc:
        errors.append(f"{name}: neither build nor image")
    deps = svc.get("depends_on") or []
    for dep in (deps if isinstance(deps, list) else deps.keys()):
        if dep not in services:
            errors.append(f"{name}: depends_on unknown service {dep}")
    cmd = svc.get("command")
    if "build" in svc and isinstance(cmd, list) and cmd and cmd[0] not in subcommands:
        errors.append(f"{name}: command {cmd[0]!r} is not a logwarden subcommand")
if errors:
    print("\n".join(f"{path}: {e}" for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"{path}: {len(services)} services ok")
