#!/usr/bin/env python3
"""Writes ../values.schema.json. The schema is kept as code so its shapes
stay consistent; edit here, run `python3 deploy/helm/logwarden/schema/gen.py`.
Every chart block and every logwarden config section refuses unknown keys;
Kubernetes pass-through blocks (resources, affinity, ...) are typed only."""
import json
import os

def obj(props, required=(), extra=False, **kw):
    s = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        s["required"] = list(required)
    s.update(kw)
    return s

S = {"type": "string"}
B = {"type": "boolean"}
I = {"type": "integer", "minimum": 0}
DUR = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?\s*(ns|us|ms|s|m|h|d|w|M|y|min|sec|hours?|days?|weeks?|months?|years?)(\s*[0-9]+\s*[a-zA-Z]+)*$",
       "description": "a duration as humantime text: 1s, 250ms, 90d, 2y"}
ANYOBJ = {"type": "object"}
ANYARR = {"type": "array"}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
STRLIST = {"type": "array", "items": S}
QTY = {"type": ["string", "integer", "number"]}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
NODEPORT = {"type": ["integer", "null"], "minimum": 30000, "maximum": 32767}

def pdb():
    return obj({"enabled": B, "minAvailable": {"type": ["integer", "string"]}, "maxUnavailable": {"type": ["integer", "string"]}})

def probes():
    p = obj({"initialDelaySeconds": I, "periodSeconds": I, "timeoutSeconds": I, "failureThreshold": I, "successThreshold": I})
    return obj({"liveness": p, "readiness": p})

def persistence():
    return obj({"enabled": B, "size": QTY, "storageClass": S})

def role(extra_props):
    props = {
        "enabled": B, "replicas": I, "resources": ANYOBJ, "nodeSelector": STRMAP, "tolerations": ANYARR,
        "affinity": ANYOBJ, "topologySpreadConstraints": ANYARR, "extraEnv": ANYARR, "extraVolumes": ANYARR,
        "extraVolumeMounts": ANYARR, "podAnnotations": STRMAP, "priorityClassName": S,
    }
    props.update(extra_props)
    return obj(props)

# logwarden.toml sections (config/src/raw.rs, detect.rs), minus what the chart sets.
route = obj({"field": S, "equals": S, "matches": S, "stream": S}, required=["field", "stream"])
config = obj({
    "collector": obj({
        "parse": obj({"chain": STRLIST, "patterns": STRLIST, "syslog_timezone": S}),
        "routes": {"type": "array", "items": route},
        "scan_interval": DUR, "partial_line_timeout": DUR, "max_line_bytes": I,
    }),
    "indexer": obj({
        "group": S, "commit_interval": DUR, "writer_memory_mb": {"type": "integer", "minimum": 16, "maximum": 4096},
        "split_window": DUR, "seal_grace": DUR, "split_max_events": {"type": "integer", "minimum": 1},
        "dlq_topic": S, "retention_interval": DUR,
    }),
    "streams": {"type": "object", "additionalProperties": obj({
        "retention": DUR, "hot": DUR, "presets": STRLIST, "legal_hold": B, "legal_hold_reason": S,
    })},
    "api": obj({"max_hits": {"type": "integer", "minimum": 1}, "query_timeout": DUR}),
    "detect": obj({
        "group": S, "correlate_group": S, "notify_group": S, "hits_topic": S, "alerts_topic": S, "alerts_dlq_topic": S,
        "suppress": DUR, "suppress_rules": STRMAP, "allowed_lateness": DUR, "reorder_capacity": {"type": "integer", "minimum": 1},
    }),
    "auth": obj({"keys": {"type": "array", "items": obj({
        "name": S, "role": {"enum": ["admin", "analyst", "auditor", "ingest"]},
        "hash": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}, "streams": STRLIST,
    }, required=["name", "role", "hash"])}}),
}, description="logwarden.toml sections shared by every role (data_dir, [kafka], listen addresses, signing_key, collector.files, syslog, detect.rules and hooks are set by the chart)")

secret_ref = obj({"name": S, "key": S}, required=["name", "key"])
hook = obj({
    "name": S, "type": {"enum": ["alertmanager", "slack", "webhook"]}, "url": {"type": "string", "pattern": "^https?://"},
    "min_level": {"enum": ["informational", "low", "medium", "high", "critical"]}, "tags": STRLIST,
    "headers": STRMAP, "headers_env": STRMAP, "headers_file": STRMAP, "timeout": DUR, "retry_for": DUR,
    "external_url": S, "headersFromSecrets": {"type": "object", "additionalProperties": secret_ref},
}, required=["type", "url"])

file_input = obj({
    "include": {"type": "array", "items": S, "minItems": 1}, "exclude": STRLIST, "stream": S, "parsers": STRLIST,
    "multiline": obj({"start": S, "timeout": DUR, "max_lines": I}),
}, required=["include"])

