{{/*
Values that users of other Locust charts (deliveryhero/locust) rely on: scheduling per component, a
service account, extra ConfigMaps, volumes, mounts, envFrom, hostAliases, init containers, probes, an
existing locustfile ConfigMap. Each helper renders one part of the pod template.
*/}}

{{/*
locust-scenarios.scheduling: nodeSelector, tolerations and affinity of a component's pods; the
component's own value (master.* / workers.*) replaces the global one when it is set.
Call with (dict "root" $ "component" "master").
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

{{/*
locust-scenarios.podExtras: pod-level fields from the values above (service account, hostAliases).
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
locust-scenarios.extraVolumeMounts: the Locust container's mounts of extraConfigMaps and extraVolumeMounts.
*/}}
{{- define "locust-scenarios.extraVolumeMounts" -}}
{{- range $name, $path := .Values.extraConfigMaps }}
- name: extra-{{ $name }}
  mountPath: {{ $path }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.extraVolumes: the pod's volumes for extraConfigMaps and extraVolumes.
*/}}
{{- define "locust-scenarios.extraVolumes" -}}
{{- range $name, $path := .Values.extraConfigMaps }}
- name: extra-{{ $name }}
  configMap:
    name: {{ $name }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.locustfilesVolume: the locustfiles volume: the bundle's ConfigMap projected with
items[].path, or locust.existingConfigMap as it is (flat).
*/}}
{{- define "locust-scenarios.locustfilesVolume" -}}
- name: locustfiles
  configMap:
    {{- if .Values.locust.existingConfigMap }}
    name: {{ .Values.locust.existingConfigMap }}
    {{- else }}
    name: {{ include "locust-scenarios.fullname" . }}-locustfiles
    items:
      {{- include "locust-scenarios.configMapItems" (dict "root" . "folder" "locustfiles") | nindent 6 }}
    {{- end }}
{{- end }}

{{/*
locust-scenarios.validateParity: readable failures for the values above.
*/}}
{{- define "locust-scenarios.validateParity" -}}
{{- $errors := list }}
{{- if and .Values.locust.existingConfigMap (not .Values.locust.locustfiles) }}
{{- $errors = append $errors (printf "locust.existingConfigMap=%s needs locust.locustfiles: the names of the locustfiles in it" .Values.locust.existingConfigMap) }}
{{- end }}
{{- range $name, $path := .Values.extraConfigMaps }}
{{- if or (hasPrefix "/mnt/locust" $path) (hasPrefix "/opt/locust-scenarios" $path) (eq $path "/tmp") }}
{{- $errors = append $errors (printf "extraConfigMaps.%s: %s is taken by the chart's own mounts (/mnt/locust, /opt/locust-scenarios, /tmp); choose another path" $name $path) }}
{{- end }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\n\nVALUES ERROR:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.serviceMonitorEndpointExtras: scheme, TLS, auth and relabelling of the scrape endpoint.
*/}}
{{- define "locust-scenarios.serviceMonitorEndpointExtras" -}}
{{- $sm := .Values.metrics.serviceMonitor }}
{{- with $sm.scheme }}
scheme: {{ . }}
{{- end }}
{{- range $key := list "tlsConfig" "basicAuth" "bearerTokenSecret" "relabelings" "metricRelabelings" }}
{{- with get $sm $key }}
{{ $key }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
