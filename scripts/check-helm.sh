#!/usr/bin/env bash
# Checks the Kubernetes deployment without a cluster: the Helm chart
# (deploy/helm/logwarden) and the Argo CD manifests (deploy/argocd).
#
#   scripts/check-helm.sh
#
# - installs helm and kubectl-validate into ${LOGWARDEN_TOOLS:-~/.cache/logwarden/tools}/bin
#   when missing (go install; minutes the first time, cached afterwards)
# - helm lint --strict, helm template: default values and every values-*.yaml
# - kubectl-validate (Kubernetes 1.30 schemas, CRDs from deploy/crds) over
#   every rendered manifest and deploy/argocd
# - assertions on rendered output: every role's config passes
#   `logwarden check-config`; the signing key comes from the Secret;
#   indexer.replicas=2 without shared storage fails with its message;
#   wrong-typed values and unknown keys are refused by values.schema.json
# Exits non-zero at any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
chart=deploy/helm/logwarden
kube_version=1.30.0

tools=${LOGWARDEN_TOOLS:-$HOME/.cache/logwarden/tools}
mkdir -p "$tools/bin"
export PATH="$tools/bin:$PATH"
go=$(command -v go || echo /usr/local/go/bin/go)
if { ! command -v helm || ! command -v kubectl-validate; } >/dev/null && [ ! -x "$go" ]; then
  echo "check-helm: go is needed to install helm and kubectl-validate (looked in PATH and /usr/local/go/bin)" >&2
  exit 1
fi
if ! command -v helm >/dev/null; then
  echo "check-helm: installing helm v3.22.0 into $tools/bin (first run: a few minutes)"
  GOBIN="$tools/bin" "$go" install helm.sh/helm/v3/cmd/helm@v3.22.0
fi
if ! command -v kubectl-validate >/dev/null; then
  echo "check-helm: installing kubectl-validate into $tools/bin (first run: a few minutes)"
  GOBIN="$tools/bin" "$go" install sigs.k8s.io/kubectl-validate@latest
fi

python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml
command -v openssl >/dev/null || { echo "check-helm: openssl is needed (test certificates)" >&2; exit 1; }

# The binary of this tree (built when stale: a cached target dir holds the
# last run's), unless LOGWARDEN_BIN names one.
if [ -z "${LOGWARDEN_BIN:-}" ]; then
  echo "check-helm: building logwarden (a no-op when up to date)"
  cargo build -q --bin logwarden
