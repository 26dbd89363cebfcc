{{/*
Full name of the release's objects: the release name when it already
contains the chart name ("ebb"), else "<release>-ebb"; at most 63
characters.
*/}}
{{- define "ebb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the operator's pods (never change them: selectors are immutable). */}}
{{- define "ebb.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "ebb.labels" -}}
{{ include "ebb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: ebb
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ebb.serviceAccountName" -}}
{{- default (include "ebb.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "ebb.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace -}}
{{- end -}}

{{/*
Name of the Lease ebb's leader election uses. Fixed in the ebb binary
(KEDA's is operator.keda.sh: the two never take each other's lease); the
leader-election Role names it.
*/}}
{{- define "ebb.leaseName" -}}
ebb-operator.ebb.dev
{{- end -}}
