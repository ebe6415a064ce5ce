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
locust-scenarios.image: repository:tag; the tag defaults to the Locust version the bundle was made with.
*/}}
{{- define "locust-scenarios.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
locust-scenarios.bundle: files/bundle.json as JSON ("{}" when the chart was not made by the bundle
step). Use with fromJson.
*/}}
{{- define "locust-scenarios.bundle" -}}
{{- .Files.Get "files/bundle.json" | default "{}" }}
{{- end }}

{{/*
locust-scenarios.requirements: the pinned packages the init container installs, one per line:
dependencies.packages when set, else the bundle's computed list.
*/}}
{{- define "locust-scenarios.requirements" -}}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $packages := .Values.dependencies.packages | default (get $bundle "requirements") | default list }}
{{- join "\n" $packages }}
{{- end }}

{{/*
locust-scenarios.installDependencies: "true" when an init container installs packages.
*/}}
{{- define "locust-scenarios.installDependencies" -}}
{{- if and .Values.dependencies.install (include "locust-scenarios.requirements" .) }}true{{ end }}
{{- end }}

{{/*
locust-scenarios.locustfiles: the -f argument: the chosen locustfiles (or all bundled ones) under
/mnt/locust, comma-separated.
*/}}
{{- define "locust-scenarios.locustfiles" -}}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $names := .Values.locust.locustfiles | default (get $bundle "locustfiles") | default list }}
{{- $paths := list }}
{{- range $names }}
{{- $paths = append $paths (printf "/mnt/locust/%s" .) }}
{{- end }}
{{- join "," $paths }}
{{- end }}

{{/*
locust-scenarios.workerReplicas: workers.replicas when set, else ceil(scenario.users / usersPerWorker),
at least 1 and at most workers.maxReplicas.
*/}}
{{- define "locust-scenarios.workerReplicas" -}}
{{- if not (kindIs "invalid" .Values.workers.replicas) }}
{{- .Values.workers.replicas | int }}
{{- else if not (kindIs "invalid" .Values.scenario.users) }}
{{- $users := .Values.scenario.users | int }}
{{- $per := .Values.workers.usersPerWorker | int }}
{{- $needed := div (add $users $per -1) $per | int }}
{{- max 1 (min $needed (.Values.workers.maxReplicas | int)) }}
{{- else }}
{{- 1 }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.scenarioEnv: LOCUST_HOST and the scenario values as LOCUST_SCENARIO* variables
(name -> LOCUST_SCENARIO, rampUp -> LOCUST_SCENARIO_RAMP_UP), null values left out. Rendered as
ConfigMap data. `env` values are env entries of every container instead (the installer needs them too).
*/}}
{{- define "locust-scenarios.scenarioEnv" -}}
{{- $env := dict "LOCUST_HOST" .Values.host }}
{{- range $key, $value := .Values.scenario }}
{{- if not (kindIs "invalid" $value) }}
{{- $name := ternary "LOCUST_SCENARIO" (printf "LOCUST_SCENARIO_%s" (snakecase $key | upper)) (eq $key "name") }}
{{- $_ := set $env $name (toString $value) }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/*
locust-scenarios.configMapItems: items[] projecting every file under files/<folder>/ back to its
relative path (ConfigMap keys cannot hold "/": the key is the path with "/" replaced by ".").
Call with (dict "root" $ "folder" "package").
*/}}
{{- define "locust-scenarios.configMapItems" -}}
{{- $prefix := printf "files/%s/" .folder }}
{{- range $path, $_ := .root.Files.Glob (printf "%s**" $prefix) }}
{{- $relative := trimPrefix $prefix $path }}
- key: {{ $relative | replace "/" "." | quote }}
  path: {{ $relative | quote }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.configMapData: ConfigMap data of every file under files/<folder>/, keyed as in
configMapItems. Call with (dict "root" $ "folder" "package").
*/}}
{{- define "locust-scenarios.configMapData" -}}
{{- $prefix := printf "files/%s/" .folder }}
{{- $data := dict }}
{{- range $path, $content := .root.Files.Glob (printf "%s**" $prefix) }}
{{- $_ := set $data (trimPrefix $prefix $path | replace "/" ".") (toString $content) }}
{{- end }}
{{- toYaml $data }}
{{- end }}

