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
locust-scenarios.scenarioEnv: the scenario values as LOCUST_SCENARIO* variables (name -> LOCUST_SCENARIO,
rampUp -> LOCUST_SCENARIO_RAMP_UP), null values left out. Rendered as ConfigMap data.
*/}}
{{- define "locust-scenarios.scenarioEnv" -}}
{{- $env := dict "LOCUST_HOST" .Values.host }}
{{- range $key, $value := .Values.scenario }}
{{- if not (kindIs "invalid" $value) }}
{{- $name := ternary "LOCUST_SCENARIO" (printf "LOCUST_SCENARIO_%s" (snakecase $key | upper)) (eq $key "name") }}
{{- $_ := set $env $name (toString $value) }}
{{- end }}
{{- end }}
{{- range $key, $value := .Values.env }}
{{- $_ := set $env $key (toString $value) }}
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
{{- $args = concat $args (list "--master" "--master-bind-port" "5557" "--web-port" (toString $v.service.webPort)) }}
{{- if eq $v.mode "run" }}
{{- $args = concat $args (list "--autostart" "--autoquit" (toString $v.run.autoquitSeconds) "--expect-workers" (include "locust-scenarios.workerReplicas" .root) "--expect-workers-max-wait" (toString $v.run.workerWaitSeconds)) }}
{{- else }}
{{- $args = append $args "--enable-rebalancing" }}
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
    checksum/settings: {{ include (print $root.Template.BasePath "/configmap-settings.yaml") $root | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: {{ ternary "Never" "Always" (eq $v.mode "run") }}
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
    - name: install-dependencies
      image: {{ include "locust-scenarios.image" $root }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command:
        - {{ $v.dependencies.python }}
        - -m
        - pip
        - install
        - --no-deps
        - --upgrade
        - --no-cache-dir
        - --disable-pip-version-check
        - --no-input
        - "--only-binary=:all:"
        - --target
        - /opt/locust-scenarios/site-packages
        {{- with $v.dependencies.indexUrl }}
        - --index-url
        - {{ . }}
        {{- end }}
        {{- range $v.dependencies.extraIndexUrls }}
        - --extra-index-url
        - {{ . }}
        {{- end }}
        {{- range $v.dependencies.pipArgs }}
        - {{ . | quote }}
        {{- end }}
        {{- range splitList "\n" (include "locust-scenarios.requirements" $root) }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: HOME
          value: /tmp
        - name: PYTHONDONTWRITEBYTECODE
          value: "1"
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      {{- with $v.dependencies.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: site-packages
          mountPath: /opt/locust-scenarios/site-packages
        - name: tmp
          mountPath: /tmp
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
      envFrom:
        - configMapRef:
            name: {{ $fullname }}-settings
        {{- with $v.extraEnvFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      env:
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
        {{- if $v.authTokenSecret.name }}
        - name: LOCUST_SCENARIO_AUTH_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ $v.authTokenSecret.name }}
              key: {{ $v.authTokenSecret.key }}
        {{- end }}
        {{- range $name, $ref := $v.secretEnv }}
        - name: {{ $name }}
          valueFrom:
            secretKeyRef:
              name: {{ $ref.name }}
              key: {{ $ref.key }}
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
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmpSizeLimit }}
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
{{- $errors = append $errors "host is required: the URL under test, e.g. --set host=https://staging.example.com" }}
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
{{- if $errors }}
{{- fail (printf "\n\nVALUES ERROR:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
