{{- /*
Checks of the values alone, shared by both engines: validateValues (_validate.tpl) reports them for
this chart, helmfile/deliveryhero.values.yaml.gotmpl for deliveryhero's release. Read by that file
through tpl (see _layout.tpl for what that allows): values in, text out.
*/ -}}

{{/*
locust-scenarios.valueChecks: every problem of the values, one line each, naming its key. Call with
(dict "values" .Values "names" <bundle.json settingsEnv>).
*/}}
{{- define "locust-scenarios.valueChecks" -}}
{{- include "locust-scenarios.secretChecks" .values }}
{{- include "locust-scenarios.settingChecks" . }}
{{- include "locust-scenarios.scalingChecks" .values }}
{{- include "locust-scenarios.dependencyChecks" .values }}
{{- include "locust-scenarios.mountChecks" .values }}
{{- end }}

{{/*
locust-scenarios.workerWaitLimit: the largest run.workerWaitSeconds. A worker tries its master every 5 s
(Locust's interval), and Locust's connect loop calls itself once per try: Python's recursion limit ends
it with a RecursionError after about 980 tries (measured: 975 pass). 900 tries keep a margin.
*/}}
{{- define "locust-scenarios.workerWaitLimit" -}}
4500
{{- end }}

{{/*
locust-scenarios.secretChecks: secrets written where the chart has a Secret-based value for them: the
token option in extraArgs (argparse takes any unambiguous prefix of it), credentials in a URL.
Call with .Values.
*/}}
{{- define "locust-scenarios.secretChecks" -}}
{{- range $component := list "master" "workers" }}
{{- range (index $ $component).extraArgs }}
{{- if regexMatch "^--scenario-auth-t(o|ok|oke|oken)?(=|$)" (toString .) }}
{{ $component }}.extraArgs: {{ regexReplaceAll "=.*" (toString .) "=..." }} would put the token in the pod spec, in plain text: give it as authTokenSecret {name, key} (LOCUST_SCENARIO_AUTH_TOKEN from a Secret)
{{- end }}
{{- end }}
{{- end }}
{{- $credentials := "^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@" }}
{{- $deps := .dependencies }}
{{- if regexMatch $credentials $deps.indexUrl }}
dependencies.indexUrl: the URL carries credentials, which would be stored in plain text: give the whole URL as dependencies.indexUrlSecret {name, key}
{{- end }}
{{- range $deps.extraIndexUrls }}
{{- if regexMatch $credentials . }}
dependencies.extraIndexUrls: a URL carries credentials, which would be stored in plain text: give it from a Secret as secretEnv.PIP_EXTRA_INDEX_URL {name, key}
{{- end }}
{{- end }}
{{- if regexMatch $credentials $deps.proxy.url }}
dependencies.proxy.url: the URL carries credentials, which would be stored in plain text: give the whole URL as dependencies.proxy.urlSecret {name, key}
{{- end }}
{{- range $name, $value := .env }}
{{- if regexMatch $credentials (toString $value) }}
env.{{ $name }}: the URL carries credentials, which would be stored in plain text: give it as secretEnv.{{ $name }} {name, key}
{{- end }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.settingChecks: a setting given twice. A scenario variable in `env` would override
scenario.* behind the chart's back: the deadlines, the grace period and the worker count are derived
from scenario.*, so the value goes there. Call with (dict "values" .Values "names" <settingsEnv>).
*/}}
{{- define "locust-scenarios.settingChecks" -}}
{{- $keys := dict "LOCUST_HOST" "host" }}
{{- range $key, $variable := .names | default dict }}
{{- $_ := set $keys $variable (printf "scenario.%s" $key) }}
{{- end }}
{{- range $name, $_ := .values.env }}
{{- with index $keys $name }}
env.{{ $name }}: set {{ . }} instead (the chart derives the Jobs' deadline, the grace period and the worker count from it)
{{- end }}
{{- end }}
{{- $v := .values }}
{{- if gt (int $v.run.workerWaitSeconds) (int (include "locust-scenarios.workerWaitLimit" .)) }}
run.workerWaitSeconds: {{ $v.run.workerWaitSeconds }} is above {{ include "locust-scenarios.workerWaitLimit" . }}: a worker tries its master every 5 s, and Locust's retry loop fails with a RecursionError after about 980 tries
{{- end }}
{{- if and $v.locust.existingConfigMap (not $v.locust.locustfiles) }}
locust.existingConfigMap={{ $v.locust.existingConfigMap }} needs locust.locustfiles: the names of the locustfiles in it
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) }}
metrics.serviceMonitor needs metrics.enabled=true
{{- end }}
{{- if and $v.metrics.enabled (eq (int $v.metrics.port) (int $v.service.webPort)) }}
metrics.port: {{ $v.metrics.port }} is also service.webPort: the master's Service would have two ports {{ $v.metrics.port }}; choose another
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.hostname) }}
ingress.hostname is required when ingress.enabled=true
{{- end }}
{{- end }}