{{/*
locust-scenarios.args: the Locust arguments of a component (master or worker) in the current mode.
Call with (dict "root" $ "component" "master"). Renders a YAML list.
*/}}
{{- define "locust-scenarios.args" -}}
{{- $v := .root.Values }}
{{- $args := list "-f" (include "locust-scenarios.locustfiles" .root) }}
{{- if eq .component "master" }}
{{- /* Rebalancing in both modes: a worker that replaces a lost one (or an autoscaled one) gets users. */}}
{{- $args = concat $args (list "--master" "--master-bind-port" "5557" "--web-port" (toString $v.service.webPort) "--enable-rebalancing") }}
{{- if eq $v.mode "run" }}
{{- $args = concat $args (list "--autostart" "--autoquit" (toString $v.run.autoquitSeconds) "--expect-workers" (include "locust-scenarios.workerReplicas" .root) "--expect-workers-max-wait" (toString $v.run.workerWaitSeconds)) }}
{{- end }}
{{- if $v.webUi.login }}
{{- $args = append $args "--web-login" }}
{{- end }}
{{- $args = concat $args $v.master.extraArgs }}
{{- else }}
{{- $args = concat $args (list "--worker" "--master-host" (include "locust-scenarios.masterService" .root) "--master-port" "5557") }}
{{- $args = concat $args $v.workers.extraArgs }}
{{- end }}
{{- toYaml $args }}
{{- end }}

