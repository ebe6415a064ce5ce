{{- /*
The dependency installer: init containers that put the pinned packages into a shared volume, and their
volumes. Read by helmfile/deliveryhero.values.yaml.gotmpl too (see _layout.tpl for what that allows):
every helper takes values and returns text.
*/ -}}

{{/*
locust-scenarios.initContainers: copy the wheelhouse out of its image (when one is given), then install
the pinned dependencies with the chart's installer script, which explains an unreachable index. Call
with (dict "values" .Values "image" <the Locust image> "requirements" <what pip installs: the pinned
list, or -r and a file> "mounts" <more volumeMounts of the installer, e.g. the file's>).
*/}}
{{- define "locust-scenarios.initContainers" -}}
{{- $v := .values }}
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
  {{- include "locust-scenarios.installerContainerSettings" $v | nindent 2 }}
  volumeMounts:
    - name: wheelhouse
      mountPath: {{ $paths.wheelhouse }}
{{- end }}
- name: install-dependencies
  image: {{ .image }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command:
    - {{ $v.dependencies.python }}
    - {{ printf "%s/%s" $paths.installer (include "locust-scenarios.installerScript" .) }}
  args:
    {{- include "locust-scenarios.pipArgs" $v | nindent 4 }}
    {{- toYaml .requirements | nindent 4 }}
  {{- include "locust-scenarios.envFrom" (dict "values" $v "settings" "") | nindent 2 }}
  env:
    {{- include "locust-scenarios.installerEnv" $v | nindent 4 }}
  {{- include "locust-scenarios.installerContainerSettings" $v | nindent 2 }}
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
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
locust-scenarios.installerContainerSettings: the security context and resources of the installer's
init containers (dependencies.resources has defaults: a namespace with a ResourceQuota admits no
container without them). Call with .Values.
*/}}
{{- define "locust-scenarios.installerContainerSettings" -}}
securityContext:
  {{- toYaml .securityContext | nindent 2 }}
{{- with .dependencies.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.installerVolumes: the volumes of the install: its target (site-packages, which the
Locust container mounts too), its script, the wheelhouse, the CA bundle. Call with (dict "values"
.Values "installer" <the installer ConfigMap's name>).
*/}}
{{- define "locust-scenarios.installerVolumes" -}}
{{- $deps := .values.dependencies }}
- name: site-packages
  emptyDir:
    sizeLimit: {{ $deps.sizeLimit }}
- name: installer
  configMap:
    name: {{ .installer }}
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
