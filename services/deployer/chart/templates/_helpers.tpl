{{/*
Labels of every object (docs/release-lifecycle.md, "On the cluster"); the watcher selects on
app.kubernetes.io/managed-by=appserving. Values are checked by values.schema.json, so they are label-safe.
*/}}
{{- define "app.labels" -}}
app.kubernetes.io/managed-by: appserving
app.kubernetes.io/name: {{ .Values.app.name }}
app.kubernetes.io/instance: {{ .Values.app.name }}
app.kubernetes.io/component: app
app.kubernetes.io/version: {{ .Values.release.label | quote }}
appserving.dev/app-id: {{ .Values.app.id | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The workload and its pods also say which release they are. */}}
{{- define "app.releaseLabels" -}}
appserving.dev/release-id: {{ .Values.release.id | quote }}
appserving.dev/release-version: {{ .Values.release.version | quote }}
{{- end -}}

{{/*
The Deployment's selector (immutable). Flagger takes app.kubernetes.io/name as its selector label and runs the
stable version as <app>-primary with app.kubernetes.io/name: <app>-primary.
*/}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ .Values.app.name }}
app.kubernetes.io/instance: {{ .Values.app.name }}
{{- end -}}

{{- define "app.progressive" -}}
{{- if or (eq .Values.strategy "canary") (eq .Values.strategy "blue-green") -}}true{{- end -}}
{{- end -}}

{{- define "app.java" -}}
{{- if or (eq .Values.app.type "jar") (eq .Values.app.type "war") -}}true{{- end -}}
{{- end -}}

{{/* requests and limits: the preset's, or the explicit cpu and memory for both. */}}
{{- define "app.resources" -}}
{{- if eq .Values.resources.preset "custom" -}}
requests:
  cpu: {{ .Values.resources.cpu | quote }}
  memory: {{ .Values.resources.memory | quote }}
limits:
  cpu: {{ .Values.resources.cpu | quote }}
  memory: {{ .Values.resources.memory | quote }}
{{- else -}}
{{- $p := index .Values.resourcePresets .Values.resources.preset -}}
requests:
  cpu: {{ $p.requestCpu | quote }}
  memory: {{ $p.requestMemory | quote }}
limits:
  cpu: {{ $p.limitCpu | quote }}
  memory: {{ $p.limitMemory | quote }}
{{- end -}}
{{- end -}}

{{/* Relations values.schema.json cannot express; refused at render time, before anything is applied. */}}
{{- define "app.validate" -}}
{{- $paths := dict -}}
{{- if .Values.config.files }}{{ $_ := set $paths .Values.config.mountPath "config.mountPath" }}{{ end -}}
{{- if .Values.secrets.files -}}
{{- if hasKey $paths .Values.secrets.mountPath -}}{{- fail (printf "secrets.mountPath %s is also config.mountPath" .Values.secrets.mountPath) -}}{{- end -}}
{{- $_ := set $paths .Values.secrets.mountPath "secrets.mountPath" -}}
{{- end -}}
{{- $names := dict -}}
{{- range .Values.volumes -}}
{{- if hasKey $names .name -}}{{- fail (printf "volumes: the name %s is used twice" .name) -}}{{- end -}}
{{- $_ := set $names .name true -}}
{{- if hasKey $paths .mountPath -}}{{- fail (printf "volumes[%s].mountPath %s is also %s" .name .mountPath (get $paths .mountPath)) -}}{{- end -}}
{{- $_ := set $paths .mountPath (printf "volumes[%s].mountPath" .name) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) -}}
{{- fail (printf "autoscaling.maxReplicas (%v) is below autoscaling.minReplicas (%v)" .Values.autoscaling.maxReplicas .Values.autoscaling.minReplicas) -}}
{{- end -}}
{{- if and (eq .Values.strategy "canary") (gt (int .Values.rollout.analysis.stepWeight) (int .Values.rollout.analysis.maxWeight)) -}}
{{- fail (printf "rollout.analysis.stepWeight (%v) is above rollout.analysis.maxWeight (%v)" .Values.rollout.analysis.stepWeight .Values.rollout.analysis.maxWeight) -}}
{{- end -}}
{{- if ne .Release.Name .Values.app.name -}}
{{- fail (printf "the helm release must be named after the app (%s), not %s" .Values.app.name .Release.Name) -}}
{{- end -}}
{{- end -}}
