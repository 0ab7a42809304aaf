{{/*
Names and labels shared by every template. Per-service templates range over .Values.services and
call these with a context dict: (dict "root" $ "name" "account" "svc" $svc).
*/}}

{{- define "trellis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "trellis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "trellis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name of one service: <fullname>-<service>, e.g. trellis-account. */}}
{{- define "trellis.componentName" -}}
{{- printf "%s-%s" (include "trellis.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "trellis.commonLabels" -}}
helm.sh/chart: {{ include "trellis.chart" . }}
app.kubernetes.io/name: {{ include "trellis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: trellis
{{- end }}

{{- define "trellis.labels" -}}
{{ include "trellis.commonLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "trellis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trellis.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "trellis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "trellis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "trellis.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Kubernetes waits this long after SIGTERM is due: the preStop sleep (endpoints drop the pod first),
the gRPC drain (SHUTDOWN_GRACE_MS, rounded up) and a margin for consumers, relay, Kafka and MongoDB
to close. Always strictly greater than preStop sleep + SHUTDOWN_GRACE_MS.
*/}}
{{- define "trellis.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown }}
{{- add $s.preStopSleepSeconds (div (add $s.graceMs 999) 1000) $s.closeMarginSeconds }}
{{- end }}

{{/* In-cluster address of a service's headless Service: DNS returns every ready pod (round_robin). */}}
{{- define "trellis.headlessAddress" -}}
{{- $svc := index .root.Values.services .name }}
{{- printf "%s-headless.%s.svc.%s:%v" (include "trellis.componentName" .) .root.Release.Namespace .root.Values.clusterDomain $svc.grpcPort }}
{{- end }}
