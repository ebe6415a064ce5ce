{{- /*
Names and labels of every object. Call with the root context unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.name: the chart name (or nameOverride), a DNS label.
*/}}
{{- define "locust-scenarios.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
locust-scenarios.fullname: the base name of every object. At most 40 characters, so that
"<fullname>-worker-<runId>" (runId at most 15) stays a valid Job name of 63.
*/}}
{{- define "locust-scenarios.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.chart: chart name and version, for the helm.sh/chart label.
*/}}
{{- define "locust-scenarios.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
locust-scenarios.namespace: the namespace of every object (namespaceOverride, else the release's).
*/}}
{{- define "locust-scenarios.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace }}
{{- end }}

{{/*
locust-scenarios.selectorLabels: the labels selectors use; only name and instance, so they never change.
*/}}
{{- define "locust-scenarios.selectorLabels" -}}
app.kubernetes.io/name: {{ include "locust-scenarios.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
locust-scenarios.labels: every object's labels (selector labels plus chart, version, managed-by).
*/}}
{{- define "locust-scenarios.labels" -}}
helm.sh/chart: {{ include "locust-scenarios.chart" . }}
{{ include "locust-scenarios.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: locust-scenarios
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.componentSelectorLabels: selector labels of one component (master or worker).
Call with (dict "root" $ "component" "master").
*/}}
{{- define "locust-scenarios.componentSelectorLabels" -}}
{{ include "locust-scenarios.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
locust-scenarios.componentLabels: full labels of one component's objects and pods.
Call with (dict "root" $ "component" "master").
*/}}
{{- define "locust-scenarios.componentLabels" -}}
{{ include "locust-scenarios.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
locust-scenarios.runId: the run id of run mode; the release revision when runId is empty.
*/}}
{{- define "locust-scenarios.runId" -}}
{{- .Values.runId | default (printf "r%d" (int .Release.Revision)) }}
{{- end }}

{{/*
locust-scenarios.componentName: the name of a component's workload. In run mode the run id is part of
it, so that a new run makes new Jobs instead of patching finished, immutable ones.
Call with (dict "root" $ "component" "master").
*/}}
{{- define "locust-scenarios.componentName" -}}
{{- $base := printf "%s-%s" (include "locust-scenarios.fullname" .root) .component }}
{{- if eq .root.Values.mode "run" }}
{{- printf "%s-%s" $base (include "locust-scenarios.runId" .root) }}
{{- else }}
{{- $base }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.masterService: the ClusterIP Service workers connect to (and KEDA polls).
*/}}
{{- define "locust-scenarios.masterService" -}}
{{- printf "%s-master" (include "locust-scenarios.fullname" .) }}
{{- end }}

{{/*
locust-scenarios.serviceAccountName: the service account the pods run as ("" for the namespace default).
*/}}
{{- define "locust-scenarios.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "locust-scenarios.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}