{{/*
locust-scenarios.podTemplate: the one pod template of every workload (master and workers, Jobs and
Deployments). An init container pip-installs the pinned dependencies into a shared emptyDir (no deps
resolution: that would pull a second Locust), the package and the locustfiles are projected from
their ConfigMaps, and only /tmp and the pip target are writable.
Call with (dict "root" $ "component" "master").
*/}}
{{- define "locust-scenarios.podTemplate" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $fullname := include "locust-scenarios.fullname" $root }}
{{- $isMaster := eq .component "master" }}
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
  {{- if and $isMaster (eq $v.mode "run") }}
  # The linger plus a margin: SIGTERM (deletion, deadline, drain) ends with exit code 4 and one
  # summary, not with the kubelet's SIGKILL.
  terminationGracePeriodSeconds: {{ include "locust-scenarios.masterGracePeriod" $root }}
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
  {{- if $install }}
  initContainers:
    {{- include "locust-scenarios.initContainers" (dict "root" $root) | nindent 4 }}
  {{- end }}
  {{- with $v.extraInitContainers }}
  {{- if not $install }}
  initContainers:
  {{- end }}
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "locust-scenarios.image" $root }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command:
        - locust
      args:
        {{- include "locust-scenarios.args" . | nindent 8 }}
      {{- include "locust-scenarios.envFrom" (dict "root" $root "settings" true) | nindent 6 }}
      env:
        {{- include "locust-scenarios.userEnv" $root | nindent 8 }}
        {{- with list (ternary "/opt/locust-scenarios/package" "" $v.package.enabled) (ternary "/opt/locust-scenarios/site-packages" "" (eq $install "true")) | compact }}
        # Empty otherwise: a custom image keeps its own PYTHONPATH (examples/Dockerfile).
        - name: PYTHONPATH
          value: {{ join ":" . | quote }}
        {{- end }}
        - name: PYTHONDONTWRITEBYTECODE
          value: "1"
        - name: PYTHONUNBUFFERED
          value: "1"
        - name: HOME
          value: /tmp
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
        {{- $results := printf "/results/%s" (include "locust-scenarios.runId" $root) }}
        - name: LOCUST_SCENARIO_RECORD
          value: {{ printf "%s/record.json" $results | quote }}
        - name: LOCUST_SCENARIO_REPORT
          value: {{ printf "%s/report.html" $results | quote }}
        - name: LOCUST_SCENARIO_RECORD_LOG
          value: "true"
        {{- end }}
        {{- if $v.authTokenSecret.name }}
        - name: LOCUST_SCENARIO_AUTH_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ $v.authTokenSecret.name }}
              key: {{ $v.authTokenSecret.key }}
        {{- end }}
        {{- if and (not $isMaster) (eq $v.mode "run") }}
        # Locust's workers give up on a master after about 305 s; ours wait as long as the master
        # waits for them.
        - name: LOCUST_SCENARIO_MASTER_WAIT
          value: {{ $v.run.workerWaitSeconds | quote }}
        {{- end }}
      {{- if $isMaster }}
      ports:
        - name: web
          containerPort: {{ $v.service.webPort }}
        - name: master
          containerPort: 5557
        {{- if $v.metrics.enabled }}
        - name: metrics
          containerPort: {{ $v.metrics.port }}
        {{- end }}
      {{- if $v.master.readinessProbe }}
      readinessProbe:
        {{- toYaml $v.master.readinessProbe | nindent 8 }}
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
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- else if $v.workers.livenessProbe }}
      livenessProbe:
        {{- toYaml $v.workers.livenessProbe | nindent 8 }}
      {{- else if eq $v.mode "run" }}
      # A worker whose master is gone without telling it (e.g. the master exited on invalid settings)
      # would wait forever and keep its Job open. This probe ends it once the master's port has been
      # unreachable for longer than the master waits for workers at its start.
      livenessProbe:
        exec:
          command:
            - python
            - -c
            - "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()"
            - {{ include "locust-scenarios.masterService" $root }}
            - "5557"
        periodSeconds: 5
        timeoutSeconds: 4
        failureThreshold: {{ add (div $v.run.workerWaitSeconds 5) 2 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      {{- with (ternary $v.master.resources $v.workers.resources $isMaster) }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        {{- if $v.package.enabled }}
        - name: package
          mountPath: /opt/locust-scenarios/package
          readOnly: true
        {{- end }}
        - name: locustfiles
          mountPath: /mnt/locust
          readOnly: true
        {{- if $install }}
        - name: site-packages
          mountPath: /opt/locust-scenarios/site-packages
          readOnly: true
        {{- end }}
        - name: tmp
          mountPath: /tmp
        {{- if and $isMaster $v.results.enabled }}
        - name: results
          mountPath: /results
        {{- end }}
        {{- include "locust-scenarios.extraVolumeMounts" $root | nindent 8 }}
  volumes:
    {{- if $v.package.enabled }}
    - name: package
      configMap:
        name: {{ $fullname }}-package
        items:
          {{- include "locust-scenarios.configMapItems" (dict "root" $root "folder" "package") | nindent 10 }}
    {{- end }}
    {{- include "locust-scenarios.locustfilesVolume" $root | nindent 4 }}
    {{- if $install }}
    - name: site-packages
      emptyDir:
        sizeLimit: {{ $v.dependencies.sizeLimit }}
    {{- include "locust-scenarios.installerVolumes" $root | nindent 4 }}
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
    {{- if and $isMaster $v.results.enabled }}
    - name: results
      {{- if $v.results.existingClaim }}
      persistentVolumeClaim:
        claimName: {{ $v.results.existingClaim }}
      {{- else }}
      emptyDir:
        sizeLimit: {{ $v.results.sizeLimit }}
      {{- end }}
    {{- end }}
    {{- include "locust-scenarios.extraVolumes" $root | nindent 4 }}
  {{- include "locust-scenarios.scheduling" . | nindent 2 }}
{{- end }}

{{/*
locust-scenarios.validateValues: fail early, with one readable message per problem, on combinations
the schema cannot express.
*/}}
{{- define "locust-scenarios.validateValues" -}}
{{- $v := .Values }}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $errors := list }}
{{- if not $v.host }}
{{- $errors = append $errors "host is required: the URL under test, e.g. --set host=https://staging.example.com (with the helmfile: HOST=https://staging.example.com)" }}
{{- end }}
{{- if .Values.workload.enabled }}
{{- if not (include "locust-scenarios.locustfiles" .) }}
{{- $errors = append $errors "no locustfile: make this chart with `locust-scenarios bundle DIR --locustfile FILE`" }}
{{- end }}
{{- range (ternary list $v.locust.locustfiles (not (empty $v.locust.existingConfigMap))) }}
{{- if not ($.Files.Get (printf "files/locustfiles/%s" .)) }}
{{- $errors = append $errors (printf "locust.locustfiles: %s is not in the bundle (bundle it with --locustfile)" .) }}
{{- end }}
{{- end }}
{{- if and $v.package.enabled (not (get $bundle "package")) }}
{{- $errors = append $errors "package.enabled: no bundled package in files/: make this chart with `locust-scenarios bundle`, or set package.enabled=false for an image that has locust-scenarios" }}
{{- end }}
{{- end }}
{{- if and (eq $v.mode "run") (or $v.autoscaling.keda.enabled $v.autoscaling.hpa.enabled) }}
{{- $errors = append $errors "autoscaling needs mode=service: a run-mode test is sized from its profile (workers.usersPerWorker), since rescaling mid-run resets and unbalances it" }}
{{- end }}
{{- if and $v.autoscaling.keda.enabled $v.autoscaling.hpa.enabled }}
{{- $errors = append $errors "autoscaling: enable either keda or hpa, not both (both would scale the same Deployment)" }}
{{- end }}
{{- if and $v.autoscaling.keda.enabled (eq $v.autoscaling.keda.trigger "prometheus") (not $v.autoscaling.keda.prometheus.serverAddress) }}
{{- $errors = append $errors "autoscaling.keda.prometheus.serverAddress is required for the prometheus trigger" }}
{{- end }}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) }}
{{- $errors = append $errors "metrics.serviceMonitor needs metrics.enabled=true" }}
{{- end }}
{{- if and $v.metrics.prometheusRule.enabled (not (.Files.Get "files/dashboards/alerts.yaml")) }}
{{- $errors = append $errors "metrics.prometheusRule: files/dashboards/alerts.yaml is missing from the bundle" }}
{{- end }}
{{- if and $v.metrics.dashboard.enabled (not (.Files.Glob "files/dashboards/*.json")) }}
{{- $errors = append $errors "metrics.dashboard: no dashboard JSON in files/dashboards/ of the bundle" }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.hostname) }}
{{- $errors = append $errors "ingress.hostname is required when ingress.enabled=true" }}
{{- end }}
{{- $errors = concat $errors (include "locust-scenarios.clusterChecks" . | fromYamlArray) }}
{{- if $errors }}
{{- fail (printf "\n\nVALUES ERROR:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.namespace: the namespace of every object (namespaceOverride, else the release's).
*/}}
{{- define "locust-scenarios.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace }}
{{- end }}

{{/*
locust-scenarios.seconds: a duration of the settings' syntax (500ms, 90s, 5m, 1h30m, or plain seconds)
as whole seconds, rounded up. Call with the value.
*/}}
{{- define "locust-scenarios.seconds" -}}
{{- $text := toString . | trim }}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $text }}
{{- ceil (float64 $text) | int }}
{{- else }}
{{- $factors := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)" $text -1 }}
{{- $unit := regexFind "(ms|s|m|h|d)$" . }}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $factors $unit)) }}
{{- end }}
{{- ceil $total | int }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.plannedSeconds: the profile's planned duration in seconds: the sum of
scenario.stages, else scenario.duration, else the profile's default that the bundle recorded
(3600 for a profile the bundle does not know).
*/}}
{{- define "locust-scenarios.plannedSeconds" -}}
{{- $scenario := .Values.scenario }}
{{- if not (kindIs "invalid" $scenario.stages) }}
{{- $total := 0 }}
{{- range splitList "," (toString $scenario.stages) }}
{{- $total = add $total (include "locust-scenarios.seconds" (first (splitList ":" .))) }}
{{- end }}
{{- $total }}
{{- else if not (kindIs "invalid" $scenario.duration) }}
{{- include "locust-scenarios.seconds" $scenario.duration }}
{{- else }}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- get (get $bundle "plannedSeconds" | default dict) $scenario.name | default 3600 | int }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.masterGracePeriod: the master's terminationGracePeriodSeconds: its linger (when it
serves metrics) plus run.terminationMarginSeconds, so that a SIGTERM ends in the interrupted exit
code, one summary and the last scrape before the kubelet's SIGKILL.
*/}}
{{- define "locust-scenarios.masterGracePeriod" -}}
{{- $linger := ternary (include "locust-scenarios.seconds" .Values.metrics.linger | int) 0 .Values.metrics.enabled }}
{{- add $linger .Values.run.terminationMarginSeconds }}
{{- end }}

