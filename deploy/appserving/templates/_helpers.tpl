{{/* Names, labels and the pieces every service's objects share. */}}

{{- define "appserving.name" -}}appserving{{- end -}}

{{/* <release>-appserving, or the release name when it already says appserving; at most 48 characters so that
     "<fullname>-deployer-apps" and the like stay within 63. */}}
{{- define "appserving.fullname" -}}
{{- if contains "appserving" .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-appserving" .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "appserving.services" -}}gateway builder deployer watcher{{- end -}}

{{- define "appserving.chart" -}}{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}{{- end -}}

{{/* Labels of every object. Never app.kubernetes.io/managed-by=appserving: that marks the apps the platform
     deploys, and the watcher selects on it. */}}
{{- define "appserving.labels" -}}
helm.sh/chart: {{ include "appserving.chart" . }}
app.kubernetes.io/name: {{ include "appserving.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: appserving
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "service" "gateway"). */}}
{{- define "appserving.selectorLabels" -}}
app.kubernetes.io/name: {{ include "appserving.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "appserving.serviceLabels" -}}
{{ include "appserving.labels" .root }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "appserving.componentName" -}}{{ include "appserving.fullname" .root }}-{{ .service }}{{- end -}}

{{/* The image of one service. */}}
{{- define "appserving.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := printf "%s/%s" $img.repositoryPrefix .service -}}
{{- if $img.registry }}{{ $repo = printf "%s/%s" $img.registry $repo }}{{ end -}}
{{- $tag := $img.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- with (get ($img.digests | default dict) .service) }}@{{ . }}{{ end -}}
{{- end -}}

{{/* Ports and the variable each service reads its port from. */}}
{{- define "appserving.portEnv" -}}APPSERVING_{{ upper . }}_PORT{{- end -}}

{{/* Secrets the chart reads from: generated ones, or the user's. */}}
{{- define "appserving.secretKeysSecret" -}}{{ .Values.secretKeys.existingSecret | default (printf "%s-secret-keys" (include "appserving.fullname" .)) }}{{- end -}}
{{- define "appserving.adminTokenSecret" -}}{{ .Values.adminToken.existingSecret | default (printf "%s-admin-token" (include "appserving.fullname" .)) }}{{- end -}}

{{- define "appserving.databaseSecret" -}}
{{- if .Values.postgresql.enabled -}}{{ include "appserving.fullname" . }}-database
{{- else -}}{{ required "externalDatabase.existingSecret is required unless postgresql.enabled: a Secret with the Postgres URL (key url)" .Values.externalDatabase.existingSecret }}
{{- end -}}
{{- end -}}
{{- define "appserving.databaseSecretKey" -}}{{ if .Values.postgresql.enabled }}url{{ else }}{{ .Values.externalDatabase.existingSecretKey }}{{ end }}{{- end -}}

{{- define "appserving.natsUrl" -}}
{{- if .Values.nats.enabled -}}nats://{{ .Release.Name }}-nats:4222
{{- else -}}{{ required "externalNats.url is required unless nats.enabled" .Values.externalNats.url }}
{{- end -}}
{{- end -}}

{{/* none | creds | password */}}
{{- define "appserving.natsAuth" -}}{{ if .Values.nats.enabled }}password{{ else }}{{ .Values.externalNats.auth }}{{ end }}{{- end -}}

{{/* The Secret with one service's NATS credentials: (dict "root" $ "service" "gateway"). */}}
{{- define "appserving.natsSecret" -}}
{{- if .root.Values.nats.enabled -}}{{ .root.Release.Name }}-nats-{{ .service }}
{{- else -}}{{ required (printf "externalNats.secrets.%s is required when externalNats.auth is %s" .service .root.Values.externalNats.auth) (get .root.Values.externalNats.secrets .service) }}
{{- end -}}
{{- end -}}

{{/* A value kept from the live object on upgrades, generated on the first install:
     (dict "root" $ "secret" name "key" key "generate" value). */}}
{{- define "appserving.keptSecretValue" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- if and $live $live.data (hasKey $live.data .key) -}}{{ index $live.data .key | b64dec }}
{{- else -}}{{ .generate }}
{{- end -}}
{{- end -}}
