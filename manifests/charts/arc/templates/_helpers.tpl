{{/*
arc.load renders the objects of one file of manifests/ (linked under files/)
as a JSON list, moved to the release's namespace: the namespace of every
namespaced object, of the subjects of bindings and of the admission
binding's paramRef. Documents with only comments are dropped.
*/}}
{{- define "arc.load" -}}
{{- $root := .root -}}
{{- $objs := list -}}
{{- range $doc := splitList "\n---" ($root.Files.Get .file) -}}
{{- $o := fromYaml $doc -}}
{{- if and $o (hasKey $o "kind") -}}
{{- if hasKey $o.metadata "namespace" -}}
{{- $_ := set $o.metadata "namespace" $root.Release.Namespace -}}
{{- end -}}
{{- range $s := ($o.subjects | default list) -}}
{{- if hasKey $s "namespace" -}}
{{- $_ := set $s "namespace" $root.Release.Namespace -}}
{{- end -}}
{{- end -}}
{{- if and $o.spec (kindIs "map" $o.spec) $o.spec.paramRef -}}
{{- $_ := set $o.spec.paramRef "namespace" $root.Release.Namespace -}}
{{- end -}}
{{- $objs = append $objs $o -}}
{{- end -}}
{{- end -}}
{{- toJson $objs -}}
{{- end -}}

{{/* arc.labels: what kustomize's manifests/default adds, and Helm's own. */}}
{{- define "arc.labels" -}}
app.kubernetes.io/name: arc-controller
app.kubernetes.io/part-of: arc
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* arc.emit writes one object with the chart's labels. */}}
{{- define "arc.emit" -}}
{{- $o := .obj -}}
{{- $labels := merge (fromYaml (include "arc.labels" .root)) ($o.metadata.labels | default dict) -}}
{{- $_ := set $o.metadata "labels" $labels }}
---
{{ toYaml $o }}
{{- end -}}

{{/* arc.emitFile writes every object of a file of manifests/. */}}
{{- define "arc.emitFile" -}}
{{- $root := .root -}}
{{- range $o := include "arc.load" . | fromJsonArray -}}
{{- include "arc.emit" (dict "root" $root "obj" $o) -}}
{{- end -}}
{{- end -}}

{{- define "arc.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}
