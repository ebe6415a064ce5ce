{{- /*
Durations and the times derived from them: the planned length of the profile, the master's grace
period, the Jobs' deadline. Read by helmfile/deliveryhero.values.yaml.gotmpl too (see _layout.tpl for
what that allows).
*/ -}}

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
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (index $factors $unit)) }}
{{- end }}
{{- ceil $total | int }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.plannedSeconds: the profile's planned duration in seconds: the sum of
scenario.stages, else scenario.duration, else the profile's default that the bundle recorded
(3600 for a profile the bundle does not know). Call with (dict "scenario" .Values.scenario "planned"
<bundle.json plannedSeconds>).
*/}}
{{- define "locust-scenarios.plannedSeconds" -}}
{{- $scenario := .scenario }}
{{- if not (kindIs "invalid" $scenario.stages) }}
{{- $total := 0 }}
{{- range splitList "," (toString $scenario.stages) }}
{{- $total = add $total (include "locust-scenarios.seconds" (first (splitList ":" .))) }}
{{- end }}
{{- $total }}
{{- else if not (kindIs "invalid" $scenario.duration) }}
{{- include "locust-scenarios.seconds" $scenario.duration }}
{{- else }}
{{- index (.planned | default dict) $scenario.name | default 3600 | int }}
{{- end }}
{{- end }}

{{/*
locust-scenarios.masterGracePeriod: the master's terminationGracePeriodSeconds, in both modes and on
both engines: its linger (when it serves metrics) plus run.terminationMarginSeconds, so that a SIGTERM
ends in the interrupted exit code, one summary and the last scrape before the kubelet's SIGKILL.
Call with .Values.
*/}}
{{- define "locust-scenarios.masterGracePeriod" -}}
{{- $linger := ternary (include "locust-scenarios.seconds" .metrics.linger | int) 0 .metrics.enabled }}
{{- add $linger .run.terminationMarginSeconds }}
{{- end }}

{{/*
locust-scenarios.activeDeadlineSeconds: run.activeDeadlineSeconds, else the planned duration plus 10%,
the wait for workers, the autoquit, the master's grace period and run.deadlineMarginSeconds. Call with
(dict "values" .Values "planned" <bundle.json plannedSeconds>).
*/}}
{{- define "locust-scenarios.activeDeadlineSeconds" -}}
{{- $run := .values.run }}
{{- if not (kindIs "invalid" $run.activeDeadlineSeconds) }}
{{- $run.activeDeadlineSeconds | int }}
{{- else }}
{{- $planned := include "locust-scenarios.plannedSeconds" (dict "scenario" .values.scenario "planned" .planned) | int }}
{{- add $planned (div (add $planned 9) 10) $run.workerWaitSeconds $run.autoquitSeconds (include "locust-scenarios.masterGracePeriod" .values) $run.deadlineMarginSeconds }}
{{- end }}
{{- end }}
