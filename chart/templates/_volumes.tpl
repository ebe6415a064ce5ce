{{- /*
The pods' volumes and the Locust container's mounts. Call with (dict "root" $ "component" "master")
unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.volumes: the package and the locustfiles projected from their ConfigMaps, the
installer's volumes, /tmp, the master's results, then extraConfigMaps and extraVolumes.
*/}}
{{- define "locust-scenarios.volumes" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- if $v.package.enabled }}
- name: package
  configMap:
    name: {{ include "locust-scenarios.fullname" $root }}-package
    items:
      {{- include "locust-scenarios.configMapItems" (dict "root" $root "folder" "package") | nindent 6 }}
{{- end }}
{{- include "locust-scenarios.locustfilesVolume" $root | nindent 0 }}
{{- if include "locust-scenarios.installDependencies" $root }}
{{- include "locust-scenarios.installerVolumes" (dict "values" $v "installer" (printf "%s-installer" (include "locust-scenarios.fullname" $root))) | nindent 0 }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ $v.tmpSizeLimit }}
{{- if and (eq .component "master") $v.results.enabled }}
- name: results
  {{- if $v.results.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ $v.results.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ $v.results.sizeLimit }}
  {{- end }}
{{- end }}
{{- include "locust-scenarios.extraVolumes" $root | nindent 0 }}
{{- end }}

{{/*
locust-scenarios.volumeMounts: the Locust container's mounts: package, locustfiles and site-packages
read-only, /tmp, the master's results, then extraConfigMaps and extraVolumeMounts.
*/}}
{{- define "locust-scenarios.volumeMounts" -}}
{{- $v := .root.Values }}
{{- $paths := include "locust-scenarios.paths" . | fromYaml }}
{{- if $v.package.enabled }}
- name: package
  mountPath: {{ $paths.package }}
  readOnly: true
{{- end }}
- name: locustfiles
  mountPath: {{ $paths.locustfiles }}
  readOnly: true
{{- if include "locust-scenarios.installDependencies" .root }}
- name: site-packages
  mountPath: {{ $paths.sitePackages }}
  readOnly: true
{{- end }}
- name: tmp
  mountPath: {{ $paths.tmp }}
{{- if and (eq .component "master") $v.results.enabled }}
- name: results
  mountPath: {{ $paths.results }}
{{- end }}
{{- include "locust-scenarios.extraVolumeMounts" .root | nindent 0 }}
{{- end }}

{{/*
locust-scenarios.locustfilesVolume: the locustfiles volume: the bundle's ConfigMap projected with
items[].path, or locust.existingConfigMap as it is (flat). Call with the root context.
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
locust-scenarios.extraVolumeMounts: the Locust container's mounts of extraConfigMaps and
extraVolumeMounts. Call with the root context.
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
locust-scenarios.extraVolumes: the pod's volumes for extraConfigMaps and extraVolumes. Call with the
root context.
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
