{{- define "logwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "logwarden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "logwarden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "logwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: logwarden
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* dict "ctx" $ "role" "indexer" */}}
{{- define "logwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "logwarden.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "logwarden.roleLabels" -}}
{{ include "logwarden.labels" .ctx }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "logwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "logwarden.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "logwarden.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* CPU cores of a Kubernetes quantity ("2", "1500m"), at least 1. */}}
{{- define "logwarden.cores" -}}
{{- $q := toString . -}}
{{- if hasSuffix "m" $q -}}
{{- max 1 (div (add (trimSuffix "m" $q | atoi) 999) 1000) -}}
{{- else -}}
{{- max 1 (ceil (float64 $q) | int) -}}
{{- end -}}
{{- end -}}

{{/* Consumers per indexer pod: its cpu limit (else request), else 1. */}}
{{- define "logwarden.indexerWorkers" -}}
{{- $r := .Values.indexer.resources | default dict -}}
{{- $cpu := or (dig "limits" "cpu" "" $r) (dig "requests" "cpu" "" $r) -}}
{{- if $cpu -}}{{ include "logwarden.cores" $cpu }}{{- else -}}1{{- end -}}
{{- end -}}

{{/* Partitions of the events topic: kafka.partitions, or indexer cores in all. */}}
{{- define "logwarden.partitions" -}}
{{- if gt (int .Values.kafka.partitions) 0 -}}
{{- int .Values.kafka.partitions -}}
{{- else -}}
{{- mul (include "logwarden.indexerWorkers" . | int) (int .Values.indexer.replicas) -}}
{{- end -}}
{{- end -}}

{{- define "logwarden.kafkaBrokers" -}}
{{- if .Values.kafka.strimzi.enabled -}}
{{ include "logwarden.fullname" . }}-kafka-kafka-bootstrap:{{ .Values.kafka.strimzi.listenerPort }}
{{- else -}}
{{ .Values.kafka.brokers }}
{{- end -}}
{{- end -}}

{{- define "logwarden.kafkaSaslSecret" -}}
{{- if .Values.kafka.sasl.existingSecret -}}
{{ .Values.kafka.sasl.existingSecret }}
{{- else if and .Values.kafka.strimzi.enabled .Values.kafka.strimzi.authentication -}}
{{ .Values.kafka.sasl.username }}
{{- end -}}
{{- end -}}

{{- define "logwarden.dataClaim" -}}
{{- if .Values.storage.shared.enabled -}}
{{ default (printf "%s-data" (include "logwarden.fullname" .)) .Values.storage.shared.existingClaim }}
{{- else -}}
data-{{ include "logwarden.fullname" . }}-indexer-0
{{- end -}}
{{- end -}}

{{/* Pod affinity that puts a pod beside indexer-0 when its claim is ReadWriteOnce. */}}
{{- define "logwarden.besideIndexer" -}}
podAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "logwarden.selectorLabels" (dict "ctx" . "role" "indexer") | nindent 10 }}
{{- end -}}

{{/* The [kafka] section every role gets. */}}
{{- define "logwarden.kafkaSection" -}}
{{- $k := .Values.kafka -}}
{{- $s := dict "brokers" (include "logwarden.kafkaBrokers" .) "topic" $k.topic "partitions" (include "logwarden.partitions" . | int) "compression" $k.compression "linger" $k.linger -}}
{{- if $k.securityProtocol }}{{ $_ := set $s "security_protocol" $k.securityProtocol }}{{ end -}}
{{- $sasl := or $k.sasl.enabled (and $k.strimzi.enabled (eq $k.strimzi.authentication "scram-sha-512")) -}}
{{- if $sasl -}}
{{- $mech := ternary "SCRAM-SHA-512" $k.sasl.mechanism (and $k.strimzi.enabled (eq $k.strimzi.authentication "scram-sha-512")) -}}
{{- $_ := set $s "sasl" (dict "mechanism" $mech "username" $k.sasl.username "password_env" "LOGWARDEN_KAFKA_PASSWORD") -}}
{{- end -}}
{{- if $k.tls.enabled -}}
{{- $tls := dict "ca" (printf "/etc/logwarden/kafka-tls/%s" $k.tls.caKey) -}}
{{- if $k.tls.certKey }}{{ $_ := set $tls "cert" (printf "/etc/logwarden/kafka-tls/%s" $k.tls.certKey) }}{{ end -}}
{{- if $k.tls.keyKey }}{{ $_ := set $tls "key" (printf "/etc/logwarden/kafka-tls/%s" $k.tls.keyKey) }}{{ end -}}
{{- $_ := set $s "tls" $tls -}}
{{- end -}}
{{- if $k.producer }}{{ $_ := set $s "producer" $k.producer }}{{ end -}}
{{- if $k.consumer }}{{ $_ := set $s "consumer" $k.consumer }}{{ end -}}
{{- if $k.admin }}{{ $_ := set $s "admin" $k.admin }}{{ end -}}
{{- toJson $s -}}
{{- end -}}

