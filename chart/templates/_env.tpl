{{- /*
The environment of the containers: the settings ConfigMap's data, the user's variables, what every
Python process of the chart gets, the exporter's, the results', the installer's. Read by
helmfile/deliveryhero.values.yaml.gotmpl too (see _layout.tpl for what that allows): every helper takes
values and returns text. Helpers named *Vars return a YAML map (use with fromYaml; envEntries turns
one into env entries), the others env entries.
*/ -}}

{{/*
locust-scenarios.envEntries: env entries (name, quoted value) of a map, sorted by name. Call with the map.
*/}}
{{- define "locust-scenarios.envEntries" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.settingsVars: the settings ConfigMap's data: LOCUST_HOST and the scenario values as
the variables bundle.json names (settingsEnv). `env` values are env entries of every container instead
(the installer needs them too). Call with (dict "values" .Values "names" <settingsEnv>).
*/}}
{{- define "locust-scenarios.settingsVars" -}}
{{- $env := include "locust-scenarios.scenarioEnv" (dict "scenario" .values.scenario "names" .names) | fromYaml }}
{{- toYaml (set $env "LOCUST_HOST" .values.host) }}
{{- end }}

{{/*
locust-scenarios.processVars: what every Python process of the chart runs with: no bytecode written
(read-only mounts), unbuffered output (logs as they happen), HOME on the writable /tmp. Call with any
value.
*/}}
{{- define "locust-scenarios.processVars" -}}
PYTHONDONTWRITEBYTECODE: "1"
PYTHONUNBUFFERED: "1"
HOME: {{ (include "locust-scenarios.paths" . | fromYaml).tmp }}
{{- end }}

{{/*
locust-scenarios.exporterVars: the master's exporter settings (nothing when metrics are off): its
port, the address it listens on (metrics.bindAddress: "::" takes IPv6 and IPv4), its linger and, in a
run, the run id on locust_scenario_info. Call with (dict "values" .Values "runId" <run id or "">).
*/}}
{{- define "locust-scenarios.exporterVars" -}}
{{- $metrics := .values.metrics }}
{{- if $metrics.enabled }}
LOCUST_PROMETHEUS_PORT: {{ $metrics.port | toString | quote }}
LOCUST_PROMETHEUS_HOST: {{ $metrics.bindAddress | quote }}
LOCUST_PROMETHEUS_LINGER: {{ $metrics.linger | toString | quote }}
{{- with .runId }}
LOCUST_PROMETHEUS_RUN_ID: {{ . | quote }}
{{- end }}
{{- if and $metrics.serviceMonitor.enabled $metrics.serviceMonitor.prometheusUrl (not .values.scenario.prometheusUrl) }}
LOCUST_SCENARIO_PROMETHEUS_URL: {{ $metrics.serviceMonitor.prometheusUrl | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.resultsVars: the master's run record and report on the results volume, under the run
id, and the record as one log line (nothing when results are off). Call with (dict "values" .Values
"runId" <run id>).
*/}}
{{- define "locust-scenarios.resultsVars" -}}
{{- if .values.results.enabled }}
{{- $folder := printf "%s/%s" (include "locust-scenarios.paths" . | fromYaml).results .runId }}
LOCUST_SCENARIO_RECORD: {{ printf "%s/record.json" $folder | quote }}
LOCUST_SCENARIO_REPORT: {{ printf "%s/report.html" $folder | quote }}
LOCUST_SCENARIO_RECORD_LOG: "true"
{{- end }}
{{- end }}

{{/*
locust-scenarios.masterWaitVars: how long a run's worker waits for its master: as long as the master
waits for its workers (Locust's workers give up after about 305 s). Call with .Values.
*/}}
{{- define "locust-scenarios.masterWaitVars" -}}
LOCUST_SCENARIO_MASTER_WAIT: {{ .run.workerWaitSeconds | toString | quote }}
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
locust-scenarios.userEnv: the `env` and `secretEnv` values as env entries (every container, the
installer included). Call with .Values.
*/}}
{{- define "locust-scenarios.userEnv" -}}
{{- include "locust-scenarios.envEntries" .env }}
{{- range $name, $ref := .secretEnv }}
{{- include "locust-scenarios.secretEnvVar" (dict "name" $name "ref" $ref) }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.envFrom: a container's envFrom: a settings ConfigMap (Locust containers only), then the
user's envFrom. Call with (dict "values" .Values "settings" <ConfigMap name, or "">).
*/}}
{{- define "locust-scenarios.envFrom" -}}
{{- $sources := .values.envFrom | default list }}
{{- with .settings }}
{{- $sources = prepend $sources (dict "configMapRef" (dict "name" .)) }}
{{- end }}
{{- with $sources }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.installerEnv: the installer's variables: the user's, the process settings, and pip's
index, proxy and CA bundle settings (never given to the Locust containers: the load must not go through
pip's proxy). Call with .Values.
*/}}
{{- define "locust-scenarios.installerEnv" -}}
{{- $deps := .dependencies }}
{{- include "locust-scenarios.userEnv" . }}
{{- include "locust-scenarios.envEntries" (include "locust-scenarios.processVars" . | fromYaml) }}
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
locust-scenarios.containerEnv: the env entries of a Locust container of this chart: the user's,
PYTHONPATH to what the chart mounts, the process settings, the exporter's and the results' (master),
the auth token, how long a run's worker waits for its master. Call with (dict "values" .Values
"component" "master" "runId" <run id> "install" <"true" when an init container installs packages>).
*/}}
{{- define "locust-scenarios.containerEnv" -}}
{{- $v := .values }}
{{- $paths := include "locust-scenarios.paths" . | fromYaml }}
{{- $isMaster := eq .component "master" }}
{{- $run := eq $v.mode "run" }}
{{- include "locust-scenarios.userEnv" $v }}
{{- with list (ternary $paths.package "" $v.package.enabled) (ternary $paths.sitePackages "" (eq .install "true")) | compact }}
# Empty otherwise: a custom image keeps its own PYTHONPATH (examples/Dockerfile).
- name: PYTHONPATH
  value: {{ join ":" . | quote }}
{{- end }}
{{- $vars := include "locust-scenarios.processVars" . | fromYaml }}
{{- if $isMaster }}
{{- $vars = merge $vars (include "locust-scenarios.exporterVars" (dict "values" $v "runId" (ternary .runId "" $run)) | fromYaml) }}
{{- $vars = merge $vars (include "locust-scenarios.resultsVars" (dict "values" $v "runId" .runId) | fromYaml) }}
{{- else if $run }}
{{- $vars = merge $vars (include "locust-scenarios.masterWaitVars" $v | fromYaml) }}
{{- end }}
{{- include "locust-scenarios.envEntries" $vars }}
{{- include "locust-scenarios.secretEnvVar" (dict "name" "LOCUST_SCENARIO_AUTH_TOKEN" "ref" $v.authTokenSecret) }}
{{- end }}
