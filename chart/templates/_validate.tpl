{{- /*
Checks of the values that the schema cannot express, each failing early with one readable line that
names its key (validate.yaml renders them). Call with the root context.
*/ -}}

{{/*
locust-scenarios.validateValues: fail the release with every problem found, one line each.
*/}}
{{- define "locust-scenarios.validateValues" -}}
{{- $errors := concat (include "locust-scenarios.workloadChecks" . | fromYamlArray) (include "locust-scenarios.parityChecks" . | fromYamlArray) (include "locust-scenarios.configOnlyChecks" . | fromYamlArray) (include "locust-scenarios.clusterChecks" . | fromYamlArray) }}
{{- if $errors }}
{{- fail (printf "\n\nVALUES ERROR:\n  - %s\n" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.workloadChecks: combinations that cannot run: no host, no locustfile, a package or
setting the bundle lacks, autoscaling in run mode, monitoring without its parts. A YAML list.
*/}}
{{- define "locust-scenarios.workloadChecks" -}}
{{- $v := .Values }}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $errors := list }}
{{- if not $v.host }}
{{- $errors = append $errors "host is required: the URL under test, e.g. --set host=https://staging.example.com (with the helmfile: HOST=https://staging.example.com)" }}
{{- end }}
{{- if $v.workload.enabled }}
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
{{- if get $bundle "locustfiles" }}
{{- $names := get $bundle "settingsEnv" | default dict }}
{{- range $key, $value := $v.scenario }}
{{- if and (not (kindIs "invalid" $value)) (not (hasKey $names $key)) }}
{{- $errors = append $errors (printf "scenario.%s: files/bundle.json names no variable for it (settingsEnv): re-make the bundle with `locust-scenarios bundle DIR --refresh`" $key) }}
{{- end }}
{{- end }}
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
{{- toYaml $errors }}
{{- end }}

{{/*
locust-scenarios.parityChecks: the values other Locust charts' users rely on (existing locustfile
ConfigMap, extraConfigMaps), where they do not fit together. A YAML list.
*/}}
{{- define "locust-scenarios.parityChecks" -}}
{{- $paths := include "locust-scenarios.paths" . | fromYaml }}
{{- $errors := list }}
{{- if and .Values.locust.existingConfigMap (not .Values.locust.locustfiles) }}
{{- $errors = append $errors (printf "locust.existingConfigMap=%s needs locust.locustfiles: the names of the locustfiles in it" .Values.locust.existingConfigMap) }}
{{- end }}
{{- range $name, $path := .Values.extraConfigMaps }}
{{- if or (hasPrefix $paths.locustfiles $path) (hasPrefix $paths.home $path) (eq $path $paths.tmp) }}
{{- $errors = append $errors (printf "extraConfigMaps.%s: %s is taken by the chart's own mounts (%s, %s, %s); choose another path" $name $path $paths.locustfiles $paths.home $paths.tmp) }}
{{- end }}
{{- end }}
{{- toYaml $errors }}
{{- end }}

{{/*
locust-scenarios.configOnlyChecks: what config-only mode needs (no workload, the bundle's zip). A
YAML list.
*/}}
{{- define "locust-scenarios.configOnlyChecks" -}}
{{- $errors := list }}
{{- if .Values.configOnly.enabled }}
{{- if .Values.workload.enabled }}
{{- $errors = append $errors "configOnly.enabled needs workload.enabled=false: another chart runs master and workers, this one renders their ConfigMaps" }}
{{- end }}
{{- $zip := include "locust-scenarios.pythonpathZip" . }}
{{- if not (.Files.Get (printf "files/%s" $zip)) }}
{{- $errors = append $errors (printf "configOnly: files/%s is missing: make the bundle with `locust-scenarios bundle DIR --zip` (the helmfile's refresh adds it)" $zip) }}
{{- end }}
{{- end }}
{{- toYaml $errors }}
{{- end }}

{{/*
locust-scenarios.clusterChecks: values that render but that a cluster rejects or that deadlock a run.
A YAML list.
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