{{/*
locust-scenarios.activeDeadlineSeconds: run.activeDeadlineSeconds, else the planned duration plus 10%,
the wait for workers, the autoquit, the master's grace period and run.deadlineMarginSeconds.
*/}}
{{- define "locust-scenarios.activeDeadlineSeconds" -}}
{{- $run := .Values.run }}
{{- if not (kindIs "invalid" $run.activeDeadlineSeconds) }}
{{- $run.activeDeadlineSeconds | int }}
{{- else }}
{{- $planned := include "locust-scenarios.plannedSeconds" . | int }}
{{- add $planned (div (add $planned 9) 10) $run.workerWaitSeconds $run.autoquitSeconds (include "locust-scenarios.masterGracePeriod" .) $run.deadlineMarginSeconds }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.jobSpec: the spec fields both run-mode Jobs share: never re-run a failed pod
(backoffLimit 0), the deadline, the clean-up. Call with the root context.
*/}}
{{- define "locust-scenarios.jobSpec" -}}
backoffLimit: 0
activeDeadlineSeconds: {{ include "locust-scenarios.activeDeadlineSeconds" . }}
{{- with .Values.run.ttlSecondsAfterFinished }}
ttlSecondsAfterFinished: {{ . }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.podFailurePolicy: how a Job treats a failed pod. Workers: a pod lost to a disruption
(eviction, preemption, node drain or loss) does not count and is replaced; the replacement rejoins
the master. Master: a disruption fails the Job at once, naming the cause; it is never re-run.
Call with (dict "root" $ "component" "master").
*/}}
{{- define "locust-scenarios.podFailurePolicy" -}}
podFailurePolicy:
  rules:
    - action: {{ ternary "FailJob" "Ignore" (eq .component "master") }}
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
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
locust-scenarios.userEnv: the `env` and `secretEnv` values as env entries (every container).
*/}}
{{- define "locust-scenarios.userEnv" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
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
locust-scenarios.wheelhouseDir: where pip finds the wheels (--find-links) when installing without an
index; empty when no wheelhouse is configured.
*/}}
{{- define "locust-scenarios.wheelhouseDir" -}}
{{- $wheelhouse := .Values.dependencies.wheelhouse }}
{{- if $wheelhouse.image }}/opt/locust-scenarios/wheelhouse
{{- else if $wheelhouse.volume }}
{{- printf "/opt/locust-scenarios/wheelhouse/%s" (trimPrefix "/" $wheelhouse.path) | trimSuffix "/" }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.installerEnv: the dependency installer's own variables: pip's index, proxy and CA
bundle settings (never given to the Locust containers: the load must not go through pip's proxy).
*/}}
{{- define "locust-scenarios.installerEnv" -}}
{{- $deps := .Values.dependencies }}
- name: HOME
  value: /tmp
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
  value: {{ printf "/etc/locust-scenarios/ca/%s" $deps.caBundle.key | quote }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.installerArgs: pip's arguments: no dependency resolution (it would pull a second
Locust), wheels only, into the shared volume, from the index, or from the wheelhouse with no index.
*/}}
{{- define "locust-scenarios.installerArgs" -}}
{{- $deps := .Values.dependencies }}
{{- $args := list "--no-deps" "--upgrade" "--no-cache-dir" "--disable-pip-version-check" "--no-input" "--only-binary=:all:" "--target" "/opt/locust-scenarios/site-packages" }}
{{- with include "locust-scenarios.wheelhouseDir" . }}
{{- $args = concat $args (list "--no-index" "--find-links" .) }}
{{- else }}
{{- with $deps.indexUrl }}
{{- $args = concat $args (list "--index-url" .) }}
{{- end }}
{{- range $deps.extraIndexUrls }}
{{- $args = concat $args (list "--extra-index-url" .) }}
{{- end }}
{{- end }}
{{- $args = concat $args $deps.pipArgs (splitList "\n" (include "locust-scenarios.requirements" .)) }}
{{- toYaml $args }}
{{- end }}

