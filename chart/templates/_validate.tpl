{{- /*
Checks of the values that the schema cannot express, each failing early with one readable line that
names its key (validate.yaml renders them): the shared ones of _checks.tpl, and those that need the
bundle's files. Call with the root context.
*/ -}}

{{/*
locust-scenarios.validateValues: fail the release with every problem found, one line each.
*/}}
{{- define "locust-scenarios.validateValues" -}}
{{- $bundle := include "locust-scenarios.bundle" . | fromJson }}
{{- $shared := include "locust-scenarios.valueChecks" (dict "values" .Values "names" (get $bundle "settingsEnv")) }}
{{- $errors := concat (include "locust-scenarios.workloadChecks" . | fromYamlArray) (include "locust-scenarios.configOnlyChecks" . | fromYamlArray) (include "locust-scenarios.fileChecks" . | fromYamlArray) (splitList "\n" $shared | compact) }}
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
{{- if or $v.workload.enabled $v.configOnly.enabled }}
{{- if not (include "locust-scenarios.locustfiles" .) }}
{{- $errors = append $errors "no locustfile: make this chart with `locust-scenarios bundle DIR --locustfile FILE`" }}
{{- end }}
{{- range (ternary list $v.locust.locustfiles (not (empty $v.locust.existingConfigMap))) }}
{{- if not ($.Files.Get (printf "files/locustfiles/%s" .)) }}
{{- $errors = append $errors (printf "locust.locustfiles: %s is not in the bundle (bundle it with --locustfile)" .) }}
{{- end }}
{{- end }}
{{- if and $v.scenario.baselineRecord (include "locust-scenarios.installDependencies" .) }}
{{- if not (regexMatch "(?m)^jsonschema([=<>~!;\\[ ]|$)" (include "locust-scenarios.requirements" .)) }}
{{- $errors = append $errors "scenario.baselineRecord: the pods check the baseline record with jsonschema, which the bundle does not install: re-make it with `locust-scenarios bundle DIR --with jsonschema` (or add jsonschema to dependencies.packages)" }}
{{- end }}
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
{{- if $v.workload.enabled }}
{{- if and $v.package.enabled (not (get $bundle "package")) }}
{{- $errors = append $errors "package.enabled: no bundled package in files/: make this chart with `locust-scenarios bundle`, or set package.enabled=false for an image that has locust-scenarios" }}
{{- end }}
{{- if and (eq $v.mode "run") (or $v.autoscaling.keda.enabled $v.autoscaling.hpa.enabled) }}
{{- $errors = append $errors "autoscaling needs mode=service: a run-mode test is sized from its profile (workers.usersPerWorker), since rescaling mid-run resets and unbalances it" }}
{{- end }}
{{- end }}
{{- if and $v.metrics.prometheusRule.enabled (not (.Files.Get "files/dashboards/alerts.yaml")) }}
{{- $errors = append $errors "metrics.prometheusRule: files/dashboards/alerts.yaml is missing from the bundle" }}
{{- end }}
{{- if and $v.metrics.dashboard.enabled (not (.Files.Glob "files/dashboards/*.json")) }}
{{- $errors = append $errors "metrics.dashboard: no dashboard JSON in files/dashboards/ of the bundle" }}
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
locust-scenarios.fileChecks: files placed in files/ by hand that a ConfigMap cannot hold. A YAML list.
*/}}
{{- define "locust-scenarios.fileChecks" -}}
{{- $errors := list }}
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
