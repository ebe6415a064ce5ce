{{- /*
The one pod template of every workload (master and workers, Jobs and Deployments). Call with
(dict "root" $ "component" "master") unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.podTemplate: labels and annotations, pod-level settings, the dependency installer
(_installer.tpl: pip installs the pinned packages into a shared emptyDir, with no dependency
resolution, which would pull a second Locust), the Locust container (_container.tpl) and the volumes
(_volumes.tpl: the package and the locustfiles projected from their ConfigMaps; only /tmp and the pip
target are writable).
*/}}
{{- define "locust-scenarios.podTemplate" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $install := include "locust-scenarios.installDependencies" $root }}
metadata:
  labels:
    {{- include "locust-scenarios.componentLabels" . | nindent 4 }}
    {{- if eq $v.mode "run" }}
    locust-scenarios/run-id: {{ include "locust-scenarios.runId" $root | quote }}
    {{- end }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    {{- include "locust-scenarios.podAnnotations" . | nindent 4 }}
spec:
  restartPolicy: {{ ternary "Never" "Always" (eq $v.mode "run") }}
  {{- if eq .component "master" }}
  # The linger plus a margin: SIGTERM (deletion, deadline, drain, rollout) ends with one summary and
  # the last scrape, not with the kubelet's SIGKILL.
  terminationGracePeriodSeconds: {{ include "locust-scenarios.masterGracePeriod" $v }}
  {{- end }}
  automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
  {{- include "locust-scenarios.podExtras" $root | nindent 2 }}
  # Service links would add variables such as <NAME>_MASTER_PORT, which Locust may read as options.
  enableServiceLinks: false
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  {{- if or $install $v.extraInitContainers }}
  initContainers:
    {{- if $install }}
    {{- $requirements := splitList "\n" (include "locust-scenarios.requirements" $root) }}
    {{- include "locust-scenarios.initContainers" (dict "values" $v "image" (include "locust-scenarios.image" $root) "requirements" $requirements) | nindent 4 }}
    {{- end }}
    {{- with $v.extraInitContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  containers:
    - {{- include "locust-scenarios.container" . | nindent 6 }}
  volumes:
    {{- include "locust-scenarios.volumes" . | nindent 4 }}
  {{- include "locust-scenarios.scheduling" . | nindent 2 }}
{{- end }}

{{/*
locust-scenarios.podAnnotations: annotations of a component's pods: the settings checksum, in run mode
the do-not-disrupt annotations, then podAnnotations. Null values drop a key.
*/}}
{{- define "locust-scenarios.podAnnotations" -}}
{{- $root := .root }}
{{- $annotations := dict "checksum/settings" (include (print $root.Template.BasePath "/configmap-settings.yaml") $root | sha256sum) }}
{{- if eq $root.Values.mode "run" }}
{{- $annotations = merge (deepCopy ($root.Values.disruption.podAnnotations | default dict)) $annotations }}
{{- end }}
{{- range $key, $value := $root.Values.podAnnotations }}
{{- $_ := set $annotations $key $value }}
{{- end }}
{{- range $key, $value := $annotations }}
{{- if not (kindIs "invalid" $value) }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.podExtras: pod-level fields from the values: the service account, hostAliases. Call
with the root context.
*/}}
{{- define "locust-scenarios.podExtras" -}}
{{- with include "locust-scenarios.serviceAccountName" . }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.hostAliases }}
hostAliases:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.scheduling: nodeSelector, tolerations and affinity of a component's pods; the
component's own value (master.* / workers.*) replaces the global one when it is set.
*/}}
{{- define "locust-scenarios.scheduling" -}}
{{- $v := .root.Values }}
{{- $own := ternary $v.master $v.workers (eq .component "master") }}
{{- range $key := list "nodeSelector" "tolerations" "affinity" }}
{{- with (get $own $key) | default (get $v $key) }}
{{ $key }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
