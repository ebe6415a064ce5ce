{{- /*
The environment of the containers: the settings ConfigMap, the user's variables, the Locust container's
own. Call with the root context unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.settings: the settings ConfigMap's data: LOCUST_HOST and the scenario values as the
variables bundle.json names (scenarioEnv). `env` values are env entries of every container instead
(the installer needs them too).
*/}}
{{- define "locust-scenarios.settings" -}}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $env := include "locust-scenarios.scenarioEnv" (dict "scenario" .Values.scenario "names" (get $bundle "settingsEnv")) | fromYaml }}
{{- toYaml (set $env "LOCUST_HOST" .Values.host) }}
{{- end }}

{{/*
locust-scenarios.userEnv: the `env` and `secretEnv` values as env entries (every container).
*/}}
{{- define "locust-scenarios.userEnv" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
{{- include "locust-scenarios.secretEnvVar" (dict "name" $name "ref" $ref) }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.secretEnvVar: one env entry from a {name, key} Secret reference, when it has a name.
Call with (dict "name" "PIP_INDEX_URL" "ref" .Values.dependencies.indexUrlSecret).
*/}}
{{- define "locust-scenarios.secretEnvVar" -}}
{{- if .ref.name }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.envFrom: a container's envFrom: the settings ConfigMap (Locust containers only), then
the user's envFrom. Call with (dict "root" $ "settings" true).
*/}}
{{- define "locust-scenarios.envFrom" -}}
{{- $sources := .root.Values.envFrom | default list }}
{{- if .settings }}
{{- $sources = prepend $sources (dict "configMapRef" (dict "name" (printf "%s-settings" (include "locust-scenarios.fullname" .root)))) }}
{{- end }}
{{- with $sources }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.containerEnv: the env entries of a Locust container: the user's, PYTHONPATH to what
the chart mounts, the exporter's settings (master), the results paths (master), the auth token, and
how long a run-mode worker waits for its master. Call with (dict "root" $ "component" "master").
*/}}
{{- define "locust-scenarios.containerEnv" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $paths := include "locust-scenarios.paths" . | fromYaml }}
{{- $isMaster := eq .component "master" }}
{{- include "locust-scenarios.userEnv" $root }}
{{- with list (ternary $paths.package "" $v.package.enabled) (ternary $paths.sitePackages "" (eq (include "locust-scenarios.installDependencies" $root) "true")) | compact }}
# Empty otherwise: a custom image keeps its own PYTHONPATH (examples/Dockerfile).
- name: PYTHONPATH
  value: {{ join ":" . | quote }}
{{- end }}
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: PYTHONUNBUFFERED
  value: "1"
- name: HOME
  value: {{ $paths.tmp }}
{{- if and $isMaster $v.metrics.enabled }}
- name: LOCUST_PROMETHEUS_PORT
  value: {{ $v.metrics.port | quote }}
- name: LOCUST_PROMETHEUS_HOST
  value: "0.0.0.0"
- name: LOCUST_PROMETHEUS_LINGER
  value: {{ $v.metrics.linger | quote }}
{{- if eq $v.mode "run" }}
- name: LOCUST_PROMETHEUS_RUN_ID
  value: {{ include "locust-scenarios.runId" $root | quote }}
{{- end }}
{{- end }}
{{- if and $isMaster $v.results.enabled }}
{{- $results := printf "%s/%s" $paths.results (include "locust-scenarios.runId" $root) }}
- name: LOCUST_SCENARIO_RECORD
  value: {{ printf "%s/record.json" $results | quote }}
- name: LOCUST_SCENARIO_REPORT
  value: {{ printf "%s/report.html" $results | quote }}
- name: LOCUST_SCENARIO_RECORD_LOG
  value: "true"
{{- end }}
{{- include "locust-scenarios.secretEnvVar" (dict "name" "LOCUST_SCENARIO_AUTH_TOKEN" "ref" $v.authTokenSecret) }}
{{- if and (not $isMaster) (eq $v.mode "run") }}
# Locust's workers give up on a master after about 305 s; ours wait as long as the master waits for
# them.
- name: LOCUST_SCENARIO_MASTER_WAIT
  value: {{ $v.run.workerWaitSeconds | quote }}
{{- end }}
{{- end }}