schema = obj({
    "global": ANYOBJ,
    "nameOverride": S, "fullnameOverride": S, "commonLabels": STRMAP,
    "image": obj({"repository": S, "tag": S, "digest": {"type": "string", "pattern": "^(sha256:[0-9a-f]{64})?$"},
                  "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}, "pullSecrets": ANYARR}),
    "serviceAccount": obj({"create": B, "name": S, "annotations": STRMAP, "automountToken": B}),
    "podSecurityContext": ANYOBJ, "securityContext": ANYOBJ,
    "podAnnotations": STRMAP, "podLabels": STRMAP, "priorityClassName": S,
    "log": obj({"format": {"enum": ["text", "json"]}, "level": S}),
    "config": config,
    "auth": obj({"existingSecret": S, "secretKey": S}),
    "signing": obj({"existingSecret": {"type": "string", "minLength": 1}, "secretKey": S, "publicKey": S,
                    "existingPublicKeyConfigMap": S, "publicKeyConfigMapKey": S}),
    "kafka": obj({
        "brokers": {"type": "string", "minLength": 1}, "topic": S, "partitions": I,
        "compression": {"enum": ["lz4", "zstd"]}, "linger": DUR,
        "securityProtocol": {"enum": ["", "plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]},
        "sasl": obj({"enabled": B, "mechanism": {"enum": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]}, "username": S,
                     "existingSecret": S, "passwordKey": S}),
        "tls": obj({"enabled": B, "existingSecret": S, "caKey": S, "certKey": S, "keyKey": S}),
        "producer": STRMAP, "consumer": STRMAP, "admin": STRMAP,
        "strimzi": obj({
            "enabled": B, "version": S, "replicas": {"type": "integer", "minimum": 1},
            "storage": obj({"size": QTY, "class": S}), "resources": ANYOBJ, "listenerPort": PORT,
            "authentication": {"enum": ["", "scram-sha-512"]}, "replicationFactor": {"type": "integer", "minimum": 1},
            "minInsyncReplicas": {"type": "integer", "minimum": 1}, "topics": obj({"retentionMs": {"type": "integer"}}),
            "config": ANYOBJ,
        }),
    }),
    "collector": role({
        "files": {"type": "array", "items": file_input}, "hostLogPath": S, "statePath": S,
        "extraHostPaths": {"type": "array", "items": obj({"name": S, "hostPath": S, "mountPath": S}, required=["name", "hostPath", "mountPath"])},
        "podSecurityContext": ANYOBJ, "securityContext": ANYOBJ, "updateStrategy": ANYOBJ,
    }),
    "ingest": role({
        "syslog": obj({
            "udp": obj({"enabled": B, "port": PORT}),
            "tcp": obj({"enabled": B, "port": PORT, "maxConnections": {"type": "integer", "minimum": 1}, "idleTimeout": DUR}),
            "tls": obj({"enabled": B, "port": PORT}),
            "maxMessageBytes": {"type": "integer", "minimum": 1},
        }),
        "http": obj({"enabled": B, "port": PORT, "maxBodyBytes": {"type": "integer", "minimum": 1}}),
        "tls": obj({"existingSecret": S}),
        "spool": obj({"maxBytes": {"type": "integer", "minimum": 1}, "fsync": {"enum": ["always", "never"]},
                      "kafkaTimeout": DUR, "sizeLimit": QTY}),
        "persistence": persistence(),
        "service": obj({
            "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]}, "annotations": STRMAP, "loadBalancerIP": S,
            "loadBalancerSourceRanges": STRLIST, "externalTrafficPolicy": {"enum": ["", "Cluster", "Local"]},
            "nodePorts": obj({"syslogUdp": NODEPORT, "syslogTcp": NODEPORT, "syslogTls": NODEPORT, "http": NODEPORT}),
        }),
        "podDisruptionBudget": pdb(), "probes": probes(),
    }),
    "indexer": role({
        "persistence": obj({"size": QTY, "storageClass": S}), "podDisruptionBudget": pdb(),
        "terminationGracePeriodSeconds": I,
    }),
    "storage": obj({"shared": obj({"enabled": B, "existingClaim": S, "size": QTY, "storageClass": S,
                                   "accessModes": {"type": "array", "items": {"enum": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany"]}}})}),
    "queryApi": role({
        "port": PORT, "tls": obj({"existingSecret": S}),
        "service": obj({"type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]}, "annotations": STRMAP}),
        "ingress": obj({"enabled": B, "className": S, "annotations": STRMAP,
                        "hosts": {"type": "array", "items": obj({"host": S, "paths": {"type": "array", "items": obj({"path": S, "pathType": {"enum": ["Prefix", "Exact", "ImplementationSpecific"]}})}})},
                        "tls": ANYARR}),
        "podDisruptionBudget": pdb(), "probes": probes(),
    }),
    "detect": role({
        "rules": obj({"inline": STRMAP, "existingConfigMap": S}),
        "pipelines": STRMAP,
        "hooks": {"type": "array", "items": hook},
        "persistence": persistence(), "podDisruptionBudget": pdb(),
    }),
    "verify": obj({"enabled": B, "schedule": S, "resources": ANYOBJ}),
    "metrics": obj({
        "serviceMonitor": obj({"enabled": B, "interval": S, "labels": STRMAP}),
        "prometheusRule": obj({"enabled": B, "labels": STRMAP, "consumerLagThreshold": I}),
    }),
})
schema["$schema"] = "http://json-schema.org/draft-07/schema#"
schema["title"] = "logwarden chart values"

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "values.schema.json")
with open(out, "w") as f:
    json.dump(schema, f, indent=2)
    f.write("\n")