{{/* The whole config of one role as TOML: dict "ctx" $ "role" "indexer". */}}
{{- define "logwarden.roleConfig" -}}
{{- $ := .ctx -}}
{{- $v := $.Values -}}
{{- $c := deepCopy ($v.config | default dict) -}}
{{- $_ := set $c "data_dir" "/var/lib/logwarden" -}}
{{- $_ := set $c "kafka" (include "logwarden.kafkaSection" $ | fromJson) -}}
{{- $collector := get $c "collector" | default dict -}}
{{- $indexer := get $c "indexer" | default dict -}}
{{- $api := get $c "api" | default dict -}}
{{- $detect := get $c "detect" | default dict -}}
{{- /* The signing key: copied from its Secret (and the pinned public half
from its ConfigMap) into memory by the init container; the indexer derives
the public half there when none is pinned. */ -}}
{{- $_ := set $indexer "signing_key" "/run/logwarden/signing/manifest-signing.pem" -}}
{{- $_ := set $indexer "workers" (include "logwarden.indexerWorkers" $ | int) -}}
{{- if eq .role "collector" -}}
{{- $_ := set $collector "files" $v.collector.files -}}
{{- else if eq .role "ingest" -}}
{{- $i := $v.ingest -}}
{{- $listeners := list -}}
{{- if $i.syslog.udp.enabled -}}
{{- $listeners = append $listeners (dict "listen" (printf "udp://0.0.0.0:%d" (int $i.syslog.udp.port)) "max_message_bytes" $i.syslog.maxMessageBytes) -}}
{{- end -}}
{{- if $i.syslog.tcp.enabled -}}
{{- $listeners = append $listeners (dict "listen" (printf "tcp://0.0.0.0:%d" (int $i.syslog.tcp.port)) "max_message_bytes" $i.syslog.maxMessageBytes "max_connections" $i.syslog.tcp.maxConnections "idle_timeout" $i.syslog.tcp.idleTimeout) -}}
{{- end -}}
{{- if $i.syslog.tls.enabled -}}
{{- $listeners = append $listeners (dict "listen" (printf "tls://0.0.0.0:%d" (int $i.syslog.tls.port)) "max_message_bytes" $i.syslog.maxMessageBytes "max_connections" $i.syslog.tcp.maxConnections "idle_timeout" $i.syslog.tcp.idleTimeout) -}}
{{- $_ := set $collector "tls" (dict "cert" "/etc/logwarden/syslog-tls/tls.crt" "key" "/etc/logwarden/syslog-tls/tls.key") -}}
{{- end -}}
{{- if $listeners }}{{ $_ := set $collector "syslog" $listeners }}{{ end -}}
{{- if $i.http.enabled -}}
{{- $_ := set $collector "http" (dict "listen" (printf "0.0.0.0:%d" (int $i.http.port)) "max_body_bytes" $i.http.maxBodyBytes) -}}
{{- end -}}
{{- $_ := set $collector "spool" (dict "max_bytes" $i.spool.maxBytes "fsync" $i.spool.fsync "kafka_timeout" $i.spool.kafkaTimeout) -}}
{{- else if eq .role "query-api" -}}
{{- $_ := set $api "listen" (printf "0.0.0.0:%d" (int $v.queryApi.port)) -}}
{{- if $v.queryApi.tls.existingSecret -}}
{{- $_ := set $api "tls" (dict "cert" "/etc/logwarden/api-tls/tls.crt" "key" "/etc/logwarden/api-tls/tls.key") -}}
{{- end -}}
{{- else if eq .role "detect" -}}
{{- if or $v.detect.rules.inline $v.detect.rules.existingConfigMap -}}
{{- $_ := set $detect "rules" (list "/etc/logwarden/rules-cm/*.yml" "/etc/logwarden/rules-cm/*.yaml") -}}
{{- else -}}
{{- $_ := set $detect "rules" (list "/etc/logwarden/rules") -}}
{{- end -}}
{{- if $v.detect.pipelines -}}
{{- $p := list -}}
{{- range $name := keys $v.detect.pipelines | sortAlpha }}{{ $p = append $p (printf "/etc/logwarden/pipelines/%s" $name) }}{{ end -}}
{{- $_ := set $detect "pipelines" $p -}}
{{- end -}}
{{- $hooks := list -}}
{{- range $n, $h := $v.detect.hooks -}}
{{- $hook := omit $h "headersFromSecrets" -}}
{{- if $h.headersFromSecrets -}}
{{- $env := dict -}}
{{- range $header := keys $h.headersFromSecrets | sortAlpha -}}
{{- $_ := set $env $header (include "logwarden.hookEnvName" (dict "index" $n "header" $header)) -}}
{{- end -}}
{{- $_ := set $hook "headers_env" (merge $env (get $h "headers_env" | default dict)) -}}
{{- end -}}
{{- $hooks = append $hooks $hook -}}
{{- end -}}
{{- if $hooks }}{{ $_ := set $detect "hooks" $hooks }}{{ end -}}
{{- end -}}
{{- /* An empty `keys = []` could not be extended by the [[auth.keys]] of auth.existingSecret. */ -}}
{{- $auth := get $c "auth" | default dict -}}
{{- if not (get $auth "keys") }}{{ $_ := unset $auth "keys" }}{{ end -}}
{{- if $auth }}{{ $_ := set $c "auth" $auth }}{{ else }}{{ $_ := unset $c "auth" }}{{ end -}}
{{- $_ := set $c "collector" $collector -}}
{{- $_ := set $c "indexer" $indexer -}}
{{- $_ := set $c "api" $api -}}
{{- $_ := set $c "detect" $detect -}}
# logwarden {{ .role }} — rendered by the {{ $.Chart.Name }} chart from values.yaml; check with `logwarden check-config`.
{{- include "logwarden.toml.table" (dict "path" "" "table" $c) }}
{{ end -}}