fi
logwarden=${LOGWARDEN_BIN:-${CARGO_TARGET_DIR:-target}/debug/logwarden}
case $logwarden in /*) ;; *) logwarden="$root/$logwarden" ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "check-helm: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "check-helm: ok: $*"; }

# Rendering as a cluster with the Prometheus Operator would: the
# ServiceMonitors and the PrometheusRule are rendered (and validated) too.
monitoring=(--api-versions monitoring.coreos.com/v1/ServiceMonitor --api-versions monitoring.coreos.com/v1/PrometheusRule)
render() { # render NAME [helm args...] > file
  local name=$1; shift
  helm template logwarden "$chart" --namespace logwarden --kube-version "$kube_version" "${monitoring[@]}" "$@"
}

# Every role's config from a rendered ConfigMap, through `logwarden
# check-config` as the pod's init container runs it: with the variables
# and files the pod would have (a placeholder Kafka password and hook
# tokens, the Secret-mounted certificates as test files under a sandbox
# root that stands in for /etc/logwarden and /run/logwarden), plus the
# [[auth.keys]] a Secret may add.
check_configs() { # check_configs RENDERED LABEL [with-secret-keys]
  local rendered=$1 label=$2 secret_keys=${3:-} dir="$work/configs-$2"
  mkdir -p "$dir/etc/kafka-tls" "$dir/etc/syslog-tls" "$dir/etc/api-tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=check-helm \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  for d in kafka-tls syslog-tls api-tls; do
    cp "$dir/cert.pem" "$dir/etc/$d/ca.crt"; cp "$dir/cert.pem" "$dir/etc/$d/tls.crt"; cp "$dir/key.pem" "$dir/etc/$d/tls.key"
    cp "$dir/cert.pem" "$dir/etc/$d/user.crt"; cp "$dir/key.pem" "$dir/etc/$d/user.key"
  done
  python3 - "$rendered" "$dir" <<'EOF'
import sys, yaml
rendered, out = sys.argv[1], sys.argv[2]
found = 0
for doc in yaml.safe_load_all(open(rendered)):
    if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].endswith("-config"):
        for key, text in doc["data"].items():
            text = text.replace("/etc/logwarden/", out + "/etc/").replace("/run/logwarden/", out + "/run/")
            open(f"{out}/{key}", "w").write(text)
            found += 1
if found != 5:
    sys.exit(f"expected 5 role configs (collector, ingest, indexer, query-api, detect), found {found}")
EOF
  # What auth.existingSecret holds: [[auth.keys]] entries.
  printf '\n[[auth.keys]]\nname = "from-secret"\nrole = "ingest"\nhash = "sha256:%s"\n' \
    "$(printf %s check-helm-key | sha256sum | cut -d' ' -f1)" > "$dir/auth-keys.toml"
  local role file env_hooks=()
  mapfile -t env_hooks < <(grep -ho 'LOGWARDEN_HOOK_[A-Z0-9_]*' "$dir"/*.toml | sort -u | sed 's/$/=Bearer check-helm/')
  for role in collector ingest indexer query-api detect; do
    file="$dir/$role.toml"
    if [ -n "$secret_keys" ]; then cat "$dir/auth-keys.toml" >> "$file"; fi
    if env -u LOGWARDEN_DATA_DIR -u LOGWARDEN_KAFKA_BROKERS LOGWARDEN_KAFKA_PASSWORD=check-helm "${env_hooks[@]}" \
        "$logwarden" check-config "$file" > "$dir/$role.out" 2>&1; then
      ok "$label: $role config passes logwarden check-config"
    else
      fail "$label: $role config refused by logwarden check-config: $(cat "$dir/$role.out")"
      sed 's/^/    /' "$file" >&2
    fi
  done
}

validate() { # validate FILE...
  kubectl-validate --version 1.30 --local-crds deploy/crds "$@"
}

echo "== helm lint and template"
value_sets=("default:")
for f in "$chart"/values-*.yaml; do value_sets+=("$(basename "$f" .yaml):$f"); done
for set in "${value_sets[@]}"; do
  label=${set%%:*} file=${set#*:}
  args=()
  [ -n "$file" ] && args=(-f "$file")
  if helm lint --strict --quiet "$chart" --kube-version "$kube_version" "${args[@]}" > "$work/lint.out" 2>&1; then
    ok "$label: helm lint --strict"
  else
    fail "$label: helm lint --strict"; cat "$work/lint.out" >&2
  fi
  mkdir -p "$work/rendered/$label"
  if render "$label" "${args[@]}" --output-dir "$work/rendered/$label" > /dev/null 2> "$work/render.err" \
      && render "$label" "${args[@]}" > "$work/$label.yaml" 2>> "$work/render.err"; then
    ok "$label: helm template ($(grep -c '^kind:' "$work/$label.yaml") objects)"
  else
    fail "$label: helm template"; cat "$work/render.err" >&2; continue
  fi
  echo "-- kubectl-validate ($label)"
  if validate "$work/rendered/$label" > "$work/validate.out" 2>&1; then
    ok "$label: kubectl-validate --version 1.30"
  else
    fail "$label: kubectl-validate"; grep -v '^$' "$work/validate.out" | grep -v ': OK$' >&2 || true
  fi
  # A values file naming auth.existingSecret gets the Secret's keys appended, as the pod does.
  secret_keys=""
  [ -n "$file" ] && grep -q '^  existingSecret: .*auth' "$file" && secret_keys=yes
  check_configs "$work/$label.yaml" "$label" $secret_keys
done

echo "== rules"
# Rules the chart renders from values, and the repository's rules/ that the
# production Application turns into a ConfigMap: `logwarden rules check`.
for rendered in "$work"/*.yaml; do
  label=$(basename "$rendered" .yaml)
  rules_dir="$work/rules-$label"
  python3 - "$rendered" "$rules_dir" <<'EOF'
import os, sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].endswith("-rules"):
        os.makedirs(sys.argv[2], exist_ok=True)
        for key, text in doc["data"].items():
            open(os.path.join(sys.argv[2], key), "w").write(text)
EOF
  [ -d "$rules_dir" ] || continue
  if "$logwarden" rules check "$rules_dir" > "$work/rules.out" 2>&1; then
    ok "$label: rules ConfigMap passes logwarden rules check ($(head -1 "$work/rules.out"))"
  else
    fail "$label: logwarden rules check"; cat "$work/rules.out" >&2
  fi
done
for f in $(sed -n 's/^ *- [^=]*=\(\.\..*\)$/\1/p' deploy/argocd/rules/kustomization.yaml); do
  [ -f "deploy/argocd/rules/$f" ] || fail "deploy/argocd/rules/kustomization.yaml: $f does not exist"
done
if "$logwarden" rules check rules/ > "$work/rules.out" 2>&1; then
  ok "rules/ (production's ConfigMap) passes logwarden rules check"
else
  fail "rules/: logwarden rules check"; cat "$work/rules.out" >&2
fi

echo "== features rendered with chosen values"
# Strimzi, SASL from the KafkaUser, TLS listeners, inline rules, hooks with
# header secrets, pinned key, NodePorts, a persistent spool: validated and checked too.
cat > "$work/features.yaml" <<'EOF'
signing: {existingSecret: lw-signing, publicKey: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAxwdU9YBi/FTrNqWFsQgR2t1HPiora3SNgOPc2X5LSwE=\n-----END PUBLIC KEY-----\n"}
kafka:
  strimzi: {enabled: true, authentication: scram-sha-512}
  tls: {enabled: true, existingSecret: logwarden-kafka-cluster-ca-cert}
config:
  auth:
    keys: [{name: shipper, role: ingest, hash: "sha256:0000000000000000000000000000000000000000000000000000000000000001"}]
ingest:
  http: {enabled: true}
  syslog: {tls: {enabled: true}}
  tls: {existingSecret: syslog-tls}
  persistence: {enabled: true}
  service: {type: NodePort, nodePorts: {syslogUdp: 30514, http: 30920}}
queryApi:
  tls: {existingSecret: api-tls}
  ingress: {enabled: true, tls: [{secretName: lw-tls, hosts: [logwarden.example.com]}]}
detect:
  rules: {inline: {a.yml: "title: a\nlogsource: {product: linux}\ndetection: {s: {message: x}, condition: s}\n"}}
  pipelines: {site.yml: "name: site\ntransformations: []\n"}
  hooks:
    - {name: oncall, type: alertmanager, url: "http://am:9093/hook", headersFromSecrets: {Authorization: {name: oncall, key: token}}}
EOF
if render features -f "$work/features.yaml" > "$work/features.out.yaml" 2> "$work/render.err"; then
  ok "features: helm template"
  mkdir -p "$work/rendered/features"
  render features -f "$work/features.yaml" --output-dir "$work/rendered/features" > /dev/null
  if validate "$work/rendered/features" > "$work/validate.out" 2>&1; then
    ok "features: kubectl-validate (Strimzi, ServiceMonitor, PrometheusRule, Ingress)"
  else
    fail "features: kubectl-validate"; grep -v ': OK$' "$work/validate.out" >&2 || true
  fi
  check_configs "$work/features.out.yaml" features
else
  fail "features: helm template"; cat "$work/render.err" >&2
fi

python3 - "$work/features.out.yaml" "$work/default.yaml" > "$work/assert.out" 2>&1 <<'EOF' || { fail "rendered-output assertions"; cat "$work/assert.out" >&2; }
import sys, yaml
features = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
default = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
def find(docs, kind, suffix):
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    assert hits, f"no {kind} *{suffix}"
    return hits[0]
errors = []
def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what)
    if not cond:
        errors.append(what)

# The signing key: from the Secret named in values, into the indexer only,
# never generated (no Secret is rendered by the chart at all).
for docs, secret in ((features, "lw-signing"), (default, "logwarden-signing")):
    sts = find(docs, "StatefulSet", "-indexer")
    vols = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    sources = vols["signing"]["projected"]["sources"]
    check(any(s.get("secret", {}).get("name") == secret for s in sources), f"indexer signing key comes from Secret {secret}")
    check(not any(d["kind"] == "Secret" for d in docs), "the chart renders no Secret (keys are never generated)")
    for d in docs:
        if d["kind"] in ("Deployment", "DaemonSet") or (d["kind"] == "StatefulSet" and not d["metadata"]["name"].endswith("-indexer")):
            names = [v["name"] for v in d["spec"]["template"]["spec"]["volumes"]]
            check("signing" not in names, f"{d['kind']} {d['metadata']['name']} does not mount the signing key")
    config = find(docs, "ConfigMap", "-config")["data"]["indexer.toml"]
    check('signing_key = "/run/logwarden/signing/manifest-signing.pem"' in config, "indexer.signing_key points at the key copied from the Secret")
pub = find(features, "ConfigMap", "-signing-public")
check("BEGIN PUBLIC KEY" in pub["data"]["manifest-signing.pem.pub.pem"], "the public half is in a ConfigMap")
cron = find(features, "CronJob", "-verify")
args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
check(args[:1] == ["verify"] and "--public-key" in args, "the verify CronJob checks against the pinned public key")

# Roles and what they run.
ds = find(features, "DaemonSet", "-collector")["spec"]["template"]["spec"]
check(ds["containers"][0]["args"] == ["collector"], "collector DaemonSet runs `logwarden collector`")
state = [v for v in ds["volumes"] if v["name"] == "state"][0]
check(state.get("hostPath", {}).get("type") == "DirectoryOrCreate", "collector checkpoints on a hostPath (survive restarts)")
ingest = find(features, "StatefulSet", "-ingest")
check(ingest["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data", "ingest spool on a claim with persistence on")
svc = find(features, "Service", "-ingest")
ports = {p["name"]: p for p in svc["spec"]["ports"]}
check(svc["spec"]["type"] == "NodePort" and ports["syslog-udp"]["protocol"] == "UDP" and ports["syslog-udp"].get("nodePort") == 30514, "ingest Service: NodePort with syslog UDP")
check({"syslog-udp", "syslog-tcp", "syslog-tls", "http"} <= set(ports), "ingest Service: syslog udp/tcp/tls and http")
container = ingest["spec"]["template"]["spec"]["containers"][0]
check(container["readinessProbe"]["httpGet"]["path"] == "/readyz" and container["livenessProbe"]["httpGet"]["path"] == "/healthz", "ingest probes /healthz and /readyz")
api = find(features, "Deployment", "-query-api")["spec"]["template"]["spec"]["containers"][0]
check(api["readinessProbe"]["httpGet"]["scheme"] == "HTTPS", "query API probes over HTTPS when api.tls is set")
for d in features:
    if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
        spec = d["spec"]["template"]["spec"]
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False, f"{d['metadata']['name']}/{c['name']}: read-only root, no privilege escalation")
        if d["kind"] != "DaemonSet":
            check(spec["securityContext"].get("runAsNonRoot") is True, f"{d['metadata']['name']}: runs as non-root")
detect = find(features, "Deployment", "-detect")["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e for e in detect["env"]}
check(env["LOGWARDEN_HOOK_0_AUTHORIZATION"]["valueFrom"]["secretKeyRef"] == {"name": "oncall", "key": "token"}, "hook header secret from a Secret")
check(env["LOGWARDEN_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "logwarden", "Kafka password from the KafkaUser's Secret")
topics = {d["spec"]["topicName"]: d["spec"] for d in features if d["kind"] == "KafkaTopic"}
check(set(topics) == {"logwarden.events", "logwarden.dlq", "logwarden.detect.hits", "logwarden.detect.hits.state", "logwarden.alerts", "logwarden.alerts.dlq"}, f"Strimzi topics: {sorted(topics)}")
check(topics["logwarden.events"]["partitions"] == 2, "events partitions = indexer cores (2 cores × 1 indexer)")
check(topics["logwarden.detect.hits.state"]["config"].get("cleanup.policy") == "compact", "hits state topic is compacted")
check(any(d["kind"] == "ServiceMonitor" for d in features) and any(d["kind"] == "PrometheusRule" for d in features), "ServiceMonitor and PrometheusRule rendered when the CRDs are present")
rule_names = [r["alert"] for d in features if d["kind"] == "PrometheusRule" for g in d["spec"]["groups"] for r in g["rules"]]
for name in ("LogwardenConsumerLag", "LogwardenSpoolFull", "LogwardenDeadLetters", "LogwardenVerifyFailed"):
    check(name in rule_names, f"alert {name}")
if errors:
    sys.exit(1)
EOF
[ -s "$work/assert.out" ] && sed 's/^/check-helm: /' "$work/assert.out"

echo "== refusals"
expect_refusal() { # expect_refusal WHAT PATTERN helm-args...
  local what=$1 pattern=$2; shift 2
  if helm template logwarden "$chart" --kube-version "$kube_version" "$@" > /dev/null 2> "$work/refusal.err"; then
    fail "$what: rendered, expected a refusal"
  elif grep -q -- "$pattern" "$work/refusal.err"; then
    ok "$what: refused ($(grep -m1 -o -- "$pattern.*" "$work/refusal.err" | cut -c1-110))"
  else
    fail "$what: refused without the expected message ($pattern)"; cat "$work/refusal.err" >&2
  fi
}
expect_refusal "indexer.replicas=2 without shared storage" "indexer.replicas=2 needs storage.shared.enabled=true" --set indexer.replicas=2
expect_refusal "indexer.replicas as a string" "at '/indexer/replicas': got string, want integer" --set-string indexer.replicas=two
expect_refusal "kafka.sasl.enabled as a string" "at '/kafka/sasl/enabled': got string, want boolean" --set-string kafka.sasl.enabled=yes
expect_refusal "an unknown key" "additional properties 'replica' not allowed" --set indexer.replica=2
expect_refusal "an unknown logwarden config key" "additional properties 'workerz' not allowed" --set config.indexer.workerz=2
expect_refusal "a [kafka] section in config (the chart sets it)" "additional properties 'kafka' not allowed" --set config.kafka.brokers=x:1
expect_refusal "a bad duration" "at '/config/indexer/commit_interval'" --set config.indexer.commit_interval=soon
expect_refusal "no signing Secret" "signing.existingSecret" --set signing.existingSecret=
expect_refusal "HTTP ingest without a key" "ingest.http.enabled needs a key" --set ingest.http.enabled=true
# And the multi-indexer case works once storage is shared.
if helm template logwarden "$chart" --kube-version "$kube_version" --set indexer.replicas=2 --set storage.shared.enabled=true > "$work/shared.yaml" 2> "$work/render.err" \
    && grep -q 'claimName: logwarden-data' "$work/shared.yaml" && grep -q 'ReadWriteMany' "$work/shared.yaml"; then
  ok "indexer.replicas=2 with storage.shared.enabled renders one ReadWriteMany claim"
else
  fail "indexer.replicas=2 with storage.shared.enabled"; cat "$work/render.err" >&2
fi
# check-config itself: a bad value is refused naming the key, exit 1.
printf '[kafka]\ncompression = "snappy"\n' > "$work/bad.toml"
set +e
"$logwarden" check-config "$work/bad.toml" > "$work/bad.out" 2>&1
rc=$?
set -e
if [ "$rc" = 1 ] && grep -q 'kafka.compression' "$work/bad.out"; then
  ok "logwarden check-config refuses a bad value naming the key (exit 1)"
else
  fail "logwarden check-config on a bad file: exit $rc, $(cat "$work/bad.out")"
fi

echo "== argo cd"
if validate deploy/argocd/appproject.yaml deploy/argocd/application-production.yaml deploy/argocd/application-staging.yaml > "$work/validate.out" 2>&1; then
  ok "deploy/argocd: Application and AppProject validate against Argo CD's CRDs"
else
  fail "deploy/argocd: kubectl-validate"; cat "$work/validate.out" >&2
fi
python3 - <<'EOF' || fail "deploy/argocd assertions"
import glob, os, yaml
chart = "deploy/helm/logwarden"
for path in glob.glob("deploy/argocd/application-*.yaml"):
    app = yaml.safe_load(open(path))
    sync = app["spec"]["syncPolicy"]
    assert sync["automated"] == {"prune": True, "selfHeal": True}, path
    assert "CreateNamespace=true" in sync["syncOptions"], path
    sources = app["spec"].get("sources") or [app["spec"]["source"]]
    charts = [s for s in sources if s.get("path") == chart]
    assert charts, f"{path}: no source at {chart}"
    for f in charts[0]["helm"]["valueFiles"]:
        assert os.path.exists(os.path.join(chart, f)), f"{path}: {f} missing"
    print(f"check-helm: ok: {path}: automated sync, prune, self-heal, CreateNamespace=true, values files exist")
EOF

if [ "$failures" -gt 0 ]; then
  echo "check-helm: $failures failure(s)" >&2
  exit 1
fi
echo "check-helm: all checks passed"
