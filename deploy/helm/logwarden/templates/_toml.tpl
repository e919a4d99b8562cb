{{/*
A YAML map rendered as TOML, so `config:` in values.yaml reads like
logwarden.toml. Scalars and arrays of scalars come first, then sub-tables
(`[a.b]`), then arrays of tables (`[[a.b]]`). A null value leaves the key out
(logwarden's default applies). Whole numbers are written as integers: Helm
reads YAML numbers as floats.
*/}}
{{- define "logwarden.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{- define "logwarden.toml.value" -}}
{{- $v := . -}}
{{- if kindIs "string" $v -}}{{ toJson $v }}
{{- else if kindIs "bool" $v -}}{{ $v }}
{{- else if or (kindIs "float64" $v) (kindIs "float32" $v) -}}
{{- if eq (floor $v) $v -}}{{ printf "%d" (int64 $v) }}{{- else -}}{{ $v }}{{- end -}}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) -}}{{ $v }}
{{- else if kindIs "slice" $v -}}
[{{- range $i, $e := $v -}}{{ if $i }}, {{ end }}{{ include "logwarden.toml.value" $e }}{{- end -}}]
{{- else if kindIs "map" $v -}}
{ {{- range $i, $k := keys $v | sortAlpha -}}{{ if $i }},{{ end }} {{ include "logwarden.toml.key" $k }} = {{ include "logwarden.toml.value" (get $v $k) }}{{- end }} }
{{- else -}}{{ toJson $v }}
{{- end -}}
{{- end -}}

{{- define "logwarden.toml.isTableArray" -}}
{{- if and (kindIs "slice" .) (gt (len .) 0) -}}{{- if kindIs "map" (first .) -}}true{{- end -}}{{- end -}}
{{- end -}}

{{/* dict "path" "a.b" "table" MAP */}}
{{- define "logwarden.toml.table" -}}
{{- $path := .path -}}
{{- $table := .table -}}
{{- range $k := keys $table | sortAlpha }}
{{- $v := get $table $k }}
{{- if and (not (kindIs "invalid" $v)) (not (kindIs "map" $v)) (not (include "logwarden.toml.isTableArray" $v)) }}
{{ include "logwarden.toml.key" $k }} = {{ include "logwarden.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $k := keys $table | sortAlpha }}
{{- $v := get $table $k }}
{{- $sub := ternary (include "logwarden.toml.key" $k) (printf "%s.%s" $path (include "logwarden.toml.key" $k)) (eq $path "") }}
{{- if kindIs "map" $v }}

[{{ $sub }}]
{{- include "logwarden.toml.table" (dict "path" $sub "table" $v) }}
{{- else if include "logwarden.toml.isTableArray" $v }}
{{- range $e := $v }}

[[{{ $sub }}]]
{{- include "logwarden.toml.table" (dict "path" $sub "table" $e) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
