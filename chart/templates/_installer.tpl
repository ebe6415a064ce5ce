{{- /*
The dependency installer: init containers that put the pinned packages into a shared volume, their
environment and volumes. Call with the root context unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.initContainers: copy the wheelhouse out of its image (when one is given), then install
the pinned dependencies with the chart's installer script, which explains an unreachable index.
*/}}
{{- define "locust-scenarios.initContainers" -}}
{{- $v := .Values }}
{{- $paths := include "locust-scenarios.paths" . | fromYaml }}
{{- $wheelhouse := $v.dependencies.wheelhouse }}
{{- if $wheelhouse.image }}
- name: copy-wheelhouse
  image: {{ $wheelhouse.image }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command:
    - cp
    - -R
    - {{ printf "%s/." (trimSuffix "/" ($wheelhouse.path | default "/wheels")) | quote }}
    - {{ printf "%s/" $paths.wheelhouse }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: wheelhouse
      mountPath: {{ $paths.wheelhouse }}
{{- end }}
- name: install-dependencies
  image: {{ include "locust-scenarios.image" . }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command:
    - {{ $v.dependencies.python }}
    - {{ printf "%s/%s" $paths.installer (include "locust-scenarios.installerScript" .) }}
  args:
    {{- include "locust-scenarios.pipArgs" $v | nindent 4 }}
    {{- splitList "\n" (include "locust-scenarios.requirements" .) | toYaml | nindent 4 }}
  {{- include "locust-scenarios.envFrom" (dict "root" . "settings" false) | nindent 2 }}
  env:
    {{- include "locust-scenarios.userEnv" . | nindent 4 }}
    {{- include "locust-scenarios.installerEnv" . | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  {{- with $v.dependencies.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: installer
      mountPath: {{ $paths.installer }}
      readOnly: true
    - name: site-packages
      mountPath: {{ $paths.sitePackages }}
    - name: tmp
      mountPath: {{ $paths.tmp }}
    {{- if or $wheelhouse.image $wheelhouse.volume }}
    - name: wheelhouse
      mountPath: {{ $paths.wheelhouse }}
      readOnly: {{ not $wheelhouse.image }}
    {{- end }}
    {{- if or $v.dependencies.caBundle.configMap $v.dependencies.caBundle.secret }}
    - name: ca-bundle
      mountPath: {{ $paths.caBundle }}
      readOnly: true
    {{- end }}
{{- end }}

{{/*
locust-scenarios.installerEnv: the installer's own variables: pip's index, proxy and CA bundle settings
(never given to the Locust containers: the load must not go through pip's proxy).
*/}}
{{- define "locust-scenarios.installerEnv" -}}
{{- $deps := .Values.dependencies }}
- name: HOME
  value: {{ (include "locust-scenarios.paths" . | fromYaml).tmp }}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- include "locust-scenarios.secretEnvVar" (dict "name" "PIP_INDEX_URL" "ref" $deps.indexUrlSecret) }}
{{- range list "HTTP_PROXY" "HTTPS_PROXY" }}
{{- if $deps.proxy.url }}
- name: {{ . }}
  value: {{ $deps.proxy.url | quote }}
{{- end }}
{{- include "locust-scenarios.secretEnvVar" (dict "name" . "ref" $deps.proxy.urlSecret) }}
{{- end }}
{{- with $deps.proxy.noProxy }}
- name: NO_PROXY
  value: {{ . | quote }}
{{- end }}
{{- if or $deps.caBundle.configMap $deps.caBundle.secret }}
- name: PIP_CERT
  value: {{ printf "%s/%s" (include "locust-scenarios.paths" . | fromYaml).caBundle $deps.caBundle.key | quote }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.installerVolumes: the volumes of the install: its target (site-packages, which the
Locust container mounts too), its script, the wheelhouse, the CA bundle.
*/}}
{{- define "locust-scenarios.installerVolumes" -}}
{{- $deps := .Values.dependencies }}
- name: site-packages
  emptyDir:
    sizeLimit: {{ $deps.sizeLimit }}
- name: installer
  configMap:
    name: {{ include "locust-scenarios.fullname" . }}-installer
{{- if $deps.wheelhouse.image }}
- name: wheelhouse
  emptyDir:
    sizeLimit: {{ $deps.sizeLimit }}
{{- else if $deps.wheelhouse.volume }}
- name: wheelhouse
  {{- toYaml $deps.wheelhouse.volume | nindent 2 }}
{{- end }}
{{- with $deps.caBundle }}
{{- if or .configMap .secret }}
- name: ca-bundle
  {{- if .configMap }}
  configMap:
    name: {{ .configMap }}
  {{- else }}
  secret:
    secretName: {{ .secret }}
  {{- end }}
    items:
      - key: {{ .key }}
        path: {{ .key }}
{{- end }}
{{- end }}
{{- end }}