{{- define "logwarden.hookEnvName" -}}
LOGWARDEN_HOOK_{{ .index }}_{{ .header | upper | replace "-" "_" }}
{{- end -}}

{{/* Environment every role gets: log settings, the Kafka password. */}}
{{- define "logwarden.env" -}}
- name: LOGWARDEN_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
- name: LOGWARDEN_LOG
  value: {{ .Values.log.level | quote }}
- name: LOGWARDEN_CONFIG
  value: /run/logwarden/logwarden.toml
{{- $secret := include "logwarden.kafkaSaslSecret" . }}
{{- if $secret }}
- name: LOGWARDEN_KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{/*
The init container that writes /run/logwarden/logwarden.toml: the role's
rendered config, then the [[auth.keys]] of auth.existingSecret, then checks
it with `logwarden check-config` so a bad config stops the pod before start.
dict "ctx" $ "role" "indexer"
*/}}
{{- define "logwarden.configInit" -}}
{{- $ := .ctx -}}
- name: config
  image: {{ include "logwarden.image" $ }}
  imagePullPolicy: {{ $.Values.image.pullPolicy }}
  command: ["/bin/sh", "-c"]
  args:
    - >-
      set -e;
      cat /etc/logwarden/config/{{ .role }}.toml {{ if $.Values.auth.existingSecret }}/etc/logwarden/auth/{{ $.Values.auth.secretKey }}{{ end }}
      > /run/logwarden/logwarden.toml;
      {{- if eq .role "indexer" }}
      mkdir -p /run/logwarden/signing;
      cp /etc/logwarden/signing/* /run/logwarden/signing/;
      chmod 0400 /run/logwarden/signing/manifest-signing.pem;
      {{- end }}
      exec /usr/local/bin/logwarden check-config /run/logwarden/logwarden.toml
  env:
    {{- include "logwarden.env" $ | nindent 4 }}
    {{- if eq .role "detect" }}
    {{- include "logwarden.hookEnv" $ | nindent 4 }}
    {{- end }}
  securityContext:
    {{- toYaml (.securityContext | default $.Values.securityContext) | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 32Mi}
    limits: {memory: 128Mi}
  volumeMounts:
    {{- include "logwarden.commonMounts" $ | nindent 4 }}
    {{- include "logwarden.roleTlsMounts" . | nindent 4 }}
    {{- if eq .role "indexer" }}
    - name: signing
      mountPath: /etc/logwarden/signing
      readOnly: true
    {{- end }}
{{- end -}}

{{/* The TLS certificates a role serves with (check-config loads them too). */}}
{{- define "logwarden.roleTlsMounts" -}}
{{- if and (eq .role "ingest") .ctx.Values.ingest.syslog.tls.enabled }}
- name: syslog-tls
  mountPath: /etc/logwarden/syslog-tls
  readOnly: true
{{- end }}
{{- if and (eq .role "query-api") .ctx.Values.queryApi.tls.existingSecret }}
- name: api-tls
  mountPath: /etc/logwarden/api-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* Header secrets of the hooks, as the variables headers_env names. Only the detector needs them; the init container checks them too. */}}
{{- define "logwarden.hookEnv" -}}
{{- range $n, $h := .Values.detect.hooks }}
{{- range $header := keys ($h.headersFromSecrets | default dict) | sortAlpha }}
{{- $ref := get $h.headersFromSecrets $header }}
- name: {{ include "logwarden.hookEnvName" (dict "index" $n "header" $header) }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Mounts every role has: config, runtime config dir, signing key, Kafka TLS, auth keys. */}}
{{- define "logwarden.commonMounts" -}}
- name: config
  mountPath: /etc/logwarden/config
  readOnly: true