{{/*
locust-scenarios.scalingChecks: autoscalers that cannot work. Call with .Values.
*/}}
{{- define "locust-scenarios.scalingChecks" -}}
{{- $keda := .autoscaling.keda }}
{{- if and $keda.enabled .autoscaling.hpa.enabled }}
autoscaling: enable either keda or hpa, not both (both would scale the same workers)
{{- end }}
{{- range $name := list "hpa" "keda" }}
{{- $scaler := index $.autoscaling $name }}
{{- if and $scaler.enabled (gt (int $scaler.minReplicas) (int $scaler.maxReplicas)) }}
autoscaling.{{ $name }}.minReplicas: {{ $scaler.minReplicas }} is above autoscaling.{{ $name }}.maxReplicas ({{ $scaler.maxReplicas }})
{{- end }}
{{- end }}
{{- if and $keda.enabled (eq $keda.trigger "prometheus") }}
{{- if not $keda.prometheus.serverAddress }}
autoscaling.keda.prometheus.serverAddress is required for the prometheus trigger
{{- end }}
{{- if and (not .metrics.enabled) (not $keda.prometheus.query) }}
autoscaling.keda.trigger: prometheus reads the users from the master's metrics, but metrics.enabled=false; enable metrics, set autoscaling.keda.prometheus.query, or use the metrics-api trigger
{{- end }}
{{- end }}
{{- if and $keda.enabled (eq $keda.trigger "metrics-api") .webUi.login }}
autoscaling.keda.trigger: metrics-api polls the web UI's /stats/requests, which webUi.login puts behind Locust's login page (KEDA would read the page and never scale); use autoscaling.keda.trigger=prometheus, which reads the master's exporter, or webUi.login=false
{{- end }}
{{- end }}

{{/*
locust-scenarios.dependencyChecks: the installer's settings given twice, and a wheelhouse claim that
cannot reach every pod. Call with .Values.
*/}}
{{- define "locust-scenarios.dependencyChecks" -}}
{{- $deps := .dependencies }}
{{- if and $deps.indexUrl $deps.indexUrlSecret.name }}
dependencies.indexUrlSecret: give the index either as dependencies.indexUrl or from a Secret, not both
{{- end }}
{{- if and $deps.proxy.url $deps.proxy.urlSecret.name }}
dependencies.proxy.urlSecret: give the proxy either as dependencies.proxy.url or from a Secret, not both
{{- end }}
{{- if and $deps.caBundle.configMap $deps.caBundle.secret }}
dependencies.caBundle: name either a configMap or a secret, not both
{{- end }}
{{- $wheelhouse := $deps.wheelhouse }}
{{- if and $wheelhouse.image $wheelhouse.volume }}
dependencies.wheelhouse: give either an image or a volume, not both
{{- end }}
{{- if and $deps.install (hasKey ($wheelhouse.volume | default dict) "persistentVolumeClaim") (not (has $wheelhouse.accessMode (list "ReadOnlyMany" "ReadWriteMany"))) }}
dependencies.wheelhouse.accessMode: {{ $wheelhouse.accessMode | default "(not set)" | quote }}: the claim is mounted by the master and every worker, on any node, so it must be ReadOnlyMany or ReadWriteMany (a ReadWriteOnce claim keeps workers on other nodes in ContainerCreating); state the claim's mode here, or use dependencies.wheelhouse.image, which works with any storage
{{- end }}
{{- end }}

{{/*
locust-scenarios.mountChecks: extraConfigMaps on the chart's own paths. Call with .Values.
*/}}
{{- define "locust-scenarios.mountChecks" -}}
{{- $paths := include "locust-scenarios.paths" . | fromYaml }}
{{- range $name, $path := .extraConfigMaps }}
{{- if or (hasPrefix $paths.locustfiles $path) (hasPrefix $paths.home $path) (eq $path $paths.tmp) (hasPrefix $paths.results $path) }}
extraConfigMaps.{{ $name }}: {{ $path }} is taken by the chart's own mounts ({{ $paths.locustfiles }}, {{ $paths.home }}, {{ $paths.tmp }}, {{ $paths.results }}); choose another path
{{- end }}
{{- end }}
{{- end }}
