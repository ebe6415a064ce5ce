{{- /*
Run mode's Jobs: their shared spec, how they treat a failed pod, and the deadline and grace period
derived from the profile. Call with the root context unless a helper says otherwise.
*/ -}}

{{/*
locust-scenarios.jobSpec: the spec fields both run-mode Jobs share: never re-run a failed pod
(backoffLimit 0), the deadline, the clean-up.
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