- name: run
  mountPath: /run/logwarden
{{- if .Values.kafka.tls.enabled }}
- name: kafka-tls
  mountPath: /etc/logwarden/kafka-tls
  readOnly: true
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: auth
  mountPath: /etc/logwarden/auth
  readOnly: true
{{- end }}
{{- end -}}

{{- define "logwarden.commonVolumes" -}}
- name: config
  configMap:
    name: {{ include "logwarden.fullname" . }}-config
- name: run
  emptyDir:
    medium: Memory
    sizeLimit: 8Mi
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .Values.kafka.tls.enabled }}
- name: kafka-tls
  secret:
    secretName: {{ required "kafka.tls.existingSecret is required with kafka.tls.enabled (a Secret with the brokers' CA, and for mutual TLS a client certificate and key)" .Values.kafka.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: auth
  secret:
    secretName: {{ .Values.auth.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* The signing key volume: the indexer's alone. */}}
{{- define "logwarden.signingVolume" -}}
- name: signing
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ .Values.signing.existingSecret }}
          items:
            - key: {{ .Values.signing.secretKey }}
              path: manifest-signing.pem
      {{- if include "logwarden.publicKeyPinned" . }}
      - configMap:
          name: {{ include "logwarden.publicKeyConfigMap" . }}
          items:
            - key: {{ .Values.signing.publicKeyConfigMapKey }}
              path: manifest-signing.pem.pub.pem
      {{- end }}
{{- end -}}

{{- define "logwarden.publicKeyPinned" -}}
{{- if or .Values.signing.publicKey .Values.signing.existingPublicKeyConfigMap -}}true{{- end -}}
{{- end -}}

{{- define "logwarden.publicKeyConfigMap" -}}
{{- default (printf "%s-signing-public" (include "logwarden.fullname" .)) .Values.signing.existingPublicKeyConfigMap -}}
{{- end -}}

{{/* Pod-level bits every role shares. dict "ctx" $ "block" .Values.indexer */}}
{{- define "logwarden.podCommon" -}}
{{- $ := .ctx -}}
serviceAccountName: {{ include "logwarden.serviceAccountName" $ }}
automountServiceAccountToken: {{ $.Values.serviceAccount.automountToken }}
enableServiceLinks: false
{{- with $.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.block.priorityClassName | default $.Values.priorityClassName) }}
priorityClassName: {{ . }}
{{- end }}
{{- with .block.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .block.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .block.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod annotations: config checksums, so a config change rolls the pods. */}}
{{- define "logwarden.podAnnotations" -}}
{{- $ := .ctx -}}
checksum/config: {{ include "logwarden.roleConfig" (dict "ctx" $ "role" .role) | sha256sum }}
{{- with $.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- with .block.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