{{/*
locust-scenarios.initContainers: copy the wheelhouse out of its image (when one is given), then install
the pinned dependencies with the chart's installer script, which explains an unreachable index.
Call with (dict "root" $).
*/}}
{{- define "locust-scenarios.initContainers" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $wheelhouse := $v.dependencies.wheelhouse }}
{{- if $wheelhouse.image }}
- name: copy-wheelhouse
  image: {{ $wheelhouse.image }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command:
    - cp
    - -R
    - {{ printf "%s/." (trimSuffix "/" ($wheelhouse.path | default "/wheels")) | quote }}
    - /opt/locust-scenarios/wheelhouse/
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: wheelhouse
      mountPath: /opt/locust-scenarios/wheelhouse
{{- end }}
- name: install-dependencies
  image: {{ include "locust-scenarios.image" $root }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command:
    - {{ $v.dependencies.python }}
    - /opt/locust-scenarios/installer/install_dependencies.py
  args:
    {{- include "locust-scenarios.installerArgs" $root | nindent 4 }}
  {{- include "locust-scenarios.envFrom" (dict "root" $root "settings" false) | nindent 2 }}
  env:
    {{- include "locust-scenarios.userEnv" $root | nindent 4 }}
    {{- include "locust-scenarios.installerEnv" $root | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  {{- with $v.dependencies.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: installer
      mountPath: /opt/locust-scenarios/installer
      readOnly: true
    - name: site-packages
      mountPath: /opt/locust-scenarios/site-packages
    - name: tmp
      mountPath: /tmp
    {{- if or $wheelhouse.image $wheelhouse.volume }}
    - name: wheelhouse
      mountPath: /opt/locust-scenarios/wheelhouse
      readOnly: {{ not $wheelhouse.image }}
    {{- end }}
    {{- if or $v.dependencies.caBundle.configMap $v.dependencies.caBundle.secret }}
    - name: ca-bundle
      mountPath: /etc/locust-scenarios/ca
      readOnly: true
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
locust-scenarios.installerVolumes: the volumes only the installer needs: its script, the wheelhouse,
the CA bundle.
*/}}
{{- define "locust-scenarios.installerVolumes" -}}
{{- $deps := .Values.dependencies }}
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
{{- if .configMap }}
- name: ca-bundle
  configMap:
    name: {{ .configMap }}
    items:
      - key: {{ .key }}
        path: {{ .key }}
{{- else if .secret }}
- name: ca-bundle
  secret:
    secretName: {{ .secret }}
    items:
      - key: {{ .key }}
        path: {{ .key }}
{{- end }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.clusterChecks: values that render but that a cluster rejects or that deadlock a run,
as a YAML list of messages, each naming its key.
*/}}
{{- define "locust-scenarios.clusterChecks" -}}
{{- $v := .Values }}
{{- $errors := list }}
{{- if and $v.metrics.enabled (eq (int $v.metrics.port) (int $v.service.webPort)) }}
{{- $errors = append $errors (printf "metrics.port: %v is also service.webPort: the master's Service would have two ports %v; choose another" $v.metrics.port $v.metrics.port) }}
{{- end }}
{{- range $name := list "hpa" "keda" }}
{{- $scaler := get $v.autoscaling $name }}
{{- if and $scaler.enabled (gt (int $scaler.minReplicas) (int $scaler.maxReplicas)) }}
{{- $errors = append $errors (printf "autoscaling.%s.minReplicas: %v is above autoscaling.%s.maxReplicas (%v)" $name $scaler.minReplicas $name $scaler.maxReplicas) }}
{{- end }}
{{- end }}
{{- $keda := $v.autoscaling.keda }}
{{- if and $keda.enabled (eq $keda.trigger "prometheus") (not $v.metrics.enabled) (not $keda.prometheus.query) }}
{{- $errors = append $errors "autoscaling.keda.trigger: prometheus reads the users from the master's metrics, but metrics.enabled=false; enable metrics, set autoscaling.keda.prometheus.query, or use the metrics-api trigger" }}
{{- end }}
{{- $deps := $v.dependencies }}
{{- if and $deps.indexUrl $deps.indexUrlSecret.name }}
{{- $errors = append $errors "dependencies.indexUrlSecret: give the index either as dependencies.indexUrl or from a Secret, not both" }}
{{- end }}
{{- if and $deps.proxy.url $deps.proxy.urlSecret.name }}
{{- $errors = append $errors "dependencies.proxy.urlSecret: give the proxy either as dependencies.proxy.url or from a Secret, not both" }}
{{- end }}
{{- if and $deps.caBundle.configMap $deps.caBundle.secret }}
{{- $errors = append $errors "dependencies.caBundle: name either a configMap or a secret, not both" }}
{{- end }}
{{- if and $deps.wheelhouse.image $deps.wheelhouse.volume }}
{{- $errors = append $errors "dependencies.wheelhouse: give either an image or a volume, not both" }}
{{- end }}
{{- if .Values.workload.enabled }}
{{- range $folder := list "package" "locustfiles" }}
{{- $bytes := 0 }}
{{- range $path, $content := $.Files.Glob (printf "files/%s/**" $folder) }}
{{- $key := trimPrefix (printf "files/%s/" $folder) $path | replace "/" "." }}
{{- if not (regexMatch "^[-._a-zA-Z0-9]+$" $key) }}
{{- $errors = append $errors (printf "%s: %s cannot be a ConfigMap key (allowed: letters, digits, '-', '_', '.'); rename it" $path $key) }}
{{- end }}
{{- $bytes = add $bytes (len $key) (len $content) }}
{{- end }}
{{- if gt $bytes 1048576 }}
{{- $errors = append $errors (printf "files/%s/: %d bytes, above the 1 MiB (1048576 bytes) a ConfigMap holds; ship less (locust-scenarios bundle checks this)" $folder $bytes) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $errors }}
{{- end }}
