{{- /*
The Locust container of a component (master or worker) and its parts. Call with
(dict "root" $ "component" "master") unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.container: the Locust container: the image's locust with the component's arguments,
its environment, ports and probes (master), a locked-down security context, its resources and mounts.
*/}}
{{- define "locust-scenarios.container" -}}
{{- $v := .root.Values }}
{{- $isMaster := eq .component "master" }}
name: {{ .component }}
image: {{ include "locust-scenarios.image" .root }}
imagePullPolicy: {{ $v.image.pullPolicy }}
command:
  - locust
args:
  {{- include "locust-scenarios.args" . | nindent 2 }}
{{- include "locust-scenarios.envFrom" (dict "values" $v "settings" (printf "%s-settings" (include "locust-scenarios.fullname" .root))) | nindent 0 }}
env:
  {{- include "locust-scenarios.containerEnv" (dict "values" $v "component" .component "runId" (include "locust-scenarios.runId" .root) "install" (include "locust-scenarios.installDependencies" .root)) | nindent 2 }}
{{- if $isMaster }}
ports:
  {{- include "locust-scenarios.ports" .root | nindent 2 }}
{{- end }}
{{- include "locust-scenarios.probes" . | nindent 0 }}
securityContext:
  {{- toYaml $v.securityContext | nindent 2 }}
{{- with (ternary $v.master.resources $v.workers.resources $isMaster) }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumeMounts:
  {{- include "locust-scenarios.volumeMounts" . | nindent 2 }}
{{- end }}

{{/*
locust-scenarios.args: the Locust arguments of a component in the current mode. Renders a YAML list.
*/}}
{{- define "locust-scenarios.args" -}}
{{- $v := .root.Values }}
{{- $port := include "locust-scenarios.masterPort" . }}
{{- $args := list "-f" (include "locust-scenarios.locustfiles" .root) }}
{{- if eq .component "master" }}
{{- /* Rebalancing in both modes: a worker that replaces a lost one (or an autoscaled one) gets users. */}}
{{- $args = concat $args (list "--master" "--master-bind-port" $port "--web-port" (toString $v.service.webPort) "--enable-rebalancing") }}
{{- if eq $v.mode "run" }}
{{- $args = concat $args (list "--autostart" "--autoquit" (toString $v.run.autoquitSeconds) "--expect-workers" (include "locust-scenarios.workerReplicas" $v) "--expect-workers-max-wait" (toString $v.run.workerWaitSeconds)) }}
{{- end }}
{{- if $v.webUi.login }}
{{- $args = append $args "--web-login" }}
{{- end }}
{{- $args = concat $args $v.master.extraArgs }}
{{- else }}
{{- $args = concat $args (list "--worker" "--master-host" (include "locust-scenarios.masterService" .root) "--master-port" $port) }}
{{- $args = concat $args $v.workers.extraArgs }}
{{- end }}
{{- toYaml $args }}
{{- end }}

{{/*
locust-scenarios.ports: the master's container ports: web, master (for workers), metrics. Call with the
root context.
*/}}
{{- define "locust-scenarios.ports" -}}
- name: web
  containerPort: {{ .Values.service.webPort }}
- name: master
  containerPort: {{ include "locust-scenarios.masterPort" . }}
{{- if .Values.metrics.enabled }}
- name: metrics
  containerPort: {{ .Values.metrics.port }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.probes: the master's probes (values; in service mode a readiness GET / by default), a
worker's liveness probe (values; in run mode by default a TCP connect to the master).
*/}}
{{- define "locust-scenarios.probes" -}}
{{- $v := .root.Values }}
{{- if eq .component "master" }}
{{- if $v.master.readinessProbe }}
readinessProbe:
  {{- toYaml $v.master.readinessProbe | nindent 2 }}
{{- else if eq $v.mode "service" }}
readinessProbe:
  httpGet:
    path: /
    port: web
  periodSeconds: 10
{{- end }}
{{- range $probe := list "livenessProbe" "startupProbe" }}
{{- with get $v.master $probe }}
{{ $probe }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- else if $v.workers.livenessProbe }}
livenessProbe:
  {{- toYaml $v.workers.livenessProbe | nindent 2 }}
{{- else if eq $v.mode "run" }}
# A worker whose master is gone without telling it (e.g. the master exited on invalid settings) would
# wait forever and keep its Job open. This probe ends it once the master's port has been unreachable
# for longer than the master waits for workers at its start.
livenessProbe:
  exec:
    command:
      - python
      - -c
      - "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()"
      - {{ include "locust-scenarios.masterService" .root }}
      - {{ include "locust-scenarios.masterPort" . | quote }}
  periodSeconds: 5
  timeoutSeconds: 4
  failureThreshold: {{ add (div $v.run.workerWaitSeconds 5) 2 }}
{{- end }}
{{- end }}
